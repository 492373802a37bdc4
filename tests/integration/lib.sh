# SPDX-License-Identifier: GPL-3.0-or-later
# lib.sh - helpers for integration tests: network namespaces joined by veth, nodes started
# and stopped by PID, bounded waits, cleanup on every exit. Sourced by tests/integration/*.sh.
#
# Addresses: underlay 192.0.2.0/24 (TEST-NET-1) on interface ul0 in each namespace; overlay
# 10.x inside the namespaces. Nothing outside the namespaces a test creates is touched.

MESHVPN=${MESHVPN:-$(cd "$(dirname "$0")/../.." && pwd)/meshvpn}
T_NAME=$(basename "$0" .sh)
T_PFX="mv$$"
T_DIR=""
T_NS=""       # namespaces we created
T_PIDS=""     # processes we started (pid:name)
T_FAILED=0

log() { printf '[%s] %s\n' "$T_NAME" "$*" >&2; }
fail() {
	log "FAIL: $*"
	T_FAILED=1
	t_dump_logs
	exit 1
}

t_dump_logs() {
	[ -n "$T_DIR" ] || return 0
	for f in "$T_DIR"/*.log; do
		[ -f "$f" ] || continue
		echo "----- $(basename "$f") (last 40 lines)" >&2
		tail -n 40 "$f" >&2
	done
}

t_cleanup() {
	rc=$?
	trap - EXIT HUP INT PIPE TERM
	for entry in $T_PIDS; do
		pid=${entry%%:*}
		kill -TERM "$pid" 2>/dev/null
	done
	sleep 0.3
	for entry in $T_PIDS; do
		pid=${entry%%:*}
		kill -KILL "$pid" 2>/dev/null
	done
	for ns in $T_NS; do ip netns del "$ns" 2>/dev/null; done
	[ -n "$T_DIR" ] && rm -rf "$T_DIR"
	exit $rc
}

# t_init: checks the prerequisites (exit 77 = skip) and installs the cleanup trap.
t_init() {
	if [ "$(id -u)" != 0 ]; then log "SKIP: needs root"; exit 77; fi
	if [ ! -c /dev/net/tun ]; then log "SKIP: no /dev/net/tun"; exit 77; fi
	command -v ip >/dev/null || { log "SKIP: no ip(8)"; exit 77; }
	[ -x "$MESHVPN" ] || { log "binary $MESHVPN missing (run make)"; exit 1; }
	T_DIR=$(mktemp -d "/tmp/meshvpn-$T_NAME.XXXXXX")
	trap t_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 141' PIPE
	trap 'exit 143' TERM
}

# ns NAME: the full namespace name for a short name.
ns() { echo "$T_PFX-$1"; }

# t_ns NAME...: creates namespaces with loopback up.
t_ns() {
	for n in "$@"; do
		ip netns add "$(ns "$n")" || fail "ip netns add $n"
		T_NS="$T_NS $(ns "$n")"
		ip -n "$(ns "$n")" link set lo up
	done
}

# t_bridge: a namespace "sw" with bridge br0 that t_attach plugs nodes into.
t_bridge() {
	t_ns sw
	ip -n "$(ns sw)" link add br0 type bridge || fail "bridge"
	ip -n "$(ns sw)" link set br0 up
}

# t_attach NODE IP: veth from NODE (ul0, IP/24) to the bridge.
t_attach() {
	_tn=$1 _ta=$2
	ip link add "$T_PFX$_tn" type veth peer name ul0 netns "$(ns "$_tn")" || fail "veth $_tn"
	ip link set "$T_PFX$_tn" netns "$(ns sw)"
	ip -n "$(ns sw)" link set "$T_PFX$_tn" master br0 up
	ip -n "$(ns "$_tn")" addr add "$_ta/24" dev ul0
	ip -n "$(ns "$_tn")" link set ul0 up
}

# t_lan NODE IP [NODE IP ...]: the bridge plus one namespace per node attached to it.
t_lan() {
	t_bridge
	while [ $# -ge 2 ]; do
		t_ns "$1"
		t_attach "$1" "$2"
		shift 2
	done
}

# t_pair A IPA B IPB: a direct veth between two namespaces (ul0 in both).
t_pair() {
	ip link add ul0 netns "$(ns "$1")" type veth peer name ul0 netns "$(ns "$3")" || fail "veth pair"
	ip -n "$(ns "$1")" addr add "$2/24" dev ul0
	ip -n "$(ns "$3")" addr add "$4/24" dev ul0
	ip -n "$(ns "$1")" link set ul0 up
	ip -n "$(ns "$3")" link set ul0 up
}

# t_impaired_pair A IPA B IPB RELAY-ARGS...: like t_pair but through the impairment relay
# running in its own namespace "imp" (frames copied verbatim, so offloads are switched off).
t_impaired_pair() {
	_ta=$1 _tipa=$2 _tb=$3 _tipb=$4
	shift 4
	t_ns imp
	ip link add ul0 netns "$(ns "$_ta")" type veth peer name ia netns "$(ns imp)" || fail "veth a"
	ip link add ul0 netns "$(ns "$_tb")" type veth peer name ib netns "$(ns imp)" || fail "veth b"
	for _tn in "$_ta" "$_tb"; do
		ip netns exec "$(ns "$_tn")" ethtool -K ul0 tx off tso off gso off gro off >/dev/null 2>&1
		ip -n "$(ns "$_tn")" link set ul0 up
	done
	for _ti in ia ib; do
		ip netns exec "$(ns imp)" ethtool -K "$_ti" tx off tso off gso off gro off >/dev/null 2>&1
		ip -n "$(ns imp)" link set "$_ti" up
	done
	ip -n "$(ns "$_ta")" addr add "$_tipa/24" dev ul0
	ip -n "$(ns "$_tb")" addr add "$_tipb/24" dev ul0
	t_build_impair
	t_spawn imp relay "$T_DIR/impair" -a ia -b ib "$@"
}

t_build_impair() {
	_ts=$(cd "$(dirname "$0")/.." && pwd)/tools/impair.c
	${CC:-cc} -std=gnu11 -O2 -o "$T_DIR/impair" "$_ts" || fail "building impair relay"
}

# t_spawn NODE NAME CMD...: runs CMD in NODE's namespace in the background, output to
# $T_DIR/NAME.log; remembers its PID (ip netns exec execs the command, so $! is it).
t_spawn() {
	_tn=$1 _tname=$2
	shift 2
	ip netns exec "$(ns "$_tn")" "$@" >>"$T_DIR/$_tname.log" 2>&1 &
	T_PIDS="$T_PIDS $!:$_tname"
	eval "PID_$_tname=$!"
}

# t_node NODE ARGS...: starts meshvpn in NODE's namespace (log: $T_DIR/NODE.log).
t_node() {
	_tnode=$1
	shift
	t_spawn "$_tnode" "$_tnode" "$MESHVPN" "$@"
}

# t_pid NAME: PID of a process started with t_spawn/t_node.
t_pid() { eval "echo \$PID_$1"; }

# t_stop NAME [SIGNAL]: signals the process and waits (max 10 s); returns its exit status.
t_stop() {
	_tp=$(t_pid "$1")
	kill -"${2:-TERM}" "$_tp" 2>/dev/null || return 255
	_ti=0
	while kill -0 "$_tp" 2>/dev/null && [ $_ti -lt 100 ]; do sleep 0.1; _ti=$((_ti + 1)); done
	wait "$_tp"
	_tst=$?
	T_PIDS=$(echo "$T_PIDS" | tr ' ' '\n' | grep -v "^$_tp:" | tr '\n' ' ')
	return $_tst
}

# t_join NAME: waits for a process that ends by itself (bound its time with its own
# option or timeout); returns its exit status and forgets it.
t_join() {
	_tp=$(t_pid "$1")
	wait "$_tp"
	_tst=$?
	T_PIDS=$(echo "$T_PIDS" | tr ' ' '\n' | grep -v "^$_tp:" | tr '\n' ' ')
	return $_tst
}

# t_alive NAME: true while the process runs.
t_alive() { kill -0 "$(t_pid "$1")" 2>/dev/null; }

# t_wait SECONDS CMD...: retries CMD every 0.2 s until it succeeds or time is up.
t_wait() {
	_tend=$(($(date +%s) + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s)" -lt "$_tend" ] || return 1
		sleep 0.2
	done
}

# t_ping NODE ADDR [COUNT]: pings from NODE's namespace; all replies must arrive.
t_ping() {
	ip netns exec "$(ns "$1")" ping -c "${3:-3}" -i 0.2 -W 2 -q "$2" >/dev/null 2>&1
}

# t_wait_ping SECONDS NODE ADDR: waits until one ping from NODE to ADDR succeeds.
t_wait_ping() {
	t_wait "$1" ip netns exec "$(ns "$2")" ping -c 1 -W 1 -q "$3"
}

# t_link_exists NODE IFNAME
t_link_exists() { ip -n "$(ns "$1")" link show "$2" >/dev/null 2>&1; }

# t_log_has NAME REGEX: the node's log contains REGEX (grep -E).
t_log_has() { grep -Eq "$2" "$T_DIR/$1.log"; }

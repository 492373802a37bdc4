#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Hostile input on the wire (issue 9 items 1-3). Nodes A and B hold a tunnel; an attacker X
# on the same LAN sends, through a raw socket, tens of thousands of forged datagrams to A:
# empty, short, truncated, 0xFF garbage, random garbage, bit-flipped and replayed copies of
# real B -> A traffic captured before, from B's address (spoofed) and from strangers. Then
# a handshake flood of 50,000 PINGs/s (well-formed with a bad signature, with a random key
# hash, and replays of B's real PING), from one stranger and from random sources, while a
# trusted node C connects to A (and, during random sources knowing A's public key, a new
# node D that A learns of from B). Throughout: both nodes stay up, pings across the tunnel
# lose nothing, A counts the drops by reason, its log grows by rate-limited lines only, and
# replayed DATA never reaches A's device.
. "$(dirname "$0")/lib.sh"
t_init
TOOLS=${MESHVPN_TOOLS:-$(cd "$(dirname "$0")/../.." && pwd)/build/tools}
FORGE=$TOOLS/forge
[ -x "$FORGE" ] || fail "test tool $FORGE missing (make tools)"

t_lan a 192.0.2.1 b 192.0.2.2 c 192.0.2.3 d 192.0.2.4 x 192.0.2.66
for n in a b c d; do
	printf 'management:\n  socket: %s\n' "$T_DIR/$n.sock" >"$T_DIR/$n.net"
done
common="-t tun -d mv%d -l 3210 -m router --no-port-forwarding -p hostile-input -v"
ctl() { "$MESHVPN" ctl --socket "$T_DIR/$1.sock" stats --json; }
snapshot() { ctl a >"$T_DIR/stats-$1.json" || fail "ctl stats ($1)"; }
# grew BEFORE AFTER NAME...: every named reason is higher in AFTER than in BEFORE
grew() {
	_b=$1 _a=$2
	shift 2
	for r in "$@"; do
		_re="s/.*\"invalid-reasons\":{[^}]*\"$r\":\([0-9]*\).*/\1/p"
		v0=$(sed -n "$_re" "$T_DIR/stats-$_b.json")
		v1=$(sed -n "$_re" "$T_DIR/stats-$_a.json")
		[ -n "$v0" ] && [ -n "$v1" ] ||
			{ cat "$T_DIR/stats-$_a.json" >&2; fail "no reason $r"; }
		log "$r: $v0 -> $v1"
		[ "$v1" -gt "$v0" ] || fail "reason $r did not grow ($v0 -> $v1)"
	done
}
tunrx() { ip -n "$(ns a)" -s link show "$1" | awk '/RX:/ {getline; print $2; exit}'; }
# pinger NAME NODE ADDR SECONDS: 0.1 s pings for SECONDS in the background
# the kernel's input backlog drops so far, all CPUs (/proc/net/softnet_stat, 2nd column):
# packets the host dropped before any socket, when softirqs could not keep up
softnet_drops() {
	_d=0
	while read -r _p _x _r; do _d=$((_d + 0x$_x)); done </proc/net/softnet_stat
	echo $_d
}
pinger() {
	softnet_drops >"$T_DIR/$1.sn0"
	ip netns exec "$(ns "$2")" ping -i 0.1 -c $(($4 * 10)) -W 2 -q "$3" >"$T_DIR/$1.ping" 2>&1 &
	eval "PING_$1=$!"
	T_PIDS="$T_PIDS $!:ping-$1"
}
# lossless NAME: the pinger finished and every reply came
lossless() {
	eval "wait \$PING_$1"
	_lost=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$T_DIR/$1.ping" |
		awk '{print $1 - $2}')
	_sn=$(($(softnet_drops) - $(cat "$T_DIR/$1.sn0")))
	# A ping the host's input backlog dropped never reached a node: a limit of this
	# 2-core machine under a 50,000/s flood, not of the node (the control in
	# tests/bench/hostile-flood.sh shows the host's share). Anything else fails.
	if [ "${_lost:-1}" -gt 0 ] && [ "$_sn" -ge "$_lost" ]; then
		log "$1: $_lost ping(s) lost while the kernel's input backlog dropped $_sn packets"
		return 0
	fi
	grep -q " 0% packet loss" "$T_DIR/$1.ping" ||
		{
			cat "$T_DIR/$1.ping" >&2
			log "$(rcvbuf_errors)"
			ctl a >&2
			fail "loss in $1"
		}
	log "$1: $(grep 'packets transmitted' "$T_DIR/$1.ping"); kernel backlog drops $_sn"
}
# logged LINES0 T0 WHAT: A's log grew by at most 60 lines per second since T0 (5 per second
# per call site of log_rl, a dozen sites), not by a line per forged datagram
logged() {
	_l=$(($(wc -l <"$T_DIR/a.log") - $1)) _s=$(($(date +%s) - $2 + 1))
	log "A's log: $_l lines in $_s s during $3"
	[ "$_l" -le $((60 * _s)) ] || fail "A's log grew by $_l lines in $_s s during $3"
}
# the kernel's count of datagrams A's socket had no room for (the node not scheduled)
rcvbuf_errors() {
	ip netns exec "$(ns a)" nstat -az UdpRcvbufErrors Udp6RcvbufErrors 2>/dev/null |
		awk '/RcvbufErrors/ {printf "%s %s ", $1, $2}'
}
alive() { for n in a b; do t_alive "$n" || fail "node $n died during $1"; done; }
# flood_start I SECONDS PINGSECS FORGE-ARGS...: flood I at A for SECONDS, B pinging A for
# PINGSECS meanwhile
flood_start() {
	_fi=$1 _fs=$2 _fp=$3
	shift 3
	lines0=$(wc -l <"$T_DIR/a.log") t0=$(date +%s)
	snapshot "flood${_fi}a"
	pinger "flood$_fi" b 10.9.0.1 "$_fp"
	t_spawn x "flood$_fi" "$FORGE" flood -t 192.0.2.1:3210 -c "$T_DIR/real.cap" "$@" -d "$_fs" -s "$_fi"
	sleep 2
}
# flood_end I REASON...: no ping lost, the flood ran at its rate, both nodes alive, each
# REASON grew, A's log stayed bounded
flood_end() {
	_fi=$1
	shift
	lossless "flood$_fi"
	t_wait 10 sh -c "! kill -0 $(t_pid "flood$_fi")"
	cat "$T_DIR/flood$_fi.log" >&2
	grep -q "^rate *[0-9]\{5\}" "$T_DIR/flood$_fi.log" || fail "flood $_fi below 10,000/s"
	alive "flood $_fi"
	snapshot "flood${_fi}b"
	grew "flood${_fi}a" "flood${_fi}b" "$@"
	logged "$lines0" "$t0" "flood $_fi"
}

# 1. real B -> A traffic, from B's first PING on, captured on A's side of the LAN
t_spawn a capture "$FORGE" capture ul0 192.0.2.2 192.0.2.1 3210 300 "$T_DIR/real.cap" 25
sleep 0.5
t_node a --config "$T_DIR/a.net" $common --ip 10.9.0.1/24
t_node b --config "$T_DIR/b.net" $common --ip 10.9.0.2/24 -c 192.0.2.1
t_wait_ping 15 b 10.9.0.1 || fail "A-B tunnel did not come up"
ip netns exec "$(ns b)" ping -i 0.01 -c 400 -W 1 -q 10.9.0.1 >/dev/null 2>&1
t_wait 10 sh -c "! kill -0 $(t_pid capture)" || fail "capture did not finish"
grep -q "captured 300 datagrams ([1-9]" "$T_DIR/capture.log" ||
	{ cat "$T_DIR/capture.log" >&2; fail "capture"; }
log "$(cat "$T_DIR/capture.log")"
dev=$(ip -n "$(ns a)" -o link show | sed -n 's/^[0-9]*: \(mv[0-9]*\):.*/\1/p' | head -n 1)
[ -n "$dev" ] || fail "A's device not found"

# 2. replays of captured DATA from B's address, nothing else on the tunnel meanwhile:
# counted as replays, none written to A's device
snapshot r0
rx0=$(tunrx "$dev")
ip netns exec "$(ns x)" "$FORGE" attack -t 192.0.2.1:3210 -c "$T_DIR/real.cap" -p 192.0.2.2 \
	-o peer -k replay -n 3000 -r 3000 >"$T_DIR/replay.out" 2>&1 ||
	{ cat "$T_DIR/replay.out" >&2; fail "forge replay"; }
sleep 0.5
rx1=$(tunrx "$dev")
snapshot r1
log "replay: $(grep '^replay' "$T_DIR/replay.out"); device rx $rx0 -> $rx1"
grew r0 r1 replay
[ "$rx1" -eq "$rx0" ] || fail "replayed DATA reached A's device ($rx0 -> $rx1 packets)"
# B's replayed PING made no handshake state for B's address (whose failure would fire the
# peer-disconnected hook for a peer that is still there)
t_log_has a "Handshake with 192.0.2.2:3210 failed" && fail "a replayed PING made a handshake"
t_ping b 10.9.0.1 3 || fail "tunnel broken by the replays"

# 3. every kind of garbage, from B's address and from strangers, while pinging both ways
lines0=$(wc -l <"$T_DIR/a.log") t0=$(date +%s)
snapshot g0
pinger garbage_ab a 10.9.0.2 14
pinger garbage_ba b 10.9.0.1 14
ip netns exec "$(ns x)" "$FORGE" attack -t 192.0.2.1:3210 -c "$T_DIR/real.cap" -p 192.0.2.2 \
	-n 40000 -r 4000 -s 9 >"$T_DIR/attack.out" 2>&1 ||
	{ cat "$T_DIR/attack.out" >&2; fail "forge attack"; }
cat "$T_DIR/attack.out" >&2
grep -q "^total *4[0-9]\{4\} sent" "$T_DIR/attack.out" || fail "fewer datagrams sent than asked"
lossless garbage_ab
lossless garbage_ba
alive "the garbage"
snapshot g1
grew g0 g1 empty short unknown-sender auth-failed handshake-malformed replay
logged "$lines0" "$t0" "40000 forged datagrams"

# 4. handshake flood, 50,000 PINGs/s, while the trusted C connects to A and the tunnel loses
# nothing: (1) from one stranger, (2) from random sources: a third well-formed with a random
# key hash (untrusted), a third replays of B's real PING, a third with the salt and key hash
# of that PING and a bad signature (both copies of B's salt: replay); (3) from one stranger
# that knows A's public key, so every PING matches the key hash (over its source's budget).
pub=$(sed -n 's/.* Public key: \([0-9A-Za-z]*\)$/\1/p' "$T_DIR/a.log" | head -n 1)
[ -n "$pub" ] || fail "A's public key not in its log"
i=0
for src in "-x 192.0.2.66" "-R" "-x 192.0.2.66 -P $pub -k badsig"; do
	i=$((i + 1))
	case $i in 3) reasons=handshake-limited ;; *) reasons="handshake-untrusted replay" ;; esac
	flood_start $i 12 12 $src
	t_node c --config "$T_DIR/c.net" $common --ip 10.9.0.3/24 -c 192.0.2.1
	t_wait_ping 9 c 10.9.0.1 || fail "trusted C did not connect during flood $i ($src)"
	t_alive "flood$i" || fail "flood $i ended before C connected"
	log "C connected to A during flood $i ($src)"
	flood_end $i $reasons
	# one stranger far over any peer's rate: the kernel drops its handshake messages
	case $i in 1 | 3)
		grep -q "192.0.2.66 sent [0-9]* handshake messages within a second: the kernel drops" \
			"$T_DIR/a.log" || fail "flood $i: the stranger was not filtered in the kernel"
		;;
	2) # copies of B's PING from random sources: their salt is filtered in the kernel
		grep -q "copies of one handshake message came from [0-9]* other addresses" \
			"$T_DIR/a.log" || fail "flood 2: the copies were not filtered in the kernel"
		;;
	esac
	t_stop c
	t_ping b 10.9.0.1 3 || fail "tunnel broken after flood $i"
done

# 5. 50,000 PINGs/s from random sources by somebody who knows A's public key: every one is a
# candidate for a signature check, far over the global budget, and nothing marks the real
# ones. A node A has never heard of gets through only by luck (the budget's share of the
# flood), but a new node D that knows B joins A all the same: B tells A about D (NODE_INFO;
# D's address was never seen by A) and A's own handshake with D never meets the budget.
flood_start 4 30 28 -R -P "$pub" -k badsig
t_node d --config "$T_DIR/d.net" $common --ip 10.9.0.4/24 -c 192.0.2.2
a_new() { tail -n +$((lines0 + 1)) "$T_DIR/a.log" | grep -q "$1"; }
t_wait 25 a_new "Connected to 192.0.2.4:3210" || fail "A did not connect to D during flood 4"
t_alive flood4 || fail "flood 4 ended before A connected to D"
t_ping a 10.9.0.4 3 || fail "no traffic A -> D during flood 4"
by="D's handshake (the budget's luck)"
a_new "Connecting to 192.0.2.4:3210" && by="its own handshake"
log "A connected to D (known from B) during flood 4 after $(($(date +%s) - t0 - 2)) s by $by"
flood_end 4 handshake-limited
t_stop d
log "hostile ok"
exit 0

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# scale.sh - memory and scale of one node (issue 9 item 7), measured, not asserted: the node
# runs in namespace "n" (192.0.2.1), the peer simulator (build/tools/peersim) in "s"
# (192.0.2.2, plus 192.0.2.10-209 as handshake sources). Each phase starts a fresh node, so
# VmHWM is that phase's peak. Prints one line per figure.
#   (a) 0, 10 and 100 peers connected (real handshakes, keepalive probes, NODE_INFO, one ICMP
#       echo per second per peer through the tunnel): VmRSS/VmHWM of the node
#   (b) fresh handshakes per second from 200 source addresses, WINDOW at a time (each peer
#       closes once the node has answered and a new one starts): established per second,
#       node CPU seconds per handshake (so handshakes per second one core can do)
#   (c) one peer advertising LEARN addresses (20 peer entries per NODE_INFO, once a second):
#       the node's peer and pending counts (management socket) and RSS over time
# usage: sudo tests/bench/scale.sh [SECS] (phase length, default 15; needs make all tools)
# Environment: WINDOW (default 256), LEARN (default 2000), PEERS (default "10 100"),
# PHASES (default "a b c"), PPS (echo requests per second per peer in (a), default 1).
. "$(dirname "$0")/../integration/lib.sh"
SECS=${1:-15}
WINDOW=${WINDOW:-256}
LEARN=${LEARN:-2000}
PEERS=${PEERS:-"10 100"}
PHASES=${PHASES:-"a b c"}
PEERSIM=${MESHVPN_TOOLS:-$(cd "$(dirname "$0")/../.." && pwd)/build/tools}/peersim
PW=scale-bench
SOCK=""
t_init
[ -x "$PEERSIM" ] || fail "$PEERSIM missing (make tools)"
t_ns n s
t_pair n 192.0.2.1 s 192.0.2.2
i=10
while [ $i -le 209 ]; do
	ip -n "$(ns s)" addr add "192.0.2.$i/24" dev ul0 || fail "address 192.0.2.$i"
	i=$((i + 1))
done
NODE_PID=""

out() { printf '%s\n' "$*"; }

# start_node NAME: a fresh node (the previous one stopped), management socket in T_DIR.
start_node() {
	[ -n "$NODE_PID" ] && t_stop node
	SOCK="$T_DIR/$1.sock"
	rm -f "$SOCK"
	t_spawn n node "$MESHVPN" -t tun -d mvs%d -l 192.0.2.1:3210 -p "$PW" -m router \
		--no-port-forwarding --ip 10.77.0.1/16 --socket "$SOCK"
	NODE_PID=$(t_pid node)
	t_wait 15 "$MESHVPN" ctl --socket "$SOCK" status || fail "node $1 did not come up"
}

status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$NODE_PID/status"; }
# the node's memory: VmRSS (peak VmHWM) = RssAnon (its own) + RssFile (shared libraries)
mem() {
	echo "VmRSS=$(status VmRSS)kB VmHWM=$(status VmHWM)kB RssAnon=$(status RssAnon)kB" \
		"RssFile=$(status RssFile)kB"
}
# smaps_top: the node's mappings by resident size (SMAPS=1), largest first, one line each
smaps_top() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / {
		name = $6 == "" ? "[anon " $1 "]" : $6
	     }
	     /^Rss:/ { rss[name] += $2 }
	     END { for (n in rss) if (rss[n] >= 32) printf "%6d kB %s\n", rss[n], n }' \
		"/proc/$NODE_PID/smaps" | sort -rn | sed 's/^/  smaps /'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$NODE_PID/stat"; }
stats() { "$MESHVPN" ctl --socket "$SOCK" --json stats; }
json_num() { sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p"; }

# sim NAME ARGS...: peersim in "s" in the background (log: T_DIR/NAME.log).
sim() {
	_sn=$1
	shift
	t_spawn s "$_sn" nice "$PEERSIM" -k "$PW" -n 192.0.2.1:3210 "$@"
}
# sim_wait NAME: waits for it (not in a subshell: wait needs the parent); RESULT = its result.
sim_wait() {
	t_join "$1"
	RESULT=$(grep '^result' "$T_DIR/$1.log" | tail -n 1 | cut -d' ' -f2-)
	[ -n "$RESULT" ] || fail "peersim $1: no result"
}

# (a) RSS with 0 and N peers
phase_a() {
	start_node idle
	sleep 3
	out "a peers=0 $(mem)"
	for np in $PEERS; do
		start_node "stay$np"
		sim "stay$np" -s 192.0.2.10 -S 200 -t "$SECS" -m stay -N "$np" -d "${PPS:-1}" -o 10.77.0.0 \
			-D 10.77.0.1
		sleep $((SECS - 2))
		peers=$(stats | json_num peers)
		m=$(mem)
		[ -n "${SMAPS:-}" ] && sm=$(smaps_top)
		sim_wait "stay$np"
		out "a peers=$np node_peers=$peers $m sim: $RESULT"
		[ -n "${SMAPS:-}" ] && out "$sm"
	done
}

# (b) handshakes per second, and the node's CPU time for them
phase_b() {
	start_node rate
	hz=$(getconf CLK_TCK)
	c0=$(cpu_ticks)
	sim rate -s 192.0.2.10 -S 200 -t "$SECS" -m rate -W "$WINDOW"
	sim_wait rate
	c1=$(cpu_ticks)
	conf=$(echo "$RESULT" | sed -n 's/.* confirmed=\([0-9]*\).*/\1/p')
	t=$(echo "$RESULT" | sed -n 's/^t=\([0-9.]*\).*/\1/p')
	refused=$(stats | json_num refused-handshakes)
	awk -v n="$conf" -v t="$t" -v c=$((c1 - c0)) -v hz="$hz" -v ref="$refused" 'BEGIN {
		cs = c / hz
		printf "b handshakes=%d in %.1f s: %.0f/s; node cpu %.2f s (%.0f%% of a core)",
		    n, t, n / t, cs, 100 * cs / t
		if (n > 0 && cs > 0)
			printf "; %.0f us cpu each = %.0f/s per core", 1e6 * cs / n, n / cs
		printf "; refused by the limits %d\n", ref
	}'
	out "b $(mem) sim: $RESULT"
}

# (c) a peer advertising LEARN addresses: peers/pending every 5 s, the peak of pending
phase_c() {
	start_node learn
	sim learn -s 192.0.2.10 -t "$SECS" -m learn -L "$LEARN" -A 1 -l 192.0.2.2
	s=1 maxpend=0
	while [ "$s" -lt "$SECS" ]; do
		sleep 1
		st=$(stats)
		pend=$(echo "$st" | json_num pending-handshakes)
		[ "${pend:-0}" -gt "$maxpend" ] && maxpend=$pend
		[ $((s % 5)) = 0 ] &&
			out "c t=$s peers=$(echo "$st" | json_num peers) pending=$pend $(mem)"
		s=$((s + 1))
	done
	sim_wait learn
	out "c advertised=$LEARN max-pending=$maxpend $(mem) sim: $RESULT"
}

for p in $PHASES; do
	"phase_$p"
done
t_stop node
exit 0

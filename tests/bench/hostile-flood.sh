#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# What floods cost a tunnel (issue 9 items 1-2): iperf3 B -> A through the tunnel and 0.1 s
# pings alongside, with nothing else on the wire and during each attack on A, the
# conditions interleaved in one run (REPS rounds), plus the CPU time node A used meanwhile.
#   base       no attack
#   ping1      50,000 PINGs/s from one stranger (badsig, unsigned and replays of B's PING)
#   closed     the control: ping1 sent to a port of A nobody listens on, so the kernel
#              drops it; what the flood costs the host (attacker, veth, bridge) without
#              the node's part
#   pingR      the same from a random source per datagram
#   pingRkey   50,000 PINGs/s from random sources by somebody who knows A's public key
#              (fresh salts, matching key hash, bad signature: the global budget's case)
#   garbage    50,000 forged datagrams/s of every kind (empty, short, truncated, 0xFF and
#              random garbage <= 1400 bytes, bit-flipped and replayed captures), half of
#              them from B's address
# PIN=1: the nodes, iperf3 and ping on CPU 0, the attacker on CPU 1 (taskset), so the flood
# competes with the tunnel for the node's own core only, not for the attacker's.
# NOIPERF=1: no iperf3, to see what the attacks alone cost node A (CPU column).
# CONDS="base pingR": only these conditions. PERF=DIR: a perf profile of node A per run.
# Needs root, iperf3 and the tools (make all tools). Prints one line per run and a table
# of medians. Not a test: nothing here passes or fails.
#   sudo nice sh tests/bench/hostile-flood.sh [REPS [SECONDS]]
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MESHVPN=${MESHVPN:-$ROOT/meshvpn}
FORGE=${FORGE:-$ROOT/build/tools/forge}
. "$ROOT/tests/integration/lib.sh"
T_NAME=hostile-flood
REPS=${1:-3}
SECS=${2:-10}
RATE=${RATE:-50000}
t_init
command -v iperf3 >/dev/null || { log "no iperf3"; exit 1; }
[ -x "$FORGE" ] || { log "no $FORGE (make tools)"; exit 1; }

t_lan a 192.0.2.1 b 192.0.2.2 x 192.0.2.66
if [ -n "$PIN" ]; then
	TS0="taskset -c 0" TS1="taskset -c 1" # taskset execs the command: the PID stays
fi
common="-t tun -d mv%d -l 3210 -m router --no-port-forwarding -p hostile-bench"
t_spawn a capture "$FORGE" capture ul0 192.0.2.2 192.0.2.1 3210 300 "$T_DIR/real.cap" 25
sleep 0.5
t_spawn a a $TS0 "$MESHVPN" $common --ip 10.9.0.1/24
t_spawn b b $TS0 "$MESHVPN" $common --ip 10.9.0.2/24 -c 192.0.2.1
t_wait_ping 15 b 10.9.0.1 || fail "tunnel did not come up"
ip netns exec "$(ns b)" ping -i 0.01 -c 400 -W 1 -q 10.9.0.1 >/dev/null 2>&1
t_wait 10 sh -c "! kill -0 $(t_pid capture)" || fail "capture did not finish"
pub=$(sed -n 's/.* Public key: \([0-9A-Za-z]*\)$/\1/p' "$T_DIR/a.log" | head -n 1)
t_spawn a iperfd $TS0 iperf3 -s -B 10.9.0.1
t_wait 5 sh -c "ip netns exec $(ns a) ss -ltn | grep -q 10.9.0.1:5201" || fail "iperf3 server"
cpu() { awk '{print $14 + $15}' "/proc/$(t_pid a)/stat"; }
hz=$(getconf CLK_TCK)

attack() { # CONDITION: the attack for it in the background, its PID in $apid
	apid=
	f="$FORGE flood -t 192.0.2.1:3210 -c $T_DIR/real.cap -r $RATE -d $((SECS + 2))"
	case $1 in
	ping1) set -- $f -x 192.0.2.66 ;;
	closed) set -- $(echo "$f" | sed 's/:3210/:3999/') -x 192.0.2.66 ;;
	pingR) set -- $f -R ;;
	pingRkey) set -- $f -R -P "$pub" -k badsig ;;
	garbage) set -- "$FORGE" attack -t 192.0.2.1:3210 -c "$T_DIR/real.cap" -p 192.0.2.2 \
		-r "$RATE" -n $((RATE * (SECS + 2))) -M 1400 ;;
	*) return 0 ;;
	esac
	ip netns exec "$(ns x)" $TS1 "$@" >"$T_DIR/attack.out" 2>&1 &
	apid=$!
	T_PIDS="$T_PIDS $apid:attack"
	sleep 1
}

CONDS=${CONDS:-"base closed ping1 pingR pingRkey garbage"}
for r in $(seq 1 "$REPS"); do
	for c in $CONDS; do
		attack "$c"
		c0=$(cpu)
		ip netns exec "$(ns b)" $TS0 ping -i 0.1 -c $((SECS * 10)) -W 2 -q 10.9.0.1 \
			>"$T_DIR/ping.out" 2>&1 &
		ppid=$!
		if [ -n "$PERF" ]; then # where node A's time goes: perf report -i DIR/COND-ROUND.data
			perf record -q -g -p "$(t_pid a)" -o "$PERF/$c-$r.data" -- sleep "$SECS" \
				>/dev/null 2>&1 &
			T_PIDS="$T_PIDS $!:perf" perfpid=$!
		fi
		if [ -n "$NOIPERF" ]; then
			echo '"sum_received": { "bits_per_second": 0 }' >"$T_DIR/iperf.json"
			sleep "$SECS"
		else
			ip netns exec "$(ns b)" $TS0 iperf3 -c 10.9.0.1 -t "$SECS" -J \
				>"$T_DIR/iperf.json" 2>&1
		fi
		wait $ppid
		[ -n "$PERF" ] && wait "$perfpid"
		c1=$(cpu)
		[ -n "$apid" ] && wait "$apid"
		bps='s/.*"bits_per_second":[[:space:]]*\([0-9.e+]*\).*/\1/p'
		mbit=$(sed -n "/\"sum_received\"/,/}/$bps" "$T_DIR/iperf.json" |
			awk '{printf "%.0f", $1 / 1e6}')
		loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$T_DIR/ping.out")
		rtt=$(sed -n 's|.* = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$T_DIR/ping.out")
		sent=$(sed -n 's/^total *\([0-9]*\) sent.*/\1/p' "$T_DIR/attack.out" 2>/dev/null)
		fcpu=$(sed -n 's/^total .* \([0-9.]*\) s CPU$/\1/p' "$T_DIR/attack.out" 2>/dev/null)
		[ -n "$apid" ] || sent=0 fcpu=0
		acpu=$(awk -v d=$((c1 - c0)) -v hz="$hz" -v s="$SECS" \
			'BEGIN {printf "%.0f", 100 * d / hz / s}')
		fcpu=$(awk -v c="$fcpu" -v s="$SECS" 'BEGIN {printf "%.0f", 100 * c / (s + 2)}')
		echo "$r $c $mbit $loss $rtt $acpu $sent $fcpu" | tee -a "$T_DIR/results"
		rm -f "$T_DIR/attack.out"
	done
done
echo
printf '| condition | iperf3 Mbit/s (median of %s, min..max) | vs base | ping loss ' "$REPS"
echo "| ping avg ms | node A CPU % | datagrams sent | attacker CPU % |"
echo "|---|---|---|---|---|---|---|---|"
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)], v[1], v[NR]}'; }
base=$(awk '$2 == "base" {print $3}' "$T_DIR/results" | median | cut -d' ' -f1)
for c in $CONDS; do
	set -- $(awk -v c="$c" '$2 == c {print $3}' "$T_DIR/results" | median)
	awk -v c="$c" -v base="$base" -v med="$1" -v lo="$2" -v hi="$3" \
		'$2 == c {n++; l += $4; t += $5; u += $6; s += $7; f += $8}
		END {
			printf "| %s | %d (%d..%d) | %+.1f%% | %.1f%% " \
				"| %.2f | %.0f | %d | %.0f |\n",
				c, med, lo, hi, base ? 100 * (med - base) / base : 0, l / n,
				t / n, u / n, s / n, f / n
		}' "$T_DIR/results"
done

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A lossy, reordering underlay (the project's userspace relay tests/tools/impair.c, since
# this kernel has no tc netem): 2% loss, 5 ms delay and 5% reordering in each direction.
# TCP over the tunnel still works: iperf3 moves 8 MB both ways, and the relay really
# dropped and reordered packets.
. "$(dirname "$0")/lib.sh"
t_init
command -v iperf3 >/dev/null || { log "SKIP: no iperf3"; exit 77; }
command -v ethtool >/dev/null || { log "SKIP: no ethtool"; exit 77; }
t_ns a b
t_impaired_pair a 192.0.2.1 b 192.0.2.2 -l 2 -d 5 -r 5 -s 7
common="-t tun -d mv%d -l 3210 -p lossy -m router --no-port-forwarding"
t_node a $common --ip 10.9.0.1/24 -c 192.0.2.2
t_node b $common --ip 10.9.0.2/24
t_wait_ping 20 a 10.9.0.2 || fail "tunnel did not come up over the impaired link"
t_spawn b iperfsrv iperf3 -s -B 10.9.0.2 -p 5201
t_wait 5 ip netns exec "$(ns b)" sh -c 'ss -ltn | grep -q 10.9.0.2:5201' || fail "iperf3 server"
for dir in "" "-R"; do
	out=$(ip netns exec "$(ns a)" timeout 60 iperf3 -c 10.9.0.2 -p 5201 -n 8M $dir -f m 2>&1) ||
		fail "TCP transfer failed ($dir): $out"
	rate=$(echo "$out" | grep receiver | awk '{print $7, $8}')
	log "TCP 8 MB ${dir:-forward}: $rate"
done
t_stop relay
grep -q "dropped [1-9]" "$T_DIR/relay.log" || fail "relay dropped nothing: $(cat "$T_DIR/relay.log")"
grep -q "reordered [1-9]" "$T_DIR/relay.log" || fail "relay reordered nothing"
log "relay: $(tr '\n' ' ' <"$T_DIR/relay.log")"
exit 0

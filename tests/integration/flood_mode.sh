#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Flood mode (VpnCloud's "hub" mode, -m hub; not the hub role), TUN, no claims: every packet
# goes to every peer. A pings C; B (the third node) receives copies of the packets addressed to C (its payload statistics show them). Then TCP
# both ways at full speed (TSO super-packets cut and copied to every peer): the receivers
# see no duplicated or corrupted datagram (invalid protocol traffic stays at zero).
. "$(dirname "$0")/lib.sh"
t_init
t_lan a 192.0.2.1 b 192.0.2.2 c 192.0.2.3
common="-t tun -d mv%d -l 3210 -p hubbing -m hub --no-auto-claim --no-port-forwarding"
t_node a $common --ip 10.5.0.1/24 -c 192.0.2.2 -c 192.0.2.3 --stats-file "$T_DIR/a.stats"
t_node b $common --ip 10.5.0.2/24 --stats-file "$T_DIR/b.stats"
t_node c $common --ip 10.5.0.3/24 --stats-file "$T_DIR/c.stats"
t_wait 20 t_log_has b "Connected to 192.0.2.3:3210" || fail "mesh B-C not formed"
t_wait_ping 10 a 10.5.0.3 || fail "no ping A -> C"
t_ping a 10.5.0.3 5 || fail "ping A -> C lost packets"
t_ping c 10.5.0.1 5 || fail "ping C -> A lost packets"
# B saw the A->C echo requests although they were not for it (SIGUSR1: stats file now,
# with everything counted since the start: the test is shorter than the 60 s period)
kill -USR1 "$(t_pid b)"
t_wait 6 grep -A1 '"10.5.0.1", "10.5.0.3"' "$T_DIR/b.stats" >/dev/null ||
	fail "B did not receive A->C traffic: $(cat "$T_DIR/b.stats")"
grep -A1 '"10.5.0.1", "10.5.0.3"' "$T_DIR/b.stats" | grep -q 'in: { display: "[^"]*", bytes: [1-9]' ||
	fail "no inbound A->C bytes counted on B"
if command -v iperf3 >/dev/null; then
	t_spawn c iperfsrv iperf3 -s -B 10.5.0.3 -p 5201
	t_wait 5 ip netns exec "$(ns c)" sh -c 'ss -ltn | grep -q 5201' || fail "iperf3 server"
	out=$(ip netns exec "$(ns a)" timeout 30 iperf3 -c 10.5.0.3 -p 5201 --bidir -t 4 -f m 2>&1) ||
		fail "TCP in hub mode failed: $out"
	log "hub TCP both ways: $(echo "$out" | awk '/receiver/ {printf "%s ", $7}')Mbit/s"
	for n in a c; do
		kill -USR1 "$(t_pid $n)"
	done
	sleep 0.5
	for n in a c; do
		inv=$(sed -n 's/^invalid_protocol_traffic: .*packets: \([0-9]*\).*/\1/p' "$T_DIR/$n.stats")
		[ "${inv:-x}" -le 2 ] || fail "$n received $inv invalid (duplicate/corrupt) datagrams"
	done
fi
log "hub ok"
exit 0

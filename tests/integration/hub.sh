#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Hub mode, TUN, no claims: every packet goes to every peer. A pings C; B (the third node)
# receives copies of the packets addressed to C (its payload statistics show them).
. "$(dirname "$0")/lib.sh"
t_init
t_bridge
t_ns a b c
t_attach a 192.0.2.1
t_attach b 192.0.2.2
t_attach c 192.0.2.3
export MESHVPN_TEST_STATS_SECS=2
common="-t tun -d mv%d -l 3210 -p hubbing -m hub --no-auto-claim --no-port-forwarding"
t_node a $common --ip 10.5.0.1/24 -c 192.0.2.2 -c 192.0.2.3
t_node b $common --ip 10.5.0.2/24 --stats-file "$T_DIR/b.stats"
t_node c $common --ip 10.5.0.3/24
t_wait 20 t_log_has b "Connected to 192.0.2.3:3210" || fail "mesh B-C not formed"
t_wait_ping 10 a 10.5.0.3 || fail "no ping A -> C"
t_ping a 10.5.0.3 5 || fail "ping A -> C lost packets"
t_ping c 10.5.0.1 5 || fail "ping C -> A lost packets"
# B saw the A->C echo requests although they were not for it
t_wait 6 grep -A1 '"10.5.0.1", "10.5.0.3"' "$T_DIR/b.stats" >/dev/null ||
	fail "B did not receive A->C traffic: $(cat "$T_DIR/b.stats")"
grep -A1 '"10.5.0.1", "10.5.0.3"' "$T_DIR/b.stats" | grep -q 'in: { display: "[^"]*", bytes: [1-9]' ||
	fail "no inbound A->C bytes counted on B"
log "hub ok"
exit 0

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Three nodes on one underlay bridge: A is configured with B only, B with C only. After the
# NODE_INFO exchange A connects to C directly (A's log and stats file list C as a peer) and
# traffic A <-> C flows. Then C stops: A and B see CLOSE and drop it.
. "$(dirname "$0")/lib.sh"
t_init
t_lan a 192.0.2.1 b 192.0.2.2 c 192.0.2.3
common="-t tun -d mv%d -l 3210 -p exchange -m router --no-port-forwarding"
t_node a $common --ip 10.3.0.1/24 -c 192.0.2.2 --stats-file "$T_DIR/a.stats"
t_node b $common --ip 10.3.0.2/24 -c 192.0.2.3
t_node c $common --ip 10.3.0.3/24

t_wait 20 t_log_has a "Connected to 192.0.2.3:3210" || fail "A did not connect to C"
t_log_has c "Connected to 192.0.2.1:3210" || t_wait 5 t_log_has c "Connected to 192.0.2.1:3210" ||
	fail "C did not see A"
t_wait_ping 10 a 10.3.0.3 || fail "no route A -> C"
t_ping a 10.3.0.3 5 || fail "ping A -> C lost packets"
t_ping c 10.3.0.1 5 || fail "ping C -> A lost packets"
t_ping a 10.3.0.2 3 || fail "ping A -> B lost packets"
t_ping c 10.3.0.2 3 || fail "ping C -> B lost packets"

t_stop c || fail "C exit status"
t_wait 5 t_log_has a "Peer 192.0.2.3:3210 disconnected: closed by the peer" ||
	fail "A did not get C's CLOSE"
t_wait 5 t_log_has b "Peer 192.0.2.3:3210 disconnected: closed by the peer" ||
	fail "B did not get C's CLOSE"
t_ping a 10.3.0.2 3 || fail "A -> B broken after C left"
log "peer exchange ok"
exit 0

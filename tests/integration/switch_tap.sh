#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Three nodes with TAP devices in switch mode: ARP requests (broadcast) reach every peer, the
# replies teach the switch tables the MAC addresses (checked in the stats file's cache), and
# unicast pings flow between every pair.
. "$(dirname "$0")/lib.sh"
t_init
t_lan a 192.0.2.1 b 192.0.2.2 c 192.0.2.3
export MESHVPN_TEST_STATS_SECS=2
common="-t tap -d mvtap%d -l 3210 -p switching -m switch --no-port-forwarding"
t_node a $common --ip 10.4.0.1/24 -c 192.0.2.2 --stats-file "$T_DIR/a.stats"
t_node b $common --ip 10.4.0.2/24
t_node c $common --ip 10.4.0.3/24 -c 192.0.2.2
t_wait 20 t_log_has a "Connected to 192.0.2.3:3210" || fail "mesh A-C not formed"

t_wait_ping 10 a 10.4.0.3 || fail "no ping A -> C over TAP"
t_ping a 10.4.0.3 5 || fail "ping A -> C lost packets"
t_ping b 10.4.0.1 3 || fail "ping B -> A lost packets"
t_ping c 10.4.0.2 3 || fail "ping C -> B lost packets"

# A learnt C's and B's MACs from received frames
mac_c=$(ip -n "$(ns c)" -o link show mvtap0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
mac_b=$(ip -n "$(ns b)" -o link show mvtap0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
t_wait 6 grep -q "\"$mac_c\": { peer: \"192.0.2.3:3210\"" "$T_DIR/a.stats" ||
	fail "A's cache does not map $mac_c to C: $(cat "$T_DIR/a.stats")"
grep -q "\"$mac_b\": { peer: \"192.0.2.2:3210\"" "$T_DIR/a.stats" ||
	fail "A's cache does not map $mac_b to B"
# ARP made it through: each namespace has a neighbour entry for the others
ip -n "$(ns a)" neigh show dev mvtap0 | grep -q "10.4.0.3 lladdr $mac_c" || fail "no ARP entry for C"
log "switch ok (A learnt $mac_b and $mac_c)"
exit 0

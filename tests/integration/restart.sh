#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A node killed with SIGKILL (no CLOSE) and restarted rejoins: first the node that has the
# other as configured peer, then the passive one (the survivor still holds the old session,
# notices that its traffic goes unanswered and handshakes again).
. "$(dirname "$0")/lib.sh"
t_init
t_ns a b
t_pair a 192.0.2.1 b 192.0.2.2
common="-t tun -d mv%d -l 3210 -p restart -m router --no-port-forwarding"
t_node a $common --ip 10.7.0.1/24 -c 192.0.2.2
t_node b $common --ip 10.7.0.2/24
t_wait_ping 15 a 10.7.0.2 || fail "tunnel did not come up"

# 1. the active side dies and comes back
t_stop a KILL
t_node a $common --ip 10.7.0.1/24 -c 192.0.2.2
t_wait_ping 15 a 10.7.0.2 || fail "A did not rejoin after restart"
t_ping b 10.7.0.1 3 || fail "B -> A after A's restart"
log "active side rejoined"

# 2. the passive side dies and comes back; A still has the old session
t_stop b KILL
t_node b $common --ip 10.7.0.2/24
t_wait_ping 40 a 10.7.0.2 || fail "B did not rejoin after restart"
t_ping b 10.7.0.1 3 || fail "B -> A after B's restart"
log "passive side rejoined"
exit 0

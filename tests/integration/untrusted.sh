#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A node with another identity is refused: A and B share a password, M (a third node with its
# own key) connects to A and B. Its handshakes get no answer (logged, rate-limited), it never
# becomes a peer, no traffic crosses, and A <-> B keep working. Also a node that trusts an
# explicit key list refuses a password-derived key not on the list.
. "$(dirname "$0")/lib.sh"
t_init
t_lan a 192.0.2.1 b 192.0.2.2 m 192.0.2.9
common="-t tun -d mv%d -l 3210 -m router --no-port-forwarding -v"
t_node a $common --ip 10.6.0.1/24 -p trusted -c 192.0.2.2 --socket "$T_DIR/a.sock"
t_node b $common --ip 10.6.0.2/24 -p trusted
t_node m $common --ip 10.6.0.9/24 -p intruder -c 192.0.2.1 -c 192.0.2.2
t_wait_ping 15 a 10.6.0.2 || fail "A-B tunnel did not come up"
t_wait 10 t_log_has a "Ignoring a handshake from 192.0.2.9:3210: untrusted key" ||
	fail "A did not log the untrusted handshake"
# counted by reason, and only as that
"$MESHVPN" ctl --socket "$T_DIR/a.sock" stats --json >"$T_DIR/stats.json" || fail "ctl stats"
grep -q '"handshake-untrusted":[1-9]' "$T_DIR/stats.json" ||
	{ cat "$T_DIR/stats.json" >&2; fail "untrusted handshakes not counted by reason"; }
grep -q '"auth-failed":0' "$T_DIR/stats.json" || fail "untrusted handshakes counted as auth failures"
sleep 2
t_log_has a "Connected to 192.0.2.9" && fail "A accepted the untrusted node"
t_log_has m "Connected to" && fail "the untrusted node got connected"
t_ping m 10.6.0.1 2 && fail "traffic from the untrusted node crossed"
t_ping a 10.6.0.2 3 || fail "A-B broken by the intruder"
# the untrusted node received nothing back: no reply amplification
n=$(grep -c "Handshake from 192.0.2.9" "$T_DIR/a.log")
[ "$n" -eq 0 ] || fail "A answered the untrusted node"
log "untrusted ok"
exit 0

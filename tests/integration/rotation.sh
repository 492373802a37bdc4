#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Key rotation with a shortened cycle (the test-only MESHVPN_TEST_ROTATE_SECS=3 instead of
# 120 s): pings every 20 ms for 16 s cross at least four rotations without a single loss,
# and both sides report new keys in several slots.
. "$(dirname "$0")/lib.sh"
t_init
t_ns a b
t_pair a 192.0.2.1 b 192.0.2.2
export MESHVPN_TEST_ROTATE_SECS=3
common="-t tun -d mv%d -l 3210 -p rotating -m router --no-port-forwarding -v"
t_node a $common --ip 10.8.0.1/24 -c 192.0.2.2
t_node b $common --ip 10.8.0.2/24
t_wait_ping 15 a 10.8.0.2 || fail "tunnel did not come up"
out=$(ip netns exec "$(ns a)" ping -c 800 -i 0.02 -W 1 -q 10.8.0.2 2>&1)
echo "$out" | grep -q " 0% packet loss" || fail "packets lost across rotations: $out"
for n in a b; do
	# the count the session keeps; one log line per tick can cover two installs
	k=$(sed -n 's/.*new key installed (\([0-9]*\) so far).*/\1/p' "$T_DIR/$n.log" | tail -n 1)
	[ "${k:-0}" -ge 4 ] || fail "$n: only ${k:-0} key installs"
	slots=$(sed -n 's/.*sending with slot \([0-9]\).*/\1/p' "$T_DIR/$n.log" | sort -u | wc -l)
	[ "$slots" -ge 2 ] || fail "$n: sent with only $slots slot(s)"
	log "$n: $k key installs, $slots send slots"
done
log "rotation ok: $(echo "$out" | grep packets)"
exit 0

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Statistics: with the test-only MESHVPN_TEST_STATS_SECS=2 a node rewrites its stats file and
# sends statsd datagrams every 2 s. The file lists the peer with its cipher, the claim, the
# peer and payload traffic of the pings; statsd carries every metric of VpnCloud's set with
# the configured prefix and counts the pings.
. "$(dirname "$0")/lib.sh"
t_init
t_ns a b
t_pair a 192.0.2.1 b 192.0.2.2
${CC:-cc} -std=gnu11 -O2 -o "$T_DIR/udpsink" "$(dirname "$0")/../tools/udpsink.c" || fail "udpsink"
t_spawn a sink "$T_DIR/udpsink" 192.0.2.1 8125 3 30
export MESHVPN_TEST_STATS_SECS=2
common="-t tun -d mv%d -l 3210 -p counting -m router --no-port-forwarding"
t_node a $common --ip 10.11.0.1/24 -c 192.0.2.2 --stats-file "$T_DIR/a.stats" \
	--statsd-server 192.0.2.1:8125 --statsd-prefix meshtest
t_node b $common --ip 10.11.0.2/24
t_wait_ping 15 a 10.11.0.2 || fail "tunnel did not come up"
ip netns exec "$(ns a)" ping -c 20 -i 0.05 -q 10.11.0.2 >/dev/null || fail "pings lost"
sleep 3
f="$T_DIR/a.stats"
grep -q '^  - "192.0.2.2:3210": { ttl_secs: [0-9]*, crypto: AES[0-9]*\|CHACHA20 }' "$f" ||
	fail "peer line missing: $(cat "$f")"
grep -q '^    - "10.11.0.2/32": { peer: "192.0.2.2:3210", timeout: [0-9]* }' "$f" ||
	fail "claim line missing"
grep -q '^  - peer: "192.0.2.2:3210"' "$f" || fail "peer traffic missing"
grep -q '^  - addrs: \["10.11.0.2", "10.11.0.1"\]' "$f" || fail "payload traffic missing"
grep -q '^invalid_protocol_traffic: { display: "[^"]*", bytes: [0-9]*, packets: [0-9]* }' "$f" ||
	fail "invalid traffic line missing"
grep -q '^dropped_payload_traffic: ' "$f" || fail "dropped line missing"

t_wait 10 sh -c "[ \$(grep -c '^--$' '$T_DIR/sink.log') -ge 3 ]" || fail "no statsd datagrams"
for m in peer_count:1 table_cache_entries: table_claims:1 traffic.protocol.inbound.bytes \
	traffic.protocol.inbound.packets traffic.protocol.outbound.bytes \
	traffic.protocol.outbound.packets traffic.payload.inbound.bytes \
	traffic.payload.inbound.packets traffic.payload.outbound.bytes \
	traffic.payload.outbound.packets invalid_protocol_traffic.bytes \
	invalid_protocol_traffic.packets dropped_payload.bytes dropped_payload.packets; do
	grep -q "^meshtest\.$m" "$T_DIR/sink.log" || fail "statsd metric $m missing: $(cat "$T_DIR/sink.log")"
done
grep -Eq '^meshtest\.traffic\.payload\.outbound\.packets:([2-9]|[1-9][0-9]+)\|c' "$T_DIR/sink.log" ||
	fail "statsd did not count the pings"
log "stats ok: $(grep -c '^--$' "$T_DIR/sink.log") statsd datagrams"
exit 0

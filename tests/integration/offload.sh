#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Edges of the offload data path (TUN TSO/USO super-packets, UDP GSO trains, GRO receive):
#  1. an underlay MTU (1000) below the tunnel's datagrams: UDP GSO cannot fragment, so the
#     node must fall back to single datagrams for that peer; TCP keeps full speed both ways;
#  2. the largest UDP GSO sends an application can make (65507 bytes in 1200-byte segments,
#     IPv4 and IPv6 inside) cross the tunnel completely;
#  3. the same with offloads off (MESHVPN_OFFLOAD=0) as a reference for 2.
. "$(dirname "$0")/lib.sh"
t_init
command -v iperf3 >/dev/null || { log "SKIP: no iperf3"; exit 77; }
tools=$(cd "$(dirname "$0")/../tools" && pwd)
for t in udpsink usosend; do
	${CC:-cc} -std=gnu11 -O2 -o "$T_DIR/$t" "$tools/$t.c" || fail "building $t"
done
t_ns a b
t_pair a 192.0.2.1 b 192.0.2.2
ip -n "$(ns a)" link set ul0 mtu 1000
ip -n "$(ns b)" link set ul0 mtu 1000

start_nodes() { # extra env for both nodes
	common="-t tun -d mv%d -l 3210 -p edges -m router --no-port-forwarding --claim fd00:e::/64"
	t_spawn a a env "$@" "$MESHVPN" $common --ip 10.12.0.1/24 -c 192.0.2.2 \
		--ifup "ip -6 addr add fd00:e::1/64 dev \$IFNAME nodad"
	t_spawn b b env "$@" "$MESHVPN" $common --ip 10.12.0.2/24 \
		--ifup "ip -6 addr add fd00:e::2/64 dev \$IFNAME nodad"
	t_wait_ping 15 a 10.12.0.2 || fail "tunnel did not come up"
}

SINKS=0
uso_check() { # LABEL DEST
	SINKS=$((SINKS + 1))
	sink=sink$SINKS
	t_spawn b $sink "$T_DIR/udpsink" -q "$2" 9000 1100 20
	sleep 0.3
	ip netns exec "$(ns a)" "$T_DIR/usosend" "$2" 9000 20 65507 1200 || fail "usosend $1"
	t_wait 20 sh -c "! kill -0 $(t_pid $sink) 2>/dev/null"
	got=$(sed -n 's/^\([0-9]*\) datagrams.*/\1/p' "$T_DIR/$sink.log")
	[ "${got:-0}" -ge 1045 ] || fail "$1: only ${got:-0} of 1100 datagrams of 65507-byte UDP GSO sends arrived"
	log "$1: $got of 1100 datagrams"
}

# 1 + 2 with offloads
start_nodes MESHVPN_OFFLOAD=1
t_log_has a "with segmentation offloads" || fail "offloads not enabled"
t_spawn b iperfsrv iperf3 -s -B 10.12.0.2 -p 5201
t_wait 5 ip netns exec "$(ns b)" sh -c 'ss -ltn | grep -q 5201' || fail "iperf3 server"
for dir in "" "-R"; do
	out=$(ip netns exec "$(ns a)" timeout 40 iperf3 -c 10.12.0.2 -p 5201 -n 64M $dir -f m 2>&1) ||
		fail "TCP over a 1000-byte underlay MTU failed ($dir): $out"
	rate=$(echo "$out" | awk '/receiver/ {print $7}')
	log "MTU 1000 underlay, TCP 64 MB ${dir:-forward}: $rate Mbit/s"
	[ "${rate%.*}" -ge 100 ] || fail "TCP collapsed over the small underlay MTU: $rate Mbit/s"
done
uso_check "USO IPv4 (offload)" 10.12.0.2
uso_check "USO IPv6 (offload)" fd00:e::2
t_stop a
t_stop b
t_stop iperfsrv

# 3 without offloads, same sends
: >"$T_DIR/a.log"
: >"$T_DIR/b.log"
start_nodes MESHVPN_OFFLOAD=0
uso_check "USO IPv4 (no offload)" 10.12.0.2
exit 0

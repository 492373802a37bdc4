#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# IPv6 everywhere: the underlay is IPv6 only (2001:db8::/64, peers given as [v6]:port, which
# VpnCloud 2.3 cannot parse), and the tunnel carries IPv6 (claims fd00:a::N/128) with a TCP
# transfer (TSO/GSO segmentation and receive merging for TCPv6) and pings both ways.
. "$(dirname "$0")/lib.sh"
t_init
command -v iperf3 >/dev/null || { log "SKIP: no iperf3"; exit 77; }
t_ns a b
ip link add ul0 netns "$(ns a)" type veth peer name ul0 netns "$(ns b)" || fail "veth"
ip -n "$(ns a)" -6 addr add 2001:db8::1/64 dev ul0 nodad
ip -n "$(ns b)" -6 addr add 2001:db8::2/64 dev ul0 nodad
ip -n "$(ns a)" link set ul0 up
ip -n "$(ns b)" link set ul0 up
common="-t tun -d mv%d -l [::]:3210 -p six -m router --no-port-forwarding"
t_node a $common --claim fd00:a::1/128 --ifup "ip -6 addr add fd00:a::1/64 dev \$IFNAME nodad" \
	-c "[2001:db8::2]:3210"
t_node b $common --claim fd00:a::2/128 --ifup "ip -6 addr add fd00:a::2/64 dev \$IFNAME nodad"
t_wait 15 t_log_has a "Connected to \[2001:db8::2\]:3210" || fail "no session over IPv6"
ip -n "$(ns a)" link set mv0 up
ip -n "$(ns b)" link set mv0 up
t_wait_ping 10 a fd00:a::2 || fail "no IPv6 ping through the tunnel"
t_ping a fd00:a::2 5 || fail "IPv6 ping a->b lost packets"
t_ping b fd00:a::1 5 || fail "IPv6 ping b->a lost packets"
t_spawn b iperfsrv iperf3 -s -B fd00:a::2 -p 5201
t_wait 5 ip netns exec "$(ns b)" sh -c 'ss -ltn | grep -q 5201' || fail "iperf3 server"
for dir in "" "-R"; do
	out=$(ip netns exec "$(ns a)" timeout 60 iperf3 -6 -c fd00:a::2 -p 5201 -n 64M $dir -f m 2>&1) ||
		fail "TCP over IPv6 failed ($dir): $out"
	log "TCPv6 64 MB ${dir:-forward}: $(echo "$out" | grep receiver | awk '{print $7, $8}')"
done
exit 0

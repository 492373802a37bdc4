#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# NAT traversal (UDP hole punching, PROTOCOL.md 5.6): nodes behind two NAT routers know only
# the public node P, learn each other's NAT-mapped addresses from P's NODE_INFO, PING each
# other and so open both NATs.
#
#            "internet" 192.0.2.0/24 (bridge in namespace sw)
#     P 192.0.2.1        N1 192.0.2.11 (ul0)          N2 192.0.2.12 (ul0)
#                        |  masquerade                |  masquerade
#            LAN1 198.51.100.0/24 (bridge in l1)      LAN2 203.0.113.0/24 (veth)
#            A 198.51.100.2, A2 198.51.100.3          B 203.0.113.2
#
# N1 and N2 are closed home routers: masquerade out, only established/related traffic in, no
# port forwards, no hairpin NAT, and - as any router firewall - no unsolicited datagram from
# the outside reaches their own stack either. (That last part matters: a Linux router that
# accepts a hole-punching PING to its own address, where nothing listens, keeps a conntrack
# entry for it, and the NAT then maps its own node's PING to the other side onto another
# port, so neither PING ever passes; meshvpn cannot help that.)
#
# 1. A and B connect directly: each lists the other at the mapped address P sees it on;
#    pings A <-> B (and A2 <-> B) lose nothing.
# 2. That traffic goes N1 <-> N2 directly: the routers' nftables counters for the other
#    router grow by the pings and an iperf3 transfer, P's own counters hardly move, and P's
#    stats file never lists A <-> B payload.
# 3. A and A2 (same NAT) are peers at their LAN addresses, not at N1's outside address.
# 4. B stops (SIGTERM) and starts again; then B is killed (SIGKILL, no CLOSE) and starts on
#    another port (a new mapping): each time A and B are soon connected directly again.
# Needs nftables (make deps) and iperf3; skips (77) without them.
. "$(dirname "$0")/lib.sh"
t_init
command -v nft >/dev/null || { log "SKIP: no nft (Debian package nftables)"; exit 77; }
command -v iperf3 >/dev/null || { log "SKIP: no iperf3"; exit 77; }

# ---- topology ----
t_bridge
t_ns p n1 n2 l1 a a2 b
t_attach p 192.0.2.1
t_attach n1 192.0.2.11
t_attach n2 192.0.2.12
N1=$(ns n1) N2=$(ns n2) L1=$(ns l1)
# LAN1 is a bridge of its own namespace: a bridge inside N1 would run the LAN's frames through
# N1's forward chain where br_netfilter is loaded.
ip -n "$L1" link add br0 type bridge || fail "LAN bridge"
ip -n "$L1" link set br0 up
ip link add lan0 netns "$N1" type veth peer name "${T_PFX}r" netns "$L1" || fail "veth N1"
ip -n "$L1" link set "${T_PFX}r" master br0 up
for l in "a 198.51.100.2" "a2 198.51.100.3"; do
	set -- $l
	ip link add "$T_PFX$1" netns "$L1" type veth peer name ul0 netns "$(ns "$1")" ||
		fail "veth $1"
	ip -n "$L1" link set "$T_PFX$1" master br0 up
	ip -n "$(ns "$1")" addr add "$2/24" dev ul0
	ip -n "$(ns "$1")" link set ul0 up
done
ip link add lan0 netns "$N2" type veth peer name ul0 netns "$(ns b)" || fail "veth N2"
ip -n "$(ns b)" addr add 203.0.113.2/24 dev ul0
ip -n "$(ns b)" link set ul0 up
ip -n "$N1" addr add 198.51.100.1/24 dev lan0
ip -n "$N2" addr add 203.0.113.1/24 dev lan0
for r in n1 n2; do ip -n "$(ns $r)" link set lan0 up; done
for h in "a 198.51.100.1" "a2 198.51.100.1" "b 203.0.113.1"; do
	set -- $h
	ip -n "$(ns "$1")" route add default via "$2" || fail "default route of $1"
done

# router NAME OTHER-ROUTER: the closed NAT router, counting what it forwards to and from the
# other router and P.
router() {
	ip netns exec "$(ns "$1")" sysctl -qw net.ipv4.ip_forward=1 || fail "ip_forward on $1"
	cat >"$T_DIR/$1.nft" <<EOF
table inet nat {
	counter to_other {}
	counter from_other {}
	counter to_p {}
	counter from_p {}
	counter unsolicited {}
	chain forward {
		type filter hook forward priority 0; policy drop;
		oifname "ul0" ip daddr $2 counter name "to_other"
		iifname "ul0" ip saddr $2 counter name "from_other"
		oifname "ul0" ip daddr 192.0.2.1 counter name "to_p"
		iifname "ul0" ip saddr 192.0.2.1 counter name "from_p"
		ct state established,related accept
		iifname "lan0" oifname "ul0" accept
		counter name "unsolicited" drop
	}
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "ul0" ct state established,related accept
		iifname "ul0" counter name "unsolicited" drop
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		oifname "ul0" masquerade
	}
}
EOF
	ip netns exec "$(ns "$1")" nft -f "$T_DIR/$1.nft" 2>"$T_DIR/nft.err" ||
		{ log "SKIP: nftables does not work here: $(cat "$T_DIR/nft.err")"; exit 77; }
}
router n1 192.0.2.12
router n2 192.0.2.11
# P's own protocol traffic
cat >"$T_DIR/p.nft" <<EOF
table inet count {
	counter p_in {}
	counter p_out {}
	chain input { type filter hook input priority 0; udp dport 3210 counter name "p_in"; }
	chain output { type filter hook output priority 0; udp sport 3210 counter name "p_out"; }
}
EOF
ip netns exec "$(ns p)" nft -f "$T_DIR/p.nft" || fail "nftables on P"

# counter NODE NAME: "packets bytes" of a named nftables counter
counter() {
	ip netns exec "$(ns "$1")" nft list counters 2>/dev/null |
		awk -v c="$2" '$1 == "counter" && $2 == c { f = 1 } f && $1 == "packets" {
			print $2, $4; exit }'
}

# ---- nodes ----
export MESHVPN_TEST_STATS_SECS=2
common="-t tun -d mv%d -p natpunch -m router --no-port-forwarding"
t_node p $common -l 3210 --ip 10.20.0.1/24 --stats-file "$T_DIR/p.stats"
# node NAME IP [PORT]
node() {
	t_node "$1" $common -l "${3:-3210}" --ip "$2/24" -c 192.0.2.1 --stats-file "$T_DIR/$1.stats"
}
node a 10.20.0.2
node a2 10.20.0.3
node b 10.20.0.4

# mapped ADDR [OLD]: the underlay address P has for the node with overlay address ADDR (the
# peer of its claim), other than OLD
mapped() {
	sed -n "s|^    - \"$1/32\": { peer: \"\\([0-9.:]*\\)\".*|\\1|p" "$T_DIR/p.stats" |
		grep -vxF "${2:-none}" | head -n 1
}
# peer_at NODE ADDR: NODE's stats file lists a peer at underlay ADDR
peer_at() { grep -q "^  - \"$2\": { ttl_secs" "$T_DIR/$1.stats"; }
# claim_at NODE OVERLAY ADDR: NODE routes OVERLAY (a /32 claim) to the peer at ADDR
claim_at() { grep -q "^    - \"$2/32\": { peer: \"$3\"" "$T_DIR/$1.stats"; }
# direct X OX Y OY [OLD-Y]: X and Y are peers at the mapped address P sees the other on (for
# Y not OLD-Y)
direct() {
	_mx=$(mapped "$2") _my=$(mapped "$4" "$5")
	[ -n "$_mx" ] && [ -n "$_my" ] && peer_at "$1" "$_my" && peer_at "$3" "$_mx" &&
		claim_at "$1" "$4" "$_my" && claim_at "$3" "$2" "$_mx"
}
peers() { sed -n '/^peers:/,/^$/p' "$T_DIR/$1.stats"; }

t_wait 30 sh -c "grep -q '10.20.0.4/32' '$T_DIR/p.stats' && grep -q '10.20.0.2/32' \
	'$T_DIR/p.stats' && grep -q '10.20.0.3/32' '$T_DIR/p.stats'" ||
	fail "P does not have all three nodes: $(cat "$T_DIR/p.stats")"
MA=$(mapped 10.20.0.2) MA2=$(mapped 10.20.0.3) MB=$(mapped 10.20.0.4)
case "$MA $MA2" in
192.0.2.11:*" "192.0.2.11:*) ;;
*) fail "P does not see A and A2 behind N1: $MA $MA2" ;;
esac
case "$MB" in 192.0.2.12:*) ;; *) fail "P does not see B behind N2: $MB" ;; esac
log "P sees A at $MA, A2 at $MA2, B at $MB"

# ---- 1. A <-> B directly, at the mapped addresses ----
t_wait 30 direct a 10.20.0.2 b 10.20.0.4 ||
	fail "A and B are not connected directly (A at $MA, B at $MB): A: $(peers a) B: $(peers b)"
t_wait_ping 10 a 10.20.0.4 || fail "no route A -> B"
t_ping a 10.20.0.4 10 || fail "ping A -> B lost packets"
t_ping b 10.20.0.2 10 || fail "ping B -> A lost packets"
t_wait 30 direct a2 10.20.0.3 b 10.20.0.4 || fail "A2 and B are not connected directly"
t_wait_ping 10 a2 10.20.0.4 || fail "no route A2 -> B"
t_ping b 10.20.0.3 5 || fail "ping B -> A2 lost packets"
log "A <-> B direct: A has B at $MB, B has A at $MA"

# ---- 3. A <-> A2 at their LAN addresses ----
lan_peers() {
	peer_at a 198.51.100.3:3210 && peer_at a2 198.51.100.2:3210 &&
		claim_at a 10.20.0.3 198.51.100.3:3210 && claim_at a2 10.20.0.2 198.51.100.2:3210
}
t_wait 30 lan_peers || fail "A and A2 are not peers on the LAN: A: $(peers a) A2: $(peers a2)"
! peer_at a "$MA2" || fail "A has A2 at N1's outside address $MA2 as well"
! peer_at a2 "$MA" || fail "A2 has A at N1's outside address $MA as well"
t_ping a 10.20.0.3 10 || fail "ping A -> A2 lost packets"
t_ping a2 10.20.0.2 10 || fail "ping A2 -> A lost packets"
log "A <-> A2 on the LAN: 198.51.100.2:3210 <-> 198.51.100.3:3210"

# ---- 2. A <-> B traffic goes N1 <-> N2, not through P ----
t_spawn b iperfsrv iperf3 -s -B 10.20.0.4 -p 5201
t_wait 5 ip netns exec "$(ns b)" sh -c 'ss -ltn | grep -q 5201' || fail "iperf3 server"
for c in to_other from_other to_p from_p unsolicited; do
	eval "n1_$c=\"$(counter n1 $c)\" n2_$c=\"$(counter n2 $c)\""
done
p_in0=$(counter p p_in) p_out0=$(counter p p_out)
[ "${p_in0%% *}" -gt 0 ] && [ "${p_out0%% *}" -gt 0 ] || fail "P's counters saw no handshakes"
ip netns exec "$(ns a)" ping -c 200 -i 0.01 -s 1000 -q 10.20.0.4 >"$T_DIR/flood" 2>&1 ||
	fail "ping flood A -> B: $(cat "$T_DIR/flood")"
grep -q ' 0% packet loss' "$T_DIR/flood" ||
	fail "ping flood A -> B lost packets: $(cat "$T_DIR/flood")"
ip netns exec "$(ns a)" timeout 60 iperf3 -c 10.20.0.4 -p 5201 -n 8M -J >"$T_DIR/iperf" 2>&1 ||
	fail "iperf3 A -> B: $(cat "$T_DIR/iperf")"
# what B received (the tail of the 8 MiB may still be in flight when iperf3 stops counting)
got=$(sed -n '/"sum_received"/,/}/s/.*"bytes":[[:space:]]*\([0-9]*\).*/\1/p' "$T_DIR/iperf")
[ "${got:-0}" -ge 1048576 ] || fail "iperf3 A -> B moved only ${got:-no} bytes"
# delta NODE COUNTER BEFORE: "packets bytes" grown since BEFORE
delta() {
	counter "$1" "$2" | { read -r _p _b; set -- $3; echo $((_p - $1)) $((_b - $2)); }
}
set -- $(delta n1 to_other "$n1_to_other") $(delta n1 from_other "$n1_from_other") \
	$(delta n2 to_other "$n2_to_other") $(delta n2 from_other "$n2_from_other")
log "iperf3: B received $got bytes"
log "N1 -> N2: $1 packets $2 bytes; N2 -> N1: $3 packets $4 bytes (at N1)"
log "N2 -> N1: $5 packets $6 bytes; N1 -> N2: $7 packets $8 bytes (at N2)"
# 200 pings of 1000 bytes each way, the iperf3 data from A to B (packets: GSO batches count once)
[ "$1" -ge 200 ] && [ "$2" -ge "$got" ] && [ "$3" -ge 200 ] && [ "$4" -ge 200000 ] ||
	fail "N1 did not forward the A <-> B traffic to and from N2"
[ "$5" -ge 200 ] && [ "$6" -ge 200000 ] && [ "$7" -ge 200 ] && [ "$8" -ge "$got" ] ||
	fail "N2 did not forward the A <-> B traffic to and from N1"
set -- $(delta p p_in "$p_in0") $(delta p p_out "$p_out0") \
	$(delta n1 to_p "$n1_to_p") $(delta n1 from_p "$n1_from_p")
log "P: in $1 packets $2 bytes, out $3 packets $4 bytes; N1 <-> P: $5 / $7 packets" \
	"(P before: in $p_in0, out $p_out0)"
# P only sees housekeeping (NODE_INFO, keepalives, key rotation) meanwhile
[ "$1" -lt 100 ] && [ "$2" -lt 50000 ] && [ "$3" -lt 100 ] && [ "$4" -lt 50000 ] ||
	fail "P's traffic grew with the A <-> B traffic"
sleep 3 # the next stats file of P (every 2 s) covers the whole transfer
# payload entries stay listed for 5 periods after their last packet
for pair in '"10.20.0.4", "10.20.0.2"' '"10.20.0.2", "10.20.0.4"'; do
	! grep -q "addrs: \[$pair\]" "$T_DIR/p.stats" || fail "P carried A <-> B payload"
done
grep -q 'addrs: \["10.20.0.4", "10.20.0.2"\]' "$T_DIR/a.stats" ||
	fail "A's stats file lacks the A <-> B payload: $(cat "$T_DIR/a.stats")"
grep -q 'addrs: \["10.20.0.2", "10.20.0.4"\]' "$T_DIR/b.stats" ||
	fail "B's stats file lacks the A <-> B payload: $(cat "$T_DIR/b.stats")"
log "unsolicited datagrams dropped: N1 $(counter n1 unsolicited), N2 $(counter n2 unsolicited)"
t_stop iperfsrv

# ---- 4. B restarts: same port after SIGTERM, another port after SIGKILL ----
# gone: P and A list B no more (their stats files are rewritten every 2 s)
gone() { [ -z "$(mapped 10.20.0.4)" ] && ! peer_at a "$MB"; }
t_stop b || fail "B exit status"
t_wait 10 t_log_has a "Peer $MB disconnected: closed by the peer" || fail "A did not get B's CLOSE"
t_wait 10 gone || fail "P or A still list B after its CLOSE: A: $(peers a)"
rm -f "$T_DIR/b.stats"
node b 10.20.0.4
t_wait 40 direct a 10.20.0.2 b 10.20.0.4 ||
	fail "A and B did not reconnect directly after B's restart: A: $(peers a) B: $(peers b)"
t_wait_ping 20 a 10.20.0.4 || fail "no route A -> B after B's restart"
t_ping a 10.20.0.4 5 || fail "ping A -> B lost packets after B's restart"
MB=$(mapped 10.20.0.4)
log "B restarted: A has it at $MB"

# no CLOSE: A and P keep B's old session until it times out, next to the new one
t_stop b KILL
rm -f "$T_DIR/b.stats"
node b 10.20.0.4 3211
t_wait 40 direct a 10.20.0.2 b 10.20.0.4 "$MB" ||
	fail "A and B did not reconnect directly after B's crash: A: $(peers a) B: $(peers b)"
MB2=$(mapped 10.20.0.4 "$MB")
# the new session's claim wins over the old one's at once (no wait for the old to time out)
t_wait_ping 10 a 10.20.0.4 || fail "no route A -> B after B's crash (A: $(peers a))"
t_ping a 10.20.0.4 5 || fail "ping A -> B lost packets after B's crash"
t_ping b 10.20.0.2 5 || fail "ping B -> A lost packets after B's crash"
log "B crashed and restarted on port 3211: A has it at $MB2"
for n in a b p; do log "$n: $(peers "$n" | tr -s ' \n' ' ')"; done
exit 0

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# UPnP port forwarding against a real IGD: miniupnpd (Debian's nftables build) in namespace
# "router" between "lan" (10.0.0.0/24, behind NAT) and "wan" (11.0.0.0/24, "the internet").
#
#   wan 11.0.0.2 ---- wan0 11.0.0.1 [router: miniupnpd, nftables NAT] lan0 10.0.0.1 ---- lan 10.0.0.2
#
# 1. Node A in lan (port forwarding on, lease 6 s for the test) maps 11.0.0.1:3210; upnpc
#    lists the mapping ("meshvpn", lease <= 6 s); node B in wan connects to A only through
#    11.0.0.1:3210 (the router's DNAT from the mapping) and pings across the VPN; the lease is
#    renewed and survives its first 6 s; B (port forwarding on, no gateway on its side) says
#    so and goes on. SIGTERM to A removes the mapping (upnpc, nftables).
# 2. External port 3300 is denied by the router's rules: node A2 on port 3300 gets another port
#    from AddAnyPortMapping, and node C in wan connects through that one.
# 3. A node stopped while it still searches for a gateway exits within a second or two.
#
# The wan side is not 192.0.2.0/24: miniupnpd 2.3 refuses to forward ports when its external
# address is reserved (TEST-NET-1 is on its list) and has no option to allow it, so the test
# uses 11.0.0.0/24, which exists only inside these namespaces.
# Needs miniupnpd-nftables, nftables and miniupnpc (make deps); skips (77) without them or when
# nftables or miniupnpd cannot run here.
. "$(dirname "$0")/lib.sh"
t_init
MINIUPNPD=${MINIUPNPD:-/usr/sbin/miniupnpd}
[ -x "$MINIUPNPD" ] || { log "SKIP: no $MINIUPNPD (Debian package miniupnpd-nftables)"; exit 77; }
command -v upnpc >/dev/null || { log "SKIP: no upnpc (Debian package miniupnpc)"; exit 77; }
command -v nft >/dev/null || { log "SKIP: no nft (Debian package nftables)"; exit 77; }

ms() { echo $(($(date +%s%N) / 1000000)); }

t_ns wan router lan
R=$(ns router)
ip link add wan0 netns "$R" type veth peer name ul0 netns "$(ns wan)" || fail "veth wan"
ip link add lan0 netns "$R" type veth peer name ul0 netns "$(ns lan)" || fail "veth lan"
ip -n "$R" addr add 11.0.0.1/24 dev wan0
ip -n "$R" addr add 10.0.0.1/24 dev lan0
ip -n "$(ns wan)" addr add 11.0.0.2/24 dev ul0
ip -n "$(ns lan)" addr add 10.0.0.2/24 dev ul0
for l in "router wan0" "router lan0" "wan ul0" "lan ul0"; do
	set -- $l
	ip -n "$(ns "$1")" link set "$2" up
done
ip -n "$(ns lan)" route add default via 10.0.0.1
ip -n "$(ns wan)" route add default via 11.0.0.1 # SSDP searches from wan go nowhere useful
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1

# A home router: NAT for the LAN, nothing in from the WAN unless miniupnpd's chains say so.
# miniupnpd's nftables backend fills chains it expects to exist (Debian's nft_init.sh layout).
cat >"$T_DIR/router.nft" <<EOF
table inet filter {
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		iifname "lan0" accept
		jump miniupnpd
	}
	chain miniupnpd {
	}
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		jump prerouting_miniupnpd
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		jump postrouting_miniupnpd
		oifname "wan0" masquerade
	}
	chain prerouting_miniupnpd {
	}
	chain postrouting_miniupnpd {
	}
}
EOF
ip netns exec "$R" nft -f "$T_DIR/router.nft" 2>"$T_DIR/nft.err" ||
	{ log "SKIP: nftables does not work here: $(cat "$T_DIR/nft.err")"; exit 77; }

cat >"$T_DIR/miniupnpd.conf" <<EOF
ext_ifname=wan0
listening_ip=lan0
http_port=5555
enable_natpmp=no
enable_upnp=yes
secure_mode=yes
system_uptime=no
notify_interval=60
uuid=6d6b2a5c-9e0b-4c4e-8f5e-6d6573687670
lease_file=$T_DIR/upnp.leases
deny 3300 0.0.0.0/0 0-65535
allow 1024-65535 10.0.0.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
t_spawn router igd "$MINIUPNPD" -d -f "$T_DIR/miniupnpd.conf" -P "$T_DIR/miniupnpd.pid"
if ! t_wait 5 t_log_has igd "HTTP listening on port 5555"; then
	t_dump_logs
	log "SKIP: miniupnpd does not start here"
	exit 77
fi
IGD=http://10.0.0.1:5555/rootDesc.xml
# run NAMESPACE NAME ARGS...: meshvpn in a namespace, log NAME.log
run() {
	_rn=$1 _rname=$2
	shift 2
	t_spawn "$_rn" "$_rname" "$MESHVPN" "$@"
}
mappings() { ip netns exec "$(ns lan)" upnpc -u "$IGD" -l 2>&1; }
dnat_rules() { ip netns exec "$R" nft list chain inet filter prerouting_miniupnpd | grep -c dnat; }

# ---- 1. same port, a connection through the mapping, renewal, removal ----
common="-t tun -p upnptest -m router"
t_spawn lan a env MESHVPN_TEST_UPNP_REFRESH_SECS=3 "$MESHVPN" $common -d mva%d -l 3210 \
	--ip 10.9.0.1/24 -v
t_wait 15 t_log_has a "Port forwarding: external address 11\.0\.0\.1:3210 \(lease 6 s\)" ||
	fail "A logged no external address"
mappings >"$T_DIR/list1" || fail "upnpc -l failed: $(cat "$T_DIR/list1")"
grep -Eq "UDP +3210->10\.0\.0\.2:3210 +'meshvpn' '' [1-6]\$" "$T_DIR/list1" ||
	fail "the gateway does not list the mapping: $(cat "$T_DIR/list1")"

# B knows A only by the external address, the router's own: only its DNAT rule from the
# mapping leads the datagrams on to A.
run wan b $common -d mvb%d -l 3210 --ip 10.9.0.2/24 -c 11.0.0.1:3210
t_wait 15 t_log_has b "Connected to 11\.0\.0\.1:3210" || fail "B did not connect through the mapping"
t_wait 5 t_log_has a "Connected to 11\.0\.0\.2:3210" || fail "A did not see B"
t_wait_ping 10 wan 10.9.0.1 || fail "no VPN route B -> A"
t_ping wan 10.9.0.1 5 || fail "ping B -> A lost packets"
t_ping lan 10.9.0.2 5 || fail "ping A -> B lost packets"

# renewed every 3 s: still there well after the first 6-s lease would have run out
t_wait 15 sh -c "[ \$(grep -c 'Port forwarding: renewed 11.0.0.1:3210 (lease 6 s)' \
	'$T_DIR/a.log') -ge 3 ]" || fail "A did not renew the lease"
mappings >"$T_DIR/list2"
grep -Eq "UDP +3210->10\.0\.0\.2:3210 +'meshvpn' '' [1-6]\$" "$T_DIR/list2" ||
	fail "the mapping did not survive its lease: $(cat "$T_DIR/list2")"
t_ping wan 10.9.0.1 3 || fail "ping B -> A after renewals"
t_wait 15 t_log_has b "Port forwarding: no UPnP gateway answered within 10 s; continuing" ||
	fail "B did not give up the gateway search"

t0=$(ms)
t_stop a || fail "A exit status"
took=$(($(ms) - t0))
[ "$took" -lt 3000 ] || fail "A took $took ms to stop"
t_log_has a "Port forwarding: removed the mapping of 11\.0\.0\.1:3210" || fail "A removed no mapping"
mappings >"$T_DIR/list3"
! grep -q "meshvpn" "$T_DIR/list3" || fail "mapping still listed after A stopped: $(cat "$T_DIR/list3")"
[ "$(dnat_rules)" = 0 ] || fail "DNAT rule left in the router"
t_wait 5 t_log_has b "Peer 11\.0\.0\.1:3210 disconnected: closed by the peer" ||
	fail "B did not get A's CLOSE"
t_stop b || fail "B exit status"
log "same-port mapping ok (A stopped in $took ms)"

# ---- 2. the port is refused: AddAnyPortMapping finds another ----
run lan a2 $common -d mva%d -l 3300 --ip 10.9.0.1/24 -v
t_wait 15 t_log_has a2 "Port forwarding: external address 11\.0\.0\.1:[0-9]+ \(lease 1800 s\)" ||
	fail "A2 logged no external address"
t_log_has a2 "AddPortMapping 3300 failed: 606" || fail "A2 did not try port 3300 first"
port=$(sed -n 's/.*Port forwarding: external address 11\.0\.0\.1:\([0-9]*\) .*/\1/p' "$T_DIR/a2.log")
[ "$port" != 3300 ] || fail "A2 got the refused port"
mappings >"$T_DIR/list4"
grep -Eq "UDP +$port->10\.0\.0\.2:3300 +'meshvpn' '' ([1-9][0-9]*)\$" "$T_DIR/list4" ||
	fail "the gateway does not list $port: $(cat "$T_DIR/list4")"
run wan c $common -d mvc%d -l 3211 --ip 10.9.0.3/24 --no-port-forwarding -c "11.0.0.1:$port"
t_wait 15 t_log_has c "Connected to 11\.0\.0\.1:$port" || fail "C did not connect through $port"
t_wait_ping 10 wan 10.9.0.1 || fail "no VPN route C -> A2"
t_stop a2 || fail "A2 exit status"
t_log_has a2 "Port forwarding: removed the mapping of 11\.0\.0\.1:$port" || fail "A2 removed nothing"
[ "$(dnat_rules)" = 0 ] || fail "DNAT rule left after A2"
log "any-port mapping ok (external port $port)"

# ---- 3. stopped during the gateway search (nothing answers on the wan side) ----
run wan d $common -d mvd%d -l 3212 --ip 10.9.0.4/24
t_wait 5 t_log_has d "Node mvd[0-9]+ running" || fail "D did not start"
sleep 1
t0=$(ms)
t_stop d || fail "D exit status"
took=$(($(ms) - t0))
[ "$took" -lt 2000 ] || fail "D took $took ms to stop during discovery"
! t_log_has d "Port forwarding: (external|no UPnP)" || fail "D finished the search already?"
log "stop during discovery ok ($took ms)"
exit 0

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A node that can only make outgoing TCP connections (all UDP dropped by nftables in its
# namespace) joins the mesh through the WebSocket proxy (meshvpn ws-proxy) and passes ping
# and iperf3 traffic; the proxy is killed and restarted and the node reconnects by itself
# within 10 s; a stranger opening 1,000 WebSocket connections is capped while the tunnel
# keeps working.
. "$(dirname "$0")/lib.sh"
t_init
command -v nft >/dev/null || { log "SKIP: no nft"; exit 77; }
command -v iperf3 >/dev/null || { log "SKIP: no iperf3"; exit 77; }
WSDRIVE=${MESHVPN_TOOLS:-$(cd "$(dirname "$0")/../.." && pwd)/build/tools}/wsdrive
[ -x "$WSDRIVE" ] || fail "test tool $WSDRIVE missing (make tools)"

# P: the proxy (192.0.2.10); A: UDP blocked, reaches the mesh only over TCP; B, C: plain
# UDP nodes; S: a stranger
t_lan p 192.0.2.10 a 192.0.2.1 b 192.0.2.2 c 192.0.2.3 s 192.0.2.20
ip netns exec "$(ns a)" nft -f - <<EOF || fail "nftables in A"
table inet noudp {
	chain in { type filter hook input priority 0; policy accept; meta l4proto udp counter drop; }
	chain out { type filter hook output priority 0; policy accept; meta l4proto udp counter drop; }
}
EOF
proxy() { t_spawn p proxy "$MESHVPN" ws-proxy -l 192.0.2.10:3210 --public-ip 192.0.2.10 \
	--max-per-source 16 "$@"; }
proxy
common="-t tun -d mv%d -m router --no-port-forwarding -p websocket"
t_node b $common -l 3210 --ip 10.7.0.2/24
t_node c $common -l 3210 --ip 10.7.0.3/24 -c 192.0.2.2
t_node a $common -l ws://192.0.2.10:3210/mesh --ip 10.7.0.1/24 -c 192.0.2.2

t_wait 20 t_log_has a "Connected to the WebSocket proxy ws://192.0.2.10:3210/mesh, public address 192.0.2.10:" ||
	fail "A did not reach the proxy"
t_wait 20 t_log_has a "Connected to 192.0.2.2:3210" || fail "A did not connect to B over the proxy"
t_wait_ping 10 a 10.7.0.2 || fail "no route A -> B"
t_ping a 10.7.0.2 10 || fail "ping A -> B lost packets"
t_ping b 10.7.0.1 10 || fail "ping B -> A lost packets"
# peer exchange works through the proxy as well: A reaches C, which it was never told about
t_wait 20 t_log_has a "Connected to 192.0.2.3:3210" || fail "A did not find C through B"
t_wait_ping 10 a 10.7.0.3 || fail "no route A -> C"
t_ping c 10.7.0.1 5 || fail "ping C -> A lost packets"
# no UDP left A's namespace: the filter counted what the kernel tried (nothing got through)
ip netns exec "$(ns a)" nft list table inet noudp | grep -q "counter packets" || fail "no counters"

t_spawn b iperf iperf3 -s -1 -B 10.7.0.2
t_wait 5 sh -c "ip netns exec $(ns b) ss -ltn | grep -q 10.7.0.2:5201" || fail "iperf3 server"
ip netns exec "$(ns a)" iperf3 -c 10.7.0.2 -t 3 -f m >"$T_DIR/iperf.out" 2>&1 ||
	{ cat "$T_DIR/iperf.out" >&2; fail "iperf3 A -> B through the proxy"; }
log "iperf3 A -> B over ws: $(grep -E 'receiver' "$T_DIR/iperf.out" | awk '{print $7, $8}')"

# the proxy goes away and comes back: A reconnects by itself within 10 s
t_stop proxy
t_wait 5 t_log_has a "Connection to the WebSocket proxy .* lost" || fail "A did not notice"
proxy
start=$(date +%s)
t_wait 10 sh -c "[ \$(grep -c 'Connected to the WebSocket proxy' $T_DIR/a.log) -ge 2 ]" ||
	fail "A did not reconnect to the proxy within 10 s"
t_wait_ping 15 a 10.7.0.2 || fail "no route A -> B after the proxy restart"
log "reconnected and passing traffic after $(($(date +%s) - start)) s"
t_ping a 10.7.0.2 5 || fail "ping A -> B lost packets after the proxy restart"
t_ping b 10.7.0.1 5 || fail "ping B -> A lost packets after the proxy restart"

# a stranger opens 1,000 connections: capped at --max-per-source, the tunnel keeps working
ip netns exec "$(ns a)" ping -c 40 -i 0.1 -W 2 -q 10.7.0.2 >"$T_DIR/flood-ping.out" 2>&1 &
pingpid=$!
ip netns exec "$(ns s)" "$WSDRIVE" -t 3 -c 1000 192.0.2.10 3210 >"$T_DIR/flood.out" 2>&1 ||
	{ cat "$T_DIR/flood.out" >&2; fail "flood tool"; }
wait $pingpid || { cat "$T_DIR/flood-ping.out" >&2; fail "ping A -> B lost packets during the flood"; }
opened=$(sed -n 's/^flood: [0-9]* connections, \([0-9]*\) upgraded.*/\1/p' "$T_DIR/flood.out")
[ -n "$opened" ] && [ "$opened" -le 16 ] || { cat "$T_DIR/flood.out" >&2; fail "stranger got $opened connections"; }
log "stranger: $(cat "$T_DIR/flood.out")"

log "WebSocket proxy ok"
exit 0

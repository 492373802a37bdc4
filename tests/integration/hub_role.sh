#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The hub role (not the flood mode -m hub): a hub and two clients created with
# `meshvpn hub create`, each started only from its bundle, reach each other through the
# hub; `connections` shows both with growing counters and the event stream shows connect
# and disconnect; a third client joins through a WebSocket proxy and is counted as such;
# a client killed and restarted on another port replaces its dead session at once; a destination block drops exactly the blocked traffic; a 1 MB/s rate
# limit holds iperf3 to it; `disable` cuts a client within 2 s for good; `rotate-key`
# makes the old bundle useless and the new one work; the registry survives a hub restart;
# hostile management clients leave the node forwarding; /metrics parses strictly.
. "$(dirname "$0")/lib.sh"
t_init
command -v iperf3 >/dev/null || { log "SKIP: no iperf3"; exit 77; }
command -v curl >/dev/null || { log "SKIP: no curl"; exit 77; }
TOOLS=${MESHVPN_TOOLS:-$(cd "$(dirname "$0")/../.." && pwd)/build/tools}
for t in mgmtabuse promparse; do
	[ -x "$TOOLS/$t" ] || fail "test tool $TOOLS/$t missing (make tools)"
done

t_lan h 192.0.2.1 a 192.0.2.2 b 192.0.2.3 c 192.0.2.4 p 192.0.2.10
sock=$T_DIR/hub.sock
hubkey=$("$MESHVPN" genkey | sed -n 's/^Private key: //p')
cat >"$T_DIR/hub.net" <<EOF
device:
  type: tun
  name: mvhub%d
ip: 10.20.0.1/24
crypto:
  private-key: $hubkey
mode: router
port-forwarding: false
hub:
  subnet: 10.20.0.0/24
  endpoint: 192.0.2.1:3210
  registry: $T_DIR/var/registry.yaml
management:
  socket: $sock
metrics-listen: 192.0.2.1:9100
EOF
start_hub() { t_spawn h hub "$MESHVPN" --config "$T_DIR/hub.net" -v; }
ctl() { "$MESHVPN" ctl --socket "$sock" "$@"; }
hub() { "$MESHVPN" hub --socket "$sock" "$@"; }
start_hub
t_wait 10 test -S "$sock" || fail "no management socket"
t_wait 5 ctl status || fail "ctl status"
ctl status | grep -q "hub: *yes" || fail "status does not say hub"

# events from here on
ctl subscribe >"$T_DIR/events.log" 2>&1 &
evpid=$!
T_PIDS="$T_PIDS $evpid:events"

hub create alice --description "Alice's laptop" --tag engineering \
	--destination-allow 10.20.0.0/24 >"$T_DIR/alice.net" 2>"$T_DIR/alice.err" ||
	{ cat "$T_DIR/alice.err" >&2; fail "hub create alice"; }
hub create bob >"$T_DIR/bob.net" 2>/dev/null || fail "hub create bob"
[ "$(stat -c %a "$T_DIR/alice.net")" = 600 ] || fail "bundle file is not 0600"
grep -q "private-key:" "$T_DIR/alice.net" || fail "bundle without a private key"
grep -q "192.0.2.1:3210" "$T_DIR/alice.net" || fail "bundle without the hub's endpoint"
! grep -q "$(sed -n 's/^ *private-key: //p' "$T_DIR/alice.net")" "$T_DIR/var/registry.yaml" ||
	fail "the registry holds a private key"
[ "$(stat -c %a "$T_DIR/var/registry.yaml")" = 600 ] || fail "registry file is not 0600"
aip=$(sed -n 's/^ip: \([0-9.]*\)\/.*/\1/p' "$T_DIR/alice.net")
bip=$(sed -n 's/^ip: \([0-9.]*\)\/.*/\1/p' "$T_DIR/bob.net")
[ "$aip" = 10.20.0.2 ] && [ "$bip" = 10.20.0.3 ] || fail "addresses $aip $bip"

# the clients, started from nothing but their bundles
t_spawn a alice "$MESHVPN" --config "$T_DIR/alice.net" --no-port-forwarding
t_spawn b bob "$MESHVPN" --config "$T_DIR/bob.net" --no-port-forwarding
t_wait 20 sh -c "$MESHVPN hub --socket $sock connections --json | grep -q '\"id\":\"bob\"'" ||
	fail "bob did not connect"
t_wait 20 sh -c "$MESHVPN hub --socket $sock connections --json | grep -q '\"id\":\"alice\"'" ||
	fail "alice did not connect"
t_wait_ping 15 a "$bip" || fail "alice cannot reach bob through the hub"
t_ping a "$bip" 5 || fail "ping alice -> bob lost packets"
t_ping b "$aip" 5 || fail "ping bob -> alice lost packets"
t_ping a 10.20.0.1 3 || fail "ping alice -> hub lost packets"
# the clients know only the hub: no direct session between them
t_log_has alice "Connected to 192.0.2.3" && fail "alice connected to bob directly"
rx1=$(hub connections --json | sed 's/.*"id":"alice"[^}]*"rx-bytes":\([0-9]*\).*/\1/')
t_ping a "$bip" 5 || fail "second ping"
rx2=$(hub connections --json | sed 's/.*"id":"alice"[^}]*"rx-bytes":\([0-9]*\).*/\1/')
[ "$rx2" -gt "$rx1" ] || fail "alice's byte counter did not grow ($rx1 -> $rx2)"
hub connections >"$T_DIR/connections.txt"
grep -q "^alice" "$T_DIR/connections.txt" && grep -q "^bob" "$T_DIR/connections.txt" ||
	{ cat "$T_DIR/connections.txt" >&2; fail "connections table"; }
ctl peers | grep -q "path: direct" || fail "ctl peers shows no path"

# carol reaches the hub only through a WebSocket proxy: counted as a WebSocket connection
t_spawn p proxy "$MESHVPN" ws-proxy -l 192.0.2.10:3210 --public-ip 192.0.2.10
hub create carol >"$T_DIR/carol.net" 2>/dev/null || fail "hub create carol"
cip=$(sed -n 's/^ip: \([0-9.]*\)\/.*/\1/p' "$T_DIR/carol.net")
t_spawn c carol "$MESHVPN" --config "$T_DIR/carol.net" --listen ws://192.0.2.10:3210/mesh
t_wait 20 sh -c "$MESHVPN hub --socket $sock connections --json | grep -q '\"id\":\"carol\"'" ||
	fail "carol did not connect through the proxy"
t_wait_ping 15 c "$aip" || fail "carol cannot reach alice"
hub connections --json | grep -q '"id":"carol"[^}]*"transport":"websocket"' ||
	{ hub connections --json >&2; fail "carol's transport is not websocket"; }
hub connections --json | grep -q '"id":"alice"[^}]*"transport":"udp"' || fail "alice's transport"
ctl stats --json >"$T_DIR/stats.json" || fail "hub stats"
grep -q '"udp":{"active":2,"total":[0-9]' "$T_DIR/stats.json" &&
	grep -q '"websocket":{"active":1,"total":1}' "$T_DIR/stats.json" ||
	{ cat "$T_DIR/stats.json" >&2; fail "per-transport counts"; }
ctl peers | grep -q "path: websocket (the peer sends through a WebSocket proxy)" ||
	{ ctl peers >&2; fail "ctl peers does not show carol's proxy"; }
t_stop carol
t_stop proxy

# bob dies without a word and comes back on another port: with max-connections 1 his new
# session replaces the dead one at once (not after the peer timeout)
t_stop bob KILL
t_spawn b bob "$MESHVPN" --config "$T_DIR/bob.net" --no-port-forwarding -l 3300
t_wait 10 sh -c "$MESHVPN hub --socket $sock connections --json | grep -q '\"id\":\"bob\"[^}]*3300'" ||
	{ hub connections --json >&2; fail "bob's new session was not admitted"; }
[ "$(hub connections --json | grep -o '"id":"bob"' | wc -l)" = 1 ] || fail "bob twice"
t_log_has hub "replaced by a newer connection" || fail "no replacement logged"
ctl stats --json | grep -q '"replaced":1' || fail "replacement not counted"
t_wait_ping 10 a "$bip" || fail "alice cannot reach the restarted bob"

# a destination block drops exactly the blocked traffic
hub update alice --destination-block "$bip" >/dev/null || fail "update --destination-block"
ip netns exec "$(ns a)" ping -c 3 -i 0.2 -W 1 -q "$bip" >/dev/null 2>&1 &&
	fail "alice still reaches bob"
t_ping a 10.20.0.1 3 || fail "the block also dropped alice -> hub"
t_ping b 10.20.0.1 3 || fail "the block dropped bob -> hub"
hub telemetry alice --json | grep -q '"destination-blocked":[1-9]' ||
	fail "blocked packets not counted"
hub update alice --destination-block none >/dev/null || fail "clearing the destination block"
t_wait_ping 5 a "$bip" || fail "alice -> bob after lifting the block"

# a 1 MB/s limit, changed live, holds iperf3 within 10 %
hub update alice --rate-limit 1M >/dev/null || fail "update --rate-limit"
t_spawn b iperf iperf3 -s -1 -B "$bip"
t_wait 5 sh -c "ip netns exec $(ns b) ss -ltn | grep -q $bip:5201" || fail "iperf3 server"
ip netns exec "$(ns a)" iperf3 -c "$bip" -t 8 -O 2 -f k >"$T_DIR/iperf.out" 2>&1 ||
	{ cat "$T_DIR/iperf.out" >&2; fail "iperf3 alice -> bob"; }
kbit=$(awk '/receiver/ {print $7}' "$T_DIR/iperf.out")
log "rate limit 1 MB/s (8000 kbit/s): iperf3 receiver $kbit kbit/s"
[ "${kbit%.*}" -ge 7200 ] && [ "${kbit%.*}" -le 8800 ] || fail "rate $kbit kbit/s not within 10 % of 8000"
hub telemetry alice --json | grep -q '"rate-limit-in":[1-9]' || fail "no rate-limit drops counted"
hub telemetry alice --json | grep -q '"health":"healthy"\|"health":"degraded"' ||
	fail "no telemetry for alice"

# hostile management clients: the node keeps forwarding with 0 % loss meanwhile
ip netns exec "$(ns a)" ping -c 30 -i 0.2 -W 2 -q 10.20.0.1 >"$T_DIR/abuse-ping.out" 2>&1 &
pingpid=$!
"$TOOLS/mgmtabuse" "$sock" 200 >"$T_DIR/abuse.out" 2>&1 || { cat "$T_DIR/abuse.out" >&2; fail "mgmtabuse"; }
log "$(cat "$T_DIR/abuse.out")"
wait $pingpid || { cat "$T_DIR/abuse-ping.out" >&2; fail "ping lost packets while the socket was abused"; }
ctl status >/dev/null || fail "status after the abuse"

# /metrics in the strict text format
curl -sf "http://192.0.2.1:9100/metrics" -o "$T_DIR/metrics.txt" --connect-to 192.0.2.1:9100:192.0.2.1:9100 \
	2>/dev/null || ip netns exec "$(ns a)" curl -sf "http://192.0.2.1:9100/metrics" -o "$T_DIR/metrics.txt" ||
	fail "curl /metrics"
"$TOOLS/promparse" "$T_DIR/metrics.txt" >"$T_DIR/promparse.out" 2>&1 ||
	{ cat "$T_DIR/promparse.out" >&2; fail "/metrics does not parse"; }
if command -v promtool >/dev/null; then
	promtool check metrics <"$T_DIR/metrics.txt" >"$T_DIR/promtool.out" 2>&1 ||
		{ cat "$T_DIR/promtool.out" >&2; fail "promtool check metrics"; }
	log "/metrics: strict parser and promtool check metrics ok"
else
	log "/metrics: strict parser ok (no promtool)"
fi
grep -q '^meshvpn_client_rx_bytes_total{client="alice"} [1-9]' "$T_DIR/metrics.txt" ||
	fail "no per-client counters in /metrics"

# disable: cut within 2 s, and no way back in
start=$(date +%s)
hub disable alice >/dev/null || fail "disable alice"
t_wait 2 sh -c "! $MESHVPN hub --socket $sock connections --json | grep -q '\"id\":\"alice\"'" ||
	fail "alice still connected 2 s after disable"
ip netns exec "$(ns a)" ping -c 3 -i 0.3 -W 1 -q "$bip" >/dev/null 2>&1 && fail "alice still reaches bob"
sleep 3
hub connections --json | grep -q '"id":"alice"' && fail "alice reconnected while disabled"
t_wait 10 grep -q '"client-disconnected".*"alice"\|client-disconnected.*id=alice' "$T_DIR/events.log" ||
	fail "no client-disconnected event for alice"
grep -q 'client-connected.*bob\|"client-connected".*"bob"' "$T_DIR/events.log" ||
	fail "no client-connected event for bob"

# rotate-key: the old bundle stops working at once, the new one works
hub rotate-key bob >"$T_DIR/bob2.net" 2>/dev/null || fail "rotate-key bob"
t_wait 3 sh -c "! $MESHVPN hub --socket $sock connections --json | grep -q '\"id\":\"bob\"'" ||
	fail "bob's old key still connected"
t_stop bob
t_spawn b bobold "$MESHVPN" --config "$T_DIR/bob.net" --no-port-forwarding
sleep 4
hub connections --json | grep -q '"id":"bob"' && fail "the old bundle still works"
t_stop bobold
t_spawn b bob2 "$MESHVPN" --config "$T_DIR/bob2.net" --no-port-forwarding
t_wait 20 sh -c "$MESHVPN hub --socket $sock connections --json | grep -q '\"id\":\"bob\"'" ||
	fail "the new bundle does not work"
t_wait_ping 10 b 10.20.0.1 || fail "bob with the new key cannot reach the hub"

# the registry survives a restart of the hub; the clients come back by themselves
hub enable alice >/dev/null || fail "enable alice"
t_stop hub || fail "hub exit status"
start_hub
t_wait 10 test -S "$sock" || fail "no management socket after the restart"
t_wait 30 sh -c "$MESHVPN hub --socket $sock connections --json | grep -q '\"id\":\"alice\"' &&
	$MESHVPN hub --socket $sock connections --json | grep -q '\"id\":\"bob\"'" ||
	fail "the clients did not come back after the hub restarted"
hub list | grep -q "^alice .*enabled" || fail "alice lost after the restart"
t_wait_ping 15 a "$bip" || fail "alice -> bob after the hub restarted"

# a corrupt registry stops the start with the line of the fault; the file stays as it is
t_stop hub || fail "hub exit status"
cp "$T_DIR/var/registry.yaml" "$T_DIR/good.yaml"
printf '  - id: mallory\n    public-key: [oops\n' >>"$T_DIR/var/registry.yaml"
cp "$T_DIR/var/registry.yaml" "$T_DIR/bad.yaml"
ip netns exec "$(ns h)" "$MESHVPN" --config "$T_DIR/hub.net" >"$T_DIR/corrupt.log" 2>&1 &&
	fail "the hub started with a corrupt registry"
grep -q "registry.yaml:[0-9]*:" "$T_DIR/corrupt.log" || { cat "$T_DIR/corrupt.log" >&2; fail "no line in the error"; }
cmp -s "$T_DIR/var/registry.yaml" "$T_DIR/bad.yaml" || fail "the corrupt registry was changed"
log "hub role ok"
exit 0

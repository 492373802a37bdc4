#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The WebSocket proxy (meshvpn-wsproxy, meshvpn ws-proxy) between namespaces, driven by the
# test client tests/tools/wsdrive.c: upgrade on any path, the announced public address, a
# datagram relayed to a UDP echo server with the relay's address and the reply with the
# echo server's; --public-ip and the IP-only listen form; PROXY v2 (real address in the
# log, LOCAL, garbage refused, a missing header timed out after 5 s, a missing upgrade after
# 10 s); 1000 connections from one address capped at the per-source limit while another
# client keeps relaying, an IPv6 /64 counted as one source; --max-connections; the idle
# timeout for a client that ignores pings while one that answers stays; SIGTERM ends
# clients with a close frame (exit 0, counters logged), SIGKILL with the TCP connection;
# throughput both ways is measured and logged.
. "$(dirname "$0")/lib.sh"
t_init
TOP=$(cd "$(dirname "$0")/../.." && pwd)
WSPROXY=${MESHVPN_WSPROXY:-$TOP/meshvpn-wsproxy}
WSDRIVE=${MESHVPN_TOOLS:-$TOP/build/tools}/wsdrive
[ -x "$WSPROXY" ] || fail "$WSPROXY missing (run make)"
[ -x "$WSDRIVE" ] || fail "$WSDRIVE missing (run make tools)"

# p: the proxy, c: a client, u: the UDP side (echo server), l: another client
t_lan p 192.0.2.1 c 192.0.2.2 u 192.0.2.3 l 192.0.2.4
# a default route, so the host's primary address (VpnCloud's 8.8.8.8 probe) is 192.0.2.1
ip -n "$(ns p)" route add default dev ul0 || fail "default route"

t_spawn p proxy "$WSPROXY" -v -l 3210 --idle-timeout 3
t_spawn p proxyb "$MESHVPN" ws-proxy -l 192.0.2.1 --public-ip 203.0.113.9
t_spawn p proxyc "$WSPROXY" -l 3212 --proxy-protocol --max-connections 3
t_spawn p proxyd "$WSPROXY" -l 3213 --proxy-protocol --max-per-source 1
t_spawn u echo "$WSDRIVE" -E 192.0.2.3:7000 -t 55
t_wait 5 t_log_has proxy "listening on ws://\[::\]:3210" || fail "proxy did not start"
t_wait 5 t_log_has proxyb "listening on ws://192.0.2.1:8080" ||
	fail "ws-proxy (IP only: port 8080) did not start"
t_wait 5 t_log_has proxyc "PROXY protocol v2 header required" ||
	fail "proxy with --proxy-protocol did not start"
t_wait 5 t_log_has proxyd "listening on ws://\[::\]:3213" || fail "proxyd did not start"
t_wait 5 t_log_has echo "echo on" || fail "echo server did not start"

# drive NODE NAME ARGS...: runs wsdrive in NODE's namespace in the foreground, output in NAME.log
drive() {
	_dn=$1 _dname=$2
	shift 2
	ip netns exec "$(ns "$_dn")" "$WSDRIVE" "$@" >"$T_DIR/$_dname.log" 2>&1
}
public_port() { sed -n 's/^public [0-9.]*:\([0-9]*\)$/\1/p' "$T_DIR/$1.log"; }

# 1. Upgrade on any path, the public address, a relayed datagram and its reply.
drive c echo1 -p '/any/deep/path?x=1' -e 192.0.2.3:7000 -n 3 192.0.2.1 3210 ||
	fail "echo through the proxy: $(cat "$T_DIR/echo1.log")"
port=$(public_port echo1)
[ -n "$port" ] || fail "no public address: $(cat "$T_DIR/echo1.log")"
grep -q "^public 192.0.2.1:$port$" "$T_DIR/echo1.log" ||
	fail "announced: $(head -n 1 "$T_DIR/echo1.log")"
[ "$(grep -c "^reply from 192.0.2.3:7000: wsdrive datagram [0-2]$" "$T_DIR/echo1.log")" = 3 ] ||
	fail "replies: $(cat "$T_DIR/echo1.log")"
[ "$(grep -c "^echo from 192.0.2.1:$port (18 bytes)$" "$T_DIR/echo.log")" = 3 ] ||
	fail "datagrams did not come from the relay port $port: $(cat "$T_DIR/echo.log")"
t_log_has proxy \
	"client 192.0.2.2:[0-9]+ connected \(path /any/deep/path\?x=1\), relay port $port" ||
	fail "no connect line in the proxy log"
drive c up2 -p / 192.0.2.1 3210 || fail "upgrade on /: $(cat "$T_DIR/up2.log")"
log "upgrade on any path; public address 192.0.2.1:$port; datagrams relayed both ways"

# 2. meshvpn ws-proxy with an IP only (port 8080) and --public-ip.
drive c pub 192.0.2.1 8080 || fail "ws-proxy on 8080: $(cat "$T_DIR/pub.log")"
grep -q "^public 203.0.113.9:[0-9]*$" "$T_DIR/pub.log" ||
	fail "--public-ip: $(cat "$T_DIR/pub.log")"
log "meshvpn ws-proxy: IP-only listen on 8080, --public-ip announced"

# 3. PROXY protocol v2.
drive c pp4 -x 203.0.113.7:4242 -e 192.0.2.3:7000 -n 1 192.0.2.1 3212 ||
	fail "PROXY v4 header: $(cat "$T_DIR/pp4.log")"
t_log_has proxyc "client 203.0.113.7:4242 \(via 192.0.2.2:[0-9]+\) connected" ||
	fail "the real address is not in the log"
drive c pp6 -x '[2001:db8::7]:4343' 192.0.2.1 3212 ||
	fail "PROXY v6 header: $(cat "$T_DIR/pp6.log")"
t_log_has proxyc "client \[2001:db8::7\]:4343 \(via 192.0.2.2:[0-9]+\) connected" ||
	fail "the real IPv6 address is not in the log"
drive c pplocal -x local 192.0.2.1 3212 || fail "PROXY LOCAL: $(cat "$T_DIR/pplocal.log")"
t_log_has proxyc "client 192.0.2.2:[0-9]+ connected" || fail "LOCAL did not use the peer address"
drive c ppbad -x garbage 192.0.2.1 3212 && fail "a garbage PROXY header was accepted"
t_wait 3 t_log_has proxyc "client 192.0.2.2:[0-9]+: invalid PROXY v2 header" ||
	fail "no log line for the garbage header"
drive c noproxy 192.0.2.1 3212 && fail "a client without PROXY header was upgraded"
log "PROXY v2: real IPv4/IPv6 address logged, LOCAL uses the peer, garbage and HTTP refused"

# An IPv6 source is its /64 (limit 1 here): another address in it is refused, the next /64 not.
t_spawn c v6a "$WSDRIVE" -x '[2001:db8::7]:1' -w -t 10 192.0.2.1 3213
t_wait 5 grep -q "^public" "$T_DIR/v6a.log" || fail "first IPv6 source: $(cat "$T_DIR/v6a.log")"
drive c v6b -x '[2001:db8::8]:1' 192.0.2.1 3213 && fail "a second address of the same /64 got in"
drive c v6c -x '[2001:db8:0:1::7]:1' 192.0.2.1 3213 ||
	fail "another /64 was refused: $(cat "$T_DIR/v6c.log")"
drive c v4a -x '203.0.113.7:1' 192.0.2.1 3213 || fail "an IPv4 source: $(cat "$T_DIR/v4a.log")"
t_stop v6a
log "per-source limit: an IPv6 /64 counts as one source"

# 4. In parallel: a silent connection (PROXY time-out), --max-connections 3 on proxyc, a
#    client ignoring pings and one answering them on proxy (idle timeout 3 s, pings each 1 s).
t_spawn c silent "$WSDRIVE" -z -t 15 192.0.2.1 3212
t_spawn l silent2 "$WSDRIVE" -z -t 40 192.0.2.1 3210
t_spawn c keep1 "$WSDRIVE" -x local -w -t 12 192.0.2.1 3212
t_spawn c keep2 "$WSDRIVE" -x local -w -t 12 192.0.2.1 3212
t_spawn c idle "$WSDRIVE" -w -q -t 10 192.0.2.1 3210
t_spawn c alive "$WSDRIVE" -w -t 6 192.0.2.1 3210
t_wait 5 grep -q "^public" "$T_DIR/keep2.log" || fail "client 2 of 3: $(cat "$T_DIR/keep2.log")"
t_wait 5 grep -q "^public" "$T_DIR/keep1.log" || fail "client 1 of 3: $(cat "$T_DIR/keep1.log")"
drive c over -x local 192.0.2.1 3212 && fail "a fourth connection was accepted (limit 3)"
t_log_has proxyc "refused: 3 connections open \(--max-connections\)" ||
	fail "no log line for the refusal"
t_wait 12 grep -q "^closed" "$T_DIR/silent.log" ||
	fail "silent connection: $(cat "$T_DIR/silent.log")"
tp=$(sed -n 's/^closed after \([0-9]*\)\..*/\1/p' "$T_DIR/silent.log")
[ "$tp" -ge 4 ] && [ "$tp" -le 7 ] || fail "PROXY header time-out after $tp s, not about 5 s"
t_log_has proxyc "no PROXY v2 header within 5 s" || fail "no log line for the PROXY time-out"
t_wait 10 grep -q "^closed" "$T_DIR/idle.log" || fail "idle client: $(cat "$T_DIR/idle.log")"
ti=$(sed -n 's/^closed after \([0-9]*\)\..*/\1/p' "$T_DIR/idle.log")
[ "$ti" -ge 2 ] && [ "$ti" -le 6 ] || fail "idle client closed after $ti s, not about 3 s"
grep -q "close frame 1001" "$T_DIR/idle.log" || fail "idle close: $(cat "$T_DIR/idle.log")"
t_log_has proxy "idle for 3 s" || fail "no log line for the idle timeout"
t_wait 10 grep -q "^still open after" "$T_DIR/alive.log" ||
	fail "a client answering pings was closed: $(cat "$T_DIR/alive.log")"
log "PROXY header time-out after $tp s; --max-connections; idle client closed after $ti s," \
	"live one kept"

# 5. 1000 connections from one address: 16 (the default per-source limit) get through, the
#    rest is refused at once, and another client's relay works meanwhile.
t_spawn c flood "$WSDRIVE" -c 1000 -t 10 192.0.2.1 3210
t_wait 30 grep -q "^flood:" "$T_DIR/flood.log" ||
	fail "flood did not finish: $(cat "$T_DIR/flood.log")"
grep -q "^flood: 1000 connections, 16 upgraded, 984 refused, 0 failed$" "$T_DIR/flood.log" ||
	fail "per-source limit: $(cat "$T_DIR/flood.log")"
drive l legit -e 192.0.2.3:7000 -n 5 192.0.2.1 3210 ||
	fail "relay for another client during the flood: $(cat "$T_DIR/legit.log")"
drive c same 192.0.2.1 3210 && fail "a 17th connection from the flooding address was accepted"
t_log_has proxy "refused: 16 connections from this address already" ||
	fail "no refusal in the log"
log "$(cat "$T_DIR/flood.log"); another client relays meanwhile"
t_stop flood

# 6. Throughput, both directions (logged; a busy machine may be slower, nothing is asserted
#    beyond traffic arriving).
t_spawn u sink "$WSDRIVE" -S 192.0.2.3:7001 -t 10
t_wait 5 t_log_has sink "sink on" || fail "sink did not start"
drive c bench -b 192.0.2.3:7001 -s 1400 -t 2 192.0.2.1 3210 ||
	fail "bench: $(cat "$T_DIR/bench.log")"
t_wait 5 t_log_has sink "^received" || fail "sink: $(cat "$T_DIR/sink.log")"
log "client -> proxy -> UDP: $(grep '^sent' "$T_DIR/bench.log");" \
	"sink $(grep '^received' "$T_DIR/sink.log")"
t_spawn c recv "$WSDRIVE" -r -t 4 192.0.2.1 3210
t_wait 5 grep -q "^public" "$T_DIR/recv.log" || fail "bench receiver: $(cat "$T_DIR/recv.log")"
drive u blast -B "192.0.2.1:$(public_port recv)" -s 1400 -t 2 || fail "blaster"
t_wait 6 grep -q "^received" "$T_DIR/recv.log" || fail "bench receiver: $(cat "$T_DIR/recv.log")"
grep -q "^received 0 " "$T_DIR/recv.log" && fail "nothing relayed to the client"
log "UDP -> proxy -> client: blaster $(grep '^sent' "$T_DIR/blast.log");" \
	"client $(grep '^received' "$T_DIR/recv.log")"

# the silent connection without an upgrade request is gone after 10 s
t_wait 15 grep -q "^closed" "$T_DIR/silent2.log" ||
	fail "no upgrade time-out: $(cat "$T_DIR/silent2.log")"
tu=$(sed -n 's/^closed after \([0-9]*\)\..*/\1/p' "$T_DIR/silent2.log")
[ "$tu" -ge 9 ] && [ "$tu" -le 12 ] || fail "upgrade time-out after $tu s, not about 10 s"
t_log_has proxy "no WebSocket upgrade within 10 s" || fail "no log line for the upgrade time-out"
log "upgrade time-out after $tu s"

# 7. SIGUSR1 counters; SIGTERM: clients get a close frame, exit 0; SIGKILL: the TCP close.
t_spawn c term "$WSDRIVE" -w -t 15 192.0.2.1 3210
t_spawn c kill "$WSDRIVE" -w -t 15 192.0.2.1 8080
t_wait 5 grep -q "^public" "$T_DIR/term.log" || fail "client for SIGTERM: $(cat "$T_DIR/term.log")"
t_wait 5 grep -q "^public" "$T_DIR/kill.log" || fail "client for SIGKILL: $(cat "$T_DIR/kill.log")"
kill -USR1 "$(t_pid proxy)"
t_wait 3 t_log_has proxy "stats: .*at --max-per-source" || fail "no counters on SIGUSR1"
# the flood's 984 and the 17th connection
t_log_has proxy "stats: .* 985 at --max-per-source" || fail "refusals not counted"
t_stop proxy TERM || fail "proxy exit status $? after SIGTERM"
t_wait 5 grep -q "^closed" "$T_DIR/term.log" || fail "client not closed: $(cat "$T_DIR/term.log")"
grep -q "close frame 1001" "$T_DIR/term.log" ||
	fail "no close frame at shutdown: $(cat "$T_DIR/term.log")"
t_log_has proxy "proxy shutting down" || fail "no close reason in the log"
t_log_has proxy "stats: to UDP [1-9][0-9]* datagrams" || fail "no counters at shutdown"
t_stop proxyb KILL
t_wait 5 grep -q "^closed" "$T_DIR/kill.log" || fail "client not closed: $(cat "$T_DIR/kill.log")"
grep -q "connection ended" "$T_DIR/kill.log" || fail "after SIGKILL: $(cat "$T_DIR/kill.log")"
t_stop proxyc TERM || fail "proxyc exit status $?"
t_stop proxyd TERM || fail "proxyd exit status $?"
log "SIGTERM: close frame 1001 and exit 0; SIGKILL: the connection ends; counters logged"
exit 0

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The WebSocket proxy speaking TLS itself (--tls-cert/--tls-key, wss://) between namespaces,
# driven by tests/tools/wsdrive.c -T: a throwaway CA made with openssl(1) signs a server
# certificate (CN and subjectAltName IP:192.0.2.1 and DNS:proxy.test); a client verifying
# against it upgrades and relays datagrams both ways, by IP and by name; a wrong name and
# another CA fail verification (the proxy counts and logs the failed handshake); 30 plain
# clients on the TLS port are refused and counted while a TLS client relays; PROXY v2 in
# clear before the handshake (meshvpn ws-proxy --proxy-protocol): the real address logged,
# a missing header refused, a header followed by plain HTTP refused; a silent connection
# closed by the 10 s upgrade time-out; SIGHUP with a broken file keeps the old certificate,
# SIGHUP with a second certificate (another serial, from an intermediate: the file holds the
# chain) serves the next connection while an existing one keeps relaying; unusable files
# and half an option are refused at start (exit 2, the file named); a meshvpn node with
# listen: wss:// and --ws-ca pings a UDP node through the proxy (iperf3 logged); throughput
# with and without TLS, both ways, logged with the proxy's CPU time.
. "$(dirname "$0")/lib.sh"
t_init
TOP=$(cd "$(dirname "$0")/../.." && pwd)
WSPROXY=${MESHVPN_WSPROXY:-$TOP/meshvpn-wsproxy}
WSDRIVE=${MESHVPN_TOOLS:-$TOP/build/tools}/wsdrive
[ -x "$WSPROXY" ] || fail "$WSPROXY missing (run make)"
[ -x "$WSDRIVE" ] || fail "$WSDRIVE missing (run make tools)"
command -v openssl >/dev/null || { log "SKIP: no openssl(1) (Debian package openssl)"; exit 77; }

# ---- a throwaway PKI: root CA, intermediate, two server certificates; another root CA ----
P=$T_DIR/pki
mkdir -p "$P"
cat >"$P/x509.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:192.0.2.1,DNS:proxy.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
ossl() { openssl "$@" >>"$T_DIR/openssl.log" 2>&1 || fail "openssl $1: $(tail -n 3 "$T_DIR/openssl.log")"; }
newkey="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
# root NAME CN
root() {
	ossl req -x509 -config "$P/x509.cnf" -extensions ca $newkey -keyout "$P/$1.key" \
		-out "$P/$1.crt" -days 2 -subj "/CN=$2" -set_serial 1
}
# signed NAME CN ISSUER SERIAL EXTENSIONS
signed() {
	ossl req -new -config "$P/x509.cnf" $newkey -keyout "$P/$1.key" -out "$P/$1.csr" \
		-subj "/CN=$2"
	ossl x509 -req -in "$P/$1.csr" -CA "$P/$3.crt" -CAkey "$P/$3.key" -set_serial "$4" \
		-days 2 -extfile "$P/x509.cnf" -extensions "$5" -out "$P/$1.crt"
}
root ca "meshvpn test CA"
root other "another CA"
signed inter "meshvpn test intermediate" ca 2 inter
signed srv1 proxy.test ca 0x1001 server
signed srv2 proxy.test inter 0x1002 server
cat "$P/srv2.crt" "$P/inter.crt" >"$P/srv2.chain"
serial1=$(openssl x509 -in "$P/srv1.crt" -noout -serial | sed 's/^serial=//')
serial2=$(openssl x509 -in "$P/srv2.crt" -noout -serial | sed 's/^serial=//')
[ "$serial1" = 1001 ] && [ "$serial2" = 1002 ] || fail "serials $serial1 $serial2"
# what the proxies are given (replaced for the reload below)
cp "$P/srv1.crt" "$T_DIR/tls.crt"
cp "$P/srv1.key" "$T_DIR/tls.key"
CERT=$T_DIR/tls.crt KEY=$T_DIR/tls.key

# p: the proxies, c and l: clients, u: the UDP side; a: a node behind the proxy, b: a node
t_lan p 192.0.2.1 c 192.0.2.2 u 192.0.2.3 l 192.0.2.4 a 192.0.2.5 b 192.0.2.6
ip -n "$(ns p)" route add default dev ul0 || fail "default route"

# ---- start-up errors: exit 2 and the file named, before anything listens ----
# startfail NAME ARGS...: the proxy must exit 2 within 5 s; its output in NAME.log
startfail() {
	_sn=$1
	shift
	ip netns exec "$(ns p)" timeout 5 "$WSPROXY" -l 192.0.2.1:3499 "$@" >"$T_DIR/$_sn.log" 2>&1
	_sr=$?
	[ $_sr = 2 ] || fail "$_sn: exit status $_sr, not 2: $(cat "$T_DIR/$_sn.log")"
}
startfail nokey --tls-cert "$CERT" --tls-key "$P/missing.key"
t_log_has nokey "private key .*/missing.key: No such file or directory" ||
	fail "missing key: $(cat "$T_DIR/nokey.log")"
startfail wrongkey --tls-cert "$CERT" --tls-key "$P/srv2.key"
t_log_has wrongkey "private key .*/srv2.key does not belong to the certificate in .*/tls.crt" ||
	fail "wrong key: $(cat "$T_DIR/wrongkey.log")"
startfail certkey --tls-cert "$P/srv1.key" --tls-key "$KEY"
t_log_has certkey "certificate .*/srv1.key: no usable PEM certificate" ||
	fail "a key as certificate: $(cat "$T_DIR/certkey.log")"
startfail half --tls-cert "$CERT"
t_log_has half "\-\-tls-cert and \-\-tls-key go together" || fail "half: $(cat "$T_DIR/half.log")"
log "start-up: missing, mismatching and wrong files and half an option refused (exit 2)"

t_spawn p proxy "$WSPROXY" -v -l 3443 --tls-cert "$CERT" --tls-key "$KEY"
t_spawn p proxypp "$MESHVPN" ws-proxy -l 3444 --proxy-protocol --tls-cert "$CERT" --tls-key "$KEY"
t_spawn p plain "$WSPROXY" -l 3210
t_spawn u echo "$WSDRIVE" -E 192.0.2.3:7000 -t 80
t_wait 5 t_log_has proxy "listening on wss://\[::\]:3443" || fail "proxy did not start"
t_log_has proxy "certificate .*/tls.crt: subject CN=proxy.test, serial 1001, valid until" ||
	fail "no certificate line: $(cat "$T_DIR/proxy.log")"
t_wait 5 t_log_has proxypp "listening on wss://\[::\]:3444, PROXY protocol v2 header required" ||
	fail "ws-proxy --proxy-protocol with TLS did not start"
t_wait 5 t_log_has plain "listening on ws://\[::\]:3210" || fail "plain proxy did not start"
t_wait 5 t_log_has echo "echo on" || fail "echo server did not start"
# a connection that never starts the handshake (checked at the end: 10 s upgrade time-out)
t_spawn l silent "$WSDRIVE" -z -t 20 192.0.2.1 3443

drive() {
	_dn=$1 _dname=$2
	shift 2
	ip netns exec "$(ns "$_dn")" "$WSDRIVE" "$@" >"$T_DIR/$_dname.log" 2>&1
}
public_port() { sed -n 's/^public [0-9.]*:\([0-9]*\)$/\1/p' "$T_DIR/$1.log"; }
CA="-T -A $P/ca.crt"

# 1. Verified against the test CA, by IP and by name: upgrade and relay both ways.
drive c echo1 $CA -e 192.0.2.3:7000 -n 3 192.0.2.1 3443 ||
	fail "echo over TLS: $(cat "$T_DIR/echo1.log")"
grep -q "^tls TLSv1.3 [A-Z0-9_]* serial $serial1 subject CN=proxy.test$" "$T_DIR/echo1.log" ||
	fail "peer certificate: $(head -n 1 "$T_DIR/echo1.log")"
port=$(public_port echo1)
[ "$(grep -c "^reply from 192.0.2.3:7000: wsdrive datagram [0-2]$" "$T_DIR/echo1.log")" = 3 ] ||
	fail "replies: $(cat "$T_DIR/echo1.log")"
[ "$(grep -c "^echo from 192.0.2.1:$port (18 bytes)$" "$T_DIR/echo.log")" = 3 ] ||
	fail "datagrams did not come from the relay port $port: $(cat "$T_DIR/echo.log")"
t_log_has proxy "client 192.0.2.2:[0-9]+ connected \(path /, TLSv1.3\), relay port $port" ||
	fail "no connect line in the proxy log"
drive c byname $CA -N proxy.test -p /meshvpn -e 192.0.2.3:7000 -n 1 192.0.2.1 3443 ||
	fail "by name: $(cat "$T_DIR/byname.log")"
log "TLS verified by IP and by name (SNI); datagrams relayed both ways over wss://"

# 2. A wrong name and another CA fail verification; the proxy logs the client's alert.
drive c badname $CA -N other.test 192.0.2.1 3443 && fail "a wrong name was accepted"
grep -q "upgrade failed: TLS handshake: certificate verify failed; verify: hostname mismatch" \
	"$T_DIR/badname.log" || fail "wrong name: $(cat "$T_DIR/badname.log")"
drive c otherca -T -A "$P/other.crt" 192.0.2.1 3443 && fail "another CA was accepted"
grep -q "verify: unable to get local issuer certificate" "$T_DIR/otherca.log" ||
	fail "another CA: $(cat "$T_DIR/otherca.log")"
t_wait 3 t_log_has proxy "client 192.0.2.2:[0-9]+: TLS handshake failed: tlsv1 alert unknown ca" ||
	fail "no log line for the rejected certificate"
log "a wrong name and another CA fail verification; the proxy logs the client's alert"

# 3. 30 plain clients on the TLS port (from l) while a TLS client (on c) relays.
t_spawn c good "$WSDRIVE" $CA -W "$T_DIR/go1" -e 192.0.2.3:7000 -n 5 -t 20 192.0.2.1 3443
t_wait 5 grep -q "^public" "$T_DIR/good.log" || fail "good client: $(cat "$T_DIR/good.log")"
t_spawn l flood "$WSDRIVE" -c 30 -t 1 192.0.2.1 3443
touch "$T_DIR/go1"
t_wait 20 grep -q "^flood:" "$T_DIR/flood.log" || fail "flood: $(cat "$T_DIR/flood.log")"
grep -q "^flood: 30 connections, 0 upgraded, 30 refused, 0 failed$" "$T_DIR/flood.log" ||
	fail "plain clients: $(cat "$T_DIR/flood.log")"
t_wait 10 sh -c "[ \$(grep -c '^reply from' '$T_DIR/good.log') = 5 ]" ||
	fail "the TLS client during the flood: $(cat "$T_DIR/good.log")"
t_log_has proxy "client 192.0.2.4:[0-9]+: TLS handshake failed: http request" ||
	fail "no log line for plain HTTP on the TLS port"
t_stop flood
log "30 plain clients refused on the TLS port; a TLS client relayed meanwhile"

# 4. PROXY v2 in clear, then TLS (meshvpn ws-proxy --proxy-protocol).
drive c pp $CA -x 203.0.113.7:4242 -e 192.0.2.3:7000 -n 2 192.0.2.1 3444 ||
	fail "PROXY header + TLS: $(cat "$T_DIR/pp.log")"
t_log_has proxypp \
	"client 203.0.113.7:4242 \(via 192.0.2.2:[0-9]+\) connected \(path /, TLSv1.3\)" ||
	fail "the real address is not in the log: $(cat "$T_DIR/proxypp.log")"
drive c ppnohdr $CA 192.0.2.1 3444 && fail "TLS without the PROXY header was accepted"
t_wait 3 t_log_has proxypp "client 192.0.2.2:[0-9]+: invalid PROXY v2 header" ||
	fail "no log line for the missing header"
drive c ppplain -x 203.0.113.8:1 192.0.2.1 3444 && fail "PROXY header + plain HTTP was upgraded"
t_wait 3 t_log_has proxypp \
	"client 203.0.113.8:1 \(via 192.0.2.2:[0-9]+\): TLS handshake failed: http request" ||
	fail "PROXY header + plain HTTP: $(cat "$T_DIR/proxypp.log")"
log "PROXY v2 before TLS: real address logged; no header, or plain HTTP after it, refused"

# 5. SIGHUP: a broken file keeps the old certificate; a new one serves the next connection
#    while an existing connection keeps relaying.
t_spawn c old "$WSDRIVE" $CA -W "$T_DIR/go2" -e 192.0.2.3:7000 -n 3 -t 30 192.0.2.1 3443
t_wait 5 grep -q "^public" "$T_DIR/old.log" || fail "old client: $(cat "$T_DIR/old.log")"
grep -q "^tls .* serial $serial1 " "$T_DIR/old.log" || fail "old client: $(cat "$T_DIR/old.log")"
echo "not a certificate" >"$CERT"
kill -HUP "$(t_pid proxy)"
t_wait 5 t_log_has proxy "cannot reload the TLS certificate: certificate .*/tls.crt: no usable PEM certificate .*; keeping the old one" ||
	fail "no error for the broken reload"
drive c stillold $CA 192.0.2.1 3443 || fail "after a failed reload: $(cat "$T_DIR/stillold.log")"
grep -q "^tls .* serial $serial1 " "$T_DIR/stillold.log" ||
	fail "after a failed reload: $(cat "$T_DIR/stillold.log")"
cp "$P/srv2.chain" "$CERT"
cp "$P/srv2.key" "$KEY"
kill -HUP "$(t_pid proxy)"
t_wait 5 t_log_has proxy "reloaded the certificate .*/tls.crt: subject CN=proxy.test, serial $serial2" ||
	fail "no reload line: $(tail -n 5 "$T_DIR/proxy.log")"
drive c new $CA -N proxy.test 192.0.2.1 3443 || fail "after the reload: $(cat "$T_DIR/new.log")"
grep -q "^tls .* serial $serial2 subject CN=proxy.test$" "$T_DIR/new.log" ||
	fail "the new connection got: $(head -n 1 "$T_DIR/new.log")"
touch "$T_DIR/go2"
t_wait 10 sh -c "[ \$(grep -c '^reply from' '$T_DIR/old.log') = 3 ]" ||
	fail "the connection from before the reload: $(cat "$T_DIR/old.log")"
log "SIGHUP: broken file kept the old certificate; serial $serial2 (with its chain) for new" \
	"connections, the old one ($serial1) still relays"

# 6. A meshvpn node over wss:// (verifying with --ws-ca; the certificate is now the second
#    one, its intermediate sent along) reaches a plain UDP node: ping and iperf3.
common="-t tun -d mv%d -m router --no-port-forwarding -p wss-test"
t_node b $common -l 3210 --ip 10.7.0.2/24
t_node a $common -l wss://192.0.2.1:3443/mesh --ws-ca "$P/ca.crt" --ip 10.7.0.1/24 -c 192.0.2.6
t_wait 20 t_log_has a "Connected to the WebSocket proxy wss://192.0.2.1:3443/mesh" ||
	fail "node A did not reach the proxy over TLS"
t_wait 20 t_log_has a "Connected to 192.0.2.6:3210" || fail "A did not connect to B over wss"
t_wait_ping 10 a 10.7.0.2 || fail "no route A -> B"
t_ping a 10.7.0.2 10 || fail "ping A -> B lost packets"
t_ping b 10.7.0.1 10 || fail "ping B -> A lost packets"
t_log_has proxy "client 192.0.2.5:[0-9]+ connected \(path /mesh, TLSv1.3\)" ||
	fail "no TLS connection of node A in the proxy log"
iperf_note="no iperf3"
if command -v iperf3 >/dev/null; then
	t_spawn b iperf iperf3 -s -1 -B 10.7.0.2
	t_wait 5 sh -c "ip netns exec $(ns b) ss -ltn | grep -q 10.7.0.2:5201" || fail "iperf3 server"
	ip netns exec "$(ns a)" iperf3 -c 10.7.0.2 -t 3 -f m >"$T_DIR/iperf.out" 2>&1 ||
		{ cat "$T_DIR/iperf.out" >&2; fail "iperf3 A -> B through the proxy over TLS"; }
	iperf_note="iperf3 A -> B $(grep -E 'receiver' "$T_DIR/iperf.out" | awk '{print $7, $8}')"
fi
t_stop a TERM || fail "node A exit status $?"
t_stop b TERM || fail "node B exit status $?"
log "a node over wss:// (--ws-ca) pings a UDP node both ways; $iperf_note"

# 7. Throughput with and without TLS, both ways (logged; asserted: every datagram the client
#    sent was handed to the kernel or counted as dropped while its connection is still open,
#    so none waits inside OpenSSL for a wake-up that does not come).
cpu() { awk '{print $14 + $15}' "/proc/$(t_pid "$1")/stat"; }
hz=$(getconf CLK_TCK)
# to_udp NAME: datagrams the proxy has sent to UDP or dropped at send (SIGUSR1 counters)
to_udp() {
	kill -USR1 "$(t_pid "$1")"
	sleep 0.3
	sed -n 's/.*stats: to UDP \([0-9]*\) datagrams.* and \([0-9]*\) send errors;.*/\1 \2/p' \
		"$T_DIR/$1.log" | tail -n 1 | awk '{print $1 + $2}'
}
to_udp_is() { [ "$(to_udp "$1")" = "$2" ]; }
# bench NAME PROXY PORT WSDRIVE-ARGS...: client -> proxy -> UDP sink, then UDP -> proxy -> client
bench() {
	_bn=$1 _bp=$2 _bport=$3
	shift 3
	t_spawn u "sink$_bn" "$WSDRIVE" -S 192.0.2.3:7001 -t 10
	t_wait 5 t_log_has "sink$_bn" "sink on" || fail "sink did not start"
	_b0=$(to_udp "$_bp")
	_c0=$(cpu "$_bp")
	t_spawn c "tx$_bn" "$WSDRIVE" "$@" -W "$T_DIR/go$_bn" -b 192.0.2.3:7001 -s 1400 -t 2 \
		192.0.2.1 "$_bport"
	t_wait 20 grep -q "^sent" "$T_DIR/tx$_bn.log" || fail "bench: $(cat "$T_DIR/tx$_bn.log")"
	_bs=$(sed -n 's/^sent \([0-9]*\) datagrams.*/\1/p' "$T_DIR/tx$_bn.log")
	t_wait 10 to_udp_is "$_bp" $((_b0 + _bs)) ||
		fail "$_bn: $_bs datagrams sent, the proxy handled $(($(to_udp "$_bp") - _b0))"
	touch "$T_DIR/go$_bn"
	t_wait 5 t_log_has "sink$_bn" "^received" || fail "sink: $(cat "$T_DIR/sink$_bn.log")"
	_c1=$(cpu "$_bp")
	log "$_bn client -> UDP: $(sed -n 's/^received //p' "$T_DIR/sink$_bn.log");" \
		"proxy CPU $(((_c1 - _c0) * 1000 / hz)) ms"
	t_spawn c "rx$_bn" "$WSDRIVE" "$@" -r -t 4 192.0.2.1 "$_bport"
	t_wait 5 grep -q "^public" "$T_DIR/rx$_bn.log" || fail "receiver: $(cat "$T_DIR/rx$_bn.log")"
	_c0=$(cpu "$_bp")
	drive u "blast$_bn" -B "192.0.2.1:$(public_port "rx$_bn")" -s 1400 -t 2 || fail "blaster"
	t_wait 6 grep -q "^received" "$T_DIR/rx$_bn.log" || fail "receiver: $(cat "$T_DIR/rx$_bn.log")"
	_c1=$(cpu "$_bp")
	grep -q "^received 0 " "$T_DIR/rx$_bn.log" && fail "nothing relayed to the client"
	log "$_bn UDP -> client: $(sed -n 's/^received //p' "$T_DIR/rx$_bn.log");" \
		"proxy CPU $(((_c1 - _c0) * 1000 / hz)) ms"
}
bench ws plain 3210
bench wss proxy 3443 $CA -N proxy.test

# 8. The silent connection is closed by the upgrade time-out; counters; clean stop.
t_wait 15 grep -q "^closed" "$T_DIR/silent.log" || fail "silent: $(cat "$T_DIR/silent.log")"
ts=$(sed -n 's/^closed after \([0-9]*\)\..*/\1/p' "$T_DIR/silent.log")
[ "$ts" -ge 9 ] && [ "$ts" -le 12 ] || fail "handshake time-out after $ts s, not about 10 s"
t_log_has proxy "no TLS handshake within 10 s" || fail "no log line for the handshake time-out"
t_stop proxy TERM || fail "proxy exit status $? after SIGTERM"
# 30 plain clients, the wrong name and the other CA
t_log_has proxy "stats: failed: 0 bad and 0 missing PROXY headers, 32 TLS handshakes, 0 bad and 1 missing upgrades" ||
	fail "counters: $(grep 'stats: failed' "$T_DIR/proxy.log")"
t_stop proxypp TERM || fail "proxypp exit status $?"
t_log_has proxypp "stats: failed: 1 bad and 0 missing PROXY headers, 1 TLS handshakes" ||
	fail "counters: $(grep 'stats: failed' "$T_DIR/proxypp.log")"
t_stop plain TERM || fail "plain proxy exit status $?"
log "handshake time-out after $ts s; failed handshakes counted; clean stop"
exit 0

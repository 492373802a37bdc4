#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# capture.sh - seeds the fuzz corpora (tests/fuzz/corpus/<target>/) from real traffic and real
# files. A maintainer tool, not part of make check: needs root, ip netns, python3 and the
# fuzz targets (make all fuzz). Usage: sh tests/fuzz/capture.sh [KEEP-DIR]
#
# In namespaces (tests/integration/lib.sh) it runs a hub with two clients (one over UDP, one
# through the WebSocket proxy), and a plain-crypto pair publishing beacons; tests/fuzz/capture.py
# records every UDP datagram and TCP stream on the bridge (PING/PONG/PENG, DATA, NODE_INFO,
# keep-alives, the proxy's upgrade and frames in both directions) and every management request
# (a relay in front of the hub's socket); the beacon file, the registry, the config files and
# a /metrics page are copied. capture.py turns these into inputs of each target's format (the
# encrypted targets get captured plaintext that they seal with their own fixed keys, see
# capture.py seeds()), then libFuzzer's -merge=1 keeps only the ones that add coverage to the
# committed corpus; those are copied in under readable names (cap-*), at most 4 KB each.
. "$(dirname "$0")/../integration/lib.sh"
t_init
command -v python3 >/dev/null || { log "SKIP: no python3"; exit 77; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CAP=$ROOT/tests/fuzz/capture.py
for f in "$ROOT"/build/fuzz/fuzz_*; do [ -x "$f" ] && break; fail "no fuzz targets (make fuzz)"; done
C=$T_DIR/cap
mkdir -p "$C/beacon" "$C/registry" "$C/config" "$C/metrics" "$C/acl" "$C/ratelimit"

# H: hub, A: hub client over UDP, P: proxy, W: hub client over the proxy, B and D: a plain pair
t_lan h 192.0.2.1 a 192.0.2.2 p 192.0.2.10 w 192.0.2.4 b 192.0.2.5 d 192.0.2.6
t_spawn sw sniff python3 "$CAP" sniff any "$C"
sock=$T_DIR/hub.sock rec=$T_DIR/rec.sock
cat >"$T_DIR/hub.net" <<EOF
device:
  type: tun
  name: mvhub%d
ip: 10.20.0.1/24
crypto:
  private-key: $("$MESHVPN" genkey | sed -n 's/^Private key: //p')
mode: router
port-forwarding: false
hub:
  subnet: 10.20.0.0/24
  endpoint: 192.0.2.1:3210
  registry: $T_DIR/registry.yaml
management:
  socket: $sock
metrics-listen: 192.0.2.1:9100
EOF
t_spawn h hub "$MESHVPN" --config "$T_DIR/hub.net"
t_wait 10 test -S "$sock" || fail "no management socket"
t_spawn h mgmtrec python3 "$CAP" mgmtrec "$rec" "$sock" "$C/mgmt.lines"
t_wait 5 test -S "$rec" || fail "no relay socket"
ctl() { "$MESHVPN" ctl --socket "$rec" "$@"; }
hub() { "$MESHVPN" hub --socket "$rec" "$@"; }
ctl subscribe >/dev/null 2>&1 &
T_PIDS="$T_PIDS $!:subscribe"
hub create alice --description "Alice's laptop" --tag engineering \
	--destination-allow 10.20.0.0/24 >"$T_DIR/alice.net" || fail "hub create alice"
hub create wendy --source-allow 192.0.2.0/24 --rate-limit 1M:64k --max-connections 2 \
	--expires 2031-01-01T00:00:00Z >"$T_DIR/wendy.net" || fail "hub create wendy"
t_spawn a alice "$MESHVPN" --config "$T_DIR/alice.net" --no-port-forwarding
t_spawn p proxy "$MESHVPN" ws-proxy -l 192.0.2.10:3210 --public-ip 192.0.2.10
t_spawn w wendy "$MESHVPN" --config "$T_DIR/wendy.net" --listen ws://192.0.2.10:3210/mesh

cat >"$T_DIR/plain.net" <<EOF
device:
  type: tun
  name: mvp%d
mode: router
port-forwarding: false
crypto:
  password: capture
  algorithms: [plain]
beacon:
  store: $C/beacon/file
  password: mysecretkey
  interval: 2
EOF
t_spawn b plainb "$MESHVPN" --config "$T_DIR/plain.net" --ip 10.9.0.5/24 -l 3210
t_spawn d plaind "$MESHVPN" --config "$T_DIR/plain.net" --ip 10.9.0.6/24 -l 3210 -c 192.0.2.5

wip=$(sed -n 's/^ip: \([0-9.]*\)\/.*/\1/p' "$T_DIR/wendy.net")
t_wait_ping 30 a "$wip" || fail "alice cannot reach wendy"
t_wait_ping 20 d 10.9.0.5 || fail "the plain pair has no tunnel"
ip netns exec "$(ns a)" ping -c 3 -s 200 -i 0.2 "$wip" >/dev/null
ip netns exec "$(ns d)" ping -c 3 -s 40 -i 0.2 10.9.0.5 >/dev/null
ip netns exec "$(ns d)" ping -6 -c 1 ff02::1%mvp0 >/dev/null 2>&1
for c in status peers stats; do ctl $c >/dev/null; ctl $c --json >/dev/null; done
hub list >/dev/null; hub connections --json >/dev/null; hub telemetry alice --json >/dev/null
hub disable wendy >/dev/null; hub enable wendy >/dev/null
ctl no-such-command >/dev/null 2>&1
ip netns exec "$(ns h)" curl -s http://192.0.2.1:9100/metrics >"$C/metrics/page" ||
	log "no /metrics page (curl)"
sleep 6 # keep-alives and a NODE_INFO round, beacon stores
t_stop sniff
cp "$T_DIR/registry.yaml" "$C/registry/registry.yaml"
# the key pairs were made for this run only; still, no random private key goes into the
# repository: they become the one derived from the password "capture-seed" (and no path
# of this run either)
fake=$("$MESHVPN" genkey -p capture-seed | sed -n 's/^Private key: //p')
for f in hub alice wendy plain; do
	sed -e "s/private-key: .*/private-key: $fake/" -e "s#$C#/var/lib/meshvpn#g" \
		-e "s#$T_DIR#/run/meshvpn#g" "$T_DIR/$f.net" >"$C/config/$f.yaml"
done
# the ACL and rate values the management requests above carried, in those targets' formats
printf '10.20.0.0/24\n192.0.2.0/24\n' >"$C/acl/hub-args"
printf '1M\n64k\n' >"$C/ratelimit/hub-args"
for f in "$ROOT"/conf/*.net; do cp "$f" "$C/config/$(basename "$f" .net).yaml"; done

python3 "$CAP" seeds "$C" "$T_DIR/seeds" || fail "seeds"
for dir in "$T_DIR"/seeds/*; do
	t=$(basename "$dir") f=$ROOT/build/fuzz/$(basename "$dir")
	[ -x "$f" ] || { log "no $f: skipped"; continue; }
	mkdir -p "$T_DIR/merged/$t" "$ROOT/tests/fuzz/corpus/$t"
	"$f" -merge=1 -timeout=10 "$T_DIR/merged/$t" "$ROOT/tests/fuzz/corpus/$t" "$dir" \
		>"$T_DIR/merge-$t.log" 2>&1 || { tail "$T_DIR/merge-$t.log" >&2; fail "merge $t"; }
	n=0
	for s in "$dir"/*; do
		h=$(sha1sum "$s" | cut -d' ' -f1)
		[ -e "$T_DIR/merged/$t/$h" ] || continue
		cp "$s" "$ROOT/tests/fuzz/corpus/$t/"
		n=$((n + 1))
	done
	log "$t: $n of $(ls "$dir" | wc -l) captured seeds add coverage"
done
[ -n "$1" ] && cp -r "$C" "$1" && log "raw captures kept in $1"
exit 0

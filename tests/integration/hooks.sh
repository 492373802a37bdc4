#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Event hooks (CONFIG.md 8.1) on two nodes: A with --hook SCRIPT and --hook EVENT:SCRIPT, B
# with hook/hooks from a config file. Every event fires once with exactly its documented
# variables (IFNAME, EVENT, PEER, CLAIMS, NODE_ID in the documented formats, including the
# reference's mapped PEER after a CLOSE); PASSWORD is not passed on. B's peer_connected hook
# sleeps 10 s: pings through the tunnel while it runs are neither lost nor slow, and its exit
# status is logged when it ends.
. "$(dirname "$0")/lib.sh"
t_init
t_ns a b
t_pair a 192.0.2.1 b 192.0.2.2
EV=$T_DIR/ev
mkdir "$EV"

# has FILE LINE: FILE contains LINE exactly. only FILE NAMES: of PEER, CLAIMS, NODE_ID exactly
# NAMES are set.
has() { grep -qxF "$2" "$1" || fail "$(basename "$1"): missing '$2'"; }
only() {
	_got=$(grep -oE '^(PEER|CLAIMS|NODE_ID)=' "$1" | tr -d '=' | sort | tr '\n' ' ')
	[ "$_got" = "$2" ] || fail "$(basename "$1"): variables '$_got', expected '$2'"
}
count() { grep -cx "$2" "$EV/$1.events"; }
hex32() { grep -Eq '^NODE_ID=[0-9a-f]{32}$' "$1" || fail "$(basename "$1"): NODE_ID format"; }

cat >"$T_DIR/b.net" <<NET
device:
  type: tun
  name: mvh%d
crypto:
  password: samepassword
ip: 10.8.0.2/24
listen: 3210
port-forwarding: false
claims:
  - 10.99.0.0/16
hook: 'env | sort > $EV/b-\$EVENT.env; echo \$EVENT >> $EV/b.events'
hooks:
  peer_connected: 'env | sort > $EV/b-\$EVENT.env; echo \$EVENT >> $EV/b.events; sleep 10; touch $EV/slow-done; exit 3'
NET
t_node b --config "$T_DIR/b.net"
t_wait 10 t_log_has b "Node mvh0 running" || fail "node b did not start"

export PASSWORD=samepassword # must not reach the hooks
t_node a -d mvh%d --ip 10.8.0.1/24 -l 3210 --no-port-forwarding -c 192.0.2.2:3210 \
	--hook "env | sort > $EV/a-\$EVENT.env; echo \$EVENT >> $EV/a.events" \
	--hook "vpn_started:env | sort > $EV/a-vpn_started.env; echo own-vpn_started >> $EV/a.events"
unset PASSWORD
t_wait_ping 20 a 10.8.0.2 || fail "no ping through the tunnel"

# B's peer_connected hook sleeps now: the tunnel must not notice.
[ -e "$EV/slow-done" ] && fail "the slow hook ended before the measurement"
start=$(date +%s%N)
out=$(ip netns exec "$(ns a)" ping -c 15 -i 0.2 -W 1 10.8.0.2 2>&1)
st=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ $st -eq 0 ] || fail "pings lost while a hook runs: $out"
echo "$out" | grep -q " 0% packet loss" || fail "pings lost while a hook runs: $out"
max=$(echo "$out" | sed -n 's|^rtt [^=]*= [^/]*/[^/]*/\([0-9.]*\)/.*|\1|p')
[ -n "$max" ] && [ "${max%.*}" -lt 200 ] || fail "ping RTT max ${max:-?} ms while a hook runs"
[ $ms -lt 6000 ] || fail "15 pings took $ms ms while a hook runs"
[ -e "$EV/slow-done" ] && fail "the slow hook was not running during the measurement"
log "while a 10 s hook runs: 15/15 pings, RTT max $max ms, $ms ms in all"

# Every event so far, once, with exactly its variables.
for e in device_setup device_configured vpn_started peer_connecting peer_connected; do
	t_wait 5 test -s "$EV/b-$e.env" || fail "b: no $e hook"
done
for e in device_setup device_configured vpn_started peer_connecting peer_connected; do
	t_wait 5 test -s "$EV/a-$e.env" || fail "a: no $e hook"
done
sleep 1 # a second firing would show up by now
for n in a b; do
	for e in device_setup device_configured peer_connecting peer_connected; do
		[ "$(count $n $e)" -eq 1 ] || fail "$n: $e fired $(count $n $e) times"
	done
done
[ "$(count b vpn_started)" -eq 1 ] || fail "b: vpn_started fired $(count b vpn_started) times"
[ "$(count a own-vpn_started)" -eq 1 ] || fail "a: the per-event vpn_started hook did not run once"
[ "$(count a vpn_started)" -eq 0 ] || fail "a: the global hook ran for vpn_started"

for n in a b; do
	for e in device_setup device_configured vpn_started; do
		f=$EV/$n-$e.env
		has "$f" "EVENT=$e"
		has "$f" "IFNAME=mvh0"
		only "$f" ""
	done
done
f=$EV/a-peer_connecting.env
has "$f" "EVENT=peer_connecting"
has "$f" "IFNAME=mvh0"
has "$f" "PEER=192.0.2.2:3210"
only "$f" "PEER "
f=$EV/b-peer_connecting.env
has "$f" "PEER=192.0.2.1:3210"
only "$f" "PEER "
f=$EV/a-peer_connected.env
has "$f" "EVENT=peer_connected"
has "$f" "IFNAME=mvh0"
has "$f" "PEER=192.0.2.2:3210"
has "$f" "CLAIMS=10.99.0.0/16 10.8.0.2/32"
hex32 "$f"
only "$f" "CLAIMS NODE_ID PEER "
f=$EV/b-peer_connected.env
has "$f" "PEER=192.0.2.1:3210"
has "$f" "CLAIMS=10.8.0.1/32"
hex32 "$f"
only "$f" "CLAIMS NODE_ID PEER "
id_b=$(grep '^NODE_ID=' "$EV/a-peer_connected.env")
id_a=$(grep '^NODE_ID=' "$EV/b-peer_connected.env")
[ "$id_a" != "$id_b" ] || fail "both nodes report the same NODE_ID"
grep -q "^PASSWORD=" "$EV"/a-*.env && fail "PASSWORD was passed to a hook"
log "start-up and connection events ok"

# The slow hook ends with status 3, and B logs it.
t_wait 15 test -e "$EV/slow-done" || fail "the slow hook did not finish"
t_wait 5 t_log_has b "The peer_connected hook \(pid [0-9]+\) exited with status 3" ||
	fail "b did not log the hook's exit status"

# B shuts down: vpn_shutdown on B; A gets CLOSE: peer_disconnected with the mapped PEER.
t_stop b TERM || fail "node b did not stop cleanly"
t_wait 5 test -s "$EV/b-vpn_shutdown.env" || fail "b: no vpn_shutdown hook"
has "$EV/b-vpn_shutdown.env" "EVENT=vpn_shutdown"
has "$EV/b-vpn_shutdown.env" "IFNAME=mvh0"
only "$EV/b-vpn_shutdown.env" ""
[ "$(count b vpn_shutdown)" -eq 1 ] || fail "b: vpn_shutdown fired $(count b vpn_shutdown) times"
f=$EV/a-peer_disconnected.env
t_wait 5 test -s "$f" || fail "a: no peer_disconnected hook after CLOSE"
has "$f" "EVENT=peer_disconnected"
has "$f" "IFNAME=mvh0"
has "$f" "PEER=[::ffff:192.0.2.2]:3210"
has "$f" "$id_b"
only "$f" "NODE_ID PEER "
[ "$(count a peer_disconnected)" -eq 1 ] || fail "a: peer_disconnected fired more than once"

t_stop a TERM || fail "node a did not stop cleanly"
t_wait 5 test -s "$EV/a-vpn_shutdown.env" || fail "a: no vpn_shutdown hook"
[ "$(count a vpn_shutdown)" -eq 1 ] || fail "a: vpn_shutdown fired $(count a vpn_shutdown) times"
log "shutdown events ok"
exit 0

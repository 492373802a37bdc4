#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A node in a fresh namespace with a TUN and then a TAP device: the device exists with the
# MTU derived from the overhead (no default route: 1500 - 73 / 87), the --ip address and
# the link up; --ifup sees IFNAME; SIGTERM stops the node with status 0 and the device is
# gone; a config file with a misspelt key is refused with its line number and status 2.
. "$(dirname "$0")/lib.sh"
t_init
t_ns a

check_device() { # TYPE NAME MTU
	type=$1 name=$2 mtu=$3
	t_node a -t "$type" -d "$name%d" --ip 10.1.0.1/24 -l 3210 -p test --no-port-forwarding \
		--ifup "echo \"ifup \$IFNAME\" > $T_DIR/ifup-$type"
	t_wait 10 t_link_exists a "${name}0" || fail "$type: device ${name}0 did not appear"
	t_wait 10 t_log_has a "Node ${name}0 running" || fail "$type: node did not start"
	info=$(ip -n "$(ns a)" -o link show "${name}0")
	echo "$info" | grep -q "mtu $mtu " || fail "$type: expected mtu $mtu: $info"
	echo "$info" | grep -q "UP" || fail "$type: link not up: $info"
	ip -n "$(ns a)" -o -4 addr show dev "${name}0" | grep -q "inet 10.1.0.1/24" ||
		fail "$type: address 10.1.0.1/24 missing"
	[ "$(cat "$T_DIR/ifup-$type")" = "ifup ${name}0" ] || fail "$type: ifup did not see IFNAME"
	if [ "$type" = tap ]; then
		ip -n "$(ns a)" -d link show "${name}0" | grep -q "tun type tap" || fail "not a TAP device"
	else
		ip -n "$(ns a)" -d link show "${name}0" | grep -q "tun type tun" || fail "not a TUN device"
	fi
	t_stop a TERM
	st=$?
	[ $st -eq 0 ] || fail "$type: exit status $st after SIGTERM"
	t_link_exists a "${name}0" && fail "$type: device still there after exit"
	log "$type ok: ${name}0 mtu $mtu, address set, clean exit"
}

check_device tun mvtun 1427
check_device tap mvtap 1413

# the device deleted under a running node: it stops with an error instead of spinning
t_node a -t tun -d mvdel%d -l 3210 -p test --no-port-forwarding
t_wait 10 t_log_has a "Node mvdel0 running" || fail "node for the delete test did not start"
ip -n "$(ns a)" link del mvdel0
pid=$(t_pid a)
t_wait 5 sh -c "! kill -0 $pid 2>/dev/null" || fail "node still running without its device"
wait "$pid"
st=$?
[ $st -ne 0 ] || fail "exit status 0 after losing the device"
t_log_has a "the device failed" || fail "device loss not logged"
log "device loss ok (exit $st)"

# a typo in a key: error names file, line and key; exit status 2; nothing started
cat >"$T_DIR/typo.net" <<'NET'
device:
  type: tun
crypto:
  password: test
peer-timout: 300
NET
out=$("$MESHVPN" --config "$T_DIR/typo.net" 2>&1)
st=$?
[ $st -eq 2 ] || fail "typo: exit status $st, expected 2"
echo "$out" | grep -q "typo.net:5" || fail "typo: line not named: $out"
echo "$out" | grep -q "peer-timout" || fail "typo: key not named: $out"
log "typo ok: $out"
exit 0

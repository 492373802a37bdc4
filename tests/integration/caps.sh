#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Capabilities after set-up: node A (no hooks) runs with no capability at all (CapEff,
# CapPrm and CapBnd 0, NoNewPrivs 1), node B (a peer_connected hook) keeps only
# CAP_NET_ADMIN (bit 12) in its main thread, and its hook can still use it (ip link set ...
# alias). Capabilities are per thread: every worker thread of both (started before the drop)
# holds none, bounding set included. The tunnel works in both directions throughout; both
# log what they kept.
. "$(dirname "$0")/lib.sh"
t_init
t_ns a b
t_pair a 192.0.2.1 b 192.0.2.2
common="-t tun -d mvc%d -l 3210 -p capspass --no-port-forwarding"
t_node b $common --ip 10.8.0.2/24 \
	--hook 'peer_connected:ip link set dev "$IFNAME" alias hooked-by-peer'
t_wait 10 t_log_has b "Node mvc0 running" || fail "node b did not start"
t_node a $common --ip 10.8.0.1/24 -c 192.0.2.2
t_wait_ping 15 a 10.8.0.2 || fail "tunnel did not come up"
t_ping b 10.8.0.1 3 || fail "no ping from b to a"

# status FIELD NAME: the field of the node's /proc/PID/status
status() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$(t_pid "$2")/status"; }
zero=0000000000000000
net_admin=0000000000001000
for f in CapEff CapPrm CapInh CapBnd CapAmb; do
	[ "$(status $f a)" = $zero ] || fail "a: $f is $(status $f a), expected $zero"
done
[ "$(status NoNewPrivs a)" = 1 ] || fail "a: NoNewPrivs is $(status NoNewPrivs a)"
for f in CapEff CapPrm CapBnd; do
	[ "$(status $f b)" = $net_admin ] || fail "b: $f is $(status $f b), expected $net_admin"
done
[ "$(status CapAmb b)" = $zero ] || fail "b: CapAmb is $(status CapAmb b)"
# a hook of b may need set-uid programs: no_new_privs stays off there
[ "$(status NoNewPrivs b)" = 0 ] || fail "b: NoNewPrivs is $(status NoNewPrivs b)"
# every thread: TASK-FIELD NAME prints "tid value" per thread
tasks() {
	_p=$(t_pid "$2")
	for _t in /proc/$_p/task/*; do
		echo "${_t##*/} $(sed -n "s/^$1:[[:space:]]*//p" "$_t/status")"
	done
}
n_tasks=$(tasks CapEff a | wc -l)
[ "$n_tasks" -ge 2 ] || fail "a: only $n_tasks thread(s): no worker to check"
for n in a b; do
	main=$(t_pid $n)
	for f in CapEff CapPrm CapBnd; do
		tasks $f $n | while read -r tid v; do
			[ "$tid" = "$main" ] && continue
			[ "$v" = $zero ] || fail "$n: thread $tid has $f $v"
		done || exit 1
	done
done
t_log_has a "Capabilities after set-up: none kept, no_new_privs set" || fail "a: no log line"
t_log_has b "Capabilities after set-up: cap_net_admin kept \(for hooks and ifdown\)$" ||
	fail "b: no log line"
# the kept capability is usable by the hook (it ran after the drop: peer_connected)
t_wait 10 sh -c "ip -n $(ns b) link show mvc0 | grep -q 'alias hooked-by-peer'" ||
	fail "b: the hook could not set the alias"
t_ping a 10.8.0.2 20 || fail "pings lost after the drop"
log "a: CapEff $(status CapEff a), b: CapEff $(status CapEff b), $n_tasks threads each checked; tunnel and hook ok"
exit 0

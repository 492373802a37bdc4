#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# make demo: three meshvpn nodes in network namespaces on one underlay bridge, router mode.
# A is configured with B only, B with C only: A and C find each other through peer
# exchange (NODE_INFO) and then talk directly. Shows pings, an iperf3 run A -> C and every
# node's peer table, then removes everything it created.
. "$(dirname "$0")/../integration/lib.sh"
T_NAME=demo
t_init
step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Underlay: namespaces A, B, C on a bridge (192.0.2.1-3)"
t_lan a 192.0.2.1 b 192.0.2.2 c 192.0.2.3

step "Starting three nodes (shared password, router mode; A knows B, B knows C)"
common="-t tun -d mesh%d -l 3210 -p demo-password -m router --no-port-forwarding"
for spec in "a 10.10.0.1 192.0.2.2" "b 10.10.0.2 192.0.2.3" "c 10.10.0.3 -"; do
	set -- $spec
	peer=""
	[ "$3" != - ] && peer="-c $3"
	echo "node $1: meshvpn $common --ip $2/24 $peer --stats-file $T_DIR/$1.stats"
	t_node "$1" $common --ip "$2/24" $peer --stats-file "$T_DIR/$1.stats"
done
t_wait 20 t_log_has a "Connected to 192.0.2.3:3210" || fail "A did not find C"
echo
echo "A's log:"
sed 's/^/  /' "$T_DIR/a.log"

step "Ping across the mesh"
show ip netns exec "$(ns a)" ping -c 3 -i 0.2 10.10.0.3
show ip netns exec "$(ns c)" ping -c 3 -i 0.2 10.10.0.1
show ip netns exec "$(ns b)" ping -c 3 -i 0.2 10.10.0.1

if command -v iperf3 >/dev/null; then
	step "iperf3: A -> C through the tunnel (5 s)"
	t_spawn c iperfsrv iperf3 -s -B 10.10.0.3
	t_wait 5 ip netns exec "$(ns c)" sh -c 'ss -ltn | grep -q 10.10.0.3:5201'
	show ip netns exec "$(ns a)" iperf3 -c 10.10.0.3 -t 5 -f m
fi

step "Peer tables (SIGUSR1 makes a node write its stats file now)"
for n in a b c; do kill -USR1 "$(t_pid $n)"; done
sleep 0.5
for n in a b c; do
	echo "node $n:"
	sed -n '/^peers:/,/^$/p' "$T_DIR/$n.stats" | sed '/^$/d; s/^/  /'
	sed -n '/^  claims:/,/^  cache:/p' "$T_DIR/$n.stats" | grep -v cache: | sed 's/^/  /'
done

step "Shutting down (SIGTERM: nodes send CLOSE to their peers)"
for n in a b c; do
	t_stop "$n"
	echo "node $n exited with status $?"
done
echo "Namespaces and devices are removed on exit."

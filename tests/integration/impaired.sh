#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A lossy, reordering underlay (the project's userspace relay tests/tools/impair.c, since
# this kernel has no tc netem): 2% loss, 5 ms delay and 5% reordering in each direction.
# TCP over the tunnel still works: 8 MiB cross it each way intact, every byte checked
# (tests/tools/tcpxfer.c), and the relay really dropped and reordered packets.
. "$(dirname "$0")/lib.sh"
t_init
command -v ethtool >/dev/null || { log "SKIP: no ethtool"; exit 77; }
${CC:-cc} -std=gnu11 -O2 -o "$T_DIR/tcpxfer" "$(dirname "$0")/../tools/tcpxfer.c" || fail "tcpxfer"
t_ns a b
t_impaired_pair a 192.0.2.1 b 192.0.2.2 -l 2 -d 5 -r 5 -s 7
common="-t tun -d mv%d -l 3210 -p lossy -m router --no-port-forwarding"
t_node a $common --ip 10.9.0.1/24 -c 192.0.2.2
t_node b $common --ip 10.9.0.2/24
t_wait_ping 20 a 10.9.0.2 || fail "tunnel did not come up over the impaired link"
# xfer FROM TO TO_ADDR SEED: 8 MiB from FROM's namespace to a receiver in TO's
xfer() {
	t_spawn "$2" "rx$4" "$T_DIR/tcpxfer" -r "$3" 5201 8388608 "$4" 60
	t_wait 5 ip netns exec "$(ns "$2")" sh -c "ss -ltn | grep -q $3:5201" ||
		fail "receiver in $2 not listening"
	out=$(ip netns exec "$(ns "$1")" "$T_DIR/tcpxfer" -s "$3" 5201 8388608 "$4" 60 2>&1) ||
		fail "TCP $1 -> $2: $out; receiver: $(cat "$T_DIR/rx$4.log")"
	t_join "rx$4" || fail "TCP $1 -> $2: $(cat "$T_DIR/rx$4.log")"
	log "TCP $1 -> $2: $(cat "$T_DIR/rx$4.log")"
}
xfer a b 10.9.0.2 11
xfer b a 10.9.0.1 12
t_stop relay
grep -q "dropped [1-9]" "$T_DIR/relay.log" || fail "relay dropped nothing: $(cat "$T_DIR/relay.log")"
grep -q "reordered [1-9]" "$T_DIR/relay.log" || fail "relay reordered nothing"
log "relay: $(tr '\n' ' ' <"$T_DIR/relay.log")"
exit 0

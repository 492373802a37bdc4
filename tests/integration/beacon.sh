#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Beacons (PROTOCOL.md 7): nodes without configured peers find each other through a shared
# beacon file and through store/load commands (with the begin/data/end/beacon variables);
# a file with garbage and a beacon of another password is ignored with a counted log line;
# the stored file is 0444 and removed at shutdown.
. "$(dirname "$0")/lib.sh"
t_init
t_lan a 192.0.2.1 b 192.0.2.2 c 192.0.2.3 d 192.0.2.4 e 192.0.2.5
common="-t tun -d mv%d -m router --no-port-forwarding -p beacons --beacon-interval 1"
shared=$T_DIR/shared.beacon
cmdfile=$T_DIR/cmd.beacon

# 1. a shared file: A stores, B loads
t_node a $common -l 192.0.2.1:3210 --ip 10.6.0.1/24 --beacon-password one --beacon-store "$shared"
t_node b $common -l 192.0.2.2:3210 --ip 10.6.0.2/24 --beacon-password one --beacon-load "$shared"
# 2. commands: C's store command writes the beacon inside other text, D's load command cuts
#    it out with the markers it gets in begin/end
t_node c $common -l 192.0.2.3:3210 --ip 10.6.0.3/24 --beacon-password two \
	--beacon-store "|printf 'hello %s/%s/%s\n%s world\n' \"\$begin\" \"\$data\" \"\$end\" \"\$beacon\" >$cmdfile.tmp && mv $cmdfile.tmp $cmdfile"
t_node d $common -l 192.0.2.4:3210 --ip 10.6.0.4/24 --beacon-password two \
	--beacon-load "|grep -o \"\$begin[0-9A-Za-z]*\$end\" $cmdfile"

t_wait 20 t_log_has b "Connected to 192.0.2.1:3210" || fail "B did not find A through the beacon file"
t_wait_ping 10 b 10.6.0.1 || fail "no route B -> A"
t_ping b 10.6.0.1 5 || fail "ping B -> A lost packets"
[ "$(stat -c %a "$shared")" = 444 ] || fail "beacon file mode $(stat -c %a "$shared"), not 444"

t_wait 20 t_log_has d "Connected to 192.0.2.3:3210" || fail "D did not find C through the beacon commands"
t_wait_ping 10 d 10.6.0.3 || fail "no route D -> C"
t_ping d 10.6.0.3 5 || fail "ping D -> C lost packets"
# the store command saw all four variables: begin/data/end, and beacon = their concatenation
line=$(head -n 1 "$cmdfile")
b=$(sed -n 2p "$cmdfile" | cut -d' ' -f1)
parts=$(echo "$line" | sed 's/^hello //' | tr -d /)
[ -n "$b" ] && [ "$parts" = "$b" ] || fail "store variables: '$line' vs '$b'"

# 3. garbage plus a beacon of another password (the one in the shared file): ignored, counted
bad=$T_DIR/bad.beacon
{ echo "not a beacon at all 0123456789 ###"; cat "$shared"; } >"$bad"
t_node e $common -l 192.0.2.5:3210 --ip 10.6.0.5/24 --beacon-password three --beacon-load "$bad"
t_wait 10 t_log_has e "no valid beacon in $bad .*; 3 so far" || fail "E did not count bad beacon loads"
t_log_has e "Connected to" && fail "E connected through a beacon of another password"
n=$(grep -c "no valid beacon" "$T_DIR/e.log")
[ "$n" -le 12 ] || fail "E logged $n lines about bad beacons in a few seconds"

# 4. the stored file is removed at shutdown
t_stop a || fail "A exit status"
[ ! -e "$shared" ] || fail "A left its beacon file behind"
log "beacons ok"
exit 0

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Running for real: --daemon --pid-file --log-file --user nobody in a namespace. The starting
# process exits 0 only with the interface up (and 1 when set-up fails); the pid file holds the
# pid (no newline) of a live process running as nobody, owned by nobody, locked against a
# second instance; traffic flows with a peer in another namespace, also after several key
# rotations and a reconnect, and the stats file is still written; ifdown runs as nobody;
# SIGTERM removes the pid file and the device. Then the systemd notification protocol:
# READY=1 with the device up (after the privilege drop), STOPPING=1 at shutdown; and
# --fix-rp-filter (rp_filter 1, no CVE-2019-14899 warning, which comes without it).
. "$(dirname "$0")/lib.sh"
t_init
id nobody >/dev/null 2>&1 || { log "SKIP: no user nobody"; exit 77; }
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
t_ns a b
t_pair a 192.0.2.1 b 192.0.2.2

# The daemon runs as nobody: to remove its pid file at exit it needs a directory of its own.
chmod 0711 "$T_DIR"
RUN=$T_DIR/run
mkdir "$RUN" && chown nobody "$RUN" || fail "cannot prepare $RUN"

# start_a ARGS...: the daemonised node A (connects to B); its output goes to a-start.out.
start_a() {
	ip netns exec "$(ns a)" "$MESHVPN" -d mvd%d -p samepassword --ip 10.7.0.1/24 -l 3210 \
		--no-port-forwarding -c 192.0.2.2:3210 --daemon --pid-file "$RUN/a.pid" \
		--log-file "$T_DIR/a.log" --user nobody --stats-file "$RUN/a.stats" \
		--ifdown "echo \"\$IFNAME \$(id -u)\" > $RUN/ifdown" "$@" >"$T_DIR/a-start.out" 2>&1
}

# gone PID: the process has ended (a zombie waiting for a reaper counts as ended).
gone() {
	! kill -0 "$1" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# 1. Set-up fails after the fork: the starting process reports it with status 1.
start_a --device-path /nonexistent/tun
st=$?
[ $st -eq 1 ] || fail "failed set-up: exit status $st, expected 1"
grep -q "cannot open the TUN device" "$T_DIR/a-start.out" ||
	fail "failed set-up: the error did not reach the terminal: $(cat "$T_DIR/a-start.out")"
[ -e "$RUN/a.pid" ] && fail "failed set-up left the pid file behind"
log "failed set-up: status 1, error shown, no pid file"

# 2. The real start: when the starting process has exited 0, the device is already up.
export MESHVPN_TEST_ROTATE_SECS=3 MESHVPN_TEST_STATS_SECS=2
start_a
st=$?
unset MESHVPN_TEST_ROTATE_SECS MESHVPN_TEST_STATS_SECS
[ $st -eq 0 ] || fail "--daemon: exit status $st: $(cat "$T_DIR/a-start.out")"
info=$(ip -n "$(ns a)" -o link show mvd0 2>&1) || fail "device mvd0 missing when the parent exited"
echo "$info" | grep -q "UP" || fail "device not up when the parent exited: $info"
ip -n "$(ns a)" -o -4 addr show dev mvd0 | grep -q "inet 10.7.0.1/24" ||
	fail "address missing when the parent exited"
[ -s "$RUN/a.pid" ] || fail "no pid file"
pid=$(cat "$RUN/a.pid")
T_PIDS="$T_PIDS $pid:a-daemon" # a daemon is not our child: the cleanup trap kills it by pid
case $pid in *[!0-9]* | "") fail "pid file content '$pid' is not a number" ;; esac
[ "$(wc -l <"$RUN/a.pid")" -eq 0 ] || fail "pid file ends with a newline"
kill -0 "$pid" 2>/dev/null || fail "pid $pid from the pid file is not running"
[ "$(ps -o user= -p "$pid")" = nobody ] || fail "pid $pid runs as $(ps -o user= -p "$pid")"
grep -Eq "^Uid:[[:space:]]+$NOBODY_UID[[:space:]]+$NOBODY_UID[[:space:]]+$NOBODY_UID[[:space:]]+$NOBODY_UID$" \
	"/proc/$pid/status" || fail "uids: $(grep ^Uid "/proc/$pid/status")"
grep -Eq "^Gid:[[:space:]]+$NOBODY_GID[[:space:]]+$NOBODY_GID[[:space:]]+$NOBODY_GID[[:space:]]+$NOBODY_GID$" \
	"/proc/$pid/status" || fail "gids: $(grep ^Gid "/proc/$pid/status")"
grep -Eq "^Groups:[[:space:]]+$NOBODY_GID[[:space:]]*$" "/proc/$pid/status" ||
	fail "supplementary groups: $(grep ^Groups "/proc/$pid/status")"
grep -Eq "^CapEff:[[:space:]]+0+$" "/proc/$pid/status" || fail "capabilities left after the drop"
# in every thread: the workers started before the uid change kept only CAP_SETUID/SETGID for it
for t in /proc/$pid/task/*; do
	for f in CapEff CapPrm; do
		grep -Eq "^$f:[[:space:]]+0+$" "$t/status" ||
			fail "thread ${t##*/}: $(grep "^$f" "$t/status") after the drop"
	done
done
# root's, not nobody's (unlike VpnCloud): nobody must not be able to redirect root's signals
[ "$(stat -c %U "$RUN/a.pid")" = root ] || fail "pid file owned by $(stat -c %U "$RUN/a.pid")"
[ "$(readlink "/proc/$pid/fd/0")" = /dev/null ] || fail "stdin is not /dev/null"
[ "$(readlink "/proc/$pid/cwd")" = / ] || fail "working directory is not /"
ls -l "/proc/$pid/fd" | grep -q "$RUN/a.stats" || fail "stats file not kept open"
grep -q "Running in the background as process $pid" "$T_DIR/a.log" || fail "log file not written"
grep -q "key rotation every 3 s" "$T_DIR/a.log" || fail "test rotation period not in effect"
log "daemon ok: pid $pid as nobody, device up before the parent exited"

# 3. A second instance with the same pid file is refused before it touches anything.
start_a -d mvx%d -l 3299
st=$?
[ $st -ne 0 ] || fail "a second instance with the same pid file started"
grep -q "locked" "$T_DIR/a-start.out" || fail "second instance: $(cat "$T_DIR/a-start.out")"
t_link_exists a mvx0 && fail "the refused instance created a device"
[ "$(cat "$RUN/a.pid")" = "$pid" ] || fail "the refused instance changed the pid file"
log "second instance refused: $(cat "$T_DIR/a-start.out" | tail -n 2 | head -n 1)"

# 4. Traffic with a peer, across key rotations (every 3 s), stats file writes (every 2 s) and
#    a reconnect, all as nobody.
t_node b -d mvd%d -p samepassword --ip 10.7.0.2/24 -l 3210 --no-port-forwarding
t_wait_ping 20 a 10.7.0.2 || fail "no ping from the daemon's namespace through the tunnel"
t_ping b 10.7.0.1 || fail "no ping to the daemon's address"
sleep 8
t_ping a 10.7.0.2 5 || fail "traffic stopped after key rotations"
# the stats file (created by root, kept open) is still rewritten every 2 s as nobody
grep -q "192.0.2.2:3210" "$RUN/a.stats" || fail "stats file not written after the drop"
: >"$RUN/a.stats"
t_wait 5 grep -q "192.0.2.2:3210" "$RUN/a.stats" || fail "stats file not rewritten"
t_stop b TERM || fail "node b did not stop cleanly"
t_wait 10 grep -q "disconnected: closed by the peer" "$T_DIR/a.log" || fail "CLOSE not seen by a"
t_node b -d mvd%d -p samepassword --ip 10.7.0.2/24 -l 3210 --no-port-forwarding
t_wait_ping 30 a 10.7.0.2 || fail "the daemon (as nobody) did not reconnect"
log "traffic ok: rotations, stats file writes and a reconnect after the privilege drop"

# 5. SIGTERM: the process ends, ifdown ran as nobody, pid file and device are gone.
kill -TERM "$pid"
t_wait 10 gone "$pid" || fail "daemon still running 10 s after SIGTERM"
T_PIDS=$(echo "$T_PIDS" | tr ' ' '\n' | grep -v "^$pid:" | tr '\n' ' ')
[ -e "$RUN/a.pid" ] && fail "pid file left after SIGTERM"
t_link_exists a mvd0 && fail "device left after SIGTERM"
[ "$(cat "$RUN/ifdown" 2>/dev/null)" = "mvd0 $NOBODY_UID" ] ||
	fail "ifdown: '$(cat "$RUN/ifdown" 2>/dev/null)', expected 'mvd0 $NOBODY_UID'"
grep -q "meshvpn stopped" "$T_DIR/a.log" || fail "no orderly shutdown in the log"
log "SIGTERM ok: pid file and device removed, ifdown ran as nobody"

# 6. systemd readiness (Type=notify): READY=1 once the device is up, STOPPING=1 at shutdown;
#    and --fix-rp-filter.
${CC:-cc} -std=gnu11 -O2 -o "$T_DIR/sdnotify" "$(dirname "$0")/../tools/sdnotify.c" ||
	fail "building sdnotify"
t_spawn a notify "$T_DIR/sdnotify" "$T_DIR/notify.sock" mvn0 60
t_wait 5 test -S "$T_DIR/notify.sock" || fail "notify socket did not appear"
chmod 0777 "$T_DIR/notify.sock" # like /run/systemd/notify: reachable after the drop
export NOTIFY_SOCKET="$T_DIR/notify.sock"
t_spawn a n2 "$MESHVPN" -d mvn%d -p samepassword --ip 10.7.1.1/24 -l 3211 --no-port-forwarding \
	--user nobody --fix-rp-filter --ifup "echo \"\$NOTIFY_SOCKET\" > $T_DIR/ifup-notify"
unset NOTIFY_SOCKET
t_wait 10 grep -q "^READY=1" "$T_DIR/notify.log" || fail "no READY=1"
[ "$(head -n 1 "$T_DIR/notify.log")" = "READY=1 [up]" ] ||
	fail "first notification: '$(head -n 1 "$T_DIR/notify.log")', expected 'READY=1 [up]'"
[ -f "$T_DIR/ifup-notify" ] && [ -z "$(cat "$T_DIR/ifup-notify")" ] ||
	fail "NOTIFY_SOCKET leaked into ifup: $(cat "$T_DIR/ifup-notify")"
# --fix-rp-filter: set to 1, no warning (the daemon above, without it, warned)
[ "$(ip netns exec "$(ns a)" cat /proc/sys/net/ipv4/conf/mvn0/rp_filter)" = 1 ] ||
	fail "--fix-rp-filter did not set rp_filter"
t_log_has n2 "CVE-2019-14899" && fail "rp_filter warning despite --fix-rp-filter"
grep -q "rp_filter of mvd0 is 0, not 1.*CVE-2019-14899" "$T_DIR/a.log" || fail "no rp_filter warning"
t_stop n2 TERM || fail "notify node did not stop cleanly"
t_wait 5 grep -q "^STOPPING=1" "$T_DIR/notify.log" || fail "no STOPPING=1"
[ "$(grep -c "^READY=1" "$T_DIR/notify.log")" -eq 1 ] || fail "READY=1 sent more than once"
log "notify ok: $(tr '\n' ',' <"$T_DIR/notify.log")"
exit 0

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Churn soak: six nodes (a..f) in network namespaces on one bridge, built with
# AddressSanitizer, LeakSanitizer and UBSan, under iperf3 load (a->d, b->e, c->f: pairs that
# are not configured peers of each other, so they meet through peer exchange). For SOAK_TIME
# seconds a random node is stopped every SOAK_INTERVAL seconds, with SIGTERM or SIGKILL at
# random, and started again 1-4 s later (at most two are down at a time).
#
# Fails on: any sanitizer report in a node's or a ctl's output; a node that dies by itself;
# a SIGTERM that does not end the node within 10 s or ends it with a status other than 0
# (LeakSanitizer runs at that exit); more than 5 + SOAK_PEER_SLACK peers or more than
# SOAK_PENDING_MAX pending handshakes in any sample of `meshvpn ctl stats --json`; an iperf3
# run between two nodes that were both up and settled (SOAK_SETTLE s) at its start and not
# touched during it that does not complete; after the churn, a node that does not see the
# five others as peers within SOAK_REJOIN s, or a lost ping across the rejoined mesh.
#
#   SOAK_TIME=120 SOAK_INTERVAL=3 SOAK_SETTLE=10 SOAK_REJOIN=60 SOAK_PEER_SLACK=1
#   SOAK_PENDING_MAX=10 SOAK_RATE=20M SOAK_SEED=<random> SOAK_LOGS=<dir to copy logs to>
. "$(dirname "$0")/../integration/lib.sh"
t_init
command -v iperf3 >/dev/null || { log "SKIP: no iperf3"; exit 77; }

SOAK_TIME=${SOAK_TIME:-120}
SOAK_INTERVAL=${SOAK_INTERVAL:-3}
SOAK_SETTLE=${SOAK_SETTLE:-10}
SOAK_REJOIN=${SOAK_REJOIN:-60}
SOAK_PEER_SLACK=${SOAK_PEER_SLACK:-1}
SOAK_PENDING_MAX=${SOAK_PENDING_MAX:-10}
SOAK_RATE=${SOAK_RATE:-20M}
SOAK_SEED=${SOAK_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
NODES="a b c d e f"
PAIRS="a:d b:e c:f"
MAX_PEERS=$((5 + SOAK_PEER_SLACK))
SANITIZER_RE='==[0-9]+==(ERROR|WARNING): |runtime error: |Sanitizer has encountered|SUMMARY: [A-Za-z]*Sanitizer'

# Reports go to stderr, which is the node's log; a leak makes the exit status 23.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"
export LSAN_OPTIONS="report_objects=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# Copies the logs out before lib.sh's cleanup removes them, on every exit.
soak_exit() {
	_rc=$?
	if [ $_rc != 0 ] && [ -n "$T_DIR" ]; then
		log "seed was $SOAK_SEED (SOAK_SEED=$SOAK_SEED repeats the kills, not their timing)"
		for f in "$T_DIR"/*.log; do
			grep -Eq "$SANITIZER_RE" "$f" 2>/dev/null || continue
			echo "----- sanitizer report in $(basename "$f")" >&2
			grep -E -B2 -A40 "$SANITIZER_RE" "$f" | head -n 120 >&2
		done
	fi
	if [ -n "${SOAK_LOGS:-}" ] && [ -n "$T_DIR" ]; then
		mkdir -p "$SOAK_LOGS" && cp "$T_DIR"/*.log "$T_DIR"/*.txt "$SOAK_LOGS"/ 2>/dev/null
	fi
	(exit $_rc)
	t_cleanup
}
trap soak_exit EXIT

# get VAR / set VAR VALUE: the per-node and per-pair state lives in variables named by node.
get() { eval "echo \"\${$1:-}\""; }
set_() { eval "$1=\$2"; }
now() { date +%s; }
# rnd N: a number in 0..N-1 from a linear congruential generator seeded with SOAK_SEED, so
# a run's sequence of kills can be repeated (its timing cannot).
RND=$SOAK_SEED
rnd() {
	RND=$(((RND * 1103515245 + 12345) % 2147483648))
	R=$(((RND / 65536) % $1))
}
idx() { echo "$NODES" | tr ' ' '\n' | grep -n "^$1\$" | cut -d: -f1; }
ip_of() { echo "192.0.2.$(idx "$1")"; }
vip_of() { echo "10.9.0.$(idx "$1")"; }
sock_of() { echo "$T_DIR/$1.sock"; }
ctl() { _cn=$1; shift; "$MESHVPN" ctl --socket "$(sock_of "$_cn")" "$@" 2>>"$T_DIR/ctl.log"; }

set -- $(for n in $NODES; do echo "$n $(ip_of "$n")"; done)
t_lan "$@"

# Each node is configured with the next two in the ring; the third one away it learns by
# peer exchange.
for n in $NODES; do
	i=$(idx "$n")
	p1=$((i % 6 + 1))
	p2=$(((i + 1) % 6 + 1))
	cat >"$T_DIR/$n.net" <<EOF
device:
  type: tun
  name: mv%d
listen: 3210
ip: $(vip_of "$n")/24
crypto:
  password: soak
mode: router
port-forwarding: false
peers:
  - 192.0.2.$p1:3210
  - 192.0.2.$p2:3210
management:
  socket: $(sock_of "$n")
EOF
done

start_node() {
	echo "=== soak: start at $(now)" >>"$T_DIR/$1.log"
	t_node "$1" --config "$T_DIR/$1.net"
	set_ "up_$1" 1
	set_ "since_$1" "$(now)"
}

# stop_node NODE SIG: signals the node and reaps it; a SIGTERM must end it within 10 s
# with status 0.
stop_node() {
	_sn=$1 _sig=$2 _sp=$(t_pid "$1")
	set_ "up_$_sn" 0
	set_ "epoch_$_sn" $(($(get "epoch_$_sn") + 1))
	echo "=== soak: SIG$_sig at $(now)" >>"$T_DIR/$_sn.log"
	kill -"$_sig" "$_sp" 2>/dev/null || fail "node $_sn (pid $_sp) was already gone"
	_si=0
	while kill -0 "$_sp" 2>/dev/null && [ $_si -lt 100 ]; do sleep 0.1; _si=$((_si + 1)); done
	if kill -0 "$_sp" 2>/dev/null; then
		kill -KILL "$_sp"
		wait "$_sp"
		fail "node $_sn did not end within 10 s of SIG$_sig"
	fi
	wait "$_sp"
	_st=$?
	T_PIDS=$(echo "$T_PIDS" | tr ' ' '\n' | grep -v "^$_sp:" | tr '\n' ' ')
	if [ "$_sig" = TERM ]; then
		N_TERM=$((N_TERM + 1))
		[ "$_st" = 0 ] || fail "node $_sn exited with status $_st after SIGTERM"
	else
		N_KILL=$((N_KILL + 1))
	fi
}

# handles_term NODE: its current run has blocked the signals it reads from its signalfd
# (the loop is set up before the socket, which logs "Listening on"). A SIGTERM before that,
# while the process loads, kills it by the default action (status 143) having created nothing.
handles_term() {
	awk '/^=== soak: start/ { l = 0 } /Listening on/ { l = 1 } END { exit !l }' "$T_DIR/$1.log"
}

sanitizer_check() {
	for f in "$T_DIR"/*.log; do
		if grep -Eq "$SANITIZER_RE" "$f"; then
			grep -E -B2 -A40 "$SANITIZER_RE" "$f" | head -n 120 >&2
			fail "sanitizer report in $(basename "$f")"
		fi
	done
}

# The peer table and the pending handshakes of every running node, sampled.
MAX_SEEN_PEERS=0
MAX_SEEN_PENDING=0
N_SAMPLES=0
sample() {
	for n in $NODES; do
		[ "$(get "up_$n")" = 1 ] || continue
		_js=$(ctl "$n" stats --json) || continue
		_pe=$(echo "$_js" | sed -n 's/.*"peers":\([0-9]*\).*/\1/p')
		_pd=$(echo "$_js" | sed -n 's/.*"pending-handshakes":\([0-9]*\).*/\1/p')
		[ -n "$_pe" ] && [ -n "$_pd" ] || fail "stats of $n unreadable: $_js"
		echo "$(now) $n peers=$_pe pending=$_pd" >>"$T_DIR/samples.txt"
		N_SAMPLES=$((N_SAMPLES + 1))
		[ "$_pe" -gt "$MAX_SEEN_PEERS" ] && MAX_SEEN_PEERS=$_pe
		[ "$_pd" -gt "$MAX_SEEN_PENDING" ] && MAX_SEEN_PENDING=$_pd
		[ "$_pe" -le "$MAX_PEERS" ] || fail "node $n has $_pe peers (at most $MAX_PEERS)"
		[ "$_pd" -le "$SOAK_PENDING_MAX" ] ||
			fail "node $n has $_pd pending handshakes (at most $SOAK_PENDING_MAX)"
	done
}

# iperf3 per pair: idle -> server started -> client running -> judged -> idle.
IPERF_OK=0
IPERF_CUT=0	# an end was stopped during the run
IPERF_EARLY=0	# failed, but an end had been up less than SOAK_SETTLE s at the start
IPERF_MBIT=""
pair_step() {
	_c=${1%%:*} _s=${1##*:}
	_ph=$(get "ph_$_c")
	case "${_ph:-idle}" in
	idle)
		[ "$(get "up_$_c")" = 1 ] && [ "$(get "up_$_s")" = 1 ] || return 0
		t_spawn "$_s" "ips_$_s" timeout -k 2 20 iperf3 -s -1 -B "$(vip_of "$_s")" \
			--rcv-timeout 5000
		set_ "ph_$_c" server
		;;
	server)
		if [ "$(get "up_$_c")" != 1 ] || [ "$(get "up_$_s")" != 1 ]; then
			# an end was stopped since the server started: no run this time
			t_alive "ips_$_s" && kill -TERM "$(t_pid "ips_$_s")"
			reap "ips_$_s"
			set_ "ph_$_c" idle
			return 0
		fi
		if ! t_alive "ips_$_s"; then
			# cannot bind before the node has configured its address again
			reap "ips_$_s"
			set_ "ph_$_c" idle
			return 0
		fi
		ip netns exec "$(ns "$_s")" ss -ltn 2>/dev/null | grep -q "$(vip_of "$_s"):5201" ||
			return 0
		_t0=$(now)
		_settled=1
		for _x in "$_c" "$_s"; do
			[ $((_t0 - $(get "since_$_x"))) -ge "$SOAK_SETTLE" ] || _settled=0
		done
		set_ "settled_$_c" $_settled
		set_ "ep_$_c" "$(get "epoch_$_c"):$(get "epoch_$_s")"
		rm -f "$T_DIR/iperf-$_c.out"
		ip netns exec "$(ns "$_c")" timeout -k 2 15 iperf3 -c "$(vip_of "$_s")" -t 4 \
			-b "$SOAK_RATE" -f m --connect-timeout 3000 --snd-timeout 3000 \
			>"$T_DIR/iperf-$_c.out" 2>&1 &
		T_PIDS="$T_PIDS $!:ipc_$_c"
		set_ "PID_ipc_$_c" $!
		set_ "ph_$_c" client
		;;
	client)
		t_alive "ipc_$_c" && return 0
		reap "ipc_$_c"
		_rc=$REAPED
		t_alive "ips_$_s" && kill -TERM "$(t_pid "ips_$_s")"
		reap "ips_$_s"
		set_ "ph_$_c" idle
		if [ "$(get "ep_$_c")" != "$(get "epoch_$_c"):$(get "epoch_$_s")" ]; then
			IPERF_CUT=$((IPERF_CUT + 1))
		elif [ "$_rc" = 0 ]; then
			IPERF_OK=$((IPERF_OK + 1))
			_mb=$(awk '/receiver/ {print $7}' "$T_DIR/iperf-$_c.out")
			IPERF_MBIT="$IPERF_MBIT $_mb"
		elif [ "$(get "settled_$_c")" = 0 ]; then
			IPERF_EARLY=$((IPERF_EARLY + 1))
			echo "=== $(now) $_c -> $_s failed (status $_rc), an end up < $SOAK_SETTLE s" \
				>>"$T_DIR/iperf.log"
		else
			cat "$T_DIR/iperf-$_c.out" >&2
			fail "iperf3 $_c -> $_s failed (status $_rc) with both ends up and settled"
		fi
		cat "$T_DIR/iperf-$_c.out" >>"$T_DIR/iperf.log"
		;;
	esac
}

# reap NAME: waits for a process that has ended (or is being ended); status in REAPED.
reap() {
	_rp=$(t_pid "$1")
	_ri=0
	while kill -0 "$_rp" 2>/dev/null && [ $_ri -lt 50 ]; do sleep 0.1; _ri=$((_ri + 1)); done
	kill -KILL "$_rp" 2>/dev/null
	wait "$_rp"
	REAPED=$?
	T_PIDS=$(echo "$T_PIDS" | tr ' ' '\n' | grep -v "^$_rp:" | tr '\n' ' ')
}

# peers_of NODE: the addresses in its peer table, one a line
peers_of() {
	ctl "$1" peers --json | grep -o '"address":"[^"]*"' | cut -d'"' -f4 | sort
}
sees_all() {
	_want=$(for x in $NODES; do [ "$x" = "$1" ] || echo "$(ip_of "$x"):3210"; done | sort)
	[ "$(peers_of "$1")" = "$_want" ]
}
all_see_all() {
	for n in $NODES; do sees_all "$n" || return 1; done
}

N_TERM=0
N_KILL=0
for n in $NODES; do
	set_ "epoch_$n" 0
	start_node "$n"
done
log "seed $SOAK_SEED; $SOAK_TIME s of churn every $SOAK_INTERVAL s, iperf3 $PAIRS at $SOAK_RATE"
t_wait 60 all_see_all || fail "the mesh did not form within 60 s"
t_wait_ping 10 a "$(vip_of d)" || fail "no tunnel a -> d"
log "mesh formed: every node sees the five others"

t_start=$(now)
t_end=$((t_start + SOAK_TIME))
next_churn=$((t_start + SOAK_INTERVAL))
next_sample=$t_start
while [ "$(now)" -lt "$t_end" ]; do
	t=$(now)
	for n in $NODES; do
		if [ "$(get "up_$n")" = 1 ]; then
			t_alive "$n" && continue
			wait "$(t_pid "$n")"
			fail "node $n died by itself (status $?)"
		elif [ "$t" -ge "$(get "back_$n")" ]; then
			start_node "$n"
		fi
	done
	if [ "$t" -ge "$next_churn" ]; then
		next_churn=$((t + SOAK_INTERVAL))
		up=""
		down=0
		for n in $NODES; do
			if [ "$(get "up_$n")" = 1 ]; then up="$up $n"; else down=$((down + 1)); fi
		done
		rnd 2
		if [ $R = 0 ]; then sig=TERM; else sig=KILL; fi
		# SIGTERM only once the node handles it (any node may get SIGKILL)
		[ $sig = TERM ] && up=$(for n in $up; do handles_term "$n" && echo "$n"; done)
		if [ $down -lt 2 ] && [ -n "$up" ]; then
			set -- $up
			rnd $#
			shift $R
			victim=$1
			rnd 4
			stop_node "$victim" $sig
			set_ "back_$victim" $(($(now) + 1 + R))
		fi
	fi
	for p in $PAIRS; do pair_step "$p"; done
	if [ "$t" -ge "$next_sample" ]; then
		sample
		next_sample=$((t + 2))
	fi
	sleep 0.5
done
log "churn over: $N_TERM SIGTERM, $N_KILL SIGKILL; iperf3 runs: $IPERF_OK complete," \
	"$IPERF_CUT cut by a stop, $IPERF_EARLY failed before the ends settled"
log "peer table samples: $N_SAMPLES, at most $MAX_SEEN_PEERS peers," \
	"$MAX_SEEN_PENDING pending handshakes"
[ -n "$IPERF_MBIT" ] && log "iperf3 receiver Mbit/s of the complete runs (min/mean/max):" \
	"$(echo "$IPERF_MBIT" | tr ' ' '\n' | awk 'NF { s += $1; n++; if (n == 1 || $1 < lo) lo = $1;
		if ($1 > hi) hi = $1 } END { printf "%.1f/%.1f/%.1f", lo, s / n, hi }')"
[ "$IPERF_OK" -gt 0 ] || fail "no iperf3 run completed during the churn"

# Every node up again; the running iperf3 runs finish and are judged.
for n in $NODES; do [ "$(get "up_$n")" = 1 ] || start_node "$n"; done
t_rejoin=$(now)
_w=0
while [ $_w -lt 40 ]; do
	_busy=0
	for p in $PAIRS; do
		_ph=$(get "ph_${p%%:*}")
		[ "${_ph:-idle}" = idle ] && continue
		_busy=1
		[ "$_ph" = server ] && { t_alive "ips_${p##*:}" && kill -TERM "$(t_pid "ips_${p##*:}")"; \
			reap "ips_${p##*:}"; set_ "ph_${p%%:*}" idle; continue; }
		pair_step "$p"
	done
	[ $_busy = 0 ] && break
	sleep 0.5
	_w=$((_w + 1))
done
if ! t_wait "$SOAK_REJOIN" all_see_all; then
	for n in $NODES; do log "$n sees: $(peers_of "$n" | tr '\n' ' ')"; done
	fail "the mesh did not rejoin within $SOAK_REJOIN s of the churn's end"
fi
log "rejoined: every node sees the five others $(($(now) - t_rejoin)) s after the churn"
sample
for x in $NODES; do
	for y in $NODES; do
		[ "$x" = "$y" ] && continue
		t_ping "$x" "$(vip_of "$y")" 2 || fail "ping $x -> $y lost packets after the rejoin"
	done
done
log "full-mesh ping: 30 pairs, no loss"
for p in $PAIRS; do
	_c=${p%%:*} _s=${p##*:}
	t_spawn "$_s" "ips_$_s" timeout -k 2 20 iperf3 -s -1 -B "$(vip_of "$_s")"
	t_wait 5 sh -c "ip netns exec $(ns "$_s") ss -ltn | grep -q $(vip_of "$_s"):5201" ||
		fail "iperf3 server in $_s"
	ip netns exec "$(ns "$_c")" timeout 15 iperf3 -c "$(vip_of "$_s")" -t 3 -b "$SOAK_RATE" \
		-f m >"$T_DIR/iperf-$_c.out" 2>&1 ||
		{ cat "$T_DIR/iperf-$_c.out" >&2; fail "iperf3 $_c -> $_s after the rejoin"; }
	reap "ips_$_s"
done
log "iperf3 after the rejoin: $PAIRS complete"

for n in $NODES; do
	_pid=$(t_pid "$n")
	_rss=$(awk '/^VmRSS/ {print $2}' "/proc/$_pid/status")
	_hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$_pid/status")
	log "node $n: RSS $_rss kB (peak $_hwm kB), up $(($(now) - $(get "since_$n"))) s," \
		"restarted $(get "epoch_$n") times (ASan build: shadow memory and quarantine included)"
done
for n in $NODES; do stop_node "$n" TERM; done
sanitizer_check
log "churn soak ok: $SOAK_TIME s, $N_TERM clean SIGTERM exits, $N_KILL SIGKILL, no sanitizer report"
exit 0

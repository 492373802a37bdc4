#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Secrets never reach the output: node A (a private key in a 0600 config file) and node B (a
# password in a 0644 config file, so it also gets the permissions warning) run with -v -v
# through start, handshake, key rotations (test-only 2 s cycle), management queries,
# /metrics, the stats file and a SIGTERM exit. Everything they printed, the stats files, the
# management answers and /metrics must not contain A's private key, B's password or the
# private key derived from it, nor A's beacon password (given on its command line), while
# the public keys (printed at start) must be there: the search looks at the right text.
# /proc/PID/cmdline and /proc/PID/environ no longer show the values given on the command
# line and in PASSWORD once the node runs.
. "$(dirname "$0")/lib.sh"
t_init
t_ns a b
t_pair a 192.0.2.1 b 192.0.2.2
export MESHVPN_TEST_ROTATE_SECS=2 MESHVPN_TEST_STATS_SECS=2

keyline() { sed -n "s/^$1 key: //p"; }
gen=$("$MESHVPN" genkey) || fail "genkey"
a_priv=$(echo "$gen" | keyline Private)
a_pub=$(echo "$gen" | keyline Public)
b_pw="Secr3t-pw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
gen=$("$MESHVPN" genkey -p "$b_pw") || fail "genkey -p"
b_priv=$(echo "$gen" | keyline Private)
b_pub=$(echo "$gen" | keyline Public)
a_bpw="Beac0n-pw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
[ -n "$a_priv" ] && [ -n "$b_priv" ] && [ -n "$a_pub" ] && [ -n "$b_pub" ] || fail "no keys"

for n in a b; do
	ip=1
	[ $n = b ] && ip=2
	{
		echo "device: {type: tun, name: mvs%d}"
		echo "ip: 10.8.0.$ip/24"
		echo "listen: 3210"
		echo "port-forwarding: false"
		echo "stats-file: $T_DIR/$n.stats"
		echo "management: {socket: $T_DIR/$n.sock}"
		echo "crypto:"
		[ $n = a ] && echo "  private-key: $a_priv" || echo "  password: '$b_pw'"
		echo "  trusted-keys: [$a_pub, $b_pub]"
	} >"$T_DIR/$n.net"
done
echo "metrics-listen: 192.0.2.1:9101" >>"$T_DIR/a.net"
echo "strict-perms: true" >>"$T_DIR/a.net" # and it is 0600: A starts
chmod 600 "$T_DIR/a.net"
chmod 644 "$T_DIR/b.net"

PASSWORD=$b_pw t_node b --config "$T_DIR/b.net" -v -v
t_wait 10 t_log_has b "Node mvs0 running" || fail "node b did not start"
t_node a --config "$T_DIR/a.net" -v -v -c 192.0.2.2 --beacon-password "$a_bpw"
t_wait_ping 15 a 10.8.0.2 || fail "tunnel did not come up"
tr '\0' ' ' <"/proc/$(t_pid a)/cmdline" | grep -q -- "--beacon-password" ||
	fail "a: cannot read its command line"
tr '\0' '\n' <"/proc/$(t_pid a)/cmdline" | grep -qF -- "$a_bpw" &&
	fail "a: the beacon password is still in /proc/PID/cmdline"
tr '\0' '\n' <"/proc/$(t_pid b)/environ" | grep -qF -- "$b_pw" &&
	fail "b: the password is still in /proc/PID/environ"
ip netns exec "$(ns a)" ping -c 200 -i 0.02 -q 10.8.0.2 >/dev/null 2>&1 # traffic across rotations
t_wait 10 sh -c "[ \$(grep -c 'new key installed' '$T_DIR/a.log') -ge 2 ]" ||
	fail "fewer than 2 key rotations"
for n in a b; do
	for q in status peers stats; do
		"$MESHVPN" ctl --socket "$T_DIR/$n.sock" --json $q >>"$T_DIR/$n-mgmt.out" 2>&1 ||
			fail "$n: ctl $q"
	done
done
ip netns exec "$(ns a)" curl -sf http://192.0.2.1:9101/metrics >"$T_DIR/metrics.out" ||
	fail "no /metrics"
t_stop a TERM || fail "a did not exit cleanly"
t_stop b TERM || fail "b did not exit cleanly"

out="$T_DIR/a.log $T_DIR/b.log $T_DIR/a.stats $T_DIR/b.stats $T_DIR/a-mgmt.out $T_DIR/b-mgmt.out
$T_DIR/metrics.out"
# the search reads the right text: public keys, warning and debug lines are there
for k in "$a_pub" "$b_pub"; do
	cat $out | grep -qF "$k" || fail "public key $k not in the output (wrong files?)"
done
t_log_has b "b.net holds crypto.password but has mode 0644" || fail "b: no permissions warning"
t_log_has a "DEBUG" || fail "a: no debug lines"
t_log_has a "Received signal 15" || fail "a: no exit logged"
for s in "$a_priv" "$b_pw" "$b_priv" "$a_bpw"; do
	if grep -nF -- "$s" $out >"$T_DIR/leak" 2>/dev/null; then
		cat "$T_DIR/leak" >&2
		fail "a secret is in the output"
	fi
done
# --strict-perms refuses B's file (0644) before anything is set up, without the password
# (A started with strict-perms and its 0600 file)
st=0
ip netns exec "$(ns b)" "$MESHVPN" --config "$T_DIR/b.net" --strict-perms -d mvz%d \
	>"$T_DIR/strict.out" 2>&1 || st=$?
[ $st -eq 2 ] || fail "--strict-perms: exit status $st: $(cat "$T_DIR/strict.out")"
grep -q "b.net holds crypto.password but has mode 0644 (readable by everyone); refusing" \
	"$T_DIR/strict.out" || fail "--strict-perms: $(cat "$T_DIR/strict.out")"
grep -qF -- "$b_pw" "$T_DIR/strict.out" && fail "--strict-perms printed the password"
t_link_exists b mvz0 && fail "--strict-perms: a device was created"
log "$(cat $out | wc -l) lines of logs, stats, management answers and metrics: no secret"
exit 0

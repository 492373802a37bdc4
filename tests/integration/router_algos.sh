#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Two nodes, TUN router mode, ping both ways with each algorithm (AES-128-GCM, AES-256-GCM,
# ChaCha20-Poly1305, and plain when both allow only it); the log names the cipher in use.
# Also: random keys from genkey with --trusted-key on both sides.
. "$(dirname "$0")/lib.sh"
t_init
t_ns a b
t_pair a 192.0.2.1 b 192.0.2.2

run_pair() { # ALGO (log name) ARGS...
	algo=$1
	shift
	t_node a -t tun -d mv%d --ip 10.2.0.1/24 -l 3210 -c 192.0.2.2:3210 -m router \
		--no-port-forwarding "$@"
	t_node b -t tun -d mv%d --ip 10.2.0.2/24 -l 3210 -m router --no-port-forwarding "$@"
	t_wait_ping 15 a 10.2.0.2 || fail "$algo: tunnel did not come up"
	t_ping a 10.2.0.2 5 || fail "$algo: ping a->b lost packets"
	t_ping b 10.2.0.1 5 || fail "$algo: ping b->a lost packets"
	t_log_has a "Connected to 192.0.2.2:3210 \($algo\)" || fail "$algo: not the cipher in use"
	t_log_has b "Connected to 192.0.2.1:3210 \($algo\)" || fail "$algo: b not on $algo"
	t_stop a || fail "$algo: a exit status $?"
	t_stop b || fail "$algo: b exit status $?"
	: >"$T_DIR/a.log"
	: >"$T_DIR/b.log"
	log "$algo ok"
}

run_pair AES128 -p pw1 --algo aes128
run_pair AES256 -p pw2 --algo aes256
run_pair CHACHA20 -p pw3 --algorithm chacha20
run_pair PLAIN -p pw4 --algo plain

# key pairs from genkey; each side trusts the other's public key
ka=$("$MESHVPN" genkey) && kb=$("$MESHVPN" genkey) || fail "genkey"
priv_a=$(echo "$ka" | sed -n 's/^Private key: //p') pub_a=$(echo "$ka" | sed -n 's/^Public key: //p')
priv_b=$(echo "$kb" | sed -n 's/^Private key: //p') pub_b=$(echo "$kb" | sed -n 's/^Public key: //p')
t_node a -d mv%d --ip 10.2.0.1/24 -c 192.0.2.2:3210 --no-port-forwarding \
	--private-key "$priv_a" --trusted-key "$pub_a" --trusted-key "$pub_b"
t_node b -d mv%d --ip 10.2.0.2/24 --no-port-forwarding \
	--key "$priv_b" --trust "$pub_a,$pub_b"
t_wait_ping 15 a 10.2.0.2 || fail "keys: tunnel did not come up"
t_ping b 10.2.0.1 3 || fail "keys: ping b->a"
log "genkey keys ok"
exit 0

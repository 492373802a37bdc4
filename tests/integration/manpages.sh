#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The manual pages stay complete and clean: every long and short option of src/cli.c's option
# tables and every subcommand appear in meshvpn.8, every configuration key of src/config.c's
# key tables and every hook event in meshvpn.net.5, every option of wsproxy/wsproxy.c in
# meshvpn-wsproxy.8; groff -wall and mandoc -Tlint (warning level) report nothing. Needs no
# root.
top=$(cd "$(dirname "$0")/../.." && pwd)
man8=$top/man/meshvpn.8
man5=$top/man/meshvpn.net.5
man8w=$top/man/meshvpn-wsproxy.8
failed=0
bad() {
	echo "[manpages] FAIL: $*" >&2
	failed=1
}
command -v groff >/dev/null || { echo "[manpages] SKIP: no groff" >&2; exit 77; }

# roff writes a hyphen in an option as \-
roff() { printf '%s' "$1" | sed 's/-/\\\\-/g'; }

for opt in $(sed -n 's/^ *{"\([a-z_-]*\)", *\(required\|no\)_argument.*/\1/p' "$top/src/cli.c" | sort -u); do
	grep -q "\\\\-\\\\-$(roff "$opt")\\b" "$man8" || bad "option --$opt missing in meshvpn.8"
done
shorts=$(sed -n 's/^static const char node_shortopts\[\] = "+:\(.*\)";/\1/p' "$top/src/cli.c" | tr -d ':')
[ -n "$shorts" ] || bad "cannot read the short options from src/cli.c"
for c in $(echo "$shorts" | sed 's/./& /g'); do
	grep -q "^\.B[RI]* \\\\-$c\\b" "$man8" || bad "option -$c missing in meshvpn.8"
done
for cmd in $(sed -n 's/^ *{"\([a-z-]*\)", CLI_.*/\1/p' "$top/src/cli.c"); do
	grep -q "$(roff "$cmd")" "$man8" || bad "subcommand $cmd missing in meshvpn.8"
done
for key in $(grep -oE 'K[SXUBFM]\("[a-z-]+"' "$top/src/config.c" | sed 's/.*("//; s/"//' | sort -u); do
	grep -q "$(roff "$key")" "$man5" || bad "key $key missing in meshvpn.net.5"
done
for ev in device_setup device_configured vpn_started peer_connecting peer_connected \
	peer_disconnected vpn_shutdown; do
	grep -q "$ev" "$man5" || bad "event $ev missing in meshvpn.net.5"
	grep -q "$ev" "$man8" || bad "event $ev missing in meshvpn.8"
done
wsp=$top/wsproxy/wsproxy.c
for opt in $(sed -n 's/^ *{"\([a-z_-]*\)", *\(required\|no\)_argument.*/\1/p' "$wsp" | sort -u); do
	grep -q "\\\\-\\\\-$(roff "$opt")\\b" "$man8w" || bad "option --$opt missing in meshvpn-wsproxy.8"
done
wshorts=$(sed -n 's/^static const char short_opts\[\] = "+:\(.*\)";/\1/p' "$wsp" | tr -d ':')
[ -n "$wshorts" ] || bad "cannot read the short options from wsproxy/wsproxy.c"
for c in $(echo "$wshorts" | sed 's/./& /g'); do
	grep -q "^\.B[RI]* \\\\-$c\\b" "$man8w" || bad "option -$c missing in meshvpn-wsproxy.8"
done
grep -q "meshvpn\\\\-wsproxy (8)" "$man8" || bad "meshvpn.8 does not refer to meshvpn-wsproxy(8)"
for page in "$man8" "$man5" "$man8w"; do
	out=$(groff -wall -man -z "$page" 2>&1)
	[ -z "$out" ] || bad "groff: $out"
	if command -v mandoc >/dev/null; then
		out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
		[ -z "$out" ] || bad "mandoc: $out"
	fi
done
[ $failed -eq 0 ] && echo "[manpages] every option, subcommand, key and event documented (meshvpn, meshvpn-wsproxy); lint clean" >&2
exit $failed

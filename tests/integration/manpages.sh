#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The manual pages stay complete and clean: every long and short option, subcommand and hook
# event the program knows (meshvpn --dump-options, from its options table) appears in
# meshvpn.8, every configuration key and hook event in meshvpn.net.5, every option of
# wsproxy/wsproxy.c in meshvpn-wsproxy.8, every metric family of src/metrics.c in meshvpn.8
# (and in include/meshvpn/metrics.h); groff -wall and mandoc -Tlint (warning level) report
# nothing. Needs no root.
top=$(cd "$(dirname "$0")/../.." && pwd)
MESHVPN=${MESHVPN:-$top/meshvpn}
man8=$top/man/meshvpn.8
man5=$top/man/meshvpn.net.5
man8w=$top/man/meshvpn-wsproxy.8
failed=0
bad() {
	echo "[manpages] FAIL: $*" >&2
	failed=1
}
command -v groff >/dev/null || { echo "[manpages] SKIP: no groff" >&2; exit 77; }
[ -x "$MESHVPN" ] || { echo "[manpages] FAIL: $MESHVPN missing (run make)" >&2; exit 1; }

# roff writes a hyphen in an option as \-; a key is also a regular expression: quote the dots
roff() { printf '%s' "$1" | sed 's/-/\\\\-/g'; }
re() { roff "$1" | sed 's/\./\\./g'; }

list=$("$MESHVPN" --dump-options) || { echo "[manpages] FAIL: meshvpn --dump-options" >&2; exit 1; }
seen=""
while read -r kind name; do
	case $kind in
	long)
		grep -q "\\\\-\\\\-$(roff "$name")\\b" "$man8" || bad "option --$name missing in meshvpn.8" ;;
	short)
		grep -q "^\.B[RI]* \\\\-$name\\b" "$man8" || bad "option -$name missing in meshvpn.8" ;;
	command)
		grep -q "$(roff "$name")" "$man8" || bad "subcommand $name missing in meshvpn.8" ;;
	key)
		# a key is the heading of its own entry: ".BR device.type (...)"
		grep -q "^\.B[RI]* $(re "$name")\\( \\|\$\\)" "$man5" || bad "key $name missing in meshvpn.net.5" ;;
	event)
		grep -q "$name" "$man5" || bad "event $name missing in meshvpn.net.5"
		grep -q "$name" "$man8" || bad "event $name missing in meshvpn.8" ;;
	*)
		bad "unexpected line from --dump-options: $kind $name" ;;
	esac
	case " $seen " in *" $kind "*) ;; *) seen="$seen $kind" ;; esac
done <<EOF
$list
EOF
# an empty or truncated list would check nothing
for kind in long short command key event; do
	case " $seen " in *" $kind "*) ;; *) bad "--dump-options lists no $kind" ;; esac
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
# every family of the node's metrics page (metrics_node_families in src/metrics.c) has its
# entry in meshvpn.8's METRICS section and is listed in include/meshvpn/metrics.h
fams=$(sed -n 's/^[[:space:]]*F(MF_[A-Z_]*, "\([a-z_]*\)".*/meshvpn_\1/p' "$top/src/metrics.c")
[ "$(echo "$fams" | wc -w)" -ge 20 ] || bad "cannot read the metric families from src/metrics.c"
for f in $fams; do
	grep -q "^\.B $f\\b" "$man8" || bad "metric family $f missing in meshvpn.8"
	grep -q " $f\\b" "$top/include/meshvpn/metrics.h" || bad "metric family $f missing in metrics.h"
done
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

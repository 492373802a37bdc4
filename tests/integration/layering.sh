#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The node's files call each other in one direction only (src/node_int.h): a file may call
# the files listed after it, never one listed before it. Checked on the built objects with
# nm, so a call added anywhere (even through a macro) is seen. Needs no root.
top=$(cd "$(dirname "$0")/../.." && pwd)
obj=$top/build/obj
order="node control forward hub exchange peers own send"
command -v nm >/dev/null || { echo "[layering] SKIP: no nm" >&2; exit 77; }
for f in $order; do
	[ -f "$obj/$f.o" ] || { echo "[layering] FAIL: $obj/$f.o missing (run make)" >&2; exit 1; }
done
failed=0
above=""
for f in $order; do
	# what f calls that a file above it defines
	for g in $above; do
		for s in $(nm -u "$obj/$f.o" | awk '{print $2}'); do
			if nm "$obj/$g.o" | awk '$2 == "T" {print $3}' | grep -qx "$s"; then
				echo "[layering] FAIL: src/$f.c calls $s of src/$g.c (upwards)" >&2
				failed=1
			fi
		done
	done
	above="$above $f"
done
[ $failed -eq 0 ] && echo "[layering] $order: every call goes downwards" >&2
exit $failed

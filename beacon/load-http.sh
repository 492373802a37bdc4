#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# load-http.sh - beacon load command: prints what each URL serves (http, https, ftp, file),
# for the node to find the beacons in. Succeeds when at least one URL could be read, so one
# node that is down does not hide the others' beacons.
#
#   beacon:
#     load: "|/usr/share/meshvpn/beacon/load-http.sh https://www.example.com/mesh/node1.txt https://www.example.com/mesh/node2.txt"
#
# Settings such as credentials: a curl config file in BEACON_CURLRC, or ~/.netrc.
# At most 1 MiB per URL. Needs: curl.
set -u
prog=${0##*/}
die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

[ $# -ge 1 ] || die "usage: $prog URL..."
command -v curl >/dev/null 2>&1 || die "curl not found; install it (Debian: apt-get install curl)"
if [ -n "${BEACON_CURLRC:-}" ] && [ ! -r "$BEACON_CURLRC" ]; then
	die "BEACON_CURLRC=$BEACON_CURLRC: cannot read it"
fi
ok=0
for url in "$@"; do
	# a newline after each document keeps one file's end apart from the next one's start
	if curl --silent --show-error --fail --netrc-optional --max-time 30 --max-filesize 1048576 \
		${BEACON_CURLRC:+--config} ${BEACON_CURLRC:+"$BEACON_CURLRC"} "$url"; then
		ok=1
		echo
	else
		printf '%s: %s: download failed\n' "$prog" "$url" >&2
	fi
done
[ $ok -eq 1 ] || die "no URL could be read"

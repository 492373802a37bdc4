#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# load-dns.sh - beacon load command: prints the TXT records of each NAME (as store-nsupdate.sh
# or an administrator published them) for the node to find the beacons in. Succeeds when at
# least one name has TXT records.
#
#   beacon:
#     load: "|/usr/share/meshvpn/beacon/load-dns.sh node1.mesh.example.com node2.mesh.example.com"
#
# Environment: BEACON_DNS_SERVER  resolver to ask (default: the system's).
# Needs: dig (Debian: bind9-dnsutils) or host (bind9-host).
set -u
prog=${0##*/}
die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

[ $# -ge 1 ] || die "usage: $prog NAME..."
if command -v dig >/dev/null 2>&1; then
	tool=dig
elif command -v host >/dev/null 2>&1; then
	tool=host
else
	die "neither dig nor host found; install one (Debian: apt-get install bind9-dnsutils)"
fi
server=${BEACON_DNS_SERVER:-}
ok=0
for name in "$@"; do
	case $name in *[!A-Za-z0-9._-]* | "" | .*) die "$name: not a DNS name" ;; esac
	if [ $tool = dig ]; then
		out=$(dig +short +time=5 +tries=2 ${server:+"@$server"} "$name" TXT) || out=
	else
		out=$(host -W 5 -t TXT "$name" ${server:+"$server"} | sed -n 's/.* descriptive text //p') ||
			out=
	fi
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		ok=1
	else
		printf '%s: %s: no TXT record\n' "$prog" "$name" >&2
	fi
done
[ $ok -eq 1 ] || die "no name has a TXT record"

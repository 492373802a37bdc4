#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# store-nsupdate.sh - beacon store command: publishes the beacon as the TXT record of NAME
# with a dynamic DNS update (RFC 2136), replacing the previous TXT records of NAME.
#
#   beacon:
#     store: "|BEACON_NSUPDATE_KEY=/etc/meshvpn/office.key /usr/share/meshvpn/beacon/store-nsupdate.sh node1.mesh.example.com"
#
# Environment:
#   beacon               the beacon (set by the node)
#   BEACON_NSUPDATE_KEY  TSIG key file for nsupdate -k (e.g. from tsig-keygen); without it
#                        the server must allow unsigned updates of the name
#   BEACON_DNS_SERVER    server to send the update to (default: the zone's primary, found
#                        by nsupdate through the SOA record)
#   BEACON_DNS_TTL       TTL of the record in seconds (default 300)
# Use one name per node: each update replaces all TXT records of the name. Needs: nsupdate
# (Debian: bind9-dnsutils), fold.
set -u
prog=${0##*/}
die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $prog NAME"
name=$1
case $name in *[!A-Za-z0-9._-]* | "" | .*) die "$name: not a DNS name" ;; esac
command -v nsupdate >/dev/null 2>&1 ||
	die "nsupdate not found; install it (Debian: apt-get install bind9-dnsutils)"
command -v fold >/dev/null 2>&1 || die "fold not found (coreutils)"
[ -n "${beacon:-}" ] || die "\$beacon is not set; run me as the node's beacon store command"
case $beacon in *[!A-Za-z0-9]*) die "\$beacon is not a beacon (letters and digits only)" ;; esac
ttl=${BEACON_DNS_TTL:-300}
case $ttl in "" | *[!0-9]*) die "BEACON_DNS_TTL=$ttl: not a number of seconds" ;; esac
set --
if [ -n "${BEACON_NSUPDATE_KEY:-}" ]; then
	[ -r "$BEACON_NSUPDATE_KEY" ] || die "BEACON_NSUPDATE_KEY=$BEACON_NSUPDATE_KEY: cannot read it"
	set -- -k "$BEACON_NSUPDATE_KEY"
fi
# A TXT string holds at most 255 bytes; a longer beacon is split, and readers join the
# strings (the decoder ignores the quotes and blanks between them).
txt=$(printf '%s\n' "$beacon" | fold -w 255 | sed 's/.*/"&"/' | tr '\n' ' ')
txt=${txt% }
{
	[ -n "${BEACON_DNS_SERVER:-}" ] && echo "server $BEACON_DNS_SERVER"
	echo "update delete $name TXT"
	echo "update add $name $ttl TXT $txt"
	echo "send"
} | nsupdate "$@" || die "DNS update of $name failed"

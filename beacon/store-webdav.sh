#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# store-webdav.sh - beacon store command: uploads the beacon with HTTP PUT (a WebDAV share,
# or any web server that accepts PUT) to URL, which names the file.
#
#   beacon:
#     store: "|/usr/share/meshvpn/beacon/store-webdav.sh https://dav.example.com/mesh/node1.txt"
#
# Credentials and other curl settings: a curl config file in BEACON_CURLRC (read with
# curl --config, e.g. a line  user = "name:secret"), or ~/.netrc of the node's user.
# Environment (set by the node): beacon (the full beacon; begin, data and end are ignored).
# Needs: curl.
set -u
prog=${0##*/}
die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $prog URL (the file to write, e.g. https://host/dir/node1.txt)"
url=$1
command -v curl >/dev/null 2>&1 || die "curl not found; install it (Debian: apt-get install curl)"
[ -n "${beacon:-}" ] || die "\$beacon is not set; run me as the node's beacon store command"
if [ -n "${BEACON_CURLRC:-}" ] && [ ! -r "$BEACON_CURLRC" ]; then
	die "BEACON_CURLRC=$BEACON_CURLRC: cannot read it"
fi
printf '%s\n' "$beacon" |
	curl --silent --show-error --fail --netrc-optional --max-time 30 \
		${BEACON_CURLRC:+--config} ${BEACON_CURLRC:+"$BEACON_CURLRC"} \
		--upload-file - "$url" >/dev/null || die "upload to $url failed"

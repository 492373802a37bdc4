#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# store-scp.sh - beacon store command: copies the beacon with scp to [USER@]HOST:PATH, e.g.
# into the document root of a web server from which load-http.sh fetches it.
#
#   beacon:
#     store: "|/usr/share/meshvpn/beacon/store-scp.sh beacon@www.example.com:/var/www/mesh/node1.txt"
#
# Runs without a terminal: the node's user needs a key the server accepts without a
# passphrase (ssh-keygen, then ssh-copy-id; best a dedicated key limited on the server, e.g.
# with rrsync or an sftp-only account), and the host key in known_hosts. Extra ssh options
# (e.g. -i KEYFILE -P PORT) in BEACON_SCP_OPTS, split at spaces.
# Environment (set by the node): beacon. Needs: scp (openssh-client), mktemp.
set -u
prog=${0##*/}
die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $prog [USER@]HOST:PATH"
dest=$1
case $dest in *:*) ;; *) die "$dest: not a remote path ([USER@]HOST:PATH)" ;; esac
command -v scp >/dev/null 2>&1 || die "scp not found; install it (Debian: apt-get install openssh-client)"
[ -n "${beacon:-}" ] || die "\$beacon is not set; run me as the node's beacon store command"
tmp=$(mktemp) || die "cannot create a temporary file"
trap 'rm -f "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
printf '%s\n' "$beacon" >"$tmp" || die "cannot write $tmp"
chmod 0644 "$tmp"
# shellcheck disable=SC2086 # BEACON_SCP_OPTS is a list of options
scp -q -B -o ConnectTimeout=20 ${BEACON_SCP_OPTS:-} "$tmp" "$dest" || die "scp to $dest failed"

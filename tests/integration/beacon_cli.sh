#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# `meshvpn beacon` and the scripts in beacon/, as a user and a node's store/load commands use
# them: the PROTOCOL.md 7.7 vectors through --hour 2000, encode/decode round trips on the
# monotonic clock, garbage and wrong passwords (exit 1 with a reason), usage errors (exit 2);
# then each store script writes a beacon with the environment a node gives it and the
# matching load script's output decodes to the same addresses (curl on file:// URLs; scp,
# nsupdate, dig and host replaced by stubs, since no server is at hand), and a missing tool
# gives a clear message. Needs no root.
. "$(dirname "$0")/lib.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ -x "$MESHVPN" ] || { log "binary $MESHVPN missing (run make)"; exit 1; }
T_DIR=$(mktemp -d)
trap t_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

mb() { "$MESHVPN" beacon "$@"; }
# expect WANT CMD...: CMD's standard output is WANT (exit status 0)
expect() {
	_want=$1
	shift
	_got=$("$@" 2>"$T_DIR/err") || fail "$*: exit $?: $(cat "$T_DIR/err")"
	[ "$_got" = "$_want" ] || fail "$*: got '$_got', want '$_want'"
}
# expect_status N PATTERN CMD...: CMD exits with N and its stderr matches PATTERN
expect_status() {
	_n=$1 _pat=$2
	shift 2
	"$@" >"$T_DIR/out" 2>"$T_DIR/err" </dev/null
	_rc=$?
	[ $_rc -eq "$_n" ] || fail "$*: exit $_rc, want $_n ($(cat "$T_DIR/err"))"
	grep -Eq "$_pat" "$T_DIR/err" || fail "$*: stderr '$(cat "$T_DIR/err")' lacks '$_pat'"
}
nl='
'

# 1. The fixed vectors (PROTOCOL.md 7.7) and markers.
V1=WsHI31EWDMBYxvITiILIrm2k9gEik22E
V2=WsHI32gm9eMSHP3Lm1GXcdP7rD3ik22E
V3=WsHI3GXKaXCveo6uejmZizZ72kR6Y0L9T7h49TXONp1ugfKvvvEik22E
expect $V1 mb encode --hour 2000 -p mysecretkey 1.2.3.4:5678 6.6.6.6:53
expect $V2 mb encode --hour 2000 -p mysecretkey 1.2.3.4:5678 6.6.6.6:54
expect $V3 mb encode --hour 2000 -p mysecretkey 1.2.3.4:5678 6.6.6.6:53 '[::1]:5678'
printf '%s\n' $V3 >"$T_DIR/v3"
expect "1.2.3.4:5678${nl}6.6.6.6:53${nl}[::1]:5678" \
	mb decode -p mysecretkey --hour 2000 --ttl 50 "$T_DIR/v3"
expect "PNehe${nl}RFu5I" mb markers
expect "begin=WsHI3${nl}end=ik22E" mb markers --env -p mysecretkey
log "vectors and markers ok"

# 2. Round trips on the monotonic clock, as a VpnCloud reader (TTL 50 h) checks them.
b=$(mb encode -p secret 192.0.2.1:3210 '[2001:db8::7]:3211' 198.51.100.2) || fail "encode"
expect "192.0.2.1:3210${nl}198.51.100.2:3210${nl}[2001:db8::7]:3211" \
	sh -c "echo 'see: $b.' | '$MESHVPN' beacon decode -p secret --ttl 50 -"
# split over lines and embedded in other text, two beacons in one file
printf 'Hello %s\n%s\n-- %s --\n' "$(echo "$b" | cut -c1-20)" "$(echo "$b" | cut -c21-)" \
	"$(mb encode -p secret 10.1.2.3:4)" >"$T_DIR/text"
expect "192.0.2.1:3210${nl}198.51.100.2:3210${nl}[2001:db8::7]:3211${nl}10.1.2.3:4" \
	mb decode -p secret "$T_DIR/text"
log "round trips ok"

# 3. Nothing valid: exit 1 and the reason; bad usage: exit 2.
echo "no beacon here" >"$T_DIR/garbage"
expect_status 1 "no beacon: no begin marker PNehe" mb decode "$T_DIR/garbage"
expect_status 1 "no beacon: no begin marker" mb decode -p other "$T_DIR/text"
echo "WsHI3 1EWDMBYxvITiILIrm2k9gX ik22E WsHI3ik22E" >"$T_DIR/bad"
expect_status 1 "2 candidates rejected: 1 too short, 1 bad checksum" \
	mb decode -p mysecretkey "$T_DIR/bad"
expect_status 1 "No such file" mb decode "$T_DIR/none"
expect_status 2 "not an address" mb encode nonsense
expect_status 2 "no address given" mb encode
expect_status 2 "unknown action" mb frobnicate
expect_status 2 "is not a number" mb encode --hour 70000 1.2.3.4
expect_status 2 "Usage:" "$MESHVPN" beacon
log "rejects and usage errors ok"

# 4. The store/load scripts with the node's environment (begin, data, end, beacon; the load
# command gets begin and end). S_PATH replaces the scripts' PATH.
begin='' data='' end='' beacon=''
eval "$(mb encode --env -p secret 192.0.2.1:3210 '[2001:db8::7]:3211')"
if [ -z "$begin" ] || [ -z "$data" ] || [ -z "$end" ] || [ "$beacon" != "$begin$data$end" ]; then
	fail "encode --env: begin='$begin' data='$data' end='$end' beacon='$beacon'"
fi
ADDRS="192.0.2.1:3210${nl}[2001:db8::7]:3211"
SH=$(command -v sh)
S_PATH=
store() {
	_s=$1
	shift
	env ${S_PATH:+PATH="$S_PATH"} begin="$begin" data="$data" end="$end" beacon="$beacon" \
		"$SH" "$TOP/beacon/$_s" "$@"
}
load() {
	_s=$1
	shift
	env ${S_PATH:+PATH="$S_PATH"} begin="$begin" end="$end" "$SH" "$TOP/beacon/$_s" "$@"
}
STUB=$T_DIR/stub
mkdir -p "$STUB" "$T_DIR/www" "$T_DIR/remote"
export STUB_ROOT="$T_DIR" STUB_LOG="$T_DIR/stub.log"

if command -v curl >/dev/null 2>&1; then
	store store-webdav.sh "file://$T_DIR/www/node1.txt" || fail "store-webdav.sh"
	[ "$(cat "$T_DIR/www/node1.txt")" = "$beacon" ] ||
		fail "store-webdav.sh wrote '$(cat "$T_DIR/www/node1.txt")'"
	# one URL that cannot be read does not hide the others
	load load-http.sh "file://$T_DIR/www/missing.txt" "file://$T_DIR/www/node1.txt" \
		>"$T_DIR/loaded" 2>"$T_DIR/err" || fail "load-http.sh: $(cat "$T_DIR/err")"
	grep -q "missing.txt: download failed" "$T_DIR/err" ||
		fail "load-http.sh: no message for the missing URL"
	expect "$ADDRS" mb decode -p secret "$T_DIR/loaded"
	expect_status 1 "no URL could be read" load load-http.sh "file://$T_DIR/www/missing.txt"
	log "store-webdav.sh, load-http.sh ok (file:// URLs)"
else
	log "no curl: store-webdav.sh and load-http.sh not run"
fi

# scp stub: copies to $STUB_ROOT/remote/PATH of HOST:PATH and records its arguments
cat >"$STUB/scp" <<'EOF'
#!/bin/sh
echo "$@" >"$STUB_LOG"
for last; do :; done
src=
for a; do [ "$a" = "$last" ] && break; src=$a; done
cp "$src" "$STUB_ROOT/remote/${last#*:}"
EOF
chmod +x "$STUB/scp"
S_PATH=$STUB:$PATH
export BEACON_SCP_OPTS="-P 2222"
store store-scp.sh beacon@www.example.com:node1.txt || fail "store-scp.sh"
unset BEACON_SCP_OPTS
[ "$(cat "$T_DIR/remote/node1.txt")" = "$beacon" ] ||
	fail "store-scp.sh copied '$(cat "$T_DIR/remote/node1.txt")'"
grep -q -- "-B .*-P 2222 .* beacon@www.example.com:node1.txt" "$STUB_LOG" ||
	fail "store-scp.sh ran: scp $(cat "$STUB_LOG")"
expect_status 1 "not a remote path" store store-scp.sh node1.txt
log "store-scp.sh ok (scp stub)"

# nsupdate stub: saves its input; dig and host stubs answer with what was stored
cat >"$STUB/nsupdate" <<'EOF'
#!/bin/sh
echo "$@" >"$STUB_LOG"
cat >"$STUB_ROOT/update"
EOF
cat >"$STUB/dig" <<'EOF'
#!/bin/sh
sed -n 's/^update add [^ ]* [0-9]* TXT //p' "$STUB_ROOT/update"
EOF
cat >"$STUB/host" <<'EOF'
#!/bin/sh
sed -n 's/^update add \([^ ]*\) [0-9]* TXT /\1 descriptive text /p' "$STUB_ROOT/update"
EOF
chmod +x "$STUB/nsupdate" "$STUB/dig" "$STUB/host"
echo 'key "k" { algorithm hmac-sha256; secret "AAAA"; };' >"$T_DIR/tsig.key"
export BEACON_NSUPDATE_KEY="$T_DIR/tsig.key" BEACON_DNS_SERVER=ns1.example.com
store store-nsupdate.sh node1.mesh.example.com || fail "store-nsupdate.sh"
unset BEACON_NSUPDATE_KEY BEACON_DNS_SERVER
[ "$(cat "$T_DIR/update")" = "server ns1.example.com
update delete node1.mesh.example.com TXT
update add node1.mesh.example.com 300 TXT \"$beacon\"
send" ] || fail "store-nsupdate.sh sent: $(cat "$T_DIR/update")"
[ "$(cat "$STUB_LOG")" = "-k $T_DIR/tsig.key" ] || fail "nsupdate ran with: $(cat "$STUB_LOG")"
load load-dns.sh node1.mesh.example.com >"$T_DIR/loaded" || fail "load-dns.sh (dig)"
expect "$ADDRS" mb decode -p secret "$T_DIR/loaded"
# host when there is no dig
mkdir -p "$T_DIR/nodig"
ln -s "$STUB/host" "$T_DIR/nodig/host"
ln -s "$(command -v sed)" "$T_DIR/nodig/sed"
S_PATH=$T_DIR/nodig
load load-dns.sh node1.mesh.example.com >"$T_DIR/loaded" || fail "load-dns.sh (host)"
expect "$ADDRS" mb decode -p secret "$T_DIR/loaded"
S_PATH=$STUB:$PATH
# a beacon longer than one TXT string (255 bytes) is split into several
set --
i=1
while [ $i -le 20 ]; do
	set -- "$@" "[2001:db8::$i]:$((3000 + i))"
	i=$((i + 1))
done
beacon=$(mb encode -p secret "$@") || fail "encode 20 addresses"
[ ${#beacon} -gt 255 ] || fail "a beacon of 20 IPv6 addresses has only ${#beacon} characters"
store store-nsupdate.sh n.example || fail "store-nsupdate.sh (long)"
grep -Eq '^update add n.example 300 TXT "[A-Za-z0-9]{255}" "[A-Za-z0-9]+"$' "$T_DIR/update" ||
	fail "store-nsupdate.sh did not split: $(cat "$T_DIR/update")"
[ "$(load load-dns.sh n.example | mb decode -p secret | wc -l)" -eq 20 ] ||
	fail "the split TXT record does not decode to 20 addresses"
expect_status 1 "not a DNS name" store store-nsupdate.sh "bad name;rm"
log "store-nsupdate.sh, load-dns.sh ok (nsupdate, dig and host stubs)"

# 5. A missing tool or a missing environment gives a clear message.
mkdir -p "$T_DIR/empty"
S_PATH=$T_DIR/empty
expect_status 1 "curl not found" store store-webdav.sh http://example.com/x
expect_status 1 "curl not found" load load-http.sh http://example.com/x
expect_status 1 "scp not found" store store-scp.sh example.com:x
expect_status 1 "nsupdate not found" store store-nsupdate.sh example.com
expect_status 1 "neither dig nor host found" load load-dns.sh example.com
S_PATH=$STUB:$PATH
beacon=
expect_status 1 "beacon is not set" store store-scp.sh example.com:x
expect_status 1 "beacon is not set" store store-nsupdate.sh example.com
log "missing tools and environment reported"
exit 0

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The Debian package, installed into this machine (not a debootstrap root: CI machines are
# disposable, dpkg -i/--purge is exactly what an administrator does, and a fresh root would
# have to download a few hundred MB first). The machine is left as found: the package is
# purged and the files the test made are removed on every exit, and the test skips when a
# meshvpn package or /etc/meshvpn is already there.
#
# Checks: systemd-analyze verify on the units; make deb; lintian without errors; after
# dpkg -i the files, modes, conffile, man pages and unit settings; the unit's ExecStart line
# for an instance run as systemd would (Type=notify: READY=1 with the device up, stats file
# written); the same for meshvpn-wsproxy.service (listening, an upgrade works); reinstall (the upgrade path) keeps the administrator's network; remove stops
# nothing that is not ours and keeps conffiles; purge removes everything but the
# administrator's own NAME.net; a purge without such files leaves no /etc/meshvpn at all.
. "$(dirname "$0")/lib.sh"
t_init
TOP=$(cd "$(dirname "$0")/../.." && pwd)
for tool in dpkg dpkg-buildpackage dh lintian fakeroot; do
	command -v $tool >/dev/null || { log "SKIP: no $tool (make deps installs it)"; exit 77; }
done
# pkg_state: dpkg's state of the meshvpn package, empty or not-installed when it is unknown.
pkg_state() { dpkg-query -W -f='${db:Status-Status}' meshvpn 2>/dev/null; }
case $(pkg_state) in "" | not-installed) ;; *)
	log "SKIP: a meshvpn package is installed on this machine; not touching it"
	exit 77
	;;
esac
[ -e /etc/meshvpn ] && { log "SKIP: /etc/meshvpn exists; not touching it"; exit 77; }
ls /var/log/meshvpn-* >/dev/null 2>&1 && { log "SKIP: /var/log/meshvpn-* exist"; exit 77; }

NET=pkgtest
UNIT=/lib/systemd/system/meshvpn@.service
WSUNIT=/lib/systemd/system/meshvpn-wsproxy.service
# dpkg ARGS...: dpkg, waiting (up to 120 s) while another dpkg/apt holds its lock
dpkg() {
	_tries=0
	while :; do
		command dpkg "$@" >"$T_DIR/dpkg.out" 2>&1 && { cat "$T_DIR/dpkg.out"; return 0; }
		grep -q "lock" "$T_DIR/dpkg.out" && [ $_tries -lt 60 ] || { cat "$T_DIR/dpkg.out"; return 1; }
		_tries=$((_tries + 1))
		sleep 2
	done
}
pkg_cleanup() {
	# our instance first, so nothing writes below /var/log after the purge
	for e in $T_PIDS; do kill -TERM "${e%%:*}" 2>/dev/null; done
	[ -n "$T_PIDS" ] && sleep 0.5
	case $(pkg_state) in "" | not-installed) ;; *)
		dpkg --purge meshvpn >/dev/null 2>&1 || log "WARNING: dpkg --purge meshvpn failed"
		;;
	esac
	rm -f "/etc/meshvpn/$NET.net" "/var/log/meshvpn-$NET.stats"
	rmdir /etc/meshvpn 2>/dev/null
}
# purge first, then lib.sh's cleanup (processes, namespaces, T_DIR) with the test's status
trap 'rc=$?; pkg_cleanup; (exit $rc); t_cleanup' EXIT

# 1. Build the package (out of tree) and check it with lintian.
start=$(date +%s)
timeout 240 make -C "$TOP" deb >"$T_DIR/deb.log" 2>&1 || { tail -n 40 "$T_DIR/deb.log"; fail "make deb"; }
log "make deb: $(($(date +%s) - start)) s"
DEB=$(ls "$TOP"/build/meshvpn_*_"$(dpkg --print-architecture)".deb 2>/dev/null | tail -n 1)
[ -f "$DEB" ] || fail "no .deb in build/"
lintian --fail-on error --display-level '>=warning' "$DEB" >"$T_DIR/lintian.out" 2>&1 ||
	{ cat "$T_DIR/lintian.out"; fail "lintian reports errors"; }
log "lintian: $(grep -c '^E:' "$T_DIR/lintian.out") errors, $(grep -c '^W:' "$T_DIR/lintian.out") warnings (overrides documented in packaging/debian/meshvpn.lintian-overrides)"

# 2. Install and look at what is there.
dpkg -i "$DEB" >"$T_DIR/dpkg.log" 2>&1 || { cat "$T_DIR/dpkg.log"; fail "dpkg -i"; }
mode() { stat -c '%a %U:%G' "$1" 2>/dev/null; }
for f in /usr/sbin/meshvpn /usr/sbin/meshvpn-wsproxy; do
	[ "$(mode "$f")" = "755 root:root" ] || fail "$f: $(mode "$f")"
done
[ "$(mode /etc/meshvpn)" = "700 root:root" ] || fail "/etc/meshvpn: $(mode /etc/meshvpn)"
[ "$(mode /etc/meshvpn/example.net.disabled)" = "600 root:root" ] ||
	fail "example.net.disabled: $(mode /etc/meshvpn/example.net.disabled)"
dpkg-query -W -f='${Conffiles}\n' meshvpn | grep -q "/etc/meshvpn/example.net.disabled" ||
	fail "example.net.disabled is not a conffile"
for f in "$UNIT" /lib/systemd/system/meshvpn.target /usr/share/man/man8/meshvpn.8.gz \
	/usr/share/man/man5/meshvpn.net.5.gz "$WSUNIT" /usr/share/man/man8/meshvpn-wsproxy.8.gz; do
	[ "$(mode "$f")" = "644 root:root" ] || fail "$f: $(mode "$f")"
done
/usr/sbin/meshvpn --version | grep -qx "meshvpn [0-9.]*" || fail "meshvpn --version"
/usr/sbin/meshvpn-wsproxy --version | grep -qx "meshvpn-wsproxy [0-9.]*" || fail "meshvpn-wsproxy --version"
/usr/sbin/meshvpn ws-proxy --version | grep -qx "meshvpn-wsproxy [0-9.]*" || fail "meshvpn ws-proxy --version"
for m in /usr/share/man/man8/meshvpn.8.gz /usr/share/man/man5/meshvpn.net.5.gz \
	/usr/share/man/man8/meshvpn-wsproxy.8.gz; do
	w=$(zcat "$m" | groff -wall -man -z 2>&1) || fail "groff on $m"
	[ -z "$w" ] || fail "groff warnings for $m: $w"
done
if command -v man >/dev/null; then
	man -w 8 meshvpn >/dev/null 2>&1 || fail "man 8 meshvpn not found"
	man -w 5 meshvpn.net >/dev/null 2>&1 || fail "man 5 meshvpn.net not found"
	man -w 8 meshvpn-wsproxy >/dev/null 2>&1 || fail "man 8 meshvpn-wsproxy not found"
	MANWIDTH=80 man 8 meshvpn 2>/dev/null | grep -q "RUNNING UNDER SYSTEMD" || fail "man 8 meshvpn"
fi
for s in Type=notify Restart=on-failure "ExecStart=/usr/sbin/meshvpn --config /etc/meshvpn/%i.net" \
	CapabilityBoundingSet=CAP_NET_ADMIN ProtectSystem=strict ReadWritePaths= ProtectHome=yes \
	PrivateTmp=yes "DeviceAllow=/dev/net/tun rw" MemoryMax=50M TasksMax=10 \
	PartOf=meshvpn.target WantedBy=multi-user.target; do
	grep -q "^$s" "$UNIT" || fail "unit lacks $s"
done
grep -q "CAP_SYS_ADMIN\|CAP_DAC_OVERRIDE" "$UNIT" && fail "unit grants more capabilities"
# the proxy: no root, no capability at all
for s in Type=exec Restart=on-failure "ExecStart=/usr/sbin/meshvpn-wsproxy --listen 3210" \
	'ExecReload=/bin/kill -HUP \$MAINPID' DynamicUser=yes "CapabilityBoundingSet=$" "AmbientCapabilities=$" NoNewPrivileges=yes \
	ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
	"RestrictAddressFamilies=AF_INET AF_INET6$" WantedBy=multi-user.target; do
	grep -q "^$s" "$WSUNIT" || fail "meshvpn-wsproxy.service lacks $s"
done
grep -q "^CapabilityBoundingSet=." "$WSUNIT" && fail "meshvpn-wsproxy.service grants capabilities"
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze verify "meshvpn@$NET.service" meshvpn.target meshvpn-wsproxy.service 2>&1) ||
		fail "systemd-analyze verify: $out"
	# unknown or misspelt settings are only warnings with status 0: any output fails
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
	log "systemd-analyze verify: clean"
else
	log "no systemd-analyze: units not verified"
fi
log "installed: files, modes, conffile, man pages, units ok"

# 3. An instance as systemd would run it: the unit's ExecStart line for a network made from
#    the example (in a namespace of our own), with a notification socket.
sed -e 's/^#  password: change-me/  password: pkgtest-secret/' -e 's/^#crypto:/crypto:/' \
	-e 's|^#ip: 10.0.1.1/24|ip: 10.77.0.1/24|' -e 's/^#device:/device:/' \
	-e 's/^#  name: meshvpn%d/  name: mvpkg%d/' -e 's/^#port-forwarding: true/port-forwarding: false/' \
	/etc/meshvpn/example.net.disabled >"/etc/meshvpn/$NET.net"
chmod 0600 "/etc/meshvpn/$NET.net"
cmd=$(sed -n 's/^ExecStart=//p' "$UNIT" | sed "s/%i/$NET/g")
[ -n "$cmd" ] || fail "no ExecStart in the unit"
t_ns svc
${CC:-cc} -std=gnu11 -O2 -o "$T_DIR/sdnotify" "$(dirname "$0")/../tools/sdnotify.c" || fail "sdnotify"
t_spawn svc notify "$T_DIR/sdnotify" "$T_DIR/notify.sock" mvpkg0 60
t_wait 5 test -S "$T_DIR/notify.sock" || fail "notify socket did not appear"
export NOTIFY_SOCKET="$T_DIR/notify.sock"
t_spawn svc svc sh -c "cd /etc/meshvpn && exec $cmd"
unset NOTIFY_SOCKET
t_wait 15 grep -q "^READY=1" "$T_DIR/notify.log" || fail "the instance never sent READY=1"
[ "$(head -n 1 "$T_DIR/notify.log")" = "READY=1 [up]" ] || fail "READY=1 before the device was up"
ip -n "$(ns svc)" -4 -o addr show dev mvpkg0 | grep -q "10.77.0.1/24" || fail "address not set"
[ -f "/var/log/meshvpn-$NET.stats" ] || fail "no stats file /var/log/meshvpn-$NET.stats"
t_stop svc TERM || fail "the instance did not stop cleanly"
t_wait 5 grep -q "^STOPPING=1" "$T_DIR/notify.log" || fail "no STOPPING=1"
log "instance meshvpn@$NET: READY=1 with the device up, stats file, clean stop"

# 3b. The proxy as its unit runs it (as nobody here, for want of a DynamicUser outside
#     systemd): it listens, and an upgrade gets the announced address.
wscmd=$(sed -n 's/^ExecStart=//p' "$WSUNIT")
[ -n "$wscmd" ] || fail "no ExecStart in meshvpn-wsproxy.service"
ip -n "$(ns svc)" link set lo up
t_spawn svc wsproxy setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
	--bounding-set=-all $wscmd
t_wait 5 t_log_has wsproxy "listening on ws://\[::\]:3210" || fail "meshvpn-wsproxy did not start"
WSDRIVE=${MESHVPN_TOOLS:-$TOP/build/tools}/wsdrive
if [ -x "$WSDRIVE" ]; then
	ip netns exec "$(ns svc)" "$WSDRIVE" 127.0.0.1 3210 >"$T_DIR/wsdrive.log" 2>&1 ||
		fail "upgrade at the packaged proxy: $(cat "$T_DIR/wsdrive.log")"
	grep -q "^public " "$T_DIR/wsdrive.log" || fail "no public address from the packaged proxy"
	ws_note="an upgrade works"
else
	ws_note="no wsdrive (make tools): upgrade not tried"
fi
t_stop wsproxy TERM || fail "meshvpn-wsproxy did not stop cleanly"
log "meshvpn-wsproxy.service command as an unprivileged user: listening, $ws_note, clean stop"

# 4. Reinstall (the upgrade path: prerm upgrade, postinst configure OLD-VERSION).
dpkg -i "$DEB" >"$T_DIR/dpkg.log" 2>&1 || { cat "$T_DIR/dpkg.log"; fail "dpkg -i (upgrade)"; }
[ -f "/etc/meshvpn/$NET.net" ] || fail "upgrade removed the administrator's network"
[ "$(mode /etc/meshvpn)" = "700 root:root" ] || fail "/etc/meshvpn after upgrade: $(mode /etc/meshvpn)"

# 5. Remove, then purge: nothing of the package is left, the administrator's file is kept.
files=$(dpkg -L meshvpn | grep -v '^/\.$')
dpkg -r meshvpn >"$T_DIR/dpkg.log" 2>&1 || { cat "$T_DIR/dpkg.log"; fail "dpkg -r"; }
[ -e /usr/sbin/meshvpn ] && fail "binary left after dpkg -r"
[ -e /usr/sbin/meshvpn-wsproxy ] && fail "meshvpn-wsproxy left after dpkg -r"
[ -f /etc/meshvpn/example.net.disabled ] || fail "dpkg -r removed the conffile"
dpkg --purge meshvpn >"$T_DIR/dpkg.log" 2>&1 || { cat "$T_DIR/dpkg.log"; fail "dpkg --purge"; }
[ -e /var/log/meshvpn-$NET.stats ] && fail "purge left the stats file"
[ "$(ls -A /etc/meshvpn)" = "$NET.net" ] || fail "after purge /etc/meshvpn holds: $(ls -A /etc/meshvpn)"
rm -f "/etc/meshvpn/$NET.net" && rmdir /etc/meshvpn
for f in $files; do
	case $f in /etc/meshvpn* | /usr/sbin/meshvpn | */meshvpn* | */doc/meshvpn*)
		[ -e "$f" ] && fail "$f left after purge" ;;
	esac
done

# 6. Install and purge without own files: /etc/meshvpn goes as well.
dpkg -i "$DEB" >"$T_DIR/dpkg.log" 2>&1 || { cat "$T_DIR/dpkg.log"; fail "dpkg -i (again)"; }
dpkg --purge meshvpn >"$T_DIR/dpkg.log" 2>&1 || { cat "$T_DIR/dpkg.log"; fail "dpkg --purge (again)"; }
[ -e /etc/meshvpn ] && fail "/etc/meshvpn left after purge"
case $(pkg_state) in "" | not-installed) ;; *) fail "dpkg still has meshvpn: $(pkg_state)" ;; esac
ps -eo args | grep -q "^/usr/sbin/meshvpn" && fail "a meshvpn process from the package still runs"
log "remove/purge ok: no package file, no stats file, no process, no /etc/meshvpn"
exit 0

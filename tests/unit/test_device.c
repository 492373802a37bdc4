// SPDX-License-Identifier: GPL-3.0-or-later
/* test_device.c - route parsing, overheads, rp_filter, commands; real TUN/TAP in a netns. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/device.h"

static bool in_netns; /* root with /dev/net/tun, in a namespace of our own */

static int group_setup(void **state)
{
	(void)state;
	/* Every device this test creates lives and dies in a private network namespace. */
	if (geteuid() == 0 && access(DEVICE_PATH_DEFAULT, R_OK | W_OK) == 0 &&
	    unshare(CLONE_NEWNET) == 0)
		in_netns = true;
	return 0;
}

#define HDR		    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
#define ROUTE(ifc, dst, gw) ifc "\t" dst "\t" gw "\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"

static void expect_route(const char *text, int want_err, const char *want)
{
	char ifname[IFNAMSIZ] = "untouched";

	assert_int_equal(device_route_parse(text, ifname), want_err);
	assert_string_equal(ifname, want_err ? "untouched" : want);
}

static void test_route_default_first(void **state)
{
	(void)state;
	static const char t1[] = HDR ROUTE("eth1", "0000A8C0", "0100A8C0")
		ROUTE("eth0", "00000000", "0101A8C0") ROUTE("wlan0", "00000000", "0102A8C0");
	expect_route(t1, 0, "eth0");
	/* a default route without a gateway (e.g. via a point-to-point device) counts too */
	expect_route(HDR ROUTE("ppp0", "00000000", "00000000"), 0, "ppp0");
	/* no trailing newline, spaces instead of tabs */
	expect_route("enp3s0 00000000 0101a8c0 0003", 0, "enp3s0");
}

static void test_route_gateway_fallback(void **state)
{
	(void)state;
	/* no default: the LAST entry with a non-zero gateway */
	static const char t1[] = HDR ROUTE("eth0", "0000A8C0", "00000000")
		ROUTE("eth1", "0010000A", "0100000A") ROUTE("eth2", "0020000A", "0200000A")
		ROUTE("eth3", "0030000A", "00000000");
	expect_route(t1, 0, "eth2");
	/* a default route later still wins over earlier gateway routes */
	static const char t2[] = HDR ROUTE("eth1", "0010000A", "0100000A")
		ROUTE("eth9", "00000000", "00000000");
	expect_route(t2, 0, "eth9");
}

static void test_route_none(void **state)
{
	(void)state;
	expect_route("", -ENOENT, NULL);
	/* the header alone (its "Gateway " column is not a gateway) */
	expect_route(HDR, -ENOENT, NULL);
	expect_route(HDR ROUTE("eth0", "0000A8C0", "00000000") ROUTE("lo", "0000007F", "00000000"),
		     -ENOENT, NULL);
}

static void test_route_malformed(void **state)
{
	(void)state;
	const char *text = HDR "\n"
			       "eth0\n"
			       "eth0\t00000000\n"
			       "eth1\t0000000G\t00000000\n"
			       "eth2\t000000000\t00000000\n"
			       "eth3\t00000000\t0000000\n"
			       "averyveryverylongname\t00000000\t00000000\n"
			       "   \t\t\n"
			       "eth4\t00000000\t00000000\t0003\n";
	expect_route(text, 0, "eth4");
	expect_route("eth0\t00000000\n\n\nx\ty\tz\n", -ENOENT, NULL);
	expect_route("\r\n\t00000000\t00000000", -ENOENT, NULL);
	/* CRLF: the gateway field "0100000A\r" is not 8 hex digits */
	expect_route("eth0\t0010000A\t0100000A\r\n", -ENOENT, NULL);
}

static void test_overhead(void **state)
{
	(void)state;
	assert_int_equal(DEVICE_OVERHEAD_TUN, 40 + 8 + 8 + 16 + 1);
	assert_int_equal(DEVICE_OVERHEAD_TAP, DEVICE_OVERHEAD_TUN + 14);
	assert_int_equal(device_overhead(DEVICE_TUN), 73);
	assert_int_equal(device_overhead(DEVICE_TAP), 87);
	assert_int_equal(DEVICE_FALLBACK_LINK_MTU - DEVICE_OVERHEAD_TUN, 1427);
	assert_int_equal(DEVICE_FALLBACK_LINK_MTU - DEVICE_OVERHEAD_TAP, 1413);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, (int)len, f));
	fclose(f);
}

static void test_rp_filter_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/mvio-rpf-XXXXXX", p[256], text[16];

	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/all", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/tun7", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/all/rp_filter", dir);
	write_file(p, "2\n");
	snprintf(p, sizeof(p), "%s/tun7/rp_filter", dir);
	write_file(p, "0\n");

	assert_int_equal(device_rp_filter_get(dir, "tun7"), 2);
	assert_int_equal(device_rp_filter_get(dir, "nope"), -ENOENT);
	assert_int_equal(device_rp_filter_get(dir, "../all"), -EINVAL);
	assert_int_equal(device_rp_filter_get(dir, ".."), -EINVAL);
	assert_int_equal(device_rp_filter_fix(dir, "tun7"), 0);
	assert_int_equal(device_rp_filter_get(dir, "tun7"), 1);
	snprintf(p, sizeof(p), "%s/all/rp_filter", dir);
	read_file(p, text, sizeof(text));
	assert_string_equal(text, "1\n");
	snprintf(p, sizeof(p), "%s/tun7/rp_filter", dir);
	read_file(p, text, sizeof(text));
	assert_string_equal(text, "1\n");

	/* all = 0, dev = 2: only the device is changed; all stays 0 */
	snprintf(p, sizeof(p), "%s/all/rp_filter", dir);
	write_file(p, "0\n");
	snprintf(p, sizeof(p), "%s/tun7/rp_filter", dir);
	write_file(p, "2\n");
	assert_int_equal(device_rp_filter_get(dir, "tun7"), 2);
	assert_int_equal(device_rp_filter_fix(dir, "tun7"), 0);
	assert_int_equal(device_rp_filter_get(dir, "tun7"), 1);
	snprintf(p, sizeof(p), "%s/all/rp_filter", dir);
	read_file(p, text, sizeof(text));
	assert_string_equal(text, "0\n");

	/* garbage */
	snprintf(p, sizeof(p), "%s/tun7/rp_filter", dir);
	write_file(p, "x\n");
	assert_int_equal(device_rp_filter_get(dir, "tun7"), -EINVAL);

	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
}

static void test_run_cmd(void **state)
{
	(void)state;
	assert_int_equal(device_run_cmd("test \"$IFNAME\" = tun5", "tun5"), 0);
	assert_int_equal(device_run_cmd("test \"$IFNAME\" = tun5", "tun6"), 1);
	assert_int_equal(device_run_cmd("exit 7", "tun5"), 7);
	/* an inherited IFNAME is replaced, not duplicated */
	assert_int_equal(setenv("IFNAME", "stale", 1), 0);
	assert_int_equal(device_run_cmd("test \"$IFNAME\" = tun5 && "
					"test \"$(env | grep -c ^IFNAME=)\" = 1",
					"tun5"),
			 0);
	assert_int_equal(device_run_cmd("test \"$IFNAME\" = stale", NULL), 0);
	assert_int_equal(unsetenv("IFNAME"), 0);
	assert_int_equal(device_run_cmd("test -z \"${IFNAME+x}\"", NULL), 0);
	/* the rest of the environment is passed on */
	assert_int_equal(setenv("MVIO_OTHER", "kept", 1), 0);
	assert_int_equal(device_run_cmd("test \"$MVIO_OTHER\" = kept", "x"), 0);
	assert_int_equal(unsetenv("MVIO_OTHER"), 0);
	assert_int_equal(device_run_cmd("exit 300", NULL), 300 & 0xff);

	/* With the signals blocked as loop.c does, the child still starts with a clean mask. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
	assert_int_equal(device_run_cmd("kill -TERM $$; sleep 5", "x"), 128 + SIGTERM);
	assert_int_equal(device_run_cmd("grep -q '^SigBlk:[[:space:]]*0*$' /proc/self/status", "x"),
			 0);
	assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
}

static void test_open_errors(void **state)
{
	(void)state;
	struct device dev;

	assert_int_equal(device_open(&dev, DEVICE_TUN, "0123456789abcdef", NULL), -ENAMETOOLONG);
	assert_int_equal(dev.src.fd, -1);
	assert_int_equal(device_open(&dev, DEVICE_TUN, "x%d", "/nonexistent/tun"), -ENOENT);
	assert_int_equal(dev.src.fd, -1);
	device_close(&dev);
}

/* --- real devices (root, private netns) ---------------------------------------------------- */

static int ioctl_ifr(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(ifr, 0, sizeof(*ifr));
	strcpy(ifr->ifr_name, ifname);
	int r = ioctl(fd, req, ifr);
	close(fd);
	return r;
}

static uint32_t ifr_in(const struct ifreq *ifr)
{
	const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)&ifr->ifr_addr;
	return ntohl(s->sin_addr.s_addr);
}

static unsigned count_v4(const char *ifname)
{
	struct ifaddrs *ifa, *i;
	unsigned n = 0;

	assert_int_equal(getifaddrs(&ifa), 0);
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, ifname))
			n++;
	freeifaddrs(ifa);
	return n;
}

/* Checks address, netmask, broadcast (0 = none expected) and IFF_UP with plain ioctls. */
static void check_v4(const char *ifname, uint32_t ip, uint32_t mask, uint32_t bcast)
{
	struct ifreq ifr;

	assert_int_equal(ioctl_ifr(ifname, SIOCGIFADDR, &ifr), 0);
	assert_int_equal(ifr_in(&ifr), ip);
	assert_int_equal(ioctl_ifr(ifname, SIOCGIFNETMASK, &ifr), 0);
	assert_int_equal(ifr_in(&ifr), mask);
	assert_int_equal(ioctl_ifr(ifname, SIOCGIFBRDADDR, &ifr), 0);
	assert_int_equal(ifr_in(&ifr), bcast);
	assert_int_equal(ioctl_ifr(ifname, SIOCGIFFLAGS, &ifr), 0);
	assert_true(ifr.ifr_flags & IFF_UP);
	assert_int_equal(count_v4(ifname), 1);
}

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Reads packets from the TUN until an IPv4/UDP one to dst:port arrives (IPv6 chatter skipped). */
static void read_udp_packet(struct device *dev, const uint8_t dst[4], uint16_t port)
{
	static uint8_t store[4096];
	struct buf b = {.base = store, .size = sizeof(store)};

	for (int tries = 0; tries < 50; tries++) {
		struct pollfd pfd = {.fd = dev->src.fd, .events = POLLIN};
		assert_int_equal(poll(&pfd, 1, 1000), 1);
		buf_reset(&b, 100);
		b.len = 12345; /* overwritten */
		assert_int_equal(device_read(dev, &b), 0);
		assert_int_equal(b.off, 100);
		const uint8_t *p = buf_data(&b);
		if (b.len < 28 || p[0] != 0x45 || p[9] != 17 || memcmp(p + 16, dst, 4))
			continue;
		assert_int_equal(get_be16(p + 22), port);
		assert_int_equal(b.len, 28 + 5);
		assert_memory_equal(p + 28, "hello", 5);
		return;
	}
	fail_msg("no UDP packet on the TUN");
}

static void test_tun(void **state)
{
	(void)state;
	if (!in_netns)
		skip();
	struct device dev, dev2;
	struct ifreq ifr;
	uint8_t ip[4] = {10, 99, 0, 1}, ip2[4] = {10, 98, 1, 2}, got[4];
	unsigned prefix;
	static uint8_t store[2048];
	struct buf b = {.base = store, .size = sizeof(store)};

	assert_int_equal(device_open(&dev, DEVICE_TUN, "mvt%d", NULL), 0);
	assert_string_equal(dev.ifname, "mvt0");
	assert_int_equal(dev.ifindex, if_nametoindex("mvt0"));
	assert_true(fcntl(dev.src.fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(dev.src.fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(device_open(&dev2, DEVICE_TUN, "mvt%d", DEVICE_PATH_DEFAULT), 0);
	assert_string_equal(dev2.ifname, "mvt1");

	/* down and empty: nothing to read */
	buf_reset(&b, 64);
	assert_int_equal(device_read(&dev, &b), -EAGAIN);
	struct buf *bufs[2] = {&b, &b};
	assert_int_equal(device_read_batch(&dev, bufs, 2), -EAGAIN);

	assert_int_equal(device_get_mtu(&dev), 1500);
	assert_int_equal(device_set_mtu(&dev, 1400), 0);
	assert_int_equal(device_get_mtu(&dev), 1400);
	assert_int_equal(ioctl_ifr("mvt0", SIOCGIFMTU, &ifr), 0);
	assert_int_equal(ifr.ifr_mtu, 1400);

	assert_int_equal(device_get_ipv4(&dev, got, &prefix), -EADDRNOTAVAIL);
	assert_int_equal(device_set_ipv4(&dev, ip, 33), -EINVAL);
	assert_int_equal(device_set_ipv4(&dev, ip, 24), 0);
	check_v4("mvt0", 0x0a630001, 0xffffff00, 0x0a6300ff);
	assert_int_equal(device_get_ipv4(&dev, got, &prefix), 0);
	assert_memory_equal(got, ip, 4);
	assert_int_equal(prefix, 24);
	/* again: idempotent */
	assert_int_equal(device_set_ipv4(&dev, ip, 24), 0);
	check_v4("mvt0", 0x0a630001, 0xffffff00, 0x0a6300ff);
	/* a new address replaces the old one */
	assert_int_equal(device_set_ipv4(&dev, ip2, 16), 0);
	check_v4("mvt0", 0x0a620102, 0xffff0000, 0x0a62ffff);
	assert_int_equal(device_get_ipv4(&dev, got, NULL), 0);
	assert_memory_equal(got, ip2, 4);
	/* the other device is untouched */
	assert_int_equal(device_get_ipv4(&dev2, got, NULL), -EADDRNOTAVAIL);

	/* kernel -> device: a datagram routed into the TUN */
	const uint8_t far[4] = {10, 98, 77, 7};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9999)};
	memcpy(&to.sin_addr, far, 4);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
	read_udp_packet(&dev, far, 9999);
	close(s);

	/* device -> kernel: an IPv4/UDP packet to a socket bound on the TUN address */
	struct sockaddr_in me = {.sin_family = AF_INET};
	socklen_t ml = sizeof(me);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&me, &ml), 0);
	uint8_t pkt[33] = {0x45, 0, 0, 33, 0, 1, 0x40, 0, 64, 17, 0, 0};
	memcpy(pkt + 12, far, 4);
	memcpy(pkt + 16, ip2, 4);
	put_be16(pkt + 10, ip_csum(pkt, 20));
	put_be16(pkt + 20, 4321);
	memcpy(pkt + 22, &me.sin_port, 2);
	put_be16(pkt + 24, 13);
	memcpy(pkt + 28, "world", 5);
	assert_int_equal(device_write(&dev, pkt, sizeof(pkt)), 0);
	struct pollfd pfd = {.fd = s, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	char rbuf[16];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	assert_int_equal(recvfrom(s, rbuf, sizeof(rbuf), 0, (struct sockaddr *)&from, &fl), 5);
	assert_memory_equal(rbuf, "world", 5);
	assert_memory_equal(&from.sin_addr, far, 4);
	assert_int_equal(ntohs(from.sin_port), 4321);
	close(s);
	/* not an IP packet */
	const uint8_t junk[20] = {0};
	assert_int_equal(device_write(&dev, junk, sizeof(junk)), -EINVAL);

	/* commands see the kernel-assigned name */
	assert_int_equal(device_run_cmd("test \"$IFNAME\" = mvt0", dev.ifname), 0);
	assert_int_equal(device_run_cmd("grep -q \"^ *$IFNAME:\" /proc/net/dev", dev.ifname), 0);

	/* rp_filter of this namespace only */
	assert_int_equal(device_rp_filter_fix(NULL, dev.ifname), 0);
	assert_int_equal(device_rp_filter_get(NULL, dev.ifname), 1);

	/* closing a non-persistent device removes it */
	device_close(&dev);
	device_close(&dev);
	assert_int_equal(if_nametoindex("mvt0"), 0);
	device_close(&dev2);
	assert_int_equal(if_nametoindex("mvt1"), 0);
}

static void test_tap(void **state)
{
	(void)state;
	if (!in_netns)
		skip();
	struct device dev;
	uint8_t ip[4] = {192, 168, 77, 5}, got[4];
	unsigned prefix;

	assert_int_equal(device_open(&dev, DEVICE_TAP, "mvp%d", NULL), 0);
	assert_string_equal(dev.ifname, "mvp0");
	assert_int_equal(device_set_mtu(&dev, 1500 - DEVICE_OVERHEAD_TAP), 0);
	assert_int_equal(device_get_mtu(&dev), 1413);
	assert_int_equal(device_set_ipv4(&dev, ip, 30), 0);
	check_v4("mvp0", 0xc0a84d05, 0xfffffffc, 0xc0a84d07);
	/* /32: no broadcast address */
	assert_int_equal(device_set_ipv4(&dev, ip, 32), 0);
	check_v4("mvp0", 0xc0a84d05, 0xffffffff, 0);
	assert_int_equal(device_get_ipv4(&dev, got, &prefix), 0);
	assert_int_equal(prefix, 32);
	/* shorter than an Ethernet header */
	const uint8_t runt[6] = {0};
	assert_int_equal(device_write(&dev, runt, sizeof(runt)), -EINVAL);
	/* a broadcast frame is accepted */
	uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5};
	assert_int_equal(device_write(&dev, frame, sizeof(frame)), 0);
	device_close(&dev);
	assert_int_equal(if_nametoindex("mvp0"), 0);
	/* a name without %d is taken as is */
	assert_int_equal(device_open(&dev, DEVICE_TAP, "mvtap", NULL), 0);
	assert_string_equal(dev.ifname, "mvtap");
	device_close(&dev);
	/* default names */
	assert_int_equal(device_open(&dev, DEVICE_TUN, NULL, NULL), 0);
	assert_memory_equal(dev.ifname, "tun", 3);
	device_close(&dev);
}

static void test_default_mtu(void **state)
{
	(void)state;
	if (!in_netns)
		skip();
	struct device dev;
	char ifname[IFNAMSIZ] = "untouched";
	uint8_t ip[4] = {10, 55, 0, 1};
	int mtu = 0;

	/* a fresh namespace has no default route: fall back and say why */
	assert_int_equal(device_default_mtu(DEVICE_OVERHEAD_TUN, &mtu, ifname), -ENOENT);
	assert_int_equal(mtu, 1427);
	assert_string_equal(ifname, "untouched");
	assert_int_equal(device_default_mtu(DEVICE_OVERHEAD_TAP, &mtu, ifname), -ENOENT);
	assert_int_equal(mtu, 1413);

	if (device_run_cmd("command -v ip >/dev/null", NULL) != 0)
		return; /* no iproute2 to add a route with */
	assert_int_equal(device_open(&dev, DEVICE_TUN, "mvd%d", NULL), 0);
	assert_int_equal(device_set_mtu(&dev, 9000), 0);
	assert_int_equal(device_set_ipv4(&dev, ip, 24), 0);
	assert_int_equal(device_run_cmd("ip route add default dev \"$IFNAME\"", dev.ifname), 0);
	assert_int_equal(device_default_mtu(DEVICE_OVERHEAD_TUN, &mtu, ifname), 0);
	assert_string_equal(ifname, dev.ifname);
	assert_int_equal(mtu, 9000 - 73);
	device_close(&dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_default_first),
		cmocka_unit_test(test_route_gateway_fallback),
		cmocka_unit_test(test_route_none),
		cmocka_unit_test(test_route_malformed),
		cmocka_unit_test(test_overhead),
		cmocka_unit_test(test_rp_filter_files),
		cmocka_unit_test(test_run_cmd),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_tun),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_default_mtu),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}

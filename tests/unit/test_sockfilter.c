// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_sockfilter.c - the kernel drops handshake messages of listed sources and nothing
 * else: the program is attached to a real dual-stack UDP socket on the loopback device and
 * datagrams are sent to it from listed and unlisted IPv4 and IPv6 addresses, with listed
 * and unlisted salts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/sockfilter.h"

struct rig {
	int rx;		/* dual-stack receiver on [::]:port */
	uint16_t port;
	int tx4[2];	/* senders bound to 127.0.0.1 and 127.0.0.2 */
	int tx6;	/* sender bound to ::1, or -1 without IPv6 loopback */
};

static struct addr parse(const char *s)
{
	struct addr a;

	assert_int_equal(addr_parse(s, 1, &a), 0);
	return a;
}

static int bound4(const char *ip)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	socklen_t len = sizeof(sa);
	int off = 0;

	r->rx = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(r->rx >= 0);
	assert_int_equal(setsockopt(r->rx, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)), 0);
	assert_int_equal(bind(r->rx, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(r->rx, (struct sockaddr *)&sa, &len), 0);
	r->port = ntohs(sa.sin6_port);
	r->tx4[0] = bound4("127.0.0.1");
	r->tx4[1] = bound4("127.0.0.2");
	struct sockaddr_in6 lo = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	r->tx6 = socket(AF_INET6, SOCK_DGRAM, 0);
	if (r->tx6 >= 0 && bind(r->tx6, (struct sockaddr *)&lo, sizeof(lo)) < 0) {
		close(r->tx6);
		r->tx6 = -1;
	}
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct rig *r = *state;

	close(r->rx);
	close(r->tx4[0]);
	close(r->tx4[1]);
	if (r->tx6 >= 0)
		close(r->tx6);
	free(r);
	return 0;
}

static void send_to(const struct rig *r, int fd, bool v6, const void *p, size_t n)
{
	ssize_t k;

	if (v6) {
		struct sockaddr_in6 to = {.sin6_family = AF_INET6,
					  .sin6_addr = IN6ADDR_LOOPBACK_INIT,
					  .sin6_port = htons(r->port)};
		k = sendto(fd, p, n, 0, (struct sockaddr *)&to, sizeof(to));
	} else {
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(r->port)};
		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		k = sendto(fd, p, n, 0, (struct sockaddr *)&to, sizeof(to));
	}
	assert_int_equal(k, (ssize_t)n);
}

/*
 * Sends msg then a marker (a DATA-like datagram) from fd; true if msg arrived, false if
 * the marker came first (loopback keeps the order, so msg was dropped).
 */
static bool passes(const struct rig *r, int fd, bool v6, const uint8_t *msg, size_t n)
{
	static const uint8_t marker[] = { 0x01, 'm', 'a', 'r', 'k' };
	uint8_t got[64];
	struct pollfd pfd = {.fd = r->rx, .events = POLLIN};
	bool arrived = false;

	send_to(r, fd, v6, msg, n);
	send_to(r, fd, v6, marker, sizeof(marker));
	for (;;) {
		assert_int_equal(poll(&pfd, 1, 2000), 1);
		ssize_t k = recv(r->rx, got, sizeof(got), 0);
		assert_true(k >= 0);
		if ((size_t)k == sizeof(marker) && memcmp(got, marker, sizeof(marker)) == 0)
			return arrived;
		assert_int_equal(k, (ssize_t)n);
		assert_memory_equal(got, msg, n);
		arrived = true;
	}
}

static const uint8_t init_msg[] = { 0xff, 0x82, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 };
static const uint8_t data_msg[] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
static const uint8_t ff_only[] = { 0xff };

/* A list of n addresses from a and ns salts from salts. */
static struct sockfilter_list list(const struct addr *a, size_t n,
				   const uint8_t (*salts)[SOCKFILTER_SALT_LEN], size_t ns)
{
	return (struct sockfilter_list){.ips = a, .n_ips = n, .salts = salts, .n_salts = ns};
}

static size_t build(const struct addr *a, size_t n, const uint8_t (*salts)[SOCKFILTER_SALT_LEN],
		    size_t ns)
{
	struct sock_filter prog[SOCKFILTER_INSNS];
	struct sockfilter_list l = list(a, n, salts, ns);

	return sockfilter_build(&l, prog);
}

static int apply(const struct rig *r, const struct addr *a, size_t n,
		 const uint8_t (*salts)[SOCKFILTER_SALT_LEN], size_t ns)
{
	struct sockfilter_list l = list(a, n, salts, ns);

	return sockfilter_apply(r->rx, &l);
}

static void test_build_sizes(void **state)
{
	struct addr a[SOCKFILTER_MAX + 1];
	uint8_t salts[SOCKFILTER_MAX + 1][SOCKFILTER_SALT_LEN] = {{0}};

	(void)state;
	for (size_t i = 0; i <= SOCKFILTER_MAX; i++)
		a[i] = parse(i % 2 ? "192.0.2.7" : "[2001:db8::7]");
	assert_int_equal(build(a, 0, NULL, 0), 12);
	/* an IPv4 address costs two instructions, an IPv6 one nine */
	assert_int_equal(build(a + 1, 1, NULL, 0), 14);
	assert_int_equal(build(a, 1, NULL, 0), 21);
	assert_int_equal(build(a, SOCKFILTER_MAX, NULL, 0),
			 12 + 2 * SOCKFILTER_MAX / 2 + 9 * SOCKFILTER_MAX / 2);
	assert_int_equal(build(a, SOCKFILTER_MAX + 1, NULL, 0), 0);
	/* salts: a length check, then five each */
	assert_int_equal(build(a, 0, salts, 1), 12 + 2 + 5);
	assert_int_equal(build(a, 0, salts, SOCKFILTER_MAX), 12 + 2 + 5 * SOCKFILTER_MAX);
	assert_int_equal(build(a, 0, salts, SOCKFILTER_MAX + 1), 0);
	/* the longest fits the buffer the header sizes */
	for (size_t i = 0; i < SOCKFILTER_MAX; i++)
		a[i] = parse("[2001:db8::7]");
	assert_int_equal(build(a, SOCKFILTER_MAX, salts, SOCKFILTER_MAX), SOCKFILTER_INSNS);
}

static void test_ipv4(void **state)
{
	struct rig *r = *state;
	struct addr listed[] = { parse("[2001:db8::1]"), parse("192.0.2.9"), parse("127.0.0.2") };

	/* nothing attached: everything arrives */
	assert_true(passes(r, r->tx4[1], false, init_msg, sizeof(init_msg)));
	assert_int_equal(apply(r, listed, 3, NULL, 0), 0);
	/* the listed source's handshake messages are dropped, whatever their length */
	assert_false(passes(r, r->tx4[1], false, init_msg, sizeof(init_msg)));
	assert_false(passes(r, r->tx4[1], false, ff_only, sizeof(ff_only)));
	/* its other traffic, and empty datagrams, still arrive */
	assert_true(passes(r, r->tx4[1], false, data_msg, sizeof(data_msg)));
	assert_true(passes(r, r->tx4[1], false, data_msg, 0));
	/* another source's handshake messages arrive */
	assert_true(passes(r, r->tx4[0], false, init_msg, sizeof(init_msg)));
	/* a new list replaces the old one */
	assert_int_equal(apply(r, listed, 2, NULL, 0), 0);
	assert_true(passes(r, r->tx4[1], false, init_msg, sizeof(init_msg)));
	assert_int_equal(apply(r, listed + 2, 1, NULL, 0), 0);
	assert_false(passes(r, r->tx4[1], false, init_msg, sizeof(init_msg)));
	/* an empty list detaches it, twice is fine */
	assert_int_equal(apply(r, NULL, 0, NULL, 0), 0);
	assert_int_equal(apply(r, NULL, 0, NULL, 0), 0);
	assert_true(passes(r, r->tx4[1], false, init_msg, sizeof(init_msg)));
}

static void test_ipv6(void **state)
{
	struct rig *r = *state;
	/* ::1 last, behind an address that differs from it only in its last word */
	struct addr listed[] = { parse("127.0.0.1"), parse("[::2]"), parse("[::1]") };

	if (r->tx6 < 0)
		skip();
	assert_int_equal(apply(r, listed, 2, NULL, 0), 0);
	assert_true(passes(r, r->tx6, true, init_msg, sizeof(init_msg)));
	assert_false(passes(r, r->tx4[0], false, init_msg, sizeof(init_msg)));
	assert_int_equal(apply(r, listed, 3, NULL, 0), 0);
	assert_false(passes(r, r->tx6, true, init_msg, sizeof(init_msg)));
	assert_true(passes(r, r->tx6, true, data_msg, sizeof(data_msg)));
	assert_true(passes(r, r->tx4[1], false, init_msg, sizeof(init_msg)));
	assert_int_equal(apply(r, NULL, 0, NULL, 0), 0);
	assert_true(passes(r, r->tx6, true, init_msg, sizeof(init_msg)));
}

/* A listed salt and key hash is dropped from any address, and only in handshake messages. */
static void test_salts(void **state)
{
	struct rig *r = *state;
	const uint8_t salts[][SOCKFILTER_SALT_LEN] = {
		{ 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80 },
		{ 0x82, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 }, /* init_msg's */
	};
	uint8_t other[sizeof(init_msg)], data[sizeof(init_msg)];
	struct addr listed = parse("192.0.2.9");

	memcpy(other, init_msg, sizeof(other));
	other[8] ^= 1; /* the same salt, another key hash */
	memcpy(data, init_msg, sizeof(data));
	data[0] = 0x00;
	assert_int_equal(apply(r, &listed, 1, salts, 1), 0);
	assert_true(passes(r, r->tx4[0], false, init_msg, sizeof(init_msg)));
	assert_int_equal(apply(r, &listed, 1, salts, 2), 0);
	assert_false(passes(r, r->tx4[0], false, init_msg, sizeof(init_msg)));
	assert_false(passes(r, r->tx4[1], false, init_msg, sizeof(init_msg)));
	if (r->tx6 >= 0)
		assert_false(passes(r, r->tx6, true, init_msg, sizeof(init_msg)));
	assert_true(passes(r, r->tx4[0], false, other, sizeof(other)));
	assert_true(passes(r, r->tx4[0], false, data, sizeof(data)));
	/* too short to hold a salt: not dropped for one (the node counts it as malformed) */
	assert_true(passes(r, r->tx4[0], false, init_msg, 8));
	assert_true(passes(r, r->tx4[0], false, ff_only, sizeof(ff_only)));
	/* salts only, no address */
	assert_int_equal(apply(r, NULL, 0, salts + 1, 1), 0);
	assert_false(passes(r, r->tx4[1], false, init_msg, sizeof(init_msg)));
	assert_int_equal(apply(r, NULL, 0, NULL, 0), 0);
	assert_true(passes(r, r->tx4[1], false, init_msg, sizeof(init_msg)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_sizes),
		cmocka_unit_test_setup_teardown(test_ipv4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_salts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

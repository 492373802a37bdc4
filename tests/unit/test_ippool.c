// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_ippool.c - the client address pool: subnet syntax and size limits, exhaustion of a /30
 * and a /29, reuse of freed addresses, reserved addresses never handed out, mark and release.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/ippool.h"

/* Dotted text -> 4 bytes (static buffer per call site is enough for the tests). */
static const uint8_t *IP(const char *s)
{
	static uint8_t bufs[8][4];
	static unsigned next;
	uint8_t *b = bufs[next++ % 8];

	assert_int_equal(inet_pton(AF_INET, s, b), 1);
	return b;
}

static const char *str(const uint8_t ip[4])
{
	static char buf[4][16];
	static unsigned next;
	char *b = buf[next++ % 4];

	inet_ntop(AF_INET, ip, b, 16);
	return b;
}

static void init_ok(struct ippool *p, const char *cidr, const char *hub)
{
	struct config_error why = {{0}};
	int r = ippool_init(p, cidr, hub ? IP(hub) : NULL, &why);

	if (r != 0)
		print_error("%s: %s\n", cidr, why.msg);
	assert_int_equal(r, 0);
}

static void init_fails(const char *cidr, const char *msg)
{
	struct ippool p;
	struct config_error why = {{0}};

	assert_int_equal(ippool_init(&p, cidr, NULL, &why), -EINVAL);
	assert_string_equal(why.msg, msg);
	assert_null(p.bits);
	ippool_free(&p);
}

static void test_init_errors(void **state)
{
	(void)state;
	init_fails("10.0.0.0", "invalid subnet '10.0.0.0' (expected an IPv4 network a.b.c.d/len)");
	init_fails("10.0.0/24",
		   "invalid subnet '10.0.0/24' (expected an IPv4 network a.b.c.d/len)");
	init_fails("fd00::/64",
		   "invalid subnet 'fd00::/64' (expected an IPv4 network a.b.c.d/len)");
	init_fails("10.0.0.0/33",
		   "invalid subnet '10.0.0.0/33' (expected an IPv4 network a.b.c.d/len)");
	init_fails("10.0.0.0/7", "subnet '10.0.0.0/7' is too large (at most /8, i.e. 16777216 "
				 "addresses; larger subnets are not supported)");
	init_fails("10.0.0.0/31", "subnet '10.0.0.0/31' is too small (at least /30: a /31 or /32 "
				  "has no address for a client)");
	init_fails("10.0.0.4/32", "subnet '10.0.0.4/32' is too small (at least /30: a /31 or /32 "
				  "has no address for a client)");
	init_fails("10.0.0.5/24", "subnet '10.0.0.5/24' has host bits set (the network is "
				  "10.0.0.0/24)");
}

static void test_format_capacity(void **state)
{
	struct ippool p;
	char buf[IPPOOL_STRLEN];

	(void)state;
	init_ok(&p, "10.0.0.0/8", NULL);
	assert_string_equal(ippool_format(&p, buf), "10.0.0.0/8");
	assert_int_equal(ippool_capacity(&p), (1u << 24) - 2);
	ippool_free(&p);
	init_ok(&p, "192.168.7.0/24", "192.168.7.1");
	assert_string_equal(ippool_format(&p, buf), "192.168.7.0/24");
	assert_int_equal(ippool_capacity(&p), 253);
	ippool_free(&p);
	/* a hub address outside the subnet reserves nothing */
	init_ok(&p, "192.168.7.0/24", "192.168.8.1");
	assert_int_equal(ippool_capacity(&p), 254);
	ippool_free(&p);
	assert_int_equal(ippool_capacity(&p), 0);
}

/* Allocates until the pool is exhausted; returns the count, checks the ascending order. */
static unsigned drain(struct ippool *p, const char **want, unsigned nwant)
{
	uint8_t ip[4];
	unsigned n = 0;

	while (ippool_alloc(p, ip) == 0) {
		assert_true(n < nwant);
		assert_string_equal(str(ip), want[n]);
		assert_true(ippool_in_use(p, ip));
		n++;
	}
	assert_int_equal(ippool_alloc(p, ip), -ENOSPC);
	assert_int_equal(p->used, n);
	return n;
}

static void test_exhaust_30(void **state)
{
	static const char *all[] = {"10.9.0.1", "10.9.0.2"};
	static const char *hub1[] = {"10.9.0.2"};
	static const char *hub2[] = {"10.9.0.1"};
	struct ippool p;

	(void)state;
	init_ok(&p, "10.9.0.0/30", NULL);
	assert_int_equal(drain(&p, all, 2), 2);
	ippool_free(&p);
	init_ok(&p, "10.9.0.0/30", "10.9.0.1");
	assert_int_equal(ippool_capacity(&p), 1);
	assert_int_equal(drain(&p, hub1, 1), 1);
	ippool_free(&p);
	init_ok(&p, "10.9.0.0/30", "10.9.0.2");
	assert_int_equal(drain(&p, hub2, 1), 1);
	ippool_free(&p);
}

static void test_exhaust_29(void **state)
{
	static const char *want[] = {"172.16.5.9", "172.16.5.10", "172.16.5.12", "172.16.5.13",
				     "172.16.5.14"};
	struct ippool p;
	uint8_t ip[4];

	(void)state;
	init_ok(&p, "172.16.5.8/29", "172.16.5.11");
	assert_int_equal(ippool_capacity(&p), 5);
	assert_int_equal(drain(&p, want, 5), 5);
	/* still exhausted after a failed call, and after releasing: exactly that one comes back */
	assert_int_equal(ippool_alloc(&p, ip), -ENOSPC);
	assert_int_equal(ippool_release(&p, IP("172.16.5.12")), 0);
	assert_false(ippool_in_use(&p, IP("172.16.5.12")));
	assert_int_equal(ippool_alloc(&p, ip), 0);
	assert_string_equal(str(ip), "172.16.5.12");
	assert_int_equal(ippool_alloc(&p, ip), -ENOSPC);
	ippool_free(&p);
}

static void test_reuse_lowest(void **state)
{
	struct ippool p;
	uint8_t ip[4];

	(void)state;
	init_ok(&p, "10.0.0.0/24", "10.0.0.1");
	for (unsigned i = 2; i <= 200; i++) {
		assert_int_equal(ippool_alloc(&p, ip), 0);
		assert_int_equal(ip[3], i);
	}
	/* two freed in different bitmap words: the lower comes back first, then the higher */
	assert_int_equal(ippool_release(&p, IP("10.0.0.150")), 0);
	assert_int_equal(ippool_release(&p, IP("10.0.0.7")), 0);
	assert_int_equal(ippool_release(&p, IP("10.0.0.7")), -ENOENT);
	assert_int_equal(p.used, 197);
	assert_int_equal(ippool_alloc(&p, ip), 0);
	assert_string_equal(str(ip), "10.0.0.7");
	assert_int_equal(ippool_alloc(&p, ip), 0);
	assert_string_equal(str(ip), "10.0.0.150");
	assert_int_equal(ippool_alloc(&p, ip), 0);
	assert_string_equal(str(ip), "10.0.0.201");
	ippool_free(&p);
}

static void test_reserved_never(void **state)
{
	struct ippool p;
	uint8_t ip[4];
	unsigned n = 0;

	(void)state;
	/* a /22 spans 16 bitmap words; the hub sits in the middle */
	init_ok(&p, "10.1.4.0/22", "10.1.5.128");
	while (ippool_alloc(&p, ip) == 0) {
		assert_string_not_equal(str(ip), "10.1.4.0");
		assert_string_not_equal(str(ip), "10.1.7.255");
		assert_string_not_equal(str(ip), "10.1.5.128");
		assert_true(ippool_contains(&p, ip));
		n++;
	}
	assert_int_equal(n, 1024 - 3);
	assert_int_equal(n, ippool_capacity(&p));
	assert_true(ippool_reserved(&p, IP("10.1.4.0")));
	assert_true(ippool_reserved(&p, IP("10.1.7.255")));
	assert_true(ippool_reserved(&p, IP("10.1.5.128")));
	assert_false(ippool_reserved(&p, IP("10.1.5.127")));
	assert_false(ippool_in_use(&p, IP("10.1.5.128")));
	/* reserved addresses cannot be released or marked either */
	assert_int_equal(ippool_release(&p, IP("10.1.4.0")), -EADDRNOTAVAIL);
	assert_int_equal(ippool_release(&p, IP("10.1.5.128")), -EADDRNOTAVAIL);
	ippool_free(&p);
}

static void test_mark(void **state)
{
	struct ippool p;
	uint8_t ip[4];

	(void)state;
	init_ok(&p, "10.0.0.0/29", "10.0.0.1");
	assert_int_equal(ippool_mark(&p, IP("10.0.0.3")), 0);
	assert_true(ippool_in_use(&p, IP("10.0.0.3")));
	assert_int_equal(ippool_mark(&p, IP("10.0.0.3")), -EEXIST);
	assert_int_equal(ippool_mark(&p, IP("10.0.0.0")), -EADDRNOTAVAIL);
	assert_int_equal(ippool_mark(&p, IP("10.0.0.7")), -EADDRNOTAVAIL);
	assert_int_equal(ippool_mark(&p, IP("10.0.0.1")), -EADDRNOTAVAIL);
	assert_int_equal(ippool_mark(&p, IP("10.0.0.8")), -ERANGE);
	assert_int_equal(ippool_mark(&p, IP("9.255.255.255")), -ERANGE);
	assert_int_equal(ippool_mark(&p, IP("192.168.0.3")), -ERANGE);
	assert_int_equal(ippool_release(&p, IP("10.0.0.9")), -ERANGE);
	assert_false(ippool_contains(&p, IP("10.0.0.8")));
	assert_int_equal(p.used, 1);
	/* marked addresses are skipped by alloc */
	assert_int_equal(ippool_alloc(&p, ip), 0);
	assert_string_equal(str(ip), "10.0.0.2");
	assert_int_equal(ippool_alloc(&p, ip), 0);
	assert_string_equal(str(ip), "10.0.0.4");
	assert_int_equal(p.used, 3);
	ippool_free(&p);
	/* an empty (freed) pool refuses everything */
	assert_int_equal(ippool_mark(&p, IP("10.0.0.3")), -ERANGE);
	assert_int_equal(ippool_alloc(&p, ip), -ENOSPC);
}

static void test_slash8(void **state)
{
	struct ippool p;
	uint8_t ip[4];

	(void)state;
	init_ok(&p, "10.0.0.0/8", "10.0.0.1");
	assert_int_equal(ippool_mark(&p, IP("10.255.255.254")), 0);
	assert_int_equal(ippool_mark(&p, IP("10.255.255.255")), -EADDRNOTAVAIL);
	assert_int_equal(ippool_alloc(&p, ip), 0);
	assert_string_equal(str(ip), "10.0.0.2");
	ippool_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_errors),	 cmocka_unit_test(test_format_capacity),
	    cmocka_unit_test(test_exhaust_30),	 cmocka_unit_test(test_exhaust_29),
	    cmocka_unit_test(test_reuse_lowest), cmocka_unit_test(test_reserved_never),
	    cmocka_unit_test(test_mark),	 cmocka_unit_test(test_slash8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

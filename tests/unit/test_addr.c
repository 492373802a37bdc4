// SPDX-License-Identifier: GPL-3.0-or-later
/* test_addr.c - address parsing, normalisation, formatting, wire form, ranges. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/addr.h"

static const char *fmt(const char *in, uint16_t def)
{
	static char buf[ADDR_STRLEN];
	struct addr a;
	if (addr_parse(in, def, &a) < 0)
		return "ERR";
	return addr_format(&a, buf);
}

static void test_parse_forms(void **state)
{
	(void)state;
	assert_string_equal(fmt("3210", 3210), "[::]:3210");
	assert_string_equal(fmt("*:4000", 3210), "[::]:4000");
	assert_string_equal(fmt("192.0.2.1:4000", 3210), "192.0.2.1:4000");
	assert_string_equal(fmt("192.0.2.1", 3210), "192.0.2.1:3210");
	assert_string_equal(fmt("[2001:db8::1]:4000", 3210), "[2001:db8::1]:4000");
	assert_string_equal(fmt("[2001:db8::1]", 3210), "[2001:db8::1]:3210");
	assert_string_equal(fmt("2001:db8::1", 3210), "[2001:db8::1]:3210");
	assert_string_equal(fmt("::ffff:192.0.2.9", 1), "192.0.2.9:1");
	assert_string_equal(fmt("[fe80::1%7]:5", 1), "[fe80::1%7]:5");
	assert_string_equal(fmt("192.0.2.1:70000", 3210), "ERR");
	assert_string_equal(fmt("192.0.2.1:", 3210), "ERR");
	assert_string_equal(fmt("192.0.2.300", 3210), "ERR");
	assert_string_equal(fmt("[2001:db8::1", 3210), "ERR");
	assert_string_equal(fmt("[2001:db8::1]x", 3210), "ERR");
	assert_string_equal(fmt("", 3210), "ERR");
	assert_string_equal(fmt("host.example:1", 3210), "ERR");
	assert_string_equal(fmt("65536", 3210), "ERR");
}

static void test_normalise(void **state)
{
	(void)state;
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(3210)};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(3210)};
	struct addr a, b;
	inet_pton(AF_INET, "192.0.2.7", &s4.sin_addr);
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &s6.sin6_addr);
	assert_int_equal(addr_from_sockaddr(&a, (struct sockaddr *)&s4, sizeof(s4)), 0);
	assert_int_equal(addr_from_sockaddr(&b, (struct sockaddr *)&s6, sizeof(s6)), 0);
	assert_true(addr_is_v4(&a));
	assert_true(addr_equal(&a, &b));
	assert_int_equal(addr_cmp(&a, &b), 0);
	assert_int_equal(addr_hash(&a), addr_hash(&b));
	b.port++;
	assert_false(addr_equal(&a, &b));
	assert_true(addr_cmp(&a, &b) < 0);

	struct sockaddr_storage ss;
	assert_int_equal(addr_to_sockaddr(&a, &ss, AF_INET), sizeof(struct sockaddr_in));
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, s4.sin_addr.s_addr);
	assert_int_equal(addr_to_sockaddr(&a, &ss, AF_INET6), sizeof(struct sockaddr_in6));
	assert_memory_equal(&((struct sockaddr_in6 *)&ss)->sin6_addr, &s6.sin6_addr, 16);
	assert_int_equal(addr_parse("[2001:db8::2]:1", 0, &b), 0);
	assert_int_equal(addr_to_sockaddr(&b, &ss, AF_INET), 0);
	assert_false(addr_is_v4(&b));
}

static void test_split(void **state)
{
	(void)state;
	char host[32];
	uint16_t port;
	assert_int_equal(addr_split_host_port("node.example:4000", 3210, host, sizeof(host), &port), 0);
	assert_string_equal(host, "node.example");
	assert_int_equal(port, 4000);
	assert_int_equal(addr_split_host_port("node.example", 3210, host, sizeof(host), &port), 0);
	assert_int_equal(port, 3210);
	/* VpnCloud quirk 12: [v6]:port must not get another :3210 */
	assert_int_equal(addr_split_host_port("[2001:db8::1]:4000", 3210, host, sizeof(host), &port), 0);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(port, 4000);
	assert_int_equal(addr_split_host_port("averyveryverylonghostnamethatdoesnotfit.example:1", 1,
					      host, sizeof(host), &port),
			 -ENAMETOOLONG);
}

static void test_resolve_numeric(void **state)
{
	(void)state;
	struct addr out[4];
	char buf[ADDR_STRLEN];
	assert_int_equal(addr_resolve("192.0.2.5", 3210, out, 4), 1);
	assert_string_equal(addr_format(&out[0], buf), "192.0.2.5:3210");
	assert_int_equal(addr_resolve("localhost:99", 3210, out, 4) >= 1, 1);
	assert_int_equal(out[0].port, 99);
	assert_int_equal(addr_resolve("no-such-host.invalid", 3210, out, 4) < 0, 1);
}

static void test_wire(void **state)
{
	(void)state;
	struct addr a, b;
	uint8_t w18[18], w6[6];
	assert_int_equal(addr_parse("192.0.2.1:3210", 0, &a), 0);
	addr_to_wire18(&a, w18);
	const uint8_t want18[18] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1, 0x0c, 0x8a};
	assert_memory_equal(w18, want18, 18);
	addr_from_wire18(&b, w18);
	assert_true(addr_equal(&a, &b));
	assert_true(addr_to_wire6(&a, w6));
	const uint8_t want6[6] = {192, 0, 2, 1, 0x0c, 0x8a};
	assert_memory_equal(w6, want6, 6);
	addr_from_wire6(&b, w6);
	assert_true(addr_equal(&a, &b));
	assert_int_equal(addr_parse("[2001:db8::1]:1", 0, &a), 0);
	assert_false(addr_to_wire6(&a, w6));
}

static void test_ranges(void **state)
{
	(void)state;
	struct range r;
	struct vaddr v;
	char buf[VADDR_STRLEN + 4];

	assert_int_equal(range_parse("10.0.0.0/24", &r), 0);
	assert_int_equal(r.base.len, 4);
	assert_int_equal(r.prefix, 24);
	assert_string_equal(range_format(&r, buf), "10.0.0.0/24");
	assert_int_equal(vaddr_parse("10.0.0.200", &v), 0);
	assert_true(range_match(&r, &v));
	assert_int_equal(vaddr_parse("10.0.1.1", &v), 0);
	assert_false(range_match(&r, &v));

	assert_int_equal(range_parse("10.1.2.3/21", &r), 0);
	assert_int_equal(vaddr_parse("10.1.7.255", &v), 0);
	assert_true(range_match(&r, &v));
	assert_int_equal(vaddr_parse("10.1.8.0", &v), 0);
	assert_false(range_match(&r, &v));

	assert_int_equal(range_parse("2001:db8::/32", &r), 0);
	assert_string_equal(range_format(&r, buf), "2001:0db8:0000:0000:0000:0000:0000:0000/32");
	assert_int_equal(vaddr_parse("2001:db8:ffff::1", &v), 0);
	assert_true(range_match(&r, &v));
	assert_int_equal(vaddr_parse("10.1.8.0", &v), 0);
	assert_false(range_match(&r, &v)); /* length differs */

	assert_int_equal(range_parse("AA:bb:cc:dd:ee:ff/48", &r), 0);
	assert_int_equal(r.base.len, 6);
	assert_string_equal(range_format(&r, buf), "aa:bb:cc:dd:ee:ff/48");
	assert_int_equal(range_parse("0.0.0.0/0", &r), 0);
	assert_int_equal(vaddr_parse("1.2.3.4", &v), 0);
	assert_true(range_match(&r, &v));

	assert_int_equal(range_parse("10.0.0.0", &r), -EINVAL);
	assert_int_equal(range_parse("10.0.0.0/33", &r), -EINVAL);
	assert_int_equal(range_parse("10.0.0.0/", &r), -EINVAL);
	assert_int_equal(range_parse("10.0.0.0/2x", &r), -EINVAL);
	assert_int_equal(range_parse("aa:bb:cc:dd:ee/8", &r), -EINVAL);
	assert_int_equal(range_parse("hello/8", &r), -EINVAL);

	struct vaddr vl = {.len = 8, .b = {0x00, 0x05, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}};
	char vb[VADDR_STRLEN];
	assert_string_equal(vaddr_format(&vl, vb), "vlan5/aa:bb:cc:dd:ee:ff");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms), cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_split),	    cmocka_unit_test(test_resolve_numeric),
		cmocka_unit_test(test_wire),	    cmocka_unit_test(test_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

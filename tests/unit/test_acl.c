// SPDX-License-Identifier: GPL-3.0-or-later
/* test_acl.c - ACL entries (every form, boundaries, errors), merged lists, allow/block. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/acl.h"

/* Canonical text of an entry, or "ERR <message>". */
static const char *canon(const char *s)
{
	static char buf[ACL_ERROR_LEN + 8];
	struct acl_entry e;
	struct acl_error why = {{0}};
	char one[ACL_ENTRY_STRLEN];

	if (acl_entry_parse(s, &e, &why) < 0) {
		snprintf(buf, sizeof(buf), "ERR %s", why.msg);
		return buf;
	}
	snprintf(buf, sizeof(buf), "%s", acl_entry_format(&e, one));
	return buf;
}

static struct acl_entry E(const char *s)
{
	struct acl_entry e;
	struct acl_error why;
	if (acl_entry_parse(s, &e, &why) < 0)
		fail_msg("%s: %s", s, why.msg);
	return e;
}

static struct addr A(const char *s)
{
	struct addr a;
	assert_int_equal(addr_parse(s, 0, &a), 0);
	return a;
}

/* Does entry (text) contain address (text)? */
static bool in(const char *entry, const char *addr)
{
	struct acl_entry e = E(entry);
	struct addr a = A(addr);
	return acl_entry_contains(&e, &a);
}

static void list_of(struct acl_list *l, const char *const *items, size_t n)
{
	struct acl_error why;
	acl_list_init(l);
	if (acl_list_parse(l, items, n, &why) < 0)
		fail_msg("list: %s", why.msg);
}

static bool list_has(const struct acl_list *l, const char *addr)
{
	struct addr a = A(addr);
	bool r = acl_list_contains(l, &a);
	/* the raw-IP lookup must agree, in the form payload_parse() would give */
	uint8_t b[16];
	if (inet_pton(AF_INET, addr, b) == 1)
		assert_int_equal(acl_list_contains_ip(l, b, 4), r);
	else if (inet_pton(AF_INET6, addr, b) == 1)
		assert_int_equal(acl_list_contains_ip(l, b, 16), r);
	return r;
}

static void test_exact(void **state)
{
	(void)state;
	struct acl_entry e = E("10.0.0.1");
	assert_int_equal(e.kind, ACL_KIND_EXACT);
	assert_int_equal(e.family, 4);
	assert_string_equal(canon("10.0.0.1"), "10.0.0.1");
	assert_string_equal(canon(" \t10.0.0.1 "), "10.0.0.1");
	assert_string_equal(canon("0.0.0.0"), "0.0.0.0");
	assert_string_equal(canon("255.255.255.255"), "255.255.255.255");
	assert_true(in("10.0.0.1", "10.0.0.1"));
	assert_true(in("10.0.0.1", "10.0.0.1:3210")); /* port ignored */
	assert_false(in("10.0.0.1", "10.0.0.2"));
	assert_false(in("10.0.0.1", "10.0.0.0"));

	e = E("2001:DB8:0:0::1");
	assert_int_equal(e.kind, ACL_KIND_EXACT);
	assert_int_equal(e.family, 6);
	assert_string_equal(canon("2001:DB8:0:0::1"), "2001:db8::1");
	assert_string_equal(canon("::"), "::");
	assert_string_equal(canon("::1"), "::1");
	assert_true(in("2001:db8::1", "[2001:db8::1]:9"));
	assert_false(in("2001:db8::1", "2001:db8::2"));
	assert_false(in("::", "::1"));

	/* a mapped IPv6 literal is the IPv4 address, as addr_parse() normalises it */
	e = E("::ffff:10.0.0.1");
	assert_int_equal(e.family, 4);
	assert_string_equal(canon("::ffff:10.0.0.1"), "10.0.0.1");
	assert_string_equal(canon("::FFFF:a00:1"), "10.0.0.1");
	assert_true(in("::ffff:10.0.0.1", "10.0.0.1"));
}

static void test_cidr(void **state)
{
	(void)state;
	struct acl_entry e = E("10.0.0.0/24");
	assert_int_equal(e.kind, ACL_KIND_CIDR);
	assert_int_equal(e.prefix, 24);
	assert_string_equal(canon("10.0.0.0/24"), "10.0.0.0/24");
	assert_true(in("10.0.0.0/24", "10.0.0.0"));
	assert_true(in("10.0.0.0/24", "10.0.0.255"));
	assert_false(in("10.0.0.0/24", "9.255.255.255"));
	assert_false(in("10.0.0.0/24", "10.0.1.0"));
	assert_true(in("10.0.0.0/31", "10.0.0.1"));
	assert_false(in("10.0.0.0/31", "10.0.0.2"));

	/* /32 and /0 */
	assert_true(in("10.0.0.7/32", "10.0.0.7"));
	assert_false(in("10.0.0.7/32", "10.0.0.6"));
	assert_false(in("10.0.0.7/32", "10.0.0.8"));
	assert_string_equal(canon("0.0.0.0/0"), "0.0.0.0/0");
	assert_true(in("0.0.0.0/0", "0.0.0.0"));
	assert_true(in("0.0.0.0/0", "255.255.255.255"));
	assert_false(in("0.0.0.0/0", "::"));
	assert_false(in("0.0.0.0/0", "::1"));
	assert_false(in("0.0.0.0/0", "2001:db8::1"));
	assert_false(in("0.0.0.0/0", "::fffe:ffff:ffff"));
	assert_false(in("0.0.0.0/0", "::1:0:0:0"));
	assert_true(in("128.0.0.0/1", "255.255.255.255"));
	assert_false(in("128.0.0.0/1", "127.255.255.255"));

	/* IPv6 */
	assert_string_equal(canon("2001:0db8::/32"), "2001:db8::/32");
	assert_true(in("2001:db8::/32", "2001:db8::"));
	assert_true(in("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(in("2001:db8::/32", "2001:db9::"));
	assert_false(in("2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_true(in("2001:db8::1/128", "2001:db8::1"));
	assert_false(in("2001:db8::1/128", "2001:db8::2"));
	assert_false(in("2001:db8::1/128", "2001:db8::"));
	assert_true(in("2001:db8::/127", "2001:db8::1"));
	assert_false(in("2001:db8::/127", "2001:db8::2"));
	assert_true(in("8000::/1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(in("8000::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));

	/* ::/0 is every IPv6 address, but no IPv4 one */
	assert_string_equal(canon("::/0"), "::/0");
	assert_true(in("::/0", "::"));
	assert_true(in("::/0", "::1"));
	assert_true(in("::/0", "::fffe:ffff:ffff"));
	assert_true(in("::/0", "::1:0:0:0"));
	assert_true(in("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(in("::/0", "0.0.0.0"));
	assert_false(in("::/0", "10.0.0.1"));
	assert_false(in("::/0", "255.255.255.255"));
	assert_false(in("::/80", "10.0.0.1"));
	assert_true(in("::/80", "::fffe:0:1"));

	/* a mapped CIDR is the IPv4 CIDR */
	e = E("::ffff:10.0.0.0/104");
	assert_int_equal(e.family, 4);
	assert_int_equal(e.prefix, 8);
	assert_string_equal(canon("::ffff:10.0.0.0/104"), "10.0.0.0/8");
	assert_string_equal(canon("::ffff:0:0/96"), "0.0.0.0/0");
	assert_true(in("::ffff:0:0/96", "1.2.3.4"));
	assert_false(in("::ffff:0:0/96", "::1"));
	struct acl_entry same = E("10.0.0.0/8");
	assert_true(acl_entry_equal(&e, &same));
}

static void test_wildcard(void **state)
{
	(void)state;
	struct acl_entry e = E("192.168.1.*");
	assert_int_equal(e.kind, ACL_KIND_WILDCARD);
	assert_int_equal(e.family, 4);
	assert_int_equal(e.prefix, 24);
	assert_string_equal(canon("192.168.1.*"), "192.168.1.*");
	assert_string_equal(canon(" 10.*.*.* "), "10.*.*.*");
	assert_string_equal(canon("10.20.*.*"), "10.20.*.*");
	assert_string_equal(canon("*.*.*.*"), "*.*.*.*");
	assert_true(in("192.168.1.*", "192.168.1.0"));
	assert_true(in("192.168.1.*", "192.168.1.255"));
	assert_false(in("192.168.1.*", "192.168.0.255"));
	assert_false(in("192.168.1.*", "192.168.2.0"));
	assert_true(in("10.*.*.*", "10.255.255.255"));
	assert_false(in("10.*.*.*", "11.0.0.0"));
	assert_true(in("*.*.*.*", "0.0.0.0"));
	assert_true(in("*.*.*.*", "255.255.255.255"));
	assert_false(in("*.*.*.*", "::"));
	assert_false(in("*.*.*.*", "2001:db8::1"));

	/* the same addresses as the CIDR, a different entry (kept for display) */
	struct acl_entry c = E("192.168.1.0/24");
	assert_true(e.first.hi == c.first.hi && e.first.lo == c.first.lo);
	assert_true(e.last.hi == c.last.hi && e.last.lo == c.last.lo);
	assert_false(acl_entry_equal(&e, &c));
}

static void test_range(void **state)
{
	(void)state;
	struct acl_entry e = E("10.0.0.1-10.0.0.50");
	assert_int_equal(e.kind, ACL_KIND_RANGE);
	assert_int_equal(e.family, 4);
	assert_string_equal(canon("10.0.0.1-10.0.0.50"), "10.0.0.1-10.0.0.50");
	assert_string_equal(canon(" 10.0.0.1 - 10.0.0.50 "), "10.0.0.1-10.0.0.50");
	assert_string_equal(canon("10.0.0.1-10.0.0.1"), "10.0.0.1-10.0.0.1");
	assert_false(in("10.0.0.1-10.0.0.50", "10.0.0.0"));
	assert_true(in("10.0.0.1-10.0.0.50", "10.0.0.1"));
	assert_true(in("10.0.0.1-10.0.0.50", "10.0.0.50"));
	assert_false(in("10.0.0.1-10.0.0.50", "10.0.0.51"));
	assert_true(in("10.0.0.255-10.0.1.0", "10.0.1.0"));
	assert_true(in("0.0.0.0-255.255.255.255", "255.255.255.255"));
	assert_false(in("0.0.0.0-255.255.255.255", "::1"));

	e = E("2001:db8::1-2001:db8::ff");
	assert_int_equal(e.family, 6);
	assert_string_equal(canon("2001:DB8::1-2001:db8:0::ff"), "2001:db8::1-2001:db8::ff");
	assert_false(in("2001:db8::1-2001:db8::ff", "2001:db8::"));
	assert_true(in("2001:db8::1-2001:db8::ff", "2001:db8::1"));
	assert_true(in("2001:db8::1-2001:db8::ff", "2001:db8::ff"));
	assert_false(in("2001:db8::1-2001:db8::ff", "2001:db8::100"));

	/* an IPv6 range across the mapped block skips it */
	assert_true(in("::1-::1:0:0:0", "::2"));
	assert_true(in("::1-::1:0:0:0", "::fffe:ffff:ffff"));
	assert_true(in("::1-::1:0:0:0", "::1:0:0:0"));
	assert_false(in("::1-::1:0:0:0", "1.2.3.4"));
	assert_false(in("::1-::1:0:0:0", "::1:0:0:1"));
	/* mapped ends: an IPv4 range */
	assert_string_equal(canon("::ffff:10.0.0.1-::ffff:10.0.0.5"), "10.0.0.1-10.0.0.5");
}

static void test_any(void **state)
{
	(void)state;
	struct acl_entry e = E("*");
	assert_int_equal(e.kind, ACL_KIND_ANY);
	assert_int_equal(e.family, 0);
	assert_string_equal(canon(" * "), "*");
	assert_true(in("*", "0.0.0.0"));
	assert_true(in("*", "255.255.255.255"));
	assert_true(in("*", "::"));
	assert_true(in("*", "2001:db8::1"));
	assert_true(in("*", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
}

/* IPv4 and IPv6 entries never match each other's addresses by accident. */
static void test_mapped_vs_native(void **state)
{
	(void)state;
	/* ::a00:1 (IPv4-compatible, deprecated) and 2001:db8::a00:1 end in 10.0.0.1's bits */
	assert_false(in("10.0.0.1", "::a00:1"));
	assert_false(in("10.0.0.0/8", "::a00:1"));
	assert_false(in("10.0.0.0/8", "2001:db8::a00:1"));
	assert_false(in("10.*.*.*", "::a00:1"));
	assert_false(in("::a00:1", "10.0.0.1"));
	assert_false(in("::/96", "10.0.0.1"));
	assert_true(in("::/96", "::a00:1"));
	/* a mapped address from a dual-stack socket is the IPv4 address */
	assert_true(in("10.0.0.0/8", "::ffff:10.1.2.3"));

	static const char *const items[] = {"10.0.0.0/8"};
	struct acl_list l;
	list_of(&l, items, 1);
	const uint8_t v4[4] = {10, 0, 0, 1};
	const uint8_t compat[16] = {[12] = 10, [15] = 1};
	const uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1};
	assert_true(acl_list_contains_ip(&l, v4, 4));
	assert_false(acl_list_contains_ip(&l, compat, 16));
	assert_true(acl_list_contains_ip(&l, mapped, 16));
	acl_list_free(&l);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *in, *msg;
	} cases[] = {
		{"", "empty entry"},
		{" \t ", "empty entry"},
		{"10.0.0.300", "10.0.0.300: not an IPv4 address"},
		{"10.0.0", "10.0.0: not an IPv4 address"},
		{"10.0.0.1.2", "10.0.0.1.2: not an IPv4 address"},
		{"010.0.0.1", "010.0.0.1: not an IPv4 address"},
		{"10..0.1", "10..0.1: not an IPv4 address"},
		{"2001:db8::g", "2001:db8::g: not an IPv6 address"},
		{"1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8:9: not an IPv6 address"},
		{"example.com", "example.com: not an IP address"},
		{"10.0.0.1x", "10.0.0.1x: not an IP address"},
		{"10.0.0 .1", "10.0.0 .1: not an IP address"},
		{"fe80::1%eth0", "fe80::1%eth0: scope ids are not allowed"},
		{"10.0.0.1:80", "10.0.0.1:80: ports are not allowed"},
		{"[2001:db8::1]",
		 "[2001:db8::1]: brackets are not allowed (write the bare address)"},
		{"10.0.0.0/33", "10.0.0.0/33: prefix length 33 is out of range (0-32)"},
		{"2001:db8::/129", "2001:db8::/129: prefix length 129 is out of range (0-128)"},
		{"::ffff:10.0.0.0/129",
		 "::ffff:10.0.0.0/129: prefix length 129 is out of range (0-128)"},
		{"10.0.0.0/", "10.0.0.0/: missing prefix length"},
		{"10.0.0.0/x", "10.0.0.0/x: prefix length is not a number"},
		{"10.0.0.0/ 8", "10.0.0.0/ 8: prefix length is not a number"},
		{"10.0.0.0/8/8", "10.0.0.0/8/8: prefix length is not a number"},
		{"10.0.0.0/00008", "10.0.0.0/00008: prefix length is not a number"},
		{"/8", "/8: missing address before '/'"},
		{"10.0.0.300/8", "10.0.0.300/8: 10.0.0.300 is not an IPv4 address"},
		{"10.0.0.1/8", "10.0.0.1/8: host bits set (did you mean 10.0.0.0/8?)"},
		{"10.0.0.1/31", "10.0.0.1/31: host bits set (did you mean 10.0.0.0/31?)"},
		{"2001:db8::1/32", "2001:db8::1/32: host bits set (did you mean 2001:db8::/32?)"},
		{"::ffff:10.0.0.1/104",
		 "::ffff:10.0.0.1/104: host bits set (did you mean 10.0.0.0/8?)"},
		{"::ffff:0:0/80", "::ffff:0:0/80: host bits set (did you mean ::/80?)"},
		{"10.0.0.*/24", "10.0.0.*/24: a CIDR cannot contain '*'"},
		{"10.*.1.*", "10.*.1.*: '*' only in trailing parts (e.g. 10.1.*.*)"},
		{"*.1.1.1", "*.1.1.1: '*' only in trailing parts (e.g. 10.1.*.*)"},
		{"10.*", "10.*: a wildcard has four parts (e.g. 10.1.*.*)"},
		{"10.*.*.*.*", "10.*.*.*.*: a wildcard has four parts (e.g. 10.1.*.*)"},
		{"**", "**: not an IPv4 wildcard"},
		{"10.1*.*.*", "10.1*.*.*: not an IPv4 wildcard"},
		{"10.300.*.*", "10.300.*.*: not an IPv4 wildcard"},
		{"10..*.*", "10..*.*: not an IPv4 wildcard"},
		{"2001:db8::*", "2001:db8::*: wildcards are IPv4 only (use a CIDR)"},
		{"10.0.0.50-10.0.0.1", "10.0.0.50-10.0.0.1: range end before start"},
		{"2001:db8::2-2001:db8::1", "2001:db8::2-2001:db8::1: range end before start"},
		{"10.0.0.1-2001:db8::1",
		 "10.0.0.1-2001:db8::1: range ends are different address families"},
		{"::1-::ffff:10.0.0.1",
		 "::1-::ffff:10.0.0.1: range ends are different address families"},
		{"10.0.0.1-", "10.0.0.1-: missing range end"},
		{"-10.0.0.1", "-10.0.0.1: missing range start"},
		{"10.0.0.1-10.0.0.2-10.0.0.3", "10.0.0.1-10.0.0.2-10.0.0.3: a range has one '-'"},
		{"10.0.0.1-10.0.0.*",
		 "10.0.0.1-10.0.0.*: a range takes two plain addresses (no '*' or '/')"},
		{"10.0.0.0/8-10.1.0.0",
		 "10.0.0.0/8-10.1.0.0: a range takes two plain addresses (no '*' or '/')"},
		{"10.0.0.1-10.0.0.300", "10.0.0.1-10.0.0.300: 10.0.0.300 is not an IPv4 address"},
		{"bad-10.0.0.1", "bad-10.0.0.1: bad is not an IP address"},
		{"10.0.0.1\n", "entry contains a control or non-ASCII character"},
		{"10.0.0.\xc3\xa9", "entry contains a control or non-ASCII character"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct acl_entry e;
		struct acl_error why = {{0}};
		if (acl_entry_parse(cases[i].in, &e, &why) != -EINVAL)
			fail_msg("accepted: \"%s\"", cases[i].in);
		if (strcmp(why.msg, cases[i].msg) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].in, why.msg,
				 cases[i].msg);
		assert_int_equal(e.kind, 0); /* out cleared */
		/* why is optional */
		assert_int_equal(acl_entry_parse(cases[i].in, &e, NULL), -EINVAL);
	}

	char longer[ACL_ENTRY_MAX + 2];
	memset(longer, ' ', sizeof(longer));
	memcpy(longer, "10.0.0.1", 8);
	longer[ACL_ENTRY_MAX] = '\0'; /* exactly the maximum: accepted */
	assert_string_equal(canon(longer), "10.0.0.1");
	longer[ACL_ENTRY_MAX] = ' ';
	longer[ACL_ENTRY_MAX + 1] = '\0';
	assert_string_equal(canon(longer), "ERR entry too long (at most 128 characters)");
}

static void test_format_roundtrip(void **state)
{
	(void)state;
	static const char *const inputs[] = {
		"10.0.0.1",	    "0.0.0.0/0",	"10.0.0.0/8",	   "192.168.1.*",
		"*.*.*.*",	    "10.0.0.1-10.0.0.50", "*",		   "2001:db8::1",
		"2001:db8::/32",    "::/0",		"::1-::1:0:0:0",   "::ffff:10.0.0.0/104",
		"2001:db8:0:0:0:0:0:1-2001:db8::ff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		"::a00:1",	    "fe80::/10",	"255.255.255.255/32",
	};
	for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {
		struct acl_entry a = E(inputs[i]), b;
		char t1[ACL_ENTRY_STRLEN], t2[ACL_ENTRY_STRLEN];
		acl_entry_format(&a, t1);
		b = E(t1);
		assert_true(acl_entry_equal(&a, &b));
		assert_string_equal(acl_entry_format(&b, t2), t1);
	}
}

static void test_list_merge(void **state)
{
	(void)state;
	struct acl_list l;

	/* two halves of a /24: one interval */
	static const char *const halves[] = {"10.0.0.128/25", "10.0.0.0/25"};
	list_of(&l, halves, 2);
	assert_int_equal(l.n_entries, 2);
	assert_int_equal(l.n_iv, 1);
	assert_true(list_has(&l, "10.0.0.0"));
	assert_true(list_has(&l, "10.0.0.255"));
	assert_false(list_has(&l, "10.0.1.0"));
	acl_list_free(&l);

	/* adjacent range and address merge, a gap does not */
	static const char *const adj[] = {"10.0.0.1-10.0.0.5", "10.0.0.6", "10.0.0.8"};
	list_of(&l, adj, 3);
	assert_int_equal(l.n_iv, 2);
	assert_true(list_has(&l, "10.0.0.6"));
	assert_false(list_has(&l, "10.0.0.7"));
	assert_true(list_has(&l, "10.0.0.8"));
	assert_false(list_has(&l, "10.0.0.9"));
	assert_false(list_has(&l, "10.0.0.0"));
	acl_list_free(&l);

	/* overlapping, contained and duplicate entries */
	static const char *const over[] = {"10.0.0.0/8", "10.1.0.0/16", "10.0.0.5-10.3.0.0",
					   "9.255.255.0-10.0.0.1", "10.0.0.0/8"};
	list_of(&l, over, 5);
	assert_int_equal(l.n_entries, 5);
	assert_int_equal(l.n_iv, 1);
	assert_true(list_has(&l, "9.255.255.0"));
	assert_false(list_has(&l, "9.255.254.255"));
	assert_true(list_has(&l, "10.255.255.255"));
	assert_false(list_has(&l, "11.0.0.0"));
	acl_list_free(&l);

	/* IPv4 and IPv6 stay apart; ::/0 plus *.*.*.* together fill the whole space */
	static const char *const fams[] = {"::/0", "*.*.*.*"};
	list_of(&l, fams, 1);
	assert_int_equal(l.n_iv, 2); /* below and above the mapped block */
	assert_false(list_has(&l, "10.0.0.1"));
	acl_list_free(&l);
	list_of(&l, fams, 2);
	assert_int_equal(l.n_iv, 1);
	assert_true(list_has(&l, "10.0.0.1"));
	assert_true(list_has(&l, "::"));
	acl_list_free(&l);

	/* "*" swallows everything */
	static const char *const any[] = {"10.0.0.1", "*", "2001:db8::/32"};
	list_of(&l, any, 3);
	assert_int_equal(l.n_iv, 1);
	assert_true(list_has(&l, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	acl_list_free(&l);

	/* the top and the bottom of the space, no overflow when merging at the end */
	static const char *const ends[] = {
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:0-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::", "::1"};
	list_of(&l, ends, 5);
	assert_int_equal(l.n_iv, 2);
	assert_true(list_has(&l, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_true(list_has(&l, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:0"));
	assert_false(list_has(&l, "ffff:ffff:ffff:ffff:ffff:ffff:fffe:ffff"));
	assert_true(list_has(&l, "::"));
	assert_true(list_has(&l, "::1"));
	assert_false(list_has(&l, "::2"));
	acl_list_free(&l);

	/* 64-bit half boundary: the low half carries into the high half */
	static const char *const carry[] = {"2001:db8::-2001:db8:0:0:ffff:ffff:ffff:ffff",
					    "2001:db8:0:1::"};
	list_of(&l, carry, 2);
	assert_int_equal(l.n_iv, 1);
	assert_true(list_has(&l, "2001:db8:0:1::"));
	assert_false(list_has(&l, "2001:db8:0:1::1"));
	acl_list_free(&l);
}

/* The merged binary search gives exactly what scanning every entry gives. */
static void test_list_vs_linear(void **state)
{
	(void)state;
	static char texts[300][ACL_ENTRY_STRLEN];
	const char *items[300];
	uint32_t seed = 12345;
#define RND() (seed = seed * 1103515245u + 12345u, seed >> 8)
	for (int i = 0; i < 300; i++) {
		/* small IPv4 and IPv6 neighbourhoods, so that entries overlap and touch */
		unsigned a = RND() % 64, b = RND() % 64, p = 26 + RND() % 7;
		switch (RND() % 5) {
		case 0:
			snprintf(texts[i], sizeof(texts[i]), "10.0.%u.%u", a % 4, b);
			break;
		case 1:
			snprintf(texts[i], sizeof(texts[i]), "10.0.%u.%u/%u", a % 4,
				 b & ~((1u << (32 - p)) - 1) & 0xff, p);
			break;
		case 2:
			snprintf(texts[i], sizeof(texts[i]), "10.0.%u.%u-10.0.%u.%u", a % 4, b,
				 a % 4, b + RND() % 8);
			break;
		case 3:
			snprintf(texts[i], sizeof(texts[i]), "2001:db8::%x-2001:db8::%x", a, a + b);
			break;
		default:
			snprintf(texts[i], sizeof(texts[i]), "2001:db8::%x/%u", a & ~3u, 126);
			break;
		}
		items[i] = texts[i];
	}
	for (size_t n = 0; n <= 300; n += 30) {
		struct acl_list l;
		list_of(&l, items, n);
		assert_true(l.n_iv <= 2 * n);
		for (unsigned x = 0; x < 4 * 256 + 8; x++) {
			char s[64];
			if (x < 4 * 256)
				snprintf(s, sizeof(s), "10.0.%u.%u", x / 256, x % 256);
			else
				snprintf(s, sizeof(s), "10.0.4.%u", x - 4 * 256);
			struct addr ad = A(s);
			bool want = false;
			for (size_t k = 0; k < n; k++)
				want |= acl_entry_contains(&l.entries[k], &ad);
			assert_int_equal(list_has(&l, s), want);
		}
		for (unsigned x = 0; x < 200; x++) {
			char s[64];
			snprintf(s, sizeof(s), "2001:db8::%x", x);
			struct addr ad = A(s);
			bool want = false;
			for (size_t k = 0; k < n; k++)
				want |= acl_entry_contains(&l.entries[k], &ad);
			assert_int_equal(list_has(&l, s), want);
		}
		acl_list_free(&l);
	}
#undef RND
}

static void test_list_build(void **state)
{
	(void)state;
	struct acl_list l;
	struct acl_error why;
	char buf[256];

	acl_list_init(&l);
	assert_true(acl_list_empty(&l));
	assert_false(list_has(&l, "10.0.0.1"));
	assert_int_equal(acl_list_format(&l, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");

	assert_int_equal(acl_list_add(&l, "10.0.0.0/8", &why), 0);
	assert_int_equal(acl_list_add(&l, "2001:DB8::/32", &why), 0);
	assert_int_equal(acl_list_add(&l, " 192.168.1.* ", &why), 0);
	assert_int_equal(l.n_entries, 3);
	assert_true(list_has(&l, "192.168.1.9"));

	/* a bad entry leaves the list as it was */
	assert_int_equal(acl_list_add(&l, "10.0.0.1/8", &why), -EINVAL);
	assert_string_equal(why.msg, "10.0.0.1/8: host bits set (did you mean 10.0.0.0/8?)");
	assert_int_equal(l.n_entries, 3);
	assert_true(list_has(&l, "10.1.1.1"));

	static const char *const bad[] = {"10.0.0.1", "2001:db8::x", "10.0.0.2"};
	assert_int_equal(acl_list_parse(&l, bad, 3, &why), -EINVAL);
	assert_string_equal(why.msg, "2001:db8::x: not an IPv6 address");
	assert_int_equal(l.n_entries, 3);
	assert_true(list_has(&l, "2001:db8::5"));

	/* canonical text, in the order given */
	const char *want = "10.0.0.0/8, 2001:db8::/32, 192.168.1.*";
	assert_int_equal(acl_list_format(&l, buf, sizeof(buf)), strlen(want));
	assert_string_equal(buf, want);
	/* truncated like snprintf; the return value is the full length */
	assert_int_equal(acl_list_format(&l, buf, 12), strlen(want));
	assert_string_equal(buf, "10.0.0.0/8,");
	assert_int_equal(acl_list_format(&l, NULL, 0), strlen(want));

	/* the copy is independent */
	struct acl_list c;
	assert_int_equal(acl_list_copy(&c, &l), 0);
	acl_list_free(&l);
	assert_true(acl_list_empty(&l));
	assert_false(list_has(&l, "10.0.0.1"));
	assert_true(list_has(&c, "10.0.0.1"));
	assert_int_equal(acl_list_format(&c, buf, sizeof(buf)), strlen(want));
	assert_string_equal(buf, want);

	/* parse replaces; an empty parse empties */
	static const char *const one[] = {"10.9.9.9"};
	assert_int_equal(acl_list_parse(&c, one, 1, &why), 0);
	assert_int_equal(c.n_entries, 1);
	assert_false(list_has(&c, "10.0.0.1"));
	assert_true(list_has(&c, "10.9.9.9"));
	assert_int_equal(acl_list_parse(&c, NULL, 0, &why), 0);
	assert_true(acl_list_empty(&c));
	assert_false(list_has(&c, "10.9.9.9"));
	acl_list_free(&c);
	acl_list_free(NULL);
}

static void test_list_limit(void **state)
{
	(void)state;
	const char **items = calloc(ACL_LIST_MAX + 1, sizeof(*items));
	char(*texts)[24] = calloc(ACL_LIST_MAX + 1, sizeof(*texts));
	struct acl_list l;
	struct acl_error why;

	assert_non_null(items);
	assert_non_null(texts);
	for (unsigned i = 0; i <= ACL_LIST_MAX; i++) {
		/* every other address: nothing merges */
		snprintf(texts[i], sizeof(texts[i]), "10.%u.%u.%u", (2 * i) >> 16 & 0xff,
			 (2 * i) >> 8 & 0xff, (2 * i) & 0xff);
		items[i] = texts[i];
	}
	acl_list_init(&l);
	assert_int_equal(acl_list_parse(&l, items, ACL_LIST_MAX + 1, &why), -E2BIG);
	assert_string_equal(why.msg, "too many entries (at most 65536)");
	assert_int_equal(acl_list_parse(&l, items, ACL_LIST_MAX, &why), 0);
	assert_int_equal(l.n_iv, ACL_LIST_MAX);
	assert_true(list_has(&l, "10.0.0.0"));
	assert_false(list_has(&l, "10.0.0.1"));
	assert_true(list_has(&l, "10.1.255.254"));
	assert_false(list_has(&l, "10.1.255.255"));
	assert_int_equal(acl_list_add(&l, "10.200.0.0", &why), -E2BIG);
	acl_list_free(&l);
	free(items);
	free(texts);
}

static enum acl_verdict check(const struct acl_policy *p, const char *addr)
{
	struct addr a = A(addr);
	enum acl_verdict v = acl_check(p, &a);
	uint8_t b[16];
	if (inet_pton(AF_INET, addr, b) == 1)
		assert_int_equal(acl_check_ip(p, b, 4), v);
	else if (inet_pton(AF_INET6, addr, b) == 1)
		assert_int_equal(acl_check_ip(p, b, 16), v);
	return v;
}

static void test_policy(void **state)
{
	(void)state;
	struct acl_policy p;
	struct acl_error why;
	static const char *const allow[] = {"10.0.0.0/8", "2001:db8::/32"};
	static const char *const block[] = {"10.0.0.5", "10.9.*.*", "2001:db8::bad"};
	const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};

	/* both empty: everything allowed */
	acl_policy_init(&p);
	assert_int_equal(check(&p, "1.2.3.4"), ACL_ALLOWED);
	assert_int_equal(check(&p, "2001:db8::1"), ACL_ALLOWED);
	assert_int_equal(acl_check_ip(&p, mac, 6), ACL_ALLOWED);

	/* block only */
	assert_int_equal(acl_list_parse(&p.block, block, 3, &why), 0);
	assert_int_equal(check(&p, "10.0.0.5"), ACL_BLOCKED);
	assert_int_equal(check(&p, "10.9.200.1"), ACL_BLOCKED);
	assert_int_equal(check(&p, "2001:db8::bad"), ACL_BLOCKED);
	assert_int_equal(check(&p, "10.0.0.6"), ACL_ALLOWED);
	assert_int_equal(check(&p, "192.0.2.1"), ACL_ALLOWED);

	/* allow and block: block overrides allow */
	assert_int_equal(acl_list_parse(&p.allow, allow, 2, &why), 0);
	assert_int_equal(check(&p, "10.0.0.5"), ACL_BLOCKED);
	assert_int_equal(check(&p, "10.9.0.0"), ACL_BLOCKED);
	assert_int_equal(check(&p, "2001:db8::bad"), ACL_BLOCKED);
	assert_int_equal(check(&p, "10.0.0.4"), ACL_ALLOWED);
	assert_int_equal(check(&p, "10.255.255.255"), ACL_ALLOWED);
	assert_int_equal(check(&p, "2001:db8::1"), ACL_ALLOWED);
	assert_int_equal(check(&p, "11.0.0.0"), ACL_NOT_ALLOWED);
	assert_int_equal(check(&p, "2001:db9::1"), ACL_NOT_ALLOWED);
	assert_int_equal(check(&p, "::a00:1"), ACL_NOT_ALLOWED);
	/* non-IP destinations are in no list */
	assert_int_equal(acl_check_ip(&p, mac, 6), ACL_NOT_ALLOWED);

	/* allow only */
	acl_list_free(&p.block);
	assert_int_equal(check(&p, "10.0.0.5"), ACL_ALLOWED);
	assert_int_equal(check(&p, "11.0.0.0"), ACL_NOT_ALLOWED);

	/* block "*" blocks every IP, but not what has no IP */
	static const char *const all[] = {"*"};
	assert_int_equal(acl_list_parse(&p.block, all, 1, &why), 0);
	assert_int_equal(check(&p, "10.0.0.5"), ACL_BLOCKED);
	assert_int_equal(check(&p, "::"), ACL_BLOCKED);
	acl_list_free(&p.allow);
	assert_int_equal(acl_check_ip(&p, mac, 6), ACL_ALLOWED);
	acl_policy_free(&p);
	acl_policy_free(NULL);

	assert_string_equal(acl_verdict_name(ACL_ALLOWED), "allowed");
	assert_string_equal(acl_verdict_name(ACL_BLOCKED), "blocked");
	assert_string_equal(acl_verdict_name(ACL_NOT_ALLOWED), "not-allowed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),	       cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_wildcard),       cmocka_unit_test(test_range),
		cmocka_unit_test(test_any),	       cmocka_unit_test(test_mapped_vs_native),
		cmocka_unit_test(test_errors),	       cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_list_merge),     cmocka_unit_test(test_list_vs_linear),
		cmocka_unit_test(test_list_build),     cmocka_unit_test(test_list_limit),
		cmocka_unit_test(test_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* test_proxyv2.c - PROXY protocol v2 headers: fixed vectors, truncation, malformed input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/proxyv2.h"

#define SIG 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a

/* PROXY TCP4 203.0.113.7:4242 -> 192.0.2.1:3210, then payload "GET" */
static const uint8_t v4[] = {
	SIG, 0x21, 0x11, 0x00, 0x0c,
	203, 0, 113, 7, 192, 0, 2, 1, 0x10, 0x92, 0x0c, 0x8a,
	'G', 'E', 'T',
};
/* PROXY TCP6 [2001:db8::7]:4242 -> [2001:db8::1]:3210 */
static const uint8_t v6[] = {
	SIG, 0x21, 0x21, 0x00, 0x24,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0x10, 0x92, 0x0c, 0x8a,
};
/* LOCAL, UNSPEC, no body (a health check) */
static const uint8_t local[] = {SIG, 0x20, 0x00, 0x00, 0x00};
/* PROXY TCP4 10.0.0.1:12345 -> 10.0.0.2:80 with an ALPN TLV ("h2") and a 3-byte NOOP TLV */
static const uint8_t tlvs[] = {
	SIG, 0x21, 0x11, 0x00, 0x17,
	10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x00, 0x50,
	0x01, 0x00, 0x02, 'h', '2',
	0x04, 0x00, 0x03, 0, 0, 0,
};

static void test_v4(void **state)
{
	struct proxyv2 h;
	char buf[ADDR_STRLEN];

	(void)state;
	assert_int_equal(proxyv2_parse(v4, sizeof(v4), &h), 28);
	assert_true(h.flags & PROXYV2_HAS_ADDR);
	assert_int_equal(h.command, PROXYV2_CMD_PROXY);
	assert_int_equal(h.family, PROXYV2_AF_INET);
	assert_int_equal(h.transport, PROXYV2_TP_STREAM);
	assert_string_equal(addr_format(&h.src, buf), "203.0.113.7:4242");
	assert_string_equal(addr_format(&h.dst, buf), "192.0.2.1:3210");
	assert_memory_equal(v4 + 28, "GET", 3);
}

static void test_v6(void **state)
{
	struct proxyv2 h;
	char buf[ADDR_STRLEN];

	(void)state;
	assert_int_equal(proxyv2_parse(v6, sizeof(v6), &h), (int)sizeof(v6));
	assert_true(h.flags & PROXYV2_HAS_ADDR);
	assert_int_equal(h.family, PROXYV2_AF_INET6);
	assert_string_equal(addr_format(&h.src, buf), "[2001:db8::7]:4242");
	assert_string_equal(addr_format(&h.dst, buf), "[2001:db8::1]:3210");
}

static void test_local_and_unspec(void **state)
{
	uint8_t b[64];
	struct proxyv2 h;

	(void)state;
	assert_int_equal(proxyv2_parse(local, sizeof(local), &h), 16);
	assert_int_equal(h.command, PROXYV2_CMD_LOCAL);
	assert_false(h.flags & PROXYV2_HAS_ADDR);

	/* LOCAL with an INET block: addresses ignored */
	memcpy(b, v4, sizeof(v4));
	b[12] = 0x20;
	assert_int_equal(proxyv2_parse(b, sizeof(v4), &h), 28);
	assert_int_equal(h.command, PROXYV2_CMD_LOCAL);
	assert_false(h.flags & PROXYV2_HAS_ADDR);

	/* PROXY over UNSPEC with an opaque body of 5 bytes: accepted, no address */
	memcpy(b, local, sizeof(local));
	b[12] = 0x21;
	b[15] = 5;
	memset(b + 16, 0xee, 5);
	assert_int_equal(proxyv2_parse(b, 21, &h), 21);
	assert_false(h.flags & PROXYV2_HAS_ADDR);

	/* PROXY TCP4 but DGRAM: accepted, no address (not a TCP client) */
	memcpy(b, v4, sizeof(v4));
	b[13] = 0x12;
	assert_int_equal(proxyv2_parse(b, sizeof(v4), &h), 28);
	assert_false(h.flags & PROXYV2_HAS_ADDR);
}

static void test_tlvs(void **state)
{
	uint8_t b[sizeof(tlvs)];
	struct proxyv2 h;
	char buf[ADDR_STRLEN];

	(void)state;
	assert_int_equal(proxyv2_parse(tlvs, sizeof(tlvs), &h), (int)sizeof(tlvs));
	assert_true(h.flags & PROXYV2_HAS_ADDR);
	assert_string_equal(addr_format(&h.src, buf), "10.0.0.1:12345");
	/* a TLV running past the header length */
	memcpy(b, tlvs, sizeof(b));
	b[sizeof(b) - 4] = 0x04; /* NOOP length 3 -> 4 */
	assert_int_equal(proxyv2_parse(b, sizeof(b), &h), -EBADMSG);
	/* a header length that cuts the last TLV short */
	memcpy(b, tlvs, sizeof(b));
	b[15] -= 1; /* the NOOP keeps 2 of its 3 value bytes */
	assert_int_equal(proxyv2_parse(b, sizeof(b) - 1, &h), -EBADMSG);
	b[sizeof(b) - 4] = 0x02;
	assert_int_equal(proxyv2_parse(b, sizeof(b) - 1, &h), (int)sizeof(b) - 1);
}

static void test_block_too_short(void **state)
{
	uint8_t b[sizeof(v6)];
	struct proxyv2 h;

	(void)state;
	memcpy(b, v6, sizeof(b));
	b[15] = 0x23; /* 35 < 36 */
	assert_int_equal(proxyv2_parse(b, sizeof(b), &h), -EBADMSG);
	memcpy(b, v4, 28);
	b[15] = 0x0b;
	assert_int_equal(proxyv2_parse(b, 27, &h), -EBADMSG);
}

/* Every prefix of a valid header needs more bytes, never fails. */
static void truncations(const uint8_t *p, size_t n)
{
	struct proxyv2 h;

	for (size_t k = 0; k < n; k++)
		assert_int_equal(proxyv2_parse(p, k, &h), 0);
	assert_int_equal(proxyv2_parse(p, n, &h), (int)n);
}

static void test_truncated(void **state)
{
	(void)state;
	truncations(v4, 28);
	truncations(v6, sizeof(v6));
	truncations(local, sizeof(local));
	truncations(tlvs, sizeof(tlvs));
}

static void test_bad_signature(void **state)
{
	static const uint8_t http[] = "GET / HTTP/1.1\r\n";
	static const uint8_t v1[] = "PROXY TCP4 203.0.113.7 192.0.2.1 4242 3210\r\n";
	uint8_t b[sizeof(v4)];
	struct proxyv2 h;

	(void)state;
	assert_int_equal(proxyv2_parse(http, 1, &h), -EBADMSG);
	assert_int_equal(proxyv2_parse(http, sizeof(http) - 1, &h), -EBADMSG);
	assert_int_equal(proxyv2_parse(v1, sizeof(v1) - 1, &h), -EBADMSG);
	/* any changed signature byte is refused as soon as it arrives */
	for (size_t i = 0; i < PROXYV2_SIG_LEN; i++) {
		memcpy(b, v4, sizeof(b));
		b[i] ^= 0x40;
		assert_int_equal(proxyv2_parse(b, i + 1, &h), -EBADMSG);
		assert_int_equal(proxyv2_parse(b, sizeof(b), &h), -EBADMSG);
	}
}

static void test_bad_version_command_family(void **state)
{
	static const uint8_t bad13[] = {0x11, 0x31, 0x22, 0x2f}; /* version 1, 3; command 2, f */
	static const uint8_t bad14[] = {0x41, 0xf1, 0x13, 0x1f};
	uint8_t b[sizeof(v4)];
	struct proxyv2 h;

	(void)state;
	for (size_t i = 0; i < sizeof(bad13); i++) {
		memcpy(b, v4, sizeof(b));
		b[12] = bad13[i];
		assert_int_equal(proxyv2_parse(b, sizeof(b), &h), -EPROTONOSUPPORT);
		/* known from the fixed part on: no need to wait for the body */
		assert_int_equal(proxyv2_parse(b, 16, &h), -EPROTONOSUPPORT);
	}
	for (size_t i = 0; i < sizeof(bad14); i++) {
		memcpy(b, v4, sizeof(b));
		b[13] = bad14[i];
		assert_int_equal(proxyv2_parse(b, sizeof(b), &h), -EPROTONOSUPPORT);
	}
}

static void test_max_length(void **state)
{
	static uint8_t big[PROXYV2_MAX_LEN];
	struct proxyv2 h;

	(void)state;
	memcpy(big, local, sizeof(local));
	big[14] = big[15] = 0xff; /* LOCAL, UNSPEC, 65535 opaque bytes */
	assert_int_equal(proxyv2_parse(big, sizeof(big) - 1, &h), 0);
	assert_int_equal(proxyv2_parse(big, sizeof(big), &h), PROXYV2_MAX_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_local_and_unspec),
		cmocka_unit_test(test_tlvs),
		cmocka_unit_test(test_block_too_short),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_bad_version_command_family),
		cmocka_unit_test(test_max_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

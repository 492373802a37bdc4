// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_beacon.c - beacons against the PROTOCOL.md 7.7 vectors and upstream's tests, an
 * independent reference of the masking, round trips, text scanning, rejects, the
 * leading-zero quirk and the hour/TTL rule with 16-bit wraparound.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "meshvpn/beacon.h"
#include "meshvpn/bytes.h"

#define PW "mysecretkey"
/* PROTOCOL.md 7.7 (upstream's encode test, hour 2000) */
#define VEC1 "WsHI31EWDMBYxvITiILIrm2k9gEik22E" /* 1.2.3.4:5678, 6.6.6.6:53 */
#define VEC2 "WsHI32gm9eMSHP3Lm1GXcdP7rD3ik22E" /* 1.2.3.4:5678, 6.6.6.6:54 */
#define VEC3 "WsHI3GXKaXCveo6uejmZizZ72kR6Y0L9T7h49TXONp1ugfKvvvEik22E" /* + [::1]:5678 */

static struct addr A(const char *s) {
	struct addr a;

	assert_int_equal(addr_parse(s, ADDR_DEFAULT_PORT, &a), 0);
	return a;
}

static const char *
fmt(const struct addr *a)
{
	static char buf[4][ADDR_STRLEN];
	static unsigned i;

	return addr_format(a, buf[i++ % 4]);
}

/* Decodes text (no TTL check, hour 2000) and compares with the expected "a, b, c" list. */
static void expect_decode(const char *text, const char *expect)
{
	struct addr out[16];
	struct beacon_stats st;
	char got[512] = "";
	size_t n = beacon_decode(PW, text, strlen(text), 2000, BEACON_TTL_NONE, out, 16, &st);

	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(got, ", ");
		strcat(got, fmt(&out[i]));
	}
	assert_string_equal(got, expect);
	assert_int_equal(st.addrs, n);
}

static size_t count(const char *text, int ttl, uint16_t now, struct beacon_stats *st)
{
	return beacon_scan(PW, text, strlen(text), now, ttl, NULL, NULL, st);
}

/* ---- an independent reference of PROTOCOL.md 7.3/7.4 (one-shot hashes, no streaming) ---- */

static void ref_ks(uint8_t out[64], const char *key, uint8_t type, uint8_t seed, uint8_t iter)
{
	uint8_t in[256] = {type, seed, iter};
	size_t kl = strlen(key);

	assert_true(kl + 3 <= sizeof(in));
	memcpy(in + 3, key, kl);
	crypto_hash_sha512(out, in, kl + 3);
}

/* masked(plain) || seed byte into out (len + 1 bytes); returns the seed. */
static uint8_t ref_mask(uint8_t *out, const uint8_t *plain, size_t len, const char *key)
{
	uint8_t h[64], ks[64];

	crypto_hash_sha512(h, plain, len);
	for (size_t i = 0; i < len; i++) {
		if (i % 16 == 0)
			ref_ks(ks, key, 2, h[0], (uint8_t)(i / 16));
		out[i] = plain[i] ^ ks[i % 16];
	}
	ref_ks(ks, key, 3, 0, 0);
	out[len] = h[0] ^ ks[0];
	return h[0];
}

/* A beacon of raw plain bytes, as VpnCloud would write it (no leading-zero avoidance). */
static void ref_beacon(char *out, size_t outsz, const uint8_t *plain, size_t len, const char *key)
{
	static struct beacon_markers m;
	static char mkey[64] = "\x01"; /* the password m belongs to */
	uint8_t masked[1024];

	assert_true(len + 1 <= sizeof(masked));
	ref_mask(masked, plain, len, key);
	if (strcmp(mkey, key) != 0) {
		assert_true(strlen(key) < sizeof(mkey));
		strcpy(mkey, key);
		beacon_markers(&m, key);
	}
	strcpy(out, m.begin);
	assert_true(keys_b62_encode(out + 5, outsz - 10, masked, len + 1) >= 0);
	strcat(out, m.end);
}

/* ---- tests ---- */

static void test_markers(void **state)
{
	(void)state;
	struct beacon_markers m;

	beacon_markers(&m, NULL);
	assert_string_equal(m.begin, "PNehe");
	assert_string_equal(m.end, "RFu5I");
	beacon_markers(&m, "");
	assert_string_equal(m.begin, "PNehe");
	assert_string_equal(m.end, "RFu5I");
	beacon_markers(&m, PW);
	assert_string_equal(m.begin, "WsHI3");
	assert_string_equal(m.end, "ik22E");

	/* the marker is the start of base62(KS(type, 0, 0)), by the reference */
	uint8_t ks[64];
	char b62[100];
	ref_ks(ks, "other", 0, 0, 0);
	assert_true(keys_b62_encode(b62, sizeof(b62), ks, 64) > 5);
	beacon_markers(&m, "other");
	assert_memory_equal(m.begin, b62, 5);
	ref_ks(ks, "other", 1, 0, 0);
	assert_true(keys_b62_encode(b62, sizeof(b62), ks, 64) > 5);
	assert_memory_equal(m.end, b62, 5);
}

static void test_vector_bytes(void **state)
{
	(void)state;
	uint8_t plain[15], want[16], masked[16], num[32];
	size_t sig;

	/* plain 07d0 02 01020304 162e 06060606 0035 */
	assert_int_equal(hex_decode(plain, 15,
				    "07d0020102030416"
				    "2e060606060035"),
			 0);
	assert_int_equal(hex_decode(want, 16, "288d2fb88fd3eacf4909bf5bc3a8714e"), 0);
	assert_int_equal(ref_mask(masked, plain, 15, PW), 0x95);
	assert_memory_equal(masked, want, 16);
	/* the data part of VEC1 is exactly these 16 bytes in base62 */
	assert_int_equal(keys_b62_decode(num, sizeof(num), VEC1 + 5, strlen(VEC1) - 10, &sig), 0);
	assert_int_equal(sig, 16);
	assert_memory_equal(num + sizeof(num) - 16, want, 16);
	/* and the reference beacon of the plain bytes is VEC1 */
	char b[128];
	ref_beacon(b, sizeof(b), plain, 15, PW);
	assert_string_equal(b, VEC1);
}

static void test_vectors_encode(void **state)
{
	(void)state;
	struct addr a[3] = {A("1.2.3.4:5678"), A("6.6.6.6:53"), A("[::1]:5678")};
	char out[BEACON_STRLEN(3) + 1];
	uint16_t h = 0;

	assert_int_equal(beacon_encode(out, sizeof(out), PW, 2000, a, 2, &h), strlen(VEC1));
	assert_string_equal(out, VEC1);
	assert_int_equal(h, 2000);
	assert_int_equal(beacon_encode(out, sizeof(out), PW, 2000, a, 3, NULL), strlen(VEC3));
	assert_string_equal(out, VEC3);
	a[1] = A("6.6.6.6:54");
	assert_int_equal(beacon_encode(out, sizeof(out), PW, 2000, a, 2, NULL), strlen(VEC2));
	assert_string_equal(out, VEC2);
	/* IPv6 given first: IPv4 entries are still written first, so the same beacon */
	struct addr b[3] = {A("[::1]:5678"), A("1.2.3.4:5678"), A("6.6.6.6:53")};
	assert_int_equal(beacon_encode(out, sizeof(out), PW, 2000, b, 3, NULL), strlen(VEC3));
	assert_string_equal(out, VEC3);
	/* IPv4-mapped IPv6 is an IPv4 entry */
	b[1] = A("[::ffff:1.2.3.4]:5678");
	b[2] = A("[::ffff:6.6.6.6]:53");
	assert_int_equal(beacon_encode(out, sizeof(out), PW, 2000, b + 1, 2, NULL), strlen(VEC1));
	assert_string_equal(out, VEC1);
}

static void test_vectors_decode(void **state)
{
	(void)state;

	expect_decode(VEC1, "1.2.3.4:5678, 6.6.6.6:53");
	expect_decode(VEC2, "1.2.3.4:5678, 6.6.6.6:54");
	expect_decode(VEC3, "1.2.3.4:5678, 6.6.6.6:53, [::1]:5678");
	/* upstream's decode_split, decode_offset, decode_multiple */
	expect_decode("WsHI3-1E.WD:MB Yx\tvI\nTi(IL)Ir[m2]k9ügEäik22E", "1.2.3.4:5678, 6.6.6.6:53");
	expect_decode("W -, \nsH--I31EWDMBYxvITiILIrm2k9gEi(k)2ÖÄÜ\n2E",
		      "1.2.3.4:5678, 6.6.6.6:53");
	expect_decode("Hello World: " VEC1 "! End of the World", "1.2.3.4:5678, 6.6.6.6:53");
	expect_decode("WsHI31HVpqxFNMNSPrvik22E WsHI34yOBcZIulKdtn2ik22E",
		      "1.2.3.4:5678, 6.6.6.6:53");
	/* upstream's decode_invalid */
	expect_decode("", "");
	expect_decode("WsHI3ik22E", "");
	expect_decode("WsHI3--", "");
	expect_decode("--ik22E", "");
	expect_decode("WsHI32EWDMBYxvITiILIrm2k9gEik22E", "");
	expect_decode("ik22E" VEC1 "WsHI3", "1.2.3.4:5678, 6.6.6.6:53");
	expect_decode("WsHI3" VEC1 "ik22E", "1.2.3.4:5678, 6.6.6.6:53");
	/* several beacons, one per line, with other text and other passwords' beacons */
	expect_decode("# beacons\n" VEC1 "\nPNehe0RFu5I\n" VEC2 "\r\n\t" VEC3 "\n",
		      "1.2.3.4:5678, 6.6.6.6:53, 1.2.3.4:5678, 6.6.6.6:54, "
		      "1.2.3.4:5678, 6.6.6.6:53, [::1]:5678");
	/* a DNS TXT answer: quoted, split into strings */
	expect_decode("example.net. 300 IN TXT \"WsHI31EWDMBYx\" \"vITiILIrm2k9gEik22E\"",
		      "1.2.3.4:5678, 6.6.6.6:53");
	/* bytes that are not UTF-8 and NUL bytes are just ignored */
	const char bin[] = "\xff\xfe"
			   "WsHI31EWDMBYx\0vITiILIrm2k9gE\x80ik22E";
	struct addr out[4];
	assert_int_equal(beacon_decode(PW, bin, sizeof(bin), 0, BEACON_TTL_NONE, out, 4, NULL), 2);
}

static void test_rejects(void **state)
{
	(void)state;
	struct beacon_stats st;
	char buf[1024];

	/* wrong password: other markers, nothing found at all */
	assert_int_equal(beacon_scan("other", VEC1, strlen(VEC1), 2000, -1, NULL, NULL, &st), 0);
	assert_int_equal(st.candidates, 0);
	/* the data of one password between the markers of another */
	struct beacon_markers m;
	beacon_markers(&m, "other");
	snprintf(buf, sizeof(buf), "%s%.*s%s", m.begin, (int)strlen(VEC1) - 10, VEC1 + 5, m.end);
	assert_int_equal(beacon_scan("other", buf, strlen(buf), 2000, -1, NULL, NULL, &st), 0);
	assert_int_equal(st.candidates, 1);
	assert_int_equal(st.count[BEACON_CHECKSUM], 1);
	/* no data, little data */
	assert_int_equal(count("WsHI3ik22E", -1, 0, &st), 0);
	assert_int_equal(st.count[BEACON_SHORT], 1);
	assert_int_equal(count("WsHI3zzzik22E", -1, 0, &st), 0); /* 3 bytes */
	assert_int_equal(st.count[BEACON_SHORT], 1);
	/* upstream: one character changed */
	assert_int_equal(count("WsHI32EWDMBYxvITiILIrm2k9gEik22E", -1, 2000, &st), 0);
	assert_int_equal(st.count[BEACON_CHECKSUM], 1);
	/* every single flipped, dropped or added character in the data is caught */
	for (size_t i = 5; i < strlen(VEC3) - 5; i++) {
		strcpy(buf, VEC3);
		buf[i] = buf[i] == 'x' ? 'y' : 'x';
		assert_int_equal(count(buf, -1, 2000, &st), 0);
		assert_int_equal(st.candidates, 1);
		assert_int_equal(st.count[BEACON_OK], 0);
		snprintf(buf, sizeof(buf), "%.*s%s", (int)i, VEC3, VEC3 + i + 1);
		assert_int_equal(count(buf, -1, 2000, &st), 0);
		assert_int_equal(st.count[BEACON_OK], 0);
		snprintf(buf, sizeof(buf), "%.*sQ%s", (int)i, VEC3, VEC3 + i);
		assert_int_equal(count(buf, -1, 2000, &st), 0);
		assert_int_equal(st.count[BEACON_OK], 0);
	}
	/* truncated at the end: no end marker, no candidate */
	assert_int_equal(count("WsHI31EWDMBYxvITiILIrm2k9gEik22", -1, 2000, &st), 0);
	assert_int_equal(st.candidates, 0);
	/* garbage */
	assert_int_equal(count("WsHI3 Lorem ipsum dolor sit amet ik22E", -1, 2000, &st), 0);
	assert_int_equal(st.candidates, 1);
	assert_int_equal(st.count[BEACON_OK], 0);
	/* longer than anything the encoder writes: not decoded */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "WsHI3", 5);
	memcpy(buf + 5 + BEACON_CANDIDATE_MAXLEN + 1, "ik22E", 6);
	assert_int_equal(count(buf, -1, 2000, &st), 0);
	assert_int_equal(st.count[BEACON_TOO_LONG], 1);
	/* checksum fine, but 5 IPv4 entries announced and one present */
	uint8_t plain[9] = {0x07, 0xd0, 5, 1, 2, 3, 4, 0, 80};
	ref_beacon(buf, sizeof(buf), plain, sizeof(plain), PW);
	assert_int_equal(count(buf, -1, 2000, &st), 0);
	assert_int_equal(st.count[BEACON_BAD_LENGTH], 1);
	/* IPv6 part not a multiple of 18 */
	uint8_t plain2[10] = {0x07, 0xd0, 1, 1, 2, 3, 4, 0, 80, 9};
	ref_beacon(buf, sizeof(buf), plain2, sizeof(plain2), PW);
	assert_int_equal(count(buf, -1, 2000, &st), 0);
	assert_int_equal(st.count[BEACON_BAD_LENGTH], 1);
	/* the status texts exist and differ */
	for (int s = 0; s < BEACON_NSTATUS; s++) {
		assert_string_not_equal(beacon_status_str(s), "?");
		for (int t = 0; t < s; t++)
			assert_string_not_equal(beacon_status_str(s), beacon_status_str(t));
	}
}

static void test_candidate_limit(void **state)
{
	(void)state;
	size_t n = BEACON_MAX_CANDIDATES + 6, len = n * (strlen(VEC1) + 1) + 1;
	char *text = malloc(len);
	struct beacon_stats st;

	assert_non_null(text);
	text[0] = '\0';
	for (size_t i = 0; i < n; i++)
		strcat(strcat(text, VEC1), " ");
	assert_int_equal(count(text, -1, 2000, &st), 2 * BEACON_MAX_CANDIDATES);
	assert_int_equal(st.candidates, n);
	assert_int_equal(st.count[BEACON_OK], BEACON_MAX_CANDIDATES);
	assert_int_equal(st.count[BEACON_SKIPPED], 6);
	free(text);
}

/*
 * Broken candidates use up the budget as well: a valid beacon after BEACON_MAX_CANDIDATES
 * empty ones is skipped, not decoded (fuzz_beacon expected it decoded; its input is in
 * tests/fuzz/corpus/fuzz_beacon/skipped-after-junk).
 */
static void test_candidate_limit_junk(void **state)
{
	(void)state;
	struct beacon_markers m;
	struct beacon_stats st;
	static char text[BEACON_MAX_CANDIDATES * 16 + sizeof(VEC1)];

	beacon_markers(&m, PW);
	text[0] = '\0';
	for (size_t i = 0; i < BEACON_MAX_CANDIDATES; i++)
		strcat(strcat(strcat(text, m.begin), m.end), " ");
	strcat(text, VEC1);
	assert_int_equal(count(text, -1, 2000, &st), 0);
	assert_int_equal(st.candidates, BEACON_MAX_CANDIDATES + 1);
	assert_int_equal(st.count[BEACON_SHORT], BEACON_MAX_CANDIDATES);
	assert_int_equal(st.count[BEACON_SKIPPED], 1);
	/* one junk candidate fewer and it is decoded */
	assert_int_equal(count(text + strlen(m.begin) + strlen(m.end) + 1, -1, 2000, &st), 2);
	assert_int_equal(st.count[BEACON_OK], 1);
}

struct seen {
	size_t n;
	struct beacon_found f[8];
};

static void seen_cb(void *ctx, const struct beacon_found *f)
{
	struct seen *s = ctx;

	assert_true(s->n < 8);
	s->f[s->n++] = *f;
}

static void test_scan_callback(void **state)
{
	(void)state;
	const char text[] = "x " VEC1 " y WsHI3ik22E z " VEC3;
	struct seen s = {0};
	struct beacon_stats st;

	assert_int_equal(beacon_scan(PW, text, strlen(text), 7, BEACON_TTL_NONE, seen_cb, &s, &st),
			 5);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.f[0].status, BEACON_OK);
	assert_int_equal(s.f[0].offset, 2);
	assert_int_equal(s.f[0].hour, 2000);
	assert_int_equal(s.f[0].naddrs, 2);
	assert_int_equal(s.f[1].status, BEACON_SHORT);
	assert_int_equal(s.f[1].offset, 2 + strlen(VEC1) + 3);
	assert_int_equal(s.f[2].status, BEACON_OK);
	assert_int_equal(s.f[2].naddrs, 3);
	assert_int_equal(st.candidates, 3);
	assert_int_equal(st.count[BEACON_OK], 2);
	assert_int_equal(st.count[BEACON_SHORT], 1);
	assert_int_equal(st.addrs, 5);

	/* decode stores the first max addresses and counts all */
	struct addr out[3];
	assert_int_equal(beacon_decode(PW, text, strlen(text), 0, -1, out, 3, &st), 3);
	assert_int_equal(st.addrs, 5);
	assert_string_equal(fmt(&out[2]), "1.2.3.4:5678");
	assert_int_equal(beacon_decode(PW, text, strlen(text), 0, -1, NULL, 0, NULL), 0);
	assert_int_equal(beacon_scan(PW, NULL, 0, 0, -1, NULL, NULL, &st), 0);
	assert_int_equal(st.candidates, 0);
}

static void roundtrip(const char *pw, const struct addr *in, size_t n, uint16_t hour)
{
	char out[BEACON_STRLEN(BEACON_LIMIT_ADDRS) + 1];
	struct addr got[BEACON_LIMIT_ADDRS];
	struct beacon_stats st;
	uint16_t h;
	int len = beacon_encode(out, sizeof(out), pw, hour, in, n, &h);
	size_t k = 0, n4 = 0;

	for (size_t i = 0; i < n; i++)
		n4 += addr_is_v4(&in[i]);
	assert_true(len > 10);
	assert_int_equal((size_t)len, strlen(out));
	assert_true((size_t)len <= BEACON_STRLEN(n));
	/* VpnCloud can read it: the masked data does not start with a zero byte */
	uint8_t num[BEACON_DECODE_WIDTH];
	size_t sig;
	assert_int_equal(keys_b62_decode(num, sizeof(num), out + 5, (size_t)len - 10, &sig), 0);
	assert_int_equal(sig, BEACON_PLAIN_LEN(n4, n - n4) + 1);
	assert_true((uint16_t)(hour - h) < BEACON_ENCODE_TRIES);
	/* with VpnCloud's TTL at the reader's hour: accepted */
	assert_int_equal(beacon_decode(pw, out, (size_t)len, hour, BEACON_VPNCLOUD_TTL, got,
				       BEACON_LIMIT_ADDRS, &st),
			 n);
	assert_int_equal(st.count[BEACON_OK], 1);
	/* IPv4 first, then IPv6, each in the given order; scope ids are not in a beacon */
	for (int v6 = 0; v6 <= 1; v6++)
		for (size_t i = 0; i < n; i++) {
			if (addr_is_v4(&in[i]) == !v6) {
				struct addr x = in[i];
				x.scope = 0;
				assert_true(addr_equal(&got[k], &x));
				k++;
			}
		}
	assert_int_equal(k, n);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct addr a[BEACON_LIMIT_ADDRS + 1];

	roundtrip(PW, NULL, 0, 0);
	roundtrip(NULL, NULL, 0, 65535);
	a[0] = A("192.0.2.1:3210");
	roundtrip(NULL, a, 1, 1);
	roundtrip(PW, a, 1, 12345);
	a[0] = A("[2001:db8::1]:65535");
	roundtrip("", a, 1, 7);
	a[0] = A("[::ffff:10.1.2.3]:0");
	roundtrip(PW, a, 1, 7);
	a[0] = A("[fe80::1%1]:3210");
	roundtrip(PW, a, 1, 7);
	a[0] = A("[2001:db8::1]:1");
	a[1] = A("10.0.0.1:2");
	a[2] = A("[::]:3");
	a[3] = A("0.0.0.0:4");
	roundtrip("pässwörd", a, 4, 100);
	/* as many as the codec takes, in every mix */
	for (size_t mix = 0; mix <= BEACON_LIMIT_ADDRS; mix += 4) {
		for (size_t i = 0; i < BEACON_LIMIT_ADDRS; i++) {
			uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = (uint8_t)i, [15] = 1};
			if (i < mix)
				addr_set_v4(&a[i], (const uint8_t[]){10, 0, (uint8_t)i, 1},
					    (uint16_t)(1000 + i));
			else
				addr_set_v6(&a[i], ip, (uint16_t)(2000 + i));
		}
		roundtrip(PW, a, BEACON_LIMIT_ADDRS, (uint16_t)(mix * 1000));
	}
	/* random ones, many hours: every beacon is readable by VpnCloud (checked in roundtrip) */
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = (size_t)rand() % 6;
		for (size_t i = 0; i < n; i++) {
			uint8_t ip[16];
			for (size_t j = 0; j < 16; j++)
				ip[j] = (uint8_t)rand();
			if (rand() % 2)
				addr_set_v4(&a[i], ip, (uint16_t)rand());
			else
				addr_set_v6(&a[i], ip, (uint16_t)rand());
		}
		roundtrip(iter % 3 ? PW : NULL, a, n, (uint16_t)rand());
	}
}

static void test_encode_errors(void **state)
{
	(void)state;
	struct addr a[BEACON_LIMIT_ADDRS + 1];
	char out[BEACON_STRLEN(BEACON_LIMIT_ADDRS + 1) + 1];
	struct beacon_text t;

	for (size_t i = 0; i < ARRAY_SIZE(a); i++)
		a[i] = A("[2001:db8::1]:1");
	assert_int_equal(beacon_encode(out, sizeof(out), PW, 0, a, BEACON_LIMIT_ADDRS + 1, NULL),
			 -E2BIG);
	assert_string_equal(out, "");
	assert_true(beacon_encode(out, BEACON_STRLEN(BEACON_LIMIT_ADDRS) + 1, PW, 0, a,
				  BEACON_LIMIT_ADDRS, NULL) > 0);
	/* buffer one too small (VEC1 is 32 characters) */
	a[0] = A("1.2.3.4:5678");
	a[1] = A("6.6.6.6:53");
	assert_int_equal(beacon_encode(out, 32, PW, 2000, a, 2, NULL), -ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(beacon_encode(out, 33, PW, 2000, a, 2, NULL), 32);
	assert_int_equal(beacon_encode(out, 5, PW, 2000, a, 2, NULL), -ENOSPC);
	assert_int_equal(beacon_encode(out, 0, PW, 2000, a, 2, NULL), -ENOSPC);

	/* the store step's parts */
	assert_int_equal(beacon_encode_text(&t, PW, 2000, a, 2), 0);
	assert_string_equal(t.beacon, VEC1);
	assert_string_equal(t.begin, "WsHI3");
	assert_string_equal(t.data, "1EWDMBYxvITiILIrm2k9gE");
	assert_string_equal(t.end, "ik22E");
	assert_int_equal(t.hour, 2000);
	for (size_t i = 0; i < BEACON_MAX_ADDRS; i++)
		a[i] = A("[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	assert_int_equal(beacon_encode_text(&t, PW, 65535, a, BEACON_MAX_ADDRS), 0);
	assert_int_equal(strlen(t.beacon), strlen(t.begin) + strlen(t.data) + strlen(t.end));
	assert_int_equal(beacon_encode_text(&t, PW, 0, a, BEACON_MAX_ADDRS + 1), -E2BIG);
}

/*
 * PROTOCOL.md 7.5: a masked first byte of 0 is lost by base62. Finds hours where that
 * happens for one address list; the encoder must step around them and the decoder must read
 * VpnCloud's beacons of them anyway.
 */
static void test_leading_zero(void **state)
{
	(void)state;
	struct addr a = A("198.51.100.7:3210"), got[2];
	uint8_t plain[9] = {0, 0, 1, 198, 51, 100, 7, 0x0c, 0x8a}, masked[10];
	char ours[128], theirs[128];
	unsigned found = 0, twice = 0, twozero = 0;

	for (uint32_t h = 0; h < 65536; h++) {
		put_be16(plain, (uint16_t)h);
		ref_mask(masked, plain, sizeof(plain), PW);
		if (masked[0] != 0)
			continue;
		found++;
		/* VpnCloud's beacon for this hour: base62 drops the zero byte */
		ref_beacon(theirs, sizeof(theirs), plain, sizeof(plain), PW);
		uint8_t num[16];
		size_t sig;
		assert_int_equal(
		    keys_b62_decode(num, sizeof(num), theirs + 5, strlen(theirs) - 10, &sig), 0);
		assert_true(sig < sizeof(plain) + 1);
		if (sig < sizeof(plain))
			twozero++;
		/* ... which we still read */
		struct beacon_found f;
		struct seen s = {0};
		beacon_scan(PW, theirs, strlen(theirs), (uint16_t)h, 0, seen_cb, &s, NULL);
		assert_int_equal(s.n, 1);
		f = s.f[0];
		assert_int_equal(f.status, BEACON_OK);
		assert_int_equal(f.hour, h);
		assert_int_equal(f.naddrs, 1);
		assert_true(addr_equal(&f.addrs[0], &a));
		/* ours steps back an hour (or more) and differs */
		uint16_t used;
		assert_true(beacon_encode(ours, sizeof(ours), PW, (uint16_t)h, &a, 1, &used) > 0);
		assert_int_not_equal(used, h);
		assert_true((uint16_t)(h - used) < BEACON_ENCODE_TRIES);
		if ((uint16_t)(h - used) > 1)
			twice++;
		assert_string_not_equal(ours, theirs);
		assert_int_equal(
		    keys_b62_decode(num, sizeof(num), ours + 5, strlen(ours) - 10, &sig), 0);
		assert_int_equal(sig, sizeof(plain) + 1);
		assert_int_equal(beacon_decode(PW, ours, strlen(ours), (uint16_t)h,
					       BEACON_VPNCLOUD_TTL, got, 2, NULL),
				 1);
		assert_true(addr_equal(&got[0], &a));
	}
	/* ~256 of 65536 hours; a second step back is rare */
	assert_in_range(found, 150, 400);
	assert_true(twice < 10);
	/* for this address one hour even gives two zero bytes (37755: 0x00002e..) */
	assert_int_equal(twozero, 1);
}

/*
 * The end marker inside a beacon: VpnCloud's reader would end the data there, or panic when
 * the end marker overlaps the begin marker. For this password the begin marker "nerKX" ends
 * with the first three characters of the end marker "rKXlS", so every beacon whose data
 * starts with "lS" has an end marker at offset 2. With 10 IPv4 addresses (64 bytes, whose
 * base62 form can start with 'l') that is ~1/3700 of all hours.
 */
static void test_end_marker_inside(void **state)
{
	(void)state;
	const char *pw = "pw262845";
	struct addr a[10], got[11];
	uint8_t plain[BEACON_PLAIN_LEN(10, 0)] = {0, 0, 10};
	char ours[128], theirs[128];
	struct beacon_markers m;
	unsigned found = 0;

	for (uint8_t i = 0; i < 10; i++) {
		uint8_t *e = plain + BEACON_HEAD_LEN + BEACON_V4_ENTRY_LEN * i;
		memcpy(e, (const uint8_t[]){203, 0, 113, i, 0x0c, 0x8a}, 6);
		addr_from_wire6(&a[i], e);
	}
	beacon_markers(&m, pw);
	assert_string_equal(m.begin, "nerKX");
	assert_string_equal(m.end, "rKXlS");
	for (uint32_t h = 0; h < 65536; h++) {
		put_be16(plain, (uint16_t)h);
		ref_beacon(theirs, sizeof(theirs), plain, sizeof(plain), pw);
		if (strstr(theirs, m.end) == theirs + strlen(theirs) - 5)
			continue;
		found++;
		/* we read it (the end marker is searched after the begin marker) */
		assert_int_equal(beacon_decode(pw, theirs, strlen(theirs), 0, -1, got, 11, NULL),
				 10);
		assert_true(addr_equal(&got[9], &a[9]));
		/* we do not write it */
		uint16_t used;
		assert_true(beacon_encode(ours, sizeof(ours), pw, (uint16_t)h, a, 10, &used) > 0);
		assert_int_not_equal(used, h);
		assert_true(strstr(ours, m.end) == ours + strlen(ours) - 5);
		assert_int_equal(beacon_decode(pw, ours, strlen(ours), 0, -1, got, 11, NULL), 10);
		assert_true(addr_equal(&got[0], &a[0]));
	}
	assert_in_range(found, 5, 60);
}

static void test_hours(void **state)
{
	(void)state;
	struct beacon_stats st;

	assert_int_equal(beacon_hour(0), 0);
	assert_int_equal(beacon_hour(7200000), 2000);
	assert_int_equal(beacon_hour(7200000 + 3599), 2000);
	assert_int_equal(beacon_hour(65536ull * 3600), 0);
	assert_int_equal(beacon_hour(65535ull * 3600 + 1), 65535);
	assert_int_equal(beacon_hour(UINT64_MAX), (uint16_t)(UINT64_MAX / 3600));

	/* upstream's decode_ttl */
	assert_int_equal(count(VEC1, -1, 2000, &st), 2);
	assert_int_equal(count(VEC1, -1, 2100, &st), 2);
	assert_int_equal(count(VEC1, -1, 2005, &st), 2);
	assert_int_equal(count(VEC1, -1, 1995, &st), 2);
	assert_int_equal(count(VEC1, 24, 2000, &st), 2);
	assert_int_equal(count(VEC1, 24, 1995, &st), 2);
	assert_int_equal(count(VEC1, 24, 2005, &st), 2);
	assert_int_equal(count(VEC1, 24, 2100, &st), 0);
	assert_int_equal(st.count[BEACON_EXPIRED], 1);
	assert_int_equal(count(VEC1, 24, 1900, &st), 0);
	assert_int_equal(st.count[BEACON_EXPIRED], 1);
	struct seen s = {0};
	beacon_scan(PW, VEC1, strlen(VEC1), 1900, 24, seen_cb, &s, NULL);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.f[0].status, BEACON_EXPIRED);
	assert_int_equal(s.f[0].hour, 2000);
	/* edges: exactly ttl away is fine, one more is not */
	assert_int_equal(count(VEC1, 50, 2050, &st), 2);
	assert_int_equal(count(VEC1, 50, 1950, &st), 2);
	assert_int_equal(count(VEC1, 50, 2051, &st), 0);
	assert_int_equal(count(VEC1, 50, 1949, &st), 0);
	assert_int_equal(count(VEC1, 0, 2000, &st), 2);
	assert_int_equal(count(VEC1, 0, 2001, &st), 0);
	/* no TTL: any uptime difference */
	assert_int_equal(count(VEC1, BEACON_TTL_NONE, (uint16_t)(2000 + 32768), &st), 2);

	/* 16-bit wraparound */
	assert_true(beacon_hour_ok(65530, 10, 24));
	assert_true(beacon_hour_ok(10, 65530, 24));
	assert_true(beacon_hour_ok(65535, 0, 1));
	assert_false(beacon_hour_ok(65530, 40, 24));
	assert_false(beacon_hour_ok(40, 65530, 24));
	assert_true(beacon_hour_ok(0, 32768, 32768));
	assert_false(beacon_hour_ok(0, 32768, 32767));
	assert_true(beacon_hour_ok(1, 40000, 65535));
	assert_true(beacon_hour_ok(1, 40000, BEACON_TTL_NONE));
	struct addr a = A("1.2.3.4:1");
	char b[64];
	assert_true(beacon_encode(b, sizeof(b), PW, 65530, &a, 1, NULL) > 0);
	assert_int_equal(count(b, BEACON_VPNCLOUD_TTL, 20, &st), 1);
	assert_int_equal(count(b, BEACON_VPNCLOUD_TTL, 60, &st), 0);
	assert_int_equal(st.count[BEACON_EXPIRED], 1);
	assert_true(beacon_encode(b, sizeof(b), PW, 3, &a, 1, NULL) > 0);
	assert_int_equal(count(b, BEACON_VPNCLOUD_TTL, 65500, &st), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_markers),	      cmocka_unit_test(test_vector_bytes),
	    cmocka_unit_test(test_vectors_encode),    cmocka_unit_test(test_vectors_decode),
	    cmocka_unit_test(test_rejects),	      cmocka_unit_test(test_candidate_limit),
	    cmocka_unit_test(test_candidate_limit_junk),
	    cmocka_unit_test(test_scan_callback),     cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_encode_errors),     cmocka_unit_test(test_leading_zero),
	    cmocka_unit_test(test_end_marker_inside), cmocka_unit_test(test_hours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

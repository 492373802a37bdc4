// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_beacon.c - libFuzzer target for beacon_scan(): the input as text (password
 * "mysecretkey", as the seed beacons), with the counters checked against the callbacks; then
 * addresses taken from the input are encoded, and decoding the beacon (alone, twice in a row
 * and after the input text) must give them back.
 */
#include <stdlib.h>
#include <string.h>

#include "meshvpn/beacon.h"
#include "meshvpn/bytes.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static const char pw[] = "mysecretkey";

struct tally {
	unsigned n, count[BEACON_NSTATUS];
	size_t addrs, last_offset;
};

static void tally_cb(void *ctx, const struct beacon_found *f)
{
	struct tally *t = ctx;

	CHECK(f->status < BEACON_NSTATUS);
	CHECK(t->n == 0 || f->offset > t->last_offset);
	t->last_offset = f->offset;
	t->n++;
	t->count[f->status]++;
	if (f->status == BEACON_OK) {
		CHECK(f->naddrs <= BEACON_FOUND_MAX_ADDRS);
		t->addrs += f->naddrs;
	} else {
		CHECK(f->naddrs == 0);
	}
}

struct ours {
	size_t offset;
	const struct addr *want;
	size_t n;
	bool seen, skipped;
};

/* Checks the candidate at o->offset: our beacon, decoded. */
static void ours_cb(void *ctx, const struct beacon_found *f)
{
	struct ours *o = ctx;

	if (f->offset != o->offset)
		return;
	if (f->status == BEACON_SKIPPED) {
		/* the budget went on earlier candidates, valid or not: checked after the scan */
		o->skipped = true;
		return;
	}
	CHECK(f->status == BEACON_OK && f->naddrs == o->n);
	for (size_t i = 0; i < o->n; i++)
		CHECK(addr_equal(&f->addrs[i], &o->want[i]));
	o->seen = true;
}

/* Up to BEACON_LIMIT_ADDRS addresses from the input: a kind byte, 16 address bytes, a port. */
static size_t addrs_from(const uint8_t *data, size_t size, struct addr *a, uint16_t *hour)
{
	struct rd r;
	size_t n = 0, want;

	rd_init(&r, data, size);
	*hour = rd_be16(&r);
	/* mostly short lists (long ones cost ~1 ms each under the sanitizers), sometimes up to
	 * the limit */
	want = rd_u8(&r);
	want = want < 224 ? want % (BEACON_MAX_ADDRS + 2) : want % (BEACON_LIMIT_ADDRS + 1);
	while (n < want) {
		uint8_t kind = rd_u8(&r), ip[16] = {0};
		rd_copy(&r, ip, sizeof(ip));
		uint16_t port = rd_be16(&r);
		if (!rd_ok(&r))
			break;
		if (kind & 1)
			addr_set_v4(&a[n], ip, port);
		else
			addr_set_v6(&a[n], ip, port);
		n++;
	}
	return n;
}

/* The addresses in the beacon's order: IPv4 first, then IPv6. */
static void expect_order(const struct addr *in, size_t n, struct addr *out)
{
	size_t k = 0;

	for (int v6 = 0; v6 <= 1; v6++)
		for (size_t i = 0; i < n; i++)
			if (addr_is_v4(&in[i]) == !v6)
				out[k++] = in[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct addr in[BEACON_LIMIT_ADDRS], want[BEACON_LIMIT_ADDRS],
	    got[3 * BEACON_LIMIT_ADDRS];
	static char b[BEACON_STRLEN(BEACON_LIMIT_ADDRS) + 1];
	const char *text = (const char *)data;
	struct beacon_stats st;
	struct tally t = {0};
	uint16_t hour, used;
	size_t n, total;
	int len;

	/* 1. any text: the counters agree with what was reported */
	total = beacon_scan(pw, text, size, 2000, (int)(size % 3) - 1, tally_cb, &t, &st);
	CHECK(st.candidates == t.n && total == t.addrs && st.addrs == total);
	for (int s = 0; s < BEACON_NSTATUS; s++)
		CHECK(st.count[s] == t.count[s]);
	CHECK(st.count[BEACON_SKIPPED] ==
	      (st.candidates > BEACON_MAX_CANDIDATES ? st.candidates - BEACON_MAX_CANDIDATES : 0));
	CHECK(beacon_decode(pw, text, size, 2000, (int)(size % 3) - 1, got, ARRAY_SIZE(got),
			    NULL) == MIN(total, ARRAY_SIZE(got)));

	/* 2. round trip of addresses from the input */
	n = addrs_from(data, size, in, &hour);
	len = beacon_encode(b, sizeof(b), pw, hour, in, n, &used);
	CHECK(len > 2 * BEACON_MARKER_LEN && (size_t)len <= BEACON_STRLEN(n));
	CHECK((uint16_t)(hour - used) < BEACON_ENCODE_TRIES);
	expect_order(in, n, want);
	CHECK(beacon_decode(pw, b, (size_t)len, used, 0, got, ARRAY_SIZE(got), &st) == n);
	CHECK(st.candidates == 1 && st.count[BEACON_OK] == 1);
	for (size_t i = 0; i < n; i++)
		CHECK(addr_equal(&got[i], &want[i]));
	/* VpnCloud reads it too: no leading zero byte lost */
	uint8_t num[BEACON_DECODE_WIDTH];
	size_t sig, n4 = 0;
	for (size_t i = 0; i < n; i++)
		n4 += addr_is_v4(&in[i]);
	CHECK(keys_b62_decode(num, sizeof(num), b + BEACON_MARKER_LEN,
			      (size_t)len - 2 * BEACON_MARKER_LEN, &sig) == 0);
	CHECK(sig == BEACON_PLAIN_LEN(n4, n - n4) + 1);

	/* 3. the beacon twice, split by punctuation, and after the input text */
	static char two[2 * sizeof(b) + 8];
	memcpy(two, b, (size_t)len);
	memcpy(two + len, " ,\n", 3);
	memcpy(two + len + 3, b, (size_t)len);
	CHECK(beacon_decode(pw, two, 2 * (size_t)len + 3, 0, BEACON_TTL_NONE, got, ARRAY_SIZE(got),
			    NULL) == 2 * n);
	for (size_t i = 0; i < n; i++)
		CHECK(addr_equal(&got[n + i], &want[i]));
	/*
	 * After arbitrary text the beacon is found as long as no more than
	 * BEACON_MAX_CANDIDATES candidates come first: the text cannot hide our begin marker,
	 * as "WsHI3" has no border (no proper prefix equal to a suffix) to overlap with.
	 */
	char *cat = malloc(size + (size_t)len + 1);
	struct ours o = {size + 1, want, n, false, false};
	CHECK(cat);
	memcpy(cat, data, size);
	cat[size] = ' ';
	memcpy(cat + size + 1, b, (size_t)len);
	beacon_scan(pw, cat, size + 1 + (size_t)len, 0, BEACON_TTL_NONE, ours_cb, &o, &st);
	CHECK(o.seen != o.skipped);
	CHECK(!o.skipped || st.candidates > BEACON_MAX_CANDIDATES);
	free(cat);
	return 0;
}

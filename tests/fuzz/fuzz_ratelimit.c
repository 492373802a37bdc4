// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_ratelimit.c - libFuzzer target for the rate/burst parser and the token bucket.
 * Input: "RATE\nBURST\n" (burst line optional), then 8-byte operations run on a bucket of
 * the parsed limit and, side by side, on a 128-bit nanobyte model: both must agree on every
 * decision and token count. Parsed values print back to themselves.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/ratelimit.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

typedef unsigned __int128 u128;

/* The reference: nanobytes in 128 bits, no tricks. */
struct model {
	uint64_t rate, burst;
	u128 nb;
	int64_t last;
};

static void model_conf(struct model *m, uint64_t rate, uint64_t burst)
{
	m->rate = MIN(rate, RATELIMIT_MAX);
	m->burst = MIN(burst, RATELIMIT_MAX);
	if (m->rate && !m->burst)
		m->burst = 1;
}

static void model_refill(struct model *m, int64_t now)
{
	if (now <= m->last)
		return;
	u128 cap = (u128)m->burst * RATELIMIT_NS_PER_S;
	u128 el = (u128)((uint64_t)now - (uint64_t)m->last);
	m->last = now;
	if (m->rate == 0) {
		m->nb = cap;
		return;
	}
	m->nb += el * m->rate;
	if (m->nb > cap)
		m->nb = cap;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Independent reading of an accepted value in 128 bits: digits[.digits][kKMG]. */
static u128 oracle(const char *s)
{
	u128 v = 0, mult = 1, frac = 0, frac_scale = 1;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (unsigned)(*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, frac_scale *= 10)
			frac = frac * 10 + (unsigned)(*p - '0');
	if (*p == 'k' || *p == 'K')
		mult = 1000;
	else if (*p == 'M')
		mult = 1000000;
	else if (*p == 'G')
		mult = 1000000000;
	CHECK(mult % frac_scale == 0);
	return v * mult + frac * (mult / frac_scale);
}

static char *line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (!nl)
		return NULL;
	size_t n = (size_t)(nl - *p);
	char *s = malloc(n + 1);
	CHECK(s);
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = nl + 1;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *rate = line(&p, end), *burst = NULL;
	struct ratelimit_conf c;
	struct ratelimit_error why;
	char buf[RATELIMIT_STRLEN];
	uint64_t v;

	if (!rate)
		return 0;
	burst = line(&p, end);
	int r = ratelimit_parse(rate, burst && burst[0] ? burst : NULL, &c, &why);
	CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		CHECK(memchr(why.msg, '\0', sizeof(why.msg)) && why.msg[0]);
		CHECK(c.rate == 0 && c.burst == 0);
		/* still exercise the bucket with values taken from the input */
		c.rate = size > 8 ? (uint64_t)data[0] << 8 * (data[1] & 7) : 0;
		c.burst = size > 8 ? (uint64_t)data[2] << 8 * (data[3] & 7) : 0;
	} else {
		CHECK(c.rate <= RATELIMIT_MAX && c.burst <= RATELIMIT_MAX);
		CHECK(c.rate == 0 || c.burst >= RATELIMIT_MIN_BURST);
		CHECK(ratelimit_check(&c, NULL) == 0);
		CHECK(oracle(rate) == c.rate);
		if (burst && burst[0])
			CHECK(oracle(burst) == c.burst);
		CHECK(ratelimit_parse_bytes(ratelimit_format_bytes(c.rate, buf), &v, NULL) == 0 &&
		      v == c.rate);
		CHECK(ratelimit_parse_bytes(ratelimit_format_bytes(c.burst, buf), &v, NULL) == 0 &&
		      v == c.burst);
	}

	struct ratelimit tb;
	struct model m = {0};
	int64_t now = size > 4 ? (int64_t)((uint64_t)data[4] << 56) : 0;
	ratelimit_init(&tb, c.rate, c.burst, now);
	model_conf(&m, c.rate, c.burst);
	m.nb = (u128)m.burst * RATELIMIT_NS_PER_S;
	m.last = now;

	static const int64_t scale[4] = {1, 1000, 1000000, 1000000000};
	for (; end - p >= 8; p += 8) {
		uint32_t dt = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
		uint64_t bytes = (uint64_t)p[4] | (uint64_t)p[5] << 8 | (uint64_t)p[6] << 16;
		uint8_t op = p[7];
		int64_t step = (int64_t)dt * scale[p[3] & 3];
		if (p[3] & 4)
			step = -step; /* a clock going back */
		if (!__builtin_add_overflow(now, step, &now)) {
			/* no change */
		} else {
			now = step > 0 ? INT64_MAX : INT64_MIN;
		}
		bytes <<= 8 * (op >> 5); /* up to 2^24 << 56: past any burst */
		if ((op & 0x1f) == 0) {
			/* live change to a limit from the operation's bytes */
			uint64_t nr = (uint64_t)p[4] << 8 * (p[5] & 7);
			uint64_t nbur = (uint64_t)p[6] << 8 * (op >> 5);
			bool was_unlimited = m.rate == 0;
			ratelimit_set(&tb, nr, nbur, now);
			model_refill(&m, now);
			model_conf(&m, nr, nbur);
			u128 cap = (u128)m.burst * RATELIMIT_NS_PER_S;
			if (was_unlimited || m.nb > cap)
				m.nb = cap;
		} else {
			bool got = ratelimit_allow(&tb, bytes, now), want;
			if (m.rate == 0) {
				want = true;
			} else {
				model_refill(&m, now);
				u128 need = (u128)bytes * RATELIMIT_NS_PER_S;
				u128 cap = (u128)m.burst * RATELIMIT_NS_PER_S;
				if (need <= m.nb) {
					m.nb -= need;
					want = true;
				} else if (bytes > m.burst && m.nb == cap) {
					m.nb = 0;
					want = true;
				} else {
					want = false;
				}
			}
			CHECK(got == want);
		}
		uint64_t t = ratelimit_tokens(&tb, now);
		if (m.rate == 0)
			CHECK(t == UINT64_MAX);
		else
			CHECK(t == (uint64_t)(m.nb / RATELIMIT_NS_PER_S) && t <= m.burst);
	}
	free(rate);
	free(burst);
	return 0;
}

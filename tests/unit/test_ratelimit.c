// SPDX-License-Identifier: GPL-3.0-or-later
/* test_ratelimit.c - token bucket arithmetic, live changes, long idle, the value parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/ratelimit.h"

#define MS 1000000ll
#define S  1000000000ll

static void test_exact_tokens(void **state)
{
	(void)state;
	struct ratelimit tb;

	/* 1000 B/s, burst 2000: starts full, takes nothing when refusing */
	ratelimit_init(&tb, 1000, 2000, 5 * S);
	assert_int_equal(ratelimit_tokens(&tb, 5 * S), 2000);
	assert_true(ratelimit_allow(&tb, 1500, 5 * S));
	assert_int_equal(ratelimit_tokens(&tb, 5 * S), 500);
	assert_false(ratelimit_allow(&tb, 501, 5 * S));
	assert_int_equal(ratelimit_tokens(&tb, 5 * S), 500);
	assert_true(ratelimit_allow(&tb, 500, 5 * S));
	assert_false(ratelimit_allow(&tb, 1, 5 * S));
	/* 100 ms = 100 bytes; 1 ms = 1 byte; 999 us = nothing yet, 1 more us = 1 byte */
	assert_int_equal(ratelimit_tokens(&tb, 5 * S + 100 * MS), 100);
	assert_true(ratelimit_allow(&tb, 100, 5 * S + 100 * MS));
	assert_false(ratelimit_allow(&tb, 1, 5 * S + 100 * MS + 999999));
	assert_true(ratelimit_allow(&tb, 1, 5 * S + 101 * MS));
	assert_int_equal(ratelimit_tokens(&tb, 5 * S + 101 * MS), 0);

	/* fractions of a byte carry over: 3 B/s */
	ratelimit_init(&tb, 3, 1500, 0);
	assert_true(ratelimit_allow(&tb, 1500, 0));
	assert_int_equal(ratelimit_tokens(&tb, 333333333), 0); /* 0.999999999 bytes */
	assert_int_equal(ratelimit_tokens(&tb, 333333334), 1); /* 1.000000002 */
	assert_int_equal(ratelimit_tokens(&tb, 666666667), 2); /* 2.000000001 */
	assert_int_equal(ratelimit_tokens(&tb, 666666666 + 333333333), 2);
	assert_int_equal(ratelimit_tokens(&tb, S), 3);
	/* refilling in many small steps gives the same as in one */
	for (int64_t t = S; t <= 11 * S; t += 7777)
		(void)ratelimit_tokens(&tb, t);
	assert_int_equal(ratelimit_tokens(&tb, 11 * S), 33);
	assert_int_equal(ratelimit_tokens(&tb, 11 * S + 333333333), 33);
	assert_int_equal(ratelimit_tokens(&tb, 11 * S + 333333334), 34);

	/* a rate with both a whole and a sub-1e9 part: 2500000001 B/s */
	ratelimit_init(&tb, 2500000001ull, 100000000, 0);
	assert_true(ratelimit_allow(&tb, 100000000, 0));
	assert_int_equal(ratelimit_tokens(&tb, 1), 2);	   /* 2.500000001 */
	assert_int_equal(ratelimit_tokens(&tb, 2), 5);	   /* 5.000000002 */
	assert_int_equal(ratelimit_tokens(&tb, 1002), 2505); /* 2505.000001002 */
	assert_int_equal(ratelimit_tokens(&tb, 10 * MS + 2), 25000005);

	/* the largest rate: 1e12 B/s is 1000 bytes per nanosecond */
	ratelimit_init(&tb, RATELIMIT_MAX, RATELIMIT_MAX, 0);
	assert_true(ratelimit_allow(&tb, RATELIMIT_MAX, 0));
	assert_int_equal(ratelimit_tokens(&tb, 1), 1000);
	assert_int_equal(ratelimit_tokens(&tb, 1001), 1001000);
	assert_int_equal(ratelimit_tokens(&tb, S / 2), RATELIMIT_MAX / 2);
}

static void test_burst_cap(void **state)
{
	(void)state;
	struct ratelimit tb;

	ratelimit_init(&tb, 1000, 5000, 0);
	assert_int_equal(ratelimit_tokens(&tb, 10 * S), 5000);
	assert_true(ratelimit_allow(&tb, 4000, 10 * S));
	assert_int_equal(ratelimit_tokens(&tb, 13 * S), 4000);
	/* 2 s more would make 6000, but the bucket holds 5000 */
	assert_int_equal(ratelimit_tokens(&tb, 15 * S), 5000);
	assert_true(ratelimit_allow(&tb, 5000, 15 * S));
	assert_false(ratelimit_allow(&tb, 1, 15 * S));
	assert_int_equal(ratelimit_tokens(&tb, 20 * S - 1), 4999);
	assert_int_equal(ratelimit_tokens(&tb, 20 * S), 5000);
	assert_int_equal(ratelimit_tokens(&tb, 21 * S), 5000);
}

static void test_long_idle(void **state)
{
	(void)state;
	struct ratelimit tb;

	/* huge rate and burst, the longest possible idle time */
	ratelimit_init(&tb, RATELIMIT_MAX, RATELIMIT_MAX, INT64_MIN);
	assert_true(ratelimit_allow(&tb, RATELIMIT_MAX, INT64_MIN));
	assert_int_equal(ratelimit_tokens(&tb, INT64_MAX), RATELIMIT_MAX);
	/* under the "surely full" second: 1.5 s of 1e12 B/s (1.5e12) into a 1e12 bucket */
	ratelimit_init(&tb, RATELIMIT_MAX, RATELIMIT_MAX, INT64_MAX - 3 * S);
	assert_true(ratelimit_allow(&tb, RATELIMIT_MAX, INT64_MAX - 3 * S));
	assert_int_equal(ratelimit_tokens(&tb, INT64_MAX - 3 * S + S / 2), RATELIMIT_MAX / 2);
	assert_true(ratelimit_allow(&tb, RATELIMIT_MAX / 2, INT64_MAX - 3 * S + S / 2));
	assert_int_equal(ratelimit_tokens(&tb, INT64_MAX - S), RATELIMIT_MAX);

	/* a slow rate and a deep bucket: the idle time counts exactly, for days */
	ratelimit_init(&tb, 1, RATELIMIT_MAX, 0);
	assert_true(ratelimit_allow(&tb, RATELIMIT_MAX, 0));
	assert_int_equal(ratelimit_tokens(&tb, 86400 * S), 86400);
	assert_int_equal(ratelimit_tokens(&tb, 1000000 * S), 1000000);

	/* values past the maximum are clamped, so nothing can overflow */
	ratelimit_init(&tb, UINT64_MAX, UINT64_MAX, 0);
	assert_int_equal(ratelimit_tokens(&tb, 0), RATELIMIT_MAX);
	assert_true(ratelimit_allow(&tb, RATELIMIT_MAX, 0));
	assert_int_equal(ratelimit_tokens(&tb, 1), 1000);
	assert_int_equal(ratelimit_tokens(&tb, INT64_MAX), RATELIMIT_MAX);
	/* a rate with a zero burst gets a burst of 1 */
	ratelimit_init(&tb, 10, 0, 0);
	assert_int_equal(ratelimit_tokens(&tb, 0), 1);
}

static void test_clock(void **state)
{
	(void)state;
	struct ratelimit tb;

	ratelimit_init(&tb, 1000, 10000, 10 * S);
	assert_true(ratelimit_allow(&tb, 10000, 10 * S));
	/* a clock going back refills nothing and does not move the reference point */
	assert_false(ratelimit_allow(&tb, 1, 9 * S));
	assert_int_equal(ratelimit_tokens(&tb, 10 * S), 0);
	assert_int_equal(ratelimit_tokens(&tb, 11 * S), 1000);
}

static void test_live_change(void **state)
{
	(void)state;
	struct ratelimit tb;

	ratelimit_init(&tb, 1000, 10000, 0);
	assert_true(ratelimit_allow(&tb, 5000, 0));
	/* up: the second before counts at the old rate, the tokens are kept */
	ratelimit_set(&tb, 2000, 20000, S);
	assert_int_equal(ratelimit_tokens(&tb, S), 6000);
	assert_int_equal(ratelimit_tokens(&tb, 2 * S), 8000);
	assert_int_equal(ratelimit_tokens(&tb, 8 * S), 20000);
	/* down: cut to the new burst, then refill at the new rate */
	assert_true(ratelimit_allow(&tb, 19000, 8 * S));
	ratelimit_set(&tb, 100, 3000, 8 * S + 500 * MS); /* 1000 + 1000 (old rate) */
	assert_int_equal(ratelimit_tokens(&tb, 8 * S + 500 * MS), 2000);
	assert_int_equal(ratelimit_tokens(&tb, 9 * S + 500 * MS), 2100);
	ratelimit_set(&tb, 100, 1500, 9 * S + 500 * MS);
	assert_int_equal(ratelimit_tokens(&tb, 9 * S + 500 * MS), 1500);
	/* a fraction pending at the old rate is kept across a change that does not clamp */
	ratelimit_init(&tb, 3, 1500, 0);
	assert_true(ratelimit_allow(&tb, 1500, 0));
	ratelimit_set(&tb, 3, 1500, 333333333); /* 0.999999999 */
	assert_int_equal(ratelimit_tokens(&tb, 333333334), 1);

	/* to unlimited and back: unlimited passes anything, and returns as a full bucket */
	ratelimit_init(&tb, 1000, 2000, 0);
	assert_true(ratelimit_allow(&tb, 2000, 0));
	ratelimit_set(&tb, 0, 2000, 0);
	assert_true(ratelimit_unlimited(&tb));
	assert_true(ratelimit_allow(&tb, UINT64_MAX, 0));
	assert_int_equal(ratelimit_tokens(&tb, 0), UINT64_MAX);
	ratelimit_set(&tb, 1000, 4000, S);
	assert_false(ratelimit_unlimited(&tb));
	assert_int_equal(ratelimit_tokens(&tb, S), 4000);

	/* a zeroed bucket is unlimited; set() limits it, starting full */
	memset(&tb, 0, sizeof(tb));
	assert_true(ratelimit_allow(&tb, 1 << 30, 123));
	ratelimit_set(&tb, 1000, 3000, 5 * S);
	assert_int_equal(ratelimit_tokens(&tb, 5 * S), 3000);
	assert_int_equal(ratelimit_tokens(&tb, 6 * S), 3000);
}

static void test_oversized(void **state)
{
	(void)state;
	struct ratelimit tb;

	/* a 2000-byte packet never fits a 1500-byte bucket: it empties a full one */
	ratelimit_init(&tb, 1000, 1500, 0);
	assert_true(ratelimit_allow(&tb, 2000, 0));
	assert_int_equal(ratelimit_tokens(&tb, 0), 0);
	assert_false(ratelimit_allow(&tb, 2000, 1499 * MS));
	assert_int_equal(ratelimit_tokens(&tb, 1499 * MS), 1499);
	assert_true(ratelimit_allow(&tb, 2000, 1500 * MS));
	assert_false(ratelimit_allow(&tb, 1, 1500 * MS));
}

/* Offered traffic above the limit for a simulated 10 s: rate * 10 s plus the burst pass. */
static void test_ten_seconds(void **state)
{
	(void)state;
	const uint64_t rate = 1000000, burst = ratelimit_default_burst(rate);
	struct ratelimit tb;
	uint64_t passed = 0, packets = 0;
	int64_t t, last = 0;

	assert_int_equal(burst, 100000);
	ratelimit_init(&tb, rate, burst, 0);
	/* 1400 bytes every 50 us: 28 MB/s offered */
	for (t = 0; t < 10 * S; t += 50000) {
		if (ratelimit_allow(&tb, 1400, t)) {
			passed += 1400;
			packets++;
		}
		last = t;
	}
	assert_true(passed >= 10 * rate - burst && passed <= 10 * rate + burst);
	/* exactly: the initial burst plus every byte credited, minus what is left */
	assert_int_equal(passed + ratelimit_tokens(&tb, last), burst + (uint64_t)last * rate / S);
	assert_int_equal(packets, passed / 1400);
	assert_true(ratelimit_tokens(&tb, last) < 1400);

	/* below the limit everything passes: 1400 bytes every 2 ms = 700 kB/s */
	ratelimit_init(&tb, rate, burst, 0);
	passed = 0;
	for (t = 0; t < 10 * S; t += 2 * MS)
		passed += ratelimit_allow(&tb, 1400, t) ? 1400 : 0;
	assert_int_equal(passed, 5000 * 1400);
}

static void test_unlimited(void **state)
{
	(void)state;
	struct ratelimit tb;
	ratelimit_init(&tb, 0, 0, 0);
	for (int i = 0; i < 1000; i++)
		assert_true(ratelimit_allow(&tb, UINT64_MAX / 2, i));
	assert_int_equal(ratelimit_tokens(&tb, 1000), UINT64_MAX);
}

static void test_default_burst(void **state)
{
	(void)state;
	assert_int_equal(ratelimit_default_burst(0), 65536);
	assert_int_equal(ratelimit_default_burst(100000), 65536);
	assert_int_equal(ratelimit_default_burst(655360), 65536);
	assert_int_equal(ratelimit_default_burst(655370), 65537);
	assert_int_equal(ratelimit_default_burst(10000000), 1000000);
	assert_int_equal(ratelimit_default_burst(RATELIMIT_MAX), RATELIMIT_MAX / 10);
}

static const char *pb(const char *s)
{
	static char buf[RATELIMIT_ERROR_LEN + 32];
	struct ratelimit_error why = {{0}};
	uint64_t v = 7;
	if (ratelimit_parse_bytes(s, &v, &why) < 0) {
		assert_int_equal(v, 0);
		snprintf(buf, sizeof(buf), "ERR %s", why.msg);
	} else {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	}
	return buf;
}

static void test_parse_bytes(void **state)
{
	(void)state;
	assert_string_equal(pb("0"), "0");
	assert_string_equal(pb("1500"), "1500");
	assert_string_equal(pb("007"), "7");
	assert_string_equal(pb("64k"), "64000");
	assert_string_equal(pb("64K"), "64000");
	assert_string_equal(pb("10M"), "10000000");
	assert_string_equal(pb("1G"), "1000000000");
	assert_string_equal(pb("1000G"), "1000000000000");
	assert_string_equal(pb("1000000000000"), "1000000000000");
	assert_string_equal(pb("1.5M"), "1500000");
	assert_string_equal(pb("2.25k"), "2250");
	assert_string_equal(pb("0.5k"), "500");
	assert_string_equal(pb("1.000001M"), "1000001");
	assert_string_equal(pb("0.000000001G"), "1");
	assert_string_equal(pb("999.999999999G"), "999999999999");

	assert_string_equal(pb(""), "ERR empty value");
	assert_string_equal(pb("abc"), "ERR abc: not a number (e.g. 1500, 64k, 10M, 1G)");
	assert_string_equal(pb("-5"), "ERR -5: not a number (e.g. 1500, 64k, 10M, 1G)");
	assert_string_equal(pb("+5"), "ERR +5: not a number (e.g. 1500, 64k, 10M, 1G)");
	assert_string_equal(pb(" 5"), "ERR  5: not a number (e.g. 1500, 64k, 10M, 1G)");
	assert_string_equal(pb("1."), "ERR 1.: not a number (e.g. 1500, 64k, 10M, 1G)");
	assert_string_equal(pb(".5M"), "ERR .5M: not a number (e.g. 1500, 64k, 10M, 1G)");
	assert_string_equal(pb("5 "), "ERR 5 : unknown suffix ' ' (k, M or G: powers of 1000)");
	assert_string_equal(pb("10X"), "ERR 10X: unknown suffix 'X' (k, M or G: powers of 1000)");
	assert_string_equal(pb("10MB"),
			    "ERR 10MB: unknown suffix 'MB' (k, M or G: powers of 1000)");
	assert_string_equal(pb("10m"), "ERR 10m: unknown suffix 'm' (k, M or G: powers of 1000)");
	assert_string_equal(pb("10Mi"),
			    "ERR 10Mi: unknown suffix 'Mi' (k, M or G: powers of 1000)");
	assert_string_equal(pb("1.5"), "ERR 1.5: a fraction of a byte (use a suffix: 1.5k, 2.5M)");
	assert_string_equal(pb("1.2345k"), "ERR 1.2345k: too many decimal places for k");
	assert_string_equal(pb("1.0000000001G"), "ERR 1.0000000001G: too many decimal places");
	assert_string_equal(pb("1001G"), "ERR 1001G: too large (at most 1000G)");
	assert_string_equal(pb("1000.000000001G"),
			    "ERR 1000.000000001G: too large (at most 1000G)");
	assert_string_equal(pb("1000000000001"), "ERR 1000000000001: too large (at most 1000G)");
	/* would wrap around 2^64 to 290448384 if multiplied unchecked */
	assert_string_equal(pb("18446744074G"), "ERR 18446744074G: too large (at most 1000G)");
	assert_string_equal(pb("1000001M"), "ERR 1000001M: too large (at most 1000G)");
	assert_string_equal(pb("1000000001k"), "ERR 1000000001k: too large (at most 1000G)");
	assert_string_equal(pb("1000000000k"), "1000000000000");
	/* control characters are not echoed */
	assert_string_equal(pb("1\n\x1b[2J"),
			    "ERR 1??[2J: unknown suffix '??[2J' (k, M or G: powers of 1000)");
	assert_string_equal(pb("\xff"), "ERR ?: not a number (e.g. 1500, 64k, 10M, 1G)");
	assert_string_equal(pb("99999999999999999999999999"),
			    "ERR 99999999999999999999999999: too large (at most 1000G)");
	/* long junk is cut short in the message */
	char junk[300], want[128];
	memset(junk, 'x', sizeof(junk) - 1);
	junk[sizeof(junk) - 1] = '\0';
	snprintf(want, sizeof(want), "ERR %.40s...: not a number (e.g. 1500, 64k, 10M, 1G)", junk);
	assert_string_equal(pb(junk), want);
	uint64_t v;
	assert_int_equal(ratelimit_parse_bytes("x", &v, NULL), -EINVAL);
}

static void test_parse_pair(void **state)
{
	(void)state;
	struct ratelimit_conf c;
	struct ratelimit_error why;

	assert_int_equal(ratelimit_parse("10M", "1M", &c, &why), 0);
	assert_int_equal(c.rate, 10000000);
	assert_int_equal(c.burst, 1000000);
	assert_int_equal(ratelimit_parse("10M", NULL, &c, &why), 0);
	assert_int_equal(c.burst, 1000000);
	assert_int_equal(ratelimit_parse("1000000", NULL, &c, &why), 0);
	assert_int_equal(c.rate, 1000000);
	assert_int_equal(c.burst, 100000);
	assert_int_equal(ratelimit_parse("100k", NULL, &c, &why), 0);
	assert_int_equal(c.burst, 65536);
	assert_int_equal(ratelimit_parse("0", NULL, &c, &why), 0);
	assert_int_equal(c.rate, 0);
	assert_int_equal(c.burst, 65536);
	/* no limit: a small burst does not matter */
	assert_int_equal(ratelimit_parse("0", "1k", &c, &why), 0);
	assert_int_equal(c.burst, 1000);
	assert_int_equal(ratelimit_parse("1M", "1500", &c, &why), 0);
	assert_int_equal(c.burst, 1500);

	assert_int_equal(ratelimit_parse("10M", "1k", &c, &why), -EINVAL);
	assert_string_equal(why.msg,
			    "burst: 1k: less than one full-size packet (at least 1500 bytes)");
	assert_int_equal(c.rate, 0);
	assert_int_equal(c.burst, 0);
	assert_int_equal(ratelimit_parse("x", "1M", &c, &why), -EINVAL);
	assert_string_equal(why.msg, "rate: x: not a number (e.g. 1500, 64k, 10M, 1G)");
	assert_int_equal(ratelimit_parse("1M", "1Q", &c, &why), -EINVAL);
	assert_string_equal(why.msg, "burst: 1Q: unknown suffix 'Q' (k, M or G: powers of 1000)");
	assert_int_equal(ratelimit_parse("", NULL, &c, &why), -EINVAL);
	assert_string_equal(why.msg, "rate: empty value");
	assert_int_equal(ratelimit_parse("1M", "1k", &c, NULL), -EINVAL);

	/* the same rules for numbers from a JSON request */
	c = (struct ratelimit_conf){1000000, 100000};
	assert_int_equal(ratelimit_check(&c, &why), 0);
	c = (struct ratelimit_conf){0, 0};
	assert_int_equal(ratelimit_check(&c, &why), 0);
	c = (struct ratelimit_conf){RATELIMIT_MAX, RATELIMIT_MAX};
	assert_int_equal(ratelimit_check(&c, &why), 0);
	c = (struct ratelimit_conf){1000000, 1000};
	assert_int_equal(ratelimit_check(&c, &why), -EINVAL);
	assert_string_equal(why.msg,
			    "burst: 1k: less than one full-size packet (at least 1500 bytes)");
	c = (struct ratelimit_conf){RATELIMIT_MAX + 1, 100000};
	assert_int_equal(ratelimit_check(&c, &why), -EINVAL);
	assert_string_equal(why.msg, "rate: 1000000000001: too large (at most 1000G)");
	c = (struct ratelimit_conf){0, 2000000000000ull};
	assert_int_equal(ratelimit_check(&c, &why), -EINVAL);
	assert_string_equal(why.msg, "burst: 2000G: too large (at most 1000G)");
	assert_int_equal(ratelimit_check(&c, NULL), -EINVAL);
}

static void test_format(void **state)
{
	(void)state;
	char buf[RATELIMIT_STRLEN];
	assert_string_equal(ratelimit_format_bytes(0, buf), "0");
	assert_string_equal(ratelimit_format_bytes(1234, buf), "1234");
	assert_string_equal(ratelimit_format_bytes(64000, buf), "64k");
	assert_string_equal(ratelimit_format_bytes(65536, buf), "65536");
	assert_string_equal(ratelimit_format_bytes(1500000, buf), "1500k");
	assert_string_equal(ratelimit_format_bytes(10000000, buf), "10M");
	assert_string_equal(ratelimit_format_bytes(1000000000, buf), "1G");
	assert_string_equal(ratelimit_format_bytes(RATELIMIT_MAX, buf), "1000G");
	assert_string_equal(ratelimit_format_bytes(UINT64_MAX, buf), "18446744073709551615");
	static const uint64_t vals[] = {0, 1, 999, 1000, 1001, 65536, 100000, 2500000, 1000000001,
					RATELIMIT_MAX - 1, RATELIMIT_MAX};
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		uint64_t v;
		assert_int_equal(ratelimit_parse_bytes(ratelimit_format_bytes(vals[i], buf), &v,
						       NULL),
				 0);
		assert_int_equal(v, vals[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_tokens), cmocka_unit_test(test_burst_cap),
		cmocka_unit_test(test_long_idle),    cmocka_unit_test(test_clock),
		cmocka_unit_test(test_live_change),  cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_ten_seconds),  cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_default_burst), cmocka_unit_test(test_parse_bytes),
		cmocka_unit_test(test_parse_pair),   cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* ratelimit.c - token bucket in bytes (exact integer refill) and the rate/burst parser. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "meshvpn/ratelimit.h"

#define NS RATELIMIT_NS_PER_S

static void configure(struct ratelimit *tb, uint64_t rate, uint64_t burst)
{
	rate = MIN(rate, RATELIMIT_MAX);
	burst = MIN(burst, RATELIMIT_MAX);
	if (rate && !burst)
		burst = 1;
	tb->rate = rate;
	tb->burst = burst;
	tb->rate_q = rate / NS;
	tb->rate_r = rate % NS;
	tb->full_s = rate ? burst / rate + 1 : 0;
}

/*
 * Credits the time since last_ns. The nanobytes gained are elapsed * rate + frac; with
 * elapsed = s * 1e9 + r and rate = q * 1e9 + rr that is 1e9 * (s * rate + r * q) +
 * (r * rr + frac), and every product stays below 2^63: s * rate <= burst because s is
 * checked against full_s first, r * q < 1e9 * 1000 and r * rr < 1e18.
 */
static void refill(struct ratelimit *tb, int64_t now_ns)
{
	if (now_ns <= tb->last_ns)
		return;
	uint64_t elapsed = (uint64_t)now_ns - (uint64_t)tb->last_ns;
	tb->last_ns = now_ns;
	if (tb->rate == 0 || tb->tokens >= tb->burst) {
		tb->tokens = tb->burst;
		tb->frac = 0;
		return;
	}
	uint64_t s = elapsed / NS, r = elapsed % NS;
	if (s >= tb->full_s) {
		tb->tokens = tb->burst;
		tb->frac = 0;
		return;
	}
	uint64_t nb = r * tb->rate_r + tb->frac;
	uint64_t add = s * tb->rate + r * tb->rate_q + nb / NS;
	tb->frac = nb % NS;
	if (add >= tb->burst - tb->tokens) {
		tb->tokens = tb->burst;
		tb->frac = 0;
	} else {
		tb->tokens += add;
	}
}

void ratelimit_init(struct ratelimit *tb, uint64_t rate, uint64_t burst, int64_t now_ns)
{
	memset(tb, 0, sizeof(*tb));
	configure(tb, rate, burst);
	tb->tokens = tb->burst;
	tb->last_ns = now_ns;
}

void ratelimit_set(struct ratelimit *tb, uint64_t rate, uint64_t burst, int64_t now_ns)
{
	bool was_unlimited = tb->rate == 0;

	refill(tb, now_ns);
	configure(tb, rate, burst);
	if (was_unlimited || tb->tokens >= tb->burst) {
		tb->tokens = tb->burst;
		tb->frac = 0;
	}
}

bool ratelimit_allow(struct ratelimit *tb, uint64_t bytes, int64_t now_ns)
{
	if (tb->rate == 0)
		return true;
	refill(tb, now_ns);
	if (bytes <= tb->tokens) {
		tb->tokens -= bytes;
		return true;
	}
	if (bytes > tb->burst && tb->tokens == tb->burst) {
		/* it would never fit: let it through a full bucket, which it empties */
		tb->tokens = 0;
		tb->frac = 0;
		return true;
	}
	return false;
}

uint64_t ratelimit_tokens(struct ratelimit *tb, int64_t now_ns)
{
	if (tb->rate == 0)
		return UINT64_MAX;
	refill(tb, now_ns);
	return tb->tokens;
}

uint64_t ratelimit_default_burst(uint64_t rate)
{
	return MIN(MAX(rate / 10, (uint64_t)RATELIMIT_DEFAULT_BURST_MIN), RATELIMIT_MAX);
}

/* ---- parsing ---- */

/* Copies at most n bytes of s to buf (n + 1 bytes), control and non-ASCII bytes as '?'. */
static const char *printable(const char *s, size_t n, char *buf)
{
	size_t i;
	for (i = 0; i < n && s[i]; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* why->msg = "<text>: <detail>", the text cut at 40 bytes and made printable. */
PRINTF(3, 4) static int fail(struct ratelimit_error *why, const char *text, const char *fmt, ...)
{
	char shown[41];
	size_t off;
	va_list ap;

	if (!why)
		return -EINVAL;
	off = (size_t)snprintf(why->msg, sizeof(why->msg), "%s%s: ", printable(text, 40, shown),
			       strlen(text) > 40 ? "..." : "");
	va_start(ap, fmt);
	vsnprintf(why->msg + off, sizeof(why->msg) - off, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int ratelimit_parse_bytes(const char *s, uint64_t *out, struct ratelimit_error *why)
{
	uint64_t whole = 0, frac = 0, mult = 1;
	unsigned frac_digits = 0, places = 0;
	const char *p = s;
	char suffix[9];

	*out = 0;
	if (!*s) {
		if (why)
			snprintf(why->msg, sizeof(why->msg), "empty value");
		return -EINVAL;
	}
	if (!is_digit(*p))
		return fail(why, s, "not a number (e.g. 1500, 64k, 10M, 1G)");
	for (; is_digit(*p); p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > RATELIMIT_MAX)
			return fail(why, s, "too large (at most 1000G)");
	}
	const char *dot = NULL;
	if (*p == '.') {
		dot = p++;
		if (!is_digit(*p))
			return fail(why, s, "not a number (e.g. 1500, 64k, 10M, 1G)");
		for (; is_digit(*p); p++) {
			if (++frac_digits > 9)
				return fail(why, s, "too many decimal places");
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
	}
	if (*p) {
		if (p[1] == '\0' && (*p == 'k' || *p == 'K'))
			mult = 1000, places = 3;
		else if (p[1] == '\0' && *p == 'M')
			mult = 1000000, places = 6;
		else if (p[1] == '\0' && *p == 'G')
			mult = 1000000000, places = 9;
		else
			return fail(why, s, "unknown suffix '%s' (k, M or G: powers of 1000)",
				    printable(p, 8, suffix));
	}
	if (dot && !places)
		return fail(why, s, "a fraction of a byte (use a suffix: 1.5k, 2.5M)");
	if (frac_digits > places)
		return fail(why, s, "too many decimal places for %c", *p);
	for (unsigned i = frac_digits; i < places; i++)
		frac *= 10;
	/* checked before multiplying: 18446744074G would wrap around to 290448384 */
	if (whole > RATELIMIT_MAX / mult)
		return fail(why, s, "too large (at most 1000G)");
	uint64_t v = whole * mult + frac;
	if (v > RATELIMIT_MAX)
		return fail(why, s, "too large (at most 1000G)");
	*out = v;
	return 0;
}

/* Moves why->msg behind "field: ". */
static int prefix(struct ratelimit_error *why, const char *field, int r)
{
	if (why) {
		char tmp[RATELIMIT_ERROR_LEN];
		memcpy(tmp, why->msg, sizeof(tmp));
		snprintf(why->msg, sizeof(why->msg), "%s: %.*s", field,
			 (int)(sizeof(why->msg) - strlen(field) - 3), tmp);
	}
	return r;
}

int ratelimit_check(const struct ratelimit_conf *c, struct ratelimit_error *why)
{
	char text[RATELIMIT_STRLEN];

	if (c->rate > RATELIMIT_MAX) {
		fail(why, ratelimit_format_bytes(c->rate, text), "too large (at most 1000G)");
		return prefix(why, "rate", -EINVAL);
	}
	if (c->burst > RATELIMIT_MAX) {
		fail(why, ratelimit_format_bytes(c->burst, text), "too large (at most 1000G)");
		return prefix(why, "burst", -EINVAL);
	}
	if (c->rate && c->burst < RATELIMIT_MIN_BURST) {
		fail(why, ratelimit_format_bytes(c->burst, text),
		     "less than one full-size packet (at least %u bytes)",
		     (unsigned)RATELIMIT_MIN_BURST);
		return prefix(why, "burst", -EINVAL);
	}
	return 0;
}

int ratelimit_parse(const char *rate, const char *burst, struct ratelimit_conf *out,
		    struct ratelimit_error *why)
{
	struct ratelimit_conf c = {0};
	int r;

	*out = c;
	r = ratelimit_parse_bytes(rate, &c.rate, why);
	if (r < 0)
		return prefix(why, "rate", r);
	if (!burst) {
		c.burst = ratelimit_default_burst(c.rate);
	} else {
		r = ratelimit_parse_bytes(burst, &c.burst, why);
		if (r < 0)
			return prefix(why, "burst", r);
		/* the check words the value as written, not as formatted */
		if (c.rate && c.burst < RATELIMIT_MIN_BURST) {
			fail(why, burst, "less than one full-size packet (at least %u bytes)",
			     (unsigned)RATELIMIT_MIN_BURST);
			return prefix(why, "burst", -EINVAL);
		}
	}
	r = ratelimit_check(&c, why);
	if (r < 0)
		return r;
	*out = c;
	return 0;
}

const char *ratelimit_format_bytes(uint64_t v, char buf[RATELIMIT_STRLEN])
{
	if (v && v % 1000000000 == 0)
		snprintf(buf, RATELIMIT_STRLEN, "%lluG", (unsigned long long)(v / 1000000000));
	else if (v && v % 1000000 == 0)
		snprintf(buf, RATELIMIT_STRLEN, "%lluM", (unsigned long long)(v / 1000000));
	else if (v && v % 1000 == 0)
		snprintf(buf, RATELIMIT_STRLEN, "%lluk", (unsigned long long)(v / 1000));
	else
		snprintf(buf, RATELIMIT_STRLEN, "%llu", (unsigned long long)v);
	return buf;
}

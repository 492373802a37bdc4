/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ratelimit.h - a token bucket in bytes for the hub's per-client rate limits, and the
 * parser of the config/API values ("10M", {rate, burst}). Pure: the time is an argument
 * (monotonic nanoseconds); integer arithmetic only, exact to the nanobyte, no allocation.
 *
 * Semantics: the bucket holds up to burst bytes and refills at rate bytes per second. A
 * packet passes when the bucket holds at least its size, which is then taken out; a packet
 * refused takes nothing (no debt). A packet larger than burst would never fit, so it passes
 * a full bucket and empties it. Rate 0 means no limit: every packet passes.
 */
#ifndef MESHVPN_RATELIMIT_H
#define MESHVPN_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define RATELIMIT_NS_PER_S	    1000000000ull
#define RATELIMIT_MAX		    1000000000000ull /* 1000G: largest rate (bytes/s) and burst */
#define RATELIMIT_MIN_BURST	    1500	     /* with a rate: one full-size packet */
#define RATELIMIT_DEFAULT_BURST_MIN 65536	     /* 64 KiB, see ratelimit_default_burst() */
#define RATELIMIT_STRLEN	    24
#define RATELIMIT_ERROR_LEN	    192

/* Why a value was refused, for the operator: "<field>: <text>: <what is wrong>". */
struct ratelimit_error {
	char msg[RATELIMIT_ERROR_LEN];
};

/* A configured limit. */
struct ratelimit_conf {
	uint64_t rate;	/* bytes per second; 0 = no limit */
	uint64_t burst; /* bytes */
};

/* The bucket. Zero-initialised it is unlimited (rate 0). Fields are private. */
struct ratelimit {
	uint64_t rate, burst;
	uint64_t tokens;	 /* bytes available, <= burst */
	uint64_t frac;		 /* credit below one byte, in 1e-9 bytes (< 1e9) */
	uint64_t rate_q, rate_r; /* rate / 1e9, rate % 1e9: the refill without overflow */
	uint64_t full_s;	 /* idle whole seconds after which the bucket is surely full */
	int64_t last_ns;	 /* time of the last refill */
};

/*
 * Sets up a full bucket at now_ns. rate and burst are clamped to RATELIMIT_MAX, and with a
 * rate burst is at least 1.
 */
void ratelimit_init(struct ratelimit *tb, uint64_t rate, uint64_t burst, int64_t now_ns);
/*
 * Changes rate and burst live (clamped as by init): the time up to now_ns is credited at
 * the old rate, and the tokens are kept, only cut down to the new burst. A bucket that was
 * unlimited counts as full.
 */
void ratelimit_set(struct ratelimit *tb, uint64_t rate, uint64_t burst, int64_t now_ns);
/*
 * Refills by the time elapsed since the last call, then takes bytes if the bucket holds
 * them: true = pass, false = drop (nothing taken). Hot path. A clock that did not advance
 * refills nothing (one that went back is ignored until it passes the last time).
 */
bool ratelimit_allow(struct ratelimit *tb, uint64_t bytes, int64_t now_ns);
/* The bytes available at now_ns (refills, takes nothing); UINT64_MAX when unlimited. */
uint64_t ratelimit_tokens(struct ratelimit *tb, int64_t now_ns);
static inline bool ratelimit_unlimited(const struct ratelimit *tb)
{
	return tb->rate == 0;
}

/* The burst when none is configured: a tenth of a second at rate, at least 64 KiB. */
uint64_t ratelimit_default_burst(uint64_t rate);
/*
 * Parses a byte count: decimal digits with an optional suffix k or K (10^3), M (10^6) or
 * G (10^9), and with a suffix a decimal fraction ("1.5M" = 1500000). At most
 * RATELIMIT_MAX. 0, or -EINVAL and why->msg ("10X: unknown suffix ..."; why may be NULL).
 */
int ratelimit_parse_bytes(const char *s, uint64_t *out, struct ratelimit_error *why) WUR;
/*
 * Parses the {rate, burst} pair; burst NULL means ratelimit_default_burst(rate). With a
 * rate, burst must be at least RATELIMIT_MIN_BURST. 0 or -EINVAL, why->msg starting with
 * "rate: " or "burst: ".
 */
int ratelimit_parse(const char *rate, const char *burst, struct ratelimit_conf *out,
		    struct ratelimit_error *why) WUR;
/*
 * Checks a pair that arrived as numbers (a JSON request): both at most RATELIMIT_MAX, and
 * with a rate a burst of at least RATELIMIT_MIN_BURST. 0 or -EINVAL with why->msg as
 * ratelimit_parse() words it.
 */
int ratelimit_check(const struct ratelimit_conf *c, struct ratelimit_error *why) WUR;
/* Shortest exact form: "10M", "1500k", "1234", "0"; ratelimit_parse_bytes() reads it back. */
const char *ratelimit_format_bytes(uint64_t v, char buf[RATELIMIT_STRLEN]);

#endif

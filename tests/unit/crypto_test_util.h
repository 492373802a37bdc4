/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * crypto_test_util.h - helpers for the crypto unit tests: hex with whitespace, and a scripted
 * randombytes_buf() (link with -Wl,--wrap=randombytes_buf) so vectors come out byte for byte.
 * Include after cmocka.h, in exactly one test file per executable.
 */
#ifndef CRYPTO_TEST_UTIL_H
#define CRYPTO_TEST_UTIL_H

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "meshvpn/bytes.h"
#include "meshvpn/util.h"

/* Decodes hex, skipping whitespace; fails the test on bad input or overflow. */
UNUSED static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;
	int hi = -1;

	for (const char *c = hex; *c; c++) {
		if (isspace((unsigned char)*c))
			continue;
		int v = isdigit((unsigned char)*c) ? *c - '0'
			: (*c >= 'a' && *c <= 'f') ? *c - 'a' + 10
			: (*c >= 'A' && *c <= 'F') ? *c - 'A' + 10
						   : -1;
		assert_true(v >= 0);
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < cap);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_true(hi < 0);
	return n;
}

#ifdef CRYPTO_TEST_WRAP_RANDOM
/* Scripted chunks are returned first (their length must match the request), then a PRNG. */
#define RNG_SCRIPT_MAX 32
static struct {
	size_t len;
	uint8_t data[64];
} rng_script[RNG_SCRIPT_MAX];
static size_t rng_head, rng_tail;
static uint64_t rng_state = 0x0123456789abcdefULL;

void __wrap_randombytes_buf(void *buf, size_t n);
void __wrap_randombytes_buf(void *buf, size_t n)
{
	uint8_t *p = buf;

	if (rng_head < rng_tail) {
		assert_int_equal(n, rng_script[rng_head].len);
		memcpy(p, rng_script[rng_head].data, n);
		rng_head++;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		/* splitmix64 */
		uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		p[i] = (uint8_t)(z ^ (z >> 31));
	}
}

/* Queues the next "random" bytes (hex). */
UNUSED static void rng_push(const char *hex)
{
	assert_true(rng_tail < RNG_SCRIPT_MAX);
	rng_script[rng_tail].len = unhex(rng_script[rng_tail].data, 64, hex);
	rng_tail++;
}

/* Queues n copies of byte. */
UNUSED static void rng_push_fill(uint8_t byte, size_t n)
{
	assert_true(rng_tail < RNG_SCRIPT_MAX && n <= 64);
	memset(rng_script[rng_tail].data, byte, n);
	rng_script[rng_tail].len = n;
	rng_tail++;
}

/* All scripted chunks consumed? Resets the queue. */
UNUSED static bool rng_drained(void)
{
	bool ok = rng_head == rng_tail;

	rng_head = rng_tail = 0;
	return ok;
}
#endif

/* A heap-free test buffer of SESSION_BUF_SIZE-like size. */
struct tbuf {
	struct buf b;
	uint8_t mem[65535];
};

__attribute__((noinline, unused)) static void tbuf_init(struct tbuf *t, uint32_t headroom)
{
	t->b.base = t->mem;
	t->b.size = sizeof(t->mem);
	buf_reset(&t->b, headroom);
}

/* Sets t to hold bytes p[0..n) at the given headroom. */
__attribute__((noinline, unused)) static void tbuf_set(struct tbuf *t, uint32_t headroom,
						       const uint8_t *p, size_t n)
{
	tbuf_init(t, headroom);
	memcpy(buf_put(&t->b, (uint32_t)n), p, n);
}

#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_crypto_common.h - shared set-up of the crypto fuzz targets: a deterministic libsodium
 * RNG (reseeded per input, so every run is reproducible), fixed identities and contexts, and
 * a record reader for the fuzz input.
 */
#ifndef FUZZ_CRYPTO_COMMON_H
#define FUZZ_CRYPTO_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/session.h"

static uint64_t fz_rng;

static const char *fz_rng_name(void)
{
	return "fuzz-splitmix64";
}

static uint32_t fz_rng_u32(void)
{
	uint64_t z = (fz_rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)(z ^ (z >> 31));
}

static void fz_rng_buf(void *buf, size_t n)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)fz_rng_u32();
}

static struct randombytes_implementation fz_rng_impl = {
	.implementation_name = fz_rng_name,
	.random = fz_rng_u32,
	.buf = fz_rng_buf,
};

static void fz_reseed(void)
{
	fz_rng = 0x5eed5eed5eed5eedULL;
}

/* Fixed identity (the PROTOCOL.md A.1 seed) and node ids. */
static const uint8_t fz_seed[32] = {
	0x67, 0xd2, 0x04, 0x09, 0xc9, 0x7f, 0xb9, 0xcc, 0x56, 0x11, 0x93,
	0x43, 0xf1, 0x83, 0xc0, 0x04, 0x7b, 0x47, 0xf2, 0x22, 0x51, 0xa8,
	0xa0, 0x4b, 0xd8, 0x93, 0x6a, 0xd8, 0x5b, 0xb8, 0xe2, 0x4d,
};
static const uint8_t fz_node_a[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t fz_node_b[16] = { 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
				       0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff };
/* A NodeInfo with just NODE_ID (16 x aa) and END. */
static const uint8_t fz_payload[] = {
	4, 0, 16, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0,
};
static uint8_t fz_pk[32], fz_sk[64];

#define FZ_ALGOS 4 /* AES128, AES256, CHACHA20, plain */
#define FZ_CYCLE 2 /* short rotation cycle so that ticks reach it */
static struct session_ctx *fz_ctx[FZ_ALGOS][2];

static void fz_init(void)
{
	randombytes_set_implementation(&fz_rng_impl);
	if (sodium_init() < 0)
		abort();
	fz_reseed();
	crypto_sign_seed_keypair(fz_pk, fz_sk, fz_seed);
	for (int i = 0; i < FZ_ALGOS; i++) {
		struct algo_list l;

		algo_list_init(&l);
		if (i < 3) {
			if (algo_list_add(&l, (uint8_t)(ALGO_AES128 + i), 100.0f))
				abort();
		} else {
			l.allow_plain = true;
		}
		for (int j = 0; j < 2; j++) {
			struct session_params p = {
				.seed = fz_seed,
				.node_id = j ? fz_node_b : fz_node_a,
				.algos = &l,
				.rotate_cycle = FZ_CYCLE,
			};
			if (session_ctx_new(&p, &fz_ctx[i][j]))
				abort();
		}
	}
}

/* A datagram buffer of the size the node uses. */
struct fz_buf {
	struct buf b;
	uint8_t mem[SESSION_BUF_SIZE];
};

static void fz_buf_set(struct fz_buf *f, const uint8_t *p, size_t n)
{
	f->b.base = f->mem;
	f->b.size = sizeof(f->mem);
	buf_reset(&f->b, SESSION_HEADROOM);
	if (n > f->b.size - SESSION_HEADROOM)
		n = f->b.size - SESSION_HEADROOM;
	if (n)
		memcpy(buf_put(&f->b, (uint32_t)n), p, n);
}

/* Input records: op (1) || length (1) || data. */
struct fz_rec {
	uint8_t op;
	const uint8_t *p;
	size_t n;
};

static int fz_next(const uint8_t **data, size_t *size, struct fz_rec *r)
{
	if (*size < 2)
		return 0;
	r->op = (*data)[0];
	r->n = (*data)[1];
	if (r->n > *size - 2)
		r->n = *size - 2;
	r->p = *data + 2;
	*data += 2 + r->n;
	*size -= 2 + r->n;
	return 1;
}

/* Establishes a (initiator) and b (responder) with the contexts of algorithm index i. */
__attribute__((unused)) static int fz_connect(int i, struct session **a, struct session **b,
					      struct fz_buf *t)
{
	struct session_event ev;

	*a = *b = NULL;
	fz_buf_set(t, NULL, 0);
	if (session_new_initiator(fz_ctx[i][0], fz_payload, sizeof(fz_payload), a, &t->b) ||
	    session_new_responder(fz_ctx[i][1], fz_payload, sizeof(fz_payload), b) ||
	    session_handle(*b, &t->b, &ev) != SESSION_REPLY ||
	    session_handle(*a, &t->b, &ev) != SESSION_ESTABLISHED ||
	    session_handle(*b, &t->b, &ev) != SESSION_ESTABLISHED)
		abort();
	if (ev.send && session_handle(*a, &t->b, &ev) != SESSION_NONE)
		abort();
	return 0;
}

#endif

// SPDX-License-Identifier: GPL-3.0-or-later
/* algo.c - algorithm ids and names, the ALGORITHMS list codec, selection and the benchmark. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "meshvpn/algo.h"
#include "meshvpn/frame.h"

_Static_assert(sizeof(float) == 4, "speeds travel as IEEE-754 binary32");

static const struct {
	const char *name;
	uint8_t id;
} aliases[] = {
	{ "PLAIN", ALGO_PLAIN },	{ "NONE", ALGO_PLAIN },
	{ "UNENCRYPTED", ALGO_PLAIN },	{ "AES128", ALGO_AES128 },
	{ "AES128_GCM", ALGO_AES128 },	{ "AES_128", ALGO_AES128 },
	{ "AES_128_GCM", ALGO_AES128 }, { "AES256", ALGO_AES256 },
	{ "AES256_GCM", ALGO_AES256 },	{ "AES_256", ALGO_AES256 },
	{ "AES_256_GCM", ALGO_AES256 }, { "CHACHA", ALGO_CHACHA20 },
	{ "CHACHA20", ALGO_CHACHA20 },	{ "CHACHA20_POLY1305", ALGO_CHACHA20 },
};

const char *algo_name(uint8_t id)
{
	switch (id) {
	case ALGO_PLAIN:
		return "PLAIN";
	case ALGO_AES128:
		return "AES128";
	case ALGO_AES256:
		return "AES256";
	case ALGO_CHACHA20:
		return "CHACHA20";
	default:
		return "?";
	}
}

size_t algo_key_len(uint8_t id)
{
	switch (id) {
	case ALGO_AES128:
		return 16;
	case ALGO_AES256:
	case ALGO_CHACHA20:
		return 32;
	default:
		return 0;
	}
}

bool algo_is_cipher(uint8_t id)
{
	return id >= ALGO_AES128 && id <= ALGO_MAX_ID;
}

int algo_from_name(const char *name, uint8_t *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++) {
		if (!strcasecmp(name, aliases[i].name)) {
			*id = aliases[i].id;
			return 0;
		}
	}
	return -EINVAL;
}

void algo_list_init(struct algo_list *l)
{
	memset(l, 0, sizeof(*l));
}

bool algo_list_speed(const struct algo_list *l, uint8_t id, float *speed)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (l->e[i].id == id) {
			*speed = l->e[i].speed;
			return true;
		}
	}
	return false;
}

int algo_list_add(struct algo_list *l, uint8_t id, float speed)
{
	float old;

	if (id == ALGO_PLAIN) {
		if (l->allow_plain)
			return -EEXIST;
		l->allow_plain = true;
		return 0;
	}
	if (!algo_is_cipher(id))
		return -EINVAL;
	if (algo_list_speed(l, id, &old))
		return -EEXIST;
	if (l->n >= ALGO_CIPHER_COUNT)
		return -ENOSPC; /* unreachable: three distinct ciphers fit */
	l->e[l->n].id = id;
	l->e[l->n].speed = speed;
	l->n++;
	return 0;
}

size_t algo_list_encoded_len(const struct algo_list *l)
{
	return (size_t)(l->n + (l->allow_plain ? 1 : 0)) * ALGO_ENTRY_LEN;
}

static void put_speed(struct wr *w, float speed)
{
	uint32_t bits;

	memcpy(&bits, &speed, sizeof(bits));
	wr_be32(w, bits);
}

void algo_list_write(const struct algo_list *l, struct wr *w)
{
	if (l->allow_plain) {
		wr_u8(w, ALGO_PLAIN);
		put_speed(w, INFINITY);
	}
	for (unsigned i = 0; i < l->n; i++) {
		wr_u8(w, l->e[i].id);
		put_speed(w, l->e[i].speed);
	}
}

int algo_list_decode(struct algo_list *l, const uint8_t *p, size_t len)
{
	struct rd r;

	algo_list_init(l);
	if (len % ALGO_ENTRY_LEN)
		return -EBADMSG;
	rd_init(&r, p, len);
	while (rd_left(&r) >= ALGO_ENTRY_LEN) {
		uint8_t id = rd_u8(&r);
		uint32_t bits = rd_be32(&r);
		float speed;

		memcpy(&speed, &bits, sizeof(speed));
		/* Plain: the speed is ignored. Unknown ids: skipped. Repeats: first one counts. */
		int ret = algo_list_add(l, id, speed);
		(void)ret;
	}
	return rd_ok(&r) ? 0 : -EBADMSG;
}

int algo_select(const struct algo_list *own, const struct algo_list *peer, uint8_t *id)
{
	bool found = false;
	float best = 0, peer_speed;

	if (own->allow_plain && peer->allow_plain) {
		*id = ALGO_PLAIN;
		return 0;
	}
	for (unsigned i = 0; i < own->n; i++) {
		if (!algo_list_speed(peer, own->e[i].id, &peer_speed))
			continue;
		/* Same comparisons as the reference, so NaN speeds resolve identically too. */
		float own_speed = own->e[i].speed;
		float score = own_speed < peer_speed ? own_speed : peer_speed;

		if (!found || best < score) {
			best = score;
			*id = own->e[i].id;
			found = true;
		}
	}
	return found ? 0 : -ENOENT;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int algo_benchmark(uint8_t id, double seconds, float *speed)
{
	struct frame_core tx, rx;
	uint8_t km[FRAME_KEY_MATERIAL_LEN];
	uint8_t *mem = NULL;
	struct buf b;
	uint64_t rounds = 0;
	double start, elapsed;
	int ret;

	*speed = 0;
	if (!algo_is_cipher(id))
		return -EINVAL;
	memset(&tx, 0, sizeof(tx));
	memset(&rx, 0, sizeof(rx));
	randombytes_buf(km, sizeof(km));
	ret = frame_core_init(&tx, id, true, km);
	if (!ret)
		ret = frame_core_init(&rx, id, false, km);
	if (ret)
		goto out;
	mem = calloc(1, FRAME_OVERHEAD + ALGO_BENCH_MSG_LEN);
	if (!mem) {
		ret = -ENOMEM;
		goto out;
	}
	b.base = mem;
	b.size = FRAME_OVERHEAD + ALGO_BENCH_MSG_LEN;
	buf_reset(&b, FRAME_HEADER_LEN);
	b.len = ALGO_BENCH_MSG_LEN;

	start = now_seconds();
	do {
		for (int i = 0; i < ALGO_BENCH_BATCH; i++) {
			ret = frame_encrypt(&tx, &b);
			if (!ret)
				ret = frame_decrypt(&rx, &b);
			if (ret)
				goto out;
		}
		rounds += ALGO_BENCH_BATCH;
		elapsed = now_seconds() - start;
	} while (elapsed < seconds);
	*speed = (float)((double)rounds * ALGO_BENCH_MSG_LEN * 2 / elapsed / 1e6);
out:
	free(mem);
	sodium_memzero(km, sizeof(km));
	frame_core_free(&tx);
	frame_core_free(&rx);
	return ret;
}

int algo_list_benchmark(struct algo_list *l, const uint8_t *ids, size_t n, bool allow_plain,
			double seconds)
{
	int ret;

	algo_list_init(l);
	l->allow_plain = allow_plain;
	for (size_t i = 0; i < n; i++) {
		float speed, old;

		if (!algo_is_cipher(ids[i]) || algo_list_speed(l, ids[i], &old))
			return -EINVAL;
		ret = algo_benchmark(ids[i], seconds, &speed);
		if (ret)
			return ret;
		ret = algo_list_add(l, ids[i], speed);
		if (ret)
			return ret;
	}
	return 0;
}

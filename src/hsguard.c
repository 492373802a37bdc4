// SPDX-License-Identifier: GPL-3.0-or-later
/* hsguard.c - per-source budget and salt memory for handshake messages (hsguard.h). */
#include <sodium.h>
#include <string.h>

#include "meshvpn/hsguard.h"

static uint64_t tag(const struct hsguard *g, const uint8_t *p, size_t n)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t t;

	crypto_shorthash(h, p, n, g->key);
	memcpy(&t, h, sizeof(t));
	return t | 1; /* 0 marks an empty slot */
}

void hsguard_init(struct hsguard *g)
{
	memset(g, 0, sizeof(*g));
	randombytes_buf(g->key, sizeof(g->key));
}

/* a's slot, emptied when it held another address or an earlier tick */
static struct hsguard_source *source(struct hsguard *g, const struct addr *a, int64_t tick)
{
	uint64_t t = tag(g, a->ip, sizeof(a->ip));
	struct hsguard_source *s = &g->src[t % HSGUARD_SOURCES];

	if (s->tag != t || s->tick != tick) {
		s->tag = t;
		s->tick = tick;
		s->count = 0;
		s->seen = 0;
	}
	return s;
}

uint32_t hsguard_source_seen(struct hsguard *g, const struct addr *a, int64_t tick)
{
	struct hsguard_source *s = source(g, a, tick);

	if (s->seen < UINT32_MAX)
		s->seen++;
	return s->seen;
}

bool hsguard_source_ok(struct hsguard *g, const struct addr *a, int64_t tick)
{
	struct hsguard_source *s = source(g, a, tick);

	if (s->count >= HSGUARD_PER_SOURCE)
		return false;
	s->count++;
	return true;
}

bool hsguard_salt_ok(struct hsguard *g, const uint8_t *msg, const struct addr *a, int64_t tick)
{
	uint64_t t = tag(g, msg + 1, HSGUARD_SALT_LEN), from = tag(g, a->ip, sizeof(a->ip));
	struct hsguard_salt *s = &g->salt[t % HSGUARD_SALTS];

	if (s->tag == t && tick - s->tick < HSGUARD_SALT_TICKS) {
		if (s->from == from)
			return true;
		if (s->copy_tick != tick) {
			s->copy_tick = tick;
			s->copies = 0;
		}
		if (s->copies < UINT32_MAX)
			s->copies++;
		return false;
	}
	s->copies = 0;
	s->tag = t;
	s->from = from;
	s->tick = tick;
	s->used = false;
	return true;
}

uint32_t hsguard_salt_copies(const struct hsguard *g, const uint8_t *msg, int64_t tick)
{
	uint64_t t = tag(g, msg + 1, HSGUARD_SALT_LEN);
	const struct hsguard_salt *s = &g->salt[t % HSGUARD_SALTS];

	return s->tag == t && s->copy_tick == tick ? s->copies : 0;
}

static struct hsguard_salt *salt_slot(const struct hsguard *g, const uint8_t *msg, int64_t tick)
{
	uint64_t t = tag(g, msg + 1, HSGUARD_SALT_LEN);
	const struct hsguard_salt *s = &g->salt[t % HSGUARD_SALTS];

	return s->tag == t && tick - s->tick < HSGUARD_SALT_TICKS ? (struct hsguard_salt *)s : NULL;
}

void hsguard_salt_use(struct hsguard *g, const uint8_t *msg, int64_t tick)
{
	struct hsguard_salt *s = salt_slot(g, msg, tick);

	if (s)
		s->used = true;
}

bool hsguard_salt_used(const struct hsguard *g, const uint8_t *msg, int64_t tick)
{
	const struct hsguard_salt *s = salt_slot(g, msg, tick);

	return s && s->used;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* secmem.c - fixed-size secret slots in sodium_malloc() chunks (guarded, locked). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "meshvpn/secmem.h"

_Static_assert(SECMEM_CHUNK_SLOTS == 64, "one 64-bit map of used slots per chunk");

struct chunk {
	uint8_t *mem; /* sodium_malloc: SECMEM_CHUNK_SLOTS * slot bytes */
	uint64_t used;
	struct chunk *next;
};

struct secmem {
	size_t slot;
	size_t used;
	size_t n_chunks;
	struct chunk *chunks;
};

/* Slot sizes are rounded up so that every slot is aligned for any key type. */
#define SLOT_ALIGN 16

int secmem_new(size_t slot_size, struct secmem **out)
{
	struct secmem *m;

	*out = NULL;
	if (slot_size == 0 || slot_size > SECMEM_SLOT_MAX)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->slot = (slot_size + SLOT_ALIGN - 1) & ~(size_t)(SLOT_ALIGN - 1);
	*out = m;
	return 0;
}

static void chunk_release(struct chunk *c)
{
	sodium_free(c->mem); /* wipes, unlocks, unmaps */
	free(c);
}

void secmem_free(struct secmem *m)
{
	if (!m)
		return;
	while (m->chunks) {
		struct chunk *c = m->chunks;
		m->chunks = c->next;
		chunk_release(c);
	}
	free(m);
}

static struct chunk *chunk_new(struct secmem *m)
{
	struct chunk *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	/* sodium_malloc's memory is filled with garbage bytes: the slots are zeroed on get */
	c->mem = sodium_malloc(SECMEM_CHUNK_SLOTS * m->slot);
	if (!c->mem) {
		free(c);
		return NULL;
	}
	c->next = m->chunks;
	m->chunks = c;
	m->n_chunks++;
	return c;
}

void *secmem_get(struct secmem *m)
{
	struct chunk *c;

	for (c = m->chunks; c && c->used == UINT64_MAX; c = c->next)
		;
	if (!c && !(c = chunk_new(m)))
		return NULL;
	unsigned i = (unsigned)__builtin_ctzll(~c->used);
	uint8_t *p = c->mem + (size_t)i * m->slot;

	c->used |= (uint64_t)1 << i;
	m->used++;
	sodium_memzero(p, m->slot);
	return p;
}

void secmem_put(struct secmem *m, void *ptr)
{
	struct chunk **pc, *c;
	uint8_t *p = ptr;

	if (!p)
		return;
	for (pc = &m->chunks; (c = *pc); pc = &c->next) {
		if (p < c->mem || p >= c->mem + SECMEM_CHUNK_SLOTS * m->slot)
			continue;
		size_t i = (size_t)(p - c->mem) / m->slot;

		sodium_memzero(c->mem + i * m->slot, m->slot);
		c->used &= ~((uint64_t)1 << i);
		m->used--;
		/* after a burst (a flood of handshakes) the memory goes back, one chunk stays */
		if (!c->used && m->n_chunks > 1) {
			*pc = c->next;
			m->n_chunks--;
			chunk_release(c);
		}
		return;
	}
	abort(); /* not ours: a bug that must not pass silently */
}

size_t secmem_used(const struct secmem *m)
{
	return m->used;
}

size_t secmem_chunks(const struct secmem *m)
{
	return m->n_chunks;
}

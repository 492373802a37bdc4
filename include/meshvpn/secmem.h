/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * secmem.h - small secrets (ephemeral X25519 keys, rotation keys) in guarded memory: fixed-
 * size slots carved from libsodium's sodium_malloc() chunks (locked in RAM, guard pages on
 * both sides, excluded from core dumps). One sodium_malloc() costs a few pages and system
 * calls, too much per handshake; a chunk serves SECMEM_CHUNK_SLOTS of them. Not thread-safe.
 */
#ifndef MESHVPN_SECMEM_H
#define MESHVPN_SECMEM_H

#include <stddef.h>

#include "util.h"

#define SECMEM_CHUNK_SLOTS 64
#define SECMEM_SLOT_MAX	   256 /* bytes of one slot at most */

struct secmem;

/* A pool of slots of slot_size bytes (1..SECMEM_SLOT_MAX). 0, -EINVAL or -ENOMEM. */
int secmem_new(size_t slot_size, struct secmem **out) WUR;
/* Wipes and releases every chunk (slots still handed out included); accepts NULL. */
void secmem_free(struct secmem *m);
/* A zeroed slot, or NULL (out of memory). */
void *secmem_get(struct secmem *m);
/* Wipes and returns a slot; an empty chunk other than the last one is released. NULL ok. */
void secmem_put(struct secmem *m, void *p);
/* Slots handed out, and chunks held (for tests and leak checks). */
size_t secmem_used(const struct secmem *m);
size_t secmem_chunks(const struct secmem *m);

#endif

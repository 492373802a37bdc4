/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bytes.h - bounds-checked reader/writer cursors and packet buffers with headroom. */
#ifndef MESHVPN_BYTES_H
#define MESHVPN_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

/*
 * Reader cursor over untrusted bytes. The first short read sets err (-EBADMSG) and every
 * later read returns zeros / NULL without moving, so a parser reads everything it wants
 * and checks rd_ok() once at the end.
 */
struct rd {
	const uint8_t *p;
	size_t len; /* bytes left */
	int err;    /* 0 or -EBADMSG, sticky */
};

static inline void rd_init(struct rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->err = 0;
}

static inline bool rd_ok(const struct rd *r) { return r->err == 0; }
static inline size_t rd_left(const struct rd *r) { return r->err ? 0 : r->len; }

/* Returns a pointer to the next n bytes and advances, or NULL (and sets err). */
const uint8_t *rd_bytes(struct rd *r, size_t n);
uint8_t rd_u8(struct rd *r);
uint16_t rd_be16(struct rd *r);
uint32_t rd_be32(struct rd *r);
uint64_t rd_be64(struct rd *r);
/* Copies n bytes to dst (zero-fills dst on a short read). */
void rd_copy(struct rd *r, void *dst, size_t n);
/* Splits off the next n bytes as an independent sub-cursor (err set in both if short). */
struct rd rd_sub(struct rd *r, size_t n);
/* Skips n bytes. */
void rd_skip(struct rd *r, size_t n);

/*
 * Writer cursor into a caller-owned buffer. Overflow sets err (-EMSGSIZE), sticky;
 * nothing is written past cap.
 */
struct wr {
	uint8_t *p;
	size_t cap;
	size_t len; /* bytes written so far */
	int err;    /* 0 or -EMSGSIZE, sticky */
};

static inline void wr_init(struct wr *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}

static inline bool wr_ok(const struct wr *w) { return w->err == 0; }

/* Reserves n bytes and returns a pointer to fill them later, or NULL on overflow. */
uint8_t *wr_reserve(struct wr *w, size_t n);
void wr_bytes(struct wr *w, const void *src, size_t n);
void wr_u8(struct wr *w, uint8_t v);
void wr_be16(struct wr *w, uint16_t v);
void wr_be32(struct wr *w, uint32_t v);
void wr_be64(struct wr *w, uint64_t v);

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * A packet buffer: storage [base, base+size), payload [base+off, base+off+len).
 * Headroom (off) lets outer headers be pushed in front without copying; tailroom
 * (size-off-len) takes the AEAD tag. Buffers live in pools allocated at start-up.
 */
struct buf {
	uint8_t *base;
	uint32_t size;
	uint32_t off;
	uint32_t len;
};

static inline uint8_t *buf_data(const struct buf *b) { return b->base + b->off; }
static inline uint32_t buf_headroom(const struct buf *b) { return b->off; }
static inline uint32_t buf_tailroom(const struct buf *b) { return b->size - b->off - b->len; }

/* Resets the payload to empty with the given headroom. */
static inline void buf_reset(struct buf *b, uint32_t headroom)
{
	b->off = headroom < b->size ? headroom : b->size;
	b->len = 0;
}

/* Prepends n bytes; returns the new start or NULL if the headroom is too small. */
static inline uint8_t *buf_push(struct buf *b, uint32_t n)
{
	if (n > b->off)
		return NULL;
	b->off -= n;
	b->len += n;
	return b->base + b->off;
}

/* Removes n bytes from the front; returns the new start or NULL if len < n. */
static inline uint8_t *buf_pull(struct buf *b, uint32_t n)
{
	if (n > b->len)
		return NULL;
	b->off += n;
	b->len -= n;
	return b->base + b->off;
}

/* Appends n bytes; returns a pointer to them or NULL if the tailroom is too small. */
static inline uint8_t *buf_put(struct buf *b, uint32_t n)
{
	if (n > buf_tailroom(b))
		return NULL;
	uint8_t *t = b->base + b->off + b->len;
	b->len += n;
	return t;
}

/* Removes n bytes from the end; false if len < n. */
static inline bool buf_trim(struct buf *b, uint32_t n)
{
	if (n > b->len)
		return false;
	b->len -= n;
	return true;
}

/* Lower-case hex of n bytes into out (2n+1 bytes incl. NUL). */
void hex_encode(char *out, const uint8_t *in, size_t n);
/* Parses exactly 2n hex digits; 0 or -EINVAL. */
int hex_decode(uint8_t *out, size_t n, const char *in) WUR;

#endif

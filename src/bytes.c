// SPDX-License-Identifier: GPL-3.0-or-later
/* bytes.c - bounds-checked reader/writer cursors. */
#include <errno.h>

#include "meshvpn/bytes.h"

const uint8_t *rd_bytes(struct rd *r, size_t n)
{
	if (r->err || n > r->len) {
		r->err = -EBADMSG;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	r->len -= n;
	return p;
}

uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 1);
	return p ? p[0] : 0;
}

uint16_t rd_be16(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 2);
	return p ? get_be16(p) : 0;
}

uint32_t rd_be32(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 4);
	return p ? get_be32(p) : 0;
}

uint64_t rd_be64(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 8);
	return p ? (uint64_t)get_be32(p) << 32 | get_be32(p + 4) : 0;
}

void rd_copy(struct rd *r, void *dst, size_t n)
{
	const uint8_t *p = rd_bytes(r, n);
	if (p)
		memcpy(dst, p, n);
	else if (n)
		memset(dst, 0, n);
}

struct rd rd_sub(struct rd *r, size_t n)
{
	struct rd s;
	const uint8_t *p = rd_bytes(r, n);
	rd_init(&s, p, p ? n : 0);
	if (!p)
		s.err = -EBADMSG;
	return s;
}

void rd_skip(struct rd *r, size_t n)
{
	(void)rd_bytes(r, n);
}

uint8_t *wr_reserve(struct wr *w, size_t n)
{
	if (w->err || n > w->cap - w->len) {
		w->err = -EMSGSIZE;
		return NULL;
	}
	uint8_t *p = w->p + w->len;
	w->len += n;
	return p;
}

void wr_bytes(struct wr *w, const void *src, size_t n)
{
	uint8_t *p = wr_reserve(w, n);
	if (p && n)
		memcpy(p, src, n);
}

void wr_u8(struct wr *w, uint8_t v)
{
	uint8_t *p = wr_reserve(w, 1);
	if (p)
		p[0] = v;
}

void wr_be16(struct wr *w, uint16_t v)
{
	uint8_t *p = wr_reserve(w, 2);
	if (p)
		put_be16(p, v);
}

void wr_be32(struct wr *w, uint32_t v)
{
	uint8_t *p = wr_reserve(w, 4);
	if (p)
		put_be32(p, v);
}

void wr_be64(struct wr *w, uint64_t v)
{
	uint8_t *p = wr_reserve(w, 8);
	if (p) {
		put_be32(p, (uint32_t)(v >> 32));
		put_be32(p + 4, (uint32_t)v);
	}
}

void hex_encode(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(uint8_t *out, size_t n, const char *in)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(in[2 * i]);
		if (hi < 0)
			return -EINVAL;
		int lo = hexval(in[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return in[2 * n] == '\0' ? 0 : -EINVAL;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* ippool.c - the hub's client address pool: one bit per address of an IPv4 subnet. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/bytes.h"
#include "meshvpn/ippool.h"

#include "config_int.h"

#define WORD_BITS 64

static uint32_t words_of(uint32_t size)
{
	return (size + WORD_BITS - 1) / WORD_BITS;
}

static void set_bit(struct ippool *p, uint32_t off)
{
	p->bits[off / WORD_BITS] |= (uint64_t)1 << (off % WORD_BITS);
}

static void clear_bit(struct ippool *p, uint32_t off)
{
	p->bits[off / WORD_BITS] &= ~((uint64_t)1 << (off % WORD_BITS));
}

static bool test_bit(const struct ippool *p, uint32_t off)
{
	return (p->bits[off / WORD_BITS] >> (off % WORD_BITS)) & 1;
}

/* The offset of ip in the subnet, or -ERANGE when it lies outside (or the pool is empty). */
static int64_t offset_of(const struct ippool *p, const uint8_t ip[static 4])
{
	uint32_t a = get_be32(ip);

	if (!p->bits || a - p->net >= p->size)
		return -ERANGE;
	return a - p->net;
}

static bool reserved_off(const struct ippool *p, uint32_t off)
{
	return off == 0 || off == p->size - 1 || off == p->hub;
}

int ippool_init(struct ippool *p, const char *cidr, const uint8_t *hub_ip, struct config_error *why)
{
	char b[CONFIG_SHOW_LEN];
	uint8_t ip[4], prefix;
	uint32_t a, mask, n;

	memset(p, 0, sizeof(*p));
	p->hub = UINT32_MAX;
	if (!strchr(cidr, '/') || config_parse_ip(cidr, ip, &prefix, NULL) < 0)
		return config_fail(why, -EINVAL,
				   "invalid subnet '%s' (expected an IPv4 network a.b.c.d/len)",
				   config_show(b, cidr));
	if (prefix < IPPOOL_MIN_PREFIX)
		return config_fail(why, -EINVAL,
				   "subnet '%s' is too large (at most /%d, i.e. %u addresses; "
				   "larger subnets are not supported)",
				   config_show(b, cidr), IPPOOL_MIN_PREFIX,
				   1u << (32 - IPPOOL_MIN_PREFIX));
	if (prefix > IPPOOL_MAX_PREFIX)
		return config_fail(why, -EINVAL,
				   "subnet '%s' is too small (at least /%d: a /31 or /32 has no "
				   "address for a client)",
				   config_show(b, cidr), IPPOOL_MAX_PREFIX);
	a = get_be32(ip);
	mask = ~(uint32_t)0 << (32 - prefix);
	if (a & ~mask) {
		uint8_t netip[4];
		char s[IPPOOL_STRLEN];

		put_be32(netip, a & mask);
		inet_ntop(AF_INET, netip, s, sizeof(s));
		return config_fail(why, -EINVAL,
				   "subnet '%s' has host bits set (the network is %s/%u)",
				   config_show(b, cidr), s, prefix);
	}
	n = words_of(1u << (32 - prefix));
	p->bits = calloc(n, sizeof(*p->bits));
	if (!p->bits)
		return config_fail(why, -ENOMEM, "out of memory");
	p->net = a;
	p->prefix = prefix;
	p->size = 1u << (32 - prefix);
	/* the bits past the end of the subnet (/27 and smaller) count as taken */
	for (uint32_t off = p->size; off < n * WORD_BITS; off++)
		set_bit(p, off);
	set_bit(p, 0);
	set_bit(p, p->size - 1);
	if (hub_ip) {
		int64_t off = offset_of(p, hub_ip);

		if (off >= 0) {
			p->hub = (uint32_t)off;
			set_bit(p, p->hub);
		}
	}
	return 0;
}

void ippool_free(struct ippool *p)
{
	free(p->bits);
	memset(p, 0, sizeof(*p));
	p->hub = UINT32_MAX;
}

int ippool_alloc(struct ippool *p, uint8_t ip[static 4])
{
	uint32_t n = words_of(p->size);

	for (uint32_t w = p->hint; w < n; w++) {
		uint32_t off;

		if (p->bits[w] == ~(uint64_t)0)
			continue;
		off = w * WORD_BITS + (uint32_t)__builtin_ctzll(~p->bits[w]);
		set_bit(p, off);
		p->hint = w;
		p->used++;
		put_be32(ip, p->net + off);
		return 0;
	}
	p->hint = n;
	return -ENOSPC;
}

int ippool_mark(struct ippool *p, const uint8_t ip[static 4])
{
	int64_t off = offset_of(p, ip);

	if (off < 0)
		return -ERANGE;
	if (reserved_off(p, (uint32_t)off))
		return -EADDRNOTAVAIL;
	if (test_bit(p, (uint32_t)off))
		return -EEXIST;
	set_bit(p, (uint32_t)off);
	p->used++;
	return 0;
}

int ippool_release(struct ippool *p, const uint8_t ip[static 4])
{
	int64_t off = offset_of(p, ip);

	if (off < 0)
		return -ERANGE;
	if (reserved_off(p, (uint32_t)off))
		return -EADDRNOTAVAIL;
	if (!test_bit(p, (uint32_t)off))
		return -ENOENT;
	clear_bit(p, (uint32_t)off);
	p->used--;
	/* freed addresses are handed out again first (lowest free address) */
	if ((uint32_t)off / WORD_BITS < p->hint)
		p->hint = (uint32_t)off / WORD_BITS;
	return 0;
}

bool ippool_contains(const struct ippool *p, const uint8_t ip[static 4])
{
	return offset_of(p, ip) >= 0;
}

bool ippool_in_use(const struct ippool *p, const uint8_t ip[static 4])
{
	int64_t off = offset_of(p, ip);

	return off >= 0 && !reserved_off(p, (uint32_t)off) && test_bit(p, (uint32_t)off);
}

bool ippool_reserved(const struct ippool *p, const uint8_t ip[static 4])
{
	int64_t off = offset_of(p, ip);

	return off >= 0 && reserved_off(p, (uint32_t)off);
}

uint32_t ippool_capacity(const struct ippool *p)
{
	if (!p->bits)
		return 0;
	return p->size - 2 - (p->hub != UINT32_MAX);
}

const char *ippool_format(const struct ippool *p, char buf[static IPPOOL_STRLEN])
{
	uint8_t ip[4];
	char s[16];

	put_be32(ip, p->net);
	inet_ntop(AF_INET, ip, s, sizeof(s));
	snprintf(buf, IPPOOL_STRLEN, "%s/%u", s, p->prefix);
	return buf;
}

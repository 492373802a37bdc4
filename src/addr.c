// SPDX-License-Identifier: GPL-3.0-or-later
/* addr.c - socket and virtual address parsing, normalisation, comparison and formatting. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/addr.h"
#include "meshvpn/bytes.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void addr_set_v4(struct addr *a, const uint8_t ip4[4], uint16_t port)
{
	memcpy(a->ip, v4mapped_prefix, 12);
	memcpy(a->ip + 12, ip4, 4);
	a->port = port;
	a->scope = 0;
}

void addr_set_v6(struct addr *a, const uint8_t ip6[16], uint16_t port)
{
	memcpy(a->ip, ip6, 16);
	a->port = port;
	a->scope = 0;
}

int addr_from_sockaddr(struct addr *a, const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		addr_set_v4(a, (const uint8_t *)&s4->sin_addr, ntohs(s4->sin_port));
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		addr_set_v6(a, s6->sin6_addr.s6_addr, ntohs(s6->sin6_port));
		if (!addr_is_v4(a))
			a->scope = s6->sin6_scope_id;
		return 0;
	}
	return -EAFNOSUPPORT;
}

socklen_t addr_to_sockaddr(const struct addr *a, struct sockaddr_storage *ss, int family)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		if (!addr_is_v4(a))
			return 0;
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		memcpy(&s4->sin_addr, a->ip + 12, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(a->port);
	memcpy(&s6->sin6_addr, a->ip, 16);
	s6->sin6_scope_id = a->scope;
	return sizeof(*s6);
}

bool addr_is_v4(const struct addr *a)
{
	return memcmp(a->ip, v4mapped_prefix, 12) == 0;
}

bool addr_is_unspecified(const struct addr *a)
{
	static const uint8_t zero[16];
	return memcmp(a->ip, zero, 16) == 0 ||
	       (addr_is_v4(a) && memcmp(a->ip + 12, zero, 4) == 0);
}

bool addr_equal(const struct addr *a, const struct addr *b)
{
	return a->port == b->port && a->scope == b->scope && memcmp(a->ip, b->ip, 16) == 0;
}

int addr_cmp(const struct addr *a, const struct addr *b)
{
	int c = memcmp(a->ip, b->ip, 16);
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->scope != b->scope)
		return a->scope < b->scope ? -1 : 1;
	return 0;
}

uint32_t addr_hash(const struct addr *a)
{
	static uint8_t key[crypto_shorthash_KEYBYTES];
	static bool keyed;
	uint8_t in[22], out[crypto_shorthash_BYTES];

	if (!keyed) {
		randombytes_buf(key, sizeof(key));
		keyed = true;
	}
	memcpy(in, a->ip, 16);
	put_be16(in + 16, a->port);
	put_be32(in + 18, a->scope);
	crypto_shorthash(out, in, sizeof(in), key);
	return get_be32(out);
}

static void format_ip(const struct addr *a, char *buf, size_t len)
{
	if (addr_is_v4(a)) {
		inet_ntop(AF_INET, a->ip + 12, buf, (socklen_t)len);
		return;
	}
	inet_ntop(AF_INET6, a->ip, buf, (socklen_t)len);
	if (a->scope) {
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, "%%%u", a->scope);
	}
}

const char *addr_format_ip(const struct addr *a, char buf[ADDR_STRLEN])
{
	format_ip(a, buf, ADDR_STRLEN);
	return buf;
}

const char *addr_format(const struct addr *a, char buf[ADDR_STRLEN])
{
	char ip[INET6_ADDRSTRLEN + 12];
	format_ip(a, ip, sizeof(ip));
	if (addr_is_v4(a))
		snprintf(buf, ADDR_STRLEN, "%s:%u", ip, a->port);
	else
		snprintf(buf, ADDR_STRLEN, "[%s]:%u", ip, a->port);
	return buf;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	if (!*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int addr_split_host_port(const char *s, uint16_t default_port, char *host, size_t hostlen,
			 uint16_t *port)
{
	const char *h = s, *p = NULL;
	size_t hl;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(close - h);
		if (close[1] == ':')
			p = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
	} else {
		const char *c = strchr(s, ':');
		if (c && strchr(c + 1, ':')) {
			/* two or more colons and no brackets: a bare IPv6 address */
			hl = strlen(s);
		} else if (c) {
			hl = (size_t)(c - s);
			p = c + 1;
		} else {
			hl = strlen(s);
		}
	}
	if (hl + 1 > hostlen)
		return -ENAMETOOLONG;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!p) {
		*port = default_port;
		return 0;
	}
	return parse_port(p, port);
}

static int parse_ip(const char *host, uint16_t port, struct addr *out)
{
	uint8_t buf[16];
	char tmp[ADDR_STRLEN];

	if (!*host || strcmp(host, "*") == 0) {
		memset(out, 0, sizeof(*out));
		out->port = port;
		return 0;
	}
	if (inet_pton(AF_INET, host, buf) == 1) {
		addr_set_v4(out, buf, port);
		return 0;
	}
	/* optional %scope for link-local IPv6 */
	const char *pct = strchr(host, '%');
	size_t n = pct ? (size_t)(pct - host) : strlen(host);
	if (n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, host, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, buf) != 1)
		return -EINVAL;
	addr_set_v6(out, buf, port);
	if (pct) {
		unsigned idx = if_nametoindex(pct + 1);
		if (!idx) {
			char *end;
			unsigned long v = strtoul(pct + 1, &end, 10);
			if (*end || !pct[1])
				return -EINVAL;
			idx = (unsigned)v;
		}
		out->scope = idx;
	}
	return 0;
}

int addr_parse(const char *s, uint16_t default_port, struct addr *out)
{
	char host[ADDR_STRLEN];
	uint16_t port;
	size_t i;

	for (i = 0; s[i] && isdigit((unsigned char)s[i]); i++)
		;
	if (i > 0 && s[i] == '\0') {
		/* a bare port */
		if (parse_port(s, &port) < 0)
			return -EINVAL;
		memset(out, 0, sizeof(*out));
		out->port = port;
		return 0;
	}
	if (!*s || addr_split_host_port(s, default_port, host, sizeof(host), &port) < 0)
		return -EINVAL;
	return parse_ip(host, port, out);
}

int addr_resolve(const char *s, uint16_t default_port, struct addr *out, int max)
{
	char host[256];
	uint16_t port;
	struct addrinfo hints, *res = NULL;
	int n = 0, r;

	if (max < 1)
		return -EINVAL;
	r = addr_split_host_port(s, default_port, host, sizeof(host), &port);
	if (r < 0)
		return r;
	if (!*host)
		return -EINVAL;
	if (parse_ip(host, port, &out[0]) == 0)
		return 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	r = getaddrinfo(host, NULL, &hints, &res);
	if (r != 0)
		return r == EAI_NONAME || r == EAI_NODATA ? -ENOENT
		       : r == EAI_SYSTEM		   ? -errno
							   : -EAGAIN;
	/* IPv4 first, then IPv6, as VpnCloud prefers IPv4. */
	for (int pass = 0; pass < 2; pass++) {
		for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
			struct addr a;
			if ((pass == 0) != (ai->ai_family == AF_INET))
				continue;
			if (addr_from_sockaddr(&a, ai->ai_addr, ai->ai_addrlen) < 0)
				continue;
			a.port = port;
			bool dup = false;
			for (int k = 0; k < n; k++)
				dup |= addr_equal(&out[k], &a);
			if (!dup)
				out[n++] = a;
		}
	}
	freeaddrinfo(res);
	return n > 0 ? n : -ENOENT;
}

void addr_to_wire18(const struct addr *a, uint8_t out[ADDR_WIRE_LEN])
{
	memcpy(out, a->ip, 16);
	put_be16(out + 16, a->port);
}

void addr_from_wire18(struct addr *a, const uint8_t in[ADDR_WIRE_LEN])
{
	addr_set_v6(a, in, get_be16(in + 16));
}

void addr_from_wire6(struct addr *a, const uint8_t in[6])
{
	addr_set_v4(a, in, get_be16(in + 4));
}

bool addr_to_wire6(const struct addr *a, uint8_t out[6])
{
	if (!addr_is_v4(a))
		return false;
	memcpy(out, a->ip + 12, 4);
	put_be16(out + 4, a->port);
	return true;
}

/* ---- virtual addresses ---- */

bool vaddr_equal(const struct vaddr *a, const struct vaddr *b)
{
	return a->len == b->len && a->len <= VADDR_MAX && memcmp(a->b, b->b, a->len) == 0;
}

static void format_mac(const uint8_t *m, char *buf, size_t n)
{
	snprintf(buf, n, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

const char *vaddr_format(const struct vaddr *a, char buf[VADDR_STRLEN])
{
	switch (a->len) {
	case 4:
		snprintf(buf, VADDR_STRLEN, "%u.%u.%u.%u", a->b[0], a->b[1], a->b[2], a->b[3]);
		break;
	case 6:
		format_mac(a->b, buf, VADDR_STRLEN);
		break;
	case 8: {
		int n = snprintf(buf, VADDR_STRLEN, "vlan%u/", get_be16(a->b));
		format_mac(a->b + 2, buf + n, VADDR_STRLEN - (size_t)n);
		break;
	}
	case 16: {
		size_t off = 0;
		for (int i = 0; i < 8; i++)
			off += (size_t)snprintf(buf + off, VADDR_STRLEN - off, "%s%04x", i ? ":" : "",
						get_be16(a->b + 2 * i));
		break;
	}
	default: {
		/* unknown length: hex */
		size_t n = MIN((size_t)a->len, (size_t)VADDR_MAX);
		hex_encode(buf, a->b, n);
		break;
	}
	}
	return buf;
}

static int parse_mac(const char *s, uint8_t out[6])
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return -EINVAL;
		char pair[3] = {s[0], s[1], 0};
		out[i] = (uint8_t)strtoul(pair, NULL, 16);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

int vaddr_parse(const char *s, struct vaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->b) == 1) {
		out->len = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->b) == 1) {
		out->len = 16;
		return 0;
	}
	if (strlen(s) == 17 && parse_mac(s, out->b) == 0) {
		out->len = 6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

int range_parse(const char *s, struct range *out)
{
	char tmp[VADDR_STRLEN];
	const char *slash = strrchr(s, '/');
	char *end;

	if (!slash || (size_t)(slash - s) >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, (size_t)(slash - s));
	tmp[slash - s] = '\0';
	if (vaddr_parse(tmp, &out->base) < 0)
		return -EINVAL;
	if (!isdigit((unsigned char)slash[1]))
		return -EINVAL;
	errno = 0;
	unsigned long p = strtoul(slash + 1, &end, 10);
	if (errno || *end || p > 8u * out->base.len)
		return -EINVAL;
	out->prefix = (uint8_t)p;
	return 0;
}

const char *range_format(const struct range *r, char buf[VADDR_STRLEN + 4])
{
	char a[VADDR_STRLEN];
	snprintf(buf, VADDR_STRLEN + 4, "%s/%u", vaddr_format(&r->base, a), r->prefix);
	return buf;
}

bool range_match(const struct range *r, const struct vaddr *a)
{
	if (a->len != r->base.len || a->len > VADDR_MAX || r->prefix > 8u * a->len)
		return false;
	unsigned full = r->prefix / 8, rest = r->prefix % 8;
	if (memcmp(a->b, r->base.b, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((a->b[full] ^ r->base.b[full]) & mask)
			return false;
	}
	return true;
}

bool range_equal(const struct range *a, const struct range *b)
{
	return a->prefix == b->prefix && vaddr_equal(&a->base, &b->base);
}

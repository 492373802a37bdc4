// SPDX-License-Identifier: GPL-3.0-or-later
/* acl.c - ACL entry parsing and formatting, merged interval lists, allow/block checks. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/acl.h"

/* The IPv4-mapped block ::ffff:0:0/96: hi == 0 and lo in [MAPPED_LO, MAPPED_HI]. */
#define MAPPED_LO   0x0000ffff00000000ull
#define MAPPED_HI   0x0000ffffffffffffull
#define IP_TEXT_MAX 64 /* one address of an entry, longer is never valid */

struct acl_interval {
	struct acl_ip lo, hi; /* inclusive */
};

/* ---- 128-bit helpers ---- */

static int ip_cmp(struct acl_ip a, struct acl_ip b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

static struct acl_ip ip_inc(struct acl_ip a)
{
	a.lo++;
	if (a.lo == 0)
		a.hi++;
	return a;
}

static struct acl_ip ip_dec(struct acl_ip a)
{
	if (a.lo == 0)
		a.hi--;
	a.lo--;
	return a;
}

static bool ip_is_max(struct acl_ip a)
{
	return a.hi == UINT64_MAX && a.lo == UINT64_MAX;
}

static bool ip_is_mapped(struct acl_ip a)
{
	return a.hi == 0 && a.lo >= MAPPED_LO && a.lo <= MAPPED_HI;
}

/* Host-bit mask of a prefix over the 128 bits: the bits after the first plen. */
static struct acl_ip host_mask(unsigned plen)
{
	struct acl_ip m;
	m.hi = plen >= 64 ? 0 : plen == 0 ? UINT64_MAX : UINT64_MAX >> plen;
	m.lo = plen >= 128 ? 0 : plen <= 64 ? UINT64_MAX : UINT64_MAX >> (plen - 64);
	return m;
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static struct acl_ip ip_from_v4(const uint8_t b[4])
{
	return (struct acl_ip){0, MAPPED_LO | (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 |
				      (uint64_t)b[2] << 8 | b[3]};
}

static struct acl_ip ip_from_bytes(const uint8_t b[16])
{
	return (struct acl_ip){load_be64(b), load_be64(b + 8)};
}

static void ip_to_bytes(struct acl_ip a, uint8_t b[16])
{
	store_be64(b, a.hi);
	store_be64(b + 8, a.lo);
}

static void ip_format(struct acl_ip a, uint8_t family, char *buf, size_t len)
{
	uint8_t b[16];
	ip_to_bytes(a, b);
	if (family == 4)
		snprintf(buf, len, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
	else if (!inet_ntop(AF_INET6, b, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* ---- parsing ---- */

PRINTF(3, 4) static int fail(struct acl_error *why, const char *entry, const char *fmt, ...)
{
	size_t off = 0;
	va_list ap;

	if (!why)
		return -EINVAL;
	/* entries are at most ACL_ENTRY_MAX long, so the detail always has room */
	if (entry)
		off = (size_t)snprintf(why->msg, sizeof(why->msg), "%.*s: ", ACL_ENTRY_MAX, entry);
	va_start(ap, fmt);
	vsnprintf(why->msg + off, sizeof(why->msg) - off, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Copies s[0..n) without surrounding white space into buf (of IP_TEXT_MAX or more). */
static void trim_copy(const char *s, size_t n, char *buf)
{
	while (n && is_space(*s))
		s++, n--;
	while (n && is_space(s[n - 1]))
		n--;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/* Strict dotted quad: four decimal octets 0-255, no leading zeros, nothing else. */
static bool parse_v4(const char *s, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;
		while (*s >= '0' && *s <= '9') {
			if (digits && v == 0)
				return false; /* leading zero */
			v = v * 10 + (unsigned)(*s++ - '0');
			if (++digits > 3 || v > 255)
				return false;
		}
		if (!digits)
			return false;
		out[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

/*
 * Parses one address of an entry (part), in the normalised space, and tells its family
 * (IPv6 text inside ::ffff:0:0/96 is IPv4). Errors name the part when it is not the whole
 * entry.
 */
static int parse_addr(const char *entry, const char *part, struct acl_ip *out, uint8_t *family,
		      struct acl_error *why)
{
	bool whole = strcmp(entry, part) == 0;
	const char *what;
	uint8_t b[16];

	if (part[0] == '[')
		return fail(why, entry, "brackets are not allowed (write the bare address)");
	if (strchr(part, ':')) {
		const char *colon = strrchr(part, ':');
		char v4[IP_TEXT_MAX];
		size_t n = (size_t)(colon - part);

		if (strchr(part, '%'))
			return fail(why, entry, "scope ids are not allowed");
		/* "10.0.0.1:80": an IPv4 address and a port, not a bad IPv6 address */
		if (n < sizeof(v4)) {
			memcpy(v4, part, n);
			v4[n] = '\0';
			if (parse_v4(v4, b))
				return fail(why, entry, "ports are not allowed");
		}
		if (inet_pton(AF_INET6, part, b) != 1) {
			what = "IPv6 address";
			goto bad;
		}
		*out = ip_from_bytes(b);
		*family = ip_is_mapped(*out) ? 4 : 6;
		return 0;
	}
	if (part[0] && strspn(part, "0123456789.") == strlen(part)) {
		if (!parse_v4(part, b)) {
			what = "IPv4 address";
			goto bad;
		}
		*out = ip_from_v4(b);
		*family = 4;
		return 0;
	}
	what = "IP address";
bad:
	if (whole)
		return fail(why, entry, "not an %s", what);
	return fail(why, entry, "%s is not an %s", part, what);
}

static int parse_range(const char *entry, const char *dash, struct acl_entry *e,
		       struct acl_error *why)
{
	char a[IP_TEXT_MAX], b[IP_TEXT_MAX];
	size_t na = (size_t)(dash - entry), nb = strlen(dash + 1);
	uint8_t fa, fb;
	int r;

	if (strchr(dash + 1, '-'))
		return fail(why, entry, "a range has one '-'");
	if (strpbrk(entry, "*/"))
		return fail(why, entry, "a range takes two plain addresses (no '*' or '/')");
	if (na >= IP_TEXT_MAX || nb >= IP_TEXT_MAX)
		return fail(why, entry, "not an IP range");
	trim_copy(entry, na, a);
	trim_copy(dash + 1, nb, b);
	if (!a[0])
		return fail(why, entry, "missing range start");
	if (!b[0])
		return fail(why, entry, "missing range end");
	r = parse_addr(entry, a, &e->first, &fa, why);
	if (r == 0)
		r = parse_addr(entry, b, &e->last, &fb, why);
	if (r < 0)
		return r;
	if (fa != fb)
		return fail(why, entry, "range ends are different address families");
	if (ip_cmp(e->last, e->first) < 0)
		return fail(why, entry, "range end before start");
	e->kind = ACL_KIND_RANGE;
	e->family = fa;
	return 0;
}

static int parse_cidr(const char *entry, const char *slash, struct acl_entry *e,
		      struct acl_error *why)
{
	char a[IP_TEXT_MAX];
	size_t na = (size_t)(slash - entry);
	const char *p = slash + 1;
	unsigned plen = 0, digits = 0, max;
	uint8_t fam;
	int r;

	if (strchr(entry, '*'))
		return fail(why, entry, "a CIDR cannot contain '*'");
	if (na >= IP_TEXT_MAX)
		return fail(why, entry, "not a CIDR");
	memcpy(a, entry, na);
	a[na] = '\0';
	if (!a[0])
		return fail(why, entry, "missing address before '/'");
	r = parse_addr(entry, a, &e->first, &fam, why);
	if (r < 0)
		return r;
	if (!*p)
		return fail(why, entry, "missing prefix length");
	for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
		plen = plen * 10 + (unsigned)(*p - '0');
	if (*p || !digits)
		return fail(why, entry, "prefix length is not a number");
	/* "::ffff:10.0.0.0/104" is the IPv4 10.0.0.0/8 */
	bool v6text = strchr(a, ':') != NULL;
	max = fam == 4 && !v6text ? 32 : 128;
	if (plen > max)
		return fail(why, entry, "prefix length %u is out of range (0-%u)", plen, max);
	unsigned plen128 = max == 32 ? plen + 96 : plen;
	if (fam == 4 && plen128 < 96) {
		/* a mapped base with a prefix reaching outside ::ffff:0:0/96 */
		fam = 6;
	}
	struct acl_ip m = host_mask(plen128);
	if ((e->first.hi & m.hi) || (e->first.lo & m.lo)) {
		char base[INET6_ADDRSTRLEN];
		struct acl_ip net = {e->first.hi & ~m.hi, e->first.lo & ~m.lo};
		ip_format(net, fam, base, sizeof(base));
		return fail(why, entry, "host bits set (did you mean %s/%u?)", base,
			    fam == 4 ? plen128 - 96 : plen128);
	}
	e->last = (struct acl_ip){e->first.hi | m.hi, e->first.lo | m.lo};
	e->kind = ACL_KIND_CIDR;
	e->family = fam;
	e->prefix = (uint8_t)(fam == 4 ? plen128 - 96 : plen128);
	return 0;
}

static int parse_wildcard(const char *entry, struct acl_entry *e, struct acl_error *why)
{
	uint8_t b[4] = {0};
	const char *p = entry;
	int parts = 0, fixed = 0;

	if (strchr(entry, ':'))
		return fail(why, entry, "wildcards are IPv4 only (use a CIDR)");
	for (;;) {
		if (parts == 4)
			return fail(why, entry, "a wildcard has four parts (e.g. 10.1.*.*)");
		if (*p == '*') {
			p++;
		} else {
			if (fixed < parts)
				return fail(why, entry,
					    "'*' only in trailing parts (e.g. 10.1.*.*)");
			unsigned v = 0, digits = 0;
			for (; *p >= '0' && *p <= '9'; p++) {
				if ((digits && v == 0) || ++digits > 3)
					return fail(why, entry, "not an IPv4 wildcard");
				v = v * 10 + (unsigned)(*p - '0');
			}
			if (!digits || v > 255)
				return fail(why, entry, "not an IPv4 wildcard");
			b[fixed++] = (uint8_t)v;
		}
		parts++;
		if (*p == '\0')
			break;
		if (*p++ != '.')
			return fail(why, entry, "not an IPv4 wildcard");
	}
	if (parts != 4)
		return fail(why, entry, "a wildcard has four parts (e.g. 10.1.*.*)");
	unsigned plen = 96 + 8u * (unsigned)fixed;
	struct acl_ip m = host_mask(plen);
	e->first = ip_from_v4(b);
	e->last = (struct acl_ip){e->first.hi | m.hi, e->first.lo | m.lo};
	e->kind = ACL_KIND_WILDCARD;
	e->family = 4;
	e->prefix = (uint8_t)(8 * fixed);
	return 0;
}

int acl_entry_parse(const char *s, struct acl_entry *out, struct acl_error *why)
{
	char entry[ACL_ENTRY_MAX + 1];
	struct acl_entry e = {0};
	const char *p;
	size_t n = strnlen(s, ACL_ENTRY_MAX + 1);
	int r;

	memset(out, 0, sizeof(*out));
	if (n > ACL_ENTRY_MAX)
		return fail(why, NULL, "entry too long (at most %d characters)", ACL_ENTRY_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c >= 0x7f)
			return fail(why, NULL, "entry contains a control or non-ASCII character");
	}
	trim_copy(s, n, entry);
	if (!entry[0])
		return fail(why, NULL, "empty entry");

	if (strcmp(entry, "*") == 0) {
		e.kind = ACL_KIND_ANY;
		e.last = (struct acl_ip){UINT64_MAX, UINT64_MAX};
		r = 0;
	} else if ((p = strchr(entry, '-'))) {
		r = parse_range(entry, p, &e, why);
	} else if ((p = strchr(entry, '/'))) {
		r = parse_cidr(entry, p, &e, why);
	} else if (strchr(entry, '*')) {
		r = parse_wildcard(entry, &e, why);
	} else {
		r = parse_addr(entry, entry, &e.first, &e.family, why);
		e.last = e.first;
		e.kind = ACL_KIND_EXACT;
	}
	if (r == 0)
		*out = e;
	return r;
}

const char *acl_entry_format(const struct acl_entry *e, char buf[ACL_ENTRY_STRLEN])
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	switch (e->kind) {
	case ACL_KIND_ANY:
		snprintf(buf, ACL_ENTRY_STRLEN, "*");
		break;
	case ACL_KIND_EXACT:
		ip_format(e->first, e->family, buf, ACL_ENTRY_STRLEN);
		break;
	case ACL_KIND_CIDR:
		ip_format(e->first, e->family, a, sizeof(a));
		snprintf(buf, ACL_ENTRY_STRLEN, "%s/%u", a, e->prefix);
		break;
	case ACL_KIND_WILDCARD: {
		size_t off = 0;
		unsigned fixed = e->prefix / 8;
		for (unsigned i = 0; i < 4; i++) {
			unsigned octet = (unsigned)(e->first.lo >> (24 - 8 * i)) & 0xff;
			if (i < fixed)
				off += (size_t)snprintf(buf + off, ACL_ENTRY_STRLEN - off, "%s%u",
							i ? "." : "", octet);
			else
				off += (size_t)snprintf(buf + off, ACL_ENTRY_STRLEN - off, "%s*",
							i ? "." : "");
		}
		break;
	}
	case ACL_KIND_RANGE:
	default:
		ip_format(e->first, e->family, a, sizeof(a));
		ip_format(e->last, e->family, b, sizeof(b));
		snprintf(buf, ACL_ENTRY_STRLEN, "%s-%s", a, b);
		break;
	}
	return buf;
}

bool acl_entry_equal(const struct acl_entry *a, const struct acl_entry *b)
{
	return a->kind == b->kind && a->family == b->family && a->prefix == b->prefix &&
	       ip_cmp(a->first, b->first) == 0 && ip_cmp(a->last, b->last) == 0;
}

static bool entry_contains(const struct acl_entry *e, struct acl_ip x)
{
	if (ip_cmp(x, e->first) < 0 || ip_cmp(x, e->last) > 0)
		return false;
	return e->family != 6 || !ip_is_mapped(x);
}

bool acl_entry_contains(const struct acl_entry *e, const struct addr *a)
{
	return entry_contains(e, ip_from_bytes(a->ip));
}

/* ---- lists ---- */

void acl_list_init(struct acl_list *l)
{
	memset(l, 0, sizeof(*l));
}

void acl_list_free(struct acl_list *l)
{
	if (!l)
		return;
	free(l->entries);
	free(l->iv);
	acl_list_init(l);
}

static int iv_cmp(const void *pa, const void *pb)
{
	const struct acl_interval *a = pa, *b = pb;
	int c = ip_cmp(a->lo, b->lo);
	return c ? c : ip_cmp(a->hi, b->hi);
}

/*
 * The intervals an entry covers: one, or for an IPv6 entry reaching into the mapped block
 * the parts below and above it (none when it lay inside, which parsing prevents).
 */
static size_t entry_intervals(const struct acl_entry *e, struct acl_interval out[2])
{
	const struct acl_ip mlo = {0, MAPPED_LO}, mhi = {0, MAPPED_HI};
	size_t n = 0;

	if (e->family != 6 || ip_cmp(e->last, mlo) < 0 || ip_cmp(e->first, mhi) > 0) {
		out[0] = (struct acl_interval){e->first, e->last};
		return 1;
	}
	if (ip_cmp(e->first, mlo) < 0)
		out[n++] = (struct acl_interval){e->first, ip_dec(mlo)};
	if (ip_cmp(e->last, mhi) > 0)
		out[n++] = (struct acl_interval){ip_inc(mhi), e->last};
	return n;
}

/* Sorted, merged intervals of entries[0..n) into a new array (*out, *n_out). */
static int build_intervals(const struct acl_entry *entries, size_t n, struct acl_interval **out,
			   size_t *n_out)
{
	struct acl_interval *iv = NULL;
	size_t k = 0, m = 0;

	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return 0;
	iv = calloc(n, 2 * sizeof(*iv));
	if (!iv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		k += entry_intervals(&entries[i], iv + k);
	qsort(iv, k, sizeof(*iv), iv_cmp);
	for (size_t i = 0; i < k; i++) {
		/* overlapping or adjacent (next starts right after the last end) merge */
		if (m > 0 &&
		    (ip_is_max(iv[m - 1].hi) || ip_cmp(iv[i].lo, ip_inc(iv[m - 1].hi)) <= 0)) {
			if (ip_cmp(iv[i].hi, iv[m - 1].hi) > 0)
				iv[m - 1].hi = iv[i].hi;
			continue;
		}
		iv[m++] = iv[i];
	}
	*out = iv;
	*n_out = m;
	return 0;
}

/* Builds a list from parsed entries (copied) into *l, replacing it on success. */
static int list_set(struct acl_list *l, const struct acl_entry *entries, size_t n)
{
	struct acl_entry *copy = NULL;
	struct acl_interval *iv = NULL;
	size_t n_iv;
	int r;

	if (n > 0) {
		copy = calloc(n, sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, entries, n * sizeof(*copy));
	}
	r = build_intervals(copy, n, &iv, &n_iv);
	if (r < 0) {
		free(copy);
		return r;
	}
	acl_list_free(l);
	l->entries = copy;
	l->n_entries = n;
	l->iv = iv;
	l->n_iv = n_iv;
	return 0;
}

static int too_many(struct acl_error *why)
{
	if (why)
		snprintf(why->msg, sizeof(why->msg), "too many entries (at most %d)", ACL_LIST_MAX);
	return -E2BIG;
}

static int no_memory(struct acl_error *why)
{
	if (why)
		snprintf(why->msg, sizeof(why->msg), "out of memory");
	return -ENOMEM;
}

int acl_list_add(struct acl_list *l, const char *s, struct acl_error *why)
{
	struct acl_entry *all;
	int r;

	if (l->n_entries >= ACL_LIST_MAX)
		return too_many(why);
	all = calloc(l->n_entries + 1, sizeof(*all));
	if (!all)
		return no_memory(why);
	if (l->n_entries)
		memcpy(all, l->entries, l->n_entries * sizeof(*all));
	r = acl_entry_parse(s, &all[l->n_entries], why);
	if (r == 0) {
		r = list_set(l, all, l->n_entries + 1);
		if (r < 0)
			no_memory(why);
	}
	free(all);
	return r;
}

int acl_list_parse(struct acl_list *l, const char *const *items, size_t n, struct acl_error *why)
{
	struct acl_entry *all = NULL;
	int r;

	if (n > ACL_LIST_MAX)
		return too_many(why);
	if (n > 0) {
		all = calloc(n, sizeof(*all));
		if (!all)
			return no_memory(why);
	}
	for (size_t i = 0; i < n; i++) {
		r = acl_entry_parse(items[i], &all[i], why);
		if (r < 0)
			goto out;
	}
	r = list_set(l, all, n);
	if (r < 0)
		no_memory(why);
out:
	free(all);
	return r;
}

int acl_list_copy(struct acl_list *dst, const struct acl_list *src)
{
	acl_list_init(dst);
	return list_set(dst, src->entries, src->n_entries);
}

size_t acl_list_format(const struct acl_list *l, char *buf, size_t len)
{
	char one[ACL_ENTRY_STRLEN];
	size_t need = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < l->n_entries; i++) {
		const char *sep = i ? ", " : "";
		int w = snprintf(len > need ? buf + need : NULL, len > need ? len - need : 0,
				 "%s%s", sep, acl_entry_format(&l->entries[i], one));
		need += (size_t)w;
	}
	return need;
}

/* Binary search: the last interval starting at or before x, then its end. */
static bool list_contains(const struct acl_list *l, struct acl_ip x)
{
	size_t lo = 0, hi = l->n_iv;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ip_cmp(l->iv[mid].lo, x) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && ip_cmp(x, l->iv[lo - 1].hi) <= 0;
}

bool acl_list_contains(const struct acl_list *l, const struct addr *a)
{
	return list_contains(l, ip_from_bytes(a->ip));
}

bool acl_list_contains_ip(const struct acl_list *l, const uint8_t *ip, unsigned len)
{
	if (len == 4)
		return list_contains(l, ip_from_v4(ip));
	if (len == 16)
		return list_contains(l, ip_from_bytes(ip));
	return false;
}

/* ---- policy ---- */

void acl_policy_init(struct acl_policy *p)
{
	acl_list_init(&p->allow);
	acl_list_init(&p->block);
}

void acl_policy_free(struct acl_policy *p)
{
	if (!p)
		return;
	acl_list_free(&p->allow);
	acl_list_free(&p->block);
}

static enum acl_verdict verdict(bool blocked, bool allow_empty, bool allowed)
{
	if (blocked)
		return ACL_BLOCKED;
	if (!allow_empty && !allowed)
		return ACL_NOT_ALLOWED;
	return ACL_ALLOWED;
}

enum acl_verdict acl_check(const struct acl_policy *p, const struct addr *a)
{
	struct acl_ip x = ip_from_bytes(a->ip);
	bool blocked = list_contains(&p->block, x);
	return verdict(blocked, acl_list_empty(&p->allow), !blocked && list_contains(&p->allow, x));
}

enum acl_verdict acl_check_ip(const struct acl_policy *p, const uint8_t *ip, unsigned len)
{
	bool blocked = acl_list_contains_ip(&p->block, ip, len);
	return verdict(blocked, acl_list_empty(&p->allow),
		       !blocked && acl_list_contains_ip(&p->allow, ip, len));
}

const char *acl_verdict_name(enum acl_verdict v)
{
	switch (v) {
	case ACL_ALLOWED:
		return "allowed";
	case ACL_BLOCKED:
		return "blocked";
	case ACL_NOT_ALLOWED:
		return "not-allowed";
	}
	return "?";
}

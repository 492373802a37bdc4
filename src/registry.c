// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * registry.c - the hub's client registry: value checks, the two sorted indexes (id, public
 * key), create/update/enable/disable/remove/rotate-key, RFC 3339 times and client bundles.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/registry.h"

#include "config_int.h"
#include "registry_int.h"

/* ---- value checks ---- */

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

/* 1-max of [A-Za-z0-9._-], the first a letter or digit (not an option, not "." or ".."). */
static bool name_valid(const char *s, size_t max)
{
	size_t i;

	if (!isalnum((unsigned char)s[0]))
		return false;
	for (i = 0; s[i]; i++)
		if (i >= max || !name_char(s[i]))
			return false;
	return true;
}

bool registry_id_valid(const char *id)
{
	return name_valid(id, REGISTRY_ID_MAX);
}

int registry_check_id(const char *id, struct config_error *why)
{
	char b[CONFIG_SHOW_LEN];

	if (registry_id_valid(id))
		return 0;
	return config_fail(why, -EINVAL,
			   "invalid id '%s' (1-%d characters of A-Z a-z 0-9 . _ -, the first a "
			   "letter or digit)",
			   config_show(b, id), REGISTRY_ID_MAX);
}

/* Valid UTF-8 without control characters (C0, DEL, C1), surrogates or overlong forms. */
static bool utf8_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t c, min;
		int n;

		if (*p < 0x80) {
			c = *p;
			n = 0;
			min = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			c = *p & 0x1f;
			n = 1;
			min = 0x80;
		} else if ((*p & 0xf0) == 0xe0) {
			c = *p & 0x0f;
			n = 2;
			min = 0x800;
		} else if ((*p & 0xf8) == 0xf0) {
			c = *p & 0x07;
			n = 3;
			min = 0x10000;
		} else {
			return false;
		}
		p++;
		/* a NUL terminator is not a continuation byte: no read past the end */
		for (int i = 0; i < n; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			c = c << 6 | (*p & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
			return false;
	}
	return true;
}

int registry_check_description(const char *s, struct config_error *why)
{
	size_t len = strlen(s);

	if (len > REGISTRY_DESC_MAX)
		return config_fail(why, -EINVAL, "too long (%zu bytes, at most %d)", len,
				   REGISTRY_DESC_MAX);
	if (!utf8_text(s))
		return config_fail(why, -EINVAL,
				   "not valid UTF-8 text (control characters are not allowed)");
	return 0;
}

static int check_acl(const struct registry *reg, const char *s, struct config_error *why)
{
	char b[CONFIG_SHOW_LEN];
	struct config_error inner = {{0}};
	size_t len = strlen(s);

	if (len == 0)
		return config_fail(why, -EINVAL, "empty entry");
	if (len > REGISTRY_ACL_ENTRY_MAX)
		return config_fail(why, -EINVAL, "entry '%s' is too long (at most %d bytes)",
				   config_show(b, s), REGISTRY_ACL_ENTRY_MAX);
	for (size_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return config_fail(why, -EINVAL,
					   "invalid entry '%s' (printable ASCII, no spaces)",
					   config_show(b, s));
	if (reg->acl_check && reg->acl_check(s, &inner) < 0) {
		return config_fail(why, -EINVAL, "invalid entry '%s': %s", config_show(b, s),
				   inner.msg[0] ? inner.msg : "rejected");
	}
	return 0;
}

int registry_check_list(const struct registry *reg, const struct registry_strlist *l,
			enum registry_list_kind kind, size_t *bad, struct config_error *why)
{
	char b[CONFIG_SHOW_LEN];

	*bad = l->n;
	if (l->n > REGISTRY_LIST_MAX)
		return config_fail(why, -EINVAL, "too many entries (%zu, at most %d)", l->n,
				   REGISTRY_LIST_MAX);
	for (size_t i = 0; i < l->n; i++) {
		const char *s = l->v[i];

		*bad = i;
		if (kind == REGISTRY_LIST_ACL) {
			int r = check_acl(reg, s, why);
			if (r < 0)
				return r;
			continue;
		}
		if (!name_valid(s, REGISTRY_TAG_MAX))
			return config_fail(
			    why, -EINVAL,
			    "invalid tag '%s' (1-%d characters of A-Z a-z 0-9 . _ -, "
			    "the first a letter or digit)",
			    config_show(b, s), REGISTRY_TAG_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(l->v[j], s) == 0)
				return config_fail(why, -EINVAL, "tag '%s' is listed twice",
						   config_show(b, s));
	}
	*bad = l->n;
	return 0;
}

int registry_check_key(const uint8_t pub[static KEYS_PUB_LEN], struct config_error *why)
{
	/* a key that is no Ed25519 point (or of small order) can never sign a handshake */
	if (sodium_init() < 0 || !crypto_core_ed25519_is_valid_point(pub))
		return config_fail(why, -EINVAL, "not a valid Ed25519 public key");
	return 0;
}

int registry_check_rate(uint64_t rate, uint64_t burst, struct config_error *why)
{
	if (rate == 0)
		return config_fail(why, -EINVAL, "rate must be at least 1 (bytes per second)");
	if (burst == 0)
		return config_fail(why, -EINVAL, "burst must be at least 1 (bytes)");
	return 0;
}

/* ---- RFC 3339 times ---- */

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int y, int m)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* n decimal digits at s into *v; false if any is missing (stops at the NUL). */
static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

int registry_time_parse(const char *s, time_t *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	char buf[REGISTRY_TIME_LEN];
	struct tm tm = {0};
	const char *p;
	time_t t;

	/* each test reads only up to the first character that failed, never past the NUL */
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
			return -EINVAL;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h > 23 || mi > 59 ||
	    sec > 60 || oh > 23 || om > 59)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec; /* a leap second (60) becomes the next minute's 00 */
	t = timegm(&tm) - sign * (oh * 3600 + om * 60);
	/* the offset may move it out of the years the file can show */
	if (registry_time_format(t, buf) < 0)
		return -EINVAL;
	*out = t;
	return 0;
}

int registry_time_format(time_t t, char buf[static REGISTRY_TIME_LEN])
{
	struct tm tm;

	buf[0] = '\0';
	if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return -ERANGE;
	/* the remainders only tell the compiler the widths: the values are in range */
	snprintf(buf, REGISTRY_TIME_LEN, "%04u-%02u-%02uT%02u:%02u:%02uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000, (unsigned)(tm.tm_mon + 1) % 100,
		 (unsigned)tm.tm_mday % 100, (unsigned)tm.tm_hour % 100, (unsigned)tm.tm_min % 100,
		 (unsigned)tm.tm_sec % 100);
	return 0;
}

bool registry_expired(const struct registry_entry *e, time_t now)
{
	return (e->flags & REGISTRY_HAS_EXPIRES) && now >= e->expires;
}

/* ---- entries ---- */

int registry_strlist_push(struct registry_strlist *l, const char *s)
{
	char **v, *c;

	if (l->n >= REGISTRY_LIST_MAX)
		return -E2BIG;
	v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	c = strdup(s);
	if (!c)
		return -ENOMEM;
	l->v[l->n++] = c;
	return 0;
}

void registry_strlist_free(struct registry_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int strlist_copy(struct registry_strlist *dst, const struct registry_strlist *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int r = registry_strlist_push(dst, src->v[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The six string lists of an entry, their names and where they are in a change. */
static const struct list_field {
	uint32_t set;
	const char *name;
	enum registry_list_kind kind;
	size_t off;  /* in struct registry_entry */
	size_t coff; /* in struct registry_change */
} list_fields[] = {
#define LF(bit, name, kind, member)                                                                \
	{                                                                                          \
		bit, name, kind, offsetof(struct registry_entry, member),                          \
		    offsetof(struct registry_change, member)                                       \
	}
    LF(REGISTRY_SET_SERVER_TAGS, "server-tags", REGISTRY_LIST_TAGS, server_tags),
    LF(REGISTRY_SET_CLIENT_TAGS, "client-tags", REGISTRY_LIST_TAGS, client_tags),
    LF(REGISTRY_SET_SOURCE_ALLOW, "security.source-allow", REGISTRY_LIST_ACL,
       security.source_allow),
    LF(REGISTRY_SET_SOURCE_BLOCK, "security.source-block", REGISTRY_LIST_ACL,
       security.source_block),
    LF(REGISTRY_SET_DESTINATION_ALLOW, "security.destination-allow", REGISTRY_LIST_ACL,
       security.destination_allow),
    LF(REGISTRY_SET_DESTINATION_BLOCK, "security.destination-block", REGISTRY_LIST_ACL,
       security.destination_block),
#undef LF
};

static struct registry_strlist *entry_list(struct registry_entry *e, const struct list_field *f)
{
	return (struct registry_strlist *)(void *)((char *)e + f->off);
}

static const struct registry_strlist *change_list(const struct registry_change *c,
						  const struct list_field *f)
{
	return (const struct registry_strlist *)(const void *)((const char *)c + f->coff);
}

/* Frees what an entry owns (not the entry itself). */
static void entry_free_fields(struct registry_entry *e)
{
	free(e->description);
	e->description = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(list_fields); i++)
		registry_strlist_free(entry_list(e, &list_fields[i]));
}

struct registry_entry *registry_entry_new(time_t now)
{
	struct registry_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->description = strdup("");
	if (!e->description) {
		free(e);
		return NULL;
	}
	e->enabled = true;
	e->security.max_connections = REGISTRY_DEFAULT_MAX_CONNECTIONS;
	e->created = e->updated = now;
	return e;
}

void registry_entry_free(struct registry_entry *e)
{
	if (!e)
		return;
	entry_free_fields(e);
	free(e);
}

/* ---- the registry and its indexes ---- */

int registry_cmp_id(const void *a, const void *b)
{
	const struct registry_entry *x = *(struct registry_entry *const *)a;
	const struct registry_entry *y = *(struct registry_entry *const *)b;

	return strcmp(x->id, y->id);
}

int registry_cmp_key(const void *a, const void *b)
{
	const struct registry_entry *x = *(struct registry_entry *const *)a;
	const struct registry_entry *y = *(struct registry_entry *const *)b;

	/* public keys are not secret: an ordinary comparison is fine */
	return memcmp(x->public_key, y->public_key, KEYS_PUB_LEN);
}

/* The first position in by_id whose id is >= id. */
static size_t id_pos(const struct registry *reg, const char *id)
{
	size_t lo = 0, hi = reg->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(reg->by_id[mid]->id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t key_pos(const struct registry *reg, const uint8_t pub[static KEYS_PUB_LEN])
{
	size_t lo = 0, hi = reg->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(reg->by_key[mid]->public_key, pub, KEYS_PUB_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int registry_reserve(struct registry *reg, size_t n)
{
	struct registry_entry **a, **b;
	size_t cap = reg->cap ? reg->cap : 16;

	if (n <= reg->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	a = realloc(reg->by_id, cap * sizeof(*a));
	if (!a)
		return -ENOMEM;
	reg->by_id = a;
	b = realloc(reg->by_key, cap * sizeof(*b));
	if (!b)
		return -ENOMEM;
	reg->by_key = b;
	reg->cap = cap;
	return 0;
}

static void insert_at(struct registry_entry **v, size_t n, size_t pos, struct registry_entry *e)
{
	memmove(v + pos + 1, v + pos, (n - pos) * sizeof(*v));
	v[pos] = e;
}

static void remove_at(struct registry_entry **v, size_t n, size_t pos)
{
	memmove(v + pos, v + pos + 1, (n - pos - 1) * sizeof(*v));
}

/* Adds e to both indexes; the room must have been reserved. */
static void index_add(struct registry *reg, struct registry_entry *e)
{
	insert_at(reg->by_id, reg->n, id_pos(reg, e->id), e);
	insert_at(reg->by_key, reg->n, key_pos(reg, e->public_key), e);
	reg->n++;
}

int registry_new(struct registry **out, const struct registry_params *params,
		 struct config_error *err)
{
	struct registry *reg;
	int r;

	*out = NULL;
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return config_fail(err, -ENOMEM, "out of memory");
	r = ippool_init(&reg->pool, params->subnet, params->hub_ip, err);
	if (r < 0) {
		free(reg);
		return r;
	}
	reg->acl_check = params->acl_check;
	*out = reg;
	return 0;
}

void registry_free(struct registry *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->n; i++)
		registry_entry_free(reg->by_id[i]);
	free(reg->by_id);
	free(reg->by_key);
	ippool_free(&reg->pool);
	free(reg);
}

size_t registry_count(const struct registry *reg)
{
	return reg->n;
}

const struct registry_entry *registry_at(const struct registry *reg, size_t i)
{
	return i < reg->n ? reg->by_id[i] : NULL;
}

static struct registry_entry *get(const struct registry *reg, const char *id)
{
	size_t i = id_pos(reg, id);

	return i < reg->n && strcmp(reg->by_id[i]->id, id) == 0 ? reg->by_id[i] : NULL;
}

const struct registry_entry *registry_get(const struct registry *reg, const char *id)
{
	return get(reg, id);
}

const struct registry_entry *registry_find_key(const struct registry *reg,
					       const uint8_t pub[static KEYS_PUB_LEN])
{
	size_t i = key_pos(reg, pub);

	if (i < reg->n && memcmp(reg->by_key[i]->public_key, pub, KEYS_PUB_LEN) == 0)
		return reg->by_key[i];
	return NULL;
}

const struct ippool *registry_pool(const struct registry *reg)
{
	return &reg->pool;
}

/* ---- changes ---- */

#define SET_ALL                                                                                    \
	(REGISTRY_SET_DESCRIPTION | REGISTRY_SET_SERVER_TAGS | REGISTRY_SET_CLIENT_TAGS |          \
	 REGISTRY_SET_EXPIRES | REGISTRY_SET_SOURCE_ALLOW | REGISTRY_SET_SOURCE_BLOCK |            \
	 REGISTRY_SET_DESTINATION_ALLOW | REGISTRY_SET_DESTINATION_BLOCK |                         \
	 REGISTRY_SET_MAX_CONNECTIONS | REGISTRY_SET_RATE_LIMIT)

static int field_fail(struct config_error *err, const char *field, const struct config_error *why)
{
	/* why is never err: config_fail formats into err from why */
	return config_fail(err, -EINVAL, "'%s': %s", field, why->msg);
}

/* Checks every value c sets, and now (it becomes "updated"). */
static int check_change(const struct registry *reg, const struct registry_change *c, time_t now,
			struct config_error *err)
{
	char tb[REGISTRY_TIME_LEN];
	struct config_error why;

	if (registry_time_format(now, tb) < 0)
		return config_fail(err, -EINVAL, "the current time is out of range");
	if (!c)
		return 0;
	if (c->set & ~(uint32_t)SET_ALL)
		return config_fail(err, -EINVAL, "internal error: unknown fields in a change");
	if ((c->set & REGISTRY_SET_DESCRIPTION) && c->description &&
	    registry_check_description(c->description, &why) < 0)
		return field_fail(err, "description", &why);
	for (size_t i = 0; i < ARRAY_SIZE(list_fields); i++) {
		const struct list_field *f = &list_fields[i];
		size_t bad;

		if ((c->set & f->set) &&
		    registry_check_list(reg, change_list(c, f), f->kind, &bad, &why) < 0)
			return field_fail(err, f->name, &why);
	}
	if ((c->set & REGISTRY_SET_EXPIRES) && (c->flags & REGISTRY_HAS_EXPIRES) &&
	    registry_time_format(c->expires, tb) < 0)
		return config_fail(err, -EINVAL, "'expires': out of range (years 0000-9999)");
	if ((c->set & REGISTRY_SET_RATE_LIMIT) && (c->flags & REGISTRY_HAS_RATE_LIMIT) &&
	    registry_check_rate(c->security.rate, c->security.burst, &why) < 0)
		return field_fail(err, "security.rate-limit", &why);
	return 0;
}

/*
 * Copies the strings and lists c sets into st (zeroed by the caller), so that applying the
 * change cannot fail half-way. 0 or -ENOMEM (the caller frees st's fields).
 */
static int stage(const struct registry_change *c, struct registry_entry *st)
{
	if (c->set & REGISTRY_SET_DESCRIPTION) {
		st->description = strdup(c->description ? c->description : "");
		if (!st->description)
			return -ENOMEM;
	}
	for (size_t i = 0; i < ARRAY_SIZE(list_fields); i++) {
		const struct list_field *f = &list_fields[i];

		if ((c->set & f->set) && strlist_copy(entry_list(st, f), change_list(c, f)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Moves the staged values into e and sets the scalars of c. */
static void commit(struct registry_entry *e, struct registry_entry *st,
		   const struct registry_change *c)
{
	if (c->set & REGISTRY_SET_DESCRIPTION) {
		free(e->description);
		e->description = st->description;
		st->description = NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(list_fields); i++) {
		const struct list_field *f = &list_fields[i];

		if (c->set & f->set) {
			registry_strlist_free(entry_list(e, f));
			*entry_list(e, f) = *entry_list(st, f);
			memset(entry_list(st, f), 0, sizeof(struct registry_strlist));
		}
	}
	if (c->set & REGISTRY_SET_EXPIRES) {
		e->flags &= ~(uint32_t)REGISTRY_HAS_EXPIRES;
		e->flags |= c->flags & REGISTRY_HAS_EXPIRES;
		e->expires = (c->flags & REGISTRY_HAS_EXPIRES) ? c->expires : 0;
	}
	if (c->set & REGISTRY_SET_MAX_CONNECTIONS)
		e->security.max_connections = c->security.max_connections;
	if (c->set & REGISTRY_SET_RATE_LIMIT) {
		bool has = c->flags & REGISTRY_HAS_RATE_LIMIT;

		e->flags &= ~(uint32_t)REGISTRY_HAS_RATE_LIMIT;
		e->flags |= c->flags & REGISTRY_HAS_RATE_LIMIT;
		e->security.rate = has ? c->security.rate : 0;
		e->security.burst = has ? c->security.burst : 0;
	}
}

/* Checks, stages and applies c to e. 0, -EINVAL or -ENOMEM; e is unchanged on error. */
static int apply_change(const struct registry *reg, struct registry_entry *e,
			const struct registry_change *c, time_t now, struct config_error *err)
{
	struct registry_entry st;
	int r = check_change(reg, c, now, err);

	if (r < 0)
		return r;
	if (c) {
		memset(&st, 0, sizeof(st));
		r = stage(c, &st);
		if (r < 0) {
			entry_free_fields(&st);
			return config_fail(err, r, "out of memory");
		}
		commit(e, &st, c);
		entry_free_fields(&st);
	}
	e->updated = now;
	return 0;
}

/* A key pair that VpnCloud can load and that no entry has yet. */
static int new_key(const struct registry *reg, uint8_t seed[static KEYS_SEED_LEN],
		   uint8_t pub[static KEYS_PUB_LEN], struct config_error *err)
{
	do {
		if (keys_generate(seed, pub) < 0)
			return config_fail(err, -EIO, "cannot generate a key pair");
	} while (registry_find_key(reg, pub));
	return 0;
}

static int not_found(struct config_error *err, const char *id)
{
	char b[CONFIG_SHOW_LEN];

	return config_fail(err, -ENOENT, "no client '%s'", config_show(b, id));
}

int registry_create(struct registry *reg, const char *id, const struct registry_change *c,
		    time_t now, const struct registry_entry **out,
		    char private_key[static KEYS_B62_KEYBUF], struct config_error *err)
{
	char b[CONFIG_SHOW_LEN], sub[IPPOOL_STRLEN];
	uint8_t seed[KEYS_SEED_LEN];
	struct registry_entry *e = NULL;
	int r;

	private_key[0] = '\0';
	*out = NULL;
	r = registry_check_id(id, err);
	if (r < 0)
		return r;
	if (get(reg, id))
		return config_fail(err, -EEXIST, "client '%s' exists already", config_show(b, id));
	if (reg->pool.used >= ippool_capacity(&reg->pool))
		return config_fail(err, -ENOSPC, "no free address left in %s (%u clients)",
				   ippool_format(&reg->pool, sub), reg->pool.used);
	if (registry_reserve(reg, reg->n + 1) < 0)
		return config_fail(err, -ENOMEM, "out of memory");
	e = registry_entry_new(now);
	if (!e)
		return config_fail(err, -ENOMEM, "out of memory");
	snprintf(e->id, sizeof(e->id), "%s", id);
	r = apply_change(reg, e, c, now, err);
	if (r < 0)
		goto fail;
	r = new_key(reg, seed, e->public_key, err);
	if (r < 0)
		goto fail;
	r = ippool_alloc(&reg->pool, e->ip);
	if (r < 0) {
		config_fail(err, r, "no free address left in %s", ippool_format(&reg->pool, sub));
		goto fail;
	}
	index_add(reg, e);
	keys_encode(private_key, seed);
	sodium_memzero(seed, sizeof(seed));
	*out = e;
	return 0;
fail:
	sodium_memzero(seed, sizeof(seed));
	registry_entry_free(e);
	return r;
}

int registry_update(struct registry *reg, const char *id, const struct registry_change *c,
		    time_t now, const struct registry_entry **out, struct config_error *err)
{
	struct registry_entry *e = get(reg, id);
	int r;

	if (out)
		*out = NULL;
	if (!e)
		return not_found(err, id);
	r = apply_change(reg, e, c, now, err);
	if (r == 0 && out)
		*out = e;
	return r;
}

static int set_enabled(struct registry *reg, const char *id, bool on, time_t now,
		       const struct registry_entry **out, struct config_error *err)
{
	struct registry_entry *e = get(reg, id);
	int r;

	if (out)
		*out = NULL;
	if (!e)
		return not_found(err, id);
	r = check_change(reg, NULL, now, err);
	if (r < 0)
		return r;
	e->enabled = on;
	e->updated = now;
	if (out)
		*out = e;
	return 0;
}

int registry_enable(struct registry *reg, const char *id, time_t now,
		    const struct registry_entry **out, struct config_error *err)
{
	return set_enabled(reg, id, true, now, out, err);
}

int registry_disable(struct registry *reg, const char *id, time_t now,
		     const struct registry_entry **out, struct config_error *err)
{
	return set_enabled(reg, id, false, now, out, err);
}

int registry_remove(struct registry *reg, const char *id, struct config_error *err)
{
	struct registry_entry *e = get(reg, id);
	int r;

	if (!e)
		return not_found(err, id);
	remove_at(reg->by_id, reg->n, id_pos(reg, id));
	remove_at(reg->by_key, reg->n, key_pos(reg, e->public_key));
	reg->n--;
	/* cannot fail: every entry's address was taken from (or marked in) this pool */
	r = ippool_release(&reg->pool, e->ip);
	(void)r;
	registry_entry_free(e);
	return 0;
}

int registry_rotate_key(struct registry *reg, const char *id, time_t now,
			const struct registry_entry **out, char private_key[static KEYS_B62_KEYBUF],
			struct config_error *err)
{
	struct registry_entry *e = get(reg, id);
	uint8_t seed[KEYS_SEED_LEN], pub[KEYS_PUB_LEN];
	int r;

	private_key[0] = '\0';
	*out = NULL;
	if (!e)
		return not_found(err, id);
	r = check_change(reg, NULL, now, err);
	if (r < 0)
		return r;
	r = new_key(reg, seed, pub, err);
	if (r < 0) {
		sodium_memzero(seed, sizeof(seed));
		return r;
	}
	/* re-sort the key index: out at the old key, in at the new one */
	remove_at(reg->by_key, reg->n, key_pos(reg, e->public_key));
	reg->n--;
	memcpy(e->public_key, pub, KEYS_PUB_LEN);
	insert_at(reg->by_key, reg->n, key_pos(reg, pub), e);
	reg->n++;
	e->updated = now;
	keys_encode(private_key, seed);
	sodium_memzero(seed, sizeof(seed));
	*out = e;
	return 0;
}

/* ---- bundles ---- */

#define BUNDLE_MAX 4096 /* the text is far smaller: ids, keys and one endpoint */

struct bbuf {
	char *p;
	size_t len;
	bool overflow;
};

static void PRINTF(2, 3) bput(struct bbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, BUNDLE_MAX - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= BUNDLE_MAX - b->len)
		b->overflow = true;
	else
		b->len += (size_t)n;
}

/* Checks the hub's values and private_key; 0, -EINVAL or -EKEYREJECTED. */
static int bundle_check(const struct registry_entry *e, const struct registry_hub *hub,
			const char *private_key, struct config_error *err)
{
	struct config_error why;
	uint8_t seed[KEYS_SEED_LEN];
	bool match;

	if (!hub->endpoint)
		return config_fail(err, -EINVAL, "hub endpoint: not set");
	if (config_check_hostport(hub->endpoint, false, &why) < 0)
		return config_fail(err, -EINVAL, "hub endpoint: %s", why.msg);
	if (hub->prefix > 32)
		return config_fail(err, -EINVAL, "hub subnet prefix /%u is out of range",
				   hub->prefix);
	if (!private_key)
		return 0;
	if (keys_decode(seed, private_key) < 0)
		return config_fail(err, -EINVAL, "the private key is not a base62 key");
	match = keys_public_matches(seed, e->public_key);
	sodium_memzero(seed, sizeof(seed));
	if (!match)
		return config_fail(err, -EKEYREJECTED,
				   "the private key does not belong to client '%s'", e->id);
	return 0;
}

int registry_bundle(const struct registry_entry *e, const struct registry_hub *hub,
		    const char *private_key, time_t now, char **out, struct config_error *err)
{
	char ip[INET_ADDRSTRLEN], date[REGISTRY_TIME_LEN], name[CONFIG_SHOW_LEN];
	char pub[KEYS_B62_KEYBUF], hubpub[KEYS_B62_KEYBUF];
	struct bbuf b = {NULL, 0, false};
	int r;

	*out = NULL;
	r = bundle_check(e, hub, private_key, err);
	if (r < 0)
		return r;
	if (registry_time_format(now, date) < 0)
		return config_fail(err, -EINVAL, "the current time is out of range");
	b.p = malloc(BUNDLE_MAX);
	if (!b.p)
		return config_fail(err, -ENOMEM, "out of memory");
	inet_ntop(AF_INET, e->ip, ip, sizeof(ip));
	keys_encode(pub, e->public_key);
	keys_encode(hubpub, hub->public_key);
	bput(&b, "# meshvpn client configuration for '%s' (VpnCloud 2.x format).\n", e->id);
	if (hub->name)
		bput(&b, "# Hub: %s at %s", config_show(name, hub->name), hub->endpoint);
	else
		bput(&b, "# Hub: %s", hub->endpoint);
	bput(&b, ", public key %s.\n# Written by the hub on %s.\n", hubpub, date);
	bput(&b, "# Start the client with `meshvpn --config FILE` (or `vpncloud --config "
		 "FILE`).\n");
	if (private_key)
		bput(&b, "# This file holds the client's private key: keep it secret (mode 0600); "
			 "the hub\n# does not keep a copy.\n");
	bput(&b, "device:\n  type: tun\nip: %s/%u\ncrypto:\n", ip, hub->prefix);
	if (private_key)
		bput(&b, "  private-key: %s\n", private_key);
	else
		bput(&b,
		     "  # private-key: the hub does not store it. Put here the private key "
		     "that\n  # `meshvpn hub create` or `meshvpn hub rotate-key` printed for "
		     "'%s'\n  # (or give it with --private-key or the PRIVATE_KEY environment "
		     "variable).\n",
		     e->id);
	/* the endpoint passed config_check_hostport: no quote or backslash in it */
	bput(&b,
	     "  public-key: %s\n  trusted-keys:\n    - %s\npeers:\n  - \"%s\"\nclaims:\n"
	     "  - %s/32\nmode: router\n",
	     pub, hubpub, hub->endpoint, ip);
	if (b.overflow) {
		registry_bundle_free(b.p);
		return config_fail(err, -ENOMEM, "internal error: bundle too long");
	}
	*out = b.p;
	return 0;
}

void registry_bundle_free(char *bundle)
{
	if (!bundle)
		return;
	/* the whole buffer: a failed write may have left a partial key past the end */
	sodium_memzero(bundle, BUNDLE_MAX);
	free(bundle);
}

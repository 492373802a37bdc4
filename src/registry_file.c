// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * registry_file.c - the registry's YAML file: a strict loader (libyaml parser, errors with
 * FILE:LINE), a stable writer (libyaml emitter) and the atomic save.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "meshvpn/bytes.h"
#include "meshvpn/registry.h"

#include "config_int.h"
#include "registry_int.h"

static const char file_header[] =
    "# Managed by meshvpn: the clients of this hub (no private keys are kept here).\n"
    "# Change it with `meshvpn hub ...`: the hub rewrites this file on every change, so edits\n"
    "# made here while it runs are lost. The hub does not start while this file is invalid.\n";

/* ---- loading ---- */

/* One entry as read, with the line it starts on (for messages about duplicates). */
struct loaded {
	struct registry_entry *e;
	unsigned long line;
};

struct rl {
	yaml_document_t *doc;
	const char *name;
	struct config_error *err;
	struct registry *reg;
	struct loaded *v; /* the entries read so far, in file order */
	size_t n;
};

enum { K_VERSION, K_CLIENTS, TOP_KEYS };
static const char *const top_keys[TOP_KEYS] = {"version", "clients"};

enum {
	K_ID,
	K_PUBLIC_KEY,
	K_IP,
	K_ENABLED,
	K_EXPIRES,
	K_DESCRIPTION,
	K_SERVER_TAGS,
	K_CLIENT_TAGS,
	K_SECURITY,
	K_CREATED,
	K_UPDATED,
	ENTRY_KEYS
};
static const char *const entry_keys[ENTRY_KEYS] = {
    "id",	   "public-key",  "ip",	      "enabled", "expires", "description",
    "server-tags", "client-tags", "security", "created", "updated"};

enum {
	K_SOURCE_ALLOW,
	K_SOURCE_BLOCK,
	K_DESTINATION_ALLOW,
	K_DESTINATION_BLOCK,
	K_MAX_CONNECTIONS,
	K_RATE_LIMIT,
	SECURITY_KEYS
};
static const char *const security_keys[SECURITY_KEYS] = {"source-allow",      "source-block",
							 "destination-allow", "destination-block",
							 "max-connections",   "rate-limit"};

enum { K_RATE, K_BURST, RATE_KEYS };
static const char *const rate_keys[RATE_KEYS] = {"rate", "burst"};

static unsigned long line_of(const yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

/* "NAME:LINE: <where>: <message>" */
static int PRINTF(4, 5)
    rl_fail(struct rl *l, const yaml_node_t *n, const char *where, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return config_fail(l->err, -EINVAL, "%s:%lu: %s: %s", l->name, line_of(n), where, msg);
}

static int rl_oom(struct rl *l)
{
	return config_fail(l->err, -ENOMEM, "%s: out of memory", l->name);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (!is_plain(n))
		return false;
	s = scalar(n);
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

/* A value that is given and not ~ (null means "not set" for the optional keys). */
static bool present(const yaml_node_t *n)
{
	return n && !is_null(n);
}

static const char *kind_of(const yaml_node_t *n)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (n->type == YAML_MAPPING_NODE)
		return "a map";
	if (is_null(n))
		return "null";
	return n->type == YAML_SCALAR_NODE && !is_plain(n) ? "a quoted string" : "a scalar";
}

static const yaml_node_t *node(const struct rl *l, yaml_node_item_t i)
{
	return yaml_document_get_node(l->doc, i);
}

/* A string scalar (plain or quoted, not null, no NUL byte inside). */
static int get_str(struct rl *l, const yaml_node_t *n, const char *where, const char *field,
		   const char **out)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return rl_fail(l, n, where, "'%s': expected a string, found %s", field, kind_of(n));
	if (strlen(scalar(n)) != n->data.scalar.length)
		return rl_fail(l, n, where, "'%s': the value contains a NUL character", field);
	*out = scalar(n);
	return 0;
}

/* A plain non-negative decimal integer <= max. */
static int get_uint(struct rl *l, const yaml_node_t *n, const char *where, const char *field,
		    uint64_t max, uint64_t *out)
{
	char b[CONFIG_SHOW_LEN];
	const char *s;
	uint64_t v = 0;
	size_t i;

	if (!is_plain(n) || is_null(n))
		return rl_fail(l, n, where, "'%s': expected an integer, found %s", field,
			       kind_of(n));
	s = scalar(n);
	for (i = 0; isdigit((unsigned char)s[i]); i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return rl_fail(l, n, where, "'%s': %s is too large (at most %" PRIu64 ")",
				       field, config_show(b, s), max);
		v = v * 10 + d;
	}
	if (i == 0 || s[i])
		return rl_fail(l, n, where, "'%s': expected a non-negative integer, found '%s'",
			       field, config_show(b, s));
	*out = v;
	return 0;
}

static int get_bool(struct rl *l, const yaml_node_t *n, const char *where, const char *field,
		    bool *out)
{
	if (is_plain(n) && (strcmp(scalar(n), "true") == 0 || strcmp(scalar(n), "false") == 0)) {
		*out = scalar(n)[0] == 't';
		return 0;
	}
	return rl_fail(l, n, where, "'%s': expected true or false, found %s", field,
		       n->type == YAML_SCALAR_NODE && !is_null(n) ? "another value" : kind_of(n));
}

static int get_time(struct rl *l, const yaml_node_t *n, const char *where, const char *field,
		    time_t *out)
{
	char b[CONFIG_SHOW_LEN];
	const char *s;
	int r = get_str(l, n, where, field, &s);

	if (r < 0)
		return r;
	if (registry_time_parse(s, out) < 0)
		return rl_fail(l, n, where,
			       "'%s': invalid time '%s' (expected RFC 3339 like "
			       "2026-12-03T10:00:00Z)",
			       field, config_show(b, s));
	return 0;
}

/*
 * Sorts the pairs of a map into vals[i] for keys[i] (NULL when absent); unknown and
 * duplicate keys are errors.
 */
static int get_fields(struct rl *l, const yaml_node_t *map, const char *const *keys, size_t nkeys,
		      const char *where, const yaml_node_t **vals)
{
	unsigned long first[ENTRY_KEYS] = {0}; /* the largest of the key tables */

	if (map->type != YAML_MAPPING_NODE)
		return rl_fail(l, map, where, "expected a map, found %s", kind_of(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = node(l, p->key), *vn = node(l, p->value);
		char b[CONFIG_SHOW_LEN], hint[96];
		const char *key;
		size_t i;

		if (!kn || !vn)
			return rl_fail(l, map, where, "broken YAML document");
		if (kn->type != YAML_SCALAR_NODE || strlen(scalar(kn)) != kn->data.scalar.length)
			return rl_fail(l, kn, where, "keys must be plain strings");
		key = scalar(kn);
		for (i = 0; i < nkeys && strcmp(key, keys[i]) != 0; i++)
			;
		if (i == nkeys) {
			config_suggest(hint, sizeof(hint), key, keys, nkeys);
			return rl_fail(l, kn, where, "unknown key '%s'%s", config_show(b, key),
				       hint);
		}
		if (first[i])
			return rl_fail(l, kn, where, "duplicate key '%s' (first given on line %lu)",
				       key, first[i]);
		first[i] = line_of(kn);
		vals[i] = vn;
	}
	return 0;
}

/* A list of strings (or null = empty) into *out, then checked as kind. */
static int get_list(struct rl *l, const yaml_node_t *n, const char *where, const char *field,
		    enum registry_list_kind kind, struct registry_strlist *out)
{
	struct config_error why;
	const yaml_node_item_t *it;
	size_t count, bad;

	if (!present(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return rl_fail(l, n, where, "'%s': expected a list, found %s", field, kind_of(n));
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > REGISTRY_LIST_MAX)
		return rl_fail(l, n, where, "'%s': too many entries (%zu, at most %d)", field,
			       count, REGISTRY_LIST_MAX);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		const yaml_node_t *item = node(l, *it);
		const char *s;
		int r;

		if (!item)
			return rl_fail(l, n, where, "broken YAML document");
		r = get_str(l, item, where, field, &s);
		if (r < 0)
			return r;
		if (registry_strlist_push(out, s) < 0)
			return rl_oom(l);
	}
	if (registry_check_list(l->reg, out, kind, &bad, &why) < 0) {
		const yaml_node_t *at =
		    bad < count ? node(l, n->data.sequence.items.start[bad]) : n;
		return rl_fail(l, at ? at : n, where, "'%s': %s", field, why.msg);
	}
	return 0;
}

static int load_security(struct rl *l, const yaml_node_t *map, const char *where,
			 struct registry_entry *e)
{
	const yaml_node_t *v[SECURITY_KEYS] = {0}, *rv[RATE_KEYS] = {0};
	struct registry_security *s = &e->security;
	struct config_error why;
	uint64_t x;
	int r = get_fields(l, map, security_keys, SECURITY_KEYS, where, v);

	if (r == 0)
		r = get_list(l, v[K_SOURCE_ALLOW], where, "security.source-allow",
			     REGISTRY_LIST_ACL, &s->source_allow);
	if (r == 0)
		r = get_list(l, v[K_SOURCE_BLOCK], where, "security.source-block",
			     REGISTRY_LIST_ACL, &s->source_block);
	if (r == 0)
		r = get_list(l, v[K_DESTINATION_ALLOW], where, "security.destination-allow",
			     REGISTRY_LIST_ACL, &s->destination_allow);
	if (r == 0)
		r = get_list(l, v[K_DESTINATION_BLOCK], where, "security.destination-block",
			     REGISTRY_LIST_ACL, &s->destination_block);
	if (r == 0 && present(v[K_MAX_CONNECTIONS])) {
		r = get_uint(l, v[K_MAX_CONNECTIONS], where, "security.max-connections", UINT32_MAX,
			     &x);
		s->max_connections = (uint32_t)x;
	}
	if (r < 0 || !present(v[K_RATE_LIMIT]))
		return r;
	r = get_fields(l, v[K_RATE_LIMIT], rate_keys, RATE_KEYS, where, rv);
	if (r < 0)
		return r;
	if (!rv[K_RATE] || !rv[K_BURST])
		return rl_fail(l, v[K_RATE_LIMIT], where,
			       "'security.rate-limit': needs both rate and burst");
	r = get_uint(l, rv[K_RATE], where, "security.rate-limit.rate", UINT64_MAX, &s->rate);
	if (r == 0)
		r = get_uint(l, rv[K_BURST], where, "security.rate-limit.burst", UINT64_MAX,
			     &s->burst);
	if (r == 0 && registry_check_rate(s->rate, s->burst, &why) < 0)
		r = rl_fail(l, v[K_RATE_LIMIT], where, "'security.rate-limit': %s", why.msg);
	e->flags |= REGISTRY_HAS_RATE_LIMIT;
	return r;
}

static int load_ip(struct rl *l, const yaml_node_t *n, const char *where, struct registry_entry *e)
{
	char b[CONFIG_SHOW_LEN], sub[IPPOOL_STRLEN];
	const char *s, *what;
	int r = get_str(l, n, where, "ip", &s);

	if (r < 0)
		return r;
	if (inet_pton(AF_INET, s, e->ip) != 1)
		return rl_fail(l, n, where, "'ip': invalid address '%s' (expected IPv4 a.b.c.d)",
			       config_show(b, s));
	ippool_format(&l->reg->pool, sub);
	r = ippool_mark(&l->reg->pool, e->ip);
	if (r == -ERANGE)
		return rl_fail(l, n, where, "'ip': %s is outside the subnet %s", s, sub);
	if (r == -EADDRNOTAVAIL) {
		uint32_t off = get_be32(e->ip) - l->reg->pool.net;

		if (off != 0 && off != l->reg->pool.size - 1)
			return rl_fail(l, n, where, "'ip': %s is the hub's own address", s);
		what = off == 0 ? "network" : "broadcast";
		return rl_fail(l, n, where, "'ip': %s is the %s address of %s", s, what, sub);
	}
	if (r == -EEXIST) {
		for (size_t i = 0; i < l->n; i++)
			if (memcmp(l->v[i].e->ip, e->ip, 4) == 0)
				return rl_fail(l, n, where,
					       "'ip': %s is already the address of client '%s' "
					       "(line %lu)",
					       s, l->v[i].e->id, l->v[i].line);
		return rl_fail(l, n, where, "'ip': %s is used twice", s);
	}
	return r;
}

static int load_key(struct rl *l, const yaml_node_t *n, const char *where, struct registry_entry *e)
{
	char b[CONFIG_SHOW_LEN];
	struct config_error why;
	const char *s;
	int r = get_str(l, n, where, "public-key", &s);

	if (r < 0)
		return r;
	if (keys_decode(e->public_key, s) < 0)
		return rl_fail(l, n, where, "'public-key': '%s' is not a base62 key",
			       config_show(b, s));
	if (registry_check_key(e->public_key, &why) < 0)
		return rl_fail(l, n, where, "'public-key': %s", why.msg);
	return 0;
}

/* "client 'ID'" when the map has a valid id, else "client #N" (N counts from 1). */
static void entry_where(const struct rl *l, const yaml_node_t *map, size_t index, char *buf,
			size_t len)
{
	snprintf(buf, len, "client #%zu", index + 1);
	if (map->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = node(l, p->key), *vn = node(l, p->value);

		if (kn && vn && kn->type == YAML_SCALAR_NODE && vn->type == YAML_SCALAR_NODE &&
		    strcmp(scalar(kn), "id") == 0 && registry_id_valid(scalar(vn)))
			snprintf(buf, len, "client '%s'", scalar(vn));
	}
}

/* A required key: missing (absent or ~) is an error that names the entry's line. */
static int need(struct rl *l, const yaml_node_t *map, const yaml_node_t *v, const char *where,
		const char *key)
{
	return present(v) ? 0 : rl_fail(l, v ? v : map, where, "missing '%s'", key);
}

/* The fields in file-format order, so that the first problem is reported first. */
static int load_entry(struct rl *l, const yaml_node_t *map, size_t index, struct registry_entry *e)
{
	const yaml_node_t *v[ENTRY_KEYS] = {0};
	struct config_error why;
	char where[96];
	const char *s;
	int r;

	entry_where(l, map, index, where, sizeof(where));
	r = get_fields(l, map, entry_keys, ENTRY_KEYS, where, v);
	if (r == 0)
		r = need(l, map, v[K_ID], where, "id");
	if (r == 0)
		r = get_str(l, v[K_ID], where, "id", &s);
	if (r < 0)
		return r;
	if (registry_check_id(s, &why) < 0)
		return rl_fail(l, v[K_ID], where, "'id': %s", why.msg);
	snprintf(e->id, sizeof(e->id), "%s", s);
	r = need(l, map, v[K_PUBLIC_KEY], where, "public-key");
	if (r == 0)
		r = load_key(l, v[K_PUBLIC_KEY], where, e);
	if (r == 0)
		r = need(l, map, v[K_IP], where, "ip");
	if (r == 0)
		r = load_ip(l, v[K_IP], where, e);
	if (r == 0 && present(v[K_ENABLED]))
		r = get_bool(l, v[K_ENABLED], where, "enabled", &e->enabled);
	if (r == 0 && present(v[K_EXPIRES])) {
		r = get_time(l, v[K_EXPIRES], where, "expires", &e->expires);
		e->flags |= REGISTRY_HAS_EXPIRES;
	}
	if (r == 0 && present(v[K_DESCRIPTION])) {
		r = get_str(l, v[K_DESCRIPTION], where, "description", &s);
		if (r == 0 && registry_check_description(s, &why) < 0)
			r = rl_fail(l, v[K_DESCRIPTION], where, "'description': %s", why.msg);
		if (r == 0) {
			char *d = strdup(s);
			if (!d)
				return rl_oom(l);
			free(e->description);
			e->description = d;
		}
	}
	if (r == 0)
		r = get_list(l, v[K_SERVER_TAGS], where, "server-tags", REGISTRY_LIST_TAGS,
			     &e->server_tags);
	if (r == 0)
		r = get_list(l, v[K_CLIENT_TAGS], where, "client-tags", REGISTRY_LIST_TAGS,
			     &e->client_tags);
	if (r == 0 && present(v[K_SECURITY]))
		r = load_security(l, v[K_SECURITY], where, e);
	if (r == 0)
		r = need(l, map, v[K_CREATED], where, "created");
	if (r == 0)
		r = get_time(l, v[K_CREATED], where, "created", &e->created);
	if (r == 0)
		r = need(l, map, v[K_UPDATED], where, "updated");
	if (r == 0)
		r = get_time(l, v[K_UPDATED], where, "updated", &e->updated);
	return r;
}

static int cmp_loaded_id(const void *a, const void *b)
{
	const struct loaded *x = a, *y = b;
	int c = strcmp(x->e->id, y->e->id);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int cmp_loaded_key(const void *a, const void *b)
{
	const struct loaded *x = a, *y = b;
	int c = memcmp(x->e->public_key, y->e->public_key, KEYS_PUB_LEN);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/*
 * After sorting by id (or key): the duplicate that comes first in the file (its second
 * occurrence), so that the message does not depend on the sort order. -1 when none.
 */
static ssize_t first_dup(const struct loaded *v, size_t n, bool by_id)
{
	ssize_t best = -1;

	for (size_t i = 1; i < n; i++) {
		bool same =
		    by_id ? strcmp(v[i - 1].e->id, v[i].e->id) == 0
			  : memcmp(v[i - 1].e->public_key, v[i].e->public_key, KEYS_PUB_LEN) == 0;
		if (same && (best < 0 || v[i].line < v[best].line))
			best = (ssize_t)i;
	}
	return best;
}

/* Checks ids and keys for duplicates and moves the entries into the registry's indexes. */
static int adopt(struct rl *l)
{
	char where[96], pub[KEYS_B62_KEYBUF];
	ssize_t d;

	qsort(l->v, l->n, sizeof(*l->v), cmp_loaded_id);
	d = first_dup(l->v, l->n, true);
	if (d >= 0)
		return config_fail(l->err, -EINVAL,
				   "%s:%lu: client '%s': duplicate id (first given on line %lu)",
				   l->name, l->v[d].line, l->v[d].e->id, l->v[d - 1].line);
	if (registry_reserve(l->reg, l->n) < 0)
		return rl_oom(l);
	for (size_t i = 0; i < l->n; i++)
		l->reg->by_id[i] = l->v[i].e;
	qsort(l->v, l->n, sizeof(*l->v), cmp_loaded_key);
	d = first_dup(l->v, l->n, false);
	if (d >= 0) {
		snprintf(where, sizeof(where), "client '%s'", l->v[d].e->id);
		return config_fail(l->err, -EINVAL,
				   "%s:%lu: %s: 'public-key': %s is also the key of client '%s' "
				   "(line %lu)",
				   l->name, l->v[d].line, where,
				   keys_encode(pub, l->v[d].e->public_key), l->v[d - 1].e->id,
				   l->v[d - 1].line);
	}
	for (size_t i = 0; i < l->n; i++)
		l->reg->by_key[i] = l->v[i].e;
	l->reg->n = l->n;
	l->n = 0; /* owned by the registry now */
	return 0;
}

static int load_clients(struct rl *l, const yaml_node_t *seq)
{
	size_t count;

	if (!present(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return rl_fail(l, seq, "top level", "'clients': expected a list, found %s",
			       kind_of(seq));
	count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	l->v = calloc(count ? count : 1, sizeof(*l->v));
	if (!l->v)
		return rl_oom(l);
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *map = node(l, seq->data.sequence.items.start[i]);
		struct registry_entry *e;
		int r;

		if (!map)
			return rl_fail(l, seq, "top level", "broken YAML document");
		e = registry_entry_new(0);
		if (!e)
			return rl_oom(l);
		/* in the array first, so that it is freed on every error below */
		l->v[l->n].e = e;
		l->v[l->n].line = line_of(map);
		l->n++;
		r = load_entry(l, map, i, e);
		if (r < 0)
			return r;
	}
	return adopt(l);
}

static int load_root(struct rl *l, const yaml_node_t *root)
{
	const yaml_node_t *v[TOP_KEYS] = {0};
	uint64_t version;
	int r;

	if (!root || is_null(root))
		return 0;
	r = get_fields(l, root, top_keys, TOP_KEYS, "top level", v);
	if (r < 0)
		return r;
	if (present(v[K_VERSION])) {
		r = get_uint(l, v[K_VERSION], "top level", "version", UINT32_MAX, &version);
		if (r < 0)
			return r;
		if (version != REGISTRY_FILE_VERSION)
			return rl_fail(l, v[K_VERSION], "top level",
				       "'version': %" PRIu64 " is not supported (this meshvpn "
				       "reads version %d)",
				       version, REGISTRY_FILE_VERSION);
	}
	return load_clients(l, v[K_CLIENTS]);
}

static int syntax_error(const yaml_parser_t *p, const char *name, struct config_error *err)
{
	if (p->error == YAML_MEMORY_ERROR)
		return config_fail(err, -ENOMEM, "%s: out of memory", name);
	if (p->error == YAML_READER_ERROR)
		return config_fail(err, -EINVAL, "%s: invalid YAML input: %s (at byte %zu)", name,
				   p->problem ? p->problem : "unknown error", p->problem_offset);
	return config_fail(err, -EINVAL, "%s:%lu:%lu: YAML syntax error: %s%s%s", name,
			   (unsigned long)p->problem_mark.line + 1,
			   (unsigned long)p->problem_mark.column + 1,
			   p->problem ? p->problem : "unknown error", p->context ? " " : "",
			   p->context ? p->context : "");
}

int registry_load_buffer(struct registry **out, const struct registry_params *params,
			 const void *data, size_t len, const char *name, struct config_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_doc = false, have_extra = false;
	struct rl l = {&doc, name, err, NULL, NULL, 0};
	int r;

	*out = NULL;
	if (len > REGISTRY_FILE_MAX)
		return config_fail(err, -EFBIG, "%s: too large (more than %d bytes)", name,
				   REGISTRY_FILE_MAX);
	r = registry_new(&l.reg, params, err);
	if (r < 0)
		return r;
	if (!yaml_parser_initialize(&parser)) {
		registry_free(l.reg);
		return config_fail(err, -ENOMEM, "%s: out of memory", name);
	}
	yaml_parser_set_input_string(&parser, data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = syntax_error(&parser, name, err);
		goto out;
	}
	have_doc = true;
	/* read to the end: a syntax error anywhere counts, and there is one document only */
	if (!yaml_parser_load(&parser, &extra)) {
		r = syntax_error(&parser, name, err);
		goto out;
	}
	have_extra = true;
	if (yaml_document_get_root_node(&extra)) {
		r = config_fail(err, -EINVAL, "%s:%lu: only one YAML document is allowed", name,
				(unsigned long)extra.start_mark.line + 1);
		goto out;
	}
	r = load_root(&l, yaml_document_get_root_node(&doc));
	if (r == 0) {
		*out = l.reg;
		l.reg = NULL;
	}
out:
	for (size_t i = 0; i < l.n; i++)
		registry_entry_free(l.v[i].e);
	free(l.v);
	registry_free(l.reg);
	if (have_extra)
		yaml_document_delete(&extra);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return r;
}

/* ---- directories ---- */

/* The directory part of path ("." when there is none) into a new string, or NULL. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* mkdir -p with mode 0700 for every directory it creates. 0 or -errno. */
static int make_dirs(const char *dir)
{
	char *p = strdup(dir);
	int r = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1;; s++) {
		bool end = *s == '\0';

		if (*s != '/' && !end)
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		if (end)
			break;
		*s = '/';
	}
	free(p);
	return r;
}

int registry_load_file(struct registry **out, const struct registry_params *params,
		       const char *path, struct config_error *err)
{
	char *buf = NULL, *dir;
	size_t len = 0, cap = 0;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* first start: an empty registry, and the directory for the first save */
		dir = dir_of(path);
		r = dir ? make_dirs(dir) : -ENOMEM;
		if (r < 0)
			config_fail(err, r, "%s: cannot create the directory %s: %s", path,
				    dir ? dir : "", strerror(-r));
		free(dir);
		return r < 0 ? r : registry_new(out, params, err);
	}
	if (fd < 0) {
		r = -errno;
		return config_fail(err, r, "%s: cannot open the registry: %s", path, strerror(-r));
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb = realloc(buf, cap ? cap * 2 : 65536);

			if (!nb) {
				r = config_fail(err, -ENOMEM, "%s: out of memory", path);
				goto out;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			config_fail(err, r, "%s: cannot read the registry: %s", path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > REGISTRY_FILE_MAX) {
			r = config_fail(err, -EFBIG, "%s: too large (more than %d bytes)", path,
					REGISTRY_FILE_MAX);
			goto out;
		}
	}
	r = registry_load_buffer(out, params, buf, len, path, err);
out:
	free(buf);
	close(fd);
	return r;
}

/* ---- writing ---- */

struct obuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void obuf_add(struct obuf *o, const void *data, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *p;

		while (cap < o->len + n + 1)
			cap *= 2;
		p = realloc(o->p, cap);
		if (!p) {
			o->oom = true;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, data, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	struct obuf *o = data;

	obuf_add(o, buffer, size);
	return !o->oom;
}

struct em {
	yaml_emitter_t e;
	bool failed;
};

/* yaml_emitter_emit owns the event, also when it fails. */
static void emit(struct em *m, yaml_event_t *ev, int ok)
{
	if (!ok) {
		m->failed = true;
		return;
	}
	if (m->failed) {
		yaml_event_delete(ev);
		return;
	}
	if (!yaml_emitter_emit(&m->e, ev))
		m->failed = true;
}

static void e_scalar(struct em *m, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	emit(m, &ev,
	     yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(uintptr_t)s,
					  (int)strlen(s), 1, 1, style));
}

static void e_map(struct em *m, bool flow)
{
	yaml_event_t ev;

	emit(m, &ev,
	     yaml_mapping_start_event_initialize(
		 &ev, NULL, NULL, 1, flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

static void e_map_end(struct em *m)
{
	yaml_event_t ev;

	emit(m, &ev, yaml_mapping_end_event_initialize(&ev));
}

static void e_seq(struct em *m, bool flow)
{
	yaml_event_t ev;

	emit(m, &ev,
	     yaml_sequence_start_event_initialize(
		 &ev, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
}

static void e_seq_end(struct em *m)
{
	yaml_event_t ev;

	emit(m, &ev, yaml_sequence_end_event_initialize(&ev));
}

static bool word_is(const char *s, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

/*
 * Strings that YAML readers could take for something else (null, a boolean, a number, a
 * date) are quoted; the others are written plain (libyaml quotes them itself when plain is
 * not possible, e.g. with ':' in a flow list).
 */
static yaml_scalar_style_t str_style(const char *s)
{
	static const char *const words[] = {
	    "~",     "null",  "Null", "NULL", "y",  "Y",    "yes",  "Yes",  "YES",
	    "n",     "N",     "no",   "No",   "NO", "true", "True", "TRUE", "false",
	    "False", "FALSE", "on",   "On",   "ON", "off",  "Off",  "OFF"};
	bool numeric = true;

	if (!*s || word_is(s, words, ARRAY_SIZE(words)) || strchr("+-.", s[0]))
		return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	if (!isdigit((unsigned char)s[0]))
		return YAML_PLAIN_SCALAR_STYLE;
	for (const char *p = s; *p && numeric; p++)
		numeric = isxdigit((unsigned char)*p) || strchr("xXoO_.:+-", *p);
	return numeric ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE;
}

static void e_pair(struct em *m, const char *key, const char *value, yaml_scalar_style_t style)
{
	e_scalar(m, key, YAML_PLAIN_SCALAR_STYLE);
	e_scalar(m, value, style);
}

static void e_time(struct em *m, const char *key, time_t t)
{
	char buf[REGISTRY_TIME_LEN];

	/* every time in a registry passed registry_time_format when it was set */
	if (registry_time_format(t, buf) < 0)
		m->failed = true;
	e_pair(m, key, buf, YAML_PLAIN_SCALAR_STYLE);
}

static void e_uint(struct em *m, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	e_pair(m, key, buf, YAML_PLAIN_SCALAR_STYLE);
}

static void e_list(struct em *m, const char *key, const struct registry_strlist *l)
{
	e_scalar(m, key, YAML_PLAIN_SCALAR_STYLE);
	e_seq(m, true);
	for (size_t i = 0; i < l->n; i++)
		e_scalar(m, l->v[i], str_style(l->v[i]));
	e_seq_end(m);
}

static void e_entry(struct em *m, const struct registry_entry *e)
{
	const struct registry_security *s = &e->security;
	char pub[KEYS_B62_KEYBUF], ip[INET_ADDRSTRLEN];

	e_map(m, false);
	e_pair(m, "id", e->id, str_style(e->id));
	keys_encode(pub, e->public_key);
	e_pair(m, "public-key", pub, str_style(pub));
	inet_ntop(AF_INET, e->ip, ip, sizeof(ip));
	e_pair(m, "ip", ip, YAML_PLAIN_SCALAR_STYLE);
	e_pair(m, "enabled", e->enabled ? "true" : "false", YAML_PLAIN_SCALAR_STYLE);
	if (e->flags & REGISTRY_HAS_EXPIRES)
		e_time(m, "expires", e->expires);
	e_pair(m, "description", e->description, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	e_list(m, "server-tags", &e->server_tags);
	e_list(m, "client-tags", &e->client_tags);
	e_scalar(m, "security", YAML_PLAIN_SCALAR_STYLE);
	e_map(m, false);
	e_list(m, "source-allow", &s->source_allow);
	e_list(m, "source-block", &s->source_block);
	e_list(m, "destination-allow", &s->destination_allow);
	e_list(m, "destination-block", &s->destination_block);
	e_uint(m, "max-connections", s->max_connections);
	if (e->flags & REGISTRY_HAS_RATE_LIMIT) {
		e_scalar(m, "rate-limit", YAML_PLAIN_SCALAR_STYLE);
		e_map(m, true);
		e_uint(m, "rate", s->rate);
		e_uint(m, "burst", s->burst);
		e_map_end(m);
	}
	e_map_end(m);
	e_time(m, "created", e->created);
	e_time(m, "updated", e->updated);
	e_map_end(m);
}

int registry_format(const struct registry *reg, char **text, size_t *len)
{
	struct obuf o = {NULL, 0, 0, false};
	struct em m = {.failed = false};
	yaml_event_t ev;
	char version[12];

	*text = NULL;
	*len = 0;
	obuf_add(&o, file_header, strlen(file_header));
	if (!yaml_emitter_initialize(&m.e)) {
		free(o.p);
		return -ENOMEM;
	}
	yaml_emitter_set_output(&m.e, write_handler, &o);
	yaml_emitter_set_unicode(&m.e, 1);
	yaml_emitter_set_indent(&m.e, 2);
	/* no line folding: a long description stays on one line */
	yaml_emitter_set_width(&m.e, -1);
	emit(&m, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	emit(&m, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
	e_map(&m, false);
	snprintf(version, sizeof(version), "%d", REGISTRY_FILE_VERSION);
	e_pair(&m, "version", version, YAML_PLAIN_SCALAR_STYLE);
	e_scalar(&m, "clients", YAML_PLAIN_SCALAR_STYLE);
	e_seq(&m, false);
	for (size_t i = 0; i < reg->n; i++)
		e_entry(&m, reg->by_id[i]);
	e_seq_end(&m);
	e_map_end(&m);
	emit(&m, &ev, yaml_document_end_event_initialize(&ev, 1));
	emit(&m, &ev, yaml_stream_end_event_initialize(&ev));
	if (!m.failed && !yaml_emitter_flush(&m.e))
		m.failed = true;
	yaml_emitter_delete(&m.e);
	if (m.failed || o.oom) {
		free(o.p);
		return -ENOMEM;
	}
	*text = o.p;
	*len = o.len;
	return 0;
}

/* ---- atomic save ---- */

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int registry_save(const struct registry *reg, const char *path, struct config_error *err)
{
	char *text = NULL, *dir = NULL, *tmp = NULL;
	const char *base = strrchr(path, '/');
	size_t len;
	int fd = -1, r;

	base = base ? base + 1 : path;
	r = registry_format(reg, &text, &len);
	dir = dir_of(path);
	if (r == 0 && (!dir || asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0)) {
		tmp = NULL;
		r = -ENOMEM;
	}
	if (r < 0) {
		config_fail(err, r, "%s: out of memory", path);
		goto out;
	}
	r = make_dirs(dir);
	if (r < 0) {
		config_fail(err, r, "%s: cannot create the directory %s: %s", path, dir,
			    strerror(-r));
		goto out;
	}
	/* mkostemp: O_CREAT | O_EXCL, mode 0600 */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		config_fail(err, r, "%s: cannot create a temporary file in %s: %s", path, dir,
			    strerror(-r));
		free(tmp);
		tmp = NULL; /* nothing to remove */
		goto out;
	}
	r = write_all(fd, text, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	fd = -1;
	if (r < 0) {
		config_fail(err, r, "%s: cannot write %s: %s", path, tmp, strerror(-r));
		goto out;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		config_fail(err, r, "%s: cannot replace the registry: %s", path, strerror(-r));
		goto out;
	}
	free(tmp);
	tmp = NULL; /* renamed */
	/* the rename is only durable once the directory is on disk */
	r = fsync_dir(dir);
	if (r < 0)
		config_fail(err, r, "%s: cannot sync the directory %s: %s", path, dir,
			    strerror(-r));
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	free(text);
	return r;
}

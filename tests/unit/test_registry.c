// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_registry.c - the client registry's operations (create, get, update, enable, disable,
 * remove, rotate-key, the key lookup, expiry), its value checks, RFC 3339 times and the
 * client bundle, which must load with meshvpn's own config loader.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "meshvpn/config_load.h"
#include "meshvpn/registry.h"

#define T0 1796292000 /* 2026-12-03T10:00:00Z */

static const uint8_t hub_ip[4] = {10, 0, 0, 1};
static struct config_error err;

static struct registry *new_reg(const char *subnet, registry_acl_check_fn acl)
{
	struct registry_params p = {subnet, hub_ip, acl};
	struct registry *reg;

	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_new(&reg, &p, &err), 0);
	return reg;
}

static const struct registry_entry *create(struct registry *reg, const char *id,
					   const struct registry_change *c, time_t now,
					   char priv[KEYS_B62_KEYBUF])
{
	const struct registry_entry *e;
	char tmp[KEYS_B62_KEYBUF];
	int r = registry_create(reg, id, c, now, &e, priv ? priv : tmp, &err);

	if (r != 0)
		print_error("create %s: %d %s\n", id, r, err.msg);
	assert_int_equal(r, 0);
	assert_non_null(e);
	return e;
}

static const char *ipstr(const uint8_t ip[4])
{
	static char buf[16];

	return inet_ntop(AF_INET, ip, buf, sizeof(buf));
}

static void test_create_get(void **state)
{
	struct registry *reg = new_reg("10.0.0.0/24", NULL);
	const struct registry_entry *e, *out = (void *)1;
	char priv[KEYS_B62_KEYBUF], priv2[KEYS_B62_KEYBUF];
	uint8_t seed[KEYS_SEED_LEN];

	(void)state;
	e = create(reg, "alice", NULL, T0, priv);
	assert_string_equal(e->id, "alice");
	assert_string_equal(ipstr(e->ip), "10.0.0.2"); /* .1 is the hub */
	assert_true(e->enabled);
	assert_int_equal(e->flags, 0);
	assert_string_equal(e->description, "");
	assert_int_equal(e->server_tags.n + e->client_tags.n, 0);
	assert_int_equal(e->security.max_connections, REGISTRY_DEFAULT_MAX_CONNECTIONS);
	assert_int_equal(e->created, T0);
	assert_int_equal(e->updated, T0);
	/* the private key is the seed of the stored public key, both loadable by VpnCloud */
	assert_int_equal(keys_decode(seed, priv), 0);
	assert_true(keys_public_matches(seed, e->public_key));
	assert_true(seed[0] != 0 && e->public_key[0] != 0);
	assert_in_range(strlen(priv), 42, 43);
	assert_ptr_equal(registry_get(reg, "alice"), e);
	assert_ptr_equal(registry_find_key(reg, e->public_key), e);
	assert_null(registry_get(reg, "alic"));
	assert_null(registry_get(reg, "alicee"));

	/* a second client: the next address, another key */
	out = create(reg, "bob", NULL, T0 + 5, priv2);
	assert_string_equal(ipstr(out->ip), "10.0.0.3");
	assert_memory_not_equal(out->public_key, e->public_key, KEYS_PUB_LEN);
	assert_string_not_equal(priv, priv2);
	assert_int_equal(registry_count(reg), 2);

	/* exists: refused, nothing changed, no key handed out */
	assert_int_equal(registry_create(reg, "alice", NULL, T0, &out, priv, &err), -EEXIST);
	assert_string_equal(err.msg, "client 'alice' exists already");
	assert_null(out);
	assert_string_equal(priv, "");
	assert_int_equal(registry_count(reg), 2);
	assert_int_equal(registry_pool(reg)->used, 2);
	sodium_memzero(seed, sizeof(seed));
	registry_free(reg);
}

static void test_bad_ids(void **state)
{
	static const char *const bad[] = {
	    "",
	    "-alice",
	    ".hidden",
	    "..",
	    "_x",
	    "a b",
	    "a/b",
	    "ä",
	    "a:b",
	    "x\n",
	    "12345678901234567890123456789012345678901234567890123456789012345"};
	static const char *const good[] = {
	    "a", "0", "alice.laptop-2_x",
	    "1234567890123456789012345678901234567890123456789012345678901234"};
	struct registry *reg = new_reg("10.0.0.0/24", NULL);
	const struct registry_entry *e;
	char priv[KEYS_B62_KEYBUF];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_false(registry_id_valid(bad[i]));
		assert_int_equal(registry_create(reg, bad[i], NULL, T0, &e, priv, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "invalid id"));
		assert_string_equal(priv, "");
	}
	assert_int_equal(registry_count(reg), 0);
	assert_int_equal(registry_pool(reg)->used, 0);
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		assert_true(registry_id_valid(good[i]));
		create(reg, good[i], NULL, T0, priv);
	}
	/* registry_at walks in id (byte) order */
	assert_string_equal(registry_at(reg, 0)->id, "0");
	assert_string_equal(registry_at(reg, 1)->id, good[3]);
	assert_string_equal(registry_at(reg, 2)->id, "a");
	assert_string_equal(registry_at(reg, 3)->id, "alice.laptop-2_x");
	assert_null(registry_at(reg, 4));
	registry_free(reg);
}

/* An ACL checker standing in for src/acl.c: only "10.*" style entries pass. */
static int acl_calls;
static int fake_acl(const char *s, struct config_error *why)
{
	acl_calls++;
	if (strncmp(s, "10.", 3) == 0)
		return 0;
	snprintf(why->msg, sizeof(why->msg), "not in 10/8");
	return -EINVAL;
}

/* create with c must fail with msg; nothing is created. */
static void create_fails(struct registry *reg, const struct registry_change *c, const char *msg)
{
	const struct registry_entry *e;
	char priv[KEYS_B62_KEYBUF];
	size_t n = registry_count(reg);

	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_create(reg, "x", c, T0, &e, priv, &err), -EINVAL);
	assert_string_equal(err.msg, msg);
	assert_string_equal(priv, "");
	assert_null(e);
	assert_int_equal(registry_count(reg), n);
	assert_int_equal(registry_pool(reg)->used, n);
}

static void test_invalid_values(void **state)
{
	char *bad_tag[] = {"ok", "not ok"}, *dup_tag[] = {"a", "b", "a"};
	char *acl_space[] = {"10.0.0.1", "10.0.0.2 "}, *acl_other[] = {"10.0.0.0/8", "192.0.2.1"};
	char *acl_empty[] = {""}, *many[REGISTRY_LIST_MAX + 1];
	char longdesc[REGISTRY_DESC_MAX + 2];
	struct registry *reg = new_reg("10.0.0.0/24", NULL);
	struct registry_change c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.set = REGISTRY_SET_SERVER_TAGS;
	c.server_tags = (struct registry_strlist){bad_tag, 2};
	create_fails(reg, &c,
		     "'server-tags': invalid tag 'not ok' (1-64 characters of A-Z a-z 0-9 . _ -, "
		     "the first a letter or digit)");
	c.set = REGISTRY_SET_CLIENT_TAGS;
	c.client_tags = (struct registry_strlist){dup_tag, 3};
	create_fails(reg, &c, "'client-tags': tag 'a' is listed twice");
	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = "t";
	c.client_tags = (struct registry_strlist){many, ARRAY_SIZE(many)};
	create_fails(reg, &c, "'client-tags': too many entries (257, at most 256)");

	c.set = REGISTRY_SET_DESCRIPTION;
	c.description = "tab\there";
	create_fails(reg, &c,
		     "'description': not valid UTF-8 text (control characters are not allowed)");
	c.description = "\xc3\x28"; /* broken sequence */
	create_fails(reg, &c,
		     "'description': not valid UTF-8 text (control characters are not allowed)");
	c.description = "\xc0\xaf"; /* overlong '/' */
	create_fails(reg, &c,
		     "'description': not valid UTF-8 text (control characters are not allowed)");
	c.description = "\xed\xa0\x80"; /* a surrogate */
	create_fails(reg, &c,
		     "'description': not valid UTF-8 text (control characters are not allowed)");
	c.description = "\xc2\x85"; /* NEL, a C1 control */
	create_fails(reg, &c,
		     "'description': not valid UTF-8 text (control characters are not allowed)");
	memset(longdesc, 'x', sizeof(longdesc) - 1);
	longdesc[sizeof(longdesc) - 1] = '\0';
	c.description = longdesc;
	create_fails(reg, &c, "'description': too long (257 bytes, at most 256)");

	c.set = REGISTRY_SET_SOURCE_BLOCK;
	c.security.source_block = (struct registry_strlist){acl_space, 2};
	create_fails(reg, &c,
		     "'security.source-block': invalid entry '10.0.0.2 ' (printable ASCII, no "
		     "spaces)");
	c.set = REGISTRY_SET_DESTINATION_ALLOW;
	c.security.destination_allow = (struct registry_strlist){acl_empty, 1};
	create_fails(reg, &c, "'security.destination-allow': empty entry");

	c.set = REGISTRY_SET_RATE_LIMIT;
	c.flags = REGISTRY_HAS_RATE_LIMIT;
	c.security.rate = 0;
	c.security.burst = 10;
	create_fails(reg, &c, "'security.rate-limit': rate must be at least 1 (bytes per second)");
	c.security.rate = 10;
	c.security.burst = 0;
	create_fails(reg, &c, "'security.rate-limit': burst must be at least 1 (bytes)");
	c.set = REGISTRY_SET_EXPIRES;
	c.flags = REGISTRY_HAS_EXPIRES;
	c.expires = (time_t)400000000000LL; /* year ~14645 */
	create_fails(reg, &c, "'expires': out of range (years 0000-9999)");
	/* without the presence bit the values do not matter: they clear */
	c.flags = 0;
	create(reg, "ok1", &c, T0, NULL);
	registry_free(reg);

	/* with an ACL checker its verdict counts, after the generic rule */
	reg = new_reg("10.0.0.0/24", fake_acl);
	memset(&c, 0, sizeof(c));
	c.set = REGISTRY_SET_DESTINATION_BLOCK;
	c.security.destination_block = (struct registry_strlist){acl_other, 2};
	acl_calls = 0;
	create_fails(reg, &c,
		     "'security.destination-block': invalid entry '192.0.2.1': not in 10/8");
	assert_int_equal(acl_calls, 2);
	c.security.destination_block.n = 1;
	create(reg, "ok2", &c, T0, NULL);
	registry_free(reg);
}

static void test_update(void **state)
{
	char *tags[] = {"engineering", "berlin"}, *tags2[] = {"sales"}, *bad[] = {"a b"};
	char *allow[] = {"10.0.0.0/8", "192.168.1.*"};
	struct registry *reg = new_reg("10.0.0.0/24", NULL);
	const struct registry_entry *e, *out;
	struct registry_change c;
	uint8_t key[KEYS_PUB_LEN], ip[4];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.set = REGISTRY_SET_DESCRIPTION | REGISTRY_SET_SERVER_TAGS | REGISTRY_SET_EXPIRES;
	c.flags = REGISTRY_HAS_EXPIRES;
	c.description = "Alice's laptop";
	c.server_tags = (struct registry_strlist){tags, 2};
	c.expires = T0 + 86400;
	e = create(reg, "alice", &c, T0, NULL);
	assert_string_equal(e->description, "Alice's laptop");
	assert_int_equal(e->server_tags.n, 2);
	assert_string_equal(e->server_tags.v[1], "berlin");
	assert_true(e->flags & REGISTRY_HAS_EXPIRES);
	assert_int_equal(e->expires, T0 + 86400);
	/* the change is copied, not borrowed */
	assert_ptr_not_equal(e->server_tags.v[0], tags[0]);
	memcpy(key, e->public_key, sizeof(key));
	memcpy(ip, e->ip, 4);

	/* replace only the given fields */
	memset(&c, 0, sizeof(c));
	c.set = REGISTRY_SET_SERVER_TAGS | REGISTRY_SET_DESTINATION_ALLOW |
		REGISTRY_SET_MAX_CONNECTIONS | REGISTRY_SET_RATE_LIMIT;
	c.flags = REGISTRY_HAS_RATE_LIMIT;
	c.server_tags = (struct registry_strlist){tags2, 1};
	c.security.destination_allow = (struct registry_strlist){allow, 2};
	c.security.max_connections = 3;
	c.security.rate = 1000000;
	c.security.burst = 100000;
	assert_int_equal(registry_update(reg, "alice", &c, T0 + 60, &out, &err), 0);
	assert_ptr_equal(out, e);
	assert_int_equal(e->server_tags.n, 1);
	assert_string_equal(e->server_tags.v[0], "sales");
	assert_int_equal(e->security.destination_allow.n, 2);
	assert_string_equal(e->security.destination_allow.v[1], "192.168.1.*");
	assert_int_equal(e->security.max_connections, 3);
	assert_true(e->flags & REGISTRY_HAS_RATE_LIMIT);
	assert_int_equal(e->security.rate, 1000000);
	assert_int_equal(e->security.burst, 100000);
	assert_string_equal(e->description, "Alice's laptop"); /* untouched */
	assert_true(e->flags & REGISTRY_HAS_EXPIRES);
	assert_int_equal(e->created, T0);
	assert_int_equal(e->updated, T0 + 60);
	assert_memory_equal(e->public_key, key, sizeof(key));
	assert_memory_equal(e->ip, ip, 4);

	/* all or nothing: a valid description with an invalid tag list changes nothing */
	memset(&c, 0, sizeof(c));
	c.set = REGISTRY_SET_DESCRIPTION | REGISTRY_SET_CLIENT_TAGS;
	c.description = "new";
	c.client_tags = (struct registry_strlist){bad, 1};
	assert_int_equal(registry_update(reg, "alice", &c, T0 + 120, &out, &err), -EINVAL);
	assert_null(out);
	assert_non_null(strstr(err.msg, "'client-tags': invalid tag 'a b'"));
	assert_string_equal(e->description, "Alice's laptop");
	assert_int_equal(e->client_tags.n, 0);
	assert_int_equal(e->updated, T0 + 60);

	/* clearing: expires and rate-limit without their bits, a NULL description is "" */
	memset(&c, 0, sizeof(c));
	c.set = REGISTRY_SET_EXPIRES | REGISTRY_SET_RATE_LIMIT | REGISTRY_SET_DESCRIPTION |
		REGISTRY_SET_DESTINATION_ALLOW;
	assert_int_equal(registry_update(reg, "alice", &c, T0 + 180, NULL, &err), 0);
	assert_int_equal(e->flags, 0);
	assert_int_equal(e->security.rate, 0);
	assert_string_equal(e->description, "");
	assert_int_equal(e->security.destination_allow.n, 0);
	assert_null(e->security.destination_allow.v);
	assert_int_equal(e->updated, T0 + 180);

	/* an empty change still counts as an update; an unknown id is not found */
	assert_int_equal(registry_update(reg, "alice", NULL, T0 + 200, NULL, &err), 0);
	assert_int_equal(e->updated, T0 + 200);
	assert_int_equal(registry_update(reg, "bob", &c, T0, &out, &err), -ENOENT);
	assert_string_equal(err.msg, "no client 'bob'");
	/* unknown bits are refused rather than ignored */
	c.set = 1u << 30;
	assert_int_equal(registry_update(reg, "alice", &c, T0, NULL, &err), -EINVAL);
	registry_free(reg);
}

static void test_enable_disable(void **state)
{
	struct registry *reg = new_reg("10.0.0.0/24", NULL);
	const struct registry_entry *e, *out;

	(void)state;
	e = create(reg, "alice", NULL, T0, NULL);
	assert_int_equal(registry_disable(reg, "alice", T0 + 1, &out, &err), 0);
	assert_ptr_equal(out, e);
	assert_false(e->enabled);
	assert_int_equal(e->updated, T0 + 1);
	assert_int_equal(registry_disable(reg, "alice", T0 + 2, NULL, &err), 0);
	assert_false(e->enabled);
	assert_int_equal(registry_enable(reg, "alice", T0 + 3, &out, &err), 0);
	assert_true(e->enabled);
	assert_int_equal(e->updated, T0 + 3);
	assert_int_equal(e->created, T0);
	assert_int_equal(registry_enable(reg, "nobody", T0, &out, &err), -ENOENT);
	assert_null(out);
	assert_int_equal(registry_disable(reg, "nobody", T0, NULL, &err), -ENOENT);
	registry_free(reg);
}

static void test_remove(void **state)
{
	struct registry *reg = new_reg("10.0.0.0/24", NULL);
	const struct registry_entry *e;
	uint8_t key[KEYS_PUB_LEN];

	(void)state;
	create(reg, "a", NULL, T0, NULL);
	e = create(reg, "b", NULL, T0, NULL);
	create(reg, "c", NULL, T0, NULL);
	assert_string_equal(ipstr(e->ip), "10.0.0.3");
	memcpy(key, e->public_key, sizeof(key));
	assert_int_equal(registry_remove(reg, "b", &err), 0);
	assert_null(registry_get(reg, "b"));
	assert_null(registry_find_key(reg, key));
	assert_int_equal(registry_count(reg), 2);
	assert_int_equal(registry_pool(reg)->used, 2);
	assert_string_equal(registry_at(reg, 1)->id, "c");
	assert_int_equal(registry_remove(reg, "b", &err), -ENOENT);
	/* the freed address is the next one handed out */
	e = create(reg, "d", NULL, T0, NULL);
	assert_string_equal(ipstr(e->ip), "10.0.0.3");
	e = create(reg, "e", NULL, T0, NULL);
	assert_string_equal(ipstr(e->ip), "10.0.0.5");
	/* the remaining entries are still found by key */
	for (size_t i = 0; i < registry_count(reg); i++)
		assert_ptr_equal(registry_find_key(reg, registry_at(reg, i)->public_key),
				 registry_at(reg, i));
	registry_free(reg);
}

static void test_rotate(void **state)
{
	struct registry *reg = new_reg("10.0.0.0/24", NULL);
	const struct registry_entry *e, *out;
	char priv[KEYS_B62_KEYBUF], priv2[KEYS_B62_KEYBUF];
	uint8_t old[KEYS_PUB_LEN], seed[KEYS_SEED_LEN], ip[4];

	(void)state;
	create(reg, "a", NULL, T0, NULL);
	e = create(reg, "b", NULL, T0, priv);
	create(reg, "c", NULL, T0, NULL);
	memcpy(old, e->public_key, sizeof(old));
	memcpy(ip, e->ip, 4);
	assert_int_equal(registry_rotate_key(reg, "b", T0 + 99, &out, priv2, &err), 0);
	assert_ptr_equal(out, e);
	assert_string_not_equal(priv, priv2);
	assert_memory_not_equal(e->public_key, old, sizeof(old));
	assert_int_equal(keys_decode(seed, priv2), 0);
	assert_true(keys_public_matches(seed, e->public_key));
	assert_true(seed[0] != 0 && e->public_key[0] != 0);
	assert_false(keys_decode(seed, priv) == 0 && keys_public_matches(seed, e->public_key));
	assert_string_equal(e->id, "b");
	assert_memory_equal(e->ip, ip, 4);
	assert_int_equal(e->created, T0);
	assert_int_equal(e->updated, T0 + 99);
	assert_null(registry_find_key(reg, old));
	for (size_t i = 0; i < registry_count(reg); i++)
		assert_ptr_equal(registry_find_key(reg, registry_at(reg, i)->public_key),
				 registry_at(reg, i));
	assert_int_equal(registry_rotate_key(reg, "zz", T0, &out, priv2, &err), -ENOENT);
	assert_string_equal(priv2, "");
	assert_null(out);
	sodium_memzero(seed, sizeof(seed));
	registry_free(reg);
}

static void test_exhausted(void **state)
{
	struct registry *reg = new_reg("10.0.0.0/30", NULL); /* .1 hub, .2 the only one */
	const struct registry_entry *e;
	char priv[KEYS_B62_KEYBUF];

	(void)state;
	e = create(reg, "a", NULL, T0, NULL);
	assert_string_equal(ipstr(e->ip), "10.0.0.2");
	assert_int_equal(registry_create(reg, "b", NULL, T0, &e, priv, &err), -ENOSPC);
	assert_string_equal(err.msg, "no free address left in 10.0.0.0/30 (1 clients)");
	assert_string_equal(priv, "");
	assert_int_equal(registry_count(reg), 1);
	assert_int_equal(registry_remove(reg, "a", &err), 0);
	e = create(reg, "b", NULL, T0, NULL);
	assert_string_equal(ipstr(e->ip), "10.0.0.2");
	registry_free(reg);

	/* a bad subnet is refused when the registry is made */
	{
		struct registry_params p = {"10.0.0.0/31", NULL, NULL};
		struct registry *r2 = (void *)1;

		assert_int_equal(registry_new(&r2, &p, &err), -EINVAL);
		assert_null(r2);
		assert_non_null(strstr(err.msg, "too small"));
	}
}

static void test_find_key_many(void **state)
{
	struct registry *reg = new_reg("10.0.0.0/22", NULL);
	uint8_t probe[KEYS_PUB_LEN];
	char id[16];

	(void)state;
	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "c%03d", (i * 7919) % 1000);
		create(reg, id, NULL, T0, NULL);
	}
	assert_int_equal(registry_count(reg), 300);
	for (size_t i = 0; i < registry_count(reg); i++) {
		const struct registry_entry *e = registry_at(reg, i);

		assert_ptr_equal(registry_find_key(reg, e->public_key), e);
		assert_ptr_equal(registry_get(reg, e->id), e);
		if (i > 0)
			assert_true(strcmp(registry_at(reg, i - 1)->id, e->id) < 0);
		/* a key differing in one bit is not found */
		memcpy(probe, e->public_key, sizeof(probe));
		probe[KEYS_PUB_LEN - 1] ^= 1;
		assert_null(registry_find_key(reg, probe));
	}
	memset(probe, 0, sizeof(probe));
	assert_null(registry_find_key(reg, probe));
	memset(probe, 0xff, sizeof(probe));
	assert_null(registry_find_key(reg, probe));
	registry_free(reg);
}

static void test_expired(void **state)
{
	struct registry *reg = new_reg("10.0.0.0/24", NULL);
	const struct registry_entry *e;
	struct registry_change c = {
	    .set = REGISTRY_SET_EXPIRES, .flags = REGISTRY_HAS_EXPIRES, .expires = T0 + 100};

	(void)state;
	e = create(reg, "a", NULL, T0, NULL);
	assert_false(registry_expired(e, T0));
	assert_false(registry_expired(e, (time_t)1 << 40));
	assert_int_equal(registry_update(reg, "a", &c, T0, NULL, &err), 0);
	assert_false(registry_expired(e, T0 + 99));
	assert_true(registry_expired(e, T0 + 100));
	assert_true(registry_expired(e, T0 + 101));
	registry_free(reg);
}

static void time_ok(const char *s, time_t want, const char *canon)
{
	char buf[REGISTRY_TIME_LEN];
	time_t t = 0;

	if (registry_time_parse(s, &t) != 0)
		print_error("'%s' refused\n", s);
	assert_int_equal(registry_time_parse(s, &t), 0);
	assert_int_equal(t, want);
	assert_int_equal(registry_time_format(t, buf), 0);
	assert_string_equal(buf, canon);
}

static void test_time(void **state)
{
	static const char *const bad[] = {
	    "",
	    "2026-12-03",
	    "2026-12-03T10:00:00",
	    "2026-12-03 10:00:00Z",
	    "2026-12-03T10:00Z",
	    "2026-13-01T00:00:00Z",
	    "2026-00-01T00:00:00Z",
	    "2026-02-29T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "2026-12-03T24:00:00Z",
	    "2026-12-03T10:60:00Z",
	    "2026-12-03T10:00:61Z",
	    "2026-12-03T10:00:00.Z",
	    "2026-12-03T10:00:00+0100",
	    "2026-12-03T10:00:00+24:00",
	    "2026-12-03T10:00:00Zjunk",
	    "26-12-03T10:00:00Z",
	    "+2026-12-03T10:00:00Z",
	    "0000-01-01T00:00:00+00:01", /* year -1 after the offset */
	    "9999-12-31T23:59:59-00:01", /* year 10000 */
	};
	char buf[REGISTRY_TIME_LEN];
	time_t t;

	(void)state;
	time_ok("2026-12-03T10:00:00Z", T0, "2026-12-03T10:00:00Z");
	time_ok("2026-12-03t10:00:00z", T0, "2026-12-03T10:00:00Z");
	time_ok("2026-12-03T10:00:00.999Z", T0, "2026-12-03T10:00:00Z");
	time_ok("2026-12-03T11:30:00+01:30", T0, "2026-12-03T10:00:00Z");
	time_ok("2026-12-03T05:00:00-05:00", T0, "2026-12-03T10:00:00Z");
	time_ok("1970-01-01T00:00:00Z", 0, "1970-01-01T00:00:00Z");
	time_ok("2024-02-29T00:00:00Z", 1709164800, "2024-02-29T00:00:00Z");
	time_ok("2000-02-29T12:00:00Z", 951825600, "2000-02-29T12:00:00Z");
	time_ok("1969-12-31T23:59:59Z", -1, "1969-12-31T23:59:59Z");
	time_ok("2016-12-31T23:59:60Z", 1483228800, "2017-01-01T00:00:00Z"); /* leap second */
	time_ok("9999-12-31T23:59:59Z", 253402300799LL, "9999-12-31T23:59:59Z");
	time_ok("0000-01-01T00:00:00Z", -62167219200LL, "0000-01-01T00:00:00Z");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		t = 12345;
		if (registry_time_parse(bad[i], &t) != -EINVAL)
			print_error("'%s' accepted\n", bad[i]);
		assert_int_equal(registry_time_parse(bad[i], &t), -EINVAL);
		assert_int_equal(t, 12345);
	}
	assert_int_equal(registry_time_format(253402300800LL, buf), -ERANGE);
	assert_string_equal(buf, "");
	assert_int_equal(registry_time_format(-62167219201LL, buf), -ERANGE);
}

/* ---- bundles ---- */

static const struct registry_entry *bundle_setup(struct registry **reg, struct registry_hub *hub,
						 char priv[KEYS_B62_KEYBUF])
{
	uint8_t seed[KEYS_SEED_LEN];

	*reg = new_reg("10.0.0.0/16", NULL);
	create(*reg, "first", NULL, T0, NULL);
	memset(hub, 0, sizeof(*hub));
	hub->name = "office";
	hub->endpoint = "hub.example.com:3210";
	hub->prefix = 16;
	assert_int_equal(keys_generate(seed, hub->public_key), 0);
	sodium_memzero(seed, sizeof(seed));
	return create(*reg, "alice", NULL, T0, priv);
}

/* Loads a bundle with meshvpn's config loader; returns config_validate's result. */
static int load_bundle(struct config *cfg, const char *text)
{
	int r;

	config_init(cfg);
	memset(&err, 0, sizeof(err));
	r = config_load_buffer(cfg, text, strlen(text), "bundle.net", &err);
	if (r != 0)
		print_error("%s\n%s\n", err.msg, text);
	assert_int_equal(r, 0);
	return config_validate(cfg, &err);
}

/* Every line is a comment or one of the keys VpnCloud 2.3 knows that a bundle uses. */
static void only_vpncloud_keys(const char *text)
{
	static const char *const keys[] = {
	    "device:",	      "  type: tun",	 "ip: ",   "crypto:", "  private-key: ",
	    "  public-key: ", "  trusted-keys:", "    - ", "peers:",  "  - ",
	    "claims:",	      "mode: router"};
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p), i;
		const char *q = p;

		while (*q == ' ' && q < p + len)
			q++;
		if (*q != '#') {
			for (i = 0; i < ARRAY_SIZE(keys); i++)
				if (strncmp(p, keys[i], strlen(keys[i])) == 0)
					break;
			if (i == ARRAY_SIZE(keys))
				print_error("unexpected line: %.*s\n", (int)len, p);
			assert_true(i < ARRAY_SIZE(keys));
		}
		p += len + (nl != NULL);
	}
}

static void test_bundle(void **state)
{
	struct registry *reg;
	struct registry_hub hub;
	char priv[KEYS_B62_KEYBUF], pub[KEYS_B62_KEYBUF], hubpub[KEYS_B62_KEYBUF];
	const struct registry_entry *e = bundle_setup(&reg, &hub, priv);
	struct config cfg;
	char *text;
	char want[256];

	(void)state;
	assert_int_equal(registry_bundle(e, &hub, priv, T0 + 3600, &text, &err), 0);
	only_vpncloud_keys(text);
	assert_int_equal(text[0], '#');
	assert_non_null(strstr(text, "client configuration for 'alice'"));
	assert_non_null(strstr(text, "office at hub.example.com:3210"));
	assert_non_null(strstr(text, "2026-12-03T11:00:00Z"));
	assert_non_null(strstr(text, keys_encode(hubpub, hub.public_key)));
	snprintf(want, sizeof(want), "  private-key: %s\n", priv);
	assert_non_null(strstr(text, want));

	assert_int_equal(load_bundle(&cfg, text), 0);
	assert_int_equal(cfg.device_type, CONFIG_DEVICE_TUN);
	assert_true(cfg.flags & CONFIG_HAS_IP);
	assert_string_equal(ipstr(cfg.ip), "10.0.0.3");
	assert_int_equal(cfg.ip_prefix, 16);
	assert_string_equal(cfg.private_key, priv);
	assert_string_equal(cfg.public_key, keys_encode(pub, e->public_key));
	assert_int_equal(cfg.n_trusted_keys, 1);
	assert_memory_equal(cfg.trusted_keys[0], hub.public_key, KEYS_PUB_LEN);
	assert_int_equal(cfg.peers.n, 1);
	assert_string_equal(cfg.peers.v[0], "hub.example.com:3210");
	assert_int_equal(cfg.n_claims, 1);
	assert_int_equal(cfg.claims[0].base.len, 4);
	assert_memory_equal(cfg.claims[0].base.b, e->ip, 4);
	assert_int_equal(cfg.claims[0].prefix, 32);
	assert_int_equal(cfg.mode, CONFIG_MODE_ROUTER);
	config_free(&cfg);
	registry_bundle_free(text);

	/* export: no private key, a comment where it goes; loads, but cannot start as it is */
	assert_int_equal(registry_bundle(e, &hub, NULL, T0, &text, &err), 0);
	only_vpncloud_keys(text);
	assert_null(strstr(text, priv));
	assert_null(strstr(text, "\n  private-key:"));
	assert_non_null(strstr(text, "  # private-key: "));
	assert_null(strstr(text, "keep it secret"));
	assert_int_equal(load_bundle(&cfg, text), -ENOKEY);
	assert_null(cfg.private_key);
	assert_string_equal(cfg.public_key, pub);
	config_free(&cfg);
	registry_bundle_free(text);
	registry_free(reg);
}

static void test_bundle_variants(void **state)
{
	struct registry *reg;
	struct registry_hub hub;
	char priv[KEYS_B62_KEYBUF], other[KEYS_B62_KEYBUF];
	const struct registry_entry *e = bundle_setup(&reg, &hub, priv);
	const struct registry_entry *f;
	struct config cfg;
	char *text = (void *)1;

	(void)state;
	/* an IPv6 endpoint (quoted in the list), no hub name, another prefix */
	hub.endpoint = "[2001:db8::1]:3210";
	hub.name = NULL;
	hub.prefix = 24;
	assert_int_equal(registry_bundle(e, &hub, priv, T0, &text, &err), 0);
	assert_non_null(strstr(text, "# Hub: [2001:db8::1]:3210, public key "));
	assert_int_equal(load_bundle(&cfg, text), 0);
	assert_string_equal(cfg.peers.v[0], "[2001:db8::1]:3210");
	assert_int_equal(cfg.ip_prefix, 24);
	config_free(&cfg);
	registry_bundle_free(text);

	/* another client's key, a key that is no key, a bad endpoint: refused */
	f = create(reg, "bob", NULL, T0, other);
	assert_int_equal(registry_bundle(f, &hub, priv, T0, &text, &err), -EKEYREJECTED);
	assert_null(text);
	assert_string_equal(err.msg, "the private key does not belong to client 'bob'");
	assert_int_equal(registry_bundle(f, &hub, "not-base62!", T0, &text, &err), -EINVAL);
	hub.endpoint = "hub example";
	assert_int_equal(registry_bundle(f, &hub, other, T0, &text, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "hub endpoint: invalid address 'hub example'"));
	hub.endpoint = NULL;
	assert_int_equal(registry_bundle(f, &hub, other, T0, &text, &err), -EINVAL);
	hub.endpoint = "hub.example.com";
	hub.prefix = 33;
	assert_int_equal(registry_bundle(f, &hub, other, T0, &text, &err), -EINVAL);
	/* a host without a port: VpnCloud's default port applies */
	hub.prefix = 24;
	assert_int_equal(registry_bundle(f, &hub, other, T0, &text, &err), 0);
	assert_int_equal(load_bundle(&cfg, text), 0);
	assert_string_equal(cfg.peers.v[0], "hub.example.com");
	assert_string_equal(cfg.private_key, other);
	config_free(&cfg);
	registry_bundle_free(text);
	registry_bundle_free(NULL);
	registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_get),
	    cmocka_unit_test(test_bad_ids),
	    cmocka_unit_test(test_invalid_values),
	    cmocka_unit_test(test_update),
	    cmocka_unit_test(test_enable_disable),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_rotate),
	    cmocka_unit_test(test_exhausted),
	    cmocka_unit_test(test_find_key_many),
	    cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_bundle),
	    cmocka_unit_test(test_bundle_variants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

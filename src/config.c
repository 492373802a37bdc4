// SPDX-License-Identifier: GPL-3.0-or-later
/* config.c - configuration layers: defaults, freeing, merging and validation (by the table). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/config.h"
#include "meshvpn/options.h"

#include "config_int.h"

/* ---- layers: init, free, merge ---- */

void config_layer_init(struct config *layer)
{
	memset(layer, 0, sizeof(*layer));
	layer->log_level = LOG_INFO;
}

void config_init(struct config *cfg)
{
	config_layer_init(cfg);
	cfg->ip_prefix = CONFIG_DEFAULT_IP_PREFIX;
	/*
	 * The table's defaults, parsed like a value from the file (test_options checks that
	 * each one parses). A string that cannot be allocated stays NULL: config_validate()
	 * reports it.
	 */
	for (size_t i = 0; i < opt_count; i++) {
		const struct opt *o = &opt_table[i];

		if (o->def && opt_set(o, cfg, o->def, NULL) < 0)
			continue;
	}
	cfg->flags = 0; /* defaults are not "present" */
}

char *config_secret_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *c = sodium_init() < 0 ? NULL : sodium_malloc(n);

	if (c)
		memcpy(c, s, n);
	return c;
}

void config_secret_free(char *s)
{
	sodium_free(s); /* wipes the whole block; accepts NULL */
}

void config_free_str(char **p, bool secret)
{
	if (!*p)
		return;
	if (secret)
		config_secret_free(*p);
	else
		free(*p);
	*p = NULL;
}

static void strlist_free(struct config_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* The field of setting o in cfg. */
static void *field(const struct opt *o, struct config *cfg)
{
	return (char *)cfg + o->off;
}

static const void *cfield(const struct opt *o, const struct config *cfg)
{
	return (const char *)cfg + o->off;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < opt_count; i++) {
		const struct opt *o = &opt_table[i];
		char **hooks;

		switch (o->kind) {
		case OPT_STR:
		case OPT_SECRET:
			config_free_str(field(o, cfg), o->kind == OPT_SECRET);
			break;
		case OPT_STRLIST:
			strlist_free(field(o, cfg));
			break;
		case OPT_VEC:
			free(*(void **)field(o, cfg));
			break;
		case OPT_HOOKS:
			hooks = field(o, cfg);
			for (int ev = 0; ev < CONFIG_HOOK_COUNT; ev++)
				config_free_str(&hooks[ev], false);
			break;
		default:
			break; /* nothing allocated */
		}
	}
	free(cfg->exposed_file);
	config_layer_init(cfg);
}

int config_copy_str(char **dst, const char *src, bool secret)
{
	char *c;

	if (!src)
		return 0;
	c = secret ? config_secret_dup(src) : strdup(src);
	if (!c)
		return -ENOMEM;
	config_free_str(dst, secret);
	*dst = c;
	return 0;
}

int config_grow(void **arr, size_t n, size_t add, size_t sz)
{
	void *p;

	if (add == 0)
		return 0;
	if (n + add > CONFIG_LIST_MAX)
		return -E2BIG;
	p = realloc(*arr, (n + add) * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

int config_strlist_push(struct config_strlist *l, const char *s)
{
	char *c;
	int r = config_grow((void **)&l->v, l->n, 1, sizeof(*l->v));

	if (r < 0)
		return r;
	c = strdup(s);
	if (!c)
		return -ENOMEM;
	l->v[l->n++] = c;
	return 0;
}

int config_list_error(struct config_error *err, int r, const char *what)
{
	if (r == -E2BIG)
		return config_fail(err, r, "too many %s (at most %d)", what, CONFIG_LIST_MAX);
	return config_fail(err, r, "out of memory");
}

static int strlist_append(struct config_strlist *dst, const struct config_strlist *src,
			  const char *what, struct config_error *err)
{
	int r = config_grow((void **)&dst->v, dst->n, src->n, sizeof(*dst->v));

	if (r < 0)
		return config_list_error(err, r, what);
	for (size_t i = 0; i < src->n; i++) {
		r = config_strlist_push(dst, src->v[i]);
		if (r < 0)
			return config_list_error(err, r, what);
	}
	return 0;
}

/* Merges the setting o of src into dst, as its kind requires (CONFIG.md 1). */
static int merge_one(struct config *dst, const struct config *src, const struct opt *o,
		     struct config_error *err)
{
	size_t *dn = (size_t *)(void *)((char *)dst + o->count_off);
	const size_t *sn = (const size_t *)(const void *)((const char *)src + o->count_off);
	char *const *hooks;
	int r;

	switch (o->kind) {
	case OPT_STR:
	case OPT_SECRET:
		if (config_copy_str(field(o, dst), *(char *const *)cfield(o, src),
				    o->kind == OPT_SECRET) < 0)
			return config_fail(err, -ENOMEM, "out of memory");
		return 0;
	case OPT_U32:
	case OPT_BOOL:
	case OPT_ENUM:
		if (src->flags & o->has)
			memcpy(field(o, dst), cfield(o, src), o->size);
		return 0;
	case OPT_CUSTOM:
		if (src->flags & o->has)
			o->merge(dst, src);
		return 0;
	case OPT_STRLIST:
		return strlist_append(field(o, dst), cfield(o, src), o->what, err);
	case OPT_VEC:
		r = config_grow(field(o, dst), *dn, *sn, o->size);
		if (r < 0)
			return config_list_error(err, r, o->what);
		if (*sn) {
			memcpy(*(char **)field(o, dst) + *dn * o->size,
			       *(char *const *)cfield(o, src), *sn * o->size);
			*dn += *sn;
		}
		return 0;
	case OPT_SET:
		/* a non-empty later list replaces (the algorithms) */
		if (*sn) {
			memcpy(field(o, dst), cfield(o, src), o->cap * o->size);
			*dn = *sn;
		}
		return 0;
	case OPT_HOOKS:
		hooks = cfield(o, src);
		for (int ev = 0; ev < CONFIG_HOOK_COUNT; ev++)
			if (config_copy_str((char **)field(o, dst) + ev, hooks[ev], false) < 0)
				return config_fail(err, -ENOMEM, "out of memory");
		return 0;
	case OPT_ACTION:
	default:
		return 0;
	}
}

int config_merge(struct config *dst, const struct config *src, struct config_error *err)
{
	dst->flags |= src->flags;
	for (size_t i = 0; i < opt_count; i++) {
		int r = merge_one(dst, src, &opt_table[i], err);

		if (r < 0)
			return r;
	}
	return 0;
}

/* The typed list adders: the generic ones of the setting with that key. */
static int add_to(struct config *cfg, const char *key, const char *s, bool cli,
		  struct config_error *why)
{
	const struct opt *o = opt_by_key(key);

	if (!o)
		return config_fail(why, -EINVAL, "internal error: no setting '%s'", key);
	return opt_add(o, cfg, s, cli, why);
}

int config_add_peer(struct config *cfg, const char *s, struct config_error *why)
{
	return add_to(cfg, "peers", s, false, why);
}

int config_add_advertise_address(struct config *cfg, const char *s, struct config_error *why)
{
	return add_to(cfg, "advertise-addresses", s, false, why);
}

int config_add_claim(struct config *cfg, const char *s, struct config_error *why)
{
	return add_to(cfg, "claims", s, false, why);
}

int config_add_trusted_key(struct config *cfg, const char *s, struct config_error *why)
{
	return add_to(cfg, "crypto.trusted-keys", s, false, why);
}

int config_add_algorithm(struct config *cfg, const char *s, bool cli_only, struct config_error *why)
{
	return add_to(cfg, "crypto.algorithms", s, cli_only, why);
}

/* ---- validation ---- */

int config_validate(struct config *cfg, struct config_error *err)
{
	static const uint8_t default_algos[] = {CONFIG_ALGO_AES128, CONFIG_ALGO_AES256,
						CONFIG_ALGO_CHACHA20};

	for (size_t i = 0; i < opt_count; i++) /* a string default that was not allocated */
		if (opt_table[i].def && opt_table[i].kind == OPT_STR &&
		    !*(char *const *)cfield(&opt_table[i], cfg))
			return config_fail(err, -ENOMEM, "out of memory");
	if (!cfg->password && !cfg->private_key)
		return config_fail(
		    err, -ENOKEY,
		    "no password or private key configured: set crypto.password or "
		    "crypto.private-key in the config file, or use --password/--private-key "
		    "(or the environment variables PASSWORD/PRIVATE_KEY)");
	if (cfg->private_key && cfg->public_key) {
		uint8_t seed[KEYS_SEED_LEN], pub[KEYS_PUB_LEN];
		bool ok = keys_decode(seed, cfg->private_key) == 0 &&
			  keys_decode(pub, cfg->public_key) == 0 && keys_public_matches(seed, pub);

		sodium_memzero(seed, sizeof(seed));
		if (!ok)
			return config_fail(err, -EKEYREJECTED,
					   "the public key does not match the private key");
	}
	if (!(cfg->flags & CONFIG_HAS_KEEPALIVE)) {
		int64_t k = (int64_t)cfg->peer_timeout / 2 - 60;
		cfg->keepalive = (uint32_t)(k < 1 ? 1 : k);
	}
	if (cfg->n_algorithms == 0) {
		memcpy(cfg->algorithms, default_algos, sizeof(default_algos));
		cfg->n_algorithms = ARRAY_SIZE(default_algos);
	}
	return 0;
}

bool config_is_hub(const struct config *cfg)
{
	return cfg->hub_registry || cfg->hub_subnet || cfg->hub_endpoint || cfg->hub_rate_limit ||
	       cfg->hub_connection_block.n;
}

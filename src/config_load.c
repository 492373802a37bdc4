// SPDX-License-Identifier: GPL-3.0-or-later
/* config_load.c - the VpnCloud 2.x YAML file, walked along the keys of the options table. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <yaml.h>

#include "meshvpn/config_load.h"
#include "meshvpn/options.h"

#include "config_int.h"

struct ld {
	yaml_document_t *doc;
	struct config *l; /* the layer being filled */
	const char *name;
	struct config_error *err;
};

static unsigned long line_of(const yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

static int PRINTF(3, 4) ld_fail(struct ld *ld, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return config_fail(ld->err, -EINVAL, "%s:%lu: %s", ld->name, line_of(n), msg);
}

static int ld_bad_value(struct ld *ld, const yaml_node_t *n, const char *path,
			const struct config_error *why, int r)
{
	ld_fail(ld, n, "'%s': %s", path, why->msg);
	return r;
}

static int ld_oom(struct ld *ld)
{
	return config_fail(ld->err, -ENOMEM, "%s: out of memory", ld->name);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE)
		return false;
	if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
		return true;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = scalar(n);
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

static const char *kind_of(const yaml_node_t *n)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (n->type == YAML_MAPPING_NODE)
		return "a map";
	if (is_null(n))
		return "null";
	return "a scalar";
}

/* The string value of a scalar node (no embedded NUL bytes). */
static int get_str(struct ld *ld, const yaml_node_t *n, const char *path, const char **out)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return ld_fail(ld, n, "'%s': expected a string, found %s", path, kind_of(n));
	if (strlen(scalar(n)) != n->data.scalar.length)
		return ld_fail(ld, n, "'%s': the value contains a NUL character", path);
	*out = scalar(n);
	return 0;
}

/*
 * Calls opt_add for every element of a list of strings; an error names the element's line.
 */
static int for_each_str(struct ld *ld, const yaml_node_t *v, const struct opt *o)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return ld_fail(ld, v, "'%s': expected a list, found %s", o->key, kind_of(v));
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		const yaml_node_t *item = yaml_document_get_node(ld->doc, *it);
		struct config_error why;
		const char *s;
		int r;

		if (!item)
			return ld_fail(ld, v, "'%s': broken YAML document", o->key);
		r = get_str(ld, item, o->key, &s);
		if (r < 0)
			return r;
		r = opt_add(o, ld->l, s, false, &why);
		if (r < 0)
			return ld_bad_value(ld, item, o->key, &why, r);
	}
	return 0;
}

static bool is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int k_hooks(struct ld *ld, const yaml_node_t *v, const char *path);

/* Stores the value v of the setting o in the layer, as its kind requires. */
static int apply_key(struct ld *ld, const struct opt *o, const yaml_node_t *v)
{
	struct config_error why;
	const char *s;
	int r;

	switch (o->kind) {
	case OPT_STR:
	case OPT_SECRET:
	case OPT_ENUM:
	case OPT_CUSTOM:
		r = get_str(ld, v, o->key, &s);
		if (r < 0)
			return r;
		break;
	case OPT_U32:
		/* durations are numbers: a quoted '300' is a mistake worth pointing out */
		if (!is_plain(v))
			return ld_fail(
			    ld, v, "'%s': expected an integer (seconds), found %s", o->key,
			    v->type == YAML_SCALAR_NODE ? "a quoted string" : kind_of(v));
		s = scalar(v);
		break;
	case OPT_BOOL:
		if (is_plain(v) && opt_set(o, ld->l, scalar(v), &why) == 0)
			return 0;
		return ld_fail(ld, v, "'%s': expected true or false, found %s", o->key,
			       v->type == YAML_SCALAR_NODE && !is_null(v) ? "another value"
									  : kind_of(v));
	case OPT_STRLIST:
	case OPT_VEC:
	case OPT_SET:
		return for_each_str(ld, v, o);
	case OPT_HOOKS:
		return k_hooks(ld, v, o->key);
	default:
		return ld_fail(ld, v, "'%s': internal error: no file form", o->key);
	}
	r = opt_set(o, ld->l, s, &why);
	if (r == -ENOMEM)
		return ld_oom(ld);
	return r < 0 ? ld_bad_value(ld, v, o->key, &why, r) : 0;
}

static int unknown_key(struct ld *ld, const yaml_node_t *k, const char *key, const char *where,
		       const char *const *cands, size_t n)
{
	char b[CONFIG_SHOW_LEN], hint[96];

	config_suggest(hint, sizeof(hint), key, cands, n);
	return ld_fail(ld, k, "unknown key '%s' in '%s'%s", config_show(b, key), where, hint);
}

/* The key of a mapping pair as a string, or an error. */
static int map_key(struct ld *ld, const yaml_node_pair_t *p, const yaml_node_t *map,
		   const yaml_node_t **kn, const yaml_node_t **vn, const char **key)
{
	*kn = yaml_document_get_node(ld->doc, p->key);
	*vn = yaml_document_get_node(ld->doc, p->value);
	if (!*kn || !*vn)
		return ld_fail(ld, map, "broken YAML document");
	if ((*kn)->type != YAML_SCALAR_NODE || strlen(scalar(*kn)) != (*kn)->data.scalar.length)
		return ld_fail(ld, *kn, "keys must be plain strings");
	*key = scalar(*kn);
	return 0;
}

static int dup_key(struct ld *ld, const yaml_node_t *k, const char *key, const char *where,
		   unsigned long first)
{
	char b[CONFIG_SHOW_LEN];

	return ld_fail(ld, k, "duplicate key '%s' in '%s' (first given on line %lu)",
		       config_show(b, key), where, first);
}

/* Applies the settings of a map of the file; prefix is "" (top level) or "section.". */
static int walk_map(struct ld *ld, const yaml_node_t *map, const char *prefix)
{
	unsigned long first[OPT_MAP_MAX] = {0};
	struct opt_map m;

	if (opt_map_keys(&m, prefix) < 0)
		return ld_fail(ld, map, "internal error: too many keys below '%s'", prefix);
	if (map->type != YAML_MAPPING_NODE)
		return ld_fail(ld, map, "'%s': expected a map of settings, found %s", m.where,
			       kind_of(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn, *vn;
		const char *key;
		char sub[OPT_KEY_LEN * 2];
		size_t i;
		int r = map_key(ld, p, map, &kn, &vn, &key);

		if (r < 0)
			return r;
		for (i = 0; i < m.n && strcmp(key, m.names[i]) != 0; i++)
			;
		if (i == m.n)
			return unknown_key(ld, kn, key, m.where, m.cands, m.n);
		if (first[i])
			return dup_key(ld, kn, key, m.where, first[i]);
		first[i] = line_of(kn);
		if (is_null(vn))
			continue; /* ~ = default */
		if (m.opt[i]) {
			r = apply_key(ld, m.opt[i], vn);
		} else {
			snprintf(sub, sizeof(sub), "%s%s.", prefix, key);
			r = walk_map(ld, vn, sub);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int k_hooks(struct ld *ld, const yaml_node_t *v, const char *path)
{
	unsigned long first[CONFIG_HOOK_COUNT] = {0};

	if (v->type != YAML_MAPPING_NODE)
		return ld_fail(ld, v, "'%s': expected a map of event: script, found %s", path,
			       kind_of(v));
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn, *vn;
		const char *key, *s;
		char sub[64], b[CONFIG_SHOW_LEN], hint[96];
		int ev, r = map_key(ld, p, v, &kn, &vn, &key);

		if (r < 0)
			return r;
		ev = config_hook_event_parse(key, strlen(key));
		if (ev < 0) {
			config_suggest(hint, sizeof(hint), key, config_hook_names,
				       CONFIG_HOOK_COUNT);
			return ld_fail(
			    ld, kn,
			    "unknown hook event '%s' in 'hooks'%s (events: device_setup, "
			    "device_configured, vpn_started, peer_connecting, "
			    "peer_connected, peer_disconnected, vpn_shutdown)",
			    config_show(b, key), hint);
		}
		if (first[ev])
			return dup_key(ld, kn, key, "hooks", first[ev]);
		first[ev] = line_of(kn);
		if (is_null(vn))
			continue;
		snprintf(sub, sizeof(sub), "hooks.%s", key);
		r = get_str(ld, vn, sub, &s);
		if (r < 0)
			return r;
		if (config_copy_str(&ld->l->hooks[ev], s, false) < 0)
			return ld_oom(ld);
	}
	return 0;
}

/* Keys that only a VpnCloud 1.x file has, with their 2.x replacement. */
static const struct {
	const char *old, *repl;
} v1_keys[] = {
    {"device_type", "device.type"},
    {"device_name", "device.name"},
    {"device_path", "device.path"},
    {"shared_key", "crypto.password"},
    {"magic", NULL},
    {"port", "listen"},
    {"dst_timeout", "switch-timeout"},
    {"subnets", "claims"},
    {"beacon_store", "beacon.store"},
    {"beacon_load", "beacon.load"},
    {"beacon_interval", "beacon.interval"},
    {"statsd_server", "statsd.server"},
    {"statsd_prefix", "statsd.prefix"},
};

/* A 1.x file is not converted automatically (unlike VpnCloud): say so clearly. */
static int check_v1(struct ld *ld, const yaml_node_t *root)
{
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = yaml_document_get_node(ld->doc, p->key);
		const yaml_node_t *vn = yaml_document_get_node(ld->doc, p->value);
		const char *repl = NULL, *key;
		bool old = false;

		if (!kn || !vn || kn->type != YAML_SCALAR_NODE)
			continue;
		key = scalar(kn);
		for (size_t i = 0; i < ARRAY_SIZE(v1_keys); i++) {
			if (strcmp(key, v1_keys[i].old) == 0) {
				old = true;
				repl = v1_keys[i].repl;
			}
		}
		/* 1.x: "crypto: chacha20"; 2.x: a map */
		if (strcmp(key, "crypto") == 0 && vn->type == YAML_SCALAR_NODE && !is_null(vn))
			old = true;
		if (old)
			return ld_fail(ld, kn,
				       "key '%s' looks like a VpnCloud 1.x file, convert it first "
				       "(1.x files are not supported; 'vpncloud migrate-config "
				       "--config-file FILE' converts them)%s%s%s",
				       key, repl ? "; the 2.x key is '" : "", repl ? repl : "",
				       repl ? "'" : "");
	}
	return 0;
}

static int syntax_error(const yaml_parser_t *p, const char *name, struct config_error *err)
{
	if (p->error == YAML_MEMORY_ERROR)
		return config_fail(err, -ENOMEM, "%s: out of memory", name);
	if (p->error == YAML_READER_ERROR)
		return config_fail(err, -EINVAL, "%s: invalid YAML input: %s (at byte %zu)", name,
				   p->problem ? p->problem : "unknown error", p->problem_offset);
	if (p->context)
		return config_fail(err, -EINVAL, "%s:%lu:%lu: YAML syntax error: %s %s (line %lu)",
				   name, (unsigned long)p->problem_mark.line + 1,
				   (unsigned long)p->problem_mark.column + 1,
				   p->problem ? p->problem : "unknown error", p->context,
				   (unsigned long)p->context_mark.line + 1);
	return config_fail(err, -EINVAL, "%s:%lu:%lu: YAML syntax error: %s", name,
			   (unsigned long)p->problem_mark.line + 1,
			   (unsigned long)p->problem_mark.column + 1,
			   p->problem ? p->problem : "unknown error");
}

/* The first secret setting (OPT_SECRET) a layer holds, by its key, or NULL. */
static const char *secret_key_of(const struct config *layer)
{
	for (size_t i = 0; i < opt_count; i++) {
		const struct opt *o = &opt_table[i];

		if (o->kind == OPT_SECRET && *(char *const *)((const char *)layer + o->off))
			return o->key;
	}
	return NULL;
}

/*
 * libyaml frees its copies of the text without wiping them: the decoded input and every
 * scalar of the document (the secrets among them) are wiped here first.
 */
static void wipe_document(yaml_document_t *doc)
{
	for (yaml_node_t *n = doc->nodes.start; n && n < doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE && n->data.scalar.value)
			sodium_memzero(n->data.scalar.value, n->data.scalar.length);
}

static void wipe_parser(yaml_parser_t *p)
{
	if (p->buffer.start)
		sodium_memzero(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start)
		sodium_memzero(p->raw_buffer.start,
			       (size_t)(p->raw_buffer.end - p->raw_buffer.start));
}

/* config_load_buffer; *secret (may be NULL) gets the key of a secret the text holds. */
static int load_buffer(struct config *cfg, const void *data, size_t len, const char *name,
		       struct config_error *err, const char **secret)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_doc = false, have_extra = false;
	struct config layer;
	struct ld ld = {&doc, &layer, name, err};
	const yaml_node_t *root;
	int r;

	config_layer_init(&layer);
	if (!yaml_parser_initialize(&parser))
		return config_fail(err, -ENOMEM, "%s: out of memory", name);
	yaml_parser_set_input_string(&parser, data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = syntax_error(&parser, name, err);
		goto out;
	}
	have_doc = true;
	/* Read to the end: syntax errors anywhere count, and only one document is allowed. */
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
	root = yaml_document_get_root_node(&doc);
	r = 0;
	if (root && !is_null(root)) {
		if (root->type != YAML_MAPPING_NODE) {
			r = ld_fail(&ld, root,
				    "expected a map of settings at the top level, found %s",
				    kind_of(root));
			goto out;
		}
		r = check_v1(&ld, root);
		if (r == 0)
			r = walk_map(&ld, root, "");
	}
	if (r == 0 && secret)
		*secret = secret_key_of(&layer);
	if (r == 0) {
		r = config_merge(cfg, &layer, err);
		if (r < 0) {
			char msg[sizeof(err->msg)];
			memcpy(msg, err->msg, sizeof(msg));
			config_fail(err, r, "%s: %s", name, msg);
		}
	}
out:
	if (have_extra) {
		wipe_document(&extra);
		yaml_document_delete(&extra);
	}
	if (have_doc) {
		wipe_document(&doc);
		yaml_document_delete(&doc);
	}
	wipe_parser(&parser);
	yaml_parser_delete(&parser);
	config_free(&layer);
	return r;
}

int config_load_buffer(struct config *cfg, const void *data, size_t len, const char *name,
		       struct config_error *err)
{
	return load_buffer(cfg, data, len, name, err, NULL);
}

/* Remembers a file with a secret in it that its group or others can read. 0 or -ENOMEM. */
static int note_exposed(struct config *cfg, const char *path, mode_t mode, const char *key,
			struct config_error *err)
{
	char *p;

	if (!key || !(mode & (S_IRGRP | S_IROTH)))
		return 0;
	p = strdup(path);
	if (!p)
		return config_fail(err, -ENOMEM, "%s: out of memory", path);
	free(cfg->exposed_file);
	cfg->exposed_file = p;
	cfg->exposed_mode = (uint32_t)(mode & 07777);
	cfg->exposed_key = key;
	return 0;
}

int config_check_perms(const struct config *cfg, struct config_error *err)
{
	if (!cfg->exposed_file)
		return 0;
	if (cfg->strict_perms)
		return config_fail(err, -EACCES,
				   "%s holds %s but has mode %04o (readable by %s); refusing to "
				   "start (--strict-perms): chmod 600 it",
				   cfg->exposed_file, cfg->exposed_key, (unsigned)cfg->exposed_mode,
				   cfg->exposed_mode & S_IROTH ? "everyone" : "its group");
	config_fail(err, 0, "%s holds %s but has mode %04o (readable by %s): chmod 600 it",
		    cfg->exposed_file, cfg->exposed_key, (unsigned)cfg->exposed_mode,
		    cfg->exposed_mode & S_IROTH ? "everyone" : "its group");
	return 1;
}

int config_load_file(struct config *cfg, const char *path, struct config_error *err)
{
	const char *secret = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		return config_fail(err, r, "%s: cannot open config file: %s", path, strerror(-r));
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb;
			if (cap > CONFIG_FILE_MAX) {
				r = config_fail(err, -EFBIG,
						"%s: config file too large (more than %d bytes)",
						path, CONFIG_FILE_MAX);
				goto out;
			}
			nb = malloc(ncap);
			if (!nb) {
				r = config_fail(err, -ENOMEM, "%s: out of memory", path);
				goto out;
			}
			/* grow by copying so that no unwiped copy of the secrets stays behind */
			if (buf) {
				memcpy(nb, buf, len);
				sodium_memzero(buf, cap);
				free(buf);
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			config_fail(err, r, "%s: cannot read config file: %s", path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_FILE_MAX) {
		r = config_fail(err, -EFBIG, "%s: config file too large (more than %d bytes)", path,
				CONFIG_FILE_MAX);
		goto out;
	}
	r = load_buffer(cfg, buf ? buf : "", len, path, err, &secret);
	/* the mode of the file read (fstat: no race with a rename), not of the path */
	if (r == 0 && fstat(fd, &st) == 0)
		r = note_exposed(cfg, path, st.st_mode, secret, err);
out:
	if (buf) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	close(fd);
	return r;
}

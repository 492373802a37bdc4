// SPDX-License-Identifier: GPL-3.0-or-later
/* config.c - defaults, value parsers, layer merging, validation and the YAML config file. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>
#include <yaml.h>

#include "meshvpn/config.h"
#include "meshvpn/options.h"

#include "config_int.h"

static const char *const hook_names[CONFIG_HOOK_COUNT] = {
    [CONFIG_HOOK_DEVICE_SETUP] = "device_setup",
    [CONFIG_HOOK_DEVICE_CONFIGURED] = "device_configured",
    [CONFIG_HOOK_VPN_STARTED] = "vpn_started",
    [CONFIG_HOOK_PEER_CONNECTING] = "peer_connecting",
    [CONFIG_HOOK_PEER_CONNECTED] = "peer_connected",
    [CONFIG_HOOK_PEER_DISCONNECTED] = "peer_disconnected",
    [CONFIG_HOOK_VPN_SHUTDOWN] = "vpn_shutdown",
};

const char *const config_mode_names[CONFIG_MODE_COUNT] = {
    [CONFIG_MODE_NORMAL] = "normal",
    [CONFIG_MODE_FLOOD] = "hub",
    [CONFIG_MODE_SWITCH] = "switch",
    [CONFIG_MODE_ROUTER] = "router",
};

const char *const config_device_type_names[CONFIG_DEVICE_TYPE_COUNT] = {
    [CONFIG_DEVICE_TUN] = "tun",
    [CONFIG_DEVICE_TAP] = "tap",
};

static const char *const algo_names[CONFIG_ALGO_COUNT] = {
    [CONFIG_ALGO_PLAIN] = "plain",
    [CONFIG_ALGO_AES128] = "aes128",
    [CONFIG_ALGO_AES256] = "aes256",
    [CONFIG_ALGO_CHACHA20] = "chacha20",
};

/* Accepted algorithm names (CONFIG.md 10.4); the command line only takes the cli ones. */
static const struct {
	const char *name;
	enum config_algo algo;
	bool cli;
} algo_aliases[] = {
    {"plain", CONFIG_ALGO_PLAIN, true},		{"none", CONFIG_ALGO_PLAIN, false},
    {"unencrypted", CONFIG_ALGO_PLAIN, false},	{"aes128", CONFIG_ALGO_AES128, true},
    {"aes128_gcm", CONFIG_ALGO_AES128, false},	{"aes_128", CONFIG_ALGO_AES128, false},
    {"aes_128_gcm", CONFIG_ALGO_AES128, false}, {"aes256", CONFIG_ALGO_AES256, true},
    {"aes256_gcm", CONFIG_ALGO_AES256, false},	{"aes_256", CONFIG_ALGO_AES256, false},
    {"aes_256_gcm", CONFIG_ALGO_AES256, false}, {"chacha", CONFIG_ALGO_CHACHA20, false},
    {"chacha20", CONFIG_ALGO_CHACHA20, true},	{"chacha20_poly1305", CONFIG_ALGO_CHACHA20, false},
};

const char *config_hook_event_name(enum config_hook_event ev)
{
	return (unsigned)ev < CONFIG_HOOK_COUNT ? hook_names[ev] : "?";
}

const char *config_algo_name(enum config_algo a)
{
	return (unsigned)a < CONFIG_ALGO_COUNT ? algo_names[a] : "?";
}

const char *config_mode_name(enum config_mode m)
{
	return (unsigned)m < ARRAY_SIZE(config_mode_names) ? config_mode_names[m] : "?";
}

const char *config_device_type_name(enum config_device_type t)
{
	return (unsigned)t < CONFIG_DEVICE_TYPE_COUNT ? config_device_type_names[t] : "?";
}

int config_hook_event_parse(const char *s, size_t len)
{
	for (int i = 0; i < CONFIG_HOOK_COUNT; i++)
		if (strlen(hook_names[i]) == len && memcmp(s, hook_names[i], len) == 0)
			return i;
	return -EINVAL;
}

/* ---- messages ---- */

int config_fail(struct config_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *config_show(char buf[static CONFIG_SHOW_LEN], const char *s)
{
	size_t i, o = 0;

	for (i = 0; s[i] && o < 60; i++)
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* ---- value parsers ---- */

int config_parse_algorithm(const char *s, bool cli_only, enum config_algo *out,
			   struct config_error *why)
{
	char b[CONFIG_SHOW_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(algo_aliases); i++) {
		if ((algo_aliases[i].cli || !cli_only) &&
		    strcasecmp(s, algo_aliases[i].name) == 0) {
			*out = algo_aliases[i].algo;
			return 0;
		}
	}
	if (cli_only)
		return config_fail(
		    why, -EINVAL,
		    "invalid algorithm '%s' (expected plain, aes128, aes256 or chacha20)",
		    config_show(b, s));
	return config_fail(
	    why, -EINVAL,
	    "invalid algorithm '%s' (expected plain, aes128, aes256 or chacha20, or one of "
	    "none, unencrypted, aes128_gcm, aes_128, aes_128_gcm, aes256_gcm, aes_256, "
	    "aes_256_gcm, chacha, chacha20_poly1305)",
	    config_show(b, s));
}

int config_parse_u32(const char *s, uint32_t *out, struct config_error *why)
{
	char b[CONFIG_SHOW_LEN];
	uint64_t v = 0;
	size_t i;

	if (s[0] == '-' && isdigit((unsigned char)s[1]))
		return config_fail(why, -EINVAL, "'%s' must not be negative", config_show(b, s));
	for (i = 0; isdigit((unsigned char)s[i]); i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return config_fail(why, -EINVAL, "'%s' is too large (at most 4294967295)",
					   config_show(b, s));
	}
	if (i == 0 || s[i])
		return config_fail(why, -EINVAL, "expected a non-negative integer, found '%s'",
				   config_show(b, s));
	*out = (uint32_t)v;
	return 0;
}

int config_parse_ip(const char *s, uint8_t ip[static 4], uint8_t *prefix, struct config_error *why)
{
	char b[CONFIG_SHOW_LEN], tmp[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned p = CONFIG_DEFAULT_IP_PREFIX;

	if (n >= sizeof(tmp))
		goto bad;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, ip) != 1)
		goto bad;
	if (slash) {
		const char *d = slash + 1;
		if (!isdigit((unsigned char)d[0]) || (d[1] && !isdigit((unsigned char)d[1])) ||
		    (d[1] && d[2]))
			goto bad;
		p = (unsigned)atoi(d);
		if (p > 32)
			goto bad;
	}
	*prefix = (uint8_t)p;
	return 0;
bad:
	return config_fail(why, -EINVAL,
			   "invalid address '%s' (expected IPv4 a.b.c.d or a.b.c.d/0-32)",
			   config_show(b, s));
}

int config_parse_claim(const char *s, struct range *out, struct config_error *why)
{
	char b[CONFIG_SHOW_LEN];

	if (range_parse(s, out) < 0)
		return config_fail(
		    why, -EINVAL,
		    "invalid claim '%s' (expected ADDRESS/PREFIX with an IPv4, IPv6 or "
		    "MAC address)",
		    config_show(b, s));
	return 0;
}

int config_check_device_name(const char *s, struct config_error *why)
{
	char b[CONFIG_SHOW_LEN];
	size_t len = strlen(s);

	if (len == 0)
		return config_fail(why, -EINVAL, "the device name must not be empty");
	if (len > CONFIG_IFNAME_MAX)
		return config_fail(why, -EINVAL,
				   "device name '%s' is too long (%zu bytes, at most %d)",
				   config_show(b, s), len, CONFIG_IFNAME_MAX);
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]) ||
		    (unsigned char)s[i] < 0x20)
			return config_fail(why, -EINVAL,
					   "invalid device name '%s' (no '/', ':' or white space)",
					   config_show(b, s));
	return 0;
}

/* Host name (letters, digits, '-', '.', '_') or IPv4; IPv6 is checked separately. */
static bool valid_hostname(const char *h)
{
	size_t len = strlen(h);

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
			return false;
	return true;
}

static bool valid_ipv6(const char *h)
{
	char tmp[INET6_ADDRSTRLEN + 16];
	uint8_t buf[16];
	const char *pct = strchr(h, '%');
	size_t n = pct ? (size_t)(pct - h) : strlen(h);

	if (n >= sizeof(tmp) || (pct && !pct[1]))
		return false;
	memcpy(tmp, h, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, buf) == 1;
}

/* Checks the host part of a split address: s is the original text (brackets). */
static bool valid_host(const char *s, const char *host)
{
	if (s[0] == '[' || strchr(host, ':'))
		return valid_ipv6(host);
	return valid_hostname(host);
}

int config_check_hostport(const char *s, bool port_required, struct config_error *why)
{
	char b[CONFIG_SHOW_LEN], host[256];
	uint16_t port;

	if (addr_split_host_port(s, port_required ? 0 : ADDR_DEFAULT_PORT, host, sizeof(host),
				 &port) < 0 ||
	    !valid_host(s, host) || port == 0) {
		if (port_required)
			return config_fail(why, -EINVAL,
					   "invalid address '%s' (expected HOST:PORT)",
					   config_show(b, s));
		return config_fail(why, -EINVAL,
				   "invalid address '%s' (expected HOST, HOST:PORT or [IPv6]:PORT)",
				   config_show(b, s));
	}
	return 0;
}

int config_parse_listen(const char *s, uint16_t default_port, struct config_listen *out,
			struct config_error *why)
{
	char b[CONFIG_SHOW_LEN], auth[300];
	const char *sep;

	memset(out, 0, sizeof(*out));
	out->path = "";
	if (strncasecmp(s, "ws://", 5) == 0) {
		const char *a = s + 5;
		const char *slash = strchr(a, '/');
		size_t n = slash ? (size_t)(slash - a) : strlen(a);

		if (n == 0 || n >= sizeof(auth))
			goto bad_url;
		memcpy(auth, a, n);
		auth[n] = '\0';
		if (addr_split_host_port(auth, CONFIG_WS_DEFAULT_PORT, out->host, sizeof(out->host),
					 &out->port) < 0 ||
		    !valid_host(auth, out->host) || out->port == 0)
			goto bad_url;
		out->ws = true;
		out->path = slash ? slash : "";
		return 0;
	}
	if (strncasecmp(s, "wss://", 6) == 0)
		return config_fail(why, -EINVAL, "'%s': wss:// is not supported, use ws://",
				   config_show(b, s));
	sep = strstr(s, "://");
	if (sep)
		return config_fail(why, -EINVAL,
				   "'%s': unsupported URL scheme (only ws:// is supported)",
				   config_show(b, s));
	if (addr_parse(s, default_port, &out->addr) < 0)
		return config_fail(
		    why, -EINVAL,
		    "invalid listen address '%s' (expected PORT, *:PORT, IP, IP:PORT, "
		    "[IPv6]:PORT or ws://HOST[:PORT][/PATH])",
		    config_show(b, s));
	return 0;
bad_url:
	return config_fail(why, -EINVAL,
			   "invalid WebSocket URL '%s' (expected ws://HOST[:PORT][/PATH])",
			   config_show(b, s));
}

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

void config_free_str(char **p, bool secret)
{
	if (!*p)
		return;
	if (secret)
		sodium_memzero(*p, strlen(*p));
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
	config_layer_init(cfg);
}

int config_copy_str(char **dst, const char *src, bool secret)
{
	char *c;

	if (!src)
		return 0;
	c = strdup(src);
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

/* ---- YAML file ---- */

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

#define MAP_KEYS_MAX 32 /* keys per map of the file */
#define MAP_KEY_LEN  32

/*
 * The keys of one map of the file, from the table: the settings whose key is prefix plus
 * one more component, and the sections (maps) below prefix, in table order.
 */
struct keymap {
	char where[MAP_KEY_LEN]; /* for messages: "root", "device" */
	size_t n;
	char names[MAP_KEYS_MAX][MAP_KEY_LEN];
	const char *cands[MAP_KEYS_MAX];     /* = names, for suggestions */
	const struct opt *opt[MAP_KEYS_MAX]; /* NULL: a section */
};

static int keymap_build(struct keymap *m, const char *prefix)
{
	size_t plen = strlen(prefix);

	m->n = 0;
	snprintf(m->where, sizeof(m->where), "%.*s", plen ? (int)plen - 1 : 4,
		 plen ? prefix : "root");
	for (size_t i = 0; i < opt_count; i++) {
		const char *key = opt_table[i].key, *rest, *dot;
		size_t len, j;

		if (!key || strncmp(key, prefix, plen) != 0)
			continue;
		rest = key + plen;
		dot = strchr(rest, '.');
		len = dot ? (size_t)(dot - rest) : strlen(rest);
		for (j = 0;
		     j < m->n && (strlen(m->names[j]) != len || memcmp(m->names[j], rest, len));
		     j++)
			;
		if (j < m->n)
			continue; /* another key of a section already listed */
		if (m->n == MAP_KEYS_MAX || len >= MAP_KEY_LEN)
			return -E2BIG;
		memcpy(m->names[m->n], rest, len);
		m->names[m->n][len] = '\0';
		m->cands[m->n] = m->names[m->n];
		m->opt[m->n++] = dot ? NULL : &opt_table[i];
	}
	return 0;
}

static char norm_key_char(char c)
{
	return c == '_' ? '-' : (char)tolower((unsigned char)c);
}

/*
 * Edit distance (optimal string alignment: insert, delete, substitute, swap neighbours) of
 * two short strings, '_' and '-' counted as equal; large if either is too long.
 */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[33][33];

	if (la > 32 || lb > 32)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			char ca = norm_key_char(a[i - 1]), cb = norm_key_char(b[j - 1]);
			size_t v = d[i - 1][j - 1] + (ca != cb);

			v = MIN(v, d[i - 1][j] + 1);
			v = MIN(v, d[i][j - 1] + 1);
			if (i > 1 && j > 1 && ca == norm_key_char(b[j - 2]) &&
			    norm_key_char(a[i - 2]) == cb)
				v = MIN(v, d[i - 2][j - 2] + 1);
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* " (did you mean 'x'?)" for the closest candidate, or "". */
static void suggest(char *buf, size_t len, const char *key, const char *const *cands, size_t n)
{
	size_t best = 99, limit = strlen(key) >= 6 ? 2 : 1;
	const char *pick = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t d = distance(key, cands[i]);
		if (d < best) {
			best = d;
			pick = cands[i];
		}
	}
	if (pick && best <= limit)
		snprintf(buf, len, " (did you mean '%s'?)", pick);
	else
		buf[0] = '\0';
}

static int unknown_key(struct ld *ld, const yaml_node_t *k, const char *key, const char *where,
		       const char *const *cands, size_t n)
{
	char b[CONFIG_SHOW_LEN], hint[96];

	suggest(hint, sizeof(hint), key, cands, n);
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
	unsigned long first[MAP_KEYS_MAX] = {0};
	struct keymap m;

	if (keymap_build(&m, prefix) < 0)
		return ld_fail(ld, map, "internal error: too many keys below '%s'", prefix);
	if (map->type != YAML_MAPPING_NODE)
		return ld_fail(ld, map, "'%s': expected a map of settings, found %s", m.where,
			       kind_of(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn, *vn;
		const char *key;
		char sub[MAP_KEY_LEN * 2];
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
			suggest(hint, sizeof(hint), key, hook_names, CONFIG_HOOK_COUNT);
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

int config_load_buffer(struct config *cfg, const void *data, size_t len, const char *name,
		       struct config_error *err)
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
	if (r == 0) {
		r = config_merge(cfg, &layer, err);
		if (r < 0) {
			char msg[sizeof(err->msg)];
			memcpy(msg, err->msg, sizeof(msg));
			config_fail(err, r, "%s: %s", name, msg);
		}
	}
out:
	if (have_extra)
		yaml_document_delete(&extra);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	config_free(&layer);
	return r;
}

int config_load_file(struct config *cfg, const char *path, struct config_error *err)
{
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
	r = config_load_buffer(cfg, buf ? buf : "", len, path, err);
out:
	if (buf) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	close(fd);
	return r;
}

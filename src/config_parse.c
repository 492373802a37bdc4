// SPDX-License-Identifier: GPL-3.0-or-later
/* config_parse.c - the value syntaxes of settings, their names, and the messages about them. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meshvpn/config_parse.h"

#include "config_int.h"

/* ---- names ---- */

const char *const config_hook_names[CONFIG_HOOK_COUNT] = {
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
	return (unsigned)ev < CONFIG_HOOK_COUNT ? config_hook_names[ev] : "?";
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
		if (strlen(config_hook_names[i]) == len &&
		    memcmp(s, config_hook_names[i], len) == 0)
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

void config_suggest(char *buf, size_t len, const char *key, const char *const *cands, size_t n)
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
	bool tls = strncasecmp(s, "wss://", 6) == 0;

	memset(out, 0, sizeof(*out));
	out->path = "";
	if (tls || strncasecmp(s, "ws://", 5) == 0) {
		const char *a = s + (tls ? 6 : 5);
		const char *slash = strchr(a, '/');
		size_t n = slash ? (size_t)(slash - a) : strlen(a);

		if (n == 0 || n >= sizeof(auth))
			goto bad_url;
		memcpy(auth, a, n);
		auth[n] = '\0';
		if (addr_split_host_port(auth,
					 tls ? CONFIG_WSS_DEFAULT_PORT : CONFIG_WS_DEFAULT_PORT,
					 out->host, sizeof(out->host), &out->port) < 0 ||
		    !valid_host(auth, out->host) || out->port == 0)
			goto bad_url;
		out->ws = true;
		out->tls = tls;
		out->path = slash ? slash : "";
		return 0;
	}
	if (strstr(s, "://"))
		return config_fail(
		    why, -EINVAL,
		    "'%s': unsupported URL scheme (only ws:// and wss:// are supported)",
		    config_show(b, s));
	if (addr_parse(s, default_port, &out->addr) < 0)
		return config_fail(
		    why, -EINVAL,
		    "invalid listen address '%s' (expected PORT, *:PORT, IP, IP:PORT, "
		    "[IPv6]:PORT or ws://HOST[:PORT][/PATH])",
		    config_show(b, s));
	return 0;
bad_url:
	memset(out, 0, sizeof(*out));
	out->path = "";
	return config_fail(why, -EINVAL,
			   "invalid WebSocket URL '%s' (expected %s://HOST[:PORT][/PATH])",
			   config_show(b, s), tls ? "wss" : "ws");
}

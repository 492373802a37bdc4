// SPDX-License-Identifier: GPL-3.0-or-later
/* options.c - the table of settings and the generic parsing of a value into struct config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/options.h"

#include "config_int.h"

/* Enum fields are stored through an unsigned pointer. */
_Static_assert(sizeof(enum config_device_type) == sizeof(unsigned), "enum size");
_Static_assert(sizeof(enum config_mode) == sizeof(unsigned), "enum size");
_Static_assert(sizeof(enum log_level) == sizeof(unsigned), "enum size");

/* ---- value checkers and parsers named by the table ---- */

static int check_nonempty(const char *s, struct config_error *why)
{
	return *s ? 0 : config_fail(why, -EINVAL, "must not be empty");
}

static int check_key(const char *s, struct config_error *why)
{
	uint8_t key[KEYS_PUB_LEN];
	int r = keys_decode(key, s);

	sodium_memzero(key, sizeof(key));
	if (r < 0)
		return config_fail(why, -EINVAL,
				   "invalid key (expected base62 text of 32 bytes, as printed by "
				   "'meshvpn genkey')");
	return 0;
}

static int check_listen(const char *s, struct config_error *why)
{
	struct config_listen lis;

	return config_parse_listen(s, ADDR_DEFAULT_PORT, &lis, why);
}

static int check_hostport(const char *s, struct config_error *why)
{
	return config_check_hostport(s, false, why);
}

/* A network name: it becomes part of file names. */
static int check_name(const char *s, struct config_error *why)
{
	if (!*s || strlen(s) > 64 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					       "0123456789._-") != strlen(s) || s[0] == '.')
		return config_fail(why, -EINVAL,
				   "invalid name '%s' (1-64 letters, digits, '.', '_', '-')", s);
	return 0;
}

/* An IPv4 network a.b.c.d/len, len 8-30, without host bits. */
static int check_subnet(const char *s, struct config_error *why)
{
	uint8_t ip[4], prefix;

	if (!strchr(s, '/') || config_parse_ip(s, ip, &prefix, why) < 0 || prefix < 8 ||
	    prefix > 30)
		return config_fail(why, -EINVAL, "invalid subnet '%s' (expected a.b.c.d/8 to /30)", s);
	uint32_t v = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
	if (v & (0xffffffffu >> prefix))
		return config_fail(why, -EINVAL, "subnet '%s' has host bits set", s);
	return 0;
}

static int check_statsd_server(const char *s, struct config_error *why)
{
	return config_check_hostport(s, true, why);
}

static int parse_trusted_key(const char *s, void *out, bool cli, struct config_error *why)
{
	char b[CONFIG_SHOW_LEN];

	(void)cli;
	if (keys_decode(out, s) < 0)
		return config_fail(why, -EINVAL,
				   "invalid key '%s' (expected base62 text of 32 bytes)",
				   config_show(b, s));
	return 0;
}

static int parse_claim(const char *s, void *out, bool cli, struct config_error *why)
{
	(void)cli;
	return config_parse_claim(s, out, why);
}

static int parse_algorithm(const char *s, void *out, bool cli, struct config_error *why)
{
	enum config_algo a;
	int r = config_parse_algorithm(s, cli, &a, why);

	if (r == 0)
		*(uint8_t *)out = (uint8_t)a;
	return r;
}

static int set_ip(struct config *l, const char *s, struct config_error *why)
{
	return config_parse_ip(s, l->ip, &l->ip_prefix, why);
}

static void merge_ip(struct config *dst, const struct config *src)
{
	memcpy(dst->ip, src->ip, sizeof(dst->ip));
	dst->ip_prefix = src->ip_prefix;
}

/* --hook SCRIPT or --hook EVENT:SCRIPT (split only when the prefix is a known event). */
static int cli_hook(struct config *l, const char *s, struct config_error *why)
{
	const char *colon = strchr(s, ':');
	int ev = colon ? config_hook_event_parse(s, (size_t)(colon - s)) : -EINVAL;
	int r = ev >= 0 ? config_copy_str(&l->hooks[ev], colon + 1, false)
			: config_copy_str(&l->hook, s, false);

	return r < 0 ? config_fail(why, r, "out of memory") : 0;
}

/* ---- the table ---- */

#define FIELD(f) .off = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)
#define VEC(f, n, type)                                                                            \
	.off = offsetof(struct config, f), .count_off = offsetof(struct config, n),                \
	.size = sizeof(type)
#define STR(x)	    #x
#define XSTR(x)	    STR(x)
#define ENUM(names) .values = names, .n_values = ARRAY_SIZE(names)

/* clang-format off */
const struct opt opt_table[] = {
    /* Configuration */
    {.names = {"config"}, .kind = OPT_ACTION, .action = OPT_ACT_CONFIG, .section = OPT_SEC_CONFIG,
     .arg = "FILE", .help = "read settings from a VpnCloud 2.x YAML file"},

    /* Device */
    {.names = {"type"}, .key = "device.type", .short_name = 't', .kind = OPT_ENUM,
     FIELD(device_type), .def = "tun", .has = CONFIG_HAS_DEVICE_TYPE,
     ENUM(config_device_type_names), .what = "device type", .section = OPT_SEC_DEVICE,
     .arg = "tun|tap", .help = "device type (default tun)"},
    {.names = {"device"}, .key = "device.name", .short_name = 'd', .kind = OPT_STR,
     FIELD(device_name), .def = CONFIG_DEFAULT_DEVICE_NAME, .check = config_check_device_name,
     .section = OPT_SEC_DEVICE, .arg = "NAME",
     .help = "device name, %d = a free number (default " CONFIG_DEFAULT_DEVICE_NAME ")"},
    {.names = {"device-path"}, .key = "device.path", .kind = OPT_STR, FIELD(device_path),
     .def = CONFIG_DEFAULT_DEVICE_PATH, .check = check_nonempty, .section = OPT_SEC_DEVICE,
     .arg = "PATH", .help = "TUN/TAP clone device (default " CONFIG_DEFAULT_DEVICE_PATH ")"},
    {.names = {"fix-rp-filter"}, .key = "device.fix-rp-filter", .kind = OPT_BOOL,
     .flags = OPT_SWITCH, .sw = true, FIELD(fix_rp_filter), .has = CONFIG_HAS_FIX_RP_FILTER,
     .section = OPT_SEC_DEVICE, .help = "set rp_filter to 1 for the device if needed"},
    {.names = {"ip"}, .key = "ip", .kind = OPT_CUSTOM, FIELD(ip), .has = CONFIG_HAS_IP,
     .set = set_ip, .merge = merge_ip, .section = OPT_SEC_DEVICE, .arg = "ADDR[/LEN]",
     .help = "IPv4 address (default /24) for the device; brings it up"},
    {.names = {"ifup"}, .key = "ifup", .kind = OPT_STR, FIELD(ifup), .section = OPT_SEC_DEVICE,
     .arg = "COMMAND", .help = "shell command run after the device is set up"},
    {.names = {"ifdown"}, .key = "ifdown", .kind = OPT_STR, FIELD(ifdown),
     .section = OPT_SEC_DEVICE, .arg = "COMMAND", .help = "shell command run at shutdown"},

    /* Crypto */
    {.names = {"password"}, .key = "crypto.password", .short_name = 'p', .kind = OPT_SECRET,
     FIELD(password), .section = OPT_SEC_CRYPTO, .arg = "TEXT",
     .help = "derive the key pair from TEXT (env PASSWORD)"},
    {.names = {"private-key", "key"}, .key = "crypto.private-key", .kind = OPT_SECRET,
     FIELD(private_key), .check = check_key, .section = OPT_SEC_CRYPTO, .arg = "KEY",
     .help = "base62 private key (env PRIVATE_KEY); not with --password"},
    {.names = {"public-key"}, .key = "crypto.public-key", .kind = OPT_STR, FIELD(public_key),
     .check = check_key, .section = OPT_SEC_CRYPTO, .arg = "KEY",
     .help = "own public key, checked against the private key"},
    {.names = {"trusted-key", "trust"}, .key = "crypto.trusted-keys", .kind = OPT_VEC,
     .flags = OPT_COMMAS, VEC(trusted_keys, n_trusted_keys, uint8_t[KEYS_PUB_LEN]),
     .what = "trusted keys", .parse = parse_trusted_key, .section = OPT_SEC_CRYPTO,
     .arg = "KEY[,KEY..]", .help = "trust this public key (repeatable; default: own key)"},
    {.names = {"algorithm", "algo"}, .key = "crypto.algorithms", .kind = OPT_SET,
     .flags = OPT_COMMAS, VEC(algorithms, n_algorithms, uint8_t), .cap = CONFIG_ALGO_COUNT,
     .what = "algorithms", .parse = parse_algorithm, .section = OPT_SEC_CRYPTO,
     .arg = "NAME[,NAME..]", .help = "allow plain, aes128, aes256 or chacha20 (repeatable;\n"
                                     "default aes128, aes256, chacha20)"},

    /* Network */
    {.names = {"listen"}, .key = "listen", .short_name = 'l', .kind = OPT_STR, FIELD(listen),
     .def = CONFIG_DEFAULT_LISTEN, .check = check_listen, .section = OPT_SEC_NETWORK, .arg = "ADDR",
     .help = "PORT, IP, IP:PORT or [IPv6]:PORT (default 3210);\n"
             "ws[s]://HOST[:PORT][/PATH]: through a WebSocket proxy"},
    {.names = {"ws-ca"}, .key = "ws-ca", .kind = OPT_STR, FIELD(ws_ca), .check = check_nonempty,
     .section = OPT_SEC_NETWORK, .arg = "FILE",
     .help = "CA certificates (PEM) to verify a wss:// proxy with\n"
             "(default: the system's; always verified)"},
    {.names = {"peer", "connect"}, .key = "peers", .short_name = 'c', .kind = OPT_STRLIST,
     FIELD(peers), .what = "peers", .check = check_hostport, .section = OPT_SEC_NETWORK,
     .arg = "HOST[:PORT]", .help = "peer to connect to and keep connected (repeatable)"},
    {.names = {"advertise_addresses", "advertise-addresses"}, .key = "advertise-addresses",
     .kind = OPT_STRLIST, .flags = OPT_COMMAS, FIELD(advertise_addresses),
     .what = "advertise addresses", .check = check_hostport, .section = OPT_SEC_NETWORK,
     .arg = "ADDR[,ADDR..]", .help = "extra own addresses to announce to peers"},
    {.names = {"no-port-forwarding"}, .key = "port-forwarding", .kind = OPT_BOOL,
     .flags = OPT_SWITCH, .sw = false, FIELD(port_forwarding), .def = "true",
     .has = CONFIG_HAS_PORT_FORWARDING, .section = OPT_SEC_NETWORK,
     .help = "do not map the port with UPnP"},
    {.names = {"peer-timeout"}, .key = "peer-timeout", .kind = OPT_U32, FIELD(peer_timeout),
     .def = XSTR(CONFIG_DEFAULT_PEER_TIMEOUT), .has = CONFIG_HAS_PEER_TIMEOUT,
     .section = OPT_SEC_NETWORK, .arg = "SECS",
     .help = "drop silent peers after SECS (default 300)"},
    {.names = {"keepalive"}, .key = "keepalive", .kind = OPT_U32, FIELD(keepalive),
     .has = CONFIG_HAS_KEEPALIVE, .section = OPT_SEC_NETWORK, .arg = "SECS",
     .help = "at most SECS between keepalives\n"
             "(default max(peer-timeout/2 - 60, 1))"},

    /* Forwarding */
    {.names = {"mode"}, .key = "mode", .short_name = 'm', .kind = OPT_ENUM, FIELD(mode),
     .def = "normal", .has = CONFIG_HAS_MODE, ENUM(config_mode_names), .what = "mode",
     .section = OPT_SEC_FORWARDING, .arg = "MODE",
     .help = "normal, hub, switch or router (default normal)"},
    {.names = {"claim"}, .key = "claims", .kind = OPT_VEC, .flags = OPT_COMMAS,
     VEC(claims, n_claims, struct range), .what = "claims", .parse = parse_claim,
     .section = OPT_SEC_FORWARDING, .arg = "ADDR/LEN[,..]",
     .help = "address range served by this node (repeatable)"},
    {.names = {"no-auto-claim"}, .key = "auto-claim", .kind = OPT_BOOL, .flags = OPT_SWITCH,
     .sw = false, FIELD(auto_claim), .def = "true", .has = CONFIG_HAS_AUTO_CLAIM,
     .section = OPT_SEC_FORWARDING, .help = "do not claim the device's IPv4 address"},
    {.names = {"switch-timeout"}, .key = "switch-timeout", .kind = OPT_U32, FIELD(switch_timeout),
     .def = XSTR(CONFIG_DEFAULT_SWITCH_TIMEOUT), .has = CONFIG_HAS_SWITCH_TIMEOUT,
     .section = OPT_SEC_FORWARDING, .arg = "SECS",
     .help = "lifetime of learned addresses (default 300)"},

    /* Beacons */
    {.names = {"beacon-store"}, .key = "beacon.store", .kind = OPT_STR, FIELD(beacon_store),
     .section = OPT_SEC_BEACONS, .arg = "PATH|\"|CMD\"",
     .help = "publish beacons to a file or a shell command"},
    {.names = {"beacon-load"}, .key = "beacon.load", .kind = OPT_STR, FIELD(beacon_load),
     .section = OPT_SEC_BEACONS, .arg = "PATH|\"|CMD\"",
     .help = "read beacons from a file or a shell command"},
    {.names = {"beacon-interval"}, .key = "beacon.interval", .kind = OPT_U32,
     FIELD(beacon_interval), .def = XSTR(CONFIG_DEFAULT_BEACON_INTERVAL),
     .has = CONFIG_HAS_BEACON_INTERVAL, .section = OPT_SEC_BEACONS, .arg = "SECS",
     .help = "store/load period (default 3600)"},
    {.names = {"beacon-password"}, .key = "beacon.password", .kind = OPT_SECRET,
     FIELD(beacon_password), .section = OPT_SEC_BEACONS, .arg = "TEXT",
     .help = "beacon obfuscation password"},

    /* Management, metrics, hub */
    {.names = {"name"}, .kind = OPT_STR, FIELD(name), .check = check_name,
     .section = OPT_SEC_HUB, .arg = "NAME",
     .help = "network name (default: that of the --config file,\n"
             "/etc/meshvpn/NAME.net); names the management socket"},
    {.names = {"socket"}, .key = "management.socket", .kind = OPT_STR, FIELD(mgmt_socket),
     .check = check_nonempty, .section = OPT_SEC_HUB, .arg = "PATH",
     .help = "management API socket (default /run/meshvpn/NAME.sock\n"
             "when the network has a name)"},
    {.names = {"socket-group"}, .key = "management.group", .kind = OPT_STR, FIELD(mgmt_group),
     .check = check_nonempty, .section = OPT_SEC_HUB, .arg = "GROUP",
     .help = "group that may use the socket (mode 0660)"},
    {.names = {"metrics-listen"}, .key = "metrics-listen", .kind = OPT_STR,
     FIELD(metrics_listen), .check = check_statsd_server, .section = OPT_SEC_HUB,
     .arg = "ADDR:PORT", .help = "serve Prometheus metrics on http://ADDR:PORT/metrics"},
    {.names = {"hub-registry"}, .key = "hub.registry", .kind = OPT_STR, FIELD(hub_registry),
     .check = check_nonempty, .section = OPT_SEC_HUB, .arg = "FILE",
     .help = "the hub's client registry (default\n"
             "/var/lib/meshvpn/NAME/registry.yaml)"},
    {.names = {"hub-subnet"}, .key = "hub.subnet", .kind = OPT_STR, FIELD(hub_subnet),
     .check = check_subnet, .section = OPT_SEC_HUB, .arg = "ADDR/LEN",
     .help = "act as a hub: client addresses come from this IPv4 subnet"},
    {.names = {"hub-endpoint"}, .key = "hub.endpoint", .kind = OPT_STR, FIELD(hub_endpoint),
     .check = check_hostport, .section = OPT_SEC_HUB, .arg = "HOST[:PORT]",
     .help = "the hub's public address, written into client bundles"},
    {.names = {"hub-rate-limit"}, .key = "hub.rate-limit", .kind = OPT_STR,
     FIELD(hub_rate_limit), .check = check_nonempty, .section = OPT_SEC_HUB,
     .arg = "RATE[:BURST]", .help = "bytes/s (k, M, G) for clients without their own limit"},
    {.names = {"hub-connection-block"}, .key = "hub.connection-block", .kind = OPT_STRLIST,
     .flags = OPT_COMMAS, FIELD(hub_connection_block), .what = "blocked sources",
     .check = check_nonempty, .section = OPT_SEC_HUB, .arg = "ADDR[,..]",
     .help = "refuse handshakes from these addresses before any crypto\n"
             "(IP, CIDR, a.b.c.*, range A-B; repeatable)"},

    /* Process */
    {.names = {"daemon"}, .kind = OPT_BOOL, .flags = OPT_SWITCH, .sw = true, FIELD(daemon),
     .has = CONFIG_HAS_DAEMON, .section = OPT_SEC_PROCESS, .help = "run in the background"},
    {.names = {"pid-file"}, .key = "pid-file", .kind = OPT_STR, FIELD(pid_file),
     .section = OPT_SEC_PROCESS, .arg = "FILE", .help = "write the process id (with --daemon)"},
    {.names = {"user"}, .key = "user", .kind = OPT_STR, FIELD(user), .section = OPT_SEC_PROCESS,
     .arg = "USER", .help = "switch to USER after start-up"},
    {.names = {"group"}, .key = "group", .kind = OPT_STR, FIELD(group), .section = OPT_SEC_PROCESS,
     .arg = "GROUP", .help = "switch to GROUP after start-up"},
    {.names = {"strict-perms"}, .key = "strict-perms", .kind = OPT_BOOL, .flags = OPT_SWITCH,
     .sw = true, FIELD(strict_perms), .has = CONFIG_HAS_STRICT_PERMS, .section = OPT_SEC_PROCESS,
     .help = "refuse to start when a config file holding a key or\n"
             "password can be read by its group or others"},
    {.names = {"log-file"}, .kind = OPT_STR, FIELD(log_file), .section = OPT_SEC_PROCESS,
     .arg = "FILE", .help = "also log to FILE"},
    {.names = {"stats-file"}, .key = "stats-file", .kind = OPT_STR, FIELD(stats_file),
     .section = OPT_SEC_PROCESS, .arg = "FILE", .help = "write statistics to FILE every minute"},
    {.names = {"statsd-server"}, .key = "statsd.server", .kind = OPT_STR, FIELD(statsd_server),
     .check = check_statsd_server, .section = OPT_SEC_PROCESS, .arg = "HOST:PORT",
     .help = "send statistics to statsd"},
    {.names = {"statsd-prefix"}, .key = "statsd.prefix", .kind = OPT_STR, FIELD(statsd_prefix),
     .def = CONFIG_DEFAULT_STATSD_PREFIX, .section = OPT_SEC_PROCESS, .arg = "TEXT",
     .help = "statsd key prefix (default " CONFIG_DEFAULT_STATSD_PREFIX ")"},
    {.names = {"hook"}, .key = "hook", .kind = OPT_STR, FIELD(hook), .cli_set = cli_hook,
     .section = OPT_SEC_PROCESS, .arg = "[EVENT:]SCRIPT",
     .help = "run SCRIPT for EVENT, or for every event (repeatable);\n"
             "events: device_setup, device_configured, vpn_started,\n"
             "peer_connecting, peer_connected, peer_disconnected,\n"
             "vpn_shutdown"},
    {.key = "hooks", .kind = OPT_HOOKS, FIELD(hooks)},
    {.names = {"verbose"}, .short_name = 'v', .kind = OPT_ENUM, .flags = OPT_SWITCH,
     .sw = LOG_DEBUG, FIELD(log_level), .has = CONFIG_HAS_LOG_LEVEL, .section = OPT_SEC_PROCESS,
     .help = "debug output"},
    {.names = {"quiet"}, .short_name = 'q', .kind = OPT_ENUM, .flags = OPT_SWITCH, .sw = LOG_ERROR,
     FIELD(log_level), .has = CONFIG_HAS_LOG_LEVEL, .section = OPT_SEC_PROCESS,
     .help = "errors only"},
    {.names = {"help"}, .short_name = 'h', .kind = OPT_ACTION, .flags = OPT_SWITCH,
     .action = OPT_ACT_HELP, .section = OPT_SEC_PROCESS, .help = "this text"},
    {.names = {"version"}, .kind = OPT_ACTION, .flags = OPT_SWITCH, .action = OPT_ACT_VERSION,
     .section = OPT_SEC_PROCESS, .help = "print the version"},
    {.names = {"dump-options"}, .kind = OPT_ACTION, .flags = OPT_SWITCH | OPT_HIDDEN,
     .action = OPT_ACT_DUMP},
};
/* clang-format on */
const size_t opt_count = ARRAY_SIZE(opt_table);

/* ---- generic parsing ---- */

static void *field(const struct opt *o, struct config *l)
{
	return (char *)l + o->off;
}

const char *opt_section_title(enum opt_section sec)
{
	static const char *const titles[OPT_SEC_COUNT] = {
	    [OPT_SEC_CONFIG] = "Configuration",
	    [OPT_SEC_DEVICE] = "Device",
	    [OPT_SEC_CRYPTO] = "Crypto",
	    [OPT_SEC_NETWORK] = "Network",
	    [OPT_SEC_FORWARDING] = "Forwarding",
	    [OPT_SEC_BEACONS] = "Beacons",
	    [OPT_SEC_HUB] = "Management, metrics and the hub role",
	    [OPT_SEC_PROCESS] = "Process",
	};

	return (unsigned)sec < OPT_SEC_COUNT ? titles[sec] : "?";
}

const struct opt *opt_by_key(const char *key)
{
	for (size_t i = 0; i < opt_count; i++)
		if (opt_table[i].key && strcmp(opt_table[i].key, key) == 0)
			return &opt_table[i];
	return NULL;
}

int opt_map_keys(struct opt_map *m, const char *prefix)
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
		if (m->n == OPT_MAP_MAX || len >= OPT_KEY_LEN)
			return -E2BIG;
		memcpy(m->names[m->n], rest, len);
		m->names[m->n][len] = '\0';
		m->cands[m->n] = m->names[m->n];
		m->opt[m->n++] = dot ? NULL : &opt_table[i];
	}
	return 0;
}

bool opt_is_list(const struct opt *o)
{
	return o->kind == OPT_STRLIST || o->kind == OPT_VEC || o->kind == OPT_SET;
}

static int parse_bool(const char *s, bool *out, struct config_error *why)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	char b[CONFIG_SHOW_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
			*out = strcmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return config_fail(why, -EINVAL, "expected true or false, found '%s'", config_show(b, s));
}

/* "invalid mode 'x' (expected normal, hub, switch or router)" */
static int parse_enum(const struct opt *o, const char *s, unsigned *out, struct config_error *why)
{
	char b[CONFIG_SHOW_LEN], list[256];
	size_t len = 0;

	for (size_t i = 0; i < o->n_values; i++) {
		if (strcmp(s, o->values[i]) == 0) {
			*out = (unsigned)i;
			return 0;
		}
	}
	list[0] = '\0';
	for (size_t i = 0; i < o->n_values && len < sizeof(list); i++) {
		const char *sep = i == 0 ? "" : i + 1 == o->n_values ? " or " : ", ";
		int n = snprintf(list + len, sizeof(list) - len, "%s%s", sep, o->values[i]);

		len += n > 0 ? (size_t)n : 0;
	}
	return config_fail(why, -EINVAL, "invalid %s '%s' (expected %s)", o->what,
			   config_show(b, s), list);
}

int opt_set(const struct opt *o, struct config *l, const char *s, struct config_error *why)
{
	int r = o->check ? o->check(s, why) : 0;

	if (r < 0)
		return r;
	switch (o->kind) {
	case OPT_STR:
	case OPT_SECRET:
		if (config_copy_str(field(o, l), s, o->kind == OPT_SECRET) < 0)
			return config_fail(why, -ENOMEM, "out of memory");
		return 0;
	case OPT_U32:
		r = config_parse_u32(s, field(o, l), why);
		break;
	case OPT_BOOL:
		r = parse_bool(s, field(o, l), why);
		break;
	case OPT_ENUM:
		r = parse_enum(o, s, field(o, l), why);
		break;
	case OPT_CUSTOM:
		r = o->set(l, s, why);
		break;
	default:
		return config_fail(why, -EINVAL, "internal error: '%s' is not a single value",
				   o->names[0] ? o->names[0] : "?");
	}
	if (r == 0)
		l->flags |= o->has;
	return r;
}

int opt_add(const struct opt *o, struct config *l, const char *s, bool cli,
	    struct config_error *why)
{
	union {
		uint8_t b[64];
		struct range range;
	} elem;
	size_t *n = (size_t *)(void *)((char *)l + o->count_off);
	char *v;
	int r;

	if (o->kind == OPT_STRLIST) {
		r = o->check ? o->check(s, why) : 0;
		if (r == 0 && (r = config_strlist_push(field(o, l), s)) < 0)
			return config_list_error(why, r, o->what);
		return r;
	}
	if ((o->kind != OPT_VEC && o->kind != OPT_SET) || o->size > sizeof(elem))
		return config_fail(why, -EINVAL, "internal error: '%s' is not a list",
				   o->names[0] ? o->names[0] : "?");
	r = o->parse(s, elem.b, cli, why);
	if (r < 0)
		return r;
	if (o->kind == OPT_VEC) {
		r = config_grow(field(o, l), *n, 1, o->size);
		if (r < 0)
			return config_list_error(why, r, o->what);
		v = *(char **)field(o, l);
	} else {
		v = field(o, l);
		for (size_t i = 0; i < *n; i++)
			if (memcmp(v + i * o->size, elem.b, o->size) == 0)
				return 0; /* listed once */
		if (*n >= o->cap)
			return config_list_error(why, -E2BIG, o->what);
	}
	memcpy(v + *n * o->size, elem.b, o->size);
	(*n)++;
	return 0;
}

void opt_set_switch(const struct opt *o, struct config *l)
{
	if (o->kind == OPT_BOOL)
		*(bool *)field(o, l) = o->sw != 0;
	else if (o->kind == OPT_ENUM)
		*(unsigned *)field(o, l) = o->sw;
	l->flags |= o->has;
}

unsigned opt_get_uint(const struct opt *o, const struct config *l)
{
	const void *p = (const char *)l + o->off;

	if (o->kind == OPT_BOOL)
		return *(const bool *)p;
	if (o->kind == OPT_ENUM)
		return *(const unsigned *)p;
	return 0;
}

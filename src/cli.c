// SPDX-License-Identifier: GPL-3.0-or-later
/* cli.c - VpnCloud 2.3 compatible command line, environment, help text, config building. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/cli.h"

enum {
	OPT_CONFIG = 256,
	OPT_DEVICE_PATH,
	OPT_FIX_RP_FILTER,
	OPT_PRIVATE_KEY,
	OPT_PUBLIC_KEY,
	OPT_TRUSTED_KEY,
	OPT_ALGORITHM,
	OPT_CLAIM,
	OPT_NO_AUTO_CLAIM,
	OPT_PEER_TIMEOUT,
	OPT_KEEPALIVE,
	OPT_SWITCH_TIMEOUT,
	OPT_BEACON_STORE,
	OPT_BEACON_LOAD,
	OPT_BEACON_INTERVAL,
	OPT_BEACON_PASSWORD,
	OPT_IP,
	OPT_ADVERTISE,
	OPT_IFUP,
	OPT_IFDOWN,
	OPT_NO_PORT_FORWARDING,
	OPT_DAEMON,
	OPT_PID_FILE,
	OPT_STATS_FILE,
	OPT_STATSD_SERVER,
	OPT_STATSD_PREFIX,
	OPT_USER,
	OPT_GROUP,
	OPT_LOG_FILE,
	OPT_HOOK,
	OPT_VERSION,
};

/* The first entry for each value is its canonical name (used in messages). */
static const struct option node_opts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"type", required_argument, NULL, 't'},
    {"device", required_argument, NULL, 'd'},
    {"device-path", required_argument, NULL, OPT_DEVICE_PATH},
    {"fix-rp-filter", no_argument, NULL, OPT_FIX_RP_FILTER},
    {"mode", required_argument, NULL, 'm'},
    {"password", required_argument, NULL, 'p'},
    {"private-key", required_argument, NULL, OPT_PRIVATE_KEY},
    {"key", required_argument, NULL, OPT_PRIVATE_KEY},
    {"public-key", required_argument, NULL, OPT_PUBLIC_KEY},
    {"trusted-key", required_argument, NULL, OPT_TRUSTED_KEY},
    {"trust", required_argument, NULL, OPT_TRUSTED_KEY},
    {"algorithm", required_argument, NULL, OPT_ALGORITHM},
    {"algo", required_argument, NULL, OPT_ALGORITHM},
    {"claim", required_argument, NULL, OPT_CLAIM},
    {"no-auto-claim", no_argument, NULL, OPT_NO_AUTO_CLAIM},
    {"listen", required_argument, NULL, 'l'},
    {"peer", required_argument, NULL, 'c'},
    {"connect", required_argument, NULL, 'c'},
    {"peer-timeout", required_argument, NULL, OPT_PEER_TIMEOUT},
    {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
    {"switch-timeout", required_argument, NULL, OPT_SWITCH_TIMEOUT},
    {"beacon-store", required_argument, NULL, OPT_BEACON_STORE},
    {"beacon-load", required_argument, NULL, OPT_BEACON_LOAD},
    {"beacon-interval", required_argument, NULL, OPT_BEACON_INTERVAL},
    {"beacon-password", required_argument, NULL, OPT_BEACON_PASSWORD},
    {"ip", required_argument, NULL, OPT_IP},
    {"advertise_addresses", required_argument, NULL, OPT_ADVERTISE},
    {"advertise-addresses", required_argument, NULL, OPT_ADVERTISE},
    {"ifup", required_argument, NULL, OPT_IFUP},
    {"ifdown", required_argument, NULL, OPT_IFDOWN},
    {"no-port-forwarding", no_argument, NULL, OPT_NO_PORT_FORWARDING},
    {"daemon", no_argument, NULL, OPT_DAEMON},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"stats-file", required_argument, NULL, OPT_STATS_FILE},
    {"statsd-server", required_argument, NULL, OPT_STATSD_SERVER},
    {"statsd-prefix", required_argument, NULL, OPT_STATSD_PREFIX},
    {"user", required_argument, NULL, OPT_USER},
    {"group", required_argument, NULL, OPT_GROUP},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"hook", required_argument, NULL, OPT_HOOK},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
static const char node_shortopts[] = "+:t:d:m:p:l:c:vqh";

static const struct option genkey_opts[] = {
    {"password", required_argument, NULL, 'p'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const struct {
	const char *name;
	enum cli_command cmd;
} commands[] = {
    {"genkey", CLI_GENKEY},
    {"gen-key", CLI_GENKEY},
    {"ws-proxy", CLI_WS_PROXY},
    {"wsproxy", CLI_WS_PROXY},
    {"migrate-config", CLI_MIGRATE_CONFIG},
    {"migrate", CLI_MIGRATE_CONFIG},
    {"completion", CLI_COMPLETION},
    {"config", CLI_CONFIG},
    {"ctl", CLI_CTL},
    {"beacon", CLI_BEACON},
};

const char *cli_command_name(enum cli_command c)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].cmd == c)
			return commands[i].name;
	return "";
}

static int PRINTF(3, 4) fail(struct config_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* "--type" for 't' etc. */
static const char *opt_name(const struct option *opts, int val, char buf[static 4])
{
	for (const struct option *o = opts; o->name; o++) {
		if (o->val == val)
			return o->name;
	}
	buf[0] = (char)val;
	buf[1] = '\0';
	return buf;
}

static int bad_opt(struct config_error *err, const struct option *opts, int val,
		   const struct config_error *why, int r)
{
	char b[4];
	const char *n = opt_name(opts, val, b);

	fail(err, r, "option %s%s: %s", n[1] ? "--" : "-", n, why->msg);
	return r;
}

static int set_str(char **dst, const char *v, bool secret)
{
	char *c = strdup(v);

	if (!c)
		return -ENOMEM;
	if (*dst) {
		if (secret)
			sodium_memzero(*dst, strlen(*dst));
		free(*dst);
	}
	*dst = c;
	return 0;
}

typedef int (*list_fn)(struct config *cfg, const char *s, struct config_error *why);

static int add_algo_cli(struct config *cfg, const char *s, struct config_error *why)
{
	return config_add_algorithm(cfg, s, true, why);
}

/* Comma-separated values, each handed to fn; empty elements are errors. */
static int add_list(struct config *cfg, const char *arg, list_fn fn, struct config_error *why)
{
	char *copy = strdup(arg), *item, *next;
	int r = 0;

	if (!copy) {
		snprintf(why->msg, sizeof(why->msg), "out of memory");
		return -ENOMEM;
	}
	for (item = copy; item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		if (!*item) {
			r = fail(why, -EINVAL, "empty element in the comma-separated list");
			break;
		}
		r = fn(cfg, item, why);
		if (r < 0)
			break;
	}
	free(copy);
	return r;
}

/* --hook SCRIPT or --hook EVENT:SCRIPT (split only when the prefix is a known event). */
static int add_hook(struct config *cfg, const char *arg)
{
	const char *colon = strchr(arg, ':');
	int ev = colon ? config_hook_event_parse(arg, (size_t)(colon - arg)) : -EINVAL;

	if (ev >= 0)
		return set_str(&cfg->hooks[ev], colon + 1, false);
	return set_str(&cfg->hook, arg, false);
}

/* Handles one node option; 0 or -errno with the option named in err. */
static int node_option(struct cli *cli, int c, const char *arg, struct config_error *err)
{
	struct config *l = &cli->layer;
	struct config_error why = {""};
	char **str = NULL;
	bool secret = false;
	uint32_t *u32 = NULL;
	uint32_t has = 0;
	int r = 0;

	switch (c) {
	case OPT_CONFIG:
		str = &cli->config_path;
		break;
	case 't':
		r = config_parse_device_type(arg, &l->device_type, &why);
		has = CONFIG_HAS_DEVICE_TYPE;
		break;
	case 'd':
		r = config_check_device_name(arg, &why);
		str = &l->device_name;
		break;
	case OPT_DEVICE_PATH:
		str = &l->device_path;
		break;
	case OPT_FIX_RP_FILTER:
		l->fix_rp_filter = true;
		has = CONFIG_HAS_FIX_RP_FILTER;
		break;
	case 'm':
		r = config_parse_mode(arg, &l->mode, &why);
		has = CONFIG_HAS_MODE;
		break;
	case 'p':
		str = &l->password;
		secret = true;
		break;
	case OPT_PRIVATE_KEY:
	case OPT_PUBLIC_KEY: {
		uint8_t key[KEYS_PUB_LEN];
		r = keys_decode(key, arg);
		sodium_memzero(key, sizeof(key));
		if (r < 0)
			r = fail(&why, -EINVAL,
				 "invalid key (expected base62 text of 32 bytes, as "
				 "printed by 'meshvpn genkey')");
		secret = c == OPT_PRIVATE_KEY;
		str = secret ? &l->private_key : &l->public_key;
		break;
	}
	case OPT_TRUSTED_KEY:
		r = add_list(l, arg, config_add_trusted_key, &why);
		break;
	case OPT_ALGORITHM:
		r = add_list(l, arg, add_algo_cli, &why);
		break;
	case OPT_CLAIM:
		r = add_list(l, arg, config_add_claim, &why);
		break;
	case OPT_ADVERTISE:
		r = add_list(l, arg, config_add_advertise_address, &why);
		break;
	case 'c':
		r = config_add_peer(l, arg, &why);
		break;
	case OPT_NO_AUTO_CLAIM:
		l->auto_claim = false;
		has = CONFIG_HAS_AUTO_CLAIM;
		break;
	case OPT_NO_PORT_FORWARDING:
		l->port_forwarding = false;
		has = CONFIG_HAS_PORT_FORWARDING;
		break;
	case 'l': {
		struct config_listen lis;
		r = config_parse_listen(arg, ADDR_DEFAULT_PORT, &lis, &why);
		str = &l->listen;
		break;
	}
	case OPT_PEER_TIMEOUT:
		u32 = &l->peer_timeout;
		has = CONFIG_HAS_PEER_TIMEOUT;
		break;
	case OPT_KEEPALIVE:
		u32 = &l->keepalive;
		has = CONFIG_HAS_KEEPALIVE;
		break;
	case OPT_SWITCH_TIMEOUT:
		u32 = &l->switch_timeout;
		has = CONFIG_HAS_SWITCH_TIMEOUT;
		break;
	case OPT_BEACON_INTERVAL:
		u32 = &l->beacon_interval;
		has = CONFIG_HAS_BEACON_INTERVAL;
		break;
	case OPT_BEACON_STORE:
		str = &l->beacon_store;
		break;
	case OPT_BEACON_LOAD:
		str = &l->beacon_load;
		break;
	case OPT_BEACON_PASSWORD:
		str = &l->beacon_password;
		secret = true;
		break;
	case OPT_IP:
		r = config_parse_ip(arg, l->ip, &l->ip_prefix, &why);
		has = CONFIG_HAS_IP;
		break;
	case OPT_IFUP:
		str = &l->ifup;
		break;
	case OPT_IFDOWN:
		str = &l->ifdown;
		break;
	case OPT_DAEMON:
		l->daemon = true;
		has = CONFIG_HAS_DAEMON;
		break;
	case OPT_PID_FILE:
		str = &l->pid_file;
		break;
	case OPT_STATS_FILE:
		str = &l->stats_file;
		break;
	case OPT_STATSD_SERVER:
		r = config_check_hostport(arg, true, &why);
		str = &l->statsd_server;
		break;
	case OPT_STATSD_PREFIX:
		str = &l->statsd_prefix;
		break;
	case OPT_USER:
		str = &l->user;
		break;
	case OPT_GROUP:
		str = &l->group;
		break;
	case OPT_LOG_FILE:
		str = &l->log_file;
		break;
	case OPT_HOOK:
		if (add_hook(l, arg) < 0)
			r = fail(&why, -ENOMEM, "out of memory");
		break;
	case 'v':
	case 'q':
		if ((l->flags & CONFIG_HAS_LOG_LEVEL) &&
		    l->log_level != (c == 'v' ? LOG_DEBUG : LOG_ERROR))
			return fail(err, -EINVAL,
				    "options -v/--verbose and -q/--quiet cannot be used together");
		l->log_level = c == 'v' ? LOG_DEBUG : LOG_ERROR;
		has = CONFIG_HAS_LOG_LEVEL;
		break;
	default:
		return fail(err, -EINVAL, "internal error: unhandled option %d", c);
	}
	if (r == 0 && u32)
		r = config_parse_u32(arg, u32, &why);
	if (r == 0 && str && set_str(str, arg, secret) < 0)
		r = fail(&why, -ENOMEM, "out of memory");
	if (r < 0)
		return bad_opt(err, node_opts, c, &why, r);
	l->flags |= has;
	return 0;
}

/*
 * Message for getopt's '?' and ':' results. prev is optind before the call: when the
 * offending element was a long option getopt has moved past it, otherwise it is a short
 * option (optopt) inside a cluster.
 */
static int getopt_error(int c, char **argv, int prev, struct config_error *err, const char *where)
{
	const char *text = optind > prev && optind > 0 ? argv[optind - 1] : "";
	bool is_long = strncmp(text, "--", 2) == 0;
	int n = (int)strcspn(text, "=");

	if (c == ':') {
		if (is_long)
			return fail(err, -EINVAL, "option %s%s requires a value", text, where);
		return fail(err, -EINVAL, "option -%c%s requires a value", optopt, where);
	}
	if (is_long && optopt != 0)
		return fail(err, -EINVAL, "option %.*s%s does not take a value", n, text, where);
	if (is_long)
		return fail(err, -EINVAL, "unknown or ambiguous option '%.*s'%s (try --help)", n,
			    text, where);
	return fail(err, -EINVAL, "unknown option -%c%s (try --help)", optopt, where);
}

static int parse_genkey(int argc, char **argv, struct cli *cli, struct config_error *err)
{
	const char *env;
	int c;

	optind = 0;
	opterr = 0;
	for (;;) {
		int prev = optind;

		c = getopt_long(argc, argv, "+:p:h", genkey_opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'p':
			if (set_str(&cli->genkey_password, optarg, true) < 0)
				return fail(err, -ENOMEM, "out of memory");
			break;
		case 'h':
			cli->help = true;
			return 0;
		default:
			return getopt_error(c, argv, prev, err, " for genkey");
		}
	}
	if (optind < argc)
		return fail(err, -EINVAL, "unexpected argument '%s' for genkey", argv[optind]);
	env = getenv("PASSWORD");
	if (!cli->genkey_password && env && set_str(&cli->genkey_password, env, true) < 0)
		return fail(err, -ENOMEM, "out of memory");
	return 0;
}

/* PASSWORD and PRIVATE_KEY act like the options when those are not given. */
static int apply_env(struct cli *cli, struct config_error *err)
{
	struct config *l = &cli->layer;
	const char *pw = getenv("PASSWORD"), *key = getenv("PRIVATE_KEY");
	bool pw_env = false, key_env = false;

	if (!l->password && pw) {
		if (set_str(&l->password, pw, true) < 0)
			return fail(err, -ENOMEM, "out of memory");
		pw_env = true;
	}
	if (!l->private_key && key) {
		uint8_t k[KEYS_PUB_LEN];
		int r = keys_decode(k, key);

		sodium_memzero(k, sizeof(k));
		if (r < 0)
			return fail(err, -EINVAL,
				    "environment variable PRIVATE_KEY: invalid key "
				    "(expected base62 text of 32 bytes)");
		if (set_str(&l->private_key, key, true) < 0)
			return fail(err, -ENOMEM, "out of memory");
		key_env = true;
	}
	if (l->password && l->private_key)
		return fail(err, -EINVAL, "%s and %s cannot be used together",
			    pw_env ? "the environment variable PASSWORD" : "option --password",
			    key_env ? "the environment variable PRIVATE_KEY"
				    : "option --private-key");
	return 0;
}

int config_parse_cli(int argc, char **argv, struct cli *cli, struct config_error *err)
{
	int c, r;

	memset(cli, 0, sizeof(*cli));
	config_layer_init(&cli->layer);
	err->msg[0] = '\0';
	optind = 0; /* full re-initialisation (glibc), so the parser can run more than once */
	opterr = 0;
	for (;;) {
		int prev = optind;

		c = getopt_long(argc, argv, node_shortopts, node_opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			cli->help = true;
			return 0;
		case OPT_VERSION:
			cli->version = true;
			return 0;
		case '?':
		case ':':
			return getopt_error(c, argv, prev, err, "");
		default:
			r = node_option(cli, c, optarg, err);
			if (r < 0)
				return r;
		}
	}
	if (optind < argc) {
		const char *name = argv[optind];
		size_t i;

		if (strcmp(name, "help") == 0) {
			cli->help = true;
			return 0;
		}
		for (i = 0; i < ARRAY_SIZE(commands) && strcmp(name, commands[i].name); i++)
			;
		if (i == ARRAY_SIZE(commands))
			return fail(err, -EINVAL, "unknown subcommand '%s' (try --help)", name);
		cli->command = commands[i].cmd;
		cli->sub_argc = argc - optind;
		cli->sub_argv = argv + optind;
		if (cli->command == CLI_GENKEY) {
			r = parse_genkey(cli->sub_argc, cli->sub_argv, cli, err);
			if (r < 0)
				return r;
		}
	}
	return apply_env(cli, err);
}

void cli_free(struct cli *cli)
{
	if (!cli)
		return;
	free(cli->config_path);
	if (cli->genkey_password) {
		sodium_memzero(cli->genkey_password, strlen(cli->genkey_password));
		free(cli->genkey_password);
	}
	config_free(&cli->layer);
	memset(cli, 0, sizeof(*cli));
}

int config_build(struct config *out, const struct cli *cli, struct config_error *err)
{
	int r = 0;

	config_init(out);
	if (cli->config_path)
		r = config_load_file(out, cli->config_path, err);
	if (r == 0)
		r = config_merge(out, &cli->layer, err);
	/* VpnCloud makes --statsd-prefix require --statsd-server; a server from the file counts. */
	if (r == 0 && cli->layer.statsd_prefix && !out->statsd_server)
		r = fail(err, -EINVAL,
			 "option --statsd-prefix requires a statsd server "
			 "(--statsd-server or statsd.server in the config file)");
	if (r == 0)
		r = config_validate(out, err);
	if (r < 0)
		config_free(out);
	return r;
}

void cli_print_version(FILE *out)
{
	fprintf(out, "meshvpn %s\n", MESHVPN_VERSION);
}

/* One entry per line of the --help text. */
static const char *const help_text[] = {
    "meshvpn " MESHVPN_VERSION " - peer-to-peer mesh VPN, wire compatible with VpnCloud 2.3",
    "",
    "Usage:",
    "  meshvpn [OPTIONS]                      run a node",
    "  meshvpn [OPTIONS] genkey [-p PASSWORD] print a key pair (random, or from PASSWORD)",
    "  meshvpn beacon encode|decode|markers   beacons by hand (meshvpn beacon --help)",
    "  meshvpn ws-proxy [-l ADDR] [OPTIONS]   WebSocket proxy (see meshvpn ws-proxy --help)",
    "  meshvpn migrate-config --config-file FILE",
    "                                         convert a 1.x file (not implemented yet)",
    "  meshvpn completion [--shell SHELL]     shell completions (not implemented yet)",
    "  meshvpn help | -h | --help | --version",
    "",
    "Options override the --config file; repeatable options add to the file's lists.",
    "Lists may also be given comma-separated (--claim 10.0.0.0/24,10.1.0.0/24).",
    "",
    "Configuration:",
    "      --config FILE          read settings from a VpnCloud 2.x YAML file",
    "",
    "Device:",
    "  -t, --type tun|tap         device type (default tun)",
    "  -d, --device NAME          device name, %d = a free number "
    "(default " CONFIG_DEFAULT_DEVICE_NAME ")",
    "      --device-path PATH     TUN/TAP clone device (default " CONFIG_DEFAULT_DEVICE_PATH ")",
    "      --fix-rp-filter        set rp_filter to 1 for the device if needed",
    "      --ip ADDR[/LEN]        IPv4 address (default /24) for the device; brings it up",
    "      --ifup COMMAND         shell command run after the device is set up",
    "      --ifdown COMMAND       shell command run at shutdown",
    "",
    "Crypto:",
    "  -p, --password TEXT        derive the key pair from TEXT (env PASSWORD)",
    "      --private-key, --key KEY",
    "                             base62 private key (env PRIVATE_KEY); not with --password",
    "      --public-key KEY       own public key, checked against the private key",
    "      --trusted-key, --trust KEY[,KEY..]",
    "                             trust this public key (repeatable; default: own key)",
    "      --algorithm, --algo NAME[,NAME..]",
    "                             allow plain, aes128, aes256 or chacha20 (repeatable;",
    "                             default aes128, aes256, chacha20)",
    "",
    "Network:",
    "  -l, --listen ADDR          PORT, IP, IP:PORT or [IPv6]:PORT (default 3210);",
    "                             ws://HOST[:PORT][/PATH] proxy: not implemented yet",
    "                             (default 3210)",
    "  -c, --peer, --connect HOST[:PORT]",
    "                             peer to connect to and keep connected (repeatable)",
    "      --advertise_addresses, --advertise-addresses ADDR[,ADDR..]",
    "                             extra own addresses to announce to peers",
    "      --no-port-forwarding   do not map the port with UPnP",
    "      --peer-timeout SECS    drop silent peers after SECS (default 300)",
    "      --keepalive SECS       at most SECS between keepalives",
    "                             (default max(peer-timeout/2 - 60, 1))",
    "",
    "Forwarding:",
    "  -m, --mode MODE            normal, hub, switch or router (default normal)",
    "      --claim ADDR/LEN[,..]  address range served by this node (repeatable)",
    "      --no-auto-claim        do not claim the device's IPv4 address",
    "      --switch-timeout SECS  lifetime of learned addresses (default 300)",
    "",
    "Beacons:",
    "      --beacon-store PATH|\"|CMD\"",
    "                             publish beacons to a file or a shell command",
    "      --beacon-load PATH|\"|CMD\"",
    "                             read beacons from a file or a shell command",
    "      --beacon-interval SECS store/load period (default 3600)",
    "      --beacon-password TEXT beacon obfuscation password",
    "",
    "Process:",
    "      --daemon               run in the background",
    "      --pid-file FILE        write the process id (with --daemon)",
    "      --user USER            switch to USER after start-up",
    "      --group GROUP          switch to GROUP after start-up",
    "      --log-file FILE        also log to FILE",
    "      --stats-file FILE      write statistics to FILE every minute",
    "      --statsd-server HOST:PORT",
    "                             send statistics to statsd",
    "      --statsd-prefix TEXT   statsd key prefix (default " CONFIG_DEFAULT_STATSD_PREFIX ")",
    "      --hook [EVENT:]SCRIPT  run SCRIPT for EVENT, or for every event (repeatable);",
    "                             events: device_setup, device_configured, vpn_started,",
    "                             peer_connecting, peer_connected, peer_disconnected,",
    "                             vpn_shutdown",
    "  -v, --verbose              debug output",
    "  -q, --quiet                errors only",
    "  -h, --help                 this text",
    "      --version              print the version",
};

void cli_print_help(FILE *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(help_text); i++)
		fprintf(out, "%s\n", help_text[i]);
}

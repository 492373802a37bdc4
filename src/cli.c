// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * cli.c - VpnCloud 2.3 compatible command line (getopt built from the options table),
 * environment, subcommands, help text, config building.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/cli.h"
#include "meshvpn/config_load.h"
#include "meshvpn/options.h"

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
    {"hub", CLI_HUB},
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

static int set_str(char **dst, const char *v, bool secret)
{
	char *c = secret ? config_secret_dup(v) : strdup(v);

	if (!c)
		return -ENOMEM;
	if (secret)
		config_secret_free(*dst);
	else
		free(*dst);
	*dst = c;
	return 0;
}

/* getopt_long's value for a table entry: its short letter, else OPT_VAL_BASE + index. */
#define OPT_VAL_BASE 256

static int opt_val(const struct opt *o)
{
	return o->short_name ? o->short_name : OPT_VAL_BASE + (int)(o - opt_table);
}

static const struct opt *opt_of_val(int c)
{
	for (size_t i = 0; i < opt_count; i++)
		if (opt_val(&opt_table[i]) == c)
			return &opt_table[i];
	return NULL;
}

/* getopt_long's arrays built from the table: longs is allocated, shorts "+:t:d:...". */
static int build_getopt(struct option **longs, char *shorts, size_t cap)
{
	size_t n = 0, k = 0, s = 0;

	for (size_t i = 0; i < opt_count; i++)
		for (size_t j = 0; j < OPT_MAX_NAMES && opt_table[i].names[j]; j++)
			n++;
	*longs = calloc(n + 1, sizeof(**longs));
	if (!*longs)
		return -ENOMEM;
	shorts[s++] = '+'; /* stop at the first non-option: the subcommand */
	shorts[s++] = ':'; /* a missing value is ':', not '?' */
	for (size_t i = 0; i < opt_count; i++) {
		const struct opt *o = &opt_table[i];
		int has_arg = (o->flags & OPT_SWITCH) ? no_argument : required_argument;

		for (size_t j = 0; j < OPT_MAX_NAMES && o->names[j]; j++)
			(*longs)[k++] = (struct option){o->names[j], has_arg, NULL, opt_val(o)};
		if (o->short_name && s + 3 <= cap) {
			shorts[s++] = o->short_name;
			if (has_arg == required_argument)
				shorts[s++] = ':';
		}
	}
	shorts[s] = '\0';
	return 0;
}

/* "-v/--verbose" or "--daemon" */
static const char *spell(const struct opt *o, char *buf, size_t len)
{
	if (o->short_name)
		snprintf(buf, len, "-%c/--%s", o->short_name, o->names[0]);
	else
		snprintf(buf, len, "--%s", o->names[0]);
	return buf;
}

/* A switch; two switches storing different values in one field exclude each other. */
static int switch_option(struct config *l, const struct opt *o, struct config_error *err)
{
	char b1[64], b2[64];

	if ((l->flags & o->has) && opt_get_uint(o, l) != o->sw) {
		const struct opt *first = NULL, *second = NULL;

		for (size_t i = 0; i < opt_count; i++) {
			const struct opt *e = &opt_table[i];

			if (!(e->flags & OPT_SWITCH) || e->off != o->off || e->kind != o->kind ||
			    (e != o && e->sw != opt_get_uint(o, l)))
				continue;
			if (!first)
				first = e;
			else if (!second)
				second = e;
		}
		if (first && second)
			return fail(err, -EINVAL, "options %s and %s cannot be used together",
				    spell(first, b1, sizeof(b1)), spell(second, b2, sizeof(b2)));
	}
	opt_set_switch(o, l);
	return 0;
}

/* Comma-separated values, each appended; empty elements are errors. */
static int add_list(struct config *l, const struct opt *o, const char *arg,
		    struct config_error *why)
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
		r = opt_add(o, l, item, true, why);
		if (r < 0)
			break;
	}
	free(copy);
	return r;
}

/* arg is the value of a secret option in argv: cli_scrub() overwrites it. */
static void remember_secret(struct cli *cli, char *arg)
{
	if (arg && cli->n_secret_args < CLI_SECRET_ARGS)
		cli->secret_args[cli->n_secret_args++] = arg;
}

static void scrub_env(const char *name)
{
	char *v = getenv(name);

	if (v)
		sodium_memzero(v, strlen(v));
	unsetenv(name);
}

void cli_scrub(struct cli *cli)
{
	for (size_t i = 0; i < cli->n_secret_args; i++)
		sodium_memzero(cli->secret_args[i], strlen(cli->secret_args[i]));
	cli->n_secret_args = 0;
	scrub_env("PASSWORD");
	scrub_env("PRIVATE_KEY");
}

/* Handles one node option given with its value (NULL for a switch); 0 or -errno in err. */
static int node_option(struct cli *cli, const struct opt *o, char *arg, struct config_error *err)
{
	struct config *l = &cli->layer;
	struct config_error why = {""};
	int r;

	if (o->flags & OPT_SWITCH)
		return switch_option(l, o, err);
	if (o->cli_set)
		r = o->cli_set(l, arg, &why);
	else if (opt_is_list(o) && (o->flags & OPT_COMMAS))
		r = add_list(l, o, arg, &why);
	else if (opt_is_list(o))
		r = opt_add(o, l, arg, true, &why);
	else
		r = opt_set(o, l, arg, &why);
	if (r < 0)
		return fail(err, r, "option --%s: %s", o->names[0], why.msg);
	if (o->kind == OPT_SECRET)
		remember_secret(cli, arg);
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
			remember_secret(cli, optarg);
			break;
		case 'h':
			cli->help = true;
			return 0;
		default:
			return getopt_error(c, argv, prev, err, " for genkey");
		}
	}
	if (optind < argc)
		/* not echoed: it may well be a password given without -p */
		return fail(err, -EINVAL, "unexpected argument for genkey (a password needs -p)");
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

/* The node options, up to the subcommand; 0 or -errno with err set. */
static int parse_node_options(int argc, char **argv, struct cli *cli, struct config_error *err)
{
	struct option *longs = NULL;
	char shorts[2 + 3 * 52 + 1];
	int r = build_getopt(&longs, shorts, sizeof(shorts));

	if (r < 0)
		return fail(err, r, "out of memory");
	optind = 0; /* full re-initialisation (glibc), so the parser can run more than once */
	opterr = 0;
	for (;;) {
		int prev = optind, c = getopt_long(argc, argv, shorts, longs, NULL);
		const struct opt *o = opt_of_val(c);

		if (c == -1)
			break;
		if (c == '?' || c == ':' || !o) {
			r = getopt_error(c, argv, prev, err, "");
			break;
		}
		if (o->action == OPT_ACT_HELP || o->action == OPT_ACT_VERSION ||
		    o->action == OPT_ACT_DUMP) {
			*(o->action == OPT_ACT_HELP	 ? &cli->help
			  : o->action == OPT_ACT_VERSION ? &cli->version
							 : &cli->dump_options) = true;
			break;
		}
		if (o->action == OPT_ACT_CONFIG)
			r = set_str(&cli->config_path, optarg, false) < 0
				? fail(err, -ENOMEM, "out of memory")
				: 0;
		else
			r = node_option(cli, o, optarg, err);
		if (r < 0)
			break;
	}
	free(longs);
	return r;
}

int config_parse_cli(int argc, char **argv, struct cli *cli, struct config_error *err)
{
	int r;

	memset(cli, 0, sizeof(*cli));
	config_layer_init(&cli->layer);
	err->msg[0] = '\0';
	r = parse_node_options(argc, argv, cli, err);
	if (r < 0 || cli->help || cli->version || cli->dump_options)
		return r;
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
	config_secret_free(cli->genkey_password);
	config_free(&cli->layer);
	memset(cli, 0, sizeof(*cli));
}

/* The network name of /etc/meshvpn/NAME.net (any directory; ".net" is optional). */
static int name_from_path(struct config *cfg, const char *path, struct config_error *err)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 4 && strcmp(base + len - 4, ".net") == 0)
		len -= 4;
	/* names that cannot be file names stay unset: the socket then needs --socket */
	if (!len || len > 64 || strspn(base, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					     "0123456789._-") < len || base[0] == '.')
		return 0;
	cfg->name = strndup(base, len);
	return cfg->name ? 0 : fail(err, -ENOMEM, "out of memory");
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
	if (r == 0 && !out->name && cli->config_path)
		r = name_from_path(out, cli->config_path, err);
	if (r == 0)
		r = config_validate(out, err);
	/* refused here (--strict-perms); the warning is the caller's to log */
	if (r == 0 && config_check_perms(out, err) < 0)
		r = -EACCES;
	if (r < 0)
		config_free(out);
	return r;
}

void cli_print_version(FILE *out)
{
	fprintf(out, "meshvpn %s\n", MESHVPN_VERSION);
}

/* The head of the --help text; the options follow from the table. */
static const char *const help_usage[] = {
    "meshvpn " MESHVPN_VERSION " - peer-to-peer mesh VPN, wire compatible with VpnCloud 2.3",
    "",
    "Usage:",
    "  meshvpn [OPTIONS]                      run a node",
    "  meshvpn [OPTIONS] genkey [-p PASSWORD] print a key pair (random, or from PASSWORD)",
    "  meshvpn ctl [-n NAME] COMMAND          ask a running node (meshvpn ctl --help)",
    "  meshvpn hub [-n NAME] COMMAND          manage a hub's clients (meshvpn hub --help)",
    "  meshvpn beacon encode|decode|markers   beacons by hand (meshvpn beacon --help)",
    "  meshvpn ws-proxy [-l ADDR] [OPTIONS]   WebSocket proxy (see meshvpn ws-proxy --help)",
    "  meshvpn help | -h | --help | --version",
    "",
    "Options override the --config file; repeatable options add to the file's lists.",
    "Lists may also be given comma-separated (--claim 10.0.0.0/24,10.1.0.0/24).",
};

#define HELP_COLUMN 29 /* where the descriptions start */

static bool in_help(const struct opt *o)
{
	return o->names[0] && !(o->flags & OPT_HIDDEN);
}

/* "  -c, --peer, --connect HOST[:PORT]" and the description, next to it or below. */
static void print_option(FILE *out, const struct opt *o)
{
	const char *h = o->help ? o->help : "";
	int n;

	n = fprintf(out, "  %c%c%s", o->short_name ? '-' : ' ', o->short_name ? o->short_name : ' ',
		    o->short_name ? ", " : "  ");
	for (size_t j = 0; j < OPT_MAX_NAMES && o->names[j]; j++)
		n += fprintf(out, "%s--%s", j ? ", " : "", o->names[j]);
	if (o->arg)
		n += fprintf(out, " %s", o->arg);
	if (n >= HELP_COLUMN)
		n = fprintf(out, "\n") - 1;
	for (;;) {
		const char *nl = strchr(h, '\n');
		int len = nl ? (int)(nl - h) : (int)strlen(h);

		fprintf(out, "%*s%.*s\n", HELP_COLUMN - n, "", len, h);
		if (!nl)
			break;
		h = nl + 1;
		n = 0;
	}
}

void cli_print_help(FILE *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(help_usage); i++)
		fprintf(out, "%s\n", help_usage[i]);
	for (int sec = 0; sec < OPT_SEC_COUNT; sec++) {
		fprintf(out, "\n%s:\n", opt_section_title(sec));
		for (size_t i = 0; i < opt_count; i++)
			if (in_help(&opt_table[i]) && opt_table[i].section == (enum opt_section)sec)
				print_option(out, &opt_table[i]);
	}
}

void cli_print_options(FILE *out)
{
	for (size_t i = 0; i < opt_count; i++) {
		const struct opt *o = &opt_table[i];

		if (o->flags & OPT_HIDDEN)
			continue;
		for (size_t j = 0; j < OPT_MAX_NAMES && o->names[j]; j++)
			fprintf(out, "long %s\n", o->names[j]);
		if (o->short_name)
			fprintf(out, "short %c\n", o->short_name);
		if (o->key)
			fprintf(out, "key %s\n", o->key);
	}
	for (int ev = 0; ev < CONFIG_HOOK_COUNT; ev++)
		fprintf(out, "event %s\n", config_hook_event_name(ev));
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "command %s\n", commands[i].name);
	fprintf(out, "command help\n");
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* test_cli.c - command line options and aliases, environment, subcommands, config building. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/cli.h"
#include "meshvpn/options.h"

#define A1_SEED_B62 "OcNT14Czd82FN9R7Bms8WW0ZX50TO7SoA99yGK2Rmyz"
#define A1_PUB_B62  "PQGYPnaB8PV2qWtxGtN9wibSKzYbSwbQh1s9b5syjch"

static struct config_error err;
static char *argv_buf[128];

/* Parses "meshvpn" + the NULL-terminated arguments. */
static int parse(struct cli *cli, ...)
{
	va_list ap;
	int argc = 0;

	argv_buf[argc++] = "meshvpn";
	va_start(ap, cli);
	for (char *a; (a = va_arg(ap, char *)) != NULL;) {
		assert_true(argc < (int)(sizeof(argv_buf) / sizeof(argv_buf[0])) - 1);
		argv_buf[argc++] = a;
	}
	va_end(ap);
	argv_buf[argc] = NULL;
	memset(&err, 0, sizeof(err));
	return config_parse_cli(argc, argv_buf, cli, &err);
}

#define PARSE(cli, ...) parse(cli, __VA_ARGS__, (char *)NULL)

static void expect_fail(const char *msg, int r, struct cli *cli)
{
	if (r == 0 || strcmp(err.msg, msg) != 0)
		print_error("got %d '%s'\nwant '%s'\n", r, err.msg, msg);
	assert_true(r < 0);
	assert_string_equal(err.msg, msg);
	cli_free(cli);
}

static int setup(void **state)
{
	(void)state;
	unsetenv("PASSWORD");
	unsetenv("PRIVATE_KEY");
	return 0;
}

static void test_every_option(void **state)
{
	(void)state;
	struct cli cli;
	struct config *l = &cli.layer;
	char buf[VADDR_STRLEN + 4];

	assert_int_equal(
	    PARSE(&cli, "--config", "/etc/x.net", "-t", "tap", "-d", "vpn%d", "--device-path",
		  "/dev/tun2", "--fix-rp-filter", "-m", "router", "-p", "secret", "--public-key",
		  A1_PUB_B62, "--trusted-key", A1_PUB_B62, "--algorithm", "aes256", "--claim",
		  "10.0.0.0/8", "--no-auto-claim", "-l", "4000", "-c", "peer1:3210",
		  "--peer-timeout", "600", "--keepalive", "100", "--switch-timeout", "50",
		  "--beacon-store", "/tmp/b", "--beacon-load", "|cat x", "--beacon-interval", "60",
		  "--beacon-password", "bp", "--ip", "10.1.2.3/16", "--advertise_addresses",
		  "192.0.2.1", "--ifup", "up.sh", "--ifdown", "down.sh", "--no-port-forwarding",
		  "--daemon", "--pid-file", "/run/p", "--stats-file", "/tmp/s", "--statsd-server",
		  "localhost:8125", "--statsd-prefix", "pfx", "--user", "nobody", "--group",
		  "nogroup", "--log-file", "/tmp/log", "--hook", "all.sh", "-v"),
	    0);
	assert_int_equal(cli.command, CLI_RUN);
	assert_false(cli.help);
	assert_false(cli.version);
	assert_string_equal(cli.config_path, "/etc/x.net");
	assert_int_equal(l->device_type, CONFIG_DEVICE_TAP);
	assert_string_equal(l->device_name, "vpn%d");
	assert_string_equal(l->device_path, "/dev/tun2");
	assert_true(l->fix_rp_filter);
	assert_int_equal(l->mode, CONFIG_MODE_ROUTER);
	assert_string_equal(l->password, "secret");
	assert_null(l->private_key);
	assert_string_equal(l->public_key, A1_PUB_B62);
	assert_int_equal(l->n_trusted_keys, 1);
	assert_int_equal(l->n_algorithms, 1);
	assert_int_equal(l->algorithms[0], CONFIG_ALGO_AES256);
	assert_int_equal(l->n_claims, 1);
	assert_string_equal(range_format(&l->claims[0], buf), "10.0.0.0/8");
	assert_false(l->auto_claim);
	assert_string_equal(l->listen, "4000");
	assert_int_equal(l->peers.n, 1);
	assert_string_equal(l->peers.v[0], "peer1:3210");
	assert_int_equal(l->peer_timeout, 600);
	assert_int_equal(l->keepalive, 100);
	assert_int_equal(l->switch_timeout, 50);
	assert_string_equal(l->beacon_store, "/tmp/b");
	assert_string_equal(l->beacon_load, "|cat x");
	assert_int_equal(l->beacon_interval, 60);
	assert_string_equal(l->beacon_password, "bp");
	assert_memory_equal(l->ip, ((uint8_t[]){10, 1, 2, 3}), 4);
	assert_int_equal(l->ip_prefix, 16);
	assert_int_equal(l->advertise_addresses.n, 1);
	assert_string_equal(l->ifup, "up.sh");
	assert_string_equal(l->ifdown, "down.sh");
	assert_false(l->port_forwarding);
	assert_true(l->daemon);
	assert_string_equal(l->pid_file, "/run/p");
	assert_string_equal(l->stats_file, "/tmp/s");
	assert_string_equal(l->statsd_server, "localhost:8125");
	assert_string_equal(l->statsd_prefix, "pfx");
	assert_string_equal(l->user, "nobody");
	assert_string_equal(l->group, "nogroup");
	assert_string_equal(l->log_file, "/tmp/log");
	assert_string_equal(l->hook, "all.sh");
	assert_int_equal(l->log_level, LOG_DEBUG);
	uint32_t all = CONFIG_HAS_DEVICE_TYPE | CONFIG_HAS_FIX_RP_FILTER | CONFIG_HAS_IP |
		       CONFIG_HAS_PEER_TIMEOUT | CONFIG_HAS_KEEPALIVE | CONFIG_HAS_BEACON_INTERVAL |
		       CONFIG_HAS_MODE | CONFIG_HAS_SWITCH_TIMEOUT | CONFIG_HAS_AUTO_CLAIM |
		       CONFIG_HAS_PORT_FORWARDING | CONFIG_HAS_DAEMON | CONFIG_HAS_LOG_LEVEL;
	assert_int_equal(l->flags, all);
	cli_free(&cli);
}

static void test_aliases(void **state)
{
	(void)state;
	struct cli cli;
	struct config *l = &cli.layer;

	assert_int_equal(PARSE(&cli, "--type=tap", "--device", "x0", "--mode=hub", "--password=pw",
			       "--trust", A1_PUB_B62, "--algo", "PLAIN", "--listen", "ws://p/x",
			       "--peer", "a", "--connect", "b:1", "-cc", "--quiet",
			       "--advertise-addresses", "h.example"),
			 0);
	assert_int_equal(l->device_type, CONFIG_DEVICE_TAP);
	assert_string_equal(l->device_name, "x0");
	assert_int_equal(l->mode, CONFIG_MODE_FLOOD);
	assert_string_equal(l->password, "pw");
	assert_int_equal(l->n_trusted_keys, 1);
	assert_int_equal(l->algorithms[0], CONFIG_ALGO_PLAIN);
	assert_string_equal(l->listen, "ws://p/x");
	assert_int_equal(l->peers.n, 3);
	assert_string_equal(l->peers.v[0], "a");
	assert_string_equal(l->peers.v[1], "b:1");
	assert_string_equal(l->peers.v[2], "c");
	assert_int_equal(l->log_level, LOG_ERROR);
	assert_string_equal(l->advertise_addresses.v[0], "h.example");
	cli_free(&cli);

	assert_int_equal(PARSE(&cli, "--key", A1_SEED_B62), 0);
	assert_string_equal(cli.layer.private_key, A1_SEED_B62);
	cli_free(&cli);
	assert_int_equal(PARSE(&cli, "--private-key=" A1_SEED_B62, "-q", "-q"), 0);
	assert_string_equal(cli.layer.private_key, A1_SEED_B62);
	cli_free(&cli);
	assert_int_equal(PARSE(&cli, "-ttun", "-dtun7", "-mswitch", "-l3000"), 0);
	assert_int_equal(cli.layer.device_type, CONFIG_DEVICE_TUN);
	assert_string_equal(cli.layer.device_name, "tun7");
	assert_int_equal(cli.layer.mode, CONFIG_MODE_SWITCH);
	assert_string_equal(cli.layer.listen, "3000");
	cli_free(&cli);
	/* no arguments at all */
	assert_int_equal(PARSE(&cli, "-v"), 0);
	assert_int_equal(cli.layer.flags, CONFIG_HAS_LOG_LEVEL);
	assert_null(cli.config_path);
	cli_free(&cli);
}

static void test_lists(void **state)
{
	(void)state;
	struct cli cli;
	struct config *l = &cli.layer;

	assert_int_equal(PARSE(&cli, "--claim", "10.0.0.0/8,10.1.0.0/16", "--claim", "fd00::/8",
			       "--trusted-key", A1_PUB_B62 ",1", "--trust", "2", "--algorithm",
			       "aes128,CHACHA20", "--algo", "aes128,plain", "--advertise_addresses",
			       "192.0.2.1,[2001:db8::1]:5", "--advertise_addresses", "h"),
			 0);
	assert_int_equal(l->n_claims, 3);
	assert_int_equal(l->claims[1].prefix, 16);
	assert_int_equal(l->claims[2].base.len, 16);
	assert_int_equal(l->n_trusted_keys, 3);
	assert_int_equal(l->trusted_keys[1][31], 1);
	assert_int_equal(l->trusted_keys[2][31], 2);
	assert_int_equal(l->n_algorithms, 3);
	assert_int_equal(l->algorithms[0], CONFIG_ALGO_AES128);
	assert_int_equal(l->algorithms[1], CONFIG_ALGO_CHACHA20);
	assert_int_equal(l->algorithms[2], CONFIG_ALGO_PLAIN);
	assert_int_equal(l->advertise_addresses.n, 3);
	assert_string_equal(l->advertise_addresses.v[1], "[2001:db8::1]:5");
	cli_free(&cli);

	expect_fail("option --claim: empty element in the comma-separated list",
		    PARSE(&cli, "--claim", "10.0.0.0/8,"), &cli);
	expect_fail("option --claim: invalid claim '10.0.0.1' (expected ADDRESS/PREFIX with an "
		    "IPv4, IPv6 or MAC address)",
		    PARSE(&cli, "--claim", "10.0.0.0/8,10.0.0.1"), &cli);
	expect_fail("option --algorithm: invalid algorithm 'aes_256' (expected plain, aes128, "
		    "aes256 or chacha20)",
		    PARSE(&cli, "--algo", "aes_256"), &cli);
	expect_fail("option --trusted-key: invalid key 'x-y' (expected base62 text of 32 bytes)",
		    PARSE(&cli, "--trust", "1,x-y"), &cli);
}

static void test_hooks(void **state)
{
	(void)state;
	struct cli cli;
	struct config *l = &cli.layer;

	assert_int_equal(PARSE(&cli, "--hook", "peer_connected:echo $PEER", "--hook", "echo a:b",
			       "--hook", "vpn_shutdown:x:y", "--hook", "peer_connected:second",
			       "--hook", "unknown_event:z"),
			 0);
	assert_string_equal(l->hooks[CONFIG_HOOK_PEER_CONNECTED], "second");
	assert_string_equal(l->hooks[CONFIG_HOOK_VPN_SHUTDOWN], "x:y");
	/* a global script containing ':' is not mistaken for an event hook; the last wins */
	assert_string_equal(l->hook, "unknown_event:z");
	assert_null(l->hooks[CONFIG_HOOK_VPN_STARTED]);
	cli_free(&cli);
	assert_int_equal(PARSE(&cli, "--hook", "/usr/local/bin/hook.sh"), 0);
	assert_string_equal(cli.layer.hook, "/usr/local/bin/hook.sh");
	cli_free(&cli);
}

static void test_bad_values(void **state)
{
	(void)state;
	struct cli cli;

	expect_fail("option -t requires a value", PARSE(&cli, "-t"), &cli);
	expect_fail("option --type: invalid device type 'TAP' (expected tun or tap)",
		    PARSE(&cli, "-t", "TAP"), &cli);
	expect_fail("option --mode: invalid mode 'x' (expected normal, hub, switch or router)",
		    PARSE(&cli, "--mode", "x"), &cli);
	expect_fail("option --device: device name 'abcdefghijklmnop' is too long (16 bytes, at "
		    "most 15)",
		    PARSE(&cli, "-d", "abcdefghijklmnop"), &cli);
	expect_fail("option --peer-timeout: '-1' must not be negative",
		    PARSE(&cli, "--peer-timeout", "-1"), &cli);
	expect_fail("option --keepalive: '4294967296' is too large (at most 4294967295)",
		    PARSE(&cli, "--keepalive", "4294967296"), &cli);
	expect_fail("option --switch-timeout: expected a non-negative integer, found '10s'",
		    PARSE(&cli, "--switch-timeout", "10s"), &cli);
	expect_fail("option --ip: invalid address '10.0.0.1/40' (expected IPv4 a.b.c.d or "
		    "a.b.c.d/0-32)",
		    PARSE(&cli, "--ip", "10.0.0.1/40"), &cli);
	expect_fail("option --listen: invalid listen address 'x:y' (expected PORT, *:PORT, IP, "
		    "IP:PORT, [IPv6]:PORT or ws://HOST[:PORT][/PATH])",
		    PARSE(&cli, "-l", "x:y"), &cli);
	expect_fail("option --peer: invalid address 'a b' (expected HOST, HOST:PORT or "
		    "[IPv6]:PORT)",
		    PARSE(&cli, "-c", "a b"), &cli);
	expect_fail("option --statsd-server: invalid address 'localhost' (expected HOST:PORT)",
		    PARSE(&cli, "--statsd-server", "localhost"), &cli);
	expect_fail("option --private-key: invalid key (expected base62 text of 32 bytes, as "
		    "printed by 'meshvpn genkey')",
		    PARSE(&cli, "--key", "abc!"), &cli);
	expect_fail("option --public-key: invalid key (expected base62 text of 32 bytes, as "
		    "printed by 'meshvpn genkey')",
		    PARSE(&cli, "--public-key", A1_PUB_B62 A1_PUB_B62), &cli);
	expect_fail("unknown or ambiguous option '--frobnicate' (try --help)",
		    PARSE(&cli, "--frobnicate"), &cli);
	expect_fail("unknown option -x (try --help)", PARSE(&cli, "-x"), &cli);
	expect_fail("unknown option -x (try --help)", PARSE(&cli, "-vx"), &cli);
	expect_fail("option -p requires a value", PARSE(&cli, "-p"), &cli);
	expect_fail("option --peer-timeout requires a value", PARSE(&cli, "--peer-timeout"), &cli);
	expect_fail("option --daemon does not take a value", PARSE(&cli, "--daemon=yes"), &cli);
	expect_fail("option --verbose does not take a value", PARSE(&cli, "--verbose=1"), &cli);
	expect_fail("option --password requires a value", PARSE(&cli, "-v", "--password"), &cli);
	expect_fail("unknown or ambiguous option '--no' (try --help)", PARSE(&cli, "--no=1"), &cli);
	expect_fail("unknown option -x (try --help)", PARSE(&cli, "--password=a", "-xv"), &cli);
	expect_fail("unknown subcommand 'start' (try --help)", PARSE(&cli, "-v", "start"), &cli);
}

/* The command line checks values as the file does. */
static void test_checks_as_file(void **state)
{
	(void)state;
	struct cli cli;

	expect_fail("option --device-path: must not be empty", PARSE(&cli, "--device-path", ""),
		    &cli);
	expect_fail("option --type: invalid device type '' (expected tun or tap)",
		    PARSE(&cli, "--type="), &cli);
}

static void test_conflicts(void **state)
{
	(void)state;
	struct cli cli;

	expect_fail("options -v/--verbose and -q/--quiet cannot be used together",
		    PARSE(&cli, "-v", "-q"), &cli);
	expect_fail("options -v/--verbose and -q/--quiet cannot be used together",
		    PARSE(&cli, "--quiet", "--verbose"), &cli);
	expect_fail("option --password and option --private-key cannot be used together",
		    PARSE(&cli, "-p", "x", "--private-key", A1_SEED_B62), &cli);

	setenv("PASSWORD", "envpw", 1);
	expect_fail("the environment variable PASSWORD and option --private-key cannot be used "
		    "together",
		    PARSE(&cli, "--key", A1_SEED_B62), &cli);
	setenv("PRIVATE_KEY", A1_SEED_B62, 1);
	expect_fail("the environment variable PASSWORD and the environment variable PRIVATE_KEY "
		    "cannot be used together",
		    PARSE(&cli, "-v"), &cli);
	unsetenv("PASSWORD");
	expect_fail("option --password and the environment variable PRIVATE_KEY cannot be used "
		    "together",
		    PARSE(&cli, "-p", "x"), &cli);
	unsetenv("PRIVATE_KEY");
}

/* The secret values are wiped in argv and the environment once copied; nothing else is. */
static void test_scrub(void **state)
{
	(void)state;
	struct cli cli;
	char pw[] = "argpw", bp[] = "--beacon-password=beaconpw", dev[] = "tun7";
	char gpw[] = "genpw";
	char envpw[] = "PASSWORD=envpw"; /* putenv: the environment uses this very buffer */

	assert_int_equal(putenv(envpw), 0);
	assert_int_equal(PARSE(&cli, "-p", pw, bp, "-d", dev), 0);
	cli_scrub(&cli);
	assert_int_equal(pw[0], 0);
	assert_memory_equal(pw, "\0\0\0\0\0", sizeof(pw));
	assert_string_equal(bp, "--beacon-password="); /* the value only */
	assert_string_equal(dev, "tun7");
	assert_null(getenv("PASSWORD"));
	assert_memory_equal(envpw, "PASSWORD=\0\0\0\0\0", sizeof(envpw));
	/* the copies are intact */
	assert_string_equal(cli.layer.password, "argpw");
	assert_string_equal(cli.layer.beacon_password, "beaconpw");
	cli_free(&cli);

	assert_int_equal(PARSE(&cli, "genkey", "-p", gpw), 0);
	cli_scrub(&cli);
	assert_int_equal(gpw[0], 0);
	assert_string_equal(cli.genkey_password, "genpw");
	cli_free(&cli);
}

static void test_env(void **state)
{
	(void)state;
	struct cli cli;

	setenv("PASSWORD", "envpw", 1);
	assert_int_equal(PARSE(&cli, "-v"), 0);
	assert_string_equal(cli.layer.password, "envpw");
	cli_free(&cli);
	/* the option wins over the environment */
	assert_int_equal(PARSE(&cli, "-p", "optpw"), 0);
	assert_string_equal(cli.layer.password, "optpw");
	cli_free(&cli);
	unsetenv("PASSWORD");

	setenv("PRIVATE_KEY", A1_SEED_B62, 1);
	assert_int_equal(PARSE(&cli, "-v"), 0);
	assert_string_equal(cli.layer.private_key, A1_SEED_B62);
	assert_null(cli.layer.password);
	cli_free(&cli);
	setenv("PRIVATE_KEY", "bad!", 1);
	expect_fail("environment variable PRIVATE_KEY: invalid key (expected base62 text of 32 "
		    "bytes)",
		    PARSE(&cli, "-v"), &cli);
	unsetenv("PRIVATE_KEY");
}

static void test_subcommands(void **state)
{
	(void)state;
	struct cli cli;

	assert_int_equal(PARSE(&cli, "-v", "genkey", "-p", "x"), 0);
	assert_int_equal(cli.command, CLI_GENKEY);
	assert_int_equal(cli.layer.log_level, LOG_DEBUG);
	assert_string_equal(cli.genkey_password, "x");
	assert_null(cli.layer.password);
	cli_free(&cli);

	assert_int_equal(PARSE(&cli, "gen-key", "--password=y"), 0);
	assert_int_equal(cli.command, CLI_GENKEY);
	assert_string_equal(cli.genkey_password, "y");
	cli_free(&cli);

	assert_int_equal(PARSE(&cli, "genkey"), 0);
	assert_int_equal(cli.command, CLI_GENKEY);
	assert_null(cli.genkey_password);
	cli_free(&cli);

	setenv("PASSWORD", "fromenv", 1);
	assert_int_equal(PARSE(&cli, "genkey"), 0);
	assert_string_equal(cli.genkey_password, "fromenv");
	cli_free(&cli);
	unsetenv("PASSWORD");

	expect_fail("unexpected argument for genkey (a password needs -p)",
		    PARSE(&cli, "genkey", "extra"), &cli);
	expect_fail("unknown option -v for genkey (try --help)", PARSE(&cli, "genkey", "-v"), &cli);
	expect_fail("option -p for genkey requires a value", PARSE(&cli, "genkey", "-p"), &cli);
	assert_int_equal(PARSE(&cli, "genkey", "--help"), 0);
	assert_true(cli.help);
	cli_free(&cli);

	static const struct {
		const char *name;
		enum cli_command cmd;
	} reserved[] = {
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
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		assert_int_equal(PARSE(&cli, "-q", (char *)reserved[i].name, "-l", "8080", "x"), 0);
		assert_int_equal(cli.command, reserved[i].cmd);
		assert_int_equal(cli.sub_argc, 4);
		assert_string_equal(cli.sub_argv[0], reserved[i].name);
		assert_string_equal(cli.sub_argv[1], "-l");
		assert_string_equal(cli.sub_argv[3], "x");
		assert_null(cli.sub_argv[4]);
		/* the subcommand's options are not parsed as node options */
		assert_string_equal(cli.layer.listen ? cli.layer.listen : "", "");
		cli_free(&cli);
	}
	assert_string_equal(cli_command_name(CLI_WS_PROXY), "ws-proxy");
	assert_string_equal(cli_command_name(CLI_GENKEY), "genkey");
	assert_string_equal(cli_command_name(CLI_RUN), "");

	assert_int_equal(PARSE(&cli, "help"), 0);
	assert_true(cli.help);
	cli_free(&cli);
	assert_int_equal(PARSE(&cli, "-v", "-h", "--bogus"), 0);
	assert_true(cli.help);
	cli_free(&cli);
	assert_int_equal(PARSE(&cli, "--version"), 0);
	assert_true(cli.version);
	cli_free(&cli);
}

static void test_help_version(void **state)
{
	(void)state;
	static const char *const names[] = {
	    "--config",
	    "-t, --type",
	    "-d, --device",
	    "--device-path",
	    "--fix-rp-filter",
	    "-m, --mode",
	    "-p, --password",
	    "--private-key, --key",
	    "--public-key",
	    "--trusted-key, --trust",
	    "--algorithm, --algo",
	    "--claim",
	    "--no-auto-claim",
	    "-l, --listen",
	    "-c, --peer, --connect",
	    "--peer-timeout",
	    "--keepalive",
	    "--switch-timeout",
	    "--beacon-store",
	    "--beacon-load",
	    "--beacon-interval",
	    "--beacon-password",
	    "--ip",
	    "--advertise_addresses, --advertise-addresses",
	    "--ifup",
	    "--ifdown",
	    "--no-port-forwarding",
	    "--daemon",
	    "--pid-file",
	    "--stats-file",
	    "--statsd-server",
	    "--statsd-prefix",
	    "--user",
	    "--group",
	    "--log-file",
	    "--hook",
	    "-v, --verbose",
	    "-q, --quiet",
	    "--version",
	    "-h, --help",
	    "genkey",
	    "ws-proxy",
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cli_print_help(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strstr(text, names[i]))
			print_error("help lacks '%s'\n", names[i]);
		assert_non_null(strstr(text, names[i]));
	}
	/* no line longer than 100 columns */
	for (char *p = text, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_true(nl - p <= 100);
	}
	free(text);

	f = open_memstream(&text, &len);
	cli_print_version(f);
	fclose(f);
	assert_string_equal(text, "meshvpn " MESHVPN_VERSION "\n");
	free(text);
}

static char *capture(void (*print)(FILE *out))
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	print(f);
	fclose(f);
	return text;
}

/* --help and --dump-options come from the table: every visible option is in both. */
static void test_help_from_table(void **state)
{
	(void)state;
	char *help = capture(cli_print_help), *lines = capture(cli_print_options);
	char want[128], *dump = malloc(strlen(lines) + 2);

	assert_non_null(dump);
	sprintf(dump, "\n%s", lines); /* every line starts after a newline */

	for (size_t i = 0; i < opt_count; i++) {
		const struct opt *o = &opt_table[i];
		bool hidden = (o->flags & OPT_HIDDEN) != 0;

		for (size_t j = 0; j < OPT_MAX_NAMES && o->names[j]; j++) {
			snprintf(want, sizeof(want), "--%s", o->names[j]);
			assert_true(!strstr(help, want) == hidden);
			snprintf(want, sizeof(want), "\nlong %s\n", o->names[j]);
			assert_true(!strstr(dump, want) == hidden);
		}
		if (o->names[0] && !hidden) {
			assert_non_null(o->help);
			snprintf(want, sizeof(want), "\n%s:\n", opt_section_title(o->section));
			assert_non_null(strstr(help, want));
		}
		if (o->short_name) {
			snprintf(want, sizeof(want), "  -%c, --%s", o->short_name, o->names[0]);
			assert_non_null(strstr(help, want));
			snprintf(want, sizeof(want), "\nshort %c\n", o->short_name);
			assert_non_null(strstr(dump, want));
		}
		if (o->key) {
			snprintf(want, sizeof(want), "\nkey %s\n", o->key);
			assert_non_null(strstr(dump, want));
		}
	}
	assert_non_null(strstr(dump, "\nevent peer_disconnected\n"));
	assert_non_null(strstr(dump, "\ncommand ws-proxy\n"));
	assert_non_null(strstr(dump, "\ncommand help\n"));
	/* a description that does not fit next to the option goes below it */
	assert_non_null(strstr(help, "\n      --private-key, --key KEY\n"
				     "                             base62 private key"));
	assert_non_null(strstr(help, "\n      --beacon-interval SECS store/load period"));
	free(help);
	free(lines);
	free(dump);

	struct cli cli;
	assert_int_equal(PARSE(&cli, "-v", "--dump-options", "--bogus"), 0);
	assert_true(cli.dump_options);
	cli_free(&cli);
}

static char *write_temp(const char *text)
{
	static char path[64];
	strcpy(path, "/tmp/meshvpn-test-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* --ws-ca and wss:// listen addresses; TLS verification cannot be switched off. */
static void test_websocket(void **state)
{
	(void)state;
	struct cli cli;
	struct config cfg;
	char *path = write_temp("crypto:\n  password: pw\nws-ca: /file/ca.pem\n");

	assert_int_equal(PARSE(&cli, "-l", "wss://proxy:8443/p", "--ws-ca", "/etc/ca.pem"), 0);
	assert_string_equal(cli.layer.listen, "wss://proxy:8443/p");
	assert_string_equal(cli.layer.ws_ca, "/etc/ca.pem");
	cli_free(&cli);
	expect_fail("option --ws-ca: must not be empty", PARSE(&cli, "--ws-ca="), &cli);
	expect_fail("option --ws-ca requires a value", PARSE(&cli, "--ws-ca"), &cli);
	expect_fail("unknown or ambiguous option '--ws-insecure' (try --help)",
		    PARSE(&cli, "--ws-insecure"), &cli);
	expect_fail("option --listen: invalid WebSocket URL 'wss://' (expected "
		    "wss://HOST[:PORT][/PATH])",
		    PARSE(&cli, "--listen", "wss://"), &cli);

	/* the file's ws-ca, replaced by the option */
	assert_int_equal(PARSE(&cli, "--config", path), 0);
	assert_int_equal(config_build(&cfg, &cli, &err), 0);
	assert_string_equal(cfg.ws_ca, "/file/ca.pem");
	config_free(&cfg);
	cli_free(&cli);
	assert_int_equal(PARSE(&cli, "--config", path, "--ws-ca", "/cli/ca.pem"), 0);
	assert_int_equal(config_build(&cfg, &cli, &err), 0);
	assert_string_equal(cfg.ws_ca, "/cli/ca.pem");
	config_free(&cfg);
	cli_free(&cli);
	unlink(path);
}

static void test_build(void **state)
{
	(void)state;
	struct cli cli;
	struct config cfg;
	char *path = write_temp("crypto:\n  password: filepw\n  algorithms: [aes128, aes256]\n"
				"  trusted-keys: ['1']\n"
				"mode: hub\npeers: [f1, f2]\nclaims: [10.0.0.0/8]\n"
				"auto-claim: true\nport-forwarding: false\n"
				"device:\n  fix-rp-filter: false\n  name: filedev\n"
				"hooks:\n  vpn_started: a\n  vpn_shutdown: b\n"
				"peer-timeout: 1000\nadvertise-addresses: [192.0.2.1]\n"
				"statsd:\n  server: s:1\n");

	/* file only */
	assert_int_equal(PARSE(&cli, "--config", path), 0);
	assert_int_equal(config_build(&cfg, &cli, &err), 0);
	assert_string_equal(cfg.password, "filepw");
	assert_int_equal(cfg.mode, CONFIG_MODE_FLOOD);
	assert_int_equal(cfg.keepalive, 440);
	assert_false(cfg.port_forwarding);
	assert_string_equal(cfg.device_name, "filedev");
	assert_string_equal(cfg.device_path, "/dev/net/tun");
	config_free(&cfg);
	cli_free(&cli);

	/* command line on top */
	assert_int_equal(PARSE(&cli, "--config", path, "-p", "clipw", "-m", "router", "-c", "c1",
			       "--claim", "fd00::/8", "--trust", "2", "--algo", "chacha20",
			       "--no-auto-claim", "--fix-rp-filter", "--daemon", "--hook",
			       "vpn_shutdown:c", "--advertise-addresses", "192.0.2.2",
			       "--statsd-prefix", "p", "-q"),
			 0);
	assert_int_equal(config_build(&cfg, &cli, &err), 0);
	assert_string_equal(cfg.password, "clipw");
	assert_int_equal(cfg.mode, CONFIG_MODE_ROUTER);
	assert_int_equal(cfg.peers.n, 3);
	assert_string_equal(cfg.peers.v[0], "f1");
	assert_string_equal(cfg.peers.v[1], "f2");
	assert_string_equal(cfg.peers.v[2], "c1");
	assert_int_equal(cfg.n_claims, 2);
	assert_int_equal(cfg.claims[0].base.len, 4);
	assert_int_equal(cfg.claims[1].base.len, 16);
	assert_int_equal(cfg.n_trusted_keys, 2);
	assert_int_equal(cfg.trusted_keys[0][31], 1);
	assert_int_equal(cfg.trusted_keys[1][31], 2);
	assert_int_equal(cfg.n_algorithms, 1);
	assert_int_equal(cfg.algorithms[0], CONFIG_ALGO_CHACHA20);
	assert_false(cfg.auto_claim);
	assert_true(cfg.fix_rp_filter);
	assert_true(cfg.daemon);
	assert_false(cfg.port_forwarding);
	assert_string_equal(cfg.hooks[CONFIG_HOOK_VPN_STARTED], "a");
	assert_string_equal(cfg.hooks[CONFIG_HOOK_VPN_SHUTDOWN], "c");
	assert_int_equal(cfg.advertise_addresses.n, 2);
	assert_string_equal(cfg.advertise_addresses.v[1], "192.0.2.2");
	assert_string_equal(cfg.statsd_prefix, "p");
	assert_int_equal(cfg.log_level, LOG_ERROR);
	config_free(&cfg);
	cli_free(&cli);

	/* PASSWORD in the environment overrides the file */
	setenv("PASSWORD", "envpw", 1);
	assert_int_equal(PARSE(&cli, "--config", path), 0);
	assert_int_equal(config_build(&cfg, &cli, &err), 0);
	assert_string_equal(cfg.password, "envpw");
	config_free(&cfg);
	cli_free(&cli);
	unsetenv("PASSWORD");

	/* no key anywhere */
	assert_int_equal(PARSE(&cli, "-m", "hub"), 0);
	assert_int_equal(config_build(&cfg, &cli, &err), -ENOKEY);
	assert_non_null(strstr(err.msg, "no password or private key"));
	assert_null(cfg.device_name);
	config_free(&cfg);
	cli_free(&cli);

	/* --statsd-prefix needs a server from somewhere */
	assert_int_equal(PARSE(&cli, "-p", "x", "--statsd-prefix", "p"), 0);
	assert_int_equal(config_build(&cfg, &cli, &err), -EINVAL);
	assert_string_equal(err.msg, "option --statsd-prefix requires a statsd server "
				     "(--statsd-server or statsd.server in the config file)");
	cli_free(&cli);
	assert_int_equal(PARSE(&cli, "-p", "x", "--statsd-prefix", "p", "--statsd-server", "h:1"),
			 0);
	assert_int_equal(config_build(&cfg, &cli, &err), 0);
	config_free(&cfg);
	cli_free(&cli);

	/* keepalive default from the command-line peer timeout; explicit keepalive wins */
	assert_int_equal(PARSE(&cli, "-p", "x", "--peer-timeout", "200"), 0);
	assert_int_equal(config_build(&cfg, &cli, &err), 0);
	assert_int_equal(cfg.keepalive, 40);
	config_free(&cfg);
	cli_free(&cli);
	assert_int_equal(PARSE(&cli, "--config", path, "--keepalive", "7"), 0);
	assert_int_equal(config_build(&cfg, &cli, &err), 0);
	assert_int_equal(cfg.keepalive, 7);
	config_free(&cfg);
	cli_free(&cli);
	unlink(path);

	/* errors in the file are reported with its name and line */
	path = write_temp("crypto:\n  password: x\nmode: nope\n");
	assert_int_equal(PARSE(&cli, "--config", path), 0);
	assert_int_equal(config_build(&cfg, &cli, &err), -EINVAL);
	char want[256];
	snprintf(want, sizeof(want),
		 "%s:3: 'mode': invalid mode 'nope' (expected normal, hub, switch or router)",
		 path);
	assert_string_equal(err.msg, want);
	config_free(&cfg);
	cli_free(&cli);
	unlink(path);
	cli_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_every_option, setup),
	    cmocka_unit_test_setup(test_aliases, setup),
	    cmocka_unit_test_setup(test_lists, setup),
	    cmocka_unit_test_setup(test_hooks, setup),
	    cmocka_unit_test_setup(test_bad_values, setup),
	    cmocka_unit_test_setup(test_checks_as_file, setup),
	    cmocka_unit_test_setup(test_websocket, setup),
	    cmocka_unit_test_setup(test_conflicts, setup),
	    cmocka_unit_test_setup(test_env, setup),
	    cmocka_unit_test_setup(test_scrub, setup),
	    cmocka_unit_test_setup(test_subcommands, setup),
	    cmocka_unit_test_setup(test_help_version, setup),
	    cmocka_unit_test_setup(test_help_from_table, setup),
	    cmocka_unit_test_setup(test_build, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

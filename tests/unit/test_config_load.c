// SPDX-License-Identifier: GPL-3.0-or-later
/* test_config_load.c - YAML config file: every key, error messages with lines, list limits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/config_load.h"

#define A1_SEED_B62 "OcNT14Czd82FN9R7Bms8WW0ZX50TO7SoA99yGK2Rmyz"
#define A1_PUB_B62  "PQGYPnaB8PV2qWtxGtN9wibSKzYbSwbQh1s9b5syjch"

static struct config_error err;

static int load(struct config *cfg, const char *yaml)
{
	config_init(cfg);
	memset(&err, 0, sizeof(err));
	return config_load_buffer(cfg, yaml, strlen(yaml), "test.net", &err);
}

/* Loads yaml, expects failure with exactly msg; frees the config. */
static void expect_error(const char *yaml, const char *msg)
{
	struct config cfg;
	int r = load(&cfg, yaml);
	if (r == 0 || strcmp(err.msg, msg) != 0)
		print_error("yaml:\n%s\ngot %d '%s'\nwant '%s'\n", yaml, r, err.msg, msg);
	assert_true(r < 0);
	assert_string_equal(err.msg, msg);
	config_free(&cfg);
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

static const char full_yaml[] =
    "device:\n"
    "  type: tap\n"
    "  name: vpn%d\n"
    "  path: /dev/tun2\n"
    "  fix-rp-filter: true\n"
    "ip: 10.0.1.1/16\n"
    "advertise-addresses: [192.168.0.1, \"[2001:db8::1]:4000\", host.example]\n"
    "ifup: ifup.sh\n"
    "ifdown: 'ifdown.sh $IFNAME'\n"
    "crypto:\n"
    "  password: mysecret\n"
    "  private-key: " A1_SEED_B62 "\n"
    "  public-key: " A1_PUB_B62 "\n"
    "  trusted-keys:\n"
    "    - " A1_PUB_B62 "\n"
    "    - '1'\n"
    "  algorithms: [AES_256_GCM, chacha20_poly1305, none, aes256]\n"
    "listen: 4000\n"
    "peers:\n"
    "  - remote.example.com:3210\n"
    "  - 192.0.2.9\n"
    "  - \"[2001:db8::2]:3211\"\n"
    "peer-timeout: 600\n"
    "keepalive: 120\n"
    "beacon:\n"
    "  store: /tmp/beacon\n"
    "  load: '|cat /tmp/beacon'\n"
    "  interval: 7200\n"
    "  password: beaconpw\n"
    "mode: switch\n"
    "switch-timeout: 100\n"
    "claims:\n"
    "  - 10.0.1.0/24\n"
    "  - 2001:db8::/64\n"
    "  - aa:bb:cc:dd:ee:ff/48\n"
    "auto-claim: false\n"
    "port-forwarding: False\n"
    "pid-file: /run/x.pid\n"
    "stats-file: /var/log/x.stats\n"
    "statsd:\n"
    "  server: localhost:8125\n"
    "  prefix: myprefix\n"
    "user: nobody\n"
    "group: nogroup\n"
    "hook: all.sh\n"
    "hooks:\n"
    "  peer_connected: connected.sh\n"
    "  vpn_shutdown: \"bye.sh\"\n"
    "  device_setup: ~\n";

static void test_every_key(void **state)
{
	(void)state;
	struct config cfg;
	uint8_t pub[32];
	char buf[VADDR_STRLEN + 4];

	assert_int_equal(load(&cfg, full_yaml), 0);
	assert_int_equal(cfg.device_type, CONFIG_DEVICE_TAP);
	assert_string_equal(cfg.device_name, "vpn%d");
	assert_string_equal(cfg.device_path, "/dev/tun2");
	assert_true(cfg.fix_rp_filter);
	assert_true(cfg.flags & CONFIG_HAS_IP);
	assert_memory_equal(cfg.ip, ((uint8_t[]){10, 0, 1, 1}), 4);
	assert_int_equal(cfg.ip_prefix, 16);
	assert_int_equal(cfg.advertise_addresses.n, 3);
	assert_string_equal(cfg.advertise_addresses.v[1], "[2001:db8::1]:4000");
	assert_string_equal(cfg.advertise_addresses.v[2], "host.example");
	assert_string_equal(cfg.ifup, "ifup.sh");
	assert_string_equal(cfg.ifdown, "ifdown.sh $IFNAME");
	assert_string_equal(cfg.password, "mysecret");
	assert_string_equal(cfg.private_key, A1_SEED_B62);
	assert_string_equal(cfg.public_key, A1_PUB_B62);
	assert_int_equal(cfg.n_trusted_keys, 2);
	assert_int_equal(keys_decode(pub, A1_PUB_B62), 0);
	assert_memory_equal(cfg.trusted_keys[0], pub, 32);
	assert_int_equal(cfg.trusted_keys[1][31], 1);
	assert_int_equal(cfg.trusted_keys[1][0], 0);
	/* aliases, case-insensitive, duplicates collapsed */
	assert_int_equal(cfg.n_algorithms, 3);
	assert_int_equal(cfg.algorithms[0], CONFIG_ALGO_AES256);
	assert_int_equal(cfg.algorithms[1], CONFIG_ALGO_CHACHA20);
	assert_int_equal(cfg.algorithms[2], CONFIG_ALGO_PLAIN);
	assert_string_equal(cfg.listen, "4000");
	assert_int_equal(cfg.peers.n, 3);
	assert_string_equal(cfg.peers.v[0], "remote.example.com:3210");
	assert_string_equal(cfg.peers.v[1], "192.0.2.9");
	assert_string_equal(cfg.peers.v[2], "[2001:db8::2]:3211");
	assert_int_equal(cfg.peer_timeout, 600);
	assert_true(cfg.flags & CONFIG_HAS_KEEPALIVE);
	assert_int_equal(cfg.keepalive, 120);
	assert_string_equal(cfg.beacon_store, "/tmp/beacon");
	assert_string_equal(cfg.beacon_load, "|cat /tmp/beacon");
	assert_int_equal(cfg.beacon_interval, 7200);
	assert_string_equal(cfg.beacon_password, "beaconpw");
	assert_int_equal(cfg.mode, CONFIG_MODE_SWITCH);
	assert_int_equal(cfg.switch_timeout, 100);
	assert_int_equal(cfg.n_claims, 3);
	assert_string_equal(range_format(&cfg.claims[0], buf), "10.0.1.0/24");
	assert_int_equal(cfg.claims[1].base.len, 16);
	assert_int_equal(cfg.claims[1].prefix, 64);
	assert_string_equal(range_format(&cfg.claims[2], buf), "aa:bb:cc:dd:ee:ff/48");
	assert_false(cfg.auto_claim);
	assert_false(cfg.port_forwarding);
	assert_string_equal(cfg.pid_file, "/run/x.pid");
	assert_string_equal(cfg.stats_file, "/var/log/x.stats");
	assert_string_equal(cfg.statsd_server, "localhost:8125");
	assert_string_equal(cfg.statsd_prefix, "myprefix");
	assert_string_equal(cfg.user, "nobody");
	assert_string_equal(cfg.group, "nogroup");
	assert_string_equal(cfg.hook, "all.sh");
	assert_string_equal(cfg.hooks[CONFIG_HOOK_PEER_CONNECTED], "connected.sh");
	assert_string_equal(cfg.hooks[CONFIG_HOOK_VPN_SHUTDOWN], "bye.sh");
	assert_null(cfg.hooks[CONFIG_HOOK_DEVICE_SETUP]);
	assert_null(cfg.hooks[CONFIG_HOOK_PEER_CONNECTING]);
	/* private and public key match, explicit keepalive is kept */
	assert_int_equal(config_validate(&cfg, &err), 0);
	assert_int_equal(cfg.keepalive, 120);
	config_free(&cfg);
}

static void test_nulls_and_empty(void **state)
{
	(void)state;
	struct config cfg;

	/* ~ / null / empty = default */
	assert_int_equal(load(&cfg, "device:\n  type: ~\n  name: null\nip:\nlisten: ~\n"
				    "peers: ~\nkeepalive: ~\ncrypto: ~\nhooks: {}\nclaims: []\n"
				    "statsd:\n  prefix: NULL\n"),
			 0);
	assert_int_equal(cfg.device_type, CONFIG_DEVICE_TUN);
	assert_string_equal(cfg.device_name, "meshvpn%d");
	assert_string_equal(cfg.listen, "3210");
	assert_string_equal(cfg.statsd_prefix, "vpncloud");
	assert_false(cfg.flags & (CONFIG_HAS_IP | CONFIG_HAS_KEEPALIVE));
	config_free(&cfg);

	/* empty file, comments only, explicit empty document */
	assert_int_equal(load(&cfg, ""), 0);
	config_free(&cfg);
	assert_int_equal(load(&cfg, "# nothing\n\n"), 0);
	config_free(&cfg);
	assert_int_equal(load(&cfg, "---\n...\n"), 0);
	config_free(&cfg);
	/* quoted "~" is a string, numbers are accepted as strings */
	assert_int_equal(load(&cfg, "crypto:\n  password: '~'\nuser: 1000\n"), 0);
	assert_string_equal(cfg.password, "~");
	assert_string_equal(cfg.user, "1000");
	config_free(&cfg);
	/* listen forms */
	assert_int_equal(load(&cfg, "listen: ws://proxy.example:8080/vpn\n"), 0);
	assert_string_equal(cfg.listen, "ws://proxy.example:8080/vpn");
	config_free(&cfg);
	assert_int_equal(load(&cfg, "listen: '[::1]:3000'\n"), 0);
	config_free(&cfg);
	assert_int_equal(load(&cfg, "listen: '*:3000'\n"), 0);
	config_free(&cfg);
	/* peer-timeout edge values */
	assert_int_equal(load(&cfg, "peer-timeout: 4294967295\nswitch-timeout: 0\n"), 0);
	assert_int_equal(cfg.peer_timeout, 4294967295u);
	assert_int_equal(cfg.switch_timeout, 0);
	config_free(&cfg);
}

static void test_errors_unknown(void **state)
{
	(void)state;
	expect_error(
	    "crypto:\n  password: x\npeer-timout: 10\n",
	    "test.net:3: unknown key 'peer-timout' in 'root' (did you mean 'peer-timeout'?)");
	expect_error("device:\n  type: tun\n  nmae: x\n",
		     "test.net:3: unknown key 'nmae' in 'device' (did you mean 'name'?)");
	expect_error("\n\ncrypto:\n  passwort: x\n",
		     "test.net:4: unknown key 'passwort' in 'crypto' (did you mean 'password'?)");
	expect_error("statsd:\n  server: a:1\n  prefx: x\n",
		     "test.net:3: unknown key 'prefx' in 'statsd' (did you mean 'prefix'?)");
	expect_error("beacon:\n  intervall: 5\n",
		     "test.net:2: unknown key 'intervall' in 'beacon' (did you mean 'interval'?)");
	/* man-page spelling with underscores */
	expect_error("switch_timeout: 5\n", "test.net:1: unknown key 'switch_timeout' in 'root' "
					    "(did you mean 'switch-timeout'?)");
	expect_error("totally-unrelated: 1\n",
		     "test.net:1: unknown key 'totally-unrelated' in 'root'");
	expect_error("hooks:\n  peer_conected: x\n",
		     "test.net:2: unknown hook event 'peer_conected' in 'hooks' (did you mean "
		     "'peer_connected'?) (events: device_setup, device_configured, vpn_started, "
		     "peer_connecting, peer_connected, peer_disconnected, vpn_shutdown)");
	expect_error("? [a]\n: 1\n", "test.net:1: keys must be plain strings");
}

static void test_errors_types(void **state)
{
	(void)state;
	expect_error("user:\n  - a\n", "test.net:2: 'user': expected a string, found a list");
	expect_error("device:\n  name: {a: b}\n",
		     "test.net:2: 'device.name': expected a string, found a map");
	expect_error("peer-timeout: 5m\n",
		     "test.net:1: 'peer-timeout': expected a non-negative integer, found '5m'");
	expect_error("keepalive: -5\n", "test.net:1: 'keepalive': '-5' must not be negative");
	expect_error(
	    "beacon:\n  interval: 4294967296\n",
	    "test.net:2: 'beacon.interval': '4294967296' is too large (at most 4294967295)");
	expect_error("switch-timeout: '300'\n",
		     "test.net:1: 'switch-timeout': expected an integer (seconds), found a quoted "
		     "string");
	expect_error("peer-timeout: 1.5\n",
		     "test.net:1: 'peer-timeout': expected a non-negative integer, found '1.5'");
	expect_error("auto-claim: yes\n",
		     "test.net:1: 'auto-claim': expected true or false, found another value");
	expect_error("device:\n  fix-rp-filter: [true]\n",
		     "test.net:2: 'device.fix-rp-filter': expected true or false, found a list");
	expect_error("peers: node1:3210\n", "test.net:1: 'peers': expected a list, found a scalar");
	expect_error("peers:\n  - ok.example\n  - ~\n",
		     "test.net:3: 'peers': expected a string, found null");
	expect_error("device: tun\n", "test.net:1: 'device': expected a map of settings, found "
				      "a scalar");
	expect_error("hooks: [a]\n",
		     "test.net:1: 'hooks': expected a map of event: script, found a list");
	expect_error("- a\n- b\n",
		     "test.net:1: expected a map of settings at the top level, found a list");
	expect_error("ifup: \"a\\0b\"\n", "test.net:1: 'ifup': the value contains a NUL character");
}

static void test_errors_values(void **state)
{
	(void)state;
	expect_error("device:\n  type: TUN\n",
		     "test.net:2: 'device.type': invalid device type 'TUN' (expected tun or tap)");
	expect_error("mode: bridge\n", "test.net:1: 'mode': invalid mode 'bridge' (expected "
				       "normal, hub, switch or router)");
	expect_error("claims:\n  - 10.0.0.0/24\n  - 10.0.0.1\n",
		     "test.net:3: 'claims': invalid claim '10.0.0.1' (expected ADDRESS/PREFIX with "
		     "an IPv4, IPv6 or MAC address)");
	expect_error("claims: [10.0.0.0/33]\n",
		     "test.net:1: 'claims': invalid claim '10.0.0.0/33' (expected ADDRESS/PREFIX "
		     "with an IPv4, IPv6 or MAC address)");
	expect_error("ip: 10.0.0.300\n", "test.net:1: 'ip': invalid address '10.0.0.300' "
					 "(expected IPv4 a.b.c.d or a.b.c.d/0-32)");
	expect_error("ip: 10.0.0.1/33\n", "test.net:1: 'ip': invalid address '10.0.0.1/33' "
					  "(expected IPv4 a.b.c.d or a.b.c.d/0-32)");
	expect_error("ip: 2001:db8::1\n", "test.net:1: 'ip': invalid address '2001:db8::1' "
					  "(expected IPv4 a.b.c.d or a.b.c.d/0-32)");
	expect_error(
	    "crypto:\n  algorithms:\n    - aes128\n    - rot13\n",
	    "test.net:4: 'crypto.algorithms': invalid algorithm 'rot13' (expected plain, "
	    "aes128, aes256 or chacha20, or one of none, unencrypted, aes128_gcm, aes_128, "
	    "aes_128_gcm, aes256_gcm, aes_256, aes_256_gcm, chacha, chacha20_poly1305)");
	expect_error("device:\n  name: averyveryverylongname\n",
		     "test.net:2: 'device.name': device name 'averyveryverylongname' is too long "
		     "(21 bytes, at most 15)");
	expect_error("device:\n  name: 0123456789abcdef\n",
		     "test.net:2: 'device.name': device name '0123456789abcdef' is too long "
		     "(16 bytes, at most 15)");
	expect_error("device:\n  name: 'a b'\n",
		     "test.net:2: 'device.name': invalid device name 'a b' (no '/', ':' or white "
		     "space)");
	expect_error("listen: 'wss://'\n", "test.net:1: 'listen': invalid WebSocket URL 'wss://' "
					   "(expected wss://HOST[:PORT][/PATH])");
	expect_error("listen: 'http://proxy'\n",
		     "test.net:1: 'listen': 'http://proxy': "
		     "unsupported URL scheme (only ws:// and wss:// are supported)");
	expect_error("listen: 'ws://'\n", "test.net:1: 'listen': invalid WebSocket URL 'ws://' "
					  "(expected ws://HOST[:PORT][/PATH])");
	expect_error("listen: 70000\n",
		     "test.net:1: 'listen': invalid listen address '70000' (expected PORT, *:PORT, "
		     "IP, IP:PORT, [IPv6]:PORT or ws://HOST[:PORT][/PATH])");
	expect_error(
	    "listen: host.example:1\n",
	    "test.net:1: 'listen': invalid listen address 'host.example:1' (expected PORT, "
	    "*:PORT, IP, IP:PORT, [IPv6]:PORT or ws://HOST[:PORT][/PATH])");
	expect_error("peers: ['bad host:1']\n", "test.net:1: 'peers': invalid address 'bad host:1' "
						"(expected HOST, HOST:PORT or [IPv6]:PORT)");
	expect_error("peers: ['[2001:db8::1:1']\n",
		     "test.net:1: 'peers': invalid address '[2001:db8::1:1' (expected HOST, "
		     "HOST:PORT or [IPv6]:PORT)");
	expect_error("peers: ['h:99999']\n", "test.net:1: 'peers': invalid address 'h:99999' "
					     "(expected HOST, HOST:PORT or [IPv6]:PORT)");
	expect_error(
	    "statsd:\n  server: localhost\n",
	    "test.net:2: 'statsd.server': invalid address 'localhost' (expected HOST:PORT)");
	expect_error("crypto:\n  private-key: not-base62!\n",
		     "test.net:2: 'crypto.private-key': invalid key (expected base62 text of 32 "
		     "bytes, as printed by 'meshvpn genkey')");
	expect_error("crypto:\n  public-key: " A1_PUB_B62 "0\n",
		     "test.net:2: 'crypto.public-key': invalid key (expected base62 text of 32 "
		     "bytes, as printed by 'meshvpn genkey')");
	expect_error("crypto:\n  trusted-keys:\n    - " A1_PUB_B62 "\n    - abc_def\n",
		     "test.net:4: 'crypto.trusted-keys': invalid key 'abc_def' (expected base62 "
		     "text of 32 bytes)");
}

static void test_errors_duplicates_syntax(void **state)
{
	(void)state;
	expect_error("mode: hub\nip: 10.0.0.1\nmode: switch\n",
		     "test.net:3: duplicate key 'mode' in 'root' (first given on line 1)");
	expect_error("device:\n  type: tun\n  type: tap\n",
		     "test.net:3: duplicate key 'type' in 'device' (first given on line 2)");
	expect_error("hooks:\n  vpn_started: a\n  vpn_started: b\n",
		     "test.net:3: duplicate key 'vpn_started' in 'hooks' (first given on line 2)");
	/* a duplicate is an error even when the first value is null */
	expect_error("user: ~\nuser: x\n",
		     "test.net:2: duplicate key 'user' in 'root' (first given on line 1)");

	expect_error("mode: normal\npeers: [a, b\nuser: x\n",
		     "test.net:3:5: YAML syntax error: did not find expected ',' or ']' while "
		     "parsing a flow sequence (line 2)");
	expect_error("mode: normal\n  user: x\n",
		     "test.net:2:7: YAML syntax error: mapping values are not allowed in this "
		     "context");
	expect_error("mode: \"unterminated\n",
		     "test.net:2:1: YAML syntax error: found unexpected end of stream while "
		     "scanning a quoted scalar (line 1)");
	expect_error("mode: normal\n---\nmode: hub\n",
		     "test.net:2: only one YAML document is allowed");
	expect_error("mode: normal\n---\n- [\n",
		     "test.net:4:1: YAML syntax error: did not find expected node content while "
		     "parsing a flow node (line 4)");
	struct config cfg;
	assert_int_equal(load(&cfg, "mode: \xff\xfe\n"), -EINVAL);
	assert_non_null(strstr(err.msg, "test.net: invalid YAML input"));
	config_free(&cfg);
}

static void test_errors_v1(void **state)
{
	(void)state;
	expect_error("peers:\n  - a:3210\ndevice_type: tap\nshared_key: x\n",
		     "test.net:3: key 'device_type' looks like a VpnCloud 1.x file, convert it "
		     "first (1.x files are not supported; 'vpncloud migrate-config --config-file "
		     "FILE' converts them); the 2.x key is 'device.type'");
	expect_error(
	    "shared_key: secret\n",
	    "test.net:1: key 'shared_key' looks like a VpnCloud 1.x file, convert it first "
	    "(1.x files are not supported; 'vpncloud migrate-config --config-file FILE' "
	    "converts them); the 2.x key is 'crypto.password'");
	expect_error("crypto: chacha20\n",
		     "test.net:1: key 'crypto' looks like a VpnCloud 1.x file, convert it first "
		     "(1.x files are not supported; 'vpncloud migrate-config --config-file FILE' "
		     "converts them)");
	expect_error("magic: abcd\n",
		     "test.net:1: key 'magic' looks like a VpnCloud 1.x file, convert it first "
		     "(1.x files are not supported; 'vpncloud migrate-config --config-file FILE' "
		     "converts them)");
}

static void test_load_file(void **state)
{
	(void)state;
	struct config cfg;
	char want[256];
	char *path = write_temp("crypto:\n  password: pw\n\nmode: hub\nkeepalive: x\n");

	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, path, &err), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:5: 'keepalive': expected a non-negative integer, found 'x'", path);
	assert_string_equal(err.msg, want);
	config_free(&cfg);
	unlink(path);

	path = write_temp("crypto:\n  password: pw\nmode: hub\n");
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, path, &err), 0);
	assert_string_equal(cfg.password, "pw");
	assert_int_equal(cfg.mode, CONFIG_MODE_FLOOD);
	config_free(&cfg);
	unlink(path);

	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, path, &err), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open config file: No such file or directory",
		 path);
	assert_string_equal(err.msg, want);
	config_free(&cfg);
}

/* Loads text from a file of the given mode; returns config_check_perms() (cfg kept). */
static int perms_verdict(struct config *cfg, const char *text, mode_t mode, bool strict)
{
	char *path = write_temp(text);
	int r;

	assert_int_equal(chmod(path, mode), 0);
	config_init(cfg);
	memset(&err, 0, sizeof(err));
	assert_int_equal(config_load_file(cfg, path, &err), 0);
	unlink(path);
	cfg->strict_perms = strict;
	r = config_check_perms(cfg, &err);
	/* whatever the verdict, the message never shows the secret itself */
	assert_null(strstr(err.msg, A1_SEED_B62));
	assert_null(strstr(err.msg, "hunter2"));
	return r;
}

static void test_secret_file_perms(void **state)
{
	(void)state;
	static const char key[] = "crypto:\n  private-key: " A1_SEED_B62 "\n";
	static const char pw[] = "crypto:\n  password: hunter2\n";
	static const char beacon_pw[] = "beacon:\n  password: hunter2\n";
	static const char plain[] = "mode: hub\npeers: [node2]\n";
	struct config cfg;
	char want[512];

	/* 0600 and 0400: fine, also strictly */
	assert_int_equal(perms_verdict(&cfg, key, 0600, true), 0);
	config_free(&cfg);
	assert_int_equal(perms_verdict(&cfg, pw, 0400, true), 0);
	config_free(&cfg);

	/* 0640: group-readable, a warning naming the file, the mode and the secret */
	assert_int_equal(perms_verdict(&cfg, key, 0640, false), 1);
	snprintf(want, sizeof(want),
		 "%s holds crypto.private-key but has mode 0640 (readable by its group): "
		 "chmod 600 it",
		 cfg.exposed_file);
	assert_string_equal(err.msg, want);
	assert_int_equal(cfg.exposed_mode, 0640);
	config_free(&cfg);
	assert_null(cfg.exposed_file);

	/* 0644: world-readable; --strict-perms refuses it */
	assert_int_equal(perms_verdict(&cfg, pw, 0644, false), 1);
	assert_non_null(strstr(err.msg, "holds crypto.password but has mode 0644 (readable by "
					"everyone)"));
	config_free(&cfg);
	assert_int_equal(perms_verdict(&cfg, key, 0644, true), -EACCES);
	snprintf(want, sizeof(want),
		 "%s holds crypto.private-key but has mode 0644 (readable by everyone); refusing "
		 "to start (--strict-perms): chmod 600 it",
		 cfg.exposed_file);
	assert_string_equal(err.msg, want);
	config_free(&cfg);
	assert_int_equal(perms_verdict(&cfg, key, 0640, true), -EACCES);
	config_free(&cfg);
	assert_int_equal(perms_verdict(&cfg, beacon_pw, 0604, true), -EACCES);
	assert_non_null(strstr(err.msg, "beacon.password"));
	config_free(&cfg);

	/* a file without secrets is never reported, whatever its mode */
	assert_int_equal(perms_verdict(&cfg, plain, 0644, true), 0);
	assert_null(cfg.exposed_file);
	config_free(&cfg);
	assert_int_equal(perms_verdict(&cfg, plain, 0666, false), 0);
	config_free(&cfg);

	/* strict-perms from the file itself is a setting like any other */
	assert_int_equal(perms_verdict(&cfg, "strict-perms: true\n", 0644, false), 0);
	assert_true(cfg.strict_perms == false); /* perms_verdict overrode it */
	config_free(&cfg);
	assert_int_equal(load(&cfg, "strict-perms: true\n"), 0);
	assert_true(cfg.strict_perms);
	config_free(&cfg);
}

/* The shipped example: valid as is (all commented out), and with every setting enabled. */
static void test_example_file(void **state)
{
	(void)state;
	struct config cfg;
	FILE *f = fopen("conf/example.net", "r");
	char line[512], *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(f);
	assert_non_null(out);
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, "conf/example.net", &err), 0);
	assert_null(cfg.password);
	assert_int_equal(cfg.peers.n, 0);
	config_free(&cfg);

	/* "#key: v" and "#  key: v" are settings, "# text" is prose */
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' && line[1] != ' ' && line[1] != '\n')
			fputs(line + 1, out);
		else if (strncmp(line, "#  ", 3) == 0)
			fputs(line + 1, out);
		else
			fputs(line, out);
	}
	fclose(f);
	fclose(out);
	config_init(&cfg);
	int r = config_load_buffer(&cfg, text, len, "example-enabled", &err);
	if (r)
		print_error("%s\n", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(cfg.device_type, CONFIG_DEVICE_TUN);
	assert_string_equal(cfg.device_name, "meshvpn%d");
	assert_true(cfg.flags & CONFIG_HAS_IP);
	assert_int_equal(cfg.advertise_addresses.n, 2);
	assert_string_equal(cfg.password, "change-me");
	assert_non_null(cfg.private_key);
	assert_int_equal(cfg.n_trusted_keys, 1);
	assert_int_equal(cfg.n_algorithms, 3);
	assert_int_equal(cfg.peers.n, 2);
	assert_int_equal(cfg.n_claims, 1);
	assert_non_null(cfg.beacon_store);
	assert_non_null(cfg.beacon_load);
	assert_null(cfg.beacon_password);
	assert_string_equal(cfg.statsd_server, "localhost:8125");
	assert_string_equal(cfg.statsd_prefix, "vpncloud");
	assert_non_null(cfg.user);
	assert_non_null(cfg.group);
	assert_non_null(cfg.hook);
	assert_non_null(cfg.hooks[CONFIG_HOOK_PEER_CONNECTED]);
	assert_non_null(cfg.hooks[CONFIG_HOOK_PEER_DISCONNECTED]);
	assert_non_null(cfg.pid_file);
	assert_non_null(cfg.stats_file);
	assert_int_equal(config_validate(&cfg, &err), 0);
	config_free(&cfg);
	free(text);
}

static void test_list_limit(void **state)
{
	(void)state;
	struct config cfg;
	size_t cap = 64 + CONFIG_LIST_MAX * 8;
	char *yaml = malloc(cap), *p = yaml;

	p += sprintf(p, "peers:\n");
	for (int i = 0; i < CONFIG_LIST_MAX; i++)
		p += sprintf(p, " - h%d\n", i);
	assert_int_equal(load(&cfg, yaml), 0);
	assert_int_equal(cfg.peers.n, CONFIG_LIST_MAX);
	/* one more from another layer is too many */
	struct config layer;
	config_layer_init(&layer);
	assert_int_equal(config_add_peer(&layer, "x", &err), 0);
	assert_int_equal(config_merge(&cfg, &layer, &err), -E2BIG);
	assert_string_equal(err.msg, "too many peers (at most 1024)");
	config_free(&layer);
	config_free(&cfg);

	sprintf(p, " - extra\n");
	assert_int_equal(load(&cfg, yaml), -E2BIG);
	snprintf(yaml, cap, "test.net:%d: 'peers': too many peers (at most 1024)",
		 CONFIG_LIST_MAX + 2);
	assert_string_equal(err.msg, yaml);
	config_free(&cfg);
	free(yaml);
}

/* A WebSocket proxy over TLS, verified with the system's CAs or the ws-ca file. */
static void test_websocket(void **state)
{
	(void)state;
	struct config cfg;

	assert_int_equal(load(&cfg, "listen: wss://proxy.example/vpn\nws-ca: /etc/x/ca.pem\n"), 0);
	assert_string_equal(cfg.listen, "wss://proxy.example/vpn");
	assert_string_equal(cfg.ws_ca, "/etc/x/ca.pem");
	config_free(&cfg);
	assert_int_equal(load(&cfg, "ws-ca: ~\n"), 0);
	assert_null(cfg.ws_ca);
	config_free(&cfg);
	expect_error("ws-ca: ''\n", "test.net:1: 'ws-ca': must not be empty");
	expect_error("ws-ca: [a]\n", "test.net:1: 'ws-ca': expected a string, found a list");
	expect_error("ws_ca: x\n",
		     "test.net:1: unknown key 'ws_ca' in 'root' (did you mean 'ws-ca'?)");
	expect_error("ws-insecure: true\n", "test.net:1: unknown key 'ws-insecure' in 'root'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_key),	   cmocka_unit_test(test_nulls_and_empty),
	    cmocka_unit_test(test_errors_unknown), cmocka_unit_test(test_errors_types),
	    cmocka_unit_test(test_errors_values),  cmocka_unit_test(test_errors_duplicates_syntax),
	    cmocka_unit_test(test_errors_v1),	   cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_example_file),   cmocka_unit_test(test_list_limit),
	    cmocka_unit_test(test_websocket),	   cmocka_unit_test(test_secret_file_perms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* test_config.c - configuration layers: defaults, merging, validation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/config.h"
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

static void test_defaults(void **state)
{
	(void)state;
	struct config cfg;

	config_init(&cfg);
	assert_int_equal(cfg.device_type, CONFIG_DEVICE_TUN);
	assert_string_equal(cfg.device_name, "meshvpn%d");
	assert_string_equal(cfg.device_path, "/dev/net/tun");
	assert_false(cfg.fix_rp_filter);
	assert_string_equal(cfg.listen, "3210");
	assert_int_equal(cfg.peer_timeout, 300);
	assert_int_equal(cfg.switch_timeout, 300);
	assert_int_equal(cfg.beacon_interval, 3600);
	assert_int_equal(cfg.mode, CONFIG_MODE_NORMAL);
	assert_true(cfg.auto_claim);
	assert_true(cfg.port_forwarding);
	assert_string_equal(cfg.statsd_prefix, "vpncloud");
	assert_null(cfg.password);
	assert_null(cfg.private_key);
	assert_int_equal(cfg.n_algorithms, 0);
	assert_int_equal(cfg.peers.n, 0);
	assert_int_equal(cfg.flags, 0);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_false(cfg.daemon);

	/* no password or key */
	assert_int_equal(config_validate(&cfg, &err), -ENOKEY);
	assert_non_null(strstr(err.msg, "no password or private key"));
	cfg.password = config_secret_dup("x");
	assert_int_equal(config_validate(&cfg, &err), 0);
	assert_int_equal(cfg.keepalive, 90);
	assert_int_equal(cfg.n_algorithms, 3);
	assert_int_equal(cfg.algorithms[0], CONFIG_ALGO_AES128);
	assert_int_equal(cfg.algorithms[1], CONFIG_ALGO_AES256);
	assert_int_equal(cfg.algorithms[2], CONFIG_ALGO_CHACHA20);
	config_free(&cfg);
	config_free(&cfg); /* idempotent */
	config_free(NULL);
}

static void test_merge(void **state)
{
	(void)state;
	struct config cfg, layer;

	assert_int_equal(load(&cfg, "mode: hub\npeers: [a, b]\nclaims: [10.0.0.0/8]\n"
				    "crypto:\n  trusted-keys: ['1']\n  algorithms: [aes128]\n"
				    "hooks:\n  vpn_started: s1\n  vpn_shutdown: s2\n"
				    "auto-claim: false\npeer-timeout: 100\n"),
			 0);
	config_layer_init(&layer);
	assert_int_equal(config_add_peer(&layer, "c:1", &err), 0);
	assert_int_equal(config_add_claim(&layer, "10.1.0.0/16", &err), 0);
	assert_int_equal(config_add_trusted_key(&layer, "2", &err), 0);
	layer.hooks[CONFIG_HOOK_VPN_SHUTDOWN] = strdup("s3");
	layer.user = strdup("u");
	assert_int_equal(config_merge(&cfg, &layer, &err), 0);
	/* nothing in the layer's scalars: file values stay */
	assert_int_equal(cfg.mode, CONFIG_MODE_FLOOD);
	assert_false(cfg.auto_claim);
	assert_int_equal(cfg.peer_timeout, 100);
	assert_int_equal(cfg.n_algorithms, 1);
	/* lists concatenated, file first */
	assert_int_equal(cfg.peers.n, 3);
	assert_string_equal(cfg.peers.v[0], "a");
	assert_string_equal(cfg.peers.v[2], "c:1");
	assert_int_equal(cfg.n_claims, 2);
	assert_int_equal(cfg.claims[1].prefix, 16);
	assert_int_equal(cfg.n_trusted_keys, 2);
	assert_int_equal(cfg.trusted_keys[1][31], 2);
	/* hooks per key */
	assert_string_equal(cfg.hooks[CONFIG_HOOK_VPN_STARTED], "s1");
	assert_string_equal(cfg.hooks[CONFIG_HOOK_VPN_SHUTDOWN], "s3");
	assert_string_equal(cfg.user, "u");

	/* algorithms: a non-empty list replaces */
	assert_int_equal(config_add_algorithm(&layer, "CHACHA20", true, &err), 0);
	assert_int_equal(config_add_algorithm(&layer, "aes_256", true, &err), -EINVAL);
	assert_string_equal(err.msg, "invalid algorithm 'aes_256' (expected plain, aes128, aes256 "
				     "or chacha20)");
	config_free(&layer);
	config_layer_init(&layer);
	assert_int_equal(config_add_algorithm(&layer, "chacha20", true, &err), 0);
	assert_int_equal(config_add_algorithm(&layer, "plain", true, &err), 0);
	layer.flags |= CONFIG_HAS_AUTO_CLAIM | CONFIG_HAS_MODE;
	layer.auto_claim = true;
	layer.mode = CONFIG_MODE_ROUTER;
	assert_int_equal(config_merge(&cfg, &layer, &err), 0);
	assert_int_equal(cfg.n_algorithms, 2);
	assert_int_equal(cfg.algorithms[0], CONFIG_ALGO_CHACHA20);
	assert_int_equal(cfg.algorithms[1], CONFIG_ALGO_PLAIN);
	assert_true(cfg.auto_claim);
	assert_int_equal(cfg.mode, CONFIG_MODE_ROUTER);
	config_free(&layer);
	config_free(&cfg);
}

static void test_validate(void **state)
{
	(void)state;
	static const struct {
		uint32_t timeout, keepalive;
	} cases[] = {
	    {300, 90}, {122, 1}, {124, 2},    {100, 1},
	    {1, 1},    {0, 1},	 {1000, 440}, {4294967295u, 2147483587u},
	};
	struct config cfg;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		cfg.password = config_secret_dup("x");
		cfg.peer_timeout = cases[i].timeout;
		assert_int_equal(config_validate(&cfg, &err), 0);
		assert_int_equal(cfg.keepalive, cases[i].keepalive);
		config_free(&cfg);
	}
	/* explicit keepalive is kept */
	assert_int_equal(load(&cfg, "crypto: {password: x}\nkeepalive: 0\npeer-timeout: 1000\n"),
			 0);
	assert_int_equal(config_validate(&cfg, &err), 0);
	assert_int_equal(cfg.keepalive, 0);
	config_free(&cfg);

	/* public key must match the private key */
	assert_int_equal(load(&cfg, "crypto:\n  private-key: " A1_SEED_B62 "\n  public-key: '1'\n"),
			 0);
	assert_int_equal(config_validate(&cfg, &err), -EKEYREJECTED);
	assert_string_equal(err.msg, "the public key does not match the private key");
	config_free(&cfg);
	/* only the private key */
	assert_int_equal(load(&cfg, "crypto:\n  private-key: " A1_SEED_B62 "\n"), 0);
	assert_int_equal(config_validate(&cfg, &err), 0);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_validate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

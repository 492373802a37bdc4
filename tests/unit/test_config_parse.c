// SPDX-License-Identifier: GPL-3.0-or-later
/* test_config_parse.c - value parsers and names of settings. */
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

static void test_value_parsers(void **state)
{
	(void)state;
	struct config_listen l;
	struct config_error why;
	uint8_t ip[4], prefix;
	uint32_t u;

	assert_int_equal(config_parse_listen("ws://proxy.example", 3210, &l, &why), 0);
	assert_true(l.ws);
	assert_string_equal(l.host, "proxy.example");
	assert_int_equal(l.port, 80);
	assert_string_equal(l.path, "");
	assert_int_equal(config_parse_listen("ws://[2001:db8::1]:8080/a/b?c", 3210, &l, &why), 0);
	assert_string_equal(l.host, "2001:db8::1");
	assert_int_equal(l.port, 8080);
	assert_string_equal(l.path, "/a/b?c");
	assert_int_equal(config_parse_listen("WS://1.2.3.4:1/", 3210, &l, &why), 0);
	assert_int_equal(config_parse_listen("ws://h:0", 3210, &l, &why), -EINVAL);
	assert_int_equal(config_parse_listen("ws://h:x", 3210, &l, &why), -EINVAL);
	assert_int_equal(config_parse_listen("ws://h h", 3210, &l, &why), -EINVAL);
	assert_int_equal(config_parse_listen("192.0.2.1", 3210, &l, &why), 0);
	assert_false(l.ws);
	assert_int_equal(l.addr.port, 3210);
	assert_int_equal(config_parse_listen("5000", 3210, &l, &why), 0);
	assert_true(addr_is_unspecified(&l.addr));
	assert_int_equal(l.addr.port, 5000);

	assert_int_equal(config_parse_ip("192.168.1.2", ip, &prefix, &why), 0);
	assert_int_equal(prefix, 24);
	assert_int_equal(config_parse_ip("192.168.1.2/0", ip, &prefix, &why), 0);
	assert_int_equal(prefix, 0);
	assert_int_equal(config_parse_ip("192.168.1.2/32", ip, &prefix, &why), 0);
	assert_int_equal(prefix, 32);
	assert_int_equal(config_parse_ip("192.168.1.2/", ip, &prefix, &why), -EINVAL);
	assert_int_equal(config_parse_ip("192.168.1.2/-1", ip, &prefix, &why), -EINVAL);
	assert_int_equal(config_parse_ip("192.168.1.2/100", ip, &prefix, &why), -EINVAL);
	assert_int_equal(config_parse_ip("192.168.1.2/8x", ip, &prefix, &why), -EINVAL);

	assert_int_equal(config_parse_u32("0", &u, &why), 0);
	assert_int_equal(config_parse_u32("", &u, &why), -EINVAL);
	assert_int_equal(config_parse_u32("+5", &u, &why), -EINVAL);
	assert_int_equal(config_parse_u32("99999999999999999999999", &u, &why), -EINVAL);

	assert_int_equal(config_check_hostport("[fe80::1%eth0]:5", false, &why), 0);
	assert_int_equal(config_check_hostport("2001:db8::1", false, &why), 0);
	assert_int_equal(config_check_hostport("", false, &why), -EINVAL);
	assert_int_equal(config_check_hostport(":5", false, &why), -EINVAL);
	assert_int_equal(config_check_hostport("h:0", false, &why), -EINVAL);
	assert_int_equal(config_check_hostport("[zz::1]:5", false, &why), -EINVAL);

	enum config_algo a;
	static const char *const names[][2] = {
	    {"plain", "0"},	  {"None", "0"},
	    {"UNENCRYPTED", "0"}, {"aes128", "1"},
	    {"AES128_GCM", "1"},  {"aes_128", "1"},
	    {"aes_128_gcm", "1"}, {"aes256", "2"},
	    {"aes256_gcm", "2"},  {"Aes_256", "2"},
	    {"aes_256_gcm", "2"}, {"chacha", "3"},
	    {"chacha20", "3"},	  {"ChaCha20_Poly1305", "3"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(config_parse_algorithm(names[i][0], false, &a, &why), 0);
		assert_int_equal(a, names[i][1][0] - '0');
	}
	assert_int_equal(config_parse_algorithm("aes", false, &a, &why), -EINVAL);
	assert_int_equal(config_hook_event_parse("vpn_started", 11), CONFIG_HOOK_VPN_STARTED);
	assert_int_equal(config_hook_event_parse("vpn_start", 9), -EINVAL);
	assert_string_equal(config_hook_event_name(CONFIG_HOOK_PEER_DISCONNECTED),
			    "peer_disconnected");
	assert_string_equal(config_algo_name(CONFIG_ALGO_CHACHA20), "chacha20");
	assert_string_equal(config_mode_name(CONFIG_MODE_ROUTER), "router");
	assert_string_equal(config_device_type_name(CONFIG_DEVICE_TAP), "tap");
}

static void test_listen_wss(void **state)
{
	(void)state;
	struct config_listen l;
	struct config_error why;

	assert_int_equal(config_parse_listen("wss://proxy.example", 3210, &l, &why), 0);
	assert_true(l.ws);
	assert_true(l.tls);
	assert_string_equal(l.host, "proxy.example");
	assert_int_equal(l.port, 443);
	assert_string_equal(l.path, "");
	assert_int_equal(config_parse_listen("WSS://[2001:db8::1]:8443/a/b", 3210, &l, &why), 0);
	assert_true(l.tls);
	assert_string_equal(l.host, "2001:db8::1");
	assert_int_equal(l.port, 8443);
	assert_string_equal(l.path, "/a/b");
	assert_int_equal(config_parse_listen("wss://10.0.0.1/", 3210, &l, &why), 0);
	assert_string_equal(l.host, "10.0.0.1");
	assert_string_equal(l.path, "/");
	/* ws:// keeps port 80 and no TLS */
	assert_int_equal(config_parse_listen("ws://p", 3210, &l, &why), 0);
	assert_true(l.ws);
	assert_false(l.tls);
	assert_int_equal(l.port, 80);

	assert_int_equal(config_parse_listen("wss://h:0", 3210, &l, &why), -EINVAL);
	assert_string_equal(
	    why.msg, "invalid WebSocket URL 'wss://h:0' (expected wss://HOST[:PORT][/PATH])");
	assert_false(l.ws || l.tls);
	assert_int_equal(config_parse_listen("wss:///x", 3210, &l, &why), -EINVAL);
	assert_int_equal(config_parse_listen("wss://h h", 3210, &l, &why), -EINVAL);
	assert_int_equal(config_parse_listen("wss://h:70000", 3210, &l, &why), -EINVAL);
	assert_int_equal(config_parse_listen("wss:/h", 3210, &l, &why), -EINVAL);
	assert_int_equal(config_parse_listen("https://h", 3210, &l, &why), -EINVAL);
	assert_string_equal(why.msg, "'https://h': unsupported URL scheme (only ws:// and wss:// "
				     "are supported)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_value_parsers),
	    cmocka_unit_test(test_listen_wss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

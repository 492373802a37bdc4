// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_hooks.c - hook variables per event (CONFIG.md 8.1), PEER/CLAIMS/NODE_ID formats,
 * child environments, spawning without waiting, reaping with exit statuses, the bound on
 * running and queued hooks, signal mask and dispositions of hook processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/hooks.h"

static const uint8_t node_id[HOOKS_NODE_ID_LEN] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
						   0x08, 0x09, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
#define NODE_ID_HEX "00010203040506070809aabbccddeeff"

static char tmpdir[64];

static int group_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/mvhooks.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Builds the variables of ev and compares them with the expected list, in order. */
static void expect_vars(enum config_hook_event ev, const struct hooks_vars *v, int n_want, ...)
{
	char *got[HOOKS_NVARS];
	va_list ap;
	int n = hooks_vars_build(ev, v, got);

	assert_int_equal(n, n_want);
	va_start(ap, n_want);
	for (int i = 0; i < n; i++)
		assert_string_equal(got[i], va_arg(ap, const char *));
	va_end(ap);
	hooks_vars_free(got, n);
}

static void test_vars_per_event(void **state)
{
	(void)state;
	struct addr peer;
	struct range claims[2];
	assert_int_equal(addr_parse("192.0.2.7:3210", 3210, &peer), 0);
	assert_int_equal(range_parse("10.0.0.0/24", &claims[0]), 0);
	assert_int_equal(range_parse("aa:bb:cc:dd:ee:ff/48", &claims[1]), 0);
	struct hooks_vars v = {
	    .ifname = "mv0", .peer = &peer, .claims = claims, .n_claims = 2, .node_id = node_id};

	/* device and node events: IFNAME only, whatever else is known */
	expect_vars(CONFIG_HOOK_DEVICE_SETUP, &v, 2, "EVENT=device_setup", "IFNAME=mv0");
	expect_vars(CONFIG_HOOK_DEVICE_CONFIGURED, &v, 2, "EVENT=device_configured", "IFNAME=mv0");
	expect_vars(CONFIG_HOOK_VPN_STARTED, &v, 2, "EVENT=vpn_started", "IFNAME=mv0");
	expect_vars(CONFIG_HOOK_VPN_SHUTDOWN, &v, 2, "EVENT=vpn_shutdown", "IFNAME=mv0");
	/* peer_connecting: PEER */
	expect_vars(CONFIG_HOOK_PEER_CONNECTING, &v, 3, "EVENT=peer_connecting", "IFNAME=mv0",
		    "PEER=192.0.2.7:3210");
	/* peer_connected: PEER, CLAIMS, NODE_ID */
	expect_vars(CONFIG_HOOK_PEER_CONNECTED, &v, 5, "EVENT=peer_connected", "IFNAME=mv0",
		    "PEER=192.0.2.7:3210", "CLAIMS=10.0.0.0/24 aa:bb:cc:dd:ee:ff/48",
		    "NODE_ID=" NODE_ID_HEX);
	/* peer_disconnected after CLOSE: the reference's mapped PEER form and NODE_ID */
	expect_vars(CONFIG_HOOK_PEER_DISCONNECTED, &v, 4, "EVENT=peer_disconnected", "IFNAME=mv0",
		    "PEER=[::ffff:192.0.2.7]:3210", "NODE_ID=" NODE_ID_HEX);
	/* peer_disconnected after a failed handshake: no node id, plain PEER */
	v.node_id = NULL;
	expect_vars(CONFIG_HOOK_PEER_DISCONNECTED, &v, 3, "EVENT=peer_disconnected", "IFNAME=mv0",
		    "PEER=192.0.2.7:3210");
	/* a peer without claims still gets CLAIMS, empty; no node id known: no NODE_ID */
	v.n_claims = 0;
	expect_vars(CONFIG_HOOK_PEER_CONNECTED, &v, 4, "EVENT=peer_connected", "IFNAME=mv0",
		    "PEER=192.0.2.7:3210", "CLAIMS=");

	/* IPv6 peers look the same in every event */
	struct addr p6;
	assert_int_equal(addr_parse("[2001:db8::1]:4000", 3210, &p6), 0);
	struct hooks_vars v6 = {.ifname = "mv1", .peer = &p6, .node_id = node_id};
	expect_vars(CONFIG_HOOK_PEER_DISCONNECTED, &v6, 4, "EVENT=peer_disconnected", "IFNAME=mv1",
		    "PEER=[2001:db8::1]:4000", "NODE_ID=" NODE_ID_HEX);
	expect_vars(CONFIG_HOOK_PEER_CONNECTING, &v6, 3, "EVENT=peer_connecting", "IFNAME=mv1",
		    "PEER=[2001:db8::1]:4000");

	/* nothing known: EVENT alone */
	struct hooks_vars none = {0};
	expect_vars(CONFIG_HOOK_PEER_CONNECTED, &none, 2, "EVENT=peer_connected", "CLAIMS=");
	expect_vars(CONFIG_HOOK_VPN_STARTED, &none, 1, "EVENT=vpn_started");
}

static void test_formats(void **state)
{
	(void)state;
	char buf[ADDR_STRLEN], id[2 * HOOKS_NODE_ID_LEN + 1];
	struct addr a;
	struct range r[3];

	assert_int_equal(addr_parse("10.1.2.3:655", 3210, &a), 0);
	assert_string_equal(hooks_format_peer(&a, false, buf), "10.1.2.3:655");
	assert_string_equal(hooks_format_peer(&a, true, buf), "[::ffff:10.1.2.3]:655");
	assert_int_equal(addr_parse("[fe80::1]:3210", 3210, &a), 0);
	assert_string_equal(hooks_format_peer(&a, true, buf), "[fe80::1]:3210");

	assert_string_equal(hooks_format_node_id(node_id, id), NODE_ID_HEX);
	assert_int_equal(strlen(id), 32);

	assert_int_equal(range_parse("10.0.0.0/8", &r[0]), 0);
	assert_int_equal(range_parse("192.168.1.0/24", &r[1]), 0);
	assert_int_equal(range_parse("fd00::/64", &r[2]), 0);
	char *c = hooks_format_claims(r, 3);
	char want[200], r2[VADDR_STRLEN + 4];
	snprintf(want, sizeof(want), "10.0.0.0/8 192.168.1.0/24 %s", range_format(&r[2], r2));
	assert_string_equal(c, want);
	free(c);
	c = hooks_format_claims(r, 0);
	assert_string_equal(c, "");
	free(c);
}

static int count_prefix(char **envp, const char *prefix)
{
	int n = 0;
	for (; *envp; envp++)
		n += strncmp(*envp, prefix, strlen(prefix)) == 0;
	return n;
}

static void test_env_new(void **state)
{
	(void)state;
	char ifname[] = "IFNAME=new", event[] = "EVENT=vpn_started";
	char *add[] = {ifname, event};

	assert_int_equal(setenv("IFNAME", "stale", 1), 0);
	assert_int_equal(setenv("PASSWORD", "secret", 1), 0);
	assert_int_equal(setenv("PRIVATE_KEY", "secretkey", 1), 0);
	assert_int_equal(setenv("MVH_OTHER", "kept", 1), 0);
	assert_int_equal(setenv("IFNAMEX", "similar", 1), 0);
	char **envp = hooks_env_new(add, 2);
	assert_non_null(envp);
	assert_int_equal(count_prefix(envp, "IFNAME="), 1);
	assert_int_equal(count_prefix(envp, "IFNAME=new"), 1);
	assert_int_equal(count_prefix(envp, "IFNAMEX=similar"), 1);
	assert_int_equal(count_prefix(envp, "EVENT=vpn_started"), 1);
	assert_int_equal(count_prefix(envp, "MVH_OTHER=kept"), 1);
	assert_int_equal(count_prefix(envp, "PASSWORD="), 0);
	assert_int_equal(count_prefix(envp, "PRIVATE_KEY="), 0);
	free(envp);
	envp = hooks_env_new(NULL, 0);
	assert_int_equal(count_prefix(envp, "IFNAME=stale"), 1);
	assert_int_equal(count_prefix(envp, "PASSWORD="), 0);
	free(envp);
	unsetenv("IFNAME");
	unsetenv("PASSWORD");
	unsetenv("PRIVATE_KEY");
	unsetenv("MVH_OTHER");
	unsetenv("IFNAMEX");
}

static void test_selection(void **state)
{
	(void)state;
	char *per[CONFIG_HOOK_COUNT] = {0};
	struct hooks *h;

	per[CONFIG_HOOK_PEER_CONNECTED] = "per-event";
	assert_int_equal(hooks_new("global", per, &h), 0);
	assert_string_equal(hooks_script(h, CONFIG_HOOK_PEER_CONNECTED), "per-event");
	assert_string_equal(hooks_script(h, CONFIG_HOOK_VPN_STARTED), "global");
	hooks_free(h);

	assert_int_equal(hooks_new(NULL, per, &h), 0);
	assert_null(hooks_script(h, CONFIG_HOOK_VPN_STARTED));
	/* no script: nothing starts */
	struct hooks_vars v = {.ifname = "x"};
	assert_int_equal(hooks_fire(h, CONFIG_HOOK_VPN_STARTED, &v), 0);
	assert_int_equal(hooks_running(h), 0);
	assert_int_equal(hooks_stats(h)->started, 0);
	hooks_free(h);
	hooks_free(NULL);
	assert_null(hooks_script(NULL, CONFIG_HOOK_VPN_STARTED));
}

/* Reaps until n hooks have exited (or 10 s passed). */
static void reap_until(struct hooks *h, unsigned long n)
{
	double end = now_ms() + 10000;
	while (hooks_stats(h)->exited < n && now_ms() < end) {
		hooks_reap(h);
		usleep(5000);
	}
	assert_int_equal(hooks_stats(h)->exited, n);
}

static void test_nonblocking_and_status(void **state)
{
	(void)state;
	struct hooks *h;
	struct hooks_vars v = {.ifname = "mv0"};

	assert_int_equal(hooks_new("sleep 1; exit 3", NULL, &h), 0);
	double t0 = now_ms();
	assert_int_equal(hooks_fire(h, CONFIG_HOOK_VPN_STARTED, &v), 0);
	double dt = now_ms() - t0;
	/* the caller never waits for the script */
	assert_true(dt < 300);
	assert_int_equal(hooks_running(h), 1);
	assert_int_equal(hooks_reap(h), 0); /* still running: nothing to reap, no blocking */
	assert_int_equal(hooks_running(h), 1);
	reap_until(h, 1);
	assert_true(now_ms() - t0 >= 900);
	assert_int_equal(hooks_running(h), 0);
	assert_int_equal(hooks_stats(h)->last_status, 3);
	assert_int_equal(hooks_stats(h)->nonzero, 1);
	hooks_free(h);

	/* a successful hook, and a hook killed by a signal */
	assert_int_equal(hooks_new("exit 0", NULL, &h), 0);
	assert_int_equal(hooks_fire(h, CONFIG_HOOK_VPN_STARTED, &v), 0);
	reap_until(h, 1);
	assert_int_equal(hooks_stats(h)->last_status, 0);
	assert_int_equal(hooks_stats(h)->nonzero, 0);
	hooks_free(h);
	assert_int_equal(hooks_new("kill -KILL $$", NULL, &h), 0);
	assert_int_equal(hooks_fire(h, CONFIG_HOOK_VPN_STARTED, &v), 0);
	reap_until(h, 1);
	assert_int_equal(hooks_stats(h)->last_status, 128 + SIGKILL);
	hooks_free(h);
}

static char *read_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_child_environment(void **state)
{
	(void)state;
	char script[256], path[128];
	struct hooks *h;
	struct addr peer;
	struct range claim;

	snprintf(path, sizeof(path), "%s/env-$EVENT", tmpdir);
	snprintf(script, sizeof(script), "env > \"%s\"", path);
	assert_int_equal(addr_parse("192.0.2.9:3211", 3210, &peer), 0);
	assert_int_equal(range_parse("10.5.0.0/16", &claim), 0);
	assert_int_equal(setenv("PASSWORD", "do-not-leak", 1), 0);
	assert_int_equal(hooks_new(script, NULL, &h), 0);
	struct hooks_vars v = {
	    .ifname = "mvx0", .peer = &peer, .claims = &claim, .n_claims = 1, .node_id = node_id};
	assert_int_equal(hooks_fire(h, CONFIG_HOOK_PEER_CONNECTED, &v), 0);
	reap_until(h, 1);
	assert_int_equal(hooks_stats(h)->last_status, 0);
	hooks_free(h);
	unsetenv("PASSWORD");

	snprintf(path, sizeof(path), "%s/env-peer_connected", tmpdir);
	char *env = read_file(path);
	assert_non_null(strstr(env, "EVENT=peer_connected\n"));
	assert_non_null(strstr(env, "IFNAME=mvx0\n"));
	assert_non_null(strstr(env, "PEER=192.0.2.9:3211\n"));
	assert_non_null(strstr(env, "CLAIMS=10.5.0.0/16\n"));
	assert_non_null(strstr(env, "NODE_ID=" NODE_ID_HEX "\n"));
	assert_null(strstr(env, "do-not-leak"));
	/* the rest of the environment is passed on */
	assert_non_null(strstr(env, "PATH="));
}

static void test_bound(void **state)
{
	(void)state;
	struct hooks *h;
	struct hooks_vars v = {.ifname = "mv0"};
	unsigned total = HOOKS_MAX_RUNNING + HOOKS_MAX_QUEUED;

	/* nothing is reaped while firing: finished hooks still hold their slots */
	assert_int_equal(hooks_new("exit 0", NULL, &h), 0);
	for (unsigned i = 0; i < total; i++)
		assert_int_equal(hooks_fire(h, CONFIG_HOOK_PEER_CONNECTING, &v), 0);
	assert_int_equal(hooks_running(h), HOOKS_MAX_RUNNING);
	assert_int_equal(hooks_queued(h), HOOKS_MAX_QUEUED);
	for (int i = 0; i < 3; i++)
		assert_int_equal(hooks_fire(h, CONFIG_HOOK_PEER_CONNECTING, &v), -ENOSPC);
	assert_int_equal(hooks_stats(h)->dropped, 3);
	assert_int_equal(hooks_stats(h)->started, HOOKS_MAX_RUNNING);
	/* reaping frees slots for the queued ones, in order, never more than the bound */
	assert_int_equal(hooks_drain(h, 20000), 0);
	assert_int_equal(hooks_stats(h)->started, total);
	assert_int_equal(hooks_stats(h)->exited, total);
	assert_int_equal(hooks_running(h), 0);
	assert_int_equal(hooks_queued(h), 0);
	hooks_free(h);

	/* queued hooks that never ran are freed with the table */
	assert_int_equal(hooks_new("sleep 0.2", NULL, &h), 0);
	for (unsigned i = 0; i < HOOKS_MAX_RUNNING + 2; i++)
		assert_int_equal(hooks_fire(h, CONFIG_HOOK_PEER_CONNECTING, &v), 0);
	assert_int_equal(hooks_queued(h), 2);
	assert_int_equal(hooks_drain(h, 0), HOOKS_MAX_RUNNING + 2);
	hooks_free(h);
	/* the children outlive the table; collect them so later tests start clean */
	double end = now_ms() + 5000;
	while (now_ms() < end && waitpid(-1, NULL, 0) > 0)
		;
}

static void test_drain_timeout(void **state)
{
	(void)state;
	struct hooks *h;
	struct hooks_vars v = {0};

	assert_int_equal(hooks_new("sleep 1", NULL, &h), 0);
	assert_int_equal(hooks_fire(h, CONFIG_HOOK_VPN_SHUTDOWN, &v), 0);
	double t0 = now_ms();
	assert_int_equal(hooks_drain(h, 100), 1);
	assert_true(now_ms() - t0 < 1000);
	hooks_free(h);
	while (waitpid(-1, NULL, 0) > 0)
		;
}

static void test_signals_in_child(void **state)
{
	(void)state;
	struct hooks *h;
	struct hooks_vars v = {0};
	sigset_t set, old;

	/* blocked as loop.c blocks them, and SIGTERM ignored: the hook gets neither */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
	struct sigaction ign = {.sa_handler = SIG_IGN}, prev;
	assert_int_equal(sigaction(SIGTERM, &ign, &prev), 0);

	assert_int_equal(hooks_new("kill -TERM $$; sleep 5", NULL, &h), 0);
	assert_int_equal(hooks_fire(h, CONFIG_HOOK_VPN_STARTED, &v), 0);
	reap_until(h, 1);
	assert_int_equal(hooks_stats(h)->last_status, 128 + SIGTERM);
	hooks_free(h);
	assert_int_equal(hooks_new("grep -q '^SigBlk:[[:space:]]*0*$' /proc/self/status", NULL, &h),
			 0);
	assert_int_equal(hooks_fire(h, CONFIG_HOOK_VPN_STARTED, &v), 0);
	reap_until(h, 1);
	assert_int_equal(hooks_stats(h)->last_status, 0);
	hooks_free(h);

	assert_int_equal(sigaction(SIGTERM, &prev, NULL), 0);
	assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
}

/* Descriptors without close-on-exec (a library's) do not reach the script. */
static void test_no_fd_leak(void **state)
{
	(void)state;
	struct hooks *h;
	struct hooks_vars v = {0};
	char script[128];
	int fd = open("/dev/null", O_RDONLY); /* no O_CLOEXEC, like miniupnpc's sockets */

	assert_true(fd > 2);
	snprintf(script, sizeof(script), "test ! -e /proc/self/fd/%d", fd);
	assert_int_equal(hooks_new(script, NULL, &h), 0);
	assert_int_equal(hooks_fire(h, CONFIG_HOOK_VPN_STARTED, &v), 0);
	reap_until(h, 1);
	assert_int_equal(hooks_stats(h)->last_status, 0);
	hooks_free(h);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_fd_leak),
	    cmocka_unit_test(test_vars_per_event),
	    cmocka_unit_test(test_formats),
	    cmocka_unit_test(test_env_new),
	    cmocka_unit_test(test_selection),
	    cmocka_unit_test(test_nonblocking_and_status),
	    cmocka_unit_test(test_child_environment),
	    cmocka_unit_test(test_bound),
	    cmocka_unit_test(test_drain_timeout),
	    cmocka_unit_test(test_signals_in_child),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_resolve.c - the resolver worker: numeric names, localhost, unknown names, queue
 * limits, delivery through the eventfd, tags, and freeing with work outstanding.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "meshvpn/resolve.h"

#define WAIT_MS 20000 /* generous: a name lookup may wait for a DNS server */

static struct addr A(const char *s)
{
	struct addr a;
	assert_int_equal(addr_parse(s, ADDR_DEFAULT_PORT, &a), 0);
	return a;
}

static bool readable(struct resolver *r, int timeout_ms)
{
	struct pollfd p = {.fd = resolver_src(r)->fd, .events = POLLIN};
	int k = poll(&p, 1, timeout_ms);
	assert_true(k >= 0);
	return k == 1 && (p.revents & POLLIN);
}

/* Waits until count results were taken (in order) into out. */
static void take_n(struct resolver *r, struct resolve_result *out, size_t count)
{
	size_t got = 0;
	while (got < count) {
		if (!readable(r, WAIT_MS))
			fail_msg("only %zu of %zu results after %d ms", got, count, WAIT_MS);
		while (got < count && resolver_take(r, &out[got]) == 1)
			got++;
	}
}

static struct resolve_result take1(struct resolver *r)
{
	struct resolve_result res;
	take_n(r, &res, 1);
	return res;
}

static int setup(void **state)
{
	struct resolver *r;
	if (resolver_new(&r) < 0)
		return -1;
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	resolver_free(*state);
	return 0;
}

static void test_numeric(void **state)
{
	struct resolver *r = *state;
	struct resolve_result res[4];
	struct addr want;

	assert_int_equal(resolver_submit(r, 7, "192.0.2.1:4000", 3210), 0);
	assert_int_equal(resolver_submit(r, 8, "[2001:db8::1]:53", 3210), 0);
	assert_int_equal(resolver_submit(r, 9, "10.0.0.1", 3210), 0);
	assert_int_equal(resolver_submit(r, UINT64_MAX, "2001:db8::2", 999), 0);
	take_n(r, res, 4);

	assert_int_equal(res[0].tag, 7);
	assert_int_equal(res[0].count, 1);
	want = A("192.0.2.1:4000");
	assert_true(addr_equal(&res[0].addrs[0], &want));
	assert_true(addr_is_v4(&res[0].addrs[0])); /* normalised: IPv4-mapped */

	assert_int_equal(res[1].tag, 8);
	assert_int_equal(res[1].count, 1);
	want = A("[2001:db8::1]:53");
	assert_true(addr_equal(&res[1].addrs[0], &want));

	assert_int_equal(res[2].tag, 9);
	assert_int_equal(res[2].count, 1);
	want = A("10.0.0.1:3210"); /* the default port */
	assert_true(addr_equal(&res[2].addrs[0], &want));

	assert_true(res[3].tag == UINT64_MAX); /* all 64 bits of the tag come back */
	assert_int_equal(res[3].count, 1);
	want = A("[2001:db8::2]:999");
	assert_true(addr_equal(&res[3].addrs[0], &want));

	/* nothing else is queued, and the eventfd is quiet again */
	assert_int_equal(resolver_take(r, &res[0]), 0);
	assert_false(readable(r, 0));
}

static void test_localhost(void **state)
{
	struct resolver *r = *state;
	struct addr lo4 = A("127.0.0.1:1234"), lo6 = A("[::1]:1234");

	assert_int_equal(resolver_submit(r, 42, "localhost:1234", 3210), 0);
	struct resolve_result res = take1(r);
	assert_int_equal(res.tag, 42);
	assert_true(res.count >= 1 && res.count <= RESOLVE_MAX_ADDRS);
	bool loopback = false;
	for (int i = 0; i < res.count; i++) {
		loopback |= addr_equal(&res.addrs[i], &lo4) || addr_equal(&res.addrs[i], &lo6);
		assert_int_equal(res.addrs[i].port, 1234);
		/* IPv4 first, no duplicates */
		if (i > 0 && addr_is_v4(&res.addrs[i]))
			assert_true(addr_is_v4(&res.addrs[i - 1]));
		for (int k = 0; k < i; k++)
			assert_false(addr_equal(&res.addrs[i], &res.addrs[k]));
	}
	assert_true(loopback);

	/* no port: the default port */
	assert_int_equal(resolver_submit(r, 43, "localhost", 3210), 0);
	res = take1(r);
	assert_int_equal(res.tag, 43);
	assert_true(res.count >= 1);
	assert_int_equal(res.addrs[0].port, 3210);
}

static void test_errors(void **state)
{
	struct resolver *r = *state;
	struct resolve_result res[5];

	/* RFC 6761: names under .invalid never resolve, with or without a reachable DNS server */
	assert_int_equal(resolver_submit(r, 1, "no-such-host.invalid", 3210), 0);
	assert_int_equal(resolver_submit(r, 2, "No-Such-Host.INVALID.:3210", 3210), 0);
	assert_int_equal(resolver_submit(r, 3, "invalid", 3210), 0);
	take_n(r, res, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(res[i].tag, i + 1);
		assert_int_equal(res[i].count, -ENOENT);
	}

	assert_int_equal(resolver_submit(r, 1, "1.2.3.4:99999", 3210), 0);
	assert_int_equal(resolver_submit(r, 2, "", 3210), 0);
	assert_int_equal(resolver_submit(r, 3, "[2001:db8::1", 3210), 0);
	take_n(r, res, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(res[i].tag, i + 1);
	assert_int_equal(res[0].count, -EINVAL); /* bad port */
	assert_int_equal(res[1].count, -EINVAL); /* empty */
	assert_int_equal(res[2].count, -EINVAL); /* unclosed bracket */
}

static void test_queue_full(void **state)
{
	struct resolver *r = *state;
	static struct resolve_result res[RESOLVE_QUEUE];
	char name[64];

	/* queued, in progress and untaken results together are bounded by RESOLVE_QUEUE */
	for (unsigned i = 0; i < RESOLVE_QUEUE; i++) {
		snprintf(name, sizeof(name), "10.0.%u.%u:%u", i / 256, i % 256, 1000 + i);
		assert_int_equal(resolver_submit(r, 1000 + i, name, 3210), 0);
	}
	assert_int_equal(resolver_submit(r, 1, "10.9.9.9", 3210), -ENOBUFS);
	/* still full once the worker is done: the results have not been taken */
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, NULL);
	assert_int_equal(resolver_submit(r, 1, "10.9.9.9", 3210), -ENOBUFS);

	take_n(r, res, RESOLVE_QUEUE);
	for (unsigned i = 0; i < RESOLVE_QUEUE; i++) {
		assert_int_equal(res[i].tag, 1000 + i); /* in submission order */
		assert_int_equal(res[i].count, 1);
		assert_int_equal(res[i].addrs[0].port, 1000 + i);
		assert_int_equal(res[i].addrs[0].ip[15], i % 256);
	}
	assert_false(readable(r, 0));

	/* taking a result frees a place */
	assert_int_equal(resolver_submit(r, 2, "10.9.9.9", 3210), 0);
	assert_int_equal(take1(r).tag, 2);
}

static void test_eventfd(void **state)
{
	struct resolver *r = *state;
	struct resolve_result res;

	assert_false(readable(r, 0));
	assert_int_equal(resolver_take(r, &res), 0);
	assert_int_equal(resolver_submit(r, 1, "192.0.2.1", 3210), 0);
	assert_int_equal(resolver_submit(r, 2, "192.0.2.2", 3210), 0);
	assert_true(readable(r, WAIT_MS));
	/* numeric names take microseconds: both are there after 100 ms */
	struct timespec ts = {0, 100 * 1000 * 1000};
	nanosleep(&ts, NULL);
	/* the eventfd stays readable while a result is left */
	assert_int_equal(resolver_take(r, &res), 1);
	assert_int_equal(res.tag, 1);
	assert_true(readable(r, 0));
	assert_int_equal(resolver_take(r, &res), 1);
	assert_int_equal(res.tag, 2);
	assert_false(readable(r, 0));
	assert_int_equal(resolver_take(r, &res), 0);
	assert_false(readable(r, 0));
}

static void test_name_copied(void **state)
{
	struct resolver *r = *state;
	char name[32];

	snprintf(name, sizeof(name), "198.51.100.7:4711");
	assert_int_equal(resolver_submit(r, 5, name, 3210), 0);
	memset(name, 'x', sizeof(name) - 1); /* the caller's buffer is not used afterwards */
	struct resolve_result res = take1(r);
	struct addr want = A("198.51.100.7:4711");
	assert_int_equal(res.count, 1);
	assert_true(addr_equal(&res.addrs[0], &want));
}

/* Freeing with requests queued, one in progress and results untaken leaks nothing (LSan). */
static void test_free_pending(void **state)
{
	struct resolver *r;
	char name[64];

	(void)state;
	resolver_free(NULL);
	for (int round = 0; round < 20; round++) {
		assert_int_equal(resolver_new(&r), 0);
		for (unsigned i = 0; i < RESOLVE_QUEUE; i++) {
			if (i % 8 == 0)
				snprintf(name, sizeof(name), "localhost:%u", i);
			else
				snprintf(name, sizeof(name), "10.1.%u.%u", round, i);
			assert_int_equal(resolver_submit(r, i, name, 3210), 0);
		}
		if (round % 2) {
			/* let some finish so results are waiting too */
			assert_true(readable(r, WAIT_MS));
		}
		resolver_free(r);
	}
	/* a fresh one right away */
	assert_int_equal(resolver_new(&r), 0);
	resolver_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_numeric, setup, teardown),
		cmocka_unit_test_setup_teardown(test_localhost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_copied, setup, teardown),
		cmocka_unit_test(test_free_pending),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

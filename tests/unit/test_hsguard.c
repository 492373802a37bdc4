// SPDX-License-Identifier: GPL-3.0-or-later
/* test_hsguard.c - per-source budget per tick, salts tied to their first sender. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "meshvpn/hsguard.h"

static struct addr addr4(uint8_t last, uint16_t port)
{
	struct addr a = {.ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, last},
			 .port = port};
	return a;
}

static void test_source_budget(void **state)
{
	struct hsguard *g = *state;
	struct addr a = addr4(1, 3210), a2 = addr4(1, 4000), b = addr4(2, 3210);

	for (int i = 0; i < HSGUARD_PER_SOURCE; i++)
		assert_true(hsguard_source_ok(g, i % 2 ? &a : &a2, 100));
	/* the port does not matter: one address, one budget */
	assert_false(hsguard_source_ok(g, &a, 100));
	assert_false(hsguard_source_ok(g, &a2, 100));
	/* another address has its own; the next tick starts afresh */
	assert_true(hsguard_source_ok(g, &b, 100));
	assert_true(hsguard_source_ok(g, &a, 101));
}

/* Every message counts as seen, also past the budget; per address, per tick. */
static void test_source_seen(void **state)
{
	struct hsguard *g = *state;
	struct addr a = addr4(1, 3210), a2 = addr4(1, 4000), b = addr4(2, 3210);

	for (uint32_t i = 1; i <= HSGUARD_FLOOD; i++) {
		assert_int_equal(hsguard_source_seen(g, i % 2 ? &a : &a2, 200), i);
		(void)hsguard_source_ok(g, &a, 200); /* the budget check does not reset it */
	}
	assert_false(hsguard_source_ok(g, &a, 200));
	assert_int_equal(hsguard_source_seen(g, &a, 200), HSGUARD_FLOOD + 1);
	assert_int_equal(hsguard_source_seen(g, &b, 200), 1);
	assert_int_equal(hsguard_source_seen(g, &a, 201), 1);
	assert_true(hsguard_source_ok(g, &a, 201));
}

static void test_many_sources(void **state)
{
	struct hsguard *g = *state;
	int refused = 0;

	/* a flood from thousands of addresses: each gets its budget, none blocks another */
	for (unsigned i = 0; i < 20000; i++) {
		struct addr a = addr4(0, 1);
		memcpy(a.ip + 12, &i, sizeof(i));
		refused += !hsguard_source_ok(g, &a, 7);
	}
	assert_int_equal(refused, 0);
}

static void test_salt_copies(void **state)
{
	struct hsguard *g = *state;
	struct addr a = addr4(1, 3210), b = addr4(2, 3210), c = addr4(3, 3210);
	uint8_t m1[64], m2[64];

	memset(m1, 0, sizeof(m1));
	m1[0] = 0xff;
	randombytes_buf(m1 + 1, HSGUARD_SALT_LEN);
	memcpy(m2, m1, sizeof(m2));
	m2[1] ^= 1;
	assert_true(hsguard_salt_ok(g, m1, &a, 10));
	/* resends from the same address pass, copies from elsewhere do not */
	assert_true(hsguard_salt_ok(g, m1, &a, 11));
	assert_false(hsguard_salt_ok(g, m1, &b, 11));
	assert_false(hsguard_salt_ok(g, m1, &c, 10 + HSGUARD_SALT_TICKS - 1));
	/* only the salt and key hash count (bytes 1..8), not the rest of the message */
	m1[20] ^= 0x55;
	assert_false(hsguard_salt_ok(g, m1, &b, 12));
	assert_true(hsguard_salt_ok(g, m2, &b, 12));
	/* forgotten after HSGUARD_SALT_TICKS: then tied to whoever comes next */
	assert_true(hsguard_salt_ok(g, m1, &c, 10 + HSGUARD_SALT_TICKS));
	assert_false(hsguard_salt_ok(g, m1, &a, 10 + HSGUARD_SALT_TICKS));
}

/* Copies refused per salt and tick: what marks a replay flood. */
static void test_salt_copy_count(void **state)
{
	struct hsguard *g = *state;
	struct addr a = addr4(1, 3210), b = addr4(2, 3210);
	uint8_t m[16] = {0xff, 1, 2, 3, 4, 5, 6, 7, 8}, other[16] = {0xff, 9};

	assert_true(hsguard_salt_ok(g, m, &a, 50));
	assert_int_equal(hsguard_salt_copies(g, m, 50), 0);
	for (uint32_t i = 1; i <= HSGUARD_COPY_FLOOD; i++) {
		struct addr src = addr4((uint8_t)(2 + i % 200), (uint16_t)i);
		assert_false(hsguard_salt_ok(g, m, &src, 50));
		assert_true(hsguard_salt_ok(g, m, &a, 50)); /* the sender's resends do not count */
		assert_int_equal(hsguard_salt_copies(g, m, 50), i);
	}
	assert_int_equal(hsguard_salt_copies(g, other, 50), 0);
	/* a new tick counts anew */
	assert_int_equal(hsguard_salt_copies(g, m, 51), 0);
	assert_false(hsguard_salt_ok(g, m, &b, 51));
	assert_int_equal(hsguard_salt_copies(g, m, 51), 1);
}

static void test_salt_used(void **state)
{
	struct hsguard *g = *state;
	struct addr a = addr4(1, 3210);
	uint8_t m[16] = {0xff, 1, 2, 3, 4, 5, 6, 7, 8}, other[16] = {0xff, 9};

	/* unknown or merely seen salts are not used; use needs the slot to hold the salt */
	assert_false(hsguard_salt_used(g, m, 5));
	hsguard_salt_use(g, m, 5);
	assert_false(hsguard_salt_used(g, m, 5));
	assert_true(hsguard_salt_ok(g, m, &a, 5));
	assert_false(hsguard_salt_used(g, m, 5));
	hsguard_salt_use(g, m, 5);
	assert_true(hsguard_salt_used(g, m, 6));
	assert_false(hsguard_salt_used(g, other, 6));
	/* still tied to its sender, and forgotten with the rest */
	assert_true(hsguard_salt_ok(g, m, &a, 7));
	assert_true(hsguard_salt_used(g, m, 7));
	assert_false(hsguard_salt_used(g, m, 5 + HSGUARD_SALT_TICKS));
	assert_true(hsguard_salt_ok(g, m, &a, 5 + HSGUARD_SALT_TICKS));
	assert_false(hsguard_salt_used(g, m, 5 + HSGUARD_SALT_TICKS));
}

static void test_keyed(void **state)
{
	struct hsguard *g = *state, *h = malloc(sizeof(*h));

	/* two guards hash differently: a sender cannot aim at a slot it computed offline */
	assert_non_null(h);
	hsguard_init(h);
	assert_memory_not_equal(g->key, h->key, sizeof(g->key));
	free(h);
}

static int setup(void **state)
{
	struct hsguard *g = malloc(sizeof(*g));

	if (!g || sodium_init() < 0)
		return -1;
	hsguard_init(g);
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_source_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_salt_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_salt_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_salt_copy_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* test_algo.c - algorithm names, ALGORITHMS codec, selection, benchmark. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>

#include "meshvpn/algo.h"
#include "crypto_test_util.h"

static void list3(struct algo_list *l, float a128, float a256, float chacha)
{
	algo_list_init(l);
	if (a128 >= 0)
		assert_int_equal(algo_list_add(l, ALGO_AES128, a128), 0);
	if (a256 >= 0)
		assert_int_equal(algo_list_add(l, ALGO_AES256, a256), 0);
	if (chacha >= 0)
		assert_int_equal(algo_list_add(l, ALGO_CHACHA20, chacha), 0);
}

static void test_names(void **state)
{
	uint8_t id = 99;

	(void)state;
	assert_string_equal(algo_name(ALGO_PLAIN), "PLAIN");
	assert_string_equal(algo_name(ALGO_AES128), "AES128");
	assert_string_equal(algo_name(ALGO_AES256), "AES256");
	assert_string_equal(algo_name(ALGO_CHACHA20), "CHACHA20");
	assert_string_equal(algo_name(7), "?");
	assert_int_equal(algo_key_len(ALGO_AES128), 16);
	assert_int_equal(algo_key_len(ALGO_AES256), 32);
	assert_int_equal(algo_key_len(ALGO_CHACHA20), 32);
	assert_int_equal(algo_key_len(ALGO_PLAIN), 0);
	assert_int_equal(algo_from_name("chacha20_poly1305", &id), 0);
	assert_int_equal(id, ALGO_CHACHA20);
	assert_int_equal(algo_from_name("Aes_128_Gcm", &id), 0);
	assert_int_equal(id, ALGO_AES128);
	assert_int_equal(algo_from_name("AES256", &id), 0);
	assert_int_equal(id, ALGO_AES256);
	assert_int_equal(algo_from_name("unencrypted", &id), 0);
	assert_int_equal(id, ALGO_PLAIN);
	assert_int_equal(algo_from_name("des", &id), -EINVAL);
}

static void test_list_add(void **state)
{
	struct algo_list l;

	(void)state;
	algo_list_init(&l);
	assert_int_equal(algo_list_add(&l, ALGO_AES128, 1), 0);
	assert_int_equal(algo_list_add(&l, ALGO_AES128, 2), -EEXIST);
	assert_int_equal(algo_list_add(&l, 4, 2), -EINVAL);
	assert_int_equal(algo_list_add(&l, ALGO_PLAIN, 0), 0);
	assert_true(l.allow_plain);
	assert_int_equal(l.n, 1);
}

static void test_encode(void **state)
{
	struct algo_list l;
	uint8_t out[ALGO_LIST_MAX_LEN], want[ALGO_LIST_MAX_LEN];
	struct wr w;
	size_t n;

	(void)state;
	algo_list_init(&l);
	l.allow_plain = true;
	wr_init(&w, out, sizeof(out));
	algo_list_write(&l, &w);
	assert_int_equal(algo_list_encoded_len(&l), 5);
	assert_int_equal(w.len, 5);
	n = unhex(want, sizeof(want), "007f800000");
	assert_memory_equal(out, want, n);

	/* The A.4 list of node A, plus plain: 160-byte PING material. */
	list3(&l, 1000, 800, 600);
	l.allow_plain = true;
	wr_init(&w, out, sizeof(out));
	algo_list_write(&l, &w);
	assert_true(wr_ok(&w));
	n = unhex(want, sizeof(want), "007f800000 01447a0000 0244480000 0344160000");
	assert_int_equal(w.len, n);
	assert_memory_equal(out, want, n);
}

static void test_decode(void **state)
{
	struct algo_list l;
	uint8_t in[64];
	size_t n;
	float s;

	(void)state;
	n = unhex(in, sizeof(in), "007f800000");
	assert_int_equal(algo_list_decode(&l, in, n), 0);
	assert_true(l.allow_plain);
	assert_int_equal(l.n, 0);

	/* unknown id 9 skipped, repeated AES128 keeps the first speed */
	n = unhex(in, sizeof(in), "0943fa0000 0143fa0000 0344610000 0144610000");
	assert_int_equal(algo_list_decode(&l, in, n), 0);
	assert_false(l.allow_plain);
	assert_int_equal(l.n, 2);
	assert_true(algo_list_speed(&l, ALGO_AES128, &s));
	assert_true(s == 500.0f);
	assert_true(algo_list_speed(&l, ALGO_CHACHA20, &s));
	assert_true(s == 900.0f);
	assert_false(algo_list_speed(&l, ALGO_AES256, &s));

	/* not a multiple of five */
	assert_int_equal(algo_list_decode(&l, in, 7), -EBADMSG);
	assert_int_equal(algo_list_decode(&l, in, 0), 0);
	assert_int_equal(l.n, 0);
}

static void test_select(void **state)
{
	struct algo_list own, peer;
	uint8_t id = 99;

	(void)state;
	/* PROTOCOL.md 2.4 example: AES128 500 vs CHACHA20 600 -> CHACHA20 */
	list3(&own, 1000, 800, 600);
	list3(&peer, 500, -1, 900);
	assert_int_equal(algo_select(&own, &peer, &id), 0);
	assert_int_equal(id, ALGO_CHACHA20);
	/* and the other way round (A.4: both sides agree) */
	assert_int_equal(algo_select(&peer, &own, &id), 0);
	assert_int_equal(id, ALGO_CHACHA20);

	/* tie: the earlier cipher in own order wins */
	list3(&own, 100, 100, 100);
	list3(&peer, 100, 100, 100);
	assert_int_equal(algo_select(&own, &peer, &id), 0);
	assert_int_equal(id, ALGO_AES128);
	algo_list_init(&own);
	assert_int_equal(algo_list_add(&own, ALGO_CHACHA20, 300), 0);
	assert_int_equal(algo_list_add(&own, ALGO_AES256, 300), 0);
	list3(&peer, -1, 500, 400);
	assert_int_equal(algo_select(&own, &peer, &id), 0);
	assert_int_equal(id, ALGO_CHACHA20);

	/* min(own, peer) decides, not own speed alone */
	list3(&own, 1000, 10, -1);
	list3(&peer, 5, 900, -1);
	assert_int_equal(algo_select(&own, &peer, &id), 0);
	assert_int_equal(id, ALGO_AES256);

	/* plain only if both allow it */
	list3(&own, 100, -1, -1);
	list3(&peer, 100, -1, -1);
	own.allow_plain = true;
	assert_int_equal(algo_select(&own, &peer, &id), 0);
	assert_int_equal(id, ALGO_AES128);
	peer.allow_plain = true;
	assert_int_equal(algo_select(&own, &peer, &id), 0);
	assert_int_equal(id, ALGO_PLAIN);
	/* plain on both sides wins even without ciphers */
	algo_list_init(&own);
	own.allow_plain = true;
	assert_int_equal(algo_select(&own, &peer, &id), 0);
	assert_int_equal(id, ALGO_PLAIN);

	/* no common cipher */
	list3(&own, 100, -1, -1);
	list3(&peer, -1, 100, 100);
	peer.allow_plain = true;
	assert_int_equal(algo_select(&own, &peer, &id), -ENOENT);
	algo_list_init(&peer);
	assert_int_equal(algo_select(&own, &peer, &id), -ENOENT);
}

static void test_benchmark(void **state)
{
	struct algo_list l;
	const uint8_t ids[] = { ALGO_AES128, ALGO_AES256, ALGO_CHACHA20 };
	const uint8_t bad[] = { ALGO_AES128, ALGO_AES128 };
	float s;

	(void)state;
	assert_int_equal(algo_list_benchmark(&l, ids, 3, true, 0.005), 0);
	assert_true(l.allow_plain);
	assert_int_equal(l.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(l.e[i].id, ids[i]);
		assert_true(l.e[i].speed > 1.0f && isfinite(l.e[i].speed));
	}
	assert_int_equal(algo_list_benchmark(&l, bad, 2, false, 0.001), -EINVAL);
	assert_int_equal(algo_benchmark(ALGO_PLAIN, 0.001, &s), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),  cmocka_unit_test(test_list_add),
		cmocka_unit_test(test_encode), cmocka_unit_test(test_decode),
		cmocka_unit_test(test_select), cmocka_unit_test(test_benchmark),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* test_secmem.c - secret slots: zeroed, distinct, wiped on return, chunks grow and shrink. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/secmem.h"

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_bad_sizes(void **state)
{
	(void)state;
	struct secmem *m = (struct secmem *)1;

	assert_int_equal(secmem_new(0, &m), -EINVAL);
	assert_null(m);
	assert_int_equal(secmem_new(SECMEM_SLOT_MAX + 1, &m), -EINVAL);
	secmem_free(NULL);
}

static void test_slots(void **state)
{
	(void)state;
	enum { N = 3 * SECMEM_CHUNK_SLOTS + 5 };
	static uint8_t *p[N];
	struct secmem *m;

	assert_int_equal(secmem_new(40, &m), 0); /* rounded up to 48 */
	for (int i = 0; i < N; i++) {
		p[i] = secmem_get(m);
		assert_non_null(p[i]);
		assert_true(all_zero(p[i], 48));
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], 0xA5, 48); /* a slot overlapping another would show below */
	}
	assert_int_equal(secmem_used(m), N);
	assert_int_equal(secmem_chunks(m), 4);
	for (int i = 0; i < N; i++)
		for (int k = 0; k < 48; k++)
			assert_int_equal(p[i][k], 0xA5);

	/* a returned slot is wiped at once (its chunk stays: others are in use) */
	secmem_put(m, p[7]);
	assert_true(all_zero(p[7], 48));
	assert_int_equal(secmem_used(m), N - 1);
	p[7] = secmem_get(m); /* the free slot is taken again, no new chunk */
	assert_int_equal(secmem_chunks(m), 4);
	assert_true(all_zero(p[7], 48));

	/* after the burst the empty chunks go back, one stays */
	for (int i = 0; i < N; i++)
		secmem_put(m, p[i]);
	assert_int_equal(secmem_used(m), 0);
	assert_int_equal(secmem_chunks(m), 1);
	secmem_put(m, NULL);
	uint8_t *q = secmem_get(m);
	assert_non_null(q);
	secmem_free(m); /* with a slot still out: released all the same */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_sizes),
	    cmocka_unit_test(test_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

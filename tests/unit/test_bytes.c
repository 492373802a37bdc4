// SPDX-License-Identifier: GPL-3.0-or-later
/* test_bytes.c - reader/writer cursors, packet buffers, hex. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "meshvpn/bytes.h"

static void test_reader(void **state)
{
	(void)state;
	const uint8_t in[] = {1, 0x02, 0x03, 0xa0, 0xb0, 0xc0, 0xd0, 9, 8, 7, 6, 5, 4, 3, 2, 1};
	struct rd r;
	rd_init(&r, in, sizeof(in));
	assert_int_equal(rd_u8(&r), 1);
	assert_int_equal(rd_be16(&r), 0x0203);
	assert_int_equal(rd_be32(&r), 0xa0b0c0d0);
	assert_int_equal(rd_be64(&r), 0x0908070605040302ull);
	assert_int_equal(rd_left(&r), 1);
	assert_true(rd_ok(&r));
	/* short read: sticky error, zero results, no movement */
	assert_int_equal(rd_be16(&r), 0);
	assert_false(rd_ok(&r));
	assert_int_equal(r.err, -EBADMSG);
	assert_int_equal(rd_u8(&r), 0);
	assert_int_equal(rd_left(&r), 0);
}

static void test_sub(void **state)
{
	(void)state;
	const uint8_t in[] = {0xaa, 0xbb, 0xcc, 0xdd};
	struct rd r, s;
	rd_init(&r, in, sizeof(in));
	s = rd_sub(&r, 3);
	assert_true(rd_ok(&s));
	assert_int_equal(rd_left(&s), 3);
	assert_int_equal(rd_u8(&r), 0xdd);
	assert_int_equal(rd_be16(&s), 0xaabb);
	s = rd_sub(&r, 1);
	assert_false(rd_ok(&s));
	assert_false(rd_ok(&r));
}

static void test_writer(void **state)
{
	(void)state;
	uint8_t out[8];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	wr_u8(&w, 0x11);
	wr_be16(&w, 0x2233);
	wr_be32(&w, 0x44556677);
	assert_int_equal(w.len, 7);
	assert_true(wr_ok(&w));
	wr_be16(&w, 0x8899); /* overflow: nothing written */
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 7);
	const uint8_t want[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
	assert_memory_equal(out, want, sizeof(want));
}

static void test_buf(void **state)
{
	(void)state;
	uint8_t storage[32];
	struct buf b = {.base = storage, .size = sizeof(storage)};
	buf_reset(&b, 8);
	uint8_t *p = buf_put(&b, 10);
	assert_ptr_equal(p, storage + 8);
	assert_int_equal(buf_tailroom(&b), 14);
	assert_ptr_equal(buf_push(&b, 8), storage);
	assert_null(buf_push(&b, 1));
	assert_ptr_equal(buf_pull(&b, 8), storage + 8);
	assert_null(buf_put(&b, 15));
	assert_true(buf_trim(&b, 10));
	assert_false(buf_trim(&b, 1));
}

static void test_hex(void **state)
{
	(void)state;
	uint8_t v[3] = {0x00, 0xab, 0xff}, back[3];
	char s[7];
	hex_encode(s, v, 3);
	assert_string_equal(s, "00abff");
	assert_int_equal(hex_decode(back, 3, "00ABff"), 0);
	assert_memory_equal(back, v, 3);
	assert_int_equal(hex_decode(back, 3, "00abf"), -EINVAL);
	assert_int_equal(hex_decode(back, 3, "00abffa"), -EINVAL);
	assert_int_equal(hex_decode(back, 3, "00agff"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader), cmocka_unit_test(test_sub),
		cmocka_unit_test(test_writer), cmocka_unit_test(test_buf),
		cmocka_unit_test(test_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* test_payload.c - IP/Ethernet/802.1Q address extraction and group-address detection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/payload.h"

static void assert_vaddr(const struct vaddr *v, const uint8_t *b, uint8_t len)
{
	assert_int_equal(v->len, len);
	assert_memory_equal(v->b, b, len);
}

static void test_ipv4(void **state)
{
	(void)state;
	uint8_t pkt[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 1, 1, 10, 0, 2, 1};
	struct vaddr src, dst;

	assert_int_equal(payload_parse(PAYLOAD_IP, pkt, sizeof(pkt), &src, &dst), 0);
	assert_vaddr(&src, (const uint8_t[]){10, 0, 1, 1}, 4);
	assert_vaddr(&dst, (const uint8_t[]){10, 0, 2, 1}, 4);
	/* exactly the minimum; header length and options are not examined */
	pkt[0] = 0x4f;
	assert_int_equal(payload_parse(PAYLOAD_IP, pkt, 20, &src, &dst), 0);
	assert_vaddr(&dst, (const uint8_t[]){10, 0, 2, 1}, 4);
	for (size_t n = 0; n < 20; n++)
		assert_int_equal(payload_parse(PAYLOAD_IP, pkt, n, &src, &dst), -EBADMSG);
}

static void test_ipv6(void **state)
{
	(void)state;
	uint8_t pkt[40] = {0x60};
	struct vaddr src, dst;

	for (int i = 0; i < 16; i++) {
		pkt[8 + i] = (uint8_t)(0xa0 + i);
		pkt[24 + i] = (uint8_t)(0xb0 + i);
	}
	assert_int_equal(payload_parse(PAYLOAD_IP, pkt, sizeof(pkt), &src, &dst), 0);
	assert_vaddr(&src, pkt + 8, 16);
	assert_vaddr(&dst, pkt + 24, 16);
	for (size_t n = 0; n < 40; n++)
		assert_int_equal(payload_parse(PAYLOAD_IP, pkt, n, &src, &dst), -EBADMSG);
}

static void test_ip_bad_version(void **state)
{
	(void)state;
	uint8_t pkt[64] = {0};
	struct vaddr src, dst;

	for (int v = 0; v < 16; v++) {
		pkt[0] = (uint8_t)(v << 4);
		int want = (v == 4 || v == 6) ? 0 : -EBADMSG;
		assert_int_equal(payload_parse(PAYLOAD_IP, pkt, sizeof(pkt), &src, &dst), want);
	}
	assert_int_equal(payload_parse(PAYLOAD_IP, pkt, 0, &src, &dst), -EBADMSG);
	assert_int_equal(payload_parse(PAYLOAD_IP, NULL, 0, &src, &dst), -EBADMSG);
}

static const uint8_t mac_dst[6] = {6, 5, 4, 3, 2, 1};
static const uint8_t mac_src[6] = {1, 2, 3, 4, 5, 6};

static void test_ethernet(void **state)
{
	(void)state;
	const uint8_t frame[] = {6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 0x08, 0x00, 7, 8};
	struct vaddr src, dst;

	assert_int_equal(payload_parse(PAYLOAD_ETH, frame, sizeof(frame), &src, &dst), 0);
	assert_vaddr(&src, mac_src, 6);
	assert_vaddr(&dst, mac_dst, 6);
	assert_int_equal(payload_parse(PAYLOAD_ETH, frame, 14, &src, &dst), 0);
	for (size_t n = 0; n < 14; n++)
		assert_int_equal(payload_parse(PAYLOAD_ETH, frame, n, &src, &dst), -EBADMSG);
	/* a 0x88a8 outer tag is not interpreted */
	uint8_t qinq[18];
	memcpy(qinq, frame, 12);
	memcpy(qinq + 12, (const uint8_t[]){0x88, 0xa8, 0x00, 0x05, 0x81, 0x00}, 6);
	assert_int_equal(payload_parse(PAYLOAD_ETH, qinq, sizeof(qinq), &src, &dst), 0);
	assert_int_equal(src.len, 6);
}

static void test_vlan(void **state)
{
	(void)state;
	/* TCI 0x04d2: VLAN 1234; then the same with PCP 7 and DEI set (0xf4d2) */
	uint8_t frame[] = {6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 0x81, 0, 0x04, 0xd2, 8, 0};
	const uint8_t want_src[8] = {0x04, 0xd2, 1, 2, 3, 4, 5, 6};
	const uint8_t want_dst[8] = {0x04, 0xd2, 6, 5, 4, 3, 2, 1};
	struct vaddr src, dst;

	assert_int_equal(payload_parse(PAYLOAD_ETH, frame, sizeof(frame), &src, &dst), 0);
	assert_vaddr(&src, want_src, 8);
	assert_vaddr(&dst, want_dst, 8);
	frame[14] = 0xf4;
	assert_int_equal(payload_parse(PAYLOAD_ETH, frame, 16, &src, &dst), 0);
	assert_vaddr(&src, want_src, 8);
	assert_vaddr(&dst, want_dst, 8);
	/* 802.1Q needs the TCI */
	for (size_t n = 0; n < 16; n++)
		assert_int_equal(payload_parse(PAYLOAD_ETH, frame, n, &src, &dst), -EBADMSG);
}

static void test_vlan0_untagged(void **state)
{
	(void)state;
	/* priority-tagged (PCP 5, VLAN 0): untagged MACs, quirk #10 fixed */
	const uint8_t frame[] = {6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 0x81, 0, 0xa0, 0x00};
	struct vaddr src, dst;

	assert_int_equal(payload_parse(PAYLOAD_ETH, frame, sizeof(frame), &src, &dst), 0);
	assert_vaddr(&src, mac_src, 6);
	assert_vaddr(&dst, mac_dst, 6);
	/* VLAN 4095 (all id bits) stays tagged */
	const uint8_t f2[] = {6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 0x81, 0, 0x0f, 0xff};
	assert_int_equal(payload_parse(PAYLOAD_ETH, f2, sizeof(f2), &src, &dst), 0);
	assert_vaddr(&src, (const uint8_t[]){0x0f, 0xff, 1, 2, 3, 4, 5, 6}, 8);
}

static void test_group(void **state)
{
	(void)state;
	struct vaddr v;

	v = (struct vaddr){.len = 6, .b = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	assert_true(payload_is_group(&v));
	v = (struct vaddr){.len = 6, .b = {0x01, 0x00, 0x5e, 0, 0, 1}};
	assert_true(payload_is_group(&v));
	v = (struct vaddr){.len = 6, .b = {0x33, 0x33, 0, 0, 0, 1}};
	assert_true(payload_is_group(&v));
	v = (struct vaddr){.len = 6, .b = {0x02, 0, 0, 0, 0, 1}};
	assert_false(payload_is_group(&v));
	v = (struct vaddr){.len = 8, .b = {0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	assert_true(payload_is_group(&v));
	v = (struct vaddr){.len = 8, .b = {0x01, 0x01, 0x02, 0, 0, 0, 0, 1}};
	assert_false(payload_is_group(&v));
	v = (struct vaddr){.len = 4, .b = {224, 0, 0, 1}};
	assert_true(payload_is_group(&v));
	v = (struct vaddr){.len = 4, .b = {239, 255, 255, 250}};
	assert_true(payload_is_group(&v));
	v = (struct vaddr){.len = 4, .b = {255, 255, 255, 255}};
	assert_true(payload_is_group(&v));
	v = (struct vaddr){.len = 4, .b = {10, 0, 0, 255}};
	assert_false(payload_is_group(&v));
	v = (struct vaddr){.len = 4, .b = {240, 0, 0, 1}};
	assert_false(payload_is_group(&v));
	v = (struct vaddr){.len = 16, .b = {0xff, 0x02, [15] = 1}};
	assert_true(payload_is_group(&v));
	v = (struct vaddr){.len = 16, .b = {0xfe, 0x80, [15] = 1}};
	assert_false(payload_is_group(&v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),	    cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_ip_bad_version), cmocka_unit_test(test_ethernet),
		cmocka_unit_test(test_vlan),	    cmocka_unit_test(test_vlan0_untagged),
		cmocka_unit_test(test_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* test_table.c - forwarding table: LPM over claims, claim updates, cache, learning, expiry. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/bytes.h"
#include "meshvpn/table.h"

static struct range R(const char *s)
{
	struct range r;
	assert_int_equal(range_parse(s, &r), 0);
	return r;
}

static struct vaddr V(const char *s)
{
	struct vaddr v;
	assert_int_equal(vaddr_parse(s, &v), 0);
	return v;
}

static struct vaddr vlan(uint16_t id, const char *mac)
{
	struct vaddr m = V(mac), v = {.len = 8};
	put_be16(v.b, id);
	memcpy(v.b + 2, m.b, 6);
	return v;
}

static uint32_t look(struct table *t, const char *dst, int64_t now)
{
	struct vaddr v = V(dst);
	return table_lookup(t, &v, now);
}

static void set1(struct table *t, uint32_t peer, const char *range, int64_t now, int64_t exp)
{
	struct range r = R(range);
	assert_int_equal(table_set_claims(t, peer, &r, 1, now, exp), 0);
}

static bool cache_get(const struct table *t, const struct vaddr *a, struct table_cache_info *out)
{
	size_t pos = 0;
	while (table_cache_next(t, &pos, out))
		if (vaddr_equal(&out->addr, a))
			return true;
	return false;
}

static int64_t claim_expiry(const struct table *t, uint32_t peer, const char *range)
{
	struct range r = R(range);
	struct table_claim_info ci;
	size_t pos = 0;
	while (table_claim_next(t, &pos, &ci))
		if (ci.peer == peer && range_equal(&ci.range, &r))
			return ci.expiry;
	return -1;
}

static void test_mode_flags(void **state)
{
	(void)state;
	const unsigned LB = TABLE_LEARNING | TABLE_BROADCAST;
	assert_int_equal(table_mode_flags(TABLE_MODE_NORMAL, PAYLOAD_ETH), LB);
	assert_int_equal(table_mode_flags(TABLE_MODE_NORMAL, PAYLOAD_IP), 0);
	assert_int_equal(table_mode_flags(TABLE_MODE_ROUTER, PAYLOAD_ETH), 0);
	assert_int_equal(table_mode_flags(TABLE_MODE_ROUTER, PAYLOAD_IP), 0);
	assert_int_equal(table_mode_flags(TABLE_MODE_SWITCH, PAYLOAD_ETH), LB);
	assert_int_equal(table_mode_flags(TABLE_MODE_SWITCH, PAYLOAD_IP), LB);
	assert_int_equal(table_mode_flags(TABLE_MODE_FLOOD, PAYLOAD_ETH), TABLE_BROADCAST);
	assert_int_equal(table_mode_flags(TABLE_MODE_FLOOD, PAYLOAD_IP), TABLE_BROADCAST);
}

static void test_init_errors(void **state)
{
	(void)state;
	struct table t;
	assert_int_equal(table_init(&t, 0, 300, 0), -EINVAL);
	assert_int_equal(table_init(&t, 0, 300, (size_t)TABLE_MAX_CACHE_CAPACITY + 1), -EINVAL);
	table_free(&t);
	table_free(&t); /* twice is fine */
}

static void test_lpm_v4(void **state)
{
	(void)state;
	struct table t;
	assert_int_equal(table_init(&t, 0, 300, 64), 0);
	set1(&t, 1, "10.0.0.0/8", 0, 1000);
	set1(&t, 2, "10.1.0.0/16", 0, 1000);
	set1(&t, 3, "10.1.2.0/24", 0, 1000);
	/* same prefix length, different host bits: matches the same addresses, added later */
	set1(&t, 4, "10.1.2.128/24", 0, 1000);
	/* exactly the same range from another peer */
	set1(&t, 5, "10.1.2.0/24", 0, 1000);
	set1(&t, 6, "10.1.2.3/32", 0, 1000);
	assert_int_equal(table_claim_len(&t), 6);

	assert_int_equal(look(&t, "10.1.2.3", 1), 6);
	assert_int_equal(look(&t, "10.1.2.4", 1), 5); /* the latest among equals */
	assert_int_equal(look(&t, "10.1.3.1", 1), 2);
	assert_int_equal(look(&t, "10.200.0.1", 1), 1);
	assert_int_equal(look(&t, "11.0.0.1", 1), 0);
	assert_int_equal(look(&t, "2001:db8::1", 1), 0); /* other length */
	assert_int_equal(table_cache_len(&t), 4);	 /* misses are not cached */
	/* cached answers */
	assert_int_equal(look(&t, "10.1.2.4", 2), 5);
	assert_int_equal(look(&t, "10.1.2.3", 2), 6);

	/* peer 5 gone: the next equal claim (peer 4, inserted later than 3) takes over */
	table_remove_peer(&t, 5);
	assert_int_equal(table_claim_len(&t), 5);
	assert_int_equal(look(&t, "10.1.2.4", 3), 4);
	table_remove_peer(&t, 4);
	assert_int_equal(look(&t, "10.1.2.4", 3), 3);
	table_remove_peer(&t, 3);
	assert_int_equal(look(&t, "10.1.2.4", 3), 2);
	table_free(&t);
}

static void test_lpm_v6_mac_vlan(void **state)
{
	(void)state;
	struct table t;
	assert_int_equal(table_init(&t, 0, 300, 64), 0);
	set1(&t, 1, "2001:db8::/32", 0, 1000);
	set1(&t, 2, "2001:db8:1::/48", 0, 1000);
	set1(&t, 3, "::/0", 0, 1000);
	set1(&t, 4, "2001:db8:1::7/128", 0, 1000);
	set1(&t, 5, "2001:db8:1:ff80::/57", 0, 1000);
	assert_int_equal(look(&t, "2001:db8:1::5", 1), 2);
	assert_int_equal(look(&t, "2001:db8:1::7", 1), 4);
	assert_int_equal(look(&t, "2001:db8:2::", 1), 1);
	assert_int_equal(look(&t, "fe80::1", 1), 3);
	assert_int_equal(look(&t, "2001:db8:1:ffff::1", 1), 5);
	assert_int_equal(look(&t, "2001:db8:1:ff7f::1", 1), 2);
	assert_int_equal(look(&t, "10.0.0.1", 1), 0);

	set1(&t, 6, "02:00:00:00:00:01/48", 0, 1000);
	set1(&t, 7, "02:00:00:00:00:00/40", 0, 1000);
	assert_int_equal(look(&t, "02:00:00:00:00:01", 1), 6);
	assert_int_equal(look(&t, "02:00:00:00:00:02", 1), 7);
	assert_int_equal(look(&t, "02:00:00:00:01:02", 1), 0);

	struct range r = {.base = vlan(5, "02:00:00:00:00:00"), .prefix = 56};
	assert_int_equal(table_set_claims(&t, 8, &r, 1, 0, 1000), 0);
	struct vaddr a = vlan(5, "02:00:00:00:00:33");
	assert_int_equal(table_lookup(&t, &a, 1), 8);
	a = vlan(6, "02:00:00:00:00:33");
	assert_int_equal(table_lookup(&t, &a, 1), 0);
	/* the untagged MAC is a different address */
	assert_int_equal(look(&t, "02:00:00:00:00:33", 1), 7);
	table_free(&t);
}

static void test_claim_update(void **state)
{
	(void)state;
	struct table t;
	struct range rs[3] = {R("10.1.0.0/16"), R("10.2.0.0/16"), R("10.3.0.0/16")};

	assert_int_equal(table_init(&t, TABLE_LEARNING, 300, 64), 0);
	assert_int_equal(table_set_claims(&t, 1, rs, 3, 0, 100), 0);
	set1(&t, 2, "10.9.0.0/16", 0, 100);
	assert_int_equal(table_claim_len(&t), 4);
	/* duplicates in the list are held once */
	struct range dup[2] = {rs[0], rs[0]};
	assert_int_equal(table_set_claims(&t, 3, dup, 2, 0, 100), 0);
	assert_int_equal(table_claim_len(&t), 5);
	table_remove_peer(&t, 3);

	assert_int_equal(look(&t, "10.1.0.1", 1), 1);
	assert_int_equal(look(&t, "10.3.0.1", 1), 1);
	assert_int_equal(look(&t, "10.9.0.1", 1), 2);
	struct vaddr mac = V("02:00:00:00:00:01");
	table_learn(&t, &mac, 1, 1);
	assert_int_equal(table_cache_len(&t), 4);

	/* same set again: refresh only, nothing withdrawn, cache kept */
	assert_int_equal(table_set_claims(&t, 1, rs, 3, 10, 110), 0);
	assert_int_equal(claim_expiry(&t, 1, "10.1.0.0/16"), 110);
	assert_int_equal(claim_expiry(&t, 1, "10.3.0.0/16"), 110);
	assert_int_equal(claim_expiry(&t, 2, "10.9.0.0/16"), 100);
	assert_int_equal(table_cache_len(&t), 4);

	/* both later ranges withdrawn (2.3.0 would keep 10.3/16: quirk not copied) */
	assert_int_equal(table_set_claims(&t, 1, rs, 1, 20, 120), 0);
	assert_int_equal(table_claim_len(&t), 2);
	assert_int_equal(claim_expiry(&t, 1, "10.1.0.0/16"), 120);
	assert_int_equal(claim_expiry(&t, 1, "10.2.0.0/16"), -1);
	assert_int_equal(claim_expiry(&t, 1, "10.3.0.0/16"), -1);
	/* every cache entry of peer 1 dropped, learned ones too; peer 2's kept */
	assert_int_equal(table_cache_len(&t), 1);
	assert_int_equal(look(&t, "10.3.0.1", 21), 0);
	assert_int_equal(look(&t, "10.1.0.1", 21), 1);

	/* an added range: kept order, new ranges appended after the existing one */
	struct range rs2[2] = {R("10.4.0.0/16"), R("10.1.0.0/16")};
	assert_int_equal(table_set_claims(&t, 1, rs2, 2, 30, 130), 0);
	struct table_claim_info ci;
	size_t pos = 0;
	assert_true(table_claim_next(&t, &pos, &ci));
	assert_true(range_equal(&ci.range, &rs[0]));
	assert_int_equal(ci.peer, 1);
	assert_int_equal(ci.expiry, 130);
	assert_true(table_claim_next(&t, &pos, &ci));
	assert_int_equal(ci.peer, 2);
	assert_true(table_claim_next(&t, &pos, &ci));
	assert_true(range_equal(&ci.range, &rs2[0]));
	assert_false(table_claim_next(&t, &pos, &ci));

	/* an empty list withdraws everything */
	assert_int_equal(table_set_claims(&t, 1, NULL, 0, 40, 140), 0);
	assert_int_equal(table_claim_len(&t), 1);
	assert_int_equal(look(&t, "10.1.0.1", 41), 0);
	table_free(&t);
}

static void test_claim_errors(void **state)
{
	(void)state;
	struct table t;
	struct range bad = {.base = {.len = 17}, .prefix = 8};
	struct range ok[2] = {R("10.0.0.0/8"), bad};

	assert_int_equal(table_init(&t, 0, 300, 16), 0);
	set1(&t, 1, "10.0.0.0/8", 0, 100);
	assert_int_equal(table_set_claims(&t, 0, ok, 1, 0, 100), -EINVAL);
	assert_int_equal(table_set_claims(&t, 1, ok, 2, 0, 100), -EINVAL);
	assert_int_equal(table_claim_len(&t), 1);
	assert_int_equal(claim_expiry(&t, 1, "10.0.0.0/8"), 100);
	/* a prefix longer than the address is held (and listed) but never matches */
	struct range odd = {.base = V("10.0.0.1"), .prefix = 40};
	assert_int_equal(table_set_claims(&t, 2, &odd, 1, 0, 100), 0);
	assert_int_equal(table_claim_len(&t), 2);
	assert_int_equal(look(&t, "10.0.0.1", 1), 1);
	table_free(&t);
}

static void test_new_claim_overrides_cache(void **state)
{
	(void)state;
	struct table t;
	assert_int_equal(table_init(&t, TABLE_LEARNING, 300, 16), 0);
	set1(&t, 1, "10.0.0.0/8", 0, 1000);
	assert_int_equal(look(&t, "10.1.1.1", 1), 1);
	assert_int_equal(look(&t, "10.2.2.2", 1), 1);
	struct vaddr l = V("10.1.1.2");
	table_learn(&t, &l, 1, 1);
	assert_int_equal(table_cache_len(&t), 3);
	set1(&t, 2, "10.1.0.0/16", 2, 1000);
	/* the lookup result under the new range went, the other one and the learned stay */
	assert_int_equal(table_cache_len(&t), 2);
	assert_int_equal(look(&t, "10.1.1.1", 3), 2);
	assert_int_equal(look(&t, "10.2.2.2", 3), 1);
	assert_int_equal(table_lookup(&t, &l, 3), 1);
	table_free(&t);
}

/*
 * A node restarts at another address (new port, new NAT mapping) before its old session
 * times out: its new session claims the same range and gets the traffic at once, and keeps it
 * when the old session's claim is refreshed; when the new session goes, the old one is used.
 */
static void test_restarted_node_takes_over(void **state)
{
	(void)state;
	struct table t;
	assert_int_equal(table_init(&t, 0, 300, 16), 0);
	set1(&t, 1, "10.20.0.4/32", 0, 300);
	assert_int_equal(look(&t, "10.20.0.4", 1), 1);
	set1(&t, 2, "10.20.0.4/32", 10, 310);
	assert_int_equal(look(&t, "10.20.0.4", 11), 2);
	set1(&t, 1, "10.20.0.4/32", 20, 320);
	assert_int_equal(look(&t, "10.20.0.4", 21), 2);
	table_remove_peer(&t, 2);
	assert_int_equal(look(&t, "10.20.0.4", 22), 1);
	table_free(&t);
}

static void test_expiry(void **state)
{
	(void)state;
	struct table t;
	struct table_cache_info ci;
	struct vaddr d = V("10.0.0.1");

	assert_int_equal(table_init(&t, 0, 300, 16), 0);
	set1(&t, 1, "10.0.0.0/24", 0, 100);
	assert_int_equal(table_lookup(&t, &d, 50), 1);
	assert_true(cache_get(&t, &d, &ci));
	assert_int_equal(ci.expiry, 100); /* min(50 + 300, claim expiry) */
	assert_false(ci.learned);
	table_housekeep(&t, 100); /* still valid at its expiry second */
	assert_int_equal(table_claim_len(&t), 1);
	assert_int_equal(table_cache_len(&t), 1);
	assert_int_equal(table_lookup(&t, &d, 100), 1);
	/* expired but not purged yet: not used */
	assert_int_equal(table_lookup(&t, &d, 101), 0);
	assert_int_equal(table_cache_len(&t), 0);
	table_housekeep(&t, 101);
	assert_int_equal(table_claim_len(&t), 0);

	/* short switch timeout bounds the cache entry instead */
	table_free(&t);
	assert_int_equal(table_init(&t, 0, 10, 16), 0);
	set1(&t, 1, "10.0.0.0/24", 0, 100);
	assert_int_equal(table_lookup(&t, &d, 5), 1);
	assert_true(cache_get(&t, &d, &ci));
	assert_int_equal(ci.expiry, 15);
	table_housekeep(&t, 16);
	assert_int_equal(table_cache_len(&t), 0);
	assert_int_equal(table_claim_len(&t), 1);
	/* set_claims purges what has expired, too */
	set1(&t, 2, "10.9.0.0/24", 200, 500);
	assert_int_equal(table_claim_len(&t), 1);
	table_free(&t);
}

static void test_learning(void **state)
{
	(void)state;
	struct table t;
	struct table_cache_info ci;
	struct vaddr m = V("02:00:00:00:00:0a");

	assert_int_equal(table_init(&t, table_mode_flags(TABLE_MODE_SWITCH, PAYLOAD_ETH), 300, 16),
			 0);
	table_learn(&t, &m, 7, 0);
	assert_true(cache_get(&t, &m, &ci));
	assert_true(ci.learned);
	assert_int_equal(ci.expiry, 300);
	assert_int_equal(table_lookup(&t, &m, 0), 7);
	assert_int_equal(table_lookup(&t, &m, 300), 7);
	assert_int_equal(table_lookup(&t, &m, 301), 0);
	/* refreshed by every frame, and a MAC moving to another peer follows it */
	table_learn(&t, &m, 7, 200);
	assert_int_equal(table_lookup(&t, &m, 400), 7);
	table_learn(&t, &m, 8, 401);
	assert_int_equal(table_lookup(&t, &m, 402), 8);
	assert_int_equal(table_cache_len(&t), 1);
	table_housekeep(&t, 701);
	assert_int_equal(table_cache_len(&t), 1);
	table_housekeep(&t, 702);
	assert_int_equal(table_cache_len(&t), 0);
	/* peer 0 is never learned */
	table_learn(&t, &m, 0, 800);
	assert_int_equal(table_cache_len(&t), 0);
	table_free(&t);

	/* no learning in router and hub mode */
	assert_int_equal(table_init(&t, table_mode_flags(TABLE_MODE_FLOOD, PAYLOAD_ETH), 300, 16), 0);
	table_learn(&t, &m, 7, 0);
	assert_int_equal(table_cache_len(&t), 0);
	assert_int_equal(table_lookup(&t, &m, 0), 0);
	table_free(&t);
}

static void test_group_never_cached(void **state)
{
	(void)state;
	struct table t;
	const char *groups[] = {"ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "33:33:00:00:00:01"};

	assert_int_equal(table_init(&t, TABLE_LEARNING | TABLE_BROADCAST, 300, 16), 0);
	for (size_t i = 0; i < 3; i++) {
		struct vaddr g = V(groups[i]);
		table_learn(&t, &g, 7, 0);
		assert_int_equal(table_lookup(&t, &g, 0), 0);
	}
	struct vaddr vg = vlan(5, "ff:ff:ff:ff:ff:ff");
	table_learn(&t, &vg, 7, 0);
	assert_int_equal(table_lookup(&t, &vg, 0), 0);
	assert_int_equal(table_cache_len(&t), 0);
	/* a claim covering a group address is honoured but its result is not cached */
	set1(&t, 9, "ff:ff:ff:ff:ff:ff/48", 0, 100);
	assert_int_equal(look(&t, "ff:ff:ff:ff:ff:ff", 1), 9);
	assert_int_equal(table_cache_len(&t), 0);
	table_remove_peer(&t, 9);
	assert_int_equal(look(&t, "ff:ff:ff:ff:ff:ff", 1), 0);
	/* IP multicast likewise */
	set1(&t, 3, "224.0.0.0/4", 0, 100);
	assert_int_equal(look(&t, "224.0.0.251", 1), 3);
	assert_int_equal(table_cache_len(&t), 0);
	table_free(&t);
}

static struct vaddr mac_n(unsigned n)
{
	struct vaddr v = {.len = 6, .b = {0x02, 0, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
					  (uint8_t)(n >> 8), (uint8_t)n}};
	return v;
}

static void test_capacity(void **state)
{
	(void)state;
	struct table t;

	assert_int_equal(table_init(&t, TABLE_LEARNING, 300, 4), 0);
	for (unsigned i = 0; i < 4; i++) {
		struct vaddr m = mac_n(i);
		table_learn(&t, &m, 1 + i, i);
	}
	assert_int_equal(table_cache_len(&t), 4);
	/* full: the entry expiring first (the oldest) makes room */
	struct vaddr m4 = mac_n(4), m0 = mac_n(0), m1 = mac_n(1);
	table_learn(&t, &m4, 5, 10);
	assert_int_equal(table_cache_len(&t), 4);
	assert_int_equal(table_lookup(&t, &m4, 10), 5);
	assert_int_equal(table_lookup(&t, &m0, 10), 0);
	assert_int_equal(table_lookup(&t, &m1, 10), 2);
	/* refreshing m1 makes m2 the oldest */
	table_learn(&t, &m1, 2, 11);
	struct vaddr m5 = mac_n(5), m2 = mac_n(2);
	table_learn(&t, &m5, 6, 12);
	assert_int_equal(table_lookup(&t, &m2, 12), 0);
	assert_int_equal(table_lookup(&t, &m1, 12), 2);
	/* lookup results compete for the same room */
	set1(&t, 9, "10.0.0.0/8", 12, 1000);
	assert_int_equal(look(&t, "10.0.0.1", 13), 9);
	assert_int_equal(table_cache_len(&t), 4);
	table_free(&t);
}

/* Every listed cache entry must be reachable by lookup (probe chains intact). */
static void check_cache_consistent(struct table *t, int64_t now)
{
	struct table_cache_info ci;
	size_t pos = 0, n = 0;
	while (table_cache_next(t, &pos, &ci)) {
		n++;
		assert_int_equal(table_lookup(t, &ci.addr, now), ci.peer);
	}
	assert_int_equal(n, table_cache_len(t));
}

static void test_capacity_churn(void **state)
{
	(void)state;
	struct table t;
	enum { CAP = 1000, N = 20000 };

	assert_int_equal(table_init(&t, TABLE_LEARNING, 300, CAP), 0);
	for (unsigned i = 0; i < N; i++) {
		struct vaddr m = mac_n(i);
		table_learn(&t, &m, 1 + i % 50, i / 100);
		assert_true(table_cache_len(&t) <= CAP);
		assert_int_equal(table_lookup(&t, &m, i / 100), 1 + i % 50);
		if (i % 997 == 0)
			table_remove_peer(&t, 1 + i % 50);
		if (i % 100 == 99)
			table_housekeep(&t, i / 100); /* the node's tick: grows the cache */
	}
	assert_true(table_cache_len(&t) >= CAP - 50);
	check_cache_consistent(&t, N / 100);
	table_housekeep(&t, N / 100 + 250);
	check_cache_consistent(&t, N / 100 + 250);
	table_housekeep(&t, 10000);
	assert_int_equal(table_cache_len(&t), 0);
	table_free(&t);
}

/*
 * The cache starts at 256 slots (128 entries, evicting beyond) and doubles in
 * table_housekeep() while more than half of that is used, up to the capacity; the entries
 * survive each move.
 */
static void test_cache_growth(void **state)
{
	(void)state;
	struct table t;
	enum { CAP = 1000 };

	assert_int_equal(table_init(&t, TABLE_LEARNING, 300, CAP), 0);
	assert_int_equal(t.cache_mask + 1, 256);
	assert_int_equal(t.cache_slots_max, 2048);
	for (unsigned i = 0; i < 200; i++) {
		struct vaddr m = mac_n(i);
		table_learn(&t, &m, 1 + i % 7, 0);
	}
	assert_int_equal(table_cache_len(&t), 128); /* the rest evicted */
	check_cache_consistent(&t, 0);
	/* a quarter used: no growth */
	struct table q;
	assert_int_equal(table_init(&q, TABLE_LEARNING, 300, CAP), 0);
	for (unsigned i = 0; i < 64; i++) {
		struct vaddr m = mac_n(i);
		table_learn(&q, &m, 1, 0);
	}
	table_housekeep(&q, 0);
	assert_int_equal(q.cache_mask + 1, 256);
	table_free(&q);
	/* each tick doubles it while it is more than half full, up to 2 * CAP rounded up */
	size_t want[] = { 512, 1024, 2048, 2048 };
	for (size_t k = 0; k < ARRAY_SIZE(want); k++) {
		table_housekeep(&t, 0);
		assert_int_equal(t.cache_mask + 1, want[k]);
		check_cache_consistent(&t, 0);
		for (unsigned i = 0; i < 2000; i++) {
			struct vaddr m = mac_n(i);
			table_learn(&t, &m, 1 + i % 7, 0);
		}
		assert_int_equal(table_cache_len(&t), MIN((size_t)CAP, want[k] / 2));
		check_cache_consistent(&t, 0);
	}
	table_free(&t);
}

static void test_remove_peer(void **state)
{
	(void)state;
	struct table t;
	struct vaddr m1 = V("02:00:00:00:00:01"), m2 = V("02:00:00:00:00:02");

	assert_int_equal(table_init(&t, TABLE_LEARNING, 300, 16), 0);
	set1(&t, 1, "10.1.0.0/16", 0, 100);
	set1(&t, 2, "10.2.0.0/16", 0, 100);
	table_learn(&t, &m1, 1, 0);
	table_learn(&t, &m2, 2, 0);
	assert_int_equal(look(&t, "10.1.0.1", 0), 1);
	assert_int_equal(look(&t, "10.2.0.1", 0), 2);
	assert_int_equal(table_cache_len(&t), 4);
	table_remove_peer(&t, 1);
	assert_int_equal(table_claim_len(&t), 1);
	assert_int_equal(table_cache_len(&t), 2);
	assert_int_equal(table_lookup(&t, &m1, 0), 0);
	assert_int_equal(table_lookup(&t, &m2, 0), 2);
	assert_int_equal(look(&t, "10.1.0.1", 0), 0);
	assert_int_equal(look(&t, "10.2.0.1", 0), 2);
	table_remove_peer(&t, 0); /* no-op */
	table_remove_peer(&t, 77);
	assert_int_equal(table_claim_len(&t), 1);
	table_free(&t);
}

/* Linear reference: longest prefix, latest listed among equals. */
static uint32_t brute(const struct table *t, const struct vaddr *a, int64_t now)
{
	struct table_claim_info ci;
	size_t pos = 0;
	int best = -1;
	uint32_t peer = 0;
	while (table_claim_next(t, &pos, &ci)) {
		if (ci.expiry >= now && range_match(&ci.range, a) && ci.range.prefix >= best) {
			best = ci.range.prefix;
			peer = ci.peer;
		}
	}
	return peer;
}

static void rand_vaddr(struct vaddr *v, unsigned *seed)
{
	static const uint8_t lens[] = {4, 6, 8, 16};
	v->len = lens[rand_r(seed) % 4];
	memset(v->b, 0, sizeof(v->b));
	/* a small alphabet so that ranges overlap a lot */
	for (unsigned i = 0; i < v->len; i++)
		v->b[i] = (uint8_t)(rand_r(seed) % 4 ? 0x0a : rand_r(seed) & 0xff);
}

static void test_many_claims_vs_linear(void **state)
{
	(void)state;
	struct table t;
	unsigned seed = 12345;
	enum { PEERS = 40, PER_PEER = 12 };
	struct range rs[PER_PEER];

	assert_int_equal(table_init(&t, 0, 300, 256), 0);
	for (int round = 0; round < 30; round++) {
		int64_t now = round * 10;
		for (uint32_t p = 1; p <= PEERS; p++) {
			if (rand_r(&seed) % 3)
				continue;
			size_t n = (size_t)rand_r(&seed) % PER_PEER;
			for (size_t i = 0; i < n; i++) {
				rand_vaddr(&rs[i].base, &seed);
				rs[i].prefix = (uint8_t)(rand_r(&seed) % (8 * rs[i].base.len + 1));
			}
			assert_int_equal(
				table_set_claims(&t, p, rs, n, now, now + 5 + rand_r(&seed) % 40), 0);
		}
		if (round % 7 == 6)
			table_remove_peer(&t, 1 + (uint32_t)rand_r(&seed) % PEERS);
		if (round % 5 == 4)
			table_housekeep(&t, now);
		for (int q = 0; q < 300; q++) {
			struct vaddr a;
			rand_vaddr(&a, &seed);
			uint32_t want = brute(&t, &a, now);
			assert_int_equal(table_lookup(&t, &a, now), want);
			/* and again from the cache */
			assert_int_equal(table_lookup(&t, &a, now), want);
		}
	}
	assert_true(table_claim_len(&t) > 50);
	table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_flags),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_lpm_v4),
		cmocka_unit_test(test_lpm_v6_mac_vlan),
		cmocka_unit_test(test_claim_update),
		cmocka_unit_test(test_claim_errors),
		cmocka_unit_test(test_new_claim_overrides_cache),
		cmocka_unit_test(test_restarted_node_takes_over),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_learning),
		cmocka_unit_test(test_group_never_cached),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_capacity_churn), cmocka_unit_test(test_cache_growth),
		cmocka_unit_test(test_remove_peer),
		cmocka_unit_test(test_many_claims_vs_linear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_stats.c - traffic counters, the pair table (probing, overflow, idle removal), the
 * stats file text (PROTOCOL.md 5.12) and statsd lines (5.13), byte for byte.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "meshvpn/bytes.h"
#include "meshvpn/stats.h"

#define N (s->pairs_cap)
#define WINDOW 16 /* stats_payload() probes at most this many slots */

static struct addr A(const char *s)
{
	struct addr a;
	assert_int_equal(addr_parse(s, ADDR_DEFAULT_PORT, &a), 0);
	return a;
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

static struct vaddr v4(uint32_t x)
{
	struct vaddr v = {.len = 4};
	put_be32(v.b, x);
	return v;
}

static void init_fixed(struct stats *s)
{
	assert_int_equal(stats_init(s), 0);
	/* a fixed hash key so that slot positions are reproducible */
	for (unsigned i = 0; i < sizeof(s->key); i++)
		s->key[i] = (uint8_t)(0xa0 + i);
}

/* The home slot of a pair: the same keyed hash as stats.c (checked by test_home_slot). */
static size_t home(const struct stats *s, const struct vaddr *r, const struct vaddr *l)
{
	uint8_t in[2 * (VADDR_MAX + 1)], out[crypto_shorthash_BYTES];
	size_t n = 0;

	in[n++] = r->len;
	memcpy(in + n, r->b, r->len);
	n += r->len;
	in[n++] = l->len;
	memcpy(in + n, l->b, l->len);
	n += l->len;
	crypto_shorthash(out, in, n, s->key);
	return get_be32(out) % N;
}

static const struct vaddr LOCAL = {.len = 4, .b = {192, 168, 0, 1}};

/* Fills out[0..count) with remote addresses whose pair with LOCAL has home slot h. */
static void find_home(const struct stats *s, size_t h, struct vaddr *out, size_t count,
		      uint32_t *cursor)
{
	size_t got = 0;
	while (got < count) {
		struct vaddr r = v4(0x0a000000u + (*cursor)++);
		if (home(s, &r, &LOCAL) == h)
			out[got++] = r;
	}
}

static struct stats_pair *find_pair(struct stats *s, const struct vaddr *r, const struct vaddr *l)
{
	struct stats_pair *found = NULL;
	for (size_t i = 0; i < N; i++) {
		struct stats_pair *p = &s->pairs[i];
		if (p->used && vaddr_equal(&p->remote, r) && vaddr_equal(&p->local, l)) {
			assert_null(found); /* never two entries for one pair */
			found = p;
		}
	}
	return found;
}

static size_t slot_of(struct stats *s, const struct vaddr *r, const struct vaddr *l)
{
	struct stats_pair *p = find_pair(s, r, l);
	assert_non_null(p);
	return (size_t)(p - s->pairs);
}

/* Linear-probing invariant: every entry within WINDOW of its home, no gap in between. */
static void check_table(struct stats *s)
{
	size_t used = 0;
	for (size_t j = 0; j < N; j++) {
		struct stats_pair *p = &s->pairs[j];
		if (!p->used)
			continue;
		used++;
		size_t h = home(s, &p->remote, &p->local);
		size_t disp = (j + N - h) % N;
		if (disp >= WINDOW)
			fail_msg("slot %zu: entry with home %zu is %zu slots away", j, h, disp);
		for (size_t k = h; k != j; k = (k + 1) % N)
			if (!s->pairs[k].used)
				fail_msg("slot %zu: gap at %zu after home %zu", j, k, h);
	}
	assert_int_equal(used, s->n_pairs);
}

/* ---- stats_format_rate: VpnCloud's Bytes display ---- */

static void test_format_rate(void **state)
{
	static const struct {
		uint64_t v;
		const char *want;
	} cases[] = {
		{0, "0 B"},
		{1, "1 B"},
		{511, "511 B"},
		{512, "0.5 KiB"},
		{768, "0.8 KiB"}, /* 0.75: ties round to even, as Rust's {:.1} and printf */
		{1023, "1.0 KiB"},
		{1024, "1.0 KiB"},
		{1280, "1.2 KiB"}, /* 1.25 -> 1.2 */
		{1792, "1.8 KiB"}, /* 1.75 -> 1.8 */
		{2304, "2.2 KiB"}, /* 2.25 -> 2.2 */
		{524287, "512.0 KiB"}, /* 511.999 KiB: still below 512 */
		{524288, "0.5 MiB"},
		{1023 * 1024, "1.0 MiB"},
		{1024 * 1024, "1.0 MiB"},
		{1536 * 1024, "1.5 MiB"},
		{(512ull << 20) - 1, "0.5 GiB"}, /* as f32 this is 512 MiB exactly */
		{512ull << 20, "0.5 GiB"},
		{1ull << 30, "1.0 GiB"},
		{(512ull << 30) - 1, "0.5 TiB"}, /* f32 rounds it up to 512 GiB */
		{512ull << 30, "0.5 TiB"},
		{1ull << 40, "1.0 TiB"},
		{1023ull << 40, "1023.0 TiB"},
		{1ull << 50, "1024.0 TiB"}, /* no unit above TiB */
		{UINT64_MAX, "16777216.0 TiB"},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = stats_format_rate(cases[i].v, buf);
		assert_ptr_equal(got, buf);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%llu: got \"%s\", want \"%s\"", (unsigned long long)cases[i].v, got,
				 cases[i].want);
	}
}

/* ---- stats_traffic_roll ---- */

static void test_traffic_roll(void **state)
{
	struct stats_traffic t = {0};

	(void)state;
	stats_count(&t.in, 100);
	stats_count(&t.in, 50);
	stats_count(&t.out, 7);
	assert_int_equal(t.in.bytes, 150);
	assert_int_equal(t.in.packets, 2);
	stats_traffic_roll(&t);
	assert_int_equal(t.in.bytes, 0);
	assert_int_equal(t.in.packets, 0);
	assert_int_equal(t.out.bytes, 0);
	assert_int_equal(t.out.packets, 0);
	assert_int_equal(t.in_total.bytes, 150);
	assert_int_equal(t.in_total.packets, 2);
	assert_int_equal(t.out_total.bytes, 7);
	assert_int_equal(t.out_total.packets, 1);
	assert_int_equal(t.idle_periods, 0);

	/* only outbound traffic is activity too */
	stats_count(&t.out, 3);
	stats_traffic_roll(&t);
	assert_int_equal(t.idle_periods, 0);
	assert_int_equal(t.out_total.bytes, 10);
	assert_int_equal(t.out_total.packets, 2);

	stats_traffic_roll(&t);
	stats_traffic_roll(&t);
	assert_int_equal(t.idle_periods, 2);
	assert_int_equal(t.in_total.bytes, 150);
	/* a zero-byte packet still counts as activity */
	stats_count(&t.in, 0);
	stats_traffic_roll(&t);
	assert_int_equal(t.idle_periods, 0);
	assert_int_equal(t.in_total.packets, 3);
	assert_int_equal(t.in_total.bytes, 150);
}

/* ---- the pair table ---- */

static void test_home_slot(void **state)
{
	struct stats s;
	struct vaddr r = V("10.9.8.7");

	(void)state;
	init_fixed(&s);
	stats_payload(&s, &r, &LOCAL, true, 10);
	assert_int_equal(s.n_pairs, 1);
	assert_int_equal(slot_of(&s, &r, &LOCAL), home(&s, &r, &LOCAL));
	stats_free(&s);
}

static void test_payload_counting(void **state)
{
	struct stats s;
	struct vaddr a = V("10.0.0.2"), b = V("10.0.0.1"), c = V("fd00::2");
	struct vaddr m = V("02:00:00:00:00:02"), m7 = vlan(7, "02:00:00:00:00:02");

	(void)state;
	assert_int_equal(stats_init(&s), 0);
	stats_payload(&s, &a, &b, true, 100);
	stats_payload(&s, &a, &b, true, 20);
	stats_payload(&s, &a, &b, false, 5);
	/* (remote, local) is ordered: the reverse pair is another entry */
	stats_payload(&s, &b, &a, false, 1);
	stats_payload(&s, &c, &b, false, 40);
	/* a MAC and the same MAC in VLAN 7 are different addresses */
	stats_payload(&s, &m, &m, true, 60);
	stats_payload(&s, &m7, &m, true, 70);
	assert_int_equal(s.n_pairs, 5);
	assert_int_equal(s.pairs_overflow, 0);

	struct stats_pair *p = find_pair(&s, &a, &b);
	assert_non_null(p);
	assert_int_equal(p->t.in.bytes, 120);
	assert_int_equal(p->t.in.packets, 2);
	assert_int_equal(p->t.out.bytes, 5);
	assert_int_equal(p->t.out.packets, 1);
	p = find_pair(&s, &b, &a);
	assert_non_null(p);
	assert_int_equal(p->t.in.packets, 0);
	assert_int_equal(p->t.out.bytes, 1);
	assert_int_equal(find_pair(&s, &c, &b)->t.out.bytes, 40);
	assert_int_equal(find_pair(&s, &m, &m)->t.in.bytes, 60);
	assert_int_equal(find_pair(&s, &m7, &m)->t.in.bytes, 70);
	assert_null(find_pair(&s, &a, &c));
	stats_free(&s);
}

static void test_payload_collisions(void **state)
{
	struct stats s;
	struct vaddr same[WINDOW + 1], later;
	uint32_t cursor = 1;
	const size_t h = 100;

	(void)state;
	init_fixed(&s);
	find_home(&s, h, same, WINDOW + 1, &cursor);
	/* colliding pairs take consecutive slots and keep separate counters */
	for (size_t i = 0; i < WINDOW; i++) {
		for (size_t k = 0; k <= i; k++)
			stats_payload(&s, &same[i], &LOCAL, true, 10);
		assert_int_equal(slot_of(&s, &same[i], &LOCAL), h + i);
	}
	assert_int_equal(s.n_pairs, WINDOW);
	for (size_t i = 0; i < WINDOW; i++)
		assert_int_equal(find_pair(&s, &same[i], &LOCAL)->t.in.packets, i + 1);
	assert_int_equal(s.pairs_overflow, 0);

	/* the neighbourhood is full: the 17th pair is counted as overflow, not stored */
	stats_payload(&s, &same[WINDOW], &LOCAL, true, 10);
	stats_payload(&s, &same[WINDOW], &LOCAL, false, 10);
	assert_int_equal(s.pairs_overflow, 2);
	assert_int_equal(s.n_pairs, WINDOW);
	assert_null(find_pair(&s, &same[WINDOW], &LOCAL));
	/* known pairs are still found and counted */
	stats_payload(&s, &same[WINDOW - 1], &LOCAL, true, 10);
	assert_int_equal(find_pair(&s, &same[WINDOW - 1], &LOCAL)->t.in.packets, WINDOW + 1);
	assert_int_equal(s.pairs_overflow, 2);

	/* a pair at home h + 8 probes h+8 .. h+23 and lands on the first free slot */
	find_home(&s, h + 8, &later, 1, &cursor);
	stats_payload(&s, &later, &LOCAL, true, 1);
	assert_int_equal(slot_of(&s, &later, &LOCAL), h + WINDOW);
	check_table(&s);

	/* overflowed traffic is not in the payload totals */
	char buf[4096];
	struct stats_view v = {.stats = &s};
	assert_true(stats_statsd(buf, sizeof(buf), "x", &v) > 0);
	assert_non_null(strstr(buf, "x.traffic.payload.inbound.packets:138|c\n"));
	stats_free(&s);
}

/*
 * The table starts small and doubles in stats_tick() once more than half full, keeping every
 * pair and its counters, up to STATS_PAIRS slots and no further.
 */
static void test_payload_growth(void **state)
{
	struct stats s;
	uint32_t x = 1;

	(void)state;
	init_fixed(&s);
	assert_int_equal(s.pairs_cap, STATS_PAIRS_MIN);
	stats_tick(&s); /* empty: stays */
	assert_int_equal(s.pairs_cap, STATS_PAIRS_MIN);
	size_t cap = STATS_PAIRS_MIN;
	while (cap < STATS_PAIRS) {
		/* fill to just over half; every new pair is either stored or counted as overflow */
		while (s.n_pairs * 2 <= s.pairs_cap) {
			struct vaddr r = v4(0x0a000000u + x);
			uint64_t before = s.pairs_overflow;
			stats_payload(&s, &r, &LOCAL, true, x);
			assert_true(s.pairs_overflow == before || s.pairs_overflow == before + 1);
			x++;
		}
		size_t had = s.n_pairs;
		stats_tick(&s);
		cap *= 2;
		assert_int_equal(s.pairs_cap, cap);
		assert_int_equal(s.n_pairs, had);
		check_table(&s);
	}
	/* every pair stored before the growths is found in its new place with its bytes */
	size_t found = 0;
	for (uint32_t i = 1; i < x; i++) {
		struct vaddr r = v4(0x0a000000u + i);
		struct stats_pair *p = find_pair(&s, &r, &LOCAL);
		if (p) {
			assert_int_equal(p->t.in.bytes, i);
			found++;
		}
	}
	assert_int_equal(found, s.n_pairs);
	assert_true(s.n_pairs + s.pairs_overflow == x - 1);
	/* full size: no further growth, however full */
	while (s.n_pairs * 2 <= s.pairs_cap) {
		struct vaddr r = v4(0x0a000000u + x++);
		stats_payload(&s, &r, &LOCAL, true, 1);
	}
	stats_tick(&s);
	assert_int_equal(s.pairs_cap, STATS_PAIRS);
	check_table(&s);
	stats_free(&s);
}

static void test_roll_idle_removal(void **state)
{
	struct stats s;
	struct vaddr a = V("10.0.0.2"), b = V("10.0.0.3"), l = V("10.0.0.1");

	(void)state;
	assert_int_equal(stats_init(&s), 0);
	stats_payload(&s, &a, &l, true, 10);
	stats_payload(&s, &b, &l, false, 20);
	stats_roll(&s); /* period with traffic */
	assert_int_equal(s.n_pairs, 2);
	struct stats_pair *p = find_pair(&s, &a, &l);
	assert_int_equal(p->t.in.bytes, 0);
	assert_int_equal(p->t.in_total.bytes, 10);
	assert_int_equal(p->t.idle_periods, 0);

	/* b stays active, a goes idle: a survives 4 idle periods and goes with the 5th */
	for (int k = 1; k <= STATS_IDLE_PERIODS; k++) {
		stats_payload(&s, &b, &l, false, 1);
		stats_roll(&s);
		if (k < STATS_IDLE_PERIODS) {
			assert_int_equal(s.n_pairs, 2);
			assert_int_equal(find_pair(&s, &a, &l)->t.idle_periods, k);
		}
	}
	assert_int_equal(s.n_pairs, 1);
	assert_null(find_pair(&s, &a, &l));
	p = find_pair(&s, &b, &l);
	assert_non_null(p);
	assert_int_equal(p->t.out_total.bytes, 20 + STATS_IDLE_PERIODS);
	assert_int_equal(p->t.out_total.packets, 1 + STATS_IDLE_PERIODS);

	/* a comes back as a fresh entry */
	stats_payload(&s, &a, &l, true, 3);
	p = find_pair(&s, &a, &l);
	assert_int_equal(p->t.in.bytes, 3);
	assert_int_equal(p->t.in_total.bytes, 0);
	assert_int_equal(s.n_pairs, 2);

	/* the global invalid/dropped counter rolls too but is never removed */
	stats_count(&s.invalid_dropped.in, 9);
	stats_roll(&s);
	assert_int_equal(s.invalid_dropped.in.bytes, 0);
	assert_int_equal(s.invalid_dropped.in_total.bytes, 9);
	stats_free(&s);
}

/* Removing the head of a probe chain must leave the rest of the chain reachable. */
static void test_roll_chain_reachable(void **state)
{
	struct stats s;
	struct vaddr same[4];
	uint32_t cursor = 1;
	const size_t h = 200;

	(void)state;
	init_fixed(&s);
	find_home(&s, h, same, 4, &cursor);
	for (int i = 0; i < 4; i++)
		stats_payload(&s, &same[i], &LOCAL, true, 1);
	stats_roll(&s);
	/* same[0] and same[2] go idle */
	for (int k = 0; k < STATS_IDLE_PERIODS; k++) {
		stats_payload(&s, &same[1], &LOCAL, true, 1);
		stats_payload(&s, &same[3], &LOCAL, true, 1);
		stats_roll(&s);
	}
	assert_int_equal(s.n_pairs, 2);
	check_table(&s);
	/* the survivors are counted in place: no duplicate entries, no overflow */
	stats_payload(&s, &same[1], &LOCAL, false, 5);
	stats_payload(&s, &same[3], &LOCAL, false, 5);
	assert_int_equal(s.n_pairs, 2);
	assert_int_equal(s.pairs_overflow, 0);
	assert_int_equal(find_pair(&s, &same[1], &LOCAL)->t.in_total.packets, 1 + STATS_IDLE_PERIODS);
	assert_int_equal(find_pair(&s, &same[3], &LOCAL)->t.out.bytes, 5);
	stats_free(&s);
}

/*
 * A cluster wrapping around the end of the table: six pairs at home N-6 fill N-6..N-1 and
 * eleven at home N-5 continue at 0..10 (displacement 5..15, all reachable). A roll must not
 * move any of them out of its 16-slot window (re-inserting in index order puts the wrapped
 * ones first and pushes the last home-(N-6) pair to slot 10, 16 slots from home).
 */
static void test_roll_wraparound(void **state)
{
	struct stats s;
	struct vaddr first[6], second[11];
	uint32_t cursor = 1;

	(void)state;
	init_fixed(&s);
	find_home(&s, s.pairs_cap - 6, first, 6, &cursor);
	find_home(&s, s.pairs_cap - 5, second, 11, &cursor);
	for (int i = 0; i < 6; i++)
		stats_payload(&s, &first[i], &LOCAL, true, 1);
	for (int i = 0; i < 11; i++)
		stats_payload(&s, &second[i], &LOCAL, true, 1);
	assert_int_equal(s.n_pairs, 17);
	assert_int_equal(s.pairs_overflow, 0);
	assert_int_equal(slot_of(&s, &second[10], &LOCAL), 10);
	check_table(&s);

	stats_roll(&s);
	assert_int_equal(s.n_pairs, 17);
	check_table(&s);
	for (int i = 0; i < 6; i++)
		stats_payload(&s, &first[i], &LOCAL, false, 1);
	for (int i = 0; i < 11; i++)
		stats_payload(&s, &second[i], &LOCAL, false, 1);
	assert_int_equal(s.pairs_overflow, 0);
	assert_int_equal(s.n_pairs, 17);
	for (int i = 0; i < 6; i++)
		assert_int_equal(find_pair(&s, &first[i], &LOCAL)->t.out.packets, 1);

	/* now let the first six expire: the wrapped ones move back, still reachable */
	for (int k = 0; k < STATS_IDLE_PERIODS + 1; k++) {
		for (int i = 0; i < 11; i++)
			stats_payload(&s, &second[i], &LOCAL, true, 1);
		stats_roll(&s);
		check_table(&s);
	}
	assert_int_equal(s.n_pairs, 11);
	for (int i = 0; i < 11; i++)
		assert_int_equal(slot_of(&s, &second[i], &LOCAL), (s.pairs_cap - 5 + (size_t)i) % s.pairs_cap);
	assert_int_equal(s.pairs_overflow, 0);
	stats_free(&s);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/*
 * Random load near the table's capacity, checked against a model of which pairs are stored:
 * a stored pair is always found again (no overflow, no duplicate), pairs idle for
 * STATS_IDLE_PERIODS go, and the probing invariant holds after every roll.
 */
static void test_roll_random(void **state)
{
	enum { KEYS = 3600, PERIODS = 24 };
	static uint8_t alive[KEYS], stored[KEYS], idle[KEYS], active[KEYS];
	struct stats s;

	(void)state;
	init_fixed(&s);
	memset(stored, 0, sizeof(stored));
	memset(alive, 1, sizeof(alive));
	for (int period = 0; period < PERIODS; period++) {
		size_t model = 0;
		for (int i = 0; i < KEYS; i++) {
			active[i] = 0;
			if (!alive[i])
				continue;
			struct vaddr r = v4(0x0b000000u + (uint32_t)i);
			uint64_t before = s.pairs_overflow;
			stats_payload(&s, &r, &LOCAL, (i & 1) != 0, 1);
			if (stored[i])
				assert_int_equal(s.pairs_overflow, before);
			else if (s.pairs_overflow == before)
				stored[i] = 1, idle[i] = 0;
			active[i] = stored[i];
		}
		for (int i = 0; i < KEYS; i++)
			model += stored[i];
		assert_int_equal(s.n_pairs, model);
		check_table(&s);
		stats_roll(&s);
		model = 0;
		for (int i = 0; i < KEYS; i++) {
			if (!stored[i])
				continue;
			idle[i] = active[i] ? 0 : idle[i] + 1;
			if (idle[i] >= STATS_IDLE_PERIODS)
				stored[i] = 0;
			model += stored[i];
		}
		assert_int_equal(s.n_pairs, model);
		check_table(&s);
		/* some pairs stop talking for a while, some come back */
		for (int i = 0; i < KEYS; i++) {
			uint32_t x = rnd() % 8;
			if (x == 0)
				alive[i] = 0;
			else if (x == 1)
				alive[i] = 1;
		}
	}
	assert_true(s.pairs_overflow > 0); /* the load did reach full neighbourhoods */
	stats_free(&s);
}

/* ---- the stats file ---- */

static char *write_view(const struct stats_view *v, int *ret)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	*ret = stats_write(f, v);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

static void assert_text(const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		size_t i = 0;
		while (got[i] && got[i] == want[i])
			i++;
		fail_msg("differs at byte %zu:\n--- got ---\n%s\n--- want ---\n%s", i, got, want);
	}
}

static void test_write_empty(void **state)
{
	struct stats s;
	struct stats_view v = {0};
	int r;

	(void)state;
	assert_int_equal(stats_init(&s), 0);
	v.stats = &s;
	char *text = write_view(&v, &r);
	assert_int_equal(r, 0);
	assert_text(text, "peers:\n"
			  "\n"
			  "forwarding_table:\n"
			  "  claims:\n"
			  "  cache:\n"
			  "\n"
			  "peer_traffic:\n"
			  "\n"
			  "payload_traffic:\n"
			  "\n"
			  "invalid_protocol_traffic: { display: \"0 B/s\", bytes: 0, packets: 0 }\n"
			  "dropped_payload_traffic: { display: \"0 B/s\", bytes: 0, packets: 0 }\n"
			  "invalid_by_reason:\n"
			  "  empty: 0\n"
			  "  unknown-sender: 0\n"
			  "  short: 0\n"
			  "  no-key: 0\n"
			  "  replay: 0\n"
			  "  auth-failed: 0\n"
			  "  not-established: 0\n"
			  "  handshake-malformed: 0\n"
			  "  handshake-untrusted: 0\n"
			  "  handshake-limited: 0\n"
			  "  handshake-failed: 0\n"
			  "  unknown-type: 0\n"
			  "  malformed-nodeinfo: 0\n"
			  "  malformed-payload: 0\n"
			  "\n");
	free(text);
	stats_free(&s);
}

/* A small node: two peers and a pending handshake, claims, a cache entry, three pairs. */
struct fixture {
	struct stats s;
	struct stats_traffic ta, tb, tc;
	struct stats_peer_view peers[2], traffic[3];
	struct stats_entry_view claims[2], cache[1];
	struct stats_view v;
};

static void fixture_init(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	assert_int_equal(stats_init(&fx->s), 0);

	/* protocol traffic: a 18000 bytes, c 465, b nothing (order in the view: a, b, c) */
	fx->ta.in = (struct stats_ctr){6000, 3};
	fx->ta.out = (struct stats_ctr){12000, 4};
	fx->tc.in = (struct stats_ctr){310, 2};
	fx->tc.out = (struct stats_ctr){155, 1};
	fx->peers[0] = (struct stats_peer_view){A("1.2.3.4:3210"), 290, "CHACHA20", &fx->ta};
	fx->peers[1] = (struct stats_peer_view){A("[2001:db8::1]:3210"), 5, "AES128", &fx->tb};
	fx->traffic[0] = fx->peers[0];
	fx->traffic[1] = fx->peers[1];
	fx->traffic[2] = (struct stats_peer_view){.addr = A("5.6.7.8:3211"), .traffic = &fx->tc};

	struct range r4, r6;
	assert_int_equal(range_parse("10.1.0.0/24", &r4), 0);
	assert_int_equal(range_parse("fd00::/64", &r6), 0);
	range_format(&r4, fx->claims[0].key);
	fx->claims[0].peer = fx->peers[0].addr;
	fx->claims[0].timeout = 250;
	range_format(&r6, fx->claims[1].key);
	fx->claims[1].peer = fx->peers[1].addr;
	fx->claims[1].timeout = 0;
	struct vaddr c = V("10.1.0.7");
	vaddr_format(&c, fx->cache[0].key);
	fx->cache[0].peer = fx->peers[0].addr;
	fx->cache[0].timeout = 120;

	/* payload: 62040 bytes, 30720 bytes, 100 bytes (inserted smallest first) */
	struct vaddr m1 = vlan(7, "02:00:00:00:00:01"), m2 = vlan(7, "02:00:00:00:00:02");
	struct vaddr x1 = V("fd00::1"), x2 = V("fd00::2"), y1 = V("10.1.0.1"), y2 = V("10.1.0.2");
	stats_payload(&fx->s, &m2, &m1, true, 100);
	stats_payload(&fx->s, &x2, &x1, false, 30720);
	stats_payload(&fx->s, &y2, &y1, true, 30720);
	stats_payload(&fx->s, &y2, &y1, true, 30720);
	stats_payload(&fx->s, &y2, &y1, false, 600);
	stats_invalid(&fx->s, STATS_INV_REPLAY, 40);
	stats_invalid(&fx->s, STATS_INV_REPLAY, 40);
	stats_invalid(&fx->s, STATS_INV_HS_UNTRUSTED, 40);
	stats_count(&fx->s.invalid_dropped.out, 84);

	fx->v = (struct stats_view){
		.peers = fx->peers,
		.n_peers = 2,
		.traffic = fx->traffic,
		.n_traffic = 3,
		.claims = fx->claims,
		.n_claims = 2,
		.cache = fx->cache,
		.n_cache = 1,
		.stats = &fx->s,
	};
}

static void test_write_full(void **state)
{
	struct fixture fx;
	int r;

	(void)state;
	fixture_init(&fx);
	char *text = write_view(&fx.v, &r);
	assert_int_equal(r, 0);
	assert_text(
		text,
		"peers:\n"
		"  - \"1.2.3.4:3210\": { ttl_secs: 290, crypto: CHACHA20 }\n"
		"  - \"[2001:db8::1]:3210\": { ttl_secs: 5, crypto: AES128 }\n"
		"\n"
		"forwarding_table:\n"
		"  claims:\n"
		"    - \"10.1.0.0/24\": { peer: \"1.2.3.4:3210\", timeout: 250 }\n"
		"    - \"fd00:0000:0000:0000:0000:0000:0000:0000/64\": { peer: \"[2001:db8::1]:3210\", "
		"timeout: 0 }\n"
		"  cache:\n"
		"    - \"10.1.0.7\": { peer: \"1.2.3.4:3210\", timeout: 120 }\n"
		"\n"
		"peer_traffic:\n"
		"  - peer: \"1.2.3.4:3210\"\n"
		"    in: { display: \"100 B/s\", bytes: 6000, packets: 3 }\n"
		"    out: { display: \"200 B/s\", bytes: 12000, packets: 4 }\n"
		"  - peer: \"5.6.7.8:3211\"\n"
		"    in: { display: \"5 B/s\", bytes: 310, packets: 2 }\n"
		"    out: { display: \"2 B/s\", bytes: 155, packets: 1 }\n"
		"  - peer: \"[2001:db8::1]:3210\"\n"
		"    in: { display: \"0 B/s\", bytes: 0, packets: 0 }\n"
		"    out: { display: \"0 B/s\", bytes: 0, packets: 0 }\n"
		"\n"
		"payload_traffic:\n"
		"  - addrs: [\"10.1.0.2\", \"10.1.0.1\"]\n"
		"    in: { display: \"1.0 KiB/s\", bytes: 61440, packets: 2 }\n"
		"    out: { display: \"10 B/s\", bytes: 600, packets: 1 }\n"
		"  - addrs: [\"fd00:0000:0000:0000:0000:0000:0000:0002\", "
		"\"fd00:0000:0000:0000:0000:0000:0000:0001\"]\n"
		"    in: { display: \"0 B/s\", bytes: 0, packets: 0 }\n"
		"    out: { display: \"0.5 KiB/s\", bytes: 30720, packets: 1 }\n"
		"  - addrs: [\"vlan7/02:00:00:00:00:02\", \"vlan7/02:00:00:00:00:01\"]\n"
		"    in: { display: \"1 B/s\", bytes: 100, packets: 1 }\n"
		"    out: { display: \"0 B/s\", bytes: 0, packets: 0 }\n"
		"\n"
		"invalid_protocol_traffic: { display: \"2 B/s\", bytes: 120, packets: 3 }\n"
		"dropped_payload_traffic: { display: \"1 B/s\", bytes: 84, packets: 1 }\n"
		"invalid_by_reason:\n"
		"  empty: 0\n"
		"  unknown-sender: 0\n"
		"  short: 0\n"
		"  no-key: 0\n"
		"  replay: 2\n"
		"  auth-failed: 0\n"
		"  not-established: 0\n"
		"  handshake-malformed: 0\n"
		"  handshake-untrusted: 1\n"
		"  handshake-limited: 0\n"
		"  handshake-failed: 0\n"
		"  unknown-type: 0\n"
		"  malformed-nodeinfo: 0\n"
		"  malformed-payload: 0\n"
		"\n");
	free(text);
	/* the view's peer order is not changed by sorting */
	assert_ptr_equal(fx.traffic[1].traffic, &fx.tb);

	/* after a roll the file shows the new (empty) period */
	stats_roll(&fx.s);
	fx.ta = fx.tb = fx.tc = (struct stats_traffic){0};
	text = write_view(&fx.v, &r);
	assert_int_equal(r, 0);
	assert_non_null(strstr(text, "  - addrs: [\"10.1.0.2\", \"10.1.0.1\"]\n"
				     "    in: { display: \"0 B/s\", bytes: 0, packets: 0 }\n"));
	assert_non_null(strstr(text, "invalid_protocol_traffic: { display: \"0 B/s\", bytes: 0, "
				     "packets: 0 }\n"));
	assert_non_null(strstr(text, "  replay: 2\n")); /* totals since the start */
	free(text);
	char sd[2048];
	assert_true(stats_statsd(sd, sizeof(sd), "v", &fx.v) > 0);
	assert_non_null(strstr(sd, "\nv.invalid.replay:0|c")); /* this period: none */
	stats_invalid(&fx.s, STATS_INV_REPLAY, 10);
	assert_true(stats_statsd(sd, sizeof(sd), "v", &fx.v) > 0);
	assert_non_null(strstr(sd, "\nv.invalid.replay:1|c"));
	assert_string_equal(stats_invalid_name(STATS_INV_AUTH), "auth-failed");
	assert_string_equal(stats_invalid_name(STATS_INV_COUNT), "?");
	stats_free(&fx.s);
}

static void test_write_file(void **state)
{
	struct fixture fx;
	char path[] = "/tmp/meshvpn-test-stats-XXXXXX";
	struct stat before, after;
	int fd, r;

	(void)state;
	fixture_init(&fx);
	char link_path[sizeof(path) + 4];
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old", 3), 3);
	close(fd);
	snprintf(link_path, sizeof(link_path), "%s.old", path);
	assert_int_equal(link(path, link_path), 0);
	/* an existing file is replaced by a new, empty one (not truncated in place) */
	fd = stats_open_file(path);
	assert_true(fd >= 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_size, 0);
	assert_int_equal(after.st_nlink, 1);
	assert_int_equal(stat(link_path, &before), 0);
	assert_int_equal(before.st_size, 3);
	unlink(link_path);
	mode_t um = umask(0);
	umask(um);
	assert_int_equal(after.st_mode & 0777, 0644 & ~um);
	/* old, longer content is truncated on every write through the kept fd */
	char junk[8192];
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	assert_int_equal(stats_write_fd(fd, &fx.v), 0);
	assert_int_equal(stats_write_fd(fd, &fx.v), 0);

	char *want = write_view(&fx.v, &r);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char got[8192];
	size_t n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = 0;
	fclose(f);
	assert_text(got, want);
	free(want);
	/* the fd keeps working when the path is gone (or no longer writable for us) */
	unlink(path);
	assert_int_equal(stats_write_fd(fd, &fx.v), 0);
	close(fd);
	assert_int_equal(stats_open_file("/nonexistent-dir/stats"), -ENOENT);
	stats_free(&fx.s);
}

/* ---- statsd ---- */

static void test_statsd(void **state)
{
	struct fixture fx;
	char buf[2048];

	(void)state;
	fixture_init(&fx);
	static const char want[] = "vpncloud.peer_count:2|g\n"
				   "vpncloud.table_cache_entries:1|g\n"
				   "vpncloud.table_claims:2|g\n"
				   "vpncloud.traffic.protocol.inbound.bytes:6310|c\n"
				   "vpncloud.traffic.protocol.inbound.packets:5|c\n"
				   "vpncloud.traffic.protocol.outbound.bytes:12155|c\n"
				   "vpncloud.traffic.protocol.outbound.packets:5|c\n"
				   "vpncloud.traffic.payload.inbound.bytes:61540|c\n"
				   "vpncloud.traffic.payload.inbound.packets:3|c\n"
				   "vpncloud.traffic.payload.outbound.bytes:31320|c\n"
				   "vpncloud.traffic.payload.outbound.packets:2|c\n"
				   "vpncloud.invalid_protocol_traffic.bytes:120|c\n"
				   "vpncloud.invalid_protocol_traffic.packets:3|c\n"
				   "vpncloud.dropped_payload.bytes:84|c\n"
				   "vpncloud.dropped_payload.packets:1|c\n"
				   "vpncloud.invalid.empty:0|c\n"
				   "vpncloud.invalid.unknown-sender:0|c\n"
				   "vpncloud.invalid.short:0|c\n"
				   "vpncloud.invalid.no-key:0|c\n"
				   "vpncloud.invalid.replay:2|c\n"
				   "vpncloud.invalid.auth-failed:0|c\n"
				   "vpncloud.invalid.not-established:0|c\n"
				   "vpncloud.invalid.handshake-malformed:0|c\n"
				   "vpncloud.invalid.handshake-untrusted:1|c\n"
				   "vpncloud.invalid.handshake-limited:0|c\n"
				   "vpncloud.invalid.handshake-failed:0|c\n"
				   "vpncloud.invalid.unknown-type:0|c\n"
				   "vpncloud.invalid.malformed-nodeinfo:0|c\n"
				   "vpncloud.invalid.malformed-payload:0|c";
	int n = stats_statsd(buf, sizeof(buf), "vpncloud", &fx.v);
	assert_int_equal(n, (int)strlen(want));
	assert_text(buf, want);
	assert_int_not_equal(buf[n - 1], '\n');

	/* another prefix (may contain dots and even '%') */
	n = stats_statsd(buf, sizeof(buf), "my.net%s", &fx.v);
	assert_true(n > 0);
	assert_int_equal(strncmp(buf, "my.net%s.peer_count:2|g\nmy.net%s.table_cache_entries:1|g\n",
				 56),
			 0);
	assert_non_null(strstr(buf, "\nmy.net%s.dropped_payload.packets:1|c"));
	assert_int_equal(buf[n], 0);

	/* exactly fitting needs room for the terminating NUL */
	int len = stats_statsd(buf, sizeof(buf), "vpncloud", &fx.v);
	assert_int_equal(stats_statsd(buf, (size_t)len, "vpncloud", &fx.v), -EMSGSIZE);
	assert_int_equal(stats_statsd(buf, (size_t)len + 1, "vpncloud", &fx.v), len);
	assert_int_equal(stats_statsd(buf, 10, "vpncloud", &fx.v), -EMSGSIZE);

	/* empty node: all zero */
	struct stats s;
	assert_int_equal(stats_init(&s), 0);
	struct stats_view v = {.stats = &s};
	n = stats_statsd(buf, sizeof(buf), "p", &v);
	assert_true(n > 0);
	assert_int_equal(strncmp(buf, "p.peer_count:0|g\np.table_cache_entries:0|g\n", 43), 0);
	assert_non_null(strstr(buf, "\np.traffic.payload.outbound.packets:0|c\n"));
	stats_free(&s);
	stats_free(&fx.s);
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_rate),
		cmocka_unit_test(test_traffic_roll),
		cmocka_unit_test(test_home_slot),
		cmocka_unit_test(test_payload_counting),
		cmocka_unit_test(test_payload_collisions),
		cmocka_unit_test(test_payload_growth),
		cmocka_unit_test(test_roll_idle_removal),
		cmocka_unit_test(test_roll_chain_reachable),
		cmocka_unit_test(test_roll_wraparound),
		cmocka_unit_test(test_roll_random),
		cmocka_unit_test(test_write_empty),
		cmocka_unit_test(test_write_full),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test(test_statsd),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* table.c - forwarding table: claims with longest-prefix match and an exact-address cache. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/bytes.h"
#include "meshvpn/table.h"

#define NOT_FOUND	SIZE_MAX
#define CACHE_MIN_SLOTS 8
#define CACHE_START_SLOTS 256 /* the cache starts this small; table_housekeep() grows it */
#define EVICT_WINDOW	32 /* slots sampled for the eviction victim when the cache is full */
#define CLAIMS_MIN_CAP	32
#define CACHE_TAG	0xff /* hash domain of cache keys; claim keys use the prefix length */

struct table_cache_slot {
	struct vaddr addr;
	bool learned;
	uint32_t peer; /* TABLE_PEER_NONE marks an empty slot */
	uint32_t hash;
	int64_t expiry;
};

struct table_claim {
	struct range range;
	uint8_t masked[VADDR_MAX]; /* base with the host bits cleared */
	uint32_t peer;		   /* TABLE_PEER_NONE while being removed */
	uint32_t hash;		   /* of (length, prefix, masked) */
	int64_t expiry;
};

unsigned table_mode_flags(enum table_mode mode, enum payload_kind kind)
{
	switch (mode) {
	case TABLE_MODE_NORMAL:
		return kind == PAYLOAD_ETH ? TABLE_LEARNING | TABLE_BROADCAST : 0;
	case TABLE_MODE_SWITCH:
		return TABLE_LEARNING | TABLE_BROADCAST;
	case TABLE_MODE_FLOOD:
		return TABLE_BROADCAST;
	case TABLE_MODE_ROUTER:
	default:
		return 0;
	}
}

static uint32_t key_hash(const struct table *t, uint8_t tag, const uint8_t *b, uint8_t len)
{
	uint8_t in[2 + VADDR_MAX], out[crypto_shorthash_BYTES];

	in[0] = len;
	in[1] = tag;
	memcpy(in + 2, b, len);
	crypto_shorthash(out, in, 2u + len, t->hash_key);
	return get_be32(out);
}

/* Copies the first prefix bits of in to out and clears the rest (prefix <= 128). */
static void mask_prefix(uint8_t *out, const uint8_t *in, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	memset(out, 0, VADDR_MAX);
	memcpy(out, in, full);
	if (rest)
		out[full] = in[full] & (uint8_t)(0xff << (8 - rest));
}

static bool claim_can_match(const struct range *r)
{
	return r->base.len <= VADDR_MAX && r->prefix <= 8u * r->base.len;
}

/* ---- cache ---- */

static size_t cache_find(const struct table *t, const struct vaddr *a, uint32_t h)
{
	for (size_t i = h & t->cache_mask;; i = (i + 1) & t->cache_mask) {
		const struct table_cache_slot *s = &t->cache[i];
		if (s->peer == TABLE_PEER_NONE)
			return NOT_FOUND;
		if (s->hash == h && vaddr_equal(&s->addr, a))
			return i;
	}
}

/* Backward-shift deletion: keeps every probe chain gap-free without tombstones. */
static void cache_delete(struct table *t, size_t i)
{
	size_t mask = t->cache_mask;

	for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
		struct table_cache_slot *s = &t->cache[j];
		if (s->peer == TABLE_PEER_NONE)
			break;
		size_t home = s->hash & mask;
		/* s may fill the hole at i unless its home lies cyclically in (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->cache[i] = *s;
			i = j;
		}
	}
	t->cache[i].peer = TABLE_PEER_NONE;
	t->cache_len--;
}

/* Evicts the entry expiring first among the slots following the new key's home slot. */
static void cache_evict(struct table *t, uint32_t h)
{
	size_t slots = t->cache_mask + 1, best = NOT_FOUND;
	size_t window = MIN((size_t)EVICT_WINDOW, slots);

	for (size_t k = 0; k < slots; k++) {
		size_t j = (h + k) & t->cache_mask;
		const struct table_cache_slot *s = &t->cache[j];
		if (s->peer != TABLE_PEER_NONE &&
		    (best == NOT_FOUND || s->expiry < t->cache[best].expiry))
			best = j;
		/* a full cache always has an entry somewhere; stop once the window is seen */
		if (k + 1 >= window && best != NOT_FOUND)
			break;
	}
	if (best != NOT_FOUND)
		cache_delete(t, best);
}

/* Entries the cache holds at its present size: half its slots, at most cache_cap. */
static size_t cache_limit(const struct table *t)
{
	return MIN(t->cache_cap, (t->cache_mask + 1) / 2);
}

static void cache_put(struct table *t, const struct vaddr *a, uint32_t h, uint32_t peer,
		      int64_t expiry, bool learned)
{
	size_t i = cache_find(t, a, h);

	if (i == NOT_FOUND) {
		if (t->cache_len >= cache_limit(t))
			cache_evict(t, h);
		for (i = h & t->cache_mask; t->cache[i].peer != TABLE_PEER_NONE;
		     i = (i + 1) & t->cache_mask)
			;
		t->cache[i].addr = *a;
		t->cache[i].hash = h;
		t->cache_len++;
	}
	t->cache[i].peer = peer;
	t->cache[i].expiry = expiry;
	t->cache[i].learned = learned;
}

enum drop_rule { DROP_PEER, DROP_EXPIRED, DROP_MATCHED };

struct drop_arg {
	enum drop_rule rule;
	uint32_t peer;
	int64_t now;
	const struct table_claim *claims; /* DROP_MATCHED: new claims [0, n) */
	size_t n;
};

static bool drop_this(const struct table_cache_slot *s, const struct drop_arg *d)
{
	switch (d->rule) {
	case DROP_PEER:
		return s->peer == d->peer;
	case DROP_EXPIRED:
		return s->expiry < d->now;
	case DROP_MATCHED:
		if (s->learned)
			return false;
		for (size_t k = 0; k < d->n; k++)
			if (range_match(&d->claims[k].range, &s->addr))
				return true;
		return false;
	}
	return false;
}

static void cache_drop(struct table *t, const struct drop_arg *d)
{
	/*
	 * Deleting at i may shift a later entry into i, so i is examined again; entries only
	 * move backwards, so none is skipped (some may be looked at twice, which is harmless).
	 */
	for (size_t i = 0; i <= t->cache_mask && t->cache_len;) {
		struct table_cache_slot *s = &t->cache[i];
		if (s->peer != TABLE_PEER_NONE && drop_this(s, d))
			cache_delete(t, i);
		else
			i++;
	}
}

/*
 * Doubles the slots, up to cache_slots_max, when more than half of what the present size
 * holds is in use. Called from table_housekeep(), never on the packet path: a node with a
 * few destinations touches a few pages, not the whole table, whose entries would each land
 * on a page of their own. Without memory the cache stays as it is.
 */
static void cache_grow(struct table *t)
{
	size_t slots = t->cache_mask + 1, grown = 2 * slots, mask = grown - 1;

	if (slots >= t->cache_slots_max || t->cache_len <= cache_limit(t) / 2)
		return;
	struct table_cache_slot *c = calloc(grown, sizeof(*c));
	if (!c)
		return;
	for (size_t i = 0; i < slots; i++) {
		const struct table_cache_slot *s = &t->cache[i];
		if (s->peer == TABLE_PEER_NONE)
			continue;
		size_t j = s->hash & mask;
		while (c[j].peer != TABLE_PEER_NONE)
			j = (j + 1) & mask;
		c[j] = *s;
	}
	free(t->cache);
	t->cache = c;
	t->cache_mask = mask;
}

/* ---- claims ---- */

static void index_rebuild(struct table *t)
{
	memset(t->idx, 0xff, (t->idx_mask + 1) * sizeof(*t->idx));
	memset(t->prefixes, 0, sizeof(t->prefixes));
	for (size_t i = 0; i < t->n_claims; i++) {
		const struct table_claim *c = &t->claims[i];
		if (!claim_can_match(&c->range))
			continue;
		t->prefixes[c->range.base.len][c->range.prefix / 64] |= 1ull
									<< (c->range.prefix % 64);
		size_t j = c->hash & t->idx_mask;
		while (t->idx[j] >= 0)
			j = (j + 1) & t->idx_mask;
		t->idx[j] = (int32_t)i;
	}
}

/* Removes claims whose peer is TABLE_PEER_NONE, keeping the order. Returns the count. */
static size_t claims_compact(struct table *t)
{
	size_t w = 0, n = t->n_claims;

	for (size_t r = 0; r < n; r++)
		if (t->claims[r].peer != TABLE_PEER_NONE)
			t->claims[w++] = t->claims[r];
	t->n_claims = w;
	return n - w;
}

static int claims_reserve(struct table *t, size_t need)
{
	if (need > t->claims_cap) {
		size_t cap = t->claims_cap ? t->claims_cap : CLAIMS_MIN_CAP;
		while (cap < need)
			cap *= 2;
		cap = MIN(cap, (size_t)TABLE_MAX_CLAIMS);
		struct table_claim *c = reallocarray(t->claims, cap, sizeof(*c));
		if (!c)
			return -ENOMEM;
		t->claims = c;
		t->claims_cap = cap;
	}
	if (2 * need > t->idx_mask + 1) {
		size_t slots = (t->idx_mask + 1) * 2;
		while (slots < 2 * need)
			slots *= 2;
		int32_t *idx = calloc(slots, sizeof(*idx));
		if (!idx)
			return -ENOMEM;
		free(t->idx);
		t->idx = idx;
		t->idx_mask = slots - 1;
		index_rebuild(t);
	}
	return 0;
}

static bool peer_holds(const struct table *t, uint32_t peer, const struct range *r)
{
	for (size_t i = 0; i < t->n_claims; i++)
		if (t->claims[i].peer == peer && range_equal(&t->claims[i].range, r))
			return true;
	return false;
}

static bool in_list(const struct range *ranges, size_t n, const struct range *r)
{
	for (size_t i = 0; i < n; i++)
		if (range_equal(&ranges[i], r))
			return true;
	return false;
}

int table_set_claims(struct table *t, uint32_t peer, const struct range *ranges, size_t n,
		     int64_t now, int64_t expiry)
{
	size_t adds = 0, first_new;
	bool withdrawn = false;
	int err;

	if (peer == TABLE_PEER_NONE)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (ranges[i].base.len > VADDR_MAX)
			return -EINVAL;
		if (!in_list(ranges, i, &ranges[i]) && !peer_holds(t, peer, &ranges[i]))
			adds++;
	}
	if (adds > TABLE_MAX_CLAIMS - t->n_claims)
		return -ENOSPC;
	err = claims_reserve(t, t->n_claims + adds);
	if (err)
		return err;

	for (size_t i = 0; i < t->n_claims; i++) {
		struct table_claim *c = &t->claims[i];
		if (c->peer != peer)
			continue;
		if (in_list(ranges, n, &c->range)) {
			c->expiry = expiry;
		} else {
			/* expire at once: every withdrawn range, not just the first few (quirk) */
			c->peer = TABLE_PEER_NONE;
			withdrawn = true;
		}
	}
	claims_compact(t);
	first_new = t->n_claims;
	for (size_t i = 0; i < n; i++) {
		const struct range *r = &ranges[i];
		if (peer_holds(t, peer, r))
			continue;
		struct table_claim *c = &t->claims[t->n_claims++];
		memset(c, 0, sizeof(*c));
		c->range = *r;
		c->peer = peer;
		c->expiry = expiry;
		if (claim_can_match(r)) {
			mask_prefix(c->masked, r->base.b, r->prefix);
			c->hash = key_hash(t, r->prefix, c->masked, r->base.len);
		}
	}
	if (withdrawn) {
		struct drop_arg d = {.rule = DROP_PEER, .peer = peer};
		cache_drop(t, &d);
	}
	if (t->n_claims > first_new) {
		/* a new (maybe longer) claim must not be shadowed by cached lookup results */
		struct drop_arg d = {.rule = DROP_MATCHED,
				     .claims = t->claims + first_new,
				     .n = t->n_claims - first_new};
		cache_drop(t, &d);
	}
	if (withdrawn || t->n_claims > first_new)
		index_rebuild(t);
	table_housekeep(t, now);
	return 0;
}

/* The longest unexpired matching claim; among equals the latest inserted (table_lookup). */
static const struct table_claim *claim_find(const struct table *t, const struct vaddr *dst,
					    int64_t now)
{
	const uint64_t *bm = t->prefixes[dst->len];
	uint8_t m[VADDR_MAX];

	for (int w = 2; w >= 0; w--) {
		uint64_t bits = bm[w];
		while (bits) {
			int b = 63 - __builtin_clzll(bits);
			unsigned prefix = (unsigned)(w * 64 + b);
			int32_t best = -1;

			bits &= ~(1ull << b);
			mask_prefix(m, dst->b, prefix);
			uint32_t h = key_hash(t, (uint8_t)prefix, m, dst->len);
			for (size_t j = h & t->idx_mask; t->idx[j] >= 0;
			     j = (j + 1) & t->idx_mask) {
				const struct table_claim *c = &t->claims[t->idx[j]];
				if (c->hash == h && c->range.prefix == prefix &&
				    c->range.base.len == dst->len &&
				    memcmp(c->masked, m, dst->len) == 0 && c->expiry >= now &&
				    (best < 0 || t->idx[j] > best))
					best = t->idx[j];
			}
			if (best >= 0)
				return &t->claims[best];
		}
	}
	return NULL;
}

/* ---- public ---- */

int table_init(struct table *t, unsigned flags, uint32_t switch_timeout, size_t cache_capacity)
{
	size_t slots = CACHE_MIN_SLOTS;

	memset(t, 0, sizeof(*t));
	if (cache_capacity == 0 || cache_capacity > TABLE_MAX_CACHE_CAPACITY)
		return -EINVAL;
	while (slots < 2 * cache_capacity)
		slots *= 2;
	t->flags = flags;
	t->switch_timeout = switch_timeout;
	t->cache_cap = cache_capacity;
	t->cache_slots_max = slots;
	slots = MIN(slots, (size_t)CACHE_START_SLOTS);
	t->cache_mask = slots - 1;
	t->idx_mask = 2 * CLAIMS_MIN_CAP - 1;
	t->cache = calloc(slots, sizeof(*t->cache));
	t->claims = calloc(CLAIMS_MIN_CAP, sizeof(*t->claims));
	t->idx = calloc(t->idx_mask + 1, sizeof(*t->idx));
	if (!t->cache || !t->claims || !t->idx) {
		table_free(t);
		return -ENOMEM;
	}
	t->claims_cap = CLAIMS_MIN_CAP;
	randombytes_buf(t->hash_key, sizeof(t->hash_key));
	index_rebuild(t);
	return 0;
}

void table_free(struct table *t)
{
	free(t->cache);
	free(t->claims);
	free(t->idx);
	memset(t, 0, sizeof(*t));
}

void table_learn(struct table *t, const struct vaddr *src, uint32_t peer, int64_t now)
{
	if (!(t->flags & TABLE_LEARNING) || peer == TABLE_PEER_NONE || src->len == 0 ||
	    src->len > VADDR_MAX || payload_is_group(src))
		return;
	cache_put(t, src, key_hash(t, CACHE_TAG, src->b, src->len), peer,
		  now + (int64_t)t->switch_timeout, true);
}

uint32_t table_lookup(struct table *t, const struct vaddr *dst, int64_t now)
{
	bool group;
	uint32_t h = 0;

	if (unlikely(dst->len > VADDR_MAX))
		return TABLE_PEER_NONE;
	/* group destinations are flooded; a cached unicast answer for one would be wrong */
	group = payload_is_group(dst);
	if (!group) {
		h = key_hash(t, CACHE_TAG, dst->b, dst->len);
		size_t i = cache_find(t, dst, h);
		if (likely(i != NOT_FOUND)) {
			if (likely(t->cache[i].expiry >= now))
				return t->cache[i].peer;
			cache_delete(t, i);
		}
	}
	const struct table_claim *c = claim_find(t, dst, now);
	if (!c)
		return TABLE_PEER_NONE;
	if (!group)
		cache_put(t, dst, h, c->peer, MIN(now + (int64_t)t->switch_timeout, c->expiry),
			  false);
	return c->peer;
}

/* Removes the claims a DROP_PEER or DROP_EXPIRED rule selects (the cache has cache_drop). */
static void claims_drop(struct table *t, const struct drop_arg *d)
{
	bool removed = false;

	for (size_t i = 0; i < t->n_claims; i++) {
		struct table_claim *c = &t->claims[i];
		if (d->rule == DROP_PEER ? c->peer == d->peer : c->expiry < d->now) {
			c->peer = TABLE_PEER_NONE;
			removed = true;
		}
	}
	if (removed) {
		claims_compact(t);
		index_rebuild(t);
	}
}
void table_remove_peer(struct table *t, uint32_t peer)
{
	struct drop_arg d = {.rule = DROP_PEER, .peer = peer};

	if (peer == TABLE_PEER_NONE)
		return;
	claims_drop(t, &d);
	cache_drop(t, &d);
}

void table_housekeep(struct table *t, int64_t now)
{
	struct drop_arg d = {.rule = DROP_EXPIRED, .now = now};

	claims_drop(t, &d);
	cache_drop(t, &d);
	cache_grow(t);
}

size_t table_cache_len(const struct table *t)
{
	return t->cache_len;
}

size_t table_claim_len(const struct table *t)
{
	return t->n_claims;
}

bool table_claim_next(const struct table *t, size_t *pos, struct table_claim_info *out)
{
	if (*pos >= t->n_claims)
		return false;
	const struct table_claim *c = &t->claims[(*pos)++];
	out->range = c->range;
	out->peer = c->peer;
	out->expiry = c->expiry;
	return true;
}

bool table_cache_next(const struct table *t, size_t *pos, struct table_cache_info *out)
{
	for (size_t i = *pos; t->cache && i <= t->cache_mask; i++) {
		const struct table_cache_slot *s = &t->cache[i];
		if (s->peer == TABLE_PEER_NONE)
			continue;
		out->addr = s->addr;
		out->peer = s->peer;
		out->expiry = s->expiry;
		out->learned = s->learned;
		*pos = i + 1;
		return true;
	}
	*pos = t->cache ? t->cache_mask + 1 : 0;
	return false;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * table.h - the forwarding table: peer claims (longest-prefix match) plus an exact-address
 * cache fed by switch learning and by claim lookups. Peers are numeric ids, never pointers.
 * Pure: time is an argument (monotonic seconds); allocation only in init and when the claim
 * set grows, never in table_learn()/table_lookup().
 */
#ifndef MESHVPN_TABLE_H
#define MESHVPN_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "payload.h"
#include "util.h"

#define TABLE_PEER_NONE		     0u	 /* peer id 0 is reserved: "no peer" */
#define TABLE_DEFAULT_SWITCH_TIMEOUT 300 /* seconds */
#define TABLE_DEFAULT_CACHE_CAPACITY 4096
#define TABLE_MAX_CACHE_CAPACITY     (1u << 24)
#define TABLE_MAX_CLAIMS	     65536 /* over all peers */

/* Behaviour flags. */
#define TABLE_LEARNING	0x1u /* learn source address -> peer from received DATA */
#define TABLE_BROADCAST 0x2u /* caller floods frames whose destination is unknown */

/* Configured forwarding mode ("mode" option). */
enum table_mode {
	TABLE_MODE_NORMAL, /* switch on TAP, router on TUN */
	TABLE_MODE_ROUTER,
	TABLE_MODE_SWITCH,
	TABLE_MODE_FLOOD, /* VpnCloud's "hub" mode: no learning, unknown destinations to all */
};

/* Flags for a configured mode on a device kind (PROTOCOL.md 5.9). */
unsigned table_mode_flags(enum table_mode mode, enum payload_kind kind);

struct table_cache_slot; /* private */
struct table_claim;	 /* private */

/* All fields are private; use the functions below. */
struct table {
	unsigned flags; /* TABLE_LEARNING | TABLE_BROADCAST */
	uint32_t switch_timeout;
	uint8_t hash_key[16];
	/* exact cache: open addressing, linear probing, backward-shift deletion */
	struct table_cache_slot *cache;
	size_t cache_mask;	/* slots - 1; it holds half its slots (cache_limit) */
	size_t cache_slots_max; /* power of two >= 2 * cache_cap, reached by table_housekeep */
	size_t cache_cap;	/* most entries held at once */
	size_t cache_len;
	/* claims, in insertion order (which breaks ties between equal prefix lengths) */
	struct table_claim *claims;
	size_t n_claims;
	size_t claims_cap;
	/* claim index: hash of (length, prefix, masked base) -> claim position, -1 empty */
	int32_t *idx;
	size_t idx_mask;
	uint64_t prefixes[VADDR_MAX + 1][3]; /* per address length: prefix lengths present */
};

/*
 * Allocates an empty table. switch_timeout: lifetime of cache entries in seconds;
 * cache_capacity: most cache entries (1..TABLE_MAX_CACHE_CAPACITY; when full the entry
 * expiring first among a small sample is evicted; the cache starts small, see
 * table_housekeep). 0, -EINVAL or -ENOMEM.
 */
int table_init(struct table *t, unsigned flags, uint32_t switch_timeout, size_t cache_capacity) WUR;
/* Frees everything; accepts a zeroed or already freed table. */
void table_free(struct table *t);

/*
 * Replaces the claims of peer with ranges[0..n) (borrowed) as a NodeInfo from it says:
 * ranges already held are refreshed to expiry (absolute, normally now + own peer timeout),
 * new ranges are appended with expiry, ranges no longer present are removed at once and, if
 * any were, every cache entry pointing to peer is dropped. Cached lookup results that a new
 * range now matches are dropped too so the longer prefix takes effect. Also purges what has
 * expired by now. 0, -EINVAL (peer 0, range longer than VADDR_MAX), -ENOSPC (more than
 * TABLE_MAX_CLAIMS) or -ENOMEM; on error the table is unchanged.
 */
int table_set_claims(struct table *t, uint32_t peer, const struct range *ranges, size_t n,
		     int64_t now, int64_t expiry) WUR;

/*
 * Switch learning for a received DATA frame: src -> peer until now + switch_timeout.
 * No-op without TABLE_LEARNING, for peer 0 and for group (multicast/broadcast) addresses.
 * Never allocates; evicts when the cache is full.
 */
void table_learn(struct table *t, const struct vaddr *src, uint32_t peer, int64_t now);

/*
 * Peer for a destination, or TABLE_PEER_NONE. An unexpired exact cache entry wins;
 * otherwise the unexpired claim with the longest matching prefix (the latest inserted among
 * equals, so a node that comes back at a new address takes over from its stale session at
 * once; VpnCloud keeps the earliest), whose result is cached until min(now + switch_timeout,
 * claim expiry). Group addresses are never served from or put into the cache. Never
 * allocates.
 */
uint32_t table_lookup(struct table *t, const struct vaddr *dst, int64_t now);

/* Drops every claim and cache entry of peer (peer removed or closed). */
void table_remove_peer(struct table *t, uint32_t peer);

/*
 * Purges claims and cache entries that expired before now (valid while expiry >= now), then
 * doubles the cache if more than half of what its present size holds is used: the cache
 * starts at 256 slots (128 entries) and grows here, once a second, up to cache_capacity.
 */
void table_housekeep(struct table *t, int64_t now);

/* Counts for statsd (table_cache_entries, table_claims). */
size_t table_cache_len(const struct table *t);
size_t table_claim_len(const struct table *t);

/* Iteration for the stats file: start with *pos = 0, call until it returns false. */
struct table_claim_info {
	struct range range;
	uint32_t peer;
	int64_t expiry; /* absolute, monotonic seconds */
};
struct table_cache_info {
	struct vaddr addr;
	uint32_t peer;
	int64_t expiry;
	bool learned; /* from switch learning, else a cached claim lookup */
};
bool table_claim_next(const struct table *t, size_t *pos, struct table_claim_info *out);
bool table_cache_next(const struct table *t, size_t *pos, struct table_cache_info *out);

#endif

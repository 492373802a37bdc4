/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * stats.h - traffic counters (per peer, per virtual address pair, invalid and dropped), the
 * VpnCloud stats file (PROTOCOL.md 5.12) and statsd lines (5.13).
 */
#ifndef MESHVPN_STATS_H
#define MESHVPN_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "util.h"

#define STATS_INTERVAL 60    /* seconds per period */
#define STATS_IDLE_PERIODS 5 /* payload entries idle this long are removed */
#define STATS_PAIRS 4096     /* most payload address pairs tracked */
#define STATS_PAIRS_MIN 256  /* slots at the start; stats_tick() doubles them up to STATS_PAIRS */

struct stats_ctr {
	uint64_t bytes;
	uint64_t packets;
};

/* Counters of the current period plus running totals. */
struct stats_traffic {
	struct stats_ctr in, out;
	struct stats_ctr in_total, out_total;
	unsigned idle_periods;
};

static inline void stats_count(struct stats_ctr *c, size_t bytes)
{
	c->bytes += bytes;
	c->packets++;
}

/* Ends a period: adds to the totals, resets the period counters, counts idle periods. */
void stats_traffic_roll(struct stats_traffic *t);

struct stats_pair {
	struct vaddr remote, local;
	struct stats_traffic t;
	bool used;
};

/*
 * Why an invalid datagram was dropped (each is also in invalid_dropped.in). Names (for the
 * stats file, statsd, the management API and /metrics) from stats_invalid_name().
 */
enum stats_invalid {
	STATS_INV_EMPTY,	       /* a datagram of 0 bytes */
	STATS_INV_UNKNOWN_SENDER,      /* session traffic from an address without a session */
	STATS_INV_SHORT,	       /* shorter than a frame */
	STATS_INV_NO_KEY,	       /* a key id without a key */
	STATS_INV_REPLAY,	       /* a nonce seen before or older than the window */
	STATS_INV_AUTH,		       /* the tag did not verify */
	STATS_INV_NOT_ESTABLISHED,     /* session traffic before the handshake completed */
	STATS_INV_HS_MALFORMED,	       /* a handshake message that does not parse or fit */
	STATS_INV_HS_UNTRUSTED,	       /* a handshake of an untrusted key or a bad signature */
	STATS_INV_HS_LIMITED,	       /* a handshake over the rate limits for new addresses */
	STATS_INV_HS_FAILED,	       /* a handshake that failed (no common algorithm, ...) */
	STATS_INV_UNKNOWN_TYPE,	       /* an authenticated message of an unknown type */
	STATS_INV_NODEINFO,	       /* an authenticated NODE_INFO that does not decode */
	STATS_INV_PAYLOAD,	       /* an authenticated DATA whose packet does not parse */
	STATS_INV_COUNT
};

const char *stats_invalid_name(enum stats_invalid r);

struct stats {
	struct stats_traffic invalid_dropped; /* in: invalid protocol, out: dropped payload */
	uint64_t invalid[STATS_INV_COUNT];    /* invalid datagrams by reason, since the start */
	uint64_t invalid_period[STATS_INV_COUNT]; /* ... at the start of the period */
	/*
	 * pairs_cap slots, open addressing. It grows only in stats_tick(), never on the packet
	 * path: a node with a few pairs touches a few pages, not the 480 KiB of a full table,
	 * whose pairs would each land on a page of their own.
	 */
	struct stats_pair *pairs;
	size_t pairs_cap;
	size_t n_pairs;
	uint64_t pairs_overflow;	      /* packets not attributed: table full */
	uint8_t key[16];
};

int stats_init(struct stats *s) WUR;
void stats_free(struct stats *s);
/* Payload traffic per (remote, local) virtual address pair; no allocation. */
void stats_payload(struct stats *s, const struct vaddr *remote, const struct vaddr *local,
		   bool inbound, size_t bytes);
/* An invalid datagram of len bytes dropped for reason r. */
static inline void stats_invalid(struct stats *s, enum stats_invalid r, size_t len)
{
	stats_count(&s->invalid_dropped.in, len);
	s->invalid[r]++;
}
/*
 * Once a second, off the packet path: doubles the pair table (up to STATS_PAIRS) when it
 * is more than half full. Without memory it stays as it is.
 */
void stats_tick(struct stats *s);
/* Ends the period of the pair table and drops entries idle for STATS_IDLE_PERIODS. */
void stats_roll(struct stats *s);

/* What the node shows in the stats file; built by the node each interval. */
struct stats_peer_view {
	struct addr addr;
	int64_t ttl;
	const char *crypto;
	const struct stats_traffic *traffic;
};
struct stats_entry_view {
	char key[VADDR_STRLEN + 4]; /* range or address */
	struct addr peer;
	int64_t timeout;
};
struct stats_view {
	const struct stats_peer_view *peers;
	size_t n_peers;
	const struct stats_peer_view *traffic; /* peers and pending handshakes */
	size_t n_traffic;
	const struct stats_entry_view *claims;
	size_t n_claims;
	const struct stats_entry_view *cache;
	size_t n_cache;
	const struct stats *stats;
};

/* "123 B", "1.5 KiB", ... of a byte rate (VpnCloud's Bytes display); returns buf. */
const char *stats_format_rate(uint64_t bytes_per_sec, char buf[32]);
/* Writes the stats file text of PROTOCOL.md 5.12 to f. 0, -EIO or -ENOMEM. */
int stats_write(FILE *f, const struct stats_view *v) WUR;
/*
 * Creates the stats file afresh (an existing one is removed first), mode 0644, and returns
 * its fd, or -errno. The node keeps it open, as VpnCloud does, so writing still works after
 * privileges are dropped.
 */
int stats_open_file(const char *path) WUR;
/* Rewrites the open stats file fd with the stats text. 0 or -errno. */
int stats_write_fd(int fd, const struct stats_view *v) WUR;
/*
 * The statsd datagram of PROTOCOL.md 5.13 (newline-separated, no trailing newline) for the
 * current period. Returns its length, or -EMSGSIZE.
 */
int stats_statsd(char *buf, size_t len, const char *prefix, const struct stats_view *v) WUR;

#endif

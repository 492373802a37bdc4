/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * beacon.h - the VpnCloud 2.3 beacon codec (PROTOCOL.md 7): node addresses and an hour
 * value, masked with a SHA-512 keystream of the beacon password, written in base62 between
 * two password-derived 5-character markers. Pure: no clock, no I/O, no allocation.
 *
 * Timestamps. VpnCloud writes hour = (CLOCK_MONOTONIC_COARSE seconds / 3600) mod 65536 and
 * its reader drops beacons more than 50 hours away from its own monotonic hour, so two
 * VpnCloud hosts whose uptimes differ by more than ~50 h never accept each other's beacons.
 * meshvpn keeps the format and fixes the policy on the reading side:
 *   - writers use the monotonic hour exactly like VpnCloud (beacon_hour()), so VpnCloud
 *     readers treat our beacons like their own; the hour is the only freshness signal the
 *     format has and any other clock would make VpnCloud reject them;
 *   - our reader passes BEACON_TTL_NONE (PROTOCOL.md 11 quirk 7): the hour of a foreign host
 *     says nothing about the beacon's age, so every well-formed beacon is used, whatever the
 *     uptimes. A stale beacon costs one failed connect attempt per load interval, which is
 *     what any configured peer that is down costs too. The hour of each beacon is still
 *     reported (struct beacon_found), so a node can notice a beacon whose hour stops
 *     advancing between loads (its writer is gone) if it wants to;
 *   - a ttl >= 0 gives VpnCloud's check (BEACON_VPNCLOUD_TTL = VpnCloud's reader).
 * Extending the format (e.g. a wall-clock time in a fake IPv6 entry) was rejected: VpnCloud
 * readers would try to connect to the fake address.
 *
 * Beacons VpnCloud cannot read. base62 drops a leading zero byte, so a beacon whose masked
 * data starts with 0x00 cannot be decoded by VpnCloud (PROTOCOL.md 7.5, ~1/256 of all
 * beacons); and one whose text contains the end marker before its end is cut short there
 * (VpnCloud even panics when that marker overlaps the begin marker; ~1/10^7 of beacons).
 * beacon_encode() avoids both: it writes hour - 1, hour - 2, ... (at most
 * BEACON_ENCODE_TRIES - 1 hours back, well inside any TTL) until neither happens; the hour
 * written is returned. beacon_scan() reads such beacons anyway (when a candidate
 * does not decode as VpnCloud reads it, it is tried again with one and with two zero bytes
 * put back), so meshvpn also accepts the ~1/256 of VpnCloud's beacons that VpnCloud itself
 * cannot read.
 */
#ifndef MESHVPN_BEACON_H
#define MESHVPN_BEACON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "keys.h"
#include "util.h"

#define BEACON_MARKER_LEN   5  /* begin and end markers, base62 characters */
#define BEACON_MAX_ADDRS    3  /* what a node stores (VpnCloud: 3 random own addresses) */
#define BEACON_LIMIT_ADDRS  32 /* what beacon_encode() accepts */
#define BEACON_V4_ENTRY_LEN 6  /* IPv4 (4) || port (2, BE) */
#define BEACON_V6_ENTRY_LEN 18 /* IPv6 (16) || port (2, BE) */
#define BEACON_HEAD_LEN	    3  /* hour (2, BE) || IPv4 count (1) */
#define BEACON_TTL_NONE	    (-1)
#define BEACON_VPNCLOUD_TTL 50 /* hours, VpnCloud 2.3's reader */
#define BEACON_ENCODE_TRIES 16 /* hour values tried to avoid a leading zero byte */

/* Plain bytes of a beacon with n4 IPv4 and n6 IPv6 addresses (the seed byte excluded). */
#define BEACON_PLAIN_LEN(n4, n6)                                                                   \
	(BEACON_HEAD_LEN + BEACON_V4_ENTRY_LEN * (n4) + BEACON_V6_ENTRY_LEN * (n6))
/* Longest data part (without markers) for up to n addresses, without NUL. */
#define BEACON_DATA_MAXLEN(n) KEYS_B62_MAXCHARS(BEACON_PLAIN_LEN(0, n) + 1)
/* Longest beacon (markers included) for up to n addresses, without NUL. */
#define BEACON_STRLEN(n) (2 * BEACON_MARKER_LEN + BEACON_DATA_MAXLEN(n))
/* Buffer for a beacon of up to BEACON_MAX_ADDRS addresses, with NUL. */
#define BEACON_MAX_LEN (BEACON_STRLEN(BEACON_MAX_ADDRS) + 1)
/*
 * A text between markers longer than this is no beacon (BEACON_TOO_LONG, not decoded): it
 * is the longest data part beacon_encode() can produce. Bounds the decoding work.
 */
#define BEACON_CANDIDATE_MAXLEN BEACON_DATA_MAXLEN(BEACON_LIMIT_ADDRS)
/* Leading zero bytes the decoder puts back when a candidate does not decode without. */
#define BEACON_ZEROS_RESTORED 2
/*
 * Bytes a candidate of L characters decodes to, plus the zero bytes put back
 * (ceil(L * log(62) / log(256)) <= L * 3 / 4 + 1).
 */
#define BEACON_DECODE_BYTES(L) ((L)*3 / 4 + 1 + BEACON_ZEROS_RESTORED)
#define BEACON_DECODE_WIDTH    BEACON_DECODE_BYTES(BEACON_CANDIDATE_MAXLEN)
/* Addresses one beacon of at most BEACON_CANDIDATE_MAXLEN characters can hold. */
#define BEACON_FOUND_MAX_ADDRS ((BEACON_DECODE_WIDTH - BEACON_HEAD_LEN - 1) / BEACON_V4_ENTRY_LEN)
/*
 * Candidates beacon_scan() decodes per text; later ones are counted as BEACON_SKIPPED.
 * Keeps a hostile text (a load command's output) from costing more than some milliseconds.
 */
#define BEACON_MAX_CANDIDATES 64

/* The markers of a password, NUL-terminated. */
struct beacon_markers {
	char begin[BEACON_MARKER_LEN + 1];
	char end[BEACON_MARKER_LEN + 1];
};

/* What the store command gets in its environment (VpnCloud: begin, data, end, beacon). */
struct beacon_text {
	char begin[BEACON_MARKER_LEN + 1];
	char data[BEACON_DATA_MAXLEN(BEACON_MAX_ADDRS) + 1];
	char end[BEACON_MARKER_LEN + 1];
	char beacon[BEACON_MAX_LEN]; /* begin || data || end */
	uint16_t hour;		     /* the hour written, see "Beacons VpnCloud cannot read" */
};

/* Why a candidate (the text between a begin and an end marker) gave no addresses. */
enum beacon_status {
	BEACON_OK = 0,	   /* a beacon; its addresses are reported */
	BEACON_SHORT,	   /* fewer than 4 bytes (e.g. markers with nothing between them) */
	BEACON_TOO_LONG,   /* longer than BEACON_CANDIDATE_MAXLEN characters */
	BEACON_CHECKSUM,   /* seed check failed: another password, or corrupted */
	BEACON_BAD_LENGTH, /* checksum fine but the address entries do not fit the length */
	BEACON_EXPIRED,	   /* hour farther than the ttl from now (only with a ttl >= 0) */
	BEACON_SKIPPED,	   /* not decoded: more than BEACON_MAX_CANDIDATES candidates */
	BEACON_NSTATUS,
};

/* One candidate as beacon_scan() reports it. Everything is borrowed for the callback only. */
struct beacon_found {
	enum beacon_status status;
	size_t offset;		  /* byte offset of the begin marker in the text */
	uint16_t hour;		  /* OK, EXPIRED, BAD_LENGTH (checksum passed), else 0 */
	size_t naddrs;		  /* BEACON_OK: number of addresses (IPv4 first, then IPv6) */
	const struct addr *addrs; /* BEACON_OK: the addresses, normalised (IPv4 mapped) */
};

/* Counters of one beacon_scan()/beacon_decode() run. */
struct beacon_stats {
	unsigned candidates;		/* begin..end pairs seen */
	unsigned count[BEACON_NSTATUS]; /* per status; count[BEACON_OK] = valid beacons */
	size_t addrs;			/* addresses in valid beacons (also ones not stored) */
};

typedef void (*beacon_cb)(void *ctx, const struct beacon_found *found);

/*
 * hour value of a CLOCK_MONOTONIC(_COARSE) reading in seconds, as VpnCloud writes and
 * compares it: (secs / 3600) mod 65536.
 */
uint16_t beacon_hour(uint64_t mono_secs);

/*
 * True when a beacon written at hour `then` is acceptable at `now` with VpnCloud's rule:
 * rejected only if both now - then and then - now (mod 65536) exceed ttl. ttl < 0 (or
 * >= 65535) accepts everything.
 */
bool beacon_hour_ok(uint16_t then, uint16_t now, int ttl);

/*
 * The begin and end markers of a password (NULL or "" = no beacon password: PNehe, RFu5I).
 * The password is used as raw bytes, as VpnCloud does.
 */
void beacon_markers(struct beacon_markers *m, const char *password);

/*
 * Encodes n addresses (any mix; IPv4-mapped ones become IPv4 entries, written before the
 * IPv6 ones, each group in the given order) and the hour into out (outsz bytes incl. NUL):
 * begin || data || end, NUL-terminated (scope ids are not part of a beacon). *hour_used
 * (optional) receives the hour written. Returns the length, -E2BIG (more than
 * BEACON_LIMIT_ADDRS addresses) or -ENOSPC (out too small, BEACON_STRLEN(n) + 1 always
 * suffices); out is "" on error.
 */
int beacon_encode(char *out, size_t outsz, const char *password, uint16_t hour,
		  const struct addr *addrs, size_t n, uint16_t *hour_used) WUR;

/*
 * beacon_encode() for the node's store step: fills all of t (at most BEACON_MAX_ADDRS
 * addresses, else -E2BIG). 0 or -E2BIG.
 */
int beacon_encode_text(struct beacon_text *t, const char *password, uint16_t hour,
		       const struct addr *addrs, size_t n) WUR;

/*
 * Finds every beacon of the password in text (len bytes, need not be NUL-terminated; any
 * bytes): characters other than ASCII letters and digits are ignored, so beacons may be
 * split by whitespace or punctuation and embedded in other text (PROTOCOL.md 7.5). Calls cb
 * (optional) once per candidate, in text order, with its status. now_hour and ttl are the
 * TTL policy (see the top of this file; BEACON_TTL_NONE recommended). st (optional) is
 * zeroed and filled. Returns the number of addresses in valid beacons.
 */
size_t beacon_scan(const char *password, const char *text, size_t len, uint16_t now_hour, int ttl,
		   beacon_cb cb, void *ctx, struct beacon_stats *st);

/*
 * beacon_scan() collecting the addresses of all valid beacons into out (the first max of
 * them, in text order, duplicates kept). Returns how many were stored; st->addrs says how
 * many there were.
 */
size_t beacon_decode(const char *password, const char *text, size_t len, uint16_t now_hour, int ttl,
		     struct addr *out, size_t max, struct beacon_stats *st);

/* "ok", "too short", "bad checksum (other password or corrupted)", ... */
const char *beacon_status_str(enum beacon_status s);

#endif

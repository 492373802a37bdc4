// SPDX-License-Identifier: GPL-3.0-or-later
/* beacon.c - VpnCloud 2.3 beacons: encode addresses, find and decode beacons in any text. */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/beacon.h"
#include "meshvpn/bytes.h"

/* Keystream types (PROTOCOL.md 7.3). */
enum { KS_BEGIN = 0, KS_END = 1, KS_DATA = 2, KS_SEED = 3 };
#define KS_LEN	  crypto_hash_sha512_BYTES
#define KS_CHUNK  16 /* bytes of each keystream block used for masking */
#define PLAIN_MAX BEACON_PLAIN_LEN(0, BEACON_LIMIT_ADDRS)

_Static_assert(BEACON_LIMIT_ADDRS <= 255, "the IPv4 count is one byte");
_Static_assert((BEACON_DECODE_WIDTH + KS_CHUNK - 1) / KS_CHUNK <= 256,
	       "the keystream block counter is one byte");
_Static_assert(BEACON_DECODE_WIDTH >= PLAIN_MAX + 1, "a decoder reads what the encoder writes");

/* The password as the raw bytes VpnCloud hashes (no password = no bytes). */
struct pw {
	const uint8_t *p;
	size_t len;
};

static struct pw pw_of(const char *password)
{
	struct pw w = {(const uint8_t *)"", 0};

	if (password) {
		w.p = (const uint8_t *)password;
		w.len = strlen(password);
	}
	return w;
}

/*
 * KS(type, seed, iter) = SHA-512(type || seed || iter || password). libsodium's SHA-512 is
 * plain portable code that needs no sodium_init() (as handshake.c relies on for SHA-256).
 */
static void keystream(uint8_t out[KS_LEN], struct pw pw, uint8_t type, uint8_t seed, uint8_t iter)
{
	crypto_hash_sha512_state st;
	const uint8_t head[3] = {type, seed, iter};

	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, head, sizeof(head));
	crypto_hash_sha512_update(&st, pw.p, pw.len);
	crypto_hash_sha512_final(&st, out);
}

/* XORs data with the first 16 bytes of KS(DATA, seed, 0), then of KS(DATA, seed, 1), ... */
static void mask(uint8_t *data, size_t n, struct pw pw, uint8_t seed)
{
	uint8_t ks[KS_LEN];

	for (size_t off = 0; off < n; off += KS_CHUNK) {
		keystream(ks, pw, KS_DATA, seed, (uint8_t)(off / KS_CHUNK));
		for (size_t i = 0; i < KS_CHUNK && off + i < n; i++)
			data[off + i] ^= ks[i];
	}
	sodium_memzero(ks, sizeof(ks));
}

/* KS(SEED, 0, 0)[0]: what the seed byte is XORed with. */
static uint8_t seed_mask(struct pw pw)
{
	uint8_t ks[KS_LEN], m;

	keystream(ks, pw, KS_SEED, 0, 0);
	m = ks[0];
	sodium_memzero(ks, sizeof(ks));
	return m;
}

static uint8_t sha512_first(const uint8_t *data, size_t n)
{
	uint8_t d[crypto_hash_sha512_BYTES];

	crypto_hash_sha512(d, data, n);
	return d[0];
}

/* First BEACON_MARKER_LEN characters of base62(KS(type, 0, 0)). */
static void marker(char out[BEACON_MARKER_LEN + 1], struct pw pw, uint8_t type)
{
	uint8_t ks[KS_LEN];
	char b62[KEYS_B62_MAXCHARS(KS_LEN) + 1];

	keystream(ks, pw, type, 0, 0);
	/*
	 * Cannot fail (the buffer fits any 64-byte value) and yields ~86 characters: fewer
	 * than 5 would need 60 leading zero bytes.
	 */
	if (keys_b62_encode(b62, sizeof(b62), ks, sizeof(ks)) < BEACON_MARKER_LEN)
		memset(b62, '0', BEACON_MARKER_LEN);
	memcpy(out, b62, BEACON_MARKER_LEN);
	out[BEACON_MARKER_LEN] = '\0';
	sodium_memzero(ks, sizeof(ks));
}

uint16_t beacon_hour(uint64_t mono_secs)
{
	return (uint16_t)(mono_secs / 3600);
}

bool beacon_hour_ok(uint16_t then, uint16_t now, int ttl)
{
	if (ttl < 0)
		return true;
	return (uint16_t)(now - then) <= ttl || (uint16_t)(then - now) <= ttl;
}

void beacon_markers(struct beacon_markers *m, const char *password)
{
	struct pw pw = pw_of(password);

	marker(m->begin, pw, KS_BEGIN);
	marker(m->end, pw, KS_END);
}

int beacon_encode(char *out, size_t outsz, const char *password, uint16_t hour,
		  const struct addr *addrs, size_t n, uint16_t *hour_used)
{
	uint8_t plain[PLAIN_MAX], masked[PLAIN_MAX + 1], seed;
	char b[BEACON_STRLEN(BEACON_LIMIT_ADDRS) + 1];
	struct pw pw = pw_of(password);
	struct beacon_markers m;
	size_t n4 = 0, len, i, blen = 0;
	uint16_t h = hour;
	struct wr w;
	int dlen;

	if (outsz > 0)
		out[0] = '\0';
	if (n > BEACON_LIMIT_ADDRS)
		return -E2BIG;
	for (i = 0; i < n; i++)
		n4 += addr_is_v4(&addrs[i]);
	wr_init(&w, plain, sizeof(plain));
	wr_be16(&w, hour);
	wr_u8(&w, (uint8_t)n4);
	/* all IPv4 entries first, then the IPv6 ones (their count is implied by the length) */
	for (i = 0; i < n; i++) {
		uint8_t e[BEACON_V4_ENTRY_LEN];

		if (addr_to_wire6(&addrs[i], e))
			wr_bytes(&w, e, sizeof(e));
	}
	for (i = 0; i < n; i++) {
		uint8_t e[BEACON_V6_ENTRY_LEN];

		if (!addr_is_v4(&addrs[i])) {
			addr_to_wire18(&addrs[i], e);
			wr_bytes(&w, e, sizeof(e));
		}
	}
	if (!wr_ok(&w))
		return -E2BIG; /* cannot happen: PLAIN_MAX fits BEACON_LIMIT_ADDRS of any kind */
	len = w.len;

	beacon_markers(&m, password);
	/*
	 * VpnCloud cannot read a beacon whose masked data starts with 0x00 (base62 loses the
	 * byte, PROTOCOL.md 7.5), nor one with the end marker inside (its reader ends the data
	 * there, or panics when the marker overlaps the begin marker): step the hour back
	 * until neither happens (beacon.h). The last try is kept if all fail (never seen).
	 */
	for (unsigned t = 0; t < BEACON_ENCODE_TRIES; t++) {
		h = (uint16_t)(hour - t);
		put_be16(plain, h);
		seed = sha512_first(plain, len);
		memcpy(masked, plain, len);
		mask(masked, len, pw, seed);
		masked[len] = seed ^ seed_mask(pw);
		memcpy(b, m.begin, BEACON_MARKER_LEN);
		dlen = keys_b62_encode(b + BEACON_MARKER_LEN, sizeof(b) - 2 * BEACON_MARKER_LEN,
				       masked, len + 1);
		if (dlen < 0)
			return -ENOSPC; /* cannot happen: b is sized for BEACON_LIMIT_ADDRS */
		blen = (size_t)dlen + 2 * BEACON_MARKER_LEN;
		memcpy(b + BEACON_MARKER_LEN + dlen, m.end, BEACON_MARKER_LEN + 1);
		if (masked[0] != 0 && strstr(b, m.end) == b + blen - BEACON_MARKER_LEN)
			break;
	}
	if (blen >= outsz)
		return -ENOSPC;
	memcpy(out, b, blen + 1);
	if (hour_used)
		*hour_used = h;
	return (int)blen;
}

int beacon_encode_text(struct beacon_text *t, const char *password, uint16_t hour,
		       const struct addr *addrs, size_t n)
{
	int len;

	memset(t, 0, sizeof(*t));
	if (n > BEACON_MAX_ADDRS)
		return -E2BIG;
	len = beacon_encode(t->beacon, sizeof(t->beacon), password, hour, addrs, n, &t->hour);
	if (len < 0)
		return len; /* cannot happen: sized for BEACON_MAX_ADDRS */
	memcpy(t->begin, t->beacon, BEACON_MARKER_LEN);
	memcpy(t->data, t->beacon + BEACON_MARKER_LEN, (size_t)len - 2 * BEACON_MARKER_LEN);
	memcpy(t->end, t->beacon + len - BEACON_MARKER_LEN, BEACON_MARKER_LEN);
	return 0;
}

/* ---- decoding ---- */

/* ASCII letters and digits only (Rust's is_ascii_alphanumeric, not the locale's). */
static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/*
 * Finds the first occurrence of marker in the alphanumeric characters of text[from..len),
 * ignoring everything else in between. *start = offset of its first character, *end = just
 * after its last.
 */
static bool find_marker(const char *text, size_t len, size_t from,
			const char marker[BEACON_MARKER_LEN], size_t *start, size_t *end)
{
	char win[BEACON_MARKER_LEN];
	size_t pos[BEACON_MARKER_LEN];
	unsigned have = 0;

	for (size_t i = from; i < len; i++) {
		if (!is_alnum((unsigned char)text[i]))
			continue;
		memmove(win, win + 1, BEACON_MARKER_LEN - 1);
		memmove(pos, pos + 1, (BEACON_MARKER_LEN - 1) * sizeof(pos[0]));
		win[BEACON_MARKER_LEN - 1] = text[i];
		pos[BEACON_MARKER_LEN - 1] = i;
		if (have < BEACON_MARKER_LEN)
			have++;
		if (have == BEACON_MARKER_LEN && memcmp(win, marker, BEACON_MARKER_LEN) == 0) {
			*start = pos[0];
			*end = i + 1;
			return true;
		}
	}
	return false;
}

/* Unmasks n bytes (masked data || seed byte) into plain; true when the seed check passes. */
static bool unmask(const uint8_t *in, size_t n, uint8_t *plain, struct pw pw, uint8_t smask)
{
	uint8_t seed = in[n - 1] ^ smask;

	memcpy(plain, in, n - 1);
	mask(plain, n - 1, pw, seed);
	return sha512_first(plain, n - 1) == seed;
}

/*
 * Parses the n bytes (masked data || seed byte) of one reading of a candidate: seed check,
 * TTL, entry lengths (VpnCloud's order), then the addresses.
 */
static enum beacon_status parse(const uint8_t *in, size_t n, struct pw pw, uint8_t smask,
				uint16_t now, int ttl, struct addr *addrs, size_t *naddrs,
				uint16_t *hour)
{
	uint8_t plain[BEACON_DECODE_WIDTH];
	size_t rest, n4, n6, i;
	struct rd r;

	if (n < 4)
		return BEACON_SHORT;
	if (!unmask(in, n, plain, pw, smask))
		return BEACON_CHECKSUM;
	rd_init(&r, plain, n - 1);
	*hour = rd_be16(&r);
	n4 = rd_u8(&r);
	if (!beacon_hour_ok(*hour, now, ttl))
		return BEACON_EXPIRED;
	rest = rd_left(&r);
	if (n4 * BEACON_V4_ENTRY_LEN > rest ||
	    (rest - n4 * BEACON_V4_ENTRY_LEN) % BEACON_V6_ENTRY_LEN)
		return BEACON_BAD_LENGTH;
	n6 = (rest - n4 * BEACON_V4_ENTRY_LEN) / BEACON_V6_ENTRY_LEN;
	for (i = 0; i < n4; i++)
		addr_from_wire6(&addrs[i], rd_bytes(&r, BEACON_V4_ENTRY_LEN));
	for (i = 0; i < n6; i++)
		addr_from_wire18(&addrs[n4 + i], rd_bytes(&r, BEACON_V6_ENTRY_LEN));
	*naddrs = n4 + n6;
	return BEACON_OK;
}

/* Decodes the cl characters of one candidate; fills addrs/naddrs/hour as far as it gets. */
static enum beacon_status decode_one(struct pw pw, uint8_t smask, const char *cand, size_t cl,
				     uint16_t now, int ttl, struct addr *addrs, size_t *naddrs,
				     uint16_t *hour)
{
	uint8_t num[BEACON_DECODE_WIDTH];
	size_t width = BEACON_DECODE_BYTES(cl), sig;
	enum beacon_status first = BEACON_OK;
	uint16_t h = 0, first_hour = 0;

	if (keys_b62_decode(num, width, cand, cl, &sig) < 0)
		return BEACON_TOO_LONG; /* cannot happen: alphanumeric only, width sufficient */
	/*
	 * First as VpnCloud reads it (the minimal byte string), then with zero bytes put back
	 * in front: the ~1/256 of beacons whose masked data starts with 0x00. A reading that
	 * fails is reported as VpnCloud's reading fails.
	 */
	for (size_t zeros = 0; zeros <= BEACON_ZEROS_RESTORED; zeros++) {
		enum beacon_status s = parse(num + width - sig - zeros, sig + zeros, pw, smask, now,
					     ttl, addrs, naddrs, &h);

		if (s == BEACON_OK) {
			*hour = h;
			return s;
		}
		if (zeros == 0) {
			first = s;
			first_hour = h;
		}
	}
	*hour = first_hour;
	return first;
}

size_t beacon_scan(const char *password, const char *text, size_t len, uint16_t now_hour, int ttl,
		   beacon_cb cb, void *ctx, struct beacon_stats *st)
{
	struct addr addrs[BEACON_FOUND_MAX_ADDRS];
	char cand[BEACON_CANDIDATE_MAXLEN];
	struct pw pw = pw_of(password);
	struct beacon_stats local;
	struct beacon_markers m;
	size_t pos = 0, bs, be, es = 0, ee, total = 0;
	bool have_end = false;
	uint8_t smask;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (!text)
		return 0;
	beacon_markers(&m, password);
	smask = seed_mask(pw);
	/*
	 * VpnCloud: find BEGIN from pos, then END from there; decode what lies between; go on
	 * from just after BEGIN. The END found for one BEGIN stays the first END for every
	 * later BEGIN before it, so the text is walked once instead of once per BEGIN.
	 */
	while (find_marker(text, len, pos, m.begin, &bs, &be)) {
		struct beacon_found f = {.offset = bs, .addrs = addrs};
		size_t cl = 0;

		pos = be;
		if (!have_end || es < be) {
			if (!find_marker(text, len, be, m.end, &es, &ee))
				break;
			have_end = true;
		}
		st->candidates++;
		if (st->candidates > BEACON_MAX_CANDIDATES) {
			f.status = BEACON_SKIPPED;
		} else {
			f.status = BEACON_OK;
			for (size_t i = be; i < es; i++) {
				if (!is_alnum((unsigned char)text[i]))
					continue;
				if (cl == sizeof(cand)) {
					f.status = BEACON_TOO_LONG;
					break;
				}
				cand[cl++] = text[i];
			}
		}
		if (f.status == BEACON_OK)
			f.status = decode_one(pw, smask, cand, cl, now_hour, ttl, addrs, &f.naddrs,
					      &f.hour);
		st->count[f.status]++;
		if (f.status == BEACON_OK) {
			st->addrs += f.naddrs;
			total += f.naddrs;
		}
		if (cb)
			cb(ctx, &f);
	}
	return total;
}

struct collect {
	struct addr *out;
	size_t max, n;
};

static void collect_cb(void *ctx, const struct beacon_found *f)
{
	struct collect *c = ctx;

	if (f->status != BEACON_OK)
		return;
	for (size_t i = 0; i < f->naddrs && c->n < c->max; i++)
		c->out[c->n++] = f->addrs[i];
}

size_t beacon_decode(const char *password, const char *text, size_t len, uint16_t now_hour, int ttl,
		     struct addr *out, size_t max, struct beacon_stats *st)
{
	struct collect c = {out, max, 0};

	beacon_scan(password, text, len, now_hour, ttl, collect_cb, &c, st);
	return c.n;
}

const char *beacon_status_str(enum beacon_status s)
{
	switch (s) {
	case BEACON_OK:
		return "ok";
	case BEACON_SHORT:
		return "too short";
	case BEACON_TOO_LONG:
		return "too long";
	case BEACON_CHECKSUM:
		return "bad checksum (other password or corrupted)";
	case BEACON_BAD_LENGTH:
		return "bad length of the address list";
	case BEACON_EXPIRED:
		return "expired (hour outside the ttl)";
	case BEACON_SKIPPED:
		return "skipped (too many candidates in the text)";
	case BEACON_NSTATUS:
		break;
	}
	return "?";
}

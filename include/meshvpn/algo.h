/* SPDX-License-Identifier: GPL-3.0-or-later */
/* algo.h - AEAD algorithm ids, names, key lengths, the ALGORITHMS list, selection, benchmark. */
#ifndef MESHVPN_ALGO_H
#define MESHVPN_ALGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "util.h"

/* Wire ids of the ALGORITHMS handshake field (PROTOCOL.md 1.6, 2.4). */
enum algo_id {
	ALGO_PLAIN = 0,
	ALGO_AES128 = 1,
	ALGO_AES256 = 2,
	ALGO_CHACHA20 = 3,
};

#define ALGO_MAX_ID	   3
#define ALGO_CIPHER_COUNT  3	/* AES128, AES256, CHACHA20 */
#define ALGO_ENTRY_LEN	   5	/* id (1) + speed as binary32 big-endian (4) */
#define ALGO_KEY_MAX	   32	/* longest cipher key */
#define ALGO_BENCH_SECONDS 0.1	/* start-up benchmark time per cipher */
#define ALGO_BENCH_MSG_LEN 1000 /* benchmark message size */
#define ALGO_BENCH_BATCH   1000 /* encrypt+decrypt round trips per clock read */
/* Longest ALGORITHMS value we write: plain + every cipher once. */
#define ALGO_LIST_MAX_LEN  ((ALGO_CIPHER_COUNT + 1) * ALGO_ENTRY_LEN)

struct algo_entry {
	uint8_t id;  /* ALGO_AES128..ALGO_CHACHA20 */
	float speed; /* MB/s as measured, compared exactly as transmitted */
};

/*
 * An algorithm list: our configured/benchmarked set (in preference order), or the set a peer
 * announced (each cipher at most once: the first entry for an id wins, as in the reference).
 */
struct algo_list {
	bool allow_plain;
	uint8_t n;
	struct algo_entry e[ALGO_CIPHER_COUNT];
};

/* "AES128", "AES256", "CHACHA20", "PLAIN" (for logs and stats); "?" for unknown ids. */
const char *algo_name(uint8_t id);
/* Cipher key length in bytes (16 or 32); 0 for plain or unknown ids. */
size_t algo_key_len(uint8_t id);
/* True for ALGO_AES128..ALGO_CHACHA20. */
bool algo_is_cipher(uint8_t id);
/*
 * Parses a configured algorithm name, case-insensitive, with the reference's aliases
 * (PLAIN/NONE/UNENCRYPTED, AES128[_GCM]/AES_128[_GCM], AES256..., CHACHA/CHACHA20[_POLY1305]).
 * Returns 0 or -EINVAL.
 */
int algo_from_name(const char *name, uint8_t *id) WUR;

/* Empties a list. */
void algo_list_init(struct algo_list *l);
/* Appends id with speed (ALGO_PLAIN just allows plain). -EINVAL unknown id, -EEXIST twice. */
int algo_list_add(struct algo_list *l, uint8_t id, float speed) WUR;
/* Speed of id in l, or false if l does not contain the cipher. */
bool algo_list_speed(const struct algo_list *l, uint8_t id, float *speed);

/* Length of the encoded ALGORITHMS value (5 per entry, plus 5 if plain is allowed). */
size_t algo_list_encoded_len(const struct algo_list *l);
/* Writes the ALGORITHMS value: "00 7f800000" if plain is allowed, then the ciphers in order. */
void algo_list_write(const struct algo_list *l, struct wr *w);
/*
 * Decodes an ALGORITHMS value. Unknown ids are skipped, a repeated cipher keeps its first
 * speed. Returns 0, or -EBADMSG if len is not a multiple of 5 (the reference never sends that;
 * its parser would lose sync).
 */
int algo_list_decode(struct algo_list *l, const uint8_t *p, size_t len) WUR;

/*
 * Selection (PROTOCOL.md 2.4): plain if both allow it; else the cipher in own order with the
 * highest min(own speed, peer speed), ties to the earlier one. Returns 0 and *id, or -ENOENT
 * when there is no common algorithm.
 */
int algo_select(const struct algo_list *own, const struct algo_list *peer, uint8_t *id) WUR;

/*
 * Measures a cipher through the real frame encrypt/decrypt path for about `seconds`
 * (batches of 1000 round trips of 1000-byte messages); *speed = bytes (enc + dec) / s / 1e6.
 * Reads the clock and allocates: start-up only. Returns 0 or -errno.
 */
int algo_benchmark(uint8_t id, double seconds, float *speed) WUR;
/*
 * Builds our list: plain flag, then each cipher of ids[] (configured order) benchmarked for
 * `seconds`. Returns 0 or -errno (-EINVAL for an unknown or repeated id).
 */
int algo_list_benchmark(struct algo_list *l, const uint8_t *ids, size_t n, bool allow_plain,
			double seconds) WUR;

#endif

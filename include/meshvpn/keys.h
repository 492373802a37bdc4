/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * keys.h - base62 text encoding, Ed25519 identities from a password or a base62 seed,
 * random key generation and the `genkey` output (VpnCloud 2.x compatible).
 */
#ifndef MESHVPN_KEYS_H
#define MESHVPN_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

#define KEYS_SEED_LEN	32 /* Ed25519 seed = the private key */
#define KEYS_PUB_LEN	32 /* Ed25519 public key */
#define KEYS_SECRET_LEN 64 /* libsodium's expanded secret key (seed || public) */
/* Upper bound of the base62 length of n bytes (log(256)/log(62) < 1.344), without NUL. */
#define KEYS_B62_MAXCHARS(n) (((n)*1344 + 999) / 1000)
/* Buffer size for a base62 32-byte key incl. NUL (real keys use at most 43 characters). */
#define KEYS_B62_KEYBUF (KEYS_B62_MAXCHARS(KEYS_SEED_LEN) + 1)

/*
 * Writes n bytes as one big-endian number in base62 (0-9A-Za-z, no padding, "" for zero)
 * into out (outsz bytes incl. NUL). Time depends only on n and outsz, not on the values.
 * Returns the string length or -ENOSPC (out is then "").
 */
int keys_b62_encode(char *out, size_t outsz, const uint8_t *in, size_t n) WUR;
/*
 * Decodes inlen base62 characters into a width-byte big-endian number in out (left-padded
 * with zeros). *sig (optional) receives the number of significant bytes, i.e. the length
 * of the minimal encoding (0 for zero). Returns 0, -EINVAL (character outside the alphabet)
 * or -EMSGSIZE (the value needs more than width bytes); out is zeroed on error.
 */
int keys_b62_decode(uint8_t *out, size_t width, const char *in, size_t inlen, size_t *sig) WUR;

/* Base62 text of a 32-byte key; returns out. */
const char *keys_encode(char out[static KEYS_B62_KEYBUF], const uint8_t key[static KEYS_PUB_LEN]);
/*
 * Parses a base62 key (seed or public key) into 32 bytes. Values shorter than 32 bytes are
 * left-padded (VpnCloud loses leading zero bytes). 0 or -EINVAL (empty, bad character or
 * more than 32 bytes).
 */
int keys_decode(uint8_t key[static KEYS_PUB_LEN], const char *text) WUR;

/* seed = PBKDF2-HMAC-SHA256(password, VpnCloud salt, 4096, 32); pub from the seed. 0/-EIO. */
int keys_from_password(uint8_t seed[static KEYS_SEED_LEN], uint8_t pub[static KEYS_PUB_LEN],
		       const char *password) WUR;
/* Ed25519 public key of a seed. 0 or -EIO. */
int keys_public_from_seed(uint8_t pub[static KEYS_PUB_LEN],
			  const uint8_t seed[static KEYS_SEED_LEN]) WUR;
/*
 * Random key pair whose seed and public key both start with a non-zero byte, so that
 * VpnCloud 2.3 can read them back (PROTOCOL.md 11 item 8). 0 or -EIO.
 */
int keys_generate(uint8_t seed[static KEYS_SEED_LEN], uint8_t pub[static KEYS_PUB_LEN]) WUR;
/* True when pub is the public key of seed (constant-time comparison). */
bool keys_public_matches(const uint8_t seed[static KEYS_SEED_LEN],
			 const uint8_t pub[static KEYS_PUB_LEN]);

/* A node's long-term identity; lives in sodium_malloc() memory. */
struct keys_identity {
	uint8_t seed[KEYS_SEED_LEN];
	uint8_t pub[KEYS_PUB_LEN];
	uint8_t secret[KEYS_SECRET_LEN]; /* for crypto_sign_detached() */
};

/*
 * Builds the identity from the configuration (CONFIG.md 10.1): the base62 private key if
 * given (checked against public_key when that is given too), else the password. Returns a
 * new identity in *out (free with keys_identity_free) or sets *out = NULL and returns
 * -ENOKEY (neither given), -EINVAL (unparsable key), -EKEYREJECTED (public key does not
 * match), -ENOMEM or -EIO. Nothing secret is left behind on failure.
 */
int keys_identity_load(struct keys_identity **out, const char *private_key, const char *public_key,
		       const char *password) WUR;
/*
 * Wipes the seed and the expanded secret key, keeping the public key: for when the private
 * key has been handed over (session_ctx_new keeps its own guarded copy). Accepts NULL.
 */
void keys_identity_forget_secret(struct keys_identity *id);
/* Wipes and frees an identity; accepts NULL. */
void keys_identity_free(struct keys_identity *id);

/*
 * Prints what `vpncloud genkey` prints: "Private key: ..", "Public key: ..", an empty line
 * and the reminder to keep the private key secret. Random keys unless password is given.
 * 0, -EIO (write error or crypto failure).
 */
int keys_genkey_print(FILE *out, const char *password) WUR;

#endif

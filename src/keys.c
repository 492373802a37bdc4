// SPDX-License-Identifier: GPL-3.0-or-later
/* keys.c - base62 key text, password-derived and random Ed25519 identities, genkey output. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "meshvpn/keys.h"

/* VpnCloud's fixed PBKDF2 salt and iteration count (CONFIG.md 10.1). */
static const char pbkdf2_salt[] = "vpncloudVPNCLOUDvpncl0udVpnCloud";
#define PBKDF2_ITERATIONS 4096

static const char genkey_reminder[] = "Attention: Keep the private key secret and use only "
				      "the public key on other nodes to establish trust.";

static int crypto_ready(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

/*
 * Digit value -> character without table lookups or branches on the value:
 * 0-9 -> '0'.., 10-35 -> 'A'.., 36-61 -> 'a'.. (each ">> 8" is -1 when the difference is
 * negative, i.e. when the digit is beyond the previous group).
 */
static char b62_char(int v)
{
	int c = v + '0';
	c += ((9 - v) >> 8) & ('A' - '0' - 10);
	c += ((35 - v) >> 8) & ('a' - 'A' - 26);
	return (char)c;
}

/* Character -> digit value, or -1; branch-free in the character like the encoder. */
static int b62_value(unsigned char ch)
{
	int c = ch, ret = -1;

	ret += ((('0' - 1 - c) & (c - ('9' + 1))) >> 8) & (c - '0' + 1);
	ret += ((('A' - 1 - c) & (c - ('Z' + 1))) >> 8) & (c - 'A' + 11);
	ret += ((('a' - 1 - c) & (c - ('z' + 1))) >> 8) & (c - 'a' + 37);
	return ret;
}

int keys_b62_encode(char *out, size_t outsz, const uint8_t *in, size_t n)
{
	size_t digits, len, i, j;
	unsigned overflow = 0;

	if (outsz == 0)
		return -ENOSPC;
	digits = MIN(outsz - 1, (size_t)KEYS_B62_MAXCHARS(n));
	if (digits > INT_MAX)
		return -ENOSPC;
	/* out[] holds the digits (least significant first) as raw values while converting. */
	memset(out, 0, digits + 1);
	for (i = 0; i < n; i++) {
		unsigned carry = in[i];
		for (j = 0; j < digits; j++) {
			unsigned v = (unsigned)(unsigned char)out[j] * 256 + carry;
			out[j] = (char)(v % 62);
			carry = v / 62;
		}
		overflow |= carry;
	}
	if (overflow) {
		sodium_memzero(out, digits + 1);
		return -ENOSPC;
	}
	for (len = digits; len > 0 && out[len - 1] == 0; len--)
		;
	for (i = 0; i < len / 2; i++) {
		char t = out[i];
		out[i] = out[len - 1 - i];
		out[len - 1 - i] = t;
	}
	for (i = 0; i < len; i++)
		out[i] = b62_char(out[i]);
	out[len] = '\0';
	return (int)len;
}

int keys_b62_decode(uint8_t *out, size_t width, const char *in, size_t inlen, size_t *sig)
{
	unsigned bad = 0, overflow = 0;
	size_t i, j;

	memset(out, 0, width);
	for (i = 0; i < inlen; i++) {
		int v = b62_value((unsigned char)in[i]);
		unsigned carry;

		bad |= (unsigned)v >> 31;
		carry = (unsigned)v & 63;
		for (j = width; j > 0; j--) {
			unsigned x = (unsigned)out[j - 1] * 62 + carry;
			out[j - 1] = (uint8_t)x;
			carry = x >> 8;
		}
		overflow |= carry;
	}
	if (bad || overflow) {
		sodium_memzero(out, width);
		return bad ? -EINVAL : -EMSGSIZE;
	}
	if (sig) {
		for (i = 0; i < width && out[i] == 0; i++)
			;
		*sig = width - i;
	}
	return 0;
}

const char *keys_encode(char out[static KEYS_B62_KEYBUF], const uint8_t key[static KEYS_PUB_LEN])
{
	/* Cannot fail: the buffer is sized for any 32-byte value. */
	if (keys_b62_encode(out, KEYS_B62_KEYBUF, key, KEYS_PUB_LEN) < 0)
		out[0] = '\0';
	return out;
}

int keys_decode(uint8_t key[static KEYS_PUB_LEN], const char *text)
{
	size_t len = strlen(text);

	if (len == 0) {
		memset(key, 0, KEYS_PUB_LEN);
		return -EINVAL;
	}
	return keys_b62_decode(key, KEYS_PUB_LEN, text, len, NULL) < 0 ? -EINVAL : 0;
}

int keys_public_from_seed(uint8_t pub[static KEYS_PUB_LEN],
			  const uint8_t seed[static KEYS_SEED_LEN])
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	int r = crypto_ready();

	if (r == 0 && crypto_sign_seed_keypair(pub, sk, seed) != 0)
		r = -EIO;
	sodium_memzero(sk, sizeof(sk));
	return r;
}

int keys_from_password(uint8_t seed[static KEYS_SEED_LEN], uint8_t pub[static KEYS_PUB_LEN],
		       const char *password)
{
	size_t len = strlen(password);
	int r;

	if (len > INT_MAX)
		return -EINVAL;
	if (PKCS5_PBKDF2_HMAC(password, (int)len, (const unsigned char *)pbkdf2_salt,
			      (int)(sizeof(pbkdf2_salt) - 1), PBKDF2_ITERATIONS, EVP_sha256(),
			      KEYS_SEED_LEN, seed) != 1) {
		r = -EIO;
		goto fail;
	}
	r = keys_public_from_seed(pub, seed);
	if (r < 0)
		goto fail;
	return 0;
fail:
	sodium_memzero(seed, KEYS_SEED_LEN);
	return r;
}

int keys_generate(uint8_t seed[static KEYS_SEED_LEN], uint8_t pub[static KEYS_PUB_LEN])
{
	int r = crypto_ready();

	if (r < 0)
		return r;
	do {
		randombytes_buf(seed, KEYS_SEED_LEN);
		r = keys_public_from_seed(pub, seed);
		if (r < 0) {
			sodium_memzero(seed, KEYS_SEED_LEN);
			return r;
		}
	} while (seed[0] == 0 || pub[0] == 0);
	return 0;
}

bool keys_public_matches(const uint8_t seed[static KEYS_SEED_LEN],
			 const uint8_t pub[static KEYS_PUB_LEN])
{
	uint8_t derived[KEYS_PUB_LEN];

	if (keys_public_from_seed(derived, seed) < 0)
		return false;
	return sodium_memcmp(derived, pub, KEYS_PUB_LEN) == 0;
}

int keys_identity_load(struct keys_identity **out, const char *private_key, const char *public_key,
		       const char *password)
{
	struct keys_identity *id = NULL;
	uint8_t want[KEYS_PUB_LEN];
	int r;

	*out = NULL;
	if (!private_key && !password)
		return -ENOKEY;
	r = crypto_ready();
	if (r < 0)
		return r;
	id = sodium_malloc(sizeof(*id));
	if (!id)
		return -ENOMEM;
	if (private_key) {
		r = keys_decode(id->seed, private_key);
		if (r < 0)
			goto out;
	} else {
		uint8_t pub[KEYS_PUB_LEN];
		r = keys_from_password(id->seed, pub, password);
		if (r < 0)
			goto out;
	}
	if (crypto_sign_seed_keypair(id->pub, id->secret, id->seed) != 0) {
		r = -EIO;
		goto out;
	}
	/* The public key is only checked against a configured private key, as VpnCloud does. */
	if (private_key && public_key) {
		r = keys_decode(want, public_key);
		if (r < 0)
			goto out;
		if (sodium_memcmp(want, id->pub, KEYS_PUB_LEN) != 0) {
			r = -EKEYREJECTED;
			goto out;
		}
	}
	*out = id;
	id = NULL;
	r = 0;
out:
	keys_identity_free(id);
	return r;
}

void keys_identity_forget_secret(struct keys_identity *id)
{
	if (!id)
		return;
	sodium_memzero(id->seed, sizeof(id->seed));
	sodium_memzero(id->secret, sizeof(id->secret));
}

void keys_identity_free(struct keys_identity *id)
{
	if (!id)
		return;
	/* sodium_free() wipes the allocation too; be explicit about the intent. */
	sodium_memzero(id, sizeof(*id));
	sodium_free(id);
}

int keys_genkey_print(FILE *out, const char *password)
{
	uint8_t seed[KEYS_SEED_LEN], pub[KEYS_PUB_LEN];
	char seed_txt[KEYS_B62_KEYBUF], pub_txt[KEYS_B62_KEYBUF];
	int r;

	r = password ? keys_from_password(seed, pub, password) : keys_generate(seed, pub);
	if (r < 0)
		goto out;
	keys_encode(seed_txt, seed);
	keys_encode(pub_txt, pub);
	if (fprintf(out, "Private key: %s\nPublic key: %s\n\n%s\n", seed_txt, pub_txt,
		    genkey_reminder) < 0 ||
	    fflush(out) != 0)
		r = -EIO;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(seed_txt, sizeof(seed_txt));
	return r;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* test_keys.c - base62 vectors, PBKDF2 identity vector A.1, random keys, genkey output. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/bytes.h"
#include "meshvpn/keys.h"

#define A1_SEED_HEX "67d20409c97fb9cc56119343f183c0047b47f22251a8a04bd8936ad85bb8e24d"
#define A1_SEED_B62 "OcNT14Czd82FN9R7Bms8WW0ZX50TO7SoA99yGK2Rmyz"
#define A1_PUB_HEX  "6b36b29a19d4408c1aa5f8c146c15f1b91d1ede28ace5aec7387b7954c7c7ab3"
#define A1_PUB_B62  "PQGYPnaB8PV2qWtxGtN9wibSKzYbSwbQh1s9b5syjch"

static const char *enc(const void *in, size_t n)
{
	static char buf[256];
	int r = keys_b62_encode(buf, sizeof(buf), in, n);
	assert_true(r >= 0);
	assert_int_equal((size_t)r, strlen(buf));
	return buf;
}

/* Decodes to the minimal byte string; returns its length or -errno. */
static int dec(const char *s, uint8_t *out, size_t width)
{
	size_t sig;
	int r = keys_b62_decode(out, width, s, strlen(s), &sig);
	if (r < 0)
		return r;
	memmove(out, out + width - sig, sig);
	return (int)sig;
}

static void test_b62_vectors(void **state)
{
	(void)state;
	uint8_t out[64];

	assert_string_equal(enc("Test", 4), "1Xp7Ke");
	assert_string_equal(enc((uint8_t[]){1, 0}, 2), "48");
	assert_string_equal(enc((uint8_t[]){62}, 1), "10");
	assert_string_equal(enc((uint8_t[]){61}, 1), "z");
	assert_string_equal(enc((uint8_t[]){0}, 1), "");
	assert_string_equal(enc((uint8_t[]){0, 0, 0}, 3), "");
	assert_string_equal(enc("", 0), "");
	assert_string_equal(enc((uint8_t[]){9}, 1), "9");
	assert_string_equal(enc((uint8_t[]){10}, 1), "A");
	assert_string_equal(enc((uint8_t[]){35}, 1), "Z");
	assert_string_equal(enc((uint8_t[]){36}, 1), "a");
	assert_string_equal(enc((uint8_t[]){255, 255}, 2), "H31");

	assert_int_equal(dec("1Xp7Ke", out, 16), 4);
	assert_memory_equal(out, "Test", 4);
	assert_int_equal(dec("48", out, 16), 2);
	assert_memory_equal(out, ((uint8_t[]){1, 0}), 2);
	assert_int_equal(dec("10", out, 16), 1);
	assert_int_equal(out[0], 62);
	assert_int_equal(dec("z", out, 16), 1);
	assert_int_equal(out[0], 61);
	assert_int_equal(dec("", out, 16), 0);
	assert_int_equal(dec("000", out, 16), 0);
	assert_int_equal(dec("H31", out, 2), 2);
	assert_memory_equal(out, ((uint8_t[]){255, 255}), 2);
}

static void test_b62_errors(void **state)
{
	(void)state;
	uint8_t out[4];
	char small[3];

	assert_int_equal(keys_b62_decode(out, 4, "ab-c", 4, NULL), -EINVAL);
	assert_int_equal(keys_b62_decode(out, 4, "ab c", 4, NULL), -EINVAL);
	assert_int_equal(keys_b62_decode(out, 4, "a+", 2, NULL), -EINVAL);
	assert_int_equal(keys_b62_decode(out, 4, "a\0b", 3, NULL), -EINVAL);
	assert_int_equal(keys_b62_decode(out, 4, "\xc3\xa4", 2, NULL), -EINVAL);
	assert_memory_equal(out, ((uint8_t[4]){0}), 4);
	/* 2^32 does not fit into 4 bytes, 2^32 - 1 does */
	assert_int_equal(keys_b62_decode(out, 4, "4gfFC4", 6, NULL), -EMSGSIZE);
	assert_int_equal(keys_b62_decode(out, 4, "4gfFC3", 6, NULL), 0);
	assert_memory_equal(out, ((uint8_t[]){255, 255, 255, 255}), 4);
	/* encode output buffer too small */
	assert_int_equal(keys_b62_encode(small, sizeof(small), (const uint8_t *)"Test", 4),
			 -ENOSPC);
	assert_string_equal(small, "");
	assert_int_equal(keys_b62_encode(small, 0, (const uint8_t *)"T", 1), -ENOSPC);
	assert_int_equal(keys_b62_encode(small, sizeof(small), (const uint8_t *)"\x01\x00", 2), 2);
	assert_string_equal(small, "48");
}

static void test_b62_roundtrip(void **state)
{
	(void)state;
	uint8_t in[40], out[40];
	char txt[KEYS_B62_MAXCHARS(40) + 1];

	for (int iter = 0; iter < 2000; iter++) {
		size_t n = (size_t)(iter % 40) + 1;
		size_t zeros = (size_t)(iter % 5) % n, sig;
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)rand();
		memset(in, 0, zeros);
		if (zeros < n && in[zeros] == 0)
			in[zeros] = 1;
		int len = keys_b62_encode(txt, sizeof(txt), in, n);
		assert_true(len > 0);
		assert_true((size_t)len <= KEYS_B62_MAXCHARS(n));
		assert_int_equal(keys_b62_decode(out, n, txt, (size_t)len, &sig), 0);
		assert_int_equal(sig, n - zeros);
		/* leading zero bytes are lost in the text and restored by the padding */
		assert_memory_equal(out, in, n);
	}
}

static void test_key_decode(void **state)
{
	(void)state;
	uint8_t key[KEYS_PUB_LEN], expect[KEYS_PUB_LEN];
	char txt[KEYS_B62_KEYBUF];

	assert_int_equal(hex_decode(expect, 32, A1_PUB_HEX), 0);
	assert_int_equal(keys_decode(key, A1_PUB_B62), 0);
	assert_memory_equal(key, expect, 32);
	assert_string_equal(keys_encode(txt, key), A1_PUB_B62);

	/* a key with a leading zero byte: shorter text, padded on decode */
	memset(expect, 0, sizeof(expect));
	expect[1] = 0x42;
	expect[31] = 7;
	keys_encode(txt, expect);
	assert_true(strlen(txt) < 43);
	assert_int_equal(keys_decode(key, txt), 0);
	assert_memory_equal(key, expect, 32);
	assert_int_equal(keys_decode(key, "1"), 0);
	assert_int_equal(key[31], 1);
	assert_int_equal(key[0], 0);

	/* 2^256 - 1 is the largest value that fits */
	memset(expect, 0xff, sizeof(expect));
	keys_encode(txt, expect);
	assert_int_equal(strlen(txt), 43);
	assert_int_equal(keys_decode(key, txt), 0);
	assert_memory_equal(key, expect, 32);
	/* one more digit is more than 32 bytes */
	char longer[64];
	snprintf(longer, sizeof(longer), "%s0", txt);
	assert_int_equal(keys_decode(key, longer), -EINVAL);
	assert_int_equal(keys_decode(key, A1_PUB_B62 "A"), -EINVAL);
	assert_int_equal(keys_decode(key, ""), -EINVAL);
	assert_int_equal(keys_decode(key, "PQGYPnaB8PV2qWtx/tN9wibSKzYbSwbQh1s9b5syjch"), -EINVAL);
	assert_int_equal(keys_decode(key, " " A1_PUB_B62), -EINVAL);
}

static void test_password_vector(void **state)
{
	(void)state;
	uint8_t seed[32], pub[32], expect[32];
	char txt[KEYS_B62_KEYBUF];

	assert_int_equal(keys_from_password(seed, pub, "test"), 0);
	assert_int_equal(hex_decode(expect, 32, A1_SEED_HEX), 0);
	assert_memory_equal(seed, expect, 32);
	assert_string_equal(keys_encode(txt, seed), A1_SEED_B62);
	assert_int_equal(hex_decode(expect, 32, A1_PUB_HEX), 0);
	assert_memory_equal(pub, expect, 32);
	assert_string_equal(keys_encode(txt, pub), A1_PUB_B62);
	assert_true(keys_public_matches(seed, pub));

	/* a different password gives a different key */
	assert_int_equal(keys_from_password(seed, pub, "test2"), 0);
	assert_memory_not_equal(pub, expect, 32);
	assert_false(keys_public_matches(seed, expect));
}

static void test_generate(void **state)
{
	(void)state;
	uint8_t seed[32], pub[32], prev[32] = {0};

	for (int i = 0; i < 3000; i++) {
		assert_int_equal(keys_generate(seed, pub), 0);
		assert_int_not_equal(seed[0], 0);
		assert_int_not_equal(pub[0], 0);
		assert_true(keys_public_matches(seed, pub));
		assert_memory_not_equal(seed, prev, 32);
		memcpy(prev, seed, 32);
	}
}

static void test_identity(void **state)
{
	(void)state;
	struct keys_identity *id = (void *)1;
	uint8_t expect[32];

	/* password */
	assert_int_equal(keys_identity_load(&id, NULL, NULL, "test"), 0);
	assert_non_null(id);
	assert_int_equal(hex_decode(expect, 32, A1_SEED_HEX), 0);
	assert_memory_equal(id->seed, expect, 32);
	assert_memory_equal(id->secret, expect, 32);
	assert_int_equal(hex_decode(expect, 32, A1_PUB_HEX), 0);
	assert_memory_equal(id->pub, expect, 32);
	assert_memory_equal(id->secret + 32, expect, 32);
	keys_identity_free(id);

	/* private key with matching public key; the password is ignored */
	assert_int_equal(keys_identity_load(&id, A1_SEED_B62, A1_PUB_B62, "other"), 0);
	assert_memory_equal(id->pub, expect, 32);
	/* forgetting the secret keeps the public key, and nothing of the private one */
	keys_identity_forget_secret(id);
	assert_memory_equal(id->pub, expect, 32);
	for (size_t i = 0; i < sizeof(id->seed); i++)
		assert_int_equal(id->seed[i], 0);
	for (size_t i = 0; i < sizeof(id->secret); i++)
		assert_int_equal(id->secret[i], 0);
	keys_identity_forget_secret(NULL);
	keys_identity_free(id);

	/* public key is ignored for password identities (as in VpnCloud) */
	assert_int_equal(keys_identity_load(&id, NULL, "1", "test"), 0);
	keys_identity_free(id);

	/* mismatch, bad text, nothing given */
	id = (void *)1;
	assert_int_equal(keys_identity_load(&id, A1_SEED_B62, A1_SEED_B62, NULL), -EKEYREJECTED);
	assert_null(id);
	id = (void *)1;
	assert_int_equal(keys_identity_load(&id, "bad-key", NULL, NULL), -EINVAL);
	assert_null(id);
	assert_int_equal(keys_identity_load(&id, A1_SEED_B62, "bad key", NULL), -EINVAL);
	assert_null(id);
	assert_int_equal(keys_identity_load(&id, NULL, A1_PUB_B62, NULL), -ENOKEY);
	assert_null(id);
	keys_identity_free(NULL);
}

static char *genkey(const char *password)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(keys_genkey_print(f, password), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_genkey_output(void **state)
{
	(void)state;
	static const char reminder[] = "Attention: Keep the private key secret and use only the "
				       "public key on other nodes to establish trust.\n";
	char *out = genkey("test");

	assert_string_equal(out, "Private key: " A1_SEED_B62 "\nPublic key: " A1_PUB_B62 "\n\n"
				 "Attention: Keep the private key secret and use only the "
				 "public key on other nodes to establish trust.\n");
	free(out);

	out = genkey(NULL);
	char priv[64], pub[64];
	assert_int_equal(sscanf(out, "Private key: %63s\nPublic key: %63s\n", priv, pub), 2);
	assert_true(strncmp(out, "Private key: ", 13) == 0);
	size_t len = strlen(out);
	assert_true(len > sizeof(reminder));
	assert_string_equal(out + len - (sizeof(reminder) - 1), reminder);
	assert_memory_equal(out + len - (sizeof(reminder) - 1) - 2, "\n\n", 2);
	uint8_t s[32], p[32];
	assert_int_equal(keys_decode(s, priv), 0);
	assert_int_equal(keys_decode(p, pub), 0);
	assert_true(keys_public_matches(s, p));
	/* seed[0] != 0 means the value is >= 2^248 > 62^41 */
	assert_in_range(strlen(priv), 42, 43);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b62_vectors),	    cmocka_unit_test(test_b62_errors),
	    cmocka_unit_test(test_b62_roundtrip),   cmocka_unit_test(test_key_decode),
	    cmocka_unit_test(test_password_vector), cmocka_unit_test(test_generate),
	    cmocka_unit_test(test_identity),	    cmocka_unit_test(test_genkey_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

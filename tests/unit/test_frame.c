// SPDX-License-Identifier: GPL-3.0-or-later
/* test_frame.c - crypto core: AEAD round trips, tampering, slots, direction, replay, vectors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include <sodium.h>

#include "meshvpn/algo.h"
#include "meshvpn/frame.h"
#include "crypto_test_util.h"

#ifndef __SANITIZE_ADDRESS__
/* Counts heap allocations of the whole process (libcrypto included) while armed. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
static long allocs;
static bool count_allocs;

void *malloc(size_t n)
{
	allocs += count_allocs;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	allocs += count_allocs;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	allocs += count_allocs;
	return __libc_realloc(p, n);
}
#endif

static const uint8_t ciphers[] = { ALGO_AES128, ALGO_AES256, ALGO_CHACHA20 };
static struct tbuf tb;
static uint8_t km1[FRAME_KEY_MATERIAL_LEN], km2[FRAME_KEY_MATERIAL_LEN];

/* A.3 shared secret = the A.4 session key (CHACHA20). */
static const char *a4_key = "9e004098efc091d4ec2663b4e9f5cfd4d7064571690b4bea97ab146ab9f35056";

struct pair {
	struct frame_core tx, rx;
};

static void pair_init(struct pair *p, uint8_t algo)
{
	assert_int_equal(frame_core_init(&p->tx, algo, true, km1), 0);
	assert_int_equal(frame_core_init(&p->rx, algo, false, km1), 0);
}

static void pair_free(struct pair *p)
{
	frame_core_free(&p->tx);
	frame_core_free(&p->rx);
	assert_false(frame_core_ready(&p->tx));
}

/* Encrypts msg with c into out (a raw frame copy); returns the frame length. */
static size_t seal(struct frame_core *c, const uint8_t *msg, size_t n, uint8_t *out)
{
	tbuf_set(&tb, 64, msg, n);
	assert_int_equal(frame_encrypt(c, &tb.b), 0);
	assert_int_equal(tb.b.len, n + FRAME_OVERHEAD);
	memcpy(out, buf_data(&tb.b), tb.b.len);
	return tb.b.len;
}

/* Tries to decrypt a frame copy with c; on success checks the plaintext. */
static int open_frame(struct frame_core *c, const uint8_t *frame, size_t n, const uint8_t *want)
{
	tbuf_set(&tb, 64, frame, n);
	int ret = frame_decrypt(c, &tb.b);

	if (!ret && want) {
		assert_int_equal(tb.b.len, n - FRAME_OVERHEAD);
		assert_memory_equal(buf_data(&tb.b), want, tb.b.len);
	}
	return ret;
}

static void test_roundtrip(void **state)
{
	static uint8_t msg[2000], frame[2100];
	const size_t sizes[] = { 1, 2, 15, 16, 17, 1000, 1400, 2000 };

	(void)state;
	randombytes_buf(msg, sizeof(msg));
	for (size_t a = 0; a < ARRAY_SIZE(ciphers); a++) {
		struct pair p;

		pair_init(&p, ciphers[a]);
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			size_t n = seal(&p.tx, msg, sizes[i], frame);

			assert_int_equal(frame[0], 0); /* key id: slot 0 */
			/* a short ciphertext may equal its plaintext by chance (1/256 per byte) */
			if (sizes[i] >= 16)
				assert_memory_not_equal(frame + FRAME_HEADER_LEN, msg, sizes[i]);
			assert_int_equal(open_frame(&p.rx, frame, n, msg), 0);
			/* and the other direction */
			n = seal(&p.rx, msg, sizes[i], frame);
			assert_int_equal(open_frame(&p.tx, frame, n, msg), 0);
		}
		pair_free(&p);
	}
}

static void test_nonce_layout(void **state)
{
	uint8_t frame[64], msg[1] = { 0 };
	struct pair p;

	(void)state;
	pair_init(&p, ALGO_AES128);
	/* send nonce: direction byte, zeros, 6 random bytes; incremented before use */
	assert_int_equal(p.tx.slot[0].send_nonce[0], FRAME_DIR_HIGH);
	assert_int_equal(p.rx.slot[0].send_nonce[0], FRAME_DIR_LOW);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(p.tx.slot[0].send_nonce[i], 0);
	memset(p.tx.slot[0].send_nonce + 6, 0xff, 6);
	p.tx.slot[0].send_nonce[5] = 0x00;
	seal(&p.tx, msg, 1, frame);
	/* ...00 ff ff ff ff ff ff + 1 carries into byte 5 */
	const uint8_t want[8] = { 0, 0x01, 0, 0, 0, 0, 0, 0 };
	assert_memory_equal(frame, want, 8);
	assert_int_equal(open_frame(&p.rx, frame, 25, msg), 0);
	pair_free(&p);
}

static void test_tamper(void **state)
{
	uint8_t msg[100], frame[200], bad[200];

	(void)state;
	randombytes_buf(msg, sizeof(msg));
	for (size_t a = 0; a < ARRAY_SIZE(ciphers); a++) {
		struct pair p;

		pair_init(&p, ciphers[a]);
		size_t n = seal(&p.tx, msg, sizeof(msg), frame);
		/* every bit of the nonce, ciphertext and tag, and the low key id bits */
		for (size_t pos = 0; pos < n; pos++) {
			for (int bit = 0; bit < 8; bit++) {
				if (pos == 0 && bit >= 2)
					continue; /* upper key id bits are ignored (id mod 4) */
				memcpy(bad, frame, n);
				bad[pos] ^= (uint8_t)(1 << bit);
				int r = open_frame(&p.rx, bad, n, NULL);
				if (pos == 0) /* slots 1..3 have no key yet */
					assert_int_equal(r, -ENOKEY);
				else if (pos < FRAME_HEADER_LEN) /* a lower nonce may be old */
					assert_true(r == -EBADMSG || r == -EALREADY);
				else
					assert_int_equal(r, -EBADMSG);
			}
		}
		/* truncated or extended by one byte */
		assert_int_equal(open_frame(&p.rx, frame, n - 1, NULL), -EBADMSG);
		memcpy(bad, frame, n);
		bad[n] = 0;
		assert_int_equal(open_frame(&p.rx, bad, n + 1, NULL), -EBADMSG);
		/* the original still works after all those failures (no state change) */
		assert_int_equal(open_frame(&p.rx, frame, n, msg), 0);
		/* key id 4 names slot 0 as well */
		n = seal(&p.tx, msg, sizeof(msg), frame);
		frame[0] = 4;
		assert_int_equal(open_frame(&p.rx, frame, n, msg), 0);
		pair_free(&p);
	}
}

static void test_direction(void **state)
{
	uint8_t msg[10] = "reflected", frame[64];
	struct frame_core same;
	struct pair p;

	(void)state;
	for (size_t a = 0; a < ARRAY_SIZE(ciphers); a++) {
		pair_init(&p, ciphers[a]);
		assert_int_equal(frame_core_init(&same, ciphers[a], true, km1), 0);
		size_t n = seal(&p.tx, msg, sizeof(msg), frame);
		/* reflected back to the sender, or to another core with the same direction */
		assert_int_equal(open_frame(&p.tx, frame, n, NULL), -EBADMSG);
		assert_int_equal(open_frame(&same, frame, n, NULL), -EBADMSG);
		assert_int_equal(open_frame(&p.rx, frame, n, msg), 0);
		frame_core_free(&same);
		pair_free(&p);
	}
}

static void test_slots(void **state)
{
	uint8_t msg[20] = "slot test", frame[64];
	struct pair p;

	(void)state;
	for (size_t a = 0; a < ARRAY_SIZE(ciphers); a++) {
		pair_init(&p, ciphers[a]);
		/* slots 1..3 are empty at first */
		size_t n = seal(&p.tx, msg, sizeof(msg), frame);
		for (uint8_t id = 1; id < FRAME_SLOTS; id++) {
			frame[0] = id;
			assert_int_equal(open_frame(&p.rx, frame, n, NULL), -ENOKEY);
		}
		/* sender switches to slot 1: receiver lacks it, has a wrong key, then the right */
		assert_int_equal(frame_install(&p.tx, 1, km2, true), 0);
		assert_int_equal(p.tx.send_slot, 1);
		n = seal(&p.tx, msg, sizeof(msg), frame);
		assert_int_equal(frame[0], 1);
		assert_int_equal(open_frame(&p.rx, frame, n, NULL), -ENOKEY);
		assert_int_equal(frame_install(&p.rx, 1, km1, false), 0);
		assert_int_equal(open_frame(&p.rx, frame, n, NULL), -EBADMSG);
		assert_int_equal(frame_install(&p.rx, 1, km2, false), 0);
		assert_int_equal(p.rx.send_slot, 0); /* receive-only install */
		assert_int_equal(open_frame(&p.rx, frame, n, msg), 0);
		/* a frame naming slot 0 but made with the slot-1 key fails */
		frame[0] = 0;
		assert_int_equal(open_frame(&p.rx, frame, n, NULL), -EBADMSG);
		assert_int_equal(frame_install(&p.rx, 4, km2, false), -EINVAL);
		pair_free(&p);
	}
}

static unsigned rx_states(const struct frame_core *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < FRAME_SLOTS; i++)
		n += c->slot[i].rx != NULL;
	return n;
}

/*
 * A rotation as PROTOCOL.md 3 runs it: tx (the starter) sends with the even key ids, rx with
 * the odd ones from 3; the receiving side installs each key first. Both directions keep
 * working, and each core holds at most two receive states: a key installed for sending
 * never decrypts.
 */
static void test_rotation_contexts(void **state)
{
	uint8_t msg[20] = "rotation", frame[64], km[FRAME_KEY_MATERIAL_LEN];
	struct pair p;

	(void)state;
	for (size_t a = 0; a < ARRAY_SIZE(ciphers); a++) {
		pair_init(&p, ciphers[a]);
		assert_int_equal(rx_states(&p.tx), 1);
		assert_int_equal(rx_states(&p.rx), 1);
		for (uint64_t id = 2; id <= 12; id++) {
			struct frame_core *sender = id % 2 ? &p.rx : &p.tx;
			struct frame_core *receiver = id % 2 ? &p.tx : &p.rx;
			unsigned slot = (unsigned)(id % FRAME_SLOTS);
			size_t n;

			randombytes_buf(km, sizeof(km));
			assert_int_equal(frame_install(receiver, slot, km, false), 0);
			/* the sender has not switched yet: its old key still reaches the receiver */
			n = seal(sender, msg, sizeof(msg), frame);
			assert_int_equal(open_frame(receiver, frame, n, msg), 0);
			assert_int_equal(frame_install(sender, slot, km, true), 0);
			assert_null(sender->slot[slot].rx);
			n = seal(sender, msg, sizeof(msg), frame);
			assert_int_equal(frame[0], slot);
			assert_int_equal(open_frame(receiver, frame, n, msg), 0);
			/* the other way round, and nothing decrypts with a sending key */
			n = seal(receiver, msg, sizeof(msg), frame);
			assert_int_equal(open_frame(sender, frame, n, msg), 0);
			frame[0] = (uint8_t)slot;
			assert_int_equal(open_frame(sender, frame, n, NULL), -ENOKEY);
			assert_in_range(rx_states(&p.tx), 1, 2);
			assert_in_range(rx_states(&p.rx), 1, 2);
		}
		pair_free(&p);
	}
}

static void test_short(void **state)
{
	uint8_t junk[FRAME_MIN_LEN];
	struct pair p;

	(void)state;
	memset(junk, 0, sizeof(junk));
	pair_init(&p, ALGO_CHACHA20);
	for (size_t n = 0; n < FRAME_MIN_LEN; n++) {
		tbuf_set(&tb, 64, junk, n);
		assert_int_equal(frame_decrypt(&p.rx, &tb.b), -EMSGSIZE);
	}
	/* a real frame of an empty message (24 bytes) is refused on the data path ... */
	tbuf_init(&tb, 64);
	assert_int_equal(frame_encrypt(&p.tx, &tb.b), 0);
	assert_int_equal(tb.b.len, FRAME_OVERHEAD);
	memcpy(junk, buf_data(&tb.b), FRAME_OVERHEAD);
	assert_int_equal(frame_decrypt(&p.rx, &tb.b), -EMSGSIZE);
	/* ... and accepted as a handshake payload */
	tbuf_set(&tb, 64, junk, FRAME_OVERHEAD);
	assert_int_equal(frame_decrypt_payload(&p.rx, &tb.b), 0);
	assert_int_equal(tb.b.len, 0);
	pair_free(&p);
}

static void test_room(void **state)
{
	struct pair p;
	uint8_t small[40];
	struct buf b = { .base = small, .size = sizeof(small) };

	(void)state;
	pair_init(&p, ALGO_AES256);
	buf_reset(&b, FRAME_HEADER_LEN - 1);
	b.len = 5;
	assert_int_equal(frame_encrypt(&p.tx, &b), -EMSGSIZE);
	buf_reset(&b, FRAME_HEADER_LEN);
	b.len = sizeof(small) - FRAME_HEADER_LEN - FRAME_TAG_LEN + 1;
	assert_int_equal(frame_encrypt(&p.tx, &b), -EMSGSIZE);
	b.len--;
	assert_int_equal(frame_encrypt(&p.tx, &b), 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.len, sizeof(small));
	pair_free(&p);
}

static void test_plain(void **state)
{
	uint8_t msg[3] = { FRAME_TYPE_DATA, 1, 2 };

	(void)state;
	tbuf_set(&tb, 0, msg, sizeof(msg));
	assert_int_equal(frame_encrypt(NULL, &tb.b), 0);
	assert_int_equal(tb.b.len, 3);
	assert_memory_equal(buf_data(&tb.b), msg, 3);
	assert_int_equal(frame_decrypt(NULL, &tb.b), 0);
	assert_int_equal(tb.b.len, 3);
	tbuf_init(&tb, 0);
	assert_int_equal(frame_decrypt(NULL, &tb.b), -EMSGSIZE);
	assert_true(frame_is_init((const uint8_t *)"\xff", 1));
	assert_false(frame_is_init((const uint8_t *)"\x00", 1));
	assert_false(frame_is_init(NULL, 0));
}

#define NFRAMES 10
static void test_replay(void **state)
{
	static uint8_t frames[NFRAMES][64];
	uint8_t msg[8] = "replay!";
	struct pair p;

	(void)state;
	for (size_t a = 0; a < ARRAY_SIZE(ciphers); a++) {
		pair_init(&p, ciphers[a]);
		for (int i = 0; i < NFRAMES; i++)
			seal(&p.tx, msg, sizeof(msg), frames[i]);
		size_t n = sizeof(msg) + FRAME_OVERHEAD;

		/* exact duplicate rejected at once */
		assert_int_equal(open_frame(&p.rx, frames[5], n, msg), 0);
		assert_int_equal(open_frame(&p.rx, frames[5], n, NULL), -EALREADY);
		/* reordering accepted, once */
		assert_int_equal(open_frame(&p.rx, frames[2], n, msg), 0);
		assert_int_equal(open_frame(&p.rx, frames[2], n, NULL), -EALREADY);
		/* one tick: the VpnCloud bound still allows older frames */
		frame_tick(&p.rx);
		assert_int_equal(open_frame(&p.rx, frames[3], n, msg), 0);
		/* second tick: everything at or below the top of the previous tick is old */
		frame_tick(&p.rx);
		assert_int_equal(open_frame(&p.rx, frames[4], n, NULL), -EALREADY);
		assert_int_equal(open_frame(&p.rx, frames[1], n, NULL), -EALREADY);
		assert_int_equal(open_frame(&p.rx, frames[7], n, msg), 0);
		assert_int_equal(open_frame(&p.rx, frames[6], n, msg), 0); /* above the bound */
		assert_int_equal(open_frame(&p.rx, frames[6], n, NULL), -EALREADY);
		/* a failed tag does not move the window (forged frame far ahead) */
		uint8_t forged[64];

		memcpy(forged, frames[9], n);
		forged[1] = 0x7f; /* nonce far in the future */
		assert_int_equal(open_frame(&p.rx, forged, n, NULL), -EBADMSG);
		assert_int_equal(open_frame(&p.rx, frames[8], n, msg), 0);
		assert_int_equal(open_frame(&p.rx, frames[9], n, msg), 0);
		pair_free(&p);
	}
}

static void test_replay_window(void **state)
{
	const int total = FRAME_REPLAY_BITS + 100;
	uint8_t(*frames)[32] = calloc((size_t)total, 32);
	uint8_t msg[1] = { 0 };
	struct pair p;
	size_t n = 1 + FRAME_OVERHEAD;

	(void)state;
	assert_non_null(frames);
	pair_init(&p, ALGO_AES128);
	for (int i = 0; i < total; i++)
		seal(&p.tx, msg, 1, frames[i]);
	assert_int_equal(open_frame(&p.rx, frames[total - 1], n, msg), 0);
	/* too far behind the top: outside the bitmap */
	assert_int_equal(open_frame(&p.rx, frames[0], n, NULL), -EALREADY);
	assert_int_equal(open_frame(&p.rx, frames[50], n, NULL), -EALREADY);
	/* inside the window: accepted once, in any order */
	for (int i = total - 2; i > total - 1000; i -= 3)
		assert_int_equal(open_frame(&p.rx, frames[i], n, msg), 0);
	for (int i = total - 2; i > total - 1000; i -= 3)
		assert_int_equal(open_frame(&p.rx, frames[i], n, NULL), -EALREADY);
	assert_int_equal(open_frame(&p.rx, frames[total - 3], n, msg), 0);
	pair_free(&p);
	free(frames);
}

static void test_install_resets(void **state)
{
	uint8_t msg[4] = "abc", f1[64], f2[64];
	uint8_t before[FRAME_NONCE_LEN];
	struct pair p;
	size_t n = sizeof(msg) + FRAME_OVERHEAD;

	(void)state;
	pair_init(&p, ALGO_CHACHA20);
	assert_int_equal(frame_install(&p.tx, 2, km2, true), 0);
	assert_int_equal(frame_install(&p.rx, 2, km2, false), 0);
	seal(&p.tx, msg, sizeof(msg), f1);
	seal(&p.tx, msg, sizeof(msg), f2);
	assert_int_equal(open_frame(&p.rx, f2, n, msg), 0);
	assert_true(p.rx.slot[2].rx->replay.top != 0);
	memcpy(before, p.tx.slot[2].send_nonce, sizeof(before));
	/* re-install: new random nonce part, replay state cleared */
	assert_int_equal(frame_install(&p.tx, 2, km2, true), 0);
	assert_int_equal(frame_install(&p.rx, 2, km2, false), 0);
	assert_memory_not_equal(before, p.tx.slot[2].send_nonce, sizeof(before));
	assert_int_equal(p.tx.slot[2].send_nonce[0], FRAME_DIR_HIGH);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(p.tx.slot[2].send_nonce[i], 0);
	assert_int_equal(p.rx.slot[2].rx->replay.top, 0);
	assert_int_equal(p.rx.slot[2].rx->replay.min, 0);
	/* slot 0 keeps its state */
	seal(&p.tx, msg, sizeof(msg), f2);
	assert_int_equal(open_frame(&p.rx, f2, n, msg), 0);
	pair_free(&p);
}

/* A.4: the first DATA frame and the PONG payload, decrypted with the vector's key. */
static void test_vectors(void **state)
{
	uint8_t key[32], frame[128], want[64], nodeinfo[128];
	size_t n, wn, nn;
	struct frame_core a, b;

	(void)state;
	unhex(key, sizeof(key), a4_key);
	/* A's salted hash is smaller: A sends with 0x00, B with 0x80 */
	assert_int_equal(frame_core_init(&a, ALGO_CHACHA20, false, key), 0);
	assert_int_equal(frame_core_init(&b, ALGO_CHACHA20, true, key), 0);

	n = unhex(frame, sizeof(frame),
		  "0000a0a1a2a3a4a70f75dfa9c6fbbffb05df5c2ae33608b0fb2cc9e3bc2e1db338"
		  "b0046f02d0f894f830761f39");
	wn = unhex(want, sizeof(want), "00 4500001c000000004011000a0a0001010a000201");
	assert_int_equal(open_frame(&b, frame, n, want), 0);

	/* A's encryption reproduces it: slot-0 nonce a0..a5, used twice before (PENG, then DATA) */
	const uint8_t nonce[FRAME_NONCE_LEN] = { 0,    0,    0,	   0,	 0,    0,
						 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa6 };

	memcpy(a.slot[0].send_nonce, nonce, sizeof(nonce));
	uint8_t out[128];

	assert_int_equal(seal(&a, want, wn, out), n);
	assert_memory_equal(out, frame, n);

	/* PONG payload: B's first encryption of NodeInfo B */
	n = unhex(
		frame, sizeof(frame),
		"0000b0b1b2b3b4b682c887924926a737baf09474fad858bbf77e38359c9d1339cb1a2c528b9c97c0b3"
		"086ed8193ee3e522203fa9da7cf5b95ee123da19e78b86ef9e45c23d86f667010f54dde3ef7bd514bc"
		"67");
	nn = unhex(
		nodeinfo, sizeof(nodeinfo),
		"040010f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff010000020006040a00020018030002012c05001308"
		"00000000000000000000ffffc00002020c8a00");
	tbuf_set(&tb, 64, frame, n);
	assert_int_equal(frame_decrypt_payload(&a, &tb.b), 0);
	assert_int_equal(tb.b.len, nn);
	assert_memory_equal(buf_data(&tb.b), nodeinfo, nn);
	frame_core_free(&a);
	frame_core_free(&b);
}

/* Cross-check the OpenSSL path against libsodium's independent AEAD implementations. */
static void test_cross_check(void **state)
{
	uint8_t msg[300], frame[400], plain[300], nonce[FRAME_NONCE_LEN] = { 0 };
	unsigned long long plen;
	struct pair p;

	(void)state;
	randombytes_buf(msg, sizeof(msg));
	pair_init(&p, ALGO_CHACHA20);
	size_t n = seal(&p.tx, msg, sizeof(msg), frame);

	nonce[0] = FRAME_DIR_HIGH;
	memcpy(nonce + 5, frame + 1, FRAME_NONCE_WIRE_LEN);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(
				 plain, &plen, NULL, frame + FRAME_HEADER_LEN, n - FRAME_HEADER_LEN,
				 NULL, 0, nonce, km1),
			 0);
	assert_int_equal(plen, sizeof(msg));
	assert_memory_equal(plain, msg, sizeof(msg));
	pair_free(&p);

	if (!crypto_aead_aes256gcm_is_available())
		return;
	pair_init(&p, ALGO_AES256);
	n = seal(&p.tx, msg, sizeof(msg), frame);
	memcpy(nonce + 5, frame + 1, FRAME_NONCE_WIRE_LEN);
	assert_int_equal(crypto_aead_aes256gcm_decrypt(plain, &plen, NULL, frame + FRAME_HEADER_LEN,
						       n - FRAME_HEADER_LEN, NULL, 0, nonce, km1),
			 0);
	assert_memory_equal(plain, msg, sizeof(msg));
	pair_free(&p);
}

#ifndef __SANITIZE_ADDRESS__
/* The data path allocates nothing: no per-packet context, key setup or buffer. */
static void test_no_alloc(void **state)
{
	uint8_t msg[1400];
	struct pair p;

	(void)state;
	memset(msg, 0x42, sizeof(msg));
	for (size_t a = 0; a < ARRAY_SIZE(ciphers); a++) {
		pair_init(&p, ciphers[a]);
		for (int round = 0; round < 2; round++) {
			allocs = 0;
			count_allocs = round == 1; /* the first round warms up lazy library state */
			for (int i = 0; i < 200; i++) {
				tbuf_set(&tb, 64, msg, sizeof(msg));
				if (frame_encrypt(&p.tx, &tb.b) || frame_decrypt(&p.rx, &tb.b))
					fail();
			}
			frame_tick(&p.rx);
			count_allocs = false;
		}
		assert_int_equal(allocs, 0);
		pair_free(&p);
	}
}
#endif

static void test_bad_init(void **state)
{
	struct frame_core c;

	(void)state;
	assert_int_equal(frame_core_init(&c, ALGO_PLAIN, true, km1), -EINVAL);
	assert_false(frame_core_ready(&c));
	assert_int_equal(frame_core_init(&c, 9, true, km1), -EINVAL);
	frame_core_free(&c); /* harmless on a failed/zeroed core */
	assert_int_equal(frame_install(&c, 0, km1, true), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_nonce_layout),
		cmocka_unit_test(test_tamper),	       cmocka_unit_test(test_direction),
		cmocka_unit_test(test_slots), cmocka_unit_test(test_rotation_contexts),	       cmocka_unit_test(test_short),
		cmocka_unit_test(test_room),	       cmocka_unit_test(test_plain),
		cmocka_unit_test(test_replay),	       cmocka_unit_test(test_replay_window),
		cmocka_unit_test(test_install_resets), cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_cross_check),    cmocka_unit_test(test_bad_init),
#ifndef __SANITIZE_ADDRESS__ /* ASan owns malloc */
		cmocka_unit_test(test_no_alloc),
#endif
	};

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(km1, sizeof(km1));
	randombytes_buf(km2, sizeof(km2));
	return cmocka_run_group_tests(tests, NULL, NULL);
}

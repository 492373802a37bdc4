// SPDX-License-Identifier: GPL-3.0-or-later
/* test_handshake.c - init message codec, A.1-A.4 vectors, the handshake state machine. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>

#include "meshvpn/handshake.h"
#define CRYPTO_TEST_WRAP_RANDOM
#include "crypto_test_util.h"
#include "crypto_vectors.h"

static uint8_t pk[HS_PUBKEY_LEN], sk[HS_SECKEY_LEN], other_pk[HS_PUBKEY_LEN];
static uint8_t node_a[16], node_b[16];
static uint8_t trusted2[2 * HS_PUBKEY_LEN];
static struct algo_list algos_a, algos_b;
static struct hs_config cfg_a, cfg_b;
static uint8_t ni_a[128], ni_b[128];
static size_t ni_a_len, ni_b_len;
static struct tbuf t1, t2;

/* Copies the message in t into t2 and hands it to h (the reply lands in t2). */
static int feed(struct handshake *h, const struct tbuf *from, struct tbuf *to)
{
	if (from != to)
		tbuf_set(to, 64, buf_data(&from->b), from->b.len);
	uint8_t *msg = buf_data(&to->b);
	size_t len = to->b.len;

	buf_reset(&to->b, 64);
	return hs_handle(h, msg, len, &to->b);
}

/* Re-signs a message after a test modified it (same identity for everyone here). */
static void resign(uint8_t *msg, size_t len)
{
	assert_true(len > 1 + HS_SIG_LEN + 1);
	assert_int_equal(msg[len - HS_SIG_LEN - 1], HS_SIG_LEN);
	crypto_sign_detached(msg + len - HS_SIG_LEN, NULL, msg + 1, len - HS_SIG_LEN - 2, sk);
}

/* Builds a signed message from raw TLV bytes (END appended). */
static size_t craft(uint8_t *out, const char *fields_hex)
{
	uint8_t salt[4] = { 9, 9, 9, 9 };
	size_t n = 0;

	out[n++] = 0xff;
	memcpy(out + n, salt, 4);
	hs_key_hash(out + n + 4, pk, salt);
	n += 8;
	n += unhex(out + n, 1024, fields_hex);
	out[n++] = 0;
	out[n++] = HS_SIG_LEN;
	n += HS_SIG_LEN;
	resign(out, n);
	return n;
}

static void test_a1_a2_a3(void **state)
{
	uint8_t want[64], salt[4], out[32], priv[32], pub[32];

	(void)state;
	unhex(want, sizeof(want), V_PUBKEY);
	assert_memory_equal(pk, want, 32);
	unhex(salt, sizeof(salt), V_KEYHASH_SALT);
	hs_key_hash(out, pk, salt);
	unhex(want, sizeof(want), V_KEYHASH);
	assert_memory_equal(out, want, 4);

	unhex(salt, sizeof(salt), V_SALT_A);
	hs_salted_hash(out, salt, node_a);
	unhex(want, sizeof(want), V_HASH_A);
	assert_memory_equal(out, want, 20);
	uint8_t hb[20];

	unhex(salt, sizeof(salt), V_SALT_B);
	hs_salted_hash(hb, salt, node_b);
	unhex(want, sizeof(want), V_HASH_B);
	assert_memory_equal(hb, want, 20);
	assert_true(memcmp(hb, out, 20) > 0); /* B sends with 0x80 */

	unhex(priv, 32, V_PRIV_A);
	assert_int_equal(crypto_scalarmult_base(pub, priv), 0);
	unhex(want, 32, V_PUB_A);
	assert_memory_equal(pub, want, 32);
	unhex(priv, 32, V_PRIV_B);
	assert_int_equal(crypto_scalarmult_base(pub, priv), 0);
	unhex(want, 32, V_PUB_B);
	assert_memory_equal(pub, want, 32);
	unhex(want, 32, V_PUB_A);
	assert_int_equal(crypto_scalarmult(out, priv, want), 0);
	unhex(want, 32, V_SHARED);
	assert_memory_equal(out, want, 32);
}

static void test_decode_vectors(void **state)
{
	uint8_t msg[512], want[64];
	struct hs_msg m;
	size_t n;
	float s;

	(void)state;
	n = unhex(msg, sizeof(msg), V_PING);
	assert_int_equal(n, 155);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), 0);
	assert_int_equal(m.stage, HS_STAGE_PING);
	assert_int_equal(m.flags,
			 HS_HAS_STAGE | HS_HAS_SALTED_HASH | HS_HAS_ECDH | HS_HAS_ALGORITHMS);
	unhex(want, 20, V_HASH_A);
	assert_memory_equal(m.salted_hash, want, 20);
	unhex(want, 32, V_PUB_A);
	assert_memory_equal(m.ecdh, want, 32);
	assert_false(m.algos.allow_plain);
	assert_int_equal(m.algos.n, 3);
	assert_true(algo_list_speed(&m.algos, ALGO_AES256, &s) && s == 800.0f);
	/* the matching key need not be first; a non-matching list is "untrusted" */
	assert_int_equal(hs_decode(msg, n, trusted2, 2, &m), 0);
	assert_int_equal(m.key_index, 1);
	assert_int_equal(hs_decode(msg, n, other_pk, 1, &m), -EPERM);
	assert_int_equal(hs_decode(msg, n, pk, 0, &m), -EPERM);
	/* the cheap first step alone: same answers, and a cut message is malformed */
	assert_int_equal(hs_key_find(msg, n, pk, 1), 0);
	assert_int_equal(hs_key_find(msg, n, trusted2, 2), 1);
	assert_int_equal(hs_key_find(msg, n, other_pk, 1), -EPERM);
	assert_int_equal(hs_key_find(msg, 9, pk, 1), 0);
	assert_int_equal(hs_key_find(msg, 8, pk, 1), -EBADMSG);
	msg[0] = 0;
	assert_int_equal(hs_key_find(msg, n, pk, 1), -EBADMSG);
	msg[0] = 0xff;

	n = unhex(msg, sizeof(msg), V_PONG);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), 0);
	assert_int_equal(m.stage, HS_STAGE_PONG);
	unhex(want, 20, V_HASH_B);
	assert_memory_equal(m.salted_hash, want, 20);
	unhex(want, 32, V_PUB_B);
	assert_memory_equal(m.ecdh, want, 32);
	assert_int_equal(m.algos.n, 2);
	assert_true(algo_list_speed(&m.algos, ALGO_CHACHA20, &s) && s == 900.0f);
	uint8_t payload[128];
	size_t pn = unhex(payload, sizeof(payload), V_PONG_PAYLOAD);

	assert_int_equal(m.payload_len, pn);
	assert_memory_equal(m.payload, payload, pn);

	n = unhex(msg, sizeof(msg), V_PENG);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), 0);
	assert_int_equal(m.stage, HS_STAGE_PENG);
	assert_int_equal(m.flags, HS_HAS_STAGE | HS_HAS_SALTED_HASH | HS_HAS_PAYLOAD);
	assert_int_equal(m.payload_len, ni_a_len + FRAME_OVERHEAD);
}

static void test_decode_robust(void **state)
{
	uint8_t msg[1024], bad[1024];
	struct hs_msg m;
	size_t n;

	(void)state;
	n = unhex(msg, sizeof(msg), V_PONG);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(hs_decode(msg, i, pk, 1, &m), -EBADMSG);
	memcpy(bad, msg, n);
	bad[n] = 0;
	assert_int_equal(hs_decode(bad, n + 1, pk, 1, &m), -EBADMSG);
	/* any changed byte: untrusted, bad signature or broken structure; never accepted */
	for (size_t i = 0; i < n; i++) {
		memcpy(bad, msg, n);
		bad[i] ^= 0x01;
		int ret = hs_decode(bad, n, pk, 1, &m);

		assert_true(ret == -EPERM || ret == -EBADMSG);
	}

	/* signed but malformed fields: recoverable */
	const char *hash = "020014 0102030405060708090a0b0c0d0e0f1011121314";
	const char *ecdh =
		"030020 7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13";
	const char *algos = "040005 0144610000";
	char f[1024];

	snprintf(f, sizeof(f), "010001 01 %s %s %s", hash, ecdh, algos);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), 0); /* baseline: a valid PING */
	snprintf(f, sizeof(f), "010001 01 %s %s %s 090003 aabbcc", hash, ecdh, algos);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), 0); /* unknown field skipped */
	snprintf(f, sizeof(f), "010001 01 %s %s", hash, ecdh);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EPROTO); /* no algorithms */
	snprintf(f, sizeof(f), "010001 01 %s %s", ecdh, algos);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EPROTO); /* no salted hash */
	snprintf(f, sizeof(f), "%s %s %s", hash, ecdh, algos);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EPROTO); /* no stage */
	snprintf(f, sizeof(f), "010001 04 %s %s %s", hash, ecdh, algos);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EPROTO); /* stage 4 */
	snprintf(f, sizeof(f), "010002 0101 %s %s %s", hash, ecdh, algos);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EPROTO); /* stage length */
	snprintf(f, sizeof(f), "010001 01 020013 0102030405060708090a0b0c0d0e0f10111213 %s %s",
		 ecdh, algos);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EPROTO); /* hash length */
	snprintf(f, sizeof(f),
		 "010001 01 %s 03001f "
		 "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f %s",
		 hash, algos);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EPROTO); /* ECDH length 31 */
	snprintf(f, sizeof(f), "010001 01 %s %s 040007 01446100000000", hash, ecdh);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EPROTO); /* algorithms length */
	snprintf(f, sizeof(f), "010001 01 %s %s %s %s", hash, hash, ecdh, algos);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EPROTO); /* duplicate */
	snprintf(f, sizeof(f), "010001 02 %s %s %s", hash, ecdh, algos);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EPROTO); /* PONG without payload */
	snprintf(f, sizeof(f), "010001 03 %s 050000", hash);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), 0); /* PENG with an empty payload */
	assert_int_equal(m.payload_len, 0);
	/* a field length running past the end */
	snprintf(f, sizeof(f), "010001 01 %s 0500ff 00", hash);
	n = craft(msg, f);
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EBADMSG);
	/* signature length other than 64 */
	snprintf(f, sizeof(f), "010001 01 %s %s %s", hash, ecdh, algos);
	n = craft(msg, f);
	msg[n - HS_SIG_LEN - 1] = HS_SIG_LEN - 1;
	assert_int_equal(hs_decode(msg, n - 1, pk, 1, &m), -EPERM);
	/* not an init message */
	msg[0] = 0;
	assert_int_equal(hs_decode(msg, n, pk, 1, &m), -EBADMSG);
}

static void a4_states(struct handshake *a, struct handshake *b)
{
	rng_push(V_SALT_A);
	assert_int_equal(hs_init(a, &cfg_a, ni_a, ni_a_len), 0);
	rng_push(V_SALT_B);
	assert_int_equal(hs_init(b, &cfg_b, ni_b, ni_b_len), 0);
}

static void expect(const struct tbuf *t, const char *hex)
{
	static uint8_t want[1024];
	size_t n = unhex(want, sizeof(want), hex);

	assert_int_equal(t->b.len, n);
	assert_memory_equal(buf_data(&t->b), want, n);
}

static void test_a4(void **state)
{
	struct handshake a, b;
	struct frame_core ca, cb;
	size_t n;
	uint8_t *p;

	(void)state;
	a4_states(&a, &b);
	rng_push(V_PRIV_A);
	rng_push(V_PING_SALT);
	tbuf_init(&t1, 64);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	expect(&t1, V_PING);
	assert_int_equal(a.next_stage, HS_STAGE_PONG);

	rng_push(V_PRIV_B);
	rng_push(V_NONCE_B);
	rng_push(V_PONG_SALT);
	assert_int_equal(feed(&b, &t1, &t2), HS_REPLY);
	expect(&t2, V_PONG);
	assert_int_equal(b.next_stage, HS_STAGE_PENG);
	assert_int_equal(b.algo, ALGO_CHACHA20);

	rng_push(V_NONCE_A);
	rng_push(V_PENG_SALT);
	assert_int_equal(feed(&a, &t2, &t1), HS_DONE);
	expect(&t1, V_PENG);
	assert_true(a.initiator);
	assert_int_equal(a.next_stage, HS_WAITING_TO_CLOSE);
	p = hs_take_peer_payload(&a, &n);
	assert_int_equal(n, ni_b_len);
	assert_memory_equal(p, ni_b, n);
	free(p);

	assert_int_equal(feed(&b, &t1, &t2), HS_DONE);
	assert_int_equal(t2.b.len, 0); /* the responder's handshake layer sends nothing */
	assert_false(b.initiator);
	assert_true(hs_closing(&b));
	p = hs_take_peer_payload(&b, &n);
	assert_int_equal(n, ni_a_len);
	assert_memory_equal(p, ni_a, n);
	free(p);
	assert_true(rng_drained());

	assert_true(hs_take_core(&a, &ca));
	assert_true(hs_take_core(&b, &cb));
	assert_false(hs_take_core(&a, &ca));
	assert_int_equal(ca.dir, FRAME_DIR_LOW);
	assert_int_equal(cb.dir, FRAME_DIR_HIGH);
	assert_int_equal(ca.algo, ALGO_CHACHA20);
	/* the cores' slot-0 nonces were advanced by the payload encryption */
	assert_int_equal(ca.slot[0].send_nonce[11], 0xa6);
	assert_int_equal(cb.slot[0].send_nonce[11], 0xb6);
	frame_core_free(&ca);
	frame_core_free(&cb);
	hs_free(&a);
	hs_free(&b);
}

static void pair(struct handshake *a, struct handshake *b)
{
	assert_int_equal(hs_init(a, &cfg_a, ni_a, ni_a_len), 0);
	assert_int_equal(hs_init(b, &cfg_b, ni_b, ni_b_len), 0);
}

static void test_resend_timeout(void **state)
{
	struct handshake a, b;
	uint8_t ping[256];
	size_t n;

	(void)state;
	pair(&a, &b);
	tbuf_init(&t1, 64);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	n = t1.b.len;
	memcpy(ping, buf_data(&t1.b), n);
	assert_int_equal(hs_start(&a, &t1.b), -EINVAL);
	for (int i = 0; i < HS_MAX_RETRIES; i++) {
		tbuf_init(&t1, 64);
		assert_int_equal(hs_tick(&a, &t1.b), 1);
		assert_int_equal(t1.b.len, n);
		assert_memory_equal(buf_data(&t1.b), ping, n);
	}
	tbuf_init(&t1, 64);
	assert_int_equal(hs_tick(&a, &t1.b), -ETIMEDOUT);
	assert_true(hs_closing(&a));
	/* a fresh responder that never hears anything times out as well, silently */
	for (int i = 0; i < HS_MAX_RETRIES; i++)
		assert_int_equal(hs_tick(&b, &t1.b), 0);
	assert_int_equal(hs_tick(&b, &t1.b), -ETIMEDOUT);
	hs_free(&a);
	hs_free(&b);
}

static void test_responder_repeats(void **state)
{
	struct handshake a, b, c;
	uint8_t pong[512], ping[256];
	size_t n, pn;

	(void)state;
	pair(&a, &b);
	tbuf_init(&t1, 64);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	pn = t1.b.len;
	memcpy(ping, buf_data(&t1.b), pn);
	assert_int_equal(feed(&b, &t1, &t2), HS_REPLY);
	n = t2.b.len;
	memcpy(pong, buf_data(&t2.b), n);
	/* the PING again (PONG lost): the identical PONG */
	tbuf_set(&t1, 64, ping, pn);
	assert_int_equal(feed(&b, &t1, &t2), HS_REPLY);
	assert_int_equal(t2.b.len, n);
	assert_memory_equal(buf_data(&t2.b), pong, n);
	/* and on a tick */
	tbuf_init(&t2, 64);
	assert_int_equal(hs_tick(&b, &t2.b), 1);
	assert_memory_equal(buf_data(&t2.b), pong, n);
	/* a PONG to a fresh responder is fatal ("invalid stage as first message") */
	assert_int_equal(hs_init(&c, &cfg_a, ni_a, ni_a_len), 0);
	tbuf_set(&t1, 64, pong, n);
	assert_int_equal(feed(&c, &t1, &t1), HS_E_FATAL);
	assert_int_equal(t1.b.len, 0);
	hs_free(&c);
	/* the initiator completes with the repeated PONG */
	tbuf_set(&t1, 64, pong, n);
	assert_int_equal(feed(&a, &t1, &t1), HS_DONE);
	hs_free(&a);
	hs_free(&b);
}

/* A replayed PING is answered at most once per tick, and the PONG repeats back off. */
static void test_responder_no_reflection(void **state)
{
	struct handshake a, b;
	uint8_t ping[256], pong[512];
	size_t pn, n;
	unsigned resends = 0;
	int r = 0;

	(void)state;
	pair(&a, &b);
	tbuf_init(&t1, 64);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	pn = t1.b.len;
	memcpy(ping, buf_data(&t1.b), pn);
	assert_int_equal(feed(&b, &t1, &t2), HS_REPLY);
	n = t2.b.len;
	memcpy(pong, buf_data(&t2.b), n);
	/* the same PING three times within one tick: one PONG */
	tbuf_set(&t1, 64, ping, pn);
	assert_int_equal(feed(&b, &t1, &t2), HS_REPLY);
	assert_memory_equal(buf_data(&t2.b), pong, n);
	for (int i = 0; i < 2; i++) {
		tbuf_set(&t1, 64, ping, pn);
		assert_int_equal(feed(&b, &t1, &t2), HS_NOTHING);
	}
	/* a session message (the initiator is done, our PENG got lost): the PONG, once */
	tbuf_init(&t2, 64);
	assert_int_equal(hs_nudge(&b, &t2.b), HS_NOTHING); /* already answered this tick */
	/* ticks: the PONG repeats after 1, 2, 4, ..., 64 ticks, then the state times out */
	for (int t = 0; t < 200 && r >= 0; t++) {
		tbuf_init(&t2, 64);
		r = hs_tick(&b, &t2.b);
		if (r == 1) {
			resends++;
			assert_memory_equal(buf_data(&t2.b), pong, n);
		}
		if (t == 5) { /* mid-way: a nudge is answered once per tick */
			/* a reply that does not fit does not use up the tick's one reply */
			uint8_t small[80];
			struct buf sb = {.base = small, .size = sizeof(small)};
			buf_reset(&sb, 64);
			assert_true(hs_nudge(&b, &sb) < 0);
			tbuf_init(&t2, 64);
			assert_int_equal(hs_nudge(&b, &t2.b), HS_REPLY);
			assert_memory_equal(buf_data(&t2.b), pong, n);
			assert_int_equal(hs_nudge(&b, &t2.b), HS_NOTHING);
		}
	}
	assert_int_equal(r, -ETIMEDOUT);
	assert_int_equal(resends, 7);
	/* an initiator waiting for its PONG has nothing to nudge */
	tbuf_init(&t2, 64);
	assert_int_equal(hs_nudge(&a, &t2.b), HS_NOTHING);
	hs_free(&a);
	hs_free(&b);
}

/* PING, PONG and PENG between a fresh pair; keeps copies of the PONG and the PENG. */
static void handshake_keeping(struct handshake *a, struct handshake *b, uint8_t pong[512],
			      size_t *n, uint8_t peng[512], size_t *en)
{
	pair(a, b);
	tbuf_init(&t1, 64);
	assert_int_equal(hs_start(a, &t1.b), 0);
	assert_int_equal(feed(b, &t1, &t2), HS_REPLY);
	*n = t2.b.len;
	memcpy(pong, buf_data(&t2.b), *n);
	assert_int_equal(feed(a, &t2, &t1), HS_DONE);
	*en = t1.b.len;
	memcpy(peng, buf_data(&t1.b), *en);
}

static void test_lost_peng(void **state)
{
	struct handshake a, b;
	uint8_t pong[512], peng[512];
	size_t n, en;

	(void)state;
	handshake_keeping(&a, &b, pong, &n, peng, &en);
	/* PENG lost: B repeats its PONG, A answers from the retained state with the same PENG */
	tbuf_init(&t2, 64);
	assert_int_equal(hs_tick(&b, &t2.b), 1);
	assert_int_equal(feed(&a, &t2, &t1), HS_REPLY);
	assert_int_equal(t1.b.len, en);
	assert_memory_equal(buf_data(&t1.b), peng, en);
	assert_int_equal(feed(&b, &t1, &t2), HS_DONE);
	/* retention: 60 ticks plus one */
	for (int i = 0; i < HS_CLOSE_TICKS; i++) {
		assert_int_equal(hs_tick(&a, &t1.b), 0);
		assert_false(hs_closing(&a));
	}
	assert_int_equal(hs_tick(&a, &t1.b), 0);
	assert_true(hs_closing(&a));
	/* a closing state ignores everything, without replying */
	tbuf_set(&t1, 64, pong, n);
	assert_int_equal(feed(&a, &t1, &t1), HS_NOTHING);
	assert_int_equal(t1.b.len, 0);
	hs_free(&a);
	hs_free(&b);
}

/* A finished initiator leaves a new PING (the responder restarted) to a new state. */
static void test_restarted_responder(void **state)
{
	struct handshake a, b, b2;
	uint8_t pong[512], peng[512];
	size_t n, en;

	(void)state;
	handshake_keeping(&a, &b, pong, &n, peng, &en);
	assert_int_equal(a.next_stage, HS_WAITING_TO_CLOSE);
	/* b restarts with another node id and pings a: no PENG of the old session back */
	node_b[0] ^= 0x5a;
	assert_int_equal(hs_init(&b2, &cfg_b, ni_b, ni_b_len), 0);
	tbuf_init(&t2, 64);
	assert_int_equal(hs_start(&b2, &t2.b), 0);
	assert_int_equal(feed(&a, &t2, &t1), -ENOENT);
	assert_int_equal(t1.b.len, 0);
	assert_int_equal(a.next_stage, HS_WAITING_TO_CLOSE);
	/* the retained state still does its job: a repeated PONG gets the same PENG */
	tbuf_set(&t1, 64, pong, n);
	assert_int_equal(feed(&a, &t1, &t1), HS_REPLY);
	assert_int_equal(t1.b.len, en);
	assert_memory_equal(buf_data(&t1.b), peng, en);
	node_b[0] ^= 0x5a;
	hs_free(&a);
	hs_free(&b);
	hs_free(&b2);
}

static void test_simultaneous(void **state)
{
	struct handshake a, b;
	uint8_t ping_a[256], ping_b[256];
	size_t na, nb;

	(void)state;
	pair(&a, &b);
	tbuf_init(&t1, 64);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	na = t1.b.len;
	memcpy(ping_a, buf_data(&t1.b), na);
	assert_int_equal(hs_start(&b, &t1.b), 0);
	nb = t1.b.len;
	memcpy(ping_b, buf_data(&t1.b), nb);

	bool a_wins = memcmp(a.salted_hash, b.salted_hash, HS_SALTED_HASH_LEN) > 0;
	struct handshake *hi = a_wins ? &a : &b, *lo = a_wins ? &b : &a;
	const uint8_t *ping_hi = a_wins ? ping_a : ping_b, *ping_lo = a_wins ? ping_b : ping_a;
	size_t n_hi = a_wins ? na : nb, n_lo = a_wins ? nb : na;

	/* the greater hash ignores the other PING (no reply at all) */
	tbuf_set(&t1, 64, ping_lo, n_lo);
	assert_int_equal(feed(hi, &t1, &t1), HS_NOTHING);
	assert_int_equal(t1.b.len, 0);
	assert_int_equal(hi->next_stage, HS_STAGE_PONG);
	/* the smaller one yields and answers as responder */
	tbuf_set(&t1, 64, ping_hi, n_hi);
	assert_int_equal(feed(lo, &t1, &t1), HS_REPLY);
	assert_int_equal(lo->next_stage, HS_STAGE_PENG);
	assert_int_equal(feed(hi, &t1, &t1), HS_DONE);
	assert_int_equal(feed(lo, &t1, &t1), HS_DONE);
	assert_true(hi->initiator);
	assert_false(lo->initiator);
	assert_int_equal(hi->core.dir, FRAME_DIR_HIGH);
	assert_int_equal(lo->core.dir, FRAME_DIR_LOW);
	hs_free(&a);
	hs_free(&b);
}

static void test_self(void **state)
{
	struct handshake a, a2;

	(void)state;
	/* own message reflected back (equal salted hash) */
	assert_int_equal(hs_init(&a, &cfg_a, ni_a, ni_a_len), 0);
	tbuf_init(&t1, 64);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	assert_int_equal(feed(&a, &t1, &t1), HS_E_FATAL);
	assert_int_equal(t1.b.len, 0);
	hs_free(&a);
	/* another state of the same node (other salt): the intended check catches it */
	assert_int_equal(hs_init(&a, &cfg_a, ni_a, ni_a_len), 0);
	assert_int_equal(hs_init(&a2, &cfg_a, ni_a, ni_a_len), 0);
	assert_memory_not_equal(a.salted_hash, a2.salted_hash, HS_SALTED_HASH_LEN);
	tbuf_init(&t1, 64);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	assert_int_equal(feed(&a2, &t1, &t1), HS_E_FATAL);
	assert_int_equal(t1.b.len, 0);
	hs_free(&a);
	hs_free(&a2);
}

/* The initiator's ephemeral key is in a guarded slot from PING to PONG, and only then. */
static void test_ephemeral_slot(void **state)
{
	struct handshake a, b;
	struct hs_config ca = cfg_a, cb = cfg_b;
	struct secmem *m;

	(void)state;
	assert_int_equal(secmem_new(HS_ECDH_LEN, &m), 0);
	ca.secrets = cb.secrets = m;
	assert_int_equal(hs_init(&a, &ca, ni_a, ni_a_len), 0);
	assert_int_equal(hs_init(&b, &cb, ni_b, ni_b_len), 0);
	assert_int_equal(secmem_used(m), 0);
	tbuf_init(&t1, 64);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	assert_int_equal(secmem_used(m), 1);
	assert_non_null(a.eph_sk);
	assert_int_equal(feed(&b, &t1, &t2), HS_REPLY);
	assert_int_equal(secmem_used(m), 1); /* the responder's key lived on the stack only */
	uint8_t *slot = a.eph_sk;
	assert_int_equal(feed(&a, &t2, &t1), HS_DONE);
	assert_int_equal(secmem_used(m), 0);
	assert_null(a.eph_sk);
	for (size_t i = 0; i < HS_ECDH_LEN; i++) /* wiped (the chunk is still mapped) */
		assert_int_equal(slot[i], 0);
	assert_int_equal(feed(&b, &t1, &t2), HS_DONE);
	hs_free(&a);
	hs_free(&b);

	/* an attempt given up before the PONG returns its slot too */
	assert_int_equal(hs_init(&a, &ca, ni_a, ni_a_len), 0);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	assert_int_equal(secmem_used(m), 1);
	hs_free(&a);
	assert_int_equal(secmem_used(m), 0);
	secmem_free(m);
}

static void test_algorithms(void **state)
{
	struct handshake a, b;
	struct hs_config ca = cfg_a, cb = cfg_b;
	struct algo_list la, lb;
	uint8_t id;

	(void)state;
	/* no common algorithm: the responder fails fatally, silently */
	algo_list_init(&la);
	assert_int_equal(algo_list_add(&la, ALGO_AES256, 10), 0);
	ca.algos = &la;
	assert_int_equal(hs_init(&a, &ca, ni_a, ni_a_len), 0);
	assert_int_equal(hs_init(&b, &cb, ni_b, ni_b_len), 0);
	tbuf_init(&t1, 64);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	assert_int_equal(feed(&b, &t1, &t1), HS_E_FATAL);
	assert_int_equal(t1.b.len, 0);
	hs_free(&a);
	hs_free(&b);

	/* plain only when both allow it */
	la.allow_plain = true;
	lb = algos_b;
	cb.algos = &lb;
	assert_int_equal(hs_init(&a, &ca, ni_a, ni_a_len), 0);
	assert_int_equal(hs_init(&b, &cb, ni_b, ni_b_len), 0);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	assert_int_equal(t1.b.len, 150);		  /* 155 - 3 entries + AES256 + plain */
	assert_int_equal(feed(&b, &t1, &t1), HS_E_FATAL); /* only AES256 vs AES128/CHACHA20 */
	hs_free(&a);
	hs_free(&b);
	lb.allow_plain = true;
	assert_int_equal(hs_init(&a, &ca, ni_a, ni_a_len), 0);
	assert_int_equal(hs_init(&b, &cb, ni_b, ni_b_len), 0);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	assert_int_equal(feed(&b, &t1, &t1), HS_REPLY);
	assert_int_equal(b.algo, ALGO_PLAIN);
	assert_false(b.has_core);
	/* the PONG carries NodeInfo B in the clear */
	struct hs_msg m;

	assert_int_equal(hs_decode(buf_data(&t1.b), t1.b.len, pk, 1, &m), 0);
	assert_int_equal(m.payload_len, ni_b_len);
	assert_memory_equal(m.payload, ni_b, ni_b_len);
	assert_int_equal(feed(&a, &t1, &t1), HS_DONE);
	assert_int_equal(feed(&b, &t1, &t1), HS_DONE);
	struct frame_core unused;

	assert_false(hs_take_core(&a, &unused));
	assert_int_equal(a.algo, ALGO_PLAIN);
	hs_free(&a);
	hs_free(&b);
	assert_int_equal(algo_select(&algos_a, &algos_b, &id), 0);
	assert_int_equal(id, ALGO_CHACHA20);
}

static bool reject_all(const uint8_t *p, size_t len, void *arg)
{
	(void)p;
	(void)len;
	(void)arg;
	return false;
}

static void test_bad_payload(void **state)
{
	struct handshake a, b;
	struct hs_config cb = cfg_b;
	uint8_t pong[512];
	size_t n;

	(void)state;
	/* a PONG with a tampered (but signed) payload: fatal at the initiator, no PENG */
	pair(&a, &b);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	assert_int_equal(feed(&b, &t1, &t1), HS_REPLY);
	n = t1.b.len;
	memcpy(pong, buf_data(&t1.b), n);
	pong[n - HS_SIG_LEN - 3] ^= 0x40; /* last tag byte of the payload */
	resign(pong, n);
	tbuf_set(&t1, 64, pong, n);
	assert_int_equal(feed(&a, &t1, &t1), HS_E_FATAL);
	assert_int_equal(t1.b.len, 0);
	hs_free(&a);
	hs_free(&b);

	/* a payload the node rejects (NodeInfo decode) is fatal too */
	cb.payload_ok = reject_all;
	assert_int_equal(hs_init(&a, &cfg_a, ni_a, ni_a_len), 0);
	assert_int_equal(hs_init(&b, &cb, ni_b, ni_b_len), 0);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	assert_int_equal(feed(&b, &t1, &t1), HS_REPLY);
	assert_int_equal(feed(&a, &t1, &t1), HS_DONE);
	assert_int_equal(feed(&b, &t1, &t1), HS_E_FATAL);
	hs_free(&a);
	hs_free(&b);
}

static void test_zero_ecdh(void **state)
{
	struct handshake b;
	uint8_t msg[512];
	size_t n;
	char f[512];

	(void)state;
	snprintf(f, sizeof(f),
		 "010001 01 020014 0102030405060708090a0b0c0d0e0f1011121314 "
		 "030020 0000000000000000000000000000000000000000000000000000000000000000 "
		 "040005 0144610000");
	n = craft(msg, f);
	assert_int_equal(hs_init(&b, &cfg_b, ni_b, ni_b_len), 0);
	tbuf_set(&t1, 64, msg, n);
	assert_int_equal(feed(&b, &t1, &t1), HS_E_FATAL);
	assert_int_equal(t1.b.len, 0);
	hs_free(&b);
}

static void test_untrusted(void **state)
{
	struct handshake a, b;
	struct hs_config cb = cfg_b;
	uint8_t ping[256];
	size_t n;

	(void)state;
	cb.trusted = other_pk;
	assert_int_equal(hs_init(&a, &cfg_a, ni_a, ni_a_len), 0);
	assert_int_equal(hs_init(&b, &cb, ni_b, ni_b_len), 0);
	assert_int_equal(hs_start(&a, &t1.b), 0);
	n = t1.b.len;
	memcpy(ping, buf_data(&t1.b), n);
	assert_int_equal(feed(&b, &t1, &t1), -EPERM);
	assert_int_equal(t1.b.len, 0);
	/* bad signature: no reply, and the state is unaffected */
	hs_free(&b);
	assert_int_equal(hs_init(&b, &cfg_b, ni_b, ni_b_len), 0);
	tbuf_set(&t1, 64, ping, n);
	buf_data(&t1.b)[n - 1] ^= 1;
	assert_int_equal(feed(&b, &t1, &t1), -EPERM);
	assert_int_equal(t1.b.len, 0);
	assert_int_equal(b.next_stage, HS_STAGE_PING);
	tbuf_set(&t1, 64, ping, n);
	assert_int_equal(feed(&b, &t1, &t1), HS_REPLY);
	hs_free(&a);
	hs_free(&b);
}

static int setup(void **state)
{
	uint8_t seed[32];

	(void)state;
	unhex(seed, sizeof(seed), V_SEED);
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	memset(seed, 0x5a, sizeof(seed));
	assert_int_equal(crypto_sign_seed_keypair(other_pk, (uint8_t[64]){ 0 }, seed), 0);
	memcpy(trusted2, other_pk, 32);
	memcpy(trusted2 + 32, pk, 32);
	unhex(node_a, 16, V_NODE_A);
	unhex(node_b, 16, V_NODE_B);
	ni_a_len = unhex(ni_a, sizeof(ni_a), V_NODEINFO_A);
	ni_b_len = unhex(ni_b, sizeof(ni_b), V_NODEINFO_B);
	algo_list_init(&algos_a);
	assert_int_equal(algo_list_add(&algos_a, ALGO_AES128, 1000.0f), 0);
	assert_int_equal(algo_list_add(&algos_a, ALGO_AES256, 800.0f), 0);
	assert_int_equal(algo_list_add(&algos_a, ALGO_CHACHA20, 600.0f), 0);
	algo_list_init(&algos_b);
	assert_int_equal(algo_list_add(&algos_b, ALGO_AES128, 500.0f), 0);
	assert_int_equal(algo_list_add(&algos_b, ALGO_CHACHA20, 900.0f), 0);
	cfg_a = (struct hs_config){ .pk = pk,
				    .sk = sk,
				    .trusted = pk,
				    .n_trusted = 1,
				    .node_id = node_a,
				    .algos = &algos_a };
	cfg_b = cfg_a;
	cfg_b.node_id = node_b;
	cfg_b.algos = &algos_b;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a1_a2_a3),       cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_decode_robust),  cmocka_unit_test(test_a4),
		cmocka_unit_test(test_resend_timeout), cmocka_unit_test(test_responder_repeats),
		cmocka_unit_test(test_responder_no_reflection),
		cmocka_unit_test(test_lost_peng),      cmocka_unit_test(test_simultaneous),
		cmocka_unit_test(test_restarted_responder),
		cmocka_unit_test(test_self),	       cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_ephemeral_slot),
		cmocka_unit_test(test_bad_payload),    cmocka_unit_test(test_zero_ecdh),
		cmocka_unit_test(test_untrusted),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* test_session.c - the per-peer session: A.4 end to end, events, rotation over a lossy link. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>

#include "meshvpn/session.h"
#define CRYPTO_TEST_WRAP_RANDOM
#include "crypto_test_util.h"
#include "crypto_vectors.h"

#define RX_HEADROOM 100 /* like the reference's receive buffer */

static uint8_t seed[32], other_pk[32];
static uint8_t node_a[16], node_b[16];
static uint8_t ni_a[128], ni_b[128];
static size_t ni_a_len, ni_b_len;
static struct algo_list algos_a, algos_b;
static struct tbuf ta, tb, tx;
static struct session_event ev;

static struct session_ctx *mkctx(const uint8_t *node_id, const struct algo_list *algos,
				 unsigned cycle, const uint8_t *trusted, size_t n_trusted)
{
	struct session_params p = {
		.seed = seed,
		.trusted_keys = trusted,
		.n_trusted_keys = n_trusted,
		.node_id = node_id,
		.algos = algos,
		.rotate_cycle = cycle,
	};
	struct session_ctx *ctx = NULL;

	assert_int_equal(session_ctx_new(&p, &ctx), 0);
	assert_non_null(ctx);
	return ctx;
}

/* Moves the datagram in from into to (at the receive headroom). */
static void xfer(const struct tbuf *from, struct tbuf *to)
{
	static uint8_t tmp[65535];
	size_t n = from->b.len;

	memcpy(tmp, buf_data(&from->b), n);
	tbuf_set(to, RX_HEADROOM, tmp, n);
}

static void expect(const struct tbuf *t, const char *hex)
{
	static uint8_t want[1024];
	size_t n = unhex(want, sizeof(want), hex);

	assert_int_equal(t->b.len, n);
	assert_memory_equal(buf_data(&t->b), want, n);
}

/* Full handshake a (initiator) <-> b (responder). */
static void handshake(struct session_ctx *ca, struct session_ctx *cb, struct session **a,
		      struct session **b)
{
	tbuf_init(&ta, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, a, &ta.b), 0);
	assert_int_equal(session_new_responder(cb, ni_b, ni_b_len, b), 0);
	assert_false(session_is_established(*a));
	xfer(&ta, &tb);
	assert_int_equal(session_handle(*b, &tb.b, &ev), SESSION_REPLY);
	xfer(&tb, &ta);
	assert_int_equal(session_handle(*a, &ta.b, &ev), SESSION_ESTABLISHED);
	assert_true(ev.initiator && ev.send);
	assert_int_equal(ev.payload_len, ni_b_len);
	assert_memory_equal(ev.payload, ni_b, ni_b_len);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(*b, &tb.b, &ev), SESSION_ESTABLISHED);
	assert_false(ev.initiator);
	assert_int_equal(ev.payload_len, ni_a_len);
	assert_memory_equal(ev.payload, ni_a, ni_a_len);
	if (session_algo(*b) == ALGO_PLAIN) {
		assert_false(ev.send);
	} else {
		assert_true(ev.send); /* rotation message 1 */
		xfer(&tb, &ta);
		assert_int_equal(session_handle(*a, &ta.b, &ev), SESSION_NONE);
		assert_int_equal(ta.b.len, 0);
	}
	assert_true(session_is_established(*a) && session_is_established(*b));
	assert_true(session_is_initiator(*a));
	assert_false(session_is_initiator(*b));
	assert_true(session_has_handshake(*a)); /* retained for a lost PENG */
	assert_false(session_has_handshake(*b));
}

/* Encrypts type||body at from into frame (a tbuf); returns the frame's key id. */
static uint8_t seal(struct session *from, uint8_t type, const void *body, size_t n,
		    struct tbuf *frame)
{
	tbuf_init(frame, SESSION_HEADROOM);
	uint8_t *p = buf_put(&frame->b, (uint32_t)(1 + n));

	p[0] = type;
	memcpy(p + 1, body, n);
	assert_int_equal(session_encrypt(from, &frame->b), 0);
	return buf_data(&frame->b)[0];
}

/* Delivers a sealed frame and checks it arrives intact. */
static void open_ok(struct session *to, const struct tbuf *frame, uint8_t type, const void *body,
		    size_t n)
{
	xfer(frame, &tb);
	assert_int_equal(session_handle(to, &tb.b, &ev), SESSION_MESSAGE);
	assert_int_equal(ev.type, type);
	assert_int_equal(tb.b.len, 1 + n);
	assert_int_equal(buf_data(&tb.b)[0], type);
	assert_memory_equal(buf_data(&tb.b) + 1, body, n);
}

static void data_ok(struct session *from, struct session *to, const char *text)
{
	seal(from, FRAME_TYPE_DATA, text, strlen(text), &tx);
	open_ok(to, &tx, FRAME_TYPE_DATA, text, strlen(text));
}

static void test_a4(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session_ctx *cb = mkctx(node_b, &algos_b, 0, NULL, 0);
	struct session *a, *b;
	uint8_t inner[64];
	size_t n;

	(void)state;
	rng_push(V_SALT_A);
	rng_push(V_PRIV_A);
	rng_push(V_PING_SALT);
	tbuf_init(&ta, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a, &ta.b), 0);
	expect(&ta, V_PING);
	assert_int_equal(ta.b.off, SESSION_HEADROOM);
	assert_int_equal(session_ctx_secrets_used(ca), 1); /* the ephemeral key */

	rng_push(V_SALT_B);
	assert_int_equal(session_new_responder(cb, ni_b, ni_b_len, &b), 0);
	rng_push(V_PRIV_B);
	rng_push(V_NONCE_B);
	rng_push(V_PONG_SALT);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b, &tb.b, &ev), SESSION_REPLY);
	assert_int_equal(ev.kind, SESSION_REPLY);
	expect(&tb, V_PONG);
	assert_false(session_is_established(b));

	rng_push(V_NONCE_A);
	rng_push(V_PENG_SALT);
	xfer(&tb, &ta);
	assert_int_equal(session_handle(a, &ta.b, &ev), SESSION_ESTABLISHED);
	assert_true(ev.send && ev.initiator);
	assert_memory_equal(ev.payload, ni_b, ni_b_len);
	expect(&ta, V_PENG);
	assert_int_equal(session_algo(a), ALGO_CHACHA20);
	assert_string_equal(session_algo_name(a), "CHACHA20");

	rng_push(V_PRIV_ROT_B);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b, &tb.b, &ev), SESSION_ESTABLISHED);
	assert_true(ev.send);
	assert_false(ev.initiator);
	assert_memory_equal(ev.payload, ni_a, ni_a_len);
	expect(&tb, V_ROT_WIRE); /* B's rotation message 1 */
	assert_true(rng_drained());
	/* ephemeral key gone, rotation state in: one slot each */
	assert_int_equal(session_ctx_secrets_used(ca), 1);
	assert_int_equal(session_ctx_secrets_used(cb), 1);
	assert_string_equal(session_algo_name(b), "CHACHA20");
	const uint8_t *pp = session_peer_payload(b, &n);

	assert_int_equal(n, ni_a_len);
	assert_memory_equal(pp, ni_a, n);

	/* A's first DATA frame */
	n = unhex(inner, sizeof(inner), V_DATA_INNER);
	tbuf_set(&tx, SESSION_HEADROOM, inner, n);
	assert_int_equal(session_encrypt(a, &tx.b), 0);
	expect(&tx, V_DATA);

	/* both sides accept each other's traffic */
	xfer(&tb, &ta);
	assert_int_equal(session_handle(a, &ta.b, &ev), SESSION_NONE);
	open_ok(b, &tx, FRAME_TYPE_DATA, inner + 1, n - 1);
	data_ok(b, a, "hello A");
	session_free(a);
	session_free(b);
	assert_int_equal(session_ctx_secrets_used(ca), 0);
	assert_int_equal(session_ctx_secrets_used(cb), 0);
	session_ctx_free(ca);
	session_ctx_free(cb);
}

static void test_events(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session_ctx *cb = mkctx(node_b, &algos_b, 0, NULL, 0);
	struct session *a, *b;
	uint8_t junk[FRAME_MIN_LEN] = { 0 };

	(void)state;
	handshake(ca, cb, &a, &b);
	seal(a, FRAME_TYPE_NODE_INFO, ni_a, ni_a_len, &tx);
	open_ok(b, &tx, FRAME_TYPE_NODE_INFO, ni_a, ni_a_len);
	seal(b, FRAME_TYPE_KEEPALIVE, "", 0, &tx);
	open_ok(a, &tx, FRAME_TYPE_KEEPALIVE, "", 0);
	seal(a, FRAME_TYPE_CLOSE, "", 0, &tx);
	/* replayed: rejected */
	open_ok(b, &tx, FRAME_TYPE_CLOSE, "", 0);
	xfer(&tx, &tb);
	assert_int_equal(session_handle(b, &tb.b, &ev), -EALREADY);
	/* reflected to its sender: rejected (its nonce is old to A's receive window; a fresh
	 * one would fail the tag, test_frame.c test_direction) */
	seal(a, FRAME_TYPE_DATA, "x", 1, &tx);
	xfer(&tx, &ta);
	assert_int_equal(session_handle(a, &ta.b, &ev), -EALREADY);
	/* short datagrams never crash */
	for (size_t n = 0; n < FRAME_MIN_LEN; n++) {
		tbuf_set(&tb, RX_HEADROOM, junk, n);
		assert_int_equal(session_handle(b, &tb.b, &ev), n ? -EMSGSIZE : -EBADMSG);
	}
	/* a lone 0xFF: no handshake left at the responder -> start a new one; truncated at A */
	junk[0] = 0xff;
	tbuf_set(&tb, RX_HEADROOM, junk, 1);
	assert_int_equal(session_handle(b, &tb.b, &ev), -ENOENT);
	tbuf_set(&ta, RX_HEADROOM, junk, 1);
	assert_int_equal(session_handle(a, &ta.b, &ev), -EBADMSG);
	/* an empty message cannot be sent */
	tbuf_init(&tx, SESSION_HEADROOM);
	assert_int_equal(session_encrypt(a, &tx.b), -EINVAL);
	data_ok(a, b, "still fine");
	data_ok(b, a, "still fine");
	session_free(a);
	session_free(b);
	session_ctx_free(ca);
	session_ctx_free(cb);
}

static void test_not_established(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session_ctx *cb = mkctx(node_b, &algos_b, 0, NULL, 0);
	struct session *a, *b, *a2, *b2;

	(void)state;
	handshake(ca, cb, &a, &b);
	tbuf_init(&ta, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a2, &ta.b), 0);
	assert_int_equal(session_new_responder(cb, ni_b, ni_b_len, &b2), 0);
	seal(a, FRAME_TYPE_DATA, "early", 5, &tx);
	xfer(&tx, &tb);
	assert_int_equal(session_handle(b2, &tb.b, &ev), -ENOTCONN);
	tbuf_set(&tx, SESSION_HEADROOM, (const uint8_t *)"\0x", 2);
	assert_int_equal(session_encrypt(a2, &tx.b), -ENOTCONN);
	/* a pending responder gets the PONG: fatal (invalid first stage), then it is dead */
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b2, &tb.b, &ev), SESSION_REPLY);
	struct session *b3;

	assert_int_equal(session_new_responder(cb, ni_b, ni_b_len, &b3), 0);
	assert_int_equal(session_handle(b3, &tb.b, &ev), SESSION_E_FATAL);
	assert_int_equal(tb.b.len, 0);
	assert_false(session_has_handshake(b3));
	assert_int_equal(session_tick(b3, &tx.b), -ENOTCONN);
	session_free(b3);
	session_free(a2);
	session_free(b2);
	session_free(a);
	session_free(b);
	session_ctx_free(ca);
	session_ctx_free(cb);
}

static void test_timeout(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session *a;
	uint8_t ping[256];
	size_t n;

	(void)state;
	tbuf_init(&ta, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a, &ta.b), 0);
	n = ta.b.len;
	memcpy(ping, buf_data(&ta.b), n);
	for (int i = 0; i < HS_MAX_RETRIES; i++) {
		assert_int_equal(session_tick(a, &ta.b), 1);
		assert_int_equal(ta.b.len, n);
		assert_memory_equal(buf_data(&ta.b), ping, n);
	}
	assert_int_equal(session_tick(a, &ta.b), -ETIMEDOUT);
	assert_false(session_has_handshake(a));
	session_free(a);
	session_ctx_free(ca);
}

static void test_lost_peng(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session_ctx *cb = mkctx(node_b, &algos_b, 0, NULL, 0);
	struct session *a, *b;
	uint8_t peng[512], pong[512];
	size_t n, pn;

	(void)state;
	tbuf_init(&ta, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a, &ta.b), 0);
	assert_int_equal(session_new_responder(cb, ni_b, ni_b_len, &b), 0);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b, &tb.b, &ev), SESSION_REPLY);
	pn = tb.b.len;
	memcpy(pong, buf_data(&tb.b), pn);
	xfer(&tb, &ta);
	assert_int_equal(session_handle(a, &ta.b, &ev), SESSION_ESTABLISHED);
	n = ta.b.len;
	memcpy(peng, buf_data(&ta.b), n);
	/* PENG lost; B's tick repeats the PONG; A answers with the identical PENG */
	assert_int_equal(session_tick(b, &tb.b), 1);
	assert_int_equal(tb.b.len, pn);
	assert_int_equal(session_tick(a, &ta.b), 0);
	xfer(&tb, &ta);
	assert_int_equal(session_handle(a, &ta.b, &ev), SESSION_REPLY);
	assert_int_equal(ta.b.len, n);
	assert_memory_equal(buf_data(&ta.b), peng, n);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b, &tb.b, &ev), SESSION_ESTABLISHED);
	xfer(&tb, &ta);
	assert_int_equal(session_handle(a, &ta.b, &ev), SESSION_NONE);
	data_ok(a, b, "after lost peng");
	/* retention ends 61 ticks after success */
	for (int i = 1; i < HS_CLOSE_TICKS; i++) {
		assert_int_equal(session_tick(a, &ta.b), 0);
		assert_true(session_has_handshake(a));
	}
	assert_int_equal(session_tick(a, &ta.b), 0);
	assert_false(session_has_handshake(a));
	/* a late PONG now has no state to go to */
	tbuf_set(&ta, RX_HEADROOM, pong, pn);
	assert_int_equal(session_handle(a, &ta.b, &ev), -ENOENT);
	data_ok(a, b, "still up");
	session_free(a);
	session_free(b);
	session_ctx_free(ca);
	session_ctx_free(cb);
}

/*
 * B restarts (new node id, new state) on the address of an established session whose
 * initiator A still retains its handshake state: B's PING is not answered with the old PENG
 * but reported as -ENOENT with the datagram untouched, and a new responder on it completes.
 */
static void test_peer_restarted(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session_ctx *cb = mkctx(node_b, &algos_b, 0, NULL, 0);
	struct session *a, *b, *b2, *a2;
	uint8_t ping[1024];
	size_t n;

	(void)state;
	handshake(ca, cb, &a, &b);
	session_free(b); /* killed without a CLOSE */
	session_ctx_free(cb);
	uint8_t node_b2[16] = { 0xb2 };
	cb = mkctx(node_b2, &algos_b, 0, NULL, 0);
	tbuf_init(&tb, 0);
	assert_int_equal(session_new_initiator(cb, ni_b, ni_b_len, &b2, &tb.b), 0);
	n = tb.b.len;
	memcpy(ping, buf_data(&tb.b), n);
	xfer(&tb, &ta);
	assert_true(session_has_handshake(a));
	assert_int_equal(session_handle(a, &ta.b, &ev), -ENOENT);
	assert_int_equal(ta.b.len, n);
	assert_memory_equal(buf_data(&ta.b), ping, n);
	assert_true(session_has_handshake(a)); /* still answers a repeated PONG */
	/* the node hands the same datagram to a new responder: B2 gets in */
	assert_int_equal(session_new_responder(ca, ni_a, ni_a_len, &a2), 0);
	assert_int_equal(session_handle(a2, &ta.b, &ev), SESSION_REPLY);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b2, &tb.b, &ev), SESSION_ESTABLISHED);
	xfer(&tb, &ta);
	assert_int_equal(session_handle(a2, &ta.b, &ev), SESSION_ESTABLISHED);
	if (session_algo(a2) != ALGO_PLAIN) {
		xfer(&ta, &tb);
		assert_int_equal(session_handle(b2, &tb.b, &ev), SESSION_NONE);
	}
	data_ok(b2, a2, "after the restart");
	data_ok(a2, b2, "both ways");
	session_free(a);
	session_free(a2);
	session_free(b2);
	session_ctx_free(ca);
	session_ctx_free(cb);
}

static void test_simultaneous(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session_ctx *cb = mkctx(node_b, &algos_b, 0, NULL, 0);
	struct session *a, *b, *hi, *lo;
	static struct tbuf pa, pb;
	int ra, rb;

	(void)state;
	tbuf_init(&pa, 0);
	tbuf_init(&pb, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a, &pa.b), 0);
	assert_int_equal(session_new_initiator(cb, ni_b, ni_b_len, &b, &pb.b), 0);
	/* the PINGs cross */
	xfer(&pb, &ta);
	ra = session_handle(a, &ta.b, &ev);
	xfer(&pa, &tb);
	rb = session_handle(b, &tb.b, &ev);
	/* exactly one side yields and answers with a PONG; the other stays silent */
	assert_true((ra == SESSION_REPLY) != (rb == SESSION_REPLY));
	assert_true(ra == SESSION_NONE || rb == SESSION_NONE);
	lo = ra == SESSION_REPLY ? a : b;
	hi = lo == a ? b : a;
	struct tbuf *pong = lo == a ? &ta : &tb;

	assert_int_equal((lo == a ? &tb : &ta)->b.len, 0); /* no empty datagram */
	xfer(pong, &tx);
	assert_int_equal(session_handle(hi, &tx.b, &ev), SESSION_ESTABLISHED);
	assert_true(ev.initiator);
	assert_int_equal(session_handle(lo, &tx.b, &ev), SESSION_ESTABLISHED);
	assert_false(ev.initiator);
	assert_int_equal(session_handle(hi, &tx.b, &ev), SESSION_NONE);
	assert_true(session_is_initiator(hi));
	assert_false(session_is_initiator(lo));
	/* consistent directions: traffic flows both ways */
	data_ok(a, b, "a to b");
	data_ok(b, a, "b to a");
	session_free(a);
	session_free(b);
	session_ctx_free(ca);
	session_ctx_free(cb);
}

static void test_untrusted(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session_ctx *cb = mkctx(node_b, &algos_b, 0, other_pk, 1);
	struct session_ctx *cb2 = mkctx(node_b, &algos_b, 0, NULL, 0);
	struct session *a, *b;
	uint8_t ping[256];
	size_t n;

	(void)state;
	tbuf_init(&ta, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a, &ta.b), 0);
	n = ta.b.len;
	memcpy(ping, buf_data(&ta.b), n);
	assert_int_equal(session_new_responder(cb, ni_b, ni_b_len, &b), 0);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b, &tb.b, &ev), -EPERM);
	assert_int_equal(tb.b.len, 0);
	session_free(b);
	/* bad signature */
	assert_int_equal(session_new_responder(cb2, ni_b, ni_b_len, &b), 0);
	ping[n - 10] ^= 0x10;
	tbuf_set(&tb, RX_HEADROOM, ping, n);
	assert_int_equal(session_handle(b, &tb.b, &ev), -EPERM);
	assert_int_equal(tb.b.len, 0);
	ping[n - 10] ^= 0x10;
	tbuf_set(&tb, RX_HEADROOM, ping, n);
	assert_int_equal(session_handle(b, &tb.b, &ev), SESSION_REPLY);
	session_free(b);
	session_free(a);
	session_ctx_free(ca);
	session_ctx_free(cb);
	session_ctx_free(cb2);
}

/* The trusted keys change at run time (the hub's registry); the peer's key is reported. */
static void test_trust_changes(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session_ctx *cb = mkctx(node_b, &algos_b, 0, other_pk, 1);
	const uint8_t *own = session_ctx_public_key(ca);
	struct session *a, *b;
	uint8_t keys[2][32];

	(void)state;
	tbuf_init(&ta, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a, &ta.b), 0);
	assert_int_equal(session_new_responder(cb, ni_b, ni_b_len, &b), 0);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b, &tb.b, &ev), -EPERM); /* not trusted yet */
	session_free(b);
	session_free(a);

	memcpy(keys[0], other_pk, 32);
	memcpy(keys[1], own, 32);
	assert_int_equal(session_ctx_set_trusted(cb, &keys[0][0], 2), 0);
	handshake(ca, cb, &a, &b);
	assert_non_null(session_peer_key(b));
	assert_memory_equal(session_peer_key(b), own, 32);
	assert_memory_equal(session_peer_key(a), own, 32);
	session_free(b);
	session_free(a);

	/* a handshake in progress sees the new list at its next message */
	tbuf_init(&ta, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a, &ta.b), 0);
	assert_int_equal(session_new_responder(cb, ni_b, ni_b_len, &b), 0);
	assert_null(session_peer_key(b));
	assert_int_equal(session_ctx_set_trusted(cb, other_pk, 1), 0);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b, &tb.b, &ev), -EPERM);
	session_free(b);
	session_free(a);

	/* no list: the own key only (which both contexts share here) */
	assert_int_equal(session_ctx_set_trusted(cb, NULL, 0), 0);
	handshake(ca, cb, &a, &b);
	session_free(b);
	session_free(a);
	session_ctx_free(ca);
	session_ctx_free(cb);
}

static void test_tampered_payload(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session_ctx *cb = mkctx(node_b, &algos_b, 0, NULL, 0);
	struct session *a, *b;
	uint8_t sk[64], pk[32], *p;

	(void)state;
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	tbuf_init(&ta, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a, &ta.b), 0);
	assert_int_equal(session_new_responder(cb, ni_b, ni_b_len, &b), 0);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b, &tb.b, &ev), SESSION_REPLY);
	/* flip a ciphertext byte of the payload, re-sign with the (trusted) identity */
	p = buf_data(&tb.b);
	size_t n = tb.b.len;

	p[n - HS_SIG_LEN - 10] ^= 1;
	crypto_sign_detached(p + n - HS_SIG_LEN, NULL, p + 1, n - HS_SIG_LEN - 2, sk);
	xfer(&tb, &ta);
	assert_int_equal(session_handle(a, &ta.b, &ev), SESSION_E_FATAL);
	assert_int_equal(ta.b.len, 0);
	assert_false(session_is_established(a));
	xfer(&tb, &ta);
	assert_int_equal(session_handle(a, &ta.b, &ev), -ENOTCONN);
	session_free(a);
	session_free(b);
	session_ctx_free(ca);
	session_ctx_free(cb);
	sodium_memzero(sk, sizeof(sk));
}

static void test_algorithms(void **state)
{
	struct algo_list l1, l2;
	struct session_ctx *ca, *cb;
	struct session *a, *b;

	(void)state;
	/* no common algorithm: fatal at the responder, nothing sent */
	algo_list_init(&l1);
	assert_int_equal(algo_list_add(&l1, ALGO_AES256, 1), 0);
	ca = mkctx(node_a, &l1, 0, NULL, 0);
	cb = mkctx(node_b, &algos_b, 0, NULL, 0);
	tbuf_init(&ta, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a, &ta.b), 0);
	assert_int_equal(session_new_responder(cb, ni_b, ni_b_len, &b), 0);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b, &tb.b, &ev), SESSION_E_FATAL);
	assert_int_equal(tb.b.len, 0);
	session_free(a);
	session_free(b);
	session_ctx_free(ca);
	session_ctx_free(cb);

	/* plain only when both allow it */
	l1.allow_plain = true;
	l2 = algos_b;
	l2.allow_plain = true;
	ca = mkctx(node_a, &l1, 0, NULL, 0);
	cb = mkctx(node_b, &algos_a, 0, NULL, 0);
	handshake(ca, cb, &a, &b);
	assert_int_equal(session_algo(a), ALGO_AES256);
	session_free(a);
	session_free(b);
	session_ctx_free(cb);
	cb = mkctx(node_b, &l2, 0, NULL, 0);
	handshake(ca, cb, &a, &b);
	assert_int_equal(session_algo(a), ALGO_PLAIN);
	assert_int_equal(session_algo(b), ALGO_PLAIN);
	assert_string_equal(session_algo_name(a), "PLAIN");
	/* plain frames are the bare inner message */
	seal(a, FRAME_TYPE_DATA, "clear", 5, &tx);
	assert_int_equal(tx.b.len, 6);
	assert_memory_equal(buf_data(&tx.b), "\0clear", 6);
	open_ok(b, &tx, FRAME_TYPE_DATA, "clear", 5);
	data_ok(b, a, "back");
	/* a plain CLOSE is the lone byte FF; it is recognised despite looking like an init */
	seal(a, FRAME_TYPE_CLOSE, "", 0, &tx);
	assert_int_equal(tx.b.len, 1);
	open_ok(b, &tx, FRAME_TYPE_CLOSE, "", 0);
	/* rotation messages are ignored, and ticks never rotate */
	tbuf_set(&tb, RX_HEADROOM, (const uint8_t *)"\x10junk", 5);
	assert_int_equal(session_handle(b, &tb.b, &ev), SESSION_NONE);
	for (int i = 0; i < 3 * ROTATE_CYCLE_DEFAULT; i++) {
		assert_int_equal(session_tick(a, &ta.b), 0);
		assert_int_equal(session_tick(b, &tb.b), 0);
	}
	data_ok(a, b, "plain after ticks");
	session_free(a);
	session_free(b);
	session_ctx_free(ca);
	session_ctx_free(cb);
}

static void test_self(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session *a, *a2, *b;
	struct session_ctx *cb = mkctx(node_b, &algos_b, 0, NULL, 0);

	(void)state;
	tbuf_init(&ta, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a, &ta.b), 0);
	assert_int_equal(session_new_responder(ca, ni_a, ni_a_len, &a2), 0);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(a2, &tb.b, &ev), SESSION_E_FATAL);
	assert_int_equal(tb.b.len, 0);
	session_free(a2);
	session_free(a);

	/* a fatal error of an established session's retained state only drops that state */
	handshake(ca, cb, &a, &b);
	tbuf_init(&tx, 0);
	assert_int_equal(session_new_initiator(ca, ni_a, ni_a_len, &a2, &tx.b), 0);
	xfer(&tx, &ta); /* a PING of our own node id */
	assert_int_equal(session_handle(a, &ta.b, &ev), -EPROTO);
	assert_false(session_has_handshake(a));
	assert_true(session_is_established(a));
	data_ok(a, b, "unaffected");
	session_free(a2);
	session_free(a);
	session_free(b);
	session_ctx_free(ca);
	session_ctx_free(cb);
}

/*
 * Rotation over a simulated link: data both ways every tick, including frames sealed before
 * and delivered after a key switch; one rotation message is lost and must be resent.
 */
static void run_link(uint8_t algo)
{
	const unsigned cycle = 3;
	struct algo_list l;
	struct session_ctx *ca, *cb;
	struct session *a, *b;
	static struct tbuf pre_a, pre_b, out;
	int rot_msgs = 0, dropped = 0, switches_a = 0, switches_b = 0;
	uint8_t slot_a = 0, slot_b = 0;
	char text[64];

	tbuf_init(&out, 0);
	algo_list_init(&l);
	assert_int_equal(algo_list_add(&l, algo, 100), 0);
	ca = mkctx(node_a, &l, cycle, NULL, 0);
	cb = mkctx(node_b, &l, cycle, NULL, 0);
	handshake(ca, cb, &a, &b);
	assert_int_equal(session_algo(a), algo);

	for (int t = 0; t < 40 * (int)cycle; t++) {
		/* in flight across the tick */
		snprintf(text, sizeof(text), "pre a %d", t);
		seal(a, FRAME_TYPE_DATA, text, strlen(text), &pre_a);
		snprintf(text, sizeof(text), "pre b %d", t);
		seal(b, FRAME_TYPE_DATA, text, strlen(text), &pre_b);

		struct session *side[2] = { a, b };

		for (int i = 0; i < 2; i++) {
			int r = session_tick(side[i], &out.b);

			assert_true(r == 0 || r == 1);
			if (r == 0)
				continue;
			rot_msgs++;
			if (rot_msgs == 5) {
				dropped++;
				continue; /* lost on the link */
			}
			xfer(&out, &tx);
			assert_int_equal(session_handle(side[1 - i], &tx.b, &ev), SESSION_NONE);
		}
		/* frames sealed after the tick arrive first, then the older ones */
		snprintf(text, sizeof(text), "post a %d", t);
		uint8_t ka = seal(a, FRAME_TYPE_DATA, text, strlen(text), &tx);

		open_ok(b, &tx, FRAME_TYPE_DATA, text, strlen(text));
		snprintf(text, sizeof(text), "post b %d", t);
		uint8_t kb = seal(b, FRAME_TYPE_DATA, text, strlen(text), &tx);

		open_ok(a, &tx, FRAME_TYPE_DATA, text, strlen(text));
		snprintf(text, sizeof(text), "pre a %d", t);
		open_ok(b, &pre_a, FRAME_TYPE_DATA, text, strlen(text));
		snprintf(text, sizeof(text), "pre b %d", t);
		open_ok(a, &pre_b, FRAME_TYPE_DATA, text, strlen(text));
		switches_a += ka != slot_a;
		switches_b += kb != slot_b;
		slot_a = ka;
		slot_b = kb;
	}
	assert_int_equal(dropped, 1);
	/* at least six rotation cycles in each direction, despite the loss */
	assert_true(switches_a >= 6);
	assert_true(switches_b >= 6);
	assert_true(rot_msgs >= 12);
	session_free(a);
	session_free(b);
	session_ctx_free(ca);
	session_ctx_free(cb);
}

static void test_rotation_aes128(void **state)
{
	(void)state;
	run_link(ALGO_AES128);
}

static void test_rotation_aes256(void **state)
{
	(void)state;
	run_link(ALGO_AES256);
}

static void test_rotation_chacha20(void **state)
{
	(void)state;
	run_link(ALGO_CHACHA20);
}

/* The default cycle: first rotation after 120 counted ticks; resend ticks do not count. */
static void test_default_cycle(void **state)
{
	struct session_ctx *ca = mkctx(node_a, &algos_a, 0, NULL, 0);
	struct session_ctx *cb = mkctx(node_b, &algos_b, 0, NULL, 0);
	struct session *a, *b;

	(void)state;
	handshake(ca, cb, &a, &b);
	for (int i = 1; i < ROTATE_CYCLE_DEFAULT; i++)
		assert_int_equal(session_tick(a, &ta.b), 0);
	/* the initiator (non-starter) confirms B's proposal at its 120th tick */
	assert_int_equal(session_tick(a, &ta.b), 1);
	xfer(&ta, &tb);
	assert_int_equal(session_handle(b, &tb.b, &ev), SESSION_NONE);
	data_ok(b, a, "rotated");
	data_ok(a, b, "rotated");
	session_free(a);
	session_free(b);
	session_ctx_free(ca);
	session_ctx_free(cb);
}

static void test_ctx(void **state)
{
	struct algo_list empty;
	struct session_params p = { .seed = seed, .node_id = node_a, .algos = &empty };
	struct session_ctx *ctx = (void *)1;
	uint8_t pk[32], sk[64];

	(void)state;
	algo_list_init(&empty);
	assert_int_equal(session_ctx_new(&p, &ctx), -EINVAL);
	assert_null(ctx);
	ctx = mkctx(node_a, &algos_a, 0, NULL, 0);
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	assert_memory_equal(session_ctx_public_key(ctx), pk, 32);
	session_ctx_free(ctx);
	session_ctx_free(NULL);
	session_free(NULL);
	sodium_memzero(sk, sizeof(sk));
}

static int setup(void **state)
{
	uint8_t s2[32], sk[64];

	(void)state;
	unhex(seed, sizeof(seed), V_SEED);
	memset(s2, 0x5a, sizeof(s2));
	assert_int_equal(crypto_sign_seed_keypair(other_pk, sk, s2), 0);
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
	tbuf_init(&tx, 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a4),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_not_established),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_lost_peng), cmocka_unit_test(test_peer_restarted),
		cmocka_unit_test(test_simultaneous),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_trust_changes),
		cmocka_unit_test(test_tampered_payload),
		cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_rotation_aes128),
		cmocka_unit_test(test_rotation_aes256),
		cmocka_unit_test(test_rotation_chacha20),
		cmocka_unit_test(test_default_cycle),
		cmocka_unit_test(test_ctx),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_handshake.c - init message decoder and the handshake state machine of an initiator and
 * a responder fed arbitrary messages: raw bytes, fuzzer-chosen fields signed with the trusted
 * key (to get past the signature check), the sessions' own messages and ticks, in any order.
 *
 * Input: algorithm index (1 byte), then records op (1) || length (1) || data.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/handshake.h"
#include "meshvpn/rotate.h"
#include "meshvpn/session.h"
#include "fuzz_crypto_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_init();
	return 0;
}

/* Last datagram each side produced (what the peer would receive next). */
struct out {
	uint8_t p[512];
	size_t n;
};

static void keep(struct out *o, const struct fz_buf *t)
{
	o->n = t->b.len < sizeof(o->p) ? t->b.len : 0;
	if (o->n)
		memcpy(o->p, buf_data(&t->b), o->n);
}

/* Builds a correctly signed init message around fuzzer-chosen TLV bytes. */
static void craft(struct fz_buf *t, const uint8_t *fields, size_t n)
{
	uint8_t salt[HS_SALT_LEN] = { 0 };
	struct wr w;

	fz_buf_set(t, NULL, 0);
	wr_init(&w, buf_data(&t->b), buf_tailroom(&t->b));
	wr_u8(&w, FRAME_INIT_MESSAGE);
	wr_bytes(&w, salt, sizeof(salt));
	hs_key_hash(wr_reserve(&w, HS_KEY_HASH_LEN), fz_pk, salt);
	wr_bytes(&w, fields, n);
	wr_u8(&w, HS_FIELD_END);
	size_t signed_len = w.len - 1;

	wr_u8(&w, HS_SIG_LEN);
	uint8_t *sig = wr_reserve(&w, HS_SIG_LEN);

	if (!wr_ok(&w))
		abort();
	crypto_sign_detached(sig, NULL, buf_data(&t->b) + 1, signed_len, fz_sk);
	t->b.len = (uint32_t)w.len;
}

/* Hands t to s; keeps whatever s wants to send; checks the no-empty-datagram rule. */
static void deliver(struct session *s, struct fz_buf *t, struct out *o)
{
	struct session_event ev;
	int ret = session_handle(s, &t->b, &ev);

	if (ret == SESSION_REPLY || (ret == SESSION_ESTABLISHED && ev.send)) {
		if (t->b.len == 0)
			abort();
		keep(o, t);
	} else if (ret == -EPERM && t->b.len != 0) {
		abort(); /* nothing may go back to an unauthenticated sender */
	}
}

static void tick(struct session *s, struct fz_buf *t, struct out *o)
{
	int ret = session_tick(s, &t->b);

	if (ret == 1) {
		if (t->b.len == 0)
			abort();
		keep(o, t);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_buf t;
	static struct out oa, ob;
	struct session *a = NULL, *b = NULL;
	struct fz_rec r;
	struct hs_msg m;
	struct rotate_msg rm;
	int algo;

	if (size < 1)
		return 0;
	fz_reseed();
	algo = data[0] % FZ_ALGOS;
	data++;
	size--;
	fz_buf_set(&t, NULL, 0);
	if (session_new_initiator(fz_ctx[algo][0], fz_payload, sizeof(fz_payload), &a, &t.b) ||
	    session_new_responder(fz_ctx[algo][1], fz_payload, sizeof(fz_payload), &b))
		abort();
	keep(&oa, &t);
	ob.n = 0;
	while (fz_next(&data, &size, &r)) {
		switch (r.op % 7) {
		case 0:
		case 1:
			/* raw bytes: the decoders directly, then the state machines */
			(void)hs_decode(r.p, r.n, fz_pk, 1, &m);
			(void)rotate_msg_decode(&rm, r.p, r.n);
			fz_buf_set(&t, r.p, r.n);
			if (r.op % 7)
				deliver(a, &t, &oa);
			else
				deliver(b, &t, &ob);
			break;
		case 2:
			craft(&t, r.p, r.n);
			deliver(b, &t, &ob);
			break;
		case 3:
			craft(&t, r.p, r.n);
			deliver(a, &t, &oa);
			break;
		case 4:
			fz_buf_set(&t, oa.p, oa.n);
			deliver(b, &t, &ob);
			break;
		case 5:
			fz_buf_set(&t, ob.p, ob.n);
			deliver(a, &t, &oa);
			break;
		default:
			tick(a, &t, &oa);
			tick(b, &t, &ob);
			break;
		}
	}
	session_free(a);
	session_free(b);
	return 0;
}

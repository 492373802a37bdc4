// SPDX-License-Identifier: GPL-3.0-or-later
/* rotate.c - turn-based X25519 key rotation (PROTOCOL.md 3), no I/O: returns actions. */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/bytes.h"
#include "meshvpn/rotate.h"

_Static_assert(ROTATE_KEY_LEN == crypto_scalarmult_BYTES, "X25519 sizes");
_Static_assert(ROTATE_MSG_SHORT_LEN == 8 + 1 + ROTATE_KEY_LEN + 1, "short message layout");
_Static_assert(ROTATE_MSG_LEN == ROTATE_MSG_SHORT_LEN + ROTATE_KEY_LEN, "full message layout");

size_t rotate_msg_encode(const struct rotate_msg *m, uint8_t out[static ROTATE_MSG_MAX])
{
	struct wr w;

	wr_init(&w, out, ROTATE_MSG_MAX);
	wr_be64(&w, m->id);
	wr_u8(&w, ROTATE_KEY_LEN);
	wr_bytes(&w, m->propose, ROTATE_KEY_LEN);
	if (m->has_confirm) {
		wr_u8(&w, ROTATE_KEY_LEN);
		wr_bytes(&w, m->confirm, ROTATE_KEY_LEN);
	} else {
		wr_u8(&w, 0);
	}
	return w.len;
}

int rotate_msg_decode(struct rotate_msg *m, const uint8_t *p, size_t len)
{
	struct rd r;
	uint8_t klen;

	memset(m, 0, sizeof(*m));
	rd_init(&r, p, len);
	m->id = rd_be64(&r);
	/* The reference accepts any key length and then panics in the key agreement. */
	if (rd_u8(&r) != ROTATE_KEY_LEN)
		return -EBADMSG;
	rd_copy(&r, m->propose, ROTATE_KEY_LEN);
	klen = rd_u8(&r);
	if (klen == ROTATE_KEY_LEN) {
		m->has_confirm = true;
		rd_copy(&r, m->confirm, ROTATE_KEY_LEN);
	} else if (klen != 0) {
		return -EBADMSG;
	}
	if (!rd_ok(&r) || rd_left(&r) != 0)
		return -EBADMSG;
	return 0;
}

static int keypair(uint8_t sk[ROTATE_KEY_LEN], uint8_t pk[ROTATE_KEY_LEN])
{
	randombytes_buf(sk, ROTATE_KEY_LEN);
	return crypto_scalarmult_base(pk, sk) ? -EIO : 0;
}

static void action_clear(struct rotate_action *act)
{
	sodium_memzero(act, sizeof(*act));
}

static void set_send(struct rotate_action *act, const struct rotate_msg *m)
{
	act->msg_len = rotate_msg_encode(m, act->msg);
	act->send = true;
}

int rotate_init(struct rotate *r, struct rotate_secret *sec, bool starter, unsigned cycle,
		struct rotate_action *act)
{
	struct rotate_msg m = { .id = 1 };
	int ret;

	memset(r, 0, sizeof(*r));
	sodium_memzero(sec, sizeof(*sec));
	r->sec = sec;
	action_clear(act);
	r->cycle = cycle ? cycle : ROTATE_CYCLE_DEFAULT;
	if (!starter)
		return 0;
	ret = keypair(r->sec->proposed, m.propose);
	if (ret) {
		rotate_wipe(r);
		return ret;
	}
	r->has_proposed = true;
	r->own_id = 1;
	set_send(act, &m);
	return 0;
}

int rotate_handle(struct rotate *r, const uint8_t *p, size_t len, struct rotate_action *act)
{
	struct rotate_msg m;
	uint8_t sk[ROTATE_KEY_LEN], pk[ROTATE_KEY_LEN], k1[ROTATE_KEY_LEN], k2[ROTATE_KEY_LEN];
	bool confirm;
	int ret;

	action_clear(act);
	ret = rotate_msg_decode(&m, p, len);
	if (ret)
		return ret;
	if (m.id <= r->own_id)
		return 0; /* duplicate or old */
	confirm = m.has_confirm && r->has_proposed;

	/* Compute everything first so that a bad key changes nothing. */
	ret = keypair(sk, pk);
	if (ret)
		goto out;
	if (crypto_scalarmult(k1, sk, m.propose) ||
	    (confirm && crypto_scalarmult(k2, r->sec->proposed, m.confirm))) {
		ret = -EBADMSG; /* all-zero shared secret: small-order key */
		goto out;
	}

	r->timeout = false;
	memcpy(r->sec->pending_key, k1, ROTATE_KEY_LEN);
	memcpy(r->pending_pub, pk, ROTATE_KEY_LEN);
	r->has_pending = true;
	if (confirm) {
		sodium_memzero(r->sec->proposed, ROTATE_KEY_LEN);
		r->has_proposed = false;
		act->install = true;
		act->use_for_sending = true;
		act->id = m.id;
		memcpy(act->key, k2, ROTATE_KEY_LEN);
	}
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	return ret;
}

int rotate_cycle(struct rotate *r, struct rotate_action *act)
{
	struct rotate_msg m;
	int ret;

	action_clear(act);
	memset(&m, 0, sizeof(m));
	if (r->has_proposed) {
		if (!r->timeout) {
			r->timeout = true;
			return 0;
		}
		/* Our proposal or its answer was lost: repeat the last message. */
		if (crypto_scalarmult_base(m.propose, r->sec->proposed))
			return -EIO;
		if (r->has_confirmed) {
			m.id = r->confirmed_id;
			m.has_confirm = true;
			memcpy(m.confirm, r->confirmed_pub, ROTATE_KEY_LEN);
		} else {
			m.id = 1;
		}
		set_send(act, &m);
		return 0;
	}
	if (!r->has_pending)
		return 0; /* still waiting for the peer's first message */

	/* Our turn: confirm the peer's proposal and propose a new key. */
	uint8_t sk[ROTATE_KEY_LEN];

	ret = keypair(sk, m.propose);
	if (ret) {
		sodium_memzero(sk, sizeof(sk));
		return ret;
	}
	r->own_id += 2;
	memcpy(r->sec->proposed, sk, ROTATE_KEY_LEN);
	sodium_memzero(sk, sizeof(sk));
	r->has_proposed = true;
	memcpy(r->confirmed_pub, r->pending_pub, ROTATE_KEY_LEN);
	r->confirmed_id = r->own_id;
	r->has_confirmed = true;
	m.id = r->own_id;
	m.has_confirm = true;
	memcpy(m.confirm, r->pending_pub, ROTATE_KEY_LEN);
	set_send(act, &m);
	act->install = true;
	act->use_for_sending = false;
	act->id = r->own_id;
	memcpy(act->key, r->sec->pending_key, ROTATE_KEY_LEN);
	sodium_memzero(r->sec->pending_key, ROTATE_KEY_LEN);
	sodium_memzero(r->pending_pub, ROTATE_KEY_LEN);
	r->has_pending = false;
	return 0;
}

int rotate_tick(struct rotate *r, struct rotate_action *act)
{
	action_clear(act);
	if (++r->counter < r->cycle)
		return 0;
	r->counter = 0;
	return rotate_cycle(r, act);
}

void rotate_wipe(struct rotate *r)
{
	if (r->sec)
		sodium_memzero(r->sec, sizeof(*r->sec));
	sodium_memzero(r, sizeof(*r));
}

void rotate_action_wipe(struct rotate_action *act)
{
	action_clear(act);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* session.c - per-peer crypto session (VpnCloud's PeerCrypto): handshake, core, rotation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/session.h"

struct session_ctx {
	struct hs_config hs;
	uint8_t pk[SESSION_PUBKEY_LEN];
	uint8_t *sk;	  /* sodium_malloc, PROT_NONE while not signing */
	uint8_t *trusted; /* n x SESSION_PUBKEY_LEN */
	uint8_t node_id[SESSION_NODE_ID_LEN];
	struct algo_list algos;
	unsigned rotate_cycle;
	struct secmem *secrets; /* ephemeral handshake keys and rotation secrets, guarded */
};

/* A slot of ctx->secrets holds either an ephemeral handshake key or a rotation secret. */
#define SESSION_SECRET_SLOT \
	(sizeof(struct rotate_secret) > HS_ECDH_LEN ? sizeof(struct rotate_secret) : HS_ECDH_LEN)

struct session {
	struct session_ctx *ctx;
	bool has_hs;
	bool established;
	bool plain;
	bool initiator;
	bool dead; /* a fatal error or timeout happened */
	bool has_rotation;
	uint8_t algo;
	struct handshake *hs; /* while has_hs: allocated apart, ~2.4 KB an established peer lacks */
	struct frame_core core; /* valid when established && !plain */
	struct rotate rot;
	struct rotate_secret *rot_sec; /* a slot of ctx->secrets once rotation started */
	uint8_t *peer_payload;
	size_t peer_payload_len;
	uint8_t peer_pk[SESSION_PUBKEY_LEN]; /* established: the key the peer signed with */
	unsigned key_installs; /* keys installed by rotation (both directions) */
};

int session_ctx_new(const struct session_params *p, struct session_ctx **out)
{
	struct session_ctx *ctx = NULL;
	size_t n = p->n_trusted_keys ? p->n_trusted_keys : 1;
	int ret = -ENOMEM;

	*out = NULL;
	if (!p->algos || (!p->algos->allow_plain && p->algos->n == 0) ||
	    n > SIZE_MAX / SESSION_PUBKEY_LEN)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		goto out;
	ctx->trusted = malloc(n * SESSION_PUBKEY_LEN);
	ctx->sk = sodium_malloc(HS_SECKEY_LEN);
	if (!ctx->trusted || !ctx->sk || secmem_new(SESSION_SECRET_SLOT, &ctx->secrets) < 0)
		goto out;
	if (crypto_sign_seed_keypair(ctx->pk, ctx->sk, p->seed)) {
		ret = -EINVAL;
		goto out;
	}
	if (sodium_mprotect_noaccess(ctx->sk)) {
		ret = -EIO;
		goto out;
	}
	if (p->n_trusted_keys)
		memcpy(ctx->trusted, p->trusted_keys, n * SESSION_PUBKEY_LEN);
	else
		memcpy(ctx->trusted, ctx->pk, SESSION_PUBKEY_LEN);
	memcpy(ctx->node_id, p->node_id, SESSION_NODE_ID_LEN);
	ctx->algos = *p->algos;
	ctx->rotate_cycle = p->rotate_cycle ? p->rotate_cycle : SESSION_ROTATE_CYCLE;
	ctx->hs = (struct hs_config){
		.pk = ctx->pk,
		.sk = ctx->sk,
		.sk_guarded = true,
		.trusted = ctx->trusted,
		.n_trusted = n,
		.node_id = ctx->node_id,
		.algos = &ctx->algos,
		.payload_ok = p->payload_ok,
		.payload_arg = p->payload_arg,
		.secrets = ctx->secrets,
	};
	*out = ctx;
	return 0;
out:
	session_ctx_free(ctx);
	return ret;
}

void session_ctx_free(struct session_ctx *ctx)
{
	if (!ctx)
		return;
	sodium_free(ctx->sk); /* unlocks, wipes, frees; accepts NULL */
	secmem_free(ctx->secrets);
	free(ctx->trusted);
	sodium_memzero(ctx, sizeof(*ctx));
	free(ctx);
}

const uint8_t *session_ctx_public_key(const struct session_ctx *ctx)
{
	return ctx->pk;
}

int session_ctx_init_key(const struct session_ctx *ctx, const uint8_t *msg, size_t len)
{
	return hs_key_find(msg, len, ctx->hs.trusted, ctx->hs.n_trusted);
}

size_t session_ctx_secrets_used(const struct session_ctx *ctx)
{
	return secmem_used(ctx->secrets);
}

static int session_alloc(struct session_ctx *ctx, const uint8_t *payload, size_t len,
			 struct session **out)
{
	struct session *s = calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->ctx = ctx;
	s->hs = malloc(sizeof(*s->hs));
	if (!s->hs) {
		free(s);
		return -ENOMEM;
	}
	ret = hs_init(s->hs, &ctx->hs, payload, len);
	if (ret) {
		hs_free(s->hs);
		free(s->hs);
		free(s);
		return ret;
	}
	s->has_hs = true;
	*out = s;
	return 0;
}

int session_new_initiator(struct session_ctx *ctx, const uint8_t *payload, size_t payload_len,
			  struct session **s, struct buf *out)
{
	int ret = session_alloc(ctx, payload, payload_len, s);

	if (ret)
		return ret;
	buf_reset(out, SESSION_HEADROOM);
	ret = hs_start((*s)->hs, out);
	if (ret) {
		session_free(*s);
		*s = NULL;
	}
	return ret;
}

int session_new_responder(struct session_ctx *ctx, const uint8_t *payload, size_t payload_len,
			  struct session **s)
{
	return session_alloc(ctx, payload, payload_len, s);
}

static void drop_hs(struct session *s)
{
	if (s->has_hs) {
		hs_free(s->hs); /* wipes it */
		free(s->hs);
		s->hs = NULL;
	}
	s->has_hs = false;
}

static int apply_install(struct session *s, struct rotate_action *act)
{
	int ret = 0;

	if (act->install) {
		ret = frame_install(&s->core, (unsigned)(act->id % FRAME_SLOTS), act->key,
				    act->use_for_sending);
		if (ret == 0)
			s->key_installs++;
	}
	return ret;
}

/* Wraps act's rotation message as an encrypted ROTATION datagram in out. */
static int emit_rotation(struct session *s, const struct rotate_action *act, struct buf *out)
{
	uint8_t *p;

	buf_reset(out, SESSION_HEADROOM);
	p = buf_put(out, (uint32_t)(1 + act->msg_len));
	if (!p)
		return -EMSGSIZE;
	p[0] = FRAME_TYPE_ROTATION;
	memcpy(p + 1, act->msg, act->msg_len);
	return frame_encrypt(&s->core, out);
}

/* Handshake success: take the core and payload, start rotation (PROTOCOL.md 2.9). */
static int complete(struct session *s, struct buf *b, struct session_event *ev)
{
	struct rotate_action act;
	int ret = 0;

	s->initiator = s->hs->initiator;
	s->algo = s->hs->algo;
	s->plain = !hs_take_core(s->hs, &s->core);
	s->peer_payload = hs_take_peer_payload(s->hs, &s->peer_payload_len);
	memcpy(s->peer_pk, s->hs->peer_pk, SESSION_PUBKEY_LEN);
	s->established = true;
	if (hs_closing(s->hs))
		drop_hs(s);

	ev->kind = SESSION_ESTABLISHED;
	ev->initiator = s->initiator;
	ev->payload = s->peer_payload;
	ev->payload_len = s->peer_payload_len;
	ev->send = b->len > 0; /* the initiator's PENG */
	if (s->plain)
		return SESSION_ESTABLISHED;

	/* The responder starts rotation and sends message 1 right away. */
	s->rot_sec = secmem_get(s->ctx->secrets);
	if (!s->rot_sec) {
		s->dead = true;
		return -ENOMEM;
	}
	ret = rotate_init(&s->rot, s->rot_sec, !s->initiator, s->ctx->rotate_cycle, &act);
	if (!ret) {
		s->has_rotation = true;
		if (act.send) {
			ret = emit_rotation(s, &act, b);
			ev->send = !ret;
		}
	}
	rotate_action_wipe(&act);
	if (ret) {
		s->dead = true;
		return ret;
	}
	return SESSION_ESTABLISHED;
}

static int handle_init(struct session *s, struct buf *b, struct session_event *ev)
{
	uint8_t *msg = buf_data(b);
	uint32_t off = b->off, len = b->len;
	int ret;

	if (!s->has_hs)
		return -ENOENT;
	/* The reply is written over the request, after hs_handle has consumed it. */
	buf_reset(b, SESSION_HEADROOM);
	ret = hs_handle(s->hs, msg, len, b);
	if (ret == -ENOENT) {
		/* not for this state: the request, untouched, goes to a new responder */
		b->off = off;
		b->len = len;
		return ret;
	}
	if (ret < 0) {
		b->len = 0;
		if (ret == HS_E_FATAL) {
			drop_hs(s);
			if (s->established)
				return -EPROTO; /* only the retained state failed */
			s->dead = true;
		}
		return ret;
	}
	switch (ret) {
	case HS_REPLY:
		ev->kind = SESSION_REPLY;
		return SESSION_REPLY;
	case HS_DONE:
		return complete(s, b, ev);
	default:
		b->len = 0; /* "do nothing": never an empty datagram */
		return SESSION_NONE;
	}
}

static int handle_rotation(struct session *s, struct buf *b)
{
	struct rotate_action act;
	int ret = 0;

	/* Plain sessions have no rotation; the reference ignores the message there too. */
	if (!s->plain) {
		ret = rotate_handle(&s->rot, buf_data(b) + 1, b->len - 1, &act);
		if (!ret)
			ret = apply_install(s, &act);
		rotate_action_wipe(&act);
	}
	sodium_memzero(buf_data(b), b->len);
	b->len = 0;
	return ret ? -EBADMSG : SESSION_NONE;
}

int session_handle(struct session *s, struct buf *b, struct session_event *ev)
{
	int ret;

	ev->kind = SESSION_NONE;
	ev->send = false;
	if (unlikely(s->dead))
		return -ENOTCONN;
	if (unlikely(b->len == 0))
		return -EBADMSG;
	if (unlikely(buf_data(b)[0] == FRAME_INIT_MESSAGE)) {
		/*
		 * A plain CLOSE is the lone byte 0xFF, which the reference takes for a truncated
		 * init message (PROTOCOL.md 1.5). No init message is that short, so accept it.
		 */
		if (s->established && s->plain && b->len == 1) {
			ev->type = FRAME_TYPE_CLOSE;
			ev->kind = SESSION_MESSAGE;
			return SESSION_MESSAGE;
		}
		return handle_init(s, b, ev);
	}
	if (unlikely(!s->established)) {
		/* no session key yet; but it tells a responder that its PENG got lost */
		if (s->has_hs && hs_nudge(s->hs, b) == HS_REPLY) {
			ev->kind = SESSION_REPLY;
			return SESSION_REPLY;
		}
		return -ENOTCONN;
	}
	ret = frame_decrypt(s->plain ? NULL : &s->core, b);
	if (unlikely(ret))
		return ret;
	ev->type = buf_data(b)[0];
	if (unlikely(ev->type == FRAME_TYPE_ROTATION))
		return handle_rotation(s, b);
	ev->kind = SESSION_MESSAGE;
	return SESSION_MESSAGE;
}

int session_encrypt(struct session *s, struct buf *b)
{
	if (unlikely(!s->established || s->dead))
		return -ENOTCONN;
	if (unlikely(b->len == 0))
		return -EINVAL;
	return frame_encrypt(s->plain ? NULL : &s->core, b);
}

int session_tick(struct session *s, struct buf *out)
{
	struct rotate_action act;
	int ret;

	buf_reset(out, SESSION_HEADROOM);
	if (s->dead)
		return -ENOTCONN;
	if (s->established && !s->plain)
		frame_tick(&s->core);
	if (s->has_hs) {
		ret = hs_tick(s->hs, out);
		if (hs_closing(s->hs))
			drop_hs(s);
		if (ret < 0) {
			s->dead = !s->established;
			return ret;
		}
		if (ret == 1)
			return 1; /* a handshake resend: this tick does not count for rotation */
	}
	if (!s->has_rotation)
		return 0;
	ret = rotate_tick(&s->rot, &act);
	if (!ret)
		ret = apply_install(s, &act);
	if (!ret && act.send)
		ret = emit_rotation(s, &act, out) ? -EIO : 1;
	rotate_action_wipe(&act);
	return ret;
}

unsigned session_key_installs(const struct session *s)
{
	return s->key_installs;
}

uint8_t session_send_slot(const struct session *s)
{
	return s->established && !s->plain ? s->core.send_slot : 0;
}

bool session_is_established(const struct session *s)
{
	return s->established && !s->dead;
}

bool session_has_handshake(const struct session *s)
{
	return s->has_hs;
}

bool session_is_initiator(const struct session *s)
{
	return s->initiator;
}

uint8_t session_algo(const struct session *s)
{
	return s->algo;
}

const char *session_algo_name(const struct session *s)
{
	return algo_name(s->algo);
}

const uint8_t *session_peer_key(const struct session *s)
{
	return s->established ? s->peer_pk : NULL;
}

int session_ctx_set_trusted(struct session_ctx *ctx, const uint8_t *keys, size_t n)
{
	size_t count = n ? n : 1;
	uint8_t *t;

	if (count > SIZE_MAX / SESSION_PUBKEY_LEN)
		return -EINVAL;
	t = malloc(count * SESSION_PUBKEY_LEN);
	if (!t)
		return -ENOMEM;
	memcpy(t, n ? keys : ctx->pk, count * SESSION_PUBKEY_LEN);
	/* handshakes in progress read the list through ctx->hs at their next message */
	free(ctx->trusted);
	ctx->trusted = t;
	ctx->hs.trusted = t;
	ctx->hs.n_trusted = count;
	return 0;
}

const uint8_t *session_peer_payload(const struct session *s, size_t *len)
{
	*len = s->peer_payload_len;
	return s->established ? s->peer_payload : NULL;
}

void session_free(struct session *s)
{
	if (!s)
		return;
	drop_hs(s);
	if (s->established && !s->plain)
		frame_core_free(&s->core);
	rotate_wipe(&s->rot);
	secmem_put(s->ctx->secrets, s->rot_sec);
	if (s->peer_payload)
		sodium_memzero(s->peer_payload, s->peer_payload_len);
	free(s->peer_payload);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

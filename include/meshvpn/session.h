/* SPDX-License-Identifier: GPL-3.0-or-later */
/* session.h - per-peer crypto session: handshake, crypto core and key rotation together. */
#ifndef MESHVPN_SESSION_H
#define MESHVPN_SESSION_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "algo.h"
#include "bytes.h"
#include "frame.h"
#include "handshake.h"
#include "rotate.h"
#include "util.h"

/*
 * Buffers handed to session functions: at least SESSION_BUF_SIZE bytes of storage. A buffer
 * to encrypt needs SESSION_HEADROOM (>= FRAME_HEADER_LEN) bytes of headroom and
 * SESSION_TAILROOM bytes of tailroom; whatever the session writes (replies, ticks) starts at
 * offset SESSION_HEADROOM.
 */
#define SESSION_HEADROOM     64
#define SESSION_TAILROOM     FRAME_TAG_LEN
#define SESSION_BUF_SIZE     65535
#define SESSION_SEED_LEN     HS_SEED_LEN
#define SESSION_PUBKEY_LEN   HS_PUBKEY_LEN
#define SESSION_NODE_ID_LEN  HS_NODE_ID_LEN
#define SESSION_PAYLOAD_MAX  HS_PAYLOAD_MAX
#define SESSION_ROTATE_CYCLE ROTATE_CYCLE_DEFAULT

_Static_assert(SESSION_HEADROOM >= FRAME_HEADER_LEN, "room for the frame header");
_Static_assert(SESSION_BUF_SIZE >= SESSION_HEADROOM + HS_MSG_MAX, "room for any init message");

/* session_handle()/session_tick() errors besides -EBADMSG, -EPERM, -EPROTO (see there). */
#define SESSION_E_FATAL HS_E_FATAL /* fatal handshake error: drop the pending session */

/* Shared configuration of all sessions (identity, trust, algorithms); opaque. */
struct session_ctx;
/* One crypto session with one remote address; opaque. */
struct session;

struct session_params {
	const uint8_t *seed;	       /* own Ed25519 seed, SESSION_SEED_LEN bytes */
	const uint8_t *trusted_keys;   /* n_trusted_keys x SESSION_PUBKEY_LEN bytes, in order */
	size_t n_trusted_keys;	       /* 0: trust only the own public key */
	const uint8_t *node_id;	       /* SESSION_NODE_ID_LEN bytes */
	const struct algo_list *algos; /* own algorithms with speeds (algo_list_benchmark) */
	unsigned rotate_cycle;	       /* ticks per rotation cycle; 0 = default */
	/* Optional: validates the peer's handshake payload (NodeInfo); false is a fatal error. */
	bool (*payload_ok)(const uint8_t *payload, size_t len, void *arg);
	void *payload_arg;
};

enum session_event_kind {
	SESSION_NONE = 0,	 /* consumed (e.g. a rotation message); b is empty */
	SESSION_REPLY = 1,	 /* b holds a datagram to send back to the same address */
	SESSION_MESSAGE = 2,	 /* b holds the decrypted inner message: type byte + body */
	SESSION_ESTABLISHED = 3, /* handshake complete; see struct session_event */
};

struct session_event {
	enum session_event_kind kind;
	uint8_t type;	/* MESSAGE: inner type (FRAME_TYPE_*), also b's first byte */
	bool send;	/* ESTABLISHED: b holds a datagram for the peer (PENG or rotation 1) */
	bool initiator; /* ESTABLISHED: we completed as initiator */
	const uint8_t *payload; /* ESTABLISHED: peer's NodeInfo bytes, owned by the session */
	size_t payload_len;
};

/*
 * Creates the shared context: derives the Ed25519 key pair from the seed (secret key kept in
 * guarded memory), copies trusted keys, node id and algorithms. Cold path. 0 or -errno
 * (-EINVAL: no algorithm at all). Call sodium_init() first.
 */
int session_ctx_new(const struct session_params *p, struct session_ctx **out) WUR;
/* Frees the context; every session using it must be freed first. Accepts NULL. */
void session_ctx_free(struct session_ctx *ctx);
/*
 * Replaces the trusted keys (n x SESSION_PUBKEY_LEN bytes, copied; n = 0: the own key only)
 * for every handshake message from now on, also of handshakes in progress; established
 * sessions are not affected (the caller ends those it no longer trusts). 0 or -errno.
 */
int session_ctx_set_trusted(struct session_ctx *ctx, const uint8_t *keys, size_t n) WUR;
/* Own Ed25519 public key (SESSION_PUBKEY_LEN bytes). */
const uint8_t *session_ctx_public_key(const struct session_ctx *ctx);
/* hs_key_find with the trusted keys: the cheap filter before any state or signature check. */
int session_ctx_init_key(const struct session_ctx *ctx, const uint8_t *msg, size_t len);
/* Guarded secret slots held now (ephemeral and rotation keys): for tests and leak checks. */
size_t session_ctx_secrets_used(const struct session_ctx *ctx);

/*
 * New session as initiator with our NodeInfo payload (copied); writes the PING to send into
 * out. 0 or -errno; on failure *s = NULL.
 */
int session_new_initiator(struct session_ctx *ctx, const uint8_t *payload, size_t payload_len,
			  struct session **s, struct buf *out) WUR;
/* New session as responder; feed it the received init message with session_handle(). */
int session_new_responder(struct session_ctx *ctx, const uint8_t *payload, size_t payload_len,
			  struct session **s) WUR;

/*
 * Handles one datagram from this session's address; b is borrowed and rewritten in place.
 * Returns enum session_event_kind (details in *ev) or an error; on error b is to be dropped:
 *   -EBADMSG  bad tag, malformed or truncated init message, empty datagram: count and drop;
 *   -EMSGSIZE shorter than a frame; -ENOKEY a key id without a key; -EALREADY a replayed
 *             or too old nonce (frame_decrypt): count and drop;
 *   -EPERM    init message from an untrusted key or with a bad signature: drop, no reply;
 *   -EPROTO   signed init message with bad fields, or a fatal error of the retained handshake
 *             state of an established session (that state is dropped): ignore;
 *   -ENOTCONN encrypted datagram before the session is established (or after it failed);
 *   -ENOENT   init message but no handshake state left, or a PING to the retained state of
 *             a finished initiator (the peer restarted): start a new responder session;
 *   SESSION_E_FATAL fatal handshake error: drop this pending session, fire the hook.
 * In a plain session the datagram FF (a bare CLOSE) is reported as a CLOSE message.
 * Hot path for established sessions: no allocation, no logging.
 */
int session_handle(struct session *s, struct buf *b, struct session_event *ev) WUR;
/*
 * Encrypts b (inner message: type + body) in place for sending. Needs SESSION_HEADROOM /
 * SESSION_TAILROOM (at least the frame header and tag). Hot path. 0, -ENOTCONN, -EMSGSIZE.
 */
int session_encrypt(struct session *s, struct buf *b) WUR;
/*
 * Once per housekeeping tick: replay bound, handshake resend/timeout, rotation cycle.
 * Returns 0 (nothing), 1 (out holds a datagram to send) or <0: -ETIMEDOUT (handshake gave
 * up: drop the session, no hook) or another -errno (drop the session).
 */
int session_tick(struct session *s, struct buf *out) WUR;

/* Handshake completed (and no failure since): session_encrypt() works. */
bool session_is_established(const struct session *s);
/* Keys installed by rotation so far (for logs and tests). */
unsigned session_key_installs(const struct session *s);
/* Key slot used for sending (0 for plain sessions). */
uint8_t session_send_slot(const struct session *s);
/* A handshake state is still retained (pending, or an initiator's 60 ticks after success). */
bool session_has_handshake(const struct session *s);
/* After establishment: we completed as initiator (rotation non-starter). */
bool session_is_initiator(const struct session *s);
/* Selected algorithm (ALGO_*), valid once established. */
uint8_t session_algo(const struct session *s);
/* "AES128", "AES256", "CHACHA20" or "PLAIN", for logs and stats. */
const char *session_algo_name(const struct session *s);
/* The peer's handshake payload (NodeInfo) once established, else NULL. */
const uint8_t *session_peer_payload(const struct session *s, size_t *len);
/* Established: the trusted public key the peer signed its handshake with; else NULL. */
const uint8_t *session_peer_key(const struct session *s);
/* Frees the session, wiping all keys. Accepts NULL. */
void session_free(struct session *s);

#endif

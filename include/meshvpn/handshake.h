/* SPDX-License-Identifier: GPL-3.0-or-later */
/* handshake.h - signed init messages (ping/pong/peng) and the handshake state machine. */
#ifndef MESHVPN_HANDSHAKE_H
#define MESHVPN_HANDSHAKE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "algo.h"
#include "bytes.h"
#include "frame.h"
#include "secmem.h"
#include "util.h"

#define HS_SALT_LEN	   4 /* key-hash salt */
#define HS_KEY_HASH_LEN	   4 /* SHA-256(public key || salt)[0..4] */
#define HS_NODE_ID_LEN	   16
#define HS_SALTED_HASH_LEN 20 /* salt (4) || SHA-256(salt || node id)[0..16] */
#define HS_PUBKEY_LEN	   32 /* Ed25519 public key */
#define HS_SECKEY_LEN	   64 /* Ed25519 secret key, libsodium form (seed || public key) */
#define HS_SEED_LEN	   32
#define HS_SIG_LEN	   64
#define HS_ECDH_LEN	   32	 /* X25519 public key */
#define HS_TLV_HDR_LEN	   3	 /* type (1) + length (2, BE) */
#define HS_MAX_RETRIES	   120	 /* resends before "initialization timeout" */
#define HS_CLOSE_TICKS	   60	 /* initiator keeps its state this long after success */
#define HS_PAYLOAD_MAX	   32768 /* own NodeInfo bytes we agree to carry */
/* Largest message we build: PONG with a maximal payload. */
#define HS_MSG_MAX                                                                \
	(1 + HS_SALT_LEN + HS_KEY_HASH_LEN + (HS_TLV_HDR_LEN + 1) +               \
	 (HS_TLV_HDR_LEN + HS_SALTED_HASH_LEN) + (HS_TLV_HDR_LEN + HS_ECDH_LEN) + \
	 (HS_TLV_HDR_LEN + ALGO_LIST_MAX_LEN) +                                   \
	 (HS_TLV_HDR_LEN + FRAME_OVERHEAD + HS_PAYLOAD_MAX) + 1 + 1 + HS_SIG_LEN)

/* Fatal handshake error: the node drops the pending state (PROTOCOL.md 2.8 error classes). */
#define HS_E_FATAL (-ECONNABORTED)

/* next_stage values; 1..3 are also the STAGE field values. */
enum hs_stage {
	HS_STAGE_PING = 1,
	HS_STAGE_PONG = 2,
	HS_STAGE_PENG = 3,
	HS_WAITING_TO_CLOSE = 4,
	HS_CLOSING = 5,
};

/* TLV field types. */
enum hs_field {
	HS_FIELD_END = 0,
	HS_FIELD_STAGE = 1,
	HS_FIELD_SALTED_HASH = 2,
	HS_FIELD_ECDH = 3,
	HS_FIELD_ALGORITHMS = 4,
	HS_FIELD_PAYLOAD = 5,
};

#define HS_HAS_STAGE	   (1u << HS_FIELD_STAGE)
#define HS_HAS_SALTED_HASH (1u << HS_FIELD_SALTED_HASH)
#define HS_HAS_ECDH	   (1u << HS_FIELD_ECDH)
#define HS_HAS_ALGORITHMS  (1u << HS_FIELD_ALGORITHMS)
#define HS_HAS_PAYLOAD	   (1u << HS_FIELD_PAYLOAD)

/* A decoded, signature-checked init message. */
struct hs_msg {
	unsigned flags; /* HS_HAS_* */
	uint8_t stage;
	uint8_t salted_hash[HS_SALTED_HASH_LEN];
	uint8_t ecdh[HS_ECDH_LEN];
	struct algo_list algos;
	const uint8_t *payload; /* points into the message */
	size_t payload_len;
	size_t key_index; /* which trusted key signed it */
};

/* Long-lived handshake configuration; owned by the caller, must outlive every state. */
struct hs_config {
	const uint8_t *pk;	/* own Ed25519 public key, HS_PUBKEY_LEN */
	uint8_t *sk;		/* own Ed25519 secret key, HS_SECKEY_LEN */
	bool sk_guarded;	/* sk is sodium_malloc memory kept PROT_NONE between signatures */
	const uint8_t *trusted; /* n_trusted keys of HS_PUBKEY_LEN bytes, in order */
	size_t n_trusted;
	const uint8_t *node_id; /* HS_NODE_ID_LEN */
	const struct algo_list *algos;
	/* Optional: decides whether a peer payload (NodeInfo) is well-formed; false is fatal. */
	bool (*payload_ok)(const uint8_t *payload, size_t len, void *arg);
	void *payload_arg;
	/* Optional: where ephemeral keys live (slots of at least HS_ECDH_LEN bytes); without
	 * it each handshake takes its own sodium_malloc() block. */
	struct secmem *secrets;
};

/* Results of hs_handle besides errors. */
enum hs_status {
	HS_NOTHING = 0, /* consumed, nothing to send */
	HS_REPLY = 1,	/* out holds a message to send back */
	HS_DONE = 2,	/* success; out holds the PENG (initiator) or is empty (responder) */
};

struct handshake {
	const struct hs_config *cfg;
	uint8_t next_stage; /* enum hs_stage */
	bool initiator;	    /* after HS_DONE: we completed as initiator */
	bool has_eph;
	bool has_core;
	uint8_t algo; /* selected algorithm (after PING/PONG processing) */
	unsigned failed_retries;
	unsigned close_time;
	bool replied; /* answered a repeated message this tick already */
	uint8_t salted_hash[HS_SALTED_HASH_LEN];
	uint8_t *eph_sk; /* HS_ECDH_LEN bytes of guarded memory while has_eph, else NULL */
	uint8_t *last_msg; /* exact bytes of the last message sent (incl. 0xFF) */
	size_t last_len;
	uint8_t *payload; /* own NodeInfo */
	size_t payload_len;
	uint8_t peer_pk[HS_PUBKEY_LEN]; /* the trusted key the peer's messages are signed with */
	uint8_t *peer_payload; /* after HS_DONE: the peer's NodeInfo */
	size_t peer_payload_len;
	struct frame_core core; /* valid if has_core */
};

/* SHA-256(pk || salt)[0..4]. */
void hs_key_hash(uint8_t out[static HS_KEY_HASH_LEN], const uint8_t pk[static HS_PUBKEY_LEN],
		 const uint8_t salt[static HS_SALT_LEN]);
/* salt || SHA-256(salt || node_id)[0..16]. */
void hs_salted_hash(uint8_t out[static HS_SALTED_HASH_LEN], const uint8_t salt[static HS_SALT_LEN],
		    const uint8_t node_id[static HS_NODE_ID_LEN]);

/*
 * The cheap first step of hs_decode: the index of the first trusted key whose hash with the
 * message's salt is the message's key hash, -EPERM if none, -EBADMSG if shorter than that.
 * No signature check: a match says only that the sender knows a trusted key's hash (or
 * copied a real message).
 */
int hs_key_find(const uint8_t *msg, size_t len, const uint8_t *trusted, size_t n_trusted);
/*
 * Decodes a whole init message (0xFF first). Order as the reference: key hash lookup
 * (first trusted key that matches), TLVs up to END, signature, then field checks.
 * Returns 0, -EBADMSG (truncated, trailing bytes), -EPERM (untrusted key or bad signature) or
 * -EPROTO (signed but malformed: field lengths, duplicates, missing fields, unknown stage).
 */
int hs_decode(const uint8_t *msg, size_t len, const uint8_t *trusted, size_t n_trusted,
	      struct hs_msg *m) WUR;

/* Initialises a state (fresh salted hash) with a copy of our payload. 0 or -errno. */
int hs_init(struct handshake *h, const struct hs_config *cfg, const uint8_t *payload,
	    size_t payload_len) WUR;
/* As initiator: builds the PING at buf_data(out) (out->len is reset). 0 or -errno. */
int hs_start(struct handshake *h, struct buf *out) WUR;
/*
 * Handles a received init message. msg may lie inside out's storage: it is fully consumed
 * (and its payload decrypted in place) before anything is written to out. Returns enum
 * hs_status, or -EBADMSG / -EPERM / -EPROTO (ignore, state kept), HS_E_FATAL, -EMSGSIZE,
 * -ENOENT: a PING to an initiator that has finished (state kept): a new attempt of the peer,
 * for a new responder state.
 */
int hs_handle(struct handshake *h, uint8_t *msg, size_t len, struct buf *out) WUR;
/*
 * Once per tick: 1 if out holds a resent message, 0 if nothing, -ETIMEDOUT after
 * HS_MAX_RETRIES resends (state becomes HS_CLOSING).
 */
int hs_tick(struct handshake *h, struct buf *out) WUR;
/* True when the state can be discarded. */
static inline bool hs_closing(const struct handshake *h)
{
	return h->next_stage == HS_CLOSING;
}
/*
 * A session message arrived while we (responder) wait for the PENG: the initiator finished,
 * so our PONG arrived and its PENG was lost. Writes the PONG again to out, once per tick.
 * Returns HS_REPLY or HS_NOTHING.
 */
int hs_nudge(struct handshake *h, struct buf *out) WUR;

/* After HS_DONE: moves the new session core to dst; false for a plain session. */
bool hs_take_core(struct handshake *h, struct frame_core *dst);
/* After HS_DONE: hands over the peer payload (malloc'ed, caller frees). */
uint8_t *hs_take_peer_payload(struct handshake *h, size_t *len);
/* Frees and wipes everything. Accepts a zeroed state. */
void hs_free(struct handshake *h);

#endif

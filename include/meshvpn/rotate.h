/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rotate.h - key rotation state machine (PROTOCOL.md 3); pure, returns actions to apply. */
#ifndef MESHVPN_ROTATE_H
#define MESHVPN_ROTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define ROTATE_KEY_LEN	     32 /* X25519 public/private key and shared secret */
#define ROTATE_MSG_SHORT_LEN 42 /* id (8) + 32 + propose (32) + 0 */
#define ROTATE_MSG_LEN	     74 /* ... + 32 + confirm (32) */
#define ROTATE_MSG_MAX	     ROTATE_MSG_LEN
#define ROTATE_CYCLE_DEFAULT 120 /* ticks per rotation cycle */

/* Decoded rotation message (body of inner type 0x10). */
struct rotate_msg {
	uint64_t id;
	uint8_t propose[ROTATE_KEY_LEN];
	bool has_confirm;
	uint8_t confirm[ROTATE_KEY_LEN];
};

/* What the caller must do after an input; fields are valid when their flag is set. */
struct rotate_action {
	bool send; /* encrypt msg as a ROTATION message with the current key */
	size_t msg_len;
	uint8_t msg[ROTATE_MSG_MAX];
	bool install;	      /* put key into slot (id % 4) of the core */
	bool use_for_sending; /* ... and switch sending to that slot */
	uint64_t id;
	uint8_t key[ROTATE_KEY_LEN]; /* raw X25519 output; the caller truncates per cipher */
};

/* The private part of the state: kept by the caller in guarded memory (secmem.h). */
struct rotate_secret {
	uint8_t proposed[ROTATE_KEY_LEN];    /* own private key awaiting confirmation */
	uint8_t pending_key[ROTATE_KEY_LEN]; /* key from the peer's proposal, to confirm next */
};

struct rotate {
	uint64_t own_id;  /* id of our last message (starter 1, else 0 at start) */
	unsigned cycle;	  /* ticks per cycle */
	unsigned counter; /* ticks since the last cycle */
	bool timeout;	  /* our proposal was already unconfirmed at the last cycle */
	bool has_proposed;
	bool has_pending;
	uint8_t pending_pub[ROTATE_KEY_LEN]; /* our reply public key for that proposal */
	bool has_confirmed;
	uint8_t confirmed_pub[ROTATE_KEY_LEN]; /* last confirmation sent (for resends) */
	uint64_t confirmed_id;
	struct rotate_secret *sec; /* the caller's, for as long as r is used */
};

/*
 * Encodes a rotation message into out (ROTATE_MSG_MAX bytes); returns its length (42/74).
 */
size_t rotate_msg_encode(const struct rotate_msg *m, uint8_t out[static ROTATE_MSG_MAX]);
/*
 * Decodes exactly one message: 42 or 74 bytes with key lengths 32 and 0/32. Returns 0 or
 * -EBADMSG (truncated, other key lengths, trailing bytes).
 */
int rotate_msg_decode(struct rotate_msg *m, const uint8_t *p, size_t len) WUR;

/*
 * Starts rotation after a handshake. The starter (the handshake responder) proposes at once:
 * act->send holds message id 1. cycle 0 means ROTATE_CYCLE_DEFAULT. sec holds the private
 * keys (zeroed here; the caller's memory, e.g. guarded). Returns 0 or -errno.
 */
int rotate_init(struct rotate *r, struct rotate_secret *sec, bool starter, unsigned cycle,
		struct rotate_action *act) WUR;
/*
 * Handles a received (decrypted, authenticated) rotation message body. May set act->install
 * with use_for_sending. Never sends. Returns 0 (also for ignored old ids) or -EBADMSG; a
 * message is applied completely or not at all.
 */
int rotate_handle(struct rotate *r, const uint8_t *p, size_t len, struct rotate_action *act) WUR;
/*
 * Once per counted tick: runs the cycle every r->cycle ticks (resend on timeout, or propose and
 * confirm: act->send plus act->install for receiving only). Returns 0 or -errno.
 */
int rotate_tick(struct rotate *r, struct rotate_action *act) WUR;
/* Runs one cycle now (what rotate_tick does when the counter expires). */
int rotate_cycle(struct rotate *r, struct rotate_action *act) WUR;
/* Wipes all key material (r and its secret part; the memory stays the caller's). */
void rotate_wipe(struct rotate *r);
/* Wipes an action after use. */
void rotate_action_wipe(struct rotate_action *act);

#endif

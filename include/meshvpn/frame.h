/* SPDX-License-Identifier: GPL-3.0-or-later */
/* frame.h - crypto core: encrypted frame layout, nonces, key slots, replay window, AEAD. */
#ifndef MESHVPN_FRAME_H
#define MESHVPN_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "util.h"

/*
 * Encrypted frame (PROTOCOL.md 1.3):
 *   key id (1) || nonce bytes 5..11 (7) || AEAD(inner message) || tag (16), AAD empty.
 * Inner message: type (1) || body.
 */
#define FRAME_HEADER_LEN       8
#define FRAME_TAG_LEN	       16
#define FRAME_OVERHEAD	       (FRAME_HEADER_LEN + FRAME_TAG_LEN)
#define FRAME_MIN_LEN	       (FRAME_OVERHEAD + 1) /* header + tag + type byte = 25 */
#define FRAME_NONCE_LEN	       12
#define FRAME_NONCE_WIRE_LEN   7 /* bytes 5..11 travel in the header */
#define FRAME_NONCE_RAND_LEN   6 /* bytes 6..11 are random at key install */
#define FRAME_SLOTS	       4
#define FRAME_KEY_MATERIAL_LEN 32   /* raw X25519 output; the key is its first key_len bytes */
#define FRAME_DIR_HIGH	       0x80 /* direction byte of the greater salted hash */
#define FRAME_DIR_LOW	       0x00
/* Sliding replay window (RFC 6479 style), in nonces, per slot; on top of VpnCloud's bound. */
#define FRAME_REPLAY_BITS      4096
#define FRAME_REPLAY_WORDS     (FRAME_REPLAY_BITS / 64)

/* First byte of a datagram: handshake message. Key ids are 0..3, so never 0xFF. */
#define FRAME_INIT_MESSAGE   0xff
/* Inner message types (PROTOCOL.md 1.4). */
#define FRAME_TYPE_DATA	     0x00
#define FRAME_TYPE_NODE_INFO 0x01
#define FRAME_TYPE_KEEPALIVE 0x02
#define FRAME_TYPE_ROTATION  0x10
#define FRAME_TYPE_CLOSE     0xff
/*
 * A meshvpn extension inside KEEPALIVE (VpnCloud 2.3 ignores a KEEPALIVE's body): a probe
 * `0x01 seq(4, BE)` is answered with the echo `0x02 seq(4, BE)`, for round-trip times.
 */
#define FRAME_KEEPALIVE_PROBE 0x01
#define FRAME_KEEPALIVE_ECHO  0x02
#define FRAME_KEEPALIVE_PROBE_LEN 5

struct evp_cipher_ctx_st; /* OpenSSL EVP_CIPHER_CTX */

/*
 * Receive-side replay state of one slot. Nonces of a slot differ only in bytes 5..11, so they
 * are compared as 56-bit integers. VpnCloud's rule (1.9): reject n < min; per tick
 * min = next_min, next_min = top + 1. Additionally a bitmap over the last FRAME_REPLAY_BITS
 * nonces below top rejects duplicates and anything older than the window.
 */
struct frame_replay {
	uint64_t min;
	uint64_t next_min;
	uint64_t top; /* highest authenticated nonce (VpnCloud's "seen") */
	uint64_t bitmap[FRAME_REPLAY_WORDS];
};

/* What a slot needs to take frames; allocated apart, as only receive keys need it. */
struct frame_rx {
	struct evp_cipher_ctx_st *dec; /* keyed once at install; only the IV changes per packet */
	struct frame_replay replay;
};

struct frame_slot {
	/*
	 * NULL for an empty slot or one whose key only sends (frames naming it fail): two of
	 * the four slots in steady rotation, 1.7 KB each saved per peer.
	 */
	struct frame_rx *rx;
	uint8_t send_nonce[FRAME_NONCE_LEN]; /* last nonce used; incremented before each use */
};

struct frame_core {
	uint8_t algo;	   /* ALGO_AES128..ALGO_CHACHA20 */
	uint8_t dir;	   /* own direction byte; received nonces carry the other one */
	uint8_t send_slot; /* slot used for encryption */
	/*
	 * Only the sending slot encrypts: one context, keyed with its key whenever a key is
	 * installed in it (a cipher context is ~1.2 KB; three per peer saved).
	 */
	struct evp_cipher_ctx_st *enc;
	struct frame_slot slot[FRAME_SLOTS];
};

/* True if a datagram is a handshake message (first byte 0xFF). */
static inline bool frame_is_init(const uint8_t *p, size_t len)
{
	return len > 0 && p[0] == FRAME_INIT_MESSAGE;
}

/*
 * Creates a core for cipher algo: slot 0 gets the first key_len bytes of km and becomes the
 * sending slot and decrypts too, slots 1..3 stay empty (frames naming them fail). high selects
 * the direction byte 0x80 (else 0x00). Allocates two cipher contexts (cold path). Returns 0
 * or -errno; on failure *c is left freed.
 */
int frame_core_init(struct frame_core *c, uint8_t algo, bool high,
		    const uint8_t km[static FRAME_KEY_MATERIAL_LEN]) WUR;
/* Frees the contexts and wipes the core. Accepts a zeroed or already freed core. */
void frame_core_free(struct frame_core *c);
/* True if the core holds cipher contexts. */
static inline bool frame_core_ready(const struct frame_core *c)
{
	return c->enc != NULL;
}

/*
 * Installs a key (first key_len bytes of km) into slot, resetting its send nonce (fresh random
 * part) and replay state. If use_for_sending, encryption switches to that slot and the slot
 * takes no frames any more: in a rotation exactly one side sends with a key, the side that
 * installs it for sending, so the other never encrypts with it (PROTOCOL.md 3). Otherwise the
 * slot decrypts with the key (its context is allocated on first use). Cold path. 0 or -errno.
 */
int frame_install(struct frame_core *c, unsigned slot,
		  const uint8_t km[static FRAME_KEY_MATERIAL_LEN], bool use_for_sending) WUR;

/*
 * Encrypts in place. b holds the inner message and needs FRAME_HEADER_LEN headroom and
 * FRAME_TAG_LEN tailroom; afterwards it holds the frame. c == NULL means a plain session
 * (nothing changes). Hot path: no allocation. Returns 0, -EMSGSIZE or -EIO.
 */
int frame_encrypt(struct frame_core *c, struct buf *b) WUR;
/*
 * Decrypts in place. b holds a received frame; on success it holds the inner message.
 * Rejects frames shorter than FRAME_MIN_LEN (-EMSGSIZE), naming a slot without a key
 * (-ENOKEY), with an old or replayed nonce (-EALREADY: checked before the tag, so a forged
 * frame with such a nonce counts here too) and with a bad tag (-EBADMSG); the replay state
 * changes only after the tag verified. On failure the contents of b are unspecified.
 * c == NULL means plain: b must be non-empty. Hot path: no allocation.
 */
int frame_decrypt(struct frame_core *c, struct buf *b) WUR;
/*
 * Like frame_decrypt but also accepts an empty plaintext (>= FRAME_OVERHEAD bytes); used for
 * handshake payloads.
 */
int frame_decrypt_payload(struct frame_core *c, struct buf *b) WUR;

/* Once per tick: advances the VpnCloud replay bound of every slot. */
void frame_tick(struct frame_core *c);

#endif

// SPDX-License-Identifier: GPL-3.0-or-later
/* frame.c - crypto core: in-place AEAD framing, per-slot nonces and replay protection. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "meshvpn/algo.h"
#include "meshvpn/frame.h"

_Static_assert(FRAME_REPLAY_BITS % 64 == 0 && FRAME_REPLAY_WORDS >= 2, "replay window in words");
_Static_assert(FRAME_HEADER_LEN == 1 + FRAME_NONCE_WIRE_LEN, "header = key id + nonce tail");
_Static_assert(ALGO_KEY_MAX <= FRAME_KEY_MATERIAL_LEN, "keys are prefixes of the key material");

/* Only nonces this far below the top are tracked; one word is the ring's spare (RFC 6479). */
#define REPLAY_SPAN ((uint64_t)FRAME_REPLAY_BITS - 64)

static const EVP_CIPHER *cipher_of(uint8_t algo)
{
	switch (algo) {
	case ALGO_AES128:
		return EVP_aes_128_gcm();
	case ALGO_AES256:
		return EVP_aes_256_gcm();
	case ALGO_CHACHA20:
		return EVP_chacha20_poly1305();
	default:
		return NULL;
	}
}

/* The 12-byte nonce as one big-endian counter, incremented before each use. */
static void nonce_inc(uint8_t n[FRAME_NONCE_LEN])
{
	for (int i = FRAME_NONCE_LEN - 1; i >= 0; i--)
		if (++n[i] != 0)
			break;
}

static uint64_t get_be56(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < FRAME_NONCE_WIRE_LEN; i++)
		v = v << 8 | p[i];
	return v;
}

static void replay_reset(struct frame_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* May nonce n be tried? Does not change the state (that waits for the tag). */
static bool replay_check(const struct frame_replay *r, uint64_t n)
{
	if (n < r->min)
		return false; /* VpnCloud's bound: older than the previous tick's top */
	if (n > r->top)
		return true;
	if (r->top - n >= REPLAY_SPAN)
		return false; /* out of the window */
	return !(r->bitmap[(n / 64) % FRAME_REPLAY_WORDS] & (UINT64_C(1) << (n % 64)));
}

/* Records an authenticated nonce. */
static void replay_update(struct frame_replay *r, uint64_t n)
{
	if (n > r->top) {
		uint64_t cur = r->top / 64, next = n / 64, diff = next - cur;

		if (diff > FRAME_REPLAY_WORDS)
			diff = FRAME_REPLAY_WORDS;
		for (uint64_t i = 1; i <= diff; i++)
			r->bitmap[(cur + i) % FRAME_REPLAY_WORDS] = 0;
		r->top = n;
	}
	r->bitmap[(n / 64) % FRAME_REPLAY_WORDS] |= UINT64_C(1) << (n % 64);
}

static int ctx_alloc(struct evp_cipher_ctx_st **out, const EVP_CIPHER *cipher, bool enc)
{
	*out = EVP_CIPHER_CTX_new();
	if (!*out)
		return -ENOMEM;
	if ((enc ? EVP_EncryptInit_ex(*out, cipher, NULL, NULL, NULL)
		 : EVP_DecryptInit_ex(*out, cipher, NULL, NULL, NULL)) != 1)
		return -EIO;
	return 0;
}

/* Frees a slot's receive state (EVP_CIPHER_CTX_free cleanses the key schedule). */
static void rx_free(struct frame_slot *s)
{
	if (s->rx) {
		EVP_CIPHER_CTX_free(s->rx->dec);
		free(s->rx);
		s->rx = NULL;
	}
}

/* A receive state keyed with km (reusing old's context, else a new one), or NULL. */
static struct frame_rx *rx_keyed(struct frame_rx *old, const EVP_CIPHER *cipher,
				 const uint8_t km[static FRAME_KEY_MATERIAL_LEN], int *ret)
{
	struct frame_rx *rx = old ? old : calloc(1, sizeof(*rx));

	*ret = -ENOMEM;
	if (!rx || (!old && (*ret = ctx_alloc(&rx->dec, cipher, false))))
		goto fail;
	/* The key is the prefix of km (no KDF, PROTOCOL.md 1.6). */
	*ret = -EIO;
	if (EVP_DecryptInit_ex(rx->dec, NULL, NULL, km, NULL) != 1)
		goto fail;
	replay_reset(&rx->replay);
	*ret = 0;
	return rx;
fail:
	if (rx) {
		EVP_CIPHER_CTX_free(rx->dec);
		free(rx);
	}
	return NULL;
}

/*
 * Keys slot for sending (the encryption context), for receiving (the slot's receive state,
 * allocated on first use) or both. A key that only sends frees the slot's receive state:
 * the peer never encrypts with it (PROTOCOL.md 3).
 */
static int install(struct frame_core *c, unsigned slot,
		   const uint8_t km[static FRAME_KEY_MATERIAL_LEN], bool send, bool recv)
{
	struct frame_slot *s = &c->slot[slot];
	struct frame_rx *rx = NULL;
	int ret = 0;

	if (recv) {
		rx = rx_keyed(s->rx, cipher_of(c->algo), km, &ret);
		s->rx = NULL; /* rx_keyed reused or freed it */
		if (!rx)
			return ret;
	} else {
		rx_free(s);
	}
	/* the encryption context always holds the sending slot's current key */
	if ((send || slot == c->send_slot) && EVP_EncryptInit_ex(c->enc, NULL, NULL, km, NULL) != 1) {
		s->rx = rx;
		rx_free(s);
		return -EIO;
	}
	memset(s->send_nonce, 0, sizeof(s->send_nonce));
	s->send_nonce[0] = c->dir;
	randombytes_buf(s->send_nonce + FRAME_NONCE_LEN - FRAME_NONCE_RAND_LEN,
			FRAME_NONCE_RAND_LEN);
	s->rx = rx;
	if (send)
		c->send_slot = (uint8_t)slot;
	return 0;
}

int frame_core_init(struct frame_core *c, uint8_t algo, bool high,
		    const uint8_t km[static FRAME_KEY_MATERIAL_LEN])
{
	const EVP_CIPHER *cipher = cipher_of(algo);
	int ret;

	memset(c, 0, sizeof(*c));
	if (!cipher)
		return -EINVAL;
	c->algo = algo;
	c->dir = high ? FRAME_DIR_HIGH : FRAME_DIR_LOW;
	ret = ctx_alloc(&c->enc, cipher, true);
	if (!ret)
		ret = install(c, 0, km, true, true); /* the handshake key works both ways */
	if (ret)
		frame_core_free(c);
	return ret;
}

void frame_core_free(struct frame_core *c)
{
	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	EVP_CIPHER_CTX_free(c->enc);
	for (unsigned i = 0; i < FRAME_SLOTS; i++)
		rx_free(&c->slot[i]);
	sodium_memzero(c, sizeof(*c));
}

int frame_install(struct frame_core *c, unsigned slot,
		  const uint8_t km[static FRAME_KEY_MATERIAL_LEN], bool use_for_sending)
{
	if (slot >= FRAME_SLOTS || !frame_core_ready(c))
		return -EINVAL;
	return install(c, slot, km, use_for_sending, !use_for_sending);
}

int frame_encrypt(struct frame_core *c, struct buf *b)
{
	if (!c)
		return 0; /* plain session: the inner message goes out as it is */
	if (buf_headroom(b) < FRAME_HEADER_LEN || buf_tailroom(b) < FRAME_TAG_LEN ||
	    b->len > INT_MAX - FRAME_OVERHEAD)
		return -EMSGSIZE;

	struct frame_slot *s = &c->slot[c->send_slot];
	uint8_t *p = buf_data(b), *hdr, *tag;
	int n = (int)b->len, outl = 0;

	nonce_inc(s->send_nonce);
	if (EVP_EncryptInit_ex(c->enc, NULL, NULL, NULL, s->send_nonce) != 1)
		return -EIO;
	if (n > 0 && EVP_EncryptUpdate(c->enc, p, &outl, p, n) != 1)
		return -EIO;
	if (EVP_EncryptFinal_ex(c->enc, p + outl, &outl) != 1)
		return -EIO;
	tag = buf_put(b, FRAME_TAG_LEN);
	if (EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_AEAD_GET_TAG, FRAME_TAG_LEN, tag) != 1)
		return -EIO;
	hdr = buf_push(b, FRAME_HEADER_LEN);
	hdr[0] = c->send_slot;
	memcpy(hdr + 1, s->send_nonce + FRAME_NONCE_LEN - FRAME_NONCE_WIRE_LEN,
	       FRAME_NONCE_WIRE_LEN);
	return 0;
}

static int decrypt(struct frame_core *c, struct buf *b, uint32_t min_len)
{
	if (b->len < min_len || b->len > INT_MAX)
		return -EMSGSIZE;

	uint8_t *p = buf_data(b);
	struct frame_slot *s = &c->slot[p[0] % FRAME_SLOTS];
	uint64_t n = get_be56(p + 1);
	uint8_t nonce[FRAME_NONCE_LEN] = { 0 };
	int ctlen = (int)(b->len - FRAME_OVERHEAD), outl = 0;
	uint8_t *ct = p + FRAME_HEADER_LEN, *tag = ct + ctlen;

	struct frame_rx *rx = s->rx;

	if (!rx)
		return -ENOKEY;
	if (!replay_check(&rx->replay, n))
		return -EALREADY;
	/* The peer's nonces carry the other direction byte; a reflected frame cannot verify. */
	nonce[0] = c->dir ^ FRAME_DIR_HIGH;
	memcpy(nonce + FRAME_NONCE_LEN - FRAME_NONCE_WIRE_LEN, p + 1, FRAME_NONCE_WIRE_LEN);
	if (EVP_DecryptInit_ex(rx->dec, NULL, NULL, NULL, nonce) != 1)
		return -EBADMSG;
	if (ctlen > 0 && EVP_DecryptUpdate(rx->dec, ct, &outl, ct, ctlen) != 1)
		return -EBADMSG;
	if (EVP_CIPHER_CTX_ctrl(rx->dec, EVP_CTRL_AEAD_SET_TAG, FRAME_TAG_LEN, tag) != 1)
		return -EBADMSG;
	if (EVP_DecryptFinal_ex(rx->dec, ct + outl, &outl) != 1)
		return -EBADMSG;
	/* Authenticated: only now may the replay state move. */
	replay_update(&rx->replay, n);
	(void)buf_pull(b, FRAME_HEADER_LEN);
	(void)buf_trim(b, FRAME_TAG_LEN);
	return 0;
}

int frame_decrypt(struct frame_core *c, struct buf *b)
{
	if (!c)
		return b->len > 0 ? 0 : -EMSGSIZE;
	return decrypt(c, b, FRAME_MIN_LEN);
}

int frame_decrypt_payload(struct frame_core *c, struct buf *b)
{
	if (!c)
		return 0;
	return decrypt(c, b, FRAME_OVERHEAD);
}

void frame_tick(struct frame_core *c)
{
	for (unsigned i = 0; i < FRAME_SLOTS; i++) {
		struct frame_rx *rx = c->slot[i].rx;

		if (rx) {
			rx->replay.min = rx->replay.next_min;
			rx->replay.next_min = rx->replay.top + 1;
		}
	}
}

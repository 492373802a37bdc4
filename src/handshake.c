// SPDX-License-Identifier: GPL-3.0-or-later
/* handshake.c - init message codec and the ping-pong-peng state machine (PROTOCOL.md 2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/handshake.h"

_Static_assert(HS_SIG_LEN == crypto_sign_BYTES, "Ed25519 signature size");
_Static_assert(HS_PUBKEY_LEN == crypto_sign_PUBLICKEYBYTES, "Ed25519 public key size");
_Static_assert(HS_SECKEY_LEN == crypto_sign_SECRETKEYBYTES, "Ed25519 secret key size");
_Static_assert(HS_ECDH_LEN == crypto_scalarmult_BYTES, "X25519 size");
_Static_assert(HS_ECDH_LEN == FRAME_KEY_MATERIAL_LEN, "session key material is the X25519 output");
_Static_assert(HS_MSG_MAX <= 65535, "init message fits a datagram buffer");

#define FIELD_MAX HS_FIELD_PAYLOAD

void hs_key_hash(uint8_t out[static HS_KEY_HASH_LEN], const uint8_t pk[static HS_PUBKEY_LEN],
		 const uint8_t salt[static HS_SALT_LEN])
{
	uint8_t in[HS_PUBKEY_LEN + HS_SALT_LEN], d[crypto_hash_sha256_BYTES];

	memcpy(in, pk, HS_PUBKEY_LEN);
	memcpy(in + HS_PUBKEY_LEN, salt, HS_SALT_LEN);
	crypto_hash_sha256(d, in, sizeof(in));
	memcpy(out, d, HS_KEY_HASH_LEN);
}

void hs_salted_hash(uint8_t out[static HS_SALTED_HASH_LEN], const uint8_t salt[static HS_SALT_LEN],
		    const uint8_t node_id[static HS_NODE_ID_LEN])
{
	uint8_t in[HS_SALT_LEN + HS_NODE_ID_LEN], d[crypto_hash_sha256_BYTES];

	memcpy(in, salt, HS_SALT_LEN);
	memcpy(in + HS_SALT_LEN, node_id, HS_NODE_ID_LEN);
	crypto_hash_sha256(d, in, sizeof(in));
	memcpy(out, salt, HS_SALT_LEN);
	memcpy(out + HS_SALT_LEN, d, HS_SALTED_HASH_LEN - HS_SALT_LEN);
}

/* Field-level checks, once the signature is known to be good. */
static int check_fields(struct hs_msg *m, const struct rd raw[FIELD_MAX + 1], bool dup)
{
	if (dup)
		return -EPROTO; /* the reference never repeats a field */
	if (m->flags & HS_HAS_STAGE) {
		if (raw[HS_FIELD_STAGE].len != 1)
			return -EPROTO;
		m->stage = raw[HS_FIELD_STAGE].p[0];
	}
	if (m->flags & HS_HAS_SALTED_HASH) {
		if (raw[HS_FIELD_SALTED_HASH].len != HS_SALTED_HASH_LEN)
			return -EPROTO;
		memcpy(m->salted_hash, raw[HS_FIELD_SALTED_HASH].p, HS_SALTED_HASH_LEN);
	}
	if (m->flags & HS_HAS_ECDH) {
		/* Not checked by the reference, which then panics in the key agreement. */
		if (raw[HS_FIELD_ECDH].len != HS_ECDH_LEN)
			return -EPROTO;
		memcpy(m->ecdh, raw[HS_FIELD_ECDH].p, HS_ECDH_LEN);
	}
	if (m->flags & HS_HAS_ALGORITHMS) {
		if (algo_list_decode(&m->algos, raw[HS_FIELD_ALGORITHMS].p,
				     raw[HS_FIELD_ALGORITHMS].len))
			return -EPROTO;
	}
	if (m->flags & HS_HAS_PAYLOAD) {
		m->payload = raw[HS_FIELD_PAYLOAD].p;
		m->payload_len = raw[HS_FIELD_PAYLOAD].len;
	}

	unsigned need = HS_HAS_STAGE | HS_HAS_SALTED_HASH;

	if (m->flags & HS_HAS_STAGE) {
		switch (m->stage) {
		case HS_STAGE_PING:
			need |= HS_HAS_ECDH | HS_HAS_ALGORITHMS;
			break;
		case HS_STAGE_PONG:
			need |= HS_HAS_ECDH | HS_HAS_ALGORITHMS | HS_HAS_PAYLOAD;
			break;
		case HS_STAGE_PENG:
			need |= HS_HAS_PAYLOAD;
			break;
		default:
			return -EPROTO;
		}
	}
	return (m->flags & need) == need ? 0 : -EPROTO;
}

int hs_key_find(const uint8_t *msg, size_t len, const uint8_t *trusted, size_t n_trusted)
{
	uint8_t kh[HS_KEY_HASH_LEN];
	const uint8_t *salt = msg + 1, *hash = msg + 1 + HS_SALT_LEN;

	if (len < 1 + HS_SALT_LEN + HS_KEY_HASH_LEN || msg[0] != FRAME_INIT_MESSAGE)
		return -EBADMSG;
	for (size_t i = 0; i < n_trusted && i <= INT32_MAX; i++) {
		hs_key_hash(kh, trusted + i * HS_PUBKEY_LEN, salt);
		if (!memcmp(kh, hash, HS_KEY_HASH_LEN))
			return (int)i;
	}
	return -EPERM;
}

int hs_decode(const uint8_t *msg, size_t len, const uint8_t *trusted, size_t n_trusted,
	      struct hs_msg *m)
{
	struct rd r, raw[FIELD_MAX + 1];
	const uint8_t *pk, *sig;
	uint8_t slen;
	size_t signed_len;
	bool dup = false;

	memset(m, 0, sizeof(*m));
	memset(raw, 0, sizeof(raw));
	rd_init(&r, msg, len);
	int ki = hs_key_find(msg, len, trusted, n_trusted);
	if (ki < 0)
		return ki;
	pk = trusted + (size_t)ki * HS_PUBKEY_LEN;
	m->key_index = (size_t)ki;
	rd_bytes(&r, 1 + HS_SALT_LEN + HS_KEY_HASH_LEN);

	for (;;) {
		uint8_t type = rd_u8(&r);

		if (!rd_ok(&r))
			return -EBADMSG;
		if (type == HS_FIELD_END)
			break;
		uint16_t flen = rd_be16(&r);
		struct rd v = rd_sub(&r, flen);

		if (!rd_ok(&r))
			return -EBADMSG;
		if (type > FIELD_MAX)
			continue; /* unknown fields are skipped */
		if (m->flags & (1u << type))
			dup = true;
		m->flags |= 1u << type;
		raw[type] = v;
	}
	signed_len = len - 1 - rd_left(&r); /* body from the salt through END */
	slen = rd_u8(&r);
	sig = rd_bytes(&r, slen);
	if (!rd_ok(&r) || rd_left(&r) != 0)
		return -EBADMSG;
	if (slen != HS_SIG_LEN || crypto_sign_verify_detached(sig, msg + 1, signed_len, pk))
		return -EPERM;
	return check_fields(m, raw, dup);
}

int hs_init(struct handshake *h, const struct hs_config *cfg, const uint8_t *payload,
	    size_t payload_len)
{
	uint8_t salt[HS_SALT_LEN];

	memset(h, 0, sizeof(*h));
	if (payload_len > HS_PAYLOAD_MAX)
		return -EMSGSIZE;
	h->payload = malloc(payload_len ? payload_len : 1);
	if (!h->payload)
		return -ENOMEM;
	if (payload_len)
		memcpy(h->payload, payload, payload_len);
	h->payload_len = payload_len;
	h->cfg = cfg;
	h->next_stage = HS_STAGE_PING;
	h->close_time = HS_CLOSE_TICKS;
	randombytes_buf(salt, sizeof(salt));
	hs_salted_hash(h->salted_hash, salt, cfg->node_id);
	return 0;
}

/* The ephemeral private key's storage: guarded memory, never the heap or the struct. */
static uint8_t *eph_alloc(const struct hs_config *cfg)
{
	return cfg->secrets ? secmem_get(cfg->secrets) : sodium_malloc(HS_ECDH_LEN);
}

/* Wipes and releases the ephemeral private key (if any). */
static void eph_drop(struct handshake *h)
{
	if (h->eph_sk) {
		if (h->cfg->secrets)
			secmem_put(h->cfg->secrets, h->eph_sk);
		else
			sodium_free(h->eph_sk); /* wipes */
	}
	h->eph_sk = NULL;
	h->has_eph = false;
}

void hs_free(struct handshake *h)
{
	if (h->cfg)
		eph_drop(h);
	free(h->last_msg);
	if (h->payload)
		sodium_memzero(h->payload, h->payload_len);
	free(h->payload);
	if (h->peer_payload)
		sodium_memzero(h->peer_payload, h->peer_payload_len);
	free(h->peer_payload);
	if (h->has_core)
		frame_core_free(&h->core);
	sodium_memzero(h, sizeof(*h));
}

static void sign(const struct hs_config *cfg, uint8_t *sig, const uint8_t *data, size_t len)
{
	if (cfg->sk_guarded)
		(void)sodium_mprotect_readonly(cfg->sk);
	crypto_sign_detached(sig, NULL, data, len, cfg->sk);
	if (cfg->sk_guarded)
		(void)sodium_mprotect_noaccess(cfg->sk);
}

/* Builds an init message of the given stage into out and remembers it for resends. */
static int write_msg(struct handshake *h, uint8_t stage, const uint8_t *eph_pub, struct buf *out)
{
	const struct hs_config *cfg = h->cfg;
	bool with_algos = stage != HS_STAGE_PENG, with_payload = stage != HS_STAGE_PING;
	size_t plen = h->payload_len + (h->has_core ? FRAME_OVERHEAD : 0);
	uint8_t salt[HS_SALT_LEN], kh[HS_KEY_HASH_LEN], *region, *copy;
	struct wr w;
	int ret;

	out->len = 0;
	wr_init(&w, buf_data(out), buf_tailroom(out));
	randombytes_buf(salt, sizeof(salt));
	hs_key_hash(kh, cfg->pk, salt);
	wr_u8(&w, FRAME_INIT_MESSAGE);
	wr_bytes(&w, salt, sizeof(salt));
	wr_bytes(&w, kh, sizeof(kh));
	wr_u8(&w, HS_FIELD_STAGE);
	wr_be16(&w, 1);
	wr_u8(&w, stage);
	wr_u8(&w, HS_FIELD_SALTED_HASH);
	wr_be16(&w, HS_SALTED_HASH_LEN);
	wr_bytes(&w, h->salted_hash, HS_SALTED_HASH_LEN);
	if (eph_pub) {
		wr_u8(&w, HS_FIELD_ECDH);
		wr_be16(&w, HS_ECDH_LEN);
		wr_bytes(&w, eph_pub, HS_ECDH_LEN);
	}
	if (with_algos) {
		wr_u8(&w, HS_FIELD_ALGORITHMS);
		wr_be16(&w, (uint16_t)algo_list_encoded_len(cfg->algos));
		algo_list_write(cfg->algos, &w);
	}
	if (with_payload) {
		wr_u8(&w, HS_FIELD_PAYLOAD);
		wr_be16(&w, (uint16_t)plen);
		region = wr_reserve(&w, plen);
		if (region && h->has_core) {
			/* Encrypted with the new session core: its slot-0 nonce advances. */
			struct buf tmp = { .base = region, .size = (uint32_t)plen };

			buf_reset(&tmp, FRAME_HEADER_LEN);
			memcpy(buf_put(&tmp, (uint32_t)h->payload_len), h->payload, h->payload_len);
			ret = frame_encrypt(&h->core, &tmp);
			if (ret)
				return ret;
		} else if (region) {
			memcpy(region, h->payload, h->payload_len);
		}
	}
	wr_u8(&w, HS_FIELD_END);
	size_t signed_len = w.len - 1;

	wr_u8(&w, HS_SIG_LEN);
	uint8_t *sig = wr_reserve(&w, HS_SIG_LEN);

	if (!wr_ok(&w))
		return -EMSGSIZE;
	sign(cfg, sig, buf_data(out) + 1, signed_len);
	copy = malloc(w.len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf_data(out), w.len);
	free(h->last_msg);
	h->last_msg = copy;
	h->last_len = w.len;
	out->len = (uint32_t)w.len;
	return 0;
}

static int resend(struct handshake *h, struct buf *out)
{
	out->len = 0;
	uint8_t *p = buf_put(out, (uint32_t)h->last_len);

	if (!p)
		return -EMSGSIZE;
	memcpy(p, h->last_msg, h->last_len);
	return HS_REPLY;
}

/* Resends the last message; only a reply that fits in out uses up this tick's one reply. */
static int reply_once(struct handshake *h, struct buf *out)
{
	int r = resend(h, out);
	if (r == HS_REPLY)
		h->replied = true;
	return r;
}

static int fatal(struct handshake *h)
{
	h->next_stage = HS_CLOSING;
	return HS_E_FATAL;
}

int hs_start(struct handshake *h, struct buf *out)
{
	uint8_t pub[HS_ECDH_LEN];
	int ret;

	if (h->next_stage != HS_STAGE_PING || h->last_msg)
		return -EINVAL;
	if (!h->eph_sk && !(h->eph_sk = eph_alloc(h->cfg)))
		return -ENOMEM;
	randombytes_buf(h->eph_sk, HS_ECDH_LEN);
	if (crypto_scalarmult_base(pub, h->eph_sk)) {
		eph_drop(h);
		return -EIO;
	}
	h->has_eph = true;
	ret = write_msg(h, HS_STAGE_PING, pub, out);
	if (ret)
		return ret;
	h->next_stage = HS_STAGE_PONG;
	return 0;
}

/* Own node id under the peer's salt: the check the reference intends (its version never hits). */
static bool is_self(const struct handshake *h, const uint8_t hash[HS_SALTED_HASH_LEN])
{
	uint8_t mine[HS_SALTED_HASH_LEN];

	if (!memcmp(hash, h->salted_hash, HS_SALTED_HASH_LEN))
		return true;
	hs_salted_hash(mine, hash, h->cfg->node_id);
	return !memcmp(hash, mine, HS_SALTED_HASH_LEN);
}

/* Selects the algorithm and, unless plain, builds the session core from our X25519 key. */
static int make_core(struct handshake *h, const struct hs_msg *m, const uint8_t sk[HS_ECDH_LEN])
{
	uint8_t shared[HS_ECDH_LEN];
	int ret;

	if (algo_select(h->cfg->algos, &m->algos, &h->algo))
		return HS_E_FATAL; /* no common algorithm */
	if (h->algo == ALGO_PLAIN)
		return 0;
	if (crypto_scalarmult(shared, sk, m->ecdh)) {
		ret = HS_E_FATAL; /* all-zero result: small-order public key */
		goto out;
	}
	/* The side with the greater salted hash sends with direction byte 0x80. */
	ret = frame_core_init(&h->core, h->algo,
			      memcmp(h->salted_hash, m->salted_hash, HS_SALTED_HASH_LEN) > 0,
			      shared);
	if (!ret)
		h->has_core = true;
out:
	sodium_memzero(shared, sizeof(shared));
	return ret;
}

/* Decrypts (in place) and checks the peer payload, then keeps a copy. */
static int take_payload(struct handshake *h, const struct hs_msg *m, uint8_t *msg)
{
	struct buf tmp = { .base = msg + (size_t)(m->payload - msg),
			   .size = (uint32_t)m->payload_len };

	tmp.len = tmp.size;
	if (frame_decrypt_payload(h->has_core ? &h->core : NULL, &tmp))
		return HS_E_FATAL;
	if (h->cfg->payload_ok && !h->cfg->payload_ok(buf_data(&tmp), tmp.len, h->cfg->payload_arg))
		return HS_E_FATAL;
	h->peer_payload = malloc(tmp.len ? tmp.len : 1);
	if (!h->peer_payload)
		return -ENOMEM;
	memcpy(h->peer_payload, buf_data(&tmp), tmp.len);
	h->peer_payload_len = tmp.len;
	return 0;
}

static int on_ping(struct handshake *h, const struct hs_msg *m, struct buf *out)
{
	uint8_t sk[HS_ECDH_LEN], pub[HS_ECDH_LEN];
	int ret;

	randombytes_buf(sk, sizeof(sk));
	ret = crypto_scalarmult_base(pub, sk) ? -EIO : make_core(h, m, sk);
	if (!ret)
		ret = write_msg(h, HS_STAGE_PONG, pub, out);
	sodium_memzero(sk, sizeof(sk));
	if (ret) {
		if (h->has_core)
			frame_core_free(&h->core);
		h->has_core = false;
		return ret == HS_E_FATAL ? fatal(h) : ret;
	}
	h->next_stage = HS_STAGE_PENG;
	return HS_REPLY;
}

static int on_pong(struct handshake *h, const struct hs_msg *m, uint8_t *msg, struct buf *out)
{
	int ret;

	if (!h->has_eph)
		return fatal(h);
	ret = make_core(h, m, h->eph_sk);
	eph_drop(h);
	if (!ret)
		ret = take_payload(h, m, msg);
	if (!ret)
		ret = write_msg(h, HS_STAGE_PENG, NULL, out);
	if (ret) {
		out->len = 0;
		return fatal(h); /* the ephemeral key is gone: this attempt cannot continue */
	}
	h->next_stage = HS_WAITING_TO_CLOSE;
	h->close_time = HS_CLOSE_TICKS;
	h->initiator = true;
	return HS_DONE;
}

static int on_peng(struct handshake *h, const struct hs_msg *m, uint8_t *msg, struct buf *out)
{
	int ret = take_payload(h, m, msg);

	out->len = 0;
	if (ret)
		return ret == HS_E_FATAL ? fatal(h) : ret;
	h->next_stage = HS_CLOSING;
	h->initiator = false;
	return HS_DONE;
}

int hs_handle(struct handshake *h, uint8_t *msg, size_t len, struct buf *out)
{
	const struct hs_config *cfg = h->cfg;
	struct hs_msg m;
	int ret;

	ret = hs_decode(msg, len, cfg->trusted, cfg->n_trusted, &m);
	if (ret)
		return ret;
	if (is_self(h, m.salted_hash))
		return fatal(h);
	if (m.stage != h->next_stage) {
		if (h->next_stage == HS_STAGE_PONG && m.stage == HS_STAGE_PING) {
			/* Both sides initiated: the greater salted hash stays initiator. */
			if (memcmp(m.salted_hash, h->salted_hash, HS_SALTED_HASH_LEN) <= 0)
				return HS_NOTHING;
			free(h->last_msg);
			h->last_msg = NULL;
			h->last_len = 0;
			eph_drop(h);
			h->next_stage = HS_STAGE_PING;
		} else if (h->next_stage == HS_CLOSING) {
			return HS_NOTHING;
		} else if (h->next_stage == HS_WAITING_TO_CLOSE && m.stage == HS_STAGE_PING) {
			/*
			 * The retained state answers a repeated PONG (a lost PENG). A PING is no
			 * repeat of this handshake (the peer was its responder): it is a new attempt,
			 * typically from a peer that restarted on the same address. Resending the
			 * old PENG, as the reference does, locks it out for the whole retention
			 * (60 ticks); handing it to a new responder state lets it in at once.
			 */
			return -ENOENT;
		} else if (h->last_msg) {
			/*
			 * A repeated message gets our last one again, once per tick at most:
			 * replayed PINGs from a spoofed address must not turn us into a
			 * reflector (STYLE 6).
			 */
			if (h->replied)
				return HS_NOTHING;
			return reply_once(h, out);
		} else {
			return fatal(h); /* invalid stage as first message */
		}
	}
	h->failed_retries = 0;
	memcpy(h->peer_pk, cfg->trusted + m.key_index * HS_PUBKEY_LEN, HS_PUBKEY_LEN);
	switch (m.stage) {
	case HS_STAGE_PING:
		return on_ping(h, &m, out);
	case HS_STAGE_PONG:
		return on_pong(h, &m, msg, out);
	default:
		return on_peng(h, &m, msg, out);
	}
}

int hs_tick(struct handshake *h, struct buf *out)
{
	h->replied = false;
	switch (h->next_stage) {
	case HS_WAITING_TO_CLOSE:
		if (h->close_time == 0)
			h->next_stage = HS_CLOSING;
		else
			h->close_time--;
		return 0;
	case HS_CLOSING:
		return 0;
	default:
		if (h->failed_retries >= HS_MAX_RETRIES) {
			h->next_stage = HS_CLOSING;
			return -ETIMEDOUT;
		}
		h->failed_retries++;
		if (!h->last_msg)
			return 0;
		/*
		 * A responder repeats its PONG only after 1, 2, 4, ... 64 ticks: a lost PONG
		 * is also answered when the initiator repeats its PING (above), and a lost
		 * PENG when the established initiator's first message arrives (hs_nudge). So
		 * a PING replayed from a forged source earns 8 PONGs, not 121 (STYLE 6).
		 */
		if (h->next_stage == HS_STAGE_PENG && (h->failed_retries & (h->failed_retries - 1)))
			return 0;
		return resend(h, out) == HS_REPLY ? 1 : -EMSGSIZE;
	}
}

int hs_nudge(struct handshake *h, struct buf *out)
{
	if (h->next_stage != HS_STAGE_PENG || !h->last_msg || h->replied)
		return HS_NOTHING;
	return reply_once(h, out);
}

bool hs_take_core(struct handshake *h, struct frame_core *dst)
{
	if (!h->has_core)
		return false;
	*dst = h->core;
	memset(&h->core, 0, sizeof(h->core));
	h->has_core = false;
	return true;
}

uint8_t *hs_take_peer_payload(struct handshake *h, size_t *len)
{
	uint8_t *p = h->peer_payload;

	*len = h->peer_payload_len;
	h->peer_payload = NULL;
	h->peer_payload_len = 0;
	return p;
}

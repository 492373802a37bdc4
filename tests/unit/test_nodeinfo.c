// SPDX-License-Identifier: GPL-3.0-or-later
/* test_nodeinfo.c - NODE_INFO encode/decode against the spec vectors, and malformed input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/nodeinfo.h"

/* PROTOCOL.md 4.6 */
static const char vec46[] =
	"040010" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"010035" "90" "11111111111111111111111111111111"
	"00000000000000000000ffffc0000201" "0c8a"
	"20010db8000000000000000000000001" "0c8b"
	"020006" "04" "0a000000" "18"
	"030002" "012c"
	"050019" "09" "00000000000000000000ffffc6336407" "0c8a" "cb007105" "0fa0"
	"00";
/* PROTOCOL.md A.4, NodeInfo B and A */
static const char vec_b[] = "040010" "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
			    "010000"
			    "020006" "040a000200" "18"
			    "030002" "012c"
			    "050013" "08" "00000000000000000000ffffc0000202" "0c8a"
			    "00";
static const char vec_a[] = "040010" "000102030405060708090a0b0c0d0e0f"
			    "010000"
			    "020006" "040a000100" "18"
			    "030002" "012c"
			    "050013" "08" "00000000000000000000ffffc0000201" "0c8a"
			    "00";

static struct nodeinfo ni, ni2; /* about 40 KB each: not on the stack */

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = strlen(hex) / 2;
	assert_true(n <= cap);
	assert_int_equal(hex_decode(out, n, hex), 0);
	return n;
}

static struct addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct addr x;
	addr_set_v4(&x, (const uint8_t[]){a, b, c, d}, port);
	return x;
}

static struct addr v6(uint8_t last, uint16_t port)
{
	uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8};
	struct addr x;
	ip[15] = last;
	addr_set_v6(&x, ip, port);
	return x;
}

static struct range range4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t prefix)
{
	return (struct range){.base = {.len = 4, .b = {a, b, c, d}}, .prefix = prefix};
}

/* Decodes exactly len bytes from a heap copy so ASan sees any over-read. */
static int decode_exact(struct nodeinfo *out, const uint8_t *p, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len)
		memcpy(copy, p, len);
	int err = nodeinfo_decode(out, copy, len);
	free(copy);
	return err;
}

static size_t encode(const struct nodeinfo *in, uint8_t *buf, size_t cap)
{
	struct wr w;
	wr_init(&w, buf, cap);
	assert_int_equal(nodeinfo_encode(in, &w), 0);
	return w.len;
}

static void build46(struct nodeinfo *n)
{
	memset(n, 0, sizeof(*n));
	n->flags = NODEINFO_HAS_NODE_ID | NODEINFO_HAS_PEER_TIMEOUT;
	memset(n->node_id, 0xaa, 16);
	n->n_peers = 1;
	n->peers[0].flags = NODEINFO_PEER_HAS_NODE_ID;
	memset(n->peers[0].node_id, 0x11, 16);
	struct addr a = v4(192, 0, 2, 1, 3210), b = v6(1, 3211);
	assert_true(nodeinfo_addrs_add(&n->peers[0].addrs, &a, false));
	assert_true(nodeinfo_addrs_add(&n->peers[0].addrs, &b, false));
	n->n_claims = 1;
	n->claims[0] = range4(10, 0, 0, 0, 24);
	n->peer_timeout = 300;
	a = v4(198, 51, 100, 7, 3210);
	b = v4(203, 0, 113, 5, 4000);
	assert_true(nodeinfo_addrs_add(&n->addrs, &a, false)); /* mapped, as from the socket */
	assert_true(nodeinfo_addrs_add(&n->addrs, &b, true));  /* plain IPv4 */
}

static void test_vector46_encode(void **state)
{
	(void)state;
	uint8_t want[256], buf[NODEINFO_MAX_ENCODED_LEN];
	size_t n = unhex(want, sizeof(want), vec46);

	build46(&ni);
	assert_int_equal(encode(&ni, buf, sizeof(buf)), n);
	assert_memory_equal(buf, want, n);
	/* exact-size buffer works, one byte less does not */
	struct wr w;
	wr_init(&w, buf, n);
	assert_int_equal(nodeinfo_encode(&ni, &w), 0);
	for (size_t cap = 0; cap < n; cap++) {
		wr_init(&w, buf, cap);
		assert_int_equal(nodeinfo_encode(&ni, &w), -EMSGSIZE);
	}
}

static void test_vector46_decode(void **state)
{
	(void)state;
	uint8_t in[256];
	size_t n = unhex(in, sizeof(in), vec46);
	uint8_t id[16];

	assert_int_equal(decode_exact(&ni, in, n), 0);
	assert_int_equal(ni.flags, NODEINFO_HAS_NODE_ID | NODEINFO_HAS_PEERS | NODEINFO_HAS_CLAIMS |
					   NODEINFO_HAS_PEER_TIMEOUT | NODEINFO_HAS_ADDRS);
	memset(id, 0xaa, 16);
	assert_memory_equal(ni.node_id, id, 16);
	assert_int_equal(ni.n_peers, 1);
	assert_int_equal(ni.peers[0].flags, NODEINFO_PEER_HAS_NODE_ID);
	memset(id, 0x11, 16);
	assert_memory_equal(ni.peers[0].node_id, id, 16);
	assert_int_equal(ni.peers[0].addrs.n, 2);
	struct addr a = v4(192, 0, 2, 1, 3210), b = v6(1, 3211);
	assert_true(addr_equal(&ni.peers[0].addrs.a[0], &a));
	assert_true(addr_equal(&ni.peers[0].addrs.a[1], &b));
	assert_int_equal(ni.peers[0].addrs.v4_wire, 0);
	assert_int_equal(ni.n_claims, 1);
	struct range r = range4(10, 0, 0, 0, 24);
	assert_true(range_equal(&ni.claims[0], &r));
	assert_int_equal(ni.peer_timeout, 300);
	/* both forms normalise to the same mapped address; the form is remembered */
	assert_int_equal(ni.addrs.n, 2);
	a = v4(198, 51, 100, 7, 3210);
	b = v4(203, 0, 113, 5, 4000);
	assert_true(addr_equal(&ni.addrs.a[0], &a));
	assert_true(addr_equal(&ni.addrs.a[1], &b));
	assert_true(addr_is_v4(&ni.addrs.a[1]));
	assert_int_equal(ni.addrs.v4_wire, 0x2);
	/* and re-encodes byte for byte */
	uint8_t buf[NODEINFO_MAX_ENCODED_LEN];
	assert_int_equal(encode(&ni, buf, sizeof(buf)), n);
	assert_memory_equal(buf, in, n);
}

static void build_a4(struct nodeinfo *n, const uint8_t id[16], uint8_t net, uint8_t host)
{
	memset(n, 0, sizeof(*n));
	n->flags = NODEINFO_HAS_NODE_ID | NODEINFO_HAS_PEER_TIMEOUT;
	memcpy(n->node_id, id, 16);
	n->n_claims = 1;
	n->claims[0] = range4(10, 0, net, 0, 24);
	n->peer_timeout = 300;
	struct addr a = v4(192, 0, 2, host, 3210);
	assert_true(nodeinfo_addrs_add(&n->addrs, &a, false));
}

static void check_vector(const char *hex, const uint8_t id[16], uint8_t net, uint8_t host)
{
	uint8_t want[128], buf[NODEINFO_MAX_ENCODED_LEN];
	size_t n = unhex(want, sizeof(want), hex);

	build_a4(&ni, id, net, host);
	assert_int_equal(encode(&ni, buf, sizeof(buf)), n);
	assert_memory_equal(buf, want, n);
	assert_int_equal(decode_exact(&ni2, want, n), 0);
	assert_memory_equal(ni2.node_id, id, 16);
	assert_int_equal(ni2.n_peers, 0);
	assert_true(ni2.flags & NODEINFO_HAS_PEERS);
	assert_int_equal(ni2.n_claims, 1);
	assert_true(range_equal(&ni2.claims[0], &ni.claims[0]));
	assert_int_equal(ni2.peer_timeout, 300);
	assert_int_equal(ni2.addrs.n, 1);
	assert_true(addr_equal(&ni2.addrs.a[0], &ni.addrs.a[0]));
	assert_int_equal(ni2.addrs.v4_wire, 0);
}

static void test_vectors_a4(void **state)
{
	(void)state;
	uint8_t id_a[16], id_b[16];
	for (int i = 0; i < 16; i++) {
		id_a[i] = (uint8_t)i;
		id_b[i] = (uint8_t)(0xf0 + i);
	}
	check_vector(vec_b, id_b, 2, 2);
	check_vector(vec_a, id_a, 1, 1);
}

static void assert_lists_equal(const struct nodeinfo_addrs *x, const struct nodeinfo_addrs *y)
{
	assert_int_equal(x->n, y->n);
	assert_int_equal(x->v4_wire, y->v4_wire);
	for (unsigned i = 0; i < x->n; i++)
		assert_true(addr_equal(&x->a[i], &y->a[i]));
}

static void test_round_trip(void **state)
{
	(void)state;
	uint8_t buf[NODEINFO_MAX_ENCODED_LEN];

	memset(&ni, 0, sizeof(ni));
	ni.flags = NODEINFO_HAS_NODE_ID; /* no peer timeout */
	memset(ni.node_id, 0x5a, 16);
	ni.n_peers = NODEINFO_ENCODE_MAX_PEERS;
	for (unsigned p = 0; p < ni.n_peers; p++) {
		struct nodeinfo_peer *peer = &ni.peers[p];
		peer->flags = p % 3 ? NODEINFO_PEER_HAS_NODE_ID : 0;
		if (peer->flags)
			memset(peer->node_id, (int)p, 16);
		/* IPv6 entries first, then IPv4, as a decoder produces them */
		for (unsigned k = 0; k < p % 8; k++) {
			struct addr a = v6((uint8_t)k, (uint16_t)(1000 + p));
			assert_true(nodeinfo_addrs_add(&peer->addrs, &a, false));
		}
		for (unsigned k = 0; k < (p + 3) % 8; k++) {
			struct addr a = v4(10, (uint8_t)p, 0, (uint8_t)k, 1);
			assert_true(nodeinfo_addrs_add(&peer->addrs, &a, true));
		}
	}
	ni.n_claims = 5;
	ni.claims[0] = range4(10, 1, 0, 0, 16);
	ni.claims[1] = (struct range){.base = {.len = 16, .b = {0x20, 0x01, 0x0d, 0xb8}}, .prefix = 32};
	ni.claims[2] = (struct range){.base = {.len = 6, .b = {2, 0, 0, 0, 0, 1}}, .prefix = 48};
	ni.claims[3] = (struct range){.base = {.len = 8, .b = {0, 5, 2, 0, 0, 0, 0, 1}}, .prefix = 64};
	ni.claims[4] = (struct range){.base = {.len = 0}, .prefix = 0};
	size_t n = encode(&ni, buf, sizeof(buf));
	assert_true(n <= NODEINFO_MAX_ENCODED_LEN);
	assert_int_equal(decode_exact(&ni2, buf, n), 0);
	assert_false(ni2.flags & NODEINFO_HAS_PEER_TIMEOUT);
	assert_memory_equal(ni2.node_id, ni.node_id, 16);
	assert_int_equal(ni2.n_peers, ni.n_peers);
	for (unsigned p = 0; p < ni.n_peers; p++) {
		assert_int_equal(ni2.peers[p].flags, ni.peers[p].flags);
		if (ni.peers[p].flags)
			assert_memory_equal(ni2.peers[p].node_id, ni.peers[p].node_id, 16);
		assert_lists_equal(&ni2.peers[p].addrs, &ni.peers[p].addrs);
	}
	assert_int_equal(ni2.n_claims, ni.n_claims);
	for (unsigned i = 0; i < ni.n_claims; i++)
		assert_true(range_equal(&ni2.claims[i], &ni.claims[i]));
	assert_int_equal(ni2.addrs.n, 0);
	assert_true(ni2.flags & NODEINFO_HAS_ADDRS);
}

static void test_truncation(void **state)
{
	(void)state;
	const char *vecs[] = {vec46, vec_a, vec_b};
	uint8_t in[256];

	for (size_t v = 0; v < 3; v++) {
		size_t n = unhex(in, sizeof(in), vecs[v]);
		for (size_t cut = 0; cut < n; cut++)
			assert_int_equal(decode_exact(&ni, in, cut), -EBADMSG);
		assert_int_equal(decode_exact(&ni, in, n), 0);
	}
}

static void test_unknown_parts(void **state)
{
	(void)state;
	uint8_t in[256], mod[300];
	size_t n = unhex(in, sizeof(in), vec46), m = 0;
	/* an unknown part (with a zero byte inside) in front and one before END */
	const uint8_t unk1[] = {0x09, 0x00, 0x03, 0x00, 0x05, 0x00};
	const uint8_t unk2[] = {0xee, 0x00, 0x00};

	memcpy(mod, unk1, sizeof(unk1));
	m = sizeof(unk1);
	memcpy(mod + m, in, n - 1);
	m += n - 1;
	memcpy(mod + m, unk2, sizeof(unk2));
	m += sizeof(unk2);
	mod[m++] = 0;
	assert_int_equal(decode_exact(&ni, mod, m), 0);
	assert_int_equal(decode_exact(&ni2, in, n), 0);
	assert_int_equal(ni.flags, ni2.flags);
	assert_memory_equal(ni.node_id, ni2.node_id, 16);
	assert_int_equal(ni.n_peers, 1);
	assert_int_equal(ni.n_claims, 1);
	assert_int_equal(ni.peer_timeout, 300);
	assert_lists_equal(&ni.addrs, &ni2.addrs);
	/* unknown part longer than the rest */
	const uint8_t bad[] = {0x09, 0x00, 0x05, 1, 2, 3, 0};
	assert_int_equal(decode_exact(&ni, bad, sizeof(bad)), -EBADMSG);
	/* trailing bytes after END are ignored */
	memcpy(mod, in, n);
	memset(mod + n, 0x77, 5);
	assert_int_equal(decode_exact(&ni, mod, n + 5), 0);
}

/* The meshvpn extension part: written only with a flag set, after ADDRS; found by the scan. */
static void test_meshvpn_part(void **state)
{
	(void)state;
	uint8_t want[256], buf[NODEINFO_MAX_ENCODED_LEN];
	size_t n = unhex(want, sizeof(want), vec46);
	int len;

	/* the flag without a bit set: VpnCloud's bytes exactly */
	build46(&ni);
	ni.flags |= NODEINFO_HAS_MESHVPN;
	ni.meshvpn = 0;
	assert_int_equal(encode(&ni, buf, sizeof(buf)), n);
	assert_memory_equal(buf, want, n);
	assert_int_equal(nodeinfo_meshvpn_flags(buf, n), 0);

	ni.meshvpn = NODEINFO_MESHVPN_WEBSOCKET;
	len = encode(&ni, buf, sizeof(buf));
	assert_int_equal(len, n + 4);
	assert_memory_equal(buf, want, n - 1); /* the same up to END */
	const uint8_t part[] = {0x40, 0x00, 0x01, 0x01, 0x00};
	assert_memory_equal(buf + n - 1, part, sizeof(part));
	assert_int_equal(nodeinfo_meshvpn_flags(buf, (size_t)len), NODEINFO_MESHVPN_WEBSOCKET);
	assert_int_equal(decode_exact(&ni2, buf, (size_t)len), 0);
	assert_true(ni2.flags & NODEINFO_HAS_MESHVPN);
	assert_int_equal(ni2.meshvpn, NODEINFO_MESHVPN_WEBSOCKET);
	assert_int_equal(ni2.n_peers, 1);
	/* a vpncloud NodeInfo has none */
	assert_int_equal(decode_exact(&ni2, want, n), 0);
	assert_false(ni2.flags & NODEINFO_HAS_MESHVPN);
	assert_int_equal(ni2.meshvpn, 0);
	assert_int_equal(nodeinfo_meshvpn_flags(want, n), 0);
	/* the scan: truncated input, a missing END, an empty part, a repeated part */
	for (int cut = 0; cut < len; cut++)
		assert_int_equal(nodeinfo_meshvpn_flags(buf, (size_t)cut), 0);
	const uint8_t empty[] = {0x40, 0x00, 0x00, 0x00};
	assert_int_equal(nodeinfo_meshvpn_flags(empty, sizeof(empty)), 0);
	const uint8_t twice[] = {0x40, 0x00, 0x01, 0x01, 0x40, 0x00, 0x02, 0x00, 0xff, 0x00};
	assert_int_equal(nodeinfo_meshvpn_flags(twice, sizeof(twice)), 0);
	const uint8_t later[] = {0x40, 0x00, 0x00, 0x40, 0x00, 0x02, 0x01, 0xff, 0x00};
	assert_int_equal(nodeinfo_meshvpn_flags(later, sizeof(later)), 1);
	const uint8_t overlong[] = {0x40, 0x00, 0x09, 0x01, 0x00};
	assert_int_equal(nodeinfo_meshvpn_flags(overlong, sizeof(overlong)), 0);
}

static void test_repeated_and_long_parts(void **state)
{
	(void)state;
	uint8_t in[128];
	/* two NODE_IDs (the second 20 bytes long), two CLAIMS, PEER_TIMEOUT of 4 bytes */
	size_t n = unhex(in, sizeof(in),
			 "040010" "01010101010101010101010101010101"
			 "020006" "040a00000018"
			 "040014" "02020202020202020202020202020202" "ffffffff"
			 "02000c" "04c0a8000010" "04100000081f"
			 "030004012cffff"
			 "05000100"
			 "00");
	uint8_t id[16];

	assert_int_equal(decode_exact(&ni, in, n), 0);
	memset(id, 2, 16);
	assert_memory_equal(ni.node_id, id, 16);
	assert_int_equal(ni.n_claims, 2);
	struct range r0 = range4(192, 168, 0, 0, 16), r1 = range4(16, 0, 0, 0, 31);
	r1.base.b[3] = 8;
	assert_true(range_equal(&ni.claims[0], &r0));
	assert_true(range_equal(&ni.claims[1], &r1));
	assert_int_equal(ni.peer_timeout, 300);
	assert_int_equal(ni.addrs.n, 0);
	assert_false(ni.flags & NODEINFO_HAS_PEERS);
	/* a later empty PEERS part replaces an earlier one; an empty ADDRS part is no list */
	n = unhex(in, sizeof(in),
		  "010017" "81" "11111111111111111111111111111111" "0a000001" "0c8a"
		  "040010" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "010000" "050000"
		  "00");
	assert_int_equal(decode_exact(&ni, in, n), 0);
	assert_int_equal(ni.n_peers, 0);
	assert_true(ni.flags & NODEINFO_HAS_ADDRS);
	assert_int_equal(ni.addrs.n, 0);
}

static void test_missing_node_id(void **state)
{
	(void)state;
	uint8_t in[64];
	size_t n = unhex(in, sizeof(in), "010000020006040a00000018030002012c05000100""00");

	assert_int_equal(decode_exact(&ni, in, n), -EPROTO);
	assert_int_equal(decode_exact(&ni, (const uint8_t[]){0}, 1), -EPROTO);
	assert_int_equal(decode_exact(&ni, NULL, 0), -EBADMSG);
	/* NODE_ID part shorter than 16 bytes */
	n = unhex(in, sizeof(in), "04000f" "010101010101010101010101010101" "00");
	assert_int_equal(decode_exact(&ni, in, n), -EBADMSG);
	/* and the encoder insists on one */
	memset(&ni, 0, sizeof(ni));
	uint8_t buf[64];
	struct wr w;
	wr_init(&w, buf, sizeof(buf));
	assert_int_equal(nodeinfo_encode(&ni, &w), -EINVAL);
}

static void test_truncated_entries(void **state)
{
	(void)state;
	uint8_t in[128];
	/* PEERS part claims one IPv4 address but holds only 3 of its 6 bytes */
	size_t n = unhex(in, sizeof(in),
			 "040010aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			 "010004" "01" "010203" "00");
	assert_int_equal(decode_exact(&ni, in, n), -EBADMSG);
	/* ADDRS announces an IPv6 entry that is not there */
	n = unhex(in, sizeof(in), "040010aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0500070801020304050600");
	assert_int_equal(decode_exact(&ni, in, n), -EBADMSG);
	/* CLAIMS with the prefix byte missing */
	n = unhex(in, sizeof(in), "040010aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa020005040a00000000");
	assert_int_equal(decode_exact(&ni, in, n), -EBADMSG);
	/* PEER_TIMEOUT of one byte */
	n = unhex(in, sizeof(in), "040010aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0300010100");
	assert_int_equal(decode_exact(&ni, in, n), -EBADMSG);
}

static void test_claim_addr_len(void **state)
{
	(void)state;
	uint8_t in[128];
	size_t n = unhex(in, sizeof(in),
			 "040010aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			 "02001311000102030405060708090a0b0c0d0e0f1008"
			 "00");
	assert_int_equal(decode_exact(&ni, in, n), -EBADMSG);
	/* 16 is the largest allowed */
	n = unhex(in, sizeof(in),
		  "040010aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "02001210000102030405060708090a0b0c0d0e0f08"
		  "00");
	assert_int_equal(decode_exact(&ni, in, n), 0);
	assert_int_equal(ni.n_claims, 1);
	assert_int_equal(ni.claims[0].base.len, 16);
	assert_int_equal(ni.claims[0].prefix, 8);
	/* the encoder refuses what it could not write */
	ni.claims[0].base.len = 17;
	uint8_t buf[NODEINFO_MAX_ENCODED_LEN];
	struct wr w;
	wr_init(&w, buf, sizeof(buf));
	assert_int_equal(nodeinfo_encode(&ni, &w), -EINVAL);
}

static void test_family_limit(void **state)
{
	(void)state;
	uint8_t buf[NODEINFO_MAX_ENCODED_LEN];

	memset(&ni, 0, sizeof(ni));
	ni.flags = NODEINFO_HAS_NODE_ID;
	/* 8 IPv4 and 8 IPv6, interleaved */
	for (unsigned k = 0; k < 8; k++) {
		struct addr a = v4(192, 0, 2, (uint8_t)k, 1), b = v6((uint8_t)k, 2);
		assert_true(nodeinfo_addrs_add(&ni.addrs, &a, true));
		assert_true(nodeinfo_addrs_add(&ni.addrs, &b, false));
	}
	struct addr x = v4(1, 1, 1, 1, 1);
	assert_false(nodeinfo_addrs_add(&ni.addrs, &x, true));
	ni.n_peers = 1;
	ni.peers[0].addrs = ni.addrs;
	size_t n = encode(&ni, buf, sizeof(buf));
	/* NODE_ID 19, PEERS 3 + 1 + 7*18 + 7*6, CLAIMS 3, ADDRS 3 + 1 + 168, END 1 */
	assert_int_equal(n, 19 + 3 + 169 + 3 + 3 + 169 + 1);
	assert_int_equal(buf[19 + 3], 0x3f);
	assert_int_equal(decode_exact(&ni2, buf, n), 0);
	assert_int_equal(ni2.addrs.n, 14);
	assert_int_equal(ni2.peers[0].addrs.n, 14);
	for (unsigned k = 0; k < 7; k++) {
		struct addr a = v4(192, 0, 2, (uint8_t)k, 1), b = v6((uint8_t)k, 2);
		assert_true(addr_equal(&ni2.addrs.a[k], &b));
		assert_true(addr_equal(&ni2.addrs.a[7 + k], &a));
	}
	assert_int_equal(ni2.addrs.v4_wire, 0x3f80);
	/* v4_wire is ignored for addresses that are not IPv4 */
	memset(&ni, 0, sizeof(ni));
	ni.flags = NODEINFO_HAS_NODE_ID;
	x = v6(9, 9);
	assert_true(nodeinfo_addrs_add(&ni.addrs, &x, true));
	n = encode(&ni, buf, sizeof(buf));
	assert_int_equal(decode_exact(&ni2, buf, n), 0);
	assert_int_equal(ni2.addrs.n, 1);
	assert_int_equal(ni2.addrs.v4_wire, 0);
	assert_true(addr_equal(&ni2.addrs.a[0], &x));
}

static void test_encode_limits(void **state)
{
	(void)state;
	uint8_t buf[NODEINFO_MAX_ENCODED_LEN];
	struct wr w;

	memset(&ni, 0, sizeof(ni));
	ni.flags = NODEINFO_HAS_NODE_ID | NODEINFO_HAS_PEER_TIMEOUT | NODEINFO_HAS_MESHVPN;
	ni.meshvpn = NODEINFO_MESHVPN_WEBSOCKET;
	ni.n_peers = NODEINFO_ENCODE_MAX_PEERS + 1;
	wr_init(&w, buf, sizeof(buf));
	assert_int_equal(nodeinfo_encode(&ni, &w), -EINVAL);
	/* the largest possible message fits NODEINFO_MAX_ENCODED_LEN exactly */
	ni.n_peers = NODEINFO_ENCODE_MAX_PEERS;
	for (unsigned p = 0; p < ni.n_peers; p++) {
		ni.peers[p].flags = NODEINFO_PEER_HAS_NODE_ID;
		for (unsigned k = 0; k < 8; k++) {
			struct addr a = v4(192, 0, 2, (uint8_t)k, 1), b = v6((uint8_t)k, 2);
			assert_true(nodeinfo_addrs_add(&ni.peers[p].addrs, &a, true));
			assert_true(nodeinfo_addrs_add(&ni.peers[p].addrs, &b, false));
		}
	}
	ni.addrs = ni.peers[0].addrs;
	ni.n_claims = NODEINFO_MAX_CLAIMS;
	for (unsigned i = 0; i < ni.n_claims; i++)
		ni.claims[i] = (struct range){.base = {.len = 16}, .prefix = 128};
	assert_int_equal(encode(&ni, buf, sizeof(buf)), NODEINFO_MAX_ENCODED_LEN);
}

static void test_decode_caps(void **state)
{
	(void)state;
	enum { PEERS = 70, CLAIMS = 300 };
	size_t cap = 64 + PEERS * 7 + CLAIMS * 6;
	uint8_t *in = malloc(cap);
	struct wr w;

	assert_non_null(in);
	wr_init(&w, in, cap);
	wr_bytes(&w, "\x04\x00\x10" "0123456789abcdef", 19);
	wr_u8(&w, NODEINFO_PART_PEERS);
	wr_be16(&w, PEERS * 7);
	for (unsigned p = 0; p < PEERS; p++) {
		wr_u8(&w, 1);
		wr_bytes(&w, (const uint8_t[]){10, 0, (uint8_t)(p >> 8), (uint8_t)p, 0, 1}, 6);
	}
	wr_u8(&w, NODEINFO_PART_CLAIMS);
	wr_be16(&w, CLAIMS * 6);
	for (unsigned c = 0; c < CLAIMS; c++)
		wr_bytes(&w, (const uint8_t[]){4, 10, (uint8_t)(c >> 8), (uint8_t)c, 0, 24}, 6);
	wr_u8(&w, NODEINFO_PART_END);
	assert_true(wr_ok(&w));
	assert_int_equal(decode_exact(&ni, in, w.len), 0);
	assert_true(ni.flags & NODEINFO_TRUNCATED);
	assert_int_equal(ni.n_peers, NODEINFO_MAX_PEERS);
	assert_int_equal(ni.n_claims, NODEINFO_MAX_CLAIMS);
	struct addr a = v4(10, 0, 0, NODEINFO_MAX_PEERS - 1, 1);
	assert_true(addr_equal(&ni.peers[NODEINFO_MAX_PEERS - 1].addrs.a[0], &a));
	assert_int_equal(ni.peers[0].flags, 0);
	struct range r = range4(10, 0, 255, 0, 24);
	assert_true(range_equal(&ni.claims[255], &r));
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector46_encode),
		cmocka_unit_test(test_vector46_decode),
		cmocka_unit_test(test_vectors_a4),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_unknown_parts),
		cmocka_unit_test(test_meshvpn_part),
		cmocka_unit_test(test_repeated_and_long_parts),
		cmocka_unit_test(test_missing_node_id),
		cmocka_unit_test(test_truncated_entries),
		cmocka_unit_test(test_claim_addr_len),
		cmocka_unit_test(test_family_limit),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_decode_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

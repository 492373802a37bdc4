// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_nodeinfo.c - libFuzzer target for nodeinfo_decode(); whatever decodes is encoded
 * again (first NODEINFO_ENCODE_MAX_PEERS peers), decoded again and compared;
 * nodeinfo_meshvpn_flags() must agree with the decode.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/nodeinfo.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static struct nodeinfo a, b;
static uint8_t out[NODEINFO_MAX_ENCODED_LEN];

static void same_list(const struct nodeinfo_addrs *x, const struct nodeinfo_addrs *y)
{
	CHECK(x->n == y->n && x->v4_wire == y->v4_wire);
	for (unsigned i = 0; i < x->n; i++)
		CHECK(addr_equal(&x->a[i], &y->a[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	struct wr w;

	CHECK(p);
	memcpy(p, data, size);
	int err = nodeinfo_decode(&a, p, size);
	free(p);
	if (err) {
		CHECK(err == -EBADMSG || err == -EPROTO);
		return 0;
	}
	CHECK(a.flags & NODEINFO_HAS_NODE_ID);
	/* the cheap scan agrees with the full decode */
	CHECK(nodeinfo_meshvpn_flags(data, size) == a.meshvpn);
	CHECK(a.n_peers <= NODEINFO_MAX_PEERS && a.n_claims <= NODEINFO_MAX_CLAIMS);
	CHECK(a.addrs.n <= 2 * NODEINFO_MAX_PER_FAMILY);
	if (a.n_peers > NODEINFO_ENCODE_MAX_PEERS)
		a.n_peers = NODEINFO_ENCODE_MAX_PEERS;

	wr_init(&w, out, sizeof(out));
	CHECK(nodeinfo_encode(&a, &w) == 0);
	CHECK(nodeinfo_decode(&b, out, w.len) == 0);

	CHECK(memcmp(a.node_id, b.node_id, NODEINFO_NODE_ID_LEN) == 0);
	CHECK((a.flags & NODEINFO_HAS_PEER_TIMEOUT) == (b.flags & NODEINFO_HAS_PEER_TIMEOUT));
	CHECK(!(a.flags & NODEINFO_HAS_PEER_TIMEOUT) || a.peer_timeout == b.peer_timeout);
	CHECK(a.n_peers == b.n_peers);
	for (unsigned i = 0; i < a.n_peers; i++) {
		CHECK(a.peers[i].flags == b.peers[i].flags);
		if (a.peers[i].flags & NODEINFO_PEER_HAS_NODE_ID)
			CHECK(memcmp(a.peers[i].node_id, b.peers[i].node_id,
				     NODEINFO_NODE_ID_LEN) == 0);
		same_list(&a.peers[i].addrs, &b.peers[i].addrs);
	}
	CHECK(a.n_claims == b.n_claims);
	for (unsigned i = 0; i < a.n_claims; i++)
		CHECK(range_equal(&a.claims[i], &b.claims[i]));
	same_list(&a.addrs, &b.addrs);
	CHECK(a.meshvpn == b.meshvpn);

	/* a canonical encoding is a fixed point */
	size_t n = w.len;
	uint8_t again[NODEINFO_MAX_ENCODED_LEN];
	wr_init(&w, again, sizeof(again));
	CHECK(nodeinfo_encode(&b, &w) == 0);
	CHECK(w.len == n && memcmp(again, out, n) == 0);
	return 0;
}

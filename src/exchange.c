// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * exchange.c - what the node tells its peers and learns from them: the own NodeInfo with its
 * peer list (PROTOCOL.md 4.5), received NodeInfo, claims and peer exchange (5.6).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/log.h"
#include "node_int.h"

/* ---- the own NodeInfo, with a peer list ---- */

static size_t encode(struct node *n, uint8_t *out)
{
	struct nodeinfo *ni = n->ni_build;
	size_t it = 0, seen = 0;

	own_nodeinfo(n, ni);
	/* at most 20 peers: a uniform random subset (reservoir sampling) */
	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it)) {
		size_t slot = seen++;
		if (slot >= NODEINFO_ENCODE_MAX_PEERS) {
			slot = randombytes_uniform((uint32_t)seen);
			if (slot >= NODEINFO_ENCODE_MAX_PEERS)
				continue;
		} else {
			ni->n_peers++;
		}
		struct nodeinfo_peer *e = &ni->peers[slot];
		memset(e, 0, sizeof(*e));
		if (p->has_node_id) {
			e->flags = NODEINFO_PEER_HAS_NODE_ID;
			memcpy(e->node_id, p->node_id, NODE_ID_LEN);
		}
		e->addrs = p->addrs;
	}
	return own_nodeinfo_encode(ni, out);
}

static void send_nodeinfo(struct node *n, struct peer *p, size_t len)
{
	buf_reset(&n->ctl, NODE_HEADROOM);
	uint8_t *d = buf_put(&n->ctl, (uint32_t)len + 1);
	d[0] = FRAME_TYPE_NODE_INFO;
	memcpy(d + 1, n->nodeinfo_buf, len);
	send_ctl(n, p);
}

void exchange_send_nodeinfo(struct node *n, struct peer *p)
{
	send_nodeinfo(n, p, encode(n, n->nodeinfo_buf));
}

void exchange_broadcast(struct node *n)
{
	size_t len = 0, it = 0;

	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it)) {
		if (!session_is_established(p->sess))
			continue;
		if (!len) /* once per round (the peer subset is random per round, not per peer) */
			len = encode(n, n->nodeinfo_buf);
		send_nodeinfo(n, p, len);
	}
}

bool exchange_payload_ok(const uint8_t *payload, size_t len, void *arg)
{
	struct node *n = arg;
	/* a handshake whose NodeInfo does not decode fails (PROTOCOL.md 2.6) */
	return nodeinfo_decode(n->ni_scratch, payload, len) == 0;
}

/* ---- received NodeInfo (PROTOCOL.md 5.6) ---- */

static bool node_id_is_peer(struct node *n, const uint8_t id[NODE_ID_LEN])
{
	size_t it = 0;
	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it))
		if (p->has_node_id && memcmp(p->node_id, id, NODE_ID_LEN) == 0)
			return true;
	return false;
}

static void store_claims(struct node *n, struct peer *p, const struct nodeinfo *ni)
{
	char as[ADDR_STRLEN];

	if (table_set_claims(&n->table, p->id, ni->claims, ni->n_claims, n->now,
			     n->now + n->cfg->peer_timeout) < 0)
		log_rl(LOG_WARN, "cannot store the claims of %s", addr_format(&p->addr, as));
	if (ni->flags & NODEINFO_TRUNCATED)
		log_rl(LOG_WARN, "%s announces more than %d claims or %d peers; the rest is ignored",
		       addr_format(&p->addr, as), NODEINFO_MAX_CLAIMS, NODEINFO_MAX_PEERS);
	if (ni->n_claims == p->n_claims &&
	    (!ni->n_claims || !memcmp(ni->claims, p->claims, ni->n_claims * sizeof(*p->claims))))
		return;
	struct range *c = NULL;
	if (ni->n_claims && !(c = malloc(ni->n_claims * sizeof(*c))))
		return;
	if (c)
		memcpy(c, ni->claims, ni->n_claims * sizeof(*c));
	free(p->claims);
	p->claims = c;
	p->n_claims = ni->n_claims;
}

void exchange_nodeinfo(struct node *n, struct peer *p, const uint8_t *data, size_t len)
{
	struct nodeinfo *ni = n->ni_scratch;
	char as[ADDR_STRLEN];

	if (nodeinfo_decode(ni, data, len) < 0) {
		stats_count(&n->stats.invalid_dropped.in, len);
		log_rl(LOG_DEBUG, "malformed NODE_INFO from %s", addr_format(&p->addr, as));
		return;
	}
	p->timeout = n->now + n->cfg->peer_timeout;
	p->has_node_id = true;
	memcpy(p->node_id, ni->node_id, NODE_ID_LEN);
	p->peer_timeout = (ni->flags & NODEINFO_HAS_PEER_TIMEOUT) ? ni->peer_timeout
								   : CONFIG_DEFAULT_PEER_TIMEOUT;
	memset(&p->addrs, 0, sizeof(p->addrs));
	nodeinfo_addrs_add(&p->addrs, &p->addr, false);
	for (unsigned i = 0; i < ni->addrs.n; i++)
		nodeinfo_addrs_add_unique(&p->addrs, &ni->addrs.a[i], ni->addrs.v4_wire >> i & 1);
	store_claims(n, p, ni);

	/* peer exchange: connect to whom the peer knows (full mesh, NAT hole punching) */
	for (unsigned i = 0; i < ni->n_peers; i++) {
		const struct nodeinfo_peer *e = &ni->peers[i];
		bool known = false;
		for (unsigned k = 0; k < e->addrs.n && !known; k++)
			known = peer_find(n, &e->addrs.a[k]) != NULL;
		if (known)
			continue;
		if ((e->flags & NODEINFO_PEER_HAS_NODE_ID) &&
		    memcmp(e->node_id, n->node_id, NODE_ID_LEN) == 0) {
			/* that is us: learn our address as others see it (NAT) */
			for (unsigned k = 0; k < e->addrs.n; k++)
				if (!own_is_addr(n, &e->addrs.a[k]))
					own_add_addr(n, &e->addrs.a[k],
							  e->addrs.v4_wire >> k & 1);
			continue;
		}
		if ((e->flags & NODEINFO_PEER_HAS_NODE_ID) && node_id_is_peer(n, e->node_id))
			continue;
		peer_connect_list(n, e->addrs.a, e->addrs.n);
	}
}

void exchange_established(struct node *n, struct peer *p, const uint8_t *ni, size_t len)
{
	char as[ADDR_STRLEN];

	log_info("Connected to %s (%s)", addr_format(&p->addr, as), session_algo_name(p->sess));
	exchange_nodeinfo(n, p, ni, len); /* ni is owned by p->sess: p must stay */
	peers_hook(n, CONFIG_HOOK_PEER_CONNECTED, &p->addr, p);
	/*
	 * Our full NodeInfo (the handshake's has no peer list) and a KEEPALIVE: meshvpn nodes
	 * send them (VpnCloud 2.3 accepts and never sends them), and the first one tells the
	 * peer that we answer DATA, so silence from us would mean trouble (node_tick).
	 */
	exchange_send_nodeinfo(n, p);
	send_keepalive(n, p);
	/* tell the others about the new peer soon, not only at the next NODE_INFO round */
	if (n->next_nodeinfo > n->now + 1)
		n->next_nodeinfo = n->now + 1;
}

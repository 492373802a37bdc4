// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * exchange.c - what the node tells its peers and learns from them: the own NodeInfo with its
 * peer list (PROTOCOL.md 4.5), received NodeInfo, claims and peer exchange (5.6), and
 * beacons (7): own addresses published, loaded addresses connected to.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/beacon.h"
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
		if (p->client)
			continue; /* a hub's clients only know the hub, not each other */
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

static void store_claims(struct node *n, struct peer *p, struct nodeinfo *ni)
{
	char as[ADDR_STRLEN];

	if (p->client) {
		/* a hub's client claims its own address, nothing else (no hijacking) */
		unsigned k = 0;
		for (unsigned i = 0; i < ni->n_claims; i++) {
			const struct range *r = &ni->claims[i];
			if (r->base.len == 4 && r->prefix == 32 && !memcmp(r->base.b, p->client->ip, 4))
				ni->claims[k++] = *r;
		}
		if (k < ni->n_claims)
			log_rl(LOG_WARN, "client %s claims more than its address; ignored",
			       p->client->id);
		ni->n_claims = (uint16_t)k;
	}
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
		stats_invalid(&n->stats, STATS_INV_NODEINFO, len);
		log_rl(LOG_DEBUG, "malformed NODE_INFO from %s", addr_format(&p->addr, as));
		return;
	}
	p->timeout = n->now + n->cfg->peer_timeout;
	p->has_node_id = true;
	memcpy(p->node_id, ni->node_id, NODE_ID_LEN);
	p->peer_timeout = (ni->flags & NODEINFO_HAS_PEER_TIMEOUT) ? ni->peer_timeout
								   : CONFIG_DEFAULT_PEER_TIMEOUT;
	p->via_proxy = ni->meshvpn & NODEINFO_MESHVPN_WEBSOCKET;
	memset(&p->addrs, 0, sizeof(p->addrs));
	nodeinfo_addrs_add(&p->addrs, &p->addr, false);
	p->addr_announced = false;
	for (unsigned i = 0; i < ni->addrs.n && !p->addr_announced; i++)
		p->addr_announced = addr_equal(&ni->addrs.a[i], &p->addr);
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
		/*
		 * Learnt addresses get at most half of our handshake slots: however many a peer
		 * advertises (dead ones are tried for two minutes), configured peers and
		 * re-handshakes keep the other half. They come again with its next NodeInfo.
		 */
		if (n->n_pending - n->n_responders >= NODE_MAX_INITIATORS / 2)
			break;
		peer_connect_list(n, e->addrs.a, e->addrs.n);
	}
}

void exchange_established(struct node *n, struct peer *p, const uint8_t *ni, size_t len)
{
	char as[ADDR_STRLEN];

	log_info("Connected to %s (%s)", addr_format(&p->addr, as), session_algo_name(p->sess));
	peers_event(n, NODE_EVENT_PEER_UP, p, NULL);
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

/* ---- beacons (PROTOCOL.md 7): stored with own addresses, loaded into connects ---- */

static uint16_t now_hour(struct node *n)
{
	return beacon_hour((uint64_t)n->now); /* the monotonic clock, as VpnCloud writes it */
}

static void beacon_store(struct node *n)
{
	const struct nodeinfo_addrs *own = &n->own_addrs;
	struct addr pick[BEACON_MAX_ADDRS];
	struct beacon_text t;
	char vars[4][BEACONIO_VAR_LEN];
	size_t k = 0;

	/* up to three own addresses chosen at random (partial Fisher-Yates over indices) */
	unsigned idx[NODEINFO_MAX_ADDRS];
	for (unsigned i = 0; i < own->n; i++)
		idx[i] = i;
	for (; k < BEACON_MAX_ADDRS && k < own->n; k++) {
		unsigned j = (unsigned)k + randombytes_uniform(own->n - (uint32_t)k);
		unsigned tmp = idx[k];
		idx[k] = idx[j];
		idx[j] = tmp;
		pick[k] = own->a[idx[k]];
	}
	if (beacon_encode_text(&t, n->cfg->beacon_password, now_hour(n), pick, k) < 0)
		return;
	snprintf(vars[0], sizeof(vars[0]), "begin=%s", t.begin);
	snprintf(vars[1], sizeof(vars[1]), "data=%s", t.data);
	snprintf(vars[2], sizeof(vars[2]), "end=%s", t.end);
	snprintf(vars[3], sizeof(vars[3]), "beacon=%s", t.beacon);
	const char *v[] = {vars[0], vars[1], vars[2], vars[3]};
	int r = beaconio_store(n->beaconio, n->cfg->beacon_store, t.beacon, v, ARRAY_SIZE(v));
	if (r < 0)
		log_rl(LOG_WARN, "cannot store a beacon now: %s", strerror(-r));
	else
		log_debug("Storing a beacon with %zu addresses", k);
}

static void beacon_load(struct node *n)
{
	struct beacon_markers m;
	char vars[2][BEACONIO_VAR_LEN];

	beacon_markers(&m, n->cfg->beacon_password);
	snprintf(vars[0], sizeof(vars[0]), "begin=%s", m.begin);
	snprintf(vars[1], sizeof(vars[1]), "end=%s", m.end);
	const char *v[] = {vars[0], vars[1]};
	int r = beaconio_load(n->beaconio, n->cfg->beacon_load, v, ARRAY_SIZE(v));
	if (r < 0)
		log_rl(LOG_WARN, "cannot load beacons now: %s", strerror(-r));
}

void exchange_beacons(struct node *n)
{
	if (n->cfg->beacon_store)
		beacon_store(n);
	if (n->cfg->beacon_load)
		beacon_load(n);
}

/* Connects to every address in the loaded text; counts and logs what is not a beacon. */
static void beacon_loaded(struct node *n, const char *text, size_t len)
{
	struct addr found[EXCHANGE_BEACON_ADDRS];
	struct beacon_stats st;
	const char *src = n->cfg->beacon_load;
	size_t k = beacon_decode(n->cfg->beacon_password, text, len, now_hour(n), BEACON_TTL_NONE,
				 found, ARRAY_SIZE(found), &st);
	unsigned bad = st.candidates - st.count[BEACON_OK];

	if (!st.count[BEACON_OK]) {
		/* garbage, or beacons of another password (whose markers differ) */
		n->beacons_invalid++;
		log_rl(LOG_WARN, "no valid beacon in %s (%zu bytes, %u candidates); %llu so far", src,
		       len, st.candidates, (unsigned long long)n->beacons_invalid);
		return;
	}
	if (bad) {
		n->beacons_invalid += bad;
		log_rl(LOG_WARN, "ignored %u invalid beacon(s) in %s", bad, src);
	}
	n->beacons_loaded += st.count[BEACON_OK];
	log_debug("Loaded %u beacon(s) with %zu addresses from %s", st.count[BEACON_OK], k, src);
	for (size_t i = 0; i < k; i++)
		peer_connect(n, &found[i]);
}

void exchange_beacon_results(struct node *n)
{
	struct beaconio_result r;

	while (beaconio_take(n->beaconio, &r)) {
		if (r.err) {
			log_rl(LOG_WARN, "beacon %s failed: %s",
			       r.kind == BEACONIO_STORE ? "store" : "load", r.why);
		} else if (r.kind == BEACONIO_LOAD) {
			if (r.truncated)
				log_rl(LOG_WARN, "%s: only the first %d bytes are read for beacons",
				       n->cfg->beacon_load, BEACONIO_MAX_TEXT);
			beacon_loaded(n, r.text, r.len);
		}
		free(r.text);
	}
}

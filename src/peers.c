// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * peers.c - the peer and pending-handshake tables, connecting to addresses, the reconnect
 * back-off of configured peers (PROTOCOL.md 5.3-5.5), and the hooks fired for peers.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "meshvpn/log.h"
#include "node_int.h"

/* ---- paths ---- */

const char *peer_path_name(enum peer_path path)
{
	static const char *const names[] = {
	    [PEER_PATH_DIRECT] = "direct",
	    [PEER_PATH_HOLE_PUNCHED] = "hole-punched",
	    [PEER_PATH_UPNP] = "upnp",
	    [PEER_PATH_WEBSOCKET] = "websocket",
	};
	return (unsigned)path < ARRAY_SIZE(names) ? names[path] : "?";
}

/* True when a is in the same /24 (IPv4) or /64 (IPv6) as one of our own addresses. */
static bool on_lan(struct node *n, const struct addr *a)
{
	for (unsigned i = 0; i < n->own_addrs.n; i++)
		if (addr_is_v4(&n->own_addrs.a[i]) == addr_is_v4(a) &&
		    memcmp(n->own_addrs.a[i].ip, a->ip, addr_is_v4(a) ? 15 : 8) == 0)
			return true;
	return false;
}

/* We are behind a NAT: peers report an address of ours that no interface has. */
static bool behind_nat(struct node *n)
{
	for (unsigned i = 0; i < n->own_addrs.n; i++) {
		bool local = false;
		for (size_t k = 0; k < n->n_local_ips && !local; k++)
			local = memcmp(n->local_ips[k].ip, n->own_addrs.a[i].ip, 16) == 0;
		if (!local && !(n->upnp_mapped && addr_equal(&n->own_addrs.a[i], &n->upnp_ext)))
			return true;
	}
	return false;
}

static bool configured(struct node *n, const struct addr *a)
{
	for (size_t i = 0; i < n->n_reconnects; i++)
		for (int k = 0; k < n->reconnects[i].n_addrs; k++)
			if (addr_equal(&n->reconnects[i].addrs[k], a))
				return true;
	return false;
}

enum peer_path peer_path(struct node *n, const struct peer *p, char *why, size_t len)
{
	char as[ADDR_STRLEN], w[ADDR_STRLEN + 48] = "";
	enum peer_path path = PEER_PATH_DIRECT;

	if (n->udp == NULL) {
		path = PEER_PATH_WEBSOCKET;
		snprintf(w, sizeof(w), "all UDP goes through the WebSocket proxy");
	} else if (p->via_proxy) {
		path = PEER_PATH_WEBSOCKET;
		snprintf(w, sizeof(w), "the peer sends through a WebSocket proxy");
	} else if (!p->addr_announced && !configured(n, &p->addr) && behind_nat(n)) {
		path = PEER_PATH_HOLE_PUNCHED;
		snprintf(w, sizeof(w), "both sides behind NATs: this is the peer's mapped address");
	} else if (p->incoming && n->upnp_mapped && !on_lan(n, &p->addr)) {
		path = PEER_PATH_UPNP;
		snprintf(w, sizeof(w), "it came in through our mapping %s",
			 addr_format(&n->upnp_ext, as));
	}
	if (why && len)
		snprintf(why, len, "%s", w);
	return path;
}

/* ---- events for the management API ---- */

void peers_event(struct node *n, enum node_event_kind kind, const struct peer *p,
		 const char *reason)
{
	if (n->events_n == NODE_EVENTS) {
		n->events_dropped++;
		return;
	}
	struct node_event *e = &n->events[n->events_n++];
	e->kind = kind;
	e->addr = p->addr;
	snprintf(e->client, sizeof(e->client), "%s", p->client ? p->client->id : "");
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
	e->time = time(NULL);
}

/* ---- hooks (CONFIG.md 8.1) ---- */

void peers_hook(struct node *n, enum config_hook_event ev, const struct addr *peer,
		const struct peer *p)
{
	struct hooks_vars v = {.ifname = n->dev.ifname, .peer = peer};

	if (!hooks_script(n->hooks, ev))
		return;
	if (p) {
		v.claims = p->claims;
		v.n_claims = p->n_claims;
		v.node_id = p->has_node_id ? p->node_id : NULL;
	}
	(void)hooks_fire(n->hooks, ev, &v); /* failures are logged there */
}

/* ---- the tables ---- */

static size_t bucket(const struct addr *a)
{
	return addr_hash(a) % NODE_HASH_BUCKETS;
}

struct peer *peer_find(struct node *n, const struct addr *a)
{
	for (struct peer *p = n->peer_hash[bucket(a)]; p; p = p->hnext)
		if (addr_equal(&p->addr, a))
			return p;
	return NULL;
}

struct peer *peer_by_id(struct node *n, uint32_t id)
{
	if (id == 0 || id > n->n_slots)
		return NULL;
	return n->slots[id - 1];
}

struct peer *peer_next(struct node *n, size_t *it)
{
	while (*it < n->n_slots) {
		struct peer *p = n->slots[(*it)++];
		if (p)
			return p;
	}
	return NULL;
}

struct pending *pending_find(struct node *n, const struct addr *a)
{
	for (struct pending *pd = n->pending_hash[bucket(a)]; pd; pd = pd->hnext)
		if (addr_equal(&pd->addr, a))
			return pd;
	return NULL;
}

static int take_slot(struct node *n, uint32_t *id)
{
	for (size_t i = 0; i < n->n_slots; i++) {
		if (!n->slots[i]) {
			*id = (uint32_t)i + 1;
			return 0;
		}
	}
	size_t grown = n->n_slots ? 2 * n->n_slots : 64;
	struct peer **s = realloc(n->slots, grown * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + n->n_slots, 0, (grown - n->n_slots) * sizeof(*s));
	*id = (uint32_t)n->n_slots + 1;
	n->slots = s;
	n->n_slots = grown;
	return 0;
}

struct peer *peer_add(struct node *n, const struct addr *a, struct session *sess)
{
	struct peer *old = peer_find(n, a);
	struct peer *p;
	uint32_t id;

	if (old)
		peer_remove(n, old, false, "replaced by a new session");
	p = calloc(1, sizeof(*p));
	if (!p || take_slot(n, &id) < 0) {
		log_err("out of memory adding a peer");
		free(p);
		session_free(sess);
		return NULL;
	}
	p->id = id;
	p->addr = *a;
	p->sess = sess;
	p->peer_timeout = CONFIG_DEFAULT_PEER_TIMEOUT;
	p->timeout = n->now + n->cfg->peer_timeout;
	p->last_rx = p->last_tx = p->last_rehandshake = p->established = n->now;
	p->since = time(NULL);
	telemetry_init(&p->tel, 0);
	p->next_probe = n->now + 1;
	nodeinfo_addrs_add(&p->addrs, a, false);
	n->slots[id - 1] = p;
	size_t b = bucket(a);
	p->hnext = n->peer_hash[b];
	n->peer_hash[b] = p;
	n->n_peers++;
	return p;
}

void peer_remove(struct node *n, struct peer *p, bool close, const char *why)
{
	char as[ADDR_STRLEN];

	if (close && session_is_established(p->sess)) {
		buf_reset(&n->ctl, NODE_HEADROOM);
		*buf_put(&n->ctl, 1) = FRAME_TYPE_CLOSE;
		send_ctl(n, p);
	}
	log_info("Peer %s disconnected: %s", addr_format(&p->addr, as), why);
	if (p->client) {
		p->client->connections--;
		peers_event(n, NODE_EVENT_CLIENT_DISCONNECTED, p, why);
	}
	peers_event(n, NODE_EVENT_PEER_DOWN, p, why);
	table_remove_peer(&n->table, p->id);
	for (struct peer **pp = &n->peer_hash[bucket(&p->addr)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == p) {
			*pp = p->hnext;
			break;
		}
	}
	n->slots[p->id - 1] = NULL;
	n->n_peers--;
	free(p->claims);
	session_free(p->sess);
	free(p);
}

int pending_add(struct node *n, const struct addr *a, struct session *sess, bool responder,
		struct pending **out)
{
	struct pending *pd;

	*out = NULL;
	/* separate limits: strangers' handshakes cannot crowd out our own connections */
	if (responder ? n->n_responders >= NODE_MAX_RESPONDERS
		      : n->n_pending - n->n_responders >= NODE_MAX_INITIATORS)
		return -ENOSPC;
	pd = calloc(1, sizeof(*pd));
	if (!pd)
		return -ENOMEM;
	pd->addr = *a;
	pd->sess = sess;
	pd->responder = responder;
	n->n_responders += responder;
	size_t b = bucket(a);
	pd->hnext = n->pending_hash[b];
	n->pending_hash[b] = pd;
	n->n_pending++;
	*out = pd;
	return 0;
}

void pending_remove(struct node *n, struct pending *pd)
{
	for (struct pending **pp = &n->pending_hash[bucket(&pd->addr)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == pd) {
			*pp = pd->hnext;
			break;
		}
	}
	n->n_pending--;
	n->n_responders -= pd->responder;
	session_free(pd->sess);
	free(pd);
}

bool peer_addr_known(struct node *n, const struct addr *a)
{
	return own_is_addr(n, a) || peer_find(n, a) || pending_find(n, a);
}

static void start_handshake(struct node *n, const struct addr *a)
{
	char as[ADDR_STRLEN];
	struct session *s = NULL;
	struct pending *pd;
	size_t len;
	const uint8_t *ni;

	if (n->n_pending - n->n_responders >= NODE_MAX_INITIATORS) {
		log_rl(LOG_WARN, "too many handshakes in progress; not connecting to %s",
		       addr_format(a, as));
		return;
	}
	ni = own_handshake_nodeinfo(n, &len);
	buf_reset(&n->ctl, NODE_HEADROOM);
	if (session_new_initiator(n->sctx, ni, len, &s, &n->ctl) < 0) {
		log_warn("cannot start a handshake with %s", addr_format(a, as));
		return;
	}
	if (pending_add(n, a, s, false, &pd) < 0) {
		log_rl(LOG_WARN, "too many handshakes in progress; not connecting to %s",
		       addr_format(a, as));
		session_free(s);
		return;
	}
	log_debug("Sending handshake to %s", addr_format(a, as));
	send_raw(n, &n->ctl, a, &pd->traffic);
}

void peer_connect(struct node *n, const struct addr *a)
{
	if (peer_addr_known(n, a) || addr_is_unspecified(a) || a->port == 0)
		return;
	start_handshake(n, a);
}

void peer_rehandshake(struct node *n, struct peer *p, const char *why)
{
	char as[ADDR_STRLEN];

	if (pending_find(n, &p->addr))
		return;
	p->last_rehandshake = n->now;
	log_info("Peer %s: %s; handshaking again", addr_format(&p->addr, as), why);
	start_handshake(n, &p->addr);
}

void peer_connect_list(struct node *n, const struct addr *list, size_t count)
{
	char as[ADDR_STRLEN];

	for (size_t i = 0; i < count; i++)
		if (peer_addr_known(n, &list[i]))
			return;
	if (count) {
		log_info("Connecting to %s", addr_format(&list[0], as));
		peers_hook(n, CONFIG_HOOK_PEER_CONNECTING, &list[0], NULL);
	}
	for (size_t i = 0; i < count; i++)
		peer_connect(n, &list[i]);
}

/* ---- configured peers: resolve, connect, back off (PROTOCOL.md 5.5) ---- */

static bool is_numeric(const char *text, struct addr *out)
{
	char host[256];
	uint16_t port;

	if (addr_split_host_port(text, ADDR_DEFAULT_PORT, host, sizeof(host), &port) < 0)
		return false;
	return addr_parse(host, port, out) == 0 && !addr_is_unspecified(out);
}

static void resolve_entry(struct node *n, size_t i)
{
	struct reconnect *e = &n->reconnects[i];

	if (e->resolving)
		return;
	if (resolver_submit(n->resolver, RESOLVE_TAG(RESOLVE_KIND_RECONNECT, i), e->text,
			    ADDR_DEFAULT_PORT) == 0) {
		e->resolving = true;
		e->next_resolve = n->now + NODE_RESOLVE_SECS;
	} else {
		e->next_resolve = n->now + 1; /* queue full: try again next tick */
	}
}

void reconnect_init(struct node *n)
{
	const struct config_strlist *peers = &n->cfg->peers;

	n->reconnects = calloc(peers->n ? peers->n : 1, sizeof(*n->reconnects));
	if (!n->reconnects)
		fatal("out of memory");
	n->n_reconnects = peers->n;
	for (size_t i = 0; i < peers->n; i++) {
		struct reconnect *e = &n->reconnects[i];
		e->text = peers->v[i];
		e->interval = 1;
		e->next = n->now;
		if (is_numeric(e->text, &e->addrs[0])) {
			e->n_addrs = 1;
			e->next_resolve = INT64_MAX; /* nothing to resolve, ever */
		} else {
			resolve_entry(n, i);
		}
	}
}

void reconnect_resolved(struct node *n, size_t idx, const struct addr *addrs, int count)
{
	struct reconnect *e;

	if (idx >= n->n_reconnects)
		return;
	e = &n->reconnects[idx];
	e->resolving = false;
	if (count < 0) {
		/* VpnCloud exits here at start-up; we keep trying (PROTOCOL.md 11 item 12) */
		log_warn("Cannot resolve peer %s: %s; trying again in 10 s", e->text,
			 count == -ENOENT ? "no such host" : strerror(-count));
		e->next_resolve = n->now + 10;
		return;
	}
	e->n_addrs = MIN(count, (int)ARRAY_SIZE(e->addrs));
	memcpy(e->addrs, addrs, (size_t)e->n_addrs * sizeof(*addrs));
	if (e->next <= n->now)
		peer_connect_list(n, e->addrs, (size_t)e->n_addrs);
}

void reconnect_tick(struct node *n)
{
	for (size_t i = 0; i < n->n_reconnects; i++) {
		struct reconnect *e = &n->reconnects[i];
		if (e->next <= n->now && e->n_addrs)
			peer_connect_list(n, e->addrs, (size_t)e->n_addrs);
	}
	for (size_t i = 0; i < n->n_reconnects; i++) {
		struct reconnect *e = &n->reconnects[i];
		for (int k = 0; k < e->n_addrs; k++) {
			if (peer_find(n, &e->addrs[k])) {
				e->tries = 0;
				e->interval = 1;
				e->next = n->now + 1;
				break;
			}
		}
		if (e->next_resolve <= n->now)
			resolve_entry(n, i);
		if (e->next > n->now)
			continue;
		if (++e->tries > 10) {
			e->tries = 0;
			e->interval *= 2;
		}
		if (e->interval > NODE_RECONNECT_MAX_INTERVAL)
			e->interval = NODE_RECONNECT_MAX_INTERVAL;
		e->next = n->now + e->interval;
	}
}

void reconnect_kick(struct node *n)
{
	for (size_t i = 0; i < n->n_reconnects; i++) {
		struct reconnect *e = &n->reconnects[i];
		e->tries = 0;
		e->interval = 1;
		e->next = n->now + 1;
		if (e->n_addrs)
			peer_connect_list(n, e->addrs, (size_t)e->n_addrs);
	}
}

void peers_free(struct node *n)
{
	for (size_t b = 0; b < NODE_HASH_BUCKETS; b++) {
		while (n->pending_hash[b])
			pending_remove(n, n->pending_hash[b]);
	}
	for (size_t i = 0; i < n->n_slots; i++) {
		struct peer *p = n->slots[i];
		if (p) {
			free(p->claims);
			session_free(p->sess);
			free(p);
		}
	}
	free(n->slots);
	n->slots = NULL;
	n->n_slots = 0;
	free(n->reconnects);
	n->reconnects = NULL;
}

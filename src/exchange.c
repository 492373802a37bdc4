// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * exchange.c - what the node tells its peers and learns from them: own addresses
 * (PROTOCOL.md 5.8) including those UPnP finds (9), the own NodeInfo (4.5), received NodeInfo
 * and peer exchange (5.6).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "meshvpn/log.h"
#include "node_int.h"

/* ---- own addresses ---- */

bool node_is_own_addr(struct node *n, const struct addr *a)
{
	for (unsigned i = 0; i < n->own_addrs.n; i++)
		if (addr_equal(&n->own_addrs.a[i], a))
			return true;
	/* any local interface address on our port is us as well */
	if (a->port != n->listen_port)
		return false;
	for (size_t i = 0; i < n->n_local_ips; i++)
		if (memcmp(n->local_ips[i].ip, a->ip, 16) == 0)
			return true;
	return false;
}

void node_add_own_addr(struct node *n, const struct addr *a, bool v4_wire)
{
	if (nodeinfo_addrs_contains(&n->own_addrs, a, v4_wire))
		return;
	if (nodeinfo_addrs_add(&n->own_addrs, a, v4_wire))
		n->hs_nodeinfo_len = 0; /* the cached handshake NodeInfo is stale */
}

/* The source address the kernel would use towards the internet (no packet is sent). */
static bool primary_address(int family, struct addr *out)
{
	struct sockaddr_storage ss;
	struct addr probe;
	socklen_t len;
	bool ok;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	/* 8.8.8.8 / 2001:4860:4860::8888 as VpnCloud; connect() on UDP sends nothing */
	ok = addr_parse(family == AF_INET ? "8.8.8.8:53" : "[2001:4860:4860::8888]:53", 53,
			&probe) == 0;
	len = addr_to_sockaddr(&probe, &ss, family);
	if (ok && connect(fd, (struct sockaddr *)&ss, len) == 0) {
		len = sizeof(ss);
		ok = getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
		     addr_from_sockaddr(out, (struct sockaddr *)&ss, len) == 0;
	} else {
		ok = false;
	}
	close(fd);
	return ok;
}

static void collect_local_ips(struct node *n)
{
	struct ifaddrs *ifa = NULL;

	n->n_local_ips = 0;
	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i && n->n_local_ips < NODE_MAX_LOCAL_IPS; i = i->ifa_next) {
		struct addr a;
		if (!i->ifa_addr || addr_from_sockaddr(&a, i->ifa_addr, sizeof(struct sockaddr_in6)) < 0)
			continue;
		n->local_ips[n->n_local_ips++] = a;
	}
	freeifaddrs(ifa);
}

void node_rebuild_own_addrs(struct node *n)
{
	const struct config *cfg = n->cfg;
	struct addr a;

	memset(&n->own_addrs, 0, sizeof(n->own_addrs));
	n->hs_nodeinfo_len = 0;
	for (size_t i = 0; i < cfg->advertise_addresses.n; i++) {
		char host[256];
		uint16_t port;
		const char *s = cfg->advertise_addresses.v[i];
		if (addr_split_host_port(s, n->listen_port, host, sizeof(host), &port) == 0 &&
		    addr_parse(host, port, &a) == 0) {
			/* configured IPv4 addresses travel as IPv4 entries, as in the reference */
			node_add_own_addr(n, &a, addr_is_v4(&a));
		} else if (resolver_submit(n->resolver, RESOLVE_TAG(RESOLVE_KIND_ADVERTISE, i), s,
					   n->listen_port) < 0) {
			log_warn("cannot resolve advertise address %s now", s);
		}
	}
	/*
	 * The socket address with the host's primary address (the reference probes IPv4 only
	 * from 2.4 on); when bound to one address, that one. Both travel as IPv6 entries.
	 */
	if (!addr_is_unspecified(&n->net.local)) {
		node_add_own_addr(n, &n->net.local, false);
	} else {
		for (int fam = 0; fam < 2; fam++) {
			if (primary_address(fam ? AF_INET6 : AF_INET, &a)) {
				a.port = n->listen_port;
				node_add_own_addr(n, &a, false);
			}
		}
	}
	if (n->upnp_mapped) { /* internal and external address, as IPv4 entries */
		node_add_own_addr(n, &n->upnp_int, true);
		node_add_own_addr(n, &n->upnp_ext, true);
	}
	collect_local_ips(n);
	n->next_own_addrs = n->now + NODE_ADDR_RESET_SECS;
}

/* ---- UPnP port forwarding (PROTOCOL.md 9): the worker and the addresses it finds ---- */

void node_portfwd_start(struct node *n, uint32_t lease)
{
	struct portfwd_params p = {.port = n->listen_port, .bind = n->net.local, .lease = lease};
	char as[ADDR_STRLEN];
	int r;

	if (!addr_is_unspecified(&n->net.local) && !addr_is_v4(&n->net.local)) {
		log_info("Port forwarding: UPnP maps IPv4 only; not used on %s",
			 addr_format(&n->net.local, as));
		return;
	}
	r = portfwd_start(&p, &n->portfwd);
	if (r < 0) {
		log_warn("Port forwarding: cannot start: %s", strerror(-r));
		return;
	}
	portfwd_src(n->portfwd)->kind = NODE_SRC_PORTFWD;
	r = loop_add(&n->loop, portfwd_src(n->portfwd), EPOLLIN);
	if (r < 0) {
		log_warn("Port forwarding: cannot register with epoll: %s", strerror(-r));
		portfwd_free(n->portfwd);
		n->portfwd = NULL;
	}
}

void node_portfwd_stop(struct node *n)
{
	char as[ADDR_STRLEN];
	int code = 0;

	if (!n->portfwd)
		return;
	int r = portfwd_stop(n->portfwd, PORTFWD_STOP_MS, &code);
	if (r == 1) /* the worker may have mapped it before its report was read */
		log_info("Port forwarding: removed the mapping of %s",
			 n->upnp_mapped ? addr_format(&n->upnp_ext, as) : "the listen port");
	else if (r == -EREMOTEIO)
		log_warn("Port forwarding: the gateway did not remove the mapping (error %d)",
			 code);
	else if (r == -ETIMEDOUT)
		log_warn("Port forwarding: no answer from the gateway within %u ms; the mapping "
			 "expires with its lease",
			 PORTFWD_STOP_MS);
}

void node_portfwd_events(struct node *n)
{
	struct portfwd_event ev;
	char as[ADDR_STRLEN];

	while (portfwd_take(n->portfwd, &ev)) {
		switch (ev.kind) {
		case PORTFWD_EV_MAPPED: {
			bool moved = n->upnp_mapped && (!addr_equal(&n->upnp_ext, &ev.external) ||
							!addr_equal(&n->upnp_int, &ev.internal));
			n->upnp_int = ev.internal;
			n->upnp_ext = ev.external;
			n->upnp_mapped = true;
			if (moved) {
				node_rebuild_own_addrs(n); /* drops the old external address */
			} else {
				node_add_own_addr(n, &n->upnp_int, true);
				node_add_own_addr(n, &n->upnp_ext, true);
			}
			n->next_nodeinfo = n->now; /* tell the peers now, not a round later */
			if (ev.lease)
				log_info("Port forwarding: external address %s (lease %u s)",
					 addr_format(&ev.external, as), ev.lease);
			else
				log_info("Port forwarding: external address %s (permanent lease)",
					 addr_format(&ev.external, as));
			break;
		}
		case PORTFWD_EV_REFRESHED:
			log_debug("Port forwarding: renewed %s (lease %u s)",
				  addr_format(&ev.external, as), ev.lease);
			break;
		case PORTFWD_EV_LOST:
			n->upnp_mapped = false; /* no longer announced after the next rebuild */
			log_warn("Port forwarding: mapping lost: %s; retrying every %u s", ev.why,
				 PORTFWD_RETRY_SECS);
			break;
		case PORTFWD_EV_NO_IGD:
			log_info("Port forwarding: %s; continuing without", ev.why);
			break;
		case PORTFWD_EV_FAILED:
			log_warn("Port forwarding failed: %s; continuing without", ev.why);
			break;
		}
	}
}

/* ---- the own NodeInfo ---- */

static size_t encode(struct node *n, bool with_peers, uint8_t *out)
{
	struct nodeinfo *ni = n->ni_build;
	struct wr w;
	size_t it = 0, seen = 0;

	memset(ni, 0, sizeof(*ni));
	ni->flags = NODEINFO_HAS_NODE_ID | NODEINFO_HAS_PEERS | NODEINFO_HAS_CLAIMS |
		    NODEINFO_HAS_PEER_TIMEOUT | NODEINFO_HAS_ADDRS;
	memcpy(ni->node_id, n->node_id, NODE_ID_LEN);
	/* at most 20 peers: a uniform random subset (reservoir sampling) */
	for (struct peer *p = with_peers ? peer_next(n, &it) : NULL; p; p = peer_next(n, &it)) {
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
	ni->n_claims = (uint16_t)MIN(n->n_claims, (size_t)NODEINFO_MAX_CLAIMS);
	memcpy(ni->claims, n->claims, ni->n_claims * sizeof(*n->claims));
	ni->peer_timeout = (uint16_t)MIN(n->cfg->peer_timeout, 65535u);
	ni->addrs = n->own_addrs;
	wr_init(&w, out, NODEINFO_MAX_ENCODED_LEN);
	if (nodeinfo_encode(ni, &w) < 0)
		bug("own NodeInfo does not encode");
	return w.len;
}

/*
 * The NodeInfo inside handshakes carries no peer list: it is built once (until the own
 * addresses change) instead of for every PING, and a PONG to a replayed PING stays small.
 * The full NodeInfo follows as a NODE_INFO message right after the handshake.
 */
const uint8_t *node_handshake_nodeinfo(struct node *n, size_t *len)
{
	if (!n->hs_nodeinfo_len)
		n->hs_nodeinfo_len = encode(n, false, n->hs_nodeinfo_buf);
	*len = n->hs_nodeinfo_len;
	return n->hs_nodeinfo_buf;
}

static void send_nodeinfo(struct node *n, struct peer *p, size_t len)
{
	buf_reset(&n->ctl, NODE_HEADROOM);
	uint8_t *d = buf_put(&n->ctl, (uint32_t)len + 1);
	d[0] = FRAME_TYPE_NODE_INFO;
	memcpy(d + 1, n->nodeinfo_buf, len);
	forward_send_ctl(n, p);
}

void node_send_nodeinfo(struct node *n, struct peer *p)
{
	send_nodeinfo(n, p, encode(n, true, n->nodeinfo_buf));
}

void node_broadcast_nodeinfo(struct node *n)
{
	size_t len = 0, it = 0;

	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it)) {
		if (!session_is_established(p->sess))
			continue;
		if (!len) /* once per round (the peer subset is random per round, not per peer) */
			len = encode(n, true, n->nodeinfo_buf);
		send_nodeinfo(n, p, len);
	}
}

bool node_payload_ok(const uint8_t *payload, size_t len, void *arg)
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

void node_handle_nodeinfo(struct node *n, struct peer *p, const uint8_t *data, size_t len)
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
				if (!node_is_own_addr(n, &e->addrs.a[k]))
					node_add_own_addr(n, &e->addrs.a[k],
							  e->addrs.v4_wire >> k & 1);
			continue;
		}
		if ((e->flags & NODEINFO_PEER_HAS_NODE_ID) && node_id_is_peer(n, e->node_id))
			continue;
		peer_connect_list(n, e->addrs.a, e->addrs.n);
	}
}

void node_peer_established(struct node *n, struct peer *p, const uint8_t *ni, size_t len)
{
	char as[ADDR_STRLEN];

	log_info("Connected to %s (%s)", addr_format(&p->addr, as), session_algo_name(p->sess));
	node_handle_nodeinfo(n, p, ni, len); /* ni is owned by p->sess: p must stay */
	node_hook(n, CONFIG_HOOK_PEER_CONNECTED, &p->addr, p);
	/*
	 * Our full NodeInfo (the handshake's has no peer list) and a KEEPALIVE: meshvpn nodes
	 * send them (VpnCloud 2.3 accepts and never sends them), and the first one tells the
	 * peer that we answer DATA, so silence from us would mean trouble (node_tick).
	 */
	node_send_nodeinfo(n, p);
	forward_send_keepalive(n, p);
	/* tell the others about the new peer soon, not only at the next NODE_INFO round */
	if (n->next_nodeinfo > n->now + 1)
		n->next_nodeinfo = n->now + 1;
}

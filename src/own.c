// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * own.c - the node itself as its peers see it: own addresses (PROTOCOL.md 5.8) including
 * those UPnP finds (9) and those peers report back (NAT), and the own NodeInfo (4.5).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "meshvpn/log.h"
#include "node_int.h"

bool own_is_addr(struct node *n, const struct addr *a)
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

void own_add_addr(struct node *n, const struct addr *a, bool v4_wire)
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

void own_rebuild_addrs(struct node *n)
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
			own_add_addr(n, &a, addr_is_v4(&a));
		} else if (resolver_submit(n->resolver, RESOLVE_TAG(RESOLVE_KIND_ADVERTISE, i), s,
					   n->listen_port) < 0) {
			log_warn("cannot resolve advertise address %s now", s);
		}
	}
	/*
	 * The socket address with the host's primary address (the reference probes IPv4 only
	 * from 2.4 on); when bound to one address, that one. Both travel as IPv6 entries.
	 */
	if (!n->xp->up) {
		/* no address yet (the WebSocket proxy tells it once connected) */
	} else if (!addr_is_unspecified(&n->xp->local)) {
		own_add_addr(n, &n->xp->local, false);
	} else {
		for (int fam = 0; fam < 2; fam++) {
			if (primary_address(fam ? AF_INET6 : AF_INET, &a)) {
				a.port = n->listen_port;
				own_add_addr(n, &a, false);
			}
		}
	}
	if (n->upnp_mapped) { /* internal and external address, as IPv4 entries */
		own_add_addr(n, &n->upnp_int, true);
		own_add_addr(n, &n->upnp_ext, true);
	}
	collect_local_ips(n);
	n->next_own_addrs = n->now + NODE_ADDR_RESET_SECS;
}

/* ---- UPnP port forwarding (PROTOCOL.md 9): the worker and the addresses it finds ---- */

void own_portfwd_start(struct node *n, uint32_t lease)
{
	struct portfwd_params p = {.port = n->listen_port, .bind = n->xp->local, .lease = lease};
	char as[ADDR_STRLEN];
	int r;

	if (!addr_is_unspecified(&n->xp->local) && !addr_is_v4(&n->xp->local)) {
		log_info("Port forwarding: UPnP maps IPv4 only; not used on %s",
			 addr_format(&n->xp->local, as));
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

void own_portfwd_stop(struct node *n)
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

void own_portfwd_events(struct node *n)
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
				own_rebuild_addrs(n); /* drops the old external address */
			} else {
				own_add_addr(n, &n->upnp_int, true);
				own_add_addr(n, &n->upnp_ext, true);
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

void own_nodeinfo(struct node *n, struct nodeinfo *ni)
{
	memset(ni, 0, sizeof(*ni));
	ni->flags = NODEINFO_HAS_NODE_ID | NODEINFO_HAS_PEERS | NODEINFO_HAS_CLAIMS |
		    NODEINFO_HAS_PEER_TIMEOUT | NODEINFO_HAS_ADDRS;
	memcpy(ni->node_id, n->node_id, NODE_ID_LEN);
	ni->n_claims = (uint16_t)MIN(n->n_claims, (size_t)NODEINFO_MAX_CLAIMS);
	memcpy(ni->claims, n->claims, ni->n_claims * sizeof(*n->claims));
	ni->peer_timeout = (uint16_t)MIN(n->cfg->peer_timeout, 65535u);
	ni->addrs = n->own_addrs;
	if (!n->udp) { /* peers (a hub's client statistics) learn that we use a proxy */
		ni->flags |= NODEINFO_HAS_MESHVPN;
		ni->meshvpn = NODEINFO_MESHVPN_WEBSOCKET;
	}
}

size_t own_nodeinfo_encode(const struct nodeinfo *ni, uint8_t *out)
{
	struct wr w;

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
const uint8_t *own_handshake_nodeinfo(struct node *n, size_t *len)
{
	if (!n->hs_nodeinfo_len) {
		struct nodeinfo *ni = n->ni_build;

		own_nodeinfo(n, ni);
		n->hs_nodeinfo_len = own_nodeinfo_encode(ni, n->hs_nodeinfo_buf);
	}
	*len = n->hs_nodeinfo_len;
	return n->hs_nodeinfo_buf;
}


// SPDX-License-Identifier: GPL-3.0-or-later
/* nodeinfo.c - NODE_INFO encoding and bounds-checked decoding. */
#include <errno.h>
#include <string.h>

#include "meshvpn/nodeinfo.h"

bool nodeinfo_addrs_add(struct nodeinfo_addrs *l, const struct addr *a, bool v4_wire)
{
	if (l->n >= NODEINFO_MAX_ADDRS)
		return false;
	l->a[l->n] = *a;
	if (v4_wire)
		l->v4_wire |= (uint16_t)(1u << l->n);
	else
		l->v4_wire &= (uint16_t) ~(1u << l->n);
	l->n++;
	return true;
}

bool nodeinfo_addrs_contains(const struct nodeinfo_addrs *l, const struct addr *a, bool v4_wire)
{
	for (unsigned i = 0; i < l->n; i++)
		if (addr_equal(&l->a[i], a) && !(l->v4_wire >> i & 1) == !v4_wire)
			return true;
	return false;
}

bool nodeinfo_addrs_add_unique(struct nodeinfo_addrs *l, const struct addr *a, bool v4_wire)
{
	if (nodeinfo_addrs_contains(l, a, v4_wire))
		return true;
	return nodeinfo_addrs_add(l, a, v4_wire);
}

/* ---- encoding ---- */

static bool is_wire_v4(const struct nodeinfo_addrs *l, unsigned i)
{
	return (l->v4_wire >> i & 1) && addr_is_v4(&l->a[i]);
}

/*
 * flags byte (extra | #IPv6 << 3 | #IPv4), optional node id, then up to 7 IPv6 entries and
 * up to 7 IPv4 entries, each family in list order; further addresses are dropped.
 */
static void put_addr_list(struct wr *w, const struct nodeinfo_addrs *l, uint8_t extra,
			  const uint8_t *node_id)
{
	unsigned n4 = 0, n6 = 0;

	for (unsigned i = 0; i < l->n; i++) {
		if (is_wire_v4(l, i))
			n4 += n4 < NODEINFO_MAX_PER_FAMILY;
		else
			n6 += n6 < NODEINFO_MAX_PER_FAMILY;
	}
	wr_u8(w, (uint8_t)(extra | n6 << NODEINFO_ENTRY_V6_SHIFT | n4));
	if (node_id)
		wr_bytes(w, node_id, NODEINFO_NODE_ID_LEN);
	for (unsigned i = 0, k = 0; i < l->n && k < n6; i++) {
		if (is_wire_v4(l, i))
			continue;
		uint8_t *e = wr_reserve(w, NODEINFO_V6_ENTRY_LEN);
		if (e)
			addr_to_wire18(&l->a[i], e);
		k++;
	}
	for (unsigned i = 0, k = 0; i < l->n && k < n4; i++) {
		if (!is_wire_v4(l, i))
			continue;
		uint8_t *e = wr_reserve(w, NODEINFO_V4_ENTRY_LEN);
		if (e)
			(void)addr_to_wire6(&l->a[i], e);
		k++;
	}
}

/* Writes a part header with a placeholder length; returns where the length goes. */
static uint8_t *part_begin(struct wr *w, uint8_t type)
{
	wr_u8(w, type);
	return wr_reserve(w, 2);
}

static void part_end(struct wr *w, uint8_t *len_field)
{
	if (!len_field || !wr_ok(w))
		return;
	size_t n = (size_t)(w->p + w->len - (len_field + 2));
	if (n > UINT16_MAX) {
		w->err = -EMSGSIZE;
		return;
	}
	put_be16(len_field, (uint16_t)n);
}

static bool encodable(const struct nodeinfo *ni)
{
	if (!(ni->flags & NODEINFO_HAS_NODE_ID) || ni->n_peers > NODEINFO_ENCODE_MAX_PEERS ||
	    ni->n_claims > NODEINFO_MAX_CLAIMS || ni->addrs.n > NODEINFO_MAX_ADDRS)
		return false;
	for (unsigned i = 0; i < ni->n_peers; i++)
		if (ni->peers[i].addrs.n > NODEINFO_MAX_ADDRS)
			return false;
	for (unsigned i = 0; i < ni->n_claims; i++)
		if (ni->claims[i].base.len > NODEINFO_CLAIM_MAX_ADDR_LEN)
			return false;
	return true;
}

int nodeinfo_encode(const struct nodeinfo *ni, struct wr *w)
{
	uint8_t *len;

	if (!encodable(ni))
		return -EINVAL;

	len = part_begin(w, NODEINFO_PART_NODE_ID);
	wr_bytes(w, ni->node_id, NODEINFO_NODE_ID_LEN);
	part_end(w, len);

	len = part_begin(w, NODEINFO_PART_PEERS);
	for (unsigned i = 0; i < ni->n_peers; i++) {
		const struct nodeinfo_peer *p = &ni->peers[i];
		bool id = p->flags & NODEINFO_PEER_HAS_NODE_ID;
		put_addr_list(w, &p->addrs, id ? NODEINFO_ENTRY_HAS_NODE_ID : 0,
			      id ? p->node_id : NULL);
	}
	part_end(w, len);

	len = part_begin(w, NODEINFO_PART_CLAIMS);
	for (unsigned i = 0; i < ni->n_claims; i++) {
		const struct range *r = &ni->claims[i];
		wr_u8(w, r->base.len);
		wr_bytes(w, r->base.b, r->base.len);
		wr_u8(w, r->prefix);
	}
	part_end(w, len);

	if (ni->flags & NODEINFO_HAS_PEER_TIMEOUT) {
		len = part_begin(w, NODEINFO_PART_PEER_TIMEOUT);
		wr_be16(w, ni->peer_timeout);
		part_end(w, len);
	}

	len = part_begin(w, NODEINFO_PART_ADDRS);
	put_addr_list(w, &ni->addrs, 0, NULL);
	part_end(w, len);

	if ((ni->flags & NODEINFO_HAS_MESHVPN) && ni->meshvpn) {
		len = part_begin(w, NODEINFO_PART_MESHVPN);
		wr_u8(w, ni->meshvpn);
		part_end(w, len);
	}

	wr_u8(w, NODEINFO_PART_END);
	return wr_ok(w) ? 0 : -EMSGSIZE;
}

/* ---- decoding ---- */

/* Reads the entries announced by flags (IPv6 first, then IPv4) into l. */
static void get_addr_list(struct rd *r, uint8_t flags, struct nodeinfo_addrs *l)
{
	unsigned n6 = flags >> NODEINFO_ENTRY_V6_SHIFT & NODEINFO_ENTRY_COUNT_MASK;
	unsigned n4 = flags & NODEINFO_ENTRY_COUNT_MASK;

	/* at most 7 + 7 entries: always fits NODEINFO_MAX_ADDRS */
	l->n = 0;
	l->v4_wire = 0;
	for (unsigned i = 0; i < n6; i++) {
		const uint8_t *e = rd_bytes(r, NODEINFO_V6_ENTRY_LEN);
		if (!e)
			return;
		addr_from_wire18(&l->a[l->n++], e);
	}
	for (unsigned i = 0; i < n4; i++) {
		const uint8_t *e = rd_bytes(r, NODEINFO_V4_ENTRY_LEN);
		if (!e)
			return;
		l->v4_wire |= (uint16_t)(1u << l->n);
		addr_from_wire6(&l->a[l->n++], e);
	}
}

static void get_peers(struct rd *r, struct nodeinfo *ni)
{
	struct nodeinfo_peer scratch;

	ni->n_peers = 0;
	while (rd_left(r) > 0) {
		struct nodeinfo_peer *p = &scratch;
		if (ni->n_peers < NODEINFO_MAX_PEERS)
			p = &ni->peers[ni->n_peers];
		else
			ni->flags |= NODEINFO_TRUNCATED;
		uint8_t flags = rd_u8(r);
		p->flags = 0;
		if (flags & NODEINFO_ENTRY_HAS_NODE_ID) {
			p->flags = NODEINFO_PEER_HAS_NODE_ID;
			rd_copy(r, p->node_id, NODEINFO_NODE_ID_LEN);
		} else {
			memset(p->node_id, 0, NODEINFO_NODE_ID_LEN);
		}
		get_addr_list(r, flags, &p->addrs);
		if (!rd_ok(r))
			return;
		if (p != &scratch)
			ni->n_peers++;
	}
}

static void get_claims(struct rd *r, struct nodeinfo *ni)
{
	ni->n_claims = 0;
	while (rd_left(r) > 0) {
		struct range c = {0};
		uint8_t alen = rd_u8(r);
		if (alen > NODEINFO_CLAIM_MAX_ADDR_LEN) {
			r->err = -EBADMSG;
			return;
		}
		c.base.len = alen;
		rd_copy(r, c.base.b, alen);
		c.prefix = rd_u8(r);
		if (!rd_ok(r))
			return;
		if (ni->n_claims < NODEINFO_MAX_CLAIMS)
			ni->claims[ni->n_claims++] = c;
		else
			ni->flags |= NODEINFO_TRUNCATED;
	}
}

/*
 * The next part of r: 1 with its type and content (a sub-cursor: whatever is read of it,
 * parsing goes on at its end), 0 at END, -EBADMSG when truncated or END is missing.
 */
static int next_part(struct rd *r, uint8_t *type, struct rd *part)
{
	*type = rd_u8(r);
	if (!rd_ok(r))
		return -EBADMSG;
	if (*type == NODEINFO_PART_END)
		return 0;
	uint16_t plen = rd_be16(r);
	*part = rd_sub(r, plen);
	return rd_ok(r) ? 1 : -EBADMSG;
}

int nodeinfo_decode(struct nodeinfo *ni, const uint8_t *p, size_t len)
{
	struct rd r;

	rd_init(&r, p, len);
	ni->flags = 0;
	ni->peer_timeout = 0;
	ni->n_peers = 0;
	ni->n_claims = 0;
	ni->addrs.n = 0;
	ni->addrs.v4_wire = 0;
	ni->meshvpn = 0;
	uint8_t type;
	struct rd part;
	int k;

	while ((k = next_part(&r, &type, &part)) > 0) {
		switch (type) {
		case NODEINFO_PART_NODE_ID:
			rd_copy(&part, ni->node_id, NODEINFO_NODE_ID_LEN);
			ni->flags |= NODEINFO_HAS_NODE_ID;
			break;
		case NODEINFO_PART_PEERS:
			get_peers(&part, ni);
			ni->flags |= NODEINFO_HAS_PEERS;
			break;
		case NODEINFO_PART_CLAIMS:
			get_claims(&part, ni);
			ni->flags |= NODEINFO_HAS_CLAIMS;
			break;
		case NODEINFO_PART_PEER_TIMEOUT:
			ni->peer_timeout = rd_be16(&part);
			ni->flags |= NODEINFO_HAS_PEER_TIMEOUT;
			break;
		case NODEINFO_PART_ADDRS:
			ni->addrs.n = 0;
			ni->addrs.v4_wire = 0;
			if (rd_left(&part) > 0)
				get_addr_list(&part, rd_u8(&part), &ni->addrs);
			ni->flags |= NODEINFO_HAS_ADDRS;
			break;
		case NODEINFO_PART_MESHVPN:
			/* flags beyond the first byte are for later versions */
			ni->meshvpn = rd_left(&part) > 0 ? rd_u8(&part) : 0;
			ni->flags |= NODEINFO_HAS_MESHVPN;
			break;
		default:
			break; /* unknown part: skipped by its length */
		}
		if (!rd_ok(&part))
			return -EBADMSG;
	}
	if (k < 0)
		return k;
	if (!(ni->flags & NODEINFO_HAS_NODE_ID))
		return -EPROTO;
	return 0;
}

uint8_t nodeinfo_meshvpn_flags(const uint8_t *p, size_t len)
{
	struct rd r, part;
	uint8_t type, flags = 0;
	int k;

	rd_init(&r, p, len);
	while ((k = next_part(&r, &type, &part)) > 0)
		if (type == NODEINFO_PART_MESHVPN) /* a repeated part replaces the earlier one */
			flags = rd_left(&part) > 0 ? rd_u8(&part) : 0;
	return k == 0 ? flags : 0;
}

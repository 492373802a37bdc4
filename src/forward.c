// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * forward.c - the data path. Device -> network: read a batch, look up the destination and
 * hand the packet to the send path (send.c). Network -> device: receive a batch from the
 * transport, classify and decrypt in place, write DATA to the device, hand handshakes to the
 * sessions and NODE_INFO to exchange.c. I/O errors go back to the loop (node.c).
 * No allocation and no logging per packet (only rate-limited debug lines for bad input).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "meshvpn/log.h"
#include "meshvpn/offload.h"
#include "node_int.h"

#define FORWARD_ROUNDS 8 /* batches per wake-up before giving the other side a turn */

static void count_invalid(struct node *n, enum stats_invalid why, size_t len)
{
	stats_invalid(&n->stats, why, len);
}

/* The reason of a session_handle() error: of a handshake message (init) or a frame. */
static enum stats_invalid reason(int err, bool init)
{
	if (init)
		return err == -EPERM ? STATS_INV_HS_UNTRUSTED : STATS_INV_HS_MALFORMED;
	switch (err) {
	case -EMSGSIZE:
		return STATS_INV_SHORT;
	case -ENOKEY:
		return STATS_INV_NO_KEY;
	case -EALREADY:
		return STATS_INV_REPLAY;
	case -ENOTCONN:
		return STATS_INV_NOT_ESTABLISHED;
	default:
		return STATS_INV_AUTH;
	}
}

/*
 * A packet from the device. b is consumed: it is queued for sending (its final use) unless
 * borrowed, in which case every destination gets a copy and b stays the caller's.
 */
static void outbound(struct node *n, struct buf *b, bool borrowed)
{
	struct vaddr src, dst;

	if (payload_parse(n->kind, buf_data(b), b->len, &src, &dst) < 0) {
		n->unparsable_frames++;
		return;
	}
	stats_payload(&n->stats, &dst, &src, false, b->len);
	uint32_t id = table_lookup(&n->table, &dst, n->now);
	if (id) {
		struct peer *p = peer_by_id(n, id);
		if (p && session_is_established(p->sess)) {
			send_data(n, p, borrowed ? send_spare_copy(n, b) : b);
			return;
		}
	}
	if (!(n->table_flags & TABLE_BROADCAST)) {
		stats_count(&n->stats.invalid_dropped.out, b->len); /* no destination */
		return;
	}
	/* every peer gets its own encryption; the last one takes the original buffer */
	struct peer *last = NULL;
	size_t it = 0;
	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it)) {
		if (!session_is_established(p->sess))
			continue;
		if (last)
			send_data(n, last, send_spare_copy(n, b));
		last = p;
	}
	if (last)
		send_data(n, last, borrowed ? send_spare_copy(n, b) : b);
}

/*
 * A TCP/UDP super-packet from the TUN (offloads): to one peer, cut into trains by the send
 * path; otherwise cut into ordinary packets here.
 */
static void outbound_gso(struct node *n, struct buf *b, const struct offload_hdr *h)
{
	struct vaddr src, dst;
	struct offload_seg seg;
	struct peer *p = NULL;
	uint32_t id;

	if (payload_parse(n->kind, buf_data(b), b->len, &src, &dst) < 0 ||
	    offload_seg_begin(&seg, buf_data(b), b->len, h) < 0) {
		n->unparsable_frames++;
		return;
	}
	id = table_lookup(&n->table, &dst, n->now);
	if (id)
		p = peer_by_id(n, id);
	if (!p || !session_is_established(p->sess)) {
		/*
		 * Broadcast or no destination: the general path, one segment at a time, cut
		 * into a buffer of its own (outside the spare pool, which flushes recycle).
		 */
		struct buf *c = &n->segbuf;
		for (;;) {
			buf_reset(c, NODE_HEADROOM);
			int len = offload_seg_next(&seg, buf_data(c), buf_tailroom(c) - SESSION_TAILROOM);
			if (len <= 0)
				break;
			c->len = (uint32_t)len;
			outbound(n, c, true);
		}
		return;
	}
	send_gso(n, p, &seg, &src, &dst);
}

int forward_device_readable(struct node *n)
{
	struct buf *bufs[NODE_BATCH];
	const uint32_t vh = n->dev.vnet ? OFFLOAD_VNET_HDR_LEN : 0;

	for (int round = 0; round < FORWARD_ROUNDS; round++) {
		for (unsigned i = 0; i < NODE_BATCH; i++) {
			/* with offloads the virtio header lands in the headroom */
			buf_reset(&n->devbufs[i], NODE_HEADROOM - vh);
			/* leave room for the AEAD tag behind the largest packet */
			n->devbufs[i].size = NODE_BUF_SIZE - SESSION_TAILROOM;
			bufs[i] = &n->devbufs[i];
		}
		int cnt = device_read_batch(&n->dev, bufs, NODE_BATCH);
		for (unsigned i = 0; i < NODE_BATCH; i++)
			n->devbufs[i].size = NODE_BUF_SIZE;
		if (cnt < 0 && cnt != -EAGAIN && cnt != -EINTR)
			return cnt;
		if (cnt <= 0)
			break;
		for (int i = 0; i < cnt; i++) {
			struct buf *b = bufs[i];
			if (b->off + b->len >= NODE_BUF_SIZE - SESSION_TAILROOM) {
				/* filled the buffer: the kernel cut the packet short */
				n->unparsable_frames++;
				log_rl(LOG_WARN, "dropped a packet from the device: too large");
				continue;
			}
			if (vh) {
				struct offload_hdr h;
				if (b->len < vh) {
					n->unparsable_frames++;
					continue;
				}
				offload_hdr_read(&h, buf_data(b));
				buf_pull(b, vh);
				if (h.gso_type != OFFLOAD_GSO_NONE) {
					outbound_gso(n, b, &h);
					continue;
				}
				if ((h.flags & OFFLOAD_F_NEEDS_CSUM) &&
				    offload_finish_csum(buf_data(b), b->len, &h) < 0) {
					n->unparsable_frames++;
					continue;
				}
			}
			outbound(n, b, false);
		}
		send_flush(n);
		if (cnt < NODE_BATCH)
			break;
	}
	return 0;
}

/*
 * Received DATA waits in devq until the end of the receive round (its bytes stay in the
 * receive buffers until then): with offloads, consecutive TCP segments of one flow go to
 * the device as one GSO super-packet, one write for up to OFFLOAD_MAX_MERGE packets.
 */
static void device_flush(struct node *n)
{
	struct offload_write w;

	for (unsigned i = 0; i < n->devq_n;) {
		int r;
		if (n->dev.vnet) {
			offload_merge(n->devq + i, n->devq_n - i, &w);
			r = device_writev(&n->dev, w.iov, w.iovcnt);
			i += w.merged;
		} else {
			r = device_write(&n->dev, n->devq[i].data, n->devq[i].len);
			i++;
		}
		if (r < 0)
			n->device_write_errors++;
	}
	n->devq_n = 0;
}

/* A KEEPALIVE with a body: a round-trip probe to answer, or the echo of ours. */
static void keepalive_body(struct node *n, struct peer *p, const uint8_t *d)
{
	uint32_t seq = (uint32_t)d[1] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 8 | d[4];
	struct timespec ts;

	if (d[0] == FRAME_KEEPALIVE_PROBE) {
		send_probe(n, p, FRAME_KEEPALIVE_ECHO, seq);
	} else if (d[0] == FRAME_KEEPALIVE_ECHO) {
		/* the clock now, not at the start of the batch: the round trip in microseconds */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		p->echoes = true;
		(void)telemetry_echo(&p->tel, seq, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
	}
}

/*
 * A hub passes packets between its peers itself (no round trip through the device and the
 * host's routing): true when dst belongs to another peer and b went to it.
 */
static bool relay(struct node *n, struct peer *from, struct buf *b, const struct vaddr *dst)
{
	uint32_t id = table_lookup(&n->table, dst, n->now);
	struct peer *to = id ? peer_by_id(n, id) : NULL;

	if (!to || !session_is_established(to->sess))
		return false;
	if (to == from) /* to itself through the hub: nowhere to go */
		return true;
	/* a copy: b sits in a receive buffer that a GRO train shares with its neighbours */
	send_data(n, to, send_spare_copy(n, b));
	return true;
}

/* An authenticated inner message from an established peer. */
static void dispatch(struct node *n, struct peer *p, struct buf *b, uint8_t type)
{
	struct vaddr src, dst;

	/* Any authenticated message shows the peer is alive (VpnCloud: NODE_INFO only). */
	p->timeout = n->now + n->cfg->peer_timeout;
	switch (type) {
	case FRAME_TYPE_DATA:
		/* one-way traffic: tell the sender we are still here (see node_tick) */
		if (unlikely(n->now - p->last_tx >= NODE_PASSIVE_KEEPALIVE))
			send_keepalive(n, p);
		buf_pull(b, 1);
		if (payload_parse(n->kind, buf_data(b), b->len, &src, &dst) < 0) {
			count_invalid(n, STATS_INV_PAYLOAD, b->len);
			return;
		}
		if (p->client && !hub_inbound(n, p, &src, &dst, b->len))
			return;
		stats_payload(&n->stats, &src, &dst, true, b->len);
		if (n->table_flags & TABLE_LEARNING)
			table_learn(&n->table, &src, p->id, n->now);
		if (n->hub && relay(n, p, b, &dst))
			return;
		if (n->devq_n == NODE_DEVQ)
			device_flush(n);
		n->devq[n->devq_n++] = (struct offload_pkt){.data = buf_data(b), .len = b->len};
		return;
	case FRAME_TYPE_NODE_INFO:
		exchange_nodeinfo(n, p, buf_data(b) + 1, b->len - 1);
		return;
	case FRAME_TYPE_KEEPALIVE:
		p->sends_keepalive = true;
		if (b->len >= 1 + FRAME_KEEPALIVE_PROBE_LEN)
			keepalive_body(n, p, buf_data(b) + 1);
		return;
	case FRAME_TYPE_CLOSE:
		peers_hook(n, CONFIG_HOOK_PEER_DISCONNECTED, &p->addr, p);
		peer_remove(n, p, false, "closed by the peer");
		return;
	default:
		count_invalid(n, STATS_INV_UNKNOWN_TYPE, b->len);
		log_rl(LOG_DEBUG, "unknown message type 0x%02x from a peer", type);
	}
}

static void handle_pending(struct node *n, struct pending *pd, struct buf *b)
{
	struct session_event ev;
	char as[ADDR_STRLEN];
	struct addr a = pd->addr;

	size_t len = b->len;
	bool init = len && buf_data(b)[0] == FRAME_INIT_MESSAGE;

	stats_count(&pd->traffic.in, len);
	int r = session_handle(pd->sess, b, &ev);
	if (r == SESSION_ESTABLISHED) {
		struct session *s = pd->sess;
		n->handshakes[NODE_HS_OK]++;
		struct stats_traffic t = pd->traffic;
		bool incoming = pd->responder;
		pd->sess = NULL;
		pending_remove(n, pd);
		struct peer *p = peer_add(n, &a, s);
		if (!p)
			return;
		p->traffic = t;
		p->incoming = incoming;
		if (ev.send)
			send_raw(n, b, &a, &p->traffic);
		/* admission counts by transport: known before the NodeInfo's full decode */
		p->via_proxy = nodeinfo_meshvpn_flags(ev.payload, ev.payload_len) &
			       NODEINFO_MESHVPN_WEBSOCKET;
		if (!hub_admit(n, p))
			return; /* refused and removed (after the handshake's last message) */
		exchange_established(n, p, ev.payload, ev.payload_len);
	} else if (r == SESSION_REPLY) {
		send_raw(n, b, &a, &pd->traffic);
	} else if (r == SESSION_E_FATAL) {
		n->handshakes[NODE_HS_FAILED]++;
		log_rl(LOG_INFO, "Handshake with %s failed", addr_format(&a, as));
		pending_remove(n, pd);
		peers_hook(n, CONFIG_HOOK_PEER_DISCONNECTED, &a, NULL);
		count_invalid(n, STATS_INV_HS_FAILED, len);
	} else if (r < 0) {
		count_invalid(n, reason(r, init), len);
		log_rl(LOG_DEBUG, "dropped a message from %s during the handshake: %s",
		       addr_format(&a, as), strerror(-r));
	}
}

/* A handshake message from an address without a pending handshake. */
static void handle_init(struct node *n, struct buf *b, const struct addr *src)
{
	struct session_event ev;
	struct session *s = NULL;
	struct pending *pd;
	char as[ADDR_STRLEN];
	struct peer *p = peer_find(n, src);
	const uint8_t *ni;
	size_t len = b->len, nilen;
	int r;

	if (p && session_has_handshake(p->sess)) {
		stats_count(&p->traffic.in, len);
		r = session_handle(p->sess, b, &ev);
		if (r == SESSION_REPLY)
			send_raw(n, b, src, &p->traffic);
		if (r != -ENOENT) {
			if (r < 0)
				count_invalid(n, reason(r, true), len);
			return;
		}
	}
	if (hub_source_blocked(n, src))
		return; /* counted by the hub; no crypto work at all */
	/* a PING that made a state before, replayed from its sender's (spoofed) address */
	uint8_t head[1 + HSGUARD_SALT_LEN];
	memcpy(head, buf_data(b), sizeof(head)); /* b becomes the reply */
	if (hsguard_salt_used(&n->hsguard, head, n->now)) {
		count_invalid(n, STATS_INV_REPLAY, len);
		log_rl(LOG_DEBUG, "Ignoring a handshake from %s: a replay", addr_format(src, as));
		return;
	}
	/*
	 * Bounded work for senders nobody vouched for yet: a signature check costs ~50 us,
	 * a pending state memory; the answers per second are limited (no amplification).
	 */
	if (n->init_checks >= NODE_INIT_CHECKS_PER_TICK ||
	    n->new_responders >= NODE_NEW_RESPONDERS_PER_TICK ||
	    n->n_responders >= NODE_MAX_RESPONDERS) {
		count_invalid(n, STATS_INV_HS_LIMITED, len);
		log_rl(LOG_WARN, "too many handshakes from new addresses; ignoring %s",
		       addr_format(src, as));
		return;
	}
	n->init_checks++;
	ni = own_handshake_nodeinfo(n, &nilen);
	if (session_new_responder(n->sctx, ni, nilen, &s) < 0)
		return;
	r = session_handle(s, b, &ev);
	if (r == SESSION_REPLY && pending_add(n, src, s, true, &pd) == 0) {
		n->new_responders++;
		hsguard_salt_use(&n->hsguard, head, n->now);
		log_debug("Handshake from %s", addr_format(src, as));
		stats_count(&pd->traffic.in, len);
		send_raw(n, b, src, &pd->traffic);
		peers_hook(n, CONFIG_HOOK_PEER_CONNECTING, src, NULL);
		return;
	}
	session_free(s);
	count_invalid(n, reason(r, true), len);
	if (r == -EPERM)
		log_rl(LOG_INFO, "Ignoring a handshake from %s: untrusted key or bad signature",
		       addr_format(src, as));
	else if (r < 0)
		log_rl(LOG_DEBUG, "Ignoring a handshake from %s: %s", addr_format(src, as),
		       strerror(-r));
}

/* A datagram of an established peer's address that failed: counted, logged (rate-limited). */
static void invalid_from_peer(struct node *n, struct peer *p, enum stats_invalid why, size_t len)
{
	char as[ADDR_STRLEN];

	count_invalid(n, why, len);
	log_rl(LOG_DEBUG, "dropped a datagram from peer %s: %s", addr_format(&p->addr, as),
	       stats_invalid_name(why));
}

static bool same_ip(const struct addr *a, const struct addr *b)
{
	return memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

/* Has the node a peer, a pending handshake or a configured peer on a's IP address? */
static bool talks_to_ip(struct node *n, const struct addr *a)
{
	struct peer *p;
	size_t it = 0;

	while ((p = peer_next(n, &it)))
		if (same_ip(&p->addr, a))
			return true;
	for (size_t i = 0; n->n_pending && i < NODE_HASH_BUCKETS; i++)
		for (const struct pending *pd = n->pending_hash[i]; pd; pd = pd->hnext)
			if (same_ip(&pd->addr, a))
				return true;
	for (size_t i = 0; i < n->n_reconnects; i++)
		for (int k = 0; k < n->reconnects[i].n_addrs; k++)
			if (same_ip(&n->reconnects[i].addrs[k], a))
				return true;
	return false;
}

/*
 * src sent HSGUARD_FLOOD handshake messages within this tick: unless the node talks to its
 * IP address, the kernel drops its handshake messages for a while (sockfilter.h). Runs at
 * most once per source and tick; the walk over the tables is the cold path.
 */
static void flood_from(struct node *n, const struct addr *src)
{
	char as[ADDR_STRLEN];
	int r;

	if (!n->udp || talks_to_ip(n, src))
		return;
	r = net_drop_inits_from(n->udp, src, n->now);
	if (r < 0)
		log_rl(LOG_WARN, "cannot filter the handshake flood from %s in the kernel: %s",
		       addr_format_ip(src, as), strerror(-r));
	else
		log_rl(LOG_WARN,
		       "%s sent %d handshake messages within a second: the kernel drops its "
		       "handshake messages for %d s",
		       addr_format_ip(src, as), HSGUARD_FLOOD, SOCKFILTER_SECS);
}

_Static_assert(SOCKFILTER_SALT_LEN == HSGUARD_SALT_LEN, "the kernel matches the salt hsguard keys");

/*
 * Copies of the handshake message m (its salt and key hash) came from HSGUARD_COPY_FLOOD
 * other addresses within this tick: a replay flood, perhaps from random sources, that no
 * address listing stops; the kernel drops messages with that salt and key hash for a while.
 */
static void copies_flood(struct node *n, const uint8_t *m)
{
	int r;

	if (!n->udp)
		return;
	r = net_drop_inits_with(n->udp, m + 1, n->now);
	if (r < 0)
		log_rl(LOG_WARN, "cannot filter a handshake replay flood in the kernel: %s",
		       strerror(-r));
	else
		log_rl(LOG_WARN,
		       "copies of one handshake message came from %d other addresses within a "
		       "second: the kernel drops them for %d s",
		       HSGUARD_COPY_FLOOD, SOCKFILTER_SECS);
}

/*
 * The cheap filters every handshake message passes before it reaches a handshake state, a
 * signature check or the global limits of handle_init: a trusted key's hash (one SHA-256
 * per trusted key), a salt not already used by another address, and the sender's budget
 * for this tick. Otherwise one address (or copies of one captured PING from many) could use
 * up the global budget, or a pending state could be made to check a signature per datagram.
 */
static bool init_plausible(struct node *n, struct buf *b, const struct addr *src)
{
	char as[ADDR_STRLEN];
	const uint8_t *m = buf_data(b);

	if (unlikely(hsguard_source_seen(&n->hsguard, src, n->now) == HSGUARD_FLOOD))
		flood_from(n, src);
	int r = session_ctx_init_key(n->sctx, m, b->len);

	if (r == -EPERM) {
		count_invalid(n, STATS_INV_HS_UNTRUSTED, b->len);
		log_rl(LOG_INFO, "Ignoring a handshake from %s: untrusted key",
		       addr_format(src, as));
		return false;
	}
	if (r < 0) {
		count_invalid(n, STATS_INV_HS_MALFORMED, b->len);
		log_rl(LOG_DEBUG, "Ignoring a handshake from %s: truncated", addr_format(src, as));
		return false;
	}
	if (!hsguard_salt_ok(&n->hsguard, m, src, n->now)) {
		count_invalid(n, STATS_INV_REPLAY, b->len);
		if (unlikely(hsguard_salt_copies(&n->hsguard, m, n->now) == HSGUARD_COPY_FLOOD))
			copies_flood(n, m);
		log_rl(LOG_DEBUG, "Ignoring a handshake from %s: a copy of another's",
		       addr_format(src, as));
		return false;
	}
	if (!hsguard_source_ok(&n->hsguard, src, n->now)) {
		count_invalid(n, STATS_INV_HS_LIMITED, b->len);
		log_rl(LOG_DEBUG, "Ignoring a handshake from %s: too many from it",
		       addr_format(src, as));
		return false;
	}
	return true;
}

static void inbound(struct node *n, struct buf *b, const struct addr *src)
{
	char as[ADDR_STRLEN];
	struct session_event ev;
	struct pending *pd;
	struct peer *p;

	if (b->len == 0) {
		count_invalid(n, STATS_INV_EMPTY, 0);
		return;
	}
	bool init = buf_data(b)[0] == FRAME_INIT_MESSAGE;
	if (init && !init_plausible(n, b, src))
		return;
	p = peer_find(n, src);
	/*
	 * A pending handshake gets the datagram (PROTOCOL.md 1.10), except session traffic of
	 * an established peer on the same address: the reference drops that while it
	 * re-handshakes; passing it to the running session loses nothing.
	 */
	pd = n->n_pending ? pending_find(n, src) : NULL;
	if (pd && (init || !p)) {
		handle_pending(n, pd, b);
		return;
	}
	if (init) {
		handle_init(n, b, src);
		return;
	}
	if (!p) {
		count_invalid(n, STATS_INV_UNKNOWN_SENDER, b->len);
		log_rl(LOG_DEBUG, "dropped a datagram from %s: no session with it",
		       addr_format(src, as));
		return;
	}
	size_t len = b->len;

	stats_count(&p->traffic.in, len);
	int r = session_handle(p->sess, b, &ev);
	if (likely(r >= 0))
		p->last_rx = n->now;
	if (likely(r == SESSION_MESSAGE))
		dispatch(n, p, b, ev.type);
	else if (r == SESSION_REPLY)
		send_raw(n, b, src, &p->traffic);
	else if (r < 0)
		invalid_from_peer(n, p, reason(r, init), len);
}

/* A GRO receive: datagrams of seg bytes back to back (the last may be shorter). */
static void inbound_train(struct node *n, struct buf *b, const struct addr *src, uint16_t seg)
{
	uint8_t *data = buf_data(b), *end = b->base + b->size;
	uint32_t total = b->len;

	for (uint32_t off = 0; off < total; off += seg) {
		uint32_t len = MIN((uint32_t)seg, total - off);
		bool last = off + len >= total;
		/* the last one may use the rest of the storage for a reply (rotation, handshake) */
		struct buf v = {.base = data + off,
				.size = last ? (uint32_t)(end - (data + off)) : len,
				.off = 0,
				.len = len};
		inbound(n, &v, src);
	}
}

int forward_net_readable(struct node *n)
{
	for (int round = 0; round < FORWARD_ROUNDS; round++) {
		for (unsigned i = 0; i < NODE_BATCH; i++) {
			buf_reset(&n->rxbufs[i], NODE_HEADROOM);
			n->rx.bufs[i] = &n->rxbufs[i];
		}
		n->rx.n = NODE_BATCH;
		int cnt = transport_recv(n->xp, &n->rx);
		if (cnt < 0 && cnt != -EAGAIN && cnt != -EINTR)
			return cnt;
		if (cnt < 0)
			break;
		for (int i = 0; i < cnt; i++) {
			if (n->rx.seg[i])
				inbound_train(n, n->rx.bufs[i], &n->rx.src[i], n->rx.seg[i]);
			else
				inbound(n, n->rx.bufs[i], &n->rx.src[i]);
		}
		device_flush(n);
		send_flush(n);
		if (cnt > 0 && cnt < NODE_BATCH)
			break;
	}
	return 0;
}

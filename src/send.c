// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * send.c - the node's one transmit path: every datagram the node sends (DATA, trains of
 * DATA, control messages, handshakes, statsd lines) leaves through here to the transport
 * (transport.h), so policing, counting and batching live in one place. Also the spare
 * buffers that broadcast copies and trains are built in.
 * No allocation and no logging per packet (only rate-limited debug lines on failures).
 */
#include <errno.h>
#include <string.h>

#include "meshvpn/log.h"
#include "node_int.h"

void send_flush(struct node *n)
{
	int r = transport_flush(n->xp);

	if (r < 0)
		log_rl(LOG_WARN, "sending on the %s transport failed: %s", n->xp->name,
		       strerror(-r));
	n->spare_used = 0;
}

/* Queues b (borrowed until the next flush) for a; flushes first when the queue is full. */
static void queue(struct node *n, struct buf *b, const struct addr *a, uint16_t seg,
		  unsigned count)
{
	if (transport_full(n->xp))
		send_flush(n);
	if (transport_queue(n->xp, b, a, seg) < 0)
		n->xp->stats.tx_dropped += count;
}

static struct buf *spare_take(struct node *n)
{
	/*
	 * The flush that makes room happens here, before taking: the queue then has room for
	 * this buffer, so nothing can flush (and so recycle the spares) between taking a spare
	 * and queueing it.
	 */
	if (n->spare_used == NODE_SPARES || transport_full(n->xp))
		send_flush(n);
	struct buf *c = &n->spare[n->spare_used++];
	buf_reset(c, NODE_HEADROOM);
	return c;
}

struct buf *send_spare_copy(struct node *n, const struct buf *b)
{
	struct buf *c = spare_take(n);
	memcpy(buf_put(c, b->len), buf_data(b), b->len);
	return c;
}

void send_raw(struct node *n, const struct buf *b, const struct addr *a, struct stats_traffic *t)
{
	if (t)
		stats_count(&t->out, b->len);
	int r = transport_send(n->xp, buf_data(b), b->len, a);
	if (r < 0 && r != -EAGAIN) {
		char as[ADDR_STRLEN];
		log_rl(LOG_DEBUG, "sending to %s failed: %s", addr_format(a, as), strerror(-r));
	}
}

int send_datagram(struct node *n, const uint8_t *data, size_t len, const struct addr *a)
{
	return transport_send(n->xp, data, len, a);
}

void send_ctl(struct node *n, struct peer *p)
{
	if (session_encrypt(p->sess, &n->ctl) < 0)
		return;
	p->last_tx = n->now;
	send_raw(n, &n->ctl, &p->addr, &p->traffic);
}

void send_keepalive(struct node *n, struct peer *p)
{
	buf_reset(&n->ctl, NODE_HEADROOM);
	*buf_put(&n->ctl, 1) = FRAME_TYPE_KEEPALIVE;
	send_ctl(n, p);
}

void send_probe(struct node *n, struct peer *p, uint8_t kind, uint32_t seq)
{
	buf_reset(&n->ctl, NODE_HEADROOM);
	uint8_t *d = buf_put(&n->ctl, 1 + FRAME_KEEPALIVE_PROBE_LEN);
	d[0] = FRAME_TYPE_KEEPALIVE;
	d[1] = kind;
	d[2] = (uint8_t)(seq >> 24);
	d[3] = (uint8_t)(seq >> 16);
	d[4] = (uint8_t)(seq >> 8);
	d[5] = (uint8_t)seq;
	send_ctl(n, p);
}

/* A hub's client over its rate limit towards it: the packet is dropped and counted. */
static bool over_limit(struct node *n, struct peer *p, uint32_t len)
{
	if (likely(!p->client) || ratelimit_allow(&p->client->out, len, n->now_ns))
		return false;
	p->client->drops[HUB_DROP_RATE_OUT]++;
	return true;
}

void send_data(struct node *n, struct peer *p, struct buf *b)
{
	uint8_t *type;

	if (over_limit(n, p, b->len))
		return;
	type = buf_push(b, 1);
	if (!type)
		return;
	*type = FRAME_TYPE_DATA;
	if (session_encrypt(p->sess, b) < 0) {
		stats_count(&n->stats.invalid_dropped.out, b->len);
		return;
	}
	stats_count(&p->traffic.out, b->len);
	p->last_tx = p->last_data_tx = n->now;
	queue(n, b, &p->addr, 0, 1);
}

/*
 * The segments of a TCP/UDP super-packet from the TUN (offloads), each encrypted as its own
 * DATA datagram, laid out back to back in spare buffers ("trains") that the transport sends
 * with one call each (UDP GSO). The wire sees exactly what VpnCloud sends.
 */
void send_gso(struct node *n, struct peer *p, struct offload_seg *seg, const struct vaddr *src,
	      const struct vaddr *dst)
{
	/* frame header (none in plain sessions) and type byte */
	const uint32_t pre = (session_algo(p->sess) == ALGO_PLAIN ? 0 : FRAME_HEADER_LEN) + 1;
	bool done = false;

	while (!done) {
		struct buf *train = spare_take(n);
		uint32_t pos = 0, dlen0 = 0, count = 0;
		buf_reset(train, 0);
		while (count < TRANSPORT_TRAIN_SEGS) {
			uint32_t room = train->size - pos;
			if (dlen0 && pos + dlen0 > TRANSPORT_TRAIN_BYTES)
				break;
			struct buf v = {.base = train->base + pos, .size = room, .off = pre, .len = 0};
			int len = offload_seg_next(seg, v.base + pre, room - pre - SESSION_TAILROOM);
			if (len <= 0) {
				done = true;
				break;
			}
			if (over_limit(n, p, (uint32_t)len))
				continue; /* the next segment goes to the same place */
			v.len = (uint32_t)len;
			stats_payload(&n->stats, dst, src, false, v.len);
			*buf_push(&v, 1) = FRAME_TYPE_DATA;
			if (session_encrypt(p->sess, &v) < 0 || v.off != 0) {
				stats_count(&n->stats.invalid_dropped.out, v.len);
				done = true;
				break;
			}
			stats_count(&p->traffic.out, v.len);
			pos += v.len;
			count++;
			if (!dlen0) {
				dlen0 = v.len;
			} else if (v.len != dlen0) {
				/* only the last datagram of a train may be shorter */
				done = offload_seg_count(seg) == seg->index;
				break;
			}
		}
		if (!count) {
			n->spare_used--;
			break;
		}
		train->len = pos;
		p->last_tx = p->last_data_tx = n->now;
		/* spare_take() left room in the queue for this train */
		if (transport_queue(n->xp, train, &p->addr, count > 1 ? (uint16_t)dlen0 : 0) < 0)
			n->xp->stats.tx_dropped += count;
	}
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transport.h - the seam between the node and what carries its datagrams: the UDP socket
 * (net.c) or the WebSocket proxy client (wsclient.c). The node sees datagrams with
 * addresses either way; a transport knows nothing of the protocol (DESIGN.md: adapters).
 *
 * Buffers: a receive borrows the caller's buffers for the call; a queued buffer is borrowed
 * until the next flush (a transport may copy it at once, e.g. into a stream, and release it
 * earlier). Nothing here allocates per datagram.
 */
#ifndef MESHVPN_TRANSPORT_H
#define MESHVPN_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "bytes.h"
#include "loop.h"
#include "util.h"

#define TRANSPORT_BATCH 64 /* datagrams per receive call and per transmit queue */

/* Counters, only ever incremented by the transport; the node reads them (stats). */
struct transport_stats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_dropped; /* truncated or malformed datagrams, unusable source addresses */
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_errors;  /* per-destination failures (EHOSTUNREACH, EPERM, ...) */
	uint64_t tx_dropped; /* not sent: the transport stayed congested, or it is down */
};

/*
 * A receive batch: the caller lends up to TRANSPORT_BATCH buffers in bufs[0..n), each with
 * the headroom it wants in off; a datagram is written at buf_data() and may fill the
 * storage to its end. After the call, bufs[0..count) hold datagrams (the transport may
 * reorder the pointers, but bufs holds exactly the buffers lent).
 */
struct transport_rx {
	unsigned n;			   /* in: buffers lent */
	struct buf *bufs[TRANSPORT_BATCH]; /* in: borrowed buffers; out: [0, count) hold data */
	struct addr src[TRANSPORT_BATCH];  /* out: normalised source of bufs[i] */
	uint16_t seg[TRANSPORT_BATCH];	   /* out: 0, or bufs[i] holds datagrams of this size
					      (the last may be shorter), all from src[i] */
};

/* What an event on one of the transport's loop sources means for the node (a bit set). */
enum transport_ev {
	TRANSPORT_EV_RX = 1u << 0,    /* datagrams may be waiting: receive until -EAGAIN */
	TRANSPORT_EV_LOCAL = 1u << 1, /* the local (public) address changed: re-announce */
	TRANSPORT_EV_UP = 1u << 2,    /* it (re)connected and can carry datagrams */
	TRANSPORT_EV_DOWN = 1u << 3,  /* it lost its connection; it reconnects by itself */
};

struct transport;

struct transport_ops {
	/*
	 * Receives a batch (struct transport_rx). Returns the count, 0 when everything read
	 * was dropped (call again), -EAGAIN when nothing is waiting, or -errno when the
	 * transport itself failed for good (the node stops).
	 */
	int (*recv)(struct transport *t, struct transport_rx *rx);
	/*
	 * Queues b for dst: one datagram (seg 0), or a train of datagrams of seg bytes each
	 * (the last may be shorter; at most TRANSPORT_TRAIN_SEGS and TRANSPORT_TRAIN_BYTES).
	 * Fails only when full() was true before the call (-ENOBUFS) or the destination is
	 * unusable (-EAFNOSUPPORT, counted in tx_errors).
	 */
	int (*queue)(struct transport *t, struct buf *b, const struct addr *dst, uint16_t seg);
	/* True when the next queue() may fail for lack of room: flush first. */
	bool (*full)(const struct transport *t);
	/*
	 * Sends what is queued and releases every queued buffer. Congestion costs at most a
	 * short bounded wait, then the rest is dropped (tx_dropped). Returns the datagrams
	 * sent, or -errno when the transport is unusable for good.
	 */
	int (*flush)(struct transport *t);
	/* Sends one datagram now (control messages): 0 or -errno (-EAGAIN when congested). */
	int (*send)(struct transport *t, const uint8_t *data, size_t len, const struct addr *dst);
	/* Registers the transport's sources with the loop as kind; they come back to event(). */
	int (*attach)(struct transport *t, struct loop *loop, int kind);
	/* An event on a source it registered: TRANSPORT_EV_* bits, or -errno (fatal). */
	int (*event)(struct transport *t, struct loop_src *src, uint32_t events);
	/* Once a second: reconnects, keepalives (may be NULL). Returns TRANSPORT_EV_* bits. */
	int (*tick)(struct transport *t, int64_t now);
	/* Unregisters, closes and frees it. */
	void (*free)(struct transport *t);
};

#define TRANSPORT_TRAIN_SEGS  64    /* datagrams per train (the kernel's UDP_MAX_SEGMENTS) */
#define TRANSPORT_TRAIN_BYTES 65000 /* bytes per train */

/* The common part, embedded first in each transport's own struct. */
struct transport {
	const struct transport_ops *ops;
	const char *name;      /* "UDP", "WebSocket": for logs and peer listings */
	struct addr local;     /* bound address (UDP) or the public address the proxy gave */
	bool up;	       /* can carry datagrams now */
	struct transport_stats stats;
};

static inline int transport_recv(struct transport *t, struct transport_rx *rx)
{
	return t->ops->recv(t, rx);
}

static inline int transport_queue(struct transport *t, struct buf *b, const struct addr *dst,
				  uint16_t seg)
{
	return t->ops->queue(t, b, dst, seg);
}

static inline bool transport_full(const struct transport *t)
{
	return t->ops->full(t);
}

static inline int transport_flush(struct transport *t)
{
	return t->ops->flush(t);
}

static inline int transport_send(struct transport *t, const uint8_t *data, size_t len,
				 const struct addr *dst)
{
	return t->ops->send(t, data, len, dst);
}

static inline int transport_attach(struct transport *t, struct loop *loop, int kind)
{
	return t->ops->attach(t, loop, kind);
}

static inline int transport_event(struct transport *t, struct loop_src *src, uint32_t events)
{
	return t->ops->event(t, src, events);
}

static inline int transport_tick(struct transport *t, int64_t now)
{
	return t->ops->tick ? t->ops->tick(t, now) : 0;
}

static inline void transport_free(struct transport *t)
{
	if (t)
		t->ops->free(t);
}

#endif

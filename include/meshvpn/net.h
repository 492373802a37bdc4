/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * net.h - the node's UDP socket: dual-stack open, recvmmsg/sendmmsg batches, counters; the
 * UDP transport (transport.h).
 */
#ifndef MESHVPN_NET_H
#define MESHVPN_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "sockfilter.h"
#include "bytes.h"
#include "loop.h"
#include "transport.h"
#include "util.h"

#define NET_BATCH	 TRANSPORT_BATCH /* datagrams per recvmmsg / sendmmsg call */
#define NET_SOCKBUF_SIZE (4 << 20) /* requested SO_RCVBUF / SO_SNDBUF */
#define NET_TX_WAIT_MS	 10	   /* at most this long per flush waiting for POLLOUT */
#define NET_GSO_MAX_SEGS TRANSPORT_TRAIN_SEGS  /* datagrams per UDP_SEGMENT send */
#define NET_GSO_MAX_BYTES TRANSPORT_TRAIN_BYTES /* payload bytes per UDP_SEGMENT send */
#define NET_NOGSO 32		   /* destinations remembered as "no GSO" (path MTU too small) */
#define NET_NOGSO_SECS 600	   /* ... for this long */

/*
 * A transmit queue of up to NET_BATCH datagrams, each a borrowed buffer (payload
 * buf_data()/len) and a destination, plus the scratch space sendmmsg needs. Zero-initialise
 * it (or set n = 0) before first use.
 */
struct net_tx {
	unsigned n;		     /* queued */
	struct buf *bufs[NET_BATCH]; /* borrowed until net_tx_flush() returns */
	struct addr dst[NET_BATCH];
	uint16_t seg[NET_BATCH];     /* 0, or: bufs[i] is a train of datagrams of this size */
	struct mmsghdr msgs[NET_BATCH];
	struct iovec iov[NET_BATCH];
	struct sockaddr_storage names[NET_BATCH];
	unsigned entry[NET_BATCH];   /* msgs[k] comes from entry[k] ... */
	uint32_t eoff[NET_BATCH];    /* ... starting at this offset in it */
	bool gso_msg[NET_BATCH];     /* msgs[k] is a UDP_SEGMENT send */
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctrl[NET_BATCH];
};

/* recvmmsg scratch space, set up per call. */
struct net_rx_scratch {
	struct mmsghdr msgs[NET_BATCH];
	struct iovec iov[NET_BATCH];
	struct sockaddr_storage names[NET_BATCH];
	union {
		char buf[64];
		struct cmsghdr align;
	} ctrl[NET_BATCH];
};

/*
 * The socket. As a transport (net_transport()), t.local is the bound address and port
 * (getsockname, normalised) and t.stats its counters; the transport's queue is txq.
 */
/* What the kernel drops for a while (sockfilter.h). */
struct net_droplist {
	struct {
		uint8_t key[16]; /* an IP address, or a salt and key hash (the first 8 bytes) */
		int64_t until;	 /* monotonic seconds */
	} e[SOCKFILTER_MAX];
	unsigned n;
};

struct net {
	struct transport t;
	struct loop_src src; /* src.fd is the socket; register it with loop_add() */
	int family;	     /* AF_INET6 (dual-stack), or AF_INET when the kernel lacks IPv6 */
	bool gso;	     /* UDP_SEGMENT sends work (cleared after the kernel refuses one) */
	bool gro;	     /* UDP_GRO is on: a receive may hold several datagrams */
	struct {
		struct addr dst;
		int64_t until;
	} nogso[NET_NOGSO]; /* GSO refused for these destinations (EMSGSIZE) */
	unsigned n_nogso;
	/* handshake messages dropped in the kernel: from these IP addresses, with these salts */
	struct net_droplist drop_ips, drop_salts;
	struct loop *loop;  /* set by the transport's attach */
	struct net_rx_scratch rxs;
	struct net_tx txq;  /* the transport's queue */
};

/*
 * Opens the socket: AF_INET6 with IPV6_V6ONLY off, bound to listen (NULL = [::]:0; IPv4
 * addresses bind in mapped form, so [::ffff:0.0.0.0] means IPv4 only). Without kernel IPv6
 * support it falls back to AF_INET (listen must then be IPv4 or ::). Nonblocking, CLOEXEC,
 * 4 MiB buffers (forced when privileged). src.kind is left for the caller. 0 or -errno.
 */
int net_open(struct net *net, const struct addr *listen) WUR;
/* Closes the socket (call loop_del() first). Safe to call twice. */
void net_close(struct net *net);

/*
 * The UDP transport: allocates a struct net and opens it as net_open() does. Freed with
 * transport_free(). 0 or -errno (*out = NULL).
 */
int net_transport_open(const struct addr *listen, struct net **out) WUR;

static inline struct transport *net_transport(struct net *net)
{
	return &net->t;
}

/*
 * Receives up to rx->n datagrams with one recvmmsg. Returns the count, -EAGAIN when nothing
 * is queued, or -errno; 0 means everything received was dropped (call again). bufs[i]->len
 * and src[i] are set for i < count.
 * Truncated datagrams are dropped and counted: their buffers are moved behind the received
 * ones, so rx->bufs may be reordered, but it still holds exactly the buffers lent. After the
 * call every buffer is the caller's again; it may swap pointers in bufs before the next call.
 * (With UDP_GRO a later version splits coalesced segments over consecutive bufs; callers are
 * unaffected.)
 */
int net_recv_batch(struct net *net, struct transport_rx *rx) WUR;

/*
 * Queues b for dst; b must stay valid and unchanged until the next net_tx_flush(). 0, or
 * -ENOBUFS when the queue is full (flush, then add again).
 */
int net_tx_add(struct net_tx *tx, struct buf *b, const struct addr *dst) WUR;
/*
 * Queues a train: b holds consecutive datagrams of seg bytes each (the last may be
 * shorter), at most NET_GSO_MAX_SEGS of them and NET_GSO_MAX_BYTES in all, all for dst.
 * Sent with one UDP_SEGMENT message where the kernel can (UDP GSO), else one by one.
 */
int net_tx_add_train(struct net_tx *tx, struct buf *b, const struct addr *dst,
		     uint16_t seg) WUR;

static inline bool net_tx_full(const struct net_tx *tx)
{
	return tx->n >= NET_BATCH;
}

/*
 * Sends everything queued with sendmmsg and empties the queue; afterwards the caller owns
 * every queued buffer again (bufs[] is left as it was, only n is reset). A destination that
 * fails (unreachable, EPERM, port 0, IPv6 on an AF_INET socket) is skipped and counted in
 * tx_errors; the rest of the batch still goes out. If the socket buffer is full (EAGAIN) it
 * polls for POLLOUT, at most NET_TX_WAIT_MS in total per flush, then drops the remainder and
 * counts it in tx_dropped. Returns the number of datagrams sent, or -errno when the socket
 * itself is unusable (EBADF, ENOTSOCK, ...; the rest is dropped). With UDP_SEGMENT (GSO) a
 * later version may coalesce runs of equal-sized datagrams to one destination here.
 */
int net_tx_flush(struct net *net, struct net_tx *tx) WUR;

/*
 * Sends one datagram (control messages). Same EAGAIN policy as net_tx_flush(). 0 or -errno
 * (-EAGAIN when the buffer stayed full, -EAFNOSUPPORT for IPv6 on an AF_INET socket).
 */
int net_sendto(struct net *net, const uint8_t *data, size_t len, const struct addr *dst) WUR;

/*
 * Has the kernel drop handshake messages from a's IP address (any port) until now +
 * SOCKFILTER_SECS (sockfilter.h); with SOCKFILTER_MAX listed, the one expiring first makes
 * room. Cold path: one setsockopt. 0 or -errno (the list is then as before).
 */
int net_drop_inits_from(struct net *net, const struct addr *a, int64_t now) WUR;
/* The same for handshake messages carrying salt (salt and key hash), from any address. */
int net_drop_inits_with(struct net *net, const uint8_t salt[static SOCKFILTER_SALT_LEN],
			int64_t now) WUR;
/* Lifts the listings that expired by now (once a second). 0 or -errno. */
int net_drop_inits_expire(struct net *net, int64_t now) WUR;
/* Addresses and salts listed now. */
static inline unsigned net_drop_inits_count(const struct net *net)
{
	return net->drop_ips.n + net->drop_salts.n;
}

#endif

// SPDX-License-Identifier: GPL-3.0-or-later
/* net.c - one UDP socket (dual-stack IPv6, IPv4 fallback) with recvmmsg/sendmmsg batches. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meshvpn/log.h"
#include "meshvpn/net.h"

#define NET_TX_MAX_WAITS 4 /* POLLOUT waits per flush, so a lying POLLOUT cannot make us spin */

/* Buffers are a performance matter only: a refusal is logged and the socket used as it is. */
static void set_bufsizes(int fd)
{
	static const int opts[2][2] = {{SO_RCVBUFFORCE, SO_RCVBUF}, {SO_SNDBUFFORCE, SO_SNDBUF}};
	const int size = NET_SOCKBUF_SIZE;

	for (int i = 0; i < 2; i++) {
		/* The FORCE variants ignore net.core.[rw]mem_max but need CAP_NET_ADMIN. */
		if (setsockopt(fd, SOL_SOCKET, opts[i][0], &size, sizeof(size)) == 0)
			continue;
		if (setsockopt(fd, SOL_SOCKET, opts[i][1], &size, sizeof(size)) < 0)
			log_debug("net: cannot enlarge socket buffer: %s", strerror(errno));
	}
}

int net_open(struct net *net, const struct addr *listen)
{
	static const uint8_t any4[4];
	struct sockaddr_storage ss;
	struct addr bind_addr = {0}; /* [::]:0 */
	socklen_t sl;
	int off = 0, err = 0;

	net->src.fd = -1;
	memset(&net->t, 0, sizeof(net->t));
	net->n_nogso = 0;
	memset(&net->drop_ips, 0, sizeof(net->drop_ips));
	memset(&net->drop_salts, 0, sizeof(net->drop_salts));
	memset(&net->t.local, 0, sizeof(net->t.local));
	if (listen)
		bind_addr = *listen;

	net->family = AF_INET6;
	net->src.fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (net->src.fd < 0 && errno == EAFNOSUPPORT) {
		/* Kernel without IPv6 (ipv6.disable=1): plain IPv4, addresses still kept mapped. */
		log_info("net: IPv6 not supported by the kernel, using an IPv4 socket");
		net->family = AF_INET;
		if (addr_is_unspecified(&bind_addr))
			addr_set_v4(&bind_addr, any4, bind_addr.port);
		net->src.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (net->src.fd < 0) {
		err = -errno;
		goto out;
	}
	/* Dual-stack regardless of net.ipv6.bindv6only: IPv4 peers arrive as ::ffff:a.b.c.d. */
	if (net->family == AF_INET6 &&
	    setsockopt(net->src.fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0) {
		err = -errno;
		goto out;
	}
	set_bufsizes(net->src.fd);

	sl = addr_to_sockaddr(&bind_addr, &ss, net->family);
	if (!sl) {
		err = -EAFNOSUPPORT;
		goto out;
	}
	if (bind(net->src.fd, (struct sockaddr *)&ss, sl) < 0) {
		err = -errno;
		goto out;
	}
	sl = sizeof(ss);
	if (getsockname(net->src.fd, (struct sockaddr *)&ss, &sl) < 0) {
		err = -errno;
		goto out;
	}
	err = addr_from_sockaddr(&net->t.local, (struct sockaddr *)&ss, sl);
	/*
	 * Offloads: UDP GSO sends a train of equal datagrams in one call (segmented by the
	 * kernel or the NIC); UDP GRO hands several datagrams of one sender over in one
	 * receive. Both only change syscall counts, never what goes on the wire.
	 */
	int one = 1;
	net->gso = true;
	net->t.name = "UDP";
	net->t.up = true;
	net->gro = setsockopt(net->src.fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
out:
	if (err)
		net_close(net);
	return err;
}

void net_close(struct net *net)
{
	if (net->src.fd >= 0)
		close(net->src.fd);
	net->src.fd = -1;
}

static void init_msghdr(struct msghdr *h, struct sockaddr_storage *name, socklen_t namelen,
			struct iovec *iov)
{
	memset(h, 0, sizeof(*h));
	h->msg_name = name;
	h->msg_namelen = namelen;
	h->msg_iov = iov;
	h->msg_iovlen = 1;
}

int net_recv_batch(struct net *net, struct transport_rx *rx)
{
	struct net_rx_scratch *x = &net->rxs;
	unsigned n = MIN(rx->n, NET_BATCH), keep = 0;
	int r;

	if (!n)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		struct buf *b = rx->bufs[i];

		x->iov[i].iov_base = buf_data(b);
		x->iov[i].iov_len = b->size - b->off;
		init_msghdr(&x->msgs[i].msg_hdr, &x->names[i], sizeof(x->names[i]), &x->iov[i]);
		if (net->gro) {
			x->msgs[i].msg_hdr.msg_control = x->ctrl[i].buf;
			x->msgs[i].msg_hdr.msg_controllen = sizeof(x->ctrl[i].buf);
		}
	}
	do {
		r = recvmmsg(net->src.fd, x->msgs, n, MSG_DONTWAIT, NULL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;

	for (unsigned i = 0; i < (unsigned)r; i++) {
		struct msghdr *h = &x->msgs[i].msg_hdr;
		struct buf *b = rx->bufs[i];

		/* A datagram larger than the buffer would be a corrupt frame: drop, never fatal. */
		if ((h->msg_flags & MSG_TRUNC) ||
		    addr_from_sockaddr(&rx->src[keep], h->msg_name, h->msg_namelen) < 0) {
			net->t.stats.rx_dropped++;
			continue;
		}
		b->len = x->msgs[i].msg_len;
		uint16_t seg = 0;
		for (struct cmsghdr *c = net->gro ? CMSG_FIRSTHDR(h) : NULL; c; c = CMSG_NXTHDR(h, c)) {
			if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
			    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
				int gs;
				memcpy(&gs, CMSG_DATA(c), sizeof(gs));
				if (gs > 0 && (uint32_t)gs < b->len)
					seg = (uint16_t)gs;
			}
		}
		net->t.stats.rx_packets += seg ? (b->len + seg - 1) / seg : 1;
		net->t.stats.rx_bytes += b->len;
		rx->seg[keep] = seg;
		/* Compact: received buffers first, dropped ones behind; the set is unchanged. */
		rx->bufs[i] = rx->bufs[keep];
		rx->bufs[keep++] = b;
	}
	return (int)keep;
}

int net_tx_add_train(struct net_tx *tx, struct buf *b, const struct addr *dst, uint16_t seg)
{
	if (tx->n >= NET_BATCH)
		return -ENOBUFS;
	if (seg && (b->len > NET_GSO_MAX_BYTES || (b->len + seg - 1) / seg > NET_GSO_MAX_SEGS))
		return -EMSGSIZE;
	tx->bufs[tx->n] = b;
	tx->dst[tx->n] = *dst;
	tx->seg[tx->n] = seg && seg < b->len ? seg : 0;
	tx->n++;
	return 0;
}

int net_tx_add(struct net_tx *tx, struct buf *b, const struct addr *dst)
{
	return net_tx_add_train(tx, b, dst, 0);
}

struct tx_wait {
	int waits;
	struct timespec start;
};

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

/*
 * Socket buffer full: UDP has no flow control, so either wait or drop. A short bounded wait
 * lets a momentary burst drain without losing the batch, while a persistently full buffer
 * costs at most NET_TX_WAIT_MS of loop time per flush before we drop. True when writable.
 */
static bool wait_writable(int fd, struct tx_wait *w)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	long left;

	if (w->waits == 0)
		clock_gettime(CLOCK_MONOTONIC, &w->start);
	if (w->waits++ >= NET_TX_MAX_WAITS)
		return false;
	left = NET_TX_WAIT_MS - elapsed_ms(&w->start);
	if (left <= 0)
		return false;
	return poll(&pfd, 1, (int)left) > 0 && (pfd.revents & POLLOUT);
}

/* Errors that concern the socket, not one destination: the rest of the batch would fail too. */
static bool socket_error(int e)
{
	return e == EBADF || e == ENOTSOCK || e == EFAULT || e == EOPNOTSUPP || e == EDESTADDRREQ;
}

/* Where the message builder stands: entry k, byte offset within a train. */
struct tx_cursor {
	unsigned k;
	uint32_t off;
};

static int64_t coarse_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

/*
 * Destinations for which the kernel refused a UDP_SEGMENT send (EMSGSIZE: the path MTU is
 * below the datagram size, so the datagrams must be fragmented, which GSO never does).
 * Their trains go out datagram by datagram for a while; other peers keep GSO.
 */
static bool nogso_has(struct net *net, const struct addr *dst)
{
	if (!net->n_nogso)
		return false;
	int64_t now = coarse_seconds();
	for (unsigned i = 0; i < net->n_nogso; i++) {
		if (net->nogso[i].until <= now) {
			net->nogso[i--] = net->nogso[--net->n_nogso];
			continue;
		}
		if (addr_equal(&net->nogso[i].dst, dst))
			return true;
	}
	return false;
}

static void nogso_add(struct net *net, const struct addr *dst)
{
	unsigned i = net->n_nogso < NET_NOGSO ? net->n_nogso++ : (unsigned)(coarse_seconds() %
										  NET_NOGSO);
	net->nogso[i].dst = *dst;
	net->nogso[i].until = coarse_seconds() + NET_NOGSO_SECS;
}

/* Attaches the program for what is listed (or none). */
static int drops_apply(struct net *net)
{
	struct addr ips[SOCKFILTER_MAX] = {0};
	uint8_t salts[SOCKFILTER_MAX][SOCKFILTER_SALT_LEN];
	struct sockfilter_list l = {.ips = ips,
				    .n_ips = net->drop_ips.n,
				    .salts = (const uint8_t(*)[SOCKFILTER_SALT_LEN])salts,
				    .n_salts = net->drop_salts.n};

	for (unsigned i = 0; i < net->drop_ips.n; i++)
		memcpy(ips[i].ip, net->drop_ips.e[i].key, sizeof(ips[i].ip));
	for (unsigned i = 0; i < net->drop_salts.n; i++)
		memcpy(salts[i], net->drop_salts.e[i].key, SOCKFILTER_SALT_LEN);
	return sockfilter_apply(net->src.fd, &l);
}

/* Lists key (16 bytes, zero-padded) in d until now + SOCKFILTER_SECS, and applies. */
static int drop_put(struct net *net, struct net_droplist *d, const uint8_t key[16], int64_t now)
{
	unsigned i, n = d->n;

	for (i = 0; i < n && memcmp(d->e[i].key, key, sizeof(d->e[i].key)) != 0; i++)
		;
	if (i == n && n == SOCKFILTER_MAX) { /* full: the earliest expiry makes room */
		i = 0;
		for (unsigned k = 1; k < n; k++)
			if (d->e[k].until < d->e[i].until)
				i = k;
	}
	__typeof__(d->e[0]) old = d->e[i];
	memcpy(d->e[i].key, key, sizeof(d->e[i].key));
	d->e[i].until = now + SOCKFILTER_SECS;
	if (i == n)
		d->n++;
	int r = drops_apply(net);
	if (r < 0) {
		d->e[i] = old;
		d->n = n;
	}
	return r;
}

int net_drop_inits_from(struct net *net, const struct addr *a, int64_t now)
{
	return drop_put(net, &net->drop_ips, a->ip, now);
}

int net_drop_inits_with(struct net *net, const uint8_t salt[static SOCKFILTER_SALT_LEN],
			int64_t now)
{
	uint8_t key[16] = {0};

	memcpy(key, salt, SOCKFILTER_SALT_LEN);
	return drop_put(net, &net->drop_salts, key, now);
}

static bool drop_expire(struct net_droplist *d, int64_t now)
{
	unsigned n = d->n;

	for (unsigned i = 0; i < d->n; i++)
		if (d->e[i].until <= now)
			d->e[i--] = d->e[--d->n];
	return d->n != n;
}

int net_drop_inits_expire(struct net *net, int64_t now)
{
	bool changed = drop_expire(&net->drop_ips, now);

	changed |= drop_expire(&net->drop_salts, now);
	return changed ? drops_apply(net) : 0;
}

/* Datagrams left in the queue from cursor c on. */
static unsigned datagrams_left(const struct net_tx *tx, unsigned q, struct tx_cursor c)
{
	unsigned d = 0;
	for (unsigned k = c.k; k < q; k++, c.off = 0) {
		uint32_t len = tx->bufs[k]->len - c.off;
		d += tx->seg[k] ? (len + tx->seg[k] - 1) / tx->seg[k] : 1;
	}
	return d;
}

/* Fills msgs from the queued entries at *c; returns the number of messages built. */
static unsigned build_msgs(struct net *net, struct net_tx *tx, unsigned q, struct tx_cursor *c)
{
	unsigned m = 0;

	while (c->k < q && m < NET_BATCH) {
		struct buf *b = tx->bufs[c->k];
		uint16_t seg = tx->seg[c->k];
		socklen_t sl = addr_to_sockaddr(&tx->dst[c->k], &tx->names[m], net->family);

		if (!sl) { /* IPv6 destination on the AF_INET fallback socket */
			net->t.stats.tx_errors += seg ? (b->len - c->off + seg - 1) / seg : 1;
			c->k++, c->off = 0;
			continue;
		}
		bool gso = seg && net->gso && !nogso_has(net, &tx->dst[c->k]);
		uint32_t len = b->len - c->off;
		if (seg && !gso)
			len = MIN(len, (uint32_t)seg); /* one datagram of the train */
		tx->iov[m].iov_base = buf_data(b) + c->off;
		tx->iov[m].iov_len = len;
		init_msghdr(&tx->msgs[m].msg_hdr, &tx->names[m], sl, &tx->iov[m]);
		if (gso) {
			struct msghdr *h = &tx->msgs[m].msg_hdr;
			h->msg_control = tx->ctrl[m].buf;
			h->msg_controllen = sizeof(tx->ctrl[m].buf);
			struct cmsghdr *cm = CMSG_FIRSTHDR(h);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
		}
		tx->entry[m] = c->k;
		tx->eoff[m] = c->off;
		tx->gso_msg[m++] = gso;
		c->off += len;
		if (c->off >= b->len)
			c->k++, c->off = 0;
	}
	return m;
}

/* Datagrams a built message carries. */
static unsigned msg_datagrams(const struct net_tx *tx, unsigned m)
{
	uint16_t seg = tx->seg[tx->entry[m]];
	size_t len = tx->iov[m].iov_len;
	return tx->gso_msg[m] ? (unsigned)((len + seg - 1) / seg) : 1;
}

int net_tx_flush(struct net *net, struct net_tx *tx)
{
	struct tx_wait w = {0};
	struct tx_cursor c = {0};
	unsigned q = MIN(tx->n, NET_BATCH);
	int sent = 0;

	tx->n = 0;
	while (c.k < q) {
		unsigned n = build_msgs(net, tx, q, &c), i = 0;

		while (i < n) {
			int r = sendmmsg(net->src.fd, tx->msgs + i, n - i, MSG_DONTWAIT);

			if (r > 0) {
				for (unsigned j = i; j < i + (unsigned)r; j++) {
					unsigned d = msg_datagrams(tx, j);
					net->t.stats.tx_packets += d;
					net->t.stats.tx_bytes += tx->msgs[j].msg_len;
					sent += (int)d;
				}
				i += (unsigned)r;
				continue;
			}
			/*
			 * sendmmsg stops at the first failing message and reports its error only
			 * when it is the first of the call: retrying from there yields it here.
			 */
			int e = r < 0 ? errno : EAGAIN;
			if (e == EINTR)
				continue;
			if (e == EAGAIN || e == EWOULDBLOCK || socket_error(e)) {
				if ((e == EAGAIN || e == EWOULDBLOCK) && wait_writable(net->src.fd, &w))
					continue;
				/* the buffer stays full (or the socket is broken): drop the rest */
				unsigned d = datagrams_left(tx, q, c);
				for (unsigned j = i; j < n; j++)
					d += msg_datagrams(tx, j);
				if (socket_error(e)) {
					net->t.stats.tx_errors += d;
					return -e;
				}
				net->t.stats.tx_dropped += d;
				log_rl(LOG_DEBUG, "net: send buffer full, dropped %u datagrams", d);
				return sent;
			}
			if (tx->gso_msg[i] && (e == EMSGSIZE || e == EINVAL || e == EIO)) {
				/*
				 * The kernel refused UDP segmentation. EIO: the egress device cannot
				 * do checksum offload, so no GSO at all from now on; EMSGSIZE/EINVAL:
				 * this path's MTU is below the datagram size (only fragmentation
				 * helps, which GSO never does). Either way: rebuild from the failed
				 * message, which now goes out datagram by datagram.
				 */
				if (e == EIO) {
					log_info("net: UDP segmentation offload refused (%s); sending "
						 "datagrams one by one",
						 strerror(e));
					net->gso = false;
				} else {
					char as[ADDR_STRLEN];
					log_rl(LOG_DEBUG, "net: no UDP segmentation towards %s (%s)",
					       addr_format(&tx->dst[tx->entry[i]], as), strerror(e));
					nogso_add(net, &tx->dst[tx->entry[i]]);
				}
				c = (struct tx_cursor){.k = tx->entry[i], .off = tx->eoff[i]};
				break;
			}
			/* One destination failed (no route, EPERM by a firewall, port 0): skip it. */
			net->t.stats.tx_errors += msg_datagrams(tx, i);
			log_rl(LOG_DEBUG, "net: send failed: %s", strerror(e));
			i++;
		}
	}
	return sent;
}

int net_sendto(struct net *net, const uint8_t *data, size_t len, const struct addr *dst)
{
	struct sockaddr_storage ss;
	struct tx_wait w = {0};
	socklen_t sl = addr_to_sockaddr(dst, &ss, net->family);
	const struct sockaddr *sa = (const struct sockaddr *)&ss;

	if (!sl) {
		net->t.stats.tx_errors++;
		return -EAFNOSUPPORT;
	}
	for (;;) {
		ssize_t r = sendto(net->src.fd, data, len, MSG_DONTWAIT, sa, sl);
		if (r >= 0) {
			net->t.stats.tx_packets++;
			net->t.stats.tx_bytes += (uint64_t)r;
			return 0;
		}
		int e = errno;
		if (e == EINTR)
			continue;
		if (e == EAGAIN || e == EWOULDBLOCK) {
			if (wait_writable(net->src.fd, &w))
				continue;
			net->t.stats.tx_dropped++;
			return -EAGAIN;
		}
		net->t.stats.tx_errors++;
		return -e;
	}
}

/* ---- the UDP transport (transport.h) ---- */

static struct net *of(struct transport *t)
{
	return container_of(t, struct net, t);
}

static int udp_recv(struct transport *t, struct transport_rx *rx)
{
	return net_recv_batch(of(t), rx);
}

static int udp_queue(struct transport *t, struct buf *b, const struct addr *dst, uint16_t seg)
{
	return net_tx_add_train(&of(t)->txq, b, dst, seg);
}

static bool udp_full(const struct transport *t)
{
	return net_tx_full(&container_of(t, const struct net, t)->txq);
}

static int udp_flush(struct transport *t)
{
	struct net *net = of(t);

	return net->txq.n ? net_tx_flush(net, &net->txq) : 0;
}

static int udp_send(struct transport *t, const uint8_t *data, size_t len, const struct addr *dst)
{
	return net_sendto(of(t), data, len, dst);
}

static int udp_attach(struct transport *t, struct loop *loop, int kind)
{
	struct net *net = of(t);

	net->src.kind = kind;
	net->loop = loop;
	int r = loop_add(loop, &net->src, EPOLLIN);
	if (r < 0)
		net->loop = NULL;
	return r;
}

static int udp_event(struct transport *t, struct loop_src *src, uint32_t events)
{
	(void)t, (void)src, (void)events;
	/* EPOLLERR on UDP is a pending ICMP error: the receive reports and clears it */
	return TRANSPORT_EV_RX;
}

static void udp_free(struct transport *t)
{
	struct net *net = of(t);

	if (net->loop && net->src.fd >= 0)
		loop_del(net->loop, &net->src);
	net_close(net);
	free(net);
}

static const struct transport_ops udp_ops = {
	.recv = udp_recv,
	.queue = udp_queue,
	.full = udp_full,
	.flush = udp_flush,
	.send = udp_send,
	.attach = udp_attach,
	.event = udp_event,
	.free = udp_free,
};

int net_transport_open(const struct addr *listen, struct net **out)
{
	struct net *net = calloc(1, sizeof(*net));
	int r;

	*out = NULL;
	if (!net)
		return -ENOMEM;
	r = net_open(net, listen);
	if (r < 0) {
		free(net);
		return r;
	}
	net->t.ops = &udp_ops;
	*out = net;
	return 0;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * conn.c - one proxied client: the PROXY v2 header (optional), the TLS handshake (with
 * --tls-cert), the HTTP upgrade, then the relay between its WebSocket and its own UDP socket
 * (PROTOCOL.md 8.2), in batches. With TLS the same buffers and batches run through OpenSSL:
 * SSL_read fills the input buffer, SSL_write encrypts the output buffer into the session's
 * send buffer, which goes to the socket in one send() (tls.c).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meshvpn/log.h"
#include "meshvpn/proxyv2.h"
#include "meshvpn/websocket.h"
#include "wsproxy_int.h"

#define RX_ROUNDS  8 /* recvmmsg batches per UDP event, then other sources get their turn */
#define TCP_ROUNDS 4 /* reads per TCP event */

/* ---- per-source accounting ---- */

/*
 * A source is an IPv4 address or an IPv6 /64: one IPv6 host usually has a whole /64 to
 * pick addresses from.
 */
static size_t source_len(const struct addr *a)
{
	return addr_is_v4(a) ? sizeof(a->ip) : 8;
}

static uint32_t bucket_of(const struct addr *a)
{
	struct addr src = {0};

	memcpy(src.ip, a->ip, source_len(a));
	return addr_hash(&src) % WSP_BUCKETS;
}

static bool same_source(const struct addr *a, const struct addr *b)
{
	return source_len(a) == source_len(b) && memcmp(a->ip, b->ip, source_len(a)) == 0;
}

/* Counts c against its source address; false when that source is at its limit. */
static bool source_admit(struct wsp *s, struct conn *c)
{
	uint32_t h = bucket_of(&c->peer);
	unsigned n = 0;

	for (struct conn *o = s->buckets[h]; o; o = o->hnext)
		n += same_source(&o->peer, &c->peer);
	if (n >= s->o.max_per_source)
		return false;
	c->hnext = s->buckets[h];
	s->buckets[h] = c;
	c->in_bucket = true;
	return true;
}

static void source_release(struct wsp *s, struct conn *c)
{
	if (!c->in_bucket)
		return;
	for (struct conn **pp = &s->buckets[bucket_of(&c->peer)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
	c->in_bucket = false;
}

/* "203.0.113.7:4242" or, behind a load balancer, "203.0.113.7:4242 (via 192.0.2.2:40000)". */
static const char *who(const struct conn *c, char buf[2 * ADDR_STRLEN + 8])
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	if (addr_equal(&c->peer, &c->via))
		snprintf(buf, 2 * ADDR_STRLEN + 8, "%s", addr_format(&c->peer, a));
	else
		snprintf(buf, 2 * ADDR_STRLEN + 8, "%s (via %s)", addr_format(&c->peer, a),
			 addr_format(&c->via, b));
	return buf;
}

/* ---- output ---- */

/* EPOLLOUT is wanted while output (with TLS: encrypted output) waits for the socket. */
static void update_out_wait(struct wsp *s, struct conn *c)
{
	bool want = c->ssl ? wsp_tls_unsent(c->net) > 0 : ws_out_pending(c->ws) > 0;

	if (want == c->out_wait)
		return;
	if (loop_mod(&s->loop, &c->tcp, EPOLLIN | (want ? EPOLLOUT : 0)) == 0)
		c->out_wait = want;
}

/*
 * The TLS flush_out(): encrypts what is queued into the send buffer, as much as it takes,
 * and sends that in one go; again while the socket keeps up. During the handshake only its
 * own messages are sent.
 */
static int flush_tls(struct wsp *s, struct conn *c)
{
	char why[WSP_TLS_WHY_MAX];
	const uint8_t *p;
	size_t len, n;
	int r;

	c->tls_wait &= (uint8_t)~CT_WR_READ;
	for (;;) {
		size_t took = 0, unsent;

		while (c->state != CS_TLS && ((p = ws_out_peek(c->ws, &len)), len > 0)) {
			r = wsp_tls_write(c->ssl, p, len, &n, why);
			if (r == WSP_TLS_FAIL)
				goto fail;
			if (r != WSP_TLS_OK) {
				/* WANT_WRITE: the send buffer is full */
				if (r == WSP_TLS_WANT_READ)
					c->tls_wait |= CT_WR_READ;
				break;
			}
			ws_out_consume(c->ws, n);
			took += n;
		}
		unsent = wsp_tls_unsent(c->net);
		r = wsp_tls_send(c->net, c->tcp.fd, why);
		if (r < 0)
			goto fail;
		/* go on only while both the socket and OpenSSL make progress */
		if (r > 0 || !ws_out_pending(c->ws) || (c->tls_wait & CT_WR_READ) ||
		    c->state == CS_TLS || (!took && !unsent))
			break;
	}
	update_out_wait(s, c);
	return 0;
fail:
	c->tls_dead = true;
	conn_close(s, c, 0, "write error: %s", why);
	return -1;
}

/*
 * Writes what is queued, in as few send() calls as the kernel allows. Returns 0, or -1 when
 * the connection broke (and was closed).
 */
static int flush_out(struct wsp *s, struct conn *c)
{
	const uint8_t *p;
	size_t len;

	if (c->ssl)
		return flush_tls(s, c);
	while ((p = ws_out_peek(c->ws, &len)), len > 0) {
		ssize_t n = send(c->tcp.fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			ws_out_consume(c->ws, (size_t)n);
			if ((size_t)n < len)
				break; /* the socket buffer is full: wait for EPOLLOUT */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		conn_close(s, c, 0, "write error: %s", n < 0 ? strerror(errno) : "no progress");
		return -1;
	}
	update_out_wait(s, c);
	return 0;
}

/* ---- client -> UDP ---- */

/*
 * Sends the gathered datagrams. A full socket buffer drops the rest of the batch, a
 * datagram the kernel refuses (no route, too big, firewall) only itself: UDP semantics.
 */
static void tx_flush(struct wsp *s, struct conn *c)
{
	struct wsp_tx *tx = &s->tx;
	unsigned i = 0;

	while (i < tx->n) {
		int r = sendmmsg(c->udp.fd, tx->msgs + i, tx->n - i, MSG_DONTWAIT);
		if (r > 0) {
			for (unsigned j = i; j < i + (unsigned)r; j++)
				c->to_udp_bytes += tx->iov[j].iov_len;
			c->to_udp_msgs += (unsigned)r;
			i += (unsigned)r;
			continue;
		}
		int e = r < 0 ? errno : EAGAIN;
		if (e == EINTR)
			continue;
		if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
			c->dropped += tx->n - i;
			s->st.to_udp_errors += tx->n - i;
			log_rl(LOG_DEBUG, "UDP send buffer full, %u datagrams dropped", tx->n - i);
			break;
		}
		char a[ADDR_STRLEN];
		struct addr dst;
		if (addr_from_sockaddr(&dst, tx->msgs[i].msg_hdr.msg_name,
				       tx->msgs[i].msg_hdr.msg_namelen) < 0)
			memset(&dst, 0, sizeof(dst));
		log_rl(LOG_DEBUG, "sending a datagram to %s failed: %s", addr_format(&dst, a),
		       strerror(e));
		c->dropped++;
		s->st.to_udp_errors++;
		i++;
	}
	tx->n = 0;
	tx->used = 0;
}

/* Adds one client message (destination || datagram) to the batch. */
static void tx_add(struct wsp *s, struct conn *c, const uint8_t *msg, size_t len)
{
	struct wsp_tx *tx = &s->tx;
	size_t dl = len - ADDR_WIRE_LEN;
	struct addr dst;
	socklen_t sl;

	addr_from_wire18(&dst, msg);
	if (dst.port == 0 || addr_is_unspecified(&dst)) {
		c->dropped++;
		s->st.to_udp_bad_addr++;
		return;
	}
	if (tx->n == WSP_BATCH || tx->used + dl > WSP_TX_ARENA)
		tx_flush(s, c);
	/* an IPv6 destination on a host without IPv6 (IPv4 socket) cannot be reached */
	sl = addr_to_sockaddr(&dst, &tx->names[tx->n], c->udp_family);
	if (!sl) {
		c->dropped++;
		s->st.to_udp_bad_addr++;
		return;
	}
	memcpy(tx->arena + tx->used, msg + ADDR_WIRE_LEN, dl);
	tx->iov[tx->n].iov_base = tx->arena + tx->used;
	tx->iov[tx->n].iov_len = dl;
	tx->msgs[tx->n].msg_hdr = (struct msghdr){
	    .msg_name = &tx->names[tx->n],
	    .msg_namelen = sl,
	    .msg_iov = &tx->iov[tx->n],
	    .msg_iovlen = 1,
	};
	tx->used += dl;
	tx->n++;
}

/* ---- connection set-up ---- */

/* Its own UDP socket, bound to [::]:0 (dual-stack), or 0.0.0.0:0 without IPv6. */
static int open_udp(struct wsp *s, struct conn *c)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl = sizeof(struct sockaddr_in6);
	const int size = WSP_SOCKBUF;
	int off = 0, fd;

	c->udp_family = AF_INET6;
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EAFNOSUPPORT) {
		c->udp_family = AF_INET;
		sl = sizeof(struct sockaddr_in);
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return -errno;
	ss.ss_family = (sa_family_t)c->udp_family;
	if ((c->udp_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	/* larger buffers absorb bursts; the kernel caps them at its maximum, which is fine */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	sl = sizeof(ss);
	struct addr bound;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    addr_from_sockaddr(&bound, (struct sockaddr *)&ss, sl) < 0) {
		int err = errno ? -errno : -EINVAL;
		close(fd);
		return err;
	}
	c->udp.fd = fd;
	c->udp_port = bound.port;
	int r = loop_add(&s->loop, &c->udp, EPOLLIN);
	if (r < 0) {
		close(fd);
		c->udp.fd = -1;
	}
	return r;
}

/*
 * The host's primary address: the source the kernel picks towards 8.8.8.8 (IPv4 first,
 * then 2001:4860:4860::8888), as VpnCloud's get_ip(). connect() on UDP sends nothing.
 */
static bool primary_ip(struct addr *out)
{
	static const struct {
		int family;
		const char *dst;
	} probes[] = {{AF_INET, "8.8.8.8:53"}, {AF_INET6, "[2001:4860:4860::8888]:53"}};

	for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
		struct sockaddr_storage ss;
		struct addr a;
		socklen_t sl;
		bool ok = false;
		int fd;

		if (addr_parse(probes[i].dst, 53, &a) < 0)
			continue;
		fd = socket(probes[i].family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		sl = addr_to_sockaddr(&a, &ss, probes[i].family);
		if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
			sl = sizeof(ss);
			ok = getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
			     addr_from_sockaddr(out, (struct sockaddr *)&ss, sl) == 0 &&
			     !addr_is_unspecified(out);
		}
		close(fd);
		if (ok)
			return true;
	}
	return false;
}

/* The address the client is told is its own: the proxy's IP and the relay socket's port. */
static void public_addr(const struct wsp *s, const struct conn *c, struct addr *out)
{
	if (s->o.has_public_ip)
		*out = s->o.public_ip;
	else if (!primary_ip(out))
		*out = c->local; /* no route to the internet: where the client reached us */
	out->port = c->udp_port;
	out->scope = 0;
}

/* Answers a bad upgrade request with its HTTP error and closes. */
static void reject(struct wsp *s, struct conn *c, int err, const char *why)
{
	const char *resp = ws_http_error(err);

	s->st.upgrade_bad++;
	if (ws_queue_raw(c->ws, resp, strlen(resp)) < 0) {
		/* the output is empty before the upgrade; nothing to do if it is not */
	}
	conn_close(s, c, 0, "bad upgrade request: %s", why);
}

/* Results of the input stages: go on with the next stage, wait for bytes, or it is gone. */
enum { STAGE_NEXT = 0, STAGE_MORE = 1, STAGE_GONE = -1 };

/* With --tls-cert: the session on the socket, its handshake next. */
static int start_tls(struct wsp *s, struct conn *c)
{
	c->ssl = wsp_tls_session(s->tls, c->tcp.fd, &c->net);
	if (!c->ssl) {
		s->st.accept_errors++;
		c->tls_dead = true;
		conn_close(s, c, 0, "out of memory for a TLS session");
		return STAGE_GONE;
	}
	c->state = CS_TLS;
	return STAGE_NEXT;
}

/*
 * How many bytes may still belong to the PROXY header: with TLS, the bytes behind it are
 * the ClientHello, which OpenSSL reads from the socket itself, so the header is read to its
 * exact end (the fixed part first, then the length it gives).
 */
static size_t proxy_need(const struct conn *c)
{
	size_t len, total;
	const uint8_t *p = ws_in_peek(c->ws, &len);

	if (len < PROXYV2_FIXED_LEN)
		return PROXYV2_FIXED_LEN - len;
	total = PROXYV2_FIXED_LEN + ((size_t)p[14] << 8 | p[15]);
	return total > len ? total - len : 1; /* complete: stage_proxy takes it first */
}

static int stage_proxy(struct wsp *s, struct conn *c)
{
	char w[2 * ADDR_STRLEN + 8];
	struct proxyv2 h;
	size_t len;
	const uint8_t *p = ws_in_peek(c->ws, &len);
	int r = proxyv2_parse(p, len, &h);

	if (r == 0 && len < WSP_PROXY_HDR_MAX)
		return STAGE_MORE;
	if (r <= 0 || r > WSP_PROXY_HDR_MAX) {
		s->st.proxy_bad++;
		conn_close(s, c, 0, "invalid PROXY v2 header (%s)",
			   r == -EPROTONOSUPPORT ? "unsupported version, command or family"
			   : r == -EBADMSG	 ? "malformed"
						 : "too long");
		return STAGE_GONE;
	}
	ws_in_consume(c->ws, (size_t)r);
	/* LOCAL (a health check) and headers without an address: the TCP peer stands */
	if (h.flags & PROXYV2_HAS_ADDR)
		c->peer = h.src;
	if (!source_admit(s, c)) {
		s->st.refused_source++;
		conn_close(s, c, 0, "refused: %u connections from this address already",
			   s->o.max_per_source);
		return STAGE_GONE;
	}
	log_rl(LOG_DEBUG, "client %s: PROXY header (%s)", who(c, w),
	       h.command == PROXYV2_CMD_LOCAL ? "LOCAL" : "PROXY");
	if (s->tls)
		return start_tls(s, c);
	c->state = CS_HANDSHAKE;
	return STAGE_NEXT;
}

/* Advances the TLS handshake; STAGE_NEXT once complete (the upgrade request is next). */
static int stage_tls(struct wsp *s, struct conn *c)
{
	char why[WSP_TLS_WHY_MAX], werr[WSP_TLS_WHY_MAX], v[96], w[2 * ADDR_STRLEN + 8];
	int r, f;

	for (;;) {
		r = wsp_tls_accept(c->ssl, why);
		/* the server's flight, or the alert of a failure */
		f = wsp_tls_send(c->net, c->tcp.fd, werr);
		if (r == WSP_TLS_EOF || r == WSP_TLS_FAIL) {
			/* plain HTTP on the TLS port, a client refusing the certificate */
			s->st.tls_failed++;
			c->tls_dead = true;
			conn_close(s, c, 0, "TLS handshake failed: %s", why);
			return STAGE_GONE;
		}
		if (f < 0) {
			conn_close(s, c, 0, "write error during the TLS handshake: %s", werr);
			return STAGE_GONE;
		}
		if (r == WSP_TLS_OK)
			break;
		/* WANT_WRITE with the send buffer emptied: go on at once */
		if (r != WSP_TLS_WANT_WRITE || f > 0)
			return STAGE_MORE;
	}
	c->state = CS_HANDSHAKE;
	log_rl(LOG_DEBUG, "client %s: %s", who(c, w), wsp_tls_version(c->ssl, v, sizeof(v)));
	return STAGE_NEXT;
}

static int stage_upgrade(struct wsp *s, struct conn *c)
{
	char resp[256], w[2 * ADDR_STRLEN + 8], a[ADDR_STRLEN], v[96] = "";
	uint8_t wire[ADDR_WIRE_LEN];
	struct ws_request req;
	struct addr pub;
	const char *why = "";
	size_t len;
	const uint8_t *p = ws_in_peek(c->ws, &len);
	int end = ws_http_end(p, len), r;

	if (end == 0)
		return STAGE_MORE;
	if (end < 0) {
		reject(s, c, -EBADMSG, "header too long");
		return STAGE_GONE;
	}
	r = ws_parse_request(p, (size_t)end, &req, &why);
	if (r < 0) {
		reject(s, c, r, why);
		return STAGE_GONE;
	}
	ws_in_consume(c->ws, (size_t)end);
	r = open_udp(s, c);
	if (r < 0) {
		conn_close(s, c, 0, "cannot open a UDP socket: %s", strerror(-r));
		return STAGE_GONE;
	}
	public_addr(s, c, &pub);
	addr_to_wire18(&pub, wire);
	/* the output buffer is empty: the response and the first message always fit */
	r = ws_build_response(req.key, resp, sizeof(resp));
	if (r < 0 || ws_queue_raw(c->ws, resp, (size_t)r) < 0 ||
	    ws_queue_binary(c->ws, NULL, 0, wire, sizeof(wire)) < 0)
		bug("wsproxy: the 101 response does not fit an empty output buffer");
	c->state = CS_OPEN;
	c->t_ping = s->now;
	s->st.upgraded++;
	if (c->ssl)
		snprintf(v, sizeof(v), ", %s", SSL_get_version(c->ssl));
	log_rl(LOG_INFO, "client %s connected (path %s%s), relay port %u, announced %s", who(c, w),
	       req.path, v, c->udp_port, addr_format(&pub, a));
	return STAGE_NEXT;
}

static int stage_relay(struct wsp *s, struct conn *c)
{
	struct ws_msg m;
	int ev;

	while ((ev = ws_next(c->ws, &m)) == WS_BINARY) {
		if (m.len < ADDR_WIRE_LEN) {
			/* VpnCloud ends such a connection with an error */
			tx_flush(s, c);
			s->st.ws_errors++;
			conn_close(s, c, WS_CLOSE_PROTOCOL,
				   "message of %zu bytes, shorter than an address", m.len);
			return STAGE_GONE;
		}
		tx_add(s, c, m.data, m.len);
	}
	tx_flush(s, c);
	if (ev == WS_NEED_MORE)
		return STAGE_MORE;
	if (ev == WS_CLOSED) {
		conn_close(s, c, 0, "closed by the client (code %u)", m.close_code);
		return STAGE_GONE;
	}
	s->st.ws_errors++;
	if (ev == -EMSGSIZE)
		conn_close(s, c, 0, "message longer than %zu bytes", s->o.max_msg);
	else
		conn_close(s, c, 0, "WebSocket protocol error");
	return STAGE_GONE;
}

/* Runs the received bytes through the stages. STAGE_MORE, or STAGE_GONE when closed. */
static int process_input(struct wsp *s, struct conn *c)
{
	int r = STAGE_NEXT;

	while (r == STAGE_NEXT) {
		switch (c->state) {
		case CS_PROXY:
			r = stage_proxy(s, c);
			break;
		case CS_TLS:
			/* the handshake reads the socket itself (read_input) */
			r = STAGE_MORE;
			break;
		case CS_HANDSHAKE:
			r = stage_upgrade(s, c);
			break;
		case CS_OPEN:
			r = stage_relay(s, c);
			break;
		default:
			r = STAGE_GONE;
		}
	}
	return r;
}

/* ---- events ---- */

void conn_accept(struct wsp *s, int fd, const struct addr *peer)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct conn *c = calloc(1, sizeof(*c));
	const int one = 1;
	int r;

	if (!c) {
		close(fd);
		s->st.accept_errors++;
		log_rl(LOG_WARN, "out of memory for a new connection");
		return;
	}
	c->tcp.fd = fd;
	c->tcp.kind = WSP_KIND_TCP;
	c->udp.fd = -1;
	c->udp.kind = WSP_KIND_UDP;
	c->peer = c->via = *peer;
	c->id = ++s->next_id;
	c->t_open = c->t_rx = c->t_ping = s->now;
	c->state = s->o.proxy_protocol ? CS_PROXY : CS_HANDSHAKE;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    addr_from_sockaddr(&c->local, (struct sockaddr *)&ss, sl) < 0)
		memset(&c->local, 0, sizeof(c->local));
	/* small datagrams must not wait for Nagle */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;

	r = ws_conn_new(&c->ws, WS_ROLE_SERVER, WSP_IN_BUF, WSP_OUT_BUF, s->o.max_msg);
	if (r < 0) {
		s->st.accept_errors++;
		conn_close(s, c, 0, "cannot allocate buffers: %s", strerror(-r));
		return;
	}
	/* behind a load balancer the real address is only known from the PROXY header */
	if (!s->o.proxy_protocol && !source_admit(s, c)) {
		s->st.refused_source++;
		conn_close(s, c, 0, "refused: %u connections from this address already",
			   s->o.max_per_source);
		return;
	}
	if (!s->o.proxy_protocol && s->tls && start_tls(s, c) == STAGE_GONE)
		return;
	r = loop_add(&s->loop, &c->tcp, EPOLLIN);
	if (r < 0) {
		conn_close(s, c, 0, "cannot watch the socket: %s", strerror(-r));
		return;
	}
	char w[2 * ADDR_STRLEN + 8];
	log_rl(LOG_DEBUG, "connection %llu from %s", (unsigned long long)c->id, who(c, w));
}

/* Puts c on the ready list (once). */
static void ready_add(struct wsp *s, struct conn *c)
{
	if (c->ready)
		return;
	c->ready = true;
	c->rnext = s->ready;
	s->ready = c;
}

static void ready_remove(struct wsp *s, struct conn *c)
{
	if (!c->ready)
		return;
	for (struct conn **pp = &s->ready; *pp; pp = &(*pp)->rnext) {
		if (*pp == c) {
			*pp = c->rnext;
			break;
		}
	}
	c->ready = false;
}

/* Input stati of read_some(). */
enum io_status {
	IO_MORE,    /* the room was filled, or it can go on: there may be more */
	IO_DRAINED, /* nothing more for now (the socket will say when) */
	IO_EOF,
	IO_ERROR, /* why says what */
};

/* Reads into p[0..room): *got bytes (with TLS also before EOF and errors) and a status. */
static enum io_status read_some(struct conn *c, uint8_t *p, size_t room, size_t *got,
				char why[static WSP_TLS_WHY_MAX])
{
	*got = 0;
	if (c->ssl) {
		c->tls_wait &= (uint8_t)~CT_RD_WRITE;
		switch (wsp_tls_read(c->ssl, p, room, got, why)) {
		case WSP_TLS_OK:
			return IO_MORE;
		case WSP_TLS_WANT_WRITE:
			/* a reply of OpenSSL's own (a key update) and the send buffer is full */
			switch (wsp_tls_send(c->net, c->tcp.fd, why)) {
			case 0:
				return IO_MORE;
			case 1:
				c->tls_wait |= CT_RD_WRITE;
				return IO_DRAINED;
			default:
				return IO_ERROR;
			}
		case WSP_TLS_WANT_READ:
			return IO_DRAINED;
		case WSP_TLS_EOF:
			return IO_EOF;
		default:
			c->tls_dead = true;
			return IO_ERROR;
		}
	}
	for (;;) {
		ssize_t n = read(c->tcp.fd, p, room);

		if (n > 0) {
			*got = (size_t)n;
			return (size_t)n == room ? IO_MORE : IO_DRAINED;
		}
		if (n == 0)
			return IO_EOF;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return IO_DRAINED;
		snprintf(why, WSP_TLS_WHY_MAX, "%s", strerror(errno));
		return IO_ERROR;
	}
}

/* Reads and processes input for a few rounds, then writes what it produced. */
static void read_input(struct wsp *s, struct conn *c)
{
	char why[WSP_TLS_WHY_MAX];
	enum io_status st = IO_DRAINED;

	for (int round = 0; round < TCP_ROUNDS; round++) {
		size_t room, n;
		uint8_t *p;
		int r;

		if (c->state == CS_TLS) {
			r = stage_tls(s, c);
			if (r == STAGE_GONE)
				return;
			if (r == STAGE_MORE) {
				st = IO_DRAINED;
				break;
			}
		}
		p = ws_in_buf(c->ws, &room);
		/* cannot happen: headers are bounded below the buffer size, frames drain it */
		if (room == 0) {
			conn_close(s, c, WS_CLOSE_INTERNAL, "input buffer full");
			return;
		}
		if (c->state == CS_PROXY && s->tls)
			room = MIN(room, proxy_need(c));
		st = read_some(c, p, room, &n, why);
		if (n > 0) {
			ws_in_commit(c->ws, n);
			c->t_rx = s->now;
			if (process_input(s, c) == STAGE_GONE)
				return;
		}
		if (st == IO_MORE)
			continue;
		if (st == IO_DRAINED)
			break;
		if (st == IO_EOF)
			conn_close(s, c, 0,
				   c->state == CS_OPEN ? "connection closed without a close frame"
						       : "connection closed by the client");
		else
			conn_close(s, c, 0, "read error: %s", why);
		return;
	}
	/* out of rounds with records still inside OpenSSL: the socket will not announce them */
	if (st == IO_MORE && c->ssl && SSL_has_pending(c->ssl))
		ready_add(s, c);
	flush_out(s, c);
}

void conn_tcp_event(struct wsp *s, struct conn *c, uint32_t events)
{
	bool in = events & (EPOLLIN | EPOLLHUP | EPOLLERR), out = events & EPOLLOUT;

	/* a TLS call that waited for the other direction is retried when that one is ready */
	if (c->ssl) {
		if (out && (c->state == CS_TLS || (c->tls_wait & CT_RD_WRITE)))
			in = true;
		if (in && (c->tls_wait & CT_WR_READ))
			out = true;
	}
	if (out && flush_out(s, c) < 0)
		return;
	if (in)
		read_input(s, c);
}

void conn_run_ready(struct wsp *s)
{
	struct conn *list = s->ready, *c;

	/* a connection that fills its rounds again goes on the next list, after a wait(0) */
	s->ready = NULL;
	while ((c = list)) {
		list = c->rnext;
		c->ready = false;
		if (c->state != CS_DEAD)
			read_input(s, c);
	}
}

void conn_udp_event(struct wsp *s, struct conn *c, uint32_t events)
{
	struct wsp_rx *rx = &s->rx;
	uint8_t wire[ADDR_WIRE_LEN];
	bool full = false;
	struct addr src;

	if (events & EPOLLERR) {
		/* a pending socket error (only with IP_RECVERR, never set here): read it so a
		 * level-triggered EPOLLERR cannot spin */
		int err = 0;
		socklen_t el = sizeof(err);
		(void)getsockopt(c->udp.fd, SOL_SOCKET, SO_ERROR, &err, &el);
	}
	if (!(events & EPOLLIN))
		return;
	for (int round = 0; round < RX_ROUNDS; round++) {
		for (unsigned i = 0; i < WSP_BATCH; i++) {
			rx->msgs[i].msg_hdr.msg_namelen = sizeof(rx->names[i]);
			rx->msgs[i].msg_hdr.msg_flags = 0;
		}
		int n = recvmmsg(c->udp.fd, rx->msgs, WSP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_rl(LOG_DEBUG, "UDP receive error: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &rx->msgs[i].msg_hdr;
			size_t len = rx->msgs[i].msg_len;
			int r = -ENOBUFS;

			if ((h->msg_flags & MSG_TRUNC) ||
			    addr_from_sockaddr(&src, h->msg_name, h->msg_namelen) < 0) {
				c->dropped++;
				s->st.to_ws_dropped++;
				continue;
			}
			addr_to_wire18(&src, wire);
			if (!full) {
				r = ws_queue_binary(c->ws, wire, sizeof(wire), rx->iov[i].iov_base,
						    len);
				/* the output buffer is full: write it out, then try once more */
				if (r == -ENOBUFS) {
					if (flush_out(s, c) < 0)
						return;
					r = ws_queue_binary(c->ws, wire, sizeof(wire),
							    rx->iov[i].iov_base, len);
					full = r == -ENOBUFS;
				}
			}
			if (r == 0) {
				c->to_ws_msgs++;
				c->to_ws_bytes += len;
			} else {
				/* a client too slow for its traffic loses them, as over UDP */
				c->dropped++;
				s->st.to_ws_dropped++;
			}
		}
		if (n < WSP_BATCH)
			break;
	}
	flush_out(s, c);
}

void conn_tick(struct wsp *s, struct conn *c)
{
	int64_t age = s->now - c->t_open, idle = s->now - c->t_rx;
	int64_t ping_ms = s->o.idle_timeout ? MIN(WSP_PING_INTERVAL_MS,
						  MAX(1000, (int64_t)s->o.idle_timeout * 1000 / 3))
					    : WSP_PING_INTERVAL_MS;

	switch (c->state) {
	case CS_PROXY:
		if (age >= WSP_PROXY_TIMEOUT_MS) {
			s->st.proxy_timeout++;
			conn_close(s, c, 0, "no PROXY v2 header within %d s",
				   WSP_PROXY_TIMEOUT_MS / 1000);
		}
		break;
	case CS_TLS:
		/* the handshake is part of the upgrade's time */
		if (age >= WSP_HANDSHAKE_TIMEOUT_MS) {
			s->st.upgrade_timeout++;
			conn_close(s, c, 0, "no TLS handshake within %d s",
				   WSP_HANDSHAKE_TIMEOUT_MS / 1000);
		}
		break;
	case CS_HANDSHAKE:
		if (age >= WSP_HANDSHAKE_TIMEOUT_MS) {
			s->st.upgrade_timeout++;
			conn_close(s, c, 0, "no WebSocket upgrade within %d s",
				   WSP_HANDSHAKE_TIMEOUT_MS / 1000);
		}
		break;
	case CS_OPEN:
		if (s->o.idle_timeout && idle >= (int64_t)s->o.idle_timeout * 1000) {
			s->st.idle_closed++;
			conn_close(s, c, WS_CLOSE_GOING_AWAY, "idle for %u s (no answer to pings)",
				   s->o.idle_timeout);
			break;
		}
		/* a live client answers with a pong, which counts as traffic */
		if (idle >= ping_ms && s->now - c->t_ping >= ping_ms) {
			c->t_ping = s->now;
			if (ws_queue_ping(c->ws, NULL, 0) == 0)
				flush_out(s, c);
		}
		break;
	default:
		break;
	}
}

/*
 * conn_close()'s last writes with TLS: what is queued, as far as the send buffer takes it,
 * then close_notify (not after a fatal error), then one send; nothing waits.
 */
static void close_tls(struct conn *c)
{
	char why[WSP_TLS_WHY_MAX];
	const uint8_t *p;
	size_t len, n;

	if (c->state != CS_TLS && !c->tls_dead) {
		while ((p = ws_out_peek(c->ws, &len)),
		       len > 0 && wsp_tls_write(c->ssl, p, len, &n, why) == WSP_TLS_OK)
			ws_out_consume(c->ws, n);
		if (!ws_out_pending(c->ws))
			wsp_tls_shutdown(c->ssl);
	}
	if (wsp_tls_send(c->net, c->tcp.fd, why) != 0) {
		/* the peer is gone or not reading: nothing more to do */
	}
}

void conn_close(struct wsp *s, struct conn *c, uint16_t code, const char *fmt, ...)
{
	char why[200], w[2 * ADDR_STRLEN + 8];
	va_list ap;

	if (c->state == CS_DEAD)
		return;
	if (c->ws) {
		const uint8_t *p;
		size_t len;
		if (c->state == CS_OPEN && code && !ws_close_sent(c->ws) &&
		    ws_queue_close(c->ws, code) < 0) {
			/* no room for the close frame: the TCP close has to do */
		}
		/* one last attempt for the close frame or the HTTP error */
		p = ws_out_peek(c->ws, &len);
		if (c->ssl)
			close_tls(c);
		else if (len && send(c->tcp.fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* the peer is gone or not reading: nothing more to do */
		}
	}
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->state == CS_OPEN)
		log_rl(LOG_INFO,
		       "client %s closed: %s; to UDP %llu datagrams (%llu bytes), to the client "
		       "%llu (%llu bytes), %llu dropped",
		       who(c, w), why, (unsigned long long)c->to_udp_msgs,
		       (unsigned long long)c->to_udp_bytes, (unsigned long long)c->to_ws_msgs,
		       (unsigned long long)c->to_ws_bytes, (unsigned long long)c->dropped);
	else
		log_rl(LOG_INFO, "client %s: %s", who(c, w), why);

	s->st.to_udp_msgs += c->to_udp_msgs;
	s->st.to_udp_bytes += c->to_udp_bytes;
	s->st.to_ws_msgs += c->to_ws_msgs;
	s->st.to_ws_bytes += c->to_ws_bytes;
	s->st.closed++;
	loop_del(&s->loop, &c->tcp);
	close(c->tcp.fd);
	c->tcp.fd = -1;
	if (c->udp.fd >= 0) {
		loop_del(&s->loop, &c->udp);
		close(c->udp.fd);
		c->udp.fd = -1;
	}
	source_release(s, c);
	ready_remove(s, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	c->state = CS_DEAD;
	/* events of this batch may still point at it: freed by conn_reap() */
	c->next = s->dead;
	s->dead = c;
}

void conn_reap(struct wsp *s)
{
	while (s->dead) {
		struct conn *c = s->dead;
		s->dead = c->next;
		ws_conn_free(c->ws);
		SSL_free(c->ssl);
		BIO_free(c->net);
		free(c);
	}
}

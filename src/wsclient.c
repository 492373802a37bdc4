// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * wsclient.c - the WebSocket proxy client transport (PROTOCOL.md 8.3): a worker dials (TCP,
 * TLS, HTTP upgrade, the first message with the public address), the loop moves datagrams
 * as binary messages in large batches and reconnects with back-off when the connection ends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "meshvpn/chan.h"
#include "meshvpn/log.h"
#include "meshvpn/websocket.h"
#include "meshvpn/wsclient.h"

#define WSCLIENT_MAX_MSG (ADDR_WIRE_LEN + 65535) /* address + the largest datagram */
#define WSCLIENT_TX_WAIT_MS 10			 /* per flush, as net.c's NET_TX_WAIT_MS */
#define WSCLIENT_PING_SECS 30 /* a ping after this long without sending (idle proxies) */
#define WSCLIENT_WHY_LEN 160
/* room that must be free before queueing: a whole train of framed messages */
#define WSCLIENT_QUEUE_ROOM \
	(TRANSPORT_TRAIN_BYTES + TRANSPORT_TRAIN_SEGS * (ADDR_WIRE_LEN + WS_FRAME_HDR_MAX))

/* What the worker needs; its own copy, freed by the chan's release. */
struct dialer {
	char *host;
	uint16_t port;
	char *path;
	SSL_CTX *ctx; /* NULL: plain ws:// */
};

struct dial_req {
	unsigned gen;
};

struct dial_reply {
	unsigned gen;
	int err; /* 0 or -errno */
	char why[WSCLIENT_WHY_LEN];
	int fd;
	SSL *ssl;
	struct ws_conn *ws;
	struct addr public;
};

enum ws_state {
	WSC_DOWN,	/* waiting for the next attempt */
	WSC_CONNECTING, /* the worker dials */
	WSC_UP,
};

struct wsclient {
	struct transport t;
	char url[WS_HOST_MAX + WS_PATH_MAX + 16]; /* for logs */
	struct loop *loop;
	struct chan *chan;
	struct loop_src sock; /* the connection (fd -1 when there is none) */
	struct loop_src wake; /* eventfd: work for the loop that no fd would announce */
	SSL *ssl;
	struct ws_conn *ws;
	enum ws_state state;
	unsigned gen;	    /* of the attempt in progress */
	int64_t now;	    /* as of the last tick */
	int64_t next_try;   /* DOWN: when to dial again */
	unsigned retry;	    /* seconds, doubled per failure */
	int64_t last_out;   /* last write */
	bool want_out;	    /* EPOLLOUT registered */
	bool congested;	    /* a flush waited in vain; no more waiting until it drains */
	unsigned report;    /* TRANSPORT_EV_* for the next wake event */
	unsigned failures;  /* consecutive failed attempts (for the log) */
};

/* ---- blocking or not: one read/write for plain and TLS connections ---- */

/* An SSL_read()/SSL_write() result r as io_read()/io_write() return it; eof: for a bare EOF. */
static ssize_t ssl_result(SSL *ssl, int r, ssize_t eof)
{
	if (r > 0)
		return r;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return eof;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		return errno ? -errno : eof;
	default:
		ERR_clear_error();
		return -EPROTO;
	}
}

/* >0 bytes, 0 at the end of the stream, -EAGAIN, or -errno (-EPROTO for TLS errors). */
static ssize_t io_read(int fd, SSL *ssl, void *p, size_t n)
{
	if (!ssl) {
		ssize_t r = read(fd, p, n);
		return r >= 0 ? r : -errno;
	}
	return ssl_result(ssl, SSL_read(ssl, p, (int)MIN(n, (size_t)INT32_MAX)), 0);
}

/* >0 bytes written, -EAGAIN, or -errno (-EPIPE when the peer has gone). */
static ssize_t io_write(int fd, SSL *ssl, const void *p, size_t n)
{
	if (!ssl) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
		return r >= 0 ? r : -errno;
	}
	return ssl_result(ssl, SSL_write(ssl, p, (int)MIN(n, (size_t)INT32_MAX)), -EPIPE);
}

/* ---- the worker: dial one connection ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int PRINTF(3, 4) why(struct dial_reply *rp, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rp->why, sizeof(rp->why), fmt, ap);
	va_end(ap);
	return err;
}

/* A TCP connection to one of the host's addresses, within WSCLIENT_CONNECT_MS each. */
static int tcp_connect(const struct dialer *d, struct dial_reply *rp)
{
	struct addr addrs[8];
	char as[ADDR_STRLEN];
	int n = addr_resolve(d->host, d->port, addrs, (int)ARRAY_SIZE(addrs)), err = -ENOENT;

	if (n < 0)
		return why(rp, n, "cannot resolve %s: %s", d->host,
			   n == -ENOENT ? "no such host" : strerror(-n));
	for (int i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		int fam = addr_is_v4(&addrs[i]) ? AF_INET : AF_INET6;
		socklen_t sl = addr_to_sockaddr(&addrs[i], &ss, fam);
		int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
			err = -errno;
		} else {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			int soerr = 0;
			socklen_t len = sizeof(soerr);
			int r = poll(&pfd, 1, WSCLIENT_CONNECT_MS);
			if (r == 0)
				soerr = ETIMEDOUT;
			else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
				soerr = errno;
			if (!soerr)
				return fd;
			err = -soerr;
		}
		close(fd);
		why(rp, err, "cannot connect to %s: %s", addr_format(&addrs[i], as),
		    strerror(-err));
	}
	return err;
}

/* Reads more into the connection's input (blocking, with the socket's time-out). */
static int read_more(int fd, SSL *ssl, struct ws_conn *ws, struct dial_reply *rp)
{
	size_t room;
	uint8_t *p = ws_in_buf(ws, &room);

	if (!room)
		return why(rp, -EMSGSIZE, "the proxy's answer is too large");
	ssize_t r = io_read(fd, ssl, p, room);
	if (r > 0) {
		ws_in_commit(ws, (size_t)r);
		return 0;
	}
	if (r == 0)
		return why(rp, -ECONNRESET, "the proxy closed the connection");
	return why(rp, (int)r, "reading from the proxy: %s",
		   r == -EAGAIN ? "timed out" : strerror((int)-r));
}

static int write_all(int fd, SSL *ssl, struct ws_conn *ws, struct dial_reply *rp)
{
	size_t len;
	const uint8_t *p;

	while ((p = ws_out_peek(ws, &len)) && len) {
		ssize_t r = io_write(fd, ssl, p, len);
		if (r <= 0)
			return why(rp, r ? (int)r : -EPIPE, "writing to the proxy: %s",
				   r == -EAGAIN ? "timed out" : strerror(r ? (int)-r : EPIPE));
		ws_out_consume(ws, (size_t)r);
	}
	return 0;
}

static bool is_ip_literal(const char *host)
{
	uint8_t b[16];
	return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}

static int tls_start(const struct dialer *d, int fd, SSL **out, struct dial_reply *rp)
{
	SSL *ssl = SSL_new(d->ctx);

	if (!ssl)
		return why(rp, -ENOMEM, "TLS: out of memory");
	SSL_set_fd(ssl, fd);
	if (is_ip_literal(d->host)) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), d->host);
	} else {
		SSL_set_tlsext_host_name(ssl, d->host);
		SSL_set1_host(ssl, d->host);
	}
	if (SSL_connect(ssl) != 1) {
		long v = SSL_get_verify_result(ssl);
		unsigned long e = ERR_get_error();
		char msg[120] = "";
		if (e)
			ERR_error_string_n(e, msg, sizeof(msg));
		ERR_clear_error();
		SSL_free(ssl);
		if (v != X509_V_OK)
			return why(rp, -EPROTO, "TLS: certificate of %s not accepted: %s", d->host,
				   X509_verify_cert_error_string(v));
		return why(rp, -EPROTO, "TLS handshake with %s failed%s%s", d->host, *msg ? ": " : "",
			   msg);
	}
	*out = ssl;
	return 0;
}

static int dial(const struct dialer *d, struct chan *c, struct dial_reply *rp)
{
	struct ws_conn *ws = NULL;
	SSL *ssl = NULL;
	char key[WS_KEY_LEN + 1], req[WS_HTTP_MAX];
	const char *reason = NULL;
	int one = 1, fd, err;

	fd = tcp_connect(d, rp);
	if (fd < 0)
		return fd;
	/* the rest in blocking mode, bounded by socket time-outs */
	struct timeval tv = {.tv_sec = WSCLIENT_HANDSHAKE_MS / 1000};
	if (fcntl(fd, F_SETFL, 0) < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		err = why(rp, -errno, "socket set-up: %s", strerror(errno));
		goto fail;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (d->ctx && (err = tls_start(d, fd, &ssl, rp)) < 0)
		goto fail;
	err = ws_conn_new(&ws, WS_ROLE_CLIENT, WSCLIENT_BUF, WSCLIENT_BUF, WSCLIENT_MAX_MSG);
	if (err < 0) {
		why(rp, err, "out of memory");
		goto fail;
	}
	ws_make_key(key);
	int len = ws_build_request(req, sizeof(req), d->host, d->port, d->path, key);
	if (len < 0) {
		err = why(rp, len, "cannot build the upgrade request for %s", d->host);
		goto fail;
	}
	if ((err = ws_queue_raw(ws, req, (size_t)len)) < 0 || (err = write_all(fd, ssl, ws, rp)) < 0)
		goto fail;
	/* the 101 response */
	for (;;) {
		err = wsclient_upgrade_input(ws, key, &reason);
		if (err == -EMSGSIZE) {
			why(rp, err, "the proxy's HTTP answer is too long");
			goto fail;
		}
		if (err < 0) {
			why(rp, err, "the proxy refused the upgrade: %s", reason);
			goto fail;
		}
		if (err > 0)
			break;
		if (chan_quitting(c) || (err = read_more(fd, ssl, ws, rp)) < 0)
			goto fail;
	}
	/* the first binary message: the public address (pings are answered meanwhile) */
	for (;;) {
		struct ws_msg m;
		int e = ws_next(ws, &m);
		if (e == WS_BINARY) {
			const uint8_t *rest;
			size_t n;
			if (wsclient_unwrap(&m, m.len, &rp->public, &rest, &n) < 0) {
				err = why(rp, -EBADMSG, "the proxy's first message is %zu bytes, not an "
							"address",
					  m.len);
				goto fail;
			}
			break;
		}
		if (e == WS_NEED_MORE) {
			if ((err = write_all(fd, ssl, ws, rp)) < 0 || chan_quitting(c) ||
			    (err = read_more(fd, ssl, ws, rp)) < 0)
				goto fail;
			continue;
		}
		err = why(rp, e == WS_CLOSED ? -ECONNRESET : e, "the proxy %s",
			  e == WS_CLOSED ? "closed the connection" : "broke the WebSocket protocol");
		goto fail;
	}
	if (chan_quitting(c)) {
		err = -ECANCELED;
		goto fail;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		err = why(rp, -errno, "socket set-up: %s", strerror(errno));
		goto fail;
	}
	rp->fd = fd;
	rp->ssl = ssl;
	rp->ws = ws;
	return 0;
fail:
	ws_conn_free(ws);
	SSL_free(ssl);
	close(fd);
	return err < 0 ? err : -EIO;
}

static void work(struct chan *c, void *arg)
{
	const struct dialer *d = arg;
	struct dial_req rq;

	while (chan_wait(c, &rq, CHAN_NO_DEADLINE) == 1) {
		struct dial_reply rp = {.gen = rq.gen, .fd = -1};
		rp.err = dial(d, c, &rp);
		chan_reply(c, &rp);
	}
}

static void drop_reply(void *reply)
{
	struct dial_reply *rp = reply;

	if (rp->err)
		return;
	ws_conn_free(rp->ws);
	SSL_free(rp->ssl);
	close(rp->fd);
}

static void release(void *arg)
{
	struct dialer *d = arg;

	free(d->host);
	free(d->path);
	SSL_CTX_free(d->ctx);
	free(d);
}

/* ---- the loop side ---- */

static struct wsclient *of(struct transport *t)
{
	return container_of(t, struct wsclient, t);
}

static void wake(struct wsclient *c)
{
	uint64_t one = 1;
	ssize_t w = write(c->wake.fd, &one, sizeof(one));
	(void)w;
}

/* Ends the connection; the tick dials again after the back-off. */
static void down(struct wsclient *c, const char *reason)
{
	if (c->state != WSC_UP)
		return;
	log_warn("Connection to the WebSocket proxy %s lost: %s", c->url, reason);
	loop_del(c->loop, &c->sock);
	SSL_free(c->ssl);
	close(c->sock.fd);
	ws_conn_free(c->ws);
	c->ssl = NULL;
	c->ws = NULL;
	c->sock.fd = -1;
	c->state = WSC_DOWN;
	c->t.up = false;
	c->want_out = c->congested = false;
	c->retry = WSCLIENT_RETRY_MIN;
	c->next_try = c->now + c->retry;
	c->report |= TRANSPORT_EV_DOWN;
	wake(c);
}

static void dial_start(struct wsclient *c)
{
	struct dial_req rq = {.gen = ++c->gen};

	if (chan_submit(c->chan, &rq) == 0)
		c->state = WSC_CONNECTING;
	else
		c->next_try = c->now + 1;
}

/* Sends what is pending; waits for room at most budget_ms. False: the connection ended. */
static bool write_out(struct wsclient *c, int budget_ms)
{
	int64_t start = 0;
	size_t len;
	const uint8_t *p;

	while ((p = ws_out_peek(c->ws, &len)) && len) {
		ssize_t r = io_write(c->sock.fd, c->ssl, p, len);
		if (r > 0) {
			ws_out_consume(c->ws, (size_t)r);
			c->last_out = c->now;
			continue;
		}
		if (r == -EINTR)
			continue;
		if (r != -EAGAIN) {
			down(c, strerror((int)-r));
			return false;
		}
		if (!start)
			start = now_ms();
		long left = budget_ms - (long)(now_ms() - start);
		struct pollfd pfd = {.fd = c->sock.fd, .events = POLLOUT};
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
	}
	bool pending = ws_out_pending(c->ws) > 0;
	if (pending != c->want_out &&
	    loop_mod(c->loop, &c->sock, EPOLLIN | (pending ? EPOLLOUT : 0)) == 0)
		c->want_out = pending;
	c->congested = pending;
	return true;
}

int wsclient_upgrade_input(struct ws_conn *ws, const char key[static WS_KEY_LEN + 1],
			   const char **reason)
{
	size_t have;
	const uint8_t *p = ws_in_peek(ws, &have);
	int end = ws_http_end(p, have);

	if (end < 0) {
		*reason = "header too long";
		return end;
	}
	if (end == 0)
		return 0;
	int err = ws_check_response(p, (size_t)end, key, reason);
	if (err < 0)
		return err;
	ws_in_consume(ws, (size_t)end);
	return 1;
}

int wsclient_unwrap(const struct ws_msg *m, size_t room, struct addr *src, const uint8_t **data,
		    size_t *len)
{
	if (m->len < ADDR_WIRE_LEN)
		return -EBADMSG;
	if (m->len - ADDR_WIRE_LEN > room)
		return -EMSGSIZE;
	addr_from_wire18(src, m->data);
	*data = m->data + ADDR_WIRE_LEN;
	*len = m->len - ADDR_WIRE_LEN;
	return 0;
}

static int wsc_recv(struct transport *t, struct transport_rx *rx)
{
	struct wsclient *c = of(t);
	unsigned n = 0;
	bool got = false;

	if (c->state != WSC_UP)
		return -EAGAIN;
	while (n < rx->n && c->state == WSC_UP) {
		struct ws_msg m;
		int e = ws_next(c->ws, &m);
		if (e == WS_BINARY) {
			struct buf *b = rx->bufs[n];
			const uint8_t *dg;
			size_t dl;
			got = true;
			if (wsclient_unwrap(&m, b->size - b->off, &rx->src[n], &dg, &dl) < 0) {
				t->stats.rx_dropped++;
				continue;
			}
			memcpy(buf_data(b), dg, dl);
			b->len = (uint32_t)dl;
			rx->seg[n++] = 0;
			t->stats.rx_packets++;
			t->stats.rx_bytes += dl;
			continue;
		}
		if (e != WS_NEED_MORE) {
			down(c, e == WS_CLOSED ? "closed by the proxy" : "WebSocket protocol error");
			break;
		}
		size_t room;
		uint8_t *p = ws_in_buf(c->ws, &room);
		ssize_t r = room ? io_read(c->sock.fd, c->ssl, p, room) : -EMSGSIZE;
		if (r > 0) {
			ws_in_commit(c->ws, (size_t)r);
			got = true;
		} else if (r == -EAGAIN || r == -EINTR) {
			break;
		} else {
			down(c, r == 0 ? "closed by the proxy" : strerror((int)-r));
		}
	}
	/* more may be waiting where epoll cannot see it: in our buffer, or inside TLS */
	if (c->state == WSC_UP && (n == rx->n || (c->ssl && SSL_pending(c->ssl) > 0)))
		wake(c);
	return n ? (int)n : got ? 0 : -EAGAIN;
}

static bool wsc_full(const struct transport *t)
{
	const struct wsclient *c = container_of(t, const struct wsclient, t);

	return c->state == WSC_UP && WSCLIENT_BUF - ws_out_pending(c->ws) < WSCLIENT_QUEUE_ROOM;
}

static int wsc_queue(struct transport *t, struct buf *b, const struct addr *dst, uint16_t seg)
{
	struct wsclient *c = of(t);
	uint8_t head[ADDR_WIRE_LEN];
	const uint8_t *d = buf_data(b);
	uint32_t len = b->len, step = seg ? seg : len;

	if (c->state != WSC_UP) {
		t->stats.tx_dropped += seg ? (len + seg - 1) / seg : 1;
		return 0;
	}
	addr_to_wire18(dst, head);
	uint32_t off = 0;
	do {
		uint32_t l = MIN(step, len - off);
		int r = ws_queue_binary(c->ws, head, sizeof(head), d + off, l);
		if (r < 0) {
			t->stats.tx_dropped += step ? (len - off + step - 1) / step : 1;
			return r == -ENOBUFS ? r : 0;
		}
		t->stats.tx_packets++;
		t->stats.tx_bytes += l;
		off += l;
	} while (off < len);
	return 0;
}

static int wsc_flush(struct transport *t)
{
	struct wsclient *c = of(t);

	if (c->state == WSC_UP)
		write_out(c, c->congested ? 0 : WSCLIENT_TX_WAIT_MS);
	return 0;
}

static int wsc_send(struct transport *t, const uint8_t *data, size_t len, const struct addr *dst)
{
	struct wsclient *c = of(t);
	struct buf b = {.base = (uint8_t *)data, .size = (uint32_t)len, .len = (uint32_t)len};

	if (c->state != WSC_UP) {
		t->stats.tx_dropped++;
		return -EAGAIN;
	}
	if (wsc_full(t))
		wsc_flush(t);
	if (wsc_queue(t, &b, dst, 0) < 0)
		return -EAGAIN;
	wsc_flush(t);
	return 0;
}

static int wsc_attach(struct transport *t, struct loop *loop, int kind)
{
	struct wsclient *c = of(t);
	int r;

	c->loop = loop;
	c->sock.kind = c->wake.kind = chan_src(c->chan)->kind = kind;
	if ((r = loop_add(loop, &c->wake, EPOLLIN)) < 0)
		return r;
	if ((r = loop_add(loop, chan_src(c->chan), EPOLLIN)) < 0) {
		loop_del(loop, &c->wake);
		return r;
	}
	log_info("Connecting to the WebSocket proxy %s", c->url);
	dial_start(c);
	return 0;
}

/* A finished attempt: the connection, or the reason it failed. */
static int dialed(struct wsclient *c, struct dial_reply *rp)
{
	char as[ADDR_STRLEN];

	if (rp->gen != c->gen || c->state != WSC_CONNECTING) { /* stale */
		drop_reply(rp);
		return 0;
	}
	if (rp->err) {
		c->failures++;
		log_rl(LOG_WARN, "Cannot connect to the WebSocket proxy %s: %s; trying again in %u s",
		       c->url, rp->why[0] ? rp->why : strerror(-rp->err), c->retry);
		c->state = WSC_DOWN;
		c->next_try = c->now + c->retry;
		c->retry = MIN(2 * c->retry, (unsigned)WSCLIENT_RETRY_MAX);
		return 0;
	}
	c->sock.fd = rp->fd;
	if (loop_add(c->loop, &c->sock, EPOLLIN) < 0) {
		drop_reply(rp);
		c->sock.fd = -1;
		c->state = WSC_DOWN;
		c->next_try = c->now + c->retry;
		return 0;
	}
	c->ssl = rp->ssl;
	c->ws = rp->ws;
	c->state = WSC_UP;
	c->t.up = true;
	c->t.local = rp->public;
	c->retry = WSCLIENT_RETRY_MIN;
	c->failures = 0;
	c->last_out = c->now;
	log_info("Connected to the WebSocket proxy %s%s, public address %s", c->url,
		 c->ssl ? " (TLS)" : "", addr_format(&rp->public, as));
	/* what arrived behind the first message is already in the buffer */
	return TRANSPORT_EV_UP | TRANSPORT_EV_LOCAL | TRANSPORT_EV_RX;
}

static int wsc_event(struct transport *t, struct loop_src *src, uint32_t events)
{
	struct wsclient *c = of(t);
	int ev = 0;

	if (src == &c->wake) {
		uint64_t v;
		ssize_t r = read(c->wake.fd, &v, sizeof(v));
		(void)r;
		ev = (int)c->report;
		c->report = 0;
		return ev | (c->state == WSC_UP ? TRANSPORT_EV_RX : 0);
	}
	if (src == chan_src(c->chan)) {
		struct dial_reply rp;
		while (chan_take(c->chan, &rp))
			ev |= dialed(c, &rp);
		return ev;
	}
	if (src == &c->sock && c->state == WSC_UP) {
		if ((events & EPOLLOUT) && !write_out(c, 0))
			return 0;
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			ev |= TRANSPORT_EV_RX;
	}
	return ev;
}

static int wsc_tick(struct transport *t, int64_t now)
{
	struct wsclient *c = of(t);

	c->now = now;
	if (c->state == WSC_DOWN && now >= c->next_try)
		dial_start(c);
	else if (c->state == WSC_UP && now - c->last_out >= WSCLIENT_PING_SECS &&
		 ws_queue_ping(c->ws, NULL, 0) == 0)
		write_out(c, 0);
	return 0;
}

static void wsc_free(struct transport *t)
{
	struct wsclient *c = of(t);

	if (c->loop) {
		if (c->sock.fd >= 0)
			loop_del(c->loop, &c->sock);
		loop_del(c->loop, &c->wake);
		loop_del(c->loop, chan_src(c->chan));
	}
	if (c->ws && c->sock.fd >= 0) { /* a goodbye, if it fits without waiting */
		if (ws_queue_close(c->ws, WS_CLOSE_GOING_AWAY) == 0)
			write_out(c, 0);
	}
	chan_free(c->chan);
	SSL_free(c->ssl);
	if (c->sock.fd >= 0)
		close(c->sock.fd);
	ws_conn_free(c->ws);
	if (c->wake.fd >= 0)
		close(c->wake.fd);
	free(c);
}

static const struct transport_ops wsc_ops = {
	.recv = wsc_recv,
	.queue = wsc_queue,
	.full = wsc_full,
	.flush = wsc_flush,
	.send = wsc_send,
	.attach = wsc_attach,
	.event = wsc_event,
	.tick = wsc_tick,
	.free = wsc_free,
};

static int tls_context(const char *ca_file, SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	*out = NULL;
	if (!ctx)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
			 : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		unsigned long e = ERR_get_error();
		char msg[120] = "";
		if (e)
			ERR_error_string_n(e, msg, sizeof(msg));
		ERR_clear_error();
		log_err("cannot load the CA certificates%s%s: %s", ca_file ? " from " : "",
			ca_file ? ca_file : "", *msg ? msg : "no usable certificate");
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	*out = ctx;
	return 0;
}

int wsclient_new(const struct wsclient_params *p, struct wsclient **out)
{
	struct wsclient *c = calloc(1, sizeof(*c));
	struct dialer *d = calloc(1, sizeof(*d));
	int r = -ENOMEM;

	*out = NULL;
	if (!c || !d)
		goto fail;
	c->sock.fd = -1;
	c->wake.fd = -1;
	d->port = p->port;
	if (!(d->host = strdup(p->host)) || !(d->path = strdup(p->path ? p->path : "")))
		goto fail;
	if (p->tls && (r = tls_context(p->ca_file, &d->ctx)) < 0)
		goto fail;
	bool v6 = strchr(p->host, ':') != NULL;
	snprintf(c->url, sizeof(c->url), "%s://%s%s%s:%u%s", p->tls ? "wss" : "ws", v6 ? "[" : "",
		 p->host, v6 ? "]" : "", p->port, d->path);
	c->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->wake.fd < 0) {
		r = -errno;
		goto fail;
	}
	struct chan_params cp = {
		.req_size = sizeof(struct dial_req),
		.reply_size = sizeof(struct dial_reply),
		.depth = 2,
		.work = work,
		.arg = d,
		.drop_reply = drop_reply,
		.release = release,
	};
	r = chan_new(&cp, &c->chan);
	if (r < 0)
		goto fail;
	d = NULL; /* the chan's now */
	c->t.ops = &wsc_ops;
	c->t.name = "WebSocket";
	c->state = WSC_DOWN;
	c->retry = WSCLIENT_RETRY_MIN;
	*out = c;
	return 0;
fail:
	if (d)
		release(d);
	if (c && c->wake.fd >= 0)
		close(c->wake.fd);
	free(c);
	return r;
}

struct transport *wsclient_transport(struct wsclient *c)
{
	return &c->t;
}

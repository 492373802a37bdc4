// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * wsdrive.c - test-only driver for the WebSocket proxy, built on src/websocket.c (client
 * role). Client modes connect to the proxy at HOST PORT, optionally send a PROXY v2
 * header, upgrade and print "public ADDR" (the first message); UDP modes stand in for a
 * node behind the proxy's relay socket.
 *
 * usage: wsdrive [-p PATH] [-x SRC|local|garbage] [-t SECS] [-T [-A CAFILE] [-N NAME]] MODE
 *                HOST PORT
 *   -T           TLS (wss://): verify the proxy's certificate against -A CAFILE (default: the
 *                system's store) and its name against -N NAME (SNI too; default: HOST as an
 *                IP address); print "tls VERSION CIPHER serial HEX subject DN" (the PROXY
 *                header of -x goes in clear before the handshake)
 *   (no mode)    upgrade, print the public address, exit
 *   -e DST       echo: send -n N datagrams to DST, print "reply from SRC: TEXT" for each
 *                (-W FILE: only once FILE exists, the connection kept meanwhile)
 *   -b DST       bench: send -s SIZE datagrams to DST for -t SECS, print the rate (-W FILE:
 *                all of them, then keep the connection until FILE exists)
 *   -r           bench receive: count datagrams arriving for -t SECS, print the rate
 *   -w           wait until the proxy ends the connection (-q: never answer its pings)
 *   -c N         flood: N connections at once, print how many were upgraded or closed
 *   -z           connect, send nothing, print when the proxy gives up on the connection
 * usage: wsdrive -E ADDR:PORT | -S ADDR:PORT | -B DST [-s SIZE] [-t SECS]
 *   -E           UDP echo server: print "echo from SRC (N bytes)", send it back
 *   -S           UDP sink: count what arrives, print the rate
 *   -B DST       UDP blaster: send -s SIZE datagrams to DST for -t SECS
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "meshvpn/addr.h"
#include "meshvpn/bytes.h"
#include "meshvpn/websocket.h"

#define BUF   (1 << 20)
#define BATCH 64

static const char *path = "/", *proxy_mode, *ca_file, *tls_name, *trigger;
static SSL_CTX *tls_ctx; /* -T */
static double secs = 5;
static int count = 3, quiet;
static size_t size = 1400;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "wsdrive: %s\n", what);
	exit(1);
}

static struct addr parse_addr(const char *s)
{
	struct addr a;
	if (addr_parse(s, 0, &a) < 0 || a.port == 0)
		die("bad address (IP:PORT or [IPv6]:PORT)");
	return a;
}

static int udp_socket(const struct addr *bind_to)
{
	struct sockaddr_storage ss;
	int big = 8 << 20, off = 0;
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	struct addr any = {0};
	socklen_t sl = addr_to_sockaddr(bind_to ? bind_to : &any, &ss, AF_INET6);

	if (fd < 0)
		die("socket");
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		die("bind");
	return fd;
}

/* ---- client side ---- */

struct client {
	int fd;
	bool connected; /* the TCP connection was accepted */
	SSL *ssl;	/* -T */
	char tls_info[512];
	struct ws_conn *ws;
	struct addr pub;
	bool closed;
	uint16_t close_code;
};

/* What a bench receiver counts. */
struct counter {
	unsigned long long n, bytes;
	double first, last;
};

/* The PROXY v2 header the -x option asks for; returns its length. */
static size_t proxy_header(uint8_t *out, const struct addr *dst)
{
	static const uint8_t sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
					0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
	struct wr w;

	if (strcmp(proxy_mode, "garbage") == 0) {
		memcpy(out, "PROXY TCP4 garbage\r\n", 20);
		return 20;
	}
	wr_init(&w, out, 64);
	wr_bytes(&w, sig, sizeof(sig));
	if (strcmp(proxy_mode, "local") == 0) {
		wr_u8(&w, 0x20);
		wr_u8(&w, 0x00);
		wr_be16(&w, 0);
		return w.len;
	}
	struct addr src = parse_addr(proxy_mode);
	bool v4 = addr_is_v4(&src) && addr_is_v4(dst);
	wr_u8(&w, 0x21);
	wr_u8(&w, v4 ? 0x11 : 0x21);
	wr_be16(&w, v4 ? 12 : 36);
	wr_bytes(&w, v4 ? src.ip + 12 : src.ip, v4 ? 4 : 16);
	wr_bytes(&w, v4 ? dst->ip + 12 : dst->ip, v4 ? 4 : 16);
	wr_be16(&w, src.port);
	wr_be16(&w, dst->port);
	return w.len;
}

/* send() or SSL_write: > 0 bytes, or -1 with errno (EAGAIN: try again after poll). */
static ssize_t c_send(struct client *c, const void *p, size_t len)
{
	size_t n;

	if (!c->ssl)
		return send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	ERR_clear_error();
	if (SSL_write_ex(c->ssl, p, len, &n) == 1)
		return (ssize_t)n;
	switch (SSL_get_error(c->ssl, 0)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		break;
	default:
		errno = EPIPE;
	}
	return -1;
}

/* recv() or SSL_read (as many records as fit): > 0, 0 at EOF, -1 with errno. */
static ssize_t c_recv(struct client *c, void *p, size_t room)
{
	size_t got = 0, n;

	if (!c->ssl)
		return recv(c->fd, p, room, MSG_DONTWAIT);
	while (got < room) {
		ERR_clear_error();
		if (SSL_read_ex(c->ssl, (uint8_t *)p + got, room - got, &n) == 1) {
			got += n;
			continue;
		}
		int e = SSL_get_error(c->ssl, 0);
		if (got)
			break;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			errno = EAGAIN;
			return -1;
		}
		return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	return (ssize_t)got;
}

/* Bytes already inside OpenSSL: poll() would not report them. */
static bool c_buffered(const struct client *c)
{
	return c->ssl && (SSL_pending(c->ssl) > 0 || SSL_has_pending(c->ssl));
}

/* Writes everything pending, waiting up to the deadline. */
static int flush_all(struct client *c, double deadline)
{
	size_t len;
	const uint8_t *p;

	while ((p = ws_out_peek(c->ws, &len)), len) {
		ssize_t n = c_send(c, p, len);
		if (n > 0) {
			ws_out_consume(c->ws, (size_t)n);
			continue;
		}
		if (n < 0 && errno != EAGAIN)
			return -1;
		struct pollfd pf = {.fd = c->fd, .events = POLLOUT | (c->ssl ? POLLIN : 0)};
		if (now() > deadline || poll(&pf, 1, 100) < 0)
			return -1;
	}
	return 0;
}

/* Reads what is there (waiting up to ms); 0, or -1 at EOF or error. */
static int fill(struct client *c, int ms)
{
	struct pollfd pf = {.fd = c->fd, .events = POLLIN};
	size_t room;
	uint8_t *p;
	ssize_t n;

	if (!c_buffered(c) && poll(&pf, 1, ms) <= 0)
		return 0;
	p = ws_in_buf(c->ws, &room);
	n = c_recv(c, p, room);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0)
		return -1;
	ws_in_commit(c->ws, (size_t)n);
	return 0;
}

/* Appends "serial HEX subject DN" of the peer's certificate, as openssl x509 prints them. */
static void describe_peer(struct client *c)
{
	X509 *x = SSL_get0_peer_certificate(c->ssl);
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	BIO_printf(b, "%s %s", SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
	if (x) {
		BIO_puts(b, " serial ");
		i2a_ASN1_INTEGER(b, X509_get0_serialNumber(x));
		BIO_puts(b, " subject ");
		X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	}
	n = BIO_get_mem_data(b, &p);
	snprintf(c->tls_info, sizeof(c->tls_info), "%.*s", (int)n, p);
	BIO_free(b);
}

/* The TLS handshake on the (blocking, time-limited) socket. 0, or -1 with *why set. */
static int tls_open(struct client *c, const char *ip, const char **why)
{
	static char err[400];
	struct timeval tv = {.tv_sec = (time_t)secs, .tv_usec = 0};

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->ssl = SSL_new(tls_ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
		die("SSL_new");
	if (tls_name) {
		SSL_set_tlsext_host_name(c->ssl, tls_name);
		SSL_set1_host(c->ssl, tls_name);
	} else {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), ip);
	}
	ERR_clear_error();
	if (SSL_connect(c->ssl) != 1) {
		long v = SSL_get_verify_result(c->ssl);
		unsigned long e = ERR_get_error();
		snprintf(err, sizeof(err), "TLS handshake: %s%s%s",
			 e ? ERR_reason_error_string(e) : "connection closed",
			 v != X509_V_OK ? "; verify: " : "",
			 v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
		*why = err;
		return -1;
	}
	describe_peer(c);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Connects to hostport and upgrades; prints nothing. 0, or -1 with *why set. */
static int client_open(struct client *c, const char *hostport, const char **why)
{
	struct addr dst = parse_addr(hostport);
	struct sockaddr_storage ss;
	char key[WS_KEY_LEN + 1], req[2048], ipbuf[ADDR_STRLEN];
	uint8_t hdr[64];
	const int one = 1;
	double deadline = now() + secs;
	struct ws_msg m;
	int n;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (ws_conn_new(&c->ws, WS_ROLE_CLIENT, BUF, BUF, 70000) < 0)
		die("ws_conn_new");
	c->fd = socket(AF_INET6, SOCK_STREAM, 0);
	int off = 0;
	setsockopt(c->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	socklen_t sl = addr_to_sockaddr(&dst, &ss, AF_INET6);
	if (connect(c->fd, (struct sockaddr *)&ss, sl) < 0) {
		*why = strerror(errno);
		return -1;
	}
	c->connected = true;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (proxy_mode) {
		size_t k = proxy_header(hdr, &dst);
		/* in clear, in front of the ClientHello (haproxy's send-proxy-v2 with TLS) */
		if (tls_ctx && send(c->fd, hdr, k, MSG_NOSIGNAL) != (ssize_t)k) {
			*why = "cannot send the PROXY header";
			return -1;
		}
		if (!tls_ctx && ws_queue_raw(c->ws, hdr, k) < 0)
			die("queue");
	}
	if (tls_ctx && tls_open(c, addr_format_ip(&dst, ipbuf), why) < 0)
		return -1;
	ws_make_key(key);
	n = ws_build_request(req, sizeof(req), tls_name ? tls_name : addr_format_ip(&dst, ipbuf),
			     dst.port, path, key);
	if (n < 0 || ws_queue_raw(c->ws, req, (size_t)n) < 0 || flush_all(c, deadline) < 0) {
		*why = "cannot send the request";
		return -1;
	}
	for (;;) {
		size_t len;
		const uint8_t *p = ws_in_peek(c->ws, &len);
		int end = ws_http_end(p, len);
		if (end > 0) {
			if (ws_check_response(p, (size_t)end, key, why) < 0)
				return -1;
			ws_in_consume(c->ws, (size_t)end);
			break;
		}
		if (end < 0 || now() > deadline || fill(c, 100) < 0) {
			*why = end < 0 ? "response too long" : "no upgrade response";
			return -1;
		}
	}
	for (;;) {
		int ev = ws_next(c->ws, &m);
		if (ev == WS_BINARY) {
			if (m.len != ADDR_WIRE_LEN) {
				*why = "first message is not an address";
				return -1;
			}
			addr_from_wire18(&c->pub, m.data);
			break;
		}
		if (ev != WS_NEED_MORE || now() > deadline || fill(c, 100) < 0) {
			*why = "no address message";
			return -1;
		}
	}
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Handles received messages: replies go to on_msg; pings are answered unless quiet. */
static int pump(struct client *c, int ms, void (*on_msg)(const struct ws_msg *, void *), void *arg)
{
	struct ws_msg m;
	int ev, r = fill(c, ms);

	while ((ev = ws_next(c->ws, &m)) == WS_BINARY)
		if (on_msg)
			on_msg(&m, arg);
	if (ev == WS_CLOSED) {
		c->closed = true;
		c->close_code = m.close_code;
	}
	if (ev < 0)
		return -1;
	if (!quiet && flush_all(c, now() + 1) < 0)
		return -1;
	return c->closed ? -1 : r;
}

static void print_reply(const struct ws_msg *m, void *arg)
{
	char a[ADDR_STRLEN];
	struct addr src;
	int *got = arg;

	if (m->len < ADDR_WIRE_LEN)
		return;
	addr_from_wire18(&src, m->data);
	printf("reply from %s: %.*s\n", addr_format(&src, a), (int)(m->len - ADDR_WIRE_LEN),
	       (const char *)m->data + ADDR_WIRE_LEN);
	(*got)++;
}

static int mode_echo(struct client *c, const char *dst_s)
{
	struct addr dst = parse_addr(dst_s);
	uint8_t wire[ADDR_WIRE_LEN];
	char text[64];
	int got = 0;
	double end = now() + secs;

	addr_to_wire18(&dst, wire);
	/* the connection stays up (pings answered) until the test creates the file */
	while (trigger && access(trigger, F_OK) != 0) {
		if (now() > end || pump(c, 100, NULL, NULL) < 0) {
			printf("trigger %s: not before the end\n", trigger);
			return 1;
		}
	}
	if (trigger)
		end = now() + secs;
	for (int i = 0; i < count; i++) {
		int n = snprintf(text, sizeof(text), "wsdrive datagram %d", i);
		if (ws_queue_binary(c->ws, wire, sizeof(wire), text, (size_t)n) < 0)
			die("queue");
	}
	if (flush_all(c, end) < 0)
		die("send");
	while (got < count && now() < end)
		if (pump(c, 100, print_reply, &got) < 0)
			break;
	fflush(stdout);
	return got == count ? 0 : 1;
}

static void count_msg(const struct ws_msg *m, void *arg)
{
	struct counter *t = arg;

	if (!t->n)
		t->first = now();
	t->n++;
	t->bytes += m->len - ADDR_WIRE_LEN;
	t->last = now();
}

static void rate(const char *what, unsigned long long n, unsigned long long bytes, double t)
{
	printf("%s %llu datagrams, %llu bytes in %.2f s = %.0f Mbit/s, %.0f datagrams/s\n", what, n,
	       bytes, t, t > 0 ? (double)bytes * 8 / t / 1e6 : 0.0, t > 0 ? (double)n / t : 0.0);
	fflush(stdout);
}

static int mode_bench(struct client *c, const char *dst_s)
{
	struct addr dst = parse_addr(dst_s);
	uint8_t wire[ADDR_WIRE_LEN], *payload = calloc(1, size);
	unsigned long long n = 0;
	double start = now(), end = start + secs;

	addr_to_wire18(&dst, wire);
	while (now() < end) {
		while (ws_queue_binary(c->ws, wire, sizeof(wire), payload, size) == 0)
			n++;
		size_t len;
		const uint8_t *p = ws_out_peek(c->ws, &len);
		ssize_t k = c_send(c, p, len);
		if (k > 0) {
			ws_out_consume(c->ws, (size_t)k);
		} else if (k < 0 && errno != EAGAIN) {
			die("send");
		} else {
			struct pollfd pf = {.fd = c->fd, .events = POLLOUT | (c->ssl ? POLLIN : 0)};
			poll(&pf, 1, 50);
		}
	}
	/* with -W everything queued goes out; without, what is still queued was not sent */
	if (trigger && flush_all(c, now() + 10) < 0)
		die("send");
	n -= ws_out_pending(c->ws) / ws_frame_size(c->ws, ADDR_WIRE_LEN + size);
	rate("sent", n, n * size, now() - start);
	free(payload);
	/* the connection stays open (nothing more sent) until the test has looked */
	end = now() + 30;
	while (trigger && access(trigger, F_OK) != 0 && now() < end)
		if (pump(c, 100, NULL, NULL) < 0)
			return 1;
	return 0;
}

static int mode_recv(struct client *c)
{
	struct counter t = {0};
	double end = now() + secs;

	while (now() < end)
		if (pump(c, 100, count_msg, &t) < 0)
			break;
	rate("received", t.n, t.bytes, t.n > 1 ? t.last - t.first : 0);
	return t.n ? 0 : 1;
}

static int mode_wait(struct client *c)
{
	double start = now(), end = start + secs;

	while (now() < end) {
		if (pump(c, 100, NULL, NULL) < 0) {
			if (c->closed)
				printf("closed after %.1f s: close frame %u\n", now() - start,
				       c->close_code);
			else
				printf("closed after %.1f s: connection ended\n", now() - start);
			return 0;
		}
	}
	printf("still open after %.1f s\n", now() - start);
	return 1;
}

/* N connections at once: upgraded (got the address), closed by the proxy, or pending. */
static int mode_flood(const char *hostport, int n)
{
	struct rlimit rl = {(rlim_t)n + 64, (rlim_t)n + 64};
	struct client *cs = calloc((size_t)n, sizeof(*cs));
	int up = 0, closed = 0, failed = 0;
	const char *why;

	setrlimit(RLIMIT_NOFILE, &rl);
	/* one after the other, each given little time: the proxy refuses the excess at once */
	double keep = secs;
	secs = 2;
	for (int i = 0; i < n; i++) {
		if (client_open(&cs[i], hostport, &why) == 0) {
			up++;
			continue;
		}
		if (cs[i].connected)
			closed++;
		else
			failed++;
		close(cs[i].fd);
		cs[i].fd = -1;
	}
	printf("flood: %d connections, %d upgraded, %d refused, %d failed\n", n, up, closed,
	       failed);
	fflush(stdout);
	/* keep the upgraded ones open (answering pings) while the test goes on */
	double end = now() + keep;
	while (now() < end) {
		for (int i = 0; i < n; i++)
			if (cs[i].ws && cs[i].fd >= 0 && !cs[i].closed)
				pump(&cs[i], 0, NULL, NULL);
		usleep(20000);
	}
	return 0;
}

/* Connects and stays silent until the proxy closes (or -t SECS pass). */
static int mode_silent(const char *hostport)
{
	struct addr dst = parse_addr(hostport);
	struct sockaddr_storage ss;
	int fd = socket(AF_INET6, SOCK_STREAM, 0), off = 0;
	double start, end;
	char b[256];

	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	socklen_t sl = addr_to_sockaddr(&dst, &ss, AF_INET6);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0)
		die("connect");
	start = now();
	end = start + secs;
	while (now() < end) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 100) > 0 && recv(fd, b, sizeof(b), MSG_DONTWAIT) <= 0) {
			printf("closed after %.1f s\n", now() - start);
			return 0;
		}
	}
	printf("still open after %.1f s\n", now() - start);
	return 1;
}

/* ---- UDP side ---- */

static int mode_udp(int mode, const char *addr_s)
{
	static uint8_t bufs[BATCH][65536];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage names[BATCH];
	struct addr a = parse_addr(addr_s);
	int fd = udp_socket(mode == 'B' ? NULL : &a);
	unsigned long long n = 0, bytes = 0;
	double start = now(), end = start + secs, first = 0, last = 0;
	char buf[ADDR_STRLEN];

	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = mode == 'B' ? size : sizeof(bufs[i]);
		msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
	}
	if (mode == 'B') {
		struct sockaddr_storage ss;
		socklen_t sl = addr_to_sockaddr(&a, &ss, AF_INET6);
		for (int i = 0; i < BATCH; i++) {
			msgs[i].msg_hdr.msg_name = &ss;
			msgs[i].msg_hdr.msg_namelen = sl;
		}
		while (now() < end) {
			int r = sendmmsg(fd, msgs, BATCH, 0);
			if (r > 0) {
				n += (unsigned)r;
				bytes += (unsigned long long)r * size;
			}
		}
		rate("sent", n, bytes, now() - start);
		return 0;
	}
	printf("%s on %s\n", mode == 'E' ? "echo" : "sink", addr_format(&a, buf));
	fflush(stdout);
	while (now() < end) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 100) <= 0) {
			/* the sink is done once traffic stopped for a second */
			if (mode == 'S' && n && now() - last > 1)
				break;
			continue;
		}
		for (int i = 0; i < BATCH; i++) {
			msgs[i].msg_hdr.msg_name = &names[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(names[i]);
		}
		int r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < r; i++) {
			if (!n)
				first = now();
			n++;
			bytes += msgs[i].msg_len;
			last = now();
			if (mode == 'E') {
				struct addr src;
				if (addr_from_sockaddr(&src, msgs[i].msg_hdr.msg_name,
						       msgs[i].msg_hdr.msg_namelen) == 0)
					printf("echo from %s (%u bytes)\n", addr_format(&src, buf),
					       msgs[i].msg_len);
				fflush(stdout);
				sendto(fd, bufs[i], msgs[i].msg_len, 0, msgs[i].msg_hdr.msg_name,
				       msgs[i].msg_hdr.msg_namelen);
			}
		}
	}
	if (mode == 'S')
		rate("received", n, bytes, n > 1 ? last - first : 0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dst = NULL, *why;
	int mode = 0, c, flood = 0;
	struct client cl;

	if (sodium_init() < 0)
		die("sodium_init");
	while ((c = getopt(argc, argv, "p:x:t:n:s:e:b:rwqzc:E:S:B:TA:N:W:")) != -1) {
		switch (c) {
		case 'T':
			tls_ctx = SSL_CTX_new(TLS_client_method());
			if (!tls_ctx)
				die("SSL_CTX_new");
			break;
		case 'A':
			ca_file = optarg;
			break;
		case 'N':
			tls_name = optarg;
			break;
		case 'W':
			trigger = optarg;
			break;
		case 'p':
			path = optarg;
			break;
		case 'x':
			proxy_mode = optarg;
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 's':
			size = (size_t)atoi(optarg);
			if (size < 1 || size > 65000)
				die("-s: 1 to 65000");
			break;
		case 'q':
			quiet = 1;
			break;
		case 'c':
			flood = atoi(optarg);
			mode = c;
			break;
		case 'e':
		case 'b':
		case 'E':
		case 'S':
		case 'B':
			dst = optarg;
			/* fall through */
		case 'r':
		case 'w':
		case 'z':
			mode = c;
			break;
		default:
			fprintf(stderr,
				"usage: see the comment at the top of tests/tools/wsdrive.c\n");
			return 2;
		}
	}
	if (mode == 'E' || mode == 'S' || mode == 'B')
		return mode_udp(mode, dst);
	if (tls_ctx) {
		SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		/* several records per read(), so the bench receiver measures the proxy */
		SSL_CTX_set_read_ahead(tls_ctx, 1);
		SSL_CTX_set_default_read_buffer_len(tls_ctx, 64 * 1024);
		if ((ca_file ? SSL_CTX_load_verify_locations(tls_ctx, ca_file, NULL)
			     : SSL_CTX_set_default_verify_paths(tls_ctx)) != 1)
			die("cannot load the CA certificates (-A)");
	}
	if (optind + 2 != argc)
		die("HOST PORT expected");
	/* HOST PORT as one address for addr_parse */
	char hp[ADDR_STRLEN + 8];
	snprintf(hp, sizeof(hp), strchr(argv[optind], ':') ? "[%s]:%s" : "%s:%s", argv[optind],
		 argv[optind + 1]);
	if (mode == 'c')
		return mode_flood(hp, flood);
	if (mode == 'z')
		return mode_silent(hp);
	if (client_open(&cl, hp, &why) < 0) {
		if (cl.ssl && cl.tls_info[0])
			printf("tls %s\n", cl.tls_info);
		printf("upgrade failed: %s\n", why);
		return 3;
	}
	char buf[ADDR_STRLEN];
	if (cl.ssl)
		printf("tls %s\n", cl.tls_info);
	printf("public %s\n", addr_format(&cl.pub, buf));
	fflush(stdout);
	switch (mode) {
	case 'e':
		return mode_echo(&cl, dst);
	case 'b':
		return mode_bench(&cl, dst);
	case 'r':
		return mode_recv(&cl);
	case 'w':
		return mode_wait(&cl);
	default:
		return 0;
	}
}

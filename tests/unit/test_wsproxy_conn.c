// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_wsproxy_conn.c - the proxy's connection state machine (wsproxy/conn.c) with TLS, driven
 * event by event as the loop would (level-triggered readiness of the accepted socket, then
 * the ready list): handshake, upgrade and relay over a socketpair; a burst of client messages
 * larger than one event reads, of which the tail is left inside OpenSSL with the socket
 * drained and must still be relayed (the ready list); datagrams to a client that does not
 * read, through the send buffer and EPOLLOUT, each counted as delivered or dropped; the PROXY
 * header and the ClientHello in one segment; plain HTTP on the TLS port counted and closed;
 * the handshake time-out; close frame and close_notify at the end.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "meshvpn/log.h"
#include "meshvpn/websocket.h"
#include "tls_test_util.h"
#include "wsproxy_int.h"

#define PAYLOAD 1400

static struct test_pki pki;

struct env {
	struct wsp *s;
	struct conn *c;
	SSL_CTX *cctx;
	SSL *cli;
	int cfd;
	int udp;	    /* the test's UDP socket: destination of the relay, source towards it */
	struct addr dst;    /* its address */
	struct ws_conn *ws; /* the client's framing */
	unsigned ready_runs; /* turns in which the ready list had work */
};

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR);
	pki_create(&pki, "test_wsproxy_conn");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pki_remove(&pki);
	return 0;
}

static void env_open(struct env *e, bool proxy_protocol)
{
	char why[WSP_TLS_WHY_MAX];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addr peer;
	int sv[2], big = 212992, small = 65536;
	struct wsp *s;

	memset(e, 0, sizeof(*e));
	s = e->s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->o.max_conns = 16;
	s->o.max_per_source = 16;
	s->o.max_msg = WSP_DEFAULT_MAX_MSG;
	s->o.proxy_protocol = proxy_protocol;
	assert_int_equal(addr_parse("192.0.2.10", 0, &s->o.public_ip), 0);
	s->o.has_public_ip = true;
	s->loop.epfd = s->loop.timer.fd = s->loop.signal.fd = -1;
	assert_int_equal(loop_init(&s->loop, 500), 0);
	/* the batches of wsproxy.c's alloc_batches() */
	s->tx.arena = malloc(WSP_TX_ARENA);
	s->rx.bufs = malloc((size_t)WSP_BATCH * WSP_UDP_MAX);
	assert_non_null(s->tx.arena);
	assert_non_null(s->rx.bufs);
	for (unsigned i = 0; i < WSP_BATCH; i++) {
		s->rx.iov[i].iov_base = s->rx.bufs + (size_t)i * WSP_UDP_MAX;
		s->rx.iov[i].iov_len = WSP_UDP_MAX;
		s->rx.msgs[i].msg_hdr = (struct msghdr){
		    .msg_name = &s->rx.names[i],
		    .msg_namelen = sizeof(s->rx.names[i]),
		    .msg_iov = &s->rx.iov[i],
		    .msg_iovlen = 1,
		};
	}
	assert_int_equal(wsp_tls_load(pki.chain, pki.key, &s->tls, why), 0);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	/* room for a burst of several hundred KiB written before the proxy reads anything; the
	 * other way a fixed, smaller room, so a client that does not read fills it */
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big)), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	e->cfd = sv[1];
	assert_int_equal(addr_parse("198.51.100.7:4000", 0, &peer), 0);
	conn_accept(s, sv[0], &peer);
	e->c = s->conns;
	assert_non_null(e->c);
	assert_int_equal(e->c->state, proxy_protocol ? CS_PROXY : CS_TLS);

	e->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(e->udp >= 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	assert_int_equal(bind(e->udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(e->udp, (struct sockaddr *)&ss, &sl), 0);
	assert_int_equal(addr_from_sockaddr(&e->dst, (struct sockaddr *)&ss, sl), 0);

	e->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(e->cctx);
	SSL_CTX_set_verify(e->cctx, SSL_VERIFY_PEER, NULL);
	assert_int_equal(SSL_CTX_load_verify_locations(e->cctx, pki.root, NULL), 1);
	e->cli = SSL_new(e->cctx);
	SSL_set_fd(e->cli, e->cfd);
	SSL_set1_host(e->cli, "proxy.test");
	SSL_set_connect_state(e->cli);
	assert_int_equal(ws_conn_new(&e->ws, WS_ROLE_CLIENT, 1 << 20, 1 << 20, 70000), 0);
}

static void env_close(struct env *e)
{
	struct wsp *s = e->s;

	while (s->conns)
		conn_close(s, s->conns, 0, "test over");
	conn_reap(s);
	SSL_CTX_free(s->tls);
	loop_close(&s->loop);
	free(s->tx.arena);
	free(s->rx.bufs);
	free(s);
	SSL_free(e->cli);
	SSL_CTX_free(e->cctx);
	ws_conn_free(e->ws);
	close(e->cfd);
	close(e->udp);
	ERR_clear_error();
}

/*
 * One loop turn as run() makes it: the accepted socket's readiness (level-triggered, with
 * EPOLLOUT only while the connection asked for it), then the ready list. False when nothing
 * was ready.
 */
static bool turn(struct env *e)
{
	struct conn *c = e->c;
	struct pollfd pf = {.fd = c->tcp.fd, .events = POLLIN | (c->out_wait ? POLLOUT : 0)};
	bool did = false;

	if (c->state != CS_DEAD && poll(&pf, 1, 0) > 0) {
		/* poll's and epoll's bits have the same values on Linux */
		conn_tcp_event(e->s, c, (uint32_t)pf.revents);
		did = true;
	}
	if (e->s->ready) {
		e->ready_runs++;
		conn_run_ready(e->s);
		did = true;
	}
	return did;
}

/* Turns until nothing is ready (bounded). */
static void settle(struct env *e)
{
	for (int i = 0; i < 10000 && turn(e); i++) {
	}
}

static void client_handshake(struct env *e)
{
	int r = 0;

	for (int i = 0; i < 100 && !(r == 1 && e->c->state == CS_HANDSHAKE); i++) {
		if (r != 1) {
			r = SSL_do_handshake(e->cli);
			assert_true(r == 1 || SSL_get_error(e->cli, r) == SSL_ERROR_WANT_READ);
		}
		turn(e);
	}
	assert_int_equal(r, 1);
	assert_int_equal(e->c->state, CS_HANDSHAKE);
	assert_int_equal(SSL_get_verify_result(e->cli), X509_V_OK);
}

/* Reads what the proxy sent into the client's framing. */
static void client_read(struct env *e)
{
	size_t room, n;
	uint8_t *p = ws_in_buf(e->ws, &room);

	while (room && SSL_read_ex(e->cli, p, room, &n) == 1) {
		ws_in_commit(e->ws, n);
		p = ws_in_buf(e->ws, &room);
	}
	ERR_clear_error();
}

/* Writes the client's queued output completely (the socket must take it). */
static void client_flush(struct env *e)
{
	const uint8_t *p;
	size_t len, n;

	while ((p = ws_out_peek(e->ws, &len)), len) {
		assert_int_equal(SSL_write_ex(e->cli, p, len, &n), 1);
		ws_out_consume(e->ws, n);
	}
}

static void client_upgrade(struct env *e)
{
	char key[WS_KEY_LEN + 1], req[512], a[ADDR_STRLEN];
	const char *why = NULL;
	struct ws_msg m;
	struct addr pub;
	const uint8_t *p;
	size_t len;
	int n, end;

	ws_make_key(key);
	n = ws_build_request(req, sizeof(req), "proxy.test", 443, "/path", key);
	assert_true(n > 0);
	assert_int_equal(SSL_write(e->cli, req, n), n);
	settle(e);
	assert_int_equal(e->c->state, CS_OPEN);
	client_read(e);
	p = ws_in_peek(e->ws, &len);
	end = ws_http_end(p, len);
	assert_true(end > 0);
	assert_int_equal(ws_check_response(p, (size_t)end, key, &why), 0);
	ws_in_consume(e->ws, (size_t)end);
	assert_int_equal(ws_next(e->ws, &m), WS_BINARY);
	assert_int_equal(m.len, ADDR_WIRE_LEN);
	addr_from_wire18(&pub, m.data);
	assert_int_equal(pub.port, e->c->udp_port);
	assert_string_equal(addr_format_ip(&pub, a), "192.0.2.10");
}

/*
 * Writes n messages to the test's UDP socket in one burst: in full TLS records, or with
 * records of 11 messages each (their boundaries then never match the proxy's buffer).
 */
static void client_burst(struct env *e, unsigned n, bool small)
{
	static uint8_t payload[PAYLOAD];
	uint8_t wire[ADDR_WIRE_LEN];

	addr_to_wire18(&e->dst, wire);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(
		    ws_queue_binary(e->ws, wire, sizeof(wire), payload, sizeof(payload)), 0);
		if (small && i % 11 == 10)
			client_flush(e);
	}
	client_flush(e);
}

static void test_relay_and_ready_list(void **state)
{
	struct env e;
	uint64_t want = 0;

	(void)state;
	env_open(&e, false);
	client_handshake(&e);
	client_upgrade(&e);
	/*
	 * Bursts a little over what one event reads (4 rounds of the 64 KiB input buffer): the
	 * rest comes out of the socket into OpenSSL's read-ahead buffer, where only the ready
	 * list finds it. Whatever the split, every message has to arrive.
	 */
	for (unsigned n = 170; n <= 250; n += 10) {
		client_burst(&e, n, n % 20 == 10);
		want += n;
		settle(&e);
		assert_int_equal(e.c->state, CS_OPEN);
		assert_int_equal(e.c->to_udp_msgs + e.c->dropped, want);
	}
	assert_true(e.ready_runs > 0);
	assert_int_equal(e.c->to_udp_bytes + e.c->dropped * PAYLOAD, want * PAYLOAD);
	env_close(&e);
}

/* Datagrams towards a client that does not read: send buffer, socket and EPOLLOUT. */
static void test_to_client(void **state)
{
	static uint8_t payload[PAYLOAD];
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	struct sockaddr_storage ss;
	struct addr relay, src;
	struct ws_msg m;
	uint64_t got = 0;
	socklen_t sl;
	struct env e;
	int ev;

	(void)state;
	env_open(&e, false);
	client_handshake(&e);
	client_upgrade(&e);
	relay = e.dst;
	relay.port = e.c->udp_port;
	sl = addr_to_sockaddr(&relay, &ss, AF_INET);
	/* 8 x 100 datagrams (1.1 MB): more than the output buffer, send buffer and socket hold */
	for (int burst = 0; burst < 8; burst++) {
		for (int i = 0; i < 100; i++)
			assert_int_equal(
			    sendto(e.udp, payload, sizeof(payload), 0, (struct sockaddr *)&ss, sl),
			    (ssize_t)sizeof(payload));
		conn_udp_event(e.s, e.c, EPOLLIN);
		assert_int_equal(e.c->state, CS_OPEN);
	}
	assert_int_equal(e.c->to_ws_msgs + e.c->dropped, 800);
	assert_true(e.c->dropped > 0); /* a client too slow loses datagrams, as over UDP */
	assert_true(e.c->out_wait);    /* and the proxy waits for the socket */
	assert_true(wsp_tls_unsent(e.c->net) > 0);
	/* the client reads; each turn sends more when the socket has room */
	for (int i = 0; i < 10000 && got < e.c->to_ws_msgs; i++) {
		client_read(&e);
		while ((ev = ws_next(e.ws, &m)) == WS_BINARY) {
			assert_int_equal(m.len, ADDR_WIRE_LEN + PAYLOAD);
			addr_from_wire18(&src, m.data);
			assert_string_equal(addr_format(&src, a), addr_format(&e.dst, b));
			got++;
		}
		assert_int_equal(ev, WS_NEED_MORE);
		turn(&e);
	}
	assert_int_equal(got, e.c->to_ws_msgs);
	assert_false(e.c->out_wait);
	assert_int_equal(wsp_tls_unsent(e.c->net), 0);
	env_close(&e);
}

/* The PROXY header and the ClientHello arrive together: the header is read to its end only. */
static void test_proxy_header_then_tls(void **state)
{
	static const uint8_t hdr[] = {
	    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, /* signature */
	    0x21, 0x11, 0x00, 0x0c,			 /* PROXY, TCP over IPv4, 12 bytes */
	    203,  0,	113,  7,    192,  0,	2,    1, /* src, dst */
	    0x10, 0x92, 0x01, 0xbb,			 /* 4242 -> 443 */
	};
	char a[ADDR_STRLEN];
	struct env e;

	(void)state;
	env_open(&e, true);
	assert_int_equal(write(e.cfd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(SSL_do_handshake(e.cli), -1); /* the ClientHello is out */
	assert_int_equal(SSL_get_error(e.cli, -1), SSL_ERROR_WANT_READ);
	turn(&e);
	assert_int_equal(e.c->state, CS_TLS);
	assert_string_equal(addr_format(&e.c->peer, a), "203.0.113.7:4242");
	assert_string_equal(addr_format(&e.c->via, a), "198.51.100.7:4000");
	client_handshake(&e);
	client_upgrade(&e);
	client_burst(&e, 3, false);
	settle(&e);
	assert_int_equal(e.c->to_udp_msgs, 3);
	env_close(&e);
}

static void test_refused(void **state)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n";
	struct env e;

	(void)state;
	/* plain HTTP on the TLS port: counted, closed, the proxy goes on */
	env_open(&e, false);
	assert_int_equal(write(e.cfd, http, strlen(http)), (ssize_t)strlen(http));
	turn(&e);
	assert_int_equal(e.c->state, CS_DEAD);
	assert_int_equal(e.s->st.tls_failed, 1);
	assert_int_equal(e.s->n_conns, 0);
	env_close(&e);

	/* the same after a PROXY header */
	env_open(&e, true);
	assert_int_equal(write(e.cfd, "\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16), 16);
	assert_int_equal(write(e.cfd, http, strlen(http)), (ssize_t)strlen(http));
	settle(&e);
	assert_int_equal(e.c->state, CS_DEAD);
	assert_int_equal(e.s->st.proxy_bad, 0);
	assert_int_equal(e.s->st.tls_failed, 1);
	env_close(&e);

	/* no handshake: the upgrade's 10 s cover it */
	env_open(&e, false);
	assert_int_equal(SSL_do_handshake(e.cli), -1);
	settle(&e);
	e.s->now = e.c->t_open + WSP_HANDSHAKE_TIMEOUT_MS - 1;
	conn_tick(e.s, e.c);
	assert_int_equal(e.c->state, CS_TLS);
	e.s->now = e.c->t_open + WSP_HANDSHAKE_TIMEOUT_MS;
	conn_tick(e.s, e.c);
	assert_int_equal(e.c->state, CS_DEAD);
	assert_int_equal(e.s->st.upgrade_timeout, 1);
	env_close(&e);
}

/* Closing an upgraded connection: a close frame, then close_notify. */
static void test_close(void **state)
{
	struct ws_msg m;
	struct env e;
	char b[16];

	(void)state;
	env_open(&e, false);
	client_handshake(&e);
	client_upgrade(&e);
	conn_close(e.s, e.c, WS_CLOSE_GOING_AWAY, "proxy shutting down");
	client_read(&e);
	assert_int_equal(ws_next(e.ws, &m), WS_CLOSED);
	assert_int_equal(m.close_code, WS_CLOSE_GOING_AWAY);
	assert_true(SSL_read(e.cli, b, sizeof(b)) <= 0);
	assert_true(SSL_get_shutdown(e.cli) & SSL_RECEIVED_SHUTDOWN);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relay_and_ready_list),
	    cmocka_unit_test(test_to_client),
	    cmocka_unit_test(test_proxy_header_then_tls),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_close),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

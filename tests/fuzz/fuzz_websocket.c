// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_websocket.c - libFuzzer target for websocket.c. The first byte picks the part:
 * 0 the server's upgrade parser (a valid request must yield a response the client side
 * accepts), 1 the client's check of a 101 response, 2/3 the framing input path of a
 * server/client connection fed in pieces; every binary message it hands out is sent on
 * through a fresh client->server pair and must arrive unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/websocket.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

#define MAX_MSG 2048
#define OUT_CAP 8192

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ws_conn *echo_tx, *echo_rx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	CHECK(sodium_init() >= 0);
	CHECK(ws_conn_new(&echo_tx, WS_ROLE_CLIENT, 64, 1 << 16, MAX_MSG) == 0);
	CHECK(ws_conn_new(&echo_rx, WS_ROLE_SERVER, 1 << 16, 1 << 16, MAX_MSG) == 0);
	return 0;
}

static void upgrade_request(const uint8_t *p, size_t n)
{
	struct ws_request req;
	const char *why = NULL;
	char resp[512];
	int end = ws_http_end(p, n);

	CHECK(end == -EMSGSIZE || (end >= 0 && (size_t)end <= n && end <= WS_HTTP_MAX));
	if (end <= 0)
		return;
	int r = ws_parse_request(p, (size_t)end, &req, &why);
	if (r < 0) {
		CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
		CHECK(why && ws_http_error(r));
		return;
	}
	CHECK(strlen(req.key) == WS_KEY_LEN && req.path[0] && req.host[0]);
	int len = ws_build_response(req.key, resp, sizeof(resp));
	CHECK(len > 0);
	CHECK(ws_http_end((const uint8_t *)resp, (size_t)len) == len);
	CHECK(ws_check_response((const uint8_t *)resp, (size_t)len, req.key, &why) == 0);
}

static void upgrade_response(const uint8_t *p, size_t n)
{
	static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
	const char *why = NULL;
	int end = ws_http_end(p, n);

	if (end <= 0)
		return;
	int r = ws_check_response(p, (size_t)end, key, &why);
	CHECK(r == 0 || ((r == -EBADMSG || r == -EPROTO || r == -ECONNREFUSED) && why));
}

/* Sends m through the client->server pair and checks it arrives as it was. */
static void echo(const struct ws_msg *m)
{
	struct ws_msg back;
	size_t len;
	const uint8_t *p;

	CHECK(ws_queue_binary(echo_tx, NULL, 0, m->data, m->len) == 0);
	p = ws_out_peek(echo_tx, &len);
	CHECK(ws_input(echo_rx, p, len) == 0);
	ws_out_consume(echo_tx, len);
	CHECK(ws_next(echo_rx, &back) == WS_BINARY);
	CHECK(back.len == m->len && memcmp(back.data, m->data, m->len) == 0);
	CHECK(ws_next(echo_rx, &back) == WS_NEED_MORE);
}

static void framing(enum ws_role role, const uint8_t *p, size_t n)
{
	struct ws_conn *c;
	struct ws_msg m;
	size_t chunk, off = 0;
	int ev = WS_NEED_MORE;

	if (n < 1)
		return;
	chunk = (size_t)p[0] + 1; /* the read size a socket would deliver */
	p++, n--;
	CHECK(ws_conn_new(&c, role, 512, OUT_CAP, MAX_MSG) == 0);
	while (off < n) {
		size_t room, k;
		uint8_t *dst = ws_in_buf(c, &room);
		k = MIN(MIN(room, chunk), n - off);
		memcpy(dst, p + off, k);
		ws_in_commit(c, k);
		off += k;
		while ((ev = ws_next(c, &m)) == WS_BINARY) {
			CHECK(m.len <= MAX_MSG);
			echo(&m);
		}
		if (ev < 0) {
			CHECK(ev == -EPROTO || ev == -EMSGSIZE);
			CHECK(ws_next(c, &m) == ev);
			CHECK(ws_close_sent(c));
			break;
		}
		if (ev == WS_CLOSED) {
			CHECK(ws_close_sent(c));
			CHECK(ws_queue_binary(c, NULL, 0, "x", 1) == -EPIPE);
			break;
		}
		/* a slow writer: only part of the output goes out each time */
		size_t len;
		ws_out_peek(c, &len);
		CHECK(len <= OUT_CAP);
		ws_out_consume(c, len / 2);
	}
	ws_conn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		upgrade_request(data + 1, size - 1);
		break;
	case 1:
		upgrade_response(data + 1, size - 1);
		break;
	case 2:
		framing(WS_ROLE_SERVER, data + 1, size - 1);
		break;
	default:
		framing(WS_ROLE_CLIENT, data + 1, size - 1);
	}
	return 0;
}

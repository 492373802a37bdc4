// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_websocket.c - the upgrade handshake (RFC 6455 1.3 and 4 vectors, malformed requests
 * and responses) and the framing connection (RFC 6455 5.7 frames, fragmentation, ping/pong,
 * close, limits, protocol violations, truncation at every length, client/server round trip).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "meshvpn/websocket.h"

#define RFC_KEY	   "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/* the mask key of the RFC 6455 5.7 examples */
static const uint8_t rfc_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

static const char rfc_request[] = "GET /chat HTTP/1.1\r\n"
				  "Host: server.example.com\r\n"
				  "Upgrade: websocket\r\n"
				  "Connection: Upgrade\r\n"
				  "Sec-WebSocket-Key: " RFC_KEY "\r\n"
				  "Origin: http://example.com\r\n"
				  "Sec-WebSocket-Protocol: chat, superchat\r\n"
				  "Sec-WebSocket-Version: 13\r\n"
				  "\r\n";

static int parse(const char *req, const char **why)
{
	struct ws_request r;
	return ws_parse_request((const uint8_t *)req, strlen(req), &r, why);
}

static void test_accept_key(void **state)
{
	char acc[WS_ACCEPT_LEN + 1];

	(void)state;
	assert_int_equal(ws_accept_key(RFC_KEY, acc), 0);
	assert_string_equal(acc, RFC_ACCEPT);
}

static void test_request_rfc(void **state)
{
	struct ws_request r;
	char resp[512];
	const char *why = NULL;

	(void)state;
	assert_int_equal(ws_parse_request((const uint8_t *)rfc_request, strlen(rfc_request), &r,
					  &why),
			 0);
	assert_string_equal(r.path, "/chat");
	assert_string_equal(r.host, "server.example.com");
	assert_string_equal(r.key, RFC_KEY);
	int n = ws_build_response(r.key, resp, sizeof(resp));
	assert_true(n > 0);
	assert_string_equal(resp, "HTTP/1.1 101 Switching Protocols\r\n"
				  "Upgrade: websocket\r\n"
				  "Connection: Upgrade\r\n"
				  "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
				  "\r\n");
	/* the client side accepts exactly this response */
	assert_int_equal(ws_check_response((const uint8_t *)resp, (size_t)n, RFC_KEY, &why), 0);
	assert_int_equal(ws_build_response(r.key, resp, 40), -ENOSPC);
}

static void test_request_variants(void **state)
{
	(void)state;
	/* any path, absolute form, lists and case in Upgrade/Connection, HTTP/1.2 */
	assert_int_equal(parse("GET http://x/a/b?c=d HTTP/1.2\r\nhost: x\r\n"
			       "connection: keep-alive, Upgrade\r\nUPGRADE: h2c, WebSocket\r\n"
			       "sec-websocket-key: " RFC_KEY "\r\nSec-WebSocket-Version:13  \r\n\r\n",
			       NULL),
			 0);
	/* Connection split over two header lines */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n"
			       "Connection: upgrade\r\nUpgrade: websocket\r\n"
			       "Sec-WebSocket-Key: " RFC_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
			       NULL),
			 0);
}

#define REQ_HEAD "GET / HTTP/1.1\r\n"
#define H_HOST	 "Host: x\r\n"
#define H_UPG	 "Upgrade: websocket\r\n"
#define H_CONN	 "Connection: Upgrade\r\n"
#define H_KEY	 "Sec-WebSocket-Key: " RFC_KEY "\r\n"
#define H_VER	 "Sec-WebSocket-Version: 13\r\n"

static void test_request_bad(void **state)
{
	static const char *const bad[] = {
		"POST / HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n",
		"get / HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n",
		"GET / HTTP/1.0\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n",
		"GET / HTTP/2.0\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n",
		"GET /  HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n",
		"GET HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n",
		"GET /\x01 HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n",
		REQ_HEAD H_UPG H_CONN H_KEY H_VER "\r\n",
		REQ_HEAD H_HOST H_HOST H_UPG H_CONN H_KEY H_VER "\r\n",
		REQ_HEAD "Host:\r\n" H_UPG H_CONN H_KEY H_VER "\r\n",
		REQ_HEAD H_HOST H_CONN H_KEY H_VER "\r\n",
		REQ_HEAD H_HOST "Upgrade: websockets\r\n" H_CONN H_KEY H_VER "\r\n",
		REQ_HEAD H_HOST H_UPG H_KEY H_VER "\r\n",
		REQ_HEAD H_HOST H_UPG "Connection: close\r\n" H_KEY H_VER "\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN H_VER "\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN H_KEY H_KEY H_VER "\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n" H_VER
			"\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ!==\r\n" H_VER
			"\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN H_KEY "\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN H_KEY H_VER " folded\r\n\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN H_KEY H_VER "NoColon\r\n\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN H_KEY H_VER ": empty name\r\n\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN H_KEY H_VER "Bad Name: x\r\n\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN H_KEY H_VER "X: a\x7f\r\n\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN H_KEY H_VER "X: bare\nLF\r\n\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN H_KEY H_VER "X: bare\rCR\r\n\r\n",
		REQ_HEAD H_HOST H_UPG H_CONN H_KEY H_VER, /* incomplete */
	};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (parse(bad[i], &why) != -EBADMSG)
			fail_msg("request %zu accepted or wrong error: %s", i, bad[i]);
		assert_non_null(why);
	}
	/* another version: 426 with the version we speak */
	assert_int_equal(parse(REQ_HEAD H_HOST H_UPG H_CONN H_KEY "Sec-WebSocket-Version: 8\r\n\r\n",
			       &why),
			 -EPROTONOSUPPORT);
	assert_non_null(strstr(ws_http_error(-EPROTONOSUPPORT), "426"));
	assert_non_null(strstr(ws_http_error(-EPROTONOSUPPORT), "Sec-WebSocket-Version: 13\r\n"));
	assert_non_null(strstr(ws_http_error(-EBADMSG), "HTTP/1.1 400 "));
}

static void test_http_end(void **state)
{
	static uint8_t big[WS_HTTP_MAX + 10];
	size_t n = strlen(rfc_request);

	(void)state;
	for (size_t k = 0; k < n; k++)
		assert_int_equal(ws_http_end((const uint8_t *)rfc_request, k), 0);
	assert_int_equal(ws_http_end((const uint8_t *)rfc_request, n), (int)n);
	/* bytes after the header are not part of it */
	uint8_t more[1024];
	memcpy(more, rfc_request, n);
	memcpy(more + n, "\x82\x80", 2);
	assert_int_equal(ws_http_end(more, n + 2), (int)n);
	memset(big, 'a', sizeof(big));
	assert_int_equal(ws_http_end(big, WS_HTTP_MAX - 1), 0);
	assert_int_equal(ws_http_end(big, WS_HTTP_MAX), -EMSGSIZE);
	assert_int_equal(ws_http_end(big, sizeof(big)), -EMSGSIZE);
	/* the end just inside the bound is found */
	memcpy(big + WS_HTTP_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(ws_http_end(big, sizeof(big)), WS_HTTP_MAX);
}

static void test_client_request_and_response(void **state)
{
	char key[WS_KEY_LEN + 1], key2[WS_KEY_LEN + 1], req[1024], resp[512];
	struct ws_request r;
	const char *why;
	int n;

	(void)state;
	ws_make_key(key);
	ws_make_key(key2);
	assert_int_equal(strlen(key), WS_KEY_LEN);
	assert_string_not_equal(key, key2);
	n = ws_build_request(req, sizeof(req), "proxy.example", 3210, "/p/q", key);
	assert_true(n > 0);
	assert_int_equal(ws_parse_request((const uint8_t *)req, (size_t)n, &r, NULL), 0);
	assert_string_equal(r.host, "proxy.example:3210");
	assert_string_equal(r.path, "/p/q");
	assert_string_equal(r.key, key);

	n = ws_build_request(req, sizeof(req), "2001:db8::1", 80, "", key);
	assert_true(n > 0);
	assert_int_equal(ws_parse_request((const uint8_t *)req, (size_t)n, &r, NULL), 0);
	assert_string_equal(r.host, "[2001:db8::1]");
	assert_string_equal(r.path, "/");
	assert_int_equal(ws_build_request(req, sizeof(req), "a b", 80, "/", key), -EINVAL);
	assert_int_equal(ws_build_request(req, sizeof(req), "h", 80, "/\r\n", key), -EINVAL);
	assert_int_equal(ws_build_request(req, sizeof(req), "h", 80, "nopath", key), -EINVAL);
	assert_int_equal(ws_build_request(req, 20, "h", 80, "/", key), -ENOSPC);

	n = ws_build_response(key, resp, sizeof(resp));
	assert_int_equal(ws_check_response((const uint8_t *)resp, (size_t)n, key, &why), 0);
	assert_int_equal(ws_check_response((const uint8_t *)resp, (size_t)n, key2, &why), -EPROTO);
	assert_int_equal(ws_check_response((const uint8_t *)resp, (size_t)n - 1, key, &why),
			 -EBADMSG);
}

static int check_resp(const char *resp)
{
	return ws_check_response((const uint8_t *)resp, strlen(resp), RFC_KEY, NULL);
}

static void test_response_bad(void **state)
{
	(void)state;
	assert_int_equal(check_resp("HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: upgrade"
				    "\r\nsec-websocket-accept: " RFC_ACCEPT "\r\n\r\n"),
			 0);
	assert_int_equal(check_resp("HTTP/1.1 101\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n"),
			 0);
	assert_int_equal(check_resp("HTTP/1.1 403 Forbidden\r\n\r\n"), -ECONNREFUSED);
	assert_int_equal(check_resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), -ECONNREFUSED);
	assert_int_equal(check_resp("HTTP/1.0 101 x\r\n\r\n"), -EBADMSG);
	assert_int_equal(check_resp("HTTP/1.1 1010 x\r\n\r\n"), -EBADMSG);
	assert_int_equal(check_resp("SSH-2.0-OpenSSH\r\n\r\n"), -EBADMSG);
	assert_int_equal(check_resp("HTTP/1.1 101 x\r\nConnection: Upgrade\r\n"
				    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n"),
			 -EPROTO);
	assert_int_equal(check_resp("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
				    "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"),
			 -EPROTO);
	assert_int_equal(check_resp("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				    "Sec-WebSocket-Protocol: chat\r\n"
				    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n"),
			 -EPROTO);
	assert_int_equal(check_resp("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
				    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n"),
			 -EPROTO);
	assert_int_equal(check_resp("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				    "Sec-WebSocket-Accept: " RFC_KEY "\r\n\r\n"),
			 -EPROTO);
}

/* ---- framing ---- */

static struct ws_conn *conn(enum ws_role role, size_t out_cap, size_t max_msg)
{
	struct ws_conn *c;
	assert_int_equal(ws_conn_new(&c, role, 4096, out_cap, max_msg), 0);
	return c;
}

/* A frame as a peer would send it; mask may be NULL (unmasked). Returns its length. */
static size_t frame(uint8_t *out, uint8_t b0, const uint8_t *mask, const void *payload, size_t n)
{
	const uint8_t *pl = payload;
	size_t k = 0;

	out[k++] = b0;
	if (n < 126) {
		out[k++] = (uint8_t)((mask ? 0x80 : 0) | n);
	} else if (n <= 0xffff) {
		out[k++] = (uint8_t)((mask ? 0x80 : 0) | 126);
		out[k++] = (uint8_t)(n >> 8);
		out[k++] = (uint8_t)n;
	} else {
		out[k++] = (uint8_t)((mask ? 0x80 : 0) | 127);
		for (int i = 7; i >= 0; i--)
			out[k++] = (uint8_t)((uint64_t)n >> (8 * i));
	}
	if (mask) {
		memcpy(out + k, mask, 4);
		k += 4;
	}
	for (size_t i = 0; i < n; i++)
		out[k + i] = mask ? pl[i] ^ mask[i % 4] : pl[i];
	return k + n;
}

static void feed(struct ws_conn *c, const void *p, size_t n)
{
	assert_int_equal(ws_input(c, p, n), 0);
}

/* Takes everything queued for sending. */
static size_t drain(struct ws_conn *c, uint8_t *out, size_t cap)
{
	size_t n;
	const uint8_t *p = ws_out_peek(c, &n);
	assert_true(n <= cap);
	memcpy(out, p, n);
	ws_out_consume(c, n);
	return n;
}

static void test_rfc_frames_client(void **state)
{
	static const uint8_t hello_text[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	static const uint8_t frag_text[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
	static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	static uint8_t big[65536 + 10], payload[65536];
	struct ws_conn *c = conn(WS_ROLE_CLIENT, 1 << 17, 65536);
	struct ws_msg m;
	uint8_t out[64];

	(void)state;
	/* text messages (single and fragmented) are skipped */
	feed(c, hello_text, sizeof(hello_text));
	feed(c, frag_text, sizeof(frag_text));
	assert_int_equal(ws_next(c, &m), WS_NEED_MORE);
	assert_int_equal(ws_out_pending(c), 0);

	/* the unmasked ping is answered with a masked pong carrying "Hello" */
	feed(c, ping, sizeof(ping));
	assert_int_equal(ws_next(c, &m), WS_NEED_MORE);
	size_t n = drain(c, out, sizeof(out));
	assert_int_equal(n, 11);
	assert_int_equal(out[0], 0x8a);
	assert_int_equal(out[1], 0x85);
	for (size_t i = 0; i < 5; i++)
		out[6 + i] ^= out[2 + i % 4];
	assert_memory_equal(out + 6, "Hello", 5);

	/* 256 bytes binary in a single unmasked frame: 0x82 0x7E 0x0100 */
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	n = frame(big, 0x82, NULL, payload, 256);
	assert_memory_equal(big, "\x82\x7e\x01\x00", 4);
	feed(c, big, n);
	assert_int_equal(ws_next(c, &m), WS_BINARY);
	assert_int_equal(m.len, 256);
	assert_memory_equal(m.data, payload, 256);
	assert_int_equal(ws_next(c, &m), WS_NEED_MORE);

	/* 64 KiB in a single unmasked frame: 0x82 0x7F 0x0000000000010000 (fed in pieces) */
	n = frame(big, 0x82, NULL, payload, 65536);
	assert_memory_equal(big, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
	for (size_t off = 0; off < n; off += 4000) {
		size_t k = MIN((size_t)4000, n - off);
		feed(c, big + off, k);
		int ev = ws_next(c, &m);
		assert_int_equal(ev, off + k == n ? WS_BINARY : WS_NEED_MORE);
	}
	assert_int_equal(m.len, 65536);
	assert_memory_equal(m.data, payload, 65536);
	ws_conn_free(c);
}

static void test_rfc_frames_server(void **state)
{
	static const uint8_t masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					       0x7f, 0x9f, 0x4d, 0x51, 0x58};
	static const uint8_t masked_pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					      0x7f, 0x9f, 0x4d, 0x51, 0x58};
	struct ws_conn *c = conn(WS_ROLE_SERVER, 4096, 1024);
	struct ws_msg m;
	uint8_t b[64], out[64];
	size_t n;

	(void)state;
	feed(c, masked_hello, sizeof(masked_hello));
	feed(c, masked_pong, sizeof(masked_pong));
	assert_int_equal(ws_next(c, &m), WS_NEED_MORE);
	assert_int_equal(ws_out_pending(c), 0);

	/* a masked ping "Hello" gets the unmasked pong of RFC 6455 5.7 */
	n = frame(b, 0x89, rfc_mask, "Hello", 5);
	assert_memory_equal(b, "\x89\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
	feed(c, b, n);
	assert_int_equal(ws_next(c, &m), WS_NEED_MORE);
	assert_int_equal(drain(c, out, sizeof(out)), 7);
	assert_memory_equal(out, "\x8a\x05Hello", 7);

	/* a masked binary message, and what the server sends back is unmasked */
	n = frame(b, 0x82, rfc_mask, "\x01\x02\x03", 3);
	feed(c, b, n);
	assert_int_equal(ws_next(c, &m), WS_BINARY);
	assert_int_equal(m.len, 3);
	assert_memory_equal(m.data, "\x01\x02\x03", 3);
	assert_int_equal(ws_queue_binary(c, "ab", 2, "cde", 3), 0);
	assert_int_equal(drain(c, out, sizeof(out)), 7);
	assert_memory_equal(out, "\x82\x05" "abcde", 7);
	/* an empty binary message */
	n = frame(b, 0x82, rfc_mask, "", 0);
	feed(c, b, n);
	assert_int_equal(ws_next(c, &m), WS_BINARY);
	assert_int_equal(m.len, 0);
	ws_conn_free(c);
}

static void test_fragmented(void **state)
{
	struct ws_conn *c = conn(WS_ROLE_SERVER, 4096, 16);
	struct ws_msg m;
	uint8_t b[256], out[64];
	size_t n = 0;

	(void)state;
	n += frame(b + n, 0x02, rfc_mask, "Hel", 3);
	n += frame(b + n, 0x89, rfc_mask, "p", 1); /* a ping between the fragments */
	n += frame(b + n, 0x00, rfc_mask, "lo, ", 4);
	n += frame(b + n, 0x00, rfc_mask, "", 0);
	n += frame(b + n, 0x80, rfc_mask, "world", 5);
	n += frame(b + n, 0x82, rfc_mask, "!", 1);
	feed(c, b, n);
	assert_int_equal(ws_next(c, &m), WS_BINARY);
	assert_int_equal(m.len, 12);
	assert_memory_equal(m.data, "Hello, world", 12);
	assert_int_equal(ws_next(c, &m), WS_BINARY);
	assert_int_equal(m.len, 1);
	assert_memory_equal(m.data, "!", 1);
	assert_int_equal(ws_next(c, &m), WS_NEED_MORE);
	assert_int_equal(drain(c, out, sizeof(out)), 3);
	assert_memory_equal(out, "\x8a\x01p", 3);

	/* exactly max_msg over several fragments is fine, one more byte is not */
	n = frame(b, 0x02, rfc_mask, "0123456789", 10);
	n += frame(b + n, 0x80, rfc_mask, "abcdef", 6);
	feed(c, b, n);
	assert_int_equal(ws_next(c, &m), WS_BINARY);
	assert_int_equal(m.len, 16);
	n = frame(b, 0x02, rfc_mask, "0123456789", 10);
	n += frame(b + n, 0x80, rfc_mask, "abcdefg", 7);
	feed(c, b, n);
	assert_int_equal(ws_next(c, &m), -EMSGSIZE);
	assert_int_equal(ws_next(c, &m), -EMSGSIZE); /* sticky */
	assert_int_equal(drain(c, out, sizeof(out)), 4);
	assert_memory_equal(out, "\x88\x02\x03\xf1", 4); /* close 1009 */
	ws_conn_free(c);
}

static void test_close(void **state)
{
	struct ws_conn *c = conn(WS_ROLE_SERVER, 4096, 64);
	struct ws_msg m;
	uint8_t b[64], out[64];
	size_t n;

	(void)state;
	n = frame(b, 0x82, rfc_mask, "x", 1);
	n += frame(b + n, 0x88, rfc_mask, "\x03\xe8" "bye", 5);
	n += frame(b + n, 0x82, rfc_mask, "y", 1); /* after the close: never seen */
	feed(c, b, n);
	assert_int_equal(ws_next(c, &m), WS_BINARY);
	assert_int_equal(ws_next(c, &m), WS_CLOSED);
	assert_int_equal(m.close_code, 1000);
	assert_int_equal(ws_next(c, &m), WS_CLOSED);
	assert_true(ws_close_sent(c));
	assert_int_equal(drain(c, out, sizeof(out)), 4);
	assert_memory_equal(out, "\x88\x02\x03\xe8", 4);
	assert_int_equal(ws_queue_binary(c, NULL, 0, "z", 1), -EPIPE);
	assert_int_equal(ws_queue_ping(c, NULL, 0), -EPIPE);
	ws_conn_free(c);

	/* no status code: reported as 1005, answered with 1000 */
	c = conn(WS_ROLE_SERVER, 4096, 64);
	n = frame(b, 0x88, rfc_mask, "", 0);
	feed(c, b, n);
	assert_int_equal(ws_next(c, &m), WS_CLOSED);
	assert_int_equal(m.close_code, WS_CLOSE_NO_STATUS);
	assert_int_equal(drain(c, out, sizeof(out)), 4);
	assert_memory_equal(out, "\x88\x02\x03\xe8", 4);
	ws_conn_free(c);

	/* our own close first, then the peer's answer; nothing is sent twice */
	c = conn(WS_ROLE_SERVER, 4096, 64);
	assert_int_equal(ws_queue_close(c, WS_CLOSE_GOING_AWAY), 0);
	assert_int_equal(ws_queue_close(c, WS_CLOSE_GOING_AWAY), -EPIPE);
	assert_int_equal(drain(c, out, sizeof(out)), 4);
	assert_memory_equal(out, "\x88\x02\x03\xe9", 4);
	n = frame(b, 0x89, rfc_mask, "late", 4); /* a ping after our close: no pong */
	n += frame(b + n, 0x88, rfc_mask, "\x03\xe9", 2);
	feed(c, b, n);
	assert_int_equal(ws_next(c, &m), WS_CLOSED);
	assert_int_equal(m.close_code, 1001);
	assert_int_equal(ws_out_pending(c), 0);
	ws_conn_free(c);
}

/* One bad frame (after a good message) must give err, and a close 1002 when proto. */
static void expect_error(enum ws_role role, const uint8_t *bad, size_t n, int err)
{
	struct ws_conn *c = conn(role, 4096, 200);
	const uint8_t *mask = role == WS_ROLE_SERVER ? rfc_mask : NULL;
	struct ws_msg m;
	uint8_t b[512], out[64];
	size_t k = frame(b, 0x82, mask, "ok", 2);

	memcpy(b + k, bad, n);
	feed(c, b, k + n);
	assert_int_equal(ws_next(c, &m), WS_BINARY);
	assert_int_equal(ws_next(c, &m), err);
	size_t o = drain(c, out, sizeof(out));
	assert_true(o >= 4);
	assert_int_equal(out[0], 0x88);
	uint8_t code[2] = {out[o - 2], out[o - 1]};
	if (role == WS_ROLE_CLIENT) /* the client masks its close */
		for (int i = 0; i < 2; i++)
			code[i] ^= out[2 + i];
	assert_int_equal(code[0] << 8 | code[1], err == -EMSGSIZE ? 1009 : 1002);
	ws_conn_free(c);
}

static void test_violations(void **state)
{
	uint8_t b[512], pl[256] = {0};
	size_t n;

	(void)state;
	/* reserved opcodes */
	for (uint8_t op = 3; op <= 0xf; op++) {
		if (op >= 8 && op <= 10)
			continue;
		n = frame(b, 0x80 | op, rfc_mask, "a", 1);
		expect_error(WS_ROLE_SERVER, b, n, -EPROTO);
	}
	/* reserved bits */
	for (uint8_t rsv = 1; rsv < 8; rsv++) {
		n = frame(b, (uint8_t)(0x82 | rsv << 4), rfc_mask, "a", 1);
		expect_error(WS_ROLE_SERVER, b, n, -EPROTO);
	}
	/* unmasked to the server, masked to the client */
	n = frame(b, 0x82, NULL, "a", 1);
	expect_error(WS_ROLE_SERVER, b, n, -EPROTO);
	n = frame(b, 0x82, rfc_mask, "a", 1);
	expect_error(WS_ROLE_CLIENT, b, n, -EPROTO);
	/* continuation without a message, a new message inside a fragmented one */
	n = frame(b, 0x80, rfc_mask, "a", 1);
	expect_error(WS_ROLE_SERVER, b, n, -EPROTO);
	n = frame(b, 0x02, rfc_mask, "a", 1);
	n += frame(b + n, 0x82, rfc_mask, "b", 1);
	expect_error(WS_ROLE_SERVER, b, n, -EPROTO);
	n = frame(b, 0x01, rfc_mask, "a", 1);
	n += frame(b + n, 0x81, rfc_mask, "b", 1);
	expect_error(WS_ROLE_SERVER, b, n, -EPROTO);
	/* fragmented and oversized control frames */
	n = frame(b, 0x09, rfc_mask, "a", 1);
	expect_error(WS_ROLE_SERVER, b, n, -EPROTO);
	n = frame(b, 0x89, rfc_mask, pl, 126);
	expect_error(WS_ROLE_SERVER, b, n, -EPROTO);
	/* close with one byte or an invalid code */
	n = frame(b, 0x88, rfc_mask, "\x03", 1);
	expect_error(WS_ROLE_SERVER, b, n, -EPROTO);
	static const uint16_t bad_codes[] = {0, 999, 1004, 1005, 1006, 1015, 2999, 5000};
	for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++) {
		uint8_t code[2] = {(uint8_t)(bad_codes[i] >> 8), (uint8_t)bad_codes[i]};
		n = frame(b, 0x88, rfc_mask, code, 2);
		expect_error(WS_ROLE_SERVER, b, n, -EPROTO);
	}
	/* non-minimal length encodings */
	memcpy(b, "\x82\xfe\x00\x7d", 4); /* 125 in 16 bits */
	memcpy(b + 4, rfc_mask, 4);
	expect_error(WS_ROLE_SERVER, b, 8 + 125, -EPROTO);
	memcpy(b, "\x82\xff\x00\x00\x00\x00\x00\x00\xff\xff", 10); /* 65535 in 64 bits */
	memcpy(b + 10, rfc_mask, 4);
	expect_error(WS_ROLE_SERVER, b, 14, -EPROTO);
	memcpy(b, "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10); /* top bit set */
	expect_error(WS_ROLE_SERVER, b, 14, -EPROTO);
	/* oversized single frame: refused with its first payload byte, long before its end */
	memcpy(b, "\x82\xfe\x00\xc9", 4); /* 201 > 200 */
	memcpy(b + 4, rfc_mask, 4);
	b[8] = 0;
	expect_error(WS_ROLE_SERVER, b, 9, -EMSGSIZE);
	n = frame(b, 0x82, NULL, pl, 201);
	expect_error(WS_ROLE_CLIENT, b, n, -EMSGSIZE);
	/* oversized text is skipped, not an error (never stored) */
	struct ws_conn *c = conn(WS_ROLE_SERVER, 4096, 8);
	struct ws_msg m;
	n = frame(b, 0x81, rfc_mask, pl, 150);
	feed(c, b, n);
	assert_int_equal(ws_next(c, &m), WS_NEED_MORE);
	ws_conn_free(c);
}

/* A stream of several messages; every prefix yields exactly the messages that end in it. */
static void test_truncated_every_length(void **state)
{
	static uint8_t b[2048];
	uint8_t pl[300];
	size_t n = 0, ends[8], k = 0;
	struct ws_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i ^ 0x5a);
	n += frame(b + n, 0x82, rfc_mask, pl, 5);
	ends[k++] = n;
	n += frame(b + n, 0x89, rfc_mask, "pi", 2);
	n += frame(b + n, 0x81, rfc_mask, "text", 4);
	n += frame(b + n, 0x82, rfc_mask, pl, 300);
	ends[k++] = n;
	n += frame(b + n, 0x02, rfc_mask, pl, 130);
	n += frame(b + n, 0x8a, rfc_mask, "po", 2);
	n += frame(b + n, 0x80, rfc_mask, pl + 130, 20);
	ends[k++] = n;
	n += frame(b + n, 0x88, rfc_mask, "\x03\xe8", 2);
	size_t close_end = n;

	for (size_t cut = 0; cut <= n; cut++) {
		struct ws_conn *c = conn(WS_ROLE_SERVER, 4096, 300);
		size_t got = 0, expect = 0;
		int ev;
		for (size_t i = 0; i < k; i++)
			expect += ends[i] <= cut;
		feed(c, b, cut);
		while ((ev = ws_next(c, &m)) == WS_BINARY) {
			size_t want = got == 0 ? 5 : got == 1 ? 300 : 150;
			assert_int_equal(m.len, want);
			assert_memory_equal(m.data, pl, want);
			got++;
		}
		assert_int_equal(got, expect);
		assert_int_equal(ev, cut == close_end ? WS_CLOSED : WS_NEED_MORE);
		/* the rest, one byte at a time */
		for (size_t i = cut; i < n; i++) {
			feed(c, b + i, 1);
			while ((ev = ws_next(c, &m)) == WS_BINARY)
				got++;
			assert_true(ev >= 0);
		}
		assert_int_equal(got, k);
		assert_int_equal(ev, WS_CLOSED);
		ws_conn_free(c);
	}
}

/* What a client queues the server reads back unchanged, and the other way round. */
static void test_round_trip(void **state)
{
	static const size_t sizes[] = {0, 1, 107, 108, 125, 126, 4000, 65517, 65518, 70000};
	static uint8_t data[70000], wire[1 << 20];
	struct ws_conn *cl = conn(WS_ROLE_CLIENT, 1 << 19, 70018);
	struct ws_conn *sv = conn(WS_ROLE_SERVER, 1 << 19, 70018);
	uint8_t head[18];
	struct ws_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 1);
	for (size_t i = 0; i < sizeof(head); i++)
		head[i] = (uint8_t)(0xa0 + i);
	for (int dir = 0; dir < 2; dir++) {
		struct ws_conn *tx = dir ? sv : cl, *rx = dir ? cl : sv;
		size_t total = 0;
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			assert_int_equal(ws_queue_binary(tx, head, 18, data, sizes[i]), 0);
			total += ws_frame_size(tx, 18 + sizes[i]);
		}
		assert_int_equal(ws_out_pending(tx), total);
		size_t n = drain(tx, wire, sizeof(wire));
		/* fed in odd-sized pieces as a socket would deliver them */
		size_t off = 0, got = 0;
		while (off < n) {
			size_t room;
			uint8_t *p = ws_in_buf(rx, &room);
			size_t k = MIN(MIN(room, (size_t)3333), n - off);
			memcpy(p, wire + off, k);
			ws_in_commit(rx, k);
			off += k;
			int ev;
			while ((ev = ws_next(rx, &m)) == WS_BINARY) {
				assert_int_equal(m.len, 18 + sizes[got]);
				assert_memory_equal(m.data, head, 18);
				assert_memory_equal(m.data + 18, data, sizes[got]);
				got++;
			}
			assert_int_equal(ev, WS_NEED_MORE);
		}
		assert_int_equal(got, sizeof(sizes) / sizeof(sizes[0]));
	}
	/* masks differ from frame to frame */
	assert_int_equal(ws_queue_binary(cl, NULL, 0, "a", 1), 0);
	assert_int_equal(ws_queue_binary(cl, NULL, 0, "a", 1), 0);
	size_t n = drain(cl, wire, sizeof(wire));
	assert_int_equal(n, 14);
	assert_memory_not_equal(wire + 2, wire + 9, 4);
	ws_conn_free(cl);
	ws_conn_free(sv);
}

static void test_output_full(void **state)
{
	struct ws_conn *c;
	struct ws_msg m;
	uint8_t b[64], out[256];
	size_t n;

	(void)state;
	assert_int_equal(ws_conn_new(&c, WS_ROLE_SERVER, 64, 64, 51), -EINVAL);
	assert_null(c);
	c = conn(WS_ROLE_SERVER, 64, 50);
	assert_int_equal(ws_queue_binary(c, NULL, 0, out, 63), -EMSGSIZE);
	/* 30-byte frames: two fit, the third does not, nothing partial is left */
	assert_int_equal(ws_queue_binary(c, NULL, 0, out, 28), 0);
	assert_int_equal(ws_queue_binary(c, NULL, 0, out, 28), 0);
	assert_int_equal(ws_queue_binary(c, NULL, 0, out, 28), -ENOBUFS);
	assert_int_equal(ws_out_pending(c), 60);
	/* a ping arrives while full: its pong goes out once there is room */
	n = frame(b, 0x89, rfc_mask, "full", 4);
	feed(c, b, n);
	assert_int_equal(ws_next(c, &m), WS_NEED_MORE);
	assert_int_equal(ws_out_pending(c), 60);
	const uint8_t *p = ws_out_peek(c, &n);
	(void)p;
	ws_out_consume(c, 30);
	assert_int_equal(ws_out_pending(c), 36);
	n = drain(c, out, sizeof(out));
	assert_memory_equal(out + 30, "\x8a\x04" "full", 6);
	/* all written: the whole buffer is free again */
	assert_int_equal(ws_queue_binary(c, NULL, 0, out, 48), 0);
	assert_int_equal(ws_queue_raw(c, "xyzxyzxyzxyzxyz", 15), -ENOBUFS);
	ws_conn_free(c);
}

static void test_input_buffer(void **state)
{
	struct ws_conn *c = conn(WS_ROLE_SERVER, 4096, 64);
	uint8_t b[64];
	struct ws_msg m;
	size_t room, n, len;

	(void)state;
	uint8_t *p = ws_in_buf(c, &room);
	assert_int_equal(room, 4096);
	/* an HTTP header with the first frame behind it */
	n = (size_t)snprintf((char *)b, sizeof(b), "GET / HTTP/1.1\r\n\r\n");
	n += frame(b + n, 0x82, rfc_mask, "hi", 2);
	memcpy(p, b, n);
	ws_in_commit(c, n);
	const uint8_t *q = ws_in_peek(c, &len);
	assert_int_equal(len, n);
	assert_int_equal(ws_http_end(q, len), 18);
	ws_in_consume(c, 18);
	assert_int_equal(ws_next(c, &m), WS_BINARY);
	assert_memory_equal(m.data, "hi", 2);
	/* full buffer: ws_input refuses, nothing is lost */
	static uint8_t junk[4097];
	assert_int_equal(ws_input(c, junk, sizeof(junk)), -ENOBUFS);
	assert_int_equal(ws_input(c, junk, 4096), 0);
	ws_in_buf(c, &room);
	assert_int_equal(room, 0);
	ws_conn_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_key),
		cmocka_unit_test(test_request_rfc),
		cmocka_unit_test(test_request_variants),
		cmocka_unit_test(test_request_bad),
		cmocka_unit_test(test_http_end),
		cmocka_unit_test(test_client_request_and_response),
		cmocka_unit_test(test_response_bad),
		cmocka_unit_test(test_rfc_frames_client),
		cmocka_unit_test(test_rfc_frames_server),
		cmocka_unit_test(test_fragmented),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_violations),
		cmocka_unit_test(test_truncated_every_length),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_output_full),
		cmocka_unit_test(test_input_buffer),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_wsclient.c - what the WebSocket client reads from the proxy, without a socket: the 101
 * answer arriving in pieces, with frames behind it, refused and over-long answers, and the
 * address || datagram messages (too short, too long for the buffer, exact).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "meshvpn/addr.h"
#include "meshvpn/websocket.h"
#include "meshvpn/wsclient.h"

#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="

static const char ok_answer[] = "HTTP/1.1 101 Switching Protocols\r\n"
				"Upgrade: websocket\r\n"
				"Connection: Upgrade\r\n"
				"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
				"\r\n";

static struct ws_conn *conn(void)
{
	struct ws_conn *c;

	assert_int_equal(ws_conn_new(&c, WS_ROLE_CLIENT, 2 * WS_HTTP_MAX, 8192, 4096), 0);
	return c;
}

static void feed(struct ws_conn *c, const void *p, size_t n)
{
	size_t room;
	uint8_t *dst = ws_in_buf(c, &room);

	assert_true(room >= n);
	memcpy(dst, p, n);
	ws_in_commit(c, n);
}

/* The answer byte by byte, then a frame in the same read: the frame stays for ws_next(). */
static void test_upgrade_in_pieces(void **state)
{
	(void)state;
	struct ws_conn *c = conn();
	const char *why = NULL;
	const uint8_t frame[] = {0x82, 0x02, 'h', 'i'};
	size_t n = strlen(ok_answer);

	for (size_t i = 0; i + 1 < n; i++) {
		feed(c, ok_answer + i, 1);
		assert_int_equal(wsclient_upgrade_input(c, RFC_KEY, &why), 0);
	}
	feed(c, ok_answer + n - 1, 1);
	feed(c, frame, sizeof(frame));
	assert_int_equal(wsclient_upgrade_input(c, RFC_KEY, &why), 1);
	struct ws_msg m;
	assert_int_equal(ws_next(c, &m), WS_BINARY);
	assert_int_equal(m.len, 2);
	assert_memory_equal(m.data, "hi", 2);
	ws_conn_free(c);
}

static void test_upgrade_refused(void **state)
{
	(void)state;
	struct ws_conn *c = conn();
	const char *why = NULL;
	static const char bad_accept[] = "HTTP/1.1 101 Switching Protocols\r\n"
					 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
					 "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";

	feed(c, bad_accept, strlen(bad_accept));
	assert_true(wsclient_upgrade_input(c, RFC_KEY, &why) < 0);
	assert_non_null(why);
	ws_conn_free(c);
	c = conn();
	why = NULL;
	feed(c, "HTTP/1.1 403 Forbidden\r\n\r\n", 26);
	assert_true(wsclient_upgrade_input(c, RFC_KEY, &why) < 0);
	assert_non_null(why);
	ws_conn_free(c);
}

static void test_upgrade_too_long(void **state)
{
	(void)state;
	struct ws_conn *c = conn();
	const char *why = NULL;
	static char junk[WS_HTTP_MAX + 1];

	memset(junk, 'a', sizeof(junk));
	feed(c, junk, sizeof(junk));
	assert_int_equal(wsclient_upgrade_input(c, RFC_KEY, &why), -EMSGSIZE);
	assert_non_null(why);
	ws_conn_free(c);
}

static void test_unwrap(void **state)
{
	(void)state;
	uint8_t msg[ADDR_WIRE_LEN + 3] = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 10, 0x0c, 0x8a,
					  'a', 'b', 'c'};
	struct ws_msg m = {.data = msg, .len = sizeof(msg)};
	struct addr a;
	const uint8_t *d = NULL;
	size_t n = 0;

	assert_int_equal(wsclient_unwrap(&m, 3, &a, &d, &n), 0);
	assert_ptr_equal(d, msg + ADDR_WIRE_LEN);
	assert_int_equal(n, 3);
	assert_true(addr_is_v4(&a));
	assert_int_equal(a.port, 3210);
	assert_int_equal(wsclient_unwrap(&m, 2, &a, &d, &n), -EMSGSIZE);
	m.len = ADDR_WIRE_LEN;
	assert_int_equal(wsclient_unwrap(&m, 0, &a, &d, &n), 0);
	assert_int_equal(n, 0);
	m.len = ADDR_WIRE_LEN - 1;
	assert_int_equal(wsclient_unwrap(&m, 4096, &a, &d, &n), -EBADMSG);
	m.len = 0;
	assert_int_equal(wsclient_unwrap(&m, 4096, &a, &d, &n), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upgrade_in_pieces),
		cmocka_unit_test(test_upgrade_refused),
		cmocka_unit_test(test_upgrade_too_long),
		cmocka_unit_test(test_unwrap),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_wsclient.c - libFuzzer target for what the node's WebSocket client reads from a proxy
 * (wsclient.c): the HTTP answer to the upgrade (wsclient_upgrade_input()), the first message
 * (the public address) and then the datagram messages (wsclient_unwrap()), as one byte stream
 * fed in socket-sized pieces, the way the worker and the loop read it.
 *
 * Input: read size - 1 (1 byte), datagram room / 8 (1 byte), then the stream. The client's key
 * is the RFC 6455 sample, so a seed answer carries its Sec-WebSocket-Accept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/addr.h"
#include "meshvpn/websocket.h"
#include "meshvpn/wsclient.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

#define IN_CAP	2 * WS_HTTP_MAX
#define OUT_CAP 8192
#define MAX_MSG 4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	CHECK(sodium_init() >= 0);
	return 0;
}

enum phase { UPGRADE, FIRST, DATA, DONE };

static enum phase upgrade(struct ws_conn *ws)
{
	const char *reason = NULL;
	size_t before, after;

	ws_in_peek(ws, &before);
	int r = wsclient_upgrade_input(ws, key, &reason);
	ws_in_peek(ws, &after);
	if (r == 0) {
		CHECK(after == before);
		return UPGRADE;
	}
	if (r < 0) {
		CHECK(reason != NULL);
		CHECK(r == -EMSGSIZE || r == -EBADMSG || r == -EPROTO || r == -ECONNREFUSED);
		CHECK(r != -EMSGSIZE || before >= WS_HTTP_MAX);
		return DONE;
	}
	CHECK(r == 1 && after < before && before - after <= WS_HTTP_MAX);
	return FIRST;
}

/* Every message after the upgrade; returns the next phase. */
static enum phase messages(struct ws_conn *ws, enum phase ph, size_t room)
{
	struct ws_msg m;
	int ev;

	while ((ev = ws_next(ws, &m)) == WS_BINARY) {
		struct addr src;
		const uint8_t *dg = NULL;
		size_t len = 0, lim = ph == FIRST ? m.len : room;
		int r = wsclient_unwrap(&m, lim, &src, &dg, &len);

		CHECK(m.len <= MAX_MSG);
		if (m.len < ADDR_WIRE_LEN) {
			CHECK(r == -EBADMSG);
			if (ph == FIRST)
				return DONE; /* the worker gives up on this connection */
			continue;
		}
		if (m.len - ADDR_WIRE_LEN > lim) {
			CHECK(r == -EMSGSIZE && ph == DATA);
			continue;
		}
		CHECK(r == 0 && dg == m.data + ADDR_WIRE_LEN && len == m.len - ADDR_WIRE_LEN);
		uint8_t w[ADDR_WIRE_LEN];
		addr_to_wire18(&src, w);
		CHECK(memcmp(w, m.data, sizeof(w)) == 0);
		ph = DATA;
	}
	if (ev < 0 || ev == WS_CLOSED)
		return DONE;
	return ph;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_conn *ws;
	enum phase ph = UPGRADE;
	size_t chunk, room, off = 0;

	if (size < 2)
		return 0;
	chunk = (size_t)data[0] + 1;
	room = (size_t)data[1] * 8;
	data += 2;
	size -= 2;
	CHECK(ws_conn_new(&ws, WS_ROLE_CLIENT, IN_CAP, OUT_CAP, MAX_MSG) == 0);
	while (off < size && ph != DONE) {
		size_t cap, k;
		uint8_t *dst = ws_in_buf(ws, &cap);

		k = MIN(MIN(cap, chunk), size - off);
		if (k == 0)
			break; /* a full buffer with no complete header: the worker says too long */
		memcpy(dst, data + off, k);
		ws_in_commit(ws, k);
		off += k;
		if (ph == UPGRADE)
			ph = upgrade(ws);
		if (ph == FIRST || ph == DATA)
			ph = messages(ws, ph, room);
		size_t len;
		ws_out_peek(ws, &len); /* pongs and the close the client would send */
		CHECK(len <= OUT_CAP);
		ws_out_consume(ws, len);
	}
	ws_conn_free(ws);
	return 0;
}

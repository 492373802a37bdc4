/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * wsclient.h - the node side of the WebSocket proxy (PROTOCOL.md 8.3) as a transport
 * (transport.h): for a node that can only make outgoing TCP connections. Every datagram
 * travels as one binary message `address (18) || datagram` to a proxy (meshvpn-wsproxy or
 * VpnCloud's ws-proxy), which relays it over UDP from a socket of its own; the proxy's first
 * message is the node's public address (the proxy's address and that socket's port).
 *
 * ws:// and wss:// (TLS, certificate and host name verified against the system store or a
 * given CA file). The TCP connect, the TLS handshake and the HTTP upgrade run in a worker
 * thread (chan.h), never on the loop; a lost connection is re-established with back-off
 * (VpnCloud stops the node instead). Reads and writes are batched: one read takes in many
 * messages, one write sends many.
 */
#ifndef MESHVPN_WSCLIENT_H
#define MESHVPN_WSCLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "transport.h"
#include "util.h"
#include "websocket.h"

#define WSCLIENT_BUF	     (512 * 1024) /* input and output buffer per connection */
#define WSCLIENT_CONNECT_MS  5000 /* TCP connect */
#define WSCLIENT_HANDSHAKE_MS 10000 /* TLS + upgrade + the first message, after connect */
#define WSCLIENT_RETRY_MIN   1	  /* seconds before the first reconnect ... */
#define WSCLIENT_RETRY_MAX   4	  /* ... doubling up to this */

struct wsclient_params {
	const char *host; /* name or IP literal (no brackets); copied */
	uint16_t port;
	const char *path; /* "/..." or "" (copied) */
	bool tls;	  /* wss:// */
	const char *ca_file; /* wss: CA bundle (PEM) instead of the system store; NULL: system */
};

struct wsclient;

/*
 * Sets up the client (TLS context, worker thread); the first connection attempt starts at
 * once. Call after loop_init() (chan.h). 0 or -errno (*out = NULL; a bad CA file is -EINVAL
 * and logged).
 */
int wsclient_new(const struct wsclient_params *p, struct wsclient **out) WUR;
struct transport *wsclient_transport(struct wsclient *c);

/*
 * The two steps that read what the proxy sends, without I/O (also the fuzz target's way in).
 *
 * wsclient_upgrade_input() looks for the proxy's complete HTTP answer in ws's input buffer:
 * 1 when it is a valid 101 for key and has been consumed (what follows stays for ws_next()),
 * 0 when more bytes are needed, else -EMSGSIZE (no end within WS_HTTP_MAX bytes) or
 * ws_check_response()'s error; *reason gets a static text on an error.
 */
int wsclient_upgrade_input(struct ws_conn *ws, const char key[static WS_KEY_LEN + 1],
			   const char **reason) WUR;
/*
 * Splits a binary message from the proxy into the address (18 bytes) and the datagram behind
 * it. 0, -EBADMSG (shorter than an address) or -EMSGSIZE (the datagram is over room bytes).
 */
int wsclient_unwrap(const struct ws_msg *m, size_t room, struct addr *src, const uint8_t **data,
		    size_t *len) WUR;

#endif

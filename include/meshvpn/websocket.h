/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * websocket.h - RFC 6455 WebSocket without I/O: the HTTP/1.1 upgrade (client request,
 * server validation and 101 response, client check of the response) and a framing
 * connection (libwslay's frame layer) over an input and an output byte buffer that the
 * owner fills from and drains to its socket or TLS session in large batches. Used by the
 * proxy server (wsproxy/) and by the node's WebSocket client transport.
 *
 * A connection in a non-blocking loop:
 *   p = ws_in_buf(c, &room); n = read(fd, p, room); ws_in_commit(c, n);
 *   while ((ev = ws_next(c, &m)) == WS_BINARY) use(m.data, m.len);
 *   ws_queue_binary(c, addr18, 18, dgram, len) ... (many)
 *   p = ws_out_peek(c, &len); n = write(fd, p, len); ws_out_consume(c, n);
 * During the upgrade the same input buffer collects the HTTP header: ws_in_peek() shows it,
 * ws_in_consume() drops it, and any bytes after it stay for ws_next().
 */
#ifndef MESHVPN_WEBSOCKET_H
#define MESHVPN_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define WS_NONCE_LEN	 16   /* random bytes behind Sec-WebSocket-Key */
#define WS_KEY_LEN	 24   /* base64 of WS_NONCE_LEN bytes */
#define WS_ACCEPT_LEN	 28   /* base64 of a SHA-1 digest */
#define WS_HTTP_MAX	 8192 /* longest upgrade request or response header accepted */
#define WS_HOST_MAX	 256  /* Host header value, incl. NUL */
#define WS_PATH_MAX	 1024 /* request target, incl. NUL */
#define WS_FRAME_HDR_MAX 14   /* 2 + 8 (64-bit length) + 4 (mask key) */
#define WS_CTRL_MAX	 125  /* payload limit of control frames */
#define WS_DEFAULT_BUF	 (256 * 1024)

/* Close status codes (RFC 6455 7.4.1) used here. */
#define WS_CLOSE_NORMAL	    1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL   1002
#define WS_CLOSE_NO_STATUS  1005 /* never sent: reported when a close frame had no code */
#define WS_CLOSE_TOO_BIG    1009
#define WS_CLOSE_INTERNAL   1011

/* ---- HTTP/1.1 upgrade ---- */

/*
 * Finds the end of an HTTP header (the empty line) in p[0..len). Returns the header length
 * including the final CRLF CRLF, 0 when more bytes are needed, -EMSGSIZE when WS_HTTP_MAX
 * bytes hold no end.
 */
int ws_http_end(const uint8_t *p, size_t len) WUR;

/* What the server takes from a valid upgrade request. */
struct ws_request {
	char path[WS_PATH_MAX]; /* request target as sent ("/", "/any/path?x") */
	char host[WS_HOST_MAX]; /* Host header value */
	char key[WS_KEY_LEN + 1];
};

/*
 * Validates a complete upgrade request p[0..len) (len from ws_http_end()): GET, HTTP/1.1 or
 * a later 1.x, Host, Upgrade: websocket, Connection: upgrade, a Sec-WebSocket-Key of 16
 * bytes, Sec-WebSocket-Version 13; any path. Returns 0, -EBADMSG (answer with
 * ws_http_error(-EBADMSG): 400) or -EPROTONOSUPPORT (another version: 426). *why (may be
 * NULL) gets a static reason text.
 */
int ws_parse_request(const uint8_t *p, size_t len, struct ws_request *req, const char **why) WUR;
/* Writes the 101 response for the client's key into out (NUL-terminated). Returns its length
 * or -ENOSPC. */
int ws_build_response(const char key[static WS_KEY_LEN + 1], char *out, size_t cap) WUR;
/* The complete error response for a ws_parse_request() error (static text). */
const char *ws_http_error(int err);

/* Fills key with the base64 of WS_NONCE_LEN random bytes (libsodium). */
void ws_make_key(char key[static WS_KEY_LEN + 1]);
/* Sec-WebSocket-Accept for key: base64(SHA-1(key || GUID)). 0 or -EIO (libcrypto failed). */
int ws_accept_key(const char *key, char out[static WS_ACCEPT_LEN + 1]) WUR;
/*
 * Writes the client's upgrade request for host (a name, an IPv4 or an IPv6 literal without
 * brackets), port (left out of Host when 80) and path ("" means "/"). Returns its length,
 * -EINVAL (a character that cannot go into the request) or -ENOSPC.
 */
int ws_build_request(char *out, size_t cap, const char *host, uint16_t port, const char *path,
		     const char key[static WS_KEY_LEN + 1]) WUR;
/*
 * Checks a complete response p[0..len) to our request with key: status 101, Upgrade and
 * Connection, the right Sec-WebSocket-Accept, no extension or subprotocol. 0,
 * -ECONNREFUSED (another status), -EPROTO (bad accept key or headers) or -EBADMSG (not
 * HTTP). *why (may be NULL) gets a static reason.
 */
int ws_check_response(const uint8_t *p, size_t len, const char key[static WS_KEY_LEN + 1],
		      const char **why) WUR;

/* ---- framing ---- */

enum ws_role {
	WS_ROLE_CLIENT, /* masks what it sends, refuses masked frames */
	WS_ROLE_SERVER, /* requires masked frames, sends unmasked */
};

struct ws_conn;

/*
 * Allocates a connection with an input buffer of in_cap bytes, an output buffer of out_cap
 * bytes (at least one frame of max_msg payload must fit: -EINVAL otherwise) and a
 * reassembly buffer for messages of up to max_msg bytes. This is the only allocation; the
 * data path allocates nothing. 0 or -errno (*out = NULL).
 */
int ws_conn_new(struct ws_conn **out, enum ws_role role, size_t in_cap, size_t out_cap,
		size_t max_msg) WUR;
/* Frees c and its buffers; accepts NULL. */
void ws_conn_free(struct ws_conn *c);

/* Where to put received bytes, and how many fit (*room; 0 when the buffer is full). */
uint8_t *ws_in_buf(struct ws_conn *c, size_t *room);
/* Marks n bytes written at ws_in_buf() as received (n <= room). */
void ws_in_commit(struct ws_conn *c, size_t n);
/* Copies n received bytes in: 0 or -ENOBUFS (nothing copied). */
int ws_input(struct ws_conn *c, const void *p, size_t n) WUR;
/*
 * The received bytes not yet taken by ws_next() (borrowed, valid until the next call on c),
 * for parsing the upgrade header or a PROXY header in front of the frames. Only meaningful
 * before the first ws_next(): the frame layer then keeps up to 4 KiB of its own.
 */
const uint8_t *ws_in_peek(const struct ws_conn *c, size_t *len);
/* Drops the first n bytes of ws_in_peek() (n <= len). */
void ws_in_consume(struct ws_conn *c, size_t n);

enum ws_event {
	WS_NEED_MORE = 0, /* every complete message was handed out: read more */
	WS_BINARY = 1,	  /* a complete binary message in m->data, m->len */
	WS_CLOSED = 2,	  /* the peer sent a close frame (m->close_code); reply queued */
};

/* One received message. */
struct ws_msg {
	const uint8_t *data; /* borrowed: valid until the next call on the connection */
	size_t len;
	uint16_t close_code; /* WS_CLOSED: the peer's code, WS_CLOSE_NO_STATUS if none */
};

/*
 * Hands out the next complete binary message from the input (fragments reassembled up to
 * max_msg). Text and pong messages are skipped, pings answered with a queued pong, a close
 * answered with a close frame (then WS_CLOSED again on every call). Returns enum ws_event
 * or, sticky, -EPROTO (protocol violation: bad opcode, reserved bits, masking by the wrong
 * side, broken fragmentation, invalid close frame) or -EMSGSIZE (message > max_msg); a
 * close frame with status 1002/1009 is queued if it fits. The owner then writes out
 * whatever ws_out_peek() shows (pongs, the close) and, after an error or WS_CLOSED, closes.
 */
int ws_next(struct ws_conn *c, struct ws_msg *m) WUR;

/*
 * Appends one binary message head[0..head_len) || data[0..len) (both borrowed, either may
 * be empty) as a single frame to the output buffer. 0, -ENOBUFS (not enough room: write
 * out pending bytes first, or drop; nothing was queued), -EMSGSIZE (can never fit the
 * output buffer) or -EPIPE (a close frame was already queued).
 */
int ws_queue_binary(struct ws_conn *c, const void *head, size_t head_len, const void *data,
		    size_t len) WUR;
/* Appends a ping (len <= WS_CTRL_MAX). 0, -EINVAL, -ENOBUFS or -EPIPE. */
int ws_queue_ping(struct ws_conn *c, const void *data, size_t len) WUR;
/* Appends a close frame with code (once; later data is refused). 0, -ENOBUFS or -EPIPE. */
int ws_queue_close(struct ws_conn *c, uint16_t code) WUR;
/* Appends raw bytes (the HTTP upgrade request or response). 0 or -ENOBUFS. */
int ws_queue_raw(struct ws_conn *c, const void *p, size_t n) WUR;

/* Bytes waiting to be sent (borrowed, valid until the next call on c); *len 0 when none. */
const uint8_t *ws_out_peek(const struct ws_conn *c, size_t *len);
/* Drops the first n bytes of ws_out_peek() once they were written (n <= len). */
void ws_out_consume(struct ws_conn *c, size_t n);
size_t ws_out_pending(const struct ws_conn *c);
/* Bytes of frame (header included) that a message of payload len takes on the wire. */
size_t ws_frame_size(const struct ws_conn *c, size_t len);
/* True once a close frame was queued (by ws_queue_close() or as a reply in ws_next()). */
bool ws_close_sent(const struct ws_conn *c);

#endif

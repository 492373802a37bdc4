// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * websocket.c - RFC 6455: HTTP/1.1 upgrade (request, validation, 101, accept key) and the
 * framing connection on top of libwslay's frame layer, over the owner's byte buffers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <sodium.h>
#include <wslay/wslay.h>

#include "meshvpn/bytes.h"
#include "meshvpn/log.h"
#include "meshvpn/websocket.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- HTTP/1.1 upgrade ---- */

int ws_http_end(const uint8_t *p, size_t len)
{
	size_t n = MIN(len, (size_t)WS_HTTP_MAX);

	for (size_t i = 3; i < n; i++) {
		if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
			return (int)(i + 1);
	}
	return len >= WS_HTTP_MAX ? -EMSGSIZE : 0;
}

/* A span of the header text. */
struct span {
	const char *p;
	size_t n;
};

/* The headers the upgrade looks at, gathered in one pass. */
struct hdrs {
	bool upgrade;	 /* an Upgrade header lists "websocket" */
	bool connection; /* a Connection header lists "upgrade" */
	unsigned n_host, n_key, n_version, n_accept;
	bool extensions, protocol;
	struct span host, key, version, accept;
};

static bool is_tchar(uint8_t ch)
{
	return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool span_ieq(struct span s, const char *lit)
{
	return s.n == strlen(lit) && strncasecmp(s.p, lit, s.n) == 0;
}

static struct span trim(struct span s)
{
	while (s.n && (s.p[0] == ' ' || s.p[0] == '\t'))
		s.p++, s.n--;
	while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/* True when the comma-separated list s contains token (case-insensitive). */
static bool list_has(struct span s, const char *token)
{
	while (s.n) {
		const char *comma = memchr(s.p, ',', s.n);
		size_t n = comma ? (size_t)(comma - s.p) : s.n;
		if (span_ieq(trim((struct span){s.p, n}), token))
			return true;
		s.p += n;
		s.n -= n;
		if (comma)
			s.p++, s.n--;
	}
	return false;
}

/*
 * Splits the next line off *rest (which ends at the header's final CRLF CRLF). Lines end in
 * CRLF; a bare CR or LF inside is refused. False at a malformed line.
 */
static bool next_line(struct span *rest, struct span *line)
{
	const char *lf = memchr(rest->p, '\n', rest->n);

	if (!lf || lf == rest->p || lf[-1] != '\r')
		return false;
	line->p = rest->p;
	line->n = (size_t)(lf - rest->p) - 1;
	if (memchr(line->p, '\r', line->n))
		return false;
	rest->n -= line->n + 2;
	rest->p = lf + 1;
	return true;
}

static int hdr_fail(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

/* Parses header lines up to the empty line into h. 0 or -EBADMSG. */
static int scan_headers(struct span rest, struct hdrs *h, const char **why)
{
	struct span line;

	memset(h, 0, sizeof(*h));
	for (;;) {
		if (!next_line(&rest, &line))
			return hdr_fail(why, "malformed header line", -EBADMSG);
		if (line.n == 0)
			return 0;
		/* obsolete line folding (RFC 7230 3.2.4): refused, as a server may */
		if (line.p[0] == ' ' || line.p[0] == '\t')
			return hdr_fail(why, "folded header line", -EBADMSG);
		const char *colon = memchr(line.p, ':', line.n);
		if (!colon || colon == line.p)
			return hdr_fail(why, "header line without a name", -EBADMSG);
		struct span name = {line.p, (size_t)(colon - line.p)};
		struct span value = trim((struct span){colon + 1, line.n - name.n - 1});
		for (size_t i = 0; i < name.n; i++)
			if (!is_tchar((uint8_t)name.p[i]))
				return hdr_fail(why, "bad character in a header name", -EBADMSG);
		for (size_t i = 0; i < value.n; i++) {
			uint8_t ch = (uint8_t)value.p[i];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return hdr_fail(why, "control character in a header value",
						-EBADMSG);
		}
		if (span_ieq(name, "Upgrade"))
			h->upgrade |= list_has(value, "websocket");
		else if (span_ieq(name, "Connection"))
			h->connection |= list_has(value, "upgrade");
		else if (span_ieq(name, "Host"))
			h->host = value, h->n_host++;
		else if (span_ieq(name, "Sec-WebSocket-Key"))
			h->key = value, h->n_key++;
		else if (span_ieq(name, "Sec-WebSocket-Version"))
			h->version = value, h->n_version++;
		else if (span_ieq(name, "Sec-WebSocket-Accept"))
			h->accept = value, h->n_accept++;
		else if (span_ieq(name, "Sec-WebSocket-Extensions"))
			h->extensions = true;
		else if (span_ieq(name, "Sec-WebSocket-Protocol"))
			h->protocol = true;
	}
}

/* "HTTP/1.1" or a later 1.x. */
static bool http_version_ok(struct span v)
{
	return v.n == 8 && memcmp(v.p, "HTTP/1.", 7) == 0 && v.p[7] >= '1' && v.p[7] <= '9';
}

/* 24 characters: 22 of the base64 alphabet and "==" (16 bytes when decoded). */
static bool key_ok(struct span k)
{
	if (k.n != WS_KEY_LEN || k.p[22] != '=' || k.p[23] != '=')
		return false;
	for (size_t i = 0; i < 22; i++) {
		uint8_t ch = (uint8_t)k.p[i];
		if (!(ch >= '0' && ch <= '9') && !((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') &&
		    ch != '+' && ch != '/')
			return false;
	}
	return true;
}

int ws_parse_request(const uint8_t *p, size_t len, struct ws_request *req, const char **why)
{
	struct span rest = {(const char *)p, len}, line, method, target, version;
	struct hdrs h;
	const char *sp1, *sp2;
	int r;

	memset(req, 0, sizeof(*req));
	if (len > WS_HTTP_MAX || ws_http_end(p, len) != (int)len)
		return hdr_fail(why, "incomplete header", -EBADMSG);
	if (!next_line(&rest, &line))
		return hdr_fail(why, "malformed request line", -EBADMSG);
	sp1 = memchr(line.p, ' ', line.n);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', line.n - (size_t)(sp1 + 1 - line.p)) : NULL;
	if (!sp2)
		return hdr_fail(why, "malformed request line", -EBADMSG);
	method = (struct span){line.p, (size_t)(sp1 - line.p)};
	target = (struct span){sp1 + 1, (size_t)(sp2 - sp1 - 1)};
	version = (struct span){sp2 + 1, line.n - (size_t)(sp2 + 1 - line.p)};
	if (method.n != 3 || memcmp(method.p, "GET", 3) != 0)
		return hdr_fail(why, "method is not GET", -EBADMSG);
	if (target.n == 0 || target.n >= sizeof(req->path))
		return hdr_fail(why, "bad request target length", -EBADMSG);
	for (size_t i = 0; i < target.n; i++)
		if ((uint8_t)target.p[i] <= 0x20 || (uint8_t)target.p[i] >= 0x7f)
			return hdr_fail(why, "bad character in the request target", -EBADMSG);
	if (!http_version_ok(version))
		return hdr_fail(why, "not HTTP/1.1", -EBADMSG);

	r = scan_headers(rest, &h, why);
	if (r < 0)
		return r;
	if (h.n_host != 1 || h.host.n == 0 || h.host.n >= sizeof(req->host))
		return hdr_fail(why, "missing, repeated or overlong Host", -EBADMSG);
	if (!h.upgrade)
		return hdr_fail(why, "no Upgrade: websocket", -EBADMSG);
	if (!h.connection)
		return hdr_fail(why, "no Connection: upgrade", -EBADMSG);
	if (h.n_key != 1 || !key_ok(h.key))
		return hdr_fail(why, "missing, repeated or malformed Sec-WebSocket-Key", -EBADMSG);
	if (h.n_version == 0)
		return hdr_fail(why, "no Sec-WebSocket-Version", -EBADMSG);
	if (h.n_version != 1 || h.version.n != 2 || memcmp(h.version.p, "13", 2) != 0)
		return hdr_fail(why, "Sec-WebSocket-Version is not 13", -EPROTONOSUPPORT);

	memcpy(req->path, target.p, target.n);
	memcpy(req->host, h.host.p, h.host.n);
	memcpy(req->key, h.key.p, WS_KEY_LEN);
	return 0;
}

int ws_accept_key(const char *key, char out[static WS_ACCEPT_LEN + 1])
{
	uint8_t in[WS_HTTP_MAX + sizeof(ws_guid)], md[EVP_MAX_MD_SIZE];
	size_t kl = strlen(key);
	unsigned mdlen = 0;

	out[0] = '\0';
	if (kl > WS_HTTP_MAX)
		return -EINVAL;
	memcpy(in, key, kl);
	memcpy(in + kl, ws_guid, sizeof(ws_guid) - 1);
	if (!EVP_Digest(in, kl + sizeof(ws_guid) - 1, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return -EIO;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return 0;
}

int ws_build_response(const char key[static WS_KEY_LEN + 1], char *out, size_t cap)
{
	char accept[WS_ACCEPT_LEN + 1];
	int n, r = ws_accept_key(key, accept);

	if (r < 0)
		return r;
	n = snprintf(out, cap,
		     "HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: %s\r\n"
		     "\r\n",
		     accept);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

const char *ws_http_error(int err)
{
	if (err == -EPROTONOSUPPORT)
		return "HTTP/1.1 426 Upgrade Required\r\n"
		       "Sec-WebSocket-Version: 13\r\n"
		       "Connection: close\r\n"
		       "Content-Length: 0\r\n"
		       "\r\n";
	return "HTTP/1.1 400 Bad Request\r\n"
	       "Connection: close\r\n"
	       "Content-Length: 0\r\n"
	       "\r\n";
}

void ws_make_key(char key[static WS_KEY_LEN + 1])
{
	uint8_t nonce[WS_NONCE_LEN];

	randombytes_buf(nonce, sizeof(nonce));
	EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
}

/* Printable ASCII without space (host names, IP literals, paths). */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((uint8_t)*s <= 0x20 || (uint8_t)*s >= 0x7f)
			return false;
	return true;
}

int ws_build_request(char *out, size_t cap, const char *host, uint16_t port, const char *path,
		     const char key[static WS_KEY_LEN + 1])
{
	bool v6 = strchr(host, ':') != NULL;
	char portbuf[8] = "";
	int n;

	if (!*host || !printable(host) || !printable(path) || (*path && *path != '/') ||
	    strlen(key) != WS_KEY_LEN)
		return -EINVAL;
	if (port != 80)
		snprintf(portbuf, sizeof(portbuf), ":%u", port);
	n = snprintf(out, cap,
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s%s%s%s\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\n"
		     "\r\n",
		     *path ? path : "/", v6 ? "[" : "", host, v6 ? "]" : "", portbuf, key);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int ws_check_response(const uint8_t *p, size_t len, const char key[static WS_KEY_LEN + 1],
		      const char **why)
{
	struct span rest = {(const char *)p, len}, line;
	char accept[WS_ACCEPT_LEN + 1];
	struct hdrs h;
	int r;

	if (len > WS_HTTP_MAX || ws_http_end(p, len) != (int)len)
		return hdr_fail(why, "incomplete header", -EBADMSG);
	if (!next_line(&rest, &line))
		return hdr_fail(why, "malformed status line", -EBADMSG);
	/* "HTTP/1.1 101 Switching Protocols": version, space, three digits, space or end */
	if (line.n < 12 || !http_version_ok((struct span){line.p, 8}) || line.p[8] != ' ' ||
	    (line.n > 12 && line.p[12] != ' '))
		return hdr_fail(why, "malformed status line", -EBADMSG);
	if (memcmp(line.p + 9, "101", 3) != 0)
		return hdr_fail(why, "the server refused the upgrade", -ECONNREFUSED);
	r = scan_headers(rest, &h, why);
	if (r < 0)
		return r;
	if (!h.upgrade || !h.connection)
		return hdr_fail(why, "no Upgrade: websocket / Connection: upgrade", -EPROTO);
	if (h.extensions || h.protocol)
		return hdr_fail(why, "an extension or subprotocol we did not ask for", -EPROTO);
	if (ws_accept_key(key, accept) < 0)
		return hdr_fail(why, "cannot compute the accept key", -EPROTO);
	if (h.n_accept != 1 || h.accept.n != WS_ACCEPT_LEN ||
	    memcmp(h.accept.p, accept, WS_ACCEPT_LEN) != 0)
		return hdr_fail(why, "wrong Sec-WebSocket-Accept", -EPROTO);
	return 0;
}

/* ---- framing ---- */

#define MASK_POOL 256 /* mask keys are cut from a ChaCha20 keystream, 64 keys per refill */

struct ws_conn {
	wslay_frame_context_ptr fr;
	enum ws_role role;
	int err; /* sticky ws_next() error */

	uint8_t *in; /* [in_start, in_end) received, not yet given to the frame layer */
	size_t in_cap, in_start, in_end;
	uint8_t *out; /* [out_start, out_end) queued, not yet written */
	size_t out_cap, out_start, out_end;

	uint8_t *msg; /* reassembly of a binary message that spans frames or chunks */
	size_t max_msg, msg_len;
	uint8_t msg_op; /* opcode of the fragmented data message in progress, 0 if none */

	bool in_frame;	  /* inside a frame's payload (a chunk of it was handed over) */
	bool frame_fin;	  /* of the current frame */
	uint8_t frame_op; /* of the current frame */
	uint64_t frame_len, frame_pos;
	uint8_t ctrl[WS_CTRL_MAX]; /* control frame payload being collected */
	size_t ctrl_len;

	bool pong_pending; /* a pong that did not fit the output yet (for the latest ping) */
	uint8_t pong[WS_CTRL_MAX];
	size_t pong_len;
	bool close_sent, close_rcvd;
	uint16_t close_code;

	uint8_t mask_key[crypto_stream_chacha20_KEYBYTES];
	uint64_t mask_ctr;
	unsigned mask_pos;
	uint8_t mask_pool[MASK_POOL];
};

/* wslay pulls received bytes from the input buffer (it keeps up to 4 KiB itself). */
static ssize_t frame_recv_cb(uint8_t *buf, size_t len, int flags, void *user)
{
	struct ws_conn *c = user;
	size_t n = MIN(len, c->in_end - c->in_start);

	(void)flags;
	memcpy(buf, c->in + c->in_start, n);
	c->in_start += n;
	return (ssize_t)n; /* 0: wslay reports WANT_READ */
}

/* wslay pushes frame bytes into the output buffer; the caller reserved room before. */
static ssize_t frame_send_cb(const uint8_t *data, size_t len, int flags, void *user)
{
	struct ws_conn *c = user;

	(void)flags;
	if (len > c->out_cap - c->out_end)
		return -1;
	memcpy(c->out + c->out_end, data, len);
	c->out_end += len;
	return (ssize_t)len;
}

static int frame_genmask_cb(uint8_t *buf, size_t len, void *user)
{
	struct ws_conn *c = user;

	for (size_t i = 0; i < len; i++) {
		if (c->mask_pos == MASK_POOL) {
			uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
			uint64_t ctr = c->mask_ctr++;
			for (size_t k = 0; k < sizeof(nonce); k++, ctr >>= 8)
				nonce[k] = (uint8_t)ctr;
			crypto_stream_chacha20(c->mask_pool, MASK_POOL, nonce, c->mask_key);
			c->mask_pos = 0;
		}
		buf[i] = c->mask_pool[c->mask_pos++];
	}
	return 0;
}

size_t ws_frame_size(const struct ws_conn *c, size_t len)
{
	size_t ext = len < 126 ? 0 : len <= 0xffff ? 2 : 8;

	return 2 + ext + (c->role == WS_ROLE_CLIENT ? 4 : 0) + len;
}

int ws_conn_new(struct ws_conn **out, enum ws_role role, size_t in_cap, size_t out_cap,
		size_t max_msg)
{
	static const struct wslay_frame_callbacks cbs = {
	    .send_callback = frame_send_cb,
	    .recv_callback = frame_recv_cb,
	    .genmask_callback = frame_genmask_cb,
	};
	struct ws_conn *c;

	*out = NULL;
	if (!in_cap || !max_msg || out_cap < WS_FRAME_HDR_MAX + max_msg)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->role = role;
	c->in_cap = in_cap;
	c->out_cap = out_cap;
	c->max_msg = max_msg;
	c->in = malloc(in_cap);
	c->out = malloc(out_cap);
	c->msg = malloc(max_msg);
	if (!c->in || !c->out || !c->msg || wslay_frame_context_init(&c->fr, &cbs, c) != 0) {
		ws_conn_free(c);
		return -ENOMEM;
	}
	randombytes_buf(c->mask_key, sizeof(c->mask_key));
	c->mask_pos = MASK_POOL;
	*out = c;
	return 0;
}

void ws_conn_free(struct ws_conn *c)
{
	if (!c)
		return;
	if (c->fr)
		wslay_frame_context_free(c->fr);
	sodium_memzero(c->mask_key, sizeof(c->mask_key));
	free(c->in);
	free(c->out);
	free(c->msg);
	free(c);
}

uint8_t *ws_in_buf(struct ws_conn *c, size_t *room)
{
	if (c->in_start > 0) {
		memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
		c->in_end -= c->in_start;
		c->in_start = 0;
	}
	*room = c->in_cap - c->in_end;
	return c->in + c->in_end;
}

void ws_in_commit(struct ws_conn *c, size_t n)
{
	c->in_end += MIN(n, c->in_cap - c->in_end);
}

int ws_input(struct ws_conn *c, const void *p, size_t n)
{
	size_t room;
	uint8_t *dst = ws_in_buf(c, &room);

	if (n > room)
		return -ENOBUFS;
	memcpy(dst, p, n);
	ws_in_commit(c, n);
	return 0;
}

const uint8_t *ws_in_peek(const struct ws_conn *c, size_t *len)
{
	*len = c->in_end - c->in_start;
	return c->in + c->in_start;
}

void ws_in_consume(struct ws_conn *c, size_t n)
{
	c->in_start += MIN(n, c->in_end - c->in_start);
}

/*
 * Makes need contiguous bytes free at the end of the output. Compacts only when that frees
 * at least a quarter of the buffer, so a slow reader costs at most a few moved bytes per
 * queued byte; otherwise the caller flushes or drops.
 */
static int out_reserve(struct ws_conn *c, size_t need)
{
	size_t pending = c->out_end - c->out_start;

	if (pending == 0)
		c->out_start = c->out_end = 0;
	if (c->out_cap - c->out_end >= need)
		return 0;
	if (c->out_cap - pending < need || c->out_start < c->out_cap / 4)
		return -ENOBUFS;
	memmove(c->out, c->out + c->out_start, pending);
	c->out_start = 0;
	c->out_end = pending;
	return 0;
}

/* One frame (head || data as its payload), all or nothing. */
static int queue_frame(struct ws_conn *c, uint8_t op, const void *head, size_t hl, const void *data,
		       size_t dl)
{
	struct wslay_frame_iocb io = {
	    .fin = 1,
	    .opcode = op,
	    .mask = c->role == WS_ROLE_CLIENT,
	    .payload_length = hl + dl,
	    .data = head,
	    .data_length = hl,
	};
	size_t need = ws_frame_size(c, hl + dl);
	ssize_t r;

	if (c->close_sent)
		return -EPIPE;
	if (need > c->out_cap)
		return -EMSGSIZE;
	if (out_reserve(c, need) < 0)
		return -ENOBUFS;
	r = wslay_frame_send(c->fr, &io);
	if (r == (ssize_t)hl && dl) {
		io.data = data;
		io.data_length = dl;
		r = wslay_frame_send(c->fr, &io) == (ssize_t)dl ? (ssize_t)hl : -1;
	}
	/* cannot happen with the room reserved; a half-written frame would corrupt the stream */
	if (r != (ssize_t)hl)
		bug("websocket: frame layer wrote %zd of %zu payload bytes", r, hl);
	return 0;
}

static void flush_pong(struct ws_conn *c)
{
	if (c->pong_pending &&
	    queue_frame(c, WSLAY_PONG, c->pong, c->pong_len, NULL, 0) != -ENOBUFS)
		c->pong_pending = false;
}

int ws_queue_binary(struct ws_conn *c, const void *head, size_t head_len, const void *data,
		    size_t len)
{
	if (unlikely(c->pong_pending))
		flush_pong(c);
	return queue_frame(c, WSLAY_BINARY_FRAME, head, head_len, data, len);
}

int ws_queue_ping(struct ws_conn *c, const void *data, size_t len)
{
	if (len > WS_CTRL_MAX)
		return -EINVAL;
	return queue_frame(c, WSLAY_PING, data, len, NULL, 0);
}

int ws_queue_close(struct ws_conn *c, uint16_t code)
{
	uint8_t payload[2];
	int r;

	put_be16(payload, code);
	r = queue_frame(c, WSLAY_CONNECTION_CLOSE, payload, sizeof(payload), NULL, 0);
	if (r == 0)
		c->close_sent = true;
	return r;
}

int ws_queue_raw(struct ws_conn *c, const void *p, size_t n)
{
	if (out_reserve(c, n) < 0)
		return -ENOBUFS;
	memcpy(c->out + c->out_end, p, n);
	c->out_end += n;
	return 0;
}

const uint8_t *ws_out_peek(const struct ws_conn *c, size_t *len)
{
	*len = c->out_end - c->out_start;
	return c->out + c->out_start;
}

void ws_out_consume(struct ws_conn *c, size_t n)
{
	c->out_start += MIN(n, c->out_end - c->out_start);
	if (c->out_start == c->out_end)
		c->out_start = c->out_end = 0;
	if (unlikely(c->pong_pending))
		flush_pong(c);
}

size_t ws_out_pending(const struct ws_conn *c)
{
	return c->out_end - c->out_start;
}

bool ws_close_sent(const struct ws_conn *c)
{
	return c->close_sent;
}

/* A close frame if none was sent yet and it fits; without room the TCP close must do. */
static void try_close(struct ws_conn *c, uint16_t code)
{
	if (!c->close_sent && ws_queue_close(c, code) < 0)
		c->close_sent = true; /* no data after the close we meant to send */
}

/* Protocol violation: sticky error, and a close frame for the peer if it fits. */
static int fail(struct ws_conn *c, int err)
{
	c->err = err;
	try_close(c, err == -EMSGSIZE ? WS_CLOSE_TOO_BIG : WS_CLOSE_PROTOCOL);
	return err;
}

/* Status codes a peer may send (RFC 6455 7.4, IANA registry 1012-1014, private 3000-4999). */
static bool close_code_ok(uint16_t code)
{
	return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) ||
	       (code >= 3000 && code <= 4999);
}

/* A complete control frame in c->ctrl. Returns an event, 0 to go on, or an error. */
static int control(struct ws_conn *c)
{
	switch (c->frame_op) {
	case WSLAY_PING:
		if (c->close_sent)
			return 0;
		/* Answer only the latest ping if the output is full (RFC 6455 5.5.3). */
		memcpy(c->pong, c->ctrl, c->ctrl_len);
		c->pong_len = c->ctrl_len;
		c->pong_pending = true;
		flush_pong(c);
		return 0;
	case WSLAY_PONG:
		return 0;
	default: /* close */
		if (c->ctrl_len == 1)
			return fail(c, -EPROTO);
		c->close_code = WS_CLOSE_NO_STATUS;
		if (c->ctrl_len >= 2) {
			c->close_code = get_be16(c->ctrl);
			if (!close_code_ok(c->close_code))
				return fail(c, -EPROTO);
		}
		c->close_rcvd = true;
		c->pong_pending = false;
		try_close(c, c->close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : c->close_code);
		return WS_CLOSED;
	}
}

/* Checks the header of a frame whose first payload chunk (or empty payload) is in io. */
static int frame_start(struct ws_conn *c, const struct wslay_frame_iocb *io)
{
	if (io->rsv != 0)
		return -EPROTO; /* no extension was negotiated */
	if (io->mask != (c->role == WS_ROLE_SERVER))
		return -EPROTO; /* clients mask every frame, servers none (RFC 6455 5.1) */
	switch (io->opcode) {
	case WSLAY_CONTINUATION_FRAME:
		if (!c->msg_op)
			return -EPROTO;
		break;
	case WSLAY_TEXT_FRAME:
	case WSLAY_BINARY_FRAME:
		if (c->msg_op)
			return -EPROTO; /* a new message inside a fragmented one */
		break;
	case WSLAY_CONNECTION_CLOSE:
	case WSLAY_PING:
	case WSLAY_PONG:
		break; /* wslay checked fin and the 125-byte limit */
	default:
		return -EPROTO;
	}
	c->in_frame = true;
	c->frame_op = io->opcode;
	c->frame_fin = io->fin;
	c->frame_len = io->payload_length;
	c->frame_pos = 0;
	c->ctrl_len = 0;
	if (io->opcode == WSLAY_TEXT_FRAME || io->opcode == WSLAY_BINARY_FRAME) {
		c->msg_op = io->opcode;
		c->msg_len = 0;
	}
	if (c->msg_op == WSLAY_BINARY_FRAME && !wslay_is_ctrl_frame(io->opcode) &&
	    c->frame_len > c->max_msg - c->msg_len)
		return -EMSGSIZE;
	return 0;
}

int ws_next(struct ws_conn *c, struct ws_msg *m)
{
	struct wslay_frame_iocb io;

	memset(m, 0, sizeof(*m));
	if (c->err)
		return c->err;
	if (c->close_rcvd) {
		m->close_code = c->close_code;
		return WS_CLOSED;
	}
	for (;;) {
		ssize_t r = wslay_frame_recv(c->fr, &io);
		bool first = !c->in_frame;
		int ev;

		if (r == WSLAY_ERR_WANT_READ)
			return WS_NEED_MORE;
		if (r < 0) /* WSLAY_ERR_PROTO: bad length encoding, long or fragmented control */
			return fail(c, -EPROTO);
		if (first) {
			int err = frame_start(c, &io);
			if (err)
				return fail(c, err);
		}
		c->frame_pos += io.data_length;
		bool done = c->frame_pos == c->frame_len;
		if (done)
			c->in_frame = false;

		if (wslay_is_ctrl_frame(c->frame_op)) {
			if (io.data_length > WS_CTRL_MAX - c->ctrl_len)
				return fail(c, -EPROTO);
			memcpy(c->ctrl + c->ctrl_len, io.data, io.data_length);
			c->ctrl_len += io.data_length;
			if (!done)
				continue;
			ev = control(c);
			if (ev < 0 || ev == WS_CLOSED) {
				m->close_code = c->close_code;
				return ev;
			}
			continue;
		}
		if (c->msg_op != WSLAY_BINARY_FRAME) { /* text: skipped */
			if (done && c->frame_fin)
				c->msg_op = 0;
			continue;
		}
		if (first && done && c->frame_fin && c->frame_op == WSLAY_BINARY_FRAME) {
			/* the whole message in one chunk: hand out wslay's buffer itself */
			c->msg_op = 0;
			m->data = io.data;
			m->len = io.data_length;
			return WS_BINARY;
		}
		memcpy(c->msg + c->msg_len, io.data, io.data_length);
		c->msg_len += io.data_length;
		if (done && c->frame_fin) {
			c->msg_op = 0;
			m->data = c->msg;
			m->len = c->msg_len;
			c->msg_len = 0;
			return WS_BINARY;
		}
	}
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tls.h - the proxy's TLS server side on OpenSSL libssl (wss:// without a front end): the
 * certificate and key loaded into a server context, and the handshake, reads and writes of
 * one session over a non-blocking socket, each reduced to a small result the connection's
 * state machine (conn.c) acts on.
 *
 * A session reads the socket itself (read-ahead into a large buffer: several records per
 * read()), but writes into a BIO pair: SSL_write encrypts record after record into it and
 * wsp_tls_send() hands the whole batch to the kernel in one send(), as the plain path does.
 */
#ifndef MESHVPN_WSPROXY_TLS_H
#define MESHVPN_WSPROXY_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "meshvpn/util.h"

#define WSP_TLS_WHY_MAX	 320	      /* room for an error text naming a file and a reason */
#define WSP_TLS_READ_BUF (128 * 1024) /* OpenSSL's socket read buffer: several records a read */
#define WSP_TLS_SEND_BUF (128 * 1024) /* encrypted output gathered for one send() */

/* What an SSL call on a non-blocking socket came to. */
enum wsp_tls_res {
	WSP_TLS_OK = 0,	    /* done (handshake complete, buffer filled, bytes written) */
	WSP_TLS_WANT_READ,  /* retry when the socket is readable */
	WSP_TLS_WANT_WRITE, /* the send buffer is full: wsp_tls_send(), then retry */
	WSP_TLS_EOF,	    /* the client closed the connection (close_notify or TCP) */
	WSP_TLS_FAIL,	    /* fatal: protocol error, alert, socket error; why says which */
};

/*
 * Builds a server context from a PEM certificate file (the server's certificate first, then
 * any intermediates) and a PEM private key file (may be the same file): TLS 1.2 at least,
 * OpenSSL's default ciphers with the server's order, no renegotiation, no session
 * resumption. Returns 0 with *out set, or -errno with *out NULL and why holding a message
 * that names the file and the reason (missing, unreadable, no certificate, encrypted or
 * mismatching key).
 */
int wsp_tls_load(const char *cert_file, const char *key_file, SSL_CTX **out,
		 char why[static WSP_TLS_WHY_MAX]) WUR;

/* Describes ctx's certificate: "subject CN=..., serial 1001, valid until <date>". */
void wsp_tls_describe(SSL_CTX *ctx, char *buf, size_t len);
/* True when ctx's certificate is past its notAfter date. */
bool wsp_tls_expired(SSL_CTX *ctx);

/*
 * A session for the accepted socket fd (borrowed, not closed by SSL_free), and in *net the
 * side of its send buffer that wsp_tls_send() empties (the caller's, BIO_free() after
 * SSL_free()). NULL without memory.
 */
SSL *wsp_tls_session(SSL_CTX *ctx, int fd, BIO **net);
/*
 * Sends what the session wrote into its send buffer (borrowed net) to fd. 0 when all of it
 * went out, 1 when the socket is full (the rest stays), -1 on a socket error (why).
 */
int wsp_tls_send(BIO *net, int fd, char why[static WSP_TLS_WHY_MAX]) WUR;
/* Encrypted bytes waiting in the send buffer. */
size_t wsp_tls_unsent(BIO *net);

/* Advances the server handshake: WSP_TLS_OK once complete, WANT_*, EOF or FAIL (why). */
int wsp_tls_accept(SSL *ssl, char why[static WSP_TLS_WHY_MAX]) WUR;
/*
 * Reads decrypted bytes into p[0..room) until it is full (WSP_TLS_OK) or the session needs
 * the socket (WANT_*); EOF and FAIL may come with bytes (*got) that arrived before them.
 * With the socket drained nothing waits inside OpenSSL; after WSP_TLS_OK, SSL_has_pending()
 * tells whether more is buffered there.
 */
int wsp_tls_read(SSL *ssl, void *p, size_t room, size_t *got, char why[static WSP_TLS_WHY_MAX]) WUR;
/*
 * Encrypts from p[0..len) into the send buffer: WSP_TLS_OK with *done > 0 bytes taken
 * (whole records, partial writes being on), or WANT_* (retry with the same bytes at the
 * start of p, which may have moved and grown), or FAIL. Nothing reaches the socket before
 * wsp_tls_send().
 */
int wsp_tls_write(SSL *ssl, const void *p, size_t len, size_t *done,
		  char why[static WSP_TLS_WHY_MAX]) WUR;
/* Queues close_notify in the send buffer, if it fits (the socket closes next). */
void wsp_tls_shutdown(SSL *ssl);

/* Writes the session's version and cipher ("TLSv1.3 TLS_AES_256_GCM_SHA384") to buf. */
const char *wsp_tls_version(const SSL *ssl, char *buf, size_t len);

/*
 * The oldest entry of OpenSSL's error queue as text ("no start line", "http request"), the
 * queue then emptied; fallback when the queue is empty. Returns buf.
 */
const char *wsp_tls_error(char *buf, size_t len, const char *fallback);

#endif

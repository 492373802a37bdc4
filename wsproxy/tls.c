// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * tls.c - the proxy's TLS server side: loading the certificate and key into an SSL_CTX,
 * and the non-blocking handshake, reads and writes of a session (see tls.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "tls.h"

const char *wsp_tls_error(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (e && r)
		snprintf(buf, len, "%s", r);
	else if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", fallback);
	ERR_clear_error();
	return buf;
}

/* ---- loading ---- */

/* A missing or unreadable file gets the system's words, not OpenSSL's "system lib". */
static int check_file(const char *what, const char *path, char why[static WSP_TLS_WHY_MAX])
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		err = -errno;
	else if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	else if (st.st_size == 0)
		err = -ENODATA;
	if (fd >= 0)
		close(fd);
	if (err == -ENODATA)
		snprintf(why, WSP_TLS_WHY_MAX, "%s %s: the file is empty", what, path);
	else if (err == -EINVAL)
		snprintf(why, WSP_TLS_WHY_MAX, "%s %s: not a regular file", what, path);
	else if (err)
		snprintf(why, WSP_TLS_WHY_MAX, "%s %s: %s", what, path, strerror(-err));
	return err;
}

/*
 * Empties the error queue into buf (its oldest entry, as wsp_tls_error()); true when an
 * entry says that the key does not fit the certificate.
 */
static bool key_mismatch(char *buf, size_t len)
{
	unsigned long e, first = 0;
	bool mismatch = false;

	while ((e = ERR_get_error())) {
		if (!first)
			first = e;
		if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
		     ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH))
			mismatch = true;
	}
	if (first && ERR_reason_error_string(first))
		snprintf(buf, len, "%s", ERR_reason_error_string(first));
	else if (first)
		ERR_error_string_n(first, buf, len);
	else
		snprintf(buf, len, "unknown error");
	return mismatch;
}

/* An encrypted key would make OpenSSL ask for a passphrase on the terminal: refuse it. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)arg = true;
	return -1;
}

int wsp_tls_load(const char *cert_file, const char *key_file, SSL_CTX **out,
		 char why[static WSP_TLS_WHY_MAX])
{
	char e[160];
	bool encrypted = false;
	SSL_CTX *ctx = NULL;
	int err;

	*out = NULL;
	why[0] = '\0';
	ERR_clear_error();
	if ((err = check_file("certificate", cert_file, why)) < 0 ||
	    (err = check_file("private key", key_file, why)) < 0)
		goto out;
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		err = -ENOMEM;
		snprintf(why, WSP_TLS_WHY_MAX, "cannot create a TLS context: %s",
			 wsp_tls_error(e, sizeof(e), "out of memory"));
		goto out;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		err = -EINVAL;
		snprintf(why, WSP_TLS_WHY_MAX, "cannot require TLS 1.2: %s",
			 wsp_tls_error(e, sizeof(e), "unknown error"));
		goto out;
	}
	/*
	 * No renegotiation (nothing needs it, and it would let a client make SSL_write wait
	 * for a read). No resumption: neither client resumes sessions, and the ticket keys
	 * would change with every certificate reload anyway. An EOF without close_notify is an
	 * ordinary end here: the WebSocket close frame says whether the stream was complete.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	/*
	 * SSL_write returns what it took as soon as a record is out (not only once all of it
	 * is), and a retry after WANT_WRITE may pass the output buffer at another address (it
	 * is compacted).
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* read-ahead into a large buffer: one read() brings several records, not two per record */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, WSP_TLS_READ_BUF);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, &encrypted);

	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		err = -EBADMSG;
		snprintf(why, WSP_TLS_WHY_MAX, "certificate %s: no usable PEM certificate (%s)",
			 cert_file, wsp_tls_error(e, sizeof(e), "unknown error"));
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		bool mismatch = key_mismatch(e, sizeof(e));

		err = mismatch ? -EKEYREJECTED : -EBADMSG;
		if (encrypted)
			snprintf(why, WSP_TLS_WHY_MAX,
				 "private key %s: the key is encrypted; the proxy cannot ask for a "
				 "passphrase (store it unencrypted, readable only by the proxy)",
				 key_file);
		else if (mismatch)
			snprintf(why, WSP_TLS_WHY_MAX,
				 "private key %s does not belong to the certificate in %s (%s)",
				 key_file, cert_file, e);
		else
			snprintf(why, WSP_TLS_WHY_MAX, "private key %s: no usable PEM key (%s)",
				 key_file, e);
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		err = -EKEYREJECTED;
		snprintf(why, WSP_TLS_WHY_MAX,
			 "private key %s does not belong to the certificate in %s (%s)", key_file,
			 cert_file, wsp_tls_error(e, sizeof(e), "key values mismatch"));
		goto out;
	}
	/* the callback's argument is on this stack: nothing asks for a passphrase later */
	SSL_CTX_set_default_passwd_cb(ctx, NULL);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
	*out = ctx;
	ctx = NULL;
	err = 0;
out:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return err;
}

void wsp_tls_describe(SSL_CTX *ctx, char *buf, size_t len)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	snprintf(buf, len, "no certificate");
	if (!x || !b)
		goto out;
	BIO_puts(b, "subject ");
	X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	BIO_puts(b, ", serial ");
	i2a_ASN1_INTEGER(b, X509_get0_serialNumber(x));
	BIO_puts(b, ", valid until ");
	ASN1_TIME_print(b, X509_get0_notAfter(x));
	n = BIO_get_mem_data(b, &p);
	if (n > 0)
		snprintf(buf, len, "%.*s", (int)n, p);
out:
	BIO_free(b);
	ERR_clear_error();
}

bool wsp_tls_expired(SSL_CTX *ctx)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);

	return x && X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
}

/* ---- sessions ---- */

SSL *wsp_tls_session(SSL_CTX *ctx, int fd, BIO **net)
{
	SSL *ssl = SSL_new(ctx);
	BIO *rd = BIO_new_socket(fd, BIO_NOCLOSE), *wr = NULL;

	*net = NULL;
	/* the network side of the pair never writes: a 1-byte buffer for it */
	if (!ssl || !rd || BIO_new_bio_pair(&wr, WSP_TLS_SEND_BUF, net, 1) != 1) {
		SSL_free(ssl);
		BIO_free(rd);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_bio(ssl, rd, wr); /* the session owns both */
	SSL_set_accept_state(ssl);
	return ssl;
}

int wsp_tls_send(BIO *net, int fd, char why[static WSP_TLS_WHY_MAX])
{
	char *p;
	int n;

	/* the pair's ring starts over whenever it runs empty: normally one region, one send */
	while ((n = BIO_nread0(net, &p)) > 0) {
		ssize_t k = send(fd, p, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k > 0) {
			if (BIO_nread(net, &p, (int)k) != (int)k)
				break; /* cannot be: nread0 offered these bytes */
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		snprintf(why, WSP_TLS_WHY_MAX, "%s", k < 0 ? strerror(errno) : "no progress");
		return -1;
	}
	ERR_clear_error(); /* an empty pair reports "retry read" and nothing else */
	return 0;
}

size_t wsp_tls_unsent(BIO *net)
{
	return BIO_ctrl_pending(net);
}

/* Maps SSL_get_error() for a failed call; FAIL and EOF fill why. */
static int result(SSL *ssl, int ret, char why[static WSP_TLS_WHY_MAX])
{
	int e = SSL_get_error(ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return WSP_TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return WSP_TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(why, WSP_TLS_WHY_MAX, "connection closed");
		ERR_clear_error();
		return WSP_TLS_EOF;
	case SSL_ERROR_SYSCALL:
		/* errno is the socket's, unless OpenSSL queued something of its own */
		if (ERR_peek_error())
			wsp_tls_error(why, WSP_TLS_WHY_MAX, "");
		else if (errno)
			snprintf(why, WSP_TLS_WHY_MAX, "%s", strerror(errno));
		else
			snprintf(why, WSP_TLS_WHY_MAX, "connection closed");
		return WSP_TLS_FAIL;
	default:
		wsp_tls_error(why, WSP_TLS_WHY_MAX, "TLS error");
		return WSP_TLS_FAIL;
	}
}

int wsp_tls_accept(SSL *ssl, char why[static WSP_TLS_WHY_MAX])
{
	int r;

	ERR_clear_error(); /* SSL_get_error() looks at the queue */
	errno = 0;
	r = SSL_do_handshake(ssl);
	return r == 1 ? WSP_TLS_OK : result(ssl, r, why);
}

int wsp_tls_read(SSL *ssl, void *p, size_t room, size_t *got, char why[static WSP_TLS_WHY_MAX])
{
	size_t n;

	*got = 0;
	/* one record per call: go on until the buffer is full or OpenSSL needs the socket */
	while (*got < room) {
		ERR_clear_error();
		errno = 0;
		if (SSL_read_ex(ssl, (uint8_t *)p + *got, room - *got, &n) == 1) {
			*got += n;
			continue;
		}
		return result(ssl, 0, why);
	}
	return WSP_TLS_OK;
}

int wsp_tls_write(SSL *ssl, const void *p, size_t len, size_t *done,
		  char why[static WSP_TLS_WHY_MAX])
{
	ERR_clear_error();
	errno = 0;
	*done = 0;
	if (SSL_write_ex(ssl, p, len, done) == 1)
		return WSP_TLS_OK;
	*done = 0;
	return result(ssl, 0, why);
}

void wsp_tls_shutdown(SSL *ssl)
{
	ERR_clear_error();
	if (SSL_shutdown(ssl) < 0) {
		/* the socket is full or gone: it is closed next either way */
	}
	ERR_clear_error();
}

const char *wsp_tls_version(const SSL *ssl, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	return buf;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_wsproxy_tls.c - the proxy's TLS side (wsproxy/tls.c): certificate and key loading with
 * every error path (missing, directory, empty, garbage, wrong key, encrypted key), chains,
 * and sessions over a non-blocking socketpair: handshake with verification by a client,
 * TLS 1.1 and plain HTTP refused, data both ways including more than the send buffer holds
 * (the retry with a moved buffer), EOF, a session outliving its context (the SIGHUP reload);
 * the proxy's command line refusing half a certificate option and unusable files (exit 2).
 * The certificates come from tls_test_util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "tls_test_util.h"
#include "wsproxy.h"

static struct test_pki pki;
static char root_pem[TT_PATH], chain_pem[TT_PATH], leaf_pem[TT_PATH], key_pem[TT_PATH],
    other_key_pem[TT_PATH], enc_key_pem[TT_PATH], garbage_pem[TT_PATH], empty_pem[TT_PATH],
    combined_pem[TT_PATH], missing_pem[TT_PATH], dir[256];

static int setup(void **state)
{
	FILE *f;

	(void)state;
	pki_create(&pki, "test_wsproxy_tls");
	snprintf(dir, sizeof(dir), "%s", pki.dir);
	snprintf(root_pem, TT_PATH, "%s", pki.root);
	snprintf(chain_pem, TT_PATH, "%s", pki.chain);
	snprintf(leaf_pem, TT_PATH, "%s", pki.leaf);
	snprintf(key_pem, TT_PATH, "%s", pki.key);
	snprintf(other_key_pem, TT_PATH, "%s", pki.other_key);
	snprintf(enc_key_pem, TT_PATH, "%s", pki.encrypted);
	snprintf(combined_pem, TT_PATH, "%s", pki.combined);
	f = tt_create(&pki, garbage_pem, "garbage.pem");
	fputs("this is no certificate\n", f);
	fclose(f);
	f = tt_create(&pki, empty_pem, "empty.pem");
	fclose(f);
	snprintf(missing_pem, sizeof(missing_pem), "%s/missing.pem", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pki_remove(&pki);
	return 0;
}

/* ---- loading ---- */

/* Loading fails with err and a message containing both needles. */
static void load_fails(const char *cert, const char *key, int err, const char *n1, const char *n2)
{
	char why[WSP_TLS_WHY_MAX];
	SSL_CTX *ctx = (SSL_CTX *)1;

	assert_int_equal(wsp_tls_load(cert, key, &ctx, why), err);
	assert_null(ctx);
	if (!strstr(why, n1) || !strstr(why, n2))
		fail_msg("'%s' lacks '%s' or '%s'", why, n1, n2);
	assert_int_equal(ERR_peek_error(), 0); /* nothing left behind for the next SSL call */
}

static void test_load_ok(void **state)
{
	char why[WSP_TLS_WHY_MAX], d[512];
	SSL_CTX *ctx;

	(void)state;
	assert_int_equal(wsp_tls_load(chain_pem, key_pem, &ctx, why), 0);
	assert_non_null(ctx);
	wsp_tls_describe(ctx, d, sizeof(d));
	assert_non_null(strstr(d, "subject CN=proxy.test, serial 1001, valid until "));
	assert_false(wsp_tls_expired(ctx));
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	SSL_CTX_free(ctx);
	/* certificate chain and key in one file */
	assert_int_equal(wsp_tls_load(combined_pem, combined_pem, &ctx, why), 0);
	SSL_CTX_free(ctx);
}

static void test_load_errors(void **state)
{
	(void)state;
	load_fails(missing_pem, key_pem, -ENOENT, "certificate", "missing.pem: No such file");
	load_fails(chain_pem, missing_pem, -ENOENT, "private key", "missing.pem: No such file");
	load_fails(dir, key_pem, -EISDIR, "certificate", "Is a directory");
	load_fails(empty_pem, key_pem, -ENODATA, empty_pem, "the file is empty");
	load_fails(chain_pem, empty_pem, -ENODATA, "private key", "the file is empty");
	load_fails(garbage_pem, key_pem, -EBADMSG, garbage_pem, "no usable PEM certificate");
	load_fails(key_pem, key_pem, -EBADMSG, key_pem, "no usable PEM certificate");
	load_fails(chain_pem, garbage_pem, -EBADMSG, garbage_pem, "no usable PEM key");
	load_fails(chain_pem, leaf_pem, -EBADMSG, leaf_pem, "no usable PEM key");
	load_fails(chain_pem, other_key_pem, -EKEYREJECTED, other_key_pem,
		   "does not belong to the certificate");
	/* no passphrase prompt on the terminal: refused with a reason */
	load_fails(chain_pem, enc_key_pem, -EBADMSG, enc_key_pem, "encrypted");
}

/* ---- sessions ---- */

struct pair {
	SSL_CTX *sctx, *cctx;
	SSL *srv, *cli;
	BIO *net;
	int sfd, cfd;
};

static void pair_open(struct pair *p, const char *cert, int client_max_version)
{
	char why[WSP_TLS_WHY_MAX];
	int sv[2];

	memset(p, 0, sizeof(*p));
	assert_int_equal(wsp_tls_load(cert, key_pem, &p->sctx, why), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	p->sfd = sv[0];
	p->cfd = sv[1];
	p->srv = wsp_tls_session(p->sctx, p->sfd, &p->net);
	assert_non_null(p->srv);
	assert_non_null(p->net);
	p->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(p->cctx);
	SSL_CTX_set_verify(p->cctx, SSL_VERIFY_PEER, NULL);
	assert_int_equal(SSL_CTX_load_verify_locations(p->cctx, root_pem, NULL), 1);
	if (client_max_version) {
		SSL_CTX_set_security_level(p->cctx, 0);
		SSL_CTX_set_min_proto_version(p->cctx, 0);
		SSL_CTX_set_max_proto_version(p->cctx, client_max_version);
	}
	p->cli = SSL_new(p->cctx);
	SSL_set_fd(p->cli, p->cfd);
	SSL_set_tlsext_host_name(p->cli, "proxy.test");
	SSL_set1_host(p->cli, "proxy.test");
	SSL_set_connect_state(p->cli);
}

static void pair_close(struct pair *p)
{
	SSL_free(p->srv);
	BIO_free(p->net);
	SSL_free(p->cli);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	close(p->sfd);
	close(p->cfd);
	ERR_clear_error();
}

/* Runs both handshakes; returns the server's last result (the client's in *cres). */
static int handshake(struct pair *p, int *cres, char why[static WSP_TLS_WHY_MAX])
{
	int s = WSP_TLS_WANT_READ, c = 0;
	bool client_failed = false;

	for (int i = 0; i < 50; i++) {
		if (c != 1 && !client_failed) {
			c = SSL_do_handshake(p->cli);
			/* its alert goes out: the server's next step reads it */
			client_failed = c != 1 && SSL_get_error(p->cli, c) != SSL_ERROR_WANT_READ;
		}
		s = wsp_tls_accept(p->srv, why);
		assert_int_not_equal(wsp_tls_send(p->net, p->sfd, why), -1);
		if (s == WSP_TLS_FAIL || s == WSP_TLS_EOF || (s == WSP_TLS_OK && c == 1))
			break;
	}
	*cres = c;
	ERR_clear_error(); /* the client's */
	return s;
}

static void test_handshake_and_data(void **state)
{
	char why[WSP_TLS_WHY_MAX], v[96], buf[64];
	struct pair p;
	size_t n;
	int c;

	(void)state;
	pair_open(&p, chain_pem, 0);
	/* the client trusts only the root: the intermediate must come from the chain file */
	assert_int_equal(handshake(&p, &c, why), WSP_TLS_OK);
	assert_int_equal(c, 1);
	assert_int_equal(SSL_get_verify_result(p.cli), X509_V_OK);
	assert_non_null(strstr(wsp_tls_version(p.srv, v, sizeof(v)), "TLSv1.3 "));

	/* server -> client: nothing reaches the socket before wsp_tls_send() */
	assert_int_equal(wsp_tls_write(p.srv, "hello", 5, &n, why), WSP_TLS_OK);
	assert_int_equal(n, 5);
	assert_true(wsp_tls_unsent(p.net) > 5);
	assert_int_equal(SSL_read(p.cli, buf, sizeof(buf)), -1);
	assert_int_equal(wsp_tls_send(p.net, p.sfd, why), 0);
	assert_int_equal(wsp_tls_unsent(p.net), 0);
	assert_int_equal(SSL_read(p.cli, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);

	/* client -> server: two records read into one buffer, then the socket is drained */
	assert_int_equal(SSL_write(p.cli, "abc", 3), 3);
	assert_int_equal(SSL_write(p.cli, "defg", 4), 4);
	assert_int_equal(wsp_tls_read(p.srv, buf, sizeof(buf), &n, why), WSP_TLS_WANT_READ);
	assert_int_equal(n, 7);
	assert_memory_equal(buf, "abcdefg", 7);
	/* a full buffer: OK, the rest stays inside OpenSSL */
	assert_int_equal(SSL_write(p.cli, "0123456789", 10), 10);
	assert_int_equal(wsp_tls_read(p.srv, buf, 4, &n, why), WSP_TLS_OK);
	assert_int_equal(n, 4);
	assert_true(SSL_has_pending(p.srv));
	assert_int_equal(wsp_tls_read(p.srv, buf, sizeof(buf), &n, why), WSP_TLS_WANT_READ);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "456789", 6);

	/* close_notify, then EOF with the bytes before it */
	assert_int_equal(SSL_write(p.cli, "bye", 3), 3);
	assert_true(SSL_shutdown(p.cli) >= 0);
	assert_int_equal(wsp_tls_read(p.srv, buf, sizeof(buf), &n, why), WSP_TLS_EOF);
	assert_int_equal(n, 3);
	pair_close(&p);

	/* a TCP end without close_notify is an EOF too */
	pair_open(&p, chain_pem, 0);
	assert_int_equal(handshake(&p, &c, why), WSP_TLS_OK);
	shutdown(p.cfd, SHUT_WR);
	assert_int_equal(wsp_tls_read(p.srv, buf, sizeof(buf), &n, why), WSP_TLS_EOF);
	assert_int_equal(n, 0);
	pair_close(&p);
}

/* More than the send buffer holds: WANT_WRITE, send, retry from another address. */
static void test_large_write(void **state)
{
	enum { TOTAL = 3 * WSP_TLS_SEND_BUF };
	char why[WSP_TLS_WHY_MAX];
	uint8_t *src = malloc(TOTAL), *dst = malloc(TOTAL), *moved = malloc(TOTAL);
	size_t sent = 0, got = 0, n;
	bool blocked = false;
	struct pair p;
	int c;

	(void)state;
	for (size_t i = 0; i < TOTAL; i++)
		src[i] = (uint8_t)(i * 7 + i / 251);
	pair_open(&p, chain_pem, 0);
	assert_int_equal(handshake(&p, &c, why), WSP_TLS_OK);
	for (int rounds = 0; got < TOTAL && rounds < 10000; rounds++) {
		while (sent < TOTAL) {
			/* every other call from a copy elsewhere: the buffer may move between
			 * retries */
			const uint8_t *from = src + sent;
			if (rounds & 1) {
				memcpy(moved, src + sent, TOTAL - sent);
				from = moved;
			}
			int r = wsp_tls_write(p.srv, from, TOTAL - sent, &n, why);
			if (r == WSP_TLS_WANT_WRITE) {
				blocked = true;
				break;
			}
			assert_int_equal(r, WSP_TLS_OK);
			/* whole records: a pending one and the next, at most what was offered */
			assert_true(n > 0 && n <= TOTAL - sent);
			sent += n;
		}
		assert_int_not_equal(wsp_tls_send(p.net, p.sfd, why), -1);
		int k;
		while ((k = SSL_read(p.cli, dst + got, (int)(TOTAL - got))) > 0)
			got += (size_t)k;
	}
	assert_true(blocked);
	assert_int_equal(got, TOTAL);
	assert_memory_equal(src, dst, TOTAL);
	pair_close(&p);
	free(src);
	free(dst);
	free(moved);
}

static void test_refused_clients(void **state)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n";
	char why[WSP_TLS_WHY_MAX];
	struct pair p;
	int c;

	(void)state;
	/* TLS 1.1 at most: the server wants 1.2 */
	pair_open(&p, chain_pem, TLS1_1_VERSION);
	assert_int_equal(handshake(&p, &c, why), WSP_TLS_FAIL);
	assert_int_not_equal(c, 1);
	assert_string_equal(why, "unsupported protocol");
	assert_int_equal(ERR_peek_error(), 0);
	pair_close(&p);

	/* plain HTTP to the TLS port */
	pair_open(&p, chain_pem, 0);
	assert_int_equal(write(p.cfd, http, sizeof(http) - 1), (ssize_t)sizeof(http) - 1);
	assert_int_equal(wsp_tls_accept(p.srv, why), WSP_TLS_FAIL);
	assert_string_equal(why, "http request");
	pair_close(&p);

	/* the leaf alone, without its intermediate: the client cannot verify it */
	pair_open(&p, leaf_pem, 0);
	assert_int_equal(handshake(&p, &c, why), WSP_TLS_FAIL);
	assert_int_not_equal(c, 1);
	assert_int_equal(SSL_get_verify_result(p.cli),
			 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	assert_non_null(strstr(why, "unknown ca"));
	pair_close(&p);

	/* the client closes during the handshake */
	pair_open(&p, chain_pem, 0);
	close(p.cfd);
	p.cfd = open("/dev/null", O_RDONLY);
	assert_int_equal(wsp_tls_accept(p.srv, why), WSP_TLS_EOF);
	pair_close(&p);
}

/* A session keeps its context when the server has let go of it (SIGHUP reload). */
static void test_session_outlives_context(void **state)
{
	char why[WSP_TLS_WHY_MAX];
	struct pair p;
	int c;

	(void)state;
	pair_open(&p, chain_pem, 0);
	SSL_CTX_free(p.sctx);
	p.sctx = NULL;
	assert_int_equal(handshake(&p, &c, why), WSP_TLS_OK);
	assert_int_equal(c, 1);
	pair_close(&p);
}

/* ---- the command line ---- */

static int run_proxy(const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[] = {"meshvpn-wsproxy", "-q",       "-l",	   "127.0.0.1:1", (char *)a1,
			(char *)a2,	   (char *)a3, (char *)a4, NULL};
	int argc = 4;

	while (argv[argc])
		argc++;
	return wsproxy_main(argc, argv);
}

static void test_command_line(void **state)
{
	(void)state;
	assert_int_equal(run_proxy("--tls-cert", chain_pem, NULL, NULL), 2);
	assert_int_equal(run_proxy("--tls-key", key_pem, NULL, NULL), 2);
	assert_int_equal(run_proxy("--tls-cert", "", "--tls-key", key_pem), 2);
	assert_int_equal(run_proxy("--tls-cert", missing_pem, "--tls-key", key_pem), 2);
	assert_int_equal(run_proxy("--tls-cert", chain_pem, "--tls-key", other_key_pem), 2);
	assert_int_equal(run_proxy("--tls-cert", garbage_pem, "--tls-key", key_pem), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_ok),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_handshake_and_data),
	    cmocka_unit_test(test_large_write),
	    cmocka_unit_test(test_refused_clients),
	    cmocka_unit_test(test_session_outlives_context),
	    cmocka_unit_test(test_command_line),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

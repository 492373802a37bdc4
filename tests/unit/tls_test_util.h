/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tls_test_util.h - a throwaway PKI for the proxy's TLS unit tests, made with libcrypto in a
 * temporary directory: a root CA, an intermediate, a server certificate for proxy.test and
 * 127.0.0.1 (serial 0x1001) signed by the intermediate, its key, and PEM files of them.
 * Include after cmocka.h.
 */
#ifndef TLS_TEST_UTIL_H
#define TLS_TEST_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "meshvpn/util.h"

#define TT_PATH 300

/* The files pki_create() writes, absolute paths. */
struct test_pki {
	char dir[256];
	char root[TT_PATH];	 /* the root CA certificate (what clients trust) */
	char leaf[TT_PATH];	 /* the server certificate alone */
	char chain[TT_PATH];	 /* the server certificate and the intermediate */
	char key[TT_PATH];	 /* the server's key */
	char other_key[TT_PATH]; /* a key of no certificate */
	char encrypted[TT_PATH]; /* the server's key, encrypted with "secret" */
	char combined[TT_PATH];	 /* chain and key in one file */
};

UNUSED static void tt_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for key, signed by issuer (self-signed without one). */
UNUSED static X509 *tt_cert(EVP_PKEY *key, const char *cn, long serial, X509 *issuer,
			    EVP_PKEY *issuer_key, bool ca)
{
	X509 *x = X509_new();
	X509_NAME *n;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	tt_add_ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (ca)
		tt_add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	else
		tt_add_ext(x, issuer, NID_subject_alt_name, "DNS:proxy.test,IP:127.0.0.1");
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

UNUSED static EVP_PKEY *tt_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

UNUSED static FILE *tt_create(const struct test_pki *p, char *path, const char *name)
{
	FILE *f;

	snprintf(path, TT_PATH, "%s/%s", p->dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	return f;
}

/* Makes the directory (under $TMPDIR) and the files; fails the test on any error. */
UNUSED static void pki_create(struct test_pki *p, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	EVP_PKEY *rk = tt_key(), *ik = tt_key(), *lk = tt_key(), *ok = tt_key();
	X509 *root, *inter, *leaf;
	FILE *f;

	snprintf(p->dir, sizeof(p->dir), "%s/%s.XXXXXX", tmp && *tmp ? tmp : P_tmpdir, name);
	assert_non_null(mkdtemp(p->dir));
	root = tt_cert(rk, "test root", 1, NULL, NULL, true);
	inter = tt_cert(ik, "test intermediate", 2, root, rk, true);
	leaf = tt_cert(lk, "proxy.test", 0x1001, inter, ik, false);

	f = tt_create(p, p->root, "root.pem");
	PEM_write_X509(f, root);
	fclose(f);
	f = tt_create(p, p->leaf, "leaf.pem");
	PEM_write_X509(f, leaf);
	fclose(f);
	f = tt_create(p, p->chain, "chain.pem");
	PEM_write_X509(f, leaf);
	PEM_write_X509(f, inter);
	fclose(f);
	f = tt_create(p, p->key, "key.pem");
	PEM_write_PrivateKey(f, lk, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	f = tt_create(p, p->other_key, "other.pem");
	PEM_write_PrivateKey(f, ok, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	f = tt_create(p, p->encrypted, "encrypted.pem");
	PEM_write_PrivateKey(f, lk, EVP_aes_256_cbc(), (unsigned char *)"secret", 6, NULL, NULL);
	fclose(f);
	f = tt_create(p, p->combined, "combined.pem");
	PEM_write_X509(f, leaf);
	PEM_write_X509(f, inter);
	PEM_write_PrivateKey(f, lk, NULL, NULL, 0, NULL, NULL);
	fclose(f);

	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(ok);
}

/* Removes the directory and everything in it. */
UNUSED static void pki_remove(const struct test_pki *p)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
	assert_int_equal(system(cmd), 0);
}

#endif

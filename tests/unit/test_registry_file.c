// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_registry_file.c - the registry's YAML file: the exact text, load/save round trip of
 * every field, stable bytes, mode 0600, atomic replacement (the old file survives a failed
 * save), first start (missing file and directories), corrupt files (each error with its
 * line, the file left alone) and that no private key ever reaches the file.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "meshvpn/registry.h"

#define T0 1796292000 /* 2026-12-03T10:00:00Z */
#define K1 "nOKN7hcMlsUo6HsKh6RGYUrePnm7exDZoh15JCf0BmR"
#define K2 "WJp8KTlaasdgsC0mfRmt236OruwwZCKpS9BK2sgjJz1"
#define K3 "H4yOhjW8QAdiaWb1Tg5NuUUcWUZ83BG5E9TJK1FNq61"

static const uint8_t hub_ip[4] = {10, 0, 0, 1};
static const struct registry_params params = {"10.0.0.0/24", hub_ip, NULL};
static struct config_error err;

/* The exact text registry_format writes for this content. */
static const char golden[] =
    "# Managed by meshvpn: the clients of this hub (no private keys are kept here).\n"
    "# Change it with `meshvpn hub ...`: the hub rewrites this file on every change, so edits\n"
    "# made here while it runs are lost. The hub does not start while this file is invalid.\n"
    "version: 1\n"
    "clients:\n"
    "- id: alice\n"
    "  public-key: " K1 "\n"
    "  ip: 10.0.0.5\n"
    "  enabled: true\n"
    "  expires: 2027-01-01T00:00:00Z\n"
    "  description: \"Alice's laptop \\\"work\\\" – Zürich\"\n"
    "  server-tags: [engineering, \"2026\", \"yes\"]\n"
    "  client-tags: [linux]\n"
    "  security:\n"
    "    source-allow: []\n"
    "    source-block: [198.51.100.0/24]\n"
    "    destination-allow: [10.0.0.0/8, 192.168.1.*, '2001:db8::/32']\n"
    "    destination-block: []\n"
    "    max-connections: 1\n"
    "    rate-limit: {rate: 1000000, burst: 100000}\n"
    "  created: 2026-12-03T10:00:00Z\n"
    "  updated: 2026-12-04T08:30:00Z\n"
    "- id: bob\n"
    "  public-key: " K2 "\n"
    "  ip: 10.0.0.2\n"
    "  enabled: false\n"
    "  description: \"\"\n"
    "  server-tags: []\n"
    "  client-tags: []\n"
    "  security:\n"
    "    source-allow: []\n"
    "    source-block: []\n"
    "    destination-allow: []\n"
    "    destination-block: []\n"
    "    max-connections: 0\n"
    "  created: 2026-12-03T10:00:00Z\n"
    "  updated: 2026-12-03T10:00:00Z\n";

/* ---- helpers ---- */

static char tmpdir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(path, 0700);
	return remove(path);
}

static int setup_dir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/meshvpn-test-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	chmod(tmpdir, 0700);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static const char *in_dir(const char *name)
{
	static char buf[4][256];
	static unsigned next;
	char *b = buf[next++ % 4];

	snprintf(b, 256, "%s/%s", tmpdir, name);
	return b;
}

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* The names in a directory, sorted, joined with spaces. */
static const char *listing(const char *dir)
{
	static char buf[1024];
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	buf[0] = '\0';
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0) {
			if (buf[0])
				strcat(buf, " ");
			strcat(buf, names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);
	return buf;
}

static struct registry *load_text(const char *text)
{
	struct registry *reg;
	int r = registry_load_buffer(&reg, &params, text, strlen(text), "reg.yaml", &err);

	if (r != 0)
		print_error("%s\n", err.msg);
	assert_int_equal(r, 0);
	return reg;
}

static char *format(const struct registry *reg)
{
	char *text;
	size_t len;

	assert_int_equal(registry_format(reg, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

static void lists_equal(const struct registry_strlist *a, const struct registry_strlist *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_string_equal(a->v[i], b->v[i]);
}

/* Compares every field of two entries. */
static void entries_equal(const struct registry_entry *a, const struct registry_entry *b)
{
	assert_string_equal(a->id, b->id);
	assert_memory_equal(a->public_key, b->public_key, KEYS_PUB_LEN);
	assert_memory_equal(a->ip, b->ip, 4);
	assert_int_equal(a->enabled, b->enabled);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->expires, b->expires);
	assert_string_equal(a->description, b->description);
	lists_equal(&a->server_tags, &b->server_tags);
	lists_equal(&a->client_tags, &b->client_tags);
	lists_equal(&a->security.source_allow, &b->security.source_allow);
	lists_equal(&a->security.source_block, &b->security.source_block);
	lists_equal(&a->security.destination_allow, &b->security.destination_allow);
	lists_equal(&a->security.destination_block, &b->security.destination_block);
	assert_int_equal(a->security.max_connections, b->security.max_connections);
	assert_int_equal(a->security.rate, b->security.rate);
	assert_int_equal(a->security.burst, b->security.burst);
	assert_int_equal(a->created, b->created);
	assert_int_equal(a->updated, b->updated);
}

static void registries_equal(const struct registry *a, const struct registry *b)
{
	assert_int_equal(registry_count(a), registry_count(b));
	for (size_t i = 0; i < registry_count(a); i++)
		entries_equal(registry_at(a, i), registry_at(b, i));
	assert_int_equal(registry_pool(a)->used, registry_pool(b)->used);
}

/* A registry with every kind of value, made through the API; the private keys into privs. */
static struct registry *make_full(char privs[][KEYS_B62_KEYBUF], size_t n)
{
	char *tags[] = {"engineering", "true", "1.5", "x-y"}, *ctags[] = {"laptop"};
	char *acl[] = {"10.0.0.0/8", "fd00::/8", "192.168.1.*", "10.0.0.1-10.0.0.50", "#x,y"};
	struct registry_change c;
	struct registry *reg;
	const struct registry_entry *e;
	char id[32];

	assert_int_equal(registry_new(&reg, &params, &err), 0);
	for (size_t i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		if (i % 2 == 0) {
			c.set = REGISTRY_SET_DESCRIPTION | REGISTRY_SET_SERVER_TAGS |
				REGISTRY_SET_CLIENT_TAGS | REGISTRY_SET_EXPIRES |
				REGISTRY_SET_SOURCE_ALLOW | REGISTRY_SET_DESTINATION_BLOCK |
				REGISTRY_SET_MAX_CONNECTIONS | REGISTRY_SET_RATE_LIMIT;
			c.flags = REGISTRY_HAS_EXPIRES | REGISTRY_HAS_RATE_LIMIT;
			c.description =
			    i % 4 ? "plain" : "\"quotes\", 'apostrophes' # and ünïcödé 🙂";
			c.server_tags = (struct registry_strlist){tags, ARRAY_SIZE(tags)};
			c.client_tags = (struct registry_strlist){ctags, 1};
			c.expires = T0 + 86400 * (time_t)(i + 1);
			c.security.source_allow = (struct registry_strlist){acl, ARRAY_SIZE(acl)};
			c.security.destination_block = (struct registry_strlist){acl + 1, 2};
			c.security.max_connections = (uint32_t)i;
			c.security.rate = UINT64_MAX - i;
			c.security.burst = 1 + i;
		}
		snprintf(id, sizeof(id), "client-%zu", i);
		assert_int_equal(registry_create(reg, id, &c, T0 + (time_t)i, &e, privs[i], &err),
				 0);
		if (i % 3 == 1)
			assert_int_equal(registry_disable(reg, id, T0 + 1000, NULL, &err), 0);
	}
	return reg;
}

/* ---- tests ---- */

static void test_golden(void **state)
{
	struct registry *reg = load_text(golden);
	const struct registry_entry *a = registry_get(reg, "alice"), *b = registry_get(reg, "bob");
	char *text = format(reg);

	(void)state;
	assert_string_equal(text, golden);
	free(text);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_equal(registry_at(reg, 0), a);
	assert_string_equal(a->description, "Alice's laptop \"work\" – Zürich");
	assert_int_equal(a->flags, REGISTRY_HAS_EXPIRES | REGISTRY_HAS_RATE_LIMIT);
	assert_int_equal(a->expires, 1798761600);
	assert_int_equal(a->updated, T0 + 81000);
	assert_int_equal(a->server_tags.n, 3);
	assert_string_equal(a->server_tags.v[1], "2026");
	assert_string_equal(a->security.destination_allow.v[2], "2001:db8::/32");
	assert_int_equal(a->security.rate, 1000000);
	assert_false(b->enabled);
	assert_int_equal(b->flags, 0);
	assert_int_equal(b->security.max_connections, 0);
	assert_ptr_equal(registry_find_key(reg, a->public_key), a);
	assert_true(ippool_in_use(registry_pool(reg), a->ip));
	assert_true(ippool_in_use(registry_pool(reg), b->ip));
	assert_int_equal(registry_pool(reg)->used, 2);
	registry_free(reg);
}

/* Hand-written forms: flow and block styles, ~ for optional keys, offsets, defaults. */
static void test_lenient_forms(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "clients:\n"
	    "  - {id: carol, public-key: '" K3 "', ip: \"10.0.0.9\",\n"
	    "     created: '2026-12-03T11:00:00+01:00', updated: 2026-12-03T10:00:00.5Z}\n"
	    "  - id: dave\n"
	    "    public-key: " K1 "\n"
	    "    ip: 10.0.0.10\n"
	    "    enabled: ~\n"
	    "    expires: ~\n"
	    "    description: ~\n"
	    "    server-tags:\n"
	    "      - a\n"
	    "      - b\n"
	    "    client-tags: ~\n"
	    "    security: {max-connections: 7, rate-limit: ~}\n"
	    "    created: 2026-12-03T10:00:00Z\n"
	    "    updated: 2026-12-03T10:00:00Z\n";
	struct registry *reg = load_text(text);
	const struct registry_entry *c = registry_get(reg, "carol"), *d = registry_get(reg, "dave");

	(void)state;
	assert_non_null(c);
	assert_non_null(d);
	assert_int_equal(c->created, T0);
	assert_int_equal(c->updated, T0);
	assert_true(c->enabled);
	assert_int_equal(c->security.max_connections, REGISTRY_DEFAULT_MAX_CONNECTIONS);
	assert_string_equal(c->description, "");
	assert_true(d->enabled);
	assert_int_equal(d->flags, 0);
	assert_int_equal(d->server_tags.n, 2);
	assert_int_equal(d->security.max_connections, 7);
	registry_free(reg);

	/* empty forms: nothing, comments only, an empty list, ~ */
	static const char *const empty[] = {
	    "", "# nothing\n", "clients: []\n", "clients: ~\n", "version: 1\n", "---\n", "~\n"};
	for (size_t i = 0; i < ARRAY_SIZE(empty); i++) {
		reg = load_text(empty[i]);
		assert_int_equal(registry_count(reg), 0);
		registry_free(reg);
	}
}

static void test_round_trip(void **state)
{
	char privs[12][KEYS_B62_KEYBUF];
	struct registry *reg = make_full(privs, 12), *back;
	char path[256];
	char *first, *second, *text;
	size_t len1, len2;
	struct stat st;
	mode_t old_umask = umask(0);

	(void)state;
	strcpy(path, in_dir("reg.yaml"));
	assert_int_equal(registry_save(reg, path, &err), 0);
	umask(old_umask);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_string_equal(listing(tmpdir), "reg.yaml");
	first = read_text(path, &len1);
	text = format(reg);
	assert_string_equal(first, text);
	free(text);
	assert_int_equal(strncmp(first, "# Managed by meshvpn", 20), 0);

	assert_int_equal(registry_load_file(&back, &params, path, &err), 0);
	registries_equal(reg, back);
	/* the loaded registry works like the original: keys found, addresses taken */
	for (size_t i = 0; i < registry_count(back); i++) {
		const struct registry_entry *e = registry_at(back, i);
		assert_ptr_equal(registry_find_key(back, e->public_key), e);
		assert_true(ippool_in_use(registry_pool(back), e->ip));
	}
	/* saving the loaded registry gives the same bytes */
	assert_int_equal(registry_save(back, path, &err), 0);
	second = read_text(path, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(first, second, len1);
	assert_string_equal(listing(tmpdir), "reg.yaml");
	free(first);
	free(second);
	registry_free(back);
	sodium_memzero(privs, sizeof(privs));
	registry_free(reg);
}

static void test_no_private_key(void **state)
{
	char privs[6][KEYS_B62_KEYBUF];
	struct registry *reg = make_full(privs, 6);
	const struct registry_entry *e;
	char path[256];
	uint8_t seed[KEYS_SEED_LEN];
	char *text;
	size_t len;

	(void)state;
	strcpy(path, in_dir("reg.yaml"));
	/* a rotated key's private half must not appear either */
	assert_int_equal(registry_rotate_key(reg, "client-3", T0 + 5, &e, privs[3], &err), 0);
	assert_int_equal(registry_save(reg, path, &err), 0);
	text = read_text(path, &len);
	for (size_t i = 0; i < 6; i++) {
		char pub[KEYS_B62_KEYBUF];

		assert_true(strlen(privs[i]) >= 42);
		assert_null(strstr(text, privs[i]));
		assert_int_equal(keys_decode(seed, privs[i]), 0);
		assert_null(memmem(text, len, seed, sizeof(seed)));
		/* ... while the public key is there */
		assert_non_null(strstr(text, keys_encode(pub, registry_at(reg, i)->public_key)));
	}
	assert_null(strstr(text, "private-key"));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(privs, sizeof(privs));
	free(text);
	registry_free(reg);
}

static void test_first_start(void **state)
{
	char path[256];
	struct registry *reg;
	char priv[KEYS_B62_KEYBUF];
	const struct registry_entry *e;
	struct stat st;

	(void)state;
	strcpy(path, in_dir("state/net1/registry.yaml"));
	assert_int_equal(registry_load_file(&reg, &params, path, &err), 0);
	assert_int_equal(registry_count(reg), 0);
	/* the directories exist now (0700), the file does not: loading never writes it */
	assert_int_equal(stat(in_dir("state"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(in_dir("state/net1"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_string_equal(listing(in_dir("state/net1")), "");
	assert_int_equal(registry_create(reg, "a", NULL, T0, &e, priv, &err), 0);
	assert_int_equal(registry_save(reg, path, &err), 0);
	assert_string_equal(listing(in_dir("state/net1")), "registry.yaml");
	registry_free(reg);
	assert_int_equal(registry_load_file(&reg, &params, path, &err), 0);
	assert_int_equal(registry_count(reg), 1);
	registry_free(reg);

	/* a file in the way of the directory is an error */
	write_text(in_dir("plainfile"), "x");
	assert_int_equal(registry_load_file(&reg, &params, in_dir("plainfile/sub/r.yaml"), &err),
			 -ENOTDIR);
	assert_null(reg);
	assert_non_null(strstr(err.msg, "cannot open the registry: Not a directory"));
	/* so is a directory that cannot be made (below a dangling symlink) */
	assert_int_equal(symlink("nowhere", in_dir("dangling")), 0);
	assert_int_equal(registry_load_file(&reg, &params, in_dir("dangling/sub/r.yaml"), &err),
			 -ENOENT);
	assert_null(reg);
	assert_non_null(strstr(err.msg, "cannot create the directory"));
	assert_string_equal(listing(tmpdir), "dangling plainfile state");
	/* a bad subnet is reported even on first start */
	{
		struct registry_params bad = {"10.0.0.0/33", NULL, NULL};
		assert_int_equal(registry_load_file(&reg, &bad, in_dir("x/r.yaml"), &err), -EINVAL);
	}
}

/* The old file stays whenever a save fails, and no temporary file is left behind. */
static void test_atomic(void **state)
{
	char privs[40][KEYS_B62_KEYBUF];
	struct registry *reg = make_full(privs, 40), *small;
	char path[256];
	const struct registry_entry *e;
	char priv[KEYS_B62_KEYBUF], *before, *after;
	struct rlimit old, lim;
	size_t len1, len2;
	void (*old_handler)(int);

	(void)state;
	strcpy(path, in_dir("reg.yaml"));
	assert_int_equal(registry_new(&small, &params, &err), 0);
	assert_int_equal(registry_create(small, "only", NULL, T0, &e, priv, &err), 0);
	assert_int_equal(registry_save(small, path, &err), 0);
	before = read_text(path, &len1);

	/* the temporary file cannot be written completely (file size limit: EFBIG) */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 4096;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_save(reg, path, &err), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	assert_non_null(strstr(err.msg, "cannot write"));
	after = read_text(path, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(before, after, len1);
	free(after);
	assert_string_equal(listing(tmpdir), "reg.yaml");

	/* the rename fails (a directory is in the way): the temporary file is removed */
	assert_int_equal(mkdir(in_dir("isdir"), 0700), 0);
	write_text(in_dir("isdir/keep"), "x");
	assert_true(registry_save(reg, in_dir("isdir"), &err) < 0);
	assert_non_null(strstr(err.msg, "cannot replace the registry"));
	assert_string_equal(listing(tmpdir), "isdir reg.yaml");
	assert_string_equal(listing(in_dir("isdir")), "keep");

	/* the directory is not writable (only meaningful without root's override) */
	if (geteuid() != 0) {
		assert_int_equal(chmod(tmpdir, 0500), 0);
		assert_int_equal(registry_save(reg, path, &err), -EACCES);
		assert_int_equal(chmod(tmpdir, 0700), 0);
		assert_non_null(strstr(err.msg, "cannot create a temporary file"));
		after = read_text(path, &len2);
		assert_memory_equal(before, after, len1);
		free(after);
	}
	assert_string_equal(listing(tmpdir), "isdir reg.yaml");

	/* and a save that works replaces it */
	assert_int_equal(registry_save(reg, path, &err), 0);
	after = read_text(path, &len2);
	assert_true(len2 > 4096);
	free(after);
	assert_string_equal(listing(tmpdir), "isdir reg.yaml");
	free(before);
	sodium_memzero(privs, sizeof(privs));
	registry_free(small);
	registry_free(reg);
}

/* ---- corrupt files ---- */

#define HEAD "version: 1\nclients:\n"
#define ALICE_AT(ip)                                                                               \
	"- id: alice\n"                                                                            \
	"  public-key: " K1 "\n"                                                                   \
	"  ip: " ip "\n"                                                                           \
	"  created: 2026-12-03T10:00:00Z\n"                                                        \
	"  updated: 2026-12-03T10:00:00Z\n"
#define ALICE ALICE_AT("10.0.0.5")

static const struct {
	const char *text, *msg;
} corrupt[] = {
    /* unknown keys, with a suggestion where one is close */
    {"version: 1\nclinets: []\n",
     "reg.yaml:2: top level: unknown key 'clinets' (did you mean 'clients'?)"},
    {HEAD ALICE "  enable: true\n",
     "reg.yaml:8: client 'alice': unknown key 'enable' (did you mean 'enabled'?)"},
    {HEAD ALICE "  securty: {}\n",
     "reg.yaml:8: client 'alice': unknown key 'securty' (did you mean 'security'?)"},
    {HEAD ALICE "  security: {max-connection: 1}\n",
     "reg.yaml:8: client 'alice': unknown key 'max-connection' (did you mean "
     "'max-connections'?)"},
    {HEAD ALICE "  security: {rate-limit: {rate: 1, burst: 1, extra: 1}}\n",
     "reg.yaml:8: client 'alice': unknown key 'extra'"},
    {HEAD ALICE "  private-key: abc\n", "reg.yaml:8: client 'alice': unknown key 'private-key'"},
    /* wrong types */
    {"- a\n", "reg.yaml:1: top level: expected a map, found a list"},
    {"clients: {}\n", "reg.yaml:1: top level: 'clients': expected a list, found a map"},
    {"clients: [x]\n", "reg.yaml:1: client #1: expected a map, found a scalar"},
    {HEAD "- id: alice\n  public-key: " K1 "\n  ip: [10.0.0.5]\n"
	  "  created: 2026-12-03T10:00:00Z\n  updated: 2026-12-03T10:00:00Z\n",
     "reg.yaml:5: client 'alice': 'ip': expected a string, found a list"},
    {HEAD ALICE "  enabled: yes\n",
     "reg.yaml:8: client 'alice': 'enabled': expected true or false, found another value"},
    {HEAD ALICE "  enabled: 'true'\n",
     "reg.yaml:8: client 'alice': 'enabled': expected true or false, found another value"},
    {HEAD ALICE "  server-tags: engineering\n",
     "reg.yaml:8: client 'alice': 'server-tags': expected a list, found a scalar"},
    {HEAD ALICE "  client-tags: [[a]]\n",
     "reg.yaml:8: client 'alice': 'client-tags': expected a string, found a list"},
    {HEAD ALICE "  description: [x]\n",
     "reg.yaml:8: client 'alice': 'description': expected a string, found a list"},
    {HEAD ALICE "  security: {max-connections: '3'}\n",
     "reg.yaml:8: client 'alice': 'security.max-connections': expected an integer, found a "
     "quoted string"},
    {HEAD ALICE "  security: {max-connections: -1}\n",
     "reg.yaml:8: client 'alice': 'security.max-connections': expected a non-negative "
     "integer, found '-1'"},
    {HEAD ALICE "  security: {max-connections: 4294967296}\n",
     "reg.yaml:8: client 'alice': 'security.max-connections': 4294967296 is too large (at "
     "most 4294967295)"},
    {HEAD ALICE "  security: {rate-limit: {rate: 18446744073709551616, burst: 1}}\n",
     "reg.yaml:8: client 'alice': 'security.rate-limit.rate': 18446744073709551616 is too "
     "large (at most 18446744073709551615)"},
    {HEAD ALICE "  security: {rate-limit: {rate: 10}}\n",
     "reg.yaml:8: client 'alice': 'security.rate-limit': needs both rate and burst"},
    {HEAD ALICE "  security: {rate-limit: {rate: 0, burst: 1}}\n",
     "reg.yaml:8: client 'alice': 'security.rate-limit': rate must be at least 1 (bytes per "
     "second)"},
    {HEAD ALICE "  security: []\n", "reg.yaml:8: client 'alice': expected a map, found a list"},
    {"version: '1'\n",
     "reg.yaml:1: top level: 'version': expected an integer, found a quoted string"},
    {"version: 2\n",
     "reg.yaml:1: top level: 'version': 2 is not supported (this meshvpn reads version 1)"},
    /* required keys */
    {HEAD "- id: alice\n  ip: 10.0.0.5\n  created: 2026-12-03T10:00:00Z\n"
	  "  updated: 2026-12-03T10:00:00Z\n",
     "reg.yaml:3: client 'alice': missing 'public-key'"},
    {HEAD "- id: ~\n  public-key: " K1 "\n  ip: 10.0.0.5\n", "reg.yaml:3: client #1: missing 'id'"},
    {HEAD ALICE "- id: bob\n  public-key: " K2
		"\n  ip: 10.0.0.6\n  created: 2026-12-03T10:00:00Z\n",
     "reg.yaml:8: client 'bob': missing 'updated'"},
    /* bad ids, duplicates */
    {HEAD "- id: -alice\n  public-key: " K1 "\n  ip: 10.0.0.5\n  created: 2026-12-03T10:00:00Z\n"
	  "  updated: 2026-12-03T10:00:00Z\n",
     "reg.yaml:3: client #1: 'id': invalid id '-alice' (1-64 characters of A-Z a-z 0-9 . _ -, "
     "the first a letter or digit)"},
    {HEAD ALICE "  ip: 10.0.0.6\n",
     "reg.yaml:8: client 'alice': duplicate key 'ip' (first given on line 5)"},
    {HEAD ALICE "- id: bob\n  public-key: " K2 "\n  ip: 10.0.0.6\n"
		"  created: 2026-12-03T10:00:00Z\n  updated: 2026-12-03T10:00:00Z\n"
		"- id: alice\n  public-key: " K3 "\n  ip: 10.0.0.7\n"
		"  created: 2026-12-03T10:00:00Z\n  updated: 2026-12-03T10:00:00Z\n",
     "reg.yaml:13: client 'alice': duplicate id (first given on line 3)"},
    {HEAD ALICE "- id: bob\n  public-key: " K1 "\n  ip: 10.0.0.6\n"
		"  created: 2026-12-03T10:00:00Z\n  updated: 2026-12-03T10:00:00Z\n",
     "reg.yaml:8: client 'bob': 'public-key': " K1 " is also the key of client 'alice' "
     "(line 3)"},
    {HEAD ALICE "- id: bob\n  public-key: " K2 "\n  ip: 10.0.0.5\n"
		"  created: 2026-12-03T10:00:00Z\n  updated: 2026-12-03T10:00:00Z\n",
     "reg.yaml:10: client 'bob': 'ip': 10.0.0.5 is already the address of client 'alice' "
     "(line 3)"},
    /* addresses */
    {HEAD ALICE_AT("10.0.1.5"),
     "reg.yaml:5: client 'alice': 'ip': 10.0.1.5 is outside the subnet 10.0.0.0/24"},
    {HEAD ALICE_AT("10.0.0.0"),
     "reg.yaml:5: client 'alice': 'ip': 10.0.0.0 is the network address of 10.0.0.0/24"},
    {HEAD ALICE_AT("10.0.0.255"),
     "reg.yaml:5: client 'alice': 'ip': 10.0.0.255 is the broadcast address of 10.0.0.0/24"},
    {HEAD ALICE_AT("10.0.0.1"),
     "reg.yaml:5: client 'alice': 'ip': 10.0.0.1 is the hub's own address"},
    {HEAD ALICE_AT("10.0.0.5/32"),
     "reg.yaml:5: client 'alice': 'ip': invalid address '10.0.0.5/32' (expected IPv4 "
     "a.b.c.d)"},
    {HEAD ALICE_AT("fd00::5"),
     "reg.yaml:5: client 'alice': 'ip': invalid address 'fd00::5' (expected IPv4 a.b.c.d)"},
    /* times */
    {HEAD ALICE "  expires: 2027-01-01\n",
     "reg.yaml:8: client 'alice': 'expires': invalid time '2027-01-01' (expected RFC 3339 "
     "like 2026-12-03T10:00:00Z)"},
    {HEAD "- id: alice\n  public-key: " K1 "\n  ip: 10.0.0.5\n"
	  "  created: 2026-02-30T10:00:00Z\n  updated: 2026-12-03T10:00:00Z\n",
     "reg.yaml:6: client 'alice': 'created': invalid time '2026-02-30T10:00:00Z' (expected "
     "RFC 3339 like 2026-12-03T10:00:00Z)"},
    {HEAD ALICE "  expires: 1798761600\n",
     "reg.yaml:8: client 'alice': 'expires': invalid time '1798761600' (expected RFC 3339 "
     "like 2026-12-03T10:00:00Z)"},
    /* keys */
    {HEAD "- id: alice\n  public-key: abc!\n",
     "reg.yaml:4: client 'alice': 'public-key': 'abc!' is not a base62 key"},
    {HEAD "- id: alice\n  public-key: zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\n",
     "reg.yaml:4: client 'alice': 'public-key': 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz' is "
     "not a base62 key"},
    {HEAD "- id: alice\n  public-key: '1'\n",
     "reg.yaml:4: client 'alice': 'public-key': not a valid Ed25519 public key"},
    /* values */
    {HEAD ALICE "  server-tags:\n    - ok\n    - not ok\n",
     "reg.yaml:10: client 'alice': 'server-tags': invalid tag 'not ok' (1-64 characters of "
     "A-Z a-z 0-9 . _ -, the first a letter or digit)"},
    {HEAD ALICE "  client-tags:\n    - a\n    - b\n    - a\n",
     "reg.yaml:11: client 'alice': 'client-tags': tag 'a' is listed twice"},
    {HEAD ALICE "  description: \"bell\\a\"\n",
     "reg.yaml:8: client 'alice': 'description': not valid UTF-8 text (control characters "
     "are not allowed)"},
    {HEAD ALICE "  security:\n    source-allow: ['a b']\n",
     "reg.yaml:9: client 'alice': 'security.source-allow': invalid entry 'a b' (printable "
     "ASCII, no spaces)"},
    /* YAML itself */
    {HEAD ALICE "  description: \"open\n",
     "reg.yaml:9:1: YAML syntax error: found unexpected end of stream while scanning a "
     "quoted scalar"},
    {"clients: []\n---\nclients: []\n", "reg.yaml:2: only one YAML document is allowed"},
    {"clients: \xff\n", "reg.yaml: invalid YAML input: invalid leading UTF-8 octet (at byte 9)"},
};

static void test_corrupt(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(corrupt); i++) {
		struct registry *reg = (void *)1;
		int r;

		memset(&err, 0, sizeof(err));
		r = registry_load_buffer(&reg, &params, corrupt[i].text, strlen(corrupt[i].text),
					 "reg.yaml", &err);
		if (r != -EINVAL || strcmp(err.msg, corrupt[i].msg) != 0)
			print_error("case %zu:\n%s\ngot %d '%s'\nwant '%s'\n", i, corrupt[i].text,
				    r, err.msg, corrupt[i].msg);
		assert_int_equal(r, -EINVAL);
		assert_string_equal(err.msg, corrupt[i].msg);
		assert_null(reg);
	}
}

static void test_too_many(void **state)
{
	static char text[64 * 1024];
	struct registry *reg;
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), HEAD ALICE "  server-tags: [");
	for (int i = 0; i <= REGISTRY_LIST_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "t%d, ", i);
	snprintf(text + n, sizeof(text) - n, "x]\n");
	assert_int_equal(registry_load_buffer(&reg, &params, text, strlen(text), "reg.yaml", &err),
			 -EINVAL);
	assert_string_equal(err.msg,
			    "reg.yaml:8: client 'alice': 'server-tags': too many entries (258, at "
			    "most 256)");
	assert_int_equal(
	    registry_load_buffer(&reg, &params, text, REGISTRY_FILE_MAX + 1ul, "big.yaml", &err),
	    -EFBIG);
	assert_null(reg);
}

/* A corrupt file on disk: refused with FILE:LINE, and left exactly as it was. */
static void test_corrupt_file_untouched(void **state)
{
	char path[256];
	const char *text = HEAD ALICE "- id: bob\n  public-key: " K2 "\n  ip: 10.0.1.5\n";
	struct registry *reg = (void *)1;
	struct stat st1, st2;
	char want[512], *after;

	(void)state;
	strcpy(path, in_dir("registry.yaml"));
	write_text(path, text);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(registry_load_file(&reg, &params, path, &err), -EINVAL);
	assert_null(reg);
	snprintf(want, sizeof(want),
		 "%s:10: client 'bob': 'ip': 10.0.1.5 is outside the subnet 10.0.0.0/24", path);
	assert_string_equal(err.msg, want);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_size, st2.st_size);
	assert_int_equal(st1.st_mode, st2.st_mode);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
	assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
	after = read_text(path, NULL);
	assert_string_equal(after, text);
	free(after);
	assert_string_equal(listing(tmpdir), "registry.yaml");

	/* too large (a sparse file): refused after reading at most the limit and a bit */
	{
		FILE *f = fopen(in_dir("big.yaml"), "wb");

		assert_non_null(f);
		assert_int_equal(ftruncate(fileno(f), REGISTRY_FILE_MAX + 1L), 0);
		fclose(f);
		assert_int_equal(registry_load_file(&reg, &params, in_dir("big.yaml"), &err),
				 -EFBIG);
		assert_non_null(strstr(err.msg, "too large"));
		assert_null(reg);
	}

	/* unreadable: a directory where the file should be */
	assert_int_equal(registry_load_file(&reg, &params, tmpdir, &err), -EISDIR);
	assert_non_null(strstr(err.msg, "cannot read the registry"));
}

/* An ACL checker given in the parameters also judges the file's entries. */
static int only_cidr(const char *s, struct config_error *why)
{
	if (strchr(s, '/'))
		return 0;
	snprintf(why->msg, sizeof(why->msg), "not a CIDR");
	return -EINVAL;
}

static void test_acl_check_on_load(void **state)
{
	const struct registry_params p = {"10.0.0.0/24", hub_ip, only_cidr};
	const char *text =
	    HEAD ALICE "  security:\n    destination-block: [10.0.0.0/8, 10.1.2.3]\n";
	struct registry *reg;

	(void)state;
	assert_int_equal(registry_load_buffer(&reg, &p, text, strlen(text), "reg.yaml", &err),
			 -EINVAL);
	assert_string_equal(err.msg, "reg.yaml:9: client 'alice': 'security.destination-block': "
				     "invalid entry '10.1.2.3': not a CIDR");
	/* without the checker the same file loads, the entries exactly as given */
	reg = load_text(text);
	assert_string_equal(registry_get(reg, "alice")->security.destination_block.v[1],
			    "10.1.2.3");
	registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden),
	    cmocka_unit_test(test_lenient_forms),
	    cmocka_unit_test(test_corrupt),
	    cmocka_unit_test(test_too_many),
	    cmocka_unit_test(test_acl_check_on_load),
	    cmocka_unit_test_setup_teardown(test_round_trip, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_no_private_key, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_first_start, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_atomic, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_corrupt_file_untouched, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

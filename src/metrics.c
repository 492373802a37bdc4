// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * metrics.c - the Prometheus endpoint: a writer for the text exposition format 0.0.4 and an
 * HTTP server (libmicrohttpd, external polling with epoll) run from the node's loop.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "meshvpn/log.h"
#include "meshvpn/metrics.h"

/* metrics_run(): MHD_run() rounds at most, while MHD still has work pending */
#define METRICS_RUN_ROUNDS  8
#define METRICS_INITIAL_BUF 4096

struct metrics_fam {
	char name[METRICS_NAME_MAX + 1];
	enum metrics_type type;
};

static const char *const type_names[] = {
    [METRICS_COUNTER] = "counter", [METRICS_GAUGE] = "gauge",	      [METRICS_UNTYPED] = "untyped",
    [METRICS_SUMMARY] = "summary", [METRICS_HISTOGRAM] = "histogram",
};

/* ---- names, values, UTF-8 ---- */

static bool is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool metrics_name_valid(const char *name)
{
	size_t i;

	if (!name || !(is_alpha_(name[0]) || name[0] == ':'))
		return false;
	for (i = 1; name[i]; i++)
		if (!is_alpha_(name[i]) && !is_digit(name[i]) && name[i] != ':')
			return false;
	return i <= METRICS_NAME_MAX;
}

bool metrics_label_name_valid(const char *name)
{
	size_t i;

	if (!name || !is_alpha_(name[0]) || (name[0] == '_' && name[1] == '_'))
		return false;
	for (i = 1; name[i]; i++)
		if (!is_alpha_(name[i]) && !is_digit(name[i]))
			return false;
	return i <= METRICS_NAME_MAX;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF). */
static bool utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned c = *s++, n, min, cp;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, min = 0x10000, cp = c & 0x07;
		else
			return false;
		for (unsigned i = 0; i < n; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (*s & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

const char *metrics_format_double(double v, char buf[METRICS_NUM_LEN])
{
	if (isnan(v))
		return strcpy(buf, "NaN");
	if (isinf(v))
		return strcpy(buf, v > 0 ? "+Inf" : "-Inf");
	/* integers as integers (1000000, not Go's 1e+06), as long as a double holds them exactly */
	if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && (double)(int64_t)v == v) {
		snprintf(buf, METRICS_NUM_LEN, "%.0f", v);
		return buf;
	}
	/* the shortest %g that reads back as the same double; the node never calls setlocale() */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, METRICS_NUM_LEN, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

/* A number as Go's ParseFloat reads it and Prometheus accepts it (for "le" and "quantile"). */
static bool number_valid(const char *s)
{
	const char *p = s;
	bool digits = false;

	if (!strcmp(s, "NaN") || !strcmp(s, "+Inf") || !strcmp(s, "-Inf"))
		return true;
	if (*p == '+' || *p == '-')
		p++;
	for (; is_digit(*p); p++)
		digits = true;
	if (*p == '.')
		for (p++; is_digit(*p); p++)
			digits = true;
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit(*p))
			return false;
		while (is_digit(*p))
			p++;
	}
	if (*p)
		return false;
	errno = 0;
	double v = strtod(s, NULL);
	return !(errno == ERANGE && isinf(v)); /* Go refuses what overflows */
}

/* ---- the buffer ---- */

void metrics_writer_init(struct metrics_writer *w, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->cap = cap ? cap : METRICS_MAX_BODY;
}

void metrics_writer_free(struct metrics_writer *w)
{
	if (!w)
		return;
	size_t cap = w->cap;
	free(w->buf);
	free(w->done);
	free(w->keys);
	free(w->slots);
	metrics_writer_init(w, cap);
}

char *metrics_writer_take(struct metrics_writer *w, size_t *len)
{
	char *s = NULL;

	*len = 0;
	if (!w->err) {
		/* the buffer itself, or "" for a page without a byte */
		s = w->buf ? w->buf : calloc(1, 1);
		*len = s ? w->len : 0;
		w->buf = NULL;
	}
	metrics_writer_free(w);
	return s;
}

static void fail(struct metrics_writer *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* Room for n more bytes of text (and the NUL); false (error kept) if not. */
static bool reserve(struct metrics_writer *w, size_t n)
{
	if (w->err)
		return false;
	if (n > w->cap - w->len) {
		fail(w, -EMSGSIZE);
		return false;
	}
	if (w->len + n + 1 > w->size) {
		size_t size = w->size ? w->size : METRICS_INITIAL_BUF;
		while (size < w->len + n + 1)
			size *= 2;
		if (size > w->cap + 1)
			size = w->cap + 1;
		char *p = realloc(w->buf, size);
		if (!p) {
			fail(w, -ENOMEM);
			return false;
		}
		w->buf = p;
		w->size = size;
	}
	return true;
}

static void put(struct metrics_writer *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void puts_(struct metrics_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

/* s with backslash and newline escaped, and double quotes too when quotes is set. */
static void put_escaped(struct metrics_writer *w, const char *s, bool quotes)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = *s == '\\'		? "\\\\"
				  : *s == '\n'		? "\\n"
				  : *s == '"' && quotes ? "\\\""
							: NULL;
		if (!esc)
			continue;
		put(w, run, (size_t)(s - run));
		put(w, esc, 2);
		run = s + 1;
	}
	put(w, run, (size_t)(s - run));
}

/* ---- families and samples ---- */

/* name minus the suffix, into base; false when name does not end in suffix. */
static bool strip_suffix(const char *name, const char *suffix, char *base)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (n <= k || n - k > METRICS_NAME_MAX || strcmp(name + n - k, suffix))
		return false;
	memcpy(base, name, n - k);
	base[n - k] = '\0';
	return true;
}

static bool has_parts(enum metrics_type t)
{
	return t == METRICS_SUMMARY || t == METRICS_HISTOGRAM;
}

/* True when one of the two families' samples could be taken for the other's. */
static bool collides(const char *a, enum metrics_type ta, const char *b, enum metrics_type tb)
{
	static const char *const suffixes[] = {"_sum", "_count", "_bucket"};
	char base[METRICS_NAME_MAX + 1];

	if (!strcmp(a, b))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		if (has_parts(tb) && strip_suffix(a, suffixes[i], base) && !strcmp(base, b))
			return true;
		if (has_parts(ta) && strip_suffix(b, suffixes[i], base) && !strcmp(base, a))
			return true;
	}
	return false;
}

void metrics_family(struct metrics_writer *w, const char *name, enum metrics_type type,
		    const char *help)
{
	if (w->err)
		return;
	/* Prometheus skips the blanks before a HELP text: one cannot start with them */
	if (!metrics_name_valid(name) || (unsigned)type > METRICS_HISTOGRAM || !help || !*help ||
	    *help == ' ' || *help == '\t' || !utf8_valid(help)) {
		fail(w, -EINVAL);
		return;
	}
	if (!strcmp(name, w->family)) {
		/* the current one again: fine if nothing differs */
		if (type != w->type || strcmp(help, w->help))
			fail(w, -EINVAL);
		return;
	}
	/* a family comes in one piece, and its samples' names must not be ambiguous */
	if (w->family[0] && collides(name, type, w->family, w->type)) {
		fail(w, -EINVAL);
		return;
	}
	for (size_t i = 0; i < w->n_done; i++)
		if (collides(name, type, w->done[i].name, w->done[i].type)) {
			fail(w, -EINVAL);
			return;
		}
	if (w->family[0]) {
		if (w->n_done == w->done_size) {
			size_t size = w->done_size ? 2 * w->done_size : 16;
			struct metrics_fam *d = reallocarray(w->done, size, sizeof(*d));
			if (!d) {
				fail(w, -ENOMEM);
				return;
			}
			w->done = d;
			w->done_size = size;
		}
		strcpy(w->done[w->n_done].name, w->family);
		w->done[w->n_done++].type = w->type;
	}
	strcpy(w->family, name);
	w->type = type;
	w->help = help;
	w->header_done = false;
	w->keys_len = 0;
	w->n_slots = 0;
	if (w->slots)
		memset(w->slots, 0, w->slots_size * sizeof(*w->slots));
}

/* ---- duplicate series ---- */

static void key_put(struct metrics_writer *w, const char *s, size_t n)
{
	if (w->err)
		return;
	if (w->keys_len + n + 1 > w->keys_size) {
		size_t size = w->keys_size ? w->keys_size : METRICS_INITIAL_BUF;
		while (size < w->keys_len + n + 1)
			size *= 2;
		char *k = realloc(w->keys, size);
		if (!k) {
			fail(w, -ENOMEM);
			return;
		}
		w->keys = k;
		w->keys_size = size;
	}
	memcpy(w->keys + w->keys_len, s, n);
	w->keys_len += n;
	w->keys[w->keys_len] = '\0';
}

/* A string as "LEN:" and its bytes, so that no two label sets make the same key. */
static void key_field(struct metrics_writer *w, const char *s)
{
	char len[24];
	size_t n = strlen(s);

	key_put(w, len, (size_t)snprintf(len, sizeof(len), "%zu:", n));
	key_put(w, s, n);
}

static uint64_t key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a: the keys are the node's, not a peer's */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Puts offset + 1 into a free slot of the table (which has one). */
static void slot_put(size_t *slots, size_t size, const char *keys, size_t off1)
{
	size_t i = key_hash(keys + off1 - 1) & (size - 1);

	while (slots[i])
		i = (i + 1) & (size - 1);
	slots[i] = off1;
}

/* Records the series (name, labels in name order) of the current family; false if known. */
static bool series_new(struct metrics_writer *w, const char *name, const struct metrics_label *l,
		       size_t n)
{
	size_t start = w->keys_len;
	const char *prev = NULL;

	key_field(w, name);
	for (size_t k = 0; k < n; k++) {
		/* the next label by name (they are few and distinct): no sorting buffer */
		const struct metrics_label *next = NULL;
		for (size_t i = 0; i < n; i++)
			if ((!prev || strcmp(l[i].name, prev) > 0) &&
			    (!next || strcmp(l[i].name, next->name) < 0))
				next = &l[i];
		key_field(w, next->name);
		key_field(w, next->value);
		prev = next->name;
	}
	key_put(w, "", 1); /* the NUL ending this key */
	if (w->err)
		return false;
	if (2 * (w->n_slots + 1) > w->slots_size) {
		size_t size = w->slots_size ? 2 * w->slots_size : 64;
		size_t *t = calloc(size, sizeof(*t));
		if (!t) {
			fail(w, -ENOMEM);
			return false;
		}
		for (size_t i = 0; i < w->slots_size; i++)
			if (w->slots[i])
				slot_put(t, size, w->keys, w->slots[i]);
		free(w->slots);
		w->slots = t;
		w->slots_size = size;
	}
	for (size_t i = key_hash(w->keys + start) & (w->slots_size - 1); w->slots[i];
	     i = (i + 1) & (w->slots_size - 1))
		if (!strcmp(w->keys + w->slots[i] - 1, w->keys + start)) {
			w->keys_len = start;
			return false;
		}
	slot_put(w->slots, w->slots_size, w->keys, start + 1);
	w->n_slots++;
	return true;
}

static const char *find_label(const struct metrics_label *labels, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(labels[i].name, name))
			return labels[i].value;
	return NULL;
}

/* Checks that a sample called name with these labels belongs to the current family. */
static bool sample_ok(const struct metrics_writer *w, const char *name,
		      const struct metrics_label *labels, size_t n)
{
	char base[METRICS_NAME_MAX + 1];
	const char *special = NULL; /* the label that must be there, or must not */
	bool plain = !strcmp(name, w->family);

	if (!w->family[0] || (n && !labels))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!metrics_label_name_valid(labels[i].name) || !labels[i].value ||
		    !utf8_valid(labels[i].value))
			return false;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(labels[i].name, labels[j].name))
				return false;
	}
	switch (w->type) {
	case METRICS_SUMMARY:
		special = "quantile";
		break;
	case METRICS_HISTOGRAM:
		special = "le";
		plain = strip_suffix(name, "_bucket", base) && !strcmp(base, w->family);
		break;
	default:
		return plain;
	}
	const char *v = find_label(labels, n, special);
	if (plain)
		return v && number_valid(v);
	/* _sum and _count carry neither quantile nor le */
	return !v && ((strip_suffix(name, "_sum", base) && !strcmp(base, w->family)) ||
		      (strip_suffix(name, "_count", base) && !strcmp(base, w->family)));
}

static void sample(struct metrics_writer *w, const char *name, const struct metrics_label *labels,
		   size_t n, const char *value)
{
	if (w->err)
		return;
	if (!name || !sample_ok(w, name, labels, n) || !series_new(w, name, labels, n)) {
		fail(w, -EINVAL);
		return;
	}
	if (!w->header_done) {
		puts_(w, "# HELP ");
		puts_(w, w->family);
		put(w, " ", 1);
		put_escaped(w, w->help, false);
		puts_(w, "\n# TYPE ");
		puts_(w, w->family);
		put(w, " ", 1);
		puts_(w, type_names[w->type]);
		put(w, "\n", 1);
		w->header_done = true;
	}
	puts_(w, name);
	for (size_t i = 0; i < n; i++) {
		put(w, i ? "," : "{", 1);
		puts_(w, labels[i].name);
		put(w, "=\"", 2);
		put_escaped(w, labels[i].value, true);
		put(w, "\"", 1);
	}
	if (n)
		put(w, "}", 1);
	put(w, " ", 1);
	puts_(w, value);
	put(w, "\n", 1);
}

void metrics_sample(struct metrics_writer *w, const char *name, const struct metrics_label *labels,
		    size_t n, double value)
{
	char num[METRICS_NUM_LEN];

	if (!w->err && w->type == METRICS_COUNTER && value < 0) {
		fail(w, -EINVAL); /* a counter only goes up from 0 */
		return;
	}
	sample(w, name, labels, n, metrics_format_double(value, num));
}

void metrics_sample_u64(struct metrics_writer *w, const char *name,
			const struct metrics_label *labels, size_t n, uint64_t value)
{
	char num[METRICS_NUM_LEN];

	snprintf(num, sizeof(num), "%" PRIu64, value);
	sample(w, name, labels, n, num);
}

/* ---- the HTTP server ---- */

/*
 * libmicrohttpd is loaded when an endpoint is opened, not linked: it brings libgnutls and
 * what that links (p11-kit, nettle, hogweed, gmp, tasn1, unistring, idn2), ~2.5 MB resident
 * in every node, serving /metrics or not (tests/bench/scale.sh). Loaded once, kept.
 */
#define METRICS_MHD_SONAME "libmicrohttpd.so.12"
static struct {
	void *lib;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
} mhd;

static int mhd_load(void)
{
	void *lib;

	if (mhd.lib)
		return 0;
	lib = dlopen(METRICS_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		log_err("metrics: cannot load %s: %s", METRICS_MHD_SONAME, dlerror());
		return -ENOENT;
	}
#define SYM(f) ((mhd.f = (__typeof__(mhd.f))dlsym(lib, "MHD_" #f)) != NULL)
	bool ok = SYM(add_response_header) && SYM(create_response_from_buffer) &&
		  SYM(destroy_response) && SYM(get_daemon_info) && SYM(get_timeout) &&
		  SYM(lookup_connection_value) && SYM(queue_response) && SYM(run) &&
		  SYM(start_daemon) && SYM(stop_daemon);
#undef SYM
	if (!ok) {
		log_err("metrics: %s lacks a function: %s", METRICS_MHD_SONAME, dlerror());
		memset(&mhd, 0, sizeof(mhd));
		dlclose(lib);
		return -ENOENT;
	}
	mhd.lib = lib;
	return 0;
}

struct metrics {
	struct MHD_Daemon *d;
	struct loop_src src; /* MHD's epoll fd */
	metrics_cb cb;
	void *ctx;
	struct metrics_limits lim;
	bool starting;	 /* inside MHD_start_daemon(): keep what MHD says */
	int start_errno; /* errno when MHD reported its last start-up problem */
	char start_msg[160];
};

/* MHD's messages. Start-up problems are kept for metrics_open(); later ones are about
 * clients (limits reached, broken requests), so only debug and rate-limited. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct metrics *m = cls;
	int saved = errno;
	char msg[sizeof(m->start_msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	if (m->starting) {
		strcpy(m->start_msg, msg);
		m->start_errno = saved;
	} else {
		log_rl(LOG_DEBUG, "metrics: %s", msg);
	}
	errno = saved;
}

/* Answers with a short text/plain body (static); allow is the Allow header or NULL. */
static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text,
				  const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = mhd.create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	if (mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8") !=
		MHD_YES ||
	    (allow && mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
		mhd.destroy_response(r);
		return MHD_NO;
	}
	ret = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ret;
}

/* True when the request announces a body (Content-Length other than 0, or chunks). */
static bool has_body(struct MHD_Connection *c)
{
	const char *cl =
	    mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return (cl && strcmp(cl, "0")) ||
	       mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct metrics *m = cls;
	struct metrics_writer w;
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len;
	char *page;
	int err;

	(void)version, (void)upload_data, (void)upload_data_size;
	/*
	 * MHD calls this after the headers and again at the end of the request. An answer in
	 * the first call makes MHD close the connection after it, without reading a request
	 * body: right for errors and for requests with a body (none is expected), while a
	 * plain GET or HEAD of the page is answered in the second call, keeping it alive.
	 */
	if (strcmp(url, METRICS_PATH))
		return reply_text(c, MHD_HTTP_NOT_FOUND, "Not Found\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n",
				  "GET, HEAD");
	if (!*req_cls && !has_body(c)) {
		*req_cls = m;
		return MHD_YES;
	}
	/* HEAD too: MHD sends the Content-Length of the page without the page */
	metrics_writer_init(&w, m->lim.max_body);
	err = m->cb(&w, m->ctx);
	if (!err)
		err = metrics_err(&w);
	page = err ? NULL : metrics_writer_take(&w, &len);
	if (!page) {
		metrics_writer_free(&w);
		if (err == -EMSGSIZE)
			log_rl(LOG_WARN, "metrics: the page is larger than %zu bytes",
			       m->lim.max_body);
		else
			log_rl(LOG_WARN, "metrics: cannot write the page: %s",
			       strerror(err ? -err : ENOMEM));
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error\n",
				  NULL);
	}
	r = mhd.create_response_from_buffer(len, page, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(page);
		return MHD_NO;
	}
	if (mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE) !=
	    MHD_YES) {
		mhd.destroy_response(r);
		return MHD_NO;
	}
	ret = mhd.queue_response(c, MHD_HTTP_OK, r);
	mhd.destroy_response(r);
	return ret;
}

int metrics_open(const struct addr *listen, const struct metrics_limits *lim, metrics_cb cb,
		 void *ctx, struct metrics **out)
{
	struct sockaddr_storage ss;
	char as[ADDR_STRLEN];
	const union MHD_DaemonInfo *info;
	struct metrics *m;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int family = addr_is_v4(listen) ? AF_INET : AF_INET6;

	*out = NULL;
	if (!cb || !addr_to_sockaddr(listen, &ss, family))
		return -EINVAL;
	int r = mhd_load();
	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cb = cb;
	m->ctx = ctx;
	if (lim)
		m->lim = *lim;
	if (!m->lim.max_conns)
		m->lim.max_conns = METRICS_MAX_CONNS;
	if (!m->lim.timeout_secs)
		m->lim.timeout_secs = METRICS_TIMEOUT_SECS;
	if (!m->lim.max_body)
		m->lim.max_body = METRICS_MAX_BODY;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6; /* without MHD_USE_DUAL_STACK: IPV6_V6ONLY */
	/* external polling (no MHD_USE_INTERNAL_POLLING_THREAD): MHD starts no thread */
	m->starting = true;
	errno = 0;
	m->d = mhd.start_daemon(
	    flags, listen->port, NULL, NULL, handle, m, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
	    m->lim.max_conns, MHD_OPTION_CONNECTION_TIMEOUT, m->lim.timeout_secs,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, m->lim.max_conns, MHD_OPTION_END);
	m->starting = false;
	if (!m->d) {
		int err = m->start_errno ? -m->start_errno : -EIO;
		log_err("metrics: cannot serve on %s: %s", addr_format(listen, as),
			m->start_msg[0] ? m->start_msg : strerror(-err));
		free(m);
		return err;
	}
	info = mhd.get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		log_err("metrics: MHD has no epoll fd");
		mhd.stop_daemon(m->d);
		free(m);
		return -EIO;
	}
	m->src.fd = info->epoll_fd;
	*out = m;
	return 0;
}

struct loop_src *metrics_src(struct metrics *m)
{
	return &m->src;
}

unsigned metrics_connections(struct metrics *m)
{
	const union MHD_DaemonInfo *info =
	    mhd.get_daemon_info(m->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

void metrics_run(struct metrics *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	for (int i = 0; i < METRICS_RUN_ROUNDS; i++) {
		unsigned before = metrics_connections(m);
		(void)mhd.run(m->d);
		/*
		 * MHD's own sockets are edge-triggered in its epoll set: what is left in its
		 * ready list (timeout 0) raises no new event, so run again now. And a slot
		 * freed at the connection limit puts the listening socket back into the set
		 * only at the start of the next run.
		 */
		bool pending = mhd.get_timeout(m->d, &ms) == MHD_YES && ms == 0;
		bool freed = before >= m->lim.max_conns && metrics_connections(m) < before;
		if (!pending && !freed)
			break;
	}
}

int metrics_timeout_ms(struct metrics *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (mhd.get_timeout(m->d, &ms) != MHD_YES)
		return -1;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

uint16_t metrics_port(struct metrics *m)
{
	const union MHD_DaemonInfo *info = mhd.get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);

	return info ? info->port : 0;
}

void metrics_close(struct metrics *m)
{
	if (!m)
		return;
	mhd.stop_daemon(m->d);
	free(m);
}

/* ---- the node's families ---- */

enum {
	MF_BUILD_INFO,
	MF_RX_BYTES,
	MF_TX_BYTES,
	MF_RX_PACKETS,
	MF_TX_PACKETS,
	MF_INVALID,
	MF_DROPS,
	MF_HANDSHAKES,
	MF_ROTATIONS,
	MF_PEERS,
	MF_PEER_RX_BYTES, /* the four traffic families of a party are in this order */
	MF_PEER_TX_BYTES,
	MF_PEER_RX_PACKETS,
	MF_PEER_TX_PACKETS,
	MF_PEER_RTT,
	MF_PEER_DROPS,
	MF_CLIENTS_ACTIVE,
	MF_CLIENT_CONNECTIONS,
	MF_CLIENT_RX_BYTES,
	MF_CLIENT_TX_BYTES,
	MF_CLIENT_RX_PACKETS,
	MF_CLIENT_TX_PACKETS,
	MF_CLIENT_RTT,
	MF_CLIENT_DROPS,
	MF_COUNT
};

#define F(idx, n, t, l, h, hub) [idx] = {"meshvpn_" n, METRICS_##t, l, h, hub}
const struct metrics_family_desc metrics_node_families[] = {
    F(MF_BUILD_INFO, "build_info", GAUGE, "version", "Version of the running node (value 1).",
      false),
    F(MF_RX_BYTES, "rx_bytes_total", COUNTER, "", "Bytes received from the network.", false),
    F(MF_TX_BYTES, "tx_bytes_total", COUNTER, "", "Bytes sent to the network.", false),
    F(MF_RX_PACKETS, "rx_packets_total", COUNTER, "", "Datagrams received from the network.",
      false),
    F(MF_TX_PACKETS, "tx_packets_total", COUNTER, "", "Datagrams sent to the network.", false),
    F(MF_INVALID, "invalid_datagrams_total", COUNTER, "reason",
      "Datagrams dropped as invalid (forged, replayed, malformed), by reason.", false),
    F(MF_DROPS, "drops_total", COUNTER, "reason",
      "Packets dropped that no single peer or client accounts for, by reason.", false),
    F(MF_HANDSHAKES, "handshakes_total", COUNTER, "result", "Handshakes finished, by result.",
      false),
    F(MF_ROTATIONS, "rotations_total", COUNTER, "", "Session key rotations completed.", false),
    F(MF_PEERS, "peers", GAUGE, "", "Established peers.", false),
    F(MF_PEER_RX_BYTES, "peer_rx_bytes_total", COUNTER, "peer", "Bytes received from a peer.",
      false),
    F(MF_PEER_TX_BYTES, "peer_tx_bytes_total", COUNTER, "peer", "Bytes sent to a peer.", false),
    F(MF_PEER_RX_PACKETS, "peer_rx_packets_total", COUNTER, "peer",
      "Datagrams received from a peer.", false),
    F(MF_PEER_TX_PACKETS, "peer_tx_packets_total", COUNTER, "peer", "Datagrams sent to a peer.",
      false),
    F(MF_PEER_RTT, "peer_rtt_seconds", GAUGE, "peer", "Smoothed round-trip time to a peer.", false),
    F(MF_PEER_DROPS, "peer_drops_total", COUNTER, "peer,reason",
      "Packets from or to a peer dropped, by reason.", false),
    F(MF_CLIENTS_ACTIVE, "clients_active", GAUGE, "", "Clients connected to this hub.", true),
    F(MF_CLIENT_CONNECTIONS, "client_connections_total", COUNTER, "transport",
      "Client connections accepted, by transport.", true),
    F(MF_CLIENT_RX_BYTES, "client_rx_bytes_total", COUNTER, "client",
      "Bytes received from a client.", true),
    F(MF_CLIENT_TX_BYTES, "client_tx_bytes_total", COUNTER, "client", "Bytes sent to a client.",
      true),
    F(MF_CLIENT_RX_PACKETS, "client_rx_packets_total", COUNTER, "client",
      "Datagrams received from a client.", true),
    F(MF_CLIENT_TX_PACKETS, "client_tx_packets_total", COUNTER, "client",
      "Datagrams sent to a client.", true),
    F(MF_CLIENT_RTT, "client_rtt_seconds", GAUGE, "client", "Smoothed round-trip time to a client.",
      true),
    F(MF_CLIENT_DROPS, "client_drops_total", COUNTER, "client,reason",
      "Packets from or to a client dropped, by reason.", true),
};
#undef F
const size_t metrics_node_n_families = ARRAY_SIZE(metrics_node_families);
_Static_assert(ARRAY_SIZE(metrics_node_families) == MF_COUNT, "a family without a description");

static const char *fam(struct metrics_writer *w, int idx)
{
	const struct metrics_family_desc *f = &metrics_node_families[idx];

	metrics_family(w, f->name, f->type, f->help);
	return f->name;
}

static void one(struct metrics_writer *w, int idx, uint64_t v)
{
	metrics_sample_u64(w, fam(w, idx), NULL, 0, v);
}

static void counts(struct metrics_writer *w, int idx, const char *label,
		   const struct metrics_count *c, size_t n)
{
	const char *name = fam(w, idx);

	if (n && !c) {
		fail(w, -EINVAL);
		return;
	}
	for (size_t i = 0; i < n; i++)
		metrics_sample_u64(w, name, METRICS_L({label, c[i].key}), c[i].n);
}

static uint64_t traffic_field(const struct metrics_traffic *t, int i)
{
	switch (i) {
	case 0:
		return t->rx_bytes;
	case 1:
		return t->tx_bytes;
	case 2:
		return t->rx_packets;
	default:
		return t->tx_packets;
	}
}

/* The traffic, RTT and drop families of peers (first = MF_PEER_RX_BYTES) or clients. */
static void parties(struct metrics_writer *w, int first, const char *label,
		    const struct metrics_party *p, size_t n)
{
	const char *name;

	if (n && !p) {
		fail(w, -EINVAL);
		return;
	}
	for (int f = 0; f < 4; f++) {
		name = fam(w, first + f);
		for (size_t i = 0; i < n; i++)
			metrics_sample_u64(w, name, METRICS_L({label, p[i].name}),
					   traffic_field(&p[i].traffic, f));
	}
	name = fam(w, first + 4);
	for (size_t i = 0; i < n; i++)
		if (p[i].has_rtt)
			metrics_sample(w, name, METRICS_L({label, p[i].name}), p[i].rtt_seconds);
	name = fam(w, first + 5);
	for (size_t i = 0; i < n; i++)
		if (p[i].n_drops && !p[i].drops)
			fail(w, -EINVAL);
		else
			for (size_t k = 0; k < p[i].n_drops; k++)
				metrics_sample_u64(
				    w, name,
				    METRICS_L({label, p[i].name}, {"reason", p[i].drops[k].key}),
				    p[i].drops[k].n);
}

void metrics_write_node(struct metrics_writer *w, const struct metrics_node_view *v)
{
	metrics_sample_u64(w, fam(w, MF_BUILD_INFO),
			   METRICS_L({"version", v->version ? v->version : MESHVPN_VERSION}), 1);
	one(w, MF_RX_BYTES, v->traffic.rx_bytes);
	one(w, MF_TX_BYTES, v->traffic.tx_bytes);
	one(w, MF_RX_PACKETS, v->traffic.rx_packets);
	one(w, MF_TX_PACKETS, v->traffic.tx_packets);
	counts(w, MF_INVALID, "reason", v->invalid, v->n_invalid);
	counts(w, MF_DROPS, "reason", v->drops, v->n_drops);
	counts(w, MF_HANDSHAKES, "result", v->handshakes, v->n_handshakes);
	one(w, MF_ROTATIONS, v->rotations);
	one(w, MF_PEERS, v->n_peers);
	parties(w, MF_PEER_RX_BYTES, "peer", v->peers, v->n_peers);
	if (!v->hub)
		return;
	one(w, MF_CLIENTS_ACTIVE, v->clients_active);
	counts(w, MF_CLIENT_CONNECTIONS, "transport", v->connections, v->n_connections);
	parties(w, MF_CLIENT_RX_BYTES, "client", v->clients, v->n_clients);
}

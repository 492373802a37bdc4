// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * promparse.c - a strict checker of the Prometheus text exposition format 0.0.4, for tests.
 *
 * It refuses everything Prometheus' own parser (expfmt.TextParser) refuses, and more: what
 * that parser lets through but breaks the format's rules or the data model.
 *   as Prometheus: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
 *     (not __name__), label values quoted with only \\ \" \n escapes and no raw newline,
 *     valid UTF-8, no duplicate label name in a sample, HELP docstrings with only \\ and \n
 *     escapes, one HELP and one TYPE per family, TYPE one of counter gauge histogram
 *     summary untyped and before the family's samples, values as Go's ParseFloat reads
 *     them (without p, P or _; no overflow), an optional int64 timestamp, then the end of
 *     the line; every line ends in a newline; a HELP or TYPE naming a summary's or
 *     histogram's _sum/_count/_bucket sample is a second HELP or TYPE of that family.
 *   stricter: HELP (with text) and TYPE before a family's first sample and HELP not after
 *     it; a family in one piece (no line of another family in between); no duplicate
 *     series (same name and label set in any order); a histogram's samples are
 *     NAME_bucket with a numeric le, NAME_sum, NAME_count, a summary's NAME with a numeric
 *     quantile, NAME_sum, NAME_count; no negative counter; label names without the
 *     reserved "__" prefix; no trailing comma in a label set; the canonical spacing (no
 *     blanks at the start of a sample line, inside braces or at its end; one space before
 *     the value and the timestamp); only lower-case type names; of the special values only
 *     NaN, +Inf and -Inf (not Go's other spellings: Inf, inf, Infinity, nan); no NUL byte.
 *
 * As a program: promparse [FILE] checks FILE (default stdin), prints "ok: F families, S
 * samples" and exits 0, or prints "LINE: message" to stderr and exits 1. Tests that link
 * the checker define PROMPARSE_NO_MAIN and include this file.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PP_COUNTER, PP_GAUGE, PP_UNTYPED, PP_SUMMARY, PP_HISTOGRAM, PP_NONE = -1 };

struct promparse_label {
	char *name, *value; /* value unescaped */
};

/* One sample as handed to the callback. */
struct promparse_sample {
	const char *family; /* the family it belongs to */
	int type;	    /* PP_* */
	const char *name;   /* as written (NAME, NAME_sum, ...) */
	const struct promparse_label *labels;
	size_t n_labels;
	double value;
};

struct promparse_result {
	unsigned line; /* of the error, 0 when the text is fine */
	char msg[240];
	size_t families, samples;
};

typedef void (*promparse_cb)(void *ctx, const struct promparse_sample *s);

struct pp_family {
	char *name;
	int type;
	bool help, samples, seen;
};

struct pp {
	const char *p, *end; /* the rest of the current line, end at its '\n' */
	struct promparse_result *res;
	struct pp_family *fam;
	size_t n_fam, fam_size;
	size_t cur;    /* index + 1 of the family of the last line, 0 before the first */
	char **series; /* open addressing, keys from pp_series_key() */
	size_t series_size, n_series;
	promparse_cb cb;
	void *ctx;
};

static const char *const pp_types[] = {"counter", "gauge", "untyped", "summary", "histogram"};

__attribute__((format(printf, 2, 3))) static bool perr(struct pp *pp, const char *fmt, ...)
{
	va_list ap;

	if (!pp->res->msg[0]) {
		va_start(ap, fmt);
		vsnprintf(pp->res->msg, sizeof(pp->res->msg), fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool pp_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool pp_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool pp_utf8(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *e = s + len;

	while (s < e) {
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
		if ((size_t)(e - s) < n)
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

/* Reads a metric name at pp->p into a new string; NULL if there is none. */
static char *pp_name(struct pp *pp, bool metric)
{
	const char *s = pp->p;

	if (s == pp->end || !(pp_alpha(*s) || (metric && *s == ':')))
		return NULL;
	while (s < pp->end && (pp_alpha(*s) || pp_digit(*s) || (metric && *s == ':')))
		s++;
	char *n = strndup(pp->p, (size_t)(s - pp->p));
	pp->p = s;
	return n;
}

/* A value as Go's ParseFloat reads it, minus what Prometheus refuses; sets *v. */
static bool pp_number(const char *s, double *v)
{
	const char *p = s;
	bool digits = false;

	if (!strcmp(s, "NaN") || !strcmp(s, "+Inf") || !strcmp(s, "-Inf")) {
		*v = strtod(s, NULL);
		return true;
	}
	if (*p == '+' || *p == '-')
		p++;
	for (; pp_digit(*p); p++)
		digits = true;
	if (*p == '.')
		for (p++; pp_digit(*p); p++)
			digits = true;
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!pp_digit(*p))
			return false;
		while (pp_digit(*p))
			p++;
	}
	if (*p)
		return false;
	errno = 0;
	*v = strtod(s, NULL);
	return !(errno == ERANGE && isinf(*v));
}

static bool pp_has_suffix(const char *name, const char *sfx, size_t *base_len)
{
	size_t n = strlen(name), k = strlen(sfx);

	if (n <= k || strcmp(name + n - k, sfx))
		return false;
	*base_len = n - k;
	return true;
}

static struct pp_family *pp_find(struct pp *pp, const char *name, size_t len)
{
	for (size_t i = 0; i < pp->n_fam; i++)
		if (strlen(pp->fam[i].name) == len && !memcmp(pp->fam[i].name, name, len))
			return &pp->fam[i];
	return NULL;
}

/*
 * The family a name belongs to, as Prometheus looks it up: the exact name, else the base of
 * a _sum/_count of a summary or histogram, else the base of a histogram's _bucket. *suffix
 * tells which (0 exact, 's' sum, 'c' count, 'b' bucket).
 */
static struct pp_family *pp_resolve(struct pp *pp, const char *name, char *suffix)
{
	struct pp_family *f = pp_find(pp, name, strlen(name));
	size_t n;

	*suffix = 0;
	if (f)
		return f;
	if ((pp_has_suffix(name, "_sum", &n) && (*suffix = 's')) ||
	    (pp_has_suffix(name, "_count", &n) && (*suffix = 'c'))) {
		f = pp_find(pp, name, n);
		if (f && (f->type == PP_SUMMARY || f->type == PP_HISTOGRAM))
			return f;
	}
	if (pp_has_suffix(name, "_bucket", &n) && (*suffix = 'b')) {
		f = pp_find(pp, name, n);
		if (f && f->type == PP_HISTOGRAM)
			return f;
	}
	*suffix = 0;
	return NULL;
}

static struct pp_family *pp_add(struct pp *pp, const char *name)
{
	if (pp->n_fam == pp->fam_size) {
		size_t size = pp->fam_size ? 2 * pp->fam_size : 16;
		struct pp_family *f = realloc(pp->fam, size * sizeof(*f));
		if (!f)
			return NULL;
		pp->fam = f;
		pp->fam_size = size;
	}
	struct pp_family *f = &pp->fam[pp->n_fam];
	f->name = strdup(name);
	if (!f->name)
		return NULL;
	f->type = PP_NONE;
	f->help = f->samples = f->seen = false;
	pp->n_fam++;
	return f;
}

/* Line of family f: refused when f was left for another family before. */
static bool pp_enter(struct pp *pp, struct pp_family *f)
{
	size_t idx = (size_t)(f - pp->fam) + 1;

	if (idx == pp->cur)
		return true;
	if (f->seen)
		return perr(pp, "family %s split: a line of another family came in between",
			    f->name);
	f->seen = true;
	pp->cur = idx;
	return true;
}

static uint64_t pp_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* Adds key (len bytes, owned by the set afterwards); false if it was there. */
static bool pp_series_add(struct pp *pp, char *key, size_t len, bool *oom)
{
	if (2 * (pp->n_series + 1) > pp->series_size) {
		size_t size = pp->series_size ? 2 * pp->series_size : 256;
		char **t = calloc(size, sizeof(*t));
		if (!t) {
			*oom = true;
			free(key);
			return false;
		}
		for (size_t i = 0; i < pp->series_size; i++) {
			char *k = pp->series[i];
			if (!k)
				continue;
			size_t kl = strlen(k); /* keys hold no NUL (the text has none) */
			size_t j = pp_hash(k, kl) & (size - 1);
			while (t[j])
				j = (j + 1) & (size - 1);
			t[j] = k;
		}
		free(pp->series);
		pp->series = t;
		pp->series_size = size;
	}
	size_t j = pp_hash(key, len) & (pp->series_size - 1);
	while (pp->series[j]) {
		if (!strcmp(pp->series[j], key)) {
			free(key);
			return false;
		}
		j = (j + 1) & (pp->series_size - 1);
	}
	pp->series[j] = key;
	pp->n_series++;
	return true;
}

static int pp_label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct promparse_label *)a)->name,
		      ((const struct promparse_label *)b)->name);
}

/*
 * The series' key: the name, then for each label (sorted by name) "\1" LEN ":" NAME LEN ":"
 * VALUE, the lengths in decimal, so no two label sets give the same key. NULL: no memory.
 */
static char *pp_series_key(const char *name, struct promparse_label *l, size_t n, size_t *len)
{
	size_t total = strlen(name) + 1;
	char *k, *p;

	if (n)
		qsort(l, n, sizeof(*l), pp_label_cmp);
	for (size_t i = 0; i < n; i++)
		total += strlen(l[i].name) + strlen(l[i].value) + 2 * 24;
	k = p = malloc(total);
	if (!k)
		return NULL;
	p = stpcpy(p, name);
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "\1%zu:%s%zu:%s", strlen(l[i].name), l[i].name, strlen(l[i].value),
			     l[i].value);
	*len = (size_t)(p - k);
	return k;
}

/* "# HELP name text" or "# TYPE name type"; pp->p is after the keyword. */
static bool pp_meta(struct pp *pp, bool help)
{
	const char *kw = help ? "HELP" : "TYPE";
	char suffix, *name;
	struct pp_family *f;

	while (pp->p < pp->end && (*pp->p == ' ' || *pp->p == '\t'))
		pp->p++;
	name = pp_name(pp, true);
	if (!name)
		return perr(pp, "%s without a valid metric name", kw);
	if (pp->p == pp->end) {
		free(name);
		return perr(pp, "%s", help ? "HELP without text" : "TYPE without a type");
	}
	if (*pp->p != ' ' && *pp->p != '\t') {
		free(name);
		return perr(pp, "invalid metric name in %s", kw);
	}
	while (pp->p < pp->end && (*pp->p == ' ' || *pp->p == '\t'))
		pp->p++;
	f = pp_resolve(pp, name, &suffix);
	if (f && suffix) {
		perr(pp, "HELP or TYPE for a sample name of summary or histogram %s", f->name);
		free(name);
		return false;
	}
	if (!f)
		f = pp_add(pp, name);
	free(name);
	if (!f)
		return perr(pp, "out of memory");
	if (!pp_enter(pp, f))
		return false;
	if (f->samples)
		return perr(pp, "%s after the samples of its family", kw);
	size_t len = (size_t)(pp->end - pp->p);
	if (help) {
		if (f->help)
			return perr(pp, "second HELP for %s", f->name);
		if (!len)
			return perr(pp, "HELP without text");
		for (const char *s = pp->p; s < pp->end; s++)
			if (*s == '\\' && (++s == pp->end || (*s != '\\' && *s != 'n')))
				return perr(pp, "invalid escape in HELP of %s", f->name);
		if (!pp_utf8(pp->p, len))
			return perr(pp, "HELP of %s is not UTF-8", f->name);
		f->help = true;
		return true;
	}
	if (f->type != PP_NONE)
		return perr(pp, "second TYPE for %s", f->name);
	for (int t = 0; t < 5; t++)
		if (strlen(pp_types[t]) == len && !memcmp(pp->p, pp_types[t], len)) {
			f->type = t;
			return true;
		}
	return perr(pp, "unknown type in TYPE of %s", f->name);
}

/* A quoted label value at pp->p (the opening quote), unescaped into a new string. */
static char *pp_label_value(struct pp *pp)
{
	size_t n = 0;
	char *v = malloc((size_t)(pp->end - pp->p) + 1);

	if (!v)
		return NULL;
	for (pp->p++; pp->p < pp->end && *pp->p != '"'; pp->p++) {
		if (*pp->p != '\\') {
			v[n++] = *pp->p;
			continue;
		}
		if (++pp->p == pp->end)
			break;
		if (*pp->p == 'n')
			v[n++] = '\n';
		else if (*pp->p == '\\' || *pp->p == '"')
			v[n++] = *pp->p;
		else {
			free(v);
			perr(pp, "invalid escape in a label value");
			return NULL;
		}
	}
	if (pp->p == pp->end) {
		free(v);
		perr(pp, "label value not closed on its line");
		return NULL;
	}
	pp->p++;
	v[n] = '\0';
	if (!pp_utf8(v, n)) {
		free(v);
		perr(pp, "label value is not UTF-8");
		return NULL;
	}
	return v;
}

static void pp_free_labels(struct promparse_label *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].name);
		free(l[i].value);
	}
	free(l);
}

static const char *pp_find_label(const struct promparse_label *l, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].name, name))
			return l[i].value;
	return NULL;
}

/* Checks the family rules for a sample; labels are still in the order written. */
static bool pp_sample_rules(struct pp *pp, struct pp_family *f, char suffix,
			    const struct promparse_label *l, size_t n, double v)
{
	double d;

	if (f->type == PP_NONE || !f->help)
		return perr(pp, "sample of %s before its HELP and TYPE", f->name);
	if (f->type == PP_COUNTER && v < 0)
		return perr(pp, "negative value of counter %s", f->name);
	if (f->type == PP_SUMMARY || f->type == PP_HISTOGRAM) {
		bool hist = f->type == PP_HISTOGRAM;
		const char *special = hist ? "le" : "quantile";
		const char *sv = pp_find_label(l, n, special);
		bool needs = hist ? suffix == 'b' : suffix == 0;
		if (hist && suffix == 0)
			return perr(pp, "histogram %s: sample without _bucket, _sum or _count",
				    f->name);
		if (needs && (!sv || !pp_number(sv, &d)))
			return perr(pp, "%s: missing or non-numeric le/quantile label", f->name);
		if (!needs && sv)
			return perr(pp, "%s: le/quantile label on a _sum or _count", f->name);
	}
	return true;
}

static bool pp_sample(struct pp *pp)
{
	struct promparse_label *l = NULL;
	size_t n = 0, size = 0, klen;
	struct pp_family *f;
	char suffix, *name, *val = NULL, *key;
	bool ok = false, oom = false;
	double v;

	name = pp_name(pp, true);
	if (!name)
		return perr(pp, "invalid metric name (or blanks at the start of a line)");
	if (pp->p < pp->end && *pp->p == '{') {
		pp->p++;
		while (pp->p < pp->end && *pp->p != '}') {
			if (n == size) {
				size = size ? 2 * size : 8;
				struct promparse_label *nl = realloc(l, size * sizeof(*nl));
				if (!nl) {
					perr(pp, "out of memory");
					goto out;
				}
				l = nl;
			}
			l[n].name = pp_name(pp, false);
			if (!l[n].name) {
				perr(pp, "invalid label name of %s", name);
				goto out;
			}
			if (pp->p == pp->end || *pp->p != '=' || ++pp->p == pp->end ||
			    *pp->p != '"') {
				free(l[n].name);
				perr(pp, "expected =\" after a label name of %s", name);
				goto out;
			}
			l[n].value = pp_label_value(pp);
			if (!l[n].value) {
				free(l[n].name);
				goto out;
			}
			n++;
			if (!strcmp(l[n - 1].name, "__name__") ||
			    !strncmp(l[n - 1].name, "__", 2)) {
				perr(pp, "reserved label name of %s", name);
				goto out;
			}
			for (size_t i = 0; i + 1 < n; i++)
				if (!strcmp(l[i].name, l[n - 1].name)) {
					perr(pp, "duplicate label name of %s", name);
					goto out;
				}
			if (pp->p < pp->end && *pp->p == ',') {
				pp->p++;
				if (pp->p < pp->end && *pp->p == '}') {
					perr(pp, "trailing comma in the labels of %s", name);
					goto out;
				}
			} else if (pp->p == pp->end || *pp->p != '}') {
				perr(pp, "expected , or } in the labels of %s", name);
				goto out;
			}
		}
		if (pp->p == pp->end) {
			perr(pp, "labels of %s not closed", name);
			goto out;
		}
		pp->p++;
	}
	if (pp->p == pp->end || *pp->p != ' ') {
		perr(pp, "expected one space before the value of %s", name);
		goto out;
	}
	const char *vs = ++pp->p;
	while (pp->p < pp->end && *pp->p != ' ')
		pp->p++;
	val = strndup(vs, (size_t)(pp->p - vs));
	if (!val || !pp_number(val, &v)) {
		perr(pp, "invalid value of %s", name);
		goto out;
	}
	if (pp->p < pp->end) {
		const char *ts = ++pp->p;
		if (ts < pp->end && (*ts == '-' || *ts == '+'))
			ts++;
		if (ts == pp->end) {
			perr(pp, "blank after the value of %s", name);
			goto out;
		}
		for (const char *s = ts; s < pp->end; s++)
			if (!pp_digit(*s)) {
				perr(pp, "invalid timestamp of %s", name);
				goto out;
			}
		char *t = strndup(pp->p, (size_t)(pp->end - pp->p));
		errno = 0;
		(void)strtoll(t ? t : "", NULL, 10);
		bool range = errno == ERANGE;
		free(t);
		if (!t || range) {
			perr(pp, "timestamp of %s out of range", name);
			goto out;
		}
	}
	f = pp_resolve(pp, name, &suffix);
	if (!f) {
		perr(pp, "sample %s without HELP and TYPE", name);
		goto out;
	}
	if (!pp_enter(pp, f) || !pp_sample_rules(pp, f, suffix, l, n, v))
		goto out;
	if (pp->cb) {
		struct promparse_sample s = {f->name, f->type, name, l, n, v};
		pp->cb(pp->ctx, &s);
	}
	key = pp_series_key(name, l, n, &klen);
	if (!key || !pp_series_add(pp, key, klen, &oom)) {
		if (!key || oom)
			perr(pp, "out of memory");
		else
			perr(pp, "duplicate series of %s", name);
		goto out;
	}
	f->samples = true;
	pp->res->samples++;
	ok = true;
out:
	pp_free_labels(l, n);
	free(name);
	free(val);
	return ok;
}

static bool pp_line(struct pp *pp)
{
	if (pp->p == pp->end)
		return true; /* empty lines are ignored */
	if (*pp->p != '#')
		return pp_sample(pp);
	pp->p++;
	while (pp->p < pp->end && (*pp->p == ' ' || *pp->p == '\t'))
		pp->p++;
	const char *kw = pp->p;
	while (pp->p < pp->end && *pp->p != ' ' && *pp->p != '\t')
		pp->p++;
	size_t kl = (size_t)(pp->p - kw);
	if (kl == 4 && (!memcmp(kw, "HELP", 4) || !memcmp(kw, "TYPE", 4)))
		return pp_meta(pp, kw[0] == 'H');
	return true; /* any other comment */
}

/*
 * Checks text (len bytes). Returns 0, or -1 with res->line and res->msg saying why. cb (may
 * be NULL) sees every sample that passed.
 */
int promparse(const char *text, size_t len, struct promparse_result *res, promparse_cb cb,
	      void *ctx)
{
	struct pp pp = {.res = res, .cb = cb, .ctx = ctx};
	const char *s = text, *e = text + len;
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (memchr(text, '\0', len)) {
		snprintf(res->msg, sizeof(res->msg), "NUL byte in the text");
		res->line = 1;
		for (const char *c = text; *c; c++)
			res->line += *c == '\n';
		return -1;
	}
	while (s < e) {
		const char *nl = memchr(s, '\n', (size_t)(e - s));
		res->line++;
		if (!nl) {
			snprintf(res->msg, sizeof(res->msg), "last line without a newline");
			r = -1;
			break;
		}
		pp.p = s;
		pp.end = nl;
		if (!pp_line(&pp)) {
			r = -1;
			break;
		}
		s = nl + 1;
	}
	for (size_t i = 0; i < pp.n_fam; i++) {
		res->families += pp.fam[i].samples;
		free(pp.fam[i].name);
	}
	free(pp.fam);
	for (size_t i = 0; i < pp.series_size; i++)
		free(pp.series[i]);
	free(pp.series);
	if (!r)
		res->line = 0;
	return r;
}

#ifndef PROMPARSE_NO_MAIN
int main(int argc, char **argv)
{
	FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
	struct promparse_result res;
	size_t len = 0, size = 65536, n;
	char *text = malloc(size);

	if (!f || !text) {
		perror(argc > 1 ? argv[1] : "promparse");
		return 2;
	}
	while ((n = fread(text + len, 1, size - len, f)) > 0) {
		len += n;
		if (len == size) {
			char *t = realloc(text, size *= 2);
			if (!t) {
				perror("promparse");
				return 2;
			}
			text = t;
		}
	}
	if (promparse(text, len, &res, NULL, NULL)) {
		fprintf(stderr, "%s:%u: %s\n", argc > 1 ? argv[1] : "<stdin>", res.line, res.msg);
		return 1;
	}
	printf("ok: %zu families, %zu samples\n", res.families, res.samples);
	free(text);
	return 0;
}
#endif

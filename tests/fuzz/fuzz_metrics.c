// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_metrics.c - libFuzzer target for the text format writer (metrics.h) and the strict
 * checker of tests/tools/promparse.c: the input is read twice, as a text for the checker
 * (which must not crash and must give the same answer twice) and as a program of writer
 * calls; whenever the writer reports no error, the checker must accept what it wrote, and
 * whenever it reports one, it hands out nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/metrics.h"

#define PROMPARSE_NO_MAIN
#include "../tools/promparse.c"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t byte(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* A string: one of a few useful ones, or up to 15 raw bytes (a NUL ends it early). */
static const char *str(struct in *in, char buf[16], const char *const *dict, size_t n_dict)
{
	uint8_t b = byte(in);

	if (b < 0xf0)
		return dict[b % n_dict];
	size_t len = b & 15;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)byte(in);
	buf[len] = '\0';
	return buf;
}

static double value(struct in *in)
{
	static const double special[] = {0, 1, -1, 0.5, 1e300, -2.5e-300, 1.0 / 3.0};
	uint8_t b = byte(in);
	uint64_t bits = 0;
	double v;

	if (b < 0x80)
		return special[b % ARRAY_SIZE(special)];
	for (int i = 0; i < 8; i++)
		bits = bits << 8 | byte(in);
	memcpy(&v, &bits, sizeof(v)); /* NaN, infinities and denormals included */
	return v;
}

static void program(struct in *in)
{
	static const char *const names[] = {"a",	"b",	   "a_sum", "a_count",
					    "a_bucket", "b_total", ":x",    "a_total"};
	static const char *const helps[] = {"Help.", "with \\ and\nnewline", "\"quoted\"", "ü"};
	static const char *const lnames[] = {"le", "quantile", "x", "y", "__z", "peer"};
	static const char *const lvalues[] = {"0.5", "+Inf", "", "a\"b\\c\nd", "1e400", "-Inf"};
	char nb[16], hb[16], lb[8][16], vb[8][16];
	struct metrics_label labels[8];
	struct metrics_writer w;
	size_t cap = (size_t)byte(in) * 64; /* 0: the default */

	metrics_writer_init(&w, cap);
	while (in->n) {
		uint8_t op = byte(in);
		const char *name = str(in, nb, names, ARRAY_SIZE(names));
		if (op % 3 == 0) {
			const char *help = str(in, hb, helps, ARRAY_SIZE(helps));
			metrics_family(&w, name, (enum metrics_type)(byte(in) % 6), help);
			continue;
		}
		size_t n = byte(in) % 4;
		for (size_t i = 0; i < n; i++) {
			labels[i].name = str(in, lb[i], lnames, ARRAY_SIZE(lnames));
			labels[i].value = str(in, vb[i], lvalues, ARRAY_SIZE(lvalues));
		}
		if (op % 3 == 1)
			metrics_sample(&w, name, labels, n, value(in));
		else
			metrics_sample_u64(&w, name, labels, n, (uint64_t)byte(in) << (op & 56));
	}
	int err = metrics_err(&w);
	CHECK(err == 0 || err == -EINVAL || err == -EMSGSIZE || err == -ENOMEM);
	CHECK(w.len <= w.cap);
	size_t len;
	char *text = metrics_writer_take(&w, &len);
	if (err) {
		CHECK(!text && len == 0);
		return;
	}
	CHECK(text && strlen(text) == len);
	struct promparse_result res;
	CHECK(promparse(text, len, &res, NULL, NULL) == 0);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct promparse_result a, b;
	struct in in = {data, size};

	int ra = promparse((const char *)data, size, &a, NULL, NULL);
	int rb = promparse((const char *)data, size, &b, NULL, NULL);
	CHECK(ra == rb && a.line == b.line && !strcmp(a.msg, b.msg));
	CHECK(ra == 0 ? a.line == 0 && a.families <= a.samples : a.line > 0 && a.msg[0]);
	program(&in);
	return 0;
}

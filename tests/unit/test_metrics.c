// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_metrics.c - the Prometheus endpoint: the text format writer (escaping, names, values,
 * HELP/TYPE once, families in one piece, limits), the node's page end to end (exact text,
 * the strict checker tests/tools/promparse.c, promtool when installed), the checker itself,
 * and a real server on the loopback driven by a loop as the node's: 200/404/405/500, HEAD,
 * keep-alive and pipelining, idle time-out, the connection limit, binding, IPv6.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/metrics.h"

#define PROMPARSE_NO_MAIN
#include "../tools/promparse.c"

/* ---- the writer ---- */

static char *take(struct metrics_writer *w)
{
	size_t len;
	char *s = metrics_writer_take(w, &len);

	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	return s;
}

static void check_valid(const char *text)
{
	struct promparse_result res;

	if (promparse(text, strlen(text), &res, NULL, NULL))
		fail_msg("promparse: line %u: %s\n%s", res.line, res.msg, text);
}

static void test_names(void **state)
{
	(void)state;
	static const char *const good[] = {
	    "a", "_", ":", "a:b_c9", "meshvpn_peer_rx_bytes_total", "A_Z:0"};
	static const char *const bad[] = {"", "9a", "a-b", "a b", "a.b", "ä", "a\n", "{a}"};
	char longname[METRICS_NAME_MAX + 2];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_true(metrics_name_valid(good[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_false(metrics_name_valid(bad[i]));
	assert_false(metrics_name_valid(NULL));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[METRICS_NAME_MAX + 1] = '\0';
	assert_false(metrics_name_valid(longname));
	longname[METRICS_NAME_MAX] = '\0';
	assert_true(metrics_name_valid(longname));

	assert_true(metrics_label_name_valid("peer"));
	assert_true(metrics_label_name_valid("_x9"));
	assert_true(metrics_label_name_valid("le"));
	assert_false(metrics_label_name_valid("a:b")); /* colons only in metric names */
	assert_false(metrics_label_name_valid("__name__"));
	assert_false(metrics_label_name_valid("__x"));
	assert_false(metrics_label_name_valid("1a"));
	assert_false(metrics_label_name_valid(""));
	assert_false(metrics_label_name_valid(NULL));
}

static void test_format_double(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *s;
	} cases[] = {
	    {0.0, "0"},
	    {-0.0, "-0"},
	    {1.0, "1"},
	    {-1.0, "-1"},
	    {1e6, "1000000"},
	    {0.5, "0.5"},
	    {0.1, "0.1"},
	    {0.0125, "0.0125"},
	    {1.5e-7, "1.5e-07"},
	    {1.0 / 3.0, "0.3333333333333333"},
	    {2.0 / 3.0, "0.6666666666666666"},
	    {0.1 + 0.2, "0.30000000000000004"},
	    {123.456, "123.456"},
	    {9007199254740992.0, "9007199254740992"}, /* 2^53: still an exact integer */
	    {9007199254740994.0, "9007199254740994"}, /* past it: %g, shortest form */
	    {18446744073709551616.0, "1.8446744073709552e+19"},
	    {1e300, "1e+300"},
	    {-2.5e-300, "-2.5e-300"},
	    {1.7976931348623157e308, "1.7976931348623157e+308"},
	    {4.9406564584124654e-324, "4.94065645841247e-324"},
	};
	char buf[METRICS_NUM_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_string_equal(metrics_format_double(cases[i].v, buf), cases[i].s);
		/* every form reads back as the same double (the sign of zero included) */
		double back = strtod(buf, NULL);
		assert_true(back == cases[i].v && signbit(back) == signbit(cases[i].v));
	}
	assert_string_equal(metrics_format_double(NAN, buf), "NaN");
	assert_string_equal(metrics_format_double(INFINITY, buf), "+Inf");
	assert_string_equal(metrics_format_double(-INFINITY, buf), "-Inf");
}

static void test_page(void **state)
{
	(void)state;
	struct metrics_writer w;
	char *s;

	metrics_writer_init(&w, 0);
	metrics_family(&w, "t_requests_total", METRICS_COUNTER, "Requests, by \"path\"\\code\nok.");
	metrics_sample_u64(&w, "t_requests_total",
			   METRICS_L({"path", "/a\"b\\c\nd"}, {"code", "200"}), UINT64_MAX);
	/* the same family again: no second HELP or TYPE */
	metrics_family(&w, "t_requests_total", METRICS_COUNTER, "Requests, by \"path\"\\code\nok.");
	metrics_sample_u64(&w, "t_requests_total", METRICS_L({"path", "ü"}, {"code", "404"}), 0);
	metrics_family(&w, "t_empty", METRICS_GAUGE, "Never sampled: no trace."); /* lazy header */
	metrics_family(&w, "t_temp_celsius", METRICS_GAUGE, "A gauge.");
	metrics_sample(&w, "t_temp_celsius", NULL, 0, -12.5);
	metrics_sample(&w, "t_temp_celsius", METRICS_L({"where", ""}), NAN);
	metrics_sample(&w, "t_temp_celsius", METRICS_L({"where", "x"}), INFINITY);
	metrics_family(&w, "t_x", METRICS_UNTYPED, "Untyped.");
	metrics_sample(&w, "t_x", NULL, 0, -INFINITY);
	metrics_family(&w, "t_latency_seconds", METRICS_HISTOGRAM, "A histogram.");
	metrics_sample_u64(&w, "t_latency_seconds_bucket", METRICS_L({"le", "0.1"}), 1);
	metrics_sample_u64(&w, "t_latency_seconds_bucket", METRICS_L({"le", "+Inf"}), 2);
	metrics_sample(&w, "t_latency_seconds_sum", NULL, 0, 0.25);
	metrics_sample_u64(&w, "t_latency_seconds_count", NULL, 0, 2);
	metrics_family(&w, "t_size_bytes", METRICS_SUMMARY, "A summary.");
	metrics_sample(&w, "t_size_bytes", METRICS_L({"quantile", "0.5"}), 100);
	metrics_sample(&w, "t_size_bytes_sum", NULL, 0, 300);
	metrics_sample_u64(&w, "t_size_bytes_count", NULL, 0, 3);
	assert_int_equal(metrics_err(&w), 0);
	s = take(&w);
	assert_string_equal(s, "# HELP t_requests_total Requests, by \"path\"\\\\code\\nok.\n"
			       "# TYPE t_requests_total counter\n"
			       "t_requests_total{path=\"/a\\\"b\\\\c\\nd\",code=\"200\"} "
			       "18446744073709551615\n"
			       "t_requests_total{path=\"ü\",code=\"404\"} 0\n"
			       "# HELP t_temp_celsius A gauge.\n"
			       "# TYPE t_temp_celsius gauge\n"
			       "t_temp_celsius -12.5\n"
			       "t_temp_celsius{where=\"\"} NaN\n"
			       "t_temp_celsius{where=\"x\"} +Inf\n"
			       "# HELP t_x Untyped.\n"
			       "# TYPE t_x untyped\n"
			       "t_x -Inf\n"
			       "# HELP t_latency_seconds A histogram.\n"
			       "# TYPE t_latency_seconds histogram\n"
			       "t_latency_seconds_bucket{le=\"0.1\"} 1\n"
			       "t_latency_seconds_bucket{le=\"+Inf\"} 2\n"
			       "t_latency_seconds_sum 0.25\n"
			       "t_latency_seconds_count 2\n"
			       "# HELP t_size_bytes A summary.\n"
			       "# TYPE t_size_bytes summary\n"
			       "t_size_bytes{quantile=\"0.5\"} 100\n"
			       "t_size_bytes_sum 300\n"
			       "t_size_bytes_count 3\n");
	check_valid(s);
	free(s);
	/* series: the same labels in another family, and enough of them to grow the table */
	metrics_family(&w, "t_s1", METRICS_GAUGE, "S1.");
	metrics_family(&w, "t_s2", METRICS_GAUGE, "S2.");
	for (unsigned i = 0; i < 1000; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%u", i);
		metrics_sample(&w, "t_s2", METRICS_L({"i", v}, {"j", "x"}), i);
		metrics_sample(&w, "t_s2", METRICS_L({"j", v}, {"i", "x"}), i);
	}
	metrics_family(&w, "t_s3", METRICS_GAUGE, "S3.");
	metrics_sample(&w, "t_s3", METRICS_L({"i", "1"}, {"j", "x"}), 1);
	assert_int_equal(metrics_err(&w), 0);
	s = take(&w);
	check_valid(s);
	free(s);
	/* the writer is reusable after take */
	metrics_family(&w, "t_again", METRICS_GAUGE, "Again.");
	metrics_sample(&w, "t_again", NULL, 0, 1);
	s = take(&w);
	assert_string_equal(s, "# HELP t_again Again.\n# TYPE t_again gauge\nt_again 1\n");
	free(s);
}

static void test_empty(void **state)
{
	(void)state;
	struct metrics_writer w;
	size_t len = 99;
	char *s;

	metrics_writer_init(&w, 0);
	s = metrics_writer_take(&w, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	metrics_family(&w, "t_a", METRICS_GAUGE, "Not sampled.");
	s = metrics_writer_take(&w, &len);
	assert_string_equal(s, "");
	free(s);
	metrics_writer_free(NULL);
}

/* Runs one misuse on a fresh writer that already holds a valid family t_ok. */
typedef void (*misuse_fn)(struct metrics_writer *w);

static void bad_name(struct metrics_writer *w)
{
	metrics_family(w, "t-bad", METRICS_GAUGE, "x");
}
static void bad_help_empty(struct metrics_writer *w)
{
	metrics_family(w, "t_b", METRICS_GAUGE, "");
}
static void bad_help_blank(struct metrics_writer *w)
{
	metrics_family(w, "t_b", METRICS_GAUGE, " x");
}
static void bad_help_null(struct metrics_writer *w)
{
	metrics_family(w, "t_b", METRICS_GAUGE, NULL);
}
static void bad_help_utf8(struct metrics_writer *w)
{
	metrics_family(w, "t_b", METRICS_GAUGE, "bad \xc3\x28");
}
static void bad_type(struct metrics_writer *w)
{
	metrics_family(w, "t_b", (enum metrics_type)17, "x");
}
static void bad_redeclare(struct metrics_writer *w)
{
	metrics_family(w, "t_ok", METRICS_COUNTER, "Fine."); /* t_ok is a gauge */
}
static void bad_rehelp(struct metrics_writer *w)
{
	metrics_family(w, "t_ok", METRICS_GAUGE, "Other.");
}
static void bad_split(struct metrics_writer *w)
{
	metrics_family(w, "t_b", METRICS_GAUGE, "x");
	metrics_sample(w, "t_b", NULL, 0, 1);
	metrics_family(w, "t_ok", METRICS_GAUGE, "Fine.");
}
static void bad_wrong_sample(struct metrics_writer *w)
{
	metrics_sample(w, "t_other", NULL, 0, 1);
}
static void bad_sample_suffix(struct metrics_writer *w)
{
	metrics_sample(w, "t_ok_sum", NULL, 0, 1); /* only summaries and histograms have parts */
}
static void bad_label_name(struct metrics_writer *w)
{
	metrics_sample(w, "t_ok", METRICS_L({"a-b", "x"}), 1);
}
static void bad_label_reserved(struct metrics_writer *w)
{
	metrics_sample(w, "t_ok", METRICS_L({"__name__", "x"}), 1);
}
static void bad_label_dup(struct metrics_writer *w)
{
	metrics_sample(w, "t_ok", METRICS_L({"a", "x"}, {"b", "y"}, {"a", "z"}), 1);
}
static void bad_label_value_null(struct metrics_writer *w)
{
	metrics_sample(w, "t_ok", METRICS_L({"a", NULL}), 1);
}
static void bad_label_value_utf8(struct metrics_writer *w)
{
	metrics_sample(w, "t_ok", METRICS_L({"a", "\xed\xa0\x80"}), 1); /* a surrogate */
}
static void bad_labels_null(struct metrics_writer *w)
{
	metrics_sample(w, "t_ok", NULL, 1, 1);
}
static void bad_hist_no_le(struct metrics_writer *w)
{
	metrics_family(w, "t_h", METRICS_HISTOGRAM, "x");
	metrics_sample(w, "t_h_bucket", NULL, 0, 1);
}
static void bad_hist_le_text(struct metrics_writer *w)
{
	metrics_family(w, "t_h", METRICS_HISTOGRAM, "x");
	metrics_sample(w, "t_h_bucket", METRICS_L({"le", "lots"}), 1);
}
static void bad_hist_plain(struct metrics_writer *w)
{
	metrics_family(w, "t_h", METRICS_HISTOGRAM, "x");
	metrics_sample(w, "t_h", NULL, 0, 1);
}
static void bad_hist_sum_le(struct metrics_writer *w)
{
	metrics_family(w, "t_h", METRICS_HISTOGRAM, "x");
	metrics_sample(w, "t_h_sum", METRICS_L({"le", "1"}), 1);
}
static void bad_summary_no_quantile(struct metrics_writer *w)
{
	metrics_family(w, "t_s", METRICS_SUMMARY, "x");
	metrics_sample(w, "t_s", NULL, 0, 1);
}
static void bad_collision_after(struct metrics_writer *w)
{
	metrics_family(w, "t_h", METRICS_HISTOGRAM, "x");
	metrics_family(w, "t_h_count", METRICS_GAUGE, "x");
}
static void bad_collision_before(struct metrics_writer *w)
{
	metrics_family(w, "t_s_sum", METRICS_GAUGE, "x");
	metrics_family(w, "t_s", METRICS_SUMMARY, "x");
}
static void bad_negative_counter(struct metrics_writer *w)
{
	metrics_family(w, "t_c_total", METRICS_COUNTER, "x");
	metrics_sample(w, "t_c_total", NULL, 0, -0.5);
}
static void bad_duplicate(struct metrics_writer *w)
{
	metrics_sample(w, "t_ok", NULL, 0, 2); /* t_ok without labels is there */
}
static void bad_duplicate_order(struct metrics_writer *w)
{
	metrics_family(w, "t_d", METRICS_GAUGE, "x");
	metrics_sample(w, "t_d", METRICS_L({"a", "1"}, {"b", "2"}), 1);
	metrics_sample(w, "t_d", METRICS_L({"a", "2"}, {"b", "1"}), 1);
	metrics_sample(w, "t_d", METRICS_L({"b", "2"}, {"a", "1"}), 1);
}
static void bad_no_family(struct metrics_writer *w)
{
	struct metrics_writer fresh;

	metrics_writer_init(&fresh, 0);
	metrics_sample(&fresh, "t_ok", NULL, 0, 1);
	w->err = fresh.err;
	metrics_writer_free(&fresh);
}

static void test_misuse(void **state)
{
	(void)state;
	static const misuse_fn cases[] = {
	    bad_name,
	    bad_help_empty,
	    bad_help_null,
	    bad_help_utf8,
	    bad_type,
	    bad_redeclare,
	    bad_rehelp,
	    bad_split,
	    bad_wrong_sample,
	    bad_sample_suffix,
	    bad_label_name,
	    bad_label_reserved,
	    bad_label_dup,
	    bad_label_value_null,
	    bad_label_value_utf8,
	    bad_labels_null,
	    bad_hist_no_le,
	    bad_hist_le_text,
	    bad_hist_plain,
	    bad_hist_sum_le,
	    bad_summary_no_quantile,
	    bad_collision_after,
	    bad_collision_before,
	    bad_no_family,
	    bad_negative_counter,
	    bad_duplicate,
	    bad_duplicate_order,
	    bad_help_blank,
	};
	struct metrics_writer w;
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		metrics_writer_init(&w, 0);
		metrics_family(&w, "t_ok", METRICS_GAUGE, "Fine.");
		metrics_sample(&w, "t_ok", NULL, 0, 1);
		size_t before = w.len;
		cases[i](&w);
		if (metrics_err(&w) != -EINVAL)
			fail_msg("misuse %zu: err %d", i, metrics_err(&w));
		/* sticky: nothing more is written, and the page is not handed out */
		metrics_family(&w, "t_later", METRICS_GAUGE, "x");
		metrics_sample(&w, "t_later", NULL, 0, 1);
		assert_true(w.len <= before + 200);
		assert_null(strstr(w.buf, "t_later"));
		assert_int_equal(metrics_err(&w), -EINVAL);
		assert_null(metrics_writer_take(&w, &len));
		assert_int_equal(len, 0);
	}
}

static void test_cap(void **state)
{
	(void)state;
	static const char page[] = "# HELP t_a A.\n# TYPE t_a gauge\nt_a 1\n";
	struct metrics_writer w;
	char *s;

	/* exactly the page fits */
	metrics_writer_init(&w, sizeof(page) - 1);
	metrics_family(&w, "t_a", METRICS_GAUGE, "A.");
	metrics_sample(&w, "t_a", NULL, 0, 1);
	s = take(&w);
	assert_string_equal(s, page);
	free(s);
	/* one byte less does not */
	metrics_writer_init(&w, sizeof(page) - 2);
	metrics_family(&w, "t_a", METRICS_GAUGE, "A.");
	metrics_sample(&w, "t_a", NULL, 0, 1);
	assert_int_equal(metrics_err(&w), -EMSGSIZE);
	assert_true(w.len <= sizeof(page) - 2);
	metrics_writer_free(&w);
	/* growth past the first allocation, up to a cap of 64 KiB */
	metrics_writer_init(&w, 65536);
	metrics_family(&w, "t_b", METRICS_GAUGE, "B.");
	char v[16];
	unsigned n = 0;
	while (!metrics_err(&w)) {
		snprintf(v, sizeof(v), "%u", n++);
		metrics_sample(&w, "t_b", METRICS_L({"i", v}), 1);
	}
	assert_int_equal(metrics_err(&w), -EMSGSIZE);
	assert_true(n > 2000 && w.len <= 65536 && w.size <= 65537);
	metrics_writer_free(&w);
}

/* ---- the node's page ---- */

static const struct metrics_count invalid[] = {{"bad-header", 3}, {"replay", 1}};
static const struct metrics_count drops[] = {{"no-route", 7}};
static const struct metrics_count handshakes[] = {{"ok", 5}, {"failed", 2}, {"timeout", 0}};
static const struct metrics_count peer_drops[] = {{"rate-limit", 4}, {"acl", 1}};
static const struct metrics_count client_drops[] = {{"acl", 2}};
static const struct metrics_count connections[] = {{"udp", 3}, {"websocket", 1}};
static const struct metrics_party peers[] = {
    {"192.0.2.1:3210", {1000, 2000, 10, 20}, true, 0.0125, NULL, 0},
    {"[2001:db8::1]:3210", {UINT64_MAX, 0, 1, 0}, false, 0, peer_drops, 2},
};
static const struct metrics_party clients[] = {
    {"alice", {500, 600, 5, 6}, true, 0.25, client_drops, 1},
    {"bob", {0, 0, 0, 0}, false, 0, NULL, 0},
};

static struct metrics_node_view node_view(bool hub)
{
	struct metrics_node_view v = {
	    .version = "0.1.0",
	    .traffic = {123456789, 987654321, 1000, 2000},
	    .invalid = invalid,
	    .n_invalid = ARRAY_SIZE(invalid),
	    .drops = drops,
	    .n_drops = ARRAY_SIZE(drops),
	    .handshakes = handshakes,
	    .n_handshakes = ARRAY_SIZE(handshakes),
	    .rotations = 42,
	    .peers = peers,
	    .n_peers = ARRAY_SIZE(peers),
	    .hub = hub,
	    .clients_active = 1,
	    .connections = connections,
	    .n_connections = ARRAY_SIZE(connections),
	    .clients = clients,
	    .n_clients = ARRAY_SIZE(clients),
	};
	return v;
}

static const char node_page[] =
    "# HELP meshvpn_build_info Version of the running node (value 1).\n"
    "# TYPE meshvpn_build_info gauge\n"
    "meshvpn_build_info{version=\"0.1.0\"} 1\n"
    "# HELP meshvpn_rx_bytes_total Bytes received from the network.\n"
    "# TYPE meshvpn_rx_bytes_total counter\n"
    "meshvpn_rx_bytes_total 123456789\n"
    "# HELP meshvpn_tx_bytes_total Bytes sent to the network.\n"
    "# TYPE meshvpn_tx_bytes_total counter\n"
    "meshvpn_tx_bytes_total 987654321\n"
    "# HELP meshvpn_rx_packets_total Datagrams received from the network.\n"
    "# TYPE meshvpn_rx_packets_total counter\n"
    "meshvpn_rx_packets_total 1000\n"
    "# HELP meshvpn_tx_packets_total Datagrams sent to the network.\n"
    "# TYPE meshvpn_tx_packets_total counter\n"
    "meshvpn_tx_packets_total 2000\n"
    "# HELP meshvpn_invalid_datagrams_total Datagrams dropped as invalid (forged, replayed, "
    "malformed), by reason.\n"
    "# TYPE meshvpn_invalid_datagrams_total counter\n"
    "meshvpn_invalid_datagrams_total{reason=\"bad-header\"} 3\n"
    "meshvpn_invalid_datagrams_total{reason=\"replay\"} 1\n"
    "# HELP meshvpn_drops_total Packets dropped that no single peer or client accounts for, "
    "by reason.\n"
    "# TYPE meshvpn_drops_total counter\n"
    "meshvpn_drops_total{reason=\"no-route\"} 7\n"
    "# HELP meshvpn_handshakes_total Handshakes finished, by result.\n"
    "# TYPE meshvpn_handshakes_total counter\n"
    "meshvpn_handshakes_total{result=\"ok\"} 5\n"
    "meshvpn_handshakes_total{result=\"failed\"} 2\n"
    "meshvpn_handshakes_total{result=\"timeout\"} 0\n"
    "# HELP meshvpn_rotations_total Session key rotations completed.\n"
    "# TYPE meshvpn_rotations_total counter\n"
    "meshvpn_rotations_total 42\n"
    "# HELP meshvpn_peers Established peers.\n"
    "# TYPE meshvpn_peers gauge\n"
    "meshvpn_peers 2\n"
    "# HELP meshvpn_peer_rx_bytes_total Bytes received from a peer.\n"
    "# TYPE meshvpn_peer_rx_bytes_total counter\n"
    "meshvpn_peer_rx_bytes_total{peer=\"192.0.2.1:3210\"} 1000\n"
    "meshvpn_peer_rx_bytes_total{peer=\"[2001:db8::1]:3210\"} 18446744073709551615\n"
    "# HELP meshvpn_peer_tx_bytes_total Bytes sent to a peer.\n"
    "# TYPE meshvpn_peer_tx_bytes_total counter\n"
    "meshvpn_peer_tx_bytes_total{peer=\"192.0.2.1:3210\"} 2000\n"
    "meshvpn_peer_tx_bytes_total{peer=\"[2001:db8::1]:3210\"} 0\n"
    "# HELP meshvpn_peer_rx_packets_total Datagrams received from a peer.\n"
    "# TYPE meshvpn_peer_rx_packets_total counter\n"
    "meshvpn_peer_rx_packets_total{peer=\"192.0.2.1:3210\"} 10\n"
    "meshvpn_peer_rx_packets_total{peer=\"[2001:db8::1]:3210\"} 1\n"
    "# HELP meshvpn_peer_tx_packets_total Datagrams sent to a peer.\n"
    "# TYPE meshvpn_peer_tx_packets_total counter\n"
    "meshvpn_peer_tx_packets_total{peer=\"192.0.2.1:3210\"} 20\n"
    "meshvpn_peer_tx_packets_total{peer=\"[2001:db8::1]:3210\"} 0\n"
    "# HELP meshvpn_peer_rtt_seconds Smoothed round-trip time to a peer.\n"
    "# TYPE meshvpn_peer_rtt_seconds gauge\n"
    "meshvpn_peer_rtt_seconds{peer=\"192.0.2.1:3210\"} 0.0125\n"
    "# HELP meshvpn_peer_drops_total Packets from or to a peer dropped, by reason.\n"
    "# TYPE meshvpn_peer_drops_total counter\n"
    "meshvpn_peer_drops_total{peer=\"[2001:db8::1]:3210\",reason=\"rate-limit\"} 4\n"
    "meshvpn_peer_drops_total{peer=\"[2001:db8::1]:3210\",reason=\"acl\"} 1\n";

static const char hub_part[] =
    "# HELP meshvpn_clients_active Clients connected to this hub.\n"
    "# TYPE meshvpn_clients_active gauge\n"
    "meshvpn_clients_active 1\n"
    "# HELP meshvpn_client_connections_total Client connections accepted, by transport.\n"
    "# TYPE meshvpn_client_connections_total counter\n"
    "meshvpn_client_connections_total{transport=\"udp\"} 3\n"
    "meshvpn_client_connections_total{transport=\"websocket\"} 1\n"
    "# HELP meshvpn_client_rx_bytes_total Bytes received from a client.\n"
    "# TYPE meshvpn_client_rx_bytes_total counter\n"
    "meshvpn_client_rx_bytes_total{client=\"alice\"} 500\n"
    "meshvpn_client_rx_bytes_total{client=\"bob\"} 0\n"
    "# HELP meshvpn_client_tx_bytes_total Bytes sent to a client.\n"
    "# TYPE meshvpn_client_tx_bytes_total counter\n"
    "meshvpn_client_tx_bytes_total{client=\"alice\"} 600\n"
    "meshvpn_client_tx_bytes_total{client=\"bob\"} 0\n"
    "# HELP meshvpn_client_rx_packets_total Datagrams received from a client.\n"
    "# TYPE meshvpn_client_rx_packets_total counter\n"
    "meshvpn_client_rx_packets_total{client=\"alice\"} 5\n"
    "meshvpn_client_rx_packets_total{client=\"bob\"} 0\n"
    "# HELP meshvpn_client_tx_packets_total Datagrams sent to a client.\n"
    "# TYPE meshvpn_client_tx_packets_total counter\n"
    "meshvpn_client_tx_packets_total{client=\"alice\"} 6\n"
    "meshvpn_client_tx_packets_total{client=\"bob\"} 0\n"
    "# HELP meshvpn_client_rtt_seconds Smoothed round-trip time to a client.\n"
    "# TYPE meshvpn_client_rtt_seconds gauge\n"
    "meshvpn_client_rtt_seconds{client=\"alice\"} 0.25\n"
    "# HELP meshvpn_client_drops_total Packets from or to a client dropped, by reason.\n"
    "# TYPE meshvpn_client_drops_total counter\n"
    "meshvpn_client_drops_total{client=\"alice\",reason=\"acl\"} 2\n";

static char *node_text(bool hub)
{
	struct metrics_node_view v = node_view(hub);
	struct metrics_writer w;

	metrics_writer_init(&w, 0);
	metrics_write_node(&w, &v);
	assert_int_equal(metrics_err(&w), 0);
	return take(&w);
}

/* What promparse saw of each family: its samples' label names must be the table's. */
struct seen {
	bool family[64];
	size_t samples;
};

static void on_sample(void *ctx, const struct promparse_sample *s)
{
	struct seen *seen = ctx;
	size_t i;
	char labels[128] = "";

	for (i = 0; i < metrics_node_n_families; i++)
		if (!strcmp(metrics_node_families[i].name, s->family))
			break;
	if (i == metrics_node_n_families)
		fail_msg("family %s is not in metrics_node_families", s->family);
	assert_string_equal(s->name, s->family);
	assert_int_equal(s->type, (int)metrics_node_families[i].type);
	/* in the order written, as the table lists them */
	for (size_t k = 0; k < s->n_labels; k++) {
		if (k)
			strcat(labels, ",");
		strcat(labels, s->labels[k].name);
	}
	assert_string_equal(labels, metrics_node_families[i].labels);
	seen->family[i] = true;
	seen->samples++;
}

static void test_node_page(void **state)
{
	(void)state;
	struct promparse_result res;
	struct seen seen = {0};
	char *s;

	assert_true(metrics_node_n_families <= ARRAY_SIZE(seen.family));
	/* a plain node: no client families */
	s = node_text(false);
	assert_string_equal(s, node_page);
	assert_int_equal(promparse(s, strlen(s), &res, on_sample, &seen), 0);
	for (size_t i = 0; i < metrics_node_n_families; i++)
		assert_int_equal(seen.family[i], !metrics_node_families[i].hub_only);
	free(s);
	/* a hub: every family */
	memset(&seen, 0, sizeof(seen));
	s = node_text(true);
	assert_int_equal(strncmp(s, node_page, strlen(node_page)), 0);
	assert_string_equal(s + strlen(node_page), hub_part);
	assert_int_equal(promparse(s, strlen(s), &res, on_sample, &seen), 0);
	for (size_t i = 0; i < metrics_node_n_families; i++)
		assert_true(seen.family[i]);
	assert_int_equal(res.families, metrics_node_n_families);
	assert_int_equal(res.samples, seen.samples);
	free(s);

	/* a node without peers: the families of peers leave no trace, the rest is there */
	struct metrics_node_view v = {.version = NULL};
	struct metrics_writer w;
	metrics_writer_init(&w, 0);
	metrics_write_node(&w, &v);
	s = take(&w);
	assert_non_null(strstr(s, "meshvpn_build_info{version=\"" MESHVPN_VERSION "\"} 1\n"));
	assert_non_null(strstr(s, "\nmeshvpn_peers 0\n"));
	assert_null(strstr(s, "meshvpn_peer_"));
	check_valid(s);
	free(s);
	/* inconsistent views are refused, not crashed on */
	v.n_peers = 1;
	metrics_writer_init(&w, 0);
	metrics_write_node(&w, &v);
	assert_int_equal(metrics_err(&w), -EINVAL);
	metrics_writer_free(&w);
}

/* promtool check metrics < text: its exit status, or -1 when it could not run. */
static int promtool(const char *text)
{
	FILE *p = popen("promtool check metrics", "w");

	if (!p)
		return -1;
	fputs(text, p);
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_node_page_promtool(void **state)
{
	(void)state;
	char *s;

	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		print_message("promtool (Debian package prometheus) not installed: skipped\n");
		skip();
	}
	s = node_text(true);
	assert_int_equal(promtool(s), 0);
	free(s);
	/* the check can fail: a sample without HELP, a TYPE after the samples */
	assert_int_not_equal(promtool("meshvpn_x_total 1\n"), 0);
	assert_int_not_equal(promtool("# HELP a A.\n# TYPE a gauge\na 1\n# TYPE a gauge\n"), 0);
}

/* The checker itself: what it must refuse, and that it takes what it must. */
static void test_promparse(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		unsigned line;
	} bad[] = {
	    {"a 1\n", 1},			     /* no HELP/TYPE */
	    {"# HELP a A.\na 1\n", 2},		     /* no TYPE */
	    {"# TYPE a gauge\na 1\n", 2},	     /* no HELP */
	    {"# HELP a A.\n# TYPE a gauge\na 1", 3}, /* no newline at the end */
	    {"# HELP a A.\n# HELP a B.\n", 2},	     /* second HELP */
	    {"# HELP a A.\n# TYPE a gauge\n# TYPE a gauge\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na 1\n# HELP a B.\n", 4},
	    {"# HELP a\n", 1},			   /* no text */
	    {"# HELP a x\\t\n", 1},		   /* bad escape */
	    {"# HELP a \xff\n", 1},		   /* not UTF-8 */
	    {"# HELP a A.\n# TYPE a Gauge\n", 2},  /* upper case */
	    {"# HELP a A.\n# TYPE a gauge \n", 2}, /* trailing blank */
	    {"# HELP a A.\n# TYPE a meter\n", 2},
	    {"# HELP 9a A.\n", 1},
	    {"# HELP a-b A.\n", 1},
	    {"# HELP a A.\n# TYPE a gauge\na 1\na 2\n", 4}, /* duplicate series */
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 1\n", 4},
	    {"# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\na{x=\"1\"} 1\n",
	     7}, /* split family */
	    {"# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# HELP a A.\n", 5},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"1\\q\"} 1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"1\n", 3}, /* raw newline in a value */
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"\xc3\x28\"} 1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na{x=1} 1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"1\",} 1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"1\" } 1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na{__name__=\"a\"} 1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na{__x=\"a\"} 1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na{1x=\"a\"} 1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na{x:y=\"a\"} 1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"a\"\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\n a 1\n", 3}, /* leading blank */
	    {"# HELP a A.\n# TYPE a gauge\na  1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na 1 \n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na\t1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na one\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na 1e400\n", 3}, /* overflow */
	    {"# HELP a A.\n# TYPE a gauge\na 0x10\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na 0x1p3\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na 1_000\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na Inf\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na nan\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na 1.\n# HELP b B.\n# TYPE b gauge\nb .\n", 6},
	    {"# HELP a A.\n# TYPE a gauge\na 1e\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na 1 12x\n", 3}, /* timestamp */
	    {"# HELP a A.\n# TYPE a gauge\na 1 99999999999999999999\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\na 1 2 3\n", 3},
	    {"# HELP a A.\n# TYPE a counter\na -1\n", 3}, /* negative counter */
	    {"# HELP h H.\n# TYPE h histogram\nh 1\n", 3},
	    {"# HELP h H.\n# TYPE h histogram\nh_bucket 1\n", 3},
	    {"# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", 3},
	    {"# HELP h H.\n# TYPE h histogram\nh_sum{le=\"1\"} 1\n", 3},
	    {"# HELP h H.\n# TYPE h histogram\n# TYPE h_count gauge\n", 3},
	    {"# HELP s S.\n# TYPE s summary\ns 1\n", 3},
	    {"# HELP s S.\n# TYPE s summary\ns_count{quantile=\"1\"} 1\n", 3},
	    {"# HELP a A.\n# TYPE a gauge\n{a=\"b\"} 1\n", 3},
	};
	static const char nul[] = "# HELP a A.\n# TYPE a gauge\na\0 1\n";
	static const char *const good[] = {
	    "",
	    "\n",
	    "# just a comment\n#\n",
	    "# HELP a A.\n# TYPE a gauge\na 1\n\na{x=\"\"} -2.5e-3 -1234\n",
	    "# TYPE a gauge\n# HELP a A \\\\ \\n.\n# some comment\na{x=\"\\\\\\\"\\n\"} +Inf\n",
	    "# HELP a A.\n# TYPE a untyped\na NaN\na{b=\"ü\",c=\"\"} -Inf\na{c=\"\"} .5\n",
	    "# HELP a A.\n# TYPE a counter\na 1.\na{x=\"1\"} 1E+3\na{x=\"2\"} +0\n",
	    "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 1\n"
	    "h_sum 1\nh_count 1\nh_bucket{x=\"y\",le=\"+Inf\"} 1\n",
	    "# HELP s S.\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\n",
	    /* a gauge may end in _count: it is its own family when no summary owns it */
	    "# HELP c_count C.\n# TYPE c_count gauge\nc_count 1\n",
	    "#HELP a A.\n#\tTYPE a gauge\na 1\n",
	};
	struct promparse_result res;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *t = bad[i].text;
		if (promparse(t, strlen(t), &res, NULL, NULL) == 0)
			fail_msg("bad %zu accepted: %s", i, t);
		if (res.line != bad[i].line || !res.msg[0])
			fail_msg("bad %zu: line %u (want %u): %s", i, res.line, bad[i].line,
				 res.msg);
	}
	assert_int_equal(promparse(nul, sizeof(nul) - 1, &res, NULL, NULL), -1);
	assert_int_equal(res.line, 3);
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (promparse(good[i], strlen(good[i]), &res, NULL, NULL))
			fail_msg("good %zu refused: line %u: %s", i, res.line, res.msg);
}

/* ---- the server ---- */

enum { KIND_METRICS = LOOP_KIND_USER };

struct srv {
	struct loop loop;
	struct metrics *m;
	int mode; /* what cb does */
	unsigned calls;
};

enum { CB_NODE, CB_FAIL, CB_BAD_NAME, CB_BIG };

static int cb(struct metrics_writer *w, void *ctx)
{
	struct srv *s = ctx;
	struct metrics_node_view v = node_view(true);

	s->calls++;
	switch (s->mode) {
	case CB_FAIL:
		return -EIO;
	case CB_BAD_NAME:
		metrics_family(w, "bad name", METRICS_GAUGE, "x");
		return 0;
	case CB_BIG:
		metrics_family(w, "t_big", METRICS_GAUGE, "Big.");
		for (unsigned i = 0; i < 100000 && !metrics_err(w); i++) {
			char n[16];
			snprintf(n, sizeof(n), "%u", i);
			metrics_sample(w, "t_big", METRICS_L({"i", n}), i);
		}
		return 0;
	default:
		metrics_write_node(w, &v);
		return 0;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One turn of the loop as the node runs it: metrics_run() on its source and on each tick. */
static void pump(struct srv *s, int ms)
{
	struct loop_event ev[8];
	int n = loop_wait(&s->loop, ev, 8, ms);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (ev[i].src->kind == LOOP_KIND_TIMER) {
			if (loop_timer_ack(&s->loop))
				metrics_run(s->m);
		} else {
			assert_int_equal(ev[i].src->kind, KIND_METRICS);
			metrics_run(s->m);
		}
	}
}

/* tick_ms: the loop's period (the node's is 1000 ms; longer shows what events alone do) */
static int srv_open(struct srv *s, const char *listen, const struct metrics_limits *lim,
		    unsigned tick_ms)
{
	struct addr a;
	int r;

	memset(s, 0, sizeof(*s));
	assert_int_equal(addr_parse(listen, 0, &a), 0);
	assert_int_equal(loop_init(&s->loop, tick_ms), 0);
	r = metrics_open(&a, lim, cb, s, &s->m);
	if (r) {
		assert_null(s->m);
		loop_close(&s->loop);
		return r;
	}
	metrics_src(s->m)->kind = KIND_METRICS;
	assert_int_equal(loop_add(&s->loop, metrics_src(s->m), EPOLLIN), 0);
	return 0;
}

static void srv_close(struct srv *s)
{
	loop_del(&s->loop, metrics_src(s->m));
	metrics_close(s->m);
	loop_close(&s->loop);
}

static int connect_to(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd;

	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
		len = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	/* on the loopback the kernel completes the handshake itself (backlog permitting) */
	if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/*
 * Reads fd while running the server, until the peer closes it (returns true) or ms pass
 * (false). What was read is appended to *buf (NUL-terminated, *len bytes).
 */
static bool read_until_eof(struct srv *s, int fd, char **buf, size_t *len, int ms)
{
	int64_t end = now_ms() + ms;
	char tmp[65536];

	if (!*buf) {
		*buf = calloc(1, 1);
		*len = 0;
	}
	for (;;) {
		ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
		if (n > 0) {
			*buf = realloc(*buf, *len + (size_t)n + 1);
			assert_non_null(*buf);
			memcpy(*buf + *len, tmp, (size_t)n);
			*len += (size_t)n;
			(*buf)[*len] = '\0';
			continue;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		int64_t left = end - now_ms();
		if (left <= 0)
			return false;
		pump(s, left < 20 ? (int)left : 20);
	}
}

/* True when text starts with a whole response (headers and Content-Length bytes). */
static bool complete(const char *text)
{
	const char *sep = strstr(text, "\r\n\r\n");
	const char *cl = strcasestr(text, "\r\nContent-Length: ");

	return sep && cl && cl < sep && strlen(sep + 4) >= strtoul(cl + 18, NULL, 10);
}

/* Like read_until_eof() until one whole response is in *buf (true), without the close. */
static bool read_response(struct srv *s, int fd, char **buf, size_t *len, int ms)
{
	int64_t end = now_ms() + ms;
	bool eof = false;

	while (!eof && (!*buf || !complete(*buf)) && now_ms() < end)
		eof = read_until_eof(s, fd, buf, len, 20);
	return *buf && complete(*buf) && !eof;
}

struct resp {
	int status;
	char *head; /* status line and headers */
	char *body;
	size_t body_len;
	const char *next; /* what follows the body (pipelining), in the buffer */
};

/* Splits one response at the start of text (uses Content-Length). */
static void parse_resp(char *text, struct resp *r)
{
	char *sep = strstr(text, "\r\n\r\n");

	assert_non_null(sep);
	*sep = '\0';
	r->head = text;
	r->body = sep + 4;
	assert_int_equal(sscanf(text, "HTTP/1.1 %d ", &r->status), 1);
	const char *cl = strcasestr(text, "\r\nContent-Length: ");
	assert_non_null(cl);
	r->body_len = strtoul(cl + 18, NULL, 10);
	r->next = r->body + r->body_len;
}

static const char *header(const struct resp *r, const char *name)
{
	static char v[256];
	char pat[64];

	snprintf(pat, sizeof(pat), "\r\n%s: ", name);
	const char *h = strcasestr(r->head, pat);
	if (!h)
		return NULL;
	h += strlen(pat);
	size_t n = strcspn(h, "\r");
	snprintf(v, sizeof(v), "%.*s", (int)n, h);
	return v;
}

/* One request with Connection: close; the response in *r, the buffer to free returned. */
static char *request(struct srv *s, const char *ip, const char *method, const char *path,
		     struct resp *r)
{
	char req[256], *buf = NULL;
	size_t len;
	int fd = connect_to(ip, metrics_port(s->m));

	assert_true(fd >= 0);
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
		 method, path);
	send_str(fd, req);
	assert_true(read_until_eof(s, fd, &buf, &len, 10000));
	close(fd);
	parse_resp(buf, r);
	/* nothing after the response (a HEAD has no body at all) */
	assert_int_equal(strlen(r->body), !strcmp(method, "HEAD") ? 0 : r->body_len);
	return buf;
}

static void test_http(void **state)
{
	(void)state;
	struct srv s;
	struct resp r;
	char *buf, *page = node_text(true);

	assert_int_equal(srv_open(&s, "127.0.0.1:0", NULL, 1000), 0);
	assert_true(metrics_port(s.m) != 0);
	assert_int_equal(metrics_connections(s.m), 0);
	assert_int_equal(metrics_timeout_ms(s.m), -1); /* nothing to time out */

	buf = request(&s, "127.0.0.1", "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"), METRICS_CONTENT_TYPE);
	assert_int_equal(r.body_len, strlen(page));
	assert_string_equal(r.body, page);
	check_valid(r.body);
	free(buf);
	assert_int_equal(s.calls, 1);

	/* a query string is not part of the path */
	buf = request(&s, "127.0.0.1", "GET", "/metrics?x=1", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, page);
	free(buf);

	buf = request(&s, "127.0.0.1", "HEAD", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"), METRICS_CONTENT_TYPE);
	assert_int_equal(r.body_len, strlen(page)); /* the length, without the page */
	free(buf);

	static const char *const not_found[] = {"/", "/metrics/", "/metricsx", "/other",
						"/Metrics"};
	for (size_t i = 0; i < ARRAY_SIZE(not_found); i++) {
		buf = request(&s, "127.0.0.1", "GET", not_found[i], &r);
		assert_int_equal(r.status, 404);
		free(buf);
	}
	buf = request(&s, "127.0.0.1", "POST", "/other", &r);
	assert_int_equal(r.status, 404);
	free(buf);
	static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS"};
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		buf = request(&s, "127.0.0.1", methods[i], "/metrics", &r);
		assert_int_equal(r.status, 405);
		assert_string_equal(header(&r, "Allow"), "GET, HEAD");
		free(buf);
	}
	assert_int_equal(s.calls, 3); /* only GET and HEAD of /metrics wrote the page */

	/* failing callbacks: 500, and the server goes on */
	s.mode = CB_FAIL;
	buf = request(&s, "127.0.0.1", "GET", "/metrics", &r);
	assert_int_equal(r.status, 500);
	free(buf);
	s.mode = CB_BAD_NAME;
	buf = request(&s, "127.0.0.1", "GET", "/metrics", &r);
	assert_int_equal(r.status, 500);
	free(buf);
	s.mode = CB_NODE;
	buf = request(&s, "127.0.0.1", "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	free(buf);

	/* bound to 127.0.0.1 only: another loopback address is refused */
	assert_int_equal(connect_to("127.0.0.2", metrics_port(s.m)), -ECONNREFUSED);
	srv_close(&s);
	free(page);
}

static void test_keepalive(void **state)
{
	(void)state;
	struct srv s;
	struct resp r, r2, r3;
	char *buf = NULL, *page = node_text(true);
	size_t len;

	/*
	 * No tick in this loop: every request must be answered from events alone, the ones
	 * pipelined behind the first too (MHD has them in its buffer already, no new event).
	 */
	assert_int_equal(srv_open(&s, "127.0.0.1:0", NULL, 3600 * 1000), 0);
	/* three requests in one segment, answered in order on one connection, the last closes */
	int fd = connect_to("127.0.0.1", metrics_port(s.m));
	send_str(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
		     "HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
		     "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_true(read_until_eof(&s, fd, &buf, &len, 10000));
	close(fd);
	parse_resp(buf, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, strlen(page));
	assert_int_equal(strncmp(r.body, page, strlen(page)), 0);
	parse_resp((char *)r.next, &r2);
	assert_int_equal(r2.status, 200);
	assert_int_equal(r2.body_len, strlen(page));
	r2.next = r2.body; /* HEAD: no body follows */
	parse_resp((char *)r2.next, &r3);
	assert_int_equal(r3.status, 404);
	assert_int_equal(strlen(r3.body), r3.body_len);
	free(buf);
	assert_int_equal(s.calls, 2);

	/* one after the other on a kept-alive connection */
	fd = connect_to("127.0.0.1", metrics_port(s.m));
	for (int i = 0; i < 3; i++) {
		buf = NULL;
		send_str(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
		assert_true(read_response(&s, fd, &buf, &len, 10000));
		parse_resp(buf, &r);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, page);
		free(buf);
	}
	assert_int_equal(metrics_connections(s.m), 1);

	/* a GET with a body is answered at once, the body not read, the connection closed */
	buf = NULL;
	send_str(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nxx");
	assert_true(read_until_eof(&s, fd, &buf, &len, 10000));
	parse_resp(buf, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, page);
	free(buf);
	close(fd);
	srv_close(&s);
	free(page);
}

static void test_http_big(void **state)
{
	(void)state;
	struct metrics_limits lim = {.max_body = 64 * 1024};
	struct srv s;
	struct resp r;
	char *buf;

	/* a page over the limit is refused */
	assert_int_equal(srv_open(&s, "127.0.0.1:0", &lim, 1000), 0);
	s.mode = CB_BIG;
	buf = request(&s, "127.0.0.1", "GET", "/metrics", &r);
	assert_int_equal(r.status, 500);
	free(buf);
	srv_close(&s);
	/* the default limit takes it: several MB sent through the loop */
	assert_int_equal(srv_open(&s, "127.0.0.1:0", NULL, 1000), 0);
	s.mode = CB_BIG;
	buf = request(&s, "127.0.0.1", "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_true(r.body_len > 2000000);
	assert_non_null(strstr(r.body, "\nt_big{i=\"99999\"} 99999\n"));
	check_valid(r.body);
	free(buf);
	srv_close(&s);
}

static void test_idle_timeout(void **state)
{
	(void)state;
	struct metrics_limits lim = {.timeout_secs = 1};
	struct srv s;
	char *buf = NULL;
	size_t len;

	assert_int_equal(srv_open(&s, "127.0.0.1:0", &lim, 1000), 0);
	int fd = connect_to("127.0.0.1", metrics_port(s.m));
	int64_t start = now_ms();
	/* connected, says nothing: closed by the server after the time-out, at a tick */
	assert_true(read_until_eof(&s, fd, &buf, &len, 15000));
	int64_t took = now_ms() - start;
	assert_int_equal(len, 0);
	assert_true(took >= 900);
	close(fd);
	free(buf);
	/* a partial request is no better */
	buf = NULL;
	fd = connect_to("127.0.0.1", metrics_port(s.m));
	send_str(fd, "GET /metrics HTTP/1.1\r\nHost:");
	int64_t end = now_ms() + 10000;
	while (metrics_connections(s.m) == 0 && now_ms() < end)
		pump(&s, 20);
	int t = metrics_timeout_ms(s.m);
	assert_true(t >= 0 && t <= 1000);
	assert_true(read_until_eof(&s, fd, &buf, &len, 15000));
	assert_int_equal(len, 0);
	assert_int_equal(s.calls, 0);
	close(fd);
	free(buf);
	srv_close(&s);
}

static void test_connection_limit(void **state)
{
	(void)state;
	struct metrics_limits lim = {.max_conns = 2};
	struct srv s;
	struct resp r;
	char *buf = NULL;
	size_t len;

	/* no tick: a slot freed at the limit must bring the next connection in by itself */
	assert_int_equal(srv_open(&s, "127.0.0.1:0", &lim, 3600 * 1000), 0);
	int c1 = connect_to("127.0.0.1", metrics_port(s.m));
	int c2 = connect_to("127.0.0.1", metrics_port(s.m));
	int64_t end = now_ms() + 10000;
	while (metrics_connections(s.m) < 2 && now_ms() < end)
		pump(&s, 20);
	assert_int_equal(metrics_connections(s.m), 2);
	/* the third waits in the backlog: not accepted, not answered */
	int c3 = connect_to("127.0.0.1", metrics_port(s.m));
	send_str(c3, "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_false(read_until_eof(&s, c3, &buf, &len, 500));
	assert_int_equal(len, 0);
	assert_int_equal(metrics_connections(s.m), 2);
	assert_int_equal(s.calls, 0);
	/* a slot frees: it is served */
	close(c1);
	assert_true(read_until_eof(&s, c3, &buf, &len, 10000));
	parse_resp(buf, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(s.calls, 1);
	close(c2);
	close(c3);
	free(buf);
	srv_close(&s);
}

static void test_bind(void **state)
{
	(void)state;
	struct srv s, s2;
	struct resp r;
	char *buf;

	assert_int_equal(srv_open(&s, "127.0.0.1:0", NULL, 1000), 0);
	char other[32];
	snprintf(other, sizeof(other), "127.0.0.1:%u", metrics_port(s.m));
	assert_int_equal(srv_open(&s2, other, NULL, 1000), -EADDRINUSE);
	srv_close(&s);
	/* TEST-NET-1 is no address of this machine */
	assert_int_equal(srv_open(&s2, "192.0.2.1:0", NULL, 1000), -EADDRNOTAVAIL);

	/* IPv6, when the loopback has it */
	int r6 = srv_open(&s, "[::1]:0", NULL, 1000);
	if (r6 == -EADDRNOTAVAIL || r6 == -EAFNOSUPPORT) {
		print_message("no IPv6 loopback: IPv6 not tried\n");
		return;
	}
	assert_int_equal(r6, 0);
	buf = request(&s, "::1", "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	free(buf);
	/* IPV6_V6ONLY: not reachable over IPv4 */
	assert_int_equal(connect_to("127.0.0.1", metrics_port(s.m)), -ECONNREFUSED);
	srv_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),	 cmocka_unit_test(test_format_double),
	    cmocka_unit_test(test_page),	 cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_misuse),	 cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_node_page),	 cmocka_unit_test(test_node_page_promtool),
	    cmocka_unit_test(test_promparse),	 cmocka_unit_test(test_http),
	    cmocka_unit_test(test_keepalive),	 cmocka_unit_test(test_http_big),
	    cmocka_unit_test(test_idle_timeout), cmocka_unit_test(test_connection_limit),
	    cmocka_unit_test(test_bind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * metrics.h - the Prometheus endpoint (--metrics-listen): GET /metrics served by
 * libmicrohttpd from the node's one epoll loop, and a writer for the text exposition format
 * 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * An I/O adapter: it knows HTTP and the text format, not the node. The node hands it a
 * callback that writes the page on the loop thread (no extra threads: MHD runs in external
 * polling mode with its own epoll set, whose fd is one source in the node's loop).
 */
#ifndef MESHVPN_METRICS_H
#define MESHVPN_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "loop.h"
#include "util.h"

#define METRICS_PATH	     "/metrics"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_MAX_CONNS    16		/* connections at once; more wait in the backlog */
#define METRICS_TIMEOUT_SECS 10		/* a connection idle this long is closed */
#define METRICS_MAX_BODY     (8u << 20) /* a larger page is refused (500) */
#define METRICS_NAME_MAX     200	/* longest metric or label name accepted */
#define METRICS_NUM_LEN	     32		/* a formatted value, NUL included */

/* ---- the writer: the text format, built in memory per scrape ---- */

enum metrics_type {
	METRICS_COUNTER = 0,
	METRICS_GAUGE,
	METRICS_UNTYPED,
	METRICS_SUMMARY,   /* samples NAME{quantile=".."}, NAME_sum, NAME_count */
	METRICS_HISTOGRAM, /* samples NAME_bucket{le=".."}, NAME_sum, NAME_count */
};

struct metrics_label {
	const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" */
	const char *value; /* any UTF-8; escaped on output */
};

/*
 * METRICS_L({"peer", a}, {"reason", r}) expands to the two arguments (array, count) that
 * metrics_sample() and metrics_sample_u64() take for their labels.
 */
#define METRICS_L(...)                                                                             \
	((const struct metrics_label[]){__VA_ARGS__}),                                             \
	    (sizeof((const struct metrics_label[]){__VA_ARGS__}) / sizeof(struct metrics_label))

struct metrics_fam; /* families already written (private) */

/*
 * A page being written. Every call checks its input; the first error is kept (sticky) and
 * makes later calls do nothing, so a writer calls everything and checks metrics_err() once.
 * HELP and TYPE of a family are written with its first sample (a family without samples
 * leaves no trace, as in the Go client); a family must be written in one piece.
 */
struct metrics_writer {
	char *buf;   /* the text (NUL-terminated), owned */
	size_t len;  /* bytes of text */
	size_t size; /* allocated */
	size_t cap;  /* most bytes of text allowed */
	int err;     /* 0, -EINVAL (bad name, label, value, order), -EMSGSIZE (cap), -ENOMEM */
	/* the current family: */
	char family[METRICS_NAME_MAX + 1];
	enum metrics_type type;
	const char *help;
	bool header_done;	  /* its HELP and TYPE are out */
	struct metrics_fam *done; /* families started before it */
	size_t n_done, done_size;
	/* the current family's series, to refuse a duplicate: keys in one arena, found
	 * through an open-addressing table of their offsets + 1 */
	char *keys;
	size_t keys_len, keys_size;
	size_t *slots;
	size_t n_slots, slots_size;
};

/* Starts an empty page of at most cap bytes (0: METRICS_MAX_BODY). Allocates nothing yet. */
void metrics_writer_init(struct metrics_writer *w, size_t cap);
/* Frees the text and the writer's state; the writer is then as after init. NULL is fine. */
void metrics_writer_free(struct metrics_writer *w);
/* 0 or the first error. */
static inline int metrics_err(const struct metrics_writer *w)
{
	return w->err;
}
/*
 * Hands out the text (the caller frees it; "" for an empty page), its length in *len, and
 * frees the rest of the writer. NULL (nothing handed out, writer freed) after an error.
 */
char *metrics_writer_take(struct metrics_writer *w, size_t *len);

/*
 * Starts family name (copied) of the given type; help is its one-line description
 * (required, UTF-8, not starting with a blank, escaped on output; borrowed until the next
 * family starts). Calling it again for the current family with the same type and help
 * does nothing; a family that was started before another one is an error (-EINVAL), as is
 * a name colliding with a summary's or histogram's _sum, _count or _bucket samples.
 */
void metrics_family(struct metrics_writer *w, const char *name, enum metrics_type type,
		    const char *help);
/*
 * Writes one sample of the current family: name is the family's name, or for a summary or
 * histogram one of its suffixed names (a histogram's _bucket needs an "le" label, a
 * summary's plain sample a "quantile" label, each a number). labels (n of them, distinct
 * names) may be NULL when n is 0. The same name with the same labels (in any order) twice
 * is an error. Value formats: NaN, +Inf, -Inf, integers exactly up to 2^53, else the
 * shortest decimal that reads back to the same double. A counter's value must not be
 * negative.
 */
void metrics_sample(struct metrics_writer *w, const char *name, const struct metrics_label *labels,
		    size_t n, double value);
/* The same with an exact 64-bit integer value (counters). */
void metrics_sample_u64(struct metrics_writer *w, const char *name,
			const struct metrics_label *labels, size_t n, uint64_t value);

/* True for a valid metric name: [a-zA-Z_:][a-zA-Z0-9_:]*, at most METRICS_NAME_MAX bytes. */
bool metrics_name_valid(const char *name);
/* True for a valid label name: [a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix (reserved). */
bool metrics_label_name_valid(const char *name);
/* Formats a value as metrics_sample() writes it; returns buf. */
const char *metrics_format_double(double v, char buf[METRICS_NUM_LEN]);

/* ---- the HTTP server ---- */

struct metrics;

/*
 * Writes the page into w (on the loop thread, once per GET or HEAD of /metrics). Returns 0,
 * or -errno to answer 500 (so does an error kept in w). ctx is metrics_open()'s.
 */
typedef int (*metrics_cb)(struct metrics_writer *w, void *ctx);

/* Limits of a server; a zero field takes the default. */
struct metrics_limits {
	unsigned max_conns;    /* METRICS_MAX_CONNS */
	unsigned timeout_secs; /* METRICS_TIMEOUT_SECS */
	size_t max_body;       /* METRICS_MAX_BODY */
};

/*
 * Serves GET and HEAD of /metrics on listen (IPv4 or IPv6, bound to that address only; port
 * 0 takes a free port, see metrics_port()), 404 for any other path, 405 for other methods
 * on /metrics. HTTP/1.0 and 1.1 with keep-alive. lim may be NULL (defaults). Register
 * metrics_src() in the loop and call metrics_run() as it says. On failure logs the reason
 * (the address and what MHD said) and returns -errno (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES,
 * ..., -EIO when MHD gives no errno, -ENOENT when libmicrohttpd cannot be loaded: the first
 * call loads it) with *out = NULL.
 */
int metrics_open(const struct addr *listen, const struct metrics_limits *lim, metrics_cb cb,
		 void *ctx, struct metrics **out) WUR;
/*
 * The source to add to the loop with EPOLLIN (MHD's epoll fd: readable while any of its
 * sockets has work). Set its kind to the caller's value before loop_add().
 */
struct loop_src *metrics_src(struct metrics *m);
/*
 * Runs MHD: accepts, reads requests, calls the callback, sends, and closes connections idle
 * longer than the timeout. Call it when metrics_src() is readable and from the 1 s tick
 * (the timeouts have no event of their own). It repeats while MHD says work is pending, up
 * to a bound, so a connection that has more buffered data is not left until the next tick.
 */
void metrics_run(struct metrics *m);
/*
 * How long (ms) the loop may sleep before metrics_run() is due (MHD_get_timeout()), -1 when
 * only events matter. With metrics_run() on every 1 s tick the node need not use it; a loop
 * without such a tick (the unit test's) passes it to loop_wait().
 */
int metrics_timeout_ms(struct metrics *m);
/* The port bound (the one chosen for port 0). */
uint16_t metrics_port(struct metrics *m);
/* Connections open now. */
unsigned metrics_connections(struct metrics *m);
/* Stops the server, closing every connection (after loop_del() of its source). NULL is fine. */
void metrics_close(struct metrics *m);

/* ---- what the node exports ---- */

/*
 * The families of the node's page, in this order (metrics_node_families[] holds the names,
 * types, labels and help texts; metrics_write_node() writes them from a struct of numbers).
 * Prometheus conventions: base units (bytes, seconds), counters end in _total, a label per
 * dimension, no label value that grows without bound except peer and client.
 *
 *   meshvpn_build_info{version}                 gauge    1
 *   meshvpn_rx_bytes_total                      counter  payload and protocol bytes received
 *   meshvpn_tx_bytes_total                      counter  ... sent
 *   meshvpn_rx_packets_total                    counter  datagrams received
 *   meshvpn_tx_packets_total                    counter  datagrams sent
 *   meshvpn_invalid_datagrams_total{reason}     counter  dropped as invalid (stats_invalid_name)
 *   meshvpn_drops_total{reason}                 counter  dropped, not due to one peer (no route)
 *   meshvpn_handshakes_total{result}            counter  finished handshakes by result
 *   meshvpn_rotations_total                     counter  key rotations completed
 *   meshvpn_peers                               gauge    established peers
 *   meshvpn_peer_rx_bytes_total{peer}           counter  peer = its address (addr_format())
 *   meshvpn_peer_tx_bytes_total{peer}           counter
 *   meshvpn_peer_rx_packets_total{peer}         counter
 *   meshvpn_peer_tx_packets_total{peer}         counter
 *   meshvpn_peer_rtt_seconds{peer}              gauge    smoothed round-trip time, if measured
 *   meshvpn_peer_drops_total{peer,reason}       counter
 * and on a hub:
 *   meshvpn_clients_active                      gauge    clients connected now
 *   meshvpn_client_connections_total{transport} counter  "udp", "websocket"
 *   meshvpn_client_rx_bytes_total{client}       counter  client = its registry id
 *   meshvpn_client_tx_bytes_total{client}       counter
 *   meshvpn_client_rx_packets_total{client}     counter
 *   meshvpn_client_tx_packets_total{client}     counter
 *   meshvpn_client_rtt_seconds{client}          gauge    smoothed round-trip time, if measured
 *   meshvpn_client_drops_total{client,reason}   counter  e.g. "acl", "rate-limit"
 *
 * Label values for reason and result are short fixed words chosen by the node (e.g.
 * handshakes: "ok", "failed", "timeout"; drops: "no-route", "acl", "rate-limit").
 */
struct metrics_family_desc {
	const char *name;
	enum metrics_type type;
	const char *labels; /* label names, comma-separated, "" for none */
	const char *help;
	bool hub_only;
};
extern const struct metrics_family_desc metrics_node_families[];
extern const size_t metrics_node_n_families;

/* A count by one label value (reason, result, transport). */
struct metrics_count {
	const char *key;
	uint64_t n;
};

struct metrics_traffic {
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
};

/* A peer or a client. */
struct metrics_party {
	const char *name; /* peer: its address as addr_format() prints it; client: its id */
	struct metrics_traffic traffic;
	bool has_rtt;
	double rtt_seconds;
	const struct metrics_count *drops; /* by reason */
	size_t n_drops;
};

/* Everything metrics_write_node() writes; all borrowed. Empty arrays may be NULL. */
struct metrics_node_view {
	const char *version;		/* NULL: MESHVPN_VERSION */
	struct metrics_traffic traffic; /* totals since start */
	const struct metrics_count *invalid, *drops, *handshakes;
	size_t n_invalid, n_drops, n_handshakes;
	uint64_t rotations;
	const struct metrics_party *peers; /* the established ones */
	size_t n_peers;
	bool hub; /* the client families are written only on a hub */
	uint64_t clients_active;
	const struct metrics_count *connections; /* by transport */
	size_t n_connections;
	const struct metrics_party *clients;
	size_t n_clients;
};

/* Writes the node's page from v into w (errors are kept in w, see metrics_err()). */
void metrics_write_node(struct metrics_writer *w, const struct metrics_node_view *v);

#endif

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * peersim.c - benchmark tool: many simulated peers of one node under test, each a real
 * session (the project's session.h, as the node drives it) on its own UDP socket.
 *
 * usage: peersim -k PASSWORD -n NODE_IP:PORT [-s SRC_IP [-S COUNT]] [-t SECS] MODE
 *   -s/-S        bind the sockets to COUNT consecutive IPv4 addresses from SRC_IP (round
 *                robin; default 0.0.0.0); every socket has its own port, so its own address
 *   -t SECS      run time (default 10)
 * modes:
 *   -m stay -N PEERS [-d PPS -o OVERLAY_NET -D NODE_OVERLAY_IP] [-I SECS]
 *                PEERS peers connect and stay: a KEEPALIVE probe every 5 s, probes of the
 *                node echoed, a NODE_INFO every -I SECS (default 30), rotation handled;
 *                -d: each peer sends PPS ICMP echo requests (DATA) from OVERLAY_NET.i
 *                (a /16 base such as 10.77.0.0; the peer claims that /32) to the node's
 *                overlay address and counts the replies that come back through the tunnel
 *   -m rate -W WINDOW
 *                fresh handshakes: WINDOW at a time, each from a new socket; once the node
 *                has answered with a session message the peer sends CLOSE and a new socket
 *                starts over
 *   -m learn -L ADDRS [-A PER_ENTRY] -l IP
 *                one peer connects and sends NODE_INFO messages whose peer lists advertise
 *                ADDRS addresses IP:20000.. (PER_ENTRY addresses per peer entry, 20 entries per
 *                message, default 1), all of them once per second, for the node to learn
 * In every mode a handshake without an answer for 1 s is given up and started again from a
 * new socket (over its limits the node ignores new addresses without an answer).
 * Output: one "key=value ..." line per second ("tick") and a "result" line at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "meshvpn/addr.h"
#include "meshvpn/algo.h"
#include "meshvpn/bytes.h"
#include "meshvpn/frame.h"
#include "meshvpn/keys.h"
#include "meshvpn/nodeinfo.h"
#include "meshvpn/session.h"

#define RXSIZE	      (SESSION_HEADROOM + SESSION_BUF_SIZE)
#define PROBE_SECS    5
#define HS_GIVE_UP    1.0
#define LEARN_PORT0   20000
#define LEARN_ENTRIES NODEINFO_ENCODE_MAX_PEERS

enum state { FREE, HANDSHAKE, UP, CONFIRMED };

struct sim {
	int fd;
	struct session *s;
	enum state st;
	double started, next_probe, next_ni, next_data, next_tick;
	uint32_t probe_seq;
	uint16_t icmp_seq;
	uint8_t node_id[NODEINFO_NODE_ID_LEN];
	uint32_t overlay; /* host order; 0: none */
};

static struct session_ctx *ctx;
static struct sockaddr_storage node_ss;
static socklen_t node_sl;
static struct in_addr src_ip;
static unsigned src_count = 1, src_next;
static int ep;
static struct sim *sims;
static unsigned n_sims;
static struct nodeinfo *ni;
static uint8_t rxmem[RXSIZE], txmem[RXSIZE], ni_enc[NODEINFO_MAX_ENCODED_LEN];
static double data_pps, ni_secs = 30;
static uint32_t overlay_net, node_overlay;
static unsigned learn_addrs, learn_per_entry = 1;
static struct in_addr learn_ip;

/* counters */
static unsigned long long n_established, n_confirmed, n_given_up, n_refused_sends;
static unsigned long long n_data_tx, n_data_rx, n_msgs, n_errors, n_ni_tx, n_learn_sent;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int open_socket(unsigned idx)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	sa.sin_addr.s_addr =
	    src_ip.s_addr ? htonl(ntohl(src_ip.s_addr) + src_next++ % src_count) : 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	struct epoll_event e = {.events = EPOLLIN, .data.u32 = idx};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
		die("epoll_ctl");
	return fd;
}

static void send_buf(struct sim *m, const struct buf *b)
{
	if (sendto(m->fd, buf_data(b), b->len, 0, (struct sockaddr *)&node_ss, node_sl) < 0)
		n_refused_sends++; /* ICMP errors from earlier datagrams show up here */
}

/* Our NodeInfo: node id, peer timeout, the overlay /32 we claim (if any), an optional list. */
static size_t encode_nodeinfo(const struct sim *m, unsigned learn_from)
{
	struct wr w;

	memset(ni, 0, sizeof(*ni));
	ni->flags = NODEINFO_HAS_NODE_ID | NODEINFO_HAS_PEERS | NODEINFO_HAS_CLAIMS |
		    NODEINFO_HAS_PEER_TIMEOUT | NODEINFO_HAS_ADDRS;
	memcpy(ni->node_id, m->node_id, sizeof(m->node_id));
	ni->peer_timeout = 300;
	if (m->overlay) {
		ni->n_claims = 1;
		ni->claims[0].base.len = 4;
		put_be32(ni->claims[0].base.b, m->overlay);
		ni->claims[0].prefix = 32;
	}
	for (unsigned e = 0; learn_addrs && e < LEARN_ENTRIES && learn_from < learn_addrs; e++) {
		struct nodeinfo_peer *p = &ni->peers[ni->n_peers++];
		p->flags = NODEINFO_PEER_HAS_NODE_ID;
		randombytes_buf(p->node_id, sizeof(p->node_id));
		for (unsigned k = 0; k < learn_per_entry && learn_from < learn_addrs; k++) {
			struct addr a;
			addr_set_v4(&a, (const uint8_t *)&learn_ip.s_addr,
				    (uint16_t)(LEARN_PORT0 + learn_from++));
			(void)nodeinfo_addrs_add(&p->addrs, &a, true);
		}
	}
	wr_init(&w, ni_enc, sizeof(ni_enc));
	if (nodeinfo_encode(ni, &w) < 0) {
		fprintf(stderr, "peersim: NodeInfo does not encode\n");
		exit(1);
	}
	return w.len;
}

static void start(unsigned idx, double t)
{
	struct sim *m = &sims[idx];
	struct buf b = {.base = txmem, .size = RXSIZE};

	m->fd = open_socket(idx);
	randombytes_buf(m->node_id, sizeof(m->node_id));
	m->overlay = overlay_net && data_pps > 0 ? overlay_net + 2 + idx : 0;
	size_t len = encode_nodeinfo(m, learn_addrs); /* the handshake's: no peer list */
	buf_reset(&b, SESSION_HEADROOM);
	if (session_new_initiator(ctx, ni_enc, len, &m->s, &b) < 0) {
		fprintf(stderr, "peersim: session_new_initiator failed\n");
		exit(1);
	}
	m->st = HANDSHAKE;
	m->started = t;
	m->next_tick = t + 1;
	send_buf(m, &b);
}

static void finish(unsigned idx)
{
	struct sim *m = &sims[idx];

	epoll_ctl(ep, EPOLL_CTL_DEL, m->fd, NULL);
	close(m->fd);
	session_free(m->s);
	m->s = NULL;
	m->st = FREE;
}

/* Encrypts type || body and sends it. */
static void send_msg(struct sim *m, uint8_t type, const uint8_t *body, size_t len)
{
	struct buf b = {.base = txmem, .size = RXSIZE};

	buf_reset(&b, SESSION_HEADROOM);
	uint8_t *p = buf_put(&b, (uint32_t)(1 + len));
	p[0] = type;
	if (len)
		memcpy(p + 1, body, len);
	if (session_encrypt(m->s, &b) == 0)
		send_buf(m, &b);
}

static void send_probe(struct sim *m, uint8_t kind, uint32_t seq)
{
	uint8_t d[FRAME_KEEPALIVE_PROBE_LEN] = {kind};
	put_be32(d + 1, seq);
	send_msg(m, FRAME_TYPE_KEEPALIVE, d, sizeof(d));
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An ICMP echo request from the peer's overlay address to the node's, as DATA. */
static void send_ping(struct sim *m)
{
	uint8_t pkt[20 + 8 + 32] = {0x45};

	put_be16(pkt + 2, sizeof(pkt));
	pkt[8] = 64;
	pkt[9] = 1; /* ICMP */
	put_be32(pkt + 12, m->overlay);
	put_be32(pkt + 16, node_overlay);
	put_be16(pkt + 10, csum(pkt, 20));
	uint8_t *ic = pkt + 20;
	ic[0] = 8;
	put_be16(ic + 4, 0x5053);
	put_be16(ic + 6, ++m->icmp_seq);
	memset(ic + 8, 0xa5, 32);
	put_be16(ic + 2, csum(ic, 8 + 32));
	send_msg(m, FRAME_TYPE_DATA, pkt, sizeof(pkt));
	n_data_tx++;
}

static void on_message(struct sim *m, const struct buf *b, uint8_t type)
{
	const uint8_t *d = buf_data(b);

	n_msgs++;
	if (type == FRAME_TYPE_KEEPALIVE && b->len >= 1 + FRAME_KEEPALIVE_PROBE_LEN &&
	    d[1] == FRAME_KEEPALIVE_PROBE)
		send_probe(m, FRAME_KEEPALIVE_ECHO, get_be32(d + 2));
	else if (type == FRAME_TYPE_DATA && b->len >= 1 + 28 && d[1 + 9] == 1 && d[1 + 20] == 0)
		n_data_rx++; /* an echo reply through the tunnel */
}

static void on_datagram(unsigned idx, struct buf *b, double t)
{
	struct sim *m = &sims[idx];
	struct session_event ev;
	bool init = b->len && buf_data(b)[0] == FRAME_INIT_MESSAGE;

	int r = session_handle(m->s, b, &ev);
	if (r < 0) {
		n_errors++;
		return;
	}
	if (r == SESSION_ESTABLISHED) {
		n_established++;
		m->st = UP;
		if (ev.send)
			send_buf(m, b);
		return;
	}
	if (r == SESSION_REPLY)
		send_buf(m, b);
	if (init || m->st < UP)
		return;
	if (m->st == UP) {
		/* the node's first session message: its side of the handshake is complete */
		n_confirmed++;
		m->st = CONFIRMED;
		m->next_probe = t;
		m->next_ni = t;
		m->next_data = t + 0.5;
	}
	if (r == SESSION_MESSAGE)
		on_message(m, b, ev.type);
}

static void recv_all(unsigned idx, double t)
{
	struct buf b = {.base = rxmem, .size = RXSIZE};

	for (int k = 0; k < 64 && sims[idx].st != FREE; k++) {
		buf_reset(&b, SESSION_HEADROOM);
		ssize_t n = recv(sims[idx].fd, buf_data(&b), buf_tailroom(&b), 0);
		if (n < 0) {
			if (errno == ECONNREFUSED)
				continue;
			return;
		}
		b.len = (uint32_t)n;
		on_datagram(idx, &b, t);
	}
}

/* A learn-mode NodeInfo round: every advertised address once, 20 entries per message. */
static void send_learn_round(struct sim *m)
{
	unsigned per_msg = LEARN_ENTRIES * learn_per_entry;
	for (unsigned from = 0; from < learn_addrs; from += per_msg) {
		size_t len = encode_nodeinfo(m, from);
		send_msg(m, FRAME_TYPE_NODE_INFO, ni_enc, len);
		n_learn_sent += MIN(per_msg, learn_addrs - from);
		n_ni_tx++;
	}
}

static void housekeep(unsigned idx, double t, bool rate_mode)
{
	struct sim *m = &sims[idx];
	struct buf b = {.base = txmem, .size = RXSIZE};

	if (m->st == FREE)
		return;
	if (m->st == HANDSHAKE && t - m->started > HS_GIVE_UP) {
		n_given_up++; /* refused by the node's limits, or lost: start over */
		finish(idx);
		start(idx, t);
		return;
	}
	if (m->next_tick <= t) { /* the session's one-second tick: rotation, replay window */
		m->next_tick += 1;
		buf_reset(&b, SESSION_HEADROOM);
		if (session_tick(m->s, &b) == 1)
			send_buf(m, &b);
	}
	if (m->st != CONFIRMED)
		return;
	if (rate_mode) {
		send_msg(m, FRAME_TYPE_CLOSE, NULL, 0);
		finish(idx);
		start(idx, t);
		return;
	}
	if (m->next_probe <= t) {
		send_probe(m, FRAME_KEEPALIVE_PROBE, ++m->probe_seq);
		m->next_probe = t + PROBE_SECS;
	}
	if (m->next_ni <= t) {
		if (learn_addrs) {
			send_learn_round(m);
			m->next_ni = t + 1;
		} else {
			send_msg(m, FRAME_TYPE_NODE_INFO, ni_enc, encode_nodeinfo(m, learn_addrs));
			n_ni_tx++;
			m->next_ni = t + ni_secs;
		}
	}
	if (m->overlay && m->next_data <= t) {
		send_ping(m);
		m->next_data += 1 / data_pps;
		if (m->next_data < t)
			m->next_data = t; /* no bursts after a stall */
	}
}

static void setup(const char *password)
{
	uint8_t seed[KEYS_SEED_LEN], pub[KEYS_PUB_LEN], node_id[SESSION_NODE_ID_LEN];
	struct algo_list algos;

	if (keys_from_password(seed, pub, password) < 0)
		die("keys_from_password");
	randombytes_buf(node_id, sizeof(node_id));
	algo_list_init(&algos);
	/* the node's start-up benchmark decides: equal speeds here leave the choice to it */
	if (algo_list_add(&algos, ALGO_AES128, 1e6f) < 0 ||
	    algo_list_add(&algos, ALGO_AES256, 1e6f) < 0 ||
	    algo_list_add(&algos, ALGO_CHACHA20, 1e6f) < 0)
		die("algo_list_add");
	struct session_params p = {.seed = seed, .node_id = node_id, .algos = &algos};
	if (session_ctx_new(&p, &ctx) < 0)
		die("session_ctx_new");
	sodium_memzero(seed, sizeof(seed));
	ni = malloc(sizeof(*ni));
	if (!ni)
		die("malloc");
}

static unsigned count_state(enum state s)
{
	unsigned c = 0;
	for (unsigned i = 0; i < n_sims; i++)
		c += sims[i].st == s;
	return c;
}

static void report(const char *what, double t0, double t)
{
	printf("%s t=%.1f established=%llu confirmed=%llu up=%u handshaking=%u given_up=%llu "
	       "msgs=%llu errors=%llu nodeinfo_tx=%llu learn_addrs_sent=%llu data_tx=%llu "
	       "data_rx=%llu\n",
	       what, t - t0, n_established, n_confirmed, count_state(CONFIRMED),
	       count_state(HANDSHAKE) + count_state(UP), n_given_up, n_msgs, n_errors, n_ni_tx,
	       n_learn_sent, n_data_tx, n_data_rx);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: peersim -k PASSWORD -n NODE_IP:PORT [-s SRC_IP [-S COUNT]] [-t SECS]"
		" -m stay|rate|learn [-N PEERS] [-W WINDOW] [-d PPS -o NET -D NODE_IP]"
		" [-I SECS] [-L ADDRS -A PER_ENTRY -l IP]\n");
	exit(2);
}

static uint32_t parse_ip4(const char *s)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		usage();
	return ntohl(a.s_addr);
}

int main(int argc, char **argv)
{
	const char *password = NULL, *node = NULL, *mode = NULL;
	double secs = 10;
	unsigned peers = 1, window = 64;
	struct addr na;
	int c;

	while ((c = getopt(argc, argv, "k:n:s:S:t:m:N:W:d:o:D:I:L:A:l:")) != -1) {
		switch (c) {
		case 'k':
			password = optarg;
			break;
		case 'n':
			node = optarg;
			break;
		case 's':
			src_ip.s_addr = htonl(parse_ip4(optarg));
			break;
		case 'S':
			src_count = (unsigned)atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'N':
			peers = (unsigned)atoi(optarg);
			break;
		case 'W':
			window = (unsigned)atoi(optarg);
			break;
		case 'd':
			data_pps = atof(optarg);
			break;
		case 'o':
			overlay_net = parse_ip4(optarg);
			break;
		case 'D':
			node_overlay = parse_ip4(optarg);
			break;
		case 'I':
			ni_secs = atof(optarg);
			break;
		case 'L':
			learn_addrs = (unsigned)atoi(optarg);
			break;
		case 'A':
			learn_per_entry = (unsigned)atoi(optarg);
			break;
		case 'l':
			learn_ip.s_addr = htonl(parse_ip4(optarg));
			break;
		default:
			usage();
		}
	}
	if (!password || !node || !mode || !src_count || !learn_per_entry ||
	    learn_per_entry > NODEINFO_MAX_PER_FAMILY)
		usage();
	bool rate_mode = strcmp(mode, "rate") == 0;
	if (rate_mode)
		n_sims = window;
	else if (strcmp(mode, "stay") == 0)
		n_sims = peers;
	else if (strcmp(mode, "learn") == 0 && learn_addrs && learn_ip.s_addr)
		n_sims = 1;
	else
		usage();
	if (addr_parse(node, ADDR_DEFAULT_PORT, &na) < 0 ||
	    !(node_sl = addr_to_sockaddr(&na, &node_ss, AF_INET)))
		usage();
	if (sodium_init() < 0)
		die("sodium_init");
	struct rlimit rl = {.rlim_cur = n_sims + 64, .rlim_max = n_sims + 64};
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	setup(password);
	sims = calloc(n_sims, sizeof(*sims));
	if (!sims || (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("setup");

	double t0 = now(), t = t0, next_report = t0 + 1;
	for (unsigned i = 0; i < n_sims; i++)
		start(i, t0);
	while (t - t0 < secs) {
		struct epoll_event evs[64];
		int k = epoll_wait(ep, evs, 64, 20);
		t = now();
		for (int i = 0; i < k; i++)
			recv_all(evs[i].data.u32, t);
		for (unsigned i = 0; i < n_sims; i++)
			housekeep(i, t, rate_mode);
		if (t >= next_report) {
			report("tick", t0, t);
			next_report += 1;
		}
	}
	report("result", t0, now());
	for (unsigned i = 0; i < n_sims; i++) {
		if (sims[i].st == CONFIRMED)
			send_msg(&sims[i], FRAME_TYPE_CLOSE, NULL, 0);
		if (sims[i].st != FREE)
			finish(i);
	}
	session_ctx_free(ctx);
	free(ni);
	free(sims);
	return 0;
}

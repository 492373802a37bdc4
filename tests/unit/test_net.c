// SPDX-License-Identifier: GPL-3.0-or-later
/* test_net.c - UDP socket: dual-stack normalisation, 64-datagram batches, partial failures. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/log.h"
#include "meshvpn/net.h"

#define BUF_SIZE 2048
#define HEADROOM 64

/* sendmmsg is wrapped (test_net.ldflags) to inject EAGAIN; otherwise it passes through. */
int __real_sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags);
static int inject_eagain; /* number of calls to fail with EAGAIN, -1 = all */
static int sendmmsg_calls;

/* GSO refusal: a UDP_SEGMENT message to this port fails with this errno (0 = off). */
static int inject_gso_errno;
static uint16_t inject_gso_port;
static unsigned gso_sent[2]; /* UDP_SEGMENT messages sent: [0] to inject_gso_port, [1] other */

static uint16_t msg_port(const struct msghdr *h)
{
	const struct sockaddr *sa = h->msg_name;
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)h->msg_name)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)h->msg_name)->sin6_port);
}

int __wrap_sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags)
{
	sendmmsg_calls++;
	if (inject_eagain) {
		if (inject_eagain > 0)
			inject_eagain--;
		errno = EAGAIN;
		return -1;
	}
	/* like the kernel: send up to the failing message; its error only when it is first */
	for (unsigned i = 0; inject_gso_errno && i < n; i++) {
		if (msgs[i].msg_hdr.msg_controllen && msg_port(&msgs[i].msg_hdr) == inject_gso_port) {
			if (i == 0) {
				errno = inject_gso_errno;
				return -1;
			}
			n = i;
		}
	}
	int r = __real_sendmmsg(fd, msgs, n, flags);
	for (int i = 0; i < r; i++)
		if (msgs[i].msg_hdr.msg_controllen)
			gso_sent[msg_port(&msgs[i].msg_hdr) == inject_gso_port ? 0 : 1]++;
	return r;
}

/* socket is wrapped to pretend the kernel has no IPv6 (ipv6.disable=1). */
int __real_socket(int domain, int type, int protocol);
static bool inject_no_v6;

int __wrap_socket(int domain, int type, int protocol)
{
	if (inject_no_v6 && domain == AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return __real_socket(domain, type, protocol);
}

static bool private_netns; /* true when the test runs in its own namespace with only lo */
static bool have_v6;

static uint8_t storage[2 * NET_BATCH][BUF_SIZE];
static struct buf pool[2 * NET_BATCH];

static void pool_reset(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(pool); i++) {
		pool[i] = (struct buf){.base = storage[i], .size = BUF_SIZE};
		buf_reset(&pool[i], HEADROOM);
	}
}

static void lo_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(ifr.ifr_name, "lo");
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static int group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR);
	/* As root, work in a private namespace: nothing outside is touched, nothing routes. */
	if (unshare(CLONE_NEWNET) == 0) {
		private_netns = true;
		lo_up();
	}
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,
					  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		have_v6 = bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0;
		close(fd);
	}
	return 0;
}

static void make_addr(struct addr *a, const char *ip, uint16_t port)
{
	assert_int_equal(addr_parse(ip, port, a), 0);
}

/* Waits until net has data (or 1 s passes). */
static void wait_readable(struct net *net)
{
	struct pollfd pfd = {.fd = net->src.fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 1000), 1);
}

/*
 * Receives exactly want datagrams (lending pool[NET_BATCH..] each round) and copies each
 * into got[i] (own storage, same offset) with its source in src[i].
 */
static uint8_t copy_store[NET_BATCH][BUF_SIZE];

static unsigned recv_all(struct net *net, struct buf *got, struct addr *src, unsigned want)
{
	struct transport_rx rx;
	unsigned have = 0;

	while (have < want) {
		rx.n = NET_BATCH;
		for (unsigned i = 0; i < NET_BATCH; i++) {
			rx.bufs[i] = &pool[NET_BATCH + i];
			buf_reset(rx.bufs[i], HEADROOM);
		}
		wait_readable(net);
		int n = net_recv_batch(net, &rx);
		if (n == -EAGAIN)
			continue;
		assert_true(n > 0);
		for (int i = 0; i < n; i++) {
			const struct buf *b = rx.bufs[i];
			assert_true(have < want);
			got[have] = (struct buf){.base = copy_store[have],
						 .size = BUF_SIZE,
						 .off = b->off,
						 .len = b->len};
			memcpy(buf_data(&got[have]), buf_data(b), b->len);
			src[have] = rx.src[i];
			have++;
		}
	}
	return have;
}

static void test_open(void **state)
{
	(void)state;
	struct net net;
	struct addr a;

	assert_int_equal(net_open(&net, NULL), 0);
	assert_true(net.src.fd >= 0);
	assert_int_equal(net.family, AF_INET6);
	assert_true(addr_is_unspecified(&net.t.local));
	assert_false(addr_is_v4(&net.t.local));
	assert_int_not_equal(net.t.local.port, 0);

	int v = 0;
	socklen_t vl = sizeof(v);
	assert_int_equal(getsockopt(net.src.fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl), 0);
	assert_int_equal(v, 0);
	/* Linux reports twice the requested size; with privileges it is the full 4 MiB. */
	assert_int_equal(getsockopt(net.src.fd, SOL_SOCKET, SO_RCVBUF, &v, &vl), 0);
	if (geteuid() == 0)
		assert_true(v >= NET_SOCKBUF_SIZE);
	net_close(&net);
	net_close(&net);
	assert_int_equal(net.src.fd, -1);

	/* An IPv4 listen address binds in mapped form; the local address reports it. */
	make_addr(&a, "127.0.0.1", 0);
	assert_int_equal(net_open(&net, &a), 0);
	assert_true(addr_is_v4(&net.t.local));
	a.port = net.t.local.port;
	assert_true(addr_equal(&net.t.local, &a));

	/* The same port again: EADDRINUSE, and nothing stays open. */
	struct net dup;
	assert_int_equal(net_open(&dup, &a), -EADDRINUSE);
	assert_int_equal(dup.src.fd, -1);
	net_close(&net);
}

/* One datagram from a plain socket of family fam/src_ip to dst_ip:port; returns its source. */
static void send_plain(int fam, const char *src_ip, const char *dst_ip, uint16_t port,
		       struct addr *from)
{
	struct sockaddr_storage ss = {0};
	struct addr s, d;
	socklen_t sl;
	int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	make_addr(&s, src_ip, 0);
	sl = addr_to_sockaddr(&s, &ss, fam);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, sl), 0);
	sl = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	assert_int_equal(addr_from_sockaddr(from, (struct sockaddr *)&ss, sl), 0);
	make_addr(&d, dst_ip, port);
	sl = addr_to_sockaddr(&d, &ss, fam);
	assert_int_equal(sendto(fd, "ping", 4, 0, (struct sockaddr *)&ss, sl), 4);
	close(fd);
}

static void expect_one(struct net *net, const struct addr *from)
{
	struct transport_rx rx;
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	pool_reset();
	rx.n = 4;
	for (unsigned i = 0; i < rx.n; i++)
		rx.bufs[i] = &pool[i];
	wait_readable(net);
	assert_int_equal(net_recv_batch(net, &rx), 1);
	assert_int_equal(rx.bufs[0]->len, 4);
	assert_int_equal(rx.bufs[0]->off, HEADROOM);
	assert_memory_equal(buf_data(rx.bufs[0]), "ping", 4);
	if (!addr_equal(&rx.src[0], from))
		fail_msg("source %s, expected %s", addr_format(&rx.src[0], a),
			 addr_format(from, b));
}

/* Instructions of the socket filter attached to fd (0: none). */
static unsigned filter_len(int fd)
{
	socklen_t len = 0;

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, &len), 0);
	return len;
}

/*
 * The kernel's list of handshake flooders: per IP address (a second port refreshes the
 * listing), the earliest expiry makes room when full, expiry detaches the program. What
 * the program drops is test_sockfilter's part.
 */
static void test_drop_inits(void **state)
{
	(void)state;
	struct net net;
	struct addr a, b;
	char ip[32];

	assert_int_equal(net_open(&net, NULL), 0);
	assert_int_equal(filter_len(net.src.fd), 0);
	make_addr(&a, "127.0.0.2", 3210);
	assert_int_equal(net_drop_inits_from(&net, &a, 100), 0);
	assert_int_equal(net_drop_inits_count(&net), 1);
	assert_int_equal(filter_len(net.src.fd), 14); /* 12 + 2 per IPv4 address */
	a.port = 4000;
	assert_int_equal(net_drop_inits_from(&net, &a, 101), 0);
	assert_int_equal(net_drop_inits_count(&net), 1);
	assert_int_equal(net.drop_ips.e[0].until, 101 + SOCKFILTER_SECS);
	for (unsigned i = 1; i < SOCKFILTER_MAX; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%u", i);
		make_addr(&b, ip, 3210);
		assert_int_equal(net_drop_inits_from(&net, &b, 99 + i), 0);
	}
	assert_int_equal(net_drop_inits_count(&net), SOCKFILTER_MAX);
	assert_int_equal(filter_len(net.src.fd), 12 + 2 * SOCKFILTER_MAX);
	/* full: 192.0.2.1 (listed at 100) expires first and makes room for an IPv6 one */
	make_addr(&b, "2001:db8::1", 3210);
	assert_int_equal(net_drop_inits_from(&net, &b, 140), 0);
	assert_int_equal(net_drop_inits_count(&net), SOCKFILTER_MAX);
	assert_int_equal(filter_len(net.src.fd), 12 + 2 * (SOCKFILTER_MAX - 1) + 9);
	make_addr(&b, "192.0.2.1", 0);
	for (unsigned i = 0; i < SOCKFILTER_MAX; i++)
		assert_memory_not_equal(net.drop_ips.e[i].key, b.ip, sizeof(b.ip));
	/* salts have a list of their own: 2 + 5 instructions for the first, 5 for the next */
	const uint8_t s1[SOCKFILTER_SALT_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
	const uint8_t s2[SOCKFILTER_SALT_LEN] = {9};
	assert_int_equal(net_drop_inits_with(&net, s1, 110), 0);
	assert_int_equal(net_drop_inits_with(&net, s2, 111), 0);
	assert_int_equal(net_drop_inits_with(&net, s1, 111), 0);
	assert_int_equal(net.drop_salts.n, 2);
	assert_int_equal(net_drop_inits_count(&net), SOCKFILTER_MAX + 2);
	assert_int_equal(filter_len(net.src.fd), 12 + 2 * (SOCKFILTER_MAX - 1) + 9 + 2 + 5 * 2);
	/* expiry: nothing by 110; by 121 127.0.0.2 (until 111), 192.0.2.2..12 (until 111..121)
	 * and both salts (s1 refreshed to 121) */
	assert_int_equal(net_drop_inits_expire(&net, 110), 0);
	assert_int_equal(net_drop_inits_count(&net), SOCKFILTER_MAX + 2);
	assert_int_equal(net_drop_inits_expire(&net, 121), 0);
	assert_int_equal(net.drop_salts.n, 0);
	assert_int_equal(net_drop_inits_count(&net), SOCKFILTER_MAX - 12);
	assert_int_equal(filter_len(net.src.fd), 12 + 2 * (SOCKFILTER_MAX - 13) + 9);
	assert_int_equal(net_drop_inits_expire(&net, 150), 0);
	assert_int_equal(net_drop_inits_count(&net), 0);
	assert_int_equal(filter_len(net.src.fd), 0);
	net_close(&net);
}

static void test_dual_stack_sources(void **state)
{
	(void)state;
	struct net net;
	struct addr from, from_mapped;

	assert_int_equal(net_open(&net, NULL), 0);
	/* IPv4 sender: the source is the IPv4-mapped form. */
	send_plain(AF_INET, "127.0.0.1", "127.0.0.1", net.t.local.port, &from);
	assert_true(addr_is_v4(&from));
	expect_one(&net, &from);
	assert_true(addr_is_v4(&from));

	/* An IPv6 socket sending to the mapped address: the same normalised form. */
	send_plain(AF_INET6, "::ffff:127.0.0.1", "::ffff:127.0.0.1", net.t.local.port, &from_mapped);
	assert_true(addr_is_v4(&from_mapped));
	expect_one(&net, &from_mapped);

	if (have_v6) {
		struct addr from6;
		send_plain(AF_INET6, "::1", "::1", net.t.local.port, &from6);
		assert_false(addr_is_v4(&from6));
		expect_one(&net, &from6);
	}
	struct transport_rx rx = {.n = 1, .bufs = {&pool[0]}};
	assert_int_equal(net_recv_batch(&net, &rx), -EAGAIN);
	rx.n = 0;
	assert_int_equal(net_recv_batch(&net, &rx), -EINVAL);
	assert_int_equal(net.t.stats.rx_packets, have_v6 ? 3 : 2);
	assert_int_equal(net.t.stats.rx_bytes, have_v6 ? 12 : 8);
	net_close(&net);
}

static uint32_t payload_len(unsigned i)
{
	return 1 + (i * 37) % 1400;
}

static void fill(struct buf *b, unsigned i)
{
	uint8_t *p = buf_put(b, payload_len(i));
	assert_non_null(p);
	for (uint32_t k = 0; k < payload_len(i); k++)
		p[k] = (uint8_t)(i + k);
}

static void check(const struct buf *b, unsigned i)
{
	assert_int_equal(b->len, payload_len(i));
	for (uint32_t k = 0; k < b->len; k++)
		assert_int_equal(buf_data(b)[k], (uint8_t)(i + k));
}

static void open_pair(struct net *rxn, struct net *txn, struct addr *dst, const char *ip)
{
	assert_int_equal(net_open(rxn, NULL), 0);
	assert_int_equal(net_open(txn, NULL), 0);
	make_addr(dst, ip, rxn->t.local.port);
}

static void test_batch_64(void **state)
{
	(void)state;
	const char *ips[] = {"127.0.0.1", "::1"};

	for (size_t v = 0; v < (have_v6 ? 2u : 1u); v++) {
		struct net a, b;
		struct net_tx tx = {0};
		struct buf got[NET_BATCH];
		struct addr src[NET_BATCH], dst, expect_src;

		pool_reset();
		open_pair(&a, &b, &dst, ips[v]);
		make_addr(&expect_src, ips[v], b.t.local.port);
		for (unsigned i = 0; i < NET_BATCH; i++) {
			fill(&pool[i], i);
			assert_int_equal(net_tx_add(&tx, &pool[i], &dst), 0);
		}
		assert_true(net_tx_full(&tx));
		assert_int_equal(net_tx_add(&tx, &pool[0], &dst), -ENOBUFS);
		assert_int_equal(net_tx_flush(&b, &tx), NET_BATCH);
		assert_int_equal(tx.n, 0);
		/* the caller's buffers are untouched */
		for (unsigned i = 0; i < NET_BATCH; i++) {
			assert_ptr_equal(tx.bufs[i], &pool[i]);
			check(&pool[i], i);
		}
		assert_int_equal(b.t.stats.tx_packets, NET_BATCH);
		assert_int_equal(b.t.stats.tx_errors + b.t.stats.tx_dropped, 0);

		assert_int_equal(recv_all(&a, got, src, NET_BATCH), NET_BATCH);
		uint64_t bytes = 0;
		for (unsigned i = 0; i < NET_BATCH; i++) {
			check(&got[i], i);
			assert_int_equal(got[i].off, HEADROOM);
			assert_true(addr_equal(&src[i], &expect_src));
			bytes += payload_len(i);
		}
		assert_int_equal(a.t.stats.rx_packets, NET_BATCH);
		assert_int_equal(a.t.stats.rx_bytes, bytes);
		assert_int_equal(b.t.stats.tx_bytes, bytes);
		/* an empty flush is fine */
		assert_int_equal(net_tx_flush(&b, &tx), 0);
		net_close(&a);
		net_close(&b);
	}
}

/* Sends good, bad[0], good, bad[1], ..., good; checks counts and the good contents. */
static void send_batch_with(const char *const *bad_ips, size_t nbad)
{
	struct net a, b;
	struct net_tx tx = {0};
	struct buf got[NET_BATCH];
	struct addr src[NET_BATCH], good, bad;
	unsigned n = (unsigned)(2 * nbad + 1), ngood = (unsigned)nbad + 1;

	pool_reset();
	open_pair(&a, &b, &good, "127.0.0.1");
	for (unsigned i = 0; i < n; i++) {
		fill(&pool[i], i);
		if (i % 2)
			make_addr(&bad, bad_ips[i / 2], 9);
		assert_int_equal(net_tx_add(&tx, &pool[i], i % 2 ? &bad : &good), 0);
	}
	assert_int_equal(net_tx_flush(&b, &tx), ngood);
	assert_int_equal(b.t.stats.tx_errors, nbad);
	assert_int_equal(b.t.stats.tx_packets, ngood);
	assert_int_equal(recv_all(&a, got, src, ngood), ngood);
	for (unsigned i = 0; i < ngood; i++)
		check(&got[i], 2 * i);
	net_close(&a);
	net_close(&b);
}

static void test_partial_failure_port0(void **state)
{
	(void)state;
	/* UDP refuses destination port 0 locally (EINVAL) in every namespace. */
	struct net a, b;
	struct net_tx tx = {0};
	struct transport_rx rx;
	struct buf got[NET_BATCH];
	struct addr src[NET_BATCH], good, bad;

	pool_reset();
	open_pair(&a, &b, &good, "127.0.0.1");
	make_addr(&bad, "127.0.0.1", 0);
	for (unsigned i = 0; i < 5; i++) {
		fill(&pool[i], i);
		assert_int_equal(net_tx_add(&tx, &pool[i], i % 2 ? &bad : &good), 0);
	}
	assert_int_equal(net_tx_flush(&b, &tx), 3);
	assert_int_equal(b.t.stats.tx_errors, 2);
	assert_int_equal(recv_all(&a, got, src, 3), 3);
	check(&got[0], 0);
	check(&got[1], 2);
	check(&got[2], 4);

	/* Single control message path. */
	assert_int_equal(net_sendto(&b, (const uint8_t *)"hi", 2, &bad), -EINVAL);
	assert_int_equal(net_sendto(&b, (const uint8_t *)"hi", 2, &good), 0);
	assert_int_equal(b.t.stats.tx_errors, 3);
	assert_int_equal(b.t.stats.tx_packets, 4);
	wait_readable(&a);
	rx.n = 1;
	rx.bufs[0] = &pool[0];
	assert_int_equal(net_recv_batch(&a, &rx), 1);
	assert_int_equal(pool[0].len, 2);
	net_close(&a);
	net_close(&b);
}

static void test_partial_failure_unroutable(void **state)
{
	(void)state;
	if (!private_netns)
		skip(); /* the host namespace may well route the documentation prefixes */
	static const char *const v4[] = {"192.0.2.1", "198.51.100.7", "203.0.113.9"};
	send_batch_with(v4, 3);
	if (have_v6) {
		static const char *const mixed[] = {"2001:db8::1", "192.0.2.1", "2001:db8::2"};
		send_batch_with(mixed, 3);
	}
}

static void test_recv_truncated(void **state)
{
	(void)state;
	struct net a, b;
	struct transport_rx rx;
	struct net_tx tx = {0};
	struct addr dst;
	uint8_t small_store[16];
	struct buf small = {.base = small_store, .size = sizeof(small_store), .off = 4};

	pool_reset();
	open_pair(&a, &b, &dst, "127.0.0.1");
	pool[0].len = 13; /* 13 + 4 > 16: truncated into the small buffer */
	pool[1].len = 12;
	pool[2].len = 20;
	for (unsigned i = 0; i < 3; i++) {
		memset(buf_data(&pool[i]), 'a' + (int)i, pool[i].len);
		assert_int_equal(net_tx_add(&tx, &pool[i], &dst), 0);
	}
	assert_int_equal(net_tx_flush(&b, &tx), 3);

	pool_reset();
	rx.n = 3;
	rx.bufs[0] = &small;
	rx.bufs[1] = &pool[0];
	rx.bufs[2] = &pool[1];
	wait_readable(&a);
	int n = net_recv_batch(&a, &rx);
	assert_int_equal(n, 2);
	assert_int_equal(a.t.stats.rx_dropped, 1);
	/* received first, the dropped buffer behind them: still the same three buffers */
	assert_ptr_equal(rx.bufs[0], &pool[0]);
	assert_ptr_equal(rx.bufs[1], &pool[1]);
	assert_ptr_equal(rx.bufs[2], &small);
	assert_int_equal(pool[0].len, 12);
	assert_int_equal(buf_data(&pool[0])[11], 'b');
	assert_int_equal(pool[1].len, 20);
	assert_int_equal(buf_data(&pool[1])[19], 'c');
	net_close(&a);
	net_close(&b);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_eagain_policy(void **state)
{
	(void)state;
	struct net a, b;
	struct net_tx tx = {0};
	struct buf got[NET_BATCH];
	struct addr src[NET_BATCH], dst;
	struct timespec t0;

	pool_reset();
	open_pair(&a, &b, &dst, "127.0.0.1");
	for (unsigned i = 0; i < 8; i++)
		fill(&pool[i], i);

	/* A momentary full buffer: one wait, then everything goes out. */
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(net_tx_add(&tx, &pool[i], &dst), 0);
	inject_eagain = 1;
	sendmmsg_calls = 0;
	assert_int_equal(net_tx_flush(&b, &tx), 8);
	assert_int_equal(sendmmsg_calls, 2);
	assert_int_equal(b.t.stats.tx_dropped, 0);
	assert_int_equal(recv_all(&a, got, src, 8), 8);

	/* A buffer that stays full: a bounded number of waits, then drop and count. */
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(net_tx_add(&tx, &pool[i], &dst), 0);
	inject_eagain = -1;
	sendmmsg_calls = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(net_tx_flush(&b, &tx), 0);
	assert_true(ms_since(&t0) < 1000);
	assert_true(sendmmsg_calls >= 2 && sendmmsg_calls <= 8);
	assert_int_equal(b.t.stats.tx_dropped, 8);
	assert_int_equal(tx.n, 0);
	inject_eagain = 0;

	struct pollfd pfd = {.fd = a.src.fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 50), 0);
	net_close(&a);
	net_close(&b);
}

/* A plain UDP socket on 127.0.0.1 (no GRO: a UDP_SEGMENT send arrives as datagrams). */
static int plain_receiver(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Reads datagrams from fd for up to 1 s; checks the train's pattern and sizes. */
static unsigned recv_train(int fd, uint32_t seg, uint32_t total, uint8_t tag)
{
	uint8_t d[4096];
	unsigned got = 0;
	uint32_t seen = 0;

	while (seen < total) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 1000) != 1)
			break;
		ssize_t r = recv(fd, d, sizeof(d), 0);
		assert_true(r > 0);
		assert_int_equal((uint32_t)r, MIN(seg, total - seen));
		for (ssize_t i = 0; i < r; i++)
			assert_int_equal(d[i], (uint8_t)(tag + (seen + (uint32_t)i) / seg));
		seen += (uint32_t)r;
		got++;
	}
	return got;
}

/* A train of 3 datagrams (100, 100, 50 bytes), byte value tag + datagram index. */
static struct buf *train(unsigned idx, uint8_t tag)
{
	struct buf *b = &pool[idx];
	buf_reset(b, HEADROOM);
	uint8_t *p = buf_put(b, 250);
	for (unsigned i = 0; i < 250; i++)
		p[i] = (uint8_t)(tag + i / 100);
	return b;
}

/*
 * UDP GSO refused: EMSGSIZE (path MTU too small) for one destination sends its trains
 * datagram by datagram from then on while others keep GSO; EIO switches GSO off.
 */
static void test_gso_fallback(void **state)
{
	(void)state;
	if (!private_netns)
		skip();
	struct net net;
	struct net_tx tx = {0};
	struct addr lo, d1, d2;
	uint16_t p1, p2;
	int r1 = plain_receiver(&p1), r2 = plain_receiver(&p2);

	pool_reset();
	make_addr(&lo, "127.0.0.1", 0);
	assert_int_equal(net_open(&net, &lo), 0);
	assert_true(net.gso);
	make_addr(&d1, "127.0.0.1", p1);
	make_addr(&d2, "127.0.0.1", p2);
	inject_gso_port = p1;
	inject_gso_errno = EMSGSIZE;
	memset(gso_sent, 0, sizeof(gso_sent));

	/* plain datagram, train to d1 (refused), train to d2 (GSO) */
	struct buf *one = &pool[0];
	buf_reset(one, HEADROOM);
	memset(buf_put(one, 10), 0x55, 10);
	assert_int_equal(net_tx_add(&tx, one, &d2), 0);
	assert_int_equal(net_tx_add_train(&tx, train(1, 0x10), &d1, 100), 0);
	assert_int_equal(net_tx_add_train(&tx, train(2, 0x20), &d2, 100), 0);
	assert_int_equal(net_tx_flush(&net, &tx), 7);
	assert_int_equal(net.t.stats.tx_packets, 7);
	assert_int_equal(net.t.stats.tx_errors, 0);
	assert_true(net.gso);
	assert_int_equal(net.n_nogso, 1);
	assert_int_equal(gso_sent[0], 0);
	assert_int_equal(gso_sent[1], 1);
	uint8_t d[64];
	struct pollfd pfd = {.fd = r2, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(recv(r2, d, sizeof(d), 0), 10);
	assert_int_equal(recv_train(r1, 100, 250, 0x10), 3);
	assert_int_equal(recv_train(r2, 100, 250, 0x20), 3);

	/* d1 is remembered: no failing GSO attempt any more, d2 still GSO */
	int calls = sendmmsg_calls;
	assert_int_equal(net_tx_add_train(&tx, train(3, 0x30), &d1, 100), 0);
	assert_int_equal(net_tx_add_train(&tx, train(4, 0x40), &d2, 100), 0);
	assert_int_equal(net_tx_flush(&net, &tx), 6);
	assert_int_equal(sendmmsg_calls, calls + 1);
	assert_int_equal(gso_sent[0], 0);
	assert_int_equal(gso_sent[1], 2);
	assert_int_equal(recv_train(r1, 100, 250, 0x30), 3);
	assert_int_equal(recv_train(r2, 100, 250, 0x40), 3);

	/* EIO (no checksum offload on the way out): GSO off for every destination */
	inject_gso_port = p2;
	inject_gso_errno = EIO;
	assert_int_equal(net_tx_add_train(&tx, train(5, 0x50), &d2, 100), 0);
	assert_int_equal(net_tx_flush(&net, &tx), 3);
	assert_false(net.gso);
	assert_int_equal(recv_train(r2, 100, 250, 0x50), 3);
	inject_gso_errno = 0;
	net_close(&net);
	close(r1);
	close(r2);
}

static void test_ipv4_fallback(void **state)
{
	(void)state;
	struct net a, b;
	struct net_tx tx = {0};
	struct buf got[NET_BATCH];
	struct addr src[NET_BATCH], dst, v6dst, l6;

	pool_reset();
	inject_no_v6 = true;
	assert_int_equal(net_open(&a, NULL), 0);
	assert_int_equal(a.family, AF_INET);
	/* still normalised: 0.0.0.0 as mapped */
	assert_true(addr_is_v4(&a.t.local));
	assert_true(addr_is_unspecified(&a.t.local));
	make_addr(&l6, "::1", 0);
	assert_int_equal(net_open(&b, &l6), -EAFNOSUPPORT);
	assert_int_equal(b.src.fd, -1);
	make_addr(&l6, "127.0.0.1", 0);
	assert_int_equal(net_open(&b, &l6), 0);
	assert_int_equal(b.family, AF_INET);
	inject_no_v6 = false;

	make_addr(&dst, "127.0.0.1", a.t.local.port);
	make_addr(&v6dst, "2001:db8::1", 9);
	for (unsigned i = 0; i < 3; i++) {
		fill(&pool[i], i);
		assert_int_equal(net_tx_add(&tx, &pool[i], i == 1 ? &v6dst : &dst), 0);
	}
	assert_int_equal(net_tx_flush(&b, &tx), 2);
	assert_int_equal(b.t.stats.tx_errors, 1);
	assert_int_equal(net_sendto(&b, (const uint8_t *)"x", 1, &v6dst), -EAFNOSUPPORT);
	assert_int_equal(recv_all(&a, got, src, 2), 2);
	check(&got[0], 0);
	check(&got[1], 2);
	/* IPv4 sources arrive in the same mapped form as on the dual-stack socket */
	assert_true(addr_equal(&src[0], &b.t.local));
	net_close(&a);
	net_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_dual_stack_sources),
		cmocka_unit_test(test_batch_64),
		cmocka_unit_test(test_partial_failure_port0),
		cmocka_unit_test(test_partial_failure_unroutable),
		cmocka_unit_test(test_recv_truncated),
		cmocka_unit_test(test_eagain_policy),
		cmocka_unit_test(test_ipv4_fallback),
		cmocka_unit_test(test_gso_fallback),
		cmocka_unit_test(test_drop_inits),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}

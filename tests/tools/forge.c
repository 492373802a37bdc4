// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * forge.c - test-only hostile traffic, run inside a test's network namespace.
 *
 *   forge capture IFACE SRC DST PORT N FILE [SECONDS]
 *	keeps the first N IPv4 UDP datagrams from SRC to DST:PORT seen on IFACE (AF_PACKET),
 *	IP header, UDP header and payload, as records "2-byte big-endian length, packet".
 *   forge attack -t DST:PORT [-c FILE] [-p PEER] [-x STRANGER]... [-k KINDS] [-o SOURCES]
 *		  [-n COUNT] [-r RATE] [-s SEED] [-M MAXLEN]
 *	COUNT forged datagrams at RATE per second, the kinds taken in turn: empty, short (1..40
 *	bytes), trunc (captured datagrams cut short), ff (0xFF and garbage, random length and
 *	now and then the largest datagram), garbage, flip (captured datagrams with 1..3 bits
 *	flipped), replay (captured datagrams unchanged). Sources alternate between PEER (with
 *	the port of the capture) and the strangers (-x, or random addresses in 198.18.0.0/15
 *	when none is given); -o peer or -o stranger uses only one of them; -M caps the length
 *	of ff and garbage datagrams (a flood of garbage, not of bandwidth).
 *   forge flood -t DST:PORT -d SECONDS [-c FILE] [-P PUBKEY] [-x STRANGER | -R] [-k KINDS]
 *		 [-r RATE] [-s SEED]
 *	handshake flood, 50,000 PINGs per second unless -r: badsig (a well-formed PING whose
 *	salt and key hash are those of a captured real PING, or made from PUBKEY, the
 *	signature garbage), unsigned (a well-formed PING with a random key hash) and replay
 *	(a captured real PING unchanged), from one stranger (-x) or a random source per
 *	datagram (-R).
 *
 * Sending goes through a raw socket (IP_HDRINCL) so the source can be anybody's; the UDP
 * checksum is left out (zero), so a flipped bit reaches the node instead of being dropped by
 * the kernel, and datagrams larger than the link take IP fragments made here. Prints what it
 * sent per kind. Exit status 0, or 2 for bad usage or a socket that cannot be opened.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "meshvpn/handshake.h"
#include "meshvpn/keys.h"

#define MAX_DGRAM 65507	  /* the largest UDP payload over IPv4 */
#define NODE_MAX_DGRAM 65435 /* the largest a node reads (PROTOCOL.md 1.1) */
#define FRAG_PAYLOAD 1480    /* IP payload per fragment on a 1500-byte link */
#define MAX_CAPTURE 4096
#define BATCH 64
#define STRANGERS 16

struct dgram {
	uint32_t src, dst; /* network order */
	uint16_t sport, dport;
	uint16_t len;
	uint8_t *data;
};

enum kind { K_EMPTY, K_SHORT, K_TRUNC, K_FF, K_GARBAGE, K_FLIP, K_REPLAY, K_BADSIG,
	    K_UNSIGNED, K_PING_REPLAY, K_COUNT };
static const char *const kind_names[K_COUNT] = {
	"empty", "short", "trunc", "ff", "garbage", "flip", "replay", "badsig", "unsigned",
	"ping-replay"};

struct tally {
	unsigned long peer, stranger, bytes, failed;
};

static size_t max_len = MAX_DGRAM; /* attack -M: no datagram longer */
static struct dgram cap[MAX_CAPTURE];
static unsigned n_cap, n_ping;
static unsigned ping_idx[MAX_CAPTURE];
static struct tally tally[K_COUNT];
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: reproducible for a given seed */
static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void rnd_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static void die(const char *what)
{
	fprintf(stderr, "forge: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ---- capture ---- */

static int capture(int argc, char **argv)
{
	struct in_addr src, dst;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP)};
	static uint8_t pkt[65536];
	unsigned kept = 0, inits = 0;

	if ((argc != 7 && argc != 8) || inet_pton(AF_INET, argv[2], &src) != 1 ||
	    inet_pton(AF_INET, argv[3], &dst) != 1) {
		fprintf(stderr, "usage: forge capture IFACE SRC DST PORT N FILE [SECONDS]\n");
		return 2;
	}
	uint16_t port = htons((uint16_t)atoi(argv[4]));
	unsigned want = (unsigned)atoi(argv[5]);
	uint64_t end = clock_ns() + (uint64_t)((argc == 8 ? atof(argv[7]) : 30) * 1e9);
	FILE *out = fopen(argv[6], "wb");
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));

	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	if (!out || fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		die(argv[1]);
	while (kept < want && !stopping && clock_ns() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, pkt, sizeof(pkt), 0);
		const struct iphdr *ip = (const struct iphdr *)pkt;
		if (n < (ssize_t)sizeof(*ip) || ip->version != 4 || ip->protocol != IPPROTO_UDP ||
		    ip->saddr != src.s_addr || ip->daddr != dst.s_addr ||
		    (ntohs(ip->frag_off) & 0x3fff))
			continue;
		size_t hl = (size_t)ip->ihl * 4, tot = ntohs(ip->tot_len);
		if (tot > (size_t)n || tot < hl + sizeof(struct udphdr))
			continue;
		const struct udphdr *u = (const struct udphdr *)(pkt + hl);
		if (u->dest != port)
			continue;
		uint8_t l[2] = {(uint8_t)(tot >> 8), (uint8_t)tot};
		if (fwrite(l, 1, 2, out) != 2 || fwrite(pkt, 1, tot, out) != tot)
			die(argv[6]);
		kept++;
		if (tot > hl + sizeof(*u) && pkt[hl + sizeof(*u)] == 0xff)
			inits++;
	}
	if (fclose(out))
		die(argv[6]);
	printf("captured %u datagrams (%u init messages)\n", kept, inits);
	return kept ? 0 : 1;
}

/* Field of stage 1 in an init message: a PING (PROTOCOL.md 2.2). */
static bool is_ping(const uint8_t *m, size_t len)
{
	size_t off = 1 + HS_SALT_LEN + HS_KEY_HASH_LEN;

	if (len < off || m[0] != 0xff)
		return false;
	while (off + 3 <= len && m[off] != HS_FIELD_END) {
		size_t flen = (size_t)m[off + 1] << 8 | m[off + 2];
		if (m[off] == HS_FIELD_STAGE && flen == 1 && off + 4 <= len)
			return m[off + 3] == HS_STAGE_PING;
		off += 3 + flen;
	}
	return false;
}

static void load_capture(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t l[2], pkt[65536];

	if (!f)
		die(path);
	while (n_cap < MAX_CAPTURE && fread(l, 1, 2, f) == 2) {
		size_t tot = (size_t)l[0] << 8 | l[1];
		if (fread(pkt, 1, tot, f) != tot)
			break;
		const struct iphdr *ip = (const struct iphdr *)pkt;
		size_t hl = (size_t)ip->ihl * 4;
		if (tot < hl + sizeof(struct udphdr))
			continue;
		const struct udphdr *u = (const struct udphdr *)(pkt + hl);
		struct dgram *d = &cap[n_cap];
		d->src = ip->saddr, d->dst = ip->daddr, d->sport = u->source, d->dport = u->dest;
		d->len = (uint16_t)(tot - hl - sizeof(*u));
		d->data = malloc(d->len ? d->len : 1);
		if (!d->data)
			die("malloc");
		memcpy(d->data, pkt + hl + sizeof(*u), d->len);
		if (is_ping(d->data, d->len))
			ping_idx[n_ping++] = n_cap;
		n_cap++;
	}
	fclose(f);
}

/* ---- sending: IPv4 + UDP through a raw socket, fragments made here ---- */

static int raw_fd;
static struct sockaddr_in target;
static struct mmsghdr msgs[BATCH];
static struct iovec iovs[BATCH][2];
static uint8_t hdrs[BATCH][sizeof(struct iphdr) + sizeof(struct udphdr)];
static unsigned n_msgs;
static unsigned long send_errors;
static uint8_t scratch[BATCH][MAX_DGRAM];
static unsigned n_scratch;
static uint16_t ip_id = 1;

static void flush(void)
{
	unsigned done = 0;

	while (done < n_msgs) {
		int r = sendmmsg(raw_fd, msgs + done, n_msgs - done, 0);
		if (r <= 0) {
			if (errno == EINTR)
				continue;
			send_errors++; /* ENOBUFS and the like: skip one, go on */
			done++;
			continue;
		}
		done += (unsigned)r;
	}
	n_msgs = 0;
	n_scratch = 0;
}

static void queue(uint32_t src, const void *hdr, size_t hlen, const uint8_t *body, size_t blen,
		  uint16_t frag_off)
{
	if (n_msgs == BATCH)
		flush();
	unsigned i = n_msgs++;
	struct iphdr *ip = (struct iphdr *)hdrs[i];

	memset(ip, 0, sizeof(*ip));
	ip->version = 4, ip->ihl = 5, ip->ttl = 64, ip->protocol = IPPROTO_UDP;
	ip->saddr = src, ip->daddr = target.sin_addr.s_addr;
	ip->id = htons(ip_id);
	ip->frag_off = htons(frag_off);
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + hlen + blen));
	if (hlen)
		memcpy(hdrs[i] + sizeof(*ip), hdr, hlen);
	iovs[i][0] = (struct iovec){.iov_base = hdrs[i], .iov_len = sizeof(*ip) + hlen};
	iovs[i][1] = (struct iovec){.iov_base = (void *)body, .iov_len = blen};
	msgs[i].msg_hdr = (struct msghdr){.msg_name = &target, .msg_namelen = sizeof(target),
					  .msg_iov = iovs[i], .msg_iovlen = 2};
}

/* One datagram from src:sport; p must stay valid until the next flush(). */
static void send_dgram(uint32_t src, uint16_t sport, const uint8_t *p, size_t len)
{
	struct udphdr u = {.source = sport, .dest = target.sin_port,
			   .len = htons((uint16_t)(sizeof(u) + len)), .check = 0};

	ip_id++;
	if (sizeof(u) + len <= FRAG_PAYLOAD) {
		queue(src, &u, sizeof(u), p, len, 0);
		return;
	}
	/* first fragment: the UDP header and FRAG_PAYLOAD - 8 bytes; then 8-byte units */
	size_t first = FRAG_PAYLOAD - sizeof(u), off = first;
	queue(src, &u, sizeof(u), p, first, IP_MF);
	while (off < len) {
		size_t n = len - off > FRAG_PAYLOAD ? FRAG_PAYLOAD : len - off;
		uint16_t fo = (uint16_t)((off + sizeof(u)) / 8) | (off + n < len ? IP_MF : 0);
		queue(src, NULL, 0, p + off, n, fo);
		off += n;
	}
	flush(); /* before scratch buffers are handed out again */
}

static uint8_t *scratch_buf(void)
{
	if (n_scratch == BATCH)
		flush();
	return scratch[n_scratch++];
}

static void open_raw(const char *dst)
{
	char host[64];
	const char *colon = strrchr(dst, ':');
	int big = 4 << 20;

	if (!colon || (size_t)(colon - dst) >= sizeof(host)) {
		fprintf(stderr, "forge: target must be ADDR:PORT\n");
		exit(2);
	}
	memcpy(host, dst, (size_t)(colon - dst));
	host[colon - dst] = 0;
	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &target.sin_addr) != 1) {
		fprintf(stderr, "forge: bad target address %s\n", host);
		exit(2);
	}
	raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (raw_fd < 0)
		die("raw socket");
	setsockopt(raw_fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
}

/* Paces to rate datagrams per second; false once the deadline or a signal came. */
struct pace {
	uint64_t start, end;
	double rate;
	unsigned long sent;
};

static bool pace_wait(struct pace *pc)
{
	for (;;) {
		uint64_t now = clock_ns();
		if (stopping || now >= pc->end)
			return false;
		if (pc->rate <= 0 || (double)pc->sent < (double)(now - pc->start) * pc->rate / 1e9)
			return true;
		flush();
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
}

/* ---- the forged kinds ---- */

static uint32_t stranger[STRANGERS];
static unsigned n_strangers;

static uint32_t random_source(void)
{
	/* 198.18.0.0/15 (RFC 2544): addresses no test uses for anything else */
	return htonl(0xC6120000u | (uint32_t)(rnd() & 0x1ffff));
}

static const struct dgram *pick_capture(void)
{
	return n_cap ? &cap[rnd() % n_cap] : NULL;
}

/* Builds a datagram of kind k into a scratch buffer; returns its length or -1 (no capture). */
static long build(enum kind k, uint8_t *b)
{
	const struct dgram *c;
	size_t len;

	switch (k) {
	case K_EMPTY:
		return 0;
	case K_SHORT:
		len = 1 + rnd() % 40;
		rnd_fill(b, len);
		b[0] = (uint8_t)(rnd() % 2 ? rnd() % 4 : rnd()); /* often a valid key id */
		return (long)len;
	case K_TRUNC:
		if (!(c = pick_capture()) || c->len < 2)
			return -1;
		len = 1 + rnd() % (c->len - 1u);
		memcpy(b, c->data, len);
		return (long)len;
	case K_FF:
		switch (rnd() % 16) {
		case 0: len = NODE_MAX_DGRAM; break;
		case 1: len = MAX_DGRAM; break; /* longer than a node reads */
		default: len = 1 + rnd() % 1400;
		}
		len = len > max_len ? max_len : len;
		rnd_fill(b, len);
		b[0] = 0xff;
		return (long)len;
	case K_GARBAGE:
		len = rnd() % 32 ? 1 + rnd() % 1400 : NODE_MAX_DGRAM;
		len = len > max_len ? max_len : len;
		rnd_fill(b, len);
		return (long)len;
	case K_FLIP:
		if (!(c = pick_capture()) || !c->len)
			return -1;
		memcpy(b, c->data, c->len);
		for (unsigned i = 0, n = 1 + (unsigned)(rnd() % 3); i < n; i++)
			b[rnd() % c->len] ^= (uint8_t)(1u << (rnd() % 8));
		return c->len;
	case K_REPLAY:
		if (!(c = pick_capture()))
			return -1;
		memcpy(b, c->data, c->len);
		return c->len;
	default:
		return -1;
	}
}

static unsigned parse_kinds(const char *s, unsigned all)
{
	unsigned mask = 0;
	char buf[256], *save = NULL;

	if (!s)
		return all;
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int found = 0;
		for (int k = 0; k < K_COUNT; k++)
			if (!strcmp(t, kind_names[k]) && (all & (1u << k)))
				mask |= 1u << k, found = 1;
		if (!found) {
			fprintf(stderr, "forge: unknown kind %s\n", t);
			exit(2);
		}
	}
	return mask;
}

static void add_stranger(const char *a)
{
	struct in_addr in;

	if (n_strangers == STRANGERS || inet_pton(AF_INET, a, &in) != 1) {
		fprintf(stderr, "forge: bad or too many stranger addresses (%s)\n", a);
		exit(2);
	}
	stranger[n_strangers++] = in.s_addr;
}

static void report(void)
{
	unsigned long total = 0;

	flush();
	for (int k = 0; k < K_COUNT; k++) {
		struct tally *t = &tally[k];
		if (!t->peer && !t->stranger)
			continue;
		printf("%-12s %8lu sent (peer %lu, stranger %lu) %lu bytes\n", kind_names[k],
		       t->peer + t->stranger, t->peer, t->stranger, t->bytes);
		total += t->peer + t->stranger;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("total        %8lu sent, %lu send errors, %.2f s CPU\n", total, send_errors,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
}

static int attack(int argc, char **argv)
{
	const char *dst = NULL, *file = NULL, *kinds = NULL, *sources = "both";
	struct in_addr peer = {0};
	unsigned long count = 20000;
	struct pace pc = {.rate = 10000};
	int opt;

	while ((opt = getopt(argc, argv, "t:c:p:x:k:o:n:r:s:M:")) != -1) {
		switch (opt) {
		case 't': dst = optarg; break;
		case 'c': file = optarg; break;
		case 'p':
			if (inet_pton(AF_INET, optarg, &peer) != 1) {
				fprintf(stderr, "forge: bad peer address %s\n", optarg);
				return 2;
			}
			break;
		case 'x': add_stranger(optarg); break;
		case 'k': kinds = optarg; break;
		case 'o': sources = optarg; break;
		case 'M': max_len = strtoul(optarg, NULL, 0); break;
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 'r': pc.rate = atof(optarg); break;
		case 's': rng = strtoull(optarg, NULL, 0); break;
		default: goto usage;
		}
	}
	if (!dst)
		goto usage;
	open_raw(dst);
	if (file)
		load_capture(file);
	unsigned mask = parse_kinds(kinds, (1u << (K_REPLAY + 1)) - 1);
	if (!n_cap)
		mask &= ~(1u << K_TRUNC | 1u << K_FLIP | 1u << K_REPLAY);
	if (!mask) {
		fprintf(stderr, "forge: no kind left to send (nothing captured)\n");
		return 2;
	}
	bool use_peer = strcmp(sources, "stranger") != 0 && peer.s_addr;
	bool use_stranger = strcmp(sources, "peer") != 0;
	if (!use_peer && !use_stranger) {
		fprintf(stderr, "forge: no source to send from (-p or -o)\n");
		return 2;
	}
	uint16_t peer_port = n_cap ? cap[0].sport : htons(3210);
	pc.start = clock_ns();
	pc.end = UINT64_MAX;
	for (unsigned long i = 0, k = 0; i < count && pace_wait(&pc); k++) {
		enum kind kd = (enum kind)(k % (K_REPLAY + 1));
		if (!(mask & (1u << kd)))
			continue;
		uint8_t *b = scratch_buf();
		long len = build(kd, b);
		if (len < 0)
			continue;
		bool from_peer = use_peer && (!use_stranger || i % 2 == 0);
		uint32_t src = from_peer ? peer.s_addr
			       : n_strangers ? stranger[rnd() % n_strangers] : random_source();
		uint16_t sport = from_peer ? peer_port : htons((uint16_t)(1024 + rnd() % 60000));
		send_dgram(src, sport, b, (size_t)len);
		struct tally *t = &tally[kd];
		from_peer ? t->peer++ : t->stranger++;
		t->bytes += (unsigned long)len;
		i++, pc.sent++;
	}
	report();
	return 0;
usage:
	fprintf(stderr, "usage: forge attack -t DST:PORT [-c FILE] [-p PEER] [-x STRANGER]... "
			"[-k KINDS] [-o both|peer|stranger] [-n COUNT] [-r RATE] [-s SEED] "
			"[-M MAXLEN]\n");
	return 2;
}

/* ---- handshake flood ---- */

static uint8_t flood_pk[HS_PUBKEY_LEN];
static bool have_pk;

/* A well-formed PING (PROTOCOL.md 2.2): salt, key hash, STAGE, SALTED_HASH, ECDH, ALGORITHMS,
 * END, signature; 155 bytes. The key hash comes from a captured PING, PUBKEY or chance. */
static size_t build_ping(uint8_t *b, bool keyed)
{
	static const uint8_t algos[] = {1, 0x44, 0x7a, 0, 0, 2, 0x44, 0x48, 0, 0,
					3, 0x44, 0x16, 0, 0};
	size_t o = 0;

	b[o++] = 0xff;
	rnd_fill(b + o, HS_SALT_LEN + HS_KEY_HASH_LEN);
	if (keyed && have_pk) {
		hs_key_hash(b + o + HS_SALT_LEN, flood_pk, b + o);
	} else if (keyed && n_ping) {
		const struct dgram *c = &cap[ping_idx[rnd() % n_ping]];
		memcpy(b + o, c->data + 1, HS_SALT_LEN + HS_KEY_HASH_LEN);
	}
	o += HS_SALT_LEN + HS_KEY_HASH_LEN;
	b[o++] = HS_FIELD_STAGE, b[o++] = 0, b[o++] = 1, b[o++] = HS_STAGE_PING;
	b[o++] = HS_FIELD_SALTED_HASH, b[o++] = 0, b[o++] = HS_SALTED_HASH_LEN;
	rnd_fill(b + o, HS_SALTED_HASH_LEN);
	o += HS_SALTED_HASH_LEN;
	b[o++] = HS_FIELD_ECDH, b[o++] = 0, b[o++] = 32;
	rnd_fill(b + o, 32);
	o += 32;
	b[o++] = HS_FIELD_ALGORITHMS, b[o++] = 0, b[o++] = sizeof(algos);
	memcpy(b + o, algos, sizeof(algos));
	o += sizeof(algos);
	b[o++] = HS_FIELD_END;
	b[o++] = 64;
	rnd_fill(b + o, 64);
	return o + 64;
}

static int flood(int argc, char **argv)
{
	const char *dst = NULL, *file = NULL, *kinds = NULL;
	struct pace pc = {.rate = 50000};
	bool random_src = false;
	double seconds = 0;
	int opt;

	while ((opt = getopt(argc, argv, "t:c:P:x:Rk:d:r:s:")) != -1) {
		switch (opt) {
		case 't': dst = optarg; break;
		case 'c': file = optarg; break;
		case 'P':
			if (keys_decode(flood_pk, optarg)) {
				fprintf(stderr, "forge: bad public key\n");
				return 2;
			}
			have_pk = true;
			break;
		case 'x': add_stranger(optarg); break;
		case 'R': random_src = true; break;
		case 'k': kinds = optarg; break;
		case 'd': seconds = atof(optarg); break;
		case 'r': pc.rate = atof(optarg); break;
		case 's': rng = strtoull(optarg, NULL, 0); break;
		default: goto usage;
		}
	}
	if (!dst || seconds <= 0 || (!random_src && !n_strangers))
		goto usage;
	open_raw(dst);
	if (file)
		load_capture(file);
	unsigned all = 1u << K_BADSIG | 1u << K_UNSIGNED | 1u << K_PING_REPLAY;
	unsigned mask = parse_kinds(kinds, all);
	if (!n_ping)
		mask &= ~(1u << K_PING_REPLAY);
	if (!n_ping && !have_pk)
		mask &= ~(1u << K_BADSIG);
	if (!mask) {
		fprintf(stderr, "forge: no kind left to send (no captured PING, no -P)\n");
		return 2;
	}
	uint16_t one_port = htons((uint16_t)(1024 + rnd() % 60000));
	pc.start = clock_ns();
	pc.end = pc.start + (uint64_t)(seconds * 1e9);
	for (unsigned k = 0; pace_wait(&pc); k++) {
		enum kind kd = (enum kind)(K_BADSIG + k % 3);
		if (!(mask & (1u << kd)))
			continue;
		uint8_t *b = scratch_buf();
		size_t len;
		if (kd == K_PING_REPLAY) {
			const struct dgram *c = &cap[ping_idx[rnd() % n_ping]];
			memcpy(b, c->data, c->len);
			len = c->len;
		} else {
			len = build_ping(b, kd == K_BADSIG);
		}
		uint32_t src = random_src ? random_source() : stranger[rnd() % n_strangers];
		uint16_t sport = random_src ? htons((uint16_t)(1024 + rnd() % 60000)) : one_port;
		send_dgram(src, sport, b, len);
		tally[kd].stranger++;
		tally[kd].bytes += len;
		pc.sent++;
	}
	report();
	double secs = (double)(clock_ns() - pc.start) / 1e9;
	printf("rate         %8.0f per second over %.1f s\n", (double)pc.sent / secs, secs);
	return 0;
usage:
	fprintf(stderr, "usage: forge flood -t DST:PORT -d SECONDS [-c FILE] [-P PUBKEY] "
			"(-x STRANGER | -R) [-k badsig,unsigned,ping-replay] [-r RATE] "
			"[-s SEED]\n");
	return 2;
}

int main(int argc, char **argv)
{
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "capture"))
		return capture(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "attack"))
		return attack(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "flood"))
		return flood(argc - 1, argv + 1);
	fprintf(stderr, "usage: forge capture|attack|flood ... (see tests/tools/forge.c)\n");
	return 2;
}

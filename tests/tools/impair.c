// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * impair.c - test-only link impairment relay (this kernel has no tc netem).
 *
 * Bridges two interfaces, usually the two ends of veth pairs inside a namespace of the
 * test's own, with AF_PACKET sockets. Each direction independently:
 *   -l P   drop P percent of the frames
 *   -d MS  hold every frame MS milliseconds
 *   -r P   send P percent of the frames at once, overtaking the held ones (reordering)
 * A frame that is neither dropped nor reordered joins a FIFO of held frames; as every held
 * frame waits the same time, the FIFO is ordered by due time and needs no heap. Storage is
 * one array of fixed slots allocated at start.
 *
 * usage: impair -a IFA -b IFB [-l loss%] [-d delay_ms] [-r reorder%] [-s seed] [-t secs]
 * Prints per-direction counters on exit (SIGINT/SIGTERM or -t expiry).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 2048
#define SLOT_BYTES 9216

struct held {
	uint64_t due;
	uint32_t len;
	uint8_t frame[SLOT_BYTES];
};

struct direction {
	const char *name;
	int from, to;
	struct held *ring;
	unsigned head, count;
	unsigned long rx, sent, dropped, reordered, overflow, oversize;
};

static volatile sig_atomic_t stopping;
static unsigned loss_pm, reorder_pm; /* per mille */
static uint64_t delay_ns;
static uint64_t rng = 0x2545F4914F6CDD1Dull;

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
static unsigned per_mille(void)
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return (unsigned)((z ^ (z >> 31)) % 1000);
}

static int bind_packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	struct packet_mreq mreq = {.mr_type = PACKET_MR_PROMISC};
	int one = 1, bufsize = 4 << 20;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (fd < 0 || !sll.sll_ifindex) {
		fprintf(stderr, "impair: cannot open %s: %s\n", ifname, strerror(errno));
		exit(2);
	}
	/* only frames arriving on the interface, not the ones we send out of it */
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "impair: bind %s: %s\n", ifname, strerror(errno));
		exit(2);
	}
	mreq.mr_ifindex = sll.sll_ifindex;
	setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof(mreq));
	return fd;
}

static void forward(struct direction *d, const uint8_t *frame, size_t len)
{
	if (send(d->to, frame, len, 0) == (ssize_t)len)
		d->sent++;
}

static void receive(struct direction *d, uint64_t now)
{
	uint8_t frame[65536];

	for (int i = 0; i < 512; i++) {
		ssize_t n = recv(d->from, frame, sizeof(frame), 0);
		if (n <= 0)
			return;
		d->rx++;
		if (per_mille() < loss_pm) {
			d->dropped++;
		} else if (delay_ns == 0 || per_mille() < reorder_pm) {
			if (delay_ns)
				d->reordered++;
			forward(d, frame, (size_t)n);
		} else if ((size_t)n > SLOT_BYTES) {
			d->oversize++;
		} else if (d->count == SLOTS) {
			d->overflow++;
		} else {
			struct held *h = &d->ring[(d->head + d->count++) % SLOTS];
			h->due = now + delay_ns;
			h->len = (uint32_t)n;
			memcpy(h->frame, frame, (size_t)n);
		}
	}
}

/* Sends what is due; returns ns until the next held frame is due, or -1. */
static int64_t release(struct direction *d, uint64_t now)
{
	while (d->count) {
		struct held *h = &d->ring[d->head];
		if (h->due > now)
			return (int64_t)(h->due - now);
		forward(d, h->frame, h->len);
		d->head = (d->head + 1) % SLOTS;
		d->count--;
	}
	return -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: impair -a IFA -b IFB [-l loss%%] [-d delay_ms] [-r reorder%%] "
			"[-s seed] [-t seconds]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ifa = NULL, *ifb = NULL;
	double seconds = 0;
	int opt;

	while ((opt = getopt(argc, argv, "a:b:l:d:r:s:t:")) != -1) {
		switch (opt) {
		case 'a': ifa = optarg; break;
		case 'b': ifb = optarg; break;
		case 'l': loss_pm = (unsigned)(atof(optarg) * 10); break;
		case 'd': delay_ns = (uint64_t)(atof(optarg) * 1e6); break;
		case 'r': reorder_pm = (unsigned)(atof(optarg) * 10); break;
		case 's': rng = strtoull(optarg, NULL, 0); break;
		case 't': seconds = atof(optarg); break;
		default: usage();
		}
	}
	if (!ifa || !ifb)
		usage();

	struct direction dirs[2] = {{.name = "a->b"}, {.name = "b->a"}};
	int fa = bind_packet_socket(ifa), fb = bind_packet_socket(ifb);
	dirs[0].from = fa, dirs[0].to = fb;
	dirs[1].from = fb, dirs[1].to = fa;
	for (int i = 0; i < 2; i++) {
		dirs[i].ring = calloc(SLOTS, sizeof(struct held));
		if (!dirs[i].ring) {
			fprintf(stderr, "impair: out of memory\n");
			return 2;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	uint64_t end = seconds > 0 ? clock_ns() + (uint64_t)(seconds * 1e9) : UINT64_MAX;
	struct pollfd pfd[2] = {{.fd = fa, .events = POLLIN}, {.fd = fb, .events = POLLIN}};
	while (!stopping) {
		uint64_t now = clock_ns();
		if (now >= end)
			break;
		int64_t wait = -1;
		for (int i = 0; i < 2; i++) {
			int64_t w = release(&dirs[i], now);
			if (w >= 0 && (wait < 0 || w < wait))
				wait = w;
		}
		int timeout = wait < 0 ? 200 : (int)((wait + 999999) / 1000000);
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		now = clock_ns();
		if (pfd[0].revents & POLLIN)
			receive(&dirs[0], now);
		if (pfd[1].revents & POLLIN)
			receive(&dirs[1], now);
	}
	for (int i = 0; i < 2; i++)
		fprintf(stderr, "impair %s: rx %lu sent %lu dropped %lu reordered %lu overflow %lu "
				"oversize %lu\n",
			dirs[i].name, dirs[i].rx, dirs[i].sent, dirs[i].dropped, dirs[i].reordered,
			dirs[i].overflow, dirs[i].oversize);
	return 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tcpxfer - moves a known byte stream over one TCP connection and checks every byte.
 *
 *   tcpxfer -r ADDR PORT BYTES SEED SECONDS   receive: listen, accept one connection, read
 *                                             until the sender closes, compare with the
 *                                             stream SEED gives
 *   tcpxfer -s ADDR PORT BYTES SEED SECONDS   send: connect (retrying), write the stream,
 *                                             close the write side, wait for the receiver
 *                                             to close
 *
 * Exit 0 only when BYTES arrived, all equal to the stream, within SECONDS. On failure it
 * says how far the transfer got (bytes, seconds since the last progress, the first wrong
 * offset), so a stall in the tunnel shows as a stall, not as a client's vague error. The
 * integration tests use it instead of iperf3 where the point is that data arrive intact,
 * not how fast: iperf3's own control connection can fail on a lossy link for reasons of
 * its own.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tool_addr.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* byte i of the stream for seed: xorshift64 words, so any offset can be recomputed */
struct stream {
	uint64_t state, word;
	unsigned left;
};

static uint8_t stream_next(struct stream *s)
{
	if (!s->left) {
		s->state ^= s->state << 13;
		s->state ^= s->state >> 7;
		s->state ^= s->state << 17;
		s->word = s->state;
		s->left = 8;
	}
	uint8_t b = (uint8_t)s->word;
	s->word >>= 8;
	s->left--;
	return b;
}

static int wait_fd(int fd, short events, double deadline)
{
	double left = deadline - now_s();
	if (left <= 0)
		return 0;
	struct pollfd p = {.fd = fd, .events = events};
	int r = poll(&p, 1, (int)(left * 1000) + 1);
	return r < 0 && errno == EINTR ? 1 : r;
}

int main(int argc, char **argv)
{
	if (argc != 7 || (strcmp(argv[1], "-r") && strcmp(argv[1], "-s"))) {
		fprintf(stderr, "usage: tcpxfer -r|-s ADDR PORT BYTES SEED SECONDS\n");
		return 2;
	}
	int recv_mode = !strcmp(argv[1], "-r");
	struct sockaddr_storage ss;
	socklen_t len = tool_addr(&ss, argv[2], argv[3]);
	unsigned long long total = strtoull(argv[4], NULL, 0), done = 0;
	struct stream st = {.state = strtoull(argv[5], NULL, 0) | 1};
	double t0 = now_s(), deadline = t0 + atof(argv[6]), progress = t0;
	uint8_t buf[65536];
	int fd = -1;

	signal(SIGPIPE, SIG_IGN);
	if (!len) {
		fprintf(stderr, "tcpxfer: bad address %s\n", argv[2]);
		return 2;
	}
	if (recv_mode) {
		int one = 1, l = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (l < 0 || bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 1) < 0) {
			fprintf(stderr, "tcpxfer: listen on %s:%s: %s\n", argv[2], argv[3],
				strerror(errno));
			return 2;
		}
		if (wait_fd(l, POLLIN, deadline) <= 0 || (fd = accept(l, NULL, NULL)) < 0) {
			fprintf(stderr, "tcpxfer: no connection within %s s\n", argv[6]);
			return 1;
		}
		close(l);
		t0 = progress = now_s();
		for (;;) {
			if (wait_fd(fd, POLLIN, deadline) <= 0) {
				fprintf(stderr, "tcpxfer: time is up: received %llu of %llu bytes, "
						"nothing for the last %.1f s\n",
					done, total, now_s() - progress);
				return 1;
			}
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				fprintf(stderr, "tcpxfer: read after %llu bytes: %s\n", done,
					strerror(errno));
				return 1;
			}
			if (n == 0)
				break;
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != stream_next(&st)) {
					fprintf(stderr, "tcpxfer: byte %llu differs from the stream\n",
						done + (unsigned long long)i);
					return 1;
				}
			done += (unsigned long long)n;
			progress = now_s();
		}
		close(fd);
		double t = now_s() - t0;
		if (done != total) {
			fprintf(stderr, "tcpxfer: the sender closed after %llu of %llu bytes\n", done,
				total);
			return 1;
		}
		printf("received %llu bytes intact in %.2f s = %.1f Mbit/s\n", done, t,
		       t > 0 ? (double)done * 8 / t / 1e6 : 0);
		return 0;
	}

	while ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
	       connect(fd, (struct sockaddr *)&ss, len) < 0) {
		int e = errno;
		close(fd);
		if (now_s() >= deadline) {
			fprintf(stderr, "tcpxfer: connect %s:%s: %s\n", argv[2], argv[3],
				strerror(e));
			return 1;
		}
		usleep(100000);
	}
	if (fd < 0)
		return 2;
	/* a stalled tunnel must not block a write past the deadline */
	struct timeval tv = {.tv_sec = 1};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t0 = now_s();
	while (done < total) {
		size_t n = total - done < sizeof(buf) ? (size_t)(total - done) : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = stream_next(&st);
		for (size_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, n - off);
			if (w < 0 && (errno == EINTR || errno == EAGAIN))
				w = 0;
			else if (w < 0) {
				fprintf(stderr, "tcpxfer: write after %llu bytes: %s\n", done + off,
					strerror(errno));
				return 1;
			}
			off += (size_t)w;
			if (off < n && now_s() > deadline) {
				fprintf(stderr, "tcpxfer: time is up: sent %llu of %llu bytes\n",
					done + off, total);
				return 1;
			}
		}
		done += n;
	}
	shutdown(fd, SHUT_WR);
	/* the receiver closes once it has read everything: that is the acknowledgement */
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) <= 0) {
			fprintf(stderr, "tcpxfer: time is up: all %llu bytes written, the receiver "
					"did not close\n",
				total);
			return 1;
		}
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "tcpxfer: waiting for the receiver: %s\n", strerror(errno));
			return 1;
		}
	}
	double t = now_s() - t0;
	printf("sent %llu bytes in %.2f s = %.1f Mbit/s\n", total, t,
	       t > 0 ? (double)total * 8 / t / 1e6 : 0);
	return 0;
}

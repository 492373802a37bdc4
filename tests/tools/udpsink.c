// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * udpsink.c - test-only UDP receiver: binds ADDR:PORT (IPv4 or IPv6), writes every datagram
 * to stdout followed by a line "--" (or with -q only counts them and prints the count and
 * the bytes at the end), exits after COUNT datagrams or SECONDS.
 * usage: udpsink [-q] ADDR PORT COUNT SECONDS
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool_addr.h"

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	static char buf[65536];
	int fd, count, got = 0, quiet = 0, big = 8 << 20;
	unsigned long long bytes = 0;
	socklen_t sl;
	time_t end;

	if (argc > 1 && strcmp(argv[1], "-q") == 0) {
		quiet = 1;
		argv++, argc--;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: udpsink [-q] ADDR PORT COUNT SECONDS\n");
		return 2;
	}
	sl = tool_addr(&ss, argv[1], argv[2]);
	if (!sl) {
		fprintf(stderr, "udpsink: bad address %s\n", argv[1]);
		return 2;
	}
	count = atoi(argv[3]);
	end = time(NULL) + atoi(argv[4]);
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		perror("udpsink");
		return 2;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	while (got < count && time(NULL) < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			break;
		got++;
		bytes += (unsigned long long)n;
		if (!quiet) {
			fwrite(buf, 1, (size_t)n, stdout);
			printf("\n--\n");
			fflush(stdout);
		}
	}
	if (quiet)
		printf("%d datagrams %llu bytes\n", got, bytes);
	return got >= count ? 0 : 1;
}

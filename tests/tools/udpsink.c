// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * udpsink.c - test-only UDP receiver: binds IPv4 ADDR:PORT, writes every datagram to stdout
 * followed by a line "--", exits after COUNT datagrams or SECONDS.
 * usage: udpsink ADDR PORT COUNT SECONDS
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	char buf[65536];
	int fd, count, got = 0;
	time_t end;

	if (argc != 5 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "usage: udpsink ADDR PORT COUNT SECONDS\n");
		return 2;
	}
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	count = atoi(argv[3]);
	end = time(NULL) + atoi(argv[4]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("udpsink");
		return 2;
	}
	while (got < count && time(NULL) < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		printf("\n--\n");
		fflush(stdout);
		got++;
	}
	return got >= count ? 0 : 1;
}

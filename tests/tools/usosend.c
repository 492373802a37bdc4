// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * usosend.c - test-only sender of UDP GSO messages: COUNT sends of SIZE bytes each, cut by
 * the kernel (UDP_SEGMENT) into datagrams of SEG bytes, to ADDR:PORT (IPv4 or IPv6), 10 ms
 * apart. Through a TUN with USO offload these reach the VPN as super-packets of SIZE bytes.
 * usage: usosend ADDR PORT COUNT SIZE SEG
 */
#include <arpa/inet.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool_addr.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	static char buf[65536];
	socklen_t sl;

	if (argc != 6) {
		fprintf(stderr, "usage: usosend ADDR PORT COUNT SIZE SEG\n");
		return 2;
	}
	sl = tool_addr(&ss, argv[1], argv[2]);
	if (!sl) {
		fprintf(stderr, "usosend: bad address %s\n", argv[1]);
		return 2;
	}
	int count = atoi(argv[3]), size = atoi(argv[4]), seg = atoi(argv[5]);
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || size <= 0 || size > (int)sizeof(buf) ||
	    setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0) {
		perror("usosend");
		return 2;
	}
	for (int i = 0; i < size; i++)
		buf[i] = (char)(i / seg);
	for (int i = 0; i < count; i++) {
		if (sendto(fd, buf, (size_t)size, 0, (struct sockaddr *)&ss, sl) != size) {
			perror("usosend: sendto");
			return 1;
		}
		usleep(10000);
	}
	return 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tool_addr.h - test tools: an IPv4 or IPv6 address and a port as a sockaddr. */
#ifndef MESHVPN_TOOL_ADDR_H
#define MESHVPN_TOOL_ADDR_H

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Fills ss from "ADDR" and "PORT"; returns the sockaddr length, or 0 for a bad address. */
static inline socklen_t tool_addr(struct sockaddr_storage *ss, const char *ip, const char *port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)atoi(port));
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)atoi(port));
		return sizeof(*s6);
	}
	return 0;
}

#endif

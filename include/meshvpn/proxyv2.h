/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * proxyv2.h - parser for the PROXY protocol version 2 header (HAProxy's binary form) that a
 * load balancer puts in front of a TCP stream to name the real client. Pure: bytes in,
 * a typed result out; incremental, so it can run on whatever part of the stream arrived.
 */
#ifndef MESHVPN_PROXYV2_H
#define MESHVPN_PROXYV2_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "util.h"

#define PROXYV2_SIG_LEN	    12 /* "\r\n\r\n\0\r\nQUIT\n" */
#define PROXYV2_FIXED_LEN   16 /* signature, version/command, family/transport, length (BE) */
#define PROXYV2_MAX_LEN	    (PROXYV2_FIXED_LEN + 65535)
#define PROXYV2_INET_LEN    12	/* src (4), dst (4), src port (2), dst port (2) */
#define PROXYV2_INET6_LEN   36	/* src (16), dst (16), src port (2), dst port (2) */
#define PROXYV2_UNIX_LEN    216 /* src path (108), dst path (108) */
#define PROXYV2_TLV_HDR_LEN 3	/* type (1), length (2, BE) */

#define PROXYV2_VERSION 0x2 /* high nibble of byte 13 */
enum proxyv2_command {
	PROXYV2_CMD_LOCAL = 0x0, /* health check etc. by the proxy itself: use the real peer */
	PROXYV2_CMD_PROXY = 0x1, /* relayed on behalf of the client named in the header */
};
enum proxyv2_family {
	PROXYV2_AF_UNSPEC = 0x0,
	PROXYV2_AF_INET = 0x1,
	PROXYV2_AF_INET6 = 0x2,
	PROXYV2_AF_UNIX = 0x3,
};
enum proxyv2_transport {
	PROXYV2_TP_UNSPEC = 0x0,
	PROXYV2_TP_STREAM = 0x1,
	PROXYV2_TP_DGRAM = 0x2,
};

#define PROXYV2_HAS_ADDR 0x1 /* src and dst hold the client's and the proxy's endpoints */

/* A parsed header. */
struct proxyv2 {
	unsigned flags;	   /* PROXYV2_HAS_* */
	uint8_t command;   /* enum proxyv2_command */
	uint8_t family;	   /* enum proxyv2_family */
	uint8_t transport; /* enum proxyv2_transport */
	struct addr src;   /* with PROXYV2_HAS_ADDR: the real client */
	struct addr dst;   /* with PROXYV2_HAS_ADDR: the address the client connected to */
};

/*
 * Parses the header at the start of p[0..len) (borrowed). Returns the header length N > 0
 * when it is complete (the stream's payload starts at p + N), 0 when the bytes so far are
 * a valid beginning but more are needed, -EBADMSG when they cannot be a v2 header (wrong
 * signature, even in a prefix; an address block or TLV that does not fit its length) and
 * -EPROTONOSUPPORT for a version other than 2 or an unknown command, family or transport.
 * PROXYV2_HAS_ADDR is set only for the PROXY command over TCP (STREAM) with IPv4 or IPv6;
 * LOCAL, UNSPEC, UNIX and DGRAM headers are accepted without it: the caller then uses the
 * connection's own peer address. TLVs are checked for framing and otherwise skipped.
 */
int proxyv2_parse(const uint8_t *p, size_t len, struct proxyv2 *out) WUR;

#endif

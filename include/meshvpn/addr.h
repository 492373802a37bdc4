/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * addr.h - socket addresses (parse, resolve, normalise, compare, format, wire form) and
 * virtual addresses/ranges as used in claims and forwarding tables.
 */
#ifndef MESHVPN_ADDR_H
#define MESHVPN_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util.h"

#define ADDR_DEFAULT_PORT 3210
#define ADDR_STRLEN 80 /* enough for "[v6%scope]:port" */
#define ADDR_WIRE_LEN 18 /* IPv6 (16) + port (2), IPv4 in mapped form */

/*
 * A socket address, always in normalised IPv6 form: IPv4 a.b.c.d is held as the
 * IPv4-mapped ::ffff:a.b.c.d, so a peer seen over IPv4 and over a dual-stack socket is one
 * key. Compare with addr_equal(), never memcmp (scope is only meaningful for link-local).
 */
struct addr {
	uint8_t ip[16];
	uint16_t port; /* host byte order */
	uint32_t scope;
};

/* Sets *a from an AF_INET or AF_INET6 sockaddr; -EAFNOSUPPORT for other families. */
int addr_from_sockaddr(struct addr *a, const struct sockaddr *sa, socklen_t len) WUR;
/*
 * Fills ss for sending with a socket of the given family (AF_INET6: always v6 form;
 * AF_INET: only IPv4(-mapped) addresses, else returns 0). Returns the sockaddr length.
 */
socklen_t addr_to_sockaddr(const struct addr *a, struct sockaddr_storage *ss, int family);
void addr_set_v4(struct addr *a, const uint8_t ip4[4], uint16_t port);
void addr_set_v6(struct addr *a, const uint8_t ip6[16], uint16_t port);
/* True for IPv4-mapped addresses. */
bool addr_is_v4(const struct addr *a);
/* True for :: (unspecified) */
bool addr_is_unspecified(const struct addr *a);
bool addr_equal(const struct addr *a, const struct addr *b);
/* Total order (IP bytes, then port, then scope). */
int addr_cmp(const struct addr *a, const struct addr *b);
/* Keyed hash (SipHash, per-process random key) for hash tables. */
uint32_t addr_hash(const struct addr *a);
/* "1.2.3.4:3210" (mapped addresses shown as IPv4) or "[2001:db8::1]:3210"; returns buf. */
const char *addr_format(const struct addr *a, char buf[ADDR_STRLEN]);
/* Only the IP part ("1.2.3.4", "2001:db8::1"); returns buf. */
const char *addr_format_ip(const struct addr *a, char buf[ADDR_STRLEN]);

/*
 * Parses a numeric address: "PORT", "*:PORT", "IP:PORT", "[IPv6]:PORT", "IP" (default
 * port), "IPv6" (no brackets, default port). 0 or -EINVAL.
 */
int addr_parse(const char *s, uint16_t default_port, struct addr *out) WUR;
/*
 * Splits "host:port", "[v6]:port", "v6", "host" into host and port (default_port when no
 * port is present). 0, -EINVAL (bad port / syntax) or -ENAMETOOLONG.
 */
int addr_split_host_port(const char *s, uint16_t default_port, char *host, size_t hostlen,
			 uint16_t *port) WUR;
/*
 * Resolves s (numeric or host name, blocking getaddrinfo) into up to max addresses, IPv4
 * first, deduplicated. Returns the count (>= 1) or -errno (-ENOENT when the name has no
 * address, -EINVAL on bad syntax).
 */
int addr_resolve(const char *s, uint16_t default_port, struct addr *out, int max) WUR;

/* Wire form used by NODE_INFO IPv6 entries, beacons and the WebSocket proxy. */
void addr_to_wire18(const struct addr *a, uint8_t out[ADDR_WIRE_LEN]);
void addr_from_wire18(struct addr *a, const uint8_t in[ADDR_WIRE_LEN]);
/* IPv4 wire entry: address (4) || port (2, BE). */
void addr_from_wire6(struct addr *a, const uint8_t in[6]);
/* Writes the IPv4 entry; false when a is not IPv4(-mapped). */
bool addr_to_wire6(const struct addr *a, uint8_t out[6]);

/*
 * Virtual addresses: what payload parsing extracts and what tables and claims hold.
 * len 4 = IPv4, 16 = IPv6, 6 = MAC, 8 = VLAN id (2, BE) || MAC.
 */
#define VADDR_MAX 16
#define VADDR_STRLEN 48
struct vaddr {
	uint8_t len;
	uint8_t b[VADDR_MAX];
};

/* A claimed range: base address and prefix length in bits (<= 8 * base.len). */
struct range {
	struct vaddr base;
	uint8_t prefix;
};

bool vaddr_equal(const struct vaddr *a, const struct vaddr *b);
/*
 * Dotted IPv4, lower-case colon MAC, "vlan<id>/<mac>", IPv6 as eight 4-digit groups (the
 * stats-file format of VpnCloud); returns buf.
 */
const char *vaddr_format(const struct vaddr *a, char buf[VADDR_STRLEN]);
/* Parses an IPv4, IPv6 or MAC (aa:bb:cc:dd:ee:ff) address. 0 or -EINVAL. */
int vaddr_parse(const char *s, struct vaddr *out) WUR;
/* Parses "ADDR/PREFIX" (prefix mandatory, <= address bits); host bits are kept. */
int range_parse(const char *s, struct range *out) WUR;
/* "ADDR/PREFIX" with vaddr_format's address form; returns buf. */
const char *range_format(const struct range *r, char buf[VADDR_STRLEN + 4]);
/* True when a has the range's address length and its first prefix bits equal the base's. */
bool range_match(const struct range *r, const struct vaddr *a);
bool range_equal(const struct range *a, const struct range *b);

#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ippool.h - the hub's pool of client overlay addresses: one IPv4 subnet (hub.subnet, /8 to
 * /30) as a bitmap; never the network or broadcast address, never the hub's own address,
 * never one in use. Pure: no I/O.
 */
#ifndef MESHVPN_IPPOOL_H
#define MESHVPN_IPPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "config_parse.h"
#include "util.h"

#define IPPOOL_MIN_PREFIX 8  /* larger subnets would need a bitmap of more than 2 MiB */
#define IPPOOL_MAX_PREFIX 30 /* /31 and /32 have no address besides network and broadcast */
#define IPPOOL_STRLEN	  20 /* "a.b.c.d/len" + NUL (len printed as up to 3 digits) */

/* Fields are read-only for callers (use the functions to change them). */
struct ippool {
	uint32_t net;	/* network address, host byte order */
	uint32_t size;	/* addresses in the subnet, 2^(32 - prefix) */
	uint8_t prefix; /* 8-30 */
	uint32_t hub;	/* offset of the hub's own address in the subnet, UINT32_MAX = none */
	uint32_t used;	/* addresses handed out or marked (not counting the reserved ones) */
	uint32_t hint;	/* no free address in the words below this index */
	uint64_t *bits; /* bit i set: net + i is reserved or in use; bits past size are set */
};

/*
 * Sets up an empty pool for cidr ("a.b.c.d/len", 8 <= len <= 30, no host bits set).
 * hub_ip (optional) is the hub's own address; it is never handed out when it lies in the
 * subnet (an address outside the subnet is ignored). Returns 0, -EINVAL (bad syntax, host
 * bits, prefix out of range; why->msg says which) or -ENOMEM.
 */
int ippool_init(struct ippool *p, const char *cidr, const uint8_t *hub_ip,
		struct config_error *why) WUR;
/* Frees the bitmap and leaves an empty pool (every call fails); accepts an empty pool. */
void ippool_free(struct ippool *p);

/* Hands out the lowest free address into ip. 0 or -ENOSPC (the pool is exhausted). */
int ippool_alloc(struct ippool *p, uint8_t ip[static 4]) WUR;
/*
 * Marks ip as in use (an address loaded from the registry). 0, -ERANGE (outside the
 * subnet), -EADDRNOTAVAIL (the network, broadcast or hub address) or -EEXIST (in use).
 */
int ippool_mark(struct ippool *p, const uint8_t ip[static 4]) WUR;
/* Returns ip to the pool. 0, -ERANGE, -EADDRNOTAVAIL (reserved) or -ENOENT (not in use). */
int ippool_release(struct ippool *p, const uint8_t ip[static 4]) WUR;

/* True when ip lies in the subnet (including the reserved addresses). */
bool ippool_contains(const struct ippool *p, const uint8_t ip[static 4]);
/* True when ip is handed out or marked (false for reserved or outside addresses). */
bool ippool_in_use(const struct ippool *p, const uint8_t ip[static 4]);
/* True for the network, broadcast and hub addresses. */
bool ippool_reserved(const struct ippool *p, const uint8_t ip[static 4]);
/* Number of addresses clients can get in total (the subnet minus the reserved ones). */
uint32_t ippool_capacity(const struct ippool *p);
/* The subnet as "a.b.c.d/len"; returns buf. */
const char *ippool_format(const struct ippool *p, char buf[static IPPOOL_STRLEN]);

#endif

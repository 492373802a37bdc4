/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sockfilter.h - handshake floods dropped in the kernel: a classic BPF program on the UDP
 * socket that drops handshake messages (first byte 0xFF) from a short list of source
 * addresses, and those carrying a listed salt and key hash from anywhere, and lets
 * everything else through.
 *
 * Each datagram of a flood that reaches the node costs a socket queue entry, a copy in
 * recvmmsg and a wake-up before any filter of the node can look at it; a stranger that
 * keeps sending far more handshake messages than any peer would (HSGUARD_FLOOD a tick) is
 * therefore put on this list for SOCKFILTER_SECS, and the kernel drops its handshake
 * messages right after the UDP port lookup. Session traffic from the address still comes
 * through, and the node never lists an address it has a peer, pending handshake or
 * configured peer on (forward.c), so a flood spoofed from a peer's address cuts nobody off.
 *
 * Copies of one captured handshake message sent from many (random) addresses meet no
 * address listing; their salt and key hash (bytes 1..8, which a sender makes fresh for
 * every message it builds) are listed instead once HSGUARD_COPY_FLOOD copies came from
 * other addresses within a tick. That drops only copies of that one message.
 */
#ifndef MESHVPN_SOCKFILTER_H
#define MESHVPN_SOCKFILTER_H

#include <stddef.h>
#include <stdint.h>

#include <linux/filter.h>

#include "meshvpn/addr.h"
#include "meshvpn/util.h"

#define SOCKFILTER_MAX 32  /* sources listed at once; a new one replaces the oldest */
#define SOCKFILTER_SECS 10 /* how long a source stays listed (then counted anew) */
#define SOCKFILTER_SALT_LEN 8 /* salt and key hash of a handshake message (PROTOCOL.md 2.2) */
/* fixed part + the IPv4 or IPv6 comparisons of every listed address + the salt ones */
#define SOCKFILTER_INSNS (12 + 9 * SOCKFILTER_MAX + 2 + 5 * SOCKFILTER_MAX)

/* What to drop: handshake messages from these addresses, and with these salts. */
struct sockfilter_list {
	const struct addr *ips; /* IPv4 ones IPv4-mapped, as struct addr holds them; no ports */
	size_t n_ips;		/* <= SOCKFILTER_MAX */
	const uint8_t (*salts)[SOCKFILTER_SALT_LEN];
	size_t n_salts; /* <= SOCKFILTER_MAX */
};

/* Writes the program for l into prog; returns its length in instructions, 0 if l is too long. */
size_t sockfilter_build(const struct sockfilter_list *l, struct sock_filter *prog);

/* Attaches the program for l to the socket fd, or detaches any when l is empty. 0/-errno. */
int sockfilter_apply(int fd, const struct sockfilter_list *l) WUR;

#endif

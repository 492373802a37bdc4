/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sockfilter.h - handshake floods dropped in the kernel: a classic BPF program on the UDP
 * socket that drops handshake messages (first byte 0xFF) from a short list of source
 * addresses and lets everything else through.
 *
 * Each datagram of a flood that reaches the node costs a socket queue entry, a copy in
 * recvmmsg and a wake-up before any filter of the node can look at it; a stranger that
 * keeps sending far more handshake messages than any peer would (HSGUARD_FLOOD a tick) is
 * therefore put on this list for SOCKFILTER_SECS, and the kernel drops its handshake
 * messages right after the UDP port lookup. Session traffic from the address still comes
 * through, and the node never lists an address it has a peer, pending handshake or
 * configured peer on (forward.c), so a flood spoofed from a peer's address cuts nobody off.
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
/* fixed part + the IPv4 or IPv6 comparisons of every listed address */
#define SOCKFILTER_INSNS (12 + 9 * SOCKFILTER_MAX)

/*
 * Writes into prog the program for the n (<= SOCKFILTER_MAX) addresses in a (IPv4 ones as
 * IPv4-mapped IPv6, as struct addr holds them; ports are ignored); returns its length in
 * instructions, or 0 if n is too large.
 */
size_t sockfilter_build(const struct addr *a, size_t n, struct sock_filter *prog);

/* Attaches the program for a[0..n) to the socket fd, or detaches any when n == 0. 0/-errno. */
int sockfilter_apply(int fd, const struct addr *a, size_t n) WUR;

#endif

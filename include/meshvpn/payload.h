/* SPDX-License-Identifier: GPL-3.0-or-later */
/* payload.h - source/destination extraction from TUN (IP) packets and TAP (Ethernet) frames. */
#ifndef MESHVPN_PAYLOAD_H
#define MESHVPN_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "util.h"

/* What the virtual device carries. */
enum payload_kind {
	PAYLOAD_IP,  /* TUN, IFF_NO_PI: IPv4/IPv6 packets */
	PAYLOAD_ETH, /* TAP: Ethernet frames, optionally one 802.1Q tag */
};

#define PAYLOAD_IPV4_MIN_LEN   20 /* IPv4 header without options */
#define PAYLOAD_IPV6_MIN_LEN   40 /* fixed IPv6 header */
#define PAYLOAD_ETH_MIN_LEN    14 /* dst MAC, src MAC, EtherType */
#define PAYLOAD_VLAN_MIN_LEN   16 /* ... plus the 802.1Q TCI */
#define PAYLOAD_ETHERTYPE_VLAN 0x8100
#define PAYLOAD_MAC_LEN	       6
#define PAYLOAD_VLAN_ADDR_LEN  8 /* VLAN id (2, BE) || MAC */

/*
 * Extracts the source and destination virtual addresses of one packet (borrows p; no
 * allocation, hot path). IP: 4- or 16-byte addresses. Ethernet: 6-byte MACs, or for an
 * 802.1Q frame 8-byte "VLAN id || MAC" addresses (PCP/DEI bits cleared; VLAN id 0 counts as
 * untagged). Returns 0, or -EBADMSG for truncated, empty or non-IPv4/IPv6 input (src and dst
 * are then unspecified).
 */
int payload_parse(enum payload_kind kind, const uint8_t *p, size_t len, struct vaddr *src,
		  struct vaddr *dst) WUR;

/*
 * True for group destinations that must be flooded and never cached: Ethernet multicast and
 * broadcast (I/G bit, also behind a VLAN id), IPv4 224.0.0.0/4 and 255.255.255.255, IPv6
 * ff00::/8.
 */
bool payload_is_group(const struct vaddr *a);

#endif

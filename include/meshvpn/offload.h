/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * offload.h - packet surgery for TUN offloads (IFF_VNET_HDR): complete partial checksums,
 * cut TCP/UDP GSO super-packets read from the device into ordinary packets (each one a
 * normal VpnCloud DATA message on the wire), and merge received consecutive TCP segments of
 * one flow into one GSO super-packet for a single device write. Pure protocol core: no I/O,
 * no allocation, no logging.
 */
#ifndef MESHVPN_OFFLOAD_H
#define MESHVPN_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util.h"

/* struct virtio_net_hdr as TUN reads/writes it (TUNSETVNETHDRSZ 10, host byte order). */
#define OFFLOAD_VNET_HDR_LEN 10
#define OFFLOAD_F_NEEDS_CSUM 1 /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
#define OFFLOAD_F_DATA_VALID 2 /* VIRTIO_NET_HDR_F_DATA_VALID */
#define OFFLOAD_GSO_NONE 0
#define OFFLOAD_GSO_TCPV4 1
#define OFFLOAD_GSO_UDP 3 /* UFO, never produced with our offload flags */
#define OFFLOAD_GSO_TCPV6 4
#define OFFLOAD_GSO_UDP_L4 5 /* USO */
#define OFFLOAD_GSO_ECN 0x80

#define OFFLOAD_MAX_SEGMENTS 128 /* a 64 KiB super-packet has fewer */
#define OFFLOAD_HEAD_MAX 128	 /* IP + TCP headers incl. options, max 60 + 60 (v4) / 40 + 60 */
#define OFFLOAD_MAX_MERGE 48	 /* segments merged into one device write */

struct offload_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

/* Reads/writes the 10-byte header (host byte order, as TUN uses without TUNSETVNETLE). */
void offload_hdr_read(struct offload_hdr *h, const uint8_t p[OFFLOAD_VNET_HDR_LEN]);
void offload_hdr_write(uint8_t p[OFFLOAD_VNET_HDR_LEN], const struct offload_hdr *h);

/* The Internet checksum (RFC 1071) of len bytes added to sum (not folded). */
uint32_t offload_csum_add(uint32_t sum, const uint8_t *p, size_t len);
/* Folds and complements. */
uint16_t offload_csum_fold(uint32_t sum);

/*
 * Completes a partial checksum (h->flags & OFFLOAD_F_NEEDS_CSUM): the 16-bit one's
 * complement sum from csum_start to the end, stored at csum_start + csum_offset (the field
 * already holds the pseudo-header sum, as the kernel leaves it). 0 or -EBADMSG.
 */
int offload_finish_csum(uint8_t *pkt, size_t len, const struct offload_hdr *h) WUR;

/*
 * Segmentation of a GSO super-packet (gso_type TCPV4, TCPV6 or UDP_L4; IPv4 or IPv6 without
 * extension headers) into packets of at most gso_size payload bytes each, with fixed-up
 * IP total length / payload length, IPv4 id (+1 per segment) and header checksum, TCP
 * sequence numbers, flags (FIN/PSH only on the last segment, CWR only on the first), UDP
 * length, and complete L4 checksums. Untrusted input (the local kernel, but still): every
 * length is checked.
 */
struct offload_seg {
	const uint8_t *pkt; /* borrowed super-packet (without vnet header) */
	size_t len;
	struct offload_hdr h;
	size_t l3_len;	   /* IP header length */
	size_t head_len;   /* IP + L4 header length */
	size_t off;	   /* payload bytes already emitted */
	unsigned index;	   /* segments emitted */
	bool v6, tcp;
};

/* Prepares iteration. 0, -EBADMSG (malformed) or -EOPNOTSUPP (unsupported gso_type). */
int offload_seg_begin(struct offload_seg *s, const uint8_t *pkt, size_t len,
		      const struct offload_hdr *h) WUR;
/* Number of segments the packet yields. */
unsigned offload_seg_count(const struct offload_seg *s);
/*
 * Writes the next segment (headers + payload, checksums complete) to out (cap bytes).
 * Returns its length, 0 when all segments are done, or -EMSGSIZE if cap is too small.
 */
int offload_seg_next(struct offload_seg *s, uint8_t *out, size_t cap) WUR;

/*
 * Coalescing for device writes. Given decrypted packets in arrival order, offload_merge()
 * takes the longest run starting at pkts[0] that can be written as one GSO super-packet:
 * same IP version, addresses, ports, IPv4 header fields (except id, total length,
 * checksum; no options, DF or not consistently, not a fragment), identical TCP header
 * length, options and flags (ACK, with PSH allowed on the last one only; no SYN/FIN/RST/URG/
 * CWR/ECE), consecutive sequence numbers, all payloads of the first one's size except a
 * shorter last one, total <= 65535, at most OFFLOAD_MAX_MERGE. A run of one is a plain
 * packet. The result is a writev vector: iov[0] = head (vnet header + the first packet's
 * headers with fixed total length/checksums), then the payloads (borrowed from pkts).
 */
struct offload_pkt {
	uint8_t *data;
	uint32_t len;
};

struct offload_write {
	uint8_t head[OFFLOAD_VNET_HDR_LEN + OFFLOAD_HEAD_MAX];
	struct iovec iov[OFFLOAD_MAX_MERGE + 1];
	int iovcnt;
	unsigned merged; /* packets consumed from pkts (>= 1) */
};

/* Fills w for pkts[0..merged); n >= 1. Never fails: unmergeable input gives merged = 1. */
void offload_merge(const struct offload_pkt *pkts, size_t n, struct offload_write *w);

#endif

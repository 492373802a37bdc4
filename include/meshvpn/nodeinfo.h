/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nodeinfo.h - NODE_INFO encode/decode (PROTOCOL.md 4): node id, peer list, claims, peer
 * timeout and own addresses, as sent in handshake payloads and inner type 0x01 messages.
 */
#ifndef MESHVPN_NODEINFO_H
#define MESHVPN_NODEINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "bytes.h"
#include "util.h"

#define NODEINFO_NODE_ID_LEN 16

/* Part types; each part is type (1) || length (2, BE) || content, END is one byte. */
#define NODEINFO_PART_END	   0
#define NODEINFO_PART_PEERS	   1
#define NODEINFO_PART_CLAIMS	   2
#define NODEINFO_PART_PEER_TIMEOUT 3
#define NODEINFO_PART_NODE_ID	   4
#define NODEINFO_PART_ADDRS	   5
/*
 * A meshvpn extension: one byte of NODEINFO_MESHVPN_* flags. VpnCloud 2.3 skips unknown
 * parts by their length (PROTOCOL.md 4.1), and a node writes it only when a flag is set, so
 * the NodeInfo of a node on plain UDP stays byte for byte VpnCloud's.
 */
#define NODEINFO_PART_MESHVPN	   0x40
#define NODEINFO_PART_HDR_LEN	   3

/* NODEINFO_PART_MESHVPN flags */
#define NODEINFO_MESHVPN_WEBSOCKET 0x01 /* the sender's traffic goes through a WebSocket proxy */

/* Address-list / peer-entry flags byte. */
#define NODEINFO_ENTRY_HAS_NODE_ID  0x80
#define NODEINFO_ENTRY_V6_SHIFT	    3
#define NODEINFO_ENTRY_COUNT_MASK   0x07
#define NODEINFO_V6_ENTRY_LEN	    18 /* address (16) || port (2) */
#define NODEINFO_V4_ENTRY_LEN	    6  /* address (4) || port (2) */
#define NODEINFO_MAX_PER_FAMILY	    7  /* per list on the wire; the encoder drops the rest */
#define NODEINFO_CLAIM_MAX_ADDR_LEN 16

/*
 * Capacities. An address list holds up to NODEINFO_MAX_ADDRS for encoding (at most 7 per
 * family are written); decoding yields at most 14. The decoder keeps the first
 * NODEINFO_MAX_PEERS peers and NODEINFO_MAX_CLAIMS claims, checks the rest for
 * well-formedness, ignores them and sets NODEINFO_TRUNCATED. The encoder takes at most
 * NODEINFO_ENCODE_MAX_PEERS peers (the caller picks the subset).
 */
#define NODEINFO_MAX_ADDRS	  16
#define NODEINFO_MAX_PEERS	  64
#define NODEINFO_ENCODE_MAX_PEERS 20
#define NODEINFO_MAX_CLAIMS	  256

#define NODEINFO_LIST_MAX_LEN                                                                      \
	(1 + NODEINFO_MAX_PER_FAMILY * (NODEINFO_V6_ENTRY_LEN + NODEINFO_V4_ENTRY_LEN))
/* Upper bound of nodeinfo_encode() output. */
#define NODEINFO_MAX_ENCODED_LEN                                                                   \
	(6 * NODEINFO_PART_HDR_LEN + 1 + NODEINFO_NODE_ID_LEN +                                    \
	 NODEINFO_ENCODE_MAX_PEERS * (NODEINFO_NODE_ID_LEN + NODEINFO_LIST_MAX_LEN) +              \
	 NODEINFO_MAX_CLAIMS * (2 + NODEINFO_CLAIM_MAX_ADDR_LEN) + 2 + NODEINFO_LIST_MAX_LEN + 1)

/* struct nodeinfo.flags */
#define NODEINFO_HAS_NODE_ID	  0x01
#define NODEINFO_HAS_PEERS	  0x02
#define NODEINFO_HAS_CLAIMS	  0x04
#define NODEINFO_HAS_PEER_TIMEOUT 0x08
#define NODEINFO_HAS_ADDRS	  0x10
#define NODEINFO_HAS_MESHVPN	  0x20
#define NODEINFO_TRUNCATED	  0x100 /* decode: peers or claims beyond the caps were ignored */

/* struct nodeinfo_peer.flags */
#define NODEINFO_PEER_HAS_NODE_ID 0x01

/*
 * An address list. Addresses are normalised (IPv4 as ::ffff:a.b.c.d); bit i of v4_wire
 * selects the wire form of a[i]: set = IPv4 entry (only honoured for IPv4-mapped addresses),
 * clear = IPv6 entry. The 2.3.0 reference writes an address in the form it holds it: mapped
 * addresses from its dual-stack socket as IPv6 entries, plain IPv4 ones (configured advertise
 * addresses, UPnP, IPv4 entries received from peers) as IPv4 entries. The decoder sets the
 * bit for every IPv4 entry, so a decoded list is re-encoded byte for byte.
 */
struct nodeinfo_addrs {
	uint8_t n;
	uint16_t v4_wire;
	struct addr a[NODEINFO_MAX_ADDRS];
};

struct nodeinfo_peer {
	uint8_t flags; /* NODEINFO_PEER_HAS_NODE_ID */
	uint8_t node_id[NODEINFO_NODE_ID_LEN];
	struct nodeinfo_addrs addrs;
};

/* A decoded or to-be-encoded NodeInfo (about 40 KB: keep it off small stacks). */
struct nodeinfo {
	uint32_t flags; /* NODEINFO_HAS_*, NODEINFO_TRUNCATED */
	uint8_t node_id[NODEINFO_NODE_ID_LEN];
	uint16_t peer_timeout; /* seconds */
	uint16_t n_peers;
	uint16_t n_claims;
	struct nodeinfo_peer peers[NODEINFO_MAX_PEERS];
	struct range claims[NODEINFO_MAX_CLAIMS];
	struct nodeinfo_addrs addrs; /* the sender's own addresses */
	uint8_t meshvpn;	     /* NODEINFO_MESHVPN_* (with NODEINFO_HAS_MESHVPN) */
};

/* Appends a to l (wire form as described above); false when l is full. */
bool nodeinfo_addrs_add(struct nodeinfo_addrs *l, const struct addr *a, bool v4_wire);
/* True when l holds a in the same wire form (an IPv4 entry and a mapped IPv6 entry differ). */
bool nodeinfo_addrs_contains(const struct nodeinfo_addrs *l, const struct addr *a, bool v4_wire);
/* Adds a unless l holds it in the same wire form already (as the reference deduplicates). */
bool nodeinfo_addrs_add_unique(struct nodeinfo_addrs *l, const struct addr *a, bool v4_wire);

/*
 * Appends the encoding of ni to w in the reference's part order: NODE_ID, PEERS, CLAIMS,
 * PEER_TIMEOUT (only with NODEINFO_HAS_PEER_TIMEOUT), ADDRS, then MESHVPN (only with
 * NODEINFO_HAS_MESHVPN and a flag set), END. PEERS, CLAIMS and ADDRS are
 * always written, possibly empty; the other HAS_ flags are ignored. Returns 0, -EINVAL
 * (no NODEINFO_HAS_NODE_ID, more than NODEINFO_ENCODE_MAX_PEERS peers, a list over its
 * capacity, a claim address longer than 16 bytes) or -EMSGSIZE (w too small; w's content is
 * then unspecified). A buffer of NODEINFO_MAX_ENCODED_LEN bytes always suffices.
 */
int nodeinfo_encode(const struct nodeinfo *ni, struct wr *w) WUR;

/*
 * Decodes untrusted bytes p[0..len) (borrowed) into the caller's ni, overwriting it.
 * Unknown parts are skipped, a repeated part replaces the earlier one, every part is left at
 * its end whatever was read of it, an empty ADDRS part is an empty list, and bytes after
 * END are ignored. Returns 0, -EBADMSG (truncated part or entry, claim addr_len > 16,
 * missing END) or -EPROTO (no NODE_ID part). On error ni is unspecified.
 */
int nodeinfo_decode(struct nodeinfo *ni, const uint8_t *p, size_t len) WUR;

/*
 * The MESHVPN flags of the untrusted NodeInfo p[0..len) without decoding the rest (for a
 * decision before the full decode): 0 when the part is absent, empty or the bytes malformed.
 */
uint8_t nodeinfo_meshvpn_flags(const uint8_t *p, size_t len);

#endif

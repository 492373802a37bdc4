// SPDX-License-Identifier: GPL-3.0-or-later
/* payload.c - source/destination extraction from IP packets and Ethernet frames (hot path). */
#include <errno.h>
#include <string.h>

#include "meshvpn/bytes.h"
#include "meshvpn/payload.h"

#define VLAN_ID_MASK 0x0fff /* TCI without PCP (3 bits) and DEI (1 bit) */

static void set_vaddr(struct vaddr *v, const uint8_t *p, uint8_t len)
{
	memcpy(v->b, p, len);
	v->len = len;
}

static int parse_ip(const uint8_t *p, size_t len, struct vaddr *src, struct vaddr *dst)
{
	if (len == 0)
		return -EBADMSG;
	switch (p[0] >> 4) {
	case 4:
		if (len < PAYLOAD_IPV4_MIN_LEN)
			return -EBADMSG;
		set_vaddr(src, p + 12, 4);
		set_vaddr(dst, p + 16, 4);
		return 0;
	case 6:
		if (len < PAYLOAD_IPV6_MIN_LEN)
			return -EBADMSG;
		set_vaddr(src, p + 8, 16);
		set_vaddr(dst, p + 24, 16);
		return 0;
	default:
		return -EBADMSG;
	}
}

static int parse_eth(const uint8_t *p, size_t len, struct vaddr *src, struct vaddr *dst)
{
	if (len < PAYLOAD_ETH_MIN_LEN)
		return -EBADMSG;
	if (get_be16(p + 12) == PAYLOAD_ETHERTYPE_VLAN) {
		if (len < PAYLOAD_VLAN_MIN_LEN)
			return -EBADMSG;
		uint16_t vid = get_be16(p + 14) & VLAN_ID_MASK;
		/*
		 * A priority-tagged frame (VLAN id 0) belongs to the untagged network; 2.3.0
		 * means to do this but its check never fires (quirk #10). Only affects the
		 * local table, never the wire.
		 */
		if (vid != 0) {
			put_be16(dst->b, vid);
			memcpy(dst->b + 2, p, PAYLOAD_MAC_LEN);
			dst->len = PAYLOAD_VLAN_ADDR_LEN;
			put_be16(src->b, vid);
			memcpy(src->b + 2, p + 6, PAYLOAD_MAC_LEN);
			src->len = PAYLOAD_VLAN_ADDR_LEN;
			return 0;
		}
	}
	set_vaddr(dst, p, PAYLOAD_MAC_LEN);
	set_vaddr(src, p + 6, PAYLOAD_MAC_LEN);
	return 0;
}

int payload_parse(enum payload_kind kind, const uint8_t *p, size_t len, struct vaddr *src,
		  struct vaddr *dst)
{
	if (kind == PAYLOAD_ETH)
		return parse_eth(p, len, src, dst);
	return parse_ip(p, len, src, dst);
}

bool payload_is_group(const struct vaddr *a)
{
	switch (a->len) {
	case PAYLOAD_MAC_LEN:
		return a->b[0] & 1;
	case PAYLOAD_VLAN_ADDR_LEN:
		return a->b[2] & 1;
	case 4:
		return (a->b[0] & 0xf0) == 0xe0 || get_be32(a->b) == 0xffffffffu;
	case 16:
		return a->b[0] == 0xff;
	default:
		return false;
	}
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* offload.c - virtio-net header, Internet checksum, GSO segmentation and TCP coalescing. */
#include <errno.h>
#include <string.h>

#include "meshvpn/bytes.h"
#include "meshvpn/offload.h"

#define PROTO_TCP 6
#define PROTO_UDP 17

#define IP4_HDR_MIN  20
#define IP4_TOT_LEN  2
#define IP4_ID	     4
#define IP4_FRAG     6
#define IP4_PROTO    9
#define IP4_CSUM     10
#define IP4_ADDRS    12 /* source and destination, 8 bytes */
#define IP4_MF	     0x2000
#define IP4_OFF_MASK 0x1fff
#define IP4_MAX_LEN  0xffff

#define IP6_HDR_LEN   40
#define IP6_PLEN      4
#define IP6_NEXT      6
#define IP6_ADDRS     8 /* source and destination, 32 bytes */
#define IP6_MAX_PLEN  0xffff
#define IP6_EXT_HOP   0
#define IP6_EXT_ROUTE 43
#define IP6_EXT_FRAG  44
#define IP6_EXT_ESP   50
#define IP6_EXT_AUTH  51
#define IP6_EXT_DEST  60
#define IP6_EXT_MOB   135
#define IP6_EXT_HIP   139
#define IP6_EXT_SHIM6 140

#define TCP_HDR_MIN  20
#define TCP_SEQ	     4
#define TCP_ACK	     8
#define TCP_DOFF     12
#define TCP_FLAGS    13
#define TCP_WINDOW   14
#define TCP_CSUM     16
#define TCP_URG_PTR  18
#define TCP_FIN	     0x01
#define TCP_SYN	     0x02
#define TCP_RST	     0x04
#define TCP_PSH	     0x08
#define TCP_ACK_FLAG 0x10
#define TCP_URG	     0x20
#define TCP_ECE	     0x40
#define TCP_CWR	     0x80

#define UDP_HDR_LEN 8
#define UDP_LEN	    4
#define UDP_CSUM    6

/* A computed UDP checksum of zero goes out as all ones (RFC 768; CSUM_MANGLED_0). */
#define CSUM_MANGLED_0 0xffff

void offload_hdr_read(struct offload_hdr *h, const uint8_t p[OFFLOAD_VNET_HDR_LEN])
{
	h->flags = p[0];
	h->gso_type = p[1];
	memcpy(&h->hdr_len, p + 2, 2);
	memcpy(&h->gso_size, p + 4, 2);
	memcpy(&h->csum_start, p + 6, 2);
	memcpy(&h->csum_offset, p + 8, 2);
}

void offload_hdr_write(uint8_t p[OFFLOAD_VNET_HDR_LEN], const struct offload_hdr *h)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	memcpy(p + 2, &h->hdr_len, 2);
	memcpy(p + 4, &h->gso_size, 2);
	memcpy(p + 6, &h->csum_start, 2);
	memcpy(p + 8, &h->csum_offset, 2);
}

/* One's complement addition (end-around carry). */
static inline uint64_t add64(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

static inline uint32_t add32(uint32_t a, uint32_t b)
{
	a += b;
	return a + (a < b);
}

/*
 * The one's complement sum of the 16-bit words of p, folded to 16 bits, in the byte order of
 * memory read as native words. The sum is independent of byte order up to a final swap
 * (RFC 1071 2.B), so 8 bytes are summed at a time and swapped once at the end.
 */
static uint16_t sum_native(const uint8_t *p, size_t len)
{
	uint64_t acc = 0, w[4];

	while (len >= sizeof(w)) {
		memcpy(w, p, sizeof(w));
		acc = add64(acc, w[0]);
		acc = add64(acc, w[1]);
		acc = add64(acc, w[2]);
		acc = add64(acc, w[3]);
		p += sizeof(w);
		len -= sizeof(w);
	}
	while (len >= sizeof(w[0])) {
		memcpy(w, p, sizeof(w[0]));
		acc = add64(acc, w[0]);
		p += sizeof(w[0]);
		len -= sizeof(w[0]);
	}
	if (len) {
		/* zero padding after the tail is exactly RFC 1071's odd-byte rule */
		w[0] = 0;
		memcpy(w, p, len);
		acc = add64(acc, w[0]);
	}
	acc = (acc & 0xffffffff) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

uint32_t offload_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint16_t s = sum_native(p, len);

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = __builtin_bswap16(s);
#endif
	return add32(sum, s);
}

uint16_t offload_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The pseudo-header sum (RFC 793 / RFC 8200 8.1) for an L4 length. */
static uint32_t pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, uint32_t l4_len)
{
	uint32_t sum;

	if (v6)
		sum = offload_csum_add(0, ip + IP6_ADDRS, 32);
	else
		sum = offload_csum_add(0, ip + IP4_ADDRS, 8);
	return add32(add32(sum, proto), l4_len);
}

int offload_finish_csum(uint8_t *pkt, size_t len, const struct offload_hdr *h)
{
	if (!(h->flags & OFFLOAD_F_NEEDS_CSUM))
		return 0;
	size_t start = h->csum_start, field = start + h->csum_offset;
	if (field + 2 > len)
		return -EBADMSG;
	/* the field holds the pseudo-header sum and is summed along, like skb_checksum_help() */
	uint16_t c = offload_csum_fold(offload_csum_add(0, pkt + start, len - start));
	put_be16(pkt + field, c ? c : CSUM_MANGLED_0);
	return 0;
}

static bool ip6_is_ext(uint8_t next)
{
	switch (next) {
	case IP6_EXT_HOP:
	case IP6_EXT_ROUTE:
	case IP6_EXT_FRAG:
	case IP6_EXT_ESP:
	case IP6_EXT_AUTH:
	case IP6_EXT_DEST:
	case IP6_EXT_MOB:
	case IP6_EXT_HIP:
	case IP6_EXT_SHIM6:
		return true;
	default:
		return false;
	}
}

/*
 * Parses the IP header: sets *l3_len and *proto, checks the length field against len.
 * Header lengths come from the packet, never from the vnet header's hdr_len (TUN reports
 * skb_headlen() there, which may include payload).
 */
static int parse_ip(const uint8_t *p, size_t len, bool *v6, size_t *l3_len, uint8_t *proto)
{
	if (len < 1)
		return -EBADMSG;
	switch (p[0] >> 4) {
	case 4:
		*v6 = false;
		*l3_len = (size_t)(p[0] & 0x0f) * 4;
		if (len < IP4_HDR_MIN || *l3_len < IP4_HDR_MIN || *l3_len > len)
			return -EBADMSG;
		if (get_be16(p + IP4_TOT_LEN) != len)
			return -EBADMSG;
		if (get_be16(p + IP4_FRAG) & (IP4_MF | IP4_OFF_MASK))
			return -EBADMSG;
		*proto = p[IP4_PROTO];
		return 0;
	case 6:
		*v6 = true;
		*l3_len = IP6_HDR_LEN;
		if (len < IP6_HDR_LEN || (size_t)get_be16(p + IP6_PLEN) + IP6_HDR_LEN != len)
			return -EBADMSG;
		*proto = p[IP6_NEXT];
		if (ip6_is_ext(*proto))
			return -EOPNOTSUPP;
		return 0;
	default:
		return -EBADMSG;
	}
}

int offload_seg_begin(struct offload_seg *s, const uint8_t *pkt, size_t len,
		      const struct offload_hdr *h)
{
	uint8_t gso = h->gso_type & (uint8_t)~OFFLOAD_GSO_ECN, proto, want;
	size_t l4_len, csum_off;
	int err;

	memset(s, 0, sizeof(*s)); /* a failed begin leaves an iterator that yields nothing */
	switch (gso) {
	case OFFLOAD_GSO_TCPV4:
	case OFFLOAD_GSO_TCPV6:
		want = PROTO_TCP;
		csum_off = TCP_CSUM;
		break;
	case OFFLOAD_GSO_UDP_L4:
		want = PROTO_UDP;
		csum_off = UDP_CSUM;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (h->gso_size == 0 || h->hdr_len > len)
		return -EBADMSG;
	err = parse_ip(pkt, len, &s->v6, &s->l3_len, &proto);
	if (err)
		return err;
	if (proto != want || (gso == OFFLOAD_GSO_TCPV4 && s->v6) ||
	    (gso == OFFLOAD_GSO_TCPV6 && !s->v6))
		return -EBADMSG;
	if (want == PROTO_TCP) {
		if (len - s->l3_len < TCP_HDR_MIN)
			return -EBADMSG;
		l4_len = (size_t)(pkt[s->l3_len + TCP_DOFF] >> 4) * 4;
		if (l4_len < TCP_HDR_MIN || l4_len > len - s->l3_len)
			return -EBADMSG;
	} else {
		l4_len = UDP_HDR_LEN;
		if (len - s->l3_len < UDP_HDR_LEN)
			return -EBADMSG;
	}
	/* the kernel checks these on write (virtio_net_hdr_to_skb); hold it to the same */
	if ((h->flags & OFFLOAD_F_NEEDS_CSUM) &&
	    (h->csum_start != s->l3_len || h->csum_offset != csum_off))
		return -EBADMSG;
	s->pkt = pkt;
	s->len = len;
	s->h = *h;
	s->head_len = s->l3_len + l4_len;
	s->tcp = want == PROTO_TCP;
	return 0;
}

unsigned offload_seg_count(const struct offload_seg *s)
{
	size_t payload = s->len - s->head_len;

	if (!s->pkt)
		return 0;
	if (payload == 0)
		return 1;
	return (unsigned)((payload + s->h.gso_size - 1) / s->h.gso_size);
}

int offload_seg_next(struct offload_seg *s, uint8_t *out, size_t cap)
{
	size_t payload = s->len - s->head_len, seg_len, plen;

	if (s->index >= offload_seg_count(s))
		return 0;
	plen = MIN(payload - s->off, (size_t)s->h.gso_size);
	seg_len = s->head_len + plen;
	if (cap < seg_len)
		return -EMSGSIZE;
	bool last = s->off + plen == payload;
	uint8_t *l4 = out + s->l3_len;
	uint32_t sum;

	memcpy(out, s->pkt, s->head_len);
	memcpy(out + s->head_len, s->pkt + s->head_len + s->off, plen);
	if (s->v6) {
		put_be16(out + IP6_PLEN, (uint16_t)(seg_len - IP6_HDR_LEN));
	} else {
		put_be16(out + IP4_TOT_LEN, (uint16_t)seg_len);
		put_be16(out + IP4_ID, (uint16_t)(get_be16(s->pkt + IP4_ID) + s->index));
		put_be16(out + IP4_CSUM, 0);
		put_be16(out + IP4_CSUM, offload_csum_fold(offload_csum_add(0, out, s->l3_len)));
	}
	/*
	 * The L4 checksum is computed afresh from the segment's own pseudo header rather than
	 * adjusted from the field: that needs the same pass over the payload and does not
	 * depend on how the sender prepared the field.
	 */
	sum =
	    pseudo_sum(out, s->v6, s->tcp ? PROTO_TCP : PROTO_UDP, (uint32_t)(seg_len - s->l3_len));
	if (s->tcp) {
		put_be32(l4 + TCP_SEQ, get_be32(l4 + TCP_SEQ) + (uint32_t)s->off);
		if (!last)
			l4[TCP_FLAGS] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (s->index > 0)
			l4[TCP_FLAGS] &= (uint8_t)~TCP_CWR;
		put_be16(l4 + TCP_CSUM, 0);
		sum = offload_csum_add(sum, l4, seg_len - s->l3_len);
		put_be16(l4 + TCP_CSUM, offload_csum_fold(sum));
	} else {
		put_be16(l4 + UDP_LEN, (uint16_t)(seg_len - s->l3_len));
		put_be16(l4 + UDP_CSUM, 0);
		sum = offload_csum_add(sum, l4, seg_len - s->l3_len);
		uint16_t c = offload_csum_fold(sum);
		put_be16(l4 + UDP_CSUM, c ? c : CSUM_MANGLED_0);
	}
	s->off += plen;
	s->index++;
	return (int)seg_len;
}

/* One received packet as a coalescing candidate. */
struct tcp_view {
	const uint8_t *p;
	uint32_t len;
	uint32_t l3_len;
	uint32_t head_len; /* IP + TCP header */
	uint32_t plen;	   /* payload */
	uint32_t seq;
	uint8_t flags;
	bool v6;
};

/* Structure checks only: an IPv4 (no options, no fragment) or IPv6 TCP data segment. */
static bool tcp_view_init(struct tcp_view *t, const uint8_t *p, uint32_t len)
{
	if (!p || len < IP4_HDR_MIN)
		return false;
	if (p[0] == 0x45) { /* version 4, IHL 5 */
		if (get_be16(p + IP4_TOT_LEN) != len || p[IP4_PROTO] != PROTO_TCP ||
		    (get_be16(p + IP4_FRAG) & (IP4_MF | IP4_OFF_MASK)))
			return false;
		t->v6 = false;
		t->l3_len = IP4_HDR_MIN;
	} else if (p[0] >> 4 == 6) {
		if (len < IP6_HDR_LEN || (uint32_t)get_be16(p + IP6_PLEN) + IP6_HDR_LEN != len ||
		    p[IP6_NEXT] != PROTO_TCP)
			return false;
		t->v6 = true;
		t->l3_len = IP6_HDR_LEN;
	} else {
		return false;
	}
	if (len - t->l3_len < TCP_HDR_MIN)
		return false;
	const uint8_t *th = p + t->l3_len;
	uint32_t thl = (uint32_t)(th[TCP_DOFF] >> 4) * 4;
	if (thl < TCP_HDR_MIN || thl > len - t->l3_len)
		return false;
	t->p = p;
	t->len = len;
	t->head_len = t->l3_len + thl;
	t->plen = len - t->head_len;
	t->seq = get_be32(th + TCP_SEQ);
	t->flags = th[TCP_FLAGS];
	return t->plen > 0 && (t->flags & ~TCP_PSH) == TCP_ACK_FLAG;
}

/* Whether cur can follow prev in the run started by first (headers, sequence, size). */
static bool tcp_can_follow(const struct tcp_view *first, const struct tcp_view *prev,
			   const struct tcp_view *cur)
{
	const uint8_t *a = first->p, *b = cur->p;

	if (cur->v6 != first->v6 || cur->head_len != first->head_len)
		return false;
	if (first->v6) {
		/* version, traffic class, flow label; next header, hop limit; addresses */
		if (memcmp(a, b, IP6_PLEN) ||
		    memcmp(a + IP6_NEXT, b + IP6_NEXT, IP6_HDR_LEN - IP6_NEXT))
			return false;
	} else {
		/* version/IHL and TOS; flags/fragment, TTL, protocol; addresses */
		if (memcmp(a, b, IP4_TOT_LEN) || memcmp(a + IP4_FRAG, b + IP4_FRAG, 4) ||
		    memcmp(a + IP4_ADDRS, b + IP4_ADDRS, 8))
			return false;
	}
	const uint8_t *ta = a + first->l3_len, *tb = b + cur->l3_len;
	/* ports; ack; data offset; window, urgent pointer and options; flags but PSH */
	if (memcmp(ta, tb, TCP_SEQ) || memcmp(ta + TCP_ACK, tb + TCP_ACK, 5) ||
	    memcmp(ta + TCP_WINDOW, tb + TCP_WINDOW, 2) ||
	    memcmp(ta + TCP_URG_PTR, tb + TCP_URG_PTR,
		   first->head_len - first->l3_len - TCP_URG_PTR))
		return false;
	if ((ta[TCP_FLAGS] ^ tb[TCP_FLAGS]) & ~TCP_PSH)
		return false;
	return cur->seq == prev->seq + prev->plen && cur->plen <= first->plen;
}

/*
 * The merged super-packet is written with NEEDS_CSUM, which the kernel takes as verified
 * (CHECKSUM_PARTIAL), so every member's own checksums are checked first: a corrupt packet
 * is written alone and dropped by the kernel as it would have been without coalescing.
 */
static bool tcp_csum_ok(const struct tcp_view *t)
{
	if (!t->v6 && offload_csum_fold(offload_csum_add(0, t->p, IP4_HDR_MIN)) != 0)
		return false;
	uint32_t sum = pseudo_sum(t->p, t->v6, PROTO_TCP, t->len - t->l3_len);
	return offload_csum_fold(offload_csum_add(sum, t->p + t->l3_len, t->len - t->l3_len)) == 0;
}

static void merge_plain(const struct offload_pkt *pkt, struct offload_write *w)
{
	memset(w->head, 0, OFFLOAD_VNET_HDR_LEN);
	w->iov[0].iov_base = w->head;
	w->iov[0].iov_len = OFFLOAD_VNET_HDR_LEN;
	w->iov[1].iov_base = pkt->data;
	w->iov[1].iov_len = pkt->len;
	w->iovcnt = 2;
	w->merged = 1;
}

void offload_merge(const struct offload_pkt *pkts, size_t n, struct offload_write *w)
{
	struct tcp_view first, prev, cur;
	size_t max = MIN(n, (size_t)OFFLOAD_MAX_MERGE), cnt = 1;
	uint32_t total;
	bool first_ok = false;

	if (n == 0) {
		w->iovcnt = 0;
		w->merged = 0;
		return;
	}
	if (n == 1 || !tcp_view_init(&first, pkts[0].data, pkts[0].len)) {
		merge_plain(&pkts[0], w);
		return;
	}
	prev = first;
	total = first.len;
	for (; cnt < max; cnt++) {
		/* PSH or a short payload ends a run */
		if ((prev.flags & TCP_PSH) || prev.plen < first.plen)
			break;
		if (!tcp_view_init(&cur, pkts[cnt].data, pkts[cnt].len) ||
		    !tcp_can_follow(&first, &prev, &cur) || total + cur.plen > IP4_MAX_LEN)
			break;
		if (!first_ok && !(first_ok = tcp_csum_ok(&first)))
			break;
		if (!tcp_csum_ok(&cur))
			break;
		w->iov[cnt + 1].iov_base = pkts[cnt].data + cur.head_len;
		w->iov[cnt + 1].iov_len = cur.plen;
		total += cur.plen;
		prev = cur;
	}
	if (cnt == 1) {
		merge_plain(&pkts[0], w);
		return;
	}

	uint8_t *ip = w->head + OFFLOAD_VNET_HDR_LEN, *th = ip + first.l3_len;
	struct offload_hdr h = {
	    .flags = OFFLOAD_F_NEEDS_CSUM,
	    .gso_type = first.v6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4,
	    .hdr_len = (uint16_t)first.head_len,
	    .gso_size = (uint16_t)first.plen,
	    .csum_start = (uint16_t)first.l3_len,
	    .csum_offset = TCP_CSUM,
	};

	offload_hdr_write(w->head, &h);
	memcpy(ip, first.p, first.head_len);
	if (first.v6) {
		put_be16(ip + IP6_PLEN, (uint16_t)(total - IP6_HDR_LEN));
	} else {
		put_be16(ip + IP4_TOT_LEN, (uint16_t)total);
		put_be16(ip + IP4_CSUM, 0);
		put_be16(ip + IP4_CSUM, offload_csum_fold(offload_csum_add(0, ip, IP4_HDR_MIN)));
	}
	th[TCP_FLAGS] |= prev.flags & TCP_PSH;
	/*
	 * What tcp_gso_segment() expects of a CHECKSUM_PARTIAL super-packet: the folded, not
	 * complemented, pseudo-header sum over the whole L4 length (as __tcp_v4_send_check()
	 * and tcp4_gro_complete() leave it); each segment's field is derived from it by
	 * adjusting the length.
	 */
	put_be16(th + TCP_CSUM, (uint16_t)~offload_csum_fold(
				    pseudo_sum(ip, first.v6, PROTO_TCP, total - first.l3_len)));
	w->iov[0].iov_base = w->head;
	w->iov[0].iov_len = OFFLOAD_VNET_HDR_LEN + first.head_len;
	w->iov[1].iov_base = pkts[0].data + first.head_len;
	w->iov[1].iov_len = first.plen;
	w->iovcnt = (int)cnt + 1;
	w->merged = (unsigned)cnt;
}

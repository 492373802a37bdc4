// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_offload.c - libFuzzer target for offload.c: vnet header + packet through
 * offload_finish_csum() and offload_seg_*(), packet lists through offload_merge().
 *
 * Input byte 0 selects what runs:
 *   bit 0 clear: segmentation. Then 10 bytes vnet header, then the packet. Bit 1 makes the
 *     IP length field and csum_start/csum_offset consistent with the packet first (so that
 *     the deeper paths are reached); bits 4-7 pick a first output capacity (x 128 bytes).
 *   bit 0 set: coalescing. Bit 1 clear: a list of packets, each [len: 2 bytes][bytes].
 *     Bit 1 set: a synthesised run: [count][payload length: 2][header length][header]
 *     then (index, offset, xor) triplets applied to the packets; bit 2 makes the last
 *     payload shorter, bit 3 fixes the IPv4 header and TCP checksums after the changes.
 *
 * Oracles: completed checksums verify; every segment has a consistent length field and
 * valid checksums, and the payloads add up; a merged run segments back into its packets
 * (up to IPv4 ids and the checksum encodings); merge never modifies its input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/bytes.h"
#include "meshvpn/offload.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

#define MAX_PKTS    64
#define SEG_OUT_MAX (OFFLOAD_VNET_HDR_LEN + 0x10000 + 64)
#define PROTO_TCP   6
#define PROTO_UDP   17

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t seg_out[SEG_OUT_MAX];
static uint8_t super[SEG_OUT_MAX];

static size_t l3_len(const uint8_t *p)
{
	return p[0] >> 4 == 6 ? 40 : (size_t)(p[0] & 15) * 4;
}

static uint8_t proto_of(const uint8_t *p)
{
	return p[0] >> 4 == 6 ? p[6] : p[9];
}

static uint32_t pseudo(const uint8_t *p, uint8_t proto, size_t l4_len)
{
	bool v6 = p[0] >> 4 == 6;
	uint32_t s = offload_csum_add(0, p + (v6 ? 8 : 12), v6 ? 32 : 8);
	uint8_t w[4] = {0, proto, (uint8_t)(l4_len >> 8), (uint8_t)l4_len};

	return offload_csum_add(s, w, 4);
}

/* A complete, parseable IP + TCP/UDP packet with valid checksums. */
static bool valid_packet(const uint8_t *p, size_t len)
{
	size_t l3 = l3_len(p);

	if (len < l3)
		return false;
	if (p[0] >> 4 == 4) {
		if (get_be16(p + 2) != len || offload_csum_fold(offload_csum_add(0, p, l3)) != 0)
			return false;
	} else if (get_be16(p + 4) + (size_t)40 != len) {
		return false;
	}
	uint32_t s = pseudo(p, proto_of(p), len - l3);
	return offload_csum_fold(offload_csum_add(s, p + l3, len - l3)) == 0;
}

static void fix_lengths(uint8_t *p, size_t len, struct offload_hdr *h)
{
	if (len < 1)
		return;
	if (p[0] >> 4 == 4 && len >= 20)
		put_be16(p + 2, (uint16_t)len);
	else if (p[0] >> 4 == 6 && len >= 40)
		put_be16(p + 4, (uint16_t)(len - 40));
	else
		return;
	if (h->flags & OFFLOAD_F_NEEDS_CSUM) {
		h->csum_start = (uint16_t)l3_len(p);
		h->csum_offset = proto_of(p) == PROTO_UDP ? 6 : 16;
	}
}

static void fuzz_seg(const uint8_t *d, size_t n, uint8_t mode)
{
	struct offload_hdr h;
	struct offload_seg s;

	if (n < OFFLOAD_VNET_HDR_LEN)
		return;
	offload_hdr_read(&h, d);
	size_t len = n - OFFLOAD_VNET_HDR_LEN;
	uint8_t *p = malloc(len ? len : 1), *q = malloc(len ? len : 1);
	CHECK(p && q);
	memcpy(p, d + OFFLOAD_VNET_HDR_LEN, len);
	if (mode & 2)
		fix_lengths(p, len, &h);

	memcpy(q, p, len);
	int err = offload_finish_csum(q, len, &h);
	CHECK(err == 0 || err == -EBADMSG);
	if (err == 0 && (h.flags & OFFLOAD_F_NEEDS_CSUM)) {
		size_t start = h.csum_start, field = start + h.csum_offset;
		/*
		 * The receiver's view: the old field content (the pseudo-header sum) + the range
		 * verifies. Only for a field on a word boundary of the range; an odd csum_offset is
		 * meaningless but accepted, as the kernel does.
		 */
		uint32_t psum = get_be16(p + field);
		if (!(h.csum_offset & 1))
			CHECK(offload_csum_fold(offload_csum_add(psum, q + start, len - start)) ==
			      0);
		CHECK(memcmp(q, p, field) == 0 &&
		      memcmp(q + field + 2, p + field + 2, len - field - 2) == 0);
	}

	err = offload_seg_begin(&s, p, len, &h);
	CHECK(err == 0 || err == -EBADMSG || err == -EOPNOTSUPP);
	if (err == 0) {
		unsigned count = offload_seg_count(&s), k = 0;
		size_t cap = (size_t)(mode >> 4) * 128, payload = 0, head = s.head_len;
		int r;
		CHECK(count >= 1 && head <= OFFLOAD_HEAD_MAX && head <= len);
		for (;;) {
			r = offload_seg_next(&s, seg_out, cap);
			if (r == -EMSGSIZE) {
				CHECK(cap < SEG_OUT_MAX);
				cap = SEG_OUT_MAX;
				continue;
			}
			CHECK(r >= 0);
			if (r == 0)
				break;
			CHECK((size_t)r >= head && (size_t)r <= len && (size_t)r <= cap);
			CHECK((size_t)r - head <= h.gso_size);
			CHECK(memcmp(seg_out + s.l3_len, p + s.l3_len, 4) == 0); /* ports */
			CHECK(valid_packet(seg_out, (size_t)r));
			payload += (size_t)r - head;
			CHECK(++k <= count);
		}
		CHECK(k == count && payload == len - head);
		CHECK(offload_seg_next(&s, seg_out, SEG_OUT_MAX) == 0);
	} else {
		CHECK(offload_seg_count(&s) == 0);
		CHECK(offload_seg_next(&s, seg_out, SEG_OUT_MAX) == 0);
	}
	free(p);
	free(q);
}

/* Bytes of segment a and original b equal, except IPv4 id/header checksum, TCP checksum. */
static bool same_but_csums(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t l3 = l3_len(b);
	bool v4 = b[0] >> 4 == 4;

	for (size_t i = 0; i < len; i++) {
		if (v4 && (i == 4 || i == 5 || i == 10 || i == 11))
			continue;
		if (i == l3 + 16 || i == l3 + 17)
			continue;
		if (a[i] != b[i])
			return false;
	}
	return true;
}

/* Runs offload_merge over the whole list and checks each write it describes. */
static void merge_all(struct offload_pkt *pkts, size_t cnt)
{
	static uint8_t saved[MAX_PKTS][0x10000];
	struct offload_write w;
	struct offload_hdr h;
	struct offload_seg s;

	for (size_t i = 0; i < cnt; i++)
		memcpy(saved[i], pkts[i].data, pkts[i].len);
	for (size_t i = 0; i < cnt; i += w.merged) {
		offload_merge(pkts + i, cnt - i, &w);
		CHECK(w.merged >= 1 && w.merged <= cnt - i && w.merged <= OFFLOAD_MAX_MERGE);
		CHECK(w.iovcnt == (int)w.merged + 1);
		CHECK(w.iov[0].iov_base == w.head);
		offload_hdr_read(&h, w.head);
		if (w.merged == 1) {
			static const uint8_t zero[OFFLOAD_VNET_HDR_LEN];
			CHECK(memcmp(w.head, zero, sizeof(zero)) == 0);
			CHECK(w.iov[0].iov_len == OFFLOAD_VNET_HDR_LEN);
			CHECK(w.iov[1].iov_base == pkts[i].data && w.iov[1].iov_len == pkts[i].len);
			continue;
		}
		size_t total = 0;
		for (int k = 0; k < w.iovcnt; k++) {
			CHECK(total + w.iov[k].iov_len <= sizeof(super));
			memcpy(super + total, w.iov[k].iov_base, w.iov[k].iov_len);
			total += w.iov[k].iov_len;
		}
		CHECK(total - OFFLOAD_VNET_HDR_LEN <= 0xffff);
		CHECK(h.flags == OFFLOAD_F_NEEDS_CSUM && h.csum_offset == 16);
		CHECK(h.gso_type == OFFLOAD_GSO_TCPV4 || h.gso_type == OFFLOAD_GSO_TCPV6);
		CHECK(offload_seg_begin(&s, super + OFFLOAD_VNET_HDR_LEN,
					total - OFFLOAD_VNET_HDR_LEN, &h) == 0);
		CHECK(offload_seg_count(&s) == w.merged);
		for (unsigned k = 0; k < w.merged; k++) {
			const struct offload_pkt *o = &pkts[i + k];
			int r = offload_seg_next(&s, seg_out, sizeof(seg_out));
			CHECK(r > 0 && (size_t)r == o->len);
			CHECK(valid_packet(seg_out, o->len) && valid_packet(o->data, o->len));
			CHECK(same_but_csums(seg_out, o->data, o->len));
		}
	}
	for (size_t i = 0; i < cnt; i++)
		CHECK(memcmp(saved[i], pkts[i].data, pkts[i].len) == 0);
}

static void fix_csums(uint8_t *p, size_t len)
{
	if (len < 20)
		return;
	size_t l3 = l3_len(p);
	if (l3 < 20 || l3 > len)
		return;
	if (p[0] >> 4 == 4) {
		put_be16(p + 10, 0);
		put_be16(p + 10, offload_csum_fold(offload_csum_add(0, p, l3)));
	}
	if (proto_of(p) == PROTO_TCP && len >= l3 + 20) {
		put_be16(p + l3 + 16, 0);
		uint32_t sum = pseudo(p, PROTO_TCP, len - l3);
		put_be16(p + l3 + 16, offload_csum_fold(offload_csum_add(sum, p + l3, len - l3)));
	}
}

static void fuzz_merge(const uint8_t *d, size_t n, uint8_t mode)
{
	struct offload_pkt pkts[MAX_PKTS];
	size_t cnt = 0;

	if (!(mode & 2)) {
		while (n >= 2 && cnt < MAX_PKTS) {
			size_t len = MIN((size_t)get_be16(d), n - 2);
			pkts[cnt].data = malloc(len ? len : 1);
			CHECK(pkts[cnt].data);
			memcpy(pkts[cnt].data, d + 2, len);
			pkts[cnt++].len = (uint32_t)len;
			d += 2 + len;
			n -= 2 + len;
		}
	} else {
		if (n < 4)
			return;
		size_t want = (size_t)d[0] % MAX_PKTS + 1, plen = get_be16(d + 1) % 2000 + 1;
		size_t hl = MIN((size_t)d[3], n - 4);
		const uint8_t *hdr = d + 4;
		d += 4 + hl;
		n -= 4 + hl;
		for (; cnt < want; cnt++) {
			size_t pl = (mode & 4) && cnt == want - 1 ? plen / 2 + 1 : plen;
			size_t len = hl + pl;
			uint8_t *p = malloc(len);
			CHECK(p);
			memcpy(p, hdr, hl);
			for (size_t j = 0; j < pl; j++)
				p[hl + j] = (uint8_t)(cnt * 13 + j);
			if (hl >= 20 && p[0] >> 4 == 4) {
				put_be16(p + 2, (uint16_t)len);
				put_be16(p + 4, (uint16_t)(get_be16(p + 4) + cnt));
			} else if (hl >= 40 && p[0] >> 4 == 6) {
				put_be16(p + 4, (uint16_t)(len - 40));
			}
			size_t l3 = hl ? l3_len(p) : 0;
			if (hl >= l3 + 8 && l3)
				put_be32(p + l3 + 4, get_be32(p + l3 + 4) + (uint32_t)(cnt * plen));
			pkts[cnt].data = p;
			pkts[cnt].len = (uint32_t)len;
		}
		for (; n >= 3; d += 3, n -= 3) {
			struct offload_pkt *t = &pkts[d[0] % cnt];
			if (d[1] < t->len)
				t->data[d[1]] ^= d[2];
		}
		if (mode & 8)
			for (size_t i = 0; i < cnt; i++)
				fix_csums(pkts[i].data, pkts[i].len);
	}
	if (cnt)
		merge_all(pkts, cnt);
	for (size_t i = 0; i < cnt; i++)
		free(pkts[i].data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_merge(data + 1, size - 1, data[0]);
	else
		fuzz_seg(data + 1, size - 1, data[0]);
	return 0;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_offload.c - vnet header, Internet checksum, GSO segmentation and TCP coalescing;
 * against the real kernel (TUN with IFF_VNET_HDR and TSO) in a private network namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/bytes.h"
#include "meshvpn/offload.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define PKT_MAX	  2048	/* one ordinary packet in these tests */
#define SUPER_MAX 70000 /* vnet header + a 64 KiB super-packet */

/* ---- an independent reference: the RFC 1071 loop over big-endian words, nothing clever ---- */

static uint32_t ref_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

/* folded, not complemented */
static uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t ref_pseudo(const uint8_t *ip, uint8_t proto, uint32_t l4_len)
{
	bool v6 = ip[0] >> 4 == 6;
	uint32_t s = v6 ? ref_add(0, ip + 8, 32) : ref_add(0, ip + 12, 8);

	return s + proto + l4_len;
}

static size_t ip_hlen(const uint8_t *ip)
{
	return ip[0] >> 4 == 6 ? 40 : (size_t)(ip[0] & 15) * 4;
}

static uint8_t ip_proto(const uint8_t *ip)
{
	return ip[0] >> 4 == 6 ? ip[6] : ip[9];
}

/* IPv4 header checksum and the TCP/UDP checksum of a complete packet verify. */
static bool ref_valid(const uint8_t *ip, size_t len)
{
	size_t l3 = ip_hlen(ip);

	if (ip[0] >> 4 == 4 && ref_fold(ref_add(0, ip, l3)) != 0xffff)
		return false;
	uint32_t s = ref_pseudo(ip, ip_proto(ip), (uint32_t)(len - l3));
	return ref_fold(ref_add(s, ip + l3, len - l3)) == 0xffff;
}

/* Fills in complete checksums (IPv4 header, TCP/UDP). */
static void ref_fix(uint8_t *ip, size_t len)
{
	size_t l3 = ip_hlen(ip), field = ip_proto(ip) == 6 ? 16 : 6;

	if (ip[0] >> 4 == 4) {
		put_be16(ip + 10, 0);
		put_be16(ip + 10, (uint16_t)~ref_fold(ref_add(0, ip, l3)));
	}
	put_be16(ip + l3 + field, 0);
	uint16_t c = (uint16_t)~ref_fold(
	    ref_add(ref_pseudo(ip, ip_proto(ip), (uint32_t)(len - l3)), ip + l3, len - l3));
	if (c == 0 && ip_proto(ip) == 17)
		c = 0xffff;
	put_be16(ip + l3 + field, c);
}

/* ---- packet builder ---- */

struct flow {
	bool v6;
	uint8_t proto; /* 6 or 17 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint8_t tos, ttl;
	uint16_t frag;	   /* IPv4 flags/fragment word */
	uint32_t label;	   /* IPv6 flow label */
	size_t ip_opt_len; /* IPv4 options, multiple of 4 */
	size_t tcp_opt_len;
	uint8_t tcp_opt[40];
	uint32_t ack;
	uint16_t window;
};

enum csum_mode { CSUM_FULL, CSUM_PSEUDO };

/* Stream byte at offset i: every position differs from its neighbours. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 8) * 13 + 3);
}

static void flow_init(struct flow *f, bool v6, uint8_t proto)
{
	memset(f, 0, sizeof(*f));
	f->v6 = v6;
	f->proto = proto;
	if (v6) {
		const uint8_t s[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
		memcpy(f->src, s, 16);
		memcpy(f->dst, s, 16);
		f->dst[15] = 2;
		f->dst[7] = 0x55;
	} else {
		const uint8_t s[4] = {10, 1, 2, 3}, d[4] = {10, 4, 5, 6};
		memcpy(f->src, s, 4);
		memcpy(f->dst, d, 4);
	}
	f->sport = 40123;
	f->dport = 5201;
	f->ttl = 64;
	f->frag = 0x4000; /* DF */
	f->label = 0x12345;
	f->ack = 0xa0b0c0d0;
	f->window = 502;
}

/* NOP NOP timestamp, as Linux sends it */
static void flow_ts(struct flow *f, uint32_t tsval, uint32_t tsecr)
{
	const uint8_t o[4] = {1, 1, 8, 10};
	memcpy(f->tcp_opt, o, 4);
	put_be32(f->tcp_opt + 4, tsval);
	put_be32(f->tcp_opt + 8, tsecr);
	f->tcp_opt_len = 12;
}

static size_t l4_hlen(const struct flow *f)
{
	return f->proto == 6 ? 20 + f->tcp_opt_len : 8;
}

static size_t head_len(const struct flow *f)
{
	return (f->v6 ? 40 : 20 + f->ip_opt_len) + l4_hlen(f);
}

/*
 * Builds one packet (payload given, or the stream pattern from offset seq - 1000 when payload
 * is NULL) and returns its length. CSUM_PSEUDO leaves the L4 field as the kernel hands out
 * a partial checksum: the folded pseudo-header sum over this packet's L4 length.
 */
static size_t build(uint8_t *out, const struct flow *f, uint16_t id, uint32_t seq, uint8_t flags,
		    const uint8_t *payload, size_t plen, enum csum_mode mode)
{
	size_t l3 = f->v6 ? 40 : 20 + f->ip_opt_len, l4 = l4_hlen(f), len = l3 + l4 + plen;
	uint8_t *ip = out, *th = out + l3;

	memset(out, 0, l3 + l4);
	if (f->v6) {
		put_be32(ip, 6u << 28 | (uint32_t)f->tos << 20 | f->label);
		put_be16(ip + 4, (uint16_t)(len - 40));
		ip[6] = f->proto;
		ip[7] = f->ttl;
		memcpy(ip + 8, f->src, 16);
		memcpy(ip + 24, f->dst, 16);
	} else {
		ip[0] = (uint8_t)(0x40 | l3 / 4);
		ip[1] = f->tos;
		put_be16(ip + 2, (uint16_t)len);
		put_be16(ip + 4, id);
		put_be16(ip + 6, f->frag);
		ip[8] = f->ttl;
		ip[9] = f->proto;
		memcpy(ip + 12, f->src, 4);
		memcpy(ip + 16, f->dst, 4);
		for (size_t i = 20; i < l3; i++)
			ip[i] = 1; /* NOP options */
		if (l3 > 20) {	   /* router alert */
			ip[20] = 0x94;
			ip[21] = 4;
			ip[22] = ip[23] = 0;
		}
	}
	put_be16(th, f->sport);
	put_be16(th + 2, f->dport);
	if (f->proto == 6) {
		put_be32(th + 4, seq);
		put_be32(th + 8, f->ack);
		th[12] = (uint8_t)(l4 / 4 << 4);
		th[13] = flags;
		put_be16(th + 14, f->window);
		memcpy(th + 20, f->tcp_opt, f->tcp_opt_len);
	} else {
		put_be16(th + 4, (uint16_t)(len - l3));
	}
	for (size_t i = 0; i < plen; i++)
		th[l4 + i] = payload ? payload[i] : pattern(seq - 1000 + i);
	if (mode == CSUM_FULL) {
		ref_fix(out, len);
	} else {
		if (!f->v6)
			ref_fix(out, len); /* IPv4 header checksum */
		size_t field = f->proto == 6 ? 16 : 6;
		put_be16(th + field, ref_fold(ref_pseudo(ip, f->proto, (uint32_t)(len - l3))));
	}
	return len;
}

/* ---- header and checksum ---- */

static void test_hdr_rw(void **state)
{
	(void)state;
	struct offload_hdr h = {1, 0x84, 0x1234, 1448, 20, 16}, g;
	uint8_t p[OFFLOAD_VNET_HDR_LEN], want[OFFLOAD_VNET_HDR_LEN] = {1, 0x84};
	uint16_t v[4] = {0x1234, 1448, 20, 16};

	memcpy(want + 2, v, sizeof(v)); /* host byte order, no padding */
	offload_hdr_write(p, &h);
	assert_memory_equal(p, want, sizeof(p));
	memset(&g, 0xaa, sizeof(g));
	offload_hdr_read(&g, p);
	assert_int_equal(g.flags, 1);
	assert_int_equal(g.gso_type, 0x84);
	assert_int_equal(g.hdr_len, 0x1234);
	assert_int_equal(g.gso_size, 1448);
	assert_int_equal(g.csum_start, 20);
	assert_int_equal(g.csum_offset, 16);
}

static void test_csum_vectors(void **state)
{
	(void)state;
	/* RFC 1071 section 3: the sum of these words is ddf2 */
	const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(offload_csum_fold(offload_csum_add(0, rfc, sizeof(rfc))), 0x220d);
	/* a well-known IPv4 header with checksum b861 */
	uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	assert_int_equal(offload_csum_fold(offload_csum_add(0, ip, sizeof(ip))), 0);
	ip[10] = ip[11] = 0;
	assert_int_equal(offload_csum_fold(offload_csum_add(0, ip, sizeof(ip))), 0xb861);
	/* odd lengths: the last byte is the high half of a word */
	const uint8_t odd[] = {0x12, 0x34, 0x56};
	assert_int_equal(offload_csum_fold(offload_csum_add(0, odd, 3)), (uint16_t)~0x6834);
	assert_int_equal(offload_csum_fold(offload_csum_add(0, odd, 1)), (uint16_t)~0x1200);
	assert_int_equal(offload_csum_fold(offload_csum_add(0, odd, 0)), 0xffff);
	assert_int_equal(offload_csum_fold(offload_csum_add(0x1ffff, NULL, 0)), (uint16_t)~1);
	/* all ones: the end-around carry keeps 0xffff */
	uint8_t ff[64];
	memset(ff, 0xff, sizeof(ff));
	assert_int_equal(offload_csum_add(0, ff, sizeof(ff)), 0xffff);
	assert_int_equal(offload_csum_fold(offload_csum_add(0, ff, sizeof(ff))), 0);
}

static void test_csum_random(void **state)
{
	(void)state;
	static uint8_t buf[70000];
	uint32_t seed = 12345;

	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245 + 12345;
		buf[i] = (uint8_t)(seed >> 16);
	}
	/* every length up to 300 at every alignment, including odd ones */
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 300; len++)
			assert_int_equal(offload_csum_fold(offload_csum_add(0, buf + off, len)),
					 (uint16_t)~ref_fold(ref_add(0, buf + off, len)));
	/* large, and with large initial sums (end-around carry in 32 bits) */
	const uint32_t init[] = {0, 1, 0xffff, 0x10000, 0xfffffffe, 0xffffffff};
	for (size_t i = 0; i < ARRAY_SIZE(init); i++) {
		uint32_t want = ref_add(0, buf, 65537);
		want = ref_fold(want + (init[i] & 0xffff) + (init[i] >> 16));
		assert_int_equal(offload_csum_fold(offload_csum_add(init[i], buf, 65537)),
				 (uint16_t)~want);
	}
	memset(buf, 0xff, 65536);
	assert_int_equal(offload_csum_fold(offload_csum_add(0, buf, 65536)), 0);
	/* chaining even-length chunks equals one pass */
	uint32_t s = offload_csum_add(0, buf + 65536, 1000);
	s = offload_csum_add(s, buf + 66536, 2001);
	assert_int_equal(offload_csum_fold(s),
			 offload_csum_fold(offload_csum_add(0, buf + 65536, 3001)));
}

static void test_finish_csum(void **state)
{
	(void)state;
	uint8_t pkt[PKT_MAX] = {0}, copy[PKT_MAX];
	struct flow f;
	const bool v6s[] = {false, true};
	const uint8_t protos[] = {6, 17};

	for (size_t a = 0; a < 2; a++) {
		for (size_t b = 0; b < 2; b++) {
			flow_init(&f, v6s[a], protos[b]);
			if (protos[b] == 6)
				flow_ts(&f, 1, 2);
			size_t l3 = v6s[a] ? 40 : 20;
			size_t len = build(pkt, &f, 7, 1000, TCP_ACK, NULL, 999, CSUM_PSEUDO);
			struct offload_hdr h = {OFFLOAD_F_NEEDS_CSUM,
						0,
						0,
						0,
						(uint16_t)l3,
						(uint16_t)(protos[b] == 6 ? 16 : 6)};
			assert_false(ref_valid(pkt, len));
			memcpy(copy, pkt, len);
			assert_int_equal(offload_finish_csum(pkt, len, &h), 0);
			assert_true(ref_valid(pkt, len));
			/* only the checksum field changed */
			size_t fld = l3 + h.csum_offset;
			assert_memory_equal(pkt, copy, fld);
			assert_memory_equal(pkt + fld + 2, copy + fld + 2, len - fld - 2);
			/* the field must lie inside the packet */
			assert_int_equal(offload_finish_csum(pkt, fld + 1, &h), -EBADMSG);
			assert_int_equal(offload_finish_csum(pkt, fld + 2, &h), 0);
			h.csum_offset = 0xffff;
			assert_int_equal(offload_finish_csum(pkt, len, &h), -EBADMSG);
		}
	}
	/* without NEEDS_CSUM nothing happens */
	struct offload_hdr none = {OFFLOAD_F_DATA_VALID, 0, 0, 0, 0xffff, 0xffff};
	memcpy(copy, pkt, sizeof(pkt));
	assert_int_equal(offload_finish_csum(pkt, 10, &none), 0);
	assert_memory_equal(pkt, copy, sizeof(pkt));

	/* a UDP sum that comes out as 0 is sent as 0xffff */
	flow_init(&f, false, 17);
	size_t len = build(pkt, &f, 1, 1000, 0, NULL, 100, CSUM_PSEUDO);
	put_be16(pkt + len - 2, 0);
	uint16_t rest = ref_fold(ref_add(0, pkt + 20, len - 20));
	put_be16(pkt + len - 2, (uint16_t)~rest);
	struct offload_hdr hu = {OFFLOAD_F_NEEDS_CSUM, 0, 0, 0, 20, 6};
	assert_int_equal(offload_finish_csum(pkt, len, &hu), 0);
	assert_int_equal(get_be16(pkt + 26), 0xffff);
	assert_true(ref_valid(pkt, len));
}

/* ---- segmentation ---- */

/*
 * Segments a super-packet and checks every segment against it: IP length, id, header
 * checksum, TCP sequence number and flags, UDP length, L4 checksum (recomputed here),
 * payload bytes; all other header bytes are the super-packet's. Returns the segment count.
 */
static unsigned check_seg(const uint8_t *sp, size_t len, const struct offload_hdr *h)
{
	struct offload_seg s;
	static uint8_t out[SUPER_MAX];
	size_t l3 = ip_hlen(sp);
	bool v6 = sp[0] >> 4 == 6, tcp = ip_proto(sp) == 6;
	size_t head = l3 + (tcp ? (size_t)(sp[l3 + 12] >> 4) * 4 : 8), payload = len - head;
	size_t off = 0;
	unsigned k = 0;
	int n;

	assert_int_equal(offload_seg_begin(&s, sp, len, h), 0);
	unsigned count = offload_seg_count(&s);
	assert_int_equal(count, payload ? (payload + h->gso_size - 1) / h->gso_size : 1);
	while ((n = offload_seg_next(&s, out, sizeof(out))) > 0) {
		size_t plen = MIN(payload - off, (size_t)h->gso_size);
		bool last = off + plen == payload;
		const uint8_t *th = out + l3;
		assert_int_equal(n, head + plen);
		assert_true(ref_valid(out, (size_t)n));
		if (v6) {
			assert_int_equal(get_be16(out + 4), n - 40);
			assert_memory_equal(out, sp, 4);
			assert_memory_equal(out + 6, sp + 6, 34);
		} else {
			assert_int_equal(get_be16(out + 2), n);
			assert_int_equal(get_be16(out + 4), (uint16_t)(get_be16(sp + 4) + k));
			assert_memory_equal(out, sp, 2);
			assert_memory_equal(out + 6, sp + 6, 4);
			assert_memory_equal(out + 12, sp + 12, l3 - 12);
		}
		if (tcp) {
			uint8_t fl = sp[l3 + 13];
			if (!last)
				fl &= (uint8_t) ~(TCP_FIN | TCP_PSH);
			if (k > 0)
				fl &= (uint8_t)~TCP_CWR;
			assert_int_equal(get_be32(th + 4), get_be32(sp + l3 + 4) + (uint32_t)off);
			assert_int_equal(th[13], fl);
			assert_memory_equal(th, sp + l3, 4);
			assert_memory_equal(th + 8, sp + l3 + 8, 5);
			assert_memory_equal(th + 14, sp + l3 + 14, 2);
			assert_memory_equal(th + 18, sp + l3 + 18, head - l3 - 18);
		} else {
			assert_int_equal(get_be16(th + 4), n - l3);
			assert_memory_equal(th, sp + l3, 4);
			assert_int_not_equal(get_be16(th + 6), 0);
		}
		assert_memory_equal(out + head, sp + head + off, plen);
		off += plen;
		k++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(k, count);
	assert_int_equal(off, payload);
	assert_int_equal(offload_seg_next(&s, out, sizeof(out)), 0); /* stays done */
	return k;
}

static struct offload_hdr gso_hdr(const uint8_t *sp, uint8_t type, uint16_t gso_size)
{
	size_t l3 = ip_hlen(sp);
	bool tcp = ip_proto(sp) == 6;
	struct offload_hdr h = {
	    .flags = OFFLOAD_F_NEEDS_CSUM,
	    .gso_type = type,
	    .hdr_len = (uint16_t)(l3 + (tcp ? (size_t)(sp[l3 + 12] >> 4) * 4 : 8)),
	    .gso_size = gso_size,
	    .csum_start = (uint16_t)l3,
	    .csum_offset = tcp ? 16 : 6,
	};
	return h;
}

static uint8_t sp_buf[SUPER_MAX];

static void test_seg_tcp4(void **state)
{
	(void)state;
	struct flow f;

	flow_init(&f, false, 6);
	flow_ts(&f, 0x01020304, 0x05060708);
	size_t len =
	    build(sp_buf, &f, 0xfffe, 1000, TCP_ACK | TCP_PSH | TCP_FIN, NULL, 10000, CSUM_PSEUDO);
	struct offload_hdr h = gso_hdr(sp_buf, OFFLOAD_GSO_TCPV4, 1448);
	assert_int_equal(check_seg(sp_buf, len, &h), 7); /* id wraps past 0xffff */

	/* IPv4 options, ECN (CWR only on the first segment), an exact multiple */
	f.ip_opt_len = 8;
	f.tos = 2;
	len = build(sp_buf, &f, 100, 0xfffffc00, TCP_ACK | TCP_CWR | TCP_ECE | TCP_PSH, NULL, 4000,
		    CSUM_PSEUDO);
	h = gso_hdr(sp_buf, OFFLOAD_GSO_TCPV4 | OFFLOAD_GSO_ECN, 1000);
	assert_int_equal(h.csum_start, 28);
	assert_int_equal(check_seg(sp_buf, len, &h), 4); /* sequence numbers wrap */

	/* full-size: 64 KiB minus headers, small MSS: more than OFFLOAD_MAX_SEGMENTS */
	f.ip_opt_len = 0;
	len = build(sp_buf, &f, 1, 1000, TCP_ACK, NULL, 65535 - 52, CSUM_PSEUDO);
	h = gso_hdr(sp_buf, OFFLOAD_GSO_TCPV4, 1448);
	assert_int_equal(check_seg(sp_buf, len, &h), 46);
	h.gso_size = 88;
	assert_int_equal(check_seg(sp_buf, len, &h), (65535 - 52 + 87) / 88);

	/* payload within gso_size, and no payload at all: one segment */
	len = build(sp_buf, &f, 1, 1000, TCP_ACK | TCP_FIN, NULL, 1448, CSUM_PSEUDO);
	h = gso_hdr(sp_buf, OFFLOAD_GSO_TCPV4, 1448);
	assert_int_equal(check_seg(sp_buf, len, &h), 1);
	len = build(sp_buf, &f, 1, 1000, TCP_ACK | TCP_FIN, NULL, 0, CSUM_PSEUDO);
	assert_int_equal(check_seg(sp_buf, len, &h), 1);

	/* the field's content does not matter (DATA_VALID or other conventions) */
	len = build(sp_buf, &f, 1, 1000, TCP_ACK, NULL, 3000, CSUM_PSEUDO);
	put_be16(sp_buf + 36, 0x1234);
	h = gso_hdr(sp_buf, OFFLOAD_GSO_TCPV4, 1400);
	h.flags = OFFLOAD_F_DATA_VALID;
	h.csum_start = h.csum_offset = 0;
	assert_int_equal(check_seg(sp_buf, len, &h), 3);
	/* hdr_len as TUN reports it (skb_headlen, may include payload) is fine */
	h.hdr_len = (uint16_t)len;
	assert_int_equal(check_seg(sp_buf, len, &h), 3);
	h.hdr_len = 0;
	assert_int_equal(check_seg(sp_buf, len, &h), 3);
}

static void test_seg_tcp6(void **state)
{
	(void)state;
	struct flow f;

	flow_init(&f, true, 6);
	flow_ts(&f, 9, 10);
	f.tos = 0xb8;
	size_t len = build(sp_buf, &f, 0, 77, TCP_ACK | TCP_PSH, NULL, 20000, CSUM_PSEUDO);
	struct offload_hdr h = gso_hdr(sp_buf, OFFLOAD_GSO_TCPV6, 1428);
	assert_int_equal(check_seg(sp_buf, len, &h), 15);
	len = build(sp_buf, &f, 0, 77, TCP_ACK | TCP_CWR, NULL, 65535 - 32, CSUM_PSEUDO);
	h = gso_hdr(sp_buf, OFFLOAD_GSO_TCPV6 | OFFLOAD_GSO_ECN, 1000);
	assert_int_equal(check_seg(sp_buf, len, &h), 66);
}

static void test_seg_udp(void **state)
{
	(void)state;
	struct flow f;

	for (int v6 = 0; v6 < 2; v6++) {
		flow_init(&f, v6, 17);
		size_t len = build(sp_buf, &f, 500, 1000, 0, NULL, 5000, CSUM_PSEUDO);
		struct offload_hdr h = gso_hdr(sp_buf, OFFLOAD_GSO_UDP_L4, 1200);
		assert_int_equal(check_seg(sp_buf, len, &h), 5);
		len = build(sp_buf, &f, 500, 1000, 0, NULL, 3600, CSUM_PSEUDO);
		assert_int_equal(check_seg(sp_buf, len, &h), 3);

		/* make the first segment's checksum come out as 0: it must be sent as 0xffff */
		size_t l3 = v6 ? 40 : 20;
		uint8_t seg[PKT_MAX];
		memcpy(seg, sp_buf, l3 + 8 + 1200);
		put_be16(seg + l3 + 4, 8 + 1200);
		put_be16(seg + l3 + 6, 0);
		put_be16(seg + l3 + 8 + 1198, 0);
		uint16_t r = ref_fold(ref_add(ref_pseudo(seg, 17, 1208), seg + l3, 1208));
		put_be16(sp_buf + l3 + 8 + 1198, (uint16_t)~r);
		struct offload_seg sg;
		assert_int_equal(offload_seg_begin(&sg, sp_buf, len, &h), 0);
		assert_int_equal(offload_seg_next(&sg, seg, sizeof(seg)), l3 + 1208);
		assert_int_equal(get_be16(seg + l3 + 6), 0xffff);
		assert_int_equal(check_seg(sp_buf, len, &h), 3);
	}
}

static void test_seg_small_cap(void **state)
{
	(void)state;
	struct flow f;
	struct offload_seg s;
	uint8_t out[PKT_MAX];

	flow_init(&f, false, 6);
	size_t len = build(sp_buf, &f, 1, 1000, TCP_ACK, NULL, 3000, CSUM_PSEUDO);
	struct offload_hdr h = gso_hdr(sp_buf, OFFLOAD_GSO_TCPV4, 1400);
	assert_int_equal(offload_seg_begin(&s, sp_buf, len, &h), 0);
	assert_int_equal(offload_seg_next(&s, out, 1439), -EMSGSIZE);
	assert_int_equal(offload_seg_next(&s, out, 1440), 1440);
	assert_int_equal(offload_seg_next(&s, out, 0), -EMSGSIZE);
	assert_int_equal(offload_seg_next(&s, out, sizeof(out)), 1440);
	assert_int_equal(offload_seg_next(&s, out, 240), 240);
	assert_int_equal(offload_seg_next(&s, out, 0), 0);
}

static void expect_seg_err(const uint8_t *p, size_t len, const struct offload_hdr *h, int err)
{
	struct offload_seg s;
	uint8_t out[PKT_MAX];

	assert_int_equal(offload_seg_begin(&s, p, len, h), err);
	/* a failed begin leaves nothing to iterate */
	assert_int_equal(offload_seg_count(&s), 0);
	assert_int_equal(offload_seg_next(&s, out, sizeof(out)), 0);
}

static void test_seg_malformed(void **state)
{
	(void)state;
	static uint8_t p[PKT_MAX * 4];
	struct flow f;
	struct offload_hdr h;

	for (int v6 = 0; v6 < 2; v6++) {
		flow_init(&f, v6, 6);
		flow_ts(&f, 1, 2);
		size_t len = build(p, &f, 1, 1000, TCP_ACK, NULL, 3000, CSUM_PSEUDO);
		size_t l3 = v6 ? 40 : 20, lenf = v6 ? 4 : 2, adj = v6 ? 40 : 0;
		uint8_t type = v6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4;
		h = gso_hdr(p, type, 1400);
		/* truncated: every cut inside the headers (length field adjusted to match) */
		h.hdr_len = 0;
		for (size_t n = 0; n < l3 + 32; n++) {
			put_be16(p + lenf, (uint16_t)(n - adj));
			expect_seg_err(p, n, &h, -EBADMSG);
		}
		put_be16(p + lenf, (uint16_t)(len - adj));
		/* the length field disagrees with the length */
		expect_seg_err(p, len - 1, &h, -EBADMSG);
		h.hdr_len = (uint16_t)(len + 1);
		expect_seg_err(p, len, &h, -EBADMSG); /* hdr_len beyond the packet */
		h = gso_hdr(p, type, 0);
		expect_seg_err(p, len, &h, -EBADMSG);
		h = gso_hdr(p, v6 ? OFFLOAD_GSO_TCPV4 : OFFLOAD_GSO_TCPV6, 1400);
		expect_seg_err(p, len, &h, -EBADMSG); /* gso type for the other IP version */
		h = gso_hdr(p, OFFLOAD_GSO_UDP_L4, 1400);
		h.csum_offset = 6;
		expect_seg_err(p, len, &h, -EBADMSG); /* it is TCP */
		const uint8_t unsup[] = {OFFLOAD_GSO_NONE, OFFLOAD_GSO_UDP, 2, 6, 0x7f};
		for (size_t i = 0; i < sizeof(unsup); i++) {
			h = gso_hdr(p, unsup[i], 1400);
			expect_seg_err(p, len, &h, -EOPNOTSUPP);
		}
		/* NEEDS_CSUM pointing elsewhere than the TCP checksum */
		h = gso_hdr(p, type, 1400);
		h.csum_start++;
		expect_seg_err(p, len, &h, -EBADMSG);
		h = gso_hdr(p, type, 1400);
		h.csum_offset = 6;
		expect_seg_err(p, len, &h, -EBADMSG);
		/* TCP data offset below 5 or beyond the packet */
		h = gso_hdr(p, type, 1400);
		uint8_t doff = p[l3 + 12];
		p[l3 + 12] = 0x40;
		expect_seg_err(p, len, &h, -EBADMSG);
		p[l3 + 12] = 0xf0;
		put_be16(p + lenf, (uint16_t)(l3 + 40 - adj));
		expect_seg_err(p, l3 + 40, &h, -EBADMSG);
		put_be16(p + lenf, (uint16_t)(len - adj));
		p[l3 + 12] = doff;
		assert_int_equal(check_seg(p, len, &h), 3);
	}

	/* IPv4: IHL below 5 or beyond the packet, fragments, not TCP, bad version */
	flow_init(&f, false, 6);
	size_t len = build(p, &f, 1, 1000, TCP_ACK, NULL, 3000, CSUM_PSEUDO);
	h = gso_hdr(p, OFFLOAD_GSO_TCPV4, 1400);
	p[0] = 0x44;
	expect_seg_err(p, len, &h, -EBADMSG);
	p[0] = 0x4f;
	put_be16(p + 2, 50);
	expect_seg_err(p, 50, &h, -EBADMSG);
	p[0] = 0x45;
	put_be16(p + 2, (uint16_t)len);
	put_be16(p + 6, 0x2000);
	expect_seg_err(p, len, &h, -EBADMSG);
	put_be16(p + 6, 0x0001);
	expect_seg_err(p, len, &h, -EBADMSG);
	put_be16(p + 6, 0x4000);
	p[9] = 17;
	expect_seg_err(p, len, &h, -EBADMSG);
	p[9] = 6;
	p[0] = 0x55;
	expect_seg_err(p, len, &h, -EBADMSG);
	p[0] = 0x45;
	assert_int_equal(check_seg(p, len, &h), 3);

	/* IPv6 extension headers are not supported; other next headers are malformed */
	flow_init(&f, true, 6);
	len = build(p, &f, 1, 1000, TCP_ACK, NULL, 3000, CSUM_PSEUDO);
	h = gso_hdr(p, OFFLOAD_GSO_TCPV6, 1400);
	const uint8_t ext[] = {0, 43, 44, 50, 51, 60};
	for (size_t i = 0; i < sizeof(ext); i++) {
		p[6] = ext[i];
		expect_seg_err(p, len, &h, -EOPNOTSUPP);
	}
	p[6] = 58;
	expect_seg_err(p, len, &h, -EBADMSG);
	p[6] = 6;

	/* UDP: header truncated, UDP gso on TCP */
	flow_init(&f, false, 17);
	len = build(p, &f, 1, 1000, 0, NULL, 3000, CSUM_PSEUDO);
	h = gso_hdr(p, OFFLOAD_GSO_UDP_L4, 1400);
	put_be16(p + 2, 27);
	expect_seg_err(p, 27, &h, -EBADMSG);
	put_be16(p + 2, 28);
	assert_int_equal(check_seg(p, 28, &h), 1);
}

/* ---- coalescing ---- */

static uint8_t seg_store[80][PKT_MAX];

/* A run of n segments of one flow: seq from 1000, ids from 0x100, payload plen (the last
 * one last_plen), PSH on the last one if psh. */
static void make_run(struct offload_pkt *pkts, size_t n, const struct flow *f, size_t plen,
		     size_t last_plen, bool psh)
{
	uint32_t seq = 1000;

	for (size_t i = 0; i < n; i++) {
		size_t pl = i == n - 1 ? last_plen : plen;
		uint8_t fl = TCP_ACK | (psh && i == n - 1 ? TCP_PSH : 0);
		pkts[i].data = seg_store[i];
		pkts[i].len = (uint32_t)build(seg_store[i], f, (uint16_t)(0x100 + i), seq, fl, NULL,
					      pl, CSUM_FULL);
		seq += (uint32_t)pl;
	}
}

static size_t iov_total(const struct offload_write *w)
{
	size_t t = 0;
	for (int i = 0; i < w->iovcnt; i++)
		t += w->iov[i].iov_len;
	return t;
}

static void check_plain(const struct offload_pkt *pkts, size_t n, const uint8_t *orig)
{
	struct offload_write w;
	const uint8_t zero[OFFLOAD_VNET_HDR_LEN] = {0};

	memset(&w, 0x5a, sizeof(w));
	offload_merge(pkts, n, &w);
	assert_int_equal(w.merged, 1);
	assert_int_equal(w.iovcnt, 2);
	assert_ptr_equal(w.iov[0].iov_base, w.head);
	assert_int_equal(w.iov[0].iov_len, OFFLOAD_VNET_HDR_LEN);
	assert_memory_equal(w.head, zero, OFFLOAD_VNET_HDR_LEN);
	assert_ptr_equal(w.iov[1].iov_base, pkts[0].data);
	assert_int_equal(w.iov[1].iov_len, pkts[0].len);
	if (orig)
		assert_memory_equal(pkts[0].data, orig, pkts[0].len);
}

/*
 * Checks a merged write of pkts[0..m): head layout and fields, the checksum preparation
 * (the kernel's rule, emulated), and the round trip through offload_seg back to the
 * original packets byte for byte.
 */
static void check_merged(const struct offload_pkt *pkts, const struct offload_write *w, unsigned m)
{
	const uint8_t *p0 = pkts[0].data, *ip = w->head + OFFLOAD_VNET_HDR_LEN;
	size_t l3 = ip_hlen(p0), head = l3 + (size_t)(p0[l3 + 12] >> 4) * 4, total = head;
	bool v6 = p0[0] >> 4 == 6, psh_last = pkts[m - 1].data[l3 + 13] & TCP_PSH;
	struct offload_hdr h;

	assert_int_equal(w->merged, m);
	assert_int_equal(w->iovcnt, m + 1);
	assert_ptr_equal(w->iov[0].iov_base, w->head);
	assert_int_equal(w->iov[0].iov_len, OFFLOAD_VNET_HDR_LEN + head);
	for (unsigned i = 0; i < m; i++) {
		assert_ptr_equal(w->iov[i + 1].iov_base, pkts[i].data + head);
		assert_int_equal(w->iov[i + 1].iov_len, pkts[i].len - head);
		total += pkts[i].len - head;
	}
	offload_hdr_read(&h, w->head);
	assert_int_equal(h.flags, OFFLOAD_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, v6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4);
	assert_int_equal(h.hdr_len, head);
	assert_int_equal(h.gso_size, pkts[0].len - head);
	assert_int_equal(h.csum_start, l3);
	assert_int_equal(h.csum_offset, 16);
	if (v6) {
		assert_int_equal(get_be16(ip + 4), total - 40);
		assert_memory_equal(ip, p0, 4);
		assert_memory_equal(ip + 6, p0 + 6, 34);
	} else {
		assert_int_equal(get_be16(ip + 2), total);
		assert_int_equal(ref_fold(ref_add(0, ip, 20)), 0xffff);
		assert_memory_equal(ip + 4, p0 + 4, 6); /* id of the first */
		assert_memory_equal(ip + 12, p0 + 12, 8);
	}
	assert_int_equal(ip[l3 + 13], p0[l3 + 13] | (psh_last ? TCP_PSH : 0));
	assert_memory_equal(ip + l3, p0 + l3, 13);
	assert_memory_equal(ip + l3 + 14, p0 + l3 + 14, 2);
	assert_memory_equal(ip + l3 + 18, p0 + l3 + 18, head - l3 - 18);
	/* the field: folded pseudo-header sum over the whole L4 length (not complemented) */
	uint16_t field = get_be16(ip + l3 + 16);
	assert_int_equal(field, ref_fold(ref_pseudo(ip, 6, (uint32_t)(total - l3))));

	/*
	 * What tcp_gso_segment() + skb_checksum_help() do with it: each segment's field is the
	 * super-packet's with the L4 length swapped for the segment's (one's complement), then
	 * the sum over the segment from csum_start is complemented into the field. That must
	 * give each original packet's checksum.
	 */
	for (unsigned i = 0; i < m; i++) {
		uint8_t seg[PKT_MAX];
		size_t len = pkts[i].len;
		memcpy(seg, pkts[i].data, len);
		uint32_t adj = field + (uint16_t) ~(uint16_t)(total - l3) + (uint32_t)(len - l3);
		put_be16(seg + l3 + 16, ref_fold(adj));
		uint16_t c = (uint16_t)~ref_fold(ref_add(0, seg + l3, len - l3));
		assert_int_equal(c, get_be16(pkts[i].data + l3 + 16));
	}

	/* round trip: the super-packet segments back into the original packets */
	static uint8_t sp[SUPER_MAX];
	size_t off = 0;
	for (int i = 0; i < w->iovcnt; i++) {
		memcpy(sp + off, w->iov[i].iov_base, w->iov[i].iov_len);
		off += w->iov[i].iov_len;
	}
	struct offload_seg s;
	uint8_t out[PKT_MAX];
	assert_int_equal(
	    offload_seg_begin(&s, sp + OFFLOAD_VNET_HDR_LEN, off - OFFLOAD_VNET_HDR_LEN, &h), 0);
	assert_int_equal(offload_seg_count(&s), m);
	for (unsigned i = 0; i < m; i++) {
		int n = offload_seg_next(&s, out, sizeof(out));
		assert_int_equal(n, pkts[i].len);
		assert_memory_equal(out, pkts[i].data, pkts[i].len);
	}
	assert_int_equal(offload_seg_next(&s, out, sizeof(out)), 0);
}

static void test_merge_run(void **state)
{
	(void)state;
	struct offload_pkt pkts[80];
	struct offload_write w;
	struct flow f;

	for (int v6 = 0; v6 < 2; v6++) {
		flow_init(&f, v6, 6);
		flow_ts(&f, 0x11223344, 0x55667788);
		/* n equal segments, with and without PSH on the last, a shorter last one */
		for (size_t n = 2; n <= 10; n++) {
			make_run(pkts, n, &f, 1000, n & 1 ? 1000 : 333, n & 2);
			offload_merge(pkts, n, &w);
			check_merged(pkts, &w, (unsigned)n);
		}
		/* stops at OFFLOAD_MAX_MERGE */
		make_run(pkts, 60, &f, 500, 500, false);
		offload_merge(pkts, 60, &w);
		check_merged(pkts, &w, OFFLOAD_MAX_MERGE);
		/* the next call continues with the rest */
		offload_merge(pkts + OFFLOAD_MAX_MERGE, 60 - OFFLOAD_MAX_MERGE, &w);
		check_merged(pkts + OFFLOAD_MAX_MERGE, &w, 60 - OFFLOAD_MAX_MERGE);
		/* stops below 65535 bytes */
		size_t head = head_len(&f), fit = (65535 - head) / 1400;
		assert_int_equal(fit, 46);
		make_run(pkts, 48, &f, 1400, 1400, false);
		offload_merge(pkts, 48, &w);
		check_merged(pkts, &w, (unsigned)fit);
		assert_true(iov_total(&w) - OFFLOAD_VNET_HDR_LEN <= 65535);
		/* exactly 65535 fits */
		make_run(pkts, 47, &f, 1400, 65535 - head - 46 * 1400, false);
		offload_merge(pkts, 47, &w);
		check_merged(pkts, &w, 47);
		assert_int_equal(iov_total(&w) - OFFLOAD_VNET_HDR_LEN, 65535);
		/* one byte more does not */
		make_run(pkts, 47, &f, 1400, 65536 - head - 46 * 1400, false);
		offload_merge(pkts, 47, &w);
		check_merged(pkts, &w, 46);
	}
	/* no options, 1-byte payloads, sequence numbers wrapping */
	flow_init(&f, false, 6);
	for (size_t i = 0; i < 5; i++) {
		pkts[i].data = seg_store[i];
		pkts[i].len =
		    (uint32_t)build(seg_store[i], &f, (uint16_t)(0xfffe + i),
				    (uint32_t)(0xfffffffe + i), TCP_ACK, NULL, 1, CSUM_FULL);
	}
	offload_merge(pkts, 5, &w);
	check_merged(pkts, &w, 5);
}

/* Rebuilds packet k of a run with its checksums fixed after a change. */
static void refix(struct offload_pkt *p)
{
	ref_fix(p->data, p->len);
}

static void test_merge_breaks(void **state)
{
	(void)state;
	struct offload_pkt pkts[80];
	struct offload_write w;
	struct flow f, g;
	uint8_t orig[PKT_MAX];

	for (int v6 = 0; v6 < 2; v6++) {
		size_t l3 = v6 ? 40 : 20;
		flow_init(&f, v6, 6);
		flow_ts(&f, 100, 200);
#define BREAK_AT(k, change)                                                                        \
	do {                                                                                       \
		make_run(pkts, 6, &f, 1000, 1000, false);                                          \
		uint8_t *p = pkts[k].data;                                                         \
		(void)p;                                                                           \
		change;                                                                            \
		offload_merge(pkts, 6, &w);                                                        \
		if ((k) == 1) {                                                                    \
			memcpy(orig, pkts[0].data, pkts[0].len);                                   \
			check_plain(pkts, 6, orig);                                                \
		} else {                                                                           \
			check_merged(pkts, &w, k);                                                 \
		}                                                                                  \
	} while (0)
		/* another flow: port, address, ack, window */
		BREAK_AT(3, (p[l3 + 1]++, refix(&pkts[3])));
		BREAK_AT(2, (p[l3 + 2]++, refix(&pkts[2])));
		BREAK_AT(1, (p[v6 ? 39 : 19]++, refix(&pkts[1])));
		BREAK_AT(4, (p[v6 ? 9 : 13]++, refix(&pkts[4])));
		BREAK_AT(2, (p[l3 + 11]++, refix(&pkts[2])));
		BREAK_AT(2, (p[l3 + 15]++, refix(&pkts[2])));
		BREAK_AT(2, (p[l3 + 19]++, refix(&pkts[2]))); /* urgent pointer */
		/* a gap in sequence numbers, a retransmission */
		BREAK_AT(3, (put_be32(p + l3 + 4, get_be32(p + l3 + 4) + 1), refix(&pkts[3])));
		BREAK_AT(1, (put_be32(p + l3 + 4, 1000), refix(&pkts[1])));
		/* a different timestamp option value */
		BREAK_AT(2, (p[l3 + 27]++, refix(&pkts[2])));
		/* flags: SYN, FIN, RST, URG, CWR, ECE, no ACK */
		const uint8_t bad[] = {TCP_SYN, TCP_FIN, TCP_RST, TCP_URG, TCP_CWR, TCP_ECE};
		for (size_t i = 0; i < sizeof(bad); i++)
			BREAK_AT(2, (p[l3 + 13] |= bad[i], refix(&pkts[2])));
		BREAK_AT(2, (p[l3 + 13] = TCP_PSH, refix(&pkts[2])));
		BREAK_AT(2, (p[l3 + 12] |= 1, refix(&pkts[2]))); /* AccECN/NS bit */
		/* PSH in the middle ends the run after it */
		BREAK_AT(3, (pkts[2].data[l3 + 13] |= TCP_PSH, refix(&pkts[2])));
		/* broken checksums: TCP, IPv4 header (member 2: run of 2; first: plain) */
		BREAK_AT(2, p[l3 + 40]++);
		BREAK_AT(1, pkts[0].data[l3 + 40]++);
		BREAK_AT(2, p[l3 + 16]++);
		if (!v6) {
			BREAK_AT(2, p[10]++);
			BREAK_AT(1, pkts[0].data[11]++);
			/* TOS, TTL, DF, a fragment, id changes are fine */
			BREAK_AT(2, (p[1] = 2, refix(&pkts[2])));
			BREAK_AT(2, (p[8]--, refix(&pkts[2])));
			BREAK_AT(2, (p[6] = 0, refix(&pkts[2])));
			BREAK_AT(2, (p[6] = 0x60, refix(&pkts[2])));
			make_run(pkts, 6, &f, 1000, 1000, false);
			pkts[2].data[4] = 0x77;
			refix(&pkts[2]);
			offload_merge(pkts, 6, &w);
			assert_int_equal(w.merged, 6);
		} else {
			BREAK_AT(2, (p[3]++, refix(&pkts[2])));	      /* flow label */
			BREAK_AT(2, (p[1] |= 0x10, refix(&pkts[2]))); /* traffic class */
			BREAK_AT(2, (p[7]--, refix(&pkts[2])));	      /* hop limit */
		}
#undef BREAK_AT

		/* a larger later payload; a shorter one ends the run after it */
		make_run(pkts, 4, &f, 1000, 1000, false);
		pkts[1].len =
		    (uint32_t)build(seg_store[1], &f, 0x101, 2000, TCP_ACK, NULL, 1001, CSUM_FULL);
		offload_merge(pkts, 4, &w);
		check_plain(pkts, 4, NULL);
		make_run(pkts, 5, &f, 1000, 1000, false);
		pkts[2].len =
		    (uint32_t)build(seg_store[2], &f, 0x102, 3000, TCP_ACK, NULL, 999, CSUM_FULL);
		offload_merge(pkts, 5, &w);
		check_merged(pkts, &w, 3);
		/* a pure ACK neither starts nor joins a run */
		make_run(pkts, 3, &f, 1000, 1000, false);
		pkts[1].len =
		    (uint32_t)build(seg_store[1], &f, 0x101, 2000, TCP_ACK, NULL, 0, CSUM_FULL);
		offload_merge(pkts, 3, &w);
		check_plain(pkts, 3, NULL);
		pkts[0].len =
		    (uint32_t)build(seg_store[0], &f, 0x101, 1000, TCP_ACK, NULL, 0, CSUM_FULL);
		offload_merge(pkts, 3, &w);
		check_plain(pkts, 3, NULL);
		/* different TCP option length */
		g = f;
		g.tcp_opt_len = 0;
		make_run(pkts, 3, &f, 1000, 1000, false);
		pkts[1].len =
		    (uint32_t)build(seg_store[1], &g, 0x101, 2000, TCP_ACK, NULL, 1000, CSUM_FULL);
		offload_merge(pkts, 3, &w);
		check_plain(pkts, 3, NULL);
		/* trailing bytes after the IP length */
		make_run(pkts, 3, &f, 1000, 1000, false);
		pkts[1].len++;
		offload_merge(pkts, 3, &w);
		check_plain(pkts, 3, NULL);
		/* a single packet, and UDP */
		make_run(pkts, 3, &f, 1000, 1000, false);
		memcpy(orig, pkts[0].data, pkts[0].len);
		check_plain(pkts, 1, orig);
		g = f;
		g.proto = 17;
		for (size_t i = 0; i < 3; i++)
			pkts[i].len = (uint32_t)build(seg_store[i], &g, 0x100, 1000, 0, NULL, 1000,
						      CSUM_FULL);
		memcpy(orig, pkts[0].data, pkts[0].len);
		check_plain(pkts, 3, orig);
	}

	/* IPv4 then IPv6 of the "same" flow; IPv4 options; garbage */
	flow_init(&f, false, 6);
	flow_init(&g, true, 6);
	make_run(pkts, 3, &f, 1000, 1000, false);
	pkts[1].len = (uint32_t)build(seg_store[1], &g, 0, 2000, TCP_ACK, NULL, 1000, CSUM_FULL);
	offload_merge(pkts, 3, &w);
	check_plain(pkts, 3, NULL);
	f.ip_opt_len = 4;
	make_run(pkts, 3, &f, 1000, 1000, false);
	offload_merge(pkts, 3, &w);
	check_plain(pkts, 3, NULL);
	const uint32_t short_lens[] = {0, 1, 19, 20, 39, 40, 59};
	for (size_t i = 0; i < ARRAY_SIZE(short_lens); i++) {
		make_run(pkts, 3, &g, 1000, 1000, false);
		pkts[0].len = short_lens[i];
		put_be16(pkts[0].data + 4, (uint16_t)(short_lens[i] - 40));
		offload_merge(pkts, 3, &w);
		check_plain(pkts, 3, NULL);
	}
	offload_merge(pkts, 0, &w);
	assert_int_equal(w.merged, 0);
	assert_int_equal(w.iovcnt, 0);
}

/* ---- the real kernel: TUN with IFF_VNET_HDR and TSO in a private network namespace ---- */

#define TUN_PATH    "/dev/net/tun"
#define PEER_MSS    1400 /* what our fake peer announces and sends */
#define PEER_WSCALE 7
#define WAIT_MS	    3000
#define RUN_BYTES   65536

static bool in_netns; /* root with /dev/net/tun, in a namespace of our own */

static struct {
	bool up, v6;
	int tun; /* mvo0: vnet header, CSUM|TSO4|TSO6; 10.77.0.1/24, fd77::1/64 */
	int out; /* mvo1: vnet header, no offloads; 10.78.0.1/24, fd78::1/64; forwarding target */
} kenv = {.tun = -1, .out = -1};

static const uint8_t tun_a4[4] = {10, 77, 0, 1}, peer_a4[4] = {10, 77, 0, 2};
static const uint8_t out_a4[4] = {10, 78, 0, 1}, fwd_a4[4] = {10, 78, 0, 2};
static const uint8_t tun_a6[16] = {0xfd, 0x77, [15] = 1}, peer_a6[16] = {0xfd, 0x77, [15] = 2};
static const uint8_t out_a6[16] = {0xfd, 0x78, [15] = 1}, fwd_a6[16] = {0xfd, 0x78, [15] = 2};

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() == 0 && access(TUN_PATH, R_OK | W_OK) == 0 && unshare(CLONE_NEWNET) == 0)
		in_netns = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (kenv.tun >= 0)
		close(kenv.tun);
	if (kenv.out >= 0)
		close(kenv.out);
	return 0;
}

static bool write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

static int tun_open(const char *name, unsigned offloads)
{
	struct ifreq ifr;
	int fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK), sz = OFFLOAD_VNET_HDR_LEN;

	assert_true(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETVNETHDRSZ, &sz), 0);
	assert_int_equal(ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads), 0);
	return fd;
}

/* struct in6_ifreq from linux/ipv6.h, which does not mix with netinet/in.h */
struct if6_req {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

static void if_setup(const char *name, const uint8_t a4[4], const uint8_t a6[16])
{
	struct ifreq ifr;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char path[128];

	assert_true(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	memcpy(&sin.sin_addr, a4, 4);
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	assert_int_equal(ioctl(s, SIOCSIFADDR, &ifr), 0);
	sin.sin_addr.s_addr = htonl(0xffffff00);
	memcpy(&ifr.ifr_netmask, &sin, sizeof(sin));
	assert_int_equal(ioctl(s, SIOCSIFNETMASK, &ifr), 0);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", name);
	assert_true(write_file(path, "0"));
	if (kenv.v6) {
		struct if6_req r = {.prefixlen = 64, .ifindex = (int)if_nametoindex(name)};
		s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_true(s >= 0);
		memcpy(&r.addr, a6, 16);
		assert_int_equal(ioctl(s, SIOCSIFADDR, &r), 0);
		close(s);
	}
}

/*
 * A new IPv6 address stays tentative until the DAD work item has run, even on a NOARP device
 * where no DAD is done; a socket cannot use it until then (EADDRNOTAVAIL). Binding tells.
 */
static void wait_addr6(const uint8_t a6[16])
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), tries = 0;

	assert_true(s >= 0);
	memcpy(&sa.sin6_addr, a6, 16);
	while (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		assert_int_equal(errno, EADDRNOTAVAIL);
		assert_true(++tries < WAIT_MS / 10);
		usleep(10000);
	}
	close(s);
}

/* Sets up both devices once; false (skip) without root, /dev/net/tun or a namespace. */
static bool kenv_up(void)
{
	if (!in_netns)
		return false;
	if (kenv.up)
		return true;
	kenv.v6 = access("/proc/sys/net/ipv6/conf/all/forwarding", W_OK) == 0;
	assert_true(write_file("/proc/sys/net/ipv4/ip_forward", "1"));
	assert_true(write_file("/proc/sys/net/ipv4/conf/all/rp_filter", "0"));
	if (kenv.v6)
		assert_true(write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1"));
	kenv.tun = tun_open("mvo0", TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	kenv.out = tun_open("mvo1", 0);
	if_setup("mvo0", tun_a4, tun_a6);
	if_setup("mvo1", out_a4, out_a6);
	if (kenv.v6) {
		wait_addr6(tun_a6);
		wait_addr6(out_a6);
	}
	kenv.up = true;
	return true;
}

/*
 * Reads from a TUN until a TCP packet from src to dst arrives (other traffic, e.g. IPv6
 * router solicitations, is skipped). Returns the IP packet length (the packet starts after
 * the vnet header in buf), or 0 after timeout_ms.
 */
static size_t tun_read_tcp(int fd, uint8_t *buf, size_t cap, struct offload_hdr *h, bool v6,
			   const uint8_t *src, const uint8_t *dst, int timeout_ms)
{
	struct timespec t0, t1;
	size_t alen = v6 ? 16 : 4, soff = v6 ? 8 : 12;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (ms >= timeout_ms || poll(&pfd, 1, (int)(timeout_ms - ms)) != 1)
			return 0;
		ssize_t n = read(fd, buf, cap);
		if (n < OFFLOAD_VNET_HDR_LEN + 40)
			continue;
		const uint8_t *ip = buf + OFFLOAD_VNET_HDR_LEN;
		if ((ip[0] >> 4 == 6) != v6 || ip_proto(ip) != 6 || memcmp(ip + soff, src, alen) ||
		    memcmp(ip + soff + alen, dst, alen))
			continue;
		offload_hdr_read(h, buf);
		return (size_t)n - OFFLOAD_VNET_HDR_LEN;
	}
}

static void tun_write_plain(int fd, const uint8_t *pkt, size_t len)
{
	uint8_t vh[OFFLOAD_VNET_HDR_LEN] = {0};
	struct iovec iov[2] = {{vh, sizeof(vh)}, {(void *)pkt, len}};

	assert_int_equal(writev(fd, iov, 2), (ssize_t)(sizeof(vh) + len));
}

/* Our side of a TCP connection with a socket of the namespace, spoken through the TUN. */
struct tcp_peer {
	struct flow f;	  /* peer -> socket */
	uint32_t snd_nxt; /* our next sequence number */
	uint32_t rcv_nxt; /* next byte expected from the socket */
	uint32_t acked;	  /* the socket's latest ack */
	uint32_t wnd;	  /* the socket's receive window in bytes */
	uint8_t wscale;	  /* the socket's window scale */
	uint16_t id;
	uint32_t rx_base; /* sequence number of rx[0] */
	uint8_t *rx;
	size_t rx_cap;
	unsigned gso_pkts, max_segs; /* GSO super-packets read, most segments in one */
};

static void peer_send(struct tcp_peer *p, uint8_t flags, const uint8_t *payload, size_t plen)
{
	uint8_t pkt[PKT_MAX];

	p->f.ack = p->rcv_nxt;
	size_t len = build(pkt, &p->f, p->id++, p->snd_nxt, flags, payload, plen, CSUM_FULL);
	tun_write_plain(kenv.tun, pkt, len);
	p->snd_nxt += (uint32_t)plen;
}

/* One complete packet from the socket (checksums verified): window, ack and data. */
static void peer_take(struct tcp_peer *p, const uint8_t *ip, size_t len)
{
	size_t l3 = ip_hlen(ip), thl = (size_t)(ip[l3 + 12] >> 4) * 4, plen = len - l3 - thl;
	const uint8_t *th = ip + l3;

	assert_true(ref_valid(ip, len));
	p->wnd = (uint32_t)get_be16(th + 14) << p->wscale;
	if (th[13] & TCP_ACK)
		p->acked = get_be32(th + 8);
	uint32_t seq = get_be32(th + 4);
	if (plen && seq == p->rcv_nxt) {
		size_t off = seq - p->rx_base;
		assert_true(off + plen <= p->rx_cap);
		memcpy(p->rx + off, th + thl, plen);
		p->rcv_nxt += (uint32_t)plen;
	}
}

/*
 * Reads the next packet from the socket: a GSO super-packet is cut with offload_seg and
 * every segment's checksums are verified independently; a plain one with NEEDS_CSUM is
 * completed with offload_finish_csum first. False after a timeout.
 */
static bool peer_recv(struct tcp_peer *p)
{
	static uint8_t buf[SUPER_MAX];
	uint8_t seg[PKT_MAX];
	struct offload_hdr h;
	bool v6 = p->f.v6;
	size_t len = tun_read_tcp(kenv.tun, buf, sizeof(buf), &h, v6, p->f.dst, p->f.src, WAIT_MS);
	uint8_t *ip = buf + OFFLOAD_VNET_HDR_LEN;

	if (!len)
		return false;
	if (h.gso_type == OFFLOAD_GSO_NONE) {
		assert_int_equal(offload_finish_csum(ip, len, &h), 0);
		peer_take(p, ip, len);
		return true;
	}
	assert_int_equal(h.gso_type & ~OFFLOAD_GSO_ECN, v6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4);
	assert_true(h.flags & OFFLOAD_F_NEEDS_CSUM);
	assert_true(h.gso_size > 0 && h.gso_size <= PEER_MSS);
	/* the field as the kernel hands it out: the pseudo-header sum over the whole length */
	size_t l3 = ip_hlen(ip);
	assert_int_equal(get_be16(ip + l3 + 16), ref_fold(ref_pseudo(ip, 6, (uint32_t)(len - l3))));

	struct offload_seg s;
	int n;
	assert_int_equal(offload_seg_begin(&s, ip, len, &h), 0);
	p->gso_pkts++;
	p->max_segs = MAX(p->max_segs, offload_seg_count(&s));
	while ((n = offload_seg_next(&s, seg, sizeof(seg))) > 0) {
		assert_true((size_t)n <= s.head_len + h.gso_size);
		peer_take(p, seg, (size_t)n);
	}
	assert_int_equal(n, 0);
	return true;
}

/* Connects a TCP socket of the namespace to our fake peer behind the TUN. */
static int peer_connect(struct tcp_peer *p, bool v6)
{
	static uint8_t buf[SUPER_MAX];
	struct offload_hdr h;
	struct sockaddr_storage ss;
	socklen_t sl;
	int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, err = -1;
	struct linger lg = {1, 0};

	assert_true(s >= 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(9);
		memcpy(&a->sin6_addr, peer_a6, 16);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(9);
		memcpy(&a->sin_addr, peer_a4, 4);
		sl = sizeof(*a);
	}
	assert_int_equal(connect(s, (struct sockaddr *)&ss, sl), -1);
	assert_int_equal(errno, EINPROGRESS);

	memset(p, 0, sizeof(*p));
	flow_init(&p->f, v6, 6);
	memcpy(p->f.src, v6 ? peer_a6 : peer_a4, v6 ? 16 : 4);
	memcpy(p->f.dst, v6 ? tun_a6 : tun_a4, v6 ? 16 : 4);
	p->f.label = 0;
	p->f.window = 65535;
	size_t len = tun_read_tcp(kenv.tun, buf, sizeof(buf), &h, v6, p->f.dst, p->f.src, WAIT_MS);
	assert_true(len > 0);
	uint8_t *ip = buf + OFFLOAD_VNET_HDR_LEN, *th = ip + ip_hlen(ip);
	assert_int_equal(th[13], TCP_SYN);
	assert_int_equal(offload_finish_csum(ip, len, &h), 0); /* a real partial checksum */
	assert_true(ref_valid(ip, len));
	size_t thl = (size_t)(th[12] >> 4) * 4;
	for (size_t i = 20; i < thl;) { /* the socket's window scale */
		if (th[i] == 0)
			break;
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= thl || th[i + 1] < 2)
			break;
		if (th[i] == 3 && th[i + 1] == 3)
			p->wscale = th[i + 2];
		i += th[i + 1];
	}
	p->f.sport = 9;
	p->f.dport = get_be16(th);
	p->rcv_nxt = get_be32(th + 4) + 1;
	p->snd_nxt = 0x7ffff000;
	p->id = 0xfff0;

	/* SYN-ACK with MSS and window scale; no timestamps or SACK */
	const uint8_t opt[8] = {2, 4, PEER_MSS >> 8, PEER_MSS & 0xff, 1, 3, 3, PEER_WSCALE};
	memcpy(p->f.tcp_opt, opt, sizeof(opt));
	p->f.tcp_opt_len = sizeof(opt);
	peer_send(p, TCP_SYN | TCP_ACK, NULL, 0);
	p->snd_nxt++;
	p->f.tcp_opt_len = 0;
	struct pollfd pfd = {.fd = s, .events = POLLOUT};
	assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
	sl = sizeof(err);
	assert_int_equal(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &sl), 0);
	assert_int_equal(err, 0);
	return s;
}

/*
 * (a) The socket sends 64 KiB; the kernel hands the TUN GSO super-packets (TSO), which
 * offload_seg cuts into segments with valid checksums carrying the exact byte stream.
 * (b) Our peer answers with runs of segments that offload_merge turns into single GSO
 * writes; the kernel accepts them and the socket receives every byte in order and acks it.
 */
static void kernel_tcp(bool v6)
{
	static uint8_t tx[RUN_BYTES], rx[RUN_BYTES], data[3 * RUN_BYTES], got[3 * RUN_BYTES];
	static uint8_t store[OFFLOAD_MAX_MERGE][PKT_MAX];
	struct offload_pkt pkts[OFFLOAD_MAX_MERGE];
	struct offload_write w;
	struct tcp_peer p;

	if (!kenv_up() || (v6 && !kenv.v6))
		skip();
	int s = peer_connect(&p, v6);

	for (size_t i = 0; i < sizeof(tx); i++)
		tx[i] = (uint8_t)(i * 31 + (i >> 9) + 7);
	p.rx = rx;
	p.rx_cap = sizeof(rx);
	p.rx_base = p.rcv_nxt;
	size_t sent = 0;
	while (p.rcv_nxt - p.rx_base < sizeof(tx)) {
		if (sent < sizeof(tx)) {
			ssize_t n =
			    send(s, tx + sent, sizeof(tx) - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else
				assert_int_equal(errno, EAGAIN);
		}
		assert_true(peer_recv(&p));
		peer_send(&p, TCP_ACK, NULL, 0);
	}
	assert_memory_equal(rx, tx, sizeof(tx));
	assert_true(p.gso_pkts > 0);
	assert_true(p.max_segs > 1);

	/* (b) */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 17 + (i >> 10) + 1);
	size_t done = 0;
	unsigned writes = 0;
	while (done < sizeof(data)) {
		size_t left = sizeof(data) - done,
		       max_n = MIN((size_t)OFFLOAD_MAX_MERGE, p.wnd / PEER_MSS);
		max_n = MIN(max_n, (65535 - head_len(&p.f)) / PEER_MSS);
		size_t n = MIN(max_n, (left + PEER_MSS - 1) / PEER_MSS), bytes = 0;
		assert_true(n >= 2);
		for (size_t i = 0; i < n; i++) {
			size_t plen = MIN((size_t)PEER_MSS, left - bytes);
			p.f.ack = p.rcv_nxt;
			pkts[i].data = store[i];
			pkts[i].len =
			    (uint32_t)build(store[i], &p.f, p.id++, p.snd_nxt + (uint32_t)bytes,
					    TCP_ACK | (i == n - 1 ? TCP_PSH : 0),
					    data + done + bytes, plen, CSUM_FULL);
			bytes += plen;
		}
		offload_merge(pkts, n, &w);
		assert_int_equal(w.merged, n);
		assert_int_equal(writev(kenv.tun, w.iov, w.iovcnt), (ssize_t)iov_total(&w));
		writes++;
		p.snd_nxt += (uint32_t)bytes;
		for (size_t r = 0; r < bytes;) {
			struct pollfd pfd = {.fd = s, .events = POLLIN};
			assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
			ssize_t k = recv(s, got + done + r, bytes - r, MSG_DONTWAIT);
			assert_true(k > 0);
			r += (size_t)k;
		}
		/* the socket acks it all (and opens its window again) */
		while (p.acked != p.snd_nxt || p.wnd < 2 * PEER_MSS)
			assert_true(peer_recv(&p));
		done += bytes;
	}
	assert_memory_equal(got, data, sizeof(data));
	assert_true(writes >= 3);
	close(s);
}

static void test_kernel_tcp4(void **state)
{
	(void)state;
	kernel_tcp(false);
}

static void test_kernel_tcp6(void **state)
{
	(void)state;
	kernel_tcp(true);
}

/*
 * A merged super-packet routed through the namespace to a device without offloads: the
 * kernel segments it in software (tcp_gso_segment) and completes each segment's checksum
 * from our prepared field (skb_checksum_help). Every segment must come out exactly as the
 * original packet, one hop later. This is what proves the checksum preparation: local
 * delivery accepts a NEEDS_CSUM packet without looking at its checksum.
 */
static void kernel_forward(bool v6)
{
	static uint8_t buf[SUPER_MAX];
	struct offload_pkt pkts[OFFLOAD_MAX_MERGE];
	struct offload_write w;
	struct offload_hdr h;
	struct flow f;
	const size_t n = 20;

	if (!kenv_up() || (v6 && !kenv.v6))
		skip();
	flow_init(&f, v6, 6);
	memcpy(f.src, v6 ? peer_a6 : peer_a4, v6 ? 16 : 4);
	memcpy(f.dst, v6 ? fwd_a6 : fwd_a4, v6 ? 16 : 4);
	flow_ts(&f, 0xdeadbeef, 0x01020304);
	make_run(pkts, n, &f, 1388, 700, true);
	offload_merge(pkts, n, &w);
	check_merged(pkts, &w, (unsigned)n);
	assert_int_equal(writev(kenv.tun, w.iov, w.iovcnt), (ssize_t)iov_total(&w));

	for (size_t i = 0; i < n; i++) {
		size_t len =
		    tun_read_tcp(kenv.out, buf, sizeof(buf), &h, v6, f.src, f.dst, WAIT_MS);
		uint8_t *ip = buf + OFFLOAD_VNET_HDR_LEN, want[PKT_MAX];
		assert_int_equal(len, pkts[i].len);
		assert_int_equal(h.gso_type, OFFLOAD_GSO_NONE);
		assert_false(h.flags & OFFLOAD_F_NEEDS_CSUM);
		assert_true(ref_valid(ip, len));
		memcpy(want, pkts[i].data, len);
		want[v6 ? 7 : 8]--; /* one hop */
		if (!v6) {
			want[10] = ip[10];
			want[11] = ip[11];
		}
		assert_memory_equal(ip, want, len);
	}
}

static void test_kernel_forward4(void **state)
{
	(void)state;
	kernel_forward(false);
}

static void test_kernel_forward6(void **state)
{
	(void)state;
	kernel_forward(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hdr_rw),	    cmocka_unit_test(test_csum_vectors),
	    cmocka_unit_test(test_csum_random),	    cmocka_unit_test(test_finish_csum),
	    cmocka_unit_test(test_seg_tcp4),	    cmocka_unit_test(test_seg_tcp6),
	    cmocka_unit_test(test_seg_udp),	    cmocka_unit_test(test_seg_small_cap),
	    cmocka_unit_test(test_seg_malformed),   cmocka_unit_test(test_merge_run),
	    cmocka_unit_test(test_merge_breaks),    cmocka_unit_test(test_kernel_tcp4),
	    cmocka_unit_test(test_kernel_tcp6),	    cmocka_unit_test(test_kernel_forward4),
	    cmocka_unit_test(test_kernel_forward6),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

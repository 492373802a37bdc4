// SPDX-License-Identifier: GPL-3.0-or-later
/* proxyv2.c - PROXY protocol v2 header parser (haproxy.org proxy-protocol.txt, section 2.2). */
#include <errno.h>
#include <string.h>

#include "meshvpn/bytes.h"
#include "meshvpn/proxyv2.h"

static const uint8_t signature[PROXYV2_SIG_LEN] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
						   0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* Every TLV must fit what is left after the address block; a short tail is malformed. */
static bool tlvs_ok(struct rd *r)
{
	while (rd_left(r) > 0) {
		rd_u8(r);
		uint16_t n = rd_be16(r);
		rd_skip(r, n);
	}
	return rd_ok(r);
}

static void read_inet(struct rd *r, struct proxyv2 *out)
{
	uint8_t s[4], d[4];

	rd_copy(r, s, sizeof(s));
	rd_copy(r, d, sizeof(d));
	uint16_t sp = rd_be16(r), dp = rd_be16(r);
	addr_set_v4(&out->src, s, sp);
	addr_set_v4(&out->dst, d, dp);
}

static void read_inet6(struct rd *r, struct proxyv2 *out)
{
	uint8_t s[16], d[16];

	rd_copy(r, s, sizeof(s));
	rd_copy(r, d, sizeof(d));
	uint16_t sp = rd_be16(r), dp = rd_be16(r);
	addr_set_v6(&out->src, s, sp);
	addr_set_v6(&out->dst, d, dp);
}

int proxyv2_parse(const uint8_t *p, size_t len, struct proxyv2 *out)
{
	static const size_t block_len[] = {
	    [PROXYV2_AF_UNSPEC] = 0,
	    [PROXYV2_AF_INET] = PROXYV2_INET_LEN,
	    [PROXYV2_AF_INET6] = PROXYV2_INET6_LEN,
	    [PROXYV2_AF_UNIX] = PROXYV2_UNIX_LEN,
	};
	struct rd r, body;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return 0;
	/* Refuse garbage as soon as it differs from the signature, not after a time-out. */
	if (memcmp(p, signature, MIN(len, PROXYV2_SIG_LEN)) != 0)
		return -EBADMSG;
	if (len < PROXYV2_FIXED_LEN)
		goto partial;

	rd_init(&r, p + PROXYV2_SIG_LEN, len - PROXYV2_SIG_LEN);
	uint8_t ver_cmd = rd_u8(&r), fam_tp = rd_u8(&r);
	uint16_t body_len = rd_be16(&r);

	if (ver_cmd >> 4 != PROXYV2_VERSION)
		return -EPROTONOSUPPORT;
	out->command = ver_cmd & 0x0f;
	out->family = fam_tp >> 4;
	out->transport = fam_tp & 0x0f;
	if (out->command > PROXYV2_CMD_PROXY || out->family > PROXYV2_AF_UNIX ||
	    out->transport > PROXYV2_TP_DGRAM)
		return -EPROTONOSUPPORT;
	if (rd_left(&r) < body_len)
		goto partial;

	body = rd_sub(&r, body_len);
	/* UNSPEC: the payload is of unknown form and skipped whole (the spec's "ignore"). */
	if (out->family != PROXYV2_AF_UNSPEC) {
		struct rd block = rd_sub(&body, block_len[out->family]);
		if (!rd_ok(&block) || !tlvs_ok(&body))
			return -EBADMSG;
		if (out->command == PROXYV2_CMD_PROXY && out->transport == PROXYV2_TP_STREAM) {
			if (out->family == PROXYV2_AF_INET)
				read_inet(&block, out);
			else if (out->family == PROXYV2_AF_INET6)
				read_inet6(&block, out);
			if (out->family != PROXYV2_AF_UNIX)
				out->flags |= PROXYV2_HAS_ADDR;
		}
	}
	return PROXYV2_FIXED_LEN + body_len;

partial:
	memset(out, 0, sizeof(*out));
	return 0;
}

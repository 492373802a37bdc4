// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_payload.c - libFuzzer target for payload_parse(); parsed addresses are also fed
 * through a small switch table (learn + lookup) to exercise its hot path.
 * First input byte: bit 0 selects TUN (IP) or TAP (Ethernet); the rest is the frame.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/payload.h"
#include "meshvpn/table.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static struct table tbl;
static int64_t clock_s;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vaddr src, dst;

	if (size < 1)
		return 0;
	if (!tbl.cache && table_init(&tbl, TABLE_LEARNING | TABLE_BROADCAST, 30, 64) != 0)
		abort();
	enum payload_kind kind = data[0] & 1 ? PAYLOAD_ETH : PAYLOAD_IP;
	/* exact-size copy so that any over-read is caught */
	uint8_t *p = malloc(size - 1 ? size - 1 : 1);
	CHECK(p);
	memcpy(p, data + 1, size - 1);
	int err = payload_parse(kind, p, size - 1, &src, &dst);
	if (err == 0) {
		if (kind == PAYLOAD_IP)
			CHECK((src.len == 4 || src.len == 16) && src.len == dst.len);
		else
			CHECK((src.len == 6 || src.len == 8) && src.len == dst.len);
		(void)payload_is_group(&dst);
		clock_s += data[0] >> 4;
		uint32_t peer = 1 + (data[0] >> 1 & 7);
		table_learn(&tbl, &src, peer, clock_s);
		uint32_t got = table_lookup(&tbl, &src, clock_s);
		CHECK(got == peer || payload_is_group(&src));
		(void)table_lookup(&tbl, &dst, clock_s);
		CHECK(table_cache_len(&tbl) <= 64);
		if ((data[0] & 0xf0) == 0xf0)
			table_housekeep(&tbl, clock_s);
	} else {
		CHECK(err == -EBADMSG);
	}
	free(p);
	return 0;
}

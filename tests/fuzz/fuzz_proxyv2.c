// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_proxyv2.c - libFuzzer target for proxyv2_parse(): results are in range, a complete
 * header is a "need more" in every shorter prefix, and trailing bytes change nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/proxyv2.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyv2 h, h2;
	int r = proxyv2_parse(data, size, &h);

	CHECK(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT ||
	      (r >= PROXYV2_FIXED_LEN && r <= PROXYV2_MAX_LEN && (size_t)r <= size));
	if (r <= 0) {
		CHECK(h.flags == 0);
		return 0;
	}
	CHECK(h.command <= PROXYV2_CMD_PROXY && h.family <= PROXYV2_AF_UNIX &&
	      h.transport <= PROXYV2_TP_DGRAM);
	if (h.flags & PROXYV2_HAS_ADDR)
		CHECK(h.command == PROXYV2_CMD_PROXY && h.transport == PROXYV2_TP_STREAM &&
		      (h.family == PROXYV2_AF_INET || h.family == PROXYV2_AF_INET6) &&
		      (h.family != PROXYV2_AF_INET || addr_is_v4(&h.src)));
	/* the same header without what follows it */
	CHECK(proxyv2_parse(data, (size_t)r, &h2) == r);
	CHECK(h2.flags == h.flags && addr_equal(&h2.src, &h.src) && addr_equal(&h2.dst, &h.dst));
	CHECK(proxyv2_parse(data, (size_t)r - 1, &h2) == 0);
	CHECK(proxyv2_parse(data, (size_t)r / 2, &h2) == 0);
	return 0;
}

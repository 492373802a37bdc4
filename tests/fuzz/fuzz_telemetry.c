// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_telemetry.c - libFuzzer target for the probe telemetry: echo sequence numbers come
 * from the network. Input: 6-byte operations (sent / echo / tick, a sequence number, a time
 * step). After each one the snapshot must be consistent: every probe sent is answered, lost
 * or still pending, exactly once; the estimates stay within the samples' range.
 */
#include <stdlib.h>
#include <string.h>

#include "meshvpn/telemetry.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct telemetry t;
	struct telemetry_stats st;
	int64_t now = 0;

	if (size < 1)
		return 0;
	telemetry_init(&t, (int64_t)data[0] * 50 * TELEMETRY_NS_PER_MS);
	for (size_t i = 1; i + 6 <= size; i += 6) {
		const uint8_t *p = data + i;
		uint32_t seq = p[1] & 0x3f; /* a small space, so that numbers repeat */
		int64_t step = ((int64_t)p[2] << 16 | (int64_t)p[3] << 8 | p[4]) << (p[5] & 15);
		if (p[5] & 0x80)
			step = -step;
		if (__builtin_add_overflow(now, step, &now))
			now = step > 0 ? INT64_MAX : INT64_MIN;
		switch (p[0] % 3) {
		case 0:
			telemetry_sent(&t, seq, now);
			break;
		case 1:
			(void)telemetry_echo(&t, seq, now);
			break;
		default:
			(void)telemetry_tick(&t, now);
			break;
		}
		telemetry_get(&t, &st);
		uint64_t used = st.sent < TELEMETRY_WINDOW ? st.sent : TELEMETRY_WINDOW;
		CHECK(st.window_lost <= st.window_probes && st.window_probes <= used);
		CHECK(st.sent == st.samples + st.lost + (used - st.window_probes));
		CHECK(st.health == telemetry_health(&t));
		CHECK((st.health == TELEMETRY_UNKNOWN) == (st.window_probes == 0));
		CHECK(st.loss_ppm <= 1000000);
		CHECK(st.has_rtt == (st.samples > 0));
		if (st.has_rtt) {
			CHECK(st.min_rtt_ns >= 0 && st.min_rtt_ns <= st.max_rtt_ns);
			CHECK(st.srtt_ns >= st.min_rtt_ns && st.srtt_ns <= st.max_rtt_ns);
			CHECK(st.last_rtt_ns >= st.min_rtt_ns && st.last_rtt_ns <= st.max_rtt_ns);
			CHECK(st.max_rtt_ns < t.timeout_ns);
			CHECK(st.jitter_ns >= 0 && st.jitter_ns <= st.max_rtt_ns - st.min_rtt_ns);
			CHECK(st.rttvar_ns >= 0 && st.rttvar_ns <= st.max_rtt_ns);
		}
	}
	return 0;
}

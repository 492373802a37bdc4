// SPDX-License-Identifier: GPL-3.0-or-later
/* test_telemetry.c - RTT/jitter estimators with exact values, loss window, timeouts, health. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/telemetry.h"

#define MS TELEMETRY_NS_PER_MS
#define S  (1000 * MS)

static struct telemetry_stats get(const struct telemetry *t)
{
	struct telemetry_stats st;
	telemetry_get(t, &st);
	assert_int_equal(st.health, telemetry_health(t));
	return st;
}

/* Probe seq sent at 2 s * seq, echoed rtt later (rtt < 0: no echo). */
static void probe(struct telemetry *t, uint32_t seq, int64_t rtt)
{
	int64_t at = 2 * S * (int64_t)seq;
	telemetry_sent(t, seq, at);
	if (rtt >= 0)
		assert_true(telemetry_echo(t, seq, at + rtt));
}

static void test_rtt_estimators(void **state)
{
	(void)state;
	struct telemetry t;
	struct telemetry_stats st;

	telemetry_init(&t, 0);
	st = get(&t);
	assert_false(st.has_rtt);
	assert_int_equal(st.health, TELEMETRY_UNKNOWN);

	/* expected values by hand from the header's formulas (RFC 6298, RFC 3550 filter) */
	static const struct {
		int64_t rtt, srtt, rttvar, jitter, min, max;
	} seq[] = {
		{100 * MS, 100000000, 50000000, 0, 100 * MS, 100 * MS},
		{200 * MS, 112500000, 62500000, 6250000, 100 * MS, 200 * MS},
		{150 * MS, 117187500, 56250000, 8984375, 100 * MS, 200 * MS},
		/* srtt 121289062.5 and jitter 8984375 - 561523.4375 truncate */
		{150 * MS, 121289062, 50390625, 8422852, 100 * MS, 200 * MS},
		{400 * MS, 156127929, 107470703, 23521423, 100 * MS, 400 * MS},
		{1, 136611938, 119635009, 47051334, 1, 400 * MS},
	};
	for (uint32_t i = 0; i < ARRAY_SIZE(seq); i++) {
		probe(&t, i + 1, seq[i].rtt);
		st = get(&t);
		assert_true(st.has_rtt);
		assert_int_equal(st.samples, i + 1);
		assert_int_equal(st.last_rtt_ns, seq[i].rtt);
		assert_int_equal(st.srtt_ns, seq[i].srtt);
		assert_int_equal(st.rttvar_ns, seq[i].rttvar);
		assert_int_equal(st.jitter_ns, seq[i].jitter);
		assert_int_equal(st.min_rtt_ns, seq[i].min);
		assert_int_equal(st.max_rtt_ns, seq[i].max);
	}
	assert_int_equal(st.sent, 6);
	assert_int_equal(st.window_probes, 6);
	assert_int_equal(st.window_lost, 0);
	assert_int_equal(st.loss_ppm, 0);
	assert_int_equal(st.health, TELEMETRY_HEALTHY);

	/* a constant RTT: srtt stays, rttvar and jitter decay */
	telemetry_init(&t, 0);
	for (uint32_t i = 1; i <= 3; i++)
		probe(&t, i, 80 * MS);
	st = get(&t);
	assert_int_equal(st.srtt_ns, 80 * MS);
	assert_int_equal(st.rttvar_ns, 22500000); /* 40 ms * 3/4 * 3/4 */
	assert_int_equal(st.jitter_ns, 0);
}

static void test_loss_window(void **state)
{
	(void)state;
	struct telemetry t;
	struct telemetry_stats st;
	uint32_t seq = 1;

	/* 1 lost of 32: 3.125 % -> degraded (>= 2 %) */
	telemetry_init(&t, 0);
	probe(&t, seq++, -1);
	for (; seq <= 32; seq++)
		probe(&t, seq, 20 * MS);
	assert_int_equal(telemetry_tick(&t, 2 * S * 32 + S), 1);
	st = get(&t);
	assert_int_equal(st.window_probes, 32);
	assert_int_equal(st.window_lost, 1);
	assert_int_equal(st.loss_ppm, 31250);
	assert_int_equal(st.health, TELEMETRY_DEGRADED);
	assert_int_equal(st.lost, 1);

	/* one more answered probe pushes the lost one (the oldest) out of the window */
	probe(&t, seq++, 20 * MS);
	st = get(&t);
	assert_int_equal(st.window_probes, 32);
	assert_int_equal(st.window_lost, 0);
	assert_int_equal(st.health, TELEMETRY_HEALTHY);
	assert_int_equal(st.lost, 1); /* the total keeps it */
	assert_int_equal(st.sent, 33);

	/* 6 of 32 lost, spread: 18.75 % -> degraded; the 7th: 21.9 % -> critical */
	telemetry_init(&t, 0);
	for (seq = 1; seq <= 32; seq++)
		probe(&t, seq, seq % 5 == 0 && seq <= 30 ? -1 : 20 * MS);
	telemetry_tick(&t, 2 * S * 33);
	st = get(&t);
	assert_int_equal(st.window_lost, 6);
	assert_int_equal(st.loss_ppm, 187500);
	assert_int_equal(st.health, TELEMETRY_DEGRADED);
	probe(&t, seq++, -1); /* pushes out answered probe 1 */
	telemetry_tick(&t, 2 * S * 34 + S);
	st = get(&t);
	assert_int_equal(st.window_probes, 32);
	assert_int_equal(st.window_lost, 7);
	assert_int_equal(st.loss_ppm, 218750);
	assert_int_equal(st.health, TELEMETRY_CRITICAL);
}

static void test_last_three_lost(void **state)
{
	(void)state;
	struct telemetry t;
	uint32_t seq;

	telemetry_init(&t, 0);
	for (seq = 1; seq <= 29; seq++)
		probe(&t, seq, 20 * MS);
	assert_int_equal(telemetry_health(&t), TELEMETRY_HEALTHY);
	probe(&t, seq++, -1);
	probe(&t, seq++, -1);
	telemetry_tick(&t, 2 * S * seq + S);
	/* 2 of 31 lost (6.5 %): degraded, not yet critical */
	assert_int_equal(telemetry_health(&t), TELEMETRY_DEGRADED);
	/* a pending probe does not count either way */
	probe(&t, seq++, -1);
	assert_int_equal(telemetry_health(&t), TELEMETRY_DEGRADED);
	/* its timeout: the last 3 lost, at 3 of 32 (9.4 %) */
	assert_int_equal(telemetry_tick(&t, 2 * S * (seq - 1) + 3 * S), 1);
	struct telemetry_stats st = get(&t);
	assert_int_equal(st.window_lost, 3);
	assert_int_equal(st.health, TELEMETRY_CRITICAL);
	/* one answer breaks the run: 3 of 32 lost again (the oldest answer left) */
	probe(&t, seq++, 20 * MS);
	st = get(&t);
	assert_int_equal(st.window_lost, 3);
	assert_int_equal(st.health, TELEMETRY_DEGRADED);
}

static void test_timeouts(void **state)
{
	(void)state;
	struct telemetry t;
	struct telemetry_stats st;

	telemetry_init(&t, 0);
	telemetry_sent(&t, 7, 10 * S);
	assert_int_equal(telemetry_tick(&t, 13 * S - 1), 0);
	assert_int_equal(telemetry_health(&t), TELEMETRY_UNKNOWN);
	/* an echo just inside the timeout is a sample */
	assert_true(telemetry_echo(&t, 7, 13 * S - 1));
	st = get(&t);
	assert_int_equal(st.last_rtt_ns, 3 * S - 1);
	/* srtt of 3 s: degraded by RTT alone */
	assert_int_equal(st.health, TELEMETRY_DEGRADED);

	/* the tick marks it lost at exactly the timeout; the late echo does not count again */
	telemetry_init(&t, 0);
	telemetry_sent(&t, 1, 10 * S);
	assert_int_equal(telemetry_tick(&t, 13 * S), 1);
	assert_int_equal(telemetry_tick(&t, 20 * S), 0);
	assert_false(telemetry_echo(&t, 1, 13 * S + 500 * MS));
	st = get(&t);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.late, 1);
	assert_int_equal(st.samples, 0);
	assert_false(st.has_rtt);
	assert_int_equal(st.window_lost, 1);
	assert_int_equal(st.health, TELEMETRY_CRITICAL); /* 100 % */

	/* the late echo comes before the tick: lost all the same, once */
	telemetry_init(&t, 0);
	telemetry_sent(&t, 1, 10 * S);
	assert_false(telemetry_echo(&t, 1, 13 * S));
	assert_int_equal(telemetry_tick(&t, 14 * S), 0);
	assert_false(telemetry_echo(&t, 1, 14 * S));
	st = get(&t);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.late, 2);
	assert_int_equal(st.window_lost, 1);

	/* a configured timeout */
	telemetry_init(&t, 500 * MS);
	telemetry_sent(&t, 1, 0);
	telemetry_sent(&t, 2, 100 * MS);
	assert_int_equal(telemetry_tick(&t, 500 * MS), 1);
	assert_int_equal(telemetry_tick(&t, 600 * MS), 1);
	/* out-of-range timeouts mean the default */
	telemetry_init(&t, -1);
	telemetry_sent(&t, 1, 0);
	assert_int_equal(telemetry_tick(&t, 3 * S - 1), 0);
	assert_int_equal(telemetry_tick(&t, 3 * S), 1);
	telemetry_init(&t, TELEMETRY_MAX_TIMEOUT + 1);
	telemetry_sent(&t, 1, 0);
	assert_int_equal(telemetry_tick(&t, 3 * S), 1);
}

static void test_ignored_echoes(void **state)
{
	(void)state;
	struct telemetry t;
	struct telemetry_stats st;

	telemetry_init(&t, 0);
	/* nothing sent: unknown */
	assert_false(telemetry_echo(&t, 1, S));
	telemetry_sent(&t, 1, 2 * S);
	/* dated before its probe */
	assert_false(telemetry_echo(&t, 1, S));
	/* the real echo, then a duplicate, then an unknown number */
	assert_true(telemetry_echo(&t, 1, 2 * S + 30 * MS));
	assert_false(telemetry_echo(&t, 1, 2 * S + 40 * MS));
	assert_false(telemetry_echo(&t, 99, 2 * S + 50 * MS));
	st = get(&t);
	assert_int_equal(st.samples, 1);
	assert_int_equal(st.srtt_ns, 30 * MS);
	assert_int_equal(st.duplicate, 1);
	assert_int_equal(st.unknown, 3);
	assert_int_equal(st.late, 0);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.health, TELEMETRY_HEALTHY);

	/* a repeated number matches the newest probe with it */
	telemetry_sent(&t, 5, 10 * S);
	telemetry_sent(&t, 5, 11 * S);
	assert_true(telemetry_echo(&t, 5, 11 * S + 10 * MS));
	st = get(&t);
	assert_int_equal(st.last_rtt_ns, 10 * MS);
}

static void test_window_eviction(void **state)
{
	(void)state;
	struct telemetry t;
	struct telemetry_stats st;

	/* probes faster than the timeout, never answered: the oldest pending leaves as lost */
	telemetry_init(&t, 0);
	for (uint32_t i = 0; i < TELEMETRY_WINDOW + 2; i++)
		telemetry_sent(&t, i, (int64_t)i * MS);
	st = get(&t);
	assert_int_equal(st.sent, TELEMETRY_WINDOW + 2);
	assert_int_equal(st.lost, 2);
	assert_int_equal(st.window_probes, 0); /* all pending */
	assert_int_equal(st.health, TELEMETRY_UNKNOWN);
	/* the ones pushed out are unknown now, the others still match */
	assert_false(telemetry_echo(&t, 0, 50 * MS));
	assert_false(telemetry_echo(&t, 1, 50 * MS));
	assert_true(telemetry_echo(&t, 2, 50 * MS));
	assert_int_equal(get(&t).unknown, 2);
	assert_int_equal(telemetry_tick(&t, 10 * S), TELEMETRY_WINDOW - 1);
	st = get(&t);
	assert_int_equal(st.window_probes, TELEMETRY_WINDOW);
	assert_int_equal(st.window_lost, TELEMETRY_WINDOW - 1);
	assert_int_equal(st.lost, TELEMETRY_WINDOW + 1);
	assert_int_equal(st.health, TELEMETRY_CRITICAL);
}

static void test_health_rtt_jitter(void **state)
{
	(void)state;
	struct telemetry t;
	struct telemetry_stats st;

	/* srtt: 250 ms is fine, above is degraded */
	telemetry_init(&t, 0);
	probe(&t, 1, 250 * MS);
	assert_int_equal(telemetry_health(&t), TELEMETRY_HEALTHY);
	telemetry_init(&t, 0);
	probe(&t, 1, 250 * MS + 1);
	assert_int_equal(telemetry_health(&t), TELEMETRY_DEGRADED);

	/* RTTs alternating 10 ms / 200 ms: jitter passes 50 ms at the 6th sample */
	telemetry_init(&t, 0);
	for (uint32_t i = 0; i < 5; i++)
		probe(&t, i + 1, i % 2 ? 200 * MS : 10 * MS);
	st = get(&t);
	assert_true(st.jitter_ns <= 50 * MS);
	assert_true(st.srtt_ns <= 250 * MS);
	assert_int_equal(st.health, TELEMETRY_HEALTHY);
	probe(&t, 6, 200 * MS);
	st = get(&t);
	assert_int_equal(st.jitter_ns, 52402675);
	assert_int_equal(st.srtt_ns, 65855406);
	assert_int_equal(st.health, TELEMETRY_DEGRADED);

	assert_string_equal(telemetry_health_name(TELEMETRY_UNKNOWN), "unknown");
	assert_string_equal(telemetry_health_name(TELEMETRY_HEALTHY), "healthy");
	assert_string_equal(telemetry_health_name(TELEMETRY_DEGRADED), "degraded");
	assert_string_equal(telemetry_health_name(TELEMETRY_CRITICAL), "critical");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rtt_estimators), cmocka_unit_test(test_loss_window),
		cmocka_unit_test(test_last_three_lost), cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_ignored_echoes), cmocka_unit_test(test_window_eviction),
		cmocka_unit_test(test_health_rtt_jitter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

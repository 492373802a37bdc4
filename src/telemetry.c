// SPDX-License-Identifier: GPL-3.0-or-later
/* telemetry.c - RTT, jitter and loss estimates of one link from probe round trips. */
#include <string.h>

#include "meshvpn/telemetry.h"

enum probe_state {
	PROBE_PENDING = 1,
	PROBE_ANSWERED,
	PROBE_LOST,
};

void telemetry_init(struct telemetry *t, int64_t timeout_ns)
{
	memset(t, 0, sizeof(*t));
	if (timeout_ns <= 0 || timeout_ns > TELEMETRY_MAX_TIMEOUT)
		timeout_ns = TELEMETRY_DEFAULT_TIMEOUT;
	t->timeout_ns = timeout_ns;
}

/* Slot of the i-th newest probe (0 = newest), i < used. */
static struct telemetry_probe *nth_newest(struct telemetry *t, uint32_t i)
{
	return &t->ring[(t->next + TELEMETRY_WINDOW - 1 - i) % TELEMETRY_WINDOW];
}

static const struct telemetry_probe *cnth_newest(const struct telemetry *t, uint32_t i)
{
	return &t->ring[(t->next + TELEMETRY_WINDOW - 1 - i) % TELEMETRY_WINDOW];
}

static void mark_lost(struct telemetry *t, struct telemetry_probe *p)
{
	p->state = PROBE_LOST;
	t->lost++;
}

void telemetry_sent(struct telemetry *t, uint32_t seq, int64_t now_ns)
{
	struct telemetry_probe *p = &t->ring[t->next];

	if (t->used == TELEMETRY_WINDOW) {
		/* the oldest probe leaves the window; unanswered, it will never be matched */
		if (p->state == PROBE_PENDING)
			t->lost++;
	} else {
		t->used++;
	}
	p->seq = seq;
	p->sent_ns = now_ns;
	p->state = PROBE_PENDING;
	t->next = (t->next + 1) % TELEMETRY_WINDOW;
	t->sent++;
}

static int64_t abs_diff(int64_t a, int64_t b)
{
	return a > b ? a - b : b - a;
}

static void sample(struct telemetry *t, int64_t rtt)
{
	if (t->samples == 0) {
		t->srtt = rtt;
		t->rttvar = rtt / 2;
		t->jitter = 0;
		t->min_rtt = t->max_rtt = rtt;
	} else {
		/* RFC 6298 2.3: RTTVAR first, from the old SRTT */
		t->rttvar = (3 * t->rttvar + abs_diff(t->srtt, rtt)) / 4;
		t->srtt = (7 * t->srtt + rtt) / 8;
		t->jitter += (abs_diff(rtt, t->last_rtt) - t->jitter) / 16;
		t->min_rtt = MIN(t->min_rtt, rtt);
		t->max_rtt = MAX(t->max_rtt, rtt);
	}
	t->last_rtt = rtt;
	t->samples++;
}

bool telemetry_echo(struct telemetry *t, uint32_t seq, int64_t now_ns)
{
	for (uint32_t i = 0; i < t->used; i++) {
		struct telemetry_probe *p = nth_newest(t, i);
		if (p->seq != seq)
			continue;
		/* rtt in unsigned arithmetic: the two times may be far apart */
		if (now_ns < p->sent_ns) {
			t->unknown++; /* dated before its probe: not an echo of it */
			return false;
		}
		uint64_t rtt = (uint64_t)now_ns - (uint64_t)p->sent_ns;
		switch (p->state) {
		case PROBE_ANSWERED:
			t->duplicate++;
			return false;
		case PROBE_LOST:
			t->late++;
			return false;
		default:
			break;
		}
		if (rtt >= (uint64_t)t->timeout_ns) {
			/* the timeout passed before the tick noticed: lost all the same */
			mark_lost(t, p);
			t->late++;
			return false;
		}
		p->state = PROBE_ANSWERED;
		sample(t, (int64_t)rtt);
		return true;
	}
	t->unknown++;
	return false;
}

unsigned telemetry_tick(struct telemetry *t, int64_t now_ns)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < t->used; i++) {
		struct telemetry_probe *p = nth_newest(t, i);
		if (p->state != PROBE_PENDING || now_ns < p->sent_ns)
			continue;
		if ((uint64_t)now_ns - (uint64_t)p->sent_ns >= (uint64_t)t->timeout_ns) {
			mark_lost(t, p);
			n++;
		}
	}
	return n;
}

/* Resolved and lost probes of the window, and whether the newest resolved ones are lost. */
static void window(const struct telemetry *t, uint32_t *probes, uint32_t *lost, bool *last_lost)
{
	uint32_t recent = 0, recent_lost = 0;

	*probes = *lost = 0;
	for (uint32_t i = 0; i < t->used; i++) {
		const struct telemetry_probe *p = cnth_newest(t, i);
		if (p->state == PROBE_PENDING)
			continue;
		(*probes)++;
		bool l = p->state == PROBE_LOST;
		*lost += l;
		if (recent < TELEMETRY_CRITICAL_LAST_LOST) {
			recent++;
			recent_lost += l;
		}
	}
	*last_lost =
	    recent == TELEMETRY_CRITICAL_LAST_LOST && recent_lost == TELEMETRY_CRITICAL_LAST_LOST;
}

static enum telemetry_health classify(const struct telemetry *t, uint32_t probes, uint32_t lost,
				      bool last_lost)
{
	if (probes == 0)
		return TELEMETRY_UNKNOWN;
	if (last_lost || 100 * lost >= TELEMETRY_CRITICAL_LOSS_PCT * probes)
		return TELEMETRY_CRITICAL;
	if (100 * lost >= TELEMETRY_DEGRADED_LOSS_PCT * probes)
		return TELEMETRY_DEGRADED;
	if (t->samples &&
	    (t->srtt > TELEMETRY_DEGRADED_SRTT || t->jitter > TELEMETRY_DEGRADED_JITTER))
		return TELEMETRY_DEGRADED;
	return TELEMETRY_HEALTHY;
}

enum telemetry_health telemetry_health(const struct telemetry *t)
{
	uint32_t probes, lost;
	bool last_lost;
	window(t, &probes, &lost, &last_lost);
	return classify(t, probes, lost, last_lost);
}

void telemetry_get(const struct telemetry *t, struct telemetry_stats *out)
{
	uint32_t probes, lost;
	bool last_lost;

	memset(out, 0, sizeof(*out));
	window(t, &probes, &lost, &last_lost);
	out->health = classify(t, probes, lost, last_lost);
	out->has_rtt = t->samples > 0;
	if (out->has_rtt) {
		out->srtt_ns = t->srtt;
		out->rttvar_ns = t->rttvar;
		out->jitter_ns = t->jitter;
		out->min_rtt_ns = t->min_rtt;
		out->max_rtt_ns = t->max_rtt;
		out->last_rtt_ns = t->last_rtt;
	}
	out->window_probes = probes;
	out->window_lost = lost;
	out->loss_ppm = probes ? (uint32_t)((uint64_t)lost * 1000000 / probes) : 0;
	out->samples = t->samples;
	out->sent = t->sent;
	out->lost = t->lost;
	out->late = t->late;
	out->duplicate = t->duplicate;
	out->unknown = t->unknown;
}

const char *telemetry_health_name(enum telemetry_health h)
{
	switch (h) {
	case TELEMETRY_UNKNOWN:
		return "unknown";
	case TELEMETRY_HEALTHY:
		return "healthy";
	case TELEMETRY_DEGRADED:
		return "degraded";
	case TELEMETRY_CRITICAL:
		return "critical";
	}
	return "?";
}

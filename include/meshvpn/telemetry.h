/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * telemetry.h - per-link estimates from probe round trips: smoothed RTT, RTT variation,
 * jitter, min/max RTT, loss over the last probes, and a health class. The node sends a
 * probe every few seconds and reports it (telemetry_sent), its echo (telemetry_echo) and
 * the passing time (telemetry_tick, for timeouts). Pure: time is an argument (monotonic
 * nanoseconds); fixed-size state, no allocation.
 *
 * The estimators, all in integer nanoseconds (divisions truncate toward zero):
 *   srtt, rttvar  RFC 6298 2.2/2.3 with alpha 1/8, beta 1/4. First sample R: srtt = R,
 *                 rttvar = R / 2. Then rttvar = (3 * rttvar + |srtt - R|) / 4 (with the old
 *                 srtt) and srtt = (7 * srtt + R) / 8.
 *   jitter        RFC 3550 6.4.1's interarrival-jitter filter applied to the difference D
 *                 of consecutive RTT samples: jitter += (|D| - jitter) / 16. 0 until the
 *                 second sample.
 *   min, max      over every sample since telemetry_init().
 * Loss: the window is the last TELEMETRY_WINDOW probes sent, minus those still waiting for
 * an echo. A probe without an echo TELEMETRY_DEFAULT_TIMEOUT (or the configured timeout)
 * after it was sent is lost, whether telemetry_tick() or its late echo notices first; a late
 * echo never counts as a sample, and it or a duplicate never counts twice. Echoes of
 * unknown sequence numbers (not in the window) are ignored and counted.
 *
 * Health (telemetry_health):
 *   unknown   no probe in the window has been answered or lost yet
 *   critical  loss >= 20 % of the window, or the 3 most recent resolved probes all lost
 *   degraded  loss >= 2 % (with a window of 32: any loss), srtt > 250 ms or jitter > 50 ms
 *   healthy   otherwise
 */
#ifndef MESHVPN_TELEMETRY_H
#define MESHVPN_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define TELEMETRY_WINDOW	     32 /* probes the loss ratio looks at */
#define TELEMETRY_NS_PER_MS	     1000000ll
#define TELEMETRY_DEFAULT_TIMEOUT    (3000 * TELEMETRY_NS_PER_MS)
#define TELEMETRY_MAX_TIMEOUT	     (3600000 * TELEMETRY_NS_PER_MS) /* an hour */
#define TELEMETRY_CRITICAL_LOSS_PCT  20
#define TELEMETRY_CRITICAL_LAST_LOST 3
#define TELEMETRY_DEGRADED_LOSS_PCT  2
#define TELEMETRY_DEGRADED_SRTT	     (250 * TELEMETRY_NS_PER_MS)
#define TELEMETRY_DEGRADED_JITTER    (50 * TELEMETRY_NS_PER_MS)

enum telemetry_health {
	TELEMETRY_UNKNOWN = 0,
	TELEMETRY_HEALTHY,
	TELEMETRY_DEGRADED,
	TELEMETRY_CRITICAL,
};

/* One probe of the window (private). */
struct telemetry_probe {
	int64_t sent_ns;
	uint32_t seq;
	uint8_t state; /* pending, answered, lost */
};

/* Per-link state; fields are private, read them with telemetry_get(). */
struct telemetry {
	struct telemetry_probe ring[TELEMETRY_WINDOW]; /* the last probes sent */
	uint32_t next;				       /* ring slot of the next probe */
	uint32_t used;				       /* slots in use, <= TELEMETRY_WINDOW */
	int64_t timeout_ns;
	int64_t srtt, rttvar, jitter, min_rtt, max_rtt, last_rtt;
	uint64_t samples, sent, lost, late, duplicate, unknown;
};

/* A snapshot for the API and the metrics. Times in nanoseconds, valid when has_rtt. */
struct telemetry_stats {
	enum telemetry_health health;
	bool has_rtt; /* at least one sample */
	int64_t srtt_ns, rttvar_ns, jitter_ns, min_rtt_ns, max_rtt_ns, last_rtt_ns;
	uint32_t window_probes; /* resolved (answered or lost) probes in the window */
	uint32_t window_lost;	/* of which lost */
	uint32_t loss_ppm;	/* window_lost / window_probes in parts per million; 0 if none */
	uint64_t samples;	/* RTT samples (answered probes) since init */
	uint64_t sent, lost;	/* probes since init; lost includes those pushed out pending */
	uint64_t late;		/* echoes after the timeout (the probe counts as lost) */
	uint64_t duplicate;	/* second echoes of an answered probe */
	uint64_t unknown;	/* echoes matching no probe of the window, or dated before it */
};

/*
 * Empties t. timeout_ns: when an unanswered probe counts as lost; 0 (or a value outside
 * 1 ns .. TELEMETRY_MAX_TIMEOUT) means TELEMETRY_DEFAULT_TIMEOUT.
 */
void telemetry_init(struct telemetry *t, int64_t timeout_ns);
/*
 * A probe with sequence number seq went out at now_ns. Sequence numbers should not repeat
 * within a window; an echo matches the newest probe with its number. The oldest probe of a
 * full window makes room, counting as lost if it was still pending.
 */
void telemetry_sent(struct telemetry *t, uint32_t seq, int64_t now_ns);
/*
 * The echo of probe seq arrived at now_ns. Returns true when it gave an RTT sample; false
 * when it was late (the probe is then lost, once), a duplicate, or unknown.
 */
bool telemetry_echo(struct telemetry *t, uint32_t seq, int64_t now_ns);
/* Marks pending probes older than the timeout as lost; returns how many it marked. */
unsigned telemetry_tick(struct telemetry *t, int64_t now_ns);
enum telemetry_health telemetry_health(const struct telemetry *t);
void telemetry_get(const struct telemetry *t, struct telemetry_stats *out);
/* "unknown", "healthy", "degraded", "critical" (the API's words). */
const char *telemetry_health_name(enum telemetry_health h);

#endif

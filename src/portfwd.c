// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * portfwd.c - UPnP IGD port mapping (miniupnpc) in a worker thread (chan.h): discovery, the
 * mapping with VpnCloud's fallbacks, lease refresh and removal, reported back as events.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <sodium.h>

#include "meshvpn/chan.h"
#include "meshvpn/log.h"
#include "meshvpn/portfwd.h"

/* ---- the order of attempts ---- */

enum plan_stage {
	STAGE_SAME,
	STAGE_ANY,
	STAGE_ANY_RANDOM,
	STAGE_NEAR,
	STAGE_RANDOM,
	STAGE_DONE,
};

void portfwd_plan_init(struct portfwd_plan *p, uint16_t port, bool any, uint32_t lease)
{
	memset(p, 0, sizeof(*p));
	p->port = port;
	p->any = any;
	p->lease = lease;
	p->stage = STAGE_SAME;
}

uint16_t portfwd_random_port(uint32_t rnd)
{
	return (uint16_t)(PORTFWD_RANDOM_MIN + rnd % (PORTFWD_RANDOM_MAX - PORTFWD_RANDOM_MIN + 1));
}

bool portfwd_plan_next(struct portfwd_plan *p, uint32_t rnd, struct portfwd_try *out)
{
	struct portfwd_try t = {.kind = PORTFWD_TRY_PORT};

	if (p->repeat) {
		p->repeat = false;
		*out = p->last;
		return true;
	}
	for (;;) {
		switch (p->stage) {
		case STAGE_SAME:
			p->stage = p->any ? STAGE_ANY : STAGE_ANY_RANDOM;
			p->n = 0;
			t.ext_port = p->port;
			goto found;
		case STAGE_ANY:
			p->stage = STAGE_NEAR;
			p->n = 0;
			t.kind = PORTFWD_TRY_ANY;
			t.ext_port = p->port; /* a hint: the gateway picks a free port */
			goto found;
		case STAGE_ANY_RANDOM:
			if (p->n < PORTFWD_ANY_RANDOM_TRIES) {
				p->n++;
				t.ext_port = portfwd_random_port(rnd);
				goto found;
			}
			p->stage = STAGE_NEAR;
			p->n = 0;
			continue;
		case STAGE_NEAR:
			if (p->n < PORTFWD_NEAR_TRIES &&
			    (uint32_t)p->port + p->n + 1 <= UINT16_MAX) {
				p->n++;
				t.ext_port = (uint16_t)(p->port + p->n);
				goto found;
			}
			p->stage = STAGE_RANDOM;
			p->n = 0;
			continue;
		case STAGE_RANDOM:
			if (p->n < PORTFWD_RANDOM_TRIES) {
				p->n++;
				t.ext_port = portfwd_random_port(rnd);
				goto found;
			}
			p->stage = STAGE_DONE;
			continue;
		default:
			return false;
		}
	}
found:
	p->last = t;
	*out = t;
	return true;
}

bool portfwd_plan_failed(struct portfwd_plan *p, int code)
{
	if (code < 0) /* no (valid) answer: twice in a row means the gateway is gone */
		return ++p->transport_errors < 2;
	p->transport_errors = 0;
	if (code == PORTFWD_ERR_ONLY_PERMANENT && p->lease) {
		p->lease = 0;
		p->repeat = true;
	} else if (p->last.kind == PORTFWD_TRY_ANY &&
		   (code == PORTFWD_ERR_INVALID_ACTION || code == PORTFWD_ERR_NOT_IMPLEMENTED)) {
		p->any = false;
		p->stage = STAGE_ANY_RANDOM;
		p->n = 0;
	}
	return true;
}

bool portfwd_offers_any(const char *servicetype)
{
	static const char prefix[] = "urn:schemas-upnp-org:service:WANIPConnection:";
	const size_t n = sizeof(prefix) - 1;

	/* AddAnyPortMapping came with WANIPConnection:2 */
	return strncmp(servicetype, prefix, n) == 0 && atoi(servicetype + n) >= 2;
}

/* ---- lease arithmetic ---- */

int64_t portfwd_refresh_at(int64_t granted, uint32_t lease)
{
	if (lease == 0)
		return -1;
	return granted + MAX((int64_t)lease / 2, (int64_t)1);
}

int64_t portfwd_retry_at(int64_t now, int64_t expires)
{
	int64_t wait = (expires - now) / 2;

	return now + MIN(MAX(wait, (int64_t)1), (int64_t)PORTFWD_RETRY_SECS);
}

/* ---- shared state between the node and the worker ---- */

/* The handle; also the worker's arg, freed by release() when neither uses it any more. */
struct portfwd {
	struct chan *chan; /* no requests; struct portfwd_event out */
	int result, code;  /* portfwd_stop's answer: written by the worker before it ends */
	/* parameters, read-only after start */
	uint16_t port;
	struct addr bind;
	uint32_t lease;
	unsigned discover_ms;
	char *multicastif;
};

/* What the worker alone knows: its channel (pf->chan may not be set yet), the gateway. */
struct gw {
	struct chan *c;
	struct UPNPUrls urls;
	struct IGDdatas data;
	bool have_urls;
	char lanaddr[64];
	struct addr internal; /* LAN IPv4, local port */
	struct addr external; /* external IPv4, mapped port */
	bool mapped;
	uint32_t lease; /* granted, 0 = permanent */
	int64_t granted, expires;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void release(void *arg)
{
	struct portfwd *pf = arg;

	free(pf->multicastif);
	free(pf);
}

/* Sleeps until deadline_ms (monotonic; CHAN_NO_DEADLINE: for ever); true when asked to quit. */
static bool wait_until(struct gw *g, int64_t deadline_ms)
{
	return chan_wait(g->c, NULL, deadline_ms) == -ECANCELED;
}

/* Queues an event; if the node stopped reading and the queue is full, the oldest goes. */
static void report(struct gw *g, const struct portfwd_event *ev)
{
	(void)chan_post(g->c, ev);
}

static void report_why(struct gw *g, enum portfwd_event_kind kind, const char *why)
{
	struct portfwd_event ev = {.kind = kind};

	snprintf(ev.why, sizeof(ev.why), "%s", why);
	report(g, &ev);
}

static void report_mapping(struct gw *g, enum portfwd_event_kind kind)
{
	struct portfwd_event ev = {
	    .kind = kind,
	    .internal = g->internal,
	    .external = g->external,
	    .lease = g->lease,
	};
	report(g, &ev);
}

/* ---- talking to the gateway (blocking: worker thread only) ---- */

/* "718 ConflictInMappingEntry", or miniupnpc's text for its own (negative) codes. */
static const char *errtext(int code, char buf[48])
{
	const char *s = strupnperror(code);

	if (code < 0 && s)
		return s;
	snprintf(buf, 48, "%d %s", code, s ? s : "");
	return buf;
}

/* A unicast IPv4 address (not 0.0.0.0). */
static bool specific_v4(const struct addr *a)
{
	static const uint8_t zero[4];
	return addr_is_v4(a) && memcmp(a->ip + 12, zero, 4) != 0;
}

/* Searches in rounds of PORTFWD_ROUND_MS so that a stop request is seen within one round. */
static int discover(struct portfwd *pf, struct gw *g)
{
	static const char *const types[] = {"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
					    NULL};
	struct UPNPDev *devs = NULL;
	int64_t end = now_ms() + pf->discover_ms;
	char why[PORTFWD_WHY_LEN];

	while (!devs) {
		int64_t start = now_ms();
		int err = 0;
		if (chan_quitting(g->c))
			return -ECANCELED;
		if (start >= end) {
			snprintf(why, sizeof(why), "no UPnP gateway answered within %u s",
				 (pf->discover_ms + 999) / 1000);
			report_why(g, PORTFWD_EV_NO_IGD, why);
			return -ENOENT;
		}
		devs = upnpDiscoverDevices(types, PORTFWD_ROUND_MS, pf->multicastif, NULL,
					   UPNP_LOCAL_PORT_ANY, 0, 2, &err, 0);
		/* a round that failed at once (no socket) must not spin */
		if (!devs && wait_until(g, start + PORTFWD_ROUND_MS))
			return -ECANCELED;
	}
	if (chan_quitting(g->c)) {
		freeUPNPDevlist(devs);
		return -ECANCELED;
	}
	int st = UPNP_GetValidIGD(devs, &g->urls, &g->data, g->lanaddr, (int)sizeof(g->lanaddr));
	freeUPNPDevlist(devs);
	g->have_urls = st > 0;
	switch (st) {
	case 1:
		break;
	case 2:
		/* not connected, or a private external address (double NAT): try anyway, as
		 * VpnCloud does not check either */
		if (!chan_quitting(g->c))
			log_debug("UPnP gateway %s reports no connection or a private address",
				  g->urls.controlURL);
		break;
	case 3:
		report_why(g, PORTFWD_EV_NO_IGD, "the UPnP device that answered is no gateway");
		return -ENOENT;
	default:
		report_why(g, PORTFWD_EV_NO_IGD, "no usable UPnP gateway answered");
		return -ENOENT;
	}
	/* the internal client: the bound address, else our address towards the gateway */
	if (specific_v4(&pf->bind)) {
		g->internal = pf->bind;
	} else if (addr_parse(g->lanaddr, 0, &g->internal) < 0 || !specific_v4(&g->internal)) {
		snprintf(why, sizeof(why), "no IPv4 address towards the gateway (%.40s)",
			 g->lanaddr);
		report_why(g, PORTFWD_EV_FAILED, why);
		return -EADDRNOTAVAIL;
	}
	g->internal.port = pf->port;
	return 0;
}

/* GetExternalIPAddress: 0, a UPnP error, or a negative miniupnpc code. */
static int get_external(struct gw *g, struct addr *out)
{
	char ip[40] = "";
	int r = UPNP_GetExternalIPAddress(g->urls.controlURL, g->data.first.servicetype, ip);

	if (r != UPNPCOMMAND_SUCCESS)
		return r;
	if (addr_parse(ip, 0, out) < 0 || !specific_v4(out))
		return UPNPCOMMAND_INVALID_RESPONSE;
	return 0;
}

static int add(struct gw *g, const struct portfwd_try *t, uint32_t lease, uint16_t *got)
{
	char ext[8], in[8], ls[12], reserved[8] = "", client[ADDR_STRLEN];
	int r;

	snprintf(ext, sizeof(ext), "%u", t->ext_port);
	snprintf(in, sizeof(in), "%u", g->internal.port);
	snprintf(ls, sizeof(ls), "%u", lease);
	addr_format_ip(&g->internal, client);
	if (t->kind == PORTFWD_TRY_ANY) {
		r = UPNP_AddAnyPortMapping(g->urls.controlURL, g->data.first.servicetype, ext, in,
					   client, PORTFWD_DESC, "UDP", NULL, ls, reserved);
		if (r == UPNPCOMMAND_SUCCESS) {
			char *end;
			unsigned long v = strtoul(reserved, &end, 10);
			if (end == reserved || *end || v == 0 || v > UINT16_MAX)
				return UPNPCOMMAND_INVALID_RESPONSE;
			*got = (uint16_t)v;
		}
		return r;
	}
	r = UPNP_AddPortMapping(g->urls.controlURL, g->data.first.servicetype, ext, in, client,
				PORTFWD_DESC, "UDP", NULL, ls);
	*got = t->ext_port;
	return r;
}

/* Obtains a mapping (PROTOCOL.md 9 steps 3-5). 0, -ECANCELED, or the last error. */
static int map(struct portfwd *pf, struct gw *g, char *why, size_t whylen)
{
	struct portfwd_plan plan;
	struct portfwd_try t;
	struct addr ext;
	char eb[48];
	int r, last = UPNPCOMMAND_UNKNOWN_ERROR;

	r = get_external(g, &ext);
	if (r != 0) {
		snprintf(why, whylen, "the gateway reports no external address (%s)",
			 errtext(r, eb));
		return r;
	}
	portfwd_plan_init(&plan, pf->port, portfwd_offers_any(g->data.first.servicetype),
			  pf->lease);
	while (portfwd_plan_next(&plan, randombytes_random(), &t)) {
		uint16_t got = t.ext_port;
		if (chan_quitting(g->c))
			return -ECANCELED;
		r = add(g, &t, plan.lease, &got);
		if (r == UPNPCOMMAND_SUCCESS) {
			g->external = ext;
			g->external.port = got;
			g->lease = plan.lease;
			g->granted = now_ms() / 1000;
			g->expires = g->lease ? g->granted + g->lease : INT64_MAX;
			g->mapped = true;
			return 0;
		}
		last = r;
		if (!chan_quitting(g->c))
			log_debug("UPnP: %s %u failed: %s",
				  t.kind == PORTFWD_TRY_ANY ? "AddAnyPortMapping"
							    : "AddPortMapping",
				  t.ext_port, errtext(r, eb));
		if (!portfwd_plan_failed(&plan, r))
			break;
	}
	snprintf(why, whylen, "the gateway mapped no port (last answer: %s)", errtext(last, eb));
	return last;
}

/* Renews the lease with the same parameters. 0 or the error. */
static int refresh(struct gw *g)
{
	struct portfwd_try t = {.kind = PORTFWD_TRY_PORT, .ext_port = g->external.port};
	uint16_t got;
	int r = add(g, &t, g->lease, &got);

	if (r == PORTFWD_ERR_ONLY_PERMANENT && g->lease) {
		g->lease = 0;
		r = add(g, &t, 0, &got);
	}
	if (r == UPNPCOMMAND_SUCCESS) {
		g->granted = now_ms() / 1000;
		g->expires = g->lease ? g->granted + g->lease : INT64_MAX;
	}
	return r;
}

/* Keeps the mapping alive until asked to quit (PROTOCOL.md 9 step 6). */
static void maintain(struct portfwd *pf, struct gw *g)
{
	char why[PORTFWD_WHY_LEN], eb[48];
	int64_t next = portfwd_refresh_at(g->granted, g->lease);
	bool lost_reported = false;

	for (;;) {
		if (wait_until(g, next < 0 ? CHAN_NO_DEADLINE : next * 1000))
			return;
		int64_t now = now_ms() / 1000;
		if (g->mapped) {
			int r = refresh(g);
			if (r == UPNPCOMMAND_SUCCESS) {
				struct addr ext;
				bool moved = get_external(g, &ext) == 0 &&
					     memcmp(ext.ip, g->external.ip, 16) != 0;
				if (moved)
					memcpy(g->external.ip, ext.ip, 16);
				report_mapping(g, moved ? PORTFWD_EV_MAPPED : PORTFWD_EV_REFRESHED);
				next = portfwd_refresh_at(g->granted, g->lease);
				continue;
			}
			/* a conflict: the port is someone else's now; else retry while it lasts */
			if (r != PORTFWD_ERR_CONFLICT && now < g->expires) {
				if (!chan_quitting(g->c))
					log_debug("UPnP: renewing port %u failed: %s",
						  g->external.port, errtext(r, eb));
				next = portfwd_retry_at(now, g->expires);
				continue;
			}
			if (!chan_quitting(g->c))
				log_debug("UPnP: external port %u could not be renewed: %s",
					  g->external.port, errtext(r, eb));
			g->mapped = false;
		}
		int r = map(pf, g, why, sizeof(why));
		if (r == -ECANCELED)
			return;
		if (r == 0) {
			lost_reported = false;
			report_mapping(g, PORTFWD_EV_MAPPED);
			next = portfwd_refresh_at(g->granted, g->lease);
			continue;
		}
		if (!lost_reported)
			report_why(g, PORTFWD_EV_LOST, why);
		lost_reported = true;
		next = now_ms() / 1000 + PORTFWD_RETRY_SECS;
	}
}

/* DeletePortMapping (PROTOCOL.md 9 step 7): 1 removed (or already gone), -EREMOTEIO. */
static int unmap(struct gw *g, int *code)
{
	char ext[8];

	snprintf(ext, sizeof(ext), "%u", g->external.port);
	int r =
	    UPNP_DeletePortMapping(g->urls.controlURL, g->data.first.servicetype, ext, "UDP", NULL);
	if (r == UPNPCOMMAND_SUCCESS || r == PORTFWD_ERR_NO_SUCH_ENTRY)
		return 1;
	*code = r;
	return -EREMOTEIO;
}

static void work(struct chan *c, void *arg)
{
	struct portfwd *pf = arg;
	struct gw g;
	char why[PORTFWD_WHY_LEN];
	int r;

	memset(&g, 0, sizeof(g));
	g.c = c;
	r = discover(pf, &g);
	if (r == 0) {
		r = map(pf, &g, why, sizeof(why));
		if (r == 0)
			report_mapping(&g, PORTFWD_EV_MAPPED);
		else if (r != -ECANCELED)
			report_why(&g, PORTFWD_EV_FAILED, why);
	}
	if (r == 0)
		maintain(pf, &g);
	if (g.mapped)
		pf->result = unmap(&g, &pf->code);
	if (g.have_urls)
		FreeUPNPUrls(&g.urls);
}

/* ---- the handle ---- */

int portfwd_start(const struct portfwd_params *params, struct portfwd **out)
{
	struct portfwd *pf = calloc(1, sizeof(*pf));
	int err;

	*out = NULL;
	if (!pf)
		return -ENOMEM;
	pf->port = params->port;
	pf->bind = params->bind;
	pf->lease = params->lease ? MAX(params->lease, (uint32_t)PORTFWD_MIN_LEASE_SECS)
				  : PORTFWD_LEASE_SECS;
	pf->discover_ms = params->discover_ms ? params->discover_ms : PORTFWD_DISCOVER_MS;
	if (params->multicastif && !(pf->multicastif = strdup(params->multicastif))) {
		free(pf);
		return -ENOMEM;
	}
	const struct chan_params p = {
	    .reply_size = sizeof(struct portfwd_event),
	    .depth = PORTFWD_QUEUE,
	    .work = work,
	    .arg = pf,
	    .release = release,
	};
	err = chan_new(&p, &pf->chan);
	if (err) {
		release(pf);
		return err;
	}
	*out = pf;
	return 0;
}

struct loop_src *portfwd_src(struct portfwd *pf)
{
	return chan_src(pf->chan);
}

int portfwd_take(struct portfwd *pf, struct portfwd_event *out)
{
	return chan_take(pf->chan, out);
}

int portfwd_stop(struct portfwd *pf, unsigned timeout_ms, int *code)
{
	/* once the worker has ended, its result is there to read */
	bool done = chan_stop(pf->chan, (int)MIN(timeout_ms, (unsigned)INT_MAX)) == 0;

	if (code)
		*code = done ? pf->code : 0;
	return done ? pf->result : -ETIMEDOUT;
}

void portfwd_free(struct portfwd *pf)
{
	/*
	 * A worker still talking to an unresponsive gateway is left to finish on its own (its
	 * calls time out within seconds); the last one out frees pf (release).
	 */
	if (pf)
		chan_free(pf->chan);
}

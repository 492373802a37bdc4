/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * portfwd.h - UPnP IGD port forwarding (PROTOCOL.md 9) off the event loop: a worker thread
 * discovers the gateway, maps the node's UDP port, keeps the lease alive and removes the
 * mapping when stopped. It reports back through an eventfd registered in the loop
 * (STYLE.md 6). The pure parts (the order of attempts, lease arithmetic) are exposed for tests.
 */
#ifndef MESHVPN_PORTFWD_H
#define MESHVPN_PORTFWD_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "loop.h"
#include "util.h"

#define PORTFWD_DESC		 "meshvpn" /* NewPortMappingDescription (VpnCloud: "VpnCloud") */
#define PORTFWD_LEASE_SECS	 1800	   /* requested lease, as VpnCloud */
#define PORTFWD_MIN_LEASE_SECS	 2
#define PORTFWD_RETRY_SECS	 60    /* a failed refresh or mapping is retried this often */
#define PORTFWD_DISCOVER_MS	 10000 /* how long gateways are searched for, as VpnCloud */
#define PORTFWD_ROUND_MS	 1000  /* one SSDP search (MX 1): the worst-case stop delay */
#define PORTFWD_STOP_MS		 3000  /* at shutdown: longest wait for the mapping's removal */
#define PORTFWD_RANDOM_MIN	 32768 /* random external ports: 32768..65534 */
#define PORTFWD_RANDOM_MAX	 65534
#define PORTFWD_ANY_RANDOM_TRIES 20 /* "any port" without AddAnyPortMapping */
#define PORTFWD_NEAR_TRIES	 4  /* local port + 1 .. + 4 */
#define PORTFWD_RANDOM_TRIES	 5
#define PORTFWD_QUEUE		 8
#define PORTFWD_WHY_LEN		 120

/* UPnP error codes the plan reacts to (UPnP IGD WANIPConnection). */
#define PORTFWD_ERR_INVALID_ACTION  401
#define PORTFWD_ERR_NOT_IMPLEMENTED 602 /* OptionalActionNotImplemented */
#define PORTFWD_ERR_NO_SUCH_ENTRY   714
#define PORTFWD_ERR_CONFLICT	    718 /* ConflictInMappingEntry */
#define PORTFWD_ERR_ONLY_PERMANENT  725 /* OnlyPermanentLeasesSupported */

/* ---- the order of mapping attempts (PROTOCOL.md 9 step 4), pure ---- */

enum portfwd_try_kind {
	PORTFWD_TRY_PORT, /* AddPortMapping with ext_port */
	PORTFWD_TRY_ANY,  /* AddAnyPortMapping, ext_port is only a hint */
};

struct portfwd_try {
	enum portfwd_try_kind kind;
	uint16_t ext_port;
};

struct portfwd_plan {
	uint16_t port;		   /* the internal (local) port */
	bool any;		   /* the gateway offers AddAnyPortMapping */
	uint32_t lease;		   /* lease for the next attempt; 0 after error 725 */
	unsigned stage;		   /* private */
	unsigned n;		   /* private: attempts made in the stage */
	bool repeat;		   /* private: return the last try again */
	unsigned transport_errors; /* private: consecutive */
	struct portfwd_try last;
};

/* Starts a plan for the local port; any: the gateway offers AddAnyPortMapping. */
void portfwd_plan_init(struct portfwd_plan *p, uint16_t port, bool any, uint32_t lease);
/*
 * The next attempt: same port; any port (AddAnyPortMapping, else 20 random ports); port + 1
 * .. + 4 (up to 65535); 5 random ports. rnd picks random ports. False when none is left.
 */
bool portfwd_plan_next(struct portfwd_plan *p, uint32_t rnd, struct portfwd_try *out);
/*
 * Feeds back how the last attempt failed: a UPnP error code (> 0) or a negative miniupnpc
 * code (no answer). 725 repeats the attempt with lease 0 (and keeps 0); 401/602 on
 * AddAnyPortMapping falls back to random ports. False: stop (the gateway stopped answering).
 */
bool portfwd_plan_failed(struct portfwd_plan *p, int code);
/* A random external port in PORTFWD_RANDOM_MIN..PORTFWD_RANDOM_MAX. */
uint16_t portfwd_random_port(uint32_t rnd);
/* True when a WANIP service type offers AddAnyPortMapping (WANIPConnection:2 and later). */
bool portfwd_offers_any(const char *servicetype);

/* ---- lease arithmetic, pure (seconds on a monotonic clock) ---- */

/*
 * When a lease granted at `granted` is refreshed: half-way, so the lease is twice the refresh
 * interval (STYLE.md 6) and a failed refresh still has half a lease to be retried in.
 * -1 for a permanent lease (0): never.
 */
int64_t portfwd_refresh_at(int64_t granted, uint32_t lease);
/* After a failed refresh at now, for a lease ending at expires: the next try. */
int64_t portfwd_retry_at(int64_t now, int64_t expires);

/* ---- the worker ---- */

enum portfwd_event_kind {
	PORTFWD_EV_MAPPED = 1, /* a mapping exists: new, or its external address changed */
	PORTFWD_EV_REFRESHED,  /* the lease was renewed, nothing changed */
	PORTFWD_EV_LOST,       /* the mapping expired unrenewed; the worker keeps trying */
	PORTFWD_EV_NO_IGD,     /* no gateway: the worker has ended (feature off) */
	PORTFWD_EV_FAILED,     /* a gateway, but no mapping: the worker has ended */
};

struct portfwd_event {
	enum portfwd_event_kind kind;
	struct addr internal;	   /* MAPPED/REFRESHED: LAN IPv4 and local port */
	struct addr external;	   /* MAPPED/REFRESHED: external IPv4 and mapped port */
	uint32_t lease;		   /* MAPPED/REFRESHED: seconds, 0 = permanent */
	char why[PORTFWD_WHY_LEN]; /* LOST/NO_IGD/FAILED: reason for the log */
};

struct portfwd_params {
	uint16_t port;		 /* the node's UDP port */
	struct addr bind;	 /* the socket's address: a specific IPv4 is the internal client */
	uint32_t lease;		 /* 0: PORTFWD_LEASE_SECS */
	unsigned discover_ms;	 /* 0: PORTFWD_DISCOVER_MS */
	const char *multicastif; /* SSDP interface address, NULL: the default (copied) */
};

struct portfwd;

/* Starts the worker. Call after loop_init() so the thread inherits the signal mask. */
int portfwd_start(const struct portfwd_params *params, struct portfwd **out) WUR;
/* The eventfd to register in the loop (readable when events are waiting). */
struct loop_src *portfwd_src(struct portfwd *pf);
/* Takes one event: 1 (out filled) or 0 (none left). Clears the eventfd when empty. */
int portfwd_take(struct portfwd *pf, struct portfwd_event *out);
/*
 * Asks the worker to remove its mapping and end, and waits at most timeout_ms. Returns 1
 * (a mapping was removed), 0 (there was none), -EREMOTEIO (the gateway refused: *code is
 * its error, may be NULL) or -ETIMEDOUT (still busy; the lease will run out by itself).
 */
int portfwd_stop(struct portfwd *pf, unsigned timeout_ms, int *code);
/*
 * Stops the worker without waiting (if portfwd_stop did not) and releases the handle: the
 * thread is joined when it has ended, else left to finish on its own. Accepts NULL.
 */
void portfwd_free(struct portfwd *pf);

#endif

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_portfwd.c - UPnP port forwarding: the order of mapping attempts, lease arithmetic, and
 * the worker thread against a fake gateway (miniupnpc calls wrapped with -Wl,--wrap): mapping,
 * fallbacks, error 725, refresh, lost mappings, removal, bounded stops, no gateway.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <sodium.h>

#include "meshvpn/portfwd.h"

#define V1 "urn:schemas-upnp-org:service:WANIPConnection:1"
#define V2 "urn:schemas-upnp-org:service:WANIPConnection:2"

/* ---- a fake gateway behind the wrapped miniupnpc calls ---- */

#define FAKE_LOG 64

static struct {
	pthread_mutex_t lock;
	bool igd;	     /* discovery finds it */
	bool real_discovery; /* use the library's SSDP search */
	int valid;	     /* UPNP_GetValidIGD's answer */
	const char *servicetype;
	const char *lanaddr;
	char extip[16];
	bool only_permanent; /* 725 for finite leases */
	bool dead;	     /* SOAP calls fail without an answer */
	unsigned delay_ms;   /* every SOAP call takes this long */
	unsigned busy;	     /* SOAP calls in progress */
	bool taken[65536];   /* mapped by someone else */
	bool ours[65536];
	char log[FAKE_LOG][48];
	unsigned n_log;
	unsigned discoveries;
	int bad_line; /* first broken expectation seen in the worker thread */
} F = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void fake_reset(void)
{
	pthread_mutex_lock(&F.lock);
	F.igd = true;
	F.real_discovery = false;
	F.valid = 1;
	F.servicetype = V2;
	F.lanaddr = "10.0.0.2";
	snprintf(F.extip, sizeof(F.extip), "11.0.0.1");
	F.only_permanent = F.dead = false;
	F.delay_ms = 0;
	memset(F.taken, 0, sizeof(F.taken));
	memset(F.ours, 0, sizeof(F.ours));
	F.n_log = 0;
	F.discoveries = 0;
	F.bad_line = 0;
	pthread_mutex_unlock(&F.lock);
}

/* cmocka's asserts must not run in the worker thread: remember, check in the teardown */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond) && !F.bad_line)                                                        \
			F.bad_line = __LINE__;                                                     \
	} while (0)

static void fake_log(const char *fmt, ...) PRINTF(1, 2);
static void fake_log(const char *fmt, ...)
{
	va_list ap;
	if (F.n_log == FAKE_LOG)
		return;
	va_start(ap, fmt);
	vsnprintf(F.log[F.n_log++], sizeof(F.log[0]), fmt, ap);
	va_end(ap);
}

/* A SOAP call: counts as busy while the (fake) gateway takes its time; false when dead. */
static bool soap_enter(void)
{
	pthread_mutex_lock(&F.lock);
	F.busy++;
	unsigned d = F.delay_ms;
	pthread_mutex_unlock(&F.lock);
	if (d)
		usleep(d * 1000);
	pthread_mutex_lock(&F.lock);
	return !F.dead;
}

static void soap_leave(void)
{
	F.busy--;
	pthread_mutex_unlock(&F.lock);
}

struct UPNPDev *__real_upnpDiscoverDevices(const char *const types[], int delay, const char *mif,
					   const char *sock, int lport, int ipv6, unsigned char ttl,
					   int *error, int all);
struct UPNPDev *__wrap_upnpDiscoverDevices(const char *const types[], int delay, const char *mif,
					   const char *sock, int lport, int ipv6, unsigned char ttl,
					   int *error, int all);
struct UPNPDev *__wrap_upnpDiscoverDevices(const char *const types[], int delay, const char *mif,
					   const char *sock, int lport, int ipv6, unsigned char ttl,
					   int *error, int all)
{
	pthread_mutex_lock(&F.lock);
	bool real = F.real_discovery, igd = F.igd;
	F.discoveries++;
	CHECK(strcmp(types[0], "urn:schemas-upnp-org:device:InternetGatewayDevice:1") == 0);
	CHECK(!types[1]);
	CHECK(delay == PORTFWD_ROUND_MS);
	pthread_mutex_unlock(&F.lock);
	if (real)
		return __real_upnpDiscoverDevices(types, delay, mif, sock, lport, ipv6, ttl, error,
						  all);
	*error = 0;
	/* freed by the library's freeUPNPDevlist (plain free of each entry) */
	return igd ? calloc(1, sizeof(struct UPNPDev) + 4) : NULL;
}

int __wrap_UPNP_GetValidIGD(struct UPNPDev *devlist, struct UPNPUrls *urls, struct IGDdatas *data,
			    char *lanaddr, int lanaddrlen);
int __wrap_UPNP_GetValidIGD(struct UPNPDev *devlist, struct UPNPUrls *urls, struct IGDdatas *data,
			    char *lanaddr, int lanaddrlen)
{
	(void)devlist;
	memset(urls, 0, sizeof(*urls));
	memset(data, 0, sizeof(*data));
	pthread_mutex_lock(&F.lock);
	int v = F.valid;
	if (v > 0) {
		urls->controlURL = strdup("http://10.0.0.1:5555/ctl/IPConn");
		snprintf(data->first.servicetype, sizeof(data->first.servicetype), "%s",
			 F.servicetype);
		snprintf(lanaddr, (size_t)lanaddrlen, "%s", F.lanaddr);
	}
	pthread_mutex_unlock(&F.lock);
	return v;
}

int __wrap_UPNP_GetExternalIPAddress(const char *url, const char *st, char *ip);
int __wrap_UPNP_GetExternalIPAddress(const char *url, const char *st, char *ip)
{
	int r = UPNPCOMMAND_HTTP_ERROR;
	(void)url, (void)st;
	if (soap_enter()) {
		snprintf(ip, 16, "%s", F.extip);
		r = 0;
	}
	soap_leave();
	return r;
}

static int fake_add(const char *ext, const char *in, const char *client, const char *desc,
		    const char *proto, const char *lease)
{
	int port = atoi(ext);

	CHECK(strcmp(in, "3210") == 0);
	CHECK(strcmp(client, F.lanaddr) == 0);
	CHECK(strcmp(desc, "meshvpn") == 0);
	CHECK(strcmp(proto, "UDP") == 0);
	if (F.only_permanent && strcmp(lease, "0") != 0)
		return PORTFWD_ERR_ONLY_PERMANENT;
	if (F.taken[port])
		return PORTFWD_ERR_CONFLICT;
	F.ours[port] = true;
	return 0;
}

int __wrap_UPNP_AddPortMapping(const char *url, const char *st, const char *ext, const char *in,
			       const char *client, const char *desc, const char *proto,
			       const char *rhost, const char *lease);
int __wrap_UPNP_AddPortMapping(const char *url, const char *st, const char *ext, const char *in,
			       const char *client, const char *desc, const char *proto,
			       const char *rhost, const char *lease)
{
	int r = UPNPCOMMAND_HTTP_ERROR;
	(void)url, (void)st;
	if (soap_enter()) {
		CHECK(rhost == NULL);
		fake_log("add %s %s", ext, lease);
		r = fake_add(ext, in, client, desc, proto, lease);
	}
	soap_leave();
	return r;
}

int __wrap_UPNP_AddAnyPortMapping(const char *url, const char *st, const char *ext, const char *in,
				  const char *client, const char *desc, const char *proto,
				  const char *rhost, const char *lease, char *reserved);
int __wrap_UPNP_AddAnyPortMapping(const char *url, const char *st, const char *ext, const char *in,
				  const char *client, const char *desc, const char *proto,
				  const char *rhost, const char *lease, char *reserved)
{
	int r = UPNPCOMMAND_HTTP_ERROR;
	(void)url, (void)st, (void)rhost;
	if (soap_enter()) {
		fake_log("any %s %s", ext, lease);
		if (!strstr(F.servicetype, ":2")) {
			r = PORTFWD_ERR_INVALID_ACTION;
		} else {
			char p[8];
			int port = atoi(ext);
			while (F.taken[port] || F.ours[port])
				port++;
			snprintf(p, sizeof(p), "%d", port);
			r = fake_add(p, in, client, desc, proto, lease);
			snprintf(reserved, 6, "%d", port);
		}
	}
	soap_leave();
	return r;
}

int __wrap_UPNP_DeletePortMapping(const char *url, const char *st, const char *ext,
				  const char *proto, const char *rhost);
int __wrap_UPNP_DeletePortMapping(const char *url, const char *st, const char *ext,
				  const char *proto, const char *rhost)
{
	int r = UPNPCOMMAND_HTTP_ERROR;
	(void)url, (void)st, (void)rhost;
	if (soap_enter()) {
		CHECK(strcmp(proto, "UDP") == 0);
		fake_log("del %s", ext);
		r = F.ours[atoi(ext)] ? 0 : PORTFWD_ERR_NO_SUCH_ENTRY;
		F.ours[atoi(ext)] = false;
	}
	soap_leave();
	return r;
}

/* ---- helpers ---- */

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct portfwd *start(uint32_t lease, unsigned discover_ms)
{
	struct portfwd_params p = {.port = 3210, .lease = lease, .discover_ms = discover_ms};
	struct portfwd *pf;

	assert_int_equal(addr_parse("[::]:3210", 3210, &p.bind), 0);
	assert_int_equal(portfwd_start(&p, &pf), 0);
	return pf;
}

/* Waits up to timeout_ms for the next event. */
static bool next_event(struct portfwd *pf, int timeout_ms, struct portfwd_event *ev)
{
	int64_t end = ms_now() + timeout_ms;

	for (;;) {
		if (portfwd_take(pf, ev))
			return true;
		int left = (int)(end - ms_now());
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = portfwd_src(pf)->fd, .events = POLLIN};
		assert_true(poll(&p, 1, left) >= 0);
	}
}

static struct portfwd_event expect(struct portfwd *pf, enum portfwd_event_kind kind, int ms)
{
	struct portfwd_event ev;
	if (!next_event(pf, ms, &ev))
		fail_msg("no event %d within %d ms", kind, ms);
	if (ev.kind != kind)
		fail_msg("event %d (%s), expected %d", ev.kind, ev.why, kind);
	return ev;
}

static void assert_addr(const struct addr *a, const char *want)
{
	char buf[ADDR_STRLEN];
	assert_string_equal(addr_format(a, buf), want);
}

static void assert_log(unsigned i, const char *want)
{
	pthread_mutex_lock(&F.lock);
	assert_true(i < F.n_log);
	assert_string_equal(F.log[i], want);
	pthread_mutex_unlock(&F.lock);
}

static unsigned log_len(void)
{
	pthread_mutex_lock(&F.lock);
	unsigned n = F.n_log;
	pthread_mutex_unlock(&F.lock);
	return n;
}

/* Waits until the fake saw n calls and none is in progress (a detached worker ending). */
static void wait_log(unsigned n)
{
	for (int i = 0; i < 300; i++) {
		pthread_mutex_lock(&F.lock);
		bool idle = F.busy == 0 && F.n_log >= n;
		pthread_mutex_unlock(&F.lock);
		if (idle)
			break;
		usleep(10 * 1000);
	}
	usleep(50 * 1000); /* the worker's last steps after the call */
	assert_int_equal(log_len(), n);
}

/* Skips REFRESHED events (renewals every second) until another one comes. */
static struct portfwd_event expect_skip(struct portfwd *pf, enum portfwd_event_kind kind, int ms)
{
	int64_t end = ms_now() + ms;
	struct portfwd_event ev;

	do {
		if (!next_event(pf, (int)MAX(end - ms_now(), (int64_t)1), &ev))
			fail_msg("no event %d within %d ms", kind, ms);
	} while (ev.kind == PORTFWD_EV_REFRESHED && kind != PORTFWD_EV_REFRESHED);
	if (ev.kind != kind)
		fail_msg("event %d (%s), expected %d", ev.kind, ev.why, kind);
	return ev;
}

static int setup(void **state)
{
	(void)state;
	fake_reset();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pthread_mutex_lock(&F.lock);
	if (F.bad_line)
		fail_msg("in the worker: CHECK on line %d failed", F.bad_line);
	pthread_mutex_unlock(&F.lock);
	return 0;
}

/* ---- the plan ---- */

static void test_plan_any(void **state)
{
	struct portfwd_plan p;
	struct portfwd_try t;
	(void)state;

	portfwd_plan_init(&p, 3210, true, 1800);
	assert_true(portfwd_plan_next(&p, 0, &t));
	assert_int_equal(t.kind, PORTFWD_TRY_PORT);
	assert_int_equal(t.ext_port, 3210);
	assert_true(portfwd_plan_next(&p, 0, &t));
	assert_int_equal(t.kind, PORTFWD_TRY_ANY);
	for (unsigned i = 1; i <= 4; i++) {
		assert_true(portfwd_plan_next(&p, 0, &t));
		assert_int_equal(t.kind, PORTFWD_TRY_PORT);
		assert_int_equal(t.ext_port, 3210 + i);
	}
	for (unsigned i = 0; i < 5; i++) {
		assert_true(portfwd_plan_next(&p, 1000 + i, &t));
		assert_int_equal(t.kind, PORTFWD_TRY_PORT);
		assert_int_equal(t.ext_port, PORTFWD_RANDOM_MIN + 1000 + i);
	}
	assert_false(portfwd_plan_next(&p, 0, &t));
	assert_false(portfwd_plan_next(&p, 0, &t));
}

static void test_plan_no_any(void **state)
{
	struct portfwd_plan p;
	struct portfwd_try t;
	unsigned n = 0, n_random = 0;
	(void)state;

	portfwd_plan_init(&p, 65533, false, 1800);
	while (portfwd_plan_next(&p, 7 * n, &t)) {
		assert_int_equal(t.kind, PORTFWD_TRY_PORT);
		if (n == 0)
			assert_int_equal(t.ext_port, 65533);
		else if (n == 21)
			assert_int_equal(t.ext_port, 65534);
		else if (n == 22)
			assert_int_equal(t.ext_port, 65535); /* 65536.. do not exist */
		else
			n_random++;
		if (n != 0 && n != 21 && n != 22) {
			assert_true(t.ext_port >= PORTFWD_RANDOM_MIN);
			assert_true(t.ext_port <= PORTFWD_RANDOM_MAX);
		}
		n++;
	}
	assert_int_equal(n, 1 + PORTFWD_ANY_RANDOM_TRIES + 2 + PORTFWD_RANDOM_TRIES);
	assert_int_equal(n_random, PORTFWD_ANY_RANDOM_TRIES + PORTFWD_RANDOM_TRIES);
}

static void test_plan_permanent(void **state)
{
	struct portfwd_plan p;
	struct portfwd_try t;
	(void)state;

	portfwd_plan_init(&p, 3210, true, 1800);
	assert_true(portfwd_plan_next(&p, 0, &t));
	assert_true(portfwd_plan_failed(&p, PORTFWD_ERR_ONLY_PERMANENT));
	assert_int_equal(p.lease, 0);
	assert_true(portfwd_plan_next(&p, 0, &t)); /* the same attempt again, lease 0 */
	assert_int_equal(t.kind, PORTFWD_TRY_PORT);
	assert_int_equal(t.ext_port, 3210);
	assert_true(portfwd_plan_failed(&p, PORTFWD_ERR_CONFLICT));
	assert_true(portfwd_plan_next(&p, 0, &t));
	assert_int_equal(t.kind, PORTFWD_TRY_ANY);
	/* 725 with lease 0 already: just the next attempt */
	assert_true(portfwd_plan_failed(&p, PORTFWD_ERR_ONLY_PERMANENT));
	assert_true(portfwd_plan_next(&p, 0, &t));
	assert_int_equal(t.ext_port, 3211);
	assert_int_equal(p.lease, 0);
}

static void test_plan_any_unsupported(void **state)
{
	struct portfwd_plan p;
	struct portfwd_try t;
	unsigned n = 0;
	(void)state;

	portfwd_plan_init(&p, 3210, true, 1800);
	assert_true(portfwd_plan_next(&p, 0, &t));
	assert_true(portfwd_plan_failed(&p, PORTFWD_ERR_CONFLICT));
	assert_true(portfwd_plan_next(&p, 0, &t));
	assert_int_equal(t.kind, PORTFWD_TRY_ANY);
	assert_true(portfwd_plan_failed(&p, PORTFWD_ERR_NOT_IMPLEMENTED));
	/* the random ports instead, then the near ones */
	while (portfwd_plan_next(&p, n, &t) && t.ext_port >= PORTFWD_RANDOM_MIN)
		n++;
	assert_int_equal(n, PORTFWD_ANY_RANDOM_TRIES);
	assert_int_equal(t.ext_port, 3211);
}

static void test_plan_transport(void **state)
{
	struct portfwd_plan p;
	struct portfwd_try t;
	(void)state;

	portfwd_plan_init(&p, 3210, true, 1800);
	assert_true(portfwd_plan_next(&p, 0, &t));
	assert_true(portfwd_plan_failed(&p, UPNPCOMMAND_HTTP_ERROR)); /* one may be a hiccup */
	assert_true(portfwd_plan_next(&p, 0, &t));
	assert_true(portfwd_plan_failed(&p, PORTFWD_ERR_CONFLICT));
	assert_true(portfwd_plan_next(&p, 0, &t));
	assert_true(portfwd_plan_failed(&p, UPNPCOMMAND_HTTP_ERROR));
	assert_true(portfwd_plan_next(&p, 0, &t));
	assert_false(portfwd_plan_failed(&p, UPNPCOMMAND_INVALID_RESPONSE)); /* twice: gone */
}

static void test_random_port_and_any(void **state)
{
	(void)state;
	assert_int_equal(portfwd_random_port(0), PORTFWD_RANDOM_MIN);
	assert_int_equal(portfwd_random_port(PORTFWD_RANDOM_MAX - PORTFWD_RANDOM_MIN),
			 PORTFWD_RANDOM_MAX);
	assert_int_equal(portfwd_random_port(PORTFWD_RANDOM_MAX - PORTFWD_RANDOM_MIN + 1),
			 PORTFWD_RANDOM_MIN);
	for (uint32_t r = UINT32_MAX - 100; r != 0; r++) {
		uint16_t p = portfwd_random_port(r);
		assert_true(p >= PORTFWD_RANDOM_MIN && p <= PORTFWD_RANDOM_MAX);
	}
	assert_false(portfwd_offers_any(V1));
	assert_true(portfwd_offers_any(V2));
	assert_false(portfwd_offers_any("urn:schemas-upnp-org:service:WANPPPConnection:1"));
	assert_false(portfwd_offers_any(""));
}

static void test_lease_arithmetic(void **state)
{
	(void)state;
	/* the lease is twice the refresh interval */
	assert_int_equal(portfwd_refresh_at(100, PORTFWD_LEASE_SECS), 100 + 900);
	assert_int_equal(portfwd_refresh_at(0, 7), 3);
	assert_int_equal(portfwd_refresh_at(5, 1), 6);
	assert_int_equal(portfwd_refresh_at(100, 0), -1); /* permanent: never */
	/* retries every 60 s while the lease lasts, faster near its end */
	assert_int_equal(portfwd_retry_at(1000, 1900), 1060);
	assert_int_equal(portfwd_retry_at(1000, 1040), 1020);
	assert_int_equal(portfwd_retry_at(1000, 1001), 1001);
	assert_int_equal(portfwd_retry_at(1000, 1000), 1001);
}

/* ---- the worker against the fake gateway ---- */

static void test_map_same_port(void **state)
{
	(void)state;
	struct portfwd *pf = start(0, 0);
	struct portfwd_event ev = expect(pf, PORTFWD_EV_MAPPED, 3000);

	assert_addr(&ev.internal, "10.0.0.2:3210");
	assert_addr(&ev.external, "11.0.0.1:3210");
	assert_int_equal(ev.lease, PORTFWD_LEASE_SECS);
	assert_int_equal(log_len(), 1);
	assert_log(0, "add 3210 1800");
	int64_t t0 = ms_now();
	assert_int_equal(portfwd_stop(pf, PORTFWD_STOP_MS, NULL), 1);
	assert_true(ms_now() - t0 < 500);
	assert_log(1, "del 3210");
	assert_false(F.ours[3210]);
	portfwd_free(pf);
}

static void test_map_any_port(void **state)
{
	(void)state;
	F.taken[3210] = F.taken[3211] = true;
	struct portfwd *pf = start(0, 0);
	struct portfwd_event ev = expect(pf, PORTFWD_EV_MAPPED, 3000);

	assert_addr(&ev.external, "11.0.0.1:3212");
	assert_log(0, "add 3210 1800");
	assert_log(1, "any 3210 1800");
	assert_int_equal(portfwd_stop(pf, PORTFWD_STOP_MS, NULL), 1);
	assert_log(2, "del 3212");
	portfwd_free(pf);
}

static void test_map_v1_fallbacks(void **state)
{
	(void)state;
	/* an IGD v1: no AddAnyPortMapping, so 20 random ports, then +1..+4 */
	F.servicetype = V1;
	F.taken[3210] = F.taken[3211] = true;
	for (unsigned p = PORTFWD_RANDOM_MIN; p <= PORTFWD_RANDOM_MAX; p++)
		F.taken[p] = true;
	struct portfwd *pf = start(0, 0);
	struct portfwd_event ev = expect(pf, PORTFWD_EV_MAPPED, 3000);

	assert_addr(&ev.external, "11.0.0.1:3212");
	assert_int_equal(log_len(), 1 + PORTFWD_ANY_RANDOM_TRIES + 2);
	assert_log(0, "add 3210 1800");
	for (unsigned i = 1; i <= PORTFWD_ANY_RANDOM_TRIES; i++) {
		int port;
		assert_int_equal(sscanf(F.log[i], "add %d 1800", &port), 1);
		assert_true(port >= PORTFWD_RANDOM_MIN && port <= PORTFWD_RANDOM_MAX);
	}
	assert_log(PORTFWD_ANY_RANDOM_TRIES + 1, "add 3211 1800");
	assert_log(PORTFWD_ANY_RANDOM_TRIES + 2, "add 3212 1800");
	portfwd_free(pf); /* without portfwd_stop: still removes the mapping, then ends */
	wait_log(PORTFWD_ANY_RANDOM_TRIES + 4);
	assert_log(PORTFWD_ANY_RANDOM_TRIES + 3, "del 3212");
}

static void test_map_nothing_free(void **state)
{
	(void)state;
	F.servicetype = V1;
	memset(F.taken, 1, sizeof(F.taken));
	struct portfwd *pf = start(0, 0);
	struct portfwd_event ev = expect(pf, PORTFWD_EV_FAILED, 3000);

	assert_non_null(strstr(ev.why, "ConflictInMappingEntry"));
	assert_int_equal(log_len(), 1 + PORTFWD_ANY_RANDOM_TRIES + 4 + PORTFWD_RANDOM_TRIES);
	assert_int_equal(portfwd_stop(pf, PORTFWD_STOP_MS, NULL), 0); /* nothing to remove */
	portfwd_free(pf);
}

static void test_only_permanent(void **state)
{
	(void)state;
	F.only_permanent = true;
	struct portfwd *pf = start(0, 0);
	struct portfwd_event ev = expect(pf, PORTFWD_EV_MAPPED, 3000);

	assert_int_equal(ev.lease, 0);
	assert_log(0, "add 3210 1800");
	assert_log(1, "add 3210 0");
	assert_int_equal(portfwd_stop(pf, PORTFWD_STOP_MS, NULL), 1);
	portfwd_free(pf);
}

static void test_refresh(void **state)
{
	(void)state;
	struct portfwd *pf = start(2, 0); /* renewed every second */
	struct portfwd_event ev = expect(pf, PORTFWD_EV_MAPPED, 3000);

	assert_int_equal(ev.lease, 2);
	ev = expect(pf, PORTFWD_EV_REFRESHED, 2500);
	assert_addr(&ev.external, "11.0.0.1:3210");
	assert_log(1, "add 3210 2");
	/* the gateway's external address changes: reported as a new mapping */
	pthread_mutex_lock(&F.lock);
	snprintf(F.extip, sizeof(F.extip), "11.0.0.9");
	pthread_mutex_unlock(&F.lock);
	ev = expect_skip(pf, PORTFWD_EV_MAPPED, 2500);
	assert_addr(&ev.external, "11.0.0.9:3210");
	assert_int_equal(portfwd_stop(pf, PORTFWD_STOP_MS, NULL), 1);
	portfwd_free(pf);
}

static void test_refresh_conflict(void **state)
{
	(void)state;
	struct portfwd *pf = start(2, 0);
	expect(pf, PORTFWD_EV_MAPPED, 3000);
	/* someone else took the port: a new mapping on another port */
	pthread_mutex_lock(&F.lock);
	F.ours[3210] = false;
	F.taken[3210] = true;
	pthread_mutex_unlock(&F.lock);
	struct portfwd_event ev = expect_skip(pf, PORTFWD_EV_MAPPED, 2500);
	assert_addr(&ev.external, "11.0.0.1:3211");
	assert_int_equal(portfwd_stop(pf, PORTFWD_STOP_MS, NULL), 1);
	assert_false(F.ours[3211]);
	portfwd_free(pf);
}

static void test_lost(void **state)
{
	(void)state;
	struct portfwd *pf = start(2, 0);
	expect(pf, PORTFWD_EV_MAPPED, 3000);
	pthread_mutex_lock(&F.lock);
	F.dead = true; /* renewals fail until the lease is over */
	pthread_mutex_unlock(&F.lock);
	struct portfwd_event ev = expect_skip(pf, PORTFWD_EV_LOST, 4000);
	assert_non_null(strstr(ev.why, "external address"));
	/* no mapping any more: nothing to remove, and stopping does not wait for the dead one */
	int64_t t0 = ms_now();
	assert_int_equal(portfwd_stop(pf, PORTFWD_STOP_MS, NULL), 0);
	assert_true(ms_now() - t0 < 500);
	portfwd_free(pf);
}

static void test_no_igd(void **state)
{
	(void)state;
	F.igd = false;
	int64_t t0 = ms_now();
	struct portfwd *pf = start(0, 1500);
	struct portfwd_event ev = expect(pf, PORTFWD_EV_NO_IGD, 4000);
	int64_t took = ms_now() - t0;

	assert_true(took >= 1400 && took < 3500);
	assert_string_equal(ev.why, "no UPnP gateway answered within 2 s");
	assert_int_equal(F.discoveries, 2); /* rounds of PORTFWD_ROUND_MS */
	t0 = ms_now();
	assert_int_equal(portfwd_stop(pf, PORTFWD_STOP_MS, NULL), 0);
	assert_true(ms_now() - t0 < 100);
	portfwd_free(pf);
}

static void test_not_an_igd(void **state)
{
	(void)state;
	F.valid = 3;
	struct portfwd *pf = start(0, 0);
	struct portfwd_event ev = expect(pf, PORTFWD_EV_NO_IGD, 3000);
	assert_string_equal(ev.why, "the UPnP device that answered is no gateway");
	portfwd_free(pf);
}

static void test_dead_gateway(void **state)
{
	(void)state;
	F.dead = true;
	struct portfwd *pf = start(0, 0);
	struct portfwd_event ev = expect(pf, PORTFWD_EV_FAILED, 3000);
	assert_non_null(strstr(ev.why, "no external address"));
	portfwd_free(pf);
}

/* Stopping while a real SSDP search runs (on loopback: nobody answers) takes one round. */
static void test_stop_during_discovery(void **state)
{
	(void)state;
	struct portfwd_params p = {.port = 3210, .multicastif = "127.0.0.1"};
	struct portfwd *pf;

	F.real_discovery = true;
	assert_int_equal(portfwd_start(&p, &pf), 0);
	usleep(200 * 1000);
	int64_t t0 = ms_now();
	assert_int_equal(portfwd_stop(pf, PORTFWD_STOP_MS, NULL), 0);
	int64_t took = ms_now() - t0;
	assert_true(took <= PORTFWD_ROUND_MS + 300);
	portfwd_free(pf);
}

/* A gateway that does not answer the removal: the stop gives up, the worker ends later. */
static void test_stop_slow_gateway(void **state)
{
	(void)state;
	struct portfwd *pf = start(0, 0);
	expect(pf, PORTFWD_EV_MAPPED, 3000);
	pthread_mutex_lock(&F.lock);
	F.delay_ms = 1000;
	pthread_mutex_unlock(&F.lock);
	int64_t t0 = ms_now();
	assert_int_equal(portfwd_stop(pf, 200, NULL), -ETIMEDOUT);
	int64_t took = ms_now() - t0;
	assert_true(took >= 190 && took < 600);
	portfwd_free(pf); /* detaches: the worker frees the shared state when done */
	/* wait for it, so no call is in flight when the next test resets the fake */
	wait_log(2);
	assert_log(1, "del 3210");
}

static void test_stop_refused(void **state)
{
	(void)state;
	struct portfwd *pf = start(0, 0);
	int code = 0;
	expect(pf, PORTFWD_EV_MAPPED, 3000);
	pthread_mutex_lock(&F.lock);
	F.dead = true;
	pthread_mutex_unlock(&F.lock);
	assert_int_equal(portfwd_stop(pf, PORTFWD_STOP_MS, &code), -EREMOTEIO);
	assert_int_equal(code, UPNPCOMMAND_HTTP_ERROR);
	portfwd_free(pf);
}

static void test_bound_address(void **state)
{
	(void)state;
	struct portfwd_params p = {.port = 3210};
	struct portfwd *pf;

	/* bound to one IPv4 address: that one is the internal client */
	F.lanaddr = "10.0.0.7";
	assert_int_equal(addr_parse("10.0.0.7:3210", 3210, &p.bind), 0);
	assert_int_equal(portfwd_start(&p, &pf), 0);
	struct portfwd_event ev = expect(pf, PORTFWD_EV_MAPPED, 3000);
	assert_addr(&ev.internal, "10.0.0.7:3210");
	portfwd_free(pf);
	wait_log(2);
	assert_log(1, "del 3210");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan_any),
	    cmocka_unit_test(test_plan_no_any),
	    cmocka_unit_test(test_plan_permanent),
	    cmocka_unit_test(test_plan_any_unsupported),
	    cmocka_unit_test(test_plan_transport),
	    cmocka_unit_test(test_random_port_and_any),
	    cmocka_unit_test(test_lease_arithmetic),
	    cmocka_unit_test_setup_teardown(test_map_same_port, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_map_any_port, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_map_v1_fallbacks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_map_nothing_free, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_permanent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_conflict, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_igd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_an_igd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dead_gateway, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_during_discovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_slow_gateway, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_address, setup, teardown),
	};
	if (sodium_init() < 0) /* random ports come from randombytes */
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * node.c - the node: start-up in VpnCloud's order, the event loop, the one-second
 * housekeeping tick, NODE_INFO handling and peer exchange, own addresses, statistics and
 * shutdown. The data path is in forward.c, the peer tables in peers.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "meshvpn/algo.h"
#include "meshvpn/daemon.h"
#include "meshvpn/log.h"
#include "meshvpn/metrics.h"
#include "meshvpn/mgmt.h"
#include "meshvpn/wsclient.h"
#include "node_int.h"

#define NODE_TABLE_CAPACITY 4096
#define NODE_HOOK_DRAIN_MS 2000 /* at shutdown: how long running hooks are waited for */

/* Sets n->now (seconds) and n->now_ns (the same instant) from the monotonic clock. */
static void clock_update(struct node *n)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n->now = ts.tv_sec;
	n->now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void transport_report(struct node *n, int ev);

/* ---- statistics ---- */

static void resolve_statsd(struct node *n)
{
	if (n->cfg->statsd_server &&
	    resolver_submit(n->resolver, RESOLVE_TAG(RESOLVE_KIND_STATSD, 0), n->cfg->statsd_server,
			    8125) < 0)
		log_warn("cannot resolve the statsd server now");
}

/* Writes the stats file and statsd; at the end of a period (roll) the counters restart. */
static void write_stats(struct node *n, bool roll)
{
	struct stats_peer_view *peers = NULL, *traffic = NULL;
	struct stats_entry_view *claims = NULL, *cache = NULL;
	struct stats_view v = {.stats = &n->stats};
	size_t it = 0, pos;

	peers = calloc(n->n_peers + 1, sizeof(*peers));
	traffic = calloc(n->n_peers + n->n_pending + 1, sizeof(*traffic));
	claims = calloc(table_claim_len(&n->table) + 1, sizeof(*claims));
	cache = calloc(table_cache_len(&n->table) + 1, sizeof(*cache));
	if (!peers || !traffic || !claims || !cache)
		goto out;
	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it)) {
		peers[v.n_peers] = (struct stats_peer_view){
			.addr = p->addr,
			.ttl = p->timeout - n->now,
			.crypto = session_algo_name(p->sess),
			.traffic = &p->traffic,
		};
		traffic[v.n_traffic++] = peers[v.n_peers++];
	}
	for (size_t b = 0; b < NODE_HASH_BUCKETS; b++)
		for (struct pending *pd = n->pending_hash[b]; pd; pd = pd->hnext)
			traffic[v.n_traffic++] =
				(struct stats_peer_view){.addr = pd->addr, .traffic = &pd->traffic};
	struct table_claim_info ci;
	for (pos = 0; table_claim_next(&n->table, &pos, &ci);) {
		struct peer *p = peer_by_id(n, ci.peer);
		if (!p || v.n_claims > table_claim_len(&n->table))
			continue;
		range_format(&ci.range, claims[v.n_claims].key);
		claims[v.n_claims].peer = p->addr;
		claims[v.n_claims++].timeout = ci.expiry - n->now;
	}
	struct table_cache_info ce;
	for (pos = 0; table_cache_next(&n->table, &pos, &ce);) {
		struct peer *p = peer_by_id(n, ce.peer);
		if (!p || v.n_cache > table_cache_len(&n->table))
			continue;
		vaddr_format(&ce.addr, cache[v.n_cache].key);
		cache[v.n_cache].peer = p->addr;
		cache[v.n_cache++].timeout = ce.expiry - n->now;
	}
	v.peers = peers, v.traffic = traffic, v.claims = claims, v.cache = cache;

	if (n->stats_fd >= 0) {
		int r = stats_write_fd(n->stats_fd, &v);
		if (r < 0)
			log_rl(LOG_WARN, "cannot write the stats file %s: %s", n->cfg->stats_file,
			       strerror(-r));
	}
	if (n->cfg->statsd_server && n->statsd_ok && roll) {
		char msg[2048];
		const char *prefix = n->cfg->statsd_prefix ? n->cfg->statsd_prefix
							   : CONFIG_DEFAULT_STATSD_PREFIX;
		int len = stats_statsd(msg, sizeof(msg), prefix, &v);
		if (len > 0 && send_datagram(n, (uint8_t *)msg, (size_t)len, &n->statsd) < 0)
			log_rl(LOG_WARN, "cannot send to the statsd server");
	}
out:
	free(peers);
	free(traffic);
	free(claims);
	free(cache);
	if (!roll)
		return;
	it = 0;
	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it))
		stats_traffic_roll(&p->traffic);
	for (size_t b = 0; b < NODE_HASH_BUCKETS; b++)
		for (struct pending *pd = n->pending_hash[b]; pd; pd = pd->hnext)
			stats_traffic_roll(&pd->traffic);
	stats_roll(&n->stats);
}

/* ---- housekeeping (PROTOCOL.md 5.2) ---- */

static uint32_t nodeinfo_interval(struct node *n)
{
	int64_t m = CONFIG_DEFAULT_PEER_TIMEOUT, iv;
	size_t it = 0;
	bool any = false;

	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it)) {
		if (!any || p->peer_timeout < m)
			m = p->peer_timeout;
		any = true;
	}
	/* signed arithmetic: VpnCloud's wraps for timeouts below 122 s (quirk 9) */
	iv = MAX(m / 2 - 60, (int64_t)1);
	return (uint32_t)MIN((int64_t)n->cfg->keepalive, iv);
}

static void tick_sessions(struct node *n)
{
	char as[ADDR_STRLEN];

	for (size_t b = 0; b < NODE_HASH_BUCKETS; b++) {
		struct pending *next;
		for (struct pending *pd = n->pending_hash[b]; pd; pd = next) {
			next = pd->hnext;
			buf_reset(&n->ctl, NODE_HEADROOM);
			int r = session_tick(pd->sess, &n->ctl);
			if (r == 1) {
				send_raw(n, &n->ctl, &pd->addr, &pd->traffic);
			} else if (r < 0) {
				n->handshakes[r == -ETIMEDOUT ? NODE_HS_TIMEOUT : NODE_HS_FAILED]++;
				log_debug("Handshake with %s %s", addr_format(&pd->addr, as),
					  r == -ETIMEDOUT ? "timed out" : "failed");
				pending_remove(n, pd);
			}
		}
	}
	size_t it = 0;
	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it)) {
		buf_reset(&n->ctl, NODE_HEADROOM);
		int r = session_tick(p->sess, &n->ctl);
		if (session_key_installs(p->sess) != p->key_installs) {
			n->rotations += session_key_installs(p->sess) - p->key_installs;
			p->key_installs = session_key_installs(p->sess);
			log_debug("Peer %s: new key installed (%u so far), sending with slot %u",
				  addr_format(&p->addr, as), p->key_installs,
				  session_send_slot(p->sess));
		}
		if (r == 1) {
			send_raw(n, &n->ctl, &p->addr, &p->traffic);
		} else if (r < 0) {
			struct addr a = p->addr;
			peer_remove(n, p, false, "crypto failure");
			peer_connect(n, &a);
		}
	}
}

static void node_tick(struct node *n)
{
	size_t it = 0;

	n->new_responders = 0;
	n->init_checks = 0;
	stats_tick(&n->stats);
	/* 1. silent peers */
	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it)) {
		if (p->timeout < n->now) {
			struct addr a = p->addr;
			peer_remove(n, p, false, "timed out");
			peer_connect(n, &a);
			continue;
		}
		/*
		 * We send DATA but hear nothing: the peer may have restarted and lost the
		 * session. A keepalive peer answers within seconds; VpnCloud only with its
		 * NODE_INFO, at most every peer_timeout/2 - 60 s.
		 */
		/* round trips (meshvpn peers answer, VpnCloud ignores the probe) */
		telemetry_tick(&p->tel, n->now_ns);
		if (p->next_probe <= n->now && session_is_established(p->sess)) {
			telemetry_sent(&p->tel, ++p->probe_seq, n->now_ns);
			send_probe(n, p, FRAME_KEEPALIVE_PROBE, p->probe_seq);
			p->next_probe = n->now + NODE_PROBE_SECS;
		}
		int64_t limit = p->sends_keepalive ? NODE_REKEY_SILENCE : n->cfg->peer_timeout / 2;
		if (p->last_data_tx > p->last_rx && n->now - p->last_rx > limit &&
		    n->now - p->last_rehandshake > limit)
			peer_rehandshake(n, p, "stopped answering");
	}
	/* 2. table, and the kernel's list of handshake flooders */
	table_housekeep(&n->table, n->now);
	int fr = n->udp ? net_drop_inits_expire(n->udp, n->now) : 0;
	if (fr < 0)
		log_rl(LOG_WARN, "cannot update the kernel's handshake filter: %s", strerror(-fr));
	/* 3. handshakes, replay windows, key rotation */
	tick_sessions(n);
	/* 5. NODE_INFO to every peer */
	if (n->next_nodeinfo <= n->now) {
		exchange_broadcast(n);
		n->next_nodeinfo = n->now + nodeinfo_interval(n);
	}
	hub_tick(n); /* expiry of clients */
	if (n->mgmt)
		mgmt_tick(n->mgmt, n->now);
	if (n->metrics)
		metrics_run(n->metrics); /* its time-outs */
	/* 6. configured peers, the transport's own connection */
	reconnect_tick(n);
	transport_report(n, transport_tick(n->xp, n->now));
	daemon_watchdog(); /* systemd: the loop is alive */
	/* beacons (PROTOCOL.md 7.6): the first store and load at start-up */
	if (n->beaconio && n->next_beacon <= n->now) {
		exchange_beacons(n);
		n->next_beacon = n->now + MAX(n->cfg->beacon_interval, 1u);
	}
	/* 7. statistics */
	if (n->next_stats <= n->now) {
		write_stats(n, true);
		n->next_stats = n->now + n->stats_interval;
	}
	/* 10. own addresses */
	if (n->next_own_addrs <= n->now)
		own_rebuild_addrs(n);
	if (n->cfg->statsd_server && n->next_statsd_resolve <= n->now) {
		resolve_statsd(n);
		n->next_statsd_resolve = n->now + NODE_RESOLVE_SECS;
	}
}

static void handle_resolved(struct node *n)
{
	struct resolve_result r;
	char as[ADDR_STRLEN];

	while (resolver_take(n->resolver, &r)) {
		size_t idx = (size_t)(r.tag & 0xffffffffu);
		switch (RESOLVE_TAG_KIND(r.tag)) {
		case RESOLVE_KIND_RECONNECT:
			reconnect_resolved(n, idx, r.addrs, r.count);
			break;
		case RESOLVE_KIND_STATSD:
			if (r.count > 0) {
				n->statsd = r.addrs[0];
				n->statsd_ok = true;
			} else {
				log_warn("cannot resolve the statsd server %s", n->cfg->statsd_server);
			}
			break;
		case RESOLVE_KIND_ADVERTISE:
			for (int i = 0; i < r.count; i++)
				own_add_addr(n, &r.addrs[i], addr_is_v4(&r.addrs[i]));
			if (r.count < 0)
				log_warn("cannot resolve advertise address %s",
					 idx < n->cfg->advertise_addresses.n
						 ? n->cfg->advertise_addresses.v[idx]
						 : "?");
			else
				log_debug("advertising %s", addr_format(&r.addrs[0], as));
			break;
		}
	}
}

/* ---- start-up ---- */

static int setup_device(struct node *n)
{
	const struct config *cfg = n->cfg;
	enum device_type type = cfg->device_type == CONFIG_DEVICE_TAP ? DEVICE_TAP : DEVICE_TUN;
	char route_if[IFNAMSIZ] = "";
	int r, mtu;

	/* MESHVPN_OFFLOAD=0 turns TUN offloads off (troubleshooting; see the man page) */
	const char *off = getenv("MESHVPN_OFFLOAD");
	bool offload = !(off && strcmp(off, "0") == 0);
	r = device_open_ex(&n->dev, type, cfg->device_name, cfg->device_path, offload);
	if (r < 0) {
		log_err("cannot open the %s device %s via %s: %s", type == DEVICE_TAP ? "TAP" : "TUN",
			cfg->device_name, cfg->device_path ? cfg->device_path : DEVICE_PATH_DEFAULT,
			strerror(-r));
		return r;
	}
	n->dev.src.kind = NODE_SRC_DEVICE;
	log_info("Opened device %s%s", n->dev.ifname,
		 n->dev.offloads ? " (with segmentation offloads)" : "");
	peers_hook(n, CONFIG_HOOK_DEVICE_SETUP, NULL, NULL);

	r = device_default_mtu(device_overhead(type), &mtu, route_if);
	if (r < 0)
		log_info("No default route: MTU %d (1500 minus the VPN overhead)", mtu);
	r = device_set_mtu(&n->dev, mtu);
	if (r < 0)
		log_warn("cannot set the MTU of %s to %d: %s", n->dev.ifname, mtu, strerror(-r));
	else
		log_info("Set MTU of %s to %d", n->dev.ifname, mtu);

	if (cfg->flags & CONFIG_HAS_IP) {
		r = device_set_ipv4(&n->dev, cfg->ip, cfg->ip_prefix);
		if (r < 0) {
			log_err("cannot set address %u.%u.%u.%u/%u on %s: %s", cfg->ip[0], cfg->ip[1],
				cfg->ip[2], cfg->ip[3], cfg->ip_prefix, n->dev.ifname, strerror(-r));
			return r;
		}
		log_info("Configured %u.%u.%u.%u/%u on %s", cfg->ip[0], cfg->ip[1], cfg->ip[2],
			 cfg->ip[3], cfg->ip_prefix, n->dev.ifname);
	}
	if (cfg->ifup) {
		r = device_run_cmd(cfg->ifup, n->dev.ifname);
		if (r != 0)
			log_warn("ifup command failed with status %d", r);
	}
	if (cfg->fix_rp_filter) {
		r = device_rp_filter_fix(NULL, n->dev.ifname);
		if (r < 0)
			log_warn("cannot adjust rp_filter: %s", strerror(-r));
	}
	r = device_rp_filter_get(NULL, n->dev.ifname);
	if (r >= 0 && r != 1)
		log_warn("rp_filter of %s is %d, not 1: the host may answer spoofed packets for the "
			 "VPN (CVE-2019-14899); use --fix-rp-filter",
			 n->dev.ifname, r);
	peers_hook(n, CONFIG_HOOK_DEVICE_CONFIGURED, NULL, NULL);
	return 0;
}

static int setup_claims(struct node *n)
{
	const struct config *cfg = n->cfg;
	uint8_t ip[4];

	n->claims = calloc(cfg->n_claims + 2, sizeof(*n->claims));
	if (!n->claims)
		return -ENOMEM;
	if (cfg->n_claims) /* cfg->claims is NULL without claims: memcpy(.., NULL, 0) is UB */
		memcpy(n->claims, cfg->claims, cfg->n_claims * sizeof(*cfg->claims));
	n->n_claims = cfg->n_claims;
	if (cfg->auto_claim && n->dev.type == DEVICE_TUN &&
	    device_get_ipv4(&n->dev, ip, NULL) == 0) {
		struct range *r = &n->claims[n->n_claims++];
		memset(r, 0, sizeof(*r));
		r->base.len = 4;
		memcpy(r->base.b, ip, 4);
		r->prefix = 32;
	}
	if (config_is_hub(cfg) && cfg->hub_subnet) {
		/* a hub claims its clients' subnet: clients send everything in it to the hub */
		struct config_error why;
		struct range *r = &n->claims[n->n_claims];
		if (config_parse_claim(cfg->hub_subnet, r, &why) == 0)
			n->n_claims++;
	}
	for (size_t i = 0; i < n->n_claims; i++) {
		char rs[VADDR_STRLEN + 4];
		log_info("Claiming %s", range_format(&n->claims[i], rs));
	}
	return 0;
}

static int setup_crypto(struct node *n)
{
	const struct config *cfg = n->cfg;
	uint8_t ids[CONFIG_ALGO_COUNT];
	size_t n_ids = 0;
	bool plain = false;
	char key[KEYS_B62_KEYBUF];
	int r;

	r = keys_identity_load(&n->ident, cfg->private_key, cfg->public_key, cfg->password);
	if (r < 0) {
		log_err("cannot load the node key: %s", r == -EKEYREJECTED ? "public key does not match"
							       : strerror(-r));
		return r;
	}
	log_info("Public key: %s", keys_encode(key, n->ident->pub));
	for (size_t i = 0; i < cfg->n_algorithms; i++) {
		if (cfg->algorithms[i] == CONFIG_ALGO_PLAIN)
			plain = true;
		else
			ids[n_ids++] = cfg->algorithms[i];
	}
	if (plain)
		log_warn("Unencrypted connections are allowed (algorithm 'plain')");
	r = algo_list_benchmark(&n->algos, ids, n_ids, plain, ALGO_BENCH_SECONDS);
	if (r < 0) {
		log_err("cipher benchmark failed: %s", strerror(-r));
		return r;
	}
	for (unsigned i = 0; i < n->algos.n; i++)
		log_info("Cipher %s: %.1f MB/s", algo_name(n->algos.e[i].id),
			 (double)n->algos.e[i].speed);

	randombytes_buf(n->node_id, sizeof(n->node_id));
	struct session_params sp = {
		.seed = n->ident->seed,
		.trusted_keys = cfg->n_trusted_keys ? (const uint8_t *)cfg->trusted_keys : NULL,
		.n_trusted_keys = cfg->n_trusted_keys,
		.node_id = n->node_id,
		.algos = &n->algos,
		.rotate_cycle = n->rotate_cycle,
		.payload_ok = exchange_payload_ok,
		.payload_arg = n,
	};
	hsguard_init(&n->hsguard);
	r = session_ctx_new(&sp, &n->sctx);
	if (r < 0)
		log_err("cannot set up the crypto context: %s", strerror(-r));
	/* from now on the only copy of the private key is the session context's */
	keys_identity_forget_secret(n->ident);
	return r;
}

static int setup_buffers(struct node *n)
{
	/*
	 * The device's receive buffers are the transport's: a device round and a transport
	 * round (forward.c) each end with their flushes before the other can start, and nothing
	 * else borrows them, so one set serves both. It halves the pages a burst touches.
	 */
	size_t count = NODE_BATCH + NODE_SPARES + 2;

	n->pool = aligned_alloc(64, count * NODE_BUF_SIZE_ALIGNED);
	n->nodeinfo_buf = malloc(NODEINFO_MAX_ENCODED_LEN);
	n->hs_nodeinfo_buf = malloc(NODEINFO_MAX_ENCODED_LEN);
	n->ni_scratch = malloc(sizeof(*n->ni_scratch));
	n->ni_build = malloc(sizeof(*n->ni_build));
	if (!n->pool || !n->nodeinfo_buf || !n->hs_nodeinfo_buf || !n->ni_scratch || !n->ni_build)
		return -ENOMEM;
	uint8_t *p = n->pool;
	struct {
		struct buf *b;
		unsigned n;
	} all[] = {{n->rxbufs, NODE_BATCH}, {n->spare, NODE_SPARES}};
	for (size_t k = 0; k < ARRAY_SIZE(all); k++) {
		for (unsigned i = 0; i < all[k].n; i++, p += NODE_BUF_SIZE_ALIGNED)
			all[k].b[i] = (struct buf){.base = p, .size = NODE_BUF_SIZE};
	}
	memcpy(n->devbufs, n->rxbufs, sizeof(n->devbufs));
	n->ctl = (struct buf){.base = p, .size = NODE_BUF_SIZE};
	p += NODE_BUF_SIZE_ALIGNED;
	n->segbuf = (struct buf){.base = p, .size = NODE_BUF_SIZE};
	return 0;
}

/* UDP, or the WebSocket proxy for a ws:// listen address (PROTOCOL.md 8.3). */
static int setup_transport(struct node *n, const struct config_listen *listen)
{
	char as[ADDR_STRLEN];
	int r;

	if (listen->ws) {
		struct wsclient_params p = {
			.host = listen->host,
			.port = listen->port,
			.path = listen->path,
			.tls = listen->tls,
			.ca_file = n->cfg->ws_ca,
		};
		struct wsclient *c;
		r = wsclient_new(&p, &c);
		if (r < 0) {
			log_err("cannot set up the WebSocket proxy client: %s", strerror(-r));
			return r;
		}
		n->xp = wsclient_transport(c);
		return 0;
	}
	r = net_transport_open(&listen->addr, &n->udp);
	if (r < 0) {
		log_err("cannot open the UDP socket on %s: %s", addr_format(&listen->addr, as),
			strerror(-r));
		return r;
	}
	n->xp = net_transport(n->udp);
	n->listen_port = n->xp->local.port;
	log_info("Listening on %s", addr_format(&n->xp->local, as));
	return 0;
}

/* Test-only interval overrides from the environment (node.h); 0 = not set. */
static unsigned test_interval(const char *var, const char *what)
{
	const char *s = getenv(var);
	char *end;

	if (!s || !*s)
		return 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v < 1 || v > 3600) {
		log_warn("ignoring %s=%s (test-only; 1..3600 seconds)", var, s);
		return 0;
	}
	log_warn("Test mode: %s every %lu s (%s)", what, v, var);
	return (unsigned)v;
}

int node_new(const struct config *cfg, struct node **out)
{
	struct config_listen listen;
	struct config_error why;
	struct node *n;
	int r;

	*out = NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->cfg = cfg;
	n->dev.src.fd = -1;
	n->stats_fd = -1;
	n->loop.epfd = n->loop.timer.fd = n->loop.signal.fd = -1;
	clock_update(n);
	n->start = n->now;
	n->rotate_cycle = test_interval(NODE_ENV_TEST_ROTATE, "key rotation");
	n->stats_interval = test_interval(NODE_ENV_TEST_STATS, "statistics");
	if (!n->stats_interval)
		n->stats_interval = STATS_INTERVAL;

	r = loop_init(&n->loop, 0);
	if (r < 0) {
		log_err("cannot set up the event loop: %s", strerror(-r));
		goto fail;
	}
	r = config_parse_listen(cfg->listen ? cfg->listen : CONFIG_DEFAULT_LISTEN,
				ADDR_DEFAULT_PORT, &listen, &why);
	if (r < 0) {
		log_err("listen: %s", why.msg);
		goto fail;
	}
	r = setup_transport(n, &listen);
	if (r < 0)
		goto fail;

	r = hooks_new(cfg->hook, cfg->hooks, &n->hooks);
	if (r < 0)
		goto fail;
	r = setup_device(n);
	if (r < 0)
		goto fail;
	n->kind = n->dev.type == DEVICE_TAP ? PAYLOAD_ETH : PAYLOAD_IP;
	r = stats_init(&n->stats);
	if (r < 0)
		goto fail;
	if (cfg->stats_file) {
		/* like VpnCloud: a fresh file at start, kept open (still writable as --user) */
		n->stats_fd = stats_open_file(cfg->stats_file);
		if (n->stats_fd < 0) {
			r = n->stats_fd;
			log_err("cannot create the stats file %s: %s", cfg->stats_file, strerror(-r));
			goto fail;
		}
	}
	r = setup_crypto(n);
	if (r < 0)
		goto fail;
	r = setup_claims(n);
	if (r < 0)
		goto fail;
	r = hub_open(n);
	if (r < 0)
		goto fail;
	r = control_open(n);
	if (r < 0)
		goto fail;
	r = control_metrics_open(n);
	if (r < 0)
		goto fail;
	static const enum table_mode modes[] = {
		[CONFIG_MODE_NORMAL] = TABLE_MODE_NORMAL,
		[CONFIG_MODE_ROUTER] = TABLE_MODE_ROUTER,
		[CONFIG_MODE_SWITCH] = TABLE_MODE_SWITCH,
		[CONFIG_MODE_FLOOD] = TABLE_MODE_FLOOD,
	};
	n->table_flags = table_mode_flags(modes[cfg->mode], n->kind);
	r = table_init(&n->table, n->table_flags, cfg->switch_timeout, NODE_TABLE_CAPACITY);
	if (r < 0)
		goto fail;
	r = setup_buffers(n);
	if (r < 0)
		goto fail;
	r = resolver_new(&n->resolver);
	if (r < 0)
		goto fail;
	resolver_src(n->resolver)->kind = NODE_SRC_RESOLVER;
	if ((r = loop_add(&n->loop, &n->dev.src, EPOLLIN)) < 0 ||
	    (r = transport_attach(n->xp, &n->loop, NODE_SRC_TRANSPORT)) < 0 ||
	    (r = loop_add(&n->loop, resolver_src(n->resolver), EPOLLIN)) < 0) {
		log_err("cannot register with epoll: %s", strerror(-r));
		goto fail;
	}
	if (cfg->beacon_store || cfg->beacon_load) {
		r = beaconio_new(0, &n->beaconio);
		if (r == 0) {
			beaconio_src(n->beaconio)->kind = NODE_SRC_BEACON;
			r = loop_add(&n->loop, beaconio_src(n->beaconio), EPOLLIN);
		}
		if (r < 0) {
			log_err("cannot start the beacon worker: %s", strerror(-r));
			goto fail;
		}
		n->next_beacon = n->now;
	}
	if (cfg->port_forwarding && !listen.ws)
		own_portfwd_start(n, 2 * test_interval(NODE_ENV_TEST_UPNP, "UPnP lease renewal"));
	own_rebuild_addrs(n);
	n->next_stats = n->now + n->stats_interval;
	n->next_nodeinfo = n->now;
	reconnect_init(n);
	*out = n;
	return 0;
fail:
	node_free(n);
	return r < 0 ? r : -EINVAL;
}

/* ---- the loop ---- */

/* An I/O error on the device or transport: logged; errors that will not go away stop it. */
static void io_error(struct node *n, const char *what, int err)
{
	switch (-err) {
	case EBADFD: /* the TUN/TAP device was deleted */
	case EBADF:
	case EIO:
	case ENODEV:
	case ENXIO:
	case ENOTSOCK:
		log_err("%s failed: %s; stopping", what, strerror(-err));
		n->exit_status = err;
		n->stopping = true;
		break;
	default:
		log_rl(LOG_WARN, "%s failed: %s", what, strerror(-err));
	}
}

/* What the transport says about an event on one of its sources, or about its tick. */
static void transport_report(struct node *n, int ev)
{
	char as[ADDR_STRLEN];

	if (ev < 0) {
		io_error(n, "the transport", ev);
		return;
	}
	if (ev & TRANSPORT_EV_DOWN)
		log_warn("%s transport down; reconnecting", n->xp->name);
	if (ev & TRANSPORT_EV_LOCAL) {
		n->listen_port = n->xp->local.port;
		own_rebuild_addrs(n);
		n->next_nodeinfo = n->now; /* tell the peers now */
	}
	if (ev & TRANSPORT_EV_UP) {
		log_info("%s transport up: %s", n->xp->name, addr_format(&n->xp->local, as));
		/* peers know us by the old address, if any: new sessions, and connect now */
		size_t it = 0;
		for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it))
			peer_rehandshake(n, p, "the transport reconnected");
		reconnect_kick(n);
	}
	if (ev & TRANSPORT_EV_RX) {
		int r = forward_net_readable(n);
		if (r < 0)
			io_error(n, "receiving from the transport", r);
	}
}

static void handle_signals(struct node *n)
{
	int sigs[8];
	int k = loop_signal_read(&n->loop, sigs, (int)ARRAY_SIZE(sigs));

	for (int i = 0; i < k; i++) {
		switch (sigs[i]) {
		case SIGINT:
		case SIGTERM:
		case SIGQUIT:
			if (!n->stopping)
				log_info("Received signal %d, shutting down", sigs[i]);
			n->stopping = true;
			break;
		case SIGCHLD:
			hooks_reap(n->hooks);
			break;
		case SIGUSR1:
			/* the stats file now, with the counters of the period so far */
			if (n->cfg->stats_file)
				write_stats(n, false);
			break;
		default:
			log_debug("ignoring signal %d", sigs[i]);
		}
	}
}

int node_run(struct node *n)
{
	struct loop_event ev[LOOP_MAX_EVENTS];
	int r;

	log_info("Node %s running", n->dev.ifname);
	peers_hook(n, CONFIG_HOOK_VPN_STARTED, NULL, NULL);
	while (!n->stopping) {
		int k = loop_wait(&n->loop, ev, LOOP_MAX_EVENTS, -1);
		if (k < 0) {
			if (k == -EINTR)
				continue;
			log_err("epoll_wait failed: %s", strerror(-k));
			n->exit_status = k;
			break;
		}
		clock_update(n);
		unsigned gen = n->loop.generation;
		/* a source removed by a handler ends the batch (the rest may point at it) */
		for (int i = 0; i < k && gen == n->loop.generation; i++) {
			switch (ev[i].src->kind) {
			case LOOP_KIND_TIMER:
				if (loop_timer_ack(&n->loop))
					node_tick(n);
				break;
			case LOOP_KIND_SIGNAL:
				handle_signals(n);
				break;
			case NODE_SRC_DEVICE:
				r = ev[i].events & (EPOLLERR | EPOLLHUP) ? -EBADFD
									  : forward_device_readable(n);
				if (r < 0)
					io_error(n, "reading from the device", r);
				break;
			case NODE_SRC_TRANSPORT:
				transport_report(n, transport_event(n->xp, ev[i].src, ev[i].events));
				break;
			case NODE_SRC_RESOLVER:
				handle_resolved(n);
				break;
			case NODE_SRC_PORTFWD:
				own_portfwd_events(n);
				break;
			case NODE_SRC_BEACON:
				exchange_beacon_results(n);
				break;
			case NODE_SRC_MGMT:
				mgmt_handle(n->mgmt, ev[i].src, ev[i].events);
				break;
			case NODE_SRC_METRICS:
				metrics_run(n->metrics);
				break;
			}
		}
		control_events(n);
	}

	/* orderly shutdown (PROTOCOL.md 5.10) */
	(void)daemon_notify("STOPPING=1");
	peers_hook(n, CONFIG_HOOK_VPN_SHUTDOWN, NULL, NULL);
	size_t it = 0;
	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it))
		peer_remove(n, p, true, "shutting down");
	if (n->cfg->ifdown) {
		r = device_run_cmd(n->cfg->ifdown, n->dev.ifname);
		if (r != 0)
			log_warn("ifdown command failed with status %d", r);
	}
	own_portfwd_stop(n);
	hooks_drain(n->hooks, NODE_HOOK_DRAIN_MS);
	return n->exit_status;
}

void node_free(struct node *n)
{
	if (!n)
		return;
	control_close(n);
	control_metrics_close(n);
	peers_free(n);
	hub_close(n);
	resolver_free(n->resolver);
	portfwd_free(n->portfwd);
	if (n->beaconio)
		loop_del(&n->loop, beaconio_src(n->beaconio));
	beaconio_free(n->beaconio);
	transport_free(n->xp);
	if (n->dev.src.fd >= 0)
		device_close(&n->dev);
	loop_close(&n->loop);
	table_free(&n->table);
	stats_free(&n->stats);
	if (n->stats_fd >= 0)
		close(n->stats_fd);
	hooks_free(n->hooks);
	session_ctx_free(n->sctx);
	keys_identity_free(n->ident);
	free(n->claims);
	free(n->pool);
	free(n->nodeinfo_buf);
	free(n->hs_nodeinfo_buf);
	free(n->ni_scratch);
	free(n->ni_build);
	free(n);
}

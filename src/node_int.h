/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * node_int.h - the node's private state, shared by the files of the node. They call each
 * other in one direction only (no cycles):
 *
 *   node.c      start-up, the loop, the one-second tick, statistics, shutdown
 *    control.c   the management API's commands and events, /metrics
 *     forward.c   the data path: device and transport batches, dispatch of messages
 *      hub.c       the hub role: registry, admission, client policy, client operations
 *       exchange.c  NodeInfo sent and received, peer exchange, beacons
 *         peers.c     peer and pending tables, connecting, reconnect back-off, hooks
 *           own.c       own addresses, the handshake NodeInfo, UPnP
 *             send.c      the one transmit path, over the transport (transport.h)
 *
 * Nothing outside these files includes it.
 */
#ifndef MESHVPN_NODE_INT_H
#define MESHVPN_NODE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "meshvpn/addr.h"
#include "meshvpn/acl.h"
#include "meshvpn/algo.h"
#include "meshvpn/beaconio.h"
#include "meshvpn/bytes.h"
#include "meshvpn/config.h"
#include "meshvpn/device.h"
#include "meshvpn/hooks.h"
#include "meshvpn/keys.h"
#include "meshvpn/loop.h"
#include "meshvpn/net.h"
#include "meshvpn/node.h"
#include "meshvpn/nodeinfo.h"
#include "meshvpn/offload.h"
#include "meshvpn/payload.h"
#include "meshvpn/portfwd.h"
#include "meshvpn/ratelimit.h"
#include "meshvpn/registry.h"
#include "meshvpn/resolve.h"
#include "meshvpn/hsguard.h"
#include "meshvpn/session.h"
#include "meshvpn/stats.h"
#include "meshvpn/table.h"
#include "meshvpn/telemetry.h"
#include "meshvpn/transport.h"

#define NODE_ID_LEN 16
#define NODE_BATCH  TRANSPORT_BATCH /* packets per device read and transport receive */
#define NODE_SPARES TRANSPORT_BATCH /* spare buffers between two flushes */
#define NODE_HEADROOM (SESSION_HEADROOM + 1) /* the frame header and the inner type byte */
#define NODE_MAX_PACKET (40 + 65535)	     /* largest IPv6 packet a TUN read can return */
/* a device read: headroom, virtio header, packet, AEAD tag; a datagram fits as well */
#define NODE_BUF_SIZE (NODE_HEADROOM + DEVICE_VNET_HDR_LEN + NODE_MAX_PACKET + SESSION_TAILROOM)
_Static_assert(NODE_BUF_SIZE >= SESSION_HEADROOM + SESSION_BUF_SIZE, "session buffer size");
#define NODE_BUF_SIZE_ALIGNED ((NODE_BUF_SIZE + 63) & ~(size_t)63)
#define NODE_HASH_BUCKETS 1024
#define NODE_DEVQ 512 /* received packets waiting for the device write at the end of a round */
#define NODE_MAX_INITIATORS 512  /* our own handshakes in progress */
#define NODE_MAX_RESPONDERS 512  /* handshakes others started with us, in progress */
/*
 * Work for handshakes from new addresses, per one-second tick. A PONG costs a signature
 * check, a key pair and a signature (~150 us), a whole responder handshake ~350 us of one core
 * (tests/bench/scale.sh: ~2,800/s): 2048 PONGs/s let trusted peers in at the rate one core
 * completes them, and cap what replayed PINGs can take at about a third of a core (the
 * responder table, NODE_MAX_RESPONDERS, caps them sooner). An init message with an untrusted
 * key costs microseconds (its key hash is compared before any signature check); 4096 checks
 * bound the signature checks of forged ones to a quarter of a core.
 */
#define NODE_NEW_RESPONDERS_PER_TICK 2048 /* PONGs to new addresses per second */
#define NODE_INIT_CHECKS_PER_TICK 4096	  /* handshake messages from new addresses examined */
#define NODE_ADDR_RESET_SECS 300   /* own address list rebuilt (PROTOCOL.md 5.8) */
#define NODE_RESOLVE_SECS 300	   /* configured peer names resolved again */
#define NODE_STATS_SECS 60
#define NODE_RECONNECT_MAX_INTERVAL 3600
#define NODE_PASSIVE_KEEPALIVE 10 /* answer DATA with a KEEPALIVE after this long silent */
#define NODE_PROBE_SECS 5	  /* round-trip probes to every peer (KEEPALIVE extension) */
#define NODE_REKEY_SILENCE 15	  /* re-handshake a keepalive peer silent this long */
#define NODE_MAX_LOCAL_IPS 64	   /* interface addresses checked against self-connections */
#define EXCHANGE_BEACON_ADDRS 64   /* addresses taken from one beacon load */

/* Tags of resolver requests: kind in the high 32 bits, an index in the low ones. */
#define RESOLVE_KIND_RECONNECT 1
#define RESOLVE_KIND_STATSD 2
#define RESOLVE_KIND_ADVERTISE 3
#define RESOLVE_TAG(kind, idx) ((uint64_t)(kind) << 32 | (uint64_t)(idx))
#define RESOLVE_TAG_KIND(t) ((unsigned)((t) >> 32))

enum node_src_kind {
	NODE_SRC_DEVICE = LOOP_KIND_USER,
	NODE_SRC_TRANSPORT,
	NODE_SRC_RESOLVER,
	NODE_SRC_PORTFWD,
	NODE_SRC_BEACON,
	NODE_SRC_MGMT,
	NODE_SRC_METRICS,
};

/* Finished handshakes by result (metrics). */
enum node_hs_result { NODE_HS_OK, NODE_HS_FAILED, NODE_HS_TIMEOUT, NODE_HS_COUNT };

/* Why the hub dropped a client's packet (counted per client). */
enum hub_drop {
	HUB_DROP_RATE_IN,	   /* over its rate limit, towards the hub */
	HUB_DROP_RATE_OUT,	   /* over its rate limit, towards the client */
	HUB_DROP_DEST_BLOCKED,	   /* destination in destination-block */
	HUB_DROP_DEST_NOT_ALLOWED, /* destination not in destination-allow */
	HUB_DROP_SPOOFED,	   /* source address not the client's */
	HUB_DROP_COUNT
};

/* Why the hub refused a connection (counted hub-wide). */
enum hub_refuse {
	HUB_REFUSE_CONNECTION_BLOCK, /* hub.connection-block, before any crypto */
	HUB_REFUSE_SOURCE_BLOCKED,
	HUB_REFUSE_SOURCE_NOT_ALLOWED,
	HUB_REFUSE_DISABLED,
	HUB_REFUSE_EXPIRED,
	HUB_REFUSE_COUNT
};

enum hub_transport { HUB_TRANSPORT_UDP, HUB_TRANSPORT_WEBSOCKET, HUB_TRANSPORT_COUNT };

/* A registry client's runtime state (policies compiled, buckets, counters). */
struct hub_client {
	char id[REGISTRY_ID_MAX + 1];
	uint8_t key[KEYS_PUB_LEN]; /* the key its sessions were admitted with */
	uint8_t ip[4];
	struct acl_policy source, destination;
	struct ratelimit in, out; /* changed live by an update */
	uint32_t max_connections; /* 0 = no limit; a newer session replaces the oldest */
	unsigned connections;	  /* peers admitted as this client now */
	uint64_t connections_total;
	uint64_t drops[HUB_DROP_COUNT];
};

struct hub {
	struct registry *reg;
	char *path; /* the registry file */
	struct acl_list connection_block;
	struct ratelimit_conf default_rate; /* for clients without their own */
	struct hub_client **clients;	    /* one per registry entry */
	size_t n_clients;
	time_t next_expiry; /* earliest expiry of a trusted client (0: none) */
	uint64_t refused[HUB_REFUSE_COUNT];
	uint64_t replaced; /* sessions ended for a newer one of the client (max-connections) */
	uint64_t connections_total[HUB_TRANSPORT_COUNT];
};

/* Peer lifecycle events for the management API (node.c publishes them). */
enum node_event_kind {
	NODE_EVENT_PEER_UP,
	NODE_EVENT_PEER_DOWN,
	NODE_EVENT_CLIENT_CONNECTED,
	NODE_EVENT_CLIENT_DISCONNECTED,
};
#define NODE_EVENTS 256 /* queued between two loop turns; more are dropped */
struct node_event {
	enum node_event_kind kind;
	struct addr addr;
	char client[REGISTRY_ID_MAX + 1]; /* "" for peers that are no client */
	char reason[64];
	time_t time;
};

/* An established peer (PROTOCOL.md 5.3), keyed by the address it is connected on. */
struct peer {
	uint32_t id;		      /* forwarding-table id: slot index + 1 */
	struct addr addr;	      /* address the session runs on */
	struct session *sess;
	bool has_node_id;
	uint8_t node_id[NODE_ID_LEN];
	struct nodeinfo_addrs addrs;  /* addr, then the addresses it advertised */
	uint16_t peer_timeout;	      /* advertised by the peer (default 300) */
	int64_t timeout;	      /* dropped when now passes this (own peer timeout) */
	struct range *claims;	      /* last claims it sent (for logs, hooks and stats) */
	size_t n_claims;
	struct stats_traffic traffic; /* protocol traffic with this peer */
	int64_t last_rx;	      /* last authenticated message from the peer */
	int64_t last_tx;	      /* last message we sent it */
	int64_t last_data_tx;	      /* last DATA we sent it */
	int64_t last_rehandshake;     /* last liveness re-handshake we started */
	bool sends_keepalive;	      /* it sends KEEPALIVE (a meshvpn node, not VpnCloud 2.3) */
	bool incoming;		      /* it started the handshake */
	bool addr_announced;	      /* addr is one the peer announces as its own (not NAT) */
	int64_t established;	      /* monotonic seconds of the last completed handshake */
	int64_t since;		      /* wall-clock seconds it became a peer */
	struct telemetry tel;	      /* round trips of our probes */
	uint32_t probe_seq;
	int64_t next_probe;	      /* monotonic seconds */
	bool echoes;		      /* it answers probes (a meshvpn node) */
	bool via_proxy;		      /* its NodeInfo says it sends through a WebSocket proxy */
	struct hub_client *client;    /* the hub's client it was admitted as, or NULL */
	unsigned key_installs;	      /* last seen session_key_installs(), for the log */
	struct peer *hnext;	      /* hash chain */
};

/* A handshake in progress with an address (PROTOCOL.md 1.10 "pending"). */
struct pending {
	struct addr addr;
	struct session *sess;
	bool responder; /* started by the other side */
	struct stats_traffic traffic;
	struct pending *hnext;
};

/* A configured peer: reconnected with back-off for ever (PROTOCOL.md 5.5). */
struct reconnect {
	char *text;			  /* as configured */
	struct addr addrs[8];		  /* resolved */
	int n_addrs;
	unsigned tries;
	uint32_t interval;
	int64_t next;
	int64_t next_resolve;
	bool resolving;
};

struct node {
	const struct config *cfg;
	int64_t now;	      /* monotonic seconds, refreshed once per loop wake-up */
	int64_t now_ns;	      /* the same instant in nanoseconds */
	int64_t start;
	bool stopping;

	struct loop loop;
	struct device dev;
	struct net *udp;	  /* the UDP socket, when it is the transport (else NULL) */
	struct transport *xp;	  /* what carries the datagrams */
	struct resolver *resolver;
	struct portfwd *portfwd; /* UPnP worker (NULL: off or not started) */
	struct beaconio *beaconio; /* beacon files and commands (NULL: no beacons) */
	struct hub *hub;	   /* the hub role (NULL: not a hub) */
	struct mgmt *mgmt;	   /* the management socket (NULL: none) */
	struct metrics *metrics;   /* /metrics (NULL: off) */
	uint64_t handshakes[NODE_HS_COUNT];
	uint64_t rotations;	   /* keys installed by rotation, all peers */
	struct node_event events[NODE_EVENTS];
	unsigned events_n;
	uint64_t events_dropped;
	int64_t next_beacon;
	bool upnp_mapped;	 /* upnp_int/upnp_ext are own addresses (PROTOCOL.md 5.8) */
	struct addr upnp_int, upnp_ext;
	enum payload_kind kind;
	unsigned table_flags;
	struct table table;

	struct keys_identity *ident;
	struct session_ctx *sctx;
	uint8_t node_id[NODE_ID_LEN];
	struct range *claims; /* own: configured + auto-claim */
	size_t n_claims;
	struct nodeinfo_addrs own_addrs;
	struct addr local_ips[NODE_MAX_LOCAL_IPS]; /* interface addresses (port ignored) */
	size_t n_local_ips;
	uint16_t listen_port;
	struct algo_list algos;
	struct addr statsd;
	bool statsd_ok;

	/* peers by address (hash chains) and by id (slots) */
	struct peer *peer_hash[NODE_HASH_BUCKETS];
	struct peer **slots;
	size_t n_slots;
	size_t n_peers;
	struct pending *pending_hash[NODE_HASH_BUCKETS];
	size_t n_pending;
	size_t n_responders;	 /* of n_pending */
	unsigned new_responders; /* this tick */
	unsigned init_checks;	 /* this tick */
	struct hsguard hsguard;	 /* cheap filters in front of the two limits above */

	struct reconnect *reconnects;
	size_t n_reconnects;

	/* schedules */
	int64_t next_nodeinfo;
	int64_t next_own_addrs;
	int64_t next_stats;
	int64_t next_statsd_resolve;
	unsigned rotate_cycle;	 /* test-only override, 0 = default */
	unsigned stats_interval; /* 60 s, or the test-only override */

	/* buffers, all allocated once at start */
	uint8_t *pool;
	struct buf rxbufs[NODE_BATCH];
	struct buf devbufs[NODE_BATCH]; /* the same storage as rxbufs (setup_buffers) */
	struct buf spare[NODE_SPARES]; /* broadcast copies and trains */
	unsigned spare_used;
	struct buf ctl;		     /* one control message at a time */
	struct buf segbuf;	     /* one segment of a super-packet with no single destination */
	struct transport_rx rx;
	struct offload_pkt devq[NODE_DEVQ]; /* received DATA for the device, in order */
	unsigned devq_n;
	uint8_t *nodeinfo_buf;	     /* encoded own NodeInfo */
	uint8_t *hs_nodeinfo_buf;    /* own NodeInfo for handshakes (no peer list), cached */
	size_t hs_nodeinfo_len;	     /* 0: rebuild */
	struct nodeinfo *ni_scratch; /* decode target for received NodeInfo (large) */
	struct nodeinfo *ni_build;   /* own NodeInfo being encoded */

	struct stats stats;
	uint64_t unparsable_frames;  /* from the device */
	uint64_t device_write_errors;
	uint64_t beacons_loaded;     /* valid beacons read */
	uint64_t beacons_invalid;    /* loads without a valid beacon, and invalid candidates */
	int exit_status;	     /* node_run's result once stopping */
	int stats_fd;	      /* the stats file, kept open (-1: none) */
	struct hooks *hooks;
};

/* node.c: nothing; it calls the others. */

/* control.c: the management API and /metrics (the top, beside node.c) */
/* Opens the socket (default path: a failure there is only a warning). 0 or -errno. */
int control_open(struct node *n) WUR;
void control_close(struct node *n);
/* Publishes the queued lifecycle events to subscribers, then forgets them. */
void control_events(struct node *n);
int control_metrics_open(struct node *n) WUR;
void control_metrics_close(struct node *n);

/* hub.c: the hub role */
/* At start: the registry, policies and trusted keys (nothing when not a hub). 0 or -errno. */
int hub_open(struct node *n) WUR;
void hub_close(struct node *n);
/* hub.connection-block: drop before any crypto (counted). */
bool hub_source_blocked(struct node *n, const struct addr *src);
/* After the handshake: a registry client's admission; false: p was refused and removed. */
bool hub_admit(struct node *n, struct peer *p);
/* A DATA packet from client peer p: false = dropped (counted per client and reason). */
bool hub_inbound(struct node *n, struct peer *p, const struct vaddr *src,
		 const struct vaddr *dst, size_t len);
void hub_tick(struct node *n);
struct hub_client *hub_client_find(struct node *n, const char *id);
const char *hub_drop_name(enum hub_drop d);
const char *hub_refuse_name(enum hub_refuse r);
/* The burst of a client's limit given without one: a second's worth of its rate. */
uint64_t hub_default_burst(uint64_t rate);
/* "RATE[:BURST]" (ratelimit.h suffixes). 0 or -EINVAL with why set. */
int hub_rate_parse(const char *text, struct ratelimit_conf *out, char *why, size_t len);
/* Registry operations (management API); errors as registry.h, err says what. */
int hub_create(struct node *n, const char *id, const struct registry_change *c,
	       const struct registry_entry **out, char **bundle, char priv[static KEYS_B62_KEYBUF],
	       struct config_error *err) WUR;
int hub_rotate(struct node *n, const char *id, const struct registry_entry **out, char **bundle,
	       char priv[static KEYS_B62_KEYBUF], struct config_error *err) WUR;
int hub_export(struct node *n, const char *id, char **bundle, struct config_error *err) WUR;
int hub_update(struct node *n, const char *id, const struct registry_change *c,
	       const struct registry_entry **out, struct config_error *err) WUR;
int hub_set_enabled(struct node *n, const char *id, bool on, const struct registry_entry **out,
		    struct config_error *err) WUR;
int hub_remove(struct node *n, const char *id, struct config_error *err) WUR;
/* Ends the client's sessions: their count, or -ENOENT. */
int hub_disconnect(struct node *n, const char *id, struct config_error *err) WUR;

/* forward.c: the data path. 0 or the -errno of the device / transport for the loop. */
int forward_device_readable(struct node *n) WUR;
int forward_net_readable(struct node *n) WUR;

/* exchange.c: NodeInfo sent and received, peer exchange (PROTOCOL.md 4.5, 5.6) */
void exchange_nodeinfo(struct node *n, struct peer *p, const uint8_t *data, size_t len);
/* A handshake completed; ni (the peer's NodeInfo) is owned by p->sess. */
void exchange_established(struct node *n, struct peer *p, const uint8_t *ni, size_t len);
void exchange_send_nodeinfo(struct node *n, struct peer *p);
void exchange_broadcast(struct node *n);
/* Stores and/or loads beacons now (beacon interval); results come back to the next call. */
void exchange_beacons(struct node *n);
void exchange_beacon_results(struct node *n);
/* session_params.payload_ok: the handshake NodeInfo must decode. */
bool exchange_payload_ok(const uint8_t *payload, size_t len, void *arg);

/* peers.c */
struct peer *peer_find(struct node *n, const struct addr *a);
struct peer *peer_by_id(struct node *n, uint32_t id);
struct pending *pending_find(struct node *n, const struct addr *a);
/* Moves an established session into the peer table (replacing a peer on that address). */
struct peer *peer_add(struct node *n, const struct addr *a, struct session *sess);
/* Removes a peer: table entries, claims; sends CLOSE first when close is true. */
void peer_remove(struct node *n, struct peer *p, bool close, const char *why);
int pending_add(struct node *n, const struct addr *a, struct session *sess, bool responder,
		struct pending **out);
void pending_remove(struct node *n, struct pending *pd);
/* True when a is an own address, an established peer or pending (PROTOCOL.md 5.4). */
bool peer_addr_known(struct node *n, const struct addr *a);
/* "Connect to one address": a new handshake unless a is own/peer/pending. */
void peer_connect(struct node *n, const struct addr *a);
/* A new handshake with an established peer (keeps the old session); why is logged. */
void peer_rehandshake(struct node *n, struct peer *p, const char *why);
/* "Connect to address list": nothing if any is known, else a PING to every address. */
void peer_connect_list(struct node *n, const struct addr *list, size_t count);
void reconnect_init(struct node *n);
void reconnect_tick(struct node *n);
/* Connects to every configured peer now, with a fresh back-off (the transport came up). */
void reconnect_kick(struct node *n);
void reconnect_resolved(struct node *n, size_t idx, const struct addr *addrs, int count);
void peers_free(struct node *n);
/* Iteration: size_t it = 0; for (p = peer_next(n, &it); p; p = peer_next(n, &it)) */
struct peer *peer_next(struct node *n, size_t *it);
/* How traffic to p flows, for listings. */
enum peer_path {
	PEER_PATH_DIRECT,	/* to an address the peer announces as its own */
	PEER_PATH_HOLE_PUNCHED, /* to the peer's NAT mapping (learnt from the traffic) */
	PEER_PATH_UPNP,		/* the peer came in through our UPnP port mapping */
	PEER_PATH_WEBSOCKET,	/* everything goes through our WebSocket proxy */
};
/* p's path; why (may be NULL) gets the reason when it is not direct. */
enum peer_path peer_path(struct node *n, const struct peer *p, char *why, size_t len);
const char *peer_path_name(enum peer_path path);
/* The transport p's traffic crosses: a WebSocket proxy on our side or on the peer's. */
static inline bool peer_over_websocket(const struct node *n, const struct peer *p)
{
	return n->udp == NULL || p->via_proxy;
}
/* Queues a lifecycle event for the management API (reason may be NULL). */
void peers_event(struct node *n, enum node_event_kind kind, const struct peer *p,
		 const char *reason);
/* Fires a hook (CONFIG.md 8.1); peer: PEER, p: CLAIMS/NODE_ID (see struct hooks_vars). */
void peers_hook(struct node *n, enum config_hook_event ev, const struct addr *peer,
		const struct peer *p);

/* own.c: own addresses (PROTOCOL.md 5.8), the own NodeInfo, UPnP (9) */
bool own_is_addr(struct node *n, const struct addr *a);
void own_add_addr(struct node *n, const struct addr *a, bool v4_wire);
void own_rebuild_addrs(struct node *n);
/* The own NodeInfo without its peer list (the caller adds that). */
void own_nodeinfo(struct node *n, struct nodeinfo *ni);
/* Encodes a NodeInfo into out (NODEINFO_MAX_ENCODED_LEN bytes); returns the length. */
size_t own_nodeinfo_encode(const struct nodeinfo *ni, uint8_t *out);
/* The cached NodeInfo for handshake payloads (without the peer list). */
const uint8_t *own_handshake_nodeinfo(struct node *n, size_t *len);
/*
 * UPnP (PROTOCOL.md 9): starts the worker for a UDP socket (IPv4 only; lease 0 = default,
 * failures are logged, not fatal); takes its reports (own addresses, log); removes the mapping
 * at shutdown, waiting at most PORTFWD_STOP_MS for the gateway.
 */
void own_portfwd_start(struct node *n, uint32_t lease);
void own_portfwd_events(struct node *n);
void own_portfwd_stop(struct node *n);

/* send.c: the one transmit path */
/* Encrypts DATA in b (payload with NODE_HEADROOM; consumed: borrowed until the flush). */
void send_data(struct node *n, struct peer *p, struct buf *b);
/* DATA for p from the segments of a super-packet (see send.c). */
void send_gso(struct node *n, struct peer *p, struct offload_seg *seg, const struct vaddr *src,
	      const struct vaddr *dst);
/* A spare buffer holding a copy of b, valid until the next flush. */
struct buf *send_spare_copy(struct node *n, const struct buf *b);
/* Encrypts the control message in n->ctl for p and sends it at once. */
void send_ctl(struct node *n, struct peer *p);
/* Sends an empty KEEPALIVE to p. */
void send_keepalive(struct node *n, struct peer *p);
/* Sends a KEEPALIVE carrying a round-trip probe or its echo (FRAME_KEEPALIVE_*). */
void send_probe(struct node *n, struct peer *p, uint8_t kind, uint32_t seq);
/* Sends a datagram that is already framed (handshake) to a, counted in t (may be NULL). */
void send_raw(struct node *n, const struct buf *b, const struct addr *a, struct stats_traffic *t);
/* Sends bytes that are not the VPN's (statsd) to a. 0 or -errno. */
int send_datagram(struct node *n, const uint8_t *data, size_t len, const struct addr *a);
/* Sends everything queued; the spare buffers are free again. */
void send_flush(struct node *n);

#endif

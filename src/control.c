// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * control.c - the node's side of the management API (HUB.md): the commands every node
 * answers (status, peers, stats), the hub's client commands, and the lifecycle events
 * (peer-up/-down, client-connected/-disconnected) published to subscribers. mgmt.c owns the
 * socket and the framing; this file turns node state into JSON and requests into calls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "meshvpn/log.h"
#include "meshvpn/metrics.h"
#include "meshvpn/mgmt.h"
#include "node_int.h"

#define ARGS_ONLY(req, obj, err, ...)                                                              \
	do {                                                                                       \
		static const char *const names_[] = {__VA_ARGS__, NULL};                           \
		if (mgmt_args_only(req, obj, names_, err) < 0)                                     \
			return NULL;                                                               \
	} while (0)

static json_t *time_json(time_t t)
{
	char buf[REGISTRY_TIME_LEN];

	return registry_time_format(t, buf) == 0 ? json_string(buf) : json_null();
}

static json_t *addr_json(const struct addr *a)
{
	char as[ADDR_STRLEN];
	return json_string(addr_format(a, as));
}

static json_t *ms_json(bool has, int64_t ns)
{
	return has ? json_real((double)ns / 1e6) : json_null();
}

static json_t *strlist_json(const struct registry_strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

static json_t *claims_json(const struct range *claims, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		char rs[VADDR_STRLEN + 4];
		json_array_append_new(a, json_string(range_format(&claims[i], rs)));
	}
	return a;
}

/* Maps a registry/hub error to the protocol's codes (registry.h). */
static json_t *fail_errno(struct mgmt_error *err, int r, const struct config_error *why)
{
	enum mgmt_code code = r == -EINVAL	  ? MGMT_ERR_INVALID
			      : r == -EEXIST	  ? MGMT_ERR_EXISTS
			      : r == -ENOENT	  ? MGMT_ERR_NOT_FOUND
			      : r == -ENOSPC	  ? MGMT_ERR_EXHAUSTED
						  : MGMT_ERR_INTERNAL;
	return mgmt_fail(err, code, "%s", why->msg[0] ? why->msg : strerror(-r));
}

/* ---- every node: status, peers, stats ---- */

static json_t *cmd_status(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
			  struct mgmt_error *err)
{
	struct node *n = ctx;
	char key[KEYS_B62_KEYBUF];
	(void)c;

	ARGS_ONLY(req, NULL, err, "");
	return json_pack("{s:s, s:s, s:I, s:b, s:s, s:o, s:s, s:b, s:I, s:o, s:o}", "version",
			 MESHVPN_VERSION, "public-key", keys_encode(key, n->ident->pub), "uptime",
			 (json_int_t)(n->now - n->start), "hub", n->hub != NULL, "device",
			 n->dev.ifname, "listen", addr_json(&n->xp->local), "transport",
			 n->udp ? "udp" : "websocket", "transport-up", n->xp->up, "peers",
			 (json_int_t)n->n_peers, "claims", claims_json(n->claims, n->n_claims),
			 "name", n->cfg->name ? json_string(n->cfg->name) : json_null());
}

static json_t *peer_json(struct node *n, const struct peer *p)
{
	struct telemetry_stats ts;
	char why[128], id[2 * NODE_ID_LEN + 1];
	enum peer_path path = peer_path(n, p, why, sizeof(why));

	telemetry_get(&p->tel, &ts);
	sodium_bin2hex(id, sizeof(id), p->node_id, NODE_ID_LEN);
	return json_pack("{s:o, s:o, s:s, s:o, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:b}",
			 "address", addr_json(&p->addr), "node-id",
			 p->has_node_id ? json_string(id) : json_null(), "path", peer_path_name(path),
			 "path-reason", *why ? json_string(why) : json_null(), "algorithm",
			 session_algo_name(p->sess), "rtt-ms", ms_json(ts.has_rtt, ts.srtt_ns),
			 "rx-bytes", (json_int_t)p->traffic.in_total.bytes + p->traffic.in.bytes,
			 "tx-bytes", (json_int_t)p->traffic.out_total.bytes + p->traffic.out.bytes,
			 "rx-packets",
			 (json_int_t)p->traffic.in_total.packets + p->traffic.in.packets,
			 "tx-packets",
			 (json_int_t)p->traffic.out_total.packets + p->traffic.out.packets,
			 "last-handshake", (json_int_t)(n->now - p->established), "connected-since",
			 time_json((time_t)p->since), "client",
			 p->client ? json_string(p->client->id) : json_null(), "incoming",
			 p->incoming);
}

static json_t *cmd_peers(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
			 struct mgmt_error *err)
{
	struct node *n = ctx;
	json_t *a = json_array();
	size_t it = 0;
	(void)c;

	ARGS_ONLY(req, NULL, err, "");
	for (struct peer *p = peer_next(n, &it); p && a; p = peer_next(n, &it))
		json_array_append_new(a, peer_json(n, p));
	return json_pack("{s:o}", "peers", a);
}

static json_t *cmd_stats(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
			 struct mgmt_error *err)
{
	struct node *n = ctx;
	const struct transport_stats *t = &n->xp->stats;
	json_t *drops, *o;
	(void)c;

	ARGS_ONLY(req, NULL, err, "");
	drops = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "invalid-datagrams",
			  (json_int_t)(n->stats.invalid_dropped.in_total.packets +
				       n->stats.invalid_dropped.in.packets),
			  "no-destination",
			  (json_int_t)(n->stats.invalid_dropped.out_total.packets +
				       n->stats.invalid_dropped.out.packets),
			  "refused-handshakes", (json_int_t)n->stats.invalid[STATS_INV_HS_LIMITED],
			  "unparsable-frames", (json_int_t)n->unparsable_frames, "transport-rx",
			  (json_int_t)t->rx_dropped, "transport-tx", (json_int_t)t->tx_dropped,
			  "device-write-errors", (json_int_t)n->device_write_errors);
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I}", "peers",
		      (json_int_t)n->n_peers, "pending-handshakes", (json_int_t)n->n_pending,
		      "rx-bytes", (json_int_t)t->rx_bytes, "tx-bytes", (json_int_t)t->tx_bytes,
		      "rx-packets", (json_int_t)t->rx_packets, "tx-packets",
		      (json_int_t)t->tx_packets, "tx-errors", (json_int_t)t->tx_errors, "drops",
		      drops, "beacons-loaded", (json_int_t)n->beacons_loaded, "beacons-invalid",
		      (json_int_t)n->beacons_invalid);
	json_t *why = json_object();
	for (int i = 0; why && i < STATS_INV_COUNT; i++)
		json_object_set_new(why, stats_invalid_name(i),
				    json_integer((json_int_t)n->stats.invalid[i]));
	if (o)
		json_object_set_new(o, "invalid-reasons", why);
	else
		json_decref(why);
	if (o && n->hub) {
		struct hub *h = n->hub;
		unsigned active[HUB_TRANSPORT_COUNT] = {0};
		size_t it = 0;
		for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it))
			if (p->client)
				active[peer_over_websocket(n, p) ? HUB_TRANSPORT_WEBSOCKET
								  : HUB_TRANSPORT_UDP]++;
		json_t *refused = json_object();
		for (int i = 0; refused && i < HUB_REFUSE_COUNT; i++)
			json_object_set_new(refused, hub_refuse_name(i),
					    json_integer((json_int_t)h->refused[i]));
		json_object_set_new(o, "clients", json_integer((json_int_t)registry_count(h->reg)));
		json_object_set_new(o, "clients-active",
				    json_integer(active[HUB_TRANSPORT_UDP] +
						 active[HUB_TRANSPORT_WEBSOCKET]));
		json_object_set_new(o, "connections-total",
				    json_integer((json_int_t)(h->connections_total[0] +
							      h->connections_total[1])));
		json_object_set_new(
		    o, "by-transport",
		    json_pack("{s:{s:i, s:I}, s:{s:i, s:I}}", "udp", "active",
			      active[HUB_TRANSPORT_UDP], "total",
			      (json_int_t)h->connections_total[HUB_TRANSPORT_UDP], "websocket",
			      "active", active[HUB_TRANSPORT_WEBSOCKET], "total",
			      (json_int_t)h->connections_total[HUB_TRANSPORT_WEBSOCKET]));
		json_object_set_new(o, "refused", refused);
		json_object_set_new(o, "replaced", json_integer((json_int_t)h->replaced));
	}
	return o;
}

/* ---- the hub's client commands ---- */

static json_t *security_json(const struct registry_entry *e)
{
	json_t *s = json_pack("{s:o, s:o, s:o, s:o, s:I}", "source-allow",
			      strlist_json(&e->security.source_allow), "source-block",
			      strlist_json(&e->security.source_block), "destination-allow",
			      strlist_json(&e->security.destination_allow), "destination-block",
			      strlist_json(&e->security.destination_block), "max-connections",
			      (json_int_t)e->security.max_connections);
	if (s)
		json_object_set_new(s, "rate-limit",
				    (e->flags & REGISTRY_HAS_RATE_LIMIT)
					? json_pack("{s:I, s:I}", "rate", (json_int_t)e->security.rate,
						    "burst", (json_int_t)e->security.burst)
					: json_null());
	return s;
}

static json_t *entry_json(struct node *n, const struct registry_entry *e)
{
	char key[KEYS_B62_KEYBUF], ip[16];
	struct hub_client *c = hub_client_find(n, e->id);

	snprintf(ip, sizeof(ip), "%u.%u.%u.%u", e->ip[0], e->ip[1], e->ip[2], e->ip[3]);
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:i}", "id", e->id,
			 "public-key", keys_encode(key, e->public_key), "ip", ip, "enabled",
			 e->enabled, "expires",
			 (e->flags & REGISTRY_HAS_EXPIRES) ? time_json(e->expires) : json_null(),
			 "description", e->description, "server-tags", strlist_json(&e->server_tags),
			 "client-tags", strlist_json(&e->client_tags), "security", security_json(e),
			 "created", time_json(e->created), "updated", time_json(e->updated),
			 "connections", c ? (int)c->connections : 0);
}

static bool need_hub(struct node *n, struct mgmt_error *err)
{
	if (n->hub)
		return true;
	mgmt_fail(err, MGMT_ERR_NOT_HUB, "this node is not a hub (no hub: section)");
	return false;
}

/* Strings of a JSON array into a registry list (borrowed pointers; freed by the caller). */
static int strings(json_t *arr, struct registry_strlist *out)
{
	size_t i;
	json_t *v;

	out->n = 0;
	out->v = calloc(json_array_size(arr) + 1, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	json_array_foreach(arr, i, v) out->v[out->n++] = (char *)json_string_value(v);
	return 0;
}

struct change {
	struct registry_change c;
	char **lists[6];
};

static void change_free(struct change *ch)
{
	for (size_t i = 0; i < ARRAY_SIZE(ch->lists); i++)
		free(ch->lists[i]);
}

/* A list argument into dst with its REGISTRY_SET_* bit. */
static int list_arg(const struct mgmt_request *req, const char *name, uint32_t bit,
		    struct registry_strlist *dst, struct change *ch, int slot,
		    struct mgmt_error *err)
{
	json_t *arr;
	int r = mgmt_arg_strings(req, name, 0, &arr, err);

	if (r != MGMT_ARG_VALUE)
		return r < 0 ? r : 0;
	if (strings(arr, dst) < 0) {
		mgmt_fail(err, MGMT_ERR_INTERNAL, "out of memory");
		return -ENOMEM;
	}
	ch->lists[slot] = dst->v;
	ch->c.set |= bit;
	return 0;
}

/* The optional fields of create/update into ch (borrowed from req). 0 or -EINVAL. */
static int change_args(const struct mgmt_request *req, bool update, struct change *ch,
		       struct mgmt_error *err)
{
	struct registry_change *c = &ch->c;
	struct registry_security *s = &c->security;
	const char *text;
	json_t *rl;
	json_int_t v;
	int r;

	memset(ch, 0, sizeof(*ch));
	if ((r = mgmt_arg_string(req, "description", 0, &text, err)) < 0)
		return r;
	if (r == MGMT_ARG_VALUE) {
		c->description = text;
		c->set |= REGISTRY_SET_DESCRIPTION;
	}
	r = mgmt_arg_string(req, "expires", MGMT_ARG_NULLABLE, &text, err);
	if (r < 0)
		return r;
	if (r == MGMT_ARG_VALUE) {
		if (registry_time_parse(text, &c->expires) < 0) {
			mgmt_fail(err, MGMT_ERR_INVALID, "expires: '%s' is not an RFC 3339 time", text);
			return -EINVAL;
		}
		c->flags |= REGISTRY_HAS_EXPIRES;
		c->set |= REGISTRY_SET_EXPIRES;
	} else if (r == MGMT_ARG_NULL) {
		c->set |= REGISTRY_SET_EXPIRES; /* cleared */
	}
	if ((r = list_arg(req, "server-tags", REGISTRY_SET_SERVER_TAGS, &c->server_tags, ch, 0,
			  err)) < 0 ||
	    (update && (r = list_arg(req, "client-tags", REGISTRY_SET_CLIENT_TAGS, &c->client_tags,
				     ch, 1, err)) < 0) ||
	    (r = list_arg(req, "security.source-allow", REGISTRY_SET_SOURCE_ALLOW, &s->source_allow,
			  ch, 2, err)) < 0 ||
	    (r = list_arg(req, "security.source-block", REGISTRY_SET_SOURCE_BLOCK, &s->source_block,
			  ch, 3, err)) < 0 ||
	    (r = list_arg(req, "security.destination-allow", REGISTRY_SET_DESTINATION_ALLOW,
			  &s->destination_allow, ch, 4, err)) < 0 ||
	    (r = list_arg(req, "security.destination-block", REGISTRY_SET_DESTINATION_BLOCK,
			  &s->destination_block, ch, 5, err)) < 0)
		return r;
	r = mgmt_arg_int(req, "security.max-connections", 0, 0, 1000000, &v, err);
	if (r < 0)
		return r;
	if (r == MGMT_ARG_VALUE) {
		s->max_connections = (uint32_t)v;
		c->set |= REGISTRY_SET_MAX_CONNECTIONS;
	}
	r = mgmt_arg_object(req, "security.rate-limit", MGMT_ARG_NULLABLE, &rl, err);
	if (r < 0)
		return r;
	if (r == MGMT_ARG_NULL) {
		c->set |= REGISTRY_SET_RATE_LIMIT; /* back to the hub default */
	} else if (r == MGMT_ARG_VALUE) {
		static const char *const rl_names[] = {"rate", "burst", NULL};
		json_int_t rate, burst = 0;
		struct ratelimit_conf conf;
		struct ratelimit_error why;
		if (mgmt_args_only(req, "security.rate-limit", rl_names, err) < 0 ||
		    mgmt_arg_int(req, "security.rate-limit.rate", MGMT_ARG_REQUIRED, 1,
				 (json_int_t)RATELIMIT_MAX, &rate, err) < 0)
			return -EINVAL;
		r = mgmt_arg_int(req, "security.rate-limit.burst", 0, 1, (json_int_t)RATELIMIT_MAX,
				 &burst, err);
		if (r < 0)
			return r;
		conf.rate = (uint64_t)rate;
		conf.burst = r == MGMT_ARG_VALUE ? (uint64_t)burst : hub_default_burst(conf.rate);
		if (ratelimit_check(&conf, &why) < 0) {
			mgmt_fail(err, MGMT_ERR_INVALID, "security.rate-limit: %s", why.msg);
			return -EINVAL;
		}
		s->rate = conf.rate;
		s->burst = conf.burst;
		c->flags |= REGISTRY_HAS_RATE_LIMIT;
		c->set |= REGISTRY_SET_RATE_LIMIT;
	}
	return 0;
}

static const char *const change_names[] = {"id",	  "description", "expires", "server-tags",
					   "client-tags", "security",	 NULL};
static const char *const security_names[] = {
    "source-allow", "source-block", "destination-allow", "destination-block", "max-connections",
    "rate-limit",   NULL};

static json_t *with_bundle(struct node *n, const struct registry_entry *e, char *bundle,
			   char *priv)
{
	json_t *o = json_pack("{s:o, s:s, s:s}", "client", entry_json(n, e), "bundle", bundle,
			      "private-key", priv);

	registry_bundle_free(bundle);
	sodium_memzero(priv, KEYS_B62_KEYBUF);
	return o;
}

static json_t *cmd_create(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
			  struct mgmt_error *err)
{
	struct node *n = ctx;
	struct config_error why = {""};
	const struct registry_entry *e;
	struct change ch;
	char priv[KEYS_B62_KEYBUF], *bundle = NULL;
	const char *id;
	(void)cl;

	if (!need_hub(n, err) || mgmt_args_only(req, NULL, change_names, err) < 0 ||
	    mgmt_args_only(req, "security", security_names, err) < 0 ||
	    mgmt_arg_string(req, "id", MGMT_ARG_REQUIRED, &id, err) < 0)
		return NULL;
	if (change_args(req, false, &ch, err) < 0) {
		change_free(&ch);
		return NULL;
	}
	int r = hub_create(n, id, &ch.c, &e, &bundle, priv, &why);
	change_free(&ch);
	if (r < 0) {
		sodium_memzero(priv, sizeof(priv));
		registry_bundle_free(bundle);
		return fail_errno(err, r, &why);
	}
	return with_bundle(n, e, bundle, priv);
}

static json_t *cmd_rotate(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
			  struct mgmt_error *err)
{
	struct node *n = ctx;
	struct config_error why = {""};
	const struct registry_entry *e;
	char priv[KEYS_B62_KEYBUF], *bundle = NULL;
	const char *id;
	(void)cl;

	if (!need_hub(n, err))
		return NULL;
	ARGS_ONLY(req, NULL, err, "id");
	if (mgmt_arg_string(req, "id", MGMT_ARG_REQUIRED, &id, err) < 0)
		return NULL;
	int r = hub_rotate(n, id, &e, &bundle, priv, &why);
	if (r < 0) {
		sodium_memzero(priv, sizeof(priv));
		registry_bundle_free(bundle);
		return fail_errno(err, r, &why);
	}
	return with_bundle(n, e, bundle, priv);
}

/* The one required argument "id" of most commands. */
static const char *id_arg(struct node *n, const struct mgmt_request *req, struct mgmt_error *err)
{
	static const char *const names[] = {"id", NULL};
	const char *id = NULL;

	if (!need_hub(n, err) || mgmt_args_only(req, NULL, names, err) < 0 ||
	    mgmt_arg_string(req, "id", MGMT_ARG_REQUIRED, &id, err) < 0)
		return NULL;
	return id;
}

static json_t *cmd_get(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
		       struct mgmt_error *err)
{
	struct node *n = ctx;
	const char *id = id_arg(n, req, err);
	const struct registry_entry *e;
	(void)cl;

	if (!id)
		return NULL;
	if (!(e = registry_get(n->hub->reg, id)))
		return mgmt_fail(err, MGMT_ERR_NOT_FOUND, "no client '%s'", id);
	return json_pack("{s:o}", "client", entry_json(n, e));
}

static json_t *cmd_list(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
			struct mgmt_error *err)
{
	struct node *n = ctx;
	json_t *a;
	(void)cl;

	if (!need_hub(n, err))
		return NULL;
	ARGS_ONLY(req, NULL, err, "");
	a = json_array();
	for (size_t i = 0; a && i < registry_count(n->hub->reg); i++)
		json_array_append_new(a, entry_json(n, registry_at(n->hub->reg, i)));
	return json_pack("{s:o}", "clients", a);
}

static json_t *cmd_update(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
			  struct mgmt_error *err)
{
	struct node *n = ctx;
	struct config_error why = {""};
	const struct registry_entry *e;
	struct change ch;
	const char *id;
	(void)cl;

	if (!need_hub(n, err) || mgmt_args_only(req, NULL, change_names, err) < 0 ||
	    mgmt_args_only(req, "security", security_names, err) < 0 ||
	    mgmt_arg_string(req, "id", MGMT_ARG_REQUIRED, &id, err) < 0)
		return NULL;
	if (change_args(req, true, &ch, err) < 0) {
		change_free(&ch);
		return NULL;
	}
	int r = hub_update(n, id, &ch.c, &e, &why);
	change_free(&ch);
	if (r < 0)
		return fail_errno(err, r, &why);
	return json_pack("{s:o}", "client", entry_json(n, e));
}

static json_t *set_enabled(void *ctx, const struct mgmt_request *req, struct mgmt_error *err,
			   bool on)
{
	struct node *n = ctx;
	struct config_error why = {""};
	const struct registry_entry *e;
	const char *id = id_arg(n, req, err);

	if (!id)
		return NULL;
	int r = hub_set_enabled(n, id, on, &e, &why);
	if (r < 0)
		return fail_errno(err, r, &why);
	return json_pack("{s:o}", "client", entry_json(n, e));
}

static json_t *cmd_enable(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
			  struct mgmt_error *err)
{
	(void)cl;
	return set_enabled(ctx, req, err, true);
}

static json_t *cmd_disable(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
			   struct mgmt_error *err)
{
	(void)cl;
	return set_enabled(ctx, req, err, false);
}

static json_t *cmd_remove(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
			  struct mgmt_error *err)
{
	struct node *n = ctx;
	struct config_error why = {""};
	const char *id = id_arg(n, req, err);
	(void)cl;

	if (!id)
		return NULL;
	int r = hub_remove(n, id, &why);
	if (r < 0)
		return fail_errno(err, r, &why);
	return json_pack("{s:s}", "removed", id);
}

static json_t *cmd_export(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
			  struct mgmt_error *err)
{
	struct node *n = ctx;
	struct config_error why = {""};
	const char *id = id_arg(n, req, err);
	char *bundle = NULL;
	(void)cl;

	if (!id)
		return NULL;
	int r = hub_export(n, id, &bundle, &why);
	if (r < 0)
		return fail_errno(err, r, &why);
	json_t *o = json_pack("{s:s}", "bundle", bundle);
	registry_bundle_free(bundle);
	return o;
}

static json_t *cmd_connections(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
			       struct mgmt_error *err)
{
	struct node *n = ctx;
	json_t *a;
	size_t it = 0;
	(void)cl;

	if (!need_hub(n, err))
		return NULL;
	ARGS_ONLY(req, NULL, err, "");
	a = json_array();
	for (struct peer *p = peer_next(n, &it); p && a; p = peer_next(n, &it)) {
		struct telemetry_stats ts;
		uint64_t drops = 0;
		char ip[16];
		if (!p->client)
			continue;
		telemetry_get(&p->tel, &ts);
		for (int i = 0; i < HUB_DROP_COUNT; i++)
			drops += p->client->drops[i];
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", p->client->ip[0], p->client->ip[1],
			 p->client->ip[2], p->client->ip[3]);
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:o, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:o}", "id",
				 p->client->id, "ip", ip, "address", addr_json(&p->addr),
				 "transport", peer_over_websocket(n, p) ? "websocket" : "udp", "since",
				 time_json((time_t)p->since), "rx-bytes",
				 (json_int_t)(p->traffic.in_total.bytes + p->traffic.in.bytes),
				 "tx-bytes",
				 (json_int_t)(p->traffic.out_total.bytes + p->traffic.out.bytes),
				 "rx-packets",
				 (json_int_t)(p->traffic.in_total.packets + p->traffic.in.packets),
				 "tx-packets",
				 (json_int_t)(p->traffic.out_total.packets + p->traffic.out.packets),
				 "drops", (json_int_t)drops, "rtt-ms",
				 ms_json(ts.has_rtt, ts.srtt_ns)));
	}
	return json_pack("{s:o}", "connections", a);
}

static json_t *cmd_disconnect(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
			      struct mgmt_error *err)
{
	struct node *n = ctx;
	struct config_error why = {""};
	const char *id = id_arg(n, req, err);
	(void)cl;

	if (!id)
		return NULL;
	int r = hub_disconnect(n, id, &why);
	if (r < 0)
		return fail_errno(err, r, &why);
	return json_pack("{s:i}", "disconnected", r);
}

static json_t *cmd_telemetry(void *ctx, const struct mgmt_request *req, struct mgmt_client *cl,
			     struct mgmt_error *err)
{
	struct node *n = ctx;
	const char *id = id_arg(n, req, err);
	struct hub_client *c;
	struct telemetry_stats ts = {0};
	const struct peer *best = NULL;
	size_t it = 0;
	(void)cl;

	if (!id)
		return NULL;
	if (!registry_get(n->hub->reg, id) || !(c = hub_client_find(n, id)))
		return mgmt_fail(err, MGMT_ERR_NOT_FOUND, "no client '%s'", id);
	/* the client's most recent connection (max-connections may allow several) */
	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it))
		if (p->client == c && (!best || p->established > best->established))
			best = p;
	if (best)
		telemetry_get(&best->tel, &ts);
	json_t *drops = json_object();
	for (int i = 0; drops && i < HUB_DROP_COUNT; i++)
		json_object_set_new(drops, hub_drop_name(i), json_integer((json_int_t)c->drops[i]));
	return json_pack("{s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:f, s:s, s:I, s:I, s:I, s:o}", "id", id,
			 "connected", best != NULL, "srtt-ms", ms_json(ts.has_rtt, ts.srtt_ns),
			 "jitter-ms", ms_json(ts.has_rtt, ts.jitter_ns), "min-rtt-ms",
			 ms_json(ts.has_rtt, ts.min_rtt_ns), "max-rtt-ms",
			 ms_json(ts.has_rtt, ts.max_rtt_ns), "rttvar-ms",
			 ms_json(ts.has_rtt, ts.rttvar_ns), "loss", (double)ts.loss_ppm / 1e6,
			 "health", best ? telemetry_health_name(ts.health) : "unknown", "samples",
			 (json_int_t)ts.samples, "probes-sent", (json_int_t)ts.sent, "probes-lost",
			 (json_int_t)ts.lost, "drops", drops);
}

static const struct mgmt_command commands[] = {
    {"status", cmd_status},
    {"peers", cmd_peers},
    {"stats", cmd_stats},
    {"create", cmd_create},
    {"get", cmd_get},
    {"list", cmd_list},
    {"update", cmd_update},
    {"enable", cmd_enable},
    {"disable", cmd_disable},
    {"remove", cmd_remove},
    {"rotate-key", cmd_rotate},
    {"export", cmd_export},
    {"connections", cmd_connections},
    {"disconnect", cmd_disconnect},
    {"telemetry", cmd_telemetry},
};

static json_t *handle(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
		      struct mgmt_error *err)
{
	return mgmt_dispatch(commands, ARRAY_SIZE(commands), ctx, req, c, err);
}

/* ---- set-up and events ---- */

int control_open(struct node *n)
{
	const struct config *cfg = n->cfg;
	char path[MGMT_PATH_MAX];
	bool deflt = !cfg->mgmt_socket;
	int r;

	if (deflt) {
		if (!cfg->name)
			return 0; /* no name, no socket: give --socket for one */
		if (mgmt_socket_path(path, sizeof(path), NULL, cfg->name) < 0)
			return 0;
	} else {
		snprintf(path, sizeof(path), "%s", cfg->mgmt_socket);
	}
	struct mgmt_params p = {
		.path = path,
		.group = cfg->mgmt_group,
		.handler = handle,
		.ctx = n,
	};
	r = mgmt_open(&p, &n->mgmt);
	if (r == 0)
		r = mgmt_attach(n->mgmt, &n->loop, NODE_SRC_MGMT);
	if (r < 0) {
		mgmt_close(n->mgmt);
		n->mgmt = NULL;
		/* the default place may be another instance's: only an explicit one is fatal */
		if (deflt) {
			log_warn("no management socket (%s): %s", path, strerror(-r));
			return 0;
		}
		return r;
	}
	return 0;
}

void control_close(struct node *n)
{
	mgmt_close(n->mgmt);
	n->mgmt = NULL;
}

static const char *const event_names[] = {
    [NODE_EVENT_PEER_UP] = "peer-up",
    [NODE_EVENT_PEER_DOWN] = "peer-down",
    [NODE_EVENT_CLIENT_CONNECTED] = "client-connected",
    [NODE_EVENT_CLIENT_DISCONNECTED] = "client-disconnected",
};

void control_events(struct node *n)
{
	if (!n->events_n)
		return;
	for (unsigned i = 0; n->mgmt && mgmt_has_subscribers(n->mgmt) && i < n->events_n; i++) {
		const struct node_event *e = &n->events[i];
		json_t *f = json_pack("{s:o}", "address", addr_json(&e->addr));
		if (f && e->client[0])
			json_object_set_new(f, "id", json_string(e->client));
		if (f && e->reason[0])
			json_object_set_new(f, "reason", json_string(e->reason));
		mgmt_event(n->mgmt, event_names[e->kind], f);
	}
	n->events_n = 0;
}

/* ---- Prometheus metrics (metrics.h) ---- */

/* Per-scrape storage: a party per peer and client, the names they point to. */
struct scrape {
	struct metrics_party *parties;
	char (*names)[ADDR_STRLEN];
	struct metrics_count *drops; /* HUB_DROP_COUNT per client */
};

static struct metrics_traffic traffic_of(const struct stats_traffic *t)
{
	return (struct metrics_traffic){
	    .rx_bytes = t->in_total.bytes + t->in.bytes,
	    .tx_bytes = t->out_total.bytes + t->out.bytes,
	    .rx_packets = t->in_total.packets + t->in.packets,
	    .tx_packets = t->out_total.packets + t->out.packets,
	};
}

static int metrics_page(struct metrics_writer *w, void *ctx)
{
	struct node *n = ctx;
	const struct transport_stats *t = &n->xp->stats;
	size_t np = n->n_peers, nc = n->hub ? n->hub->n_clients : 0, it = 0, k = 0;
	struct scrape s = {
	    .parties = calloc(np + nc + 1, sizeof(*s.parties)),
	    .names = calloc(np + 1, sizeof(*s.names)),
	    .drops = calloc(nc * HUB_DROP_COUNT + 1, sizeof(*s.drops)),
	};
	int r = -ENOMEM;

	if (!s.parties || !s.names || !s.drops)
		goto out;
	for (struct peer *p = peer_next(n, &it); p && k < np; p = peer_next(n, &it)) {
		struct telemetry_stats ts;
		if (!session_is_established(p->sess))
			continue;
		telemetry_get(&p->tel, &ts);
		addr_format(&p->addr, s.names[k]);
		s.parties[k] = (struct metrics_party){
		    .name = s.names[k],
		    .traffic = traffic_of(&p->traffic),
		    .has_rtt = ts.has_rtt,
		    .rtt_seconds = (double)ts.srtt_ns / 1e9,
		};
		k++;
	}
	struct metrics_party *clients = s.parties + k;
	uint64_t active = 0;
	for (size_t i = 0; i < nc; i++) {
		struct hub_client *c = n->hub->clients[i];
		struct metrics_party *cp = &clients[i];
		struct metrics_count *d = &s.drops[i * HUB_DROP_COUNT];
		cp->name = c->id;
		for (int j = 0; j < HUB_DROP_COUNT; j++)
			d[j] = (struct metrics_count){hub_drop_name(j), c->drops[j]};
		cp->drops = d;
		cp->n_drops = HUB_DROP_COUNT;
		active += c->connections ? 1 : 0;
		it = 0;
		for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it)) {
			if (p->client != c)
				continue;
			struct metrics_traffic pt = traffic_of(&p->traffic);
			struct telemetry_stats ts;
			cp->traffic.rx_bytes += pt.rx_bytes;
			cp->traffic.tx_bytes += pt.tx_bytes;
			cp->traffic.rx_packets += pt.rx_packets;
			cp->traffic.tx_packets += pt.tx_packets;
			telemetry_get(&p->tel, &ts);
			if (ts.has_rtt) {
				cp->has_rtt = true;
				cp->rtt_seconds = (double)ts.srtt_ns / 1e9;
			}
		}
	}
	struct metrics_count invalid[STATS_INV_COUNT + 2];
	for (int i = 0; i < STATS_INV_COUNT; i++)
		invalid[i] = (struct metrics_count){stats_invalid_name(i), n->stats.invalid[i]};
	invalid[STATS_INV_COUNT] = (struct metrics_count){"transport", t->rx_dropped};
	invalid[STATS_INV_COUNT + 1] = (struct metrics_count){"unparsable-frame", n->unparsable_frames};
	const struct metrics_count drops[] = {
	    {"no-route", n->stats.invalid_dropped.out_total.packets +
			     n->stats.invalid_dropped.out.packets},
	    {"send-congested", t->tx_dropped},
	    {"send-error", t->tx_errors},
	    {"device-write", n->device_write_errors},
	    {"handshake-limit", n->stats.invalid[STATS_INV_HS_LIMITED]},
	};
	const struct metrics_count handshakes[] = {
	    {"ok", n->handshakes[NODE_HS_OK]},
	    {"failed", n->handshakes[NODE_HS_FAILED]},
	    {"timeout", n->handshakes[NODE_HS_TIMEOUT]},
	};
	struct metrics_count connections[HUB_TRANSPORT_COUNT] = {
	    {"udp", n->hub ? n->hub->connections_total[HUB_TRANSPORT_UDP] : 0},
	    {"websocket", n->hub ? n->hub->connections_total[HUB_TRANSPORT_WEBSOCKET] : 0},
	};
	struct metrics_node_view v = {
	    .traffic = {t->rx_bytes, t->tx_bytes, t->rx_packets, t->tx_packets},
	    .invalid = invalid,
	    .n_invalid = ARRAY_SIZE(invalid),
	    .drops = drops,
	    .n_drops = ARRAY_SIZE(drops),
	    .handshakes = handshakes,
	    .n_handshakes = ARRAY_SIZE(handshakes),
	    .rotations = n->rotations,
	    .peers = s.parties,
	    .n_peers = k,
	    .hub = n->hub != NULL,
	    .clients_active = active,
	    .connections = connections,
	    .n_connections = ARRAY_SIZE(connections),
	    .clients = clients,
	    .n_clients = nc,
	};
	metrics_write_node(w, &v);
	r = metrics_err(w);
out:
	free(s.parties);
	free(s.names);
	free(s.drops);
	return r;
}

int control_metrics_open(struct node *n)
{
	struct addr a;
	char host[256];
	uint16_t port;
	int r;

	if (!n->cfg->metrics_listen)
		return 0;
	if (addr_split_host_port(n->cfg->metrics_listen, 9100, host, sizeof(host), &port) < 0 ||
	    addr_parse(host, port, &a) < 0) {
		log_err("metrics-listen: '%s' is not IP:PORT", n->cfg->metrics_listen);
		return -EINVAL;
	}
	r = metrics_open(&a, NULL, metrics_page, n, &n->metrics);
	if (r < 0)
		return r; /* logged */
	metrics_src(n->metrics)->kind = NODE_SRC_METRICS;
	r = loop_add(&n->loop, metrics_src(n->metrics), EPOLLIN);
	if (r < 0) {
		metrics_close(n->metrics);
		n->metrics = NULL;
		return r;
	}
	log_info("Metrics on http://%s/metrics", n->cfg->metrics_listen);
	return 0;
}

void control_metrics_close(struct node *n)
{
	if (!n->metrics)
		return;
	loop_del(&n->loop, metrics_src(n->metrics));
	metrics_close(n->metrics);
	n->metrics = NULL;
}

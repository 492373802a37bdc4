// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * hub.c - the hub role (HUB.md): the client registry behind the handshake (only enabled,
 * unexpired clients are trusted), the hub-wide connection block before any crypto, each
 * client's policy after the handshake (source ACL, connections) and on the data path
 * (destination ACL, anti-spoofing, rate limits in both directions), relaying between
 * clients, expiry, and the registry operations of the management API.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "meshvpn/log.h"
#include "node_int.h"

#define HUB_DEFAULT_REGISTRY_DIR "/var/lib/meshvpn"

static const char *const drop_names[HUB_DROP_COUNT] = {
    [HUB_DROP_RATE_IN] = "rate-limit-in",
    [HUB_DROP_RATE_OUT] = "rate-limit-out",
    [HUB_DROP_DEST_BLOCKED] = "destination-blocked",
    [HUB_DROP_DEST_NOT_ALLOWED] = "destination-not-allowed",
    [HUB_DROP_SPOOFED] = "source-spoofed",
};

static const char *const refuse_names[HUB_REFUSE_COUNT] = {
    [HUB_REFUSE_CONNECTION_BLOCK] = "connection-block",
    [HUB_REFUSE_SOURCE_BLOCKED] = "source-blocked",
    [HUB_REFUSE_SOURCE_NOT_ALLOWED] = "source-not-allowed",
    [HUB_REFUSE_DISABLED] = "disabled",
    [HUB_REFUSE_EXPIRED] = "expired",
};

const char *hub_drop_name(enum hub_drop d)
{
	return (unsigned)d < HUB_DROP_COUNT ? drop_names[d] : "?";
}

const char *hub_refuse_name(enum hub_refuse r)
{
	return (unsigned)r < HUB_REFUSE_COUNT ? refuse_names[r] : "?";
}

/* ---- per-client runtime state ---- */

struct hub_client *hub_client_find(struct node *n, const char *id)
{
	for (size_t i = 0; n->hub && i < n->hub->n_clients; i++)
		if (strcmp(n->hub->clients[i]->id, id) == 0)
			return n->hub->clients[i];
	return NULL;
}

/* The hub default or the client's own limit. */
static void rate_of(struct hub *h, const struct registry_entry *e, uint64_t *rate,
		    uint64_t *burst)
{
	if (e->flags & REGISTRY_HAS_RATE_LIMIT) {
		*rate = e->security.rate;
		*burst = e->security.burst;
	} else {
		*rate = h->default_rate.rate;
		*burst = h->default_rate.burst;
	}
}

static int policy_from(struct acl_policy *p, const struct registry_strlist *allow,
		       const struct registry_strlist *block, struct acl_error *why)
{
	struct acl_policy np;
	int r;

	acl_policy_init(&np);
	r = acl_list_parse(&np.allow, (const char *const *)allow->v, allow->n, why);
	if (r == 0)
		r = acl_list_parse(&np.block, (const char *const *)block->v, block->n, why);
	if (r < 0) {
		acl_policy_free(&np);
		return r;
	}
	acl_policy_free(p);
	*p = np;
	return 0;
}

/* Brings the runtime state of e up to date (new, or after a change): limits apply at once. */
static int client_sync(struct node *n, const struct registry_entry *e)
{
	struct hub *h = n->hub;
	struct hub_client *c = hub_client_find(n, e->id);
	struct acl_error why;
	uint64_t rate, burst;
	bool fresh = !c;

	if (!c) {
		struct hub_client **v = realloc(h->clients, (h->n_clients + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		h->clients = v;
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		acl_policy_init(&c->source);
		acl_policy_init(&c->destination);
	}
	if (policy_from(&c->source, &e->security.source_allow, &e->security.source_block, &why) <
		    0 ||
	    policy_from(&c->destination, &e->security.destination_allow,
			&e->security.destination_block, &why) < 0) {
		log_err("client %s: %s", e->id, why.msg); /* the registry checked them: a bug */
		if (fresh) {
			acl_policy_free(&c->source);
			acl_policy_free(&c->destination);
			free(c);
		}
		return -EINVAL;
	}
	snprintf(c->id, sizeof(c->id), "%s", e->id);
	memcpy(c->key, e->public_key, sizeof(c->key));
	memcpy(c->ip, e->ip, sizeof(c->ip));
	c->max_connections = e->security.max_connections;
	rate_of(h, e, &rate, &burst);
	if (fresh) {
		ratelimit_init(&c->in, rate, burst, n->now_ns);
		ratelimit_init(&c->out, rate, burst, n->now_ns);
		h->clients[h->n_clients++] = c;
	} else {
		ratelimit_set(&c->in, rate, burst, n->now_ns);
		ratelimit_set(&c->out, rate, burst, n->now_ns);
	}
	return 0;
}

static void client_drop(struct node *n, struct hub_client *c)
{
	struct hub *h = n->hub;

	for (size_t i = 0; i < h->n_clients; i++) {
		if (h->clients[i] == c) {
			h->clients[i] = h->clients[--h->n_clients];
			break;
		}
	}
	acl_policy_free(&c->source);
	acl_policy_free(&c->destination);
	free(c);
}

/* Ends every session of client c (CLOSE first); returns how many. */
static unsigned disconnect(struct node *n, struct hub_client *c, const char *why)
{
	unsigned k = 0;
	size_t it = 0;

	for (struct peer *p = peer_next(n, &it); p; p = peer_next(n, &it)) {
		if (p->client == c) {
			peer_remove(n, p, true, why);
			k++;
		}
	}
	return k;
}

/* ---- trust: the keys the handshake accepts ---- */

/* Configured trusted keys (or the own key), plus every enabled, unexpired client. */
static int trust_rebuild(struct node *n)
{
	struct hub *h = n->hub;
	const struct config *cfg = n->cfg;
	size_t count = registry_count(h->reg), k = 0;
	time_t now = time(NULL);
	int r;

	uint8_t(*keys)[KEYS_PUB_LEN] = calloc(count + cfg->n_trusted_keys + 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	if (cfg->n_trusted_keys) {
		memcpy(keys, cfg->trusted_keys, cfg->n_trusted_keys * sizeof(*keys));
		k = cfg->n_trusted_keys;
	} else {
		memcpy(keys[k++], n->ident->pub, KEYS_PUB_LEN);
	}
	h->next_expiry = 0;
	for (size_t i = 0; i < count; i++) {
		const struct registry_entry *e = registry_at(h->reg, i);
		if (!e->enabled || registry_expired(e, now))
			continue;
		memcpy(keys[k++], e->public_key, KEYS_PUB_LEN);
		if ((e->flags & REGISTRY_HAS_EXPIRES) && (!h->next_expiry || e->expires < h->next_expiry))
			h->next_expiry = e->expires;
	}
	r = session_ctx_set_trusted(n->sctx, &keys[0][0], k);
	free(keys);
	return r;
}

/* ---- start and stop ---- */

static int acl_check_entry(const char *entry, struct config_error *why)
{
	struct acl_entry e;
	struct acl_error ae;

	if (acl_entry_parse(entry, &e, &ae) == 0)
		return 0;
	snprintf(why->msg, sizeof(why->msg), "%s", ae.msg);
	return -EINVAL;
}

static int parse_rate(const char *text, struct ratelimit_conf *out, struct ratelimit_error *why)
{
	char rate[64];
	const char *colon = strchr(text, ':');
	int r;

	if (strlen(text) >= sizeof(rate))
		return ratelimit_parse(text, NULL, out, why);
	snprintf(rate, sizeof(rate), "%.*s", colon ? (int)(colon - text) : (int)strlen(text), text);
	r = ratelimit_parse(rate, colon ? colon + 1 : NULL, out, why);
	if (r == 0 && !colon)
		out->burst = hub_default_burst(out->rate);
	return r;
}

uint64_t hub_default_burst(uint64_t rate)
{
	/*
	 * One second of traffic: a TCP flow through a policer with a small bucket keeps losing
	 * packets in bursts and settles far below the rate (about half of it at 1 MB/s with a
	 * tenth of a second); with a second's worth it holds the rate within a few per cent.
	 */
	return rate ? MAX(rate, (uint64_t)RATELIMIT_MIN_BURST) : 0;
}

int hub_rate_parse(const char *text, struct ratelimit_conf *out, char *why, size_t len)
{
	struct ratelimit_error e;
	int r = parse_rate(text, out, &e);

	if (r < 0)
		snprintf(why, len, "%s", e.msg);
	return r;
}

int hub_open(struct node *n)
{
	const struct config *cfg = n->cfg;
	struct config_error err;
	struct acl_error ae;
	struct hub *h;
	int r;

	if (!config_is_hub(cfg))
		return 0;
	if (!cfg->hub_subnet || !cfg->hub_endpoint) {
		log_err("hub: hub.subnet and hub.endpoint are both needed to act as a hub");
		return -EINVAL;
	}
	h = n->hub = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	acl_list_init(&h->connection_block);
	r = acl_list_parse(&h->connection_block, (const char *const *)cfg->hub_connection_block.v,
			   cfg->hub_connection_block.n, &ae);
	if (r < 0) {
		log_err("hub.connection-block: %s", ae.msg);
		return r;
	}
	if (cfg->hub_rate_limit) {
		char why[RATELIMIT_ERROR_LEN];
		r = hub_rate_parse(cfg->hub_rate_limit, &h->default_rate, why, sizeof(why));
		if (r < 0) {
			log_err("hub.rate-limit: %s", why);
			return r;
		}
	}
	if (cfg->hub_registry) {
		h->path = strdup(cfg->hub_registry);
	} else if (cfg->name) {
		size_t len = strlen(HUB_DEFAULT_REGISTRY_DIR) + strlen(cfg->name) + 32;
		if ((h->path = malloc(len)))
			snprintf(h->path, len, HUB_DEFAULT_REGISTRY_DIR "/%s/registry.yaml", cfg->name);
	} else {
		log_err("hub: no registry file: give hub.registry (or run with --config NAME.net)");
		return -EINVAL;
	}
	if (!h->path)
		return -ENOMEM;
	struct registry_params rp = {
		.subnet = cfg->hub_subnet,
		.hub_ip = (cfg->flags & CONFIG_HAS_IP) ? cfg->ip : NULL,
		.acl_check = acl_check_entry,
	};
	r = registry_load_file(&h->reg, &rp, h->path, &err);
	if (r < 0) {
		/* the file is left as it is: fix it, or restore the previous one */
		log_err("hub: cannot load the client registry: %s", err.msg);
		return r;
	}
	for (size_t i = 0; i < registry_count(h->reg); i++) {
		r = client_sync(n, registry_at(h->reg, i));
		if (r < 0)
			return r;
	}
	r = trust_rebuild(n);
	if (r < 0)
		return r;
	char s[IPPOOL_STRLEN];
	log_info("Hub: %zu clients in %s, addresses from %s", registry_count(h->reg), h->path,
		 ippool_format(registry_pool(h->reg), s));
	return 0;
}

void hub_close(struct node *n)
{
	struct hub *h = n->hub;

	if (!h)
		return;
	while (h->n_clients)
		client_drop(n, h->clients[h->n_clients - 1]);
	free(h->clients);
	acl_list_free(&h->connection_block);
	registry_free(h->reg);
	free(h->path);
	free(h);
	n->hub = NULL;
}

/* ---- the connection: before crypto, after the handshake ---- */

bool hub_source_blocked(struct node *n, const struct addr *src)
{
	if (!n->hub || !acl_list_contains(&n->hub->connection_block, src))
		return false;
	n->hub->refused[HUB_REFUSE_CONNECTION_BLOCK]++;
	return true;
}

/* Refuses the established session p: counted, logged (rate-limited), CLOSE sent. */
static bool refuse(struct node *n, struct peer *p, const char *id, enum hub_refuse why)
{
	char as[ADDR_STRLEN];

	n->hub->refused[why]++;
	log_rl(LOG_WARN, "Hub: refused client %s from %s: %s", id, addr_format(&p->addr, as),
	       hub_refuse_name(why));
	peer_remove(n, p, true, hub_refuse_name(why));
	return false;
}

/* Ends client c's oldest session for a newer one; false when it has none. */
static bool replace_oldest(struct node *n, struct hub_client *c)
{
	struct peer *oldest = NULL;
	size_t it = 0;

	for (struct peer *q = peer_next(n, &it); q; q = peer_next(n, &it))
		if (q->client == c && (!oldest || q->established < oldest->established))
			oldest = q;
	if (!oldest)
		return false;
	n->hub->replaced++;
	peer_remove(n, oldest, true, "replaced by a newer connection of the client");
	return true;
}

bool hub_admit(struct node *n, struct peer *p)
{
	struct hub *h = n->hub;
	const uint8_t *key = session_peer_key(p->sess);
	const struct registry_entry *e;
	struct hub_client *c;

	if (!h || !key || !(e = registry_find_key(h->reg, key)))
		return true; /* a configured trusted key: a peer of the mesh, no client */
	c = hub_client_find(n, e->id);
	if (!c) /* cannot happen: every entry has its runtime state */
		return refuse(n, p, e->id, HUB_REFUSE_DISABLED);
	if (!e->enabled)
		return refuse(n, p, e->id, HUB_REFUSE_DISABLED);
	if (registry_expired(e, time(NULL)))
		return refuse(n, p, e->id, HUB_REFUSE_EXPIRED);
	switch (acl_check(&c->source, &p->addr)) {
	case ACL_BLOCKED:
		return refuse(n, p, e->id, HUB_REFUSE_SOURCE_BLOCKED);
	case ACL_NOT_ALLOWED:
		return refuse(n, p, e->id, HUB_REFUSE_SOURCE_NOT_ALLOWED);
	case ACL_ALLOWED:
		break;
	}
	/*
	 * Over max-connections the client's oldest session goes, not the new one: a laptop
	 * that changed networks or a client restarted on another port holds the key, and the
	 * session it left behind is dead (it would block the client until the peer timeout).
	 */
	while (c->max_connections && c->connections >= c->max_connections && replace_oldest(n, c))
		;
	p->client = c;
	c->connections++;
	c->connections_total++;
	h->connections_total[peer_over_websocket(n, p) ? HUB_TRANSPORT_WEBSOCKET : HUB_TRANSPORT_UDP]++;
	peers_event(n, NODE_EVENT_CLIENT_CONNECTED, p, NULL);
	return true;
}

/* ---- the data path ---- */

bool hub_inbound(struct node *n, struct peer *p, const struct vaddr *src,
		 const struct vaddr *dst, size_t len)
{
	struct hub_client *c = p->client;

	/* a client sends from its own address only (its claims are cut to it as well) */
	if (src->len == 4 && memcmp(src->b, c->ip, 4) != 0) {
		c->drops[HUB_DROP_SPOOFED]++;
		return false;
	}
	if (dst->len == 4 || dst->len == 16) {
		enum acl_verdict v = acl_check_ip(&c->destination, dst->b, dst->len);
		if (v != ACL_ALLOWED) {
			c->drops[v == ACL_BLOCKED ? HUB_DROP_DEST_BLOCKED : HUB_DROP_DEST_NOT_ALLOWED]++;
			return false;
		}
	}
	if (!ratelimit_allow(&c->in, len, n->now_ns)) {
		c->drops[HUB_DROP_RATE_IN]++;
		return false;
	}
	return true;
}

/* ---- housekeeping ---- */

void hub_tick(struct node *n)
{
	struct hub *h = n->hub;
	time_t now;

	if (!h || !h->next_expiry || (now = time(NULL)) < h->next_expiry)
		return;
	/* an expiry passed: not trusted from now on, connected sessions end */
	for (size_t i = 0; i < registry_count(h->reg); i++) {
		const struct registry_entry *e = registry_at(h->reg, i);
		struct hub_client *c = hub_client_find(n, e->id);
		if (c && registry_expired(e, now) && c->connections) {
			log_info("Hub: client %s expired", e->id);
			disconnect(n, c, "expired");
		}
	}
	if (trust_rebuild(n) < 0)
		log_warn("Hub: cannot update the trusted keys");
}

/* ---- registry operations (the management API) ---- */

/* Saves the registry; a failed save is logged and reported (memory stays ahead). */
static int save(struct node *n, struct config_error *err)
{
	int r = registry_save(n->hub->reg, n->hub->path, err);

	if (r < 0)
		log_err("Hub: cannot save the registry: %s", err->msg);
	return r;
}

/* After a change of entry id: runtime state, trust, the file; then cut what is no longer ok. */
static int changed(struct node *n, const char *id, struct config_error *err)
{
	const struct registry_entry *e = registry_get(n->hub->reg, id);
	struct hub_client *c = hub_client_find(n, id);
	bool rotated = c && e && memcmp(e->public_key, c->key, KEYS_PUB_LEN) != 0;
	int r;

	if (c && c->connections) {
		if (!e)
			disconnect(n, c, "removed");
		else if (!e->enabled)
			disconnect(n, c, "disabled");
		else if (registry_expired(e, time(NULL)))
			disconnect(n, c, "expired");
		else if (rotated)
			disconnect(n, c, "key rotated");
	}
	if (!e && c)
		client_drop(n, c);
	if (e && (r = client_sync(n, e)) < 0)
		return r;
	if ((r = trust_rebuild(n)) < 0)
		return r;
	return save(n, err);
}

static int bundle(struct node *n, const struct registry_entry *e, const char *priv, char **out,
		  struct config_error *err)
{
	struct registry_hub rh = {
		.name = n->cfg->name,
		.endpoint = n->cfg->hub_endpoint,
		.prefix = registry_pool(n->hub->reg)->prefix,
	};
	memcpy(rh.public_key, n->ident->pub, KEYS_PUB_LEN);
	return registry_bundle(e, &rh, priv, time(NULL), out, err);
}

int hub_create(struct node *n, const char *id, const struct registry_change *c,
	       const struct registry_entry **out, char **bundle_out,
	       char priv[static KEYS_B62_KEYBUF], struct config_error *err)
{
	int r = registry_create(n->hub->reg, id, c, time(NULL), out, priv, err);

	if (r == 0)
		r = changed(n, id, err);
	if (r == 0)
		r = bundle(n, *out, priv, bundle_out, err);
	if (r == 0)
		log_info("Hub: created client %s", id);
	return r;
}

int hub_rotate(struct node *n, const char *id, const struct registry_entry **out,
	       char **bundle_out, char priv[static KEYS_B62_KEYBUF], struct config_error *err)
{
	int r = registry_rotate_key(n->hub->reg, id, time(NULL), out, priv, err);

	if (r == 0)
		r = changed(n, id, err);
	if (r == 0)
		r = bundle(n, *out, priv, bundle_out, err);
	if (r == 0)
		log_info("Hub: new key pair for client %s", id);
	return r;
}

int hub_export(struct node *n, const char *id, char **bundle_out, struct config_error *err)
{
	const struct registry_entry *e = registry_get(n->hub->reg, id);

	if (!e) {
		snprintf(err->msg, sizeof(err->msg), "no client '%s'", id);
		return -ENOENT;
	}
	return bundle(n, e, NULL, bundle_out, err);
}

int hub_update(struct node *n, const char *id, const struct registry_change *c,
	       const struct registry_entry **out, struct config_error *err)
{
	int r = registry_update(n->hub->reg, id, c, time(NULL), out, err);

	if (r == 0 && (r = changed(n, id, err)) == 0)
		*out = registry_get(n->hub->reg, id);
	return r;
}

int hub_set_enabled(struct node *n, const char *id, bool on, const struct registry_entry **out,
		    struct config_error *err)
{
	int r = on ? registry_enable(n->hub->reg, id, time(NULL), out, err)
		   : registry_disable(n->hub->reg, id, time(NULL), out, err);

	if (r == 0 && (r = changed(n, id, err)) == 0) {
		*out = registry_get(n->hub->reg, id);
		log_info("Hub: client %s %s", id, on ? "enabled" : "disabled");
	}
	return r;
}

int hub_remove(struct node *n, const char *id, struct config_error *err)
{
	int r = registry_remove(n->hub->reg, id, err);

	if (r == 0 && (r = changed(n, id, err)) == 0)
		log_info("Hub: removed client %s", id);
	return r;
}

int hub_disconnect(struct node *n, const char *id, struct config_error *err)
{
	struct hub_client *c = hub_client_find(n, id);

	if (!c) {
		snprintf(err->msg, sizeof(err->msg), "no client '%s'", id);
		return -ENOENT;
	}
	return (int)disconnect(n, c, "disconnected by the operator");
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * registry.h - the hub's client registry (HUB.md "Registry entry"): one entry per client with
 * its public key, overlay address, state and security settings; create, update, enable,
 * disable, remove, rotate-key, the lookup by public key for handshake admission, the YAML
 * file (load/save, never a private key) and the client's config bundle.
 *
 * Every operation takes the current time as a parameter (years 0000-9999, else -EINVAL);
 * only registry_load_file() and registry_save() do I/O. Errors are -errno with a message in
 * err->msg that names the field (mgmt maps -EINVAL to "invalid", -EEXIST "exists", -ENOENT
 * "not-found", -ENOSPC "exhausted").
 */
#ifndef MESHVPN_REGISTRY_H
#define MESHVPN_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config_parse.h"
#include "ippool.h"
#include "keys.h"
#include "util.h"

#define REGISTRY_ID_MAX			 64  /* id: [A-Za-z0-9._-], first a letter or digit */
#define REGISTRY_TAG_MAX		 64  /* a tag: the same characters as an id */
#define REGISTRY_DESC_MAX		 256 /* bytes of a description: UTF-8, no controls */
#define REGISTRY_ACL_ENTRY_MAX		 100 /* bytes of one ACL entry: printable ASCII, no space */
#define REGISTRY_LIST_MAX		 256 /* tags or ACL entries per list */
#define REGISTRY_FILE_MAX		 (64 * 1024 * 1024)
#define REGISTRY_TIME_LEN		 21 /* "YYYY-MM-DDTHH:MM:SSZ" + NUL */
#define REGISTRY_FILE_VERSION		 1
#define REGISTRY_DEFAULT_MAX_CONNECTIONS 1

/* Presence bits in registry_entry.flags (and registry_change.flags). */
enum registry_has {
	REGISTRY_HAS_EXPIRES = 1u << 0,	   /* expires is set */
	REGISTRY_HAS_RATE_LIMIT = 1u << 1, /* security.rate/burst are set (else: hub default) */
};

struct registry_strlist {
	char **v;
	size_t n;
};

struct registry_security {
	/* ACL entries exactly as given (checked by registry_params.acl_check, if set) */
	struct registry_strlist source_allow; /* real remote addresses allowed to connect */
	struct registry_strlist source_block;
	struct registry_strlist destination_allow; /* overlay destinations via the hub */
	struct registry_strlist destination_block;
	uint32_t max_connections; /* simultaneous connections with this key; 0 = no limit */
	uint64_t rate;		  /* bytes/s, with REGISTRY_HAS_RATE_LIMIT; >= 1 */
	uint64_t burst;		  /* bytes, with REGISTRY_HAS_RATE_LIMIT; >= 1 */
};

/* One client. Owned by the registry; callers only read it. */
struct registry_entry {
	char id[REGISTRY_ID_MAX + 1];
	uint8_t public_key[KEYS_PUB_LEN];
	uint8_t ip[4]; /* from hub.subnet, unique */
	bool enabled;
	uint32_t flags;			     /* REGISTRY_HAS_* */
	time_t expires;			     /* with REGISTRY_HAS_EXPIRES */
	char *description;		     /* never NULL ("" = none) */
	struct registry_strlist server_tags; /* set by the operator (trusted) */
	struct registry_strlist client_tags; /* reported by the client (informational) */
	struct registry_security security;
	time_t created;
	time_t updated; /* bumped by every change */
};

/* Which fields of a registry_change create/update set (the others stay as they are). */
enum registry_set {
	REGISTRY_SET_DESCRIPTION = 1u << 0,
	REGISTRY_SET_SERVER_TAGS = 1u << 1,
	REGISTRY_SET_CLIENT_TAGS = 1u << 2,
	REGISTRY_SET_EXPIRES = 1u << 3, /* set with REGISTRY_HAS_EXPIRES in flags, else clear */
	REGISTRY_SET_SOURCE_ALLOW = 1u << 4,
	REGISTRY_SET_SOURCE_BLOCK = 1u << 5,
	REGISTRY_SET_DESTINATION_ALLOW = 1u << 6,
	REGISTRY_SET_DESTINATION_BLOCK = 1u << 7,
	REGISTRY_SET_MAX_CONNECTIONS = 1u << 8,
	REGISTRY_SET_RATE_LIMIT = 1u << 9, /* set with REGISTRY_HAS_RATE_LIMIT, else clear */
};

/* The new values for create/update; everything is borrowed (copied by the registry). */
struct registry_change {
	uint32_t set;	/* REGISTRY_SET_* */
	uint32_t flags; /* REGISTRY_HAS_* for REGISTRY_SET_EXPIRES / REGISTRY_SET_RATE_LIMIT */
	const char *description;
	struct registry_strlist server_tags;
	struct registry_strlist client_tags;
	time_t expires;
	struct registry_security security; /* lists, max_connections, rate, burst */
};

/*
 * Checks one ACL entry (exact IP, CIDR, wildcard, range; HUB.md) and returns 0, or -EINVAL
 * with a short reason in why->msg. The registry first applies its own generic rule (1 to
 * REGISTRY_ACL_ENTRY_MAX printable ASCII characters, no space) and then this function.
 */
typedef int (*registry_acl_check_fn)(const char *entry, struct config_error *why);

struct registry_params {
	const char *subnet;		 /* hub.subnet, "a.b.c.d/len" (/8 to /30) */
	const uint8_t *hub_ip;		 /* the hub's own overlay address (4 bytes) or NULL */
	registry_acl_check_fn acl_check; /* NULL: only the generic rule (see above) */
};

struct registry;

/* A new, empty registry for params. 0, -EINVAL (bad subnet, err says why) or -ENOMEM. */
int registry_new(struct registry **out, const struct registry_params *params,
		 struct config_error *err) WUR;
/* Frees the registry and every entry; accepts NULL. */
void registry_free(struct registry *reg);

/*
 * Parses a registry file held in memory (name is used in messages) into a new registry in
 * *out. Strict: unknown keys, wrong types, bad or duplicate ids, duplicate keys or
 * addresses, addresses outside the subnet, bad times and keys are errors
 * ("NAME:LINE: ..."); an empty document is an empty registry. 0, -EINVAL, -EFBIG or -ENOMEM;
 * on error *out = NULL.
 */
int registry_load_buffer(struct registry **out, const struct registry_params *params,
			 const void *data, size_t len, const char *name,
			 struct config_error *err) WUR;
/*
 * Reads the registry file at path. A missing file is an empty registry (first start): the
 * missing directories above it are created with mode 0700. Nothing is ever written to
 * path here. Errors as registry_load_buffer, plus the errno of open/read/mkdir.
 */
int registry_load_file(struct registry **out, const struct registry_params *params,
		       const char *path, struct config_error *err) WUR;
/*
 * The file text (header comment, then YAML, entries by id): the same registry gives the
 * same bytes. Returns a new NUL-terminated string in *text (free()) and its length in *len.
 * 0 or -ENOMEM.
 */
int registry_format(const struct registry *reg, char **text, size_t *len) WUR;
/*
 * Writes the registry to path atomically: a temporary file (mode 0600) in the same
 * directory, fsync, rename over path, fsync of the directory. On error the previous file
 * is left as it was and no temporary file is left behind. 0 or -errno (err says what).
 */
int registry_save(const struct registry *reg, const char *path, struct config_error *err) WUR;

/* Number of entries. */
size_t registry_count(const struct registry *reg);
/* Entry i (0 <= i < count) in id order (strcmp). */
const struct registry_entry *registry_at(const struct registry *reg, size_t i);
/* The entry with this id or NULL; O(log n). */
const struct registry_entry *registry_get(const struct registry *reg, const char *id);
/*
 * The entry with this public key or NULL; O(log n), for handshake admission (the caller
 * then checks enabled and registry_expired()).
 */
const struct registry_entry *registry_find_key(const struct registry *reg,
					       const uint8_t pub[static KEYS_PUB_LEN]);
/* The address pool (read-only). */
const struct ippool *registry_pool(const struct registry *reg);

/*
 * Entry pointers (from the lookups above and the changes below) stay valid until that entry
 * is updated (then its strings and lists are replaced), removed, or the registry is freed.
 */

/*
 * Creates the entry id (enabled, max-connections 1, no expiry, created = updated = now) with
 * the fields of c (may be NULL), a new key pair and the lowest free address. The private
 * key (base62 seed) goes to private_key only, never into the registry; the caller wipes it
 * (sodium_memzero). 0, -EINVAL (bad id or value), -EEXIST, -ENOSPC (no free address),
 * -ENOMEM or -EIO; on error nothing changed and private_key is "".
 */
int registry_create(struct registry *reg, const char *id, const struct registry_change *c,
		    time_t now, const struct registry_entry **out,
		    char private_key[static KEYS_B62_KEYBUF], struct config_error *err) WUR;
/*
 * Replaces the fields c->set says, sets updated = now. All or nothing: 0, -ENOENT, -EINVAL
 * (nothing changed; err names the field) or -ENOMEM. out may be NULL.
 */
int registry_update(struct registry *reg, const char *id, const struct registry_change *c,
		    time_t now, const struct registry_entry **out, struct config_error *err) WUR;
/* Sets enabled (and updated = now). 0 or -ENOENT; out may be NULL. */
int registry_enable(struct registry *reg, const char *id, time_t now,
		    const struct registry_entry **out, struct config_error *err) WUR;
int registry_disable(struct registry *reg, const char *id, time_t now,
		     const struct registry_entry **out, struct config_error *err) WUR;
/* Removes the entry and frees its address. 0 or -ENOENT. */
int registry_remove(struct registry *reg, const char *id, struct config_error *err) WUR;
/*
 * A new key pair for the entry (same id and address, updated = now); the private key as for
 * registry_create. 0, -ENOENT or -EIO.
 */
int registry_rotate_key(struct registry *reg, const char *id, time_t now,
			const struct registry_entry **out, char private_key[static KEYS_B62_KEYBUF],
			struct config_error *err) WUR;
/* True when the entry has an expiry time and now is at or after it. */
bool registry_expired(const struct registry_entry *e, time_t now);

/* True for a valid id: 1-64 of [A-Za-z0-9._-], the first a letter or digit. */
bool registry_id_valid(const char *id);
/*
 * RFC 3339 time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" ('t', 'z' accepted; the
 * fraction is dropped). 0 or -EINVAL.
 */
int registry_time_parse(const char *s, time_t *out) WUR;
/* "YYYY-MM-DDTHH:MM:SSZ" (UTC). 0, or -ERANGE (year outside 0-9999; buf is then ""). */
int registry_time_format(time_t t, char buf[static REGISTRY_TIME_LEN]) WUR;

/* What a bundle needs to know about the hub. */
struct registry_hub {
	const char *name;		  /* the hub's network name for the header, or NULL */
	const char *endpoint;		  /* hub.endpoint: "HOST[:PORT]" the client connects to */
	uint8_t public_key[KEYS_PUB_LEN]; /* the hub's public key (the client trusts only it) */
	uint8_t prefix;			  /* hub.subnet's prefix length (the client's ip: /len) */
};

/*
 * The client's complete config file (VpnCloud 2.x YAML, only keys VpnCloud 2.3 knows):
 * a comment header (client id, hub, date), device type tun, ip, crypto (private-key when
 * private_key is given - create / rotate-key -, else a comment saying where it goes;
 * public-key; trusted-keys: the hub), peers: the hub's endpoint, claims: ip/32, mode router.
 * private_key must belong to the entry (-EKEYREJECTED otherwise). Returns a new string in
 * *out (free it with registry_bundle_free: it may hold the private key). 0, -EINVAL (bad
 * endpoint, prefix or key text), -EKEYREJECTED or -ENOMEM.
 */
int registry_bundle(const struct registry_entry *e, const struct registry_hub *hub,
		    const char *private_key, time_t now, char **out, struct config_error *err) WUR;
/* Wipes and frees a bundle; accepts NULL. */
void registry_bundle_free(char *bundle);

#endif

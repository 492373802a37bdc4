/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config.h - the node configuration (CONFIG.md 2): struct config, defaults, merging of
 * layers (defaults < file < command line) and validation. The values' types and parsers are
 * in config_parse.h (included), the YAML file in config_load.h, the table of settings that
 * drives all of them in options.h.
 */
#ifndef MESHVPN_CONFIG_H
#define MESHVPN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config_parse.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#define CONFIG_LIST_MAX		       1024 /* entries per list (peers, claims, keys, ...) */
#define CONFIG_DEFAULT_DEVICE_NAME     "meshvpn%d"
#define CONFIG_DEFAULT_DEVICE_PATH     "/dev/net/tun"
#define CONFIG_DEFAULT_LISTEN	       "3210"
#define CONFIG_DEFAULT_PEER_TIMEOUT    300
#define CONFIG_DEFAULT_SWITCH_TIMEOUT  300
#define CONFIG_DEFAULT_BEACON_INTERVAL 3600
#define CONFIG_DEFAULT_STATSD_PREFIX   "vpncloud" /* VpnCloud's, kept for dashboards */

/* Presence bits in config.flags for scalars whose absence matters when merging layers. */
enum config_has {
	CONFIG_HAS_DEVICE_TYPE = 1u << 0,
	CONFIG_HAS_FIX_RP_FILTER = 1u << 1,
	CONFIG_HAS_IP = 1u << 2,
	CONFIG_HAS_PEER_TIMEOUT = 1u << 3,
	CONFIG_HAS_KEEPALIVE = 1u << 4, /* set only when configured explicitly */
	CONFIG_HAS_BEACON_INTERVAL = 1u << 5,
	CONFIG_HAS_MODE = 1u << 6,
	CONFIG_HAS_SWITCH_TIMEOUT = 1u << 7,
	CONFIG_HAS_AUTO_CLAIM = 1u << 8,
	CONFIG_HAS_PORT_FORWARDING = 1u << 9,
	CONFIG_HAS_DAEMON = 1u << 10,
	CONFIG_HAS_LOG_LEVEL = 1u << 11,
	CONFIG_HAS_STRICT_PERMS = 1u << 12,
};

struct config_strlist {
	char **v;
	size_t n;
};

/*
 * Every setting of CONFIG.md 2 plus the command-line-only ones. Strings are owned
 * (NULL = not set), lists are dynamic. The same struct is used for a "layer" (one source,
 * nothing present yet: config_layer_init) and for the merged result (config_init).
 */
struct config {
	uint32_t flags; /* CONFIG_HAS_* */

	/* device */
	enum config_device_type device_type;
	char *device_name; /* < 16 bytes, may contain %d */
	char *device_path;
	bool fix_rp_filter;
	uint8_t ip[4];				   /* with CONFIG_HAS_IP: address for the device */
	uint8_t ip_prefix;			   /* 0-32, default 24 */
	struct config_strlist advertise_addresses; /* "host[:port]", syntax checked */
	char *ifup;
	char *ifdown;

	/* crypto */
	char *password;	   /* secret, wiped on free */
	char *private_key; /* base62 Ed25519 seed, syntax checked; secret, wiped on free */
	char *public_key;  /* base62, syntax checked */
	uint8_t (*trusted_keys)[KEYS_PUB_LEN];
	size_t n_trusted_keys;		       /* 0 = trust only the own key */
	uint8_t algorithms[CONFIG_ALGO_COUNT]; /* enum config_algo, distinct, in given order */
	size_t n_algorithms; /* 0 = default; config_validate fills AES128, AES256, CHACHA20 */

	/* network */
	char *listen; /* "PORT", "IP[:PORT]", "[v6]:PORT" or "ws[s]://HOST[:PORT][/PATH]" */
	char *ws_ca;  /* CA certificates (PEM file) for a wss:// proxy; NULL = the system's */
	struct config_strlist peers; /* "host[:port]", syntax checked, resolved at runtime */
	uint32_t peer_timeout;
	uint32_t keepalive; /* after config_validate: explicit or max(peer_timeout/2 - 60, 1) */
	enum config_mode mode;
	uint32_t switch_timeout;
	struct range *claims;
	size_t n_claims;
	bool auto_claim;
	bool port_forwarding;

	/* beacons */
	char *beacon_store; /* path or "|command" */
	char *beacon_load;
	uint32_t beacon_interval;
	char *beacon_password; /* secret, wiped on free */

	/* process and statistics */
	char *pid_file;
	char *stats_file;
	char *statsd_server; /* "host:port" */
	char *statsd_prefix;
	char *user;
	char *group;
	bool strict_perms; /* refuse a config file with a secret that others can read */

	/* management API, metrics, the hub role */
	char *name;		/* network name: --name, else the --config file's ("x.net": x) */
	char *mgmt_socket;	/* the management socket; NULL: /run/meshvpn/NAME.sock with a name */
	char *mgmt_group;	/* group of the socket (mode 0660) */
	char *metrics_listen;	/* "ADDR:PORT" for /metrics; NULL = off */
	char *hub_registry;	/* a hub when any hub.* setting is given (config_is_hub) */
	char *hub_subnet;	/* "a.b.c.d/len": client addresses */
	char *hub_endpoint;	/* "host:port" put into client bundles */
	char *hub_rate_limit;	/* "RATE[:BURST]" for new clients */
	struct config_strlist hub_connection_block; /* ACL entries refused before any crypto */

	/* hooks: per-event script, else the global one */
	char *hook;
	char *hooks[CONFIG_HOOK_COUNT];

	/* command line only */
	bool daemon;
	char *log_file;
	enum log_level log_level; /* LOG_INFO, -v LOG_DEBUG, -q LOG_ERROR */

	/* not settings: what config_load_file() saw (config_check_perms) */
	char *exposed_file;	    /* a loaded file holding a secret that is group/world-readable */
	uint32_t exposed_mode;	    /* its permission bits */
	const char *exposed_key;    /* the secret it holds ("crypto.private-key", ...) */
};

/*
 * Secret strings (the OPT_SECRET settings, genkey's password) live in sodium_malloc()
 * memory: locked, guarded, wiped when freed. A copy of s, or NULL (out of memory).
 */
char *config_secret_dup(const char *s);
/* Wipes and frees a string from config_secret_dup(); accepts NULL. */
void config_secret_free(char *s);

/* True when the configuration makes the node a hub (a hub.* setting is present). */
bool config_is_hub(const struct config *cfg);

/* Fills cfg with the built-in defaults (a complete configuration without a key). */
void config_init(struct config *cfg);
/* An empty layer: nothing present (all NULL / 0, no flags). */
void config_layer_init(struct config *layer);
/* Wipes secrets, frees everything and leaves an empty layer; accepts NULL. */
void config_free(struct config *cfg);

/*
 * Applies layer src on top of dst (CONFIG.md 1): present scalars and strings replace,
 * peers/claims/advertise-addresses/trusted-keys are appended, a non-empty algorithm list
 * replaces, hooks are merged per event. src is not changed (values are copied).
 * 0, -E2BIG (list longer than CONFIG_LIST_MAX) or -ENOMEM.
 */
int config_merge(struct config *dst, const struct config *src, struct config_error *err) WUR;

/*
 * Final checks on a merged configuration and derived defaults: a password or private key
 * is required (-ENOKEY), a public key must match the private key (-EKEYREJECTED); fills
 * keepalive and the default algorithm list.
 */
int config_validate(struct config *cfg, struct config_error *err) WUR;

/*
 * List adders shared by the file and the command line: check s and append it to the list
 * in cfg. 0, -EINVAL, -E2BIG (CONFIG_LIST_MAX reached) or -ENOMEM, with why->msg set.
 */
int config_add_peer(struct config *cfg, const char *s, struct config_error *why) WUR;
int config_add_advertise_address(struct config *cfg, const char *s, struct config_error *why) WUR;
int config_add_claim(struct config *cfg, const char *s, struct config_error *why) WUR;
int config_add_trusted_key(struct config *cfg, const char *s, struct config_error *why) WUR;
/* Appends unless already listed (the list holds each algorithm once). */
int config_add_algorithm(struct config *cfg, const char *s, bool cli_only,
			 struct config_error *why) WUR;

#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config.h - the node configuration (CONFIG.md 2): defaults, the VpnCloud 2.x YAML file,
 * merging of layers (defaults < file < command line), validation, and the value parsers
 * shared with the command line (cli.h).
 */
#ifndef MESHVPN_CONFIG_H
#define MESHVPN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#define CONFIG_LIST_MAX		       1024 /* entries per list (peers, claims, keys, ...) */
#define CONFIG_FILE_MAX		       (1024 * 1024)
#define CONFIG_IFNAME_MAX	       15 /* IFNAMSIZ - 1 */
#define CONFIG_DEFAULT_DEVICE_NAME     "meshvpn%d"
#define CONFIG_DEFAULT_DEVICE_PATH     "/dev/net/tun"
#define CONFIG_DEFAULT_LISTEN	       "3210"
#define CONFIG_DEFAULT_PEER_TIMEOUT    300
#define CONFIG_DEFAULT_SWITCH_TIMEOUT  300
#define CONFIG_DEFAULT_BEACON_INTERVAL 3600
#define CONFIG_DEFAULT_STATSD_PREFIX   "vpncloud" /* VpnCloud's, kept for dashboards */
#define CONFIG_DEFAULT_IP_PREFIX       24
#define CONFIG_WS_DEFAULT_PORT	       80

/* A message for the user that names file:line and key, or the option. */
struct config_error {
	char msg[512];
};

enum config_device_type {
	CONFIG_DEVICE_TUN = 0,
	CONFIG_DEVICE_TAP,
	CONFIG_DEVICE_TYPE_COUNT,
};

enum config_mode {
	CONFIG_MODE_NORMAL = 0,
	CONFIG_MODE_FLOOD, /* "hub" in the file and on the command line (VpnCloud): flood to all */
	CONFIG_MODE_SWITCH,
	CONFIG_MODE_ROUTER,
	CONFIG_MODE_COUNT,
};

/* Values are the wire ids of the handshake's algorithm list. */
enum config_algo {
	CONFIG_ALGO_PLAIN = 0,
	CONFIG_ALGO_AES128 = 1,
	CONFIG_ALGO_AES256 = 2,
	CONFIG_ALGO_CHACHA20 = 3,
	CONFIG_ALGO_COUNT
};

enum config_hook_event {
	CONFIG_HOOK_DEVICE_SETUP = 0,
	CONFIG_HOOK_DEVICE_CONFIGURED,
	CONFIG_HOOK_VPN_STARTED,
	CONFIG_HOOK_PEER_CONNECTING,
	CONFIG_HOOK_PEER_CONNECTED,
	CONFIG_HOOK_PEER_DISCONNECTED,
	CONFIG_HOOK_VPN_SHUTDOWN,
	CONFIG_HOOK_COUNT
};

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
	char *listen; /* "PORT", "IP[:PORT]", "[v6]:PORT" or "ws://HOST[:PORT][/PATH]" */
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

	/* hooks: per-event script, else the global one */
	char *hook;
	char *hooks[CONFIG_HOOK_COUNT];

	/* command line only */
	bool daemon;
	char *log_file;
	enum log_level log_level; /* LOG_INFO, -v LOG_DEBUG, -q LOG_ERROR */
};

/* Fills cfg with the built-in defaults (a complete configuration without a key). */
void config_init(struct config *cfg);
/* An empty layer: nothing present (all NULL / 0, no flags). */
void config_layer_init(struct config *layer);
/* Wipes secrets, frees everything and leaves an empty layer; accepts NULL. */
void config_free(struct config *cfg);

/*
 * Reads a VpnCloud 2.x YAML file and merges it into cfg (config_merge rules). Errors name
 * the file, the 1-based line and the key. Returns 0, -EINVAL (syntax or bad value),
 * -ENOENT/-EACCES/... (cannot read), -EFBIG (> CONFIG_FILE_MAX), -E2BIG or -ENOMEM. On
 * error cfg is still valid (may be partly merged) and must be freed by the caller.
 */
int config_load_file(struct config *cfg, const char *path, struct config_error *err) WUR;
/* Same for YAML text in memory; name is used in messages. */
int config_load_buffer(struct config *cfg, const void *data, size_t len, const char *name,
		       struct config_error *err) WUR;

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

/*
 * Value parsers shared by the file and the command line. Each returns 0 or -EINVAL and
 * then, if why is not NULL, a short explanation (without file/option) in why->msg.
 */
/* File names of CONFIG.md 10.4 (case-insensitive); cli_only: plain/aes128/aes256/chacha20. */
int config_parse_algorithm(const char *s, bool cli_only, enum config_algo *out,
			   struct config_error *why) WUR;
/* Non-negative decimal integer <= UINT32_MAX. */
int config_parse_u32(const char *s, uint32_t *out, struct config_error *why) WUR;
/* "a.b.c.d" or "a.b.c.d/len" (len 0-32, default 24). */
int config_parse_ip(const char *s, uint8_t ip[static 4], uint8_t *prefix,
		    struct config_error *why) WUR;
int config_parse_claim(const char *s, struct range *out, struct config_error *why) WUR;
/* 1-15 bytes, no '/', ':' or white space. */
int config_check_device_name(const char *s, struct config_error *why) WUR;
/* "host", "host:port", "[v6]:port", "v6"; port_required for statsd. */
int config_check_hostport(const char *s, bool port_required, struct config_error *why) WUR;

/* A parsed listen value (CONFIG.md 3). */
struct config_listen {
	bool ws;	  /* a ws:// proxy URL */
	struct addr addr; /* !ws: the socket address (:: = all addresses) */
	char host[256];	  /* ws: host name or IP, without brackets */
	uint16_t port;	  /* ws: port, 80 if omitted */
	const char *path; /* ws: "/..." part of the input (borrowed), "" if none */
};
/* Parses "PORT", "*:PORT", "IP[:PORT]", "[v6]:PORT" or "ws://HOST[:PORT][/PATH]". */
int config_parse_listen(const char *s, uint16_t default_port, struct config_listen *out,
			struct config_error *why) WUR;

/* Event name ("peer_connected") -> event, or -EINVAL; len bytes of s are compared. */
int config_hook_event_parse(const char *s, size_t len);
const char *config_hook_event_name(enum config_hook_event ev);
const char *config_algo_name(enum config_algo a);
const char *config_mode_name(enum config_mode m);
const char *config_device_type_name(enum config_device_type t);

#endif

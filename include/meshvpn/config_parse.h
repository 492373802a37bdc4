/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config_parse.h - the values of settings (CONFIG.md 2, 3): the enums with their names, and
 * the parsers and checkers of the value syntaxes, shared by the file and the command line.
 */
#ifndef MESHVPN_CONFIG_PARSE_H
#define MESHVPN_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "util.h"

#define CONFIG_IFNAME_MAX	 15 /* IFNAMSIZ - 1 */
#define CONFIG_DEFAULT_IP_PREFIX 24
#define CONFIG_WS_DEFAULT_PORT	 80
#define CONFIG_WSS_DEFAULT_PORT	 443

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
	bool ws;	  /* a ws:// or wss:// proxy URL */
	bool tls;	  /* wss://: WebSocket over TLS, the proxy's certificate verified */
	struct addr addr; /* !ws: the socket address (:: = all addresses) */
	char host[256];	  /* ws: host name or IP, without brackets */
	uint16_t port;	  /* ws: port; if omitted 80 (ws://) or 443 (wss://) */
	const char *path; /* ws: "/..." part of the input (borrowed), "" if none */
};
/*
 * Parses "PORT", "*:PORT", "IP[:PORT]", "[v6]:PORT", "ws://HOST[:PORT][/PATH]" or
 * "wss://HOST[:PORT][/PATH]" (scheme case-insensitive).
 */
int config_parse_listen(const char *s, uint16_t default_port, struct config_listen *out,
			struct config_error *why) WUR;

/* Event name ("peer_connected") -> event, or -EINVAL; len bytes of s are compared. */
int config_hook_event_parse(const char *s, size_t len);
const char *config_hook_event_name(enum config_hook_event ev);
const char *config_algo_name(enum config_algo a);
const char *config_mode_name(enum config_mode m);
const char *config_device_type_name(enum config_device_type t);

#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wsproxy_int.h - state shared by the proxy's server (wsproxy.c) and connection (conn.c) code. */
#ifndef MESHVPN_WSPROXY_INT_H
#define MESHVPN_WSPROXY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "meshvpn/addr.h"
#include "meshvpn/loop.h"
#include "meshvpn/util.h"
#include "tls.h"

#define WSP_DEFAULT_PORT	 3210 /* the option's default ("3210") */
#define WSP_IP_ONLY_PORT	 8080 /* an IP without a port (VpnCloud's parse_listen default) */
#define WSP_DEFAULT_MAX_CONNS	 1024
#define WSP_DEFAULT_PER_SOURCE	 16
#define WSP_DEFAULT_IDLE	 180   /* seconds without a byte from the client */
#define WSP_PING_INTERVAL_MS	 60000 /* VpnCloud pings after 60 s of silence */
#define WSP_DEFAULT_MAX_MSG	 (ADDR_WIRE_LEN + 65535)
#define WSP_PROXY_TIMEOUT_MS	 5000
#define WSP_HANDSHAKE_TIMEOUT_MS 10000
#define WSP_PROXY_HDR_MAX	 4096 /* longest PROXY v2 header accepted (TLVs included) */
#define WSP_IN_BUF		 (64 * 1024)
#define WSP_OUT_BUF		 (256 * 1024)
#define WSP_BATCH		 64	   /* datagrams per recvmmsg / sendmmsg */
#define WSP_TX_ARENA		 (1 << 20) /* datagram bytes gathered for one sendmmsg */
#define WSP_UDP_MAX		 65536	   /* receive buffer per datagram */
#define WSP_SOCKBUF		 (1 << 20) /* UDP socket buffers (capped by the kernel's max) */
#define WSP_BUCKETS		 1024	   /* per-source hash table */
#define WSP_TICK_MS		 500

enum wsp_kind {
	WSP_KIND_LISTEN = LOOP_KIND_USER,
	WSP_KIND_TCP,
	WSP_KIND_UDP,
};

struct wsp_opts {
	struct addr listen;
	struct addr public_ip; /* with has_public_ip: announced instead of the host's address */
	bool has_public_ip;
	bool proxy_protocol;
	unsigned max_conns, max_per_source;
	unsigned idle_timeout; /* seconds, 0 = never */
	size_t max_msg;
	const char *tls_cert, *tls_key; /* both or neither: the listener speaks TLS */
};

/* Counters, printed at shutdown and on SIGUSR1. */
struct wsp_stats {
	uint64_t accepted, refused_total, refused_source, accept_errors;
	uint64_t proxy_bad, proxy_timeout, tls_failed, upgrade_bad, upgrade_timeout, upgraded;
	uint64_t closed, idle_closed, ws_errors;
	uint64_t to_udp_msgs, to_udp_bytes, to_udp_bad_addr, to_udp_errors;
	uint64_t to_ws_msgs, to_ws_bytes, to_ws_dropped;
};

enum conn_state {
	CS_PROXY,     /* waiting for the PROXY v2 header (in clear, also in front of TLS) */
	CS_TLS,	      /* TLS handshake (with --tls-cert) */
	CS_HANDSHAKE, /* waiting for the HTTP upgrade request */
	CS_OPEN,      /* relaying */
	CS_DEAD,      /* closed, freed after the current event batch */
};

struct ws_conn;

/*
 * What a TLS call that could not finish waits for besides the usual (struct conn's
 * tls_wait). The usual: the handshake and SSL_read wait for input, unsent output (the send
 * buffer) for EPOLLOUT.
 */
#define CT_WR_READ  0x1 /* SSL_write: input */
#define CT_RD_WRITE 0x2 /* SSL_read: room in the send buffer, so EPOLLOUT */

struct conn {
	struct loop_src tcp, udp;
	enum conn_state state;
	struct ws_conn *ws;
	SSL *ssl; /* with TLS, from the handshake on (none yet while a PROXY header is due) */
	BIO *net; /* with ssl: its send buffer's network side (tls.h) */
	uint8_t tls_wait;  /* CT_* */
	bool tls_dead;	   /* fatal TLS error: no more SSL calls but SSL_free */
	bool ready;	   /* on the server's ready list: OpenSSL holds bytes the socket will not
			    * announce again */
	struct addr peer;  /* the client: from the PROXY header, else the TCP peer */
	struct addr via;   /* the TCP peer (the load balancer with --proxy-protocol) */
	struct addr local; /* the TCP socket's own address */
	int udp_family;
	uint16_t udp_port;
	bool out_wait;		      /* EPOLLOUT registered: output pending */
	bool in_bucket;		      /* counted for its source address */
	int64_t t_open, t_rx, t_ping; /* monotonic ms */
	uint64_t id;
	uint64_t to_udp_msgs, to_udp_bytes, to_ws_msgs, to_ws_bytes, dropped;
	struct conn *prev, *next; /* all connections */
	struct conn *hnext;	  /* same hash bucket (source address) */
	struct conn *rnext;	  /* ready list */
};

/* A datagram batch for sendmmsg: data copied into one arena. */
struct wsp_tx {
	unsigned n;
	size_t used;
	struct mmsghdr msgs[WSP_BATCH];
	struct iovec iov[WSP_BATCH];
	struct sockaddr_storage names[WSP_BATCH];
	uint8_t *arena;
};

/* recvmmsg batch. */
struct wsp_rx {
	struct mmsghdr msgs[WSP_BATCH];
	struct iovec iov[WSP_BATCH];
	struct sockaddr_storage names[WSP_BATCH];
	uint8_t *bufs; /* WSP_BATCH * WSP_UDP_MAX */
};

struct wsp {
	struct wsp_opts o;
	struct loop loop;
	struct loop_src listen;
	bool listen_paused;
	int64_t listen_resume; /* ms */
	int64_t now;	       /* ms, CLOCK_MONOTONIC, updated every loop turn */
	struct conn *conns, *dead;
	struct conn *ready; /* to read again before the next wait (see conn_run_ready) */
	SSL_CTX *tls;	    /* with --tls-cert: new connections' context (reloaded on SIGHUP) */
	unsigned n_conns;
	uint64_t next_id;
	struct conn *buckets[WSP_BUCKETS];
	struct wsp_stats st;
	struct wsp_tx tx;
	struct wsp_rx rx;
};

/* conn.c */
/* Takes over an accepted TCP socket fd from peer (already counted against the total). */
void conn_accept(struct wsp *s, int fd, const struct addr *peer);
void conn_tcp_event(struct wsp *s, struct conn *c, uint32_t events);
void conn_udp_event(struct wsp *s, struct conn *c, uint32_t events);
/* Deadlines, idle pings and timeouts; called every tick. */
void conn_tick(struct wsp *s, struct conn *c);
/* Ends the connection: a close frame if upgraded, one write attempt, fds closed. */
void conn_close(struct wsp *s, struct conn *c, uint16_t code, const char *fmt, ...) PRINTF(4, 5);
/*
 * Reads on for the connections that stopped with bytes left inside OpenSSL (their socket
 * will not wake them); called after every event batch, the loop not waiting while any are.
 */
void conn_run_ready(struct wsp *s);
/* Frees the connections closed during the last event batch. */
void conn_reap(struct wsp *s);

#endif

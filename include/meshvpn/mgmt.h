/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mgmt.h - the management API server: a Unix stream socket speaking JSON lines (libjansson),
 * one request object per line and one reply line per request, plus an event stream for the
 * connections that sent `subscribe` (the protocol of HUB.md). An I/O adapter on the node's
 * loop: it owns the socket, the framing, the limits and the built-in `subscribe`; the
 * commands are the node's, behind one handler callback.
 *
 * Request: {"id": <scalar>, "cmd": "<name>", "args": {...}}; id and args are optional.
 * Reply:   {"id": <same>, "result": <value>} or {"id": <same>, "error": {"code", "message"}}.
 * The id is echoed as sent; a request without one gets a reply without one, and a line that
 * is not a JSON object (or whose id is not a scalar) gets "id": null. Blank lines are
 * ignored; a line may end in CR LF; a last line without a newline before the client's EOF
 * is still a request.
 *
 * Limits, per connection:
 * - A request line holds at most MGMT_LINE_MAX bytes. A longer one is answered with
 *   `too-large` (id null) as soon as the limit is passed; the rest of it, up to its newline,
 *   is skipped and the connection stays usable.
 * - Output the client has not taken yet is held up to MGMT_OUT_MAX bytes (one reply larger
 *   than that is still accepted into an empty buffer). A reply that does not fit means the
 *   client sends requests without reading the replies: it is disconnected. An event that
 *   does not fit is dropped and counted; once the subscriber has room again it first gets
 *   {"event": "events-dropped", "time", "dropped": n}, and after MGMT_EVENT_DROP_MAX drops
 *   in a row it is disconnected. So nobody can stall the loop or grow the node's memory.
 * - A connection that neither sends nor takes anything for the idle time is closed (a
 *   half-sent request just waits until then); a subscriber only when output is pending and
 *   has not moved for that long.
 * - At most max_clients connections: the next one gets one line {"id": null, "error":
 *   {"code": "busy", ...}} and is closed.
 */
#ifndef MESHVPN_MGMT_H
#define MESHVPN_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <jansson.h>

#include "loop.h"
#include "mgmt_request.h"
#include "util.h"

/* `meshvpn ctl -n NAME` and the node's default: MGMT_SOCKET_DIR "/" NAME MGMT_SOCKET_SUFFIX */
#define MGMT_SOCKET_DIR	   "/run/meshvpn"
#define MGMT_SOCKET_SUFFIX ".sock"
#define MGMT_NAME_MAX	   64	/* bytes of a NAME: [A-Za-z0-9._-], not starting with '.' */
#define MGMT_SOCKET_MODE   0660 /* default mode of the socket */
#define MGMT_DIR_MODE	   0755 /* of the socket's directory when mgmt_open() creates it */
#define MGMT_PATH_MAX	   108	/* sizeof(sun_path), with its terminating NUL */

#define MGMT_LINE_MAX	    (64 * 1024)	  /* bytes of one request line, without the newline */
#define MGMT_OUT_MAX	    (1024 * 1024) /* bytes of output held for one client */
#define MGMT_MAX_CLIENTS    64		  /* default connection limit */
#define MGMT_IDLE_SECS	    300		  /* default idle time-out */
#define MGMT_EVENT_DROP_MAX 1000 /* events dropped in a row before a subscriber is closed */

struct mgmt;
struct mgmt_client;

/*
 * The node's one command handler: returns the result (a new reference, owned by mgmt from
 * then on) or NULL with err set (NULL without err set is answered as internal). Runs on the
 * loop; it may call mgmt_event(). c identifies the connection (mgmt_client_*()).
 */
typedef json_t *(*mgmt_handler_fn)(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
				   struct mgmt_error *err);

/* For handlers that dispatch by name: a table and mgmt_dispatch(). */
struct mgmt_command {
	const char *name;
	mgmt_handler_fn fn;
};
/* Calls the entry of table[0..n) named req->cmd, or answers unknown-command. */
json_t *mgmt_dispatch(const struct mgmt_command *table, size_t n, void *ctx,
		      const struct mgmt_request *req, struct mgmt_client *c,
		      struct mgmt_error *err);

struct mgmt_params {
	const char *path;     /* the socket (copied); at most MGMT_PATH_MAX - 1 bytes */
	mode_t mode;	      /* of the socket; 0: MGMT_SOCKET_MODE */
	const char *group;    /* group name (or number) of the socket; NULL: the process's */
	bool group_optional;  /* an unknown group is a warning (the socket keeps its group) */
	unsigned max_clients; /* 0: MGMT_MAX_CLIENTS */
	unsigned idle_secs;   /* 0: MGMT_IDLE_SECS */
	mgmt_handler_fn handler;
	void *ctx; /* passed to handler */
};

/*
 * Creates the socket's directory if missing (MGMT_DIR_MODE, whatever the umask), refuses to
 * start when a process answers on path (-EADDRINUSE: another node owns it) or when path is
 * something other than a socket (-EEXIST), replaces a stale socket, binds, sets the mode and
 * group, listens; non-blocking, close-on-exec. Every failure is logged with its reason.
 * Returns 0 or -errno (*out = NULL). Register it with mgmt_attach().
 */
int mgmt_open(const struct mgmt_params *p, struct mgmt **out) WUR;
/*
 * Closes every connection and the socket and removes the socket file if it is still the
 * one mgmt_open() made (unregisters from the loop first). Accepts NULL.
 */
void mgmt_close(struct mgmt *m);

/*
 * Registers the listening socket, and from then on every connection, in loop with kind:
 * the node passes events of that kind to mgmt_handle(). Handling may remove sources (the
 * loop's generation changes). 0 or -errno.
 */
int mgmt_attach(struct mgmt *m, struct loop *loop, int kind) WUR;
/* Handles an event of a source mgmt registered: accepts, reads and answers, writes. */
void mgmt_handle(struct mgmt *m, struct loop_src *src, uint32_t events);
/*
 * Once a second with the node's monotonic time in seconds: idle time-outs, and listening
 * again after the process ran out of file descriptors.
 */
void mgmt_tick(struct mgmt *m, int64_t now);

/*
 * Sends {"event": name, "time": "<RFC 3339, UTC>", ...fields} to every subscriber. Consumes
 * fields (an object or NULL; its "event" and "time" members are ignored). Returns the
 * number of subscribers it was queued for.
 */
int mgmt_event(struct mgmt *m, const char *name, json_t *fields);
/* True when someone subscribed (so the node can skip building events nobody reads). */
bool mgmt_has_subscribers(const struct mgmt *m);

/* Counters since mgmt_open(). */
struct mgmt_stats {
	uint64_t accepted;	 /* connections accepted */
	uint64_t refused;	 /* turned away (busy, or out of memory) */
	uint64_t requests;	 /* request lines answered */
	uint64_t errors;	 /* of them answered with an error */
	uint64_t overflows;	 /* connections closed because they did not read */
	uint64_t idle_closed;	 /* connections closed by the idle time-out */
	uint64_t events;	 /* event lines queued */
	uint64_t events_dropped; /* events dropped for slow subscribers */
};
const struct mgmt_stats *mgmt_get_stats(const struct mgmt *m);
/* Open connections. */
unsigned mgmt_client_count(const struct mgmt *m);
/* The socket path. */
const char *mgmt_path(const struct mgmt *m);

/* The connection's number (1, 2, ... since mgmt_open(), for logs). */
unsigned mgmt_client_id(const struct mgmt_client *c);
/* The connecting process's pid, uid and gid (SO_PEERCRED at accept). */
const struct ucred *mgmt_client_cred(const struct mgmt_client *c);
/* True once the connection sent `subscribe`. */
bool mgmt_client_subscribed(const struct mgmt_client *c);

/*
 * MGMT_SOCKET_DIR "/" name MGMT_SOCKET_SUFFIX into buf (dir: another directory, or NULL).
 * 0, -EINVAL for a name that is not [A-Za-z0-9._-]{1,MGMT_NAME_MAX} or starts with '.',
 * -ENAMETOOLONG when it does not fit buf or a socket address.
 */
int mgmt_socket_path(char *buf, size_t len, const char *dir, const char *name) WUR;

#endif

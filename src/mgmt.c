// SPDX-License-Identifier: GPL-3.0-or-later
/* mgmt.c - the management socket: JSON-lines requests, replies and events (HUB.md). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "meshvpn/log.h"
#include "meshvpn/mgmt.h"

#define ACCEPT_BATCH   16	   /* connections accepted per listener event */
#define READ_BATCH     4	   /* reads per client event (fairness between clients) */
#define OUT_KEEP       (64 * 1024) /* an emptied output buffer larger than this is freed */
#define LISTEN_BACKLOG 16

struct mgmt_client {
	struct loop_src src;
	struct mgmt *m;
	struct mgmt_client *next; /* in m->clients, or in m->dead once closed */
	unsigned id;
	struct ucred cred;
	uint32_t mask; /* events registered in the loop */
	bool subscriber;
	bool eof;	       /* the client shut down its side: answer, then close */
	bool skipping;	       /* inside a too-large line: discard up to its newline */
	bool dead;	       /* closed, waiting to be freed */
	int64_t last_in;       /* when it last sent something */
	int64_t last_out;      /* when its output last moved (or became pending) */
	unsigned long dropped; /* events dropped in a row */
	char *out;	       /* pending output: out[out_off .. out_len) */
	size_t out_off, out_len, out_cap;
	size_t in_len;
	char in[MGMT_LINE_MAX + 1]; /* a line and its newline */
};

struct mgmt {
	struct loop_src listen;
	struct loop *loop;
	bool listening; /* listen registered for EPOLLIN (off after EMFILE) */
	mgmt_handler_fn handler;
	void *ctx;
	unsigned max_clients, idle_secs;
	unsigned n_clients, n_subscribers, next_id;
	struct mgmt_client *clients;
	struct mgmt_client *dead; /* freed when no call into mgmt is running */
	unsigned busy;		  /* nesting of mgmt calls (a handler may call mgmt_event) */
	int64_t now;
	bool have_now;
	dev_t dev; /* of the socket file we made */
	ino_t ino;
	struct mgmt_stats stats;
	char path[MGMT_PATH_MAX];
};

/* ---- dispatch ---- */

json_t *mgmt_dispatch(const struct mgmt_command *table, size_t n, void *ctx,
		      const struct mgmt_request *req, struct mgmt_client *c, struct mgmt_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, req->cmd) == 0)
			return table[i].fn(ctx, req, c, err);
	return mgmt_unknown_command(req, err);
}

/* ---- socket path ---- */

int mgmt_socket_path(char *buf, size_t len, const char *dir, const char *name)
{
	size_t n =
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
	int w;

	if (n == 0 || n > MGMT_NAME_MAX || name[n] != '\0' || name[0] == '.')
		return -EINVAL;
	w = snprintf(buf, len, "%s/%s%s", dir ? dir : MGMT_SOCKET_DIR, name, MGMT_SOCKET_SUFFIX);
	if (w < 0 || (size_t)w >= len || w >= MGMT_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- output ---- */

/*
 * Answers on a hub carry new clients' private keys (client create, rotate-key): every buffer
 * that held an answer is wiped before it is freed or moved, and so are jansson's (see
 * mgmt_open). The management socket is far from the hot path.
 */
static void wipe_free(void *p)
{
	if (p) {
		sodium_memzero(p, malloc_usable_size(p));
		free(p);
	}
}

/* realloc() that leaves no copy behind. */
static void *wipe_realloc(void *p, size_t n)
{
	void *q = malloc(n);

	if (q && p) {
		size_t old = malloc_usable_size(p);
		memcpy(q, p, old < n ? old : n);
	}
	if (q)
		wipe_free(p);
	return q;
}

static size_t pending(const struct mgmt_client *c)
{
	return c->out_len - c->out_off;
}

static void set_mask(struct mgmt_client *c)
{
	uint32_t mask = (c->eof ? 0 : EPOLLIN) | (pending(c) ? EPOLLOUT : 0);

	if (mask == c->mask || c->dead)
		return;
	if (loop_mod(c->m->loop, &c->src, mask) == 0)
		c->mask = mask;
}

/* Closes the connection now; the struct is freed once no mgmt call is running. */
static void client_kill(struct mgmt_client *c)
{
	struct mgmt *m = c->m;
	struct mgmt_client **pp;

	if (c->dead)
		return;
	c->dead = true;
	loop_del(m->loop, &c->src);
	close(c->src.fd);
	c->src.fd = -1;
	for (pp = &m->clients; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	c->next = m->dead;
	m->dead = c;
	m->n_clients--;
	if (c->subscriber)
		m->n_subscribers--;
}

static void reap(struct mgmt *m)
{
	if (m->busy)
		return;
	while (m->dead) {
		struct mgmt_client *c = m->dead;

		m->dead = c->next;
		wipe_free(c->out);
		free(c);
	}
}

/* Writes what is pending. Returns false when that failed and the connection was closed. */
static bool flush(struct mgmt_client *c)
{
	while (pending(c)) {
		ssize_t w =
		    send(c->src.fd, c->out + c->out_off, pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			log_debug("management client %u: %s", c->id,
				  w < 0 ? strerror(errno) : "write returned 0");
			client_kill(c);
			return false;
		}
		c->out_off += (size_t)w;
		c->last_out = c->m->now;
	}
	if (!pending(c)) {
		if (c->out)
			sodium_memzero(c->out, c->out_len);
		c->out_off = c->out_len = 0;
		if (c->out_cap > OUT_KEEP) {
			wipe_free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
	set_mask(c);
	return true;
}

/*
 * Appends n bytes if they fit in MGMT_OUT_MAX (or the buffer is empty and big is set).
 * -ENOBUFS when they do not fit, -ENOMEM.
 */
static int out_append(struct mgmt_client *c, const char *s, size_t n, bool big)
{
	size_t p = pending(c);

	if (p + n > MGMT_OUT_MAX && !(big && p == 0))
		return -ENOBUFS;
	if (!p)
		c->last_out = c->m->now; /* the stall clock starts now */
	if (c->out_len + n > c->out_cap && c->out_off) {
		memmove(c->out, c->out + c->out_off, p);
		sodium_memzero(c->out + p, c->out_len - p); /* the sent bytes' old place */
		c->out_off = 0;
		c->out_len = p;
	}
	if (c->out_len + n > c->out_cap) {
		size_t cap = MAX(MAX(c->out_cap * 2, (size_t)4096), c->out_len + n);
		char *o = wipe_realloc(c->out, cap);

		if (!o)
			return -ENOMEM;
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
	return 0;
}

/* The compact text of v plus a newline (malloc'd), its length in *len; NULL on ENOMEM. */
static char *dump_line(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_COMPACT);
	char *t;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	t = wipe_realloc(s, n + 2);
	if (!t) {
		wipe_free(s);
		return NULL;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	*len = n + 1;
	return t;
}

/*
 * Queues the reply to req: result (borrowed) or err. A request without an id gets a reply
 * without one; a line that was no object gets "id": null.
 */
static void reply(struct mgmt_client *c, const struct mgmt_request *req, json_t *result,
		  const struct mgmt_error *err)
{
	json_t *o = json_object(), *body = NULL;
	char *line = NULL;
	size_t len = 0;
	int r = -ENOMEM;

	c->m->stats.requests++;
	if (!result)
		c->m->stats.errors++;
	if (!o)
		goto out;
	if (req->id || !json_is_object(req->root))
		if (json_object_set(o, "id", req->id ? req->id : json_null()) < 0)
			goto out;
	if (result)
		body = json_incref(result);
	else
		body = json_pack("{s:s,s:s}", "code", mgmt_code_name(err->code), "message",
				 err->message);
	if (!body || json_object_set_new(o, result ? "result" : "error", body) < 0)
		goto out;
	line = dump_line(o, &len);
	if (!line) {
		/* a result jansson cannot encode: say so instead of leaving the client waiting */
		json_object_del(o, "result");
		json_object_set_new(o, "error",
				    json_pack("{s:s,s:s}", "code", "internal", "message",
					      "the result cannot be encoded"));
		line = dump_line(o, &len);
		if (!line)
			goto out;
	}
	r = out_append(c, line, len, true);
	if (r == -ENOBUFS && flush(c)) /* the client may have taken some meanwhile */
		r = out_append(c, line, len, true);
out:
	if (r < 0 && !c->dead) {
		if (r == -ENOBUFS) {
			c->m->stats.overflows++;
			log_rl(LOG_WARN,
			       "management client %u (pid %d) does not read its replies; "
			       "disconnected",
			       c->id, (int)c->cred.pid);
		} else {
			log_rl(LOG_WARN, "management client %u: out of memory; disconnected",
			       c->id);
		}
		client_kill(c);
	}
	wipe_free(line);
	json_decref(o);
}

/* ---- requests ---- */

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static json_t *subscribe(struct mgmt_client *c, const struct mgmt_request *req,
			 struct mgmt_error *err)
{
	static const char *const none[] = {NULL};

	if (mgmt_args_only(req, NULL, none, err) < 0)
		return NULL;
	if (!c->subscriber) {
		c->subscriber = true;
		c->m->n_subscribers++;
	}
	return json_pack("{s:b}", "subscribed", 1);
}

static void handle_line(struct mgmt_client *c, const char *line, size_t n)
{
	struct mgmt *m = c->m;
	struct mgmt_request req;
	struct mgmt_error err;
	json_t *result = NULL;

	if (blank(line, n))
		return;
	if (mgmt_parse_request(line, n, &req, &err) == 0) {
		if (strcmp(req.cmd, "subscribe") == 0)
			result = subscribe(c, &req, &err);
		else
			result = m->handler(m->ctx, &req, c, &err);
		if (!result && err.code == MGMT_OK)
			mgmt_fail(&err, MGMT_ERR_INTERNAL, "command '%s' failed", req.cmd);
	}
	if (!result)
		log_debug("management client %u: %s: %s", c->id, mgmt_code_name(err.code),
			  err.message);
	if (!c->dead) /* the handler's events may have closed it */
		reply(c, &req, result, &err);
	json_decref(result);
	mgmt_request_free(&req);
}

static void too_large(struct mgmt_client *c)
{
	struct mgmt_request none = {0};
	struct mgmt_error err;

	mgmt_fail(&err, MGMT_ERR_TOO_LARGE, "request line longer than %d bytes", MGMT_LINE_MAX);
	reply(c, &none, NULL, &err);
}

/* Answers the complete lines in the input buffer and keeps the rest. */
static void process_input(struct mgmt_client *c)
{
	size_t start = 0;

	while (!c->dead) {
		char *line = c->in + start;
		char *nl = memchr(line, '\n', c->in_len - start);

		if (!nl)
			break;
		if (c->skipping)
			c->skipping = false;
		else
			handle_line(c, line, (size_t)(nl - line));
		start = (size_t)(nl - c->in) + 1;
	}
	if (c->dead)
		return;
	if (c->skipping) {
		c->in_len = 0;
		return;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len == sizeof(c->in)) { /* MGMT_LINE_MAX + 1 bytes and no newline */
		c->in_len = 0;
		c->skipping = true;
		too_large(c);
	}
}

static void client_readable(struct mgmt_client *c)
{
	for (int i = 0; i < READ_BATCH && !c->dead && !c->eof; i++) {
		ssize_t r =
		    recv(c->src.fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r < 0) {
			log_debug("management client %u: %s", c->id, strerror(errno));
			client_kill(c);
			return;
		}
		c->last_in = c->m->now;
		if (r == 0) {
			/* shut down by the client: a last line without its newline still counts */
			c->eof = true;
			if (c->in_len && !c->skipping)
				handle_line(c, c->in, c->in_len);
			c->in_len = 0;
			break;
		}
		c->in_len += (size_t)r;
		process_input(c);
	}
	if (!c->dead)
		flush(c);
}

/* ---- connections ---- */

static void refuse(struct mgmt *m, int fd, const char *why)
{
	char line[MGMT_MESSAGE_MAX + 64];
	int n = snprintf(line, sizeof(line),
			 "{\"id\":null,\"error\":{\"code\":\"busy\",\"message\":\"%s\"}}\n", why);

	/* best effort: a fresh socket has room for one short line */
	if (n > 0 && send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("management: refusing a connection: %s", strerror(errno));
	close(fd);
	m->stats.refused++;
}

static void accept_clients(struct mgmt *m)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(m->listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct mgmt_client *c;
		socklen_t cl;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* the connection stays queued: stop listening until the next tick
				 */
				log_rl(LOG_WARN, "management socket: cannot accept: %s",
				       strerror(errno));
				if (loop_mod(m->loop, &m->listen, 0) == 0)
					m->listening = false;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				   errno != ECONNABORTED) {
				log_rl(LOG_WARN, "management socket: accept: %s", strerror(errno));
			}
			return;
		}
		if (m->n_clients >= m->max_clients) {
			char why[96];

			snprintf(why, sizeof(why), "too many management connections (%u)",
				 m->max_clients);
			log_rl(LOG_WARN, "management socket: %s; refusing one", why);
			refuse(m, fd, why);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			refuse(m, fd, "out of memory");
			continue;
		}
		c->m = m;
		c->src.fd = fd;
		c->src.kind = m->listen.kind;
		c->id = ++m->next_id;
		c->last_in = c->last_out = m->now;
		cl = sizeof(c->cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &cl) < 0)
			c->cred = (struct ucred){.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
		if (loop_add(m->loop, &c->src, EPOLLIN) < 0) {
			free(c);
			refuse(m, fd, "cannot register the connection");
			continue;
		}
		c->mask = EPOLLIN;
		c->next = m->clients;
		m->clients = c;
		m->n_clients++;
		m->stats.accepted++;
		log_debug("management client %u connected (pid %d, uid %d)", c->id,
			  (int)c->cred.pid, (int)c->cred.uid);
	}
}

void mgmt_handle(struct mgmt *m, struct loop_src *src, uint32_t events)
{
	m->busy++;
	if (src == &m->listen) {
		accept_clients(m);
	} else {
		struct mgmt_client *c = container_of(src, struct mgmt_client, src);

		if (!c->dead && (events & EPOLLOUT))
			flush(c);
		if (!c->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->eof)
			client_readable(c);
		else if (!c->dead && (events & (EPOLLHUP | EPOLLERR)))
			client_kill(c); /* gone for good after its EOF */
		/* after EOF and the last reply: done (a subscriber may still get events) */
		if (!c->dead && c->eof && !pending(c) && !c->subscriber)
			client_kill(c);
	}
	m->busy--;
	reap(m);
}

void mgmt_tick(struct mgmt *m, int64_t now)
{
	struct mgmt_client *c, *next;

	m->busy++;
	if (!m->have_now) { /* times taken before the first tick are 0: start them now */
		for (c = m->clients; c; c = c->next)
			c->last_in = c->last_out = now;
		m->have_now = true;
	}
	m->now = now;
	if (m->loop && !m->listening && loop_mod(m->loop, &m->listen, EPOLLIN) == 0)
		m->listening = true;
	for (c = m->clients; c; c = next) {
		int64_t idle = c->subscriber ? (pending(c) ? now - c->last_out : 0)
					     : now - MAX(c->last_in, c->last_out);

		next = c->next;
		if (idle >= (int64_t)m->idle_secs) {
			log_debug("management client %u idle for %lld s; closing", c->id,
				  (long long)idle);
			m->stats.idle_closed++;
			client_kill(c);
		}
	}
	m->busy--;
	reap(m);
}

/* ---- events ---- */

static void rfc3339_now(char buf[32])
{
	struct tm tm;
	time_t t = time(NULL);

	if (!gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		strcpy(buf, "1970-01-01T00:00:00Z");
}

/* Queues one event line for c, first the notice of what it missed; false if dropped. */
static bool queue_event(struct mgmt_client *c, const char *line, size_t len, const char *time)
{
	char notice[128];
	int nn = 0;

	if (c->dropped)
		nn = snprintf(notice, sizeof(notice),
			      "{\"event\":\"events-dropped\",\"time\":\"%s\",\"dropped\":%lu}\n",
			      time, c->dropped);
	if (pending(c) + (size_t)nn + len > MGMT_OUT_MAX && !flush(c))
		return false;
	if (pending(c) + (size_t)nn + len > MGMT_OUT_MAX) {
		c->dropped++;
		c->m->stats.events_dropped++;
		if (c->dropped >= MGMT_EVENT_DROP_MAX) {
			log_rl(LOG_WARN,
			       "management client %u (pid %d) does not read its events "
			       "(%lu dropped); disconnected",
			       c->id, (int)c->cred.pid, c->dropped);
			c->m->stats.overflows++;
			client_kill(c);
		}
		return false;
	}
	if ((nn && out_append(c, notice, (size_t)nn, false) < 0) ||
	    out_append(c, line, len, false) < 0) {
		client_kill(c); /* out of memory */
		return false;
	}
	c->dropped = 0;
	c->m->stats.events++;
	return flush(c);
}

int mgmt_event(struct mgmt *m, const char *name, json_t *fields)
{
	struct mgmt_client *c, *next;
	char now[32], *line = NULL;
	json_t *o = NULL;
	size_t len;
	int n = 0;

	if (!m->n_subscribers)
		goto out;
	rfc3339_now(now);
	o = json_pack("{s:s,s:s}", "event", name, "time", now);
	if (!o || (json_is_object(fields) && json_object_update_missing(o, fields) < 0))
		goto out;
	line = dump_line(o, &len);
	if (!line)
		goto out;
	m->busy++;
	for (c = m->clients; c; c = next) {
		next = c->next;
		if (c->subscriber && queue_event(c, line, len, now))
			n++;
	}
	m->busy--;
	reap(m);
out:
	if (!line && m->n_subscribers)
		log_rl(LOG_WARN, "management: cannot build the event %s", name);
	free(line);
	json_decref(o);
	json_decref(fields);
	return n;
}

bool mgmt_has_subscribers(const struct mgmt *m)
{
	return m->n_subscribers > 0;
}

/* ---- the socket ---- */

/* Creates the socket's directory (one level) if missing. 0 or -errno (logged). */
static int make_dir(const char *path)
{
	char dir[MGMT_PATH_MAX];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0; /* the current directory or / */
	*slash = '\0';
	if (mkdir(dir, MGMT_DIR_MODE) == 0) {
		/* mkdir honours the umask (the daemon's is 027): members must get through */
		if (chmod(dir, MGMT_DIR_MODE) < 0)
			log_warn("cannot set the mode of %s: %s", dir, strerror(errno));
		return 0;
	}
	if (errno != EEXIST) {
		int r = -errno;
		log_err("cannot create the directory %s of the management socket: %s", dir,
			strerror(-r));
		return r;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_err("%s (directory of the management socket) is not a directory", dir);
		return -ENOTDIR;
	}
	return 0;
}

/* Whatever is at path: nothing or a stale socket (removed) gives 0; else -errno, logged. */
static int clear_path(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		log_err("management socket %s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("management socket %s: the path exists and is not a socket; not replacing "
			"it",
			path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? 0 : -errno;
	close(fd);
	/* EAGAIN: a listener whose backlog is full, also alive */
	if (r == 0 || r == -EAGAIN) {
		log_err("management socket %s is in use: another node is running with it (choose "
			"another management.socket)",
			path);
		return -EADDRINUSE;
	}
	if (r != -ECONNREFUSED) {
		log_err("management socket %s exists and cannot be checked: %s", path,
			strerror(-r));
		return r;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		r = -errno;
		log_err("cannot remove the stale management socket %s: %s", path, strerror(-r));
		return r;
	}
	log_info("Replaced the stale management socket %s", path);
	return 0;
}

/* The gid of a group name or number: 0 (*gid set), -ENOENT. */
static int lookup_group(const char *name, gid_t *gid)
{
	struct group *gr = getgrnam(name);
	char *end;
	unsigned long v;

	if (gr) {
		*gid = gr->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(name, &end, 10);
	if (*name >= '0' && *name <= '9' && !*end && !errno && v < (gid_t)-1) {
		*gid = (gid_t)v;
		return 0;
	}
	return -ENOENT;
}

/* Mode and group of the freshly bound socket (not listening yet, so nobody is in). */
static int set_owner(const struct mgmt_params *p, const char *path)
{
	mode_t mode = p->mode ? p->mode : MGMT_SOCKET_MODE;
	gid_t gid;
	int r;

	if (chmod(path, mode) < 0) {
		r = -errno;
		log_err("cannot set the mode of the management socket %s: %s", path, strerror(-r));
		return r;
	}
	if (!p->group)
		return 0;
	if (lookup_group(p->group, &gid) < 0) {
		if (p->group_optional) {
			log_warn("management socket %s: no group '%s'; only its owner can use it",
				 path, p->group);
			return 0;
		}
		log_err("management socket %s: no group '%s'", path, p->group);
		return -ENOENT;
	}
	if (chown(path, (uid_t)-1, gid) < 0) {
		r = -errno;
		log_err("cannot give the management socket %s to group %s: %s", path, p->group,
			strerror(-r));
		return r;
	}
	return 0;
}

int mgmt_open(const struct mgmt_params *p, struct mgmt **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct mgmt *m = NULL;
	struct stat st;
	bool bound = false;
	int r;

	*out = NULL;
	if (!p->path || !*p->path || !p->handler)
		return -EINVAL;
	json_set_alloc_funcs(malloc, wipe_free); /* process-wide; malloc's blocks either way */
	if (strlen(p->path) >= sizeof(sa.sun_path)) {
		log_err("management socket %s: the path is longer than %zu bytes", p->path,
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, p->path, strlen(p->path) + 1);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->listen.fd = -1;
	memcpy(m->path, p->path, strlen(p->path) + 1);
	m->handler = p->handler;
	m->ctx = p->ctx;
	m->max_clients = p->max_clients ? p->max_clients : MGMT_MAX_CLIENTS;
	m->idle_secs = p->idle_secs ? p->idle_secs : MGMT_IDLE_SECS;
	if ((r = make_dir(m->path)) < 0 || (r = clear_path(m->path, &sa)) < 0)
		goto out;
	m->listen.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen.fd < 0) {
		r = -errno;
		log_err("management socket: %s", strerror(-r));
		goto out;
	}
	if (bind(m->listen.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		log_err("cannot bind the management socket %s: %s", m->path, strerror(-r));
		goto out;
	}
	bound = true;
	if (stat(m->path, &st) == 0) {
		m->dev = st.st_dev;
		m->ino = st.st_ino;
	}
	if ((r = set_owner(p, m->path)) < 0)
		goto out;
	if (listen(m->listen.fd, LISTEN_BACKLOG) < 0) {
		r = -errno;
		log_err("cannot listen on the management socket %s: %s", m->path, strerror(-r));
		goto out;
	}
	log_info("Management socket %s", m->path);
	*out = m;
	return 0;
out:
	if (bound)
		unlink(m->path);
	if (m->listen.fd >= 0)
		close(m->listen.fd);
	free(m);
	return r;
}

int mgmt_attach(struct mgmt *m, struct loop *loop, int kind)
{
	int r;

	m->loop = loop;
	m->listen.kind = kind;
	r = loop_add(loop, &m->listen, EPOLLIN);
	m->listening = r == 0;
	if (r < 0)
		m->loop = NULL;
	return r;
}

void mgmt_close(struct mgmt *m)
{
	struct stat st;

	if (!m)
		return;
	m->busy++;
	while (m->clients)
		client_kill(m->clients);
	m->busy--;
	reap(m);
	if (m->loop)
		loop_del(m->loop, &m->listen);
	close(m->listen.fd);
	/* a socket someone else put there after us (after a manual removal) stays */
	if (lstat(m->path, &st) == 0 && st.st_dev == m->dev && st.st_ino == m->ino &&
	    unlink(m->path) < 0)
		log_debug("cannot remove the management socket %s: %s", m->path, strerror(errno));
	free(m);
}

const struct mgmt_stats *mgmt_get_stats(const struct mgmt *m)
{
	return &m->stats;
}

unsigned mgmt_client_count(const struct mgmt *m)
{
	return m->n_clients;
}

const char *mgmt_path(const struct mgmt *m)
{
	return m->path;
}

unsigned mgmt_client_id(const struct mgmt_client *c)
{
	return c->id;
}

const struct ucred *mgmt_client_cred(const struct mgmt_client *c)
{
	return &c->cred;
}

bool mgmt_client_subscribed(const struct mgmt_client *c)
{
	return c->subscriber;
}

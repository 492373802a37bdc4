// SPDX-License-Identifier: GPL-3.0-or-later
/* ctl.c - `meshvpn ctl` / `meshvpn hub`: command line -> request, socket, reply -> output. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "meshvpn/ctl.h"
#include "meshvpn/ctl_print.h"
#include "meshvpn/mgmt.h"
#include "meshvpn/ratelimit.h"

#define TIMEOUT_MAX   86400 /* seconds of --timeout */
#define RETRY_MS      20    /* between connects while the node's backlog is full */
#define REQUEST_ID    1
#define SOCKETS_SHOWN 8 /* names listed when several nodes run */

/* What a command takes besides the global options. */
enum {
	T_ID = 0x1,	/* one positional ID */
	T_CLIENT = 0x2, /* the client options (create, update) */
	T_UPDATE = 0x4, /* update: clearing values, client tags, at least one change */
	T_RAW = 0x8,	/* call CMD [JSON] */
};

static const struct ctl_cmd {
	const char *name;
	bool hub; /* a hub command: reachable with `meshvpn hub` */
	unsigned takes;
	const char *synopsis;
	const char *help;
} cmds[] = {
    {"status", false, 0, "", "the node: version, key, uptime, device, listen address"},
    {"peers", false, 0, "", "connected peers: path, algorithm, RTT, traffic, handshake"},
    {"stats", false, 0, "", "traffic and drop counters"},
    {"subscribe", false, 0, "", "print events as they happen, until interrupted"},
    {"call", false, T_RAW, "CMD [ARGS-JSON]", "any command; prints the raw result"},
    {"create", true, T_ID | T_CLIENT, "ID [CLIENT OPTIONS]",
     "enrol a client: its bundle (with its private key) on stdout"},
    {"get", true, T_ID, "ID", "one client's registry entry"},
    {"list", true, 0, "", "every client"},
    {"update", true, T_ID | T_CLIENT | T_UPDATE, "ID CLIENT OPTIONS",
     "change a client (given fields replace)"},
    {"enable", true, T_ID, "ID", "allow a client to connect again"},
    {"disable", true, T_ID, "ID", "refuse a client (and close its connections)"},
    {"remove", true, T_ID, "ID", "delete a client from the registry"},
    {"rotate-key", true, T_ID, "ID", "new key pair: the new bundle on stdout"},
    {"export", true, T_ID, "ID", "the client's bundle without its private key"},
    {"connections", true, 0, "", "clients connected now"},
    {"disconnect", true, T_ID, "ID", "close a client's connections"},
    {"telemetry", true, T_ID, "ID", "a client's link quality: RTT, jitter, loss, health"},
};

enum {
	O_SOCKET = 's',
	O_NAME = 'n',
	O_JSON = 'j',
	O_TIMEOUT = 't',
	O_HELP = 'h',
	O_DESCRIPTION = 256,
	O_TAG,
	O_NO_TAGS,
	O_CLIENT_TAG,
	O_NO_CLIENT_TAGS,
	O_EXPIRES,
	O_SOURCE_ALLOW,
	O_SOURCE_BLOCK,
	O_DEST_ALLOW,
	O_DEST_BLOCK,
	O_MAX_CONNECTIONS,
	O_RATE_LIMIT,
};

static const struct option long_opts[] = {
    {"socket", required_argument, NULL, O_SOCKET},
    {"name", required_argument, NULL, O_NAME},
    {"json", no_argument, NULL, O_JSON},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"help", no_argument, NULL, O_HELP},
    {"description", required_argument, NULL, O_DESCRIPTION},
    {"tag", required_argument, NULL, O_TAG},
    {"no-tags", no_argument, NULL, O_NO_TAGS},
    {"client-tag", required_argument, NULL, O_CLIENT_TAG},
    {"no-client-tags", no_argument, NULL, O_NO_CLIENT_TAGS},
    {"expires", required_argument, NULL, O_EXPIRES},
    {"source-allow", required_argument, NULL, O_SOURCE_ALLOW},
    {"source-block", required_argument, NULL, O_SOURCE_BLOCK},
    {"destination-allow", required_argument, NULL, O_DEST_ALLOW},
    {"destination-block", required_argument, NULL, O_DEST_BLOCK},
    {"max-connections", required_argument, NULL, O_MAX_CONNECTIONS},
    {"rate-limit", required_argument, NULL, O_RATE_LIMIT},
    {NULL, 0, NULL, 0},
};
static const char short_opts[] = ":s:n:jt:h";

/* The client options: where each goes in the request ("security.x" is nested). */
static const struct {
	int opt;
	const char *key;
	bool update_only;
} client_opts[] = {
    {O_DESCRIPTION, "description", false},
    {O_TAG, "server-tags", false},
    {O_NO_TAGS, "server-tags", true},
    {O_CLIENT_TAG, "client-tags", true},
    {O_NO_CLIENT_TAGS, "client-tags", true},
    {O_EXPIRES, "expires", false},
    {O_SOURCE_ALLOW, "security.source-allow", false},
    {O_SOURCE_BLOCK, "security.source-block", false},
    {O_DEST_ALLOW, "security.destination-allow", false},
    {O_DEST_BLOCK, "security.destination-block", false},
    {O_MAX_CONNECTIONS, "security.max-connections", false},
    {O_RATE_LIMIT, "security.rate-limit", false},
};

static int PRINTF(3, 4) usage_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *front_name(enum ctl_front f)
{
	return f == CTL_FRONT_HUB ? "hub" : "ctl";
}

static const struct ctl_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static const char *opt_name(int c)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

void ctl_usage(FILE *out, enum ctl_front front)
{
	const char *f = front_name(front);

	fprintf(out,
		"Usage: meshvpn %s [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Talks to a running node over its management socket.\n"
		"\n"
		"Options (before or after the command):\n"
		"  -s, --socket PATH     the node's socket\n"
		"  -n, --name NAME       the socket " MGMT_SOCKET_DIR "/NAME" MGMT_SOCKET_SUFFIX
		" (default: the only\n"
		"                        socket there)\n"
		"  -j, --json            print the raw result (one JSON object) for scripts\n"
		"  -t, --timeout SECS    give up after SECS (default %d, 0 = never)\n"
		"  -h, --help            show this help\n"
		"\n"
		"Commands:\n",
		f, CTL_TIMEOUT_SECS);
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		char head[64];

		if (front == CTL_FRONT_HUB && !cmds[i].hub)
			continue;
		snprintf(head, sizeof(head), "%s %s", cmds[i].name, cmds[i].synopsis);
		fprintf(out, "  %-31s %s\n", head, cmds[i].help);
	}
	if (front == CTL_FRONT_CTL)
		fprintf(out, "\nThe hub commands are also 'meshvpn hub COMMAND' (meshvpn hub "
			     "--help).\n");
	fprintf(
	    out,
	    "\n"
	    "Client options (create, update):\n"
	    "  --description TEXT\n"
	    "  --tag TAG[,TAG...]            server tags (repeatable)\n"
	    "  --expires TIME                RFC 3339, e.g. 2027-01-01T00:00:00Z; update: never\n"
	    "  --source-allow ACL[,ACL...]   remote addresses allowed to connect\n"
	    "  --source-block ACL[,ACL...]   remote addresses refused\n"
	    "  --destination-allow ACL[,...] overlay destinations allowed via the hub\n"
	    "  --destination-block ACL[,...] overlay destinations refused\n"
	    "  --max-connections N           sessions at a time (0: any); a new one replaces the\n"
	    "                                oldest\n"
	    "  --rate-limit RATE[:BURST]     bytes/s and bytes, suffix k M G (1000); 0: no limit;\n"
	    "                                update: default (the hub's)\n"
	    "  update only: --no-tags, --client-tag TAG, --no-client-tags; a list given as\n"
	    "  'none' is emptied\n"
	    "ACL: an IP, CIDR, wildcard (192.168.1.*) or range (10.0.0.1-10.0.0.50).\n"
	    "\n"
	    "Example: meshvpn hub create alice --tag engineering --destination-allow "
	    "10.0.0.0/8 > alice.net\n"
	    "Exit status: 0 ok, 1 the node reported an error, 2 usage, 3 no answer from the "
	    "node.\n");
}

/* The object at the dotted path key in args (creating "security"), and the last part. */
static json_t *slot(json_t *args, const char *key, const char **last)
{
	const char *dot = strchr(key, '.');
	json_t *sub;

	if (!dot) {
		*last = key;
		return args;
	}
	sub = json_object_getn(args, key, (size_t)(dot - key));
	if (!sub) {
		sub = json_object();
		if (!sub || json_object_setn_new(args, key, (size_t)(dot - key), sub) < 0)
			return NULL;
	}
	*last = dot + 1;
	return sub;
}

static int set_value(json_t *args, const char *key, json_t *v)
{
	const char *last;
	json_t *o = v ? slot(args, key, &last) : NULL;

	if (!o || json_object_set_new(o, last, v) < 0)
		return -ENOMEM;
	return 0;
}

/*
 * A list option: the comma-separated items are appended to the list at key (created on
 * first use); "none" empties it (what was given before it is dropped).
 */
static int add_items(json_t *args, const char *key, const char *arg, const char *opt, char *why,
		     size_t len)
{
	const char *last, *p = arg;
	json_t *o = slot(args, key, &last), *list;

	if (!o)
		return -ENOMEM;
	list = json_object_get(o, last);
	if (!list) {
		list = json_array();
		if (!list || json_object_set_new(o, last, list) < 0)
			return -ENOMEM;
	}
	if (strcmp(arg, "none") == 0)
		return json_array_clear(list) < 0 ? -ENOMEM : 0;
	for (;;) {
		size_t n = strcspn(p, ",");

		if (n == 0)
			return usage_fail(why, len, "option --%s: empty element in '%s'", opt, arg);
		if (json_array_append_new(list, json_stringn(p, n)) < 0)
			return usage_fail(why, len, "option --%s: '%s' is not valid UTF-8", opt,
					  arg);
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/*
 * RATE[:BURST] as the config reads it (ratelimit.h: k, M, G; RATE 0 = no limit), or, when
 * clearing is allowed, "default" (null). Without BURST the hub chooses.
 */
static int rate_limit(json_t *args, const char *arg, bool update, char *why, size_t len)
{
	const char *colon = strchr(arg, ':');
	struct ratelimit_conf c = {0};
	struct ratelimit_error e = {""};
	char rate[64];
	json_t *v;

	if (strcmp(arg, "default") == 0)
		return update ? set_value(args, "security.rate-limit", json_null()) : 0;
	if (snprintf(rate, sizeof(rate), "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg),
		     arg) >= (int)sizeof(rate))
		return usage_fail(why, len, "option --rate-limit: '%s' is too long", arg);
	if (ratelimit_parse_bytes(rate, &c.rate, &e) < 0 ||
	    (colon &&
	     (ratelimit_parse_bytes(colon + 1, &c.burst, &e) < 0 || ratelimit_check(&c, &e) < 0)))
		return usage_fail(why, len, "option --rate-limit: %s (RATE[:BURST], e.g. 10M:1M%s)",
				  e.msg[0] ? e.msg : arg, update ? ", or default" : "");
	v = colon ? json_pack("{s:I,s:I}", "rate", (json_int_t)c.rate, "burst", (json_int_t)c.burst)
		  : json_pack("{s:I}", "rate", (json_int_t)c.rate);
	return set_value(args, "security.rate-limit", v);
}

/* One client option into args. */
static int client_option(struct ctl_opts *o, int c, const char *arg, bool update, char *why,
			 size_t len)
{
	const char *key = NULL;
	char *end;
	long n;

	for (size_t i = 0; i < ARRAY_SIZE(client_opts); i++)
		if (client_opts[i].opt == c) {
			if (client_opts[i].update_only && !update)
				return usage_fail(why, len, "option --%s is only for update",
						  opt_name(c));
			key = client_opts[i].key;
		}
	switch (c) {
	case O_DESCRIPTION: {
		json_t *s = json_string(arg);
		if (!s)
			return usage_fail(why, len, "option --description: not valid UTF-8");
		return set_value(o->args, key, s);
	}
	case O_EXPIRES:
		if (strcmp(arg, "never") == 0)
			return update ? set_value(o->args, key, json_null()) : 0;
		{
			json_t *s = json_string(arg); /* the node checks the format */
			if (!s)
				return usage_fail(why, len, "option --expires: not valid UTF-8");
			return set_value(o->args, key, s);
		}
	case O_NO_TAGS:
	case O_NO_CLIENT_TAGS:
		return set_value(o->args, key, json_array());
	case O_MAX_CONNECTIONS:
		errno = 0;
		n = strtol(arg, &end, 10);
		if (errno || end == arg || *end || n < 0 || n > 1000000)
			return usage_fail(why, len,
					  "option --max-connections: '%s' is not a number 0 to "
					  "1000000",
					  arg);
		return set_value(o->args, key, json_integer(n));
	case O_RATE_LIMIT:
		return rate_limit(o->args, arg, update, why, len);
	default: /* the lists */
		return add_items(o->args, key, arg, opt_name(c), why, len);
	}
}

static int parse_timeout(const char *arg, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= 0 && v <= TIMEOUT_MAX))
		return -EINVAL;
	*ms = v > 0 ? MAX(1, (int)(v * 1000)) : 0;
	return 0;
}

/* The positional arguments after the command: ID, or call's CMD [JSON]. */
static int positionals(struct ctl_opts *o, const struct ctl_cmd *cmd, int n, char **pos, char *why,
		       size_t len)
{
	const char *f = front_name(o->front);

	if (cmd->takes & T_RAW) {
		json_error_t e;
		json_t *a;

		if (n < 1 || n > 2)
			return usage_fail(why, len, "usage: meshvpn %s call CMD [ARGS-JSON]", f);
		o->cmd = pos[0];
		o->raw = true;
		if (n == 1)
			return 0;
		a = json_loads(pos[1], 0, &e);
		if (!a)
			return usage_fail(why, len, "call: the arguments are not JSON: %s", e.text);
		if (!json_is_object(a)) {
			json_decref(a);
			return usage_fail(why, len, "call: the arguments must be a JSON object");
		}
		json_decref(o->args);
		o->args = a;
		return 0;
	}
	if (cmd->takes & T_ID) {
		json_t *id;

		if (n != 1)
			return usage_fail(why, len, "usage: meshvpn %s %s %s", f, cmd->name,
					  cmd->synopsis);
		id = json_string(pos[0]);
		if (!id || json_object_set_new(o->args, "id", id) < 0)
			return usage_fail(why, len, "%s: the ID is not valid UTF-8", cmd->name);
		return 0;
	}
	if (n > 0)
		return usage_fail(why, len, "unexpected argument '%s' for %s", pos[0], cmd->name);
	return 0;
}

int ctl_parse(int argc, char **argv, struct ctl_opts *o, char *why, size_t len)
{
	int pending[64]; /* client options, applied once the command is known */
	char *pending_arg[64];
	const struct ctl_cmd *cmd;
	int np = 0, c, r;
	char *pos[8];
	int npos = 0;

	memset(o, 0, sizeof(*o));
	o->front = argc > 0 && strcmp(argv[0], "hub") == 0 ? CTL_FRONT_HUB : CTL_FRONT_CTL;
	o->timeout_ms = CTL_TIMEOUT_SECS * 1000;
	o->args = json_object();
	if (!o->args)
		return usage_fail(why, len, "out of memory");
	why[0] = '\0';
	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	/*
	 * Options may follow the command (getopt permutes); the ones of create/update are
	 * applied once the command is known, in their order.
	 */
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case O_SOCKET:
			o->socket = optarg;
			break;
		case O_NAME:
			o->name = optarg;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_TIMEOUT:
			if (parse_timeout(optarg, &o->timeout_ms) < 0)
				return usage_fail(why, len,
						  "option --timeout: '%s' is not 0 to %d seconds",
						  optarg, TIMEOUT_MAX);
			break;
		case O_HELP:
			o->help = true;
			return 0;
		case ':':
			return usage_fail(why, len, "option %s requires a value", argv[optind - 1]);
		case '?':
			if (optopt)
				return usage_fail(why, len, "unknown option -%c", optopt);
			return usage_fail(why, len, "unknown option '%s'", argv[optind - 1]);
		default:
			if (np == (int)ARRAY_SIZE(pending))
				return usage_fail(why, len, "too many options");
			pending[np] = c;
			pending_arg[np++] = optarg;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (npos == (int)ARRAY_SIZE(pos))
			return usage_fail(why, len, "too many arguments");
		pos[npos++] = argv[i];
	}
	if (o->socket && o->name)
		return usage_fail(why, len, "--socket and -n/--name cannot be used together");
	if (npos == 0)
		return usage_fail(why, len, "no command given");
	cmd = find_cmd(pos[0]);
	if (!cmd)
		return usage_fail(why, len, "unknown command '%s'", pos[0]);
	if (o->front == CTL_FRONT_HUB && !cmd->hub)
		return usage_fail(why, len, "'%s' is not a hub command (meshvpn ctl %s)", pos[0],
				  pos[0]);
	o->cmd = cmd->name;
	for (int i = 0; i < np; i++) {
		if (!(cmd->takes & T_CLIENT))
			return usage_fail(why, len, "option --%s is not valid for %s",
					  opt_name(pending[i]), cmd->name);
		r = client_option(o, pending[i], pending_arg[i], cmd->takes & T_UPDATE, why, len);
		if (r < 0)
			return r == -ENOMEM ? usage_fail(why, len, "out of memory") : r;
	}
	if ((cmd->takes & T_UPDATE) && np == 0)
		return usage_fail(why, len, "update: nothing to change (see meshvpn hub --help)");
	return positionals(o, cmd, npos - 1, pos + 1, why, len);
}

void ctl_opts_free(struct ctl_opts *o)
{
	json_decref(o->args);
	o->args = NULL;
}

/* ---- the socket ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (-1: none), for poll(). */
static int left(int64_t deadline)
{
	int64_t l;

	if (deadline < 0)
		return -1;
	l = deadline - now_ms();
	return l > 0 ? (int)MIN(l, (int64_t)1 << 30) : 0;
}

static int connect_to(const char *path, int64_t deadline)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		r = -errno;
		if (r == -EINTR)
			continue;
		/* a Unix socket whose backlog is full: the node lives but has not accepted */
		if (r != -EAGAIN)
			break;
		if (left(deadline) == 0) {
			r = -ETIMEDOUT;
			break;
		}
		poll(NULL, 0, MIN(RETRY_MS, left(deadline) < 0 ? RETRY_MS : left(deadline)));
	}
	close(fd);
	return r;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r;

	do
		r = poll(&p, 1, left(deadline));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int send_all(int fd, const char *s, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		int r;

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
				return r;
			continue;
		}
		if (w < 0)
			return -errno;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
};

/*
 * The next line (NUL-terminated, in c->buf, consumed by the next call; *n its length).
 * 1, 0 at EOF, -ETIMEDOUT, -EMSGSIZE, -errno.
 */
static int read_line(struct conn *c, size_t *consumed, size_t *n, int64_t deadline)
{
	size_t scanned = 0;

	if (*consumed) { /* drop the line returned last time */
		memmove(c->buf, c->buf + *consumed, c->len - *consumed);
		c->len -= *consumed;
		*consumed = 0;
	}
	for (;;) {
		char *nl = c->buf ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
		ssize_t r;
		int w;

		if (nl) {
			*nl = '\0';
			*n = (size_t)(nl - c->buf);
			*consumed = *n + 1;
			return 1;
		}
		scanned = c->len;
		if (c->len + 4096 > c->cap) {
			size_t cap = MAX(c->cap * 2, (size_t)65536);
			char *b;

			if (c->cap >= CTL_REPLY_MAX)
				return -EMSGSIZE;
			b = realloc(c->buf, cap);
			if (!b)
				return -ENOMEM;
			c->buf = b;
			c->cap = cap;
		}
		r = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((w = wait_fd(c->fd, POLLIN, deadline)) < 0)
				return w;
			continue;
		}
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		c->len += (size_t)r;
	}
}

/* ---- running a command ---- */

struct run {
	const struct ctl_opts *o;
	FILE *out, *err;
	const char *path;
	char prefix[64]; /* "meshvpn hub create" */
};

static int PRINTF(3, 4) say(struct run *r, int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(r->err, "%s: ", r->prefix);
	va_start(ap, fmt);
	vfprintf(r->err, fmt, ap);
	va_end(ap);
	fputc('\n', r->err);
	return status;
}

/* Finds the only socket in dir. 0 (path in buf), or an exit status (reported). */
static int only_socket(struct run *r, const char *dir, char *buf, size_t len)
{
	char names[SOCKETS_SHOWN * (MGMT_NAME_MAX + 2)] = "";
	size_t suf = strlen(MGMT_SOCKET_SUFFIX);
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return say(r, CTL_EXIT_UNREACHABLE,
			   "cannot open %s: %s\n  Is a node running? Choose one with -n NAME or "
			   "--socket PATH.",
			   dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n <= suf || e->d_name[0] == '.' ||
		    strcmp(e->d_name + n - suf, MGMT_SOCKET_SUFFIX) != 0 ||
		    strlen(dir) + 1 + n >= MIN(len, (size_t)MGMT_PATH_MAX))
			continue; /* not a socket's name, or too long for a socket address */
		if (found == 0 && snprintf(buf, len, "%s/%s", dir, e->d_name) < 0)
			continue;
		if (found < SOCKETS_SHOWN)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%.*s",
				 found ? ", " : "", (int)(n - suf), e->d_name);
		found++;
	}
	closedir(d);
	if (found == 1)
		return 0;
	if (found == 0)
		return say(r, CTL_EXIT_UNREACHABLE,
			   "no management socket in %s\n  Is the node running? Choose its socket "
			   "with -n NAME or --socket PATH.",
			   dir);
	return say(r, CTL_EXIT_USAGE, "several nodes run (%s%s): choose one with -n NAME", names,
		   found > SOCKETS_SHOWN ? ", ..." : "");
}

static int unreachable(struct run *r, int e)
{
	const char *hint = "";

	switch (-e) {
	case ENOENT:
		hint = "\n  Is the node running? Choose its socket with -n NAME (" MGMT_SOCKET_DIR
		       "/NAME" MGMT_SOCKET_SUFFIX ") or --socket PATH.";
		break;
	case ECONNREFUSED:
		hint = "\n  Nobody listens there: the node is not running (a stale socket).";
		break;
	case EACCES:
	case EPERM:
		hint = "\n  Run as root or as a member of the socket's group (management.group of "
		       "the node).";
		break;
	case ETIMEDOUT:
		return say(r, CTL_EXIT_UNREACHABLE,
			   "%s: no answer within %d ms\n  The node is busy or hung; --timeout "
			   "SECS waits longer.",
			   r->path, r->o->timeout_ms);
	}
	return say(r, CTL_EXIT_UNREACHABLE, "cannot connect to %s: %s%s", r->path, strerror(-e),
		   hint);
}

/* Prints events until the connection ends. */
static int events(struct run *r, struct conn *c, size_t *consumed)
{
	size_t n;

	if (!r->o->json)
		fprintf(r->err, "Subscribed to %s; events follow (Ctrl-C ends).\n", r->path);
	for (;;) {
		int k = read_line(c, consumed, &n, -1);
		json_t *ev;

		if (k <= 0)
			return k == 0
				   ? say(r, CTL_EXIT_UNREACHABLE, "the node closed the connection")
				   : say(r, CTL_EXIT_UNREACHABLE, "reading events: %s",
					 strerror(-k));
		ev = json_loadb(c->buf, n, 0, NULL);
		if (!json_is_object(ev) || !json_object_get(ev, "event")) {
			json_decref(ev);
			continue; /* not an event: a reply to nothing we sent */
		}
		if (r->o->json)
			fprintf(r->out, "%s\n", c->buf);
		else
			ctl_print_event(r->out, ev);
		json_decref(ev);
		if (fflush(r->out) != 0)
			return 0; /* whoever read the events has gone (| head) */
	}
}

/* The reply to our request: result (new reference) or the exit status of an error. */
static int answer(struct run *r, struct conn *c, size_t *consumed, json_t **result)
{
	int64_t deadline = r->o->timeout_ms ? now_ms() + r->o->timeout_ms : -1;
	size_t n;

	for (;;) {
		int k = read_line(c, consumed, &n, deadline);
		json_t *v, *id, *e;

		if (k < 0 && k != -ETIMEDOUT)
			return say(r, CTL_EXIT_UNREACHABLE, "reading the reply: %s", strerror(-k));
		if (k < 0)
			return unreachable(r, k);
		if (k == 0)
			return say(r, CTL_EXIT_UNREACHABLE,
				   "the node closed the connection without "
				   "an answer");
		v = json_loadb(c->buf, n, 0, NULL);
		id = json_object_get(v, "id");
		e = json_object_get(v, "error");
		if (json_is_integer(id) && json_integer_value(id) == REQUEST_ID &&
		    json_object_get(v, "result")) {
			*result = json_incref(json_object_get(v, "result"));
			json_decref(v);
			return 0;
		}
		if (json_is_object(e) &&
		    (json_is_null(id) || json_integer_value(id) == REQUEST_ID)) {
			const char *code = json_string_value(json_object_get(e, "code"));
			const char *msg = json_string_value(json_object_get(e, "message"));
			int st =
			    code && !strcmp(code, "busy") ? CTL_EXIT_UNREACHABLE : CTL_EXIT_API;

			say(r, st, "%s (%s)", msg ? msg : "error", code ? code : "?");
			json_decref(v);
			return st;
		}
		json_decref(v); /* not ours (an event): keep reading */
	}
}

/*
 * A private key is about to be printed: a file that stdout was redirected to (`> alice.net`,
 * made with the umask's 0644) becomes 0600 first, if it is ours.
 */
static void private_output(struct run *r)
{
	int fd = fileno(r->out);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) == 0)
		return;
	if (fchmod(fd, st.st_mode & 0700) < 0)
		say(r, 0, "warning: cannot make the output file private: %s", strerror(errno));
}

static int run_command(struct run *r)
{
	int64_t deadline = r->o->timeout_ms ? now_ms() + r->o->timeout_ms : -1;
	struct conn c = {.fd = -1};
	json_t *req = NULL, *result = NULL;
	size_t consumed = 0;
	char *line = NULL;
	int status, k;

	c.fd = connect_to(r->path, deadline);
	if (c.fd < 0)
		return unreachable(r, c.fd);
	req = json_pack("{s:i,s:s,s:O}", "id", REQUEST_ID, "cmd", r->o->cmd, "args", r->o->args);
	line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!line) {
		status = say(r, CTL_EXIT_API, "out of memory");
		goto out;
	}
	k = send_all(c.fd, line, strlen(line), deadline);
	if (k >= 0)
		k = send_all(c.fd, "\n", 1, deadline);
	/*
	 * A node that turns us away (busy) answers and closes without reading the request:
	 * the send then fails, but its answer is there to read.
	 */
	if (k == -ETIMEDOUT) {
		status = unreachable(r, k);
		goto out;
	}
	if (k < 0 && k != -EPIPE && k != -ECONNRESET) {
		status = say(r, CTL_EXIT_UNREACHABLE, "sending the request: %s", strerror(-k));
		goto out;
	}
	status = answer(r, &c, &consumed, &result);
	if (status)
		goto out;
	if (json_object_get(result, "private-key"))
		private_output(r);
	if (strcmp(r->o->cmd, "subscribe") == 0) {
		status = events(r, &c, &consumed);
	} else if (r->o->json || r->o->raw) {
		char *s = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
		fprintf(r->out, "%s\n", s ? s : "null");
		free(s);
	} else {
		status = ctl_print_result(r->out, r->err, r->o->cmd, result);
	}
out:
	if (fflush(r->out) != 0 || ferror(r->out))
		status = say(r, CTL_EXIT_API, "writing the output failed: %s", strerror(errno));
	json_decref(result);
	json_decref(req);
	free(line);
	free(c.buf);
	close(c.fd);
	return status;
}

int ctl_run(int argc, char **argv, const char *sock_dir, FILE *out, FILE *err)
{
	char path[MGMT_PATH_MAX], why[512];
	struct ctl_opts o;
	struct run r = {.o = &o, .out = out, .err = err, .path = path};
	int status;

	if (ctl_parse(argc, argv, &o, why, sizeof(why)) < 0) {
		fprintf(err, "meshvpn %s: %s\nTry 'meshvpn %s --help' for more information.\n",
			front_name(o.front), why, front_name(o.front));
		ctl_opts_free(&o);
		return CTL_EXIT_USAGE;
	}
	if (o.help) {
		ctl_usage(out, o.front);
		ctl_opts_free(&o);
		return 0;
	}
	snprintf(r.prefix, sizeof(r.prefix), "meshvpn %s %s", front_name(o.front), o.cmd);
	if (!sock_dir)
		sock_dir = MGMT_SOCKET_DIR;
	status = 0;
	if (o.socket) {
		if (snprintf(path, sizeof(path), "%s", o.socket) >= (int)sizeof(path))
			status = say(&r, CTL_EXIT_USAGE, "--socket: the path is too long");
	} else if (o.name) {
		int e = mgmt_socket_path(path, sizeof(path), sock_dir, o.name);
		if (e < 0)
			status = say(&r, CTL_EXIT_USAGE,
				     e == -EINVAL ? "-n: '%s' is not a node name ([A-Za-z0-9._-])"
						  : "-n: '%s' makes the socket path too long",
				     o.name);
	} else {
		status = only_socket(&r, sock_dir, path, sizeof(path));
	}
	if (status == 0)
		status = run_command(&r);
	ctl_opts_free(&o);
	return status;
}

int ctl_main(int argc, char **argv)
{
	return ctl_run(argc, argv, NULL, stdout, stderr);
}

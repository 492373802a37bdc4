// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_mgmt.c - the management socket: replies and echoed ids over a real socket, errors,
 * too-large lines, pipelined and split requests, a client that never reads, subscribers
 * and events, the client limit, idle time-outs, stale and live sockets, file mode and
 * group, socket paths by name.
 */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/loop.h"
#include "meshvpn/mgmt.h"

#define KIND_MGMT LOOP_KIND_USER

static char tmpdir[256];
static char sock_path[300];
static struct loop loop;
static struct mgmt *srv;

/* ---- the fake node ---- */

static json_t *cmd_echo(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
			struct mgmt_error *err)
{
	(void)ctx, (void)c, (void)err;
	return json_pack("{s:s,s:O}", "cmd", req->cmd, "args", req->args);
}

/* {"size": n} -> {"data": "xxx..."} of n bytes */
static json_t *cmd_big(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
		       struct mgmt_error *err)
{
	json_int_t n = 0;
	json_t *r;
	char *s;

	(void)ctx, (void)c;
	if (mgmt_arg_int(req, "size", MGMT_ARG_REQUIRED, 0, 16 << 20, &n, err) < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	memset(s, 'x', (size_t)n);
	s[n] = '\0';
	r = json_pack("{s:s}", "data", s);
	free(s);
	return r;
}

static json_t *cmd_fail(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
			struct mgmt_error *err)
{
	const char *id = NULL;

	(void)ctx, (void)c;
	if (mgmt_arg_string(req, "id", MGMT_ARG_REQUIRED, &id, err) < 0)
		return NULL;
	return mgmt_fail(err, MGMT_ERR_NOT_FOUND, "no client '%s'", id);
}

static json_t *cmd_null(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
			struct mgmt_error *err)
{
	(void)ctx, (void)req, (void)c, (void)err;
	return NULL; /* and no error set */
}

/* {"n": count, "size": bytes} -> that many peer-up events, then {"sent": subscribers} */
static json_t *cmd_emit(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
			struct mgmt_error *err)
{
	json_int_t n = 1, size = 0;
	int sent = 0;
	char *pad;

	(void)ctx, (void)c;
	if (mgmt_arg_int(req, "n", 0, 0, 100000, &n, err) < 0 ||
	    mgmt_arg_int(req, "size", 0, 0, 1 << 20, &size, err) < 0)
		return NULL;
	pad = calloc(1, (size_t)size + 1);
	assert_non_null(pad);
	memset(pad, 'p', (size_t)size);
	for (json_int_t i = 0; i < n; i++)
		sent = mgmt_event(
		    srv, "peer-up",
		    json_pack("{s:s,s:I,s:s}", "address", "192.0.2.1:3210", "seq", i, "pad", pad));
	free(pad);
	return json_pack("{s:i}", "sent", sent);
}

static const struct mgmt_command commands[] = {
    {"echo", cmd_echo}, {"big", cmd_big},   {"fail", cmd_fail},
    {"null", cmd_null}, {"emit", cmd_emit},
};

static json_t *handler(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
		       struct mgmt_error *err)
{
	assert_ptr_equal(ctx, &loop);
	assert_true(mgmt_client_id(c) > 0);
	assert_int_equal(mgmt_client_cred(c)->pid, getpid());
	return mgmt_dispatch(commands, sizeof(commands) / sizeof(commands[0]), ctx, req, c, err);
}

/* ---- harness ---- */

static int group_setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/mvmgmt.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	/* a directory mgmt_open() has to create */
	snprintf(sock_path, sizeof(sock_path), "%s/run/node.sock", tmpdir);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int open_server(unsigned max_clients, unsigned idle)
{
	struct mgmt_params p = {.path = sock_path,
				.max_clients = max_clients,
				.idle_secs = idle,
				.handler = handler,
				.ctx = &loop};
	int r = mgmt_open(&p, &srv);

	if (r == 0)
		assert_int_equal(mgmt_attach(srv, &loop, KIND_MGMT), 0);
	return r;
}

static int setup(void **state)
{
	(void)state;
	if (loop_init(&loop, 60000) < 0)
		return -1;
	return open_server(0, 0) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mgmt_close(srv);
	srv = NULL;
	loop_close(&loop);
	return 0;
}

/* Runs the loop until it has been quiet for quiet_ms (at most ~2 s). */
static void pump_for(int quiet_ms)
{
	struct loop_event ev[LOOP_MAX_EVENTS];

	for (int round = 0; round < 2000; round++) {
		int n = loop_wait(&loop, ev, LOOP_MAX_EVENTS, quiet_ms);
		unsigned gen = loop.generation;

		assert_true(n >= 0);
		if (n == 0)
			return;
		for (int i = 0; i < n && gen == loop.generation; i++)
			if (ev[i].src->kind == KIND_MGMT)
				mgmt_handle(srv, ev[i].src, ev[i].events);
	}
}

static void pump(void)
{
	pump_for(10);
}

struct client {
	int fd;
	size_t len;
	char buf[4 << 20];
};

static struct client *client_new(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct client *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	pump();
	return c;
}

static void client_free(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* Sends everything (pumping while the socket is full). */
static void client_send(struct client *c, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EAGAIN) {
			pump();
			continue;
		}
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

static void client_puts(struct client *c, const char *s)
{
	client_send(c, s, strlen(s));
}

/* Reads what is there; returns false at EOF or a connection error. */
static bool client_fill(struct client *c)
{
	for (;;) {
		ssize_t r;

		if (c->len == sizeof(c->buf))
			return true;
		r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN)
			return true;
		if (r <= 0)
			return false;
		c->len += (size_t)r;
	}
}

/* The next line (NUL-terminated, malloc'd), pumping the server; NULL at EOF. */
static char *client_line(struct client *c)
{
	for (int i = 0; i < 400; i++) {
		char *nl = memchr(c->buf, '\n', c->len);
		bool open;

		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			char *s = malloc(n + 1);

			assert_non_null(s);
			memcpy(s, c->buf, n);
			s[n] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return s;
		}
		pump();
		open = client_fill(c);
		if (!open && !memchr(c->buf, '\n', c->len))
			return NULL;
	}
	fail_msg("no line from the server");
	return NULL;
}

/* The next line parsed as a JSON object. */
static json_t *client_json(struct client *c)
{
	char *s = client_line(c);
	json_error_t e;
	json_t *v;

	if (!s)
		fail_msg("connection closed, a line was expected");
	v = json_loads(s, 0, &e);
	if (!v)
		fail_msg("not JSON: %s (%s)", s, e.text);
	free(s);
	assert_true(json_is_object(v));
	return v;
}

/* True once the server closed the connection (after what it had sent). */
static bool client_closed(struct client *c)
{
	for (int i = 0; i < 200; i++) {
		pump();
		c->len = 0;
		if (!client_fill(c))
			return true;
	}
	return false;
}

static void expect_error(json_t *reply, const char *code, const char *msg_part)
{
	json_t *e = json_object_get(reply, "error");
	const char *m;

	assert_non_null(e);
	assert_null(json_object_get(reply, "result"));
	assert_string_equal(json_string_value(json_object_get(e, "code")), code);
	m = json_string_value(json_object_get(e, "message"));
	assert_non_null(m);
	if (msg_part && !strstr(m, msg_part))
		fail_msg("message '%s' lacks '%s'", m, msg_part);
}

static void test_socket_path(void **state)
{
	char buf[MGMT_PATH_MAX];

	(void)state;
	assert_int_equal(mgmt_socket_path(buf, sizeof(buf), NULL, "office"), 0);
	assert_string_equal(buf, "/run/meshvpn/office.sock");
	assert_int_equal(mgmt_socket_path(buf, sizeof(buf), "/x", "a.b-c_1"), 0);
	assert_string_equal(buf, "/x/a.b-c_1.sock");
	assert_int_equal(mgmt_socket_path(buf, sizeof(buf), NULL, ""), -EINVAL);
	assert_int_equal(mgmt_socket_path(buf, sizeof(buf), NULL, "../etc"), -EINVAL);
	assert_int_equal(mgmt_socket_path(buf, sizeof(buf), NULL, ".hidden"), -EINVAL);
	assert_int_equal(mgmt_socket_path(buf, sizeof(buf), NULL, "a/b"), -EINVAL);
	assert_int_equal(mgmt_socket_path(buf, sizeof(buf), NULL, "a b"), -EINVAL);
	assert_int_equal(mgmt_socket_path(buf, 10, NULL, "office"), -ENAMETOOLONG);
	char dir[120];
	memset(dir, 'd', sizeof(dir) - 1);
	dir[sizeof(dir) - 1] = '\0';
	char big[200];
	assert_int_equal(mgmt_socket_path(big, sizeof(big), dir, "x"), -ENAMETOOLONG);
}

/* ---- over the socket ---- */

static void test_request_response(void **state)
{
	struct client *c;
	json_t *r;

	(void)state;
	c = client_new();
	assert_int_equal(mgmt_client_count(srv), 1);
	/* a number id */
	client_puts(c, "{\"id\":7,\"cmd\":\"echo\",\"args\":{\"k\":\"v\"}}\n");
	r = client_json(c);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(r, "result"), "args"), "k")),
			    "v");
	assert_null(json_object_get(r, "error"));
	json_decref(r);
	/* a string id, an id null, no id (the reply has none), other scalars */
	client_puts(c, "{\"cmd\":\"echo\",\"id\":\"req-1\"}\n{\"id\":null,\"cmd\":\"echo\"}\n"
		       "{\"cmd\":\"echo\"}\r\n{\"id\":2.5,\"cmd\":\"echo\"}\n{\"id\":false,\"cmd\":"
		       "\"echo\"}\n");
	r = client_json(c);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "req-1");
	json_decref(r);
	r = client_json(c);
	assert_non_null(json_object_get(r, "id"));
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	r = client_json(c);
	assert_null(json_object_get(r, "id"));
	assert_non_null(json_object_get(r, "result"));
	json_decref(r);
	r = client_json(c);
	assert_true(json_real_value(json_object_get(r, "id")) == 2.5);
	json_decref(r);
	r = client_json(c);
	assert_true(json_is_false(json_object_get(r, "id")));
	json_decref(r);

	/* the handler's errors, unknown commands, NULL without an error */
	client_puts(c, "{\"id\":1,\"cmd\":\"fail\",\"args\":{\"id\":\"bob\"}}\n"
		       "{\"id\":2,\"cmd\":\"nope\"}\n{\"id\":3,\"cmd\":\"null\"}\n"
		       "{\"id\":4,\"cmd\":\"fail\"}\n\n   \n{\"id\":5,\"cmd\":\"big\",\"args\":"
		       "{\"size\":-1}}\n");
	r = client_json(c);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	expect_error(r, "not-found", "no client 'bob'");
	json_decref(r);
	r = client_json(c);
	expect_error(r, "unknown-command", "unknown command 'nope'");
	json_decref(r);
	r = client_json(c);
	expect_error(r, "internal", "command 'null' failed");
	json_decref(r);
	r = client_json(c);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 4);
	expect_error(r, "bad-request", "missing argument 'id'");
	json_decref(r);
	/* blank lines got no reply: the next one answers id 5 */
	r = client_json(c);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
	expect_error(r, "invalid", "argument 'size' must be between");
	json_decref(r);
	assert_int_equal(mgmt_get_stats(srv)->requests, 11);
	assert_int_equal(mgmt_get_stats(srv)->errors, 5);
	client_free(c);
	pump();
	assert_int_equal(mgmt_client_count(srv), 0);
}

static void test_bad_requests_over_socket(void **state)
{
	struct client *c = client_new();
	json_t *r;

	(void)state;
	client_puts(
	    c, "not json\n[1]\n{\"id\":9,\"cmd\":3}\n{\"id\":[1],\"cmd\":\"echo\"}\n"
	       "{\"cmd\":\"x\",\"foo\":1}\n{\"id\":10,\"cmd\":\"subscribe\",\"args\":{\"a\":1}}\n"
	       "{\"id\":11,\"cmd\":\"echo\",\"args\":{\"s\":\"\xfe\"}}\n");
	r = client_json(c);
	assert_true(json_is_null(json_object_get(r, "id")));
	expect_error(r, "bad-request", "malformed JSON at column 3: ");
	json_decref(r);
	r = client_json(c);
	assert_true(json_is_null(json_object_get(r, "id")));
	expect_error(r, "bad-request", "must be a JSON object");
	json_decref(r);
	r = client_json(c);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 9);
	expect_error(r, "bad-request", "field 'cmd' must be a string");
	json_decref(r);
	r = client_json(c);
	assert_true(json_is_null(json_object_get(r, "id")));
	expect_error(r, "bad-request", "field 'id' must be a scalar");
	json_decref(r);
	r = client_json(c);
	assert_null(json_object_get(r, "id")); /* an object without id: none in the reply */
	expect_error(r, "bad-request", "unknown field 'foo'");
	json_decref(r);
	r = client_json(c);
	expect_error(r, "bad-request", "unknown argument 'a' for 'subscribe'");
	json_decref(r);
	r = client_json(c);
	/* jansson saw invalid UTF-8 before reading the id */
	assert_true(json_is_null(json_object_get(r, "id")));
	expect_error(r, "bad-request", "malformed JSON");
	json_decref(r);
	/* the connection is still fine */
	client_puts(c, "{\"id\":12,\"cmd\":\"echo\"}\n");
	r = client_json(c);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 12);
	json_decref(r);
	client_free(c);
}

static void test_too_large(void **state)
{
	struct client *c = client_new();
	size_t n = MGMT_LINE_MAX + 5000;
	char *line = malloc(n + 64);
	json_t *r;

	(void)state;
	assert_non_null(line);
	/* exactly MGMT_LINE_MAX bytes: still a request */
	strcpy(line, "{\"id\":1,\"cmd\":\"echo\"}");
	memset(line + strlen(line), ' ', MGMT_LINE_MAX - strlen(line));
	line[MGMT_LINE_MAX] = '\n';
	client_send(c, line, MGMT_LINE_MAX + 1);
	r = client_json(c);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	assert_non_null(json_object_get(r, "result"));
	json_decref(r);
	/* one more byte: too-large, the rest of the line skipped, the next line answered */
	strcpy(line, "{\"id\":2,\"cmd\":\"echo\",\"args\":{\"s\":\"");
	memset(line + strlen(line), 'a', n - strlen(line));
	strcpy(line + n, "\"}}\n{\"id\":3,\"cmd\":\"echo\"}\n");
	client_send(c, line, strlen(line));
	r = client_json(c);
	assert_true(json_is_null(json_object_get(r, "id")));
	expect_error(r, "too-large", "longer than 65536 bytes");
	json_decref(r);
	r = client_json(c);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 3);
	json_decref(r);
	/* a huge line sent slowly, in pieces: one too-large, nothing else */
	for (int i = 0; i < 4; i++) {
		memset(line, 'z', 50000);
		client_send(c, line, 50000);
		pump();
	}
	client_puts(c, "tail\n{\"id\":4,\"cmd\":\"echo\"}\n");
	r = client_json(c);
	expect_error(r, "too-large", NULL);
	json_decref(r);
	r = client_json(c);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 4);
	json_decref(r);
	free(line);
	client_free(c);
}

static void test_pipelined_and_split(void **state)
{
	struct client *c = client_new();
	char *all = malloc(200 * 64), *p = all;
	const char *req =
	    "{\"id\":\"split\",\"cmd\":\"echo\",\"args\":{\"w\":\"\xc3\xa9t\xc3\xa9\"}}\n";
	json_t *r;

	(void)state;
	assert_non_null(all);
	/* 200 requests in one write: 200 replies in order */
	for (int i = 0; i < 200; i++)
		p += sprintf(p, "{\"id\":%d,\"cmd\":\"echo\"}\n", i);
	client_send(c, all, (size_t)(p - all));
	for (int i = 0; i < 200; i++) {
		r = client_json(c);
		assert_int_equal(json_integer_value(json_object_get(r, "id")), i);
		json_decref(r);
	}
	/* one request a byte at a time (splitting the UTF-8 too): no reply before the newline */
	for (size_t i = 0; i + 1 < strlen(req); i++) {
		client_send(c, req + i, 1);
		pump_for(1);
		assert_true(client_fill(c));
		assert_int_equal(c->len, 0);
	}
	client_puts(c, "\n");
	r = client_json(c);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "split");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(r, "result"), "args"), "w")),
			    "\xc3\xa9t\xc3\xa9");
	json_decref(r);
	/* a last request without its newline, then EOF: answered, then closed */
	client_puts(c, "{\"id\":\"last\",\"cmd\":\"echo\"}");
	shutdown(c->fd, SHUT_WR);
	r = client_json(c);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "last");
	json_decref(r);
	assert_null(client_line(c));
	pump();
	assert_int_equal(mgmt_client_count(srv), 0);
	free(all);
	client_free(c);
}

static void test_slow_client(void **state)
{
	struct client *slow = client_new(), *good = client_new();
	const char *big = "{\"id\":0,\"cmd\":\"big\",\"args\":{\"size\":100000}}\n";
	json_t *r;
	int sent = 0;

	(void)state;
	/* it asks and asks but never reads: disconnected once 1 MiB waits for it */
	for (int i = 0; i < 100000 && mgmt_get_stats(srv)->overflows == 0 && sent < 2000; i++) {
		if (send(slow->fd, big, strlen(big), MSG_NOSIGNAL) < 0) {
			if (errno != EAGAIN)
				break; /* the server closed it */
			pump_for(0);
			continue;
		}
		sent++;
		pump_for(0);
		if (sent % 10 == 0) {
			/* the other client is served all along */
			client_puts(good, "{\"id\":\"g\",\"cmd\":\"echo\"}\n");
			r = client_json(good);
			assert_string_equal(json_string_value(json_object_get(r, "id")), "g");
			json_decref(r);
		}
	}
	pump();
	assert_int_equal(mgmt_get_stats(srv)->overflows, 1);
	assert_true(sent > MGMT_OUT_MAX / 100000);
	assert_int_equal(mgmt_client_count(srv), 1);
	assert_true(client_closed(slow));
	client_puts(good, "{\"id\":\"after\",\"cmd\":\"echo\"}\n");
	r = client_json(good);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "after");
	json_decref(r);
	client_free(slow);
	client_free(good);
}

static void expect_event(json_t *e, const char *name)
{
	const char *t = json_string_value(json_object_get(e, "time"));
	int y, mo, d, h, mi, s;
	char z;

	assert_string_equal(json_string_value(json_object_get(e, "event")), name);
	assert_non_null(t);
	assert_int_equal(strlen(t), 20);
	assert_int_equal(sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z), 7);
	assert_int_equal(z, 'Z');
	assert_true(y >= 2024 && mo >= 1 && mo <= 12);
}

static void test_subscribe_events(void **state)
{
	struct client *sub = client_new(), *other = client_new();
	json_t *r;

	(void)state;
	assert_false(mgmt_has_subscribers(srv));
	assert_int_equal(mgmt_event(srv, "peer-up", json_pack("{s:s}", "address", "x")), 0);
	client_puts(sub, "{\"id\":1,\"cmd\":\"subscribe\"}\n");
	r = client_json(sub);
	assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "subscribed")));
	json_decref(r);
	assert_true(mgmt_has_subscribers(srv));

	/* an event from outside a request; its own "event"/"time" fields do not win */
	assert_int_equal(mgmt_event(srv, "client-disconnected",
				    json_pack("{s:s,s:s,s:s}", "id", "alice", "reason", "timeout",
					      "event", "fake")),
			 1);
	r = client_json(sub);
	expect_event(r, "client-disconnected");
	assert_string_equal(json_string_value(json_object_get(r, "reason")), "timeout");
	assert_string_equal(json_string_value(json_object_get(r, "id")), "alice");
	json_decref(r);
	assert_int_equal(mgmt_event(srv, "peer-down", NULL), 1);
	r = client_json(sub);
	expect_event(r, "peer-down");
	assert_int_equal(json_object_size(r), 2);
	json_decref(r);

	/* events raised by another client's request */
	client_puts(other, "{\"id\":2,\"cmd\":\"emit\",\"args\":{\"n\":3}}\n");
	r = client_json(other);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "result"), "sent")),
			 1);
	json_decref(r);
	for (int i = 0; i < 3; i++) {
		r = client_json(sub);
		expect_event(r, "peer-up");
		assert_int_equal(json_integer_value(json_object_get(r, "seq")), i);
		json_decref(r);
	}
	/* the non-subscriber got none */
	pump();
	assert_true(client_fill(other));
	assert_int_equal(other->len, 0);
	/* a subscriber still answers requests */
	client_puts(sub, "{\"id\":3,\"cmd\":\"echo\"}\n");
	r = client_json(sub);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 3);
	json_decref(r);
	/* a subscriber that shuts down its side keeps getting events */
	shutdown(sub->fd, SHUT_WR);
	pump();
	assert_int_equal(mgmt_event(srv, "peer-up", NULL), 1);
	r = client_json(sub);
	expect_event(r, "peer-up");
	json_decref(r);
	client_free(sub);
	pump();
	assert_false(mgmt_has_subscribers(srv));
	assert_int_equal(mgmt_event(srv, "peer-up", NULL), 0);
	client_free(other);
}

static void test_slow_subscriber(void **state)
{
	struct client *sub = client_new(), *other = client_new();
	const struct mgmt_stats *st = mgmt_get_stats(srv);
	json_t *r;
	uint64_t queued;

	(void)state;
	client_puts(sub, "{\"cmd\":\"subscribe\"}\n");
	json_decref(client_json(sub));
	/* 10 KB events until they no longer fit: dropped and counted, not disconnected */
	char *p10k = malloc(10001);
	assert_non_null(p10k);
	memset(p10k, 'q', 10000);
	p10k[10000] = '\0';
	for (int i = 0; i < 400 && st->events_dropped < 5; i++) {
		mgmt_event(srv, "peer-up", json_pack("{s:s}", "pad", p10k));
		pump_for(0);
	}
	assert_int_equal(st->events_dropped, 5);
	assert_int_equal(mgmt_client_count(srv), 2);
	queued = st->events;
	/* it catches up: everything queued arrives, then the notice and the next event */
	for (uint64_t i = 0; i < queued; i++) {
		r = client_json(sub);
		expect_event(r, "peer-up");
		json_decref(r);
	}
	assert_int_equal(mgmt_event(srv, "peer-down", NULL), 1);
	r = client_json(sub);
	expect_event(r, "events-dropped");
	assert_int_equal(json_integer_value(json_object_get(r, "dropped")), 5);
	json_decref(r);
	r = client_json(sub);
	expect_event(r, "peer-down");
	json_decref(r);

	/* it stops reading for good: MGMT_EVENT_DROP_MAX drops in a row close it */
	for (int i = 0; i < 2000 && mgmt_client_count(srv) == 2; i++)
		mgmt_event(srv, "peer-up", json_pack("{s:s}", "pad", p10k));
	assert_int_equal(mgmt_client_count(srv), 1);
	assert_int_equal(st->overflows, 1);
	assert_true(client_closed(sub));
	client_free(sub);

	/* a subscriber flooding requests that raise big events to itself, never reading:
	 * closed from inside its own request (the reply is not written to a freed client) */
	sub = client_new();
	client_puts(sub, "{\"cmd\":\"subscribe\"}\n");
	pump();
	for (int i = 0; i < 3000 && mgmt_client_count(srv) == 2; i++) {
		const char *emit = "{\"cmd\":\"emit\",\"args\":{\"n\":20,\"size\":20000}}\n";
		if (send(sub->fd, emit, strlen(emit), MSG_NOSIGNAL) < 0 && errno != EAGAIN)
			break;
		pump_for(0);
	}
	pump();
	assert_int_equal(mgmt_client_count(srv), 1);
	client_free(sub);
	/* the other one was never disturbed */
	client_puts(other, "{\"id\":1,\"cmd\":\"echo\"}\n");
	r = client_json(other);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	client_free(other);
	free(p10k);
}

static void test_client_limit(void **state)
{
	struct client *c[4];
	json_t *r;

	(void)state;
	mgmt_close(srv);
	assert_int_equal(open_server(3, 0), 0);
	for (int i = 0; i < 3; i++)
		c[i] = client_new();
	assert_int_equal(mgmt_client_count(srv), 3);
	c[3] = client_new();
	r = client_json(c[3]);
	assert_true(json_is_null(json_object_get(r, "id")));
	expect_error(r, "busy", "too many management connections (3)");
	json_decref(r);
	assert_null(client_line(c[3]));
	assert_int_equal(mgmt_get_stats(srv)->refused, 1);
	client_free(c[3]);
	/* the three are served; after one leaves, a new one is accepted */
	client_puts(c[2], "{\"id\":1,\"cmd\":\"echo\"}\n");
	r = client_json(c[2]);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	client_free(c[0]);
	pump();
	c[0] = client_new();
	client_puts(c[0], "{\"id\":2,\"cmd\":\"echo\"}\n");
	r = client_json(c[0]);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
	json_decref(r);
	assert_int_equal(mgmt_get_stats(srv)->accepted, 4);
	for (int i = 0; i < 3; i++)
		client_free(c[i]);
}

static void test_idle(void **state)
{
	struct client *half, *quiet, *sub, *busy;
	const struct mgmt_stats *st;

	(void)state;
	mgmt_close(srv);
	assert_int_equal(open_server(0, 5), 0);
	st = mgmt_get_stats(srv);
	half = client_new(); /* accepted before the first tick */
	mgmt_tick(srv, 1000);
	quiet = client_new();
	sub = client_new();
	busy = client_new();
	client_puts(sub, "{\"cmd\":\"subscribe\"}\n");
	json_decref(client_json(sub));
	client_puts(half, "{\"cmd\":\"ec"); /* half a request just waits */
	pump();
	mgmt_tick(srv, 1003);
	client_puts(busy, "{\"cmd\":\"echo\"}\n");
	json_decref(client_json(busy));
	mgmt_tick(srv, 1004);
	assert_int_equal(mgmt_client_count(srv), 4);
	mgmt_tick(srv, 1005); /* five seconds without a byte */
	assert_int_equal(mgmt_client_count(srv), 2);
	assert_int_equal(st->idle_closed, 2);
	assert_true(client_closed(half));
	assert_true(client_closed(quiet));
	mgmt_tick(srv, 1008);
	assert_int_equal(mgmt_client_count(srv), 1);
	/* an idle subscriber stays, as long as its output does not stall */
	mgmt_tick(srv, 5000);
	assert_int_equal(mgmt_client_count(srv), 1);
	char *p = calloc(1, 200001);
	assert_non_null(p);
	memset(p, 'e', 200000);
	for (int i = 0; i < 20; i++) {
		mgmt_event(srv, "peer-up", json_pack("{s:s}", "pad", p));
		pump_for(0);
	}
	free(p);
	mgmt_tick(srv, 5004);
	assert_int_equal(mgmt_client_count(srv), 1);
	mgmt_tick(srv, 5005);
	assert_int_equal(mgmt_client_count(srv), 0);
	assert_int_equal(st->idle_closed, 4);
	client_free(half);
	client_free(quiet);
	client_free(sub);
	client_free(busy);
}

/* ---- the socket file ---- */

static int bind_path(const char *path, bool listening)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 1), 0);
	return fd;
}

static void test_socket_file(void **state)
{
	struct mgmt_params p = {.path = sock_path, .handler = handler, .ctx = &loop};
	struct mgmt *m2 = (struct mgmt *)1;
	struct stat st;
	char dir[300];
	int fd;

	(void)state;
	/* the default mode; the directory got 0755 despite the umask */
	assert_int_equal(stat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_string_equal(mgmt_path(srv), sock_path);

	/* a live socket is refused, and left alone */
	assert_int_equal(mgmt_open(&p, &m2), -EADDRINUSE);
	assert_null(m2);
	struct client *c = client_new();
	client_puts(c, "{\"id\":1,\"cmd\":\"echo\"}\n");
	json_decref(client_json(c));
	client_free(c);

	/* close removes it; a stale socket (nobody listens) is replaced */
	mgmt_close(srv);
	srv = NULL;
	assert_int_equal(stat(sock_path, &st), -1);
	fd = bind_path(sock_path, true);
	close(fd);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(open_server(0, 0), 0);
	c = client_new();
	client_puts(c, "{\"id\":1,\"cmd\":\"echo\"}\n");
	json_decref(client_json(c));
	client_free(c);
	/* someone else's socket in our place is not removed by mgmt_close */
	assert_int_equal(unlink(sock_path), 0);
	fd = bind_path(sock_path, false);
	mgmt_close(srv);
	srv = NULL;
	assert_int_equal(stat(sock_path, &st), 0);
	close(fd);
	unlink(sock_path);

	/* a file that is no socket is refused and kept */
	FILE *f = fopen(sock_path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(mgmt_open(&p, &m2), -EEXIST);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(sock_path);

	/* mode and group as asked, whatever the umask */
	struct group *gr = getgrgid(getegid());
	assert_non_null(gr);
	mode_t old = umask(077);
	p.mode = 0620;
	p.group = gr->gr_name;
	assert_int_equal(mgmt_open(&p, &srv), 0);
	umask(old);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0620);
	assert_int_equal(st.st_gid, getegid());
	assert_int_equal(mgmt_attach(srv, &loop, KIND_MGMT), 0);
	mgmt_close(srv);
	srv = NULL;
	/* as root: another group */
	if (geteuid() == 0 && (gr = getgrnam("daemon")) != NULL) {
		p.group = "daemon";
		assert_int_equal(mgmt_open(&p, &srv), 0);
		assert_int_equal(stat(sock_path, &st), 0);
		assert_int_equal(st.st_gid, gr->gr_gid);
		mgmt_close(srv);
		srv = NULL;
	}
	/* a group that does not exist: an error, or a warning when optional */
	p.group = "no-such-group-mv";
	assert_int_equal(mgmt_open(&p, &m2), -ENOENT);
	assert_int_equal(stat(sock_path, &st), -1); /* not left behind */
	p.group_optional = true;
	assert_int_equal(mgmt_open(&p, &srv), 0);
	mgmt_close(srv);
	srv = NULL;
	/* bad parameters */
	char longp[200];
	memset(longp, 'l', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	p.path = longp;
	assert_int_equal(mgmt_open(&p, &m2), -ENAMETOOLONG);
	p.path = "";
	assert_int_equal(mgmt_open(&p, &m2), -EINVAL);
	snprintf(dir, sizeof(dir), "%s/missing/deeper/x.sock", tmpdir);
	p.path = dir;
	assert_int_equal(mgmt_open(&p, &m2), -ENOENT);
	/* for teardown */
	assert_int_equal(open_server(0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_socket_path),
	    cmocka_unit_test_setup_teardown(test_request_response, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_requests_over_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipelined_and_split, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_subscribe_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_subscriber, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

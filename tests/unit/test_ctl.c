// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_ctl.c - `meshvpn ctl` / `meshvpn hub`: command line to request arguments, rates,
 * the human-readable output of each result, events; and ctl_run() end to end against a
 * real management server (mgmt.c with canned HUB.md results, in a child process): tables,
 * --json, bundles, exit statuses 1, 2 and 3, socket selection, the time-out.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/ctl.h"
#include "meshvpn/ctl_print.h"
#include "meshvpn/loop.h"
#include "meshvpn/mgmt.h"

static char tmpdir[256], sock_path[300];
static pid_t server_pid = -1;

/* ---- ctl_parse (pure) ---- */

static char why[512];

/* Parses "ctl"/"hub" + the NULL-terminated arguments; returns ctl_parse's result. */
static int parse_v(struct ctl_opts *o, const char *front, va_list ap)
{
	char *argv[64] = {(char *)front};
	int argc = 1;

	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	return ctl_parse(argc, argv, o, why, sizeof(why));
}

static int parse(struct ctl_opts *o, const char *front, ...)
{
	va_list ap;
	int r;

	va_start(ap, front);
	r = parse_v(o, front, ap);
	va_end(ap);
	return r;
}

#define PARSE(o, front, ...) parse(o, front, __VA_ARGS__, (char *)NULL)

/* The arguments built equal the JSON text want. */
static void expect_args(const struct ctl_opts *o, const char *cmd, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);
	char *got = json_dumps(o->args, JSON_COMPACT);

	assert_non_null(w);
	assert_string_equal(o->cmd, cmd);
	if (!json_equal(w, o->args))
		fail_msg("args %s\nwant %s", got, want);
	free(got);
	json_decref(w);
}

static void expect_usage(const char *front, const char *msg, ...)
{
	struct ctl_opts o;
	va_list ap;
	int r;

	va_start(ap, msg);
	r = parse_v(&o, front, ap);
	va_end(ap);
	if (r != -EINVAL || !strstr(why, msg))
		fail_msg("got %d '%s', want '%s'", r, why, msg);
	ctl_opts_free(&o);
}

#define USAGE(front, msg, ...) expect_usage(front, msg, __VA_ARGS__, (char *)NULL)

static void test_parse(void **state)
{
	struct ctl_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "ctl", "peers"), 0);
	assert_int_equal(o.front, CTL_FRONT_CTL);
	assert_false(o.json);
	assert_int_equal(o.timeout_ms, CTL_TIMEOUT_SECS * 1000);
	assert_null(o.socket);
	assert_null(o.name);
	expect_args(&o, "peers", "{}");
	ctl_opts_free(&o);

	/* the global options, before or after the command */
	assert_int_equal(PARSE(&o, "ctl", "-n", "office", "status", "--json", "--timeout", "0.25"),
			 0);
	assert_string_equal(o.name, "office");
	assert_true(o.json);
	assert_int_equal(o.timeout_ms, 250);
	expect_args(&o, "status", "{}");
	ctl_opts_free(&o);
	assert_int_equal(PARSE(&o, "hub", "list", "-s", "/x/y.sock", "-j", "-t", "0"), 0);
	assert_int_equal(o.front, CTL_FRONT_HUB);
	assert_string_equal(o.socket, "/x/y.sock");
	assert_int_equal(o.timeout_ms, 0);
	ctl_opts_free(&o);
	assert_int_equal(PARSE(&o, "hub", "--help"), 0);
	assert_true(o.help);
	ctl_opts_free(&o);

	/* the example of the brief */
	assert_int_equal(PARSE(&o, "hub", "create", "alice", "--description", "Alice's laptop",
			       "--tag", "engineering", "--expires", "2027-01-01T00:00:00Z",
			       "--source-allow", "198.51.100.0/24", "--destination-allow",
			       "10.0.0.0/8", "--destination-block", "10.0.0.9", "--max-connections",
			       "2", "--rate-limit", "1M"),
			 0);
	expect_args(&o, "create",
		    "{\"id\":\"alice\",\"description\":\"Alice's laptop\",\"server-tags\":"
		    "[\"engineering\"],\"expires\":\"2027-01-01T00:00:00Z\",\"security\":{"
		    "\"source-allow\":[\"198.51.100.0/24\"],\"destination-allow\":[\"10.0.0.0/8\"],"
		    "\"destination-block\":[\"10.0.0.9\"],\"max-connections\":2,"
		    "\"rate-limit\":{\"rate\":1000000}}}");
	ctl_opts_free(&o);
	/* repeated and comma-separated lists, a burst, options before the ID */
	assert_int_equal(PARSE(&o, "ctl", "create", "--tag", "a,b", "--tag", "c", "bob",
			       "--source-block", "192.168.1.*,10.0.0.1-10.0.0.50", "--rate-limit",
			       "1.5M:100k"),
			 0);
	expect_args(&o, "create",
		    "{\"id\":\"bob\",\"server-tags\":[\"a\",\"b\",\"c\"],\"security\":{"
		    "\"source-block\":[\"192.168.1.*\",\"10.0.0.1-10.0.0.50\"],"
		    "\"rate-limit\":{\"rate\":1500000,\"burst\":100000}}}");
	ctl_opts_free(&o);
	/* the config's own syntax: 0 is no limit, G, K */
	assert_int_equal(PARSE(&o, "hub", "create", "d", "--rate-limit", "0"), 0);
	expect_args(&o, "create", "{\"id\":\"d\",\"security\":{\"rate-limit\":{\"rate\":0}}}");
	ctl_opts_free(&o);
	assert_int_equal(PARSE(&o, "hub", "create", "d", "--rate-limit", "2G:64K"), 0);
	expect_args(&o, "create",
		    "{\"id\":\"d\",\"security\":{\"rate-limit\":{\"rate\":2000000000,"
		    "\"burst\":64000}}}");
	ctl_opts_free(&o);
	/* create: the clearing values leave the field out */
	assert_int_equal(PARSE(&o, "hub", "create", "c", "--expires", "never", "--rate-limit",
			       "default", "--tag", "none"),
			 0);
	expect_args(&o, "create", "{\"id\":\"c\",\"server-tags\":[]}");
	ctl_opts_free(&o);

	/* update: given fields replace; never/default are null, none and --no-* empty */
	assert_int_equal(PARSE(&o, "hub", "update", "alice", "--rate-limit", "2M"), 0);
	expect_args(&o, "update",
		    "{\"id\":\"alice\",\"security\":{\"rate-limit\":{\"rate\":2000000}}}");
	ctl_opts_free(&o);
	assert_int_equal(PARSE(&o, "hub", "update", "alice", "--expires", "never", "--rate-limit",
			       "default", "--no-tags", "--client-tag", "laptop",
			       "--destination-allow", "10.1.0.0/16", "--destination-allow", "none",
			       "--source-allow", "none", "--source-allow", "1.2.3.4",
			       "--description", ""),
			 0);
	expect_args(&o, "update",
		    "{\"id\":\"alice\",\"expires\":null,\"server-tags\":[],\"client-tags\":"
		    "[\"laptop\"],\"description\":\"\",\"security\":{\"rate-limit\":null,"
		    "\"destination-allow\":[],\"source-allow\":[\"1.2.3.4\"]}}");
	ctl_opts_free(&o);
	assert_int_equal(PARSE(&o, "hub", "update", "alice", "--no-client-tags"), 0);
	expect_args(&o, "update", "{\"id\":\"alice\",\"client-tags\":[]}");
	ctl_opts_free(&o);

	/* the ID commands */
	const char *with_id[] = {"get",	   "enable",	 "disable",    "remove",
				 "export", "rotate-key", "disconnect", "telemetry"};
	for (size_t i = 0; i < sizeof(with_id) / sizeof(with_id[0]); i++) {
		assert_int_equal(PARSE(&o, "hub", (char *)with_id[i], "alice"), 0);
		expect_args(&o, with_id[i], "{\"id\":\"alice\"}");
		ctl_opts_free(&o);
	}
	/* ctl reaches the hub commands too */
	assert_int_equal(PARSE(&o, "ctl", "connections"), 0);
	expect_args(&o, "connections", "{}");
	ctl_opts_free(&o);
	/* call: any command, raw arguments */
	assert_int_equal(PARSE(&o, "ctl", "call", "frobnicate", "{\"x\":[1]}"), 0);
	assert_true(o.raw);
	expect_args(&o, "frobnicate", "{\"x\":[1]}");
	ctl_opts_free(&o);
	assert_int_equal(PARSE(&o, "ctl", "call", "status"), 0);
	expect_args(&o, "status", "{}");
	ctl_opts_free(&o);
}

static void test_parse_usage(void **state)
{
	(void)state;
	USAGE("ctl", "no command given", "--json");
	USAGE("ctl", "unknown command 'frob'", "frob");
	USAGE("hub", "'peers' is not a hub command (meshvpn ctl peers)", "peers");
	USAGE("hub", "'call' is not a hub command", "call", "x");
	USAGE("ctl", "unknown option '--bogus'", "status", "--bogus");
	USAGE("ctl", "unknown option -x", "-x", "status");
	USAGE("ctl", "option --socket requires a value", "status", "--socket");
	USAGE("ctl", "option --timeout: 'soon' is not 0 to 86400 seconds", "-t", "soon", "status");
	USAGE("ctl", "option --timeout: '-1'", "--timeout=-1", "status");
	USAGE("ctl", "--socket and -n/--name cannot be used together", "-s", "a", "-n", "b",
	      "status");
	USAGE("hub", "option --tag is not valid for list", "list", "--tag", "x");
	USAGE("hub", "option --description is not valid for get", "get", "a", "--description", "x");
	USAGE("hub", "usage: meshvpn hub get ID", "get");
	USAGE("hub", "usage: meshvpn hub create ID", "create", "a", "b");
	USAGE("hub", "unexpected argument 'x' for list", "list", "x");
	USAGE("hub", "update: nothing to change", "update", "alice");
	USAGE("hub", "option --no-tags is only for update", "create", "a", "--no-tags");
	USAGE("hub", "option --client-tag is only for update", "create", "a", "--client-tag", "x");
	USAGE("hub", "option --rate-limit: fast: ", "create", "a", "--rate-limit", "fast");
	USAGE("hub", "(RATE[:BURST], e.g. 10M:1M)", "create", "a", "--rate-limit", "fast");
	USAGE("hub", "(RATE[:BURST], e.g. 10M:1M, or default)", "update", "a", "--rate-limit", "x");
	USAGE("hub", "option --rate-limit: ", "create", "a", "--rate-limit", "1M:");
	USAGE("hub", "option --rate-limit: 1Mi: ", "create", "a", "--rate-limit", "1Mi");
	USAGE("hub", "option --rate-limit: -1: ", "create", "a", "--rate-limit", "-1");
	USAGE("hub", "option --rate-limit: 1e3: ", "create", "a", "--rate-limit", "1e3");
	USAGE("hub", "option --rate-limit: 2000G: ", "create", "a", "--rate-limit", "2000G");
	/* with a rate, a burst below one full-size packet */
	USAGE("hub", "option --rate-limit: burst: ", "create", "a", "--rate-limit", "1M:100");
	USAGE("hub", "option --max-connections: 'two' is not a number", "create", "a",
	      "--max-connections", "two");
	USAGE("hub", "option --max-connections: '-1'", "create", "a", "--max-connections", "-1");
	USAGE("hub", "option --tag: empty element in 'a,,b'", "create", "a", "--tag", "a,,b");
	USAGE("hub", "option --description: not valid UTF-8", "create", "a", "--description",
	      "\xff");
	USAGE("hub", "the ID is not valid UTF-8", "get", "\xc3");
	USAGE("ctl", "call: the arguments are not JSON", "call", "x", "{nope");
	USAGE("ctl", "call: the arguments must be a JSON object", "call", "x", "[1]");
	USAGE("ctl", "usage: meshvpn ctl call CMD [ARGS-JSON]", "call");
}

/* ---- printing (pure) ---- */

static char *out_buf, *err_buf;

/* ctl_print_result() on the JSON text; the output in out_buf, messages in err_buf. */
static int print(const char *cmd, const char *result)
{
	size_t ol, el;
	json_t *r = json_loads(result, 0, NULL);
	FILE *out, *err;
	int st;

	assert_non_null(r);
	free(out_buf);
	free(err_buf);
	out = open_memstream(&out_buf, &ol);
	err = open_memstream(&err_buf, &el);
	st = ctl_print_result(out, err, cmd, r);
	fclose(out);
	fclose(err);
	json_decref(r);
	return st;
}

static void expect_out(const char *want)
{
	if (strcmp(out_buf, want) != 0)
		fail_msg("got:\n%s\nwant:\n%s", out_buf, want);
}

#define PEERS                                                                                      \
	"{\"peers\":[{\"address\":\"192.0.2.7:3210\",\"node-id\":"                                 \
	"\"00112233445566778899aabbccddeeff\",\"path\":\"hole-punched\",\"path-reason\":"          \
	"\"both behind NAT\",\"algorithm\":\"AES256\",\"rtt-ms\":12.34,\"rx-bytes\":1268000,"      \
	"\"tx-bytes\":345000,\"rx-packets\":1234,\"tx-packets\":567,\"last-handshake\":12,"        \
	"\"connected-since\":\"2026-12-03T10:00:00Z\",\"client\":\"alice\"},"                      \
	"{\"address\":\"[2001:db8::2]:3210\",\"node-id\":\"ffeeddccbbaa99887766554433221100\","    \
	"\"path\":\"direct\",\"path-reason\":\"\",\"algorithm\":\"CHACHA20\",\"rtt-ms\":null,"     \
	"\"rx-bytes\":0,\"tx-bytes\":512,\"rx-packets\":0,\"tx-packets\":2,\"last-handshake\":"    \
	"3725,\"connected-since\":\"2026-12-03T09:00:00Z\",\"client\":null}]}"
#define PEERS_OUT                                                                                  \
	"peer: 192.0.2.7:3210\n"                                                                   \
	"  node id: 00112233445566778899aabbccddeeff\n"                                            \
	"  client: alice\n"                                                                        \
	"  path: hole-punched (both behind NAT)\n"                                                 \
	"  algorithm: AES256\n"                                                                    \
	"  rtt: 12.3 ms\n"                                                                         \
	"  transfer: 1.21 MiB received, 336.91 KiB sent\n"                                         \
	"  packets: 1234 received, 567 sent\n"                                                     \
	"  latest handshake: 12 s ago\n"                                                           \
	"  connected since: 2026-12-03T10:00:00Z\n"                                                \
	"\n"                                                                                       \
	"peer: [2001:db8::2]:3210\n"                                                               \
	"  node id: ffeeddccbbaa99887766554433221100\n"                                            \
	"  path: direct\n"                                                                         \
	"  algorithm: CHACHA20\n"                                                                  \
	"  rtt: -\n"                                                                               \
	"  transfer: 0 B received, 512 B sent\n"                                                   \
	"  packets: 0 received, 2 sent\n"                                                          \
	"  latest handshake: 1 h 2 min ago\n"                                                      \
	"  connected since: 2026-12-03T09:00:00Z\n"

#define LIST                                                                                       \
	"{\"clients\":[{\"id\":\"alice\",\"public-key\":\"k1\",\"ip\":\"10.0.0.5\",\"enabled\":"   \
	"true,\"expires\":\"2027-01-01T00:00:00Z\",\"description\":\"Alice\xe2\x80\x99s laptop\"," \
	"\"server-tags\":[\"engineering\",\"ops\"],\"client-tags\":[]},{\"id\":\"bob\",\"ip\":"    \
	"\"10.0.0.6\",\"enabled\":false,\"description\":\"\\u001b[31mred\",\"server-tags\":[]}]}"
#define LIST_OUT                                                                                   \
	"ID     IP        STATE     EXPIRES               TAGS              DESCRIPTION\n"         \
	"alice  10.0.0.5  enabled   2027-01-01T00:00:00Z  engineering, ops  Alice\xe2\x80\x99s "   \
	"laptop\n"                                                                                 \
	"bob    10.0.0.6  disabled  -                     -                 ?[31mred\n"

#define CONNS                                                                                      \
	"{\"connections\":[{\"id\":\"alice\",\"ip\":\"10.0.0.5\",\"address\":"                     \
	"\"198.51.100.7:40000\",\"transport\":\"udp\",\"since\":\"2026-12-03T10:00:00Z\","         \
	"\"rx-bytes\":1268000,\"tx-bytes\":345000,\"rx-packets\":1,\"tx-packets\":2,\"drops\":"    \
	"{\"acl\":2,\"rate\":1},\"rtt-ms\":12.3},{\"id\":\"carol\",\"ip\":\"10.0.0.17\","          \
	"\"address\":\"[2001:db8::9]:1234\",\"transport\":\"websocket\",\"since\":"                \
	"\"2026-12-03T11:00:00Z\",\"rx-bytes\":10,\"tx-bytes\":0,\"drops\":0,\"rtt-ms\":null}]}"
#define CONNS_OUT                                                                                  \
	"ID     IP         ADDRESS             TRANSPORT  SINCE                 RX        TX     " \
	"  "                                                                                       \
	"   DROPS  RTT\n"                                                                          \
	"alice  10.0.0.5   198.51.100.7:40000  udp        2026-12-03T10:00:00Z  1.21 MiB  336.91 " \
	"KiB  3      12.3 ms\n"                                                                    \
	"carol  10.0.0.17  [2001:db8::9]:1234  websocket  2026-12-03T11:00:00Z  10 B      0 B    " \
	" "                                                                                        \
	"    0      -\n"

#define STATUS                                                                                     \
	"{\"version\":\"0.1.0\",\"public-key\":\"Xk2abc\",\"uptime\":93784,\"hub\":true,"          \
	"\"device\":\"mv0\",\"listen\":\"[::]:3210\",\"transport\":\"udp\",\"peers\":2,"           \
	"\"claims\":[\"10.0.0.1/32\",\"10.1.0.0/16\"]}"
#define STATUS_OUT                                                                                 \
	"version:    0.1.0\n"                                                                      \
	"public key: Xk2abc\n"                                                                     \
	"uptime:     1 d 2 h\n"                                                                    \
	"hub:        yes\n"                                                                        \
	"device:     mv0\n"                                                                        \
	"listen:     [::]:3210\n"                                                                  \
	"transport:  udp\n"                                                                        \
	"peers:      2\n"                                                                          \
	"claims:     10.0.0.1/32, 10.1.0.0/16\n"

#define ENTRY                                                                                      \
	"{\"id\":\"alice\",\"public-key\":\"k1\",\"ip\":\"10.0.0.5\",\"enabled\":true,"            \
	"\"expires\":null,\"description\":\"Alice\",\"server-tags\":[\"engineering\"],"            \
	"\"client-tags\":[],\"security\":{\"source-allow\":[\"198.51.100.0/24\"],"                 \
	"\"source-block\":[],\"max-connections\":2,\"rate-limit\":{\"rate\":1000000,"              \
	"\"burst\":100000}},\"created\":\"2026-12-03T10:00:00Z\"}"
#define ENTRY_OUT                                                                                  \
	"id:          alice\n"                                                                     \
	"public key:  k1\n"                                                                        \
	"ip:          10.0.0.5\n"                                                                  \
	"enabled:     yes\n"                                                                       \
	"expires:     -\n"                                                                         \
	"description: Alice\n"                                                                     \
	"server tags: engineering\n"                                                               \
	"client tags: -\n"                                                                         \
	"security:\n"                                                                              \
	"  source allow:    198.51.100.0/24\n"                                                     \
	"  source block:    -\n"                                                                   \
	"  max connections: 2\n"                                                                   \
	"  rate limit:\n"                                                                          \
	"    rate:  1000000\n"                                                                     \
	"    burst: 100000\n"                                                                      \
	"created:     2026-12-03T10:00:00Z\n"

#define BUNDLE "# meshvpn client alice\\nprivate-key: s3cr3t\\npeers: [hub.example.com:3210]"

static void test_print(void **state)
{
	(void)state;
	assert_int_equal(print("peers", PEERS), 0);
	expect_out(PEERS_OUT);
	assert_int_equal(print("peers", "{\"peers\":[]}"), 0);
	expect_out("No peers.\n");
	assert_int_equal(print("list", LIST), 0);
	expect_out(LIST_OUT);
	assert_int_equal(print("list", "{\"clients\":[]}"), 0);
	expect_out("No clients.\n");
	assert_int_equal(print("connections", CONNS), 0);
	expect_out(CONNS_OUT);
	assert_int_equal(print("connections", "{\"connections\":[]}"), 0);
	expect_out("No clients connected.\n");
	assert_int_equal(print("status", STATUS), 0);
	expect_out(STATUS_OUT);
	assert_int_equal(print("get", "{\"client\":" ENTRY "}"), 0);
	expect_out(ENTRY_OUT);
	assert_int_equal(print("update", "{\"client\":" ENTRY "}"), 0);
	expect_out(ENTRY_OUT);
	assert_int_equal(print("stats", "{\"peers\":2,\"rx-bytes\":5000000,\"drops\":{\"no-route\":"
					"3,\"acl\":1},\"by-transport\":{\"udp\":{\"active\":1,"
					"\"total\":5}}}"),
			 0);
	expect_out("peers:    2\n"
		   "rx bytes: 4.77 MiB\n"
		   "drops:\n"
		   "  no route: 3\n"
		   "  acl:      1\n"
		   "by transport:\n"
		   "  udp:\n"
		   "    active: 1\n"
		   "    total:  5\n");
	assert_int_equal(print("telemetry", "{\"id\":\"alice\",\"srtt-ms\":12.5,\"jitter-ms\":1.75,"
					    "\"min-rtt-ms\":10,\"loss\":0.02,\"health\":"
					    "\"degraded\",\"samples\":40}"),
			 0);
	expect_out("id:      alice\n"
		   "srtt:    12.5 ms\n"
		   "jitter:  1.8 ms\n"
		   "min rtt: 10.0 ms\n"
		   "loss:    0.02\n"
		   "health:  degraded\n"
		   "samples: 40\n");

	/* the bundle alone on stdout (ready for > alice.net), the secret's note on stderr */
	assert_int_equal(print("create", "{\"client\":{\"id\":\"alice\",\"ip\":\"10.0.0.5\"},"
					 "\"bundle\":\"" BUNDLE "\",\"private-key\":\"s3cr3t\"}"),
			 0);
	expect_out("# meshvpn client alice\nprivate-key: s3cr3t\npeers: [hub.example.com:3210]\n");
	assert_non_null(strstr(err_buf, "Created client alice (overlay IP 10.0.0.5)."));
	assert_non_null(strstr(err_buf, "PRIVATE KEY"));
	assert_non_null(strstr(err_buf, "0600"));
	assert_null(strstr(err_buf, "s3cr3t"));
	assert_int_equal(print("rotate-key", "{\"client\":{\"id\":\"alice\",\"ip\":\"10.0.0.5\"},"
					     "\"bundle\":\"x\\n\"}"),
			 0);
	expect_out("x\n");
	assert_non_null(strstr(err_buf, "New key pair for client alice"));
	assert_int_equal(print("export", "{\"bundle\":\"# no key\\n\"}"), 0);
	expect_out("# no key\n");
	assert_string_equal(err_buf, "");
	assert_int_equal(print("export", "{}"), CTL_EXIT_API);
	assert_string_equal(out_buf, "");
	assert_string_equal(err_buf, "meshvpn: the node's reply to export has no bundle\n");

	assert_int_equal(print("remove", "{\"removed\":\"alice\"}"), 0);
	expect_out("Removed client alice.\n");
	assert_int_equal(print("disconnect", "{\"disconnected\":2}"), 0);
	expect_out("Closed 2 connections.\n");
	assert_int_equal(print("disconnect", "{\"disconnected\":1}"), 0);
	expect_out("Closed 1 connection.\n");
	assert_int_equal(print("enable", "{\"client\":" ENTRY "}"), 0);
	expect_out("Client alice enabled.\n");
	assert_int_equal(print("disable", "{\"client\":" ENTRY "}"), 0);
	expect_out("Client alice disabled.\n");
	assert_int_equal(print("peers", "{\"nope\":1}"), CTL_EXIT_API);
	assert_int_equal(print("get", "{}"), CTL_EXIT_API);
	assert_int_equal(print("list", "[]"), CTL_EXIT_API);
	/* an unknown command: the JSON, indented */
	assert_int_equal(print("future", "{\"a\":1}"), 0);
	expect_out("{\n  \"a\": 1\n}\n");
}

static void test_print_event_and_formats(void **state)
{
	char b[32], *buf = NULL;
	size_t len;
	FILE *f;
	json_t *ev =
	    json_loads("{\"event\":\"client-disconnected\",\"time\":"
		       "\"2026-12-03T10:00:00Z\",\"id\":\"alice\",\"reason\":\"idle time-out\","
		       "\"rx-bytes\":5,\"tag\":\"a\\u001bb\",\"q\":\"say \\\"hi\\\"\","
		       "\"n\":null,\"e\":\"\"}",
		       0, NULL);

	(void)state;
	assert_non_null(ev);
	f = open_memstream(&buf, &len);
	ctl_print_event(f, ev);
	fclose(f);
	assert_string_equal(buf, "2026-12-03T10:00:00Z client-disconnected id=alice "
				 "reason=\"idle time-out\" rx-bytes=5 tag=a?b q=\"say \\\"hi\\\"\" "
				 "n=- e=\"\"\n");
	free(buf);
	json_decref(ev);

	assert_string_equal(ctl_fmt_bytes(0, b), "0 B");
	assert_string_equal(ctl_fmt_bytes(1023, b), "1023 B");
	assert_string_equal(ctl_fmt_bytes(1024, b), "1.00 KiB");
	assert_string_equal(ctl_fmt_bytes(1268000, b), "1.21 MiB");
	assert_string_equal(ctl_fmt_bytes(5ULL << 40, b), "5.00 TiB");
	assert_string_equal(ctl_fmt_bytes(UINT64_MAX, b), "16384.00 PiB");
	assert_string_equal(ctl_fmt_duration(0, b), "0 s");
	assert_string_equal(ctl_fmt_duration(59, b), "59 s");
	assert_string_equal(ctl_fmt_duration(60, b), "1 min 0 s");
	assert_string_equal(ctl_fmt_duration(3599, b), "59 min 59 s");
	assert_string_equal(ctl_fmt_duration(3600, b), "1 h 0 min");
	assert_string_equal(ctl_fmt_duration(86400 * 3 + 7200, b), "3 d 2 h");
}

/* ---- against a real server ---- */

static json_t *load(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);

	if (!v)
		abort();
	return v;
}

/* The fake hub node: canned results of HUB.md's shapes. */
static json_t *handler(void *ctx, const struct mgmt_request *req, struct mgmt_client *c,
		       struct mgmt_error *err)
{
	const char *id = NULL;
	struct mgmt *m = *(struct mgmt **)ctx;

	(void)c;
	if (mgmt_arg_string(req, "id", 0, &id, err) < 0)
		return NULL;
	if (id && strcmp(id, "bob") == 0)
		return mgmt_fail(err, MGMT_ERR_NOT_FOUND, "no client 'bob'");
	if (!strcmp(req->cmd, "status"))
		return load(STATUS);
	if (!strcmp(req->cmd, "peers"))
		return load(PEERS);
	if (!strcmp(req->cmd, "list"))
		return load(LIST);
	if (!strcmp(req->cmd, "connections"))
		return load(CONNS);
	if (!strcmp(req->cmd, "create")) {
		/* what arrived, as the registry would keep it */
		json_t *e = json_pack("{s:s,s:s,s:O*,s:O*}", "id", id, "ip", "10.0.0.5",
				      "server-tags", json_object_get(req->args, "server-tags"),
				      "security", json_object_get(req->args, "security"));
		return json_pack("{s:o,s:s,s:s}", "client", e, "bundle", "# client\nkey: x\n",
				 "private-key", "x");
	}
	if (!strcmp(req->cmd, "hang"))
		sleep(2); /* the client's time-out fires first */
	if (!strcmp(req->cmd, "burst")) {
		/* events for the subscribers, then the node goes away */
		mgmt_event(m, "peer-up", json_pack("{s:s}", "address", "192.0.2.9:3210"));
		mgmt_event(m, "client-connected",
			   json_pack("{s:s,s:s}", "id", "alice", "transport", "udp"));
		return json_pack("{s:b}", "ok", 1);
	}
	return mgmt_unknown_command(req, err);
}

static void serve(const char *path)
{
	struct loop loop;
	struct mgmt *m = NULL;
	struct mgmt_params p = {.path = path, .handler = handler, .ctx = &m};
	struct loop_event ev[LOOP_MAX_EVENTS];
	bool stop = false;

	if (loop_init(&loop, 1000) < 0 || mgmt_open(&p, &m) < 0 ||
	    mgmt_attach(m, &loop, LOOP_KIND_USER) < 0)
		_exit(1);
	while (!stop) {
		int n = loop_wait(&loop, ev, LOOP_MAX_EVENTS, -1);
		unsigned gen = loop.generation;

		for (int i = 0; i < n && gen == loop.generation; i++) {
			if (ev[i].src->kind == LOOP_KIND_SIGNAL)
				stop = true;
			else if (ev[i].src->kind == LOOP_KIND_USER)
				mgmt_handle(m, ev[i].src, ev[i].events);
			else
				loop_timer_ack(&loop);
		}
	}
	mgmt_close(m);
	_exit(0);
}

static bool connectable(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	strcpy(sa.sun_path, path);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static pid_t start_server(const char *path)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test must not leave it behind */
		serve(path);
	}
	for (int i = 0; i < 500 && !connectable(path); i++)
		usleep(10000);
	assert_true(connectable(path));
	return pid;
}

static void stop_server(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int group_setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/mvctl.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/hub.sock", tmpdir);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[300];

	(void)state;
	if (server_pid > 0)
		stop_server(server_pid);
	free(out_buf);
	free(err_buf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ctl_run() with "ctl"/"hub" + the arguments, sockets looked up in tmpdir. */
static int run(const char *front, ...)
{
	char *argv[64] = {(char *)front};
	int argc = 1, st;
	size_t ol, el;
	va_list ap;
	FILE *out, *err;

	va_start(ap, front);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	free(out_buf);
	free(err_buf);
	out = open_memstream(&out_buf, &ol);
	err = open_memstream(&err_buf, &el);
	st = ctl_run(argc, argv, tmpdir, out, err);
	fclose(out);
	fclose(err);
	return st;
}

#define RUN(front, ...) run(front, __VA_ARGS__, (char *)NULL)

static void test_run(void **state)
{
	json_t *v;

	(void)state;
	server_pid = start_server(sock_path);
	/* the only socket in the directory, -n NAME, --socket */
	assert_int_equal(RUN("ctl", "peers"), 0);
	expect_out(PEERS_OUT);
	assert_string_equal(err_buf, "");
	assert_int_equal(RUN("ctl", "-n", "hub", "status"), 0);
	expect_out(STATUS_OUT);
	assert_int_equal(RUN("hub", "--socket", sock_path, "list"), 0);
	expect_out(LIST_OUT);
	assert_int_equal(RUN("hub", "connections", "-n", "hub"), 0);
	expect_out(CONNS_OUT);

	/* --json: the result as it came, one line */
	assert_int_equal(RUN("ctl", "status", "--json"), 0);
	assert_non_null(strchr(out_buf, '\n'));
	assert_ptr_equal(strchr(out_buf, '\n'), out_buf + strlen(out_buf) - 1);
	v = json_loads(out_buf, 0, NULL);
	assert_non_null(v);
	json_t *want = load(STATUS);
	assert_true(json_equal(v, want));
	json_decref(want);
	json_decref(v);
	assert_int_equal(RUN("ctl", "call", "status"), 0);
	v = json_loads(out_buf, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(v, "device")), "mv0");
	json_decref(v);

	/* create: the bundle on stdout, the note on stderr; the options arrived */
	assert_int_equal(RUN("hub", "create", "alice", "--tag", "engineering",
			     "--destination-allow", "10.0.0.0/8"),
			 0);
	expect_out("# client\nkey: x\n");
	assert_non_null(strstr(err_buf, "Created client alice (overlay IP 10.0.0.5)."));
	/* `> alice.net`: the file gets mode 0600 before the key is written */
	char file[320];
	struct stat st;
	snprintf(file, sizeof(file), "%s/alice.net", tmpdir);
	mode_t old = umask(022);
	FILE *f = fopen(file, "w");
	umask(old);
	assert_non_null(f);
	char *argv[] = {"hub", "create", "alice", NULL};
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(ctl_run(3, argv, tmpdir, f, devnull), 0);
	fclose(f);
	fclose(devnull);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, strlen("# client\nkey: x\n"));
	assert_int_equal(RUN("hub", "create", "alice", "--tag", "engineering",
			     "--destination-allow", "10.0.0.0/8", "--json"),
			 0);
	v = json_loads(out_buf, 0, NULL);
	assert_non_null(v);
	want = load("{\"id\":\"alice\",\"ip\":\"10.0.0.5\",\"server-tags\":[\"engineering\"],"
		    "\"security\":{\"destination-allow\":[\"10.0.0.0/8\"]}}");
	assert_true(json_equal(json_object_get(v, "client"), want));
	json_decref(want);
	json_decref(v);
	assert_string_equal(err_buf, "");

	/* the node's errors: exit 1, the message on stderr */
	assert_int_equal(RUN("hub", "get", "bob"), CTL_EXIT_API);
	assert_string_equal(out_buf, "");
	assert_string_equal(err_buf, "meshvpn hub get: no client 'bob' (not-found)\n");
	assert_int_equal(RUN("hub", "telemetry", "carol"), CTL_EXIT_API);
	assert_string_equal(
	    err_buf, "meshvpn hub telemetry: unknown command 'telemetry' (unknown-command)\n");
	assert_int_equal(RUN("ctl", "call", "x", "{\"id\":5}"), CTL_EXIT_API);
	assert_non_null(strstr(err_buf, "argument 'id' must be a string (bad-request)"));

	/* usage: exit 2, nothing sent */
	assert_int_equal(RUN("hub", "peers"), CTL_EXIT_USAGE);
	assert_non_null(strstr(err_buf, "meshvpn hub: 'peers' is not a hub command"));
	assert_non_null(strstr(err_buf, "Try 'meshvpn hub --help'"));
	assert_int_equal(RUN("ctl", "-n", "../x", "status"), CTL_EXIT_USAGE);
	assert_non_null(strstr(err_buf, "'../x' is not a node name"));
	assert_int_equal(RUN("hub", "--help"), 0);
	assert_non_null(strstr(out_buf, "Usage: meshvpn hub"));
	assert_non_null(strstr(out_buf, "rotate-key"));
	assert_null(strstr(out_buf, "  peers")); /* hub lists only its commands */

	/* unreachable: exit 3 with a hint */
	assert_int_equal(RUN("ctl", "-n", "other", "status"), CTL_EXIT_UNREACHABLE);
	assert_non_null(strstr(err_buf, "other.sock: No such file or directory"));
	assert_non_null(strstr(err_buf, "Is the node running?"));
	assert_non_null(strstr(err_buf, "-n NAME"));

	/* the node does not answer in time */
	assert_int_equal(RUN("ctl", "call", "hang", "--timeout", "0.3"), CTL_EXIT_UNREACHABLE);
	assert_non_null(strstr(err_buf, "no answer within 300 ms"));
	assert_non_null(strstr(err_buf, "--timeout"));
}

static void test_unreachable(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[320];
	struct timespec t0, t1;
	int fd;

	(void)state;
	/* a stale socket: refused */
	snprintf(path, sizeof(path), "%s/stale.sock", tmpdir);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(RUN("ctl", "--socket", path, "status"), CTL_EXIT_UNREACHABLE);
	assert_non_null(strstr(err_buf, "Connection refused"));
	assert_non_null(strstr(err_buf, "not running"));
	/* two sockets in the directory: choose */
	assert_int_equal(RUN("ctl", "status"), CTL_EXIT_USAGE);
	assert_non_null(strstr(err_buf, "several nodes run ("));
	assert_non_null(strstr(err_buf, "stale"));
	assert_non_null(strstr(err_buf, "hub"));
	unlink(path);

	/* a socket that accepts (in the kernel's backlog) but never answers */
	snprintf(path, sizeof(path), "%s/mute.sock", tmpdir);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(RUN("ctl", "--socket", path, "-t", "0.2", "status"), CTL_EXIT_UNREACHABLE);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(strstr(err_buf, "no answer within 200 ms"));
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	close(fd);
	unlink(path);

	/* a directory without sockets */
	char empty[320];
	snprintf(empty, sizeof(empty), "%s/empty", tmpdir);
	assert_int_equal(mkdir(empty, 0700), 0);
	char *argv[] = {"ctl", "status", NULL};
	FILE *out = fopen("/dev/null", "w"), *err = tmpfile();
	assert_int_equal(ctl_run(2, argv, empty, out, err), CTL_EXIT_UNREACHABLE);
	char line[512] = "";
	rewind(err);
	assert_non_null(fgets(line, sizeof(line), err));
	assert_non_null(strstr(line, "no management socket in"));
	fclose(out);
	fclose(err);
	assert_int_equal(ctl_run(2, argv, "/nonexistent-dir", stdout, stderr),
			 CTL_EXIT_UNREACHABLE);
}

/* A server in this test that sends canned text to the first client, then closes. */
static pid_t raw_server(const char *path, const char *text)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	unlink(path);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int c;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		c = accept(fd, NULL, NULL);
		char buf[4096];

		if (c < 0 || recv(c, buf, sizeof(buf), 0) <= 0)
			_exit(1);
		if (send(c, text, strlen(text), MSG_NOSIGNAL) < 0)
			_exit(1);
		close(c);
		_exit(0);
	}
	close(fd);
	return pid;
}

static void test_odd_servers(void **state)
{
	char path[320];
	pid_t pid;
	int st;

	(void)state;
	snprintf(path, sizeof(path), "%s/raw.sock", tmpdir);
	/* busy: turned away, exit 3 */
	pid = raw_server(path, "{\"id\":null,\"error\":{\"code\":\"busy\",\"message\":"
			       "\"too many management connections (64)\"}}\n");
	assert_int_equal(RUN("ctl", "--socket", path, "status"), CTL_EXIT_UNREACHABLE);
	assert_string_equal(err_buf, "meshvpn ctl status: too many management connections (64) "
				     "(busy)\n");
	waitpid(pid, &st, 0);
	/* lines that are not the reply are skipped; the reply may be split anywhere */
	pid = raw_server(path, "garbage\n{\"event\":\"peer-up\"}\n{\"id\":2,\"result\":{}}\n"
			       "{\"id\":1,\"result\":{\"removed\":\"alice\"}}\n");
	assert_int_equal(RUN("hub", "--socket", path, "remove", "alice"), 0);
	expect_out("Removed client alice.\n");
	waitpid(pid, &st, 0);
	/* closed without an answer */
	pid = raw_server(path, "{\"id\":1,\"resu");
	assert_int_equal(RUN("ctl", "--socket", path, "status"), CTL_EXIT_UNREACHABLE);
	assert_non_null(strstr(err_buf, "closed the connection without an answer"));
	waitpid(pid, &st, 0);
	unlink(path);
}

static void test_subscribe(void **state)
{
	char path[320];
	pid_t pid, node;
	int st, pipefd[2];
	char buf[4096] = "";
	size_t n = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/ev.sock", tmpdir);
	node = start_server(path);
	/* `meshvpn ctl subscribe` in a child (it runs until the node goes away) */
	assert_int_equal(pipe(pipefd), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = {"ctl", "--socket", path, "subscribe", NULL};
		FILE *out = fdopen(pipefd[1], "w"), *err = fopen("/dev/null", "w");
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pipefd[0]);
		_exit(ctl_run(4, argv, NULL, out, err));
	}
	close(pipefd[1]);
	/* once it is subscribed, another client makes the node raise two events */
	for (int i = 0; i < 300; i++) {
		assert_int_equal(RUN("ctl", "--socket", path, "call", "burst"), 0);
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
		if (poll(&p, 1, 20) > 0)
			break;
	}
	for (int i = 0; i < 300 && !strstr(buf, "client-connected"); i++) {
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
		if (poll(&p, 1, 20) > 0) {
			ssize_t r = read(pipefd[0], buf + n, sizeof(buf) - 1 - n);
			assert_true(r > 0);
			n += (size_t)r;
			buf[n] = '\0';
		}
	}
	/* one line per event: TIME EVENT key=value ... */
	assert_non_null(strstr(buf, "Z peer-up address=192.0.2.9:3210\n"));
	assert_non_null(strstr(buf, "Z client-connected id=alice transport=udp\n"));
	assert_int_equal(buf[4], '-');
	/* the node stops: the subscriber ends with 3 */
	stop_server(node);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), CTL_EXIT_UNREACHABLE);
	close(pipefd[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),	cmocka_unit_test(test_parse_usage),
	    cmocka_unit_test(test_print),	cmocka_unit_test(test_print_event_and_formats),
	    cmocka_unit_test(test_run),		cmocka_unit_test(test_unreachable),
	    cmocka_unit_test(test_odd_servers), cmocka_unit_test(test_subscribe),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

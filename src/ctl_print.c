// SPDX-License-Identifier: GPL-3.0-or-later
/* ctl_print.c - results and events of the management API, printed for people. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/ctl.h"
#include "meshvpn/ctl_print.h"
#include "meshvpn/util.h"

#define TABLE_COLS 10
#define CELL_MAX   256 /* bytes of one table cell (longer ones are cut) */

const char *ctl_fmt_bytes(uint64_t n, char buf[32])
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, 32, "%" PRIu64 " B", n);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, 32, "%.2f %s", v, units[u]);
	return buf;
}

const char *ctl_fmt_duration(uint64_t s, char buf[32])
{
	if (s < 60)
		snprintf(buf, 32, "%" PRIu64 " s", s);
	else if (s < 3600)
		snprintf(buf, 32, "%" PRIu64 " min %" PRIu64 " s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, 32, "%" PRIu64 " h %" PRIu64 " min", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, 32, "%" PRIu64 " d %" PRIu64 " h", s / 86400, s % 86400 / 3600);
	return buf;
}

/* s with control characters (terminal escapes from a client's tags...) as '?' */
static void clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Columns a UTF-8 string takes (code points; wide characters are rare in these fields). */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static bool is_uint(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0;
}

/* A scalar or a list of scalars as text ("-" for null, absent or empty). */
static const char *scalar(const json_t *v, char *buf, size_t len)
{
	if (!v || json_is_null(v))
		snprintf(buf, len, "-");
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v)[0] ? json_string_value(v) : "-");
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else if (json_is_array(v)) {
		size_t i, n = 0;
		json_t *e;

		buf[0] = '\0';
		json_array_foreach(v, i, e) {
			char one[CELL_MAX];

			scalar(e, one, sizeof(one));
			n += (size_t)snprintf(buf + MIN(n, len - 1), len - MIN(n, len - 1), "%s%s",
					      i ? ", " : "", one);
		}
		if (!buf[0])
			snprintf(buf, len, "-");
	} else {
		char *s = json_dumps(v, JSON_COMPACT);
		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
	}
	clean(buf);
	return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * A member as label and text, by what its key says: "*-bytes" in binary units, "*-ms" as
 * milliseconds (the unit leaves the label), "uptime" as a duration, "last-handshake" as
 * seconds ago.
 */
static void member(const char *key, const json_t *v, char *label, size_t llen, char *text,
		   size_t tlen)
{
	char b[32];

	snprintf(label, llen, "%s", key);
	if (ends_with(label, "-ms") && strlen(label) > 3)
		label[strlen(label) - 3] = '\0';
	for (char *p = label; *p; p++)
		if (*p == '-')
			*p = ' ';
	clean(label);
	if (ends_with(key, "-bytes") && is_uint(v))
		snprintf(text, tlen, "%s", ctl_fmt_bytes((uint64_t)json_integer_value(v), b));
	else if (ends_with(key, "-ms") && json_is_number(v))
		snprintf(text, tlen, "%.1f ms", json_number_value(v));
	else if (strcmp(key, "uptime") == 0 && is_uint(v))
		snprintf(text, tlen, "%s", ctl_fmt_duration((uint64_t)json_integer_value(v), b));
	else if (strcmp(key, "last-handshake") == 0 && is_uint(v))
		snprintf(text, tlen, "%s ago",
			 ctl_fmt_duration((uint64_t)json_integer_value(v), b));
	else
		scalar(v, text, tlen);
}

/* "label: value" lines of an object, labels aligned, nested objects indented. */
static void print_object(FILE *out, const json_t *o, int indent)
{
	const char *key;
	json_t *v;
	size_t w = 0;

	json_object_foreach((json_t *)o, key, v) {
		char label[128], text[8];

		if (json_is_object(v) && json_object_size(v))
			continue; /* a heading of its own */
		member(key, v, label, sizeof(label), text, sizeof(text));
		w = MAX(w, width(label));
	}
	json_object_foreach((json_t *)o, key, v) {
		char label[128], text[4096];

		member(key, v, label, sizeof(label), text, sizeof(text));
		if (json_is_object(v) && json_object_size(v)) {
			fprintf(out, "%*s%s:\n", indent, "", label);
			print_object(out, v, indent + 2);
			continue;
		}
		fprintf(out, "%*s%s:%*s %s\n", indent, "", label, (int)(w - width(label)), "",
			text);
	}
}

/* ---- tables ---- */

struct table {
	size_t cols, rows;
	char (*cell)[CELL_MAX]; /* rows * cols */
	size_t w[TABLE_COLS];
};

static void table_row(struct table *t, const char *const cells[])
{
	char(*c)[CELL_MAX] = realloc(t->cell, (t->rows + 1) * t->cols * sizeof(*c));

	if (!c)
		return; /* out of memory: the row is left out */
	t->cell = c;
	for (size_t i = 0; i < t->cols; i++) {
		char *dst = t->cell[t->rows * t->cols + i];

		snprintf(dst, CELL_MAX, "%s", cells[i] ? cells[i] : "-");
		clean(dst);
		t->w[i] = MAX(t->w[i], width(dst));
	}
	t->rows++;
}

/* Columns two blanks apart; the last one is not padded. Frees the table. */
static void table_print(FILE *out, struct table *t)
{
	for (size_t r = 0; r < t->rows; r++)
		for (size_t i = 0; i < t->cols; i++) {
			const char *s = t->cell[r * t->cols + i];

			if (i + 1 == t->cols)
				fprintf(out, "%s\n", s);
			else
				fprintf(out, "%s%*s", s, (int)(t->w[i] - width(s) + 2), "");
		}
	free(t->cell);
	t->cell = NULL;
}

/* ---- the commands ---- */

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static uint64_t num(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return is_uint(v) ? (uint64_t)json_integer_value(v) : 0;
}

static int missing(FILE *err, const char *cmd, const char *what)
{
	fprintf(err, "meshvpn: the node's reply to %s has no %s\n", cmd, what);
	return CTL_EXIT_API;
}

static int print_peers(FILE *out, FILE *err, const json_t *result)
{
	json_t *peers = json_object_get(result, "peers"), *p;
	size_t i;

	if (!json_is_array(peers))
		return missing(err, "peers", "peer list");
	if (json_array_size(peers) == 0)
		fprintf(out, "No peers.\n");
	json_array_foreach(peers, i, p) {
		char b1[32], b2[32], t[CELL_MAX];
		json_t *rtt = json_object_get(p, "rtt-ms");

		if (i)
			fputc('\n', out);
		fprintf(out, "peer: %s\n", scalar(json_object_get(p, "address"), t, sizeof(t)));
		if (json_object_get(p, "node-id"))
			fprintf(out, "  node id: %s\n",
				scalar(json_object_get(p, "node-id"), t, sizeof(t)));
		if (str(p, "client"))
			fprintf(out, "  client: %s\n",
				scalar(json_object_get(p, "client"), t, sizeof(t)));
		if (str(p, "path")) {
			fprintf(out, "  path: %s",
				scalar(json_object_get(p, "path"), t, sizeof(t)));
			if (str(p, "path-reason") && str(p, "path-reason")[0])
				fprintf(out, " (%s)",
					scalar(json_object_get(p, "path-reason"), t, sizeof(t)));
			fputc('\n', out);
		}
		if (str(p, "algorithm"))
			fprintf(out, "  algorithm: %s\n",
				scalar(json_object_get(p, "algorithm"), t, sizeof(t)));
		if (rtt)
			fprintf(out, json_is_number(rtt) ? "  rtt: %.1f ms\n" : "  rtt: -\n",
				json_number_value(rtt));
		fprintf(out, "  transfer: %s received, %s sent\n",
			ctl_fmt_bytes(num(p, "rx-bytes"), b1),
			ctl_fmt_bytes(num(p, "tx-bytes"), b2));
		fprintf(out, "  packets: %" PRIu64 " received, %" PRIu64 " sent\n",
			num(p, "rx-packets"), num(p, "tx-packets"));
		if (is_uint(json_object_get(p, "last-handshake")))
			fprintf(out, "  latest handshake: %s ago\n",
				ctl_fmt_duration(num(p, "last-handshake"), b1));
		if (str(p, "connected-since"))
			fprintf(out, "  connected since: %s\n",
				scalar(json_object_get(p, "connected-since"), t, sizeof(t)));
	}
	return 0;
}

static int print_list(FILE *out, FILE *err, const json_t *result)
{
	static const char *const head[] = {"ID", "IP", "STATE", "EXPIRES", "TAGS", "DESCRIPTION"};
	json_t *clients = json_object_get(result, "clients"), *c;
	struct table t = {.cols = ARRAY_SIZE(head)};
	size_t i;

	if (!json_is_array(clients))
		return missing(err, "list", "client list");
	if (json_array_size(clients) == 0) {
		fprintf(out, "No clients.\n");
		return 0;
	}
	table_row(&t, head);
	json_array_foreach(clients, i, c) {
		char tags[CELL_MAX], exp[CELL_MAX], desc[CELL_MAX], id[CELL_MAX], ip[CELL_MAX];
		json_t *en = json_object_get(c, "enabled");
		const char *row[] = {
		    scalar(json_object_get(c, "id"), id, sizeof(id)),
		    scalar(json_object_get(c, "ip"), ip, sizeof(ip)),
		    !json_is_boolean(en) ? "-"
		    : json_is_true(en)	 ? "enabled"
					 : "disabled",
		    scalar(json_object_get(c, "expires"), exp, sizeof(exp)),
		    scalar(json_object_get(c, "server-tags"), tags, sizeof(tags)),
		    scalar(json_object_get(c, "description"), desc, sizeof(desc)),
		};
		table_row(&t, row);
	}
	table_print(out, &t);
	return 0;
}

/* "drops" is a count, or counts by reason: the sum. */
static uint64_t drops(const json_t *v)
{
	const char *key;
	json_t *e;
	uint64_t n = 0;

	if (is_uint(v))
		return (uint64_t)json_integer_value(v);
	if (json_is_object(v))
		json_object_foreach((json_t *)v, key, e)
			n += drops(e);
	return n;
}

static int print_connections(FILE *out, FILE *err, const json_t *result)
{
	static const char *const head[] = {"ID", "IP", "ADDRESS", "TRANSPORT", "SINCE",
					   "RX", "TX", "DROPS",	  "RTT"};
	json_t *conns = json_object_get(result, "connections"), *c;
	struct table t = {.cols = ARRAY_SIZE(head)};
	size_t i;

	if (!json_is_array(conns))
		return missing(err, "connections", "connection list");
	if (json_array_size(conns) == 0) {
		fprintf(out, "No clients connected.\n");
		return 0;
	}
	table_row(&t, head);
	json_array_foreach(conns, i, c) {
		char id[CELL_MAX], ip[CELL_MAX], addr[CELL_MAX], tp[CELL_MAX], since[CELL_MAX];
		char rx[32], tx[32], dr[32], rtt[32];
		json_t *r = json_object_get(c, "rtt-ms");

		snprintf(dr, sizeof(dr), "%" PRIu64, drops(json_object_get(c, "drops")));
		if (json_is_number(r))
			snprintf(rtt, sizeof(rtt), "%.1f ms", json_number_value(r));
		else
			snprintf(rtt, sizeof(rtt), "-");
		const char *row[] = {
		    scalar(json_object_get(c, "id"), id, sizeof(id)),
		    scalar(json_object_get(c, "ip"), ip, sizeof(ip)),
		    scalar(json_object_get(c, "address"), addr, sizeof(addr)),
		    scalar(json_object_get(c, "transport"), tp, sizeof(tp)),
		    scalar(json_object_get(c, "since"), since, sizeof(since)),
		    ctl_fmt_bytes(num(c, "rx-bytes"), rx),
		    ctl_fmt_bytes(num(c, "tx-bytes"), tx),
		    dr,
		    rtt,
		};
		table_row(&t, row);
	}
	table_print(out, &t);
	return 0;
}

/* create, rotate-key: the bundle on out, how to handle it on err. */
static int print_bundle(FILE *out, FILE *err, const char *cmd, const json_t *result)
{
	const char *bundle = str(result, "bundle");
	json_t *client = json_object_get(result, "client");
	char id[CELL_MAX], ip[CELL_MAX];
	size_t n;

	if (!bundle)
		return missing(err, cmd, "bundle");
	n = strlen(bundle);
	fputs(bundle, out);
	if (n && bundle[n - 1] != '\n')
		fputc('\n', out);
	if (strcmp(cmd, "export") == 0)
		return 0;
	scalar(json_object_get(client, "id"), id, sizeof(id));
	scalar(json_object_get(client, "ip"), ip, sizeof(ip));
	if (strcmp(cmd, "create") == 0)
		fprintf(err, "Created client %s (overlay IP %s).\n", id, ip);
	else
		fprintf(err,
			"New key pair for client %s (overlay IP %s); the old key no longer "
			"works.\n",
			id, ip);
	fprintf(err,
		"The configuration on standard output contains the client's PRIVATE KEY: give it\n"
		"to the client over a secure channel and delete other copies (a file standard\n"
		"output goes to is made mode 0600). The hub keeps only the public key and cannot\n"
		"show this one again (rotate-key makes a new one).\n");
	return 0;
}

int ctl_print_result(FILE *out, FILE *err, const char *cmd, const json_t *result)
{
	char t[CELL_MAX];
	json_t *client = json_object_get(result, "client");

	if (!json_is_object(result))
		return missing(err, cmd, "result object");
	if (!strcmp(cmd, "peers"))
		return print_peers(out, err, result);
	if (!strcmp(cmd, "list"))
		return print_list(out, err, result);
	if (!strcmp(cmd, "connections"))
		return print_connections(out, err, result);
	if (!strcmp(cmd, "create") || !strcmp(cmd, "rotate-key") || !strcmp(cmd, "export"))
		return print_bundle(out, err, cmd, result);
	if (!strcmp(cmd, "remove")) {
		if (!json_object_get(result, "removed"))
			return missing(err, cmd, "'removed'");
		fprintf(out, "Removed client %s.\n",
			scalar(json_object_get(result, "removed"), t, sizeof(t)));
		return 0;
	}
	if (!strcmp(cmd, "disconnect")) {
		uint64_t n = num(result, "disconnected");

		fprintf(out, "Closed %" PRIu64 " connection%s.\n", n, n == 1 ? "" : "s");
		return 0;
	}
	if (!strcmp(cmd, "enable") || !strcmp(cmd, "disable")) {
		if (!json_is_object(client))
			return missing(err, cmd, "client");
		fprintf(out, "Client %s %sd.\n",
			scalar(json_object_get(client, "id"), t, sizeof(t)), cmd);
		return 0;
	}
	if (!strcmp(cmd, "get") || !strcmp(cmd, "update")) {
		if (!json_is_object(client))
			return missing(err, cmd, "client");
		print_object(out, client, 0);
		return 0;
	}
	if (!strcmp(cmd, "status") || !strcmp(cmd, "stats") || !strcmp(cmd, "telemetry")) {
		print_object(out, result, 0);
		return 0;
	}
	char *s = json_dumps(result, JSON_INDENT(2));
	fprintf(out, "%s\n", s ? s : "?");
	free(s);
	return 0;
}

void ctl_print_event(FILE *out, const json_t *event)
{
	const char *key;
	json_t *v;
	char t[4096];

	fprintf(out, "%s", scalar(json_object_get(event, "time"), t, sizeof(t)));
	fprintf(out, " %s", scalar(json_object_get(event, "event"), t, sizeof(t)));
	json_object_foreach((json_t *)event, key, v) {
		char k[128];

		if (!strcmp(key, "time") || !strcmp(key, "event"))
			continue;
		snprintf(k, sizeof(k), "%s", key);
		clean(k);
		if (json_is_string(v) &&
		    (json_string_length(v) == 0 || strpbrk(json_string_value(v), " \"=,\\") ||
		     strlen(json_string_value(v)) != json_string_length(v))) {
			/* in quotes, escaped as JSON (which also escapes control characters) */
			char *q = json_dumps(v, JSON_ENCODE_ANY);
			fprintf(out, " %s=%s", k, q ? q : "?");
			free(q);
		} else {
			fprintf(out, " %s=%s", k, scalar(v, t, sizeof(t)));
		}
	}
	fputc('\n', out);
}

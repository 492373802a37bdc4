/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ctl.h - `meshvpn ctl` and `meshvpn hub`: the command-line client of the management socket
 * (mgmt.h, HUB.md). `ctl` reaches every command, `hub` the hub's (create, list, ...). The
 * command line becomes one request; the reply is printed for people (ctl_print.h) or, with
 * --json, as the raw result. Never waits longer than the time-out (except for events).
 */
#ifndef MESHVPN_CTL_H
#define MESHVPN_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "util.h"

/* Exit statuses */
#define CTL_EXIT_API	     1 /* the node answered with an error (or output failed) */
#define CTL_EXIT_USAGE	     2 /* bad command line */
#define CTL_EXIT_UNREACHABLE 3 /* no usable answer: no socket, refused, time-out, busy */

#define CTL_TIMEOUT_SECS 5	    /* default --timeout */
#define CTL_REPLY_MAX	 (64 << 20) /* bytes of one reply line */

enum ctl_front {
	CTL_FRONT_CTL, /* meshvpn ctl: every command */
	CTL_FRONT_HUB, /* meshvpn hub: the hub's commands */
};

/* A parsed command line. */
struct ctl_opts {
	enum ctl_front front;
	const char *socket; /* --socket PATH, or NULL */
	const char *name;   /* -n NAME, or NULL */
	bool json;	    /* --json */
	bool raw;	    /* call: cmd is the node's, the result is printed as JSON */
	bool help;	    /* --help: print ctl_usage(), nothing else was checked */
	int timeout_ms;	    /* --timeout; 0 = wait forever */
	const char *cmd;    /* the API command */
	json_t *args;	    /* its arguments (owned) */
};

/*
 * Parses argv (argv[0] is "ctl" or "hub", options may come before or after the command)
 * into o and builds the request's arguments from the command's options (HUB.md), e.g.
 * `create alice --tag a,b --rate-limit 1M:100k` -> {"id": "alice", "server-tags": ["a",
 * "b"], "security": {"rate-limit": {"rate": 1000000, "burst": 100000}}} (rates as
 * ratelimit_parse_bytes() reads them). Pure: no I/O.
 * Returns 0, or -EINVAL with the reason in why; free o with ctl_opts_free() in both cases.
 */
int ctl_parse(int argc, char **argv, struct ctl_opts *o, char *why, size_t len) WUR;
void ctl_opts_free(struct ctl_opts *o);

/* The help text of the front end. */
void ctl_usage(FILE *out, enum ctl_front front);

/*
 * Runs the command: connects to the socket (--socket, -n NAME in sock_dir, or the only
 * socket in sock_dir; NULL = MGMT_SOCKET_DIR), sends the request, prints the reply to out
 * and messages to err. Returns the exit status (0, CTL_EXIT_*).
 */
int ctl_run(int argc, char **argv, const char *sock_dir, FILE *out, FILE *err);
/* ctl_run() on stdout and stderr; argv[0] is "ctl" or "hub". */
int ctl_main(int argc, char **argv);

#endif

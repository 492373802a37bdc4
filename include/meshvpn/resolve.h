/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * resolve.h - host name resolution off the event loop: a worker thread runs getaddrinfo and
 * reports back through an eventfd registered in the loop (STYLE.md 6).
 */
#ifndef MESHVPN_RESOLVE_H
#define MESHVPN_RESOLVE_H

#include <stdint.h>

#include "addr.h"
#include "loop.h"
#include "util.h"

#define RESOLVE_MAX_ADDRS 8
#define RESOLVE_QUEUE 64

struct resolve_result {
	uint64_t tag;	/* the caller's tag from resolver_submit() */
	int count;	/* addresses found (IPv4 first), or -errno */
	struct addr addrs[RESOLVE_MAX_ADDRS];
};

struct resolver;

/* Starts the worker thread. Call after loop_init() so the thread inherits the signal mask. */
int resolver_new(struct resolver **out) WUR;
/* Stops the worker (waits for a running lookup to end) and frees everything; accepts NULL. */
void resolver_free(struct resolver *r);
/* The eventfd to register in the loop (readable when results are waiting). */
struct loop_src *resolver_src(struct resolver *r);
/* Queues a lookup of "host[:port]" (name copied). 0, -ENOBUFS (queue full) or -ENOMEM. */
int resolver_submit(struct resolver *r, uint64_t tag, const char *name, uint16_t default_port) WUR;
/* Takes one finished lookup: 1 (out filled) or 0 (none left). Clears the eventfd when empty. */
int resolver_take(struct resolver *r, struct resolve_result *out);

#endif

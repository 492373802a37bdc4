/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chan.h - a worker thread and its channel to the event loop (STYLE.md 6): bounded queues of
 * fixed-size requests (loop -> worker) and replies (worker -> loop), copied by value, and an
 * eventfd for the loop that is readable while replies wait. For blocking library calls
 * (getaddrinfo, UPnP, a WebSocket connect) that must not run on the loop thread.
 *
 * Slots: a chan has `depth` slots, and every queued request, request being worked on and
 * untaken reply holds one. A request's slot carries over to its reply, so chan_reply() never
 * fails: when the loop stops taking replies, chan_submit() fails instead (-ENOBUFS).
 *
 * Threads: the owner's functions (chan_new, chan_src, chan_submit, chan_take, chan_stop,
 * chan_free) are called from one thread at a time, normally the loop thread; chan_free() is
 * the last call on the handle. The worker's functions (chan_wait, chan_reply, chan_post,
 * chan_quitting) are called only from inside work(). Both sides share one mutex, held only
 * while items are copied, so neither side blocks the other for longer than that. Callbacks
 * run without it but must not call chan functions.
 *
 * Lifetime: the chan is freed when both the owner (chan_free) and the worker (work returned)
 * are done with it, so chan_free() never waits: a worker stuck in a blocking call is left to
 * finish on its own. The drop_* and release callbacks run in whichever thread is last.
 */
#ifndef MESHVPN_CHAN_H
#define MESHVPN_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "util.h"

#define CHAN_NO_DEADLINE INT64_MAX /* chan_wait(): no deadline */
#define CHAN_FOREVER	 (-1)	   /* chan_stop(): no timeout */

struct chan;

struct chan_params {
	size_t req_size;   /* bytes per request; 0: no requests (the worker only posts) */
	size_t reply_size; /* bytes per reply or posted event, > 0 */
	unsigned depth;	   /* slots (see above), > 0 */
	/* The worker thread's body: serves requests and/or posts events until chan_wait()
	 * reports -ECANCELED or chan_quitting() is true, then returns. */
	void (*work)(struct chan *c, void *arg);
	void *arg; /* for work and release; borrowed until release (if any) is called */
	/* Optional: frees what a request holds when it is dropped unserved (chan freed). */
	void (*drop_req)(void *req);
	/* Optional: frees what a reply or event holds when the owner will never take it. */
	void (*drop_reply)(void *reply);
	/* Optional: frees arg once neither the worker nor the owner uses the chan any more. */
	void (*release)(void *arg);
};

/* ---- the owner (the loop thread) ---- */

/*
 * Allocates the queues and the eventfd and starts the worker thread running p->work. Call
 * after loop_init() so the thread inherits its signal mask (loop.h). 0 or -errno (*out =
 * NULL, release not called: arg stays the caller's). p is copied.
 */
int chan_new(const struct chan_params *p, struct chan **out) WUR;
/*
 * The eventfd to register in the loop (set its kind); readable while replies wait. Valid
 * until chan_free(), which closes it: loop_del() it before.
 */
struct loop_src *chan_src(struct chan *c);
/*
 * Queues a copy of req (req_size bytes) and reserves a slot for its reply. 0, -ENOBUFS (no
 * free slot: take replies first) or -ECANCELED (chan_stop() was called).
 */
int chan_submit(struct chan *c, const void *req) WUR;
/*
 * Copies the oldest reply into out (reply_size bytes): 1, or 0 when none waits. Clears the
 * eventfd when no reply is left. What the reply holds is the caller's from now on.
 */
int chan_take(struct chan *c, void *out);
/*
 * Asks the worker to quit (chan_wait returns -ECANCELED, chan_quitting is true) and waits at
 * most timeout_ms (CHAN_FOREVER: until it has; 0: not at all) for work() to return. 0 (it
 * has returned: what it left in arg may be read now) or -ETIMEDOUT. Replies stay takeable.
 */
int chan_stop(struct chan *c, int timeout_ms);
/*
 * Asks the worker to quit without waiting, closes the eventfd and releases the handle. The
 * thread is joined if it has ended, else detached. The last one out frees the chan: queued
 * requests and untaken replies, also those the worker makes after this call, are dropped
 * (drop_req, drop_reply), then release is called. Accepts NULL.
 */
void chan_free(struct chan *c);

/* ---- the worker (inside work() only) ---- */

/*
 * Waits for quit, a request or the deadline (CLOCK_MONOTONIC milliseconds, as tv_sec * 1000
 * + tv_nsec / 1000000; CHAN_NO_DEADLINE: none), which win in that order. -ECANCELED: quit
 * (queued requests stay unserved); 1: a request was copied into req and must be answered
 * with chan_reply(); 0: the deadline has passed. req NULL: wait for quit or the deadline.
 */
int chan_wait(struct chan *c, void *req, int64_t deadline_ms) WUR;
/*
 * Queues the reply (reply_size bytes, copied) to the oldest request taken and not yet
 * answered; uses its reserved slot, so it never fails. Every request taken gets exactly one
 * reply, also after a quit request.
 */
void chan_reply(struct chan *c, const void *reply);
/*
 * Queues an event that answers no request (reply_size bytes, copied) in a free slot. When
 * there is none, the oldest waiting event (never a reply) is dropped (drop_reply) so the
 * loop sees the newest: returns 1 then, else 0. -ENOBUFS: every slot is a request's or a
 * reply's.
 */
int chan_post(struct chan *c, const void *ev);
/* True once the owner asked the worker to quit: check it between blocking calls. */
bool chan_quitting(struct chan *c);

#endif

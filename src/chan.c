// SPDX-License-Identifier: GPL-3.0-or-later
/* chan.c - a worker thread with bounded request and reply rings and an eventfd for the loop. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "meshvpn/caps.h"
#include "meshvpn/chan.h"
#include "meshvpn/log.h"

#define CHAN_MAX_DEPTH 65536

/* depth items of size bytes each, copied in and out. */
struct ring {
	unsigned char *mem;
	size_t size;
	unsigned head, n;
};

struct chan {
	struct loop_src src; /* eventfd; closed (-1) by chan_free() */
	struct chan_params p;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* the worker waits on it (CLOCK_MONOTONIC) */
	pthread_cond_t done_cv; /* chan_stop() waits on it for work() to return */
	unsigned refs;		/* the owner and the worker: the last one frees */
	bool quit, done;
	unsigned busy; /* requests the worker took and has not answered */
	struct ring req, rep;
	bool *posted;	      /* per reply slot (physical index): an event from chan_post() */
	unsigned char *spare; /* chan_post's (worker only): an event to drop after unlocking */
	unsigned char mem[];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec abs_ms(int64_t ms)
{
	return (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
}

static unsigned idx(const struct chan *c, const struct ring *r, unsigned k)
{
	return (r->head + k) % c->p.depth;
}

static void *at(const struct chan *c, const struct ring *r, unsigned k)
{
	return r->mem + (size_t)idx(c, r, k) * r->size;
}

static void push(struct chan *c, struct ring *r, const void *item)
{
	memcpy(at(c, r, r->n), item, r->size);
	r->n++;
}

static void pop(struct chan *c, struct ring *r, void *out)
{
	memcpy(out, at(c, r, 0), r->size);
	r->head = (r->head + 1) % c->p.depth;
	r->n--;
}

/* Slots in use: queued requests, requests being worked on, untaken replies. */
static unsigned used(const struct chan *c)
{
	return c->req.n + c->busy + c->rep.n;
}

/* Lock held: a reply or event was queued; the eventfd counts it (the owner reads it to 0). */
static void notify(struct chan *c)
{
	uint64_t one = 1;

	if (c->src.fd < 0) /* the owner is gone: nobody reads, the items wait for destroy() */
		return;
	ssize_t w = write(c->src.fd, &one, sizeof(one));
	(void)w; /* cannot fail short of 2^64 - 1 unread replies */
}

static void free_chan(struct chan *c)
{
	if (c->src.fd >= 0)
		close(c->src.fd);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->done_cv);
	free(c);
}

/* The last reference: drops what was never served or taken, then releases arg. */
static void destroy(struct chan *c)
{
	while (c->req.n) {
		if (c->p.drop_req)
			c->p.drop_req(at(c, &c->req, 0));
		c->req.head = (c->req.head + 1) % c->p.depth;
		c->req.n--;
	}
	while (c->rep.n) {
		if (c->p.drop_reply)
			c->p.drop_reply(at(c, &c->rep, 0));
		c->rep.head = (c->rep.head + 1) % c->p.depth;
		c->rep.n--;
	}
	if (c->p.release)
		c->p.release(c->p.arg);
	free_chan(c);
}

static void unref(struct chan *c)
{
	pthread_mutex_lock(&c->lock);
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		destroy(c);
}

static void *run(void *arg)
{
	struct chan *c = arg;

	/*
	 * Capabilities belong to threads: the node's drop after set-up does not reach a
	 * worker started before it. No worker needs one (name lookups, UPnP, outgoing
	 * connections, beacon commands), and workers read what DNS servers, gateways and
	 * proxies send: each gives up all of them, its bounding set too so that a program it
	 * runs gains none. Nothing to do (EPERM) without privileges.
	 */
	caps_drop_thread();
	c->p.work(c, c->p.arg);
	pthread_mutex_lock(&c->lock);
	c->done = true;
	pthread_cond_broadcast(&c->done_cv);
	pthread_mutex_unlock(&c->lock);
	unref(c);
	return NULL;
}

/* ---- the owner ---- */

int chan_new(const struct chan_params *p, struct chan **out)
{
	size_t reqs, reps, total;
	pthread_condattr_t ca;
	struct chan *c;
	int err;

	*out = NULL;
	if (!p->work || !p->reply_size || !p->depth || p->depth > CHAN_MAX_DEPTH)
		return -EINVAL;
	if (__builtin_mul_overflow(p->req_size, p->depth, &reqs) ||
	    __builtin_mul_overflow(p->reply_size, p->depth, &reps) ||
	    __builtin_add_overflow(reqs, reps, &total) ||
	    __builtin_add_overflow(total, p->reply_size, &total) ||
	    __builtin_add_overflow(total, sizeof(*c) + p->depth * sizeof(bool), &total))
		return -EOVERFLOW;
	c = calloc(1, total);
	if (!c)
		return -ENOMEM;
	c->p = *p;
	c->req = (struct ring){.mem = c->mem, .size = p->req_size};
	c->rep = (struct ring){.mem = c->mem + reqs, .size = p->reply_size};
	c->spare = c->mem + reqs + reps;
	c->posted = (bool *)(c->spare + p->reply_size);
	c->src.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->src.fd < 0) {
		err = -errno;
		free(c);
		return err;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &ca);
	pthread_cond_init(&c->done_cv, &ca);
	pthread_condattr_destroy(&ca);
	c->refs = 2;
	err = pthread_create(&c->thread, NULL, run, c);
	if (err) {
		free_chan(c);
		return -err;
	}
	*out = c;
	return 0;
}

struct loop_src *chan_src(struct chan *c)
{
	return &c->src;
}

int chan_submit(struct chan *c, const void *req)
{
	int err = 0;

	pthread_mutex_lock(&c->lock);
	if (!c->p.req_size)
		err = -EINVAL;
	else if (c->quit)
		err = -ECANCELED;
	else if (used(c) >= c->p.depth)
		err = -ENOBUFS;
	else
		push(c, &c->req, req);
	if (!err)
		pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	return err;
}

int chan_take(struct chan *c, void *out)
{
	int got = 0;

	pthread_mutex_lock(&c->lock);
	if (c->rep.n) {
		pop(c, &c->rep, out);
		got = 1;
	}
	if (!c->rep.n) { /* under the lock: no reply can slip in between */
		uint64_t v;
		ssize_t r = read(c->src.fd, &v, sizeof(v));
		(void)r; /* EAGAIN when it was clear already */
	}
	pthread_mutex_unlock(&c->lock);
	return got;
}

int chan_stop(struct chan *c, int timeout_ms)
{
	struct timespec ts = abs_ms(now_ms() + (timeout_ms < 0 ? 0 : timeout_ms));
	int r;

	pthread_mutex_lock(&c->lock);
	c->quit = true;
	pthread_cond_broadcast(&c->wake);
	while (!c->done) {
		if (timeout_ms < 0)
			pthread_cond_wait(&c->done_cv, &c->lock);
		else if (pthread_cond_timedwait(&c->done_cv, &c->lock, &ts) == ETIMEDOUT)
			break;
	}
	r = c->done ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&c->lock);
	return r;
}

void chan_free(struct chan *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->quit = true;
	pthread_cond_broadcast(&c->wake);
	/* closing removes it from any epoll set; a late reply must not write to a reused fd */
	close(c->src.fd);
	c->src.fd = -1;
	bool done = c->done;
	pthread_mutex_unlock(&c->lock);
	/*
	 * A worker stuck in a blocking library call is left to finish on its own (such calls
	 * time out within seconds); it frees the chan when it ends.
	 */
	if (done)
		pthread_join(c->thread, NULL);
	else
		pthread_detach(c->thread);
	unref(c);
}

/* ---- the worker ---- */

int chan_wait(struct chan *c, void *req, int64_t deadline_ms)
{
	struct timespec ts = abs_ms(deadline_ms);
	int r;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (c->quit) {
			r = -ECANCELED;
			break;
		}
		if (req && c->req.n) {
			pop(c, &c->req, req);
			c->busy++;
			r = 1;
			break;
		}
		if (deadline_ms == CHAN_NO_DEADLINE) {
			pthread_cond_wait(&c->wake, &c->lock);
			continue;
		}
		if (now_ms() >= deadline_ms) {
			r = 0;
			break;
		}
		pthread_cond_timedwait(&c->wake, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

void chan_reply(struct chan *c, const void *reply)
{
	pthread_mutex_lock(&c->lock);
	if (!c->busy) /* the slot would not be reserved: the ring could overflow */
		bug("chan_reply() without a request taken by chan_wait()");
	c->posted[idx(c, &c->rep, c->rep.n)] = false;
	push(c, &c->rep, reply);
	c->busy--;
	notify(c);
	pthread_mutex_unlock(&c->lock);
}

int chan_post(struct chan *c, const void *ev)
{
	bool dropped = false;
	unsigned k;

	pthread_mutex_lock(&c->lock);
	if (used(c) >= c->p.depth) {
		for (k = 0; k < c->rep.n && !c->posted[idx(c, &c->rep, k)]; k++)
			;
		if (k == c->rep.n) {
			pthread_mutex_unlock(&c->lock);
			return -ENOBUFS;
		}
		/* the oldest event goes: the older replies move up one place over it */
		memcpy(c->spare, at(c, &c->rep, k), c->rep.size);
		for (; k > 0; k--) {
			memcpy(at(c, &c->rep, k), at(c, &c->rep, k - 1), c->rep.size);
			c->posted[idx(c, &c->rep, k)] = c->posted[idx(c, &c->rep, k - 1)];
		}
		c->rep.head = (c->rep.head + 1) % c->p.depth;
		c->rep.n--;
		dropped = true;
	}
	c->posted[idx(c, &c->rep, c->rep.n)] = true;
	push(c, &c->rep, ev);
	notify(c);
	pthread_mutex_unlock(&c->lock);
	/* callbacks never run under the lock: they may take locks of their own */
	if (dropped && c->p.drop_reply)
		c->p.drop_reply(c->spare);
	return dropped;
}

bool chan_quitting(struct chan *c)
{
	pthread_mutex_lock(&c->lock);
	bool q = c->quit;
	pthread_mutex_unlock(&c->lock);
	return q;
}

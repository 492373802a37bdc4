// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_chan.c - the worker channel: order, full queues and reply reservations, the eventfd,
 * events that keep the newest, deadlines, quitting, a stop that times out on a stuck worker,
 * freeing with items pending (LeakSanitizer), and many submit/take cycles under load.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/chan.h"

#define WAIT_MS 10000 /* generous: only a broken chan takes this long */
#define DEPTH	8

enum op {
	OP_ECHO,   /* reply at once */
	OP_SLEEP,  /* a blocking call: sleep arg ms, then reply */
	OP_HOLD,   /* block until the test opens the gate, then reply */
	OP_POST,   /* post arg events (recording chan_post's answers), then reply */
	OP_WAIT,   /* chan_wait(NULL) with a deadline arg ms away, record, then reply */
	OP_REPLY2, /* reply, then take the next request (arg ms deadline) and reply to it */
};

struct req {
	enum op op;
	int arg;
	uint64_t seq;
	char *heap; /* owned: moves to the reply; freed by drop_req when unserved */
};

struct rep {
	uint64_t seq;
	int value;
	char *heap; /* owned by whoever holds the reply; drop_reply frees it */
};

#define MAX_POSTS 16

/* The worker's side of a test; cmocka asserts run on the loop thread only. */
static struct ctx {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool gate;	      /* OP_HOLD waits for it */
	unsigned started;     /* requests taken */
	unsigned replied;     /* replies made */
	int posts[MAX_POSTS]; /* chan_post's answers */
	int wait_r;	      /* OP_WAIT / wait_work: chan_wait's answer */
	int64_t waited_ms;    /* ... and how long it took */
	unsigned waits;	      /* OP_WAIT / OP_REPLY2: wait_r and waited_ms are set */
	int end_r;	      /* chan_wait's answer that ended work() */
	bool quitting_at_end; /* chan_quitting() then */
	bool ended, released;
	void *released_arg;
	unsigned dropped_req, dropped_rep;
} X = {.lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ctx_reset(void)
{
	pthread_mutex_lock(&X.lock);
	X.gate = false;
	X.started = X.replied = X.waits = 0;
	memset(X.posts, 0x7f, sizeof(X.posts));
	X.wait_r = X.end_r = 12345;
	X.waited_ms = -1;
	X.quitting_at_end = X.ended = X.released = false;
	X.released_arg = NULL;
	X.dropped_req = X.dropped_rep = 0;
	pthread_mutex_unlock(&X.lock);
}

static void ctx_bump(unsigned *v)
{
	pthread_mutex_lock(&X.lock);
	(*v)++;
	pthread_cond_broadcast(&X.cv);
	pthread_mutex_unlock(&X.lock);
}

/* Waits (loop side) until *v >= n or a flag is set; false after WAIT_MS. */
static bool ctx_wait(const unsigned *v, unsigned n, const bool *flag)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&X.lock);
	while (!(ok = flag ? *flag : *v >= n))
		if (pthread_cond_timedwait(&X.cv, &X.lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&X.lock);
	return ok;
}

static void open_gate(void)
{
	pthread_mutex_lock(&X.lock);
	X.gate = true;
	pthread_cond_broadcast(&X.cv);
	pthread_mutex_unlock(&X.lock);
}

static void drop_req(void *p)
{
	free(((struct req *)p)->heap);
	ctx_bump(&X.dropped_req);
}

static void drop_rep(void *p)
{
	free(((struct rep *)p)->heap);
	ctx_bump(&X.dropped_rep);
}

static void release(void *arg)
{
	pthread_mutex_lock(&X.lock);
	X.released = true;
	X.released_arg = arg;
	pthread_cond_broadcast(&X.cv);
	pthread_mutex_unlock(&X.lock);
}

static void finish(struct chan *c, int r)
{
	bool q = chan_quitting(c);

	pthread_mutex_lock(&X.lock);
	X.end_r = r;
	X.quitting_at_end = q;
	X.ended = true;
	pthread_cond_broadcast(&X.cv);
	pthread_mutex_unlock(&X.lock);
}

static void reply(struct chan *c, const struct req *q, int value)
{
	struct rep out = {.seq = q->seq, .value = value, .heap = q->heap};
	chan_reply(c, &out);
	ctx_bump(&X.replied);
}

/* Serves requests until quit. */
static void serve(struct chan *c, void *arg)
{
	struct req q;
	int r;

	(void)arg;
	while ((r = chan_wait(c, &q, CHAN_NO_DEADLINE)) == 1) {
		ctx_bump(&X.started);
		switch (q.op) {
		case OP_ECHO:
			break;
		case OP_SLEEP:
			usleep((useconds_t)q.arg * 1000);
			break;
		case OP_HOLD:
			pthread_mutex_lock(&X.lock);
			while (!X.gate)
				pthread_cond_wait(&X.cv, &X.lock);
			pthread_mutex_unlock(&X.lock);
			break;
		case OP_POST:
			for (int i = 0; i < q.arg && i < MAX_POSTS; i++) {
				struct rep ev = {.seq = 1000 + (uint64_t)i};
				int pr = chan_post(c, &ev);
				pthread_mutex_lock(&X.lock);
				X.posts[i] = pr;
				pthread_mutex_unlock(&X.lock);
			}
			break;
		case OP_WAIT: {
			int64_t t0 = ms_now();
			int wr = chan_wait(c, NULL, t0 + q.arg);
			pthread_mutex_lock(&X.lock);
			X.wait_r = wr;
			X.waited_ms = ms_now() - t0;
			X.waits++;
			pthread_cond_broadcast(&X.cv);
			pthread_mutex_unlock(&X.lock);
			break;
		}
		case OP_REPLY2: {
			struct req q2;
			int64_t t0 = ms_now();
			reply(c, &q, (int)q.seq * 3);
			int wr = chan_wait(c, &q2, t0 + q.arg);
			pthread_mutex_lock(&X.lock);
			X.wait_r = wr;
			X.waited_ms = ms_now() - t0;
			X.waits++;
			pthread_cond_broadcast(&X.cv);
			pthread_mutex_unlock(&X.lock);
			if (wr == 1)
				reply(c, &q2, (int)q2.seq * 3);
			continue;
		}
		}
		reply(c, &q, (int)q.seq * 3);
	}
	finish(c, r);
}

static struct chan *new_chan(void (*work)(struct chan *, void *), size_t req_size, unsigned depth)
{
	const struct chan_params p = {
	    .req_size = req_size,
	    .reply_size = sizeof(struct rep),
	    .depth = depth,
	    .work = work,
	    .arg = &X,
	    .drop_req = drop_req,
	    .drop_reply = drop_rep,
	    .release = release,
	};
	struct chan *c;

	assert_int_equal(chan_new(&p, &c), 0);
	assert_non_null(c);
	return c;
}

static int submit(struct chan *c, enum op op, int arg, uint64_t seq, bool heap)
{
	struct req q = {.op = op, .arg = arg, .seq = seq};
	if (heap) {
		q.heap = malloc(32);
		assert_non_null(q.heap);
		snprintf(q.heap, 32, "item %llu", (unsigned long long)seq);
	}
	int r = chan_submit(c, &q);
	if (r < 0)
		free(q.heap);
	return r;
}

static bool readable(struct chan *c, int timeout_ms)
{
	struct pollfd p = {.fd = chan_src(c)->fd, .events = POLLIN};
	int k = poll(&p, 1, timeout_ms);
	assert_true(k >= 0);
	return k == 1 && (p.revents & POLLIN);
}

/* The next reply, waiting for it through the eventfd. */
static struct rep take1(struct chan *c)
{
	int64_t end = ms_now() + WAIT_MS;
	struct rep r;

	while (!chan_take(c, &r)) {
		int left = (int)(end - ms_now());
		if (left <= 0 || !readable(c, left))
			fail_msg("no reply within %d ms", WAIT_MS);
	}
	return r;
}

/* Takes a reply and checks it answers seq; frees what it holds. */
static void take_seq(struct chan *c, uint64_t seq)
{
	struct rep r = take1(c);
	assert_int_equal(r.seq, seq);
	assert_int_equal(r.value, (int)seq * 3);
	free(r.heap);
}

/* Frees the chan after the worker ended and waits for release. */
static void stop_free(struct chan *c)
{
	assert_int_equal(chan_stop(c, WAIT_MS), 0);
	chan_free(c);
	assert_true(ctx_wait(NULL, 0, &X.released));
	assert_ptr_equal(X.released_arg, &X);
}

static int setup(void **state)
{
	(void)state;
	ctx_reset();
	return 0;
}

/* ---- tests ---- */

static void test_params(void **state)
{
	struct chan_params p = {.reply_size = 8, .depth = 4, .work = serve};
	struct chan *c = (struct chan *)(uintptr_t)1;
	(void)state;

	p.depth = 0;
	assert_int_equal(chan_new(&p, &c), -EINVAL);
	assert_null(c);
	p.depth = 4;
	p.reply_size = 0;
	assert_int_equal(chan_new(&p, &c), -EINVAL);
	p.reply_size = 8;
	p.work = NULL;
	assert_int_equal(chan_new(&p, &c), -EINVAL);
	p.work = serve;
	p.req_size = SIZE_MAX / 2;
	assert_int_equal(chan_new(&p, &c), -EOVERFLOW);
	assert_null(c);
	chan_free(NULL);

	/* no requests: submitting is a caller bug */
	c = new_chan(serve, 0, 4);
	struct req q = {.op = OP_ECHO};
	assert_int_equal(chan_submit(c, &q), -EINVAL);
	stop_free(c);
}

static void test_order(void **state)
{
	(void)state;
	struct chan *c = new_chan(serve, sizeof(struct req), DEPTH);

	assert_false(readable(c, 0));
	for (uint64_t i = 0; i < DEPTH; i++)
		assert_int_equal(submit(c, i % 2 ? OP_ECHO : OP_SLEEP, 1, 100 + i, true), 0);
	for (uint64_t i = 0; i < DEPTH; i++) {
		struct rep r = take1(c);
		char want[32];
		assert_int_equal(r.seq, 100 + i); /* in submission order */
		assert_int_equal(r.value, (int)(100 + i) * 3);
		snprintf(want, sizeof(want), "item %llu", (unsigned long long)(100 + i));
		assert_string_equal(r.heap, want); /* copied by value, the pointer came back */
		free(r.heap);
	}
	struct rep r;
	assert_int_equal(chan_take(c, &r), 0);
	assert_false(readable(c, 0));
	stop_free(c);
	assert_int_equal(X.dropped_req + X.dropped_rep, 0);
	assert_int_equal(X.end_r, -ECANCELED);
	assert_true(X.quitting_at_end);
}

/* Queued, running and untaken together are bounded by the depth; replies never fail. */
static void test_full_and_reservation(void **state)
{
	(void)state;
	struct chan *c = new_chan(serve, sizeof(struct req), DEPTH);

	assert_int_equal(submit(c, OP_HOLD, 0, 0, false), 0);
	assert_true(ctx_wait(&X.started, 1, NULL)); /* the worker holds one: busy, no reply */
	for (uint64_t i = 1; i < DEPTH; i++)
		assert_int_equal(submit(c, OP_ECHO, 0, i, true), 0);
	assert_int_equal(submit(c, OP_ECHO, 0, 99, true), -ENOBUFS);
	assert_false(readable(c, 0));

	/* all answered: the replies hold the slots now, so it is still full */
	open_gate();
	assert_true(ctx_wait(&X.replied, DEPTH, NULL));
	assert_int_equal(submit(c, OP_ECHO, 0, 99, true), -ENOBUFS);
	assert_true(readable(c, 0));

	/* taking one frees one place, and only one */
	take_seq(c, 0);
	assert_int_equal(submit(c, OP_ECHO, 0, DEPTH, true), 0);
	assert_int_equal(submit(c, OP_ECHO, 0, 99, true), -ENOBUFS);
	for (uint64_t i = 1; i <= DEPTH; i++)
		take_seq(c, i);
	assert_false(readable(c, 0));
	stop_free(c);
	assert_int_equal(X.dropped_req + X.dropped_rep, 0);
}

static void test_eventfd(void **state)
{
	(void)state;
	struct chan *c = new_chan(serve, sizeof(struct req), DEPTH);
	struct rep r;

	assert_false(readable(c, 0));
	assert_int_equal(chan_take(c, &r), 0);
	assert_false(readable(c, 0)); /* a take on an empty chan leaves it clear */
	assert_int_equal(submit(c, OP_ECHO, 0, 1, false), 0);
	assert_int_equal(submit(c, OP_ECHO, 0, 2, false), 0);
	assert_true(ctx_wait(&X.replied, 2, NULL));
	assert_true(readable(c, 0));
	/* readable while a reply is left, clear once drained */
	take_seq(c, 1);
	assert_true(readable(c, 0));
	take_seq(c, 2);
	assert_false(readable(c, 0));
	assert_int_equal(chan_take(c, &r), 0);
	assert_false(readable(c, 0));
	/* and readable again for the next one */
	assert_int_equal(submit(c, OP_ECHO, 0, 3, false), 0);
	assert_true(readable(c, WAIT_MS));
	take_seq(c, 3);
	assert_false(readable(c, 0));
	stop_free(c);
}

/* Events keep the newest; they never push out a reply or a reserved slot. */
static void test_post(void **state)
{
	(void)state;
	struct chan *c = new_chan(serve, sizeof(struct req), 4);

	/* two untaken replies, then a request posting three events: one slot is left for them */
	assert_int_equal(submit(c, OP_ECHO, 0, 1, true), 0);
	assert_int_equal(submit(c, OP_ECHO, 0, 2, true), 0);
	assert_true(ctx_wait(&X.replied, 2, NULL));
	assert_int_equal(submit(c, OP_POST, 3, 3, false), 0);
	assert_true(ctx_wait(&X.replied, 3, NULL));
	assert_int_equal(X.posts[0], 0);
	assert_int_equal(X.posts[1], 1); /* the first event went */
	assert_int_equal(X.posts[2], 1); /* and the second */
	assert_int_equal(X.dropped_rep, 2);
	take_seq(c, 1);
	take_seq(c, 2);
	struct rep ev = take1(c);
	assert_int_equal(ev.seq, 1002);
	assert_null(ev.heap);
	take_seq(c, 3); /* the reply came after the event, in its reserved slot */
	assert_false(readable(c, 0));

	/* a reply and a running request fill it: no event to drop, -ENOBUFS */
	stop_free(c);
	ctx_reset();
	c = new_chan(serve, sizeof(struct req), 2);
	assert_int_equal(submit(c, OP_ECHO, 0, 1, true), 0);
	assert_int_equal(submit(c, OP_POST, 1, 2, false), 0);
	assert_true(ctx_wait(&X.replied, 2, NULL));
	assert_int_equal(X.posts[0], -ENOBUFS);
	assert_int_equal(X.dropped_rep, 0);
	take_seq(c, 1);
	take_seq(c, 2);
	stop_free(c);
}

/* A chan without requests, as portfwd's: the worker posts until told to quit. */
static void stream(struct chan *c, void *arg)
{
	(void)arg;
	for (int i = 0; i < DEPTH + 3; i++) {
		struct rep ev = {.seq = (uint64_t)i, .heap = malloc(8)};
		int pr = chan_post(c, &ev);
		pthread_mutex_lock(&X.lock);
		X.posts[i] = pr;
		pthread_mutex_unlock(&X.lock);
	}
	ctx_bump(&X.replied);
	finish(c, chan_wait(c, NULL, CHAN_NO_DEADLINE));
}

static void test_stream_keeps_newest(void **state)
{
	(void)state;
	struct chan *c = new_chan(stream, 0, DEPTH);

	assert_true(ctx_wait(&X.replied, 1, NULL));
	for (int i = 0; i < DEPTH + 3; i++)
		assert_int_equal(X.posts[i], i < DEPTH ? 0 : 1);
	assert_int_equal(X.dropped_rep, 3);
	for (uint64_t i = 3; i < DEPTH + 3; i++) {
		struct rep ev = take1(c);
		assert_int_equal(ev.seq, i);
		free(ev.heap);
	}
	assert_false(readable(c, 0));
	stop_free(c);
	assert_int_equal(X.end_r, -ECANCELED);
}

/* Waits for quit or a deadline only (portfwd's lease timer). */
static void wait_work(struct chan *c, void *arg)
{
	(void)arg;
	int64_t t0 = ms_now();
	int r = chan_wait(c, NULL, t0 + 150);
	pthread_mutex_lock(&X.lock);
	X.wait_r = r;
	X.waited_ms = ms_now() - t0;
	pthread_mutex_unlock(&X.lock);
	/* a deadline in the past returns at once */
	r = chan_wait(c, NULL, t0 - 1000);
	pthread_mutex_lock(&X.lock);
	X.posts[0] = r;
	pthread_mutex_unlock(&X.lock);
	ctx_bump(&X.replied);
	/* the next one is far away: only quit ends it */
	finish(c, chan_wait(c, NULL, ms_now() + 3600 * 1000));
}

static void test_deadline(void **state)
{
	(void)state;
	struct chan *c = new_chan(wait_work, 0, 1);

	assert_true(ctx_wait(&X.replied, 1, NULL));
	assert_int_equal(X.wait_r, 0);
	assert_true(X.waited_ms >= 150);
	assert_true(X.waited_ms < WAIT_MS);
	assert_int_equal(X.posts[0], 0);
	assert_false(X.ended);
	int64_t t0 = ms_now();
	stop_free(c); /* quit wakes the hour-long wait */
	assert_true(ms_now() - t0 < WAIT_MS / 2);
	assert_int_equal(X.end_r, -ECANCELED);
	assert_true(X.quitting_at_end);
}

/* A request wakes a worker waiting with a deadline; a wait without req ignores requests. */
static void test_deadline_with_requests(void **state)
{
	(void)state;
	struct chan *c = new_chan(serve, sizeof(struct req), DEPTH);

	/* OP_WAIT: NULL req, 200 ms; the request queued meanwhile does not end it early */
	assert_int_equal(submit(c, OP_WAIT, 200, 1, false), 0);
	assert_true(ctx_wait(&X.started, 1, NULL));
	assert_int_equal(submit(c, OP_ECHO, 0, 2, false), 0);
	take_seq(c, 1);
	assert_int_equal(X.wait_r, 0);
	assert_true(X.waited_ms >= 200);
	take_seq(c, 2);

	/* OP_REPLY2: waits up to an hour for a second request, which comes at once */
	assert_int_equal(submit(c, OP_REPLY2, 3600 * 1000, 3, false), 0);
	take_seq(c, 3);
	assert_int_equal(submit(c, OP_ECHO, 0, 4, false), 0);
	take_seq(c, 4);
	assert_true(ctx_wait(&X.waits, 2, NULL));
	assert_int_equal(X.wait_r, 1);
	assert_true(X.waited_ms < WAIT_MS);

	/* OP_REPLY2 with a short deadline and no second request: 0 */
	assert_int_equal(submit(c, OP_REPLY2, 100, 5, false), 0);
	take_seq(c, 5);
	assert_true(ctx_wait(&X.waits, 3, NULL));
	assert_int_equal(X.wait_r, 0);
	assert_true(X.waited_ms >= 100);
	stop_free(c);
}

static void test_quit_while_waiting(void **state)
{
	(void)state;
	struct chan *c = new_chan(serve, sizeof(struct req), DEPTH);

	assert_int_equal(submit(c, OP_ECHO, 0, 1, false), 0);
	assert_true(ctx_wait(&X.replied, 1, NULL));
	int64_t t0 = ms_now();
	assert_int_equal(chan_stop(c, WAIT_MS), 0);
	assert_true(ms_now() - t0 < WAIT_MS / 2);
	assert_true(X.ended);
	assert_int_equal(X.end_r, -ECANCELED);
	assert_int_equal(chan_stop(c, 0), 0); /* again: still ended */
	/* stopped: no more requests, but the reply is still there */
	assert_int_equal(submit(c, OP_ECHO, 0, 2, true), -ECANCELED);
	take_seq(c, 1);
	assert_false(readable(c, 0));
	chan_free(c);
	assert_true(ctx_wait(NULL, 0, &X.released));
	assert_int_equal(X.dropped_req + X.dropped_rep, 0);
}

/*
 * A worker stuck in a long call (800 ms here): the stop gives up after its timeout, the free
 * does not wait, and the worker frees everything when it is done, dropping the reply it made
 * and the requests nobody served.
 */
static void test_stop_timeout_stuck(void **state)
{
	(void)state;
	struct chan *c = new_chan(serve, sizeof(struct req), DEPTH);

	assert_int_equal(submit(c, OP_SLEEP, 800, 1, true), 0);
	assert_true(ctx_wait(&X.started, 1, NULL));
	for (uint64_t i = 2; i <= 4; i++)
		assert_int_equal(submit(c, OP_ECHO, 0, i, true), 0);
	int64_t t0 = ms_now();
	assert_int_equal(chan_stop(c, 50), -ETIMEDOUT);
	int64_t took = ms_now() - t0;
	assert_true(took >= 50);
	assert_false(X.ended);
	t0 = ms_now();
	chan_free(c);			  /* detaches */
	assert_true(ms_now() - t0 < 400); /* did not wait for the 800 ms call */
	assert_true(ctx_wait(NULL, 0, &X.released));
	assert_ptr_equal(X.released_arg, &X);
	assert_true(X.ended);
	assert_int_equal(X.replied, 1); /* quit comes before the queued requests */
	assert_int_equal(X.dropped_rep, 1);
	assert_int_equal(X.dropped_req, 3);
}

/* chan_stop(0) asks and returns at once; CHAN_FOREVER waits out the long call. */
static void test_stop_forever(void **state)
{
	(void)state;
	struct chan *c = new_chan(serve, sizeof(struct req), DEPTH);

	assert_int_equal(submit(c, OP_SLEEP, 200, 1, true), 0);
	assert_true(ctx_wait(&X.started, 1, NULL));
	assert_int_equal(chan_stop(c, 0), -ETIMEDOUT);
	int64_t t0 = ms_now();
	assert_int_equal(chan_stop(c, CHAN_FOREVER), 0);
	assert_true(ms_now() - t0 >= 100); /* most of the 200 ms were still to go */
	assert_true(X.ended);
	take_seq(c, 1);
	chan_free(c);
	assert_true(ctx_wait(NULL, 0, &X.released));
}

/* Freeing with requests queued, one running and replies untaken leaks nothing (LSan). */
static void test_free_pending(void **state)
{
	(void)state;
	for (int round = 0; round < 20; round++) {
		ctx_reset();
		struct chan *c = new_chan(serve, sizeof(struct req), DEPTH);
		unsigned n = 0;
		for (uint64_t i = 0; i < DEPTH; i++)
			n += submit(c, i == DEPTH / 2 ? OP_SLEEP : OP_ECHO, 20, i, true) == 0;
		assert_int_equal(n, DEPTH);
		if (round % 2)
			assert_true(ctx_wait(&X.replied, 1, NULL)); /* some replies wait too */
		if (round % 4 == 3) {
			take_seq(c, 0);
			n--;
		}
		chan_free(c);
		assert_true(ctx_wait(NULL, 0, &X.released));
		/* every item was dropped exactly once, by the request or by the reply */
		assert_int_equal(X.dropped_req + X.dropped_rep, n);
		assert_int_equal(X.dropped_rep, X.replied - (round % 4 == 3));
	}
}

/* The loop submits and takes many times while the worker replies; order and content hold. */
static void test_many_cycles(void **state)
{
	(void)state;
	struct chan *c = new_chan(serve, sizeof(struct req), DEPTH);
	const uint64_t total = 100000;
	uint64_t sent = 0, got = 0;
	unsigned full = 0;

	while (got < total) {
		int r = 0;
		while (sent < total && (r = submit(c, OP_ECHO, 0, sent, false)) == 0)
			sent++;
		if (sent < total) {
			assert_int_equal(r, -ENOBUFS);
			full++;
		}
		/* readable means a reply waits: the eventfd never says so falsely */
		assert_true(readable(c, WAIT_MS));
		struct rep rep;
		assert_int_equal(chan_take(c, &rep), 1);
		do {
			assert_int_equal(rep.seq, got);
			assert_int_equal(rep.value, (int)got * 3);
			got++;
		} while (got % 3 && chan_take(c, &rep)); /* sometimes leave some for later */
		assert_true(sent - got <= DEPTH);
	}
	struct rep rep;
	assert_int_equal(chan_take(c, &rep), 0);
	assert_false(readable(c, 0));
	assert_true(full > 0); /* the bound was hit on the way */
	stop_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_params, setup),
	    cmocka_unit_test_setup(test_order, setup),
	    cmocka_unit_test_setup(test_full_and_reservation, setup),
	    cmocka_unit_test_setup(test_eventfd, setup),
	    cmocka_unit_test_setup(test_post, setup),
	    cmocka_unit_test_setup(test_stream_keeps_newest, setup),
	    cmocka_unit_test_setup(test_deadline, setup),
	    cmocka_unit_test_setup(test_deadline_with_requests, setup),
	    cmocka_unit_test_setup(test_quit_while_waiting, setup),
	    cmocka_unit_test_setup(test_stop_timeout_stuck, setup),
	    cmocka_unit_test_setup(test_stop_forever, setup),
	    cmocka_unit_test_setup(test_free_pending, setup),
	    cmocka_unit_test_setup(test_many_cycles, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

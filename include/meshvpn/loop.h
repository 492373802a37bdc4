/* SPDX-License-Identifier: GPL-3.0-or-later */
/* loop.h - the one epoll set: registered sources, a periodic timerfd and a signalfd. */
#ifndef MESHVPN_LOOP_H
#define MESHVPN_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

#include "util.h"

/*
 * A registered fd. Embed it in the struct that owns the fd; loop_wait() hands the pointer
 * back and the caller dispatches on kind, then recovers the owner with container_of().
 */
struct loop_src {
	int fd;
	int kind; /* LOOP_KIND_* below or a caller value >= LOOP_KIND_USER */
};

enum loop_kind {
	LOOP_KIND_TIMER = 1,  /* the periodic tick: call loop_timer_ack() */
	LOOP_KIND_SIGNAL = 2, /* pending signals: call loop_signal_read() */
	LOOP_KIND_USER = 16,  /* first kind free for callers */
};

#define LOOP_DEFAULT_PERIOD_MS 1000
#define LOOP_MAX_EVENTS	       64 /* loop_wait() returns at most this many events per call */

/* One ready source as returned by loop_wait(). */
struct loop_event {
	struct loop_src *src;
	uint32_t events; /* EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, ... */
};

struct loop {
	int epfd;
	struct loop_src timer;
	struct loop_src signal;
	unsigned generation; /* bumped by loop_del() */
};

/*
 * Creates the epoll set, a periodic CLOCK_MONOTONIC timer (period_ms, 0 = 1000) and a signalfd
 * for SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD and SIGUSR1. Those signals are blocked with
 * sigprocmask and stay blocked after loop_close(); call this before starting any thread so
 * every thread inherits the mask. Children spawned later must reset their mask (see
 * device_run_cmd()). 0 or -errno; on failure nothing is left open.
 */
int loop_init(struct loop *loop, unsigned period_ms) WUR;
/* Closes the loop's own fds (not the registered ones). Safe on a zeroed or closed loop. */
void loop_close(struct loop *loop);

/* Registers src (borrowed: it must stay valid until loop_del()) for events. 0 or -errno. */
int loop_add(struct loop *loop, struct loop_src *src, uint32_t events) WUR;
/* Changes the event mask of a registered src (e.g. to add EPOLLOUT). 0 or -errno. */
int loop_mod(struct loop *loop, struct loop_src *src, uint32_t events) WUR;
/*
 * Unregisters src (before its fd is closed). Bumps loop->generation: a caller walking a batch
 * from loop_wait() stops when the generation changed, because later events may point at a
 * source that was just removed.
 */
void loop_del(struct loop *loop, struct loop_src *src);

/*
 * Waits up to timeout_ms (-1 = forever) and fills out[0..max) with ready sources (max is
 * capped at LOOP_MAX_EVENTS). Returns the count (0 on timeout or EINTR) or -errno.
 */
int loop_wait(struct loop *loop, struct loop_event *out, int max, int timeout_ms) WUR;

/* Reads the timer; returns the number of periods elapsed since the last ack (0 if none). */
uint64_t loop_timer_ack(struct loop *loop);
/*
 * Reads up to max pending signal numbers into sigs; returns the count (0 if none). Standard
 * signals coalesce: one SIGCHLD may stand for several exited children.
 */
int loop_signal_read(struct loop *loop, int *sigs, int max);

#endif

// SPDX-License-Identifier: GPL-3.0-or-later
/* loop.c - epoll set with a periodic timerfd and a signalfd; dispatch is the caller's. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "meshvpn/loop.h"

static const int loop_signals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1};

static int open_timer(unsigned period_ms)
{
	struct itimerspec its = {0};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	its.it_interval.tv_sec = period_ms / 1000;
	its.it_interval.tv_nsec = (long)(period_ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int loop_init(struct loop *loop, unsigned period_ms)
{
	sigset_t mask, old;
	int err;

	loop->epfd = loop->timer.fd = loop->signal.fd = -1;
	loop->timer.kind = LOOP_KIND_TIMER;
	loop->signal.kind = LOOP_KIND_SIGNAL;
	loop->generation = 0;

	/*
	 * An inherited "ignore SIGCHLD" would make the kernel reap our children itself: ifup
	 * would see ECHILD and hook slots would never be freed. Default it, then block it.
	 */
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(loop_signals); i++)
		sigaddset(&mask, loop_signals[i]);
	/* Blocked signals stay pending until read from the signalfd: no async handlers at all. */
	if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
		return -errno;

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		err = -errno;
		goto out;
	}
	loop->timer.fd = open_timer(period_ms ? period_ms : LOOP_DEFAULT_PERIOD_MS);
	if (loop->timer.fd < 0) {
		err = loop->timer.fd;
		goto out;
	}
	loop->signal.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->signal.fd < 0) {
		err = -errno;
		goto out;
	}
	err = loop_add(loop, &loop->timer, EPOLLIN);
	if (!err)
		err = loop_add(loop, &loop->signal, EPOLLIN);
out:
	if (err) {
		loop_close(loop);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	return err;
}

void loop_close(struct loop *loop)
{
	int *fds[] = {&loop->signal.fd, &loop->timer.fd, &loop->epfd};

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int ctl(struct loop *loop, int op, struct loop_src *src, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = src};

	return epoll_ctl(loop->epfd, op, src->fd, &ev) < 0 ? -errno : 0;
}

int loop_add(struct loop *loop, struct loop_src *src, uint32_t events)
{
	return ctl(loop, EPOLL_CTL_ADD, src, events);
}

int loop_mod(struct loop *loop, struct loop_src *src, uint32_t events)
{
	return ctl(loop, EPOLL_CTL_MOD, src, events);
}

void loop_del(struct loop *loop, struct loop_src *src)
{
	/* Fails only if src was not registered; there is nothing useful to report then. */
	(void)ctl(loop, EPOLL_CTL_DEL, src, 0);
	loop->generation++;
}

int loop_wait(struct loop *loop, struct loop_event *out, int max, int timeout_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int n;

	if (max <= 0)
		return -EINVAL;
	n = epoll_wait(loop->epfd, evs, MIN(max, LOOP_MAX_EVENTS), timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		out[i].src = evs[i].data.ptr;
		out[i].events = evs[i].events;
	}
	return n;
}

uint64_t loop_timer_ack(struct loop *loop)
{
	uint64_t ticks;

	/* EAGAIN: woken for another reason, the timer has not expired since the last ack. */
	if (read(loop->timer.fd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks))
		return 0;
	return ticks;
}

int loop_signal_read(struct loop *loop, int *sigs, int max)
{
	struct signalfd_siginfo si;
	int n = 0;

	while (n < max) {
		ssize_t r = read(loop->signal.fd, &si, sizeof(si));
		if (r != (ssize_t)sizeof(si))
			break;
		sigs[n++] = (int)si.ssi_signo;
	}
	return n;
}

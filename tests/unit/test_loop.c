// SPDX-License-Identifier: GPL-3.0-or-later
/* test_loop.c - epoll loop: timer ticks, signals through signalfd, container_of dispatch. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/loop.h"

enum { KIND_PIPE = LOOP_KIND_USER, KIND_OTHER };

struct owner {
	int value;
	struct loop_src src;
	int tail;
};

static void test_timer_ticks(void **state)
{
	(void)state;
	struct loop loop;
	struct loop_event ev[8];
	uint64_t ticks = 0;

	assert_int_equal(loop_init(&loop, 20), 0);
	/* Nothing has expired yet. */
	assert_int_equal(loop_timer_ack(&loop), 0);
	while (ticks < 3) {
		int n = loop_wait(&loop, ev, 8, 1000);
		assert_true(n >= 1);
		for (int i = 0; i < n; i++) {
			assert_int_equal(ev[i].src->kind, LOOP_KIND_TIMER);
			assert_ptr_equal(ev[i].src, &loop.timer);
			ticks += loop_timer_ack(&loop);
		}
	}
	/* Missed periods are reported in one ack. */
	struct timespec ts = {.tv_nsec = 70 * 1000000L};
	nanosleep(&ts, NULL);
	assert_true(loop_timer_ack(&loop) >= 3);
	loop_close(&loop);
	loop_close(&loop); /* idempotent */
}

static void test_signal(void **state)
{
	(void)state;
	struct loop loop;
	struct loop_event ev[8];
	int sigs[8], nsig = 0;

	assert_int_equal(loop_init(&loop, 10000), 0);
	/* Blocked by loop_init: raise() only leaves the signal pending for the signalfd. */
	assert_int_equal(raise(SIGHUP), 0);
	assert_int_equal(raise(SIGTERM), 0);
	int n = loop_wait(&loop, ev, 8, 1000);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].src->kind, LOOP_KIND_SIGNAL);
	nsig = loop_signal_read(&loop, sigs, 8);
	assert_int_equal(nsig, 2);
	/* Pending standard signals are delivered lowest number first. */
	assert_int_equal(sigs[0], SIGHUP);
	assert_int_equal(sigs[1], SIGTERM);
	assert_int_equal(loop_signal_read(&loop, sigs, 8), 0);
	assert_int_equal(loop_wait(&loop, ev, 8, 0), 0);

	/* max bounds the read; the rest stays pending. */
	assert_int_equal(raise(SIGINT), 0);
	assert_int_equal(raise(SIGQUIT), 0);
	assert_int_equal(loop_signal_read(&loop, sigs, 1), 1);
	assert_int_equal(sigs[0], SIGINT);
	assert_int_equal(loop_signal_read(&loop, sigs, 8), 1);
	assert_int_equal(sigs[0], SIGQUIT);

	sigset_t cur;
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	assert_true(sigismember(&cur, SIGCHLD));
	loop_close(&loop);
}

static void test_fd_dispatch(void **state)
{
	(void)state;
	struct loop loop;
	struct loop_event ev[8];
	struct owner a = {.value = 11, .tail = 12}, b = {.value = 21, .tail = 22};
	int pa[2], pb[2];
	char c;

	assert_int_equal(loop_init(&loop, 10000), 0);
	assert_int_equal(pipe(pa), 0);
	assert_int_equal(pipe(pb), 0);
	a.src.fd = pa[0];
	a.src.kind = KIND_PIPE;
	b.src.fd = pb[1];
	b.src.kind = KIND_OTHER;
	assert_int_equal(loop_add(&loop, &a.src, EPOLLIN), 0);
	assert_int_equal(loop_add(&loop, &b.src, EPOLLIN), 0);
	assert_int_equal(loop_add(&loop, &b.src, EPOLLIN), -EEXIST);
	assert_int_equal(loop_wait(&loop, ev, 8, 0), 0);
	assert_int_equal(loop_wait(&loop, ev, 0, 0), -EINVAL);

	assert_int_equal(write(pa[1], "x", 1), 1);
	int n = loop_wait(&loop, ev, 8, 1000);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].src->kind, KIND_PIPE);
	assert_true(ev[0].events & EPOLLIN);
	struct owner *o = container_of(ev[0].src, struct owner, src);
	assert_ptr_equal(o, &a);
	assert_int_equal(o->value, 11);
	assert_int_equal(o->tail, 12);
	assert_int_equal(read(o->src.fd, &c, 1), 1);

	/* The write end of b becomes ready once we ask for EPOLLOUT. */
	assert_int_equal(loop_mod(&loop, &b.src, EPOLLOUT), 0);
	n = loop_wait(&loop, ev, 8, 1000);
	assert_int_equal(n, 1);
	o = container_of(ev[0].src, struct owner, src);
	assert_ptr_equal(o, &b);
	assert_int_equal(o->src.kind, KIND_OTHER);
	assert_true(ev[0].events & EPOLLOUT);

	unsigned gen = loop.generation;
	loop_del(&loop, &b.src);
	assert_int_not_equal(loop.generation, gen);
	assert_int_equal(loop_wait(&loop, ev, 8, 0), 0);
	loop_del(&loop, &a.src);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
	loop_close(&loop);
}

/* An inherited "ignore SIGCHLD" is undone: children stay waitable (ifup, hooks). */
static void test_sigchld_default(void **state)
{
	(void)state;
	struct loop loop;
	int status;

	signal(SIGCHLD, SIG_IGN);
	assert_int_equal(loop_init(&loop, 1000), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(7);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	loop_close(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_ticks),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_fd_dispatch),
		cmocka_unit_test(test_sigchld_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

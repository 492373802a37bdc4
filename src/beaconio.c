// SPDX-License-Identifier: GPL-3.0-or-later
/* beaconio.c - beacon files and commands (PROTOCOL.md 7.6) in a worker thread. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "meshvpn/beaconio.h"
#include "meshvpn/chan.h"
#include "meshvpn/hooks.h"
#include "meshvpn/log.h"

#define TARGET_LEN 2048 /* a file name or a command */
#define STORE_LEN  1024 /* text stored: a beacon and a newline */
#define QUEUE	   4
#define ERR_KEEP   512 /* bytes of a failing command's stderr kept for the message */

struct job {
	enum beaconio_kind kind;
	char target[TARGET_LEN];
	char text[STORE_LEN];
	char vars[BEACONIO_MAX_VARS][BEACONIO_VAR_LEN];
	size_t nvars;
};

/* The worker's own state: its copy of the request being served, its time limit. */
struct worker {
	struct job job;
	unsigned cmd_secs;
};

struct beaconio {
	struct chan *chan;
	char *stored; /* the file last stored, deleted at the end */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void PRINTF(3, 4) fail(struct beaconio_result *r, int err, const char *fmt, ...)
{
	va_list ap;

	r->err = err;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

static void store_file(const struct job *j, struct beaconio_result *r)
{
	size_t len = strlen(j->text);

	/* VpnCloud: remove the old file, write the beacon and a newline, then mode 0444 */
	if (unlink(j->target) < 0 && errno != ENOENT) {
		fail(r, -errno, "cannot replace %s: %s", j->target, strerror(errno));
		return;
	}
	int fd = open(j->target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0) {
		fail(r, -errno, "cannot create %s: %s", j->target, strerror(errno));
		return;
	}
	if (write(fd, j->text, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		fail(r, errno ? -errno : -EIO, "cannot write %s: %s", j->target,
		     strerror(errno ? errno : EIO));
	if (fchmod(fd, 0444) < 0 && !r->err)
		fail(r, -errno, "cannot set the mode of %s: %s", j->target, strerror(errno));
	if (close(fd) < 0 && !r->err)
		fail(r, -errno, "cannot write %s: %s", j->target, strerror(errno));
}

static void load_file(const struct job *j, struct beaconio_result *r)
{
	int fd = open(j->target, O_RDONLY | O_CLOEXEC);
	char *text = malloc(BEACONIO_MAX_TEXT + 1);
	size_t len = 0;

	if (fd < 0 || !text) {
		fail(r, fd < 0 ? -errno : -ENOMEM, "cannot read %s: %s", j->target,
		     strerror(fd < 0 ? errno : ENOMEM));
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, text + len, BEACONIO_MAX_TEXT - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(r, -errno, "cannot read %s: %s", j->target, strerror(errno));
			goto out;
		}
		len += (size_t)n;
		if (n == 0)
			break;
		if (len == BEACONIO_MAX_TEXT) {
			char c;
			r->truncated = read(fd, &c, 1) == 1;
			break;
		}
	}
	text[len] = '\0';
	r->text = text;
	r->len = len;
	text = NULL;
out:
	free(text);
	if (fd >= 0)
		close(fd);
}

/* A pipe's read end, non-blocking, and its write end for the child. */
static int make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	return 0;
}

/* Appends what the pipe has to buf (up to cap; the rest is read and dropped). */
static bool drain(int fd, char *buf, size_t cap, size_t *len, bool *truncated)
{
	char sink[4096];

	for (;;) {
		char *p = *len < cap ? buf + *len : sink;
		size_t room = *len < cap ? cap - *len : sizeof(sink);
		ssize_t n = read(fd, p, room);
		if (n > 0) {
			if (p == sink)
				*truncated = true;
			else
				*len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n == 0; /* true: end of file */
	}
}

/*
 * `sh -c cmd` with vars, stdout into out (NULL: discarded), stderr kept for the message;
 * killed after BEACONIO_CMD_SECS or when the node stops.
 */
static void run_cmd(struct chan *c, const struct worker *w, const char *cmd,
		    struct beaconio_result *r, char *out, size_t *out_len)
{
	const struct job *j = &w->job;
	char *add[BEACONIO_MAX_VARS];
	char err[ERR_KEEP + 1];
	size_t err_len = 0, dummy = 0;
	bool trunc_err = false;
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, devnull = -1, status = 0, e;
	pid_t pid = -1;

	for (size_t i = 0; i < j->nvars; i++)
		add[i] = (char *)j->vars[i];
	char **envp = hooks_env_new(add, j->nvars);
	if (!envp || (e = make_pipe(po)) < 0 || (e = make_pipe(pe)) < 0 ||
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		fail(r, envp ? -errno : -ENOMEM, "cannot run the command: %s",
		     strerror(envp ? errno : ENOMEM));
		goto out;
	}
	const int stdio[3] = {devnull, po[1], pe[1]};
	e = hooks_spawn_io(cmd, envp, stdio, &pid);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (e < 0) {
		fail(r, e, "cannot run the command: %s", strerror(-e));
		goto out;
	}
	int64_t deadline = now_ms() + (int64_t)w->cmd_secs * 1000;
	bool eof_o = false, eof_e = false, killed = false;
	while (!eof_o || !eof_e) {
		struct pollfd pfd[2] = {{.fd = eof_o ? -1 : po[0], .events = POLLIN},
					{.fd = eof_e ? -1 : pe[0], .events = POLLIN}};
		int64_t left = deadline - now_ms();
		if (left <= 0 || chan_quitting(c)) {
			kill(pid, SIGKILL); /* our own child, by its pid */
			killed = true;
			break;
		}
		if (poll(pfd, 2, (int)MIN(left, (int64_t)200)) < 0 && errno != EINTR)
			break;
		if (!eof_o)
			eof_o = drain(po[0], out ? out : err, out ? BEACONIO_MAX_TEXT : 0,
				      out ? out_len : &dummy, &r->truncated);
		if (!eof_e)
			eof_e = drain(pe[0], err, ERR_KEEP, &err_len, &trunc_err);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	err[err_len] = '\0';
	err[strcspn(err, "\n")] = '\0'; /* the first line */
	if (killed)
		fail(r, -ETIMEDOUT, "the command took longer than %u s and was killed",
		     w->cmd_secs);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail(r, -ECHILD, "the command failed (status %d)%s%s", hooks_status_code(status),
		     *err ? ": " : "", err);
out:
	free(envp);
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	if (devnull >= 0)
		close(devnull);
}

static void serve(struct chan *c, const struct worker *w, struct beaconio_result *r)
{
	const struct job *j = &w->job;
	bool cmd = j->target[0] == '|';

	r->kind = j->kind;
	if (j->kind == BEACONIO_STORE) {
		if (cmd)
			run_cmd(c, w, j->target + 1, r, NULL, NULL);
		else
			store_file(j, r);
		return;
	}
	if (!cmd) {
		load_file(j, r);
		return;
	}
	char *text = malloc(BEACONIO_MAX_TEXT + 1);
	size_t len = 0;
	if (!text) {
		fail(r, -ENOMEM, "out of memory");
		return;
	}
	run_cmd(c, w, j->target + 1, r, text, &len);
	text[len] = '\0';
	if (r->err) {
		free(text);
		return;
	}
	r->text = text;
	r->len = len;
}

static void work(struct chan *c, void *arg)
{
	struct worker *w = arg;

	while (chan_wait(c, &w->job, CHAN_NO_DEADLINE) == 1) {
		struct beaconio_result r = {0};
		serve(c, w, &r);
		chan_reply(c, &r);
	}
}

static void drop_reply(void *reply)
{
	free(((struct beaconio_result *)reply)->text);
}

int beaconio_new(unsigned cmd_secs, struct beaconio **out)
{
	struct beaconio *b = calloc(1, sizeof(*b));
	struct worker *scratch = malloc(sizeof(*scratch));
	int r;

	*out = NULL;
	if (!b || !scratch) {
		free(b);
		free(scratch);
		return -ENOMEM;
	}
	scratch->cmd_secs = cmd_secs ? cmd_secs : BEACONIO_CMD_SECS;
	struct chan_params p = {
		.req_size = sizeof(struct job),
		.reply_size = sizeof(struct beaconio_result),
		.depth = QUEUE,
		.work = work,
		.arg = scratch,
		.drop_reply = drop_reply,
		.release = free,
	};
	r = chan_new(&p, &b->chan);
	if (r < 0) {
		free(scratch);
		free(b);
		return r;
	}
	*out = b;
	return 0;
}

struct loop_src *beaconio_src(struct beaconio *b)
{
	return chan_src(b->chan);
}

static int submit(struct beaconio *b, enum beaconio_kind kind, const char *target,
		  const char *text, const char *const vars[], size_t nvars)
{
	struct job *j = calloc(1, sizeof(*j));
	int r = -E2BIG;

	if (!j)
		return -ENOMEM;
	j->kind = kind;
	if (strlen(target) >= sizeof(j->target) || (text && strlen(text) >= sizeof(j->text)) ||
	    nvars > BEACONIO_MAX_VARS)
		goto out;
	strcpy(j->target, target);
	if (text)
		strcpy(j->text, text);
	for (size_t i = 0; i < nvars; i++) {
		if (strlen(vars[i]) >= BEACONIO_VAR_LEN)
			goto out;
		strcpy(j->vars[i], vars[i]);
	}
	j->nvars = nvars;
	r = chan_submit(b->chan, j);
	if (r == 0 && kind == BEACONIO_STORE && target[0] != '|' &&
	    (!b->stored || strcmp(b->stored, target) != 0)) {
		free(b->stored);
		b->stored = strdup(target);
	}
out:
	free(j);
	return r;
}

int beaconio_store(struct beaconio *b, const char *target, const char *text,
		   const char *const vars[], size_t nvars)
{
	return submit(b, BEACONIO_STORE, target, text, vars, nvars);
}

int beaconio_load(struct beaconio *b, const char *source, const char *const vars[],
		  size_t nvars)
{
	return submit(b, BEACONIO_LOAD, source, NULL, vars, nvars);
}

int beaconio_take(struct beaconio *b, struct beaconio_result *out)
{
	return chan_take(b->chan, out);
}

void beaconio_free(struct beaconio *b)
{
	if (!b)
		return;
	(void)chan_stop(b->chan, 1000); /* a running command notices within 200 ms */
	struct beaconio_result r;
	while (chan_take(b->chan, &r))
		free(r.text);
	chan_free(b->chan);
	if (b->stored && unlink(b->stored) < 0 && errno != ENOENT)
		log_warn("cannot remove the beacon file %s: %s", b->stored, strerror(errno));
	free(b->stored);
	free(b);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* log.c - logging to stderr and an optional log file; journald-aware timestamps. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "meshvpn/log.h"

enum log_level log_threshold = LOG_INFO;

static int log_fd = -1;
static bool to_stderr = true;
static int stderr_journal = -1; /* -1 unknown, 0 no, 1 stderr is connected to journald */

static const char *const level_names[] = {
	[LOG_ERROR] = "ERROR", [LOG_WARN] = "WARN",   [LOG_INFO] = "INFO",
	[LOG_DEBUG] = "DEBUG", [LOG_TRACE] = "TRACE",
};

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

void log_stderr(bool enabled)
{
	to_stderr = enabled;
}

int log_open_file(const char *path)
{
	/* Like VpnCloud: a fresh file per run. */
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	log_close_file();
	log_fd = fd;
	return 0;
}

void log_close_file(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

/*
 * journald stamps every line itself; it sets JOURNAL_STREAM to "dev:ino" of the stream it
 * connected. Only then are our own timestamps left out of stderr lines.
 */
static bool stderr_is_journal(void)
{
	if (stderr_journal < 0) {
		const char *js = getenv("JOURNAL_STREAM");
		struct stat st;
		unsigned long long dev, ino;
		stderr_journal = 0;
		if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
		    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
			stderr_journal = 1;
	}
	return stderr_journal == 1;
}

static PRINTF(2, 0) void emit(enum log_level level, const char *fmt, va_list ap, int err)
{
	char line[2048];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);

	int hlen = snprintf(line, sizeof(line), "%s - %s - ", stamp, level_names[level]);
	if (hlen < 0)
		return;
	n = (size_t)hlen;
	int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m < 0)
		return;
	n += (size_t)m;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (err) {
		int k = snprintf(line + n, sizeof(line) - n, ": %s", strerror(err));
		if (k > 0)
			n = MIN(n + (size_t)k, sizeof(line) - 2);
	}
	line[n++] = '\n';

	/* One write(2) per record so lines from a worker thread never interleave. */
	if (to_stderr) {
		size_t skip = stderr_is_journal() ? strlen(stamp) + 3 : 0;
		ssize_t r = write(STDERR_FILENO, line + skip, n - skip);
		(void)r;
	}
	if (log_fd >= 0) {
		ssize_t r = write(log_fd, line, n);
		(void)r;
	}
}

void log_write(enum log_level level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	emit(level, fmt, ap, 0);
	va_end(ap);
	errno = saved;
}

void log_write_errno(enum log_level level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	emit(level, fmt, ap, saved);
	va_end(ap);
	errno = saved;
}

bool log_rl_allow(struct log_rl *rl, unsigned *suppressed_out)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	*suppressed_out = 0;
	if (ts.tv_sec != rl->sec) {
		rl->sec = ts.tv_sec;
		rl->count = 0;
		*suppressed_out = rl->suppressed;
		rl->suppressed = 0;
	}
	if (rl->count >= LOG_RL_BURST) {
		rl->suppressed++;
		return false;
	}
	rl->count++;
	return true;
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(LOG_ERROR, fmt, ap, 0);
	va_end(ap);
	exit(255);
}

void bug(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(LOG_ERROR, fmt, ap, 0);
	va_end(ap);
	abort();
}

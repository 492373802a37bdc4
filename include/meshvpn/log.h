/* SPDX-License-Identifier: GPL-3.0-or-later */
/* log.h - the one logging module: levels, stderr and --log-file, rate-limited variants. */
#ifndef MESHVPN_LOG_H
#define MESHVPN_LOG_H

#include <stdbool.h>

#include "util.h"

/* Levels by audience: error, warn, info (peer up/down), debug (protocol), trace (per packet). */
enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE,
};

/* Current threshold; a message is shown when its level <= log_threshold. */
extern enum log_level log_threshold;

void log_set_level(enum log_level level);
/*
 * Additionally writes every record to path (deleted and recreated, mode 0640), each line
 * "YYYY-MM-DD HH:MM:SS - LEVEL - message" in local time. Returns 0 or -errno.
 */
int log_open_file(const char *path) WUR;
/* Closes the log file (if any). */
void log_close_file(void);
/* Stops writing to stderr (after daemonising stderr is /dev/null). */
void log_stderr(bool enabled);

/* Writes one record unconditionally; use the macros below. Preserves errno. */
void log_write(enum log_level level, const char *fmt, ...) PRINTF(2, 3);
/* Like log_write with ": strerror(errno)" appended. */
void log_write_errno(enum log_level level, const char *fmt, ...) PRINTF(2, 3);

/*
 * Per-call-site rate limit for messages that untrusted input can trigger: at most
 * LOG_RL_BURST records per second per site; the number suppressed is reported later.
 */
struct log_rl {
	long sec;
	unsigned count;
	unsigned suppressed;
};
#define LOG_RL_BURST 5
bool log_rl_allow(struct log_rl *rl, unsigned *suppressed_out);

#define log_at(level, ...)                               \
	do {                                             \
		if (unlikely((level) <= log_threshold))  \
			log_write((level), __VA_ARGS__); \
	} while (0)

#define log_err(...) log_at(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
#define log_err_errno(...) log_write_errno(LOG_ERROR, __VA_ARGS__)
#define log_warn_errno(...)                                    \
	do {                                                   \
		if (LOG_WARN <= log_threshold)                 \
			log_write_errno(LOG_WARN, __VA_ARGS__); \
	} while (0)

/* Rate-limited variant for anything a remote party can provoke. */
#define log_rl(level, ...)                                                          \
	do {                                                                        \
		static struct log_rl rl_site_;                                      \
		unsigned rl_supp_;                                                  \
		if ((level) <= log_threshold && log_rl_allow(&rl_site_, &rl_supp_)) { \
			if (rl_supp_)                                               \
				log_write((level), "(%u similar messages suppressed)", \
					  rl_supp_);                                \
			log_write((level), __VA_ARGS__);                            \
		}                                                                   \
	} while (0)

/* Per-packet tracing: compiled out unless built with -DMESHVPN_TRACE. */
#ifdef MESHVPN_TRACE
#define log_trace(...) log_rl(LOG_TRACE, __VA_ARGS__)
#else
#define log_trace(...) \
	do {           \
	} while (0)
#endif

/* Start-up failure: logs the message at error level and exits with status 255. */
void fatal(const char *fmt, ...) PRINTF(1, 2) NORETURN;
/* Broken internal invariant: logs and aborts. */
void bug(const char *fmt, ...) PRINTF(1, 2) NORETURN;

#endif

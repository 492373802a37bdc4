/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * daemon.h - the process around the node (CONFIG.md 11): --daemon with a readiness pipe,
 * the locked pid file, dropping privileges to --user/--group, and systemd's notification
 * protocol (READY=1, STOPPING=1, WATCHDOG=1 over $NOTIFY_SOCKET).
 */
#ifndef MESHVPN_DAEMON_H
#define MESHVPN_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

/* Who to become after set-up; a gid without a uid changes only the group. */
struct daemon_ids {
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid; /* the named group, else the user's primary group */
};

struct daemon {
	bool detach;	       /* --daemon */
	struct daemon_ids ids; /* --user/--group, resolved */
	int pid_fd;	       /* the locked pid file (daemon mode), or -1 */
	char *pid_path;	       /* its absolute path (removed at exit) */
	int ready_fd;	       /* readiness pipe to the waiting original process, or -1 */
};

/*
 * Before any set-up. Saves and unsets $NOTIFY_SOCKET; with user or group checks that we are
 * root and resolves them (names, or numbers that are no name); with detach opens and
 * flock()s pid_file (if any: a second instance fails here with -EWOULDBLOCK), then forks,
 * starts a new session and forks again. The original process does not return: it waits until
 * the final process calls daemon_ready() and exits 0, or exits 1 when that process ends
 * first. stdio stays connected until daemon_ready(), so set-up errors still reach the
 * terminal. Errors are logged; 0 or -errno.
 */
int daemon_start(struct daemon *d, const char *pid_file, const char *user, const char *group,
		 bool detach) WUR;

/*
 * After set-up (device up, socket bound, initial connections). In daemon mode: chdir("/"),
 * umask 027, stdio to /dev/null (logging goes to the log file only); the pid file stays
 * root's (written through the fd opened as root). Then privileges are dropped
 * (daemon_drop_privileges), the final
 * pid is written to the pid file, the waiting original process is released (exit 0) and
 * READY=1 is sent to systemd. Errors are logged; 0 or -errno.
 */
int daemon_ready(struct daemon *d) WUR;

/* At exit: removes the pid file (truncates it when the directory is not writable any more). */
void daemon_end(struct daemon *d);

/*
 * Resolves user (its uid and primary gid) and group (its gid, overriding the user's) with
 * getpwnam/getgrnam; a string of digits that is no name is taken as a number. NULL = not
 * set. 0 or -ENOENT (unknown) / -errno.
 */
int daemon_lookup_ids(const char *user, const char *group, struct daemon_ids *ids) WUR;

/*
 * setgroups(1, {gid}) and setgid(gid) if a gid is known, then setuid(uid) if a uid is known;
 * afterwards regaining root must fail. Nothing to do returns 0. 0 or -errno.
 */
int daemon_drop_privileges(const struct daemon_ids *ids) WUR;

/*
 * Opens (creating with mode 0666 minus umask, like VpnCloud) and locks path with an exclusive
 * non-blocking flock. The lock lives as long as the open file (also across fork). 0 (*fd set)
 * or -errno (-EWOULDBLOCK: locked by another process).
 */
int daemon_pidfile_open(const char *path, int *fd) WUR;
/* Replaces the file's content with pid in decimal, without a newline. 0 or -errno. */
int daemon_pidfile_write(int fd, pid_t pid) WUR;

/*
 * The readiness pipe: the waiting side returns 0 once the other side signalled, -EPIPE when
 * it closed the pipe (exited) first.
 */
int daemon_wait_ready(int fd) WUR;
void daemon_signal_ready(int fd);

/*
 * Sends one notification ("READY=1", "STOPPING=1", ...) to the socket saved by
 * daemon_start()/daemon_notify_init(). 0 (also when not under systemd) or -errno.
 */
int daemon_notify(const char *state);
/* Saves $NOTIFY_SOCKET and $WATCHDOG_USEC and removes them from the environment. */
void daemon_notify_init(void);
/* Sends WATCHDOG=1 if systemd asked for it and half its interval has passed since the last. */
void daemon_watchdog(void);

#endif

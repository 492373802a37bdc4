// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * daemon.c - process life: --daemon (double fork, readiness pipe), the flock()ed pid file,
 * privilege dropping, and the sd_notify datagram protocol written out by hand.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "meshvpn/daemon.h"
#include "meshvpn/log.h"

/* ---- systemd notifications (sd_notify(3) protocol: one datagram per state change) ---- */

/*
 * The protocol is a documented, stable interface: a datagram of "KEY=VALUE" lines sent to
 * the AF_UNIX socket named by $NOTIFY_SOCKET ('@' = abstract namespace). Writing it here
 * keeps libsystemd (and what it links) out of a root network daemon for ~40 lines.
 */
static struct sockaddr_un notify_addr;
static socklen_t notify_len;
static uint64_t watchdog_usec;
static int64_t watchdog_last; /* CLOCK_MONOTONIC microseconds */

static int64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void daemon_notify_init(void)
{
	const char *s = getenv("NOTIFY_SOCKET"), *wd = getenv("WATCHDOG_USEC"),
		   *wpid = getenv("WATCHDOG_PID");
	size_t len = s ? strlen(s) : 0;

	notify_len = 0;
	memset(&notify_addr, 0, sizeof(notify_addr));
	if (len >= 2 && len < sizeof(notify_addr.sun_path) && (s[0] == '/' || s[0] == '@')) {
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, s, len);
		if (s[0] == '@')
			notify_addr.sun_path[0] = '\0'; /* abstract: no terminating NUL counted */
		notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
					 (s[0] == '/' ? 1 : 0));
	} else if (s) {
		log_warn("ignoring NOTIFY_SOCKET=%s (only AF_UNIX paths are supported)", s);
	}
	watchdog_usec = 0;
	if (notify_len && wd && (!wpid || strtol(wpid, NULL, 10) == (long)getpid())) {
		watchdog_usec = strtoull(wd, NULL, 10);
		watchdog_last = now_usec();
	}
	/* hooks, ifup and ifdown must not talk to systemd in our name */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int daemon_notify(const char *state)
{
	int fd, err = 0;

	if (!notify_len)
		return 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&notify_addr,
		   notify_len) < 0)
		err = -errno;
	close(fd);
	if (err)
		log_rl(LOG_WARN, "cannot notify systemd (%s): %s", state, strerror(-err));
	return err;
}

void daemon_watchdog(void)
{
	int64_t now;

	if (!watchdog_usec)
		return;
	now = now_usec();
	if (now - watchdog_last >= (int64_t)(watchdog_usec / 2)) {
		watchdog_last = now;
		(void)daemon_notify("WATCHDOG=1");
	}
}

/* ---- users and groups ---- */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int daemon_lookup_ids(const char *user, const char *group, struct daemon_ids *ids)
{
	memset(ids, 0, sizeof(*ids));
	if (user) {
		struct passwd *pw;
		errno = 0;
		pw = getpwnam(user);
		if (!pw && all_digits(user))
			pw = getpwuid((uid_t)strtoul(user, NULL, 10));
		/* a uid needs its passwd entry: without the primary group we would keep gid 0 */
		if (!pw)
			return errno && errno != ENOENT && errno != ESRCH ? -errno : -ENOENT;
		ids->has_uid = ids->has_gid = true;
		ids->uid = pw->pw_uid;
		ids->gid = pw->pw_gid;
	}
	if (group) {
		struct group *gr;
		errno = 0;
		gr = getgrnam(group);
		if (gr) {
			ids->gid = gr->gr_gid;
		} else if (all_digits(group)) {
			ids->gid = (gid_t)strtoul(group, NULL, 10);
		} else {
			return errno && errno != ENOENT && errno != ESRCH ? -errno : -ENOENT;
		}
		ids->has_gid = true;
	}
	return 0;
}

int daemon_drop_privileges(const struct daemon_ids *ids)
{
	/* groups first: after setuid() we could not change them any more */
	if (ids->has_gid) {
		if (setgroups(1, &ids->gid) < 0 || setgid(ids->gid) < 0)
			return -errno;
	}
	if (ids->has_uid) {
		if (setuid(ids->uid) < 0)
			return -errno;
		if (ids->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
			return -EPERM; /* could become root again: refuse to run */
	}
	return 0;
}

/* ---- pid file ---- */

int daemon_pidfile_open(const char *path, int *fd)
{
	/* O_NOFOLLOW: a symlink planted in a shared directory must not redirect our writes */
	int f = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);

	struct stat st;
	int err = 0;

	*fd = -1;
	if (f < 0)
		return -errno;
	if (fstat(f, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		err = -EINVAL; /* not a plain file of its own: refuse to write into it */
	else if (flock(f, LOCK_EX | LOCK_NB) < 0)
		err = -errno;
	/* the previous instance's pid must not linger until we write ours */
	else if (ftruncate(f, 0) < 0)
		err = -errno;
	if (err) {
		close(f);
		return err;
	}
	*fd = f;
	return 0;
}

int daemon_pidfile_write(int fd, pid_t pid)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%ld", (long)pid);

	if (ftruncate(fd, 0) < 0)
		return -errno;
	if (pwrite(fd, buf, (size_t)n, 0) != n)
		return errno ? -errno : -EIO;
	return 0;
}

static char *absolute_path(const char *path)
{
	char cwd[4096];
	char *s;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&s, "%s/%s", cwd, path) < 0)
		return NULL;
	return s;
}

/* ---- readiness pipe ---- */

int daemon_wait_ready(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -EPIPE;
}

void daemon_signal_ready(int fd)
{
	ssize_t n;

	do
		n = write(fd, "1", 1);
	while (n < 0 && errno == EINTR);
	close(fd);
}

/* ---- start and ready ---- */

/* The original process: waits for the final one, then leaves without running atexit code. */
static NORETURN void wait_and_exit(pid_t child, int rfd)
{
	int status;

	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	_exit(daemon_wait_ready(rfd) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

static int detach(struct daemon *d)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL); /* nothing buffered may be written twice */
	pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid > 0) {
		close(p[1]);
		wait_and_exit(pid, p[0]);
	}
	close(p[0]);
	d->ready_fd = p[1];
	/* a new session without a controlling terminal; the second fork is no session leader */
	if (setsid() < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(EXIT_SUCCESS);
	return 0;
}

int daemon_start(struct daemon *d, const char *pid_file, const char *user, const char *group,
		 bool detach_flag)
{
	int r;

	memset(d, 0, sizeof(*d));
	d->detach = detach_flag;
	d->pid_fd = d->ready_fd = -1;
	daemon_notify_init();
	if (user || group) {
		if (geteuid() != 0) {
			log_err("user/group: switching users needs root (running as uid %u)",
				(unsigned)geteuid());
			return -EPERM;
		}
		r = daemon_lookup_ids(user, group, &d->ids);
		if (r < 0) {
			log_err("cannot switch to %s%s%s%s: %s", user ? "user " : "",
				user ? user : "", group ? (user ? " / group " : "group ") : "",
				group ? group : "",
				r == -ENOENT ? "no such user or group" : strerror(-r));
			return r;
		}
	}
	if (!d->detach) {
		if (pid_file)
			log_warn("pid-file %s is only used with --daemon; not writing it",
				 pid_file);
		return 0;
	}
	if (pid_file) {
		d->pid_path = absolute_path(pid_file);
		if (!d->pid_path)
			return -ENOMEM;
		r = daemon_pidfile_open(d->pid_path, &d->pid_fd);
		if (r < 0) {
			if (r == -EWOULDBLOCK)
				log_err("pid file %s is locked: is another instance running?",
					pid_file);
			else
				log_err("cannot open the pid file %s: %s", pid_file, strerror(-r));
			free(d->pid_path);
			d->pid_path = NULL;
			return r;
		}
	}
	r = detach(d);
	if (r < 0)
		log_err("cannot daemonise: %s", strerror(-r));
	return r;
}

static int stdio_to_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0) {
			int err = -errno;
			close(fd);
			return err;
		}
	close(fd);
	return 0;
}

int daemon_ready(struct daemon *d)
{
	const struct daemon_ids *ids = &d->ids;
	int r;

	if (d->detach) {
		/* as the daemonize library VpnCloud uses: later relative paths start at / */
		if (chdir("/") < 0)
			log_warn_errno("chdir /");
		umask(027);
		/*
		 * Unlike VpnCloud the pid file stays root's: every write goes through the fd
		 * opened before the privilege drop, and an unprivileged owner could otherwise
		 * write any pid into a file that root's scripts send signals to.
		 */
	}
	r = daemon_drop_privileges(ids);
	if (r < 0) {
		log_err("cannot drop privileges: %s", strerror(-r));
		return r;
	}
	if (ids->has_uid || ids->has_gid)
		log_info("Running as uid %u, gid %u", (unsigned)getuid(), (unsigned)getgid());
	if (d->pid_fd >= 0) {
		r = daemon_pidfile_write(d->pid_fd, getpid());
		if (r < 0) {
			log_err("cannot write the pid file %s: %s", d->pid_path, strerror(-r));
			return r;
		}
	}
	if (d->detach) {
		log_info("Running in the background as process %ld", (long)getpid());
		r = stdio_to_null();
		if (r < 0) {
			log_err("cannot redirect stdio to /dev/null: %s", strerror(-r));
			return r;
		}
		log_stderr(false);
	}
	if (d->ready_fd >= 0) {
		daemon_signal_ready(d->ready_fd);
		d->ready_fd = -1;
	}
	(void)daemon_notify("READY=1");
	return 0;
}

void daemon_end(struct daemon *d)
{
	if (d->pid_fd >= 0) {
		/* after dropping privileges the directory may not be ours: then leave it empty */
		if (unlink(d->pid_path) < 0) {
			int err = errno;
			if (ftruncate(d->pid_fd, 0) == 0)
				log_info("cannot remove the pid file %s (%s); emptied it",
					 d->pid_path, strerror(err));
		}
		close(d->pid_fd);
		d->pid_fd = -1;
	}
	if (d->ready_fd >= 0)
		close(d->ready_fd);
	d->ready_fd = -1;
	free(d->pid_path);
	d->pid_path = NULL;
}

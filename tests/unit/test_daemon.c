// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_daemon.c - pid file lock and format, the readiness pipe, --daemon end to end (the
 * original process exits only after daemon_ready()), user/group lookup, privilege dropping
 * (as root, in a child), and sd_notify datagrams on path and abstract sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/daemon.h"

static char tmpdir[64];

static int group_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/mvdaemon.XXXXXX");
	/* orphaned grandchildren of the --daemon test come back to us to be reaped */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -1;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_in_tmp(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static const char *file_text(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void test_pidfile(void **state)
{
	(void)state;
	char path[128], slink[128];
	int fd, fd2;

	path_in_tmp(path, sizeof(path), "a.pid");
	assert_int_equal(daemon_pidfile_open(path, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(daemon_pidfile_write(fd, 123456), 0);
	/* decimal digits, no trailing newline */
	assert_string_equal(file_text(path), "123456");
	/* a shorter pid replaces the whole content */
	assert_int_equal(daemon_pidfile_write(fd, 42), 0);
	assert_string_equal(file_text(path), "42");
	/* a second instance cannot take the lock (flock is per open file) */
	assert_int_equal(daemon_pidfile_open(path, &fd2), -EWOULDBLOCK);
	assert_int_equal(fd2, -1);
	/* ... also not from another process */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int f;
		_exit(daemon_pidfile_open(path, &f) == -EWOULDBLOCK ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	/* released with the file */
	assert_int_equal(daemon_pidfile_open(path, &fd2), 0);
	close(fd2);
	/* no symlinks followed */
	path_in_tmp(slink, sizeof(slink), "link.pid");
	assert_int_equal(symlink(path, slink), 0);
	assert_int_equal(daemon_pidfile_open(slink, &fd2), -ELOOP);
	/* a stale pid of an earlier instance is gone as soon as the file is opened */
	path_in_tmp(path, sizeof(path), "stale.pid");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("99999", f);
	fclose(f);
	assert_int_equal(daemon_pidfile_open(path, &fd2), 0);
	assert_string_equal(file_text(path), "");
	close(fd2);
	/* not a plain file of its own: a hard link to another file, a directory */
	char hard[128];
	path_in_tmp(hard, sizeof(hard), "hard.pid");
	assert_int_equal(link(path, hard), 0);
	assert_int_equal(daemon_pidfile_open(hard, &fd2), -EINVAL);
	assert_int_equal(daemon_pidfile_open(path, &fd2), -EINVAL); /* nlink 2 as well */
	unlink(hard);
	/* missing directory */
	path_in_tmp(path, sizeof(path), "nodir/x.pid");
	assert_int_equal(daemon_pidfile_open(path, &fd2), -ENOENT);
}

static void test_ready_pipe(void **state)
{
	(void)state;
	int p[2], status;

	/* the other side signals: 0 */
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		usleep(50000);
		daemon_signal_ready(p[1]);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(daemon_wait_ready(p[0]), 0);
	close(p[0]);
	waitpid(pid, &status, 0);

	/* the other side exits without signalling: -EPIPE */
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		_exit(3);
	}
	close(p[1]);
	assert_int_equal(daemon_wait_ready(p[0]), -EPIPE);
	close(p[0]);
	waitpid(pid, &status, 0);
}

/*
 * Runs daemon_start(detach) in a child X and returns X. The final process (named in the pid
 * file) calls daemon_ready (mode 0) and then waits until go[1] is closed, or exits 7 before
 * daemon_ready (mode 1).
 */
static pid_t start_daemon_child(const char *pidpath, int mode, int go[2])
{
	assert_int_equal(pipe(go), 0);
	pid_t x = fork();
	assert_true(x >= 0);
	if (x == 0) {
		struct daemon d;
		close(go[1]);
		if (daemon_start(&d, pidpath, NULL, NULL, true) < 0)
			_exit(9);
		/* only the final process gets here */
		if (mode == 1)
			_exit(7);
		if (daemon_ready(&d) < 0)
			_exit(8);
		char c;
		while (read(go[0], &c, 1) > 0)
			;
		daemon_end(&d);
		_exit(0);
	}
	close(go[0]);
	return x;
}

static void test_daemonize(void **state)
{
	(void)state;
	char pidpath[128], cwd[64], proc[64];
	int go[2], status;

	path_in_tmp(pidpath, sizeof(pidpath), "d.pid");
	pid_t x = start_daemon_child(pidpath, 0, go);
	/* the original process exits 0 only once the final one called daemon_ready */
	assert_int_equal(waitpid(x, &status, 0), x);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	const char *txt = file_text(pidpath);
	assert_non_null(txt);
	pid_t g = (pid_t)strtol(txt, NULL, 10);
	assert_true(g > 0);
	assert_int_not_equal(g, x);
	assert_int_equal(kill(g, 0), 0);
	/* own session (not the leader: second fork), working directory / */
	assert_int_not_equal(getsid(g), getsid(0));
	assert_int_not_equal(getsid(g), g);
	snprintf(proc, sizeof(proc), "/proc/%d/cwd", (int)g);
	ssize_t n = readlink(proc, cwd, sizeof(cwd) - 1);
	assert_true(n > 0);
	cwd[n] = '\0';
	assert_string_equal(cwd, "/");
	/* a second daemon with the same pid file fails before forking */
	int go2[2];
	pid_t y = start_daemon_child(pidpath, 0, go2);
	assert_int_equal(waitpid(y, &status, 0), y);
	assert_int_equal(WEXITSTATUS(status), 9);
	close(go2[1]);
	/* at exit the pid file is removed */
	close(go[1]);
	assert_int_equal(waitpid(g, &status, 0), g);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(access(pidpath, F_OK), -1);

	/* a relative pid file is found again at exit, although the daemon works from / */
	char cwd0[256], relpath[160];
	assert_non_null(getcwd(cwd0, sizeof(cwd0)));
	assert_int_equal(chdir(tmpdir), 0);
	x = start_daemon_child("rel.pid", 0, go);
	assert_int_equal(chdir(cwd0), 0);
	assert_int_equal(waitpid(x, &status, 0), x);
	assert_int_equal(WEXITSTATUS(status), 0);
	path_in_tmp(relpath, sizeof(relpath), "rel.pid");
	txt = file_text(relpath);
	assert_non_null(txt);
	g = (pid_t)strtol(txt, NULL, 10);
	close(go[1]);
	assert_int_equal(waitpid(g, &status, 0), g);
	assert_int_equal(access(relpath, F_OK), -1);

	/* set-up fails before daemon_ready: the original process exits 1 */
	x = start_daemon_child(pidpath, 1, go);
	assert_int_equal(waitpid(x, &status, 0), x);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	close(go[1]);
	/* collect the final process (reparented to us) */
	while (waitpid(-1, &status, 0) > 0)
		;
}

static void test_lookup(void **state)
{
	(void)state;
	struct daemon_ids ids;
	struct passwd *pw = getpwnam("nobody");

	assert_int_equal(daemon_lookup_ids(NULL, NULL, &ids), 0);
	assert_false(ids.has_uid || ids.has_gid);
	assert_int_equal(daemon_lookup_ids("root", NULL, &ids), 0);
	assert_true(ids.has_uid && ids.has_gid);
	assert_int_equal(ids.uid, 0);
	assert_int_equal(ids.gid, 0);
	/* a number that is no name is taken as a uid, but only with a passwd entry */
	assert_int_equal(daemon_lookup_ids("0", NULL, &ids), 0);
	assert_int_equal(ids.uid, 0);
	assert_int_equal(daemon_lookup_ids("4000000001", NULL, &ids), -ENOENT);
	assert_int_equal(daemon_lookup_ids("no-such-user-mv", NULL, &ids), -ENOENT);
	assert_int_equal(daemon_lookup_ids(NULL, "no-such-group-mv", &ids), -ENOENT);
	/* group only: just the gid */
	assert_int_equal(daemon_lookup_ids(NULL, "12345", &ids), 0);
	assert_false(ids.has_uid);
	assert_true(ids.has_gid);
	assert_int_equal(ids.gid, 12345);
	if (pw) {
		/* the user's primary group, unless a group is named */
		assert_int_equal(daemon_lookup_ids("nobody", NULL, &ids), 0);
		assert_int_equal(ids.uid, pw->pw_uid);
		assert_int_equal(ids.gid, pw->pw_gid);
		assert_int_equal(daemon_lookup_ids("nobody", "root", &ids), 0);
		assert_int_equal(ids.uid, pw->pw_uid);
		assert_int_equal(ids.gid, 0);
	}
}

/* In a child: drop to ids and check what the process is afterwards. */
static int drop_and_check(const struct daemon_ids *ids, uid_t want_uid, gid_t want_gid)
{
	gid_t groups[8];

	if (daemon_drop_privileges(ids) < 0)
		return 10;
	if (getuid() != want_uid || geteuid() != want_uid)
		return 11;
	if (getgid() != want_gid || getegid() != want_gid)
		return 12;
	int n = getgroups(8, groups);
	if (n != 1 || groups[0] != want_gid)
		return 13;
	if (want_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return 14;
	return 0;
}

static void test_drop_privileges(void **state)
{
	(void)state;
	struct daemon_ids ids;
	struct passwd *pw = getpwnam("nobody");
	int status;

	/* nothing to drop */
	memset(&ids, 0, sizeof(ids));
	assert_int_equal(daemon_drop_privileges(&ids), 0);
	if (geteuid() != 0 || !pw) {
		/* not root: dropping must fail, not pretend */
		if (geteuid() != 0) {
			assert_int_equal(daemon_lookup_ids(NULL, "0", &ids), 0);
			assert_int_equal(daemon_drop_privileges(&ids), -EPERM);
		}
		skip();
	}
	/* user: uid, primary gid and the supplementary groups reduced to it */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct daemon_ids u;
		if (daemon_lookup_ids("nobody", NULL, &u) < 0)
			_exit(20);
		setgroups(0, NULL);
		_exit(drop_and_check(&u, pw->pw_uid, pw->pw_gid));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	/* group only: root stays root, with the group */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct daemon_ids g;
		if (daemon_lookup_ids(NULL, "12345", &g) < 0)
			_exit(20);
		_exit(drop_and_check(&g, 0, 12345));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int bind_dgram(struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)sa, len), 0);
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_notify(void **state)
{
	(void)state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char env[120];

	/* not under systemd: nothing to do, no error */
	unsetenv("NOTIFY_SOCKET");
	daemon_notify_init();
	assert_int_equal(daemon_notify("READY=1"), 0);

	/* a path socket; the variables are removed so children do not inherit them */
	path_in_tmp(sa.sun_path, sizeof(sa.sun_path), "notify");
	int fd = bind_dgram(&sa, sizeof(sa));
	assert_int_equal(setenv("NOTIFY_SOCKET", sa.sun_path, 1), 0);
	assert_int_equal(setenv("WATCHDOG_USEC", "1", 1), 0);
	snprintf(env, sizeof(env), "%d", (int)getpid());
	assert_int_equal(setenv("WATCHDOG_PID", env, 1), 0);
	daemon_notify_init();
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_null(getenv("WATCHDOG_USEC"));
	assert_null(getenv("WATCHDOG_PID"));
	assert_int_equal(daemon_notify("READY=1"), 0);
	expect_datagram(fd, "READY=1");
	daemon_watchdog();
	expect_datagram(fd, "WATCHDOG=1");
	assert_int_equal(daemon_notify("STOPPING=1"), 0);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	/* the listener is gone: an error, reported */
	assert_true(daemon_notify("READY=1") < 0);

	/* an abstract socket ("@name") */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(env, sizeof(env), "@mvtest-notify-%d", (int)getpid());
	memcpy(sa.sun_path, env, strlen(env));
	sa.sun_path[0] = '\0';
	fd = bind_dgram(&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(env)));
	assert_int_equal(setenv("NOTIFY_SOCKET", env, 1), 0);
	/* a watchdog meant for another process is not ours to pet */
	assert_int_equal(setenv("WATCHDOG_USEC", "1", 1), 0);
	assert_int_equal(setenv("WATCHDOG_PID", "1", 1), 0);
	daemon_notify_init();
	daemon_watchdog();
	assert_int_equal(daemon_notify("READY=1"), 0);
	expect_datagram(fd, "READY=1"); /* and no WATCHDOG=1 before it */
	close(fd);

	/* unsupported forms are ignored */
	assert_int_equal(setenv("NOTIFY_SOCKET", "vsock:2:1234", 1), 0);
	daemon_notify_init();
	assert_int_equal(daemon_notify("READY=1"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pidfile),	    cmocka_unit_test(test_ready_pipe),
	    cmocka_unit_test(test_daemonize),	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_drop_privileges), cmocka_unit_test(test_notify),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* test_beaconio.c - beacon files and commands in the worker: store, load, variables, errors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/beaconio.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_beaconio.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* Waits (at most 10 s) for one result. */
static void result(struct beaconio *b, struct beaconio_result *r)
{
	for (int i = 0; i < 1000; i++) {
		if (beaconio_take(b, r) == 1)
			return;
		struct pollfd p = {.fd = beaconio_src(b)->fd, .events = POLLIN};
		(void)poll(&p, 1, 10);
	}
	fail_msg("no result within 10 s");
}

static char *slurp(const char *p)
{
	static char buf[4096];
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_file_store_load(void **state)
{
	struct beaconio *b;
	struct beaconio_result r;
	struct stat st;
	char p[128];
	(void)state;

	path(p, sizeof(p), "beacon");
	assert_int_equal(beaconio_new(0, &b), 0);
	assert_int_equal(beaconio_store(b, p, "first", NULL, 0), 0);
	result(b, &r);
	assert_int_equal(r.kind, BEACONIO_STORE);
	assert_int_equal(r.err, 0);
	assert_string_equal(slurp(p), "first\n");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	/* a read-only file of our own is replaced */
	assert_int_equal(beaconio_store(b, p, "second", NULL, 0), 0);
	result(b, &r);
	assert_int_equal(r.err, 0);
	assert_string_equal(slurp(p), "second\n");

	assert_int_equal(beaconio_load(b, p, NULL, 0), 0);
	result(b, &r);
	assert_int_equal(r.kind, BEACONIO_LOAD);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.len, 7);
	assert_string_equal(r.text, "second\n");
	assert_false(r.truncated);
	free(r.text);
	/* freeing removes the stored file */
	beaconio_free(b);
	assert_int_equal(access(p, F_OK), -1);
}

static void test_file_errors(void **state)
{
	struct beaconio *b;
	struct beaconio_result r;
	char p[128];
	(void)state;

	assert_int_equal(beaconio_new(0, &b), 0);
	path(p, sizeof(p), "missing");
	assert_int_equal(beaconio_load(b, p, NULL, 0), 0);
	result(b, &r);
	assert_int_equal(r.err, -ENOENT);
	assert_null(r.text);
	assert_non_null(strstr(r.why, p));
	path(p, sizeof(p), "no/such/dir/beacon");
	assert_int_equal(beaconio_store(b, p, "x", NULL, 0), 0);
	result(b, &r);
	assert_int_equal(r.err, -ENOENT);
	assert_non_null(strstr(r.why, "cannot create"));
	/* too long for a job */
	char big[2000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(beaconio_store(b, p, big, NULL, 0), -E2BIG);
	beaconio_free(b);
}

static void test_large_file_truncated(void **state)
{
	struct beaconio *b;
	struct beaconio_result r;
	char p[128];
	(void)state;

	path(p, sizeof(p), "large");
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	for (int i = 0; i < BEACONIO_MAX_TEXT + 100; i++)
		fputc('x', f);
	fclose(f);
	assert_int_equal(beaconio_new(0, &b), 0);
	assert_int_equal(beaconio_load(b, p, NULL, 0), 0);
	result(b, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.len, BEACONIO_MAX_TEXT);
	assert_true(r.truncated);
	free(r.text);
	beaconio_free(b);
}

static void test_commands(void **state)
{
	struct beaconio *b;
	struct beaconio_result r;
	char p[128], cmd[256];
	const char *vars[] = {"begin=AAAAA", "data=xyz", "end=BBBBB", "beacon=AAAAAxyzBBBBB"};
	(void)state;

	assert_int_equal(beaconio_new(0, &b), 0);
	path(p, sizeof(p), "out");
	snprintf(cmd, sizeof(cmd), "|echo \"$begin|$data|$end|$beacon\" >%s", p);
	assert_int_equal(beaconio_store(b, cmd, "ignored", vars, 4), 0);
	result(b, &r);
	assert_int_equal(r.err, 0);
	assert_string_equal(slurp(p), "AAAAA|xyz|BBBBB|AAAAAxyzBBBBB\n");

	/* a load command's stdout comes back; stderr does not mix in */
	assert_int_equal(beaconio_load(b, "|echo \"$begin-$end\"; echo noise >&2", vars, 3), 0);
	result(b, &r);
	assert_int_equal(r.err, 0);
	assert_string_equal(r.text, "AAAAA-BBBBB\n");
	free(r.text);

	/* failure: the status and the first line of stderr */
	assert_int_equal(beaconio_load(b, "|echo partial; echo 'no network' >&2; echo more >&2; "
					  "exit 3",
				       NULL, 0),
			 0);
	result(b, &r);
	assert_int_equal(r.err, -ECHILD);
	assert_null(r.text);
	assert_non_null(strstr(r.why, "status 3"));
	assert_non_null(strstr(r.why, "no network"));
	assert_null(strstr(r.why, "more"));

	/* the secrets of the node are not in a command's environment */
	setenv("PASSWORD", "secret", 1);
	assert_int_equal(beaconio_load(b, "|echo \"pw=${PASSWORD:-none}\"", NULL, 0), 0);
	result(b, &r);
	assert_string_equal(r.text, "pw=none\n");
	free(r.text);
	unsetenv("PASSWORD");
	beaconio_free(b);
}

static void test_command_killed(void **state)
{
	struct beaconio *b;
	struct beaconio_result r;
	(void)state;

	assert_int_equal(beaconio_new(1, &b), 0);
	time_t t0 = time(NULL);
	assert_int_equal(beaconio_load(b, "|sleep 30", NULL, 0), 0);
	result(b, &r);
	assert_int_equal(r.err, -ETIMEDOUT);
	assert_true(time(NULL) - t0 < 10);
	/* stopping does not wait for a long command either */
	assert_int_equal(beaconio_load(b, "|sleep 30", NULL, 0), 0);
	usleep(100 * 1000);
	t0 = time(NULL);
	beaconio_free(b);
	assert_true(time(NULL) - t0 < 5);
}

static void test_queue_full(void **state)
{
	struct beaconio *b;
	struct beaconio_result r;
	int ok = 0, full = 0;
	(void)state;

	assert_int_equal(beaconio_new(0, &b), 0);
	for (int i = 0; i < 10; i++) {
		int e = beaconio_load(b, "|sleep 0.2", NULL, 0);
		ok += e == 0;
		full += e == -ENOBUFS;
	}
	assert_true(ok >= 1);
	assert_true(full >= 1);
	assert_int_equal(ok + full, 10);
	for (int i = 0; i < ok; i++) {
		result(b, &r);
		assert_int_equal(r.err, 0);
		free(r.text);
	}
	assert_int_equal(beaconio_take(b, &r), 0);
	beaconio_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_file_store_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_file_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_command_killed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* test_log.c - levels, the log-file line format, errno preservation, rate limiting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/log.h"

static char path[] = "/tmp/meshvpn-test-log.XXXXXX";

static int setup(void **state)
{
	(void)state;
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	log_stderr(false);
	return log_open_file(path) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	log_close_file();
	log_stderr(true);
	unlink(path);
	return 0;
}

static char *slurp(void)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_format_and_levels(void **state)
{
	(void)state;
	log_set_level(LOG_INFO);
	log_info("hello %d", 42);
	log_debug("hidden");
	log_warn("careful");
	log_set_level(LOG_DEBUG);
	log_debug("visible");
	char *out = slurp();
	/* "YYYY-MM-DD HH:MM:SS - LEVEL - message" (VpnCloud's log-file format) */
	int y, mo, d, h, mi, s;
	char msg[64];
	assert_int_equal(sscanf(out, "%4d-%2d-%2d %2d:%2d:%2d - INFO - %63[^\n]", &y, &mo, &d, &h,
				&mi, &s, msg),
			 7);
	assert_string_equal(msg, "hello 42");
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, " - WARN - careful\n"));
	assert_non_null(strstr(out, " - DEBUG - visible\n"));
	log_set_level(LOG_INFO);
}

static void test_errno(void **state)
{
	(void)state;
	errno = ENOENT;
	log_err_errno("opening %s", "x");
	assert_int_equal(errno, ENOENT); /* preserved */
	assert_non_null(strstr(slurp(), " - ERROR - opening x: No such file or directory\n"));
}

static void test_rate_limit(void **state)
{
	(void)state;
	struct log_rl rl = {0};
	unsigned supp = 0, allowed = 0, reported = 0;
	for (int i = 0; i < 100; i++) {
		allowed += log_rl_allow(&rl, &supp);
		reported += supp;
	}
	/*
	 * 100 calls take microseconds: the burst passes, the rest is suppressed (unless a
	 * second boundary happens to fall inside the loop, which lets one more burst through)
	 */
	assert_true(allowed == LOG_RL_BURST || allowed == 2 * LOG_RL_BURST);
	/* every call was either let through or counted as suppressed */
	assert_int_equal(allowed + reported + rl.suppressed, 100);
	/* a new second reports how many were suppressed and starts again */
	unsigned pending = rl.suppressed;
	rl.sec -= 1;
	assert_true(log_rl_allow(&rl, &supp));
	assert_int_equal(supp, pending);
	assert_int_equal(rl.suppressed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_levels),
		cmocka_unit_test(test_errno),
		cmocka_unit_test(test_rate_limit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

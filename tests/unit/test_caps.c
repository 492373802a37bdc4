// SPDX-License-Identifier: GPL-3.0-or-later
/* test_caps.c - capability masks by name, and dropping them in a child process. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/capability.h>

#include "meshvpn/caps.h"

static void test_format(void **state)
{
	(void)state;
	char b[128];

	assert_string_equal(caps_format(0, b, sizeof(b)), "none");
	assert_string_equal(caps_format(CAPS_NET_ADMIN, b, sizeof(b)), "cap_net_admin");
	assert_string_equal(
	    caps_format(CAPS_BIT(CAP_CHOWN) | CAPS_NET_ADMIN | CAPS_BIT(40), b, sizeof(b)),
	    "cap_chown,cap_net_admin,cap_40");
	/* truncated, still terminated */
	caps_format(CAPS_BIT(CAP_CHOWN) | CAPS_NET_ADMIN, b, 12);
	assert_int_equal(strlen(b), 11);
}

/*
 * Runs body in a child (the drops are for ever) and returns its exit status: each check in
 * the child exits with its own number on failure.
 */
static int in_child(int (*body)(void))
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(body());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int drop_all(void)
{
	struct caps_state st;

	if (caps_drop(0, true, &st) != 0)
		return 1;
	if (st.effective || st.permitted || st.inheritable)
		return 2;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 3;
	/* gone for good: asking for it back fails */
	if (caps_drop(CAPS_NET_ADMIN, false, &st) != 0 || st.permitted)
		return 4;
	return 0;
}

static int keep_net_admin(void)
{
	struct caps_state before, st;

	if (caps_get(&before) != 0)
		return 1;
	if (caps_limit_bounding(CAPS_NET_ADMIN) != 0)
		return 2;
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (in >= 0 && in != (cap == CAP_NET_ADMIN))
			return 3;
	}
	if (caps_drop(CAPS_NET_ADMIN, false, &st) != 0)
		return 4;
	if (st.effective != CAPS_NET_ADMIN || st.permitted != CAPS_NET_ADMIN)
		return 5;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		return 6;
	return 0;
}

static void test_drop_all(void **state)
{
	(void)state;
	assert_int_equal(in_child(drop_all), 0);
}

static void test_keep_net_admin(void **state)
{
	(void)state;
	struct caps_state st;

	assert_int_equal(caps_get(&st), 0);
	if (!(st.effective & CAPS_BIT(CAP_SETPCAP)) || !(st.permitted & CAPS_NET_ADMIN))
		skip(); /* needs root (CAP_SETPCAP, CAP_NET_ADMIN) */
	assert_int_equal(in_child(keep_net_admin), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_drop_all),
	    cmocka_unit_test(test_keep_net_admin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

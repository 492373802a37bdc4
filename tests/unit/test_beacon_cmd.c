// SPDX-License-Identifier: GPL-3.0-or-later
/* test_beacon_cmd.c - `meshvpn beacon`: actions, password sources, output, exit statuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshvpn/beacon.h"
#include "meshvpn/beacon_cmd.h"

#define VEC1 "WsHI31EWDMBYxvITiILIrm2k9gEik22E"
#define VEC3 "WsHI3GXKaXCveo6uejmZizZ72kR6Y0L9T7h49TXONp1ugfKvvvEik22E"

static char *out_buf, *err_buf;
static char dir[256];

/*
 * Runs "beacon" + the NULL-terminated arguments with input text; the output and messages
 * end up in out_buf and err_buf. Returns the exit status.
 */
static int run(const char *input, ...)
{
	char *argv[64] = {"beacon"};
	size_t out_len, err_len;
	int argc = 1, r;
	va_list ap;

	va_start(ap, input);
	for (char *a; (a = va_arg(ap, char *)) != NULL;) {
		assert_true(argc < 63);
		argv[argc++] = a;
	}
	va_end(ap);
	free(out_buf);
	free(err_buf);
	FILE *in = fmemopen((void *)input, strlen(input), "r");
	FILE *out = open_memstream(&out_buf, &out_len);
	FILE *err = open_memstream(&err_buf, &err_len);
	assert_non_null(in);
	assert_non_null(out);
	assert_non_null(err);
	r = beacon_cmd(argc, argv, in, out, err);
	fclose(in);
	fclose(out);
	fclose(err);
	return r;
}

#define RUN(input, ...) run(input, __VA_ARGS__, (char *)NULL)

static void expect_usage(int r, const char *msg)
{
	if (r != BEACON_CMD_USAGE || !strstr(err_buf, msg))
		print_error("got %d '%s'\nwant '%s'\n", r, err_buf, msg);
	assert_int_equal(r, BEACON_CMD_USAGE);
	assert_non_null(strstr(err_buf, msg));
	assert_string_equal(out_buf, "");
}

static const char *write_file(const char *name, const char *content)
{
	static char path[4][320];
	static unsigned i;
	char *p = path[i++ % 4];
	FILE *f;

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	return p;
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test_beacon_cmd.XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(out_buf);
	free(err_buf);
	out_buf = err_buf = NULL;
	return 0;
}

static void test_encode(void **state)
{
	(void)state;

	assert_int_equal(
	    RUN("", "encode", "--hour", "2000", "-p", "mysecretkey", "1.2.3.4:5678", "6.6.6.6:53"),
	    0);
	assert_string_equal(out_buf, VEC1 "\n");
	assert_string_equal(err_buf, "");
	/* options after the addresses, --password=, IPv6 */
	assert_int_equal(RUN("", "encode", "1.2.3.4:5678", "6.6.6.6:53", "[::1]:5678",
			     "--password=mysecretkey", "--hour=2000"),
			 0);
	assert_string_equal(out_buf, VEC3 "\n");
	assert_int_equal(RUN("", "encode", "--env", "-v", "--hour", "2000", "-p", "mysecretkey",
			     "1.2.3.4:5678", "6.6.6.6:53"),
			 0);
	assert_string_equal(out_buf, "begin=WsHI3\ndata=1EWDMBYxvITiILIrm2k9gE\nend=ik22E\n"
				     "beacon=" VEC1 "\n");
	assert_string_equal(err_buf, "meshvpn beacon encode: hour 2000\n");
	/* default port; no password */
	assert_int_equal(RUN("", "encode", "--hour", "7", "192.0.2.1"), 0);
	assert_int_equal(strncmp(out_buf, "PNehe", 5), 0);
	char beacon[256];
	snprintf(beacon, sizeof(beacon), "%s", out_buf);
	assert_int_equal(RUN(beacon, "decode"), 0);
	assert_string_equal(out_buf, "192.0.2.1:3210\n");
	/* as many addresses as the codec takes */
	char *many[BEACON_LIMIT_ADDRS + 6] = {"beacon", "encode", "-p", "x"};
	char names[BEACON_LIMIT_ADDRS + 1][32];
	for (int i = 0; i <= BEACON_LIMIT_ADDRS; i++) {
		snprintf(names[i], sizeof(names[i]), "[2001:db8::%x]:%d", i + 1, 1000 + i);
		many[4 + i] = names[i];
	}
	FILE *in = fmemopen((void *)"", 0, "r"), *out = fopen("/dev/null", "w");
	assert_int_equal(beacon_cmd(4 + BEACON_LIMIT_ADDRS, many, in, out, out), 0);
	assert_int_equal(beacon_cmd(5 + BEACON_LIMIT_ADDRS, many, in, out, out), BEACON_CMD_USAGE);
	fclose(in);
	fclose(out);
}

static void test_encode_clock(void **state)
{
	(void)state;
	struct timespec ts;
	char cmd_in[256], hour[8];

	/* without --hour: VpnCloud's clock, so a reader with its TTL at our hour accepts it */
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC_COARSE, &ts), 0);
	assert_int_equal(RUN("", "encode", "-v", "-p", "pw", "10.0.0.1:1"), 0);
	unsigned h = (unsigned)atoi(err_buf + strlen("meshvpn beacon encode: hour "));
	assert_true((uint16_t)(beacon_hour((uint64_t)ts.tv_sec) - h) <= BEACON_ENCODE_TRIES);
	snprintf(cmd_in, sizeof(cmd_in), "%s", out_buf);
	snprintf(hour, sizeof(hour), "%u", beacon_hour((uint64_t)ts.tv_sec));
	assert_int_equal(RUN(cmd_in, "decode", "-p", "pw", "--ttl", "50", "--hour", hour), 0);
	assert_string_equal(out_buf, "10.0.0.1:1\n");
	/* and the default decode clock is the same one */
	assert_int_equal(RUN(cmd_in, "decode", "-p", "pw", "--ttl", "50"), 0);
	assert_string_equal(out_buf, "10.0.0.1:1\n");
}

static void test_decode(void **state)
{
	(void)state;

	/* several beacons in text, one address per line, mapped IPv4 shown as IPv4 */
	assert_int_equal(RUN("x " VEC1 "\n" VEC3 " y", "decode", "-p", "mysecretkey"), 0);
	assert_string_equal(out_buf, "1.2.3.4:5678\n6.6.6.6:53\n1.2.3.4:5678\n6.6.6.6:53\n"
				     "[::1]:5678\n");
	assert_string_equal(err_buf, "");
	/* from a file, and "-" for stdin */
	const char *f = write_file("beacon.txt", "<p>WsHI3 1EWDMBYxvITiILIrm2k9gE ik22E</p>\n");
	assert_int_equal(RUN("", "decode", "-p", "mysecretkey", f), 0);
	assert_string_equal(out_buf, "1.2.3.4:5678\n6.6.6.6:53\n");
	assert_int_equal(RUN(VEC1, "decode", "-p", "mysecretkey", "-"), 0);
	assert_string_equal(out_buf, "1.2.3.4:5678\n6.6.6.6:53\n");
	/* verbose: every candidate */
	assert_int_equal(RUN("WsHI3ik22E " VEC1, "decode", "-v", "-p", "mysecretkey"), 0);
	assert_string_equal(err_buf, "stdin: candidate at byte 0: too short\n"
				     "stdin: beacon at byte 11: hour 2000, 2 addresses\n");
	/* TTL: none by default, VpnCloud's rule with --ttl */
	assert_int_equal(RUN(VEC1, "decode", "-p", "mysecretkey", "--hour", "40000"), 0);
	assert_int_equal(RUN(VEC1, "decode", "-p", "mysecretkey", "--hour", "2050", "--ttl", "50"),
			 0);
	assert_int_equal(RUN(VEC1, "decode", "-p", "mysecretkey", "--hour", "2051", "--ttl", "50"),
			 1);
	assert_string_equal(out_buf, "");
	assert_string_equal(err_buf, "meshvpn beacon decode: stdin: no valid beacon, 1 candidate "
				     "rejected: 1 expired (hour outside the ttl)\n");
}

static void test_decode_nothing(void **state)
{
	(void)state;

	assert_int_equal(RUN("", "decode"), 1);
	assert_string_equal(err_buf, "meshvpn beacon decode: stdin: no beacon: no begin marker "
				     "PNehe followed by the end marker RFu5I (other password?)\n");
	/* the right beacon, the wrong password */
	assert_int_equal(RUN(VEC1, "decode", "-p", "other"), 1);
	assert_non_null(strstr(err_buf, "no beacon: no begin marker"));
	assert_int_equal(RUN("WsHI3 garbage ik22E WsHI3ik22E WsHI32EWDMBYxvITiILIrm2k9gEik22E",
			     "decode", "-p", "mysecretkey"),
			 1);
	assert_string_equal(out_buf, "");
	assert_string_equal(err_buf, "meshvpn beacon decode: stdin: no valid beacon, 3 candidates "
				     "rejected: 1 too short, 2 bad checksum (other password or "
				     "corrupted)\n");
	assert_int_equal(RUN("", "decode", "/nonexistent/beacon"), 1);
	assert_string_equal(
	    err_buf, "meshvpn beacon decode: /nonexistent/beacon: No such file or directory\n");
}

static void test_markers(void **state)
{
	(void)state;

	assert_int_equal(RUN("", "markers"), 0);
	assert_string_equal(out_buf, "PNehe\nRFu5I\n");
	assert_int_equal(RUN("", "markers", "--password", ""), 0);
	assert_string_equal(out_buf, "PNehe\nRFu5I\n");
	assert_int_equal(RUN("", "markers", "--env", "-p", "mysecretkey"), 0);
	assert_string_equal(out_buf, "begin=WsHI3\nend=ik22E\n");
}

static void test_password_sources(void **state)
{
	(void)state;
	const char *pwf = write_file("pw", "mysecretkey\r\nsecond line\n");
	const char *cfg = write_file("net.net", "crypto:\n  password: node\n"
						"beacon:\n  password: mysecretkey\n");
	const char *nocfg = write_file("plain.net", "crypto:\n  password: node\n");
	const char *bad = write_file("bad.net", "beacon:\n  interval: soon\n");

	assert_int_equal(RUN("", "markers", "--password-file", pwf), 0);
	assert_string_equal(out_buf, "WsHI3\nik22E\n");
	assert_int_equal(RUN("", "markers", "--config", cfg), 0);
	assert_string_equal(out_buf, "WsHI3\nik22E\n");
	/* no beacon.password: no password */
	assert_int_equal(RUN("", "markers", "--config", nocfg), 0);
	assert_string_equal(out_buf, "PNehe\nRFu5I\n");
	/* an explicit password wins over --config, in either order */
	assert_int_equal(RUN("", "markers", "--config", cfg, "-p", ""), 0);
	assert_string_equal(out_buf, "PNehe\nRFu5I\n");
	assert_int_equal(RUN("", "markers", "-p", "", "--config", cfg), 0);
	assert_string_equal(out_buf, "PNehe\nRFu5I\n");
	/* the last of -p and --password-file */
	assert_int_equal(RUN("", "markers", "-p", "x", "--password-file", pwf), 0);
	assert_string_equal(out_buf, "WsHI3\nik22E\n");
	assert_int_equal(RUN("", "markers", "--password-file", pwf, "-p", ""), 0);
	assert_string_equal(out_buf, "PNehe\nRFu5I\n");
	/* errors name the file */
	assert_int_equal(RUN("", "markers", "--password-file", "/nonexistent/pw"), 1);
	assert_string_equal(err_buf, "meshvpn beacon markers: /nonexistent/pw: No such file or "
				     "directory\n");
	assert_int_equal(RUN("", "markers", "--config", bad), 1);
	assert_non_null(strstr(err_buf, "bad.net:2"));
	assert_non_null(strstr(err_buf, "interval"));
}

static void test_usage(void **state)
{
	(void)state;

	assert_int_equal(RUN("", "--help"), 0);
	assert_non_null(strstr(out_buf, "Usage: meshvpn beacon encode"));
	assert_int_equal(RUN("", "decode", "-h"), 0);
	assert_non_null(strstr(out_buf, "--ttl HOURS"));
	assert_int_equal(run("", (char *)NULL), BEACON_CMD_USAGE);
	assert_non_null(strstr(err_buf, "Usage:"));

	expect_usage(RUN("", "frob"), "unknown action 'frob' (encode, decode or markers)");
	expect_usage(RUN("", "encode"), "encode: no address given");
	expect_usage(RUN("", "encode", "host.example"), "'host.example': not an address");
	expect_usage(RUN("", "encode", "1.2.3.4:99999"), "'1.2.3.4:99999': not an address");
	expect_usage(RUN("", "encode", "0.0.0.0:1"), "'0.0.0.0:1': unspecified address");
	expect_usage(RUN("", "encode", "[::]:1"), "'[::]:1': unspecified address");
	expect_usage(RUN("", "encode", "3210"), "'3210': unspecified address");
	expect_usage(RUN("", "encode", "1.2.3.4:0"), "'1.2.3.4:0': port 0");
	expect_usage(RUN("", "encode", "--hour", "65536", "1.2.3.4"),
		     "--hour: '65536' is not a number from 0 to 65535");
	expect_usage(RUN("", "encode", "--hour", "-1", "1.2.3.4"), "--hour: '-1' is not");
	expect_usage(RUN("", "encode", "--hour", "12x", "1.2.3.4"), "--hour: '12x' is not");
	expect_usage(RUN("", "encode", "--hour", "", "1.2.3.4"), "--hour: '' is not");
	expect_usage(RUN("", "encode", "--ttl", "5", "1.2.3.4"), "--ttl is an option of decode");
	expect_usage(RUN("", "decode", "--ttl", "x"), "--ttl: 'x' is not");
	expect_usage(RUN("", "decode", "--env"), "--env is an option of encode and markers");
	expect_usage(RUN("", "markers", "--hour", "1"), "--hour is an option of encode and decode");
	expect_usage(RUN("", "markers", "extra"), "markers: unexpected argument 'extra'");
	expect_usage(RUN("", "decode", "a", "b"), "decode: more than one file given");
	expect_usage(RUN("", "decode", "--bogus"), "unknown option --bogus");
	expect_usage(RUN("", "decode", "-x"), "unknown option -x");
	expect_usage(RUN("", "decode", "-p"), "option -p needs a value");
	expect_usage(RUN("", "decode", "--password"), "option --password needs a value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode),  cmocka_unit_test(test_encode_clock),
	    cmocka_unit_test(test_decode),  cmocka_unit_test(test_decode_nothing),
	    cmocka_unit_test(test_markers), cmocka_unit_test(test_password_sources),
	    cmocka_unit_test(test_usage),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * test_mgmt_request.c - management API requests: what the strict parser accepts, each kind
 * of bad-request with the field named, the id kept for the reply, depth limits; the typed
 * argument getters (types, ranges, null, dotted paths, unknown arguments); error codes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/mgmt_request.h"

static int parse(const char *line, struct mgmt_request *req, struct mgmt_error *err)
{
	return mgmt_parse_request(line, strlen(line), req, err);
}

static void expect_bad(const char *line, const char *msg_part)
{
	struct mgmt_request req;
	struct mgmt_error err;
	int r = parse(line, &req, &err);

	if (r != -EINVAL || !strstr(err.message, msg_part))
		fail_msg("%s: got %d '%s', want '%s'", line, r, err.message, msg_part);
	assert_int_equal(err.code, MGMT_ERR_BAD_REQUEST);
	assert_string_equal(mgmt_code_name(err.code), "bad-request");
	mgmt_request_free(&req);
}

static void test_parse_ok(void **state)
{
	struct mgmt_request req;
	struct mgmt_error err;

	(void)state;
	assert_int_equal(parse("{\"id\":7,\"cmd\":\"status\",\"args\":{\"x\":[1,2]}}", &req, &err),
			 0);
	assert_int_equal(err.code, MGMT_OK);
	assert_string_equal(req.cmd, "status");
	assert_int_equal(json_integer_value(req.id), 7);
	assert_int_equal(json_array_size(json_object_get(req.args, "x")), 2);
	mgmt_request_free(&req);
	assert_null(req.root);
	mgmt_request_free(&req); /* a cleared request is fine */

	/* no id, no args: args is {} */
	assert_int_equal(parse(" {\"cmd\":\"peers\"} \r", &req, &err), 0);
	assert_null(req.id);
	assert_true(json_is_object(req.args));
	assert_int_equal(json_object_size(req.args), 0);
	mgmt_request_free(&req);

	/* any scalar id */
	const char *ids[] = {"\"abc\"", "null", "1.5", "true", "-3"};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char line[64];
		snprintf(line, sizeof(line), "{\"cmd\":\"x\",\"id\":%s}", ids[i]);
		assert_int_equal(parse(line, &req, &err), 0);
		assert_non_null(req.id);
		mgmt_request_free(&req);
	}
	/* exactly MGMT_MAX_DEPTH levels */
	char deep[256] = "{\"cmd\":\"x\",\"args\":{\"a\":";
	for (int i = 0; i < MGMT_MAX_DEPTH - 2; i++)
		strcat(deep, "[");
	for (int i = 0; i < MGMT_MAX_DEPTH - 2; i++)
		strcat(deep, "]");
	strcat(deep, "}}");
	assert_int_equal(parse(deep, &req, &err), 0);
	mgmt_request_free(&req);
	/* len is honoured: what follows is not read */
	assert_int_equal(mgmt_parse_request("{\"cmd\":\"a\"}garbage", 11, &req, &err), 0);
	mgmt_request_free(&req);
}

static void test_parse_bad(void **state)
{
	struct mgmt_request req;
	struct mgmt_error err;

	(void)state;
	expect_bad("", "malformed JSON");
	expect_bad("hello", "malformed JSON at column");
	expect_bad("{\"cmd\":\"x\"", "malformed JSON");
	expect_bad("[1,2]", "must be a JSON object");
	expect_bad("42", "malformed JSON");
	expect_bad("{}", "field 'cmd' is missing");
	expect_bad("{\"id\":1}", "field 'cmd' is missing");
	expect_bad("{\"cmd\":5}", "field 'cmd' must be a string");
	expect_bad("{\"cmd\":null}", "field 'cmd' must be a string");
	expect_bad("{\"cmd\":\"\"}", "field 'cmd' must be a command name");
	expect_bad("{\"cmd\":\"Status\"}", "field 'cmd' must be a command name");
	expect_bad("{\"cmd\":\"a b\"}", "field 'cmd' must be a command name");
	expect_bad("{\"cmd\":\"x\",\"args\":[]}", "field 'args' must be an object");
	expect_bad("{\"cmd\":\"x\",\"args\":\"a\"}", "field 'args' must be an object");
	expect_bad("{\"cmd\":\"x\",\"args\":null}", "field 'args' must be an object");
	expect_bad("{\"cmd\":\"x\",\"arg\":{}}", "unknown field 'arg'");
	expect_bad("{\"cmd\":\"x\"} {\"cmd\":\"y\"}", "end of file expected");
	expect_bad("{\"cmd\":\"x\"} x", "malformed JSON");
	expect_bad("{\"cmd\":\"x\",\"cmd\":\"y\"}", "duplicate");
	expect_bad("{\"cmd\":\"x\",\"args\":{\"s\":\"\xff\"}}", "malformed JSON");
	expect_bad("{\"cmd\":\"\xc3\x28\"}", "malformed JSON");
	expect_bad("{\"cmd\":\"x\",\"args\":{\"s\":\"a\\u0000b\"}}", "malformed JSON");
	/* a raw NUL byte inside the line */
	assert_int_equal(mgmt_parse_request("{\"cmd\":\"x\"}\0", 12, &req, &err), -EINVAL);
	assert_int_equal(err.code, MGMT_ERR_BAD_REQUEST);
	mgmt_request_free(&req);

	/* too deep: MGMT_MAX_DEPTH + 1 levels */
	char deep[256] = "{\"cmd\":\"x\",\"args\":{\"a\":";
	for (int i = 0; i < MGMT_MAX_DEPTH - 1; i++)
		strcat(deep, "[");
	for (int i = 0; i < MGMT_MAX_DEPTH - 1; i++)
		strcat(deep, "]");
	strcat(deep, "}}");
	expect_bad(deep, "nested deeper than 16");
	/* and jansson's own limit far beyond */
	char *very = malloc(40001);
	assert_non_null(very);
	memset(very, '[', 40000);
	very[40000] = '\0';
	expect_bad(very, "malformed JSON");
	free(very);

	/* the id is kept for the reply when the rest is wrong */
	assert_int_equal(parse("{\"id\":\"q1\",\"cmd\":7}", &req, &err), -EINVAL);
	assert_string_equal(json_string_value(req.id), "q1");
	mgmt_request_free(&req);
	/* a non-scalar id: bad-request, replied to with id null */
	assert_int_equal(parse("{\"id\":{\"a\":1},\"cmd\":\"x\"}", &req, &err), -EINVAL);
	assert_string_equal(err.message, "field 'id' must be a scalar");
	assert_true(json_is_null(req.id));
	mgmt_request_free(&req);
	assert_int_equal(parse("{\"id\":[1],\"cmd\":\"x\"}", &req, &err), -EINVAL);
	assert_true(json_is_null(req.id));
	mgmt_request_free(&req);
}

static void test_args(void **state)
{
	struct mgmt_request req;
	struct mgmt_error err;
	const char *s = "unset";
	json_int_t n = -1;
	json_t *v = NULL;
	bool b = false;

	(void)state;
	assert_int_equal(parse("{\"cmd\":\"update\",\"args\":{\"id\":\"alice\",\"n\":5,\"on\":true,"
			       "\"tags\":[\"a\",\"b\"],\"bad-tags\":[\"a\",1],\"expires\":null,"
			       "\"security\":{\"max-connections\":2,\"rate-limit\":{\"rate\":10}},"
			       "\"real\":1.5}}",
			       &req, &err),
			 0);
	assert_int_equal(mgmt_arg_string(&req, "id", MGMT_ARG_REQUIRED, &s, &err), MGMT_ARG_VALUE);
	assert_string_equal(s, "alice");
	assert_int_equal(mgmt_arg_string(&req, "description", 0, &s, &err), MGMT_ARG_ABSENT);
	assert_null(s);
	assert_int_equal(mgmt_arg_string(&req, "description", MGMT_ARG_REQUIRED, &s, &err),
			 -EINVAL);
	assert_int_equal(err.code, MGMT_ERR_BAD_REQUEST);
	assert_string_equal(err.message, "missing argument 'description'");
	assert_int_equal(mgmt_arg_string(&req, "n", 0, &s, &err), -EINVAL);
	assert_string_equal(err.message, "argument 'n' must be a string");
	/* null: "clear" where allowed, an error elsewhere */
	assert_int_equal(mgmt_arg_string(&req, "expires", MGMT_ARG_NULLABLE, &s, &err),
			 MGMT_ARG_NULL);
	assert_null(s);
	assert_int_equal(mgmt_arg_string(&req, "expires", 0, &s, &err), -EINVAL);
	assert_string_equal(err.message, "argument 'expires' must be a string, not null");

	assert_int_equal(mgmt_arg_int(&req, "n", MGMT_ARG_REQUIRED, 0, 10, &n, &err),
			 MGMT_ARG_VALUE);
	assert_int_equal(n, 5);
	assert_int_equal(mgmt_arg_int(&req, "n", 0, 6, 10, &n, &err), -EINVAL);
	assert_int_equal(err.code, MGMT_ERR_INVALID);
	assert_string_equal(err.message, "argument 'n' must be between 6 and 10");
	assert_int_equal(mgmt_arg_int(&req, "real", 0, 0, 10, &n, &err), -EINVAL);
	assert_string_equal(err.message, "argument 'real' must be an integer");
	assert_int_equal(mgmt_arg_int(&req, "security.max-connections", 0, 1, 100, &n, &err),
			 MGMT_ARG_VALUE);
	assert_int_equal(n, 2);
	assert_int_equal(mgmt_arg_int(&req, "security.rate-limit.rate", 0, 1, 100, &n, &err),
			 MGMT_ARG_VALUE);
	assert_int_equal(n, 10);
	assert_int_equal(mgmt_arg_int(&req, "security.rate-limit.burst", 0, 1, 100, &n, &err),
			 MGMT_ARG_ABSENT);
	assert_int_equal(mgmt_arg_int(&req, "nothing.at.all", 0, 1, 100, &n, &err),
			 MGMT_ARG_ABSENT);
	/* a part of the path that is not an object */
	assert_int_equal(mgmt_arg_int(&req, "id.x", 0, 1, 100, &n, &err), -EINVAL);
	assert_string_equal(err.message, "argument 'id' must be an object");
	assert_int_equal(mgmt_arg_int(&req, "security.max-connections.x", 0, 1, 100, &n, &err),
			 -EINVAL);
	assert_string_equal(err.message, "argument 'security.max-connections' must be an object");

	assert_int_equal(mgmt_arg_bool(&req, "on", 0, &b, &err), MGMT_ARG_VALUE);
	assert_true(b);
	assert_int_equal(mgmt_arg_bool(&req, "n", 0, &b, &err), -EINVAL);
	assert_string_equal(err.message, "argument 'n' must be true or false");

	assert_int_equal(mgmt_arg_strings(&req, "tags", 0, &v, &err), MGMT_ARG_VALUE);
	assert_int_equal(json_array_size(v), 2);
	assert_int_equal(mgmt_arg_strings(&req, "bad-tags", 0, &v, &err), -EINVAL);
	assert_string_equal(err.message,
			    "argument 'bad-tags' must be an array of strings (element 1 is not)");
	assert_int_equal(mgmt_arg_strings(&req, "id", 0, &v, &err), -EINVAL);
	assert_int_equal(mgmt_arg_strings(&req, "client-tags", 0, &v, &err), MGMT_ARG_ABSENT);
	assert_null(v);
	assert_int_equal(mgmt_arg_object(&req, "security", 0, &v, &err), MGMT_ARG_VALUE);
	assert_int_equal(json_object_size(v), 2);
	assert_int_equal(mgmt_arg_object(&req, "tags", 0, &v, &err), -EINVAL);
	assert_string_equal(err.message, "argument 'tags' must be an object");

	static const char *const top[] = {"id",	     "n",	 "on",	 "tags", "bad-tags",
					  "expires", "security", "real", NULL};
	static const char *const sec[] = {"max-connections", NULL};
	static const char *const sec2[] = {"max-connections", "rate-limit", NULL};
	assert_int_equal(mgmt_args_only(&req, NULL, top, &err), 0);
	assert_int_equal(mgmt_args_only(&req, NULL, top + 1, &err), -EINVAL);
	assert_string_equal(err.message, "unknown argument 'id' for 'update'");
	assert_int_equal(mgmt_args_only(&req, "security", sec, &err), -EINVAL);
	assert_string_equal(err.message, "unknown argument 'security.rate-limit' for 'update'");
	assert_int_equal(mgmt_args_only(&req, "security", sec2, &err), 0);
	assert_int_equal(mgmt_args_only(&req, "absent", sec, &err), 0);
	mgmt_request_free(&req);

	/* the helper for unknown commands, and the dispatcher */
	assert_int_equal(parse("{\"cmd\":\"frobnicate\"}", &req, &err), 0);
	assert_null(mgmt_unknown_command(&req, &err));
	assert_int_equal(err.code, MGMT_ERR_UNKNOWN_COMMAND);
	assert_string_equal(mgmt_code_name(err.code), "unknown-command");
	assert_string_equal(err.message, "unknown command 'frobnicate'");
	mgmt_request_free(&req);
	assert_string_equal(mgmt_code_name(MGMT_ERR_NOT_HUB), "not-hub");
	assert_string_equal(mgmt_code_name(MGMT_ERR_EXHAUSTED), "exhausted");
	assert_string_equal(mgmt_code_name((enum mgmt_code)999), "internal");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ok),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

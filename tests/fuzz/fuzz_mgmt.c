// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_mgmt.c - libFuzzer target for mgmt_parse_request(): only 0 or -EINVAL (with a
 * bad-request message), an accepted request has the documented shape, its compact text is
 * accepted again with the same command, and the typed getters never misbehave on it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/mgmt.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every getter on a name the fuzzer chose: a result in range, an error with a message. */
static void getters(const struct mgmt_request *req, const char *name)
{
	struct mgmt_error err;
	const char *s;
	json_int_t n;
	json_t *v;
	bool b;
	int r;

	err.code = MGMT_OK;
	r = mgmt_arg_string(req, name, MGMT_ARG_NULLABLE, &s, &err);
	CHECK(r == -EINVAL ? err.code == MGMT_ERR_BAD_REQUEST : (r >= 0 && r <= MGMT_ARG_NULL));
	CHECK(r != MGMT_ARG_VALUE || s != NULL);
	r = mgmt_arg_int(req, name, MGMT_ARG_REQUIRED, -5, 5, &n, &err);
	CHECK(r == -EINVAL || (r == MGMT_ARG_VALUE && n >= -5 && n <= 5));
	CHECK(r != -EINVAL || err.message[0]);
	r = mgmt_arg_bool(req, name, 0, &b, &err);
	CHECK(r == -EINVAL || r == MGMT_ARG_VALUE || r == MGMT_ARG_ABSENT);
	r = mgmt_arg_strings(req, name, 0, &v, &err);
	CHECK(r == -EINVAL || r == MGMT_ARG_ABSENT || (r == MGMT_ARG_VALUE && json_is_array(v)));
	r = mgmt_arg_object(req, name, 0, &v, &err);
	CHECK(r == -EINVAL || r == MGMT_ARG_ABSENT || (r == MGMT_ARG_VALUE && json_is_object(v)));
	const char *const names[] = {"id", "security", NULL};
	r = mgmt_args_only(req, name, names, &err);
	CHECK(r == 0 || (r == -EINVAL && err.code == MGMT_ERR_BAD_REQUEST));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mgmt_request req, again;
	struct mgmt_error err, err2;
	const char *key;
	json_t *v;
	char *text;
	int r;

	if (size > MGMT_LINE_MAX) /* longer lines never reach the parser */
		return 0;
	r = mgmt_parse_request((const char *)data, size, &req, &err);
	CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r < 0) {
		CHECK(err.code == (r == -EINVAL ? MGMT_ERR_BAD_REQUEST : MGMT_ERR_INTERNAL));
		CHECK(err.message[0] != '\0');
		CHECK(!req.id || json_is_null(req.id) || json_is_string(req.id) ||
		      json_is_number(req.id) || json_is_boolean(req.id));
		mgmt_request_free(&req);
		return 0;
	}
	CHECK(err.code == MGMT_OK);
	CHECK(json_is_object(req.root) && json_is_object(req.args) && req.cmd && req.cmd[0]);
	CHECK(strlen(req.cmd) <= MGMT_CMD_MAX);
	CHECK(!req.id || !(json_is_object(req.id) || json_is_array(req.id)));
	json_object_foreach(req.root, key, v)
		CHECK(!strcmp(key, "id") || !strcmp(key, "cmd") || !strcmp(key, "args"));

	/* what jansson writes back is a request again, the same one */
	text = json_dumps(req.root, JSON_COMPACT);
	CHECK(text);
	CHECK(mgmt_parse_request(text, strlen(text), &again, &err2) == 0);
	CHECK(strcmp(again.cmd, req.cmd) == 0);
	CHECK(json_equal(again.args, req.args));
	CHECK(!req.id == !again.id && (!req.id || json_equal(req.id, again.id)));
	mgmt_request_free(&again);
	free(text);

	/* the getters on every argument name, and on dotted paths into the first object */
	json_object_foreach(req.args, key, v) {
		getters(&req, key);
		if (json_is_object(v)) {
			const char *k2;
			json_t *v2;
			json_object_foreach(v, k2, v2) {
				char path[256];
				snprintf(path, sizeof(path), "%s.%s", key, k2);
				getters(&req, path);
			}
		}
	}
	getters(&req, "absent.path");
	mgmt_request_free(&req);
	return 0;
}

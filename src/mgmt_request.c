// SPDX-License-Identifier: GPL-3.0-or-later
/* mgmt_request.c - management API requests: strict parsing, typed arguments, error codes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "meshvpn/mgmt_request.h"

/* ---- errors ---- */

static const char *const code_names[MGMT_CODE_COUNT] = {
    [MGMT_OK] = "ok",
    [MGMT_ERR_BAD_REQUEST] = "bad-request",
    [MGMT_ERR_TOO_LARGE] = "too-large",
    [MGMT_ERR_UNKNOWN_COMMAND] = "unknown-command",
    [MGMT_ERR_NOT_FOUND] = "not-found",
    [MGMT_ERR_EXISTS] = "exists",
    [MGMT_ERR_INVALID] = "invalid",
    [MGMT_ERR_NOT_HUB] = "not-hub",
    [MGMT_ERR_EXHAUSTED] = "exhausted",
    [MGMT_ERR_INTERNAL] = "internal",
    [MGMT_ERR_BUSY] = "busy",
};

const char *mgmt_code_name(enum mgmt_code code)
{
	return (unsigned)code < MGMT_CODE_COUNT ? code_names[code] : "internal";
}

json_t *mgmt_fail(struct mgmt_error *err, enum mgmt_code code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return NULL;
}

static int PRINTF(3, 4) bad(struct mgmt_error *err, enum mgmt_code code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- parsing ---- */

/* Nesting of objects and arrays in v (a scalar is 0), counted only up to limit + 1. */
static int depth(const json_t *v, int limit)
{
	const char *key;
	json_t *e;
	size_t i;
	int d = 0;

	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (limit < 1)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, e) {
			d = MAX(d, depth(e, limit - 1));
			if (d >= limit)
				break;
		}
	} else {
		json_array_foreach(v, i, e) {
			d = MAX(d, depth(e, limit - 1));
			if (d >= limit)
				break;
		}
	}
	return d + 1;
}

static bool is_cmd_name(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-");

	return n > 0 && n <= MGMT_CMD_MAX && s[n] == '\0';
}

void mgmt_request_free(struct mgmt_request *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

int mgmt_parse_request(const char *line, size_t len, struct mgmt_request *out,
		       struct mgmt_error *err)
{
	json_error_t jerr;
	json_t *root, *id, *cmd, *args;
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	err->code = MGMT_OK;
	err->message[0] = '\0';
	/* jansson checks UTF-8, rejects \u0000 and anything after the value, limits depth */
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return mgmt_fail(err, MGMT_ERR_INTERNAL, "out of memory"), -ENOMEM;
		return bad(err, MGMT_ERR_BAD_REQUEST, "malformed JSON at column %d: %s",
			   jerr.column, jerr.text);
	}
	out->root = root;
	if (!json_is_object(root))
		return bad(err, MGMT_ERR_BAD_REQUEST, "the request must be a JSON object");
	id = json_object_get(root, "id");
	if (id && (json_is_object(id) || json_is_array(id))) {
		/* the reply says "id": null: replace it before anything can fail */
		if (json_object_set_new(root, "id", json_null()) < 0)
			return mgmt_fail(err, MGMT_ERR_INTERNAL, "out of memory"), -ENOMEM;
		out->id = json_object_get(root, "id");
		return bad(err, MGMT_ERR_BAD_REQUEST, "field 'id' must be a scalar");
	}
	out->id = id;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "id") && strcmp(key, "cmd") && strcmp(key, "args"))
			return bad(err, MGMT_ERR_BAD_REQUEST, "unknown field '%.64s'", key);
	}
	cmd = json_object_get(root, "cmd");
	if (!cmd)
		return bad(err, MGMT_ERR_BAD_REQUEST, "field 'cmd' is missing");
	if (!json_is_string(cmd))
		return bad(err, MGMT_ERR_BAD_REQUEST, "field 'cmd' must be a string");
	if (!is_cmd_name(json_string_value(cmd)))
		return bad(err, MGMT_ERR_BAD_REQUEST,
			   "field 'cmd' must be a command name (1 to %d of a-z, 0-9, -)",
			   MGMT_CMD_MAX);
	args = json_object_get(root, "args");
	if (args && !json_is_object(args))
		return bad(err, MGMT_ERR_BAD_REQUEST, "field 'args' must be an object");
	if (depth(root, MGMT_MAX_DEPTH) > MGMT_MAX_DEPTH)
		return bad(err, MGMT_ERR_BAD_REQUEST, "the request is nested deeper than %d levels",
			   MGMT_MAX_DEPTH);
	if (!args) {
		if (json_object_set_new(root, "args", json_object()) < 0)
			return mgmt_fail(err, MGMT_ERR_INTERNAL, "out of memory"), -ENOMEM;
		args = json_object_get(root, "args");
	}
	out->cmd = json_string_value(cmd);
	out->args = args;
	return 0;
}

/* ---- typed arguments ---- */

/*
 * Looks up the dotted path name in req->args: the value, or NULL when a part is absent. A
 * part that exists but is no object is a bad-request (-EINVAL).
 */
static int lookup(const struct mgmt_request *req, const char *name, json_t **out,
		  struct mgmt_error *err)
{
	json_t *v = req->args;
	const char *p = name;

	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		v = json_object_getn(v, p, n);
		if (!v || !dot)
			break;
		if (!json_is_object(v))
			return bad(err, MGMT_ERR_BAD_REQUEST, "argument '%.*s' must be an object",
				   (int)(dot - name), name);
		p = dot + 1;
	}
	*out = v;
	return 0;
}

/*
 * The common part of the getters: MGMT_ARG_* or -EINVAL; *v is the value when present. A
 * value present but of another type than want names the type in the message.
 */
static int arg(const struct mgmt_request *req, const char *name, unsigned flags, json_type want,
	       const char *want_name, json_t **v, struct mgmt_error *err)
{
	if (lookup(req, name, v, err) < 0)
		return -EINVAL;
	if (!*v) {
		if (flags & MGMT_ARG_REQUIRED)
			return bad(err, MGMT_ERR_BAD_REQUEST, "missing argument '%s'", name);
		return MGMT_ARG_ABSENT;
	}
	if (json_is_null(*v)) {
		if (flags & MGMT_ARG_NULLABLE)
			return MGMT_ARG_NULL;
		return bad(err, MGMT_ERR_BAD_REQUEST, "argument '%s' must be %s, not null", name,
			   want_name);
	}
	if (json_typeof(*v) != want && !(want == JSON_TRUE && json_is_boolean(*v)))
		return bad(err, MGMT_ERR_BAD_REQUEST, "argument '%s' must be %s", name, want_name);
	return MGMT_ARG_VALUE;
}

int mgmt_arg_string(const struct mgmt_request *req, const char *name, unsigned flags,
		    const char **out, struct mgmt_error *err)
{
	json_t *v;
	int r = arg(req, name, flags, JSON_STRING, "a string", &v, err);

	if (r == MGMT_ARG_VALUE)
		*out = json_string_value(v);
	else if (r >= 0)
		*out = NULL;
	return r;
}

int mgmt_arg_int(const struct mgmt_request *req, const char *name, unsigned flags, json_int_t min,
		 json_int_t max, json_int_t *out, struct mgmt_error *err)
{
	json_t *v;
	int r = arg(req, name, flags, JSON_INTEGER, "an integer", &v, err);

	if (r != MGMT_ARG_VALUE)
		return r;
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return bad(err, MGMT_ERR_INVALID, "argument '%s' must be between %lld and %lld",
			   name, (long long)min, (long long)max);
	*out = json_integer_value(v);
	return r;
}

int mgmt_arg_bool(const struct mgmt_request *req, const char *name, unsigned flags, bool *out,
		  struct mgmt_error *err)
{
	json_t *v;
	int r = arg(req, name, flags, JSON_TRUE, "true or false", &v, err);

	if (r == MGMT_ARG_VALUE)
		*out = json_is_true(v);
	return r;
}

int mgmt_arg_strings(const struct mgmt_request *req, const char *name, unsigned flags, json_t **out,
		     struct mgmt_error *err)
{
	json_t *v, *e;
	size_t i;
	int r = arg(req, name, flags, JSON_ARRAY, "an array of strings", &v, err);

	if (r != MGMT_ARG_VALUE) {
		if (r >= 0)
			*out = NULL;
		return r;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return bad(err, MGMT_ERR_BAD_REQUEST,
				   "argument '%s' must be an array of strings (element %zu is not)",
				   name, i);
	}
	*out = v;
	return r;
}

int mgmt_arg_object(const struct mgmt_request *req, const char *name, unsigned flags, json_t **out,
		    struct mgmt_error *err)
{
	json_t *v;
	int r = arg(req, name, flags, JSON_OBJECT, "an object", &v, err);

	if (r == MGMT_ARG_VALUE)
		*out = v;
	else if (r >= 0)
		*out = NULL;
	return r;
}

int mgmt_args_only(const struct mgmt_request *req, const char *object, const char *const names[],
		   struct mgmt_error *err)
{
	json_t *o = req->args, *v;
	const char *key;

	if (object && lookup(req, object, &o, err) < 0)
		return -EINVAL;
	if (!json_is_object(o))
		return 0;
	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; names[i] && strcmp(names[i], key); i++)
			;
		if (!names[i])
			return bad(err, MGMT_ERR_BAD_REQUEST,
				   "unknown argument '%s%s%.64s' for '%s'", object ? object : "",
				   object ? "." : "", key, req->cmd);
	}
	return 0;
}

json_t *mgmt_unknown_command(const struct mgmt_request *req, struct mgmt_error *err)
{
	return mgmt_fail(err, MGMT_ERR_UNKNOWN_COMMAND, "unknown command '%s'", req->cmd);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mgmt_request.h - requests of the management API (HUB.md, mgmt.h): the strict parser of a
 * request line, typed getters for the node's command handlers and the protocol's error
 * codes. Pure: no I/O, no clock.
 */
#ifndef MESHVPN_MGMT_REQUEST_H
#define MESHVPN_MGMT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util.h"

#define MGMT_MAX_DEPTH 16 /* nesting of objects and arrays in a request (root = 1) */
#define MGMT_CMD_MAX   64 /* bytes of a command name: [a-z0-9-] */

/* The error codes of the protocol; mgmt_code_name() spells them. */
enum mgmt_code {
	MGMT_OK = 0,		  /* no error */
	MGMT_ERR_BAD_REQUEST,	  /* "bad-request": malformed JSON, missing or mistyped field */
	MGMT_ERR_TOO_LARGE,	  /* "too-large": line longer than MGMT_LINE_MAX */
	MGMT_ERR_UNKNOWN_COMMAND, /* "unknown-command" */
	MGMT_ERR_NOT_FOUND,	  /* "not-found" */
	MGMT_ERR_EXISTS,	  /* "exists" */
	MGMT_ERR_INVALID,	  /* "invalid": a value fails validation (the message names it) */
	MGMT_ERR_NOT_HUB,	  /* "not-hub": a hub command on a plain node */
	MGMT_ERR_EXHAUSTED,	  /* "exhausted": no free IP */
	MGMT_ERR_INTERNAL,	  /* "internal" */
	MGMT_ERR_BUSY,		  /* "busy": too many connections (sent before closing) */
	MGMT_CODE_COUNT,
};

#define MGMT_MESSAGE_MAX 256

struct mgmt_error {
	enum mgmt_code code; /* MGMT_OK while no error is set */
	char message[MGMT_MESSAGE_MAX];
};

/* "bad-request", ...; "internal" for a value out of range. */
const char *mgmt_code_name(enum mgmt_code code);
/* Sets err to code and the formatted message; returns NULL, for `return mgmt_fail(...)`. */
json_t *mgmt_fail(struct mgmt_error *err, enum mgmt_code code, const char *fmt, ...) PRINTF(3, 4);

/* A parsed request. Everything but root is borrowed from root. */
struct mgmt_request {
	json_t *root;	 /* the parsed line (owned: mgmt_request_free()), or NULL */
	json_t *id;	 /* the request's id, NULL when it has none */
	const char *cmd; /* the command name */
	json_t *args;	 /* always an object ({} when the request has no args) */
};

/*
 * Parses one request line of len bytes (no NUL needed; the newline excluded), strictly: a
 * JSON object with only the members id (a scalar), cmd (a command name) and args (an
 * object), valid UTF-8 without NUL characters, no duplicate keys, nothing after the object,
 * nesting at most MGMT_MAX_DEPTH. Returns 0, -EINVAL (err: bad-request, naming the field) or
 * -ENOMEM (err: internal). On failure out->id is still set when the id could be read (the
 * error reply echoes it). Call mgmt_request_free(out) after either result.
 */
int mgmt_parse_request(const char *line, size_t len, struct mgmt_request *out,
		       struct mgmt_error *err) WUR;
/* Releases out->root and clears out; accepts a cleared request. */
void mgmt_request_free(struct mgmt_request *req);

/*
 * Typed arguments for the node's handlers. name is a member of req->args or a dotted path
 * into nested objects ("security.max-connections"). Each returns MGMT_ARG_VALUE (*out set),
 * MGMT_ARG_ABSENT (*out untouched, or NULL for pointers), MGMT_ARG_NULL (JSON null given and
 * MGMT_ARG_NULLABLE set; pointers set to NULL) or -EINVAL with err set: bad-request for a
 * missing required or mistyped argument, invalid for an integer out of [min, max].
 */
#define MGMT_ARG_REQUIRED 0x1 /* absent (or null without MGMT_ARG_NULLABLE) is an error */
#define MGMT_ARG_NULLABLE 0x2 /* null is accepted: "clear this" */
enum mgmt_arg_result {
	MGMT_ARG_ABSENT = 0,
	MGMT_ARG_VALUE = 1,
	MGMT_ARG_NULL = 2,
};

int mgmt_arg_string(const struct mgmt_request *req, const char *name, unsigned flags,
		    const char **out, struct mgmt_error *err) WUR;
int mgmt_arg_int(const struct mgmt_request *req, const char *name, unsigned flags, json_int_t min,
		 json_int_t max, json_int_t *out, struct mgmt_error *err) WUR;
int mgmt_arg_bool(const struct mgmt_request *req, const char *name, unsigned flags, bool *out,
		  struct mgmt_error *err) WUR;
/* An array whose elements are all strings (borrowed). */
int mgmt_arg_strings(const struct mgmt_request *req, const char *name, unsigned flags, json_t **out,
		     struct mgmt_error *err) WUR;
/* An object (borrowed). */
int mgmt_arg_object(const struct mgmt_request *req, const char *name, unsigned flags, json_t **out,
		    struct mgmt_error *err) WUR;
/*
 * Rejects members of args (object NULL) or of the nested object at the dotted path object
 * that are not in names (NULL-terminated): bad-request "unknown argument 'x' for 'cmd'".
 * An absent or non-object path is fine here (the typed getters report it). 0 or -EINVAL.
 */
int mgmt_args_only(const struct mgmt_request *req, const char *object, const char *const names[],
		   struct mgmt_error *err) WUR;

/* Sets err to unknown-command "unknown command 'x'"; returns NULL. */
json_t *mgmt_unknown_command(const struct mgmt_request *req, struct mgmt_error *err);

#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * beaconio.h - where beacons are stored and loaded (PROTOCOL.md 7.6), off the event loop: a
 * worker thread (chan.h) writes a text to a file or hands it to a shell command, and reads
 * a file or the output of a command. It knows nothing of beacons (the codec is beacon.c):
 * it moves text and environment variables. A target or source starting with '|' is a
 * command (`sh -c` with the given variables), anything else a file name.
 *
 * Files: a store deletes the old file, writes the text and a newline and sets mode 0444
 * (VpnCloud); beaconio_free() deletes the file last stored. Commands run with stdout
 * captured (at most BEACONIO_MAX_TEXT bytes), at most BEACONIO_CMD_SECS long (then killed);
 * a failing command's first line on stderr is reported.
 */
#ifndef MESHVPN_BEACONIO_H
#define MESHVPN_BEACONIO_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "util.h"

#define BEACONIO_MAX_TEXT (64 * 1024) /* bytes read from a file or a command's output */
#define BEACONIO_CMD_SECS 30	      /* a store or load command is killed after this */
#define BEACONIO_MAX_VARS 4	      /* environment variables per job */
#define BEACONIO_VAR_LEN  512	      /* "name=value" incl. NUL */
#define BEACONIO_WHY_LEN  200

enum beaconio_kind {
	BEACONIO_STORE = 1,
	BEACONIO_LOAD,
};

/* A finished job, from beaconio_take(). */
struct beaconio_result {
	enum beaconio_kind kind;
	int err;		    /* 0, or -errno (file), or -ECHILD (command failed: see why) */
	char why[BEACONIO_WHY_LEN]; /* err: what failed, for the log */
	char *text;		    /* LOAD without err: what was read (NUL-terminated, the
				       caller's to free()); NULL otherwise */
	size_t len;		    /* of text */
	bool truncated;		    /* more than BEACONIO_MAX_TEXT bytes were there */
};

struct beaconio;

/*
 * Starts the worker (after loop_init(), chan.h); commands are killed after cmd_secs (0:
 * BEACONIO_CMD_SECS). 0 or -errno (*out = NULL).
 */
int beaconio_new(unsigned cmd_secs, struct beaconio **out) WUR;
/* The eventfd to register in the loop (readable while results wait). */
struct loop_src *beaconio_src(struct beaconio *b);
/*
 * Queues a store of text to target (a file name, or "|command" run with vars: up to
 * BEACONIO_MAX_VARS "name=value" strings, copied). 0, -ENOBUFS (jobs still pending), -E2BIG
 * (text or a variable too long).
 */
int beaconio_store(struct beaconio *b, const char *target, const char *text,
		   const char *const vars[], size_t nvars) WUR;
/* Queues a load from source (file name or "|command" with vars). As beaconio_store(). */
int beaconio_load(struct beaconio *b, const char *source, const char *const vars[],
		  size_t nvars) WUR;
/* Takes a finished job: 1 (out filled) or 0 (none left). */
int beaconio_take(struct beaconio *b, struct beaconio_result *out);
/*
 * Stops the worker (a running command is killed after at most a second), deletes the file
 * last stored, frees everything. Accepts NULL.
 */
void beaconio_free(struct beaconio *b);

#endif

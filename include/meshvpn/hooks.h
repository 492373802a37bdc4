/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * hooks.h - event hooks (CONFIG.md 8.1): `sh -c SCRIPT` started in the background with the
 * event's variables, never waited for on the loop; children are reaped after SIGCHLD and
 * their exit status is logged. At most HOOKS_MAX_RUNNING run at once, HOOKS_MAX_QUEUED more
 * wait in order, anything beyond is dropped with a warning. Also the shell-spawning helpers
 * that ifup/ifdown (device_run_cmd) share.
 */
#ifndef MESHVPN_HOOKS_H
#define MESHVPN_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "config.h"
#include "util.h"

/*
 * Hooks running at once. The systemd unit's TasksMax=10 leaves room for the node's two
 * threads plus this many hooks with one child each.
 */
#define HOOKS_MAX_RUNNING 4
#define HOOKS_MAX_QUEUED  64 /* waiting for a free slot; more are dropped */
#define HOOKS_NODE_ID_LEN 16
#define HOOKS_NVARS	  5 /* EVENT, IFNAME, PEER, CLAIMS, NODE_ID */

struct hooks;

/*
 * What an event may pass; hooks_fire() picks per event what CONFIG.md 8.1 lists. Everything
 * is borrowed for the call; NULL / 0 = not known.
 */
struct hooks_vars {
	const char *ifname;	    /* IFNAME, every event */
	const struct addr *peer;    /* PEER, peer_* events */
	const struct range *claims; /* CLAIMS, peer_connected */
	size_t n_claims;
	const uint8_t *node_id; /* NODE_ID (HOOKS_NODE_ID_LEN bytes), peer_connected; for
				 * peer_disconnected only after a CLOSE, which also prints
				 * PEER in the reference's mapped form [::ffff:a.b.c.d]:port */
};

/* Counters since hooks_new(), for logs and tests. */
struct hooks_stats {
	unsigned long started; /* processes spawned */
	unsigned long dropped; /* queue full */
	unsigned long failed;  /* could not be spawned */
	unsigned long exited;  /* reaped */
	unsigned long nonzero; /* reaped with a non-zero status or killed */
	int last_status;       /* of the last reaped hook: exit code, 128 + signal if killed */
};

/*
 * Copies the global script (run for events without their own entry) and the per-event
 * scripts (NULL = none). 0 or -ENOMEM (*out = NULL).
 */
int hooks_new(const char *global, char *const per_event[CONFIG_HOOK_COUNT], struct hooks **out) WUR;
/* Frees the table; hooks still running are left alone (they are not killed). NULL is fine. */
void hooks_free(struct hooks *h);

/* The script that runs for ev, or NULL. */
const char *hooks_script(const struct hooks *h, enum config_hook_event ev);

/*
 * Fires ev: does nothing without a script, otherwise starts it now or queues it. Never
 * waits for a process. Returns 0 (started, queued or no script), -ENOSPC (queue full,
 * dropped and logged), -ENOMEM, or the spawn error (logged).
 */
int hooks_fire(struct hooks *h, enum config_hook_event ev, const struct hooks_vars *v);

/*
 * Reaps the hooks that have exited (waitpid on each, WNOHANG: call it after SIGCHLD; other
 * children are left to whoever started them), logs their status (non-zero as a warning),
 * then starts queued hooks in the freed slots. Returns the number of hooks reaped.
 */
int hooks_reap(struct hooks *h);

/*
 * At shutdown: starts what is queued and waits up to timeout_ms for all hooks to end.
 * Returns how many are still running then (they keep running on their own).
 */
int hooks_drain(struct hooks *h, int timeout_ms);

unsigned hooks_running(const struct hooks *h);
unsigned hooks_queued(const struct hooks *h);
const struct hooks_stats *hooks_stats(const struct hooks *h);

/*
 * The "NAME=value" strings of ev's environment variables (CONFIG.md 8.1) into out[]
 * (each malloc'd; free with hooks_vars_free). Returns the count (<= HOOKS_NVARS) or -ENOMEM.
 */
int hooks_vars_build(enum config_hook_event ev, const struct hooks_vars *v,
		     char *out[HOOKS_NVARS]) WUR;
void hooks_vars_free(char *vars[], int n);

/*
 * Formats: PEER "a.b.c.d:port" / "[v6]:port" (mapped: IPv4 as "[::ffff:a.b.c.d]:port"),
 * CLAIMS "addr/prefix" separated by single spaces (malloc'd, NULL on ENOMEM), NODE_ID 32
 * lower-case hex digits.
 */
const char *hooks_format_peer(const struct addr *a, bool mapped, char buf[ADDR_STRLEN]);
char *hooks_format_claims(const struct range *claims, size_t n);
const char *hooks_format_node_id(const uint8_t id[HOOKS_NODE_ID_LEN],
				 char buf[2 * HOOKS_NODE_ID_LEN + 1]);

/*
 * A child environment: the process environment without the variables named in add and
 * without PASSWORD and PRIVATE_KEY (secrets stay in the node), then add[0..n) ("NAME=value",
 * borrowed). Returns a NULL-terminated array to free() (the strings are not copied), or
 * NULL on ENOMEM.
 */
char **hooks_env_new(char *const add[], size_t n);

/*
 * Starts `/bin/sh -c cmd` with envp, stdio inherited, an empty signal mask and default
 * dispositions (loop.c blocks the signals it reads from its signalfd). Does not wait.
 * 0 (*pid set) or -errno.
 */
int hooks_spawn(const char *cmd, char *const envp[], pid_t *pid) WUR;
/* hooks_spawn() with the child's stdin, stdout, stderr on stdio[0..2] (-1: inherited). */
int hooks_spawn_io(const char *cmd, char *const envp[], const int stdio[3], pid_t *pid) WUR;

/* A wait status as one number: the exit code, or 128 + the signal number when killed. */
int hooks_status_code(int wstatus);

#endif

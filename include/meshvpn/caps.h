/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * caps.h - giving up Linux capabilities after set-up: the bounding set, then the permitted,
 * effective, inheritable and ambient sets, reduced to what later work needs, and
 * no_new_privs. Raw capget/capset/prctl (no libcap: a handful of system calls).
 */
#ifndef MESHVPN_CAPS_H
#define MESHVPN_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* One bit per capability number (CAP_NET_ADMIN = 12: 1 << 12), as in /proc/PID/status. */
#define CAPS_BIT(cap)  ((uint64_t)1 << (cap))
#define CAPS_NET_ADMIN CAPS_BIT(12) /* CAP_NET_ADMIN (checked in caps.c) */
#define CAPS_SETGID    CAPS_BIT(6)
#define CAPS_SETUID    CAPS_BIT(7)

struct caps_state {
	uint64_t effective, permitted, inheritable;
};

/* The calling thread's sets. 0 or -errno. */
int caps_get(struct caps_state *st) WUR;

/*
 * Drops every capability not in keep from the bounding set, so that no program run later
 * (hooks, ifdown) can gain it back through execve. Needs CAP_SETPCAP: call it before a uid
 * change. Returns 0, or -EPERM when CAP_SETPCAP is missing (nothing dropped from it then).
 */
int caps_limit_bounding(uint64_t keep) WUR;

/*
 * Sets permitted and effective to keep & permitted (a capability already gone cannot come
 * back), inheritable to the same and clears the ambient set; with no_new_privs also sets
 * PR_SET_NO_NEW_PRIVS. What is left is stored in *after (may be NULL). 0 or -errno.
 */
int caps_drop(uint64_t keep, bool no_new_privs, struct caps_state *after) WUR;

/*
 * Best effort, for worker threads (capabilities are per thread): the calling thread gives up
 * every capability but those of caps_set_thread_keep(), its bounding set included, without
 * no_new_privs.
 */
void caps_drop_thread(void);
/*
 * What caps_drop_thread() keeps; set before any worker starts. glibc makes every thread
 * repeat a setuid()/setgid()/setgroups() (POSIX: the ids are the process's) and aborts the
 * process when one of them fails: workers started before a --user/--group change must keep
 * CAPS_SETUID/CAPS_SETGID until it (the change to a non-root uid then clears them).
 */
void caps_set_thread_keep(uint64_t keep);

/* "none" or the names of the set bits ("cap_net_admin,cap_sys_admin", else "cap_N"). */
const char *caps_format(uint64_t mask, char *buf, size_t len);

#endif

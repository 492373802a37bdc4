// SPDX-License-Identifier: GPL-3.0-or-later
/* caps.c - capabilities given up after set-up (bounding, permitted, effective, ambient). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "meshvpn/caps.h"

_Static_assert(CAPS_NET_ADMIN == CAPS_BIT(CAP_NET_ADMIN), "CAP_NET_ADMIN's number");
_Static_assert(CAPS_SETUID == CAPS_BIT(CAP_SETUID) && CAPS_SETGID == CAPS_BIT(CAP_SETGID),
	       "CAP_SETUID's and CAP_SETGID's numbers");

static uint64_t thread_keep; /* written before the first worker starts, then only read */

#define CAPS_MAX 64 /* capability numbers the 64-bit masks (version 3: two words) cover */

static int cap_rw(bool set, struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};

	if (syscall(set ? SYS_capset : SYS_capget, &h, d) < 0)
		return -errno;
	return 0;
}

static uint64_t join(uint32_t lo, uint32_t hi)
{
	return (uint64_t)hi << 32 | lo;
}

int caps_get(struct caps_state *st)
{
	struct __user_cap_data_struct d[2];
	int r;

	memset(d, 0, sizeof(d));
	r = cap_rw(false, d);
	if (r < 0)
		return r;
	st->effective = join(d[0].effective, d[1].effective);
	st->permitted = join(d[0].permitted, d[1].permitted);
	st->inheritable = join(d[0].inheritable, d[1].inheritable);
	return 0;
}

int caps_limit_bounding(uint64_t keep)
{
	for (int cap = 0; cap < CAPS_MAX; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0)
			break; /* EINVAL: beyond the kernel's last capability */
		if (!in || (keep & CAPS_BIT(cap)))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

int caps_drop(uint64_t keep, bool no_new_privs, struct caps_state *after)
{
	struct __user_cap_data_struct d[2];
	struct caps_state st;
	int r = caps_get(&st);
	uint64_t left;

	if (r < 0)
		return r;
	left = keep & st.permitted;
	memset(d, 0, sizeof(d));
	for (int w = 0; w < 2; w++) {
		uint32_t v = (uint32_t)(left >> (32 * w));
		d[w].effective = d[w].permitted = d[w].inheritable = v;
	}
	/* the ambient set would hand capabilities to programs run later: nothing there */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	r = cap_rw(true, d);
	if (r < 0)
		return r;
	if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return after ? caps_get(after) : 0;
}

void caps_drop_thread(void)
{
	/* each independently: without CAP_SETPCAP the bounding set stays, the rest goes */
	int r = caps_limit_bounding(0);

	r |= caps_drop(thread_keep, false, NULL);
	(void)r; /* nothing better to do about a failure than what has been done */
}

void caps_set_thread_keep(uint64_t keep)
{
	thread_keep = keep;
}

static const char *const cap_names[] = {
    [CAP_CHOWN] = "cap_chown",
    [CAP_DAC_OVERRIDE] = "cap_dac_override",
    [CAP_DAC_READ_SEARCH] = "cap_dac_read_search",
    [CAP_FOWNER] = "cap_fowner",
    [CAP_KILL] = "cap_kill",
    [CAP_SETGID] = "cap_setgid",
    [CAP_SETUID] = "cap_setuid",
    [CAP_SETPCAP] = "cap_setpcap",
    [CAP_NET_BIND_SERVICE] = "cap_net_bind_service",
    [CAP_NET_ADMIN] = "cap_net_admin",
    [CAP_NET_RAW] = "cap_net_raw",
    [CAP_IPC_LOCK] = "cap_ipc_lock",
    [CAP_SYS_ADMIN] = "cap_sys_admin",
    [CAP_SYS_RESOURCE] = "cap_sys_resource",
};

const char *caps_format(uint64_t mask, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (!mask) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (int cap = 0; cap < CAPS_MAX && o < len; cap++) {
		const char *name = (size_t)cap < ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
		int n;

		if (!(mask & CAPS_BIT(cap)))
			continue;
		n = name ? snprintf(buf + o, len - o, "%s%s", o ? "," : "", name)
			 : snprintf(buf + o, len - o, "%scap_%d", o ? "," : "", cap);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	return buf;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* util.h - small shared macros: attributes, array size, container_of, min/max. */
#ifndef MESHVPN_UTIL_H
#define MESHVPN_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define WUR __attribute__((warn_unused_result))
#define NORETURN __attribute__((noreturn))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define UNUSED __attribute__((unused))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define MESHVPN_VERSION "0.1.0"

#endif

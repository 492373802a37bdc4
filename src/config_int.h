/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config_int.h - helpers shared by the configuration modules (config_parse.c, config.c,
 * config_load.c, options.c): messages, owned strings and the growable lists of struct
 * config, the enums' names. Nothing else includes it.
 */
#ifndef MESHVPN_CONFIG_INT_H
#define MESHVPN_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "meshvpn/config.h"

#define CONFIG_SHOW_LEN 64

/* Formats a message into err (if not NULL) and returns code. */
int PRINTF(3, 4) config_fail(struct config_error *err, int code, const char *fmt, ...);
/* A user value fit for a message: printable ASCII, at most 60 characters; returns buf. */
const char *config_show(char buf[static CONFIG_SHOW_LEN], const char *s);

/* " (did you mean 'x'?)" for the candidate closest to key ('_' = '-'), or "". */
void config_suggest(char *buf, size_t len, const char *key, const char *const *cands, size_t n);

/* Wipes (if secret) and frees *p, then sets it to NULL. */
void config_free_str(char **p, bool secret);
/* Replaces *dst by a copy of src when src is not NULL; 0 or -ENOMEM (then *dst is kept). */
int config_copy_str(char **dst, const char *src, bool secret) WUR;
/* Room for add more elements of size sz in *arr holding n; -E2BIG past CONFIG_LIST_MAX. */
int config_grow(void **arr, size_t n, size_t add, size_t sz) WUR;
/* Appends a copy of s; 0, -E2BIG or -ENOMEM. */
int config_strlist_push(struct config_strlist *l, const char *s) WUR;
/* Message for a failed list append r: "too many <what> (at most N)" or "out of memory". */
int config_list_error(struct config_error *err, int r, const char *what);

/* Names of the enum values, as in the file and on the command line. */
extern const char *const config_mode_names[CONFIG_MODE_COUNT];
extern const char *const config_hook_names[CONFIG_HOOK_COUNT];
extern const char *const config_device_type_names[CONFIG_DEVICE_TYPE_COUNT];

#endif

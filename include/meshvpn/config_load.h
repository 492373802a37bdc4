/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config_load.h - the VpnCloud 2.x YAML configuration file (CONFIG.md 2): every key of the
 * options table, with errors that name file:line and key.
 */
#ifndef MESHVPN_CONFIG_LOAD_H
#define MESHVPN_CONFIG_LOAD_H

#include <stddef.h>

#include "config.h"
#include "util.h"

#define CONFIG_FILE_MAX (1024 * 1024)

/*
 * Reads a VpnCloud 2.x YAML file and merges it into cfg (config_merge rules). Errors name
 * the file, the 1-based line and the key. Returns 0, -EINVAL (syntax or bad value),
 * -ENOENT/-EACCES/... (cannot read), -EFBIG (> CONFIG_FILE_MAX), -E2BIG or -ENOMEM. On
 * error cfg is still valid (may be partly merged) and must be freed by the caller.
 */
int config_load_file(struct config *cfg, const char *path, struct config_error *err) WUR;
/*
 * config_load_file() also notes in cfg->exposed_* when the file holds a secret (private
 * key, password, beacon password) and its group or others may read it. This says what
 * to do about that once the settings are complete: 0 (nothing noted), 1 (err->msg is the
 * warning naming the file, its mode and the secret) or -EACCES (cfg->strict_perms: the
 * same as an error).
 */
int config_check_perms(const struct config *cfg, struct config_error *err) WUR;

/* Same for YAML text in memory; name is used in messages. */
int config_load_buffer(struct config *cfg, const void *data, size_t len, const char *name,
		       struct config_error *err) WUR;

#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ctl_print.h - the human-readable output of `meshvpn ctl` / `meshvpn hub`: the results of
 * HUB.md's commands as `wg show`-like peer blocks, aligned tables (list, connections) and
 * "label: value" lines, and events as one line each. Pure: borrows the JSON, writes only
 * to the given streams. Control characters from the node's strings are printed as '?'.
 */
#ifndef MESHVPN_CTL_PRINT_H
#define MESHVPN_CTL_PRINT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/*
 * Prints the result of cmd (a command name of HUB.md) to out; create and rotate-key put
 * the bundle on out and the note on handling its secret on err. Unknown commands are
 * printed as indented JSON. Returns 0, or CTL_EXIT_API (message on err) when the result
 * lacks what cmd needs (e.g. a bundle).
 */
int ctl_print_result(FILE *out, FILE *err, const char *cmd, const json_t *result);

/* One event as "TIME EVENT key=value ..." (values with blanks or quotes in quotes). */
void ctl_print_event(FILE *out, const json_t *event);

/* "512 B", "1.21 MiB", ... */
const char *ctl_fmt_bytes(uint64_t n, char buf[32]);
/* "45 s", "3 min 4 s", "2 h 5 min", "3 d 4 h" */
const char *ctl_fmt_duration(uint64_t secs, char buf[32]);

#endif

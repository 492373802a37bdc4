/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * beacon_cmd.h - the `meshvpn beacon encode|decode|markers` subcommand: beacons by hand and
 * for scripts (beacon/ has store and load scripts that use it for testing).
 */
#ifndef MESHVPN_BEACON_CMD_H
#define MESHVPN_BEACON_CMD_H

#include <stdio.h>

/* Exit statuses: 0 ok, 1 nothing valid found or an I/O error, 2 bad usage. */
#define BEACON_CMD_USAGE 2

/*
 * Runs the subcommand; argv[0] is "beacon", argv[1] the action. Reads text from the named
 * file or from in, writes results to out and messages to err. Returns the exit status.
 * Encoding without --hour reads CLOCK_MONOTONIC_COARSE as VpnCloud does.
 */
int beacon_cmd(int argc, char **argv, FILE *in, FILE *out, FILE *err);
/* beacon_cmd() on stdin, stdout and stderr. */
int beacon_cmd_main(int argc, char **argv);

#endif

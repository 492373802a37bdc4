/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli.h - the VpnCloud 2.3 compatible command line: options, environment (PASSWORD,
 * PRIVATE_KEY), subcommands, --help/--version, and building the final configuration
 * (defaults < --config file < command line).
 */
#ifndef MESHVPN_CLI_H
#define MESHVPN_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "util.h"

enum cli_command {
	CLI_RUN = 0,	    /* no subcommand: run the node */
	CLI_GENKEY,	    /* genkey, gen-key */
	CLI_WS_PROXY,	    /* ws-proxy, wsproxy (reserved: parsed by main) */
	CLI_MIGRATE_CONFIG, /* migrate-config, migrate (reserved) */
	CLI_COMPLETION,	    /* completion (reserved) */
	CLI_CONFIG,	    /* config (reserved) */
	CLI_CTL,	    /* ctl: the management client (parsed by ctl) */
	CLI_BEACON,	    /* beacon encode|decode|markers (parsed by beacon_cmd) */
	CLI_HUB,	    /* hub: the management client's hub commands (parsed by ctl) */
};

#define CLI_SECRET_ARGS 8 /* secret option values remembered for cli_scrub() */

struct cli {
	enum cli_command command;
	bool help;	       /* -h, --help or "help": print cli_print_help(), exit 0 */
	bool version;	       /* --version: print cli_print_version(), exit 0 */
	bool dump_options;     /* --dump-options (hidden): print cli_print_options(), exit 0 */
	char *config_path;     /* --config FILE, or NULL */
	struct config layer;   /* the node options given (and PASSWORD/PRIVATE_KEY), a layer */
	char *genkey_password; /* genkey -p/--password or env PASSWORD; secret */
	/* reserved subcommands: argv from the subcommand name on (borrowed from argv) */
	int sub_argc;
	char **sub_argv;
	/* argv elements holding a secret's value (borrowed), for cli_scrub() */
	char *secret_args[CLI_SECRET_ARGS];
	size_t n_secret_args;
};

/*
 * Parses argv (options first, then an optional subcommand with its own arguments) into
 * cli, which the caller frees with cli_free() in every case. Returns 0 or -EINVAL with the
 * option named in err. Stops early (returning 0) at --help or --version.
 */
int config_parse_cli(int argc, char **argv, struct cli *cli, struct config_error *err) WUR;
/*
 * Once the values are copied: overwrites the secret option values in argv (what ps(1) and
 * /proc/PID/cmdline show) and the values of the environment variables PASSWORD and
 * PRIVATE_KEY in place, and removes those from the environment.
 */
void cli_scrub(struct cli *cli);
/* Frees and wipes everything cli owns; accepts NULL. */
void cli_free(struct cli *cli);

/*
 * The final node configuration: defaults, then the --config file (if any), then the
 * command-line layer, then config_validate(). On error out is left empty (still safe to
 * config_free) and err names the file:line:key or the option.
 */
int config_build(struct config *out, const struct cli *cli, struct config_error *err) WUR;

/* The usage lines and every option of the table, by section. */
void cli_print_help(FILE *out);
/*
 * One line per name, for tools and the man-page check (tests/integration/manpages.sh):
 * "long NAME", "short C", "key PATH" (file keys), "event NAME" (hooks), "command NAME".
 */
void cli_print_options(FILE *out);
/* "meshvpn X.Y.Z" */
void cli_print_version(FILE *out);
/* "genkey", "ws-proxy", ... ("" for CLI_RUN) */
const char *cli_command_name(enum cli_command c);

#endif

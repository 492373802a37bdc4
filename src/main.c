// SPDX-License-Identifier: GPL-3.0-or-later
/* main.c - command-line entry: subcommand dispatch, configuration, running the node. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshvpn/beacon_cmd.h"
#include "meshvpn/caps.h"
#include "meshvpn/cli.h"
#include "meshvpn/config.h"
#include "meshvpn/config_load.h"
#include "meshvpn/ctl.h"
#include "meshvpn/daemon.h"
#include "meshvpn/keys.h"
#include "meshvpn/log.h"
#include "meshvpn/node.h"
#include "wsproxy.h"

#define EXIT_USAGE 2

static int cmd_genkey(const struct cli *cli)
{
	if (keys_genkey_print(stdout, cli->genkey_password) < 0) {
		fprintf(stderr, "meshvpn: genkey failed\n");
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/* Hooks and ifdown run after set-up and may call ip(8): they need CAP_NET_ADMIN then. */
static bool needs_net_admin_later(const struct config *cfg)
{
	if (cfg->hook || cfg->ifdown)
		return true;
	for (int ev = 0; ev < CONFIG_HOOK_COUNT; ev++)
		if (cfg->hooks[ev])
			return true;
	return false;
}

/* Any program run after set-up: no_new_privs would break a set-uid one (sudo) in it. */
static bool runs_programs_later(const struct config *cfg)
{
	return needs_net_admin_later(cfg) || (cfg->beacon_store && cfg->beacon_store[0] == '|') ||
	       (cfg->beacon_load && cfg->beacon_load[0] == '|');
}

/*
 * After set-up (device, socket, addresses, and the uid change of daemon_ready): nothing the
 * loop does needs a capability (the sockets and files are open, a WebSocket reconnect is an
 * outgoing connection), so only what the configured programs need is kept.
 */
static void drop_capabilities(const struct config *cfg, uint64_t keep)
{
	bool nnp = !runs_programs_later(cfg);
	struct caps_state st;
	char names[256];
	int r = caps_drop(keep, nnp, &st);

	if (r < 0) {
		log_warn("cannot drop capabilities: %s", strerror(-r));
		return;
	}
	log_info("Capabilities after set-up: %s kept%s%s",
		 caps_format(st.effective, names, sizeof(names)),
		 st.effective ? " (for hooks and ifdown)" : "", nnp ? ", no_new_privs set" : "");
}

static int cmd_run(const struct cli *cli)
{
	struct config cfg;
	struct config_error err;
	struct node *node = NULL;
	struct daemon d;
	int r, status = EXIT_FAILURE;

	r = config_build(&cfg, cli, &err);
	if (r < 0) {
		fprintf(stderr, "meshvpn: %s\n", err.msg);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	log_set_level(cfg.log_level);
	/*
	 * --daemon forks here, before the set-up: the node's worker thread would not survive a
	 * later fork. The original process still exits only after daemon_ready(), so the
	 * device is up and the order of CONFIG.md 11.1 holds as seen from outside. The pid file
	 * is locked before anything else, so a second instance leaves the log file alone.
	 */
	if (daemon_start(&d, cfg.pid_file, cfg.user, cfg.group, cfg.daemon) < 0) {
		config_free(&cfg);
		return EXIT_FAILURE;
	}
	r = cfg.log_file ? log_open_file(cfg.log_file) : 0;
	if (r < 0) {
		log_err("cannot open the log file %s: %s", cfg.log_file, strerror(-r));
		goto out;
	}
	log_info("meshvpn %s starting", MESHVPN_VERSION);
	/* workers started during set-up must still follow the --user/--group change */
	caps_set_thread_keep(cfg.user || cfg.group ? CAPS_SETUID | CAPS_SETGID : 0);
	if (config_check_perms(&cfg, &err) == 1)
		log_warn("%s", err.msg);
	if (node_new(&cfg, &node) == 0) {
		uint64_t keep = needs_net_admin_later(&cfg) ? CAPS_NET_ADMIN : 0;

		/* the bounding set needs CAP_SETPCAP, which a change to --user takes away */
		r = caps_limit_bounding(keep);
		if (r < 0)
			log_debug("bounding set kept: %s", strerror(-r));
		if (daemon_ready(&d) == 0) {
			drop_capabilities(&cfg, keep);
			if (node_run(node) == 0)
				status = EXIT_SUCCESS;
		}
		node_free(node);
	}
	log_info("meshvpn stopped");
out:
	daemon_end(&d);
	log_close_file();
	config_free(&cfg);
	return status;
}

int main(int argc, char **argv)
{
	struct cli cli;
	struct config_error err;
	int status;

	/* a closed stderr pipe (or any socket) must never kill the node; children get it back */
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "meshvpn: libsodium failed to initialise\n");
		return EXIT_FAILURE;
	}
	if (config_parse_cli(argc, argv, &cli, &err) < 0) {
		fprintf(stderr, "meshvpn: %s\nTry 'meshvpn --help' for more information.\n",
			err.msg);
		cli_free(&cli);
		return EXIT_USAGE;
	}
	cli_scrub(&cli);
	if (cli.help) {
		cli_print_help(stdout);
		status = EXIT_SUCCESS;
	} else if (cli.version) {
		cli_print_version(stdout);
		status = EXIT_SUCCESS;
	} else if (cli.dump_options) {
		cli_print_options(stdout);
		status = EXIT_SUCCESS;
	} else {
		switch (cli.command) {
		case CLI_RUN:
			status = cmd_run(&cli);
			break;
		case CLI_GENKEY:
			status = cmd_genkey(&cli);
			break;
		case CLI_BEACON:
			status = beacon_cmd_main(cli.sub_argc, cli.sub_argv);
			break;
		case CLI_WS_PROXY:
			status = wsproxy_main(cli.sub_argc, cli.sub_argv);
			break;
		case CLI_CTL:
		case CLI_HUB:
			status = ctl_main(cli.sub_argc, cli.sub_argv);
			break;
		case CLI_MIGRATE_CONFIG:
			/* VpnCloud's name, refused on purpose rather than run as a node */
			fprintf(stderr, "meshvpn: '%s': meshvpn does not convert VpnCloud 1.x files; "
					"'vpncloud migrate-config --config-file FILE' does, and "
					"meshvpn reads the result\n",
				cli_command_name(cli.command));
			status = EXIT_USAGE;
			break;
		default:
			fprintf(stderr, "meshvpn: '%s': meshvpn provides no such command (VpnCloud "
					"has it)\n",
				cli_command_name(cli.command));
			status = EXIT_USAGE;
		}
	}
	cli_free(&cli);
	return status;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wsproxy.h - the WebSocket <-> UDP proxy server (VpnCloud's "ws-proxy", PROTOCOL.md 8). */
#ifndef MESHVPN_WSPROXY_H
#define MESHVPN_WSPROXY_H

/*
 * Runs the proxy with the subcommand's arguments (argv[0] is the program or subcommand
 * name). Returns the exit status: 0 after SIGTERM/SIGINT, 2 for a usage error or a TLS
 * certificate or key that cannot be used, 1 when it cannot start otherwise.
 */
int wsproxy_main(int argc, char **argv);

#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * node.h - the VPN node: sets up the device, the socket and the crypto identity from a
 * configuration, runs the event loop (forwarding, handshakes, peer exchange, housekeeping)
 * until SIGINT/SIGTERM/SIGQUIT, then closes every session and tears down.
 */
#ifndef MESHVPN_NODE_H
#define MESHVPN_NODE_H

#include "config.h"
#include "util.h"

struct node;

/*
 * Test-only environment variable: key rotation cycle in ticks (seconds) instead of 120, so
 * integration tests can watch several rotations. Not for production use.
 */
#define NODE_ENV_TEST_ROTATE "MESHVPN_TEST_ROTATE_SECS"
/* Test-only: stats file / statsd interval in seconds instead of 60. */
#define NODE_ENV_TEST_STATS "MESHVPN_TEST_STATS_SECS"
/* Test-only: UPnP lease renewal interval in seconds (lease twice that) instead of 900. */
#define NODE_ENV_TEST_UPNP "MESHVPN_TEST_UPNP_REFRESH_SECS"

/*
 * Everything up to the main loop, in VpnCloud's order (PROTOCOL.md 5.1): socket, device
 * (MTU, --ip, ifup), identity, cipher benchmark, initial connections. cfg is borrowed for
 * the node's lifetime. Errors are logged; returns 0 or -errno (*out = NULL).
 */
int node_new(const struct config *cfg, struct node **out) WUR;
/* Runs the loop until a shutdown signal; then sends CLOSE and runs ifdown. 0 or -errno. */
int node_run(struct node *n) WUR;
/* Frees the node (the device disappears with its fd). Accepts NULL. */
void node_free(struct node *n);

#endif

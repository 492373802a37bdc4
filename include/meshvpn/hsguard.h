/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * hsguard.h - cheap filters for handshake messages from the network, run before any state
 * is made or any signature checked: a per-source budget and a memory of recent salts.
 *
 * The budget is per IP address, not per port: one host cannot take more by opening sockets;
 * 64 a tick leaves room for many peers behind one NAT address (a handshake takes two
 * messages) and keeps one sender to 64 of the node's NODE_INIT_CHECKS_PER_TICK.
 *
 * Both tables are fixed arrays indexed by a keyed hash (SipHash, key random per process),
 * so a sender cannot aim at a slot, and an overwritten slot only ever forgets (lets a
 * message through to the next filter), never blocks somebody else.
 */
#ifndef MESHVPN_HSGUARD_H
#define MESHVPN_HSGUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "meshvpn/addr.h"

#define HSGUARD_SOURCES 512    /* per-source budget slots */
#define HSGUARD_PER_SOURCE 64  /* init messages examined per source address per tick */
#define HSGUARD_FLOOD 1024     /* init messages of any kind from one address in a tick: a flood */
#define HSGUARD_COPY_FLOOD 256 /* copies of one message from other addresses in a tick */
#define HSGUARD_SALTS 2048     /* recent (salt, key hash) pairs remembered */
#define HSGUARD_SALT_TICKS 300 /* how long a salt stays tied to its first sender */
#define HSGUARD_SALT_LEN 8     /* salt and key hash of an init message (PROTOCOL.md 2.2) */

struct hsguard_source {
	uint64_t tag; /* keyed hash of the IP address (not the port) */
	int64_t tick;
	uint32_t count; /* examined (hsguard_source_ok) */
	uint32_t seen;	/* of any kind (hsguard_source_seen) */
};

struct hsguard_salt {
	uint64_t tag; /* keyed hash of the salt and key hash */
	uint64_t from; /* the source's tag */
	int64_t tick;
	bool used;     /* a responder state was made from it */
	int64_t copy_tick;
	uint32_t copies; /* copies from other addresses in copy_tick */
};

struct hsguard {
	uint8_t key[16];
	struct hsguard_source src[HSGUARD_SOURCES];
	struct hsguard_salt salt[HSGUARD_SALTS];
};

/* A fresh random key, tables empty. */
void hsguard_init(struct hsguard *g);

/*
 * Counts one init message from a, whatever becomes of it (untrusted, a copy, over budget);
 * returns how many it sent this tick. HSGUARD_FLOOD is far more than any peer sends (a
 * handshake takes two messages), so reaching it marks a flood.
 */
uint32_t hsguard_source_seen(struct hsguard *g, const struct addr *a, int64_t tick);

/* Counts one init message from a; false when a used up this tick's budget. */
bool hsguard_source_ok(struct hsguard *g, const struct addr *a, int64_t tick);

/*
 * msg is an init message of at least 1 + HSGUARD_SALT_LEN bytes whose key hash matched.
 * A legitimate sender never reuses a salt (every message built gets a fresh one), and its
 * resends come from the same address; so false means a copy sent from another address:
 * a replayed or forged message. Otherwise the pair is remembered as a's.
 */
bool hsguard_salt_ok(struct hsguard *g, const uint8_t *msg, const struct addr *a, int64_t tick);
/*
 * How many copies of msg's salt and key hash hsguard_salt_ok() refused in tick. Reaching
 * HSGUARD_COPY_FLOOD marks a replay flood (a sender resends from its own address).
 */
uint32_t hsguard_salt_copies(const struct hsguard *g, const uint8_t *msg, int64_t tick);

/*
 * A responder state was made from msg (its first 1 + HSGUARD_SALT_LEN bytes): the same
 * message again, with no state to take it, is a replay (the initiator sends its PING anew
 * only while its state waits for our PONG, and that state then takes it).
 */
void hsguard_salt_use(struct hsguard *g, const uint8_t *msg, int64_t tick);
/* True when hsguard_salt_use() saw msg's salt and key hash within HSGUARD_SALT_TICKS. */
bool hsguard_salt_used(const struct hsguard *g, const uint8_t *msg, int64_t tick);

#endif

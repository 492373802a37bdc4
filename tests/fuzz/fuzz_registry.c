// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_registry.c - libFuzzer target for registry_load_buffer(): whatever loads is written
 * again, loaded again and written again (the same bytes twice), every entry is found by id
 * and key, and its bundle (without a private key) loads with the node's config loader.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/config_load.h"
#include "meshvpn/registry.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static const uint8_t hub_ip[4] = {10, 0, 0, 1};
static const struct registry_params params = {"10.0.0.0/16", hub_ip, NULL};

static void check_bundle(const struct registry_entry *e)
{
	struct registry_hub hub = {"fuzz", "hub.example.com:3210", {0}, 16};
	struct config_error err;
	struct config cfg;
	char *text;

	memcpy(hub.public_key, e->public_key, KEYS_PUB_LEN);
	CHECK(registry_bundle(e, &hub, NULL, e->created, &text, &err) == 0);
	config_init(&cfg);
	CHECK(config_load_buffer(&cfg, text, strlen(text), "bundle", &err) == 0);
	CHECK(cfg.n_claims == 1 && cfg.peers.n == 1 && cfg.n_trusted_keys == 1);
	config_free(&cfg);
	registry_bundle_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry *reg, *again;
	struct config_error err;
	char *text, *text2;
	size_t len, len2;
	int r;

	if (size > 64 * 1024)
		return 0;
	err.msg[0] = '\0';
	r = registry_load_buffer(&reg, &params, data, size, "fuzz", &err);
	if (r < 0) {
		/* every failure explains itself and leaves nothing behind */
		CHECK(err.msg[0] != '\0' && reg == NULL);
		CHECK(r == -EINVAL || r == -ENOMEM);
		return 0;
	}
	CHECK(registry_format(reg, &text, &len) == 0);
	CHECK(registry_load_buffer(&again, &params, text, len, "again", &err) == 0);
	CHECK(registry_count(again) == registry_count(reg));
	CHECK(registry_format(again, &text2, &len2) == 0);
	CHECK(len == len2 && memcmp(text, text2, len) == 0);
	for (size_t i = 0; i < registry_count(reg); i++) {
		const struct registry_entry *e = registry_at(reg, i);

		CHECK(registry_get(reg, e->id) == e);
		CHECK(registry_find_key(reg, e->public_key) == e);
		CHECK(ippool_in_use(registry_pool(reg), e->ip));
		if (i < 4)
			check_bundle(e);
	}
	free(text);
	free(text2);
	registry_free(again);
	registry_free(reg);
	return 0;
}

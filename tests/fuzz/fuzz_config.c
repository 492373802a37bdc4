// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_config.c - libFuzzer target: arbitrary bytes into the YAML config parser, and as one
 * line into the listen-address parser (ws://, wss://, addresses).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "meshvpn/config_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_listen(const uint8_t *data, size_t size)
{
	char line[512];
	struct config_listen l;
	struct config_error why;

	if (size >= sizeof(line))
		size = sizeof(line) - 1;
	memcpy(line, data, size);
	line[size] = '\0';
	if (config_parse_listen(line, 3210, &l, &why) == 0) {
		/* a URL has a host, a port and an empty or absolute path inside the input */
		if (l.ws && (!l.host[0] || l.port == 0 || (l.path[0] && l.path[0] != '/')))
			__builtin_trap();
		if (l.ws && l.path[0] && (l.path < line || l.path >= line + size))
			__builtin_trap();
		if (l.tls && !l.ws)
			__builtin_trap();
	} else if (why.msg[0] == '\0') {
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct config_error err;

	if (size > 64 * 1024)
		return 0;
	config_init(&cfg);
	if (config_load_buffer(&cfg, data, size, "fuzz", &err) == 0) {
		/* exercise validation and the derived values of whatever was accepted */
		if (config_validate(&cfg, &err) == 0 && cfg.n_algorithms == 0)
			__builtin_trap();
	} else if (err.msg[0] == '\0') {
		__builtin_trap(); /* every failure must explain itself */
	}
	config_free(&cfg);
	fuzz_listen(data, size);
	return 0;
}

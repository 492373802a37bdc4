// SPDX-License-Identifier: GPL-3.0-or-later
/* fuzz_config.c - libFuzzer target: arbitrary bytes into the YAML config parser. */
#include <stddef.h>
#include <stdint.h>

#include "meshvpn/config_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	return 0;
}

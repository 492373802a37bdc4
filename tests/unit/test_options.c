// SPDX-License-Identifier: GPL-3.0-or-later
/* test_options.c - the options table: consistent entries, generic parsing of each kind. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meshvpn/config_load.h"
#include "meshvpn/options.h"

#define A1_PUB_B62 "PQGYPnaB8PV2qWtxGtN9wibSKzYbSwbQh1s9b5syjch"

static const struct opt *by_name(const char *name)
{
	for (size_t i = 0; i < opt_count; i++)
		for (size_t j = 0; j < OPT_MAX_NAMES && opt_table[i].names[j]; j++)
			if (strcmp(opt_table[i].names[j], name) == 0)
				return &opt_table[i];
	return NULL;
}

/* Every long and short name is unique; names are lower case (VpnCloud spells some with '_'). */
static void test_names_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < opt_count; i++) {
		const struct opt *o = &opt_table[i];

		for (size_t j = 0; j < OPT_MAX_NAMES && o->names[j]; j++) {
			const char *n = o->names[j];

			assert_true(strlen(n) > 1);
			for (const char *p = n; *p; p++)
				assert_true((*p >= 'a' && *p <= 'z') || *p == '-' || *p == '_');
			assert_ptr_equal(by_name(n), o);
			for (size_t k = j + 1; k < OPT_MAX_NAMES && o->names[k]; k++)
				assert_string_not_equal(n, o->names[k]);
		}
		if (o->short_name) {
			assert_non_null(o->names[0]); /* messages name the long option */
			for (size_t k = i + 1; k < opt_count; k++)
				assert_int_not_equal(o->short_name, opt_table[k].short_name);
		}
	}
}

/*
 * Each kind has what it needs. Only switches of one field (-v/-q) share it; a field that
 * owns memory (strings, lists) belongs to one entry, so freeing and merging stay simple.
 */
static void test_entries_complete(void **state)
{
	(void)state;
	for (size_t i = 0; i < opt_count; i++) {
		const struct opt *o = &opt_table[i];
		bool owns = o->kind == OPT_STR || o->kind == OPT_SECRET || opt_is_list(o);

		if (o->kind == OPT_ACTION) {
			assert_int_not_equal(o->action, OPT_ACT_NONE);
			assert_null(o->key);
			continue;
		}
		assert_true(o->names[0] || o->key); /* reachable from somewhere */
		assert_true(o->off + o->size <= sizeof(struct config));
		if (opt_is_list(o))
			assert_non_null(o->what);
		if (o->kind == OPT_VEC || o->kind == OPT_SET) {
			assert_non_null(o->parse);
			assert_true(o->size > 0 && o->size <= 64);
		}
		if (o->kind == OPT_SET)
			assert_true(o->cap > 0);
		if (o->kind == OPT_ENUM && !(o->flags & OPT_SWITCH)) {
			assert_non_null(o->values);
			assert_non_null(o->what);
		}
		if (o->kind == OPT_CUSTOM)
			assert_non_null(o->set);
		if (o->kind == OPT_U32 || o->kind == OPT_BOOL || o->kind == OPT_ENUM ||
		    o->kind == OPT_CUSTOM)
			assert_int_not_equal(o->has, 0);
		if (o->flags & OPT_SWITCH)
			assert_true(o->kind == OPT_BOOL || o->kind == OPT_ENUM);
		for (size_t k = 0; k < opt_count; k++) {
			const struct opt *e = &opt_table[k];

			if (k == i || e->kind == OPT_ACTION || e->off != o->off)
				continue;
			assert_false(owns);
			assert_true((o->flags & OPT_SWITCH) && (e->flags & OPT_SWITCH));
			assert_int_equal(o->has, e->has);
			assert_int_not_equal(o->sw, e->sw);
		}
	}
}

/* Keys are unique, kebab-case, and each one is reachable in a file (null = the default). */
static void test_keys(void **state)
{
	(void)state;
	for (size_t i = 0; i < opt_count; i++) {
		const char *key = opt_table[i].key;
		char yaml[256], *p = yaml;
		size_t depth = 0;
		struct config cfg;
		struct config_error err;

		if (!key)
			continue;
		for (const char *c = key; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
				    *c == '-' || *c == '.');
		for (size_t k = i + 1; k < opt_count; k++)
			if (opt_table[k].key)
				assert_string_not_equal(key, opt_table[k].key);
		/* "beacon.store" -> "beacon:\n  store: ~\n" */
		for (const char *c = key; *c; c++) {
			if (*c == '.') {
				p += sprintf(p, ":\n%*s", (int)(2 * ++depth), "");
				continue;
			}
			*p++ = *c;
		}
		strcpy(p, ": ~\n");
		config_init(&cfg);
		if (config_load_buffer(&cfg, yaml, strlen(yaml), "t", &err) != 0)
			print_error("%s: %s\n", key, err.msg);
		assert_int_equal(config_load_buffer(&cfg, yaml, strlen(yaml), "t", &err), 0);
		config_free(&cfg);
	}
	/* the maps of the file: sections once, in table order, where the first key is */
	struct opt_map m;
	assert_int_equal(opt_map_keys(&m, ""), 0);
	assert_string_equal(m.where, "root");
	assert_string_equal(m.names[0], "device");
	assert_null(m.opt[0]);
	for (size_t i = 1; i < m.n; i++)
		assert_string_not_equal(m.names[i], "device");
	assert_int_equal(opt_map_keys(&m, "beacon."), 0);
	assert_string_equal(m.where, "beacon");
	assert_int_equal(m.n, 4);
	assert_string_equal(m.names[2], "interval");
	assert_ptr_equal(m.opt[2], opt_by_key("beacon.interval"));
	assert_int_equal(opt_map_keys(&m, "nothing."), 0);
	assert_int_equal(m.n, 0);

	/* a key in the wrong section is unknown there */
	struct config cfg;
	struct config_error err;

	config_init(&cfg);
	assert_int_equal(config_load_buffer(&cfg, "device:\n  store: x\n", 19, "t", &err), -EINVAL);
	assert_string_equal(err.msg, "t:2: unknown key 'store' in 'device'");
	config_free(&cfg);
}

/* Each default parses as a value would; config_init applies it without a presence bit. */
static void test_defaults(void **state)
{
	(void)state;
	struct config cfg, l;
	struct config_error why;

	config_init(&cfg);
	assert_int_equal(cfg.flags, 0);
	for (size_t i = 0; i < opt_count; i++) {
		const struct opt *o = &opt_table[i];

		if (!o->def)
			continue;
		assert_false(opt_is_list(o));
		config_layer_init(&l);
		if (opt_set(o, &l, o->def, &why) != 0)
			print_error("default of %s: %s\n", o->key, why.msg);
		assert_int_equal(opt_set(o, &l, o->def, &why), 0);
		/* a default that --help names is the table's */
		const char *d = o->help ? strstr(o->help, "(default ") : NULL;
		if (d) {
			d += strlen("(default ");
			assert_memory_equal(d, o->def, strlen(o->def));
			assert_int_equal(d[strlen(o->def)], ')');
		}
		if (o->kind == OPT_STR)
			assert_string_equal(*(char **)((char *)&cfg + o->off), o->def);
		else
			assert_memory_equal((char *)&cfg + o->off, (char *)&l + o->off, o->size);
		config_free(&l);
	}
	config_free(&cfg);
}

static void test_generic_kinds(void **state)
{
	(void)state;
	struct config l;
	struct config_error why;

	config_layer_init(&l);
	assert_int_equal(opt_set(by_name("mode"), &l, "hub", &why), 0);
	assert_int_equal(l.mode, CONFIG_MODE_FLOOD);
	assert_int_equal(l.flags, CONFIG_HAS_MODE);
	assert_int_equal(opt_set(by_name("type"), &l, "tun,tap", &why), -EINVAL);
	assert_string_equal(why.msg, "invalid device type 'tun,tap' (expected tun or tap)");
	assert_int_equal(opt_set(by_name("peer-timeout"), &l, "17", &why), 0);
	assert_int_equal(l.peer_timeout, 17);
	assert_int_equal(opt_set(by_name("ip"), &l, "10.0.0.1/8", &why), 0);
	assert_int_equal(l.ip_prefix, 8);
	assert_int_equal(opt_set(by_name("password"), &l, "a", &why), 0);
	assert_int_equal(opt_set(by_name("password"), &l, "b", &why), 0);
	assert_string_equal(l.password, "b");
	/* a list is not a single value, and the other way round */
	assert_int_equal(opt_set(by_name("claim"), &l, "10.0.0.0/8", &why), -EINVAL);
	assert_int_equal(opt_add(by_name("user"), &l, "x", false, &why), -EINVAL);

	/* sets keep each element once, in the given order */
	assert_int_equal(opt_add(by_name("algo"), &l, "chacha20", true, &why), 0);
	assert_int_equal(opt_add(by_name("algo"), &l, "CHACHA20", true, &why), 0);
	assert_int_equal(opt_add(by_name("algo"), &l, "aes_128", true, &why), -EINVAL);
	assert_int_equal(opt_add(by_name("algo"), &l, "aes_128", false, &why), 0);
	assert_int_equal(l.n_algorithms, 2);
	assert_int_equal(l.algorithms[1], CONFIG_ALGO_AES128);
	assert_int_equal(opt_add(by_name("trust"), &l, A1_PUB_B62, true, &why), 0);
	assert_int_equal(opt_add(by_name("trust"), &l, A1_PUB_B62, true, &why), 0);
	assert_int_equal(l.n_trusted_keys, 2); /* a plain list keeps duplicates */
	assert_int_equal(opt_add(by_name("peer"), &l, "h h", true, &why), -EINVAL);
	assert_int_equal(l.peers.n, 0);

	opt_set_switch(by_name("no-auto-claim"), &l);
	assert_false(l.auto_claim);
	assert_true(l.flags & CONFIG_HAS_AUTO_CLAIM);
	opt_set_switch(by_name("quiet"), &l);
	assert_int_equal(opt_get_uint(by_name("verbose"), &l), LOG_ERROR);
	config_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_unique),  cmocka_unit_test(test_entries_complete),
	    cmocka_unit_test(test_keys),	  cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_generic_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

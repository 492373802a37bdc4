/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * options.h - the one table of settings. Each entry describes one setting once: its
 * command-line names, its key in the YAML file, how its value is parsed and checked, and
 * where it is stored in struct config. The command line (cli.c), the file loader
 * (config_load.c), merging, freeing, the defaults, --help and the man-page check
 * (--dump-options) are built from it; adding an option is one entry
 * (plus its struct config field and its man page text).
 */
#ifndef MESHVPN_OPTIONS_H
#define MESHVPN_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

#define OPT_MAX_NAMES 3	 /* long names per setting: the canonical one and aliases */
#define OPT_MAP_MAX   32 /* keys in one map of the file */
#define OPT_KEY_LEN   32 /* bytes of one component of a key, with the NUL */

/* How a setting's value is stored in struct config (and so parsed and merged). */
enum opt_kind {
	OPT_ACTION,  /* command line only, handled by cli.c itself (.action) */
	OPT_STR,     /* char *: a copy of the text, checked by .check */
	OPT_SECRET,  /* char *: as OPT_STR, wiped when replaced or freed */
	OPT_U32,     /* uint32_t: decimal, with the presence bit .has */
	OPT_BOOL,    /* bool, with .has */
	OPT_ENUM,    /* an enum: the index of the text in .values, with .has */
	OPT_CUSTOM,  /* parsed by .set, with .has */
	OPT_STRLIST, /* struct config_strlist: texts checked by .check, appended */
	OPT_VEC,     /* T *v at .off, size_t n at .count_off: elements parsed by .parse */
	OPT_SET,     /* T v[.cap] at .off, size_t n at .count_off: distinct elements */
	OPT_HOOKS,   /* char *hooks[CONFIG_HOOK_COUNT]: the file's map of event -> script */
};

enum opt_flag {
	OPT_SWITCH = 1u << 0, /* command line: takes no value and stores .sw */
	OPT_COMMAS = 1u << 1, /* command line: the value is a comma-separated list */
	OPT_HIDDEN = 1u << 2, /* not in --help and --dump-options (for tests and tools) */
};

/* What cli.c does for an OPT_ACTION entry. */
enum opt_action {
	OPT_ACT_NONE = 0,
	OPT_ACT_CONFIG,	 /* --config FILE */
	OPT_ACT_HELP,	 /* -h, --help */
	OPT_ACT_VERSION, /* --version */
	OPT_ACT_DUMP,	 /* --dump-options: every name and key, for the man-page check */
};

/* The sections of --help, in this order. */
enum opt_section {
	OPT_SEC_CONFIG = 0,
	OPT_SEC_DEVICE,
	OPT_SEC_CRYPTO,
	OPT_SEC_NETWORK,
	OPT_SEC_FORWARDING,
	OPT_SEC_BEACONS,
	OPT_SEC_HUB,
	OPT_SEC_PROCESS,
	OPT_SEC_COUNT,
};

/* Checks a text value (OPT_STR, OPT_SECRET, OPT_STRLIST); 0 or -EINVAL with why->msg. */
typedef int (*opt_check_fn)(const char *s, struct config_error *why);
/* Parses one element of an OPT_VEC/OPT_SET list into out; cli: command-line spelling. */
typedef int (*opt_parse_fn)(const char *s, void *out, bool cli, struct config_error *why);
/* Parses s into the layer (OPT_CUSTOM, or an entry's special command-line form). */
typedef int (*opt_set_fn)(struct config *layer, const char *s, struct config_error *why);
/* Copies an OPT_CUSTOM value from src to dst (config_merge, when src has it). */
typedef void (*opt_merge_fn)(struct config *dst, const struct config *src);

struct opt {
	const char *names[OPT_MAX_NAMES]; /* long options, canonical first; none: file only */
	char short_name;		  /* 0 = none */
	const char *key; /* in the file, sections separated by '.': "beacon.store"; NULL = none */
	enum opt_kind kind;
	unsigned flags; /* OPT_SWITCH | OPT_COMMAS */
	enum opt_action action;
	size_t off;		   /* the field in struct config */
	size_t size;		   /* of the field; of one element for OPT_VEC/OPT_SET */
	size_t count_off;	   /* OPT_VEC, OPT_SET: the size_t element count */
	size_t cap;		   /* OPT_SET: capacity */
	uint32_t has;		   /* CONFIG_HAS_* presence bit of a scalar */
	unsigned sw;		   /* OPT_SWITCH: the value stored (bool or enum) */
	const char *const *values; /* OPT_ENUM: the names, indexed by value */
	size_t n_values;
	const char *what;	  /* in messages: "mode", "peers" (lists: plural) */
	const char *def;	  /* the default (config_init), as text; NULL = none */
	opt_check_fn check;	  /* value checker, NULL = any text */
	opt_parse_fn parse;	  /* OPT_VEC, OPT_SET */
	opt_set_fn set;		  /* OPT_CUSTOM */
	opt_merge_fn merge;	  /* OPT_CUSTOM */
	opt_set_fn cli_set;	  /* special command-line form, instead of the generic one */
	enum opt_section section; /* --help: */
	const char *arg;	  /* the value's name ("FILE"); NULL for a switch */
	const char *help;	  /* the description; '\n' starts another line */
};

/* The table, in --help order. */
extern const struct opt opt_table[];
extern const size_t opt_count;

/* "Device" for OPT_SEC_DEVICE */
const char *opt_section_title(enum opt_section s);
/* The setting with that key in the file, or NULL. */
const struct opt *opt_by_key(const char *key);
/*
 * The keys of one map of the file, from the table: the settings whose key is prefix plus
 * one more component, and the sections (maps) below prefix, in table order.
 */
struct opt_map {
	char where[OPT_KEY_LEN]; /* for messages: "root", "device" */
	size_t n;
	char names[OPT_MAP_MAX][OPT_KEY_LEN];
	const char *cands[OPT_MAP_MAX];	    /* = names, for suggestions */
	const struct opt *opt[OPT_MAP_MAX]; /* NULL: a section */
};
/* Fills m for prefix "" (the top level) or "section."; -E2BIG if the table has too many. */
int opt_map_keys(struct opt_map *m, const char *prefix) WUR;

/* True for the list kinds (OPT_STRLIST, OPT_VEC, OPT_SET). */
bool opt_is_list(const struct opt *o);

/*
 * Checks the text value s of the single-valued setting o, stores it in layer and sets the
 * presence bit. 0, -EINVAL or -ENOMEM with why->msg set.
 */
int opt_set(const struct opt *o, struct config *layer, const char *s, struct config_error *why) WUR;
/*
 * Checks s and appends it to the list setting o (cli: s comes from the command line, which
 * spells some values more strictly); 0, -EINVAL, -E2BIG or -ENOMEM with why->msg set.
 */
int opt_add(const struct opt *o, struct config *layer, const char *s, bool cli,
	    struct config_error *why) WUR;
/* Stores the value of the OPT_SWITCH entry o (no text) and sets its presence bit. */
void opt_set_switch(const struct opt *o, struct config *layer);
/* The current value of a bool or enum setting (for switch conflicts). */
unsigned opt_get_uint(const struct opt *o, const struct config *layer);

#endif

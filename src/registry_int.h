/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * registry_int.h - what registry.c (model, operations, bundles) and registry_file.c (the
 * YAML file) share: the registry struct, the value checks and entry helpers.
 */
#ifndef MESHVPN_REGISTRY_INT_H
#define MESHVPN_REGISTRY_INT_H

#include "meshvpn/registry.h"

struct registry {
	struct ippool pool;
	registry_acl_check_fn acl_check;
	struct registry_entry **by_id;	/* n entries sorted by id (strcmp) */
	struct registry_entry **by_key; /* the same entries sorted by public key (memcmp) */
	size_t n, cap;			/* cap: room in both arrays */
};

/* Kinds of string lists: the checks and messages differ. */
enum registry_list_kind {
	REGISTRY_LIST_TAGS, /* ids, no duplicates */
	REGISTRY_LIST_ACL,  /* ACL entries, exactly as given */
};

/*
 * Value checks. Each returns 0 or -EINVAL with a reason in why->msg (without the field
 * name: the caller puts "'field': " in front).
 */
int registry_check_id(const char *id, struct config_error *why) WUR;
int registry_check_description(const char *s, struct config_error *why) WUR;
/* *bad: the index of the entry at fault (l->n when none or the list is too long). */
int registry_check_list(const struct registry *reg, const struct registry_strlist *l,
			enum registry_list_kind kind, size_t *bad, struct config_error *why) WUR;
int registry_check_key(const uint8_t pub[static KEYS_PUB_LEN], struct config_error *why) WUR;
int registry_check_rate(uint64_t rate, uint64_t burst, struct config_error *why) WUR;

/* A new entry with the defaults of registry_create (no id, key or address yet), or NULL. */
struct registry_entry *registry_entry_new(time_t now);
/* Frees the entry and everything it owns; accepts NULL. */
void registry_entry_free(struct registry_entry *e);
/* Appends a copy of s. 0, -E2BIG (REGISTRY_LIST_MAX reached) or -ENOMEM. */
int registry_strlist_push(struct registry_strlist *l, const char *s) WUR;
void registry_strlist_free(struct registry_strlist *l);
/* Room for n entries in both index arrays. 0 or -ENOMEM. */
int registry_reserve(struct registry *reg, size_t n) WUR;

/* qsort/bsearch comparators of entry pointers (struct registry_entry *const *). */
int registry_cmp_id(const void *a, const void *b);
int registry_cmp_key(const void *a, const void *b);

#endif

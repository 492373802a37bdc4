/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * acl.h - address lists and the allow/block decision of the hub role (HUB.md "ACL entries").
 * Entries (exact IP, CIDR, IPv4 wildcard, range) become intervals of one 128-bit address
 * space; a list keeps them sorted and merged and answers lookups in O(log n). Pure: no I/O;
 * memory is allocated only while a list is built, never by the lookups.
 *
 * The address space is addr.h's normalised form: IPv4 a.b.c.d is ::ffff:a.b.c.d. An IPv4
 * entry covers only such mapped addresses, and an IPv6 entry never covers the mapped block
 * ::ffff:0:0/96 (it is cut out: "::/0" is every IPv6 address, not every address), so the two
 * families never match each other by accident. An IPv6 literal inside ::ffff:0:0/96 (such as
 * "::ffff:10.0.0.1" or "::ffff:10.0.0.0/104") is taken as the IPv4 entry it spells, the way
 * addr_parse() normalises it.
 *
 * Entry forms (white space around an entry and around a range's '-' is ignored):
 *   10.0.0.1  2001:db8::1            one address
 *   10.0.0.0/8  2001:db8::/32        CIDR, prefix 0-32 / 0-128; host bits set is an error
 *   192.168.1.*  10.*.*.*  *.*.*.*   IPv4 wildcard: four parts, '*' only in trailing parts
 *   10.0.0.1-10.0.0.50  a::1-a::ff   inclusive range, both ends one family, start <= end
 *   *                                every address, IPv4 and IPv6
 * Not accepted: host names, scope ids ("fe80::1%eth0"), ports, brackets, IPv6 wildcards,
 * octets with leading zeros ("010.0.0.1" is ambiguous).
 */
#ifndef MESHVPN_ACL_H
#define MESHVPN_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "util.h"

#define ACL_ENTRY_MAX	 128   /* longest entry text accepted, white space included */
#define ACL_ENTRY_STRLEN 96    /* canonical text of one entry, with the NUL */
#define ACL_LIST_MAX	 65536 /* entries in one list */
#define ACL_ERROR_LEN	 256

/* Why an entry or list was refused: "<entry>: <what is wrong>", for the operator. */
struct acl_error {
	char msg[ACL_ERROR_LEN];
};

/* An address of the normalised space as a 128-bit number (host-order halves). */
struct acl_ip {
	uint64_t hi, lo;
};

enum acl_kind {
	ACL_KIND_EXACT,
	ACL_KIND_CIDR,
	ACL_KIND_WILDCARD,
	ACL_KIND_RANGE,
	ACL_KIND_ANY, /* "*" */
};

/* One parsed entry; enough to print it back in canonical form. */
struct acl_entry {
	enum acl_kind kind;
	uint8_t family;		   /* 4 or 6; 0 for ACL_KIND_ANY */
	uint8_t prefix;		   /* CIDR and wildcard: prefix length within the family */
	struct acl_ip first, last; /* inclusive; an IPv6 entry still excludes ::ffff:0:0/96 */
};

struct acl_interval; /* private */

/* A list of entries. Zero-initialised (or acl_list_init) it is empty; fields are private. */
struct acl_list {
	struct acl_entry *entries; /* in the order given, for display and the registry file */
	size_t n_entries;
	struct acl_interval *iv; /* sorted, disjoint, never adjacent */
	size_t n_iv;
};

/* Allow and block lists: block overrides allow; an empty allow list allows everything. */
struct acl_policy {
	struct acl_list allow, block;
};

enum acl_verdict {
	ACL_ALLOWED = 0,
	ACL_BLOCKED,	 /* in the block list (whatever the allow list says) */
	ACL_NOT_ALLOWED, /* the allow list is not empty and does not contain the address */
};

/*
 * Parses one entry. 0, or -EINVAL with why->msg (if why is not NULL) naming the entry and
 * the fault, e.g. "10.0.0.300: not an IPv4 address" or "10.0.0.9-10.0.0.1: range end before
 * start".
 */
int acl_entry_parse(const char *s, struct acl_entry *out, struct acl_error *why) WUR;
/*
 * Canonical text: dotted IPv4, RFC 5952 IPv6 (inet_ntop), CIDR "base/len", wildcard
 * "10.1.*.*", range "first-last", "*". acl_entry_parse() of it gives the same entry.
 */
const char *acl_entry_format(const struct acl_entry *e, char buf[ACL_ENTRY_STRLEN]);
bool acl_entry_equal(const struct acl_entry *a, const struct acl_entry *b);
/* True when the entry covers a's IP (port and scope ignored). */
bool acl_entry_contains(const struct acl_entry *e, const struct addr *a);

void acl_list_init(struct acl_list *l);
/* Frees the list's memory and leaves it empty; NULL is fine. */
void acl_list_free(struct acl_list *l);
/*
 * Appends one entry and rebuilds the intervals. On failure (-EINVAL bad entry, -E2BIG more
 * than ACL_LIST_MAX entries, -ENOMEM) the list is unchanged and why says what is wrong.
 */
int acl_list_add(struct acl_list *l, const char *s, struct acl_error *why) WUR;
/*
 * Replaces l's contents with the n entries of items (borrowed). On failure l is unchanged,
 * why->msg names the first bad entry, and the result is as for acl_list_add().
 */
int acl_list_parse(struct acl_list *l, const char *const *items, size_t n,
		   struct acl_error *why) WUR;
/* Makes dst (overwritten, not freed first) an independent copy of src. 0 or -ENOMEM. */
int acl_list_copy(struct acl_list *dst, const struct acl_list *src) WUR;
static inline bool acl_list_empty(const struct acl_list *l)
{
	return l->n_entries == 0;
}
/*
 * The canonical entries joined by ", " into buf (always NUL-terminated when len > 0).
 * Returns the length the whole text needs, as snprintf does.
 */
size_t acl_list_format(const struct acl_list *l, char *buf, size_t len);
/* O(log n), no allocation (hot path). Port and scope are ignored. */
bool acl_list_contains(const struct acl_list *l, const struct addr *a);
/*
 * The same for a raw IP, such as payload_parse()'s struct vaddr (b, len): len 4 is IPv4,
 * len 16 IPv6 (a mapped ::ffff:a.b.c.d counts as IPv4 a.b.c.d). Any other length (MAC
 * addresses of a TAP device) is in no list, not even one holding "*".
 */
bool acl_list_contains_ip(const struct acl_list *l, const uint8_t *ip, unsigned len);

void acl_policy_init(struct acl_policy *p);
void acl_policy_free(struct acl_policy *p);
/* The decision for a remote address (port and scope ignored). Hot path. */
enum acl_verdict acl_check(const struct acl_policy *p, const struct addr *a);
/* The decision for a raw IP as acl_list_contains_ip() reads it (overlay destinations). */
enum acl_verdict acl_check_ip(const struct acl_policy *p, const uint8_t *ip, unsigned len);
/* "allowed", "blocked", "not-allowed" (log lines, drop reasons). */
const char *acl_verdict_name(enum acl_verdict v);

#endif

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_acl.c - libFuzzer target for acl_entry_parse() and acl_list_parse(). Input: entries,
 * one per line. Accepted entries print back to text that parses to the same entry; errors
 * carry a message; the merged list answers every probe address as scanning the entries does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/acl.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

#define MAX_LINES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The list agrees with a scan of its entries for a, and both lookups agree. */
static void probe(const struct acl_list *l, const struct addr *a)
{
	bool want = false;
	for (size_t k = 0; k < l->n_entries; k++)
		want |= acl_entry_contains(&l->entries[k], a);
	CHECK(acl_list_contains(l, a) == want);
	CHECK(acl_list_contains_ip(l, a->ip, 16) == want);
	if (addr_is_v4(a))
		CHECK(acl_list_contains_ip(l, a->ip + 12, 4) == want);
}

static void probe_ip(const struct acl_list *l, struct acl_ip x)
{
	struct addr a = {.port = 1};
	for (int i = 0; i < 8; i++) {
		a.ip[i] = (uint8_t)(x.hi >> (56 - 8 * i));
		a.ip[8 + i] = (uint8_t)(x.lo >> (56 - 8 * i));
	}
	probe(l, &a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *lines[MAX_LINES];
	size_t n = 0;
	struct acl_list l;
	struct acl_error why;

	CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *p = text, *nl; n < MAX_LINES; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		lines[n++] = p;
		if (!nl)
			break;
	}

	/* each entry on its own; keep the good ones for the list */
	const char *good[MAX_LINES];
	size_t n_good = 0;
	for (size_t i = 0; i < n; i++) {
		struct acl_entry e, e2;
		char t[ACL_ENTRY_STRLEN], t2[ACL_ENTRY_STRLEN];
		memset(why.msg, 0x55, sizeof(why.msg));
		int r = acl_entry_parse(lines[i], &e, &why);
		if (r < 0) {
			CHECK(r == -EINVAL);
			CHECK(memchr(why.msg, '\0', sizeof(why.msg)) && why.msg[0]);
			continue;
		}
		CHECK(e.kind <= ACL_KIND_ANY && (e.family == 4 || e.family == 6 ||
						 e.kind == ACL_KIND_ANY));
		CHECK(e.first.hi < e.last.hi ||
		      (e.first.hi == e.last.hi && e.first.lo <= e.last.lo));
		acl_entry_format(&e, t);
		CHECK(strlen(t) < sizeof(t));
		CHECK(acl_entry_parse(t, &e2, &why) == 0 && acl_entry_equal(&e, &e2));
		CHECK(strcmp(acl_entry_format(&e2, t2), t) == 0);
		good[n_good++] = lines[i];
	}

	acl_list_init(&l);
	int r = acl_list_parse(&l, (const char *const *)lines, n, &why);
	CHECK(r == 0 || r == -EINVAL);
	CHECK((r == 0) == (n_good == n));
	CHECK(acl_list_parse(&l, good, n_good, &why) == 0 && l.n_entries == n_good);
	/* probe every entry's ends and their neighbours, plus addresses from the input bytes */
	for (size_t k = 0; k < l.n_entries; k++) {
		struct acl_ip f = l.entries[k].first, t = l.entries[k].last;
		probe_ip(&l, f);
		probe_ip(&l, t);
		probe_ip(&l, (struct acl_ip){f.lo ? f.hi : f.hi - 1, f.lo - 1});
		probe_ip(&l, (struct acl_ip){t.lo == UINT64_MAX ? t.hi + 1 : t.hi, t.lo + 1});
	}
	for (size_t off = 0; off + 16 <= size && off < 256; off += 16) {
		struct addr a = {0};
		memcpy(a.ip, data + off, 16);
		probe(&l, &a);
		addr_set_v4(&a, data + off, 0);
		probe(&l, &a);
	}
	char *out = NULL;
	size_t need = acl_list_format(&l, NULL, 0);
	out = malloc(need + 1);
	CHECK(out && acl_list_format(&l, out, need + 1) == need && strlen(out) == need);
	free(out);
	acl_list_free(&l);
	free(text);
	return 0;
}

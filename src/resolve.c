// SPDX-License-Identifier: GPL-3.0-or-later
/* resolve.c - getaddrinfo in a worker thread (chan.h), results handed back through an eventfd. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meshvpn/chan.h"
#include "meshvpn/resolve.h"

struct request {
	uint64_t tag;
	char *name; /* owned */
	uint16_t port;
};

struct resolver {
	struct chan *chan; /* struct request in, struct resolve_result out */
};

/*
 * RFC 6761 6.4: names under "invalid" never resolve, so answer at once. Asking DNS instead
 * fails with a temporary error (-EAGAIN) whenever no server is reachable, and may first wait
 * for its timeouts.
 */
static bool under_invalid(const char *name, uint16_t default_port)
{
	static const char tld[] = "invalid";
	const size_t t = sizeof(tld) - 1;
	char host[256];
	uint16_t port;
	size_t n;

	if (addr_split_host_port(name, default_port, host, sizeof(host), &port) < 0)
		return false;
	n = strlen(host);
	if (n && host[n - 1] == '.')
		host[--n] = 0;
	if (n < t || strcasecmp(host + n - t, tld) != 0)
		return false;
	return n == t || host[n - t - 1] == '.';
}

static void work(struct chan *c, void *arg)
{
	struct request q;

	(void)arg;
	while (chan_wait(c, &q, CHAN_NO_DEADLINE) == 1) {
		struct resolve_result out = {.tag = q.tag};
		out.count = under_invalid(q.name, q.port)
				? -ENOENT
				: addr_resolve(q.name, q.port, out.addrs, RESOLVE_MAX_ADDRS);
		free(q.name);
		chan_reply(c, &out); /* its slot was reserved at submit time */
	}
}

static void drop_request(void *req)
{
	free(((struct request *)req)->name);
}

int resolver_new(struct resolver **out)
{
	const struct chan_params p = {
	    .req_size = sizeof(struct request),
	    .reply_size = sizeof(struct resolve_result),
	    .depth = RESOLVE_QUEUE,
	    .work = work,
	    .drop_req = drop_request,
	};
	struct resolver *r = calloc(1, sizeof(*r));
	int err;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	err = chan_new(&p, &r->chan);
	if (err) {
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	/* waits for a running lookup: getaddrinfo ends within its own timeouts */
	(void)chan_stop(r->chan, CHAN_FOREVER); /* 0: with no timeout it always ends */
	chan_free(r->chan);
	free(r);
}

struct loop_src *resolver_src(struct resolver *r)
{
	return chan_src(r->chan);
}

int resolver_submit(struct resolver *r, uint64_t tag, const char *name, uint16_t default_port)
{
	struct request q = {.tag = tag, .name = strdup(name), .port = default_port};
	int err;

	if (!q.name)
		return -ENOMEM;
	/* -ENOBUFS while queued and running lookups plus untaken results fill RESOLVE_QUEUE */
	err = chan_submit(r->chan, &q);
	if (err)
		free(q.name);
	return err;
}

int resolver_take(struct resolver *r, struct resolve_result *out)
{
	return chan_take(r->chan, out);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* resolve.c - getaddrinfo in a worker thread, results handed back through an eventfd. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "meshvpn/resolve.h"

struct request {
	uint64_t tag;
	char *name;
	uint16_t port;
};

struct resolver {
	struct loop_src src; /* eventfd */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool quit;
	struct request req[RESOLVE_QUEUE];
	unsigned req_head, req_n;
	struct resolve_result res[RESOLVE_QUEUE];
	unsigned res_head, res_n;
	unsigned busy; /* lookups taken by the worker, result not yet queued */
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

static void *worker(void *arg)
{
	struct resolver *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->quit && r->req_n == 0)
			pthread_cond_wait(&r->wake, &r->lock);
		if (r->quit)
			break;
		struct request q = r->req[r->req_head];
		r->req_head = (r->req_head + 1) % RESOLVE_QUEUE;
		r->req_n--;
		r->busy++;
		pthread_mutex_unlock(&r->lock);

		struct resolve_result out = {.tag = q.tag};
		out.count = under_invalid(q.name, q.port)
				? -ENOENT
				: addr_resolve(q.name, q.port, out.addrs, RESOLVE_MAX_ADDRS);
		free(q.name);

		pthread_mutex_lock(&r->lock);
		/* result slots are reserved at submit time, so this never overflows */
		r->res[(r->res_head + r->res_n) % RESOLVE_QUEUE] = out;
		r->res_n++;
		r->busy--;
		uint64_t one = 1;
		ssize_t w = write(r->src.fd, &one, sizeof(one));
		(void)w;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int resolver_new(struct resolver **out)
{
	struct resolver *r = calloc(1, sizeof(*r));
	int err;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->src.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->src.fd < 0) {
		err = -errno;
		free(r);
		return err;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	err = pthread_create(&r->thread, NULL, worker, r);
	if (err) {
		close(r->src.fd);
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->wake);
		free(r);
		return -err;
	}
	*out = r;
	return 0;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->quit = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	while (r->req_n) {
		free(r->req[r->req_head].name);
		r->req_head = (r->req_head + 1) % RESOLVE_QUEUE;
		r->req_n--;
	}
	close(r->src.fd);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->wake);
	free(r);
}

struct loop_src *resolver_src(struct resolver *r)
{
	return &r->src;
}

int resolver_submit(struct resolver *r, uint64_t tag, const char *name, uint16_t default_port)
{
	char *copy = strdup(name);
	int err = 0;

	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	/* requests in flight plus results not yet taken must fit the result ring */
	if (r->req_n + r->busy + r->res_n >= RESOLVE_QUEUE) {
		err = -ENOBUFS;
	} else {
		r->req[(r->req_head + r->req_n) % RESOLVE_QUEUE] =
			(struct request){.tag = tag, .name = copy, .port = default_port};
		r->req_n++;
		pthread_cond_signal(&r->wake);
	}
	pthread_mutex_unlock(&r->lock);
	if (err)
		free(copy);
	return err;
}

int resolver_take(struct resolver *r, struct resolve_result *out)
{
	int got = 0;

	pthread_mutex_lock(&r->lock);
	if (r->res_n) {
		*out = r->res[r->res_head];
		r->res_head = (r->res_head + 1) % RESOLVE_QUEUE;
		r->res_n--;
		got = 1;
	}
	if (!r->res_n) {
		uint64_t v;
		ssize_t rd = read(r->src.fd, &v, sizeof(v));
		(void)rd;
	}
	pthread_mutex_unlock(&r->lock);
	return got;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* stats.c - traffic counters, the stats file and statsd lines (VpnCloud formats). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "meshvpn/bytes.h"
#include "meshvpn/stats.h"

void stats_traffic_roll(struct stats_traffic *t)
{
	t->in_total.bytes += t->in.bytes;
	t->in_total.packets += t->in.packets;
	t->out_total.bytes += t->out.bytes;
	t->out_total.packets += t->out.packets;
	if (t->in.packets == 0 && t->out.packets == 0)
		t->idle_periods++;
	else
		t->idle_periods = 0;
	memset(&t->in, 0, sizeof(t->in));
	memset(&t->out, 0, sizeof(t->out));
}

int stats_init(struct stats *s)
{
	memset(s, 0, sizeof(*s));
	s->pairs = calloc(STATS_PAIRS_MIN, sizeof(*s->pairs));
	if (!s->pairs)
		return -ENOMEM;
	s->pairs_cap = STATS_PAIRS_MIN;
	randombytes_buf(s->key, sizeof(s->key));
	return 0;
}

void stats_free(struct stats *s)
{
	free(s->pairs);
	s->pairs = NULL;
	s->pairs_cap = 0;
}

static size_t pair_slot(const struct stats *s, const struct vaddr *r, const struct vaddr *l)
{
	uint8_t in[2 * (VADDR_MAX + 1)], out[8];
	size_t n = 0;

	in[n++] = r->len;
	memcpy(in + n, r->b, r->len);
	n += r->len;
	in[n++] = l->len;
	memcpy(in + n, l->b, l->len);
	n += l->len;
	crypto_shorthash(out, in, n, s->key);
	return get_be32(out) % s->pairs_cap;
}

void stats_payload(struct stats *s, const struct vaddr *remote, const struct vaddr *local,
		   bool inbound, size_t bytes)
{
	size_t i = pair_slot(s, remote, local);

	/* linear probing, bounded: a full neighbourhood just loses the attribution */
	for (unsigned k = 0; k < 16; k++, i = (i + 1) % s->pairs_cap) {
		struct stats_pair *p = &s->pairs[i];
		if (!p->used) {
			p->used = true;
			p->remote = *remote;
			p->local = *local;
			memset(&p->t, 0, sizeof(p->t));
			s->n_pairs++;
		} else if (!vaddr_equal(&p->remote, remote) || !vaddr_equal(&p->local, local)) {
			continue;
		}
		stats_count(inbound ? &p->t.in : &p->t.out, bytes);
		return;
	}
	s->pairs_overflow++;
}

/*
 * Deletes slot i without breaking a probe chain (backward-shift deletion): every later entry
 * of the run moves into the hole if its home slot lies at or before the hole, so no entry gets
 * further from its home and stats_payload()'s bounded probe still finds it. No allocation.
 */
static void pair_delete(struct stats *s, size_t i)
{
	size_t j = i;

	s->pairs[i].used = false;
	s->n_pairs--;
	for (;;) {
		j = (j + 1) % s->pairs_cap;
		struct stats_pair *p = &s->pairs[j];
		if (!p->used)
			return; /* ends at the latest at the hole itself */
		size_t h = pair_slot(s, &p->remote, &p->local);
		/* distance home -> j shorter than hole -> j: the home is past the hole, stay */
		if ((j + s->pairs_cap - h) % s->pairs_cap < (j + s->pairs_cap - i) % s->pairs_cap)
			continue;
		s->pairs[i] = *p;
		p->used = false;
		i = j;
	}
}

void stats_tick(struct stats *s)
{
	if (s->n_pairs * 2 <= s->pairs_cap || s->pairs_cap >= STATS_PAIRS)
		return;
	struct stats_pair *old = s->pairs;
	size_t old_cap = s->pairs_cap, cap = old_cap * 2;
	struct stats_pair *t = calloc(cap, sizeof(*t));
	if (!t)
		return;
	s->pairs = t;
	s->pairs_cap = cap;
	s->n_pairs = 0;
	/*
	 * At most half full now, so an entry finds a slot within its probe window unless its
	 * neighbourhood is (rarely) full; then it loses its attribution as in stats_payload().
	 */
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].used)
			continue;
		size_t j = pair_slot(s, &old[i].remote, &old[i].local);
		for (unsigned k = 0; k < 16; k++, j = (j + 1) % cap)
			if (!t[j].used) {
				t[j] = old[i];
				s->n_pairs++;
				break;
			}
	}
	free(old);
}

static const char *const invalid_names[STATS_INV_COUNT] = {
    [STATS_INV_EMPTY] = "empty",
    [STATS_INV_UNKNOWN_SENDER] = "unknown-sender",
    [STATS_INV_SHORT] = "short",
    [STATS_INV_NO_KEY] = "no-key",
    [STATS_INV_REPLAY] = "replay",
    [STATS_INV_AUTH] = "auth-failed",
    [STATS_INV_NOT_ESTABLISHED] = "not-established",
    [STATS_INV_HS_MALFORMED] = "handshake-malformed",
    [STATS_INV_HS_UNTRUSTED] = "handshake-untrusted",
    [STATS_INV_HS_LIMITED] = "handshake-limited",
    [STATS_INV_HS_FAILED] = "handshake-failed",
    [STATS_INV_UNKNOWN_TYPE] = "unknown-type",
    [STATS_INV_NODEINFO] = "malformed-nodeinfo",
    [STATS_INV_PAYLOAD] = "malformed-payload",
};

const char *stats_invalid_name(enum stats_invalid r)
{
	return (unsigned)r < STATS_INV_COUNT ? invalid_names[r] : "?";
}

void stats_roll(struct stats *s)
{
	stats_traffic_roll(&s->invalid_dropped);
	memcpy(s->invalid_period, s->invalid, sizeof(s->invalid));
	for (size_t i = 0; i < s->pairs_cap; i++)
		if (s->pairs[i].used)
			stats_traffic_roll(&s->pairs[i].t);
	/*
	 * A deletion may pull a later entry into slot i, so look at i again. Entries only move
	 * towards their home: those pulled in from behind the wrap point were seen already and
	 * are not idle.
	 */
	for (size_t i = 0; i < s->pairs_cap; i++)
		while (s->pairs[i].used && s->pairs[i].t.idle_periods >= STATS_IDLE_PERIODS)
			pair_delete(s, i);
}

const char *stats_format_rate(uint64_t bytes_per_sec, char buf[32])
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	float size = (float)bytes_per_sec;

	if (size < 512.0f) {
		snprintf(buf, 32, "%.0f B", size);
		return buf;
	}
	size /= 1024.0f;
	for (unsigned u = 0; u < 3; u++) {
		if (size < 512.0f) {
			snprintf(buf, 32, "%.1f %s", size, units[u]);
			return buf;
		}
		size /= 1024.0f;
	}
	snprintf(buf, 32, "%.1f %s", size, units[3]);
	return buf;
}

static void traffic_line(FILE *f, const char *indent, const char *name, const struct stats_ctr *c)
{
	char rate[32];
	fprintf(f, "%s%s: { display: \"%s/s\", bytes: %llu, packets: %llu }\n", indent, name,
		stats_format_rate(c->bytes / STATS_INTERVAL, rate), (unsigned long long)c->bytes,
		(unsigned long long)c->packets);
}

static uint64_t volume(const struct stats_traffic *t)
{
	return t->in.bytes + t->out.bytes;
}

static int cmp_peer_traffic(const void *a, const void *b)
{
	uint64_t va = volume(((const struct stats_peer_view *)a)->traffic);
	uint64_t vb = volume(((const struct stats_peer_view *)b)->traffic);
	return va < vb ? 1 : va > vb ? -1 : 0;
}

static int cmp_pairs(const void *a, const void *b)
{
	uint64_t va = volume(&(*(const struct stats_pair *const *)a)->t);
	uint64_t vb = volume(&(*(const struct stats_pair *const *)b)->t);
	return va < vb ? 1 : va > vb ? -1 : 0;
}

int stats_write(FILE *f, const struct stats_view *v)
{
	char a[ADDR_STRLEN], r[VADDR_STRLEN], l[VADDR_STRLEN];

	fprintf(f, "peers:\n");
	for (size_t i = 0; i < v->n_peers; i++)
		fprintf(f, "  - \"%s\": { ttl_secs: %lld, crypto: %s }\n",
			addr_format(&v->peers[i].addr, a), (long long)v->peers[i].ttl,
			v->peers[i].crypto);
	fprintf(f, "\nforwarding_table:\n  claims:\n");
	for (size_t i = 0; i < v->n_claims; i++)
		fprintf(f, "    - \"%s\": { peer: \"%s\", timeout: %lld }\n", v->claims[i].key,
			addr_format(&v->claims[i].peer, a), (long long)v->claims[i].timeout);
	fprintf(f, "  cache:\n");
	for (size_t i = 0; i < v->n_cache; i++)
		fprintf(f, "    - \"%s\": { peer: \"%s\", timeout: %lld }\n", v->cache[i].key,
			addr_format(&v->cache[i].peer, a), (long long)v->cache[i].timeout);

	fprintf(f, "\npeer_traffic:\n");
	struct stats_peer_view *sorted = NULL;
	if (v->n_traffic) {
		sorted = malloc(v->n_traffic * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, v->traffic, v->n_traffic * sizeof(*sorted));
		qsort(sorted, v->n_traffic, sizeof(*sorted), cmp_peer_traffic);
	}
	for (size_t i = 0; i < v->n_traffic; i++) {
		fprintf(f, "  - peer: \"%s\"\n", addr_format(&sorted[i].addr, a));
		traffic_line(f, "    ", "in", &sorted[i].traffic->in);
		traffic_line(f, "    ", "out", &sorted[i].traffic->out);
	}
	free(sorted);

	fprintf(f, "\npayload_traffic:\n");
	const struct stats *s = v->stats;
	const struct stats_pair **pairs = s->n_pairs ? malloc(s->n_pairs * sizeof(*pairs)) : NULL;
	size_t np = 0;
	if (s->n_pairs && !pairs)
		return -ENOMEM;
	for (size_t i = 0; i < s->pairs_cap && np < s->n_pairs; i++)
		if (s->pairs[i].used)
			pairs[np++] = &s->pairs[i];
	/* qsort's array argument must not be NULL, not even for zero elements */
	if (np > 1)
		qsort(pairs, np, sizeof(*pairs), cmp_pairs);
	for (size_t i = 0; i < np; i++) {
		fprintf(f, "  - addrs: [\"%s\", \"%s\"]\n", vaddr_format(&pairs[i]->remote, r),
			vaddr_format(&pairs[i]->local, l));
		traffic_line(f, "    ", "in", &pairs[i]->t.in);
		traffic_line(f, "    ", "out", &pairs[i]->t.out);
	}
	free(pairs);
	fprintf(f, "\n");
	traffic_line(f, "", "invalid_protocol_traffic", &s->invalid_dropped.in);
	traffic_line(f, "", "dropped_payload_traffic", &s->invalid_dropped.out);
	/* a meshvpn addition: the invalid datagrams since the start, by reason */
	fprintf(f, "invalid_by_reason:\n");
	for (int i = 0; i < STATS_INV_COUNT; i++)
		fprintf(f, "  %s: %llu\n", invalid_names[i], (unsigned long long)s->invalid[i]);
	fprintf(f, "\n");
	return ferror(f) ? -EIO : 0;
}

int stats_open_file(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

int stats_write_fd(int fd, const struct stats_view *v)
{
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dupfd < 0)
		return -errno;
	FILE *f = fdopen(dupfd, "w");
	if (!f) {
		int err = -errno;
		close(dupfd);
		return err;
	}
	int r = stats_write(f, v);
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

int stats_statsd(char *buf, size_t len, const char *prefix, const struct stats_view *v)
{
	struct stats_ctr pin = {0}, pout = {0}, yin = {0}, yout = {0};
	const struct stats *s = v->stats;

	for (size_t i = 0; i < v->n_traffic; i++) {
		const struct stats_traffic *t = v->traffic[i].traffic;
		pin.bytes += t->in.bytes, pin.packets += t->in.packets;
		pout.bytes += t->out.bytes, pout.packets += t->out.packets;
	}
	for (size_t i = 0; i < s->pairs_cap; i++) {
		if (!s->pairs[i].used)
			continue;
		const struct stats_traffic *t = &s->pairs[i].t;
		yin.bytes += t->in.bytes, yin.packets += t->in.packets;
		yout.bytes += t->out.bytes, yout.packets += t->out.packets;
	}
	const struct stats_ctr *inv = &s->invalid_dropped.in, *drop = &s->invalid_dropped.out;
#define U(x) ((unsigned long long)(x))
	int n = snprintf(buf, len,
			 "%1$s.peer_count:%2$zu|g\n"
			 "%1$s.table_cache_entries:%3$zu|g\n"
			 "%1$s.table_claims:%4$zu|g\n"
			 "%1$s.traffic.protocol.inbound.bytes:%5$llu|c\n"
			 "%1$s.traffic.protocol.inbound.packets:%6$llu|c\n"
			 "%1$s.traffic.protocol.outbound.bytes:%7$llu|c\n"
			 "%1$s.traffic.protocol.outbound.packets:%8$llu|c\n"
			 "%1$s.traffic.payload.inbound.bytes:%9$llu|c\n"
			 "%1$s.traffic.payload.inbound.packets:%10$llu|c\n"
			 "%1$s.traffic.payload.outbound.bytes:%11$llu|c\n"
			 "%1$s.traffic.payload.outbound.packets:%12$llu|c\n"
			 "%1$s.invalid_protocol_traffic.bytes:%13$llu|c\n"
			 "%1$s.invalid_protocol_traffic.packets:%14$llu|c\n"
			 "%1$s.dropped_payload.bytes:%15$llu|c\n"
			 "%1$s.dropped_payload.packets:%16$llu|c",
			 prefix, v->n_peers, v->n_cache, v->n_claims, U(pin.bytes), U(pin.packets),
			 U(pout.bytes), U(pout.packets), U(yin.bytes), U(yin.packets), U(yout.bytes),
			 U(yout.packets), U(inv->bytes), U(inv->packets), U(drop->bytes),
			 U(drop->packets));
	/* a meshvpn addition: this period's invalid datagrams by reason */
	for (int i = 0; i < STATS_INV_COUNT && n >= 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - (size_t)n, "\n%s.invalid.%s:%llu|c", prefix,
			      invalid_names[i], U(s->invalid[i] - s->invalid_period[i]));
#undef U
	if (n < 0 || (size_t)n >= len)
		return -EMSGSIZE;
	return n;
}

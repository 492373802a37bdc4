// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * fuzz_frame.c - the packet path of an established session: arbitrary datagrams (classify,
 * slot, replay, decrypt), fuzzer-chosen inner messages sealed by the peer (reaching the
 * rotation parser through a valid frame), and ticks that rotate keys.
 *
 * Input: algorithm index (1 byte), then records op (1) || length (1) || data.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshvpn/session.h"
#include "fuzz_crypto_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_init();
	return 0;
}

/* Seals msg at from, delivers it to to; checks it arrives unchanged while the link is sane. */
static void roundtrip(struct session *from, struct session *to, const uint8_t *msg, size_t n,
		      bool plain, bool *sane, struct fz_buf *t)
{
	struct session_event ev;
	int ret;

	if (n == 0)
		return;
	fz_buf_set(t, msg, n);
	if (session_encrypt(from, &t->b))
		abort();
	ret = session_handle(to, &t->b, &ev);
	if (msg[0] == FRAME_TYPE_ROTATION) {
		/* a forged but authenticated rotation may break this direction: stop checking */
		if (ret == SESSION_NONE && !plain)
			*sane = false;
		return;
	}
	if (plain && msg[0] == FRAME_INIT_MESSAGE)
		return; /* a bare 0xFF.. looks like an init message */
	if (!*sane)
		return;
	if (ret != SESSION_MESSAGE || ev.type != msg[0] || t->b.len != n ||
	    memcmp(buf_data(&t->b), msg, n))
		abort();
}

static void tick(struct session *s, struct session *peer, bool sane, struct fz_buf *t)
{
	struct session_event ev;
	int ret = session_tick(s, &t->b);

	if (ret < 0 && sane)
		abort();
	if (ret == 1) {
		if (t->b.len == 0)
			abort(); /* never an empty datagram */
		ret = session_handle(peer, &t->b, &ev);
		if (sane && ret != SESSION_NONE)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_buf t;
	struct session *a, *b;
	struct session_event ev;
	struct fz_rec r;
	bool sane = true, plain;
	int algo, ret;

	if (size < 1)
		return 0;
	fz_reseed();
	algo = data[0] % FZ_ALGOS;
	plain = algo == FZ_ALGOS - 1;
	data++;
	size--;
	fz_connect(algo, &a, &b, &t);
	while (fz_next(&data, &size, &r)) {
		switch (r.op % 5) {
		case 0:
		case 1:
			/* raw datagram from the network to one side */
			fz_buf_set(&t, r.p, r.n);
			ret = session_handle(r.op % 5 ? a : b, &t.b, &ev);
			if ((ret == SESSION_REPLY || (ret == SESSION_ESTABLISHED && ev.send)) &&
			    t.b.len == 0)
				abort();
			break;
		case 2:
			roundtrip(a, b, r.p, r.n, plain, &sane, &t);
			break;
		case 3:
			roundtrip(b, a, r.p, r.n, plain, &sane, &t);
			break;
		default:
			tick(a, b, sane, &t);
			tick(b, a, sane, &t);
			break;
		}
	}
	session_free(a);
	session_free(b);
	return 0;
}

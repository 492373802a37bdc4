// SPDX-License-Identifier: GPL-3.0-or-later
/* test_rotate.c - rotation message codec and the rotation state machine. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>

#include "meshvpn/rotate.h"
#include "crypto_test_util.h"

static void test_codec(void **state)
{
	struct rotate_msg m = { .id = 0x0102030405060708ULL }, d;
	uint8_t out[ROTATE_MSG_MAX + 1];
	size_t n;

	(void)state;
	memset(m.propose, 0xaa, sizeof(m.propose));
	n = rotate_msg_encode(&m, out);
	assert_int_equal(n, ROTATE_MSG_SHORT_LEN);
	assert_int_equal(out[0], 0x01);
	assert_int_equal(out[7], 0x08);
	assert_int_equal(out[8], 32);
	assert_int_equal(out[41], 0);
	assert_int_equal(rotate_msg_decode(&d, out, n), 0);
	assert_true(d.id == m.id);
	assert_false(d.has_confirm);
	assert_memory_equal(d.propose, m.propose, 32);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rotate_msg_decode(&d, out, i), -EBADMSG);

	m.has_confirm = true;
	memset(m.confirm, 0xbb, sizeof(m.confirm));
	n = rotate_msg_encode(&m, out);
	assert_int_equal(n, ROTATE_MSG_LEN);
	assert_int_equal(rotate_msg_decode(&d, out, n), 0);
	assert_true(d.has_confirm);
	assert_memory_equal(d.confirm, m.confirm, 32);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rotate_msg_decode(&d, out, i), -EBADMSG);
	/* trailing byte */
	out[n] = 0;
	assert_int_equal(rotate_msg_decode(&d, out, n + 1), -EBADMSG);
	/* other key lengths (the reference would panic later) */
	out[8] = 31;
	assert_int_equal(rotate_msg_decode(&d, out, n), -EBADMSG);
	out[8] = 32;
	out[41] = 16;
	assert_int_equal(rotate_msg_decode(&d, out, n), -EBADMSG);
}

/* The A.4 rotation message body: id 1, proposal = X25519 public key of 33..33. */
static void test_vector_body(void **state)
{
	struct rotate_msg m = { .id = 1 }, d;
	uint8_t sk[32], out[ROTATE_MSG_MAX], want[64];
	size_t n;

	(void)state;
	memset(sk, 0x33, sizeof(sk));
	assert_int_equal(crypto_scalarmult_base(m.propose, sk), 0);
	n = unhex(want, sizeof(want),
		  "0000000000000001 20 "
		  "7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14 00");
	assert_int_equal(rotate_msg_encode(&m, out), n);
	assert_memory_equal(out, want, n);
	assert_int_equal(rotate_msg_decode(&d, want, n), 0);
	assert_true(d.id == 1);
}

struct side {
	struct rotate r;
	struct rotate_secret sec;
	struct rotate_action act;
	/* keys installed per slot, and which slot we send with */
	uint8_t key[4][32];
	bool have[4];
	int send_slot;
};

static void apply(struct side *s)
{
	if (!s->act.install)
		return;
	unsigned slot = (unsigned)(s->act.id % 4);

	memcpy(s->key[slot], s->act.key, 32);
	s->have[slot] = true;
	if (s->act.use_for_sending)
		s->send_slot = (int)slot;
}

/* Delivers from's pending message to to. */
static void deliver(struct side *from, struct side *to)
{
	assert_true(from->act.send);
	assert_int_equal(rotate_handle(&to->r, from->act.msg, from->act.msg_len, &to->act), 0);
	assert_false(to->act.send);
	apply(to);
}

/* The sender's current key must be installed in the same slot at the receiver. */
static void check_link(const struct side *tx, const struct side *rx)
{
	if (tx->send_slot < 0)
		return;
	assert_true(rx->have[tx->send_slot]);
	assert_memory_equal(tx->key[tx->send_slot], rx->key[tx->send_slot], 32);
}

static void test_exchange(void **state)
{
	struct side s = { .send_slot = -1 }, n = { .send_slot = -1 };
	uint64_t last_id = 1;

	(void)state;
	assert_int_equal(rotate_init(&s.r, &s.sec, true, 0, &s.act), 0);
	assert_int_equal(s.r.cycle, ROTATE_CYCLE_DEFAULT);
	assert_true(s.act.send);
	assert_int_equal(s.act.msg_len, ROTATE_MSG_SHORT_LEN);
	assert_int_equal(s.r.own_id, 1);
	assert_int_equal(rotate_init(&n.r, &n.sec, false, 0, &n.act), 0);
	assert_false(n.act.send);
	assert_int_equal(n.r.own_id, 0);

	deliver(&s, &n);
	assert_false(n.act.install); /* message 1 has no confirmation */
	assert_true(n.r.has_pending);

	/* alternate cycles; each message confirms the previous proposal */
	struct side *turn = &n, *other = &s;

	for (int i = 0; i < 10; i++) {
		assert_int_equal(rotate_cycle(&turn->r, &turn->act), 0);
		assert_true(turn->act.send);
		assert_true(turn->act.install);
		assert_false(turn->act.use_for_sending);
		assert_true(turn->act.id == last_id + 1);
		assert_int_equal(turn->act.msg_len, ROTATE_MSG_LEN);
		last_id++;
		apply(turn);
		struct rotate_action sent = turn->act;

		deliver(turn, other);
		assert_true(other->act.install);
		assert_true(other->act.use_for_sending);
		assert_true(other->act.id == last_id);
		/* both ends derived the same key for slot id % 4 */
		assert_memory_equal(other->key[last_id % 4], turn->key[last_id % 4], 32);
		check_link(&s, &n);
		check_link(&n, &s);
		/* a duplicate of an old message is ignored */
		assert_int_equal(rotate_handle(&turn->r, sent.msg, sent.msg_len, &turn->act), 0);
		assert_false(turn->act.install);
		struct side *t = turn;

		turn = other;
		other = t;
	}
	/* starter ids odd, non-starter ids even */
	assert_int_equal(s.r.own_id % 2, 1);
	assert_int_equal(n.r.own_id % 2, 0);
	/* directions use different slots */
	assert_true(s.send_slot != n.send_slot);
	rotate_wipe(&s.r);
	rotate_wipe(&n.r);
}

static void test_lost_first(void **state)
{
	struct side s = { .send_slot = -1 }, n = { .send_slot = -1 };
	uint8_t first[ROTATE_MSG_MAX];

	(void)state;
	assert_int_equal(rotate_init(&s.r, &s.sec, true, 0, &s.act), 0);
	memcpy(first, s.act.msg, ROTATE_MSG_SHORT_LEN);
	assert_int_equal(rotate_init(&n.r, &n.sec, false, 0, &n.act), 0);
	/* message 1 lost; the non-starter waits, the starter arms its timeout, then resends */
	assert_int_equal(rotate_cycle(&n.r, &n.act), 0);
	assert_false(n.act.send);
	assert_int_equal(rotate_cycle(&s.r, &s.act), 0);
	assert_false(s.act.send);
	assert_true(s.r.timeout);
	assert_int_equal(rotate_cycle(&s.r, &s.act), 0);
	assert_true(s.act.send);
	assert_int_equal(s.act.msg_len, ROTATE_MSG_SHORT_LEN);
	assert_memory_equal(s.act.msg, first, ROTATE_MSG_SHORT_LEN);
	deliver(&s, &n);
	assert_true(s.r.timeout); /* cleared only by a message from the peer */
	assert_int_equal(rotate_cycle(&n.r, &n.act), 0);
	assert_true(n.act.send);
	apply(&n);
	deliver(&n, &s);
	check_link(&s, &n);
	assert_false(s.r.timeout);
	rotate_wipe(&s.r);
	rotate_wipe(&n.r);
}

static void test_lost_later(void **state)
{
	struct side s = { .send_slot = -1 }, n = { .send_slot = -1 };
	uint8_t lost[ROTATE_MSG_MAX];

	(void)state;
	assert_int_equal(rotate_init(&s.r, &s.sec, true, 0, &s.act), 0);
	assert_int_equal(rotate_init(&n.r, &n.sec, false, 0, &n.act), 0);
	deliver(&s, &n);
	assert_int_equal(rotate_cycle(&n.r, &n.act), 0);
	apply(&n);
	memcpy(lost, n.act.msg, ROTATE_MSG_LEN);
	/* message 2 lost: the non-starter resends it unchanged after one more cycle */
	assert_int_equal(rotate_cycle(&n.r, &n.act), 0);
	assert_false(n.act.send);
	assert_int_equal(rotate_cycle(&n.r, &n.act), 0);
	assert_true(n.act.send);
	assert_false(n.act.install);
	assert_int_equal(n.act.msg_len, ROTATE_MSG_LEN);
	assert_memory_equal(n.act.msg, lost, ROTATE_MSG_LEN);
	deliver(&n, &s);
	assert_true(s.act.install && s.act.use_for_sending && s.act.id == 2);
	check_link(&s, &n);
	/* a late copy (id 2 > own id 1) only refreshes the pending reply */
	assert_int_equal(rotate_handle(&s.r, lost, ROTATE_MSG_LEN, &s.act), 0);
	assert_false(s.act.install); /* proposal already consumed */
	rotate_wipe(&s.r);
	rotate_wipe(&n.r);
}

static void test_tick_counter(void **state)
{
	struct rotate r;
	struct rotate_secret sec;
	struct rotate_action act;

	(void)state;
	assert_int_equal(rotate_init(&r, &sec, true, 3, &act), 0);
	assert_int_equal(r.cycle, 3);
	assert_int_equal(rotate_tick(&r, &act), 0);
	assert_int_equal(rotate_tick(&r, &act), 0);
	assert_false(r.timeout);
	assert_int_equal(rotate_tick(&r, &act), 0); /* third tick runs a cycle */
	assert_true(r.timeout);
	assert_false(act.send);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rotate_tick(&r, &act), 0);
		assert_false(act.send);
	}
	assert_int_equal(rotate_tick(&r, &act), 0);
	assert_true(act.send); /* resend of message 1 */
	rotate_wipe(&r);
	rotate_action_wipe(&act);
}

static void test_bad_keys(void **state)
{
	struct rotate r;
	struct rotate_secret sec;
	struct rotate_action act;
	struct rotate_msg m = { .id = 5 };
	uint8_t out[ROTATE_MSG_MAX];
	size_t n;

	(void)state;
	assert_int_equal(rotate_init(&r, &sec, false, 0, &act), 0);
	/* the all-zero point gives an all-zero shared secret: refused, no state change */
	n = rotate_msg_encode(&m, out);
	assert_int_equal(rotate_handle(&r, out, n, &act), -EBADMSG);
	assert_false(r.has_pending);
	assert_false(act.install);
	/* garbage never reaches the state either */
	assert_int_equal(rotate_handle(&r, out, 10, &act), -EBADMSG);
	assert_false(r.has_pending);
	rotate_wipe(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec),	   cmocka_unit_test(test_vector_body),
		cmocka_unit_test(test_exchange),   cmocka_unit_test(test_lost_first),
		cmocka_unit_test(test_lost_later), cmocka_unit_test(test_tick_counter),
		cmocka_unit_test(test_bad_keys),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

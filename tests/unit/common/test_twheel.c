#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "common/twheel.h"

struct tnode {
	struct twheel_node node;
	size_t id;
	unsigned fires;
	uint64_t fired_at;
	struct tnode *partner;
};

struct rec {
	struct twheel *w;
	uint64_t at;
	size_t nfired;
};

static struct tnode *
tn(struct twheel_node *n)
{
	return (struct tnode *) ((char *) n - offsetof(struct tnode, node));
}

static void
record(struct twheel_node *n, void *arg)
{
	struct rec *r = arg;

	ck_assert(!twheel_scheduled(n));
	tn(n)->fires++;
	tn(n)->fired_at = r->at;
	r->nfired++;
}

static size_t
advance_with(struct twheel *w, uint64_t t, struct rec *r,
    void (*fire)(struct twheel_node *, void *))
{
	size_t n;

	r->w = w;
	r->at = t;
	r->nfired = 0;
	n = twheel_advance(w, t, fire, r);
	ck_assert_uint_eq(n, r->nfired);
	return n;
}

static size_t
advance(struct twheel *w, uint64_t t, struct rec *r)
{
	return advance_with(w, t, r, record);
}

static void
tnode_init(struct tnode *t, size_t id)
{
	memset(t, 0, sizeof(*t));
	twheel_node_init(&t->node);
	t->id = id;
}

/* Deterministic so that a failure reproduces. */
static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t
rng_below(uint64_t n)
{
	return rng() % n;
}

START_TEST(test_init_rounds_slots)
{
	struct twheel w;

	twheel_init(&w, 1000, 10, 0);
	ck_assert_uint_eq(w.nslots, 1024);
	ck_assert_uint_eq(w.count, 0);
	twheel_fini(&w);
	twheel_init(&w, 0, 10, 0);
	ck_assert_uint_eq(w.nslots, 1);
	twheel_fini(&w);
}
END_TEST

START_TEST(test_fires_at_expiry_never_early)
{
	struct twheel w;
	struct tnode a, b;
	struct rec r;

	twheel_init(&w, 16, 10, 1000);
	tnode_init(&a, 0);
	tnode_init(&b, 1);
	twheel_schedule(&w, &a.node, 1055);
	twheel_schedule(&w, &b.node, 1057);
	ck_assert(twheel_scheduled(&a.node));
	ck_assert_uint_eq(w.count, 2);
	ck_assert_uint_eq(advance(&w, 1050, &r), 0);
	ck_assert_uint_eq(advance(&w, 1054, &r), 0);
	ck_assert_uint_eq(advance(&w, 1055, &r), 1);
	ck_assert_uint_eq(a.fires, 1);
	ck_assert_uint_eq(a.fired_at, 1055);
	ck_assert(!twheel_scheduled(&a.node));
	ck_assert_uint_eq(advance(&w, 1056, &r), 0);
	ck_assert_uint_eq(advance(&w, 1070, &r), 1);
	ck_assert_uint_eq(b.fires, 1);
	ck_assert_uint_eq(a.fires, 1);
	ck_assert_uint_eq(w.count, 0);
	twheel_fini(&w);
}
END_TEST

/* Advancing once per tick, out of phase with the tick grid, every timer
 * fires at the first advance at or after its expiry. */
START_TEST(test_late_by_at_most_one_tick)
{
	enum { N = 2000, TICK = 10, START = 3 };
	static struct tnode t[N];
	struct twheel w;
	struct rec r;
	uint64_t now = START;

	rng_state = 1;
	twheel_init(&w, 16, TICK, START);
	for (size_t i = 0; i < N; i++) {
		tnode_init(&t[i], i);
		twheel_schedule(&w, &t[i].node, START + 1 + rng_below(800));
	}
	while (w.count > 0) {
		now += TICK;
		advance(&w, now, &r);
	}
	for (size_t i = 0; i < N; i++) {
		ck_assert_uint_eq(t[i].fires, 1);
		ck_assert_uint_ge(t[i].fired_at, t[i].node.expiry);
		ck_assert_uint_lt(t[i].fired_at, t[i].node.expiry + TICK);
	}
	twheel_fini(&w);
}
END_TEST

START_TEST(test_cancel)
{
	struct twheel w;
	struct tnode a, b;
	struct rec r;

	twheel_init(&w, 8, 10, 0);
	tnode_init(&a, 0);
	tnode_init(&b, 1);
	twheel_cancel(&w, &a.node);
	ck_assert_uint_eq(w.count, 0);
	twheel_schedule(&w, &a.node, 50);
	twheel_schedule(&w, &b.node, 50);
	twheel_cancel(&w, &a.node);
	ck_assert(!twheel_scheduled(&a.node));
	ck_assert_uint_eq(w.count, 1);
	twheel_cancel(&w, &a.node);
	ck_assert_uint_eq(w.count, 1);
	ck_assert_uint_eq(advance(&w, 1000, &r), 1);
	ck_assert_uint_eq(a.fires, 0);
	ck_assert_uint_eq(b.fires, 1);
	twheel_fini(&w);
}
END_TEST

START_TEST(test_reschedule)
{
	struct twheel w;
	struct tnode a;
	struct rec r;

	twheel_init(&w, 8, 10, 0);
	tnode_init(&a, 0);
	twheel_schedule(&w, &a.node, 100);
	twheel_schedule(&w, &a.node, 300);
	ck_assert_uint_eq(w.count, 1);
	ck_assert_uint_eq(advance(&w, 200, &r), 0);
	twheel_schedule(&w, &a.node, 250);
	ck_assert_uint_eq(advance(&w, 249, &r), 0);
	ck_assert_uint_eq(advance(&w, 250, &r), 1);
	ck_assert_uint_eq(advance(&w, 400, &r), 0);
	ck_assert_uint_eq(a.fires, 1);
	ck_assert_uint_eq(a.fired_at, 250);
	twheel_fini(&w);
}
END_TEST

START_TEST(test_schedule_in_past)
{
	struct twheel w;
	struct tnode a, b, c;
	struct rec r;

	twheel_init(&w, 8, 10, 1000);
	tnode_init(&a, 0);
	tnode_init(&b, 1);
	tnode_init(&c, 2);
	twheel_schedule(&w, &a.node, 500);
	twheel_schedule(&w, &b.node, 0);
	twheel_schedule(&w, &c.node, 1000);
	/* Even an advance that does not move the clock fires them. */
	ck_assert_uint_eq(advance(&w, 1000, &r), 3);
	ck_assert_uint_eq(a.fires + b.fires + c.fires, 3);
	ck_assert_uint_eq(w.count, 0);
	twheel_fini(&w);
}
END_TEST

static void
fire_periodic(struct twheel_node *n, void *arg)
{
	struct rec *r = arg;

	record(n, arg);
	twheel_schedule(r->w, n, r->at + 25);
}

/* A periodic timer fires once per advance, however far the clock jumps. */
START_TEST(test_fire_reschedules_into_future)
{
	struct twheel w;
	struct tnode a;
	struct rec r;

	twheel_init(&w, 8, 10, 0);
	tnode_init(&a, 0);
	twheel_schedule(&w, &a.node, 25);
	ck_assert_uint_eq(advance_with(&w, 25, &r, fire_periodic), 1);
	ck_assert(twheel_scheduled(&a.node));
	ck_assert_uint_eq(a.node.expiry, 50);
	ck_assert_uint_eq(advance_with(&w, 49, &r, fire_periodic), 0);
	ck_assert_uint_eq(advance_with(&w, 10000, &r, fire_periodic), 1);
	ck_assert_uint_eq(a.fires, 2);
	ck_assert_uint_eq(a.node.expiry, 10025);
	ck_assert_uint_eq(advance_with(&w, 10024, &r, fire_periodic), 0);
	ck_assert_uint_eq(advance_with(&w, 10025, &r, fire_periodic), 1);
	ck_assert_uint_eq(w.count, 1);
	twheel_fini(&w);
}
END_TEST

static void
fire_resched_now(struct twheel_node *n, void *arg)
{
	struct rec *r = arg;

	record(n, arg);
	twheel_schedule(r->w, n, r->at - tn(n)->id);
}

/* Defined behaviour: a node rescheduled by its callback to a time already
 * reached fires at the next advance, never twice in the same one. */
START_TEST(test_fire_reschedules_into_past)
{
	struct twheel w;
	struct tnode a, b;
	struct rec r;

	twheel_init(&w, 8, 10, 1000);
	tnode_init(&a, 0);
	tnode_init(&b, 500);
	twheel_schedule(&w, &a.node, 1005);
	twheel_schedule(&w, &b.node, 1005);
	ck_assert_uint_eq(advance_with(&w, 1010, &r, fire_resched_now), 2);
	ck_assert_uint_eq(a.fires, 1);
	ck_assert_uint_eq(b.fires, 1);
	ck_assert(twheel_scheduled(&a.node));
	ck_assert(twheel_scheduled(&b.node));
	ck_assert_uint_eq(advance_with(&w, 1010, &r, fire_resched_now), 2);
	ck_assert_uint_eq(a.fires, 2);
	ck_assert_uint_eq(advance(&w, 1010, &r), 2);
	ck_assert_uint_eq(a.fires, 3);
	ck_assert_uint_eq(b.fires, 3);
	ck_assert_uint_eq(w.count, 0);
	twheel_fini(&w);
}
END_TEST

static void
fire_free(struct twheel_node *n, void *arg)
{
	record(n, arg);
	free(tn(n));
}

/* Under AddressSanitizer any touch of a freed node fails the test. */
START_TEST(test_fire_frees_node)
{
	enum { N = 64 };
	struct twheel w;
	struct rec r;

	twheel_init(&w, 4, 10, 0);
	for (size_t i = 0; i < N; i++) {
		struct tnode *t = malloc(sizeof(*t));

		tnode_init(t, i);
		twheel_schedule(&w, &t->node, i % 7 * 10);
	}
	ck_assert_uint_eq(advance_with(&w, 30, &r, fire_free), 37);
	ck_assert_uint_eq(advance_with(&w, 1000, &r, fire_free), N - 37);
	ck_assert_uint_eq(w.count, 0);
	twheel_fini(&w);
}
END_TEST

static void
fire_cancel_partner(struct twheel_node *n, void *arg)
{
	struct rec *r = arg;

	record(n, arg);
	twheel_cancel(r->w, &tn(n)->partner->node);
}

/* Pairs due in the same advance, each cancelling the other: whichever fires
 * first, the other must not. Pairs share a slot, sit in neighbouring slots,
 * or are a revolution apart. */
START_TEST(test_fire_cancels_other)
{
	static const uint64_t gap[] = { 0, 1, 10, 80, 160, 250 };
	enum { NPAIR = sizeof(gap) / sizeof(gap[0]) };
	struct tnode t[2 * NPAIR];
	struct twheel w;
	struct rec r;

	twheel_init(&w, 8, 10, 0);
	for (size_t i = 0; i < NPAIR; i++) {
		tnode_init(&t[2 * i], 2 * i);
		tnode_init(&t[2 * i + 1], 2 * i + 1);
		t[2 * i].partner = &t[2 * i + 1];
		t[2 * i + 1].partner = &t[2 * i];
		twheel_schedule(&w, &t[2 * i].node, 5 + i);
		twheel_schedule(&w, &t[2 * i + 1].node, 5 + i + gap[i]);
	}
	ck_assert_uint_eq(
	    advance_with(&w, 300, &r, fire_cancel_partner), NPAIR);
	for (size_t i = 0; i < NPAIR; i++) {
		ck_assert_uint_eq(t[2 * i].fires + t[2 * i + 1].fires, 1);
		ck_assert(!twheel_scheduled(&t[2 * i].node));
		ck_assert(!twheel_scheduled(&t[2 * i + 1].node));
	}
	ck_assert_uint_eq(w.count, 0);
	ck_assert_uint_eq(advance(&w, 1000, &r), 0);
	twheel_fini(&w);
}
END_TEST

static void
fire_schedule_partner(struct twheel_node *n, void *arg)
{
	struct rec *r = arg;

	record(n, arg);
	if (tn(n)->partner != NULL) {
		twheel_schedule(r->w, &tn(n)->partner->node, r->at);
	}
}

/* A node scheduled by a callback, even at a time already due, fires at the
 * next advance; one moved by a callback from due to later does not fire. */
START_TEST(test_fire_schedules_other)
{
	struct twheel w;
	struct tnode a, b, c, d;
	struct rec r;

	twheel_init(&w, 8, 10, 0);
	tnode_init(&a, 0);
	tnode_init(&b, 1);
	tnode_init(&c, 2);
	tnode_init(&d, 3);
	a.partner = &b;
	twheel_schedule(&w, &a.node, 20);
	ck_assert_uint_eq(advance_with(&w, 20, &r, fire_schedule_partner), 1);
	ck_assert_uint_eq(b.fires, 0);
	ck_assert(twheel_scheduled(&b.node));
	ck_assert_uint_eq(advance(&w, 20, &r), 1);
	ck_assert_uint_eq(b.fires, 1);

	/* Whichever of c and d fires first moves the other, due too, to the
	 * next advance. */
	c.partner = &d;
	d.partner = &c;
	twheel_schedule(&w, &d.node, 30);
	twheel_schedule(&w, &c.node, 30);
	ck_assert_uint_eq(advance_with(&w, 35, &r, fire_schedule_partner), 1);
	ck_assert_uint_eq(c.fires + d.fires, 1);
	ck_assert_uint_eq(w.count, 1);
	ck_assert_uint_eq(advance(&w, 35, &r), 1);
	ck_assert_uint_eq(c.fires, 1);
	ck_assert_uint_eq(d.fires, 1);
	twheel_fini(&w);
}
END_TEST

START_TEST(test_far_timer_waits_its_revolution)
{
	struct twheel w;
	struct tnode a;
	struct rec r;

	twheel_init(&w, 8, 10, 0);
	tnode_init(&a, 0);
	twheel_schedule(&w, &a.node, 345);
	for (uint64_t now = 5; now < 345; now += 5) {
		ck_assert_uint_eq(advance(&w, now, &r), 0);
	}
	ck_assert(twheel_scheduled(&a.node));
	ck_assert_uint_eq(advance(&w, 345, &r), 1);
	twheel_fini(&w);
}
END_TEST

/* Jumps of many revolutions fire exactly the due timers; one of 2^50 ms
 * must cost a revolution, not one step per tick, or the test times out. */
START_TEST(test_big_jumps)
{
	static const uint64_t exp[] = { 5, 75, 80, 85, 1000, 5000, 12345 };
	enum { N = sizeof(exp) / sizeof(exp[0]) };
	struct tnode t[N], last;
	struct twheel w;
	struct rec r;

	twheel_init(&w, 8, 10, 0);
	for (size_t i = 0; i < N; i++) {
		tnode_init(&t[i], i);
		twheel_schedule(&w, &t[i].node, exp[i]);
	}
	ck_assert_uint_eq(advance(&w, 1000, &r), 5);
	ck_assert_uint_eq(t[5].fires + t[6].fires, 0);
	ck_assert_uint_eq(advance(&w, 1000 + 640, &r), 0);
	ck_assert_uint_eq(advance(&w, UINT64_C(1) << 50, &r), 2);
	tnode_init(&last, N);
	twheel_schedule(&w, &last.node, UINT64_MAX);
	twheel_schedule(&w, &t[0].node, (UINT64_C(1) << 50) + 3);
	ck_assert_uint_eq(advance(&w, UINT64_MAX - 1, &r), 1);
	ck_assert_uint_eq(last.fires, 0);
	ck_assert_uint_eq(advance(&w, UINT64_MAX, &r), 1);
	ck_assert_uint_eq(last.fires, 1);
	twheel_fini(&w);
}
END_TEST

/* A clock that steps back fires only what is due at the time given and
 * loses nothing. */
START_TEST(test_clock_steps_back)
{
	struct twheel w;
	struct tnode a, b;
	struct rec r;

	twheel_init(&w, 8, 10, 1000);
	tnode_init(&a, 0);
	tnode_init(&b, 1);
	twheel_schedule(&w, &a.node, 995);
	twheel_schedule(&w, &b.node, 1020);
	ck_assert_uint_eq(advance(&w, 990, &r), 0);
	ck_assert_uint_eq(advance(&w, 1000, &r), 1);
	ck_assert_uint_eq(a.fires, 1);
	ck_assert_uint_eq(advance(&w, 1020, &r), 1);
	ck_assert_uint_eq(b.fires, 1);
	twheel_fini(&w);
}
END_TEST

/* The brute-force model: whether each node is scheduled, and when. */
struct model {
	size_t n;
	struct tnode *t;
	unsigned char *sched;
	uint64_t *expiry;
	unsigned *fired_adv;
	unsigned adv;
	size_t count;
};

static void
model_init(struct model *m, size_t n)
{
	m->n = n;
	m->t = calloc(n, sizeof(*m->t));
	m->sched = calloc(n, 1);
	m->expiry = calloc(n, sizeof(*m->expiry));
	m->fired_adv = calloc(n, sizeof(*m->fired_adv));
	m->adv = 1;
	m->count = 0;
	for (size_t i = 0; i < n; i++) {
		tnode_init(&m->t[i], i);
	}
}

static void
model_fini(struct model *m)
{
	free(m->t);
	free(m->sched);
	free(m->expiry);
	free(m->fired_adv);
}

static void
model_schedule(struct model *m, struct twheel *w, size_t i, uint64_t exp)
{
	twheel_schedule(w, &m->t[i].node, exp);
	m->count += !m->sched[i];
	m->sched[i] = 1;
	m->expiry[i] = exp;
}

static void
model_cancel(struct model *m, struct twheel *w, size_t i)
{
	twheel_cancel(w, &m->t[i].node);
	m->count -= m->sched[i];
	m->sched[i] = 0;
}

/* An expiry up to two revolutions in the past or four in the future. */
static uint64_t
random_expiry(uint64_t now, uint64_t rev)
{
	uint64_t back = rng_below(2 * rev);

	return (now > back ? now - back : 0) + rng_below(6 * rev);
}

static void
model_random_ops(
    struct model *m, struct twheel *w, uint64_t now, uint64_t rev, size_t nops)
{
	for (size_t k = 0; k < nops; k++) {
		size_t i = (size_t) rng_below(m->n);

		if (rng_below(4) == 0) {
			model_cancel(m, w, i);
		} else {
			model_schedule(m, w, i, random_expiry(now, rev));
		}
	}
}

/* Mostly small steps, sometimes a revolution or several, rarely a huge jump
 * or a step back. */
static uint64_t
random_step(uint64_t now, uint64_t tick, uint64_t rev)
{
	uint64_t kind = rng_below(100);

	if (kind < 40) {
		return now + rng_below(tick);
	} else if (kind < 80) {
		return now + rng_below(3 * tick);
	} else if (kind < 90) {
		return now + rng_below(rev + 2 * tick);
	} else if (kind < 97) {
		return now + rng_below(5 * rev);
	} else if (kind < 98) {
		return now + 1000 * rev + rng_below(rev);
	}
	return now > tick ? now - rng_below(tick) : now;
}

static void
fire_model(struct twheel_node *n, void *arg)
{
	struct model *m = arg;
	size_t i = tn(n)->id;

	/* Plain ifs in the hot paths: every passing ck_assert records its
	 * location, which would dominate the run time. */
	if (twheel_scheduled(n) || m->fired_adv[i] == m->adv) {
		ck_abort_msg("node %zu fired twice or while scheduled", i);
	}
	m->fired_adv[i] = m->adv;
}

/* Checks that exactly the nodes the model says were due have fired. */
static void
model_check_advance(
    struct model *m, struct twheel *w, uint64_t now, size_t nfired)
{
	size_t due = 0;

	for (size_t i = 0; i < m->n; i++) {
		int want = m->sched[i] && m->expiry[i] <= now;
		int got = m->fired_adv[i] == m->adv;

		if (want != got) {
			ck_abort_msg("node %zu expiry %llu at %llu: %s", i,
			    (unsigned long long) m->expiry[i],
			    (unsigned long long) now,
			    want ? "not fired" : "fired");
		}
		if (want) {
			m->sched[i] = 0;
			due++;
		}
		if (twheel_scheduled(&m->t[i].node) != m->sched[i]) {
			ck_abort_msg("node %zu scheduled state differs", i);
		}
	}
	ck_assert_uint_eq(nfired, due);
	m->count -= due;
	ck_assert_uint_eq(w->count, m->count);
}

START_TEST(test_random_against_model)
{
	static const struct {
		size_t nslots;
		uint64_t tick;
	} cfg[] = { { 64, 7 }, { 8, 1 }, { 1024, 10 }, { 1, 5 } };
	enum { N = 100000, STEPS = 300 };
	uint64_t tick = cfg[_i].tick, rev = cfg[_i].nslots * tick;
	uint64_t now = 12345;
	struct model m;
	struct twheel w;

	rng_state = 42 + (uint64_t) _i;
	model_init(&m, N);
	twheel_init(&w, cfg[_i].nslots, tick, now);
	model_random_ops(&m, &w, now, rev, N);
	for (int s = 0; s < STEPS; s++) {
		size_t nfired;

		now = random_step(now, tick, rev);
		nfired = twheel_advance(&w, now, fire_model, &m);
		model_check_advance(&m, &w, now, nfired);
		m.adv++;
		model_random_ops(&m, &w, now, rev, 1000);
	}
	twheel_fini(&w);
	model_fini(&m);
}
END_TEST

/* Per advance: which nodes a callback touched, which may not fire in it. */
struct chaos {
	struct model m;
	struct twheel *w;
	uint64_t now, rev;
	unsigned *touched_adv;
};

static void
chaos_touch(struct chaos *c, size_t i)
{
	c->touched_adv[i] = c->m.adv;
}

static void
chaos_act(struct chaos *c, size_t self)
{
	uint64_t kind = rng_below(10);
	size_t other = (size_t) rng_below(c->m.n);

	if (kind < 3) {
		model_schedule(
		    &c->m, c->w, self, random_expiry(c->now, c->rev));
		chaos_touch(c, self);
	} else if (kind < 5) {
		model_cancel(&c->m, c->w, other);
		chaos_touch(c, other);
	} else if (kind < 7) {
		model_schedule(
		    &c->m, c->w, other, random_expiry(c->now, c->rev));
		chaos_touch(c, other);
	}
}

static void
fire_chaos(struct twheel_node *n, void *arg)
{
	struct chaos *c = arg;
	size_t i = tn(n)->id;

	if (twheel_scheduled(n) || !c->m.sched[i] || c->m.expiry[i] > c->now) {
		ck_abort_msg("node %zu fired while not due", i);
	}
	if (c->touched_adv[i] == c->m.adv) {
		ck_abort_msg("node %zu fired twice or after being touched", i);
	}
	c->m.sched[i] = 0;
	c->m.count--;
	chaos_touch(c, i);
	c->m.fired_adv[i] = c->m.adv;
	chaos_act(c, i);
}

/* After an advance no node the callbacks left alone is still due. */
static void
chaos_check(struct chaos *c)
{
	for (size_t i = 0; i < c->m.n; i++) {
		int due = c->m.sched[i] && c->m.expiry[i] <= c->now;

		if (due && c->touched_adv[i] != c->m.adv) {
			ck_abort_msg("node %zu due but not fired", i);
		}
		if (twheel_scheduled(&c->m.t[i].node) != c->m.sched[i]) {
			ck_abort_msg("node %zu scheduled state differs", i);
		}
	}
	ck_assert_uint_eq(c->w->count, c->m.count);
}

/* Callbacks that reschedule themselves, cancel and schedule others at
 * random, checked against the model after every advance. */
START_TEST(test_random_callbacks_against_model)
{
	enum { N = 20000, STEPS = 400, TICK = 3, NSLOTS = 32 };
	struct twheel w;
	struct chaos c;

	rng_state = 7;
	model_init(&c.m, N);
	c.touched_adv = calloc(N, sizeof(*c.touched_adv));
	c.w = &w;
	c.now = 777;
	c.rev = NSLOTS * TICK;
	twheel_init(&w, NSLOTS, TICK, c.now);
	model_random_ops(&c.m, &w, c.now, c.rev, N);
	for (int s = 0; s < STEPS; s++) {
		c.now = random_step(c.now, TICK, c.rev);
		twheel_advance(&w, c.now, fire_chaos, &c);
		chaos_check(&c);
		c.m.adv++;
		model_random_ops(&c.m, &w, c.now, c.rev, 200);
	}
	twheel_fini(&w);
	free(c.touched_adv);
	model_fini(&c.m);
}
END_TEST

static Suite *
twheel_suite(void)
{
	Suite *s = suite_create("twheel");
	TCase *basic = tcase_create("basic");
	TCase *cb = tcase_create("callbacks");
	TCase *model = tcase_create("model");

	tcase_add_test(basic, test_init_rounds_slots);
	tcase_add_test(basic, test_fires_at_expiry_never_early);
	tcase_add_test(basic, test_late_by_at_most_one_tick);
	tcase_add_test(basic, test_cancel);
	tcase_add_test(basic, test_reschedule);
	tcase_add_test(basic, test_schedule_in_past);
	tcase_add_test(basic, test_far_timer_waits_its_revolution);
	tcase_add_test(basic, test_big_jumps);
	tcase_add_test(basic, test_clock_steps_back);
	tcase_add_test(cb, test_fire_reschedules_into_future);
	tcase_add_test(cb, test_fire_reschedules_into_past);
	tcase_add_test(cb, test_fire_frees_node);
	tcase_add_test(cb, test_fire_cancels_other);
	tcase_add_test(cb, test_fire_schedules_other);
	tcase_add_loop_test(model, test_random_against_model, 0, 4);
	tcase_add_test(model, test_random_callbacks_against_model);
	tcase_set_timeout(model, 60);
	suite_add_tcase(s, basic);
	suite_add_tcase(s, cb);
	suite_add_tcase(s, model);
	return s;
}

int
main(void)
{
	return unit_run(twheel_suite());
}

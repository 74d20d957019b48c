#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "tools/agbench_multi.h"
#include "tools/agbench_topo.h"

static struct agbench_opts
idle_opts(unsigned connections, unsigned procs, unsigned sources)
{
	struct agbench_opts o;

	memset(&o, 0, sizeof(o));
	o.scenario = AGBENCH_IDLE;
	o.host = "127.0.0.1";
	o.path = "/socketcluster/";
	o.ports[0] = 8000;
	o.nports = 1;
	o.connections = connections;
	o.window = 16;
	o.concurrency = 1;
	o.sources = sources;
	o.procs = procs;
	o.ready_fd = o.hold_fd = -1;
	return o;
}

static uint32_t
src_host(const struct agbench_topo *t, uint32_t k)
{
	return ntohl(t->srcs[k].sin_addr.s_addr);
}

/* A run on its own binds 127.0.0.1 onward. */
START_TEST(test_sources_alone)
{
	struct agbench_opts o = idle_opts(10, 1, 3);
	struct agbench_topo t;

	ck_assert_int_eq(agbench_topo_init(&t, &o), 0);
	ck_assert_uint_eq(t.nsrcs, 3);
	ck_assert_uint_eq(src_host(&t, 0), 0x7f000001u);
	ck_assert_uint_eq(src_host(&t, 2), 0x7f000003u);
	agbench_topo_fini(&t);
}
END_TEST

/* With --procs, the children split the connections and each binds
 * addresses no other child uses: together procs x sources of them, so
 * that 55 processes of 16 reach one port with 880 addresses, not 16. */
START_TEST(test_sources_per_child)
{
	struct agbench_opts o = idle_opts(1000003, 55, 16);
	unsigned long total = 0;
	uint32_t next = 0x7f000001u;

	for (unsigned k = 0; k < o.procs; k++) {
		struct agbench_opts co;
		struct agbench_topo t;

		agbench_multi_share(&o, k, &co);
		ck_assert_uint_eq(co.procs, 1);
		ck_assert_uint_eq(co.npids, 0);
		ck_assert(co.connections == 18182 || co.connections == 18181);
		total += co.connections;
		co.connections = 2; /* the addresses do not depend on it */
		ck_assert_int_eq(agbench_topo_init(&t, &co), 0);
		ck_assert_uint_eq(t.nsrcs, 16);
		for (uint32_t j = 0; j < t.nsrcs; j++) {
			ck_assert_uint_eq(src_host(&t, j), next);
			next++;
		}
		agbench_topo_fini(&t);
	}
	ck_assert_uint_eq(total, 1000003);
	ck_assert_uint_eq(next, 0x7f000001u + 55 * 16); /* 127.0.3.113 */
}
END_TEST

static Suite *
topo_suite(void)
{
	Suite *s = suite_create("agbench_topo");
	TCase *tc = tcase_create("sources");

	tcase_add_test(tc, test_sources_alone);
	tcase_add_test(tc, test_sources_per_child);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(topo_suite());
}

/* check_upstream.c: unit tests for src/upstream.c. */
#include "config.h"

#include <string.h>

#include "addr.h"
#include "upstream.h"
#include "unit.h"

static struct sockaddr_storage servers[3];

static void
setup(void)
{
	ck_assert_int_eq(addr_parse("198.51.100.10:21", false, &servers[0]), 0);
	ck_assert_int_eq(addr_parse("198.51.100.11:21", false, &servers[1]), 0);
	ck_assert_int_eq(addr_parse("[2001:db8::12]:2121", false, &servers[2]), 0);
}

static int
which(const struct upstream *up)
{
	for (int i = 0; i < 3; i++)
		if (addr_equal((const struct sockaddr *)upstream_addr(up),
		    (const struct sockaddr *)&servers[i]))
			return i;
	return -1;
}

START_TEST(test_round_robin)
{
	struct upstream_registry *reg = upstream_registry_new();
	struct upstream_pool *pool;

	setup();
	pool = upstream_pool_get(reg, servers, 3);
	ck_assert_ptr_nonnull(pool);
	ck_assert_uint_eq(upstream_pool_size(pool), 3);
	/* The same list is the same pool (its turn goes on after a reload). */
	ck_assert_ptr_eq(upstream_pool_get(reg, servers, 3), pool);
	for (int i = 0; i < 9; i++)
		ck_assert_int_eq(which(upstream_choose(pool, 100)), i % 3);
	upstream_registry_free(reg);
}
END_TEST

/* One of two down: skipped for the recheck interval, then tried in turn
 * again; a failure takes it out again, a success puts it back. */
START_TEST(test_skip_and_recheck)
{
	struct upstream_registry *reg = upstream_registry_new();
	struct upstream_pool *pool;
	struct upstream *up;

	setup();
	pool = upstream_pool_get(reg, servers, 2);
	up = upstream_choose(pool, 100);
	ck_assert_int_eq(which(up), 0);
	ck_assert_int_eq(upstream_report(up, false, 100, 30), UPSTREAM_WENT_DOWN);
	ck_assert(!upstream_in_service(up, 129));
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(which(upstream_choose(pool, 110 + i)), 1);
	/* Interval over: its turn comes again. */
	ck_assert(upstream_in_service(up, 130));
	ck_assert_int_eq(which(upstream_choose(pool, 130)), 0);
	ck_assert_int_eq(upstream_report(up, false, 130, 30), UPSTREAM_SAME);
	ck_assert_int_eq(which(upstream_choose(pool, 131)), 1);
	ck_assert_int_eq(which(upstream_choose(pool, 131)), 1);
	ck_assert_int_eq(which(upstream_choose(pool, 160)), 0);
	ck_assert_int_eq(upstream_report(up, true, 160, 30), UPSTREAM_CAME_BACK);
	ck_assert_int_eq(which(upstream_choose(pool, 161)), 1);
	ck_assert_int_eq(which(upstream_choose(pool, 161)), 0);
	ck_assert_uint_eq(upstream_failures(up), 2);
	ck_assert_uint_eq(upstream_sessions(up), 4);
	upstream_registry_free(reg);
}
END_TEST

/* All out of service: the first to come back is tried, never none. */
START_TEST(test_all_down)
{
	struct upstream_registry *reg = upstream_registry_new();
	struct upstream_pool *pool;
	struct upstream *a, *b;

	setup();
	pool = upstream_pool_get(reg, servers, 2);
	a = upstream_choose(pool, 100);
	b = upstream_choose(pool, 100);
	upstream_report(b, false, 100, 30);
	upstream_report(a, false, 105, 30);
	ck_assert_ptr_eq(upstream_choose(pool, 110), b);
	ck_assert_ptr_eq(upstream_choose(pool, 110), b);
	upstream_registry_free(reg);
}
END_TEST

/* Two pools naming the same server share its standing. */
START_TEST(test_shared_standing)
{
	struct upstream_registry *reg = upstream_registry_new();
	struct upstream_pool *p1, *p2;

	setup();
	p1 = upstream_pool_get(reg, servers, 2);
	p2 = upstream_pool_get(reg, &servers[1], 2);
	ck_assert_ptr_ne(p1, p2);
	upstream_report(upstream_choose(p2, 100), false, 100, 30);   /* servers[1] */
	ck_assert_int_eq(which(upstream_choose(p1, 101)), 0);
	ck_assert_int_eq(which(upstream_choose(p1, 101)), 0);
	ck_assert_int_eq(which(upstream_choose(p2, 101)), 2);
	upstream_registry_free(reg);
}
END_TEST

Suite *
suite_upstream(void)
{
	Suite *s = suite_create("upstream");
	TCase *tc = tcase_create("pool");

	tcase_add_test(tc, test_round_robin);
	tcase_add_test(tc, test_skip_and_recheck);
	tcase_add_test(tc, test_all_down);
	tcase_add_test(tc, test_shared_standing);
	suite_add_tcase(s, tc);
	return s;
}

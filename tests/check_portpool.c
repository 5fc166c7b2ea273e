/* check_portpool.c: unit tests for src/portpool.c. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "portpool.h"
#include "unit.h"

START_TEST(test_new_rejects)
{
	ck_assert_ptr_null(portpool_new(0, 10));
	ck_assert_ptr_null(portpool_new(0, 0));
	ck_assert_ptr_null(portpool_new(50999, 50000));
	portpool_free(NULL);
}
END_TEST

START_TEST(test_each_port_once)
{
	struct portpool *pool = portpool_new(50000, 50015);
	bool seen[16];

	ck_assert_ptr_nonnull(pool);
	ck_assert_uint_eq(portpool_lo(pool), 50000);
	ck_assert_uint_eq(portpool_hi(pool), 50015);
	ck_assert_uint_eq(portpool_available(pool), 16);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 16; i++) {
		int port = portpool_take(pool);

		ck_assert_int_ge(port, 50000);
		ck_assert_int_le(port, 50015);
		ck_assert_msg(!seen[port - 50000], "port %d twice", port);
		seen[port - 50000] = true;
		ck_assert_uint_eq(portpool_available(pool), (size_t)(15 - i));
	}
	ck_assert_int_eq(portpool_take(pool), -1);
	ck_assert_int_eq(portpool_take(pool), -1);
	portpool_free(pool);
}
END_TEST

START_TEST(test_single_port_and_edges)
{
	struct portpool *one = portpool_new(65535, 65535);
	struct portpool *low = portpool_new(1, 2);

	ck_assert_int_eq(portpool_take(one), 65535);
	ck_assert_int_eq(portpool_take(one), -1);
	portpool_give(one, 65535);
	ck_assert_int_eq(portpool_take(one), 65535);

	ck_assert_int_ge(portpool_take(low), 1);
	ck_assert_int_ge(portpool_take(low), 1);
	ck_assert_int_eq(portpool_take(low), -1);
	portpool_free(one);
	portpool_free(low);
}
END_TEST

START_TEST(test_give_back)
{
	struct portpool *pool = portpool_new(40000, 40003);
	int taken[4];

	for (int i = 0; i < 4; i++)
		taken[i] = portpool_take(pool);
	ck_assert_int_eq(portpool_take(pool), -1);
	portpool_give(pool, (uint16_t)taken[2]);
	ck_assert_uint_eq(portpool_available(pool), 1);
	ck_assert_int_eq(portpool_take(pool), taken[2]);
	ck_assert_int_eq(portpool_take(pool), -1);
	for (int i = 0; i < 4; i++)
		portpool_give(pool, (uint16_t)taken[i]);
	ck_assert_uint_eq(portpool_available(pool), 4);
	portpool_free(pool);
}
END_TEST

START_TEST(test_double_and_foreign_give_ignored)
{
	struct portpool *pool = portpool_new(40000, 40003);
	int port = portpool_take(pool);
	bool seen[4];

	ck_assert_uint_eq(portpool_available(pool), 3);
	portpool_give(pool, (uint16_t)port);
	portpool_give(pool, (uint16_t)port);        /* double give */
	portpool_give(pool, port == 40001 ? 40002 : 40001); /* never taken */
	portpool_give(pool, 39999);                 /* outside */
	portpool_give(pool, 40004);
	portpool_give(pool, 0);
	ck_assert_uint_eq(portpool_available(pool), 4);
	/* Still each port exactly once. */
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 4; i++) {
		int p = portpool_take(pool);

		ck_assert_int_ge(p, 40000);
		ck_assert_int_le(p, 40003);
		ck_assert_msg(!seen[p - 40000], "port %d twice", p);
		seen[p - 40000] = true;
	}
	ck_assert_int_eq(portpool_take(pool), -1);
	portpool_free(pool);
}
END_TEST

START_TEST(test_not_sequential)
{
	struct portpool *pool = portpool_new(50000, 50999);
	int prev = portpool_take(pool), steps = 0;

	for (int i = 1; i < 20; i++) {
		int port = portpool_take(pool);

		if (port == prev + 1)
			steps++;
		prev = port;
	}
	/* Sequential handing out would give 19 steps of +1; a random draw
	 * from 1000 ports gives about 0.02. */
	ck_assert_int_lt(steps, 19);
	ck_assert_int_lt(steps, 3);
	portpool_free(pool);
}
END_TEST

/* Random words are drawn a buffer at a time: a forked worker must not
 * draw the words its parent had left (the same ports in the same order). */
START_TEST(test_fork_draws_anew)
{
	enum { N = 16 };
	struct portpool *pool = portpool_new(1, 65535), *again;
	int fds[2], mine[N], theirs[N], st;
	pid_t pid;

	(void)portpool_take(pool);       /* the buffer is filled */
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	again = portpool_new(1, 65535);
	for (int i = 0; i < N; i++)
		mine[i] = portpool_take(again);
	if (pid == 0) {
		ssize_t w = write(fds[1], mine, sizeof(mine));

		_exit(w == (ssize_t)sizeof(mine) ? 0 : 1);
	}
	ck_assert_int_eq(read(fds[0], theirs, sizeof(theirs)), (ssize_t)sizeof(theirs));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Equal by chance: 1 in 65535^16. */
	ck_assert(memcmp(mine, theirs, sizeof(mine)) != 0);
	close(fds[0]);
	close(fds[1]);
	portpool_free(again);
	portpool_free(pool);
}
END_TEST

START_TEST(test_full_range)
{
	struct portpool *pool = portpool_new(1, 65535);
	int n = 0;

	ck_assert_uint_eq(portpool_available(pool), 65535);
	while (portpool_take(pool) != -1)
		n++;
	ck_assert_int_eq(n, 65535);
	portpool_free(pool);
}
END_TEST

Suite *
suite_portpool(void)
{
	Suite *s = suite_create("portpool");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_new_rejects);
	tcase_add_test(tc, test_each_port_once);
	tcase_add_test(tc, test_single_port_and_edges);
	tcase_add_test(tc, test_give_back);
	tcase_add_test(tc, test_double_and_foreign_give_ignored);
	tcase_add_test(tc, test_not_sequential);
	tcase_add_test(tc, test_fork_draws_anew);
	tcase_add_test(tc, test_full_range);
	suite_add_tcase(s, tc);
	return s;
}

/* check_balance.c: the worker-balance eBPF program (src/balance.c), loaded
 * into this kernel and attached to real SO_REUSEPORT listeners on the
 * loopback: for given session counts, the worker whose socket gets each
 * new connection. It needs CAP_BPF (the suite runs as root); without it
 * the test says so and passes, and the workers lane, which checks the
 * gateway's own log, is the one that fails. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "balance.h"
#include "conf.h"
#include "unit.h"

#define MAX_W 3

struct group {
	struct config cf;
	struct listen_conf lc;
	struct sockaddr_in addr;
	int fd[MAX_W];
	unsigned n;
	struct balance *b;
};

/* N reuseport listeners on one free loopback port, joined to a balance
 * for them; false (nothing open) when the kernel will not load it. */
static bool
group_open(struct group *g, unsigned n)
{
	socklen_t len = sizeof(g->addr);
	char err[200];
	int on = 1;

	memset(g, 0, sizeof(*g));
	g->n = n;
	g->addr.sin_family = AF_INET;
	g->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (unsigned i = 0; i < n; i++) {
		g->fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(g->fd[i], 0);
		ck_assert_int_eq(setsockopt(g->fd[i], SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)), 0);
		ck_assert_int_eq(bind(g->fd[i], (struct sockaddr *)&g->addr, sizeof(g->addr)), 0);
		if (i == 0)      /* the port the kernel chose, for the others */
			ck_assert_int_eq(getsockname(g->fd[0], (struct sockaddr *)&g->addr, &len), 0);
		ck_assert_int_eq(listen(g->fd[i], 16), 0);
	}
	memcpy(&g->lc.addr, &g->addr, sizeof(g->addr));
	g->cf.listens = &g->lc;
	g->cf.n_listens = 1;
	if ((g->b = balance_new(&g->cf, n, err, sizeof(err))) == NULL) {
		fprintf(stderr, "check_balance: not tested here: %s\n", err);
		for (unsigned i = 0; i < n; i++)
			close(g->fd[i]);
		return false;
	}
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(balance_join(g->b, (struct sockaddr *)&g->addr, i, g->fd[i]), 1);
	return true;
}

static void
group_close(struct group *g)
{
	for (unsigned i = 0; i < g->n; i++)
		if (g->fd[i] != -1)
			close(g->fd[i]);
	balance_free(g->b);
}

/* Set the counts to LOADS, connect once, and return the worker whose
 * listener has the connection (-1: none within a second). */
static int
pick(struct group *g, const unsigned *loads)
{
	struct pollfd p[MAX_W];
	int c, got = -1;

	for (unsigned i = 0; i < g->n; i++) {
		balance_reset(g->b, i);
		for (unsigned k = 0; k < loads[i]; k++)
			balance_count(g->b, i, +1);
	}
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&g->addr, sizeof(g->addr)), 0);
	for (unsigned i = 0; i < g->n; i++)
		p[i] = (struct pollfd){ .fd = g->fd[i], .events = POLLIN };
	ck_assert_int_eq(poll(p, g->n, 1000), 1);
	for (unsigned i = 0; i < g->n; i++) {
		if (!(p[i].revents & POLLIN))
			continue;
		close(accept(g->fd[i], NULL, NULL));
		got = (int)i;
	}
	close(c);
	return got;
}

START_TEST(test_two_workers)
{
	/* Each row: the counts, and the first worker within BALANCE_SLACK
	 * (2) of the least busy. */
	static const struct { unsigned loads[2]; int want; } t[] = {
		{ { 0, 0 }, 0 },
		{ { 1, 0 }, 0 },        /* the last session still ending */
		{ { 2, 0 }, 0 },
		{ { 3, 0 }, 1 },
		{ { 3, 1 }, 0 },
		{ { 4, 1 }, 1 },
		{ { 0, 5 }, 0 },
		{ { 40, 41 }, 0 },
		{ { 43, 40 }, 1 },
	};
	struct group g;

	if (!group_open(&g, 2))
		return;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (int k = 0; k < 3; k++) {
			int got = pick(&g, t[i].loads);

			ck_assert_msg(got == t[i].want, "loads %u %u: worker %d, expected %d",
			    t[i].loads[0], t[i].loads[1], got, t[i].want);
		}
	group_close(&g);
}
END_TEST

START_TEST(test_three_workers)
{
	static const struct { unsigned loads[3]; int want; } t[] = {
		{ { 5, 3, 4 }, 0 },
		{ { 6, 3, 4 }, 1 },
		{ { 6, 6, 4 }, 0 },
		{ { 7, 7, 4 }, 2 },
		{ { 9, 7, 7 }, 0 },
		{ { 10, 7, 7 }, 1 },
	};
	struct group g;

	if (!group_open(&g, 3))
		return;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int got = pick(&g, t[i].loads);

		ck_assert_msg(got == t[i].want, "loads %u %u %u: worker %d, expected %d",
		    t[i].loads[0], t[i].loads[1], t[i].loads[2], got, t[i].want);
	}
	group_close(&g);
}
END_TEST

START_TEST(test_other_addresses)
{
	struct group g;
	struct sockaddr_in other;

	if (!group_open(&g, 2))
		return;
	other = g.addr;
	other.sin_port = htons((uint16_t)(ntohs(g.addr.sin_port) ^ 1));
	/* An address the configuration did not have at start: the hash. */
	ck_assert_int_eq(balance_join(g.b, (struct sockaddr *)&other, 0, g.fd[0]), 0);
	/* A worker number beyond the program's. */
	ck_assert_int_eq(balance_join(g.b, (struct sockaddr *)&g.addr, 2, g.fd[0]), 0);
	ck_assert_int_eq(balance_join(NULL, (struct sockaddr *)&g.addr, 0, g.fd[0]), 0);
	/* Joining again with the socket still in the map (a worker started
	 * again under -S, on its predecessor's socket) replaces the entry. */
	ck_assert_int_eq(balance_join(g.b, (struct sockaddr *)&g.addr, 1, g.fd[1]), 1);
	ck_assert_int_eq(pick(&g, (const unsigned[]){ 3, 0 }), 1);
	/* Worker 1 leaves, its socket still open (it is in systemd's store):
	 * what the program would give it is the kernel's hash's to spread,
	 * so of 24 connections some reach worker 0 (all 24 to worker 1 by
	 * chance: 1 in 2^24). */
	balance_leave(g.b, 1);
	{
		int to_0 = 0;

		for (int k = 0; k < 24; k++)
			to_0 += pick(&g, (const unsigned[]){ 3, 0 }) == 0;
		ck_assert_msg(to_0 > 0, "worker 1 left, yet all 24 connections went to it");
	}
	/* And once its socket is closed, worker 0 takes them all. */
	close(g.fd[1]);
	g.fd[1] = -1;
	for (int k = 0; k < 3; k++)
		ck_assert_int_eq(pick(&g, (const unsigned[]){ 3, 0 }), 0);
	group_close(&g);
}
END_TEST

Suite *
suite_balance(void)
{
	Suite *s = suite_create("balance");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_two_workers);
	tcase_add_test(tc, test_three_workers);
	tcase_add_test(tc, test_other_addresses);
	suite_add_tcase(s, tc);
	return s;
}

/* check_shared.c: unit tests for src/shared.c: the session limits over
 * several workers, the client table under churn (against a plain model),
 * forgetting a crashed worker, that the mapping really is shared with a
 * forked process, and that every counter is shown and documented. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "shared.h"
#include "unit.h"

static struct sockaddr_storage
host4(const char *s, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, s, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage
host6(const char *s, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, s, &sin6->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

START_TEST(test_new_rejects_zero_workers)
{
	ck_assert_ptr_null(shared_new(0, 10));
}
END_TEST

START_TEST(test_per_client_over_workers)
{
	struct shared *sh = shared_new(2, 100);
	struct sockaddr_storage a = host4("198.51.100.10", 1000);
	struct sockaddr_storage a2 = host4("198.51.100.10", 2000);
	struct sockaddr_storage b = host4("198.51.100.11", 1000);

	ck_assert_ptr_nonnull(sh);
	ck_assert_uint_eq(shared_workers(sh), 2);
	/* Three sessions of one host, on two workers: the limit is the sum. */
	ck_assert_int_eq(shared_admit(sh, 0, SA(a), 100, 3), ADMIT_OK);
	ck_assert_int_eq(shared_admit(sh, 1, SA(a2), 100, 3), ADMIT_OK);
	ck_assert_int_eq(shared_admit(sh, 1, SA(a), 100, 3), ADMIT_OK);
	ck_assert_int_eq(shared_admit(sh, 0, SA(a), 100, 3), ADMIT_MAX_PER_CLIENT);
	ck_assert_int_eq(shared_admit(sh, 1, SA(a), 100, 3), ADMIT_MAX_PER_CLIENT);
	ck_assert_int_eq(shared_admit(sh, 0, SA(b), 100, 3), ADMIT_OK);
	ck_assert_uint_eq(shared_client_sessions(sh, SA(a)), 3);
	ck_assert_uint_eq(shared_client_sessions(sh, SA(b)), 1);
	ck_assert_uint_eq(shared_sessions(sh, 0), 2);
	ck_assert_uint_eq(shared_sessions(sh, 1), 2);
	ck_assert_uint_eq(shared_sessions_total(sh), 4);
	/* One ends: room for one more, on either worker. */
	shared_release(sh, 1, SA(a));
	ck_assert_uint_eq(shared_client_sessions(sh, SA(a)), 2);
	ck_assert_int_eq(shared_admit(sh, 0, SA(a), 100, 3), ADMIT_OK);
	ck_assert_str_eq(shared_admit_reason(ADMIT_MAX_PER_CLIENT), "max-sessions-per-client reached");
	shared_free(sh);
}
END_TEST

START_TEST(test_max_sessions_over_workers)
{
	struct shared *sh = shared_new(3, 10);
	char ip[32];

	ck_assert_ptr_nonnull(sh);
	for (int i = 0; i < 10; i++) {
		struct sockaddr_storage c;

		snprintf(ip, sizeof(ip), "203.0.113.%d", i + 1);
		c = host4(ip, 40000);
		ck_assert_int_eq(shared_admit(sh, (unsigned)i % 3, SA(c), 10, 50), ADMIT_OK);
	}
	{
		struct sockaddr_storage c = host4("203.0.113.200", 1);

		for (unsigned w = 0; w < 3; w++)
			ck_assert_int_eq(shared_admit(sh, w, SA(c), 10, 50), ADMIT_MAX_SESSIONS);
		ck_assert_uint_eq(shared_client_sessions(sh, SA(c)), 0);
	}
	ck_assert_uint_eq(shared_sessions_total(sh), 10);
	shared_free(sh);
}
END_TEST

START_TEST(test_v4_and_mapped_are_one_host)
{
	struct shared *sh = shared_new(1, 10);
	struct sockaddr_storage v4 = host4("198.51.100.7", 1);
	struct sockaddr_storage mapped = host6("::ffff:198.51.100.7", 2);
	struct sockaddr_storage v6 = host6("2001:db8::7", 3);

	ck_assert_int_eq(shared_admit(sh, 0, SA(v4), 10, 2), ADMIT_OK);
	ck_assert_int_eq(shared_admit(sh, 0, SA(mapped), 10, 2), ADMIT_OK);
	ck_assert_int_eq(shared_admit(sh, 0, SA(v4), 10, 2), ADMIT_MAX_PER_CLIENT);
	ck_assert_int_eq(shared_admit(sh, 0, SA(v6), 10, 2), ADMIT_OK);
	shared_release(sh, 0, SA(mapped));
	ck_assert_uint_eq(shared_client_sessions(sh, SA(v4)), 1);
	shared_free(sh);
}
END_TEST

START_TEST(test_release_of_unknown_is_ignored)
{
	struct shared *sh = shared_new(2, 10);
	struct sockaddr_storage a = host4("198.51.100.1", 1);

	shared_release(sh, 0, SA(a));
	ck_assert_int_eq(shared_admit(sh, 0, SA(a), 10, 5), ADMIT_OK);
	shared_release(sh, 1, SA(a));    /* not counted on worker 1 */
	ck_assert_uint_eq(shared_sessions_total(sh), 1);
	ck_assert_uint_eq(shared_client_sessions(sh, SA(a)), 1);
	shared_free(sh);
}
END_TEST

/* Many hosts come and go in a small table (long runs, wrap-around): after
 * every step each host's count equals a plain model's. */
START_TEST(test_churn_against_model)
{
	enum { HOSTS = 600, WORKERS = 3, STEPS = 60000 };
	static unsigned model[HOSTS][WORKERS];
	struct shared *sh = shared_new(WORKERS, 512);   /* 1024 slots */
	unsigned live = 0;

	memset(model, 0, sizeof(model));
	srandom(42);
	for (int step = 0; step < STEPS; step++) {
		unsigned h = (unsigned)random() % HOSTS, w = (unsigned)random() % WORKERS;
		struct sockaddr_storage c;
		char ip[64];

		snprintf(ip, sizeof(ip), "2001:db8::%x:%x", h / 7, h);
		c = host6(ip, 5);
		if (random() % 2 == 0) {
			enum shared_admit v = shared_admit(sh, w, SA(c), 100000, 4);
			unsigned sum = model[h][0] + model[h][1] + model[h][2];

			if (sum >= 4) {
				ck_assert_int_eq(v, ADMIT_MAX_PER_CLIENT);
			} else if (v == ADMIT_OK) {
				model[h][w]++;
				live++;
			} else {
				/* Only a full table may refuse below the limit. */
				ck_assert_int_eq(v, ADMIT_TABLE_FULL);
			}
		} else if (model[h][w] > 0) {
			shared_release(sh, w, SA(c));
			model[h][w]--;
			live--;
		}
		if (step % 997 == 0)
			for (unsigned k = 0; k < HOSTS; k++) {
				snprintf(ip, sizeof(ip), "2001:db8::%x:%x", k / 7, k);
				c = host6(ip, 5);
				ck_assert_uint_eq(shared_client_sessions(sh, SA(c)),
				    model[k][0] + model[k][1] + model[k][2]);
			}
	}
	ck_assert_uint_eq(shared_sessions_total(sh), live);
	/* Worker 1 crashes: its sessions are gone, the others' stay. */
	shared_forget_worker(sh, 1);
	live = 0;
	for (unsigned k = 0; k < HOSTS; k++) {
		struct sockaddr_storage c;
		char ip[64];

		snprintf(ip, sizeof(ip), "2001:db8::%x:%x", k / 7, k);
		c = host6(ip, 5);
		ck_assert_uint_eq(shared_client_sessions(sh, SA(c)), model[k][0] + model[k][2]);
		live += model[k][0] + model[k][2];
	}
	ck_assert_uint_eq(shared_sessions(sh, 1), 0);
	ck_assert_uint_eq(shared_sessions_total(sh), live);
	shared_free(sh);
}
END_TEST

START_TEST(test_table_full_is_refused_not_overrun)
{
	struct shared *sh = shared_new(1, 1);     /* the minimum: 1024 slots */
	size_t cap = shared_capacity(sh), i;

	ck_assert_uint_eq(cap, 896);
	for (i = 0; i < cap; i++) {
		struct sockaddr_storage c;
		char ip[64];

		snprintf(ip, sizeof(ip), "2001:db8::1:%zx", i);
		c = host6(ip, 1);
		ck_assert_int_eq(shared_admit(sh, 0, SA(c), 100000, 1), ADMIT_OK);
	}
	{
		struct sockaddr_storage c = host6("2001:db8::2:1", 1);
		struct sockaddr_storage old = host6("2001:db8::1:0", 1);

		ck_assert_int_eq(shared_admit(sh, 0, SA(c), 100000, 1), ADMIT_TABLE_FULL);
		/* A host already in the table needs no slot. */
		ck_assert_int_eq(shared_admit(sh, 0, SA(old), 100000, 2), ADMIT_OK);
	}
	shared_free(sh);
}
END_TEST

START_TEST(test_counters_sum_over_workers)
{
	struct shared *sh = shared_new(2, 10);
	struct gw_stats sum;

	shared_stats(sh, 0)->bytes_to_client = 5;
	shared_stats(sh, 1)->bytes_to_client = 7;
	shared_stats(sh, 1)->reloads = 1;
	shared_stats_sum(sh, &sum);
	ck_assert_uint_eq(sum.bytes_to_client, 12);
	ck_assert_uint_eq(sum.reloads, 1);
	ck_assert_uint_eq(sum.sessions_total, 0);
	shared_free(sh);
}
END_TEST

/* Every counter of GW_STATS is summed over the workers (shared_stats_sum
 * is generated from the list: a counter cannot be left out). */
START_TEST(test_every_counter_summed)
{
	struct shared *sh = shared_new(2, 10);
	struct gw_stats sum;
	uint64_t i = 0;

#define SET_counter(field) \
	i++; shared_stats(sh, 0)->field = i * 1000 + 1; shared_stats(sh, 1)->field = i * 1000 + 2;
#define SET_gauge(field)
#define SET(field, type, name, family, labels, help) SET_##type(field)
	GW_STATS(SET)
	shared_stats_sum(sh, &sum);
	i = 0;
#define CHECK_counter(field) i++; ck_assert_uint_eq(sum.field, i * 2000 + 3);
#define CHECK_gauge(field)
#define CHECK(field, type, name, family, labels, help) CHECK_##type(field)
	GW_STATS(CHECK)
	ck_assert_uint_ge(i, 10);
	shared_free(sh);
}
END_TEST

static char *
stats_text(struct shared *sh, enum stats_format format)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	shared_stats_write(sh, f, format);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

static unsigned
count_lines(const char *text, const char *line)
{
	size_t n = strlen(line);
	unsigned count = 0;

	for (const char *p = text; *p != '\0'; p = strchr(p, '\n') + 1) {
		ck_assert_ptr_nonnull(strchr(p, '\n'));
		if (strncmp(p, line, n) == 0 && p[n] == '\n')
			count++;
	}
	return count;
}

/* Does A occur in TEXT, before B? */
static bool
before(const char *text, const char *a, const char *b)
{
	const char *pa = strstr(text, a), *pb = strstr(text, b);

	return pa != NULL && pb != NULL && pa < pb;
}

/* Every entry of GW_STATS appears in "ftpgwctl stats" and in the metrics,
 * once, with its value; every metric family has one HELP and one TYPE
 * line before its first sample, and the samples of a family agree on
 * them. */
START_TEST(test_every_stat_in_stats_and_metrics)
{
	struct shared *sh = shared_new(3, 10);
	struct sockaddr_storage c = host4("198.51.100.7", 1000);
	char *text, *metrics, line[512];
	unsigned entries = 0, lines = 0;
	uint64_t i = 0;

	ck_assert_int_eq(shared_admit(sh, 0, (struct sockaddr *)&c, 10, 10), ADMIT_OK);
	ck_assert_int_eq(shared_admit(sh, 2, (struct sockaddr *)&c, 10, 10), ADMIT_OK);
	GW_STATS(SET)
	text = stats_text(sh, STATS_TEXT);
	metrics = stats_text(sh, STATS_PROMETHEUS);
	i = 0;
	/* The value: a counter's sum, or the gauge (2 sessions, 3 workers, the
	 * build 1, the start). */
#define VALUE_counter(field) (i * 2000 + 3)
#define VALUE_gauge(field) (strcmp(#field, "sessions_active") == 0 ? 2 : \
	strcmp(#field, "workers") == 0 ? 3 : strcmp(#field, "build_info") == 0 ? 1 : \
	strcmp(#field, "start_time") == 0 ? (uint64_t)shared_start_time(sh) : \
	(ck_abort_msg("gauge " #field "?"), 0))
#define LOOK(field, type, name, family, labels, help) \
	if (strcmp(#type, "counter") == 0) \
		i++; \
	entries++; \
	snprintf(line, sizeof(line), "%s %llu", name, \
	    (unsigned long long)VALUE_##type(field)); \
	ck_assert_msg(count_lines(text, line) == 1, "stats: no line '%s' in:\n%s", line, text); \
	snprintf(line, sizeof(line), "%s%s%s%s %llu", family, labels[0] ? "{" : "", labels, \
	    labels[0] ? "}" : "", (unsigned long long)VALUE_##type(field)); \
	ck_assert_msg(count_lines(metrics, line) == 1, "metrics: no line '%s' in:\n%s", line, \
	    metrics); \
	ck_assert(before(metrics, "# TYPE " family " ", line)); \
	snprintf(line, sizeof(line), "# HELP %s %s", family, help); \
	ck_assert_msg(count_lines(metrics, line) == 1, "metrics: no line '%s'", line); \
	snprintf(line, sizeof(line), "# TYPE %s %s", family, #type); \
	ck_assert_msg(count_lines(metrics, line) == 1, "metrics: no line '%s'", line); \
	ck_assert(before(metrics, "# HELP " family " ", line));
	GW_STATS(LOOK)
	/* Nothing else in the stats: one line per entry. */
	for (const char *p = text; *p != '\0'; p = strchr(p, '\n') + 1)
		lines++;
	ck_assert_uint_eq(lines, entries);
	ck_assert_uint_ge(entries, 13);
	free(text);
	free(metrics);
	shared_free(sh);
}
END_TEST

/* Every metric family (GW_STATS, SHARED_TALLY_KINDS) has its entry in
 * man/ftpgw.8.in's list, ".It Li FAMILY" (alone or first of a comma
 * list), and every label value of the family is named in the page. */
/* WORD is a word of some line of MAN that starts with ".Li ". */
static bool
man_li_word(const char *man, const char *word)
{
	size_t n = strlen(word);

	for (const char *q = strstr(man, word); q != NULL; q = strstr(q + 1, word)) {
		const char *line = q;

		while (line > man && line[-1] != '\n')
			line--;
		if (strncmp(line, ".Li ", 4) == 0 && q[-1] == ' ' &&
		    (q[n] == ' ' || q[n] == '\n'))
			return true;
	}
	return false;
}

static unsigned
man_lacks_family(const char *man, const char *family, const char *labels)
{
	char want[256];
	const char *q;
	unsigned missing = 0;
	bool found = false;

	for (const char *p = man; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (strncmp(p, ".It Li ", 7) != 0)
			continue;
		q = strstr(p, family);
		if (q != NULL && q < strchr(p, '\n') &&
		    (q[strlen(family)] == ' ' || q[strlen(family)] == '\n'))
			found = true;
	}
	if (!found) {
		fprintf(stderr, "man/ftpgw.8.in: no entry .It Li %s\n", family);
		missing++;
	}
	/* labels key="value": the value as a word of a .Li line (alone or in
	 * a comma list); the build's version is not a value to document. */
	if ((q = strchr(labels, '"')) != NULL && strncmp(labels, "version=", 8) != 0) {
		snprintf(want, sizeof(want), "%.*s", (int)strcspn(q + 1, "\""), q + 1);
		if (!man_li_word(man, want)) {
			fprintf(stderr, "man/ftpgw.8.in: %s{%s}: '%s' in no .Li line\n",
			    family, labels, want);
			missing++;
		}
	}
	return missing;
}

START_TEST(test_every_family_in_man_page)
{
	char *man = test_slurp("man/ftpgw.8.in");
	unsigned missing = 0;

#define MAN_STAT(field, type, name, family, labels, help) \
	missing += man_lacks_family(man, family, labels);
#define MAN_KIND(kind, name, family, key, help, ...) \
	missing += man_lacks_family(man, family, "");
	GW_STATS(MAN_STAT)
	SHARED_TALLY_KINDS(MAN_KIND)
	free(man);
	ck_assert_msg(missing == 0, "%u gaps in man/ftpgw.8.in (above)", missing);
}
END_TEST

/* The point of it all: a forked worker's sessions count in the parent. */
START_TEST(test_shared_with_forked_process)
{
	struct shared *sh = shared_new(2, 10);
	struct sockaddr_storage a = host4("198.51.100.20", 1);
	pid_t pid;
	int st;

	ck_assert_int_eq(shared_admit(sh, 0, SA(a), 10, 2), ADMIT_OK);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		int ok = shared_admit(sh, 1, SA(a), 10, 2) == ADMIT_OK &&
		    shared_admit(sh, 1, SA(a), 10, 2) == ADMIT_MAX_PER_CLIENT;

		shared_stats(sh, 1)->sessions_total = 1;
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_uint_eq(shared_client_sessions(sh, SA(a)), 2);
	ck_assert_uint_eq(shared_sessions(sh, 1), 1);
	ck_assert_uint_eq(shared_stats(sh, 1)->sessions_total, 1);
	/* It "crashed": forgetting it frees the host's second place. */
	shared_forget_worker(sh, 1);
	ck_assert_int_eq(shared_admit(sh, 0, SA(a), 10, 2), ADMIT_OK);
	shared_free(sh);
}
END_TEST

/* A worker killed in the middle of an update, holding the lock (steps 1
 * and 2 inside shared_admit, 3 inside shared_release): the next locker
 * rebuilds the totals from the table, forgetting the dead worker leaves
 * every count at zero, and max-sessions admits as many as before. */
START_TEST(test_worker_killed_mid_update)
{
	for (int step = 1; step <= 3; step++) {
		struct shared *sh = shared_new(2, 4);
		struct sockaddr_storage a = host4("198.51.100.20", 1);
		struct sockaddr_storage b = host4("198.51.100.21", 1);
		pid_t pid;
		int st;

		/* Worker 0 has a session from B, worker 1 one from A. */
		ck_assert_int_eq(shared_admit(sh, 0, SA(b), 4, 4), ADMIT_OK);
		ck_assert_int_eq(shared_admit(sh, 1, SA(a), 4, 4), ADMIT_OK);
		pid = fork();
		ck_assert_int_ne(pid, -1);
		if (pid == 0) {
			shared_test_crash_step = step;
			if (step == 3)
				shared_release(sh, 1, SA(a));
			else
				(void)shared_admit(sh, 1, SA(a), 4, 4);
			_exit(0);        /* not reached: it dies at the step */
		}
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3, "step %d: no crash", step);
		/* The supervisor forgets the dead worker 1. */
		shared_forget_worker(sh, 1);
		ck_assert_msg(shared_sessions_total(sh) == 1, "step %d: total %u, expected 1",
		    step, shared_sessions_total(sh));
		ck_assert_uint_eq(shared_sessions(sh, 0), 1);
		ck_assert_uint_eq(shared_sessions(sh, 1), 0);
		ck_assert_uint_eq(shared_client_sessions(sh, SA(a)), 0);
		ck_assert_uint_eq(shared_client_sessions(sh, SA(b)), 1);
		/* max-sessions 4: three more fit, the fifth does not. */
		for (int i = 0; i < 3; i++)
			ck_assert_int_eq(shared_admit(sh, 1, SA(a), 4, 4), ADMIT_OK);
		ck_assert_int_eq(shared_admit(sh, 1, SA(a), 4, 4), ADMIT_MAX_SESSIONS);
		shared_free(sh);
	}
}
END_TEST

/* Named counters: one entry per (kind, name), found again by any worker,
 * bounded, and never a name that does not fit. */
START_TEST(test_tally_slots)
{
	struct shared *sh = shared_new(2, 10);
	char name[80];
	int a, b, c;

	a = shared_tally_slot(sh, "rule", "a");
	b = shared_tally_slot(sh, "rule", "b");
	c = shared_tally_slot(sh, "upstream", "a");
	ck_assert_int_ge(a, 0);
	ck_assert_int_ne(a, b);
	ck_assert_int_ne(a, c);
	ck_assert_int_eq(shared_tally_slot(sh, "rule", "a"), a);
	ck_assert_int_eq(shared_tally_slot(sh, "", "a"), -1);
	ck_assert_int_eq(shared_tally_slot(sh, "rule", ""), -1);
	memset(name, 'x', sizeof(name));
	name[SHARED_TALLY_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(shared_tally_slot(sh, "rule", name), -1);
	name[SHARED_TALLY_NAME_MAX] = '\0';
	ck_assert_int_ge(shared_tally_slot(sh, "rule", name), 0);
	shared_tally_add(sh, 0, a, 1, 2);
	shared_tally_add(sh, 1, a, 1, 5);
	shared_tally_add(sh, 1, b, 0, 1);
	ck_assert_uint_eq(shared_tally_get(sh, a, 1), 7);
	ck_assert_uint_eq(shared_tally_get(sh, a, 0), 0);
	ck_assert_uint_eq(shared_tally_get(sh, b, 0), 1);
	/* Full: new names are refused, known ones still found. */
	for (int i = 0; i < SHARED_TALLY_MAX; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		(void)shared_tally_slot(sh, "rule", name);
	}
	ck_assert_int_eq(shared_tally_slot(sh, "rule", "one-more"), -1);
	ck_assert_int_eq(shared_tally_slot(sh, "rule", "b"), b);
	ck_assert_uint_eq(shared_tally_get(sh, a, 1), 7);
	shared_free(sh);
}
END_TEST

/* Two workers, the second a forked process: the entries it makes are the
 * parent's too, the counts are summed, and the stats and the metrics show
 * every column of every rule. */
START_TEST(test_tally_over_forked_workers)
{
	struct shared *sh = shared_new(2, 10);
	int a = shared_tally_slot(sh, "rule", "no-anon");
	char *text, *metrics;
	pid_t pid;
	int st;

	ck_assert_int_ge(a, 0);
	shared_tally_add(sh, 0, a, 1, 2);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		int mine = shared_tally_slot(sh, "rule", "no-anon");
		int other = shared_tally_slot(sh, "rule", "lan");

		if (mine != a || other < 0)
			_exit(1);
		shared_tally_add(sh, 1, mine, 1, 3);
		shared_tally_add(sh, 1, other, 0, 4);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_uint_eq(shared_tally_get(sh, a, 1), 5);
	ck_assert_uint_eq(shared_tally_get(sh, shared_tally_slot(sh, "rule", "lan"), 0), 4);
	text = stats_text(sh, STATS_TEXT);
	metrics = stats_text(sh, STATS_PROMETHEUS);
	ck_assert_uint_eq(count_lines(text, "rule_matches{rule=\"no-anon\",action=\"deny\"} 5"), 1);
	ck_assert_uint_eq(count_lines(text, "rule_matches{rule=\"no-anon\",action=\"allow\"} 0"), 1);
	ck_assert_uint_eq(count_lines(text, "rule_matches{rule=\"lan\",action=\"allow\"} 4"), 1);
	ck_assert_uint_eq(count_lines(text, "rule_matches{rule=\"lan\",action=\"deny\"} 0"), 1);
	ck_assert_uint_eq(count_lines(metrics,
	    "ftpgw_rule_matches_total{rule=\"no-anon\",action=\"deny\"} 5"), 1);
	ck_assert_uint_eq(count_lines(metrics,
	    "ftpgw_rule_matches_total{rule=\"lan\",action=\"allow\"} 4"), 1);
	ck_assert_uint_eq(count_lines(metrics, "# TYPE ftpgw_rule_matches_total counter"), 1);
	ck_assert(before(metrics, "# HELP ftpgw_rule_matches_total ",
	    "ftpgw_rule_matches_total{rule=\"no-anon\""));
	ck_assert(before(text, "workers ", "rule_matches{"));
	free(text);
	free(metrics);
	shared_free(sh);
}
END_TEST

Suite *
suite_shared(void)
{
	Suite *s = suite_create("shared");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_new_rejects_zero_workers);
	tcase_add_test(tc, test_per_client_over_workers);
	tcase_add_test(tc, test_max_sessions_over_workers);
	tcase_add_test(tc, test_v4_and_mapped_are_one_host);
	tcase_add_test(tc, test_release_of_unknown_is_ignored);
	tcase_add_test(tc, test_churn_against_model);
	tcase_add_test(tc, test_table_full_is_refused_not_overrun);
	tcase_add_test(tc, test_counters_sum_over_workers);
	tcase_add_test(tc, test_every_counter_summed);
	tcase_add_test(tc, test_every_stat_in_stats_and_metrics);
	tcase_add_test(tc, test_every_family_in_man_page);
	tcase_add_test(tc, test_shared_with_forked_process);
	tcase_add_test(tc, test_worker_killed_mid_update);
	tcase_add_test(tc, test_tally_slots);
	tcase_add_test(tc, test_tally_over_forked_workers);
	suite_add_tcase(s, tc);
	return s;
}

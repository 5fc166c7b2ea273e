/* check_ratelimit.c: unit tests for src/ratelimit.c (the token buckets of
 * the bandwidth limits: steady rate, burst bound, idle credit capped at
 * the burst, independent directions, the configuration's rate syntax) and
 * for the per-client buckets of src/shared.c (one per host over workers
 * and directions, forgotten once full when the table fills). Time is
 * simulated: "now" is a number the test advances. */
#include "config.h"

#include <stdio.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "ratelimit.h"
#include "shared.h"
#include "unit.h"

#define NS 1000000000ULL
#define MiB (1024ULL * 1024)
/* A "now" far from 0, like CLOCK_MONOTONIC on a machine up for a while. */
#define T0 (3600 * NS)

/* A greedy reader: takes CHUNK whenever it may, sleeping exactly as told,
 * for SECONDS of simulated time; returns the bytes it got. */
static uint64_t
greedy(struct rl_bucket *b, uint64_t rate, uint64_t start, double seconds,
    size_t chunk)
{
	uint64_t now = start, end = start + (uint64_t)(seconds * NS), got = 0;

	while (now < end) {
		uint64_t w = rl_take(b, rate, now, chunk);

		if (w == 0)
			got += chunk;
		else
			now += w;
	}
	return got;
}

START_TEST(test_steady_rate)
{
	/* 5 s at 2 MiB/s in 64 KiB chunks: 10 MiB plus the first burst. */
	struct rl_bucket b = { 0 };
	uint64_t rate = 2 * MiB, got = greedy(&b, rate, T0, 5.0, rl_chunk(rate));

	ck_assert_uint_eq(rl_chunk(rate), 64 * 1024);
	ck_assert_uint_ge(got, 10 * MiB + rl_burst(rate) - rl_chunk(rate));
	ck_assert_uint_le(got, 10 * MiB + rl_burst(rate) + rl_chunk(rate));
	/* An odd rate, odd chunks: the rounding loses nothing measurable. */
	memset(&b, 0, sizeof(b));
	got = greedy(&b, 1000003, T0, 10.0, 4099);
	ck_assert_uint_ge(got, 10000030 + rl_burst(1000003) - 2 * 4099);
	ck_assert_uint_le(got, 10000030 + rl_burst(1000003) + 4099);
}
END_TEST

START_TEST(test_burst_bound)
{
	struct rl_bucket b = { 0 };
	uint64_t rate = 8 * MiB, burst = rl_burst(rate), now = T0;

	/* 1/8 s of the rate, 64 KiB at least. */
	ck_assert_uint_eq(burst, MiB);
	ck_assert_uint_eq(rl_burst(100000), RL_BURST_MIN);
	ck_assert_uint_eq(rl_burst(0x100000000ULL), 0x20000000ULL);
	/* A full bucket gives one burst at once, not a byte more. */
	ck_assert_uint_eq(rl_available(&b, rate, now), burst);
	ck_assert_uint_eq(rl_take(&b, rate, now, burst), 0);
	ck_assert_uint_eq(rl_available(&b, rate, now), 0);
	ck_assert_uint_gt(rl_take(&b, rate, now, 1), 0);
	/* Then the rate: 1 KiB after 1/8192 s (rounded up to the ns). */
	ck_assert_uint_eq(rl_wait(&b, rate, now, 1024), (NS + 8191) / 8192);
	ck_assert_uint_gt(rl_take(&b, rate, now + NS / 8192, 1024), 0);
	ck_assert_uint_eq(rl_take(&b, rate, now + NS / 8192 + 1, 1024), 0);
	/* The chunk always fits in the burst, within its bounds. */
	for (uint64_t r = 1; r <= RL_RATE_MAX; r *= 3) {
		ck_assert_uint_le(rl_chunk(r), rl_burst(r) / 2);
		ck_assert_uint_ge(rl_chunk(r), RL_CHUNK_MIN);
		ck_assert_uint_le(rl_chunk(r), RL_CHUNK_MAX);
	}
}
END_TEST

START_TEST(test_idle_time_capped_at_burst)
{
	struct rl_bucket b = { 0 };
	uint64_t rate = 2 * MiB, now = T0;

	ck_assert(rl_idle(&b, rate, now));
	ck_assert_uint_eq(rl_take(&b, rate, now, rl_burst(rate)), 0);
	ck_assert(!rl_idle(&b, rate, now));
	/* An hour idle buys one burst, not an hour's worth. */
	now += 3600 * NS;
	ck_assert(rl_idle(&b, rate, now));
	ck_assert_uint_eq(rl_available(&b, rate, now), rl_burst(rate));
	ck_assert_uint_eq(rl_take(&b, rate, now, rl_burst(rate)), 0);
	ck_assert_uint_gt(rl_take(&b, rate, now, rl_chunk(rate)), 0);
	/* And a greedy reader after it gets the rate again. */
	now += 3600 * NS;
	ck_assert_uint_le(greedy(&b, rate, now, 2.0, rl_chunk(rate)),
	    4 * MiB + rl_burst(rate) + rl_chunk(rate));
	/* The highest rate does not overflow after a long idle time. */
	memset(&b, 0, sizeof(b));
	ck_assert_uint_eq(rl_take(&b, RL_RATE_MAX, T0, rl_burst(RL_RATE_MAX)), 0);
	ck_assert_uint_eq(rl_available(&b, RL_RATE_MAX, T0 + 86400 * NS),
	    rl_burst(RL_RATE_MAX));
}
END_TEST

START_TEST(test_directions_independent)
{
	/* A session's two buckets: emptying one leaves the other full. */
	struct rl_bucket dir[2] = { { 0 }, { 0 } };
	uint64_t rate = MiB, now = T0;

	ck_assert_uint_eq(rl_take(&dir[0], rate, now, rl_burst(rate)), 0);
	ck_assert_uint_gt(rl_wait(&dir[0], rate, now, 1), 0);
	ck_assert_uint_eq(rl_available(&dir[1], rate, now), rl_burst(rate));
	ck_assert_uint_eq(greedy(&dir[1], rate, now, 1.0, rl_chunk(rate)) / 1024,
	    greedy(&(struct rl_bucket){ 0 }, rate, now, 1.0, rl_chunk(rate)) / 1024);
}
END_TEST

START_TEST(test_parse_rate)
{
	uint64_t r = 99;

	ck_assert_int_eq(rl_parse_rate("0", &r), 0);
	ck_assert_uint_eq(r, 0);
	ck_assert_int_eq(rl_parse_rate("2097152", &r), 0);
	ck_assert_uint_eq(r, 2097152);
	ck_assert_int_eq(rl_parse_rate("512K", &r), 0);
	ck_assert_uint_eq(r, 512 * 1024);
	ck_assert_int_eq(rl_parse_rate("2m", &r), 0);
	ck_assert_uint_eq(r, 2 * MiB);
	ck_assert_int_eq(rl_parse_rate("1024G", &r), 0);
	ck_assert_uint_eq(r, RL_RATE_MAX);
	r = 7;
	ck_assert_int_eq(rl_parse_rate("1025G", &r), -1);
	ck_assert_int_eq(rl_parse_rate("1099511627777", &r), -1);
	ck_assert_int_eq(rl_parse_rate("99999999999999999999999", &r), -1);
	ck_assert_int_eq(rl_parse_rate("", &r), -1);
	ck_assert_int_eq(rl_parse_rate("M", &r), -1);
	ck_assert_int_eq(rl_parse_rate("-1", &r), -1);
	ck_assert_int_eq(rl_parse_rate(" 1", &r), -1);
	ck_assert_int_eq(rl_parse_rate("0x10", &r), -1);
	ck_assert_int_eq(rl_parse_rate("2MB", &r), -1);
	ck_assert_int_eq(rl_parse_rate("2T", &r), -1);
	ck_assert_int_eq(rl_parse_rate("1.5M", &r), -1);
	ck_assert_uint_eq(r, 7);
}
END_TEST

static struct sockaddr_storage
host4(const char *s, uint16_t port)
{
	struct sockaddr_storage ss;
	char text[64];

	snprintf(text, sizeof(text), "%s:%u", s, (unsigned)port);
	ck_assert_int_eq(addr_parse(text, false, &ss), 0);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

START_TEST(test_shared_client_bucket)
{
	struct shared *sh = shared_new(2, 10);
	struct sockaddr_storage a1 = host4("198.51.100.7", 40001);
	struct sockaddr_storage a2 = host4("198.51.100.7", 40002);
	struct sockaddr_storage b = host4("198.51.100.8", 40001);
	uint64_t rate = MiB, burst = rl_burst(rate), now = T0, got = 0;

	ck_assert_ptr_nonnull(sh);
	/* Two sessions of one host (other ports, either worker) drain one
	 * bucket: together they get one burst, then the rate. */
	ck_assert_uint_eq(shared_rate_take(sh, SA(a1), 1, rate, now, burst / 2), 0);
	ck_assert_uint_eq(shared_rate_take(sh, SA(a2), 1, rate, now, burst / 2), 0);
	ck_assert_uint_gt(shared_rate_take(sh, SA(a1), 1, rate, now, 4096), 0);
	/* The other direction and the other host are untouched. */
	ck_assert_uint_eq(shared_rate_take(sh, SA(a2), 0, rate, now, burst), 0);
	ck_assert_uint_eq(shared_rate_take(sh, SA(b), 1, rate, now, burst), 0);
	ck_assert_uint_eq(shared_rate_entries(sh), 2);
	/* Two greedy takers of one host for 4 s: the rate, shared. */
	for (uint64_t end = now + 4 * NS, next[2] = { now, now }; ; ) {
		int i = next[0] <= next[1] ? 0 : 1;
		uint64_t w;

		if ((now = next[i]) >= end)
			break;
		w = shared_rate_take(sh, i == 0 ? SA(a1) : SA(a2), 1, rate, now, 16384);
		if (w == 0)
			got += 16384;
		next[i] = now + w;
	}
	ck_assert_uint_ge(got, 4 * MiB - 16384);
	ck_assert_uint_le(got, 4 * MiB + 16384);
	ck_assert_uint_eq(shared_rate_take(sh, SA(a1), 2, rate, now, 1), 0);
	shared_free(sh);
}
END_TEST

START_TEST(test_shared_table_forgets_full_buckets)
{
	/* The table holds 7/8 of 1024 hosts: many more hosts, each taking
	 * once a second, never fill it (full buckets are dropped); while all
	 * are busy at once the newcomers go unlimited rather than wait. */
	struct shared *sh = shared_new(1, 10);
	size_t cap = shared_capacity(sh);
	uint64_t rate = MiB, now = T0;
	char ip[64];

	ck_assert_ptr_nonnull(sh);
	for (unsigned i = 0; i < 3 * cap; i++) {
		struct sockaddr_storage c;

		snprintf(ip, sizeof(ip), "203.0.%u.%u", 113 + i / 250, 1 + i % 250);
		c = host4(ip, 1);
		ck_assert_uint_eq(shared_rate_take(sh, SA(c), 0, rate, now, rl_burst(rate)), 0);
		ck_assert_uint_le(shared_rate_entries(sh), cap);
		/* And it got a bucket of its own: limited, not let through. */
		ck_assert_uint_gt(shared_rate_take(sh, SA(c), 0, rate, now, 4096), 0);
		now += NS;
	}
	/* All busy within one burst time: nobody can be forgotten. */
	for (unsigned i = 0; i < cap + 5; i++) {
		struct sockaddr_storage c;

		snprintf(ip, sizeof(ip), "198.51.%u.%u", 100 + i / 250, 1 + i % 250);
		c = host4(ip, 1);
		(void)shared_rate_take(sh, SA(c), 0, rate, now, rl_burst(rate));
	}
	ck_assert_uint_eq(shared_rate_entries(sh), cap);
	shared_free(sh);
}
END_TEST

Suite *
suite_ratelimit(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_steady_rate);
	tcase_add_test(tc, test_burst_bound);
	tcase_add_test(tc, test_idle_time_capped_at_burst);
	tcase_add_test(tc, test_directions_independent);
	tcase_add_test(tc, test_parse_rate);
	tcase_add_test(tc, test_shared_client_bucket);
	tcase_add_test(tc, test_shared_table_forgets_full_buckets);
	suite_add_tcase(s, tc);
	return s;
}

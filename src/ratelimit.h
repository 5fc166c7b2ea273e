/* ratelimit.h: token buckets for the bandwidth limits (rate-limit-session,
 * rate-limit-client), as pure code: no clock, no I/O. The caller passes
 * "now" in nanoseconds of one monotonic clock (CLOCK_MONOTONIC, the same
 * in every process, so a bucket in the shared mapping works across
 * workers) and is told whether bytes may go, or how long to wait.
 *
 * A bucket is one number, its theoretical arrival time (GCRA): the moment
 * the bytes already granted would have finished at the rate. Bytes may go
 * when that moment, plus their own time at the rate, is not in the future.
 * Idle time counts as credit only up to the burst: a bucket idle for an
 * hour grants rl_burst(rate) bytes at once, then the rate again. A zeroed
 * bucket is full. Rates are bytes per second, one bucket per direction. */
#ifndef FTPGW_RATELIMIT_H
#define FTPGW_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The smallest burst: a bucket always holds at least this much. */
#define RL_BURST_MIN   (64 * 1024)
/* The bytes a relay takes from a bucket at once: about 1/32 s at the rate,
 * within these bounds (so a fast limit costs few takes and a slow one
 * still moves data several times a second). */
#define RL_CHUNK_MIN   (4 * 1024)
#define RL_CHUNK_MAX   (1024 * 1024)
/* The highest rate a configuration may set (1 TiB/s, "1024G"). */
#define RL_RATE_MAX    (1ULL << 40)

struct rl_bucket {
	uint64_t tat;            /* ns; 0 (or anything long past): full */
};

/* The burst at RATE: 1/8 s of it, RL_BURST_MIN at least. */
uint64_t rl_burst(uint64_t rate);
/* The chunk at RATE: rate / 32 within RL_CHUNK_MIN..RL_CHUNK_MAX (always
 * well below rl_burst(rate), so a chunk can always be granted). */
size_t rl_chunk(uint64_t rate);

/* What B could grant at NOW, in bytes (rl_burst(rate) at most). */
uint64_t rl_available(const struct rl_bucket *b, uint64_t rate, uint64_t now);
/* 0 when N bytes may go at NOW, else the nanoseconds until they may.
 * N must not exceed rl_burst(rate). */
uint64_t rl_wait(const struct rl_bucket *b, uint64_t rate, uint64_t now, uint64_t n);
/* Take N bytes if they may go at NOW (returns 0), else take nothing and
 * return rl_wait(). */
uint64_t rl_take(struct rl_bucket *b, uint64_t rate, uint64_t now, uint64_t n);
/* Whether B is full at NOW: it would grant a whole burst, so forgetting
 * it changes nothing. */
bool rl_idle(const struct rl_bucket *b, uint64_t rate, uint64_t now);

/* A rate in the configuration: decimal digits with an optional suffix K, M
 * or G (any case; powers of 1024: "2M" is 2097152), 0 = no limit, at most
 * RL_RATE_MAX. Returns 0 with *RATE set, or -1. */
int rl_parse_rate(const char *s, uint64_t *rate);

#endif

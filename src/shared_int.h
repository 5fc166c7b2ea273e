/* shared_int.h: the layout of the shared mapping, for shared.c and
 * shared_stats.c only; see shared.c. */
#ifndef FTPGW_SHARED_INT_H
#define FTPGW_SHARED_INT_H

#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ratelimit.h"
#include "shared.h"

#define CACHE_LINE 64
#define MIN_SLOTS  1024

struct slot {
	unsigned char host[16];          /* IPv6, or IPv4 v4-mapped */
	uint32_t hash;
	uint32_t sessions;               /* 0: the slot is free */
	uint32_t worker;
	uint32_t pad;
};

struct worker_block {
	alignas(CACHE_LINE) uint32_t sessions;
	struct gw_stats stats;
};

struct header {
	alignas(CACHE_LINE) pthread_mutex_t lock;
	uint64_t key[2];
	unsigned n_workers;
	unsigned total;                  /* live sessions, all workers */
	size_t mask;                     /* slots - 1 */
	size_t used;                     /* slots in use */
	uint64_t last_session_id;
	uint32_t tally_n;                /* named-counter entries published */
	int64_t start_time;              /* time(), at shared_new() */
	int log_level;                   /* set by ftpgwctl log-level; -1: none */
};

struct tally_entry {
	char kind[SHARED_TALLY_KIND_MAX + 1];
	char name[SHARED_TALLY_NAME_MAX + 1];
};

/* One worker's named counters, on cache lines of its own. */
struct tally_block {
	alignas(CACHE_LINE) uint64_t v[SHARED_TALLY_MAX][SHARED_TALLY_COUNTERS];
};

/* The per-client rate buckets (shared_rate_take), apart from the client
 * table: a host's entry there is one per worker, a bucket must be one per
 * host. Same hashing, probing and deletion; entries are made by a take
 * and dropped when full (a full bucket is no different from none). */
struct rate_slot {
	unsigned char host[16];
	uint32_t hash;
	uint32_t used;                   /* 0: free; set last when filled */
	struct rl_bucket bucket[2];      /* per direction */
};

struct rate_table {
	alignas(CACHE_LINE) size_t used; /* slots in use */
	struct rate_slot slots[];
};

static inline size_t
rate_table_size(size_t slots)
{
	return sizeof(struct rate_table) + slots * sizeof(struct rate_slot);
}

struct shared {
	pid_t creator;                   /* the one process that may destroy the mutex */
	/* The sizes, private: what a process reads from the mapping is never
	 * trusted as a loop bound or an index. */
	size_t mask;                     /* slots - 1 */
	unsigned n_workers;
	void *map;
	size_t map_len;
	struct header *hdr;
	struct worker_block *workers;
	struct slot *slots;
	struct tally_entry *tally;       /* SHARED_TALLY_MAX entries */
	struct tally_block *tallies;     /* one per worker */
	struct rate_table *rate;         /* per-client rate limits, its own table */
};

/* The entries published so far; what the mapping says is bounded, as it
 * is never trusted as a loop bound. */
static inline unsigned
tally_count(const struct shared *sh)
{
	uint32_t n = __atomic_load_n(&sh->hdr->tally_n, __ATOMIC_ACQUIRE);

	return n < SHARED_TALLY_MAX ? n : SHARED_TALLY_MAX;
}

#endif

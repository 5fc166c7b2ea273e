/* shared.c: see shared.h.
 *
 * Layout of the one mapping: a header (the mutex, the totals), one block
 * per worker (its live sessions and counters, each on its own cache lines
 * so that workers do not slow each other down), then the client table.
 *
 * The client table counts live sessions per (client host, worker): open
 * addressing with linear probing on a keyed hash of the host alone, so all
 * of one host's entries (one per worker it has sessions on) lie in one
 * probe run, and one walk of that run gives the host's total. Deletion
 * shifts later entries back instead of leaving tombstones, so runs stay
 * short however long the gateway runs. The table has at least twice as
 * many slots as max-sessions at start and never fills beyond 7/8; the key
 * is random per start, so clients cannot choose addresses that collide.
 *
 * The named counters (shared_tally_*) follow: their names, appended under
 * the lock and published by a count stored last (so they are found
 * without it), and one block of counters per worker. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "ratelimit.h"
#include "shared.h"
#include "shared_int.h"

static size_t
round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

struct shared *
shared_new(unsigned n_workers, unsigned max_sessions)
{
	struct shared *sh;
	pthread_mutexattr_t ma;
	size_t slots = MIN_SLOTS, off_workers, off_slots, off_tally, off_tallies, off_rate;

	if (n_workers == 0) {
		errno = EINVAL;
		return NULL;
	}
	while (slots < (size_t)max_sessions * 2)
		slots *= 2;
	if ((sh = calloc(1, sizeof(*sh))) == NULL)
		return NULL;
	off_workers = round_up(sizeof(struct header), CACHE_LINE);
	off_slots = round_up(off_workers + n_workers * sizeof(struct worker_block), CACHE_LINE);
	off_tally = round_up(off_slots + slots * sizeof(struct slot), CACHE_LINE);
	off_tallies = round_up(off_tally + SHARED_TALLY_MAX * sizeof(struct tally_entry),
	    CACHE_LINE);
	off_rate = round_up(off_tallies + n_workers * sizeof(struct tally_block), CACHE_LINE);
	sh->map_len = off_rate + rate_table_size(slots);
	/* Anonymous and shared: zero-filled, and inherited by fork(). Pages
	 * are only allocated when touched, so a large table costs little. */
	sh->map = mmap(NULL, sh->map_len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh->map == MAP_FAILED) {
		free(sh);
		return NULL;
	}
	sh->creator = getpid();
	sh->hdr = sh->map;
	sh->workers = (struct worker_block *)((char *)sh->map + off_workers);
	sh->slots = (struct slot *)((char *)sh->map + off_slots);
	sh->tally = (struct tally_entry *)((char *)sh->map + off_tally);
	sh->tallies = (struct tally_block *)((char *)sh->map + off_tallies);
	sh->rate = (struct rate_table *)((char *)sh->map + off_rate);
	sh->hdr->n_workers = sh->n_workers = n_workers;
	sh->hdr->start_time = (int64_t)time(NULL);
	sh->hdr->log_level = -1;
	sh->hdr->mask = sh->mask = slots - 1;
	if (getrandom(sh->hdr->key, sizeof(sh->hdr->key), 0) != sizeof(sh->hdr->key)) {
		/* Only predictable, not wrong: the limits still hold. */
		sh->hdr->key[0] = (uint64_t)(uintptr_t)sh ^ 0x9e3779b97f4a7c15ULL;
		sh->hdr->key[1] = (uint64_t)getpid() * 0xc2b2ae3d27d4eb4fULL;
	}
	/* Robust: a worker killed while holding it does not stop the others
	 * (the next locker is told, and carries on). */
	if (pthread_mutexattr_init(&ma) != 0 ||
	    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&sh->hdr->lock, &ma) != 0) {
		munmap(sh->map, sh->map_len);
		free(sh);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutexattr_destroy(&ma);
	return sh;
}

void
shared_free(struct shared *sh)
{
	if (sh == NULL)
		return;
	/* A forked worker only unmaps: destroying the mutex would break it
	 * for the processes still using it. */
	if (getpid() == sh->creator)
		pthread_mutex_destroy(&sh->hdr->lock);
	munmap(sh->map, sh->map_len);
	free(sh);
}

unsigned
shared_workers(const struct shared *sh)
{
	return sh->n_workers;
}

size_t
shared_capacity(const struct shared *sh)
{
	return (sh->mask + 1) / 8 * 7;
}

int shared_test_crash_step;

/* For the unit tests: die here, holding the lock, as a killed worker. */
static void
crash_point(int step)
{
	if (shared_test_crash_step == step)
		_exit(3);
}

static void repair(struct shared *sh);

static void
lock(struct shared *sh)
{
	/* EOWNERDEAD: a worker died inside, maybe halfway through an update
	 * of several fields: rebuild them before anyone relies on them. */
	if (pthread_mutex_lock(&sh->hdr->lock) == EOWNERDEAD) {
		repair(sh);
		pthread_mutex_consistent(&sh->hdr->lock);
	}
}

static void
unlock(struct shared *sh)
{
	pthread_mutex_unlock(&sh->hdr->lock);
}

/* ------------------------------------------------------------------ */
/* The client table */

static void
host_key(const struct sockaddr *sa, unsigned char out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static uint64_t
mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint32_t
host_hash(const struct shared *sh, const unsigned char host[16])
{
	uint64_t w0, w1;

	memcpy(&w0, host, 8);
	memcpy(&w1, host + 8, 8);
	return (uint32_t)mix(mix(w0 ^ sh->hdr->key[0]) ^ w1 ^ sh->hdr->key[1]);
}

/* Is HOME cyclically within (FROM, TO]? */
static bool
cyclic_between(size_t from, size_t home, size_t to)
{
	return from <= to ? from < home && home <= to : from < home || home <= to;
}

/* Both host tables (struct slot, struct rate_slot) begin alike: the host,
 * its hash, and a count that is 0 when the entry is free. */
static_assert(offsetof(struct slot, hash) == offsetof(struct rate_slot, hash) &&
    offsetof(struct slot, sessions) == offsetof(struct rate_slot, used) &&
    sizeof(((struct slot *)0)->sessions) == sizeof(((struct rate_slot *)0)->used),
    "the host tables' entries must begin alike");

/* Free entry I of the table T (entries of SIZE bytes, MASK + 1 of them),
 * moving later entries of its run back into the gap (backward-shift
 * deletion: no tombstones). */
static void
run_delete(char *t, size_t size, size_t mask, size_t i)
{
	size_t j = i;

	for (size_t n = 0; n <= mask; n++) {
		uint32_t hash, live;

		j = (j + 1) & mask;
		/* The head's fields, read as bytes (two entry types). */
		memcpy(&live, t + j * size + offsetof(struct slot, sessions), sizeof(live));
		memcpy(&hash, t + j * size + offsetof(struct slot, hash), sizeof(hash));
		if (live == 0)
			break;
		/* An entry whose home lies between the gap and it stays. */
		if (cyclic_between(i, hash & mask, j))
			continue;
		memcpy(t + i * size, t + j * size, size);
		i = j;
	}
	memset(t + i * size, 0, size);
}

/* Free slot I, moving later entries of the run back into the gap. */
static void
slot_delete(struct shared *sh, size_t i)
{
	run_delete((char *)sh->slots, sizeof(struct slot), sh->mask, i);
	sh->hdr->used--;
}

/* Walk HOST's run: its total over all workers into *TOTAL, WORKER's slot
 * (or the free slot that ends the run) returned. */
static size_t
slot_find(struct shared *sh, const unsigned char host[16], uint32_t hash,
    unsigned worker, unsigned *total)
{
	size_t mask = sh->mask, i = hash & mask, mine = SIZE_MAX;

	*total = 0;
	/* A run never fills the table (7/8 at most): the bound is a guard. */
	for (size_t n = 0; n <= mask && sh->slots[i].sessions != 0; n++, i = (i + 1) & mask) {
		if (sh->slots[i].hash != hash || memcmp(sh->slots[i].host, host, 16) != 0)
			continue;
		*total += sh->slots[i].sessions;
		if (sh->slots[i].worker == worker)
			mine = i;
	}
	return mine != SIZE_MAX ? mine : i;
}

/* A worker died holding the lock, maybe between the fields of one update
 * (a slot's count, the total, its own count) or in the middle of moving a
 * slot back: rebuild the table from its slots (an exact duplicate is a
 * torn move and counted once; a slot of a worker that does not exist is
 * dropped) and every total from the table. O(slots), once per crash. */
static void
repair(struct shared *sh)
{
	size_t n = sh->mask + 1, kept = 0;
	struct slot *copy = malloc(n * sizeof(*copy));

	for (unsigned w = 0; w < sh->n_workers; w++)
		sh->workers[w].sessions = 0;
	sh->hdr->total = 0;
	if (copy != NULL) {
		for (size_t i = 0; i < n; i++)
			if (sh->slots[i].sessions != 0 && sh->slots[i].worker < sh->n_workers)
				copy[kept++] = sh->slots[i];
		memset(sh->slots, 0, n * sizeof(*sh->slots));
		sh->hdr->used = 0;
		for (size_t k = 0; k < kept; k++) {
			uint32_t hash = host_hash(sh, copy[k].host);
			unsigned total;
			size_t i = slot_find(sh, copy[k].host, hash, copy[k].worker, &total);

			if (sh->slots[i].sessions != 0)
				continue;        /* the same host and worker again */
			sh->slots[i] = copy[k];
			sh->slots[i].hash = hash;
			sh->hdr->used++;
		}
		free(copy);
	}
	/* Out of memory: the slots stay; the totals are recounted anyway. */
	for (size_t i = 0; i < n; i++)
		if (sh->slots[i].sessions != 0 && sh->slots[i].worker < sh->n_workers) {
			sh->hdr->total += sh->slots[i].sessions;
			sh->workers[sh->slots[i].worker].sessions += sh->slots[i].sessions;
		}
}

enum shared_admit
shared_admit(struct shared *sh, unsigned worker, const struct sockaddr *client,
    unsigned max_sessions, unsigned max_per_client)
{
	unsigned char host[16];
	uint32_t hash;
	unsigned total;
	size_t i;
	enum shared_admit verdict = ADMIT_OK;

	host_key(client, host);
	hash = host_hash(sh, host);
	lock(sh);
	i = slot_find(sh, host, hash, worker, &total);
	if (sh->hdr->total >= max_sessions)
		verdict = ADMIT_MAX_SESSIONS;
	else if (total >= max_per_client)
		verdict = ADMIT_MAX_PER_CLIENT;
	else if (sh->slots[i].sessions == 0 && sh->hdr->used >= shared_capacity(sh))
		verdict = ADMIT_TABLE_FULL;
	if (verdict == ADMIT_OK) {
		if (sh->slots[i].sessions == 0) {
			memcpy(sh->slots[i].host, host, 16);
			sh->slots[i].hash = hash;
			sh->slots[i].worker = worker;
			sh->hdr->used++;
		}
		sh->slots[i].sessions++;
		crash_point(1);
		sh->hdr->total++;
		crash_point(2);
		sh->workers[worker].sessions++;
	}
	unlock(sh);
	return verdict;
}

const char *
shared_admit_reason(enum shared_admit verdict)
{
	switch (verdict) {
	case ADMIT_OK:
		return "admitted";
	case ADMIT_MAX_SESSIONS:
		return "max-sessions reached";
	case ADMIT_MAX_PER_CLIENT:
		return "max-sessions-per-client reached";
	case ADMIT_TABLE_FULL:
		return "client table full (max-sessions was raised by a reload: restart to resize)";
	}
	return "?";
}

void
shared_release(struct shared *sh, unsigned worker, const struct sockaddr *client)
{
	unsigned char host[16];
	uint32_t hash;
	unsigned total;
	size_t i;

	host_key(client, host);
	hash = host_hash(sh, host);
	lock(sh);
	i = slot_find(sh, host, hash, worker, &total);
	/* Only what shared_admit() counted: a free slot means it never was. */
	if (sh->slots[i].sessions != 0) {
		if (--sh->slots[i].sessions == 0)
			slot_delete(sh, i);
		sh->hdr->total--;
		crash_point(3);
		sh->workers[worker].sessions--;
	}
	unlock(sh);
}

void
shared_forget_worker(struct shared *sh, unsigned worker)
{
	lock(sh);
	for (size_t i = 0; i <= sh->mask; i++)
		/* A deletion may move another of WORKER's entries into I. */
		while (sh->slots[i].sessions != 0 && sh->slots[i].worker == worker)
			slot_delete(sh, i);
	sh->hdr->total -= sh->workers[worker].sessions;
	sh->workers[worker].sessions = 0;
	unlock(sh);
}

unsigned
shared_sessions(struct shared *sh, unsigned worker)
{
	unsigned n;

	lock(sh);
	n = sh->workers[worker].sessions;
	unlock(sh);
	return n;
}

unsigned
shared_sessions_total(struct shared *sh)
{
	unsigned n;

	lock(sh);
	n = sh->hdr->total;
	unlock(sh);
	return n;
}

unsigned
shared_client_sessions(struct shared *sh, const struct sockaddr *client)
{
	unsigned char host[16];
	unsigned total;

	host_key(client, host);
	lock(sh);
	(void)slot_find(sh, host, host_hash(sh, host), UINT32_MAX, &total);
	unlock(sh);
	return total;
}

/* ------------------------------------------------------------------ */
/* Counters */

uint64_t
shared_next_session_id(struct shared *sh)
{
	return __atomic_add_fetch(&sh->hdr->last_session_id, 1, __ATOMIC_RELAXED);
}

int64_t
shared_start_time(const struct shared *sh)
{
	return sh->hdr->start_time;
}

void
shared_set_log_level(struct shared *sh, int level)
{
	__atomic_store_n(&sh->hdr->log_level, level, __ATOMIC_RELAXED);
}

int
shared_log_level(const struct shared *sh)
{
	return __atomic_load_n(&sh->hdr->log_level, __ATOMIC_RELAXED);
}

struct gw_stats *
shared_stats(struct shared *sh, unsigned worker)
{
	return &sh->workers[worker].stats;
}

void
shared_stats_sum(const struct shared *sh, struct gw_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned w = 0; w < sh->n_workers; w++) {
		const struct gw_stats *in = &sh->workers[w].stats;

		/* Each is written by its worker alone; an aligned 64-bit
		 * load sees either the old or the new value. */
#define SUM_counter(field) sum->field += __atomic_load_n(&in->field, __ATOMIC_RELAXED);
#define SUM_gauge(field)
#define SUM(field, type, name, family, labels, help) SUM_##type(field)
		GW_STATS(SUM)
#undef SUM
#undef SUM_gauge
#undef SUM_counter
	}
}

/* ------------------------------------------------------------------ */
/* Named counters */


static int
tally_find(const struct shared *sh, unsigned n, const char *kind, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(sh->tally[i].kind, kind) == 0 &&
		    strcmp(sh->tally[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
shared_tally_slot(struct shared *sh, const char *kind, const char *name)
{
	size_t klen = strlen(kind), nlen = strlen(name);
	unsigned n;
	int slot;

	if (klen == 0 || klen > SHARED_TALLY_KIND_MAX || nlen == 0 ||
	    nlen > SHARED_TALLY_NAME_MAX)
		return -1;
	if ((slot = tally_find(sh, tally_count(sh), kind, name)) != -1)
		return slot;
	lock(sh);
	/* Another worker may have made it meanwhile. A worker that died
	 * halfway through a new entry had not published it: it is written
	 * again here. */
	n = tally_count(sh);
	if ((slot = tally_find(sh, n, kind, name)) == -1 && n < SHARED_TALLY_MAX) {
		memset(&sh->tally[n], 0, sizeof(sh->tally[n]));
		memcpy(sh->tally[n].kind, kind, klen);
		memcpy(sh->tally[n].name, name, nlen);
		__atomic_store_n(&sh->hdr->tally_n, n + 1, __ATOMIC_RELEASE);
		slot = (int)n;
	}
	unlock(sh);
	return slot;
}

void
shared_tally_add(struct shared *sh, unsigned worker, int slot, unsigned counter,
    uint64_t n)
{
	assert(worker < sh->n_workers);
	assert(slot >= 0 && slot < SHARED_TALLY_MAX);
	assert(counter < SHARED_TALLY_COUNTERS);
	/* Written by its worker alone, read by any: atomic, never torn. */
	__atomic_add_fetch(&sh->tallies[worker].v[slot][counter], n, __ATOMIC_RELAXED);
}

uint64_t
shared_tally_get(const struct shared *sh, int slot, unsigned counter)
{
	uint64_t sum = 0;

	assert(slot >= 0 && slot < SHARED_TALLY_MAX);
	assert(counter < SHARED_TALLY_COUNTERS);
	for (unsigned w = 0; w < sh->n_workers; w++)
		sum += __atomic_load_n(&sh->tallies[w].v[slot][counter], __ATOMIC_RELAXED);
	return sum;
}


/* ------------------------------------------------------------------ */
/* Per-client rate limits */

/* HOST's entry, or the free slot that ends its run. */
static size_t
rate_find(struct shared *sh, const unsigned char host[16], uint32_t hash)
{
	struct rate_slot *t = sh->rate->slots;
	size_t mask = sh->mask, i = hash & mask;

	for (size_t n = 0; n <= mask && t[i].used != 0; n++, i = (i + 1) & mask)
		if (t[i].hash == hash && memcmp(t[i].host, host, 16) == 0)
			return i;
	return i;
}

/* Free entry I, moving later entries of its run back (as slot_delete). */
static void
rate_delete(struct shared *sh, size_t i)
{
	run_delete((char *)sh->rate->slots, sizeof(struct rate_slot), sh->mask, i);
}

/* The table is full: drop every entry whose buckets are full at NOW (at
 * RATE: hosts with other limits are judged by this one, which at worst
 * forgets a partly spent bucket), and count the rest again (a worker
 * killed in the middle of an update may have left the count off). */
static void
rate_sweep(struct shared *sh, uint64_t rate, uint64_t now)
{
	struct rate_slot *t = sh->rate->slots;
	size_t used = 0;

	for (size_t i = 0; i <= sh->mask; i++)
		while (t[i].used != 0 && rl_idle(&t[i].bucket[0], rate, now) &&
		    rl_idle(&t[i].bucket[1], rate, now))
			rate_delete(sh, i);
	for (size_t i = 0; i <= sh->mask; i++)
		used += t[i].used != 0;
	sh->rate->used = used;
}

uint64_t
shared_rate_take(struct shared *sh, const struct sockaddr *client, int dir,
    uint64_t rate, uint64_t now, uint64_t n)
{
	unsigned char host[16];
	uint32_t hash;
	struct rate_slot *e;
	uint64_t wait;
	size_t i;

	if (dir != 0 && dir != 1) {
		errno = EINVAL;
		return 0;
	}
	host_key(client, host);
	hash = host_hash(sh, host);
	lock(sh);
	i = rate_find(sh, host, hash);
	e = &sh->rate->slots[i];
	if (e->used == 0 && sh->rate->used >= shared_capacity(sh)) {
		rate_sweep(sh, rate, now);
		i = rate_find(sh, host, hash);
		e = &sh->rate->slots[i];
	}
	if (e->used == 0) {
		if (sh->rate->used >= shared_capacity(sh)) {
			/* More hosts transferring than max-sessions at start
			 * (raised by a reload): this one goes unlimited. */
			unlock(sh);
			return 0;
		}
		memcpy(e->host, host, 16);
		e->hash = hash;
		memset(e->bucket, 0, sizeof(e->bucket));
		e->used = 1;
		sh->rate->used++;
	}
	wait = rl_take(&e->bucket[dir], rate, now, n);
	unlock(sh);
	return wait;
}

size_t
shared_rate_entries(struct shared *sh)
{
	size_t n;

	lock(sh);
	n = sh->rate->used;
	unlock(sh);
	return n;
}

/* portpool.c: the passive port range as a bag of free ports. A take picks a
 * uniformly random free port so that the next data port cannot be guessed
 * from the last one (port theft, PASV hijacking); take and give are O(1).
 * Then a worker's pools, one slice per configured range, and the check of
 * a range against the kernel's ephemeral ports. */
#include "config.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/random.h>

#include "log.h"
#include "portpool.h"

struct portpool {
	uint16_t lo, hi;
	uint16_t *free_ports;    /* the free ports, in no particular order */
	size_t nfree;
	uint64_t *is_free;       /* one bit per port of the range: in free_ports */
};

static bool
bit_get(const uint64_t *bits, size_t i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

static void
bit_set(uint64_t *bits, size_t i, bool on)
{
	if (on)
		bits[i / 64] |= UINT64_C(1) << (i % 64);
	else
		bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

struct portpool *
portpool_new(uint16_t lo, uint16_t hi)
{
	struct portpool *pool;
	size_t n;

	if (lo == 0 || lo > hi)
		return NULL;
	n = (size_t)hi - lo + 1;
	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		return NULL;
	pool->lo = lo;
	pool->hi = hi;
	pool->free_ports = calloc(n, sizeof(*pool->free_ports));
	pool->is_free = calloc((n + 63) / 64, sizeof(*pool->is_free));
	if (pool->free_ports == NULL || pool->is_free == NULL) {
		portpool_free(pool);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		pool->free_ports[i] = (uint16_t)(lo + i);
		bit_set(pool->is_free, i, true);
	}
	pool->nfree = n;
	return pool;
}

void
portpool_free(struct portpool *pool)
{
	if (pool == NULL)
		return;
	free(pool->free_ports);
	free(pool->is_free);
	free(pool);
}

/* Random words from the kernel, drawn a buffer at a time: glibc's
 * arc4random costs a getrandom(2) per call, one per PASV. A fork empties
 * the child's buffer (workers are forked): no two processes use the same
 * words. */
static uint32_t random_buf[64];
static size_t random_left;

static void
random_forget(void)
{
	random_left = 0;
}

static uint32_t
random_word(void)
{
	static bool hooked;

	if (!hooked)
		hooked = pthread_atfork(NULL, NULL, random_forget) == 0;
	if (random_left == 0 || !hooked) {
		if (!hooked || getrandom(random_buf, sizeof(random_buf), 0) != (ssize_t)sizeof(random_buf))
			return arc4random();     /* no hook, or a short read: one at a time */
		random_left = sizeof(random_buf) / sizeof(random_buf[0]);
	}
	return random_buf[--random_left];
}

/* Uniform in [0, N): a word at or past the last whole multiple of N is
 * drawn again (a share below N / 2^32 of them). */
static uint32_t
random_below(uint32_t n)
{
	uint32_t limit = UINT32_MAX - UINT32_MAX % n, w;

	assert(n > 0);
	while ((w = random_word()) >= limit)
		;
	return w % n;
}

int
portpool_take(struct portpool *pool)
{
	uint32_t i;
	uint16_t port;

	if (pool->nfree == 0)
		return -1;
	/* Unbiased, and from the kernel's generator, so the sequence is not
	 * reproducible from the outside. */
	i = random_below((uint32_t)pool->nfree);
	port = pool->free_ports[i];
	pool->free_ports[i] = pool->free_ports[--pool->nfree];
	bit_set(pool->is_free, (size_t)(port - pool->lo), false);
	return port;
}

void
portpool_give(struct portpool *pool, uint16_t port)
{
	size_t i;

	if (port < pool->lo || port > pool->hi)
		return;
	i = (size_t)(port - pool->lo);
	/* A second give of the same port would put it twice in the array and
	 * hand it to two sessions at once. */
	if (bit_get(pool->is_free, i))
		return;
	bit_set(pool->is_free, i, true);
	pool->free_ports[pool->nfree++] = port;
}

size_t
portpool_available(const struct portpool *pool)
{
	return pool->nfree;
}

uint16_t
portpool_lo(const struct portpool *pool)
{
	return pool->lo;
}

uint16_t
portpool_hi(const struct portpool *pool)
{
	return pool->hi;
}

/* ------------------------------------------------------------------ */
/* A worker's pools */

struct portpools {
	unsigned worker, n_workers;
	struct pool_slot {
		uint16_t lo, hi;
		struct portpool *pool;
	} *slots;
	size_t n;
};

struct portpools *
portpools_new(unsigned worker, unsigned n_workers)
{
	struct portpools *pp;

	assert(worker < n_workers);
	if ((pp = calloc(1, sizeof(*pp))) == NULL)
		return NULL;
	pp->worker = worker;
	pp->n_workers = n_workers;
	return pp;
}

void
portpools_free(struct portpools *pp)
{
	if (pp == NULL)
		return;
	for (size_t i = 0; i < pp->n; i++)
		portpool_free(pp->slots[i].pool);
	free(pp->slots);
	free(pp);
}

/* Is every port of LO-HI in /proc's reserved list ("a-b,c,...")? */
static bool
ports_reserved(unsigned lo, unsigned hi)
{
	char list[4096], *tok, *save;
	unsigned next = lo;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_reserved_ports", "re");

	if (f == NULL)
		return false;
	if (fgets(list, sizeof(list), f) == NULL)
		list[0] = '\0';
	fclose(f);
	/* The kernel prints the ranges in ascending order. */
	for (tok = strtok_r(list, ",\n", &save); tok != NULL; tok = strtok_r(NULL, ",\n", &save)) {
		unsigned a, b;

		if (sscanf(tok, "%u-%u", &a, &b) != 2) {
			if (sscanf(tok, "%u", &a) != 1)
				continue;
			b = a;
		}
		if (a <= next && b >= next)
			next = b + 1;
		if (next > hi)
			return true;
	}
	return false;
}

/* Outgoing connections (ours to the servers, one per session and data
 * channel) take ephemeral ports; where the passive range overlaps them,
 * some PASVs find their port taken. Said once, at start. */
static void
warn_ephemeral_overlap(unsigned lo, unsigned hi)
{
	unsigned elo, ehi;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	if (f == NULL)
		return;
	if (fscanf(f, "%u %u", &elo, &ehi) == 2 && lo <= ehi && hi >= elo &&
	    !ports_reserved(lo > elo ? lo : elo, hi < ehi ? hi : ehi))
		log_msg(LL_WARN, "passive-ports %u-%u overlaps the ephemeral ports %u-%u "
		    "(net.ipv4.ip_local_port_range): outgoing connections can take passive "
		    "ports; reserve them (net.ipv4.ip_local_reserved_ports = %u-%u) or move "
		    "the range", lo, hi, elo, ehi, lo, hi);
	fclose(f);
}

struct portpool *
portpools_get(struct portpools *pp, uint16_t lo, uint16_t hi)
{
	struct pool_slot *slots;
	unsigned size, first, last;

	for (size_t i = 0; i < pp->n; i++)
		if (pp->slots[i].lo == lo && pp->slots[i].hi == hi)
			return pp->slots[i].pool;
	if (lo == 0 || lo > hi)
		return NULL;
	/* Workers own disjoint slices: a redirected data connection reaches
	 * the one worker listening on its port. */
	size = (unsigned)hi - lo + 1;
	first = lo + (unsigned)((unsigned long)size * pp->worker / pp->n_workers);
	last = lo + (unsigned)((unsigned long)size * (pp->worker + 1) / pp->n_workers);
	if (first >= last)
		return NULL;
	slots = realloc(pp->slots, (pp->n + 1) * sizeof(*slots));
	if (slots == NULL)
		return NULL;
	pp->slots = slots;
	if ((slots[pp->n].pool = portpool_new((uint16_t)first, (uint16_t)(last - 1))) == NULL)
		return NULL;
	slots[pp->n].lo = lo;
	slots[pp->n].hi = hi;
	if (pp->worker == 0)
		warn_ephemeral_overlap(lo, hi);
	return slots[pp->n++].pool;
}

/* portpool.c: the passive port range as a bag of free ports. A take picks a
 * uniformly random free port so that the next data port cannot be guessed
 * from the last one (port theft, PASV hijacking); take and give are O(1). */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

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

int
portpool_take(struct portpool *pool)
{
	uint32_t i;
	uint16_t port;

	if (pool->nfree == 0)
		return -1;
	/* arc4random_uniform: unbiased, and seeded from the kernel, so the
	 * sequence is not reproducible from the outside. */
	i = arc4random_uniform((uint32_t)pool->nfree);
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

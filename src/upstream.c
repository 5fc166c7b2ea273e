/* upstream.c: see upstream.h. */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "upstream.h"

struct upstream {
	struct sockaddr_storage addr;
	time_t down_until;               /* out of service before this time */
	bool down;                       /* last known: failed (for the log) */
	uint64_t sessions, failures;
};

struct upstream_pool {
	struct upstream **v;             /* the registry's */
	size_t n;
	size_t cursor;                   /* the next one in turn */
};

struct upstream_registry {
	struct upstream **ups;
	size_t n_ups;
	struct upstream_pool **pools;
	size_t n_pools;
};

struct upstream_registry *
upstream_registry_new(void)
{
	return calloc(1, sizeof(struct upstream_registry));
}

void
upstream_registry_free(struct upstream_registry *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = 0; i < reg->n_ups; i++)
		free(reg->ups[i]);
	for (size_t i = 0; i < reg->n_pools; i++) {
		free(reg->pools[i]->v);
		free(reg->pools[i]);
	}
	free(reg->ups);
	free(reg->pools);
	free(reg);
}

/* ADDR's standing, made on first use. */
static struct upstream *
upstream_get(struct upstream_registry *reg, const struct sockaddr_storage *addr)
{
	struct upstream *up, **v;

	for (size_t i = 0; i < reg->n_ups; i++)
		if (addr_equal((const struct sockaddr *)&reg->ups[i]->addr,
		    (const struct sockaddr *)addr))
			return reg->ups[i];
	if ((up = calloc(1, sizeof(*up))) == NULL)
		return NULL;
	if ((v = realloc(reg->ups, (reg->n_ups + 1) * sizeof(*v))) == NULL) {
		free(up);
		return NULL;
	}
	memcpy(&up->addr, addr, sizeof(up->addr));
	reg->ups = v;
	reg->ups[reg->n_ups++] = up;
	return up;
}

static bool
pool_is(const struct upstream_pool *pool, const struct sockaddr_storage *addrs, size_t n)
{
	if (pool->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!addr_equal((const struct sockaddr *)&pool->v[i]->addr,
		    (const struct sockaddr *)&addrs[i]))
			return false;
	return true;
}

struct upstream_pool *
upstream_pool_get(struct upstream_registry *reg, const struct sockaddr_storage *addrs,
    size_t n)
{
	struct upstream_pool *pool, **v;

	assert(n > 0);
	for (size_t i = 0; i < reg->n_pools; i++)
		if (pool_is(reg->pools[i], addrs, n))
			return reg->pools[i];
	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		return NULL;
	if ((pool->v = calloc(n, sizeof(*pool->v))) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if ((pool->v[i] = upstream_get(reg, &addrs[i])) == NULL)
			goto fail;
	pool->n = n;
	if ((v = realloc(reg->pools, (reg->n_pools + 1) * sizeof(*v))) == NULL)
		goto fail;
	reg->pools = v;
	reg->pools[reg->n_pools++] = pool;
	return pool;
fail:
	/* Standings made on the way stay in the registry: harmless. */
	free(pool->v);
	free(pool);
	return NULL;
}

size_t
upstream_pool_size(const struct upstream_pool *pool)
{
	return pool->n;
}

bool
upstream_in_service(const struct upstream *up, time_t now)
{
	return up->down_until <= now;
}

struct upstream *
upstream_choose(struct upstream_pool *pool, time_t now)
{
	size_t pick = pool->n, soonest = 0;

	assert(pool->n > 0 && pool->cursor < pool->n);
	for (size_t k = 0; k < pool->n; k++) {
		size_t i = (pool->cursor + k) % pool->n;

		if (upstream_in_service(pool->v[i], now)) {
			pick = i;
			break;
		}
		if (pool->v[i]->down_until < pool->v[soonest]->down_until)
			soonest = i;
	}
	if (pick == pool->n)             /* all out: the first to come back */
		pick = soonest;
	pool->cursor = (pick + 1) % pool->n;
	pool->v[pick]->sessions++;
	return pool->v[pick];
}

const struct sockaddr_storage *
upstream_addr(const struct upstream *up)
{
	return &up->addr;
}

enum upstream_change
upstream_report(struct upstream *up, bool ok, time_t now, unsigned recheck)
{
	if (ok) {
		up->down_until = 0;
		if (!up->down)
			return UPSTREAM_SAME;
		up->down = false;
		return UPSTREAM_CAME_BACK;
	}
	up->failures++;
	up->down_until = now + (time_t)recheck;
	if (up->down)
		return UPSTREAM_SAME;
	up->down = true;
	return UPSTREAM_WENT_DOWN;
}

uint64_t
upstream_sessions(const struct upstream *up)
{
	return up->sessions;
}

uint64_t
upstream_failures(const struct upstream *up)
{
	return up->failures;
}

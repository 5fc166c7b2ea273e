/* portpool.h: the gateway's passive port ranges. Ports are handed out at
 * random (never sequentially, so data ports cannot be guessed) in O(1).
 * A worker's pools (struct portpools) hold its slice of every range. */
#ifndef FTPGW_PORTPOOL_H
#define FTPGW_PORTPOOL_H

#include <stddef.h>
#include <stdint.h>

struct portpool;

struct portpool *portpool_new(uint16_t lo, uint16_t hi);   /* NULL if lo > hi or lo == 0 */
void portpool_free(struct portpool *pool);
/* A random free port, taken out of the pool; -1 when none is left. */
int portpool_take(struct portpool *pool);
/* Give PORT back. Ports outside the range or already free are ignored. */
void portpool_give(struct portpool *pool, uint16_t port);
size_t portpool_available(const struct portpool *pool);
uint16_t portpool_lo(const struct portpool *pool);
uint16_t portpool_hi(const struct portpool *pool);

/* The pools of worker WORKER of N_WORKERS, one per distinct range, made on
 * first use and kept until portpools_free() (sessions from before a reload
 * may still hold a range the new configuration dropped). */
struct portpools;

struct portpools *portpools_new(unsigned worker, unsigned n_workers);
void portpools_free(struct portpools *pp);
/* This worker's slice of LO-HI (workers own disjoint slices); NULL when
 * the range has too few ports for every worker to get one, or out of
 * memory. Worker 0 warns once per range that overlaps the ephemeral
 * ports. */
struct portpool *portpools_get(struct portpools *pp, uint16_t lo, uint16_t hi);

#endif

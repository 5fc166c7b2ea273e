/* portpool.h: the gateway's passive port range. Ports are handed out at
 * random (never sequentially, so data ports cannot be guessed) in O(1). */
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

#endif

/* ratelimit.c: token buckets as GCRA; see ratelimit.h.
 *
 * With cost(n) = ceil(n * 1e9 / rate) ns and tau = cost(burst): the
 * bucket's level is base = max(tat, now - tau) (older credit is dropped:
 * idle time never buys more than a burst); N bytes may go when
 * base + cost(N) <= now, and taking them sets tat = base + cost(N). So tat
 * never passes now, and over any interval the bytes granted are at most
 * burst + rate * interval. The products can exceed 64 bits (1 TiB/s times
 * a minute of nanoseconds): they are done in 128 bits. */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "ratelimit.h"

#define NS 1000000000ULL

typedef unsigned __int128 u128;

uint64_t
rl_burst(uint64_t rate)
{
	return rate / 8 > RL_BURST_MIN ? rate / 8 : RL_BURST_MIN;
}

size_t
rl_chunk(uint64_t rate)
{
	uint64_t c = rate / 32;

	if (c < RL_CHUNK_MIN)
		c = RL_CHUNK_MIN;
	if (c > RL_CHUNK_MAX)
		c = RL_CHUNK_MAX;
	return (size_t)c;
}

/* Nanoseconds N bytes take at RATE, rounded up. */
static uint64_t
cost(uint64_t rate, uint64_t n)
{
	assert(rate > 0);
	return (uint64_t)(((u128)n * NS + rate - 1) / rate);
}

static uint64_t
level(const struct rl_bucket *b, uint64_t rate, uint64_t now)
{
	uint64_t tau = cost(rate, rl_burst(rate));
	uint64_t floor = now > tau ? now - tau : 0;

	return b->tat > floor ? b->tat : floor;
}

uint64_t
rl_available(const struct rl_bucket *b, uint64_t rate, uint64_t now)
{
	uint64_t base = level(b, rate, now), n;

	if (base >= now)
		return 0;
	n = (uint64_t)((u128)(now - base) * rate / NS);
	return n < rl_burst(rate) ? n : rl_burst(rate);
}

uint64_t
rl_wait(const struct rl_bucket *b, uint64_t rate, uint64_t now, uint64_t n)
{
	uint64_t due;

	assert(n <= rl_burst(rate));
	due = level(b, rate, now) + cost(rate, n);
	return due > now ? due - now : 0;
}

uint64_t
rl_take(struct rl_bucket *b, uint64_t rate, uint64_t now, uint64_t n)
{
	uint64_t w = rl_wait(b, rate, now, n);

	if (w == 0)
		b->tat = level(b, rate, now) + cost(rate, n);
	return w;
}

bool
rl_idle(const struct rl_bucket *b, uint64_t rate, uint64_t now)
{
	uint64_t tau = cost(rate, rl_burst(rate));

	return b->tat == 0 || (now > tau && b->tat <= now - tau);
}

int
rl_parse_rate(const char *s, uint64_t *rate)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	/* strtoull would take blanks, a sign and hexadecimal: digits only. */
	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (shift != 0 && *++end != '\0')
		return -1;
	if (v > (RL_RATE_MAX >> shift))
		return -1;
	*rate = (uint64_t)v << shift;
	return 0;
}

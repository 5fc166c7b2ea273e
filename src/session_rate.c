/* session_rate.c: the bandwidth limits of a session's data channels.
 * rate-limit-session is a bucket per direction owned by the session, so
 * it holds over all its channels, one after the other; rate-limit-client
 * is a bucket per direction and client host in the shared mapping, so it
 * holds over all that host's sessions, on every worker. A relay asks for
 * a chunk at a time (rl_chunk of the lower limit): one lock of the shared
 * mapping per chunk, not per read. Without a limit nothing is set and the
 * relay never asks. */
#include "config.h"

#include <inttypes.h>
#include <time.h>

#include "conf.h"
#include "data.h"
#include "log.h"
#include "ratelimit.h"
#include "session_int.h"
#include "shared.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	/* The one clock of every worker: the client buckets are shared. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The relay's taker: the session's bucket must have N bytes, then the
 * client's must give them; only then are the session's spent too, so a
 * wait for one never costs the other. */
static uint64_t
session_rate_take(void *arg, int dir, size_t n)
{
	struct session *s = arg;
	uint64_t rs = s->lc->rate_session, rc = s->lc->rate_client;
	uint64_t now = now_ns(), wait = 0;

	if (rs != 0)
		wait = rl_wait(&s->rate_bucket[dir], rs, now, n);
	if (wait == 0 && rc != 0)
		wait = shared_rate_take(s->env->shared, SA(&s->client), dir, rc, now, n);
	if (wait != 0) {
		s->env->stats->rate_waits++;
		s->env->stats->rate_wait_ms += (wait + 999999) / 1000000;
		return wait;
	}
	if (rs != 0)
		(void)rl_take(&s->rate_bucket[dir], rs, now, n);
	return 0;
}

void
session_rate_apply(struct session *s)
{
	uint64_t rs = s->lc->rate_session, rc = s->lc->rate_client;
	size_t chunk = SIZE_MAX;

	if (rs == 0 && rc == 0)
		return;
	if (rs != 0)
		chunk = rl_chunk(rs);
	if (rc != 0 && rl_chunk(rc) < chunk)
		chunk = rl_chunk(rc);
	dc_set_rate(s->dc, session_rate_take, s, chunk);
	if (!s->rate_logged) {
		s->rate_logged = true;
		log_sess(LL_INFO, s->id, "data limited to %" PRIu64 " bytes/s per "
		    "direction for the session, %" PRIu64 " for the client host "
		    "(0 = none)", rs, rc);
	}
}

/* relay_rate.c: the relay's bandwidth limits (relay_set_rate); see
 * relay.h. A limited direction asks its taker for a chunk before it reads
 * (plaintext: at most the credit, still by splice) or after (TLS: the
 * bytes a bufferevent read are paid for at once), and while the taker
 * says wait, its reading is off and a timer waits: no polling, no read
 * event left armed on a socket that stays readable. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "relay.h"
#include "relay_int.h"

static int
dir_index(const struct relay_dir *d)
{
	return d == &d->relay->dir[0] ? 0 : 1;
}

/* Ask for bytes until D is out of debt. False: none now; D's reading is
 * off and its rate timer set (everything read has been passed on or
 * queued: a wait never holds bytes back from a peer). */
bool
dir_rate_grant(struct relay_dir *d)
{
	struct relay *r = d->relay;
	uint64_t wait = 0;
	struct timeval tv;

	while (d->credit <= 0) {
		wait = r->take(r->take_arg, dir_index(d), r->chunk);
		if (wait != 0)
			break;
		d->credit += (int64_t)r->chunk;
	}
	if (d->credit > 0)
		return true;
	if (r->bev[0] != NULL)
		bufferevent_disable(r->bev[dir_index(d)], EV_READ);
	else {
		event_del(d->rev);
		event_del(d->wev);
	}
	d->rate_wait = true;
	/* Whole microseconds, rounded up: never early, so never a wakeup
	 * that finds nothing. */
	wait = (wait + 999) / 1000;
	tv.tv_sec = (time_t)(wait / 1000000);
	tv.tv_usec = (suseconds_t)(wait % 1000000);
	evtimer_add(d->rate_ev, &tv);
	return false;
}

static void
relay_rate_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_dir *d = arg;
	struct relay *r = d->relay;
	int i = dir_index(d);

	(void)fd;
	(void)what;
	assert(!r->reported && d->rate_wait);
	d->rate_wait = false;
	if (r->bev[0] == NULL) {
		dir_pump(d);                     /* asks again first */
		return;
	}
	if (d->eof || !dir_rate_grant(d))
		return;
	/* As tls_write_cb: read again unless the other side's queue is
	 * full (its write callback resumes reading then). */
	if (evbuffer_get_length(bufferevent_get_output(r->bev[1 - i])) < RELAY_TLS_QUEUE)
		bufferevent_enable(r->bev[i], EV_READ);
}

int
relay_set_rate(struct relay *r, relay_take_fn *take, void *arg, size_t chunk)
{
	assert(r->take == NULL && take != NULL && chunk > 0);
	assert(r->dir[0].bytes == 0 && r->dir[1].bytes == 0);
	for (int i = 0; i < 2; i++) {
		r->dir[i].rate_ev = evtimer_new(r->base, relay_rate_cb, &r->dir[i]);
		if (r->dir[i].rate_ev == NULL) {
			errno = ENOMEM;
			return -1;
		}
	}
	r->take = take;
	r->take_arg = arg;
	r->chunk = chunk;
	return 0;
}

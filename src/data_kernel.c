/* data_kernel.c: a data channel forwarded by the kernel (data-path
 * kernel): its mapping, and the flow's events turned into the channel's;
 * see data.h and kpath.h. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "data.h"
#include "data_int.h"
#include "kpath.h"
#include "log.h"

static void kflow_event_cb(struct kflow *, enum kflow_event, void *);

/* The one place the kernel's flow goes: its counts are final at its FINs. */
void
dc_kflow_free(struct data_channel *dc)
{
	if (dc->kf == NULL)
		return;
	dc->to_server = dc_bytes_to_server(dc);
	dc->to_client = dc_bytes_to_client(dc);
	/* Dropped while it runs (ABOR, a failure, a killed or stopped
	 * session): the kernel must not carry it on alone. */
	kflow_cut(dc->kf);
	kflow_free(dc->kf);
	dc->kf = NULL;
}

void
dc_set_kernel(struct data_channel *dc, struct kpath *kp, const struct sockaddr *announced)
{
	const struct dc_end *ce = &dc->end[dc->end[DC_CLIENT].listens ? DC_SERVER : DC_CLIENT];

	assert(!dc->started && kp != NULL);
	dc->kp = kp;
	dc->kernel_asked = true;
	memset(&dc->announced, 0, sizeof(dc->announced));
	memcpy(&dc->announced, announced, addr_len(announced));
	addr_unmap(&dc->announced);
	/* The target known already (the client's PORT): mapped before the
	 * server hears of the port, for a server may connect at once. */
	if (ce->addr.ss_family != AF_UNSPEC && addr_port((const struct sockaddr *)&ce->addr) != 0 &&
	    dc_kernel_start(dc) == -1)
		(void)dc_listen_late(dc);    /* the relay's, listening before it is announced */
}

bool
dc_kernel(const struct data_channel *dc)
{
	return dc->kernel;
}

bool
dc_kernel_raced(const struct data_channel *dc)
{
	return dc->kernel_raced;
}

bool
dc_kernel_late(const struct data_channel *dc)
{
	const struct dc_end *c = &dc->end[DC_CLIENT];

	return dc->kp != NULL && dc->kf == NULL && !dc->started && c->listens &&
	    !c->transparent && !dc->end[DC_SERVER].listens;
}

void
dc_path_known(struct data_channel *dc)
{
	if (!dc->kernel_asked)
		return;
	dc->kernel_asked = false;
	dc->cb(dc, DC_EV_PATH, dc->arg);
}

void
dc_kernel_map(struct data_channel *dc)
{
	if (dc->kernel_due)
		dc_kernel_due(dc);
}

/* The late mapping: the reply that announced the port went out (called
 * after it, or by the timer at 0 that dc_start set). */
void
dc_kernel_due(struct data_channel *dc)
{
	struct timeval tv = { .tv_sec = dc->timeout };

	assert(dc->kernel_late && dc->state == DC_ARMED);
	dc->kernel_due = false;
	evtimer_add(dc->timer, &tv);
	if (dc_kernel_start(dc) == -1)
		dc_path_known(dc);   /* the relay's: its listener is open */
	/* else known when the kernel sees the connection, or the client's
	 * listener takes it */
}

/* The client's listener accepted its connection while the kernel's
 * mapping was due or in but unused: the relay carries the channel. */
void
dc_kernel_lost_race(struct data_channel *dc)
{
	struct timeval tv = { .tv_sec = dc->timeout };

	assert(dc->kernel_late);
	dc->kernel_late = false;
	dc->kernel = false;
	if (dc->kernel_due) {
		dc->kernel_due = false;
		evtimer_add(dc->timer, &tv);
	}
	if (dc->kf != NULL) {
		kflow_free(dc->kf);          /* nothing connected through it */
		dc->kf = NULL;
	}
	dc->kp = NULL;
	dc->kernel_raced = true;
	log_sess(LL_DEBUG, dc->sid, "data channel relayed: the client connected before the "
	    "kernel's mapping was in");
	dc_path_known(dc);
}

/* Hand the channel to the kernel: the listening end's peer, connecting to
 * what it was told, reaches the connecting end's target from the source
 * the relay would have used. 0, or -1 when the relay must carry it. */
int
dc_kernel_start(struct data_channel *dc)
{
	enum dc_side l = dc->end[DC_CLIENT].listens ? DC_CLIENT : DC_SERVER;
	struct dc_end *le = &dc->end[l], *ce = &dc->end[1 - l];
	struct kpath_spec sp;
	char err[200], a[ADDR_STRLEN], b[ADDR_STRLEN];

	assert(le->listens && !ce->listens);
	if (dc->kf != NULL)
		return 0;
	if (dc->kp == NULL)
		return -1;                   /* tried, refused: the relay's */
	memset(&sp, 0, sizeof(sp));
	memcpy(&sp.initiator, &le->peer, sizeof(sp.initiator));
	sp.announced = dc->announced;
	memcpy(&sp.target, &ce->addr, sizeof(sp.target));
	if (ce->src.ss_family != AF_UNSPEC)
		memcpy(&sp.snat, &ce->src, sizeof(sp.snat));
	else if (kpath_route_source(dc->kp, (struct sockaddr *)&ce->addr, &sp.snat) == -1) {
		log_sess(LL_INFO, dc->sid, "data channel relayed, not forwarded by the kernel: "
		    "no route to %s: %s", addr_fmt((struct sockaddr *)&ce->addr, a, sizeof(a)),
		    strerror(errno));
		dc->kp = NULL;
		return -1;
	}
	addr_unmap(&sp.initiator);
	addr_unmap(&sp.target);
	addr_unmap(&sp.snat);
	addr_set_port((struct sockaddr *)&sp.initiator, 0);
	addr_set_port((struct sockaddr *)&sp.snat, 0);
	dc->kf = kflow_add(dc->kp, &sp, dc->timeout, kflow_event_cb, dc, err, sizeof(err));
	if (dc->kf == NULL)
		dc->kp = NULL;
	if (dc->kf == NULL) {
		log_sess(LL_INFO, dc->sid, "data channel relayed, not forwarded by the kernel: %s", err);
		return -1;
	}
	/* Nothing connects to a listener now (a TPROXY rule would even
	 * steal the SYN for it): there is none when dc_listen put it off;
	 * the port stays ours until the end. Mapped late: the listener
	 * stays until the kernel sees the connection (a SYN may have passed
	 * before the mapping). */
	dc->kernel = true;
	if (!dc->kernel_late)
		dc_end_close_socket(le);
	log_sess(LL_DEBUG, dc->sid, "data channel forwarded by the kernel: %s may connect to %s, "
	    "reaching %s", addr_fmt_host((struct sockaddr *)&sp.initiator, a, sizeof(a)),
	    addr_fmt((struct sockaddr *)&sp.announced, b, sizeof(b)),
	    addr_fmt((struct sockaddr *)&sp.target, err, sizeof(err)));
	return 0;
}

/* The kernel's flow: the initiator is the listening end's peer. */
static void
kflow_event_cb(struct kflow *kf, enum kflow_event ev, void *arg)
{
	struct data_channel *dc = arg;
	enum dc_side l = dc->end[DC_CLIENT].listens ? DC_CLIENT : DC_SERVER;
	struct timeval tv = { .tv_sec = dc->timeout };

	switch (ev) {
	case KF_EV_CONNECTED:
		if (dc->kernel_late) {
			dc->kernel_late = false;
			dc_end_close_socket(&dc->end[l]);
			dc_path_known(dc);
		}
		dc->end[DC_CLIENT].connected = dc->end[DC_SERVER].connected = true;
		dc->state = DC_RELAYING;
		/* From here the timer asks conntrack how long the connection
		 * has been quiet (dc_kernel_timer). */
		evtimer_add(dc->timer, &tv);
		log_sess(LL_DEBUG, dc->sid, "data channel connected (kernel)");
		return;
	case KF_EV_INITIATOR_DONE:
	case KF_EV_TARGET_DONE:
		/* Toward the client: the target's bytes when the client
		 * connected (passive), the initiator's when the server did. */
		if ((ev == KF_EV_TARGET_DONE) == (l == DC_CLIENT) && !dc->to_client_done) {
			dc->to_client_done = true;
			dc->to_client = dc_bytes_to_client(dc);
			if (!kflow_finished(kf)) {
				dc->cb(dc, DC_EV_TO_CLIENT_DONE, dc->arg);
				return;
			}
		}
		if (!kflow_finished(kf))
			return;
		dc->to_client_done = true;
		dc_kflow_free(dc);
		log_sess(LL_DEBUG, dc->sid, "data channel done (kernel): %llu bytes to server, "
		    "%llu to client", (unsigned long long)dc->to_server,
		    (unsigned long long)dc->to_client);
		evtimer_del(dc->timer);
		dc->state = DC_DONE;
		dc->cb(dc, DC_EV_DONE, dc->arg);
		return;
	case KF_EV_FAILED:
		dc_fail(dc, "data connection reset by the %s (forwarded by the kernel)",
		    dc_side_name[kflow_reset_by_initiator(kf) ? l : 1 - l]);
		return;
	}
}


void
dc_kernel_timer(struct data_channel *dc)
{
	struct timeval tv = { .tv_sec = dc->timeout };
	unsigned idle;

	assert(dc->kf != NULL && dc->state == DC_RELAYING);
	if (kflow_idle(dc->kf, &idle) == -1) {
		dc_fail(dc, "the kernel has no data connection any more (no FIN or reset seen)");
		return;
	}
	if (idle >= dc->timeout) {
		dc_fail(dc, "no progress for %u s (forwarded by the kernel)", idle);
		return;
	}
	tv.tv_sec = dc->timeout - idle;
	evtimer_add(dc->timer, &tv);
}

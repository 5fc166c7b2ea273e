/* metrics.h: the optional Prometheus endpoint (metrics-listen): the
 * counters of every worker (shared.h) in the text format 0.0.4, served by
 * libevent's evhttp on GET and HEAD /metrics (a query string is ignored;
 * "/" too), 404 for other paths, 405 for other methods.
 *
 * Like the control socket (ctl.h), it holds at most METRICS_MAX_CONNS
 * connections at a time (more are closed at once, logged once until
 * there is room again), pauses while out of descriptors, gives a peer CTL_REQUEST_SEC to
 * send its whole request (CTL_REQUEST_MAX bytes of head at most) and
 * CTL_ANSWER_SEC to take the answer, and answers one request per
 * connection. */
#ifndef FTPGW_METRICS_H
#define FTPGW_METRICS_H

#include <sys/socket.h>

#define METRICS_MAX_CONNS 32

struct event_base;
struct shared;
struct metrics;

/* The endpoint on ADDR, in the loop BASE, reporting SH. NULL on failure,
 * logged. */
struct metrics *metrics_open(struct event_base *base, struct shared *sh,
    const struct sockaddr *addr);
/* Close it and its connections. */
void metrics_close(struct metrics *m);

#endif

/* gateway.h: the process-wide part of one event loop: the configuration in
 * force, the listeners, the live sessions (with per-client counts), the
 * passive port pools, the operator's endpoints, and the signals (reload,
 * graceful stop). With several workers, each runs one of these in its own
 * process. */
#ifndef FTPGW_GATEWAY_H
#define FTPGW_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "listener.h"
#include "session.h"
#include "shared.h"
#include "xferlog.h"

struct event_base;
struct config;
struct portpool;
struct portpools;
struct upstream_registry;
struct session;
struct tls_engine;
struct ctl;
struct metrics;
struct evdns_base;
struct balance;

struct gateway {
	struct event_base *base;
	struct config *cf;               /* for new sessions; a reload swaps it */
	struct tls_engine *tls;          /* cf's TLS, NULL without a certificate */
	struct listener_set listeners;
	struct session_list sessions;    /* this loop's live sessions */
	struct session_env env;          /* what they get of the gateway */
	struct portpools *pools;         /* this worker's slices, kept for its lifetime */
	struct upstream_registry *upstreams;  /* reverse servers' standing, the same */
	unsigned worker, n_workers;      /* this loop's index, and how many run */
	bool stopping;
	struct event *sig_term, *sig_int, *sig_hup, *stop_timer;
	struct event *count_timer;       /* live byte counters, each second */
	pid_t supervisor;                /* with workers: who SIGHUP goes to */
	FILE *xferlog;                   /* transfer-log, NULL if none; see xferlog.h */
	struct ctl *ctl;                 /* control socket, NULL if none */
	struct metrics *metrics;         /* Prometheus endpoint, NULL if none */
	struct evdns_base *dns;          /* mode proxy's resolver, NULL if none */
	struct kpath *kpath;             /* data-path kernel | auto; NULL if none */
	char kpath_why_not[200];         /* why there is none, when wanted */
	char kpath_table[64];            /* what it was opened with */
	unsigned kpath_group;
	/* Session counts for the limits, and counters, shared by the workers;
	 * owned by main(). */
	struct shared *shared;
	struct gw_stats *stats;          /* this worker's, in shared */
	struct balance *balance;         /* which worker gets a connection; NULL: the hash */
};

/* Bind every listener of CF for worker WORKER of the shared_workers(SH)
 * that share SH (0 of 1 when there is one loop), with TLS (CF's, loaded
 * while the process was root; NULL: loaded from CF now, if it has TLS).
 * On failure print why and return -1; gateway_free() is still needed. */
int gateway_init(struct gateway *gw, struct event_base *base, struct config *cf,
    struct tls_engine *tls, struct shared *sh, struct balance *balance, unsigned worker);
void gateway_free(struct gateway *gw);
/* Re-read the configuration file (SIGHUP); ftpgwctl reload waiting on
 * the control socket is told how it went. */
void gateway_reload(struct gateway *gw);
/* Stop accepting; end when the last session is gone or after the
 * shutdown timeout (SIGTERM, SIGINT, ftpgwctl drain). */
void gateway_stop(struct gateway *gw);

#endif

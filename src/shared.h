/* shared.h: what the workers of one gateway share. One MAP_SHARED mapping,
 * made before the workers are forked, holds the session counts behind
 * max-sessions and max-sessions-per-client (so the limits hold for the
 * whole gateway, wherever SO_REUSEPORT puts a connection) and every
 * worker's counters (so ftpgwctl stats and the metrics speak for all of
 * them). A single-process gateway uses the same code with one worker.
 *
 * The session counts sit behind one robust process-shared mutex, taken
 * once when a session starts and once when it ends. The counters are
 * written only by their own worker, without a lock; readers sum them. */
#ifndef FTPGW_SHARED_H
#define FTPGW_SHARED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Counters since start, one set per worker. */
struct gw_stats {
	uint64_t sessions_total;
	uint64_t refused_limit;          /* max-sessions, max-sessions-per-client */
	uint64_t refused_loop;           /* not redirected: would loop into us */
	uint64_t refused_other;          /* server unreachable, out of memory */
	uint64_t bytes_to_server, bytes_to_client;   /* data, ended sessions */
	uint64_t data_passive, data_active;          /* client's choice */
	uint64_t tls_handshakes, tls_failures;
	uint64_t reloads;
};

enum shared_admit {
	ADMIT_OK,
	ADMIT_MAX_SESSIONS,              /* the whole gateway is at max-sessions */
	ADMIT_MAX_PER_CLIENT,            /* this client's host is at its limit */
	ADMIT_TABLE_FULL,                /* more client hosts than the table holds */
};

struct shared;

/* A mapping for N_WORKERS workers whose client table has room for
 * MAX_SESSIONS sessions (it is sized once: a reload that raises
 * max-sessions far above it can get ADMIT_TABLE_FULL). NULL with errno. */
struct shared *shared_new(unsigned n_workers, unsigned max_sessions);
/* Unmap; in a forked worker the others keep using the mapping. */
void shared_free(struct shared *sh);

unsigned shared_workers(const struct shared *sh);
/* How many client hosts the table holds at most. */
size_t shared_capacity(const struct shared *sh);

/* Count a new session of WORKER from CLIENT (its host: the port is
 * ignored, an IPv4 host and its v4-mapped IPv6 form are one host), unless
 * a limit refuses it; then nothing is counted. */
enum shared_admit shared_admit(struct shared *sh, unsigned worker,
    const struct sockaddr *client, unsigned max_sessions, unsigned max_per_client);
const char *shared_admit_reason(enum shared_admit verdict);
/* The end of a session shared_admit() counted. */
void shared_release(struct shared *sh, unsigned worker, const struct sockaddr *client);
/* WORKER is gone with all its sessions (it crashed): uncount them. */
void shared_forget_worker(struct shared *sh, unsigned worker);

/* Live sessions: of one worker, and of the gateway. */
unsigned shared_sessions(struct shared *sh, unsigned worker);
unsigned shared_sessions_total(struct shared *sh);
/* Live sessions of CLIENT's host, over all workers. */
unsigned shared_client_sessions(struct shared *sh, const struct sockaddr *client);

/* A session id unique in the gateway (all workers, restarts included). */
uint64_t shared_next_session_id(struct shared *sh);

/* WORKER's own counters, to increment. */
struct gw_stats *shared_stats(struct shared *sh, unsigned worker);
/* The sum over all workers, into SUM. */
void shared_stats_sum(const struct shared *sh, struct gw_stats *sum);

#endif

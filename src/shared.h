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
#include <stdio.h>
#include <sys/socket.h>

/* Every number of "ftpgwctl stats" and of the metrics endpoint, declared
 * once, in the order they are shown:
 *     X(field, type, stats name, metric family, metric labels, help)
 * A counter is a field of struct gw_stats: counted by each worker, summed
 * when asked. A gauge is measured when asked. The samples of one family
 * (told apart by their labels) are adjacent and share its type and help. */
#define GW_STATS(X) \
	X(sessions_active, gauge, "sessions_active", "ftpgw_sessions_active", "", \
	    "Control sessions open now.") \
	X(sessions_total, counter, "sessions_total", "ftpgw_sessions_total", "", \
	    "Control sessions accepted since start.") \
	/* max-sessions, max-sessions-per-client */ \
	X(refused_limit, counter, "sessions_refused_limit", \
	    "ftpgw_sessions_refused_total", "reason=\"limit\"", \
	    "Connections refused, by reason.") \
	/* not redirected: would loop into us */ \
	X(refused_loop, counter, "sessions_refused_not_redirected", \
	    "ftpgw_sessions_refused_total", "reason=\"not_redirected\"", \
	    "Connections refused, by reason.") \
	/* server unreachable, out of memory */ \
	X(refused_other, counter, "sessions_refused_other", \
	    "ftpgw_sessions_refused_total", "reason=\"other\"", \
	    "Connections refused, by reason.") \
	/* data bytes, added as they flow (each second) and at a session's end */ \
	X(bytes_to_server, counter, "data_bytes_to_server", "ftpgw_data_bytes_total", \
	    "direction=\"to_server\"", "Data bytes relayed, by direction.") \
	X(bytes_to_client, counter, "data_bytes_to_client", "ftpgw_data_bytes_total", \
	    "direction=\"to_client\"", "Data bytes relayed, by direction.") \
	/* by the client's choice */ \
	X(data_passive, counter, "data_channels_passive", "ftpgw_data_channels_total", \
	    "mode=\"passive\"", "Data channels set up, by the client's mode.") \
	X(data_active, counter, "data_channels_active", "ftpgw_data_channels_total", \
	    "mode=\"active\"", "Data channels set up, by the client's mode.") \
	/* data-path kernel | auto: forwarded by the kernel, or not after all */ \
	X(data_kernel, counter, "data_channels_kernel", "ftpgw_data_channels_path_total", \
	    "path=\"kernel\"", "Data channels where the kernel path was asked, by who carried them.") \
	X(data_kernel_fallbacks, counter, "data_channels_kernel_fallback", \
	    "ftpgw_data_channels_path_total", "path=\"relay\"", \
	    "Data channels where the kernel path was asked, by who carried them.") \
	/* ... and the relay's because the client came before the mapping */ \
	X(data_kernel_raced, counter, "data_channels_kernel_raced", \
	    "ftpgw_data_channels_path_total", "path=\"relay_raced\"", \
	    "Data channels where the kernel path was asked, by who carried them.") \
	/* bandwidth limits (rate-limit-session, rate-limit-client) */ \
	X(rate_waits, counter, "data_rate_limit_waits", \
	    "ftpgw_data_rate_limit_waits_total", "", \
	    "Times a data direction paused for its bandwidth limit.") \
	X(rate_wait_ms, counter, "data_rate_limit_wait_ms", \
	    "ftpgw_data_rate_limit_wait_milliseconds_total", "", \
	    "Milliseconds data directions paused for their bandwidth limits.") \
	X(tls_handshakes, counter, "tls_handshakes", "ftpgw_tls_handshakes_total", "", \
	    "Control-connection TLS handshakes completed.") \
	X(tls_failures, counter, "tls_failures", "ftpgw_tls_failures_total", "", \
	    "Control-connection TLS handshakes failed.") \
	/* mode proxy: USER user@host named a server / its name did not resolve */ \
	X(proxy_logins, counter, "proxy_logins", "ftpgw_proxy_logins_total", "", \
	    "Proxy logins (USER user@host) that named a server.") \
	X(proxy_resolve_failures, counter, "proxy_resolve_failures", \
	    "ftpgw_proxy_resolve_failures_total", "", \
	    "Proxy logins whose server name did not resolve.") \
	/* SIGHUP or ftpgwctl reload, counted once for all workers */ \
	X(reloads, counter, "config_reloads", "ftpgw_config_reloads_total", \
	    "result=\"ok\"", "Configuration reloads, by result.") \
	X(reloads_failed, counter, "config_reloads_failed", "ftpgw_config_reloads_total", \
	    "result=\"failed\"", "Configuration reloads, by result.") \
	/* ftpgw -U took our listening sockets (handover.h) */ \
	X(handovers, counter, "listener_handovers", "ftpgw_listener_handovers_total", "", \
	    "Times a worker handed its listening sockets to a new gateway.") \
	X(workers, gauge, "workers", "ftpgw_workers", "", \
	    "Worker processes (event loops) configured.") \
	X(build_info, gauge, "build_info", "ftpgw_build_info", \
	    "version=\"" PACKAGE_VERSION "\"", "The version of ftpgw running (always 1).") \
	X(start_time, gauge, "start_time_seconds", "ftpgw_start_time_seconds", "", \
	    "When the gateway started, in seconds since the Epoch.")

#define GW_STATS_FIELD_counter(field) uint64_t field;
#define GW_STATS_FIELD_gauge(field)
#define GW_STATS_FIELD(field, type, name, family, labels, help) \
	GW_STATS_FIELD_##type(field)

/* Counters since start, one set per worker. */
struct gw_stats {
	GW_STATS(GW_STATS_FIELD)
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

/* For the unit tests only: the step of shared_admit() (1, 2) or
 * shared_release() (3) at which the calling process _exit()s holding the
 * lock, as a worker killed mid-update would; 0, the default, never. */
extern int shared_test_crash_step;

/* A session id unique in the gateway (all workers, restarts included). */
uint64_t shared_next_session_id(struct shared *sh);

/* When shared_new() was called: the gateway's start, in time() seconds. */
int64_t shared_start_time(const struct shared *sh);
/* The log level ftpgwctl log-level set for every process of the gateway
 * (enum log_level), or -1 when none was set since the last reload. */
void shared_set_log_level(struct shared *sh, int level);
int shared_log_level(const struct shared *sh);

/* WORKER's own counters, to increment. */
struct gw_stats *shared_stats(struct shared *sh, unsigned worker);
/* The sum over all workers, into SUM. */
void shared_stats_sum(const struct shared *sh, struct gw_stats *sum);

/* Named counters: a small table of (kind, name) entries, each with
 * SHARED_TALLY_COUNTERS counters per worker, summed when written. An entry
 * is made on first use and never removed, so a name keeps its counts
 * across reloads (an access rule's, per kind "rule"). The kinds that
 * "ftpgwctl stats" and the metrics show, each with its columns:
 *     X(kind, stats name, metric family, label key, help, columns...)
 * where each of the SHARED_TALLY_COUNTERS columns is the label of that
 * counter, or NULL for a counter not shown. Written as
 *     STATSNAME{KEY="NAME",COLUMN} VALUE      (ftpgwctl stats)
 *     FAMILY{KEY="NAME",COLUMN} VALUE          (metrics) */
#define SHARED_TALLY_MAX       256
#define SHARED_TALLY_COUNTERS  4
#define SHARED_TALLY_KIND_MAX  15        /* bytes of a kind, NUL excluded */
#define SHARED_TALLY_NAME_MAX  63        /* bytes of a name */
#define SHARED_TALLY_KINDS(X) \
	X("rule", "rule_matches", "ftpgw_rule_matches_total", "rule", \
	    "Decisions of each access rule, by its action.", \
	    "action=\"allow\"", "action=\"deny\"", NULL, NULL) \
	X("upstream", "upstream_connects", "ftpgw_upstream_connects_total", "upstream", \
	    "Sessions' connections to each reverse upstream, by result.", \
	    "result=\"ok\"", "result=\"failed\"", NULL, NULL)

/* The entry of KIND and NAME, made if it is new: its slot, or -1 when the
 * table is full or KIND or NAME is too long or empty. Safe from any
 * worker; making an entry takes the lock, finding one does not. */
int shared_tally_slot(struct shared *sh, const char *kind, const char *name);
/* Add N to counter COUNTER of SLOT, for WORKER. */
void shared_tally_add(struct shared *sh, unsigned worker, int slot, unsigned counter,
    uint64_t n);
/* Counter COUNTER of SLOT, summed over the workers. */
uint64_t shared_tally_get(const struct shared *sh, int slot, unsigned counter);
/* Per-client bandwidth limit (rate-limit-client): take N bytes, in
 * direction DIR (0 or 1), from the bucket of CLIENT's host (its port is
 * ignored, as for shared_admit), shared by every session of that host on
 * every worker, refilling at RATE bytes/s (ratelimit.h; N at most
 * rl_burst(RATE)). NOW: CLOCK_MONOTONIC in ns. Returns 0 when the bytes
 * were taken, else the ns to wait before asking again. One lock per call:
 * callers take chunks (rl_chunk), not single reads. A host's bucket is
 * made by its first take and forgotten once full again. */
uint64_t shared_rate_take(struct shared *sh, const struct sockaddr *client,
    int dir, uint64_t rate, uint64_t now, uint64_t n);
/* Hosts with a bucket (for the tests). */
size_t shared_rate_entries(struct shared *sh);

enum stats_format {
	STATS_TEXT,                      /* ftpgwctl stats: "NAME VALUE" lines */
	STATS_PROMETHEUS,                /* text exposition format 0.0.4 */
};
/* Every number of GW_STATS, then the named counters of SHARED_TALLY_KINDS,
 * for the whole gateway, to F. */
void shared_stats_write(struct shared *sh, FILE *f, enum stats_format format);

#endif

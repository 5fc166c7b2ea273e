/* upstream.h: the servers behind a reverse listener (upstream = {...}),
 * pure code: no I/O, the time is passed in.
 *
 * A new session goes to the next server in turn (round robin) among those
 * in service. A server whose connection is refused or times out is out of
 * service for `upstream-recheck` seconds: sessions skip it; after that the
 * next session in turn tries it again (a passive re-check: a success puts
 * it back, a failure takes it out for another interval). When every server
 * is out of service, the one whose interval ends first is tried anyway: a
 * session is never refused for want of a server the gateway merely
 * suspects. A session stays on the server it got.
 *
 * Standing is per worker process and per server address: two listeners
 * naming the same server share what they learn about it. Everything here
 * lives as long as its registry (the worker), so sessions from before a
 * reload may keep pointers into it. */
#ifndef FTPGW_UPSTREAM_H
#define FTPGW_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

struct upstream_registry;
struct upstream_pool;
struct upstream;

struct upstream_registry *upstream_registry_new(void);
void upstream_registry_free(struct upstream_registry *reg);

/* The pool of the N servers ADDRS (host and port), made on first use and
 * the same for the same list afterwards. NULL: out of memory. */
struct upstream_pool *upstream_pool_get(struct upstream_registry *reg,
    const struct sockaddr_storage *addrs, size_t n);
size_t upstream_pool_size(const struct upstream_pool *pool);

/* The server for a new session at NOW (see above). Never NULL. */
struct upstream *upstream_choose(struct upstream_pool *pool, time_t now);
const struct sockaddr_storage *upstream_addr(const struct upstream *up);

enum upstream_change {
	UPSTREAM_SAME,
	UPSTREAM_WENT_DOWN,              /* out of service from now */
	UPSTREAM_CAME_BACK,              /* a success after being out */
};
/* A session's connection to UP succeeded (OK) or was refused or timed out,
 * at NOW; RECHECK: seconds out of service after a failure. Returns what
 * changed, for the log. */
enum upstream_change upstream_report(struct upstream *up, bool ok, time_t now,
    unsigned recheck);
bool upstream_in_service(const struct upstream *up, time_t now);

/* Counted by upstream_choose() and upstream_report(). */
uint64_t upstream_sessions(const struct upstream *up);
uint64_t upstream_failures(const struct upstream *up);

#endif

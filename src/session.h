/* session.h: one client's control connection and everything hanging off it:
 * the server connection, the FTP state, the current data channel.
 *
 * A session knows nothing of the gateway that runs it: it gets a narrow
 * environment (the event loop, the shared counters, the transfer log, and
 * three callbacks for the limits and the loop check) and lives in a list
 * its owner walks for ftpgwctl and for a graceful stop. */
#ifndef FTPGW_SESSION_H
#define FTPGW_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>
#include <sys/socket.h>

struct config;
struct evbuffer;
struct evdns_base;
struct event_base;
struct gw_stats;
struct listen_conf;
struct portpool;
struct session;
struct shared;
struct tls_engine;

struct session_env {
	struct event_base *base;
	struct shared *shared;           /* session ids, the rules' counters */
	unsigned worker;                 /* this loop's index, for the counters */
	struct gw_stats *stats;          /* this loop's counters */
	FILE *const *xferlog;            /* the transfer log, *xferlog NULL if none */
	void *arg;                       /* for the callbacks */
	/* Count a new session from CLIENT's host unless a limit refuses it
	 * (then *WHY says which). */
	bool (*admit)(void *arg, const struct sockaddr *client, const char **why);
	/* A session admit() counted has ended. */
	void (*release)(void *arg, const struct sockaddr *client);
	/* Is ADDR one of our own control listeners (a connection loop)? */
	bool (*is_own_listener)(void *arg, const struct sockaddr *addr);
	/* mode proxy's resolver (libevent's evdns, in this loop), NULL
	 * while no listener has mode proxy. */
	struct evdns_base *dns;
	/* data-path kernel | auto: this loop's kernel path (kpath.h); NULL
	 * without, and then KPATH_WHY_NOT says why. */
	struct kpath *kpath;
	const char *kpath_why_not;
};

/* Where a connection came in, and the settings it starts with. */
struct upstream_pool;

struct session_origin {
	struct config *cf;               /* the session takes a reference */
	struct tls_engine *tls;          /* NULL without a certificate; referenced */
	const struct listen_conf *lc;    /* in cf */
	struct portpool *pool;           /* the listener's passive ports */
	struct upstream_pool *ups;       /* reverse: lc's servers (upstream.h) */
};

/* The live sessions of one event loop. */
struct session_list {
	TAILQ_HEAD(, session) head;
	unsigned n;
};

void session_list_init(struct session_list *list);
/* A client connected (FD is ours from now on); the session joins LIST
 * when ENV admits it. ENV and LIST outlive every session. */
void session_accept(const struct session_env *env, struct session_list *list,
    const struct session_origin *origin, int fd, const struct sockaddr *peer);
/* One line per session for ftpgwctl: id client server app phase
 * bytes-up bytes-down age-seconds user. */
void session_list_describe(const struct session_list *list, struct evbuffer *out);
/* Add the data bytes every session relayed since the last call to the
 * shared counters (a session's end adds the rest), so that they move
 * during a long transfer. One walk of the list, nothing per byte. */
void session_list_count_bytes(struct session_list *list);
/* End session ID of LIST, REPLY its last line and REASON its end summary's
 * last words: false when LIST has no such live session. */
bool session_list_end(struct session_list *list, uint64_t id, const char *reply,
    const char *reason);
/* Graceful stop: every session gets REPLY as its last line and closes. */
void session_list_shutdown(struct session_list *list, const char *reply);

#endif

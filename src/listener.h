/* listener.h: listening sockets.
 *
 * An acceptor accepts on one listening socket and survives running out of
 * descriptors: on EMFILE/ENFILE (or ENOBUFS/ENOMEM) it stops accepting for
 * ACCEPTOR_PAUSE_MS and tries again, instead of spinning on the pending
 * connection, and logs once per episode (when it starts, and when accepting
 * works again), not once per attempt. The control socket and the metrics
 * endpoint are acceptors.
 *
 * The gateway's FTP listeners, one per listen section, are acceptors with
 * their configuration and this worker's slice of their passive range. A
 * reload takes over the sockets whose address stays, so it never drops a
 * listening socket. */
#ifndef FTPGW_LISTENER_H
#define FTPGW_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define ACCEPTOR_PAUSE_MS 250

struct event_base;
struct config;
struct listen_conf;
struct portpool;
struct portpools;

struct acceptor;

/* A connection on FD (ours from now on) from PEER. */
typedef void acceptor_fn(int fd, const struct sockaddr *peer, void *arg);

/* Accept on FD (listening, non-blocking; closed by acceptor_free(), or
 * at once when this fails) and call FN(fd, peer, ARG) for each connection.
 * WHAT names the socket in the log ("control socket /run/ftpgw/ftpgw.sock").
 * NULL when out of memory. */
struct acceptor *acceptor_new(struct event_base *base, int fd, const char *what,
    acceptor_fn *fn, void *arg);
/* Change the name and the callback (a socket taken over by a reload). */
void acceptor_set_cb(struct acceptor *a, const char *what, acceptor_fn *fn, void *arg);
int acceptor_fd(const struct acceptor *a);
void acceptor_free(struct acceptor *a);

struct listener;

/* A client connected to listener L. */
typedef void listener_fn(struct listener *l, int fd, const struct sockaddr *peer,
    void *arg);

/* One listen section's socket. */
struct listener {
	const struct listen_conf *lc;    /* in the configuration in force */
	struct portpool *pool;           /* this worker's slice of lc's passive range */
	struct sockaddr_storage addr;
	struct acceptor *acc;
	/* More sockets for the same address, taken over from a gateway
	 * that ran more workers (handover.h); the same callback. */
	struct acceptor **extra;
	size_t n_extra;
	struct listener_set *set;
};

/* The listeners of one event loop. */
struct listener_set {
	struct event_base *base;
	struct portpools *pools;         /* where the passive ranges come from */
	bool reuse_port;                 /* SO_REUSEPORT: several workers bind */
	bool has_owner;                  /* their sockets belong to OWNER (sock.h) */
	uid_t owner;
	unsigned worker, n_workers;      /* which sockets of a handover are ours */
	struct balance *balance;         /* the sockets join it (balance.h); NULL: the hash */
	listener_fn *fn;                 /* called for every connection */
	void *arg;
	struct listener *v;
	size_t n;
};

/* Listen on every listen section of CF, taking over (not reopening) the
 * sockets of SET with the same address and closing the others. Nothing of
 * SET changes unless every listener of CF could be had: then -1, logged. */
int listeners_replace(struct listener_set *set, const struct config *cf);
/* Close them all (graceful stop, exit). */
void listeners_close(struct listener_set *set);
/* Make sure the handover pool (handover.h) holds a listening socket for
 * each of N_WORKERS workers and every listen section of CF, binding what
 * it lacks as the workers would: a supervisor that owns the sockets gives
 * a worker started again the one its predecessor had. -1 on failure,
 * logged. */
int listeners_prebind(const struct config *cf, unsigned n_workers);
/* Their listening sockets (handed over to a new process), up to MAX in
 * FDS; the number of them, or -1 when there are more than MAX. */
int listeners_fds(const struct listener_set *set, int *fds, size_t max);
/* Is ADDR (host and port) one of them? */
bool listeners_own(const struct listener_set *set, const struct sockaddr *addr);

#endif

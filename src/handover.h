/* handover.h: listening sockets passed from one ftpgw process to the next,
 * so that a restart or a binary upgrade refuses no connection.
 *
 * "ftpgw -U" asks the gateway running with the same control socket for
 * its listeners: it connects to each of its workers' control sockets
 * (PATH, then PATH.1 ... as ftpgwctl does), sends "handover", and gets
 * back one message with the worker's listening sockets (SCM_RIGHTS). From
 * then on that worker accepts nothing; its live sessions finish (up to
 * shutdown-timeout) and it exits, as on SIGTERM. The sockets themselves
 * change hands, with the connections waiting in their queues, so there is
 * no moment in which a client is refused.
 *
 * Sockets passed by systemd (LISTEN_FDS: socket activation, or the file
 * descriptor store) join the same pool.
 *
 * The received sockets wait in a process-wide pool until the listeners
 * are opened: worker I of N takes, for each listen address, the K-th
 * matching socket for every K with K % N == I (so every socket has
 * exactly one owner, whatever the old and new worker counts), and binds
 * a new one only when it got none. Sockets nobody claims (an address no
 * longer configured) are closed. */
#ifndef FTPGW_HANDOVER_H
#define FTPGW_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* At most this many sockets in one worker's handover message. */
#define HANDOVER_MAX_FDS 64

/* ---- the new process ---- */

/* Ask the gateway whose worker 0 has the control socket PATH for all its
 * listening sockets, into the pool. 0 when done, or when no gateway
 * answers at PATH (*FOUND false: nothing to take over); -1 with the
 * reason in ERR when one answered but the handover failed. */
int handover_request(const char *path, bool *found, char *err, size_t errsize);
/* Take the sockets systemd passed (LISTEN_PID/LISTEN_FDS) into the pool.
 * The number taken. */
size_t handover_from_systemd(void);
/* The sockets for listen address ADDR that worker INDEX of N owns: up to
 * MAX of them into FDS (non-blocking, close-on-exec, now the caller's).
 * The number of them. */
size_t handover_claim(const struct sockaddr *addr, unsigned index, unsigned n,
    int *fds, size_t max);
/* Add listening socket FD (ours from now on) to the pool; -1 (and FD
 * closed) when it is not a listening TCP socket. */
int handover_pool_add(int fd);
/* How many of the pool's sockets are for ADDR. */
size_t handover_pool_count(const struct sockaddr *addr);
/* FN for every socket in the pool. */
void handover_pool_each(void (*fn)(int fd, const struct sockaddr *addr, void *arg),
    void *arg);
/* Close the sockets of the pool for which KEEP says false, calling
 * DROPPED (unless NULL) on each first. */
void handover_pool_drop(bool (*keep)(const struct sockaddr *addr, void *arg), void *arg,
    void (*dropped)(int fd));
/* Close every socket left in this process's pool (each worker after
 * opening its listeners, the supervisor after starting the workers). */
void handover_pool_release(void);
/* How many sockets the pool holds now. */
size_t handover_pool_size(void);
/* Whether one of the pool's sockets for ADDR was bound without
 * SO_REUSEPORT (by a single-process gateway): then no second worker can
 * bind beside it. */
bool handover_pool_unshared(const struct sockaddr *addr);

/* ---- the old process ---- */

/* Send FDS (N of them, N <= HANDOVER_MAX_FDS) over the connected AF_UNIX
 * socket CONN in one message, saying this process runs WORKERS workers.
 * 0, or -1 with errno. */
int handover_send(int conn, const int *fds, size_t n, unsigned workers);

#endif

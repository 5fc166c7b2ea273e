/* balance.h: which worker takes a new control connection.
 *
 * With several workers every listen address has one SO_REUSEPORT socket
 * per worker, and by default the kernel picks one by a hash of the
 * connection's addresses. Under a light load that hands consecutive
 * sessions to different workers, each one cold: on the machine ftpgw is
 * benchmarked on, one client's sessions ran 20-30% slower spread over two
 * workers than kept on one. A small eBPF program attached to each
 * listener's reuseport group picks instead the first worker (lowest
 * number) whose open sessions are within BALANCE_SLACK of the least busy
 * worker's: a light load stays on one warm worker, a heavy one is spread
 * within that margin, more evenly than a hash spreads it.
 *
 * Each worker publishes its open sessions in a BPF array map that every
 * process has mapped (set up before the workers are forked); it writes
 * only its own slot. The supervisor builds a program for each listen
 * address of the configuration it starts with (this needs CAP_BPF or
 * root); a worker's listening socket joins its address's program. Where
 * there is none (an older kernel, no privilege, an address first
 * configured by a reload) the kernel's hash stays. */
#ifndef FTPGW_BALANCE_H
#define FTPGW_BALANCE_H

#include <stddef.h>
#include <sys/socket.h>

/* How many sessions more than the least busy worker's the first workers
 * may have and still be picked. At least 1: a client that opens its next
 * session as its last one ends must find the same worker. */
#define BALANCE_SLACK 2

struct config;
struct balance;

/* For N_WORKERS (> 1) workers and every listen address of CF. NULL with
 * why in ERR when the kernel will not load the programs. */
struct balance *balance_new(const struct config *cf, unsigned n_workers, char *err,
    size_t errsize);
/* In the supervisor, at the end. A worker leaves it to its exit. */
void balance_free(struct balance *b);
/* Worker WORKER's listening socket FD for ADDR joins ADDR's program.
 * 1 when it did, 0 when ADDR has none (the hash picks), -1 with errno.
 * B may be NULL (0). */
int balance_join(struct balance *b, const struct sockaddr *addr, unsigned worker, int fd);
/* Worker WORKER accepts no more (it stops, or hands its sockets to a new
 * gateway): its sockets leave the programs' maps. A socket is in one map
 * at a time, and the next gateway's workers need them in theirs. */
void balance_leave(struct balance *b, unsigned worker);
/* Worker WORKER opened (+1) or closed (-1) a session. B may be NULL. */
void balance_count(struct balance *b, unsigned worker, int delta);
/* Worker WORKER starts (again, after a crash): it has none. */
void balance_reset(struct balance *b, unsigned worker);

#endif

/* relay.h: moves bytes between two connected plaintext sockets until both
 * directions have ended, with backpressure both ways and half-close carried
 * across (EOF on one side becomes shutdown(SHUT_WR) on the other).
 *
 * Two backends behind this one interface, chosen per direction when its
 * first bytes arrive: splice(2) through a pipe (zero copy, the default)
 * and a large-read copy through a user buffer, used when a pipe cannot be
 * had within the pipe budget (or at all). The FTP logic never sees a data
 * byte. */
#ifndef FTPGW_RELAY_H
#define FTPGW_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct event_base;
struct relay;

/* What a relay reports. A_TO_B_DONE / B_TO_A_DONE: that direction saw EOF
 * and passed it on after writing everything before it, while the other
 * direction goes on. DONE: both directions have (reported instead of the
 * second *_DONE). FAILED: a socket error (ERR = errno); the relay stops.
 * The callback may free the relay on any event. */
enum relay_event { RELAY_A_TO_B_DONE, RELAY_B_TO_A_DONE, RELAY_DONE, RELAY_FAILED };
typedef void relay_event_fn(struct relay *relay, enum relay_event ev, int err, void *arg);

enum relay_backend { RELAY_SPLICE, RELAY_COPY, RELAY_TLS };

/* The pipe bytes this process's relays may hold, all together (the
 * kernel's per-user budget, fs.pipe-user-pages-soft, shared out between
 * the processes); SIZE_MAX, the default, for none. */
void relay_set_pipe_budget(size_t bytes);

/* Takes ownership of FD_A and FD_B in every case: closed by relay_free, or
 * at once when it fails (NULL: out of memory or events). */
struct relay *relay_new(struct event_base *base, int fd_a, int fd_b,
    relay_event_fn *cb, void *arg);
/* The same, when either side speaks TLS (SSL_A / SSL_B not NULL; A_ACCEPTS:
 * the gateway is A's TLS server, else its client). The handshakes run
 * first; each direction's end is passed on as close_notify, then FIN, so
 * the peer knows the data is complete and the session stays resumable.
 * A TLS side that ends without close_notify (a bare FIN: the data may be
 * cut short) fails the relay, unless the other direction had already
 * ended toward it (it is only closing in turn).
 * A failed relay never sends close_notify: both connections are reset, so
 * neither peer takes what it got for the whole (relay_free).
 * Takes the fds and SSLs in every case, as relay_new does. */
struct relay *relay_new_tls(struct event_base *base, int fd_a, SSL *ssl_a,
    bool a_accepts, int fd_b, SSL *ssl_b, bool b_accepts,
    relay_event_fn *cb, void *arg);
void relay_free(struct relay *relay);
/* Side A's (0) or B's (1) TLS handshake must resume a session, or the
 * relay fails (require-session-reuse). */
void relay_require_resumption(struct relay *relay, int side);
/* Fail the relay (RELAY_FAILED, ETIMEDOUT) when for SEC seconds neither
 * direction has moved a byte nor a TLS handshake finished: a peer that
 * stopped reading, one that stopped sending without a FIN, a connection
 * never used, a handshake that never ends. One timer per relay, firing
 * every SEC seconds and comparing counters (nothing is re-armed per read),
 * so a stall ends within SEC to 2 x SEC. Both connections are then reset,
 * not closed. SEC 0 (the default): no timer. Returns 0 or -1 (ENOMEM). */
int relay_set_timeout(struct relay *relay, unsigned sec);
/* Bandwidth limits: before a direction reads, it asks TAKE (ARG; DIR 0
 * for A -> B, 1 for B -> A) for CHUNK bytes. TAKE returns 0 when they
 * may go (it has spent them), else the nanoseconds to wait; the direction
 * then stops reading (its read event, or its bufferevent's reading, off)
 * until a timer asks again. A plaintext direction reads at most what it
 * was granted, still by splice; a TLS one counts what it read and goes
 * into debt by at most one read, paid before it reads again. Such a wait
 * is no stall for relay_set_timeout. Set once, before any byte moves;
 * without it nothing is asked. Returns 0 or -1 (ENOMEM). */
typedef uint64_t relay_take_fn(void *arg, int dir, size_t chunk);
int relay_set_rate(struct relay *relay, relay_take_fn *take, void *arg,
    size_t chunk);
/* What relay_error calls sides A and B ("the client", "the server");
 * static strings. Default: "side A", "side B". */
void relay_set_names(struct relay *relay, const char *a, const char *b);
/* After RELAY_FAILED: what went wrong, for the log ("" if nothing known). */
const char *relay_error(const struct relay *relay);

uint64_t relay_bytes_a_to_b(const struct relay *relay);
uint64_t relay_bytes_b_to_a(const struct relay *relay);
enum relay_backend relay_backend(const struct relay *relay);
/* Which directions have seen their end of stream (for logs and tests). */
bool relay_finished(const struct relay *relay);

#endif

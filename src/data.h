/* data.h: one FTP data connection as the gateway sees it: two ends (the
 * client's and the server's), each either a listener of the gateway's that
 * waits for its one expected peer, or an outbound connect. When both ends
 * are connected, their sockets go to the relay.
 *
 * Lifecycle: ARMED (listeners open, nothing connected) -> OPENING (at least
 * one end connecting or connected) -> RELAYING -> DONE (relay finished,
 * failed, or timed out). Every waiting state has the timeout given to
 * dc_new: ARMED and OPENING together must end within it (both ends
 * connected), RELAYING fails when neither direction moves a byte (nor a
 * TLS handshake finishes) for it, detected within 1 to 2 x the timeout; a
 * listener out of descriptors retries until then. DONE holds no socket.
 * An end of kind CONNECT starts as soon as the other
 * end is connected; when both ends connect, the server end starts first
 * (the client is told only once the server's data is there). */
#ifndef FTPGW_DATA_H
#define FTPGW_DATA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "relay.h"

struct event_base;
struct portpool;
struct data_channel;

enum dc_side { DC_CLIENT = 0, DC_SERVER = 1 };
enum dc_state { DC_ARMED, DC_OPENING, DC_RELAYING, DC_DONE };

enum dc_event {
	DC_EV_TO_CLIENT_DONE,    /* every byte for the client written, then FIN */
	DC_EV_DONE,              /* both directions finished */
	DC_EV_FAILED,            /* timeout, refused, reset: the channel is closed;
	                          * dc_error says why */
	DC_EV_PATH,              /* the kernel path was asked (dc_set_kernel), and
	                          * who carries the channel is known now:
	                          * dc_kernel, else dc_kernel_raced */
};
/* The channel may be freed from inside the callback. */
typedef void dc_event_fn(struct data_channel *dc, enum dc_event ev, void *arg);

struct data_channel *dc_new(struct event_base *base, uint64_t sid,
    unsigned timeout_sec, dc_event_fn *cb, void *arg);
void dc_free(struct data_channel *dc);

/* Listen on SIDE: bind HOST (its port is ignored) at a port taken from POOL
 * (random; retried on EADDRINUSE), accept only EXPECTED_PEER's host. The
 * bound address is written to *BOUND. DEFER (the kernel is to forward the
 * channel, dc_set_kernel): only take the port; the listener is opened if
 * the relay carries the channel after all. Returns 0 or -1 (errno). */
int dc_listen(struct data_channel *dc, enum dc_side side,
    const struct sockaddr *host, bool transparent, struct portpool *pool,
    const struct sockaddr *expected_peer, bool defer, struct sockaddr_storage *bound);
/* Open SIDE's listener that dc_listen put off (DEFER), before its port
 * is announced: when a socket not ours holds that port, another port of
 * the pool. The bound address is written to *BOUND (also when it was
 * open already). Returns 0 or -1 (errno, logged). */
int dc_listen_open(struct data_channel *dc, enum dc_side side, struct sockaddr_storage *bound);
/* Connect on SIDE to TARGET, from SRC (NULL: any) when the time comes. */
void dc_connect_to(struct data_channel *dc, enum dc_side side,
    const struct sockaddr *target, const struct sockaddr *src, bool transparent);
/* Set the target of a connecting end once known (server's 227/229). */
void dc_set_target(struct data_channel *dc, enum dc_side side,
    const struct sockaddr *target);
/* Make SIDE's data connection TLS (PROT P on that leg): the gateway is the
 * TLS server toward the client and the TLS client toward the server,
 * resuming SLOT's newest ticket there (RFC 4217 session reuse). SLOT is
 * the FTP session's TLS memory (the same for both sides). MUST_RESUME
 * (client side only): the client's handshake must resume its control
 * connection's session, or the channel fails. */
struct tls_engine;
struct tls_ticket;
void dc_set_tls(struct data_channel *dc, enum dc_side side, struct tls_engine *en,
    struct tls_ticket *slot, const struct sockaddr *server, bool must_resume);
/* Bandwidth limits for the relay (relay_set_rate): TAKE's DIR is 0 for
 * the bytes toward the server, 1 for those toward the client. Before the
 * channel relays; ARG must outlive the channel. */
void dc_set_rate(struct data_channel *dc, relay_take_fn *take, void *arg,
    size_t chunk);
/* data-path kernel (kpath.h): let the kernel forward the channel, when it
 * accepts the mapping at dc_start; the relay carries it otherwise (the
 * reason is logged). The caller has checked that it is plaintext with one
 * end listening and the other connecting (data_path.h). ANNOUNCED is what
 * the listening end's peer was told to connect to (host and port). */
struct kpath;
void dc_set_kernel(struct data_channel *dc, struct kpath *kp,
    const struct sockaddr *announced);
/* A channel of dc_kernel_late whose reply went out (or is queued): its
 * mapping now, else at the loop's next turn. */
void dc_kernel_map(struct data_channel *dc);
/* Whether the kernel forwards it (after DC_EV_PATH). */
bool dc_kernel(const struct data_channel *dc);
/* Relayed because the client connected before the kernel's mapping was
 * in (after DC_EV_PATH; see dc_kernel_late). */
bool dc_kernel_raced(const struct data_channel *dc);
/* Whether the kernel's mapping may go in after the reply that announces
 * its port: the client connects to a plain listener (no TPROXY rule
 * steals its SYN) and the server's target is not known yet (PASV, EPSV).
 * The caller then opens the client's listener (dc_listen_open) although
 * the kernel is to forward the channel, and dc_start leaves the mapping
 * until the reply went out (dc_kernel_map): its netlink transaction (tens
 * of us) overlaps with the client's turn instead of delaying the 227. The
 * listener takes a client that comes first (dc_kernel_raced). */
bool dc_kernel_late(const struct data_channel *dc);
/* Start listening, start the timer, and connect what must go first.
 * Returns 0 or -1 (errno). */
int dc_start(struct data_channel *dc);

/* Accept what is already waiting on our listeners. A server's "226" can be
 * read in the same loop turn as its data connection arrives: this makes
 * the channel's state current before the reply is judged. May report
 * events (and so free DC through the callback). */
void dc_poll(struct data_channel *dc);
enum dc_state dc_state(const struct data_channel *dc);
bool dc_to_client_done(const struct data_channel *dc);
uint64_t dc_bytes_to_server(const struct data_channel *dc);
uint64_t dc_bytes_to_client(const struct data_channel *dc);
bool dc_ends_listen(const struct data_channel *dc, enum dc_side side);
/* After DC_EV_FAILED: why, one line for the log and a 426 reply, e.g.
 * "timed out waiting for the data connection: none from the client in
 * 60 s", "no progress for 60 s", "TLS handshake with the client: no
 * progress for 60 s", "TLS handshake with the server: <OpenSSL error>",
 * "data connection to the server 203.0.113.2:20: Connection refused",
 * "out of file descriptors: ...". "" while the channel has not failed. */
const char *dc_error(const struct data_channel *dc);

#endif

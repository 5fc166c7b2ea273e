/* data_int.h: the data channel's insides, shared by data.c (listeners,
 * connects, the relay) and data_kernel.c (the kernel data path). */
#ifndef FTPGW_DATA_INT_H
#define FTPGW_DATA_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "data.h"
#include "relay.h"

struct event;
struct kflow;

struct dc_end {
	bool listens;                    /* a listener of ours, else a connect */
	bool transparent;
	struct sockaddr_storage addr;    /* listening: bound; connecting: target */
	struct sockaddr_storage src;     /* connecting: source, or AF_UNSPEC */
	struct sockaddr_storage peer;    /* listening: the only host let in */
	struct portpool *pool;
	int pool_port;                   /* taken from pool, -1 if none */
	int lfd;                         /* listening socket */
	int fd;                          /* the data connection */
	struct event *ev;
	bool started, connected;
	bool paused;                     /* listening: accept ran out of fds */
};

struct data_channel {
	uint64_t sid;
	struct event_base *base;
	enum dc_state state;
	struct dc_end end[2];
	struct relay *relay;
	/* ARMED and OPENING: one deadline for both ends to be connected.
	 * RELAYING: the relay's own no-progress timer. DONE: nothing open. */
	struct event *timer;
	struct event *retry;             /* paused listeners, lazily made */
	int accept_err;                  /* last EMFILE/ENFILE of an accept */
	unsigned timeout;
	dc_event_fn *cb;
	void *arg;
	bool started;                    /* dc_start has run */
	bool to_client_done;
	uint64_t to_server, to_client;
	/* PROT P per side. */
	bool tls[2];
	bool client_must_resume;         /* require-session-reuse */
	struct tls_engine *tls_engine;
	struct tls_ticket *ticket;       /* the FTP session's, it outlives us */
	struct sockaddr_storage tls_server;
	/* Bandwidth limits (dc_set_rate), NULL take for none. */
	relay_take_fn *take;
	void *take_arg;
	size_t take_chunk;
	/* data-path kernel: the loop's kernel path until dc_start, then the
	 * flow when the kernel took the channel. */
	struct kpath *kp;
	struct kflow *kf;
	bool kernel;                     /* the kernel took it */
	bool kernel_asked;               /* dc_set_kernel ran: DC_EV_PATH is owed */
	/* The mapping goes in right after the reply that announces the port
	 * (dc_kernel_late): meanwhile the client's listener is open, and a
	 * connection it takes before the kernel saw one is the relay's. */
	bool kernel_late;
	bool kernel_due;                 /* the mapping waits for the reply (and
	                                  * the timer, at 0, is for it) */
	bool kernel_raced;               /* the client came before the mapping */
	struct sockaddr_storage announced;
	char error[200];                 /* why it failed (dc_error) */
};

extern const char *const dc_side_name[2];   /* "client", "server" */

/* Close everything, keep why for dc_error, and tell the owner. Nothing
 * touches DC afterwards. */
void dc_fail(struct data_channel *dc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Open the listeners dc_listen put off (DEFER), as the relay is to carry
 * the channel: 0, or -1 (logged). */
int dc_listen_late(struct data_channel *dc);
/* data_kernel.c: hand the channel to the kernel (0), or leave it to the
 * relay (-1); free the kernel's flow, keeping its counts. */
int dc_kernel_start(struct data_channel *dc);
void dc_kflow_free(struct data_channel *dc);
/* The kernel-forwarded channel's timer: no progress for the timeout fails
 * it, as the relay's does. */
void dc_kernel_timer(struct data_channel *dc);
/* data-path kernel, mapped late (dc_kernel_late): the timer at 0 that
 * installs the mapping; a connection the client's listener accepted
 * first (the relay carries it); the channel's path known (DC_EV_PATH). */
void dc_kernel_due(struct data_channel *dc);
void dc_kernel_lost_race(struct data_channel *dc);
void dc_path_known(struct data_channel *dc);
/* Close E's listening socket and its event, keeping its port (a kernel
 * flow uses it until the channel ends). */
void dc_end_close_socket(struct dc_end *e);

#endif

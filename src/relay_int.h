/* relay_int.h: the inside of the relay, shared by relay.c (the splice,
 * copy and TLS backends) and relay_rate.c (the bandwidth limits) and by
 * nothing else. */
#ifndef FTPGW_RELAY_INT_H
#define FTPGW_RELAY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "relay.h"

/* TLS backend: bytes queued toward one side before reading the other stops. */
#define RELAY_TLS_QUEUE   (1024 * 1024)

struct relay_dir {
	struct relay *relay;
	enum relay_backend backend;
	bool setup;              /* has its pipe or buffer (set up lazily) */
	int in, out;
	int pipe[2];             /* splice backend */
	char *buf;               /* copy backend */
	size_t buf_off;          /* copy: first unsent byte in buf */
	size_t held;             /* bytes in pipe or buf waiting for `out` */
	size_t cap;              /* pipe or buffer capacity */
	bool eof;                /* `in` reached end of stream */
	bool done;               /* eof seen, everything written, out shut */
	bool dirty;              /* TLS: `in` ended without close_notify; r->error says how */
	struct event *rev, *wev;
	uint64_t bytes;
	/* Bandwidth limit (relay_set_rate): bytes granted and not yet read
	 * (a TLS direction can go below 0 by one read); waiting for more. */
	int64_t credit;
	bool rate_wait;
	struct event *rate_ev;
};

struct relay {
	struct event_base *base;
	int fd[2];
	enum relay_backend backend;  /* RELAY_TLS, or what the directions use */
	struct relay_dir dir[2]; /* [0] a -> b, [1] b -> a */
	relay_event_fn *cb;
	void *arg;
	bool reported;           /* DONE or FAILED has been reported */
	bool failed;             /* FAILED: no close_notify, connections reset */
	bool must_resume[2];     /* relay_require_resumption() */
	bool hs_done[2];         /* side I's TLS handshake finished */
	/* TLS backend: a bufferevent per side, OpenSSL on the TLS ones. */
	struct bufferevent *bev[2];
	SSL *ssl[2];
	unsigned handshakes;     /* TLS handshakes finished */
	/* The no-progress timer (relay_set_timeout). */
	struct event *timer;
	unsigned timeout;
	uint64_t progress_seen;  /* relay_progress() at its last firing */
	/* Bandwidth limit: NULL for none. */
	relay_take_fn *take;
	void *take_arg;
	size_t chunk;
	const char *name[2];
	char error[160];
};

/* relay.c: move bytes in D's direction until `in` is empty, `out` is full,
 * the round budget is spent, or the bandwidth limit says wait. */
void dir_pump(struct relay_dir *d);
/* relay_rate.c: get D out of debt with its bandwidth limit. False: not
 * now; D's reading is off and its rate timer set. */
bool dir_rate_grant(struct relay_dir *d);

#endif

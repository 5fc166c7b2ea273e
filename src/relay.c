/* relay.c: the data relay; see relay.h.
 *
 * Each direction (in -> out) owns a pipe (splice) or a buffer (copy), a read
 * event on `in` and a write event on `out`. The rules, measured in the spike
 * that preceded this code:
 * - splice's EAGAIN is ambiguous (socket empty or pipe full), so the bytes in
 *   the pipe are counted and a read never asks for more than the free room;
 * - when `out` cannot take everything, reading `in` stops and the write
 *   event waits; reading resumes when the pipe or buffer is empty, so memory
 *   per direction is bounded by the pipe or buffer size;
 * - EOF on `in` is passed on as shutdown(out, SHUT_WR) once everything
 *   before it has been written;
 * - a direction gets its pipe (or buffer) when its first bytes arrive: the
 *   direction of a transfer that carries nothing, and a transfer that is
 *   over in one read, cost no pipe;
 * - an unprivileged process whose pipes hold more than
 *   fs.pipe-user-pages-soft gets 8 KiB pipes, silently: pipes are sized
 *   within the budget relay_set_pipe_budget() gives (1 MiB, then 256 KiB),
 *   and past it a direction copies through a buffer instead of crawling. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <openssl/err.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "relay.h"
#include "relay_int.h"
#include "sock.h"
#include "tls.h"

#define RELAY_PIPE_SIZE   (1024 * 1024)
/* The smaller size when the budget has no room for RELAY_PIPE_SIZE. */
#define RELAY_PIPE_SMALL  (256 * 1024)
/* Below this a pipe is the kernel's budget fallback (8 KiB for users over
 * fs.pipe-user-pages-soft): copying is then far faster than splicing. */
#define RELAY_PIPE_MIN    (64 * 1024)
#define RELAY_COPY_SIZE   (256 * 1024)
/* Rounds per callback, so one fast stream cannot starve the loop. */
#define RELAY_ROUNDS      16

static void relay_read_cb(evutil_socket_t, short, void *);
static void relay_write_cb(evutil_socket_t, short, void *);

/* Pipe bytes this process may hold (SIZE_MAX: no budget), and holds. */
static size_t pipe_budget = SIZE_MAX, pipe_held;

void
relay_set_pipe_budget(size_t bytes)
{
	pipe_budget = bytes;
}

static bool
open_pipe(struct relay_dir *d)
{
	size_t room = pipe_budget > pipe_held ? pipe_budget - pipe_held : 0;
	int size, want = room >= RELAY_PIPE_SIZE ? RELAY_PIPE_SIZE :
	    room >= RELAY_PIPE_SMALL ? RELAY_PIPE_SMALL : 0;

	/* A new pipe takes 64 KiB of the budget before it is resized. */
	if (want == 0 || pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return false;
	/* F_SETPIPE_SZ answers with the size it set; only a refusal (over
	 * the budget, unprivileged) needs asking what the pipe has. */
	if ((size = fcntl(d->pipe[1], F_SETPIPE_SZ, want)) == -1)
		size = fcntl(d->pipe[1], F_GETPIPE_SZ);
	if (size < RELAY_PIPE_MIN) {
		close(d->pipe[0]);
		close(d->pipe[1]);
		d->pipe[0] = d->pipe[1] = -1;
		return false;
	}
	d->cap = (size_t)size;
	pipe_held += d->cap;
	return true;
}

static void
close_pipe(struct relay_dir *d)
{
	if (d->pipe[0] == -1)
		return;
	close(d->pipe[0]);
	close(d->pipe[1]);
	d->pipe[0] = d->pipe[1] = -1;
	pipe_held -= d->cap;
}

/* `in` is readable for the first time. If bytes are waiting: a pipe if
 * one can be had within the budget, else a buffer. If it is only the end
 * of the stream (the idle direction of a transfer): no pipe, just the EOF.
 * Returns 1 when set up, 0 when there is nothing to read yet, -1 with
 * errno. */
static int
dir_setup(struct relay_dir *d)
{
	int avail = 0;
	char c;

	if (ioctl(d->in, FIONREAD, &avail) == 0 && avail == 0) {
		ssize_t n = recv(d->in, &c, 1, MSG_PEEK);

		if (n == 0) {
			d->eof = true;   /* nothing will be held: no backend needed */
			return 1;
		}
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		if (n == -1)
			return -1;
	}
	d->setup = true;
	if (open_pipe(d)) {
		d->backend = RELAY_SPLICE;
		return 1;
	}
	d->backend = RELAY_COPY;
	d->cap = RELAY_COPY_SIZE;
	if ((d->buf = malloc(d->cap)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 1;
}

struct relay *
relay_new(struct event_base *base, int fd_a, int fd_b, relay_event_fn *cb,
    void *arg)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		close(fd_a);
		close(fd_b);
		return NULL;
	}
	r->base = base;
	r->name[0] = "side A";
	r->name[1] = "side B";
	r->fd[0] = fd_a;
	r->fd[1] = fd_b;
	r->cb = cb;
	r->arg = arg;
	r->backend = RELAY_SPLICE;
	for (int i = 0; i < 2; i++) {
		struct relay_dir *d = &r->dir[i];

		d->relay = r;
		d->in = r->fd[i];
		d->out = r->fd[1 - i];
		d->pipe[0] = d->pipe[1] = -1;
		d->rev = event_new(base, d->in, EV_READ | EV_PERSIST, relay_read_cb, d);
		d->wev = event_new(base, d->out, EV_WRITE | EV_PERSIST, relay_write_cb, d);
		if (d->rev == NULL || d->wev == NULL || event_add(d->rev, NULL) == -1)
			goto fail;
	}
	return r;
fail:
	relay_free(r);                   /* closes both fds */
	return NULL;
}

void
relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	if (r->timer != NULL)
		event_free(r->timer);
	for (int i = 0; i < 2; i++) {
		if (r->bev[i] == NULL)
			continue;
		/* Even an aborted connection keeps its session resumable:
		 * the next data connection resumes the newest ticket. A
		 * failed one sends no close_notify: it was cut short. */
		if (r->failed)
			tls_close_quietly(r->ssl[i]);
		else
			tls_close_notify(r->ssl[i]);
		bufferevent_free(r->bev[i]);    /* frees the SSL, closes the fd */
		r->fd[i] = -1;
	}
	for (int i = 0; i < 2; i++) {
		struct relay_dir *d = &r->dir[i];

		if (d->rev != NULL)
			event_free(d->rev);
		if (d->wev != NULL)
			event_free(d->wev);
		if (d->rate_ev != NULL)
			event_free(d->rate_ev);
		close_pipe(d);
		free(d->buf);
	}
	for (int i = 0; i < 2; i++)
		if (r->fd[i] != -1)
			close(r->fd[i]);
	free(r);
}

static void
relay_fail(struct relay *r, int err)
{
	if (r->reported)
		return;
	r->reported = true;
	r->failed = true;
	if (r->timer != NULL)
		event_del(r->timer);
	/* Cut short: neither peer may take a FIN (or a close_notify, see
	 * relay_free) for the end of the data. */
	for (int i = 0; i < 2; i++)
		(void)sock_abort(r->dir[i].in);
	for (int i = 0; i < 2; i++) {
		if (r->dir[i].rate_ev != NULL)
			event_del(r->dir[i].rate_ev);
		if (r->bev[i] != NULL) {
			bufferevent_disable(r->bev[i], EV_READ | EV_WRITE);
			continue;
		}
		event_del(r->dir[i].rev);
		event_del(r->dir[i].wev);
	}
	r->cb(r, RELAY_FAILED, err, r->arg);    /* may free r */
}

/* Write what is held toward `out`. Returns 0 when all was written, 1 when
 * `out` is full (EAGAIN), -1 on error (errno set). */
static int
dir_flush(struct relay_dir *d)
{
	while (d->held > 0) {
		ssize_t n;

		if (d->backend == RELAY_SPLICE)
			n = splice(d->pipe[0], NULL, d->out, NULL, d->held,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		else
			n = send(d->out, d->buf + d->buf_off, d->held, MSG_NOSIGNAL);
		if (n > 0) {
			d->held -= (size_t)n;
			d->buf_off += (size_t)n;
			d->bytes += (uint64_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n == 0)
			errno = EPIPE;
		return -1;
	}
	d->buf_off = 0;
	return 0;
}

/* Fill the pipe or buffer from `in`. Returns bytes read, 0 at EOF, -1 with
 * errno (EAGAIN when `in` is empty). */
static ssize_t
dir_fill(struct relay_dir *d)
{
	size_t room = d->cap - d->held;

	/* Limited: never more than granted (dir_pump asked first). */
	if (d->relay->take != NULL && (uint64_t)d->credit < room)
		room = (size_t)d->credit;

	if (d->backend == RELAY_SPLICE)
		return splice(d->in, NULL, d->pipe[1], NULL, room,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	return recv(d->in, d->buf + d->buf_off + d->held, room, 0);
}

/* Everything before EOF has been written: pass the EOF on. */
static void
dir_finish(struct relay_dir *d)
{
	struct relay *r = d->relay;

	if (d->rate_ev != NULL) {
		event_del(d->rate_ev);
		d->rate_wait = false;
	}
	if (r->bev[0] == NULL) {
		event_del(d->rev);
		event_del(d->wev);
	} else
		tls_close_notify(r->ssl[d == &r->dir[0] ? 1 : 0]);
	(void)shutdown(d->out, SHUT_WR);
	d->done = true;
	if (r->dir[0].done && r->dir[1].done) {
		r->reported = true;
		if (r->timer != NULL)
			event_del(r->timer);
		r->cb(r, RELAY_DONE, 0, r->arg);   /* may free r */
	} else
		r->cb(r, d == &r->dir[0] ? RELAY_A_TO_B_DONE : RELAY_B_TO_A_DONE,
		    0, r->arg);                      /* may free r */
}

/* Move bytes until `in` is empty, `out` is full, or the round budget is
 * spent. Sets up the events for whichever of those happened. */
void
dir_pump(struct relay_dir *d)
{
	if (!d->setup && !d->eof) {
		int st = dir_setup(d);

		if (st == -1)
			goto fail;
		if (st == 0)
			return;          /* a spurious wakeup: the read event stays */
	}
	for (int round = 0; round < RELAY_ROUNDS; round++) {
		ssize_t n;
		int f = dir_flush(d);

		if (f == -1)
			goto fail;
		if (f == 1) {
			/* `out` is full: stop reading until it drains. */
			event_del(d->rev);
			event_add(d->wev, NULL);
			return;
		}
		if (d->eof) {
			dir_finish(d);
			return;
		}
		if (d->relay->take != NULL && d->credit <= 0 && !dir_rate_grant(d))
			return;          /* the rate timer calls again */
		n = dir_fill(d);
		if (n > 0) {
			d->held += (size_t)n;
			if (d->relay->take != NULL)
				d->credit -= n;
			continue;
		}
		if (n == 0) {
			d->eof = true;
			continue;    /* flush the rest, then finish */
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* `in` is empty and everything read was written. */
			event_del(d->wev);
			event_add(d->rev, NULL);
			return;
		}
		goto fail;
	}
	/* Round budget spent: come back through the loop. Whatever is held
	 * waits for `out`; otherwise the level-triggered read fires again. */
	if (d->held > 0) {
		event_del(d->rev);
		event_add(d->wev, NULL);
	} else
		event_add(d->rev, NULL);
	return;
fail:
	relay_fail(d->relay, errno);
}

static void
relay_read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dir_pump(arg);
}

static void
relay_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dir_pump(arg);
}

uint64_t
relay_bytes_a_to_b(const struct relay *r)
{
	return r->dir[0].bytes;
}

uint64_t
relay_bytes_b_to_a(const struct relay *r)
{
	return r->dir[1].bytes;
}

enum relay_backend
relay_backend(const struct relay *r)
{
	/* A direction that copied makes the relay a copying one. */
	if (r->backend != RELAY_TLS)
		for (int i = 0; i < 2; i++)
			if (r->dir[i].setup && r->dir[i].backend == RELAY_COPY)
				return RELAY_COPY;
	return r->backend;
}

bool
relay_finished(const struct relay *r)
{
	return r->dir[0].done && r->dir[1].done;
}

const char *
relay_error(const struct relay *r)
{
	return r->error;
}

void
relay_set_names(struct relay *r, const char *a, const char *b)
{
	r->name[0] = a;
	r->name[1] = b;
}

/* Grows with every byte moved and every handshake finished. A plain
 * direction counts its bytes as they are written. A TLS one counts them
 * as they are read into the other side's queue, which stops at
 * RELAY_TLS_QUEUE and resumes only once the queue is empty: its draining
 * counts too, or a slow reader (1 MiB in more than the timeout) would
 * look stalled. */
static uint64_t
relay_progress(const struct relay *r)
{
	uint64_t p = r->dir[0].bytes + r->dir[1].bytes + r->handshakes;

	for (int i = 0; i < 2; i++)
		if (r->bev[1 - i] != NULL)
			p += r->dir[i].bytes -
			    evbuffer_get_length(bufferevent_get_output(r->bev[1 - i]));
	return p;
}

static bool
tls_handshaking(const struct relay *r, int i)
{
	return r->ssl[i] != NULL && !SSL_is_init_finished(r->ssl[i]);
}

static void
relay_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	uint64_t now = relay_progress(r);
	bool hs0 = tls_handshaking(r, 0), hs1 = tls_handshaking(r, 1);

	(void)fd;
	(void)what;
	assert(!r->reported);
	/* A direction paused by its bandwidth limit is no stalled peer:
	 * even a limit so low that a chunk takes longer than the timeout
	 * keeps the relay alive. */
	if (now != r->progress_seen || r->dir[0].rate_wait || r->dir[1].rate_wait) {
		r->progress_seen = now;
		return;                  /* EV_PERSIST: fires again in r->timeout */
	}
	if (hs0 && hs1)
		snprintf(r->error, sizeof(r->error),
		    "TLS handshakes with %s and %s: no progress for %u s",
		    r->name[0], r->name[1], r->timeout);
	else if (hs0 || hs1)
		snprintf(r->error, sizeof(r->error), "TLS handshake with %s: no progress for %u s",
		    r->name[hs0 ? 0 : 1], r->timeout);
	else
		snprintf(r->error, sizeof(r->error), "no progress for %u s", r->timeout);
	/* A dirty end waiting on the other peer (tls_end_dirty) is the first
	 * cause: keep it in the message. */
	for (int i = 0; i < 2; i++)
		if (r->dir[i].dirty) {
			size_t n = strlen(r->error);

			snprintf(r->error + n, sizeof(r->error) - n, ", after the TLS "
			    "with %s ended without close_notify", r->name[i]);
			break;
		}
	/* Unsent bytes toward a peer that stopped reading would keep a FIN
	 * (and the socket) waiting: relay_fail resets both connections. */
	relay_fail(r, ETIMEDOUT);        /* may free r */
}

int
relay_set_timeout(struct relay *r, unsigned sec)
{
	struct timeval tv = { .tv_sec = sec };

	if (r->timer != NULL) {
		event_free(r->timer);
		r->timer = NULL;
	}
	r->timeout = sec;
	if (sec == 0 || r->reported)
		return 0;
	r->progress_seen = relay_progress(r);
	r->timer = event_new(r->base, -1, EV_PERSIST, relay_timer_cb, r);
	if (r->timer == NULL || event_add(r->timer, &tv) == -1) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* TLS backend */

static int
tls_side(const struct relay *r, const struct bufferevent *bev)
{
	return bev == r->bev[0] ? 0 : 1;
}

/* Can side I be told the stream ended? Not in the middle of its TLS
 * handshake: a client that handshakes only after reading "150" (curl)
 * would see the connection shut under it. */
static bool
tls_side_ready(const struct relay *r, int i)
{
	return r->ssl[i] == NULL || SSL_is_init_finished(r->ssl[i]);
}

/* Direction I's input has ended: pass it on once everything is written
 * and the other side can take it. */
static void
tls_maybe_finish(struct relay *r, int i)
{
	int j = 1 - i;

	if (!r->dir[i].eof || r->dir[i].done || !tls_side_ready(r, j) ||
	    evbuffer_get_length(bufferevent_get_output(r->bev[j])) != 0)
		return;
	if (r->dir[i].dirty)
		relay_fail(r, EPROTO);       /* may free r */
	else
		dir_finish(&r->dir[i]);      /* may free r */
}

/* Move what side I has read toward the other side; stop reading I while
 * the queue toward the other side is full. */
static void
tls_move(struct relay *r, int i)
{
	struct evbuffer *in = bufferevent_get_input(r->bev[i]);
	struct evbuffer *out = bufferevent_get_output(r->bev[1 - i]);
	size_t n = evbuffer_get_length(in);

	if (n > 0) {
		r->dir[i].bytes += n;
		evbuffer_add_buffer(out, in);
	}
	if (evbuffer_get_length(out) >= RELAY_TLS_QUEUE)
		bufferevent_disable(r->bev[i], EV_READ);
	/* Limited: what was read is paid for now, and reading pauses while
	 * the bucket cannot pay (the debt is one read at most). */
	if (r->take != NULL && n > 0 && !r->dir[i].eof) {
		r->dir[i].credit -= (int64_t)n;
		if (r->dir[i].credit <= 0)
			(void)dir_rate_grant(&r->dir[i]);
	}
}

/* How every end without close_notify is told, whatever showed it. */
#define DIRTY_END "ended without close_notify (the data may be cut short)"

/* Side I's TLS ended without close_notify (a bare FIN, a reset, an
 * unexpected EOF), r->error says how. The end is passed on as it came:
 * what I sent is delivered first, then both connections are cut
 * (relay_fail), so the other peer too sees data and then no close_notify.
 * Cutting at once would reset a peer still in its handshake, as a
 * failed handshake rather than a cut transfer. The relay's timer bounds
 * the wait. */
static void
tls_end_dirty(struct relay *r, int i)
{
	r->dir[i].eof = true;
	r->dir[i].dirty = true;
	tls_move(r, i);
	bufferevent_disable(r->bev[i], EV_READ);
	tls_maybe_finish(r, i);          /* may free r */
}

static void
tls_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;

	tls_move(r, tls_side(r, bev));
}

/* Side J's output is empty: resume reading the other side, or pass its
 * end of stream on. */
static void
tls_write_cb(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	int j = tls_side(r, bev), i = 1 - j;

	if (r->dir[i].eof) {
		tls_maybe_finish(r, i);          /* may free r */
		return;
	}
	if (!r->dir[i].rate_wait)                /* else its rate timer will */
		bufferevent_enable(r->bev[i], EV_READ);
}

static void
tls_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay *r = arg;
	int i = tls_side(r, bev);
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		r->handshakes++;
		r->hs_done[i] = true;
		if (r->must_resume[i] && !tls_resumed(r->ssl[i])) {
			snprintf(r->error, sizeof(r->error), "TLS with %s: the data connection "
			    "did not resume the control connection's TLS session "
			    "(require-session-reuse)", r->name[i]);
			relay_fail(r, EPROTO);   /* may free r */
			return;
		}
		/* Side I's handshake is done: an end of stream that waited
		 * for it can go through now. */
		tls_maybe_finish(r, 1 - i);      /* may free r */
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (r->dir[i].eof)
			return;
		/* A bare FIN is no end of data under TLS; after our end
		 * toward side I it is only I closing in turn. */
		if (r->ssl[i] != NULL && !tls_peer_closed_cleanly(r->ssl[i]) &&
		    !r->dir[1 - i].done) {
			if (tls_handshaking(r, i)) {
				snprintf(r->error, sizeof(r->error), "TLS with %s: "
				    "closed during the handshake", r->name[i]);
				relay_fail(r, EPROTO);   /* may free r */
				return;
			}
			snprintf(r->error, sizeof(r->error), "TLS with %s: %s", r->name[i],
			    DIRTY_END);
			tls_end_dirty(r, i);     /* may free r */
			return;
		}
		r->dir[i].eof = true;
		tls_move(r, i);
		tls_maybe_finish(r, i);          /* may free r */
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		char why[120];
		const char *ctx = r->ssl[i] == NULL ? "connection with" :
		    !r->hs_done[i] ? "TLS handshake with" : "TLS with";
		bool dirty_end = false;

		e = bufferevent_get_openssl_error(bev);
		if (e != 0 && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING &&
		    r->hs_done[i]) {
			snprintf(why, sizeof(why), "%s", DIRTY_END);
			dirty_end = true;
		} else if (e != 0)
			ERR_error_string_n(e, why, sizeof(why));
		else if (r->ssl[i] != NULL && (SSL_get_verify_mode(r->ssl[i]) & SSL_VERIFY_PEER) &&
		    SSL_get_verify_result(r->ssl[i]) != X509_V_OK)
			snprintf(why, sizeof(why), "certificate: %s",
			    X509_verify_cert_error_string(SSL_get_verify_result(r->ssl[i])));
		else {
			/* A reset TLS leg sent no close_notify either: say so,
			 * as for a bare FIN, so the operator reads one cause. */
			dirty_end = r->ssl[i] != NULL && r->hs_done[i];
			snprintf(why, sizeof(why), "%s%s%s",
			    strerror(EVUTIL_SOCKET_ERROR() ? EVUTIL_SOCKET_ERROR() : ECONNRESET),
			    dirty_end ? ", " : "", dirty_end ? DIRTY_END : "");
		}
		snprintf(r->error, sizeof(r->error), "%s %s: %s", ctx, r->name[i], why);
		while (bufferevent_get_openssl_error(bev) != 0)
			;
		if (dirty_end && !r->dir[i].eof)
			tls_end_dirty(r, i);     /* may free r */
		else
			relay_fail(r, EPROTO);   /* may free r */
	}
}

void
relay_require_resumption(struct relay *r, int side)
{
	assert(side == 0 || side == 1);
	assert(r->ssl[side] != NULL && r->handshakes == 0);
	r->must_resume[side] = true;
}

struct relay *
relay_new_tls(struct event_base *base, int fd_a, SSL *ssl_a, bool a_accepts,
    int fd_b, SSL *ssl_b, bool b_accepts, relay_event_fn *cb, void *arg)
{
	struct relay *r = calloc(1, sizeof(*r));
	int fds[2] = { fd_a, fd_b };
	SSL *ssls[2] = { ssl_a, ssl_b };
	bool accepts[2] = { a_accepts, b_accepts };

	if (r == NULL) {
		SSL_free(ssl_a);
		SSL_free(ssl_b);
		close(fd_a);
		close(fd_b);
		return NULL;
	}
	r->backend = RELAY_TLS;
	r->base = base;
	r->name[0] = "side A";
	r->name[1] = "side B";
	r->cb = cb;
	r->arg = arg;
	for (int i = 0; i < 2; i++) {
		r->fd[i] = -1;
		r->dir[i].relay = r;
		r->dir[i].in = fds[i];
		r->dir[i].out = fds[1 - i];
		r->dir[i].pipe[0] = r->dir[i].pipe[1] = -1;
	}
	for (int i = 0; i < 2; i++) {
		if (ssls[i] != NULL) {
			/* Deferred callbacks: libevent then reads every record
			 * OpenSSL has already decrypted before our read callback
			 * may pause this side; pausing from inside its read loop
			 * would strand those bytes in the SSL with the socket
			 * empty, and the relay would wait forever. */
			r->bev[i] = bufferevent_openssl_socket_new(base, fds[i], ssls[i],
			    accepts[i] ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
			    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
			if (r->bev[i] != NULL)
				bufferevent_openssl_set_allow_dirty_shutdown(r->bev[i], 1);
		} else
			r->bev[i] = bufferevent_socket_new(base, fds[i],
			    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (r->bev[i] == NULL)
			goto fail;
		r->ssl[i] = ssls[i];
	}
	for (int i = 0; i < 2; i++) {
		bufferevent_setcb(r->bev[i], tls_read_cb, tls_write_cb, tls_event_cb, r);
		bufferevent_enable(r->bev[i], EV_READ | EV_WRITE);
	}
	return r;
fail:
	/* The fds and SSLs are ours either way: a bufferevent made frees its
	 * own, the rest go here. */
	for (int i = 0; i < 2; i++) {
		if (r->bev[i] != NULL) {
			bufferevent_free(r->bev[i]);
			continue;
		}
		if (ssls[i] != NULL)
			SSL_free(ssls[i]);
		close(fds[i]);
	}
	free(r);
	return NULL;
}

/* data.c: the data channel; see data.h. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "data.h"
#include "data_int.h"
#include "kpath.h"
#include "log.h"
#include "portpool.h"
#include "relay.h"
#include "sock.h"
#include "tls.h"

/* Ports tried before giving up when binds collide (TIME_WAIT, other users). */
#define DC_BIND_TRIES 16
/* A listener whose accept ran out of descriptors sleeps this long before
 * it tries again (level-triggered, it would otherwise spin). */
#define DC_ACCEPT_RETRY_MS 250
/* Out-of-descriptor warnings: at most one per process in this many
 * seconds (each channel still logs its first at debug level). */
#define DC_EMFILE_WARN_SEC 60

const char *const dc_side_name[2] = { "client", "server" };

static void dc_accept_cb(evutil_socket_t, short, void *);
static void dc_connected_cb(evutil_socket_t, short, void *);
static void dc_timeout_cb(evutil_socket_t, short, void *);
static void dc_accept_pause(struct data_channel *, enum dc_side, int);
static void dc_start_end(struct data_channel *, enum dc_side);
static void relay_event_cb(struct relay *, enum relay_event, int, void *);

struct data_channel *
dc_new(struct event_base *base, uint64_t sid, unsigned timeout_sec,
    dc_event_fn *cb, void *arg)
{
	struct data_channel *dc = calloc(1, sizeof(*dc));
	struct timeval tv = { .tv_sec = timeout_sec };

	if (dc == NULL)
		return NULL;
	dc->sid = sid;
	dc->base = base;
	dc->state = DC_ARMED;
	dc->timeout = timeout_sec;
	dc->cb = cb;
	dc->arg = arg;
	for (int i = 0; i < 2; i++) {
		dc->end[i].lfd = dc->end[i].fd = -1;
		dc->end[i].pool_port = -1;
	}
	/* Armed from the start: between here and dc_start (the server's
	 * reply to our PASV or PORT) a listener may already be open.
	 * dc_start gives the connections the whole timeout again. */
	dc->timer = evtimer_new(base, dc_timeout_cb, dc);
	if (dc->timer == NULL || evtimer_add(dc->timer, &tv) == -1) {
		if (dc->timer != NULL)
			event_free(dc->timer);
		free(dc);
		return NULL;
	}
	return dc;
}

static void
end_close_listener(struct dc_end *e)
{
	dc_end_close_socket(e);
	if (e->pool_port != -1) {
		portpool_give(e->pool, (uint16_t)e->pool_port);
		e->pool_port = -1;
	}
}

void
dc_end_close_socket(struct dc_end *e)
{
	if (e->listens && e->ev != NULL) {
		event_free(e->ev);
		e->ev = NULL;
	}
	if (e->lfd != -1) {
		close(e->lfd);
		e->lfd = -1;
	}
}

static void
end_free(struct dc_end *e)
{
	end_close_listener(e);
	if (e->ev != NULL)
		event_free(e->ev);
	e->ev = NULL;
	if (e->fd != -1)
		close(e->fd);
	e->fd = -1;
}

/* The one place a data channel's relay goes: which backend it used (a
 * direction decides when its first bytes arrive) is known only now. */
static void
dc_relay_free(struct data_channel *dc)
{
	enum relay_backend backend;

	if (dc->relay == NULL)
		return;
	backend = relay_backend(dc->relay);
	log_sess(LL_DEBUG, dc->sid, "data relay ended (%s)",
	    backend == RELAY_SPLICE ? "splice" : backend == RELAY_COPY ? "copy" : "tls");
	/* Its counts outlive it: the live byte counters never go back. */
	dc->to_server = relay_bytes_a_to_b(dc->relay);
	dc->to_client = relay_bytes_b_to_a(dc->relay);
	relay_free(dc->relay);
	dc->relay = NULL;
}

void
dc_free(struct data_channel *dc)
{
	if (dc == NULL)
		return;
	dc_relay_free(dc);
	dc_kflow_free(dc);
	for (int i = 0; i < 2; i++)
		end_free(&dc->end[i]);
	event_free(dc->timer);
	if (dc->retry != NULL)
		event_free(dc->retry);
	tls_engine_unref(dc->tls_engine);
	free(dc);
}

void
dc_set_tls(struct data_channel *dc, enum dc_side side, struct tls_engine *en,
    struct tls_ticket *slot, const struct sockaddr *server, bool must_resume)
{
	assert(side == DC_CLIENT || !must_resume);
	assert(dc->ticket == NULL || dc->ticket == slot);
	dc->tls[side] = true;
	if (side == DC_CLIENT)
		dc->client_must_resume = must_resume;
	if (dc->tls_engine == NULL)
		dc->tls_engine = tls_engine_ref(en);
	dc->ticket = slot;
	memcpy(&dc->tls_server, server, addr_len(server));
}

void
dc_set_rate(struct data_channel *dc, relay_take_fn *take, void *arg, size_t chunk)
{
	assert(dc->relay == NULL && take != NULL && chunk > 0);
	dc->take = take;
	dc->take_arg = arg;
	dc->take_chunk = chunk;
}

/* Both ends connected: the splice relay for plaintext, the TLS one when
 * either leg is protected. The relay owns the sockets from here. */
static struct relay *
dc_make_relay(struct data_channel *dc)
{
	int cfd = dc->end[DC_CLIENT].fd, sfd = dc->end[DC_SERVER].fd;
	SSL *cssl = NULL, *sssl = NULL;
	struct relay *r;

	if (!dc->tls[DC_CLIENT] && !dc->tls[DC_SERVER]) {
		dc->end[DC_CLIENT].fd = dc->end[DC_SERVER].fd = -1;
		return relay_new(dc->base, cfd, sfd, relay_event_cb, dc);
	}
	/* Created now, not at PASV time, so the newest ticket is resumed. */
	if (dc->tls[DC_CLIENT])
		cssl = tls_ssl_for_client(dc->tls_engine, dc->ticket);
	if (dc->tls[DC_SERVER])
		sssl = tls_ssl_for_server(dc->tls_engine, dc->ticket,
		    (struct sockaddr *)&dc->tls_server);
	if ((dc->tls[DC_CLIENT] && cssl == NULL) || (dc->tls[DC_SERVER] && sssl == NULL)) {
		SSL_free(cssl);
		SSL_free(sssl);
		return NULL;
	}
	dc->end[DC_CLIENT].fd = dc->end[DC_SERVER].fd = -1;
	r = relay_new_tls(dc->base, cfd, cssl, true, sfd, sssl, false, relay_event_cb, dc);
	if (r != NULL && dc->client_must_resume)
		relay_require_resumption(r, 0);
	return r;
}

/* Close everything, keep why for dc_error, and tell the owner. Nothing
 * touches DC afterwards. */
void
dc_fail(struct data_channel *dc, const char *fmt, ...)
{
	va_list ap;

	assert(dc->state != DC_DONE);
	va_start(ap, fmt);
	vsnprintf(dc->error, sizeof(dc->error), fmt, ap);
	va_end(ap);
	log_sess(LL_INFO, dc->sid, "data channel closed: %s (%llu bytes to the server, %llu to the client)",
	    dc->error, (unsigned long long)dc_bytes_to_server(dc),
	    (unsigned long long)dc_bytes_to_client(dc));
	dc_relay_free(dc);
	dc_kflow_free(dc);
	for (int i = 0; i < 2; i++)
		end_free(&dc->end[i]);
	evtimer_del(dc->timer);
	if (dc->retry != NULL)
		evtimer_del(dc->retry);
	dc->kernel_due = false;
	dc->state = DC_DONE;
	dc_path_known(dc);
	dc->cb(dc, DC_EV_FAILED, dc->arg);
}

const char *
dc_error(const struct data_channel *dc)
{
	return dc->error;
}

/* Open E's listener at its address, whose port is ours (E->pool_port). */
static int
end_open_listener(struct data_channel *dc, struct dc_end *e, const char **what)
{
	struct sock_opts opts = { .transparent = e->transparent };

	e->lfd = sock_listen((struct sockaddr *)&e->addr, &opts, 1, what);
	if (e->lfd == -1)
		return -1;
	e->ev = event_new(dc->base, e->lfd, EV_READ | EV_PERSIST, dc_accept_cb, dc);
	if (e->ev == NULL) {
		close(e->lfd);
		e->lfd = -1;
		*what = "event";
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* A listener could not be had (WHAT failed, errno): say so; -1. */
static int
listener_failed(struct data_channel *dc, const struct dc_end *e, const char *what)
{
	char a[ADDR_STRLEN];
	int err = errno;

	log_sess(LL_WARN, dc->sid, "data listener %s: %s: %s",
	    addr_fmt((const struct sockaddr *)&e->addr, a, sizeof(a)), what, strerror(err));
	errno = err;
	return -1;
}

int
dc_listen(struct data_channel *dc, enum dc_side side,
    const struct sockaddr *host, bool transparent, struct portpool *pool,
    const struct sockaddr *expected_peer, bool defer, struct sockaddr_storage *bound)
{
	struct dc_end *e = &dc->end[side];
	const char *what = "";

	e->listens = true;
	e->transparent = transparent;
	e->pool = pool;
	memcpy(&e->peer, expected_peer, addr_len(expected_peer));
	memset(&e->addr, 0, sizeof(e->addr));
	memcpy(&e->addr, host, addr_len(host));
	/* A port of the range may be held by another socket (typically an
	 * ephemeral port of an outgoing connection, when the range overlaps
	 * ip_local_port_range): such ports are kept out of the pool until the
	 * tries are over, so that no try draws the same one again. */
	int busy[DC_BIND_TRIES], n_busy = 0;

	for (int tries = 0; tries < DC_BIND_TRIES; tries++) {
		int port = portpool_take(pool);

		if (port == -1) {
			errno = EADDRNOTAVAIL;
			if (n_busy == 0)
				log_sess(LL_WARN, dc->sid, "passive port range %u-%u exhausted",
				    portpool_lo(pool), portpool_hi(pool));
			break;
		}
		addr_set_port((struct sockaddr *)&e->addr, (uint16_t)port);
		if (defer || end_open_listener(dc, e, &what) == 0) {
			e->pool_port = port;
			break;
		}
		if (errno != EADDRINUSE) {
			int err = errno;

			portpool_give(pool, (uint16_t)port);
			errno = err;
			(void)listener_failed(dc, e, what);
			break;
		}
		busy[n_busy++] = port;
	}
	for (int i = 0; i < n_busy; i++)
		portpool_give(pool, (uint16_t)busy[i]);
	if (e->pool_port == -1 && n_busy > 0 &&
	    (n_busy == DC_BIND_TRIES || errno == EADDRNOTAVAIL)) {
		log_sess(LL_WARN, dc->sid, "passive port range %u-%u: no free port after %d in use "
		    "by other sockets (keep the range out of net.ipv4.ip_local_port_range, "
		    "or list it in net.ipv4.ip_local_reserved_ports)",
		    portpool_lo(pool), portpool_hi(pool), n_busy);
		errno = EADDRINUSE;
	}
	if (e->pool_port == -1)
		return -1;
	memcpy(bound, &e->addr, sizeof(*bound));
	return 0;
}

/* The relay carries a channel whose listener was put off for the kernel
 * (dc_listen's DEFER): open it now, at the port already announced. */
static int
end_listen_late(struct data_channel *dc, struct dc_end *e)
{
	const char *what = "";

	if (!e->listens || e->lfd != -1 || e->pool_port == -1)
		return 0;
	if (end_open_listener(dc, e, &what) == 0)
		return 0;
	return listener_failed(dc, e, what);
}

static int
end_listen_open(struct data_channel *dc, enum dc_side side, struct sockaddr_storage *bound);

int
dc_listen_open(struct data_channel *dc, enum dc_side side, struct sockaddr_storage *bound)
{
	if (end_listen_open(dc, side, bound) == -1)
		return -1;
	if (dc->kp != NULL && dc->kf == NULL && dc->end[side].lfd != -1) {
		/* dc_kernel_late said yes: the port announced may have moved */
		assert(side == DC_CLIENT);
		addr_set_port((struct sockaddr *)&dc->announced, addr_port((struct sockaddr *)bound));
		/* A deletion of this client's elements for that port still
		 * waits for its batch: until it goes, the client's SYN would be
		 * forwarded to the old channel's target (refused). Mapped
		 * before the reply then, the deletion in the same batch
		 * (dc_start; dc_kernel_start closes this listener). */
		dc->kernel_late = !kpath_announced_held(dc->kp,
		    (const struct sockaddr *)&dc->end[side].peer,
		    (const struct sockaddr *)&dc->announced);
		if (!dc->kernel_late)
			log_sess(LL_DEBUG, dc->sid, "data channel mapped before its reply: the "
			    "port's previous mapping is still being removed");
	}
	return 0;
}

static int
end_listen_open(struct data_channel *dc, enum dc_side side, struct sockaddr_storage *bound)
{
	struct dc_end *e = &dc->end[side];
	struct sockaddr_storage host, peer;
	const char *what = "";

	if (!e->listens || e->lfd != -1 || e->pool_port == -1) {
		memcpy(bound, &e->addr, sizeof(*bound));
		return 0;
	}
	if (end_open_listener(dc, e, &what) == 0) {
		memcpy(bound, &e->addr, sizeof(*bound));
		return 0;
	}
	if (errno != EADDRINUSE)
		return listener_failed(dc, e, what);
	/* Held by a socket not ours: as dc_listen, another port of the
	 * range (none was announced yet). */
	portpool_give(e->pool, (uint16_t)e->pool_port);
	e->pool_port = -1;
	host = e->addr;
	peer = e->peer;
	return dc_listen(dc, side, (struct sockaddr *)&host, e->transparent, e->pool,
	    (struct sockaddr *)&peer, false, bound);
}

int
dc_listen_late(struct data_channel *dc)
{
	for (int i = 0; i < 2; i++)
		if (end_listen_late(dc, &dc->end[i]) == -1)
			return -1;
	return 0;
}

void
dc_connect_to(struct data_channel *dc, enum dc_side side,
    const struct sockaddr *target, const struct sockaddr *src, bool transparent)
{
	struct dc_end *e = &dc->end[side];

	e->listens = false;
	e->transparent = transparent;
	memset(&e->addr, 0, sizeof(e->addr));
	if (target != NULL)
		memcpy(&e->addr, target, addr_len(target));
	memset(&e->src, 0, sizeof(e->src));
	if (src != NULL)
		memcpy(&e->src, src, addr_len(src));
}

void
dc_set_target(struct data_channel *dc, enum dc_side side,
    const struct sockaddr *target)
{
	memcpy(&dc->end[side].addr, target, addr_len(target));
}

int
dc_start(struct data_channel *dc)
{
	struct timeval tv = { .tv_sec = dc->timeout };

	if (dc->kernel_late) {
		static const struct timeval now = { 0, 0 };

		/* The listener waits for a client faster than the mapping;
		 * the mapping goes in right after the reply that announces
		 * the port (dc_kernel_map), or at the loop's next turn. */
		assert(dc->kf == NULL && dc->end[DC_CLIENT].lfd != -1);
		if (event_add(dc->end[DC_CLIENT].ev, NULL) == -1 || evtimer_add(dc->timer, &now) == -1) {
			errno = ENOMEM;
			return -1;
		}
		dc->kernel_due = true;
		dc->started = true;
		return 0;
	}
	if ((dc->kp != NULL || dc->kf != NULL) && dc_kernel_start(dc) == 0) {
		if (evtimer_add(dc->timer, &tv) == -1) {
			errno = ENOMEM;
			return -1;
		}
		dc->started = true;
		dc_path_known(dc);
		return 0;
	}
	if (dc_listen_late(dc) == -1)
		return -1;
	dc_path_known(dc);
	for (int i = 0; i < 2; i++)
		if (dc->end[i].listens && event_add(dc->end[i].ev, NULL) == -1)
			return -1;
	if (evtimer_add(dc->timer, &tv) == -1) {
		errno = ENOMEM;
		return -1;
	}
	dc->started = true;
	/* Both ends outbound (client PORT, server PASV): reach the server
	 * first, then the client, so the client sees the data at once. */
	if (!dc->end[DC_CLIENT].listens && !dc->end[DC_SERVER].listens)
		dc_start_end(dc, DC_SERVER);
	return 0;
}

static void
relay_event_cb(struct relay *relay, enum relay_event ev, int err, void *arg)
{
	struct data_channel *dc = arg;

	switch (ev) {
	case RELAY_B_TO_A_DONE:          /* a = client, b = server */
		dc->to_client_done = true;
		dc->to_client = relay_bytes_b_to_a(relay);
		dc->cb(dc, DC_EV_TO_CLIENT_DONE, dc->arg);
		break;
	case RELAY_A_TO_B_DONE:
		dc->to_server = relay_bytes_a_to_b(relay);
		break;
	case RELAY_DONE:
		dc->to_client_done = true;
		dc->to_server = relay_bytes_a_to_b(relay);
		dc->to_client = relay_bytes_b_to_a(relay);
		log_sess(LL_DEBUG, dc->sid, "data channel done: %llu bytes to server, %llu to client",
		    (unsigned long long)dc->to_server, (unsigned long long)dc->to_client);
		dc_relay_free(dc);           /* closes both sockets now */
		dc->state = DC_DONE;
		dc->cb(dc, DC_EV_DONE, dc->arg);
		break;
	case RELAY_FAILED:
		dc->to_server = relay_bytes_a_to_b(relay);
		dc->to_client = relay_bytes_b_to_a(relay);
		if (relay_error(relay)[0] != '\0')
			dc_fail(dc, "%s", relay_error(relay));
		else
			dc_fail(dc, "data relay: %s", strerror(err));
		break;
	}
}

/* An end is connected: start the other end if it waits for this one, or
 * hand both sockets to the relay. */
static void
dc_end_connected(struct data_channel *dc, enum dc_side side)
{
	struct dc_end *e = &dc->end[side], *other = &dc->end[1 - side];

	e->connected = true;
	if (dc->state == DC_ARMED)
		dc->state = DC_OPENING;
	if (!other->connected) {
		if (!other->listens && !other->started)
			dc_start_end(dc, (enum dc_side)(1 - side));
		return;
	}
	evtimer_del(dc->timer);
	if (dc->retry != NULL)
		evtimer_del(dc->retry);
	dc->relay = dc_make_relay(dc);
	if (dc->relay == NULL) {
		dc_fail(dc, "data relay setup: %s", strerror(ENOMEM));
		return;
	}
	/* From here the relay's timer is the channel's: it ends a relay
	 * that moves nothing (nor finishes a handshake) for the timeout. */
	relay_set_names(dc->relay, "the client", "the server");
	if (relay_set_timeout(dc->relay, dc->timeout) == -1 || (dc->take != NULL &&
	    relay_set_rate(dc->relay, dc->take, dc->take_arg, dc->take_chunk) == -1)) {
		dc_fail(dc, "data relay timer: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < 2; i++)
		if (dc->end[i].ev != NULL) {
			event_free(dc->end[i].ev);
			dc->end[i].ev = NULL;
		}
	dc->state = DC_RELAYING;
	log_sess(LL_DEBUG, dc->sid, "data channel relaying");
}

static void
dc_start_end(struct data_channel *dc, enum dc_side side)
{
	struct dc_end *e = &dc->end[side];
	struct sock_opts opts = { .transparent = e->transparent };
	const char *what = "";
	char a[ADDR_STRLEN];

	e->started = true;
	if (dc->state == DC_ARMED)
		dc->state = DC_OPENING;
	e->fd = sock_connect((struct sockaddr *)&e->addr,
	    e->src.ss_family != AF_UNSPEC ? (struct sockaddr *)&e->src : NULL,
	    &opts, &what);
	if (e->fd == -1) {
		int err = errno;

		log_sess(LL_WARN, dc->sid, "data connect to %s %s: %s: %s",
		    dc_side_name[side], addr_fmt((struct sockaddr *)&e->addr, a, sizeof(a)),
		    what, strerror(err));
		dc_fail(dc, "data connection to the %s %s: %s: %s", dc_side_name[side], a, what,
		    err == EMFILE || err == ENFILE ? "out of file descriptors" : strerror(err));
		return;
	}
	e->ev = event_new(dc->base, e->fd, EV_WRITE, dc_connected_cb, dc);
	if (e->ev == NULL || event_add(e->ev, NULL) == -1)
		dc_fail(dc, "data connection to the %s: %s", dc_side_name[side], strerror(ENOMEM));
}

static void
dc_connected_cb(evutil_socket_t fd, short what, void *arg)
{
	struct data_channel *dc = arg;
	enum dc_side side = fd == dc->end[DC_CLIENT].fd ? DC_CLIENT : DC_SERVER;
	int err = sock_error(fd);
	char a[ADDR_STRLEN];

	(void)what;
	if (err != 0) {
		dc_fail(dc, "data connection to the %s %s: %s", dc_side_name[side],
		    addr_fmt((struct sockaddr *)&dc->end[side].addr, a, sizeof(a)),
		    strerror(err));
		return;
	}
	log_sess(LL_DEBUG, dc->sid, "data connected to %s %s", dc_side_name[side],
	    addr_fmt((struct sockaddr *)&dc->end[side].addr, a, sizeof(a)));
	dc_end_connected(dc, side);
}

/* Paused listeners listen again: what waits in their backlog is
 * accepted if descriptors have come free meanwhile. */
static void
dc_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct data_channel *dc = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < 2; i++) {
		struct dc_end *e = &dc->end[i];

		if (!e->paused)
			continue;
		e->paused = false;
		if (e->ev != NULL && event_add(e->ev, NULL) == -1) {
			dc_fail(dc, "data listener: %s", strerror(ENOMEM));
			return;
		}
	}
}

/* Accept on SIDE failed for want of descriptors (or memory). The
 * connection stays in the backlog and the listener level-triggered: left
 * as it is, it would fire again at once, forever. Stop listening for
 * DC_ACCEPT_RETRY_MS instead; the channel's timer still bounds the wait. */
static void
dc_accept_pause(struct data_channel *dc, enum dc_side side, int err)
{
	static time_t warned;            /* one warning per process per minute */
	struct dc_end *e = &dc->end[side];
	struct timeval tv = { .tv_usec = DC_ACCEPT_RETRY_MS * 1000 };
	struct timespec now;

	if (dc->accept_err == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		log_sess(warned == 0 || now.tv_sec - warned >= DC_EMFILE_WARN_SEC ? LL_WARN : LL_DEBUG,
		    dc->sid, "data accept from the %s: %s: retrying every %d ms for up to %u s",
		    dc_side_name[side], strerror(err), DC_ACCEPT_RETRY_MS, dc->timeout);
		if (warned == 0 || now.tv_sec - warned >= DC_EMFILE_WARN_SEC)
			warned = now.tv_sec > 0 ? now.tv_sec : 1;
	}
	dc->accept_err = err;
	if (e->ev != NULL)
		event_del(e->ev);
	e->paused = true;
	if (dc->retry == NULL)
		dc->retry = evtimer_new(dc->base, dc_retry_cb, dc);
	if (dc->retry == NULL || evtimer_add(dc->retry, &tv) == -1)
		dc_fail(dc, "data accept from the %s: %s", dc_side_name[side],
		    err == EMFILE || err == ENFILE ? "out of file descriptors" : strerror(err));
}

static void
dc_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct data_channel *dc = arg;
	enum dc_side side = lfd == dc->end[DC_CLIENT].lfd ? DC_CLIENT : DC_SERVER;
	struct dc_end *e = &dc->end[side];
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	int fd;

	(void)what;
	fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			dc_accept_pause(dc, side, errno);
		else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_sess(LL_WARN, dc->sid, "data accept: %s", strerror(errno));
		return;
	}
	addr_unmap(&peer);
	if (!addr_equal_host((struct sockaddr *)&peer, (struct sockaddr *)&e->peer)) {
		/* Data-connection hijack: only the expected peer gets in; the
		 * listener keeps waiting for it until the timeout. */
		log_sess(LL_WARN, dc->sid, "data connection to %s side from %s refused: expected %s",
		    dc_side_name[side], addr_fmt((struct sockaddr *)&peer, a, sizeof(a)),
		    addr_fmt_host((struct sockaddr *)&e->peer, b, sizeof(b)));
		close(fd);
		return;
	}
	log_sess(LL_DEBUG, dc->sid, "data connection from %s %s", dc_side_name[side],
	    addr_fmt((struct sockaddr *)&peer, a, sizeof(a)));
	if (dc->kernel_late)
		dc_kernel_lost_race(dc);
	e->fd = fd;
	e->paused = false;
	end_close_listener(e);
	dc_end_connected(dc, side);
}

static void
dc_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct data_channel *dc = arg;
	char a[ADDR_STRLEN];

	(void)fd;
	(void)what;
	if (dc->kernel_due) {
		dc_kernel_due(dc);
		return;
	}
	if (dc->kf != NULL && dc->state == DC_RELAYING) {
		dc_kernel_timer(dc);
		return;
	}
	assert(dc->state == DC_ARMED || dc->state == DC_OPENING);
	if (!dc->started) {
		dc_fail(dc, "timed out waiting for the data connection: not set up in %u s",
		    dc->timeout);
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct dc_end *e = &dc->end[i];

		if (e->connected)
			continue;
		if (e->listens && e->paused)
			dc_fail(dc, "out of file descriptors: the %s's data connection "
			    "could not be accepted in %u s (%s)", dc_side_name[i], dc->timeout,
			    strerror(dc->accept_err));
		else if (e->listens)
			dc_fail(dc, "timed out waiting for the data connection: none from "
			    "the %s in %u s", dc_side_name[i], dc->timeout);
		else if (e->started)
			dc_fail(dc, "timed out waiting for the data connection: the one to "
			    "the %s %s not established in %u s", dc_side_name[i],
			    addr_fmt((struct sockaddr *)&e->addr, a, sizeof(a)), dc->timeout);
		else
			continue;            /* waits for the other end */
		return;
	}
	dc_fail(dc, "timed out waiting for the data connection (%u s)", dc->timeout);
}

void
dc_poll(struct data_channel *dc)
{
	struct pollfd late = { .fd = dc->end[DC_CLIENT].lfd, .events = POLLIN };

	/* Mapped late: the client may have reached the listener first. */
	if (dc->kf != NULL && (!dc->kernel_late || poll(&late, 1, 0) != 1)) {
		kpath_poll(dc->kp);          /* may free DC */
		return;
	}
	for (int i = 0; i < 2; i++)
		if (dc->end[i].listens && dc->end[i].lfd != -1 && dc->end[i].fd == -1) {
			dc_accept_cb(dc->end[i].lfd, EV_READ, dc);
			return;      /* DC may be gone; the other end is polled by its event */
		}
}

enum dc_state
dc_state(const struct data_channel *dc)
{
	return dc->state;
}

bool
dc_to_client_done(const struct data_channel *dc)
{
	return dc->to_client_done;
}

uint64_t
dc_bytes_to_server(const struct data_channel *dc)
{
	if (dc->kf != NULL)
		return dc->end[DC_CLIENT].listens ? kflow_bytes_from_initiator(dc->kf)
		    : kflow_bytes_from_target(dc->kf);
	return dc->relay != NULL ? relay_bytes_a_to_b(dc->relay) : dc->to_server;
}

uint64_t
dc_bytes_to_client(const struct data_channel *dc)
{
	if (dc->kf != NULL)
		return dc->end[DC_CLIENT].listens ? kflow_bytes_from_target(dc->kf)
		    : kflow_bytes_from_initiator(dc->kf);
	return dc->relay != NULL ? relay_bytes_b_to_a(dc->relay) : dc->to_client;
}

bool
dc_ends_listen(const struct data_channel *dc, enum dc_side side)
{
	return dc->end[side].listens;
}

/* session.c: one client's control connection, its server connection and
 * the data channel of the moment: the I/O edge of a session.
 *
 * For FTP the dialogue is the engine's (engine.c): this file turns socket
 * events into engine events (session_feed) and carries out the engine's
 * effects (bytes to either side, close). Lines move from the sockets into
 * the engine only while it takes them (session_pump): a client that does
 * not read its replies, or a held reply, stops the reading, so every
 * buffer here has a bound. The application "tcp" is a plain relay. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "addr.h"
#include "conf.h"
#include "data.h"
#include "fmt.h"
#include "ftp_proto.h"
#include "log.h"
#include "portmap.h"
#include "relay.h"
#include "session.h"
#include "session_int.h"
#include "sock.h"
#include "tls.h"

/* How long the last reply may take to reach a closing client. */
#define CLOSE_FLUSH_SEC    5

/* ------------------------------------------------------------------ */
/* The engine's effects */

/* The end of a leg after session_leg_write's send(2) took its error:
 * that error, as the bufferevent would have met it, not the end of stream
 * or EPIPE that is left. */
static short
leg_kept_error(int err, short what)
{
	if (err == 0 || !(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return what;
	EVUTIL_SET_SOCKET_ERROR(err);
	return (short)((what & ~BEV_EVENT_EOF) | BEV_EVENT_ERROR);
}

static void
eff_to_client(void *ctx, const char *buf, size_t len)
{
	struct session *s = ctx;

	if (s->cbev != NULL)
		session_leg_write(s->cbev, s->cin, buf, len, &s->cbev_err);
}

static void
eff_to_server(void *ctx, const char *buf, size_t len)
{
	struct session *s = ctx;

	if (s->sbev != NULL)
		session_leg_write(s->sbev, s->sin, buf, len, &s->sbev_err);
}

static void
eff_user(void *ctx, const char *name)
{
	struct session *s = ctx;

	fmt_copy(s->user, sizeof(s->user), name, strlen(name));
}

static void
eff_active(void *ctx)
{
	session_arm_idle_timer(ctx);
}

static void
eff_close(void *ctx, const char *reason)
{
	struct session *s = ctx;

	if (s->end_reason == NULL)
		s->end_reason = reason;
	s->close_requested = true;
}

static const struct engine_ops session_engine_ops = {
	.to_client = eff_to_client,
	.to_server = eff_to_server,
	.data_open = session_data_open,
	.data_reply = session_data_reply,
	.data_pending = session_data_pending,
	.data_drop = session_data_drop,
	.transfer_begin = session_transfer_begin,
	.transfer_end = session_transfer_end,
	.tls_server = session_tls_start_server,
	.tls_client = session_tls_start_client,
	.user = eff_user,
	.rule_decided = session_rule_decided,
	.active = eff_active,
	.close = eff_close,
	.proxy_connect = session_proxy_connect,
};

static void session_teardown(struct session *s);

static bool
engine_done(const struct session *s)
{
	return s->eng == NULL || engine_phase(s->eng) >= EP_CLOSING;
}

void
session_fail(struct session *s, const char *reply, const char *reason)
{
	if (s->fail_reason == NULL) {
		s->fail_reason = reason;
		s->fail_reply = reply;
	}
}

static void
run_engine(struct session *s, enum engine_ev type, const char *text, size_t len)
{
	struct engine_event ev = { .type = type, .text = text, .len = len };

	assert(!s->in_engine);
	s->in_engine = true;
	engine_event(s->eng, &ev);
	s->in_engine = false;
}

void
session_feed(struct session *s, enum engine_ev type, const char *text, size_t len)
{
	if (s->eng == NULL || s->ending || s->finished)
		return;
	run_engine(s, type, text, len);
	/* Data-channel events that an effect brought about (dc_poll). */
	for (unsigned i = 0; i < s->n_queued && !engine_done(s); i++)
		run_engine(s, s->queued[i], NULL, 0);
	s->n_queued = 0;
	/* A PASV went to the server: its listener now. Its 227 went to the
	 * client: the kernel's late mapping now, not a loop turn later, when
	 * the client's connection may be there already. */
	session_data_listen(s);
	if (s->dc != NULL)
		dc_kernel_map(s->dc);
	if (s->fail_reason != NULL && !engine_done(s)) {
		if (s->end_reason == NULL)
			s->end_reason = s->fail_reason;
		run_engine(s, EE_SHUTDOWN, s->fail_reply, 0);
	}
	if (s->close_requested)
		session_teardown(s);
}

/* A data-channel event for the engine, now or after the running effect. */
void
session_data_event(struct session *s, enum engine_ev type)
{
	if (s->in_engine) {
		assert(s->n_queued < QUEUED_EVENTS_MAX);
		if (s->n_queued < QUEUED_EVENTS_MAX)
			s->queued[s->n_queued++] = type;
		return;
	}
	session_feed(s, type, NULL, 0);
	session_pump(s);
}

/* ------------------------------------------------------------------ */
/* Lines in */

static bool
client_output_full(const struct session *s)
{
	return s->cbev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(s->cbev)) > CLIENT_OUTPUT_MAX;
}

void
session_pump(struct session *s)
{
	char line[FTP_LINE_MAX + 1];
	size_t len = 0;
	int r;

	if (s->pumping || s->eng == NULL)
		return;
	s->pumping = true;
	while (!s->ending && !s->finished) {
		if (client_output_full(s)) {
			/* session_client_write_cb carries on once it drains. */
			s->out_paused = true;
			break;
		}
		/* Server replies first: they may let a client line through. */
		if (s->sbev != NULL && engine_wants_server_line(s->eng) &&
		    (r = session_take_line(s, s->sbev, s->sin, false, line, &len)) != 0) {
			session_feed(s, r > 0 ? EE_SERVER_LINE : EE_SERVER_LINE_TOO_LONG, line, len);
			continue;
		}
		if (s->cbev != NULL && engine_wants_client_line(s->eng) &&
		    (r = session_take_line(s, s->cbev, s->cin, true, line, &len)) != 0) {
			session_feed(s, r > 0 ? EE_CLIENT_LINE : EE_CLIENT_LINE_TOO_LONG, line, len);
			continue;
		}
		break;
	}
	s->pumping = false;
}

/* ------------------------------------------------------------------ */
/* Events */

void
session_client_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_pump(arg);
}

void
session_client_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->out_paused && !client_output_full(s)) {
		s->out_paused = false;
		session_pump(s);
	}
}

/* A control leg ended (end of stream or error): with TLS, was it a
 * clean end? */
static void
leg_ended(struct session *s, struct bufferevent *bev, const char *peer)
{
	SSL *ssl = bev_ssl(bev);

	if (ssl == NULL || !SSL_is_init_finished(ssl) || tls_peer_closed_cleanly(ssl) ||
	    s->tls_cut)
		return;
	s->tls_cut = true;
	/* After QUIT it is common and harmless; before, worth a line. */
	log_sess(s->eng != NULL && engine_phase(s->eng) >= EP_CLOSING ? LL_DEBUG : LL_INFO,
	    s->id, "the %s's control TLS ended without close_notify: the other leg "
	    "ends the same way", peer);
}

void
session_server_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_pump(arg);
}

void
session_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	what = leg_kept_error(s->cbev_err, what);
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		leg_ended(s, s->cbev, "client");
	if (s->ending) {                 /* flushing the last reply */
		if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
			session_teardown(s);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bev_ssl(s->cbev);

		s->env->stats->tls_handshakes++;
		log_sess(LL_DEBUG, s->id, "TLS with the client: %s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
		session_feed(s, EE_CLIENT_TLS_UP, NULL, 0);
		session_pump(s);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (engine_client_tls(s->eng)) {
			char e[160];

			s->env->stats->tls_failures++;
			log_sess(LL_INFO, s->id, "TLS with the client failed: %s",
			    session_tls_error(s->cbev, e, sizeof(e)));
		}
		if (s->end_reason == NULL)
			s->end_reason = "client error";
		session_feed(s, EE_CLIENT_CLOSED, NULL, 0);
	} else if (what & BEV_EVENT_EOF)
		session_feed(s, EE_CLIENT_CLOSED, NULL, 0);
}

void
session_server_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	enum engine_phase phase = engine_phase(s->eng);
	char a[ADDR_STRLEN];

	(void)bev;
	what = leg_kept_error(s->sbev_err, what);
	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bev_ssl(s->sbev);

		if (phase == EP_SERVER_TLS) {
			s->env->stats->tls_handshakes++;
			log_sess(LL_INFO, s->id, "TLS with the server: %s %s", SSL_get_version(ssl),
			    SSL_get_cipher_name(ssl));
			session_feed(s, EE_SERVER_TLS_UP, NULL, 0);
			session_pump(s);
			return;
		}
		if (phase != EP_CONNECTING)
			return;
		session_upstream_report(s, true, NULL);
		sock_local(bufferevent_getfd(s->sbev), &s->server_local);
		log_sess(LL_DEBUG, s->id, "connected to %s from %s",
		    addr_str(&s->server, a), addr_fmt(SA(&s->server_local), (char[ADDR_STRLEN]){0}, ADDR_STRLEN));
		if (session_read_start(s, false) == -1) {
			session_end(s, "421 Out of memory.", "out of memory");
			return;
		}
		session_feed(s, EE_SERVER_CONNECTED, NULL, 0);
		session_pump(s);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	leg_ended(s, s->sbev, "server");
	if ((what & BEV_EVENT_ERROR) && engine_server_tls(s->eng)) {
		char e[160];

		if (phase == EP_SERVER_TLS || phase == EP_CONNECTING)
			s->env->stats->tls_failures++;
		log_sess(phase == EP_SERVER_TLS || phase == EP_CONNECTING ? LL_WARN : LL_INFO, s->id,
		    "TLS with the server %s failed: %s", addr_str(&s->server, a),
		    session_tls_error(s->sbev, e, sizeof(e)));
	} else if (phase == EP_CONNECTING)
		log_sess(LL_WARN, s->id, "cannot connect to %s: %s", addr_str(&s->server, a),
		    strerror(EVUTIL_SOCKET_ERROR()));
	if (phase == EP_CONNECTING)
		session_upstream_report(s, false, EVUTIL_SOCKET_ERROR() != 0 ?
		    strerror(EVUTIL_SOCKET_ERROR()) : "connection closed");
	/* Hand over what the server said last; what waits behind a held
	 * reply stays until its data connection is done. */
	session_pump(s);
	if (s->ending || s->finished)
		return;
	if (s->end_reason == NULL && (what & BEV_EVENT_ERROR))
		s->end_reason = phase == EP_CONNECTING ? "server unreachable" : "server error";
	session_read_stop(s, false);
	session_feed(s, EE_SERVER_CLOSED, NULL, 0);
}

void
session_arm_idle_timer(struct session *s)
{
	struct timeval tv = { .tv_sec = s->cf->idle_timeout };
	const struct timeval *common;

	if (s->ending || s->finished)
		return;
	(void)event_gettime_monotonic(s->env->base, &s->active_at);
	if (s->idle_armed && evtimer_pending(s->timer, NULL))
		return;                  /* it moves on when it fires */
	/* A libevent common timeout (a FIFO per duration): O(1) however
	 * many sessions wait, instead of a heap operation. */
	common = event_base_init_common_timeout(s->env->base, &tv);
	evtimer_add(s->timer, common != NULL ? common : &tv);
	s->idle_armed = true;
}

void
session_timer_other(struct session *s, unsigned seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	s->idle_armed = false;
	evtimer_add(s->timer, &tv);
}

/* The idle timer fired: true when there was activity since it was armed,
 * and it now waits out the rest from there. */
static bool
idle_moved_on(struct session *s)
{
	struct timeval now, idle, rest = { .tv_sec = s->cf->idle_timeout };

	if (!s->idle_armed || event_gettime_monotonic(s->env->base, &now) == -1)
		return false;
	timersub(&now, &s->active_at, &idle);
	if (!timercmp(&idle, &rest, <))
		return false;
	timersub(&rest, &idle, &rest);
	evtimer_add(s->timer, &rest);
	return true;
}

static void session_finish(struct session *s);

void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->ending) {                 /* the last reply did not drain in time */
		session_finish(s);
		return;
	}
	if (s->eng == NULL || idle_moved_on(s))
		return;
	if (s->dc != NULL && dc_state(s->dc) == DC_RELAYING) {
		session_arm_idle_timer(s);   /* data flowing counts as activity */
		return;
	}
	if (engine_phase(s->eng) == EP_CONNECTING && s->lookup != NULL)
		log_sess(LL_WARN, s->id, "looking up %s timed out", s->proxy_host);
	else if (engine_phase(s->eng) == EP_CONNECTING) {
		log_sess(LL_WARN, s->id, "connect to the server timed out");
		session_upstream_report(s, false, "connect timed out");
	} else
		log_sess(LL_INFO, s->id, "idle for %u seconds", s->cf->idle_timeout);
	session_feed(s, EE_TIMEOUT, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Life and death */

static void
session_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	free(arg);
}

/* The client has its last reply (or is gone): release everything. */
static void
session_finish(struct session *s)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	struct timeval zero = { 0, 0 };

	if (s->finished)
		return;
	assert(!s->in_engine);
	s->finished = true;
	session_drop_dc(s);
	session_proxy_release(s);
	if (s->tcp_relay != NULL) {
		s->data_to_server += relay_bytes_a_to_b(s->tcp_relay);
		s->data_to_client += relay_bytes_b_to_a(s->tcp_relay);
		relay_free(s->tcp_relay);
	}
	if (s->cbev != NULL) {
		session_leg_free(s, s->cbev, s->cin);
		s->cin = NULL;
		s->cbev = NULL;
	}
	if (s->sbev != NULL) {
		session_leg_free(s, s->sbev, s->sin);
		s->sin = NULL;
		s->sbev = NULL;
	}
	/* After every SSL that points at it is gone. */
	tls_ticket_clear(&s->ticket);
	tls_engine_unref(s->tls);
	if (s->connect_ev != NULL)
		event_free(s->connect_ev);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->cfd != -1)
		close(s->cfd);
	if (s->sfd != -1)
		close(s->sfd);
	engine_free(s->eng);
	s->eng = NULL;
	/* The rest: every byte is counted once, whenever it was counted. */
	if (s->data_to_server > s->counted_to_server)
		s->env->stats->bytes_to_server += s->data_to_server - s->counted_to_server;
	if (s->data_to_client > s->counted_to_client)
		s->env->stats->bytes_to_client += s->data_to_client - s->counted_to_client;
	if (s->registered) {
		TAILQ_REMOVE(&s->list->head, s, link);
		s->list->n--;
		s->env->release(s->env->arg, SA(&s->client));
	}
	log_sess(LL_INFO, s->id,
	    "end: client %s server %s app %s user \"%s\" transfers %u bytes up %llu down %llu time %lds: %s",
	    addr_str(&s->client, a), addr_str(&s->server, b), app_kind_name(s->app),
	    s->user, s->transfers, (unsigned long long)s->data_to_server,
	    (unsigned long long)s->data_to_client, (long)(time(NULL) - s->started),
	    s->end_reason ? s->end_reason : "closed");
	config_unref(s->cf);
	/* Callers up the stack may still look at the session: free it later. */
	if (event_base_once(s->env->base, -1, EV_TIMEOUT, session_free_cb, s, &zero) == -1)
		free(s);
}

static void
close_flushed_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		session_finish(s);
}

/* Close the server leg and the data channel; flush the client's last
 * reply (bounded by CLOSE_FLUSH_SEC), then finish. */
static void
session_teardown(struct session *s)
{
	if (s->ending || s->finished)
		return;
	s->ending = true;
	session_drop_dc(s);
	if (s->sbev != NULL) {
		session_leg_free(s, s->sbev, s->sin);
		s->sin = NULL;
		s->sbev = NULL;
	}
	if (s->cbev == NULL || evbuffer_get_length(bufferevent_get_output(s->cbev)) == 0 ||
	    s->timer == NULL) {
		session_finish(s);
		return;
	}
	session_read_stop(s, true);
	bufferevent_setwatermark(s->cbev, EV_WRITE, 0, 0);
	bufferevent_setcb(s->cbev, NULL, close_flushed_cb, session_client_event_cb, s);
	session_timer_other(s, CLOSE_FLUSH_SEC);
}

/* End the session from outside the engine (shutdown, a setup failure):
 * REPLY (if any) is the client's last line. */
void
session_end(struct session *s, const char *reply, const char *reason)
{
	if (s->ending || s->finished)
		return;
	if (s->end_reason == NULL)
		s->end_reason = reason;
	if (s->in_engine) {              /* an effect failed: after the event */
		session_fail(s, reply, reason);
		return;
	}
	if (!engine_done(s)) {
		session_feed(s, EE_SHUTDOWN, reply, 0);
		return;
	}
	if (reply != NULL && s->cbev != NULL) {
		bufferevent_write(s->cbev, reply, strlen(reply));
		bufferevent_write(s->cbev, "\r\n", 2);
	}
	session_teardown(s);
}

/* The data bytes S relayed so far: of its ended data channels, and of the
 * one or the TCP relay running now. Never less than a moment before: a
 * channel's bytes move into data_to_* as it ends. */
static void
session_bytes(const struct session *s, uint64_t *up, uint64_t *down)
{
	*up = s->data_to_server;
	*down = s->data_to_client;
	if (s->dc != NULL) {
		*up += dc_bytes_to_server(s->dc);
		*down += dc_bytes_to_client(s->dc);
	}
	if (s->tcp_relay != NULL) {
		*up += relay_bytes_a_to_b(s->tcp_relay);
		*down += relay_bytes_b_to_a(s->tcp_relay);
	}
}

static void
session_describe(const struct session *s, struct evbuffer *out)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	uint64_t up, down;
	const char *phase;
	bool tls = false;

	session_bytes(s, &up, &down);
	if (s->ending || s->finished)
		phase = "closing";
	else if (s->eng != NULL) {
		phase = engine_phase_name(engine_phase(s->eng));
		tls = engine_client_tls(s->eng) || engine_server_tls(s->eng);
	} else
		phase = s->tcp_relay != NULL ? "tcp-relay" : "connecting";
	/* The user name last: it is the client's text and may hold spaces. */
	evbuffer_add_printf(out, "%llu %s %s %s%s %s %llu %llu %ld %s\n",
	    (unsigned long long)s->id, addr_str(&s->client, a), addr_str(&s->server, b),
	    app_kind_name(s->app), tls ? "+tls" : "",
	    phase, (unsigned long long)up, (unsigned long long)down,
	    (long)(time(NULL) - s->started), s->user[0] != '\0' ? s->user : "-");
}

void
session_list_init(struct session_list *list)
{
	TAILQ_INIT(&list->head);
	list->n = 0;
}

void
session_list_count_bytes(struct session_list *list)
{
	struct session *s;
	uint64_t up, down;

	TAILQ_FOREACH(s, &list->head, link) {
		if (s->finished)
			continue;        /* counted by its end */
		session_bytes(s, &up, &down);
		/* Counts only grow; the guard keeps a slip from adding 2^64. */
		if (up > s->counted_to_server) {
			s->env->stats->bytes_to_server += up - s->counted_to_server;
			s->counted_to_server = up;
		}
		if (down > s->counted_to_client) {
			s->env->stats->bytes_to_client += down - s->counted_to_client;
			s->counted_to_client = down;
		}
	}
}

void
session_list_describe(const struct session_list *list, struct evbuffer *out)
{
	const struct session *s;

	TAILQ_FOREACH(s, &list->head, link)
		session_describe(s, out);
}

void
session_list_shutdown(struct session_list *list, const char *reply)
{
	struct session *s, *next;

	/* A session may leave the list at once (nothing left to flush). */
	for (s = TAILQ_FIRST(&list->head); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		session_end(s, reply, "gateway shutdown");
	}
}

bool
session_list_end(struct session_list *list, uint64_t id, const char *reply,
    const char *reason)
{
	struct session *s;

	TAILQ_FOREACH(s, &list->head, link) {
		if (s->id != id)
			continue;
		if (s->ending || s->finished)
			return false;    /* ending already: not ours to end */
		session_end(s, reply, reason);
		return true;
	}
	return false;
}

int
session_engine_new(struct session *s)
{
	struct engine_conf ec = {
		.sid = s->id,
		.strict = s->cf->strict,
		.deny = (const char *const *)s->cf->deny_commands,
		.n_deny = s->cf->n_deny_commands,
		.allow = (const char *const *)s->cf->allow_commands,
		.n_allow = s->cf->n_allow_commands,
		.tls_available = tls_engine_serves_clients(s->tls) &&
		    s->cf->tls.client_side != TLS_CLIENT_OFF,
		.client_side = s->cf->tls.client_side,
		.server_side = s->tls != NULL ? (int)s->cf->tls.server_side : TLS_SERVER_OFF,
		.client_implicit_tls = s->app == APP_FTPS,
		.rules = &s->cf->rules,
		.client = SA(&s->client),
		.server = SA(&s->server),
		/* (mode proxy: the server's port is the client's choice; its
		 * leg is explicit, AUTH TLS, as server-side says.) */
		.server_implicit_tls = s->app == APP_FTPS && s->cf->tls.server_side != TLS_SERVER_OFF &&
		    s->lc->mode != MODE_PROXY,
		.proxy = s->lc->mode == MODE_PROXY,
	};

	s->eng = engine_new(&ec, &session_engine_ops, s);
	return s->eng != NULL ? 0 : -1;
}

/* session_accept.c: a new client connection becomes a session: where it
 * meant to go (original destination, or the reverse upstream), whether the
 * limits admit it, which application its port speaks (port-mapping), and
 * the server connection opened for it; the application "tcp" is relayed
 * as plain bytes from here. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "listen_app.h"
#include "portmap.h"
#include "relay.h"
#include "session.h"
#include "session_int.h"
#include "sock.h"
#include "tls.h"
#include "upstream.h"

/* ------------------------------------------------------------------ */
/* Plain TCP mapping */

static void
tcp_relay_cb(struct relay *relay, enum relay_event ev, int err, void *arg)
{
	struct session *s = arg;

	(void)relay;
	if (ev == RELAY_DONE)
		session_end(s, NULL, "closed");
	else if (ev == RELAY_FAILED) {
		log_sess(LL_DEBUG, s->id, "relay: %s", strerror(err));
		session_end(s, NULL, "connection error");
	}
}

static void
tcp_connected_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int err = what & EV_TIMEOUT ? ETIMEDOUT : sock_error(fd);
	char a[ADDR_STRLEN];

	if (err != 0) {
		log_sess(LL_WARN, s->id, "cannot connect to %s: %s", addr_str(&s->server, a),
		    strerror(err));
		session_upstream_report(s, false, strerror(err));
		session_end(s, NULL, "server unreachable");
		return;
	}
	session_upstream_report(s, true, NULL);
	s->tcp_relay = relay_new(s->env->base, s->cfd, s->sfd, tcp_relay_cb, s);
	s->cfd = s->sfd = -1;            /* the relay's, even when it failed */
	if (s->tcp_relay == NULL) {
		session_end(s, NULL, "out of memory");
		return;
	}
}

/* A last word to a refused client, before any bufferevent exists. Best
 * effort: a new socket's buffer is empty, so this does not block. */
static void
early_reply(int fd, const char *line)
{
	(void)send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void
session_upstream_report(struct session *s, bool ok, const char *why)
{
	char a[ADDR_STRLEN];

	int slot;

	if (s->up == NULL)
		return;
	/* The metrics' per-upstream counts, over all workers. */
	addr_str(upstream_addr(s->up), a);
	if ((slot = shared_tally_slot(s->env->shared, "upstream", a)) != -1)
		shared_tally_add(s->env->shared, s->env->worker, slot, ok ? 0 : 1, 1);
	switch (upstream_report(s->up, ok, time(NULL), s->lc->upstream_recheck)) {
	case UPSTREAM_WENT_DOWN:
		log_msg(LL_WARN, "listen \"%s\": upstream %s out of service: %s; new sessions "
		    "skip it for %u s", s->lc->name, addr_str(upstream_addr(s->up), a),
		    why != NULL ? why : "failed", s->lc->upstream_recheck);
		break;
	case UPSTREAM_CAME_BACK:
		log_msg(LL_INFO, "listen \"%s\": upstream %s back in service", s->lc->name,
		    addr_str(upstream_addr(s->up), a));
		break;
	case UPSTREAM_SAME:
		break;
	}
	s->up = NULL;
}

/* ------------------------------------------------------------------ */
/* Access rules at connect */

void
session_rule_decided(void *ctx, const struct rule_verdict *v)
{
	struct session *s = ctx;
	static bool said_full;
	int slot;

	if (v->rule < 0 || !v->fresh)
		return;
	slot = shared_tally_slot(s->env->shared, "rule",
	    rules_verdict_name(&s->cf->rules, v));
	if (slot == -1) {
		if (!said_full)
			log_msg(LL_WARN, "rule \"%s\" is not counted: the gateway counts "
			    "%d rule names at most since start (said once)",
			    rules_verdict_name(&s->cf->rules, v), SHARED_TALLY_MAX);
		said_full = true;
		return;
	}
	shared_tally_add(s->env->shared, s->env->worker, slot, v->action, 1);
}

bool
session_rules_allow(struct session *s, unsigned news, const char *user)
{
	struct rule_query q = {
		.client = SA(&s->client),
		.server = SA(&s->server),
		.user = user,
		.news = news,
	};
	struct rule_verdict v = rules_eval(&s->cf->rules, &q);
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	session_rule_decided(s, &v);
	if (v.action == RULE_ALLOW)
		return true;
	log_sess(LL_INFO, s->id, "%s%s%s: deny client %s server %s", v.rule >= 0 ? "rule \"" : "",
	    rules_verdict_name(&s->cf->rules, &v), v.rule >= 0 ? "\"" : "",
	    addr_str(&s->client, a), addr_str(&s->server, b));
	return false;
}

/* The rules on the client and the server: false when denied (logged and
 * counted; an FTP client gets its 421). */
static bool
rules_admit(struct session *s, int fd)
{
	if (session_rules_allow(s, RULE_F_CLIENT | RULE_F_SERVER, NULL))
		return true;
	/* Words only for a client that speaks FTP in clear. */
	if (s->app == APP_FTP)
		early_reply(fd, "421 Service not available: denied by the gateway.\r\n");
	return false;
}

/* Where did the client mean to go? */
static int
find_server(struct session *s, const struct session_origin *origin, int fd,
    const char **why)
{
	const struct listen_conf *lc = s->lc;

	switch (lc->mode) {
	case MODE_REVERSE:
		/* The next server in turn; the session stays on it. */
		if (origin->ups == NULL) {
			*why = "out of memory";
			return -1;
		}
		s->up = upstream_choose(origin->ups, time(NULL));
		s->server = *upstream_addr(s->up);
		return 0;
	case MODE_PROXY:                 /* USER user@host names it */
		return 0;
	case MODE_TPROXY:
		s->server = s->client_local;
		break;
	case MODE_REDIRECT:
		if (sock_original_dst(fd, s->client.ss_family, &s->server) == -1) {
			*why = "no original destination (not redirected?)";
			return -1;
		}
		break;
	}
	/* A connection that reached our port without being redirected names
	 * us as its destination: following it would loop into ourselves.
	 * (Under tproxy our local address is the destination by design, so
	 * only the listener check applies there.) */
	if ((lc->mode == MODE_REDIRECT &&
	    addr_equal(SA(&s->server), SA(&s->client_local))) ||
	    s->env->is_own_listener(s->env->arg, SA(&s->server))) {
		*why = "original destination is the gateway itself (not redirected)";
		return -1;
	}
	return 0;
}

void
session_accept(const struct session_env *env, struct session_list *list,
    const struct session_origin *origin, int fd, const struct sockaddr *peer)
{
	struct session *s;
	const char *why = NULL, *what = "";
	struct sockaddr_storage src;
	bool tproxy = origin->lc->mode == MODE_TPROXY;
	struct sock_opts opts = { .transparent = tproxy };
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	int sfd, connect_err = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		early_reply(fd, "421 Out of memory.\r\n");
		close(fd);
		env->stats->refused_other++;
		return;
	}
	s->id = shared_next_session_id(env->shared);
	s->env = env;
	s->list = list;
	s->cf = config_ref(origin->cf);
	s->tls = tls_engine_ref(origin->tls);
	s->lc = origin->lc;
	s->pool = origin->pool;
	s->cfd = fd;
	s->sfd = -1;
	s->started = time(NULL);
	memcpy(&s->client, peer, addr_len(peer));
	addr_unmap(&s->client);
	sock_local(fd, &s->client_local);
	s->timer = evtimer_new(env->base, session_timer_cb, s);
	if (s->timer == NULL) {
		session_end(s, NULL, "out of memory");
		return;
	}
	if (s->tls != NULL && tls_ticket_init(&s->ticket) == -1) {
		early_reply(fd, "421 Service not available.\r\n");
		session_end(s, NULL, "no random bytes for TLS");
		return;
	}
	if (!env->admit(env->arg, SA(&s->client), &why)) {
		log_sess(LL_WARN, s->id, "client %s refused: %s", addr_str(&s->client, a), why);
		early_reply(fd, "421 Too many connections; try again later.\r\n");
		env->stats->refused_limit++;
		session_end(s, NULL, why);
		return;
	}
	s->registered = true;
	TAILQ_INSERT_TAIL(&list->head, s, link);
	list->n++;
	if (find_server(s, origin, fd, &why) == -1) {
		log_sess(LL_WARN, s->id, "client %s to %s refused: %s", addr_str(&s->client, a),
		    addr_str(&s->server, b), why);
		early_reply(fd, "421 Service not available: not redirected.\r\n");
		env->stats->refused_loop++;
		session_end(s, NULL, why);
		return;
	}
	if (s->lc->mode == MODE_PROXY) {
		session_proxy_accept(s, fd);
		return;
	}
	s->app = listen_app(s->cf, s->lc, SA(&s->server), addr_port(SA(&s->client_local)),
	    &s->map_name);
	log_sess(LL_INFO, s->id, "client %s to %s via %s \"%s\": port-mapping %s, application %s",
	    addr_str(&s->client, a), addr_str(&s->server, b), listen_mode_name(s->lc->mode),
	    s->lc->name, s->map_name, app_kind_name(s->app));
	if (!rules_admit(s, fd)) {
		session_end(s, NULL, "denied by an access rule");
		return;
	}
	if (s->app == APP_FTPS && !tls_engine_serves_clients(s->tls)) {
		session_end(s, NULL, "ftps needs TLS");
		return;
	}

	/* tproxy: the server sees the client's own address. */
	if (tproxy) {
		src = s->client;
		addr_set_port(SA(&src), 0);
	}
	sfd = sock_prepare(s->server.ss_family, tproxy ? SA(&src) : NULL, &opts, &what);
	if (sfd == -1) {
		log_sess(LL_WARN, s->id, "server socket: %s: %s", what, strerror(errno));
		session_end(s, NULL, "server socket");
		return;
	}
	if (s->app == APP_TCP) {
		struct timeval tv = { .tv_sec = s->cf->connect_timeout };

		s->sfd = sfd;
		if (connect(sfd, SA(&s->server), addr_len(SA(&s->server))) == -1 &&
		    errno != EINPROGRESS) {
			log_sess(LL_WARN, s->id, "cannot connect to %s: %s",
			    addr_str(&s->server, b), strerror(errno));
			session_upstream_report(s, false, strerror(errno));
			session_end(s, NULL, "server unreachable");
			return;
		}
		s->connect_ev = event_new(env->base, sfd, EV_WRITE, tcp_connected_cb, s);
		if (s->connect_ev == NULL || event_add(s->connect_ev, &tv) == -1)
			session_end(s, NULL, "out of memory");
		return;
	}
	/* The SYN goes out first: the engine and the bufferevents are set up
	 * while it travels, and bufferevent_socket_connect() takes the
	 * connecting socket as it is. */
	if (connect(sfd, SA(&s->server), addr_len(SA(&s->server))) == -1 && errno != EINPROGRESS)
		connect_err = errno;

	if (session_engine_new(s) == -1) {
		close(sfd);
		session_end(s, NULL, "out of memory");
		return;
	}
	if (s->app == APP_FTPS) {
		/* Implicit FTPS: TLS from the first byte toward the client, and
		 * toward the server unless server-side = off. */
		SSL *cssl = tls_ssl_for_client(s->tls, &s->ticket), *sssl = NULL;
		bool server_tls = s->cf->tls.server_side != TLS_SERVER_OFF;

		if (server_tls)
			sssl = tls_ssl_for_server(s->tls, &s->ticket, SA(&s->server));
		if (cssl == NULL || (server_tls && sssl == NULL)) {
			SSL_free(cssl);
			SSL_free(sssl);
			close(sfd);
			session_end(s, NULL, "tls setup");
			return;
		}
		s->cbev = bufferevent_openssl_socket_new(env->base, fd, cssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (s->cbev == NULL)
			SSL_free(cssl);
		else
			bufferevent_openssl_set_allow_dirty_shutdown(s->cbev, 1);
		if (sssl != NULL && s->cbev != NULL) {
			s->sbev = bufferevent_openssl_socket_new(env->base, sfd, sssl,
			    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
			if (s->sbev == NULL)
				SSL_free(sssl);
			else {
				sfd = -1;
				bufferevent_openssl_set_allow_dirty_shutdown(s->sbev, 1);
			}
		} else
			SSL_free(sssl);
	} else
		s->cbev = bufferevent_socket_new(env->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->cbev == NULL) {
		if (sfd != -1)
			close(sfd);
		session_end(s, NULL, "out of memory");
		return;
	}
	s->cfd = -1;
	if (s->sbev == NULL && sfd != -1 &&
	    (s->sbev = bufferevent_socket_new(env->base, sfd, BEV_OPT_CLOSE_ON_FREE)) != NULL)
		sfd = -1;
	if (s->sbev == NULL) {
		if (sfd != -1)
			close(sfd);
		session_end(s, NULL, "out of memory");
		return;
	}
	session_watch_client(s, s->cbev);
	session_watch_server(s, s->sbev);
	if (session_read_start(s, true) == -1) {
		session_end(s, NULL, "out of memory");
		return;
	}
	session_timer_other(s, s->cf->connect_timeout);
	if (connect_err == 0 && bufferevent_socket_connect(s->sbev, NULL, 0) == -1)
		connect_err = errno;
	if (connect_err != 0) {
		log_sess(LL_WARN, s->id, "cannot connect to %s: %s", addr_str(&s->server, b),
		    strerror(connect_err));
		session_upstream_report(s, false, strerror(connect_err));
		session_feed(s, EE_SERVER_CLOSED, NULL, 0);
	}
}

/* session_proxy.c: the I/O of explicit proxy mode (listen mode "proxy").
 * A client of a proxy listener gets the gateway's own greeting; once its
 * USER user@host[:port] names the server (the engine, engine_proxy.c),
 * the host is resolved with libevent's evdns in this loop, never blocking
 * it, the address is checked (proxy_server_check: the hook point for
 * access rules on the resolved server), and the server connection is
 * opened as for the other modes: from there on the session is the same
 * as a reverse one.
 *
 * The lookup starts from a zero timer, outside the engine's event (evdns
 * may answer from inside evdns_getaddrinfo: numeric addresses, the hosts
 * file). Its callback gets a small record of its own, not the session,
 * so that a lookup cancelled when the session ends never reaches it. One
 * name, one lookup, the first address: a failure ends the session with
 * 421; the client may connect again. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "portmap.h"
#include "session_int.h"
#include "sock.h"

struct proxy_lookup {
	struct session *s;               /* NULL: cancelled, the session is gone */
	struct evdns_getaddrinfo_request *req;   /* NULL until evdns returns */
};

void
session_proxy_accept(struct session *s, int fd)
{
	const struct portmap *map;
	char a[ADDR_STRLEN];

	/* FTP, or implicit FTPS toward the client when a port-mapping makes
	 * the listen port ftps (lftp's "ftp:proxy ftps://gw:port"). */
	map = portmap_lookup(s->cf->maps, s->cf->n_maps, SA(&s->client_local),
	    addr_port(SA(&s->client_local)));
	s->app = map != NULL && map->app == APP_FTPS ? APP_FTPS : APP_FTP;
	s->map_name = map != NULL && map->app == APP_FTPS ? map->name : "(proxy)";
	log_sess(LL_INFO, s->id, "client %s via proxy \"%s\", application %s",
	    addr_str(&s->client, a), s->lc->name, app_kind_name(s->app));
	if (s->app == APP_FTPS && !tls_engine_serves_clients(s->tls)) {
		session_end(s, NULL, "ftps needs TLS");
		return;
	}
	if (session_engine_new(s) == -1) {
		session_end(s, NULL, "out of memory");
		return;
	}
	if (s->app == APP_FTPS) {
		SSL *ssl = tls_ssl_for_client(s->tls, &s->ticket);

		if (ssl != NULL && (s->cbev = bufferevent_openssl_socket_new(s->env->base, fd,
		    ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL)
			SSL_free(ssl);
		if (s->cbev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(s->cbev, 1);
	} else
		s->cbev = bufferevent_socket_new(s->env->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->cbev == NULL) {
		session_end(s, NULL, "out of memory");
		return;
	}
	s->cfd = -1;
	session_watch_client(s, s->cbev);
	if (session_read_start(s, true) == -1) {
		session_end(s, NULL, "out of memory");
		return;
	}
	session_arm_idle_timer(s);
	session_feed(s, EE_PROXY_GREET, NULL, 0);
	session_pump(s);
}

/* May the session go to the server at s->server? NULL if so, else why
 * not. This is where rules on the resolved server belong: the address
 * is known, nothing is connected yet. */
static const char *
proxy_server_check(struct session *s)
{
	if (addr_is_any(SA(&s->server)))
		return "the unspecified address";
	/* USER x@gateway:port would loop into ourselves. */
	if (s->env->is_own_listener(s->env->arg, SA(&s->server)))
		return "a listener of the gateway itself";
	/* The access rules, now that the server is known (at connect
	 * only the client was). */
	if (!session_rules_allow(s, RULE_F_SERVER, s->user[0] != '\0' ? s->user : NULL))
		return "denied by the gateway's access rules";
	return NULL;
}

static void
proxy_connect_server(struct session *s)
{
	struct sock_opts opts = { .transparent = false };
	const char *what = "";
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	int sfd;

	log_sess(LL_INFO, s->id, "client %s to %s (%s) via proxy \"%s\"", addr_str(&s->client, a),
	    addr_str(&s->server, b), s->proxy_host, s->lc->name);
	sfd = sock_prepare(s->server.ss_family, NULL, &opts, &what);
	if (sfd == -1) {
		log_sess(LL_WARN, s->id, "server socket: %s: %s", what, strerror(errno));
		session_end(s, "421 Service not available.", "server socket");
		return;
	}
	if ((s->sbev = bufferevent_socket_new(s->env->base, sfd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(sfd);
		session_end(s, "421 Out of memory.", "out of memory");
		return;
	}
	session_watch_server(s, s->sbev);
	if (bufferevent_socket_connect(s->sbev, SA(&s->server), (int)addr_len(SA(&s->server))) == -1) {
		log_sess(LL_WARN, s->id, "cannot connect to %s: %s", addr_str(&s->server, b),
		    strerror(errno));
		session_feed(s, EE_SERVER_CLOSED, NULL, 0);
	}
}

static void
lookup_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct proxy_lookup *lk = arg;
	struct session *s = lk->s;
	const struct evutil_addrinfo *ai;
	const char *why;
	char reply[PROXY_HOST_MAX + 64], a[ADDR_STRLEN];

	free(lk);
	if (s == NULL) {                 /* cancelled: the session is gone */
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	s->lookup = NULL;
	for (ai = result == 0 ? res : NULL; ai != NULL; ai = ai->ai_next)
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    ai->ai_addrlen <= sizeof(s->server))
			break;
	if (ai == NULL) {
		log_sess(LL_WARN, s->id, "proxy: cannot resolve %s: %s", s->proxy_host,
		    result != 0 ? evutil_gai_strerror(result) : "no IPv4 or IPv6 address");
		if (res != NULL)
			evutil_freeaddrinfo(res);
		s->env->stats->proxy_resolve_failures++;
		snprintf(reply, sizeof(reply), "421 Cannot resolve %s.", s->proxy_host);
		session_end(s, reply, "cannot resolve");
		return;
	}
	memset(&s->server, 0, sizeof(s->server));
	memcpy(&s->server, ai->ai_addr, ai->ai_addrlen);
	evutil_freeaddrinfo(res);
	addr_unmap(&s->server);
	addr_set_port(SA(&s->server), s->proxy_port);
	log_sess(LL_DEBUG, s->id, "proxy: %s is %s", s->proxy_host, addr_str(&s->server, a));
	if ((why = proxy_server_check(s)) != NULL) {
		log_sess(LL_WARN, s->id, "proxy: %s (%s) refused: %s", s->proxy_host,
		    addr_str(&s->server, a), why);
		session_end(s, "530 The gateway does not connect to that server.", why);
		return;
	}
	s->env->stats->proxy_logins++;
	proxy_connect_server(s);
}

static void
lookup_start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	struct proxy_lookup *lk;
	char port[8];

	(void)fd;
	(void)what;
	if (s->ending || s->finished)
		return;
	if (s->env->dns == NULL) {       /* a listener's mode proxy makes it */
		log_sess(LL_ERROR, s->id, "proxy: no resolver");
		session_end(s, "421 Service not available.", "no resolver");
		return;
	}
	if ((lk = calloc(1, sizeof(*lk))) == NULL) {
		session_end(s, "421 Out of memory.", "out of memory");
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* Only the families the gateway has an address of. */
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%u", (unsigned)s->proxy_port);
	lk->s = s;
	s->lookup = lk;
	log_sess(LL_DEBUG, s->id, "proxy: looking up %s", s->proxy_host);
	req = evdns_getaddrinfo(s->env->dns, s->proxy_host, port, &hints, lookup_cb, lk);
	/* NULL: answered already (LK is gone); else the callback comes later. */
	if (req != NULL)
		lk->req = req;
}

void
session_proxy_connect(void *ctx, const char *host, uint16_t port)
{
	struct session *s = ctx;
	struct timeval zero = { 0, 0 };

	snprintf(s->proxy_host, sizeof(s->proxy_host), "%s", host);
	s->proxy_port = port;
	/* connect-timeout covers the lookup and the connect. */
	session_timer_other(s, s->cf->connect_timeout);
	if (s->proxy_ev == NULL &&
	    (s->proxy_ev = evtimer_new(s->env->base, lookup_start_cb, s)) == NULL) {
		session_fail(s, "421 Out of memory.", "out of memory");
		return;
	}
	evtimer_add(s->proxy_ev, &zero);
}

void
session_proxy_release(struct session *s)
{
	struct proxy_lookup *lk = s->lookup;

	if (s->proxy_ev != NULL) {
		event_free(s->proxy_ev);
		s->proxy_ev = NULL;
	}
	if (lk == NULL)
		return;
	s->lookup = NULL;
	lk->s = NULL;                    /* its callback frees it */
	if (lk->req != NULL)
		evdns_getaddrinfo_cancel(lk->req);
}

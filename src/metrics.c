/* metrics.c: the Prometheus endpoint; see metrics.h.
 *
 * libevent's evhttp parses the requests and writes the answers. What it
 * lacks in 2.1 we add around it: a bound on the connections, and a
 * deadline for the whole request however its bytes are spread (evhttp's
 * own timeout is reset by each read). Each connection's bufferevent is
 * made by us and holds a reference of ours, so that it stays valid after
 * evhttp is done with it; evhttp's bufferevent_free() clears its
 * callbacks, which a sweep (each second while there are connections, and
 * at each new one) sees: then our reference goes, and with it the
 * socket. Beyond METRICS_MAX_CONNS a new connection is closed at once,
 * as on the control socket. Out of descriptors, the listener pauses
 * ACCEPTOR_PAUSE_MS at a time (evhttp's own would retry at full CPU). */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "addr.h"
#include "ctl.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "shared.h"
#include "sock.h"

struct metrics_conn {
	TAILQ_ENTRY(metrics_conn) link;
	struct bufferevent *bev;         /* evhttp's, with our reference */
	struct timeval deadline;         /* for the request, then the answer */
	bool past;                       /* its socket was shut down */
};

struct metrics {
	struct event_base *base;
	struct shared *shared;
	struct evhttp *http;
	struct evconnlistener *listener; /* evhttp's */
	struct event *sweep;             /* each second, while conns */
	struct event *resume;            /* accept again after EMFILE */
	bool episode;                    /* out of descriptors, said once */
	char what[ADDR_STRLEN + 32];     /* its name in the log */
	TAILQ_HEAD(, metrics_conn) conns;
	unsigned n_conns;
	bool full;                       /* closing new ones, said once */
};

/* Has evhttp freed it? bufferevent_free() clears every callback, and
 * evhttp keeps at least its event callback set while it uses one. */
static bool
conn_released(struct metrics_conn *c)
{
	bufferevent_data_cb r, w;
	bufferevent_event_cb e;
	void *arg;

	bufferevent_getcb(c->bev, &r, &w, &e, &arg);
	return r == NULL && w == NULL && e == NULL;
}

/* Connections evhttp is done with go (our reference, then the socket);
 * those past their deadline are shut down, so that evhttp sees the end
 * (EOF, or a failed write) and lets them go. */
static void
sweep(struct metrics *m)
{
	struct metrics_conn *c, *next;
	struct timeval now;

	event_base_gettimeofday_cached(m->base, &now);
	for (c = TAILQ_FIRST(&m->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (conn_released(c)) {
			TAILQ_REMOVE(&m->conns, c, link);
			m->n_conns--;
			bufferevent_decref(c->bev);
			free(c);
		} else if (!c->past && evutil_timercmp(&now, &c->deadline, >=)) {
			evutil_socket_t fd = bufferevent_getfd(c->bev);

			log_msg(LL_DEBUG, "%s: a connection took too long; closed", m->what);
			if (fd != -1)
				(void)shutdown(fd, SHUT_RDWR);
			c->past = true;
		}
	}
	if (m->full && m->n_conns < METRICS_MAX_CONNS) {
		log_msg(LL_INFO, "%s: taking connections again", m->what);
		m->full = false;
	}
	if (m->n_conns > 0 && !evtimer_pending(m->sweep, NULL))
		evtimer_add(m->sweep, &(struct timeval){ .tv_sec = 1 });
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sweep(arg);
}

static void
set_deadline(struct metrics *m, struct metrics_conn *c, int seconds)
{
	struct timeval now, tv = { .tv_sec = seconds };

	event_base_gettimeofday_cached(m->base, &now);
	evutil_timeradd(&now, &tv, &c->deadline);
}

/* A new connection: its bufferevent, counted; called by evhttp. */
static struct bufferevent *
conn_new_cb(struct event_base *base, void *arg)
{
	struct metrics *m = arg;
	struct metrics_conn *c = calloc(1, sizeof(*c));

	sweep(m);
	if (c == NULL)
		return NULL;             /* evhttp makes one: not bounded, rare */
	if ((c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(c);
		return NULL;
	}
	bufferevent_incref(c->bev);
	if (m->episode) {
		log_msg(LL_INFO, "%s: accepting again", m->what);
		m->episode = false;
	}
	TAILQ_INSERT_TAIL(&m->conns, c, link);
	if (m->n_conns++ >= METRICS_MAX_CONNS) {
		/* One too many: closed unanswered by the sweep at once (evhttp
		 * gives it its socket only after this returns). */
		if (!m->full)
			log_msg(LL_WARN, "%s: %u connections open: closing new ones until one "
			    "ends (said once)", m->what, METRICS_MAX_CONNS);
		m->full = true;
		set_deadline(m, c, 0);
		evtimer_del(m->sweep);
		evtimer_add(m->sweep, &(struct timeval){ .tv_usec = 10000 });
		return c->bev;
	}
	set_deadline(m, c, CTL_REQUEST_SEC);
	if (!evtimer_pending(m->sweep, NULL))
		evtimer_add(m->sweep, &(struct timeval){ .tv_sec = 1 });
	return c->bev;
}

static struct metrics *the_endpoint;

/* accept() failed. Out of descriptors (or memory) the connection stays
 * pending, and a listener left enabled would be woken again at once, at
 * full CPU: pause, and log once per episode. Other errors are the one
 * connection's. */
static void
accept_error_cb(struct evconnlistener *evl, void *arg)
{
	/* ARG is evhttp's: the endpoint is found by its listener (one per
	 * process: worker 0 serves the metrics). */
	struct metrics *m = the_endpoint;
	int err = EVUTIL_SOCKET_ERROR();

	(void)arg;
	if (m == NULL || m->listener != evl)
		return;

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		log_msg(LL_DEBUG, "%s: accept: %s", m->what, strerror(err));
		return;
	}
	if (!m->episode)
		log_msg(LL_WARN, "%s: accept: %s; pausing %d ms at a time until it works "
		    "(said once)", m->what, strerror(err), ACCEPTOR_PAUSE_MS);
	m->episode = true;
	evconnlistener_disable(evl);
	evtimer_add(m->resume, &(struct timeval){ .tv_usec = ACCEPTOR_PAUSE_MS * 1000 });
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(m->listener);
}

/* The request is in: from now on the answer's deadline. */
static void
conn_answering(struct metrics *m, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct metrics_conn *c;

	TAILQ_FOREACH(c, &m->conns, link)
		if (c->bev == bev) {
			set_deadline(m, c, CTL_ANSWER_SEC);
			break;
		}
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	struct evbuffer *body = evbuffer_new();
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int code = HTTP_OK;
	const char *reason = "OK";

	conn_answering(m, req);
	if (body == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	/* One request per connection, as the control socket. */
	evhttp_add_header(headers, "Connection", "close");
	evhttp_add_header(headers, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		code = HTTP_BADMETHOD;
		reason = "Method Not Allowed";
		evhttp_add_header(headers, "Allow", "GET, HEAD");
		evbuffer_add_printf(body, "GET or HEAD /metrics\n");
	} else if (path == NULL || (strcmp(path, "/metrics") != 0 && strcmp(path, "/") != 0)) {
		/* The query string is not part of the path: ignored. */
		code = HTTP_NOTFOUND;
		reason = "Not Found";
		evbuffer_add_printf(body, "try /metrics\n");
	} else if ((f = open_memstream(&text, &len)) != NULL) {
		shared_stats_write(m->shared, f, STATS_PROMETHEUS);
		if (fclose(f) == 0)
			evbuffer_add(body, text, len);
		free(text);
	}
	if (method == EVHTTP_REQ_HEAD) {
		/* The length GET would have, no body: evhttp 2.1 would send
		 * the body, without its length. */
		char n[32];

		snprintf(n, sizeof(n), "%zu", evbuffer_get_length(body));
		evhttp_add_header(headers, "Content-Length", n);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(req, code, reason, body);
	evbuffer_free(body);
	/* evhttp lets the connection go once the answer is written, most
	 * often at once: the socket closes soon, not at the next second. */
	evtimer_add(m->sweep, &(struct timeval){ .tv_usec = 20000 });
}

struct metrics *
metrics_open(struct event_base *base, struct shared *sh, const struct sockaddr *addr)
{
	struct sock_opts opts = { .transparent = false };
	const char *what = "";
	char a[ADDR_STRLEN];
	struct evhttp_bound_socket *bound;
	struct metrics *m;
	int fd = sock_listen(addr, &opts, METRICS_MAX_CONNS, &what);

	if (fd == -1) {
		log_msg(LL_WARN, "metrics-listen %s: %s: %s", addr_fmt(addr, a, sizeof(a)), what,
		    strerror(errno));
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->http = evhttp_new(base)) == NULL ||
	    (m->sweep = evtimer_new(base, sweep_cb, m)) == NULL ||
	    (m->resume = evtimer_new(base, resume_cb, m)) == NULL) {
		log_msg(LL_WARN, "metrics-listen %s: out of memory", addr_fmt(addr, a, sizeof(a)));
		if (m != NULL && m->http != NULL)
			evhttp_free(m->http);
		if (m != NULL && m->sweep != NULL)
			event_free(m->sweep);
		free(m);
		close(fd);
		return NULL;
	}
	m->base = base;
	m->shared = sh;
	TAILQ_INIT(&m->conns);
	snprintf(m->what, sizeof(m->what), "metrics-listen %s", addr_fmt(addr, a, sizeof(a)));
	/* Every method reaches request_cb, which answers 405 to all but
	 * GET and HEAD (evhttp would say 501). */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(m->http, CTL_REQUEST_MAX);
	evhttp_set_max_body_size(m->http, CTL_REQUEST_MAX);
	evhttp_set_timeout(m->http, CTL_REQUEST_SEC);
	evhttp_set_bevcb(m->http, conn_new_cb, m);
	evhttp_set_gencb(m->http, request_cb, m);
	if ((bound = evhttp_accept_socket_with_handle(m->http, fd)) == NULL) {
		log_msg(LL_WARN, "%s: cannot serve HTTP on it", m->what);
		close(fd);
		metrics_close(m);
		return NULL;
	}
	m->listener = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(m->listener, accept_error_cb);
	the_endpoint = m;
	log_msg(LL_INFO, "metrics on http://%s/metrics", a);
	return m;
}

void
metrics_close(struct metrics *m)
{
	struct metrics_conn *c;

	if (m == NULL)
		return;
	if (the_endpoint == m)
		the_endpoint = NULL;
	/* Frees the listener and every connection evhttp has; then our
	 * references go, and the sockets with them. */
	evhttp_free(m->http);
	while ((c = TAILQ_FIRST(&m->conns)) != NULL) {
		TAILQ_REMOVE(&m->conns, c, link);
		bufferevent_decref(c->bev);
		free(c);
	}
	event_free(m->sweep);
	event_free(m->resume);
	free(m);
}

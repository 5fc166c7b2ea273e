/* metrics.c: the Prometheus endpoint; see metrics.h.
 *
 * libevent's evhttp parses the requests and writes the answers. What it
 * lacks in 2.1 we add around it: a bound on the connections (each one's
 * bufferevent is made by us, a filter without filters whose free callback
 * tells us when evhttp is done with it; at METRICS_MAX_CONNS the listener
 * pauses, and new connections wait in the backlog), and a deadline for
 * the whole request, however its bytes are spread (evhttp's own timeout
 * is reset by each read). */
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
#include "log.h"
#include "metrics.h"
#include "shared.h"
#include "sock.h"

struct metrics_conn {
	TAILQ_ENTRY(metrics_conn) link;
	struct metrics *m;
	struct bufferevent *bev;         /* evhttp's: the filter */
	struct bufferevent *sock;        /* under it, on the socket */
	struct event *deadline;
};

struct metrics {
	struct event_base *base;
	struct shared *shared;
	struct evhttp *http;
	struct evconnlistener *listener; /* evhttp's, paused while full */
	char what[ADDR_STRLEN + 32];     /* its name in the log */
	TAILQ_HEAD(, metrics_conn) conns;
	unsigned n_conns;
	bool full;                       /* paused, said once */
	bool closing;
};

/* The deadline passed: the socket is shut down, so that evhttp sees the
 * end (EOF, or a failed write) and frees the connection. */
static void
conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_conn *c = arg;
	evutil_socket_t sfd = bufferevent_getfd(c->sock);

	(void)fd;
	(void)what;
	log_msg(LL_DEBUG, "%s: a connection took too long; closed", c->m->what);
	if (sfd != -1)
		(void)shutdown(sfd, SHUT_RDWR);
}

/* evhttp freed the connection's bufferevent: the one place a connection
 * ends for us. */
static void
conn_gone(void *arg)
{
	struct metrics_conn *c = arg;
	struct metrics *m = c->m;

	TAILQ_REMOVE(&m->conns, c, link);
	assert(m->n_conns > 0);
	m->n_conns--;
	event_free(c->deadline);
	free(c);
	if (m->full && !m->closing && m->n_conns < METRICS_MAX_CONNS) {
		log_msg(LL_INFO, "%s: taking connections again", m->what);
		m->full = false;
		evconnlistener_enable(m->listener);
	}
}

/* A new connection: its bufferevent, counted; called by evhttp. */
static struct bufferevent *
conn_new_cb(struct event_base *base, void *arg)
{
	struct metrics *m = arg;
	struct metrics_conn *c = calloc(1, sizeof(*c));
	struct timeval tv = { .tv_sec = CTL_REQUEST_SEC };

	if (c == NULL)
		return NULL;             /* evhttp makes one: not bounded, rare */
	c->m = m;
	if ((c->deadline = evtimer_new(base, conn_deadline_cb, c)) == NULL ||
	    (c->sock = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (c->deadline != NULL)
			event_free(c->deadline);
		free(c);
		return NULL;
	}
	c->bev = bufferevent_filter_new(c->sock, NULL, NULL, BEV_OPT_CLOSE_ON_FREE,
	    conn_gone, c);
	if (c->bev == NULL) {
		bufferevent_free(c->sock);
		event_free(c->deadline);
		free(c);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&m->conns, c, link);
	evtimer_add(c->deadline, &tv);
	if (++m->n_conns >= METRICS_MAX_CONNS && !m->full) {
		log_msg(LL_WARN, "%s: %u connections open: not accepting until one ends "
		    "(said once)", m->what, m->n_conns);
		m->full = true;
		evconnlistener_disable(m->listener);
	}
	return c->bev;
}

/* The request is in: from now on the answer's deadline. */
static void
conn_answering(struct metrics *m, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct timeval tv = { .tv_sec = CTL_ANSWER_SEC };
	struct metrics_conn *c;

	TAILQ_FOREACH(c, &m->conns, link)
		if (c->bev == bev) {
			evtimer_add(c->deadline, &tv);
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
	/* evhttp leaves the body out of an answer to HEAD, not its length. */
	evhttp_send_reply(req, code, reason, body);
	evbuffer_free(body);
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
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->http = evhttp_new(base)) == NULL) {
		log_msg(LL_WARN, "metrics-listen %s: out of memory", addr_fmt(addr, a, sizeof(a)));
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
	log_msg(LL_INFO, "metrics on http://%s/metrics", a);
	return m;
}

void
metrics_close(struct metrics *m)
{
	if (m == NULL)
		return;
	/* Frees the listener, then every connection (conn_gone each). */
	m->closing = true;
	evhttp_free(m->http);
	assert(m->n_conns == 0);
	free(m);
}

/* ctl.c: the control socket and the metrics endpoint; see ctl.h.
 *
 * Both answer one request per connection and close: the control socket
 * reads one command line ("sessions", "stats" or "metrics"), the metrics
 * endpoint reads an HTTP request head. A peer gets CTL_TIMEOUT_SEC and
 * CTL_REQUEST_MAX bytes to ask, so a stuck client cannot pile up. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"
#include "ctl.h"
#include "gateway.h"
#include "log.h"
#include "session.h"
#include "sock.h"

#define CTL_REQUEST_MAX  8192
#define CTL_TIMEOUT_SEC  10

struct ctl {
	struct gateway *gw;
	struct evconnlistener *evl;
	bool http;                       /* the metrics endpoint */
	char *path;                      /* the control socket's, unlinked at close */
};

static void
write_sessions(struct gateway *gw, struct evbuffer *out)
{
	struct gw_entry *e;

	/* With several workers each lists its own; ftpgwctl asks them all. */
	if (gw->n_workers > 1)
		evbuffer_add_printf(out, "# worker %u of %u\n", gw->worker, gw->n_workers);
	evbuffer_add_printf(out, "# id client server app state bytes-up bytes-down age-seconds user\n");
	TAILQ_FOREACH(e, &gw->sessions, link)
		session_describe(e->session, out);
}

static void
write_stats(struct gateway *gw, struct evbuffer *out)
{
	struct gw_stats sum, *st = &sum;

	/* The whole gateway's, whichever worker is asked. */
	shared_stats_sum(gw->shared, &sum);
	evbuffer_add_printf(out,
	    "sessions_active %u\n"
	    "sessions_total %llu\n"
	    "sessions_refused_limit %llu\n"
	    "sessions_refused_not_redirected %llu\n"
	    "sessions_refused_other %llu\n"
	    "data_bytes_to_server %llu\n"
	    "data_bytes_to_client %llu\n"
	    "data_channels_passive %llu\n"
	    "data_channels_active %llu\n"
	    "tls_handshakes %llu\n"
	    "tls_failures %llu\n"
	    "config_reloads %llu\n"
	    "workers %u\n",
	    shared_sessions_total(gw->shared), (unsigned long long)st->sessions_total,
	    (unsigned long long)st->refused_limit, (unsigned long long)st->refused_loop,
	    (unsigned long long)st->refused_other, (unsigned long long)st->bytes_to_server,
	    (unsigned long long)st->bytes_to_client, (unsigned long long)st->data_passive,
	    (unsigned long long)st->data_active, (unsigned long long)st->tls_handshakes,
	    (unsigned long long)st->tls_failures, (unsigned long long)st->reloads,
	    gw->n_workers);
}

/* Prometheus text format 0.0.4: a HELP and TYPE line per family. */
static void
write_metrics(struct gateway *gw, struct evbuffer *out)
{
	struct gw_stats sum, *st = &sum;

	shared_stats_sum(gw->shared, &sum);
#define FAMILY(name, type, help) \
	evbuffer_add_printf(out, "# HELP " name " " help "\n# TYPE " name " " type "\n")
	FAMILY("ftpgw_sessions_active", "gauge", "Control sessions open now.");
	evbuffer_add_printf(out, "ftpgw_sessions_active %u\n", shared_sessions_total(gw->shared));
	FAMILY("ftpgw_sessions_total", "counter", "Control sessions accepted since start.");
	evbuffer_add_printf(out, "ftpgw_sessions_total %llu\n", (unsigned long long)st->sessions_total);
	FAMILY("ftpgw_sessions_refused_total", "counter", "Connections refused, by reason.");
	evbuffer_add_printf(out,
	    "ftpgw_sessions_refused_total{reason=\"limit\"} %llu\n"
	    "ftpgw_sessions_refused_total{reason=\"not_redirected\"} %llu\n"
	    "ftpgw_sessions_refused_total{reason=\"other\"} %llu\n",
	    (unsigned long long)st->refused_limit, (unsigned long long)st->refused_loop,
	    (unsigned long long)st->refused_other);
	FAMILY("ftpgw_data_bytes_total", "counter",
	    "Data bytes relayed by ended sessions, by direction.");
	evbuffer_add_printf(out,
	    "ftpgw_data_bytes_total{direction=\"to_server\"} %llu\n"
	    "ftpgw_data_bytes_total{direction=\"to_client\"} %llu\n",
	    (unsigned long long)st->bytes_to_server, (unsigned long long)st->bytes_to_client);
	FAMILY("ftpgw_data_channels_total", "counter", "Data channels set up, by the client's mode.");
	evbuffer_add_printf(out,
	    "ftpgw_data_channels_total{mode=\"passive\"} %llu\n"
	    "ftpgw_data_channels_total{mode=\"active\"} %llu\n",
	    (unsigned long long)st->data_passive, (unsigned long long)st->data_active);
	FAMILY("ftpgw_tls_handshakes_total", "counter", "Control-connection TLS handshakes completed.");
	evbuffer_add_printf(out, "ftpgw_tls_handshakes_total %llu\n",
	    (unsigned long long)st->tls_handshakes);
	FAMILY("ftpgw_tls_failures_total", "counter", "Control-connection TLS handshakes failed.");
	evbuffer_add_printf(out, "ftpgw_tls_failures_total %llu\n",
	    (unsigned long long)st->tls_failures);
	FAMILY("ftpgw_config_reloads_total", "counter", "Successful configuration reloads.");
	evbuffer_add_printf(out, "ftpgw_config_reloads_total %llu\n", (unsigned long long)st->reloads);
	FAMILY("ftpgw_workers", "gauge", "Worker processes (event loops) configured.");
	evbuffer_add_printf(out, "ftpgw_workers %u\n", gw->n_workers);
#undef FAMILY
}

/* ------------------------------------------------------------------ */
/* One request per connection */

struct ctl_conn {
	struct ctl *ctl;
	struct bufferevent *bev;
	bool answered;
};

static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static void
conn_free(struct ctl_conn *c)
{
	bufferevent_free(c->bev);
	free(c);
}

static void
conn_written_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_free(arg);
}

static void
conn_answer(struct ctl_conn *c, const char *request)
{
	struct evbuffer *body = evbuffer_new(), *out = bufferevent_get_output(c->bev);
	struct gateway *gw = c->ctl->gw;
	const char *status = "200 OK";

	c->answered = true;
	if (body == NULL) {
		conn_free(c);
		return;
	}
	if (c->ctl->http) {
		if (strncmp(request, "GET /metrics ", 13) == 0 || strncmp(request, "GET / ", 6) == 0)
			write_metrics(gw, body);
		else {
			status = "404 Not Found";
			evbuffer_add_printf(body, "try /metrics\n");
		}
		evbuffer_add_printf(out, "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status,
		    evbuffer_get_length(body));
	} else if (strcmp(request, "sessions") == 0)
		write_sessions(gw, body);
	else if (strcmp(request, "stats") == 0)
		write_stats(gw, body);
	else if (strcmp(request, "metrics") == 0)
		write_metrics(gw, body);
	else
		evbuffer_add_printf(body, "error: unknown command (sessions, stats, metrics)\n");
	evbuffer_add_buffer(out, body);
	evbuffer_free(body);
	bufferevent_disable(c->bev, EV_READ);
	/* Freed once written, or when the peer goes or times out first. */
	bufferevent_setcb(c->bev, NULL, conn_written_cb, conn_event_cb, c);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;

	if (c->answered)
		return;
	if (c->ctl->http && evbuffer_search(in, "\r\n\r\n", 4, NULL).pos == -1 &&
	    evbuffer_search(in, "\n\n", 2, NULL).pos == -1) {
		if (evbuffer_get_length(in) > CTL_REQUEST_MAX)
			conn_free(c);
		return;
	}
	line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CTL_REQUEST_MAX)
			conn_free(c);
		return;
	}
	conn_answer(c, line);
	free(line);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);                  /* EOF, error or timeout */
}

static void
ctl_accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
    int len, void *arg)
{
	struct ctl *ctl = arg;
	struct ctl_conn *c = calloc(1, sizeof(*c));
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_SEC };

	(void)evl;
	(void)sa;
	(void)len;
	if (c == NULL || (c->bev = bufferevent_socket_new(ctl->gw->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->ctl = ctl;
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ);
}

static struct ctl *
ctl_listen(struct gateway *gw, int fd, bool http, const char *path)
{
	struct ctl *ctl = calloc(1, sizeof(*ctl));

	if (ctl == NULL) {
		close(fd);
		return NULL;
	}
	ctl->gw = gw;
	ctl->http = http;
	ctl->evl = evconnlistener_new(gw->base, ctl_accept_cb, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (ctl->evl == NULL || (path != NULL && (ctl->path = strdup(path)) == NULL)) {
		if (ctl->evl == NULL)
			close(fd);
		ctl_close(ctl);
		return NULL;
	}
	return ctl;
}

struct ctl *
ctl_open_socket(struct gateway *gw, const char *path)
{
	struct sockaddr_un sun;
	char dir[sizeof(sun.sun_path)], *slash;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return NULL;
	strcpy(sun.sun_path, path);
	/* /run/ftpgw exists under systemd (RuntimeDirectory=); by hand it
	 * may not. */
	strcpy(dir, path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0755);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	/* A socket file left by an earlier run that did not clean up. */
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0600) == -1 || listen(fd, 16) == -1) {
		close(fd);
		goto fail;
	}
	log_msg(LL_INFO, "control socket %s", path);
	return ctl_listen(gw, fd, false, path);
fail:
	log_msg(LL_WARN, "control socket %s: %s (ftpgwctl will not work)", path, strerror(errno));
	return NULL;
}

struct ctl *
ctl_open_metrics(struct gateway *gw, const struct sockaddr *addr)
{
	struct sock_opts opts = { .transparent = false };
	const char *what = "";
	char a[ADDR_STRLEN];
	int fd = sock_listen(addr, &opts, 16, &what);

	if (fd == -1) {
		log_msg(LL_WARN, "metrics-listen %s: %s: %s", addr_fmt(addr, a, sizeof(a)), what,
		    strerror(errno));
		return NULL;
	}
	log_msg(LL_INFO, "metrics on http://%s/metrics", addr_fmt(addr, a, sizeof(a)));
	return ctl_listen(gw, fd, true, NULL);
}

void
ctl_close(struct ctl *ctl)
{
	if (ctl == NULL)
		return;
	if (ctl->evl != NULL)
		evconnlistener_free(ctl->evl);
	if (ctl->path != NULL) {
		(void)unlink(ctl->path);
		free(ctl->path);
	}
	free(ctl);
}

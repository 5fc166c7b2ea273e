/* session_leg.c: a session's two control legs as byte streams: lines
 * in, bytes out, the end. A leg is a bufferevent (connecting, the bytes a
 * send(2) did not take, TLS); a plain leg's input is read by its reader
 * (linein.h), which costs a recv(2) per command or reply instead of a
 * bufferevent's ioctl, buffer chain and search. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "ftp_proto.h"
#include "linein.h"
#include "session_int.h"
#include "tls.h"

static bool
is_plain(struct bufferevent *bev)
{
	return bev_ssl(bev) == NULL && bufferevent_get_underlying(bev) == NULL;
}

/* The reader's end or error, as the bufferevent's event would say it. */
static short
in_end_what(enum linein_event ev)
{
	return (short)(BEV_EVENT_READING | (ev == LINEIN_EOF ? BEV_EVENT_EOF : BEV_EVENT_ERROR));
}

static void
client_in_cb(void *arg, enum linein_event ev)
{
	struct session *s = arg;

	if (ev == LINEIN_READ)
		session_pump(s);
	else
		session_client_event_cb(s->cbev, in_end_what(ev), s);
}

static void
server_in_cb(void *arg, enum linein_event ev)
{
	struct session *s = arg;

	if (ev == LINEIN_READ)
		session_pump(s);
	else
		session_server_event_cb(s->sbev, in_end_what(ev), s);
}

int
session_read_start(struct session *s, bool client)
{
	struct linein *li = client ? s->cin : s->sin;
	struct bufferevent *bev = client ? s->cbev : s->sbev;

	if (li != NULL)
		return linein_start(li);
	return bufferevent_enable(bev, EV_READ);
}

void
session_read_stop(struct session *s, bool client)
{
	struct linein *li = client ? s->cin : s->sin;
	struct bufferevent *bev = client ? s->cbev : s->sbev;

	if (li != NULL)
		linein_stop(li);
	if (bev != NULL)
		bufferevent_disable(bev, EV_READ);
}

void
session_reader_to_bev(struct session *s, bool client)
{
	struct linein **li = client ? &s->cin : &s->sin;
	struct bufferevent *bev = client ? s->cbev : s->sbev;
	const char *rest;
	size_t n;

	if (*li == NULL)
		return;
	/* Only a peer that did not wait for the 234 sent these. */
	if ((rest = linein_rest(*li, &n)) != NULL)
		evbuffer_add(bufferevent_get_input(bev), rest, n);
	linein_free(*li);
	*li = NULL;
}

/* Bytes (whole lines) for a control leg. With nothing queued before them
 * on a live plain socket (no TLS) they go at once with one send(2):
 * queueing costs an epoll_ctl to watch for writability, a writev on the
 * next loop turn and an epoll_ctl to stop watching, for every reply and
 * command. What the socket does not take is queued as before, so the
 * order and the output bound hold. A hard error the send took from the
 * socket is kept in *ERR for the leg's event callback (leg_kept_error, session.c):
 * the bytes queued after it meet a socket whose error is gone. */
void
session_leg_write(struct bufferevent *bev, const struct linein *li, const char *buf, size_t len,
    int *err)
{
	ssize_t n = 0;
	/* A live leg: connected, and its end not read yet. */
	bool live = li != NULL ? linein_reading(li) : (bufferevent_get_enabled(bev) & EV_READ);

	if (*err == 0 && evbuffer_get_length(bufferevent_get_output(bev)) == 0 && live &&
	    bev_ssl(bev) == NULL && bufferevent_get_underlying(bev) == NULL) {
		n = send(bufferevent_getfd(bev), buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				*err = errno;
			n = 0;
		}
	}
	if ((size_t)n < len)
		bufferevent_write(bev, buf + n, len - (size_t)n);
}


/* Take one line out of a leg's input: 1 = a line in LINE, 0 = wait for
 * more, -1 = an overlong line (the client's is dropped up to its LF). */
int
session_take_line(struct session *s, struct bufferevent *bev, struct linein *li, bool client,
    char *line, size_t *len)
{
	struct evbuffer *in;
	size_t eol_len = 0;
	struct evbuffer_ptr eol;

	if (li != NULL)
		return linein_take(li, FTP_LINE_MAX, client, &s->discarding, line, len);
	in = bufferevent_get_input(bev);
	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (eol.pos == -1) {
		if (evbuffer_get_length(in) <= FTP_LINE_MAX)
			return 0;
		if (!client)
			return -1;
		/* Drop what we have; keep dropping up to the LF. */
		evbuffer_drain(in, evbuffer_get_length(in));
		s->discarding = true;
		return 0;
	}
	if (s->discarding && client) {
		evbuffer_drain(in, (size_t)eol.pos + eol_len);
		s->discarding = false;
		return -1;
	}
	if ((size_t)eol.pos > FTP_LINE_MAX) {
		evbuffer_drain(in, (size_t)eol.pos + eol_len);
		return -1;
	}
	*len = (size_t)eol.pos;
	evbuffer_remove(in, line, *len);
	evbuffer_drain(in, eol_len);
	return 1;
}


/* Free a control leg, with close_notify unless the other leg was cut
 * short (then neither peer may take the end for a clean one). */
void
session_leg_free(struct session *s, struct bufferevent *bev, struct linein *li)
{
	struct bufferevent *under = bufferevent_get_underlying(bev);
	int fd = bufferevent_getfd(under != NULL ? under : bev);

	linein_free(li);                 /* before its socket closes */

	if (s->tls_cut)
		tls_close_quietly(bev_ssl(bev));
	else
		tls_close_notify(bev_ssl(bev));
	/* A TLS filter (AUTH TLS) wrote its last records, close_notify
	 * among them, into the plain bufferevent under it, which freeing
	 * discards: hand them to the socket now (best effort, a few bytes
	 * into a socket buffer). */
	if (under != NULL) {
		struct evbuffer *out = bufferevent_get_output(under);
		size_t n = evbuffer_get_length(out);
		unsigned char *p = n > 0 ? evbuffer_pullup(out, -1) : NULL;

		if (p != NULL)
			(void)send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	/* The FIN now, after everything written: freeing a bufferevent
	 * closes its socket only when libevent finalizes it, after this
	 * callback and the session's bookkeeping and log line, and a peer
	 * waiting for the end (a client after 221) need not wait for those. */
	if (fd >= 0)
		(void)shutdown(fd, SHUT_WR);
	bufferevent_free(bev);
}


/* Callbacks and bounds of a client-side bufferevent (the socket's, then
 * a TLS filter's over it). A filter moves its output into the socket's
 * only while that is under its write high-water mark, so the output
 * bound holds for both. A plain socket's bufferevent gets a reader; it
 * reads itself only when there is none. */
void
session_watch_client(struct session *s, struct bufferevent *bev)
{
	bufferevent_setcb(bev, session_client_read_cb, session_client_write_cb,
	    session_client_event_cb, s);
	bufferevent_setwatermark(bev, EV_READ, 0, CLIENT_INPUT_MAX);
	bufferevent_setwatermark(bev, EV_WRITE, CLIENT_OUTPUT_MAX / 2, CLIENT_OUTPUT_MAX);
	if (s->cin == NULL && is_plain(bev))
		s->cin = linein_new(s->env->base, bufferevent_getfd(bev), client_in_cb, s);
}

void
session_watch_server(struct session *s, struct bufferevent *bev)
{
	bufferevent_setcb(bev, session_server_read_cb, NULL, session_server_event_cb, s);
	bufferevent_setwatermark(bev, EV_READ, 0, SERVER_INPUT_MAX);
	if (s->sin == NULL && is_plain(bev))
		s->sin = linein_new(s->env->base, bufferevent_getfd(bev), server_in_cb, s);
}

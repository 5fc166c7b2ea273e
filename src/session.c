/* session.c: one client's control connection, its server connection, the
 * FTP state between them, and the data channel of the moment.
 *
 * States (session_state):
 *   CONNECTING  the server connection is being opened; client lines wait
 *   FTP         commands and replies flow, line by line, through the ALG
 *   TCP         a plain byte relay (port-mapping application "tcp")
 *   CLOSING     the last reply is being written to the client
 *   DEAD        everything is closed; the memory goes at the next loop turn
 *
 * Inside FTP, a FIFO of pending commands pairs each server reply with the
 * command it answers: data-setup replies (227/229/200) are rewritten, the
 * final reply of a transfer is held until the client has every byte of the
 * data connection. While a command waits for its reply, further client
 * lines wait in the input buffer (bounded by a read watermark), except
 * during a transfer, when ABOR, STAT, NOOP and QUIT go through. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "addr.h"
#include "conf.h"
#include "data.h"
#include "ftp_proto.h"
#include "gateway.h"
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
/* Output */

void
session_reply(struct session *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	log_sess(LL_DEBUG, s->id, "G> %s", line);
	line[n++] = '\r';
	line[n++] = '\n';
	if (s->cbev != NULL)
		bufferevent_write(s->cbev, line, (size_t)n);
}

void
session_send(struct session *s, const char *line, size_t len)
{
	char esc[256];

	if (log_enabled(LL_DEBUG)) {
		if (len >= 5 && strncasecmp(line, "PASS ", 5) == 0)
			log_sess(LL_DEBUG, s->id, "C> PASS ****");
		else
			log_sess(LL_DEBUG, s->id, "C> %s", log_escape(line, len, esc, sizeof(esc)));
	}
	bufferevent_write(s->sbev, line, len);
	bufferevent_write(s->sbev, "\r\n", 2);
}

/* ------------------------------------------------------------------ */
/* Pending commands */

struct pending *
session_pending_head(struct session *s)
{
	return s->n_pending > 0 ? &s->pending[s->pending_head] : NULL;
}

struct pending *
session_pending_push(struct session *s, enum pending_kind kind)
{
	struct pending *p;

	/* Callers check room first: commands are read only while there is. */
	p = &s->pending[(s->pending_head + s->n_pending) % PENDING_MAX];
	s->n_pending++;
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	return p;
}

static struct pending
pending_pop(struct session *s)
{
	struct pending p = s->pending[s->pending_head];

	s->pending_head = (s->pending_head + 1) % PENDING_MAX;
	s->n_pending--;
	return p;
}



















/* ------------------------------------------------------------------ */
/* Server replies */

/* What the server's replies say about the login, RFC 959 s.5.4. */
static void
track_login(struct session *s, enum ftp_verb verb, int code)
{
	switch (verb) {
	case FTP_V_USER:
	case FTP_V_PASS:
	case FTP_V_ACCT:
		if (code == 230 || code == 202)
			s->logged_in = true;
		else if (code == 331 || code == 332)
			s->user_accepted = true;
		else if (code / 100 >= 4)
			s->user_accepted = s->logged_in = false;
		break;
	case FTP_V_REIN:
		if (code / 100 == 2)
			s->user_accepted = s->logged_in = false;
		break;
	default:
		break;
	}
}

/* Commands RFC 959 and its extensions allow before login. */
static bool
verb_allowed_before_login(enum ftp_verb verb)
{
	switch (verb) {
	case FTP_V_USER: case FTP_V_PASS: case FTP_V_ACCT: case FTP_V_QUIT:
	case FTP_V_REIN: case FTP_V_AUTH: case FTP_V_PBSZ: case FTP_V_PROT:
	case FTP_V_CCC: case FTP_V_FEAT: case FTP_V_SYST: case FTP_V_HELP:
	case FTP_V_NOOP: case FTP_V_OPTS: case FTP_V_HOST: case FTP_V_LANG:
	case FTP_V_UNKNOWN:          /* the server's business */
		return true;
	default:
		return false;
	}
}

/* strict = yes: refuse what is out of order here, as a firewall ALG does,
 * with the code the server would give. Returns false when refused. */
static bool
strict_check(struct session *s, const struct ftp_command *cmd)
{
	if (!s->cf->strict)
		return true;
	if (cmd->verb == FTP_V_PASS && !s->user_accepted && !s->logged_in) {
		log_sess(LL_INFO, s->id, "strict: PASS before USER refused");
		session_reply(s, "503 Login with USER first.");
		return false;
	}
	if (!s->logged_in && !verb_allowed_before_login(cmd->verb)) {
		log_sess(LL_INFO, s->id, "strict: %s before login refused", cmd->name);
		session_reply(s, "530 Please login with USER and PASS.");
		return false;
	}
	if (ftp_verb_is_transfer(cmd->verb) && s->dc == NULL) {
		log_sess(LL_INFO, s->id, "strict: %s without PORT/PASV refused", cmd->name);
		session_reply(s, "425 Use PORT, PASV, EPRT or EPSV first.");
		return false;
	}
	return true;
}

static void
handle_reply(struct session *s, int code)
{
	size_t len = evbuffer_get_length(s->reply);
	char *text = (char *)evbuffer_pullup(s->reply, -1);
	struct pending *head = session_pending_head(s);
	struct pending p;

	if (log_enabled(LL_DEBUG)) {
		char esc[256];

		log_sess(LL_DEBUG, s->id, "S> %s", log_escape(text, len > 2 ? len - 2 : len, esc, sizeof(esc)));
	}
	if (head == NULL) {
		/* Unsolicited (a 421 before closing, say): pass it on. */
		bufferevent_write_buffer(s->cbev, s->reply);
		return;
	}
	if (code < 200) {
		if (head->kind == PK_TRANSFER)
			head->seen_1xx = true;
		bufferevent_write_buffer(s->cbev, s->reply);
		return;
	}
	p = pending_pop(s);
	switch (p.kind) {
	case PK_DATA_SETUP:
		session_data_setup_reply(s, &p, code, text, len);
		break;
	case PK_TRANSFER:
		session_transfer_reply(s, &p, code);
		break;
	case PK_GREETING:
		bufferevent_write_buffer(s->cbev, s->reply);
		if (code / 100 != 2 || s->tls == NULL)
			break;
		if (s->server_tls)           /* implicit TLS toward the server */
			session_tls_protect_server_data(s);
		else if (s->cf->tls.server_side == TLS_SERVER_REQUIRED) {
			session_pending_push(s, PK_SERVER_AUTH);
			session_send(s, "AUTH TLS", 8);
		}
		break;
	case PK_SERVER_AUTH:
		session_tls_auth_reply(s, &p, code);
		break;
	case PK_INTERNAL:
		session_tls_internal_reply(s, &p, code);
		break;
	case PK_FEAT:
		session_tls_feat_reply(s, code);
		break;
	case PK_PLAIN:
		track_login(s, p.client_verb, code);
		bufferevent_write_buffer(s->cbev, s->reply);
		break;
	case PK_ABOR:
		bufferevent_write_buffer(s->cbev, s->reply);
		break;
	}
	if (s->reply != NULL)
		evbuffer_drain(s->reply, evbuffer_get_length(s->reply));
}

void
session_server_input(struct session *s)
{
	struct evbuffer *in;
	char line[FTP_LINE_MAX + 1];

	if (s->state != SS_FTP || s->sbev == NULL)
		return;
	while (evbuffer_get_length(s->held) == 0 && !s->server_handshaking) {
		size_t eol_len = 0, len;
		struct evbuffer_ptr eol;

		/* Fetched each time: AUTH puts a TLS bufferevent on top. */
		in = bufferevent_get_input(s->sbev);

		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
		if (eol.pos == -1) {
			if (evbuffer_get_length(in) > FTP_LINE_MAX)
				goto bad;
			return;
		}
		len = (size_t)eol.pos;
		if (len > FTP_LINE_MAX)
			goto bad;
		evbuffer_remove(in, line, len);
		evbuffer_drain(in, eol_len);
		line[len] = '\0';
		switch (ftp_reply_feed(&s->rp, line, len)) {
		case FTP_REPLY_BAD:
			goto bad;
		case FTP_REPLY_MORE:
			evbuffer_add(s->reply, line, len);
			evbuffer_add(s->reply, "\r\n", 2);
			break;
		case FTP_REPLY_DONE:
			evbuffer_add(s->reply, line, len);
			evbuffer_add(s->reply, "\r\n", 2);
			handle_reply(s, s->rp.code);
			if (s->state != SS_FTP)
				return;
			/* A reply may let waiting client lines through. */
			session_client_input(s);
			if (s->state != SS_FTP)
				return;
			break;
		}
	}
	return;
bad:
	log_sess(LL_WARN, s->id, "the server sent a malformed or overlong reply");
	session_end(s, "421 The server sent a malformed reply; closing.", "bad server reply");
}

/* ------------------------------------------------------------------ */
/* Client commands */

/* Can a command be taken now? During a transfer only those that make sense
 * while the data flows. */
static bool
command_allowed_now(struct session *s, enum ftp_verb verb)
{
	struct pending *head = session_pending_head(s);

	if (head == NULL)
		return true;
	if (s->n_pending >= PENDING_MAX - 1)
		return false;
	if (head->kind == PK_TRANSFER && head->seen_1xx)
		return verb == FTP_V_ABOR || verb == FTP_V_STAT ||
		    verb == FTP_V_NOOP || verb == FTP_V_QUIT;
	return false;
}

static void
handle_command(struct session *s, char *line, size_t len)
{
	struct ftp_command cmd;
	char esc[128];

	if (ftp_command_parse(line, len, &cmd) == -1) {
		log_sess(LL_DEBUG, s->id, "unparsable command: %s", log_escape(line, len, esc, sizeof(esc)));
		session_reply(s, "500 Syntax error, command unrecognized.");
		return;
	}
	for (size_t i = 0; i < s->cf->n_deny_commands; i++)
		if (ftp_command_matches(&cmd, s->cf->deny_commands[i])) {
			log_sess(LL_INFO, s->id, "denied by deny-commands: %s",
			    log_escape(line, len, esc, sizeof(esc)));
			session_reply(s, "502 Command not allowed by the gateway.");
			return;
		}
	if (session_tls_command(s, &cmd))
		return;
	if (!strict_check(s, &cmd))
		return;
	switch (cmd.verb) {
	case FTP_V_USER:
		/* Escaped once here: it goes into logs and ftpgwctl output. */
		log_escape(cmd.arg, cmd.arg_len, s->user, sizeof(s->user));
		break;
	case FTP_V_FEAT:
		session_pending_push(s, PK_FEAT);
		session_send(s, line, len);
		return;
	case FTP_V_PASV:
	case FTP_V_EPSV:
	case FTP_V_PORT:
	case FTP_V_EPRT:
		session_data_setup(s, &cmd);
		return;
	case FTP_V_ABOR:
		/* Closing both data ends stops the transfer on either side,
		 * whether or not the server watches for urgent data. */
		session_release_held(s);
		if (s->state != SS_FTP)
			return;
		session_drop_dc(s);
		session_pending_push(s, PK_ABOR);
		session_send(s, "ABOR", 4);
		return;
	default:
		break;
	}
	if (ftp_verb_is_transfer(cmd.verb)) {
		s->xfer_verb = cmd.verb;
		s->xfer_start = time(NULL);
		s->xfer_dropped_up = s->xfer_dropped_down = 0;
		log_escape(cmd.arg, cmd.arg_len, s->xfer_path, sizeof(s->xfer_path));
	}
	session_pending_push(s, ftp_verb_is_transfer(cmd.verb) ? PK_TRANSFER : PK_PLAIN)->client_verb =
	    cmd.verb;
	session_send(s, line, len);
}

/* Take one line out of the client's input: 1 = a line in LINE, 0 = wait
 * for more, -1 = an overlong line was dropped (already answered). */
static int
read_client_line(struct session *s, char *line, size_t *len)
{
	struct evbuffer *in = bufferevent_get_input(s->cbev);
	size_t eol_len = 0;
	struct evbuffer_ptr eol;

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (eol.pos == -1) {
		if (evbuffer_get_length(in) > FTP_LINE_MAX) {
			/* Drop what we have; keep dropping up to the LF. */
			evbuffer_drain(in, evbuffer_get_length(in));
			s->discarding = true;
		}
		return 0;
	}
	if (s->discarding || (size_t)eol.pos > FTP_LINE_MAX) {
		evbuffer_drain(in, (size_t)eol.pos + eol_len);
		s->discarding = false;
		log_sess(LL_INFO, s->id, "command line over %d bytes refused", FTP_LINE_MAX);
		session_reply(s, "500 Command line too long.");
		return -1;
	}
	*len = (size_t)eol.pos;
	evbuffer_remove(in, line, *len);
	evbuffer_drain(in, eol_len);
	line[*len] = '\0';
	return 1;
}

void
session_client_input(struct session *s)
{
	char line[FTP_LINE_MAX + 1];

	while (s->state == SS_FTP && !s->client_auth_waiting && !s->server_handshaking) {
		struct ftp_command peek;
		size_t len;
		int r;

		if (s->deferred != NULL) {
			/* A line that waited for the transfer to end. */
			if (ftp_command_parse(s->deferred, s->deferred_len, &peek) == 0 &&
			    !command_allowed_now(s, peek.verb))
				return;
			if (s->n_pending > 0)
				return;
			memcpy(line, s->deferred, s->deferred_len + 1);
			len = s->deferred_len;
			free(s->deferred);
			s->deferred = NULL;
			handle_command(s, line, len);
			continue;
		}
		if (s->n_pending > 0 && !command_allowed_now(s, FTP_V_NOOP))
			return;
		r = read_client_line(s, line, &len);
		if (r == 0)
			return;
		if (r == -1)
			continue;
		session_arm_idle_timer(s);
		len = ftp_telnet_strip(line, len);
		line[len] = '\0';
		if (len == 0)
			continue;
		if (s->n_pending > 0 && (ftp_command_parse(line, len, &peek) == -1 ||
		    !command_allowed_now(s, peek.verb))) {
			s->deferred = malloc(len + 1);
			if (s->deferred == NULL) {
				session_end(s, "421 Out of memory.", "out of memory");
				return;
			}
			memcpy(s->deferred, line, len + 1);
			s->deferred_len = len;
			return;
		}
		handle_command(s, line, len);
	}
}

/* ------------------------------------------------------------------ */
/* Events */

void
session_client_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_client_input(arg);
}

void
session_server_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_server_input(arg);
}

void
session_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bev_ssl(s->cbev);

		s->gw->stats->tls_handshakes++;
		log_sess(LL_DEBUG, s->id, "TLS with the client: %s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (s->client_tls) {
			char e[160];

			s->gw->stats->tls_failures++;
			log_sess(LL_INFO, s->id, "TLS with the client failed: %s",
			    session_tls_error(s->cbev, e, sizeof(e)));
		}
		session_end(s, NULL, "client error");
	} else if (what & BEV_EVENT_EOF)
		session_end(s, NULL, "client closed");
}

void
session_server_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	char a[ADDR_STRLEN];

	(void)bev;
	if ((what & BEV_EVENT_CONNECTED) && s->server_handshaking) {
		SSL *ssl = bev_ssl(s->sbev);

		s->server_handshaking = false;
		s->gw->stats->tls_handshakes++;
		log_sess(LL_INFO, s->id, "TLS with the server: %s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
		session_tls_protect_server_data(s);
		if (s->client_auth_waiting)
			session_tls_start_client(s);
		session_client_input(s);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && s->server_tls &&
	    (s->server_handshaking || s->state == SS_CONNECTING)) {
		char e[160];

		s->gw->stats->tls_failures++;
		log_sess(LL_WARN, s->id, "TLS with the server %s failed: %s", addr_str(&s->server, a),
		    session_tls_error(s->sbev, e, sizeof(e)));
		session_end(s, "421 Could not secure the connection to the server.", "server TLS failed");
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state != SS_CONNECTING)
			return;
		sock_local(bufferevent_getfd(s->sbev), &s->server_local);
		log_sess(LL_DEBUG, s->id, "connected to %s from %s",
		    addr_str(&s->server, a), addr_fmt(SA(&s->server_local), (char[ADDR_STRLEN]){0}, ADDR_STRLEN));
		s->state = SS_FTP;
		session_arm_idle_timer(s);
		bufferevent_enable(s->sbev, EV_READ);
		return;
	}
	if (s->state == SS_CONNECTING) {
		log_sess(LL_WARN, s->id, "cannot connect to %s: %s", addr_str(&s->server, a),
		    strerror(EVUTIL_SOCKET_ERROR()));
		session_end(s, "421 Service not available: the server cannot be reached.",
		    "server unreachable");
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if ((what & BEV_EVENT_ERROR) && s->server_tls) {
			char e[160];

			log_sess(LL_INFO, s->id, "TLS connection to the server failed: %s",
			    session_tls_error(s->sbev, e, sizeof(e)));
		}
		/* Hand over what the server said last, then close; but a
		 * held reply waits for its data connection to finish. */
		session_server_input(s);
		if (s->state != SS_FTP)
			return;
		if (evbuffer_get_length(s->held) > 0) {
			s->server_gone = true;
			bufferevent_disable(s->sbev, EV_READ);
			return;
		}
		/* A command still waiting for its reply gets one. */
		session_end(s, s->n_pending > 0 ?
		    "421 Service not available: the server closed the connection." : NULL,
		    (what & BEV_EVENT_ERROR) ? "server error" : "server closed");
	}
}

void
session_arm_idle_timer(struct session *s)
{
	struct timeval tv = { .tv_sec = s->cf->idle_timeout };
	/* Re-armed on every command and reply: a libevent common timeout (a
	 * FIFO per duration) makes that O(1) however many sessions wait,
	 * instead of a heap operation. */
	const struct timeval *common = event_base_init_common_timeout(s->gw->base, &tv);

	evtimer_add(s->timer, common != NULL ? common : &tv);
}

static void session_finish(struct session *s);

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	switch (s->state) {
	case SS_CONNECTING:
		log_sess(LL_WARN, s->id, "connect to the server timed out");
		session_end(s, "421 Service not available: the server does not answer.",
		    "server connect timeout");
		break;
	case SS_FTP:
		if (s->dc != NULL && dc_state(s->dc) == DC_RELAYING) {
			session_arm_idle_timer(s);   /* data flowing counts as activity */
			break;
		}
		log_sess(LL_INFO, s->id, "idle for %u seconds", s->cf->idle_timeout);
		session_end(s, "421 Idle timeout: closing control connection.", "idle timeout");
		break;
	case SS_CLOSING:
		session_finish(s);
		break;
	default:
		break;
	}
}

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
		session_end(s, NULL, "server unreachable");
		return;
	}
	s->tcp_relay = relay_new(s->gw->base, s->cfd, s->sfd, tcp_relay_cb, s);
	s->cfd = s->sfd = -1;            /* the relay's, even when it failed */
	if (s->tcp_relay == NULL) {
		session_end(s, NULL, "out of memory");
		return;
	}
	s->state = SS_TCP;
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

	if (s->state == SS_DEAD)
		return;
	session_drop_dc(s);
	if (s->tcp_relay != NULL) {
		s->data_to_server += relay_bytes_a_to_b(s->tcp_relay);
		s->data_to_client += relay_bytes_b_to_a(s->tcp_relay);
		relay_free(s->tcp_relay);
	}
	if (s->cbev != NULL) {
		tls_close_notify(bev_ssl(s->cbev));
		bufferevent_free(s->cbev);
	}
	if (s->sbev != NULL) {
		tls_close_notify(bev_ssl(s->sbev));
		bufferevent_free(s->sbev);
	}
	/* After every SSL that points at it is gone. */
	tls_ticket_clear(&s->ticket);
	tls_engine_unref(s->tls);
	if (s->connect_ev != NULL)
		event_free(s->connect_ev);
	event_free(s->timer);
	if (s->cfd != -1)
		close(s->cfd);
	if (s->sfd != -1)
		close(s->sfd);
	evbuffer_free(s->reply);
	evbuffer_free(s->held);
	s->reply = s->held = NULL;
	free(s->deferred);
	s->gw->stats->bytes_to_server += s->data_to_server;
	s->gw->stats->bytes_to_client += s->data_to_client;
	if (s->registered)
		gateway_session_remove(s->gw, &s->entry, SA(&s->client));
	log_sess(LL_INFO, s->id,
	    "end: client %s server %s app %s user \"%s\" transfers %u bytes up %llu down %llu time %lds: %s",
	    addr_str(&s->client, a), addr_str(&s->server, b), app_kind_name(s->app),
	    s->user, s->transfers, (unsigned long long)s->data_to_server,
	    (unsigned long long)s->data_to_client, (long)(time(NULL) - s->started),
	    s->end_reason ? s->end_reason : "closed");
	config_unref(s->cf);
	s->state = SS_DEAD;
	/* Callers up the stack may still look at s->state: free it later. */
	if (event_base_once(s->gw->base, -1, EV_TIMEOUT, session_free_cb, s, &zero) == -1)
		free(s);
}

static void
close_flushed_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_finish(arg);
}

/* End the session: REPLY (if any) is the client's last line. */
void
session_end(struct session *s, const char *reply, const char *reason)
{
	struct timeval tv = { .tv_sec = CLOSE_FLUSH_SEC };

	if (s->state == SS_CLOSING || s->state == SS_DEAD)
		return;
	s->end_reason = reason;
	session_drop_dc(s);
	if (s->sbev != NULL) {
		tls_close_notify(bev_ssl(s->sbev));
		bufferevent_free(s->sbev);
		s->sbev = NULL;
	}
	if (reply != NULL && s->cbev != NULL)
		session_reply(s, "%s", reply);
	if (s->cbev == NULL || evbuffer_get_length(bufferevent_get_output(s->cbev)) == 0) {
		session_finish(s);
		return;
	}
	s->state = SS_CLOSING;
	bufferevent_disable(s->cbev, EV_READ);
	bufferevent_setcb(s->cbev, NULL, close_flushed_cb, session_client_event_cb, s);
	evtimer_add(s->timer, &tv);
}

void
session_describe(const struct session *s, struct evbuffer *out)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	uint64_t up = s->data_to_server, down = s->data_to_client;
	const char *state;

	if (s->dc != NULL) {
		up += dc_bytes_to_server(s->dc);
		down += dc_bytes_to_client(s->dc);
	}
	if (s->tcp_relay != NULL) {
		up += relay_bytes_a_to_b(s->tcp_relay);
		down += relay_bytes_b_to_a(s->tcp_relay);
	}
	switch (s->state) {
	case SS_CONNECTING: state = "connecting"; break;
	case SS_TCP: state = "tcp-relay"; break;
	case SS_CLOSING: state = "closing"; break;
	case SS_DEAD: state = "closed"; break;
	default:
		state = s->dc != NULL && dc_state(s->dc) == DC_RELAYING ? "transfer" :
		    s->logged_in ? "ready" : "login";
		break;
	}
	/* The user name last: it is the client's text and may hold spaces. */
	evbuffer_add_printf(out, "%llu %s %s %s%s %s %llu %llu %ld %s\n",
	    (unsigned long long)s->id, addr_str(&s->client, a), addr_str(&s->server, b),
	    app_kind_name(s->app), s->client_tls || s->server_tls ? "+tls" : "",
	    state, (unsigned long long)up, (unsigned long long)down,
	    (long)(time(NULL) - s->started), s->user[0] != '\0' ? s->user : "-");
}

void
session_shutdown(struct session *s, const char *reply)
{
	session_end(s, reply, "gateway shutdown");
}

/* A last word to a refused client, before any bufferevent exists. Best
 * effort: a new socket's buffer is empty, so this does not block. */
static void
early_reply(int fd, const char *line)
{
	(void)send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Where did the client mean to go? */
static int
find_server(struct session *s, int fd, const char **why)
{
	const struct listen_conf *lc = s->lc;

	switch (lc->mode) {
	case MODE_REVERSE:
		s->server = lc->upstream;
		return 0;
	case MODE_TPROXY:
		s->server = s->client_local;
		break;
	case MODE_REDIRECT:
		if (sock_original_dst(fd, &s->server) == -1) {
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
	    gateway_is_own_listener(s->gw, SA(&s->server))) {
		*why = "original destination is the gateway itself (not redirected)";
		return -1;
	}
	return 0;
}

void
session_accept(struct gateway *gw, struct listener *l, int fd,
    const struct sockaddr *peer)
{
	struct session *s;
	const struct portmap *map;
	const char *why = NULL, *what = "";
	struct sockaddr_storage src;
	bool tproxy = l->lc->mode == MODE_TPROXY;
	struct sock_opts opts = { .transparent = tproxy };
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	uint16_t map_port;
	int sfd;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		early_reply(fd, "421 Out of memory.\r\n");
		close(fd);
		gw->stats->refused_other++;
		return;
	}
	s->id = shared_next_session_id(gw->shared);
	s->gw = gw;
	s->cf = config_ref(gw->cf);
	s->tls = tls_engine_ref(gw->tls);
	s->lc = l->lc;
	s->pool = l->pool;
	s->cfd = fd;
	s->sfd = -1;
	s->started = time(NULL);
	memcpy(&s->client, peer, addr_len(peer));
	addr_unmap(&s->client);
	sock_local(fd, &s->client_local);
	ftp_reply_parser_init(&s->rp);
	s->reply = evbuffer_new();
	s->held = evbuffer_new();
	s->timer = evtimer_new(gw->base, timer_cb, s);
	s->state = SS_CONNECTING;
	if (s->reply == NULL || s->held == NULL || s->timer == NULL) {
		session_end(s, NULL, "out of memory");
		return;
	}
	s->entry.session = s;
	if (!gateway_session_add(gw, &s->entry, SA(&s->client), &why)) {
		log_sess(LL_WARN, s->id, "client %s refused: %s", addr_str(&s->client, a), why);
		early_reply(fd, "421 Too many connections; try again later.\r\n");
		gw->stats->refused_limit++;
		session_end(s, NULL, why);
		return;
	}
	s->registered = true;
	if (find_server(s, fd, &why) == -1) {
		log_sess(LL_WARN, s->id, "client %s to %s refused: %s", addr_str(&s->client, a),
		    addr_str(&s->server, b), why);
		early_reply(fd, "421 Service not available: not redirected.\r\n");
		gw->stats->refused_loop++;
		session_end(s, NULL, why);
		return;
	}
	/* reverse: the port the client reached selects the mapping; without
	 * a stanza for it, the upstream's own port does (9091 -> :21 is ftp). */
	map_port = l->lc->mode == MODE_REVERSE ? addr_port(SA(&s->client_local)) :
	    addr_port(SA(&s->server));
	map = portmap_lookup(s->cf->maps, s->cf->n_maps, SA(&s->server), map_port);
	if (map == NULL && l->lc->mode == MODE_REVERSE)
		map = portmap_lookup(s->cf->maps, s->cf->n_maps, SA(&s->server),
		    addr_port(SA(&s->server)));
	s->app = map != NULL ? map->app : APP_TCP;
	s->map_name = map != NULL ? map->name : "(none: plain relay)";
	log_sess(LL_INFO, s->id, "client %s to %s via %s \"%s\": port-mapping %s, application %s",
	    addr_str(&s->client, a), addr_str(&s->server, b), listen_mode_name(l->lc->mode),
	    l->lc->name, s->map_name, app_kind_name(s->app));
	if (s->app == APP_FTPS && s->tls == NULL) {
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
			session_end(s, NULL, "server unreachable");
			return;
		}
		s->connect_ev = event_new(gw->base, sfd, EV_WRITE, tcp_connected_cb, s);
		if (s->connect_ev == NULL || event_add(s->connect_ev, &tv) == -1)
			session_end(s, NULL, "out of memory");
		return;
	}

	(void)sock_oob_inline(fd);
	(void)sock_nodelay(fd);
	if (s->app == APP_FTPS) {
		/* Implicit FTPS: TLS from the first byte toward the client, and
		 * toward the server unless server-side = off. */
		SSL *cssl = tls_ssl_for_client(s->tls), *sssl = NULL;

		if (s->cf->tls.server_side != TLS_SERVER_OFF)
			sssl = tls_ssl_for_server(s->tls, &s->ticket, SA(&s->server));
		if (cssl == NULL || (s->cf->tls.server_side != TLS_SERVER_OFF && sssl == NULL)) {
			SSL_free(cssl);
			SSL_free(sssl);
			close(sfd);
			session_end(s, NULL, "tls setup");
			return;
		}
		s->cbev = bufferevent_openssl_socket_new(gw->base, fd, cssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (s->cbev == NULL)
			SSL_free(cssl);
		else
			bufferevent_openssl_set_allow_dirty_shutdown(s->cbev, 1);
		s->client_tls = true;
		if (sssl != NULL) {
			s->sbev = bufferevent_openssl_socket_new(gw->base, sfd, sssl,
			    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
			if (s->sbev == NULL)
				SSL_free(sssl);
			else
				bufferevent_openssl_set_allow_dirty_shutdown(s->sbev, 1);
			s->server_tls = true;
		}
	} else
		s->cbev = bufferevent_socket_new(gw->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->cbev == NULL) {
		close(sfd);
		session_end(s, NULL, "out of memory");
		return;
	}
	s->cfd = -1;
	if (s->sbev == NULL && !s->server_tls)
		s->sbev = bufferevent_socket_new(gw->base, sfd, BEV_OPT_CLOSE_ON_FREE);
	if (s->sbev == NULL) {
		close(sfd);
		session_end(s, NULL, "out of memory");
		return;
	}
	bufferevent_setcb(s->cbev, session_client_read_cb, NULL, session_client_event_cb, s);
	bufferevent_setcb(s->sbev, session_server_read_cb, NULL, session_server_event_cb, s);
	bufferevent_setwatermark(s->cbev, EV_READ, 0, CLIENT_INPUT_MAX);
	bufferevent_enable(s->cbev, EV_READ);
	session_pending_push(s, PK_GREETING);
	{
		struct timeval tv = { .tv_sec = s->cf->connect_timeout };

		evtimer_add(s->timer, &tv);
	}
	if (bufferevent_socket_connect(s->sbev, SA(&s->server), (int)addr_len(SA(&s->server))) == -1) {
		log_sess(LL_WARN, s->id, "cannot connect to %s: %s", addr_str(&s->server, b),
		    strerror(errno));
		session_end(s, "421 Service not available: the server cannot be reached.",
		    "server unreachable");
	}
}

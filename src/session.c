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
#include "sock.h"
#include "tls.h"

#define PENDING_MAX        16
/* Client input waiting to be processed is capped here (read watermark). */
#define CLIENT_INPUT_MAX   (64 * 1024)
/* How long the last reply may take to reach a closing client. */
#define CLOSE_FLUSH_SEC    5

enum session_state { SS_CONNECTING, SS_FTP, SS_TCP, SS_CLOSING, SS_DEAD };

enum pending_kind {
	PK_GREETING,     /* the server's 220 */
	PK_PLAIN,        /* passed through untouched */
	PK_DATA_SETUP,   /* PASV/EPSV/PORT/EPRT: the reply is rewritten */
	PK_TRANSFER,     /* RETR/STOR/...: the final reply waits for the data */
	PK_ABOR,
	PK_FEAT,         /* the feature list is adjusted to what the gateway offers */
	PK_SERVER_AUTH,  /* our AUTH TLS toward the server */
	PK_INTERNAL,     /* our PBSZ/PROT toward the server: not the client's business */
};

struct pending {
	enum pending_kind kind;
	enum ftp_verb client_verb;   /* PK_DATA_SETUP: what the client sent */
	enum ftp_verb server_verb;   /* and what went to the server */
	bool seen_1xx;               /* PK_TRANSFER: the transfer started */
	bool for_client;             /* PK_SERVER_AUTH: part of the client's AUTH */
};

struct session {
	struct gw_entry entry;           /* in the gateway's registry */
	uint64_t id;
	struct gateway *gw;
	struct config *cf;               /* the snapshot this session began with */
	const struct listen_conf *lc;
	enum app_kind app;
	const char *map_name;
	enum session_state state;
	bool registered;

	struct sockaddr_storage client;       /* the client, as seen */
	struct sockaddr_storage client_local; /* our end of the client's connection */
	struct sockaddr_storage server;       /* where the client meant to go */
	struct sockaddr_storage server_local; /* our end toward the server */

	int cfd, sfd;                    /* raw sockets until a bufferevent or relay owns them */
	struct bufferevent *cbev, *sbev;
	struct event *timer;             /* connect timeout, then idle timeout, then close flush */
	struct event *connect_ev;        /* TCP mapping: the upstream connect */
	struct relay *tcp_relay;

	struct ftp_reply_parser rp;
	struct evbuffer *reply;          /* lines of the server reply being read */
	struct evbuffer *held;           /* a final transfer reply waiting for the data */
	int held_code;
	struct pending pending[PENDING_MAX];
	unsigned pending_head, n_pending;
	char *deferred;                  /* a client line that must wait for a transfer's end */
	size_t deferred_len;
	bool discarding;                 /* dropping an overlong client line up to its LF */
	bool server_gone;                /* the server closed while a reply was held */
	/* Login as the replies tell it, for the strict state machine. */
	/* The file transfer under way, for the transfer log. */
	enum ftp_verb xfer_verb;
	char xfer_path[256];
	time_t xfer_start;
	bool user_accepted;              /* USER got 331/332: PASS may follow */
	bool logged_in;                  /* 230 seen */
	bool epsv_all;

	/* TLS, per leg: each side negotiates with the gateway on its own. */
	struct tls_engine *tls;          /* NULL: no certificate configured */
	struct tls_ticket ticket;        /* the server's newest session ticket */
	bool client_tls, server_tls;     /* the control leg is (being) secured */
	bool client_prot_p, server_prot_p;
	bool client_auth_waiting;        /* the client's AUTH waits for the server leg */
	bool server_handshaking;         /* commands wait for the server leg's handshake */

	struct data_channel *dc;
	struct sockaddr_storage advertise;    /* what the client is told in 227/229 */
	struct portpool *pool;

	char user[64];
	time_t started;
	uint64_t data_to_server, data_to_client;
	unsigned transfers;
	const char *end_reason;
};

static void session_end(struct session *s, const char *reply, const char *reason);
static void client_input(struct session *s);
static void server_input(struct session *s);
static void arm_idle_timer(struct session *s);
static void client_read_cb(struct bufferevent *bev, void *arg);
static void client_event_cb(struct bufferevent *bev, short what, void *arg);
static void server_read_cb(struct bufferevent *bev, void *arg);
static void server_event_cb(struct bufferevent *bev, short what, void *arg);

static const char *
addr_str(const struct sockaddr_storage *ss, char *buf)
{
	return addr_fmt((const struct sockaddr *)ss, buf, ADDR_STRLEN);
}

#define SA(ss) ((struct sockaddr *)(ss))

/* ------------------------------------------------------------------ */
/* Output */

static void
reply_client(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A reply the gateway itself gives the client. */
static void
reply_client(struct session *s, const char *fmt, ...)
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

static void
send_server(struct session *s, const char *line, size_t len)
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

static void
send_server_fmt(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
send_server_fmt(struct session *s, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(line))
		send_server(s, line, (size_t)n);
}

/* ------------------------------------------------------------------ */
/* Pending commands */

static struct pending *
pending_head(struct session *s)
{
	return s->n_pending > 0 ? &s->pending[s->pending_head] : NULL;
}

static struct pending *
pending_push(struct session *s, enum pending_kind kind)
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
/* Data channel */

/* A file transfer's final reply is on its way to the client: one
 * xferlog line (listings are not file transfers). */
static void
log_transfer(struct session *s, int code)
{
	char host[ADDR_STRLEN];
	bool upload = s->xfer_verb == FTP_V_STOR || s->xfer_verb == FTP_V_STOU ||
	    s->xfer_verb == FTP_V_APPE;
	uint64_t bytes = 0;

	if (s->gw->xferlog == NULL || (s->xfer_verb != FTP_V_RETR && !upload))
		return;
	if (s->dc != NULL)
		bytes = upload ? dc_bytes_to_server(s->dc) : dc_bytes_to_client(s->dc);
	xferlog_write(s->gw->xferlog, time(NULL), (long)(time(NULL) - s->xfer_start),
	    addr_fmt_host(SA(&s->client), host, sizeof(host)), (unsigned long long)bytes,
	    s->xfer_path, upload ? 'i' : 'o', s->user, code / 100 == 2);
	s->xfer_verb = FTP_V_UNKNOWN;
}

static void
drop_dc(struct session *s)
{
	if (s->dc == NULL)
		return;
	s->data_to_server += dc_bytes_to_server(s->dc);
	s->data_to_client += dc_bytes_to_client(s->dc);
	dc_free(s->dc);
	s->dc = NULL;
}

/* Write the held transfer reply and carry on with what waited behind it. */
static void
release_held(struct session *s)
{
	if (s->held == NULL || evbuffer_get_length(s->held) == 0)
		return;
	log_transfer(s, s->held_code);
	drop_dc(s);
	log_sess(LL_DEBUG, s->id, "S> (released after the data connection)");
	bufferevent_write_buffer(s->cbev, s->held);
	if (s->server_gone) {
		session_end(s, NULL, "server closed");
		return;
	}
	server_input(s);
	if (s->state == SS_FTP)
		client_input(s);
}

static void
dc_event_cb(struct data_channel *dc, enum dc_event ev, void *arg)
{
	struct session *s = arg;
	struct pending *p = pending_head(s);

	(void)dc;
	if (evbuffer_get_length(s->held) > 0) {
		release_held(s);
		return;
	}
	/* A channel that failed before any transfer asked for it is of no
	 * more use; one a transfer is waiting on stays until its reply. */
	if (ev == DC_EV_FAILED && (p == NULL || p->kind != PK_TRANSFER))
		drop_dc(s);
}

static bool
verb_is_passive(enum ftp_verb v)
{
	return v == FTP_V_PASV || v == FTP_V_EPSV;
}

/* Where the gateway listens for the client's data connection, and what it
 * tells the client (passive-address). */
static void
plan_client_listener(struct session *s, struct sockaddr_storage *bind_host,
    bool *transparent, struct sockaddr_storage *advertise)
{
	const struct listen_conf *lc = s->lc;
	int family = s->client.ss_family;

	*transparent = false;
	switch (lc->pasv_kind) {
	case PASV_ADDR_ORIGINAL:
		if (lc->mode == MODE_TPROXY) {
			/* Bound to the server's own address: the client's data
			 * connection is caught by -m socket --transparent and
			 * sees only the server. */
			*bind_host = s->server;
			*transparent = true;
			*advertise = s->server;
			return;
		}
		if (lc->mode == MODE_REDIRECT) {
			/* The passive range is REDIRECTed to us, to whichever
			 * local address the kernel picks: listen on all. */
			addr_any(bind_host, family, 0);
			*advertise = s->server;
			return;
		}
		/* reverse: the address the client reached us on */
		*bind_host = s->client_local;
		*advertise = s->client_local;
		return;
	case PASV_ADDR_LOCAL:
		*bind_host = s->client_local;
		*advertise = s->client_local;
		return;
	case PASV_ADDR_FIXED:
		addr_any(bind_host, family, 0);
		*advertise = lc->pasv_fixed;
		return;
	}
}

static bool
check_active_target(struct session *s, const struct sockaddr_storage *target,
    const char *verb)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	/* FTP bounce (RFC 2577): data goes only to the client itself, and
	 * never to a privileged port. */
	if (!addr_equal_host(SA(target), SA(&s->client)) || addr_port(SA(target)) < 1024) {
		log_sess(LL_WARN, s->id, "%s to %s refused: client is %s", verb,
		    addr_str(target, a), addr_fmt_host(SA(&s->client), b, sizeof(b)));
		reply_client(s, "501 %s refused: data connections go only to your own address and a port above 1023.", verb);
		return false;
	}
	return true;
}

/* PASV, EPSV, PORT, EPRT from the client. */
static void
data_setup(struct session *s, const struct ftp_command *cmd)
{
	bool client_passive = verb_is_passive(cmd->verb);
	bool client_ext = cmd->verb == FTP_V_EPSV || cmd->verb == FTP_V_EPRT;
	int cfam = s->client.ss_family, sfam = s->server.ss_family;
	bool server_passive, server_ext, tproxy = s->lc->mode == MODE_TPROXY;
	struct sockaddr_storage target, bind_host, bound;
	bool transparent;
	struct pending *p;

	if (s->epsv_all && cmd->verb != FTP_V_EPSV) {
		reply_client(s, "501 EPSV ALL is in effect: use EPSV.");
		return;
	}
	switch (cmd->verb) {
	case FTP_V_EPSV:
		switch (ftp_epsv_arg_parse(cmd->arg, cmd->arg_len)) {
		case FTP_EPSV_ALL:
			s->epsv_all = true;
			reply_client(s, "200 EPSV ALL command successful.");
			return;
		case FTP_EPSV_BAD:
			reply_client(s, "501 Bad EPSV argument.");
			return;
		case FTP_EPSV_V4:
			if (cfam != AF_INET) {
				reply_client(s, "522 Network protocol not supported, use (2)");
				return;
			}
			break;
		case FTP_EPSV_V6:
			if (cfam != AF_INET6) {
				reply_client(s, "522 Network protocol not supported, use (1)");
				return;
			}
			break;
		case FTP_EPSV_DEFAULT:
			break;
		}
		break;
	case FTP_V_PORT: {
		struct sockaddr_in sin;

		if (ftp_port_arg_decode(cmd->arg, cmd->arg_len, &sin) == -1) {
			reply_client(s, "501 Bad PORT argument.");
			return;
		}
		if (cfam != AF_INET) {
			reply_client(s, "522 Network protocol not supported, use (2)");
			return;
		}
		memset(&target, 0, sizeof(target));
		memcpy(&target, &sin, sizeof(sin));
		if (!check_active_target(s, &target, "PORT"))
			return;
		break;
	}
	case FTP_V_EPRT:
		if (ftp_eprt_arg_decode(cmd->arg, cmd->arg_len, &target) == -1) {
			reply_client(s, "501 Bad EPRT argument.");
			return;
		}
		addr_unmap(&target);
		if (target.ss_family != cfam) {
			reply_client(s, "522 Network protocol not supported, use (%d)",
			    cfam == AF_INET ? 1 : 2);
			return;
		}
		if (!check_active_target(s, &target, "EPRT"))
			return;
		break;
	default:
		break;
	}

	drop_dc(s);
	if (client_passive)
		s->gw->stats.data_passive++;
	else
		s->gw->stats.data_active++;
	s->dc = dc_new(s->gw->base, s->id, s->cf->data_timeout, dc_event_cb, s);
	if (s->dc == NULL) {
		reply_client(s, "425 Can't open data connection.");
		return;
	}

	if (s->client_prot_p)
		dc_set_tls(s->dc, DC_CLIENT, s->tls, NULL, SA(&s->server));
	if (s->server_prot_p)
		dc_set_tls(s->dc, DC_SERVER, s->tls, &s->ticket, SA(&s->server));

	/* The client's end. */
	if (client_passive) {
		plan_client_listener(s, &bind_host, &transparent, &s->advertise);
		if (cmd->verb == FTP_V_PASV && s->advertise.ss_family != AF_INET) {
			reply_client(s, "425 PASV cannot name an IPv6 address: use EPSV.");
			goto fail_quiet;
		}
		if (dc_listen(s->dc, DC_CLIENT, SA(&bind_host), transparent, s->pool,
		    SA(&s->client), &bound) == -1)
			goto fail;
		addr_set_port(SA(&s->advertise), addr_port(SA(&bound)));
	} else {
		struct sockaddr_storage src;

		/* tproxy: the client sees the data come from the server. */
		if (tproxy) {
			src = s->server;
			addr_set_port(SA(&src), 0);
		}
		dc_connect_to(s->dc, DC_CLIENT, SA(&target), tproxy ? SA(&src) : NULL, tproxy);
	}

	/* The server's end: mirror the client unless told otherwise; the
	 * extended forms where the families differ or the server is IPv6. */
	switch (s->lc->sdata) {
	case SDATA_PASSIVE:
		server_passive = true;
		break;
	case SDATA_ACTIVE:
		server_passive = false;
		break;
	default:
		server_passive = client_passive;
		break;
	}
	server_ext = cfam == sfam ? client_ext : sfam == AF_INET6;
	if (sfam == AF_INET6)
		server_ext = true;

	p = pending_push(s, PK_DATA_SETUP);
	p->client_verb = cmd->verb;
	if (server_passive) {
		struct sockaddr_storage src;

		if (tproxy) {
			src = s->client;
			addr_set_port(SA(&src), 0);
		}
		dc_connect_to(s->dc, DC_SERVER, NULL, tproxy ? SA(&src) : NULL, tproxy);
		p->server_verb = server_ext ? FTP_V_EPSV : FTP_V_PASV;
		send_server_fmt(s, "%s", server_ext ? "EPSV" : "PASV");
	} else {
		char line[128];
		int n;

		/* tproxy: the server sees its client's address in PORT. */
		bind_host = tproxy ? s->client : s->server_local;
		if (dc_listen(s->dc, DC_SERVER, SA(&bind_host), tproxy, s->pool,
		    SA(&s->server), &bound) == -1) {
			s->n_pending--;
			goto fail;
		}
		p->server_verb = server_ext ? FTP_V_EPRT : FTP_V_PORT;
		n = server_ext ? ftp_eprt_format(line, sizeof(line), SA(&bound)) :
		    ftp_port_format(line, sizeof(line), (struct sockaddr_in *)&bound);
		if (n < 0) {
			s->n_pending--;
			goto fail;
		}
		send_server(s, line, (size_t)n);
	}
	return;
fail:
	reply_client(s, "425 Can't open data connection.");
fail_quiet:
	drop_dc(s);
}

/* The server answered our PASV/EPSV/PORT/EPRT. */
static void
data_setup_reply(struct session *s, const struct pending *p, int code,
    const char *text, size_t len)
{
	struct sockaddr_storage target;
	char line[128];
	int n = -1;

	if (s->dc == NULL) {                  /* dropped meanwhile (ABOR) */
		bufferevent_write(s->cbev, text, len);
		return;
	}
	switch (p->server_verb) {
	case FTP_V_PASV: {
		struct sockaddr_in sin;
		char a[ADDR_STRLEN];

		if (code != 227)
			goto refused;
		if (ftp_227_decode(text, len, &sin) == -1)
			goto bad;
		/* Connect to the server we already talk to; a 227 naming
		 * another host (NAT'd servers send private ones) is not
		 * followed. */
		target = s->server;
		addr_set_port(SA(&target), ntohs(sin.sin_port));
		if (sin.sin_addr.s_addr != ((struct sockaddr_in *)&s->server)->sin_addr.s_addr)
			log_sess(LL_INFO, s->id, "227 names %s; connecting to the control peer instead",
			    addr_fmt((struct sockaddr *)&sin, a, sizeof(a)));
		dc_set_target(s->dc, DC_SERVER, SA(&target));
		break;
	}
	case FTP_V_EPSV: {
		uint16_t port;

		if (code != 229)
			goto refused;
		if (ftp_229_decode(text, len, &port) == -1)
			goto bad;
		target = s->server;
		addr_set_port(SA(&target), port);
		dc_set_target(s->dc, DC_SERVER, SA(&target));
		break;
	}
	default:                              /* PORT, EPRT */
		if (code / 100 != 2)
			goto refused;
		break;
	}
	if (dc_start(s->dc) == -1) {
		drop_dc(s);
		reply_client(s, "425 Can't open data connection.");
		return;
	}
	switch (p->client_verb) {
	case FTP_V_PASV:
		n = ftp_227_format(line, sizeof(line), (struct sockaddr_in *)&s->advertise);
		break;
	case FTP_V_EPSV:
		n = ftp_229_format(line, sizeof(line), addr_port(SA(&s->advertise)));
		break;
	case FTP_V_PORT:
		n = snprintf(line, sizeof(line), "200 PORT command successful.");
		break;
	default:
		n = snprintf(line, sizeof(line), "200 EPRT command successful.");
		break;
	}
	if (n > 0)
		reply_client(s, "%s", line);
	return;
refused:
	/* The server's own refusal says it best. */
	drop_dc(s);
	bufferevent_write(s->cbev, text, len);
	return;
bad:
	log_sess(LL_WARN, s->id, "malformed %d reply from the server", code);
	drop_dc(s);
	reply_client(s, "425 Can't open data connection: bad reply from the server.");
}

/* The final reply of RETR/STOR/...: it must not overtake the data. */
static void
transfer_reply(struct session *s, const struct pending *p, int code)
{
	bool hold;

	s->transfers++;
	if (s->dc != NULL && dc_state(s->dc) == DC_ARMED)
		dc_poll(s->dc);              /* its connection may be queued already */
	if (s->dc == NULL) {
		log_transfer(s, code);
		bufferevent_write_buffer(s->cbev, s->reply);
		return;
	}
	switch (dc_state(s->dc)) {
	case DC_ARMED:                        /* nobody connected: nothing to wait for */
	case DC_DONE:
		hold = false;
		break;
	default:
		/* A refusal without a preliminary reply means no transfer ran. */
		hold = (p->seen_1xx || code / 100 == 2) && !dc_to_client_done(s->dc);
		break;
	}
	if (hold) {
		log_sess(LL_DEBUG, s->id, "reply %d held until the data connection is done", code);
		s->held_code = code;
		evbuffer_add_buffer(s->held, s->reply);
		return;
	}
	log_transfer(s, code);
	drop_dc(s);
	bufferevent_write_buffer(s->cbev, s->reply);
}

/* ------------------------------------------------------------------ */
/* TLS on the control legs */

static SSL *
bev_ssl(struct bufferevent *bev)
{
	return bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
}

/* Why TLS on BEV failed, for the log: a certificate verdict, OpenSSL's
 * error, or the socket's. */
static const char *
bev_tls_error(struct bufferevent *bev, char *buf, size_t size)
{
	SSL *ssl = bev_ssl(bev);
	unsigned long e = bufferevent_get_openssl_error(bev);
	/* The verdict matters only where verification is asked for. */
	long v = ssl != NULL && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) ?
	    SSL_get_verify_result(ssl) : X509_V_OK;

	if (v != X509_V_OK)
		snprintf(buf, size, "certificate verification failed: %s",
		    X509_verify_cert_error_string(v));
	else if (e != 0)
		ERR_error_string_n(e, buf, size);
	else if (EVUTIL_SOCKET_ERROR() != 0)
		snprintf(buf, size, "%s", strerror(EVUTIL_SOCKET_ERROR()));
	else
		snprintf(buf, size, "the peer closed the connection during the handshake");
	while (bufferevent_get_openssl_error(bev) != 0)
		;
	return buf;
}

/* Our own PBSZ/PROT toward a secured server, so its data legs are
 * protected whatever the client chose for its own. */
static void
server_protect_data(struct session *s)
{
	pending_push(s, PK_INTERNAL)->server_verb = FTP_V_PBSZ;
	send_server(s, "PBSZ 0", 6);
	pending_push(s, PK_INTERNAL)->server_verb = FTP_V_PROT;
	send_server(s, "PROT P", 6);
}

/* The server said 234: run TLS over the server connection. Nothing else
 * goes to the server until the handshake is done. */
static void
server_start_tls(struct session *s)
{
	SSL *ssl = tls_ssl_for_server(s->tls, &s->ticket, SA(&s->server));
	struct bufferevent *bev = NULL;

	if (ssl != NULL)
		bev = bufferevent_openssl_filter_new(s->gw->base, s->sbev, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		session_end(s, "421 Could not secure the connection to the server.", "tls setup");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	s->sbev = bev;                   /* it owns the plain one now */
	bufferevent_setcb(bev, server_read_cb, NULL, server_event_cb, s);
	bufferevent_enable(bev, EV_READ);
	s->server_tls = true;
	s->server_handshaking = true;
}

/* Answer the client's AUTH and run TLS over its connection. The 234 is
 * already in the plain connection's output when the TLS filter goes on
 * top, so it leaves first (freeing the plain bufferevent instead would
 * discard it). */
static void
client_start_tls(struct session *s)
{
	SSL *ssl = tls_ssl_for_client(s->tls);
	struct bufferevent *bev = NULL;

	s->client_auth_waiting = false;
	if (ssl == NULL) {
		reply_client(s, "431 Unable to negotiate TLS.");
		return;
	}
	reply_client(s, "234 AUTH TLS successful.");
	bev = bufferevent_openssl_filter_new(s->gw->base, s->cbev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		session_end(s, NULL, "tls setup");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	s->cbev = bev;
	bufferevent_setcb(bev, client_read_cb, NULL, client_event_cb, s);
	bufferevent_setwatermark(bev, EV_READ, 0, CLIENT_INPUT_MAX);
	bufferevent_enable(bev, EV_READ);
	s->client_tls = true;
}

static void
server_auth_reply(struct session *s, const struct pending *p, int code)
{
	if (code == 234) {
		server_start_tls(s);
		return;
	}
	if (p->for_client) {
		/* server-side = auto: the legs are independent; this one
		 * stays as the server wants it, and the log says so. */
		log_sess(LL_WARN, s->id, "the server refused AUTH TLS (%d): its leg stays in plaintext", code);
		client_start_tls(s);
		return;
	}
	log_sess(LL_WARN, s->id, "the server refused AUTH TLS (%d), which server-side = required needs", code);
	session_end(s, "421 Service not available: the server does not accept TLS, which this gateway requires toward it.",
	    "server refused TLS");
}

static void
internal_reply(struct session *s, const struct pending *p, int code)
{
	if (p->server_verb != FTP_V_PROT)
		return;
	s->server_prot_p = code / 100 == 2;
	if (!s->server_prot_p)
		log_sess(LL_WARN, s->id, "the server refused PROT P (%d): its data connections stay in plaintext", code);
}

/* FEAT: the gateway, not the server, decides whether AUTH/PBSZ/PROT are on
 * offer to the client. */
static void
feat_reply(struct session *s, int code)
{
	bool offer = s->tls != NULL && s->cf->tls.client_side != TLS_CLIENT_OFF;
	size_t len = evbuffer_get_length(s->reply);
	char *text = (char *)evbuffer_pullup(s->reply, -1);
	struct evbuffer *out;
	char *line, *end, *last = NULL;

	if (code != 211 || (out = evbuffer_new()) == NULL) {
		bufferevent_write_buffer(s->cbev, s->reply);
		return;
	}
	/* Lines end with CRLF (server_input normalised them). */
	for (line = text; line < text + len; line = end + 2) {
		end = memmem(line, (size_t)(text + len - line), "\r\n", 2);
		if (end == NULL)
			break;
		if (line == text) {
			evbuffer_add_printf(out, "211-%.*s\r\n",
			    (int)(end - line > 4 ? end - line - 4 : 0), line + 4);
			continue;
		}
		if (end + 2 >= text + len) {
			last = line;
			break;
		}
		while (line < end && *line == ' ')
			line++;
		if (strncasecmp(line, "AUTH", 4) == 0 || strncasecmp(line, "PBSZ", 4) == 0 ||
		    strncasecmp(line, "PROT", 4) == 0 || strncasecmp(line, "CCC", 3) == 0)
			continue;
		evbuffer_add_printf(out, " %.*s\r\n", (int)(end - line), line);
	}
	if (offer)
		evbuffer_add_printf(out, " AUTH TLS\r\n PBSZ\r\n PROT\r\n");
	if (last != NULL && last != text)
		evbuffer_add(out, last, (size_t)(text + len - last));
	else
		evbuffer_add_printf(out, "211 End\r\n");
	bufferevent_write_buffer(s->cbev, out);
	evbuffer_free(out);
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
		reply_client(s, "503 Login with USER first.");
		return false;
	}
	if (!s->logged_in && !verb_allowed_before_login(cmd->verb)) {
		log_sess(LL_INFO, s->id, "strict: %s before login refused", cmd->name);
		reply_client(s, "530 Please login with USER and PASS.");
		return false;
	}
	if (ftp_verb_is_transfer(cmd->verb) && s->dc == NULL) {
		log_sess(LL_INFO, s->id, "strict: %s without PORT/PASV refused", cmd->name);
		reply_client(s, "425 Use PORT, PASV, EPRT or EPSV first.");
		return false;
	}
	return true;
}

static void
handle_reply(struct session *s, int code)
{
	size_t len = evbuffer_get_length(s->reply);
	char *text = (char *)evbuffer_pullup(s->reply, -1);
	struct pending *head = pending_head(s);
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
		data_setup_reply(s, &p, code, text, len);
		break;
	case PK_TRANSFER:
		transfer_reply(s, &p, code);
		break;
	case PK_GREETING:
		bufferevent_write_buffer(s->cbev, s->reply);
		if (code / 100 != 2 || s->tls == NULL)
			break;
		if (s->server_tls)           /* implicit TLS toward the server */
			server_protect_data(s);
		else if (s->cf->tls.server_side == TLS_SERVER_REQUIRED) {
			pending_push(s, PK_SERVER_AUTH);
			send_server(s, "AUTH TLS", 8);
		}
		break;
	case PK_SERVER_AUTH:
		server_auth_reply(s, &p, code);
		break;
	case PK_INTERNAL:
		internal_reply(s, &p, code);
		break;
	case PK_FEAT:
		feat_reply(s, code);
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

static void
server_input(struct session *s)
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
			client_input(s);
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
	struct pending *head = pending_head(s);

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
		reply_client(s, "500 Syntax error, command unrecognized.");
		return;
	}
	for (size_t i = 0; i < s->cf->n_deny_commands; i++)
		if (ftp_command_matches(&cmd, s->cf->deny_commands[i])) {
			log_sess(LL_INFO, s->id, "denied by deny-commands: %s",
			    log_escape(line, len, esc, sizeof(esc)));
			reply_client(s, "502 Command not allowed by the gateway.");
			return;
		}
	if (!s->client_tls && s->tls != NULL &&
	    s->cf->tls.client_side == TLS_CLIENT_REQUIRED &&
	    cmd.verb != FTP_V_AUTH && cmd.verb != FTP_V_FEAT && cmd.verb != FTP_V_QUIT &&
	    cmd.verb != FTP_V_HELP && cmd.verb != FTP_V_SYST && cmd.verb != FTP_V_NOOP) {
		log_sess(LL_INFO, s->id, "%s before AUTH refused: client-side = required", cmd.name);
		reply_client(s, "530 TLS required: secure the connection with AUTH TLS first.");
		return;
	}
	if (!strict_check(s, &cmd))
		return;
	switch (cmd.verb) {
	case FTP_V_USER:
		/* Escaped once here: it goes into logs and ftpgwctl output. */
		log_escape(cmd.arg, cmd.arg_len, s->user, sizeof(s->user));
		break;
	case FTP_V_AUTH:
		/* The gateway terminates TLS on each leg so that it can still
		 * read and rewrite every command. */
		if (s->tls == NULL || s->cf->tls.client_side == TLS_CLIENT_OFF) {
			reply_client(s, "502 AUTH is not available through this gateway.");
			return;
		}
		if (s->client_tls) {
			reply_client(s, "503 The connection is already secured.");
			return;
		}
		if (!((cmd.arg_len == 3 && (strncasecmp(cmd.arg, "TLS", 3) == 0 ||
		    strncasecmp(cmd.arg, "SSL", 3) == 0)) ||
		    (cmd.arg_len == 5 && (strncasecmp(cmd.arg, "TLS-C", 5) == 0 ||
		    strncasecmp(cmd.arg, "TLS-P", 5) == 0)))) {
			reply_client(s, "504 AUTH type not supported: use AUTH TLS.");
			return;
		}
		if (!s->server_tls && s->cf->tls.server_side == TLS_SERVER_AUTO) {
			/* Secure the server leg first; answer the client then. */
			s->client_auth_waiting = true;
			pending_push(s, PK_SERVER_AUTH)->for_client = true;
			send_server(s, "AUTH TLS", 8);
			return;
		}
		client_start_tls(s);
		return;
	case FTP_V_PBSZ:
		if (!s->client_tls)
			reply_client(s, "503 PBSZ needs AUTH TLS first.");
		else
			reply_client(s, "200 PBSZ=0");
		return;
	case FTP_V_PROT:
		if (!s->client_tls)
			reply_client(s, "503 PROT needs AUTH TLS first.");
		else if (cmd.arg_len == 1 && (cmd.arg[0] == 'P' || cmd.arg[0] == 'p')) {
			s->client_prot_p = true;
			reply_client(s, "200 Protection level set to Private.");
		} else if (cmd.arg_len == 1 && (cmd.arg[0] == 'C' || cmd.arg[0] == 'c')) {
			s->client_prot_p = false;
			reply_client(s, "200 Protection level set to Clear.");
		} else if (cmd.arg_len == 1 && strchr("SsEe", cmd.arg[0]) != NULL)
			reply_client(s, "536 Protection level not supported.");
		else
			reply_client(s, "504 Unknown protection level.");
		return;
	case FTP_V_CCC:
		reply_client(s, "502 CCC is not supported.");
		return;
	case FTP_V_FEAT:
		pending_push(s, PK_FEAT);
		send_server(s, line, len);
		return;
	case FTP_V_PASV:
	case FTP_V_EPSV:
	case FTP_V_PORT:
	case FTP_V_EPRT:
		data_setup(s, &cmd);
		return;
	case FTP_V_ABOR:
		/* Closing both data ends stops the transfer on either side,
		 * whether or not the server watches for urgent data. */
		release_held(s);
		if (s->state != SS_FTP)
			return;
		drop_dc(s);
		pending_push(s, PK_ABOR);
		send_server(s, "ABOR", 4);
		return;
	default:
		break;
	}
	if (ftp_verb_is_transfer(cmd.verb)) {
		s->xfer_verb = cmd.verb;
		s->xfer_start = time(NULL);
		log_escape(cmd.arg, cmd.arg_len, s->xfer_path, sizeof(s->xfer_path));
	}
	pending_push(s, ftp_verb_is_transfer(cmd.verb) ? PK_TRANSFER : PK_PLAIN)->client_verb =
	    cmd.verb;
	send_server(s, line, len);
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
		reply_client(s, "500 Command line too long.");
		return -1;
	}
	*len = (size_t)eol.pos;
	evbuffer_remove(in, line, *len);
	evbuffer_drain(in, eol_len);
	line[*len] = '\0';
	return 1;
}

static void
client_input(struct session *s)
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
		arm_idle_timer(s);
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

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	client_input(arg);
}

static void
server_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	server_input(arg);
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bev_ssl(s->cbev);

		s->gw->stats.tls_handshakes++;
		log_sess(LL_DEBUG, s->id, "TLS with the client: %s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (s->client_tls) {
			char e[160];

			s->gw->stats.tls_failures++;
			log_sess(LL_INFO, s->id, "TLS with the client failed: %s",
			    bev_tls_error(s->cbev, e, sizeof(e)));
		}
		session_end(s, NULL, "client error");
	} else if (what & BEV_EVENT_EOF)
		session_end(s, NULL, "client closed");
}

static void
server_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	char a[ADDR_STRLEN];

	(void)bev;
	if ((what & BEV_EVENT_CONNECTED) && s->server_handshaking) {
		SSL *ssl = bev_ssl(s->sbev);

		s->server_handshaking = false;
		s->gw->stats.tls_handshakes++;
		log_sess(LL_INFO, s->id, "TLS with the server: %s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
		server_protect_data(s);
		if (s->client_auth_waiting)
			client_start_tls(s);
		client_input(s);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && s->server_tls &&
	    (s->server_handshaking || s->state == SS_CONNECTING)) {
		char e[160];

		s->gw->stats.tls_failures++;
		log_sess(LL_WARN, s->id, "TLS with the server %s failed: %s", addr_str(&s->server, a),
		    bev_tls_error(s->sbev, e, sizeof(e)));
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
		arm_idle_timer(s);
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
			    bev_tls_error(s->sbev, e, sizeof(e)));
		}
		/* Hand over what the server said last, then close; but a
		 * held reply waits for its data connection to finish. */
		server_input(s);
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

static void
arm_idle_timer(struct session *s)
{
	struct timeval tv = { .tv_sec = s->cf->idle_timeout };

	evtimer_add(s->timer, &tv);
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
			arm_idle_timer(s);   /* data flowing counts as activity */
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
	if (s->tcp_relay == NULL) {
		session_end(s, NULL, "out of memory");
		return;
	}
	s->cfd = s->sfd = -1;
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
	drop_dc(s);
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
	s->gw->stats.bytes_to_server += s->data_to_server;
	s->gw->stats.bytes_to_client += s->data_to_client;
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
static void
session_end(struct session *s, const char *reply, const char *reason)
{
	struct timeval tv = { .tv_sec = CLOSE_FLUSH_SEC };

	if (s->state == SS_CLOSING || s->state == SS_DEAD)
		return;
	s->end_reason = reason;
	drop_dc(s);
	if (s->sbev != NULL) {
		tls_close_notify(bev_ssl(s->sbev));
		bufferevent_free(s->sbev);
		s->sbev = NULL;
	}
	if (reply != NULL && s->cbev != NULL)
		reply_client(s, "%s", reply);
	if (s->cbev == NULL || evbuffer_get_length(bufferevent_get_output(s->cbev)) == 0) {
		session_finish(s);
		return;
	}
	s->state = SS_CLOSING;
	bufferevent_disable(s->cbev, EV_READ);
	bufferevent_setcb(s->cbev, NULL, close_flushed_cb, client_event_cb, s);
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
		gw->stats.refused_other++;
		return;
	}
	s->id = ++gw->next_sid;
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
		gw->stats.refused_limit++;
		session_end(s, NULL, why);
		return;
	}
	s->registered = true;
	if (find_server(s, fd, &why) == -1) {
		log_sess(LL_WARN, s->id, "client %s to %s refused: %s", addr_str(&s->client, a),
		    addr_str(&s->server, b), why);
		early_reply(fd, "421 Service not available: not redirected.\r\n");
		gw->stats.refused_loop++;
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
	bufferevent_setcb(s->cbev, client_read_cb, NULL, client_event_cb, s);
	bufferevent_setcb(s->sbev, server_read_cb, NULL, server_event_cb, s);
	bufferevent_setwatermark(s->cbev, EV_READ, 0, CLIENT_INPUT_MAX);
	bufferevent_enable(s->cbev, EV_READ);
	pending_push(s, PK_GREETING);
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

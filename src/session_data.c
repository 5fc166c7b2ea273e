/* session_data.c: a session's data connections: the client's PASV, EPSV,
 * PORT and EPRT become the gateway's own listener or connect on the client
 * side and, per server-data-mode and the two families, PASV/EPSV/PORT/EPRT
 * toward the server; the server's reply is rewritten for the client; the
 * final reply of a transfer waits until the client has every data byte. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "conf.h"
#include "data.h"
#include "log.h"
#include "session_int.h"

/* A transfer's final reply is on its way to the client: the idle time
 * starts again from here, and a file transfer gets its xferlog line
 * (listings are not file transfers). */
static void
transfer_done(struct session *s, int code)
{
	char host[ADDR_STRLEN];
	bool upload = s->xfer_verb == FTP_V_STOR || s->xfer_verb == FTP_V_STOU ||
	    s->xfer_verb == FTP_V_APPE;
	uint64_t bytes = 0;

	session_arm_idle_timer(s);
	if (s->gw->xferlog == NULL || (s->xfer_verb != FTP_V_RETR && !upload))
		return;
	if (s->dc != NULL)
		bytes = upload ? dc_bytes_to_server(s->dc) : dc_bytes_to_client(s->dc);
	else                             /* dropped already, by ABOR say */
		bytes = upload ? s->xfer_dropped_up : s->xfer_dropped_down;
	xferlog_write(s->gw->xferlog, time(NULL), (long)(time(NULL) - s->xfer_start),
	    addr_fmt_host(SA(&s->client), host, sizeof(host)), (unsigned long long)bytes,
	    s->xfer_path, upload ? 'i' : 'o', s->user, code / 100 == 2);
	s->xfer_verb = FTP_V_UNKNOWN;
}

void
session_drop_dc(struct session *s)
{
	if (s->dc == NULL)
		return;
	s->xfer_dropped_up = dc_bytes_to_server(s->dc);
	s->xfer_dropped_down = dc_bytes_to_client(s->dc);
	s->data_to_server += s->xfer_dropped_up;
	s->data_to_client += s->xfer_dropped_down;
	dc_free(s->dc);
	s->dc = NULL;
}

/* Write the held transfer reply and carry on with what waited behind it. */
void
session_release_held(struct session *s)
{
	if (s->held == NULL || evbuffer_get_length(s->held) == 0)
		return;
	transfer_done(s, s->held_code);
	session_drop_dc(s);
	log_sess(LL_DEBUG, s->id, "S> (released after the data connection)");
	bufferevent_write_buffer(s->cbev, s->held);
	if (s->server_gone) {
		session_end(s, NULL, "server closed");
		return;
	}
	session_server_input(s);
	if (s->state == SS_FTP)
		session_client_input(s);
}

static void
dc_event_cb(struct data_channel *dc, enum dc_event ev, void *arg)
{
	struct session *s = arg;
	struct pending *p = session_pending_head(s);

	(void)dc;
	if (evbuffer_get_length(s->held) > 0) {
		session_release_held(s);
		return;
	}
	/* A channel that failed before any transfer asked for it is of no
	 * more use; one a transfer is waiting on stays until its reply. */
	if (ev == DC_EV_FAILED && (p == NULL || p->kind != PK_TRANSFER))
		session_drop_dc(s);
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
		session_reply(s, "501 %s refused: data connections go only to your own address and a port above 1023.", verb);
		return false;
	}
	return true;
}

/* PASV, EPSV, PORT, EPRT from the client. */
void
session_data_setup(struct session *s, const struct ftp_command *cmd)
{
	bool client_passive = verb_is_passive(cmd->verb);
	bool client_ext = cmd->verb == FTP_V_EPSV || cmd->verb == FTP_V_EPRT;
	int cfam = s->client.ss_family, sfam = s->server.ss_family;
	bool server_passive, server_ext, tproxy = s->lc->mode == MODE_TPROXY;
	struct sockaddr_storage target, bind_host, bound;
	bool transparent;
	struct pending *p;

	if (s->epsv_all && cmd->verb != FTP_V_EPSV) {
		session_reply(s, "501 EPSV ALL is in effect: use EPSV.");
		return;
	}
	switch (cmd->verb) {
	case FTP_V_EPSV:
		switch (ftp_epsv_arg_parse(cmd->arg, cmd->arg_len)) {
		case FTP_EPSV_ALL:
			s->epsv_all = true;
			session_reply(s, "200 EPSV ALL command successful.");
			return;
		case FTP_EPSV_BAD:
			session_reply(s, "501 Bad EPSV argument.");
			return;
		case FTP_EPSV_V4:
			if (cfam != AF_INET) {
				session_reply(s, "522 Network protocol not supported, use (2)");
				return;
			}
			break;
		case FTP_EPSV_V6:
			if (cfam != AF_INET6) {
				session_reply(s, "522 Network protocol not supported, use (1)");
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
			session_reply(s, "501 Bad PORT argument.");
			return;
		}
		if (cfam != AF_INET) {
			session_reply(s, "522 Network protocol not supported, use (2)");
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
			session_reply(s, "501 Bad EPRT argument.");
			return;
		}
		addr_unmap(&target);
		if (target.ss_family != cfam) {
			session_reply(s, "522 Network protocol not supported, use (%d)",
			    cfam == AF_INET ? 1 : 2);
			return;
		}
		if (!check_active_target(s, &target, "EPRT"))
			return;
		break;
	default:
		break;
	}

	session_drop_dc(s);
	if (client_passive)
		s->gw->stats->data_passive++;
	else
		s->gw->stats->data_active++;
	s->dc = dc_new(s->gw->base, s->id, s->cf->data_timeout, dc_event_cb, s);
	if (s->dc == NULL) {
		session_reply(s, "425 Can't open data connection.");
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
			session_reply(s, "425 PASV cannot name an IPv6 address: use EPSV.");
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

	p = session_pending_push(s, PK_DATA_SETUP);
	p->client_verb = cmd->verb;
	if (server_passive) {
		struct sockaddr_storage src;

		if (tproxy) {
			src = s->client;
			addr_set_port(SA(&src), 0);
		}
		dc_connect_to(s->dc, DC_SERVER, NULL, tproxy ? SA(&src) : NULL, tproxy);
		p->server_verb = server_ext ? FTP_V_EPSV : FTP_V_PASV;
		session_send(s, server_ext ? "EPSV" : "PASV", 4);
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
		session_send(s, line, (size_t)n);
	}
	return;
fail:
	session_reply(s, "425 Can't open data connection.");
fail_quiet:
	session_drop_dc(s);
}

/* The server answered our PASV/EPSV/PORT/EPRT. */
void
session_data_setup_reply(struct session *s, const struct pending *p, int code,
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
		 * another host (NAT'd servers send private ones; a hostile
		 * one names a victim) is followed only when the listener's
		 * follow-pasv-address says so. */
		target = s->server;
		addr_set_port(SA(&target), ntohs(sin.sin_port));
		if (sin.sin_addr.s_addr != ((struct sockaddr_in *)&s->server)->sin_addr.s_addr) {
			if (s->lc->follow_pasv_address && s->server.ss_family == AF_INET) {
				memset(&target, 0, sizeof(target));
				memcpy(&target, &sin, sizeof(sin));
				log_sess(LL_INFO, s->id, "227 names %s; following it (follow-pasv-address)",
				    addr_fmt((struct sockaddr *)&sin, a, sizeof(a)));
			} else
				log_sess(LL_INFO, s->id, "227 names %s; connecting to the control peer instead",
				    addr_fmt((struct sockaddr *)&sin, a, sizeof(a)));
		}
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
		session_drop_dc(s);
		session_reply(s, "425 Can't open data connection.");
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
		session_reply(s, "%s", line);
	return;
refused:
	/* The server's own refusal says it best. */
	session_drop_dc(s);
	bufferevent_write(s->cbev, text, len);
	return;
bad:
	log_sess(LL_WARN, s->id, "malformed %d reply from the server", code);
	session_drop_dc(s);
	session_reply(s, "425 Can't open data connection: bad reply from the server.");
}

/* The final reply of RETR/STOR/...: it must not overtake the data. */
void
session_transfer_reply(struct session *s, const struct pending *p, int code)
{
	bool hold;

	s->transfers++;
	if (s->dc != NULL && dc_state(s->dc) == DC_ARMED)
		dc_poll(s->dc);              /* its connection may be queued already */
	if (s->dc == NULL) {
		transfer_done(s, code);
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
	transfer_done(s, code);
	session_drop_dc(s);
	bufferevent_write_buffer(s->cbev, s->reply);
}

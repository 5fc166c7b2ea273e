/* session_data.c: the engine's data effects. The client's PASV, EPSV,
 * PORT and EPRT become the gateway's own listener or connect on the client
 * side and, per server-data-mode and the two families, PASV/EPSV/PORT/EPRT
 * toward the server; the server's reply is rewritten for the client; the
 * engine asks whether a transfer's final reply must wait for its data. */
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

void
session_transfer_begin(void *ctx, const struct ftp_command *cmd)
{
	struct session *s = ctx;

	s->xfer_verb = cmd->verb;
	s->xfer_start = time(NULL);
	s->xfer_dropped_up = s->xfer_dropped_down = 0;
	log_escape(cmd->arg, cmd->arg_len, s->xfer_path, sizeof(s->xfer_path));
}

/* A transfer's final reply is on its way to the client: the idle time
 * starts again from here, and a file transfer gets its xferlog line
 * (listings are not file transfers). */
void
session_transfer_end(void *ctx, int code, bool ok)
{
	struct session *s = ctx;
	char host[ADDR_STRLEN];
	bool upload = s->xfer_verb == FTP_V_STOR || s->xfer_verb == FTP_V_STOU ||
	    s->xfer_verb == FTP_V_APPE;
	uint64_t bytes = 0;

	(void)code;
	s->transfers++;
	session_arm_idle_timer(s);
	if (*s->env->xferlog == NULL || (s->xfer_verb != FTP_V_RETR && !upload))
		return;
	if (s->dc != NULL)
		bytes = upload ? dc_bytes_to_server(s->dc) : dc_bytes_to_client(s->dc);
	else                             /* dropped already, by ABOR say */
		bytes = upload ? s->xfer_dropped_up : s->xfer_dropped_down;
	xferlog_write(*s->env->xferlog, time(NULL), (long)(time(NULL) - s->xfer_start),
	    addr_fmt_host(SA(&s->client), host, sizeof(host)), (unsigned long long)bytes,
	    s->xfer_path, upload ? 'i' : 'o', s->user, ok);
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

void
session_data_drop(void *ctx)
{
	session_drop_dc(ctx);
}

static void
dc_event_cb(struct data_channel *dc, enum dc_event ev, void *arg)
{
	struct session *s = arg;

	(void)dc;
	switch (ev) {
	case DC_EV_TO_CLIENT_DONE:
		session_data_event(s, EE_DATA_TO_CLIENT_DONE);
		break;
	case DC_EV_DONE:
		session_data_event(s, EE_DATA_DONE);
		break;
	case DC_EV_FAILED:
		session_data_event(s, EE_DATA_FAILED);
		break;
	}
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

/* FTP bounce (RFC 2577): data goes only to the client itself, and never
 * to a privileged port. */
static bool
check_active_target(struct session *s, const struct sockaddr_storage *target,
    const char *verb, struct engine_data_req *req)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	if (!addr_equal_host(SA(target), SA(&s->client)) || addr_port(SA(target)) < 1024) {
		log_sess(LL_WARN, s->id, "%s to %s refused: client is %s", verb,
		    addr_str(target, a), addr_fmt_host(SA(&s->client), b, sizeof(b)));
		snprintf(req->reply, sizeof(req->reply),
		    "501 %s refused: data connections go only to your own address and a port above 1023.", verb);
		return false;
	}
	return true;
}

#define REFUSE(...) do { snprintf(req->reply, sizeof(req->reply), __VA_ARGS__); return -1; } while (0)

/* The client's target of PORT/EPRT, checked; 0 or -1 with REQ->reply. */
static int
active_target(struct session *s, const struct ftp_command *cmd,
    struct sockaddr_storage *target, struct engine_data_req *req)
{
	int cfam = s->client.ss_family;

	if (cmd->verb == FTP_V_PORT) {
		struct sockaddr_in sin;

		if (ftp_port_arg_decode(cmd->arg, cmd->arg_len, &sin) == -1)
			REFUSE("501 Bad PORT argument.");
		if (cfam != AF_INET)
			REFUSE("522 Network protocol not supported, use (2)");
		memset(target, 0, sizeof(*target));
		memcpy(target, &sin, sizeof(sin));
	} else {
		if (ftp_eprt_arg_decode(cmd->arg, cmd->arg_len, target) == -1)
			REFUSE("501 Bad EPRT argument.");
		addr_unmap(target);
		if (target->ss_family != cfam)
			REFUSE("522 Network protocol not supported, use (%d)", cfam == AF_INET ? 1 : 2);
	}
	return check_active_target(s, target, ftp_verb_name(cmd->verb), req) ? 0 : -1;
}

/* The engine's data_open: PASV, EPSV, PORT, EPRT from the client. */
int
session_data_open(void *ctx, const struct ftp_command *cmd, struct engine_data_req *req)
{
	struct session *s = ctx;
	bool client_passive = verb_is_passive(cmd->verb);
	bool client_ext = cmd->verb == FTP_V_EPSV || cmd->verb == FTP_V_EPRT;
	int cfam = s->client.ss_family, sfam = s->server.ss_family;
	bool server_passive, server_ext, tproxy = s->lc->mode == MODE_TPROXY;
	struct sockaddr_storage target, bind_host, bound;
	bool transparent;
	int n;

	if (cmd->verb == FTP_V_EPSV) {
		switch (ftp_epsv_arg_parse(cmd->arg, cmd->arg_len)) {
		case FTP_EPSV_V4:
			if (cfam != AF_INET)
				REFUSE("522 Network protocol not supported, use (2)");
			break;
		case FTP_EPSV_V6:
			if (cfam != AF_INET6)
				REFUSE("522 Network protocol not supported, use (1)");
			break;
		default:                     /* ALL and bad ones are the engine's */
			break;
		}
	} else if (!client_passive && active_target(s, cmd, &target, req) == -1)
		return -1;

	session_drop_dc(s);
	if (client_passive)
		s->env->stats->data_passive++;
	else
		s->env->stats->data_active++;
	s->dc = dc_new(s->env->base, s->id, s->cf->data_timeout, dc_event_cb, s);
	if (s->dc == NULL)
		REFUSE("425 Can't open data connection.");
	if (engine_client_prot_p(s->eng))
		dc_set_tls(s->dc, DC_CLIENT, s->tls, NULL, SA(&s->server));
	if (engine_server_prot_p(s->eng))
		dc_set_tls(s->dc, DC_SERVER, s->tls, &s->ticket, SA(&s->server));

	/* The client's end. */
	if (client_passive) {
		plan_client_listener(s, &bind_host, &transparent, &s->advertise);
		if (cmd->verb == FTP_V_PASV && s->advertise.ss_family != AF_INET) {
			snprintf(req->reply, sizeof(req->reply), "425 PASV cannot name an IPv6 address: use EPSV.");
			goto fail;
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

	if (server_passive) {
		struct sockaddr_storage src;

		if (tproxy) {
			src = s->client;
			addr_set_port(SA(&src), 0);
		}
		dc_connect_to(s->dc, DC_SERVER, NULL, tproxy ? SA(&src) : NULL, tproxy);
		req->server_verb = server_ext ? FTP_V_EPSV : FTP_V_PASV;
		n = snprintf(req->line, sizeof(req->line), "%s", server_ext ? "EPSV" : "PASV");
	} else {
		/* tproxy: the server sees its client's address in PORT. */
		bind_host = tproxy ? s->client : s->server_local;
		if (dc_listen(s->dc, DC_SERVER, SA(&bind_host), tproxy, s->pool,
		    SA(&s->server), &bound) == -1)
			goto fail;
		req->server_verb = server_ext ? FTP_V_EPRT : FTP_V_PORT;
		n = server_ext ? ftp_eprt_format(req->line, sizeof(req->line), SA(&bound)) :
		    ftp_port_format(req->line, sizeof(req->line), (struct sockaddr_in *)&bound);
	}
	if (n <= 0 || (size_t)n >= sizeof(req->line))
		goto fail;
	req->len = (size_t)n;
	return 0;
fail:
	if (req->reply[0] == '\0')
		snprintf(req->reply, sizeof(req->reply), "425 Can't open data connection.");
	session_drop_dc(s);
	return -1;
}

#undef REFUSE

/* The engine's data_reply: the server answered our PASV/EPSV/PORT/EPRT. */
size_t
session_data_reply(void *ctx, enum ftp_verb client_verb, enum ftp_verb server_verb,
    int code, const char *text, size_t len, char *line, size_t size)
{
	struct session *s = ctx;
	struct sockaddr_storage target;
	int n = -1;

	if (s->dc == NULL) {
		/* Dropped meanwhile (ABOR, the data timeout): a refusal is the
		 * server's to give, but its address never reaches the client. */
		if (code / 100 != 2)
			return 0;
		n = snprintf(line, size, "425 Can't open data connection.");
		return n > 0 && (size_t)n < size ? (size_t)n : 0;
	}
	switch (server_verb) {
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
		n = snprintf(line, size, "425 Can't open data connection.");
		return n > 0 && (size_t)n < size ? (size_t)n : 0;
	}
	switch (client_verb) {
	case FTP_V_PASV:
		n = ftp_227_format(line, size, (struct sockaddr_in *)&s->advertise);
		break;
	case FTP_V_EPSV:
		n = ftp_229_format(line, size, addr_port(SA(&s->advertise)));
		break;
	case FTP_V_PORT:
		n = snprintf(line, size, "200 PORT command successful.");
		break;
	default:
		n = snprintf(line, size, "200 EPRT command successful.");
		break;
	}
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
refused:
	/* The server's own refusal says it best. */
	session_drop_dc(s);
	return 0;
bad:
	log_sess(LL_WARN, s->id, "malformed %d reply from the server", code);
	session_drop_dc(s);
	n = snprintf(line, size, "425 Can't open data connection: bad reply from the server.");
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* The engine's data_pending: the final reply of RETR/STOR/... must not
 * overtake the data. */
bool
session_data_pending(void *ctx, bool seen_1xx, int code)
{
	struct session *s = ctx;

	if (s->dc != NULL && dc_state(s->dc) == DC_ARMED)
		dc_poll(s->dc);              /* its connection may be queued already */
	if (s->dc == NULL)
		return false;
	switch (dc_state(s->dc)) {
	case DC_ARMED:                        /* nobody connected: nothing to wait for */
	case DC_DONE:
		return false;
	default:
		/* A refusal without a preliminary reply means no transfer ran. */
		return (seen_1xx || code / 100 == 2) && !dc_to_client_done(s->dc);
	}
}

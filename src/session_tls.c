/* session_tls.c: TLS on a session's control legs. Each leg negotiates
 * with the gateway on its own (client-side, server-side); the gateway
 * terminates both, so it still reads and rewrites every command. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "session_int.h"

/* Why TLS on BEV failed, for the log: a certificate verdict, OpenSSL's
 * error, or the socket's. */
const char *
session_tls_error(struct bufferevent *bev, char *buf, size_t size)
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
void
session_tls_protect_server_data(struct session *s)
{
	session_pending_push(s, PK_INTERNAL)->server_verb = FTP_V_PBSZ;
	session_send(s, "PBSZ 0", 6);
	session_pending_push(s, PK_INTERNAL)->server_verb = FTP_V_PROT;
	session_send(s, "PROT P", 6);
}

/* The server said 234: run TLS over the server connection. Nothing else
 * goes to the server until the handshake is done. */
void
session_tls_start_server(struct session *s)
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
	bufferevent_setcb(bev, session_server_read_cb, NULL, session_server_event_cb, s);
	bufferevent_enable(bev, EV_READ);
	s->server_tls = true;
	s->server_handshaking = true;
}

/* Answer the client's AUTH and run TLS over its connection. The 234 is
 * already in the plain connection's output when the TLS filter goes on
 * top, so it leaves first (freeing the plain bufferevent instead would
 * discard it). */
void
session_tls_start_client(struct session *s)
{
	SSL *ssl = tls_ssl_for_client(s->tls);
	struct bufferevent *bev = NULL;

	s->client_auth_waiting = false;
	if (ssl == NULL) {
		session_reply(s, "431 Unable to negotiate TLS.");
		return;
	}
	session_reply(s, "234 AUTH TLS successful.");
	bev = bufferevent_openssl_filter_new(s->gw->base, s->cbev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		session_end(s, NULL, "tls setup");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	s->cbev = bev;
	bufferevent_setcb(bev, session_client_read_cb, NULL, session_client_event_cb, s);
	bufferevent_setwatermark(bev, EV_READ, 0, CLIENT_INPUT_MAX);
	bufferevent_enable(bev, EV_READ);
	s->client_tls = true;
}

void
session_tls_auth_reply(struct session *s, const struct pending *p, int code)
{
	if (code == 234) {
		session_tls_start_server(s);
		return;
	}
	if (p->for_client) {
		/* server-side = auto: the legs are independent; this one
		 * stays as the server wants it, and the log says so. */
		log_sess(LL_WARN, s->id, "the server refused AUTH TLS (%d): its leg stays in plaintext", code);
		session_tls_start_client(s);
		return;
	}
	log_sess(LL_WARN, s->id, "the server refused AUTH TLS (%d), which server-side = required needs", code);
	session_end(s, "421 Service not available: the server does not accept TLS, which this gateway requires toward it.",
	    "server refused TLS");
}

void
session_tls_internal_reply(struct session *s, const struct pending *p, int code)
{
	if (p->server_verb != FTP_V_PROT)
		return;
	s->server_prot_p = code / 100 == 2;
	if (!s->server_prot_p)
		log_sess(LL_WARN, s->id, "the server refused PROT P (%d): its data connections stay in plaintext", code);
}

/* FEAT: the gateway, not the server, decides whether AUTH/PBSZ/PROT are on
 * offer to the client. */
void
session_tls_feat_reply(struct session *s, int code)
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
	/* Lines end with CRLF (session_server_input normalised them). */
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

/* AUTH, PBSZ, PROT and CCC are the gateway's to answer, per leg; with
 * client-side = required, nothing but AUTH and a few harmless commands
 * passes before the client's leg is secured. True when CMD was answered. */
bool
session_tls_command(struct session *s, const struct ftp_command *cmd)
{
	if (!s->client_tls && s->tls != NULL &&
	    s->cf->tls.client_side == TLS_CLIENT_REQUIRED &&
	    cmd->verb != FTP_V_AUTH && cmd->verb != FTP_V_FEAT && cmd->verb != FTP_V_QUIT &&
	    cmd->verb != FTP_V_HELP && cmd->verb != FTP_V_SYST && cmd->verb != FTP_V_NOOP) {
		log_sess(LL_INFO, s->id, "%s before AUTH refused: client-side = required", cmd->name);
		session_reply(s, "530 TLS required: secure the connection with AUTH TLS first.");
		return true;
	}
	switch (cmd->verb) {
	case FTP_V_AUTH:
		/* The gateway terminates TLS on each leg so that it can still
		 * read and rewrite every command. */
		if (s->tls == NULL || s->cf->tls.client_side == TLS_CLIENT_OFF) {
			session_reply(s, "502 AUTH is not available through this gateway.");
			return true;
		}
		if (s->client_tls) {
			session_reply(s, "503 The connection is already secured.");
			return true;
		}
		if (!((cmd->arg_len == 3 && (strncasecmp(cmd->arg, "TLS", 3) == 0 ||
		    strncasecmp(cmd->arg, "SSL", 3) == 0)) ||
		    (cmd->arg_len == 5 && (strncasecmp(cmd->arg, "TLS-C", 5) == 0 ||
		    strncasecmp(cmd->arg, "TLS-P", 5) == 0)))) {
			session_reply(s, "504 AUTH type not supported: use AUTH TLS.");
			return true;
		}
		if (!s->server_tls && s->cf->tls.server_side == TLS_SERVER_AUTO) {
			/* Secure the server leg first; answer the client then. */
			s->client_auth_waiting = true;
			session_pending_push(s, PK_SERVER_AUTH)->for_client = true;
			session_send(s, "AUTH TLS", 8);
			return true;
		}
		session_tls_start_client(s);
		return true;
	case FTP_V_PBSZ:
		if (!s->client_tls)
			session_reply(s, "503 PBSZ needs AUTH TLS first.");
		else
			session_reply(s, "200 PBSZ=0");
		return true;
	case FTP_V_PROT:
		if (!s->client_tls)
			session_reply(s, "503 PROT needs AUTH TLS first.");
		else if (cmd->arg_len == 1 && (cmd->arg[0] == 'P' || cmd->arg[0] == 'p')) {
			s->client_prot_p = true;
			session_reply(s, "200 Protection level set to Private.");
		} else if (cmd->arg_len == 1 && (cmd->arg[0] == 'C' || cmd->arg[0] == 'c')) {
			s->client_prot_p = false;
			session_reply(s, "200 Protection level set to Clear.");
		} else if (cmd->arg_len == 1 && strchr("SsEe", cmd->arg[0]) != NULL)
			session_reply(s, "536 Protection level not supported.");
		else
			session_reply(s, "504 Unknown protection level.");
		return true;
	case FTP_V_CCC:
		session_reply(s, "502 CCC is not supported.");
		return true;
	default:
		return false;
	}
}

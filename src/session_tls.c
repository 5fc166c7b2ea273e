/* session_tls.c: the engine's TLS effects: TLS over a session's control
 * legs. Each leg negotiates with the gateway on its own (client-side,
 * server-side); the gateway terminates both, so it still reads and
 * rewrites every command. The policy (AUTH, PBSZ, PROT) is the engine's. */
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

/* The engine's tls_server: the server said 234; run TLS over the server
 * connection. The engine sends nothing to the server until the handshake
 * is done. */
void
session_tls_start_server(void *ctx)
{
	struct session *s = ctx;
	SSL *ssl = tls_ssl_for_server(s->tls, &s->ticket, SA(&s->server));
	struct bufferevent *bev = NULL;

	session_reader_to_bev(s, false);
	if (ssl != NULL)
		bev = bufferevent_openssl_filter_new(s->env->base, s->sbev, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		session_fail(s, "421 Could not secure the connection to the server.", "tls setup");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	s->sbev = bev;                   /* it owns the plain one now */
	session_watch_server(s, bev);
	bufferevent_enable(bev, EV_READ);
}

/* The engine's tls_client: its 234 is already in the plain connection's
 * output when the TLS filter goes on top, so it leaves first (freeing the
 * plain bufferevent instead would discard it). */
void
session_tls_start_client(void *ctx)
{
	struct session *s = ctx;
	SSL *ssl = tls_ssl_for_client(s->tls, &s->ticket);
	struct bufferevent *bev = NULL;

	session_reader_to_bev(s, true);
	if (ssl != NULL)
		bev = bufferevent_openssl_filter_new(s->env->base, s->cbev, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		session_fail(s, NULL, "tls setup");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	s->cbev = bev;
	session_watch_client(s, bev);
	bufferevent_enable(bev, EV_READ);
}

/* tls.c: see tls.h. */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "addr.h"
#include "conf.h"
#include "tls.h"

struct tls_engine {
	atomic_uint refs;
	SSL_CTX *accept_ctx;         /* toward clients; NULL: no certificate */
	SSL_CTX *connect_ctx;        /* toward servers */
	bool verify_server;
};

/* The ex_data slot of every server-leg SSL: its FTP session's ticket. */
static int ticket_index = -1;

static const char *
ssl_errors(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, size, "%s", errno ? strerror(errno) : "unknown error");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/* A new ticket from a server: it replaces the slot's (TLS 1.3 tickets are
 * single-use; the newest is the one to resume). */
static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_ticket *slot = SSL_get_ex_data(ssl, ticket_index);

	if (slot == NULL)
		return 0;
	if (slot->newest != NULL)
		SSL_SESSION_free(slot->newest);
	slot->newest = sess;
	return 1;                    /* we keep the reference */
}

static bool
apply_common(SSL_CTX *ctx, const struct tls_conf *tc, const char *conf_path, FILE *err)
{
	char e[256];

	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!SSL_CTX_set_min_proto_version(ctx, tc->min_version)) {
		fprintf(err, "%s: tls: min-version not supported: %s\n", conf_path,
		    ssl_errors(e, sizeof(e)));
		return false;
	}
	if (tc->ciphers != NULL && tc->ciphers[0] != '\0' &&
	    !SSL_CTX_set_cipher_list(ctx, tc->ciphers)) {
		fprintf(err, "%s: tls: ciphers \"%s\": no usable cipher: %s\n", conf_path,
		    tc->ciphers, ssl_errors(e, sizeof(e)));
		return false;
	}
	if (tc->ciphersuites != NULL && tc->ciphersuites[0] != '\0' &&
	    !SSL_CTX_set_ciphersuites(ctx, tc->ciphersuites)) {
		fprintf(err, "%s: tls: ciphersuites \"%s\": not a TLS 1.3 suite list: %s\n",
		    conf_path, tc->ciphersuites, ssl_errors(e, sizeof(e)));
		return false;
	}
	return true;
}

/* Toward clients: our certificate and key, checked to match, naming the
 * file at fault. */
static bool
load_identity(SSL_CTX *ctx, const struct tls_conf *tc, const char *conf_path, FILE *err)
{
	const char *key = tc->key != NULL && tc->key[0] != '\0' ? tc->key : tc->certificate;
	char e[256];
	FILE *probe;

	if ((probe = fopen(tc->certificate, "r")) == NULL) {
		fprintf(err, "%s: tls: certificate %s: %s\n", conf_path, tc->certificate,
		    strerror(errno));
		return false;
	}
	fclose(probe);
	if ((probe = fopen(key, "r")) == NULL) {
		fprintf(err, "%s: tls: key %s: %s\n", conf_path, key, strerror(errno));
		return false;
	}
	fclose(probe);
	if (SSL_CTX_use_certificate_chain_file(ctx, tc->certificate) != 1) {
		fprintf(err, "%s: tls: certificate %s: not a PEM certificate: %s\n", conf_path,
		    tc->certificate, ssl_errors(e, sizeof(e)));
		return false;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH) {
			fprintf(err, "%s: tls: key %s does not match certificate %s\n",
			    conf_path, key, tc->certificate);
			ERR_clear_error();
		} else
			fprintf(err, "%s: tls: key %s: not a PEM private key: %s\n", conf_path,
			    key, ssl_errors(e, sizeof(e)));
		return false;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		fprintf(err, "%s: tls: key %s does not match certificate %s\n", conf_path,
		    key, tc->certificate);
		ERR_clear_error();
		return false;
	}
	/* Data connections resume their control connection's session
	 * (tls.h); each SSL sets its FTP session's own id context. */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"ftpgw", 5);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	return true;
}

struct tls_engine *
tls_engine_new(const struct tls_conf *tc, const char *conf_path, FILE *err)
{
	struct tls_engine *en;
	char e[256];

	if (ticket_index == -1)
		ticket_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if ((en = calloc(1, sizeof(*en))) == NULL) {
		fprintf(err, "%s: tls: out of memory\n", conf_path);
		return NULL;
	}
	atomic_init(&en->refs, 1);
	en->verify_server = tc->verify_server;
	if (tc->toward_clients)
		en->accept_ctx = SSL_CTX_new(TLS_server_method());
	en->connect_ctx = SSL_CTX_new(TLS_client_method());
	if ((tc->toward_clients && en->accept_ctx == NULL) || en->connect_ctx == NULL) {
		fprintf(err, "%s: tls: %s\n", conf_path, ssl_errors(e, sizeof(e)));
		goto fail;
	}
	if ((en->accept_ctx != NULL && (!apply_common(en->accept_ctx, tc, conf_path, err) ||
	    !load_identity(en->accept_ctx, tc, conf_path, err))) ||
	    !apply_common(en->connect_ctx, tc, conf_path, err))
		goto fail;

	/* Toward servers: keep the tickets ourselves, per FTP session. */
	SSL_CTX_set_session_cache_mode(en->connect_ctx,
	    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(en->connect_ctx, new_session_cb);
	if (tc->verify_server) {
		if (SSL_CTX_load_verify_locations(en->connect_ctx, tc->ca_file, NULL) != 1) {
			fprintf(err, "%s: tls: ca-file %s: %s\n", conf_path, tc->ca_file,
			    ssl_errors(e, sizeof(e)));
			goto fail;
		}
		SSL_CTX_set_verify(en->connect_ctx, SSL_VERIFY_PEER, NULL);
	} else
		SSL_CTX_set_verify(en->connect_ctx, SSL_VERIFY_NONE, NULL);
	return en;
fail:
	tls_engine_unref(en);
	return NULL;
}

struct tls_engine *
tls_engine_ref(struct tls_engine *en)
{
	if (en != NULL)
		atomic_fetch_add(&en->refs, 1);
	return en;
}

void
tls_engine_unref(struct tls_engine *en)
{
	if (en == NULL || atomic_fetch_sub(&en->refs, 1) != 1)
		return;
	SSL_CTX_free(en->accept_ctx);          /* NULL is fine */
	SSL_CTX_free(en->connect_ctx);
	free(en);
}

int
tls_ticket_init(struct tls_ticket *slot)
{
	slot->newest = NULL;
	return RAND_bytes(slot->client_sid_ctx, sizeof(slot->client_sid_ctx)) == 1 ? 0 : -1;
}

bool
tls_engine_serves_clients(const struct tls_engine *en)
{
	return en != NULL && en->accept_ctx != NULL;
}

SSL *
tls_ssl_for_client(struct tls_engine *en, const struct tls_ticket *slot)
{
	SSL *ssl;

	if (en->accept_ctx == NULL || (ssl = SSL_new(en->accept_ctx)) == NULL)
		return NULL;
	if (SSL_set_session_id_context(ssl, slot->client_sid_ctx,
	    sizeof(slot->client_sid_ctx)) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

bool
tls_resumed(SSL *ssl)
{
	return SSL_session_reused(ssl) == 1;
}

SSL *
tls_ssl_for_server(struct tls_engine *en, struct tls_ticket *slot,
    const struct sockaddr *server)
{
	SSL *ssl = SSL_new(en->connect_ctx);
	char host[ADDR_STRLEN];

	if (ssl == NULL)
		return NULL;
	SSL_set_ex_data(ssl, ticket_index, slot);
	if (slot != NULL && slot->newest != NULL)
		SSL_set_session(ssl, slot->newest);
	if (en->verify_server) {
		/* Servers are reached by address: the certificate must name
		 * that address (an IP subjectAltName). */
		addr_fmt_host(server, host, sizeof(host));
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1) {
			SSL_free(ssl);
			return NULL;
		}
	}
	return ssl;
}

void
tls_ssl_forget_slot(SSL *ssl)
{
	SSL_set_ex_data(ssl, ticket_index, NULL);
}

void
tls_ticket_clear(struct tls_ticket *slot)
{
	if (slot->newest != NULL)
		SSL_SESSION_free(slot->newest);
	slot->newest = NULL;
}

void
tls_close_notify(SSL *ssl)
{
	if (ssl == NULL)
		return;
	if (SSL_is_init_finished(ssl) && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN)) {
		if (SSL_shutdown(ssl) < 0) {
			/* Could not send it (socket gone): shut quietly so the
			 * session is not thrown away with the connection. */
			SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		}
	} else if (!SSL_is_init_finished(ssl))
		return;
	ERR_clear_error();
}

void
tls_close_quietly(SSL *ssl)
{
	if (ssl == NULL)
		return;
	/* Marked as if both close_notify had gone: nothing is sent, and
	 * SSL_free() does not take the session for a broken one. */
	SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	ERR_clear_error();
}

bool
tls_peer_closed_cleanly(SSL *ssl)
{
	return (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0;
}

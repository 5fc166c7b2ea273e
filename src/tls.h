/* tls.h: the OpenSSL side of the gateway: one engine per configuration
 * snapshot, holding the context the gateway presents to clients (it is their
 * server) and the one it uses toward servers (it is their client).
 *
 * Data-channel session reuse: servers such as vsftpd (require_ssl_reuse)
 * accept a data connection only if its TLS session resumes the control
 * connection's. Under TLS 1.3 a session is a ticket sent after the handshake,
 * usable once. So every SSL toward a server carries a pointer to its FTP
 * session's ticket slot; each ticket the server sends (on the control
 * connection or on a data connection) replaces the slot's, and each new data
 * connection resumes the newest one. */
#ifndef FTPGW_TLS_H
#define FTPGW_TLS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

struct tls_conf;
struct tls_engine;

struct tls_ticket {
	SSL_SESSION *newest;         /* owned; NULL until the server sends one */
};

/* Load certificate, key and CA file; check that they match. On failure
 * print "CONF: tls: ..." lines naming the file at fault to ERR, return NULL. */
struct tls_engine *tls_engine_new(const struct tls_conf *tc, const char *conf_path, FILE *err);
struct tls_engine *tls_engine_ref(struct tls_engine *e);
void tls_engine_unref(struct tls_engine *e);

/* An SSL for a client leg (the gateway accepts). NULL on failure. */
SSL *tls_ssl_for_client(struct tls_engine *e);
/* An SSL for a server leg: resumes SLOT's newest ticket if any, feeds new
 * tickets into SLOT, checks the certificate against SERVER's address when
 * verify-server is on. NULL on failure. */
SSL *tls_ssl_for_server(struct tls_engine *e, struct tls_ticket *slot,
    const struct sockaddr *server);
/* Detach SSL from its slot (the slot dies before the SSL, say). */
void tls_ssl_forget_slot(SSL *ssl);
void tls_ticket_clear(struct tls_ticket *slot);

/* End a TLS connection so that its session stays resumable: send
 * close_notify if the connection is still up, else mark it shut quietly. */
void tls_close_notify(SSL *ssl);

#endif

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
 * connection resumes the newest one.
 *
 * Toward clients it is the other way round (require-session-reuse): a data
 * connection must resume the TLS session of its own FTP session's control
 * connection, so that nobody else can take over a passive port. Every
 * client-leg SSL of an FTP session carries that session's random session
 * id context, and OpenSSL resumes only a session made under the same one. */
#ifndef FTPGW_TLS_H
#define FTPGW_TLS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

struct tls_conf;
struct tls_engine;

/* An FTP session's TLS memory, shared by its control and data legs. */
struct tls_ticket {
	SSL_SESSION *newest;         /* owned; NULL until the server sends one */
	unsigned char client_sid_ctx[16];    /* tls_ticket_init() */
};


/* Load certificate, key and CA file; check that they match. On failure
 * print "CONF: tls: ..." lines naming the file at fault to ERR, return NULL. */
struct tls_engine *tls_engine_new(const struct tls_conf *tc, const char *conf_path, FILE *err);
struct tls_engine *tls_engine_ref(struct tls_engine *e);
void tls_engine_unref(struct tls_engine *e);

/* Make SLOT empty, with a fresh random client session id context.
 * -1 when no random bytes could be had. */
int tls_ticket_init(struct tls_ticket *slot);

/* Whether E can serve clients (it has a certificate). */
bool tls_engine_serves_clients(const struct tls_engine *e);
/* An SSL for a client leg (the gateway accepts) of the FTP session whose
 * memory is SLOT. NULL on failure, or when E does not serve clients. */
SSL *tls_ssl_for_client(struct tls_engine *e, const struct tls_ticket *slot);
/* Did the client-leg SSL resume a session (of its FTP session: see above)? */
bool tls_resumed(SSL *ssl);
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
/* End it without close_notify, as a connection cut short must (its peer
 * must not take what it got for the whole), keeping the session
 * resumable. */
void tls_close_quietly(SSL *ssl);
/* Did the peer end with close_notify? False for a bare TCP FIN. */
bool tls_peer_closed_cleanly(SSL *ssl);

#endif

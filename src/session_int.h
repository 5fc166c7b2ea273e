/* session_int.h: the inside of a session, shared by the files that make
 * up the session module and by nothing else:
 *   session.c       life and death, commands, replies, the state machine
 *   session_data.c  PASV/EPSV/PORT/EPRT, data channels, transfer replies
 *   session_tls.c   AUTH TLS on each leg, PBSZ/PROT toward the server, FEAT */
#ifndef FTPGW_SESSION_INT_H
#define FTPGW_SESSION_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "addr.h"
#include "ftp_proto.h"
#include "gateway.h"
#include "portmap.h"
#include "tls.h"

#define PENDING_MAX        16
/* Client input waiting to be processed is capped here (read watermark). */
#define CLIENT_INPUT_MAX   (64 * 1024)

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
	/* The file transfer under way, for the transfer log. */
	enum ftp_verb xfer_verb;
	char xfer_path[256];
	time_t xfer_start;
	uint64_t xfer_dropped_up, xfer_dropped_down;  /* the last channel's bytes */
	/* Login as the replies tell it, for the strict state machine. */
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

#define SA(ss) ((struct sockaddr *)(ss))

static inline const char *
addr_str(const struct sockaddr_storage *ss, char *buf)
{
	return addr_fmt((const struct sockaddr *)ss, buf, ADDR_STRLEN);
}

static inline SSL *
bev_ssl(struct bufferevent *bev)
{
	return bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
}

/* session.c */
void session_end(struct session *s, const char *reply, const char *reason);
/* Idle time counts from now (a command, the end of a transfer). */
void session_arm_idle_timer(struct session *s);
/* A reply the gateway itself gives the client. */
void session_reply(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A command line (no CRLF) to the server. */
void session_send(struct session *s, const char *line, size_t len);
struct pending *session_pending_head(struct session *s);
struct pending *session_pending_push(struct session *s, enum pending_kind kind);
void session_client_input(struct session *s);
void session_server_input(struct session *s);
void session_client_read_cb(struct bufferevent *bev, void *arg);
void session_client_event_cb(struct bufferevent *bev, short what, void *arg);
void session_server_read_cb(struct bufferevent *bev, void *arg);
void session_server_event_cb(struct bufferevent *bev, short what, void *arg);

/* session_data.c */
void session_data_setup(struct session *s, const struct ftp_command *cmd);
void session_data_setup_reply(struct session *s, const struct pending *p, int code,
    const char *text, size_t len);
/* The final reply of RETR/STOR/...: held until the data has gone. */
void session_transfer_reply(struct session *s, const struct pending *p, int code);
void session_release_held(struct session *s);
void session_drop_dc(struct session *s);

/* session_tls.c */
bool session_tls_command(struct session *s, const struct ftp_command *cmd);
const char *session_tls_error(struct bufferevent *bev, char *buf, size_t size);
void session_tls_protect_server_data(struct session *s);
void session_tls_start_server(struct session *s);
void session_tls_start_client(struct session *s);
void session_tls_auth_reply(struct session *s, const struct pending *p, int code);
void session_tls_internal_reply(struct session *s, const struct pending *p, int code);
void session_tls_feat_reply(struct session *s, int code);

#endif

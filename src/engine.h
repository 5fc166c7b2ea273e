/* engine.h: the FTP dialogue of one session as pure code (sans-I/O): no
 * sockets, no event loop. The session (session.c) turns socket I/O into
 * events for engine_event(), the one driver that owns every transition; the
 * engine answers through the effects in struct engine_ops, which the
 * session carries out (write bytes, open a data channel, start TLS, close).
 * Unit tests and the stateful fuzzer drive it with fake effects.
 *
 * What the engine owns: the session's phase, the FIFO of commands waiting
 * for their replies (which pairs every server reply with its command), the
 * reply being read (multi-line aware), the final reply of a transfer held
 * until the data has reached the client, the one client line that waits
 * behind a command, the login as the replies tell it, strict mode, the
 * deny-commands and allow-commands lists, the TLS verbs (AUTH, PBSZ, PROT,
 * CCC) and FEAT.
 *
 * Bounds: a command or reply line is at most FTP_LINE_MAX bytes (the caller
 * cuts lines); a collected reply (FEAT, data setup, a transfer's final
 * reply) at most ENGINE_REPLY_MAX bytes, else the session closes with 421;
 * at most ENGINE_PENDING_MAX commands outstanding; at most one client line
 * waiting. engine_wants_client_line() and engine_wants_server_line() tell
 * the caller when to stop reading a peer (backpressure). */
#ifndef FTPGW_ENGINE_H
#define FTPGW_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftp_proto.h"
#include "rules.h"

#define ENGINE_PENDING_MAX   8
#define ENGINE_REPLY_MAX     (64 * 1024)
/* engine_buffered() never exceeds this: a reply being read, a held one,
 * a waiting client line. */
#define ENGINE_BUFFERED_MAX  (2 * ENGINE_REPLY_MAX + FTP_LINE_MAX + 1)

/* The phase of a session. */
enum engine_phase {
	EP_PROXY_LOGIN,     /* proxy mode: no server yet; waiting for USER user@host */
	EP_CONNECTING,      /* the server connection is being opened */
	EP_GREETING,        /* waiting for the server's 220 */
	EP_SERVER_AUTH,     /* our AUTH TLS to the server waits for its reply */
	EP_SERVER_TLS,      /* the server leg's TLS handshake runs */
	EP_CLIENT_TLS,      /* 234 sent: the client leg's TLS handshake runs */
	EP_LOGIN,           /* commands flow; not logged in */
	EP_READY,           /* logged in */
	EP_TRANSFER,        /* a transfer command waits for its final reply */
	EP_HELD,            /* its final reply waits for the data to reach the client */
	EP_CLOSING,         /* the last reply is on its way; nothing more is read */
	EP_CLOSED,
	EP_COUNT
};
const char *engine_phase_name(enum engine_phase phase);   /* "login", "held", ... */

/* What a queued command is, for the pairing of replies. */
enum engine_pending {
	EK_GREETING,        /* the server's 220 */
	EK_PLAIN,           /* passed through untouched */
	EK_DATA_SETUP,      /* PASV/EPSV/PORT/EPRT: the reply is rewritten */
	EK_TRANSFER,        /* RETR/STOR/...: the final reply waits for the data */
	EK_ABOR,
	EK_FENCE,           /* our NOOP after an ABOR during a transfer: see engine.c */
	EK_FEAT,            /* the feature list is adjusted to what the gateway offers */
	EK_SERVER_AUTH,     /* our AUTH TLS toward the server */
	EK_INTERNAL,        /* our PBSZ/PROT toward the server */
};

/* Events. */
enum engine_ev {
	EE_SERVER_CONNECTED,    /* TCP (and implicit TLS) up toward the server */
	EE_SERVER_TLS_UP,       /* the server leg's AUTH TLS handshake finished */
	EE_CLIENT_TLS_UP,       /* the client leg's handshake finished */
	EE_CLIENT_LINE,         /* one line from the client, CRLF removed */
	EE_SERVER_LINE,         /* one line from the server, CRLF removed */
	EE_CLIENT_LINE_TOO_LONG,/* the caller dropped an overlong client line */
	EE_SERVER_LINE_TOO_LONG,
	EE_DATA_TO_CLIENT_DONE, /* every data byte for the client is written */
	EE_DATA_DONE,           /* the data channel ended cleanly both ways */
	EE_DATA_FAILED,         /* the data channel failed (timeout, reset, stall) */
	EE_SERVER_CLOSED,       /* EOF or error on the server's control connection */
	EE_CLIENT_CLOSED,
	EE_TIMEOUT,             /* the connect or idle timer fired while no data
	                         * moves (the caller re-arms it while data does) */
	EE_SHUTDOWN,            /* the session must end: TEXT (a C string,
	                         * or NULL) is the client's last line */
	EE_PROXY_GREET,         /* proxy mode: the client's connection is set
	                         * up; the gateway greets it itself */
};

struct engine_event {
	enum engine_ev type;
	const char *text;       /* LINE events: the line (not NUL-terminated) */
	size_t len;
};

/* A data setup request, filled by the data_open effect. */
struct engine_data_req {
	enum ftp_verb server_verb;        /* what goes to the server: PASV EPSV PORT EPRT */
	char line[128];                   /* the command line for the server, no CRLF */
	size_t len;
	char reply[160];                  /* when refused: the client's reply, no CRLF */
};

/* The effects the engine asks for, each called with the CTX given to
 * engine_new(). The table is the caller's and outlives the engine. Every effect
 * may be called from inside engine_event(); none may feed an event back
 * (the engine_*() queries below are fine). A failure inside an effect is
 * reported by the caller as an event after engine_event() returns. */
struct engine_ops {
	/* Bytes for the client / the server (whole lines, CRLF included). */
	void (*to_client)(void *ctx, const char *buf, size_t len);
	void (*to_server)(void *ctx, const char *buf, size_t len);
	/* The client's PASV/EPSV/PORT/EPRT (already checked by the engine
	 * for EPSV ALL): open the data channel and fill REQ. Returns 0 when
	 * REQ->line must go to the server, -1 when refused (REQ->reply is
	 * the client's answer and no channel is left open). */
	int (*data_open)(void *ctx, const struct ftp_command *cmd, struct engine_data_req *req);
	/* The server's final reply CODE (TEXT, LEN: the whole reply, CRLF
	 * included) to our data setup command SERVER_VERB for the client's
	 * CLIENT_VERB. Fills LINE (no CRLF) with the client's reply: the
	 * rewritten 227/229/200 or a refusal. Returns its length; 0 means
	 * pass the server's own reply on. */
	size_t (*data_reply)(void *ctx, enum ftp_verb client_verb, enum ftp_verb server_verb,
	    int code, const char *text, size_t len, char *line, size_t size);
	/* A transfer's final reply CODE arrived: must it wait for data still
	 * on its way to the client? SEEN_1XX: the transfer started. */
	bool (*data_pending)(void *ctx, bool seen_1xx, int code);
	/* Close the data channel, if any (ABOR, a refused transfer). */
	void (*data_drop)(void *ctx);
	/* A transfer command goes to the server / its final reply CODE goes
	 * to the client (OK: the data arrived whole). */
	void (*transfer_begin)(void *ctx, const struct ftp_command *cmd);
	void (*transfer_end)(void *ctx, int code, bool ok);
	/* Run TLS over the server leg (after its 234) / the client leg (the
	 * 234 is already written by to_client). */
	void (*tls_server)(void *ctx);
	void (*tls_client)(void *ctx);
	/* The client's USER argument (escaped for logs). */
	void (*user)(void *ctx, const char *name);
	/* An access rule decided (a fresh verdict of a named rule, see
	 * rules.h), for its counters. NULL: not counted. */
	void (*rule_decided)(void *ctx, const struct rule_verdict *v);
	/* Activity on the control connection: idle time starts again. */
	void (*active)(void *ctx);
	/* The session is over: flush what the client has and close both
	 * legs. REASON is for the log. Called once. */
	void (*close)(void *ctx, const char *reason);
	/* Proxy mode: the client logged in as user@HOST[:PORT]: resolve
	 * HOST (a name or a numeric address, no brackets), connect, and
	 * report EE_SERVER_CONNECTED or EE_SERVER_CLOSED (or end the
	 * session, EE_SHUTDOWN) as for the other modes' connect. Called
	 * once, in EP_CONNECTING. */
	void (*proxy_connect)(void *ctx, const char *host, uint16_t port);
};

/* What the engine needs to know of the configuration. */
struct engine_conf {
	uint64_t sid;                     /* for log lines */
	bool strict;
	const char *const *deny;          /* deny-commands patterns */
	size_t n_deny;
	const char *const *allow;         /* allow-commands patterns; none: */
	size_t n_allow;                   /* no allow-list */
	/* TLS: whether the gateway can offer it to the client at all, and
	 * the sides' policies (conf.h enum values). */
	bool tls_available;
	int client_side;                  /* enum tls_client_side */
	int server_side;                  /* enum tls_server_side */
	bool client_implicit_tls;         /* implicit FTPS toward the client */
	bool server_implicit_tls;         /* and toward the server */
	/* Access rules, checked at USER and at every command; NULL: none.
	 * They, CLIENT and SERVER (unmapped, the server with its port)
	 * outlive the engine. */
	const struct rule_set *rules;
	const struct sockaddr *client, *server;
	/* Explicit proxy mode: the engine starts in EP_PROXY_LOGIN, greets
	 * the client (EE_PROXY_GREET) and learns the server from USER
	 * user@host[:port] (engine_proxy.c). */
	bool proxy;
};

struct engine;

struct engine *engine_new(const struct engine_conf *conf, const struct engine_ops *ops,
    void *ctx);
void engine_free(struct engine *e);

/* The driver: every event goes through here. */
void engine_event(struct engine *e, const struct engine_event *ev);

enum engine_phase engine_phase(const struct engine *e);
/* Backpressure: may the caller read (and feed) one more line? */
bool engine_wants_client_line(const struct engine *e);
bool engine_wants_server_line(const struct engine *e);
/* Facts for ftpgwctl and tests. */
bool engine_logged_in(const struct engine *e);
bool engine_client_tls(const struct engine *e);    /* the client leg is (being) secured */
bool engine_server_tls(const struct engine *e);
bool engine_client_prot_p(const struct engine *e);
bool engine_server_prot_p(const struct engine *e);
unsigned engine_outstanding(const struct engine *e);   /* commands waiting for replies */
size_t engine_buffered(const struct engine *e);        /* bytes held by the engine */

#endif

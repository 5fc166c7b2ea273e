/* engine_int.h: the inside of the engine, shared by engine.c (the driver,
 * the FIFO, server replies, transfers) and engine_cmd.c (client commands,
 * the TLS verbs, strict mode) and by nothing else. */
#ifndef FTPGW_ENGINE_INT_H
#define FTPGW_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "ftp_policy.h"
#include "ftp_proto.h"

/* Small: every session carries ENGINE_PENDING_MAX of them. */
_Static_assert(FTP_V_COUNT <= UINT8_MAX, "a verb fits in a byte");
struct pending {
	uint8_t kind;                    /* enum engine_pending */
	uint8_t client_verb;             /* enum ftp_verb: EK_PLAIN, EK_DATA_SETUP, EK_TRANSFER */
	uint8_t server_verb;             /* enum ftp_verb: EK_DATA_SETUP, EK_INTERNAL */
	bool seen_1xx;                   /* EK_TRANSFER: the transfer started */
	bool failed;                     /* EK_TRANSFER: its data channel failed */
	bool data_done;                  /* EK_TRANSFER: the client has every byte */
	bool aborted;                    /* EK_TRANSFER: ABOR dropped its channel */
	bool for_client;                 /* EK_SERVER_AUTH: part of the client's AUTH */
	bool fence;                      /* EK_ABOR: a NOOP follows once the transfer
	                                  * ahead has its final reply */
};

/* A byte buffer with a hard limit. */
struct buf {
	char *p;
	size_t len, cap;
};

/* What becomes of the lines of the reply being read: passed on (whole,
 * once complete, so that a reply that turns out malformed is replaced by
 * one 421; one over ENGINE_REPLY_MAX, a long STAT listing say, streams on
 * from there), collected for the engine (over the bound: 421), or
 * swallowed (the replies to the gateway's own commands). */
enum disposition { RD_PASS, RD_STREAM, RD_COLLECT, RD_SWALLOW };

struct engine {
	struct engine_conf conf;
	const struct engine_ops *ops;    /* the caller's table */
	void *ctx;                       /* for every effect */
	enum engine_phase phase;

	struct pending fifo[ENGINE_PENDING_MAX];
	unsigned head, n;

	struct ftp_reply_parser rp;
	enum disposition disp;           /* of the reply being read */
	bool unsolicited;                /* it began with nothing outstanding */
	bool is_228;                     /* it is a 228: never passed on */
	struct buf reply;                /* a collected reply */
	struct buf held;                 /* a transfer's final reply, held */
	int held_code;

	char *deferred;                  /* the client line waiting its turn */
	size_t deferred_len;

	struct ftp_login login;
	bool epsv_all;
	bool data_armed;                 /* a data setup succeeded (strict: 425) */
	bool client_tls, server_tls;
	bool client_prot_p, server_prot_p;
	bool data_prot_p;                /* client_prot_p when the channel was set up */
	bool client_auth_waiting;        /* the client's AUTH waits for the server leg */
	bool server_gone;                /* the server closed while a reply was held */
	bool closed;                     /* ops.close was called */
	char *rule_user;                 /* the last USER name sent on, for the rules */

	/* Proxy mode (engine_proxy.c). */
	bool no_server;                  /* before USER user@host: no server */
	char *proxy_user;                /* the USER still to send, once the
	                                  * server leg is ready */
	char *proxy_target;              /* "host:port" as the client named it */
};

/* engine.c */
void eng_set_phase(struct engine *e, enum engine_phase to);
/* Append to a buffer of at most ENGINE_REPLY_MAX bytes: 0 or -1. */
int eng_buf_add(struct buf *b, const char *data, size_t len);
struct pending *eng_fifo_head(struct engine *e);
struct pending *eng_fifo_at(struct engine *e, unsigned i);
struct pending *eng_fifo_push(struct engine *e, enum engine_pending kind);
bool eng_transfer_outstanding(struct engine *e);
/* A reply of the gateway's own to the client. */
void eng_reply(struct engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A command line (no CRLF, at most FTP_LINE_MAX bytes) to the server,
 * queued as KIND; a 0xFF byte in it goes as IAC IAC. */
struct pending *eng_send(struct engine *e, enum engine_pending kind, const char *line, size_t len);
/* The end: LAST (if any) is the client's last line. */
void eng_close(struct engine *e, const char *last, const char *reason);
/* The held final reply goes out (as 426 unless DATA_OK). */
void eng_release_held(struct engine *e, bool data_ok);

/* engine_cmd.c */
void eng_client_line(struct engine *e, const char *text, size_t len);
void eng_client_too_long(struct engine *e);
void eng_run_deferred(struct engine *e);
void eng_abort(struct engine *e);
void eng_protect_server_data(struct engine *e);
void eng_start_client_tls(struct engine *e);
/* engine_rules.c: the access rules at USER and at every command. */
/* Would the rules refuse CMD now? (Pure: for can_take.) */
bool eng_rules_refuse(const struct engine *e, const struct ftp_command *cmd);
/* Refuse CMD (LINE, LEN) when the rules deny it: logged, counted and
 * answered (530 for USER, 502 for others). True when refused. */
bool eng_rules_check(struct engine *e, const struct ftp_command *cmd, const char *line,
    size_t len);
/* USER CMD goes to the server: its name is the user the rules see from
 * now on. False when out of memory. */
bool eng_rules_user(struct engine *e, const struct ftp_command *cmd);

/* engine.c: where a session rests when nothing is outstanding. */
enum engine_phase eng_rest_phase(const struct engine *e);

/* engine_proxy.c */
/* The gateway's greeting to a proxy client. */
void eng_proxy_greet(struct engine *e);
/* CMD in proxy mode: true when handled here (before the server is
 * known, everything; after, USER). */
bool eng_proxy_command(struct engine *e, const struct ftp_command *cmd);
/* The server's greeting (a whole reply, collected) with code CODE. */
void eng_proxy_greeting(struct engine *e, int code);
/* The server leg is ready (greeted, secured as the policy wants): the
 * client's USER goes now, if it waits. */
void eng_proxy_send_user(struct engine *e);
/* The server refused our AUTH TLS with CODE: true when the login goes
 * on regardless (server-side auto, the client's leg secured first). */
bool eng_proxy_auth_refused(struct engine *e, int code);
void eng_proxy_free(struct engine *e);

#endif

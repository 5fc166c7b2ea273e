/* check_engine.h: the harness of the unit tests for src/engine.c (the
 * check_engine*.c files), the FTP dialogue of one session as pure code.
 * The engine is driven through fake effects that record every byte for
 * the client and the server and every effect call; each step checks the
 * whole output and the phase. Lines are copied into heap buffers of
 * exactly their length, without a NUL, so that a sanitizer build catches
 * an engine that reads past (text, len). The helpers are defined in
 * check_engine_harness.c. */
#ifndef FTPGW_TESTS_CHECK_ENGINE_H
#define FTPGW_TESTS_CHECK_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include <check.h>

#include "engine.h"
#include "ftp_proto.h"

#define PASV_REPLY	"227 Entering Passive Mode (198,51,100,1,195,80)."
#define EPSV_REPLY	"229 Entering Extended Passive Mode (|||50000|)"
#define PORT_REPLY	"200 PORT command successful."
#define REFUSE_REPLY	"425 Refused by the fake data_open."
/* What engine_buffered() may never exceed, whatever is fed. */
#define BUFFERED_BOUND	(ENGINE_REPLY_MAX + 2 * FTP_LINE_MAX)

struct et_buf {
	char *p;
	size_t len, cap;
};

/* The fake session: what the effects were asked to do. */
struct et_fake {
	struct et_buf client, server;
	int closes, after_close;
	char close_reason[128];
	int open_result;                 /* data_open's answer: 0 or -1 */
	int opens;
	enum ftp_verb open_verb;
	int replies;                     /* data_reply */
	enum ftp_verb reply_cverb, reply_sverb;
	int reply_code;
	bool pending;                    /* data_pending's answer */
	int pendings, pending_code;
	bool pending_1xx;
	int drops, begins, ends, end_code;
	enum ftp_verb begin_verb;
	bool end_ok;
	int tls_servers, tls_clients;
	size_t client_len_at_tls_client;
	int users;
	char user[256];
	int actives;
	int rule_hits[4];                /* rule_decided, by rule index */
	int proxy_connects;
	char proxy_host[256];
	unsigned proxy_port;
	/* Client lines waiting for the engine to want them (pipelining). */
	const char *queue[64];
	size_t q_head, q_tail;
};

/* The state of the running test, reset by et_setup(): the fake session,
 * the engine's configuration and the engine. */
extern struct et_fake F;
extern struct engine_conf C;
extern struct engine *E;
/* The fake effects, all recording into F. */
extern const struct engine_ops et_ops;

/* The checked fixture of every engine TCase. */
void et_setup(void);
void et_teardown(void);

void et_buf_clear(struct et_buf *b);
/* Printable form of S for failure messages; two calls may share a message. */
const char *et_esc(const char *s, size_t len);
/* How many lines of B are exactly LINE. */
int et_count_line(const struct et_buf *b, const char *line);

/* After every event: close at most once, nothing after it, bounded memory. */
void et_invariants(void);
/* Events, each followed by the checks of the invariants; et_event() and
 * et_ev() then read queued client lines while the engine wants them
 * (et_pump()), as the session does. */
void et_event_raw(enum engine_ev type, const char *text, size_t len);
void et_event(enum engine_ev type, const char *text, size_t len);
void et_ev(enum engine_ev type);
void et_pump(void);
/* A client line for et_pump() to feed when the engine wants it. */
void et_queue_client(const char *line);

/* A line from the client or the server, which the engine must want. */
#define feed_client(line)	et_feed_client_at(line, __LINE__)
#define feed_server(line)	et_feed_server_at(line, __LINE__)
void et_feed_client_at(const char *line, int at);
void et_feed_server_at(const char *line, int at);

/* Exactly WANT was sent to the client (server) since the last check. */
#define expect_client(want)	et_expect_buf(&F.client, "client", want, __LINE__)
#define expect_server(want)	et_expect_buf(&F.server, "server", want, __LINE__)
void et_expect_buf(struct et_buf *b, const char *who, const char *want, int at);
/* Exactly one line "CODE text\r\n" (the text is the engine's). */
#define expect_client_code(code)	et_expect_code(&F.client, "client", code, __LINE__)
void et_expect_code(struct et_buf *b, const char *who, const char *code, int at);
#define expect_phase(ph)	et_expect_phase_at(ph, __LINE__)
void et_expect_phase_at(enum engine_phase ph, int at);

/* The engine of C, in EP_CONNECTING. */
void et_start(void);
/* The server connects and greets: EP_LOGIN. */
void et_greet(void);
/* USER bob, PASS x: EP_READY. */
void et_login(void);
/* All three. */
void et_start_ready(void);
/* PASV and its 227. */
void et_passive(void);
/* PASV, RETR f and its 150: the transfer runs. */
void et_retr_started(void);

/* The tests of each check_engine_*.c, added to TC in their order. */
void et_add_transfer_tests(TCase *tc);
void et_add_limits_tests(TCase *tc);
void et_add_tls_tests(TCase *tc);
void et_add_proxy_tests(TCase *tc);

#endif

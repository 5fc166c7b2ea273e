/* check_engine.c: unit tests for src/engine.c, the FTP dialogue of one
 * session as pure code. The engine is driven through fake effects that
 * record every byte for the client and the server and every effect call;
 * each step checks the whole output and the phase. Lines are copied into
 * heap buffers of exactly their length, without a NUL, so that a sanitizer
 * build catches an engine that reads past (text, len). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "addr.h"
#include "conf.h"
#include "engine.h"
#include "ftp_proto.h"
#include "log.h"

#define PASV_REPLY	"227 Entering Passive Mode (198,51,100,1,195,80)."
#define EPSV_REPLY	"229 Entering Extended Passive Mode (|||50000|)"
#define PORT_REPLY	"200 PORT command successful."
#define REFUSE_REPLY	"425 Refused by the fake data_open."
/* What engine_buffered() may never exceed, whatever is fed. */
#define BUFFERED_BOUND	(ENGINE_REPLY_MAX + 2 * FTP_LINE_MAX)

struct buf {
	char *p;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		ck_assert_ptr_nonnull(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_clear(struct buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

/* The fake session: what the effects were asked to do. */
static struct fake {
	struct buf client, server;
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
} F;

static struct engine_conf C;
static struct engine *E;
static const char *const deny_list[] = { "SITE EXEC", "DELE" };

/* Every effect after close() is a bug. */
static void
effect(void)
{
	if (F.closes > 0)
		F.after_close++;
}

static void
fx_to_client(void *ctx, const char *b, size_t len)
{
	ck_assert_ptr_eq(ctx, &F);
	effect();
	buf_add(&F.client, b, len);
}

static void
fx_to_server(void *ctx, const char *b, size_t len)
{
	(void)ctx;
	effect();
	buf_add(&F.server, b, len);
}

static int
fx_data_open(void *ctx, const struct ftp_command *cmd, struct engine_data_req *req)
{
	const char *line;

	(void)ctx;
	effect();
	F.opens++;
	F.open_verb = cmd->verb;
	if (F.open_result != 0) {
		snprintf(req->reply, sizeof(req->reply), "%s", REFUSE_REPLY);
		return -1;
	}
	switch (cmd->verb) {
	case FTP_V_PORT:
	case FTP_V_EPRT:
		req->server_verb = FTP_V_PORT;
		line = "PORT 203,0,113,2,195,81";
		break;
	case FTP_V_EPSV:
		req->server_verb = FTP_V_EPSV;
		line = "EPSV";
		break;
	default:
		req->server_verb = FTP_V_PASV;
		line = "PASV";
		break;
	}
	req->len = strlen(line);
	memcpy(req->line, line, req->len);
	return 0;
}

static size_t
fx_data_reply(void *ctx, enum ftp_verb client_verb, enum ftp_verb server_verb, int code,
    const char *text, size_t len, char *line, size_t size)
{
	const char *r = NULL;

	(void)ctx;
	(void)text;
	(void)len;
	effect();
	F.replies++;
	F.reply_cverb = client_verb;
	F.reply_sverb = server_verb;
	F.reply_code = code;
	if (code == 227 && client_verb == FTP_V_PASV)
		r = PASV_REPLY;
	else if (code == 229 && client_verb == FTP_V_EPSV)
		r = EPSV_REPLY;
	else if (code == 227 || code == 229)
		r = REFUSE_REPLY;
	else if (code == 200 && (client_verb == FTP_V_PORT || client_verb == FTP_V_EPRT))
		r = PORT_REPLY;
	if (r == NULL)
		return 0;
	ck_assert_uint_gt(size, strlen(r));
	memcpy(line, r, strlen(r));
	return strlen(r);
}

static bool
fx_data_pending(void *ctx, bool seen_1xx, int code)
{
	(void)ctx;
	effect();
	F.pendings++;
	F.pending_1xx = seen_1xx;
	F.pending_code = code;
	return F.pending;
}

static void
fx_data_drop(void *ctx)
{
	(void)ctx;
	effect();
	F.drops++;
}

static void
fx_transfer_begin(void *ctx, const struct ftp_command *cmd)
{
	(void)ctx;
	effect();
	F.begins++;
	F.begin_verb = cmd->verb;
}

static void
fx_transfer_end(void *ctx, int code, bool ok)
{
	(void)ctx;
	effect();
	F.ends++;
	F.end_code = code;
	F.end_ok = ok;
}

static void
fx_tls_server(void *ctx)
{
	(void)ctx;
	effect();
	F.tls_servers++;
}

static void
fx_tls_client(void *ctx)
{
	(void)ctx;
	effect();
	F.tls_clients++;
	F.client_len_at_tls_client = F.client.len;
}

static void
fx_user(void *ctx, const char *name)
{
	(void)ctx;
	effect();
	F.users++;
	snprintf(F.user, sizeof(F.user), "%s", name);
}

static void
fx_active(void *ctx)
{
	(void)ctx;
	effect();
	F.actives++;
}

static void
fx_close(void *ctx, const char *reason)
{
	(void)ctx;
	effect();
	F.closes++;
	snprintf(F.close_reason, sizeof(F.close_reason), "%s", reason != NULL ? reason : "");
}

static void
fx_rule_decided(void *ctx, const struct rule_verdict *v)
{
	(void)ctx;
	effect();
	ck_assert(v->rule >= 0 && v->rule < 4 && v->fresh);
	F.rule_hits[v->rule]++;
}

static void
fx_proxy_connect(void *ctx, const char *host, uint16_t port)
{
	(void)ctx;
	effect();
	F.proxy_connects++;
	snprintf(F.proxy_host, sizeof(F.proxy_host), "%s", host);
	F.proxy_port = port;
}

static const struct engine_ops OPS = {
	.to_client = fx_to_client,
	.to_server = fx_to_server,
	.data_open = fx_data_open,
	.data_reply = fx_data_reply,
	.data_pending = fx_data_pending,
	.data_drop = fx_data_drop,
	.transfer_begin = fx_transfer_begin,
	.transfer_end = fx_transfer_end,
	.tls_server = fx_tls_server,
	.tls_client = fx_tls_client,
	.user = fx_user,
	.rule_decided = fx_rule_decided,
	.active = fx_active,
	.close = fx_close,
	.proxy_connect = fx_proxy_connect,
};

/* Printable form of S for failure messages; two calls may share a message. */
static const char *
esc(const char *s, size_t len)
{
	static char bufs[2][700];
	static int which;
	char *out = bufs[which ^= 1];
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < sizeof(bufs[0]); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r')
			o += (size_t)snprintf(out + o, 8, "\\r");
		else if (c == '\n')
			o += (size_t)snprintf(out + o, 8, "\\n");
		else if (c < 0x20 || c > 0x7e || c == '\\')
			o += (size_t)snprintf(out + o, 8, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (o + 8 >= sizeof(bufs[0]))
		o += (size_t)snprintf(out + o, 8, "...");
	out[o] = '\0';
	return out;
}

static void
setup(void)
{
	memset(&F, 0, sizeof(F));
	memset(&C, 0, sizeof(C));
	C.sid = 7;
	E = NULL;
	log_init("check_engine", true, LL_ERROR);
}

static void
teardown(void)
{
	if (E != NULL)
		engine_free(E);
	E = NULL;
	free(F.client.p);
	free(F.server.p);
}

/* After every event: close at most once, nothing after it, bounded memory. */
static void
invariants(void)
{
	ck_assert_msg(F.closes <= 1, "close called %d times", F.closes);
	ck_assert_msg(F.after_close == 0, "%d effect(s) after close", F.after_close);
	ck_assert_msg(engine_buffered(E) < BUFFERED_BOUND, "engine_buffered() = %zu",
	    engine_buffered(E));
	ck_assert_uint_le(engine_outstanding(E), ENGINE_PENDING_MAX);
}

static void
event_raw(enum engine_ev type, const char *text, size_t len)
{
	struct engine_event ev = { .type = type };
	char *copy = NULL;

	if (text != NULL) {
		copy = malloc(len > 0 ? len : 1);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, text, len);
		ev.text = copy;
		ev.len = len;
	}
	engine_event(E, &ev);
	free(copy);
	invariants();
}

/* As the session does after every event: read client lines while the
 * engine wants them. */
static void
pump(void)
{
	while (F.q_head < F.q_tail && F.closes == 0 && engine_wants_client_line(E)) {
		const char *line = F.queue[F.q_head++];

		event_raw(EE_CLIENT_LINE, line, strlen(line));
	}
}

static void
event(enum engine_ev type, const char *text, size_t len)
{
	event_raw(type, text, len);
	pump();
}

static void
ev(enum engine_ev type)
{
	event(type, NULL, 0);
}

static void
queue_client(const char *line)
{
	ck_assert_uint_lt(F.q_tail, sizeof(F.queue) / sizeof(F.queue[0]));
	F.queue[F.q_tail++] = line;
}

#define feed_client(line)	feed_client_at(line, __LINE__)
static void
feed_client_at(const char *line, int at)
{
	ck_assert_msg(engine_wants_client_line(E),
	    "line %d: the engine does not want client line \"%s\" (phase %s)", at,
	    esc(line, strlen(line)), engine_phase_name(engine_phase(E)));
	event(EE_CLIENT_LINE, line, strlen(line));
}

#define feed_server(line)	feed_server_at(line, __LINE__)
static void
feed_server_at(const char *line, int at)
{
	ck_assert_msg(engine_wants_server_line(E),
	    "line %d: the engine does not want server line \"%s\" (phase %s)", at,
	    esc(line, strlen(line)), engine_phase_name(engine_phase(E)));
	event(EE_SERVER_LINE, line, strlen(line));
}

#define expect_client(want)	expect_buf(&F.client, "client", want, __LINE__)
#define expect_server(want)	expect_buf(&F.server, "server", want, __LINE__)
static void
expect_buf(struct buf *b, const char *who, const char *want, int at)
{
	ck_assert_msg(b->len == strlen(want) && memcmp(b->p != NULL ? b->p : "", want, b->len) == 0,
	    "line %d: the %s got \"%s\", expected \"%s\"", at, who,
	    esc(b->p != NULL ? b->p : "", b->len), esc(want, strlen(want)));
	buf_clear(b);
}

/* Exactly one line "CODE text\r\n" (the text is the engine's). */
#define expect_client_code(code)	expect_code(&F.client, "client", code, __LINE__)
static void
expect_code(struct buf *b, const char *who, const char *code, int at)
{
	const char *p = b->p != NULL ? b->p : "";
	const char *crlf = strstr(p, "\r\n");

	ck_assert_msg(b->len > 5 && memcmp(p, code, 3) == 0 && p[3] == ' ' &&
	    crlf != NULL && crlf + 2 == p + b->len,
	    "line %d: the %s got \"%s\", expected one line \"%s ...\\r\\n\"", at, who,
	    esc(p, b->len), code);
	buf_clear(b);
}

#define expect_phase(ph)	expect_phase_at(ph, __LINE__)
static void
expect_phase_at(enum engine_phase ph, int at)
{
	ck_assert_msg(engine_phase(E) == ph, "line %d: phase %s, expected %s", at,
	    engine_phase_name(engine_phase(E)), engine_phase_name(ph));
}

/* How many lines of B are exactly LINE. */
static int
count_line(const struct buf *b, const char *line)
{
	size_t n = strlen(line);
	int count = 0;

	for (const char *p = b->p; p != NULL && p < b->p + b->len;) {
		const char *crlf = strstr(p, "\r\n");

		if (crlf == NULL)
			break;
		if ((size_t)(crlf - p) == n && memcmp(p, line, n) == 0)
			count++;
		p = crlf + 2;
	}
	return count;
}

static void
start(void)
{
	E = engine_new(&C, &OPS, &F);
	ck_assert_ptr_nonnull(E);
	expect_phase(EP_CONNECTING);
	ck_assert(!engine_logged_in(E));
}

static void
greet(void)
{
	ev(EE_SERVER_CONNECTED);
	expect_phase(EP_GREETING);
	feed_server("220 hi");
	expect_client("220 hi\r\n");
	expect_server("");
	expect_phase(EP_LOGIN);
}

static void
login(void)
{
	feed_client("USER bob");
	expect_server("USER bob\r\n");
	expect_client("");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	feed_client("PASS x");
	expect_server("PASS x\r\n");
	feed_server("230 ok");
	expect_client("230 ok\r\n");
	expect_server("");
	expect_phase(EP_READY);
	ck_assert(engine_logged_in(E));
}

static void
start_ready(void)
{
	start();
	greet();
	login();
}

static void
passive(void)
{
	feed_client("PASV");
	expect_server("PASV\r\n");
	expect_client("");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	expect_client(PASV_REPLY "\r\n");
	expect_server("");
}

/* PASV, RETR f and its 150: the transfer runs. */
static void
retr_started(void)
{
	int begins = F.begins;

	passive();
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	expect_client("");
	ck_assert_int_eq(F.begins, begins + 1);
	ck_assert_int_eq(F.begin_verb, FTP_V_RETR);
	expect_phase(EP_TRANSFER);
	feed_server("150 Opening");
	expect_client("150 Opening\r\n");
	expect_server("");
	expect_phase(EP_TRANSFER);
}

/* 1. Greeting. */
START_TEST(test_greeting)
{
	start();
	queue_client("USER bob");
	queue_client("PASS x");
	pump();
	expect_server("");
	expect_client("");
	ev(EE_SERVER_CONNECTED);
	expect_phase(EP_GREETING);
	ck_assert(engine_wants_server_line(E));
	expect_server("");
	expect_client("");
	ck_assert_uint_eq(engine_outstanding(E), 1);      /* the greeting */
	feed_server("220 hi");
	expect_client("220 hi\r\n");
	expect_server("USER bob\r\n");
	expect_phase(EP_LOGIN);
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	expect_server("PASS x\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* A multi-line greeting (and a 120 before it) reaches the client whole. */
START_TEST(test_greeting_multiline)
{
	start();
	ev(EE_SERVER_CONNECTED);
	feed_server("120 wait");
	expect_client("120 wait\r\n");
	expect_phase(EP_GREETING);
	feed_server("220-Welcome");
	feed_server("220 ready");
	expect_client("220-Welcome\r\n220 ready\r\n");
	expect_phase(EP_LOGIN);
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* 2. Login. */
START_TEST(test_login)
{
	start_ready();
	ck_assert_int_eq(F.users, 1);
	ck_assert_str_eq(F.user, "bob");
	feed_client("SYST");
	expect_server("SYST\r\n");
	feed_server("215 UNIX Type: L8");
	expect_client("215 UNIX Type: L8\r\n");
	expect_phase(EP_READY);
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

START_TEST(test_login_refused)
{
	start();
	greet();
	feed_client("USER bob");
	feed_server("331 pw");
	feed_client("PASS wrong");
	feed_server("530 Login incorrect.");
	expect_server("USER bob\r\nPASS wrong\r\n");
	expect_client("331 pw\r\n530 Login incorrect.\r\n");
	expect_phase(EP_LOGIN);
	ck_assert(!engine_logged_in(E));
}
END_TEST

START_TEST(test_login_pipelined)
{
	start();
	greet();
	queue_client("USER a");
	queue_client("PASS b");
	queue_client("SYST");
	pump();
	expect_server("USER a\r\n");
	expect_client("");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	expect_server("PASS b\r\n");
	feed_server("230 in");
	expect_client("230 in\r\n");
	expect_server("SYST\r\n");
	expect_phase(EP_READY);
	ck_assert_str_eq(F.user, "a");
	feed_server("215 UNIX");
	expect_client("215 UNIX\r\n");
	expect_server("");
	ck_assert_uint_eq(F.q_head, 3);
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* 3. Strict mode. */
START_TEST(test_strict_order)
{
	C.strict = true;
	start();
	greet();
	feed_client("PASS x");
	expect_client_code("503");
	expect_server("");
	feed_client("RETR f");
	expect_client_code("530");
	expect_server("");
	ck_assert_int_eq(F.begins, 0);
	/* What is allowed before login goes through. */
	feed_client("SYST");
	expect_server("SYST\r\n");
	feed_server("215 UNIX");
	expect_client("215 UNIX\r\n");
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	login();
	feed_client("RETR f");
	expect_client_code("425");
	expect_server("");
	ck_assert_int_eq(F.begins, 0);
	/* With a data channel set up, the transfer goes through. */
	passive();
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	ck_assert_int_eq(F.begins, 1);
}
END_TEST

START_TEST(test_strict_refused_setup)
{
	C.strict = true;
	start_ready();
	F.open_result = -1;
	feed_client("PASV");
	expect_client(REFUSE_REPLY "\r\n");
	expect_server("");
	feed_client("RETR f");
	expect_client_code("425");
	expect_server("");
}
END_TEST

START_TEST(test_strict_off)
{
	start();
	greet();
	feed_client("PASS x");
	expect_server("PASS x\r\n");
	feed_server("503 USER first");
	expect_client("503 USER first\r\n");
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	feed_server("530 not logged in");
	expect_client("530 not logged in\r\n");
	expect_phase(EP_LOGIN);
}
END_TEST

/* 4. deny-commands. */
START_TEST(test_deny)
{
	C.deny = deny_list;
	C.n_deny = 2;
	start_ready();
	feed_client("SITE EXEC x");
	expect_client_code("502");
	expect_server("");
	feed_client("dele f");
	expect_client_code("502");
	expect_server("");
	feed_client("SITE CHMOD 644 f");
	expect_server("SITE CHMOD 644 f\r\n");
	expect_client("");
	feed_server("200 chmod ok");
	expect_client("200 chmod ok\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* An RFC 775 alias is denied with its command, whichever of the two the
 * list names. */
START_TEST(test_deny_alias)
{
	static const char *const deny[] = { "MKD", "XRMD", "CWD", "CDUP", "PWD" };
	static const char *const refused[] = {
		"XMKD d", "xmkd d", "MKD d", "RMD d", "XRMD d", "XCWD /", "CWD /",
		"XCUP", "CDUP", "XPWD", "PWD",
	};

	C.deny = deny;
	C.n_deny = sizeof(deny) / sizeof(deny[0]);
	start_ready();
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		feed_client(refused[i]);
		expect_client_code("502");
		expect_server("");
	}
	feed_client("DELE f");
	expect_server("DELE f\r\n");
	feed_server("250 ok");
	expect_client("250 ok\r\n");
}
END_TEST

/* What the deny check sees is what the server reads: a client's IAC IAC
 * (a data byte 255) goes on as IAC IAC, so a server doing its own Telnet
 * processing cannot read "SITE CH<IAC><WILL>XMOD" as SITE CHMOD; a bare
 * IAC WILL X is Telnet, stripped before the check. */
START_TEST(test_deny_telnet)
{
	static const char *const deny[] = { "SITE CHMOD" };

	C.deny = deny;
	C.n_deny = 1;
	start_ready();
	feed_client("SITE CH\xff\xff\xfbXMOD 777 f");
	expect_server("SITE CH\xff\xff\xfbXMOD 777 f\r\n");
	feed_server("500 what");
	expect_client("500 what\r\n");
	feed_client("SITE CH\xff\xfbXMOD 777 f");
	expect_client_code("502");
	expect_server("");
	feed_client("SITE C\xff\xf1HMOD 777 f");         /* IAC NOP */
	expect_client_code("502");
	expect_server("");
	/* A data byte 255 in a name goes as the client sent it. */
	feed_client("DELE \xff\xff" "a\xff\xff");
	expect_server("DELE \xff\xff" "a\xff\xff\r\n");
}
END_TEST

/* The same toward the client: a reply's data byte 255 goes on as IAC
 * IAC, so a client doing Telnet processing cannot find the end of a
 * multi-line reply (and a 228 behind it) where the gateway saw an inner
 * line. */
START_TEST(test_reply_telnet)
{
	start_ready();
	feed_client("HELP");
	feed_server("214-Help");
	feed_server("\xff\xff\xf1" "214 not the end");
	feed_server("228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)");
	feed_server("214 end");
	expect_client("214-Help\r\n\xff\xff\xf1" "214 not the end\r\n"
	    "228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)\r\n214 end\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* Access rules at USER and at every command: a denied USER gets 530 and
 * the session goes on (another name may log in); a denied command gets
 * 502 in its turn, after the replies ahead of it; QUIT is never denied;
 * each fresh decision of a rule is counted. */
START_TEST(test_rules)
{
	static char *bob[] = { "bob" }, *anon[] = { "anon*" };
	static char *stor[] = { "STOR", "QUIT", "NOOP" };
	static struct rule rules[] = {
		{ .name = "no-bob", .action = RULE_DENY, .users = bob, .n_users = 1 },
		{ .name = "anon-ro", .action = RULE_DENY, .users = anon, .n_users = 1,
		    .commands = stor, .n_commands = 3 },
	};
	static const struct rule_set set = { .rules = rules, .n = 2 };
	struct sockaddr_storage client, server;

	rules_compute_needs(&rules[0]);
	rules_compute_needs(&rules[1]);
	ck_assert_int_eq(addr_parse("198.51.100.7", false, &client), 0);
	ck_assert_int_eq(addr_parse("203.0.113.5:21", false, &server), 0);
	C.rules = &set;
	C.client = (struct sockaddr *)&client;
	C.server = (struct sockaddr *)&server;
	start();
	greet();
	feed_client("USER bob");
	expect_client("530 Login denied by the gateway.\r\n");
	expect_server("");
	ck_assert_int_eq(F.rule_hits[0], 1);
	feed_client("USER anonymous");
	expect_server("USER anonymous\r\n");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	feed_client("PASS x");
	expect_server("PASS x\r\n");
	feed_server("230 ok");
	expect_client("230 ok\r\n");
	/* STOR waits for the SYST's reply, then gets its 502. */
	feed_client("SYST");
	expect_server("SYST\r\n");
	feed_client("stor f");
	expect_client("");
	expect_server("");
	feed_server("215 UNIX");
	expect_client("215 UNIX\r\n502 Command not allowed by the gateway.\r\n");
	expect_server("");
	ck_assert_int_eq(F.rule_hits[1], 1);
	feed_client("XMKD d");
	expect_server("XMKD d\r\n");
	feed_server("257 made");
	expect_client("257 made\r\n");
	/* A denied NOOP during a transfer waits for the transfer's reply. */
	retr_started();
	F.pending = false;
	feed_client("NOOP");
	expect_client("");
	expect_server("");
	feed_server("226 Done");
	expect_client("226 Done\r\n502 Command not allowed by the gateway.\r\n");
	feed_client("QUIT");
	expect_server("QUIT\r\n");
	ck_assert_int_eq(F.rule_hits[0], 1);
	ck_assert_int_eq(F.rule_hits[1], 2);
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* allow-commands: only what it names goes; the gateway's own verbs and
 * QUIT are not subject to it; deny-commands comes first. */
START_TEST(test_allow)
{
	static const char *const allow[] = { "USER", "pass", "PASV", "RETR", "MKD",
	    "SITE CHMOD" };
	static const char *const deny[] = { "SITE CHMOD 777" };

	C.allow = allow;
	C.n_allow = sizeof(allow) / sizeof(allow[0]);
	C.deny = deny;
	C.n_deny = 1;
	start_ready();
	feed_client("SYST");
	expect_client_code("502");
	expect_server("");
	feed_client("SITE EXEC x");
	expect_client_code("502");
	expect_server("");
	feed_client("SITE CHMOD 777 f");
	expect_client_code("502");
	expect_server("");
	feed_client("HELLO");
	expect_client_code("500");
	feed_client("HELO");
	expect_client_code("502");
	expect_server("");
	feed_client("SITE CHMOD 644 f");
	expect_server("SITE CHMOD 644 f\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	feed_client("XMKD d");
	expect_server("XMKD d\r\n");
	feed_server("257 made");
	expect_client("257 made\r\n");
	/* PBSZ is the gateway's own answer, not the list's 502. */
	feed_client("PBSZ 0");
	expect_client_code("503");
	expect_server("");
	/* A refused NOOP during a transfer waits for the transfer's reply:
	 * the 502 must not pass for RETR's. */
	retr_started();
	F.pending = false;
	feed_client("NOOP");
	expect_client("");
	expect_server("");
	feed_server("226 Done");
	expect_client("226 Done\r\n502 Command not allowed by the gateway.\r\n");
	feed_client("QUIT");
	expect_server("QUIT\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* LPRT and LPSV (RFC 1639) are never forwarded: their addresses are not
 * translated. */
START_TEST(test_lprt_lpsv)
{
	start();
	greet();
	feed_client("LPSV");
	expect_client_code("502");
	expect_server("");
	login();
	feed_client("LPSV");
	expect_client_code("502");
	expect_server("");
	feed_client("lprt 4,4,198,51,100,2,2,195,80");
	expect_client_code("502");
	expect_server("");
	ck_assert_int_eq(F.opens, 0);
	C.strict = true;
	engine_free(E);
	E = NULL;
	start_ready();
	feed_client("LPSV");
	expect_client_code("502");
	expect_server("");
}
END_TEST

/* A 228 (LPSV's reply) never reaches the client, whatever it answers. */
START_TEST(test_228_never_passes)
{
	start_ready();
	feed_client("XLPS");                  /* unknown: the server's business */
	expect_server("XLPS\r\n");
	feed_server("228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)");
	expect_client_code("502");
	feed_client("SITE LPSV");
	expect_server("SITE LPSV\r\n");
	feed_server("228-Entering Long Passive Mode");
	feed_server(" (4,4,10,0,0,5,2,4,1)");
	feed_server("228 end");
	expect_client_code("502");
	/* Unsolicited: dropped. */
	feed_server("228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)");
	expect_client("");
	/* To a data setup: the channel is refused, the 228 not passed. */
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)");
	expect_client_code("502");
	ck_assert_int_eq(F.reply_code, 502);          /* refused, not a 228 */
	ck_assert_uint_eq(engine_outstanding(E), 0);
	/* A transfer's final reply: the client gets 502, the transfer failed. */
	retr_started();
	feed_server("228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)");
	expect_client_code("502");
	ck_assert_int_eq(F.ends, 1);
	ck_assert(!F.end_ok);
	feed_client("NOOP");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* strict: before login only the issue's list reaches the server; an
 * unknown verb, REIN and LANG get 530. */
START_TEST(test_strict_before_login)
{
	static const char *const refused[] = {
		"XYZW a", "SITE HELP", "REIN", "LANG en", "XCWD /", "CWD /", "MLST",
	};

	C.strict = true;
	start();
	greet();
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		feed_client(refused[i]);
		expect_client_code("530");
		expect_server("");
	}
	feed_client("CLNT fancy 1.0");
	expect_server("CLNT fancy 1.0\r\n");
	feed_server("200 noted");
	expect_client("200 noted\r\n");
	feed_client("HOST ftp.example.org");
	expect_server("HOST ftp.example.org\r\n");
	feed_server("220 ok");
	expect_client("220 ok\r\n");
	feed_client("OPTS UTF8 ON");
	expect_server("OPTS UTF8 ON\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	login();
	/* Logged in, what the gateway does not know is the server's. */
	feed_client("XYZW a");
	expect_server("XYZW a\r\n");
	feed_server("500 unknown");
	expect_client("500 unknown\r\n");
}
END_TEST

/* 5. A passive transfer. */
START_TEST(test_transfer_held)
{
	start_ready();
	feed_client("PASV");
	ck_assert_int_eq(F.opens, 1);
	ck_assert_int_eq(F.open_verb, FTP_V_PASV);
	expect_server("PASV\r\n");
	expect_client("");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	ck_assert_int_eq(F.replies, 1);
	ck_assert_int_eq(F.reply_code, 227);
	ck_assert_int_eq(F.reply_cverb, FTP_V_PASV);
	ck_assert_int_eq(F.reply_sverb, FTP_V_PASV);
	expect_client(PASV_REPLY "\r\n");
	feed_client("RETR f");
	ck_assert_int_eq(F.begins, 1);
	expect_server("RETR f\r\n");
	expect_phase(EP_TRANSFER);
	feed_server("150 Opening");
	expect_client("150 Opening\r\n");
	F.pending = true;
	feed_server("226 Done");
	expect_client("");
	ck_assert_int_eq(F.pendings, 1);
	ck_assert(F.pending_1xx);
	ck_assert_int_eq(F.pending_code, 226);
	expect_phase(EP_HELD);
	ck_assert(!engine_wants_server_line(E));
	ck_assert_int_eq(F.ends, 0);
	ev(EE_DATA_TO_CLIENT_DONE);
	expect_client("226 Done\r\n");
	expect_server("");
	ck_assert_int_eq(F.ends, 1);
	ck_assert_int_eq(F.end_code, 226);
	ck_assert(F.end_ok);
	expect_phase(EP_READY);
	ck_assert(engine_wants_server_line(E));
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

START_TEST(test_transfer_not_held)
{
	start_ready();
	retr_started();
	F.pending = false;
	feed_server("226 Done");
	expect_client("226 Done\r\n");
	ck_assert_int_eq(F.ends, 1);
	ck_assert_int_eq(F.end_code, 226);
	ck_assert(F.end_ok);
	expect_phase(EP_READY);
	/* A multi-line final reply goes whole. */
	retr_started();
	feed_server("226-Transfer complete");
	feed_server("226 Bye");
	expect_client("226-Transfer complete\r\n226 Bye\r\n");
	expect_phase(EP_READY);
	ck_assert_int_eq(F.ends, 2);
}
END_TEST

/* A line taken while the transfer runs waits for its final reply. */
START_TEST(test_transfer_then_command)
{
	start_ready();
	retr_started();
	queue_client("PWD");
	pump();
	expect_server("");
	F.pending = true;
	feed_server("226 Done");
	expect_client("");
	/* PWD may go to the server now or once the 226 is released: its
	 * reply cannot overtake, the server's lines are not read while the
	 * 226 is held. */
	ck_assert(!engine_wants_server_line(E));
	ev(EE_DATA_TO_CLIENT_DONE);
	expect_client("226 Done\r\n");
	expect_server("PWD\r\n");
	feed_server("257 \"/\"");
	expect_client("257 \"/\"\r\n");
}
END_TEST

START_TEST(test_data_setup_refused)
{
	start_ready();
	F.open_result = -1;
	feed_client("EPSV");
	ck_assert_int_eq(F.opens, 1);
	expect_client(REFUSE_REPLY "\r\n");
	expect_server("");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	F.open_result = 0;
	feed_client("EPSV");
	expect_server("EPSV\r\n");
	feed_server("229 Entering Extended Passive Mode (|||2000|)");
	expect_client(EPSV_REPLY "\r\n");
	feed_client("PORT 10,0,0,9,4,2");
	expect_server("PORT 203,0,113,2,195,81\r\n");
	feed_server("200 ok");
	expect_client(PORT_REPLY "\r\n");
	/* A refusal from the server passes on as it is. */
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("500 no passive");
	expect_client("500 no passive\r\n");
	ck_assert_int_eq(F.replies, 3);
}
END_TEST

/* 6. ABOR during a transfer. */
START_TEST(test_abor_transfer)
{
	start_ready();
	retr_started();
	feed_client("ABOR");
	ck_assert_int_eq(F.drops, 1);
	/* The fence waits for the transfer's final reply. */
	expect_server("ABOR\r\n");
	expect_client("");
	feed_client("NOOP");             /* nothing goes behind an ABOR */
	expect_server("");
	feed_server("426 aborted");
	expect_client("426 aborted\r\n");
	expect_server("NOOP\r\n");
	feed_server("226 ABOR ok");
	expect_client("226 ABOR ok\r\n");
	feed_server("200 NOOP ok");
	expect_client("");
	expect_server("NOOP\r\n");     /* the client's, once the ABOR is done */
	ck_assert_uint_eq(engine_outstanding(E), 1);
	expect_phase(EP_READY);
	ck_assert_int_eq(F.ends, 1);
	ck_assert_int_eq(F.end_code, 426);
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* The ABOR with its Telnet IP/Synch prefix, as clients send it. */
START_TEST(test_abor_telnet)
{
	start_ready();
	retr_started();
	feed_client("\xff\xf4\xff\xf2" "ABOR");
	expect_server("ABOR\r\n");
	feed_server("426 aborted");
	expect_server("NOOP\r\n");
	feed_server("226 ABOR ok");
	feed_server("200 NOOP ok");
	expect_client("426 aborted\r\n226 ABOR ok\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* 7. One reply for the transfer and the ABOR (pure-ftpd). */
START_TEST(test_abor_single_reply)
{
	start_ready();
	retr_started();
	feed_client("ABOR");
	expect_server("ABOR\r\n");
	feed_server("226 Since you see this ABOR must've succeeded");
	expect_client("226 Since you see this ABOR must've succeeded\r\n");
	expect_server("NOOP\r\n");
	feed_server("200 NOOP ok");
	expect_client("");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	expect_phase(EP_READY);
	ck_assert_int_eq(F.ends, 1);
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* 8. ABOR before the 150. */
START_TEST(test_abor_before_1xx)
{
	start_ready();
	passive();
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	feed_client("ABOR");
	expect_server("ABOR\r\n");
	ck_assert_int_eq(F.drops, 1);
	feed_server("150 Opening");
	feed_server("426 aborted");
	expect_server("NOOP\r\n");
	feed_server("226 ABOR ok");
	feed_server("200 NOOP ok");
	expect_client("150 Opening\r\n426 aborted\r\n226 ABOR ok\r\n");
	expect_server("");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	expect_phase(EP_READY);
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
}
END_TEST

/* 9. ABOR with nothing outstanding. */
START_TEST(test_abor_idle)
{
	start_ready();
	feed_client("ABOR");
	expect_server("ABOR\r\n");
	expect_client("");
	feed_server("225 No transfer");
	expect_client("225 No transfer\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	expect_phase(EP_READY);
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
}
END_TEST

/* 10. ABOR while the final reply is held. */
START_TEST(test_abor_held)
{
	start_ready();
	retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	expect_client("");
	feed_client("ABOR");
	expect_client("226 Done\r\n");
	expect_server("ABOR\r\n");
	ck_assert_int_eq(F.ends, 1);
	ck_assert_int_eq(F.end_code, 226);
	feed_server("225 No transfer");
	expect_client("225 No transfer\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	expect_phase(EP_READY);
	/* The data end that comes late changes nothing. */
	ev(EE_DATA_TO_CLIENT_DONE);
	ev(EE_DATA_DONE);
	expect_client("");
	expect_server("");
	ck_assert_int_eq(F.ends, 1);
}
END_TEST

/* While a final reply is held, nothing may overtake it: neither the
 * gateway's own answers nor a second command toward the server. */
START_TEST(test_held_local_answer)
{
	start_ready();
	retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	feed_client("PBSZ 0");             /* answered by the gateway: 503 */
	expect_client("");
	ev(EE_DATA_TO_CLIENT_DONE);
	ck_assert_msg(strncmp(F.client.p != NULL ? F.client.p : "", "226 Done\r\n503 ", 14) == 0,
	    "client got \"%s\", expected the 226 then the 503", esc(F.client.p, F.client.len));
}
END_TEST

START_TEST(test_held_auth)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_OFF;
	start_ready();
	retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	feed_client("AUTH TLS");
	expect_client("");
	ck_assert_int_eq(F.tls_clients, 0);
	ev(EE_DATA_TO_CLIENT_DONE);
	ck_assert_msg(strncmp(F.client.p != NULL ? F.client.p : "", "226 Done\r\n234 ", 14) == 0,
	    "client got \"%s\", expected the 226 then the 234", esc(F.client.p, F.client.len));
	ck_assert_int_eq(F.tls_clients, 1);
}
END_TEST

START_TEST(test_held_one_command)
{
	start_ready();
	retr_started();
	F.pending = true;
	feed_server("226 Done");
	queue_client("PWD");
	queue_client("SYST");
	queue_client("QUIT");
	pump();
	/* At most one of them may be with the server while the 226 waits. */
	ck_assert_msg(F.server.len == 0 || strcmp(F.server.p, "PWD\r\n") == 0,
	    "server got \"%s\"", esc(F.server.p, F.server.len));
	ck_assert_uint_le(engine_outstanding(E), 1);
	ev(EE_DATA_TO_CLIENT_DONE);
	expect_client("226 Done\r\n");
	expect_server("PWD\r\n");
	feed_server("257 \"/\"");
	expect_client("257 \"/\"\r\n");
	expect_server("SYST\r\n");
}
END_TEST

/* 11. A 1xx after ABOR; a multi-line 1xx. */
START_TEST(test_1xx_after_abor)
{
	start_ready();
	retr_started();
	feed_client("ABOR");
	expect_server("ABOR\r\n");
	feed_server("125 still going");
	expect_client("125 still going\r\n");
	feed_server("426 aborted");
	expect_server("NOOP\r\n");
	feed_server("226 ABOR ok");
	feed_server("200 NOOP ok");
	expect_client("426 aborted\r\n226 ABOR ok\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	expect_phase(EP_READY);
}
END_TEST

START_TEST(test_1xx_multiline)
{
	start_ready();
	passive();
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	feed_server("150-Opening");
	feed_server(" size 10");
	feed_server("150 go");
	expect_client("150-Opening\r\n size 10\r\n150 go\r\n");
	expect_phase(EP_TRANSFER);
	F.pending = true;
	feed_server("226 Done");
	ck_assert(F.pending_1xx);
	ev(EE_DATA_TO_CLIENT_DONE);
	expect_client("226 Done\r\n");
	expect_phase(EP_READY);
}
END_TEST

/* 12. An unsolicited 421, then the server closes. */
START_TEST(test_unsolicited_421)
{
	start_ready();
	feed_server("421 bye");
	expect_client("421 bye\r\n");
	ck_assert_int_eq(F.closes, 0);
	ev(EE_SERVER_CLOSED);
	ck_assert_int_eq(F.closes, 1);
	expect_client("");
	ck_assert(engine_phase(E) == EP_CLOSING || engine_phase(E) == EP_CLOSED);
	ck_assert(!engine_wants_client_line(E));
	ck_assert(!engine_wants_server_line(E));
}
END_TEST

/* 13. The server closes while a command waits. */
START_TEST(test_server_closed_outstanding)
{
	start_ready();
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	ev(EE_SERVER_CLOSED);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
	ck_assert(engine_phase(E) == EP_CLOSING || engine_phase(E) == EP_CLOSED);
}
END_TEST

START_TEST(test_client_closed)
{
	start_ready();
	feed_client("NOOP");
	ev(EE_CLIENT_CLOSED);
	ck_assert_int_eq(F.closes, 1);
	expect_client("");
	ck_assert(engine_phase(E) == EP_CLOSING || engine_phase(E) == EP_CLOSED);
}
END_TEST

/* The server closes while a transfer's final reply is held: the reply
 * still reaches the client once the data has, then the session ends. */
START_TEST(test_server_closed_held)
{
	start_ready();
	retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	ev(EE_SERVER_CLOSED);
	ck_assert_int_eq(F.closes, 0);
	expect_client("");
	ev(EE_DATA_TO_CLIENT_DONE);
	expect_client("226 Done\r\n");
	ck_assert_int_eq(F.closes, 1);
	ck_assert_int_eq(F.ends, 1);
}
END_TEST

/* ... and a command taken meanwhile gets its 421. */
START_TEST(test_server_closed_held_command)
{
	start_ready();
	retr_started();
	F.pending = true;
	feed_server("226 Done");
	feed_client("PWD");
	ev(EE_SERVER_CLOSED);
	ck_assert_int_eq(F.closes, 0);
	expect_client("");
	ev(EE_DATA_TO_CLIENT_DONE);
	ck_assert_msg(F.client.len > 10 && strncmp(F.client.p, "226 Done\r\n421 ", 14) == 0 &&
	    count_line(&F.client, "226 Done") == 1 && strstr(F.client.p + 10, "\r\n") ==
	    F.client.p + F.client.len - 2,
	    "client got \"%s\", expected the 226 then a 421", esc(F.client.p, F.client.len));
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* ... and so does a client line that waits for the transfer to end. */
START_TEST(test_server_closed_held_waiting)
{
	start_ready();
	retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	feed_client("RETR g");
	expect_server("");
	ev(EE_SERVER_CLOSED);
	ck_assert_int_eq(F.closes, 0);
	ev(EE_DATA_TO_CLIENT_DONE);
	expect_server("");
	ck_assert_msg(F.client.len > 10 && strncmp(F.client.p, "226 Done\r\n421 ", 14) == 0,
	    "client got \"%s\", expected the 226 then a 421", esc(F.client.p, F.client.len));
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* A reply the server began before the command was sent is not its answer. */
START_TEST(test_unsolicited_multiline)
{
	start_ready();
	feed_server("211-unsolicited");
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("211 end");
	expect_client("211-unsolicited\r\n211 end\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 1);
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* 14. A multi-line reply with other codes inside. */
START_TEST(test_multiline_mixed)
{
	start_ready();
	feed_client("STAT");
	expect_server("STAT\r\n");
	feed_server("211-Status:");
	feed_server("200 not the end");
	feed_server(" MDTM");
	feed_server("211-still not");
	ck_assert_uint_eq(engine_outstanding(E), 1);
	feed_server("211 End");
	expect_client("211-Status:\r\n200 not the end\r\n MDTM\r\n211-still not\r\n211 End\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	feed_client("HELP");
	expect_server("HELP\r\n");
	feed_server("214-The following commands are recognized.");
	feed_server("214 Help OK.");
	expect_client("214-The following commands are recognized.\r\n214 Help OK.\r\n");
}
END_TEST

/* 15. FEAT. */
static void
feat_from_server(void)
{
	feed_client("FEAT");
	expect_server("FEAT\r\n");
	feed_server("211-Features:");
	feed_server(" AUTH TLS");
	feed_server(" MDTM");
	feed_server(" PBSZ");
	feed_server(" PROT");
	feed_server("211 End");
}

START_TEST(test_feat_plain)
{
	start_ready();
	feat_from_server();
	expect_client("211-Features:\r\n MDTM\r\n211 End\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

START_TEST(test_feat_tls)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_AUTO;
	start_ready();
	feat_from_server();
	ck_assert_msg(F.client.len > 0 && strncmp(F.client.p, "211-", 4) == 0 &&
	    F.client.len >= 9 && strcmp(F.client.p + F.client.len - 9, "211 End\r\n") == 0,
	    "FEAT reply: \"%s\"", esc(F.client.p, F.client.len));
	ck_assert_msg(count_line(&F.client, " AUTH TLS") == 1 && count_line(&F.client, " PBSZ") == 1 &&
	    count_line(&F.client, " PROT") == 1 && count_line(&F.client, " MDTM") == 1,
	    "FEAT reply: \"%s\"", esc(F.client.p, F.client.len));
	buf_clear(&F.client);
	/* A server without features: the gateway still offers TLS. */
	feed_client("FEAT");
	feed_server("211 no features");
	ck_assert_msg(count_line(&F.client, " AUTH TLS") == 1 && count_line(&F.client, " PBSZ") == 1,
	    "FEAT reply: \"%s\"", esc(F.client.p, F.client.len));
	buf_clear(&F.client);
	/* A refusal passes on as it is. */
	feed_client("FEAT");
	feed_server("502 no FEAT");
	expect_client("502 no FEAT\r\n");
}
END_TEST

/* Feature lines without their leading space (or of other codes) are
 * normalised to " FEAT": the reply grows a byte a line, and must not be
 * lost or abort the gateway for that. */
START_TEST(test_feat_unindented)
{
	start_ready();
	feed_client("FEAT");
	feed_server("211-Features:");
	for (int i = 0; i < 100; i++)
		feed_server(i % 2 ? "MDTM" : "200 not the end");
	feed_server("211 End");
	ck_assert_int_eq(F.closes, 0);
	ck_assert_msg(F.client.len > 13 && strncmp(F.client.p, "211-Features:\r\n", 15) == 0 &&
	    count_line(&F.client, " MDTM") == 50 && count_line(&F.client, "211 End") == 1,
	    "client got \"%s\"", esc(F.client.p, F.client.len));
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* 16. Server lines with nothing outstanding. */
START_TEST(test_server_noise)
{
	start_ready();
	feed_server("\xff\xfb\x01");
	expect_client("");
	ck_assert_int_eq(F.closes, 0);
	feed_server("hello");
	expect_client("");
	ck_assert_int_eq(F.closes, 0);
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	/* A Telnet prefix on a reply line is removed. */
	feed_client("NOOP");
	feed_server("\xff\xfb\x01" "200 ok");
	expect_client("200 ok\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

START_TEST(test_server_garbage_outstanding)
{
	start_ready();
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("hello");
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* 17. The data channel fails. */
START_TEST(test_data_failed_before_final)
{
	start_ready();
	retr_started();
	ev(EE_DATA_FAILED);
	expect_client("");
	F.pending = false;
	feed_server("226 Done");
	expect_client_code("426");
	ck_assert_int_eq(F.ends, 1);
	ck_assert(!F.end_ok);
	expect_phase(EP_READY);
}
END_TEST

START_TEST(test_data_failed_held)
{
	start_ready();
	retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	ev(EE_DATA_FAILED);
	expect_client_code("426");
	ck_assert_int_eq(F.ends, 1);
	ck_assert(!F.end_ok);
	expect_phase(EP_READY);
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* 18. Overlong lines. */
START_TEST(test_line_too_long)
{
	start_ready();
	ck_assert(engine_wants_client_line(E));
	ev(EE_CLIENT_LINE_TOO_LONG);
	expect_client_code("500");
	expect_server("");
	ck_assert_int_eq(F.closes, 0);
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	ev(EE_SERVER_LINE_TOO_LONG);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* An overlong line behind a command is answered in its turn: the client
 * pairs replies with its commands by order. */
START_TEST(test_line_too_long_in_order)
{
	start_ready();
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	ck_assert(engine_wants_client_line(E));
	ev(EE_CLIENT_LINE_TOO_LONG);
	feed_server("200 ok");
	ck_assert_msg(F.client.len > 8 && strncmp(F.client.p, "200 ok\r\n500 ", 12) == 0,
	    "client got \"%s\", expected the 200 then the 500", esc(F.client.p, F.client.len));
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* 19. A collected reply over ENGINE_REPLY_MAX; a streamed one. Lines of
 * 100 bytes keep the reply under FTP_REPLY_MAX_LINES lines, so that it is
 * the byte bound that is tested. */
#define BIG_LINES	((ENGINE_REPLY_MAX / 100) + 200)
static void
feed_lines(char *line, int n)
{
	for (int i = 1; i < n && F.closes == 0; i++) {
		snprintf(line, 128, " FEATURE%05d %0*d", i, 80, i);
		feed_server(line);
	}
}

static void
big_reply(char *line)
{
	feed_lines(line, BIG_LINES);
}

START_TEST(test_reply_too_big)
{
	char line[128];

	start_ready();
	feed_client("FEAT");
	feed_server("211-Features:");
	big_reply(line);
	if (F.closes == 0)
		feed_server("211 End");
	ck_assert_int_eq(F.closes, 1);
	/* Nothing of the collected reply, only the 421. */
	expect_client_code("421");
}
END_TEST

START_TEST(test_reply_big_streamed)
{
	char line[128];

	start_ready();
	feed_client("STAT");
	feed_server("211-Status:");
	big_reply(line);
	feed_server("211 End");
	ck_assert_int_eq(F.closes, 0);
	/* Every line, in order, and nothing else. */
	{
		const char *p = F.client.p;
		size_t n = strlen("211-Status:\r\n");

		ck_assert_msg(F.client.len > n && memcmp(p, "211-Status:\r\n", n) == 0, "first line");
		p += n;
		for (int i = 1; i < BIG_LINES; i++) {
			n = (size_t)snprintf(line, sizeof(line), " FEATURE%05d %0*d\r\n", i, 80, i);
			ck_assert_msg(p + n <= F.client.p + F.client.len && memcmp(p, line, n) == 0,
			    "line %d missing", i);
			p += n;
		}
		ck_assert_msg(strcmp(p, "211 End\r\n") == 0, "last line \"%s\"", esc(p, strlen(p)));
	}
}
END_TEST

/* A big held final reply, then a big FEAT: the memory the engine keeps
 * stays within one collected reply and two lines. */
START_TEST(test_buffered_bound)
{
	char line[128];

	start_ready();
	retr_started();
	F.pending = true;
	feed_server("226-Transfer complete.");
	feed_lines(line, 600);
	feed_server("226 Done");
	expect_phase(EP_HELD);
	ev(EE_DATA_TO_CLIENT_DONE);
	expect_phase(EP_READY);
	buf_clear(&F.client);
	feed_client("FEAT");
	feed_server("211-Features:");
	feed_lines(line, 600);
	feed_server("211 End");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* 20. Backpressure. */
START_TEST(test_backpressure)
{
	char *longline = malloc(FTP_LINE_MAX);

	ck_assert_ptr_nonnull(longline);
	start_ready();
	for (int i = 0; i < 10; i++)
		queue_client("NOOP");
	pump();
	expect_server("NOOP\r\n");
	ck_assert_uint_le(F.q_head, 2);
	ck_assert(!engine_wants_client_line(E));
	feed_server("200 one");
	expect_client("200 one\r\n");
	expect_server("NOOP\r\n");
	ck_assert_uint_le(F.q_head, 3);
	ck_assert(!engine_wants_client_line(E));
	for (int i = 0; i < 9; i++)
		feed_server("200 ok");
	ck_assert_uint_eq(F.q_head, 10);
	ck_assert_uint_eq(engine_outstanding(E), 0);
	buf_clear(&F.client);
	buf_clear(&F.server);

	/* A longest line waiting behind a command. */
	feed_client("NOOP");
	memcpy(longline, "SITE ", 5);
	memset(longline + 5, 'x', FTP_LINE_MAX - 5);
	ck_assert(engine_wants_client_line(E));
	event(EE_CLIENT_LINE, longline, FTP_LINE_MAX);
	ck_assert(!engine_wants_client_line(E));
	ck_assert_uint_ge(engine_buffered(E), 1);
	ck_assert_uint_lt(engine_buffered(E), BUFFERED_BOUND);
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	ck_assert_uint_eq(F.server.len, FTP_LINE_MAX + 2);
	free(longline);
}
END_TEST

/* During a transfer only ABOR-like commands go on; one other waits. */
START_TEST(test_backpressure_transfer)
{
	start_ready();
	retr_started();
	queue_client("PWD");
	queue_client("SYST");
	pump();
	ck_assert_uint_eq(F.q_head, 1);
	ck_assert(!engine_wants_client_line(E));
	expect_server("");
	feed_server("226 Done");
	expect_client("226 Done\r\n");
	expect_server("PWD\r\n");
	feed_server("257 \"/\"");
	expect_server("SYST\r\n");
}
END_TEST

/* 21. TLS. */
START_TEST(test_tls_auth)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_AUTO;
	start();
	greet();
	feed_client("AUTH TLS");
	expect_server("AUTH TLS\r\n");
	expect_client("");
	expect_phase(EP_SERVER_AUTH);
	feed_server("234 go");
	ck_assert_int_eq(F.tls_servers, 1);
	expect_client("");
	expect_server("");
	expect_phase(EP_SERVER_TLS);
	ck_assert(engine_server_tls(E));
	ev(EE_SERVER_TLS_UP);
	expect_server("PBSZ 0\r\nPROT P\r\n");
	ck_assert_int_eq(F.tls_clients, 1);
	ck_assert_msg(F.client_len_at_tls_client == F.client.len,
	    "tls_client before the 234 was written: \"%s\"", esc(F.client.p, F.client.len));
	expect_client_code("234");
	expect_phase(EP_CLIENT_TLS);
	ck_assert(engine_client_tls(E));
	ev(EE_CLIENT_TLS_UP);
	expect_phase(EP_LOGIN);
	feed_server("200 PBSZ=0");
	feed_server("200 PROT P ok");
	expect_client("");
	expect_server("");
	ck_assert(engine_server_prot_p(E));
	ck_assert(!engine_client_prot_p(E));
	feed_client("PBSZ 0");
	expect_client_code("200");
	expect_server("");
	feed_client("PROT P");
	expect_client_code("200");
	expect_server("");
	ck_assert(engine_client_prot_p(E));
	login();
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

START_TEST(test_tls_refused_by_server)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_AUTO;
	start();
	greet();
	feed_client("PBSZ 0");
	expect_client_code("503");
	expect_server("");
	feed_client("AUTH TLS");
	expect_server("AUTH TLS\r\n");
	feed_server("500 AUTH not understood");
	ck_assert_int_eq(F.tls_servers, 0);
	/* With server-side = auto the client leg may still be secured; either
	 * way the client gets one answer and the session goes on. */
	ck_assert_msg(F.client.len > 4 && F.client.p[3] == ' ', "client got \"%s\"",
	    esc(F.client.p, F.client.len));
	buf_clear(&F.client);
	if (engine_phase(E) == EP_CLIENT_TLS) {
		ck_assert_int_eq(F.tls_clients, 1);
		ev(EE_CLIENT_TLS_UP);
	}
	expect_phase(EP_LOGIN);
	ck_assert(!engine_server_tls(E));
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* server-side = required: the gateway secures the server leg after the
 * greeting; a server that refuses ends the session, and nothing of the
 * engine runs after close(). */
START_TEST(test_tls_server_required_refused)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_REQUIRED;
	start();
	ev(EE_SERVER_CONNECTED);
	feed_server("220 hi");
	expect_client("220 hi\r\n");
	expect_server("AUTH TLS\r\n");
	expect_phase(EP_SERVER_AUTH);
	feed_server("500 no TLS here");
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
	ck_assert_int_eq(F.tls_servers, 0);
}
END_TEST

START_TEST(test_tls_server_required)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_REQUIRED;
	start();
	ev(EE_SERVER_CONNECTED);
	queue_client("USER bob");
	feed_server("220 hi");
	expect_client("220 hi\r\n");
	expect_server("AUTH TLS\r\n");
	feed_server("234 go");
	ck_assert_int_eq(F.tls_servers, 1);
	expect_phase(EP_SERVER_TLS);
	ck_assert(!engine_wants_server_line(E));
	expect_server("");
	ev(EE_SERVER_TLS_UP);
	expect_server("PBSZ 0\r\nPROT P\r\n");
	expect_client("");
	ck_assert_int_eq(F.tls_clients, 0);
	feed_server("200 PBSZ=0");
	feed_server("200 PROT P");
	expect_client("");
	/* The client's line waited for all that. */
	expect_server("USER bob\r\n");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	ck_assert(engine_server_prot_p(E));
}
END_TEST

START_TEST(test_tls_not_available)
{
	start();
	greet();
	feed_client("AUTH TLS");
	expect_client_code("502");
	expect_server("");
	expect_phase(EP_LOGIN);
}
END_TEST

START_TEST(test_tls_required)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_REQUIRED;
	C.server_side = TLS_SERVER_AUTO;
	start();
	greet();
	feed_client("USER bob");
	expect_client_code("530");
	expect_server("");
	ck_assert_int_eq(F.users, 0);
	feed_client("AUTH TLS");
	expect_server("AUTH TLS\r\n");
}
END_TEST

/* Both legs secured through AUTH TLS (server-side auto), the server
 * answering our PROT P with PROT_CODE, then logged in. */
static void
tls_both_legs(int client_side, int server_side, const char *prot_reply)
{
	C.tls_available = true;
	C.client_side = client_side;
	C.server_side = server_side;
	start();
	ev(EE_SERVER_CONNECTED);
	feed_server("220 hi");
	expect_client("220 hi\r\n");
	/* required: the gateway's own AUTH right after the greeting. */
	if (server_side != TLS_SERVER_REQUIRED)
		feed_client("AUTH TLS");
	expect_server("AUTH TLS\r\n");
	feed_server("234 go");
	ev(EE_SERVER_TLS_UP);
	expect_server("PBSZ 0\r\nPROT P\r\n");
	feed_server("200 PBSZ=0");
	feed_server(prot_reply);
	if (server_side == TLS_SERVER_REQUIRED)
		feed_client("AUTH TLS");
	expect_client_code("234");
	ev(EE_CLIENT_TLS_UP);
	expect_client("");
	expect_server("");
	login();
}

/* client-side = required: data never goes in clear on the client leg. */
START_TEST(test_tls_required_prot_c)
{
	tls_both_legs(TLS_CLIENT_REQUIRED, TLS_SERVER_AUTO, "200 PROT P");
	feed_client("PROT C");
	expect_client_code("534");
	expect_server("");
	ck_assert(!engine_client_prot_p(E));
	/* No PROT P yet: a transfer is refused before the server sees it,
	 * and the channel made for it is dropped. */
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	expect_client(PASV_REPLY "\r\n");
	feed_client("RETR f");
	expect_client_code("521");
	expect_server("");
	ck_assert_int_eq(F.begins, 0);
	ck_assert_int_eq(F.drops, 1);
	feed_client("PROT P");
	expect_client_code("200");
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	expect_client(PASV_REPLY "\r\n");
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	ck_assert_int_eq(F.begins, 1);
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* server-side = required and the server refuses PROT P: no data at all;
 * the rest of the dialogue goes on. */
START_TEST(test_tls_server_refuses_prot_p)
{
	tls_both_legs(TLS_CLIENT_OPTIONAL, TLS_SERVER_REQUIRED, "536 PROT P not here");
	ck_assert(!engine_server_prot_p(E));
	feed_client("PROT P");
	expect_client_code("200");
	feed_client("LIST");
	expect_client_code("521");
	expect_server("");
	ck_assert_int_eq(F.begins, 0);
	feed_client("PWD");
	expect_server("PWD\r\n");
	feed_server("257 \"/\"");
	expect_client_code("257");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* The same refusal under server-side = auto keeps a plaintext server leg
 * (logged): the transfer goes. */
START_TEST(test_tls_server_refuses_prot_p_auto)
{
	tls_both_legs(TLS_CLIENT_OPTIONAL, TLS_SERVER_AUTO, "536 PROT P not here");
	feed_client("LIST");
	expect_server("LIST\r\n");
	ck_assert_int_eq(F.begins, 1);
}
END_TEST

/* A channel set up under PROT C carries no PROT P transfer (the client
 * would speak TLS into a plaintext relay), and the other way round. */
START_TEST(test_tls_prot_changed_after_pasv)
{
	tls_both_legs(TLS_CLIENT_OPTIONAL, TLS_SERVER_AUTO, "200 PROT P");
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	expect_client(PASV_REPLY "\r\n");
	feed_client("PROT P");
	expect_client_code("200");
	feed_client("RETR f");
	expect_client_code("425");
	expect_server("");
	ck_assert_int_eq(F.begins, 0);
	ck_assert_int_eq(F.drops, 1);
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	expect_client(PASV_REPLY "\r\n");
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	ck_assert_int_eq(F.begins, 1);
}
END_TEST

/* 22. Timeouts. */
START_TEST(test_timeout_ready)
{
	start_ready();
	ev(EE_TIMEOUT);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

START_TEST(test_timeout_connecting)
{
	start();
	ev(EE_TIMEOUT);
	expect_client_code("421");
	expect_server("");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* The header leaves it to the caller not to feed EE_TIMEOUT while data
 * flows (session.c re-arms then); a timeout that is fed is an idle one,
 * in a transfer too, and a held reply does not survive it. */
START_TEST(test_timeout_transfer)
{
	start_ready();
	retr_started();
	ev(EE_TIMEOUT);
	expect_client_code("421");
	expect_server("");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

START_TEST(test_timeout_held)
{
	start_ready();
	retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	ev(EE_TIMEOUT);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* 23. Shutdown. */
START_TEST(test_shutdown)
{
	static const char text[] = "421 Gateway shutting down.";
	struct engine_event shut = { .type = EE_SHUTDOWN, .text = text, .len = strlen(text) };

	/* TEXT is a C string here (session.c passes len 0); the header
	 * only says LINE events are not NUL-terminated. */
	start_ready();
	engine_event(E, &shut);
	invariants();
	expect_client("421 Gateway shutting down.\r\n");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* 24. After close, nothing. */
START_TEST(test_after_close)
{
	static const enum engine_ev all[] = {
		EE_SERVER_CONNECTED, EE_SERVER_TLS_UP, EE_CLIENT_TLS_UP, EE_CLIENT_LINE,
		EE_SERVER_LINE, EE_CLIENT_LINE_TOO_LONG, EE_SERVER_LINE_TOO_LONG,
		EE_DATA_TO_CLIENT_DONE, EE_DATA_DONE, EE_DATA_FAILED, EE_SERVER_CLOSED,
		EE_CLIENT_CLOSED, EE_TIMEOUT, EE_SHUTDOWN,
	};

	start_ready();
	feed_client("NOOP");
	ev(EE_SERVER_CLOSED);
	ck_assert_int_eq(F.closes, 1);
	ck_assert(!engine_wants_client_line(E));
	ck_assert(!engine_wants_server_line(E));
	expect_client_code("421");
	expect_server("NOOP\r\n");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		event_raw(all[i], "200 ok", 6);
	ck_assert_int_eq(F.closes, 1);
	ck_assert_int_eq(F.after_close, 0);
	expect_client("");
	expect_server("");
}
END_TEST


/* ------------------------------------------------------------------ */
/* Explicit proxy mode */

#define PROXY_GREETING "220 ftpgw FTP proxy ready: log in as user@host[:port].\r\n"

static void
proxy_start(void)
{
	C.proxy = true;
	E = engine_new(&C, &OPS, &F);
	ck_assert_ptr_nonnull(E);
	expect_phase(EP_PROXY_LOGIN);
	ev(EE_PROXY_GREET);
	expect_client(PROXY_GREETING);
	expect_phase(EP_PROXY_LOGIN);
	ck_assert(engine_wants_client_line(E));
	ck_assert(!engine_wants_server_line(E));
}

/* USER LINE names the server HOST:PORT; the server greets, and gets
 * USER SENT. */
static void
proxy_connect(const char *line, const char *host, unsigned port, const char *sent)
{
	feed_client(line);
	ck_assert_int_eq(F.proxy_connects, 1);
	ck_assert_str_eq(F.proxy_host, host);
	ck_assert_uint_eq(F.proxy_port, port);
	expect_phase(EP_CONNECTING);
	ck_assert(!engine_wants_client_line(E));
	expect_client("");
	expect_server("");
	ev(EE_SERVER_CONNECTED);
	expect_phase(EP_GREETING);
	feed_server("220-Welcome to the real server");
	feed_server("220 ready");
	/* The client has the gateway's greeting; the server's is swallowed. */
	expect_client("");
	expect_server(sent);
	expect_phase(EP_LOGIN);
}

START_TEST(test_proxy_login)
{
	proxy_start();
	/* Before USER the gateway answers alone. */
	feed_client("SYST");
	expect_client_code("530");
	feed_client("PASS early");
	expect_client_code("503");
	feed_client("FEAT");
	expect_client_code("211");
	feed_client("NOOP");
	expect_client_code("200");
	feed_client("HELP");
	expect_client_code("214");
	feed_client("USER bob");
	expect_client_code("530");
	feed_client("USER bob@");
	expect_client_code("501");
	feed_client("USER bob@host:0");
	expect_client_code("501");
	expect_server("");
	ck_assert_int_eq(F.proxy_connects, 0);
	expect_phase(EP_PROXY_LOGIN);

	queue_client("PASS secret");
	proxy_connect("USER bob@ftp.example.org:2121", "ftp.example.org", 2121, "USER bob\r\n");
	ck_assert_int_eq(F.users, 1);
	ck_assert_str_eq(F.user, "bob");
	/* PASS waited for USER's reply. */
	feed_server("331 Password please");
	expect_client("331 Password please\r\n");
	expect_server("PASS secret\r\n");
	feed_server("230 Logged in");
	expect_client("230 Logged in\r\n");
	expect_phase(EP_READY);
	ck_assert(engine_logged_in(E));
	/* From here on as in the other modes. */
	passive();
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

START_TEST(test_proxy_user_forms)
{
	proxy_start();
	proxy_connect("USER a@b.c@host", "host", 21, "USER a@b.c\r\n");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	teardown();
	setup();
	proxy_start();
	proxy_connect("USER bob@[2001:db8::1]:2121", "2001:db8::1", 2121, "USER bob\r\n");
}
END_TEST

/* USER again on the same connection: the same server only. */
START_TEST(test_proxy_user_again)
{
	proxy_start();
	proxy_connect("USER bob@ftp.example.org", "ftp.example.org", 21, "USER bob\r\n");
	feed_server("530 Login incorrect");
	expect_client("530 Login incorrect\r\n");
	feed_client("USER bob@other.example.org");
	expect_client_code("530");
	expect_server("");
	feed_client("USER bob");
	expect_client_code("530");
	feed_client("USER alice@FTP.example.org:21");
	expect_server("USER alice\r\n");
	ck_assert_int_eq(F.proxy_connects, 1);
	ck_assert_str_eq(F.user, "alice");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
}
END_TEST

/* A server that refuses the session: its reply answers USER. */
START_TEST(test_proxy_server_refuses)
{
	proxy_start();
	feed_client("USER bob@host");
	ev(EE_SERVER_CONNECTED);
	feed_server("421 Too many users");
	expect_client("421 Too many users\r\n");
	expect_server("");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

START_TEST(test_proxy_unreachable)
{
	proxy_start();
	feed_client("USER bob@host");
	ev(EE_SERVER_CLOSED);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
	teardown();
	setup();
	proxy_start();
	feed_client("USER bob@host");
	ev(EE_TIMEOUT);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
	ck_assert_str_eq(F.close_reason, "server connect timeout");
}
END_TEST

START_TEST(test_proxy_quit_idle)
{
	proxy_start();
	feed_client("QUIT");
	expect_client_code("221");
	ck_assert_int_eq(F.closes, 1);
	teardown();
	setup();
	proxy_start();
	ev(EE_TIMEOUT);
	expect_client_code("421");
	ck_assert_str_eq(F.close_reason, "idle timeout");
	ck_assert_int_eq(F.proxy_connects, 0);
}
END_TEST

/* The client secures its leg before the server is known; server-side auto
 * follows it once the server greets. */
static void
proxy_client_tls(void)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_AUTO;
	proxy_start();
	feed_client("FEAT");
	expect_client("211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n");
	feed_client("AUTH TLS");
	expect_client_code("234");
	expect_server("");
	ck_assert_int_eq(F.tls_clients, 1);
	expect_phase(EP_CLIENT_TLS);
	ev(EE_CLIENT_TLS_UP);
	expect_phase(EP_PROXY_LOGIN);
	feed_client("PBSZ 0");
	expect_client_code("200");
	feed_client("PROT P");
	expect_client_code("200");
	feed_client("USER bob@host");
	ck_assert_int_eq(F.proxy_connects, 1);
	ev(EE_SERVER_CONNECTED);
	feed_server("220 hi");
	expect_client("");
	expect_server("AUTH TLS\r\n");
	expect_phase(EP_SERVER_AUTH);
}

START_TEST(test_proxy_tls)
{
	proxy_client_tls();
	feed_server("234 go");
	ck_assert_int_eq(F.tls_servers, 1);
	expect_phase(EP_SERVER_TLS);
	ev(EE_SERVER_TLS_UP);
	expect_server("PBSZ 0\r\nPROT P\r\nUSER bob\r\n");
	feed_server("200 PBSZ=0");
	feed_server("200 PROT P");
	expect_client("");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	ck_assert(engine_server_prot_p(E));
	ck_assert(engine_client_prot_p(E));
	expect_phase(EP_LOGIN);
}
END_TEST

START_TEST(test_proxy_tls_refused_auto)
{
	proxy_client_tls();
	feed_server("500 AUTH not understood");
	expect_client("");
	expect_server("USER bob\r\n");
	expect_phase(EP_LOGIN);
	ck_assert(!engine_server_tls(E));
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

START_TEST(test_proxy_tls_server_required)
{
	C.tls_available = false;
	C.client_side = TLS_CLIENT_OFF;
	C.server_side = TLS_SERVER_REQUIRED;
	proxy_start();
	feed_client("AUTH TLS");
	expect_client_code("502");
	feed_client("USER bob@host");
	ev(EE_SERVER_CONNECTED);
	feed_server("220 hi");
	expect_server("AUTH TLS\r\n");
	feed_server("502 no TLS here");
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* client-side = required: no login before AUTH TLS, so no password in
 * clear on the client's leg. */
START_TEST(test_proxy_tls_client_required)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_REQUIRED;
	C.server_side = TLS_SERVER_AUTO;
	proxy_start();
	feed_client("USER bob@host");
	expect_client_code("530");
	ck_assert_int_eq(F.proxy_connects, 0);
	expect_phase(EP_PROXY_LOGIN);
}
END_TEST

Suite *
suite_engine(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("dialogue");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_greeting);
	tcase_add_test(tc, test_greeting_multiline);
	tcase_add_test(tc, test_login);
	tcase_add_test(tc, test_login_refused);
	tcase_add_test(tc, test_login_pipelined);
	tcase_add_test(tc, test_strict_order);
	tcase_add_test(tc, test_strict_refused_setup);
	tcase_add_test(tc, test_strict_off);
	tcase_add_test(tc, test_deny);
	tcase_add_test(tc, test_deny_alias);
	tcase_add_test(tc, test_deny_telnet);
	tcase_add_test(tc, test_reply_telnet);
	tcase_add_test(tc, test_allow);
	tcase_add_test(tc, test_rules);
	tcase_add_test(tc, test_lprt_lpsv);
	tcase_add_test(tc, test_228_never_passes);
	tcase_add_test(tc, test_strict_before_login);
	tcase_add_test(tc, test_transfer_held);
	tcase_add_test(tc, test_transfer_not_held);
	tcase_add_test(tc, test_transfer_then_command);
	tcase_add_test(tc, test_data_setup_refused);
	tcase_add_test(tc, test_abor_transfer);
	tcase_add_test(tc, test_abor_telnet);
	tcase_add_test(tc, test_abor_single_reply);
	tcase_add_test(tc, test_abor_before_1xx);
	tcase_add_test(tc, test_abor_idle);
	tcase_add_test(tc, test_abor_held);
	tcase_add_test(tc, test_held_local_answer);
	tcase_add_test(tc, test_held_auth);
	tcase_add_test(tc, test_held_one_command);
	tcase_add_test(tc, test_1xx_after_abor);
	tcase_add_test(tc, test_1xx_multiline);
	tcase_add_test(tc, test_unsolicited_421);
	tcase_add_test(tc, test_server_closed_outstanding);
	tcase_add_test(tc, test_client_closed);
	tcase_add_test(tc, test_server_closed_held);
	tcase_add_test(tc, test_server_closed_held_command);
	tcase_add_test(tc, test_server_closed_held_waiting);
	tcase_add_test(tc, test_unsolicited_multiline);
	tcase_add_test(tc, test_multiline_mixed);
	tcase_add_test(tc, test_feat_plain);
	tcase_add_test(tc, test_feat_tls);
	tcase_add_test(tc, test_feat_unindented);
	tcase_add_test(tc, test_server_noise);
	tcase_add_test(tc, test_server_garbage_outstanding);
	tcase_add_test(tc, test_data_failed_before_final);
	tcase_add_test(tc, test_data_failed_held);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_line_too_long_in_order);
	tcase_add_test(tc, test_reply_too_big);
	tcase_add_test(tc, test_reply_big_streamed);
	tcase_add_test(tc, test_buffered_bound);
	tcase_add_test(tc, test_backpressure);
	tcase_add_test(tc, test_backpressure_transfer);
	tcase_add_test(tc, test_tls_auth);
	tcase_add_test(tc, test_tls_refused_by_server);
	tcase_add_test(tc, test_tls_server_required_refused);
	tcase_add_test(tc, test_tls_server_required);
	tcase_add_test(tc, test_tls_not_available);
	tcase_add_test(tc, test_tls_required);
	tcase_add_test(tc, test_tls_required_prot_c);
	tcase_add_test(tc, test_tls_server_refuses_prot_p);
	tcase_add_test(tc, test_tls_server_refuses_prot_p_auto);
	tcase_add_test(tc, test_tls_prot_changed_after_pasv);
	tcase_add_test(tc, test_timeout_ready);
	tcase_add_test(tc, test_timeout_connecting);
	tcase_add_test(tc, test_timeout_transfer);
	tcase_add_test(tc, test_timeout_held);
	tcase_add_test(tc, test_shutdown);
	tcase_add_test(tc, test_after_close);
	suite_add_tcase(s, tc);

	tc = tcase_create("proxy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_proxy_login);
	tcase_add_test(tc, test_proxy_user_forms);
	tcase_add_test(tc, test_proxy_user_again);
	tcase_add_test(tc, test_proxy_server_refuses);
	tcase_add_test(tc, test_proxy_unreachable);
	tcase_add_test(tc, test_proxy_quit_idle);
	tcase_add_test(tc, test_proxy_tls);
	tcase_add_test(tc, test_proxy_tls_refused_auto);
	tcase_add_test(tc, test_proxy_tls_server_required);
	tcase_add_test(tc, test_proxy_tls_client_required);
	suite_add_tcase(s, tc);
	return s;
}

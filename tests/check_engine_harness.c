/* check_engine_harness.c: the harness of the check_engine*.c unit tests
 * of src/engine.c (see check_engine.h): the fake effects, the events with
 * their invariants, the checks of the output, and the common openings of
 * a session. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "check_engine.h"
#include "engine.h"
#include "ftp_proto.h"
#include "log.h"

static void
buf_add(struct et_buf *b, const char *s, size_t n)
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

void
et_buf_clear(struct et_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

/* The state of the running test (check_engine.h). */
struct et_fake F;
struct engine_conf C;
struct engine *E;

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

const struct engine_ops et_ops = {
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
const char *
et_esc(const char *s, size_t len)
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

void
et_setup(void)
{
	memset(&F, 0, sizeof(F));
	memset(&C, 0, sizeof(C));
	C.sid = 7;
	E = NULL;
	log_init("check_engine", true, LL_ERROR);
}

void
et_teardown(void)
{
	if (E != NULL)
		engine_free(E);
	E = NULL;
	free(F.client.p);
	free(F.server.p);
}

/* After every event: close at most once, nothing after it, bounded memory. */
void
et_invariants(void)
{
	ck_assert_msg(F.closes <= 1, "close called %d times", F.closes);
	ck_assert_msg(F.after_close == 0, "%d effect(s) after close", F.after_close);
	ck_assert_msg(engine_buffered(E) < BUFFERED_BOUND, "engine_buffered() = %zu",
	    engine_buffered(E));
	ck_assert_uint_le(engine_outstanding(E), ENGINE_PENDING_MAX);
}

void
et_event_raw(enum engine_ev type, const char *text, size_t len)
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
	et_invariants();
}

/* As the session does after every event: read client lines while the
 * engine wants them. */
void
et_pump(void)
{
	while (F.q_head < F.q_tail && F.closes == 0 && engine_wants_client_line(E)) {
		const char *line = F.queue[F.q_head++];

		et_event_raw(EE_CLIENT_LINE, line, strlen(line));
	}
}

void
et_event(enum engine_ev type, const char *text, size_t len)
{
	et_event_raw(type, text, len);
	et_pump();
}

void
et_ev(enum engine_ev type)
{
	et_event(type, NULL, 0);
}

void
et_queue_client(const char *line)
{
	ck_assert_uint_lt(F.q_tail, sizeof(F.queue) / sizeof(F.queue[0]));
	F.queue[F.q_tail++] = line;
}

void
et_feed_client_at(const char *line, int at)
{
	ck_assert_msg(engine_wants_client_line(E),
	    "line %d: the engine does not want client line \"%s\" (phase %s)", at,
	    et_esc(line, strlen(line)), engine_phase_name(engine_phase(E)));
	et_event(EE_CLIENT_LINE, line, strlen(line));
}

void
et_feed_server_at(const char *line, int at)
{
	ck_assert_msg(engine_wants_server_line(E),
	    "line %d: the engine does not want server line \"%s\" (phase %s)", at,
	    et_esc(line, strlen(line)), engine_phase_name(engine_phase(E)));
	et_event(EE_SERVER_LINE, line, strlen(line));
}

void
et_expect_buf(struct et_buf *b, const char *who, const char *want, int at)
{
	ck_assert_msg(b->len == strlen(want) && memcmp(b->p != NULL ? b->p : "", want, b->len) == 0,
	    "line %d: the %s got \"%s\", expected \"%s\"", at, who,
	    et_esc(b->p != NULL ? b->p : "", b->len), et_esc(want, strlen(want)));
	et_buf_clear(b);
}

/* Exactly one line "CODE text\r\n" (the text is the engine's). */
void
et_expect_code(struct et_buf *b, const char *who, const char *code, int at)
{
	const char *p = b->p != NULL ? b->p : "";
	const char *crlf = strstr(p, "\r\n");

	ck_assert_msg(b->len > 5 && memcmp(p, code, 3) == 0 && p[3] == ' ' &&
	    crlf != NULL && crlf + 2 == p + b->len,
	    "line %d: the %s got \"%s\", expected one line \"%s ...\\r\\n\"", at, who,
	    et_esc(p, b->len), code);
	et_buf_clear(b);
}

void
et_expect_phase_at(enum engine_phase ph, int at)
{
	ck_assert_msg(engine_phase(E) == ph, "line %d: phase %s, expected %s", at,
	    engine_phase_name(engine_phase(E)), engine_phase_name(ph));
}

/* How many lines of B are exactly LINE. */
int
et_count_line(const struct et_buf *b, const char *line)
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

void
et_start(void)
{
	E = engine_new(&C, &et_ops, &F);
	ck_assert_ptr_nonnull(E);
	expect_phase(EP_CONNECTING);
	ck_assert(!engine_logged_in(E));
}

void
et_greet(void)
{
	et_ev(EE_SERVER_CONNECTED);
	expect_phase(EP_GREETING);
	feed_server("220 hi");
	expect_client("220 hi\r\n");
	expect_server("");
	expect_phase(EP_LOGIN);
}

void
et_login(void)
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

void
et_start_ready(void)
{
	et_start();
	et_greet();
	et_login();
}

void
et_passive(void)
{
	feed_client("PASV");
	expect_server("PASV\r\n");
	expect_client("");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	expect_client(PASV_REPLY "\r\n");
	expect_server("");
}

/* PASV, RETR f and its 150: the transfer runs. */
void
et_retr_started(void)
{
	int begins = F.begins;

	et_passive();
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

/* fuzz_engine.c: stateful libFuzzer target for src/engine.c. The input is
 * a script of events: client lines, server lines, data and TLS events,
 * connect, close, timeouts, and the results the fake effects give (data
 * channel refused, data still pending). The first byte picks the mode:
 *
 *   even: the server sends arbitrary bytes. Checked: no crash or sanitizer
 *         report, engine_buffered() bounded after every event, close()
 *         at most once and no effect after it.
 *   odd:  a model server answers every command the engine sends it with
 *         exactly one well-formed final reply (a 150 first for transfers).
 *         After the script the model answers until nothing is outstanding;
 *         then the client must have received one final reply per command
 *         line the engine took (plus the greeting), unless the session
 *         closed with a 421 or the client left. ABOR is left out of this
 *         mode: one server reply may answer an ABOR and its transfer.
 *
 * Both modes: no reply with code 228 reaches the client; no LPRT or LPSV
 * reaches the server; no bare 0xFF reaches either. Bit 2 of the first byte sets an
 * allow-commands list.
 *
 * The second byte is the configuration (strict, deny-commands, TLS). The
 * caller's contract is kept: a line is fed only while the engine wants
 * one, and lines are at most FTP_LINE_MAX bytes without LF. Build and run
 * with tests/fuzz/run.sh. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "engine.h"
#include "ftp_proto.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() rather than assert(): the check must hold in NDEBUG builds too. */
#define REQUIRE(cond)	do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_engine.c:%d: REQUIRE(%s) failed\n", __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#define BUFFERED_BOUND	(ENGINE_REPLY_MAX + 2 * FTP_LINE_MAX)
#define MODEL_MAX	64
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const client_dict[] = {
	"USER bob", "PASS x", "SYST", "NOOP", "PWD", "CWD /d", "TYPE I", "PASV", "EPSV",
	"EPSV ALL", "EPSV 2", "PORT 10,0,0,9,4,2", "EPRT |1|10.0.0.9|1026|", "RETR f",
	"STOR f", "LIST", "NLST", "MLSD", "STOU", "APPE f", "STAT", "HELP", "FEAT",
	"AUTH TLS", "AUTH SSL", "AUTH X", "PBSZ 0", "PROT P", "PROT C", "PROT S", "CCC",
	"REIN", "QUIT", "SITE EXEC x", "SITE CHMOD 644 f", "DELE f", "ABOR",
	("\xff\xf4\xff\xf2" "ABOR"), "", "  ", "hello world", "OPTS UTF8 ON", "REST 0",
	"SIZE f", "MDTM f", "ACCT a", "\xff\xfb\x01",
	"LPSV", "LPRT 4,4,10,0,0,9,2,4,2", "XMKD d", "MKD d", "CLNT x", "XYZW",
	"SITE CH\xff\xff\xfbXMOD 644 f", "DE\xff\xf1LE f",
};

static const char *const server_dict[] = {
	"220 hi", "220-hi", "331 pw", "230 in", "150 ok", "125 go", "226 done", "225 ok",
	"426 aborted", "200 ok", "227 Entering Passive Mode (10,0,0,5,4,1).",
	"229 Extended (|||1025|)", "211-Features:", " AUTH TLS", " MDTM", " PBSZ", "211 End",
	"234 go", "421 bye", "\xff\xfb\x01", "500 no", "530 login", "hello", "",
	" continuation", "200-", "200", "550 no",
	"228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)", "228-",
};

static const char *const deny_list[] = { "SITE EXEC", "DELE" };
static const char *const allow_list[] = { "USER", "PASS", "PASV", "EPSV", "RETR",
	"NOOP", "MKD", "SITE CHMOD" };

/* The script, consumed from the front; zeros once it is used up. */
static const uint8_t *in_p;
static size_t in_left;

static unsigned
take(void)
{
	if (in_left == 0)
		return 0;
	in_left--;
	return *in_p++;
}

/* The model server's view of one command it has to answer. */
struct cmd {
	enum ftp_verb verb;
	bool greeting;
	bool sent_1xx;
};

static struct world {
	struct engine *e;
	bool model;
	int closes, after_close;
	int open_result;
	bool pending;
	bool refuse_setup;
	bool need_server_tls, need_client_tls;
	bool client_left;
	/* The client's side: whole replies counted with a reply parser. */
	char cline[FTP_LINE_MAX + 600];
	size_t cline_len;
	struct ftp_reply_parser cp;
	unsigned finals;
	char last[4];
	/* Client lines the engine took, and the greeting answered. */
	unsigned taken, greetings;
	/* The model: what the engine sent and is not answered yet. */
	struct cmd cmds[MODEL_MAX];
	unsigned c_head, c_n;
	char sline[FTP_LINE_MAX + 3];
	size_t sline_len;
} W;

/* FUZZ_ENGINE_TRACE=1 in the environment: print the dialogue (to replay
 * a crash file and see what happened). */
static int trace = -1;

static void
tr(const char *what, const char *s, size_t len)
{
	if (trace == -1)
		trace = getenv("FUZZ_ENGINE_TRACE") != NULL;
	if (!trace)
		return;
	fprintf(stderr, "%-8s ", what);
	for (size_t i = 0; s != NULL && i < len && i < 200; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n')
			fprintf(stderr, "%s", c == '\r' ? "\\r" : "\\n");
		else if (c < 0x20 || c > 0x7e)
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	if (s != NULL && len > 200)
		fprintf(stderr, "... (%zu bytes)", len);
	fputc('\n', stderr);
}

static void
effect(void)
{
	if (W.closes > 0)
		W.after_close++;
}

static void
client_line_done(const char *line, size_t len)
{
	enum ftp_reply_status st = ftp_reply_feed(&W.cp, line, len);

	if (W.model)
		REQUIRE(st != FTP_REPLY_BAD);
	/* A data byte 255 goes as IAC IAC, in replies too (RFC 854). */
	for (size_t j = 0; j < len; j++)
		if ((unsigned char)line[j] == 0xff)
			REQUIRE(j + 1 < len && (unsigned char)line[++j] == 0xff);
	/* A 228 (LPSV's) carries an address nobody translated. */
	REQUIRE(st == FTP_REPLY_BAD || W.cp.lines > 1 || W.cp.code != 228);
	if (st == FTP_REPLY_DONE && W.cp.code >= 200)
		W.finals++;
	memset(W.last, 0, sizeof(W.last));
	memcpy(W.last, line, len < 4 ? len : 4);
}

static void
fx_to_client(void *ctx, const char *b, size_t len)
{
	(void)ctx;
	effect();
	tr("  >C", b, len);
	/* Whole lines, CRLF included. */
	REQUIRE(len >= 2 && b[len - 2] == '\r' && b[len - 1] == '\n');
	for (size_t i = 0; i < len; i++) {
		if (b[i] == '\n' && W.cline_len > 0 && W.cline[W.cline_len - 1] == '\r') {
			client_line_done(W.cline, W.cline_len - 1);
			W.cline_len = 0;
			continue;
		}
		REQUIRE(W.cline_len < sizeof(W.cline));
		W.cline[W.cline_len++] = b[i];
	}
}

static void
model_push(enum ftp_verb verb, bool greeting)
{
	struct cmd *c;

	REQUIRE(W.c_n < MODEL_MAX);
	c = &W.cmds[(W.c_head + W.c_n++) % MODEL_MAX];
	c->verb = verb;
	c->greeting = greeting;
	c->sent_1xx = false;
}

static void
fx_to_server(void *ctx, const char *b, size_t len)
{
	(void)ctx;
	effect();
	tr("  >S", b, len);
	REQUIRE(len >= 2 && b[len - 2] == '\r' && b[len - 1] == '\n');
	for (size_t i = 0; i < len; i++) {
		if (b[i] == '\n' && W.sline_len > 0 && W.sline[W.sline_len - 1] == '\r') {
			struct ftp_command cmd;

			/* Only valid commands go to a server, never LPRT or
			 * LPSV, and a data byte 255 as IAC IAC (RFC 854). */
			REQUIRE(ftp_command_parse(W.sline, W.sline_len - 1, &cmd) == 0);
			REQUIRE(cmd.verb != FTP_V_LPRT && cmd.verb != FTP_V_LPSV);
			for (size_t j = 0; j + 1 < W.sline_len; j++)
				if ((unsigned char)W.sline[j] == 0xff)
					REQUIRE((unsigned char)W.sline[++j] == 0xff);
			if (W.model)
				model_push(cmd.verb, false);
			W.sline_len = 0;
			continue;
		}
		REQUIRE(W.sline_len < sizeof(W.sline));
		W.sline[W.sline_len++] = b[i];
	}
}

static int
fx_data_open(void *ctx, const struct ftp_command *cmd, struct engine_data_req *req)
{
	const char *line = "PASV";

	(void)ctx;
	effect();
	if (W.open_result != 0) {
		snprintf(req->reply, sizeof(req->reply), "425 Can't open data connection.");
		return -1;
	}
	req->server_verb = FTP_V_PASV;
	if (cmd->verb == FTP_V_EPSV) {
		req->server_verb = FTP_V_EPSV;
		line = "EPSV";
	} else if (cmd->verb == FTP_V_PORT || cmd->verb == FTP_V_EPRT) {
		req->server_verb = FTP_V_PORT;
		line = "PORT 203,0,113,2,195,81";
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
	(void)server_verb;
	effect();
	REQUIRE(len >= 5 && text[len - 2] == '\r' && text[len - 1] == '\n');
	if (W.refuse_setup)
		r = "425 Can't open data connection.";
	else if (code == 227 && client_verb == FTP_V_PASV)
		r = "227 Entering Passive Mode (198,51,100,1,195,80).";
	else if (code == 229 && client_verb == FTP_V_EPSV)
		r = "229 Entering Extended Passive Mode (|||50000|)";
	else if (code == 200 && (client_verb == FTP_V_PORT || client_verb == FTP_V_EPRT))
		r = "200 PORT command successful.";
	if (r == NULL)
		return 0;
	REQUIRE(size > strlen(r));
	memcpy(line, r, strlen(r));
	return strlen(r);
}

static bool
fx_data_pending(void *ctx, bool seen_1xx, int code)
{
	(void)ctx;
	(void)seen_1xx;
	effect();
	REQUIRE(code >= 200 && code <= 599);
	return W.pending;
}

static void
fx_data_drop(void *ctx)
{
	(void)ctx;
	effect();
	tr("  drop", NULL, 0);
}

static void
fx_active(void *ctx)
{
	(void)ctx;
	effect();
	tr("  active", NULL, 0);
}

static void
fx_transfer_begin(void *ctx, const struct ftp_command *cmd)
{
	(void)ctx;
	effect();
	tr("  begin", cmd->name, strlen(cmd->name));
	REQUIRE(ftp_verb_is_transfer(cmd->verb));
}

static void
fx_transfer_end(void *ctx, int code, bool ok)
{
	(void)ctx;
	effect();
	tr(ok ? "  end-ok" : "  end-bad", NULL, 0);
	REQUIRE(code >= 200 && code <= 599);
}

static void
fx_tls_server(void *ctx)
{
	(void)ctx;
	effect();
	tr("  tls-srv", NULL, 0);
	W.need_server_tls = true;
}

static void
fx_tls_client(void *ctx)
{
	(void)ctx;
	effect();
	tr("  tls-cli", NULL, 0);
	W.need_client_tls = true;
}

static void
fx_user(void *ctx, const char *name)
{
	(void)ctx;
	effect();
	REQUIRE(name != NULL);
}

static void
fx_close(void *ctx, const char *reason)
{
	(void)ctx;
	effect();
	tr("  close", reason, reason != NULL ? strlen(reason) : 0);
	W.closes++;
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
	.active = fx_active,
	.close = fx_close,
};

/* One event, with TEXT in a heap buffer of exactly LEN bytes. */
static void
feed(enum engine_ev type, const char *text, size_t len)
{
	struct engine_event ev = { .type = type };
	char *copy = NULL;

	if (text != NULL) {
		copy = malloc(len + 1);
		REQUIRE(copy != NULL);
		memcpy(copy, text, len);
		copy[len] = '\0';        /* EE_SHUTDOWN takes a C string */
		ev.text = copy;
		ev.len = len;
	}
	if (trace != 0) {
		static const char *const names[] = { "connect", "s-tls-up", "c-tls-up", "C:", "S:",
		    "C-long", "S-long", "d-client", "d-done", "d-failed", "s-closed", "c-closed",
		    "timeout", "shutdown" };

		tr(names[type], text, len);
	}
	engine_event(W.e, &ev);
	free(copy);
	if (trace > 0)
		fprintf(stderr, "         [%s, %u outstanding]\n", engine_phase_name(engine_phase(W.e)),
		    engine_outstanding(W.e));
	REQUIRE(W.closes <= 1);
	REQUIRE(W.after_close == 0);
	REQUIRE(engine_buffered(W.e) < BUFFERED_BOUND);
	REQUIRE(engine_outstanding(W.e) <= ENGINE_PENDING_MAX);
	REQUIRE(engine_phase(W.e) < EP_COUNT);
}

/* A line from the script: a dictionary entry, maybe with bytes added, or
 * raw bytes. Never an LF; at most FTP_LINE_MAX bytes. */
static size_t
script_line(char *line, const char *const *dict, size_t n_dict)
{
	unsigned pick = take();
	size_t len = 0, extra;

	if (pick < 0xc0) {
		len = strlen(dict[pick % n_dict]);
		memcpy(line, dict[pick % n_dict], len);
		if ((pick & 0x80) == 0)
			return len;
	}
	extra = take();
	if (extra == 0xff)               /* now and then a longest line */
		extra = FTP_LINE_MAX;
	for (size_t i = 0; i < extra && len < FTP_LINE_MAX; i++) {
		char c = (char)take();

		line[len++] = c == '\n' ? ' ' : c;
	}
	return len;
}

static void
client_line(void)
{
	char line[FTP_LINE_MAX + 1], copy[FTP_LINE_MAX + 1];
	size_t len = script_line(line, client_dict, NELEM(client_dict)), n;
	struct ftp_command cmd;

	if (!engine_wants_client_line(W.e))
		return;
	memcpy(copy, line, len);
	n = ftp_telnet_strip(copy, len);
	if (W.model && n > 0 && ftp_command_parse(copy, n, &cmd) == 0 && cmd.verb == FTP_V_ABOR)
		return;
	if (n > 0)
		W.taken++;
	feed(EE_CLIENT_LINE, line, len);
}

/* The model answers the oldest command it was sent: one reply (or, for a
 * transfer not yet started, perhaps its 150), maybe multi-line. */
static void
model_answer(void)
{
	struct cmd *c;
	char first[160], mid[64];
	int code;
	unsigned r = take();
	const char *text = "done";

	if (W.c_n == 0 || !engine_wants_server_line(W.e))
		return;
	c = &W.cmds[W.c_head];
	code = 200 + (int)(r % 400);
	if (c->greeting) {
		code = 220;
	} else if (ftp_verb_is_transfer(c->verb) && !c->sent_1xx && (r & 1) == 0) {
		c->sent_1xx = true;
		feed(EE_SERVER_LINE, "150 Opening data connection", 27);
		return;
	} else if (ftp_verb_is_transfer(c->verb)) {
		static const int codes[] = { 226, 250, 426, 451, 550, 425 };

		code = codes[r % NELEM(codes)];
	} else if (c->verb == FTP_V_PASV && (r & 3) != 0) {
		code = 227;
		text = "Entering Passive Mode (10,0,0,5,4,1).";
	} else if (c->verb == FTP_V_EPSV && (r & 3) != 0) {
		code = 229;
		text = "Entering Extended Passive Mode (|||1025|)";
	} else if ((c->verb == FTP_V_PORT || c->verb == FTP_V_AUTH || c->verb == FTP_V_PBSZ ||
	    c->verb == FTP_V_PROT) && (r & 3) != 0) {
		code = c->verb == FTP_V_AUTH ? 234 : 200;
	}
	W.c_head = (W.c_head + 1) % MODEL_MAX;
	W.c_n--;
	if (c->greeting)
		W.greetings++;
	if ((r & 0x40) != 0) {
		/* Multi-line, with other codes and a Telnet command inside. */
		snprintf(first, sizeof(first), "%d-%s", code, text);
		feed(EE_SERVER_LINE, first, strlen(first));
		for (unsigned i = take() % 4; i > 0 && W.closes == 0 && engine_wants_server_line(W.e); i--) {
			if (i == 1)
				snprintf(mid, sizeof(mid), " AUTH TLS");
			else if (i == 2)
				snprintf(mid, sizeof(mid), "%d not the end", code + 1);
			else
				snprintf(mid, sizeof(mid), " \xff\xfb\x01line %u", i);
			feed(EE_SERVER_LINE, mid, strlen(mid));
		}
		if (W.closes != 0)
			return;
		REQUIRE(engine_wants_server_line(W.e));
		snprintf(first, sizeof(first), "%d End", code);
	} else
		snprintf(first, sizeof(first), "%d %s", code, text);
	feed(EE_SERVER_LINE, first, strlen(first));
}

static void
server_bytes(void)
{
	char line[FTP_LINE_MAX + 1];
	size_t len = script_line(line, server_dict, NELEM(server_dict));

	if (engine_wants_server_line(W.e))
		feed(EE_SERVER_LINE, line, len);
}

static void
rare_event(void)
{
	static const char shut[] = "421 The gateway is shutting down.";
	unsigned r = take();

	if (r >= 48)                     /* keep most sessions alive */
		return;
	switch (r % 6) {
	case 0:
		feed(EE_SERVER_CLOSED, NULL, 0);
		break;
	case 1:
		W.client_left = W.client_left || W.closes == 0;
		feed(EE_CLIENT_CLOSED, NULL, 0);
		break;
	case 2:
		feed(EE_TIMEOUT, NULL, 0);
		break;
	case 3:
		feed(EE_SHUTDOWN, shut, strlen(shut));
		break;
	case 4:
		feed(EE_SERVER_LINE_TOO_LONG, NULL, 0);
		break;
	case 5:
		if (engine_wants_client_line(W.e)) {
			W.taken++;
			feed(EE_CLIENT_LINE_TOO_LONG, NULL, 0);
		}
		break;
	}
}

static void
step(void)
{
	unsigned op = take() % 12, r;

	switch (op) {
	case 0: case 1: case 2: case 3:
		client_line();
		break;
	case 4: case 5: case 6:
		if (W.model)
			model_answer();
		else
			server_bytes();
		break;
	case 7:
		r = take() % 3;
		feed(r == 0 ? EE_DATA_TO_CLIENT_DONE : r == 1 ? EE_DATA_DONE : EE_DATA_FAILED, NULL, 0);
		break;
	case 8:
		if (!W.model || W.need_server_tls) {
			W.need_server_tls = false;
			feed(EE_SERVER_TLS_UP, NULL, 0);
		} else if (W.need_client_tls) {
			W.need_client_tls = false;
			feed(EE_CLIENT_TLS_UP, NULL, 0);
		}
		if (!W.model && (take() & 1))
			feed(EE_CLIENT_TLS_UP, NULL, 0);
		break;
	case 9:
		r = take();
		W.open_result = (r & 1) ? -1 : 0;
		W.pending = (r & 2) != 0;
		W.refuse_setup = (r & 0x1c) == 0x1c;
		break;
	case 10:
		if (engine_phase(W.e) == EP_CONNECTING || !W.model) {
			if (W.model)
				model_push(FTP_V_UNKNOWN, true);
			feed(EE_SERVER_CONNECTED, NULL, 0);
		}
		break;
	case 11:
		rare_event();
		break;
	}
}

/* Mode b, after the script: answer and finish what waits, then count. */
static void
model_finish(void)
{
	for (int i = 0; i < 4 * MODEL_MAX && W.closes == 0; i++) {
		if (engine_phase(W.e) == EP_CONNECTING) {
			model_push(FTP_V_UNKNOWN, true);
			feed(EE_SERVER_CONNECTED, NULL, 0);
		} else if (W.need_server_tls) {
			W.need_server_tls = false;
			feed(EE_SERVER_TLS_UP, NULL, 0);
		} else if (W.need_client_tls) {
			W.need_client_tls = false;
			feed(EE_CLIENT_TLS_UP, NULL, 0);
		} else if (engine_phase(W.e) == EP_HELD) {
			feed(EE_DATA_TO_CLIENT_DONE, NULL, 0);
		} else if (W.c_n > 0) {
			/* Answers without script bytes: 150, then 2xx. */
			REQUIRE(engine_wants_server_line(W.e));
			model_answer();
		} else
			break;
	}
	if (W.closes == 0) {
		/* Nothing waits that the model does not know of, and no client
		 * line is stuck inside the engine. */
		REQUIRE(W.c_n == 0);
		REQUIRE(engine_outstanding(W.e) == 0);
		REQUIRE(engine_wants_client_line(W.e));
		REQUIRE(!W.cp.in_multiline && W.cline_len == 0);
		REQUIRE(W.finals == W.taken + W.greetings);
	} else if (!W.client_left) {
		REQUIRE(W.finals == W.taken + W.greetings || memcmp(W.last, "421", 3) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_conf conf;
	unsigned mode, cf;

	log_init("fuzz_engine", true, LL_ERROR);
	log_set_level(LL_ERROR);
	in_p = data;
	in_left = size;
	memset(&W, 0, sizeof(W));
	ftp_reply_parser_init(&W.cp);
	mode = take();
	cf = take();
	W.model = (mode & 1) != 0;
	memset(&conf, 0, sizeof(conf));
	conf.sid = 1;
	conf.strict = (cf & 1) != 0;
	if (cf & 2) {
		conf.deny = deny_list;
		conf.n_deny = NELEM(deny_list);
	}
	if (mode & 2) {
		conf.allow = allow_list;
		conf.n_allow = NELEM(allow_list);
	}
	conf.tls_available = (cf & 4) != 0;
	conf.client_side = (int)((cf >> 3) % 3);
	conf.server_side = (int)((cf >> 5) % 3);
	conf.server_implicit_tls = conf.tls_available && (mode & 0x80) != 0;
	conf.client_implicit_tls = conf.tls_available && (mode & 0x40) != 0;
	W.e = engine_new(&conf, &OPS, NULL);
	REQUIRE(W.e != NULL);
	REQUIRE(engine_phase(W.e) == EP_CONNECTING);
	while (in_left > 0)
		step();
	if (W.model)
		model_finish();
	/* Whatever comes after the end changes nothing. */
	if (W.closes > 0) {
		feed(EE_SERVER_LINE, "200 ok", 6);
		feed(EE_TIMEOUT, NULL, 0);
		REQUIRE(!engine_wants_client_line(W.e) && !engine_wants_server_line(W.e));
	}
	engine_free(W.e);
	return 0;
}

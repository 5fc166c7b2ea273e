/* engine.c: the FTP dialogue of one session, sans-I/O (see engine.h).
 *
 * engine_event() is the driver: it dispatches each event to its handler,
 * then lets a waiting client line through if it may go now, then settles
 * the phase. The phase changes only in eng_set_phase(), which asserts that the
 * transition is one of those in `allowed` below.
 *
 * Pairing replies with commands: every line that goes to the server pushes
 * one entry on the FIFO; every final reply (code >= 200) pops one. Client
 * lines are taken one at a time and only when the FIFO is empty, so the
 * gateway's own answers (PBSZ, PROT, refusals) stay in order with the
 * server's; during a transfer ABOR, and after its 1xx STAT, NOOP and QUIT,
 * go through too (RFC 959 s.4.1.3).
 *
 * ABOR during a transfer: servers answer it three ways: 426 for the
 * transfer then 226 for the ABOR (vsftpd, proftpd), 226 then 225, or one
 * 226 for both (pure-ftpd). Counting cannot tell the first two from the
 * third, so once the transfer has its final reply the gateway sends NOOP
 * (a fence; not earlier: pure-ftpd drops what it reads during a
 * transfer): a 200 that arrives while the ABOR still waits is the
 * fence's, and the ABOR had no reply of its own. ABOR's own replies (225,
 * 226, 426, 5xx) are never 200. Nothing else goes to the server until the
 * ABOR is answered. */
#include "config.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "engine_int.h"
#include "log.h"


static const char *const phase_names[EP_COUNT] = {
	[EP_PROXY_LOGIN] = "proxy-login", [EP_CONNECTING] = "connecting", [EP_GREETING] = "greeting",
	[EP_SERVER_AUTH] = "server-auth", [EP_SERVER_TLS] = "server-tls",
	[EP_CLIENT_TLS] = "client-tls", [EP_LOGIN] = "login", [EP_READY] = "ready",
	[EP_TRANSFER] = "transfer", [EP_HELD] = "reply-held",
	[EP_CLOSING] = "closing", [EP_CLOSED] = "closed",
};

#define B(p) (1u << (p))
/* What the client gets instead of a 228 (see on_server_line). */
#define REPLY_228 "502 The server's reply carries an address the gateway does not translate.\r\n"
/* A reply buffer bigger than this is freed once its reply is gone. */
#define BUF_KEEP 4096

/* The phases a session rests in between events. */
#define RESTING (B(EP_LOGIN) | B(EP_READY) | B(EP_TRANSFER) | B(EP_HELD))
#define ENDING  (B(EP_CLOSING) | B(EP_CLOSED))
static const unsigned allowed[EP_COUNT] = {
	[EP_PROXY_LOGIN] = B(EP_CONNECTING) | B(EP_CLIENT_TLS) | ENDING,
	[EP_CONNECTING] = B(EP_GREETING) | ENDING,
	[EP_GREETING] = RESTING | B(EP_SERVER_AUTH) | ENDING,
	[EP_SERVER_AUTH] = RESTING | B(EP_SERVER_TLS) | B(EP_CLIENT_TLS) | ENDING,
	[EP_SERVER_TLS] = RESTING | B(EP_CLIENT_TLS) | ENDING,
	[EP_CLIENT_TLS] = RESTING | B(EP_PROXY_LOGIN) | ENDING,
	[EP_LOGIN] = RESTING | B(EP_SERVER_AUTH) | B(EP_CLIENT_TLS) | ENDING,
	[EP_READY] = RESTING | B(EP_SERVER_AUTH) | B(EP_CLIENT_TLS) | ENDING,
	[EP_TRANSFER] = RESTING | ENDING,
	[EP_HELD] = RESTING | ENDING,
	[EP_CLOSING] = B(EP_CLOSED),
	[EP_CLOSED] = 0,
};

const char *
engine_phase_name(enum engine_phase phase)
{
	return phase < EP_COUNT ? phase_names[phase] : "?";
}

void
eng_set_phase(struct engine *e, enum engine_phase to)
{
	if (e->phase == to)
		return;
	assert(allowed[e->phase] & B(to));
	log_sess(LL_DEBUG, e->conf.sid, "phase %s -> %s", phase_names[e->phase], phase_names[to]);
	e->phase = to;
}

/* ------------------------------------------------------------------ */
/* Buffers, the FIFO, output */

int
eng_buf_add(struct buf *b, const char *data, size_t len)
{
	if (len > ENGINE_REPLY_MAX - b->len)
		return -1;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + len)
			cap *= 2;
		if (cap > ENGINE_REPLY_MAX)
			cap = ENGINE_REPLY_MAX;
		if ((p = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static void
buf_release(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

struct pending *
eng_fifo_head(struct engine *e)
{
	return e->n > 0 ? &e->fifo[e->head] : NULL;
}

struct pending *
eng_fifo_at(struct engine *e, unsigned i)
{
	return i < e->n ? &e->fifo[(e->head + i) % ENGINE_PENDING_MAX] : NULL;
}

struct pending *
eng_fifo_push(struct engine *e, enum engine_pending kind)
{
	struct pending *p;

	/* Client lines are taken only while there is room for a command and
	 * what the gateway adds to it (a fence, our PBSZ and PROT). */
	assert(e->n < ENGINE_PENDING_MAX);
	p = &e->fifo[(e->head + e->n) % ENGINE_PENDING_MAX];
	e->n++;
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	return p;
}

static struct pending
eng_fifo_pop(struct engine *e)
{
	struct pending p;

	assert(e->n > 0);
	p = e->fifo[e->head];
	e->head = (e->head + 1) % ENGINE_PENDING_MAX;
	e->n--;
	return p;
}

bool
eng_transfer_outstanding(struct engine *e)
{
	for (unsigned i = 0; i < e->n; i++)
		if (eng_fifo_at(e, i)->kind == EK_TRANSFER)
			return true;
	return false;
}

/* A reply of the gateway's own. */
void __attribute__((format(printf, 2, 3)))
eng_reply(struct engine *e, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	log_sess(LL_DEBUG, e->conf.sid, "G> %s", line);
	line[n++] = '\r';
	line[n++] = '\n';
	e->ops->to_client(e->ctx, line, (size_t)n);
}

/* A command line (no CRLF) to the server, as KIND in the FIFO. */
struct pending *
eng_send(struct engine *e, enum engine_pending kind, const char *line, size_t len)
{
	char out[2 * FTP_LINE_MAX + 2];
	size_t n;

	/* Cut, it would not be the line that was checked. */
	assert(len <= FTP_LINE_MAX);
	if (log_enabled(LL_DEBUG)) {
		char esc[256];

		if (len >= 5 && strncasecmp(line, "PASS ", 5) == 0)
			log_sess(LL_DEBUG, e->conf.sid, "C> PASS ****");
		else
			log_sess(LL_DEBUG, e->conf.sid, "C> %s", log_escape(line, len, esc, sizeof(esc)));
	}
	/* A literal 0xFF (the client's IAC IAC) goes as IAC IAC again (RFC
	 * 854): a bare one would start a Telnet command at a server that
	 * does its own Telnet processing, which would then read other
	 * bytes than those the gateway checked. */
	n = ftp_telnet_escape(line, len, out);
	out[n++] = '\r';
	out[n++] = '\n';
	e->ops->to_server(e->ctx, out, n);
	return eng_fifo_push(e, kind);
}

/* The end: REPLY (if any) is the client's last line. */
void
eng_close(struct engine *e, const char *last, const char *reason)
{
	if (e->closed)
		return;
	if (last != NULL)
		eng_reply(e, "%s", last);
	eng_set_phase(e, last != NULL ? EP_CLOSING : EP_CLOSED);
	e->closed = true;
	e->ops->close(e->ctx, reason);
}

/* ------------------------------------------------------------------ */
/* Transfers */

/* The held final reply goes to the client: as it is when the data arrived
 * whole, as 426 when the data channel failed. */
void
eng_release_held(struct engine *e, bool data_ok)
{
	int code = e->held_code;

	if (e->held.len == 0)
		return;
	if (!data_ok && code / 100 == 2)
		eng_reply(e, "426 Data connection failed; transfer aborted.");
	else {
		log_sess(LL_DEBUG, e->conf.sid, "S> (released after the data connection)");
		e->ops->to_client(e->ctx, e->held.p, e->held.len);
	}
	e->held.len = 0;
	e->ops->transfer_end(e->ctx, code, data_ok && code / 100 == 2);
	e->ops->data_drop(e->ctx);
	if (e->server_gone)
		eng_close(e, e->n > 0 || e->deferred != NULL ?
		    "421 Service not available: the server closed the connection." : NULL,
		    "server closed");
}

/* The final reply of RETR/STOR/...: it must not overtake the data. */
static void
transfer_reply(struct engine *e, const struct pending *p, int code)
{
	struct buf tmp;

	e->data_armed = false;
	if (p->failed && !p->aborted && code / 100 == 2) {
		log_sess(LL_INFO, e->conf.sid, "the server said %d, but the data channel failed", code);
		eng_reply(e, "426 Data connection failed; transfer aborted.");
		e->ops->transfer_end(e->ctx, code, false);
		e->ops->data_drop(e->ctx);
		return;
	}
	if (e->ops->data_pending(e->ctx, p->seen_1xx, code)) {
		log_sess(LL_DEBUG, e->conf.sid, "reply %d held until the data connection is done", code);
		tmp = e->held;           /* swap: the collected reply becomes the held one */
		e->held = e->reply;
		e->reply = tmp;
		e->reply.len = 0;
		e->held_code = code;
		return;
	}
	/* Whatever the server says after an ABOR, the data did not all go. */
	e->ops->transfer_end(e->ctx, code, code / 100 == 2 && !p->failed && !p->aborted);
	e->ops->to_client(e->ctx, e->reply.p, e->reply.len);
	e->ops->data_drop(e->ctx);
}

/* The client has every data byte: a held reply goes out; a transfer whose
 * final reply is still to come will not be spoiled by a late failure. */
static void
on_data_done(struct engine *e)
{
	if (e->held.len > 0) {
		eng_release_held(e, true);
		return;
	}
	for (unsigned i = 0; i < e->n; i++)
		if (eng_fifo_at(e, i)->kind == EK_TRANSFER) {
			eng_fifo_at(e, i)->data_done = true;
			return;
		}
}

static void
on_data_failed(struct engine *e)
{
	struct pending *p = eng_fifo_head(e);

	if (e->held.len > 0) {
		eng_release_held(e, false);
		return;
	}
	/* The transfer waiting for it learns at its final reply; a channel
	 * no transfer asked for yet is of no more use. */
	for (unsigned i = 0; i < e->n; i++)
		if ((p = eng_fifo_at(e, i))->kind == EK_TRANSFER) {
			/* Once the client has every byte, a late end (a peer
			 * that never closes its side) spoils nothing. */
			p->failed = !p->data_done;
			return;
		}
	e->ops->data_drop(e->ctx);
	e->data_armed = false;
}

/* ------------------------------------------------------------------ */
/* Server replies */

/* FEAT: the gateway, not the server, decides whether AUTH/PBSZ/PROT are on
 * offer to the client. */
static void
feat_reply(struct engine *e, int code)
{
	bool offer = e->conf.tls_available && e->conf.client_side != TLS_CLIENT_OFF;
	size_t size = 2 * e->reply.len + 64, n;
	char *out;

	if (code != 211) {
		e->ops->to_client(e->ctx, e->reply.p, e->reply.len);
		return;
	}
	if ((out = malloc(size)) == NULL) {
		eng_close(e, "421 Out of memory.", "out of memory");
		return;
	}
	n = ftp_feat_rewrite(e->reply.p, e->reply.len, offer, out, size);
	assert(n > 0);
	e->ops->to_client(e->ctx, out, n);
	free(out);
}

static void
data_setup_reply(struct engine *e, const struct pending *p, int code)
{
	char line[256];
	size_t n;

	n = e->ops->data_reply(e->ctx, p->client_verb, p->server_verb, code,
	    e->reply.p, e->reply.len, line, sizeof(line) - 2);
	if (n == 0) {
		e->ops->to_client(e->ctx, e->reply.p, e->reply.len);
		return;
	}
	assert(n < sizeof(line) - 2);
	e->data_armed = line[0] == '2';
	log_sess(LL_DEBUG, e->conf.sid, "G> %.*s", (int)n, line);
	line[n++] = '\r';
	line[n++] = '\n';
	e->ops->to_client(e->ctx, line, n);
}

static void
greeting_reply(struct engine *e, int code)
{
	if (e->conf.proxy) {
		eng_proxy_greeting(e, code);
		return;
	}
	if (code / 100 != 2)
		return;                  /* the server will close */
	if (e->server_tls)               /* implicit TLS toward the server */
		eng_protect_server_data(e);
	else if (e->conf.server_side == TLS_SERVER_REQUIRED) {
		eng_send(e, EK_SERVER_AUTH, "AUTH TLS", 8);
		eng_set_phase(e, EP_SERVER_AUTH);
	}
}

static void
server_auth_reply(struct engine *e, const struct pending *p, int code)
{
	if (code == 234) {
		e->server_tls = true;
		eng_set_phase(e, EP_SERVER_TLS);
		e->ops->tls_server(e->ctx);
		return;
	}
	if (p->for_client) {
		/* server-side = auto: the legs are independent; this one
		 * stays as the server wants it, and the log says so. */
		log_sess(LL_WARN, e->conf.sid, "the server refused AUTH TLS (%d): its leg stays in plaintext", code);
		eng_start_client_tls(e);
		return;
	}
	if (eng_proxy_auth_refused(e, code))
		return;
	log_sess(LL_WARN, e->conf.sid, "the server refused AUTH TLS (%d), which server-side = required needs", code);
	eng_close(e, "421 Service not available: the server does not accept TLS, which this gateway requires toward it.",
	    "server refused TLS");
}

/* A whole final reply to the FIFO's head. */
static void
final_reply(struct engine *e, int code)
{
	struct pending p = eng_fifo_pop(e);

	switch (p.kind) {
	case EK_GREETING:
		greeting_reply(e, code);
		break;
	case EK_PLAIN:
		ftp_login_track(&e->login, p.client_verb, code);
		break;
	case EK_ABOR:
	case EK_FENCE:
		break;
	case EK_DATA_SETUP:
		data_setup_reply(e, &p, code);
		break;
	case EK_TRANSFER:
		transfer_reply(e, &p, code);
		for (unsigned i = 0; i < e->n && !e->closed; i++) {
			struct pending *abor = eng_fifo_at(e, i);

			if (abor->kind == EK_ABOR && abor->fence) {
				abor->fence = false;
				assert(i == e->n - 1);   /* nothing goes behind an ABOR */
				eng_send(e, EK_FENCE, "NOOP", 4);
				break;
			}
		}
		break;
	case EK_FEAT:
		feat_reply(e, code);
		break;
	case EK_SERVER_AUTH:
		server_auth_reply(e, &p, code);
		break;
	case EK_INTERNAL:
		if (p.server_verb == FTP_V_PROT) {
			e->server_prot_p = code / 100 == 2;
			if (!e->server_prot_p)
				log_sess(LL_WARN, e->conf.sid, "the server refused PROT P (%d): its data connections stay in plaintext", code);
		}
		break;
	}
	e->reply.len = 0;
}

/* The first line of a reply decides where its lines go. */
static enum disposition
reply_disposition(struct engine *e, int code)
{
	struct pending *head = eng_fifo_head(e);

	/* Proxy mode: the client has the gateway's greeting; the server's
	 * is for the log, or, when it refuses, the answer to USER. */
	if (head != NULL && head->kind == EK_GREETING && e->conf.proxy)
		return code < 200 ? RD_SWALLOW : RD_COLLECT;
	if (head == NULL || code < 200)
		return RD_PASS;
	/* A 200 while an ABOR waits with its fence behind: the fence's; the
	 * server answered the transfer and the ABOR with one reply. */
	if (head->kind == EK_ABOR && code == 200 && e->n > 1 && eng_fifo_at(e, 1)->kind == EK_FENCE) {
		log_sess(LL_DEBUG, e->conf.sid, "ABOR had no reply of its own");
		eng_fifo_pop(e);
		head = eng_fifo_head(e);
	}
	switch (head->kind) {
	case EK_GREETING: case EK_PLAIN: case EK_ABOR:
		return RD_PASS;
	case EK_DATA_SETUP: case EK_TRANSFER: case EK_FEAT:
		return RD_COLLECT;
	default:
		return RD_SWALLOW;
	}
}

static void
on_server_line(struct engine *e, const char *text, size_t len)
{
	char line[FTP_LINE_MAX], out[2 * FTP_LINE_MAX + 2];
	bool first;
	int code;
	size_t n;

	if (len > FTP_LINE_MAX) {
		log_sess(LL_WARN, e->conf.sid, "the server sent a malformed or overlong reply");
		eng_close(e, "421 The server sent a malformed reply; closing.", "bad server reply");
		return;
	}
	memcpy(line, text, len);
	/* Telnet negotiation from a server is not part of any reply. */
	len = ftp_telnet_strip(line, len);
	if (len == 0 && !e->rp.in_multiline)
		return;
	switch (ftp_reply_feed(&e->rp, line, len)) {
	case FTP_REPLY_BAD:
		if (e->n == 0) {
			char esc[128];

			log_sess(LL_INFO, e->conf.sid, "unsolicited non-reply from the server dropped: %s",
			    log_escape(line, len, esc, sizeof(esc)));
			return;
		}
		log_sess(LL_WARN, e->conf.sid, "the server sent a malformed or overlong reply");
		eng_close(e, "421 The server sent a malformed reply; closing.", "bad server reply");
		return;
	case FTP_REPLY_MORE:
	case FTP_REPLY_DONE:
		break;
	}
	first = e->rp.lines == 1;
	code = e->rp.code;
	if (first) {
		/* A reply begun with nothing outstanding answers nothing, even
		 * if a command goes out before its last line. */
		e->unsolicited = e->n == 0;
		e->disp = reply_disposition(e, e->rp.code);
		/* 228 is LPSV's (RFC 1639), whose address the gateway does not
		 * translate; it never sends LPSV, so a 228 answers nothing it
		 * could stand for. */
		e->is_228 = e->rp.code == 228;
	}
	if (log_enabled(LL_DEBUG)) {
		char esc[256];

		log_sess(LL_DEBUG, e->conf.sid, "S> %s", log_escape(line, len, esc, sizeof(esc)));
	}
	/* The line as parsed, a data byte 255 as IAC IAC (RFC 854): a client
	 * doing its own Telnet processing must not find a reply's end, or a
	 * reply, where the gateway saw none. */
	n = ftp_telnet_escape(line, len, out);
	out[n++] = '\r';
	out[n++] = '\n';
	switch (e->is_228 ? RD_SWALLOW : e->disp) {
	case RD_PASS:
		if (eng_buf_add(&e->reply, out, n) == 0)
			break;
		e->ops->to_client(e->ctx, e->reply.p, e->reply.len);
		e->reply.len = 0;
		e->disp = RD_STREAM;
		/* FALLTHROUGH */
	case RD_STREAM:
		e->ops->to_client(e->ctx, out, n);
		break;
	case RD_COLLECT:
		if (eng_buf_add(&e->reply, out, n) == -1) {
			log_sess(LL_WARN, e->conf.sid, "a server reply over %d bytes", ENGINE_REPLY_MAX);
			eng_close(e, "421 The server sent an overlong reply; closing.", "bad server reply");
			return;
		}
		break;
	case RD_SWALLOW:
		break;
	}
	if (!e->rp.in_multiline) {       /* the reply is complete */
		if (e->is_228) {
			/* The command it answers gets a refusal of ours. */
			log_sess(LL_WARN, e->conf.sid, "a 228 reply from the server replaced");
			code = 502;
			e->reply.len = 0;
			if (!e->unsolicited && e->disp != RD_SWALLOW)
				(void)eng_buf_add(&e->reply, REPLY_228, sizeof(REPLY_228) - 1);
		}
		if (e->disp == RD_PASS && e->reply.len > 0) {
			e->ops->to_client(e->ctx, e->reply.p, e->reply.len);
			e->reply.len = 0;
		}
		if (code < 200) {
			struct pending *head = eng_fifo_head(e);

			if (head != NULL && head->kind == EK_TRANSFER)
				head->seen_1xx = true;
			e->reply.len = 0;
		} else if (!e->unsolicited)
			final_reply(e, code);
		if (!e->closed)
			e->ops->active(e->ctx);
	}
}

static void
on_server_closed(struct engine *e)
{
	switch (e->phase) {
	case EP_CONNECTING:
		eng_close(e, "421 Service not available: the server cannot be reached.",
		    "server unreachable");
		return;
	case EP_SERVER_TLS:
		eng_close(e, "421 Could not secure the connection to the server.",
		    "server TLS failed");
		return;
	default:
		break;
	}
	if (e->held.len > 0) {           /* the held reply waits for its data */
		e->server_gone = true;
		return;
	}
	/* A command still waiting for its reply gets one. */
	eng_close(e, e->n > 0 ?
	    "421 Service not available: the server closed the connection." : NULL,
	    "server closed");
}

/* ------------------------------------------------------------------ */
/* The driver */

/* Between events a session rests in the phase its facts say. */
static void
settle(struct engine *e)
{
	if (e->closed)
		return;
	switch (e->phase) {
	case EP_CONNECTING: case EP_SERVER_AUTH: case EP_SERVER_TLS: case EP_CLIENT_TLS:
		return;              /* left by their own events */
	case EP_GREETING:
		if (e->n > 0 && eng_fifo_head(e)->kind == EK_GREETING)
			return;
		break;
	default:
		break;
	}
	if (e->held.len > 0)
		eng_set_phase(e, EP_HELD);
	else if (eng_transfer_outstanding(e))
		eng_set_phase(e, EP_TRANSFER);
	else
		eng_set_phase(e, eng_rest_phase(e));
}

enum engine_phase
eng_rest_phase(const struct engine *e)
{
	if (e->no_server)
		return EP_PROXY_LOGIN;
	return e->login.logged_in ? EP_READY : EP_LOGIN;
}

void
engine_event(struct engine *e, const struct engine_event *ev)
{
	if (e->closed)
		return;
	switch (ev->type) {
	case EE_SERVER_CONNECTED:
		if (e->phase != EP_CONNECTING)
			break;
		eng_set_phase(e, EP_GREETING);
		eng_fifo_push(e, EK_GREETING);
		e->ops->active(e->ctx);
		break;
	case EE_SERVER_TLS_UP:
		if (e->phase != EP_SERVER_TLS)
			break;
		eng_protect_server_data(e);
		if (e->client_auth_waiting)
			eng_start_client_tls(e);
		else {
			eng_set_phase(e, eng_rest_phase(e));
			eng_proxy_send_user(e);
		}
		break;
	case EE_CLIENT_TLS_UP:
		if (e->phase == EP_CLIENT_TLS)
			eng_set_phase(e, eng_rest_phase(e));
		break;
	case EE_CLIENT_LINE:
		/* Decrypted lines mean the client's handshake is done. */
		if (e->phase == EP_CLIENT_TLS)
			eng_set_phase(e, eng_rest_phase(e));
		eng_client_line(e, ev->text, ev->len);
		break;
	case EE_SERVER_LINE:
		on_server_line(e, ev->text, ev->len);
		break;
	case EE_CLIENT_LINE_TOO_LONG:
		eng_client_too_long(e);
		break;
	case EE_SERVER_LINE_TOO_LONG:
		log_sess(LL_WARN, e->conf.sid, "the server sent a malformed or overlong reply");
		eng_close(e, "421 The server sent a malformed reply; closing.", "bad server reply");
		break;
	case EE_DATA_TO_CLIENT_DONE:
	case EE_DATA_DONE:
		on_data_done(e);
		break;
	case EE_DATA_FAILED:
		on_data_failed(e);
		break;
	case EE_SERVER_CLOSED:
		on_server_closed(e);
		break;
	case EE_CLIENT_CLOSED:
		eng_close(e, NULL, "client closed");
		break;
	case EE_TIMEOUT:
		/* The caller logs it: it knows the timer's length. */
		if (e->phase == EP_CONNECTING)
			eng_close(e, "421 Service not available: the server does not answer.",
			    "server connect timeout");
		else
			eng_close(e, "421 Idle timeout: closing control connection.", "idle timeout");
		break;
	case EE_SHUTDOWN:
		eng_close(e, ev->text, "gateway shutdown");
		break;
	case EE_PROXY_GREET:
		if (e->phase == EP_PROXY_LOGIN)
			eng_proxy_greet(e);
		break;
	}
	/* The phase first: the waiting line is judged by it. */
	settle(e);
	eng_run_deferred(e);
	settle(e);
	/* A big reply's buffer is not kept for the session's life. */
	if (e->reply.len == 0 && e->reply.cap > BUF_KEEP)
		buf_release(&e->reply);
	if (e->held.len == 0 && e->held.cap > BUF_KEEP)
		buf_release(&e->held);
}

/* ------------------------------------------------------------------ */
/* Life, and what others may ask */

struct engine *
engine_new(const struct engine_conf *conf, const struct engine_ops *ops, void *ctx)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->conf = *conf;
	e->ops = ops;
	e->ctx = ctx;
	e->phase = conf->proxy ? EP_PROXY_LOGIN : EP_CONNECTING;
	e->no_server = conf->proxy;
	e->client_tls = conf->client_implicit_tls;
	e->server_tls = conf->server_implicit_tls;
	ftp_reply_parser_init(&e->rp);
	return e;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	free(e->reply.p);
	free(e->held.p);
	free(e->deferred);
	free(e->rule_user);
	eng_proxy_free(e);
	free(e);
}

enum engine_phase
engine_phase(const struct engine *e)
{
	return e->phase;
}

bool
engine_wants_client_line(const struct engine *e)
{
	return !e->closed && e->deferred == NULL && e->phase != EP_CONNECTING;
}

bool
engine_wants_server_line(const struct engine *e)
{
	/* Held: the replies behind it wait in the server's socket. Server
	 * TLS: the caller's next bytes are the handshake's. */
	return !e->closed && e->held.len == 0 && e->phase != EP_SERVER_TLS &&
	    e->phase != EP_CONNECTING && e->phase != EP_PROXY_LOGIN;
}

bool engine_logged_in(const struct engine *e) { return e->login.logged_in; }
bool engine_client_tls(const struct engine *e) { return e->client_tls; }
bool engine_server_tls(const struct engine *e) { return e->server_tls; }
bool engine_client_prot_p(const struct engine *e) { return e->client_prot_p; }
bool engine_server_prot_p(const struct engine *e) { return e->server_prot_p; }
unsigned engine_outstanding(const struct engine *e) { return e->n; }

size_t
engine_buffered(const struct engine *e)
{
	return e->reply.cap + e->held.cap + (e->deferred != NULL ? e->deferred_len + 1 : 0);
}

/* engine_cmd.c: the client's side of the engine: which command may go
 * now and which waits, what the gateway answers itself (the TLS verbs,
 * deny-commands and allow-commands, strict mode, EPSV ALL, LPRT and LPSV),
 * and ABOR. What it checks is the line after Telnet stripping, and that
 * line is what goes to the server (eng_send escapes a literal 0xFF). */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "engine_int.h"
#include "log.h"


/* deny-commands and allow-commands: the reply that refuses CMD, or NULL.
 * Matched on the canonical command (ftp_command_matches), on the line as
 * it will reach the server. The gateway's own verbs never reach the
 * server and QUIT must always end a session: an allow-list does not
 * apply to them. */
static const char *
list_refusal(const struct engine *e, const struct ftp_command *cmd, const char **why)
{
	bool allowed;

	for (size_t i = 0; i < e->conf.n_deny; i++)
		if (ftp_command_matches(cmd, e->conf.deny[i])) {
			*why = "denied by deny-commands";
			return "502 Command not allowed by the gateway.";
		}
	if (e->conf.n_allow == 0)
		return NULL;
	switch (cmd->verb) {
	case FTP_V_AUTH: case FTP_V_PBSZ: case FTP_V_PROT: case FTP_V_CCC:
	case FTP_V_QUIT:
		return NULL;
	default:
		break;
	}
	allowed = false;
	for (size_t i = 0; i < e->conf.n_allow && !allowed; i++)
		allowed = ftp_command_matches(cmd, e->conf.allow[i]);
	if (allowed)
		return NULL;
	*why = "not in allow-commands";
	return "502 Command not allowed by the gateway.";
}

/* strict: refuse what is out of order here. False when refused. */
static bool
strict_check(struct engine *e, const struct ftp_command *cmd)
{
	const char *why = NULL, *refusal;

	if (!e->conf.strict ||
	    (refusal = ftp_strict_refusal(&e->login, e->data_armed, cmd, &why)) == NULL)
		return true;
	log_sess(LL_INFO, e->conf.sid, "strict: %s %s refused", cmd->name, why);
	eng_reply(e, "%s", refusal);
	return false;
}

/* Our own PBSZ/PROT toward a secured server, so its data legs are
 * protected whatever the client chose for its own. */
void
eng_protect_server_data(struct engine *e)
{
	eng_send(e, EK_INTERNAL, "PBSZ 0", 6)->server_verb = FTP_V_PBSZ;
	eng_send(e, EK_INTERNAL, "PROT P", 6)->server_verb = FTP_V_PROT;
}

/* Answer the client's AUTH and have TLS run over its connection. */
void
eng_start_client_tls(struct engine *e)
{
	e->client_auth_waiting = false;
	eng_reply(e, "234 AUTH TLS successful.");
	e->client_tls = true;
	eng_set_phase(e, EP_CLIENT_TLS);
	e->ops->tls_client(e->ctx);
}

/* AUTH, PBSZ, PROT and CCC are the gateway's to answer, per leg; with
 * client-side = required, nothing but AUTH and a few harmless commands
 * passes before the client's leg is secured. True when answered. */
static bool
tls_command(struct engine *e, const struct ftp_command *cmd)
{
	if (!e->client_tls && e->conf.tls_available &&
	    e->conf.client_side == TLS_CLIENT_REQUIRED &&
	    cmd->verb != FTP_V_AUTH && cmd->verb != FTP_V_FEAT && cmd->verb != FTP_V_QUIT &&
	    cmd->verb != FTP_V_HELP && cmd->verb != FTP_V_SYST && cmd->verb != FTP_V_NOOP) {
		log_sess(LL_INFO, e->conf.sid, "%s before AUTH refused: client-side = required", cmd->name);
		eng_reply(e, "530 TLS required: secure the connection with AUTH TLS first.");
		return true;
	}
	switch (cmd->verb) {
	case FTP_V_AUTH:
		if (!e->conf.tls_available || e->conf.client_side == TLS_CLIENT_OFF)
			eng_reply(e, "502 AUTH is not available through this gateway.");
		else if (e->client_tls)
			eng_reply(e, "503 The connection is already secured.");
		else if (!ftp_auth_type_ok(cmd))
			eng_reply(e, "504 AUTH type not supported: use AUTH TLS.");
		else if (!e->server_tls && e->conf.server_side == TLS_SERVER_AUTO &&
		    !e->no_server) {
			/* Secure the server leg first; answer the client then.
			 * (Proxy mode before USER: no server yet; its leg is
			 * secured once known, engine_proxy.c.) */
			e->client_auth_waiting = true;
			eng_send(e, EK_SERVER_AUTH, "AUTH TLS", 8)->for_client = true;
			eng_set_phase(e, EP_SERVER_AUTH);
		} else
			eng_start_client_tls(e);
		return true;
	case FTP_V_PBSZ:
		if (!e->client_tls)
			eng_reply(e, "503 PBSZ needs AUTH TLS first.");
		else
			eng_reply(e, "200 PBSZ=0");
		return true;
	case FTP_V_PROT:
		if (!e->client_tls)
			eng_reply(e, "503 PROT needs AUTH TLS first.");
		else if (cmd->arg_len == 1 && (cmd->arg[0] == 'P' || cmd->arg[0] == 'p')) {
			e->client_prot_p = true;
			eng_reply(e, "200 Protection level set to Private.");
		} else if (cmd->arg_len == 1 && (cmd->arg[0] == 'C' || cmd->arg[0] == 'c')) {
			if (e->conf.client_side == TLS_CLIENT_REQUIRED) {
				/* RFC 4217 9: the policy may refuse it. */
				log_sess(LL_INFO, e->conf.sid, "PROT C refused: client-side = required");
				eng_reply(e, "534 Request denied for policy reasons: data must be protected (PROT P).");
				return true;
			}
			e->client_prot_p = false;
			eng_reply(e, "200 Protection level set to Clear.");
		} else if (cmd->arg_len == 1 && strchr("SsEe", cmd->arg[0]) != NULL)
			eng_reply(e, "536 Protection level not supported.");
		else
			eng_reply(e, "504 Unknown protection level.");
		return true;
	case FTP_V_CCC:
		eng_reply(e, "502 CCC is not supported.");
		return true;
	default:
		return false;
	}
}

/* A transfer the TLS policy forbids, as the reply to give (NULL: it may
 * go): data in clear on a leg that must be protected, or a data channel
 * prepared under another protection level than the one now in force. */
static const char *
protection_refusal(const struct engine *e, const char **why)
{
	if (e->conf.client_side == TLS_CLIENT_REQUIRED && !e->client_prot_p) {
		*why = "the client's data would be in clear (client-side = required)";
		return "521 Data connection cannot be opened with this PROT setting: use PROT P.";
	}
	if (e->conf.server_side == TLS_SERVER_REQUIRED && !e->server_prot_p) {
		*why = "the server refused PROT P (server-side = required)";
		return "521 The server refuses protected data connections, which the gateway requires.";
	}
	if (e->data_armed && e->data_prot_p != e->client_prot_p) {
		*why = "PROT changed after the data channel was set up";
		return "425 Can't open data connection: PROT changed since PASV/PORT; send it again.";
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Client commands */

/* May the command CMD (NULL: not a command) be taken now? */
static bool
can_take(struct engine *e, const struct ftp_command *cmd)
{
	struct pending *head = eng_fifo_head(e);
	enum ftp_verb verb = cmd != NULL ? cmd->verb : FTP_V_UNKNOWN;
	const char *why;

	switch (e->phase) {
	case EP_CONNECTING: case EP_GREETING: case EP_SERVER_AUTH: case EP_SERVER_TLS:
	case EP_CLOSING: case EP_CLOSED:
		return false;
	default:
		break;
	}
	/* Room for the command, a fence behind an ABOR, our PBSZ and PROT. */
	if (e->n + 3 > ENGINE_PENDING_MAX)
		return false;
	/* The lists' 502 is the gateway's answer: it waits its turn like any
	 * other, even for the verbs that may go during a transfer. */
	if (cmd != NULL && (list_refusal(e, cmd, &why) != NULL ||
	    eng_rules_refuse(e, cmd)))
		return e->held.len == 0 && head == NULL;
	/* Held: for the client the transfer still runs, and any answer
	 * (the server's or ours) would overtake its final reply; ABOR
	 * releases it first. */
	if (e->held.len > 0)
		return verb == FTP_V_ABOR;
	if (head == NULL)
		return true;
	/* After an ABOR nothing goes until it is answered: its replies are
	 * counted by the fence alone. */
	for (unsigned i = 0; i < e->n; i++)
		if (eng_fifo_at(e, i)->kind == EK_ABOR)
			return false;
	if (verb == FTP_V_ABOR && eng_transfer_outstanding(e))
		return true;
	if (head->kind == EK_TRANSFER && head->seen_1xx)
		return verb == FTP_V_STAT || verb == FTP_V_NOOP || verb == FTP_V_QUIT;
	return false;
}

static void
data_setup(struct engine *e, const struct ftp_command *cmd)
{
	struct engine_data_req req;

	if (e->epsv_all && cmd->verb != FTP_V_EPSV) {
		eng_reply(e, "501 EPSV ALL is in effect: use EPSV.");
		return;
	}
	if (cmd->verb == FTP_V_EPSV) {
		switch (ftp_epsv_arg_parse(cmd->arg, cmd->arg_len)) {
		case FTP_EPSV_ALL:
			e->epsv_all = true;
			eng_reply(e, "200 EPSV ALL command successful.");
			return;
		case FTP_EPSV_BAD:
			eng_reply(e, "501 Bad EPSV argument.");
			return;
		default:
			break;
		}
	}
	memset(&req, 0, sizeof(req));
	e->data_armed = false;
	e->data_prot_p = e->client_prot_p;       /* what the channel is made for */
	if (e->ops->data_open(e->ctx, cmd, &req) == -1) {
		eng_reply(e, "%s", req.reply[0] != '\0' ? req.reply : "425 Can't open data connection.");
		return;
	}
	assert(req.len > 0 && req.len < sizeof(req.line));
	eng_send(e, EK_DATA_SETUP, req.line, req.len)->client_verb = cmd->verb;
	eng_fifo_at(e, e->n - 1)->server_verb = req.server_verb;
}

static void
handle_command(struct engine *e, const char *line, size_t len)
{
	struct ftp_command cmd;
	const char *refusal, *why = NULL;
	char esc[128];

	if (ftp_command_parse(line, len, &cmd) == -1) {
		log_sess(LL_DEBUG, e->conf.sid, "unparsable command: %s", log_escape(line, len, esc, sizeof(esc)));
		eng_reply(e, "500 Syntax error, command unrecognized.");
		return;
	}
	if ((refusal = list_refusal(e, &cmd, &why)) != NULL) {
		log_sess(LL_INFO, e->conf.sid, "%s: %s", why,
		    log_escape(line, len, esc, sizeof(esc)));
		eng_reply(e, "%s", refusal);
		return;
	}
	if (eng_rules_check(e, &cmd, line, len))
		return;
	if (tls_command(e, &cmd) || !strict_check(e, &cmd))
		return;
	if (e->conf.proxy && eng_proxy_command(e, &cmd))
		return;
	switch (cmd.verb) {
	case FTP_V_LPRT: case FTP_V_LPSV:
		/* RFC 1639 addresses: the gateway does not translate them,
		 * and one passed on would name the server's side. */
		log_sess(LL_INFO, e->conf.sid, "%s refused: RFC 1639 addresses are not translated", cmd.name);
		eng_reply(e, "502 %s is not available through this gateway: use EPRT or EPSV.",
		    cmd.name);
		return;
	case FTP_V_USER:
		/* Escaped once here: it goes into logs and ftpgwctl output. */
		log_escape(cmd.arg, cmd.arg_len, esc, sizeof(esc));
		e->ops->user(e->ctx, esc);
		if (!eng_rules_user(e, &cmd)) {
			eng_close(e, "421 Out of memory.", "out of memory");
			return;
		}
		break;
	case FTP_V_FEAT:
		eng_send(e, EK_FEAT, line, len);
		return;
	case FTP_V_PASV: case FTP_V_EPSV: case FTP_V_PORT: case FTP_V_EPRT:
		data_setup(e, &cmd);
		return;
	case FTP_V_ABOR:
		eng_abort(e);
		return;
	default:
		break;
	}
	if (ftp_verb_is_transfer(cmd.verb) && (refusal = protection_refusal(e, &why)) != NULL) {
		log_sess(LL_INFO, e->conf.sid, "%s refused: %s", cmd.name, why);
		eng_reply(e, "%s", refusal);
		/* A channel made for this transfer is of no more use. */
		e->ops->data_drop(e->ctx);
		e->data_armed = false;
		return;
	}
	if (ftp_verb_is_transfer(cmd.verb)) {
		e->ops->transfer_begin(e->ctx, &cmd);
		eng_send(e, EK_TRANSFER, line, len)->client_verb = cmd.verb;
		return;
	}
	eng_send(e, EK_PLAIN, line, len)->client_verb = cmd.verb;
}

static void
too_long_reply(struct engine *e)
{
	log_sess(LL_INFO, e->conf.sid, "command line over %d bytes refused", FTP_LINE_MAX);
	eng_reply(e, "500 Command line too long.");
}

/* Take a client line now, or keep it until it may go. */
void
eng_client_line(struct engine *e, const char *text, size_t len)
{
	char line[FTP_LINE_MAX + 1];
	struct ftp_command peek;

	if (e->deferred != NULL || len > FTP_LINE_MAX) {
		/* The caller asked engine_wants_client_line() first. */
		log_sess(LL_WARN, e->conf.sid, "a client line arrived while another waits: dropped");
		return;
	}
	memcpy(line, text, len);
	len = ftp_telnet_strip(line, len);
	line[len] = '\0';
	if (len == 0)
		return;
	e->ops->active(e->ctx);
	if (!can_take(e, ftp_command_parse(line, len, &peek) == 0 ? &peek : NULL)) {
		if ((e->deferred = malloc(len + 1)) == NULL) {
			eng_close(e, "421 Out of memory.", "out of memory");
			return;
		}
		memcpy(e->deferred, line, len + 1);
		e->deferred_len = len;
		return;
	}
	handle_command(e, line, len);
}

/* The waiting client line, once it may go. */
void
eng_run_deferred(struct engine *e)
{
	struct ftp_command peek;
	char *line = e->deferred;

	if (line == NULL || e->closed)
		return;
	if (!can_take(e, ftp_command_parse(line, e->deferred_len, &peek) == 0 ?
	    &peek : NULL))
		return;
	e->deferred = NULL;
	if (e->deferred_len == 0)        /* an overlong line's turn */
		too_long_reply(e);
	else
		handle_command(e, line, e->deferred_len);
	free(line);
}

/* The caller dropped an overlong client line: its 500 takes its turn
 * like any other answer. */
void
eng_client_too_long(struct engine *e)
{
	if (e->deferred != NULL) {
		log_sess(LL_WARN, e->conf.sid, "a client line arrived while another waits: dropped");
		return;
	}
	e->ops->active(e->ctx);
	if (can_take(e, NULL)) {
		too_long_reply(e);
		return;
	}
	if ((e->deferred = malloc(1)) == NULL) {
		eng_close(e, "421 Out of memory.", "out of memory");
		return;
	}
	e->deferred[0] = '\0';
	e->deferred_len = 0;
}

/* ABOR: closing both data ends stops the transfer on either side, whether
 * or not the server watches for urgent data. */
void
eng_abort(struct engine *e)
{
	bool fence;

	eng_release_held(e, true);
	if (e->closed)
		return;
	e->ops->data_drop(e->ctx);
	e->data_armed = false;
	fence = eng_transfer_outstanding(e);
	for (unsigned i = 0; i < e->n; i++)
		if (eng_fifo_at(e, i)->kind == EK_TRANSFER)
			eng_fifo_at(e, i)->aborted = true;
	/* The fence goes once the transfer has its final reply: a server
	 * busy with the transfer may drop what it reads then (pure-ftpd). */
	eng_send(e, EK_ABOR, "ABOR", 4)->fence = fence;
}

/* engine_proxy.c: the engine's explicit proxy mode (listen mode "proxy").
 * The client connects to the gateway itself, which greets it; nothing is
 * known of the server until USER user@host[:port] (proxy_login.c). Until
 * then the gateway answers the client alone: AUTH/PBSZ/PROT (engine_cmd.c,
 * the client's leg only), FEAT, NOOP, HELP, QUIT, and 530 to the rest.
 * USER asks the session to resolve the host and connect (the effect
 * proxy_connect); the server's greeting is swallowed (a refusal answers
 * the USER instead), its leg is secured as server-side says (auto: when
 * the client secured its own), and then the user part goes as USER, whose
 * reply is the client's. From there on a session is as in reverse mode. */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "engine_int.h"
#include "log.h"
#include "proxy_login.h"

#define PROXY_GREETING "220 ftpgw FTP proxy ready: log in as user@host[:port]."
#define PROXY_SYNTAX "501 Syntax: USER user@host[:port] (IPv6: user@[address]:port)."

void
eng_proxy_greet(struct engine *e)
{
	eng_reply(e, "%s", PROXY_GREETING);
	e->ops->active(e->ctx);
}

void
eng_proxy_free(struct engine *e)
{
	free(e->proxy_user);
	free(e->proxy_target);
	e->proxy_user = e->proxy_target = NULL;
}

/* USER NAME toward the server, its reply the client's. */
static void
send_user(struct engine *e, const char *name)
{
	char line[FTP_LINE_MAX + 1];
	int n = snprintf(line, sizeof(line), "USER %s", name);

	/* NAME came out of a USER line of at most FTP_LINE_MAX bytes,
	 * longer by "@host". */
	assert(n > 0 && (size_t)n <= FTP_LINE_MAX);
	eng_send(e, EK_PLAIN, line, (size_t)n)->client_verb = FTP_V_USER;
}

void
eng_proxy_send_user(struct engine *e)
{
	char *name = e->proxy_user;

	if (name == NULL)
		return;
	e->proxy_user = NULL;
	send_user(e, name);
	free(name);
}

/* USER user@host[:port]. Before the server is known it chooses it; after,
 * only the same server may be named again (a new login on the same
 * connection). */
static void
proxy_user(struct engine *e, const struct ftp_command *cmd)
{
	struct proxy_login pl;
	char target[PROXY_HOST_MAX + 9], esc[128], host_esc[128];

	switch (proxy_login_parse(cmd->arg, cmd->arg_len, &pl)) {
	case PROXY_LOGIN_OK:
		break;
	case PROXY_LOGIN_NO_HOST:
		log_sess(LL_INFO, e->conf.sid, "proxy: USER without @host refused: %s",
		    log_escape(cmd->arg, cmd->arg_len, esc, sizeof(esc)));
		eng_reply(e, "530 Log in as user@host[:port]: name the FTP server after the user.");
		return;
	case PROXY_LOGIN_BAD:
		log_sess(LL_INFO, e->conf.sid, "proxy: malformed USER refused: %s",
		    log_escape(cmd->arg, cmd->arg_len, esc, sizeof(esc)));
		eng_reply(e, "%s", PROXY_SYNTAX);
		return;
	}
	snprintf(target, sizeof(target), strchr(pl.host, ':') != NULL ? "[%s]:%u" : "%s:%u",
	    pl.host, (unsigned)pl.port);
	log_escape(pl.user, strlen(pl.user), esc, sizeof(esc));
	log_escape(target, strlen(target), host_esc, sizeof(host_esc));
	if (!e->no_server) {
		if (strcasecmp(target, e->proxy_target) != 0) {
			log_sess(LL_INFO, e->conf.sid, "proxy: USER for %s refused: the session is with %s",
			    host_esc, e->proxy_target);
			eng_reply(e, "530 This session is with another server: reconnect to change servers.");
			return;
		}
		e->ops->user(e->ctx, esc);
		send_user(e, pl.user);
		return;
	}
	free(e->proxy_user);
	free(e->proxy_target);
	e->proxy_user = strdup(pl.user);
	e->proxy_target = strdup(target);
	if (e->proxy_user == NULL || e->proxy_target == NULL) {
		eng_close(e, "421 Out of memory.", "out of memory");
		return;
	}
	log_sess(LL_INFO, e->conf.sid, "proxy login: user \"%s\" for %s", esc, host_esc);
	e->ops->user(e->ctx, esc);
	/* The user the access rules see for the session's commands. */
	if (e->conf.rules != NULL) {
		free(e->rule_user);
		if ((e->rule_user = strdup(pl.user)) == NULL) {
			eng_close(e, "421 Out of memory.", "out of memory");
			return;
		}
	}
	e->no_server = false;
	eng_set_phase(e, EP_CONNECTING);
	e->ops->proxy_connect(e->ctx, pl.host, pl.port);
}

/* FEAT before the server is known: what the gateway itself offers. */
static void
own_feat(struct engine *e)
{
	if (!e->conf.tls_available || e->conf.client_side == TLS_CLIENT_OFF) {
		eng_reply(e, "211 No features before login: log in as user@host[:port].");
		return;
	}
	eng_reply(e, "211-Features:");
	eng_reply(e, " AUTH TLS");
	eng_reply(e, " PBSZ");
	eng_reply(e, " PROT");
	eng_reply(e, "211 End");
}

bool
eng_proxy_command(struct engine *e, const struct ftp_command *cmd)
{
	assert(e->conf.proxy);
	if (cmd->verb == FTP_V_USER) {
		proxy_user(e, cmd);
		return true;
	}
	if (!e->no_server)
		return false;
	switch (cmd->verb) {
	case FTP_V_FEAT:
		own_feat(e);
		break;
	case FTP_V_NOOP:
		eng_reply(e, "200 NOOP ok.");
		break;
	case FTP_V_HELP:
		eng_reply(e, "214 This is an FTP proxy: log in as USER user@host[:port] "
		    "(IPv6: user@[address]:port), then PASS as the server wants.");
		break;
	case FTP_V_QUIT:
		eng_close(e, "221 Goodbye.", "client quit");
		break;
	case FTP_V_PASS: case FTP_V_ACCT:
		eng_reply(e, "503 Log in with USER user@host[:port] first.");
		break;
	default:
		eng_reply(e, "530 Not logged in: log in with USER user@host[:port] first.");
		break;
	}
	return true;
}

bool
eng_proxy_auth_refused(struct engine *e, int code)
{
	if (e->proxy_user == NULL || e->conf.server_side != TLS_SERVER_AUTO)
		return false;
	/* As for a client's AUTH under auto: the legs are independent. */
	log_sess(LL_WARN, e->conf.sid, "the server refused AUTH TLS (%d): its leg stays in plaintext", code);
	eng_set_phase(e, EP_LOGIN);
	eng_proxy_send_user(e);
	return true;
}

void
eng_proxy_greeting(struct engine *e, int code)
{
	char first[128];
	size_t n = 0;

	while (n < e->reply.len && e->reply.p[n] != '\r' && e->reply.p[n] != '\n')
		n++;
	log_escape(e->reply.p, n, first, sizeof(first));
	if (code / 100 != 2) {
		/* The server's refusal is the answer to the client's USER. */
		log_sess(LL_WARN, e->conf.sid, "proxy: the server %s refused the session: %s",
		    e->proxy_target, first);
		e->ops->to_client(e->ctx, e->reply.p, e->reply.len);
		eng_close(e, NULL, "server refused the session");
		return;
	}
	log_sess(LL_INFO, e->conf.sid, "proxy: the server %s greets: %s", e->proxy_target, first);
	if (e->server_tls) {             /* implicit TLS toward the server */
		eng_protect_server_data(e);
		eng_proxy_send_user(e);
	} else if (e->conf.server_side == TLS_SERVER_REQUIRED ||
	    (e->conf.server_side == TLS_SERVER_AUTO && e->client_tls)) {
		/* auto follows the client's AUTH TLS, which came first. */
		eng_send(e, EK_SERVER_AUTH, "AUTH TLS", 8);
		eng_set_phase(e, EP_SERVER_AUTH);
	} else
		eng_proxy_send_user(e);
}

/* engine_rules.c: the access rules (rules.h) at the engine's two stages:
 * USER, with the name it gives, and every other command, with the name of
 * the last USER sent on. The connect stage is the session's, before the
 * engine exists. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "log.h"
#include "rules.h"

/* The commands the rules never refuse, as with allow-commands: the TLS
 * verbs are the gateway's own and never reach the server, and QUIT must
 * always end a session. */
static bool
exempt(enum ftp_verb verb)
{
	switch (verb) {
	case FTP_V_AUTH: case FTP_V_PBSZ: case FTP_V_PROT: case FTP_V_CCC:
	case FTP_V_QUIT:
		return true;
	default:
		return false;
	}
}

/* The verdict on CMD; false when there is nothing to evaluate (no rules,
 * an exempt verb): then it is allowed. */
static bool
evaluate(const struct engine *e, const struct ftp_command *cmd, struct rule_verdict *v)
{
	char name[FTP_LINE_MAX + 1];
	struct rule_query q = {
		.client = e->conf.client,
		.server = e->conf.server,
		.user = e->rule_user,
		.cmd = cmd,
		.news = RULE_F_COMMAND,
	};

	if (e->conf.rules == NULL || e->conf.client == NULL || exempt(cmd->verb) ||
	    (e->conf.rules->n == 0 && e->conf.rules->default_action == RULE_ALLOW))
		return false;
	if (cmd->verb == FTP_V_USER) {
		/* The name as the server would get it, NUL-terminated. */
		size_t len = cmd->arg_len < sizeof(name) ? cmd->arg_len : sizeof(name) - 1;

		memcpy(name, cmd->arg, len);
		name[len] = '\0';
		/* Proxy mode: USER user@host[:port]; the user is before the
		 * last '@', the server is checked once it is known. */
		if (e->conf.proxy && strrchr(name, '@') != NULL)
			*strrchr(name, '@') = '\0';
		q.user = name;
		q.news |= RULE_F_USER;
	}
	*v = rules_eval(e->conf.rules, &q);
	return true;
}

bool
eng_rules_refuse(const struct engine *e, const struct ftp_command *cmd)
{
	struct rule_verdict v;

	return evaluate(e, cmd, &v) && v.action == RULE_DENY;
}

bool
eng_rules_check(struct engine *e, const struct ftp_command *cmd, const char *line,
    size_t len)
{
	const char *name;
	struct rule_verdict v;
	char esc[128];

	if (!evaluate(e, cmd, &v))
		return false;
	if (v.rule >= 0 && v.fresh && e->ops->rule_decided != NULL)
		e->ops->rule_decided(e->ctx, &v);
	if (v.action == RULE_ALLOW)
		return false;
	name = rules_verdict_name(e->conf.rules, &v);
	if (cmd->verb == FTP_V_USER) {
		log_sess(LL_INFO, e->conf.sid, "%s%s%s: deny USER %s", v.rule >= 0 ? "rule \"" : "",
		    name, v.rule >= 0 ? "\"" : "", log_escape(cmd->arg, cmd->arg_len, esc, sizeof(esc)));
		eng_reply(e, "530 Login denied by the gateway.");
		return true;
	}
	/* Passwords are never logged. */
	if (cmd->verb == FTP_V_PASS)
		snprintf(esc, sizeof(esc), "PASS ****");
	else
		log_escape(line, len, esc, sizeof(esc));
	log_sess(LL_INFO, e->conf.sid, "%s%s%s: deny command %s", v.rule >= 0 ? "rule \"" : "",
	    name, v.rule >= 0 ? "\"" : "", esc);
	eng_reply(e, "502 Command not allowed by the gateway.");
	return true;
}

bool
eng_rules_user(struct engine *e, const struct ftp_command *cmd)
{
	char *name;

	if (e->conf.rules == NULL)
		return true;
	if ((name = malloc(cmd->arg_len + 1)) == NULL)
		return false;
	memcpy(name, cmd->arg, cmd->arg_len);
	name[cmd->arg_len] = '\0';
	free(e->rule_user);
	e->rule_user = name;
	return true;
}

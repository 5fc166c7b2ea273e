/* rules.h: the access rules of ftpgw.conf (rule "NAME" { ... }) as pure
 * code: no I/O, no event loop, no allocation while evaluating. The
 * configuration loader (conf_rules.c) fills a struct rule_set; the session
 * asks rules_eval() at connect (client, server), the engine at USER and at
 * every command.
 *
 * Stages: a query carries what is known at its stage. A rule whose
 * criteria need a fact the query does not have yet (users before USER,
 * commands before the first command, servers and ports before the server
 * is known) is skipped there, and taken into account again once the fact
 * is known: the first rule, in file order, whose every criterion is known
 * and matches decides; when none does, default-action. */
#ifndef FTPGW_RULES_H
#define FTPGW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "ftp_proto.h"
#include "words.h"

enum rule_action { RULE_ALLOW, RULE_DENY };
extern const struct word rule_action_words[];    /* "allow", "deny" */

/* The facts a query may know and a rule may need. */
#define RULE_F_CLIENT   0x1u    /* the client's address: always known */
#define RULE_F_SERVER   0x2u    /* the server's address and port */
#define RULE_F_USER     0x4u    /* the USER name */
#define RULE_F_COMMAND  0x8u    /* the command */

struct rule {
	char *name;
	enum rule_action action;
	/* Each criterion matches anything when it is absent (n 0); a rule
	 * matches when every criterion it has matches. */
	struct addr_prefix *clients;
	size_t n_clients;
	struct addr_prefix *servers;     /* the server's address */
	size_t n_servers;
	uint16_t *ports;                 /* the server's port */
	size_t n_ports;
	char **users;                    /* fnmatch(3) globs, case-sensitive */
	size_t n_users;
	char **commands;                 /* deny-commands patterns: "STOR", "SITE CHMOD" */
	size_t n_commands;
	unsigned needs;                  /* RULE_F_*: the facts its criteria use */
};

struct rule_set {
	struct rule *rules;              /* in file order */
	size_t n;
	enum rule_action default_action;
};

struct rule_query {
	const struct sockaddr *client;   /* never NULL; v4-mapped is IPv4 */
	const struct sockaddr *server;   /* with the port; NULL or AF_UNSPEC:
	                                  * not known yet */
	const char *user;                /* NULL: no USER yet */
	const struct ftp_command *cmd;   /* NULL: no command yet */
	/* RULE_F_*: the facts that are new at this evaluation. The verdict
	 * is "fresh" when its rule uses one of them: a rule that decided at
	 * an earlier stage decides again, with the same facts, at every later
	 * one; counting it once per fact is counting its decisions. */
	unsigned news;
};

struct rule_verdict {
	enum rule_action action;
	int rule;                        /* index in the set; -1: default-action */
	bool fresh;                      /* see rule_query.news */
};

/* The first rule of SET that Q knows enough of and that matches, or the
 * default action. */
struct rule_verdict rules_eval(const struct rule_set *set, const struct rule_query *q);
/* The name of the verdict's rule, or "default-action". */
const char *rules_verdict_name(const struct rule_set *set, const struct rule_verdict *v);
const char *rules_action_name(enum rule_action action);   /* "allow", "deny" */

/* R's needs from its criteria (call once they are all filled in). */
void rules_compute_needs(struct rule *r);
/* A prefix of IPv4 addresses written v4-mapped (::ffff:a.b.c.d/LEN, LEN
 * >= 96) as the IPv4 prefix it means: the addresses it is compared with
 * are unmapped. Any other prefix is left as it is. */
void rules_prefix_unmap(struct addr_prefix *p);
/* Is NAME (any case) a command verb the gateway knows, for the commands
 * criterion? The first word of a pattern such as "SITE CHMOD". */
bool rules_verb_known(const char *pattern);
/* Release what SET holds (not SET itself). */
void rules_free(struct rule_set *set);

#endif

/* rules.c: the access rules (see rules.h). */
#include "config.h"

#include <assert.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ftp_proto.h"
#include "rules.h"
#include "words.h"

const struct word rule_action_words[] = {
	{ "allow", RULE_ALLOW },
	{ "deny", RULE_DENY },
	{ NULL, 0 },
};

/* Does SA, an unmapped address, lie in one of the N prefixes? */
static bool
in_prefixes(const struct addr_prefix *p, size_t n, const struct sockaddr *sa)
{
	for (size_t i = 0; i < n; i++)
		if (prefix_contains(&p[i], sa))
			return true;
	return false;
}

/* SA as rules compare it: an IPv4 peer of a dual-stack socket
 * (::ffff:a.b.c.d) is the IPv4 address it is. */
static void
normalise(const struct sockaddr *sa, struct sockaddr_storage *out)
{
	socklen_t len = addr_len(sa);

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return;                  /* unknown family: matches no prefix */
	memcpy(out, sa, len);
	addr_unmap(out);
}

static bool
rule_matches(const struct rule *r, const struct sockaddr *client,
    const struct sockaddr *server, const struct rule_query *q)
{
	bool hit;

	if (r->n_clients > 0 && !in_prefixes(r->clients, r->n_clients, client))
		return false;
	if (r->n_servers > 0 && !in_prefixes(r->servers, r->n_servers, server))
		return false;
	if (r->n_ports > 0) {
		uint16_t port = addr_port(server);

		hit = false;
		for (size_t i = 0; i < r->n_ports && !hit; i++)
			hit = r->ports[i] == port;
		if (!hit)
			return false;
	}
	if (r->n_users > 0) {
		hit = false;
		for (size_t i = 0; i < r->n_users && !hit; i++)
			hit = fnmatch(r->users[i], q->user, 0) == 0;
		if (!hit)
			return false;
	}
	if (r->n_commands > 0) {
		hit = false;
		for (size_t i = 0; i < r->n_commands && !hit; i++)
			hit = ftp_command_matches(q->cmd, r->commands[i]);
		if (!hit)
			return false;
	}
	return true;
}

struct rule_verdict
rules_eval(const struct rule_set *set, const struct rule_query *q)
{
	struct rule_verdict v = { .action = RULE_ALLOW, .rule = -1 };
	struct sockaddr_storage client, server;
	unsigned known = RULE_F_CLIENT;

	assert(q->client != NULL);
	if (set == NULL)
		return v;
	v.action = set->default_action;
	normalise(q->client, &client);
	memset(&server, 0, sizeof(server));
	if (q->server != NULL && q->server->sa_family != AF_UNSPEC) {
		normalise(q->server, &server);
		known |= RULE_F_SERVER;
	}
	if (q->user != NULL)
		known |= RULE_F_USER;
	if (q->cmd != NULL)
		known |= RULE_F_COMMAND;
	for (size_t i = 0; i < set->n; i++) {
		const struct rule *r = &set->rules[i];

		/* Not decidable yet: it will be once the fact is known. */
		if ((r->needs & known) != r->needs)
			continue;
		if (!rule_matches(r, (struct sockaddr *)&client,
		    (struct sockaddr *)&server, q))
			continue;
		v.action = r->action;
		v.rule = (int)i;
		v.fresh = (r->needs & q->news) != 0;
		return v;
	}
	return v;
}

const char *
rules_verdict_name(const struct rule_set *set, const struct rule_verdict *v)
{
	if (v->rule < 0 || set == NULL || (size_t)v->rule >= set->n)
		return "default-action";
	return set->rules[v->rule].name;
}

const char *
rules_action_name(enum rule_action action)
{
	return word_name(rule_action_words, action);
}

void
rules_compute_needs(struct rule *r)
{
	r->needs = RULE_F_CLIENT;
	if (r->n_servers > 0 || r->n_ports > 0)
		r->needs |= RULE_F_SERVER;
	if (r->n_users > 0)
		r->needs |= RULE_F_USER;
	if (r->n_commands > 0)
		r->needs |= RULE_F_COMMAND;
}

void
rules_prefix_unmap(struct addr_prefix *p)
{
	static const uint8_t mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	};

	if (p->family != AF_INET6 || p->len < 96 ||
	    memcmp(p->bytes, mapped, sizeof(mapped)) != 0)
		return;
	p->family = AF_INET;
	memmove(p->bytes, p->bytes + 12, 4);
	memset(p->bytes + 4, 0, 12);
	p->len -= 96;
}

bool
rules_verb_known(const char *pattern)
{
	struct ftp_command cmd;

	return ftp_command_parse(pattern, strlen(pattern), &cmd) == 0 &&
	    cmd.verb != FTP_V_UNKNOWN;
}

void
rules_free(struct rule_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		struct rule *r = &set->rules[i];

		free(r->name);
		free(r->clients);
		free(r->servers);
		free(r->ports);
		for (size_t j = 0; j < r->n_users; j++)
			free(r->users[j]);
		free(r->users);
		for (size_t j = 0; j < r->n_commands; j++)
			free(r->commands[j]);
		free(r->commands);
	}
	free(set->rules);
	set->rules = NULL;
	set->n = 0;
}

/* conf_rules.c: pass 3 of the configuration loader for the access rules,
 * rule "NAME" { ... }: each section checked and compiled into a struct
 * rule (rules.h), every problem reported with its line. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "addr.h"
#include "conf.h"
#include "conf_int.h"
#include "rules.h"
#include "words.h"

/* Rule names go into log lines and metric labels: kept to characters that
 * need no quoting in either. */
#define RULE_NAME_MAX 63

static bool
rule_name_ok(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= RULE_NAME_MAX && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") == len;
}

/* Is the list KEY written, even as {}? An empty list is a mistake: left
 * out, the criterion matches everything; written empty, it would seem to
 * match nothing. */
static bool
written_empty(struct loader *ld, cfg_t *sec, const char *key, const char *name)
{
	cfg_opt_t *opt = cfg_getopt(sec, key);

	if (opt == NULL || (opt->flags & CFGF_MODIFIED) == 0 || cfg_size(sec, key) > 0)
		return false;
	conf_error(ld, conf_option_line(ld, sec, key), "rule \"%s\": %s is empty "
	    "(leave it out to match every %s)", name, key,
	    strcmp(key, "ports") == 0 ? "port" : strcmp(key, "users") == 0 ?
	    "user" : strcmp(key, "commands") == 0 ? "command" : "address");
	return true;
}

/* clients or servers (KEY): address prefixes of either family. */
static bool
snap_prefixes(struct loader *ld, cfg_t *sec, const char *key, const char *name,
    struct addr_prefix **out, size_t *n)
{
	unsigned size = cfg_size(sec, key);

	if (written_empty(ld, sec, key, name) || size == 0)
		return true;
	if ((*out = calloc(size, sizeof(**out))) == NULL)
		return conf_oom(ld);
	for (unsigned i = 0; i < size; i++) {
		const char *s = cfg_getnstr(sec, key, i);

		if (s != NULL && prefix_parse(s, &(*out)[*n]) == 0) {
			rules_prefix_unmap(&(*out)[*n]);
			(*n)++;
		} else
			conf_error(ld, conf_option_line(ld, sec, key), "rule \"%s\": "
			    "%s \"%s\" is not an address prefix (ADDRESS/LENGTH with "
			    "the host bits zero, or ADDRESS)", name, key, s != NULL ? s : "");
	}
	return true;
}

/* users: fnmatch(3) globs. */
static bool
snap_users(struct loader *ld, cfg_t *sec, const char *name, struct rule *r)
{
	unsigned size = cfg_size(sec, "users");

	if (written_empty(ld, sec, "users", name) || size == 0)
		return true;
	if ((r->users = calloc(size, sizeof(*r->users))) == NULL)
		return conf_oom(ld);
	for (unsigned i = 0; i < size; i++) {
		const char *s = cfg_getnstr(sec, "users", i);

		if (s == NULL || *s == '\0') {
			conf_error(ld, conf_option_line(ld, sec, "users"),
			    "rule \"%s\": users: an empty name matches nobody", name);
			continue;
		}
		if ((r->users[r->n_users] = strdup(s)) == NULL)
			return conf_oom(ld);
		r->n_users++;
	}
	return true;
}

/* commands: a known verb (aliases are the same command: XMKD is MKD),
 * then optional words, as in deny-commands. */
static bool
snap_rule_commands(struct loader *ld, cfg_t *sec, const char *name, struct rule *r)
{
	unsigned size = cfg_size(sec, "commands");

	if (written_empty(ld, sec, "commands", name) || size == 0)
		return true;
	if ((r->commands = calloc(size, sizeof(*r->commands))) == NULL)
		return conf_oom(ld);
	for (unsigned i = 0; i < size; i++) {
		const char *s = cfg_getnstr(sec, "commands", i);

		if (s == NULL || !rules_verb_known(s)) {
			conf_error(ld, conf_option_line(ld, sec, "commands"),
			    "rule \"%s\": commands \"%s\" is not a known FTP command "
			    "(a verb such as STOR or MKD, then optional arguments)",
			    name, s != NULL ? s : "");
			continue;
		}
		if ((r->commands[r->n_commands] = strdup(s)) == NULL)
			return conf_oom(ld);
		r->n_commands++;
	}
	return true;
}

static bool
snap_rule(struct loader *ld, cfg_t *sec, struct rule *r)
{
	const char *name = cfg_title(sec);
	const struct word *action;
	unsigned n;

	if ((r->name = strdup(name)) == NULL)
		return conf_oom(ld);
	if (!rule_name_ok(name))
		conf_error(ld, conf_section_line(ld, sec), "rule \"%s\": the name must be "
		    "1-%d of A-Z a-z 0-9 _ . : - (it is a metric label)", name,
		    RULE_NAME_MAX);
	if (cfg_size(sec, "action") == 0)
		conf_error(ld, conf_section_line(ld, sec), "rule \"%s\": needs "
		    "action = \"allow\" or \"deny\"", name);
	else if ((action = word_find(rule_action_words, cfg_getstr(sec, "action"))) == NULL)
		conf_error(ld, conf_option_line(ld, sec, "action"), "rule \"%s\": "
		    "action \"%s\" is not allow or deny", name, cfg_getstr(sec, "action"));
	else
		r->action = (enum rule_action)action->value;

	if (!snap_prefixes(ld, sec, "clients", name, &r->clients, &r->n_clients) ||
	    !snap_prefixes(ld, sec, "servers", name, &r->servers, &r->n_servers) ||
	    !snap_users(ld, sec, name, r) || !snap_rule_commands(ld, sec, name, r))
		return false;
	n = cfg_size(sec, "ports");
	if (!written_empty(ld, sec, "ports", name) && n > 0) {
		if ((r->ports = calloc(n, sizeof(*r->ports))) == NULL)
			return conf_oom(ld);
		/* Range-checked while parsing. */
		for (unsigned i = 0; i < n; i++)
			r->ports[r->n_ports++] = (uint16_t)cfg_getnint(sec, "ports", i);
	}
	rules_compute_needs(r);
	return true;
}

bool
conf_snap_rules(struct loader *ld, cfg_t *cfg, struct config *cf)
{
	unsigned n = cfg_size(cfg, "rule");

	if (n == 0)
		return true;
	if ((cf->rules.rules = calloc(n, sizeof(*cf->rules.rules))) == NULL)
		return conf_oom(ld);
	for (unsigned i = 0; i < n; i++) {
		cf->rules.n++;
		if (!snap_rule(ld, cfg_getnsec(cfg, "rule", i), &cf->rules.rules[i]))
			return false;
	}
	return true;
}

/* check_rules.c: unit tests for src/rules.c and the rule sections of the
 * configuration (src/conf_rules.c): first match wins, default-action, IPv4,
 * IPv6 and v4-mapped addresses, ports, user globs, canonical commands, the
 * stages (a rule is skipped until what it needs is known), freshness, and
 * every "FILE:LINE: message" of a bad rule. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "addr.h"
#include "conf.h"
#include "ftp_proto.h"
#include "rules.h"
#include "unit.h"

#define LISTEN "listen \"l\" { address = \"127.0.0.1\" port = 8021 }\n"

/* Parse TEXT (with a listen section in front); errors into *ERRORS. */
static struct config *
parse(const char *text, char **errors)
{
	char *full = NULL;
	size_t size = 0, esize = 0;
	FILE *err = open_memstream(errors, &esize);
	struct config *cf;

	ck_assert_ptr_nonnull(err);
	ck_assert_int_gt(asprintf(&full, "%s%s", LISTEN, text), 0);
	size = strlen(full);
	cf = config_parse("t.conf", full, size, err);
	fclose(err);
	free(full);
	return cf;
}

static struct config *
parse_good(const char *text)
{
	char *errors = NULL;
	struct config *cf = parse(text, &errors);

	ck_assert_msg(cf != NULL && errors[0] == '\0', "%s", errors);
	free(errors);
	return cf;
}

/* TEXT must fail with WANT among the messages. */
static void
parse_bad(const char *text, const char *want)
{
	char *errors = NULL;
	struct config *cf = parse(text, &errors);

	ck_assert_ptr_null(cf);
	ck_assert_msg(strstr(errors, want) != NULL, "want \"%s\" in:\n%s", want, errors);
	free(errors);
}

static struct sockaddr_storage *
sa(const char *s)
{
	static struct sockaddr_storage ss[4];
	static unsigned next;
	struct sockaddr_storage *out = &ss[next++ % 4];

	ck_assert_int_eq(addr_parse(s, false, out), 0);
	return out;
}

/* A v4-mapped IPv6 client, as a dual-stack socket reports it. */
static struct sockaddr_storage *
mapped(const char *v4)
{
	static struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
	ck_assert_int_eq(inet_pton(AF_INET, v4, &sin6->sin6_addr.s6_addr[12]), 1);
	return &ss;
}

/* The verdict at connect: CLIENT to SERVER (with its port). */
static struct rule_verdict
at_connect(const struct config *cf, const char *client, const char *server)
{
	struct rule_query q = {
		.client = (struct sockaddr *)sa(client),
		.server = (struct sockaddr *)sa(server),
		.news = RULE_F_CLIENT | RULE_F_SERVER,
	};

	return rules_eval(&cf->rules, &q);
}

/* The verdict for command LINE, as user USER (NULL: none yet). */
static struct rule_verdict
at_command(const struct config *cf, const char *user, const char *line)
{
	struct ftp_command cmd;
	struct rule_query q = {
		.client = (struct sockaddr *)sa("198.51.100.7"),
		.server = (struct sockaddr *)sa("203.0.113.5:21"),
		.user = user,
		.cmd = &cmd,
		.news = RULE_F_COMMAND,
	};

	ck_assert_int_eq(ftp_command_parse(line, strlen(line), &cmd), 0);
	if (cmd.verb == FTP_V_USER) {
		q.user = cmd.arg;
		q.news |= RULE_F_USER;
	}
	return rules_eval(&cf->rules, &q);
}

static const char *
name_of(const struct config *cf, struct rule_verdict v)
{
	return rules_verdict_name(&cf->rules, &v);
}

START_TEST(test_no_rules)
{
	struct config *cf = parse_good("");
	struct rule_verdict v = at_connect(cf, "198.51.100.7", "203.0.113.5:21");

	ck_assert_int_eq(v.action, RULE_ALLOW);
	ck_assert_int_eq(v.rule, -1);
	ck_assert_str_eq(name_of(cf, v), "default-action");
	ck_assert_int_eq(cf->rules.default_action, RULE_ALLOW);
	/* No set at all: allow. */
	ck_assert_int_eq(rules_eval(NULL, &(struct rule_query){
	    .client = (struct sockaddr *)sa("198.51.100.7") }).action, RULE_ALLOW);
	config_unref(cf);
}
END_TEST

START_TEST(test_first_match_wins)
{
	struct config *cf = parse_good(
	    "rule \"lan-ok\" { action = \"allow\" clients = {\"198.51.100.0/25\"} }\n"
	    "rule \"lan-no\" { action = \"deny\" clients = {\"198.51.100.0/24\"} }\n"
	    "rule \"all\" { action = \"allow\" }\n");
	struct rule_verdict v;

	v = at_connect(cf, "198.51.100.7", "203.0.113.5:21");
	ck_assert_int_eq(v.action, RULE_ALLOW);
	ck_assert_str_eq(name_of(cf, v), "lan-ok");
	v = at_connect(cf, "198.51.100.200", "203.0.113.5:21");
	ck_assert_int_eq(v.action, RULE_DENY);
	ck_assert_str_eq(name_of(cf, v), "lan-no");
	ck_assert(v.fresh);
	v = at_connect(cf, "203.0.113.9", "203.0.113.5:21");
	ck_assert_int_eq(v.action, RULE_ALLOW);
	ck_assert_str_eq(name_of(cf, v), "all");
	config_unref(cf);
}
END_TEST

START_TEST(test_default_deny)
{
	struct config *cf = parse_good("default-action = \"deny\"\n"
	    "rule \"only\" { action = \"allow\" servers = {\"203.0.113.0/24\"} }\n");
	struct rule_verdict v;

	v = at_connect(cf, "198.51.100.7", "203.0.113.5:21");
	ck_assert_int_eq(v.action, RULE_ALLOW);
	ck_assert_int_eq(v.rule, 0);
	v = at_connect(cf, "198.51.100.7", "198.51.100.1:21");
	ck_assert_int_eq(v.action, RULE_DENY);
	ck_assert_int_eq(v.rule, -1);
	ck_assert_str_eq(name_of(cf, v), "default-action");
	config_unref(cf);
}
END_TEST

START_TEST(test_families)
{
	struct config *cf = parse_good(
	    "rule \"v6\" { action = \"deny\" clients = {\"2001:db8:1::/48\"} }\n"
	    "rule \"v4\" { action = \"deny\" clients = {\"198.51.100.0/24\"} }\n"
	    "rule \"mapped\" { action = \"deny\" clients = {\"::ffff:203.0.113.0/120\"} }\n"
	    "rule \"v6srv\" { action = \"deny\" servers = {\"2001:db8:2::1\"} }\n");
	struct rule_query q = { .news = RULE_F_CLIENT };
	struct rule_verdict v;

	v = at_connect(cf, "2001:db8:1::5", "[2001:db8:9::1]:21");
	ck_assert_str_eq(name_of(cf, v), "v6");
	v = at_connect(cf, "2001:db8:3::5", "[2001:db8:9::1]:21");
	ck_assert_int_eq(v.action, RULE_ALLOW);
	v = at_connect(cf, "2001:db8:3::5", "[2001:db8:2::1]:2121");
	ck_assert_str_eq(name_of(cf, v), "v6srv");
	/* An IPv4 client seen through a dual-stack socket is IPv4. */
	q.client = (struct sockaddr *)mapped("198.51.100.7");
	v = rules_eval(&cf->rules, &q);
	ck_assert_str_eq(name_of(cf, v), "v4");
	/* A v4-mapped prefix in the file means the IPv4 network. */
	v = at_connect(cf, "203.0.113.77", "198.51.100.1:21");
	ck_assert_str_eq(name_of(cf, v), "mapped");
	q.client = (struct sockaddr *)mapped("203.0.113.1");
	ck_assert_str_eq(rules_verdict_name(&cf->rules, &(struct rule_verdict){
	    .rule = rules_eval(&cf->rules, &q).rule }), "mapped");
	/* IPv4 never matches an IPv6 prefix, nor the reverse. */
	v = at_connect(cf, "192.0.2.1", "[2001:db8:9::1]:21");
	ck_assert_int_eq(v.rule, -1);
	config_unref(cf);
}
END_TEST

START_TEST(test_ports)
{
	struct config *cf = parse_good(
	    "rule \"odd-port\" { action = \"deny\" servers = {\"203.0.113.0/24\"} "
	    "ports = {2121, 990} }\n");

	ck_assert_str_eq(name_of(cf, at_connect(cf, "198.51.100.7", "203.0.113.5:2121")),
	    "odd-port");
	ck_assert_str_eq(name_of(cf, at_connect(cf, "198.51.100.7", "203.0.113.5:990")),
	    "odd-port");
	ck_assert_int_eq(at_connect(cf, "198.51.100.7", "203.0.113.5:21").rule, -1);
	/* Both criteria must hold. */
	ck_assert_int_eq(at_connect(cf, "198.51.100.7", "198.51.100.5:2121").rule, -1);
	config_unref(cf);
}
END_TEST

START_TEST(test_users)
{
	struct config *cf = parse_good(
	    "rule \"no-anon\" { action = \"deny\" users = {\"anon*\", \"ftp\", \"guest?\"} }\n");

	ck_assert_int_eq(at_command(cf, NULL, "USER anonymous").action, RULE_DENY);
	ck_assert_int_eq(at_command(cf, NULL, "USER ftp").action, RULE_DENY);
	ck_assert_int_eq(at_command(cf, NULL, "USER guest1").action, RULE_DENY);
	ck_assert_int_eq(at_command(cf, NULL, "USER guest12").action, RULE_ALLOW);
	/* Case-sensitive, and a whole-name match. */
	ck_assert_int_eq(at_command(cf, NULL, "USER Anonymous").action, RULE_ALLOW);
	ck_assert_int_eq(at_command(cf, NULL, "USER ftpuser").action, RULE_ALLOW);
	ck_assert_int_eq(at_command(cf, NULL, "USER alice").action, RULE_ALLOW);
	config_unref(cf);
}
END_TEST

START_TEST(test_commands)
{
	struct config *cf = parse_good(
	    "rule \"ro\" { action = \"deny\" users = {\"anon*\"} "
	    "commands = {\"STOR\", \"xmkd\", \"SITE CHMOD\"} }\n");
	struct rule_verdict v;

	v = at_command(cf, "anonymous", "STOR f");
	ck_assert_int_eq(v.action, RULE_DENY);
	ck_assert(v.fresh);
	ck_assert_int_eq(at_command(cf, "anonymous", "stor f").action, RULE_DENY);
	/* Aliases are one command, whichever the file names. */
	ck_assert_int_eq(at_command(cf, "anonymous", "MKD d").action, RULE_DENY);
	ck_assert_int_eq(at_command(cf, "anonymous", "XMKD d").action, RULE_DENY);
	ck_assert_int_eq(at_command(cf, "anonymous", "SITE  chmod 644 f").action, RULE_DENY);
	ck_assert_int_eq(at_command(cf, "anonymous", "SITE IDLE 60").action, RULE_ALLOW);
	ck_assert_int_eq(at_command(cf, "anonymous", "RETR f").action, RULE_ALLOW);
	ck_assert_int_eq(at_command(cf, "anonymous", "STOU").action, RULE_ALLOW);
	ck_assert_int_eq(at_command(cf, "alice", "STOR f").action, RULE_ALLOW);
	config_unref(cf);
}
END_TEST

/* A rule is skipped while a fact it needs is unknown, and decides once
 * it is known; a rule decided at an earlier stage stays decided. */
START_TEST(test_stages)
{
	struct config *cf = parse_good(
	    "rule \"bob\" { action = \"deny\" users = {\"bob\"} }\n"
	    "rule \"nostor\" { action = \"deny\" commands = {\"STOR\"} }\n"
	    "rule \"lan\" { action = \"allow\" clients = {\"198.51.100.0/24\"} }\n"
	    "rule \"rest\" { action = \"deny\" }\n");
	struct rule_verdict v;

	/* At connect neither users nor commands are known: "lan" decides. */
	v = at_connect(cf, "198.51.100.7", "203.0.113.5:21");
	ck_assert_str_eq(name_of(cf, v), "lan");
	ck_assert(v.fresh);
	/* At USER: "bob" now applies first. */
	v = at_command(cf, NULL, "USER bob");
	ck_assert_str_eq(name_of(cf, v), "bob");
	ck_assert(v.fresh);
	v = at_command(cf, NULL, "USER alice");
	ck_assert_str_eq(name_of(cf, v), "lan");
	ck_assert(!v.fresh);             /* decided at connect already */
	/* Commands before USER: user rules skipped, command rules apply. */
	v = at_command(cf, NULL, "STOR x");
	ck_assert_str_eq(name_of(cf, v), "nostor");
	v = at_command(cf, "alice", "RETR x");
	ck_assert_str_eq(name_of(cf, v), "lan");
	ck_assert(!v.fresh);
	/* A command rule is fresh at every command. */
	ck_assert(at_command(cf, "alice", "STOR y").fresh);
	/* The server unknown (not yet chosen): a server rule waits. */
	{
		struct config *cf2 = parse_good(
		    "rule \"srv\" { action = \"deny\" servers = {\"203.0.113.0/24\"} }\n"
		    "rule \"port\" { action = \"deny\" ports = {21} }\n");
		struct rule_query q = {
			.client = (struct sockaddr *)sa("198.51.100.7"),
			.news = RULE_F_CLIENT,
		};

		struct sockaddr_storage unspec = { .ss_family = AF_UNSPEC };

		ck_assert_int_eq(rules_eval(&cf2->rules, &q).rule, -1);
		q.server = (struct sockaddr *)&unspec;
		ck_assert_int_eq(rules_eval(&cf2->rules, &q).rule, -1);
		q.server = (struct sockaddr *)sa("198.51.100.1:21");
		q.news = RULE_F_SERVER;
		ck_assert_str_eq(name_of(cf2, rules_eval(&cf2->rules, &q)), "port");
		ck_assert(rules_eval(&cf2->rules, &q).fresh);
		config_unref(cf2);
	}
	config_unref(cf);
}
END_TEST

START_TEST(test_config_values)
{
	struct config *cf = parse_good("default-action = \"deny\"\n"
	    "rule \"a\" { action = \"allow\" clients = {\"198.51.100.0/24\", \"2001:db8::/32\"}\n"
	    "  servers = {\"203.0.113.1\"} ports = {21} users = {\"x*\"} commands = {\"RETR\"} }\n"
	    "rule \"b\" { action = \"deny\" }\n");
	const struct rule *r = &cf->rules.rules[0];

	ck_assert_uint_eq(cf->rules.n, 2);
	ck_assert_int_eq(cf->rules.default_action, RULE_DENY);
	ck_assert_str_eq(r->name, "a");
	ck_assert_int_eq(r->action, RULE_ALLOW);
	ck_assert_uint_eq(r->n_clients, 2);
	ck_assert_uint_eq(r->n_servers, 1);
	ck_assert_uint_eq(r->n_ports, 1);
	ck_assert_uint_eq(r->ports[0], 21);
	ck_assert_str_eq(r->users[0], "x*");
	ck_assert_str_eq(r->commands[0], "RETR");
	ck_assert_uint_eq(r->needs, RULE_F_CLIENT | RULE_F_SERVER | RULE_F_USER | RULE_F_COMMAND);
	ck_assert_uint_eq(cf->rules.rules[1].needs, RULE_F_CLIENT);
	ck_assert_int_eq(cf->rules.rules[1].action, RULE_DENY);
	ck_assert_str_eq(rules_action_name(RULE_DENY), "deny");
	config_unref(cf);
}
END_TEST

START_TEST(test_config_errors)
{
	parse_bad("rule \"x\" {\n clients = {\"198.51.100.0/24\"}\n}\n",
	    "t.conf:2: rule \"x\": needs action");
	parse_bad("rule \"x\" {\n action = \"maybe\"\n}\n",
	    "t.conf:3: rule \"x\": action \"maybe\" is not allow or deny");
	parse_bad("rule \"x\" {\n action = \"deny\"\n clients = {\"198.51.100.1/24\"}\n}\n",
	    "t.conf:4: rule \"x\": clients \"198.51.100.1/24\" is not an address prefix");
	parse_bad("rule \"x\" {\n action = \"deny\"\n servers = {\"host.example\"}\n}\n",
	    "t.conf:4: rule \"x\": servers \"host.example\" is not an address prefix");
	parse_bad("rule \"x\" {\n action = \"deny\"\n commands = {\"STOR\", \"FROB\"}\n}\n",
	    "t.conf:4: rule \"x\": commands \"FROB\" is not a known FTP command");
	parse_bad("rule \"x\" {\n action = \"deny\"\n users = {}\n}\n",
	    "t.conf:4: rule \"x\": users is empty");
	parse_bad("rule \"x\" {\n action = \"deny\"\n clients = {}\n}\n",
	    "t.conf:4: rule \"x\": clients is empty");
	parse_bad("rule \"x\" {\n action = \"deny\"\n ports = {}\n}\n",
	    "t.conf:4: rule \"x\": ports is empty");
	parse_bad("rule \"x\" {\n action = \"deny\"\n ports = {0}\n}\n",
	    "t.conf:4: rule \"x\": option 'ports' value 0 out of range");
	parse_bad("rule \"x\" { action = \"deny\" }\nrule \"x\" { action = \"allow\" }\n",
	    "t.conf:3: ");
	parse_bad("\nrule \"a b\" { action = \"deny\" }\n",
	    "t.conf:3: rule \"a b\": the name must be");
	parse_bad("default-action = \"block\"\n", "t.conf:2: invalid value for option "
	    "'default-action': 'block' (allow|deny)");
}
END_TEST

Suite *
suite_rules(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_no_rules);
	tcase_add_test(tc, test_first_match_wins);
	tcase_add_test(tc, test_default_deny);
	tcase_add_test(tc, test_families);
	tcase_add_test(tc, test_ports);
	tcase_add_test(tc, test_users);
	tcase_add_test(tc, test_commands);
	tcase_add_test(tc, test_stages);
	tcase_add_test(tc, test_config_values);
	tcase_add_test(tc, test_config_errors);
	suite_add_tcase(s, tc);
	return s;
}

/* check_conf.c: unit tests for src/conf.c, with the fixtures in
 * tests/data/: good configs checked field by field, and one bad config per
 * class of error, checked for NULL and for every "FILE:LINE: message". */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "portmap.h"
#include "unit.h"

/* Load fixture NAME; the error text goes to *ERRORS (caller frees). */
static struct config *
load(const char *name, char **errors)
{
	char *path = strdup(test_data_path(name));
	size_t size = 0;
	FILE *err;
	struct config *cf;

	ck_assert_ptr_nonnull(path);
	err = open_memstream(errors, &size);
	ck_assert_ptr_nonnull(err);
	cf = config_load(path, err);
	fclose(err);
	free(path);
	return cf;
}

/* A good fixture: loads, prints nothing. */
static struct config *
load_good(const char *name)
{
	char *errors = NULL;
	struct config *cf = load(name, &errors);

	ck_assert_msg(cf != NULL, "%s failed:\n%s", name, errors);
	ck_assert_msg(errors[0] == '\0', "%s printed:\n%s", name, errors);
	free(errors);
	ck_assert_uint_eq(cf->refs, 1);
	return cf;
}

static const char *
fmt(const struct sockaddr_storage *ss)
{
	static char buf[ADDR_STRLEN];

	return addr_fmt((const struct sockaddr *)ss, buf, sizeof(buf));
}

static const char *
fmt_host(const struct sockaddr_storage *ss)
{
	static char buf[ADDR_STRLEN];

	return addr_fmt_host((const struct sockaddr *)ss, buf, sizeof(buf));
}

static void
assert_prefix(const struct addr_prefix *p, const char *text)
{
	struct addr_prefix want;

	ck_assert_int_eq(prefix_parse(text, &want), 0);
	ck_assert_msg(p->family == want.family && p->len == want.len &&
	    memcmp(p->bytes, want.bytes, sizeof(want.bytes)) == 0,
	    "prefix is not %s", text);
}

START_TEST(test_good_full)
{
	struct config *cf = load_good("good-full.conf");
	const struct listen_conf *l;
	const struct portmap *m;

	ck_assert_str_eq(cf->path, test_data_path("good-full.conf"));
	ck_assert_str_eq(cf->user, "nobody");
	ck_assert_str_eq(cf->control_socket_group, "ftpgwctl");
	ck_assert_int_eq(cf->log_level, LL_DEBUG);
	ck_assert_uint_eq(cf->pasv_lo, 40000);
	ck_assert_uint_eq(cf->pasv_hi, 40099);
	ck_assert_uint_eq(cf->max_sessions, 500);
	ck_assert_uint_eq(cf->max_sessions_per_client, 5);
	ck_assert_uint_eq(cf->idle_timeout, 300);
	ck_assert_uint_eq(cf->data_timeout, 30);
	ck_assert_uint_eq(cf->connect_timeout, 5);
	ck_assert_uint_eq(cf->shutdown_timeout, 0);
	ck_assert(!cf->strict);
	ck_assert_uint_eq(cf->n_deny_commands, 3);
	ck_assert_str_eq(cf->deny_commands[0], "SITE EXEC");
	ck_assert_str_eq(cf->deny_commands[1], "DELE");
	ck_assert_str_eq(cf->deny_commands[2], "SITE chmod 777");
	ck_assert_uint_eq(cf->n_allow_commands, 4);
	ck_assert_str_eq(cf->allow_commands[0], "USER");
	ck_assert_str_eq(cf->allow_commands[1], "PASS");
	ck_assert_str_eq(cf->allow_commands[2], "XMKD");
	ck_assert_str_eq(cf->allow_commands[3], "SITE chmod");
	ck_assert_uint_eq(cf->workers, 4);

	ck_assert_uint_eq(cf->n_listens, 3);
	l = &cf->listens[0];
	ck_assert_str_eq(l->name, "transparent");
	ck_assert_str_eq(fmt(&l->addr), "[::]:2121");
	ck_assert_int_eq(l->mode, MODE_TPROXY);
	ck_assert_uint_eq(l->n_upstreams, 0);
	ck_assert_int_eq(l->pasv_kind, PASV_ADDR_LOCAL);
	ck_assert_int_eq(l->sdata, SDATA_PASSIVE);
	ck_assert_uint_eq(l->pasv_lo, 41000);
	ck_assert_uint_eq(l->pasv_hi, 41999);
	l = &cf->listens[1];
	ck_assert_str_eq(l->name, "reverse6");
	ck_assert_str_eq(fmt(&l->addr), "192.0.2.10:21");
	ck_assert_int_eq(l->mode, MODE_REVERSE);
	ck_assert_uint_eq(l->n_upstreams, 1);
	ck_assert_str_eq(fmt(&l->upstreams[0]), "[2001:db8::21]:2121");
	ck_assert_int_eq(l->pasv_kind, PASV_ADDR_FIXED);
	ck_assert_str_eq(fmt(&l->pasv_fixed), "203.0.113.7:0");
	ck_assert_int_eq(l->sdata, SDATA_ACTIVE);
	ck_assert_uint_eq(l->pasv_lo, 40000);
	ck_assert_uint_eq(l->pasv_hi, 40099);
	l = &cf->listens[2];
	ck_assert_str_eq(l->name, "reverse4");
	ck_assert_str_eq(fmt(&l->addr), "[2001:db8::10]:2100");
	ck_assert_uint_eq(l->n_upstreams, 2);
	ck_assert_str_eq(fmt(&l->upstreams[0]), "198.51.100.5:21");
	ck_assert_str_eq(fmt(&l->upstreams[1]), "198.51.100.6:2121");
	ck_assert_uint_eq(l->upstream_recheck, 10);
	ck_assert_int_eq(l->pasv_kind, PASV_ADDR_FIXED);
	ck_assert_str_eq(fmt_host(&l->pasv_fixed), "2001:db8::7");
	ck_assert_int_eq(l->sdata, SDATA_SAME);

	/* The file's three mappings, then the built-in ftp and (TLS is on)
	 * ftps ones. */
	ck_assert_uint_eq(cf->n_maps, 5);
	m = &cf->maps[0];
	ck_assert_str_eq(m->name, "alt-ftp");
	ck_assert_int_eq(m->app, APP_FTP);
	ck_assert_uint_eq(m->nports, 2);
	ck_assert_uint_eq(m->ports[0], 21);
	ck_assert_uint_eq(m->ports[1], 9091);
	ck_assert_uint_eq(m->nservers, 2);
	assert_prefix(&m->servers[0], "198.51.100.0/24");
	assert_prefix(&m->servers[1], "2001:db8::/32");
	m = &cf->maps[1];
	ck_assert_str_eq(m->name, "implicit");
	ck_assert_int_eq(m->app, APP_FTPS);
	ck_assert_uint_eq(m->nports, 1);
	ck_assert_uint_eq(m->ports[0], 990);
	ck_assert_uint_eq(m->nservers, 2);
	assert_prefix(&m->servers[0], "0.0.0.0/0");
	assert_prefix(&m->servers[1], "::/0");
	m = &cf->maps[2];
	ck_assert_str_eq(m->name, "plain");
	ck_assert_int_eq(m->app, APP_TCP);
	ck_assert_uint_eq(m->ports[0], 2121);
	ck_assert_uint_eq(m->nservers, 1);
	assert_prefix(&m->servers[0], "10.1.2.3/32");
	m = &cf->maps[3];
	ck_assert_str_eq(m->name, "ftp");
	ck_assert_int_eq(m->app, APP_FTP);
	m = &cf->maps[4];
	ck_assert_str_eq(m->name, "ftps");
	ck_assert_int_eq(m->app, APP_FTPS);
	ck_assert_uint_eq(m->ports[0], 990);

	ck_assert(cf->tls.enabled);
	ck_assert_str_eq(cf->tls.certificate, "/etc/ftpgw/cert.pem");
	ck_assert_str_eq(cf->tls.key, "/etc/ftpgw/key.pem");
	ck_assert_str_eq(cf->tls.ca_file, "/etc/ftpgw/ca.pem");
	ck_assert_int_eq(cf->tls.client_side, TLS_CLIENT_REQUIRED);
	ck_assert_int_eq(cf->tls.server_side, TLS_SERVER_REQUIRED);
	ck_assert(cf->tls.verify_server);
	ck_assert_uint_eq(cf->tls.min_version, 0x0304);
	ck_assert_str_eq(cf->tls.ciphers, "");
	ck_assert_str_eq(cf->tls.ciphersuites, "TLS_AES_256_GCM_SHA384");
	ck_assert(!cf->tls.require_session_reuse);
	config_unref(cf);
}
END_TEST

START_TEST(test_good_full_lookup)
{
	struct config *cf = load_good("good-full.conf");
	struct sockaddr_storage lan, net, host;

	ck_assert_int_eq(addr_parse("198.51.100.9", false, &lan), 0);
	ck_assert_int_eq(addr_parse("192.0.2.1", false, &net), 0);
	ck_assert_int_eq(addr_parse("10.1.2.3", false, &host), 0);
	ck_assert_str_eq(portmap_lookup(cf->maps, cf->n_maps,
	    (struct sockaddr *)&lan, 9091)->name, "alt-ftp");
	ck_assert_ptr_null(portmap_lookup(cf->maps, cf->n_maps,
	    (struct sockaddr *)&net, 9091));
	/* Port 21 elsewhere: the built-in mapping at the end. */
	ck_assert_ptr_eq(portmap_lookup(cf->maps, cf->n_maps,
	    (struct sockaddr *)&net, 21), &cf->maps[3]);
	ck_assert_str_eq(portmap_lookup(cf->maps, cf->n_maps,
	    (struct sockaddr *)&host, 2121)->name, "plain");
	config_unref(cf);
}
END_TEST

START_TEST(test_good_minimal_defaults)
{
	struct config *cf = load_good("good-minimal.conf");
	const struct listen_conf *l;
	const struct portmap *m;

	ck_assert_ptr_null(cf->user);
	ck_assert_ptr_null(cf->control_socket_group);
	ck_assert_int_eq(cf->log_level, LL_INFO);
	ck_assert_uint_eq(cf->pasv_lo, 50000);
	ck_assert_uint_eq(cf->pasv_hi, 50999);
	ck_assert_uint_eq(cf->max_sessions, 10000);
	ck_assert_uint_eq(cf->max_sessions_per_client, 50);
	ck_assert_uint_eq(cf->idle_timeout, 900);
	ck_assert_uint_eq(cf->data_timeout, 60);
	ck_assert_uint_eq(cf->connect_timeout, 10);
	ck_assert_uint_eq(cf->shutdown_timeout, 30);
	ck_assert(cf->strict);
	ck_assert_uint_eq(cf->n_deny_commands, 1);
	ck_assert_str_eq(cf->deny_commands[0], "SITE EXEC");
	ck_assert_uint_eq(cf->n_allow_commands, 0);
	ck_assert_ptr_null(cf->allow_commands);
	ck_assert_uint_eq(cf->workers, 0);

	ck_assert_uint_eq(cf->n_listens, 1);
	l = &cf->listens[0];
	ck_assert_str_eq(l->name, "main");
	ck_assert_str_eq(fmt(&l->addr), "0.0.0.0:8021");
	ck_assert_int_eq(l->mode, MODE_REDIRECT);
	ck_assert_uint_eq(l->n_upstreams, 0);
	ck_assert_int_eq(l->pasv_kind, PASV_ADDR_ORIGINAL);
	ck_assert_int_eq(l->sdata, SDATA_SAME);
	ck_assert_uint_eq(l->pasv_lo, 50000);
	ck_assert_uint_eq(l->pasv_hi, 50999);

	ck_assert_uint_eq(cf->n_maps, 1);
	m = &cf->maps[0];
	ck_assert_str_eq(m->name, "ftp");
	ck_assert_int_eq(m->app, APP_FTP);
	ck_assert_uint_eq(m->nports, 1);
	ck_assert_uint_eq(m->ports[0], 21);
	ck_assert_uint_eq(m->nservers, 2);
	assert_prefix(&m->servers[0], "0.0.0.0/0");
	assert_prefix(&m->servers[1], "::/0");

	/* Without a certificate the defaults (optional, auto) give way. */
	ck_assert(!cf->tls.enabled);
	ck_assert(!cf->tls.toward_clients);
	ck_assert_ptr_null(cf->tls.certificate);
	ck_assert_ptr_null(cf->tls.key);
	ck_assert_str_eq(cf->tls.ca_file, "/etc/ssl/certs/ca-certificates.crt");
	ck_assert_int_eq(cf->tls.client_side, TLS_CLIENT_OFF);
	ck_assert_int_eq(cf->tls.server_side, TLS_SERVER_OFF);
	ck_assert(cf->tls.require_session_reuse);
	ck_assert_str_eq(cf->tls.ciphersuites, "");
	ck_assert(!cf->tls.verify_server);
	ck_assert_uint_eq(cf->tls.min_version, 0x0303);
	ck_assert_str_eq(cf->tls.ciphers, "");
	config_unref(cf);
}
END_TEST

/* TLS toward servers needs no certificate; nothing toward clients then,
 * not even the built-in implicit FTPS port. */
START_TEST(test_good_tls_server_only)
{
	struct config *cf = load_good("good-tls-server-only.conf");

	ck_assert(cf->tls.enabled);
	ck_assert(!cf->tls.toward_clients);
	ck_assert_int_eq(cf->tls.client_side, TLS_CLIENT_OFF);
	ck_assert_int_eq(cf->tls.server_side, TLS_SERVER_REQUIRED);
	ck_assert(cf->tls.verify_server);
	ck_assert_uint_eq(cf->n_maps, 1);
	ck_assert_int_eq(cf->maps[0].app, APP_FTP);
	config_unref(cf);
}
END_TEST

START_TEST(test_good_lexing)
{
	/* Braces and comment markers inside strings and comments are not
	 * structure; '//' inside a word is not a comment. */
	struct config *cf = load_good("good-lexing.conf");

	ck_assert_uint_eq(cf->n_deny_commands, 4);
	ck_assert_str_eq(cf->deny_commands[0], "SITE {X}");
	ck_assert_str_eq(cf->deny_commands[1], "SITE #1");
	ck_assert_str_eq(cf->deny_commands[2], "SITE //x");
	ck_assert_str_eq(cf->deny_commands[3], "SITE /*y*/");
	ck_assert_uint_eq(cf->n_listens, 1);
	ck_assert_str_eq(cf->listens[0].name, "single");
	ck_assert_str_eq(fmt(&cf->listens[0].addr), "127.0.0.1:2121");
	ck_assert_int_eq(cf->listens[0].pasv_kind, PASV_ADDR_LOCAL);
	config_unref(cf);
}
END_TEST

START_TEST(test_refcount)
{
	struct config *a = load_good("good-full.conf");
	struct config *b = load_good("good-full.conf");

	/* Two loads are two independent snapshots. */
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_ne(a->listens, b->listens);
	ck_assert_ptr_eq(config_ref(a), a);
	ck_assert_uint_eq(a->refs, 2);
	config_unref(a);
	ck_assert_uint_eq(a->refs, 1);
	ck_assert_str_eq(a->listens[0].name, "transparent");
	config_unref(a);
	config_unref(b);
	config_unref(NULL);
}
END_TEST

START_TEST(test_mode_names)
{
	ck_assert_str_eq(listen_mode_name(MODE_REDIRECT), "redirect");
	ck_assert_str_eq(listen_mode_name(MODE_TPROXY), "tproxy");
	ck_assert_str_eq(listen_mode_name(MODE_REVERSE), "reverse");
}
END_TEST

/* interface: kept as written, NULL when unset. */
START_TEST(test_interface)
{
	struct config *cf = load_good("rules-redirect.conf");

	ck_assert_uint_eq(cf->n_listens, 2);
	ck_assert_str_eq(cf->listens[0].interface, "eth0");
	ck_assert_str_eq(cf->listens[1].interface, "eth1.20");
	config_unref(cf);
	cf = load_good("good-minimal.conf");
	ck_assert_ptr_null(cf->listens[0].interface);
	config_unref(cf);
}
END_TEST

START_TEST(test_cannot_open)
{
	char *errors = NULL, *want;
	struct config *cf = load("no-such-file.conf", &errors);

	ck_assert_ptr_null(cf);
	ck_assert_int_ge(asprintf(&want, "%s: cannot open: No such file or "
	    "directory\n", test_data_path("no-such-file.conf")), 0);
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);

	/* A directory opens but cannot be read. */
	cf = load("", &errors);
	ck_assert_ptr_null(cf);
	ck_assert_msg(strstr(errors, ": cannot read: Is a directory") != NULL,
	    "got: %s", errors);
	free(errors);
}
END_TEST

/* One bad fixture: how many error lines it must print, and the start of
 * each one after "PATH:" (a line of 0 means "PATH: message"). */
static const struct {
	const char *file;
	int nerrors;
	struct {
		int line;
		const char *message;
	} want[6];
} bad[] = {
	{ "err-unknown-key.conf", 1, {
		{ 4, "listen \"main\": no such option 'listen-addr'" } } },
	{ "err-port-range.conf", 1, {
		{ 5, "listen \"main\": option 'port' value 70000 out of range "
		    "1..65535" } } },
	{ "err-bad-integer.conf", 1, {
		{ 2, "invalid integer value for option 'max-sessions'" } } },
	{ "err-enum.conf", 1, {
		{ 3, "listen \"main\": invalid value for option 'mode': "
		    "'bridge' (redirect|tproxy|reverse|proxy)" } } },
	{ "err-tls-enum.conf", 1, {
		{ 5, "tls: invalid value for option 'min-version': '1.1' "
		    "(1.2|1.3)" } } },
	{ "err-dup-title.conf", 1, {
		{ 5, "found duplicate title 'a'" } } },
	{ "err-portmap-port-range.conf", 1, {
		{ 5, "port-mapping \"p\": option 'ports' value 0 out of range "
		    "1..65535" } } },
	{ "err-line-after-comments.conf", 1, {
		{ 11, "listen \"a\": invalid value for option 'mode': "
		    "'bridge'" } } },
	{ "err-no-listen.conf", 1, {
		{ 0, "no listen section" } } },
	{ "err-port-in-range.conf", 2, {
		{ 5, "listen \"a\": port 50010 is inside passive-ports "
		    "50000-50999" },
		{ 10, "listen \"b\": port 40000 is inside passive-ports "
		    "40000-40010" } } },
	{ "err-workers-range.conf", 1, {
		{ 4, "listen \"main\": passive-ports 50000-50001 has fewer ports "
		    "than workers (3)" } } },
	{ "err-default-port-in-range.conf", 1, {
		{ 5, "listen \"x\": port 8021 is inside passive-ports "
		    "8000-8100" } } },
	{ "err-bad-range.conf", 3, {
		{ 2, "passive-ports \"50999-50000\" is not a port range" },
		{ 4, "listen \"a\": passive-ports \"\" is not a port range" },
		{ 8, "listen \"b\": passive-ports \"1-70000\" is not a port "
		    "range" } } },
	{ "err-reverse-no-upstream.conf", 1, {
		{ 3, "listen \"rev\": mode reverse needs 'upstream'" } } },
	{ "err-upstream-not-reverse.conf", 2, {
		{ 4, "listen \"redir\": upstream is only for mode reverse (this "
		    "is mode redirect)" },
		{ 8, "listen \"tp\": upstream is only for mode reverse (this is "
		    "mode tproxy)" } } },
	{ "err-bad-address.conf", 5, {
		{ 3, "listen \"a\": address \"localhost\" is not a numeric" },
		{ 8, "listen \"b\": upstream \"192.0.2.1:0\" is not a numeric" },
		{ 12, "listen \"c\": passive-address \"nat.example.com\" is not "
		    "original, local," },
		{ 16, "listen \"d\": address \"192.0.2.1:2123\" is not a "
		    "numeric" },
		{ 17, "listen \"d\": passive-address \"0.0.0.0\" is not" } } },
	{ "err-dup-listen.conf", 1, {
		{ 6, "listen \"b\": 0.0.0.0:2121 is already used by listen "
		    "\"a\"" } } },
	{ "err-portmap-no-ports.conf", 2, {
		{ 4, "port-mapping \"nothing\": needs ports" },
		{ 8, "port-mapping \"empty\": needs ports" } } },
	{ "err-portmap-bad-server.conf", 4, {
		{ 6, "port-mapping \"lan\": servers \"10.0.0.1/8\" is not an "
		    "address prefix" },
		{ 6, "port-mapping \"lan\": servers \"lan\" is not an address "
		    "prefix" },
		{ 11, "port-mapping \"none\": servers is empty" },
		/* The line of "servers =", not of the list's '}'. */
		{ 15, "port-mapping \"multi-line\": servers \"192.0.2.1/24\" "
		    "is not an address prefix" } } },
	{ "err-deny-commands.conf", 6, {
		{ 2, "deny-commands: \"SITEEXEC\" is not a command" },
		{ 2, "deny-commands: \"SITE  EXEC\" is not a command" },
		{ 2, "deny-commands: \"DE\" is not a command" },
		{ 2, "deny-commands: \"SITE EXEC \" is not a command" },
		{ 2, "deny-commands: \"ST0R\" is not a command" },
		{ 4, "allow-commands: \"RE TR\" is not a command" } } },
	{ "err-control-socket-group.conf", 1, {
		{ 2, "control-socket-group: empty (leave it out for mode "
		    "0600)" } } },
	{ "err-bad-interface.conf", 3, {
		{ 3, "listen \"a\": interface \"eth0;reboot\" is not an "
		    "interface name" },
		{ 7, "listen \"b\": interface \"averyverylongname\" is not an "
		    "interface name" },
		{ 11, "listen \"c\": interface \"\" is not an interface "
		    "name" } } },
	{ "err-ftps-no-tls.conf", 2, {
		{ 9, "tls: key cannot take effect: there is no certificate" },
		{ 6, "port-mapping \"implicit\": application ftps needs TLS "
		    "toward clients (set tls { certificate ... }, client-side "
		    "not off)" } } },
	{ "err-tls-no-cert.conf", 6, {
		{ 5, "tls: key cannot take effect: there is no certificate" },
		{ 6, "tls: client-side cannot take effect: TLS toward clients "
		    "needs a certificate" },
		{ 7, "tls: server-side cannot take effect: \"auto\" follows" },
		{ 8, "tls: verify-server cannot take effect: there is no TLS "
		    "toward servers" },
		{ 9, "tls: require-session-reuse cannot take effect: there is "
		    "no TLS toward clients" },
		{ 10, "tls: min-version cannot take effect: the gateway speaks "
		    "no TLS" } } },
	{ "err-tls-unused.conf", 4, {
		{ 5, "tls: certificate cannot take effect: client-side = "
		    "\"off\": nothing would present it" },
		{ 8, "tls: ca-file cannot take effect: only verify-server = "
		    "true reads it" },
		{ 9, "tls: min-version cannot take effect" },
		{ 10, "tls: ciphersuites cannot take effect" } } },
	{ "err-tls-ciphers13.conf", 1, {
		{ 7, "tls: ciphers cannot take effect: it is for TLS 1.2, and "
		    "min-version excludes it" } } },
	{ "err-missing-brace.conf", 1, {
		{ 6, "missing '}': the section opened on this line is never "
		    "closed" } } },
	{ "err-unterminated-string.conf", 2, {
		{ 5, "unterminated string" } } },
	{ "err-unterminated-comment.conf", 1, {
		{ 3, "unterminated comment" } } },
	{ "err-many.conf", 5, {
		{ 2, "deny-commands: \"X\" is not a command" },
		{ 4, "listen \"a\": address \"bogus\" is not a numeric" },
		{ 6, "listen \"b\": mode reverse needs 'upstream'" },
		{ 9, "port-mapping \"m\": needs ports" },
		{ 10, "port-mapping \"m\": application ftps needs TLS" } } },
};

START_TEST(test_bad_fixture)
{
	const char *file = bad[_i].file;
	char *errors = NULL, *path = strdup(test_data_path(file));
	struct config *cf = load(file, &errors);
	int lines = 0;

	ck_assert_msg(cf == NULL, "%s loaded", file);
	for (const char *p = errors; *p != '\0'; p++)
		lines += *p == '\n';
	ck_assert_msg(lines == bad[_i].nerrors, "%s: %d errors, want %d:\n%s",
	    file, lines, bad[_i].nerrors, errors);
	for (size_t k = 0; k < sizeof(bad[_i].want) / sizeof(bad[_i].want[0]) &&
	    bad[_i].want[k].message != NULL; k++) {
		char *want;

		if (bad[_i].want[k].line > 0)
			ck_assert_int_ge(asprintf(&want, "%s:%d: %s", path,
			    bad[_i].want[k].line, bad[_i].want[k].message), 0);
		else
			ck_assert_int_ge(asprintf(&want, "%s: %s", path,
			    bad[_i].want[k].message), 0);
		ck_assert_msg(strstr(errors, want) != NULL,
		    "missing \"%s\" in:\n%s", want, errors);
		free(want);
	}
	free(path);
	free(errors);
}
END_TEST

Suite *
suite_conf(void)
{
	Suite *s = suite_create("conf");
	TCase *good = tcase_create("good");
	TCase *errors = tcase_create("errors");

	tcase_add_test(good, test_good_full);
	tcase_add_test(good, test_good_full_lookup);
	tcase_add_test(good, test_good_minimal_defaults);
	tcase_add_test(good, test_good_tls_server_only);
	tcase_add_test(good, test_good_lexing);
	tcase_add_test(good, test_refcount);
	tcase_add_test(good, test_mode_names);
	tcase_add_test(good, test_interface);
	suite_add_tcase(s, good);

	tcase_add_test(errors, test_cannot_open);
	tcase_add_loop_test(errors, test_bad_fixture, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	suite_add_tcase(s, errors);
	return s;
}

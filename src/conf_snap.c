/* conf_snap.c: pass 3 of the configuration loader. The values libconfuse
 * parsed are copied into struct config, and every semantic rule is checked,
 * reporting all failures, not just the first. The snapshot's memory is
 * released here too, in one place. */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "addr.h"
#include "conf.h"
#include "conf_int.h"
#include "conf_keys.h"
#include "conf_names.h"
#include "log.h"
#include "portmap.h"
#include "ratelimit.h"

/* Copy the keys of SECTION that conf_keys[] gives a field to, from SEC into
 * the struct at DST. Integers were range-checked while parsing. */
static void
copy_fields(cfg_t *sec, enum conf_section section, void *dst)
{
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		char *field = (char *)dst + k->field_offset;

		if (k->section != section || k->field_size == 0)
			continue;
		if (k->type == CONF_BOOL) {
			bool b = cfg_getbool(sec, k->name);

			assert(k->field_size == sizeof(b));
			memcpy(field, &b, sizeof(b));
		} else if (k->field_size == sizeof(uint16_t)) {
			uint16_t v = (uint16_t)cfg_getint(sec, k->name);

			memcpy(field, &v, sizeof(v));
		} else {
			/* unsigned, int or an enum: the same representation
			 * for the values a range or a word allows. */
			unsigned v = (unsigned)cfg_getint(sec, k->name);

			assert(k->field_size == sizeof(v));
			assert(k->type == CONF_INT || k->type == CONF_ENUM);
			memcpy(field, &v, sizeof(v));
		}
	}
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* "SITE EXEC", "DELE" (deny-commands, allow-commands): a verb of 3-4
 * letters, then optional words, each after one space. The verb is stored
 * upper-case, as the session matches FTP verbs. Returns a copy or NULL
 * (errno 0 when malformed). */
static char *
deny_command_parse(const char *s)
{
	size_t verb = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz");
	char *copy;

	errno = 0;
	if (verb < 3 || verb > 4 || (s[verb] != '\0' && s[verb] != ' '))
		return NULL;
	for (const char *p = s + verb; *p != '\0'; p++) {
		if (*p == ' ') {
			/* Exactly one space, then a word. */
			if (p[1] == ' ' || p[1] == '\0')
				return NULL;
		} else if (!isgraph((unsigned char)*p))
			return NULL;
	}
	if ((copy = strdup(s)) == NULL)
		return NULL;
	for (size_t i = 0; i < verb; i++)
		copy[i] = (char)toupper((unsigned char)copy[i]);
	return copy;
}

/* deny-commands or allow-commands (KEY): the checked patterns into *LIST,
 * *N. False only when out of memory. */
static bool
snap_commands(struct loader *ld, cfg_t *cfg, const char *key, char ***list,
    size_t *n)
{
	unsigned size = cfg_size(cfg, key);

	if (size > 0 && (*list = calloc(size, sizeof(char *))) == NULL)
		return conf_oom(ld);
	for (unsigned i = 0; i < size; i++) {
		const char *s = cfg_getnstr(cfg, key, i);
		char *copy = deny_command_parse(s);

		if (copy == NULL && errno != 0)
			return conf_oom(ld);
		if (copy == NULL) {
			conf_error(ld, conf_option_line(ld, cfg, key),
			    "%s: \"%s\" is not a command (3-4 letters, "
			    "then optional arguments after single spaces)", key, s);
			continue;
		}
		(*list)[(*n)++] = copy;
	}
	return true;
}

/* A bare numeric host, no port: "192.0.2.1", "::", "[2001:db8::1]". */
static int
host_parse(const char *s, struct sockaddr_storage *out)
{
	if (addr_parse(s, false, out) == -1)
		return -1;
	return addr_port((struct sockaddr *)out) == 0 ? 0 : -1;
}

/* A Linux interface name (IFNAMSIZ - 1 bytes at most), restricted to the
 * characters that are safe unquoted in a shell and in an nft file. */
static bool
interface_name_ok(const char *s)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strlen(s);
	return len >= 1 && len <= 15 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

/* The keys operators use to watch the gateway: control socket, metrics,
 * syslog facility, transfer log. */
static bool
snap_operations(struct loader *ld, cfg_t *cfg, struct config *cf)
{
	const char *sock = cfg_getstr(cfg, "control-socket");
	const char *metrics = cfg_getstr(cfg, "metrics-listen");
	const char *facility = cfg_getstr(cfg, "log-facility");
	const char *xferlog = cfg_getstr(cfg, "transfer-log");
	const struct word *fac;

	if (sock[0] != '\0' && (sock[0] != '/' || strlen(sock) >= 108))
		conf_error(ld, conf_option_line(ld, cfg, "control-socket"),
		    "control-socket \"%s\": an absolute path of at most 107 bytes "
		    "(or \"\" for none)", sock);
	else if ((cf->control_socket = strdup(sock)) == NULL)
		return conf_oom(ld);
	if (cfg_size(cfg, "control-socket-group") > 0) {
		const char *group = cfg_getstr(cfg, "control-socket-group");

		/* Looked up when the socket is made: a missing group costs
		 * ftpgwctl, not the gateway. */
		if (group == NULL || *group == '\0')
			conf_error(ld, conf_option_line(ld, cfg, "control-socket-group"),
			    "control-socket-group: empty (leave it out for mode 0600)");
		else if ((cf->control_socket_group = strdup(group)) == NULL)
			return conf_oom(ld);
	}
	cf->has_metrics = metrics[0] != '\0';
	if (cf->has_metrics && addr_parse(metrics, true, &cf->metrics_addr) == -1)
		conf_error(ld, conf_option_line(ld, cfg, "metrics-listen"),
		    "metrics-listen \"%s\": ADDRESS:PORT or [IPV6]:PORT (or \"\" for none)",
		    metrics);
	if ((fac = word_find(log_facility_words, facility)) == NULL)
		conf_error(ld, conf_option_line(ld, cfg, "log-facility"),
		    "log-facility \"%s\": daemon, user or local0 ... local7", facility);
	else
		cf->log_facility = (int)(fac - log_facility_words);
	if (xferlog[0] != '\0' && xferlog[0] != '/')
		conf_error(ld, conf_option_line(ld, cfg, "transfer-log"),
		    "transfer-log \"%s\": an absolute path (or \"\" for none)", xferlog);
	else if (xferlog[0] != '\0' && (cf->transfer_log = strdup(xferlog)) == NULL)
		return conf_oom(ld);
	return true;
}

/* rate-limit-session and rate-limit-client of SEC (a listen section
 * NAME, or the globals for NULL) into *SESSION and *CLIENT; a key a listen
 * section leaves unset keeps the value given (the global one). */
static void
snap_rates(struct loader *ld, cfg_t *sec, const char *name, uint64_t *session,
    uint64_t *client)
{
	static const char *const keys[2] = { "rate-limit-session", "rate-limit-client" };
	uint64_t *dst[2] = { session, client };

	for (int i = 0; i < 2; i++) {
		const char *s;

		if (cfg_size(sec, keys[i]) == 0)
			continue;
		s = cfg_getstr(sec, keys[i]);
		if (rl_parse_rate(s, dst[i]) == -1)
			conf_error(ld, conf_option_line(ld, sec, keys[i]),
			    "%s%s%s%s \"%s\" is not a rate (bytes per second, "
			    "digits with an optional K, M or G = 1024, 1024^2, "
			    "1024^3; 0 = none; at most 1024G)",
			    name != NULL ? "listen \"" : "", name != NULL ? name : "",
			    name != NULL ? "\": " : "", keys[i], s != NULL ? s : "");
	}
}

static bool
snap_globals(struct loader *ld, cfg_t *cfg, struct config *cf)
{
	if (cfg_size(cfg, "user") > 0) {
		const char *user = cfg_getstr(cfg, "user");

		if (user == NULL || *user == '\0')
			conf_error(ld, conf_option_line(ld, cfg, "user"),
			    "user: empty (leave it out to stay as started)");
		else if ((cf->user = strdup(user)) == NULL)
			return conf_oom(ld);
	}
	if (port_range_parse(cfg_getstr(cfg, "passive-ports"), &cf->pasv_lo,
	    &cf->pasv_hi) == -1)
		conf_error(ld, conf_option_line(ld, cfg, "passive-ports"),
		    "passive-ports \"%s\" is not a port range (LO-HI or PORT, "
		    "1 <= LO <= HI <= 65535)", cfg_getstr(cfg, "passive-ports"));
	/* log-level, max-sessions, the timeouts, strict, workers. */
	copy_fields(cfg, CONF_SEC_GLOBAL, cf);
	snap_rates(ld, cfg, NULL, &cf->rate_session, &cf->rate_client);
	if (!snap_operations(ld, cfg, cf))
		return false;
	{
		const char *rc = cfg_getstr(cfg, "resolv-conf");

		if (rc[0] != '/')
			conf_error(ld, conf_option_line(ld, cfg, "resolv-conf"),
			    "resolv-conf \"%s\": an absolute path", rc);
		else if ((cf->resolv_conf = strdup(rc)) == NULL)
			return conf_oom(ld);
	}
	{
		const char *t = cfg_getstr(cfg, "kernel-table");
		size_t len = t != NULL ? strlen(t) : 0;

		/* A name nft takes as it is, never one of its keywords. */
		if (len < 5 || len > 32 || strncmp(t, "ftpgw", 5) != 0 ||
		    strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
			conf_error(ld, conf_option_line(ld, cfg, "kernel-table"),
			    "kernel-table \"%s\": \"ftpgw\" followed by up to 27 "
			    "lower-case letters, digits or '_'", t != NULL ? t : "");
		if (t != NULL && (cf->kernel_table = strdup(t)) == NULL)
			return conf_oom(ld);
	}

	return snap_commands(ld, cfg, "deny-commands", &cf->deny_commands,
	    &cf->n_deny_commands) &&
	    snap_commands(ld, cfg, "allow-commands", &cf->allow_commands,
	    &cf->n_allow_commands);
}

static bool
snap_listen(struct loader *ld, cfg_t *sec, struct config *cf,
    struct listen_conf *lc)
{
	const char *name = cfg_title(sec);
	const struct word *word;
	const char *s;
	int line = conf_section_line(ld, sec);
	size_t n;

	if ((lc->name = strdup(name)) == NULL)
		return conf_oom(ld);
	/* mode, server-data-mode, follow-pasv-address. */
	copy_fields(sec, CONF_SEC_LISTEN, lc);
	lc->rate_session = cf->rate_session;
	lc->rate_client = cf->rate_client;
	snap_rates(ld, sec, name, &lc->rate_session, &lc->rate_client);
	lc->data_path = (enum data_path)cf->data_path;
	if (cfg_size(sec, "data-path") > 0) {
		s = cfg_getstr(sec, "data-path");
		if ((word = word_find(conf_data_paths, s != NULL ? s : "")) == NULL)
			conf_error(ld, conf_option_line(ld, sec, "data-path"),
			    "listen \"%s\": data-path \"%s\": relay, kernel or auto",
			    name, s != NULL ? s : "");
		else
			lc->data_path = (enum data_path)word->value;
	}

	s = cfg_getstr(sec, "address");
	if (host_parse(s, &lc->addr) == -1)
		conf_error(ld, conf_option_line(ld, sec, "address"), "listen \"%s\": "
		    "address \"%s\" is not a numeric IPv4 or IPv6 address "
		    "(the port goes in 'port')", name, s);
	else
		addr_set_port((struct sockaddr *)&lc->addr,
		    (uint16_t)cfg_getint(sec, "port"));

	if ((n = cfg_size(sec, "upstream")) > 0 && lc->mode != MODE_REVERSE)
		conf_error(ld, conf_option_line(ld, sec, "upstream"),
		    "listen \"%s\": upstream is only for mode reverse "
		    "(this is mode %s)", name, listen_mode_name(lc->mode));
	else if (n > 0) {
		if ((lc->upstreams = calloc(n, sizeof(*lc->upstreams))) == NULL)
			return conf_oom(ld);
		for (size_t i = 0; i < n; i++) {
			struct sockaddr_storage *up = &lc->upstreams[lc->n_upstreams];

			s = cfg_getnstr(sec, "upstream", (unsigned)i);
			if (s == NULL || addr_parse(s, false, up) == -1 ||
			    addr_is_any((struct sockaddr *)up)) {
				conf_error(ld, conf_option_line(ld, sec, "upstream"),
				    "listen \"%s\": upstream \"%s\" is not a numeric "
				    "address with an optional port (A.B.C.D[:PORT] or "
				    "[IPV6][:PORT])", name, s != NULL ? s : "");
				continue;
			}
			if (addr_port((struct sockaddr *)up) == 0)
				addr_set_port((struct sockaddr *)up, 21);
			for (size_t j = 0; j < lc->n_upstreams; j++)
				if (addr_equal((struct sockaddr *)&lc->upstreams[j],
				    (struct sockaddr *)up))
					conf_error(ld, conf_option_line(ld, sec, "upstream"),
					    "listen \"%s\": upstream \"%s\" is named twice",
					    name, s);
			lc->n_upstreams++;
		}
	} else if (lc->mode == MODE_REVERSE)
		conf_error(ld, line, "listen \"%s\": mode reverse needs "
		    "'upstream' (the server's address)", name);

	if ((n = cfg_size(sec, "follow-pasv-networks")) > 0 &&
	    (lc->follow_nets = calloc(n, sizeof(*lc->follow_nets))) == NULL)
		return conf_oom(ld);
	for (size_t i = 0; i < n; i++) {
		s = cfg_getnstr(sec, "follow-pasv-networks", (unsigned)i);
		if (prefix_parse(s, &lc->follow_nets[lc->n_follow_nets]) == 0)
			lc->n_follow_nets++;
		else
			conf_error(ld, conf_option_line(ld, sec, "follow-pasv-networks"),
			    "listen \"%s\": follow-pasv-networks \"%s\" is not an "
			    "address/prefix-length", name, s);
	}

	s = cfg_getstr(sec, "passive-address");
	if ((word = word_find(conf_pasv_kinds, s)) != NULL)
		lc->pasv_kind = (enum passive_address_kind)word->value;
	else if (host_parse(s, &lc->pasv_fixed) == 0 &&
	    !addr_is_any((struct sockaddr *)&lc->pasv_fixed))
		lc->pasv_kind = PASV_ADDR_FIXED;
	else
		conf_error(ld, conf_option_line(ld, sec, "passive-address"),
		    "listen \"%s\": passive-address \"%s\" is not original, "
		    "local, or a numeric IPv4 or IPv6 address", name, s);

	if (cfg_size(sec, "interface") > 0) {
		s = cfg_getstr(sec, "interface");
		if (!interface_name_ok(s))
			conf_error(ld, conf_option_line(ld, sec, "interface"),
			    "listen \"%s\": interface \"%s\" is not an interface "
			    "name (1-15 of A-Z a-z 0-9 _ . -)", name,
			    s != NULL ? s : "");
		else if ((lc->interface = strdup(s)) == NULL)
			return conf_oom(ld);
	}

	if (cfg_size(sec, "passive-ports") > 0) {
		s = cfg_getstr(sec, "passive-ports");
		if (port_range_parse(s, &lc->pasv_lo, &lc->pasv_hi) == -1) {
			conf_error(ld, conf_option_line(ld, sec, "passive-ports"),
			    "listen \"%s\": passive-ports \"%s\" is not a port "
			    "range (LO-HI or PORT, 1 <= LO <= HI <= 65535)",
			    name, s != NULL ? s : "");
			return true;
		}
	} else {
		lc->pasv_lo = cf->pasv_lo;
		lc->pasv_hi = cf->pasv_hi;
	}
	/* The gateway's data listeners would fight its control listener. A
	 * broken global range (0-0) has been reported already. */
	if (lc->pasv_lo != 0 && cfg_getint(sec, "port") >= lc->pasv_lo &&
	    cfg_getint(sec, "port") <= lc->pasv_hi)
		conf_error(ld, conf_option_line(ld, sec, "port"), "listen \"%s\": "
		    "port %ld is inside passive-ports %u-%u", name,
		    cfg_getint(sec, "port"), (unsigned)lc->pasv_lo,
		    (unsigned)lc->pasv_hi);
	/* Each worker owns a slice of the range: one port at least. */
	if (lc->pasv_lo != 0 && cf->workers > (unsigned)lc->pasv_hi - lc->pasv_lo + 1)
		conf_error(ld, conf_option_line(ld, sec, "passive-ports"), "listen \"%s\": passive-ports %u-%u has fewer ports than "
		    "workers (%u): each worker needs a slice of its own", name,
		    (unsigned)lc->pasv_lo, (unsigned)lc->pasv_hi, cf->workers);
	return true;
}

static bool
snap_listens(struct loader *ld, cfg_t *cfg, struct config *cf)
{
	unsigned n = cfg_size(cfg, "listen");

	if (n == 0) {
		conf_error(ld, 0, "no listen section: at least one "
		    "listen \"NAME\" { ... } is needed");
		return true;
	}
	if ((cf->listens = calloc(n, sizeof(*cf->listens))) == NULL)
		return conf_oom(ld);
	for (unsigned i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(cfg, "listen", i);
		struct listen_conf *lc = &cf->listens[i];

		cf->n_listens++;
		if (!snap_listen(ld, sec, cf, lc))
			return false;
		if (lc->addr.ss_family == AF_UNSPEC)
			continue;
		for (unsigned j = 0; j < i; j++) {
			char buf[ADDR_STRLEN];

			if (!addr_equal((struct sockaddr *)&lc->addr,
			    (struct sockaddr *)&cf->listens[j].addr))
				continue;
			conf_error(ld, conf_section_line(ld, sec), "listen \"%s\": "
			    "%s is already used by listen \"%s\"", lc->name,
			    addr_fmt((struct sockaddr *)&lc->addr, buf,
			    sizeof(buf)), cf->listens[j].name);
			break;
		}
	}
	return true;
}

/* Is KEY written in the tls section, rather than left at its default? */
static bool
tls_written(cfg_t *sec, const char *key)
{
	cfg_opt_t *opt = cfg_getopt(sec, key);

	return opt != NULL && (opt->flags & CFGF_MODIFIED) != 0;
}

/* A TLS setting that cannot take effect is an error, never silently off:
 * one that is written where nothing would use it. Settings left at their
 * defaults give way instead (client-side and server-side are off without
 * what they need). */
static void
tls_refuse(struct loader *ld, cfg_t *sec, const char *key, const char *why)
{
	conf_error(ld, conf_option_line(ld, sec, key), "tls: %s cannot take effect: %s",
	    key, why);
}

static void
tls_check(struct loader *ld, cfg_t *sec, struct tls_conf *tls)
{
	bool has_cert = tls->certificate != NULL && tls->certificate[0] != '\0';
	static const char *const need_tls[] = {
		"min-version", "ciphers", "ciphersuites",
	};

	if (tls_written(sec, "key") && !has_cert)
		tls_refuse(ld, sec, "key", "there is no certificate");
	if (!has_cert && tls->client_side != TLS_CLIENT_OFF) {
		if (tls_written(sec, "client-side"))
			tls_refuse(ld, sec, "client-side",
			    "TLS toward clients needs a certificate");
		tls->client_side = TLS_CLIENT_OFF;
	}
	if (has_cert && tls->client_side == TLS_CLIENT_OFF)
		tls_refuse(ld, sec, "certificate",
		    "client-side = \"off\": nothing would present it");
	/* auto follows the client's AUTH TLS. */
	if (tls->client_side == TLS_CLIENT_OFF && tls->server_side == TLS_SERVER_AUTO) {
		if (tls_written(sec, "server-side"))
			tls_refuse(ld, sec, "server-side", "\"auto\" follows the client's "
			    "AUTH TLS, and TLS toward clients is off (use \"required\")");
		tls->server_side = TLS_SERVER_OFF;
	}
	tls->toward_clients = tls->client_side != TLS_CLIENT_OFF;
	tls->enabled = tls->toward_clients || tls->server_side != TLS_SERVER_OFF;

	if (tls->verify_server && tls->server_side == TLS_SERVER_OFF)
		tls_refuse(ld, sec, "verify-server", "there is no TLS toward servers");
	if (tls_written(sec, "ca-file") && !tls->verify_server)
		tls_refuse(ld, sec, "ca-file", "only verify-server = true reads it");
	if (tls_written(sec, "require-session-reuse") && !tls->toward_clients)
		tls_refuse(ld, sec, "require-session-reuse", "there is no TLS toward clients");
	for (size_t i = 0; i < sizeof(need_tls) / sizeof(need_tls[0]); i++)
		if (tls_written(sec, need_tls[i]) && !tls->enabled)
			tls_refuse(ld, sec, need_tls[i], "the gateway speaks no TLS "
			    "(no certificate, and server-side is not \"required\")");
	if (tls->enabled && tls->ciphers[0] != '\0' && tls->min_version > CONF_TLS_WIRE_1_2)
		tls_refuse(ld, sec, "ciphers", "it is for TLS 1.2, and min-version excludes it "
		    "(use ciphersuites)");
}

static bool
snap_tls(struct loader *ld, cfg_t *cfg, struct config *cf)
{
	cfg_t *sec = cfg_getsec(cfg, "tls");
	struct tls_conf *tls = &cf->tls;

	if (cfg_size(sec, "certificate") > 0 &&
	    (tls->certificate = dup_or_null(cfg_getstr(sec, "certificate"))) ==
	    NULL)
		return conf_oom(ld);
	if (cfg_size(sec, "key") > 0 &&
	    (tls->key = dup_or_null(cfg_getstr(sec, "key"))) == NULL)
		return conf_oom(ld);
	if ((tls->ca_file = dup_or_null(cfg_getstr(sec, "ca-file"))) == NULL ||
	    (tls->ciphers = dup_or_null(cfg_getstr(sec, "ciphers"))) == NULL ||
	    (tls->ciphersuites = dup_or_null(cfg_getstr(sec, "ciphersuites"))) == NULL)
		return conf_oom(ld);
	/* client-side, server-side, verify-server, min-version,
	 * require-session-reuse. */
	copy_fields(sec, CONF_SEC_TLS, tls);
	tls_check(ld, sec, tls);
	return true;
}

static bool
snap_portmap(struct loader *ld, cfg_t *sec, const struct config *cf,
    struct portmap *pm)
{
	const char *name = cfg_title(sec);
	unsigned n;

	if ((pm->name = strdup(name)) == NULL)
		return conf_oom(ld);
	n = cfg_size(sec, "ports");
	if (n == 0)
		conf_error(ld, conf_option_line(ld, sec, "ports"), "port-mapping "
		    "\"%s\": needs ports = {PORT, ...}", name);
	else if ((pm->ports = calloc(n, sizeof(*pm->ports))) == NULL)
		return conf_oom(ld);
	for (unsigned i = 0; i < n; i++)
		pm->ports[pm->nports++] =
		    (uint16_t)cfg_getnint(sec, "ports", i);

	n = cfg_size(sec, "servers");
	if (n == 0)
		conf_error(ld, conf_option_line(ld, sec, "servers"), "port-mapping "
		    "\"%s\": servers is empty (leave it out for every server)",
		    name);
	else if ((pm->servers = calloc(n, sizeof(*pm->servers))) == NULL)
		return conf_oom(ld);
	for (unsigned i = 0; i < n; i++) {
		const char *s = cfg_getnstr(sec, "servers", i);

		if (prefix_parse(s, &pm->servers[pm->nservers]) == 0)
			pm->nservers++;
		else
			conf_error(ld, conf_option_line(ld, sec, "servers"),
			    "port-mapping \"%s\": servers \"%s\" is not an "
			    "address prefix (ADDRESS/LENGTH with the host bits "
			    "zero, or ADDRESS)", name, s);
	}

	copy_fields(sec, CONF_SEC_PORT_MAPPING, pm);    /* application */
	if (pm->app == APP_FTPS && !cf->tls.toward_clients)
		conf_error(ld, conf_option_line(ld, sec, "application"),
		    "port-mapping \"%s\": application ftps needs TLS toward "
		    "clients (set tls { certificate ... }, client-side not off)", name);
	return true;
}

/* The built-in mappings after the file's: port 21 is FTP (and, with TLS,
 * port 990 implicit FTPS) wherever it goes, unless a stanza says otherwise. */
static bool
snap_default_portmap(struct loader *ld, struct portmap *pm, const char *name,
    enum app_kind app, uint16_t port)
{
	if ((pm->name = strdup(name)) == NULL ||
	    (pm->ports = calloc(1, sizeof(*pm->ports))) == NULL ||
	    (pm->servers = calloc(2, sizeof(*pm->servers))) == NULL)
		return conf_oom(ld);
	pm->app = app;
	pm->ports[pm->nports++] = port;
	if (prefix_parse("0.0.0.0/0", &pm->servers[0]) == -1 ||
	    prefix_parse("::/0", &pm->servers[1]) == -1)
		return conf_oom(ld);  /* cannot happen: the literals are valid */
	pm->nservers = 2;
	return true;
}

static bool
snap_portmaps(struct loader *ld, cfg_t *cfg, struct config *cf)
{
	unsigned n = cfg_size(cfg, "port-mapping");

	if ((cf->maps = calloc((size_t)n + 2, sizeof(*cf->maps))) == NULL)
		return conf_oom(ld);
	for (unsigned i = 0; i < n; i++) {
		cf->n_maps++;
		if (!snap_portmap(ld, cfg_getnsec(cfg, "port-mapping", i), cf,
		    &cf->maps[i]))
			return false;
	}
	cf->n_maps++;
	if (!snap_default_portmap(ld, &cf->maps[n], "ftp", APP_FTP, 21))
		return false;
	if (!cf->tls.toward_clients)
		return true;
	cf->n_maps++;
	return snap_default_portmap(ld, &cf->maps[n + 1], "ftps", APP_FTPS, 990);
}

static void config_free(struct config *);

struct config *
conf_snapshot(struct loader *ld, cfg_t *cfg)
{
	struct config *cf;

	if ((cf = calloc(1, sizeof(*cf))) == NULL) {
		conf_oom(ld);
		return NULL;
	}
	cf->refs = 1;
	if ((cf->path = strdup(ld->path)) == NULL) {
		conf_oom(ld);
		config_free(cf);
		return NULL;
	}
	/* TLS before the port mappings: ftps needs it. */
	if (!snap_globals(ld, cfg, cf) || !snap_listens(ld, cfg, cf) ||
	    !snap_tls(ld, cfg, cf) || !snap_portmaps(ld, cfg, cf) ||
	    !conf_snap_rules(ld, cfg, cf) || ld->nerrors > 0) {
		config_free(cf);
		return NULL;
	}
	return cf;
}



/* The one place a snapshot's memory is released, complete or partial. */
static void
config_free(struct config *cf)
{
	if (cf == NULL)
		return;
	free(cf->path);
	free(cf->user);
	free(cf->control_socket);
	free(cf->control_socket_group);
	free(cf->transfer_log);
	free(cf->resolv_conf);
	free(cf->kernel_table);
	for (size_t i = 0; i < cf->n_deny_commands; i++)
		free(cf->deny_commands[i]);
	free(cf->deny_commands);
	for (size_t i = 0; i < cf->n_allow_commands; i++)
		free(cf->allow_commands[i]);
	free(cf->allow_commands);
	for (size_t i = 0; i < cf->n_listens; i++) {
		free(cf->listens[i].name);
		free(cf->listens[i].follow_nets);
		free(cf->listens[i].upstreams);
		free(cf->listens[i].interface);
	}
	free(cf->listens);
	for (size_t i = 0; i < cf->n_maps; i++) {
		free(cf->maps[i].name);
		free(cf->maps[i].ports);
		free(cf->maps[i].servers);
	}
	free(cf->maps);
	free(cf->tls.certificate);
	free(cf->tls.key);
	free(cf->tls.ca_file);
	free(cf->tls.ciphers);
	free(cf->tls.ciphersuites);
	rules_free(&cf->rules);
	free(cf);
}

/* Sessions on several worker threads hold the same snapshot: the count is
 * updated atomically (refs stays a plain unsigned for the header). */
struct config *
config_ref(struct config *cf)
{
	__atomic_add_fetch(&cf->refs, 1, __ATOMIC_RELAXED);
	return cf;
}

void
config_unref(struct config *cf)
{
	if (cf == NULL)
		return;
	if (__atomic_sub_fetch(&cf->refs, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(cf);
}


/* conf_keys.c: the table of every configuration key (see conf_keys.h). */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conf_keys.h"
#include "conf_names.h"
#include "log.h"
#include "portmap.h"
#include "rules.h"

/* Where a key's value is kept as it is, in struct TYPE. */
#define FIELD(type, member) \
	.field_offset = offsetof(struct type, member), \
	.field_size = sizeof(((struct type *)NULL)->member)

#define GLOBAL CONF_SEC_GLOBAL
#define LISTEN CONF_SEC_LISTEN
#define PORT_MAPPING CONF_SEC_PORT_MAPPING
#define TLS CONF_SEC_TLS
#define RULE CONF_SEC_RULE

const struct conf_key conf_keys[] = {
	/* Global options. */
	{ GLOBAL, "user", CONF_STR_UNSET,
	    .doc = "switch to this user once the sockets are open" },
	{ GLOBAL, "log-level", CONF_ENUM, .def_int = LL_INFO,
	    .values = log_level_words, FIELD(config, log_level),
	    .doc = "the lowest level logged" },
	{ GLOBAL, "passive-ports", CONF_STR, .def_str = "50000-50999",
	    .doc = "the ports of the gateway's own data listeners, LO-HI" },
	{ GLOBAL, "max-sessions", CONF_INT, .def_int = 10000,
	    .min = 1, .max = 1000000, FIELD(config, max_sessions),
	    .doc = "the most sessions at once, in all" },
	{ GLOBAL, "max-sessions-per-client", CONF_INT, .def_int = 50,
	    .min = 1, .max = 1000000, FIELD(config, max_sessions_per_client),
	    .doc = "the most sessions at once from one client address" },
	{ GLOBAL, "idle-timeout", CONF_INT, .def_int = 900,
	    .min = 1, .max = 604800, FIELD(config, idle_timeout),
	    .doc = "seconds without command, reply or data before a session "
	    "is closed" },
	{ GLOBAL, "data-timeout", CONF_INT, .def_int = 60,
	    .min = 1, .max = 86400, FIELD(config, data_timeout),
	    .doc = "seconds a data channel may take until both its "
	    "connections are up" },
	{ GLOBAL, "connect-timeout", CONF_INT, .def_int = 10,
	    .min = 1, .max = 600, FIELD(config, connect_timeout),
	    .doc = "seconds to establish the control connection to the server" },
	{ GLOBAL, "shutdown-timeout", CONF_INT, .def_int = 30,
	    .min = 0, .max = 86400, FIELD(config, shutdown_timeout),
	    .doc = "seconds live sessions get after SIGTERM or SIGINT" },
	{ GLOBAL, "strict", CONF_BOOL, .def_int = true, FIELD(config, strict),
	    .doc = "refuse out-of-order commands at the gateway" },
	{ GLOBAL, "deny-commands", CONF_STR_LIST, .def_str = "{\"SITE EXEC\"}",
	    .doc = "commands answered 502 by the gateway, not forwarded" },
	{ GLOBAL, "allow-commands", CONF_STR_LIST, .def_str = "{}",
	    .doc = "when set, the only commands forwarded; others get 502" },
	{ GLOBAL, "workers", CONF_INT, .def_int = 0,
	    .min = 0, .max = 256, FIELD(config, workers),
	    .doc = "worker processes, 0 = one per CPU" },
	{ GLOBAL, "worker-balance", CONF_ENUM, .def_int = WORKER_BALANCE_LEAST_BUSY,
	    .values = conf_worker_balances, FIELD(config, worker_balance),
	    .doc = "which worker takes a new connection: least-busy or hash" },
	{ GLOBAL, "control-socket", CONF_STR,
	    .def_str = "/run/ftpgw/ftpgw.sock",
	    .doc = "the socket ftpgwctl talks to, \"\" = none" },
	{ GLOBAL, "control-socket-group", CONF_STR_UNSET,
	    .doc = "the group that may use the control socket (mode 0660)" },
	{ GLOBAL, "metrics-listen", CONF_STR, .def_str = "",
	    .doc = "ADDRESS:PORT of the Prometheus metrics, \"\" = off" },
	{ GLOBAL, "log-facility", CONF_STR, .def_str = "daemon",
	    .values = log_facility_words,
	    .doc = "the syslog facility in the background" },
	{ GLOBAL, "transfer-log", CONF_STR, .def_str = "",
	    .doc = "the xferlog file, \"\" = none" },
	{ GLOBAL, "default-action", CONF_ENUM, .def_int = RULE_ALLOW,
	    .values = rule_action_words, FIELD(config, rules.default_action),
	    .doc = "what no access rule decides: allow or deny" },
	{ GLOBAL, "rate-limit-session", CONF_STR, .def_str = "0",
	    .doc = "bytes/s per direction of one session's data, K/M/G = "
	    "1024-based, 0 = none" },
	{ GLOBAL, "rate-limit-client", CONF_STR, .def_str = "0",
	    .doc = "bytes/s per direction of all data of one client host, "
	    "0 = none" },
	{ GLOBAL, "data-path", CONF_ENUM, .def_int = DATA_PATH_RELAY,
	    .values = conf_data_paths, FIELD(config, data_path),
	    .doc = "who forwards plaintext data: relay, kernel (nftables NAT) "
	    "or auto" },
	{ GLOBAL, "kernel-table", CONF_STR, .def_str = "ftpgw",
	    .doc = "the nftables table (family inet) of the kernel data path" },
	{ GLOBAL, "kernel-log-group", CONF_INT, .def_int = 2100,
	    .min = 0, .max = 65535 - 16, FIELD(config, kernel_log_group),
	    .doc = "the first of the 16 NFLOG groups of the kernel data path" },
	{ GLOBAL, "kernel-late-mapping", CONF_BOOL, .def_int = true,
	    FIELD(config, kernel_late_mapping),
	    .doc = "a PASV/EPSV channel's kernel mapping may follow its reply "
	    "(a worker with few sessions)" },
	{ GLOBAL, "resolv-conf", CONF_STR, .def_str = "/etc/resolv.conf",
	    .doc = "the name servers mode proxy asks, in resolv.conf(5) form" },

	/* listen "NAME" { } */
	{ LISTEN, "address", CONF_STR, .def_str = "0.0.0.0",
	    .doc = "the local address to listen on, without a port" },
	{ LISTEN, "port", CONF_INT, .def_int = 8021, .min = 1, .max = 65535,
	    .doc = "the port to listen on" },
	{ LISTEN, "mode", CONF_ENUM, .def_int = MODE_REDIRECT,
	    .values = conf_listen_modes, FIELD(listen_conf, mode),
	    .doc = "how connections reach the socket and where they go" },
	{ LISTEN, "upstream", CONF_STR_LIST_UNSET,
	    .doc = "the servers of a reverse listener, ADDRESS[:PORT], "
	    "taken in turn" },
	{ LISTEN, "upstream-recheck", CONF_INT, .def_int = 30,
	    .min = 1, .max = 86400, FIELD(listen_conf, upstream_recheck),
	    .doc = "seconds an upstream that refused or timed out is skipped" },
	{ LISTEN, "passive-address", CONF_STR, .def_str = "original",
	    .values = conf_pasv_kinds,
	    .doc = "what 227 replies tell the client: original, local or an "
	    "address" },
	{ LISTEN, "server-data-mode", CONF_ENUM, .def_int = SDATA_SAME,
	    .values = conf_sdata_modes, FIELD(listen_conf, sdata),
	    .doc = "how data connections with the server are set up" },
	{ LISTEN, "follow-pasv-address", CONF_BOOL, .def_int = false,
	    FIELD(listen_conf, follow_pasv_address),
	    .doc = "connect to the host a server's 227 names" },
	{ LISTEN, "follow-pasv-networks", CONF_STR_LIST, .def_str = "{}",
	    .doc = "the networks a followed 227 may name; empty: any public address" },
	{ LISTEN, "passive-ports", CONF_STR_UNSET,
	    .doc = "this listener's own passive range" },
	{ LISTEN, "interface", CONF_STR_UNSET,
	    .doc = "the clients' interface, for the rules of ftpgw -R" },
	{ LISTEN, "rate-limit-session", CONF_STR_UNSET,
	    .doc = "this listener's own rate-limit-session" },
	{ LISTEN, "rate-limit-client", CONF_STR_UNSET,
	    .doc = "this listener's own rate-limit-client" },
	{ LISTEN, "data-path", CONF_STR_UNSET, .values = conf_data_paths,
	    .doc = "this listener's own data-path" },

	/* port-mapping "NAME" { } */
	{ PORT_MAPPING, "application", CONF_ENUM, .def_int = APP_FTP,
	    .values = app_kind_words, FIELD(portmap, app),
	    .doc = "what the ports speak" },
	{ PORT_MAPPING, "ports", CONF_INT_LIST_UNSET, .min = 1, .max = 65535,
	    .doc = "the destination ports, required" },
	{ PORT_MAPPING, "servers", CONF_STR_LIST,
	    .def_str = "{\"0.0.0.0/0\", \"::/0\"}",
	    .doc = "the server networks the mapping applies to" },

	/* tls { } */
	{ TLS, "certificate", CONF_STR_UNSET,
	    .doc = "the certificate chain in PEM; TLS toward clients needs it" },
	{ TLS, "key", CONF_STR_UNSET,
	    .doc = "the private key in PEM; unset: the certificate file" },
	{ TLS, "ca-file", CONF_STR,
	    .def_str = "/etc/ssl/certs/ca-certificates.crt",
	    .doc = "the CAs that verify-server trusts" },
	{ TLS, "client-side", CONF_ENUM, .def_int = TLS_CLIENT_OPTIONAL,
	    .values = conf_tls_client_sides, FIELD(tls_conf, client_side),
	    .doc = "AUTH TLS toward clients" },
	{ TLS, "server-side", CONF_ENUM, .def_int = TLS_SERVER_AUTO,
	    .values = conf_tls_server_sides, FIELD(tls_conf, server_side),
	    .doc = "TLS toward the server" },
	{ TLS, "verify-server", CONF_BOOL, .def_int = false,
	    FIELD(tls_conf, verify_server),
	    .doc = "verify the server's certificate against ca-file" },
	{ TLS, "min-version", CONF_ENUM, .def_int = CONF_TLS_WIRE_1_2,
	    .values = conf_tls_versions, FIELD(tls_conf, min_version),
	    .doc = "the oldest TLS version accepted, on both sides" },
	{ TLS, "ciphers", CONF_STR, .def_str = "",
	    .doc = "the TLS 1.2 cipher list, \"\" = OpenSSL's default" },
	{ TLS, "ciphersuites", CONF_STR, .def_str = "",
	    .doc = "the TLS 1.3 cipher suites, \"\" = OpenSSL's default" },
	{ TLS, "require-session-reuse", CONF_BOOL, .def_int = true,
	    FIELD(tls_conf, require_session_reuse),
	    .doc = "a client's protected data connections must resume its "
	    "control connection's TLS session" },

	/* rule "NAME" { } (access rules, rules.h) */
	{ RULE, "action", CONF_STR_UNSET, .values = rule_action_words,
	    .doc = "allow or deny, required" },
	{ RULE, "clients", CONF_STR_LIST_UNSET,
	    .doc = "the client networks; absent: every client" },
	{ RULE, "servers", CONF_STR_LIST_UNSET,
	    .doc = "the server networks; absent: every server" },
	{ RULE, "ports", CONF_INT_LIST_UNSET, .min = 1, .max = 65535,
	    .doc = "the server ports; absent: every port" },
	{ RULE, "users", CONF_STR_LIST_UNSET,
	    .doc = "USER name globs, case-sensitive; absent: every user" },
	{ RULE, "commands", CONF_STR_LIST_UNSET,
	    .doc = "commands as in deny-commands; absent: every command" },
};

const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

const char *
conf_section_name(enum conf_section section)
{
	static const char *const names[CONF_NSECTIONS] = {
		[CONF_SEC_GLOBAL] = NULL,
		[CONF_SEC_LISTEN] = "listen",
		[CONF_SEC_PORT_MAPPING] = "port-mapping",
		[CONF_SEC_TLS] = "tls",
		[CONF_SEC_RULE] = "rule",
	};

	return (unsigned)section < CONF_NSECTIONS ? names[section] : NULL;
}

const struct conf_key *
conf_key_find(enum conf_section section, const char *name)
{
	for (size_t i = 0; i < conf_nkeys; i++)
		if (conf_keys[i].section == section &&
		    strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

bool
conf_key_has_default(const struct conf_key *k)
{
	return k->type != CONF_STR_UNSET && k->type != CONF_STR_LIST_UNSET &&
	    k->type != CONF_INT_LIST_UNSET;
}

int
conf_key_default_text(const struct conf_key *k, char *buf, size_t size)
{
	int n;

	switch (k->type) {
	case CONF_STR:
		n = snprintf(buf, size, "\"%s\"", k->def_str);
		break;
	case CONF_STR_LIST:
		n = snprintf(buf, size, "%s", k->def_str);
		break;
	case CONF_INT:
		n = snprintf(buf, size, "%ld", k->def_int);
		break;
	case CONF_BOOL:
		n = snprintf(buf, size, "%s", k->def_int ? "true" : "false");
		break;
	case CONF_ENUM:
		n = snprintf(buf, size, "\"%s\"",
		    word_name(k->values, k->def_int));
		break;
	default:
		return -1;
	}
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

/* conf.h: the configuration as an immutable, reference-counted snapshot.
 * config_load() parses ftpgw.conf with libconfuse, validates every value and
 * every cross-field rule, copies what it needs and frees the libconfuse tree.
 * A reload builds a new snapshot; live sessions keep the one they began with. */
#ifndef FTPGW_CONF_H
#define FTPGW_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include "addr.h"
#include "portmap.h"
#include "rules.h"

enum listen_mode { MODE_REDIRECT, MODE_TPROXY, MODE_REVERSE, MODE_PROXY };
enum passive_address_kind { PASV_ADDR_ORIGINAL, PASV_ADDR_LOCAL, PASV_ADDR_FIXED };
enum server_data_mode { SDATA_SAME, SDATA_PASSIVE, SDATA_ACTIVE };
/* Who moves a plaintext data channel's bytes (kpath.h). */
enum data_path { DATA_PATH_RELAY, DATA_PATH_KERNEL, DATA_PATH_AUTO };
/* worker-balance: which worker a new control connection goes to (balance.h). */
enum worker_balance { WORKER_BALANCE_LEAST_BUSY, WORKER_BALANCE_HASH };

struct listen_conf {
	char *name;
	struct sockaddr_storage addr;        /* address and port to listen on */
	enum listen_mode mode;
	/* reverse only: the servers, host and port, taken in turn. */
	struct sockaddr_storage *upstreams;
	size_t n_upstreams;
	unsigned upstream_recheck;           /* seconds a failed one is skipped */
	enum passive_address_kind pasv_kind;
	struct sockaddr_storage pasv_fixed;  /* PASV_ADDR_FIXED: host, port 0 */
	enum server_data_mode sdata;
	/* Connect to the host a server's 227 names, not only to the server
	 * itself (off: bounce protection, RFC 2577). */
	bool follow_pasv_address;
	/* follow-pasv-networks: where a followed 227 may point; none: any
	 * address that is not ours, loopback, link-local or multicast. */
	struct addr_prefix *follow_nets;
	size_t n_follow_nets;
	uint16_t pasv_lo, pasv_hi;           /* own "passive-ports", else the global range */
	char *interface;                     /* client-facing, for -R; NULL: any but lo */
	/* Bandwidth limits, bytes/s per direction, 0 = none: the global
	 * values unless the section sets its own. */
	uint64_t rate_session, rate_client;
	enum data_path data_path;            /* the global one unless set */
};

/* The TLS wire versions of min-protocol, equal to OpenSSL's TLS1_2_VERSION
 * and TLS1_3_VERSION. */
#define CONF_TLS_WIRE_1_2 0x0303
#define CONF_TLS_WIRE_1_3 0x0304

enum tls_client_side { TLS_CLIENT_OFF, TLS_CLIENT_OPTIONAL, TLS_CLIENT_REQUIRED };
enum tls_server_side { TLS_SERVER_OFF, TLS_SERVER_AUTO, TLS_SERVER_REQUIRED };

struct tls_conf {
	/* What the settings amount to (conf_snap.c): client_side and
	 * server_side are what is in effect, off when impossible. */
	bool enabled;                        /* any TLS at all */
	bool toward_clients;                 /* a certificate, client-side on */
	char *certificate, *key, *ca_file;
	enum tls_client_side client_side;
	enum tls_server_side server_side;
	bool verify_server;
	/* The TLS wire version, equal to OpenSSL's TLS1_2_VERSION (0x0303)
	 * or TLS1_3_VERSION (0x0304), for SSL_CTX_set_min_proto_version(). */
	uint16_t min_version;
	char *ciphers;                       /* "": OpenSSL's default list */
	char *ciphersuites;                  /* the same, for TLS 1.3 */
	bool require_session_reuse;
};

struct config {
	char *path;
	char *user;                          /* NULL: stay as started */
	int log_level;                       /* enum log_level */
	uint16_t pasv_lo, pasv_hi;
	unsigned max_sessions;
	unsigned max_sessions_per_client;
	unsigned idle_timeout;               /* seconds */
	unsigned data_timeout;
	unsigned connect_timeout;
	unsigned shutdown_timeout;
	bool strict;
	char **deny_commands;
	size_t n_deny_commands;
	char **allow_commands;               /* none: no allow-list */
	size_t n_allow_commands;
	unsigned workers;                    /* 0 = one per CPU */
	int worker_balance;                  /* enum worker_balance; read at start */
	char *control_socket;                /* "" = none */
	char *control_socket_group;          /* NULL: mode 0600, our group */
	bool has_metrics;
	struct sockaddr_storage metrics_addr; /* Prometheus text on HTTP GET */
	int log_facility;                    /* index into log_facility_words */
	char *transfer_log;                  /* xferlog path, NULL = none */
	/* rate-limit-session, rate-limit-client: bytes/s per direction of a
	 * session's data channels, of all sessions of one client host;
	 * 0 = none. */
	uint64_t rate_session, rate_client;
	char *resolv_conf;                   /* mode proxy's resolver settings */
	/* data-path, and the nftables table and first NFLOG group of the
	 * kernel data path. */
	int data_path;                       /* enum data_path */
	char *kernel_table;
	unsigned kernel_log_group;
	bool kernel_late_mapping;            /* session_data_listen */
	struct listen_conf *listens;
	size_t n_listens;
	/* The port-mapping stanzas in file order, then the built-in defaults
	 * "ftp" (port 21, every server) and, with TLS, "ftps" (port 990),
	 * which any stanza overrides. */
	struct portmap *maps;
	size_t n_maps;
	struct tls_conf tls;
	/* rule "NAME" { } in file order, and default-action. */
	struct rule_set rules;
	unsigned refs;
};

/* Load and check PATH. Every problem is printed to ERR as "PATH:LINE: what"
 * (all of them, not just the first), and NULL is returned. */
struct config *config_load(const char *path, FILE *err);
/* The same for a configuration already in memory; NAME stands for the file
 * in messages. */
struct config *config_parse(const char *name, const char *text, size_t len, FILE *err);
struct config *config_ref(struct config *cf);
void config_unref(struct config *cf);

const char *listen_mode_name(enum listen_mode mode);

/* The descriptors a transferring session holds: the client and server
 * control connections, a data listener, the data connection on both sides,
 * and the splice pipes of up to two directions, two descriptors each. */
#define CONFIG_FDS_PER_SESSION (1 + 1 + 1 + 2 + 2 * 2)
/* A worker's own: listeners, event loop, control and metrics sockets, log
 * files, signal and supervisor pipes, with room to spare. */
#define CONFIG_FDS_OVERHEAD 64
/* The open-files limit one of N_WORKERS workers needs to serve its share,
 * ceil(max-sessions / N_WORKERS), of CF's sessions while they all transfer. */
unsigned long long config_fds_per_worker(const struct config *cf,
    unsigned n_workers);

#endif

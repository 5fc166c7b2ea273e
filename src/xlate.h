/* xlate.h: the translation of a data connection, as pure code (no sockets,
 * no event loop). The client's PASV, EPSV, PORT or EPRT becomes a plan:
 * how the gateway meets the client (listen, and what to advertise, or
 * connect to the client's own address) and how it meets the server (PASV,
 * EPSV, PORT or EPRT, per server-data-mode and the two families). The
 * server's answer becomes the server's target, and the client's reply is
 * formatted here. session_data.c carries the plan out with data.h. */
#ifndef FTPGW_XLATE_H
#define FTPGW_XLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "conf.h"
#include "ftp_proto.h"

/* What the translation depends on: the listener's configuration and the
 * session's four control addresses (all unmapped, see addr.h). */
struct xlate_in {
	uint64_t sid;                                /* for log lines */
	const struct listen_conf *lc;                /* mode, passive-address, server-data-mode, follow-pasv-address */
	const struct sockaddr_storage *client;       /* the client, as seen */
	const struct sockaddr_storage *client_local; /* our end of the client's connection */
	const struct sockaddr_storage *server;       /* where the client meant to go */
	const struct sockaddr_storage *server_local; /* our end toward the server */
	/* The gateway's own addresses (all its interfaces), which a followed
	 * 227 may not name; filled only with follow-pasv-address. */
	const struct sockaddr_storage *own;
	size_t n_own;
};

/* One end of the data connection. Listening: bind HOST (port 0; the port
 * comes from the pool), accept only the peer's host. Connecting: to TARGET
 * (on the server side only known from its 227/229), from SRC's host when
 * HAS_SRC. TRANSPARENT: IP_TRANSPARENT (tproxy), so a foreign address can
 * be bound or used as the source. */
struct xlate_end {
	bool listen;
	bool transparent;
	struct sockaddr_storage host;        /* listen: the bind host, port 0 */
	struct sockaddr_storage target;      /* connect to the client: PORT/EPRT's address */
	bool has_src;
	struct sockaddr_storage src;         /* connect: source host, port 0 */
};

struct xlate_plan {
	struct xlate_end client, server;
	/* Client listening: the address told in 227/229, port 0 until the
	 * listener is bound (then that port). */
	struct sockaddr_storage advertise;
	/* PASV or EPSV (server listening: the gateway connects), PORT or
	 * EPRT (the gateway listens for the server). */
	enum ftp_verb server_verb;
};

enum xlate_verdict {
	XLATE_OK = 0,
	/* A bad argument, an address family the client's connection is not
	 * of, an FTP bounce (RFC 2577): refused before anything changes. */
	XLATE_REFUSED = -1,
	/* A valid request this listener cannot serve (PASV, but the address
	 * to advertise is IPv6): refused, but the command still replaces
	 * the previous data channel. */
	XLATE_UNSERVED = -2,
};

/* The plan for the client's CMD (PASV, EPSV, PORT, EPRT; EPSV ALL and bad
 * EPSV arguments are the engine's). On XLATE_REFUSED or XLATE_UNSERVED,
 * REFUSAL (SIZE bytes) holds the client's reply, no CRLF; a bounce
 * attempt is logged. */
enum xlate_verdict xlate_plan(const struct xlate_in *in, const struct ftp_command *cmd,
    struct xlate_plan *out, char *refusal, size_t size);

/* The command for the server: "PASV", "EPSV", or PORT/EPRT naming BOUND
 * (the address the gateway's server-side listener got). Returns its
 * length, or -1 (too long, or PORT for a non-IPv4 address). */
int xlate_server_line(enum ftp_verb server_verb, const struct sockaddr_storage *bound,
    char *line, size_t size);

enum xlate_answer {
	XLATE_ANSWER_REFUSED,   /* not a success: the server's reply goes to the client */
	XLATE_ANSWER_BAD,       /* a 227/229 that does not parse (logged) */
	XLATE_ANSWER_CONNECT,   /* 227/229: connect to TARGET */
	XLATE_ANSWER_ACCEPTED,  /* PORT/EPRT accepted: the server connects to us */
	XLATE_ANSWER_FORBIDDEN, /* a 227 to follow names a forbidden target (logged) */
};

/* Where the gateway connects after a 227/229. A 227 naming a host other
 * than the control peer (FOREIGN) is followed only with
 * follow-pasv-address on an IPv4 server (FOLLOWED); the decision is logged.
 * A followed 227 may not name the unspecified, loopback, link-local,
 * multicast or reserved addresses, one of the gateway's own, a port below
 * 1024, or (with follow-pasv-networks) a host outside those networks:
 * XLATE_ANSWER_FORBIDDEN. */
struct xlate_target {
	struct sockaddr_storage addr;
	bool foreign;
	bool followed;
};

/* The server's final reply CODE (TEXT, LEN: the whole reply) to our
 * SERVER_VERB. TARGET is filled for XLATE_ANSWER_CONNECT. */
enum xlate_answer xlate_server_reply(const struct xlate_in *in, enum ftp_verb server_verb,
    int code, const char *text, size_t len, struct xlate_target *target);

/* The client's reply once both ends are set: 227 or 229 naming ADVERTISE
 * (its port the bound one), or 200 for PORT/EPRT. Returns the length, no
 * CRLF, or 0 when it does not fit SIZE (or PASV with a non-IPv4 address). */
size_t xlate_client_reply(enum ftp_verb client_verb, const struct sockaddr_storage *advertise,
    char *line, size_t size);

#endif

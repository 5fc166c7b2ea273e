/* session_int.h: the inside of a session, shared by the files that make
 * up the session module and by nothing else:
 *   session.c       life and death, socket events into engine events
 *   session_accept.c  a new connection: destination, limits, mapping
 *   session_data.c  the data effects: data channels, their replies
 *   session_tls.c   the TLS effects: TLS over each control leg
 * The FTP dialogue itself is the engine's (engine.c, pure code). */
#ifndef FTPGW_SESSION_INT_H
#define FTPGW_SESSION_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "addr.h"
#include "engine.h"
#include "ftp_proto.h"
#include "linein.h"
#include "session.h"
#include "shared.h"
#include "xferlog.h"
#include "portmap.h"
#include "rules.h"
#include "ratelimit.h"
#include "proxy_login.h"
#include "tls.h"

/* Client input waiting to be processed is capped here (read watermark). */
#define CLIENT_INPUT_MAX   (64 * 1024)
/* Replies queued for a client that does not read them: over this, the
 * session stops taking the client's commands and the server's replies
 * until the client has read half of them (write watermark). */
#define CLIENT_OUTPUT_MAX  (32 * 1024)
/* Server bytes read ahead of the engine (read watermark): while a reply
 * is held, the rest waits in the server's socket. */
#define SERVER_INPUT_MAX   (64 * 1024)
/* Data-channel events that arrive while the engine runs an effect. */
#define QUEUED_EVENTS_MAX  4

struct session {
	TAILQ_ENTRY(session) link;       /* in its list, once admitted */
	struct session_list *list;
	uint64_t id;
	const struct session_env *env;
	struct config *cf;               /* the snapshot this session began with */
	const struct listen_conf *lc;
	enum app_kind app;
	const char *map_name;
	bool registered;

	struct sockaddr_storage client;       /* the client, as seen */
	struct sockaddr_storage client_local; /* our end of the client's connection */
	struct sockaddr_storage server;       /* where the client meant to go */
	struct sockaddr_storage server_local; /* our end toward the server */

	int cfd, sfd;                    /* raw sockets until a bufferevent or relay owns them */
	struct bufferevent *cbev, *sbev;
	/* A plain leg's input (linein.h); NULL: its bufferevent reads (TLS,
	 * or the reader could not be had). The bufferevent still writes
	 * what a send(2) did not take, and connects. */
	struct linein *cin, *sin;
	int cbev_err, sbev_err;          /* a hard error leg_write's send(2) took */
	struct event *timer;             /* connect timeout, then idle timeout, then close flush */
	/* The idle timeout is armed once and moved on when it fires:
	 * activity only notes its time (an evtimer_add per command and reply
	 * was 3% of the gateway's user time). */
	bool idle_armed;
	struct timeval active_at;        /* the last activity, monotonic */

	/* application tcp: a plain byte relay, no FTP */
	struct event *connect_ev;        /* the upstream connect */
	struct relay *tcp_relay;

	/* application ftp/ftps: the dialogue is the engine's; this side only
	 * turns socket I/O into its events and carries out its effects. */
	struct engine *eng;
	bool in_engine;                  /* inside engine_event(): effects run */
	enum engine_ev queued[QUEUED_EVENTS_MAX];
	unsigned n_queued;
	const char *fail_reason;         /* an effect failed: end after the event */
	const char *fail_reply;
	bool close_requested;            /* the engine's close effect */
	bool pumping;
	bool discarding;                 /* dropping an overlong client line up to its LF */
	bool out_paused;                 /* client output over CLIENT_OUTPUT_MAX */
	bool ending;                     /* the last reply is being flushed */
	bool finished;                   /* everything released; freed next loop turn */

	/* The file transfer under way, for the transfer log. */
	enum ftp_verb xfer_verb;
	char xfer_path[256];
	time_t xfer_start;
	uint64_t xfer_dropped_up, xfer_dropped_down;  /* the last channel's bytes */

	/* TLS, per leg: each side negotiates with the gateway on its own. */
	struct tls_engine *tls;          /* NULL: no certificate configured */
	struct tls_ticket ticket;        /* the session's TLS memory (tls.h) */
	bool tls_cut;                    /* a control TLS leg ended without
					  * close_notify: so does the other */

	struct data_channel *dc;
	struct sockaddr_storage advertise;    /* what the client is told in 227/229 */
	struct portpool *pool;
	struct upstream *up;             /* reverse: the server chosen, until its
					  * connection's outcome is reported */

	/* Bandwidth limits (session_rate.c): rate-limit-session's buckets,
	 * [0] toward the server, [1] toward the client, for all the
	 * session's data channels. */
	struct rl_bucket rate_bucket[2];
	bool rate_logged;
	bool dc_kernel_asked;                 /* the data channel may go to the kernel */
	bool dc_listen_pending;               /* the client's listener is not open yet */

	/* mode proxy (session_proxy.c): the server USER named */
	struct event *proxy_ev;          /* starts the lookup outside the engine */
	struct proxy_lookup *lookup;     /* the name lookup under way, if any */
	char proxy_host[PROXY_HOST_MAX + 1];
	uint16_t proxy_port;

	char user[64];
	time_t started;
	uint64_t data_to_server, data_to_client;
	/* What of the session's bytes the shared counters have already
	 * (session_list_count_bytes), so that its end adds only the rest. */
	uint64_t counted_to_server, counted_to_client;
	unsigned transfers;
	const char *end_reason;
};

#define SA(ss) ((struct sockaddr *)(ss))

static inline const char *
addr_str(const struct sockaddr_storage *ss, char *buf)
{
	return addr_fmt((const struct sockaddr *)ss, buf, ADDR_STRLEN);
}

static inline SSL *
bev_ssl(struct bufferevent *bev)
{
	return bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
}

/* session.c */
/* End the session: REPLY (if any) is the client's last line. */
void session_end(struct session *s, const char *reply, const char *reason);
/* An effect failed: the session ends once the engine's event is done. */
void session_fail(struct session *s, const char *reply, const char *reason);
/* Idle time counts from now (a command, the end of a transfer). */
void session_arm_idle_timer(struct session *s);
/* The session's timer for something else than idleness, SECONDS from
 * now: the connect, the lookup, the last reply's flush. */
void session_timer_other(struct session *s, unsigned seconds);
/* The connection to the chosen upstream succeeded (OK) or failed (WHY):
 * the next sessions learn it (upstream.h). Once per session. */
void session_upstream_report(struct session *s, bool ok, const char *why);
/* Feed an event to the engine, then act on what it asked for. */
void session_feed(struct session *s, enum engine_ev type, const char *text, size_t len);
/* A data-channel event (EE_DATA_*), fed now or after the running effect. */
void session_data_event(struct session *s, enum engine_ev type);
/* Move lines from the sockets into the engine while it takes them. */
void session_pump(struct session *s);
/* The session's engine, for its configuration and application. */
int session_engine_new(struct session *s);
/* The session's timer: connect, idle, close flush. */
void session_timer_cb(evutil_socket_t fd, short what, void *arg);
/* Callbacks and buffer bounds of a client / server bufferevent; a plain
 * one gets its reader (linein.h). */
void session_watch_client(struct session *s, struct bufferevent *bev);
void session_watch_server(struct session *s, struct bufferevent *bev);
/* Start or stop reading the client's (CLIENT) or the server's leg.
 * Start: 0, or -1 when out of memory. */
int session_read_start(struct session *s, bool client);
void session_read_stop(struct session *s, bool client);
/* A TLS layer takes over the leg's reading: its reader goes, and what it
 * had read and not handed over waits in the bufferevent's input. */
void session_reader_to_bev(struct session *s, bool client);
void session_client_read_cb(struct bufferevent *bev, void *arg);
void session_client_write_cb(struct bufferevent *bev, void *arg);
void session_client_event_cb(struct bufferevent *bev, short what, void *arg);
void session_server_read_cb(struct bufferevent *bev, void *arg);
void session_server_event_cb(struct bufferevent *bev, short what, void *arg);

/* session_leg.c: the control legs' bytes */
/* Bytes (whole lines) for a leg; LI is its reader, if any. */
void session_leg_write(struct bufferevent *bev, const struct linein *li, const char *buf,
    size_t len, int *err);
/* One line out of a leg's input (its reader's, else its bufferevent's):
 * 1 = a line in LINE, 0 = wait for more, -1 = an overlong line. */
int session_take_line(struct session *s, struct bufferevent *bev, struct linein *li,
    bool client, char *line, size_t *len);
/* Free a leg and its reader (the session's pointers are the caller's). */
void session_leg_free(struct session *s, struct bufferevent *bev, struct linein *li);

/* session_accept.c: an access rule decided (the engine's rule_decided
 * effect, and the connect stage): count it. */
void session_rule_decided(void *ctx, const struct rule_verdict *v);
/* The access rules on what the session knows (NEWS: RULE_F_* new now;
 * USER: NULL before USER): false when denied (logged and counted). */
bool session_rules_allow(struct session *s, unsigned news, const char *user);

/* session_data.c: the engine's data effects */
int session_data_open(void *ctx, const struct ftp_command *cmd, struct engine_data_req *req);
size_t session_data_reply(void *ctx, enum ftp_verb client_verb, enum ftp_verb server_verb,
    int code, const char *text, size_t len, char *line, size_t size);
bool session_data_pending(void *ctx, bool seen_1xx, int code);
void session_data_drop(void *ctx);
void session_transfer_begin(void *ctx, const struct ftp_command *cmd);
void session_transfer_end(void *ctx, int code, bool ok);
void session_drop_dc(struct session *s);
/* Open the client's listener of a PASV/EPSV once the command went to the
 * server (unless the kernel is to forward the channel). */
void session_data_listen(struct session *s);

/* session_rate.c */
/* The bandwidth limits of the session's listener on its new channel. */
void session_rate_apply(struct session *s);
/* session_proxy.c: mode proxy */
/* The client's connection of a proxy listener, admitted, on FD: set up
 * its leg; the gateway greets it. */
void session_proxy_accept(struct session *s, int fd);
/* The engine's proxy_connect effect. */
void session_proxy_connect(void *ctx, const char *host, uint16_t port);
/* A lookup under way is cancelled (session_finish). */
void session_proxy_release(struct session *s);

/* session_tls.c */
const char *session_tls_error(struct bufferevent *bev, char *buf, size_t size);
/* The engine's TLS effects: run TLS over the server / client leg. */
void session_tls_start_server(void *ctx);
void session_tls_start_client(void *ctx);

#endif

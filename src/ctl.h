/* ctl.h: what operators see of a running gateway: the control socket that
 * ftpgwctl talks to (one command line in, a text answer out). The metrics
 * endpoint, which reports the same counters over HTTP, is metrics.h.
 *
 * The socket holds at most CTL_MAX_CONNS connections at a time (more are
 * closed at once, logged once until there is room again); a peer has
 * CTL_REQUEST_SEC to send its whole request (CTL_REQUEST_MAX bytes at
 * most) and CTL_ANSWER_SEC to take the answer. */
#ifndef FTPGW_CTL_H
#define FTPGW_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define CTL_MAX_CONNS    32
#define CTL_REQUEST_SEC  5
#define CTL_ANSWER_SEC   10
#define CTL_REQUEST_MAX  8192

struct event_base;
struct evbuffer;
struct shared;
struct ctl;

/* What an endpoint reports, and the loop it runs in. Copied. */
struct ctl_source {
	struct event_base *base;
	struct shared *shared;           /* the counters, of every worker */
	unsigned worker;                 /* this loop's index in shared */
	/* One line per live session of this worker to OUT: id client server
	 * app state bytes-up bytes-down age-seconds user. */
	void (*sessions)(void *arg, struct evbuffer *out);
	/* "handover": send this loop's listening sockets over the control
	 * connection CONN (handover.h) and stop accepting; -1 with the
	 * reason in *WHY when it cannot. NULL: not offered. */
	int (*handover)(void *arg, int conn, const char **why);
	/* End this worker's session ID (ftpgwctl kill): false when it has
	 * no such live session. */
	bool (*kill)(void *arg, uint64_t id);
	/* Stop accepting, exit once the sessions are gone (ftpgwctl drain,
	 * as SIGTERM); returns how many are live. */
	unsigned (*drain)(void *arg);
	/* Start a reload as SIGHUP would (ftpgwctl reload); its end is told
	 * to ctl_reload_done(). */
	void (*reload)(void *arg);
	/* Log at LEVEL (enum log_level) from now on (ftpgwctl log-level). */
	void (*log_level)(void *arg, int level);
	void *arg;
};

/* The control socket at PATH, an absolute path: an AF_UNIX stream socket,
 * mode 0600, or 0660 and group GROUP unless that is NULL, from its
 * creation on. Its directory is made if missing, given to USER (the
 * service user; NULL: none) when made as root, and must be changeable by
 * no one but root, us and USER (or be sticky). A stale socket at PATH is
 * replaced, anything else (a link, a file) is left and the socket not
 * made. NULL on failure, logged. */
struct ctl *ctl_open_socket(const struct ctl_source *src, const char *path,
    const char *user, const char *group);
/* A reload has ended, OK or not (WHY: its error): the "reload" requests
 * waiting for it get their answer. */
void ctl_reload_done(struct ctl *ctl, bool ok, const char *why);
/* Close it and its connections. */
void ctl_close(struct ctl *ctl);

#endif

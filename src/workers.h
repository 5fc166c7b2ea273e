/* workers.h: workers = N (N > 1) runs N event loops as N processes. Each
 * opens the control listeners itself with SO_REUSEPORT (the kernel spreads
 * new connections across them), owns a disjoint slice of every passive
 * range, and keeps each session and its data channels to itself; the
 * session limits and the counters live in one shared mapping (shared.h).
 * A small supervisor (the process systemd sees) starts them, forwards
 * SIGHUP and SIGTERM, restarts a worker that crashes (not one that exits
 * 0: it was stopped on purpose), and reports readiness.
 *
 * Processes rather than threads: a crash takes down one worker's sessions,
 * not the gateway; each worker has its own open-files limit (two
 * descriptors per session: 10,000 sessions fit under a 20,000 limit with
 * two workers); nothing but the session counts is shared, so the hot path
 * takes no lock; each worker keeps its own libevent base and OpenSSL
 * state, and the single-process code runs unchanged in each. */
#ifndef FTPGW_WORKERS_H
#define FTPGW_WORKERS_H

#include <stdbool.h>

struct workers_hooks {
	/* A worker's life: bind, then write one byte to READY_FD (unless it
	 * is -1: a restarted worker), run its loop, return the exit status. */
	int (*worker_main)(unsigned index, unsigned n, int ready_fd, void *arg);
	/* Every worker is bound and listening (not called if one failed). */
	void (*all_ready)(void *arg);
	/* SIGHUP came: called before it is passed on to the workers. */
	void (*reload)(void *arg);
	/* Worker INDEX died unasked; called before it is started again. */
	void (*worker_lost)(unsigned index, void *arg);
	/* A signal woke the supervisor: called first, before it logs. */
	void (*woke)(void *arg);
	void *arg;
	/* On SIGTERM, pass it on and exit at once, leaving the workers to
	 * finish their sessions on their own (ftpgw -S: under systemd with
	 * KillMode=process, so that a restart need not wait for them). The
	 * workers get SIGTERM too when the supervisor dies. */
	bool leave_on_stop;
};

/* Run N workers until SIGTERM/SIGINT and all of them have exited. Returns
 * the supervisor's exit status: 0 when every worker stopped cleanly. */
int workers_run(unsigned n, const struct workers_hooks *hooks);

#endif

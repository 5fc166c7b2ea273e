/* workers.c: see workers.h.
 *
 * The supervisor is deliberately small: it forks, forwards signals, reaps,
 * restarts, and tells systemd when every worker is ready. It holds no
 * sockets of its own and runs no event loop. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "log.h"
#include "notify.h"
#include "workers.h"

/* A worker that dies within this many seconds of its start is not
 * restarted: its configuration or environment is broken, not its luck. */
#define WORKER_MIN_LIFE 5

static volatile sig_atomic_t got_term, got_hup, got_chld;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_term = 1;
}

struct worker {
	pid_t pid;
	time_t started;
};

/* Start worker I; its readiness byte goes to READY_FD. */
static pid_t
spawn(unsigned i, unsigned n, const struct workers_hooks *h, int ready_fd,
    const sigset_t *oldmask)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid;
	/* Left alone by a supervisor gone (leave_on_stop): finish up, as on
	 * SIGTERM. Gone already: nothing to serve yet, nothing to finish. */
	if (h->leave_on_stop && (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent))
		_exit(0);
	/* The child: default signal handling, its own event loop. */
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	/* exit(), not _exit(): the worker's own cleanup (and, in a sanitizer
	 * build, its leak check) runs as in a single-process gateway. Nothing
	 * is buffered in stdio by then. */
	exit(h->worker_main(i, n, ready_fd, h->arg));
}

static void
broadcast(struct worker *w, unsigned n, int sig)
{
	for (unsigned i = 0; i < n; i++)
		if (w[i].pid > 0)
			kill(w[i].pid, sig);
}

int
workers_run(unsigned n, const struct workers_hooks *hooks)
{
	struct worker *w = calloc(n, sizeof(*w));
	struct sigaction sa;
	sigset_t block, oldmask;
	unsigned ready = 0, alive = 0;
	int pipefd[2], status = 0;
	bool stopping = false;
	char byte;

	if (w == NULL || pipe2(pipefd, O_CLOEXEC) == -1) {
		free(w);
		fprintf(stderr, "ftpgw: workers: %s\n", strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	/* Signals are taken only in sigsuspend(), so none is lost between
	 * looking at the flags and sleeping. */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &oldmask);

	for (unsigned i = 0; i < n; i++) {
		w[i].pid = spawn(i, n, hooks, pipefd[1], &oldmask);
		w[i].started = time(NULL);
		if (w[i].pid == -1) {
			log_msg(LL_ERROR, "workers: fork: %s", strerror(errno));
			broadcast(w, i, SIGTERM);
			status = 1;
			stopping = true;
			break;
		}
		alive++;
	}
	close(pipefd[1]);
	/* Every worker writes one byte once its listeners are bound; a worker
	 * that fails at start closes its end without writing. */
	while (!stopping && ready < n && read(pipefd[0], &byte, 1) == 1)
		ready++;
	close(pipefd[0]);
	if (!stopping && ready < n) {
		log_msg(LL_ERROR, "workers: %u of %u did not start", n - ready, n);
		broadcast(w, n, SIGTERM);
		status = 1;
		stopping = true;
	}
	if (!stopping) {
		log_msg(LL_INFO, "%u workers ready", n);
		if (hooks->all_ready != NULL)
			hooks->all_ready(hooks->arg);
		notify_systemd("READY=1");
	}

	while (alive > 0) {
		pid_t pid;
		int st;

		while (!got_term && !got_hup && !got_chld)
			sigsuspend(&oldmask);
		if (hooks->woke != NULL)
			hooks->woke(hooks->arg);
		if (got_hup) {
			got_hup = 0;
			notify_systemd("RELOADING=1");
			if (hooks->reload != NULL)
				hooks->reload(hooks->arg);
			broadcast(w, n, SIGHUP);
			notify_systemd("READY=1");
		}
		if (got_term && !stopping) {
			stopping = true;
			notify_systemd("STOPPING=1");
			broadcast(w, n, SIGTERM);
			if (hooks->leave_on_stop) {
				log_msg(LL_INFO, "leaving %u workers to finish their sessions", alive);
				break;
			}
		}
		got_term = 0;
		got_chld = 0;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				if (w[i].pid != pid)
					continue;
				w[i].pid = 0;
				alive--;
				if (stopping) {
					if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
						status = 1;
					break;
				}
				/* Exit status 0: it was stopped on purpose (a SIGTERM
				 * of its own) and has let its sessions finish. The
				 * supervisor ends with the last worker. */
				if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
					log_msg(LL_INFO, "worker %u (pid %ld) stopped; not restarted",
					    i, (long)pid);
					break;
				}
				log_msg(LL_ERROR, "worker %u (pid %ld) %s %d", i, (long)pid,
				    WIFSIGNALED(st) ? "killed by signal" : "exited with",
				    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
				if (time(NULL) - w[i].started < WORKER_MIN_LIFE) {
					log_msg(LL_ERROR, "worker %u died at start: stopping", i);
					stopping = true;
					status = 1;
					broadcast(w, n, SIGTERM);
					break;
				}
				/* Its sessions are lost; the listeners are shared,
				 * so new clients go to the others meanwhile. */
				if (hooks->worker_lost != NULL)
					hooks->worker_lost(i, hooks->arg);
				w[i].pid = spawn(i, n, hooks, -1, &oldmask);
				w[i].started = time(NULL);
				if (w[i].pid > 0)
					alive++;
				break;
			}
		}
	}
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	free(w);
	return status;
}

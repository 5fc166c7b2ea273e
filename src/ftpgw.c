/* ftpgw.c: main(): options, config, listeners, then the event loop. All that
 * can fail for an operator's reason fails here, before the loop, with a
 * message; nothing after this point exits on a session's behalf. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <linux/capability.h>

#include <event2/event.h>

#include "balance.h"
#include "conf.h"
#include "data_path.h"
#include "fwrules.h"
#include "gateway.h"
#include "handover.h"
#include "kpath.h"
#include "listener.h"
#include "addr.h"
#include "listen_app.h"
#include "log.h"
#include "notify.h"
#include "priv.h"
#include "relay.h"
#include "shared.h"
#include "tls.h"
#include "workers.h"

#ifndef FTPGW_CONF
#define FTPGW_CONF "/etc/ftpgw.conf"
#endif

/* To stdout and exit 0 when asked for (-h, --help), else to stderr and
 * exit 2. */
static _Noreturn void
usage(bool asked)
{
	fprintf(asked ? stdout : stderr, "usage: ftpgw [-c file] [-f] [-d] [-S] [-U] [-t] [-R [-i]] [-V] [-h]\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -f       stay in the foreground\n"
	    "  -d       debug: log at debug level to stderr (implies -f)\n"
	    "  -U       take the listening sockets over from the gateway running\n"
	    "           with this control socket (a restart or upgrade without refusals)\n"
	    "  -S       under systemd: keep the listening sockets in its file descriptor\n"
	    "           store, and on SIGTERM leave the sessions to the workers and exit\n"
	    "  -t       check the configuration and exit (0 good, 1 bad)\n"
	    "  -R       print the nftables rules the configuration needs and exit\n"
	    "  -i       with -R: an iptables script instead\n"
	    "  -V       print the version and exit (also --version)\n"
	    "  -h       print this help and exit (also --help)\n", FTPGW_CONF);
	exit(asked ? 0 : 2);
}

/* libevent's own warnings go to our log, not to stderr behind our back. */
static void
libevent_log_cb(int severity, const char *msg)
{
	int level = severity >= EVENT_LOG_ERR ? LL_ERROR :
	    severity == EVENT_LOG_WARN ? LL_WARN : LL_DEBUG;

	log_msg(level, "libevent: %s", msg);
}

/* Whether an open-files limit of LIMIT is too low for each of N_WORKERS
 * workers to hold its share of CF's max-sessions, all of them transferring
 * (config_fds_per_worker); if so, the warning is put in MSG. */
static bool
fd_limit_short(const struct config *cf, unsigned n_workers, rlim_t limit,
    char *msg, size_t size)
{
	unsigned long long need = config_fds_per_worker(cf, n_workers);

	if (limit == RLIM_INFINITY || need <= (unsigned long long)limit)
		return false;
	snprintf(msg, size, "max-sessions %u needs %llu open files per worker "
	    "with %u worker%s (%d per transferring session), more than the "
	    "limit of %llu", cf->max_sessions, need, n_workers,
	    n_workers == 1 ? "" : "s", CONFIG_FDS_PER_SESSION,
	    (unsigned long long)limit);
	return true;
}

/* Every session needs descriptors: take all the hard limit allows. Each
 * worker process has its own limit, and about 1/N of the sessions. */
static void
raise_fd_limit(const struct config *cf, unsigned n_workers)
{
	struct rlimit rl;
	char msg[256];

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (fd_limit_short(cf, n_workers, rl.rlim_cur, msg, sizeof(msg)))
		log_msg(LL_WARN, "%s", msg);
}

/* ftpgw -t: the same check against the hard limit, which the gateway would
 * raise its own to; a warning only. */
static void
check_fd_limit(const char *path, const struct config *cf, unsigned n_workers)
{
	struct rlimit rl;
	char msg[256];

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    fd_limit_short(cf, n_workers, rl.rlim_max, msg, sizeof(msg)))
		fprintf(stderr, "%s: warning: %s\n", path, msg);
}

/* ftpgw -t: a capability the configuration needs that this process lacks
 * (systemd runs "ftpgw -t" as the service's user with its capabilities
 * before every start, so this names what the unit must grant); a
 * warning only. */
static void
check_caps(const char *path, const struct config *cf)
{
	static const struct {
		int cap;
		const char *name, *why;
	} caps[] = {
		{ CAP_NET_ADMIN, "CAP_NET_ADMIN", "a listener in mode tproxy (IP_TRANSPARENT)" },
		{ CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE", "a port below 1024" },
	};
	uint64_t need = priv_caps_needed(cf);

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if ((need >> caps[i].cap) & 1 && !priv_has_cap(caps[i].cap))
			fprintf(stderr, "%s: warning: %s needs %s, which this process "
			    "does not have\n", path, caps[i].why, caps[i].name);
}

/* workers = 0: one per CPU this process may run on, but no more than
 * the smallest passive range has ports (each worker owns a slice), so a
 * configuration that runs on a small machine runs on a big one too. */
static unsigned
worker_count(const struct config *cf)
{
	cpu_set_t set;
	unsigned n = 1;
	int cpus;

	if (cf->workers > 0)
		return cf->workers;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (cpus = CPU_COUNT(&set)) > 0)
		n = (unsigned)cpus;
	for (size_t i = 0; i < cf->n_listens; i++) {
		unsigned ports = (unsigned)cf->listens[i].pasv_hi - cf->listens[i].pasv_lo + 1;

		if (ports < n)
			n = ports;
	}
	return n > 0 ? n : 1;
}

/* Everything main() hands to the workers (or to the one loop). */
struct run {
	const char *path;
	struct config *cf;               /* the newest good configuration */
	struct tls_engine *tls;          /* its TLS, loaded while root: NULL without */
	struct shared *shared;
	struct balance *balance;         /* with workers, when the kernel took it; else NULL */
	bool foreground;
	bool fdstore;                    /* -S */
	int detach_fd;                   /* to the waiting parent; -1 in the foreground */
};

/* PATH made absolute against the current directory (malloc'd, NULL when
 * out of memory or the directory is unknown), so that a reload finds the
 * same file after detach() has changed to /. Not realpath(): a symbolic
 * link (/etc/ftpgw.conf -> ftpgw/site-a.conf) is followed again on each
 * reload, so that repointing it and sending SIGHUP switches files. */
static char *
absolute_path(const char *path)
{
	char *cwd, *abs;

	if (path[0] == '/')
		return strdup(path);
	if ((cwd = getcwd(NULL, 0)) == NULL)
		return NULL;
	if (asprintf(&abs, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path) == -1)
		abs = NULL;
	free(cwd);
	return abs;
}

/* In the background: fork, and let the parent wait until the child says
 * the gateway is listening (a byte on the returned descriptor) or dies,
 * so that the exit status of "ftpgw" tells whether it started, and start
 * errors still reach the terminal. */
static int
detach(void)
{
	int fds[2];
	pid_t pid;
	char byte;

	if (pipe(fds) == -1)
		fatal("pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		close(fds[1]);
		_exit(read(fds[0], &byte, 1) == 1 ? 0 : 1);
	}
	close(fds[0]);
	if (setsid() == -1 || chdir("/") == -1)
		fatal("detaching: %s", strerror(errno));
	return fds[1];
}

/* Started: tell the waiting parent, then log to syslog only. */
static void
detached(struct run *r, int *fd)
{
	int null;

	if (*fd != -1) {
		(void)!write(*fd, "R", 1);
		close(*fd);
		*fd = -1;
	}
	if (r->foreground)
		return;
	log_set_facility(r->cf->log_facility);
	log_init("ftpgw", false, r->cf->log_level);
	if ((null = open("/dev/null", O_RDWR)) != -1) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}

/* Whether a newer gateway took this one's listeners (ftpgw -U). */
static bool
handed_over(struct shared *sh)
{
	for (unsigned i = 0; i < shared_workers(sh); i++)
		if (shared_stats(sh, i)->handovers > 0)
			return true;
	return false;
}

static int
drop_privileges(const struct config *cf)
{
	uint64_t caps;

	if (cf->user == NULL)
		return 0;
	caps = priv_caps_needed(cf);
	if (priv_drop(cf->user, caps) == -1)
		return -1;
	log_msg(LL_INFO, "running as user \"%s\" (uid %u) with capabilities%s%s",
	    cf->user, (unsigned)getuid(),
	    caps & (1ULL << CAP_NET_ADMIN) ? " CAP_NET_ADMIN" : "",
	    caps & (1ULL << CAP_NET_BIND_SERVICE) ? " CAP_NET_BIND_SERVICE" : caps ? "" : " (none)");
	return 0;
}

/* The kernel gives an unprivileged user's pipes 8 KiB each once they hold
 * fs.pipe-user-pages-soft pages together; the relays stay under that.
 * Shared by all of this user's processes: ours take 7/8 of it, split
 * between the workers. */
static void
set_pipe_budget(unsigned n_workers)
{
	unsigned long pages = 16384;     /* the kernel's default */
	size_t budget;
	FILE *f;

	if (priv_has_cap(CAP_SYS_RESOURCE) || priv_has_cap(CAP_SYS_ADMIN))
		return;                  /* no budget for us */
	/* Unreadable under systemd's ProcSubset=pid: keep the default. */
	if ((f = fopen("/proc/sys/fs/pipe-user-pages-soft", "re")) != NULL) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 16384;
		fclose(f);
	}
	if (pages == 0)
		return;                  /* no soft limit */
	budget = pages * (size_t)sysconf(_SC_PAGESIZE) / 8 * 7 / n_workers;
	relay_set_pipe_budget(budget);
	log_msg(LL_INFO, "pipe budget: %zu KiB for this process's relays "
	    "(fs.pipe-user-pages-soft %lu pages); copying past it", budget / 1024, pages);
}

/* One event loop: worker INDEX. Bind, drop root, say so on READY_FD
 * (unless -1), run until stopped. */
static int
run_loop(struct run *r, unsigned index, int ready_fd)
{
	struct event_base *base = event_base_new();
	struct gateway gw;

	if (base == NULL) {
		log_msg(LL_ERROR, "cannot create the event loop");
		return 1;
	}
	if (gateway_init(&gw, base, r->cf, r->tls, r->shared, r->balance, index) == -1 ||
	    drop_privileges(r->cf) == -1) {
		gateway_free(&gw);
		event_base_free(base);
		return 1;
	}
	/* Sockets taken over that this loop did not claim are another
	 * worker's, or of an address no longer configured. */
	handover_pool_release();
	set_pipe_budget(shared_workers(r->shared));
	detached(r, &ready_fd);
	/* Started again after a crash: as the others, after ftpgwctl log-level. */
	if (shared_log_level(r->shared) != -1)
		log_set_level(shared_log_level(r->shared));
	if (shared_workers(r->shared) == 1) {
		log_msg(LL_INFO, "ftpgw %s started with %s", PACKAGE_VERSION, r->path);
		notify_systemd("READY=1");   /* else the supervisor's to say */
	} else
		log_msg(LL_INFO, "worker %u ready", index);
	event_base_dispatch(base);
	gateway_free(&gw);
	event_base_free(base);
	return 0;
}

static int
worker_main(unsigned index, unsigned n, int ready_fd, void *arg)
{
	struct run *r = arg;
	int status;

	/* The supervisor speaks to systemd and to the waiting parent. */
	unsetenv("NOTIFY_SOCKET");
	if (r->detach_fd != -1)
		close(r->detach_fd);
	r->detach_fd = -1;
	log_msg(LL_INFO, "worker %u of %u (pid %ld) starting", index, n, (long)getpid());
	status = run_loop(r, index, ready_fd);
	log_msg(LL_INFO, "worker %u stopped", index);
	tls_engine_unref(r->tls);
	config_unref(r->cf);
	shared_free(r->shared);
	balance_free(r->balance);
	return status;
}

static void
store_socket(int fd, const struct sockaddr *addr, void *arg)
{
	(void)addr;
	(void)arg;
	notify_fdstore_add(fd);
}

/* Whether ADDR is still a listen address of configuration ARG. */
static bool
still_listened(const struct sockaddr *addr, void *arg)
{
	const struct config *cf = arg;

	for (size_t i = 0; i < cf->n_listens; i++)
		if (addr_equal((const struct sockaddr *)&cf->listens[i].addr, addr))
			return true;
	return false;
}

static void
supervisor_ready(void *arg)
{
	struct run *r = arg;

	/* The workers have theirs. With -S the supervisor keeps its copies
	 * (for a worker started again) and puts them in systemd's store. */
	if (r->fdstore)
		handover_pool_each(store_socket, NULL);
	else
		handover_pool_release();
	/* The workers have dropped root; the supervisor needs no more than
	 * they do to start one again (it binds before it drops). */
	if (drop_privileges(r->cf) == -1)
		log_msg(LL_ERROR, "the supervisor keeps running as uid %u", (unsigned)getuid());
	detached(r, &r->detach_fd);
	log_msg(LL_INFO, "ftpgw %s started with %s, %u workers", PACKAGE_VERSION, r->path,
	    shared_workers(r->shared));
}

/* A worker started later (after a crash) should get the configuration
 * the others run, not the one from the start. */
static void
supervisor_reload(void *arg)
{
	struct run *r = arg;
	FILE *devnull = fopen("/dev/null", "w");
	FILE *quiet = devnull != NULL ? devnull : stderr;
	struct config *cf = config_load(r->path, quiet);
	struct tls_engine *tls = NULL;

	/* A worker started from now on gets the new TLS files if this
	 * (unprivileged) process can read them, else those of the start. */
	if (cf != NULL && cf->tls.enabled &&
	    (tls = tls_engine_new(&cf->tls, r->path, quiet)) == NULL) {
		log_msg(LL_WARN, "reload: the supervisor cannot read the TLS files "
		    "as its user; workers started again keep those of the start");
		tls = tls_engine_ref(r->tls);
	}
	if (devnull != NULL)
		fclose(devnull);
	if (cf == NULL)
		return;                  /* the workers log why */
	/* A listener the reload closes leaves the supervisor and the store
	 * too, or its socket would stay open with nobody to accept. (One the
	 * reload adds is the workers' own: they are running already.) */
	if (r->fdstore)
		handover_pool_drop(still_listened, cf, notify_fdstore_remove);
	/* As the workers do: the configured log-level again. */
	shared_set_log_level(r->shared, -1);
	log_set_level(cf->log_level);
	if (worker_count(cf) != shared_workers(r->shared))
		log_msg(LL_WARN, "workers: the change to %u takes effect at the next start "
		    "(%u run now)", worker_count(cf), shared_workers(r->shared));
	tls_engine_unref(r->tls);
	r->tls = tls;
	config_unref(r->cf);
	r->cf = cf;
}

/* ftpgwctl log-level reached the workers; the supervisor follows. */
static void
supervisor_woke(void *arg)
{
	struct run *r = arg;
	int level = shared_log_level(r->shared);

	if (level != -1)
		log_set_level(level);
}

static void
supervisor_worker_lost(unsigned index, void *arg)
{
	struct run *r = arg;

	/* Its sessions are gone: they no longer count against the limits. */
	shared_forget_worker(r->shared, index);
	log_msg(LL_WARN, "restarting worker %u", index);
}

/* -U: the listening sockets of the gateway running with CF's control
 * socket, into the handover pool. -1 when there is nothing to go on. */
static int
take_over(const struct config *cf)
{
	char err[512];
	bool found;

	if (cf->control_socket[0] == '\0') {
		log_msg(LL_ERROR, "-U: the configuration has no control socket to ask");
		return -1;
	}
	if (handover_request(cf->control_socket, &found, err, sizeof(err)) == -1) {
		log_msg(LL_ERROR, "-U: %s", err);
		/* Some sockets may have come before the failure: the old
		 * gateway no longer accepts on them, so this one must. */
		return handover_pool_size() > 0 ? 0 : -1;
	}
	if (!found)
		log_msg(LL_INFO, "-U: no gateway answers at %s; starting afresh",
		    cf->control_socket);
	else
		log_msg(LL_INFO, "-U: took over %zu listening sockets from the gateway at %s",
		    handover_pool_size(), cf->control_socket);
	return 0;
}

/* N workers, unless a socket taken over was not shared (it came from a
 * single-process gateway): no second worker could bind beside it. */
static unsigned
handover_workers(const struct config *cf, unsigned n)
{
	for (size_t i = 0; n > 1 && i < cf->n_listens; i++)
		if (handover_pool_unshared((const struct sockaddr *)&cf->listens[i].addr)) {
			log_msg(LL_WARN, "listen \"%s\": its socket came from a gateway with one "
			    "worker: running one worker until the next start", cf->listens[i].name);
			return 1;
		}
	return n;
}

int
main(int argc, char *argv[])
{
	const char *path = FTPGW_CONF;
	char *abs_path = NULL;
	bool foreground = false, debug = false, check_only = false;
	bool rules = false, iptables = false, takeover = false, fdstore = false;
	struct config *cf;
	struct run r;
	unsigned n_workers;
	int ch, status;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	while ((ch = getopt_long(argc, argv, "c:fdtRiSUVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'd':
			debug = foreground = true;
			break;
		case 't':
			check_only = true;
			break;
		case 'R':
			rules = true;
			break;
		case 'i':
			iptables = true;
			break;
		case 'S':
			fdstore = true;
			break;
		case 'U':
			takeover = true;
			break;
		case 'V':
			printf("ftpgw %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(true);
		default:
			usage(false);
		}
	}
	if (optind != argc || (iptables && !rules))
		usage(false);
	/* -t and -R name the file as given; a running gateway reloads it. */
	if (!check_only && !rules) {
		if ((abs_path = absolute_path(path)) == NULL) {
			fprintf(stderr, "ftpgw: %s: cannot make the path absolute: %s\n",
			    path, strerror(errno));
			return 1;
		}
		path = abs_path;
	}

	cf = config_load(path, stderr);
	if (rules) {
		if (cf == NULL)
			return 1;
		if (fwrules_write(stdout, cf, iptables ? FWRULES_IPTABLES :
		    FWRULES_NFT) == -1) {
			fprintf(stderr, "ftpgw: cannot write the rules: %s\n",
			    strerror(errno));
			config_unref(cf);
			return 1;
		}
		config_unref(cf);
		return 0;
	}
	if (check_only) {
		if (cf == NULL)
			return 1;
		if (cf->tls.enabled) {
			struct tls_engine *tls = tls_engine_new(&cf->tls, path, stderr);

			if (tls == NULL) {
				config_unref(cf);
				return 1;
			}
			tls_engine_unref(tls);
		}
		check_fd_limit(path, cf, worker_count(cf));
		check_caps(path, cf);
		listen_app_describe(stdout, cf);
		printf("%s: configuration OK\n", path);
		config_unref(cf);
		return 0;
	}
	if (cf == NULL) {
		free(abs_path);
		return 1;
	}

	log_init("ftpgw", true, debug ? LL_DEBUG : cf->log_level);
	event_set_log_callback(libevent_log_cb);
	signal(SIGPIPE, SIG_IGN);
	/* All that can fail for the configuration's sake is checked before
	 * a running gateway is asked for its sockets: after that, it accepts
	 * no more, and a start that fails would leave nobody listening. */
	r.tls = NULL;
	if (cf->tls.enabled && (r.tls = tls_engine_new(&cf->tls, path, stderr)) == NULL) {
		config_unref(cf);
		free(abs_path);
		return 1;
	}
	if (takeover && take_over(cf) == -1) {
		tls_engine_unref(r.tls);
		config_unref(cf);
		free(abs_path);
		return 1;
	}
	if (handover_from_systemd() > 0)
		log_msg(LL_INFO, "%zu listening sockets passed by systemd", handover_pool_size());
	n_workers = handover_workers(cf, worker_count(cf));
	raise_fd_limit(cf, n_workers);
	if (cf->user == NULL && getuid() == 0)
		log_msg(LL_WARN, "running as root: set 'user' (or run under systemd with User=) to drop it");
	if ((r.shared = shared_new(n_workers, cf->max_sessions)) == NULL) {
		log_msg(LL_ERROR, "cannot map the shared session table: %s", strerror(errno));
		tls_engine_unref(r.tls);
		config_unref(cf);
		free(abs_path);
		return 1;
	}
	r.balance = NULL;
	if (n_workers > 1) {
		char why[200] = "worker-balance = hash";

		if (cf->worker_balance == WORKER_BALANCE_LEAST_BUSY)
			r.balance = balance_new(cf, n_workers, why, sizeof(why));
		if (r.balance != NULL)
			log_msg(LL_INFO, "workers: a new connection goes to the first worker "
			    "within %d sessions of the least busy one", BALANCE_SLACK);
		else
			log_msg(LL_INFO, "workers: the kernel's hash spreads new connections "
			    "(%s)", why);
	}
	r.path = path;
	r.cf = cf;
	r.foreground = foreground;
	r.detach_fd = foreground ? -1 : detach();
	log_msg(LL_INFO, "ftpgw %s starting with %s, %u worker%s", PACKAGE_VERSION, path,
	    n_workers, n_workers == 1 ? "" : "s");
	/* -S: the listeners go to systemd's store; the sessions of a
	 * stopping gateway to its workers (a supervisor even for one). */
	r.fdstore = fdstore;
	if (fdstore && !notify_fdstore_init())
		log_msg(LL_WARN, "-S: no NOTIFY_SOCKET: the listening sockets are kept nowhere "
		    "across a restart");
	/* -S: the supervisor binds (or has taken over) every worker's
	 * socket, so that it can store them and give a worker started again
	 * the one its predecessor accepted on. */
	if (fdstore && listeners_prebind(cf, n_workers) == -1) {
		tls_engine_unref(r.tls);
		config_unref(r.cf);
		shared_free(r.shared);
		balance_free(r.balance);
		free(abs_path);
		return 1;
	}
	/* data-path kernel | auto: a fresh table, without what a gateway that
	 * died left in it; one taking over keeps the old one's mappings. */
	if (data_path_config_wants(cf)) {
		char why[200];

		if (kpath_setup(cf->kernel_table, cf->kernel_log_group, !takeover, why,
		    sizeof(why)) == -1)
			log_msg(LL_WARN, "data-path: cannot set up table inet %s: %s",
			    cf->kernel_table, why);
		else if (kpath_rcu_expedited())
			log_msg(LL_INFO, "data-path: rcu_expedited is 1 here: each nftables "
			    "transaction that removes mappings ends in an expedited RCU grace "
			    "period that interrupts every CPU, so the removals always wait up "
			    "to 10 ms to share one (0 is the kernel's default)");
	}
	if (n_workers == 1 && !fdstore) {
		status = run_loop(&r, 0, r.detach_fd);
		if (status == 0)
			log_msg(LL_INFO, "ftpgw stopped");
	} else {
		struct workers_hooks hooks = {
			.worker_main = worker_main,
			.all_ready = supervisor_ready,
			.reload = supervisor_reload,
			.worker_lost = supervisor_worker_lost,
			.woke = supervisor_woke,
			.arg = &r,
			.leave_on_stop = fdstore,
		};

		status = workers_run(n_workers, &hooks);
		log_msg(LL_INFO, "ftpgw stopped");
	}
	/* Every loop has ended (not so with -S: workers may still drain), and
	 * no newer gateway took the sockets and the table over. */
	if (data_path_config_wants(r.cf) && !fdstore && !handed_over(r.shared))
		kpath_teardown(r.cf->kernel_table);
	tls_engine_unref(r.tls);
	config_unref(r.cf);
	shared_free(r.shared);
	balance_free(r.balance);
	free(abs_path);
	return status;
}

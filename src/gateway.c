/* gateway.c: the session registry and its limits, reload, signals (SIGHUP
 * reload, SIGTERM/SIGINT graceful stop), and what ties the parts of one
 * event loop together: the listeners (listener.c), the passive port pools
 * (portpool.c), the transfer log (xferlog.c), the operator's endpoints
 * (ctl.c). */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "addr.h"
#include "balance.h"
#include "conf.h"
#include "ctl.h"
#include "data_path.h"
#include "gateway.h"
#include "handover.h"
#include "kpath.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "portpool.h"
#include "session.h"
#include "tls.h"
#include "upstream.h"
#include "xferlog.h"

/* How often the live byte counters move (session_list_count_bytes). */
#define COUNT_BYTES_SEC 1

static void reopen_operations(struct gateway *, const struct config *, const struct config *);
static void resolver_update(struct gateway *, const struct config *);
static void kpath_update(struct gateway *, const struct config *);

/* ------------------------------------------------------------------ */
/* What sessions get of the gateway (struct session_env) */

/* The limits are counted in gw->shared, for every worker. */
static bool
env_admit(void *arg, const struct sockaddr *client, const char **why)
{
	struct gateway *gw = arg;
	enum shared_admit verdict = shared_admit(gw->shared, gw->worker, client,
	    gw->cf->max_sessions, gw->cf->max_sessions_per_client);

	if (verdict != ADMIT_OK) {
		*why = shared_admit_reason(verdict);
		return false;
	}
	gw->stats->sessions_total++;
	balance_count(gw->balance, gw->worker, +1);
	return true;
}

static void
env_release(void *arg, const struct sockaddr *client)
{
	struct gateway *gw = arg;

	shared_release(gw->shared, gw->worker, client);
	balance_count(gw->balance, gw->worker, -1);
	/* The session has left the list already. */
	if (gw->stopping && gw->sessions.n == 0) {
		log_msg(LL_INFO, "last session ended; exiting");
		event_base_loopexit(gw->base, NULL);
	}
}

static bool
env_is_own_listener(void *arg, const struct sockaddr *addr)
{
	struct gateway *gw = arg;

	return listeners_own(&gw->listeners, addr);
}

static void
accept_cb(struct listener *l, int fd, const struct sockaddr *peer, void *arg)
{
	struct gateway *gw = arg;
	struct session_origin origin = {
		.cf = gw->cf, .tls = gw->tls, .lc = l->lc, .pool = l->pool,
	};

	if (l->lc->n_upstreams > 0)
		origin.ups = upstream_pool_get(gw->upstreams, l->lc->upstreams,
		    l->lc->n_upstreams);

	session_accept(&gw->env, &gw->sessions, &origin, fd, peer);
}

/* For ftpgwctl sessions. */
static void
describe_sessions(void *arg, struct evbuffer *out)
{
	struct gateway *gw = arg;

	session_list_describe(&gw->sessions, out);
}

/* ftpgwctl kill ID: every worker is asked, the one that has it ends it. */
static bool
ctl_kill(void *arg, uint64_t id)
{
	struct gateway *gw = arg;

	return session_list_end(&gw->sessions, id, "421 Session ended by the operator.",
	    "ended by the operator");
}

/* ftpgwctl drain: as SIGTERM, each worker asked in turn. */
static unsigned
ctl_drain(void *arg)
{
	struct gateway *gw = arg;

	gateway_stop(gw);
	return gw->sessions.n;
}

/* ftpgwctl reload: what SIGHUP to the gateway does, by SIGHUP: the
 * supervisor's, which passes it on to every worker, or ours. Our own
 * reload, when it comes, answers the request. */
static void
ctl_reload(void *arg)
{
	struct gateway *gw = arg;

	if (gw->supervisor == 0)
		raise(SIGHUP);
	else if (getppid() != gw->supervisor || kill(gw->supervisor, SIGHUP) == -1)
		ctl_reload_done(gw->ctl, false, "the supervisor is gone");
}

/* ftpgwctl log-level: every worker is asked; the supervisor reads it from
 * the shared mapping when it next wakes, before it logs anything. */
static void
ctl_log_level(void *arg, int level)
{
	struct gateway *gw = arg;

	shared_set_log_level(gw->shared, level);
	log_set_level(level);
}

/* The shared byte counters move during long transfers. */
static void
count_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *gw = arg;

	(void)fd;
	(void)what;
	session_list_count_bytes(&gw->sessions);
}

/* ------------------------------------------------------------------ */
/* Handing the listeners over to a new process (handover.h) */

/* After the answer: the control socket goes too (the new gateway takes
 * its path; ctl_close() leaves a path that is no longer ours). */
static void
handover_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *gw = arg;

	(void)fd;
	(void)what;
	ctl_close(gw->ctl);
	gw->ctl = NULL;
}

/* A new ftpgw asked, on the control connection CONN, for our listening
 * sockets: send them, then accept nothing more and let the sessions
 * finish, as on SIGTERM. The metrics endpoint closes first, so that the
 * new gateway can bind its address. */
static int
handover_cb(void *arg, int conn, const char **why)
{
	struct gateway *gw = arg;
	int fds[HANDOVER_MAX_FDS], n;
	struct timeval now = { 0, 0 };

	if (gw->stopping) {
		*why = "this gateway is stopping";
		return -1;
	}
	if ((n = listeners_fds(&gw->listeners, fds, HANDOVER_MAX_FDS)) == -1) {
		*why = "more listening sockets than one message carries";
		return -1;
	}
	metrics_close(gw->metrics);
	gw->metrics = NULL;
	/* Before they go: the new gateway's workers put them in their maps. */
	balance_leave(gw->balance, gw->worker);
	if (handover_send(conn, fds, (size_t)n, gw->n_workers) == -1) {
		log_msg(LL_ERROR, "handover: sending %d listening sockets: %s", n, strerror(errno));
		*why = "sending failed";
		return -1;
	}
	log_msg(LL_INFO, "handover: %d listening socket%s handed to a new gateway; "
	    "accepting no more", n, n == 1 ? "" : "s");
	gw->stats->handovers++;
	gateway_stop(gw);
	(void)event_base_once(gw->base, -1, EV_TIMEOUT, handover_done_cb, gw, &now);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Signals */

static void
stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *gw = arg;

	(void)fd;
	(void)what;
	log_msg(LL_INFO, "shutdown timeout: closing %u sessions", gw->sessions.n);
	session_list_shutdown(&gw->sessions, "421 Service shutting down.");
	/* The loop ends when the last of them has written its 421. */
}

void
gateway_stop(struct gateway *gw)
{
	struct timeval tv = { .tv_sec = gw->cf->shutdown_timeout };

	if (gw->stopping)
		return;
	gw->stopping = true;
	notify_systemd("STOPPING=1");
	/* With -S the sockets outlive us in systemd's store. */
	balance_leave(gw->balance, gw->worker);
	listeners_close(&gw->listeners);
	/* Its address is for the gateway that starts next (a restart, or
	 * -U), which may well be running before our sessions are done. */
	metrics_close(gw->metrics);
	gw->metrics = NULL;
	if (gw->sessions.n == 0) {
		log_msg(LL_INFO, "stopping");
		event_base_loopexit(gw->base, NULL);
		return;
	}
	log_msg(LL_INFO, "stopping: %u sessions may finish within %u seconds",
	    gw->sessions.n, gw->cf->shutdown_timeout);
	evtimer_add(gw->stop_timer, &tv);
}

/* The configuration in force stays; ERRORS, the first of its lines, go
 * to ftpgwctl reload, all of them to the log. */
static void
reload_failed(struct gateway *gw, const char *errors)
{
	char first[512];

	snprintf(first, sizeof(first), "%.*s", (int)strcspn(errors != NULL ? errors : "", "\n"),
	    errors != NULL ? errors : "");
	log_msg(LL_ERROR, "reload failed: keeping the configuration in force");
	if (gw->worker == 0)
		gw->stats->reloads_failed++;
	ctl_reload_done(gw->ctl, false, first[0] != '\0' ? first : "see the log");
	notify_systemd("READY=1");
}

void
gateway_reload(struct gateway *gw)
{
	struct config *cf;
	struct tls_engine *tls;
	char *errors = NULL;
	size_t errlen = 0;
	FILE *err;

	if (gw->stopping) {
		ctl_reload_done(gw->ctl, false, "the gateway is stopping");
		return;
	}
	notify_systemd("RELOADING=1");
	log_msg(LL_INFO, "reloading %s", gw->cf->path);
	err = open_memstream(&errors, &errlen);
	cf = config_load(gw->cf->path, err != NULL ? err : stderr);
	if (err != NULL)
		fclose(err);
	if (cf == NULL) {
		for (char *line = strtok(errors, "\n"); line != NULL; line = strtok(NULL, "\n"))
			log_msg(LL_ERROR, "%s", line);
		reload_failed(gw, errors);
		free(errors);
		return;
	}
	free(errors);
	tls = NULL;
	if (cf->tls.enabled) {
		errors = NULL;
		err = open_memstream(&errors, &errlen);
		tls = tls_engine_new(&cf->tls, cf->path, err != NULL ? err : stderr);
		if (err != NULL)
			fclose(err);
		if (tls == NULL) {
			for (char *line = strtok(errors, "\n"); line != NULL; line = strtok(NULL, "\n"))
				log_msg(LL_ERROR, "%s", line);
			reload_failed(gw, errors);
			free(errors);
			config_unref(cf);
			return;
		}
		free(errors);
	}
	/* Takes over the sockets that stay, closes the others. */
	if (listeners_replace(&gw->listeners, cf) == -1) {
		log_msg(LL_ERROR, "cannot open the new listeners");
		reload_failed(gw, "cannot open the new listeners (see the log)");
		tls_engine_unref(tls);
		config_unref(cf);
		return;
	}
	reopen_operations(gw, gw->cf, cf);
	resolver_update(gw, cf);
	kpath_update(gw, cf);
	config_unref(gw->cf);
	gw->cf = cf;
	tls_engine_unref(gw->tls);
	gw->tls = tls;
	log_set_level(cf->log_level);
	/* Every worker reloads; the gateway reloaded once. */
	if (gw->worker == 0)
		gw->stats->reloads++;
	/* The configured log-level again, for every process. */
	shared_set_log_level(gw->shared, -1);
	log_msg(LL_INFO, "configuration reloaded; %u live sessions keep their settings", gw->sessions.n);
	/* Before the endpoints move: the answer is queued on the old one. */
	ctl_reload_done(gw->ctl, true, NULL);
	notify_systemd("READY=1");
}

/* The control socket and the metrics endpoint: failing to open them is
 * logged, not fatal; a reload reopens them when their address changed.
 * The transfer log is opened before privileges are dropped and reopened
 * on every reload, so that logrotate's "kill -HUP" starts a new file. */
static void
open_operations(struct gateway *gw, const struct config *cf)
{
	struct ctl_source src = {
		.base = gw->base,
		.shared = gw->shared,
		.worker = gw->worker,
		.sessions = describe_sessions,
		.handover = handover_cb,
		.kill = ctl_kill,
		.drain = ctl_drain,
		.reload = ctl_reload,
		.log_level = ctl_log_level,
		.arg = gw,
	};

	if (gw->xferlog == NULL)
		xferlog_reopen(&gw->xferlog, cf->transfer_log);
	/* With several workers, worker 0 has PATH and the metrics endpoint
	 * (both report the whole gateway's counters) and every other worker
	 * PATH.N, for its own sessions. */
	if (gw->ctl == NULL && cf->control_socket[0] != '\0') {
		char path[256];

		if (gw->worker > 0)
			snprintf(path, sizeof(path), "%s.%u", cf->control_socket, gw->worker);
		else
			snprintf(path, sizeof(path), "%s", cf->control_socket);
		gw->ctl = ctl_open_socket(&src, path, cf->user, cf->control_socket_group);
	}
	if (gw->metrics == NULL && cf->has_metrics && gw->worker == 0)
		gw->metrics = metrics_open(gw->base, gw->shared,
		    (const struct sockaddr *)&cf->metrics_addr);
}

static void
reopen_operations(struct gateway *gw, const struct config *old, const struct config *cf)
{
	xferlog_reopen(&gw->xferlog, cf->transfer_log);
	if (strcmp(old->control_socket, cf->control_socket) != 0) {
		ctl_close(gw->ctl);
		gw->ctl = NULL;
	}
	if (old->has_metrics != cf->has_metrics || (cf->has_metrics &&
	    !addr_equal((const struct sockaddr *)&old->metrics_addr,
	    (const struct sockaddr *)&cf->metrics_addr))) {
		metrics_close(gw->metrics);
		gw->metrics = NULL;
	}
	open_operations(gw, cf);
}

/* ------------------------------------------------------------------ */
/* The resolver of mode proxy */

/* evdns speaks to stderr by default; its words go to our log. */
/* data-path kernel | auto: this loop's kernel path, opened the first
 * time a configuration wants it (the main process has set the table up
 * at start; a reload that turns it on sets it up here). A reload with the
 * path open sets the table up again, without emptying it: a table removed
 * by hand (nft flush ruleset) comes back. */
static void
kpath_update(struct gateway *gw, const struct config *cf)
{
	bool required = false;
	char why[200];

	if (!data_path_config_wants(cf))
		return;
	if (gw->kpath != NULL) {
		/* Its flows live in the open one: a new name waits for a start. */
		if (strcmp(cf->kernel_table, gw->kpath_table) != 0 ||
		    cf->kernel_log_group != gw->kpath_group)
			log_msg(LL_WARN, "data-path kernel: kernel-table and kernel-log-group "
			    "changes take effect at the next start; still table inet %s, "
			    "log groups from %u", gw->kpath_table, gw->kpath_group);
		else if (kpath_setup(gw->kpath_table, gw->kpath_group, false, why, sizeof(why)) == -1)
			log_msg(LL_ERROR, "data-path kernel: setting table inet %s up again: %s",
			    gw->kpath_table, why);
		return;
	}
	for (size_t i = 0; i < cf->n_listens; i++)
		required |= cf->listens[i].data_path == DATA_PATH_KERNEL;
	if (kpath_setup(cf->kernel_table, cf->kernel_log_group, false, gw->kpath_why_not,
	    sizeof(gw->kpath_why_not)) == 0)
		gw->kpath = kpath_open(gw->base, cf->kernel_table, cf->kernel_log_group,
		    gw->worker, gw->n_workers, gw->kpath_why_not, sizeof(gw->kpath_why_not));
	snprintf(gw->kpath_table, sizeof(gw->kpath_table), "%s", cf->kernel_table);
	gw->kpath_group = cf->kernel_log_group;
	gw->env.kpath = gw->kpath;
	gw->env.kpath_why_not = gw->kpath != NULL ? NULL : gw->kpath_why_not;
	if (gw->kpath == NULL)
		log_msg(required ? LL_ERROR : LL_WARN, "data-path %s: no kernel data path: %s; "
		    "the relay carries every data channel", required ? "kernel" : "auto",
		    gw->kpath_why_not);
}

static void
evdns_log_cb(int is_warn, const char *msg)
{
	log_msg(is_warn ? LL_INFO : LL_DEBUG, "evdns: %s", msg);
}

static bool
has_proxy_listener(const struct config *cf)
{
	for (size_t i = 0; i < cf->n_listens; i++)
		if (cf->listens[i].mode == MODE_PROXY)
			return true;
	return false;
}

/* Name servers from CF's resolv-conf, and the hosts file, which evdns
 * reads only when asked (it knows nothing of NSS: nsswitch.conf, LDAP,
 * mDNS are not consulted). */
static void
resolver_load(struct evdns_base *dns, const struct config *cf)
{
	int r;

	evdns_base_clear_host_addresses(dns);
	if (evdns_base_load_hosts(dns, "/etc/hosts") != 0)
		log_msg(LL_WARN, "mode proxy: cannot read /etc/hosts");
	r = evdns_base_resolv_conf_parse(dns, DNS_OPTION_NAMESERVERS | DNS_OPTION_SEARCH |
	    DNS_OPTION_MISC, cf->resolv_conf);
	if (r != 0)
		log_msg(LL_WARN, "mode proxy: resolv-conf %s: %s", cf->resolv_conf,
		    r == 1 ? "cannot be read; asking 127.0.0.1" :
		    r == 6 ? "no name server in it; asking 127.0.0.1" : "malformed");
	log_msg(LL_DEBUG, "mode proxy: %d name server(s) from %s",
	    evdns_base_count_nameservers(dns), cf->resolv_conf);
}

/* The resolver exists while a listener has mode proxy; a reload reads
 * the name servers and the hosts file again. Lookups under way are
 * suspended and sent again to the new name servers. */
static void
resolver_update(struct gateway *gw, const struct config *cf)
{
	if (!has_proxy_listener(cf))
		return;                  /* one made before stays, idle */
	if (gw->dns == NULL) {
		evdns_set_log_fn(evdns_log_cb);
		gw->dns = evdns_base_new(gw->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (gw->dns == NULL) {
			log_msg(LL_ERROR, "mode proxy: cannot make a resolver");
			return;
		}
		resolver_load(gw->dns, cf);
		gw->env.dns = gw->dns;
		return;
	}
	evdns_base_clear_nameservers_and_suspend(gw->dns);
	resolver_load(gw->dns, cf);
	evdns_base_resume(gw->dns);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct gateway *gw = arg;

	(void)what;
	if (sig == SIGHUP)
		gateway_reload(gw);
	else
		gateway_stop(gw);
}

/* ------------------------------------------------------------------ */

int
gateway_init(struct gateway *gw, struct event_base *base, struct config *cf,
    struct tls_engine *tls, struct shared *sh, struct balance *balance, unsigned worker)
{
	memset(gw, 0, sizeof(*gw));
	gw->base = base;
	gw->shared = sh;
	/* Started again after a crash: the sessions counted are gone. */
	gw->balance = balance;
	balance_reset(balance, worker);
	gw->stats = shared_stats(sh, worker);
	gw->worker = worker;
	gw->n_workers = shared_workers(sh);
	gw->cf = config_ref(cf);
	session_list_init(&gw->sessions);
	gw->env = (struct session_env){
		.base = base, .shared = sh, .stats = gw->stats, .xferlog = &gw->xferlog,
		.arg = gw, .admit = env_admit, .release = env_release,
		.is_own_listener = env_is_own_listener, .worker = worker,
	};
	gw->sig_term = evsignal_new(base, SIGTERM, signal_cb, gw);
	gw->sig_int = evsignal_new(base, SIGINT, signal_cb, gw);
	gw->sig_hup = evsignal_new(base, SIGHUP, signal_cb, gw);
	gw->stop_timer = evtimer_new(base, stop_timer_cb, gw);
	gw->count_timer = event_new(base, -1, EV_PERSIST, count_timer_cb, gw);
	/* Forked by the supervisor just now: it is our parent. */
	gw->supervisor = gw->n_workers > 1 ? getppid() : 0;
	if (gw->sig_term == NULL || gw->sig_int == NULL ||
	    gw->sig_hup == NULL || gw->stop_timer == NULL || gw->count_timer == NULL) {
		log_msg(LL_ERROR, "out of memory");
		return -1;
	}
	if ((gw->upstreams = upstream_registry_new()) == NULL) {
		log_msg(LL_ERROR, "out of memory");
		return -1;
	}
	if ((gw->pools = portpools_new(worker, gw->n_workers)) == NULL) {
		log_msg(LL_ERROR, "out of memory");
		return -1;
	}
	gw->listeners.base = base;
	gw->listeners.pools = gw->pools;
	/* Only with several workers: otherwise a second ftpgw started by
	 * mistake would silently take half the connections. */
	gw->listeners.reuse_port = gw->n_workers > 1;
	/* Shared by workers that drop root: the listeners belong to the
	 * user already, so one started again after a crash can join them. */
	if (gw->listeners.reuse_port && cf->user != NULL) {
		struct passwd *pw = getpwnam(cf->user);

		if (pw != NULL) {
			gw->listeners.has_owner = true;
			gw->listeners.owner = pw->pw_uid;
		}
	}
	gw->listeners.worker = worker;
	gw->listeners.balance = balance;
	gw->listeners.n_workers = gw->n_workers;
	gw->listeners.fn = accept_cb;
	gw->listeners.arg = gw;
	/* Loaded before root was dropped, when given: a worker started again
	 * after a crash cannot read a key only root may read. */
	if (tls != NULL)
		gw->tls = tls_engine_ref(tls);
	else if (cf->tls.enabled && (gw->tls = tls_engine_new(&cf->tls, cf->path, stderr)) == NULL)
		return -1;
	if (listeners_replace(&gw->listeners, cf) == -1)
		return -1;
	evsignal_add(gw->sig_term, NULL);
	evsignal_add(gw->sig_int, NULL);
	evsignal_add(gw->sig_hup, NULL);
	evtimer_add(gw->count_timer, &(struct timeval){ .tv_sec = COUNT_BYTES_SEC });
	open_operations(gw, cf);
	resolver_update(gw, cf);
	kpath_update(gw, cf);
	return 0;
}

void
gateway_free(struct gateway *gw)
{
	listeners_close(&gw->listeners);
	ctl_close(gw->ctl);
	metrics_close(gw->metrics);
	xferlog_close(&gw->xferlog);
	portpools_free(gw->pools);
	upstream_registry_free(gw->upstreams);
	if (gw->sig_term != NULL)
		event_free(gw->sig_term);
	if (gw->sig_int != NULL)
		event_free(gw->sig_int);
	if (gw->sig_hup != NULL)
		event_free(gw->sig_hup);
	if (gw->stop_timer != NULL)
		event_free(gw->stop_timer);
	if (gw->count_timer != NULL)
		event_free(gw->count_timer);
	tls_engine_unref(gw->tls);
	/* Sessions are gone or never to run again: no callback for them. */
	if (gw->dns != NULL)
		evdns_base_free(gw->dns, 0);
	kpath_close(gw->kpath);
	config_unref(gw->cf);
}

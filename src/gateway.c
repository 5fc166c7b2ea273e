/* gateway.c: listeners, the session registry and its limits, port pools,
 * signals (SIGHUP reload, SIGTERM/SIGINT graceful stop). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"
#include "conf.h"
#include "ctl.h"
#include "gateway.h"
#include "log.h"
#include "notify.h"
#include "portpool.h"
#include "session.h"
#include "sock.h"
#include "tls.h"

#define LISTEN_BACKLOG   1024
/* After EMFILE/ENFILE, the listener sleeps this long instead of spinning. */
#define ACCEPT_PAUSE_MS  200

static void reopen_operations(struct gateway *, const struct config *, const struct config *);

/* ------------------------------------------------------------------ */
/* The session registry; the limits are counted in gw->shared. */

bool
gateway_session_add(struct gateway *gw, struct gw_entry *e,
    const struct sockaddr *client, const char **why)
{
	enum shared_admit verdict = shared_admit(gw->shared, gw->worker, client,
	    gw->cf->max_sessions, gw->cf->max_sessions_per_client);

	if (verdict != ADMIT_OK) {
		*why = shared_admit_reason(verdict);
		return false;
	}
	TAILQ_INSERT_TAIL(&gw->sessions, e, link);
	gw->n_sessions++;
	gw->stats->sessions_total++;
	return true;
}

void
gateway_session_remove(struct gateway *gw, struct gw_entry *e,
    const struct sockaddr *client)
{
	shared_release(gw->shared, gw->worker, client);
	TAILQ_REMOVE(&gw->sessions, e, link);
	gw->n_sessions--;
	if (gw->stopping && gw->n_sessions == 0) {
		log_msg(LL_INFO, "last session ended; exiting");
		event_base_loopexit(gw->base, NULL);
	}
}

/* ------------------------------------------------------------------ */
/* Port pools, one per distinct range, kept for the process lifetime
 * (sessions from before a reload may still hold theirs). */

/* Is every port of LO-HI in /proc's reserved list ("a-b,c,...")? */
static bool
ports_reserved(unsigned lo, unsigned hi)
{
	char list[4096], *tok, *save;
	unsigned next = lo;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_reserved_ports", "re");

	if (f == NULL)
		return false;
	if (fgets(list, sizeof(list), f) == NULL)
		list[0] = '\0';
	fclose(f);
	/* The kernel prints the ranges in ascending order. */
	for (tok = strtok_r(list, ",\n", &save); tok != NULL; tok = strtok_r(NULL, ",\n", &save)) {
		unsigned a, b;

		if (sscanf(tok, "%u-%u", &a, &b) != 2) {
			if (sscanf(tok, "%u", &a) != 1)
				continue;
			b = a;
		}
		if (a <= next && b >= next)
			next = b + 1;
		if (next > hi)
			return true;
	}
	return false;
}

/* Outgoing connections (ours to the servers, one per session and data
 * channel) take ephemeral ports; where the passive range overlaps them,
 * some PASVs find their port taken. Said once, at start. */
static void
warn_ephemeral_overlap(unsigned lo, unsigned hi)
{
	unsigned elo, ehi;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	if (f == NULL)
		return;
	if (fscanf(f, "%u %u", &elo, &ehi) == 2 && lo <= ehi && hi >= elo &&
	    !ports_reserved(lo > elo ? lo : elo, hi < ehi ? hi : ehi))
		log_msg(LL_WARN, "passive-ports %u-%u overlaps the ephemeral ports %u-%u "
		    "(net.ipv4.ip_local_port_range): outgoing connections can take passive "
		    "ports; reserve them (net.ipv4.ip_local_reserved_ports = %u-%u) or move "
		    "the range", lo, hi, elo, ehi, lo, hi);
	fclose(f);
}

struct portpool *
gateway_pool(struct gateway *gw, uint16_t lo, uint16_t hi)
{
	struct pool_slot *slots;

	for (size_t i = 0; i < gw->n_pools; i++)
		if (gw->pools[i].lo == lo && gw->pools[i].hi == hi)
			return gw->pools[i].pool;
	slots = realloc(gw->pools, (gw->n_pools + 1) * sizeof(*slots));
	if (slots == NULL)
		return NULL;
	gw->pools = slots;
	slots[gw->n_pools].lo = lo;
	slots[gw->n_pools].hi = hi;
	if (gw->worker == 0)
		warn_ephemeral_overlap(lo, hi);
	{
		/* Workers own disjoint slices: a redirected data connection
		 * reaches the one worker listening on its port. */
		unsigned size = (unsigned)hi - lo + 1, w = gw->worker, n = gw->n_workers;
		unsigned first = lo + (unsigned)((unsigned long)size * w / n);
		unsigned last = lo + (unsigned)((unsigned long)size * (w + 1) / n) - 1;

		slots[gw->n_pools].pool = first <= last ?
		    portpool_new((uint16_t)first, (uint16_t)last) : NULL;
	}
	if (slots[gw->n_pools].pool == NULL)
		return NULL;
	return slots[gw->n_pools++].pool;
}

/* ------------------------------------------------------------------ */
/* Listeners */

bool
gateway_is_own_listener(struct gateway *gw, const struct sockaddr *addr)
{
	for (size_t i = 0; i < gw->n_listeners; i++) {
		const struct sockaddr *la = (struct sockaddr *)&gw->listeners[i].addr;

		if (addr_port(la) != addr_port(addr))
			continue;
		if (addr_is_any(la) ? sock_is_local_host(addr) : addr_equal_host(la, addr))
			return true;
	}
	return false;
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *peer, int len, void *arg)
{
	struct listener *l = arg;

	(void)evl;
	(void)len;
	session_accept(l->gw, l, fd, peer);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->evl);
}

static void
accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, ACCEPT_PAUSE_MS * 1000 };

	log_msg(LL_WARN, "listen \"%s\": accept: %s", l->lc->name, strerror(err));
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* Out of descriptors: pause instead of spinning on the
		 * pending connection; sessions that end free some. */
		evconnlistener_disable(evl);
		evtimer_add(l->resume, &tv);
	}
}

static int
listener_open(struct gateway *gw, struct listener *l, const struct listen_conf *lc)
{
	struct sock_opts opts = {
		.transparent = lc->mode == MODE_TPROXY,
		.dual_stack = true,
		/* Only with several workers: otherwise a second ftpgw started
		 * by mistake would silently take half the connections. */
		.reuse_port = gw->n_workers > 1,
	};
	const char *what = "";
	char a[ADDR_STRLEN];
	int fd;

	memset(l, 0, sizeof(*l));
	l->gw = gw;
	l->lc = lc;
	l->addr = lc->addr;
	l->pool = gateway_pool(gw, lc->pasv_lo, lc->pasv_hi);
	if (l->pool == NULL) {
		log_msg(LL_ERROR, "listen \"%s\": passive-ports %u-%u: too few ports for %u workers",
		    lc->name, lc->pasv_lo, lc->pasv_hi, gw->n_workers);
		return -1;
	}
	fd = sock_listen((struct sockaddr *)&lc->addr, &opts, LISTEN_BACKLOG, &what);
	if (fd == -1) {
		log_msg(LL_ERROR, "listen \"%s\" on %s: %s: %s%s", lc->name,
		    addr_fmt((struct sockaddr *)&lc->addr, a, sizeof(a)), what, strerror(errno),
		    errno == EPERM ? " (tproxy needs CAP_NET_ADMIN)" : "");
		return -1;
	}
	l->evl = evconnlistener_new(gw->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	l->resume = evtimer_new(gw->base, resume_cb, l);
	if (l->evl == NULL || l->resume == NULL) {
		if (l->evl == NULL)
			close(fd);
		log_msg(LL_ERROR, "listen \"%s\": out of memory", lc->name);
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, accept_error_cb);
	log_msg(LL_INFO, "listening on %s (%s \"%s\"), passive ports %u-%u",
	    addr_fmt((struct sockaddr *)&lc->addr, a, sizeof(a)), listen_mode_name(lc->mode),
	    lc->name, lc->pasv_lo, lc->pasv_hi);
	return 0;
}

static void
listener_close(struct listener *l)
{
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	if (l->resume != NULL)
		event_free(l->resume);
	l->evl = NULL;
	l->resume = NULL;
}

static void
listeners_close(struct gateway *gw)
{
	for (size_t i = 0; i < gw->n_listeners; i++)
		listener_close(&gw->listeners[i]);
	free(gw->listeners);
	gw->listeners = NULL;
	gw->n_listeners = 0;
}

/* Open the listeners of CF, taking over (not reopening) those of OLD with
 * the same address, so a reload never drops a listening socket. Nothing of
 * OLD changes unless every listener of CF could be had. */
static int
listeners_open(struct gateway *gw, struct config *cf, struct listener *old, size_t n_old,
    struct listener **out, size_t *n_out)
{
	struct listener *ls = calloc(cf->n_listens, sizeof(*ls));
	struct listener **keep = calloc(cf->n_listens, sizeof(*keep));
	size_t i;

	if (ls == NULL || keep == NULL)
		goto fail;
	/* Phase 1: find the sockets to keep, open the new ones. */
	for (i = 0; i < cf->n_listens; i++) {
		const struct listen_conf *lc = &cf->listens[i];

		/* The same address keeps its socket, even when the mode
		 * changes: a new one could not bind while the old one holds
		 * the port. */
		for (size_t j = 0; j < n_old; j++)
			if (old[j].evl != NULL &&
			    addr_equal((struct sockaddr *)&old[j].addr, (struct sockaddr *)&lc->addr))
				keep[i] = &old[j];
		if (keep[i] == NULL && listener_open(gw, &ls[i], lc) == -1)
			goto fail;
	}
	/* Phase 2: take the kept sockets over. */
	for (i = 0; i < cf->n_listens; i++) {
		const struct listen_conf *lc = &cf->listens[i];
		struct listener *k = keep[i];
		bool transparent = lc->mode == MODE_TPROXY;

		if (k == NULL)
			continue;
		if ((k->lc->mode == MODE_TPROXY) != transparent &&
		    sock_set_transparent(evconnlistener_get_fd(k->evl), lc->addr.ss_family,
		    transparent) == -1)
			log_msg(LL_ERROR, "listen \"%s\": switching to %s: %s", lc->name,
			    listen_mode_name(lc->mode), strerror(errno));
		ls[i] = *k;
		ls[i].lc = lc;
		ls[i].pool = gateway_pool(gw, lc->pasv_lo, lc->pasv_hi);
		evconnlistener_set_cb(ls[i].evl, accept_cb, &ls[i]);
		evconnlistener_set_error_cb(ls[i].evl, accept_error_cb);
		event_del(ls[i].resume);
		event_assign(ls[i].resume, gw->base, -1, 0, resume_cb, &ls[i]);
		evconnlistener_enable(ls[i].evl);
		k->evl = NULL;
		k->resume = NULL;
	}
	free(keep);
	*out = ls;
	*n_out = cf->n_listens;
	return 0;
fail:
	/* Only what phase 1 opened: OLD is untouched. */
	for (size_t j = 0; ls != NULL && j < cf->n_listens; j++)
		if (keep == NULL || keep[j] == NULL)
			listener_close(&ls[j]);
	free(keep);
	free(ls);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Signals */

static void
stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *gw = arg;
	struct gw_entry *e, *next;

	(void)fd;
	(void)what;
	log_msg(LL_INFO, "shutdown timeout: closing %u sessions", gw->n_sessions);
	for (e = TAILQ_FIRST(&gw->sessions); e != NULL; e = next) {
		next = TAILQ_NEXT(e, link);
		session_shutdown(e->session, "421 Service shutting down.");
	}
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
	listeners_close(gw);
	if (gw->n_sessions == 0) {
		log_msg(LL_INFO, "stopping");
		event_base_loopexit(gw->base, NULL);
		return;
	}
	log_msg(LL_INFO, "stopping: %u sessions may finish within %u seconds",
	    gw->n_sessions, gw->cf->shutdown_timeout);
	evtimer_add(gw->stop_timer, &tv);
}

void
gateway_reload(struct gateway *gw)
{
	struct config *cf;
	struct tls_engine *tls;
	struct listener *ls;
	size_t n;
	char *errors = NULL;
	size_t errlen = 0;
	FILE *err;

	if (gw->stopping)
		return;
	notify_systemd("RELOADING=1");
	log_msg(LL_INFO, "reloading %s", gw->cf->path);
	err = open_memstream(&errors, &errlen);
	cf = config_load(gw->cf->path, err != NULL ? err : stderr);
	if (err != NULL)
		fclose(err);
	if (cf == NULL) {
		for (char *line = strtok(errors, "\n"); line != NULL; line = strtok(NULL, "\n"))
			log_msg(LL_ERROR, "%s", line);
		log_msg(LL_ERROR, "reload failed: keeping the configuration in force");
		free(errors);
		notify_systemd("READY=1");
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
			log_msg(LL_ERROR, "reload failed: keeping the configuration in force");
			free(errors);
			config_unref(cf);
			notify_systemd("READY=1");
			return;
		}
		free(errors);
	}
	if (listeners_open(gw, cf, gw->listeners, gw->n_listeners, &ls, &n) == -1) {
		log_msg(LL_ERROR, "reload failed: cannot open the new listeners; keeping the configuration in force");
		tls_engine_unref(tls);
		config_unref(cf);
		notify_systemd("READY=1");
		return;
	}
	listeners_close(gw);            /* those not taken over */
	gw->listeners = ls;
	gw->n_listeners = n;
	reopen_operations(gw, gw->cf, cf);
	config_unref(gw->cf);
	gw->cf = cf;
	tls_engine_unref(gw->tls);
	gw->tls = tls;
	log_set_level(cf->log_level);
	/* Every worker reloads; the gateway reloaded once. */
	if (gw->worker == 0)
		gw->stats->reloads++;
	log_msg(LL_INFO, "configuration reloaded; %u live sessions keep their settings", gw->n_sessions);
	notify_systemd("READY=1");
}

/* The control socket and the metrics endpoint: failing to open them is
 * logged, not fatal; a reload reopens them when their address changed. */
/* The transfer log is opened before privileges are dropped and reopened
 * on every reload, so that logrotate's "kill -HUP" starts a new file. */
static void
open_xferlog(struct gateway *gw, const struct config *cf)
{
	if (gw->xferlog != NULL)
		fclose(gw->xferlog);
	gw->xferlog = NULL;
	if (cf->transfer_log == NULL)
		return;
	if ((gw->xferlog = fopen(cf->transfer_log, "ae")) == NULL) {
		log_msg(LL_WARN, "transfer-log %s: %s", cf->transfer_log, strerror(errno));
		return;
	}
	setvbuf(gw->xferlog, NULL, _IOLBF, 0);
}

static void
open_operations(struct gateway *gw, const struct config *cf)
{
	if (gw->xferlog == NULL)
		open_xferlog(gw, cf);
	/* With several workers, worker 0 has PATH and the metrics endpoint
	 * (both report the whole gateway's counters) and every other worker
	 * PATH.N, for its own sessions. */
	if (gw->ctl == NULL && cf->control_socket[0] != '\0') {
		char path[256];

		if (gw->worker > 0)
			snprintf(path, sizeof(path), "%s.%u", cf->control_socket, gw->worker);
		else
			snprintf(path, sizeof(path), "%s", cf->control_socket);
		gw->ctl = ctl_open_socket(gw, path);
	}
	if (gw->metrics == NULL && cf->has_metrics && gw->worker == 0)
		gw->metrics = ctl_open_metrics(gw, (const struct sockaddr *)&cf->metrics_addr);
}

static void
reopen_operations(struct gateway *gw, const struct config *old, const struct config *cf)
{
	open_xferlog(gw, cf);
	if (strcmp(old->control_socket, cf->control_socket) != 0) {
		ctl_close(gw->ctl);
		gw->ctl = NULL;
	}
	if (old->has_metrics != cf->has_metrics || (cf->has_metrics &&
	    !addr_equal((const struct sockaddr *)&old->metrics_addr,
	    (const struct sockaddr *)&cf->metrics_addr))) {
		ctl_close(gw->metrics);
		gw->metrics = NULL;
	}
	open_operations(gw, cf);
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
    struct shared *sh, unsigned worker)
{
	memset(gw, 0, sizeof(*gw));
	gw->base = base;
	gw->shared = sh;
	gw->stats = shared_stats(sh, worker);
	gw->worker = worker;
	gw->n_workers = shared_workers(sh);
	gw->cf = config_ref(cf);
	TAILQ_INIT(&gw->sessions);
	gw->sig_term = evsignal_new(base, SIGTERM, signal_cb, gw);
	gw->sig_int = evsignal_new(base, SIGINT, signal_cb, gw);
	gw->sig_hup = evsignal_new(base, SIGHUP, signal_cb, gw);
	gw->stop_timer = evtimer_new(base, stop_timer_cb, gw);
	if (gw->sig_term == NULL || gw->sig_int == NULL ||
	    gw->sig_hup == NULL || gw->stop_timer == NULL) {
		log_msg(LL_ERROR, "out of memory");
		return -1;
	}
	if (cf->tls.enabled && (gw->tls = tls_engine_new(&cf->tls, cf->path, stderr)) == NULL)
		return -1;
	if (listeners_open(gw, cf, NULL, 0, &gw->listeners, &gw->n_listeners) == -1)
		return -1;
	evsignal_add(gw->sig_term, NULL);
	evsignal_add(gw->sig_int, NULL);
	evsignal_add(gw->sig_hup, NULL);
	open_operations(gw, cf);
	return 0;
}

void
gateway_free(struct gateway *gw)
{
	listeners_close(gw);
	ctl_close(gw->ctl);
	ctl_close(gw->metrics);
	if (gw->xferlog != NULL)
		fclose(gw->xferlog);
	for (size_t i = 0; i < gw->n_pools; i++)
		portpool_free(gw->pools[i].pool);
	free(gw->pools);
	if (gw->sig_term != NULL)
		event_free(gw->sig_term);
	if (gw->sig_int != NULL)
		event_free(gw->sig_int);
	if (gw->sig_hup != NULL)
		event_free(gw->sig_hup);
	if (gw->stop_timer != NULL)
		event_free(gw->stop_timer);
	tls_engine_unref(gw->tls);
	config_unref(gw->cf);
}

/* listener.c: see listener.h. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pwd.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"
#include "balance.h"
#include "conf.h"
#include "handover.h"
#include "listener.h"
#include "log.h"
#include "portpool.h"
#include "sock.h"

#define LISTEN_BACKLOG   1024

/* ------------------------------------------------------------------ */
/* Acceptors */

struct acceptor {
	struct evconnlistener *evl;
	struct event *resume;            /* accept again after a pause */
	char what[128];
	acceptor_fn *fn;
	void *arg;
	bool paused;                     /* now, waiting for resume */
	bool episode;                    /* since the first failure, until an accept works */
	unsigned long pauses;            /* in this episode */
	time_t since;
};

static void
acceptor_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *peer, int len, void *arg)
{
	struct acceptor *a = arg;

	(void)evl;
	(void)len;
	if (a->episode) {
		log_msg(LL_INFO, "%s: accepting again, after %lu pauses in %lld s", a->what,
		    a->pauses, (long long)(time(NULL) - a->since));
		a->episode = false;
	}
	a->fn(fd, peer, a->arg);
}

static void
acceptor_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct acceptor *a = arg;

	(void)fd;
	(void)what;
	assert(a->paused);
	a->paused = false;
	/* Accepts at once if a connection waits: a new pause if the
	 * descriptors are still short. */
	evconnlistener_enable(a->evl);
}

/* Errors of one pending connection (accept(2) on Linux passes them on):
 * that connection is gone, the next one may be fine. */
static bool
per_connection_error(int err)
{
	switch (err) {
	case ENETDOWN:
	case EPROTO:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
	case EPERM:
		return true;
	}
	return false;
}

static void
acceptor_error_cb(struct evconnlistener *evl, void *arg)
{
	struct acceptor *a = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, ACCEPTOR_PAUSE_MS * 1000 };

	if (per_connection_error(err)) {
		log_msg(LL_DEBUG, "%s: accept: %s", a->what, strerror(err));
		return;
	}
	/* Out of descriptors (or memory), or worse: the connection stays
	 * pending, so a listener left enabled would be woken again at once,
	 * and again, at full CPU. Sessions that end free descriptors. */
	if (!a->episode) {
		log_msg(LL_WARN, "%s: accept: %s; pausing %d ms at a time until it works "
		    "(said once)", a->what, strerror(err), ACCEPTOR_PAUSE_MS);
		a->episode = true;
		a->pauses = 0;
		a->since = time(NULL);
	}
	a->pauses++;
	a->paused = true;
	evconnlistener_disable(evl);
	evtimer_add(a->resume, &tv);
}

struct acceptor *
acceptor_new(struct event_base *base, int fd, const char *what, acceptor_fn *fn, void *arg)
{
	struct acceptor *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		close(fd);
		return NULL;
	}
	a->evl = evconnlistener_new(base, acceptor_accept_cb, a,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (a->evl == NULL)
		close(fd);
	a->resume = evtimer_new(base, acceptor_resume_cb, a);
	if (a->evl == NULL || a->resume == NULL) {
		acceptor_free(a);
		return NULL;
	}
	evconnlistener_set_error_cb(a->evl, acceptor_error_cb);
	acceptor_set_cb(a, what, fn, arg);
	return a;
}

void
acceptor_set_cb(struct acceptor *a, const char *what, acceptor_fn *fn, void *arg)
{
	snprintf(a->what, sizeof(a->what), "%s", what);
	a->fn = fn;
	a->arg = arg;
}

int
acceptor_fd(const struct acceptor *a)
{
	return evconnlistener_get_fd(a->evl);
}

void
acceptor_free(struct acceptor *a)
{
	if (a == NULL)
		return;
	if (a->evl != NULL)
		evconnlistener_free(a->evl);
	if (a->resume != NULL)
		event_free(a->resume);
	free(a);
}

/* ------------------------------------------------------------------ */
/* The FTP listeners */

static void
listener_accept_cb(int fd, const struct sockaddr *peer, void *arg)
{
	struct listener *l = arg;

	l->set->fn(l, fd, peer, l->set->arg);
}

static void
listener_name(const struct listen_conf *lc, char *buf, size_t size)
{
	snprintf(buf, size, "listen \"%s\"", lc->name);
}

static struct sock_opts
listen_opts(const struct listen_conf *lc, bool reuse_port, bool has_owner, uid_t owner)
{
	struct sock_opts opts = {
		.transparent = lc->mode == MODE_TPROXY,
		.dual_stack = true,
		.reuse_port = reuse_port,
		.has_owner = has_owner,
		.owner = owner,
	};

	return opts;
}

static int
listener_open(struct listener_set *set, struct listener *l, const struct listen_conf *lc)
{
	struct sock_opts opts = listen_opts(lc, set->reuse_port, set->has_owner, set->owner);
	const char *what = "taken over";
	char a[ADDR_STRLEN], name[128];
	int fd, inherited[HANDOVER_MAX_FDS];
	size_t n_inherited;

	memset(l, 0, sizeof(*l));
	l->set = set;
	l->lc = lc;
	l->addr = lc->addr;
	l->pool = portpools_get(set->pools, lc->pasv_lo, lc->pasv_hi);
	if (l->pool == NULL) {
		log_msg(LL_ERROR, "listen \"%s\": passive-ports %u-%u: too few ports for the workers",
		    lc->name, lc->pasv_lo, lc->pasv_hi);
		return -1;
	}
	/* Sockets a previous gateway handed over come first: the clients
	 * waiting in their queues are ours. */
	n_inherited = handover_claim((struct sockaddr *)&lc->addr, set->worker,
	    set->n_workers > 0 ? set->n_workers : 1, inherited, HANDOVER_MAX_FDS);
	/* Taken over from systemd or an older gateway: maybe without the
	 * options our accepted connections rely on inheriting. */
	for (size_t i = 0; i < n_inherited; i++)
		(void)sock_accept_opts(inherited[i]);
	if (n_inherited > 0) {
		fd = inherited[0];
		if (opts.transparent && sock_set_transparent(fd, lc->addr.ss_family, true) == -1)
			log_msg(LL_ERROR, "listen \"%s\": a socket taken over cannot be made "
			    "transparent: %s", lc->name, strerror(errno));
	} else
		fd = sock_listen((struct sockaddr *)&lc->addr, &opts, LISTEN_BACKLOG, &what);
	if (fd == -1) {
		log_msg(LL_ERROR, "listen \"%s\" on %s: %s: %s%s", lc->name,
		    addr_fmt((struct sockaddr *)&lc->addr, a, sizeof(a)), what, strerror(errno),
		    errno == EPERM ? " (tproxy needs CAP_NET_ADMIN)" : "");
		return -1;
	}
	if (balance_join(set->balance, (const struct sockaddr *)&lc->addr, set->worker, fd) == -1)
		log_msg(LL_WARN, "listen \"%s\": the kernel's hash picks this address's "
		    "workers: %s", lc->name, strerror(errno));
	listener_name(lc, name, sizeof(name));
	if ((l->acc = acceptor_new(set->base, fd, name, listener_accept_cb, l)) == NULL) {
		for (size_t i = 1; i < n_inherited; i++)
			close(inherited[i]);
		log_msg(LL_ERROR, "listen \"%s\": out of memory", lc->name);
		return -1;
	}
	if (n_inherited > 1 &&
	    (l->extra = calloc(n_inherited - 1, sizeof(*l->extra))) == NULL) {
		for (size_t i = 1; i < n_inherited; i++)
			close(inherited[i]);
		log_msg(LL_ERROR, "listen \"%s\": out of memory", lc->name);
		return -1;
	}
	for (size_t i = 1; i < n_inherited; i++) {
		l->extra[l->n_extra] = acceptor_new(set->base, inherited[i], name,
		    listener_accept_cb, l);
		if (l->extra[l->n_extra] == NULL) {
			for (size_t j = i + 1; j < n_inherited; j++)
				close(inherited[j]);
			log_msg(LL_ERROR, "listen \"%s\": out of memory", lc->name);
			return -1;
		}
		l->n_extra++;
	}
	if (n_inherited > 0)
		log_msg(LL_INFO, "listen \"%s\": took over %zu listening socket%s from the "
		    "previous gateway", lc->name, n_inherited, n_inherited == 1 ? "" : "s");
	log_msg(LL_INFO, "listening on %s (%s \"%s\"), passive ports %u-%u",
	    addr_fmt((struct sockaddr *)&lc->addr, a, sizeof(a)), listen_mode_name(lc->mode),
	    lc->name, lc->pasv_lo, lc->pasv_hi);
	return 0;
}

static void
listener_close(struct listener *l)
{
	acceptor_free(l->acc);
	l->acc = NULL;
	for (size_t i = 0; i < l->n_extra; i++)
		acceptor_free(l->extra[i]);
	free(l->extra);
	l->extra = NULL;
	l->n_extra = 0;
}

static void
listener_array_free(struct listener *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		listener_close(&v[i]);
	free(v);
}

int
listeners_replace(struct listener_set *set, const struct config *cf)
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
		for (size_t j = 0; j < set->n; j++)
			if (set->v[j].acc != NULL &&
			    addr_equal((struct sockaddr *)&set->v[j].addr, (struct sockaddr *)&lc->addr))
				keep[i] = &set->v[j];
		if (keep[i] == NULL && listener_open(set, &ls[i], lc) == -1)
			goto fail;
		if (keep[i] != NULL && portpools_get(set->pools, lc->pasv_lo, lc->pasv_hi) == NULL) {
			log_msg(LL_ERROR, "listen \"%s\": passive-ports %u-%u: too few ports for "
			    "the workers", lc->name, lc->pasv_lo, lc->pasv_hi);
			goto fail;
		}
	}
	/* Phase 2: take the kept sockets over (phase 1 made their pools;
	 * pools live as long as the process). */
	for (i = 0; i < cf->n_listens; i++) {
		const struct listen_conf *lc = &cf->listens[i];
		struct listener *k = keep[i];
		bool transparent = lc->mode == MODE_TPROXY;
		char name[128];

		if (k == NULL)
			continue;
		if ((k->lc->mode == MODE_TPROXY) != transparent &&
		    sock_set_transparent(acceptor_fd(k->acc), lc->addr.ss_family,
		    transparent) == -1)
			log_msg(LL_ERROR, "listen \"%s\": switching to %s: %s", lc->name,
			    listen_mode_name(lc->mode), strerror(errno));
		ls[i] = *k;
		ls[i].lc = lc;
		ls[i].pool = portpools_get(set->pools, lc->pasv_lo, lc->pasv_hi);
		assert(ls[i].pool != NULL);
		listener_name(lc, name, sizeof(name));
		acceptor_set_cb(ls[i].acc, name, listener_accept_cb, &ls[i]);
		for (size_t e = 0; e < ls[i].n_extra; e++)
			acceptor_set_cb(ls[i].extra[e], name, listener_accept_cb, &ls[i]);
		k->acc = NULL;
		k->extra = NULL;
		k->n_extra = 0;
	}
	free(keep);
	/* Those of SET not taken over. */
	listener_array_free(set->v, set->n);
	set->v = ls;
	set->n = cf->n_listens;
	return 0;
fail:
	/* Only what phase 1 opened: SET is untouched. */
	for (size_t j = 0; ls != NULL && j < cf->n_listens; j++)
		if (keep == NULL || keep[j] == NULL)
			listener_close(&ls[j]);
	free(keep);
	free(ls);
	return -1;
}

void
listeners_close(struct listener_set *set)
{
	listener_array_free(set->v, set->n);
	set->v = NULL;
	set->n = 0;
}

int
listeners_prebind(const struct config *cf, unsigned n_workers)
{
	struct passwd *pw = cf->user != NULL ? getpwnam(cf->user) : NULL;
	bool reuse = n_workers > 1;

	for (size_t i = 0; i < cf->n_listens; i++) {
		const struct listen_conf *lc = &cf->listens[i];
		const struct sockaddr *sa = (const struct sockaddr *)&lc->addr;
		struct sock_opts opts = listen_opts(lc, reuse, reuse && pw != NULL,
		    pw != NULL ? pw->pw_uid : 0);
		char a[ADDR_STRLEN];
		const char *what = "";

		for (size_t k = handover_pool_count(sa); k < n_workers; k++) {
			int fd = sock_listen(sa, &opts, LISTEN_BACKLOG, &what);

			if (fd == -1) {
				log_msg(LL_ERROR, "listen \"%s\" on %s: %s: %s%s", lc->name,
				    addr_fmt(sa, a, sizeof(a)), what, strerror(errno),
				    errno == EPERM ? " (tproxy needs CAP_NET_ADMIN)" : "");
				return -1;
			}
			if (handover_pool_add(fd) == -1)
				return -1;
		}
	}
	return 0;
}

int
listeners_fds(const struct listener_set *set, int *fds, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n; i++) {
		const struct listener *l = &set->v[i];

		if (l->acc == NULL)
			continue;
		if (n + 1 + l->n_extra > max)
			return -1;
		fds[n++] = acceptor_fd(l->acc);
		for (size_t e = 0; e < l->n_extra; e++)
			fds[n++] = acceptor_fd(l->extra[e]);
	}
	return (int)n;
}

bool
listeners_own(const struct listener_set *set, const struct sockaddr *addr)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct sockaddr *la = (const struct sockaddr *)&set->v[i].addr;

		if (addr_port(la) != addr_port(addr))
			continue;
		if (addr_is_any(la) ? sock_is_local_host(addr) : addr_equal_host(la, addr))
			return true;
	}
	return false;
}

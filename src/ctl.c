/* ctl.c: the control socket; see ctl.h.
 *
 * It answers one request per connection and closes: it reads one command
 * line ("sessions", "kill 7", ...), finds the command in one table, and
 * writes its answer. Every connection has one deadline timer (first for
 * the request, then for the answer), and the socket holds a bounded
 * number of them, so stuck or hostile clients cannot pile up, and cannot
 * starve ftpgwctl for longer than the deadline. A reload's answer waits
 * for the reload (ctl_reload_done), within the answer's deadline. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "ctl.h"
#include "listener.h"
#include "log.h"
#include "shared.h"

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn) link;
	struct ctl *ctl;
	struct bufferevent *bev;
	struct event *deadline;
	bool answered;
	bool awaits_reload;              /* answered by ctl_reload_done() */
};

struct ctl {
	struct ctl_source src;
	struct acceptor *acc;
	char *path;                      /* the control socket's, unlinked at close */
	dev_t dev;                       /* the socket file's, so that a path */
	ino_t ino;                       /* taken over since is left alone */
	char what[160];                  /* its name in the log */
	TAILQ_HEAD(, ctl_conn) conns;
	unsigned n_conns;
	bool full;                       /* at CTL_MAX_CONNS, said once */
	unsigned long refused;           /* while full */
};

static void
write_sessions(struct ctl *ctl, struct evbuffer *out)
{
	unsigned n = shared_workers(ctl->src.shared);

	/* With several workers each lists its own; ftpgwctl asks them all. */
	if (n > 1)
		evbuffer_add_printf(out, "# worker %u of %u\n", ctl->src.worker, n);
	evbuffer_add_printf(out, "# id client server app state bytes-up bytes-down age-seconds user\n");
	ctl->src.sessions(ctl->src.arg, out);
}

/* The whole gateway's counters, whichever worker is asked. */
static void
write_stats(struct ctl *ctl, struct evbuffer *out, enum stats_format format)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return;
	shared_stats_write(ctl->src.shared, f, format);
	if (fclose(f) == 0)
		evbuffer_add(out, text, len);
	free(text);
}

/* ------------------------------------------------------------------ */
/* One request per connection */

static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

/* The one place a connection ends. */
static void
conn_free(struct ctl_conn *c)
{
	struct ctl *ctl = c->ctl;

	TAILQ_REMOVE(&ctl->conns, c, link);
	assert(ctl->n_conns > 0);
	ctl->n_conns--;
	if (ctl->full && ctl->n_conns < CTL_MAX_CONNS) {
		log_msg(LL_INFO, "%s: taking connections again (%lu closed unanswered)",
		    ctl->what, ctl->refused);
		ctl->full = false;
	}
	bufferevent_free(c->bev);
	event_free(c->deadline);
	free(c);
}

static void
conn_written_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_free(arg);
}

static void
conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn *c = arg;

	(void)fd;
	(void)what;
	log_msg(LL_DEBUG, "%s: a connection %s; closed", c->ctl->what, c->answered ?
	    "did not take its answer in time" : "did not send its request in time");
	conn_free(c);
}

/* The answer in BODY goes out; the connection is freed once it is
 * written, or when the peer goes or the answer's deadline passes first. */
static void
conn_send(struct ctl_conn *c, struct evbuffer *body)
{
	struct timeval tv = { .tv_sec = CTL_ANSWER_SEC };

	evbuffer_add_buffer(bufferevent_get_output(c->bev), body);
	c->awaits_reload = false;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, conn_written_cb, conn_event_cb, c);
	evtimer_add(c->deadline, &tv);
}

/* ------------------------------------------------------------------ */
/* The commands: each writes its answer to OUT and returns true, or
 * returns false when the answer comes later. ARG: the rest of the line,
 * "" when none. */

static bool
cmd_sessions(struct ctl_conn *c, const char *arg, struct evbuffer *out)
{
	(void)arg;
	write_sessions(c->ctl, out);
	return true;
}

static bool
cmd_stats(struct ctl_conn *c, const char *arg, struct evbuffer *out)
{
	(void)arg;
	write_stats(c->ctl, out, STATS_TEXT);
	return true;
}

static bool
cmd_metrics(struct ctl_conn *c, const char *arg, struct evbuffer *out)
{
	(void)arg;
	write_stats(c->ctl, out, STATS_PROMETHEUS);
	return true;
}

/* Every worker is asked; the one that has the session ends it. */
static bool
cmd_kill(struct ctl_conn *c, const char *arg, struct evbuffer *out)
{
	unsigned long long id;
	char *end;

	errno = 0;
	id = strtoull(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 || id == 0)
		evbuffer_add_printf(out, "error: kill needs a session id (ftpgwctl sessions)\n");
	else if (c->ctl->src.kill(c->ctl->src.arg, id))
		evbuffer_add_printf(out, "ok: session %llu ended\n", id);
	else
		evbuffer_add_printf(out, "error: no such session %llu\n", id);
	return true;
}

static bool
cmd_drain(struct ctl_conn *c, const char *arg, struct evbuffer *out)
{
	(void)arg;
	log_msg(LL_INFO, "%s: drain asked", c->ctl->what);
	evbuffer_add_printf(out, "ok: draining: %u sessions left\n",
	    c->ctl->src.drain(c->ctl->src.arg));
	return true;
}

static bool
cmd_reload(struct ctl_conn *c, const char *arg, struct evbuffer *out)
{
	(void)arg;
	(void)out;
	log_msg(LL_INFO, "%s: reload asked", c->ctl->what);
	/* Parked before the reload starts: one done at once answers it. */
	c->awaits_reload = true;
	c->ctl->src.reload(c->ctl->src.arg);
	return false;
}

static bool
cmd_log_level(struct ctl_conn *c, const char *arg, struct evbuffer *out)
{
	const struct word *w = word_find(log_level_words, arg);

	if (w == NULL) {
		evbuffer_add_printf(out, "error: log-level needs error, warn, info or debug\n");
		return true;
	}
	c->ctl->src.log_level(c->ctl->src.arg, (int)w->value);
	log_msg(LL_INFO, "%s: log level %s until the next reload", c->ctl->what, w->name);
	evbuffer_add_printf(out, "ok: log level %s\n", w->name);
	return true;
}

/* A new ftpgw -U asks for our listening sockets (handover.h): they go
 * with the answer, in one message, written here and now. */
static bool
cmd_handover(struct ctl_conn *c, const char *arg, struct evbuffer *out)
{
	const char *why = NULL;

	(void)arg;
	if (c->ctl->src.handover(c->ctl->src.arg, bufferevent_getfd(c->bev), &why) == -1)
		evbuffer_add_printf(out, "error: handover: %s\n", why);
	return true;
}

/* The commands of the control socket, by the first word of the line. */
static const struct ctl_command {
	const char *name;
	bool takes_arg;
	bool (*fn)(struct ctl_conn *c, const char *arg, struct evbuffer *out);
} ctl_commands[] = {
	{ "sessions", false, cmd_sessions },
	{ "stats", false, cmd_stats },
	{ "metrics", false, cmd_metrics },
	{ "kill", true, cmd_kill },
	{ "drain", false, cmd_drain },
	{ "reload", false, cmd_reload },
	{ "log-level", true, cmd_log_level },
	{ "handover", false, cmd_handover },
};

static void
conn_answer(struct ctl_conn *c, char *request)
{
	struct evbuffer *body = evbuffer_new();
	const struct ctl_command *cmd = NULL;
	char *arg = strchr(request, ' ');
	size_t n = sizeof(ctl_commands) / sizeof(ctl_commands[0]);

	c->answered = true;
	if (body == NULL) {
		conn_free(c);
		return;
	}
	if (arg != NULL)
		*arg++ = '\0';
	for (size_t i = 0; i < n && cmd == NULL; i++)
		if (strcmp(request, ctl_commands[i].name) == 0)
			cmd = &ctl_commands[i];
	if (cmd == NULL) {
		evbuffer_add_printf(body, "error: unknown command (");
		for (size_t i = 0; i < n; i++)
			evbuffer_add_printf(body, "%s%s", i > 0 ? ", " : "", ctl_commands[i].name);
		evbuffer_add_printf(body, ")\n");
	} else if (cmd->takes_arg != (arg != NULL))
		evbuffer_add_printf(body, "error: %s takes %s\n", cmd->name,
		    cmd->takes_arg ? "one argument" : "no argument");
	else if (!cmd->fn(c, arg != NULL ? arg : "", body)) {
		struct timeval tv = { .tv_sec = CTL_ANSWER_SEC };

		evbuffer_free(body);
		bufferevent_disable(c->bev, EV_READ);
		evtimer_add(c->deadline, &tv);
		return;
	}
	conn_send(c, body);
	evbuffer_free(body);
}

void
ctl_reload_done(struct ctl *ctl, bool ok, const char *why)
{
	struct ctl_conn *c, *next;
	struct evbuffer *body;

	if (ctl == NULL)
		return;
	for (c = TAILQ_FIRST(&ctl->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (!c->awaits_reload)
			continue;
		if ((body = evbuffer_new()) == NULL) {
			conn_free(c);
			continue;
		}
		if (ok)
			evbuffer_add_printf(body, "ok: configuration reloaded\n");
		else
			evbuffer_add_printf(body, "error: reload failed: %s\n", why);
		conn_send(c, body);
		evbuffer_free(body);
	}
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;

	if (c->answered)
		return;
	line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CTL_REQUEST_MAX)
			conn_free(c);
		return;
	}
	conn_answer(c, line);
	free(line);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);                  /* EOF or error */
}

static void
ctl_accept_cb(int fd, const struct sockaddr *peer, void *arg)
{
	struct ctl *ctl = arg;
	struct ctl_conn *c;
	struct timeval tv = { .tv_sec = CTL_REQUEST_SEC };

	(void)peer;
	if (ctl->n_conns >= CTL_MAX_CONNS) {
		/* Closed unanswered: ftpgwctl says so. */
		close(fd);
		ctl->refused++;
		if (!ctl->full) {
			log_msg(LL_WARN, "%s: %u connections open: closing new ones until one ends "
			    "(said once)", ctl->what, ctl->n_conns);
			ctl->full = true;
			ctl->refused = 1;
		}
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(ctl->src.base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(c);
		close(fd);
		return;
	}
	if ((c->deadline = evtimer_new(ctl->src.base, conn_deadline_cb, c)) == NULL) {
		bufferevent_free(c->bev);
		free(c);
		return;
	}
	c->ctl = ctl;
	TAILQ_INSERT_TAIL(&ctl->conns, c, link);
	ctl->n_conns++;
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	/* For the whole request, not reset by each byte: a peer sending one
	 * byte a second is closed like one sending nothing. */
	evtimer_add(c->deadline, &tv);
}

static struct ctl *
ctl_listen(const struct ctl_source *src, int fd, const char *path, const char *what)
{
	struct ctl *ctl = calloc(1, sizeof(*ctl));

	if (ctl == NULL) {
		close(fd);
		return NULL;
	}
	ctl->src = *src;
	TAILQ_INIT(&ctl->conns);
	snprintf(ctl->what, sizeof(ctl->what), "%s", what);
	if (path != NULL && (ctl->path = strdup(path)) == NULL) {
		close(fd);
		ctl_close(ctl);
		return NULL;
	}
	if ((ctl->acc = acceptor_new(src->base, fd, what, ctl_accept_cb, ctl)) == NULL) {
		ctl_close(ctl);
		return NULL;
	}
	return ctl;
}

/* The control socket's directory DIR, open, made if missing (mode 0755,
 * and given to OWNER, the service user, when made by root, so that the
 * gateway can still remove its socket after dropping root). Refused
 * unless only root, we or OWNER can change its entries: it must belong
 * to one of them and be writable by no one else, unless sticky (/tmp),
 * where others can neither rename nor remove our entries. From bind()
 * on, the socket's name in it is then ours, so that nothing done to
 * that name afterwards can be redirected by someone else. */
static int
open_socket_dir(const char *dir, const struct passwd *owner, const char **what)
{
	struct stat st;
	mode_t old = umask(022);
	bool made = mkdir(dir, 0755) == 0;
	int fd = -1;

	umask(old);
	if (!made && errno != EEXIST) {
		*what = "cannot make its directory";
		return -1;
	}
	/* What we made is ours, not a link someone put in its place. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (made ? O_NOFOLLOW : 0))) == -1 ||
	    fstat(fd, &st) == -1) {
		*what = "cannot open its directory";
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() && (owner == NULL || st.st_uid != owner->pw_uid)) {
		*what = "its directory belongs to another user";
		errno = EPERM;
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
		*what = "its directory is writable by others";
		errno = EPERM;
		goto fail;
	}
	if (made && owner != NULL && geteuid() == 0 && st.st_uid == 0 &&
	    fchown(fd, owner->pw_uid, owner->pw_gid) == -1) {
		*what = "cannot give its directory to the user";
		goto fail;
	}
	return fd;
fail:
	if (fd != -1) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return -1;
}

/* bind() FD to NAME in the directory DIRFD (cwd juggling: bind() has no
 * *at() form, and the path could lead elsewhere by now), born with MODE
 * and, as root, with group GID ((gid_t)-1: ours): the umask and the
 * effective group are what the kernel gives a new socket file, so there
 * is no moment with a looser mode or another group, and nothing follows
 * a link afterwards. The process has one thread, the umask and the
 * group are restored before anything else runs. */
static int
bind_at(int fd, int dirfd, const char *name, mode_t mode, gid_t gid)
{
	struct sockaddr_un sun;
	gid_t egid = getegid();
	mode_t old;
	int cwd, rc, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert(strlen(name) < sizeof(sun.sun_path));
	strcpy(sun.sun_path, name);
	if ((cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (fchdir(dirfd) == -1) {
		e = errno;
		close(cwd);
		errno = e;
		return -1;
	}
	if (gid != (gid_t)-1 && gid != egid && setegid(gid) == -1)
		rc = -1;
	else {
		old = umask(~mode & 0777);
		rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
		e = errno;
		umask(old);
		if (getegid() != egid && setegid(egid) == -1)
			fatal("setegid back to %u: %s", (unsigned)egid, strerror(errno));
		errno = e;
	}
	e = errno;
	if (fchdir(cwd) == -1)
		fatal("fchdir back after binding %s: %s", name, strerror(errno));
	close(cwd);
	errno = e;
	return rc;
}

struct ctl *
ctl_open_socket(const struct ctl_source *src, const char *path, const char *user,
    const char *group)
{
	char dir[sizeof(((struct sockaddr_un *)NULL)->sun_path)], what[sizeof(dir) + 32];
	const char *name, *why = NULL;
	struct passwd *owner = NULL;
	struct group *gr = NULL;
	struct stat st;
	mode_t mode = group != NULL ? 0660 : 0600;
	struct ctl *ctl;
	dev_t sock_dev;
	ino_t sock_ino;
	int fd = -1, dirfd = -1, e;

	assert(src->sessions != NULL);
	assert(path[0] == '/');          /* the configuration checks it */
	if (strlen(path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	errno = 0;
	if (user != NULL && (owner = getpwnam(user)) == NULL) {
		why = "user unknown";
		goto fail;
	}
	errno = 0;
	if (group != NULL && (gr = getgrnam(group)) == NULL) {
		why = "control-socket-group unknown";
		goto fail;
	}
	/* /run/ftpgw exists under systemd (RuntimeDirectory=); by hand it
	 * may not. */
	strcpy(dir, path);
	name = strrchr(path, '/') + 1;
	dir[name - path > 1 ? name - path - 1 : 1] = '\0';
	if ((dirfd = open_socket_dir(dir, owner, &why)) == -1)
		goto fail;
	/* A socket left by an earlier run that did not clean up goes;
	 * anything else stays (a link, or a file the path names by
	 * mistake), and so does the control socket. */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			why = "something else than a socket is there; not replaced";
			errno = EEXIST;
			goto fail;
		}
		if (unlinkat(dirfd, name, 0) == -1) {
			why = "cannot remove the old socket";
			goto fail;
		}
	} else if (errno != ENOENT)
		goto fail;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (geteuid() == 0 || gr == NULL) {
		if (bind_at(fd, dirfd, name, mode, gr != NULL ? gr->gr_gid : (gid_t)-1) == -1)
			goto fail;
	} else {
		/* Not root: born 0600, then given to one of our groups. Only
		 * root and we can change the directory's entries, so the name
		 * is still the socket we made. */
		if (bind_at(fd, dirfd, name, 0600, (gid_t)-1) == -1)
			goto fail;
		if (fchownat(dirfd, name, (uid_t)-1, gr->gr_gid, AT_SYMLINK_NOFOLLOW) == -1 ||
		    fchmodat(dirfd, name, mode, 0) == -1) {
			why = "cannot give it to its group";
			goto fail_unlink;
		}
	}
	/* A set-group-ID directory overrides our group. */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		goto fail_unlink;
	if (gr != NULL && st.st_gid != gr->gr_gid) {
		why = "it got the group of a set-group-ID directory";
		errno = EPERM;
		goto fail_unlink;
	}
	if (listen(fd, CTL_MAX_CONNS) == -1)
		goto fail_unlink;
	close(dirfd);
	sock_dev = st.st_dev;
	sock_ino = st.st_ino;
	log_msg(LL_INFO, "control socket %s (mode %04o%s%s)", path, (unsigned)mode,
	    group != NULL ? ", group " : "", group != NULL ? group : "");
	snprintf(what, sizeof(what), "control socket %s", path);
	if ((ctl = ctl_listen(src, fd, path, what)) != NULL) {
		ctl->dev = sock_dev;
		ctl->ino = sock_ino;
	}
	return ctl;
fail_unlink:
	e = errno;
	(void)unlinkat(dirfd, name, 0);
	errno = e;
fail:
	e = errno;
	log_msg(LL_WARN, "control socket %s: %s%s%s (ftpgwctl will not work)", path,
	    why != NULL ? why : "", why != NULL && e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
	if (fd != -1)
		close(fd);
	if (dirfd != -1)
		close(dirfd);
	return NULL;
}

void
ctl_close(struct ctl *ctl)
{
	struct ctl_conn *c;

	if (ctl == NULL)
		return;
	ctl->full = false;               /* nothing to say while closing */
	while ((c = TAILQ_FIRST(&ctl->conns)) != NULL) {
		/* An answer made but not yet written (ftpgwctl drain of a
		 * worker without sessions, which exits at once) goes now, as
		 * much as the socket takes without waiting: the bufferevent
		 * lets only itself drain its output, so a copy. */
		struct evbuffer *out = bufferevent_get_output(c->bev);
		size_t len = evbuffer_get_length(out);
		unsigned char *text = len > 0 ? evbuffer_pullup(out, -1) : NULL;

		if (text != NULL)
			(void)!write(bufferevent_getfd(c->bev), text, len);
		conn_free(c);
	}
	acceptor_free(ctl->acc);
	if (ctl->path != NULL) {
		struct stat st;

		/* A new gateway that took over (handover.h) bound its own
		 * socket at the path: not ours to remove. */
		if (lstat(ctl->path, &st) == 0 && st.st_dev == ctl->dev && st.st_ino == ctl->ino)
			(void)unlink(ctl->path);
		free(ctl->path);
	}
	free(ctl);
}

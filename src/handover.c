/* handover.c: see handover.h. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "addr.h"
#include "handover.h"
#include "log.h"
#include "sock.h"

/* How long the old gateway has to answer: it does so at once, from its
 * event loop, unless it is stuck, and then it is no gateway to trust. */
#define HANDOVER_TIMEOUT_SEC 5
/* Workers of the old gateway, at most (its control sockets PATH.1 ...). */
#define HANDOVER_MAX_WORKERS 1024

struct pooled {
	int fd;
	struct sockaddr_storage addr;
};

/* The pool: filled before the workers start, emptied by claims and by
 * handover_pool_release(). Plain arrays: a handful of listeners. */
static struct pooled *pool;
static size_t pool_n, pool_cap;

int
handover_pool_add(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int listening = 0, type = 0;
	socklen_t ilen = sizeof(int);

	/* Only listening TCP sockets: anything else passed to us is closed. */
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ilen) == -1 || type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) == -1 || !listening) {
		log_msg(LL_WARN, "handover: descriptor %d is not a listening TCP socket; closed", fd);
		close(fd);
		return -1;
	}
	if (pool_n == pool_cap) {
		size_t cap = pool_cap ? pool_cap * 2 : 16;
		struct pooled *p = realloc(pool, cap * sizeof(*p));

		if (p == NULL) {
			close(fd);
			return -1;
		}
		pool = p;
		pool_cap = cap;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	pool[pool_n].fd = fd;
	pool[pool_n].addr = ss;
	pool_n++;
	return 0;
}

size_t
handover_pool_size(void)
{
	return pool_n;
}

bool
handover_pool_unshared(const struct sockaddr *addr)
{
	for (size_t i = 0; i < pool_n; i++) {
		int on = 0;
		socklen_t len = sizeof(on);

		if (addr_equal((struct sockaddr *)&pool[i].addr, addr) &&
		    (getsockopt(pool[i].fd, SOL_SOCKET, SO_REUSEPORT, &on, &len) == -1 || !on))
			return true;
	}
	return false;
}

size_t
handover_claim(const struct sockaddr *addr, unsigned index, unsigned n,
    int *fds, size_t max)
{
	size_t got = 0, k = 0, i = 0;

	assert(n > 0 && index < n);
	while (i < pool_n) {
		if (!addr_equal((struct sockaddr *)&pool[i].addr, addr)) {
			i++;
			continue;
		}
		if (k++ % n != index || got == max) {
			i++;
			continue;
		}
		fds[got++] = pool[i].fd;
		/* Taken out, so handover_pool_release() leaves it; the
		 * next one moves to I, and K goes on counting in the order
		 * every worker's copy of the pool has. */
		memmove(&pool[i], &pool[i + 1], (pool_n - i - 1) * sizeof(*pool));
		pool_n--;
	}
	return got;
}

size_t
handover_pool_count(const struct sockaddr *addr)
{
	size_t n = 0;

	for (size_t i = 0; i < pool_n; i++)
		if (addr_equal((struct sockaddr *)&pool[i].addr, addr))
			n++;
	return n;
}

void
handover_pool_each(void (*fn)(int fd, const struct sockaddr *addr, void *arg), void *arg)
{
	for (size_t i = 0; i < pool_n; i++)
		fn(pool[i].fd, (struct sockaddr *)&pool[i].addr, arg);
}

void
handover_pool_drop(bool (*keep)(const struct sockaddr *addr, void *arg), void *arg,
    void (*dropped)(int fd))
{
	size_t o = 0;

	for (size_t i = 0; i < pool_n; i++) {
		if (keep((struct sockaddr *)&pool[i].addr, arg)) {
			pool[o++] = pool[i];
			continue;
		}
		if (dropped != NULL)
			dropped(pool[i].fd);
		close(pool[i].fd);
	}
	pool_n = o;
}

void
handover_pool_release(void)
{
	for (size_t i = 0; i < pool_n; i++)
		close(pool[i].fd);
	free(pool);
	pool = NULL;
	pool_n = pool_cap = 0;
}

size_t
handover_from_systemd(void)
{
	const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");
	size_t taken = 0;
	long n;

	if (pid == NULL || nfds == NULL || atol(pid) != (long)getpid())
		return 0;
	n = atol(nfds);
	for (long i = 0; i < n && i < HANDOVER_MAX_FDS * 16; i++)
		if (handover_pool_add(3 + (int)i) == 0)
			taken++;
	/* Not for our children (the workers), nor a program we run. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return taken;
}

/* Connect to PATH. -1 with errno when nobody listens there. */
static int
connect_unix(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { .tv_sec = HANDOVER_TIMEOUT_SEC };
	int fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* One worker's handover from the control socket PATH: its sockets into
 * the pool, its worker count in *WORKERS. -1 with the reason in ERR, and
 * *ABSENT true when nobody listens at PATH. */
static int
request_one(const char *path, unsigned *workers, bool *absent, char *err, size_t errsize)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * HANDOVER_MAX_FDS)];
	} cbuf;
	char text[256];
	struct iovec iov = { text, sizeof(text) - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *c;
	unsigned w = 0, nfds = 0, got = 0;
	ssize_t len;
	int fd;

	*absent = false;
	if ((fd = connect_unix(path)) == -1) {
		*absent = errno == ENOENT || errno == ECONNREFUSED;
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, "handover\n", 9) != 9) {
		snprintf(err, errsize, "%s: sending the request: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	memset(&cbuf, 0, sizeof(cbuf));
	len = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	close(fd);
	if (len <= 0) {
		snprintf(err, errsize, "%s: %s", path, len == 0 ? "closed without an answer" :
		    errno == EAGAIN ? "no answer in time" : strerror(errno));
		return -1;
	}
	text[len] = '\0';
	/* The sockets first: ours to close whatever the text says. */
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int passed;

			memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (handover_pool_add(passed) == 0)
				got++;
		}
	}
	if (sscanf(text, "handover %u %u", &w, &nfds) != 2) {
		text[strcspn(text, "\r\n")] = '\0';
		snprintf(err, errsize, "%s: %s", path, text);
		return -1;
	}
	if ((msg.msg_flags & MSG_CTRUNC) || got != nfds || w == 0 || w > HANDOVER_MAX_WORKERS) {
		snprintf(err, errsize, "%s: expected %u sockets, got %u", path, nfds, got);
		return -1;
	}
	*workers = w;
	return 0;
}

int
handover_request(const char *path, bool *found, char *err, size_t errsize)
{
	unsigned workers = 0, w;
	char sub[sizeof(((struct sockaddr_un *)NULL)->sun_path) + 16];
	bool absent;

	*found = false;
	if (request_one(path, &workers, &absent, err, errsize) == -1)
		return absent ? 0 : -1;  /* nobody there: a start like any other */
	*found = true;
	for (unsigned i = 1; i < workers; i++) {
		snprintf(sub, sizeof(sub), "%s.%u", path, i);
		/* A worker of the old gateway that cannot be reached keeps
		 * its sockets and its share of the clients until it is
		 * stopped; the others' are ours. */
		if (request_one(sub, &w, &absent, err, errsize) == -1)
			log_msg(LL_WARN, "handover: %s", err);
	}
	return 0;
}

int
handover_send(int conn, const int *fds, size_t n, unsigned workers)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * HANDOVER_MAX_FDS)];
	} cbuf;
	char text[64];
	struct iovec iov = { text, 0 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int flags = fcntl(conn, F_GETFL);
	ssize_t sent;

	if (n > HANDOVER_MAX_FDS) {
		errno = EMSGSIZE;
		return -1;
	}
	iov.iov_len = (size_t)snprintf(text, sizeof(text), "handover %u %zu\n", workers, n);
	sock_msg_rights(&msg, cbuf.buf, sizeof(cbuf.buf), fds, n);
	/* A fresh connection's buffer is empty: the message fits at once.
	 * Blocking for it all the same, so that it is all or nothing. */
	if (flags != -1)
		(void)fcntl(conn, F_SETFL, flags & ~O_NONBLOCK);
	sent = sendmsg(conn, &msg, MSG_NOSIGNAL);
	if (flags != -1)
		(void)fcntl(conn, F_SETFL, flags);
	if (sent != (ssize_t)iov.iov_len)
		return -1;
	return 0;
}

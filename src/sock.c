/* sock.c: socket creation and options; see sock.h. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "addr.h"
#include "sock.h"

static int
set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/* The shared part: socket(), options, optional bind. */
static int
sock_make(int family, const struct sockaddr *bind_addr,
    const struct sock_opts *opts, bool reuse_addr, const char **what)
{
	int fd, saved;

	if (opts != NULL && opts->has_owner && geteuid() == 0) {
		uid_t was = (uid_t)setfsuid(opts->owner);

		fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
		saved = errno;
		(void)setfsuid(was);
		errno = saved;
	} else
		fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd == -1) {
		*what = "socket";
		return -1;
	}
	/* A data port is reused as soon as its previous connection is in
	 * TIME_WAIT; without SO_REUSEADDR the next bind fails. */
	if (reuse_addr && set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) == -1) {
		*what = "SO_REUSEADDR";
		goto fail;
	}
	if (opts != NULL && opts->reuse_port &&
	    set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) == -1) {
		*what = "SO_REUSEPORT";
		goto fail;
	}
	if (opts != NULL && opts->transparent) {
		if (family == AF_INET6) {
			if (set_int(fd, SOL_IPV6, IPV6_TRANSPARENT, 1) == -1) {
				*what = "IPV6_TRANSPARENT";
				goto fail;
			}
		} else if (set_int(fd, SOL_IP, IP_TRANSPARENT, 1) == -1) {
			*what = "IP_TRANSPARENT";
			goto fail;
		}
	}
	if (family == AF_INET6 && set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    (opts != NULL && opts->dual_stack) ? 0 : 1) == -1) {
		*what = "IPV6_V6ONLY";
		goto fail;
	}
	if (bind_addr != NULL &&
	    bind(fd, bind_addr, addr_len(bind_addr)) == -1) {
		*what = "bind";
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
sock_listen(const struct sockaddr *addr, const struct sock_opts *opts,
    int backlog, const char **what)
{
	int fd, saved;

	fd = sock_make(addr->sa_family, addr, opts, true, what);
	if (fd == -1)
		return -1;
	(void)sock_accept_opts(fd);
	if (listen(fd, backlog) == -1) {
		*what = "listen";
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
sock_accept_opts(int fd)
{
	/* Linux copies both into every connection the listener accepts,
	 * which then needs no setsockopt() of its own: TCP_NODELAY because
	 * control and data lines are latency-bound request/reply traffic at
	 * their ends; SO_OOBINLINE so that a Telnet "urgent" byte (ABOR's
	 * IAC) stays in the stream the gateway reads and relays. */
	if (set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) == -1)
		return -1;
	return set_int(fd, SOL_SOCKET, SO_OOBINLINE, 1);
}

int
sock_prepare(int family, const struct sockaddr *src,
    const struct sock_opts *opts, const char **what)
{
	int fd = sock_make(family, src, opts, src != NULL, what);

	/* Control and data lines are latency-bound request/reply traffic at
	 * their ends; bulk data is written in large chunks anyway. */
	if (fd != -1)
		(void)set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	return fd;
}

int
sock_connect(const struct sockaddr *dst, const struct sockaddr *src,
    const struct sock_opts *opts, const char **what)
{
	int fd, saved;

	fd = sock_prepare(dst->sa_family, src, opts, what);
	if (fd == -1)
		return -1;
	if (connect(fd, dst, addr_len(dst)) == -1 && errno != EINPROGRESS) {
		*what = "connect";
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
sock_local(int fd, struct sockaddr_storage *out)
{
	socklen_t len = sizeof(*out);

	memset(out, 0, sizeof(*out));
	if (getsockname(fd, (struct sockaddr *)out, &len) == -1)
		return -1;
	addr_unmap(out);
	return 0;
}

int
sock_peer(int fd, struct sockaddr_storage *out)
{
	socklen_t len = sizeof(*out);

	memset(out, 0, sizeof(*out));
	if (getpeername(fd, (struct sockaddr *)out, &len) == -1)
		return -1;
	addr_unmap(out);
	return 0;
}

int
sock_original_dst(int fd, int peer_family, struct sockaddr_storage *out)
{
	socklen_t len = sizeof(*out);

	/* An IPv4 client on a dual-stack socket was NATed by iptables (IPv4),
	 * so its original destination is asked for at SOL_IP. */
	memset(out, 0, sizeof(*out));
	if (peer_family == AF_INET) {
		if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, out, &len) == -1)
			return -1;
	} else if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, out, &len) == -1)
		return -1;
	addr_unmap(out);
	return 0;
}

int
sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

bool
sock_is_local_host(const struct sockaddr *addr)
{
	struct sockaddr_storage probe;
	bool local;
	int fd;

	memcpy(&probe, addr, addr_len(addr));
	addr_set_port((struct sockaddr *)&probe, 0);
	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return false;
	local = bind(fd, (struct sockaddr *)&probe, addr_len(addr)) == 0;
	close(fd);
	return local;
}

int
sock_set_transparent(int fd, int family, bool on)
{
	return family == AF_INET6 ? set_int(fd, SOL_IPV6, IPV6_TRANSPARENT, on) :
	    set_int(fd, SOL_IP, IP_TRANSPARENT, on);
}

int
sock_abort(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	return setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

void
sock_msg_rights(struct msghdr *msg, void *cbuf, size_t size, const int *fds, size_t n)
{
	struct cmsghdr *c;

	if (n == 0)
		return;
	assert(CMSG_SPACE(sizeof(int) * n) <= size);
	memset(cbuf, 0, size);
	msg->msg_control = cbuf;
	msg->msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
}

/* sock.h: every socket the gateway opens is made here, with its options in
 * one place and one error exit (listeners, transparent binds, outbound
 * connects), plus the original-destination lookups of the three modes. */
#ifndef FTPGW_SOCK_H
#define FTPGW_SOCK_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

/* How a socket is bound. */
struct sock_opts {
	bool transparent;    /* IP_TRANSPARENT / IPV6_TRANSPARENT: bind a non-local address */
	bool reuse_port;     /* SO_REUSEPORT (control listeners shared by workers) */
	bool dual_stack;     /* AF_INET6 wildcard also accepts IPv4 (IPV6_V6ONLY = 0) */
	/* The socket belongs to OWNER (made with that file-system uid) even
	 * while we are root: an SO_REUSEPORT group admits only sockets of its
	 * first socket's owner, so a worker started again after root was
	 * dropped could not join one made by root. */
	bool has_owner;
	uid_t owner;
};

/* A non-blocking listening socket bound to ADDR. Returns the fd, or -1 with
 * errno set and a short description of the failing step in *WHAT. */
int sock_listen(const struct sockaddr *addr, const struct sock_opts *opts,
    int backlog, const char **what);

/* A non-blocking socket of DST's family, bound to SRC when SRC is not NULL
 * (with opts->transparent for a non-local source), connect(2) started.
 * Returns the fd (connection in progress or done), or -1 with errno set. */
int sock_connect(const struct sockaddr *dst, const struct sockaddr *src,
    const struct sock_opts *opts, const char **what);

/* A non-blocking socket of DST's family bound to SRC (or unbound), NOT yet
 * connected: for callers (bufferevent_socket_connect) that connect it. */
int sock_prepare(int family, const struct sockaddr *src,
    const struct sock_opts *opts, const char **what);

/* The local and peer addresses of FD, IPv4-mapped addresses unmapped. */
int sock_local(int fd, struct sockaddr_storage *out);
int sock_peer(int fd, struct sockaddr_storage *out);

/* Where the client meant to go before an iptables/nftables REDIRECT:
 * SO_ORIGINAL_DST for an IPv4 client (also on a dual-stack socket),
 * IP6T_SO_ORIGINAL_DST for IPv6. PEER_FAMILY is the client's family once
 * unmapped (the caller has its address from accept: no getpeername).
 * Unmapped. Returns 0 or -1. */
int sock_original_dst(int fd, int peer_family, struct sockaddr_storage *out);

/* The pending error of a non-blocking connect (SO_ERROR), 0 if none. */
int sock_error(int fd);



/* Turn IP_TRANSPARENT (IPV6_TRANSPARENT) on or off on a socket of FAMILY
 * that exists already (a listener whose mode a reload changes). */
int sock_set_transparent(int fd, int family, bool on);

/* On a listening socket: TCP_NODELAY and SO_OOBINLINE, which every
 * connection it accepts inherits (sock_listen sets them; a listener taken
 * over from systemd or an older gateway gets them here). Replies such as
 * 150 then 226 must not wait for the peer's delayed ACK, nor a transfer's
 * last partial segment; and urgent (OOB) bytes stay in the stream: clients
 * send ABOR with a Telnet Synch as urgent data (python's ftplib sends the
 * whole "ABOR\r\n" with MSG_OOB, so its final LF would otherwise vanish). */
int sock_accept_opts(int fd);

/* Make the next close(2) of FD reset the connection (SO_LINGER 0) instead
 * of queueing a FIN behind unsent bytes: a peer that stopped reading would
 * otherwise keep the orphaned socket, and its send buffer, alive for
 * minutes of zero-window probes. */
int sock_abort(int fd);

/* Is ADDR's host one of this machine's own addresses? (A bind test: a
 * non-local address fails with EADDRNOTAVAIL.) */
bool sock_is_local_host(const struct sockaddr *addr);

/* Attach the N descriptors FDS to MSG as one SCM_RIGHTS message, in CBUF
 * (SIZE bytes, at least CMSG_SPACE(N ints), suitably aligned). Nothing
 * when N is 0. */
struct msghdr;
void sock_msg_rights(struct msghdr *msg, void *cbuf, size_t size, const int *fds, size_t n);

#endif

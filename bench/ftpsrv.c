/* ftpsrv.c: the benchmark's FTP server. Not a real server: any USER/PASS
 * logs in, "RETR NAME" sends as many bytes as the digits in NAME say
 * (RETR 1024, RETR /zero-2147483648) with sendfile(2) from a memfd, and
 * STOR swallows whatever comes (recv with MSG_TRUNC: no copy) and says how
 * much it got in the 226 reply. PASV, EPSV, PORT, EPRT; one thread per
 * connection, blocking I/O.
 *
 * A raw port (-r) serves the minimal relay's throughput test without FTP:
 * the client sends "R N\n" and gets N bytes then EOF, or sends "S N\n",
 * then bytes up to its shutdown(SHUT_WR), and gets "COUNT\n" back.
 *
 * PASV ports are taken round robin from -P (default 40000-49999). -A ADDR
 * announces the IPv4 address ADDR in 227 instead of its own (as vsftpd's
 * pasv_address does): a relay on ADDR that forwards the passive range then
 * carries the data connections too.
 * FTPSRV_DEBUG set in the environment: a line on stderr per ended session.
 *
 * Usage: ftpsrv -p PORT[,PORT...] [-r RAWPORT] [-b ADDR] [-P PASV-LO-HI] [-A ADDR]
 * Build: cc -O2 -pthread -o ftpsrv ftpsrv.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#define SRC_SIZE (16 << 20)         /* the memfd RETR sends from, in a loop */
#define TIMEOUT_S 60

static int src_fd;
static int pasv_lo = 40000, pasv_hi = 49999;   /* -P LO-HI */
static unsigned pasv_next;
static struct in_addr announce;     /* -A ADDR; INADDR_ANY: our own */
static char sinkbuf[1 << 20];       /* MSG_TRUNC: the kernel does not write it */

struct conn {
	int fd;
	char buf[2048];
	size_t len;
	int raw;
	int pasv_fd;                        /* listener after PASV/EPSV */
	struct sockaddr_storage port_sa;    /* after PORT/EPRT */
	socklen_t port_len;
};

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ftpsrv: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	va_end(ap);
	exit(1);
}

static void
set_timeouts(int fd)
{
	struct timeval tv = { TIMEOUT_S, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
reply(struct conn *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	memcpy(line + n, "\r\n", 2);
	return send(c->fd, line, (size_t)n + 2, MSG_NOSIGNAL) == n + 2 ? 0 : -1;
}

/* One line without its CR LF in LINE; -1 at EOF or error. */
static int
get_line(struct conn *c, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf);

			if (n > 0 && c->buf[n - 1] == '\r')
				n--;
			if (n >= size)
				n = size - 1;
			memcpy(line, c->buf, n);
			line[n] = '\0';
			c->len -= (size_t)(nl + 1 - c->buf);
			memmove(c->buf, nl + 1, c->len);
			return 0;
		}
		if (c->len == sizeof(c->buf))
			c->len = 0;                 /* too long: dropped */
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r == 0)
			errno = 0;
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

/* Send N bytes from the memfd. */
static int
send_bytes(int fd, unsigned long long n)
{
	off_t off = 0;

	while (n > 0) {
		size_t chunk = n < (unsigned long long)(SRC_SIZE - off) ? (size_t)n : (size_t)(SRC_SIZE - off);
		ssize_t w = sendfile(fd, src_fd, &off, chunk);

		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return -1;
		}
		n -= (unsigned long long)w;
		if (off == SRC_SIZE)
			off = 0;
	}
	return 0;
}

/* Read to EOF without copying; the byte count, or -1. */
static long long
swallow(int fd)
{
	long long total = 0;

	for (;;) {
		ssize_t r = recv(fd, sinkbuf, sizeof(sinkbuf), MSG_TRUNC);

		if (r == 0)
			return total;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		total += r;
	}
}

static void
close_pasv(struct conn *c)
{
	if (c->pasv_fd >= 0)
		close(c->pasv_fd);
	c->pasv_fd = -1;
}

/* The data connection for the current transfer, or -1. */
static int
data_open(struct conn *c)
{
	int fd;

	if (c->pasv_fd >= 0) {
		struct pollfd p = { c->pasv_fd, POLLIN, 0 };

		if (poll(&p, 1, TIMEOUT_S * 1000) != 1) {
			close_pasv(c);
			return -1;
		}
		fd = accept4(c->pasv_fd, NULL, NULL, SOCK_CLOEXEC);
		close_pasv(c);
	} else if (c->port_len > 0) {
		fd = socket(c->port_sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		set_timeouts(fd);
		/* From the address the client reached, as FTP servers do: with
		 * several addresses on the host the route's own source could be
		 * another, which a gateway expecting the server's address (the
		 * kernel data path's mapping, an ALG) would not let through. */
		struct sockaddr_storage la;
		socklen_t ll = sizeof(la);

		if (getsockname(c->fd, (struct sockaddr *)&la, &ll) == 0) {
			if (la.ss_family == AF_INET)
				((struct sockaddr_in *)&la)->sin_port = 0;
			else
				((struct sockaddr_in6 *)&la)->sin6_port = 0;
#ifdef IP_BIND_ADDRESS_NO_PORT
			int one = 1;   /* the port chosen at connect(), by the 4-tuple */

			(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
			if (bind(fd, (struct sockaddr *)&la, ll) == -1) {
				close(fd);
				c->port_len = 0;
				return -1;
			}
		}
		if (connect(fd, (struct sockaddr *)&c->port_sa, c->port_len) == -1) {
			close(fd);
			fd = -1;
		}
		c->port_len = 0;
	} else {
		return -1;
	}
	if (fd >= 0)
		set_timeouts(fd);
	return fd;
}

static int
do_pasv(struct conn *c, int extended)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int fd, one = 1;

	close_pasv(c);
	c->port_len = 0;
	if (getsockname(c->fd, (struct sockaddr *)&sa, &len) == -1)
		return reply(c, "425 getsockname: %s", strerror(errno));
	if (sa.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&sa)->sin6_addr)) {
		struct sockaddr_in v4 = { .sin_family = AF_INET };

		memcpy(&v4.sin_addr, (char *)&((struct sockaddr_in6 *)&sa)->sin6_addr + 12, 4);
		memset(&sa, 0, sizeof(sa));
		memcpy(&sa, &v4, sizeof(v4));
		len = sizeof(v4);
	}
	/* A port of our own range, round robin, with SO_REUSEADDR: bind(0)
	 * refuses ports that still have TIME_WAIT connections (the server
	 * closes first after RETR), and runs out at a few thousand sessions
	 * per second; an explicit bind with SO_REUSEADDR does not. */
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		return reply(c, "425 cannot open a passive port: %s", strerror(errno));
	for (int tries = 0;; tries++) {
		unsigned span = (unsigned)(pasv_hi - pasv_lo + 1);
		uint16_t port = (uint16_t)(pasv_lo + __atomic_fetch_add(&pasv_next, 1, __ATOMIC_RELAXED) % span);

		if (sa.ss_family == AF_INET)
			((struct sockaddr_in *)&sa)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&sa)->sin6_port = htons(port);
		if (bind(fd, (struct sockaddr *)&sa, len) == 0)
			break;
		if (errno != EADDRINUSE || tries == 100) {
			close(fd);
			return reply(c, "425 cannot open a passive port: %s", strerror(errno));
		}
	}
	if (listen(fd, 1) == -1 || getsockname(fd, (struct sockaddr *)&sa, &len) == -1) {
		close(fd);
		return reply(c, "425 cannot open a passive port: %s", strerror(errno));
	}
	c->pasv_fd = fd;
	if (extended)
		return reply(c, "229 Entering Extended Passive Mode (|||%u|)",
		    ntohs(((struct sockaddr_in *)&sa)->sin_port));
	if (sa.ss_family != AF_INET)
		return reply(c, "425 PASV on IPv6: use EPSV");
	if (announce.s_addr != INADDR_ANY)
		((struct sockaddr_in *)&sa)->sin_addr = announce;
	unsigned char *a = (unsigned char *)&((struct sockaddr_in *)&sa)->sin_addr;
	unsigned p = ntohs(((struct sockaddr_in *)&sa)->sin_port);
	return reply(c, "227 Entering Passive Mode (%u,%u,%u,%u,%u,%u)", a[0], a[1], a[2], a[3],
	    p >> 8, p & 255);
}

static int
do_port(struct conn *c, char *arg, int extended)
{
	struct sockaddr_storage sa;
	unsigned h[4], p[2];

	memset(&sa, 0, sizeof(sa));
	close_pasv(c);
	c->port_len = 0;
	if (!extended) {
		struct sockaddr_in *s = (struct sockaddr_in *)&sa;

		if (sscanf(arg, "%u,%u,%u,%u,%u,%u", &h[0], &h[1], &h[2], &h[3], &p[0], &p[1]) != 6)
			return reply(c, "501 bad PORT");
		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3]);
		s->sin_port = htons((uint16_t)(p[0] << 8 | p[1]));
		c->port_len = sizeof(*s);
	} else {
		/* |1|198.51.100.2|40000| or |2|2001:db8::2|40000| */
		char d = arg[0], *f[4] = { 0 };
		int i = 0;

		for (char *s = arg; *s != '\0' && i < 4; s++)
			if (*s == d) {
				*s = '\0';
				f[i++] = s + 1;
			}
		if (i < 4)
			return reply(c, "501 bad EPRT");
		if (strcmp(f[0], "1") == 0) {
			struct sockaddr_in *s = (struct sockaddr_in *)&sa;

			s->sin_family = AF_INET;
			s->sin_port = htons((uint16_t)atoi(f[2]));
			if (inet_pton(AF_INET, f[1], &s->sin_addr) != 1)
				return reply(c, "501 bad EPRT address");
			c->port_len = sizeof(*s);
		} else {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&sa;

			s->sin6_family = AF_INET6;
			s->sin6_port = htons((uint16_t)atoi(f[2]));
			if (inet_pton(AF_INET6, f[1], &s->sin6_addr) != 1)
				return reply(c, "501 bad EPRT address");
			c->port_len = sizeof(*s);
		}
	}
	c->port_sa = sa;
	return reply(c, "200 %s command successful", extended ? "EPRT" : "PORT");
}

static int
do_xfer(struct conn *c, const char *verb, const char *arg)
{
	int fd;

	if (strcasecmp(verb, "RETR") == 0) {
		const char *d = arg;

		while (*d != '\0' && (*d < '0' || *d > '9'))
			d++;
		if (*d == '\0') {
			close_pasv(c);
			c->port_len = 0;
			return reply(c, "550 %s: no size in the name", arg);
		}
		unsigned long long n = strtoull(d, NULL, 10);
		if ((fd = data_open(c)) < 0)
			return reply(c, "425 cannot open the data connection");
		if (reply(c, "150 Opening BINARY mode data connection for %s (%llu bytes)", arg, n) < 0) {
			close(fd);
			return -1;
		}
		int rc = send_bytes(fd, n);
		close(fd);
		return rc < 0 ? reply(c, "426 transfer aborted: %s", strerror(errno)) :
		    reply(c, "226 Transfer complete, %llu bytes sent", n);
	}
	if (strcasecmp(verb, "STOR") == 0) {
		if ((fd = data_open(c)) < 0)
			return reply(c, "425 cannot open the data connection");
		if (reply(c, "150 Ok to send data") < 0) {
			close(fd);
			return -1;
		}
		long long n = swallow(fd);
		close(fd);
		return n < 0 ? reply(c, "426 transfer aborted: %s", strerror(errno)) :
		    reply(c, "226 Transfer complete, %lld bytes received", n);
	}
	/* LIST, NLST, MLSD: an empty listing. */
	if ((fd = data_open(c)) < 0)
		return reply(c, "425 cannot open the data connection");
	reply(c, "150 Here comes the directory listing");
	close(fd);
	return reply(c, "226 Directory send OK");
}

static void
ftp_session(struct conn *c)
{
	char line[1024];

	if (reply(c, "220 ftpsrv (ftpgw benchmark) ready") < 0)
		return;
	while (get_line(c, line, sizeof(line)) == 0) {
		char *arg = strchr(line, ' ');
		int rc;

		if (arg != NULL)
			*arg++ = '\0';
		else
			arg = line + strlen(line);
		if (strcasecmp(line, "USER") == 0)
			rc = reply(c, "331 Please specify the password");
		else if (strcasecmp(line, "PASS") == 0)
			rc = reply(c, "230 Login successful");
		else if (strcasecmp(line, "NOOP") == 0)
			rc = reply(c, "200 NOOP ok");
		else if (strcasecmp(line, "SYST") == 0)
			rc = reply(c, "215 UNIX Type: L8");
		else if (strcasecmp(line, "TYPE") == 0 || strcasecmp(line, "MODE") == 0 ||
		    strcasecmp(line, "STRU") == 0 || strcasecmp(line, "OPTS") == 0)
			rc = reply(c, "200 %s ok", line);
		else if (strcasecmp(line, "PWD") == 0)
			rc = reply(c, "257 \"/\" is the current directory");
		else if (strcasecmp(line, "CWD") == 0)
			rc = reply(c, "250 Directory successfully changed");
		else if (strcasecmp(line, "FEAT") == 0)
			rc = reply(c, "211-Features:\r\n EPSV\r\n EPRT\r\n PASV\r\n SIZE\r\n211 End");
		else if (strcasecmp(line, "SIZE") == 0)
			rc = reply(c, "213 %llu", strtoull(arg + strcspn(arg, "0123456789"), NULL, 10));
		else if (strcasecmp(line, "PASV") == 0)
			rc = do_pasv(c, 0);
		else if (strcasecmp(line, "EPSV") == 0)
			rc = do_pasv(c, 1);
		else if (strcasecmp(line, "PORT") == 0)
			rc = do_port(c, arg, 0);
		else if (strcasecmp(line, "EPRT") == 0)
			rc = do_port(c, arg, 1);
		else if (strcasecmp(line, "RETR") == 0 || strcasecmp(line, "STOR") == 0 ||
		    strcasecmp(line, "LIST") == 0 || strcasecmp(line, "NLST") == 0 ||
		    strcasecmp(line, "MLSD") == 0)
			rc = do_xfer(c, line, arg);
		else if (strcasecmp(line, "ABOR") == 0)
			rc = reply(c, "225 No transfer to ABOR");
		else if (strcasecmp(line, "QUIT") == 0) {
			reply(c, "221 Goodbye");
			return;
		} else
			rc = reply(c, "502 %s not implemented", line);
		if (rc < 0) {
			fprintf(stderr, "ftpsrv: session %d: reply to %s failed: %s\n", c->fd, line, strerror(errno));
			return;
		}
	}
	if (getenv("FTPSRV_DEBUG") != NULL) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);

		getpeername(c->fd, (struct sockaddr *)&peer, &len);
		fprintf(stderr, "ftpsrv: session port %u ended: %s\n", ntohs(peer.sin_port), strerror(errno));
	}
}

static void
raw_session(struct conn *c)
{
	char line[64];
	unsigned long long n;

	if (get_line(c, line, sizeof(line)) < 0 || sscanf(line + 1, "%llu", &n) != 1)
		return;
	if (line[0] == 'R') {
		if (c->len > 0)
			return;
		(void)send_bytes(c->fd, n);
	} else if (line[0] == 'S') {
		long long got = (long long)c->len, more = swallow(c->fd);
		char out[32];

		if (more < 0)
			return;
		got += more;
		int k = snprintf(out, sizeof(out), "%lld\n", got);
		(void)send(c->fd, out, (size_t)k, MSG_NOSIGNAL);
	}
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;

	if (c->raw)
		raw_session(c);
	else
		ftp_session(c);
	close_pasv(c);
	close(c->fd);
	free(c);
	return NULL;
}

struct listener {
	int fd, raw;
};

static void *
accept_main(void *arg)
{
	struct listener *l = arg;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 << 10);
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
				fprintf(stderr, "ftpsrv: accept: %s\n", strerror(errno));
			if (errno != EINTR && errno != ECONNABORTED)
				usleep(10000);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->raw = l->raw;
		c->pasv_fd = -1;
		set_timeouts(fd);
		/* Replies are small writes that may follow one another (150, then
		 * 226): without TCP_NODELAY the second waits for the client's
		 * delayed ACK, 40 ms. Not on the raw port: it carries bulk data,
		 * like the FTP data connections. */
		if (!l->raw)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		int rc = pthread_create(&t, &attr, conn_main, c);
		if (rc != 0) {
			/* Threads are tasks: kernel.pid_max and kernel.threads-max
			 * are shared with everything else on the machine. */
			fprintf(stderr, "ftpsrv: pthread_create failed, connection closed: %s\n", strerror(rc));
			close(fd);
			free(c);
		}
	}
	return NULL;
}

static int
listen_on(const char *addr, int port)
{
	struct sockaddr_storage sa;
	socklen_t len;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&sa;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &s->sin6_addr) != 1)
			die("bad address %s", addr);
		len = sizeof(*s);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)&sa;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &s->sin_addr) != 1)
			die("bad address %s", addr);
		len = sizeof(*s);
	}
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		die("socket");
	if (sa.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 0 }, sizeof(int));
	if (bind(fd, (struct sockaddr *)&sa, len) == -1)
		die("bind %s port %d", addr, port);
	if (listen(fd, 4096) == -1)
		die("listen");
	return fd;
}

int
main(int argc, char **argv)
{
	const char *ports = NULL, *bindaddr = "::";
	int rawport = 0, opt, n = 0;
	struct listener ls[16];
	struct rlimit rl;
	pthread_t t;

	while ((opt = getopt(argc, argv, "p:r:b:P:A:")) != -1) {
		switch (opt) {
		case 'P':
			if (sscanf(optarg, "%d-%d", &pasv_lo, &pasv_hi) != 2 || pasv_lo < 1 ||
			    pasv_hi > 65535 || pasv_lo > pasv_hi) {
				fprintf(stderr, "ftpsrv: bad passive range %s\n", optarg);
				return 2;
			}
			break;
		case 'p': ports = optarg; break;
		case 'r': rawport = atoi(optarg); break;
		case 'b': bindaddr = optarg; break;
		case 'A':
			if (inet_pton(AF_INET, optarg, &announce) != 1) {
				fprintf(stderr, "ftpsrv: bad -A address %s\n", optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: ftpsrv -p PORT[,PORT...] [-r RAWPORT] [-b ADDR] [-P LO-HI] [-A ADDR]\n");
			return 2;
		}
	}
	if (ports == NULL) {
		fprintf(stderr, "usage: ftpsrv -p PORT[,PORT...] [-r RAWPORT] [-b ADDR] [-P LO-HI] [-A ADDR]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	src_fd = memfd_create("ftpsrv-src", MFD_CLOEXEC);
	if (src_fd < 0 || ftruncate(src_fd, SRC_SIZE) == -1)
		die("memfd");
	{
		/* Real pages (not holes), with a pattern. */
		char *m = mmap(NULL, SRC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, src_fd, 0);

		if (m == MAP_FAILED)
			die("mmap");
		for (size_t i = 0; i < SRC_SIZE; i++)
			m[i] = (char)('a' + i % 26);
		munmap(m, SRC_SIZE);
	}
	for (char *p = strtok((char *)ports, ","); p != NULL && n < 15; p = strtok(NULL, ",")) {
		ls[n].fd = listen_on(bindaddr, atoi(p));
		ls[n].raw = 0;
		n++;
	}
	if (rawport > 0) {
		ls[n].fd = listen_on(bindaddr, rawport);
		ls[n].raw = 1;
		n++;
	}
	for (int i = 0; i < n; i++)
		if (pthread_create(&t, NULL, accept_main, &ls[i]) != 0)
			die("pthread_create");
	fprintf(stderr, "ftpsrv: listening on %s ports %s, raw %d\n", bindaddr, ports, rawport);
	for (;;)
		pause();
}

/* ftpload.c: the benchmark's load generator (threads, blocking sockets).
 * Every mode prints one line of KEY=VALUE on stdout and exits 0, or prints
 * what went wrong on stderr and exits 1: a short transfer, a refused or
 * failed session, an unexpected reply, a timeout (60 s per socket call).
 *
 *   ftpload xfer -H HOST -p PORT -d retr|stor -m pasv|epsv|port|eprt -s BYTES [-n STREAMS]
 *       STREAMS sessions (1 to 4096) log in and open their data connections,
 *       then all transfer BYTES each at once.
 *       -> bytes= secs= (until the last stream's end) cpu_s= (its own CPU)
 *          fastest_s= (the fastest stream's own time: near secs when the
 *          streams were served evenly)
 *   ftpload raw -H HOST -p PORT -d retr|stor -s BYTES [-n STREAMS]
 *       the same without FTP, against ftpsrv's raw port (or a relay of it).
 *   ftpload rate -H HOST -p PORT -c CONCURRENCY -t SECONDS [-s BYTES] [-R]
 *       sessions back to back: connect, USER, PASS, PASV, RETR BYTES, QUIT.
 *                                                -> sessions= secs= rate= p50_ms= p99_ms=
 *       -R: a PASV data connection refused (ECONNREFUSED) abandons that
 *       session (counted, not in sessions=) instead of failing the run;
 *       any other error still fails.                 -> ... refused=
 *   ftpload rawrate -H HOST -p PORT -c CONCURRENCY -t SECONDS [-s BYTES]
 *       the same rate with one raw connection per "session" ("R BYTES" to
 *       ftpsrv's raw port, or through minirelay): the connection-rate
 *       ceiling of a userspace relay.
 *   ftpload idle -H HOST -p PORT -N SESSIONS [-j THREADS] [-G PID,PID...]
 *       opens SESSIONS logged-in sessions (16 threads), sums VmRSS of the PIDs
 *       before and after, then runs PASV + RETR 1024 (byte count and 226
 *       checked) on every one of them, THREADS at a time (default 16, one
 *       data connection each), then QUITs all (221 and the server's close).
 *                                                -> sessions= rss_before_kib= rss_after_kib=
 *                                                   kib_per_session= all_ok= check_secs= ...
 *   ftpload noop -H HOST -p PORT [-n COUNT]
 *       COUNT NOOP round trips on one session.  -> n= p50_us= p99_us= mean_us=
 *
 * Common options: -U USER:PASSWORD (default bench:bench; ftpsrv takes any).
 * Data is never copied to user space: RETR reads with recv(MSG_TRUNC), STOR
 * sends with sendfile(2) from a memfd.
 * Build: cc -O2 -pthread -o ftpload ftpload.c -lm (it includes ftpload_sessions.c) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SRC_SIZE (16 << 20)
#define TIMEOUT_S 60

static struct sockaddr_storage server;
static socklen_t server_len;
static int src_fd = -1;
static char sinkbuf[1 << 20];

/* options */
static const char *opt_dir = "retr", *opt_mode = "pasv", *opt_pids = "";
static char opt_user[64] = "bench", opt_pass[64] = "bench";
static unsigned long long opt_size = 1024;
static int opt_n = 1, opt_conc = 1, opt_sessions = 100, opt_check_threads = 16;
static double opt_secs = 4;
static int opt_refused_ok;         /* -R */
static int refused_n;              /* sessions abandoned for it (atomic) */

struct ctl {
	int fd;
	size_t len;
	char buf[4096];
	char last[1024];     /* the last reply line */
};

/* The idle session a thread is working on (-1: none), named by fail(). */
static _Thread_local int cur_session = -1;
static const char *cur_phase = "";

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ftpload: FAIL: ");
	if (cur_session >= 0)
		fprintf(stderr, "%s, session %d of %d: ", cur_phase, cur_session + 1, opt_sessions);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
	_exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
set_timeouts(int fd)
{
	struct timeval tv = { TIMEOUT_S, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
connect_sa(const struct sockaddr *sa, socklen_t len, const char *what)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fail("%s: socket: %s", what, strerror(errno));
	set_timeouts(fd);
	if (connect(fd, sa, len) == -1) {
		if (errno == ECONNREFUSED && opt_refused_ok && strcmp(what, "PASV data") == 0) {
			close(fd);
			return -1;
		}
		fail("%s: connect: %s", what, strerror(errno));
	}
	return fd;
}

static void
ctl_send(struct ctl *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	memcpy(line + n, "\r\n", 2);
	if (send(c->fd, line, (size_t)n + 2, MSG_NOSIGNAL) != n + 2)
		fail("sending %.*s: %s", n, line, strerror(errno));
}

static int
ctl_line(struct ctl *c, char *line, size_t size)
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
			fail("control line longer than %zu bytes", sizeof(c->buf));
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r == 0) {
			errno = 0;
			return -1;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->len += (size_t)r;
	}
}

/* The reply's code (its last line in c->last); fails unless it is WANT
 * (0: any). */
static int
ctl_reply(struct ctl *c, int want, const char *after)
{
	char line[1024];
	int code;

	if (ctl_line(c, line, sizeof(line)) < 0)
	{
		struct sockaddr_storage me;
		socklen_t len = sizeof(me);
		int e = errno;

		getsockname(c->fd, (struct sockaddr *)&me, &len);
		fail("after %s: control connection (local port %u) %s", after,
		    ntohs(((struct sockaddr_in *)&me)->sin_port),
		    e ? strerror(e) : "closed by the peer");
	}
	code = atoi(line);
	if (strlen(line) >= 4 && line[3] == '-') {
		char end[5];

		memcpy(end, line, 3);
		end[3] = ' ';
		end[4] = '\0';
		do {
			if (ctl_line(c, line, sizeof(line)) < 0)
				fail("after %s: control connection closed in a multi-line reply", after);
		} while (strncmp(line, end, 4) != 0);
	}
	snprintf(c->last, sizeof(c->last), "%s", line);
	if (want != 0 && code != want)
		fail("after %s: expected %d, got \"%s\"", after, want, line);
	return code;
}

static void
ctl_open(struct ctl *c)
{
	int one = 1;

	c->len = 0;
	c->fd = connect_sa((struct sockaddr *)&server, server_len, "control");
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ctl_reply(c, 220, "connect");
	ctl_send(c, "USER %s", opt_user);
	if (ctl_reply(c, 0, "USER") == 331) {
		ctl_send(c, "PASS %s", opt_pass);
		ctl_reply(c, 230, "PASS");
	} else if (atoi(c->last) != 230)
		fail("after USER: got \"%s\"", c->last);
}

/* Data connection setup before the transfer command: connected (pasv,
 * epsv) or a listener (port, eprt). */
struct data {
	int fd, listening;
};

static struct data
data_prepare(struct ctl *c, const char *mode)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	struct data d = { -1, 0 };

	if (strcmp(mode, "pasv") == 0) {
		unsigned h[4], p[2];
		struct sockaddr_in s = { .sin_family = AF_INET };
		char *q;

		ctl_send(c, "PASV");
		ctl_reply(c, 227, "PASV");
		q = strchr(c->last, '(');
		if (q == NULL || sscanf(q + 1, "%u,%u,%u,%u,%u,%u", &h[0], &h[1], &h[2], &h[3], &p[0], &p[1]) != 6)
			fail("bad 227 reply: %s", c->last);
		s.sin_addr.s_addr = htonl(h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3]);
		s.sin_port = htons((uint16_t)(p[0] << 8 | p[1]));
		d.fd = connect_sa((struct sockaddr *)&s, sizeof(s), "PASV data");
	} else if (strcmp(mode, "epsv") == 0) {
		unsigned port;
		char *q;

		ctl_send(c, "EPSV");
		ctl_reply(c, 229, "EPSV");
		q = strstr(c->last, "(|||");
		if (q == NULL || sscanf(q + 4, "%u", &port) != 1)
			fail("bad 229 reply: %s", c->last);
		sa = server;
		if (sa.ss_family == AF_INET)
			((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
		else
			((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
		d.fd = connect_sa((struct sockaddr *)&sa, server_len, "EPSV data");
	} else if (strcmp(mode, "port") == 0 || strcmp(mode, "eprt") == 0) {
		char host[INET6_ADDRSTRLEN];
		unsigned port;

		if (getsockname(c->fd, (struct sockaddr *)&sa, &len) == -1)
			fail("getsockname: %s", strerror(errno));
		if (sa.ss_family == AF_INET)
			((struct sockaddr_in *)&sa)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&sa)->sin6_port = 0;
		d.fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (d.fd < 0 || bind(d.fd, (struct sockaddr *)&sa, len) == -1 || listen(d.fd, 1) == -1 ||
		    getsockname(d.fd, (struct sockaddr *)&sa, &len) == -1)
			fail("PORT listener: %s", strerror(errno));
		d.listening = 1;
		if (sa.ss_family == AF_INET) {
			unsigned char *a = (unsigned char *)&((struct sockaddr_in *)&sa)->sin_addr;

			port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
			inet_ntop(AF_INET, a, host, sizeof(host));
			if (mode[0] == 'p')
				ctl_send(c, "PORT %u,%u,%u,%u,%u,%u", a[0], a[1], a[2], a[3], port >> 8, port & 255);
			else
				ctl_send(c, "EPRT |1|%s|%u|", host, port);
		} else {
			port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host, sizeof(host));
			ctl_send(c, "EPRT |2|%s|%u|", host, port);
		}
		ctl_reply(c, 200, mode[0] == 'p' ? "PORT" : "EPRT");
	} else {
		fail("unknown data mode %s", mode);
	}
	return d;
}

/* After the 150: the connected data socket. */
static int
data_ready(struct data *d)
{
	if (d->listening) {
		struct pollfd p = { d->fd, POLLIN, 0 };
		int fd;

		if (poll(&p, 1, TIMEOUT_S * 1000) != 1)
			fail("active mode: no data connection within %d s", TIMEOUT_S);
		fd = accept4(d->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			fail("active mode: accept: %s", strerror(errno));
		close(d->fd);
		set_timeouts(fd);
		d->fd = fd;
		d->listening = 0;
	}
	return d->fd;
}

static unsigned long long
sink_all(int fd, const char *what)
{
	unsigned long long total = 0;

	for (;;) {
		ssize_t r = recv(fd, sinkbuf, sizeof(sinkbuf), MSG_TRUNC);

		if (r == 0)
			return total;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fail("%s: receiving after %llu bytes: %s", what, total, strerror(errno));
		}
		total += (unsigned long long)r;
	}
}

static void
source_all(int fd, unsigned long long n, const char *what)
{
	off_t off = 0;
	unsigned long long left = n;

	while (left > 0) {
		size_t chunk = left < (unsigned long long)(SRC_SIZE - off) ? (size_t)left : (size_t)(SRC_SIZE - off);
		ssize_t w = sendfile(fd, src_fd, &off, chunk);

		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			fail("%s: sending after %llu of %llu bytes: %s", what, n - left, n,
			    w < 0 ? strerror(errno) : "sendfile returned 0");
		}
		left -= (unsigned long long)w;
		if (off == SRC_SIZE)
			off = 0;
	}
}

/* RETR or STOR of N bytes on a prepared data connection; checks the count. */
static void
transfer(struct ctl *c, struct data *d, int retr, unsigned long long n)
{
	if (retr) {
		ctl_send(c, "RETR zero-%llu", n);
		ctl_reply(c, 150, "RETR");
		unsigned long long got = sink_all(data_ready(d), "RETR data");
		close(d->fd);
		ctl_reply(c, 226, "RETR data");
		if (got != n)
			fail("short RETR: %llu of %llu bytes", got, n);
	} else {
		ctl_send(c, "STOR bench-upload");
		ctl_reply(c, 150, "STOR");
		source_all(data_ready(d), n, "STOR data");
		close(d->fd);
		ctl_reply(c, 226, "STOR data");
		char *q = strstr(c->last, ", ");
		if (q == NULL || strtoull(q + 2, NULL, 10) != n)
			fail("short STOR: the server says \"%s\", %llu bytes were sent", c->last, n);
	}
}

static void
ctl_quit(struct ctl *c)
{
	char line[256];

	ctl_send(c, "QUIT");
	ctl_reply(c, 221, "QUIT");
	/* The server closes first: no TIME_WAIT on the client's ports. */
	while (ctl_line(c, line, sizeof(line)) == 0)
		;
	close(c->fd);
}

/* ------------------------------------------------------------ xfer, raw */

static pthread_barrier_t barrier;
static int raw_mode;
static double fastest;              /* the shortest stream's time */
static pthread_mutex_t fastest_mu = PTHREAD_MUTEX_INITIALIZER;

/* A stream that started (left the barrier) at T0 has ended. */
static void
stream_ended(double t0)
{
	double t = now() - t0;

	pthread_mutex_lock(&fastest_mu);
	if (fastest == 0 || t < fastest)
		fastest = t;
	pthread_mutex_unlock(&fastest_mu);
}

static void *
stream_main(void *arg)
{
	int retr = strcmp(opt_dir, "retr") == 0;
	(void)arg;

	if (raw_mode) {
		int fd = connect_sa((struct sockaddr *)&server, server_len, "raw");
		char line[64];
		int k;

		pthread_barrier_wait(&barrier);
		double t0 = now();
		k = snprintf(line, sizeof(line), "%c %llu\n", retr ? 'R' : 'S', opt_size);
		if (send(fd, line, (size_t)k, MSG_NOSIGNAL) != k)
			fail("raw: send: %s", strerror(errno));
		if (retr) {
			unsigned long long got = sink_all(fd, "raw retr");

			if (got != opt_size)
				fail("short raw retr: %llu of %llu bytes", got, opt_size);
		} else {
			source_all(fd, opt_size, "raw stor");
			shutdown(fd, SHUT_WR);
			ssize_t r;
			size_t len = 0;
			while (len < sizeof(line) - 1 && (r = recv(fd, line + len, sizeof(line) - 1 - len, 0)) > 0)
				len += (size_t)r;
			line[len] = '\0';
			if (strtoull(line, NULL, 10) != opt_size)
				fail("short raw stor: the server counted \"%.20s\" of %llu bytes", line, opt_size);
		}
		stream_ended(t0);
		close(fd);
		return NULL;
	}
	struct ctl *c = calloc(1, sizeof(*c));
	ctl_open(c);
	ctl_send(c, "TYPE I");
	ctl_reply(c, 200, "TYPE I");
	struct data d = data_prepare(c, opt_mode);
	pthread_barrier_wait(&barrier);
	double t0 = now();
	transfer(c, &d, retr, opt_size);
	stream_ended(t0);
	ctl_quit(c);
	free(c);
	return NULL;
}

static void
run_streams(void)
{
	pthread_t *t;
	pthread_attr_t attr;
	double t0, t1;

	if (opt_n < 1 || opt_n > 4096)
		fail("1 to 4096 streams");
	if ((t = calloc((size_t)opt_n, sizeof(*t))) == NULL)
		fail("out of memory");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_barrier_init(&barrier, NULL, (unsigned)opt_n + 1);
	for (int i = 0; i < opt_n; i++)
		if (pthread_create(&t[i], &attr, stream_main, NULL) != 0)
			fail("pthread_create");
	pthread_barrier_wait(&barrier);
	t0 = now();
	for (int i = 0; i < opt_n; i++)
		pthread_join(t[i], NULL);
	t1 = now();
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("bytes=%llu secs=%.6f cpu_s=%.3f fastest_s=%.6f\n", opt_size * (unsigned long long)opt_n,
	    t1 - t0, (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, fastest);
	free(t);
}

/* rate, rawrate, idle, noop: one translation unit with this file. */
#include "ftpload_sessions.c"

/* ------------------------------------------------------------ main */

static unsigned long long
parse_size(const char *s)
{
	char *end;
	unsigned long long n = strtoull(s, &end, 10);

	switch (*end) {
	case 'k': case 'K': n <<= 10; break;
	case 'm': case 'M': n <<= 20; break;
	case 'g': case 'G': n <<= 30; break;
	case '\0': break;
	default: fail("bad size %s", s);
	}
	return n;
}

int
main(int argc, char **argv)
{
	const char *host = NULL, *port = NULL, *mode;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai;
	struct rlimit rl;
	int opt;

	if (argc < 2)
		fail("usage: ftpload xfer|raw|rate|idle|noop OPTIONS (see the source)");
	mode = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "H:p:d:m:s:n:c:t:N:j:G:U:R")) != -1) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'p': port = optarg; break;
		case 'd': opt_dir = optarg; break;
		case 'm': opt_mode = optarg; break;
		case 's': opt_size = parse_size(optarg); break;
		case 'n': opt_n = atoi(optarg); break;
		case 'c': opt_conc = atoi(optarg); break;
		case 't': opt_secs = atof(optarg); break;
		case 'N': opt_sessions = atoi(optarg); break;
		case 'j': opt_check_threads = atoi(optarg); break;
		case 'G': opt_pids = optarg; break;
		case 'R': opt_refused_ok = 1; break;
		case 'U':
			if (sscanf(optarg, "%63[^:]:%63s", opt_user, opt_pass) != 2)
				fail("-U USER:PASSWORD");
			break;
		default: fail("bad option");
		}
	}
	if (host == NULL || port == NULL)
		fail("-H HOST and -p PORT are required");
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		fail("bad address %s port %s", host, port);
	memcpy(&server, ai->ai_addr, ai->ai_addrlen);
	server_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (strcmp(opt_dir, "stor") == 0) {
		char *m;

		src_fd = memfd_create("ftpload-src", MFD_CLOEXEC);
		if (src_fd < 0 || ftruncate(src_fd, SRC_SIZE) == -1)
			fail("memfd: %s", strerror(errno));
		m = mmap(NULL, SRC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, src_fd, 0);
		if (m == MAP_FAILED)
			fail("mmap: %s", strerror(errno));
		for (size_t i = 0; i < SRC_SIZE; i++)
			m[i] = (char)('A' + i % 26);
		munmap(m, SRC_SIZE);
	}
	if (strcmp(mode, "xfer") == 0)
		run_streams();
	else if (strcmp(mode, "raw") == 0) {
		raw_mode = 1;
		run_streams();
	} else if (strcmp(mode, "rate") == 0)
		run_rate();
	else if (strcmp(mode, "rawrate") == 0) {
		rate_raw = 1;
		run_rate();
	}
	else if (strcmp(mode, "idle") == 0)
		run_idle();
	else if (strcmp(mode, "noop") == 0)
		run_noop();
	else
		fail("unknown mode %s", mode);
	fflush(stdout);
	_exit(0);
}

/* minirelay.c: the smallest useful TCP relay, the ceiling for any userspace
 * relay in the benchmark. Accepts on LISTEN, connects to UPSTREAM, and
 * splices both directions through 1 MiB pipes in one poll() loop; EOF on one
 * side becomes shutdown(SHUT_WR) on the other; a connection is closed when
 * both directions have ended. No FTP. -P N runs N such loops as N processes
 * sharing the listening socket (like ftpgw's workers). -u USER switches to
 * USER (its uid and gid, no supplementary groups) once the socket listens:
 * then the kernel's per-user pipe budget (fs.pipe-user-pages-soft) applies,
 * and beyond it every new pipe has 8 KiB whatever F_SETPIPE_SZ asks, which
 * this relay, unlike ftpgw, takes as it is. Whenever its last connection
 * has closed, it logs on stderr the sizes of the pipes it got since the
 * previous time ("minirelay PID: 2000 pipes: 64 x 1048576 B, 1936 x 8192 B").
 * -R LO-HI also relays each port of LO-HI on LISTEN-ADDR to the same port
 * on UPSTREAM-ADDR: with an FTP server that announces LISTEN-ADDR in its
 * 227 replies and passive ports in LO-HI, it carries whole FTP sessions,
 * control and data, without an ALG. The listeners sit in one epoll set,
 * polled as one descriptor, so 256 of them cost a wakeup no more than one.
 *
 * Usage: minirelay [-P N] [-u USER] [-R LO-HI] LISTEN-ADDR PORT UPSTREAM-ADDR PORT   (IPv4)
 * Build: cc -O2 -o minirelay minirelay.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIPE_SIZE (1 << 20)
#define MAXC 4096
#define MAXL 1024                   /* listeners: PORT and the -R range */

struct dir { int in, out, p[2]; size_t held, size; int eof, shut; };
struct conn { struct dir d[2]; int fd[2]; };   /* d[0]: fd[0] -> fd[1] */

static struct conn *conns[MAXC];
static struct { int fd; struct sockaddr_in up; } lis[MAXL];
static int nlis;
static int nslots;                  /* conns[nslots..] are all NULL */
static struct { size_t size; long n; } sizes[8];   /* pipes since idle, by size */

static void
count_pipe(size_t size)
{
	for (int i = 0; i < 8; i++)
		if (sizes[i].n == 0 || sizes[i].size == size) {
			sizes[i].size = size;
			sizes[i].n++;
			return;
		}
}

/* The last connection has closed: the pipe sizes since the last time. */
static void
report_pipes(void)
{
	char line[512];
	long total = 0;
	int k = 0;

	for (int i = 0; i < 8 && sizes[i].n > 0; i++)
		total += sizes[i].n;
	k += snprintf(line + k, sizeof(line) - (size_t)k, "minirelay %d: %ld pipes:", (int)getpid(), total);
	for (int i = 0; i < 8 && sizes[i].n > 0 && k < (int)sizeof(line); i++)
		k += snprintf(line + k, sizeof(line) - (size_t)k, "%s %ld x %zu B", i ? "," : "",
		    sizes[i].n, sizes[i].size);
	fprintf(stderr, "%s\n", line);
	memset(sizes, 0, sizeof(sizes));
}

static int
sa_of(const char *a, const char *p, struct sockaddr_in *s)
{
	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	s->sin_port = htons((unsigned short)atoi(p));
	return inet_pton(AF_INET, a, &s->sin_addr) == 1 ? 0 : -1;
}

static void
conn_free(int i)
{
	struct conn *c = conns[i];

	for (int k = 0; k < 2; k++) {
		close(c->fd[k]);
		close(c->d[k].p[0]);
		close(c->d[k].p[1]);
	}
	free(c);
	conns[i] = NULL;
	while (nslots > 0 && conns[nslots - 1] == NULL)
		nslots--;
	if (nslots == 0)
		report_pipes();
}

/* One direction: write out what the pipe holds, then read more, until the
 * source is empty (EAGAIN), the sink is full (EAGAIN: the poll loop waits
 * for POLLOUT, and reads only once the pipe is empty again), or 16 rounds
 * have passed, so one stream cannot starve the others. Reading only into an
 * empty pipe sidesteps splice's ambiguous EAGAIN (socket empty, or pipe
 * slots full while bytes are below capacity). -1 on a socket error. */
static int
pump(struct dir *d)
{
	ssize_t n;

	for (int round = 0; round < 16; round++) {
		while (d->held > 0) {
			n = splice(d->p[0], NULL, d->out, NULL, d->held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0)
				d->held -= (size_t)n;
			else if (n < 0 && errno == EAGAIN)
				return 0;
			else
				return -1;
		}
		if (d->eof)
			break;
		n = splice(d->in, NULL, d->p[1], NULL, d->size, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			d->held += (size_t)n;
		else if (n == 0)
			d->eof = 1;
		else if (errno == EAGAIN)
			break;
		else
			return -1;
	}
	if (d->eof && d->held == 0 && !d->shut) {   /* everything before EOF is out */
		shutdown(d->out, SHUT_WR);
		d->shut = 1;
	}
	return 0;
}

/* Every pending connection on listener L at once: 1000 clients that
 * connect together are all relayed together. */
static void
accept_all(int l)
{
	for (;;) {
		int a = accept4(lis[l].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), b, slot;

		if (a < 0)
			break;
		for (slot = 0; slot < MAXC && conns[slot] != NULL; slot++)
			;
		b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct conn *c = calloc(1, sizeof(*c));
		if (slot == MAXC || b < 0 || c == NULL ||
		    connect(b, (struct sockaddr *)&lis[l].up, sizeof(lis[l].up)) < 0) {
			perror("minirelay: upstream");
			close(a);
			if (b >= 0)
				close(b);
			free(c);
			continue;
		}
		fcntl(b, F_SETFL, O_NONBLOCK);
		/* No Nagle: a relayed FTP reply behind an unacknowledged one
		 * would wait for a delayed ACK (40 ms a session at 1 client). */
		setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		c->fd[0] = a;
		c->fd[1] = b;
		for (int k = 0; k < 2; k++) {
			struct dir *d = &c->d[k];

			d->in = c->fd[k];
			d->out = c->fd[1 - k];
			if (pipe2(d->p, O_NONBLOCK | O_CLOEXEC) < 0) {
				perror("minirelay: pipe");
				exit(1);
			}
			fcntl(d->p[1], F_SETPIPE_SZ, PIPE_SIZE);
			d->size = (size_t)fcntl(d->p[1], F_GETPIPE_SZ);
			count_pipe(d->size);
		}
		conns[slot] = c;
		if (slot >= nslots)
			nslots = slot + 1;
	}
}

static void
relay_loop(void)
{
	static struct pollfd pfd[1 + 2 * MAXC];
	static int who[1 + 2 * MAXC];
	/* This process's own epoll set of the (shared) listeners. */
	int lep = epoll_create1(EPOLL_CLOEXEC);

	for (int l = 0; l < nlis; l++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)l };

		if (lep < 0 || epoll_ctl(lep, EPOLL_CTL_ADD, lis[l].fd, &ev) < 0) {
			perror("minirelay: epoll");
			exit(1);
		}
	}
	for (;;) {
		int n = 1;

		pfd[0] = (struct pollfd){ lep, POLLIN, 0 };
		for (int i = 0; i < nslots; i++) {
			struct conn *c = conns[i];

			if (c == NULL)
				continue;
			for (int k = 0; k < 2; k++) {
				struct dir *in = &c->d[k], *out = &c->d[1 - k];   /* fd[k] is in's source, out's sink */
				short ev = 0;

				if (!in->eof && in->held == 0)
					ev |= POLLIN;
				if (out->held > 0)
					ev |= POLLOUT;
				/* No interest: left out (-1), or POLLHUP would spin. */
				pfd[n] = (struct pollfd){ ev ? c->fd[k] : -1, ev, 0 };
				who[n++] = i;
			}
		}
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("minirelay: poll");
			exit(1);
		}
		for (int j = 1; j < n; j++) {
			int i = who[j], k = (j - 1) % 2, rc = 0;    /* entry j is conns[i]->fd[k] */
			short re = pfd[j].revents;

			if (re == 0 || conns[i] == NULL)
				continue;
			struct conn *c = conns[i];
			if (re & (POLLIN | POLLHUP))
				rc |= pump(&c->d[k]);             /* fd[k] is d[k]'s source */
			if (re & POLLOUT)
				rc |= pump(&c->d[1 - k]);         /* and d[1-k]'s sink */
			if ((re & POLLERR) || rc < 0 || (c->d[0].shut && c->d[1].shut))
				conn_free(i);
		}
		if (pfd[0].revents & POLLIN) {
			struct epoll_event ev[64];
			int k = epoll_wait(lep, ev, 64, 0);

			for (int e = 0; e < k; e++)
				accept_all((int)ev[e].data.u32);
		}
	}
}

/* A listener on ADDR:PORT relayed to UP (its port already set). */
static int
add_listener(const struct sockaddr_in *addr, int port, const struct sockaddr_in *up)
{
	struct sockaddr_in ls = *addr;
	int fd, one = 1;

	ls.sin_port = htons((unsigned short)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (nlis == MAXL || fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ls, sizeof(ls)) < 0 || listen(fd, 1024) < 0) {
		fprintf(stderr, "minirelay: listen on port %d: %s\n", port, strerror(errno));
		return -1;
	}
	lis[nlis].fd = fd;
	lis[nlis].up = *up;
	nlis++;
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in ls, up;
	int procs = 1, opt, lo = 0, hi = -1;
	const char *user = NULL;

	while ((opt = getopt(argc, argv, "P:u:R:")) != -1) {
		if (opt == 'P')
			procs = atoi(optarg);
		else if (opt == 'u')
			user = optarg;
		else if (opt != 'R' || sscanf(optarg, "%d-%d", &lo, &hi) != 2 || lo < 1 || lo > hi ||
		    hi > 65535 || hi - lo >= MAXL - 1)
			procs = 0;       /* a bad option: the usage below */
	}
	if (argc - optind != 4 || sa_of(argv[optind], argv[optind + 1], &ls) < 0 ||
	    sa_of(argv[optind + 2], argv[optind + 3], &up) < 0 || procs < 1) {
		fprintf(stderr, "usage: minirelay [-P N] [-u USER] [-R LO-HI] LISTEN-ADDR PORT UPSTREAM-ADDR PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (add_listener(&ls, ntohs(ls.sin_port), &up) < 0)
		return 1;
	for (int p = lo; p <= hi; p++) {
		struct sockaddr_in same = up;

		same.sin_port = htons((unsigned short)p);
		if (add_listener(&ls, p, &same) < 0)
			return 1;
	}
	if (user != NULL) {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL) {
			fprintf(stderr, "minirelay: no user %s\n", user);
			return 1;
		}
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
			perror("minirelay: switching user");
			return 1;
		}
		fprintf(stderr, "minirelay: running as %s (uid %u)\n", user, (unsigned)pw->pw_uid);
	}
	for (int i = 1; i < procs; i++)
		if (fork() == 0)
			break;
	relay_loop();
	return 0;
}

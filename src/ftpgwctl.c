/* ftpgwctl.c: ask a running ftpgw what it is doing, through its control
 * socket: "sessions" lists the live sessions (of every worker), "stats"
 * prints counters, "metrics" the same in Prometheus text format. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#define DEFAULT_SOCKET "/run/ftpgw/ftpgw.sock"
/* The longest pause in an answer (SO_RCVTIMEO). */
#define REPLY_TIMEOUT_SEC 30

static void
usage(void)
{
	fprintf(stderr, "usage: ftpgwctl [-s socket] sessions | stats | metrics\n"
	    "  -s socket  the gateway's control-socket (default %s)\n", DEFAULT_SOCKET);
	exit(2);
}

/* Send CMD to the control socket PATH; its answer into *OUT (malloc'd,
 * NUL-terminated). Prints why and returns -1 on failure. */
static int
ask(const char *path, const char *cmd, char **out)
{
	struct sockaddr_un sun;
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_SEC };
	size_t len = 0, got = 0;
	char buf[65536], line[64];
	ssize_t n;
	FILE *mem;
	int fd, len_line;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ftpgwctl: %s: path too long\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "ftpgwctl: %s: %s (is ftpgw running, with this control-socket?)\n",
		    path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* A gateway that does not answer (stopped, or stuck) is not waited
	 * for forever. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	len_line = snprintf(line, sizeof(line), "%s\n", cmd);
	/* MSG_NOSIGNAL: a gateway that closed at once is reported below,
	 * not a SIGPIPE. */
	if ((len_line < 0 || send(fd, line, (size_t)len_line, MSG_NOSIGNAL) != len_line) &&
	    errno != EPIPE && errno != ECONNRESET) {
		fprintf(stderr, "ftpgwctl: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	if ((mem = open_memstream(out, &len)) == NULL) {
		fprintf(stderr, "ftpgwctl: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, mem);
		got += (size_t)n;
	}
	if (got == 0 && (n == 0 || errno == ECONNRESET || errno == EPIPE)) {
		/* The gateway holds a few control connections at a time, and
		 * closes more at once. */
		fprintf(stderr, "ftpgwctl: %s: the gateway closed the connection without "
		    "answering (too many control connections at once? try again)\n", path);
		n = -1;
	} else if (n == -1)
		fprintf(stderr, "ftpgwctl: %s: %s\n", path, errno == EAGAIN ?
		    "no answer in time" : strerror(errno));
	close(fd);
	if (fclose(mem) != 0 || n == -1) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* "sessions" with several workers: each lists its own; worker 0 (PATH)
 * says how many there are, worker N answers on PATH.N. One header, then
 * every worker's sessions. */
static int
all_sessions(const char *path, const char *first)
{
	unsigned n = 1;
	const char *rest = first;

	if (sscanf(first, "# worker 0 of %u", &n) == 1)
		rest = strchr(first, '\n') != NULL ? strchr(first, '\n') + 1 : "";
	fputs(rest, stdout);
	for (unsigned i = 1; i < n; i++) {
		char sub[sizeof(((struct sockaddr_un *)0)->sun_path) + 16], *answer;
		const char *p;

		snprintf(sub, sizeof(sub), "%s.%u", path, i);
		if (ask(sub, "sessions", &answer) == -1)
			return -1;
		/* Skip its "# worker" and column header lines. */
		for (p = answer; *p == '#'; p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : "")
			;
		fputs(p, stdout);
		free(answer);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *path = DEFAULT_SOCKET, *cmd;
	char *answer;
	int ch, status = 0;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	cmd = argv[optind];
	if (strcmp(cmd, "sessions") != 0 && strcmp(cmd, "stats") != 0 &&
	    strcmp(cmd, "metrics") != 0)
		usage();
	if (ask(path, cmd, &answer) == -1)
		return 1;
	if (strcmp(cmd, "sessions") == 0)
		status = all_sessions(path, answer) == -1;
	else
		fputs(answer, stdout);
	free(answer);
	return fflush(stdout) == 0 ? status : 1;
}

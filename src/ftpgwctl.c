/* ftpgwctl.c: ask a running ftpgw what it is doing, or tell it what to do,
 * through its control socket: "sessions" lists the live sessions (of every
 * worker), "stats" prints counters, "metrics" the same in Prometheus text
 * format; "kill ID" ends a session, "drain" stops the gateway once its
 * sessions are done, "reload" re-reads its configuration, "log-level
 * LEVEL" changes how much it logs.
 *
 * Each worker has its own socket (PATH, PATH.1, ...; worker 0 says how
 * many there are): what concerns sessions or logging is asked of every
 * worker, a reload only of the first (the gateway reloads as a whole). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
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

static _Noreturn void
usage(bool asked)
{
	fprintf(asked ? stdout : stderr,
	    "usage: ftpgwctl [-s socket] command\n"
	    "       ftpgwctl -h | -V\n"
	    "  -s socket  the gateway's control-socket (default %s)\n"
	    "  -h         print this help and exit (also --help)\n"
	    "  -V         print the version and exit (also --version)\n"
	    "commands:\n"
	    "  sessions         the live sessions\n"
	    "  stats            the counters\n"
	    "  metrics          the counters, in the Prometheus text format\n"
	    "  kill ID          end session ID (the first column of sessions)\n"
	    "  drain            stop accepting; exit when the sessions have ended\n"
	    "  reload           re-read the configuration, as SIGHUP\n"
	    "  log-level LEVEL  error, warn, info or debug, until the next reload\n",
	    DEFAULT_SOCKET);
	exit(asked ? 0 : 2);
}

/* Send CMD to the control socket PATH; its answer into *OUT (malloc'd,
 * NUL-terminated). Prints why and returns -1 on failure. */
static int
ask(const char *path, const char *cmd, char **out)
{
	struct sockaddr_un sun;
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_SEC };
	size_t len = 0, got = 0;
	char buf[65536], line[128];
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

/* How many workers answer on PATH, PATH.1, ...: worker 0's answer to
 * "sessions" begins "# worker 0 of N" when there are several. */
static int
count_workers(const char *path, unsigned *n)
{
	char *answer;

	*n = 1;
	if (ask(path, "sessions", &answer) == -1)
		return -1;
	if (sscanf(answer, "# worker 0 of %u", n) != 1 || *n == 0)
		*n = 1;
	free(answer);
	return 0;
}

static void
worker_path(const char *path, unsigned i, char *out, size_t size)
{
	if (i == 0)
		snprintf(out, size, "%s", path);
	else
		snprintf(out, size, "%s.%u", path, i);
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

		worker_path(path, i, sub, sizeof(sub));
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

/* CMD to every worker; each answers one line, "ok: ..." or "error: ...".
 * Returns how many said ok, -1 when one could not be asked. With
 * QUIET_ERRORS, "error:" answers are not printed (kill: all but the
 * owner say "no such session"). */
static int
ask_all(const char *path, const char *cmd, bool quiet_errors, char **last_error)
{
	char sub[sizeof(((struct sockaddr_un *)0)->sun_path) + 16], *answer;
	unsigned n;
	int ok = 0, failed = 0;

	if (count_workers(path, &n) == -1)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		worker_path(path, i, sub, sizeof(sub));
		if (ask(sub, cmd, &answer) == -1) {
			failed = 1;
			continue;        /* the others are still told */
		}
		if (strncmp(answer, "ok:", 3) == 0) {
			ok++;
			if (n > 1)
				printf("worker %u: ", i);
			fputs(answer, stdout);
		} else if (!quiet_errors)
			fprintf(stderr, "ftpgwctl: %s: %s", sub, answer);
		if (strncmp(answer, "ok:", 3) != 0 && last_error != NULL) {
			free(*last_error);
			*last_error = answer;
		} else
			free(answer);
	}
	return failed ? -1 : ok;
}

/* One line, "ok: ..." (0) or "error: ..." (1, on stderr). */
static int
one_line(const char *path, const char *answer)
{
	if (strncmp(answer, "ok:", 3) == 0) {
		fputs(answer, stdout);
		return 0;
	}
	fprintf(stderr, "ftpgwctl: %s: %s", path, answer);
	return 1;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_SOCKET, *cmd;
	char *answer, *error = NULL, line[96];
	int ch, status = 0, ok;

	while ((ch = getopt_long(argc, argv, "s:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(true);
		case 'V':
			printf("ftpgwctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(false);
		}
	}
	if (optind >= argc)
		usage(false);
	cmd = argv[optind];
	if (strcmp(cmd, "kill") == 0 || strcmp(cmd, "log-level") == 0) {
		/* One argument, without spaces: the line is "CMD ARG". */
		if (argc - optind != 2 || argv[optind + 1][0] == '\0' ||
		    strpbrk(argv[optind + 1], " \t\r\n") != NULL ||
		    strlen(argv[optind + 1]) > 64)
			usage(false);
		snprintf(line, sizeof(line), "%s %s", cmd, argv[optind + 1]);
		if (strcmp(cmd, "kill") == 0) {
			/* Every worker is asked; the owner ends it. */
			ok = ask_all(path, line, true, &error);
			if (ok == 0 && error != NULL)
				fprintf(stderr, "ftpgwctl: %s", error);
			free(error);
			return ok > 0 ? 0 : 1;
		}
		ok = ask_all(path, line, false, NULL);
		return ok > 0 && fflush(stdout) == 0 ? 0 : 1;
	}
	if (argc - optind != 1)
		usage(false);
	if (strcmp(cmd, "drain") == 0) {
		ok = ask_all(path, cmd, false, NULL);
		return ok > 0 && fflush(stdout) == 0 ? 0 : 1;
	}
	if (strcmp(cmd, "sessions") != 0 && strcmp(cmd, "stats") != 0 &&
	    strcmp(cmd, "metrics") != 0 && strcmp(cmd, "reload") != 0)
		usage(false);
	if (ask(path, cmd, &answer) == -1)
		return 1;
	if (strcmp(cmd, "sessions") == 0)
		status = all_sessions(path, answer) == -1;
	else if (strcmp(cmd, "reload") == 0)
		status = one_line(path, answer);
	else
		fputs(answer, stdout);
	free(answer);
	return fflush(stdout) == 0 ? status : 1;
}

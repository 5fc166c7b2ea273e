/* ftpgwctl.c: ask a running ftpgw what it is doing, through its control
 * socket: "sessions" lists the live sessions, "stats" prints counters,
 * "metrics" the same in Prometheus text format. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#define DEFAULT_SOCKET "/run/ftpgw/ftpgw.sock"

static void
usage(void)
{
	fprintf(stderr, "usage: ftpgwctl [-s socket] sessions | stats | metrics\n"
	    "  -s socket  the gateway's control-socket (default %s)\n", DEFAULT_SOCKET);
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char *path = DEFAULT_SOCKET, *cmd;
	struct sockaddr_un sun;
	char buf[65536];
	ssize_t n;
	int ch, fd;

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
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ftpgwctl: %s: path too long\n", path);
		return 1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "ftpgwctl: %s: %s (is ftpgw running, with this control-socket?)\n",
		    path, strerror(errno));
		return 1;
	}
	if (dprintf(fd, "%s\n", cmd) < 0) {
		fprintf(stderr, "ftpgwctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return 1;
	if (n == -1) {
		fprintf(stderr, "ftpgwctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	return fflush(stdout) == 0 ? 0 : 1;
}

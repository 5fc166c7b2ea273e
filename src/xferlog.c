/* xferlog.c: see xferlog.h. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "xferlog.h"

void
xferlog_close(FILE **f)
{
	if (*f != NULL)
		fclose(*f);
	*f = NULL;
}

void
xferlog_reopen(FILE **f, const char *path)
{
	xferlog_close(f);
	if (path == NULL)
		return;
	if ((*f = fopen(path, "ae")) == NULL) {
		log_msg(LL_WARN, "transfer-log %s: %s", path, strerror(errno));
		return;
	}
	/* A line is written whole, and is there at once for tail -f. */
	setvbuf(*f, NULL, _IOLBF, 0);
}

void
xferlog_write(FILE *f, time_t end, long seconds, const char *client_host,
    unsigned long long bytes, const char *path, char direction, const char *user,
    bool complete)
{
	char stamp[32], name[512];
	struct tm tm;

	localtime_r(&end, &tm);
	strftime(stamp, sizeof(stamp), "%a %b %e %H:%M:%S %Y", &tm);
	/* The format is space-separated: spaces in names become '_'. */
	snprintf(name, sizeof(name), "%s", path[0] != '\0' ? path : "-");
	for (char *p = name; *p != '\0'; p++)
		if (*p == ' ')
			*p = '_';
	fprintf(f, "%s %ld %s %llu %s b _ %c r %s ftp 0 * %c\n", stamp,
	    seconds > 0 ? seconds : 1, client_host, bytes, name, direction,
	    user[0] != '\0' ? user : "-", complete ? 'c' : 'i');
}

/* xferlog.h: the transfer log (transfer-log): one line per file transfer
 * in the classic wu-ftpd xferlog format. */
#ifndef FTPGW_XFERLOG_H
#define FTPGW_XFERLOG_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

/* Close *F (unless NULL) and open PATH for appending, line-buffered, into
 * *F; PATH NULL means no log (*F NULL). A failure is logged and leaves *F
 * NULL: the gateway runs on without a transfer log. Called at start and
 * on every reload, so that logrotate's "kill -HUP" starts a new file. */
void xferlog_reopen(FILE **f, const char *path);
void xferlog_close(FILE **f);

/* One line to F: when the transfer ended, its duration, the client, the
 * size, the path, the direction ('o' download, 'i' upload), the user, and
 * whether it completed. */
void xferlog_write(FILE *f, time_t end, long seconds, const char *client_host,
    unsigned long long bytes, const char *path, char direction, const char *user,
    bool complete);

#endif

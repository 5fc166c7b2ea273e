/* ctl.h: what operators see of a running gateway: the control socket that
 * ftpgwctl talks to (one command line in, a text answer out), and the
 * optional Prometheus metrics endpoint (HTTP GET, text format 0.0.4). */
#ifndef FTPGW_CTL_H
#define FTPGW_CTL_H

#include <sys/socket.h>

struct gateway;
struct ctl;

/* The control socket at PATH (an AF_UNIX stream socket, mode 0600, its
 * directory made if missing). NULL on failure, logged. */
struct ctl *ctl_open_socket(struct gateway *gw, const char *path);
/* The metrics endpoint on ADDR. NULL on failure, logged. */
struct ctl *ctl_open_metrics(struct gateway *gw, const struct sockaddr *addr);
void ctl_close(struct ctl *ctl);

#endif

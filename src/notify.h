/* notify.h: the systemd notification protocol (sd_notify(3)), hand-rolled:
 * one datagram to $NOTIFY_SOCKET; nothing when it is unset. */
#ifndef FTPGW_NOTIFY_H
#define FTPGW_NOTIFY_H

/* STATE is e.g. "READY=1", "RELOADING=1", "STOPPING=1". */
void notify_systemd(const char *state);

#endif

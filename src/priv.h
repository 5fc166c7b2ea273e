/* priv.h: giving up root after the sockets are bound, keeping only the
 * capabilities the configured modes need for the process's whole life. */
#ifndef FTPGW_PRIV_H
#define FTPGW_PRIV_H

#include <stdbool.h>
#include <stdint.h>

struct config;

/* The capabilities CF needs after start: CAP_NET_ADMIN for tproxy (every
 * data socket of a transparent session is IP_TRANSPARENT), and
 * CAP_NET_BIND_SERVICE for ports below 1024 (listeners opened by a reload,
 * a passive range down there). As a bit mask of CAP_* numbers. */
uint64_t priv_caps_needed(const struct config *cf);

/* Become USER (its uid, gid and no supplementary groups) and keep only
 * the capabilities in KEEP, effective and permitted. On failure print why
 * to stderr and return -1. */
int priv_drop(const char *user, uint64_t keep);

/* Is capability CAP (a CAP_* number) in the effective set? */
bool priv_has_cap(int cap);

#endif

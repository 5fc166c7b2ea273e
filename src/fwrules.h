/* fwrules.h: the firewall rules a configuration needs, as "ftpgw -R" prints
 * them: an nft -f file, or a sh script of iptables, ip6tables and ip
 * commands. Pure code: it only writes to the stream it is given. */
#ifndef FTPGW_FWRULES_H
#define FTPGW_FWRULES_H

#include <stdio.h>

#include "conf.h"

enum fwrules_flavor { FWRULES_NFT, FWRULES_IPTABLES };

/* The firewall mark and the routing table of mode tproxy. */
#define FWRULES_MARK "0x1"
#define FWRULES_TABLE 100

/* Write the rules for CF to OUT: per listen section, the redirect or
 * tproxy of every control port (each port of each port-mapping), the
 * passive range where needed, and for tproxy the policy routing. The
 * output can be applied again after a change: it replaces what it
 * applied before. Returns 0, or -1 when writing to OUT failed. */
int fwrules_write(FILE *out, const struct config *cf,
    enum fwrules_flavor flavor);

#endif

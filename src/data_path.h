/* data_path.h: which data channels the kernel may forward (data-path =
 * kernel | auto): pure code, the facts in, a reason out. */
#ifndef FTPGW_DATA_PATH_H
#define FTPGW_DATA_PATH_H

#include <stdbool.h>

#include "conf.h"

struct data_path_facts {
	const char *kernel_unavailable;  /* NULL, or why this loop has no kernel path */
	bool client_tls, server_tls;     /* PROT P on that leg */
	bool client_listens, server_listens;
	int client_family, server_family;
	bool rate_limited;
	bool pasv_fixed;                 /* passive-address is an address */
};

/* NULL: forward it in the kernel. Otherwise why the relay carries it, as
 * words for the log ("TLS on the client's data connection"). */
const char *data_path_refusal(const struct data_path_facts *f);
/* Whether a listener's MODE wants the kernel path at all. */
bool data_path_wanted(enum data_path mode);
/* Whether any listener of CF wants it. */
bool data_path_config_wants(const struct config *cf);

#endif

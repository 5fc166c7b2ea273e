/* data_path.c: the kernel path's eligibility; see data_path.h. */
#include "config.h"

#include <stddef.h>

#include "data_path.h"

const char *
data_path_refusal(const struct data_path_facts *f)
{
	if (f->kernel_unavailable != NULL)
		return f->kernel_unavailable;
	/* NAT forwards bytes as they are: TLS ends at the gateway. */
	if (f->client_tls)
		return "TLS on the client's data connection";
	if (f->server_tls)
		return "TLS on the server's data connection";
	/* One connection, one direction of set-up: the initiator's SYN is
	 * redirected; two outbound or two inbound legs have no single one. */
	if (f->client_listens == f->server_listens)
		return f->client_listens ? "passive with the client, active with the server"
		    : "active with the client, passive with the server";
	if (f->client_family != f->server_family)
		return "the client and the server speak different IP versions";
	/* The mapping must name where the client's SYN arrives; behind the
	 * NAT a fixed passive-address stands for, that is not known. */
	if (f->client_listens && f->pasv_fixed)
		return "passive-address is a fixed address (where a NAT in front "
		    "delivers the data connection is not known)";
	/* The kernel keeps no bucket. */
	if (f->rate_limited)
		return "a bandwidth limit applies";
	return NULL;
}

bool
data_path_wanted(enum data_path mode)
{
	return mode == DATA_PATH_KERNEL || mode == DATA_PATH_AUTO;
}

bool
data_path_config_wants(const struct config *cf)
{
	for (size_t i = 0; i < cf->n_listens; i++)
		if (data_path_wanted(cf->listens[i].data_path))
			return true;
	return false;
}

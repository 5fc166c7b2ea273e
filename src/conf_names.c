/* conf_names.c: the words of the enum-valued configuration keys. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "conf.h"
#include "conf_names.h"

const struct word conf_listen_modes[] = {
	{ "redirect", MODE_REDIRECT },
	{ "tproxy", MODE_TPROXY },
	{ "reverse", MODE_REVERSE },
	{ "proxy", MODE_PROXY },
	{ NULL, 0 }
};

/* PASV_ADDR_FIXED has no word: it is written as an address. */
const struct word conf_pasv_kinds[] = {
	{ "original", PASV_ADDR_ORIGINAL },
	{ "local", PASV_ADDR_LOCAL },
	{ NULL, 0 }
};

const struct word conf_worker_balances[] = {
	{ "least-busy", WORKER_BALANCE_LEAST_BUSY },
	{ "hash", WORKER_BALANCE_HASH },
	{ NULL, 0 }
};

const struct word conf_data_paths[] = {
	{ "relay", DATA_PATH_RELAY },
	{ "kernel", DATA_PATH_KERNEL },
	{ "auto", DATA_PATH_AUTO },
	{ NULL, 0 }
};

const struct word conf_sdata_modes[] = {
	{ "same", SDATA_SAME },
	{ "passive", SDATA_PASSIVE },
	{ "active", SDATA_ACTIVE },
	{ NULL, 0 }
};

const struct word conf_tls_client_sides[] = {
	{ "off", TLS_CLIENT_OFF },
	{ "optional", TLS_CLIENT_OPTIONAL },
	{ "required", TLS_CLIENT_REQUIRED },
	{ NULL, 0 }
};

const struct word conf_tls_server_sides[] = {
	{ "off", TLS_SERVER_OFF },
	{ "auto", TLS_SERVER_AUTO },
	{ "required", TLS_SERVER_REQUIRED },
	{ NULL, 0 }
};

const struct word conf_tls_versions[] = {
	{ "1.2", CONF_TLS_WIRE_1_2 },
	{ "1.3", CONF_TLS_WIRE_1_3 },
	{ NULL, 0 }
};

/* conf_names.c: the words of the enum-valued configuration keys. */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <syslog.h>

#include "conf.h"
#include "conf_names.h"
#include "log.h"
#include "portmap.h"

const struct conf_name conf_log_levels[] = {
	{ "error", LL_ERROR },
	{ "warn", LL_WARN },
	{ "info", LL_INFO },
	{ "debug", LL_DEBUG },
	{ NULL, 0 }
};

/* In the order of struct config's log_facility index. */
const struct conf_name conf_log_facilities[] = {
	{ "daemon", LOG_DAEMON },
	{ "user", LOG_USER },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
	{ NULL, 0 }
};

const struct conf_name conf_listen_modes[] = {
	{ "redirect", MODE_REDIRECT },
	{ "tproxy", MODE_TPROXY },
	{ "reverse", MODE_REVERSE },
	{ NULL, 0 }
};

/* PASV_ADDR_FIXED has no word: it is written as an address. */
const struct conf_name conf_pasv_kinds[] = {
	{ "original", PASV_ADDR_ORIGINAL },
	{ "local", PASV_ADDR_LOCAL },
	{ NULL, 0 }
};

const struct conf_name conf_sdata_modes[] = {
	{ "same", SDATA_SAME },
	{ "passive", SDATA_PASSIVE },
	{ "active", SDATA_ACTIVE },
	{ NULL, 0 }
};

const struct conf_name conf_app_kinds[] = {
	{ "ftp", APP_FTP },
	{ "ftps", APP_FTPS },
	{ "tcp", APP_TCP },
	{ NULL, 0 }
};

const struct conf_name conf_tls_client_sides[] = {
	{ "off", TLS_CLIENT_OFF },
	{ "optional", TLS_CLIENT_OPTIONAL },
	{ "required", TLS_CLIENT_REQUIRED },
	{ NULL, 0 }
};

const struct conf_name conf_tls_server_sides[] = {
	{ "off", TLS_SERVER_OFF },
	{ "auto", TLS_SERVER_AUTO },
	{ "required", TLS_SERVER_REQUIRED },
	{ NULL, 0 }
};

const struct conf_name conf_tls_versions[] = {
	{ "TLSv1.2", CONF_TLS_WIRE_1_2 },
	{ "TLSv1.3", CONF_TLS_WIRE_1_3 },
	{ NULL, 0 }
};

const char *
conf_name_of(const struct conf_name *table, long value)
{
	for (const struct conf_name *n = table; n->name != NULL; n++)
		if (n->value == value)
			return n->name;
	return "?";
}

const struct conf_name *
conf_name_find(const struct conf_name *table, const char *word)
{
	if (word == NULL)
		return NULL;
	for (const struct conf_name *n = table; n->name != NULL; n++)
		if (strcmp(n->name, word) == 0)
			return n;
	return NULL;
}

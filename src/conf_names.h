/* conf_names.h: the words of every enum-valued configuration key, one table
 * per enum. The parser reads them, and so do the functions that name a
 * value in the log (log_level_name, app_kind_name, listen_mode_name): a
 * word is written once. */
#ifndef FTPGW_CONF_NAMES_H
#define FTPGW_CONF_NAMES_H

/* A word and the value it stands for; a table ends with a NULL name. */
struct conf_name {
	const char *name;
	long value;
};

extern const struct conf_name conf_log_levels[];       /* enum log_level */
extern const struct conf_name conf_log_facilities[];   /* syslog's LOG_* */
extern const struct conf_name conf_listen_modes[];     /* enum listen_mode */
extern const struct conf_name conf_pasv_kinds[];       /* the words of passive-address */
extern const struct conf_name conf_sdata_modes[];      /* enum server_data_mode */
extern const struct conf_name conf_app_kinds[];        /* enum app_kind */
extern const struct conf_name conf_tls_client_sides[]; /* enum tls_client_side */
extern const struct conf_name conf_tls_server_sides[]; /* enum tls_server_side */
extern const struct conf_name conf_tls_versions[];     /* TLS wire versions */

/* The word for VALUE in TABLE; "?" when none. */
const char *conf_name_of(const struct conf_name *table, long value);
/* The entry for WORD (case matters, as in the file); NULL when none. */
const struct conf_name *conf_name_find(const struct conf_name *table,
    const char *word);

#endif

/* conf_names.h: the words of every enum-valued configuration key, one table
 * per enum. The parser reads them, and so do the functions that name a
 * value in the log (listen_mode_name): a word is written once. The words
 * of log-level, log-facility and application are their modules' own
 * (log.h, portmap.h). */
#ifndef FTPGW_CONF_NAMES_H
#define FTPGW_CONF_NAMES_H

#include "words.h"

extern const struct word conf_listen_modes[];     /* enum listen_mode */
extern const struct word conf_pasv_kinds[];       /* the words of passive-address */
extern const struct word conf_sdata_modes[];      /* enum server_data_mode */
extern const struct word conf_data_paths[];       /* enum data_path */
extern const struct word conf_worker_balances[];  /* enum worker_balance */
extern const struct word conf_tls_client_sides[]; /* enum tls_client_side */
extern const struct word conf_tls_server_sides[]; /* enum tls_server_side */
extern const struct word conf_tls_versions[];     /* TLS wire versions */

#endif

/* conf_keys.h: every key of ftpgw.conf, declared once, in conf_keys[]: its
 * section, name, libconfuse type, default, integer range, words (for
 * enum-valued keys), where a plain value is copied in the snapshot, and a
 * line of documentation. The libconfuse option arrays, the range checks
 * and the defaults are all made from this table; the manual page and the
 * sample file are checked against it by a unit test. */
#ifndef FTPGW_CONF_KEYS_H
#define FTPGW_CONF_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "conf_names.h"

enum conf_section {
	CONF_SEC_GLOBAL,        /* outside any section */
	CONF_SEC_LISTEN,        /* listen "NAME" { }, struct listen_conf */
	CONF_SEC_PORT_MAPPING,  /* port-mapping "NAME" { }, struct portmap */
	CONF_SEC_TLS,           /* tls { }, struct tls_conf */
	CONF_SEC_RULE,          /* rule "NAME" { }, struct rule (rules.h) */
	CONF_NSECTIONS
};

enum conf_type {
	CONF_STR,               /* a string with a default */
	CONF_STR_UNSET,         /* a string without: cfg_size() 0 when unset */
	CONF_STR_LIST,          /* a list of strings with a default */
	CONF_STR_LIST_UNSET,    /* a list of strings without: cfg_size() 0 when unset */
	CONF_INT,               /* an integer in MIN..MAX */
	CONF_INT_LIST_UNSET,    /* a list of integers in MIN..MAX, no default */
	CONF_BOOL,
	CONF_ENUM               /* one of the words of VALUES, kept as its value */
};

struct conf_key {
	enum conf_section section;
	const char *name;
	enum conf_type type;
	/* The default: def_str for the string types (a list in libconfuse's
	 * syntax, {"a", "b"}), def_int for the others. */
	const char *def_str;
	long def_int;
	long min, max;                       /* the integer types */
	const struct word *values;      /* CONF_ENUM */
	/* CONF_INT, CONF_BOOL, CONF_ENUM kept as they are: where in the
	 * section's struct (field_size 0: the snapshot code reads the key
	 * itself, to check it or to convert it). */
	size_t field_offset, field_size;
	const char *doc;
};

extern const struct conf_key conf_keys[];
extern const size_t conf_nkeys;

/* The section's word in the file ("listen"); NULL for CONF_SEC_GLOBAL. */
const char *conf_section_name(enum conf_section section);
/* The key NAME of SECTION; NULL when there is none. */
const struct conf_key *conf_key_find(enum conf_section section,
    const char *name);
/* Whether K has a default value. */
bool conf_key_has_default(const struct conf_key *k);
/* K's default as it is written in ftpgw.conf: 10000, true, "info",
 * "50000-50999", {"SITE EXEC"}. Returns -1 when K has none or BUF is too
 * small. */
int conf_key_default_text(const struct conf_key *k, char *buf, size_t size);

#endif

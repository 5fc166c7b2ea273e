/* conf_int.h: what the parts of the configuration loader share: the state
 * of one load (conf.c), read by the snapshot code (conf_snap.c). Not for
 * the rest of the daemon, which sees only conf.h. */
#ifndef FTPGW_CONF_INT_H
#define FTPGW_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <confuse.h>

#include "conf.h"
#include "conf_lex.h"

/* A libconfuse section and its place in the file. */
struct sec_line {
	const cfg_t *sec;
	int section;             /* index into lex.section_lines */
};

/* The state of one config_load() call. */
struct loader {
	const char *path;
	FILE *err;
	unsigned nerrors;

	/* From the pre-lexer: where each section opens, where each key is
	 * assigned; whether the file is garbled. */
	struct conf_lex lex;

	/* Collected while libconfuse parses. */
	size_t sections_closed;  /* how many sections libconfuse has closed */
	struct sec_line *sec_lines;
	size_t nsec_lines;
};

/* Print "PATH:LINE: what" (or "PATH: what" for LINE 0) and count it. */
void conf_error(struct loader *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Out of memory, reported like any other error so the load fails cleanly.
 * Returns false so callers can "return conf_oom(ld)". */
bool conf_oom(struct loader *ld);
/* The line where SEC opens; 0 for the root (no line: "FILE: what"). */
int conf_section_line(const struct loader *ld, const cfg_t *sec);
/* The line of the last "NAME = " in SEC, or where SEC opens when NAME was
 * left at its default. */
int conf_option_line(const struct loader *ld, cfg_t *sec, const char *name);

/* Pass 3 (conf_snap.c): copy every value out of CFG into a new snapshot
 * and check every semantic rule; NULL when anything is wrong (reported). */
struct config *conf_snapshot(struct loader *ld, cfg_t *cfg);
/* conf_rules.c: the rule sections into CF->rules (default-action is
 * copied with the globals). False only when out of memory. */
bool conf_snap_rules(struct loader *ld, cfg_t *cfg, struct config *cf);

#endif

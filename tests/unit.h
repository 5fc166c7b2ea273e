/* unit.h: the check suites of the unit test runner, one per pure module, and
 * balance, which loads its eBPF program into the running kernel. */
#ifndef FTPGW_TESTS_UNIT_H
#define FTPGW_TESTS_UNIT_H

#include <check.h>

Suite *suite_addr(void);
Suite *suite_balance(void);
Suite *suite_conf(void);
Suite *suite_conf_keys(void);
Suite *suite_engine(void);
Suite *suite_ftp_proto(void);
Suite *suite_fwrules(void);
Suite *suite_portmap(void);
Suite *suite_portpool(void);
Suite *suite_upstream(void);
Suite *suite_ratelimit(void);
Suite *suite_kpath(void);
Suite *suite_linein(void);
Suite *suite_shared(void);
Suite *suite_xlate(void);
Suite *suite_rules(void);
Suite *suite_proxy_login(void);

/* $SRCDIR/tests/data/NAME: fixtures are found through the source tree so
 * that VPATH builds and make distcheck read the same files. Returns a
 * static buffer. */
const char *test_data_path(const char *name);
/* $SRCDIR/REL, any file of the source tree (the manual, the sample
 * configuration). Returns a static buffer. */
const char *test_src_path(const char *rel);
/* All of $SRCDIR/REL, NUL-terminated; the caller frees it. */
char *test_slurp(const char *rel);

#endif

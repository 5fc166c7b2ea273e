/* unit_main.c: runs every unit suite, or only the one named by $UNIT_SUITE.
 * Output is TAP when CK_TAP_LOG_FILE_NAME=- (as make check sets it). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static const struct {
	const char *name;
	Suite *(*make)(void);
} suites[] = {
	{ "addr", suite_addr },
	{ "balance", suite_balance },
	{ "conf", suite_conf },
	{ "conf_keys", suite_conf_keys },
	{ "engine", suite_engine },
	{ "ftp_proto", suite_ftp_proto },
	{ "fwrules", suite_fwrules },
	{ "portmap", suite_portmap },
	{ "portpool", suite_portpool },
	{ "ratelimit", suite_ratelimit },
	{ "kpath", suite_kpath },
	{ "linein", suite_linein },
	{ "shared", suite_shared },
	{ "upstream", suite_upstream },
	{ "xlate", suite_xlate },
	{ "rules", suite_rules },
	{ "proxy_login", suite_proxy_login },
};

const char *
test_data_path(const char *name)
{
	static char path[4096];
	const char *srcdir = getenv("SRCDIR");

	snprintf(path, sizeof(path), "%s/tests/data/%s", srcdir ? srcdir : ".", name);
	return path;
}

const char *
test_src_path(const char *rel)
{
	static char path[4096];
	const char *srcdir = getenv("SRCDIR");

	snprintf(path, sizeof(path), "%s/%s", srcdir ? srcdir : ".", rel);
	return path;
}

/* All of the file at $SRCDIR/REL, NUL-terminated (caller frees). */
char *
test_slurp(const char *rel)
{
	const char *path = test_src_path(rel);
	FILE *fp = fopen(path, "r");
	char *text = NULL;
	size_t size = 0;
	FILE *mem;
	int c;

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	mem = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(mem);
	while ((c = fgetc(fp)) != EOF)
		fputc(c, mem);
	fclose(fp);
	fclose(mem);
	return text;
}

int
main(void)
{
	const char *only = getenv("UNIT_SUITE");
	SRunner *runner = NULL;
	int failed;

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (only != NULL && strcmp(only, suites[i].name) != 0)
			continue;
		if (runner == NULL)
			runner = srunner_create(suites[i].make());
		else
			srunner_add_suite(runner, suites[i].make());
	}
	if (runner == NULL) {
		fprintf(stderr, "no suite named '%s'\n", only);
		return 1;
	}
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? 0 : 1;
}

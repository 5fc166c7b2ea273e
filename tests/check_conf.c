/* check_conf.c: unit tests for src/config.c (placeholder until written). */
#include "config.h"
#include "unit.h"

START_TEST(test_placeholder)
{
	ck_assert(1);
}
END_TEST

Suite *
suite_conf(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_placeholder);
	suite_add_tcase(s, tc);
	return s;
}

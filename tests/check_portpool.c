/* check_portpool.c: unit tests for src/portpool.c (placeholder until written). */
#include "config.h"
#include "unit.h"

START_TEST(test_placeholder)
{
	ck_assert(1);
}
END_TEST

Suite *
suite_portpool(void)
{
	Suite *s = suite_create("portpool");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_placeholder);
	suite_add_tcase(s, tc);
	return s;
}

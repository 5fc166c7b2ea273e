/* check_ftp_proto.c: unit tests for src/ftp_proto.c (placeholder until written). */
#include "config.h"
#include "unit.h"

START_TEST(test_placeholder)
{
	ck_assert(1);
}
END_TEST

Suite *
suite_ftp_proto(void)
{
	Suite *s = suite_create("ftp_proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_placeholder);
	suite_add_tcase(s, tc);
	return s;
}

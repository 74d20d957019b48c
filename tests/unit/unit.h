/*
 * What every unit test binary's main() does: runs its suite and turns the
 * outcome into the exit status meson reads.
 */
#ifndef AG_TESTS_UNIT_H
#define AG_TESTS_UNIT_H

#include <check.h>
#include <stdlib.h>

/* Runs s (taken) and returns EXIT_SUCCESS when every test passed. */
static inline int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif

/*
 * What every unit test binary's main() does: runs its suite and turns the
 * outcome into the exit status meson reads.
 */
#ifndef AG_TESTS_UNIT_H
#define AG_TESTS_UNIT_H

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* SIGALRM in a test that hangs: prints every thread's stack with gdb (if
 * there is one) before Check's timeout kills the test without a word.
 * Only async-signal-safe calls. */
static void
unit_on_hang(int sig)
{
	static const char say[]
	    = "unit: the test is still running; every thread's stack:\n";
	char pid[24];
	size_t n = sizeof(pid) - 1;
	pid_t p = getpid(), child;

	(void) sig;
	pid[n] = '\0';
	do {
		pid[--n] = (char) ('0' + p % 10);
		p /= 10;
	} while (p > 0);
	(void) !write(STDERR_FILENO, say, sizeof(say) - 1);
	child = fork();
	if (child == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execlp("gdb", "gdb", "-nx", "-batch", "-p", pid + n, "-ex",
		    "thread apply all bt", (char *) NULL);
		_exit(127);
	}
	if (child > 0) {
		waitpid(child, NULL, 0);
	}
}

/* Arms that report for the calling test, after seconds (fewer than the
 * test case's timeout). Check runs each test in a process of its own. */
static inline void
unit_watchdog(unsigned seconds)
{
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);
	signal(SIGALRM, unit_on_hang);
	alarm(seconds);
}

#endif

/* See LICENSE file for copyright and license details. */
/*
 * The unit tests' one assertion: CHECK(cond) prints file, line and the
 * expression when cond is false and counts the failure; the test goes on.
 * A test's main ends with return REPORT(), non-zero when anything failed.
 * Include once per test program, after the system headers.
 */
static int checks, failures;

#define CHECK(cond) do { \
	checks++; \
	if (!(cond)) { \
		failures++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
		        __LINE__, #cond); \
	} \
} while (0)

/* CHECK with a note (a case's input) printed when it fails */
#define CHECKM(cond, what) do { \
	checks++; \
	if (!(cond)) { \
		failures++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s [%s]\n", __FILE__, \
		        __LINE__, #cond, (what)); \
	} \
} while (0)

#define REPORT() (fprintf(stderr, "%s: %d checks, %d failed\n", \
                          __FILE__, checks, failures), failures != 0)

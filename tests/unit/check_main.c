/* The unit test runner: every suite, one report. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "unit.h"

#define NENV 64
static char *envn[NENV], *envv[NENV];

void
fakeenv_clear(void)
{
	int i;

	for (i = 0; i < NENV; i++) {
		free(envn[i]);
		free(envv[i]);
		envn[i] = envv[i] = NULL;
	}
}

void
fakeenv_set(const char *name, const char *value)
{
	int i;

	for (i = 0; i < NENV; i++) {
		if (envn[i] == NULL || strcmp(envn[i], name) == 0) {
			free(envn[i]);
			free(envv[i]);
			envn[i] = strdup(name);
			envv[i] = strdup(value);
			return;
		}
	}
	abort();
}

const char *
fakeenv_get(const char *name)
{
	int i;

	for (i = 0; i < NENV && envn[i]; i++)
		if (strcmp(envn[i], name) == 0)
			return envv[i];
	return NULL;
}

static char tmpdirs[16][64];
static int ntmp;

static void
cleanup(void)
{
	char cmd[2048];
	int i;

	for (i = 0; i < ntmp; i++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdirs[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdirs[i]);
	}
}

const char *
tmpdir_make(void)
{
	const char *base = getenv("TMPDIR");

	ck_assert_int_lt(ntmp, 16);
	snprintf(tmpdirs[ntmp], sizeof(tmpdirs[ntmp]), "%s/dbmunit.XXXXXX",
	    base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdirs[ntmp]));
	if (ntmp == 0)
		atexit(cleanup);
	return tmpdirs[ntmp++];
}

const char *
write_file(const char *dir, const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

void
sh(const char *dir, const char *fmt, ...)
{
	char cmd[2048];
	int n;
	va_list ap;

	n = snprintf(cmd, sizeof(cmd), "cd '%s' && (", dir);
	va_start(ap, fmt);
	n += vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, ") >/dev/null 2>&1");
	ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* as in a tool: the suites read what the library says on stderr */
	dbm_set_reporter(dbm_report_stderr, NULL);
	sr = srunner_create(suite_json());
	srunner_add_suite(sr, suite_http());
	srunner_add_suite(sr, suite_auth());
	srunner_add_suite(sr, suite_branch());
	srunner_add_suite(sr, suite_upload());
	srunner_add_suite(sr, suite_multipart());
	srunner_add_suite(sr, suite_emu());
	srunner_add_suite(sr, suite_yaml());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

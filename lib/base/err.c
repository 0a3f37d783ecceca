/* Errors and diagnostics: see err.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static const char *prog = "dbmlops";

void
dbm_setprog(const char *argv0)
{
	const char *p;

	dbm_set_reporter(dbm_report_stderr, NULL);
	if (argv0 == NULL || *argv0 == '\0')
		return;
	p = strrchr(argv0, '/');
	prog = p ? p + 1 : argv0;
}

static dbm_reporter reporter;
static void *reporter_arg;

void
dbm_set_reporter(dbm_reporter fn, void *arg)
{
	reporter = fn;
	reporter_arg = arg;
}

void
dbm_report_stderr(enum dbm_say kind, const char *text, void *arg)
{
	fputs(text, stderr);
}

/* Format, after prefix, and hand to the reporter. */
static void
vsay(enum dbm_say kind, const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096];
	size_t n;

	if (reporter == NULL)
		return;
	n = (size_t)snprintf(buf, sizeof(buf), "%s", prefix);
	vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (*prefix)		/* a warning is a line */
		strcat(buf, "\n");
	reporter(kind, buf, reporter_arg);
}

void
dbm_say(enum dbm_say kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(kind, "", fmt, ap);
	va_end(ap);
}

void
dbm_say_warn(const char *fmt, ...)
{
	char prefix[256];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s: ", prog);
	va_start(ap, fmt);
	vsay(DBM_SAY_WARNING, prefix, fmt, ap);
	va_end(ap);
}

void
dbm_say_err(const struct dbm_err *e)
{
	char buf[2048];

	if (reporter == NULL)
		return;
	dbm_err_fmt(e, buf, sizeof(buf));
	dbm_say(DBM_SAY_ERROR, "%s: %s\n", prog, buf);
}

const char *
dbm_prog(void)
{
	return prog;
}

void
dbm_err_clear(struct dbm_err *e)
{
	if (e != NULL)
		memset(e, 0, sizeof(*e));
}

static void
vset(struct dbm_err *e, enum dbm_errkind kind, const char *fmt, va_list ap)
{
	e->kind = kind;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int
dbm_errf(struct dbm_err *e, enum dbm_errkind kind, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	dbm_err_clear(e);
	va_start(ap, fmt);
	vset(e, kind, fmt, ap);
	va_end(ap);
	return -1;
}

int
dbm_err_input(struct dbm_err *e, const char *file, long line, long col,
    const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	dbm_err_clear(e);
	va_start(ap, fmt);
	vset(e, DBM_E_INPUT, fmt, ap);
	va_end(ap);
	snprintf(e->where, sizeof(e->where), "%s", file ? file : "<stdin>");
	e->line = line;
	e->col = col;
	return -1;
}

int
dbm_err_sys(struct dbm_err *e, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	size_t n;

	if (e == NULL)
		return -1;
	dbm_err_clear(e);
	va_start(ap, fmt);
	vset(e, DBM_E_SYS, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

void
dbm_err_fmt(const struct dbm_err *e, char *buf, size_t len)
{
	switch (e->kind) {
	case DBM_E_INPUT:
		if (e->line > 0 && e->col > 0)
			snprintf(buf, len, "%s:%ld:%ld: %s", e->where, e->line,
			    e->col, e->msg);
		else if (e->line > 0)
			snprintf(buf, len, "%s:%ld: %s", e->where, e->line,
			    e->msg);
		else if (e->where[0])
			snprintf(buf, len, "%s: %s", e->where, e->msg);
		else	/* the message names its file */
			snprintf(buf, len, "%s", e->msg);
		break;
	case DBM_E_AUTH:
		if (e->status == 0) {
			snprintf(buf, len, "%s", e->msg);
			break;
		}
		/* FALLTHROUGH */
	case DBM_E_API:
		if (e->code[0])
			snprintf(buf, len, "%s: %ld %s: %s", e->where,
			    e->status, e->code, e->msg);
		else
			snprintf(buf, len, "%s: %ld: %s", e->where, e->status,
			    e->msg);
		break;
	case DBM_E_NET:
		if (e->where[0])
			snprintf(buf, len, "%s: %s", e->where, e->msg);
		else
			snprintf(buf, len, "%s", e->msg);
		break;
	default:
		snprintf(buf, len, "%s", e->msg);
		break;
	}
}

void
dbm_err_print(const struct dbm_err *e)
{
	char buf[2048];

	dbm_err_fmt(e, buf, sizeof(buf));
	fprintf(stderr, "%s: %s\n", prog, buf);
}

static void
vwarn(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
dbm_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void
dbm_errx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(status);
}

void
dbm_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: try '%s --help'\n", prog, prog);
	exit(2);
}

int
dbm_close_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write error on stdout: %s\n", prog,
		    strerror(errno));
		return -1;
	}
	return 0;
}

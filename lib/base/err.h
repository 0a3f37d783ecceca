/*
 * Errors and diagnostics. Library functions never print and never exit:
 * they return -1 and fill a caller-supplied struct dbm_err, and what they
 * have to say while they work (progress, state lines, retries, warnings)
 * goes to the reporter the program installed (dbm_set_reporter; a tool's
 * dbm_setprog installs the one that writes stderr). Tools print errors
 * with dbm_err_print(), in these forms:
 *   prog: message
 *   prog: file:line:col: message
 *   prog: PUT /api/2.0/fs/files/x: 409 ALREADY_EXISTS: message
 */
#ifndef DBM_ERR_H
#define DBM_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* The deepest nesting any parser here accepts (JSON, YAML, MLproject):
 * deeper input is refused with file:line:col before it costs time or
 * stack. */
#define DBM_NEST_MAX 512

/* The exit status of every tool when authentication fails (no usable
 * credentials, or the workspace refused them): sysexits' EX_NOPERM. */
#define DBM_EXIT_AUTH 77

/* In the name of every temporary a tool writes beside a file it replaces
 * (name + DBM_TMP_MARK + 6 random characters); a project tarball leaves
 * out what a killed tool left behind. */
#define DBM_TMP_MARK ".dbmlops-tmp."

enum dbm_errkind {
	DBM_E_NONE = 0,
	DBM_E_SYS,	/* local I/O or system call */
	DBM_E_INPUT,	/* bad input file: has file, line, col */
	DBM_E_USAGE,	/* bad arguments or configuration */
	DBM_E_NET,	/* transport failure: no HTTP answer */
	DBM_E_API,	/* the server answered with an error */
	DBM_E_AUTH,	/* no or bad credentials */
	DBM_E_CONFIG,	/* something needed is not set up */
};

struct dbm_err {
	enum dbm_errkind kind;
	long status;		/* HTTP status, 0 when none */
	char code[64];		/* Databricks error_code, "" when none */
	char where[512];	/* "PUT /api/..." or input file name */
	long line, col;		/* 1-based; 0 when unknown */
	char msg[1024];
};

/* Name used as the diagnostic prefix; set once from main, which also
 * installs dbm_report_stderr as the reporter. */
void dbm_setprog(const char *argv0);
const char *dbm_prog(void);

/* What the library says while it works, by kind, so that a program can
 * route or drop each: a progress redraw, a run's state line, a note (a
 * retry, a fetch, a dry run's plan), a warning, an error met on the way
 * that does not stop the work, an HTTP trace (--verbose). */
enum dbm_say {
	DBM_SAY_PROGRESS,
	DBM_SAY_STATE,
	DBM_SAY_NOTE,
	DBM_SAY_WARNING,
	DBM_SAY_ERROR,
	DBM_SAY_TRACE,
};
/* A reporter gets each text whole, as it is to be shown: its program
 * prefix, and its "\n" or terminal redraw ("\r\033[K"). */
typedef void (*dbm_reporter)(enum dbm_say kind, const char *text, void *arg);
/* Install fn (NULL: the library says nothing). */
void dbm_set_reporter(dbm_reporter fn, void *arg);
/* The tools' reporter: the text on stderr, as it is. */
void dbm_report_stderr(enum dbm_say kind, const char *text, void *arg);
/* Format and hand to the reporter. */
void dbm_say(enum dbm_say kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "prog: <msg>\n" as a warning, and "prog: <e>\n" as an error. */
void dbm_say_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dbm_say_err(const struct dbm_err *e);

/* Fill e (when non-NULL) and return -1. */
int dbm_errf(struct dbm_err *e, enum dbm_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int dbm_err_input(struct dbm_err *e, const char *file, long line, long col,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Like dbm_errf with strerror(errno) appended after ": ". */
int dbm_err_sys(struct dbm_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void dbm_err_clear(struct dbm_err *e);

/* Format e as one line without the program prefix into buf. */
void dbm_err_fmt(const struct dbm_err *e, char *buf, size_t len);
/* Print "prog: <e>" on stderr. */
void dbm_err_print(const struct dbm_err *e);

void dbm_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void dbm_errx(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Print "prog: msg" and "prog: try 'prog --help'", exit 2. */
_Noreturn void dbm_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Flush stdout and exit 1 with a message when that fails (EPIPE, ENOSPC). */
int dbm_close_stdout(void);

#endif

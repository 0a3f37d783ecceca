/*
 * Errors and diagnostics. Library functions never print and never exit:
 * they return -1 and fill a caller-supplied struct dbm_err. Tools print it
 * with dbm_err_print() in the forms of STYLE.md:
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

/* Name used as the diagnostic prefix; set once from main. */
void dbm_setprog(const char *argv0);
const char *dbm_prog(void);

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

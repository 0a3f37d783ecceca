/*
 * A tool's options, written once: getopt_long's table, the short-option
 * string and the option lines of --help all come from one array.
 */
#ifndef DBM_OPTS_H
#define DBM_OPTS_H

#include <stdio.h>

struct dbm_opt {
	const char *name;	/* the long name ("": none, a short option
				 * only) */
	int arg;		/* no_argument or required_argument */
	int val;		/* the short letter, or a value above 255 */
	const char *label;	/* the help line's left side ("-j, --jobs n");
				 * NULL: an alias, not listed */
	const char *help;	/* its right side; each '\n' starts a line */
};

/* getopt_long over opts, terminated by an entry with a NULL name: the
 * long-option table and the short-option string are made from it on the
 * first call (one table a process). */
int dbm_getopt(int argc, char *const argv[], const struct dbm_opt *opts);
/* The option lines of --help, in the table's order, the right side from
 * column col (after the label and two spaces when the label is longer). */
void dbm_opts_help(FILE *f, const struct dbm_opt *opts, int col);

#endif

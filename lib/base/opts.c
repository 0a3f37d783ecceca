/* A tool's options from one array: see opts.h. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "opts.h"

int
dbm_getopt(int argc, char *const argv[], const struct dbm_opt *opts)
{
	static const struct dbm_opt *made;
	static struct option *longopts;
	static char *shortopts;
	size_t i, k, n;

	if (made != opts) {
		struct dbm_buf s = DBM_BUF_INIT;

		for (n = 0; opts[n].name; n++)
			;
		free(longopts);
		free(shortopts);
		longopts = dbm_xcalloc(n + 1, sizeof(*longopts));
		for (i = k = 0; i < n; i++) {
			if (*opts[i].name) {	/* "": a short option only */
				longopts[k].name = opts[i].name;
				longopts[k].has_arg = opts[i].arg;
				longopts[k++].val = opts[i].val;
			}
			if (opts[i].val > 0 && opts[i].val < 256 && (s.len == 0 ||
			    memchr(s.data, opts[i].val, s.len) == NULL)) {
				dbm_buf_addc(&s, (char)opts[i].val);
				if (opts[i].arg == required_argument)
					dbm_buf_addc(&s, ':');
			}
		}
		shortopts = s.len ? dbm_buf_detach(&s) : dbm_xstrdup("");
		made = opts;
	}
	return getopt_long(argc, argv, shortopts, longopts, NULL);
}

void
dbm_opts_help(FILE *f, const struct dbm_opt *opts, int col)
{
	const char *h, *nl;
	int n;

	for (; opts->name; opts++) {
		if (opts->label == NULL)
			continue;
		n = fprintf(f, "  %s", opts->label);
		/* a label too wide for its column: the help on the next line,
		 * so that two spaces always part them (completion reads it) */
		if (n > col - 2) {
			fputc('\n', f);
			n = 0;
		}
		for (h = opts->help;; h = nl + 1) {
			nl = strchr(h, '\n');
			fprintf(f, "%*s%.*s\n", n < col ? col - n : 1, "",
			    nl ? (int)(nl - h) : (int)strlen(h), h);
			if (nl == NULL)
				break;
			n = 0;
		}
	}
}

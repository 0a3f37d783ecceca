/*
 * wheel-label: give wheels a version label derived from their content
 * (1.0 becomes 1.0+g<12 hex>), so a changed build is a new version and an
 * unchanged one the same bytes. Prints each labelled wheel's path. See
 * wheel-label(1).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "opts.h"
#include "wheel.h"
#include "version.h"

enum { OPT_VERSION = 256 };

static const struct dbm_opt opts[] = {
	{"directory", required_argument, 'd', "-d, --directory dir",
	    "write the labelled wheels into dir (else beside\n"
	    "each wheel)"},
	{"label", no_argument, 'l', "-l, --label",
	    "print each wheel's label, write nothing"},
	{"replace", no_argument, 'r', "-r, --replace",
	    "remove each wheel once its labelled one is written"},
	{"help", no_argument, 'h', "-h, --help",
	    "print this help"},
	{"version", no_argument, OPT_VERSION, "    --version",
	    "print the version"},
	{NULL, 0, 0, NULL, NULL},
};

static void
usage(void)
{
	fputs("usage: wheel-label [-lr] [-d dir] wheel ...\n"
	    "\n"
	    "Label each wheel's version with its content: 1.0 becomes "
	    "1.0+g<12 hex>, the\n"
	    "hex from SHA-256 over the names and bytes of the files it "
	    "installs. METADATA,\n"
	    "the .dist-info folder, RECORD and the file name change "
	    "together; nothing else\n"
	    "does. The same files give the same label and bytes anywhere. "
	    "Prints the\n"
	    "labelled wheels' paths, one a line.\n"
	    "\n", stdout);
	dbm_opts_help(stdout, opts, 24);
	exit(dbm_close_stdout() < 0 ? 1 : 0);
}

struct opts {
	const char *dir;
	int label, replace;
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	struct stat st;
	int c;

	while ((c = dbm_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case 'd':
			o->dir = optarg;
			break;
		case 'l':
			o->label = 1;
			break;
		case 'r':
			o->replace = 1;
			break;
		case 'h':
			usage();
			break;
		case OPT_VERSION:
			dbm_print_version("wheel-label");
			exit(dbm_close_stdout() < 0);
		default:	/* getopt said what */
			fprintf(stderr, "%s: try 'wheel-label --help'\n",
			    dbm_prog());
			exit(2);
		}
	}
	if (optind == argc)
		dbm_usage_error("a wheel is needed");
	if (o->label && (o->dir || o->replace))
		dbm_usage_error("-l writes nothing: it takes no -d or -r");
	if (o->dir && (stat(o->dir, &st) < 0 || !S_ISDIR(st.st_mode)))
		dbm_usage_error("-d %s: not a folder", o->dir);
}

/* One wheel: 0, or 1 after saying why. */
static int
one(const char *w, const struct opts *o)
{
	struct dbm_err e;
	char label[14], *out;

	dbm_err_clear(&e);
	if (o->label) {
		if (dbm_wheel_label(w, label, &e) < 0) {
			dbm_err_print(&e);
			return 1;
		}
		printf("%s\t%s\n", label, w);
		return 0;
	}
	if (dbm_wheel_relabel(w, o->dir, &out, &e) < 0) {
		dbm_err_print(&e);
		return 1;
	}
	if (o->replace && strcmp(out, w) != 0 && unlink(w) < 0) {
		dbm_err_sys(&e, "%s", w);
		dbm_err_print(&e);
		free(out);
		return 1;
	}
	printf("%s\n", out);
	free(out);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct opts o = {NULL, 0, 0};
	int i, rc = 0;

	dbm_setprog(argv[0]);
	parse_args(argc, argv, &o);
	for (i = optind; i < argc; i++)
		rc |= one(argv[i], &o);
	if (dbm_close_stdout() < 0)
		rc = 1;
	return rc;
}

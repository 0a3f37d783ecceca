/*
 * branch-clean: remove what a branch left in a Databricks workspace, its
 * wheel folder's content folders and its experiments (into MLflow's
 * trash, with the project code uploaded for them), keeping what an active
 * run uses. See branch-clean(1).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "auth.h"
#include "clean.h"
#include "err.h"
#include "http.h"
#include "opts.h"
#include "token.h"
#include "version.h"

enum { OPT_KEEP = 256, OPT_MIN_AGE, OPT_WORKSPACE, OPT_HOST, OPT_DEBUG,
	OPT_VERSION };

static const struct dbm_opt opts[] = {
	{"experiment", required_argument, 'e', "-e, --experiment name",
	    "an experiment of the branch (repeatable): removed with\n"
	    "the project code uploaded for it, unless a run uses it"},
	{"keep", required_argument, OPT_KEEP, "    --keep n",
	    "a live branch: keep the n newest content folders and\n"
	    "every experiment; remove older folders only"},
	{"min-age", required_argument, OPT_MIN_AGE, "    --min-age secs",
	    "keep what was written in the last secs seconds (900): a\n"
	    "pipeline may be between its upload and its submit"},
	{"workspace", required_argument, OPT_WORKSPACE, "    --workspace new|legacy",
	    "legacy: project code on DBFS too ($DBMLOPS_WORKSPACE,\n"
	    "else new)"},
	{"dry-run", no_argument, 'n', "-n, --dry-run",
	    "say what would go; remove nothing"},
	{"quiet", no_argument, 'q', "-q, --quiet",
	    "say only what is kept, and failures"},
	{"profile", required_argument, 'p', "-p, --profile name",
	    "~/.databrickscfg profile"},
	{"debug", no_argument, OPT_DEBUG, "    --debug",
	    "trace HTTP on stderr (secrets redacted)"},
	{"help", no_argument, 'h', "-h, --help", "print this help"},
	{"version", no_argument, OPT_VERSION, "    --version",
	    "print the version"},
	{"host", required_argument, OPT_HOST, NULL, NULL},
	{NULL, 0, 0, NULL, NULL},
};

static void
usage(void)
{
	fputs("usage: branch-clean [-nq] [-e experiment]... [--keep n] "
	    "[--min-age secs]\n"
	    "                    [-p profile] [wheel-dir]\n"
	    "\n"
	    "Remove what a branch left in the workspace: the content "
	    "folders of its wheel\n"
	    "folder (dbfs:/, /Volumes/, /Workspace/), then the folder, and "
	    "its experiments\n"
	    "with their uploaded project code. What an active run uses "
	    "stays, and is said.\n"
	    "\n", stdout);
	dbm_opts_help(stdout, opts, 26);
	fputs("\n"
	    "Exit status: 0 done (or nothing to do), 1 some removal failed, "
	    "2 usage error,\n"
	    "6 API error (nothing removed), 77 authentication failed.\n",
	    stdout);
	exit(dbm_close_stdout() < 0 ? 1 : 0);
}

static int quiet;

static void
say(void *arg, const char *line)
{
	(void)arg;
	if (!quiet || strncmp(line, "removed ", 8) != 0)
		printf("%s\n", line);
	fflush(stdout);
}

static long long
number(const char *what, const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == '\0' || *end || v < 0)
		dbm_usage_error("%s: '%s' is not a number", what, s);
	return v;
}

static void
parse_args(int argc, char *argv[], struct dbm_clean_opts *o,
    struct dbm_auth_opts *ao, int *debug)
{
	const char *ws = getenv("DBMLOPS_WORKSPACE");
	int c;

	while ((c = dbm_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case 'e':
			o->experiments = dbm_xrealloc((void *)o->experiments,
			    (size_t)(o->nexperiments + 1) * sizeof(char *));
			((const char **)o->experiments)[o->nexperiments++] =
			    optarg;
			break;
		case OPT_KEEP:
			o->keep = (int)number("--keep", optarg);
			break;
		case OPT_MIN_AGE:
			o->min_age = number("--min-age", optarg);
			break;
		case OPT_WORKSPACE:
			ws = optarg;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'p':
			ao->profile = optarg;
			break;
		case OPT_HOST:
			ao->host = optarg;
			break;
		case OPT_DEBUG:
			*debug = 1;
			break;
		case 'h':
			usage();
			break;
		case OPT_VERSION:
			dbm_print_version("branch-clean");
			exit(dbm_close_stdout() < 0 ? 1 : 0);
		default:
			fprintf(stderr, "%s: try 'branch-clean --help'\n",
			    dbm_prog());
			exit(2);
		}
	}
	if (ws && *ws && strcmp(ws, "new") != 0 && strcmp(ws, "legacy") != 0)
		dbm_usage_error("workspace '%s': expected new or legacy", ws);
	o->legacy = ws && strcmp(ws, "legacy") == 0;
	if (argc - optind > 1)
		dbm_usage_error("one wheel folder only");
	o->wheel_dir = optind < argc ? argv[optind] : NULL;
	if (o->wheel_dir == NULL && o->nexperiments == 0)
		dbm_usage_error("nothing to clean: give the branch's wheel "
		    "folder, or -e experiment");
	if (o->keep >= 0 && o->wheel_dir == NULL)
		dbm_usage_error("--keep goes with a wheel folder");
}

int
main(int argc, char *argv[])
{
	struct dbm_clean_opts o = {.keep = -1, .min_age = 900, .say = say};
	struct dbm_auth_opts ao = {0};
	struct dbm_auth auth;
	struct dbm_http h;
	struct dbm_err e;
	int debug = 0, rc;

	dbm_setprog(argv[0]);
	parse_args(argc, argv, &o, &ao, &debug);
	memset(&auth, 0, sizeof(auth));
	memset(&h, 0, sizeof(h));
	if (dbm_auth_resolve(&auth, &ao, NULL, &e) < 0) {
		dbm_err_print(&e);
		free((void *)o.experiments);
		return DBM_EXIT_AUTH;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (dbm_client_init(&h, &auth, "branch-clean", &e) < 0) {
		dbm_err_print(&e);
		rc = 6;
	} else {
		h.verbose = debug;
		rc = dbm_clean(&h, &o, &e);
		if (rc < 0) {
			dbm_err_print(&e);
			rc = e.kind == DBM_E_AUTH ? DBM_EXIT_AUTH : 6;
		}
		dbm_http_free(&h);
	}
	dbm_auth_free(&auth);
	curl_global_cleanup();
	free((void *)o.experiments);
	if (dbm_close_stdout() < 0 && rc == 0)
		rc = 1;
	return rc;
}

/*
 * branch-name: print a name for the current branch that is unique per
 * branch, stable across runs and safe in DBFS and Volumes paths, workspace
 * paths, job run names and cluster tags. See branch-name(1).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "branch.h"
#include "buf.h"
#include "err.h"
#include "opts.h"
#include "json.h"
#include "version.h"

enum { OPT_EXPORT = 256, OPT_JSON, OPT_PROJECT, OPT_VERSION };

/* The options, in the order --help lists them. */
static const struct dbm_opt opts[] = {
	{"directory", required_argument, 'C', "-C, --directory dir",
	    "look for the git repository from dir"},
	{"export", no_argument, OPT_EXPORT, "    --export",
	    "print shell assignments for eval"},
	{"format", required_argument, 'F', "-F, --format tmpl",
	    "print tmpl expanded (repeatable); NAME=tmpl names it\n"
	    "for --export and --json"},
	{"json", no_argument, OPT_JSON, "    --json",
	    "print one JSON object (raw name, slug, source, ...)"},
	{"project", required_argument, OPT_PROJECT, "    --project name",
	    "value of {project} (default DBMLOPS_PROJECT, else the CI\n"
	    "system's repository name, else the repository\n"
	    "directory's name)"},
	{"help", no_argument, 'h', "-h, --help",
	    "print this help"},
	{"version", no_argument, OPT_VERSION, "    --version",
	    "print the version"},
	{NULL, 0, 0, NULL, NULL},
};

static void
usage(void)
{
	fputs("usage: branch-name [-C dir] [-F [NAME=]template]... "
	    "[--project name] [--export | --json]\n"
	    "\n"
	    "Print a slug of the current branch: DBMLOPS_BRANCH, else the "
	    "CI system's\n"
	    "branch variables, else git. Templates expand {branch} "
	    "{project} {user} {sha}\n"
	    "{build}.\n"
	    "\n", stdout);
	dbm_opts_help(stdout, opts, 24);
	exit(dbm_close_stdout() < 0 ? 1 : 0);
}

static void
shquote(const char *s)
{
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

/* NAME= prefix of a template: [A-Za-z_][A-Za-z0-9_]* then '='. */
static size_t
varname_len(const char *t)
{
	size_t i = 0;

	if (!((t[0] >= 'A' && t[0] <= 'Z') || (t[0] >= 'a' && t[0] <= 'z') ||
	    t[0] == '_'))
		return 0;
	while ((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
	    (t[i] >= '0' && t[i] <= '9') || t[i] == '_')
		i++;
	return t[i] == '=' ? i : 0;
}

static const char *
basename_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s && s[1] ? s + 1 : p;
}

/* What the command line asks for. */
struct opts {
	const char *dir, *project;
	const char **fmts;		/* -F templates, NAME=template */
	int nfmt, export, json;
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
		int c, i;

	o->fmts = dbm_xcalloc((size_t)argc, sizeof(*o->fmts));
	while ((c = dbm_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case 'C':
			o->dir = optarg;
			break;
		case OPT_EXPORT:
			o->export = 1;
			break;
		case 'F':
			o->fmts[o->nfmt++] = optarg;
			break;
		case 'h':
			usage();
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_PROJECT:
			o->project = optarg;
			break;
		case OPT_VERSION:
			dbm_print_version("branch-name");
			free(o->fmts);
			exit(dbm_close_stdout() < 0);
		default:
			fprintf(stderr, "%s: try 'branch-name --help'\n",
			    dbm_prog());
			free(o->fmts);
			exit(2);
		}
	}
	if (optind != argc)
		dbm_usage_error("unexpected argument '%s'", argv[optind]);
	if (access(o->dir, F_OK) != 0)
		dbm_usage_error("-C %s: %s", o->dir, strerror(errno));
	if (o->export && o->json)
		dbm_usage_error("--export and --json exclude each other");
	for (i = 0; o->export && i < o->nfmt; i++)
		if (varname_len(o->fmts[i]) == 0)
			dbm_usage_error("--export needs NAME=template formats, "
			    "not '%s'", o->fmts[i]);
}

/* The names the templates can use: {project} {user} {build} {sha}
 * {branch}; the slugs are malloc'd into slugs[3]. */
static void
fmtvars(const struct opts *o, const struct dbm_branch *b,
    struct dbm_fmtvars *v, char *slugs[3], char sha[DBM_SHORT_SHA + 1])
{
	const char *project = o->project;

	if (project == NULL && (project = getenv("DBMLOPS_PROJECT")) != NULL &&
	    *project == '\0')
		project = NULL;
	if (project == NULL)
		project = dbm_ci_project(NULL);
	if (project == NULL && b->toplevel)
		project = basename_of(b->toplevel);
	if (project)
		v->project = slugs[0] = dbm_slug(project);
	if (dbm_ci_user(NULL))
		v->user = slugs[1] = dbm_slug(dbm_ci_user(NULL));
	if (dbm_ci_build_id(NULL))
		v->build = slugs[2] = dbm_slug(dbm_ci_build_id(NULL));
	if (b->sha) {
		snprintf(sha, DBM_SHORT_SHA + 1, "%s", b->sha);
		v->sha = sha;
	}
	v->branch = b->slug;
}

static void
print_json(const struct opts *o, const struct dbm_branch *b,
    const struct dbm_fmtvars *v, const struct dbm_buf *out)
{
	struct dbm_buf jb = DBM_BUF_INIT;
	struct dbm_jw w;
	int i;

	dbm_jw_init(&w, &jb);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "raw");
	dbm_jw_str(&w, b->raw);
	dbm_jw_key(&w, "slug");
	dbm_jw_str(&w, b->slug);
	dbm_jw_key(&w, "source");
	dbm_jw_str(&w, b->source);
	dbm_jw_key(&w, "detached");
	dbm_jw_bool(&w, b->detached);
	dbm_jw_key(&w, "sha");
	dbm_jw_str(&w, b->sha);
	dbm_jw_key(&w, "project");
	dbm_jw_str(&w, v->project);
	dbm_jw_key(&w, "formats");
	dbm_jw_arr(&w);
	for (i = 0; i < o->nfmt; i++) {
		size_t vn = varname_len(o->fmts[i]);

		dbm_jw_obj(&w);
		dbm_jw_key(&w, "name");
		if (vn)
			dbm_jw_strn(&w, o->fmts[i], vn);
		else
			dbm_jw_null(&w);
		dbm_jw_key(&w, "template");
		dbm_jw_str(&w, o->fmts[i] + (vn ? vn + 1 : 0));
		dbm_jw_key(&w, "value");
		dbm_jw_str(&w, dbm_buf_str(&out[i]));
		dbm_jw_obj_end(&w);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	puts(dbm_buf_str(&jb));
	dbm_buf_free(&jb);
}

static void
print_export(const struct opts *o, const struct dbm_branch *b,
    const struct dbm_buf *out)
{
	static const char *const names[] = {
		"DBMLOPS_BRANCH_SLUG", "DBMLOPS_BRANCH_RAW",
		"DBMLOPS_BRANCH_SOURCE", "DBMLOPS_BRANCH_SHA",
	};
	const char *vals[] = {b->slug, b->raw, b->source, b->sha};
	int i;

	for (i = 0; i < 4; i++) {
		if (vals[i] == NULL)
			continue;
		printf("%s=", names[i]);
		shquote(vals[i]);
		printf("; export %s\n", names[i]);
	}
	for (i = 0; i < o->nfmt; i++) {
		int vn = (int)varname_len(o->fmts[i]);

		printf("%.*s=", vn, o->fmts[i]);
		shquote(dbm_buf_str(&out[i]));
		printf("; export %.*s\n", vn, o->fmts[i]);
	}
}

/* Each template filled in; an exit code, 0 when all were. */
static int
format_all(const struct opts *o, const struct dbm_fmtvars *v,
    struct dbm_buf *out)
{
	struct dbm_err e;
	int i;

	for (i = 0; i < o->nfmt; i++) {
		size_t vn = varname_len(o->fmts[i]);

		if (dbm_format(o->fmts[i] + (vn ? vn + 1 : 0), v, &out[i],
		    &e) < 0) {
			dbm_err_print(&e);
			if (e.kind == DBM_E_USAGE)
				fprintf(stderr, "%s: try 'branch-name "
				    "--help'\n", dbm_prog());
			return e.kind == DBM_E_USAGE ? 2 : 1;
		}
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct opts o = {".", NULL, NULL, 0, 0, 0};
	struct dbm_branch b;
	struct dbm_err e;
	struct dbm_fmtvars v = {0};
	struct dbm_buf *out;
	char *slugs[3] = {NULL, NULL, NULL}, sha[DBM_SHORT_SHA + 1] = "";
	int i, rc;

	dbm_setprog(argv[0]);
	parse_args(argc, argv, &o);
	if (dbm_branch_detect(&b, NULL, o.dir, &e) < 0) {
		dbm_err_print(&e);
		free(o.fmts);
		return 1;
	}
	fmtvars(&o, &b, &v, slugs, sha);
	out = dbm_xcalloc((size_t)o.nfmt + 1, sizeof(*out));
	if ((rc = format_all(&o, &v, out)) == 0) {
		if (o.json)
			print_json(&o, &b, &v, out);
		else if (o.export)
			print_export(&o, &b, out);
		else if (o.nfmt == 0)
			puts(b.slug);
		for (i = 0; !o.json && !o.export && i < o.nfmt; i++)
			puts(dbm_buf_str(&out[i]));
		if (dbm_close_stdout() < 0)
			rc = 1;
	}
	for (i = 0; i < o.nfmt; i++)
		dbm_buf_free(&out[i]);
	for (i = 0; i < 3; i++)
		free(slugs[i]);
	free(out);
	free(o.fmts);
	dbm_branch_free(&b);
	return rc;
}

/*
 * dbfs-put: upload files and directory trees to DBFS (dbfs:/...), Unity
 * Catalog volumes (/Volumes/...) or workspace files (/Workspace/...), in
 * parallel, and print where each file went. See dbfs-put(1).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "auth.h"
#include "err.h"
#include "opts.h"
#include "json.h"
#include "upload.h"
#include "version.h"

enum { OPT_HOST = 256, OPT_JSON, OPT_PRINT, OPT_VERSION, OPT_WORKSPACE };

/* The options, in the order --help lists them. */
static const struct dbm_opt opts[] = {
	{"content-addressed", no_argument, 'c', "-c, --content-addressed",
	    "upload to destination/<hash>/<name>; skip files\nalready there"},
	{"force", no_argument, 'f', "-f, --force, --overwrite",
	    "replace existing files"},
	{"overwrite", no_argument, 'f', NULL, NULL},
	{"jobs", required_argument, 'j', "-j, --jobs n",
	    "parallel transfers (8)"},
	{"dereference", no_argument, 'L', "-L, --dereference",
	    "follow symbolic links out of a source tree too"},
	{"json", no_argument, OPT_JSON, "    --json",
	    "print a JSON manifest instead of paths"},
	{"dry-run", no_argument, 'n', "-n, --dry-run",
	    "print the plan, send nothing"},
	{"profile", required_argument, 'p', "-p, --profile name",
	    "~/.databrickscfg profile"},
	{"host", required_argument, OPT_HOST, "    --host url",
	    "workspace URL (else DATABRICKS_HOST)"},
	{"print", required_argument, OPT_PRINT, "    --print uri|fuse",
	    "path form: dbfs:/x (uri, default) or /dbfs/x (fuse)"},
	{"quiet", no_argument, 'q', "-q, --quiet", "no progress line"},
	{"workspace", required_argument, OPT_WORKSPACE, "    --workspace new|legacy",
	    "new: no DBFS root, so dbfs:/ is refused before sending;\n"
	    "legacy: a workspace that has it ($DBMLOPS_WORKSPACE,\nelse new)"},
	{"recursive", no_argument, 'r', "-r, --recursive", "upload directories"},
	{"verbose", no_argument, 'v', "-v, --verbose, --debug",
	    "trace HTTP on stderr (secrets redacted)"},
	{"debug", no_argument, 'v', NULL, NULL},
	{"help", no_argument, 'h', "-h, --help", "print this help"},
	{"version", no_argument, OPT_VERSION, "    --version",
	    "print the version"},
	{NULL, 0, 0, NULL, NULL},
};

static void
usage(void)
{
	printf("usage: dbfs-put [-cfLnqrv] [-j jobs] [-p profile] "
	    "[--print uri|fuse] [--json]\n"
	    "                source ... destination\n"
	    "\n"
	    "Upload files to dbfs:/..., /Volumes/... or /Workspace/... and "
	    "print each remote\npath. A single file goes to destination "
	    "itself unless it ends in '/'; more\nfiles, and the contents of "
	    "directories (-r), go under it.\n"
	    "\n");
	dbm_opts_help(stdout, opts, 27);
	exit(dbm_close_stdout() < 0 ? 1 : 0);
}

static const char *workspace_kind;	/* --workspace, else the environment */

/* A DBFS destination on a workspace without the DBFS root (a new
 * account's, PROTOCOL.md section 15), which would refuse every file with
 * 403: said before anything is sent. Its own MLflow storage stays open. */
static int
dbfs_root_refused(const struct dbm_upload *u)
{
	const char *ws = workspace_kind ? workspace_kind :
	    getenv("DBMLOPS_WORKSPACE");

	if (ws && *ws && strcmp(ws, "new") != 0 && strcmp(ws, "legacy") != 0)
		dbm_usage_error("workspace '%s': expected new or legacy", ws);
	if (u->dest.kind != DBM_REMOTE_DBFS || (ws && strcmp(ws, "legacy") == 0) ||
	    strncmp(u->dest.path, "/databricks/mlflow-", 19) == 0)
		return 0;
	dbm_warnx("dbfs:%s: the workspaces new accounts get have no DBFS root "
	    "(it answers 403 \"Public DBFS root is disabled\"): upload to a "
	    "volume (/Volumes/<catalog>/<schema>/<volume>/...) or to workspace "
	    "files (/Workspace/...); for a workspace that still has it, "
	    "DBMLOPS_WORKSPACE=legacy or --workspace legacy", u->dest.path);
	return 1;
}

static void
manifest(const struct dbm_upload *u)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	size_t i;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "files");
	dbm_jw_arr(&w);
	for (i = 0; i < u->n; i++) {
		const struct dbm_upload_file *f = &u->files[i];
		char *uri, *fuse;

		if (f->failed)
			continue;
		uri = dbm_remote_uri(u->dest.kind, f->remote);
		fuse = dbm_remote_fuse(u->dest.kind, f->remote);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "local");
		dbm_jw_str(&w, f->local);
		dbm_jw_key(&w, "remote");
		dbm_jw_str(&w, uri);
		dbm_jw_key(&w, "fuse");
		dbm_jw_str(&w, fuse);
		dbm_jw_key(&w, "size");
		dbm_jw_int(&w, f->size);
		dbm_jw_key(&w, "sha256");
		dbm_jw_str(&w, f->sha256);
		dbm_jw_key(&w, "skipped");
		dbm_jw_bool(&w, f->skipped);
		dbm_jw_obj_end(&w);
		free(uri);
		free(fuse);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	puts(b.data);
	dbm_buf_free(&b);
}

/* Options into o and ao; *json and *fuse for the output. */
static void
parse_args(int argc, char *argv[], struct dbm_upload_opts *o,
    struct dbm_auth_opts *ao, int *json, int *fuse)
{
	char *end;
	int c;

	o->jobs = 8;
	while ((c = dbm_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case 'c':
			o->content_addressed = 1;
			break;
		case 'f':
			o->overwrite = 1;
			break;
		case 'h':
			usage();
			break;
		case OPT_HOST:
			ao->host = optarg;
			break;
		case 'j':
			o->jobs = (int)strtol(optarg, &end, 10);
			if (*end || o->jobs < 1 || o->jobs > 64)
				dbm_usage_error("-j: '%s' is not a number from "
				    "1 to 64", optarg);
			break;
		case OPT_JSON:
			*json = 1;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case 'p':
			ao->profile = optarg;
			break;
		case OPT_PRINT:
			if (strcmp(optarg, "fuse") == 0)
				*fuse = 1;
			else if (strcmp(optarg, "uri") != 0)
				dbm_usage_error("--print: '%s' is neither uri "
				    "nor fuse", optarg);
			break;
		case 'q':
			o->quiet = 1;
			break;
		case OPT_WORKSPACE:
			workspace_kind = optarg;
			break;
		case 'L':
			o->follow_links = 1;
			break;
		case 'r':
			o->recursive = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case OPT_VERSION:
			dbm_print_version("dbfs-put");
			exit(dbm_close_stdout() < 0);
		default:
			fprintf(stderr, "%s: try 'dbfs-put --help'\n",
			    dbm_prog());
			exit(2);
		}
	}
	if (argc - optind < 2)
		dbm_usage_error("a source and a destination are needed");
	o->want_sha = *json;
}

/* The remote path of each file sent, one a line, or the manifest. */
static void
print_result(struct dbm_upload *u, int json, int fuse)
{
	size_t i;

	if (json) {
		manifest(u);
	} else {
		for (i = 0; i < u->n; i++) {
			char *p;

			if (u->files[i].failed)
				continue;
			p = fuse ? dbm_remote_fuse(u->dest.kind,
			    u->files[i].remote) : dbm_remote_uri(u->dest.kind,
			    u->files[i].remote);
			puts(p);
			free(p);
		}
	}
}

int
main(int argc, char *argv[])
{
	struct dbm_upload_opts o = {0};
	struct dbm_auth_opts ao = {0};
	struct dbm_upload u;
	struct dbm_auth auth;
	struct dbm_err e;
	int json = 0, fuse = 0, rc = 0;
	size_t i, failed;

	dbm_setprog(argv[0]);
	parse_args(argc, argv, &o, &ao, &json, &fuse);
	if (dbm_upload_plan(&u, argv + optind, argc - optind - 1,
	    argv[argc - 1], &o, &e) < 0) {
		dbm_err_print(&e);
		if (e.kind == DBM_E_USAGE)
			fprintf(stderr, "%s: try 'dbfs-put --help'\n",
			    dbm_prog());
		dbm_upload_free(&u);
		return e.kind == DBM_E_USAGE ? 2 : 1;
	}
	memset(&auth, 0, sizeof(auth));
	if (!o.dry_run && dbm_auth_resolve(&auth, &ao, NULL, &e) < 0) {
		dbm_err_print(&e);
		dbm_upload_free(&u);
		return DBM_EXIT_AUTH;	/* config or credentials */
	}
	if (dbfs_root_refused(&u)) {
		dbm_upload_free(&u);
		dbm_auth_free(&auth);
		return 2;		/* nothing sent */
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	failed = dbm_upload_run(&u, &auth, "dbfs-put");
	for (i = 0; o.dry_run && i < u.n; i++) {
		char *uri = dbm_remote_uri(u.dest.kind, u.files[i].remote);

		fprintf(stderr, "%s: would upload %s -> %s (%lld bytes)\n",
		    dbm_prog(), u.files[i].local, uri, u.files[i].size);
		free(uri);
	}
	print_result(&u, json, fuse);
	if (failed) {
		dbm_warnx("%zu of %zu files failed", failed, u.n);
		rc = u.auth_failed ? DBM_EXIT_AUTH : 1;
	}
	if (dbm_close_stdout() < 0)
		rc = 1;
	dbm_upload_free(&u);
	dbm_auth_free(&auth);
	curl_global_cleanup();
	return rc;
}

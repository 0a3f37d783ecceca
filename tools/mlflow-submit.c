/*
 * mlflow-submit: run an MLflow project on Databricks as `mlflow run -b
 * databricks --backend-config cluster.json` does, wait for it, print its
 * logs and exit with a code for its outcome. Ctrl-C or SIGTERM cancels the
 * remote run. A `mlflow run -b databricks ...` command line works with its
 * first two words replaced. See mlflow-submit(1).
 */
#include <getopt.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "auth.h"
#include "err.h"
#include "opts.h"
#include "http.h"
#include "token.h"
#include "json.h"
#include "mlflowrun.h"
#include "submit.h"
#include "version.h"

enum {
	OPT_BUILD_IMAGE = 256, OPT_ENV_MANAGER, OPT_EXPERIMENT_ID,
	OPT_EXPERIMENT_NAME, OPT_HOST, OPT_JSON, OPT_MLFLOW, OPT_MODE,
	OPT_NO_WAIT, OPT_RUN_ID, OPT_RUN_NAME, OPT_SOURCE, OPT_STORAGE_DIR,
	OPT_CLUSTER_ID, OPT_START_CLUSTER, OPT_RESTART_CLUSTER, OPT_ALLOW_STALE, OPT_CODE_DIR, OPT_ENV_VERSION,
	OPT_WORKSPACE,
	OPT_SERVERLESS,
	OPT_TIMEOUT, OPT_VERBOSE, OPT_VERSION, OPT_LAST_RUN,
};

static volatile sig_atomic_t interrupted;
static int last_run;	/* --last-run: a query, no project */

static void
on_signal(int sig)
{
	interrupted = sig;
}

/* The options, in the order --help lists them. */
static const struct dbm_opt opts[] = {
	{"backend", required_argument, 'b', "-b, --backend name",
	    "databricks (the only one)"},
	{"backend-config", required_argument, 'c', "-c, --backend-config c",
	    "cluster spec: a JSON file or JSON text (flat "
	    "new_cluster,\n"
	    "or {new_cluster, libraries})"},
	{"entry-point", required_argument, 'e', "-e, --entry-point name",
	    "entry point, or a .py/.sh file to run (main)"},
	{"", required_argument, 'v', "-v REF",
	    "git commit, branch or tag to run (mlflow run's "
	    "--version)"},
	{"param-list", required_argument, 'P', "-P, --param-list k=v",
	    "a parameter (repeatable)"},
	{"experiment-name", required_argument, OPT_EXPERIMENT_NAME, "    --experiment-name n",
	    "experiment by workspace path (created when missing;\n"
	    "MLFLOW_EXPERIMENT_NAME)"},
	{"experiment-id", required_argument, OPT_EXPERIMENT_ID, "    --experiment-id id",
	    "experiment by id (MLFLOW_EXPERIMENT_ID)"},
	{"run-name", required_argument, OPT_RUN_NAME, "    --run-name name",
	    "name of the MLflow run and the job run"},
	{"run-id", required_argument, OPT_RUN_ID, "    --run-id id",
	    "run in this existing MLflow run"},
	{"env-manager", required_argument, OPT_ENV_MANAGER, "    --env-manager m",
	    "env manager of the cluster's mlflow run (shell mode)"},
	{"cluster-id", required_argument, OPT_CLUSTER_ID, "    --cluster-id id",
	    "run on this all-purpose cluster (-c then only adds\n"
	    "libraries); --start-cluster starts it when terminated;\n"
	    "another build of an installed wheel version stops the\n"
	    "run unless --restart-cluster or --allow-stale"},
	{"serverless", no_argument, OPT_SERVERLESS, "    --serverless",
	    "run on serverless compute (python mode); -c then gives\n"
	    "an environment spec {environment_version, dependencies}"},
	{"environment-version", required_argument, OPT_ENV_VERSION, "    --environment-version v",
	    "serverless environment version (4)"},
	{"code-dir", required_argument, OPT_CODE_DIR, "    --code-dir dir",
	    "folder for the project tarball and the launcher "
	    "(dbfs:/,\n"
	    "/Volumes/, /Workspace/; default: ~/.mlflow-submit in\n"
	    "workspace files; in shell mode MLflow's DBFS folder)"},
	{"workspace", required_argument, OPT_WORKSPACE, "    --workspace new|legacy",
	    "new (no DBFS root, runtimes from 13.3 LTS) or legacy\n"
	    "($DBMLOPS_WORKSPACE, else new)"},
	{"mode", required_argument, OPT_MODE, "    --mode auto|shell|python",
	    "shell (shell_command_task, runtimes < 13), python\n"
	    "(spark_python_task), auto (by spark_version)"},
	{"mlflow", required_argument, OPT_MLFLOW, "    --mlflow spec",
	    "pypi requirement added for the cluster (shell mode: mlflow=="
	    DBM_MLFLOW_VERSION ", python mode: mlflow; '' for none)"},
	{"source", required_argument, OPT_SOURCE, "    --source dir",
	    "the project the run records as its source (uri is a "
	    "copy)"},
	{"last-run", no_argument, OPT_LAST_RUN, "    --last-run",
	    "print the id of the experiment's newest finished MLflow\n"
	    "run and exit (1 when there is none); no project"},
	{"dry-run", no_argument, 'n', "-n, --dry-run",
	    "check the project and build the tarball; send nothing"},
	{"no-wait", no_argument, OPT_NO_WAIT, "    --no-wait",
	    "return once the run is submitted"},
	{"timeout", required_argument, OPT_TIMEOUT, "    --timeout secs",
	    "stop waiting after secs: cancel the run, exit 3"},
	{"json", no_argument, OPT_JSON, "    --json",
	    "print one JSON document: run ids, URL, state, logs"},
	{"quiet", no_argument, 'q', "-q, --quiet",
	    "no state line"},
	{"profile", required_argument, 'p', "-p, --profile name",
	    "~/.databrickscfg profile "
	    "(MLFLOW_TRACKING_URI=databricks://name)"},
	{"debug", no_argument, OPT_VERBOSE, "    --debug, --verbose",
	    "trace HTTP on stderr (secrets redacted; -v is mlflow run's\n"
	    "--version)"},
	{"verbose", no_argument, OPT_VERBOSE, NULL, NULL},
	{"help", no_argument, 'h', "-h, --help",
	    "print this help"},
	{"version", optional_argument, OPT_VERSION, "    --version",
	    "print the version"},
	{"build-image", no_argument, OPT_BUILD_IMAGE, NULL, NULL},
	{"docker-args", required_argument, 'A', NULL, NULL},
	{"host", required_argument, OPT_HOST, NULL, NULL},
	{"param", required_argument, 'P', NULL, NULL},
	{"start-cluster", no_argument, OPT_START_CLUSTER, NULL, NULL},
	{"restart-cluster", no_argument, OPT_RESTART_CLUSTER, NULL, NULL},
	{"allow-stale", no_argument, OPT_ALLOW_STALE, NULL, NULL},
	{"storage-dir", required_argument, OPT_STORAGE_DIR, NULL, NULL},
	{NULL, 0, 0, NULL, NULL},
};

static void
usage(void)
{
	fputs("usage: mlflow-submit [-nq] [-b databricks] [-c config] [-e "
	    "entry] [-P name=value]...\n"
	    "                     [-v git-ref] [--experiment-name name | "
	    "--experiment-id id]\n"
	    "                     [--run-name name] [--env-manager m] "
	    "[--mode auto|shell|python]\n"
	    "                     [--no-wait] [--timeout secs] [--json] "
	    "[-p profile] uri\n"
	    "       mlflow-submit --last-run --experiment-name name "
	    "[-p profile]\n"
	    "\n"
	    "Run an MLflow project on a new Databricks job cluster and "
	    "wait for it; a\n"
	    "`mlflow run -b databricks ...` command line works with "
	    "`mlflow run` replaced.\n"
	    "uri: a directory, file:// or git URI (https, ssh), '#subdir' "
	    "for a project\n"
	    "inside it.\n"
	    "\n", stdout);
	dbm_opts_help(stdout, opts, 26);
	fputs("\n"
	    "Exit status: 0 success, 1 the run failed, 2 usage or project "
	    "error (nothing\n"
	    "sent), 3 timed out, 4 cancelled, 5 infrastructure error "
	    "(internal error,\n"
	    "library installation), 6 API error, 130 interrupted (the run "
	    "was cancelled), 77 authentication failed.\n", stdout);
	exit(dbm_close_stdout() < 0 ? 1 : 0);
}

static void
add_param(struct dbm_submit_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	int i;

	if (eq == NULL || eq == arg)
		dbm_usage_error("-P: expected name=value, not '%s'", arg);
	for (i = 0; i < o->nparams; i++)
		if (strlen(o->params[i].k) == (size_t)(eq - arg) &&
		    strncmp(o->params[i].k, arg, (size_t)(eq - arg)) == 0)
			dbm_usage_error("-P: repeated parameter '%.*s'",
			    (int)(eq - arg), arg);
	o->params[o->nparams].k = dbm_xstrndup(arg, (size_t)(eq - arg));
	o->params[o->nparams++].v = dbm_xstrdup(eq + 1);
}

/* -b names the backend, as in mlflow run. A file there is the backend
 * config of mlflow-submit 0.1 (-b cluster.json): still taken, with a word. */
static void
backend(struct dbm_submit_opts *o, const char *arg)
{
	FILE *f;

	if (strcmp(arg, "databricks") == 0)
		return;
	if ((f = fopen(arg, "r")) != NULL) {
		fclose(f);
		dbm_warnx("-b %s: -b names the backend now, as in mlflow run; "
		    "write -c %s", arg, arg);
		o->backend_config = arg;
		return;
	}
	dbm_usage_error("-b %s: mlflow-submit runs on databricks only (give "
	    "-b databricks, or nothing)", arg);
}

/* The MLflow variables mlflow run reads, where no option said otherwise. */
static const char *workspace_opt;	/* --workspace */

static void
workspace_kind(struct dbm_submit_opts *o, const char *what, const char *v)
{
	if (strcmp(v, "new") != 0 && strcmp(v, "legacy") != 0)
		dbm_usage_error("%s '%s': expected new or legacy", what, v);
	o->legacy_workspace = strcmp(v, "legacy") == 0;
}

static void
from_environment(struct dbm_submit_opts *o, struct dbm_auth_opts *ao)
{
	const char *v;

	if (o->experiment_name == NULL && o->experiment_id == NULL) {
		if ((v = getenv("MLFLOW_EXPERIMENT_ID")) != NULL && *v)
			o->experiment_id = v;
		else if ((v = getenv("MLFLOW_EXPERIMENT_NAME")) != NULL && *v)
			o->experiment_name = v;
	}
	if ((v = getenv("MLFLOW_TRACKING_URI")) != NULL && *v) {
		if (strncmp(v, "databricks://", 13) == 0) {
			if (ao->profile == NULL && v[13])
				ao->profile = v + 13;
		} else if (strcmp(v, "databricks") != 0) {
			dbm_usage_error("MLFLOW_TRACKING_URI=%s: runs on "
			    "Databricks track to the workspace; set it to "
			    "databricks or databricks://<profile>, or unset it",
			    v);
		}
	}
	if (workspace_opt)	/* the option wins over the environment */
		workspace_kind(o, "--workspace", workspace_opt);
	else if ((v = getenv("DBMLOPS_WORKSPACE")) != NULL && *v)
		workspace_kind(o, "DBMLOPS_WORKSPACE", v);
	if ((v = getenv("DBMLOPS_POLL_MAX")) != NULL)
		o->poll_max = atol(v);
	if ((v = getenv("DBMLOPS_LOG_INTERVAL")) != NULL)
		o->log_interval = atol(v);
}

/* The options that only store their argument, or set a flag. */
#define SO(f) offsetof(struct dbm_submit_opts, f)
static const struct { int c; size_t off; } str_opts[] = {
	{'c', SO(backend_config)}, {OPT_CODE_DIR, SO(code_dir)},
	{OPT_CLUSTER_ID, SO(cluster_id)}, {'e', SO(entry)},
	{OPT_ENV_MANAGER, SO(env_manager)},
	{OPT_EXPERIMENT_ID, SO(experiment_id)},
	{OPT_EXPERIMENT_NAME, SO(experiment_name)},
	{OPT_MLFLOW, SO(mlflow_req)}, {OPT_RUN_ID, SO(run_id)},
	{OPT_RUN_NAME, SO(run_name)}, {OPT_SOURCE, SO(source)},
	{'v', SO(version)},
};
static const struct { int c; size_t off; int val; } flag_opts[] = {
	{OPT_SERVERLESS, SO(serverless), 1},
	{OPT_START_CLUSTER, SO(start_cluster), 1},
	{OPT_RESTART_CLUSTER, SO(restart_cluster), 1},
	{OPT_ALLOW_STALE, SO(allow_stale), 1}, {OPT_JSON, SO(json), 1},
	{'n', SO(dry_run), 1}, {OPT_NO_WAIT, SO(wait), 0}, {'q', SO(quiet), 1},
};
#undef SO

/* An option of the tables above: 1 when c was one. */
static int
table_option(int c, struct dbm_submit_opts *o)
{
	size_t i;

	for (i = 0; i < sizeof(str_opts) / sizeof(str_opts[0]); i++)
		if (str_opts[i].c == c) {
			*(const char **)((char *)o + str_opts[i].off) = optarg;
			return 1;
		}
	for (i = 0; i < sizeof(flag_opts) / sizeof(flag_opts[0]); i++)
		if (flag_opts[i].c == c) {
			*(int *)((char *)o + flag_opts[i].off) = flag_opts[i].val;
			return 1;
		}
	return 0;
}

/* An option that checks its argument or means more than a field. */
static void
special_option(int c, struct dbm_submit_opts *o, struct dbm_auth_opts *ao,
    int *verbose, int *version)
{
	char *end;

	switch (c) {
	case 'A':
	case OPT_BUILD_IMAGE:
		dbm_usage_error("%s: docker projects cannot run on Databricks",
		    c == 'A' ? "-A" : "--build-image");
		break;
	case 'b':
		backend(o, optarg);
		break;
	case OPT_WORKSPACE:
		workspace_opt = optarg;
		break;
	case OPT_LAST_RUN:
		last_run = 1;
		break;
	case OPT_ENV_VERSION:
		if (optarg[0] < '1' || optarg[0] > '9' ||
		    strspn(optarg, "0123456789") != strlen(optarg))
			dbm_usage_error("--environment-version: '%s' is not a "
			    "version number (1, 2, ...)", optarg);
		o->env_version = optarg;
		break;
	case 'h':
		usage();
		break;
	case OPT_HOST:
		ao->host = optarg;
		break;
	case OPT_MODE:
		if (strcmp(optarg, "auto") && strcmp(optarg, "shell") &&
		    strcmp(optarg, "python"))
			dbm_usage_error("--mode: '%s' is not auto, shell or "
			    "python", optarg);
		o->mode = optarg;
		break;
	case 'P':
		add_param(o, optarg);
		break;
	case 'p':
		ao->profile = optarg;
		break;
	case OPT_STORAGE_DIR:
		dbm_warnx("--storage-dir: only for local runs (as in mlflow "
		    "run); ignored");
		break;
	case OPT_TIMEOUT:
		o->timeout = strtol(optarg, &end, 10);
		if (*end || o->timeout <= 0)
			dbm_usage_error("--timeout: '%s' is not a number of "
			    "seconds", optarg);
		break;
	case OPT_VERBOSE:
		*verbose = 1;
		break;
	case OPT_VERSION:
		if (optarg)
			dbm_usage_error("--version=%s: --version prints "
			    "mlflow-submit's version; to run a git commit "
			    "(mlflow run --version REF) write -v %s",
			    optarg, optarg);
		*version = 1;
		break;
	default:
		fprintf(stderr, "%s: try 'mlflow-submit --help'\n", dbm_prog());
		exit(2);
	}
}

/* The options that go together, or exclude each other. */
static void
check_combinations(const struct dbm_submit_opts *o)
{
	if (o->backend_config == NULL && o->cluster_id == NULL &&
	    !o->serverless)
		dbm_usage_error("-c cluster.json is needed (a new job cluster's "
		    "spec, as mlflow run -b databricks takes it), or "
		    "--serverless or --cluster-id");
	if (o->serverless && o->cluster_id)
		dbm_usage_error("--serverless and --cluster-id exclude each "
		    "other");
	if (o->start_cluster && o->cluster_id == NULL)
		dbm_usage_error("--start-cluster goes with --cluster-id");
	if ((o->restart_cluster || o->allow_stale) && o->cluster_id == NULL)
		dbm_usage_error("--%s goes with --cluster-id", o->restart_cluster ?
		    "restart-cluster" : "allow-stale");
	if (o->restart_cluster && o->allow_stale)
		dbm_usage_error("--restart-cluster and --allow-stale exclude each "
		    "other");
	if (o->experiment_id && o->experiment_name)
		dbm_usage_error("--experiment-id and --experiment-name exclude "
		    "each other");
}

static void
parse_args(int argc, char *argv[], struct dbm_submit_opts *o,
    struct dbm_auth_opts *ao, int *verbose)
{
	int c, version = 0;

	while ((c = dbm_getopt(argc, argv, opts)) != -1)
		if (!table_option(c, o))
			special_option(c, o, ao, verbose, &version);
	if (version) {
		/* `mlflow run --version REF uri` would print this and run
		 * nothing: say so instead */
		if (optind < argc)
			dbm_usage_error("--version prints mlflow-submit's "
			    "version; to run a git commit (mlflow run --version "
			    "REF) write -v REF");
		dbm_print_version("mlflow-submit");
		exit(dbm_close_stdout() < 0 ? 1 : 0);
	}
	if (last_run) {
		if (optind < argc)
			dbm_usage_error("--last-run takes no project");
		if (o->experiment_id || o->dry_run)
			dbm_usage_error("--last-run goes with --experiment-name "
			    "(or MLFLOW_EXPERIMENT_NAME) and no -n");
		return;
	}
	if (argc - optind != 1)
		dbm_usage_error(argc == optind ? "a project is needed (a "
		    "directory, a file:// or git URI)" : "one project only");
	o->uri = argv[optind];
	check_combinations(o);
}

static void
free_params(struct dbm_submit_opts *o)
{
	int i;

	for (i = 0; i < o->nparams; i++) {
		free(o->params[i].k);
		free(o->params[i].v);
	}
	free(o->params);
}

/* The authenticated HTTP client (nothing for a dry run); 0 or the exit
 * code. */
static int
connect_workspace(const struct dbm_auth_opts *ao, int verbose,
    struct dbm_auth *auth, struct dbm_http *h)
{
	struct dbm_err e;

	if (dbm_auth_resolve(auth, ao, NULL, &e) < 0) {
		dbm_err_print(&e);
		return DBM_SUBMIT_AUTH;	/* config or credentials */
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (dbm_client_init(h, auth, "mlflow-submit", &e) < 0) {
		dbm_err_print(&e);
		return DBM_SUBMIT_API;
	}
	h->verbose = verbose;
	return 0;
}

static void
print_json(const struct dbm_submit_result *r, int code)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "exit_code");
	dbm_jw_int(&w, code);
	dbm_jw_key(&w, "experiment_id");
	dbm_jw_str(&w, r->experiment_id);
	dbm_jw_key(&w, "mlflow_run_id");
	dbm_jw_str(&w, r->mlflow_run_id);
	dbm_jw_key(&w, "run_id");
	if (r->run_id)
		dbm_jw_int(&w, r->run_id);
	else
		dbm_jw_null(&w);
	dbm_jw_key(&w, "run_page_url");
	dbm_jw_str(&w, r->run_page_url);
	dbm_jw_key(&w, "mode");
	dbm_jw_str(&w, r->mode);
	dbm_jw_key(&w, "life_cycle_state");
	dbm_jw_str(&w, r->life);
	dbm_jw_key(&w, "result_state");
	dbm_jw_str(&w, r->result);
	dbm_jw_key(&w, "state_message");
	dbm_jw_str(&w, r->message);
	dbm_jw_key(&w, "logs");
	dbm_jw_str(&w, r->logs);
	dbm_jw_key(&w, "job_spec");
	if (r->job_spec)
		dbm_jw_raw(&w, r->job_spec, strlen(r->job_spec));
	else
		dbm_jw_null(&w);
	dbm_jw_obj_end(&w);
	puts(b.data);
	dbm_buf_free(&b);
}

/* --last-run: the newest finished run's id on stdout; the exit code,
 * with the client closed. */
static int
print_last_run(struct dbm_submit_opts *o, struct dbm_http *h,
    struct dbm_auth *auth)
{
	struct dbm_err e;
	char *id = NULL;
	int rc;

	if (o->experiment_name == NULL)
		dbm_usage_error("--last-run: name the experiment "
		    "(--experiment-name or MLFLOW_EXPERIMENT_NAME)");
	if ((rc = dbm_mlflow_last_run(h, o->experiment_name, &id, &e)) < 0) {
		dbm_err_print(&e);
		rc = e.kind == DBM_E_AUTH ? DBM_SUBMIT_AUTH : DBM_SUBMIT_API;
	} else if (rc == 0) {
		dbm_warnx("experiment %s has no finished run", o->experiment_name);
		rc = 1;
	} else {
		puts(id);
		rc = dbm_close_stdout() < 0 ? 1 : 0;
	}
	free(id);
	free_params(o);
	dbm_http_free(h);
	dbm_auth_free(auth);
	curl_global_cleanup();
	return rc;
}

int
main(int argc, char *argv[])
{
	struct dbm_submit_opts o = {0};
	struct dbm_submit_result r;
	struct dbm_auth_opts ao = {0};
	struct dbm_auth auth;
	struct dbm_http h;
	struct sigaction sa;
	int verbose = 0, code;

	dbm_setprog(argv[0]);
	o.entry = "main";
	o.mode = "auto";
	o.env_version = "4";
	o.wait = 1;
	o.poll_max = 10;
	o.interrupted = &interrupted;
	o.params = dbm_xcalloc((size_t)argc, sizeof(*o.params));
	parse_args(argc, argv, &o, &ao, &verbose);
	from_environment(&o, &ao);
	memset(&auth, 0, sizeof(auth));
	memset(&h, 0, sizeof(h));
	if (!o.dry_run && (code = connect_workspace(&ao, verbose, &auth,
	    &h)) != 0) {
		free_params(&o);
		return code;
	}
	if (last_run)
		return print_last_run(&o, &h, &auth);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	code = dbm_submit(&h, &o, &r);
	if (o.json)
		print_json(&r, code);
	else if (r.logs && *r.logs)
		printf("%s%s", r.logs, r.logs[strlen(r.logs) - 1] != '\n' ?
		    "\n" : "");
	/* -q keeps progress quiet, never the reason of a failure */
	if (r.message && *r.message && code != 0)
		dbm_warnx("%s", r.message);
	else if (code != 0 && code != DBM_SUBMIT_INTERRUPTED && r.life)
		dbm_warnx("the run ended %s%s%s, with no message", r.life,
		    r.result ? " " : "", r.result ? r.result : "");
	if (dbm_close_stdout() < 0 && code == 0)
		code = 1;
	dbm_submit_result_free(&r);
	free_params(&o);
	if (!o.dry_run) {
		dbm_http_free(&h);
		dbm_auth_free(&auth);
		curl_global_cleanup();
	}
	return code;
}

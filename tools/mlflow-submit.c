/*
 * mlflow-submit: run an MLflow project on Databricks as `mlflow run -b
 * databricks --backend-config cluster.json` does, wait for it, print its
 * logs and exit with a code for its outcome. Ctrl-C or SIGTERM cancels the
 * remote run. A `mlflow run -b databricks ...` command line works with its
 * first two words replaced. See mlflow-submit(1).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "auth.h"
#include "err.h"
#include "http.h"
#include "token.h"
#include "json.h"
#include "submit.h"

enum {
	OPT_BUILD_IMAGE = 256, OPT_ENV_MANAGER, OPT_EXPERIMENT_ID,
	OPT_EXPERIMENT_NAME, OPT_HOST, OPT_JSON, OPT_MLFLOW, OPT_MODE,
	OPT_NO_WAIT, OPT_RUN_ID, OPT_RUN_NAME, OPT_SOURCE, OPT_STORAGE_DIR,
	OPT_CLUSTER_ID, OPT_START_CLUSTER, OPT_CODE_DIR, OPT_ENV_VERSION,
	OPT_SERVERLESS,
	OPT_TIMEOUT, OPT_VERBOSE, OPT_VERSION,
};

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = sig;
}

static void
usage(void)
{
	printf("usage: mlflow-submit [-nq] [-b databricks] [-c config] "
	    "[-e entry] [-P name=value]...\n"
	    "                     [-v git-ref] [--experiment-name name | "
	    "--experiment-id id]\n"
	    "                     [--run-name name] [--env-manager m] "
	    "[--mode auto|shell|python]\n"
	    "                     [--no-wait] [--timeout secs] [--json] "
	    "[-p profile] uri\n"
	    "\n"
	    "Run an MLflow project on a new Databricks job cluster and wait for "
	    "it; a\n`mlflow run -b databricks ...` command line works with "
	    "`mlflow run` replaced.\nuri: a directory, file:// or git URI "
	    "(https, ssh), '#subdir' for a project\ninside it.\n"
	    "\n"
	    "  -b, --backend name      databricks (the only one)\n"
	    "  -c, --backend-config c  cluster spec: a JSON file or JSON text "
	    "(flat new_cluster,\n"
	    "                          or {new_cluster, libraries})\n"
	    "  -e, --entry-point name  entry point, or a .py/.sh file to run "
	    "(main)\n"
	    "  -v REF                  git commit, branch or tag to run "
	    "(mlflow run's --version)\n"
	    "  -P, --param-list k=v    a parameter (repeatable)\n"
	    "      --experiment-name n experiment by workspace path (created "
	    "when missing;\n"
	    "                          MLFLOW_EXPERIMENT_NAME)\n"
	    "      --experiment-id id  experiment by id (MLFLOW_EXPERIMENT_ID)\n"
	    "      --run-name name     name of the MLflow run and the job run\n"
	    "      --run-id id         run in this existing MLflow run\n"
	    "      --env-manager m     env manager of the cluster's mlflow run "
	    "(shell mode)\n"
	    "      --cluster-id id     run on this all-purpose cluster (-c then "
	    "only adds\n"
	    "                          libraries); --start-cluster starts it "
	    "when terminated\n"
	    "      --serverless        run on serverless compute (python mode); "
	    "-c then gives\n"
	    "                          an environment spec "
	    "{environment_version, dependencies}\n"
	    "      --environment-version v  serverless environment version "
	    "(4)\n"
	    "      --code-dir dir      folder for the project tarball and the "
	    "launcher (dbfs:/,\n"
	    "                          /Volumes/, /Workspace/; default: "
	    "MLflow's DBFS folder,\n"
	    "                          for serverless ~/.mlflow-submit in "
	    "workspace files)\n"
	    "      --mode m            shell (shell_command_task, runtimes < 13), "
	    "python\n"
	    "                          (spark_python_task), auto (by "
	    "spark_version)\n"
	    "      --mlflow spec       pypi requirement added for the cluster "
	    "(mlflow; '' for none)\n"
	    "      --source dir        the project the run records as its source "
	    "(uri is a copy)\n"
	    "  -n, --dry-run           check the project and build the tarball; "
	    "send nothing\n"
	    "      --no-wait           return once the run is submitted\n"
	    "      --timeout secs      stop waiting after secs: cancel the run, "
	    "exit 3\n"
	    "      --json              print one JSON document: run ids, URL, "
	    "state, logs\n"
	    "  -q, --quiet             no state line\n"
	    "  -p, --profile name      ~/.databrickscfg profile "
	    "(MLFLOW_TRACKING_URI=databricks://name)\n"
	    "      --verbose           trace HTTP on stderr (secrets redacted)\n"
	    "  -h, --help              print this help\n"
	    "      --version           print the version\n"
	    "\n"
	    "Exit status: 0 success, 1 the run failed, 2 usage or project error "
	    "(nothing\nsent), 3 timed out, 4 cancelled, 5 infrastructure error "
	    "(internal error,\nlibrary installation), 6 API error, 130 "
	    "interrupted (the run was cancelled), 77 authentication failed.\n");
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
	if ((v = getenv("DBMLOPS_POLL_MAX")) != NULL)
		o->poll_max = atol(v);
	if ((v = getenv("DBMLOPS_LOG_INTERVAL")) != NULL)
		o->log_interval = atol(v);
}

static void
parse_args(int argc, char *argv[], struct dbm_submit_opts *o,
    struct dbm_auth_opts *ao, int *verbose)
{
	static const struct option longopts[] = {
		{"backend", required_argument, NULL, 'b'},
		{"backend-config", required_argument, NULL, 'c'},
		{"build-image", no_argument, NULL, OPT_BUILD_IMAGE},
		{"cluster-id", required_argument, NULL, OPT_CLUSTER_ID},
		{"code-dir", required_argument, NULL, OPT_CODE_DIR},
		{"environment-version", required_argument, NULL,
		    OPT_ENV_VERSION},
		{"docker-args", required_argument, NULL, 'A'},
		{"dry-run", no_argument, NULL, 'n'},
		{"entry-point", required_argument, NULL, 'e'},
		{"env-manager", required_argument, NULL, OPT_ENV_MANAGER},
		{"experiment-id", required_argument, NULL, OPT_EXPERIMENT_ID},
		{"experiment-name", required_argument, NULL, OPT_EXPERIMENT_NAME},
		{"help", no_argument, NULL, 'h'},
		{"host", required_argument, NULL, OPT_HOST},
		{"json", no_argument, NULL, OPT_JSON},
		{"mlflow", required_argument, NULL, OPT_MLFLOW},
		{"mode", required_argument, NULL, OPT_MODE},
		{"no-wait", no_argument, NULL, OPT_NO_WAIT},
		{"param", required_argument, NULL, 'P'},
		{"param-list", required_argument, NULL, 'P'},
		{"profile", required_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"run-id", required_argument, NULL, OPT_RUN_ID},
		{"run-name", required_argument, NULL, OPT_RUN_NAME},
		{"serverless", no_argument, NULL, OPT_SERVERLESS},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"start-cluster", no_argument, NULL, OPT_START_CLUSTER},
		{"storage-dir", required_argument, NULL, OPT_STORAGE_DIR},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"verbose", no_argument, NULL, OPT_VERBOSE},
		{"version", optional_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	int c, version = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "A:b:c:e:hnP:p:qv:", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'A':
		case OPT_BUILD_IMAGE:
			dbm_usage_error("%s: docker projects cannot run on "
			    "Databricks", c == 'A' ? "-A" : "--build-image");
			break;
		case 'b':
			backend(o, optarg);
			break;
		case 'c':
			o->backend_config = optarg;
			break;
		case OPT_CODE_DIR:
			o->code_dir = optarg;
			break;
		case OPT_ENV_VERSION:
			if (optarg[0] < '1' || optarg[0] > '9' ||
			    strspn(optarg, "0123456789") != strlen(optarg))
				dbm_usage_error("--environment-version: '%s' is "
				    "not a version number (1, 2, ...)", optarg);
			o->env_version = optarg;
			break;
		case OPT_SERVERLESS:
			o->serverless = 1;
			break;
		case OPT_CLUSTER_ID:
			o->cluster_id = optarg;
			break;
		case OPT_START_CLUSTER:
			o->start_cluster = 1;
			break;
		case 'e':
			o->entry = optarg;
			break;
		case OPT_ENV_MANAGER:
			o->env_manager = optarg;
			break;
		case OPT_EXPERIMENT_ID:
			o->experiment_id = optarg;
			break;
		case OPT_EXPERIMENT_NAME:
			o->experiment_name = optarg;
			break;
		case 'h':
			usage();
			break;
		case OPT_HOST:
			ao->host = optarg;
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_MLFLOW:
			o->mlflow_req = optarg;
			break;
		case OPT_MODE:
			if (strcmp(optarg, "auto") && strcmp(optarg, "shell") &&
			    strcmp(optarg, "python"))
				dbm_usage_error("--mode: '%s' is not auto, shell "
				    "or python", optarg);
			o->mode = optarg;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case OPT_NO_WAIT:
			o->wait = 0;
			break;
		case 'P':
			add_param(o, optarg);
			break;
		case 'p':
			ao->profile = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case OPT_RUN_ID:
			o->run_id = optarg;
			break;
		case OPT_RUN_NAME:
			o->run_name = optarg;
			break;
		case OPT_SOURCE:
			o->source = optarg;
			break;
		case OPT_STORAGE_DIR:
			dbm_warnx("--storage-dir: only for local runs (as in "
			    "mlflow run); ignored");
			break;
		case OPT_TIMEOUT:
			o->timeout = strtol(optarg, &end, 10);
			if (*end || o->timeout <= 0)
				dbm_usage_error("--timeout: '%s' is not a number "
				    "of seconds", optarg);
			break;
		case 'v':
			o->version = optarg;
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
			version = 1;
			break;
		default:
			fprintf(stderr, "%s: try 'mlflow-submit --help'\n",
			    dbm_prog());
			exit(2);
		}
	}
	if (version) {
		/* `mlflow run --version REF uri` would print this and run
		 * nothing: say so instead */
		if (optind < argc)
			dbm_usage_error("--version prints mlflow-submit's "
			    "version; to run a git commit (mlflow run --version "
			    "REF) write -v REF");
		printf("mlflow-submit %s\n", DBM_VERSION);
		exit(dbm_close_stdout() < 0 ? 1 : 0);
	}
	if (argc - optind != 1)
		dbm_usage_error(argc == optind ? "a project is needed (a "
		    "directory, a file:// or git URI)" : "one project only");
	o->uri = argv[optind];
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
	if (o->experiment_id && o->experiment_name)
		dbm_usage_error("--experiment-id and --experiment-name exclude "
		    "each other");
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
		return e.kind == DBM_E_AUTH ? DBM_SUBMIT_AUTH : DBM_SUBMIT_API;
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

int
main(int argc, char *argv[])
{
	struct dbm_submit_opts o = {0};
	struct dbm_submit_result r;
	struct dbm_auth_opts ao = {0};
	struct dbm_auth auth;
	struct dbm_http h;
	struct sigaction sa;
	int verbose = 0, code, i;

	dbm_setprog(argv[0]);
	o.entry = "main";
	o.mode = "auto";
	o.mlflow_req = "mlflow";
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
	    &h)) != 0)
		return code;
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
	if (r.message && *r.message && code != 0 && !o.quiet)
		dbm_warnx("%s", r.message);
	if (dbm_close_stdout() < 0 && code == 0)
		code = 1;
	dbm_submit_result_free(&r);
	for (i = 0; i < o.nparams; i++) {
		free(o.params[i].k);
		free(o.params[i].v);
	}
	free(o.params);
	if (!o.dry_run) {
		dbm_http_free(&h);
		dbm_auth_free(&auth);
		curl_global_cleanup();
	}
	return code;
}

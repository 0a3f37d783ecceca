/*
 * mlflow-submit: run an MLflow project directory on Databricks as
 * `mlflow run -b databricks --backend-config cluster.json` does, wait for
 * it, print its logs and exit with a code for its outcome. Ctrl-C or
 * SIGTERM cancels the remote run. See mlflow-submit(1).
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
#include "json.h"
#include "submit.h"

enum {
	OPT_BACKEND_CONFIG = 256, OPT_ENV_MANAGER, OPT_EXPERIMENT_ID,
	OPT_EXPERIMENT_NAME, OPT_HOST, OPT_JSON, OPT_MLFLOW, OPT_MODE,
	OPT_NO_WAIT, OPT_RUN_NAME, OPT_TIMEOUT, OPT_VERSION,
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
	printf("usage: mlflow-submit [-nqv] [-e entry] [-P name=value]... "
	    "[-b config.json]\n"
	    "                     [--experiment-name name | --experiment-id id] "
	    "[--run-name name]\n"
	    "                     [--env-manager m] [--mode auto|shell|python] "
	    "[--no-wait]\n"
	    "                     [--timeout secs] [--json] [-p profile] "
	    "project-dir\n"
	    "\n"
	    "Run an MLflow project on a new Databricks job cluster and wait for "
	    "it.\n"
	    "\n"
	    "  -b, --backend-config f  cluster spec (flat new_cluster, or "
	    "{new_cluster, libraries})\n"
	    "  -e, --entry-point name  entry point (main)\n"
	    "      --env-manager m     env manager of the cluster's mlflow run\n"
	    "      --experiment-id id  experiment by id\n"
	    "      --experiment-name n experiment by name (created when "
	    "missing)\n"
	    "      --json              print one JSON document: run ids, URL, "
	    "state, logs\n"
	    "      --mlflow spec       pypi requirement added for the cluster "
	    "(mlflow; '' for none)\n"
	    "      --mode m            shell (shell_command_task, runtimes < 13), "
	    "python\n"
	    "                          (spark_python_task launcher), auto (by "
	    "spark_version)\n"
	    "  -n, --dry-run           check the project and build the tarball; "
	    "send nothing\n"
	    "      --no-wait           return once the run is submitted\n"
	    "  -P, --param name=value  a parameter (repeatable)\n"
	    "  -p, --profile name      ~/.databrickscfg profile\n"
	    "  -q, --quiet             no state line\n"
	    "      --run-name name     name of the MLflow run and the job run\n"
	    "      --timeout secs      stop waiting after secs: cancel the run, "
	    "exit 3\n"
	    "  -v, --verbose           trace HTTP on stderr (secrets redacted)\n"
	    "  -h, --help              print this help\n"
	    "      --version           print the version\n"
	    "\n"
	    "Exit status: 0 success, 1 the run failed, 2 usage or project error "
	    "(nothing\nsent), 3 timed out, 4 cancelled, 5 infrastructure error "
	    "(internal error,\nlibrary installation), 6 API error, 130 "
	    "interrupted (the run was cancelled).\n");
	exit(dbm_close_stdout() < 0 ? 1 : 0);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"backend-config", required_argument, NULL, 'b'},
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
		{"run-name", required_argument, NULL, OPT_RUN_NAME},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	struct dbm_submit_opts o = {0};
	struct dbm_submit_result r;
	struct dbm_auth_opts ao = {0};
	struct dbm_auth auth;
	struct dbm_http h;
	struct dbm_err e;
	struct sigaction sa;
	char *eq, *end;
	int c, verbose = 0, code, i;

	dbm_setprog(argv[0]);
	o.entry = "main";
	o.mode = "auto";
	o.mlflow_req = "mlflow";
	o.wait = 1;
	o.poll_max = 10;
	o.interrupted = &interrupted;
	o.params = dbm_xcalloc((size_t)argc, sizeof(*o.params));
	if (getenv("DBMLOPS_POLL_MAX"))
		o.poll_max = atol(getenv("DBMLOPS_POLL_MAX"));
	while ((c = getopt_long(argc, argv, "b:e:hnP:p:qv", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'b':
			o.backend_config = optarg;
			break;
		case 'e':
			o.entry = optarg;
			break;
		case OPT_ENV_MANAGER:
			o.env_manager = optarg;
			break;
		case OPT_EXPERIMENT_ID:
			o.experiment_id = optarg;
			break;
		case OPT_EXPERIMENT_NAME:
			o.experiment_name = optarg;
			break;
		case 'h':
			usage();
			break;
		case OPT_HOST:
			ao.host = optarg;
			break;
		case OPT_JSON:
			o.json = 1;
			break;
		case OPT_MLFLOW:
			o.mlflow_req = optarg;
			break;
		case OPT_MODE:
			if (strcmp(optarg, "auto") && strcmp(optarg, "shell") &&
			    strcmp(optarg, "python"))
				dbm_usage_error("--mode: '%s' is not auto, shell "
				    "or python", optarg);
			o.mode = optarg;
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case OPT_NO_WAIT:
			o.wait = 0;
			break;
		case 'P':
			if ((eq = strchr(optarg, '=')) == NULL || eq == optarg)
				dbm_usage_error("-P: expected name=value, not "
				    "'%s'", optarg);
			o.params[o.nparams].k = dbm_xstrndup(optarg,
			    (size_t)(eq - optarg));
			o.params[o.nparams++].v = dbm_xstrdup(eq + 1);
			break;
		case 'p':
			ao.profile = optarg;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case OPT_RUN_NAME:
			o.run_name = optarg;
			break;
		case OPT_TIMEOUT:
			o.timeout = strtol(optarg, &end, 10);
			if (*end || o.timeout <= 0)
				dbm_usage_error("--timeout: '%s' is not a number "
				    "of seconds", optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		case OPT_VERSION:
			printf("mlflow-submit %s\n", DBM_VERSION);
			free(o.params);
			return dbm_close_stdout() < 0;
		default:
			fprintf(stderr, "%s: try 'mlflow-submit --help'\n",
			    dbm_prog());
			free(o.params);
			return 2;
		}
	}
	if (argc - optind != 1)
		dbm_usage_error("one project directory is needed");
	o.project = argv[optind];
	if (o.backend_config == NULL)
		dbm_usage_error("-b cluster.json is needed (a new job cluster's "
		    "spec)");
	if (o.experiment_id && o.experiment_name)
		dbm_usage_error("--experiment-id and --experiment-name exclude "
		    "each other");

	memset(&auth, 0, sizeof(auth));
	memset(&h, 0, sizeof(h));
	if (!o.dry_run) {
		if (dbm_auth_resolve(&auth, &ao, NULL, &e) < 0) {
			dbm_err_print(&e);
			return DBM_SUBMIT_API;
		}
		curl_global_init(CURL_GLOBAL_DEFAULT);
		if (dbm_http_init(&h, &auth, "mlflow-submit", &e) < 0) {
			dbm_err_print(&e);
			return DBM_SUBMIT_API;
		}
		h.verbose = verbose;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	code = dbm_submit(&h, &o, &r);
	if (o.json) {
		struct dbm_buf b = DBM_BUF_INIT;
		struct dbm_jw w;

		dbm_jw_init(&w, &b);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "exit_code");
		dbm_jw_int(&w, code);
		dbm_jw_key(&w, "experiment_id");
		dbm_jw_str(&w, r.experiment_id);
		dbm_jw_key(&w, "mlflow_run_id");
		dbm_jw_str(&w, r.mlflow_run_id);
		dbm_jw_key(&w, "run_id");
		if (r.run_id)
			dbm_jw_int(&w, r.run_id);
		else
			dbm_jw_null(&w);
		dbm_jw_key(&w, "run_page_url");
		dbm_jw_str(&w, r.run_page_url);
		dbm_jw_key(&w, "mode");
		dbm_jw_str(&w, r.mode);
		dbm_jw_key(&w, "life_cycle_state");
		dbm_jw_str(&w, r.life);
		dbm_jw_key(&w, "result_state");
		dbm_jw_str(&w, r.result);
		dbm_jw_key(&w, "state_message");
		dbm_jw_str(&w, r.message);
		dbm_jw_key(&w, "logs");
		dbm_jw_str(&w, r.logs);
		dbm_jw_obj_end(&w);
		puts(b.data);
		dbm_buf_free(&b);
	} else if (r.logs) {
		fputs(r.logs, stdout);
		if (*r.logs && r.logs[strlen(r.logs) - 1] != '\n')
			putchar('\n');
	}
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

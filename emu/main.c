/*
 * workspace-emu: a local Databricks workspace (DBFS, Files, Workspace,
 * OAuth M2M, MLflow tracking through a real MLflow server) in one process,
 * for demos, CI dry runs and tests. See workspace-emu(1).
 *
 * Tokens never come from the command line (argv is visible to every user):
 * they come from DATABRICKS_TOKEN and --token-file, and OAuth clients from
 * --client-file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "emu.h"
#include "api.h"
#include "err.h"
#include "opts.h"
#include "jobs.h"
#include "routes.h"
#include "server.h"
#include "version.h"

enum {
	OPT_CLUSTER_DIR = 200, OPT_MAX_RUNS, OPT_PYTHON,
	OPT_CLIENT_FILE = 256, OPT_FAULTS, OPT_HANDLE_IDLE, OPT_HOLD_DIR, OPT_INLINE_MAX,
	OPT_LOG, OPT_MLFLOW_URL, OPT_PUT_MAX, OPT_READ_MAX, OPT_SEED,
	OPT_TOKEN_FILE, OPT_TOKEN_TTL, OPT_URL_FILE, OPT_USER_NAME, OPT_VERSION,
	OPT_FEDERATION, OPT_GH_TOKEN_FILE, OPT_GH_SUBJECT, OPT_MAX_CONN, OPT_HEADER_TIMEOUT,
	OPT_ADO_TOKEN_FILE, OPT_ADO_SUBJECT, OPT_ENTRA_FILE, OPT_REFRESH_FILE,
	OPT_FILES_PUT_MAX,
	OPT_CLUSTER, OPT_LEGACY_DBFS, OPT_SERVERLESS_ONLY, OPT_VOLUME,
	OPT_PYTHON_FOR,
};

/* The options, in the order --help lists them. */
static const struct dbm_opt opts[] = {
	{"data-dir", required_argument, 'd', "-d, --data-dir dir",
	    "where everything is kept (./.workspace-emu)"},
	{"listen", required_argument, 'l', "-l, --listen addr:port",
	    "address to bind (127.0.0.1:8765; port 0 picks one)"},
	{"token-file", required_argument, OPT_TOKEN_FILE, "    --token-file file",
	    "accepted personal access tokens, one a line\n"
	    "(DATABRICKS_TOKEN is accepted too)"},
	{"client-file", required_argument, OPT_CLIENT_FILE, "    --client-file file",
	    "OAuth clients, 'client_id:client_secret' a line"},
	{"token-ttl", required_argument, OPT_TOKEN_TTL, "    --token-ttl secs",
	    "lifetime of issued OAuth tokens (3600)"},
	{"mlflow-url", required_argument, OPT_MLFLOW_URL, "    --mlflow-url url",
	    "MLflow tracking server to forward MLflow calls and the "
	    "UI to"},
	{"faults", required_argument, OPT_FAULTS, "    --faults spec",
	    "inject faults: KIND[=N]:RATE[@GLOB],... (429, 503, "
	    "drop, delay, hold)"},
	{"seed", required_argument, OPT_SEED, "    --seed n",
	    "seed for --faults (1)"},
	{"hold-dir", required_argument, OPT_HOLD_DIR, "    --hold-dir dir",
	    "where held requests show, one file each (hold faults)"},
	{"log", required_argument, OPT_LOG, "    --log file",
	    "one JSON line per request ('-' for stderr)"},
	{"url-file", required_argument, OPT_URL_FILE, "    --url-file file",
	    "also write the URL to file"},
	{"user-name", required_argument, OPT_USER_NAME, "    --user-name name",
	    "the workspace user tokens act as (emu-user@example.com)"},
	{"federation-file", required_argument, OPT_FEDERATION, "    --federation-file f",
	    "workload identity federation policies: 'client_id\n"
	    "issuer subject [audience [key.pem]]' a line"},
	{"github-oidc-token-file", required_argument, OPT_GH_TOKEN_FILE, "    --github-oidc-token-file f",
	    "request token of the GitHub ID-token stand-in"},
	{"github-oidc-subject", required_argument, OPT_GH_SUBJECT, "    --github-oidc-subject s",
	    "its tokens' subject"},
	{"azure-devops-token-file", required_argument, OPT_ADO_TOKEN_FILE, "    --azure-devops-token-file f",
	    "the System.AccessToken of the Azure DevOps\n"
	    "ID-token stand-in (/azure-devops/...)"},
	{"azure-devops-subject", required_argument, OPT_ADO_SUBJECT, "    --azure-devops-subject s",
	    "its tokens' subject"},
	{"entra-file", required_argument, OPT_ENTRA_FILE, "    --entra-file f",
	    "Entra ID service principals: 'tenant client_id secret'\n"
	    "a line (token endpoint /entra/<tenant>/oauth2/token;\n"
	    "secret - for none; a --federation-file policy with\n"
	    "audience api://AzureADTokenExchange is a federated\n"
	    "credential of its client)"},
	{"refresh-token-file", required_argument, OPT_REFRESH_FILE, "    --refresh-token-file f",
	    "refresh tokens of `databricks auth login`, a line"},
	{"put-max", required_argument, OPT_PUT_MAX, "    --put-max bytes",
	    "dbfs/put multipart limit (2 GB)"},
	{"inline-max", required_argument, OPT_INLINE_MAX, "    --inline-max bytes",
	    "dbfs/put contents and add-block limit (1 MB)"},
	{"read-max", required_argument, OPT_READ_MAX, "    --read-max bytes",
	    "dbfs/read length limit (1 MB)"},
	{"files-put-max", required_argument, OPT_FILES_PUT_MAX, "    --files-put-max bytes",
	    "Files API single PUT limit (5 GiB; larger files\n"
	    "go multipart)"},
	{"handle-idle", required_argument, OPT_HANDLE_IDLE, "    --handle-idle secs",
	    "DBFS stream handle timeout (600)"},
	{"python", required_argument, OPT_PYTHON, "    --python path",
	    "base interpreter of job runs, with mlflow (python3)"},
	{"python-for", required_argument, OPT_PYTHON_FOR, "    --python-for key=path",
	    "the interpreter of runs on runtime key (13.3) or\n"
	    "whose runtime runs Python key (3.10); several"},
	{"max-runs", required_argument, OPT_MAX_RUNS, "    --max-runs n",
	    "job runs executing at once; more wait QUEUED (2)"},
	{"max-connections", required_argument, OPT_MAX_CONN, "    --max-connections n",
	    "connections served at once; more are refused (256)"},
	{"header-timeout", required_argument, OPT_HEADER_TIMEOUT, "    --header-timeout secs",
	    "a new connection's request headers are due within (20)"},
	{"legacy-dbfs", no_argument, OPT_LEGACY_DBFS, "    --legacy-dbfs",
	    "an older workspace: the DBFS root and runtimes before 13.3"},
	{"serverless-only", no_argument, OPT_SERVERLESS_ONLY, "    --serverless-only",
	    "no classic compute (new_cluster, clusters), as Free Edition"},
	{"volume", required_argument, OPT_VOLUME, "    --volume c.s.v",
	    "a Unity Catalog volume to have (catalog, schema made too)"},
	{"cluster", required_argument, OPT_CLUSTER,
	    "    --cluster id:state[:name[:runtime]]",
	    "an all-purpose cluster, RUNNING or TERMINATED\n(runtime: its spark_version)"},
	{"cluster-dir", required_argument, OPT_CLUSTER_DIR, "    --cluster-dir dir",
	    "the cluster support files (dbmlops_cluster.py)"},
	{"verbose", no_argument, 'v', "-v, --verbose",
	    "log server errors on stderr"},
	{"help", no_argument, 'h', "-h, --help",
	    "print this help"},
	{"version", no_argument, OPT_VERSION, "    --version",
	    "print the version"},
	{NULL, 0, 0, NULL, NULL},
};

static void
usage(void)
{
	fputs("usage: workspace-emu [-v] [-d datadir] [-l addr:port] "
	    "[--token-file file]\n"
	    "           [--client-file file] [--mlflow-url url] [--faults "
	    "spec] [--seed n]\n"
	    "           [--log file] [--url-file file]\n"
	    "\n"
	    "A local Databricks workspace. Prints its URL on stdout, then "
	    "serves until\n"
	    "SIGTERM or SIGINT.\n"
	    "\n", stdout);
	dbm_opts_help(stdout, opts, 25);
	exit(dbm_close_stdout() < 0 ? 1 : 0);
}

static long long
num(const char *opt, const char *v)
{
	char *end;
	long long n = strtoll(v, &end, 10);

	if (*end || n < 0)
		dbm_usage_error("%s: '%s' is not a whole number", opt, v);
	return n;
}

/* Lines of a file, blank lines and # comments skipped. */
static char **
read_lines(const char *path, int *n)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, **v = NULL;
	size_t cap = 0;
	ssize_t len;

	*n = 0;
	if (f == NULL)
		dbm_errx(1, "%s: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		v = dbm_xrealloc(v, (size_t)(*n + 1) * sizeof(*v));
		v[(*n)++] = dbm_xstrdup(line);
	}
	if (line) {
		dbm_zero(line, cap);
		free(line);
	}
	fclose(f);
	return v;
}

static long long
num_min(const char *opt, const char *v, long long min)
{
	long long n = num(opt, v);

	if (n < min)
		dbm_usage_error("%s: %lld is below the least value, %lld", opt,
		    n, min);
	return n;
}

static void
add_token(struct emu *e, const char *t)
{
	e->tokens = dbm_xrealloc(e->tokens, (size_t)(e->ntokens + 1) *
	    sizeof(*e->tokens));
	e->tokens[e->ntokens++] = dbm_xstrdup(t);
}

static void
make_dirs(struct emu *e)
{
	static const char *const sub[] = {"dbfs", "workspace", "wsmeta", "tmp",
		"jobs"};
	struct dbm_buf b = DBM_BUF_INIT;
	size_t i;

	if (store_mkdirs(e->datadir) < 0)
		dbm_errx(1, "%s: %s", e->datadir, strerror(errno));
	for (i = 0; i < sizeof(sub) / sizeof(*sub); i++) {
		dbm_buf_reset(&b);
		dbm_buf_printf(&b, "%s/%s", e->datadir, sub[i]);
		if (i == 3)	/* uploads a crash left behind */
			store_remove_tree(b.data);
		if (store_mkdirs(b.data) < 0)
			dbm_errx(1, "%s: %s", b.data, strerror(errno));
	}
	/* the folders every workspace has */
	dbm_buf_reset(&b);
	dbm_buf_printf(&b, "%s/workspace/Shared", e->datadir);
	store_mkdirs(b.data);
	dbm_buf_reset(&b);
	dbm_buf_printf(&b, "%s/workspace/Users/%s", e->datadir, e->user_name);
	if (strchr(e->user_name, '/') == NULL && e->user_name[0] != '.')
		store_mkdirs(b.data);
	dbm_buf_free(&b);
}

/* The base interpreter of job runs: --python, else python3 on PATH. */
static int
find_python(const char *given, char out[PATH_MAX])
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;

	/* never resolved through symlinks: a venv's python must stay itself */
	if (given) {
		char cwd[PATH_MAX];
		struct dbm_buf b = DBM_BUF_INIT;

		if (given[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
			dbm_buf_printf(&b, "%s/", cwd);
		dbm_buf_adds(&b, given);
		if (b.len >= PATH_MAX) {
			dbm_buf_free(&b);
			return -1;
		}
		memcpy(out, b.data, b.len + 1);
		dbm_buf_free(&b);
		return access(out, X_OK);
	}
	copy = dbm_xstrdup(path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, PATH_MAX, "%s/python3", dir);
		if (access(out, X_OK) == 0) {
			free(copy);
			return 0;
		}
	}
	free(copy);
	return -1;
}

/* Where dbmlops_cluster.py is: --cluster-dir, the source tree next to the
 * build, or the installed share directory. */
static int
find_cluster(const char *given, char out[PATH_MAX])
{
	char exe[PATH_MAX], *slash;
	const char *rel[] = {"/../../emu/cluster", "/../share/dbmlops/cluster"};
	ssize_t n;
	size_t i;
	struct stat st;

	if (given)
		return realpath(given, out) ? 0 : -1;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	for (i = 0; i < sizeof(rel) / sizeof(*rel); i++) {
		char cand[PATH_MAX + 64], f[PATH_MAX + 96];

		snprintf(cand, sizeof(cand), "%s%s", exe, rel[i]);
		snprintf(f, sizeof(f), "%s/dbmlops_cluster.py", cand);
		if (stat(f, &st) == 0 && realpath(cand, out))
			return 0;
	}
	return -1;
}

static void
write_url_file(const char *path, const char *url)
{
	struct dbm_buf tmp = DBM_BUF_INIT;
	FILE *f;

	dbm_buf_printf(&tmp, "%s.tmp", path);
	if ((f = fopen(tmp.data, "w")) == NULL ||
	    fprintf(f, "%s\n", url) < 0 || fclose(f) != 0 ||
	    rename(tmp.data, path) < 0)
		dbm_errx(1, "%s: %s", path, strerror(errno));
	dbm_buf_free(&tmp);
}

/* What the command line sets beside struct emu's own fields. */
struct opts {
	const char *listen, *datadir, *faults, *logpath, *urlfile;
	struct emu_fed_opts fed;
	const char *entra, *refresh_file;
	const char *python, *cluster;
	const char **volumes, **python_for;
	int nvolumes, npython_for;
	unsigned long seed;
	int max_runs;
	char host[64];
	struct sockaddr_in addr;
};

/* The address to bind, from --listen addr:port. */
static void
parse_listen(struct opts *o)
{
	const char *colon = strrchr(o->listen, ':');
	long long port;

	if (colon == NULL || (size_t)(colon - o->listen) >= sizeof(o->host))
		dbm_usage_error("--listen '%s': expected addr:port", o->listen);
	memcpy(o->host, o->listen, (size_t)(colon - o->listen));
	o->host[colon - o->listen] = '\0';
	port = num("--listen port", colon + 1);
	if (port > 65535)
		dbm_usage_error("--listen '%s': port %lld is not in 0..65535",
		    o->listen, port);
	memset(&o->addr, 0, sizeof(o->addr));
	o->addr.sin_family = AF_INET;
	o->addr.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, o->host, &o->addr.sin_addr) != 1)
		dbm_usage_error("--listen '%s': not an IPv4 address",
		    o->listen);
	if ((ntohl(o->addr.sin_addr.s_addr) >> 24) != 127)
		dbm_warnx("--listen %s: not a loopback address: anyone who can "
		    "reach it and holds a token can run code on this machine",
		    o->listen);
}

/* --client-file: client_id:client_secret a line, wiped once kept. */
static void
read_clients(struct emu *e, const char *path)
{
	char *colon, **lines;
	int i, n;

	lines = read_lines(path, &n);
	for (i = 0; i < n; i++) {
		if ((colon = strchr(lines[i], ':')) == NULL)
			dbm_errx(2, "%s:%d: expected client_id:client_secret",
			    path, i + 1);
		*colon = '\0';
		e->clients = dbm_xrealloc(e->clients,
		    (size_t)(e->nclients + 1) * sizeof(*e->clients));
		e->clients[e->nclients].id = dbm_xstrdup(lines[i]);
		e->clients[e->nclients++].secret = dbm_xstrdup(colon + 1);
		dbm_zero(lines[i], strlen(colon + 1) +
		    (size_t)(colon - lines[i]) + 1);
		free(lines[i]);
	}
	free(lines);
}

/* --token-file: a token a line, wiped once kept. */
static void
read_tokens(struct emu *e, const char *path)
{
	char **lines;
	int i, n;

	lines = read_lines(path, &n);
	for (i = 0; i < n; i++) {
		add_token(e, lines[i]);
		dbm_zero(lines[i], strlen(lines[i]));
		free(lines[i]);
	}
	free(lines);
}

/* The options that only store their argument, or set a flag. */
#define OO(f) offsetof(struct opts, f)
#define EO(f) offsetof(struct emu, f)
static const struct { int c, in_emu; size_t off; } str_opts[] = {
	{OPT_CLUSTER_DIR, 0, OO(cluster)}, {'d', 0, OO(datadir)},
	{OPT_PYTHON, 0, OO(python)}, {OPT_FAULTS, 0, OO(faults)},
	{OPT_FEDERATION, 0, OO(fed.policy_file)},
	{OPT_GH_TOKEN_FILE, 0, OO(fed.gh_token_file)},
	{OPT_GH_SUBJECT, 0, OO(fed.gh_subject)},
	{OPT_ADO_TOKEN_FILE, 0, OO(fed.ado_token_file)},
	{OPT_ADO_SUBJECT, 0, OO(fed.ado_subject)},
	{OPT_ENTRA_FILE, 0, OO(entra)}, {OPT_REFRESH_FILE, 0, OO(refresh_file)},
	{'l', 0, OO(listen)}, {OPT_LOG, 0, OO(logpath)},
	{OPT_URL_FILE, 0, OO(urlfile)}, {OPT_HOLD_DIR, 1, EO(hold_dir)},
};
static const struct { int c; size_t off; } flag_opts[] = {
	{OPT_LEGACY_DBFS, EO(legacy_dbfs)},
	{OPT_SERVERLESS_ONLY, EO(serverless_only)}, {'v', EO(verbose)},
};
#undef OO
#undef EO

/* An option of the tables above: 1 when c was one. */
static int
table_option(int c, struct emu *e, struct opts *o)
{
	size_t i;

	for (i = 0; i < sizeof(str_opts) / sizeof(str_opts[0]); i++)
		if (str_opts[i].c == c) {
			*(const char **)((str_opts[i].in_emu ? (char *)e :
			    (char *)o) + str_opts[i].off) = optarg;
			return 1;
		}
	for (i = 0; i < sizeof(flag_opts) / sizeof(flag_opts[0]); i++)
		if (flag_opts[i].c == c) {
			*(int *)((char *)e + flag_opts[i].off) = 1;
			return 1;
		}
	return 0;
}

/* The options with numbers: 1 when c was one. */
static int
number_option(int c, struct emu *e, struct opts *o)
{
	switch (c) {
	case OPT_MAX_CONN:
		e->max_conn = (unsigned)num_min("--max-connections", optarg, 1);
		break;
	case OPT_HEADER_TIMEOUT:
		e->header_secs = (long)num_min("--header-timeout", optarg, 1);
		break;
	case OPT_MAX_RUNS:
		o->max_runs = (int)num_min("--max-runs", optarg, 1);
		break;
	case OPT_FILES_PUT_MAX:
		e->files_put_max = num("--files-put-max", optarg);
		if (e->files_put_max == 0)
			dbm_usage_error("--files-put-max: 0 would refuse every "
			    "file");
		break;
	case OPT_HANDLE_IDLE:
		e->handle_idle = (long)num("--handle-idle", optarg);
		break;
	case OPT_INLINE_MAX:
		e->inline_max = num_min("--inline-max", optarg, 1);
		break;
	case OPT_PUT_MAX:
		e->put_max = num_min("--put-max", optarg, 1);
		break;
	case OPT_READ_MAX:
		e->read_max = num_min("--read-max", optarg, 1);
		break;
	case OPT_SEED:
		o->seed = (unsigned long)num("--seed", optarg);
		break;
	case OPT_TOKEN_TTL:
		e->token_ttl = (long)num_min("--token-ttl", optarg, 1);
		break;
	default:
		return 0;
	}
	return 1;
}

/* An option that reads a file, checks its argument or collects. */
static void
special_option(int c, struct emu *e, struct opts *o)
{
	const char *why = NULL;
	size_t n;

	switch (c) {
	case OPT_CLIENT_FILE:
		read_clients(e, optarg);
		break;
	case OPT_TOKEN_FILE:
		read_tokens(e, optarg);
		break;
	case OPT_CLUSTER:
		if (emu_cluster_add(e, optarg, &why) < 0)
			dbm_usage_error("--cluster '%s': %s", optarg, why);
		break;
	case OPT_VOLUME:
		o->volumes = dbm_xrealloc(o->volumes,
		    (size_t)(o->nvolumes + 1) * sizeof(*o->volumes));
		o->volumes[o->nvolumes++] = optarg;
		break;
	case OPT_PYTHON_FOR:
		o->python_for = dbm_xrealloc(o->python_for,
		    (size_t)(o->npython_for + 1) * sizeof(*o->python_for));
		o->python_for[o->npython_for++] = optarg;
		break;
	case 'h':
		usage();
		break;
	case OPT_MLFLOW_URL:
		if (strncmp(optarg, "http://", 7) != 0 &&
		    strncmp(optarg, "https://", 8) != 0)
			dbm_usage_error("--mlflow-url '%s': expected "
			    "http://host:port or https://...", optarg);
		free(e->mlflow_url);
		e->mlflow_url = dbm_xstrdup(optarg);
		n = strlen(e->mlflow_url);
		while (n > 0 && e->mlflow_url[n - 1] == '/')
			e->mlflow_url[--n] = '\0';
		break;
	case OPT_USER_NAME:
		if (*optarg == '\0')
			dbm_usage_error("--user-name: empty");
		e->user_name = optarg;
		break;
	case OPT_VERSION:
		dbm_print_version("workspace-emu");
		exit(dbm_close_stdout() < 0 ? 1 : 0);
	default:
		fprintf(stderr, "%s: try 'workspace-emu --help'\n", dbm_prog());
		exit(2);
	}
}

static void
parse_args(int argc, char *argv[], struct emu *e, struct opts *o)
{
	const char *tok, *why = NULL;
	int c;

	while ((c = dbm_getopt(argc, argv, opts)) != -1)
		if (!table_option(c, e, o) && !number_option(c, e, o))
			special_option(c, e, o);
	if (optind != argc)
		dbm_usage_error("unexpected argument '%s'", argv[optind]);
	if ((tok = getenv("DATABRICKS_TOKEN")) != NULL && *tok)
		add_token(e, tok);
	if (e->ntokens == 0 && e->nclients == 0 && o->fed.policy_file == NULL &&
	    o->entra == NULL && o->refresh_file == NULL)
		dbm_usage_error("no credentials to accept: set DATABRICKS_TOKEN "
		    "or give --token-file, --client-file, --federation-file, "
		    "--entra-file or --refresh-token-file");
	if (o->faults && (e->faults = faults_parse(o->faults, o->seed,
	    &why)) == NULL)
		dbm_usage_error("--faults '%s': %s", o->faults, why);
	if (faults_have(e->faults, FAULT_HOLD) && e->hold_dir == NULL)
		dbm_usage_error("--faults '%s': hold needs --hold-dir",
		    o->faults);
	parse_listen(o);
}

/* One emulator a data directory: a second one would run the first's jobs
 * twice and race its files. The lock goes with the process. */
static void
lock_datadir(struct emu *e)
{
	struct dbm_buf p = DBM_BUF_INIT;
	int fd;

	dbm_buf_printf(&p, "%s/emu.lock", e->datadir);
	fd = open(p.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		dbm_errx(1, "%s: %s", p.data, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		dbm_errx(1, "%s is in use by another workspace-emu (%s is "
		    "locked)", e->datadir, p.data);
	dbm_buf_free(&p);	/* fd stays open: the lock is held */
}

/* The data directory and every module's state. */
static void
open_workspace(struct emu *e, const struct opts *o)
{
	char abs[PATH_MAX], pybuf[PATH_MAX], clbuf[PATH_MAX];
	const char *why = NULL;

	if (store_mkdirs(o->datadir) < 0 || realpath(o->datadir, abs) == NULL)
		dbm_errx(1, "%s: %s", o->datadir, strerror(errno));
	e->datadir = dbm_xstrdup(abs);
	lock_datadir(e);
	make_dirs(e);
	emu_wire(e);
	if (emu_oauth_init(e) < 0)
		dbm_errx(1, "%s/emu.key: %s", e->datadir, strerror(errno));
	emu_dbfs_init(e);
	for (int i = -1; i < o->nvolumes; i++)
		if (emu_uc_seed(e, i < 0 ? NULL : o->volumes[i], &why) < 0)
			dbm_errx(1, i < 0 ? "Unity Catalog: %s%s" :
			    "--volume %s: %s", i < 0 ? "" : o->volumes[i], why);
	if (emu_federation_init(e, &o->fed, &why) < 0 ||
	    emu_entra_init(e, o->entra, &why) < 0 ||
	    emu_oauth_refresh_init(e, o->refresh_file, &why) < 0)
		dbm_errx(1, "%s", why);
	if (find_python(o->python, pybuf) < 0)
		dbm_errx(1, "no Python interpreter for job runs: give --python "
		    "(one with mlflow installed)");
	if (find_cluster(o->cluster, clbuf) < 0)
		dbm_errx(1, "cannot find the cluster support files "
		    "(dbmlops_cluster.py): give --cluster-dir");
	emu_jobs_init(e, pybuf, clbuf, o->max_runs);
	for (int i = 0; i < o->npython_for; i++)
		if (emu_jobs_python_for(e, o->python_for[i], &why) < 0)
			dbm_usage_error("--python-for '%s': %s", o->python_for[i],
			    why);
	if (o->logpath) {
		e->log = strcmp(o->logpath, "-") == 0 ? stderr :
		    fopen(o->logpath, "a");
		if (e->log == NULL)
			dbm_errx(1, "%s: %s", o->logpath, strerror(errno));
	}
}

/* Serve until SIGINT or SIGTERM (blocked in every thread, taken here). */
static void
serve(struct emu *e, const struct opts *o)
{
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	sigset_t sigs;
	int sig;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);	/* threads inherit it */
	d = emu_start(e, (const struct sockaddr *)&o->addr);
	if (d == NULL)
		dbm_errx(1, "cannot listen on %s", o->listen);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(e->url, sizeof(e->url), "http://%s:%u", o->host,
	    (unsigned)info->port);
	printf("%s\n", e->url);
	fflush(stdout);
	if (o->urlfile)
		write_url_file(o->urlfile, e->url);
	/* SIGTERM or SIGINT end it; meanwhile idle upload handles expire
	 * even when nobody calls the DBFS API */
	for (;;) {
		/* a short handle timeout (tests) is swept at once too */
		struct timespec tick = {e->handle_idle < 5 ? 1 : 5, 0};

		if ((sig = sigtimedwait(&sigs, NULL, &tick)) > 0)
			break;
		emu_dbfs_sweep(e);
	}
	atomic_store(&e->stopping, 1);	/* held requests go on */
	emu_jobs_stop(e);
	emu_stop(e, d);
}

static void
close_workspace(struct emu *e)
{
	int i;

	if (e->log && e->log != stderr)
		fclose(e->log);
	faults_free(e->faults);
	emu_dbfs_free(e);
	emu_federation_free(e);
	emu_entra_free(e);
	for (i = 0; i < e->nrefresh; i++) {
		dbm_zero(e->refresh[i], strlen(e->refresh[i]));
		free(e->refresh[i]);
	}
	free(e->refresh);
	emu_clusters_free(e);
	for (i = 0; i < e->ntokens; i++) {
		dbm_zero(e->tokens[i], strlen(e->tokens[i]));
		free(e->tokens[i]);
	}
	free(e->tokens);
	for (i = 0; i < e->nclients; i++) {
		free(e->clients[i].id);
		dbm_zero(e->clients[i].secret, strlen(e->clients[i].secret));
		free(e->clients[i].secret);
	}
	free(e->clients);
	free(e->datadir);
	free(e->mlflow_url);
}

int
main(int argc, char *argv[])
{
	struct emu e;
	struct opts o;

	dbm_setprog(argv[0]);
	memset(&e, 0, sizeof(e));
	memset(&o, 0, sizeof(o));
	e.put_max = 2LL * 1024 * 1024 * 1024;
	e.inline_max = 1024 * 1024;
	e.read_max = 1024 * 1024;
	e.files_put_max = 5LL << 30;
	e.json_max = 16 * 1024 * 1024;
	e.handle_idle = 600;
	e.token_ttl = 3600;
	e.user_name = "emu-user@example.com";
	e.max_conn = 256;
	e.header_secs = 20;
	pthread_mutex_init(&e.log_mu, NULL);
	o.listen = "127.0.0.1:8765";
	o.datadir = ".workspace-emu";
	o.seed = 1;
	o.max_runs = 2;
	parse_args(argc, argv, &e, &o);
	open_workspace(&e, &o);
	free(o.volumes);	/* seeded: the names live on in the store */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	serve(&e, &o);
	close_workspace(&e);
	curl_global_cleanup();
	return 0;
}

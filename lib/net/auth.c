/*
 * Host and credential resolution: see auth.h. The config file is read with
 * inih; values from it only fill what options and environment left unset.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "auth.h"
#include "azcli.h"
#include "buf.h"
#include "json.h"

/* One key = value line of the config file. */
struct ent {
	char *section, *key, *value;
	struct ent *next;
};

struct cfgfile {
	struct ent *head, **tail;
	int nsections;
};

/* The attributes a profile can set, by their config-file key and env name. */
enum { A_HOST, A_TOKEN, A_CLIENT_ID, A_CLIENT_SECRET, A_AUTH_TYPE,
	A_OIDC_TOKEN_ENV, A_OIDC_TOKEN_FILEPATH, A_TOKEN_AUDIENCE,
	A_AZURE_CLIENT_ID, A_AZURE_CLIENT_SECRET, A_AZURE_TENANT_ID,
	A_AZURE_RESOURCE_ID, A_AZURE_ENVIRONMENT, A_N };
static const char *const attr_key[A_N] = {
	"host", "token", "client_id", "client_secret", "auth_type",
	"oidc_token_env", "oidc_token_filepath", "token_audience",
	"azure_client_id", "azure_client_secret", "azure_tenant_id",
	"azure_workspace_resource_id", "azure_environment",
};
static const char *const attr_env[A_N] = {
	"DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID",
	"DATABRICKS_CLIENT_SECRET", "DATABRICKS_AUTH_TYPE",
	"DATABRICKS_OIDC_TOKEN_ENV", "DATABRICKS_OIDC_TOKEN_FILEPATH",
	"DATABRICKS_TOKEN_AUDIENCE", "ARM_CLIENT_ID", "ARM_CLIENT_SECRET",
	"ARM_TENANT_ID", "DATABRICKS_AZURE_RESOURCE_ID", "ARM_ENVIRONMENT",
};
/* The authorization method each attribute belongs to, for the SDKs'
 * "more than one authorization method" check (config.py _validate). */
static const char *const attr_method[A_N] = {
	NULL, "pat", "oauth", "oauth", NULL, "env-oidc", "file-oidc", NULL,
	"azure", "azure", "azure", "azure", NULL,
};

static int
on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct cfgfile *f = user;
	struct ent *e = dbm_xcalloc(1, sizeof(*e));

	e->section = dbm_xstrdup(section);
	e->key = dbm_xstrdup(key);
	e->value = dbm_xstrdup(value ? value : "");
	*f->tail = e;
	f->tail = &e->next;
	return 1;
}

static void
cfg_free(struct cfgfile *f)
{
	struct ent *e, *n;

	for (e = f->head; e; e = n) {
		n = e->next;
		free(e->section);
		free(e->key);
		free(e->value);
		free(e);
	}
	f->head = NULL;
	f->tail = &f->head;
}

static const char *
cfg_get(const struct cfgfile *f, const char *section, const char *key)
{
	const struct ent *e;
	const char *v = NULL;

	for (e = f->head; e; e = e->next)
		if (strcmp(e->section, section) == 0 &&
		    strcasecmp(e->key, key) == 0)
			v = e->value;	/* last one wins */
	return v;
}

static int
cfg_has_section(const struct cfgfile *f, const char *section)
{
	const struct ent *e;

	for (e = f->head; e; e = e->next)
		if (strcmp(e->section, section) == 0)
			return 1;
	return 0;
}

static char *
expand_home(const char *path, const char *(*get)(const char *))
{
	const char *home;
	struct dbm_buf b = DBM_BUF_INIT;

	if (path[0] != '~' || (path[1] != '/' && path[1] != '\0'))
		return dbm_xstrdup(path);
	home = get("HOME");
	dbm_buf_adds(&b, home ? home : "");
	dbm_buf_adds(&b, path + 1);
	return dbm_buf_detach(&b);
}

int
dbm_host_normalise(const char *in, char **out, struct dbm_err *e)
{
	const char *p, *auth;
	size_t n, slen;
	struct dbm_buf b = DBM_BUF_INIT;

	while (isspace((unsigned char)*in))
		in++;
	n = strlen(in);
	while (n > 0 && isspace((unsigned char)in[n - 1]))
		n--;
	p = strstr(in, "://");
	if (p == NULL || p > in + n) {
		dbm_buf_adds(&b, "https://");
		auth = in;
	} else {
		slen = (size_t)(p - in);
		if (!((slen == 4 && strncasecmp(in, "http", 4) == 0) ||
		    (slen == 5 && strncasecmp(in, "https", 5) == 0)))
			return dbm_errf(e, DBM_E_USAGE,
			    "host '%.*s': scheme must be https or http",
			    (int)n, in);
		for (size_t i = 0; i < slen; i++)
			dbm_buf_addc(&b, (char)tolower((unsigned char)in[i]));
		dbm_buf_adds(&b, "://");
		auth = p + 3;
	}
	slen = strcspn(auth, "/?#");
	if ((size_t)(auth - in) + slen > n)
		slen = n - (size_t)(auth - in);
	if (slen == 0 || memchr(auth, '@', slen) != NULL ||
	    memchr(auth, ' ', slen) != NULL) {
		dbm_buf_free(&b);
		return dbm_errf(e, DBM_E_USAGE, "host '%.*s' is not a valid "
		    "workspace URL", (int)n, in);
	}
	dbm_buf_add(&b, auth, slen);
	*out = dbm_buf_detach(&b);
	return 0;
}

static const char *
envget(const char *(*get)(const char *), const char *name)
{
	const char *v = get(name);

	return v && *v ? v : NULL;
}

static const char *
plain_getenv(const char *name)
{
	return getenv(name);
}

/* Where each setting came from, for messages: the SDKs' "Config: ...
 * Env: ..." form, secrets as ***. */
enum { SRC_NONE, SRC_OPTION, SRC_ENV, SRC_FILE };
static const int attr_secret[A_N] = {0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0};

static char *
describe(const char *const val[A_N], const int src[A_N], const char *auth_type,
    const char *profile, const char *file)
{
	struct dbm_buf b = DBM_BUF_INIT;
	int i, n = 0;

	dbm_buf_adds(&b, "Config: ");
	for (i = 0; i < A_N; i++) {
		if (val[i] == NULL || i == A_AUTH_TYPE)
			continue;
		dbm_buf_printf(&b, "%s%s=%s", n++ ? ", " : "", attr_key[i],
		    attr_secret[i] ? "***" : val[i]);
	}
	if (profile)
		dbm_buf_printf(&b, "%sprofile=%s", n++ ? ", " : "", profile);
	if (file)
		dbm_buf_printf(&b, "%sconfig_file=%s", n++ ? ", " : "", file);
	if (auth_type)
		dbm_buf_printf(&b, "%sauth_type=%s", n++ ? ", " : "", auth_type);
	for (i = 0, n = 0; i < A_N; i++)
		if (src[i] == SRC_ENV)
			dbm_buf_printf(&b, "%s%s", n++ ? ", " : ". Env: ",
			    attr_env[i]);
	return dbm_buf_detach(&b);
}

/* An authority (host[:port]) on this machine: 127.0.0.0/8, localhost,
 * [::1]. */
static int
loopback(const char *auth)
{
	return strncmp(auth, "127.", 4) == 0 ||
	    strncmp(auth, "localhost", 9) == 0 ||
	    strncmp(auth, "[::1]", 5) == 0;
}

/* The auth types, in the SDKs' order of trial. */
static const char *const TYPES[] = {
	"pat", "oauth-m2m", "env-oidc", "file-oidc", "github-oidc",
	"azure-client-secret", "github-oidc-azure", "azure-cli",
	"azure-devops-oidc", "databricks-cli",
};

static int
known_type(const char *t)
{
	size_t i;

	for (i = 0; i < sizeof(TYPES) / sizeof(*TYPES); i++)
		if (strcmp(t, TYPES[i]) == 0)
			return 1;
	return 0;
}

/* Two methods' settings and no auth_type: the SDKs' error, naming them
 * (sorted, as they do). */
static int
conflict(const char *const val[A_N], struct dbm_auth *a, struct dbm_err *e)
{
	const char *used[A_N];
	int n = 0, i, k;
	struct dbm_buf b = DBM_BUF_INIT;

	for (i = 0; i < A_N; i++) {
		if (val[i] == NULL || attr_method[i] == NULL)
			continue;
		for (k = 0; k < n && strcmp(used[k], attr_method[i]) != 0; k++)
			;
		if (k == n)
			used[n++] = attr_method[i];
	}
	if (n <= 1 || val[A_AUTH_TYPE])
		return 0;
	for (i = 1; i < n; i++)		/* insertion sort: a handful */
		for (k = i; k > 0 && strcmp(used[k - 1], used[k]) > 0; k--) {
			const char *t = used[k];

			used[k] = used[k - 1];
			used[k - 1] = t;
		}
	for (i = 0; i < n; i++)
		dbm_buf_printf(&b, "%s%s", i ? " and " : "", used[i]);
	dbm_errf(e, DBM_E_AUTH, "validate: more than one authorization method "
	    "configured: %s; set auth_type (or DATABRICKS_AUTH_TYPE) to pick "
	    "one. %s", b.data, a->desc);
	dbm_buf_free(&b);
	return -1;
}

/* The Azure cloud of the workspace: ARM_ENVIRONMENT (azure_environment,
 * PUBLIC, USGOVERNMENT, CHINA, with or without Azure...Cloud around it),
 * else the host's DNS zone (environments.py). Its Entra ID endpoint may be
 * moved with AZURE_AUTHORITY_HOST, as azure-identity allows. */
static void
azure_cloud(struct dbm_auth *a, const char *const val[A_N],
    const char *(*get)(const char *))
{
	static const struct {
		const char *name, *zone, *authority, *mgmt;
	} clouds[] = {
		{"USGOVERNMENT", ".databricks.azure.us",
		    "https://login.microsoftonline.us/",
		    "https://management.core.usgovcloudapi.net/"},
		{"CHINA", ".databricks.azure.cn", "https://login.chinacloudapi.cn/",
		    "https://management.core.chinacloudapi.cn/"},
		{"PUBLIC", "", "https://login.microsoftonline.com/",
		    "https://management.core.windows.net/"},
	};
	const char *env = val[A_AZURE_ENVIRONMENT], *ah;
	char name[32] = "";
	size_t i, hl = strlen(a->host), n = sizeof(clouds) / sizeof(*clouds);

	if (env) {
		snprintf(name, sizeof(name), "%s", env);
		for (i = 0; name[i]; i++)
			name[i] = (char)toupper((unsigned char)name[i]);
		if (strncmp(name, "AZURE", 5) == 0)
			memmove(name, name + 5, strlen(name + 5) + 1);
		if (strlen(name) > 5 && strcmp(name + strlen(name) - 5,
		    "CLOUD") == 0)
			name[strlen(name) - 5] = '\0';
	}
	for (i = 0; i < n - 1; i++) {
		size_t zl = strlen(clouds[i].zone);

		if (env ? strcmp(name, clouds[i].name) == 0 : hl > zl &&
		    strcmp(a->host + hl - zl, clouds[i].zone) == 0)
			break;
	}
	if ((ah = envget(get, "AZURE_AUTHORITY_HOST")) != NULL) {
		struct dbm_buf b = DBM_BUF_INIT;

		dbm_buf_adds(&b, ah);
		if (b.data[b.len - 1] != '/')
			dbm_buf_addc(&b, '/');
		a->azure_authority = dbm_buf_detach(&b);
	} else {
		a->azure_authority = dbm_xstrdup(clouds[i].authority);
	}
	a->azure_mgmt = dbm_xstrdup(clouds[i].mgmt);
	/* the AzureDatabricks application: the resource of the tokens */
	a->azure_login_app = dbm_xstrdup("2ff814a6-3304-4ab8-85cb-cd0e6f879c1d");
}

/* What every Azure auth type takes of the configuration: the tenant (or
 * NULL), the workspace's resource id (or NULL) and the cloud. */
static void
azure_workspace(struct dbm_auth *a, const char *const val[A_N],
    const char *(*get)(const char *))
{
	if (val[A_AZURE_TENANT_ID])
		a->azure_tenant = dbm_xstrdup(val[A_AZURE_TENANT_ID]);
	if (val[A_AZURE_RESOURCE_ID])
		a->azure_resource = dbm_xstrdup(val[A_AZURE_RESOURCE_ID]);
	azure_cloud(a, val, get);
}

/* azure-client-secret: an Entra ID service principal and its secret. */
static int
azure(struct dbm_auth *a, const char *const val[A_N],
    const char *(*get)(const char *))
{
	const char *t = val[A_AUTH_TYPE];

	if ((t && strcmp(t, "azure-client-secret") != 0) ||
	    !val[A_AZURE_CLIENT_ID] || !val[A_AZURE_CLIENT_SECRET])
		return 0;
	a->kind = DBM_AUTH_AZURE;
	a->client_id = dbm_xstrdup(val[A_AZURE_CLIENT_ID]);
	a->client_secret = dbm_xstrdup(val[A_AZURE_CLIENT_SECRET]);
	azure_workspace(a, val, get);
	return 1;
}

/* github-oidc-azure: in a GitHub Actions job allowed ID tokens, an Entra
 * ID application (ARM_CLIENT_ID) whose federated identity credential
 * trusts the job: the job's ID token is the client assertion for Entra ID
 * tokens, and no secret exists anywhere. */
static int
github_oidc_azure(struct dbm_auth *a, const char *const val[A_N],
    const char *(*get)(const char *))
{
	const char *t = val[A_AUTH_TYPE];

	if ((t && strcmp(t, "github-oidc-azure") != 0) ||
	    !val[A_AZURE_CLIENT_ID] ||
	    !envget(get, "ACTIONS_ID_TOKEN_REQUEST_URL") ||
	    !envget(get, "ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
		return 0;
	a->kind = DBM_AUTH_AZURE;
	a->oidc = "github-oidc";
	a->oidc_source = dbm_xstrdup(envget(get,
	    "ACTIONS_ID_TOKEN_REQUEST_URL"));
	a->client_id = dbm_xstrdup(val[A_AZURE_CLIENT_ID]);
	azure_workspace(a, val, get);
	return 1;
}

/* An Azure workspace, as the SDKs tell: its resource id is set, or its
 * host is in an Azure Databricks zone (environments.py). */
static int
is_azure(const struct dbm_auth *a, const char *const val[A_N])
{
	static const char *const zones[] = {".azuredatabricks.net",
	    ".databricks.azure.us", ".databricks.azure.cn"};
	size_t i, hl = strlen(a->host), zl;

	if (val[A_AZURE_RESOURCE_ID])
		return 1;
	for (i = 0; i < sizeof(zones) / sizeof(*zones); i++) {
		zl = strlen(zones[i]);
		if (hl > zl && strcmp(a->host + hl - zl, zones[i]) == 0)
			return 1;
	}
	return 0;
}

/* azure-cli: the Azure CLI's login (az login; the AzureCLI task of Azure
 * Pipelines; azure/login in GitHub Actions), for an Azure workspace or when
 * asked for, in the workspace's tenant (found from it when not set, as the
 * SDK does). As the SDKs do, it is tried by asking the CLI for a token:
 * without az on PATH, or when az refuses, the next method is tried, unless
 * this one was asked for (then az's reason is the error). */
static int
azure_cli(struct dbm_auth *a, const char *const val[A_N],
    const char *(*get)(const char *), struct dbm_err *e)
{
	const char *t = val[A_AUTH_TYPE];
	char *tok;
	time_t exp;
	size_t l;

	if (t ? strcmp(t, "azure-cli") != 0 : !is_azure(a, val))
		return 0;
	azure_workspace(a, val, get);
	if (a->azure_tenant == NULL && dbm_azcli_present())
		a->azure_tenant = dbm_azcli_tenant(a->host);	/* as the SDK */
	if (dbm_azcli_token(a->azure_login_app, a->azure_resource,
	    a->azure_tenant, &a->azcli_mi, &tok, &exp, e) == 0) {
		a->kind = DBM_AUTH_AZURE_CLI;
		dbm_auth_keep(&a->access_token, &a->expiry, tok, exp);
		return 1;
	}
	if (t) {
		l = strlen(e->msg);
		snprintf(e->msg + l, sizeof(e->msg) - l, ". %s", a->desc);
		return -1;
	}
	free(a->azure_tenant);
	free(a->azure_resource);
	free(a->azure_authority);
	free(a->azure_mgmt);
	free(a->azure_login_app);
	a->azure_tenant = a->azure_resource = a->azure_authority = NULL;
	a->azure_mgmt = a->azure_login_app = NULL;
	a->azcli_mi = 0;
	return 0;
}

/* Azure DevOps' predefined variables that locate a job's ID-token
 * service (oidc_token_supplier.py), and the job's access token. */
static const char *const ADO_VARS[] = {
	"SYSTEM_ACCESSTOKEN", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI",
	"SYSTEM_TEAMPROJECTID", "SYSTEM_PLANID", "SYSTEM_JOBID",
	"SYSTEM_HOSTTYPE",
};

/* azure-devops-oidc: in an Azure DevOps job, its ID token exchanged at
 * the workspace for the service principal client_id names. Missing
 * variables are named when the type was asked for. */
static int
azure_devops(struct dbm_auth *a, const char *const val[A_N],
    const char *(*get)(const char *), struct dbm_err *e)
{
	const char *t = val[A_AUTH_TYPE];
	struct dbm_buf miss = DBM_BUF_INIT, url = DBM_BUF_INIT;
	size_t i;

	if (t && strcmp(t, "azure-devops-oidc") != 0)
		return 0;
	for (i = 0; i < sizeof(ADO_VARS) / sizeof(*ADO_VARS); i++)
		if (envget(get, ADO_VARS[i]) == NULL)
			dbm_buf_printf(&miss, "%s%s", miss.len ? ", " : "",
			    ADO_VARS[i]);
	if (val[A_CLIENT_ID] == NULL || miss.len) {
		if (t)
			dbm_errf(e, DBM_E_AUTH, "azure-devops-oidc: %s%s%s%s. %s",
			    val[A_CLIENT_ID] ? "" : "no client_id (the service "
			    "principal's application id, DATABRICKS_CLIENT_ID)",
			    val[A_CLIENT_ID] || !miss.len ? "" : "; ",
			    miss.len ? "missing variables (map "
			    "SYSTEM_ACCESSTOKEN: $(System.AccessToken) into the "
			    "step's env): " : "", miss.len ? miss.data : "",
			    a->desc);
		dbm_buf_free(&miss);
		return t ? -1 : 0;
	}
	dbm_buf_printf(&url, "%s%s/_apis/distributedtask/hubs/%s/plans/%s/"
	    "jobs/%s/oidctoken?api-version=7.2-preview.1",
	    envget(get, "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI"),
	    envget(get, "SYSTEM_TEAMPROJECTID"), envget(get, "SYSTEM_HOSTTYPE"),
	    envget(get, "SYSTEM_PLANID"), envget(get, "SYSTEM_JOBID"));
	a->kind = DBM_AUTH_OIDC;
	a->oidc = "azure-devops-oidc";
	a->oidc_source = dbm_buf_detach(&url);
	a->client_id = dbm_xstrdup(val[A_CLIENT_ID]);
	if (val[A_TOKEN_AUDIENCE])
		a->token_audience = dbm_xstrdup(val[A_TOKEN_AUDIENCE]);
	dbm_buf_free(&miss);
	return 1;
}

/* databricks-cli: a login of `databricks auth login` for the host in the
 * CLI's token cache (~/.databricks/token-cache.json, entry "<host>"). */
static int
cli_login(struct dbm_auth *a, const char *const val[A_N],
    const char *(*get)(const char *), struct dbm_err *e)
{
	const char *t = val[A_AUTH_TYPE];
	char *file = expand_home("~/.databricks/token-cache.json", get);
	struct dbm_buf in = DBM_BUF_INIT, key = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_err je;
	int found = 0;

	if (t && strcmp(t, "databricks-cli") != 0) {
		free(file);
		return 0;
	}
	dbm_json_quote(&key, a->host, strlen(a->host));
	if (dbm_buf_read_file(&in, file, 16 << 20) == 0 && strstr(in.data,
	    key.data) && dbm_json_parse(&j, in.data, in.len, file, &je) == 0) {
		found = dbm_json_member(&j, dbm_json_member(&j, 0, "tokens"),
		    a->host) >= 0;
		dbm_json_free(&j);
	}
	dbm_zero(in.data, in.len);
	dbm_buf_free(&in);
	dbm_buf_free(&key);
	if (!found) {
		if (t)
			dbm_errf(e, DBM_E_AUTH, "databricks-cli: no login for %s "
			    "in %s: run `databricks auth login --host %s`. %s",
			    a->host, file, a->host, a->desc);
		free(file);
		return t ? -1 : 0;
	}
	a->kind = DBM_AUTH_CLI;
	a->cli_cache = file;
	a->cli_key = dbm_xstrdup(a->host);
	return 1;
}

/* Workload identity federation, in the SDKs' order: env-oidc (an ID token
 * in DATABRICKS_OIDC_TOKEN, or the variable oidc_token_env names),
 * file-oidc (oidc_token_filepath), github-oidc (client_id, in a GitHub
 * Actions job allowed to ask for ID tokens). */
static int
oidc(struct dbm_auth *a, const char *const val[A_N],
    const char *(*get)(const char *), struct dbm_err *e)
{
	const char *t = val[A_AUTH_TYPE], *var;

	var = val[A_OIDC_TOKEN_ENV] ? val[A_OIDC_TOKEN_ENV] :
	    "DATABRICKS_OIDC_TOKEN";
	if ((t == NULL || strcmp(t, "env-oidc") == 0) && envget(get, var)) {
		a->oidc = "env-oidc";
		a->oidc_source = dbm_xstrdup(var);
	} else if ((t == NULL || strcmp(t, "file-oidc") == 0) &&
	    val[A_OIDC_TOKEN_FILEPATH]) {
		a->oidc = "file-oidc";
		a->oidc_source = dbm_xstrdup(val[A_OIDC_TOKEN_FILEPATH]);
	} else if ((t == NULL || strcmp(t, "github-oidc") == 0) &&
	    val[A_CLIENT_ID] && envget(get, "ACTIONS_ID_TOKEN_REQUEST_URL") &&
	    envget(get, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")) {
		a->oidc = "github-oidc";
		a->oidc_source = dbm_xstrdup(envget(get,
		    "ACTIONS_ID_TOKEN_REQUEST_URL"));
		/* the request token is a secret: read when it is used */
	} else {
		return 0;
	}
	(void)e;
	a->kind = DBM_AUTH_OIDC;
	if (val[A_CLIENT_ID])
		a->client_id = dbm_xstrdup(val[A_CLIENT_ID]);
	if (val[A_TOKEN_AUDIENCE])
		a->token_audience = dbm_xstrdup(val[A_TOKEN_AUDIENCE]);
	return 0;
}

/* The profiles the file has, for a typo's message: "dev, prod". */
static char *
profile_list(const struct cfgfile *cf)
{
	struct dbm_buf b = DBM_BUF_INIT;
	const struct ent *e, *p;

	for (e = cf->head; e; e = e->next) {
		if (strcmp(e->section, "__settings__") == 0)
			continue;
		for (p = cf->head; p != e; p = p->next)
			if (strcmp(p->section, e->section) == 0)
				break;
		if (p != e)
			continue;	/* listed already */
		if (b.len)
			dbm_buf_adds(&b, ", ");
		dbm_buf_adds(&b, e->section);
	}
	if (b.len == 0)
		dbm_buf_adds(&b, "none");
	return dbm_buf_detach(&b);
}

/* Read the config file at path and fill what val[] lacks from its profile
 * (the one asked for, else the file's default_profile, else DEFAULT). A
 * missing file is no error unless it or a profile was asked for. */
static int
read_profile(struct dbm_auth *a, const char *val[A_N], int src[A_N],
    struct cfgfile *cf, const char *path, const char *profile,
    int explicit_file, struct dbm_err *e)
{
	const char *sect;
	struct stat st;
	char *have;
	int i, line;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return dbm_errf(e, DBM_E_AUTH, "%s: is a directory, not a "
		    "config file", path);
	ini_inline_comment_prefixes = ";#";
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = 65536;
	line = ini_parse(path, on_entry, cf);
	if (line == -1) {
		if (errno != ENOENT || profile != NULL || explicit_file)
			return dbm_err_sys(e, "%s", path);
	} else if (line > 0) {
		return dbm_err_input(e, path, line, 0,
		    "not a key = value line, [section] or comment");
	} else if (line < -1) {
		return dbm_errf(e, DBM_E_SYS, "%s: out of memory", path);
	}
	sect = profile;
	if (sect == NULL)
		sect = cfg_get(cf, "__settings__", "default_profile");
	if (sect == NULL)
		sect = "DEFAULT";
	if (cfg_has_section(cf, sect)) {
		a->profile = dbm_xstrdup(sect);
		a->config_file = dbm_xstrdup(path);
		for (i = 0; i < A_N; i++)
			if (val[i] == NULL &&
			    (val[i] = cfg_get(cf, sect, attr_key[i])) != NULL)
				src[i] = SRC_FILE;
	} else if (profile != NULL) {
		have = profile_list(cf);
		dbm_errf(e, DBM_E_AUTH, "%s: profile '%s' does not exist "
		    "(profiles: %s)", path, profile, have);
		free(have);
		return -1;
	}
	return 0;
}

/* The message when no way to authenticate was found. */
static int
no_method(const struct dbm_auth *a, const char *const val[A_N],
    const char *file, struct dbm_err *e)
{
	const char *t = val[A_AUTH_TYPE];

	if (t && strcmp(t, "azure-client-secret") == 0)
		return dbm_errf(e, DBM_E_AUTH, "auth_type azure-client-secret: "
		    "its settings are missing (ARM_CLIENT_ID and "
		    "ARM_CLIENT_SECRET, or azure_client_id and "
		    "azure_client_secret). %s", a->desc);
	if (t && strcmp(t, "pat") && strcmp(t, "oauth-m2m"))
		return dbm_errf(e, DBM_E_AUTH, "auth_type %s: its settings are "
		    "missing (%s). %s", t,
		    strcmp(t, "env-oidc") == 0 ?
		    "an ID token in DATABRICKS_OIDC_TOKEN, or in the "
		    "variable DATABRICKS_OIDC_TOKEN_ENV names" :
		    strcmp(t, "file-oidc") == 0 ?
		    "DATABRICKS_OIDC_TOKEN_FILEPATH" :
		    strcmp(t, "github-oidc-azure") == 0 ?
		    "ARM_CLIENT_ID, and ACTIONS_ID_TOKEN_REQUEST_URL and "
		    "_TOKEN (the job needs permissions: id-token: write)" :
		    "client_id, and ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN "
		    "(the job needs permissions: id-token: write)", a->desc);
	return dbm_errf(e, DBM_E_AUTH, "default auth: cannot configure "
	    "default credentials for %s: set DATABRICKS_TOKEN, or "
	    "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET, or "
	    "ARM_CLIENT_ID and ARM_CLIENT_SECRET, or token in %s "
	    "(README: Authentication lists every way). %s",
	    a->host, file, a->desc);
}

/* PAT, then OAuth M2M, then each federation and CLI method in the SDKs'
 * order; a->kind stays DBM_AUTH_NONE when none applies. */
static int
pick_method(struct dbm_auth *a, const char *const val[A_N],
    const char *(*get)(const char *), struct dbm_err *e)
{
	const char *t = val[A_AUTH_TYPE];

	if ((t == NULL || strcmp(t, "pat") == 0) && val[A_TOKEN]) {
		a->kind = DBM_AUTH_PAT;
		a->token = dbm_xstrdup(val[A_TOKEN]);
		return 0;
	}
	if (t == NULL || strcmp(t, "oauth-m2m") == 0) {
		if (val[A_CLIENT_ID] && val[A_CLIENT_SECRET]) {
			a->kind = DBM_AUTH_OAUTH_M2M;
			a->client_id = dbm_xstrdup(val[A_CLIENT_ID]);
			a->client_secret = dbm_xstrdup(val[A_CLIENT_SECRET]);
			return 0;
		}
		/* a client_id alone may be github-oidc's */
		if (val[A_CLIENT_SECRET] || (t && val[A_CLIENT_ID]))
			return dbm_errf(e, DBM_E_AUTH, "oauth-m2m needs both "
			    "client_id and client_secret. %s", a->desc);
	}
	if (oidc(a, val, get, e) < 0)
		return -1;
	if (a->kind == DBM_AUTH_NONE)
		azure(a, val, get);
	if (a->kind == DBM_AUTH_NONE)
		github_oidc_azure(a, val, get);
	if (a->kind == DBM_AUTH_NONE && azure_cli(a, val, get, e) < 0)
		return -1;
	if (a->kind == DBM_AUTH_NONE && azure_devops(a, val, get, e) < 0)
		return -1;
	if (a->kind == DBM_AUTH_NONE && cli_login(a, val, get, e) < 0)
		return -1;
	return 0;
}

/* The host, normalised, with a warning for credentials over plain http
 * and the auth type checked. */
static int
check_host(struct dbm_auth *a, const char *const val[A_N], const char *file,
    const char *profile, struct dbm_err *e)
{
	if (val[A_HOST] == NULL)
		return dbm_errf(e, DBM_E_AUTH, "no workspace host: set "
		    "DATABRICKS_HOST, or host in %s (profile %s). %s",
		    file, profile ? profile : "DEFAULT", a->desc);
	if (dbm_host_normalise(val[A_HOST], &a->host, e) < 0)
		return -1;
	if (strncmp(a->host, "http://", 7) == 0 && !loopback(a->host + 7))
		dbm_say_warn("host %s: credentials would travel unencrypted over "
		    "http://; use https://", a->host);
	if (val[A_AUTH_TYPE] == NULL)
		return 0;
	a->auth_type = dbm_xstrdup(val[A_AUTH_TYPE]);
	if (!known_type(val[A_AUTH_TYPE]))
		return dbm_errf(e, DBM_E_AUTH, "auth_type '%s' is not supported "
		    "(pat, oauth-m2m, env-oidc, file-oidc, github-oidc, "
		    "azure-client-secret, github-oidc-azure, azure-cli, "
		    "azure-devops-oidc, databricks-cli). %s",
		    val[A_AUTH_TYPE], a->desc);
	return 0;
}

int
dbm_auth_resolve(struct dbm_auth *a, const struct dbm_auth_opts *o,
    const char *(*get)(const char *), struct dbm_err *e)
{
	const char *val[A_N] = {0};
	int src[A_N] = {0};
	const char *profile, *file;
	struct cfgfile cf = {NULL, NULL, 0};
	struct dbm_auth_opts none = {0};
	char *path = NULL;
	int i, rc = -1, explicit_file;

	memset(a, 0, sizeof(*a));
	cf.tail = &cf.head;
	if (get == NULL)
		get = plain_getenv;
	if (o == NULL)
		o = &none;

	/* options, then environment */
	val[A_HOST] = o->host;
	val[A_TOKEN] = o->token;
	for (i = 0; i < A_N; i++) {
		if (val[i] != NULL)
			src[i] = SRC_OPTION;
		else if ((val[i] = envget(get, attr_env[i])) != NULL)
			src[i] = SRC_ENV;
	}
	profile = o->profile ? o->profile :
	    envget(get, "DATABRICKS_CONFIG_PROFILE");
	file = o->config_file ? o->config_file :
	    envget(get, "DATABRICKS_CONFIG_FILE");
	explicit_file = file != NULL;
	if (file == NULL)
		file = "~/.databrickscfg";

	/* then the config file, unless everything came from elsewhere */
	if (profile != NULL || (val[A_HOST] == NULL && val[A_TOKEN] == NULL &&
	    val[A_CLIENT_ID] == NULL && val[A_CLIENT_SECRET] == NULL &&
	    val[A_AZURE_CLIENT_SECRET] == NULL)) {
		path = expand_home(file, get);
		file = path;
		if (read_profile(a, val, src, &cf, path, profile,
		    explicit_file, e) < 0)
			goto out;
	}
	for (i = 0; i < A_N; i++)
		if (val[i] != NULL && *val[i] == '\0') {
			val[i] = NULL;
			src[i] = SRC_NONE;
		}
	a->desc = describe(val, src, val[A_AUTH_TYPE], a->profile,
	    a->config_file);
	if (check_host(a, val, file, profile, e) < 0 ||
	    conflict(val, a, e) < 0 || pick_method(a, val, get, e) < 0)
		goto out;
	if (a->kind == DBM_AUTH_NONE) {
		no_method(a, val, file, e);
		goto out;
	}
	rc = 0;
out:
	cfg_free(&cf);
	free(path);
	if (rc < 0)
		dbm_auth_free(a);
	return rc;
}

/* Keep a token; *refresh_at is when to replace it: a minute before it
 * expires, or after three quarters of a shorter life. */
void
dbm_auth_keep(char **slot, time_t *refresh_at, char *tok, time_t exp)
{
	time_t now = time(NULL), margin = (exp - now) / 4;

	dbm_free_secret(slot);
	*slot = tok;
	*refresh_at = exp - (margin < 60 ? (margin > 0 ? margin : 0) : 60);
}

void
dbm_auth_free(struct dbm_auth *a)
{
	free(a->host);
	dbm_free_secret(&a->token);
	free(a->client_id);
	dbm_free_secret(&a->client_secret);
	free(a->auth_type);
	free(a->profile);
	free(a->config_file);
	free(a->desc);
	free(a->oidc_source);
	free(a->token_audience);
	free(a->azure_tenant);
	free(a->azure_resource);
	free(a->azure_authority);
	free(a->azure_login_app);
	free(a->azure_mgmt);
	dbm_free_secret(&a->mgmt_token);
	free(a->cli_cache);
	free(a->cli_key);
	dbm_free_secret(&a->access_token);
	memset(a, 0, sizeof(*a));
}

const char *
dbm_auth_name(const struct dbm_auth *a)
{
	switch (a->kind) {
	case DBM_AUTH_PAT:
		return "auth/pat";
	case DBM_AUTH_OAUTH_M2M:
		return "auth/oauth-m2m";
	case DBM_AUTH_OIDC:
		return strcmp(a->oidc, "env-oidc") == 0 ? "auth/env-oidc" :
		    strcmp(a->oidc, "file-oidc") == 0 ? "auth/file-oidc" :
		    strcmp(a->oidc, "azure-devops-oidc") == 0 ?
		    "auth/azure-devops-oidc" : "auth/github-oidc";
	case DBM_AUTH_AZURE:
		return a->oidc ? "auth/github-oidc-azure" :
		    "auth/azure-client-secret";
	case DBM_AUTH_AZURE_CLI:
		return "auth/azure-cli";
	case DBM_AUTH_CLI:
		return "auth/databricks-cli";
	default:
		return "auth/none";
	}
}

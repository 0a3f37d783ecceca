/* lib/auth: precedence, profiles, config-file quirks, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>

#include "auth.h"
#include "azcli.h"
#include "unit.h"

static struct dbm_auth a;
static struct dbm_err e;
static const char *dir;

static void
setup(void)
{
	fakeenv_clear();
	dir = tmpdir_make();
	fakeenv_set("HOME", dir);
}

static int
resolve(const char *profile)
{
	struct dbm_auth_opts o = {0};

	o.profile = profile;
	return dbm_auth_resolve(&a, &o, fakeenv_get, &e);
}

START_TEST(test_env_only)
{
	fakeenv_set("DATABRICKS_HOST", "adb-1.azuredatabricks.net/?o=1#x");
	fakeenv_set("DATABRICKS_TOKEN", "dapi-env");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_str_eq(a.host, "https://adb-1.azuredatabricks.net");
	ck_assert_str_eq(a.token, "dapi-env");
	ck_assert_int_eq(a.kind, DBM_AUTH_PAT);
	ck_assert_ptr_null(a.profile);
	dbm_auth_free(&a);
}
END_TEST

START_TEST(test_default_profile)
{
	write_file(dir, ".databrickscfg",
	    "; a comment\n"
	    "[DEFAULT]\n"
	    "host = http://127.0.0.1:8080/\n"
	    "token = dapi-default   # inline comment\n"
	    "[other]\n"
	    "host = https://other.cloud.databricks.com\n"
	    "token = dapi-other\n");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_str_eq(a.host, "http://127.0.0.1:8080");
	ck_assert_str_eq(a.token, "dapi-default");
	ck_assert_str_eq(a.profile, "DEFAULT");
	dbm_auth_free(&a);

	ck_assert_int_eq(resolve("other"), 0);
	ck_assert_str_eq(a.token, "dapi-other");
	dbm_auth_free(&a);

	fakeenv_set("DATABRICKS_CONFIG_PROFILE", "other");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_str_eq(a.host, "https://other.cloud.databricks.com");
	dbm_auth_free(&a);
}
END_TEST

START_TEST(test_settings_default_profile)
{
	write_file(dir, ".databrickscfg",
	    "[__settings__]\ndefault_profile = dev\n"
	    "[DEFAULT]\nhost = https://d\ntoken = t-default\n"
	    "[dev]\nhost = https://dev\ntoken = t-dev\n");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_str_eq(a.host, "https://dev");
	ck_assert_str_eq(a.profile, "dev");
	dbm_auth_free(&a);
}
END_TEST

START_TEST(test_no_inherit)
{
	/* named profiles do not inherit DEFAULT's keys */
	write_file(dir, ".databrickscfg",
	    "[DEFAULT]\nhost = https://d\ntoken = t-default\n"
	    "[hostonly]\nhost = https://h\n");
	ck_assert_int_lt(resolve("hostonly"), 0);
	ck_assert_int_eq(e.kind, DBM_E_AUTH);
	ck_assert_ptr_nonnull(strstr(e.msg, "cannot configure default credentials"));
}
END_TEST

START_TEST(test_env_beats_file)
{
	write_file(dir, ".databrickscfg",
	    "[p]\nhost = https://file\ntoken = t-file\n");
	fakeenv_set("DATABRICKS_TOKEN", "t-env");
	/* a profile was asked for: the file fills only what env left unset */
	ck_assert_int_eq(resolve("p"), 0);
	ck_assert_str_eq(a.host, "https://file");
	ck_assert_str_eq(a.token, "t-env");
	dbm_auth_free(&a);
}
END_TEST

START_TEST(test_file_skipped)
{
	/* no profile asked for and env has host: the file is not read */
	write_file(dir, ".databrickscfg",
	    "[DEFAULT]\nhost = https://file\ntoken = t-file\n");
	fakeenv_set("DATABRICKS_HOST", "https://env");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "cannot configure default credentials"));
}
END_TEST

START_TEST(test_flags_beat_env)
{
	struct dbm_auth_opts o = {0};

	fakeenv_set("DATABRICKS_HOST", "https://env");
	fakeenv_set("DATABRICKS_TOKEN", "t-env");
	o.host = "flag.example.com";
	o.token = "t-flag";
	ck_assert_int_eq(dbm_auth_resolve(&a, &o, fakeenv_get, &e), 0);
	ck_assert_str_eq(a.host, "https://flag.example.com");
	ck_assert_str_eq(a.token, "t-flag");
	dbm_auth_free(&a);
}
END_TEST

START_TEST(test_config_file_env)
{
	const char *p = write_file(dir, "alt.cfg",
	    "[DEFAULT]\nhost = https://alt\ntoken = t-alt\n");

	fakeenv_set("DATABRICKS_CONFIG_FILE", p);
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_str_eq(a.host, "https://alt");
	ck_assert_str_eq(a.config_file, p);
	dbm_auth_free(&a);
	/* an explicit file that is missing is an error */
	fakeenv_set("DATABRICKS_CONFIG_FILE", "/nonexistent/cfg");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/cfg"));
}
END_TEST

START_TEST(test_missing_profile)
{
	write_file(dir, ".databrickscfg", "[DEFAULT]\nhost = https://d\n"
	    "[dev]\nhost = https://dev\n[prod]\nhost = https://p\n"
	    "[dev]\ntoken = x\n");
	ck_assert_int_lt(resolve("dve"), 0);
	ck_assert_int_eq(e.kind, DBM_E_AUTH);
	ck_assert_ptr_nonnull(strstr(e.msg, "profile 'dve' does not exist "
	    "(profiles: DEFAULT, dev, prod)"));
}
END_TEST

START_TEST(test_config_directory)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/cfgdir", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	fakeenv_set("DATABRICKS_CONFIG_FILE", p);
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_int_eq(e.kind, DBM_E_AUTH);
	ck_assert_ptr_nonnull(strstr(e.msg, "is a directory, not a config"));
}
END_TEST

START_TEST(test_no_host)
{
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_int_eq(e.kind, DBM_E_AUTH);
	ck_assert_ptr_nonnull(strstr(e.msg, "no workspace host"));
}
END_TEST

START_TEST(test_two_methods)
{
	fakeenv_set("DATABRICKS_HOST", "https://h");
	fakeenv_set("DATABRICKS_TOKEN", "t-secret-value");
	fakeenv_set("DATABRICKS_CLIENT_ID", "cid");
	fakeenv_set("DATABRICKS_CLIENT_SECRET", "csecret");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "more than one authorization "
	    "method configured"));
	ck_assert_ptr_null(strstr(e.msg, "t-secret-value"));
	ck_assert_ptr_null(strstr(e.msg, "csecret"));
	fakeenv_set("DATABRICKS_AUTH_TYPE", "oauth-m2m");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_int_eq(a.kind, DBM_AUTH_OAUTH_M2M);
	ck_assert_str_eq(a.client_id, "cid");
	dbm_auth_free(&a);
	fakeenv_set("DATABRICKS_AUTH_TYPE", "pat");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_int_eq(a.kind, DBM_AUTH_PAT);
	dbm_auth_free(&a);
}
END_TEST

/* Workload identity federation in the SDKs' order: env-oidc, file-oidc,
 * github-oidc; a client_id alone is no error (github-oidc's is one). */
START_TEST(test_oidc_order)
{
	fakeenv_set("DATABRICKS_HOST", "https://h");
	fakeenv_set("DATABRICKS_CLIENT_ID", "sp-1");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "cannot configure default "
	    "credentials"));
	fakeenv_set("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gh/t?v=1");
	fakeenv_set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "rt");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_int_eq(a.kind, DBM_AUTH_OIDC);
	ck_assert_str_eq(a.oidc, "github-oidc");
	ck_assert_str_eq(a.oidc_source, "https://gh/t?v=1");
	ck_assert_str_eq(dbm_auth_name(&a), "auth/github-oidc");
	dbm_auth_free(&a);
	/* oidc_token_filepath with a client_id is two methods to the SDKs
	 * (file-oidc and oauth): refused unless auth_type picks one */
	fakeenv_set("DATABRICKS_OIDC_TOKEN_FILEPATH", "/run/id.jwt");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "more than one authorization "
	    "method configured: file-oidc and oauth"));
	fakeenv_set("DATABRICKS_AUTH_TYPE", "file-oidc");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_str_eq(a.oidc, "file-oidc");
	dbm_auth_free(&a);
	fakeenv_set("DATABRICKS_OIDC_TOKEN_FILEPATH", "");
	fakeenv_set("DATABRICKS_AUTH_TYPE", "");
	fakeenv_set("MY_JWT", "eyJ.x.y");
	fakeenv_set("DATABRICKS_OIDC_TOKEN_ENV", "MY_JWT");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "env-oidc and oauth"));
	fakeenv_set("DATABRICKS_AUTH_TYPE", "env-oidc");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_str_eq(a.oidc, "env-oidc");
	ck_assert_str_eq(a.oidc_source, "MY_JWT");
	ck_assert_str_eq(a.client_id, "sp-1");
	dbm_auth_free(&a);
	fakeenv_set("DATABRICKS_OIDC_TOKEN_ENV", "");
	fakeenv_set("DATABRICKS_OIDC_TOKEN", "eyJ.x.y");
	fakeenv_set("DATABRICKS_AUTH_TYPE", "");
	ck_assert_int_eq(resolve(NULL), 0);	/* the default variable */
	ck_assert_str_eq(a.oidc, "env-oidc");
	dbm_auth_free(&a);
	/* an explicit type wins over the order */
	fakeenv_set("DATABRICKS_AUTH_TYPE", "github-oidc");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_str_eq(a.oidc, "github-oidc");
	dbm_auth_free(&a);
	/* a token comes first (with a client_id too it would be two
	 * methods, as the SDKs count them) */
	fakeenv_set("DATABRICKS_AUTH_TYPE", "");
	fakeenv_set("DATABRICKS_CLIENT_ID", "");
	fakeenv_set("DATABRICKS_TOKEN", "dapi-t");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_int_eq(a.kind, DBM_AUTH_PAT);
	ck_assert_ptr_nonnull(strstr(a.desc, "token=***"));
	ck_assert_ptr_null(strstr(a.desc, "dapi-t"));
	dbm_auth_free(&a);
}
END_TEST

START_TEST(test_oidc_missing_settings)
{
	fakeenv_set("DATABRICKS_HOST", "https://h");
	fakeenv_set("DATABRICKS_AUTH_TYPE", "file-oidc");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_int_eq(e.kind, DBM_E_AUTH);
	ck_assert_ptr_nonnull(strstr(e.msg, "auth_type file-oidc: its settings "
	    "are missing (DATABRICKS_OIDC_TOKEN_FILEPATH)"));
	fakeenv_set("DATABRICKS_AUTH_TYPE", "azure-msi");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "is not supported"));
}
END_TEST

/* A token over plain http to another machine is said, not refused. */
START_TEST(test_plain_http_warning)
{
	char path[256], buf[512] = "";
	int saved = dup(2), fd;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stderr", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	fakeenv_set("DATABRICKS_TOKEN", "dapi-t");
	fakeenv_set("DATABRICKS_HOST", "http://127.0.0.1:8080");
	ck_assert_int_eq(resolve(NULL), 0);
	dbm_auth_free(&a);
	fakeenv_set("DATABRICKS_HOST", "http://ws.example.com");
	ck_assert_int_eq(resolve(NULL), 0);
	dbm_auth_free(&a);
	dup2(saved, 2);
	close(saved);
	close(fd);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_gt(fread(buf, 1, sizeof(buf) - 1, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "host http://ws.example.com: "
	    "credentials would travel unencrypted"));
	ck_assert_ptr_null(strstr(buf, "127.0.0.1"));
	ck_assert_ptr_null(strstr(buf, "dapi-t"));
}
END_TEST

START_TEST(test_malformed)
{
	write_file(dir, ".databrickscfg", "[DEFAULT]\nhost = https://d\n"
	    "this line is wrong\n");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_int_eq(e.kind, DBM_E_INPUT);
	ck_assert_int_eq(e.line, 3);
}
END_TEST

START_TEST(test_long_token)
{
	char cfg[4096], tok[2001];

	memset(tok, 'x', 2000);
	tok[2000] = '\0';
	snprintf(cfg, sizeof(cfg), "[DEFAULT]\nhost = h\ntoken = %s\n", tok);
	write_file(dir, ".databrickscfg", cfg);
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_str_eq(a.token, tok);
	dbm_auth_free(&a);
}
END_TEST

START_TEST(test_host_normalise)
{
	static const char *const cases[][2] = {
		{"example.com", "https://example.com"},
		{"https://example.com/", "https://example.com"},
		{"HTTPS://x.com:443/path?q=1", "https://x.com:443"},
		{"  http://127.0.0.1:5000  ", "http://127.0.0.1:5000"},
	};
	char *out;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		ck_assert_int_eq(dbm_host_normalise(cases[i][0], &out, &e), 0);
		ck_assert_str_eq(out, cases[i][1]);
		free(out);
	}
	ck_assert_int_lt(dbm_host_normalise("ftp://x", &out, &e), 0);
	ck_assert_int_lt(dbm_host_normalise("https://", &out, &e), 0);
	ck_assert_int_lt(dbm_host_normalise("https://u:p@h", &out, &e), 0);
}
END_TEST

/* azure-client-secret after the Databricks methods: variables or profile
 * keys, the cloud from ARM_ENVIRONMENT or the host, the authority from
 * AZURE_AUTHORITY_HOST; a token beside it is two methods. */
START_TEST(test_azure_client_secret)
{
	fakeenv_set("DATABRICKS_HOST", "https://adb-1.2.databricks.azure.us");
	fakeenv_set("ARM_CLIENT_ID", "app-1");
	fakeenv_set("ARM_CLIENT_SECRET", "s3cret");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_int_eq(a.kind, DBM_AUTH_AZURE);
	ck_assert_str_eq(dbm_auth_name(&a), "auth/azure-client-secret");
	ck_assert_str_eq(a.client_id, "app-1");
	ck_assert_ptr_null(a.azure_tenant);
	ck_assert_str_eq(a.azure_authority, "https://login.microsoftonline.us/");
	ck_assert_str_eq(a.azure_mgmt,
	    "https://management.core.usgovcloudapi.net/");
	ck_assert_str_eq(a.azure_login_app,
	    "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d");
	ck_assert_ptr_null(strstr(a.desc, "s3cret"));
	ck_assert_ptr_nonnull(strstr(a.desc, "azure_client_secret=***"));
	ck_assert_ptr_nonnull(strstr(a.desc, "ARM_CLIENT_SECRET"));
	dbm_auth_free(&a);
	fakeenv_set("ARM_ENVIRONMENT", "AzureChinaCloud");
	fakeenv_set("ARM_TENANT_ID", "t-1");
	fakeenv_set("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9/entra");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_str_eq(a.azure_tenant, "t-1");
	ck_assert_str_eq(a.azure_authority, "http://127.0.0.1:9/entra/");
	ck_assert_str_eq(a.azure_mgmt,
	    "https://management.core.chinacloudapi.cn/");
	dbm_auth_free(&a);
	fakeenv_set("DATABRICKS_TOKEN", "dapi-t");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "more than one authorization "
	    "method configured: azure and pat"));
	fakeenv_set("DATABRICKS_AUTH_TYPE", "azure-client-secret");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_int_eq(a.kind, DBM_AUTH_AZURE);
	dbm_auth_free(&a);
	/* from a profile, with its own keys */
	fakeenv_clear();
	fakeenv_set("HOME", dir);
	write_file(dir, ".databrickscfg", "[az]\n"
	    "host = https://adb-2.3.azuredatabricks.net\n"
	    "azure_client_id = app-2\nazure_client_secret = s2\n"
	    "azure_tenant_id = t-2\n"
	    "azure_workspace_resource_id = /subscriptions/x/ws\n");
	ck_assert_int_eq(resolve("az"), 0);
	ck_assert_int_eq(a.kind, DBM_AUTH_AZURE);
	ck_assert_str_eq(a.azure_tenant, "t-2");
	ck_assert_str_eq(a.azure_resource, "/subscriptions/x/ws");
	ck_assert_str_eq(a.azure_authority, "https://login.microsoftonline.com/");
	dbm_auth_free(&a);
	fakeenv_set("DATABRICKS_AUTH_TYPE", "azure-client-secret");
	write_file(dir, ".databrickscfg", "[az]\nhost = https://h\n"
	    "azure_client_id = app-2\n");
	ck_assert_int_lt(resolve("az"), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "ARM_CLIENT_SECRET"));
}
END_TEST

/* azure-devops-oidc: the job's predefined variables and a client_id;
 * the ID-token URL as the SDK builds it; what is missing named when the
 * type was asked for. */
START_TEST(test_azure_devops_oidc)
{
	fakeenv_set("DATABRICKS_HOST", "https://adb-1.2.azuredatabricks.net");
	fakeenv_set("DATABRICKS_CLIENT_ID", "sp-9");
	fakeenv_set("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI",
	    "https://dev.azure.com/org/");
	fakeenv_set("SYSTEM_TEAMPROJECTID", "p1");
	fakeenv_set("SYSTEM_PLANID", "plan");
	fakeenv_set("SYSTEM_JOBID", "job");
	fakeenv_set("SYSTEM_HOSTTYPE", "build");
	/* without the access token mapped in: not this method */
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "cannot configure default"));
	fakeenv_set("DATABRICKS_AUTH_TYPE", "azure-devops-oidc");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "missing variables"));
	ck_assert_ptr_nonnull(strstr(e.msg, "SYSTEM_ACCESSTOKEN"));
	fakeenv_set("DATABRICKS_AUTH_TYPE", "");
	fakeenv_set("SYSTEM_ACCESSTOKEN", "ado-job-token");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_int_eq(a.kind, DBM_AUTH_OIDC);
	ck_assert_str_eq(dbm_auth_name(&a), "auth/azure-devops-oidc");
	ck_assert_str_eq(a.oidc_source, "https://dev.azure.com/org/p1/_apis/"
	    "distributedtask/hubs/build/plans/plan/jobs/job/oidctoken"
	    "?api-version=7.2-preview.1");
	ck_assert_str_eq(a.client_id, "sp-9");
	ck_assert_ptr_null(strstr(a.desc, "ado-job-token"));
	dbm_auth_free(&a);
}
END_TEST

/* databricks-cli: the host's login in the CLI's token cache, last. */
START_TEST(test_databricks_cli)
{
	fakeenv_set("DATABRICKS_HOST", "https://w.cloud.databricks.com/");
	ck_assert_int_lt(resolve(NULL), 0);
	fakeenv_set("DATABRICKS_AUTH_TYPE", "databricks-cli");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "databricks auth login --host "
	    "https://w.cloud.databricks.com"));
	{
		char d[4096];

		snprintf(d, sizeof(d), "%s/.databricks", dir);
		ck_assert_int_eq(mkdir(d, 0700), 0);
	}
	write_file(dir, ".databricks/token-cache.json", "{\"version\": 1, "
	    "\"tokens\": {\"https://w.cloud.databricks.com\": "
	    "{\"access_token\": \"at\", \"token_type\": \"Bearer\", "
	    "\"refresh_token\": \"rt\", \"expiry\": "
	    "\"2026-01-01T00:00:00Z\"}}}\n");
	fakeenv_set("DATABRICKS_AUTH_TYPE", "");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_int_eq(a.kind, DBM_AUTH_CLI);
	ck_assert_str_eq(a.cli_key, "https://w.cloud.databricks.com");
	ck_assert_ptr_nonnull(strstr(a.cli_cache,
	    ".databricks/token-cache.json"));
	dbm_auth_free(&a);
	/* a token comes first */
	fakeenv_set("DATABRICKS_TOKEN", "dapi-x");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_int_eq(a.kind, DBM_AUTH_PAT);
	dbm_auth_free(&a);
}
END_TEST

START_TEST(test_github_oidc_azure)
{
	fakeenv_set("DATABRICKS_HOST", "https://adb-1.2.azuredatabricks.net");
	fakeenv_set("ARM_CLIENT_ID", "app-1");
	fakeenv_set("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gh/t?api-version=2");
	fakeenv_set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "req");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_int_eq(a.kind, DBM_AUTH_AZURE);
	ck_assert_str_eq(dbm_auth_name(&a), "auth/github-oidc-azure");
	ck_assert_str_eq(a.client_id, "app-1");
	ck_assert_ptr_null(a.client_secret);
	ck_assert_str_eq(a.oidc_source, "https://gh/t?api-version=2");
	ck_assert_str_eq(a.azure_login_app,
	    "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d");
	dbm_auth_free(&a);
	/* a secret comes first, as in the SDKs' chain */
	fakeenv_set("ARM_CLIENT_SECRET", "s3cret");
	ck_assert_int_eq(resolve(NULL), 0);
	ck_assert_str_eq(dbm_auth_name(&a), "auth/azure-client-secret");
	dbm_auth_free(&a);
	/* asked for outside a job allowed ID tokens: what is missing */
	fakeenv_set("ARM_CLIENT_SECRET", "");
	fakeenv_set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "");
	fakeenv_set("DATABRICKS_AUTH_TYPE", "github-oidc-azure");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "github-oidc-azure: its settings "
	    "are missing (ARM_CLIENT_ID, and ACTIONS_ID_TOKEN_REQUEST_URL"));
}
END_TEST

START_TEST(test_jwt_claim)
{
	/* a person's token has upn; a service principal's has not (the
	 * payloads hold base64url's - and _) */
	ck_assert_int_eq(dbm_jwt_has_claim("eyJhbGciOiJSUzI1NiJ9."
	    "eyJ1cG4iOiJhbm5AY29udG9zby5jb20iLCJuYW1lIjoiQW5uIH4_PiJ9.sig",
	    "upn"), 1);
	ck_assert_int_eq(dbm_jwt_has_claim("eyJhbGciOiJSUzI1NiJ9."
	    "eyJhcHBpZCI6IjlhMWYiLCJvaWQiOiI_Pz4-fn4ifQ.sig", "upn"), 0);
	ck_assert_int_eq(dbm_jwt_has_claim("eyJhbGciOiJSUzI1NiJ9."
	    "eyJhcHBpZCI6IjlhMWYiLCJvaWQiOiI_Pz4-fn4ifQ.sig", "appid"), 1);
	/* not JWTs */
	ck_assert_int_eq(dbm_jwt_has_claim("opaque-token", "upn"), 0);
	ck_assert_int_eq(dbm_jwt_has_claim("a..b", "upn"), 0);
	ck_assert_int_eq(dbm_jwt_has_claim("a.!!!!.b", "upn"), 0);
	ck_assert_int_eq(dbm_jwt_has_claim(NULL, "upn"), 0);
}
END_TEST

START_TEST(test_azure_tenant_in)
{
	char *t = dbm_azure_tenant_in("https://login.microsoftonline.com/"
	    "72f988bf-86f1/oauth2/authorize?client_id=x");

	ck_assert_str_eq(t, "72f988bf-86f1");
	free(t);
	t = dbm_azure_tenant_in("https://login.microsoftonline.us/t-2?x=1");
	ck_assert_str_eq(t, "t-2");
	free(t);
	ck_assert_ptr_null(dbm_azure_tenant_in("https://login.example/"));
	ck_assert_ptr_null(dbm_azure_tenant_in("/relative/path"));
	ck_assert_ptr_null(dbm_azure_tenant_in(NULL));
}
END_TEST

START_TEST(test_azure_cli_type)
{
	/* asked for with no az on PATH: said so, and what was configured */
	fakeenv_set("DATABRICKS_HOST", "https://adb-1.2.azuredatabricks.net");
	char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");

	fakeenv_set("DATABRICKS_AUTH_TYPE", "azure-cli");
	setenv("PATH", dir, 1);		/* az is run from the real PATH */
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_int_eq(e.kind, DBM_E_AUTH);
	ck_assert_ptr_nonnull(strstr(e.msg, "azure-cli: no az on PATH"));
	ck_assert_ptr_nonnull(strstr(e.msg, "auth_type=azure-cli"));
	/* not asked for: skipped, so the usual error */
	fakeenv_set("DATABRICKS_AUTH_TYPE", "");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "default auth: cannot configure"));
	/* a known type now */
	fakeenv_set("DATABRICKS_AUTH_TYPE", "azure-msi");
	ck_assert_int_lt(resolve(NULL), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "azure-client-secret, "
	    "github-oidc-azure, azure-cli, azure-devops-oidc"));
	setenv("PATH", path, 1);
	free(path);
}
END_TEST

Suite *
suite_auth(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("resolve");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_env_only);
	tcase_add_test(tc, test_default_profile);
	tcase_add_test(tc, test_settings_default_profile);
	tcase_add_test(tc, test_no_inherit);
	tcase_add_test(tc, test_env_beats_file);
	tcase_add_test(tc, test_file_skipped);
	tcase_add_test(tc, test_flags_beat_env);
	tcase_add_test(tc, test_config_file_env);
	tcase_add_test(tc, test_missing_profile);
	tcase_add_test(tc, test_config_directory);
	tcase_add_test(tc, test_no_host);
	tcase_add_test(tc, test_two_methods);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_oidc_order);
	tcase_add_test(tc, test_azure_client_secret);
	tcase_add_test(tc, test_azure_devops_oidc);
	tcase_add_test(tc, test_databricks_cli);
	tcase_add_test(tc, test_plain_http_warning);
	tcase_add_test(tc, test_oidc_missing_settings);
	tcase_add_test(tc, test_long_token);
	tcase_add_test(tc, test_host_normalise);
	tcase_add_test(tc, test_jwt_claim);
	tcase_add_test(tc, test_azure_tenant_in);
	tcase_add_test(tc, test_github_oidc_azure);
	tcase_add_test(tc, test_azure_cli_type);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * Workspace host and credentials, found the way the official Databricks
 * clients find them ("unified client auth", PROTOCOL.md section 5):
 * explicit options, then DATABRICKS_* environment variables, then a profile
 * of the config file (DATABRICKS_CONFIG_FILE, default ~/.databrickscfg).
 */
#ifndef DBM_AUTH_H
#define DBM_AUTH_H

#include <time.h>

#include "err.h"

/* Values given on the command line; NULL when not given. */
struct dbm_auth_opts {
	const char *host;
	const char *token;
	const char *profile;
	const char *config_file;
};

enum dbm_auth_kind {
	DBM_AUTH_NONE = 0,
	DBM_AUTH_PAT,
	DBM_AUTH_OAUTH_M2M,
	DBM_AUTH_OIDC,		/* env-oidc, file-oidc, github-oidc,
				 * azure-devops-oidc */
	DBM_AUTH_AZURE,		/* azure-client-secret, github-oidc-azure
				 * (oidc "github-oidc", no secret) */
	DBM_AUTH_AZURE_CLI,	/* azure-cli: the Azure CLI's login */
	DBM_AUTH_CLI,		/* databricks-cli: the CLI's token cache */
};

struct dbm_auth {
	enum dbm_auth_kind kind;
	char *host;		/* normalised: scheme://authority */
	char *token;		/* personal access token (secret) */
	char *client_id;
	char *client_secret;	/* secret */
	/* workload identity federation (DBM_AUTH_OIDC): where the ID token
	 * comes from, and the audience to ask GitHub for */
	const char *oidc;	/* "env-oidc", "file-oidc", "github-oidc",
				 * "azure-devops-oidc" */
	char *oidc_source;	/* the variable, the file, or the ID-token
				 * URL (GitHub's, Azure DevOps') */
	char *token_audience;	/* or NULL: the token endpoint */
	char *auth_type;	/* as configured, or NULL */
	char *profile;		/* profile read from the file, or NULL */
	char *config_file;	/* file read, or NULL */
	/* for messages, as the SDKs write it: "Config: host=..., token=***,
	 * auth_type=pat. Env: DATABRICKS_HOST, DATABRICKS_TOKEN" (no secret) */
	char *desc;
	/* azure-client-secret (client_id, client_secret: ARM_CLIENT_*;
	 * github-oidc-azure: no secret, the job's ID token instead) */
	char *azure_tenant;	/* or NULL: found from the workspace */
	char *azure_resource;	/* azure_workspace_resource_id, or NULL */
	char *azure_authority;	/* Entra ID endpoint, ending in / */
	char *azure_login_app;	/* the Azure Databricks application id */
	char *azure_mgmt;	/* the service management endpoint */
	char *mgmt_token;	/* secret */
	time_t mgmt_expiry;	/* when to refresh it */
	/* azure-cli (azure_tenant, azure_resource as above): whether the
	 * CLI's login is a managed identity, and whether it gets a
	 * management token (a service principal's): 0 not known yet, 1 yes,
	 * -1 no */
	int azcli_mi;
	int azcli_mgmt;
	/* databricks-cli: the token cache of `databricks auth login` */
	char *cli_cache;	/* the file */
	char *cli_key;		/* its entry: the host */
	/* OAuth access token cache */
	char *access_token;	/* secret */
	time_t expiry;		/* when to refresh it (before it expires) */
};

/*
 * Resolve host and credentials. getenv_fn lets tests supply an environment
 * (NULL means getenv). On success the caller owns a and frees it with
 * dbm_auth_free().
 */
int dbm_auth_resolve(struct dbm_auth *a, const struct dbm_auth_opts *o,
    const char *(*getenv_fn)(const char *), struct dbm_err *e);
void dbm_auth_free(struct dbm_auth *a);

/* Keep tok (a secret, now *slot's) in *slot of a's token cache, to be
 * replaced from *refresh_at on: a minute before exp, or after three
 * quarters of a shorter life. */
void dbm_auth_keep(char **slot, time_t *refresh_at, char *tok, time_t exp);

/* "auth/pat", "auth/oauth-m2m", "auth/env-oidc"...: the User-Agent part. */
const char *dbm_auth_name(const struct dbm_auth *a);

/*
 * Normalise a host as the SDKs do: https:// when schemeless, path, query
 * and trailing slash dropped. *out is malloc'd.
 */
int dbm_host_normalise(const char *in, char **out, struct dbm_err *e);

#endif

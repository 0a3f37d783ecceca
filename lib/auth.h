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
	DBM_AUTH_OIDC,		/* env-oidc, file-oidc, github-oidc */
};

struct dbm_auth {
	enum dbm_auth_kind kind;
	char *host;		/* normalised: scheme://authority */
	char *token;		/* personal access token (secret) */
	char *client_id;
	char *client_secret;	/* secret */
	/* workload identity federation (DBM_AUTH_OIDC): where the ID token
	 * comes from, and the audience to ask GitHub for */
	const char *oidc;	/* "env-oidc", "file-oidc", "github-oidc" */
	char *oidc_source;	/* the variable, the file, or GitHub's URL */
	char *token_audience;	/* or NULL: the token endpoint */
	char *auth_type;	/* as configured, or NULL */
	char *profile;		/* profile read from the file, or NULL */
	char *config_file;	/* file read, or NULL */
	/* for messages, as the SDKs write it: "Config: host=..., token=***,
	 * auth_type=pat. Env: DATABRICKS_HOST, DATABRICKS_TOKEN" (no secret) */
	char *desc;
	/* OAuth access token cache */
	char *access_token;	/* secret */
	time_t expiry;
};

/*
 * Resolve host and credentials. getenv_fn lets tests supply an environment
 * (NULL means getenv). On success the caller owns a and frees it with
 * dbm_auth_free().
 */
int dbm_auth_resolve(struct dbm_auth *a, const struct dbm_auth_opts *o,
    const char *(*getenv_fn)(const char *), struct dbm_err *e);
void dbm_auth_free(struct dbm_auth *a);

/* "auth/pat", "auth/oauth-m2m", "auth/env-oidc"...: the User-Agent part. */
const char *dbm_auth_name(const struct dbm_auth *a);

/*
 * Normalise a host as the SDKs do: https:// when schemeless, path, query
 * and trailing slash dropped. *out is malloc'd.
 */
int dbm_host_normalise(const char *in, char **out, struct dbm_err *e);

#endif

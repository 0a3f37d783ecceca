/*
 * azure-cli auth (azcli.c, PROTOCOL.md section 5): tokens of the Azure
 * CLI's login (`az login`, the AzureCLI task of Azure Pipelines, azure/login
 * in GitHub Actions), asked of `az account get-access-token` as
 * databricks-sdk asks.
 */
#ifndef DBM_AZCLI_H
#define DBM_AZCLI_H

#include <time.h>

#include "err.h"

/* Seconds one az command may take before it is killed. */
#define DBM_AZCLI_TIMEOUT 120

/*
 * A token of the CLI's login for resource (an application id or the
 * management endpoint): *tok (a secret, the caller frees it) and when it
 * expires. As the SDK asks: in the subscription of workspace_resource_id
 * (/subscriptions/<id>/...) when not NULL, then without it; with --tenant
 * when tenant is not NULL, unless the login is a managed identity (*mi
 * remembers what `az account show` said: 0 not asked yet, 1 yes, -1 no).
 * 0; 1 when az is not on PATH; -1 when az refused or failed. On 1 and -1,
 * e says why (DBM_E_AUTH, with the CLI's own words).
 */
int dbm_azcli_token(const char *resource, const char *workspace_resource_id,
    const char *tenant, int *mi, char **tok, time_t *exp, struct dbm_err *e);

/* Whether an executable az is on PATH. */
int dbm_azcli_present(void);

/* The tenant in the address an Azure workspace's /aad/auth redirects to,
 * https://login.microsoftonline.com/<tenant>/oauth2/authorize?...: the
 * first path segment (malloc'd), or NULL. */
char *dbm_azure_tenant_in(const char *location);

/* The Entra ID tenant of the workspace at host, from where its /aad/auth
 * redirects (https://login.microsoftonline.com/<tenant>/oauth2/...), as the
 * SDK finds it before asking the CLI; NULL when it does not redirect. One
 * GET, no retries, 30 s at most. */
char *dbm_azcli_tenant(const char *host);

/* Whether the payload of a JWT holds claim (a person's token has "upn", a
 * service principal's has not). 0 as well when tok is not a JWT. */
int dbm_jwt_has_claim(const char *tok, const char *claim);

#endif

/*
 * The workspace's own authentication endpoints (PROTOCOL.md section 5).
 * Names only: the token layer, below the API layer, makes these requests
 * (token.c), so this header holds no call and includes nothing.
 */
#ifndef DBM_API_OIDC_H
#define DBM_API_OIDC_H

/* OAuth authorization server metadata: the token endpoint. */
#define DBM_API_OIDC_METADATA "/oidc/.well-known/oauth-authorization-server"
/* Azure Databricks: redirects to the workspace's Entra ID tenant. */
#define DBM_API_AAD_AUTH "/aad/auth"

#endif

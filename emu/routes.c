/*
 * workspace-emu's wiring of its services (svc/, jobs/) into the server
 * (core/): the route table, which handler answers which method and path,
 * with what body handling and whether credentials are needed (every
 * endpoint is a line here; no module dispatches again), and which issued
 * tokens are credentials. Routes are tried in order on the canonical path
 * (server.c); a prefix route hands the handler the rest of the path,
 * starting with its slash.
 */
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"
#include "routes.h"

static enum MHD_Result
no_api(struct req *r)
{
	return emu_reply_error(r, 404, "ENDPOINT_NOT_FOUND",
	    "No API found for '%s %s'", r->method, r->path);
}

#define EXACT	0
#define JSON	ROUTE_JSON
#define PREFIX	ROUTE_PREFIX
#define PUBLIC	ROUTE_PUBLIC
#define BROWSER	ROUTE_BROWSER

/* One version's Jobs endpoints (the handlers read the version). */
#define JOBS(v) \
	{"POST", "/api/" v "/jobs/runs/submit", EXACT, BODY_JSON, \
	    emu_jobs_submit, NULL, NULL}, \
	{"GET", "/api/" v "/jobs/runs/get", EXACT, BODY_JSON, emu_jobs_get, \
	    NULL, NULL}, \
	{"GET", "/api/" v "/jobs/runs/get-output", EXACT, BODY_JSON, \
	    emu_jobs_get_output, NULL, NULL}, \
	{"GET", "/api/" v "/jobs/runs/export", EXACT, BODY_JSON, \
	    emu_jobs_export, NULL, NULL}, \
	{"POST", "/api/" v "/jobs/runs/cancel", EXACT, BODY_JSON, \
	    emu_jobs_cancel, NULL, NULL}, \
	{"GET", "/api/" v "/jobs/runs/list", EXACT, BODY_JSON, \
	    emu_jobs_list_runs, NULL, NULL}, \
	{"POST", "/api/" v "/jobs/runs/delete", JSON, BODY_JSON, \
	    emu_jobs_delete_run, NULL, NULL}, \
	{"POST", "/api/" v "/jobs/create", JSON, BODY_JSON, emu_jobs_create, \
	    NULL, NULL}, \
	{"GET", "/api/" v "/jobs/get", EXACT, BODY_JSON, emu_jobs_job_get, \
	    NULL, NULL}, \
	{"GET", "/api/" v "/jobs/list", EXACT, BODY_JSON, emu_jobs_list, \
	    NULL, NULL}, \
	{"POST", "/api/" v "/jobs/reset", JSON, BODY_JSON, emu_jobs_reset, \
	    NULL, NULL}, \
	{"POST", "/api/" v "/jobs/update", JSON, BODY_JSON, emu_jobs_update, \
	    NULL, NULL}, \
	{"POST", "/api/" v "/jobs/delete", JSON, BODY_JSON, emu_jobs_delete, \
	    NULL, NULL}, \
	{"POST", "/api/" v "/jobs/run-now", JSON, BODY_JSON, \
	    emu_jobs_run_now, NULL, NULL}

/* One version's Clusters endpoints (section 17). */
#define CLUSTERS(v) \
	{"GET", "/api/" v "/clusters/list", EXACT, BODY_JSON, \
	    emu_clusters_list, NULL, NULL}, \
	{"GET", "/api/" v "/clusters/get", EXACT, BODY_JSON, emu_clusters_get, \
	    NULL, NULL}, \
	{"POST", "/api/" v "/clusters/create", JSON, BODY_JSON, \
	    emu_clusters_create, NULL, NULL}, \
	{"POST", "/api/" v "/clusters/edit", JSON, BODY_JSON, \
	    emu_clusters_edit, NULL, NULL}, \
	{"POST", "/api/" v "/clusters/start", JSON, BODY_JSON, \
	    emu_clusters_start, NULL, NULL}, \
	{"POST", "/api/" v "/clusters/restart", JSON, BODY_JSON, \
	    emu_clusters_restart, NULL, NULL}, \
	{"POST", "/api/" v "/clusters/delete", JSON, BODY_JSON, \
	    emu_clusters_delete, NULL, NULL}, \
	{"POST", "/api/" v "/clusters/permanent-delete", JSON, BODY_JSON, \
	    emu_clusters_permanent_delete, NULL, NULL}, \
	{"POST", "/api/" v "/clusters/events", JSON, BODY_JSON, \
	    emu_clusters_events, NULL, NULL}, \
	{"GET", "/api/" v "/clusters/spark-versions", EXACT, BODY_NONE, \
	    emu_spark_versions, NULL, NULL}, \
	{"GET", "/api/" v "/clusters/list-node-types", EXACT, BODY_NONE, \
	    emu_node_types, NULL, NULL}

static const struct route routes[] = {
	/* DBFS API 2.0 (PROTOCOL.md section 1) */
	{"POST", "/api/2.0/dbfs/put", EXACT, BODY_FORM, emu_dbfs_put,
	    &emu_upload_form, NULL},
	{"GET", "/api/2.0/dbfs/get-status", EXACT, BODY_JSON,
	    emu_dbfs_get_status, NULL, NULL},
	{"GET", "/api/2.0/dbfs/list", EXACT, BODY_JSON, emu_dbfs_list,
	    NULL, NULL},
	{"GET", "/api/2.0/dbfs/read", EXACT, BODY_JSON, emu_dbfs_read,
	    NULL, NULL},
	{"POST", "/api/2.0/dbfs/mkdirs", JSON, BODY_JSON, emu_dbfs_mkdirs,
	    NULL, NULL},
	{"POST", "/api/2.0/dbfs/delete", JSON, BODY_JSON, emu_dbfs_delete,
	    NULL, NULL},
	{"POST", "/api/2.0/dbfs/move", JSON, BODY_JSON, emu_dbfs_move,
	    NULL, NULL},
	{"POST", "/api/2.0/dbfs/create", JSON, BODY_JSON, emu_dbfs_create,
	    NULL, NULL},
	{"POST", "/api/2.0/dbfs/add-block", JSON, BODY_JSON, emu_dbfs_add_block,
	    NULL, NULL},
	{"POST", "/api/2.0/dbfs/close", JSON, BODY_JSON, emu_dbfs_close,
	    NULL, NULL},
	/* MLflow's raw DBFS paths */
	{"POST", "/dbfs/", PREFIX, BODY_FILE, emu_dbfs_raw, NULL, NULL},
	{"GET", "/dbfs/", PREFIX, BODY_NONE, emu_dbfs_raw, NULL, NULL},
	/* Unity Catalog (section 15) */
#define UC "/api/2.1/unity-catalog/"
	{"POST", UC "catalogs", JSON, BODY_JSON, emu_uc_catalogs, NULL, NULL},
	{"GET", UC "catalogs", EXACT, BODY_JSON, emu_uc_catalogs, NULL, NULL},
	{"GET", UC "catalogs/", PREFIX, BODY_JSON, emu_uc_catalog, NULL, NULL},
	{"DELETE", UC "catalogs/", PREFIX, BODY_JSON, emu_uc_catalog,
	    NULL, NULL},
	{"POST", UC "schemas", JSON, BODY_JSON, emu_uc_schemas, NULL, NULL},
	{"GET", UC "schemas", EXACT, BODY_JSON, emu_uc_schemas, NULL, NULL},
	{"GET", UC "schemas/", PREFIX, BODY_JSON, emu_uc_schema, NULL, NULL},
	{"DELETE", UC "schemas/", PREFIX, BODY_JSON, emu_uc_schema, NULL, NULL},
	{"POST", UC "volumes", JSON, BODY_JSON, emu_uc_volumes, NULL, NULL},
	{"GET", UC "volumes", EXACT, BODY_JSON, emu_uc_volumes, NULL, NULL},
	{"GET", UC "volumes/", PREFIX, BODY_JSON, emu_uc_volume, NULL, NULL},
	{"DELETE", UC "volumes/", PREFIX, BODY_JSON, emu_uc_volume, NULL, NULL},
#undef UC
	{"PUT", "/api/2.0/fs/files/", PREFIX, BODY_FILE, emu_files, NULL, NULL},
	/* multipart uploads: the actions, the part URLs, the parts */
	{"POST", "/api/2.0/fs/files/", PREFIX, BODY_JSON, emu_files_mpu,
	    NULL, NULL},
	{"POST", "/api/2.0/fs/create-upload-part-urls", EXACT, BODY_JSON,
	    emu_files_mpu, NULL, NULL},
	{"PUT", "/mpu-part/", PREFIX | PUBLIC, BODY_FILE, emu_files_mpu, NULL,
	    emu_files_mpu_admit},
	/* downloads are cut half way by the drop fault (emu_reply_fd) */
	{NULL, "/api/2.0/fs/", PREFIX | ROUTE_CUT_REPLY, BODY_NONE, emu_files,
	    NULL, NULL},
	/* the Workspace API and workspace files */
	{"POST", "/api/2.0/workspace-files/import-file/", PREFIX, BODY_FILE,
	    emu_workspace_import_file, NULL, NULL},
	{"POST", "/api/2.0/workspace/mkdirs", JSON, BODY_JSON,
	    emu_workspace_mkdirs, NULL, NULL},
	{"GET", "/api/2.0/workspace/get-status", EXACT, BODY_JSON,
	    emu_workspace_status, NULL, NULL},
	{"GET", "/api/2.0/workspace/list", EXACT, BODY_JSON, emu_workspace_list,
	    NULL, NULL},
	{"POST", "/api/2.0/workspace/delete", JSON, BODY_JSON,
	    emu_workspace_delete, NULL, NULL},
	/* JSON (base64 content) or a multipart form (the SDK's upload) */
	{"POST", "/api/2.0/workspace/import", EXACT, BODY_FORM,
	    emu_workspace_import, &emu_upload_form, NULL},
	{"GET", "/api/2.0/workspace/export", EXACT, BODY_JSON,
	    emu_workspace_export, NULL, NULL},
	/* Secrets (section 16) */
	{"POST", "/api/2.0/secrets/scopes/create", JSON, BODY_JSON,
	    emu_secrets_scope_create, NULL, NULL},
	{"GET", "/api/2.0/secrets/scopes/list", EXACT, BODY_NONE,
	    emu_secrets_scope_list, NULL, NULL},
	{"POST", "/api/2.0/secrets/scopes/delete", JSON, BODY_JSON,
	    emu_secrets_scope_delete, NULL, NULL},
	{"POST", "/api/2.0/secrets/put", JSON, BODY_JSON, emu_secrets_put,
	    NULL, NULL},
	{"GET", "/api/2.0/secrets/list", EXACT, BODY_JSON, emu_secrets_list,
	    NULL, NULL},
	{"GET", "/api/2.0/secrets/get", EXACT, BODY_JSON, emu_secrets_get,
	    NULL, NULL},
	{"POST", "/api/2.0/secrets/delete", JSON, BODY_JSON, emu_secrets_delete,
	    NULL, NULL},
	{"POST", "/api/2.0/secrets/acls/put", JSON, BODY_JSON,
	    emu_secrets_acl_put, NULL, NULL},
	{"POST", "/api/2.0/secrets/acls/delete", JSON, BODY_JSON,
	    emu_secrets_acl_delete, NULL, NULL},
	{"GET", "/api/2.0/secrets/acls/get", EXACT, BODY_JSON,
	    emu_secrets_acl_get, NULL, NULL},
	{"GET", "/api/2.0/secrets/acls/list", EXACT, BODY_JSON,
	    emu_secrets_acl_list, NULL, NULL},
	CLUSTERS("2.0"),
	CLUSTERS("2.1"),
	/* Command Execution 1.2 (section 18) */
	{"POST", "/api/1.2/contexts/create", JSON, BODY_JSON,
	    emu_contexts_create, NULL, NULL},
	{"GET", "/api/1.2/contexts/status", EXACT, BODY_JSON,
	    emu_contexts_status, NULL, NULL},
	{"POST", "/api/1.2/contexts/destroy", JSON, BODY_JSON,
	    emu_contexts_destroy, NULL, NULL},
	{"POST", "/api/1.2/commands/execute", JSON, BODY_JSON,
	    emu_commands_execute, NULL, NULL},
	{"GET", "/api/1.2/commands/status", EXACT, BODY_JSON,
	    emu_commands_status, NULL, NULL},
	{"POST", "/api/1.2/commands/cancel", JSON, BODY_JSON,
	    emu_commands_cancel, NULL, NULL},
	/* Libraries (section 17) */
	{"POST", "/api/2.0/libraries/install", JSON, BODY_JSON,
	    emu_libraries_install, NULL, NULL},
	{"POST", "/api/2.0/libraries/uninstall", JSON, BODY_JSON,
	    emu_libraries_uninstall, NULL, NULL},
	{"GET", "/api/2.0/libraries/cluster-status", EXACT, BODY_JSON,
	    emu_libraries_cluster_status, NULL, NULL},
	{"GET", "/api/2.0/libraries/all-cluster-statuses", EXACT, BODY_NONE,
	    emu_libraries_all, NULL, NULL},
	/* Jobs runs, in the 2.0 shape and the 2.1/2.2 one */
	JOBS("2.0"),
	JOBS("2.1"),
	JOBS("2.2"),
	{"POST", "/api/2.1/jobs/runs/repair", JSON, BODY_JSON, emu_jobs_repair,
	    NULL, NULL},
	{"POST", "/api/2.2/jobs/runs/repair", JSON, BODY_JSON, emu_jobs_repair,
	    NULL, NULL},
	{"GET", "/jobs/runs/", PREFIX | BROWSER, BODY_NONE, emu_jobs_page,
	    NULL, NULL},
	{"GET", "/api/2.0/preview/scim/v2/Me", EXACT, BODY_NONE, emu_scim_me,
	    NULL, NULL},
	{"GET", "/oidc/.well-known/oauth-authorization-server", PUBLIC,
	    BODY_NONE, emu_oauth, NULL, NULL},
	{"GET", "/.well-known/databricks-config", PUBLIC, BODY_NONE, emu_oauth,
	    NULL, NULL},
	{"POST", "/oidc/v1/token", PUBLIC, BODY_JSON, emu_oauth, NULL, NULL},
	/* a stand-in for GitHub Actions' ID-token URL (it checks its own
	 * request token) */
	{"GET", "/github-oidc/token", PUBLIC, BODY_NONE, emu_github_oidc,
	    NULL, NULL},
	{"POST", "/azure-devops/", PREFIX | PUBLIC, BODY_JSON,
	    emu_azure_devops_oidc, NULL, NULL},
	{"POST", "/entra/", PREFIX | PUBLIC, BODY_JSON, emu_entra, NULL, NULL},
	{"GET", "/aad/auth", PUBLIC, BODY_NONE, emu_entra, NULL, NULL},
	/* models in Unity Catalog: MLflow's registry calls (section 19) */
#define UCM "/api/2.0/mlflow/unity-catalog/"
#define RM UCM "registered-models/"
#define MV UCM "model-versions/"
	{"POST", RM "create", JSON, BODY_JSON, emu_ucm_model_create, NULL, NULL},
	{"GET", RM "get", EXACT, BODY_JSON, emu_ucm_model_get, NULL, NULL},
	{"PATCH", RM "update", JSON, BODY_JSON, emu_ucm_model_update, NULL, NULL},
	{"DELETE", RM "delete", JSON, BODY_JSON, emu_ucm_model_delete, NULL,
	    NULL},
	{"GET", RM "search", EXACT, BODY_JSON, emu_ucm_model_search, NULL, NULL},
	{"POST", RM "set-tag", JSON, BODY_JSON, emu_ucm_model_set_tag, NULL,
	    NULL},
	{"DELETE", RM "delete-tag", JSON, BODY_JSON, emu_ucm_model_delete_tag,
	    NULL, NULL},
	{"POST", RM "alias", JSON, BODY_JSON, emu_ucm_alias_set, NULL, NULL},
	{"DELETE", RM "alias", JSON, BODY_JSON, emu_ucm_alias_delete, NULL,
	    NULL},
	{"GET", RM "alias", EXACT, BODY_JSON, emu_ucm_alias_get, NULL, NULL},
	{"GET", UCM "registered-models:is-databricks-sdk-models-artifact-"
	    "repository-enabled", EXACT, BODY_JSON, emu_ucm_sdk_repo, NULL, NULL},
	{"POST", MV "create", JSON, BODY_JSON, emu_ucm_version_create, NULL,
	    NULL},
	{"GET", MV "get", EXACT, BODY_JSON, emu_ucm_version_get, NULL, NULL},
	{"PATCH", MV "update", JSON, BODY_JSON, emu_ucm_version_update, NULL,
	    NULL},
	{"DELETE", MV "delete", JSON, BODY_JSON, emu_ucm_version_delete, NULL,
	    NULL},
	{"GET", MV "search", EXACT, BODY_JSON, emu_ucm_version_search, NULL,
	    NULL},
	{"POST", MV "finalize", JSON, BODY_JSON, emu_ucm_version_finalize, NULL,
	    NULL},
	{"GET", MV "get-download-uri", EXACT, BODY_JSON, emu_ucm_version_uri,
	    NULL, NULL},
	{"POST", MV "set-tag", JSON, BODY_JSON, emu_ucm_version_set_tag, NULL,
	    NULL},
	{"DELETE", MV "delete-tag", JSON, BODY_JSON, emu_ucm_version_delete_tag,
	    NULL, NULL},
	{"POST", MV "emit-lineage", JSON, BODY_JSON, emu_ucm_lineage, NULL,
	    NULL},
	/* the rest (temporary cloud credentials) is not served */
	{NULL, UCM, PREFIX, BODY_NONE, no_api, NULL, NULL},
#undef MV
#undef RM
#undef UCM
	{"POST", "/api/2.0/mlflow/experiments/create", EXACT, BODY_PROXY,
	    emu_experiment_create, NULL, NULL},
	{"POST", "/api/2.0/preview/mlflow/experiments/create", EXACT, BODY_PROXY,
	    emu_experiment_create, NULL, NULL},
	{"GET", "/api/2.0/mlflow/experiments/list", EXACT, BODY_JSON,
	    emu_experiments_list, NULL, NULL},
	{"GET", "/api/2.0/preview/mlflow/experiments/list", EXACT, BODY_JSON,
	    emu_experiments_list, NULL, NULL},
	/* artifacts on DBFS: served here (artifacts.c), others proxied */
	{"GET", "/api/2.0/mlflow/artifacts/list", EXACT, BODY_NONE,
	    emu_artifacts, NULL, NULL},
	{"GET", "/ajax-api/2.0/mlflow/artifacts/list", BROWSER, BODY_NONE,
	    emu_artifacts, NULL, NULL},
	{"GET", "/get-artifact", BROWSER, BODY_NONE, emu_artifacts, NULL, NULL},
	/* the workspace registry's files (artifacts.c) */
	{"GET", "/api/2.0/mlflow/model-versions/list-artifacts", EXACT,
	    BODY_NONE, emu_model_artifacts, NULL, NULL},
	{"GET", "/api/2.0/mlflow/model-versions/get-signed-download-uri", EXACT,
	    BODY_NONE, emu_model_signed_uri, NULL, NULL},
	{"GET", "/model-file", EXACT | PUBLIC, BODY_NONE, emu_model_file, NULL,
	    NULL},
	{NULL, "/api/2.0/mlflow/", PREFIX, BODY_PROXY, emu_proxy, NULL, NULL},
	{NULL, "/api/2.0/preview/mlflow/", PREFIX, BODY_PROXY, emu_proxy,
	    NULL, NULL},
	{NULL, "/api/2.0/mlflow-artifacts/", PREFIX, BODY_PROXY, emu_proxy,
	    NULL, NULL},
	/* the MLflow UI and the endpoints it calls from the browser */
	{NULL, "/ajax-api/", PREFIX | BROWSER, BODY_PROXY, emu_proxy,
	    NULL, NULL},
	{"GET", "/static-files/", PREFIX | BROWSER, BODY_NONE, emu_proxy,
	    NULL, NULL},
	{"GET", "/ml/", PREFIX | BROWSER, BODY_NONE, emu_proxy, NULL, NULL},
	{"GET", "/", BROWSER, BODY_NONE, emu_proxy, NULL, NULL},
	{"GET", "/health", PUBLIC, BODY_NONE, emu_proxy, NULL, NULL},
	{"GET", "/version", PUBLIC, BODY_NONE, emu_proxy, NULL, NULL},
	/* any other API is unknown; anything else belongs to the UI
	 * (assets, /graphql, ...) */
	{NULL, "/api/", PREFIX, BODY_NONE, no_api, NULL, NULL},
	{NULL, "/", PREFIX | BROWSER, BODY_PROXY, emu_proxy, NULL, NULL},
};

/* Issued tokens that are workspace credentials: OAuth tokens (not refresh
 * tokens), and Entra ID tokens for Azure Databricks with their management
 * token (entra.c). */
static int
issued(struct emu *e, const char *tok, const char *mgmt, char **principal)
{
	if (!emu_oauth_check(e, tok, principal))
		return 0;
	if (strncmp(*principal, "refresh|", 8) == 0 ||
	    (strncmp(*principal, "aad|", 4) == 0 &&
	    !emu_entra_workspace(e, principal, mgmt))) {
		free(*principal);
		*principal = NULL;
		return 0;
	}
	return 1;
}

void
emu_wire(struct emu *e)
{
	e->routes = routes;
	e->nroutes = sizeof(routes) / sizeof(*routes);
	e->issued = issued;
}

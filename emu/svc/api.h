/*
 * workspace-emu's API modules: the handlers the route table (routes.c)
 * dispatches to, and each module's start-up and shut-down. A handler gets
 * a request whose credentials, path and body the server already checked.
 */
#ifndef EMU_API_H
#define EMU_API_H

#include "emu.h"

/* DBFS API 2.0 and MLflow's raw /dbfs/<path> (dbfs.c). */
int emu_dbfs_init(struct emu *e);
void emu_dbfs_free(struct emu *e);
/* One handler an endpoint; POST ones get their JSON parsed first
 * (ROUTE_JSON). put: multipart or JSON; raw: MLflow's POST and GET of
 * /dbfs/<path>. */
enum MHD_Result emu_dbfs_put(struct req *r);
enum MHD_Result emu_dbfs_raw(struct req *r);
enum MHD_Result emu_dbfs_get_status(struct req *r);
enum MHD_Result emu_dbfs_list(struct req *r);
enum MHD_Result emu_dbfs_mkdirs(struct req *r);
enum MHD_Result emu_dbfs_delete(struct req *r);
enum MHD_Result emu_dbfs_move(struct req *r);
enum MHD_Result emu_dbfs_read(struct req *r);
enum MHD_Result emu_dbfs_create(struct req *r);
enum MHD_Result emu_dbfs_add_block(struct req *r);
enum MHD_Result emu_dbfs_close(struct req *r);
/* Drop the streaming handles idle past --handle-idle, and their files. */
void emu_dbfs_sweep(struct emu *e);

/* Files API (files.c), Workspace API (workspace.c). */
enum MHD_Result emu_files(struct req *r);
/* A Files API path (at least min components: 4 a volume, 5 a file in
 * one) mapped into the data directory, or NULL after answering. */
char *emu_files_map(struct req *r, const char *p, int min, char **canon,
    enum MHD_Result *res);
/* Put tmp in place at disk (canon for messages) and answer. */
enum MHD_Result emu_files_commit(struct req *r, const char *tmp,
    const char *disk, const char *canon, int overwrite);
/* Multipart uploads (files_mpu.c): initiate, part URLs, parts, complete,
 * abort. */
enum MHD_Result emu_files_mpu(struct req *r);
/* The route's admit check: a part URL's signature (route.admit). */
enum MHD_Result emu_files_mpu_admit(struct req *r);
/* The Workspace API (workspace.c), one handler an endpoint, and
 * workspace-files/import-file. */
enum MHD_Result emu_workspace_mkdirs(struct req *r);
enum MHD_Result emu_workspace_status(struct req *r);
enum MHD_Result emu_workspace_list(struct req *r);
enum MHD_Result emu_workspace_delete(struct req *r);
enum MHD_Result emu_workspace_import(struct req *r);
enum MHD_Result emu_workspace_export(struct req *r);
enum MHD_Result emu_workspace_import_file(struct req *r);

/* OAuth: token endpoint and host metadata (oauth.c). */
int emu_oauth_init(struct emu *e);
enum MHD_Result emu_oauth(struct req *r);
/* 1 if token is an unexpired token this emulator issued; *client (when
 * client is not NULL) then gets its client id, malloc'd. */
int emu_oauth_check(struct emu *e, const char *token, char **client);
/* A member of an application/x-www-form-urlencoded body (malloc'd). */
char *emu_form_value(struct req *r, const char *key);
/* HMAC-SHA256 of payload with the emulator's key, in hex. */
void emu_sign(struct emu *e, const char *payload, char hex[65]);
/* Issue a token for principal, valid until expiry (malloc'd). */
char *emu_oauth_issue(struct emu *e, const char *principal, long long expiry);
/* --refresh-token-file: refresh tokens of `databricks auth login`. */
int emu_oauth_refresh_init(struct emu *e, const char *file, const char **why);
/* A token for the clients that jobs run (malloc'd; NULL without any). */
char *emu_run_token(struct emu *e);

/* Workload identity federation (federation.c): policies from
 * policy_file; the ID-token stand-ins' request tokens and subjects. */
struct emu_fed_opts {
	const char *policy_file;
	const char *gh_token_file, *gh_subject;		/* GitHub Actions */
	const char *ado_token_file, *ado_subject;	/* Azure DevOps */
};
int emu_federation_init(struct emu *e, const struct emu_fed_opts *o,
    const char **why);
void emu_federation_free(struct emu *e);
/* Who a token exchange is for (malloc'd), or NULL with *why. */
char *emu_federation_exchange(struct emu *e, const char *subject_token,
    const char *token_type, const char *client, const char **why);
/* An Entra ID client assertion (RFC 7523) of application client: one of
 * its federated identity credentials (a policy for client whose audience
 * is ENTRA_AUDIENCE) trusts it: 0; else the AADSTS code of Entra ID's
 * refusal, its message in msg. */
#define ENTRA_AUDIENCE "api://AzureADTokenExchange"
int emu_federation_assertion(struct emu *e, const char *jwt,
    const char *client, struct dbm_buf *msg);
enum MHD_Result emu_github_oidc(struct req *r);
enum MHD_Result emu_azure_devops_oidc(struct req *r);

/* Entra ID (entra.c): service principals of --entra-file, their token
 * endpoint (/entra/<tenant>/oauth2/token) and the workspace's /aad/auth. */
int emu_entra_init(struct emu *e, const char *file, const char **why);
void emu_entra_free(struct emu *e);
enum MHD_Result emu_entra(struct req *r);
/* An issued Entra ID token's principal ("aad|<resource>|<client id>")
 * as the workspace takes it: 1 and *client for one of Azure Databricks'
 * resource; a management token (the header) checked for client too. */
int emu_entra_workspace(struct emu *e, char **principal, const char *mgmt);

/* Runtimes and node types (runtimes.c). */
enum MHD_Result emu_spark_versions(struct req *r);
enum MHD_Result emu_node_types(struct req *r);
/* A new cluster's spec (object nc of j) as clusters/create and
 * runs/submit check it: NULL, or the 400's message (malloc'd). */
char *emu_cluster_spec_error(struct emu *e, const struct dbm_json *j, int nc);
/* Why runtime v cannot start here (malloc'd), or NULL. */
char *emu_runtime_refused(struct emu *e, const char *v);
/* The Python a runtime runs: 0 and *minor (3.<minor>) for a runtime
 * workspace-emu knows (a spark_version such as 13.3.x-scala2.12, or
 * "serverless:N" for serverless environment version N), else -1. */
int emu_runtime_python(const char *v, int *minor);

/* All-purpose clusters (clusters.c): --cluster ID:STATE[:NAME[:RUNTIME]]. */
int emu_cluster_add(struct emu *e, const char *spec, const char **why);
void emu_clusters_free(struct emu *e);
/* Its state (PENDING, RUNNING, RESTARTING, TERMINATING, TERMINATED), or
 * NULL when there is no such cluster. */
const char *emu_cluster_state(struct emu *e, const char *id);
/* Start a terminated cluster (a run on it does); -1 when none, -2 with
 * *why (malloc'd) when its runtime cannot start on this workspace. */
int emu_cluster_start(struct emu *e, const char *id, char **why);
/* What clusters/create or edit sent for it (malloc'd JSON; "{}", or its
 * spark_version alone, for a --cluster one), or NULL. */
char *emu_cluster_spec(struct emu *e, const char *id);
/* A run on it installs its libraries (a JSON array) there: the libraries
 * the run then has (malloc'd JSON array), what the cluster had first
 * winning over a wheel of the same name and version. */
char *emu_cluster_run_libraries(struct emu *e, const char *id,
    const char *libs);
/* A run's libraries failed to install there, pip saying why: those pip
 * names are FAILED on the cluster with why, as libraries/cluster-status
 * then shows them. */
void emu_cluster_libs_failed(struct emu *e, const char *id, const char *why);
enum MHD_Result emu_clusters_list(struct req *r);
enum MHD_Result emu_clusters_get(struct req *r);
enum MHD_Result emu_clusters_create(struct req *r);
enum MHD_Result emu_clusters_edit(struct req *r);
enum MHD_Result emu_clusters_start(struct req *r);
enum MHD_Result emu_clusters_restart(struct req *r);
enum MHD_Result emu_clusters_delete(struct req *r);
enum MHD_Result emu_clusters_permanent_delete(struct req *r);
enum MHD_Result emu_clusters_events(struct req *r);
/* Libraries on clusters (libraries.c). */
enum MHD_Result emu_libraries_install(struct req *r);
enum MHD_Result emu_libraries_uninstall(struct req *r);
enum MHD_Result emu_libraries_cluster_status(struct req *r);
enum MHD_Result emu_libraries_all(struct req *r);

/* Jobs API runs (jobs*.c). */
/* In the 2.0 shape under /api/2.0/, the 2.1 one under 2.1 and 2.2; and
 * the run page. */
enum MHD_Result emu_jobs_submit(struct req *r);
enum MHD_Result emu_jobs_get(struct req *r);
enum MHD_Result emu_jobs_get_output(struct req *r);
/* runs/export: the views of a run's notebook tasks (none run here). */
enum MHD_Result emu_jobs_export(struct req *r);
enum MHD_Result emu_jobs_cancel(struct req *r);
enum MHD_Result emu_jobs_list_runs(struct req *r);
enum MHD_Result emu_jobs_delete_run(struct req *r);
enum MHD_Result emu_jobs_repair(struct req *r);
/* Command Execution 1.2 on clusters (jobs_command.c) */
enum MHD_Result emu_contexts_create(struct req *r);
enum MHD_Result emu_contexts_status(struct req *r);
enum MHD_Result emu_contexts_destroy(struct req *r);
enum MHD_Result emu_commands_execute(struct req *r);
enum MHD_Result emu_commands_status(struct req *r);
enum MHD_Result emu_commands_cancel(struct req *r);
/* jobs made with jobs/create (jobs_defs.c) */
enum MHD_Result emu_jobs_create(struct req *r);
enum MHD_Result emu_jobs_job_get(struct req *r);
enum MHD_Result emu_jobs_list(struct req *r);
enum MHD_Result emu_jobs_reset(struct req *r);
enum MHD_Result emu_jobs_update(struct req *r);
enum MHD_Result emu_jobs_delete(struct req *r);
enum MHD_Result emu_jobs_run_now(struct req *r);
enum MHD_Result emu_jobs_page(struct req *r);

/* Secrets (secrets.c): Databricks-backed scopes and their secrets. */
enum MHD_Result emu_secrets_scope_create(struct req *r);
enum MHD_Result emu_secrets_scope_list(struct req *r);
enum MHD_Result emu_secrets_scope_delete(struct req *r);
enum MHD_Result emu_secrets_put(struct req *r);
enum MHD_Result emu_secrets_list(struct req *r);
enum MHD_Result emu_secrets_get(struct req *r);
enum MHD_Result emu_secrets_delete(struct req *r);
/* acls/put, acls/delete, acls/get, acls/list: a scope's ACL. */
enum MHD_Result emu_secrets_acl_put(struct req *r);
enum MHD_Result emu_secrets_acl_delete(struct req *r);
enum MHD_Result emu_secrets_acl_get(struct req *r);
enum MHD_Result emu_secrets_acl_list(struct req *r);
/* in with each {{secrets/<scope>/<key>}} replaced by its value
 * (malloc'd), or NULL with *err (malloc'd; names the reference only). */
char *emu_secrets_resolve(struct emu *e, const char *in, char **err);

/* SCIM: the calling identity (scim.c). */
enum MHD_Result emu_scim_me(struct req *r);

/* experiments/create, checked as the workspace checks it (experiments.c). */
enum MHD_Result emu_experiment_create(struct req *r);
enum MHD_Result emu_experiments_list(struct req *r);
/* The experiments directly in folder, written as workspace objects to w;
 * their count. */
int emu_experiments_in(struct emu *e, const char *folder, struct dbm_jw *w);
/* path as an experiment object: 1 written, 0 none. */
int emu_experiment_status(struct emu *e, const char *path, struct dbm_jw *w);

/* MLflow tracking server and UI, proxied (proxy.c). */
enum MHD_Result emu_proxy(struct req *r);
/* The emulator's own calls to the MLflow server's api (a path under
 * /api/2.0/mlflow/, with its query): POST body, or GET when it is NULL,
 * synchronously. send: the answer's status (0: none) and body in out;
 * call: the answer parsed into j, 0, or -1 (no server, not 200, not
 * JSON). */
long emu_mlflow_send(struct emu *e, const char *api, const char *body,
    struct dbm_buf *out);
int emu_mlflow_call(struct emu *e, const char *api, const char *body,
    struct dbm_json *j);
/* MLflow artifact list and download for runs whose artifacts are on DBFS,
 * from the emulator's storage (artifacts.c); other runs are proxied. */
enum MHD_Result emu_artifacts(struct req *r);
/* The workspace model registry's files (artifacts.c): list-artifacts,
 * get-signed-download-uri, and the presigned URL that gives (no token). */
enum MHD_Result emu_model_artifacts(struct req *r);
enum MHD_Result emu_model_signed_uri(struct req *r);
enum MHD_Result emu_model_file(struct req *r);

/* Unity Catalog: catalogs, schemas, volumes (uc.c). The collection
 * routes create (POST) and list (GET); the prefix routes get and delete
 * one by its full name. */
enum MHD_Result emu_uc_catalogs(struct req *r);
enum MHD_Result emu_uc_schemas(struct req *r);
enum MHD_Result emu_uc_volumes(struct req *r);
enum MHD_Result emu_uc_catalog(struct req *r);
enum MHD_Result emu_uc_schema(struct req *r);
enum MHD_Result emu_uc_volume(struct req *r);
/* Make catalog main with its default schema (volume NULL), or the
 * volume CATALOG.SCHEMA.VOLUME with what holds it, unless there. 0, or -1
 * with *why. */
int emu_uc_seed(struct emu *e, const char *volume, const char **why);
/* For a /Volumes/... path: 0 when its volume exists (or the path is
 * above a volume); else -1, the 404 answered in *res. */
int emu_uc_check(struct req *r, const char *canon, enum MHD_Result *res);
/* part[0].part[1] is a schema that exists (the parts lowered in place):
 * 0; else -1, the 400 or 404 answered in *res. */
int emu_uc_schema_check(struct req *r, char *const part[2],
    enum MHD_Result *res);

/* Models in Unity Catalog (ucmodels.c, PROTOCOL.md section 19): MLflow's
 * registry calls under /api/2.0/mlflow/unity-catalog/, one handler each,
 * and the model versions' files, /Models/<catalog>/<schema>/<model>/<n>/
 * through the Files API. */
enum MHD_Result emu_ucm_model_create(struct req *r);
enum MHD_Result emu_ucm_model_get(struct req *r);
enum MHD_Result emu_ucm_model_update(struct req *r);
enum MHD_Result emu_ucm_model_delete(struct req *r);
enum MHD_Result emu_ucm_model_search(struct req *r);
enum MHD_Result emu_ucm_model_set_tag(struct req *r);
enum MHD_Result emu_ucm_model_delete_tag(struct req *r);
enum MHD_Result emu_ucm_alias_set(struct req *r);
enum MHD_Result emu_ucm_alias_delete(struct req *r);
enum MHD_Result emu_ucm_alias_get(struct req *r);
enum MHD_Result emu_ucm_version_create(struct req *r);
enum MHD_Result emu_ucm_version_get(struct req *r);
enum MHD_Result emu_ucm_version_update(struct req *r);
enum MHD_Result emu_ucm_version_delete(struct req *r);
enum MHD_Result emu_ucm_version_search(struct req *r);
enum MHD_Result emu_ucm_version_finalize(struct req *r);
enum MHD_Result emu_ucm_version_uri(struct req *r);
enum MHD_Result emu_ucm_version_set_tag(struct req *r);
enum MHD_Result emu_ucm_version_delete_tag(struct req *r);
enum MHD_Result emu_ucm_lineage(struct req *r);
enum MHD_Result emu_ucm_sdk_repo(struct req *r);
/* For a /Models/... Files API path: 0 when its model version exists (and,
 * for a change, is still being registered); else -1 with the answer. */
int emu_ucm_check(struct req *r, const char *canon, enum MHD_Result *res);

#endif

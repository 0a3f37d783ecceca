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
enum MHD_Result emu_dbfs(struct req *r);
/* dbfs/put's multipart/form-data body. */
extern const struct emu_form emu_dbfs_put_form;

/* Files API (files.c), Workspace API (workspace.c). */
enum MHD_Result emu_files(struct req *r);
enum MHD_Result emu_workspace(struct req *r);

/* OAuth: token endpoint and host metadata (oauth.c). */
int emu_oauth_init(struct emu *e);
enum MHD_Result emu_oauth(struct req *r);
/* 1 if token is an unexpired token this emulator issued; *client (when
 * client is not NULL) then gets its client id, malloc'd. */
int emu_oauth_check(struct emu *e, const char *token, char **client);
/* A token for the clients that jobs run (malloc'd; NULL without any). */
char *emu_run_token(struct emu *e);

/* Jobs API runs (jobs*.c). */
enum MHD_Result emu_jobs_api(struct req *r);

/* SCIM: the calling identity (scim.c). */
enum MHD_Result emu_scim_me(struct req *r);

/* experiments/create, checked as the workspace checks it (experiments.c). */
enum MHD_Result emu_experiment_create(struct req *r);

/* MLflow tracking server and UI, proxied (proxy.c). */
enum MHD_Result emu_proxy(struct req *r);

#endif

/*
 * MLflow experiments/create as a Databricks workspace checks it before the
 * tracking server sees it (PROTOCOL.md section 10): a name is an absolute
 * workspace path whose parent folder exists. What passes goes on to the
 * MLflow server (proxy.c). Experiments are workspace objects too
 * (MLFLOW_EXPERIMENT): the Workspace API lists them and answers
 * get-status for them, asking the MLflow server.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "emu.h"
#include "api.h"
#include "http.h"

enum MHD_Result
emu_experiment_create(struct req *r)
{
	struct dbm_json j;
	struct dbm_err e;
	struct stat st;
	enum MHD_Result res = MHD_YES;
	const char *why;
	char *name = NULL, *parent = NULL, *disk = NULL;
	int ok = 1;

	if (r->body.len == 0 || dbm_json_parse(&j, r->body.data, r->body.len,
	    "body", &e) < 0)
		return emu_proxy(r);	/* the server answers malformed bodies */
	name = dbm_json_strdup(&j, dbm_json_member(&j, 0, "name"));
	dbm_json_free(&j);
	if (name == NULL || *name == '\0') {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Missing value for required parameter 'name'.");
		ok = 0;
	} else if (name[0] != '/') {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Got an invalid experiment name '%s'. An experiment name "
		    "must be an absolute path within the Databricks workspace, "
		    "e.g. '/Users/<some-username>/my-experiment'.", name);
		ok = 0;
	} else {
		parent = dbm_xstrndup(name, (size_t)(strrchr(name, '/') - name));
		if (*parent && (disk = store_map(r->emu, ROOT_WORKSPACE, parent,
		    NULL, &why)) == NULL) {
			res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    "Got an invalid experiment name '%s': %s", name, why);
			ok = 0;
		} else if (*parent && (stat(disk, &st) < 0 ||
		    !S_ISDIR(st.st_mode))) {
			res = emu_reply_error(r, 404, "RESOURCE_DOES_NOT_EXIST",
			    "Parent directory %s does not exist.", parent);
			ok = 0;
		}
	}
	free(name);
	free(parent);
	free(disk);
	return ok ? emu_proxy(r) : res;
}

/* experiments/list, which a workspace still serves (databricks-sdk's
 * list_experiments) and MLflow's server no longer does: the MLflow
 * server's experiments/search with the same max_results, page_token and
 * view_type answers it. */
enum MHD_Result
emu_experiments_list(struct req *r)
{
	static const char *const params[] = {"max_results", "page_token",
		"view_type"};
	struct dbm_buf b = DBM_BUF_INIT, out = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	long status;
	size_t i;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	for (i = 0; i < sizeof(params) / sizeof(*params); i++) {
		char *v = emu_param(r, params[i]);

		if (v == NULL)
			continue;
		dbm_jw_key(&w, params[i]);
		if (i == 0 && strspn(v, "0123456789") == strlen(v) && *v)
			dbm_jw_raw(&w, v, strlen(v));
		else
			dbm_jw_str(&w, v);
		free(v);
	}
	dbm_jw_obj_end(&w);
	if ((status = emu_mlflow_send(r->emu, "experiments/search", b.data,
	    &out)) == 0)
		res = r->emu->mlflow_url == NULL ? emu_reply_error(r, 404,
		    "FEATURE_DISABLED", "MLflow tracking is not configured: "
		    "start workspace-emu with --mlflow-url") :
		    emu_reply_error(r, 502, "BAD_GATEWAY", "The MLflow tracking "
		    "server at %s did not answer", r->emu->mlflow_url);
	else
		res = emu_reply(r, (unsigned int)status, "application/json",
		    dbm_buf_str(&out), out.len);
	dbm_buf_free(&b);
	dbm_buf_free(&out);
	return res;
}

static void
experiment_object(struct dbm_jw *w, const char *name, const char *id)
{
	dbm_jw_obj(w);
	dbm_jw_key(w, "object_type");
	dbm_jw_str(w, "MLFLOW_EXPERIMENT");
	dbm_jw_key(w, "path");
	dbm_jw_str(w, name);
	dbm_jw_key(w, "object_id");
	dbm_jw_raw(w, id, strlen(id));
	dbm_jw_obj_end(w);
}

int
emu_experiments_in(struct emu *e, const char *folder, struct dbm_jw *w)
{
	struct dbm_buf body = DBM_BUF_INIT;
	struct dbm_jw bw;
	struct dbm_json j;
	int exps, i, n = 0;

	if (strpbrk(folder, "'%_\\\\"))
		return 0;	/* not expressible in a LIKE filter: none */
	dbm_jw_init(&bw, &body);
	dbm_jw_obj(&bw);
	dbm_jw_key(&bw, "filter");
	dbm_buf_printf(&body, "\"name LIKE '%s/%%'\"", strcmp(folder, "/") ?
	    folder : "");
	bw.after_key = 0;
	dbm_jw_key(&bw, "max_results");
	dbm_jw_int(&bw, 1000);
	dbm_jw_obj_end(&bw);
	if (emu_mlflow_call(e, "experiments/search", body.data, &j) < 0) {
		dbm_buf_free(&body);
		return 0;
	}
	exps = dbm_json_member(&j, 0, "experiments");
	for (i = 0; i < dbm_json_count(&j, exps); i++) {
		int x = dbm_json_elem(&j, exps, i);
		char *name = dbm_json_strdup(&j, dbm_json_member(&j, x, "name"));
		char *id = dbm_json_strdup(&j, dbm_json_member(&j, x,
		    "experiment_id"));
		const char *slash = name ? strrchr(name, '/') : NULL;

		/* directly in the folder, and a numeric id */
		if (slash && id && strspn(id, "0123456789") == strlen(id) &&
		    (size_t)(slash - name) == strlen(folder) - (strcmp(folder,
		    "/") == 0) && strncmp(name, folder, (size_t)(slash - name))
		    == 0) {
			experiment_object(w, name, id);
			n++;
		}
		free(name);
		free(id);
	}
	dbm_json_free(&j);
	dbm_buf_free(&body);
	return n;
}

int
emu_experiment_status(struct emu *e, const char *path, struct dbm_jw *w)
{
	struct dbm_buf url = DBM_BUF_INIT;
	struct dbm_json j;
	char *id;
	int rc = 0;

	dbm_buf_adds(&url, "experiments/get-by-name?experiment_name=");
	dbm_url_encode(&url, path, 0);
	if (emu_mlflow_call(e, url.data, NULL, &j) == 0) {
		id = dbm_json_get_str(&j, "experiment.experiment_id");
		if (id && strspn(id, "0123456789") == strlen(id)) {
			experiment_object(w, path, id);
			rc = 1;
		}
		free(id);
		dbm_json_free(&j);
	}
	dbm_buf_free(&url);
	return rc;
}

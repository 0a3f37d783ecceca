/*
 * MLflow experiments/create as a Databricks workspace checks it before the
 * tracking server sees it (PROTOCOL.md section 10): a name is an absolute
 * workspace path whose parent folder exists. What passes goes on to the
 * MLflow server (proxy.c).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emu.h"
#include "api.h"

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

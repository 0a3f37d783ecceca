/*
 * What compute a workspace offers (PROTOCOL.md section 17): the
 * Databricks Runtime versions of clusters/spark-versions and the node
 * types of clusters/list-node-types, in the shapes databricks-sdk's
 * select_spark_version and select_node_type read; and the check of a new
 * cluster's spec that clusters/create and runs/submit share.
 */
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"

/* Runtime lines: version, Spark, Scala versions offered, LTS, beta, and
 * the minor version of its Python 3 (PROTOCOL.md section 17). A
 * workspace of a new account has none before 13.3 LTS. */
static const struct {
	const char *v, *spark, *scala;
	int lts, beta, py;
} RUNTIMES[] = {
	{"10.4", "3.2.1", "2.12", 1, 0, 8},
	{"11.3", "3.3.0", "2.12", 1, 0, 9},
	{"12.2", "3.3.2", "2.12", 1, 0, 9},
	{"13.3", "3.4.1", "2.12", 1, 0, 10},
	{"14.3", "3.5.0", "2.12", 1, 0, 10},
	{"15.4", "3.5.0", "2.12", 1, 0, 11},
	{"16.4", "3.5.2", "2.12 2.13", 1, 0, 12},
	{"17.2", "4.0.0", "2.13", 0, 0, 12},
	{"17.3", "4.0.0", "2.13", 1, 0, 12},
	{"18.0", "4.1.0", "2.13", 0, 1, 12},
};

/* Serverless environment versions 1 to 5: their Python 3 minors. */
static const int SERVERLESS_PY[] = {10, 11, 12, 12, 12};

int
emu_runtime_python(const char *v, int *minor)
{
	size_t i, n;

	*minor = -1;
	if (v == NULL)
		return -1;
	if (strncmp(v, "serverless:", 11) == 0) {
		long k = strtol(v + 11, NULL, 10);

		if (k < 1 || k > (long)(sizeof(SERVERLESS_PY) /
		    sizeof(*SERVERLESS_PY)))
			return -1;
		*minor = SERVERLESS_PY[k - 1];
		return 0;
	}
	for (i = 0; i < sizeof(RUNTIMES) / sizeof(*RUNTIMES); i++) {
		n = strlen(RUNTIMES[i].v);
		if (strncmp(v, RUNTIMES[i].v, n) == 0 &&
		    (v[n] == '\0' || v[n] == '.')) {
			*minor = RUNTIMES[i].py;
			return 0;
		}
	}
	return -1;
}

/* The flavours of a runtime: key infix and name suffix. */
static const struct {
	const char *infix, *name;
} FLAVOURS[] = {
	{"", ""}, {"cpu-ml-", " ML"}, {"gpu-ml-", " ML"}, {"photon-", " Photon"},
};

static int
old_version(const char *v)
{
	char *end;
	long major = strtol(v, &end, 10), minor = 0;

	if (end == v)
		return 0;
	if (*end == '.')
		minor = strtol(end + 1, NULL, 10);
	return major < 13 || (major == 13 && minor < 3);
}

enum MHD_Result
emu_spark_versions(struct req *r)
{
	struct dbm_buf b = DBM_BUF_INIT, key = DBM_BUF_INIT, name = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	size_t i, f;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "versions");
	dbm_jw_arr(&w);
	for (i = 0; i < sizeof(RUNTIMES) / sizeof(*RUNTIMES); i++) {
		const char *sc = RUNTIMES[i].scala;

		if (!r->emu->legacy_dbfs && old_version(RUNTIMES[i].v))
			continue;
		for (; *sc; sc += strcspn(sc, " "), sc += *sc == ' ')
			for (f = 0; f < sizeof(FLAVOURS) / sizeof(*FLAVOURS); f++) {
				int n = (int)strcspn(sc, " ");

				dbm_buf_reset(&key);
				dbm_buf_reset(&name);
				dbm_buf_printf(&key, "%s.x-%sscala%.*s", RUNTIMES[i].v,
				    FLAVOURS[f].infix, n, sc);
				dbm_buf_printf(&name, "%s%s%s%s%s (includes Apache "
				    "Spark %s, Scala %.*s)", RUNTIMES[i].v,
				    RUNTIMES[i].lts ? " LTS" : "",
				    FLAVOURS[f].name, f == 2 ? " GPU" : "",
				    RUNTIMES[i].beta ? " (Beta)" : "",
				    RUNTIMES[i].spark, n, sc);
				dbm_jw_obj(&w);
				dbm_jw_key(&w, "key");
				dbm_jw_str(&w, key.data);
				dbm_jw_key(&w, "name");
				dbm_jw_str(&w, name.data);
				dbm_jw_obj_end(&w);
			}
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	res = emu_reply_json(r, 200, b.data);
	dbm_buf_free(&b);
	dbm_buf_free(&key);
	dbm_buf_free(&name);
	return res;
}

/* Node types: id, memory (MB), cores, GPUs, local disks and their size
 * (GB), category. */
static const struct {
	const char *id;
	long long mem;
	int cores, gpus, disks, disk_gb;
	const char *category;
} NODES[] = {
	{"m5d.large", 8192, 2, 0, 1, 75, "General Purpose"},
	{"m5d.xlarge", 16384, 4, 0, 1, 150, "General Purpose"},
	{"i3.xlarge", 31232, 4, 0, 1, 950, "Storage Optimized"},
	{"r5d.xlarge", 32768, 4, 0, 1, 150, "Memory Optimized"},
	{"m5d.2xlarge", 32768, 8, 0, 1, 300, "General Purpose"},
	{"c5d.2xlarge", 16384, 8, 0, 1, 200, "Compute Optimized"},
	{"g4dn.xlarge", 16384, 4, 1, 1, 125, "GPU Accelerated"},
};

enum MHD_Result
emu_node_types(struct req *r)
{
	struct dbm_buf b = DBM_BUF_INIT, d = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	size_t i;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "node_types");
	dbm_jw_arr(&w);
	for (i = 0; i < sizeof(NODES) / sizeof(*NODES); i++) {
		dbm_buf_reset(&d);
		dbm_buf_printf(&d, "%s", NODES[i].id);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "node_type_id");
		dbm_jw_str(&w, NODES[i].id);
		dbm_jw_key(&w, "instance_type_id");
		dbm_jw_str(&w, NODES[i].id);
		dbm_jw_key(&w, "description");
		dbm_jw_str(&w, d.data);
		dbm_jw_key(&w, "memory_mb");
		dbm_jw_int(&w, NODES[i].mem);
		dbm_jw_key(&w, "num_cores");
		dbm_jw_int(&w, NODES[i].cores);
		dbm_jw_key(&w, "num_gpus");
		dbm_jw_int(&w, NODES[i].gpus);
		dbm_jw_key(&w, "category");
		dbm_jw_str(&w, NODES[i].category);
		dbm_jw_key(&w, "is_deprecated");
		dbm_jw_bool(&w, 0);
		dbm_jw_key(&w, "is_io_cache_enabled");
		dbm_jw_bool(&w, NODES[i].disks > 0);
		dbm_jw_key(&w, "photon_worker_capable");
		dbm_jw_bool(&w, 1);
		dbm_jw_key(&w, "photon_driver_capable");
		dbm_jw_bool(&w, 1);
		dbm_jw_key(&w, "support_port_forwarding");
		dbm_jw_bool(&w, 1);
		dbm_jw_key(&w, "node_instance_type");
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "instance_type_id");
		dbm_jw_str(&w, NODES[i].id);
		dbm_jw_key(&w, "local_disks");
		dbm_jw_int(&w, NODES[i].disks);
		dbm_jw_key(&w, "local_disk_size_gb");
		dbm_jw_int(&w, NODES[i].disk_gb);
		dbm_jw_obj_end(&w);
		dbm_jw_obj_end(&w);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	res = emu_reply_json(r, 200, b.data);
	dbm_buf_free(&b);
	dbm_buf_free(&d);
	return res;
}

/* Why runtime v cannot start on this workspace (malloc'd), or NULL: a new
 * account's workspace disables runtimes before 13.3 LTS, at runs/submit,
 * clusters/create and every cluster start (PROTOCOL.md section 15). */
char *
emu_runtime_refused(struct emu *e, const char *v)
{
	struct dbm_buf b = DBM_BUF_INIT;

	if (e->legacy_dbfs || v == NULL || !old_version(v))
		return NULL;
	dbm_buf_printf(&b, "Databricks Runtime %s is not supported in "
	    "this workspace: runtimes before 13.3 LTS are disabled "
	    "(the workspace disables legacy features). Use 13.3 LTS or "
	    "later, for example 15.4.x-scala2.12", v);
	return dbm_buf_detach(&b);
}

char *
emu_cluster_spec_error(struct emu *e, const struct dbm_json *j, int nc)
{
	struct dbm_buf b = DBM_BUF_INIT;
	char *v, *old;

	if (dbm_json_type(j, nc) != DBM_JSON_OBJECT)
		return dbm_xstrdup("new_cluster must be an object");
	v = dbm_json_strdup(j, dbm_json_member(j, nc, "spark_version"));
	if (v == NULL)
		dbm_buf_adds(&b, "Missing required field: spark_version");
	else if ((old = emu_runtime_refused(e, v)) != NULL) {
		free(v);
		return old;
	} else if (dbm_json_member(j, nc, "node_type_id") < 0 &&
	    dbm_json_member(j, nc, "instance_pool_id") < 0 &&
	    dbm_json_member(j, nc, "policy_id") < 0)
		dbm_buf_adds(&b, "Missing required field: node_type_id");
	else if (dbm_json_member(j, nc, "num_workers") < 0 &&
	    dbm_json_member(j, nc, "autoscale") < 0 &&
	    dbm_json_member(j, nc, "is_single_node") < 0)
		dbm_buf_adds(&b, "Missing required field: size");
	free(v);
	return b.len ? dbm_buf_detach(&b) : NULL;
}

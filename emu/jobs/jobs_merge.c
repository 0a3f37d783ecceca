/*
 * workspace-emu jobs: jobs/update's merge of a job's settings with
 * new_settings and fields_to_remove (PROTOCOL.md section 4, "Jobs that
 * last").
 */
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

/* jobs/update's merge: new_settings' members replace the job's, but
 * tasks[] and job_clusters[] are merged by task_key / job_cluster_key;
 * fields_to_remove drops top-level fields, "tasks/KEY" and
 * "job_clusters/KEY". */
static int
removed(const struct dbm_json *rq, const char *field, const char *key)
{
	int f = dbm_json_member(rq, 0, "fields_to_remove"), i, hit = 0;
	struct dbm_buf want = DBM_BUF_INIT;

	if (key)
		dbm_buf_printf(&want, "%s/%s", field, key);
	else
		dbm_buf_adds(&want, field);
	for (i = 0; i < dbm_json_count(rq, f) && !hit &&
	    dbm_json_type(rq, f) == DBM_JSON_ARRAY; i++)
		hit = dbm_json_streq(rq, dbm_json_elem(rq, f, i), want.data);
	dbm_buf_free(&want);
	return hit;
}

/* The entry of array a (in j) whose member idk is key, or -1. */
static int
entry(const struct dbm_json *j, int a, const char *idk, const char *key)
{
	int i;

	for (i = 0; i < dbm_json_count(j, a) && dbm_json_type(j, a) ==
	    DBM_JSON_ARRAY; i++) {
		int x = dbm_json_elem(j, a, i);

		if (dbm_json_streq(j, dbm_json_member(j, x, idk), key))
			return x;
	}
	return -1;
}

static void
merge_array(struct dbm_jw *w, const struct dbm_json *s, int old,
    const struct dbm_json *rq, int nw, const char *field, const char *idk)
{
	int i;

	dbm_jw_arr(w);
	for (i = 0; i < dbm_json_count(s, old); i++) {
		int x = dbm_json_elem(s, old, i), y;
		char *key = dbm_json_strdup(s, dbm_json_member(s, x, idk));

		if (key && removed(rq, field, key)) {
			free(key);
			continue;
		}
		y = key ? entry(rq, nw, idk, key) : -1;
		dbm_jw_json(w, y >= 0 ? rq : s, y >= 0 ? y : x);
		free(key);
	}
	for (i = 0; i < dbm_json_count(rq, nw); i++) {
		int y = dbm_json_elem(rq, nw, i);
		char *key = dbm_json_strdup(rq, dbm_json_member(rq, y, idk));

		if (key == NULL || entry(s, old, idk, key) < 0)
			dbm_jw_json(w, rq, y);
		free(key);
	}
	dbm_jw_arr_end(w);
}

char *
jobs_merged(const struct dbm_json *s, const struct dbm_json *rq)
{
	static const char *const arrays[][2] = {{"tasks", "task_key"},
		{"job_clusters", "job_cluster_key"}};
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	int ns = dbm_json_member(rq, 0, "new_settings"), i, k;
	size_t a;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	EACH_MEMBER(s, 0, i, k) {
		char *field = dbm_json_strdup(s, k);
		int nv = dbm_json_member(rq, ns, field ? field : "");

		for (a = 0; a < 2 && strcmp(arrays[a][0], field ? field : ""); a++)
			;
		if (field == NULL || removed(rq, field, NULL)) {
			free(field);
			continue;
		}
		dbm_jw_key(&w, field);
		if (a < 2)
			merge_array(&w, s, k + 1, rq, nv, arrays[a][0],
			    arrays[a][1]);
		else
			dbm_jw_json(&w, nv >= 0 ? rq : s, nv >= 0 ? nv : k + 1);
		free(field);
	}
	EACH_MEMBER(rq, ns, i, k) {
		char *field = dbm_json_strdup(rq, k);

		if (field && dbm_json_member(s, 0, field) < 0) {
			dbm_jw_key(&w, field);
			dbm_jw_json(&w, rq, k + 1);
		}
		free(field);
	}
	dbm_jw_obj_end(&w);
	return dbm_buf_detach(&b);
}

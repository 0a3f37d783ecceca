/*
 * All-purpose clusters for workspace-emu (PROTOCOL.md section 4): the ones
 * declared with --cluster ID:STATE[:NAME], and clusters/get, clusters/list
 * and clusters/start. A started cluster is PENDING for a moment, then
 * RUNNING; runs may name a cluster by existing_cluster_id.
 */
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"

#define START_SECONDS 2.0	/* PENDING after clusters/start */

struct cluster {
	char *id, *name;
	const char *state;	/* RUNNING, TERMINATED, PENDING */
	double ready;		/* PENDING until then (dbm_now) */
};

struct clusters {
	pthread_mutex_t mu;
	struct cluster *c;
	int n;
};

int
emu_cluster_add(struct emu *e, const char *spec, const char **why)
{
	struct clusters *cs = e->clusters;
	char *s = dbm_xstrdup(spec), *state, *name;
	struct cluster *c;

	if (cs == NULL) {
		cs = e->clusters = dbm_xcalloc(1, sizeof(*cs));
		pthread_mutex_init(&cs->mu, NULL);
	}
	if ((state = strchr(s, ':')) == NULL || state == s) {
		free(s);
		*why = "expected ID:RUNNING or ID:TERMINATED (:NAME optional)";
		return -1;
	}
	*state++ = '\0';
	if ((name = strchr(state, ':')) != NULL)
		*name++ = '\0';
	if (strcmp(state, "RUNNING") && strcmp(state, "TERMINATED")) {
		free(s);
		*why = "a cluster starts RUNNING or TERMINATED";
		return -1;
	}
	cs->c = dbm_xrealloc(cs->c, (size_t)(cs->n + 1) * sizeof(*cs->c));
	c = &cs->c[cs->n++];
	c->id = dbm_xstrdup(s);
	c->name = dbm_xstrdup(name ? name : s);
	c->state = strcmp(state, "RUNNING") == 0 ? "RUNNING" : "TERMINATED";
	c->ready = 0;
	free(s);
	return 0;
}

void
emu_clusters_free(struct emu *e)
{
	struct clusters *cs = e->clusters;
	int i;

	if (cs == NULL)
		return;
	for (i = 0; i < cs->n; i++) {
		free(cs->c[i].id);
		free(cs->c[i].name);
	}
	free(cs->c);
	pthread_mutex_destroy(&cs->mu);
	free(cs);
	e->clusters = NULL;
}

/* The cluster (mu held), its state brought up to date. */
static struct cluster *
find(struct clusters *cs, const char *id)
{
	int i;

	for (i = 0; cs && id && i < cs->n; i++)
		if (strcmp(cs->c[i].id, id) == 0) {
			struct cluster *c = &cs->c[i];

			if (strcmp(c->state, "PENDING") == 0 &&
			    dbm_now() >= c->ready)
				c->state = "RUNNING";
			return c;
		}
	return NULL;
}

const char *
emu_cluster_state(struct emu *e, const char *id)
{
	struct clusters *cs = e->clusters;
	const char *state = NULL;
	struct cluster *c;

	if (cs == NULL)
		return NULL;
	pthread_mutex_lock(&cs->mu);
	if ((c = find(cs, id)) != NULL)
		state = c->state;
	pthread_mutex_unlock(&cs->mu);
	return state;
}

int
emu_cluster_start(struct emu *e, const char *id)
{
	struct clusters *cs = e->clusters;
	struct cluster *c;
	int rc = -1;

	if (cs == NULL)
		return -1;
	pthread_mutex_lock(&cs->mu);
	if ((c = find(cs, id)) != NULL) {
		if (strcmp(c->state, "TERMINATED") == 0) {
			c->state = "PENDING";
			c->ready = dbm_now() + START_SECONDS;
		}
		rc = 0;
	}
	pthread_mutex_unlock(&cs->mu);
	return rc;
}

static void
info(struct dbm_jw *w, const struct cluster *c)
{
	dbm_jw_obj(w);
	dbm_jw_key(w, "cluster_id");
	dbm_jw_str(w, c->id);
	dbm_jw_key(w, "cluster_name");
	dbm_jw_str(w, c->name);
	dbm_jw_key(w, "state");
	dbm_jw_str(w, c->state);
	dbm_jw_key(w, "cluster_source");
	dbm_jw_str(w, "UI");
	dbm_jw_key(w, "spark_version");
	dbm_jw_str(w, "15.4.x-cpu-ml-scala2.12");
	dbm_jw_key(w, "node_type_id");
	dbm_jw_str(w, "emu-node");
	dbm_jw_key(w, "num_workers");
	dbm_jw_int(w, 1);
	dbm_jw_obj_end(w);
}

static enum MHD_Result
no_cluster(struct req *r, const char *id)
{
	return emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
	    "Cluster %s does not exist", id ? id : "(none)");
}

enum MHD_Result
emu_clusters_api(struct req *r)
{
	struct clusters *cs = r->emu->clusters;
	const char *op = strrchr(r->path, '/') + 1;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct cluster *c;
	char *id = NULL;
	enum MHD_Result res;
	int i;

	dbm_jw_init(&w, &b);
	if (strcmp(op, "list") == 0 && strcmp(r->method, "GET") == 0) {
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "clusters");
		dbm_jw_arr(&w);
		if (cs)
			pthread_mutex_lock(&cs->mu);
		for (i = 0; cs && i < cs->n; i++)
			info(&w, find(cs, cs->c[i].id));
		if (cs)
			pthread_mutex_unlock(&cs->mu);
		dbm_jw_arr_end(&w);
		dbm_jw_obj_end(&w);
		res = emu_reply_json(r, 200, b.data);
	} else if ((strcmp(op, "get") == 0 && strcmp(r->method, "GET") == 0) ||
	    (strcmp(op, "start") == 0 && strcmp(r->method, "POST") == 0)) {
		id = emu_param(r, "cluster_id");
		if (cs)
			pthread_mutex_lock(&cs->mu);
		c = find(cs, id);
		if (c == NULL) {
			res = no_cluster(r, id);
		} else if (op[0] == 'g') {
			info(&w, c);
			res = emu_reply_json(r, 200, b.data);
		} else if (strcmp(c->state, "TERMINATED") != 0) {
			res = emu_reply_error(r, 400, "INVALID_STATE",
			    "Cluster %s is in unexpected state %s.", c->id,
			    c->state);
		} else {
			c->state = "PENDING";
			c->ready = dbm_now() + START_SECONDS;
			res = emu_reply_json(r, 200, "{}");
		}
		if (cs)
			pthread_mutex_unlock(&cs->mu);
	} else {
		res = emu_reply_error(r, 404, "ENDPOINT_NOT_FOUND",
		    "No API found for '%s %s'", r->method, r->path);
	}
	free(id);
	dbm_buf_free(&b);
	return res;
}

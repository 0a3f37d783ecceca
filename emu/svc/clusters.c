/*
 * All-purpose clusters for workspace-emu (PROTOCOL.md section 17): the
 * ones declared with --cluster ID:STATE[:NAME] and the ones made with
 * clusters/create, through clusters/get, list, create, edit, start,
 * restart, delete (terminate), permanent-delete and events. A cluster
 * that starts is PENDING (RESTARTING) for a moment, then RUNNING; one that
 * is terminated is TERMINATING, then TERMINATED; each change is an event.
 * Runs name a cluster by existing_cluster_id. Clusters made by create are
 * kept under clusters/ of the data directory, with the libraries installed
 * on them (libraries.c); they come back TERMINATED after a restart, as a
 * cluster does whose host went away.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"
#include "clusters_int.h"

#define START_SECONDS	2.0	/* PENDING after start, RESTARTING */
#define STOP_SECONDS	0.5	/* TERMINATING after delete */
#define EVENTS_MAX	500	/* events kept a cluster */

static void
event(struct cluster *c, const char *type)
{
	if (c->nev == EVENTS_MAX) {
		memmove(c->ev, c->ev + 1, (EVENTS_MAX - 1) * sizeof(*c->ev));
		c->nev--;
	}
	c->ev = dbm_xrealloc(c->ev, (size_t)(c->nev + 1) * sizeof(*c->ev));
	c->ev[c->nev].ts = dbm_epoch_ms();
	c->ev[c->nev].type = type;
	c->nev++;
}

static void
set_state(struct cluster *c, const char *state, double after)
{
	c->state = state;
	c->ready = dbm_now() + after;
	c->changed = dbm_epoch_ms();
}

static struct cluster *
add(struct clusters *cs, const char *id, const char *name, const char *spec)
{
	struct cluster *c;

	cs->c = dbm_xrealloc(cs->c, (size_t)(cs->n + 1) * sizeof(*cs->c));
	c = &cs->c[cs->n++];
	memset(c, 0, sizeof(*c));
	c->id = dbm_xstrdup(id);
	c->name = dbm_xstrdup(name);
	c->spec = dbm_xstrdup(spec ? spec : "{}");
	c->state = "TERMINATED";
	return c;
}

int
emu_cluster_add(struct emu *e, const char *spec, const char **why)
{
	struct clusters *cs = e->clusters;
	char *s = dbm_xstrdup(spec), *state, *name, *runtime;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct cluster *c;

	if (cs == NULL) {
		cs = e->clusters = dbm_xcalloc(1, sizeof(*cs));
		pthread_mutex_init(&cs->mu, NULL);
	}
	if ((state = strchr(s, ':')) == NULL || state == s) {
		free(s);
		*why = "expected ID:RUNNING or ID:TERMINATED (:NAME and "
		    ":RUNTIME optional)";
		return -1;
	}
	*state++ = '\0';
	if ((name = strchr(state, ':')) != NULL)
		*name++ = '\0';
	if (name && (runtime = strchr(name, ':')) != NULL) {
		*runtime++ = '\0';
		dbm_jw_init(&w, &b);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "spark_version");
		dbm_jw_str(&w, runtime);
		dbm_jw_obj_end(&w);
	}
	if (strcmp(state, "RUNNING") && strcmp(state, "TERMINATED")) {
		free(s);
		*why = "a cluster starts RUNNING or TERMINATED";
		return -1;
	}
	c = add(cs, s, name && *name ? name : s, b.len ? b.data : NULL);
	dbm_buf_free(&b);
	c->state = strcmp(state, "RUNNING") == 0 ? "RUNNING" : "TERMINATED";
	c->start_time = dbm_epoch_ms();
	c->changed = c->start_time;
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
	for (i = 0; i < cs->n; i++)
		clusters_free_one(&cs->c[i]);
	free(cs->c);
	pthread_mutex_destroy(&cs->mu);
	free(cs);
	e->clusters = NULL;
}

void
clusters_free_one(struct cluster *c)
{
	int i;

	free(c->id);
	free(c->name);
	free(c->spec);
	free(c->ev);
	for (i = 0; i < c->nlib; i++) {
		free(c->lib[i].json);
		free(c->lib[i].message);
	}
	free(c->lib);
}

/* Write a created cluster's record (mu held). */
void
clusters_save(struct emu *e, const struct cluster *c)
{
	struct dbm_buf b = DBM_BUF_INIT, p = DBM_BUF_INIT;
	struct dbm_jw w;
	int i;

	if (!c->created)
		return;
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "cluster_id");
	dbm_jw_str(&w, c->id);
	dbm_jw_key(&w, "cluster_name");
	dbm_jw_str(&w, c->name);
	dbm_jw_key(&w, "spec");
	dbm_jw_raw(&w, c->spec, strlen(c->spec));
	dbm_jw_key(&w, "libraries");
	dbm_jw_arr(&w);
	for (i = 0; i < c->nlib; i++)
		if (strcmp(c->lib[i].status, "UNINSTALL_ON_RESTART") != 0 &&
		    !c->lib[i].from_run)	/* a run's go with a restart */
			dbm_jw_raw(&w, c->lib[i].json, strlen(c->lib[i].json));
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	dbm_buf_printf(&p, "%s/clusters/%s.json", e->datadir, c->id);
	store_write_file(e, p.data, b.data, b.len);
	dbm_buf_free(&b);
	dbm_buf_free(&p);
}

static void
load_one(struct emu *e, struct clusters *cs, const char *path)
{
	struct dbm_buf in = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_err je;
	char *id, *name;
	int spec, libs, i;

	if (dbm_buf_read_file(&in, path, 1 << 20) < 0 ||
	    dbm_json_parse(&j, dbm_buf_str(&in), in.len, path, &je) < 0) {
		dbm_buf_free(&in);
		return;
	}
	id = dbm_json_get_str(&j, "cluster_id");
	name = dbm_json_get_str(&j, "cluster_name");
	spec = dbm_json_member(&j, 0, "spec");
	if (id && name && dbm_json_type(&j, spec) == DBM_JSON_OBJECT) {
		size_t n;
		const char *p = dbm_json_raw(&j, spec, &n);
		char *s = dbm_xstrndup(p, n);
		struct cluster *c = add(cs, id, name, s);

		free(s);
		c->created = 1;
		c->changed = dbm_epoch_ms();
		libs = dbm_json_member(&j, 0, "libraries");
		for (i = 0; i < dbm_json_count(&j, libs); i++) {
			p = dbm_json_raw(&j, dbm_json_elem(&j, libs, i), &n);
			s = dbm_xstrndup(p, n);
			clusters_lib_add(c, s, "PENDING");	/* until it starts */
			free(s);
		}
	}
	free(id);
	free(name);
	dbm_json_free(&j);
	dbm_buf_free(&in);
}

/* The clusters, those created earlier loaded once (mu then held). */
struct clusters *
clusters_lock(struct emu *e)
{
	static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
	struct clusters *cs;

	pthread_mutex_lock(&once);
	if ((cs = e->clusters) == NULL) {
		cs = e->clusters = dbm_xcalloc(1, sizeof(*cs));
		pthread_mutex_init(&cs->mu, NULL);
	}
	pthread_mutex_unlock(&once);
	pthread_mutex_lock(&cs->mu);
	if (!cs->loaded) {
		struct dbm_buf dir = DBM_BUF_INIT;
		char **names;
		int n, i;

		cs->loaded = 1;
		dbm_buf_printf(&dir, "%s/clusters", e->datadir);
		names = store_list(dir.data, &n);
		for (i = 0; names && i < n; i++) {
			struct dbm_buf p = DBM_BUF_INIT;
			size_t l = strlen(names[i]);

			dbm_buf_printf(&p, "%s/%s", dir.data, names[i]);
			if (l > 5 && strcmp(names[i] + l - 5, ".json") == 0)
				load_one(e, cs, p.data);
			dbm_buf_free(&p);
		}
		store_names_free(names);
		dbm_buf_free(&dir);
	}
	return cs;
}

/* The cluster (mu held), its state brought up to date: a start or a
 * restart ends RUNNING (its pending libraries installed, those to go
 * gone), a termination TERMINATED. */
struct cluster *
clusters_find(struct emu *e, struct clusters *cs, const char *id)
{
	int i;

	for (i = 0; id && i < cs->n; i++) {
		struct cluster *c = &cs->c[i];

		if (strcmp(c->id, id) != 0)
			continue;
		if ((strcmp(c->state, "PENDING") == 0 || strcmp(c->state,
		    "RESTARTING") == 0) && dbm_now() >= c->ready) {
			set_state(c, "RUNNING", 0);
			c->start_time = c->changed;
			clusters_libs_started(e, c);
			clusters_save(e, c);
			event(c, "RUNNING");
		} else if (strcmp(c->state, "TERMINATING") == 0 &&
		    dbm_now() >= c->ready) {
			set_state(c, "TERMINATED", 0);
			c->terminated_time = c->changed;	/* no event:
			 * the SDK's EventType has TERMINATING only */
		}
		return c;
	}
	return NULL;
}

const char *
emu_cluster_state(struct emu *e, const char *id)
{
	struct clusters *cs = clusters_lock(e);
	struct cluster *c = clusters_find(e, cs, id);
	const char *state = c ? c->state : NULL;

	pthread_mutex_unlock(&cs->mu);
	return state;
}

static void
start(struct cluster *c)
{
	set_state(c, "PENDING", START_SECONDS);
	event(c, "STARTING");
}

/* Why c cannot start on this workspace (its runtime), or NULL. */
static char *
start_refused(struct emu *e, const struct cluster *c)
{
	struct dbm_json j;
	struct dbm_err je;
	char *v, *why;

	if (dbm_json_parse(&j, c->spec, strlen(c->spec), "cluster", &je) < 0)
		return NULL;
	v = dbm_json_strdup(&j, dbm_json_member(&j, 0, "spark_version"));
	why = emu_runtime_refused(e, v);
	free(v);
	dbm_json_free(&j);
	return why;
}

int
emu_cluster_start(struct emu *e, const char *id, char **why)
{
	struct clusters *cs = clusters_lock(e);
	struct cluster *c = clusters_find(e, cs, id);
	int rc = c ? 0 : -1;

	*why = NULL;
	if (c && strcmp(c->state, "TERMINATED") == 0 &&
	    (*why = start_refused(e, c)) != NULL)
		rc = -2;
	else if (c && strcmp(c->state, "TERMINATED") == 0)
		start(c);
	pthread_mutex_unlock(&cs->mu);
	return rc;
}

char *
emu_cluster_spec(struct emu *e, const char *id)
{
	struct clusters *cs = clusters_lock(e);
	struct cluster *c = clusters_find(e, cs, id);
	char *s = c ? dbm_xstrdup(c->spec) : NULL;

	pthread_mutex_unlock(&cs->mu);
	return s;
}

/* A cluster as clusters/get answers it: its spec, then what the service
 * adds. */
static void
info(struct emu *e, struct dbm_jw *w, const struct cluster *c)
{
	static const char *const own[] = {"cluster_id", "cluster_name", "state",
		"state_message", "cluster_source", "creator_user_name",
		"start_time", "terminated_time", "last_state_loss_time",
		"default_tags", NULL};
	struct dbm_json s;
	struct dbm_err je;
	int ok = dbm_json_parse(&s, c->spec, strlen(c->spec), "spec", &je) == 0;

	dbm_jw_obj(w);
	dbm_jw_key(w, "cluster_id");
	dbm_jw_str(w, c->id);
	dbm_jw_key(w, "cluster_name");
	dbm_jw_str(w, c->name);
	dbm_jw_key(w, "state");
	dbm_jw_str(w, c->state);
	dbm_jw_key(w, "state_message");
	dbm_jw_str(w, "");
	dbm_jw_key(w, "cluster_source");
	dbm_jw_str(w, c->created ? "API" : "UI");
	dbm_jw_key(w, "creator_user_name");
	dbm_jw_str(w, e->user_name);
	dbm_jw_key(w, "start_time");
	dbm_jw_int(w, c->start_time);
	if (c->terminated_time) {
		dbm_jw_key(w, "terminated_time");
		dbm_jw_int(w, c->terminated_time);
	}
	dbm_jw_key(w, "default_tags");
	dbm_jw_obj(w);
	dbm_jw_key(w, "Vendor");
	dbm_jw_str(w, "Databricks");
	dbm_jw_key(w, "ClusterId");
	dbm_jw_str(w, c->id);
	dbm_jw_key(w, "ClusterName");
	dbm_jw_str(w, c->name);
	dbm_jw_key(w, "Creator");
	dbm_jw_str(w, e->user_name);
	dbm_jw_obj_end(w);
	if (ok && dbm_json_member(&s, 0, "spark_version") < 0) {
		/* a --cluster one: what the emulator's clusters run */
		dbm_jw_key(w, "spark_version");
		dbm_jw_str(w, "15.4.x-cpu-ml-scala2.12");
		dbm_jw_key(w, "node_type_id");
		dbm_jw_str(w, "emu-node");
		dbm_jw_key(w, "num_workers");
		dbm_jw_int(w, 1);
	}
	if (ok)
		clusters_members(w, &s, 0, own);
	dbm_jw_obj_end(w);
	if (ok)
		dbm_json_free(&s);
}

void
clusters_members(struct dbm_jw *w, const struct dbm_json *j, int t,
    const char *const *skip)
{
	int i, k;

	for (i = 0, k = t + 1; i < dbm_json_count(j, t); i++,
	    k = dbm_json_skip(j, k + 1)) {
		char *key = dbm_json_strdup(j, k);
		size_t x;
		int drop = key == NULL;

		for (x = 0; skip && skip[x] && !drop; x++)
			drop = strcmp(key, skip[x]) == 0;
		if (!drop) {
			dbm_jw_key(w, key);
			dbm_jw_json(w, j, k + 1);
		}
		free(key);
	}
}

/* The refusal of a change the cluster's state does not allow: the state
 * title-cased, as the service writes it ("... in unexpected state
 * Running.", PROTOCOL.md section 17). */
static enum MHD_Result
unexpected_state(struct req *r, const struct cluster *c)
{
	char st[32];
	size_t i;

	for (i = 0; c->state[i] && i < sizeof(st) - 1; i++)
		st[i] = i == 0 ? c->state[i] : (char)tolower((unsigned char)
		    c->state[i]);
	st[i] = '\0';
	return emu_reply_error(r, 400, "INVALID_STATE", "Cluster %s is in "
	    "unexpected state %s.", c->id, st);
}

static enum MHD_Result
no_cluster(struct req *r, const char *id)
{
	return emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
	    "Cluster %s does not exist", id ? id : "(none)");
}

/* The cluster named by the request's cluster_id, mu held; or NULL, the
 * answer in *res (and mu released). */
struct cluster *
clusters_request(struct req *r, struct clusters **csp, enum MHD_Result *res)
{
	char *id = emu_param(r, "cluster_id");
	struct clusters *cs = clusters_lock(r->emu);
	struct cluster *c = clusters_find(r->emu, cs, id);

	if (c == NULL) {
		pthread_mutex_unlock(&cs->mu);
		*res = id ? no_cluster(r, id) : emu_reply_error(r, 400,
		    "INVALID_PARAMETER_VALUE", "Missing required field: "
		    "cluster_id");
	}
	free(id);
	*csp = cs;
	return c;
}

/* clusters/list's filter_by (the SDK's ListClustersFilterBy, its query
 * flattened as filter_by.cluster_states=RUNNING&...): each member given
 * once or more; a cluster passes when its value is one of them. */
struct list_filter {
	const char *key, *val;
	int given, match;
};

static enum MHD_Result
filter_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct list_filter *f = cls;

	if (strcmp(key, f->key) == 0) {
		f->given = 1;
		if (value && f->val && strcmp(value, f->val) == 0)
			f->match = 1;
	}
	return MHD_YES;
}

static int
filter_pass(struct req *r, const char *key, const char *val)
{
	struct list_filter f = {key, val, 0, 0};

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, filter_arg,
	    &f);
	return !f.given || f.match;
}

/* Whether cluster c passes the request's filter_by. None is pinned
 * here; its spec is read only for a policy_id filter. */
static int
listed(struct req *r, const struct cluster *c)
{
	struct dbm_json s;
	struct dbm_err je;
	char *policy = NULL;
	int ok;

	if (!filter_pass(r, "filter_by.cluster_states", c->state) ||
	    !filter_pass(r, "filter_by.cluster_sources", c->created ? "API" :
	    "UI") || !filter_pass(r, "filter_by.is_pinned", "false"))
		return 0;
	if (filter_pass(r, "filter_by.policy_id", NULL))
		return 1;	/* no policy_id asked for */
	if (dbm_json_parse(&s, c->spec, strlen(c->spec), "spec", &je) == 0) {
		policy = dbm_json_strdup(&s, dbm_json_member(&s, 0,
		    "policy_id"));
		dbm_json_free(&s);
	}
	ok = policy && filter_pass(r, "filter_by.policy_id", policy);
	free(policy);
	return ok;
}

static int
by_name(const void *a, const void *b)
{
	const struct cluster *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* GET clusters/list: filter_by, sort_by (CLUSTER_NAME; DEFAULT is the
 * order they were made in), page_size with next_page_token and
 * prev_page_token (offsets here). */
enum MHD_Result
emu_clusters_list(struct req *r)
{
	struct clusters *cs;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	struct cluster **sel = NULL;
	char *field = emu_param(r, "sort_by.field"),
	    *dir = emu_param(r, "sort_by.direction"),
	    *tok = emu_param(r, "page_token"), *psz = emu_param(r, "page_size"),
	    *end = NULL, num[24];
	long long size = 0, off = 0;
	int i, n = 0;

	if (tok && *tok && ((off = strtoll(tok, &end, 10)) < 0 || *end)) {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid page_token");
		goto out;
	}
	if (psz && emu_param_id(r, "page_size", "page_size must be a number",
	    &size, &res) < 0)
		goto out;
	cs = clusters_lock(r->emu);
	sel = dbm_xrealloc(NULL, (size_t)(cs->n + 1) * sizeof(*sel));
	for (i = 0; i < cs->n; i++) {
		struct cluster *c = clusters_find(r->emu, cs, cs->c[i].id);

		if (c && listed(r, c))
			sel[n++] = c;
	}
	if (field && strcmp(field, "CLUSTER_NAME") == 0)
		qsort(sel, (size_t)n, sizeof(*sel), by_name);
	if (dir && strcmp(dir, "DESC") == 0)
		for (i = 0; i < n / 2; i++) {
			struct cluster *t = sel[i];

			sel[i] = sel[n - 1 - i];
			sel[n - 1 - i] = t;
		}
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "clusters");
	dbm_jw_arr(&w);
	for (i = (int)(off < n ? off : n); i < n && (size <= 0 || i < off +
	    size); i++)
		info(r->emu, &w, sel[i]);
	pthread_mutex_unlock(&cs->mu);
	dbm_jw_arr_end(&w);
	if (size > 0 && off + size < n) {
		snprintf(num, sizeof(num), "%lld", off + size);
		dbm_jw_key(&w, "next_page_token");
		dbm_jw_str(&w, num);
	}
	if (size > 0 && off > 0) {
		snprintf(num, sizeof(num), "%lld", off > size ? off - size : 0);
		dbm_jw_key(&w, "prev_page_token");
		dbm_jw_str(&w, num);
	}
	dbm_jw_obj_end(&w);
	res = emu_reply_json(r, 200, b.data);
out:
	free(sel);
	free(field);
	free(dir);
	free(tok);
	free(psz);
	dbm_buf_free(&b);
	return res;
}

enum MHD_Result
emu_clusters_get(struct req *r)
{
	struct clusters *cs;
	struct cluster *c;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;

	if ((c = clusters_request(r, &cs, &res)) == NULL)
		return res;
	dbm_jw_init(&w, &b);
	info(r->emu, &w, c);
	pthread_mutex_unlock(&cs->mu);
	res = emu_reply_json(r, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

/* A new cluster's id: MMDD-HHMMSS-<8 of a hash>, as the service's look. */
static void
new_id(struct clusters *cs, char out[32])
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	time_t now = time(NULL);
	struct tm tm;
	unsigned long long h = (unsigned long long)dbm_epoch_ms() * 2654435761u +
	    (unsigned long long)getpid() * 40503u + (unsigned long long)cs->n;
	size_t k;
	int i;

	gmtime_r(&now, &tm);
	k = strftime(out, 32, "%m%d-%H%M%S-", &tm);
	for (i = 0; i < 8; i++, h /= 36)
		out[k++] = digits[h % 36];
	out[k] = '\0';
}

/* The spec a create or edit request makes: its members but the ids. */
static char *
spec_of(struct req *r, char **why)
{
	static const char *const skip[] = {"cluster_id", NULL};
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;

	if ((*why = emu_cluster_spec_error(r->emu, &r->json, 0)) != NULL)
		return NULL;
	if (r->emu->serverless_only) {
		*why = dbm_xstrdup("Only serverless compute is available in "
		    "this workspace: clusters cannot be created");
		return NULL;
	}
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	clusters_members(&w, &r->json, 0, skip);
	dbm_jw_obj_end(&w);
	return dbm_buf_detach(&b);
}

enum MHD_Result
emu_clusters_create(struct req *r)
{
	struct clusters *cs;
	struct cluster *c;
	struct dbm_buf b = DBM_BUF_INIT;
	enum MHD_Result res;
	char *spec, *why, *name, id[32];

	if ((spec = spec_of(r, &why)) == NULL) {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		free(why);
		return res;
	}
	name = emu_param(r, "cluster_name");
	cs = clusters_lock(r->emu);
	new_id(cs, id);
	c = add(cs, id, name ? name : "", spec);
	c->created = 1;
	event(c, "CREATING");
	start(c);
	clusters_save(r->emu, c);
	pthread_mutex_unlock(&cs->mu);
	free(name);
	free(spec);
	dbm_buf_printf(&b, "{\"cluster_id\":\"%s\"}", id);
	res = emu_reply_json(r, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

/* clusters/edit: a RUNNING cluster restarts with its new spec, a
 * TERMINATED one keeps it for its next start. */
enum MHD_Result
emu_clusters_edit(struct req *r)
{
	struct clusters *cs;
	struct cluster *c;
	enum MHD_Result res;
	char *spec, *why, *name;

	if ((spec = spec_of(r, &why)) == NULL) {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		free(why);
		return res;
	}
	if ((c = clusters_request(r, &cs, &res)) == NULL) {
		free(spec);
		return res;
	}
	if (strcmp(c->state, "RUNNING") != 0 && strcmp(c->state, "TERMINATED")
	    != 0) {
		res = unexpected_state(r, c);
	} else {
		free(c->spec);
		c->spec = spec;
		spec = NULL;
		if ((name = emu_param(r, "cluster_name")) != NULL) {
			free(c->name);
			c->name = name;
		}
		event(c, "EDITED");
		if (strcmp(c->state, "RUNNING") == 0) {
			set_state(c, "RESTARTING", START_SECONDS);
			event(c, "RESTARTING");
		}
		clusters_save(r->emu, c);
		res = emu_reply_json(r, 200, "{}");
	}
	pthread_mutex_unlock(&cs->mu);
	free(spec);
	return res;
}

/* start, restart, delete (terminate) and permanent-delete. */
static enum MHD_Result
change(struct req *r, const char *op)
{
	struct clusters *cs;
	struct cluster *c;
	enum MHD_Result res;
	char *why;
	const char *need = strcmp(op, "start") == 0 ? "TERMINATED" :
	    strcmp(op, "restart") == 0 ? "RUNNING" : NULL;

	if (emu_need_json(r, &res) < 0 ||
	    (c = clusters_request(r, &cs, &res)) == NULL)
		return res;
	if (need && strcmp(c->state, need) != 0) {
		res = unexpected_state(r, c);
		pthread_mutex_unlock(&cs->mu);
		return res;
	}
	if (need && (why = start_refused(r->emu, c)) != NULL) {
		pthread_mutex_unlock(&cs->mu);
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		free(why);
		return res;
	}
	if (strcmp(op, "start") == 0)
		start(c);
	else if (strcmp(op, "restart") == 0) {
		set_state(c, "RESTARTING", START_SECONDS);
		event(c, "RESTARTING");
	} else if (strcmp(op, "delete") == 0 && strcmp(c->state, "TERMINATED")
	    != 0 && strcmp(c->state, "TERMINATING") != 0) {
		set_state(c, "TERMINATING", STOP_SECONDS);
		event(c, "TERMINATING");
	} else if (strcmp(op, "permanent-delete") == 0) {
		struct dbm_buf p = DBM_BUF_INIT;
		int i = (int)(c - cs->c);

		dbm_buf_printf(&p, "%s/clusters/%s.json", r->emu->datadir,
		    c->id);
		unlink(p.data);
		dbm_buf_free(&p);
		clusters_free_one(c);
		memmove(c, c + 1, (size_t)(cs->n - i - 1) * sizeof(*c));
		cs->n--;
	}
	pthread_mutex_unlock(&cs->mu);
	return emu_reply_json(r, 200, "{}");
}

enum MHD_Result
emu_clusters_start(struct req *r)
{
	return change(r, "start");
}

enum MHD_Result
emu_clusters_restart(struct req *r)
{
	return change(r, "restart");
}

enum MHD_Result
emu_clusters_delete(struct req *r)
{
	return change(r, "delete");
}

enum MHD_Result
emu_clusters_permanent_delete(struct req *r)
{
	return change(r, "permanent-delete");
}

/* clusters/events: newest first unless order is ASC; offset and limit
 * (at most 500) page, next_page is the body of the next request. */
enum MHD_Result
emu_clusters_events(struct req *r)
{
	struct clusters *cs;
	struct cluster *c;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	long long off = 0, limit = 50;
	char *order = emu_param(r, "order");
	int asc = order && strcmp(order, "ASC") == 0, i, n;

	free(order);
	dbm_json_get_int(&r->json, "offset", &off);
	dbm_json_get_int(&r->json, "limit", &limit);
	if (off < 0 || limit < 1 || limit > 500)
		return emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "limit must be between 1 and 500, offset at least 0");
	if ((c = clusters_request(r, &cs, &res)) == NULL)
		return res;
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "events");
	dbm_jw_arr(&w);
	for (i = (int)off, n = 0; i < c->nev && n < limit; i++, n++) {
		const struct cluster_event *ev = &c->ev[asc ? i : c->nev - 1 - i];

		dbm_jw_obj(&w);
		dbm_jw_key(&w, "cluster_id");
		dbm_jw_str(&w, c->id);
		dbm_jw_key(&w, "timestamp");
		dbm_jw_int(&w, ev->ts);
		dbm_jw_key(&w, "type");
		dbm_jw_str(&w, ev->type);
		dbm_jw_key(&w, "details");
		dbm_jw_obj(&w);
		dbm_jw_obj_end(&w);
		dbm_jw_obj_end(&w);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_key(&w, "total_count");
	dbm_jw_int(&w, c->nev);
	if (off + limit < c->nev) {
		dbm_jw_key(&w, "next_page");
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "cluster_id");
		dbm_jw_str(&w, c->id);
		dbm_jw_key(&w, "order");
		dbm_jw_str(&w, asc ? "ASC" : "DESC");
		dbm_jw_key(&w, "offset");
		dbm_jw_int(&w, off + limit);
		dbm_jw_key(&w, "limit");
		dbm_jw_int(&w, limit);
		dbm_jw_obj_end(&w);
	}
	dbm_jw_obj_end(&w);
	pthread_mutex_unlock(&cs->mu);
	res = emu_reply_json(r, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

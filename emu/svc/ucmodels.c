/*
 * Models in Unity Catalog for workspace-emu (PROTOCOL.md section 19): the
 * registry calls of MLflow's Unity Catalog store (mlflow/store/
 * _unity_catalog/registry/rest_store.py, the messages of
 * databricks_uc_registry_messages.proto) and the files of each model
 * version under /Models/<catalog>/<schema>/<model>/<version>/, which
 * MLflow's DatabricksSDKModelsArtifactRepository writes and reads through
 * the Files API once the workspace says it may.
 *
 * A model is uc/<catalog>/<schema>/models/<model>/model.json, a version
 * .../versions/<n>.json, each in the shape the API answers (the model
 * also keeps its next version number); a version's files are
 * ucmodels/<catalog>/<schema>/<model>/<n>/: the Files API's /Models/, a
 * storage the DBFS API does not reach. One mutex for them all.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"

static pthread_mutex_t ucm_mu = PTHREAD_MUTEX_INITIALIZER;

struct kv {
	char *k, *v;
};

/* A registered model (version 0) or one of its versions. */
struct rec {
	long long version, created, updated, next;
	char *user, *desc, *source, *run_id, *status, *model_id;
	struct kv *tags;
	int ntags;
	struct kv *aliases;	/* the model's: alias, version */
	int naliases;
};

/* The text members of a record, as stored and answered. */
#define TEXTS(x) { &(x)->user, &(x)->desc, &(x)->source, &(x)->run_id, \
	&(x)->status, &(x)->model_id }
static const char *const text_key[] = {"user_id", "description", "source",
	"run_id", "status", "model_id"};
#define NTEXT	6

static void
kv_free(struct kv *a, int n)
{
	for (int i = 0; i < n; i++) {
		free(a[i].k);
		free(a[i].v);
	}
	free(a);
}

static void
rec_free(struct rec *x)
{
	char **t[] = TEXTS(x);

	for (int i = 0; i < NTEXT; i++)
		free(*t[i]);
	kv_free(x->tags, x->ntags);
	kv_free(x->aliases, x->naliases);
	memset(x, 0, sizeof(*x));
}

/* Set k to v in a (v NULL: remove it). */
static void
kv_set(struct kv **a, int *n, const char *k, const char *v)
{
	int i;

	for (i = 0; i < *n && strcmp((*a)[i].k, k) != 0; i++)
		;
	if (i < *n && v == NULL) {
		free((*a)[i].k);
		free((*a)[i].v);
		memmove(*a + i, *a + i + 1, (size_t)(*n - i - 1) * sizeof(**a));
		(*n)--;
	} else if (i < *n) {
		free((*a)[i].v);
		(*a)[i].v = dbm_xstrdup(v);
	} else if (v) {
		*a = dbm_xrealloc(*a, (size_t)(*n + 1) * sizeof(**a));
		(*a)[*n].k = dbm_xstrdup(k);
		(*a)[(*n)++].v = dbm_xstrdup(v);
	}
}

static const char *
kv_get(const struct kv *a, int n, const char *k)
{
	for (int i = 0; i < n; i++)
		if (strcmp(a[i].k, k) == 0)
			return a[i].v;
	return NULL;
}

/* Array t of {kname: k, vname: v} objects into a. */
static void
kv_read(const struct dbm_json *j, int t, const char *kname,
    const char *vname, struct kv **a, int *n)
{
	for (int i = 0; t >= 0 && i < dbm_json_count(j, t); i++) {
		int el = dbm_json_elem(j, t, i);
		char *k = dbm_json_strdup(j, dbm_json_member(j, el, kname));
		char *v = dbm_json_strdup(j, dbm_json_member(j, el, vname));

		if (k)
			kv_set(a, n, k, v ? v : "");
		free(k);
		free(v);
	}
}

static void
kv_write(struct dbm_jw *w, const char *key, const struct kv *a, int n,
    const char *kname, const char *vname, const char *only)
{
	dbm_jw_key(w, key);
	dbm_jw_arr(w);
	for (int i = 0; i < n; i++) {
		if (only && strcmp(a[i].v, only) != 0)
			continue;
		dbm_jw_obj(w);
		dbm_jw_key(w, kname);
		dbm_jw_str(w, a[i].k);
		dbm_jw_key(w, vname);
		dbm_jw_str(w, a[i].v);
		dbm_jw_obj_end(w);
	}
	dbm_jw_arr_end(w);
}

/* catalog.schema.model in s, split into part[] and lowered, as Unity
 * Catalog keeps names: 0, or -1 with the 400 in *res. */
static int
split_name(struct req *q, char *s, char *part[3], enum MHD_Result *res)
{
	int n = 0;
	char *p;

	part[0] = s;
	for (p = s; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		if (*p == '.' && n < 2) {
			*p = '\0';
			part[++n] = p + 1;
		} else if (*p == '.' || *p == '/' || *p == ' ' ||
		    (unsigned char)*p < 0x20)
			n = 9;
	}
	if (n != 2 || !*part[0] || !*part[1] || !*part[2] ||
	    strlen(part[2]) > 255) {
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Model name must be a three-level name "
		    "<catalog>.<schema>.<model> (no spaces, slashes or further "
		    "dots)");
		return -1;
	}
	return 0;
}

static char *
rec_path(struct emu *e, char *const part[3], long long v)
{
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_printf(&b, "%s/uc/%s/%s/models/%s", e->datadir, part[0],
	    part[1], part[2]);
	if (v > 0)
		dbm_buf_printf(&b, "/versions/%lld.json", v);
	else if (v == 0)
		dbm_buf_adds(&b, "/model.json");
	return dbm_buf_detach(&b);	/* v < 0: the model's folder */
}

static char *
files_path(struct emu *e, char *const part[3], long long v)
{
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_printf(&b, "%s/ucmodels/%s/%s/%s", e->datadir, part[0],
	    part[1], part[2]);
	if (v > 0)
		dbm_buf_printf(&b, "/%lld", v);
	return dbm_buf_detach(&b);
}

/* Read a record: 0, or -1 when there is none. */
static int
rec_load(struct emu *e, char *const part[3], long long v, struct rec *x)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_err je;
	char *path = rec_path(e, part, v), **t[] = TEXTS(x);
	int rc = -1;

	memset(x, 0, sizeof(*x));
	if (dbm_buf_read_file(&b, path, 1 << 20) == 0 &&
	    dbm_json_parse(&j, dbm_buf_str(&b), b.len, path, &je) == 0) {
		x->version = v;
		for (int i = 0; i < NTEXT; i++)
			*t[i] = dbm_json_strdup(&j, dbm_json_member(&j, 0,
			    text_key[i]));
		dbm_json_get_int(&j, "creation_timestamp", &x->created);
		dbm_json_get_int(&j, "last_updated_timestamp", &x->updated);
		dbm_json_get_int(&j, "next_version", &x->next);
		kv_read(&j, dbm_json_member(&j, 0, "tags"), "key", "value",
		    &x->tags, &x->ntags);
		kv_read(&j, dbm_json_member(&j, 0, "aliases"), "alias",
		    "version", &x->aliases, &x->naliases);
		dbm_json_free(&j);
		rc = 0;
	}
	dbm_buf_free(&b);
	free(path);
	return rc;
}

/* x as the API answers it; m is its model (for a version's aliases). */
static void
rec_json(struct dbm_jw *w, struct emu *e, char *const part[3],
    const struct rec *x, const struct rec *m, int stored)
{
	struct dbm_buf n = DBM_BUF_INIT;
	char ver[24], **t[] = TEXTS((struct rec *)x);

	dbm_buf_printf(&n, "%s.%s.%s", part[0], part[1], part[2]);
	snprintf(ver, sizeof(ver), "%lld", x->version);
	dbm_jw_obj(w);
	dbm_jw_key(w, "name");
	dbm_jw_str(w, n.data);
	if (x->version > 0) {
		char *loc = files_path(e, part, x->version);

		dbm_jw_key(w, "version");
		dbm_jw_str(w, ver);
		dbm_jw_key(w, "storage_location");
		dbm_buf_reset(&n);
		dbm_buf_printf(&n, "file://%s", loc);
		dbm_jw_str(w, n.data);
		free(loc);
	}
	dbm_jw_key(w, "creation_timestamp");
	dbm_jw_int(w, x->created);
	dbm_jw_key(w, "last_updated_timestamp");
	dbm_jw_int(w, x->updated);
	for (int i = 0; i < NTEXT; i++)
		if (*t[i]) {
			dbm_jw_key(w, text_key[i]);
			dbm_jw_str(w, *t[i]);
		}
	kv_write(w, "tags", x->tags, x->ntags, "key", "value", NULL);
	if (x->version == 0 || !stored)
		kv_write(w, "aliases", m->aliases, m->naliases, "alias",
		    "version", x->version > 0 ? ver : NULL);
	if (x->version == 0 && stored) {
		dbm_jw_key(w, "next_version");
		dbm_jw_int(w, x->next);
	}
	dbm_jw_obj_end(w);
	dbm_buf_free(&n);
}

/* Write a record whole (ucm_mu held): 0, or -1 with the 500 in *res. */
static int
rec_save(struct req *q, char *const part[3], const struct rec *x,
    enum MHD_Result *res)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	char *path = rec_path(q->emu, part, x->version);
	int rc;

	dbm_jw_init(&w, &b);
	rec_json(&w, q->emu, part, x, x, 1);
	rc = store_write_file(q->emu, path, b.data, b.len);
	if (rc < 0)
		*res = emu_reply_error(q, 500, "INTERNAL_ERROR", "cannot store "
		    "the model: %s", strerror(errno));
	dbm_buf_free(&b);
	free(path);
	return rc;
}

/* {"key": x} */
static enum MHD_Result
reply_rec(struct req *q, const char *key, char *const part[3],
    const struct rec *x, const struct rec *m)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, key);
	rec_json(&w, q->emu, part, x, m, 0);
	dbm_jw_obj_end(&w);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

static enum MHD_Result
no_model(struct req *q, char *const part[3])
{
	return emu_reply_error(q, 404, "RESOURCE_DOES_NOT_EXIST", "Registered "
	    "model '%s.%s.%s' does not exist.", part[0], part[1], part[2]);
}

/* A required text parameter: malloc'd, or NULL with the 400 in *res. */
static char *
need(struct req *q, const char *field, enum MHD_Result *res)
{
	char *v = emu_param(q, field);

	if (v == NULL || *v == '\0') {
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Missing required field: %s", field);
		free(v);
		return NULL;
	}
	return v;
}

/* The model the name parameter names, in *m, its parts in part[] (in *s,
 * which the caller frees); ucm_mu held. 0, or -1 with the answer. With
 * want_none, a model there already is the error. */
static int
model_of(struct req *q, char **s, char *part[3], struct rec *m, int want_none,
    enum MHD_Result *res)
{
	memset(m, 0, sizeof(*m));
	if ((*s = need(q, "name", res)) == NULL ||
	    split_name(q, *s, part, res) < 0 ||
	    emu_uc_schema_check(q, part, res) < 0)
		return -1;
	if (rec_load(q->emu, part, 0, m) == 0) {
		if (!want_none)
			return 0;
		*res = emu_reply_error(q, 400, "RESOURCE_ALREADY_EXISTS",
		    "Registered model '%s.%s.%s' already exists.", part[0],
		    part[1], part[2]);
		return -1;
	}
	if (want_none)
		return 0;
	*res = no_model(q, part);
	return -1;
}

/* The version the version parameter names (and its model); as model_of. */
static int
version_of(struct req *q, char **s, char *part[3], struct rec *m,
    struct rec *x, enum MHD_Result *res)
{
	char *v, *end;
	long long n;

	memset(x, 0, sizeof(*x));
	if (model_of(q, s, part, m, 0, res) < 0 ||
	    (v = need(q, "version", res)) == NULL)
		return -1;
	n = strtoll(v, &end, 10);
	if (*end || n <= 0 || rec_load(q->emu, part, n, x) < 0) {
		*res = emu_reply_error(q, 404, "RESOURCE_DOES_NOT_EXIST",
		    "Model version '%s.%s.%s' version %.24s does not exist.",
		    part[0], part[1], part[2], v);
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

/* Every request: lock, find, act, save, answer, unlock. */
enum op { M_CREATE, M_GET, M_UPDATE, M_DELETE, M_SET_TAG, M_DEL_TAG,
	A_SET, A_DELETE, A_GET, V_CREATE, V_GET, V_UPDATE, V_DELETE,
	V_FINALIZE, V_URI, V_SET_TAG, V_DEL_TAG };

static void
set_text(struct req *q, char **field, const char *name)
{
	char *v = emu_param(q, name);

	if (v) {
		free(*field);
		*field = v;
	}
}

/* Tags given at create ([{key, value}]). */
static void
create_tags(struct req *q, struct rec *x)
{
	if (q->have_json)
		kv_read(&q->json, dbm_json_member(&q->json, 0, "tags"), "key",
		    "value", &x->tags, &x->ntags);
}

static enum MHD_Result
model_op(struct req *q, enum op op, char *part[3], struct rec *m)
{
	enum MHD_Result res;
	char *k = NULL, *v = NULL, *dir, *files;

	m->updated = dbm_epoch_ms();
	switch (op) {
	case M_CREATE:
		m->created = m->updated;
		m->next = 1;
		m->user = dbm_xstrdup(q->principal ? q->principal :
		    q->emu->user_name);
		set_text(q, &m->desc, "description");
		create_tags(q, m);
		break;
	case M_UPDATE:
		set_text(q, &m->desc, "description");
		break;
	case M_DELETE:
		dir = rec_path(q->emu, part, -1);
		files = files_path(q->emu, part, -1);
		store_remove_tree(files);
		store_remove_tree(dir);
		free(files);
		free(dir);
		return emu_reply_json(q, 200, "{}");
	case M_SET_TAG:
	case M_DEL_TAG:
		if ((k = need(q, "key", &res)) == NULL)
			return res;
		v = op == M_SET_TAG ? emu_param(q, "value") : NULL;
		kv_set(&m->tags, &m->ntags, k, op == M_SET_TAG ? (v ? v : "") :
		    NULL);
		break;
	default:
		break;
	}
	free(k);
	free(v);
	if (op != M_GET && rec_save(q, part, m, &res) < 0)
		return res;
	if (op == M_SET_TAG || op == M_DEL_TAG)
		return emu_reply_json(q, 200, "{}");
	return reply_rec(q, "registered_model", part, m, m);
}

/* An alias as Unity Catalog takes it: letters, digits, '_' and '-', not
 * "latest" (which MLflow resolves itself). */
static int
alias_ok(const char *a)
{
	size_t n = strlen(a);

	if (n == 0 || n > 255 || strcasecmp(a, "latest") == 0)
		return 0;
	return strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-") == n;
}

static enum MHD_Result
alias_op(struct req *q, enum op op, char *part[3], struct rec *m)
{
	enum MHD_Result res;
	struct rec x;
	char *a, *v = NULL, *end;
	const char *to;

	if ((a = need(q, "alias", &res)) == NULL)
		return res;
	to = kv_get(m->aliases, m->naliases, a);
	if (op != A_DELETE && op != A_SET && to == NULL)
		res = emu_reply_error(q, 404, "RESOURCE_DOES_NOT_EXIST", "Alias "
		    "%.255s does not exist on registered model '%s.%s.%s'.", a,
		    part[0], part[1], part[2]);
	else if (op == A_GET) {
		if (rec_load(q->emu, part, strtoll(to, NULL, 10), &x) < 0)
			res = no_model(q, part);
		else
			res = reply_rec(q, "model_version", part, &x, m);
		rec_free(&x);
	} else if (op == A_SET && !alias_ok(a))
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE", "Invalid "
		    "alias %.255s: letters, digits, '_' and '-', and not "
		    "'latest'", a);
	else if (op == A_SET && ((v = need(q, "version", &res)) == NULL ||
	    strtoll(v, &end, 10) <= 0 || *end ||
	    rec_load(q->emu, part, strtoll(v, NULL, 10), &x) < 0)) {
		if (v)
			res = emu_reply_error(q, 404, "RESOURCE_DOES_NOT_EXIST",
			    "Model version '%s.%s.%s' version %.24s does not "
			    "exist.", part[0], part[1], part[2], v);
	} else {
		if (op == A_SET)
			rec_free(&x);
		kv_set(&m->aliases, &m->naliases, a, op == A_SET ? v : NULL);
		m->updated = dbm_epoch_ms();
		if (rec_save(q, part, m, &res) == 0)
			res = emu_reply_json(q, 200, "{}");
	}
	free(v);
	free(a);
	return res;
}

static enum MHD_Result
version_new(struct req *q, char *part[3], struct rec *m)
{
	enum MHD_Result res;
	struct rec x;
	char *files;

	memset(&x, 0, sizeof(x));
	if ((x.source = need(q, "source", &res)) == NULL)
		return res;
	x.version = m->next > 0 ? m->next : 1;
	m->next = x.version + 1;
	x.created = x.updated = m->updated = dbm_epoch_ms();
	x.user = dbm_xstrdup(q->principal ? q->principal : q->emu->user_name);
	x.status = dbm_xstrdup("PENDING_REGISTRATION");
	set_text(q, &x.desc, "description");
	set_text(q, &x.run_id, "run_id");
	set_text(q, &x.model_id, "model_id");
	create_tags(q, &x);
	files = files_path(q->emu, part, x.version);
	if (store_mkdirs(files) < 0)
		res = emu_reply_error(q, 500, "INTERNAL_ERROR", "cannot make "
		    "the version's folder: %s", strerror(errno));
	else if (rec_save(q, part, m, &res) == 0 &&
	    rec_save(q, part, &x, &res) == 0)
		res = reply_rec(q, "model_version", part, &x, m);
	free(files);
	rec_free(&x);
	return res;
}

static enum MHD_Result
version_op(struct req *q, enum op op, char *part[3], struct rec *m,
    struct rec *x)
{
	enum MHD_Result res;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	char *k = NULL, *v = NULL, *p;

	x->updated = dbm_epoch_ms();
	switch (op) {
	case V_UPDATE:
		set_text(q, &x->desc, "description");
		break;
	case V_FINALIZE:
		free(x->status);
		x->status = dbm_xstrdup("READY");
		break;
	case V_DELETE:
		p = rec_path(q->emu, part, x->version);
		unlink(p);
		free(p);
		p = files_path(q->emu, part, x->version);
		store_remove_tree(p);
		free(p);
		dbm_buf_printf(&b, "%lld", x->version);
		for (int i = m->naliases - 1; i >= 0; i--)
			if (strcmp(m->aliases[i].v, b.data) == 0)
				kv_set(&m->aliases, &m->naliases,
				    m->aliases[i].k, NULL);
		dbm_buf_free(&b);
		if (rec_save(q, part, m, &res) < 0)
			return res;
		return emu_reply_json(q, 200, "{}");
	case V_URI:
		p = files_path(q->emu, part, x->version);
		dbm_buf_printf(&b, "file://%s", p);
		free(p);
		p = dbm_buf_detach(&b);
		dbm_jw_init(&w, &b);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "artifact_uri");
		dbm_jw_str(&w, p);
		dbm_jw_obj_end(&w);
		free(p);
		res = emu_reply_json(q, 200, b.data);
		dbm_buf_free(&b);
		return res;
	case V_SET_TAG:
	case V_DEL_TAG:
		if ((k = need(q, "key", &res)) == NULL)
			return res;
		v = op == V_SET_TAG ? emu_param(q, "value") : NULL;
		kv_set(&x->tags, &x->ntags, k, op == V_SET_TAG ? (v ? v : "") :
		    NULL);
		break;
	default:
		break;
	}
	free(k);
	free(v);
	if (op != V_GET && rec_save(q, part, x, &res) < 0)
		return res;
	if (op == V_SET_TAG || op == V_DEL_TAG)
		return emu_reply_json(q, 200, "{}");
	return reply_rec(q, "model_version", part, x, m);
}

static enum MHD_Result
run_op(struct req *q, enum op op)
{
	enum MHD_Result res;
	struct rec m, x;
	char *s = NULL, *part[3];

	memset(&x, 0, sizeof(x));
	pthread_mutex_lock(&ucm_mu);
	if (op >= V_GET && version_of(q, &s, part, &m, &x, &res) == 0)
		res = version_op(q, op, part, &m, &x);
	else if (op >= V_GET)
		;
	else if (model_of(q, &s, part, &m, op == M_CREATE, &res) < 0)
		;
	else if (op == V_CREATE)
		res = version_new(q, part, &m);
	else if (op >= A_SET)
		res = alias_op(q, op, part, &m);
	else
		res = model_op(q, op, part, &m);
	pthread_mutex_unlock(&ucm_mu);
	rec_free(&m);
	rec_free(&x);
	free(s);
	return res;
}

#define OP(fn, op) \
	enum MHD_Result fn(struct req *r) { return run_op(r, op); }
OP(emu_ucm_model_create, M_CREATE)
OP(emu_ucm_model_get, M_GET)
OP(emu_ucm_model_update, M_UPDATE)
OP(emu_ucm_model_delete, M_DELETE)
OP(emu_ucm_model_set_tag, M_SET_TAG)
OP(emu_ucm_model_delete_tag, M_DEL_TAG)
OP(emu_ucm_alias_set, A_SET)
OP(emu_ucm_alias_delete, A_DELETE)
OP(emu_ucm_alias_get, A_GET)
OP(emu_ucm_version_create, V_CREATE)
OP(emu_ucm_version_get, V_GET)
OP(emu_ucm_version_update, V_UPDATE)
OP(emu_ucm_version_delete, V_DELETE)
OP(emu_ucm_version_finalize, V_FINALIZE)
OP(emu_ucm_version_uri, V_URI)
OP(emu_ucm_version_set_tag, V_SET_TAG)
OP(emu_ucm_version_delete_tag, V_DEL_TAG)
#undef OP

/* Every model (or every version of the one named "name"), paged by
 * max_results and page_token (an offset). */
static enum MHD_Result
search(struct req *q, const char *key, const char *only)
{
	struct dbm_buf b = DBM_BUF_INIT, d = DBM_BUF_INIT, tok = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	char *mr = emu_param(q, "max_results"), *pt = emu_param(q,
	    "page_token"), **cats, **schs, **mods;
	long long max = mr ? strtoll(mr, NULL, 10) : 1000, skip = pt ?
	    strtoll(pt, NULL, 10) : 0, seen = 0, shown = 0;
	int nc, ns, nm;

	if (max <= 0 || max > 1000)
		max = 1000;
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, key);
	dbm_jw_arr(&w);
	pthread_mutex_lock(&ucm_mu);
	dbm_buf_printf(&d, "%s/uc", q->emu->datadir);
	cats = store_list(d.data, &nc);
	for (int c = 0; cats && c < nc; c++) {
		dbm_buf_reset(&d);
		dbm_buf_printf(&d, "%s/uc/%s", q->emu->datadir, cats[c]);
		schs = store_list(d.data, &ns);
		for (int s = 0; schs && s < ns; s++) {
			dbm_buf_reset(&d);
			dbm_buf_printf(&d, "%s/uc/%s/%s/models", q->emu->datadir,
			    cats[c], schs[s]);
			mods = store_list(d.data, &nm);
			for (int i = 0; mods && i < nm; i++) {
				char *part[3] = {cats[c], schs[s], mods[i]};
				struct rec m, x;

				if (rec_load(q->emu, part, 0, &m) < 0)
					continue;
				for (long long v = only ? 1 : 0; v < (only ?
				    m.next : 1); v++) {
					dbm_buf_reset(&tok);
					dbm_buf_printf(&tok, "%s.%s.%s", cats[c],
					    schs[s], mods[i]);
					if ((only && strcmp(tok.data, only) != 0) ||
					    (v > 0 && rec_load(q->emu, part, v, &x) < 0))
						continue;
					if (seen++ >= skip && shown < max) {
						shown++;
						rec_json(&w, q->emu, part, v ? &x : &m,
						    &m, 0);
					}
					if (v > 0)
						rec_free(&x);
				}
				rec_free(&m);
			}
			store_names_free(mods);
		}
		store_names_free(schs);
	}
	store_names_free(cats);
	pthread_mutex_unlock(&ucm_mu);
	dbm_jw_arr_end(&w);
	if (seen > skip + shown) {
		dbm_buf_reset(&tok);
		dbm_buf_printf(&tok, "%lld", skip + shown);
		dbm_jw_key(&w, "next_page_token");
		dbm_jw_str(&w, tok.data);
	}
	dbm_jw_obj_end(&w);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	dbm_buf_free(&d);
	dbm_buf_free(&tok);
	free(mr);
	free(pt);
	return res;
}

enum MHD_Result
emu_ucm_model_search(struct req *r)
{
	return search(r, "registered_models", NULL);
}

/* filter "name='catalog.schema.model'" (or with double quotes), the one
 * MLflow's Unity Catalog store sends. */
enum MHD_Result
emu_ucm_version_search(struct req *r)
{
	struct dbm_buf full = DBM_BUF_INIT;
	char *f = emu_param(r, "filter"), *v = NULL, *part[3];
	enum MHD_Result res;
	size_t n;

	if (f && strncmp(f, "name", 4) == 0) {
		v = f + 4 + strspn(f + 4, " ");
		v = *v == '=' ? v + 1 + strspn(v + 1, " ") : NULL;
		n = v ? strlen(v) : 0;
		if (n >= 2 && (*v == '\'' || *v == '"') && v[n - 1] == *v) {
			v[n - 1] = '\0';
			v++;
		} else
			v = NULL;
	}
	if (v == NULL) {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE", "Model "
		    "version search needs the filter name='<catalog>.<schema>."
		    "<model>' (got %.200s)", f ? f : "none");
	} else if (split_name(r, v, part, &res) == 0) {
		dbm_buf_printf(&full, "%s.%s.%s", part[0], part[1], part[2]);
		res = search(r, "model_versions", full.data);
	}
	dbm_buf_free(&full);
	free(f);
	return res;
}

enum MHD_Result
emu_ucm_lineage(struct req *r)
{
	return emu_reply_json(r, 200, "{}");
}

/* Model files go through the Files API (/Models/...), as the service
 * tells clients that ask. */
enum MHD_Result
emu_ucm_sdk_repo(struct req *r)
{
	return emu_reply_json(r, 200,
	    "{\"is_databricks_sdk_models_artifact_repository_enabled\":true}");
}

int
emu_ucm_check(struct req *r, const char *canon, enum MHD_Result *res)
{
	char *s = dbm_xstrdup(canon + 8), *part[4], *p, *end;
	struct rec x;
	long long v;
	int i, rc = -1;

	part[0] = s;
	for (i = 1, p = s; i < 4 && (p = strchr(p, '/')) != NULL; i++) {
		*p++ = '\0';
		part[i] = p;
	}
	if (i == 4 && (p = strchr(part[3], '/')) != NULL)
		*p = '\0';	/* the version: what follows is a file */
	v = i < 4 ? 0 : strtoll(part[3], &end, 10);
	if (i < 4 || *end || v <= 0) {
		*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid path %s: expected /Models/<catalog>/<schema>/"
		    "<model>/<version>/...", canon);
		free(s);
		return -1;
	}
	pthread_mutex_lock(&ucm_mu);
	if (rec_load(r->emu, part, v, &x) < 0)
		*res = emu_reply_error(r, 404, "RESOURCE_DOES_NOT_EXIST", "Model "
		    "version '%s.%s.%s' version %lld does not exist.", part[0],
		    part[1], part[2], v);
	else if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") !=
	    0 && x.status && strcmp(x.status, "READY") == 0)
		*res = emu_reply_error(r, 403, "PERMISSION_DENIED", "Model "
		    "version '%s.%s.%s' version %lld is READY: its files no "
		    "longer change.", part[0], part[1], part[2], v);
	else
		rc = 0;
	pthread_mutex_unlock(&ucm_mu);
	rec_free(&x);
	free(s);
	return rc;
}

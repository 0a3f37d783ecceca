/*
 * The Libraries API for workspace-emu (PROTOCOL.md section 17): libraries
 * installed on all-purpose clusters (libraries/install, uninstall,
 * cluster-status, all-cluster-statuses). A library installs when its
 * cluster runs: PENDING on a terminated one until it starts, INSTALLED
 * once it runs, FAILED when the file it names is not there (or on the
 * DBFS root of a workspace without one); an uninstalled one is
 * UNINSTALL_ON_RESTART until the cluster restarts. A run on the cluster
 * installs its own libraries there too, where they stay until the cluster
 * restarts; a wheel of a name and version already installed from another
 * path is listed but changes nothing: pip keeps the installed one, as it
 * replaces it with another version (emu_cluster_run_libraries).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emu.h"
#include "api.h"
#include "clusters_int.h"
#include "stale.h"

static const char *const KINDS[] = {"jar", "egg", "whl", "pypi", "maven",
	"cran", "requirements"};
#define NKINDS (sizeof(KINDS) / sizeof(*KINDS))

/* The request's libraries[] as compact JSON texts: -1 with the 400. */
static int
request_libs(struct req *r, char ***out, int *n, enum MHD_Result *res)
{
	int libs = dbm_json_member(&r->json, 0, "libraries"), i;
	size_t k;

	*out = NULL;
	*n = 0;
	if (dbm_json_type(&r->json, libs) != DBM_JSON_ARRAY) {
		*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Missing required field: libraries");
		return -1;
	}
	for (i = 0; i < dbm_json_count(&r->json, libs); i++) {
		int l = dbm_json_elem(&r->json, libs, i), found = 0;
		struct dbm_buf b = DBM_BUF_INIT;
		struct dbm_jw w;

		for (k = 0; k < NKINDS; k++)
			found += dbm_json_member(&r->json, l, KINDS[k]) >= 0;
		if (dbm_json_type(&r->json, l) != DBM_JSON_OBJECT || found != 1) {
			*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    "Library %d must specify exactly one of jar, egg, "
			    "whl, pypi, maven, cran or requirements", i);
			while (*n > 0)
				free((*out)[--*n]);
			free(*out);
			*out = NULL;
			return -1;
		}
		dbm_jw_init(&w, &b);
		dbm_jw_obj(&w);
		clusters_members(&w, &r->json, l, NULL);
		dbm_jw_obj_end(&w);
		*out = dbm_xrealloc(*out, (size_t)(*n + 1) * sizeof(**out));
		(*out)[(*n)++] = dbm_buf_detach(&b);
	}
	return 0;
}

static enum MHD_Result
change(struct req *r, int uninstall)
{
	struct clusters *cs;
	struct cluster *c;
	enum MHD_Result res;
	char **libs;
	int n, i, k;

	if (request_libs(r, &libs, &n, &res) < 0)
		return res;
	if ((c = clusters_request(r, &cs, &res)) != NULL) {
		for (i = 0; i < n; i++) {
			if (!uninstall) {
				clusters_lib_add(c, libs[i], "PENDING");
				continue;
			}
			for (k = 0; k < c->nlib; k++)
				if (strcmp(c->lib[k].json, libs[i]) == 0)
					c->lib[k].status = "UNINSTALL_ON_RESTART";
		}
		/* on a running cluster they install now */
		for (k = 0; !uninstall && k < c->nlib &&
		    strcmp(c->state, "RUNNING") == 0; k++)
			if (strcmp(c->lib[k].status, "PENDING") == 0)
				clusters_lib_install(r->emu, &c->lib[k]);
		clusters_save(r->emu, c);
		pthread_mutex_unlock(&cs->mu);
		res = emu_reply_json(r, 200, "{}");
	}
	for (i = 0; i < n; i++)
		free(libs[i]);
	free(libs);
	return res;
}

enum MHD_Result
emu_libraries_install(struct req *r)
{
	return change(r, 0);
}

enum MHD_Result
emu_libraries_uninstall(struct req *r)
{
	return change(r, 1);
}

static void
statuses(struct dbm_jw *w, const struct cluster *c)
{
	int i;

	dbm_jw_arr(w);
	for (i = 0; i < c->nlib; i++) {
		dbm_jw_obj(w);
		dbm_jw_key(w, "library");
		dbm_jw_raw(w, c->lib[i].json, strlen(c->lib[i].json));
		dbm_jw_key(w, "status");
		dbm_jw_str(w, c->lib[i].status);
		dbm_jw_key(w, "is_library_for_all_clusters");
		dbm_jw_bool(w, 0);
		if (c->lib[i].message) {
			dbm_jw_key(w, "messages");
			dbm_jw_arr(w);
			dbm_jw_str(w, c->lib[i].message);
			dbm_jw_arr_end(w);
		}
		dbm_jw_obj_end(w);
	}
	dbm_jw_arr_end(w);
}

enum MHD_Result
emu_libraries_cluster_status(struct req *r)
{
	struct clusters *cs;
	struct cluster *c;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;

	if ((c = clusters_request(r, &cs, &res)) == NULL)
		return res;
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "cluster_id");
	dbm_jw_str(&w, c->id);
	dbm_jw_key(&w, "library_statuses");
	statuses(&w, c);
	dbm_jw_obj_end(&w);
	pthread_mutex_unlock(&cs->mu);
	res = emu_reply_json(r, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

enum MHD_Result
emu_libraries_all(struct req *r)
{
	struct clusters *cs = clusters_lock(r->emu);
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	int i;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "statuses");
	dbm_jw_arr(&w);
	for (i = 0; i < cs->n; i++) {
		struct cluster *c = clusters_find(r->emu, cs, cs->c[i].id);

		if (c->nlib == 0)
			continue;
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "cluster_id");
		dbm_jw_str(&w, c->id);
		dbm_jw_key(&w, "library_statuses");
		statuses(&w, c);
		dbm_jw_obj_end(&w);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	pthread_mutex_unlock(&cs->mu);
	res = emu_reply_json(r, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

/* The "name==version" of a library that is a wheel (a whl, or a pip
 * requirement naming a wheel file), or NULL. */
static char *
wheel_key(const char *json)
{
	struct dbm_json j;
	struct dbm_err je;
	char *p, *k;

	if (dbm_json_parse(&j, json, strlen(json), "library", &je) < 0)
		return NULL;
	p = dbm_json_strdup(&j, dbm_json_member(&j, 0, "whl"));
	if (p == NULL)		/* a wheel named as a pip requirement */
		p = dbm_json_strdup(&j, dbm_json_path(&j, 0, "pypi.package"));
	dbm_json_free(&j);
	k = p ? dbm_wheel_key(p) : NULL;
	free(p);
	return k;
}

/* Whether library i of c is shadowed: pip, asked for each wheel in the
 * order they came, installs another version of a name over the one it has
 * but keeps the one it has for the same version; the wheel of a name that
 * stays is the last of another version than the one before it. */
static int
shadowed(const struct cluster *c, int i)
{
	char *k = wheel_key(c->lib[i].json), *cur = NULL;
	size_t nl;
	int x, keep = -1;

	if (k == NULL)
		return 0;
	nl = (size_t)(strstr(k, "==") - k) + 2;	/* "name==" */
	for (x = 0; x < c->nlib; x++) {
		char *o;

		if (strcmp(c->lib[x].status, "FAILED") == 0 ||
		    (o = wheel_key(c->lib[x].json)) == NULL)
			continue;
		if (strncmp(o, k, nl) == 0 && (cur == NULL || strcmp(o, cur))) {
			free(cur);
			cur = o;
			keep = x;
		} else
			free(o);
	}
	free(cur);
	free(k);
	return keep != i;
}

char *
emu_cluster_run_libraries(struct emu *e, const char *id, const char *libs)
{
	struct clusters *cs = clusters_lock(e);
	struct cluster *c = clusters_find(e, cs, id);
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_err je;
	int i, first = 1;

	if (c && dbm_json_parse(&j, libs, strlen(libs), "libraries", &je) ==
	    0) {
		for (i = 0; i < dbm_json_count(&j, 0); i++) {
			struct dbm_buf one = DBM_BUF_INIT;
			struct dbm_jw w;
			int k, had = c->nlib;

			dbm_jw_init(&w, &one);
			dbm_jw_obj(&w);
			clusters_members(&w, &j, dbm_json_elem(&j, 0, i), NULL);
			dbm_jw_obj_end(&w);
			clusters_lib_add(c, one.data, "PENDING");
			for (k = had; k < c->nlib; k++) {
				c->lib[k].from_run = 1;
				clusters_lib_install(e, &c->lib[k]);
			}
			dbm_buf_free(&one);
		}
		dbm_json_free(&j);
		clusters_save(e, c);
	}
	dbm_buf_addc(&b, '[');
	for (i = 0; c && i < c->nlib; i++)
		if (strcmp(c->lib[i].status, "FAILED") != 0 && !shadowed(c, i)) {
			if (!first)
				dbm_buf_addc(&b, ',');
			dbm_buf_adds(&b, c->lib[i].json);
			first = 0;
		}
	dbm_buf_addc(&b, ']');
	pthread_mutex_unlock(&cs->mu);
	if (c == NULL) {
		dbm_buf_free(&b);
		return dbm_xstrdup(libs);
	}
	return dbm_buf_detach(&b);
}

/* The name pip gives library json in its errors (malloc'd), or NULL: a
 * PyPI package's name without its version or extras, a file's base
 * name without the .whl or .egg. */
static char *
pip_name(const char *json)
{
	struct dbm_json j;
	struct dbm_err je;
	char *s = NULL, *b;
	int p;

	if (dbm_json_parse(&j, json, strlen(json), "library", &je) < 0)
		return NULL;
	if ((p = dbm_json_member(&j, 0, "pypi")) >= 0 &&
	    (s = dbm_json_strdup(&j, dbm_json_member(&j, p, "package"))))
		s[strcspn(s, "[<>=!~; @")] = '\0';
	else if ((s = dbm_json_strdup(&j, dbm_json_member(&j, 0, "whl"))) ||
	    (s = dbm_json_strdup(&j, dbm_json_member(&j, 0, "egg")))) {
		b = strrchr(s, '/');
		memmove(s, b ? b + 1 : s, strlen(b ? b + 1 : s) + 1);
		s[strcspn(s, "-")] = '\0';	/* the distribution's name */
	}
	dbm_json_free(&j);
	return s;
}

/* Whether name occurs in pip's words, case and - _ . folded as pip folds
 * a project's name. */
static int
pip_names(const char *words, const char *name)
{
	size_t n = strlen(name), i, k;

	for (i = 0; n > 0 && words[i]; i++) {
		for (k = 0; k < n && words[i + k]; k++) {
			int a = (unsigned char)words[i + k];
			int b = (unsigned char)name[k];

			a = a == '_' || a == '.' ? '-' : a >= 'A' && a <= 'Z' ?
			    a + 32 : a;
			b = b == '_' || b == '.' ? '-' : b >= 'A' && b <= 'Z' ?
			    b + 32 : b;
			if (a != b)
				break;
		}
		if (k == n)
			return 1;
	}
	return 0;
}

void
emu_cluster_libs_failed(struct emu *e, const char *id, const char *why)
{
	struct clusters *cs = clusters_lock(e);
	struct cluster *c = clusters_find(e, cs, id);
	int i, changed = 0;

	for (i = 0; c && why && i < c->nlib; i++) {
		char *name;

		if (strcmp(c->lib[i].status, "INSTALLED") != 0)
			continue;
		if ((name = pip_name(c->lib[i].json)) != NULL &&
		    pip_names(why, name)) {
			struct dbm_buf m = DBM_BUF_INIT;

			dbm_buf_printf(&m, "Library installation failed for "
			    "library due to user error. Error messages: %s",
			    why);
			free(c->lib[i].message);
			c->lib[i].message = dbm_buf_detach(&m);
			c->lib[i].status = "FAILED";
			changed = 1;
		}
		free(name);
	}
	if (changed)
		clusters_save(e, c);
	pthread_mutex_unlock(&cs->mu);
}

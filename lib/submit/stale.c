/* Stale wheels on an all-purpose cluster: see stale.h. */
#include <stdlib.h>
#include <string.h>

#include "api/clusters.h"
#include "json.h"
#include "stale.h"

char *
dbm_wheel_key(const char *path)
{
	const char *base = strrchr(path, '/'), *d1, *d2;
	struct dbm_buf b = DBM_BUF_INIT;
	size_t n = strlen(path);

	base = base ? base + 1 : path;
	if (n < 4 || strcmp(path + n - 4, ".whl") != 0 ||
	    (d1 = strchr(base, '-')) == NULL || d1 == base ||
	    (d2 = strchr(d1 + 1, '-')) == NULL)
		return NULL;
	for (; base < d1; base++)	/* PEP 503: runs of -_. are one _ */
		dbm_buf_addc(&b, *base == '.' || *base == '-' ? '_' :
		    *base >= 'A' && *base <= 'Z' ? (char)(*base + 32) : *base);
	dbm_buf_adds(&b, "==");
	dbm_buf_add(&b, d1 + 1, (size_t)(d2 - d1 - 1));
	return dbm_buf_detach(&b);
}

/* dbfs:/x for /dbfs/x, as the cluster lists it. */
static char *
uri(const char *p)
{
	struct dbm_buf b = DBM_BUF_INIT;

	if (strncmp(p, "/dbfs/", 6) == 0)
		dbm_buf_printf(&b, "dbfs:%s", p + 5);
	else
		dbm_buf_adds(&b, p);
	return dbm_buf_detach(&b);
}

/* The wheels of the run: whl[0..n) and libs' "whl" members. */
static char **
run_wheels(char *const *whl, int n, const char *libs, int *out)
{
	char **v = NULL;
	struct dbm_json j;
	struct dbm_err je;
	int i, k = 0;

	for (i = 0; i < n; i++) {
		v = dbm_xrealloc(v, (size_t)(k + 1) * sizeof(*v));
		v[k++] = dbm_xstrdup(whl[i]);
	}
	if (libs && dbm_json_parse(&j, libs, strlen(libs), "libraries", &je) ==
	    0) {
		for (i = 0; i < dbm_json_count(&j, 0); i++) {
			char *w = dbm_json_strdup(&j, dbm_json_member(&j,
			    dbm_json_elem(&j, 0, i), "whl"));

			if (w == NULL)
				continue;
			v = dbm_xrealloc(v, (size_t)(k + 1) * sizeof(*v));
			v[k++] = w;
		}
		dbm_json_free(&j);
	}
	*out = k;
	return v;
}

static int
stale_of(struct dbm_http *h, const char *cluster_id, char *const *whl, int n,
    struct dbm_buf *why, struct dbm_err *e)
{
	struct dbm_json j;
	int st, i, k, stale = 0;

	if (n == 0)
		return 0;
	if (dbm_api_libraries_status(h, cluster_id, &j, e) < 0)
		return -1;
	/* in the order they were added: the first of a name and version is
	 * the one pip has */
	st = dbm_json_member(&j, 0, "library_statuses");
	for (i = 0; i < n; i++) {
		char *key = dbm_wheel_key(whl[i]), *mine = uri(whl[i]);

		for (k = 0; key && k < dbm_json_count(&j, st); k++) {
			int o = dbm_json_elem(&j, st, k);
			char *p = dbm_json_strdup(&j, dbm_json_path(&j, o,
			    "library.whl"));
			char *s = dbm_json_strdup(&j, dbm_json_member(&j, o,
			    "status"));
			char *other, *theirs;

			if (p == NULL)	/* a wheel as a pip requirement */
				p = dbm_json_strdup(&j, dbm_json_path(&j, o,
				    "library.pypi.package"));
			other = p ? dbm_wheel_key(p) : NULL;
			theirs = p ? uri(p) : NULL;
			if (theirs && strcmp(theirs, mine) == 0)
				k = dbm_json_count(&j, st);	/* first: used */
			else if (other && strcmp(other, key) == 0 && s &&
			    strcmp(s, "FAILED") != 0) {
				char *eq = strstr(key, "==");

				dbm_buf_printf(why, "%.*s %s is installed from %s: "
				    "the run would use it, not %s\n",
				    (int)(eq - key), key, eq + 2, theirs, mine);
				stale++;
				k = dbm_json_count(&j, st);	/* one line */
			}
			free(p);
			free(s);
			free(other);
			free(theirs);
		}
		free(key);
		free(mine);
	}
	dbm_json_free(&j);
	return stale;
}

int
dbm_stale_wheels(struct dbm_http *h, const char *cluster_id,
    char *const *whl, int n, const char *libs, struct dbm_buf *why,
    struct dbm_err *e)
{
	int k, i, rc;
	char **v = run_wheels(whl, n, libs, &k);

	rc = stale_of(h, cluster_id, v, k, why, e);
	for (i = 0; i < k; i++)
		free(v[i]);
	free(v);
	return rc;
}

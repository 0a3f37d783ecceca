/*
 * A cluster's libraries as the cluster holds them, below both the
 * Clusters API (clusters.c: a cluster created with libraries, a cluster
 * that starts) and the Libraries API (libraries.c): adding one, and what
 * a start does to them (PROTOCOL.md section 17): pending ones install or
 * fail, uninstalled ones and those a run brought go.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emu.h"
#include "api.h"
#include "clusters_int.h"

void
clusters_lib_add(struct cluster *c, const char *json, const char *status)
{
	int i;

	for (i = 0; i < c->nlib; i++)
		if (strcmp(c->lib[i].json, json) == 0)
			break;
	if (i == c->nlib) {
		c->lib = dbm_xrealloc(c->lib, (size_t)(c->nlib + 1) *
		    sizeof(*c->lib));
		c->lib[c->nlib].json = dbm_xstrdup(json);
		c->lib[c->nlib].message = NULL;
		c->lib[c->nlib].from_run = 0;
		c->nlib++;
	} else if (strcmp(c->lib[i].status, "UNINSTALL_ON_RESTART") != 0 &&
	    strcmp(c->lib[i].status, "FAILED") != 0)
		return;		/* there already */
	free(c->lib[i].message);
	c->lib[i].message = NULL;
	c->lib[i].status = status;
}

/* Why the library cannot install (malloc'd), or NULL: a file it names
 * that is not there. */
static char *
install_error(struct emu *e, const char *json)
{
	static const char *const files[] = {"whl", "egg", "jar", "requirements"};
	struct dbm_json j;
	struct dbm_err je;
	struct dbm_buf b = DBM_BUF_INIT;
	size_t k;

	if (dbm_json_parse(&j, json, strlen(json), "library", &je) < 0)
		return dbm_xstrdup("the library is not JSON");
	for (k = 0; k < sizeof(files) / sizeof(*files) && b.len == 0; k++) {
		char *p = dbm_json_strdup(&j, dbm_json_member(&j, 0, files[k]));
		const char *why;
		char *disk = NULL;
		struct stat st;
		int ws = p && (strncmp(p, "/Workspace/", 11) == 0);

		if (p && !e->legacy_dbfs && strncmp(p, "dbfs:/", 6) == 0 &&
		    strncmp(p + 6, "Volumes/", 8) != 0)
			dbm_buf_printf(&b, "Public DBFS root is disabled. Access "
			    "is denied on path: %s", p + 5);
		else if (p && (strncmp(p, "dbfs:/", 6) == 0 || ws ||
		    strncmp(p, "/Volumes/", 9) == 0) &&
		    ((disk = store_map(e, ws ? ROOT_WORKSPACE : ROOT_DBFS,
		    ws ? p + 10 : p, NULL, &why)) == NULL ||
		    stat(disk, &st) < 0 || !S_ISREG(st.st_mode)))
			dbm_buf_printf(&b, "%s does not exist", p);
		free(disk);
		free(p);
	}
	dbm_json_free(&j);
	if (b.len == 0)
		return NULL;
	{
		struct dbm_buf m = DBM_BUF_INIT;

		dbm_buf_printf(&m, "Library installation failed for library due "
		    "to user error. Error messages: %s", b.data);
		dbm_buf_free(&b);
		return dbm_buf_detach(&m);
	}
}

void
clusters_lib_install(struct emu *e, struct cluster_lib *l)
{
	free(l->message);
	l->message = install_error(e, l->json);
	l->status = l->message ? "FAILED" : "INSTALLED";
}

void
clusters_libs_started(struct emu *e, struct cluster *c)
{
	int i, k = 0;

	for (i = 0; i < c->nlib; i++) {
		if (strcmp(c->lib[i].status, "UNINSTALL_ON_RESTART") == 0 ||
		    c->lib[i].from_run) {
			free(c->lib[i].json);
			free(c->lib[i].message);
			continue;
		}
		if (strcmp(c->lib[i].status, "PENDING") == 0)
			clusters_lib_install(e, &c->lib[i]);
		c->lib[k++] = c->lib[i];
	}
	c->nlib = k;
}

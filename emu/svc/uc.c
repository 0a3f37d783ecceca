/*
 * Unity Catalog for workspace-emu (PROTOCOL.md section 15): catalogs,
 * schemas and volumes, created, read, listed and deleted through
 * /api/2.1/unity-catalog/, and the check the Files API makes that a
 * /Volumes/<catalog>/<schema>/<volume>/ path names a volume that exists.
 *
 * Each object is a file of its info under the data directory:
 * uc/<catalog>/info.json, uc/<catalog>/<schema>/info.json and
 * uc/<catalog>/<schema>/volumes/<volume>.json; a volume's files are
 * dbfs/Volumes/<catalog>/<schema>/<volume>/, where the Files API keeps
 * them. Names are case-insensitive and kept in lower case, as the
 * service keeps them.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"
#include "sha.h"

/* create and delete are made one at a time (lookups need no lock: an
 * info file is renamed into place whole) */
static pthread_mutex_t uc_mu = PTHREAD_MUTEX_INITIALIZER;

enum level { CATALOG, SCHEMA, VOLUME };
static const char *const kind[] = {"Catalog", "Schema", "Volume"};
static const char *const missing_code[] = {"CATALOG_DOES_NOT_EXIST",
	"SCHEMA_DOES_NOT_EXIST", "NOT_FOUND"};
static const char *const exists_code[] = {"CATALOG_ALREADY_EXISTS",
	"SCHEMA_ALREADY_EXISTS", "RESOURCE_ALREADY_EXISTS"};

/* A name part as the service accepts it: 1 to 255 bytes, no '.', space,
 * '/' or control character. Lowered in place. */
static int
name_ok(char *s)
{
	size_t n = strlen(s);
	char *p;

	if (n == 0 || n > 255)
		return 0;
	for (p = s; *p; p++) {
		if (*p == '.' || *p == ' ' || *p == '/' ||
		    (unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return 1;
}

/* The info file of an object named by its parts (lowered). */
static char *
info_path(struct emu *e, enum level lv, char *const part[3])
{
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_printf(&b, "%s/uc/%s", e->datadir, part[0]);
	if (lv >= SCHEMA)
		dbm_buf_printf(&b, "/%s", part[1]);
	if (lv == VOLUME)
		dbm_buf_printf(&b, "/volumes/%s.json", part[2]);
	else
		dbm_buf_adds(&b, "/info.json");
	return b.data;
}

static int
exists(struct emu *e, enum level lv, char *const part[3])
{
	char *p = info_path(e, lv, part);
	int ok = access(p, F_OK) == 0;

	free(p);
	return ok;
}

static void
full_name(struct dbm_buf *b, enum level lv, char *const part[3])
{
	dbm_buf_adds(b, part[0]);
	if (lv >= SCHEMA)
		dbm_buf_printf(b, ".%s", part[1]);
	if (lv == VOLUME)
		dbm_buf_printf(b, ".%s", part[2]);
}

/* The first level of part[0..lv] that does not exist, or -1. */
static int
first_missing(struct emu *e, enum level lv, char *const part[3])
{
	int l;

	for (l = CATALOG; l <= (int)lv; l++)
		if (!exists(e, (enum level)l, part))
			return l;
	return -1;
}

static enum MHD_Result
reply_missing(struct req *r, enum level lv, char *const part[3])
{
	struct dbm_buf b = DBM_BUF_INIT;
	enum MHD_Result res;

	full_name(&b, lv, part);
	res = emu_reply_error(r, 404, missing_code[lv], "%s '%s' does not "
	    "exist.", kind[lv], dbm_buf_str(&b));
	dbm_buf_free(&b);
	return res;
}

/* A stable id in UUID form from text. */
static void
make_id(const char *text, char out[37])
{
	char hex[65];

	dbm_sha256_hex(text, strlen(text), hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
}

/* Write an object's info (mu held): 0, or -1 with errno. */
static int
write_info(struct emu *e, enum level lv, char *const part[3],
    const char *who, const char *comment, const char *vtype)
{
	struct dbm_buf b = DBM_BUF_INIT, fn = DBM_BUF_INIT;
	struct dbm_jw w;
	long long now = dbm_epoch_ms();
	char *path = info_path(e, lv, part), *tmp = NULL, id[37], mid[37];
	int rc;

	full_name(&fn, lv, part);
	make_id(e->datadir, mid);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "name");
	dbm_jw_str(&w, part[lv]);
	if (lv >= SCHEMA) {
		dbm_jw_key(&w, "catalog_name");
		dbm_jw_str(&w, part[0]);
	}
	if (lv == VOLUME) {
		dbm_jw_key(&w, "schema_name");
		dbm_jw_str(&w, part[1]);
	}
	dbm_jw_key(&w, "full_name");
	dbm_jw_str(&w, fn.data);
	if (comment) {
		dbm_jw_key(&w, "comment");
		dbm_jw_str(&w, comment);
	}
	dbm_jw_key(&w, "owner");
	dbm_jw_str(&w, who);
	dbm_jw_key(&w, "metastore_id");
	dbm_jw_str(&w, mid);
	if (lv == CATALOG) {
		dbm_jw_key(&w, "catalog_type");
		dbm_jw_str(&w, "MANAGED_CATALOG");
		dbm_jw_key(&w, "isolation_mode");
		dbm_jw_str(&w, "OPEN");
	}
	if (lv == VOLUME) {
		struct dbm_buf loc = DBM_BUF_INIT;

		dbm_buf_printf(&loc, "%lld %s", now, fn.data);
		make_id(loc.data, id);
		dbm_buf_free(&loc);
		dbm_buf_printf(&loc, "file://%s/dbfs/Volumes/%s/%s/%s",
		    e->datadir, part[0], part[1], part[2]);
		dbm_jw_key(&w, "volume_id");
		dbm_jw_str(&w, id);
		dbm_jw_key(&w, "volume_type");
		dbm_jw_str(&w, vtype);
		dbm_jw_key(&w, "storage_location");
		dbm_jw_str(&w, loc.data);
		dbm_buf_free(&loc);
	}
	dbm_jw_key(&w, "created_at");
	dbm_jw_int(&w, now);
	dbm_jw_key(&w, "created_by");
	dbm_jw_str(&w, who);
	dbm_jw_key(&w, "updated_at");
	dbm_jw_int(&w, now);
	dbm_jw_key(&w, "updated_by");
	dbm_jw_str(&w, who);
	dbm_jw_obj_end(&w);
	rc = store_mkparents(path) < 0 || store_write_tmp(e, b.data, b.len,
	    &tmp) < 0 || store_commit(tmp, path, 0) < 0 ? -1 : 0;
	if (rc < 0 && tmp) {
		int err = errno;

		unlink(tmp);
		errno = err;
	}
	if (rc == 0 && lv == VOLUME) {
		struct dbm_buf d = DBM_BUF_INIT;

		dbm_buf_printf(&d, "%s/dbfs/Volumes/%s/%s/%s", e->datadir,
		    part[0], part[1], part[2]);
		rc = store_mkdirs(d.data);
		dbm_buf_free(&d);
	}
	free(tmp);
	free(path);
	dbm_buf_free(&b);
	dbm_buf_free(&fn);
	return rc;
}

/* Create (mu held): 0 made, 1 there already, -1 with errno. A catalog
 * comes with its default and information_schema schemas, as on the
 * service. */
static int
create(struct emu *e, enum level lv, char *const part[3], const char *who,
    const char *comment, const char *vtype)
{
	if (exists(e, lv, part))
		return 1;
	if (write_info(e, lv, part, who, comment, vtype) < 0)
		return -1;
	if (lv == CATALOG) {
		char *d[3] = {part[0], "default", NULL};
		char *is[3] = {part[0], "information_schema", NULL};

		if (write_info(e, SCHEMA, d, who, "Default schema (auto "
		    "created)", NULL) < 0 || write_info(e, SCHEMA, is, "System "
		    "user", "Information schema (auto-created)", NULL) < 0)
			return -1;
	}
	return 0;
}

int
emu_uc_seed(struct emu *e, const char *volume, const char **why)
{
	char *s = dbm_xstrdup(volume ? volume : "main.default"), *part[3] = {
		s, NULL, NULL}, *dot;
	int lv = CATALOG, rc = 0;

	while (lv < VOLUME && (dot = strchr(part[lv], '.')) != NULL) {
		*dot = '\0';
		part[++lv] = dot + 1;
	}
	if ((volume && lv != VOLUME) || !name_ok(part[0]) ||
	    !name_ok(part[1]) || (part[2] && !name_ok(part[2]))) {
		*why = "expected CATALOG.SCHEMA.VOLUME (no spaces or slashes)";
		free(s);
		return -1;
	}
	pthread_mutex_lock(&uc_mu);
	for (int l = CATALOG; l <= lv && rc == 0; l++)
		if (create(e, (enum level)l, part, e->user_name, NULL,
		    "MANAGED") < 0) {
			*why = strerror(errno);
			rc = -1;
		}
	pthread_mutex_unlock(&uc_mu);
	free(s);
	return rc;
}

/* Split a full name of level lv into part[]: 0, or -1 (not lv parts). */
static int
split(char *s, enum level lv, char *part[3])
{
	int l = CATALOG;
	char *dot;

	part[0] = s;
	part[1] = part[2] = NULL;
	while ((dot = strchr(part[l], '.')) != NULL) {
		if (l == (int)lv)
			return -1;
		*dot = '\0';
		part[++l] = dot + 1;
	}
	if (l != (int)lv)
		return -1;
	for (l = CATALOG; l <= (int)lv; l++)
		if (!name_ok(part[l]))
			return -1;
	return 0;
}

/* p with its last component cut (in place). */
static char *
dirname_of(char *p)
{
	char *slash = strrchr(p, '/');

	if (slash)
		*slash = '\0';
	return p;
}

static enum MHD_Result
reply_file(struct req *r, const char *path)
{
	struct dbm_buf b = DBM_BUF_INIT;
	enum MHD_Result res;

	if (dbm_buf_read_file(&b, path, 1 << 20) < 0) {
		dbm_buf_free(&b);
		return emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	}
	res = emu_reply_json(r, 200, dbm_buf_str(&b));
	dbm_buf_free(&b);
	return res;
}

static const char *const list_key[] = {"catalogs", "schemas", "volumes"};
static const char *const create_rpc[] = {"CreateCatalog", "CreateSchema",
	"CreateVolume"};

/* POST .../{catalogs,schemas,volumes} */
static enum MHD_Result
uc_create(struct req *r, enum level lv)
{
	static const char *const field[] = {"catalog_name", "schema_name",
		"name"};
	char *part[3] = {NULL, NULL, NULL}, *comment, *vtype = NULL;
	const char *who = r->principal ? r->principal : r->emu->user_name;
	enum MHD_Result res;
	int l, miss, rc;

	for (l = CATALOG; l <= (int)lv; l++) {
		const char *f = l == (int)lv ? "name" : field[l];

		part[l] = dbm_json_get_str(&r->json, f);
		if (part[l] == NULL || !name_ok(part[l])) {
			res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    part[l] ? "%s Invalid name '%s' of field %s: "
			    "names have no '.', ' ', '/' or control characters"
			    : "%s Missing required field: %s", create_rpc[lv],
			    part[l] ? part[l] : f, f);
			goto out;
		}
	}
	if (lv == VOLUME) {
		vtype = dbm_json_get_str(&r->json, "volume_type");
		if (vtype == NULL || (strcmp(vtype, "MANAGED") &&
		    strcmp(vtype, "EXTERNAL"))) {
			res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    vtype ? "CreateVolume Invalid volume_type '%s'" :
			    "CreateVolume Missing required field: volume_type%s",
			    vtype ? vtype : "");
			goto out;
		}
		if (strcmp(vtype, "EXTERNAL") == 0) {
			/* an external volume needs a cloud location */
			res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    "CreateVolume workspace-emu has no external "
			    "locations: create a MANAGED volume");
			goto out;
		}
		if (dbm_json_path(&r->json, 0, "storage_location") > 0) {
			res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    "CreateVolume storage_location can not be "
			    "provided.");
			goto out;
		}
	}
	comment = dbm_json_get_str(&r->json, "comment");
	pthread_mutex_lock(&uc_mu);
	miss = lv == CATALOG ? -1 : first_missing(r->emu, (enum level)(lv - 1),
	    part);
	rc = miss >= 0 ? 2 : create(r->emu, lv, part, who, comment, vtype);
	pthread_mutex_unlock(&uc_mu);
	free(comment);
	if (rc == 2) {
		res = reply_missing(r, (enum level)miss, part);
	} else if (rc == 1) {
		struct dbm_buf b = DBM_BUF_INIT;

		full_name(&b, lv, part);
		res = emu_reply_error(r, 409, exists_code[lv], "%s '%s' "
		    "already exists", kind[lv], b.data);
		dbm_buf_free(&b);
	} else if (rc < 0) {
		res = emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	} else {
		char *p = info_path(r->emu, lv, part);

		res = reply_file(r, p);
		free(p);
	}
out:
	for (l = CATALOG; l < 3; l++)
		free(part[l]);
	free(vtype);
	return res;
}

/* GET .../{catalogs,schemas,volumes}: every one of the parent (all on one
 * page: no next_page_token). */
static enum MHD_Result
uc_list(struct req *r, enum level lv)
{
	char *part[3] = {NULL, NULL, NULL}, *dir;
	struct dbm_buf b = DBM_BUF_INIT, d = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	char **names;
	int n, i, l, miss;

	for (l = CATALOG; l < (int)lv; l++) {
		const char *f = l == CATALOG ? "catalog_name" : "schema_name";

		if ((part[l] = emu_param(r, f)) == NULL || !name_ok(part[l])) {
			res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    "%s Missing required field: %s", lv == SCHEMA ?
			    "ListSchemas" : "ListVolumes", f);
			goto out;
		}
	}
	if (lv > CATALOG && (miss = first_missing(r->emu,
	    (enum level)(lv - 1), part)) >= 0) {
		res = reply_missing(r, (enum level)miss, part);
		goto out;
	}
	dbm_buf_printf(&d, "%s/uc", r->emu->datadir);
	for (l = CATALOG; l < (int)lv; l++)
		dbm_buf_printf(&d, "/%s", part[l]);
	if (lv == VOLUME)
		dbm_buf_adds(&d, "/volumes");
	dir = d.data;
	names = store_list(dir, &n);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, list_key[lv]);
	dbm_jw_arr(&w);
	for (i = 0; names && i < n; i++) {
		struct dbm_buf p = DBM_BUF_INIT, text = DBM_BUF_INIT;
		size_t k = strlen(names[i]);

		if (lv == VOLUME && (k < 6 || strcmp(names[i] + k - 5,
		    ".json") != 0))
			continue;
		dbm_buf_printf(&p, lv == VOLUME ? "%s/%s" : "%s/%s/info.json",
		    dir, names[i]);
		if (dbm_buf_read_file(&text, p.data, 1 << 20) == 0 && text.len)
			dbm_jw_raw(&w, text.data, text.len);
		dbm_buf_free(&text);
		dbm_buf_free(&p);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	store_names_free(names);
	res = emu_reply_json(r, 200, dbm_buf_str(&b));
out:
	for (l = CATALOG; l < 3; l++)
		free(part[l]);
	dbm_buf_free(&b);
	dbm_buf_free(&d);
	return res;
}

/* Whether a schema holds volumes, or a catalog schemas of its own. */
static int
has_children(struct emu *e, enum level lv, char *const part[3])
{
	struct dbm_buf d = DBM_BUF_INIT;
	char **names;
	int n, i, found = 0;

	dbm_buf_printf(&d, "%s/uc/%s", e->datadir, part[0]);
	if (lv == SCHEMA)
		dbm_buf_printf(&d, "/%s/volumes", part[1]);
	names = store_list(d.data, &n);
	for (i = 0; names && i < n; i++)
		if (lv == SCHEMA || (strcmp(names[i], "info.json") &&
		    strcmp(names[i], "default") &&
		    strcmp(names[i], "information_schema")))
			found = 1;
	store_names_free(names);
	dbm_buf_free(&d);
	return found;
}

/* GET or DELETE .../{catalogs,schemas,volumes}/<full name> */
static enum MHD_Result
uc_one(struct req *r, enum level lv)
{
	char *s = dbm_xstrdup(r->rest + 1), *part[3], *p;
	struct dbm_buf b = DBM_BUF_INIT;
	enum MHD_Result res;
	int miss;

	if (split(s, lv, part) < 0) {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid %s name '%s'", lv == CATALOG ? "catalog" :
		    lv == SCHEMA ? "schema" : "volume", r->rest + 1);
		free(s);
		return res;
	}
	if (strcmp(r->method, "DELETE") != 0) {
		if ((miss = first_missing(r->emu, lv, part)) >= 0)
			res = reply_missing(r, (enum level)miss, part);
		else {
			p = info_path(r->emu, lv, part);
			res = reply_file(r, p);
			free(p);
		}
		free(s);
		return res;
	}
	pthread_mutex_lock(&uc_mu);
	if ((miss = first_missing(r->emu, lv, part)) >= 0) {
		res = reply_missing(r, (enum level)miss, part);
	} else if (lv != VOLUME && !emu_param_bool(r, "force", 0) &&
	    has_children(r->emu, lv, part)) {
		full_name(&b, lv, part);
		res = emu_reply_error(r, 400, lv == CATALOG ?
		    "CATALOG_NOT_EMPTY" : "SCHEMA_NOT_EMPTY", "%s '%s' is not "
		    "empty. Use force=true to delete it with its contents",
		    kind[lv], b.data);
	} else {
		/* the object with what is under it, and its volumes' files */
		p = info_path(r->emu, lv, part);
		if (lv == VOLUME)
			unlink(p);
		else
			store_remove_tree(dirname_of(p));
		free(p);
		dbm_buf_printf(&b, "%s/dbfs/Volumes", r->emu->datadir);
		for (int l = CATALOG; l <= (int)lv; l++)
			dbm_buf_printf(&b, "/%s", part[l]);
		store_remove_tree(b.data);
		res = emu_reply_json(r, 200, "{}");
	}
	pthread_mutex_unlock(&uc_mu);
	dbm_buf_free(&b);
	free(s);
	return res;
}

enum MHD_Result
emu_uc_catalogs(struct req *r)
{
	return strcmp(r->method, "POST") == 0 ? uc_create(r, CATALOG) :
	    uc_list(r, CATALOG);
}

enum MHD_Result
emu_uc_schemas(struct req *r)
{
	return strcmp(r->method, "POST") == 0 ? uc_create(r, SCHEMA) :
	    uc_list(r, SCHEMA);
}

enum MHD_Result
emu_uc_volumes(struct req *r)
{
	return strcmp(r->method, "POST") == 0 ? uc_create(r, VOLUME) :
	    uc_list(r, VOLUME);
}

enum MHD_Result
emu_uc_catalog(struct req *r)
{
	return uc_one(r, CATALOG);
}

enum MHD_Result
emu_uc_schema(struct req *r)
{
	return uc_one(r, SCHEMA);
}

enum MHD_Result
emu_uc_volume(struct req *r)
{
	return uc_one(r, VOLUME);
}

int
emu_uc_check(struct req *r, const char *canon, enum MHD_Result *res)
{
	char *s, *part[3], *p;
	int i, miss;

	if (strncmp(canon, "/Volumes/", 9) != 0)
		return 0;
	s = dbm_xstrdup(canon + 9);
	part[0] = s;
	for (i = 1, p = s; i < 3; i++) {
		if ((p = strchr(p, '/')) == NULL)
			break;
		*p++ = '\0';
		part[i] = p;
	}
	if (i < 3) {
		free(s);
		return 0;	/* the caller refuses a path above a volume */
	}
	if ((p = strchr(part[2], '/')) != NULL)
		*p = '\0';
	miss = first_missing(r->emu, VOLUME, part);
	if (miss >= 0)
		*res = reply_missing(r, (enum level)miss, part);
	free(s);
	return miss >= 0 ? -1 : 0;
}

int
emu_uc_schema_check(struct req *r, char *const part[2], enum MHD_Result *res)
{
	char *p[3] = {part[0], part[1], NULL};
	int miss;

	if (!name_ok(p[0]) || !name_ok(p[1])) {
		*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid name '%s.%s': names hold no '.', space, '/' or "
		    "control character", part[0], part[1]);
		return -1;
	}
	if ((miss = first_missing(r->emu, SCHEMA, p)) >= 0) {
		*res = reply_missing(r, (enum level)miss, p);
		return -1;
	}
	return 0;
}

/*
 * DBC archives of the Workspace API (PROTOCOL.md section 3): a zip of
 * notebooks, each <folder>/<name>.<python|sql|scala|r> holding the
 * notebook as JSON ("version": "NotebookV1", its "language" and its cells
 * as "commands", "version": "CommandV1", "command" the cell's source,
 * "position" its order). Export writes one for a notebook or a folder
 * (its notebooks; workspace files are not notebooks and stay out); import
 * makes the notebooks of one, its top folder the path imported to.
 *
 * A notebook is kept as its SOURCE without the header: cells parted by
 * "<comment> COMMAND ----------" lines, magic cells (%md, %sh, ...) as
 * "<comment> MAGIC " lines; a command has them as the cell is typed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "emu.h"
#include "api.h"
#include "sha.h"
#include "workspace_int.h"

#define DBC_ENTRIES_MAX	10000	/* notebooks an import takes */

static const struct {
	const char *lang, *dbc, *comment;	/* kept, in DBC, in SOURCE */
} KINDS[] = {
	{"PYTHON", "python", "#"},
	{"SQL", "sql", "--"},
	{"SCALA", "scala", "//"},
	{"R", "r", "#"},
};
#define NKINDS (sizeof(KINDS) / sizeof(*KINDS))

static int
kind_of(const char *s, int dbc)
{
	size_t i;

	for (i = 0; s && i < NKINDS; i++)
		if (strcasecmp(s, dbc ? KINDS[i].dbc : KINDS[i].lang) == 0)
			return (int)i;
	return -1;
}

/* An id and a guid of the service's shapes, stable for what they name. */
static long long
ids(const char *what, int n, char guid[37])
{
	struct dbm_sha256 s;
	unsigned char md[DBM_SHA256_LEN];
	char num[16];
	long long id = 0;
	int i;

	snprintf(num, sizeof(num), "\n%d", n);
	dbm_sha256_init(&s);
	dbm_sha256_update(&s, what, strlen(what));
	dbm_sha256_update(&s, num, strlen(num));
	dbm_sha256_final(&s, md);
	for (i = 0; i < 7; i++)
		id = id << 8 | md[i];
	snprintf(guid, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", md[8], md[9], md[10], md[11], md[12],
	    md[13], md[14], md[15], md[16], md[17], md[18], md[19], md[20],
	    md[21], md[22], md[23]);
	return id & ((1LL << 52) - 1);
}

/* The first sep in [p, end), or NULL (memmem is not POSIX). */
static const char *
find(const char *p, const char *end, const char *sep, size_t n)
{
	for (; p && end - p >= (long)n; p++)
		if ((p = memchr(p, sep[0], (size_t)(end - p) - n + 1)) == NULL)
			return NULL;
		else if (memcmp(p, sep, n) == 0)
			return p;
	return NULL;
}

/* One cell of body [p, end) as its command: MAGIC prefixes dropped, the
 * blank lines around it too. */
static void
command_of(struct dbm_buf *out, const char *p, const char *end, const char *cm)
{
	struct dbm_buf magic = DBM_BUF_INIT;

	dbm_buf_printf(&magic, "%s MAGIC", cm);
	while (p < end && *p == '\n')
		p++;
	while (end > p && end[-1] == '\n')
		end--;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		if ((size_t)(le - p) >= magic.len && memcmp(p, magic.data,
		    magic.len) == 0 && (le - p == (long)magic.len ||
		    p[magic.len] == ' '))
			p += magic.len + (le - p > (long)magic.len);
		dbm_buf_add(out, p, (size_t)(le - p));
		if (nl)
			dbm_buf_addc(out, '\n');
		p = nl ? nl + 1 : end;
	}
	dbm_buf_free(&magic);
}

/* The notebook at disk (canon, kind k) as NotebookV1 JSON into out. */
static int
notebook_json(const char *disk, const char *canon, int k, struct dbm_buf *out)
{
	struct dbm_buf body = DBM_BUF_INIT, sep = DBM_BUF_INIT,
	    cmd = DBM_BUF_INIT;
	struct dbm_jw w;
	const char *p, *end, *name = strrchr(canon, '/');
	char guid[37];
	int n = 0;

	if (dbm_buf_read_file(&body, disk, NOTEBOOK_MAX) < 0)
		return -1;
	dbm_buf_printf(&sep, "\n%s COMMAND ----------\n", KINDS[k].comment);
	dbm_jw_init(&w, out);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "version");
	dbm_jw_str(&w, "NotebookV1");
	dbm_jw_key(&w, "origId");
	dbm_jw_int(&w, ids(canon, 0, guid));
	dbm_jw_key(&w, "name");
	dbm_jw_str(&w, name ? name + 1 : canon);
	dbm_jw_key(&w, "language");
	dbm_jw_str(&w, KINDS[k].dbc);
	dbm_jw_key(&w, "commands");
	dbm_jw_arr(&w);
	for (p = dbm_buf_str(&body), end = p + body.len; p <= end; n++) {
		const char *s = find(p, end, sep.data, sep.len);
		char pos[24];

		dbm_buf_reset(&cmd);
		command_of(&cmd, p, s ? s : end, KINDS[k].comment);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "version");
		dbm_jw_str(&w, "CommandV1");
		dbm_jw_key(&w, "origId");
		dbm_jw_int(&w, ids(canon, n + 1, guid));
		dbm_jw_key(&w, "guid");
		dbm_jw_str(&w, guid);
		dbm_jw_key(&w, "subtype");
		dbm_jw_str(&w, "command");
		dbm_jw_key(&w, "commandType");
		dbm_jw_str(&w, "auto");
		snprintf(pos, sizeof(pos), "%d.0", n + 1);
		dbm_jw_key(&w, "position");
		dbm_jw_raw(&w, pos, strlen(pos));
		dbm_jw_key(&w, "command");
		dbm_jw_strn(&w, dbm_buf_str(&cmd), cmd.len);
		dbm_jw_key(&w, "commandVersion");
		dbm_jw_int(&w, 0);
		dbm_jw_key(&w, "state");
		dbm_jw_str(&w, "input");
		dbm_jw_key(&w, "results");
		dbm_jw_null(&w);
		dbm_jw_obj_end(&w);
		if (s == NULL)
			break;
		p = s + sep.len;
	}
	dbm_jw_arr_end(&w);
	dbm_jw_key(&w, "dashboards");
	dbm_jw_arr(&w);
	dbm_jw_arr_end(&w);
	dbm_jw_key(&w, "guid");
	ids(canon, -1, guid);
	dbm_jw_str(&w, guid);
	dbm_jw_key(&w, "notebookMetadata");
	dbm_jw_obj(&w);
	dbm_jw_obj_end(&w);
	dbm_jw_key(&w, "reposExportFormat");
	dbm_jw_str(&w, "SOURCE");
	dbm_jw_obj_end(&w);
	dbm_buf_free(&body);
	dbm_buf_free(&sep);
	dbm_buf_free(&cmd);
	return 0;
}

/* A DBC holds notebooks, as NotebookV1 JSON; files stay out. */
static int
dbc_entry(struct req *r, const char *disk, const char *canon,
    struct dbm_buf *data, const char **ext)
{
	char *lang = ws_notebook_language(r->emu, canon);
	int k = kind_of(lang, 0);

	free(lang);
	if (k < 0)
		return 1;
	*ext = KINDS[k].dbc;
	return notebook_json(disk, canon, k, data);
}

int
ws_dbc_export(struct req *r, const char *disk, const char *canon,
    struct dbm_buf *out, enum MHD_Result *res)
{
	return ws_zip_export(r, disk, canon, dbc_entry, out, res);
}

/* A notebook read from an archive: where it goes (relative), its kind,
 * its SOURCE without the header. */
struct dbc_nb {
	char *rel;
	int kind;
	struct dbm_buf src;
};

struct cell {
	double pos;
	char *text;
};

static int
by_pos(const void *a, const void *b)
{
	const struct cell *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* A cell's command into SOURCE: a magic cell's lines as MAGIC lines. */
static void
add_cell(struct dbm_buf *src, const char *text, const char *cm)
{
	const char *p = text;
	int magic = *p == '%';

	while (*p) {
		size_t n = strcspn(p, "\n");

		if (magic)
			dbm_buf_printf(src, "%s MAGIC%s", cm, n ? " " : "");
		dbm_buf_add(src, p, n);
		dbm_buf_addc(src, '\n');
		p += n + (p[n] == '\n');
	}
}

/* The NotebookV1 JSON text of an entry whose extension gave kind k, as
 * SOURCE into nb: 0, or -1 when it is not one. */
static int
dbc_notebook(const char *text, size_t len, int k, struct dbc_nb *nb)
{
	struct dbm_json j;
	struct dbm_err je;
	struct cell *cells = NULL;
	int cmds, i, n = 0, nc, t, lk;
	char *lang;

	if (dbm_json_parse(&j, text, len, "notebook", &je) < 0)
		return -1;
	lang = dbm_json_strdup(&j, dbm_json_member(&j, 0, "language"));
	lk = kind_of(lang, 1);
	free(lang);
	nb->kind = lk >= 0 ? lk : k;
	cmds = dbm_json_member(&j, 0, "commands");
	if (cmds < 0 || dbm_json_type(&j, cmds) != DBM_JSON_ARRAY) {
		dbm_json_free(&j);
		return -1;
	}
	nc = dbm_json_count(&j, cmds);
	cells = dbm_xcalloc((size_t)nc + 1, sizeof(*cells));
	for (i = 0, t = cmds + 1; i < nc; i++, t = dbm_json_skip(&j, t)) {
		char *sub = dbm_json_strdup(&j, dbm_json_member(&j, t, "subtype"));
		char *pos = dbm_json_strdup(&j, dbm_json_member(&j, t, "position"));
		char *cmd = dbm_json_strdup(&j, dbm_json_member(&j, t, "command"));

		if (cmd && (sub == NULL || strcmp(sub, "command") == 0)) {
			cells[n].pos = pos ? strtod(pos, NULL) : i;
			cells[n++].text = cmd;
			cmd = NULL;
		}
		free(sub);
		free(pos);
		free(cmd);
	}
	dbm_json_free(&j);
	qsort(cells, (size_t)n, sizeof(*cells), by_pos);
	for (i = 0; i < n; i++) {
		if (i)
			dbm_buf_printf(&nb->src, "\n%s COMMAND ----------\n\n",
			    KINDS[nb->kind].comment);
		add_cell(&nb->src, cells[i].text, KINDS[nb->kind].comment);
		free(cells[i].text);
	}
	free(cells);
	return 0;
}

/* An entry's name as a relative path of safe components, or NULL. */
static char *
entry_rel(const char *name)
{
	const char *p = name;

	if (*p == '/' || *p == '\0')
		return NULL;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' &&
		    p[1] == '.'))
			return NULL;
		p += n + (p[n] == '/');
	}
	return dbm_xstrdup(name);
}

/* The archive's notebooks into *out (*n of them): 0, or -1 with why. */
static int
dbc_read(const struct dbm_buf *c, struct dbc_nb **out, int *n,
    const char **why)
{
	struct archive *a = archive_read_new();
	struct archive_entry *en;
	struct dbm_buf data = DBM_BUF_INIT;
	int rc = 0, r;

	*out = NULL;
	*n = 0;
	archive_read_support_format_zip(a);
	if (archive_read_open_memory(a, c->data ? c->data : "", c->len) !=
	    ARCHIVE_OK) {
		*why = "the content is not a DBC archive (a zip)";
		archive_read_free(a);
		return -1;
	}
	while (rc == 0 && (r = archive_read_next_header(a, &en)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(en), *dot;
		struct dbc_nb nb = {NULL, 0, DBM_BUF_INIT};
		char buf[65536];
		la_ssize_t got;
		int k;

		if (archive_entry_filetype(en) != AE_IFREG || name == NULL ||
		    (dot = strrchr(name, '.')) == NULL || strchr(dot, '/') ||
		    (k = kind_of(dot + 1, 1)) < 0)
			continue;	/* not a notebook */
		dbm_buf_reset(&data);
		while ((got = archive_read_data(a, buf, sizeof(buf))) > 0 &&
		    data.len + (size_t)got <= NOTEBOOK_MAX)
			dbm_buf_add(&data, buf, (size_t)got);
		if (got != 0 || *n >= DBC_ENTRIES_MAX) {
			*why = got < 0 ? "the archive is damaged" :
			    "the archive is larger than 10 MB";
			rc = -1;
		} else if ((nb.rel = entry_rel(name)) == NULL ||
		    dbc_notebook(dbm_buf_str(&data), data.len, k, &nb) < 0) {
			*why = "an entry of the archive is not a notebook of a "
			    "DBC archive";
			rc = -1;
		} else {
			nb.rel[dot - name] = '\0';	/* the extension goes */
			*out = dbm_xrealloc(*out, (size_t)(*n + 1) *
			    sizeof(**out));
			(*out)[(*n)++] = nb;
			continue;
		}
		free(nb.rel);
		dbm_buf_free(&nb.src);
	}
	if (rc == 0 && r != ARCHIVE_EOF) {
		*why = "the content is not a DBC archive (a zip)";
		rc = -1;
	}
	dbm_buf_free(&data);
	archive_read_free(a);
	return rc;
}

static void
dbc_free(struct dbc_nb *nb, int n)
{
	for (int i = 0; i < n; i++) {
		free(nb[i].rel);
		dbm_buf_free(&nb[i].src);
	}
	free(nb);
}

/* Where notebook i of an archive goes under canon: its path with the
 * archive's top folder (the one export names after the folder) taken for
 * canon; a lone notebook is canon itself (malloc'd). */
static char *
dbc_target(const char *canon, const struct dbc_nb *nb, int n, int i)
{
	struct dbm_buf b = DBM_BUF_INIT;
	const char *slash = strchr(nb[i].rel, '/');
	size_t top = slash ? (size_t)(slash - nb[i].rel) : 0;
	int shared = top > 0;

	for (int k = 0; k < n && shared; k++)
		shared = strncmp(nb[k].rel, nb[i].rel, top + 1) == 0;
	if (n == 1 && slash == NULL)
		dbm_buf_adds(&b, canon);
	else
		dbm_buf_printf(&b, "%s/%s", strcmp(canon, "/") ? canon : "",
		    shared ? slash + 1 : nb[i].rel);
	return dbm_buf_detach(&b);
}

/* Put each notebook in place; none when one is there already and
 * overwrite is not given. */
static enum MHD_Result
dbc_write(struct req *r, const char *canon, struct dbc_nb *nb, int n,
    int overwrite)
{
	enum MHD_Result res = MHD_NO;
	char **disk = dbm_xcalloc((size_t)n + 1, sizeof(*disk)),
	    **path = dbm_xcalloc((size_t)n + 1, sizeof(*path)), *tmp = NULL;
	struct stat st;
	int i, ok = 1;

	for (i = 0; i < n && ok; i++) {
		char *t = dbc_target(canon, nb, n, i);

		disk[i] = emu_map(r, ROOT_WORKSPACE, t, &path[i], &res);
		free(t);
		if (disk[i] == NULL)
			ok = 0;
		else if (!overwrite && lstat(disk[i], &st) == 0) {
			res = emu_reply_error(r, 400, "RESOURCE_ALREADY_EXISTS",
			    "Path (%s) already exists.", path[i]);
			ok = 0;
		}
	}
	for (i = 0; i < n && ok; i++) {
		if (store_mkparents(disk[i]) < 0 || store_write_tmp(r->emu,
		    nb[i].src.data ? nb[i].src.data : "", nb[i].src.len, &tmp) <
		    0 || store_commit(tmp, disk[i], 1) < 0) {
			res = emu_nospace(r, errno) ? emu_reply_nospace(r) :
			    emu_reply_error(r, 500, "INTERNAL_ERROR", "cannot "
			    "import %s: %s", path[i], strerror(errno));
			ok = 0;
		} else
			ws_set_notebook(r->emu, path[i], KINDS[nb[i].kind].lang);
		if (tmp)
			unlink(tmp);
		free(tmp);
		tmp = NULL;
	}
	if (ok)
		res = emu_reply_json(r, 200, "{}");
	for (i = 0; i < n; i++) {
		free(disk[i]);
		free(path[i]);
	}
	free(disk);
	free(path);
	return res;
}

enum MHD_Result
ws_dbc_import(struct req *r, const char *canon, const struct dbm_buf *c,
    int overwrite)
{
	struct dbc_nb *nb;
	const char *why = NULL;
	enum MHD_Result res;
	int n;

	if (dbc_read(c, &nb, &n, &why) < 0)
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
	else if (n == 0)
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "the DBC archive holds no notebook");
	else
		res = dbc_write(r, canon, nb, n, overwrite);
	dbc_free(nb, n);
	return res;
}

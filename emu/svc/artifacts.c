/*
 * MLflow run artifacts kept on the emulator's DBFS, for the MLflow UI and
 * API (PROTOCOL.md section 10). Runs that jobs log on Databricks have
 * their artifacts under a dbfs:/ artifact URI, which a tracking server
 * cannot read without Databricks credentials (its UI says "Failed to get
 * credentials for DBFS"), so the artifact list and download endpoints of
 * such runs are answered here, from the emulator's own storage, in the
 * server's shapes (ListArtifacts, get-artifact as an attachment); any other
 * run passes through to the server.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "emu.h"
#include "api.h"

/* The string member of the tracking server's answer to GET api<arg>, arg
 * escaped (malloc'd), or NULL. */
static char *
mlflow_str(struct emu *e, const char *api, const char *arg, const char *member)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_json j;
	char *esc = curl_easy_escape(NULL, arg, 0), *v = NULL;

	dbm_buf_printf(&b, "%s%s", api, esc ? esc : "");
	curl_free(esc);
	if (emu_mlflow_call(e, b.data, NULL, &j) == 0) {
		v = dbm_json_get_str(&j, member);
		dbm_json_free(&j);
	}
	dbm_buf_free(&b);
	return v;
}

/* The run's artifact URI, asked of the tracking server (malloc'd), or
 * NULL. */
static char *
artifact_uri(struct emu *e, const char *run)
{
	return mlflow_str(e, "runs/get?run_id=", run, "run.info.artifact_uri");
}

/* An artifact path as MLflow checks it (validate_path_is_safe): relative,
 * no '..', no backslash, no scheme. */
static int
safe(const char *p)
{
	const char *s;

	if (*p == '/' || strchr(p, '\\') || strstr(p, "://"))
		return 0;
	for (s = p; *s; ) {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 0;
		s += n;
		if (*s == '/')
			s++;
	}
	return 1;
}

/* The DBFS path of artifact rel of a run whose artifacts are at uri
 * (dbfs:/...), mapped into the data directory; NULL with *why. */
static char *
disk_path(struct emu *e, const char *uri, const char *rel, const char **why)
{
	struct dbm_buf p = DBM_BUF_INIT;
	char *disk;

	dbm_buf_adds(&p, uri + 5);
	while (p.len > 1 && p.data[p.len - 1] == '/')
		p.data[--p.len] = '\0';
	if (rel && *rel)
		dbm_buf_printf(&p, "/%s", rel);
	disk = store_map(e, ROOT_DBFS, p.data, NULL, why);
	dbm_buf_free(&p);
	return disk;
}

/* ListArtifacts of uri's rel: files[{path, is_dir, file_size}], a
 * file_size of 0 left out as the tracking server leaves it, unless
 * sizes (the registry's list, whose client reads every file's). */
static enum MHD_Result
list(struct req *r, const char *uri, const char *rel, int sizes)
{
	struct dbm_buf b = DBM_BUF_INIT, child = DBM_BUF_INIT,
	    f = DBM_BUF_INIT;
	struct dbm_jw w;
	const char *why = NULL;
	char *disk = disk_path(r->emu, uri, rel, &why), **names;
	int n = 0, i, any = 0;
	enum MHD_Result res;

	if (disk == NULL)
		return emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "root_uri");
	dbm_jw_str(&w, uri);
	names = store_list(disk, &n);
	for (i = 0; names && i < n; i++) {
		struct stat st;

		dbm_buf_reset(&f);
		dbm_buf_printf(&f, "%s/%s", disk, names[i]);
		if (lstat(f.data, &st) < 0 || (!S_ISDIR(st.st_mode) &&
		    !S_ISREG(st.st_mode)))
			continue;
		if (!any) {
			dbm_jw_key(&w, "files");
			dbm_jw_arr(&w);
			any = 1;
		}
		dbm_buf_reset(&child);
		dbm_buf_printf(&child, "%s%s%s", rel ? rel : "", rel && *rel ?
		    "/" : "", names[i]);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "path");
		dbm_jw_str(&w, child.data);
		dbm_jw_key(&w, "is_dir");
		dbm_jw_bool(&w, S_ISDIR(st.st_mode));
		if (S_ISREG(st.st_mode) && (st.st_size > 0 || sizes)) {
			dbm_jw_key(&w, "file_size");
			dbm_jw_int(&w, (long long)st.st_size);
		}
		dbm_jw_obj_end(&w);
	}
	if (any)
		dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	res = emu_reply_json(r, 200, b.data);
	store_names_free(names);
	free(disk);
	dbm_buf_free(&b);
	dbm_buf_free(&child);
	dbm_buf_free(&f);
	return res;
}

/* The content type MLflow gives an artifact (_guess_mime_type: text for
 * the files its UI previews). */
static const char *
mime(const char *name)
{
	static const char *const text[] = {
		".txt", ".log", ".py", ".yaml", ".yml", ".md", ".csv", ".tsv",
		".sh", ".toml", ".cfg", ".ini", "MLmodel", "MLproject",
	};
	const char *dot = strrchr(name, '.'), *base = strrchr(name, '/');
	size_t i;

	base = base ? base + 1 : name;
	if (dot && strcmp(dot, ".json") == 0)
		return "application/json";
	if (dot && strcmp(dot, ".png") == 0)
		return "image/png";
	if (dot && (strcmp(dot, ".jpg") == 0 || strcmp(dot, ".jpeg") == 0))
		return "image/jpeg";
	if (dot && strcmp(dot, ".html") == 0)
		return "text/html";
	for (i = 0; i < sizeof(text) / sizeof(*text); i++)
		if ((text[i][0] == '.' && dot && strcmp(dot, text[i]) == 0) ||
		    strcmp(base, text[i]) == 0)
			return "text/plain";
	return "application/octet-stream";
}

static enum MHD_Result
download(struct req *r, const char *uri, const char *rel)
{
	struct MHD_Response *resp;
	struct dbm_buf cd = DBM_BUF_INIT;
	const char *why = NULL, *base;
	char *disk = disk_path(r->emu, uri, rel, &why);
	struct stat st;
	int fd;

	if (disk == NULL)
		return emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
	fd = open(disk, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(disk);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return emu_reply_error(r, 404, "RESOURCE_DOES_NOT_EXIST",
		    "No such artifact: '%s'", rel);
	}
	emu_reply_fd(r, 200, fd, 0, st.st_size, mime(rel), &resp);
	/* as the server sends them: an attachment, never sniffed */
	base = strrchr(rel, '/');
	dbm_buf_adds(&cd, "attachment; filename=\"");
	dbm_buf_adds(&cd, base ? base + 1 : rel);
	dbm_buf_adds(&cd, "\"");
	MHD_add_response_header(resp, "Content-Disposition", cd.data);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	dbm_buf_free(&cd);
	return emu_queue(r, 200, resp);
}

enum MHD_Result
emu_artifacts(struct req *r)
{
	char *run = emu_param(r, "run_id"), *path = emu_param(r, "path"), *uri;
	int get = strcmp(r->path, "/get-artifact") == 0;
	enum MHD_Result res;

	if (run == NULL)
		run = emu_param(r, "run_uuid");
	if (r->emu->mlflow_url == NULL || run == NULL ||
	    (uri = artifact_uri(r->emu, run)) == NULL) {
		free(run);
		free(path);
		return emu_proxy(r);	/* the server's own answer */
	}
	if (strncmp(uri, "dbfs:/", 6) != 0)
		res = emu_proxy(r);
	else if ((path && !safe(path)) || (get && (path == NULL || *path == '\0')))
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid path");
	else if (get)
		res = download(r, uri, path);
	else
		res = list(r, uri, path, 0);
	free(run);
	free(path);
	free(uri);
	return res;
}

/*
 * The workspace model registry's files (registry URI `databricks`,
 * PROTOCOL.md section 19): MLflow's DatabricksModelsArtifactRepository
 * lists a version's files with model-versions/list-artifacts and fetches
 * each from the presigned URL model-versions/get-signed-download-uri
 * gives. The versions themselves are the MLflow server's; their files
 * are where their source says, on the emulator's DBFS. The URL is
 * /model-file?uri=&path=&exp=&sig=, signed as the part URLs of
 * multipart uploads are, good for SIGNED_SECS.
 */
#define SIGNED_SECS 900
#define SIG_EXPIRED "<Error><Code>AccessDenied</Code><Message>Request has " \
	"expired</Message></Error>"
#define SIG_BAD "<Error><Code>SignatureDoesNotMatch</Code></Error>"

/* The dbfs:/ URI of where the artifacts of a version's source are
 * (malloc'd): a dbfs:/ URI, runs:/<run>/<path>, or models:/<model id> (a
 * logged model). NULL if it is elsewhere. */
static char *
source_root(struct emu *e, const char *src)
{
	struct dbm_buf b = DBM_BUF_INIT;
	const char *rest = "";
	char *base = NULL, *run;
	size_t n;

	if (strncmp(src, "dbfs:/", 6) == 0)
		return dbm_xstrdup(src);
	if (strncmp(src, "runs:/", 6) == 0) {
		n = strcspn(src + 6, "/");
		run = dbm_xstrndup(src + 6, n);
		base = artifact_uri(e, run);
		free(run);
		rest = src + 6 + n;
	} else if (strncmp(src, "models:/m-", 10) == 0 &&
	    strchr(src + 8, '/') == NULL)
		base = mlflow_str(e, "logged-models/", src + 8,
		    "model.info.artifact_uri");
	if (base == NULL || strncmp(base, "dbfs:/", 6) != 0) {
		free(base);
		return NULL;
	}
	dbm_buf_printf(&b, "%s%s", base, rest);
	free(base);
	return dbm_buf_detach(&b);
}

/* The version's files' dbfs:/ URI (malloc'd), or NULL after answering:
 * the MLflow server's own answer for a version it does not have. */
static char *
version_root(struct req *r, enum MHD_Result *res)
{
	char *name = emu_param(r, "name"), *ver = emu_param(r, "version");
	char *en = curl_easy_escape(NULL, name ? name : "", 0),
	    *ev = curl_easy_escape(NULL, ver ? ver : "", 0);
	char *src = NULL, *root = NULL;
	struct dbm_buf api = DBM_BUF_INIT, out = DBM_BUF_INIT;
	struct dbm_json j;
	long st;

	dbm_buf_printf(&api, "model-versions/get?name=%s&version=%s",
	    en ? en : "", ev ? ev : "");
	st = emu_mlflow_send(r->emu, api.data, NULL, &out);
	if (st == 200 && dbm_json_parse(&j, dbm_buf_str(&out), out.len, NULL,
	    NULL) == 0) {
		src = dbm_json_get_str(&j, "model_version.source");
		dbm_json_free(&j);
	}
	if (st == 0)
		*res = emu_reply_error(r, 502, "TEMPORARILY_UNAVAILABLE",
		    "The MLflow tracking server did not answer");
	else if (st != 200)
		*res = emu_reply(r, (unsigned int)st, "application/json",
		    dbm_buf_str(&out), out.len);
	else if (src == NULL || (root = source_root(r->emu, src)) == NULL)
		*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "The files of model version %s of %s (source %s) are not on "
		    "this workspace's storage", ver, name, src ? src : "none");
	free(name);
	free(ver);
	curl_free(en);
	curl_free(ev);
	free(src);
	dbm_buf_free(&api);
	dbm_buf_free(&out);
	return root;
}

/* GET model-versions/list-artifacts?name=&version=&path= */
enum MHD_Result
emu_model_artifacts(struct req *r)
{
	char *path = emu_param(r, "path"), *root;
	enum MHD_Result res;

	if (path && !safe(path))
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid path");
	else if ((root = version_root(r, &res)) != NULL) {
		res = list(r, root, path ? path : "", 1);
		free(root);
	}
	free(path);
	return res;
}

/* GET model-versions/get-signed-download-uri?name=&version=&path= ->
 * {signed_uri, headers[]} */
enum MHD_Result
emu_model_signed_uri(struct req *r)
{
	char *path = emu_param(r, "path"), *root = NULL, *disk = NULL, sig[65];
	char *eu, *ep;
	struct dbm_buf b = DBM_BUF_INIT, url = DBM_BUF_INIT;
	struct dbm_jw w;
	const char *why = NULL;
	struct stat st;
	long long exp = (long long)time(NULL) + SIGNED_SECS;
	enum MHD_Result res;

	if (path == NULL || *path == '\0' || !safe(path)) {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid path");
		goto out;
	}
	if ((root = version_root(r, &res)) == NULL)
		goto out;
	if ((disk = disk_path(r->emu, root, path, &why)) == NULL ||
	    stat(disk, &st) < 0 || !S_ISREG(st.st_mode)) {
		res = emu_reply_error(r, 404, "RESOURCE_DOES_NOT_EXIST",
		    "No such artifact: '%s'", path);
		goto out;
	}
	dbm_buf_printf(&b, "model-file\n%lld\n%s\n%s", exp, root, path);
	emu_sign(r->emu, b.data, sig);
	eu = curl_easy_escape(NULL, root, 0);
	ep = curl_easy_escape(NULL, path, 0);
	dbm_buf_printf(&url, "%s/model-file?uri=%s&path=%s&exp=%lld&sig=%s",
	    r->emu->url, eu ? eu : "", ep ? ep : "", exp, sig);
	curl_free(eu);
	curl_free(ep);
	dbm_buf_reset(&b);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "signed_uri");
	dbm_jw_str(&w, url.data);
	dbm_jw_key(&w, "headers");
	dbm_jw_arr(&w);
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	res = emu_reply_json(r, 200, b.data);
out:
	free(path);
	free(root);
	free(disk);
	dbm_buf_free(&b);
	dbm_buf_free(&url);
	return res;
}

/* GET /model-file?uri=&path=&exp=&sig=: a presigned URL, no token. */
enum MHD_Result
emu_model_file(struct req *r)
{
	char *uri = emu_param(r, "uri"), *path = emu_param(r, "path"),
	    *exp = emu_param(r, "exp"), *sig = emu_param(r, "sig"), want[65];
	struct dbm_buf b = DBM_BUF_INIT;
	enum MHD_Result res;
	int ok = uri && path && exp && sig && strlen(sig) == 64 &&
	    strncmp(uri, "dbfs:/", 6) == 0 && safe(path) && *path;

	if (ok) {
		dbm_buf_printf(&b, "model-file\n%s\n%s\n%s", exp, uri, path);
		emu_sign(r->emu, b.data, want);
		ok = CRYPTO_memcmp(want, sig, 64) == 0;
	}
	if (!ok)
		res = emu_reply(r, 403, "application/xml", SIG_BAD,
		    strlen(SIG_BAD));
	else if (strtoll(exp, NULL, 10) < (long long)time(NULL))
		res = emu_reply(r, 403, "application/xml", SIG_EXPIRED,
		    strlen(SIG_EXPIRED));
	else
		res = download(r, uri, path);
	free(uri);
	free(path);
	free(exp);
	free(sig);
	dbm_buf_free(&b);
	return res;
}

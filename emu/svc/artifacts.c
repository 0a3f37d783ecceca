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
#include <unistd.h>

#include <curl/curl.h>

#include "emu.h"
#include "api.h"

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct dbm_buf *b = arg;

	if (b->len + size * n > (8u << 20))
		return 0;
	dbm_buf_add(b, p, size * n);
	return size * n;
}

/* The run's artifact URI, asked of the tracking server (malloc'd), or
 * NULL. */
static char *
artifact_uri(struct emu *e, const char *run)
{
	struct dbm_buf url = DBM_BUF_INIT, body = DBM_BUF_INIT;
	struct dbm_json j;
	char *esc, *uri = NULL;
	CURL *c = curl_easy_init();
	long status = 0;

	if (c == NULL)
		return NULL;
	esc = curl_easy_escape(c, run, 0);
	dbm_buf_printf(&url, "%s/api/2.0/mlflow/runs/get?run_id=%s",
	    e->mlflow_url, esc);
	curl_free(esc);
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	if (curl_easy_perform(c) == CURLE_OK &&
	    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	    status == 200 && dbm_json_parse(&j, dbm_buf_str(&body), body.len,
	    NULL, NULL) == 0) {
		uri = dbm_json_get_str(&j, "run.info.artifact_uri");
		dbm_json_free(&j);
	}
	curl_easy_cleanup(c);
	dbm_buf_free(&url);
	dbm_buf_free(&body);
	return uri;
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

static enum MHD_Result
list(struct req *r, const char *uri, const char *rel)
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
		if (S_ISREG(st.st_mode) && st.st_size > 0) {
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
		res = list(r, uri, path);
	free(run);
	free(path);
	free(uri);
	return res;
}

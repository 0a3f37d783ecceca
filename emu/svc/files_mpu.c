/*
 * Files API multipart uploads for workspace-emu (PROTOCOL.md section 2), as
 * databricks-sdk's files extension drives them for files above the 5 GiB
 * of a single PUT: initiate-upload gives a session token;
 * create-upload-part-urls gives presigned part URLs (here /mpu-part/..., a
 * signature instead of credentials); each part is PUT there and answers its
 * ETag; complete-upload with the parts and their ETags puts the file in
 * place all at once (overwrite as initiate-upload said), abort-upload drops
 * the session. Sessions live in memory, parts under the data directory's
 * tmp/; --files-put-max lowers the single-PUT limit so tests use small
 * files.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"
#include "sha.h"

#define FILES "/api/2.0/fs/files"
#define MAX_PARTS 10000
/* what cloud storage answers at a presigned URL */
#define BAD_SIG "<Error><Code>SignatureDoesNotMatch</Code></Error>"
#define NO_UPLOAD "<Error><Code>NoSuchUpload</Code></Error>"

struct mpu {
	char token[33];
	char *canon, *disk;
	int overwrite;
	struct mpu *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct mpu *sessions;

static struct mpu *
find(const char *token)
{
	struct mpu *m;

	for (m = sessions; m && token; m = m->next)
		if (strcmp(m->token, token) == 0)
			return m;
	return NULL;
}

static void
part_path(struct emu *e, const char *token, long n, struct dbm_buf *b)
{
	dbm_buf_reset(b);
	dbm_buf_printf(b, "%s/tmp/mpu-%s", e->datadir, token);
	if (n > 0)
		dbm_buf_printf(b, "/part-%05ld", n);
}

static void
drop(struct emu *e, struct mpu *m)
{
	struct mpu **p;
	struct dbm_buf d = DBM_BUF_INIT;

	for (p = &sessions; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			break;
		}
	part_path(e, m->token, 0, &d);
	store_remove_tree(d.data);
	dbm_buf_free(&d);
	free(m->canon);
	free(m->disk);
	free(m);
}

static enum MHD_Result
no_session(struct req *r)
{
	return emu_reply_error(r, 404, "NOT_FOUND", "The upload session does "
	    "not exist or has expired.");
}

static enum MHD_Result
initiate(struct req *r, const char *p)
{
	struct emu *e = r->emu;
	enum MHD_Result res;
	char *canon, *disk = emu_files_map(r, p, 5, &canon, &res);
	int overwrite = emu_param_bool(r, "overwrite", 1);
	unsigned char rnd[16];
	struct dbm_buf b = DBM_BUF_INIT;
	struct mpu *m;
	struct stat st;

	if (disk == NULL)
		return res;
	if (stat(disk, &st) == 0 && (S_ISDIR(st.st_mode) || !overwrite)) {
		res = emu_reply_error(r, 409, "ALREADY_EXISTS", S_ISDIR(st.st_mode) ?
		    "A directory exists at %s." : "The file %s already exists.",
		    canon);
		free(disk);
		free(canon);
		return res;
	}
	m = dbm_xcalloc(1, sizeof(*m));
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		dbm_errx(1, "getrandom");
	dbm_hex(rnd, sizeof(rnd), m->token);
	m->canon = canon;
	m->disk = disk;
	m->overwrite = overwrite;
	part_path(e, m->token, 0, &b);
	store_mkdirs(b.data);
	pthread_mutex_lock(&mu);
	m->next = sessions;
	sessions = m;
	pthread_mutex_unlock(&mu);
	dbm_buf_reset(&b);
	dbm_buf_printf(&b, "{\"multipart_upload\":{\"session_token\":\"%s\"}}",
	    m->token);
	res = emu_reply_json(r, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

/* POST create-upload-part-urls {path, session_token, start_part_number,
 * count, expire_time}: presigned URLs on this emulator. */
static enum MHD_Result
part_urls(struct req *r)
{
	struct emu *e = r->emu;
	struct dbm_json *j = &r->json;
	struct dbm_buf b = DBM_BUF_INIT, p = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	char *token, sig[65];
	long long start = 0, count = 0, i;
	int known;

	if (emu_need_json(r, &res) < 0)
		return res;
	token = dbm_json_get_str(j, "session_token");
	dbm_json_get_int(j, "start_part_number", &start);
	dbm_json_get_int(j, "count", &count);
	pthread_mutex_lock(&mu);
	known = find(token) != NULL;
	pthread_mutex_unlock(&mu);
	if (!known) {
		free(token);
		return no_session(r);
	}
	if (start < 1 || count < 1 || start + count - 1 > MAX_PARTS) {
		free(token);
		return emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE", "Part "
		    "numbers run from 1 to %d", MAX_PARTS);
	}
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "upload_part_urls");
	dbm_jw_arr(&w);
	for (i = start; i < start + count; i++) {
		dbm_buf_reset(&p);
		dbm_buf_printf(&p, "%s/%lld", token, i);
		emu_sign(e, p.data, sig);
		dbm_buf_reset(&p);
		dbm_buf_printf(&p, "%s/mpu-part/%s/%lld?sig=%s", e->url, token, i,
		    sig);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "url");
		dbm_jw_str(&w, p.data);
		dbm_jw_key(&w, "part_number");
		dbm_jw_int(&w, i);
		dbm_jw_key(&w, "headers");
		dbm_jw_arr(&w);
		dbm_jw_arr_end(&w);
		dbm_jw_obj_end(&w);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	res = emu_reply_json(r, 200, b.data);
	free(token);
	dbm_buf_free(&b);
	dbm_buf_free(&p);
	return res;
}

/* A part's ETag: its digest, quoted as HTTP has it. */
static int
etag_of(const char *path, char out[67])
{
	struct dbm_sha256 s;
	unsigned char md[DBM_SHA256_LEN], buf[65536];
	char hex[65];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	dbm_sha256_init(&s);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		dbm_sha256_update(&s, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return -1;
	dbm_sha256_final(&s, md);
	dbm_hex(md, 16, hex);
	snprintf(out, 67, "\"%s\"", hex);
	return 0;
}

/* The part number of /mpu-part/<token>/<n>?sig= when its signature is
 * the one this emulator made, else 0. */
static long
signed_part(struct req *r)
{
	const char *p = r->path + strlen("/mpu-part/");
	char *end, *sig = emu_param(r, "sig"), want[65];
	struct dbm_buf key = DBM_BUF_INIT;
	size_t tl = strcspn(p, "/");
	long n;
	int ok;

	n = p[tl] == '/' ? strtol(p + tl + 1, &end, 10) : 0;
	dbm_buf_add(&key, p, tl);
	dbm_buf_printf(&key, "/%ld", n);
	emu_sign(r->emu, key.data, want);
	ok = n >= 1 && n <= MAX_PARTS && sig && strlen(sig) == 64 &&
	    strcmp(sig, want) == 0;
	free(sig);
	dbm_buf_free(&key);
	return ok ? n : 0;
}

/* Before a part's body is read or room made for it: its signature. */
enum MHD_Result
emu_files_mpu_admit(struct req *r)
{
	if (signed_part(r) == 0)
		return emu_reply(r, 403, "application/xml", BAD_SIG,
		    strlen(BAD_SIG));
	return MHD_YES;
}

/* PUT /mpu-part/<token>/<n>?sig=: the presigned URL of one part. */
static enum MHD_Result
put_part(struct req *r)
{
	struct emu *e = r->emu;
	const char *p = r->path + strlen("/mpu-part/");
	char etag[67];
	struct dbm_buf key = DBM_BUF_INIT, dst = DBM_BUF_INIT;
	size_t tl = strcspn(p, "/");
	long n;
	int ok;
	struct MHD_Response *resp;
	enum MHD_Result res;

	if ((n = signed_part(r)) == 0)
		return emu_reply(r, 403, "application/xml", BAD_SIG,
		    strlen(BAD_SIG));
	dbm_buf_add(&key, p, tl);
	pthread_mutex_lock(&mu);
	ok = find(key.data) != NULL;
	pthread_mutex_unlock(&mu);
	part_path(e, key.data, n, &dst);
	if (!ok || r->tmp == NULL || rename(r->tmp, dst.data) < 0) {
		res = emu_reply(r, 404, "application/xml", NO_UPLOAD,
		    strlen(NO_UPLOAD));
	} else {
		free(r->tmp);
		r->tmp = NULL;
		etag_of(dst.data, etag);
		resp = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "ETag", etag);
		res = emu_queue(r, 200, resp);
	}
	dbm_buf_free(&key);
	dbm_buf_free(&dst);
	return res;
}

/* The parts, in order, into one temporary file; its path or NULL with
 * the message. */
static char *
assemble(struct req *r, struct mpu *m, char **why)
{
	struct dbm_json *j = &r->json;
	struct dbm_buf part = DBM_BUF_INIT;
	int parts = dbm_json_member(j, 0, "parts"), n, i, out = -1;
	char *tmp = NULL, etag[67];

	n = dbm_json_count(j, parts);
	if (n < 1 || n > MAX_PARTS) {
		*why = dbm_xstrdup("parts must list the uploaded parts");
		return NULL;
	}
	if ((out = store_tmpfd(r->emu, &tmp, 0)) < 0) {
		*why = dbm_xstrdup(strerror(errno));
		goto bad;
	}
	for (i = 0; i < n; i++) {
		int o = dbm_json_elem(j, parts, i), in;
		long long num = 0;
		char *tag = dbm_json_strdup(j, dbm_json_member(j, o, "etag"));
		ssize_t k;
		char buf[65536];

		dbm_json_int(j, dbm_json_member(j, o, "part_number"), &num);
		part_path(r->emu, m->token, (long)num, &part);
		if (num != i + 1 || tag == NULL || etag_of(part.data, etag) < 0 ||
		    (strcmp(tag, etag) != 0 && (strlen(tag) + 2 != strlen(etag) ||
		    strncmp(tag, etag + 1, strlen(tag)) != 0))) {
			struct dbm_buf b = DBM_BUF_INIT;

			dbm_buf_printf(&b, "Part %d: %s", i + 1, num != i + 1 ?
			    "parts must be numbered 1, 2, ... in order" :
			    "no such part, or its ETag does not match");
			*why = dbm_buf_detach(&b);
			free(tag);
			goto bad;
		}
		free(tag);
		if ((in = open(part.data, O_RDONLY | O_CLOEXEC)) < 0) {
			*why = dbm_xstrdup(strerror(errno));
			goto bad;
		}
		while ((k = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)k) != k) {
				k = -1;
				break;
			}
		close(in);
		if (k < 0) {
			*why = dbm_xstrdup("cannot write the file");
			goto bad;
		}
	}
	if (close(out) < 0) {
		out = -1;
		*why = dbm_xstrdup(strerror(errno));
		goto bad;
	}
	dbm_buf_free(&part);
	return tmp;
bad:
	if (out >= 0)
		close(out);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	dbm_buf_free(&part);
	return NULL;
}

static enum MHD_Result
complete(struct req *r, const char *token)
{
	struct emu *e = r->emu;
	struct mpu *m;
	enum MHD_Result res;
	char *tmp, *why = NULL;

	if (emu_need_json(r, &res) < 0)
		return res;
	pthread_mutex_lock(&mu);
	if ((m = find(token)) == NULL) {
		pthread_mutex_unlock(&mu);
		return no_session(r);
	}
	tmp = assemble(r, m, &why);
	if (tmp == NULL) {
		pthread_mutex_unlock(&mu);
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		free(why);
		return res;
	}
	res = emu_files_commit(r, tmp, m->disk, m->canon, m->overwrite);
	unlink(tmp);
	free(tmp);
	drop(e, m);
	pthread_mutex_unlock(&mu);
	return res;
}

enum MHD_Result
emu_files_mpu(struct req *r)
{
	char *action, *token;
	enum MHD_Result res;
	struct mpu *m;

	if (strncmp(r->path, "/mpu-part/", 10) == 0)
		return put_part(r);
	if (strcmp(r->path, "/api/2.0/fs/create-upload-part-urls") == 0)
		return part_urls(r);
	action = emu_param(r, "action");
	token = emu_param(r, "session_token");
	if (action && strcmp(action, "initiate-upload") == 0) {
		res = initiate(r, r->path + strlen(FILES));
	} else if (action && strcmp(action, "complete-upload") == 0) {
		res = complete(r, token);
	} else if (action && strcmp(action, "abort-upload") == 0) {
		pthread_mutex_lock(&mu);
		if ((m = find(token)) != NULL)
			drop(r->emu, m);
		pthread_mutex_unlock(&mu);
		res = m ? emu_reply_json(r, 200, "{}") : no_session(r);
	} else {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "action must be initiate-upload, complete-upload or "
		    "abort-upload");
	}
	free(action);
	free(token);
	return res;
}

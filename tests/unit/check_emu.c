/*
 * The client library against a workspace-emu in this process (inproc.c):
 * dbfs-put's engine to each kind of destination, byte for byte, its
 * content-addressed rerun, the streamed DBFS path above the put limit,
 * and dbm_upload_once. In process, so the sanitizers watch client and
 * server together, and a case costs milliseconds, not a Python test.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "emu.h"
#include "err.h"
#include "api.h"
#include "jobs_int.h"
#include "inproc.h"
#include "remote.h"
#include "upload.h"
#include "unit.h"

#define TOKEN "dapi-unit-inproc"

static struct emu *em;
static struct dbm_auth auth;

static void
setup(void)
{
	struct dbm_auth_opts ao = {0};
	struct dbm_err e;

	em = inproc_emu(TOKEN);
	/* the digest cache and upload record of a fresh machine */
	setenv("DBMLOPS_CACHE", tmpdir_make(), 1);
	fakeenv_clear();
	fakeenv_set("DATABRICKS_HOST", em->url);
	fakeenv_set("DATABRICKS_TOKEN", TOKEN);
	fakeenv_set("DATABRICKS_CONFIG_FILE", "/nonexistent/databrickscfg");
	memset(&auth, 0, sizeof(auth));
	ck_assert_msg(dbm_auth_resolve(&auth, &ao, fakeenv_get, &e) == 0,
	    "%s", e.msg);
}

static void
teardown(void)
{
	dbm_auth_free(&auth);
	fakeenv_clear();
}

/* A file of n pseudo-random bytes (seeded by n), its path in dir. */
static const char *
data_file(const char *dir, const char *name, size_t n)
{
	static char path[512];
	unsigned long long x = n * 2654435761ULL + 1;
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		putc((int)(x & 0xff), f);
	}
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* 1 if the two files hold the same bytes. */
static int
same_file(const char *a, const char *b)
{
	FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
	int c = 0, same = f && g;

	while (same && c != EOF) {
		c = getc(f);
		same = c == getc(g);
	}
	if (f)
		fclose(f);
	if (g)
		fclose(g);
	return same;
}

/* Plan and run an upload of src to dest; the number of files failed. */
static size_t
put(struct dbm_upload *u, const char *src, const char *dest,
    const struct dbm_upload_opts *o)
{
	char *srcs[] = {(char *)src};
	struct dbm_err e;

	ck_assert_msg(dbm_upload_plan(u, srcs, 1, dest, o, &e) == 0, "%s",
	    e.msg);
	return dbm_upload_run(u, &auth, "check_unit");
}

/* Where the emulator keeps the file behind an API path of a kind. */
static void
stored(char *out, size_t n, enum dbm_remote_kind kind, const char *remote)
{
	snprintf(out, n, "%s/%s%s", em->datadir, kind == DBM_REMOTE_WORKSPACE ?
	    "workspace" : "dbfs", kind == DBM_REMOTE_WORKSPACE ?
	    remote + strlen("/Workspace") : remote);
}

static void
tree_to(const char *dest, enum dbm_remote_kind kind)
{
	const char *dir = tmpdir_make();
	static const size_t sizes[] = {0, 1, 4095, 1 << 20, (1 << 20) + 7};
	struct dbm_upload_opts o = {0};
	struct dbm_upload u;
	char name[64], local[512], remote[1024];
	size_t i;

	sh(dir, "mkdir -p 'src/with space/deeper'");
	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		snprintf(name, sizeof(name), "%s/f%zu.bin", i % 2 ?
		    "src/with space" : i == 4 ? "src/with space/deeper" :
		    "src", i);
		data_file(dir, name, sizes[i]);
	}
	snprintf(local, sizeof(local), "%s/src", dir);
	o.recursive = 1;
	o.quiet = 1;
	o.jobs = 4;
	ck_assert_uint_eq(put(&u, local, dest, &o), 0);
	ck_assert_uint_eq(u.n, 5);
	for (i = 0; i < u.n; i++) {
		ck_assert_int_eq(u.files[i].failed, 0);
		stored(remote, sizeof(remote), kind, u.files[i].remote);
		ck_assert_msg(same_file(u.files[i].local, remote), "%s -> %s",
		    u.files[i].local, remote);
	}
	dbm_upload_free(&u);
}

START_TEST(test_tree_to_dbfs)
{
	tree_to("dbfs:/unit/tree", DBM_REMOTE_DBFS);
}
END_TEST

START_TEST(test_tree_to_volume)
{
	tree_to("/Volumes/main/default/unit/tree", DBM_REMOTE_VOLUME);
}
END_TEST

START_TEST(test_tree_to_workspace)
{
	tree_to("/Workspace/Shared/unit tree", DBM_REMOTE_WORKSPACE);
}
END_TEST

/* -c: DEST/<hash>/<name>; a rerun sends nothing and asks once. */
START_TEST(test_content_addressed_rerun)
{
	const char *dir = tmpdir_make(), *f;
	struct dbm_upload_opts o = {0};
	struct dbm_upload u;
	char remote[1024];
	int before;

	f = data_file(dir, "pkg-1.0-py3-none-any.whl", 300000);
	o.content_addressed = 1;
	o.quiet = 1;
	ck_assert_uint_eq(put(&u, f, "dbfs:/unit/ca/", &o), 0);
	ck_assert_int_eq(u.files[0].skipped, 0);
	ck_assert_msg(strstr(u.files[0].remote,
	    "/pkg-1.0-py3-none-any.whl") != NULL, "%s", u.files[0].remote);
	ck_assert_uint_eq(strlen(u.files[0].remote), strlen("/unit/ca/") +
	    DBM_CA_HEX + strlen("/pkg-1.0-py3-none-any.whl"));
	stored(remote, sizeof(remote), DBM_REMOTE_DBFS, u.files[0].remote);
	ck_assert(same_file(f, remote));
	dbm_upload_free(&u);
	before = inproc_requests();
	ck_assert_uint_eq(put(&u, f, "dbfs:/unit/ca/", &o), 0);
	ck_assert_int_eq(u.files[0].skipped, 1);
	ck_assert_int_eq(inproc_requests() - before, 1);	/* the listing */
	dbm_upload_free(&u);
}
END_TEST

/* Above the put limit: create, add-block, close to a temporary sibling,
 * then moved over the old file, which stays whole until then. */
START_TEST(test_streamed_overwrite)
{
	const char *dir = tmpdir_make();
	struct dbm_upload_opts o = {0};
	struct dbm_upload u;
	char remote[1024];
	const char *f;

	f = data_file(dir, "old.bin", 1000);
	o.quiet = 1;
	ck_assert_uint_eq(put(&u, f, "dbfs:/unit/stream/big.bin", &o), 0);
	dbm_upload_free(&u);
	f = data_file(dir, "big.bin", 700 * 1024);
	o.overwrite = 1;
	o.dbfs_put_max = 512 * 1024;
	o.block = 256 * 1024;
	ck_assert_uint_eq(put(&u, f, "dbfs:/unit/stream/big.bin", &o), 0);
	stored(remote, sizeof(remote), DBM_REMOTE_DBFS, u.files[0].remote);
	ck_assert(same_file(f, remote));
	dbm_upload_free(&u);
	/* nothing but the file beside it: the temporary was moved */
	snprintf(remote, sizeof(remote), "%s/dbfs/unit/stream", em->datadir);
	sh(remote, "test \"$(ls -A)\" = big.bin");
}
END_TEST

/* What the library said, through the reporter. */
static char said[4096];
static int said_kind = -1;

static void
capture(enum dbm_say kind, const char *text, void *arg)
{
	said_kind = (int)kind;
	snprintf(said, sizeof(said), "%s", text);
}

/* Without overwrite, an existing file is an error, and it is unchanged;
 * the library says so through the reporter, not on stderr itself. */
START_TEST(test_no_overwrite_refused)
{
	const char *dir = tmpdir_make(), *f;
	struct dbm_upload_opts o = {0};
	struct dbm_upload u;
	char keep[512], remote[1024];

	f = data_file(dir, "a.bin", 10);
	snprintf(keep, sizeof(keep), "%s", f);
	o.quiet = 1;
	ck_assert_uint_eq(put(&u, keep, "dbfs:/unit/once/a.bin", &o), 0);
	dbm_upload_free(&u);
	data_file(dir, "a.bin", 20);
	dbm_set_reporter(capture, NULL);
	ck_assert_uint_eq(put(&u, keep, "dbfs:/unit/once/a.bin", &o), 1);
	dbm_set_reporter(dbm_report_stderr, NULL);
	ck_assert_int_eq(u.files[0].failed, 1);
	ck_assert_int_eq(said_kind, DBM_SAY_ERROR);
	ck_assert_msg(strstr(said, "dbfs:/unit/once/a.bin: already exists") &&
	    said[strlen(said) - 1] == '\n', "%s", said);
	dbm_upload_free(&u);
	snprintf(remote, sizeof(remote), "%s/dbfs/unit/once", em->datadir);
	sh(remote, "test $(wc -c < a.bin) -eq 10");
}
END_TEST

/* dbm_upload_once: sent when missing, not again when there. */
START_TEST(test_upload_once)
{
	const char *dir = tmpdir_make(), *f;
	struct dbm_remote r;
	struct dbm_http h;
	struct dbm_err e;
	char remote[1024];
	int before;

	f = data_file(dir, "project.tar.gz", 5000);
	ck_assert_int_eq(dbm_remote_parse("dbfs:/unit/once/project.tar.gz", &r,
	    &e), 0);
	ck_assert_int_eq(dbm_http_init(&h, &auth, "check_unit", &e), 0);
	ck_assert_msg(dbm_upload_once(&h, f, &r, &e) == 0, "%s", e.msg);
	stored(remote, sizeof(remote), DBM_REMOTE_DBFS, r.path);
	ck_assert(same_file(f, remote));
	before = inproc_requests();
	ck_assert_msg(dbm_upload_once(&h, f, &r, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(inproc_requests() - before, 1);	/* a status */
	dbm_http_free(&h);
	dbm_remote_free(&r);
}
END_TEST

/* dbm_upload_once works within a batch's limits, the environment's too:
 * above DBMLOPS_DBFS_PUT_MAX the file is streamed (it used to ignore the
 * variable and always put). */
START_TEST(test_upload_once_limits)
{
	const char *dir = tmpdir_make(), *f;
	struct dbm_remote r;
	struct dbm_http h;
	struct dbm_err e;
	char remote[1024];
	int before;

	f = data_file(dir, "big-project.tar.gz", 5000);
	setenv("DBMLOPS_DBFS_PUT_MAX", "1024", 1);
	ck_assert_int_eq(dbm_remote_parse("dbfs:/unit/limits/p.tar.gz", &r, &e),
	    0);
	ck_assert_int_eq(dbm_http_init(&h, &auth, "check_unit", &e), 0);
	before = inproc_requests();
	ck_assert_msg(dbm_upload_once(&h, f, &r, &e) == 0, "%s", e.msg);
	unsetenv("DBMLOPS_DBFS_PUT_MAX");
	ck_assert_int_eq(inproc_requests_with(before, "/api/2.0/dbfs/put"), 0);
	ck_assert_int_eq(inproc_requests_with(before, "/api/2.0/dbfs/create"),
	    1);
	stored(remote, sizeof(remote), DBM_REMOTE_DBFS, r.path);
	ck_assert(same_file(f, remote));
	dbm_http_free(&h);
	dbm_remote_free(&r);
}
END_TEST

/* The Python a run gets when its runtime's is not there: the nearest
 * minor version, the older on a tie, none of those that did not answer. */
START_TEST(test_python_closest)
{
	int have[] = {11, 12, -1, 9};
	int only_none[] = {-1, -1};

	ck_assert_int_eq(jobs_python_closest(10, have, 4), 3);	/* 9 and 11: 9 */
	ck_assert_int_eq(jobs_python_closest(12, have, 4), 1);
	ck_assert_int_eq(jobs_python_closest(13, have, 4), 1);
	ck_assert_int_eq(jobs_python_closest(8, have, 4), 3);
	ck_assert_int_eq(jobs_python_closest(11, have, 2), 0);
	ck_assert_int_eq(jobs_python_closest(10, only_none, 2), -1);
	ck_assert_int_eq(jobs_python_closest(10, have, 0), -1);
}
END_TEST

/* Each runtime's Python, serverless environments' too, none for a
 * runtime not known. */
START_TEST(test_runtime_python)
{
	int m;

	ck_assert_int_eq(emu_runtime_python("13.3.x-scala2.12", &m), 0);
	ck_assert_int_eq(m, 10);
	ck_assert_int_eq(emu_runtime_python("15.4.x-cpu-ml-scala2.12", &m), 0);
	ck_assert_int_eq(m, 11);
	ck_assert_int_eq(emu_runtime_python("16.4.x-scala2.13", &m), 0);
	ck_assert_int_eq(m, 12);
	ck_assert_int_eq(emu_runtime_python("serverless:2", &m), 0);
	ck_assert_int_eq(m, 11);
	ck_assert_int_eq(emu_runtime_python("serverless:9", &m), -1);
	ck_assert_int_eq(emu_runtime_python("13.30.x-scala2.12", &m), -1);
	ck_assert_int_eq(emu_runtime_python("custom:abc", &m), -1);
	ck_assert_int_eq(emu_runtime_python(NULL, &m), -1);
}
END_TEST

Suite *
suite_emu(void)
{
	Suite *s = suite_create("emu");
	TCase *tc = tcase_create("upload");
	TCase *py = tcase_create("python");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_tree_to_dbfs);
	tcase_add_test(tc, test_tree_to_volume);
	tcase_add_test(tc, test_tree_to_workspace);
	tcase_add_test(tc, test_content_addressed_rerun);
	tcase_add_test(tc, test_streamed_overwrite);
	tcase_add_test(tc, test_no_overwrite_refused);
	tcase_add_test(tc, test_upload_once);
	tcase_add_test(tc, test_upload_once_limits);
	suite_add_tcase(s, tc);
	tcase_add_test(py, test_python_closest);
	tcase_add_test(py, test_runtime_python);
	suite_add_tcase(s, py);
	return s;
}

/* lib/remote path routing, lib/hashcache, lib/upload planning. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hashcache.h"
#include "remote.h"
#include "upload.h"
#include "unit.h"

START_TEST(test_remote_parse)
{
	static const struct {
		const char *in, *path, *uri, *fuse;
		enum dbm_remote_kind kind;
	} ok[] = {
		{"dbfs:/wheels/x", "/wheels/x", "dbfs:/wheels/x",
		    "/dbfs/wheels/x", DBM_REMOTE_DBFS},
		{"dbfs://a//b/", "/a/b", "dbfs:/a/b", "/dbfs/a/b",
		    DBM_REMOTE_DBFS},
		{"/dbfs/a", "/a", "dbfs:/a", "/dbfs/a", DBM_REMOTE_DBFS},
		{"/Volumes/c/s/v/x.whl", "/Volumes/c/s/v/x.whl",
		    "/Volumes/c/s/v/x.whl", "/Volumes/c/s/v/x.whl",
		    DBM_REMOTE_VOLUME},
		{"dbfs:/Volumes/c/s/v", "/Volumes/c/s/v", "/Volumes/c/s/v",
		    "/Volumes/c/s/v", DBM_REMOTE_VOLUME},
		{"/dbfs/Volumes/c/s/v/a", "/Volumes/c/s/v/a", "/Volumes/c/s/v/a",
		    "/Volumes/c/s/v/a", DBM_REMOTE_VOLUME},
		{"/Workspace/Shared/w", "/Workspace/Shared/w",
		    "/Workspace/Shared/w", "/Workspace/Shared/w",
		    DBM_REMOTE_WORKSPACE},
		{"dbfs:/", "/", "dbfs:/", "/dbfs/", DBM_REMOTE_DBFS},
	};
	static const char *const bad[] = {
		"s3://b/x", "relative", "dbfs:rel", "/tmp/x", "/Volumes/c/s",
		"dbfs:/a/../b", "dbfs:/a/./b", "abfss://c@a/x", "",
	};
	struct dbm_remote r;
	struct dbm_err e;
	size_t i;
	char *s;

	for (i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		ck_assert_msg(dbm_remote_parse(ok[i].in, &r, &e) == 0, "%s: %s",
		    ok[i].in, e.msg);
		ck_assert_str_eq(r.path, ok[i].path);
		ck_assert_int_eq(r.kind, ok[i].kind);
		s = dbm_remote_uri(r.kind, r.path);
		ck_assert_str_eq(s, ok[i].uri);
		free(s);
		s = dbm_remote_fuse(r.kind, r.path);
		ck_assert_str_eq(s, ok[i].fuse);
		free(s);
		dbm_remote_free(&r);
	}
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ck_assert_msg(dbm_remote_parse(bad[i], &r, &e) < 0, "accepted %s",
		    bad[i]);
		ck_assert_int_eq(e.kind, DBM_E_USAGE);
	}
}
END_TEST

START_TEST(test_hashcache)
{
	const char *dir = tmpdir_make();
	char hex[65], path[512];
	struct dbm_hashcache *c;
	struct stat st;
	struct timespec old[2] = {{1000000000, 5}, {1000000000, 5}};
	const char *h = "aaaabbbbccccddddeeeeffff00001111222233334444555566667777"
	    "88889999";

	setenv("DBMLOPS_CACHE", dir, 1);
	snprintf(path, sizeof(path), "%s/f", dir);
	write_file(dir, "f", "content");
	ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	c = dbm_hashcache_open(NULL, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_lt(dbm_hashcache_get(c, path, &st, hex), 0);
	dbm_hashcache_put(c, path, &st, h);
	dbm_hashcache_close(c);
	c = dbm_hashcache_open(NULL, 0);
	ck_assert_int_eq(dbm_hashcache_get(c, path, &st, hex), 0);
	ck_assert_str_eq(hex, h);
	dbm_hashcache_close(c);
	/* a changed file misses */
	write_file(dir, "f", "content!");
	ck_assert_int_eq(stat(path, &st), 0);
	c = dbm_hashcache_open(NULL, 0);
	ck_assert_int_lt(dbm_hashcache_get(c, path, &st, hex), 0);
	/* a fresh file is not remembered */
	dbm_hashcache_put(c, path, &st, h);
	dbm_hashcache_close(c);
	c = dbm_hashcache_open(NULL, 0);
	ck_assert_int_lt(dbm_hashcache_get(c, path, &st, hex), 0);
	dbm_hashcache_close(c);
	setenv("DBMLOPS_HASH_CACHE", "off", 1);
	ck_assert_ptr_null(dbm_hashcache_open(NULL, 0));
	unsetenv("DBMLOPS_HASH_CACHE");
}
END_TEST

static long
lines_of(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int ch;

	if (f == NULL)
		return -1;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* A cache line for path as stat sees it now. */
static void
cache_line(FILE *f, const char *path, const char *hex)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	fprintf(f, "%s %lld %lld.%09ld %lld.%09ld %lld %lld %s\n", hex,
	    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec,
	    st.st_ctim.tv_nsec, (long long)st.st_ino, (long long)st.st_dev, path);
}

/* dir as DBMLOPS_CACHE; its digest cache (path in cache) opened to be
 * written by the test. */
static FILE *
cache_file(const char *dir, char cache[512])
{
	FILE *f;

	setenv("DBMLOPS_CACHE", dir, 1);
	snprintf(cache, 512, "%s/sha256", dir);
	f = fopen(cache, "w");
	ck_assert_ptr_nonnull(f);
	return f;
}

/* The cache stays bounded whatever comes and goes: a runner that builds
 * in a new folder each job leaves 16000 lines of dead paths (and lines an
 * earlier version wrote); the next run that pushes it over 16384 lines
 * rewrites it with the live entries only. */
START_TEST(test_hashcache_bounded)
{
	const char *dir = tmpdir_make();
	const char *h = "aaaabbbbccccddddeeeeffff00001111222233334444555566667777"
	    "88889999";
	char path[512], cache[512], hex[65];
	char *paths[400];
	struct dbm_hashcache *c;
	struct stat st;
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	FILE *f;
	int i;

	f = cache_file(dir, cache);
	for (i = 0; i < 16000; i++)
		fprintf(f, "%s 1 1000000000.000000005 1000000000.000000005 %d 2049 "
		    "/gone/job%d/dist/f%d.whl\n", h, 100 + i, i / 40, i % 40);
	for (i = 0; i < 20; i++)	/* the shape before the ctime */
		fprintf(f, "%s 1 1000000000.000000005 %d 2049 %s/old%d\n", h, i,
		    dir, i);
	fclose(f);
	/* this job: 400 files, first hashed, then found */
	for (i = 0; i < 400; i++) {
		char name[32];

		snprintf(name, sizeof(name), "w%d", i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		write_file(dir, name, "x");
		utimensat(AT_FDCWD, path, old, 0);
		paths[i] = strdup(path);
	}
	c = dbm_hashcache_open(paths, 400);
	for (i = 0; i < 400; i++) {
		stat(paths[i], &st);
		ck_assert_int_lt(dbm_hashcache_get(c, paths[i], &st, hex), 0);
		dbm_hashcache_put(c, paths[i], &st, h);
	}
	dbm_hashcache_close(c);
	ck_assert_int_eq(lines_of(cache), 400);
	/* only what was asked about is loaded; every entry still holds */
	c = dbm_hashcache_open(paths, 200);
	for (i = 0; i < 400; i++) {
		stat(paths[i], &st);
		ck_assert_int_eq(dbm_hashcache_get(c, paths[i], &st, hex),
		    (i < 200 ? 0 : -1));
	}
	dbm_hashcache_close(c);
	c = dbm_hashcache_open(NULL, 0);
	stat(paths[399], &st);
	ck_assert_int_eq(dbm_hashcache_get(c, paths[399], &st, hex), 0);
	ck_assert_str_eq(hex, h);
	dbm_hashcache_close(c);
	for (i = 0; i < 400; i++)
		free(paths[i]);
	unsetenv("DBMLOPS_CACHE");
}
END_TEST

/* More live files than a rewrite keeps: the newest 8192 stay, each path
 * once (its newest line). */
START_TEST(test_hashcache_keeps_the_newest)
{
	const char *dir = tmpdir_make();
	const char *h1 = "1111111111111111111111111111111111111111111111111111111111"
	    "111111", *h2 = "22222222222222222222222222222222222222222222222222"
	    "22222222222222";
	char path[512], cache[512], file[512], hex[65];
	struct dbm_hashcache *c;
	struct stat st;
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	FILE *f;
	int i;

	snprintf(file, sizeof(file), "%s/x", dir);
	write_file(dir, "x", "x");
	utimensat(AT_FDCWD, file, old, 0);
	f = cache_file(dir, cache);
	/* 9000 names of one file (hard links), each cached twice: 18000
	 * lines, the second of each newer */
	for (i = 0; i < 9000; i++) {
		snprintf(path, sizeof(path), "%s/l%d", dir, i);
		ck_assert_int_eq(link(file, path), 0);
	}
	for (i = 0; i < 18000; i++) {
		snprintf(path, sizeof(path), "%s/l%d", dir, i % 9000);
		cache_line(f, path, i < 9000 ? h1 : h2);
	}
	fclose(f);
	c = dbm_hashcache_open(NULL, 0);
	dbm_hashcache_close(c);
	ck_assert_int_eq(lines_of(cache), 8192);
	c = dbm_hashcache_open(NULL, 0);
	for (i = 0; i < 9000; i += 100) {
		snprintf(path, sizeof(path), "%s/l%d", dir, i);
		stat(path, &st);
		if (i < 9000 - 8192) {
			ck_assert_int_lt(dbm_hashcache_get(c, path, &st, hex), 0);
		} else {
			ck_assert_int_eq(dbm_hashcache_get(c, path, &st, hex), 0);
			ck_assert_str_eq(hex, h2);
		}
	}
	dbm_hashcache_close(c);
	unsetenv("DBMLOPS_CACHE");
}
END_TEST

/* Lines are read field by field: a line of any other shape is no entry,
 * whatever file it names. */
START_TEST(test_hashcache_lines)
{
	const char *dir = tmpdir_make();
	const char *h = "aaaabbbbccccddddeeeeffff00001111222233334444555566667777"
	    "88889999";
	static const char *const bad[] = {
		"%.63s %lld %lld.%09ld %lld.%09ld %lld %lld %s\n",
		"g%.63s %lld %lld.%09ld %lld.%09ld %lld %lld %s\n",
		"%s %lld %lld.%09ldx %lld.%09ld %lld %lld %s\n",
		"%s %lld %lld %09ld %lld.%09ld %lld %lld %s\n",
		"%s  %lld %lld.%09ld %lld.%09ld %lld %lld %s\n",
		"%s %lld %lld.%09ld %lld.%09ld %lld %lld x%s\n",
		"%s %lld %lld.%09ld %lld.%09ld %lld %lld99999999999999999999 %s\n",
	};
	char path[512], cache[512], hex[65];
	struct timespec past[2] = {{-86400, 7}, {-86400, 7}};
	struct dbm_hashcache *c;
	struct stat st;
	FILE *f;
	size_t i;

	f = cache_file(dir, cache);
	for (i = 0; i <= sizeof(bad) / sizeof(*bad); i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%zu", i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		write_file(dir, name, "x");
		ck_assert_int_eq(utimensat(AT_FDCWD, path, past, 0), 0);
		ck_assert_int_eq(stat(path, &st), 0);
		if (i == sizeof(bad) / sizeof(*bad)) {
			/* the last, well formed, dated before 1970 */
			cache_line(f, path, h);
			break;
		}
		fprintf(f, bad[i], h, (long long)st.st_size,
		    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		    (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
		    (long long)st.st_ino, (long long)st.st_dev, path);
	}
	fclose(f);
	c = dbm_hashcache_open(NULL, 0);
	for (i = 0; i <= sizeof(bad) / sizeof(*bad); i++) {
		snprintf(path, sizeof(path), "%s/f%zu", dir, i);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(dbm_hashcache_get(c, path, &st, hex),
		    i < sizeof(bad) / sizeof(*bad) ? -1 : 0);
	}
	ck_assert_str_eq(hex, h);
	dbm_hashcache_close(c);
	unsetenv("DBMLOPS_CACHE");
}
END_TEST

START_TEST(test_plan)
{
	const char *dir = tmpdir_make();
	struct dbm_upload u;
	struct dbm_upload_opts o = {0};
	struct dbm_err e;
	char a[512], d[512];
	char *one[] = {a}, *two[] = {a, a}, *tree[] = {d};

	snprintf(a, sizeof(a), "%s/a.whl", dir);
	snprintf(d, sizeof(d), "%s/d", dir);
	write_file(dir, "a.whl", "x");
	sh(dir, "mkdir -p d/sub && echo 1 > d/z && echo 2 > d/sub/y && "
	    "echo 3 > d/b");
	ck_assert_int_eq(dbm_upload_plan(&u, one, 1, "dbfs:/x/n.whl", &o, &e), 0);
	ck_assert_str_eq(u.files[0].remote, "/x/n.whl");
	dbm_upload_free(&u);
	ck_assert_int_eq(dbm_upload_plan(&u, one, 1, "dbfs:/x/", &o, &e), 0);
	ck_assert_str_eq(u.files[0].remote, "/x/a.whl");
	dbm_upload_free(&u);
	/* the same file twice would land twice on one path */
	ck_assert_int_lt(dbm_upload_plan(&u, two, 2, "dbfs:/x/", &o, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "two sources"));
	dbm_upload_free(&u);
	ck_assert_int_lt(dbm_upload_plan(&u, tree, 1, "dbfs:/x", &o, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "use -r"));
	dbm_upload_free(&u);
	o.recursive = 1;
	ck_assert_int_eq(dbm_upload_plan(&u, tree, 1, "dbfs:/x", &o, &e), 0);
	ck_assert_int_eq(u.n, 3);
	ck_assert_str_eq(u.files[0].remote, "/x/b");	/* sorted */
	ck_assert_str_eq(u.files[1].remote, "/x/sub/y");
	ck_assert_str_eq(u.files[2].remote, "/x/z");
	ck_assert_int_eq(u.bytes, 6);
	dbm_upload_free(&u);
}
END_TEST

Suite *
suite_upload(void)
{
	Suite *s = suite_create("upload");
	TCase *tc = tcase_create("upload");

	tcase_add_test(tc, test_remote_parse);
	tcase_add_test(tc, test_hashcache);
	tcase_add_test(tc, test_hashcache_bounded);
	tcase_add_test(tc, test_hashcache_keeps_the_newest);
	tcase_add_test(tc, test_hashcache_lines);
	tcase_add_test(tc, test_plan);
	suite_add_tcase(s, tc);
	return s;
}

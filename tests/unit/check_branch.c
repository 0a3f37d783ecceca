/* lib/branch: slugs, CI variable matrices, git repositories on disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "branch.h"
#include "unit.h"

static struct dbm_branch b;
static struct dbm_err e;
static const char *none;	/* a directory outside any git repository */

static void
setup(void)
{
	fakeenv_clear();
	none = tmpdir_make();
}

#define GIT "git -c user.name=t -c user.email=t@t -c init.defaultBranch=main "

START_TEST(test_slug_clean)
{
	static const char *const same[] = {
		"main", "feature-a", "release-1.2", "a_b", "x", "v1.0.0",
		"abc--0123456789",	/* already the hashed form */
	};
	size_t i;
	char *s;

	for (i = 0; i < sizeof(same) / sizeof(*same); i++) {
		s = dbm_slug(same[i]);
		ck_assert_str_eq(s, same[i]);
		free(s);
	}
}
END_TEST

START_TEST(test_slug_injective)
{
	/* names that a lossy mapping would merge stay apart */
	static const char *const names[] = {
		"feature/a", "feature-a", "Feature/A", "feature_a", "feature.a",
		"feature//a", "feature--a", "-feature-a", "feature-a-",
		("f\xc3\xa9" "ature/a"), "feature a", "FEATURE-A", "feature/a/",
		"", "..", "---", "\xe6\x97\xa5\xe6\x9c\xac",
	};
	size_t n = sizeof(names) / sizeof(*names), i, k;
	char *s[sizeof(names) / sizeof(*names)];

	for (i = 0; i < n; i++) {
		s[i] = dbm_slug(names[i]);
		ck_assert_msg(dbm_is_slug(s[i]), "not a slug: %s", s[i]);
		ck_assert_int_le(strlen(s[i]), DBM_SLUG_MAX);
	}
	for (i = 0; i < n; i++)
		for (k = i + 1; k < n; k++)
			ck_assert_msg(strcmp(s[i], s[k]) != 0,
			    "'%s' and '%s' both give %s", names[i], names[k],
			    s[i]);
	for (i = 0; i < n; i++)
		free(s[i]);
}
END_TEST

START_TEST(test_slug_idempotent_and_bounded)
{
	char raw[300], *s, *t;
	int i;

	for (i = 0; i < 299; i++)
		raw[i] = (char)('a' + i % 26);
	raw[299] = '\0';
	s = dbm_slug(raw);
	ck_assert_int_eq(strlen(s), DBM_SLUG_MAX);
	ck_assert_ptr_nonnull(strstr(s, "--"));
	t = dbm_slug(s);
	ck_assert_str_eq(s, t);
	free(t);
	/* two long names sharing their first 200 bytes differ */
	raw[298] = 'Z';
	t = dbm_slug(raw);
	ck_assert_str_ne(s, t);
	free(s);
	free(t);
	s = dbm_slug("Feature/Login");
	ck_assert_int_eq(strncmp(s, "feature-login--", 15), 0);
	free(s);
}
END_TEST

START_TEST(test_slug_stable)
{
	char *s = dbm_slug("feature/login");

	/* the hash is part of the contract: names must not move */
	ck_assert_str_eq(s, "feature-login--df7c7aeb35");
	free(s);
}
END_TEST

START_TEST(test_ci_matrix)
{
	static const struct {
		const char *vars[6];	/* name, value pairs */
		const char *raw, *source;
	} cases[] = {
		{{"GITHUB_HEAD_REF", "feature/login", "GITHUB_REF_NAME",
		    "12/merge"}, "feature/login", "github:GITHUB_HEAD_REF"},
		{{"GITHUB_HEAD_REF", "", "GITHUB_REF_NAME", "main"}, "main",
		    "github:GITHUB_REF_NAME"},
		{{"BUILD_SOURCEBRANCH", "refs/heads/users/ann/fix-1"},
		    "users/ann/fix-1", "azure:BUILD_SOURCEBRANCH"},
		{{"SYSTEM_PULLREQUEST_SOURCEBRANCH", "refs/heads/topic/x",
		    "BUILD_SOURCEBRANCH", "refs/pull/3/merge"}, "topic/x",
		    "azure:SYSTEM_PULLREQUEST_SOURCEBRANCH"},
		{{"BUILD_SOURCEBRANCH", "refs/tags/v1.2"}, "tags/v1.2",
		    "azure:BUILD_SOURCEBRANCH"},
		{{"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "mr/src",
		    "CI_COMMIT_REF_NAME", "main"}, "mr/src",
		    "gitlab:CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"},
		{{"CI_COMMIT_REF_NAME", "v2"}, "v2", "gitlab:CI_COMMIT_REF_NAME"},
		{{"JENKINS_URL", "http://j", "CHANGE_BRANCH", "pr-src",
		    "BRANCH_NAME", "PR-4"}, "pr-src", "jenkins:CHANGE_BRANCH"},
		{{"JENKINS_URL", "http://j", "GIT_BRANCH", "origin/dev"}, "dev",
		    "jenkins:GIT_BRANCH"},
		{{"BRANCH_NAME", "not-jenkins", "DBMLOPS_BRANCH", "over"},
		    "over", "DBMLOPS_BRANCH"},
		{{"DBMLOPS_BRANCH", "mine", "GITHUB_HEAD_REF", "theirs"}, "mine",
		    "DBMLOPS_BRANCH"},
		{{"BITBUCKET_BRANCH", "bb/x"}, "bb/x", "bitbucket:BITBUCKET_BRANCH"},
		{{"CIRCLE_BRANCH", "c"}, "c", "circleci:CIRCLE_BRANCH"},
		{{"BUILDKITE_BRANCH", "k"}, "k", "buildkite:BUILDKITE_BRANCH"},
	};
	size_t i;
	int k;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		fakeenv_clear();
		for (k = 0; k < 6 && cases[i].vars[k]; k += 2)
			fakeenv_set(cases[i].vars[k], cases[i].vars[k + 1]);
		ck_assert_msg(dbm_branch_detect(&b, fakeenv_get, none, &e) == 0,
		    "case %zu: %s", i, e.msg);
		ck_assert_str_eq(b.raw, cases[i].raw);
		ck_assert_str_eq(b.source, cases[i].source);
		dbm_branch_free(&b);
	}
}
END_TEST

START_TEST(test_nothing)
{
	fakeenv_set("BRANCH_NAME", "only-with-jenkins");
	ck_assert_int_lt(dbm_branch_detect(&b, fakeenv_get, none, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "no branch found"));
}
END_TEST

static char *
capture(const char *dir, const char *cmd)
{
	char full[1024], buf[256];
	FILE *p;
	size_t n;

	snprintf(full, sizeof(full), "cd '%s' && %s", dir, cmd);
	p = popen(full, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	pclose(p);
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return strdup(buf);
}

START_TEST(test_git_repos)
{
	const char *d = tmpdir_make();
	char path[512], *sha;

	sh(d, GIT "init -q repo && cd repo && " GIT "checkout -q -b "
	    "feature/x && " GIT "commit -q --allow-empty -m one && "
	    "mkdir -p sub/deeper");
	snprintf(path, sizeof(path), "%s/repo/sub/deeper", d);
	ck_assert_int_eq(dbm_branch_detect(&b, fakeenv_get, path, &e), 0);
	ck_assert_str_eq(b.raw, "feature/x");
	ck_assert_str_eq(b.source, "git");
	snprintf(path, sizeof(path), "%s/repo", d);
	sha = capture(path, "git rev-parse HEAD");
	ck_assert_str_eq(b.sha, sha);
	ck_assert_ptr_nonnull(strstr(b.toplevel, "/repo"));
	ck_assert_ptr_null(b.origin);
	dbm_branch_free(&b);
	sh(path, "git remote add origin https://user:s3cret@example.com/org/repo.git");
	ck_assert_int_eq(dbm_branch_detect(&b, fakeenv_get, path, &e), 0);
	ck_assert_str_eq(b.origin, "https://example.com/org/repo.git");
	dbm_branch_free(&b);

	/* packed refs resolve too */
	sh(path, GIT "pack-refs --all");
	ck_assert_int_eq(dbm_branch_detect(&b, fakeenv_get, path, &e), 0);
	ck_assert_str_eq(b.sha, sha);
	dbm_branch_free(&b);

	/* detached */
	sh(path, GIT "checkout -q --detach");
	ck_assert_int_eq(dbm_branch_detect(&b, fakeenv_get, path, &e), 0);
	ck_assert(b.detached);
	ck_assert_int_eq(strncmp(b.raw, "detached-", 9), 0);
	ck_assert_int_eq(strncmp(b.raw + 9, sha, DBM_SHORT_SHA), 0);
	ck_assert_int_eq(strlen(b.raw), 9 + DBM_SHORT_SHA);
	ck_assert_str_eq(b.slug, b.raw);
	dbm_branch_free(&b);

	/* CI variables win over a detached checkout */
	fakeenv_set("GITHUB_HEAD_REF", "pr/branch");
	ck_assert_int_eq(dbm_branch_detect(&b, fakeenv_get, path, &e), 0);
	ck_assert_str_eq(b.raw, "pr/branch");
	ck_assert_str_eq(b.sha, sha);
	dbm_branch_free(&b);
	free(sha);
}
END_TEST

START_TEST(test_git_worktree_and_gitdir)
{
	const char *d = tmpdir_make();
	char path[512];

	sh(d, GIT "init -q repo && cd repo && " GIT "commit -q --allow-empty "
	    "-m one && " GIT "worktree add -q -b wt/branch ../wt");
	snprintf(path, sizeof(path), "%s/wt", d);
	ck_assert_int_eq(dbm_branch_detect(&b, fakeenv_get, path, &e), 0);
	ck_assert_str_eq(b.raw, "wt/branch");
	ck_assert_ptr_nonnull(b.sha);
	dbm_branch_free(&b);

	/* GIT_DIR points elsewhere: that repository counts */
	snprintf(path, sizeof(path), "%s/repo/.git", d);
	fakeenv_set("GIT_DIR", path);
	ck_assert_int_eq(dbm_branch_detect(&b, fakeenv_get, none, &e), 0);
	ck_assert_str_eq(b.raw, "main");
	dbm_branch_free(&b);
}
END_TEST

START_TEST(test_format)
{
	struct dbm_fmtvars v = {"feat", "proj", "ann", "abc123", NULL};
	struct dbm_buf o = DBM_BUF_INIT;

	ck_assert_int_eq(dbm_format("/Shared/{project}/{branch}-{{x}}", &v,
	    &o, &e), 0);
	ck_assert_str_eq(dbm_buf_str(&o), "/Shared/proj/feat-{x}");
	dbm_buf_reset(&o);
	ck_assert_int_lt(dbm_format("{build}", &v, &o, &e), 0);
	ck_assert_int_eq(e.kind, DBM_E_CONFIG);
	ck_assert_int_lt(dbm_format("{nope}", &v, &o, &e), 0);
	ck_assert_int_eq(e.kind, DBM_E_USAGE);
	ck_assert_int_lt(dbm_format("{branch", &v, &o, &e), 0);
	ck_assert_int_lt(dbm_format("a}b", &v, &o, &e), 0);
	dbm_buf_free(&o);
}
END_TEST

Suite *
suite_branch(void)
{
	Suite *s = suite_create("branch");
	TCase *tc = tcase_create("branch");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_slug_clean);
	tcase_add_test(tc, test_slug_injective);
	tcase_add_test(tc, test_slug_idempotent_and_bounded);
	tcase_add_test(tc, test_slug_stable);
	tcase_add_test(tc, test_ci_matrix);
	tcase_add_test(tc, test_nothing);
	tcase_add_test(tc, test_git_repos);
	tcase_add_test(tc, test_git_worktree_and_gitdir);
	tcase_add_test(tc, test_format);
	suite_add_tcase(s, tc);
	return s;
}

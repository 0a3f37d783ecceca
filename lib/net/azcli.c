/* azure-cli auth: see azcli.h. The commands and their answers are those of
 * databricks-sdk's AzureCliTokenSource (credentials_provider.py). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "azcli.h"
#include "b64.h"
#include "buf.h"
#include "json.h"

extern char **environ;

#define OUT_MAX (1 << 20)	/* bytes kept of each of az's streams */

/* Read what fd has into b (up to OUT_MAX kept); 0 at end of file. */
static int
drain(int fd, struct dbm_buf *b)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n > 0 && b->len + (size_t)n <= OUT_MAX)
		dbm_buf_add(b, chunk, (size_t)n);
	return n > 0;
}

/*
 * Run `az args...` (stdin /dev/null, the environment as it is), its
 * output in out and err. Its exit status; -2 when it took longer than
 * DBM_AZCLI_TIMEOUT (it is killed); -1 with errno when it could not be
 * started (ENOENT: no az on PATH).
 */
static int
run_az(const char *const *args, struct dbm_buf *out, struct dbm_buf *err)
{
	const char *argv[16];
	posix_spawn_file_actions_t fa;
	struct pollfd p[2];
	int po[2], pe[2], n = 0, rc, st, i, open_fds = 2;
	double deadline = dbm_now() + DBM_AZCLI_TIMEOUT;
	pid_t pid;

	argv[n++] = "az";
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (pipe(po) < 0)
		return -1;
	if (pipe(pe) < 0) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	for (i = 0; i < 2; i++) {	/* not inherited by other children */
		fcntl(po[i], F_SETFD, FD_CLOEXEC);
		fcntl(pe[i], F_SETFD, FD_CLOEXEC);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	rc = posix_spawnp(&pid, "az", &fa, NULL, (char *const *)argv,
	    environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	if (rc != 0) {
		close(po[0]);
		close(pe[0]);
		errno = rc;
		return -1;
	}
	p[0].fd = po[0];
	p[1].fd = pe[0];
	while (open_fds > 0) {
		double left = deadline - dbm_now();

		if (left <= 0)
			break;
		for (i = 0; i < 2; i++)
			p[i].events = p[i].fd >= 0 ? POLLIN : 0;
		if (poll(p, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN |
			    POLLHUP | POLLERR)))
				continue;
			if (!drain(p[i].fd, i == 0 ? out : err)) {
				close(p[i].fd);
				p[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	if (open_fds > 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (open_fds > 0)
		return -2;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* What az said, stdout then stderr, trimmed, for a message. */
static void
said(struct dbm_buf *to, const struct dbm_buf *out, const struct dbm_buf *err)
{
	const struct dbm_buf *s[2] = {out, err};
	int i;

	for (i = 0; i < 2; i++) {
		size_t a = 0, z = s[i]->len;

		while (a < z && strchr(" \t\r\n", s[i]->data[a]))
			a++;
		while (z > a && strchr(" \t\r\n", s[i]->data[z - 1]))
			z--;
		if (z > a) {
			if (to->len)
				dbm_buf_adds(to, " ");
			dbm_buf_add(to, s[i]->data + a, z - a);
		}
	}
	if (to->len == 0)
		dbm_buf_adds(to, "(it printed nothing)");
}

/* The CLI logged in with a managed identity takes no --tenant (the SDK
 * asks `az account show` once). */
static int
managed_identity(int *mi)
{
	static const char *const show[] = {"account", "show", "--output",
	    "json", NULL};
	struct dbm_buf out = DBM_BUF_INIT, err = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_err je;

	if (*mi == 0) {
		*mi = -1;
		if (run_az(show, &out, &err) == 0 && dbm_json_parse(&j,
		    out.data ? out.data : "", out.len, "az account show",
		    &je) == 0) {
			char *type = dbm_json_get_str(&j, "user.type");
			char *name = dbm_json_get_str(&j, "user.name");

			if (type && name && strcmp(type, "servicePrincipal") ==
			    0 && (strcmp(name, "systemAssignedIdentity") == 0 ||
			    strcmp(name, "userAssignedIdentity") == 0))
				*mi = 1;
			free(type);
			free(name);
			dbm_json_free(&j);
		}
		dbm_buf_free(&out);
		dbm_buf_free(&err);
	}
	return *mi == 1;
}

/* expiresOn: the local time of the CLI's machine,
 * "2026-11-27 14:05:09.000000". */
static time_t
local_time(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/* The token in az's answer, and its expiry: expires_on (seconds since the
 * epoch, az 2.54 and later), else expiresOn. */
static int
parse(const struct dbm_buf *out, char **tok, time_t *exp)
{
	struct dbm_json j;
	struct dbm_err je;
	long long v;
	char *s;

	if (out->len == 0 || dbm_json_parse(&j, out->data, out->len, "az",
	    &je) < 0)
		return -1;
	*tok = dbm_json_get_str(&j, "accessToken");
	if (dbm_json_get_int(&j, "expires_on", &v) == 0) {
		*exp = (time_t)v;
	} else {
		s = dbm_json_get_str(&j, "expiresOn");
		*exp = local_time(s);
		free(s);
	}
	dbm_json_free(&j);
	if (*tok == NULL || **tok == '\0' || *exp == 0) {
		free(*tok);
		*tok = NULL;
		return -1;
	}
	return 0;
}

int
dbm_azcli_token(const char *resource, const char *workspace_resource_id,
    const char *tenant, int *mi, char **tok, time_t *exp, struct dbm_err *e)
{
	const char *args[12];
	struct dbm_buf out = DBM_BUF_INIT, err = DBM_BUF_INIT,
	    msg = DBM_BUF_INIT;
	char sub[128] = "";
	const char *p;
	int n, rc, tries, k;

	/* /subscriptions/<id>/resourceGroups/...: first asked with its
	 * subscription, then without (a login that may use the workspace but
	 * not see its subscription) */
	if (workspace_resource_id && (p = strstr(workspace_resource_id,
	    "/subscriptions/")) != NULL) {
		p += strlen("/subscriptions/");
		snprintf(sub, sizeof(sub), "%.*s", (int)strcspn(p, "/"), p);
	}
	tries = *sub ? 2 : 1;
	for (k = 0; k < tries; k++) {
		n = 0;
		args[n++] = "account";
		args[n++] = "get-access-token";
		args[n++] = "--resource";
		args[n++] = resource;
		args[n++] = "--output";
		args[n++] = "json";
		if (k == 0 && *sub) {
			args[n++] = "--subscription";
			args[n++] = sub;
		}
		if (tenant && !managed_identity(mi)) {
			args[n++] = "--tenant";
			args[n++] = tenant;
		}
		args[n] = NULL;
		dbm_buf_reset(&out);
		dbm_buf_reset(&err);
		rc = run_az(args, &out, &err);
		if (rc == 0 || rc == -1 || rc == -2)
			break;
	}
	if (rc == -1) {
		rc = errno == ENOENT ? 1 : -1;
		if (rc == 1)
			dbm_errf(e, DBM_E_AUTH, "azure-cli: no az on PATH: install "
			    "the Azure CLI and run `az login`, or pick another "
			    "auth type");
		else
			dbm_errf(e, DBM_E_AUTH, "azure-cli: cannot run az: %s",
			    strerror(errno));
	} else if (rc == -2) {
		rc = -1;
		dbm_errf(e, DBM_E_AUTH, "azure-cli: `az account get-access-token` "
		    "did not answer in %d s", DBM_AZCLI_TIMEOUT);
	} else if (rc != 0) {
		rc = -1;
		said(&msg, &out, &err);
		dbm_errf(e, DBM_E_AUTH, "azure-cli: cannot get access token: %s",
		    msg.data);
	} else if (parse(&out, tok, exp) < 0) {
		rc = -1;
		dbm_errf(e, DBM_E_AUTH, "azure-cli: `az account get-access-token` "
		    "gave no accessToken and expiry in JSON");
	}
	dbm_zero(out.data, out.len);
	dbm_buf_free(&out);
	dbm_buf_free(&err);
	dbm_buf_free(&msg);
	return rc;
}

int
dbm_azcli_present(void)
{
	const char *path = getenv("PATH");
	struct dbm_buf f = DBM_BUF_INIT;
	size_t n;
	int found = 0;

	while (path && *path && !found) {
		n = strcspn(path, ":");
		dbm_buf_reset(&f);
		if (n == 0)
			dbm_buf_adds(&f, ".");	/* an empty entry: here */
		else
			dbm_buf_add(&f, path, n);
		dbm_buf_adds(&f, "/az");
		found = access(f.data, X_OK) == 0;
		path += n + (path[n] == ':');
	}
	dbm_buf_free(&f);
	return found;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

char *
dbm_azure_tenant_in(const char *location)
{
	const char *p;
	size_t n;

	if (location == NULL || (p = strstr(location, "://")) == NULL ||
	    (p = strchr(p + 3, '/')) == NULL)
		return NULL;
	n = strcspn(++p, "/?#");
	return n > 0 ? dbm_xstrndup(p, n) : NULL;
}

char *
dbm_azcli_tenant(const char *host)
{
	struct dbm_buf url = DBM_BUF_INIT;
	const char *ca;
	char *loc = NULL, *tenant = NULL;
	long status = 0;
	CURL *c;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((c = curl_easy_init()) == NULL) {
		curl_global_cleanup();
		return NULL;
	}
	dbm_buf_printf(&url, "%s/aad/auth", host);
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	ca = getenv("DBMLOPS_CA_BUNDLE");
	if (ca == NULL || *ca == '\0')
		ca = getenv("REQUESTS_CA_BUNDLE");
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (curl_easy_perform(c) == CURLE_OK &&
	    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	    status / 100 == 3 &&
	    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK)
		tenant = dbm_azure_tenant_in(loc);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	dbm_buf_free(&url);
	return tenant;
}

int
dbm_jwt_has_claim(const char *tok, const char *claim)
{
	const char *a, *z;
	unsigned char *bin;
	struct dbm_json j;
	struct dbm_err je;
	size_t n = 0;
	int has = 0;

	if (tok == NULL || (a = strchr(tok, '.')) == NULL ||
	    (z = strchr(++a, '.')) == NULL || z == a ||
	    (bin = dbm_b64url_decode(a, (size_t)(z - a), &n)) == NULL)
		return 0;
	if (n > 0 && dbm_json_parse(&j, (const char *)bin, n, "jwt",
	    &je) == 0) {
		has = dbm_json_member(&j, 0, claim) >= 0;
		dbm_json_free(&j);
	}
	dbm_zero(bin, n);
	free(bin);
	return has;
}

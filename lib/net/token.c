/*
 * Access tokens for the credentials auth.c resolved (PROTOCOL.md section 5):
 * a personal access token as it is; OAuth client credentials and workload
 * identity federation (a token exchange of an ID token) at the workspace's
 * token endpoint; an Entra ID service principal's tokens for Azure
 * Databricks and for the service management API; the Azure CLI's tokens
 * (azcli.c); the Databricks CLI's token cache, refreshed with its refresh
 * token. Tokens are cached in the struct dbm_auth that the workers share,
 * and refreshed a minute before they expire, so hours of waiting keep
 * valid ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>


#include "api/oidc.h"
#include "azcli.h"
#include "b64.h"
#include "http.h"
#include "token.h"

/* Workers share one struct dbm_auth: its token cache is guarded, and a
 * refresh happens once for all of them. */
static pthread_mutex_t token_mu = PTHREAD_MUTEX_INITIALIZER;

static void
trim(struct dbm_buf *b)
{
	while (b->len && strchr(" \t\r\n", b->data[b->len - 1]))
		b->data[--b->len] = '\0';
}

/* An authentication failure, with which credentials from where (never a
 * secret). */
static void
auth_failed(const struct dbm_auth *a, struct dbm_err *e)
{
	size_t l = strlen(e->msg);

	e->kind = DBM_E_AUTH;
	snprintf(e->msg + l, sizeof(e->msg) - l, " [auth %s. %s]",
	    dbm_auth_name(a) + 5, a->desc ? a->desc : "");
}

/* The token endpoint, from the workspace's OAuth metadata. */
static char *
token_endpoint(struct dbm_http *h, struct dbm_err *e)
{
	struct dbm_req r;
	struct dbm_resp resp = {0};
	struct dbm_json j;
	char *endpoint = NULL;

	dbm_req_init(&r, "GET", DBM_API_OIDC_METADATA);
	r.idempotent = 1;
	if (dbm_http_send(h, &r, &resp, 0, e) == 0 && dbm_json_parse(&j,
	    resp.body.data, resp.body.len, NULL, e) == 0) {
		endpoint = dbm_json_get_str(&j, "token_endpoint");
		dbm_json_free(&j);
		if (endpoint == NULL)
			dbm_errf(e, DBM_E_AUTH, "%s: no token_endpoint in the "
			    "OAuth server metadata", h->base);
	}
	dbm_resp_free(&resp);
	return endpoint;
}

/* An ID token from a URL (GitHub's or Azure DevOps' ID-token service),
 * asked with the job's request token; field names the answer's member. */
static char *
fetch_id_token(struct dbm_http *h, const char *method, const char *url,
    const char *reqtok, const char *field, const char *what,
    struct dbm_err *e)
{
	struct dbm_buf hdr = DBM_BUF_INIT;
	struct dbm_req r;
	struct dbm_resp resp = {0};
	struct dbm_json j;
	char *tok = NULL;

	dbm_buf_printf(&hdr, "Authorization: Bearer %s", reqtok);
	dbm_req_init(&r, method, url);
	r.headers[0] = hdr.data;
	r.idempotent = 1;
	if (strcmp(method, "POST") == 0) {
		r.content_type = "application/json";
		r.body = "";
	}
	if (dbm_http_send(h, &r, &resp, 0, e) == 0 && dbm_json_parse(&j,
	    resp.body.data, resp.body.len, NULL, e) == 0) {
		if ((tok = dbm_json_get_str(&j, field)) == NULL)
			dbm_errf(e, DBM_E_AUTH, "%s: no ID token in the answer",
			    what);
		dbm_json_free(&j);
	} else {
		e->kind = DBM_E_AUTH;
	}
	dbm_zero(hdr.data, hdr.len);
	dbm_zero(resp.body.data, resp.body.len);
	dbm_resp_free(&resp);
	dbm_buf_free(&hdr);
	return tok;
}

/* The ID token a workload identity federation source gives (malloc'd,
 * secret), for audience. */
static char *
id_token(struct dbm_http *h, const char *audience, struct dbm_err *e)
{
	struct dbm_auth *a = h->auth;
	struct dbm_buf b = DBM_BUF_INIT;
	const char *v;
	char *tok;

	if (strcmp(a->oidc, "env-oidc") == 0) {
		if ((v = getenv(a->oidc_source)) == NULL || *v == '\0') {
			dbm_errf(e, DBM_E_AUTH, "env-oidc: %s is empty",
			    a->oidc_source);
			return NULL;
		}
		return dbm_xstrdup(v);
	}
	if (strcmp(a->oidc, "file-oidc") == 0) {
		if (dbm_buf_read_file(&b, a->oidc_source, 1 << 20) < 0) {
			dbm_err_sys(e, "file-oidc: %s", a->oidc_source);
			e->kind = DBM_E_AUTH;
			dbm_buf_free(&b);
			return NULL;
		}
		trim(&b);
		return dbm_buf_detach(&b);
	}
	if (strcmp(a->oidc, "azure-devops-oidc") == 0) {
		/* the audience is Azure DevOps' own (api://AzureADTokenExchange) */
		if ((v = getenv("SYSTEM_ACCESSTOKEN")) == NULL || *v == '\0') {
			dbm_errf(e, DBM_E_AUTH, "azure-devops-oidc: "
			    "SYSTEM_ACCESSTOKEN is not set (map it into the "
			    "step: env: SYSTEM_ACCESSTOKEN: $(System.AccessToken))");
			return NULL;
		}
		return fetch_id_token(h, "POST", a->oidc_source, v, "oidcToken",
		    "azure-devops-oidc", e);
	}
	/* github-oidc: GitHub's ID-token URL, for the job's request token */
	if ((v = getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")) == NULL) {
		dbm_errf(e, DBM_E_AUTH, "github-oidc: "
		    "ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set");
		return NULL;
	}
	dbm_buf_printf(&b, "%s%saudience=", a->oidc_source,
	    strchr(a->oidc_source, '?') ? "&" : "?");
	dbm_url_encode(&b, audience, 0);
	tok = fetch_id_token(h, "GET", b.data, v, "value", "github-oidc", e);
	dbm_buf_free(&b);
	return tok;
}

/* POST a token request (a form; header, or NULL, e.g. client
 * authentication) to url: the access token and its expiry, and a refresh
 * token when refresh is not NULL. The form is wiped. */
static int
token_post(struct dbm_http *h, const char *url, struct dbm_buf *form,
    const char *header, char **tok, time_t *expiry, char **refresh,
    struct dbm_err *e)
{
	struct dbm_req r;
	struct dbm_resp resp = {0};
	struct dbm_json j;
	long long expires = 3600;
	char *s;
	int rc = -1;

	dbm_req_init(&r, "POST", url);
	r.headers[0] = header;
	r.content_type = "application/x-www-form-urlencoded";
	r.body = form->data;
	r.body_len = form->len;
	r.idempotent = 1;
	if (dbm_http_send(h, &r, &resp, 0, e) < 0) {
		auth_failed(h->auth, e);
		goto out;
	}
	if (dbm_json_parse(&j, resp.body.data, resp.body.len, NULL, e) < 0)
		goto out;
	*tok = dbm_json_get_str(&j, "access_token");
	/* a number, or a string (Entra ID's v1 endpoint) */
	if (dbm_json_get_int(&j, "expires_in", &expires) < 0 &&
	    (s = dbm_json_get_str(&j, "expires_in")) != NULL) {
		expires = atoll(s);
		free(s);
	}
	if (refresh)
		*refresh = dbm_json_get_str(&j, "refresh_token");
	dbm_json_free(&j);
	if (*tok == NULL) {
		dbm_errf(e, DBM_E_AUTH, "%s: no access_token in the token answer",
		    url);
		goto out;
	}
	*expiry = time(NULL) + (time_t)expires;
	rc = 0;
out:
	dbm_zero(form->data, form->len);
	dbm_zero(resp.body.data, resp.body.len);
	dbm_resp_free(&resp);
	return rc;
}

static int
due(const char *tok, time_t refresh_at)
{
	return tok == NULL || time(NULL) >= refresh_at;
}

/* oauth-m2m (client credentials) and workload identity federation (token
 * exchange), at the workspace's token endpoint. */
static int
databricks_token(struct dbm_http *h, struct dbm_err *e)
{
	struct dbm_auth *a = h->auth;
	struct dbm_buf form = DBM_BUF_INIT, basic = DBM_BUF_INIT;
	char *endpoint, *tok = NULL, *b64 = NULL, *idt = NULL;
	time_t exp;
	int rc = -1;
	size_t n;

	if ((endpoint = token_endpoint(h, e)) == NULL)
		return -1;
	if (a->kind == DBM_AUTH_OIDC) {
		if ((idt = id_token(h, a->token_audience ? a->token_audience :
		    endpoint, e)) == NULL)
			goto out;
		dbm_buf_adds(&form, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3A"
		    "grant-type%3Atoken-exchange&subject_token_type=urn%3Aietf"
		    "%3Aparams%3Aoauth%3Atoken-type%3Ajwt&scope=all-apis"
		    "&subject_token=");
		dbm_url_encode(&form, idt, 0);
		if (a->client_id) {
			dbm_buf_adds(&form, "&client_id=");
			dbm_url_encode(&form, a->client_id, 0);
		}
	} else {
		dbm_buf_adds(&form, "grant_type=client_credentials&scope=all-apis");
		/* client_id:client_secret, form-encoded then base64 (RFC 6749
		 * 2.3.1) */
		dbm_url_encode(&basic, a->client_id, 0);
		dbm_buf_addc(&basic, ':');
		dbm_url_encode(&basic, a->client_secret, 0);
		n = 4 * ((basic.len + 2) / 3) + 1;
		b64 = dbm_xmalloc(n + 32);
		strcpy(b64, "Authorization: Basic ");
		dbm_b64_encode_to(b64 + strlen(b64), basic.data, basic.len);
		dbm_zero(basic.data, basic.len);
	}
	if (token_post(h, endpoint, &form, b64, &tok, &exp, NULL, e) == 0) {
		dbm_auth_keep(&a->access_token, &a->expiry, tok, exp);
		rc = 0;
	}
out:
	dbm_free_secret(&b64);
	dbm_free_secret(&idt);
	dbm_buf_free(&form);
	dbm_buf_free(&basic);
	free(endpoint);
	return rc;
}

/* The Entra ID tenant of an Azure workspace, from where its login page
 * redirects (https://login.microsoftonline.com/<tenant>/oauth2/authorize),
 * as the SDKs find it when ARM_TENANT_ID is not set. */
static int
azure_tenant(struct dbm_http *h, struct dbm_err *e)
{
	struct dbm_auth *a = h->auth;
	struct dbm_req r;
	struct dbm_resp resp = {0};

	dbm_req_init(&r, "GET", DBM_API_AAD_AUTH);
	r.idempotent = 1;
	dbm_http_send(h, &r, &resp, 0, e);
	if (resp.status / 100 == 3)
		a->azure_tenant = dbm_azure_tenant_in(resp.location);
	dbm_resp_free(&resp);
	if (a->azure_tenant)
		return 0;
	dbm_errf(e, DBM_E_AUTH, "%s: cannot find the Entra ID tenant of %s "
	    "(its /aad/auth does not redirect to a login page): set "
	    "ARM_TENANT_ID (azure_tenant_id). %s", dbm_auth_name(a) + 5,
	    h->base, a->desc);
	return -1;
}

/* The audience of ID tokens that Entra ID takes as client assertions. */
#define ENTRA_AUDIENCE "api://AzureADTokenExchange"

/* An Entra ID token of the service principal for resource (client
 * credentials at <authority><tenant>/oauth2/token, as the SDKs ask: with
 * the secret, or the job's ID token as a client assertion). */
static int
azure_token(struct dbm_http *h, const char *resource, char **slot,
    time_t *slot_exp, struct dbm_err *e)
{
	struct dbm_auth *a = h->auth;
	struct dbm_buf url = DBM_BUF_INIT, form = DBM_BUF_INIT;
	char *tok;
	time_t exp;
	int rc;

	dbm_buf_printf(&url, "%s%s/oauth2/token", a->azure_authority,
	    a->azure_tenant);
	dbm_buf_adds(&form, "grant_type=client_credentials&client_id=");
	dbm_url_encode(&form, a->client_id, 0);
	if (a->client_secret) {
		dbm_buf_adds(&form, "&client_secret=");
		dbm_url_encode(&form, a->client_secret, 0);
	} else {	/* github-oidc-azure: the job's ID token (RFC 7523) */
		char *idt = id_token(h, ENTRA_AUDIENCE, e);

		if (idt == NULL) {
			dbm_buf_free(&url);
			dbm_buf_free(&form);
			return -1;
		}
		dbm_buf_adds(&form, "&client_assertion_type=urn%3Aietf%3Aparams"
		    "%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
		    "&client_assertion=");
		dbm_url_encode(&form, idt, 0);
		dbm_free_secret(&idt);
	}
	dbm_buf_adds(&form, "&resource=");
	dbm_url_encode(&form, resource, 0);
	rc = token_post(h, url.data, &form, NULL, &tok, &exp, NULL, e);
	if (rc == 0)
		dbm_auth_keep(slot, slot_exp, tok, exp);
	dbm_buf_free(&url);
	dbm_buf_free(&form);
	return rc;
}

static int
azure_tokens(struct dbm_http *h, struct dbm_err *e)
{
	struct dbm_auth *a = h->auth;

	if (a->azure_tenant == NULL && azure_tenant(h, e) < 0)
		return -1;
	if (due(a->access_token, a->expiry) && azure_token(h,
	    a->azure_login_app, &a->access_token, &a->expiry, e) < 0)
		return -1;
	/* the SDKs send a management token with a secret's tokens only */
	if (a->client_secret && due(a->mgmt_token, a->mgmt_expiry) &&
	    azure_token(h, a->azure_mgmt, &a->mgmt_token, &a->mgmt_expiry,
	    e) < 0)
		return -1;
	return 0;
}

/* azure-cli: the login's token for Azure Databricks, and, when the login
 * is a service principal's (no upn in that token), one for the management
 * endpoint, as the SDK adds it; a login that cannot get the second goes
 * without it, as with the SDK. */
static int
azure_cli_tokens(struct dbm_auth *a, struct dbm_err *e)
{
	struct dbm_err ignored;
	char *tok;
	time_t exp;

	if (due(a->access_token, a->expiry)) {
		if (dbm_azcli_token(a->azure_login_app, a->azure_resource,
		    a->azure_tenant, &a->azcli_mi, &tok, &exp, e) != 0) {
			auth_failed(a, e);
			return -1;
		}
		dbm_auth_keep(&a->access_token, &a->expiry, tok, exp);
	}
	if (a->azcli_mgmt == 0)
		a->azcli_mgmt = dbm_jwt_has_claim(a->access_token, "upn") ?
		    -1 : 1;
	if (a->azcli_mgmt == 1 && due(a->mgmt_token, a->mgmt_expiry)) {
		if (dbm_azcli_token(a->azure_mgmt, a->azure_resource,
		    a->azure_tenant, &a->azcli_mi, &tok, &exp, &ignored) == 0) {
			dbm_auth_keep(&a->mgmt_token, &a->mgmt_expiry, tok, exp);
		} else {
			a->azcli_mgmt = -1;
			dbm_free_secret(&a->mgmt_token);
		}
	}
	return 0;
}

/* Seconds since the epoch of a UTC calendar time (days from civil: no
 * timegm in POSIX). */
static time_t
utc(int y, int mon, int d, int h, int min, int sec)
{
	long long era, yoe, doy, doe;

	y -= mon <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (time_t)((era * 146097 + doe - 719468) * 86400 + h * 3600LL +
	    min * 60LL + sec);
}

/* RFC 3339 time of Go's encoding ("2026-11-26T18:00:00.123+01:00", "Z"). */
static time_t
rfc3339(const char *s)
{
	int y, mon, d, h, min, sec;
	const char *p;
	long off = 0;
	time_t t;

	if (s == NULL || strlen(s) < 19 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d",
	    &y, &mon, &d, &h, &min, &sec) != 6)
		return 0;
	t = utc(y, mon, d, h, min, sec);
	p = s + 19;
	while (*p == '.' || (*p >= '0' && *p <= '9'))
		p++;
	if (*p == '+' || *p == '-') {
		int hh = 0, mm = 0;

		sscanf(p + 1, "%2d:%2d", &hh, &mm);
		off = (hh * 60L + mm) * 60L * (*p == '-' ? -1 : 1);
	}
	return t - off;
}

/* The CLI's cache with entry key replaced by a new token, written as the
 * CLI writes it (0600, a temporary file renamed over it). */
static int
cli_store(const char *file, const struct dbm_json *j, const char *key,
    const char *tok, const char *refresh, time_t exp, struct dbm_err *e)
{
	struct dbm_buf out = DBM_BUF_INIT, tmp = DBM_BUF_INIT;
	struct dbm_jw w;
	struct tm tm;
	char when[40];
	int toks = dbm_json_member(j, 0, "tokens"), n, i, m, fd, rc = -1;

	gmtime_r(&exp, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	dbm_jw_init(&w, &out);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "version");
	dbm_jw_int(&w, 1);
	dbm_jw_key(&w, "tokens");
	dbm_jw_obj(&w);
	n = dbm_json_count(j, toks);
	for (i = 0, m = toks + 1; i < n; i++, m = dbm_json_skip(j, m + 1)) {
		char *k = dbm_json_strdup(j, m);
		size_t l;
		const char *raw = dbm_json_raw(j, m + 1, &l);

		if (k && strcmp(k, key) != 0) {
			dbm_jw_key(&w, k);
			dbm_jw_raw(&w, raw, l);
		}
		free(k);
	}
	dbm_jw_key(&w, key);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "access_token");
	dbm_jw_str(&w, tok);
	dbm_jw_key(&w, "token_type");
	dbm_jw_str(&w, "Bearer");
	dbm_jw_key(&w, "refresh_token");
	dbm_jw_str(&w, refresh);
	dbm_jw_key(&w, "expiry");
	dbm_jw_str(&w, when);
	dbm_jw_obj_end(&w);
	dbm_jw_obj_end(&w);
	dbm_jw_obj_end(&w);
	dbm_buf_addc(&out, '\n');
	dbm_buf_printf(&tmp, "%s.%ld.tmp", file, (long)getpid());
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, out.data, out.len) != (ssize_t)out.len ||
	    fsync(fd) < 0 || close(fd) < 0 || (fd = -1, rename(tmp.data,
	    file) < 0)) {
		dbm_err_sys(e, "databricks-cli: %s", file);
		if (fd >= 0)
			close(fd);
		unlink(tmp.data);
	} else {
		rc = 0;
	}
	dbm_zero(out.data, out.len);
	dbm_buf_free(&out);
	dbm_buf_free(&tmp);
	return rc;
}

/* databricks-cli: the access token `databricks auth login` cached for the
 * host, refreshed with its refresh token at the workspace's token endpoint
 * when it has expired (the CLI's client id, databricks-cli), the new pair
 * written back so the CLI and the next run use it. The cache is locked
 * while it is read and rewritten. */
static int
cli_token(struct dbm_http *h, struct dbm_err *e)
{
	struct dbm_auth *a = h->auth;
	struct dbm_buf in = DBM_BUF_INIT, form = DBM_BUF_INIT,
	    lockp = DBM_BUF_INIT;
	struct dbm_json j;
	char *tok = NULL, *refresh = NULL, *exps = NULL, *endpoint = NULL,
	    *newtok = NULL, *newref = NULL;
	time_t exp, newexp;
	int ent, lock, rc = -1;

	dbm_buf_printf(&lockp, "%s.lock", a->cli_cache);
	lock = open(lockp.data, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (lock >= 0)
		flock(lock, LOCK_EX);
	if (dbm_buf_read_file(&in, a->cli_cache, 16 << 20) < 0) {
		dbm_err_sys(e, "databricks-cli: %s", a->cli_cache);
		e->kind = DBM_E_AUTH;
		goto out;
	}
	if (dbm_json_parse(&j, in.data, in.len, a->cli_cache, e) < 0) {
		e->kind = DBM_E_AUTH;
		goto out;
	}
	ent = dbm_json_member(&j, dbm_json_member(&j, 0, "tokens"), a->cli_key);
	tok = dbm_json_strdup(&j, dbm_json_member(&j, ent, "access_token"));
	refresh = dbm_json_strdup(&j, dbm_json_member(&j, ent,
	    "refresh_token"));
	exps = dbm_json_strdup(&j, dbm_json_member(&j, ent, "expiry"));
	exp = rfc3339(exps);
	if (tok && exp > time(NULL) + 60) {
		dbm_auth_keep(&a->access_token, &a->expiry, tok, exp);
		tok = NULL;
		rc = 0;
	} else if (refresh == NULL) {
		dbm_errf(e, DBM_E_AUTH, "databricks-cli: %s has no token for %s%s: "
		    "run `databricks auth login --host %s`. %s", a->cli_cache,
		    a->cli_key, tok ? " that is still valid" : "", a->cli_key,
		    a->desc);
	} else if ((endpoint = token_endpoint(h, e)) != NULL) {
		dbm_buf_adds(&form, "grant_type=refresh_token&client_id="
		    "databricks-cli&refresh_token=");
		dbm_url_encode(&form, refresh, 0);
		if (token_post(h, endpoint, &form, NULL, &newtok, &newexp,
		    &newref, e) < 0) {
			size_t l = strlen(e->msg);

			snprintf(e->msg + l, sizeof(e->msg) - l, " (the cached "
			    "login has expired: run `databricks auth login "
			    "--host %s`)", a->cli_key);
		} else if (cli_store(a->cli_cache, &j, a->cli_key, newtok,
		    newref ? newref : refresh, newexp, e) == 0) {
			dbm_auth_keep(&a->access_token, &a->expiry, newtok, newexp);
			newtok = NULL;
			rc = 0;
		}
	}
	dbm_json_free(&j);
out:
	if (lock >= 0)
		close(lock);
	dbm_free_secret(&tok);
	dbm_free_secret(&refresh);
	dbm_free_secret(&newtok);
	dbm_free_secret(&newref);
	free(exps);
	free(endpoint);
	dbm_zero(in.data, in.len);
	dbm_buf_free(&in);
	dbm_buf_free(&form);
	dbm_buf_free(&lockp);
	return rc;
}

int
dbm_token_headers(struct dbm_http *h, struct dbm_buf *out, struct dbm_err *e)
{
	struct dbm_auth *a = h->auth;
	int rc = 0;

	if (a->kind == DBM_AUTH_PAT) {
		dbm_buf_printf(out, "Authorization: Bearer %s", a->token);
		return 0;
	}
	pthread_mutex_lock(&token_mu);
	if (a->kind == DBM_AUTH_AZURE)
		rc = azure_tokens(h, e);
	else if (a->kind == DBM_AUTH_AZURE_CLI)
		rc = azure_cli_tokens(a, e);
	else if (due(a->access_token, a->expiry))
		rc = a->kind == DBM_AUTH_CLI ? cli_token(h, e) :
		    databricks_token(h, e);
	if (rc == 0 && a->access_token)
		dbm_buf_printf(out, "Authorization: Bearer %s", a->access_token);
	/* as the SDKs send them: the management token lets the workspace
	 * add a new service principal itself */
	if (rc == 0 && a->mgmt_token)
		dbm_buf_printf(out, "\nX-Databricks-Azure-SP-Management-Token: %s",
		    a->mgmt_token);
	if (rc == 0 && a->azure_resource)
		dbm_buf_printf(out, "\nX-Databricks-Azure-Workspace-Resource-Id: "
		    "%s", a->azure_resource);
	pthread_mutex_unlock(&token_mu);
	return rc;
}

int
dbm_client_init(struct dbm_http *h, struct dbm_auth *auth, const char *tool,
    struct dbm_err *e)
{
	if (dbm_http_init(h, auth, tool, e) < 0)
		return -1;
	h->auth_headers = dbm_token_headers;
	return 0;
}

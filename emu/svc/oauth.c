/*
 * OAuth machine-to-machine for workspace-emu: the OIDC discovery document
 * and the client_credentials token endpoint. Issued tokens are signed with
 * a key kept in the data directory, so they stay valid across a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <curl/curl.h>

#include "emu.h"
#include "api.h"
#include "sha.h"

int
emu_oauth_init(struct emu *e)
{
	struct dbm_buf p = DBM_BUF_INIT;
	int fd, rc = -1;
	ssize_t n;

	dbm_buf_printf(&p, "%s/emu.key", e->datadir);
	fd = open(p.data, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, e->key, sizeof(e->key));
		close(fd);
		if (n == (ssize_t)sizeof(e->key)) {
			rc = 0;
			goto out;
		}
	}
	if (getrandom(e->key, sizeof(e->key), 0) != (ssize_t)sizeof(e->key))
		goto out;
	fd = open(p.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (write(fd, e->key, sizeof(e->key)) == (ssize_t)sizeof(e->key))
		rc = 0;
	close(fd);
out:
	dbm_buf_free(&p);
	return rc;
}

void
emu_sign(struct emu *e, const char *payload, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	HMAC(EVP_sha256(), e->key, (int)sizeof(e->key),
	    (const unsigned char *)payload, strlen(payload), md, &len);
	dbm_hex(md, len, hex);
}

/* Token: "emu1.<expiry>.<hex client id>.<hmac>". */
char *
emu_oauth_issue(struct emu *e, const char *client, long long expiry)
{
	struct dbm_buf b = DBM_BUF_INIT;
	char hex[65], *cid = dbm_xmalloc(2 * strlen(client) + 1);

	dbm_hex((const unsigned char *)client, strlen(client), cid);
	dbm_buf_printf(&b, "emu1.%lld.%s", expiry, cid);
	emu_sign(e, b.data, hex);
	dbm_buf_printf(&b, ".%s", hex);
	free(cid);
	return dbm_buf_detach(&b);
}

int
emu_oauth_check(struct emu *e, const char *token, char **client)
{
	const char *dot = strrchr(token, '.');
	char hex[65], *payload, *end;
	long long expiry;
	unsigned char diff = 0;
	size_t i;

	if (strncmp(token, "emu1.", 5) != 0 || dot == NULL ||
	    strlen(dot + 1) != 64)
		return 0;
	payload = dbm_xstrndup(token, (size_t)(dot - token));
	emu_sign(e, payload, hex);
	free(payload);
	for (i = 0; i < 64; i++)
		diff |= (unsigned char)(hex[i] ^ dot[1 + i]);
	if (diff)
		return 0;
	expiry = strtoll(token + 5, &end, 10);
	if (expiry <= (long long)time(NULL) || *end != '.')
		return 0;
	if (client) {	/* the hex client id between the two dots */
		const char *h = end + 1;
		size_t n = (size_t)(dot - h), k;
		char *c = dbm_xmalloc(n / 2 + 1);

		for (k = 0; k + 1 < n; k += 2) {
			char two[3] = {h[k], h[k + 1], 0};

			c[k / 2] = (char)strtol(two, NULL, 16);
		}
		c[n / 2] = '\0';
		*client = c;
	}
	return 1;
}

/* Decode n bytes of form encoding ('+' and %XX); malloc'd. */
static char *
url_decode(const char *s, size_t n)
{
	char *plus = dbm_xstrndup(s, n), *p, *out;

	for (p = plus; *p; p++)	/* form encoding: '+' is a space */
		if (*p == '+')
			*p = ' ';
	p = curl_easy_unescape(NULL, plus, 0, NULL);
	free(plus);
	if (p == NULL)
		dbm_errx(1, "out of memory");
	out = dbm_xstrdup(p);
	curl_free(p);
	return out;
}

/* Value of key in an application/x-www-form-urlencoded body (malloc'd). */
static char *
form_value(const char *body, size_t len, const char *key)
{
	size_t kl = strlen(key), i = 0;

	while (i < len) {
		size_t end = i;

		while (end < len && body[end] != '&')
			end++;
		if (end - i > kl && memcmp(body + i, key, kl) == 0 &&
		    body[i + kl] == '=')
			return url_decode(body + i + kl + 1, end - i - kl - 1);
		i = end + 1;
	}
	return NULL;
}

char *
emu_form_value(struct req *r, const char *key)
{
	return form_value(r->body.data, r->body.len, key);
}

static enum MHD_Result
oauth_error(struct req *r, unsigned int status, const char *err,
    const char *desc)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "error");
	dbm_jw_str(&w, err);
	dbm_jw_key(&w, "error_description");
	dbm_jw_str(&w, desc);
	dbm_jw_obj_end(&w);
	res = emu_reply_json(r, status, b.data);
	dbm_buf_free(&b);
	return res;
}

/* RFC 8693 token exchange: workload identity federation. */
static enum MHD_Result
exchange(struct req *r, const char *client)
{
	struct emu *e = r->emu;
	char *st = form_value(r->body.data, r->body.len, "subject_token");
	char *type = form_value(r->body.data, r->body.len,
	    "subject_token_type");
	const char *why = NULL;
	char *who, *tok;
	struct dbm_buf b = DBM_BUF_INIT;
	enum MHD_Result res;

	who = emu_federation_exchange(e, st, type, client, &why);
	if (who == NULL) {
		res = oauth_error(r, 400, "invalid_request", why);
	} else {
		tok = emu_oauth_issue(e, who, (long long)time(NULL) + e->token_ttl);
		dbm_buf_printf(&b, "{\"access_token\":\"%s\",\"token_type\":"
		    "\"Bearer\",\"expires_in\":%ld,\"scope\":\"all-apis\","
		    "\"issued_token_type\":\"urn:ietf:params:oauth:token-type:"
		    "access_token\"}", tok, e->token_ttl);
		res = emu_reply_json(r, 200, b.data);
		dbm_zero(b.data, b.len);
		dbm_buf_free(&b);
		free(tok);
		free(who);
	}
	if (st) {
		dbm_zero(st, strlen(st));
		free(st);
	}
	free(type);
	return res;
}

int
emu_oauth_refresh_init(struct emu *e, const char *file, const char **why)
{
	struct dbm_buf b = DBM_BUF_INIT;
	char *line, *save = NULL;

	if (file == NULL)
		return 0;
	if (dbm_buf_read_file(&b, file, 1 << 20) < 0) {
		*why = "cannot read --refresh-token-file";
		dbm_buf_free(&b);
		return -1;
	}
	for (line = strtok_r(b.data, "\r\n", &save); line;
	    line = strtok_r(NULL, "\r\n", &save)) {
		if (*line == '\0' || *line == '#')
			continue;
		e->refresh = dbm_xrealloc(e->refresh, (size_t)(e->nrefresh + 1) *
		    sizeof(*e->refresh));
		e->refresh[e->nrefresh++] = dbm_xstrdup(line);
	}
	dbm_zero(b.data, b.len);
	dbm_buf_free(&b);
	return 0;
}

/* The refresh_token grant of `databricks auth login`'s public client
 * (databricks-cli): a refresh token of --refresh-token-file or one this
 * emulator issued gives the workspace user's access token and a new
 * refresh token; anything else is the service's invalid_grant. */
static enum MHD_Result
refresh(struct req *r, const char *client)
{
	struct emu *e = r->emu;
	char *rt = form_value(r->body.data, r->body.len, "refresh_token");
	char *who = NULL, *tok, *next;
	struct dbm_buf b = DBM_BUF_INIT, p = DBM_BUF_INIT;
	enum MHD_Result res;
	int i, ok = 0;
	long long now = (long long)time(NULL);

	for (i = 0; rt && i < e->nrefresh; i++)
		ok |= strcmp(rt, e->refresh[i]) == 0;
	if (rt && !ok && emu_oauth_check(e, rt, &who)) {
		dbm_buf_printf(&p, "refresh|%s", e->user_name);
		ok = strcmp(who, p.data) == 0;
		free(who);
	}
	if (client == NULL || strcmp(client, "databricks-cli") != 0) {
		res = oauth_error(r, 401, "invalid_client",
		    "Client authentication failed");
	} else if (!ok) {
		res = oauth_error(r, 400, "invalid_grant",
		    "Refresh token is invalid");
	} else {
		tok = emu_oauth_issue(e, e->user_name, now + e->token_ttl);
		dbm_buf_reset(&p);
		dbm_buf_printf(&p, "refresh|%s", e->user_name);
		next = emu_oauth_issue(e, p.data, now + 90 * 86400LL);
		dbm_buf_printf(&b, "{\"access_token\":\"%s\",\"token_type\":"
		    "\"Bearer\",\"expires_in\":%ld,\"refresh_token\":\"%s\","
		    "\"scope\":\"all-apis offline_access\"}", tok, e->token_ttl,
		    next);
		res = emu_reply_json(r, 200, b.data);
		dbm_zero(b.data, b.len);
		dbm_zero(tok, strlen(tok));
		dbm_zero(next, strlen(next));
		free(tok);
		free(next);
	}
	if (rt) {
		dbm_zero(rt, strlen(rt));
		free(rt);
	}
	dbm_buf_free(&b);
	dbm_buf_free(&p);
	return res;
}

static enum MHD_Result
token(struct req *r)
{
	struct emu *e = r->emu;
	const char *auth = MHD_lookup_connection_value(r->conn,
	    MHD_HEADER_KIND, "Authorization");
	char *grant = form_value(r->body.data, r->body.len, "grant_type");
	char *id = NULL, *secret = NULL, *tok;
	struct dbm_buf b = DBM_BUF_INIT;
	enum MHD_Result res;
	int i, ok = 0;

	if (auth && strncasecmp(auth, "Basic ", 6) == 0) {
		const char *p = auth + 6;
		unsigned char *dec = dbm_xmalloc(strlen(p) + 1);
		long long n = dbm_b64_decode(p, strlen(p), dec);
		char *colon;

		if (n > 0) {
			dec[n] = '\0';
			if ((colon = strchr((char *)dec, ':')) != NULL) {
				*colon = '\0';
				/* both halves are form-encoded (RFC 6749) */
				id = url_decode((char *)dec, strlen((char *)dec));
				secret = url_decode(colon + 1, strlen(colon + 1));
			}
			dbm_zero(dec, (size_t)n);
		}
		free(dec);
	} else {
		id = form_value(r->body.data, r->body.len, "client_id");
		secret = form_value(r->body.data, r->body.len, "client_secret");
	}
	for (i = 0; id && secret && i < e->nclients; i++)
		if (strcmp(e->clients[i].id, id) == 0 &&
		    strcmp(e->clients[i].secret, secret) == 0)
			ok = 1;
	if (grant && strcmp(grant,
	    "urn:ietf:params:oauth:grant-type:token-exchange") == 0) {
		res = exchange(r, id);
	} else if (grant && strcmp(grant, "refresh_token") == 0) {
		res = refresh(r, id);
	} else if (grant == NULL || strcmp(grant, "client_credentials") != 0) {
		res = oauth_error(r, 400, "unsupported_grant_type",
		    "Only client_credentials, refresh_token and token-exchange "
		    "are supported");
	} else if (!ok) {
		res = oauth_error(r, 401, "invalid_client",
		    "Client authentication failed");
	} else {
		tok = emu_oauth_issue(e, id, (long long)time(NULL) + e->token_ttl);
		dbm_buf_printf(&b, "{\"access_token\":\"%s\",\"token_type\":"
		    "\"Bearer\",\"expires_in\":%ld,\"scope\":\"all-apis\"}",
		    tok, e->token_ttl);
		res = emu_reply_json(r, 200, b.data);
		dbm_zero(b.data, b.len);
		dbm_buf_free(&b);
		free(tok);
	}
	if (secret) {
		dbm_zero(secret, strlen(secret));
		free(secret);
	}
	free(id);
	free(grant);
	return res;
}

enum MHD_Result
emu_oauth(struct req *r)
{
	struct dbm_buf b = DBM_BUF_INIT;
	enum MHD_Result res;
	const char *u = r->emu->url;

	if (strcmp(r->path, "/oidc/v1/token") == 0)
		return token(r);
	if (strcmp(r->path, "/.well-known/databricks-config") == 0) {
		/* host metadata: newer SDKs find the OIDC root here */
		dbm_buf_printf(&b, "{\"oidc_endpoint\":\"%s/oidc\","
		    "\"account_id\":\"%s\",\"workspace_id\":\"%s\"}", u,
		    EMU_ACCOUNT_ID, EMU_WORKSPACE_ID);
		res = emu_reply_json(r, 200, b.data);
		dbm_buf_free(&b);
		return res;
	}
	dbm_buf_printf(&b, "{\"issuer\":\"%s/oidc\","
	    "\"authorization_endpoint\":\"%s/oidc/v1/authorize\","
	    "\"token_endpoint\":\"%s/oidc/v1/token\","
	    "\"grant_types_supported\":[\"client_credentials\","
	    "\"refresh_token\","
	    "\"urn:ietf:params:oauth:grant-type:token-exchange\"],"
	    "\"response_types_supported\":[\"code\"],"
	    "\"scopes_supported\":[\"all-apis\"],"
	    "\"token_endpoint_auth_methods_supported\":"
	    "[\"client_secret_basic\",\"client_secret_post\"]}", u, u, u);
	res = emu_reply_json(r, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

char *
emu_run_token(struct emu *e)
{
	if (e->ntokens > 0)
		return dbm_xstrdup(e->tokens[0]);
	if (e->nclients > 0)
		return emu_oauth_issue(e, e->clients[0].id, (long long)time(NULL) +
		    (e->token_ttl > 86400 ? e->token_ttl : 86400));
	return NULL;
}

/*
 * Workload identity federation for workspace-emu (PROTOCOL.md section 5):
 * the token-exchange grant of /oidc/v1/token, which takes an RS256 ID token
 * (JWT) from an issuer that a --federation-file policy trusts and checks its
 * signature, issuer, subject, audience and times; and stand-ins for the ID
 * token services of GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL:
 * /github-oidc/token) and Azure DevOps (its oidctoken API, under
 * /azure-devops/) that mint such tokens with the emulator's own key, so
 * CI flows run here end to end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "emu.h"
#include "api.h"

struct fed_policy {
	char *client_id;	/* the service principal, or "-": any */
	char *issuer;		/* "emu": this emulator's GitHub stand-in */
	char *subject;
	char *audience;		/* "-": the token endpoint */
	EVP_PKEY *key;		/* NULL: the emulator's own */
};

struct federation {
	struct fed_policy *p;
	int n;
	EVP_PKEY *own;		/* signs the stand-in's ID tokens */
	char *gh_token;		/* the stand-in's request token (secret) */
	char *gh_subject;
	char *ado_token;	/* Azure DevOps' (SYSTEM_ACCESSTOKEN; secret) */
	char *ado_subject;
};

static EVP_PKEY *
read_key(const char *path, int private)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		return NULL;
	k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL) :
	    PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

/* The emulator's own issuer key: made once, kept in the data directory. */
static EVP_PKEY *
own_key(struct emu *e)
{
	struct dbm_buf p = DBM_BUF_INIT;
	EVP_PKEY *k;
	FILE *f;

	dbm_buf_printf(&p, "%s/oidc-issuer.pem", e->datadir);
	if ((k = read_key(p.data, 1)) == NULL &&
	    (k = EVP_RSA_gen(2048)) != NULL) {
		mode_t old = umask(077);

		if ((f = fopen(p.data, "w")) != NULL) {
			PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
			fclose(f);
		}
		umask(old);
	}
	dbm_buf_free(&p);
	return k;
}

/* A request token from a file (its first line); NULL on error. */
static char *
read_token(const char *file)
{
	struct dbm_buf b = DBM_BUF_INIT;

	if (dbm_buf_read_file(&b, file, 4096) < 0) {
		dbm_buf_free(&b);
		return NULL;
	}
	while (b.len && strchr(" \t\r\n", b.data[b.len - 1]))
		b.data[--b.len] = '\0';
	return dbm_buf_detach(&b);
}

int
emu_federation_init(struct emu *e, const struct emu_fed_opts *o,
    const char **why)
{
	struct federation *f = dbm_xcalloc(1, sizeof(*f));
	const char *policy_file = o->policy_file;
	char line[4096];
	FILE *in;
	long n = 0;

	e->federation = f;
	f->gh_subject = dbm_xstrdup(o->gh_subject ? o->gh_subject :
	    "repo:dbmlops/example:ref:refs/heads/main");
	f->ado_subject = dbm_xstrdup(o->ado_subject ? o->ado_subject :
	    "sc://dbmlops/example/databricks");
	if (o->gh_token_file && (f->gh_token = read_token(o->gh_token_file)) ==
	    NULL) {
		*why = "cannot read --github-oidc-token-file";
		return -1;
	}
	if (o->ado_token_file && (f->ado_token =
	    read_token(o->ado_token_file)) == NULL) {
		*why = "cannot read --azure-devops-token-file";
		return -1;
	}
	if ((f->own = own_key(e)) == NULL) {
		*why = "cannot make the OIDC issuer key";
		return -1;
	}
	if (policy_file == NULL)
		return 0;
	if ((in = fopen(policy_file, "r")) == NULL) {
		*why = "cannot read --federation-file";
		return -1;
	}
	while (fgets(line, sizeof(line), in)) {
		char *w[5] = {0}, *save = NULL, *t;
		int k = 0;
		struct fed_policy *p;

		n++;
		for (t = strtok_r(line, " \t\r\n", &save); t && k < 5;
		    t = strtok_r(NULL, " \t\r\n", &save))
			w[k++] = t;
		if (k == 0 || w[0][0] == '#')
			continue;
		if (k < 3) {
			fclose(in);
			*why = "a policy is: client_id issuer subject [audience "
			    "[public-key.pem]]";
			return -1;
		}
		f->p = dbm_xrealloc(f->p, (size_t)(f->n + 1) * sizeof(*f->p));
		p = &f->p[f->n++];
		memset(p, 0, sizeof(*p));
		p->client_id = dbm_xstrdup(w[0]);
		p->issuer = dbm_xstrdup(w[1]);
		p->subject = dbm_xstrdup(w[2]);
		p->audience = dbm_xstrdup(k > 3 ? w[3] : "-");
		if (k > 4 && strcmp(w[4], "-") != 0 &&
		    (p->key = read_key(w[4], 0)) == NULL) {
			fclose(in);
			*why = "cannot read a policy's public key (PEM)";
			return -1;
		}
	}
	fclose(in);
	return 0;
}

void
emu_federation_free(struct emu *e)
{
	struct federation *f = e->federation;
	int i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		free(f->p[i].client_id);
		free(f->p[i].issuer);
		free(f->p[i].subject);
		free(f->p[i].audience);
		EVP_PKEY_free(f->p[i].key);
	}
	free(f->p);
	EVP_PKEY_free(f->own);
	if (f->gh_token) {
		dbm_zero(f->gh_token, strlen(f->gh_token));
		free(f->gh_token);
	}
	if (f->ado_token) {
		dbm_zero(f->ado_token, strlen(f->ado_token));
		free(f->ado_token);
	}
	free(f->gh_subject);
	free(f->ado_subject);
	free(f);
	e->federation = NULL;
}

/* The issuer of a stand-in's tokens: this emulator's URL and its path. */
static const char *
own_issuer(struct emu *e, const char *which, struct dbm_buf *b)
{
	dbm_buf_reset(b);
	dbm_buf_printf(b, "%s/%s", e->url, which);
	return b->data;
}

/* Whether the request carries the stand-in's request token. */
static int
bearer_is(struct req *r, const char *want)
{
	const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Authorization");

	return want && auth && strncasecmp(auth, "Bearer ", 7) == 0 &&
	    strcmp(auth + 7, want) == 0;
}

/* An RS256 ID token signed with the emulator's key (malloc'd), living ttl
 * seconds (negative: expired, for tests). */
static char *
mint(struct emu *e, const char *iss, const char *sub, const char *aud,
    long long ttl)
{
	struct federation *f = e->federation;
	struct dbm_buf hdr = DBM_BUF_INIT, pl = DBM_BUF_INIT, jwt = DBM_BUF_INIT;
	struct dbm_jw w;
	char *h64, *p64, *s64, *out = NULL;
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	long long now = (long long)time(NULL);
	EVP_MD_CTX *md;

	dbm_buf_adds(&hdr, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"emu\"}");
	dbm_jw_init(&w, &pl);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "iss");
	dbm_jw_str(&w, iss);
	dbm_jw_key(&w, "sub");
	dbm_jw_str(&w, sub);
	dbm_jw_key(&w, "aud");
	dbm_jw_str(&w, aud);
	dbm_jw_key(&w, "iat");
	dbm_jw_int(&w, now);
	dbm_jw_key(&w, "nbf");
	dbm_jw_int(&w, now - 5);
	dbm_jw_key(&w, "exp");
	dbm_jw_int(&w, now + ttl);
	dbm_jw_obj_end(&w);
	h64 = dbm_b64url_encode((unsigned char *)hdr.data, hdr.len);
	p64 = dbm_b64url_encode((unsigned char *)pl.data, pl.len);
	dbm_buf_printf(&jwt, "%s.%s", h64, p64);
	md = EVP_MD_CTX_new();
	if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
	    f->own) == 1 && EVP_DigestSign(md, sig, &siglen,
	    (unsigned char *)jwt.data, jwt.len) == 1) {
		s64 = dbm_b64url_encode(sig, siglen);
		dbm_buf_printf(&jwt, ".%s", s64);
		free(s64);
		out = dbm_buf_detach(&jwt);
	}
	EVP_MD_CTX_free(md);
	free(h64);
	free(p64);
	dbm_buf_free(&hdr);
	dbm_buf_free(&pl);
	dbm_buf_free(&jwt);
	return out;
}

/* Answer a stand-in's request: {"<field>": "<jwt>"[, extra]}. */
static enum MHD_Result
reply_token(struct req *r, const char *which, const char *sub,
    const char *aud, const char *field, const char *extra)
{
	struct dbm_buf iss = DBM_BUF_INIT, b = DBM_BUF_INIT;
	char *life = emu_param(r, "lifetime");
	char *jwt = mint(r->emu, own_issuer(r->emu, which, &iss), sub, aud,
	    life ? atoll(life) : 300);
	enum MHD_Result res;

	if (jwt == NULL) {
		res = emu_reply_error(r, 500, "INTERNAL_ERROR", "cannot sign");
	} else {
		dbm_buf_printf(&b, "{%s\"%s\":\"%s\"}", extra, field, jwt);
		res = emu_reply_json(r, 200, b.data);
	}
	free(jwt);
	free(life);
	dbm_buf_free(&iss);
	dbm_buf_free(&b);
	return res;
}

/* GET /github-oidc/token?audience=A: as GitHub's ID-token URL answers
 * ACTIONS_ID_TOKEN_REQUEST_URL, for its request token. `lifetime` (seconds,
 * may be negative) is the emulator's own, for tests of expiry. */
enum MHD_Result
emu_github_oidc(struct req *r)
{
	struct federation *f = r->emu->federation;
	char *aud = emu_param(r, "audience");
	enum MHD_Result res;

	if (f == NULL || !bearer_is(r, f->gh_token))
		res = emu_reply(r, 401, "application/json",
		    "{\"message\":\"Bad credentials\"}", 30);
	else
		res = reply_token(r, "github-oidc", f->gh_subject, aud ? aud :
		    "https://github.com/dbmlops", "value", "\"count\":1,");
	free(aud);
	return res;
}

/* POST /azure-devops/{org}/{project}/_apis/distributedtask/hubs/{hub}/
 * plans/{plan}/jobs/{job}/oidctoken: as Azure DevOps answers a job for its
 * System.AccessToken: {"oidcToken": ...}, audience fixed to
 * api://AzureADTokenExchange, subject the service connection's
 * (sc://org/project/connection). */
enum MHD_Result
emu_azure_devops_oidc(struct req *r)
{
	struct federation *f = r->emu->federation;
	size_t n = strlen(r->path);

	if (n < 10 || strcmp(r->path + n - 10, "/oidctoken") != 0 ||
	    strstr(r->path, "/_apis/distributedtask/hubs/") == NULL)
		return emu_reply(r, 404, "application/json",
		    "{\"message\":\"Not found\"}", 23);
	if (f == NULL || !bearer_is(r, f->ado_token))
		return emu_reply(r, 401, "text/plain", "Unauthorized", 12);
	return reply_token(r, "azure-devops", f->ado_subject,
	    "api://AzureADTokenExchange", "oidcToken", "");
}

/* The policy that trusts this issuer and subject for this client, if any
 * ("emu" and "emu-ado" stand for the emulator's own ID-token stand-ins). */
static const struct fed_policy *
find_policy(struct emu *e, const char *claim_iss, const char *sub,
    const char *client)
{
	struct federation *f = e->federation;
	struct dbm_buf iss = DBM_BUF_INIT;
	const struct fed_policy *found = NULL, *p;
	int i;

	for (i = 0; f && i < f->n && found == NULL; i++) {
		p = &f->p[i];
		if (strcmp(p->issuer, "emu") == 0 ? strcmp(claim_iss,
		    own_issuer(e, "github-oidc", &iss)) == 0 :
		    strcmp(p->issuer, "emu-ado") == 0 ? strcmp(claim_iss,
		    own_issuer(e, "azure-devops", &iss)) == 0 :
		    strcmp(claim_iss, p->issuer) == 0)
			if (strcmp(p->subject, sub) == 0 &&
			    (strcmp(p->client_id, "-") == 0 || (client &&
			    strcmp(p->client_id, client) == 0)))
				found = p;
	}
	dbm_buf_free(&iss);
	return found;
}

/* Whether the token's aud (a string or an array) names the audience the
 * policy allows ("-": the workspace's token endpoint). */
static int
audience_allowed(struct emu *e, struct dbm_json *jp,
    const struct fed_policy *found)
{
	struct dbm_buf endpoint = DBM_BUF_INIT;
	const char *want;
	char *one;
	int i, a, ok = 0;

	dbm_buf_printf(&endpoint, "%s/oidc/v1/token", e->url);
	want = strcmp(found->audience, "-") == 0 ? endpoint.data :
	    found->audience;
	a = dbm_json_member(jp, 0, "aud");
	for (i = 0; dbm_json_type(jp, a) == DBM_JSON_ARRAY &&
	    i < dbm_json_count(jp, a); i++) {
		one = dbm_json_strdup(jp, dbm_json_elem(jp, a, i));
		ok |= one && strcmp(one, want) == 0;
		free(one);
	}
	one = dbm_json_strdup(jp, a);
	ok |= one && strcmp(one, want) == 0;
	free(one);
	dbm_buf_free(&endpoint);
	return ok;
}

/* The claims of a JWT whose signature key checks it; why says what is
 * wrong (a static message) or the policy is returned. */
static const struct fed_policy *
check(struct emu *e, const char *tok, const char *client, char **sub,
    const char **why)
{
	struct federation *f = e->federation;
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') :
	    NULL;
	unsigned char *hdr = NULL, *pl = NULL, *sig = NULL;
	size_t nh, np, ns;
	struct dbm_json jh, jp;
	const struct fed_policy *found = NULL;
	char *alg = NULL, *claim_iss = NULL;
	long long exp = 0, nbf = 0, now = (long long)time(NULL);
	int have_h = 0, have_p = 0;
	EVP_MD_CTX *md = NULL;

	*why = "the subject token is not a JWT";
	if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') ||
	    (hdr = dbm_b64url_decode(tok, (size_t)(d1 - tok), &nh)) == NULL ||
	    (pl = dbm_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &np)) == NULL ||
	    (sig = dbm_b64url_decode(d2 + 1, strlen(d2 + 1), &ns)) == NULL ||
	    dbm_json_parse(&jh, (char *)hdr, nh, NULL, NULL) < 0)
		goto out;
	have_h = 1;
	if (dbm_json_parse(&jp, (char *)pl, np, NULL, NULL) < 0)
		goto out;
	have_p = 1;
	alg = dbm_json_get_str(&jh, "alg");
	if (alg == NULL || strcmp(alg, "RS256") != 0) {
		*why = "the subject token is not signed with RS256";
		goto out;
	}
	claim_iss = dbm_json_get_str(&jp, "iss");
	*sub = dbm_json_get_str(&jp, "sub");
	if (claim_iss == NULL || *sub == NULL) {
		*why = "the subject token has no iss or no sub claim";
		goto out;
	}
	found = find_policy(e, claim_iss, *sub, client);
	if (found == NULL) {
		*why = "no federation policy trusts the token's issuer and "
		    "subject for this client";
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    found->key ? found->key : f->own) != 1 ||
	    EVP_DigestVerify(md, sig, ns, (const unsigned char *)tok,
	    (size_t)(d2 - tok)) != 1) {
		*why = "the subject token's signature does not verify";
		found = NULL;
		goto out;
	}
	dbm_json_get_int(&jp, "exp", &exp);
	dbm_json_get_int(&jp, "nbf", &nbf);
	if (!audience_allowed(e, &jp, found)) {
		*why = "the subject token's audience is not one the federation "
		    "policy allows";
		found = NULL;
	} else if (exp <= now) {
		*why = "the subject token has expired";
		found = NULL;
	} else if (nbf > now + 30) {
		*why = "the subject token is not valid yet";
		found = NULL;
	}
out:
	if (have_h)
		dbm_json_free(&jh);
	if (have_p)
		dbm_json_free(&jp);
	EVP_MD_CTX_free(md);
	free(hdr);
	free(pl);
	free(sig);
	free(alg);
	free(claim_iss);
	return found;
}

/* The token-exchange grant (RFC 8693) of /oidc/v1/token; *principal gets
 * who the token is for (the service principal, else the subject). Returns
 * NULL and *why when the exchange is refused. */
char *
emu_federation_exchange(struct emu *e, const char *subject_token,
    const char *token_type, const char *client, const char **why)
{
	char *sub = NULL, *who;

	if (token_type == NULL ||
	    strcmp(token_type, "urn:ietf:params:oauth:token-type:jwt") != 0) {
		*why = "subject_token_type must be "
		    "urn:ietf:params:oauth:token-type:jwt";
		return NULL;
	}
	if (subject_token == NULL) {
		*why = "subject_token is required";
		return NULL;
	}
	if (check(e, subject_token, client, &sub, why) == NULL) {
		free(sub);
		return NULL;
	}
	who = dbm_xstrdup(client ? client : sub);
	free(sub);
	return who;
}

/* The issuer, subject and (first) audience of a JWT, for messages. */
static void
claims(const char *tok, struct dbm_buf *iss, struct dbm_buf *sub,
    struct dbm_buf *aud)
{
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') :
	    NULL;
	unsigned char *pl;
	struct dbm_json j;
	size_t np;
	char *v;
	int a;

	if (d2 == NULL || (pl = dbm_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1),
	    &np)) == NULL)
		return;
	if (dbm_json_parse(&j, (char *)pl, np, NULL, NULL) == 0) {
		if ((v = dbm_json_get_str(&j, "iss")) != NULL)
			dbm_buf_adds(iss, v);
		free(v);
		if ((v = dbm_json_get_str(&j, "sub")) != NULL)
			dbm_buf_adds(sub, v);
		free(v);
		a = dbm_json_member(&j, 0, "aud");
		if (dbm_json_type(&j, a) == DBM_JSON_ARRAY)
			a = dbm_json_elem(&j, a, 0);
		if ((v = dbm_json_strdup(&j, a)) != NULL)
			dbm_buf_adds(aud, v);
		free(v);
		dbm_json_free(&j);
	}
	free(pl);
}

int
emu_federation_assertion(struct emu *e, const char *jwt, const char *client,
    struct dbm_buf *msg)
{
	struct dbm_buf iss = DBM_BUF_INIT, sub = DBM_BUF_INIT,
	    aud = DBM_BUF_INIT;
	const struct fed_policy *p;
	const char *why;
	char *who = NULL;
	int code;

	p = check(e, jwt, client, &who, &why);
	free(who);
	if (p && strcmp(p->audience, ENTRA_AUDIENCE) == 0)
		return 0;
	if (p) {	/* a Databricks policy is no Entra credential */
		why = "the subject token's audience is not one the federation "
		    "policy allows";
	}
	if (strstr(why, "signature")) {
		code = 700027;
		dbm_buf_adds(msg, "Client assertion failed signature validation.");
	} else if (strstr(why, "expired") || strstr(why, "not valid yet")) {
		code = 700024;
		dbm_buf_adds(msg, "Client assertion is not within its valid "
		    "time range.");
	} else if (strstr(why, "policy")) {
		code = 70021;
		claims(jwt, &iss, &sub, &aud);
		dbm_buf_printf(msg, "No matching federated identity record found "
		    "for presented assertion. Assertion Issuer: '%s'. Assertion "
		    "Subject: '%s'. Assertion Audience: '%s'.", dbm_buf_str(&iss),
		    dbm_buf_str(&sub), dbm_buf_str(&aud));
	} else {
		code = 50027;
		dbm_buf_adds(msg, "JWT token is invalid or malformed.");
	}
	dbm_buf_free(&iss);
	dbm_buf_free(&sub);
	dbm_buf_free(&aud);
	return code;
}

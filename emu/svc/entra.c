/*
 * Entra ID for workspace-emu (PROTOCOL.md section 5): service principals
 * of an Azure tenant (--entra-file: "tenant client_id secret" a line), the
 * v1 token endpoint the SDKs' azure-client-secret uses
 * (/entra/<tenant>/oauth2/token: client credentials for a resource, with
 * the secret or a client assertion that a federated identity credential
 * trusts; Entra ID's AADSTS errors), reached by pointing AZURE_AUTHORITY_HOST at
 * <emulator>/entra; and the workspace side: /aad/auth redirects to the
 * tenant's login page (where clients find the tenant), a bearer token for
 * the Azure Databricks resource acts as its service principal, and the
 * X-Databricks-Azure-SP-Management-Token header, when sent, must be that
 * principal's token for the management endpoint.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu.h"
#include "api.h"
#include "http.h"

#define AZURE_DATABRICKS "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"
#define MANAGEMENT "https://management.core.windows.net/"
#define JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

struct entra_sp {
	char *tenant, *client, *secret;
};

struct entra {
	struct entra_sp *sp;
	int n;
};

int
emu_entra_init(struct emu *e, const char *file, const char **why)
{
	struct entra *x;
	struct dbm_buf b = DBM_BUF_INIT;
	char *line, *save = NULL;

	if (file == NULL)
		return 0;
	if (dbm_buf_read_file(&b, file, 1 << 20) < 0) {
		*why = "cannot read --entra-file";
		dbm_buf_free(&b);
		return -1;
	}
	x = e->entra = dbm_xcalloc(1, sizeof(*x));
	for (line = strtok_r(b.data, "\r\n", &save); line;
	    line = strtok_r(NULL, "\r\n", &save)) {
		char *w[3], *ws = NULL;
		int k;

		if (*line == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		for (k = 0; k < 3; k++)
			w[k] = strtok_r(k ? NULL : line, " \t", &ws);
		if (w[2] == NULL) {
			*why = "--entra-file: a line is: tenant client_id secret";
			dbm_zero(b.data, b.len);
			dbm_buf_free(&b);
			return -1;
		}
		x->sp = dbm_xrealloc(x->sp, (size_t)(x->n + 1) * sizeof(*x->sp));
		x->sp[x->n].tenant = dbm_xstrdup(w[0]);
		x->sp[x->n].client = dbm_xstrdup(w[1]);
		x->sp[x->n++].secret = dbm_xstrdup(w[2]);
	}
	dbm_zero(b.data, b.len);
	dbm_buf_free(&b);
	return 0;
}

void
emu_entra_free(struct emu *e)
{
	struct entra *x = e->entra;
	int i;

	if (x == NULL)
		return;
	for (i = 0; i < x->n; i++) {
		free(x->sp[i].tenant);
		free(x->sp[i].client);
		dbm_zero(x->sp[i].secret, strlen(x->sp[i].secret));
		free(x->sp[i].secret);
	}
	free(x->sp);
	free(x);
	e->entra = NULL;
}

/* Entra ID's error shape: {"error", "error_description": "AADSTS<n>: ...",
 * "error_codes": [n]}. */
static enum MHD_Result
aad_error(struct req *r, unsigned int status, const char *err, int code,
    const char *fmt, ...)
{
	struct dbm_buf b = DBM_BUF_INIT, d = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	va_list ap;

	dbm_buf_printf(&d, "AADSTS%d: ", code);
	va_start(ap, fmt);
	dbm_buf_vprintf(&d, fmt, ap);
	va_end(ap);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "error");
	dbm_jw_str(&w, err);
	dbm_jw_key(&w, "error_description");
	dbm_jw_str(&w, d.data);
	dbm_jw_key(&w, "error_codes");
	dbm_jw_arr(&w);
	dbm_jw_int(&w, code);
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	res = emu_reply_json(r, status, b.data);
	dbm_buf_free(&b);
	dbm_buf_free(&d);
	return res;
}

/* POST /entra/<tenant>/oauth2/token: client credentials (in the form, as
 * the SDKs send them) for a resource: Azure Databricks' application id or
 * the management endpoint. */
static enum MHD_Result
token(struct req *r, const char *tenant)
{
	struct emu *e = r->emu;
	struct entra *x = e->entra;
	char *grant = emu_form_value(r, "grant_type");
	char *id = emu_form_value(r, "client_id");
	char *secret = emu_form_value(r, "client_secret");
	char *resource = emu_form_value(r, "resource");
	char *atype = emu_form_value(r, "client_assertion_type");
	char *assertion = emu_form_value(r, "client_assertion");
	struct dbm_buf b = DBM_BUF_INIT, p = DBM_BUF_INIT, why = DBM_BUF_INIT;
	const struct entra_sp *sp = NULL;
	int i, known = 0, code = 0;
	long long now = (long long)time(NULL);
	enum MHD_Result res;

	for (i = 0; x && i < x->n; i++) {
		known |= strcmp(x->sp[i].tenant, tenant) == 0;
		if (id && strcmp(x->sp[i].tenant, tenant) == 0 &&
		    strcmp(x->sp[i].client, id) == 0)
			sp = &x->sp[i];
	}
	if (!known) {
		res = aad_error(r, 400, "invalid_request", 90002, "Tenant '%s' "
		    "not found. Check to make sure you have the correct tenant "
		    "ID and are signing into the correct cloud.", tenant);
	} else if (grant == NULL || strcmp(grant, "client_credentials") != 0) {
		res = aad_error(r, 400, "unsupported_grant_type", 70003, "The "
		    "app requested an unsupported grant type '%s'.",
		    grant ? grant : "");
	} else if (sp == NULL) {
		res = aad_error(r, 400, "unauthorized_client", 700016,
		    "Application with identifier '%s' was not found in the "
		    "directory '%s'.", id ? id : "", tenant);
	} else if (assertion && (atype == NULL || strcmp(atype,
	    JWT_BEARER) != 0)) {
		res = aad_error(r, 400, "invalid_request", 90014, "The required "
		    "field 'client_assertion_type' is missing from the "
		    "credential.");
	} else if (assertion && (code = emu_federation_assertion(e, assertion,
	    id, &why)) != 0) {
		/* a federated identity credential (workload identity) */
		res = aad_error(r, code == 700027 ? 401 : 400, code == 70021 ||
		    code == 50027 ? "invalid_request" : "invalid_client", code,
		    "%s", why.data);
	} else if (!assertion && (secret == NULL || strcmp(sp->secret, "-") ==
	    0 || strcmp(secret, sp->secret) != 0)) {
		res = aad_error(r, 401, "invalid_client", 7000215, "Invalid "
		    "client secret provided. Ensure the secret being sent in the "
		    "request is the client secret value, not the client secret "
		    "ID, for a secret added to app '%s'.", id);
	} else if (resource == NULL) {
		res = aad_error(r, 400, "invalid_request", 900144, "The request "
		    "body must contain the following parameter: 'resource'.");
	} else if (strcmp(resource, AZURE_DATABRICKS) != 0 &&
	    strcmp(resource, MANAGEMENT) != 0) {
		res = aad_error(r, 400, "invalid_resource", 500011, "The "
		    "resource principal named %s was not found in the tenant "
		    "named %s.", resource, tenant);
	} else {
		char *tok;

		dbm_buf_printf(&p, "aad|%s|%s", resource, id);
		tok = emu_oauth_issue(e, p.data, now + e->token_ttl);
		/* v1: times as strings */
		dbm_buf_printf(&b, "{\"token_type\":\"Bearer\",\"expires_in\":"
		    "\"%ld\",\"ext_expires_in\":\"%ld\",\"expires_on\":\"%lld\","
		    "\"not_before\":\"%lld\",\"resource\":", e->token_ttl,
		    e->token_ttl, now + e->token_ttl, now);
		dbm_json_quote(&b, resource, strlen(resource));
		dbm_buf_printf(&b, ",\"access_token\":\"%s\"}", tok);
		res = emu_reply_json(r, 200, b.data);
		dbm_zero(b.data, b.len);
		dbm_zero(tok, strlen(tok));
		free(tok);
	}
	if (secret) {
		dbm_zero(secret, strlen(secret));
		free(secret);
	}
	if (assertion) {
		dbm_zero(assertion, strlen(assertion));
		free(assertion);
	}
	free(atype);
	free(grant);
	free(id);
	free(resource);
	dbm_buf_free(&b);
	dbm_buf_free(&p);
	dbm_buf_free(&why);
	return res;
}

enum MHD_Result
emu_entra(struct req *r)
{
	struct emu *e = r->emu;
	struct dbm_buf b = DBM_BUF_INIT, t = DBM_BUF_INIT;
	enum MHD_Result res;
	const char *rest;
	size_t n;

	if (strcmp(r->path, "/aad/auth") == 0) {
		/* an Azure workspace's login page: to its tenant's authority */
		if (e->entra == NULL || e->entra->n == 0)
			return emu_reply_error(r, 404, "ENDPOINT_NOT_FOUND",
			    "This workspace is not on Azure (no --entra-file)");
		dbm_buf_printf(&b, "https://login.microsoftonline.com/%s/oauth2/"
		    "authorize?response_type=code&client_id=" AZURE_DATABRICKS
		    "&redirect_uri=", e->entra->sp[0].tenant);
		dbm_url_encode(&b, e->url, 0);
		dbm_buf_adds(&b, "%2Faad%2Fredirect");
		res = emu_reply_redirect(r, 302, b.data);
		dbm_buf_free(&b);
		return res;
	}
	/* /entra/<tenant>/oauth2/token */
	rest = r->path + strlen("/entra/");
	n = strcspn(rest, "/");
	if (strcmp(r->method, "POST") != 0 || n == 0 ||
	    strcmp(rest + n, "/oauth2/token") != 0)
		return aad_error(r, 404, "invalid_request", 900561, "The "
		    "endpoint only accepts POST requests to "
		    "/<tenant>/oauth2/token.");
	dbm_buf_add(&t, rest, n);
	res = token(r, t.data);
	dbm_buf_free(&t);
	return res;
}

int
emu_entra_workspace(struct emu *e, char **principal, const char *mgmt)
{
	const char *p = *principal + 4, *bar = strchr(p, '|');
	char *client, *who = NULL;
	struct dbm_buf want = DBM_BUF_INIT;
	int ok;

	if (bar == NULL || (size_t)(bar - p) != strlen(AZURE_DATABRICKS) ||
	    strncmp(p, AZURE_DATABRICKS, (size_t)(bar - p)) != 0)
		return 0;	/* a token for another resource */
	client = dbm_xstrdup(bar + 1);
	ok = 1;
	if (mgmt) {
		while (*mgmt == ' ')
			mgmt++;
		dbm_buf_printf(&want, "aad|" MANAGEMENT "|%s", client);
		ok = emu_oauth_check(e, mgmt, &who) && strcmp(who,
		    want.data) == 0;
		free(who);
		dbm_buf_free(&want);
	}
	if (!ok) {
		free(client);
		return 0;
	}
	free(*principal);
	*principal = client;
	return 1;
}

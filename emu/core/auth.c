/*
 * workspace-emu's credential check, made once per request before dispatch:
 * a bearer token is one of the configured personal access tokens or a
 * token the services issued (e->issued: OAuth and Entra ID tokens, see
 * routes.c). Personal access tokens act as the workspace user
 * (--user-name); issued tokens as their principal.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "buf.h"
#include "emu.h"

/* Basic credentials "token:<token>" (how a browser sends a token; the
 * user name is the word token, as for Databricks' git and JDBC logins):
 * the token, malloc'd, or NULL. */
static char *
basic_token(const char *hdr)
{
	const char *b = hdr + 6;
	unsigned char *raw;
	long long n;
	char *tok = NULL;
	size_t len;

	while (*b == ' ')
		b++;
	len = strlen(b);
	if (len > 8192)
		return NULL;
	raw = dbm_xmalloc(3 * (len / 4) + 4);
	n = dbm_b64_decode(b, len, raw);
	if (n > 6 && memcmp(raw, "token:", 6) == 0 &&
	    memchr(raw, '\0', (size_t)n) == NULL)
		tok = dbm_xstrndup((char *)raw + 6, (size_t)n - 6);
	dbm_zero(raw, n > 0 ? (size_t)n : 0);
	free(raw);
	return tok;
}

int
emu_auth_bearer(struct emu *e, const char *hdr, const char *mgmt, int *sent,
    char **principal)
{
	char *basic;
	int ok;

	*sent = 0;
	if (hdr && strncasecmp(hdr, "Basic ", 6) == 0 && e != NULL &&
	    (basic = basic_token(hdr)) != NULL) {
		*sent = 1;
		ok = emu_auth_token(e, basic, mgmt, principal);
		dbm_zero(basic, strlen(basic));
		free(basic);
		return ok;
	}
	if (hdr == NULL || strncasecmp(hdr, "Bearer ", 7) != 0)
		return 0;
	*sent = 1;
	hdr += 7;
	while (*hdr == ' ')
		hdr++;
	return emu_auth_token(e, hdr, mgmt, principal);
}

int
emu_auth_token(struct emu *e, const char *tok, const char *mgmt,
    char **principal)
{
	int i;

	for (i = 0; i < e->ntokens; i++) {
		const char *t = e->tokens[i];
		size_t a = strlen(t), b = strlen(tok), k;
		unsigned char diff = (unsigned char)(a != b);

		/* compare without an early exit */
		for (k = 0; k < a && k < b; k++)
			diff |= (unsigned char)(t[k] ^ tok[k]);
		if (diff == 0) {
			*principal = dbm_xstrdup(e->user_name);
			return 1;
		}
	}
	return e->issued != NULL && e->issued(e, tok, mgmt, principal);
}

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

#include "emu.h"

int
emu_auth_bearer(struct emu *e, const char *hdr, const char *mgmt, int *sent,
    char **principal)
{
	const char *tok;
	int i;

	*sent = 0;
	if (hdr == NULL || strncasecmp(hdr, "Bearer ", 7) != 0)
		return 0;
	*sent = 1;
	tok = hdr + 7;
	while (*tok == ' ')
		tok++;
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

/*
 * workspace-emu's credential check, made once per request before dispatch:
 * a bearer token is one of the configured personal access tokens or an
 * OAuth token this emulator issued (oauth.c). Tokens act as the
 * workspace user (--user-name); OAuth tokens as their service principal,
 * named by its client id (application id), as on the real service; Entra
 * ID tokens for Azure Databricks as theirs (entra.c checks them and the
 * management token beside them).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "api.h"

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
	if (!emu_oauth_check(e, tok, principal))
		return 0;
	/* issued tokens that are not workspace credentials: a refresh
	 * token, or an Entra ID token for another resource */
	if (strncmp(*principal, "refresh|", 8) == 0 ||
	    (strncmp(*principal, "aad|", 4) == 0 &&
	    !emu_entra_workspace(e, principal, mgmt))) {
		free(*principal);
		*principal = NULL;
		return 0;
	}
	return 1;
}

/* Base64 and base64url: see b64.h. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "buf.h"

size_t
dbm_b64_encode_to(char *out, const void *p, size_t n)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

char *
dbm_b64_encode(const void *p, size_t n)
{
	char *out = dbm_xmalloc(4 * ((n + 2) / 3) + 1);

	dbm_b64_encode_to(out, p, n);
	return out;
}

long long
dbm_b64_decode(const char *s, size_t n, unsigned char *out)
{
	EVP_ENCODE_CTX *ctx;
	int a = 0, b = 0, ok;

	if (n > INT_MAX || memchr(s, '\0', n) != NULL)
		return -1;
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		return -1;
	/* the streaming decoder, unlike EVP_DecodeBlock, knows the padding:
	 * the length is the data's, not a multiple of 3 */
	EVP_DecodeInit(ctx);
	ok = EVP_DecodeUpdate(ctx, out, &a, (const unsigned char *)s,
	    (int)n) >= 0 && EVP_DecodeFinal(ctx, out + a, &b) >= 0;
	EVP_ENCODE_CTX_free(ctx);
	return ok ? (long long)a + b : -1;
}

char *
dbm_b64url_encode(const void *p, size_t n)
{
	char *s = dbm_b64_encode(p, n), *q;

	for (q = s; *q; q++)
		if (*q == '+')
			*q = '-';
		else if (*q == '/')
			*q = '_';
	while (q > s && q[-1] == '=')
		*--q = '\0';
	return s;
}

unsigned char *
dbm_b64url_decode(const char *s, size_t n, size_t *out)
{
	char *t = dbm_xmalloc(n + 4);
	unsigned char *bin = dbm_xmalloc(n + 4);
	size_t i;
	long long len;

	for (i = 0; i < n; i++) {
		if (s[i] == '+' || s[i] == '/' || s[i] == '=') {
			free(t);
			free(bin);
			return NULL;	/* not base64url */
		}
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	}
	while (i % 4)
		t[i++] = '=';
	len = dbm_b64_decode(t, i, bin);
	dbm_zero(t, i);		/* it may be a token's claims */
	free(t);
	if (len < 0) {
		free(bin);
		return NULL;
	}
	*out = (size_t)len;
	return bin;
}

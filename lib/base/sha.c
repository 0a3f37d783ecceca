/* SHA-256: see sha.h. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "sha.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((struct dbm_sha256 *)0)->ctx),
    "SHA256_CTX does not fit");

void
dbm_sha256_init(struct dbm_sha256 *s)
{
	SHA256_Init((SHA256_CTX *)(void *)s->ctx);
}

void
dbm_sha256_update(struct dbm_sha256 *s, const void *p, size_t n)
{
	SHA256_Update((SHA256_CTX *)(void *)s->ctx, p, n);
}

void
dbm_sha256_final(struct dbm_sha256 *s, unsigned char md[DBM_SHA256_LEN])
{
	SHA256_Final(md, (SHA256_CTX *)(void *)s->ctx);
}

void
dbm_hex(const unsigned char *md, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

void
dbm_sha256_hex(const void *p, size_t n, char hex[65])
{
	struct dbm_sha256 s;
	unsigned char md[DBM_SHA256_LEN];

	dbm_sha256_init(&s);
	dbm_sha256_update(&s, p, n);
	dbm_sha256_final(&s, md);
	dbm_hex(md, sizeof(md), hex);
}

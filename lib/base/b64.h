/*
 * Base64 (RFC 4648 section 4, padded) and base64url (section 5, without
 * padding, as JWTs have it), with OpenSSL's codec underneath.
 */
#ifndef DBM_B64_H
#define DBM_B64_H

#include <stddef.h>

/* The encoding of p[0..n), malloc'd and terminated. */
char *dbm_b64_encode(const void *p, size_t n);
/* Encode into out, which holds 4 * ((n + 2) / 3) + 1 bytes; its length. */
size_t dbm_b64_encode_to(char *out, const void *p, size_t n);
/* Decode s[0..n) into out (3 * (n / 4) + 3 bytes): the length, or -1
 * when s is not base64. */
long long dbm_b64_decode(const char *s, size_t n, unsigned char *out);

/* base64url of p[0..n), no padding, malloc'd. */
char *dbm_b64url_encode(const void *p, size_t n);
/* Decode base64url s[0..n) (no padding, no '+', '/' or '='): malloc'd
 * bytes and their number in *out, or NULL when s is not base64url. */
unsigned char *dbm_b64url_decode(const char *s, size_t n, size_t *out);

#endif

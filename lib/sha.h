/*
 * SHA-256 from OpenSSL's libcrypto. The low-level interface is used on
 * purpose: the EVP one loads openssl.cnf and a provider on first use, which
 * costs more than a whole branch-name run; both share the same assembly.
 */
#ifndef DBM_SHA_H
#define DBM_SHA_H

#include <stddef.h>

#define DBM_SHA256_LEN 32

struct dbm_sha256 {
	unsigned char ctx[128];	/* an OpenSSL SHA256_CTX (112 bytes) */
};

void dbm_sha256_init(struct dbm_sha256 *s);
void dbm_sha256_update(struct dbm_sha256 *s, const void *p, size_t n);
void dbm_sha256_final(struct dbm_sha256 *s, unsigned char md[DBM_SHA256_LEN]);
/* One shot; hex is 65 bytes (NUL-terminated lowercase hex). */
void dbm_sha256_hex(const void *p, size_t n, char hex[65]);
void dbm_hex(const unsigned char *md, size_t n, char *out);

#endif

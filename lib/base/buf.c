/* Growable buffers and checked allocation: see buf.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "buf.h"

static _Noreturn void
oom(void)
{
	fputs("out of memory\n", stderr);
	abort();
}

void *
dbm_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
dbm_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
dbm_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

char *
dbm_xstrdup(const char *s)
{
	return dbm_xstrndup(s, strlen(s));
}

char *
dbm_xstrndup(const char *s, size_t n)
{
	char *p = dbm_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
dbm_buf_grow(struct dbm_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (need < b->len)
		oom();
	b->cap = b->cap ? b->cap : 64;
	while (b->cap < need)
		b->cap *= 2;
	b->data = dbm_xrealloc(b->data, b->cap);
	b->data[b->len] = '\0';	/* a string even before the first add */
}

void
dbm_buf_add(struct dbm_buf *b, const void *p, size_t n)
{
	dbm_buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
dbm_buf_adds(struct dbm_buf *b, const char *s)
{
	dbm_buf_add(b, s, strlen(s));
}

void
dbm_buf_addc(struct dbm_buf *b, char c)
{
	dbm_buf_add(b, &c, 1);
}

void
dbm_buf_vprintf(struct dbm_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	/* into the room there is (as git's strbuf does); formatted a second
	 * time only when it did not fit */
	dbm_buf_grow(b, 64);
	va_copy(aq, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, aq);
	va_end(aq);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		dbm_buf_grow(b, (size_t)n);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
}

void
dbm_buf_printf(struct dbm_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dbm_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
dbm_buf_reset(struct dbm_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

const char *
dbm_buf_str(const struct dbm_buf *b)
{
	return b->data ? b->data : "";
}

char *
dbm_buf_detach(struct dbm_buf *b)
{
	char *p = b->data ? b->data : dbm_xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
dbm_buf_free(struct dbm_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
dbm_zero(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

void
dbm_free_secret(char **p)
{
	if (*p) {
		dbm_zero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

double
dbm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long long
dbm_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
dbm_buf_read(struct dbm_buf *b, FILE *f, size_t max)
{
	char chunk[65536];
	size_t n;

	dbm_buf_grow(b, 0);	/* a string even when f is empty */
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (max && b->len + n > max) {
			errno = EFBIG;
			return -1;
		}
		dbm_buf_add(b, chunk, n);
	}
	return ferror(f) ? -1 : 0;
}

int
dbm_buf_read_file(struct dbm_buf *b, const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	int rc, saved;

	if (f == NULL)
		return -1;
	rc = dbm_buf_read(b, f, max);
	saved = errno;
	fclose(f);
	errno = saved;
	return rc;
}

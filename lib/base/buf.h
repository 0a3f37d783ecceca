/*
 * A growable byte buffer, always NUL-terminated. Allocation failure aborts:
 * the tools cannot do anything useful without memory.
 */
#ifndef DBM_BUF_H
#define DBM_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct dbm_buf {
	char *data;	/* owned; NULL until the first append */
	size_t len;
	size_t cap;
};

#define DBM_BUF_INIT {NULL, 0, 0}

void dbm_buf_grow(struct dbm_buf *b, size_t extra);
void dbm_buf_add(struct dbm_buf *b, const void *p, size_t n);
void dbm_buf_adds(struct dbm_buf *b, const char *s);
void dbm_buf_addc(struct dbm_buf *b, char c);
void dbm_buf_printf(struct dbm_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void dbm_buf_vprintf(struct dbm_buf *b, const char *fmt, va_list ap);
void dbm_buf_reset(struct dbm_buf *b);
/* The contents ("" when empty); valid until the next change. */
const char *dbm_buf_str(const struct dbm_buf *b);
/* Hand the string to the caller (to free) and reset b. */
char *dbm_buf_detach(struct dbm_buf *b);
void dbm_buf_free(struct dbm_buf *b);

/* Checked allocation helpers (abort on failure). */
void *dbm_xmalloc(size_t n);
void *dbm_xcalloc(size_t n, size_t size);
void *dbm_xrealloc(void *p, size_t n);
char *dbm_xstrdup(const char *s);
char *dbm_xstrndup(const char *s, size_t n);

/* Append all of stream f to b, at most max bytes (0: no limit).
 * 0, or -1 with errno (EFBIG past max). */
int dbm_buf_read(struct dbm_buf *b, FILE *f, size_t max);
/* The same for the file at path. */
int dbm_buf_read_file(struct dbm_buf *b, const char *path, size_t max);
/* The most a configuration or environment file read whole may hold: a
 * cluster.json or conda.yaml is kilobytes, /dev/zero is not. */
#define DBM_CONFIG_MAX ((size_t)16 << 20)

/* Overwrite memory that held a secret (OPENSSL_cleanse: not optimised
 * away). */
void dbm_zero(void *p, size_t n);
/* Overwrite the string *p holds, free it, and set *p to NULL. */
void dbm_free_secret(char **p);

/* Seconds on the monotonic clock, for deadlines and durations. */
double dbm_now(void);
/* Milliseconds since the epoch, on the wall clock: for records and the
 * service's timestamps, never for durations. */
long long dbm_epoch_ms(void);

#endif

/*
 * A streaming multipart/form-data parser (RFC 7578 over RFC 2046) for the
 * dbfs/put upload: parts arrive as the body does, in the pieces the server
 * reads, and a part's data goes to the callback straight from those pieces
 * (no copy). Delimiters are found with memmem(3); a piece that ends inside
 * what could be a delimiter keeps at most its length back. It replaces
 * libmicrohttpd's post processor here, which copied every byte and stopped
 * at every CR: on a 200 MiB upload that was a sixth of the emulator's time.
 */
#define _GNU_SOURCE		/* memmem: POSIX.1-2024; glibc 2.36 declares it here */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "multipart.h"

#define LINE_MAX_ 128		/* the rest of a delimiter line */

enum { BODY, AFTER, HEADERS, DONE, FAILED };

/* The boundary of a Content-Type value, unquoted, into out. */
static int
boundary_of(const char *ct, char *out, size_t cap)
{
	const char *p = ct;
	size_t n = 0;

	if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0)
		return -1;
	for (p = ct + 19; (p = strchr(p, ';')) != NULL; ) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9) != 0)
			continue;
		p += 9;
		if (*p == '"') {
			for (p++; *p && *p != '"' && n + 1 < cap; p++)
				out[n++] = *p == '\\' && p[1] ? *++p : *p;
			if (*p != '"')
				return -1;
		} else {
			while (*p && *p != ';' && *p != ' ' && *p != '\t' &&
			    n + 1 < cap)
				out[n++] = *p++;
			if (*p && *p != ';' && *p != ' ' && *p != '\t')
				return -1;
		}
		out[n] = '\0';
		/* RFC 2046: 1 to 70 characters */
		return n >= 1 && n <= 70 ? 0 : -1;
	}
	return -1;
}

int
emu_mp_init(struct emu_mp *m, const char *content_type, emu_mp_cb cb,
    void *arg)
{
	char b[LINE_MAX_];

	memset(m, 0, sizeof(*m));
	if (boundary_of(content_type, b, sizeof(b)) < 0)
		return -1;
	/* the body is read as if it began with CRLF, so the first boundary
	 * line is a delimiter like the others (and a preamble a part of
	 * nobody's) */
	m->dlen = (size_t)snprintf(m->delim, sizeof(m->delim), "\r\n--%s", b);
	memcpy(m->carry, "\r\n", 2);
	m->ncarry = 2;
	m->state = BODY;
	m->preamble = 1;
	m->cb = cb;
	m->arg = arg;
	return 0;
}

/* The value of parameter key in a Content-Disposition value (malloc'd). */
static char *
param(const char *v, const char *key)
{
	size_t k = strlen(key);
	const char *p = v;

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, key, k) != 0 || p[k] != '=')
			continue;
		p += k + 1;
		if (*p == '"') {
			const char *e = ++p;
			char *out, *o;

			while (*e && *e != '"')
				e += *e == '\\' && e[1] ? 2 : 1;
			o = out = malloc((size_t)(e - p) + 1);
			if (out == NULL)
				return NULL;
			while (p < e) {
				if (*p == '\\' && p + 1 < e)
					p++;
				*o++ = *p++;
			}
			*o = '\0';
			return out;
		}
		return strndup(p, strcspn(p, "; \t"));
	}
	return NULL;
}

/* A part's header block (CRLF-separated lines) read: its name and whether
 * it is a file. */
static int
part_begins(struct emu_mp *m)
{
	char *line = m->hdr, *next;

	free(m->name);
	m->name = NULL;
	m->file = 0;
	m->hdr[m->nhdr] = '\0';
	for (; line && *line; line = next) {
		next = strstr(line, "\r\n");
		if (next) {
			*next = '\0';
			next += 2;
		}
		if (strncasecmp(line, "Content-Disposition:", 20) == 0) {
			char *f = param(line + 20, "filename");

			m->file = f != NULL;
			free(f);
			free(m->name);	/* the last of several counts */
			m->name = param(line + 20, "name");
		}
	}
	return 0;
}

static int
emit(struct emu_mp *m, const char *d, size_t n)
{
	if (n == 0 || m->preamble)
		return 0;
	return m->cb(m->arg, m->name ? m->name : "", m->file, d, n);
}

/* Body bytes: data up to the next delimiter; returns how many of d were
 * used, or -1. */
static long
body(struct emu_mp *m, const char *d, size_t n)
{
	const char *hit;
	size_t i, from, used;

	if (m->ncarry > 0) {
		/* the kept-back bytes and the start of d, searched together:
		 * a delimiter starting in the carry ends within dlen of d */
		char t[2 * sizeof(m->delim)];
		size_t take = n < m->dlen ? n : m->dlen, tn = m->ncarry + take;

		memcpy(t, m->carry, m->ncarry);
		memcpy(t + m->ncarry, d, take);
		for (i = 0; i < m->ncarry; i++) {
			size_t left = tn - i;

			if (left >= m->dlen && memcmp(t + i, m->delim,
			    m->dlen) == 0) {
				if (emit(m, t, i) < 0)
					return -1;
				/* what of d the delimiter takes */
				used = i + m->dlen - m->ncarry;
				m->ncarry = 0;
				m->state = AFTER;
				return (long)used;
			}
			if (left < m->dlen && memcmp(t + i, m->delim, left) == 0) {
				/* still a possible delimiter: all of d kept */
				if (emit(m, t, i) < 0)
					return -1;
				memmove(m->carry, t + i, left);
				m->ncarry = left;
				return (long)n;
			}
		}
		if (emit(m, m->carry, m->ncarry) < 0)
			return -1;
		m->ncarry = 0;
		return 0;
	}
	if ((hit = memmem(d, n, m->delim, m->dlen)) != NULL) {
		if (emit(m, d, (size_t)(hit - d)) < 0)
			return -1;
		m->state = AFTER;
		return (long)(hit - d + (long)m->dlen);
	}
	/* the longest end of d that begins the delimiter is kept back */
	from = n >= m->dlen ? n - m->dlen + 1 : 0;
	for (i = from; i < n; i++) {
		const char *cr = memchr(d + i, '\r', n - i);

		if (cr == NULL)
			break;
		i = (size_t)(cr - d);
		if (memcmp(cr, m->delim, n - i) == 0) {
			if (emit(m, d, i) < 0)
				return -1;
			memcpy(m->carry, cr, n - i);
			m->ncarry = n - i;
			return (long)n;
		}
	}
	return emit(m, d, n) < 0 ? -1 : (long)n;
}

int
emu_mp_feed(struct emu_mp *m, const char *d, size_t n)
{
	while (n > 0 && m->state != DONE && m->state != FAILED) {
		long used = 0;

		switch (m->state) {
		case BODY:
			used = body(m, d, n);
			break;
		case AFTER:
			/* the rest of a delimiter line: "--" ends the body;
			 * else blanks, then CRLF, then the next part's
			 * headers */
			m->hdr[m->nhdr++] = *d;
			used = 1;
			if (m->nhdr == 2 && memcmp(m->hdr, "--", 2) == 0) {
				m->state = DONE;
			} else if (m->nhdr >= 2 &&
			    memcmp(m->hdr + m->nhdr - 2, "\r\n", 2) == 0) {
				size_t k;

				for (k = 0; k + 2 < m->nhdr; k++)
					if (m->hdr[k] != ' ' && m->hdr[k] != '\t')
						return m->state = FAILED, -1;
				/* the CRLF is kept: an empty header block is
				 * then CRLF CRLF like any other */
				memcpy(m->hdr, "\r\n", 2);
				m->nhdr = 2;
				m->state = HEADERS;
			} else if (m->nhdr >= LINE_MAX_) {
				return m->state = FAILED, -1;
			}
			break;
		case HEADERS:
			m->hdr[m->nhdr++] = *d;
			used = 1;
			if (m->nhdr >= 4 && memcmp(m->hdr + m->nhdr - 4,
			    "\r\n\r\n", 4) == 0) {
				/* CRLF, the header lines, CRLF CRLF */
				size_t hl = m->nhdr >= 6 ? m->nhdr - 6 : 0;

				memmove(m->hdr, m->hdr + 2, hl);
				m->nhdr = hl;
				part_begins(m);
				m->preamble = 0;
				m->nhdr = 0;
				m->state = BODY;
			} else if (m->nhdr >= EMU_MP_HEADERS_MAX) {
				return m->state = FAILED, -1;
			}
			break;
		}
		if (used < 0)
			return m->state = FAILED, -1;
		d += used;
		n -= (size_t)used;
	}
	return m->state == FAILED ? -1 : 0;
}

int
emu_mp_done(const struct emu_mp *m)
{
	return m->state == DONE;
}

void
emu_mp_free(struct emu_mp *m)
{
	free(m->name);
	m->name = NULL;
}

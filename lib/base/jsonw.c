/*
 * JSON writer: see json.h. Strings are quoted with their UTF-8 checked
 * (an invalid byte becomes U+FFFD); struct dbm_jw places the commas.
 */
#include <string.h>

#include "json.h"

size_t
dbm_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void
dbm_json_quote(struct dbm_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, l;

	dbm_buf_grow(b, n + 2);
	dbm_buf_addc(b, '"');
	while (i < n) {
		unsigned char c = u[i];
		size_t run = i;

		/* plain ASCII goes in runs, one append each */
		while (run < n && u[run] >= 0x20 && u[run] < 0x80 &&
		    u[run] != '"' && u[run] != '\\')
			run++;
		if (run > i) {
			dbm_buf_add(b, s + i, run - i);
			i = run;
			continue;
		}
		switch (c) {
		case '"': dbm_buf_adds(b, "\\\""); i++; continue;
		case '\\': dbm_buf_adds(b, "\\\\"); i++; continue;
		case '\n': dbm_buf_adds(b, "\\n"); i++; continue;
		case '\r': dbm_buf_adds(b, "\\r"); i++; continue;
		case '\t': dbm_buf_adds(b, "\\t"); i++; continue;
		case '\b': dbm_buf_adds(b, "\\b"); i++; continue;
		case '\f': dbm_buf_adds(b, "\\f"); i++; continue;
		}
		if (c < 0x20) {
			dbm_buf_printf(b, "\\u%04x", c);
			i++;
		} else if ((l = dbm_utf8_len(u + i, n - i)) == 0) {
			dbm_buf_adds(b, "\\ufffd");
			i++;
		} else {
			dbm_buf_add(b, s + i, l);
			i += l;
		}
	}
	dbm_buf_addc(b, '"');
}

void
dbm_jw_init(struct dbm_jw *w, struct dbm_buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->first = 1;
}

static void
sep(struct dbm_jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->first & (1ULL << w->depth))
		w->first &= ~(1ULL << w->depth);
	else
		dbm_buf_addc(w->b, ',');
}

static void
open(struct dbm_jw *w, char c)
{
	sep(w);
	dbm_buf_addc(w->b, c);
	if (w->depth < 63)
		w->depth++;
	w->first |= 1ULL << w->depth;
}

static void
close_(struct dbm_jw *w, char c)
{
	dbm_buf_addc(w->b, c);
	if (w->depth > 0)
		w->depth--;
}

void
dbm_jw_obj(struct dbm_jw *w)
{
	open(w, '{');
}

void
dbm_jw_obj_end(struct dbm_jw *w)
{
	close_(w, '}');
}

void
dbm_jw_arr(struct dbm_jw *w)
{
	open(w, '[');
}

void
dbm_jw_arr_end(struct dbm_jw *w)
{
	close_(w, ']');
}

void
dbm_jw_key(struct dbm_jw *w, const char *k)
{
	sep(w);
	dbm_json_quote(w->b, k, strlen(k));
	dbm_buf_addc(w->b, ':');
	w->after_key = 1;
}

void
dbm_jw_strn(struct dbm_jw *w, const char *s, size_t n)
{
	sep(w);
	dbm_json_quote(w->b, s, n);
}

void
dbm_jw_str(struct dbm_jw *w, const char *s)
{
	if (s == NULL) {
		dbm_jw_null(w);
		return;
	}
	dbm_jw_strn(w, s, strlen(s));
}

void
dbm_jw_int(struct dbm_jw *w, long long v)
{
	sep(w);
	dbm_buf_printf(w->b, "%lld", v);
}

void
dbm_jw_bool(struct dbm_jw *w, int v)
{
	sep(w);
	dbm_buf_adds(w->b, v ? "true" : "false");
}

void
dbm_jw_null(struct dbm_jw *w)
{
	sep(w);
	dbm_buf_adds(w->b, "null");
}

void
dbm_jw_raw(struct dbm_jw *w, const char *json, size_t n)
{
	sep(w);
	dbm_buf_add(w->b, json, n);
}

void
dbm_jw_json(struct dbm_jw *w, const struct dbm_json *j, int t)
{
	size_t n;
	const char *p = dbm_json_raw(j, t, &n);

	if (dbm_json_type(j, t) == DBM_JSON_STRING)
		dbm_jw_raw(w, p - 1, n + 2);	/* with its quotes */
	else
		dbm_jw_raw(w, p, n);
}

/*
 * JSON reader: see json.h (the writer is jsonw.c). This is the one unit that compiles
 * jsmn's implementation. jsmn runs in strict mode; literals and numbers are
 * then checked here, since jsmn accepts any primitive starting with t/f/n/-/0-9.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STRICT
#define JSMN_PARENT_LINKS	/* else each ',' and ':' scans back: quadratic */
#define JSMN_STATIC
#include <jsmn.h>

#include "json.h"

#define TOK(j) ((jsmntok_t *)(j)->tok)

void
dbm_linecol_from(struct dbm_linepos *p, const char *s, size_t off, long *line,
    long *col)
{
	size_t i;

	if (off < p->off) {
		p->off = 0;
		p->line = 1;
		p->col = 1;
	}
	for (i = p->off; i < off; i++) {
		if (s[i] == '\n') {
			p->line++;
			p->col = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80) {
			p->col++;
		}
	}
	p->off = off;
	*line = p->line;
	*col = p->col;
}

void
dbm_linecol(const char *s, size_t off, long *line, long *col)
{
	struct dbm_linepos p = DBM_LINEPOS_INIT;

	dbm_linecol_from(&p, s, off, line, col);
}

static int
valid_number(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n)
		return 0;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return 0;
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == n;
}

static int
valid_primitive(const char *s, size_t n)
{
	if ((n == 4 && memcmp(s, "true", 4) == 0) ||
	    (n == 5 && memcmp(s, "false", 5) == 0) ||
	    (n == 4 && memcmp(s, "null", 4) == 0))
		return 1;
	return valid_number(s, n);
}

static int
ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Text extent of a token, quotes included. */
static int
xstart(const jsmntok_t *t)
{
	return t->start - (t->type == JSMN_STRING);
}

static int
xend(const jsmntok_t *t)
{
	return t->end + (t->type == JSMN_STRING);
}

/* Between from and to there is white space, sep (when not 0), white space. */
static int
gap(const char *js, int from, int to, char sep)
{
	while (from < to && ws(js[from]))
		from++;
	if (sep) {
		if (from >= to || js[from] != sep)
			return 0;
		from++;
	}
	while (from < to && ws(js[from]))
		from++;
	return from == to;
}

/* Check tree shape and separators: object members are string keys with one
 * value each, commas only between elements (jsmn lets "[1,]" through).
 * Returns the index after t's subtree, or -1 with the bad token in *bad. */
static int
shape(const char *js, const jsmntok_t *tok, int n, int t, int *bad)
{
	int i, k = t + 1, pos = tok[t].start + 1, obj;

	switch (tok[t].type) {
	case JSMN_OBJECT:
	case JSMN_ARRAY:
		obj = tok[t].type == JSMN_OBJECT;
		for (i = 0; i < tok[t].size; i++) {
			if (k >= n || !gap(js, pos, xstart(&tok[k]),
			    i ? ',' : 0)) {
				*bad = k < n ? k : t;
				return -1;
			}
			if (obj) {
				if (tok[k].type != JSMN_STRING ||
				    tok[k].size != 1 || k + 1 >= n ||
				    !gap(js, xend(&tok[k]), xstart(&tok[k + 1]),
				    ':')) {
					*bad = k;
					return -1;
				}
				k++;
			}
			pos = xend(&tok[k]);
			if ((k = shape(js, tok, n, k, bad)) < 0)
				return -1;
		}
		if (!gap(js, pos, tok[t].end - 1, 0)) {
			*bad = t;
			return -1;
		}
		return k;
	default:
		if (tok[t].size != 0) {
			*bad = t;
			return -1;
		}
		return k;
	}
}


/* A strict reading of the grammar (RFC 8259), so that an error names
 * where it is and what was expected there: jsmn stops at the token, often
 * the object that holds the mistake. Strings and literals are only
 * skipped here; their content is checked once jsmn has tokenised them.
 * Nesting is bounded by too_deep, which runs first. */
struct syn {
	const char *js;
	size_t len, pos;
	const char *why;	/* what was expected at pos */
};

static void
syn_ws(struct syn *y)
{
	while (y->pos < y->len && ws(y->js[y->pos]))
		y->pos++;
}

/* Expect c at pos (after white space); else set why. */
static int
syn_char(struct syn *y, char c, const char *why)
{
	syn_ws(y);
	if (y->pos < y->len && y->js[y->pos] == c) {
		y->pos++;
		return 0;
	}
	y->why = why;
	return -1;
}

static int
syn_string(struct syn *y)
{
	for (y->pos++; y->pos < y->len; y->pos++)
		if (y->js[y->pos] == '\\')
			y->pos++;
		else if (y->js[y->pos] == '"') {
			y->pos++;
			return 0;
		}
	y->why = "unexpected end of JSON in a string";
	return -1;
}

static int syn_value(struct syn *, const char *);

/* The members of an object or elements of an array, after its bracket. */
static int
syn_items(struct syn *y, char close)
{
	int obj = close == '}', first = 1;

	for (;;) {
		syn_ws(y);
		if (first && y->pos < y->len && y->js[y->pos] == close) {
			y->pos++;
			return 0;
		}
		if (obj) {
			if (y->pos >= y->len || y->js[y->pos] != '"') {
				y->why = first ? "expected a string key or '}'" :
				    y->pos < y->len && y->js[y->pos] == '}' ?
				    "expected a string key after ',' (a "
				    "trailing comma?)" : "expected a string key";
				return -1;
			}
			if (syn_string(y) < 0 || syn_char(y, ':',
			    "expected ':' after the key") < 0)
				return -1;
		}
		if (syn_value(y, first || obj ? "expected a value" :
		    "expected a value after ',' (a trailing comma?)") < 0)
			return -1;
		first = 0;
		syn_ws(y);
		if (y->pos < y->len && y->js[y->pos] == close) {
			y->pos++;
			return 0;
		}
		if (syn_char(y, ',', obj ? "expected ',' or '}'" :
		    "expected ',' or ']'") < 0)
			return -1;
	}
}

static int
syn_value(struct syn *y, const char *why)
{
	size_t start;
	char c;

	syn_ws(y);
	if (y->pos >= y->len) {
		y->why = "unexpected end of JSON";
		return -1;
	}
	c = y->js[y->pos];
	if (c == '{' || c == '[') {
		y->pos++;
		return syn_items(y, c == '{' ? '}' : ']');
	}
	if (c == '"')
		return syn_string(y);
	for (start = y->pos; y->pos < y->len && (isalnum((unsigned char)
	    y->js[y->pos]) || strchr("+-.", y->js[y->pos])); y->pos++)
		;
	if (y->pos == start) {
		y->why = why;
		return -1;
	}
	return 0;
}

/* NULL, or what was expected where (*off). */
static const char *
syntax(const char *js, size_t len, size_t *off)
{
	struct syn y = {js, len, 0, NULL};

	if (syn_value(&y, "expected a value") == 0) {
		syn_ws(&y);
		if (y.pos < len)
			y.why = "unexpected data after the JSON value";
	}
	*off = y.pos < len ? y.pos : len;
	return y.why;
}

/* The offset where nesting passes DBM_NEST_MAX, or -1: one linear pass,
 * strings skipped, before jsmn and the recursive shape check ever see it. */
static long long
too_deep(const char *js, size_t len)
{
	size_t i;
	int depth = 0, str = 0;

	for (i = 0; i < len; i++) {
		char c = js[i];

		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = 0;
		} else if (c == '"') {
			str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > DBM_NEST_MAX)
				return (long long)i;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return -1;
}

int
dbm_json_parse(struct dbm_json *j, const char *js, size_t len,
    const char *name, struct dbm_err *e)
{
	jsmn_parser p;
	jsmntok_t *tok = NULL;
	unsigned int cap = 64;
	int n, i;
	size_t end;
	long line, col;
	struct dbm_buf tmp = DBM_BUF_INIT;

	memset(j, 0, sizeof(*j));
	if (name == NULL)
		name = "<json>";
	{
		long long deep = too_deep(js, len);

		if (deep >= 0) {
			dbm_linecol(js, (size_t)deep, &line, &col);
			return dbm_err_input(e, name, line, col, "nesting deeper "
			    "than %d", DBM_NEST_MAX);
		}
	}
	{
		size_t off;
		const char *why = syntax(js, len, &off);

		if (why) {
			dbm_linecol(js, off, &line, &col);
			return dbm_err_input(e, name, line, col, "%s", why);
		}
	}
	/* out of tokens, jsmn stops where it was: grow and resume */
	jsmn_init(&p);
	for (;;) {
		tok = dbm_xrealloc(tok, cap * sizeof(*tok));
		n = jsmn_parse(&p, js, len, tok, cap);
		if (n != JSMN_ERROR_NOMEM)
			break;
		cap *= 2;
	}
	if (n < 0 || n == 0) {
		dbm_linecol(js, p.pos < len ? p.pos : len, &line, &col);
		free(tok);
		if (n == 0 || n == JSMN_ERROR_PART)
			return dbm_err_input(e, name, line, col,
			    "unexpected end of JSON");
		return dbm_err_input(e, name, line, col, "invalid JSON");
	}
	/* one value, then only white space */
	end = (size_t)tok[0].end;
	if (tok[0].type == JSMN_STRING)
		end++;
	while (end < len && ws(js[end]))
		end++;
	if (end != len || dbm_json_skip(&(struct dbm_json){NULL, 0, tok, n},
	    0) != n) {
		dbm_linecol(js, end, &line, &col);
		free(tok);
		return dbm_err_input(e, name, line, col,
		    "unexpected data after the JSON value");
	}
	if (shape(js, tok, n, 0, &i) != n) {
		dbm_linecol(js, (size_t)tok[i].start, &line, &col);
		free(tok);
		return dbm_err_input(e, name, line, col, "invalid JSON");
	}
	for (i = 0; i < n; i++) {
		size_t s = (size_t)tok[i].start, l = (size_t)(tok[i].end -
		    tok[i].start);
		int bad = 0;

		if (tok[i].type == JSMN_PRIMITIVE) {
			bad = !valid_primitive(js + s, l);
		} else if (tok[i].type == JSMN_STRING) {
			dbm_buf_reset(&tmp);
			bad = dbm_json_unescape(js + s, l, &tmp) < 0;
		}
		if (bad) {
			int str = tok[i].type == JSMN_STRING;

			dbm_buf_free(&tmp);
			dbm_linecol(js, s, &line, &col);
			free(tok);
			return dbm_err_input(e, name, line, col,
			    str ? "invalid string" : "invalid literal");
		}
	}
	dbm_buf_free(&tmp);
	j->js = dbm_xstrndup(js, len);
	j->len = len;
	j->tok = tok;
	j->ntok = n;
	return 0;
}

void
dbm_json_free(struct dbm_json *j)
{
	free(j->js);
	free(j->tok);
	memset(j, 0, sizeof(*j));
}

static int
ok(const struct dbm_json *j, int t)
{
	return j != NULL && t >= 0 && t < j->ntok;
}

enum dbm_jtype
dbm_json_type(const struct dbm_json *j, int t)
{
	const jsmntok_t *k;

	if (!ok(j, t))
		return DBM_JSON_INVALID;
	k = &TOK(j)[t];
	switch (k->type) {
	case JSMN_OBJECT:
		return DBM_JSON_OBJECT;
	case JSMN_ARRAY:
		return DBM_JSON_ARRAY;
	case JSMN_STRING:
		return DBM_JSON_STRING;
	case JSMN_PRIMITIVE:
		switch (j->js[k->start]) {
		case 't':
		case 'f':
			return DBM_JSON_BOOL;
		case 'n':
			return DBM_JSON_NULL;
		default:
			return DBM_JSON_NUMBER;
		}
	default:
		return DBM_JSON_INVALID;
	}
}

const char *
dbm_json_raw(const struct dbm_json *j, int t, size_t *len)
{
	if (!ok(j, t)) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)(TOK(j)[t].end - TOK(j)[t].start);
	return j->js + TOK(j)[t].start;
}

int
dbm_json_start(const struct dbm_json *j, int t)
{
	return ok(j, t) ? TOK(j)[t].start : -1;
}

int
dbm_json_end(const struct dbm_json *j, int t)
{
	return ok(j, t) ? TOK(j)[t].end : -1;
}

int
dbm_json_count(const struct dbm_json *j, int t)
{
	return ok(j, t) ? TOK(j)[t].size : 0;
}

int
dbm_json_skip(const struct dbm_json *j, int t)
{
	int pending = 1;

	while (pending > 0 && t < j->ntok) {
		pending += TOK(j)[t].size;
		pending--;
		t++;
	}
	return t;
}

int
dbm_json_member(const struct dbm_json *j, int t, const char *key)
{
	int i, n, k;

	if (dbm_json_type(j, t) != DBM_JSON_OBJECT)
		return -1;
	n = TOK(j)[t].size;
	k = t + 1;
	for (i = 0; i < n; i++) {
		if (dbm_json_streq(j, k, key))
			return k + 1;
		k = dbm_json_skip(j, k + 1);
	}
	return -1;
}

int
dbm_json_elem(const struct dbm_json *j, int t, int idx)
{
	int i, k;

	if (dbm_json_type(j, t) != DBM_JSON_ARRAY || idx < 0 ||
	    idx >= TOK(j)[t].size)
		return -1;
	k = t + 1;
	for (i = 0; i < idx; i++)
		k = dbm_json_skip(j, k);
	return k;
}

int
dbm_json_path(const struct dbm_json *j, int t, const char *path)
{
	char seg[256];
	const char *p = path, *dot;
	size_t n;

	while (t >= 0 && *p) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(seg))
			return -1;
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (dbm_json_type(j, t) == DBM_JSON_ARRAY) {
			char *endp;
			long idx = strtol(seg, &endp, 10);

			if (*seg == '\0' || *endp != '\0')
				return -1;
			t = dbm_json_elem(j, t, (int)idx);
		} else {
			t = dbm_json_member(j, t, seg);
		}
		p = dot ? dot + 1 : p + n;
	}
	return t;
}

int
dbm_json_streq(const struct dbm_json *j, int t, const char *s)
{
	size_t n;
	const char *r;
	struct dbm_buf b = DBM_BUF_INIT;
	int eq;

	if (dbm_json_type(j, t) != DBM_JSON_STRING)
		return 0;
	r = dbm_json_raw(j, t, &n);
	if (memchr(r, '\\', n) == NULL)
		return strlen(s) == n && memcmp(r, s, n) == 0;
	dbm_json_unescape(r, n, &b);
	eq = strcmp(dbm_buf_str(&b), s) == 0;
	dbm_buf_free(&b);
	return eq;
}

char *
dbm_json_strdup(const struct dbm_json *j, int t)
{
	size_t n;
	const char *r;
	struct dbm_buf b = DBM_BUF_INIT;

	if (dbm_json_type(j, t) != DBM_JSON_STRING)
		return NULL;
	r = dbm_json_raw(j, t, &n);
	if (dbm_json_unescape(r, n, &b) < 0) {
		dbm_buf_free(&b);
		return NULL;
	}
	return dbm_buf_detach(&b);
}

char *
dbm_json_get_str(const struct dbm_json *j, const char *path)
{
	return dbm_json_strdup(j, dbm_json_path(j, 0, path));
}

int
dbm_json_int(const struct dbm_json *j, int t, long long *v)
{
	char buf[32], *end;
	size_t n;
	const char *r;
	long long x;

	if (dbm_json_type(j, t) == DBM_JSON_STRING) {
		/* int64 fields are strings in some APIs' proto3 JSON */
		r = dbm_json_raw(j, t, &n);
	} else if (dbm_json_type(j, t) == DBM_JSON_NUMBER) {
		r = dbm_json_raw(j, t, &n);
	} else {
		return -1;
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, r, n);
	buf[n] = '\0';
	errno = 0;
	x = strtoll(buf, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*v = x;
	return 0;
}

int
dbm_json_get_int(const struct dbm_json *j, const char *path, long long *v)
{
	return dbm_json_int(j, dbm_json_path(j, 0, path), v);
}

int
dbm_json_bool(const struct dbm_json *j, int t, int *v)
{
	if (dbm_json_type(j, t) != DBM_JSON_BOOL)
		return -1;
	*v = j->js[TOK(j)[t].start] == 't';
	return 0;
}

static int
hex4(const char *s, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		char c = s[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static void
put_utf8(struct dbm_buf *b, unsigned cp)
{
	char u[4];

	if (cp < 0x80) {
		dbm_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		dbm_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		dbm_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		dbm_buf_add(b, u, 4);
	}
}

int
dbm_json_unescape(const char *s, size_t n, struct dbm_buf *out)
{
	size_t i = 0;
	unsigned cp, lo;

	dbm_buf_grow(out, n);
	while (i < n) {
		const char *bs = memchr(s + i, '\\', n - i);
		size_t run = bs ? (size_t)(bs - (s + i)) : n - i;

		dbm_buf_add(out, s + i, run);
		i += run;
		if (i >= n)
			break;
		if (++i >= n)
			return -1;
		switch (s[i++]) {
		case '"': dbm_buf_addc(out, '"'); break;
		case '\\': dbm_buf_addc(out, '\\'); break;
		case '/': dbm_buf_addc(out, '/'); break;
		case 'b': dbm_buf_addc(out, '\b'); break;
		case 'f': dbm_buf_addc(out, '\f'); break;
		case 'n': dbm_buf_addc(out, '\n'); break;
		case 'r': dbm_buf_addc(out, '\r'); break;
		case 't': dbm_buf_addc(out, '\t'); break;
		case 'u':
			if (i + 4 > n || hex4(s + i, &cp) < 0)
				return -1;
			i += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1;	/* lone low surrogate */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u' ||
				    hex4(s + i + 2, &lo) < 0 || lo < 0xdc00 ||
				    lo > 0xdfff)
					return -1;
				i += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			if (cp == 0)
				return -1;	/* no NUL inside C strings */
			put_utf8(out, cp);
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/*
 * JSON: a reader over jsmn tokens and a small writer.
 *
 * Reading: dbm_json_parse() tokenises a whole document (growing the token
 * array until it fits) and validates it strictly; tokens are then addressed
 * by index (0 is the root). Lookups return a token index or -1.
 * Writing: struct dbm_jw appends to a dbm_buf and places commas itself.
 */
#ifndef DBM_JSON_H
#define DBM_JSON_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

enum dbm_jtype {
	DBM_JSON_INVALID = 0,
	DBM_JSON_OBJECT,
	DBM_JSON_ARRAY,
	DBM_JSON_STRING,
	DBM_JSON_NUMBER,
	DBM_JSON_BOOL,
	DBM_JSON_NULL,
};

struct dbm_json {
	char *js;	/* owned copy of the text */
	size_t len;
	void *tok;	/* owned jsmntok_t array */
	int ntok;
};

/* Parse len bytes of js (copied). On error fills e with line:col. */
int dbm_json_parse(struct dbm_json *j, const char *js, size_t len,
    const char *name, struct dbm_err *e);
void dbm_json_free(struct dbm_json *j);

enum dbm_jtype dbm_json_type(const struct dbm_json *j, int t);
/* Raw token text (not unescaped) and its byte offsets in the document. */
const char *dbm_json_raw(const struct dbm_json *j, int t, size_t *len);
int dbm_json_start(const struct dbm_json *j, int t);
int dbm_json_end(const struct dbm_json *j, int t);
/* Number of elements of an array, or of members of an object. */
int dbm_json_count(const struct dbm_json *j, int t);
/* Index of the token after t and all its children. */
int dbm_json_skip(const struct dbm_json *j, int t);
/* Value of member key of object t. */
int dbm_json_member(const struct dbm_json *j, int t, const char *key);
/* Element i of array t. */
int dbm_json_elem(const struct dbm_json *j, int t, int i);
/* Dotted path from t: "state.result_state", "tasks.0.run_id". */
int dbm_json_path(const struct dbm_json *j, int t, const char *path);

/* Unescaped string value (caller frees), or NULL when t is not a string. */
char *dbm_json_strdup(const struct dbm_json *j, int t);
/* String at path from the root (caller frees), or NULL. */
char *dbm_json_get_str(const struct dbm_json *j, const char *path);
int dbm_json_int(const struct dbm_json *j, int t, long long *v);
int dbm_json_get_int(const struct dbm_json *j, const char *path, long long *v);
int dbm_json_bool(const struct dbm_json *j, int t, int *v);
/* 1 when t is a string equal to s. */
int dbm_json_streq(const struct dbm_json *j, int t, const char *s);

/* 1-based line and column (in UTF-8 characters) of byte off of s. */
void dbm_linecol(const char *s, size_t off, long *line, long *col);
/* The same, resuming from *p when off is at or after the last offset asked:
 * a pass over increasing offsets scans s once, not once per offset. */
struct dbm_linepos {
	size_t off;
	long line, col;
};
#define DBM_LINEPOS_INIT {0, 1, 1}
void dbm_linecol_from(struct dbm_linepos *p, const char *s, size_t off,
    long *line, long *col);

/* Unescape the body of a JSON string (without quotes) onto out. */
int dbm_json_unescape(const char *s, size_t n, struct dbm_buf *out);
/* Append s as a quoted JSON string; invalid UTF-8 becomes U+FFFD. */
/* Length of the valid UTF-8 sequence at s[0..n), 1 to 4, or 0 when it is
 * not one (overlong forms and surrogates are not). */
size_t dbm_utf8_len(const unsigned char *s, size_t n);
void dbm_json_quote(struct dbm_buf *b, const char *s, size_t n);

struct dbm_jw {
	struct dbm_buf *b;
	int depth;
	unsigned long long first;	/* bit d: nothing written yet at depth d */
	int after_key;
};

void dbm_jw_init(struct dbm_jw *w, struct dbm_buf *b);
void dbm_jw_obj(struct dbm_jw *w);
void dbm_jw_obj_end(struct dbm_jw *w);
void dbm_jw_arr(struct dbm_jw *w);
void dbm_jw_arr_end(struct dbm_jw *w);
void dbm_jw_key(struct dbm_jw *w, const char *k);
void dbm_jw_str(struct dbm_jw *w, const char *s);
void dbm_jw_strn(struct dbm_jw *w, const char *s, size_t n);
void dbm_jw_int(struct dbm_jw *w, long long v);
void dbm_jw_bool(struct dbm_jw *w, int v);
void dbm_jw_null(struct dbm_jw *w);
/* Insert already-valid JSON text as one value. */
void dbm_jw_raw(struct dbm_jw *w, const char *json, size_t n);
/* Token t of j (a value, and all it holds) as it is in j's text. */
void dbm_jw_json(struct dbm_jw *w, const struct dbm_json *j, int t);

#endif

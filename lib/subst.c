/*
 * Placeholder substitution: see subst.h. Sites (the byte ranges of scalars
 * with their quoting style and path form) come from a parser per file type;
 * edits are spliced in, and the result is parsed again and refused if it no
 * longer parses or still holds a placeholder.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "json.h"
#include "remote.h"
#include "subst.h"

enum style { ST_PLAIN, ST_SINGLE, ST_DOUBLE, ST_BLOCK, ST_JSON, ST_LINE };

struct site {
	size_t start, end;	/* bytes of the scalar in the source */
	enum style style;
	int uri;		/* the place takes a URI, not a POSIX path */
	int flow;		/* a YAML scalar inside [] or {} */
	long line, col;		/* of start, 1-based */
};

struct sites {
	struct site *s;
	size_t n, cap;
	const char *data;	/* the text the sites are in */
	const char *token;	/* keep only the sites that hold it */
	struct dbm_linepos pos;	/* where the last line/col lookup ended */
};

static struct site *
add_site(struct sites *ss, struct site s)
{
	size_t tl = strlen(ss->token), k;
	int holds = 0;

	/* a scalar without the placeholder is never touched: not kept, so
	 * memory follows the placeholders, not the file's size */
	for (k = s.start; k + tl <= s.end && !holds; k++)
		holds = memcmp(ss->data + k, ss->token, tl) == 0;
	if (!holds)
		return NULL;
	if (ss->n == ss->cap) {
		ss->cap = ss->cap ? 2 * ss->cap : 16;
		ss->s = dbm_xrealloc(ss->s, ss->cap * sizeof(*ss->s));
	}
	ss->s[ss->n++] = s;
	return &ss->s[ss->n - 1];
}

char *
dbm_pep503(const char *name, size_t n)
{
	struct dbm_buf b = DBM_BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = name[i];

		if (c == '-' || c == '_' || c == '.') {
			if (b.len == 0 || b.data[b.len - 1] != '-')
				dbm_buf_addc(&b, '-');
		} else {
			dbm_buf_addc(&b, c >= 'A' && c <= 'Z' ?
			    (char)(c - 'A' + 'a') : c);
		}
	}
	return dbm_buf_detach(&b);
}

int
dbm_wheels_add(struct dbm_wheels *ws, const char *path, struct dbm_err *e)
{
	struct dbm_remote r;
	struct dbm_wheel w;
	const char *base, *dash;
	size_t n = strlen(path);

	if (n < 4 || strcmp(path + n - 4, ".whl") != 0)
		return 1;
	if (dbm_remote_parse(path, &r, e) < 0)
		return -1;
	base = strrchr(r.path, '/') + 1;
	/* {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl */
	dash = strchr(base, '-');
	if (dash == NULL || dash == base) {
		dbm_errf(e, DBM_E_USAGE, "%s: not a wheel file name "
		    "(name-version-python-abi-platform.whl)", path);
		dbm_remote_free(&r);
		return -1;
	}
	w.uri = dbm_remote_uri(r.kind, r.path);
	w.posix = dbm_remote_fuse(r.kind, r.path);
	w.file = dbm_xstrdup(base);
	w.dist = dbm_pep503(base, (size_t)(dash - base));
	dbm_remote_free(&r);
	ws->w = dbm_xrealloc(ws->w, (ws->n + 1) * sizeof(*ws->w));
	ws->w[ws->n++] = w;
	return 0;
}

int
dbm_wheels_manifest(struct dbm_wheels *ws, const char *json, size_t len,
    const char *name, struct dbm_err *e)
{
	struct dbm_json j;
	int files, i, n, rc = 0;

	if (dbm_json_parse(&j, json, len, name, e) < 0)
		return -1;
	files = dbm_json_member(&j, 0, "files");
	if (dbm_json_type(&j, files) != DBM_JSON_ARRAY) {
		dbm_json_free(&j);
		return dbm_err_input(e, name, 1, 1, "not a dbfs-put manifest "
		    "(no \"files\" array)");
	}
	n = dbm_json_count(&j, files);
	for (i = 0; i < n && rc == 0; i++) {
		char *remote = dbm_json_strdup(&j, dbm_json_member(&j,
		    dbm_json_elem(&j, files, i), "remote"));

		if (remote == NULL) {
			rc = dbm_err_input(e, name, 1, 1, "files[%d] has no "
			    "\"remote\"", i);
			break;
		}
		if (dbm_wheels_add(ws, remote, e) < 0)
			rc = -1;
		free(remote);
	}
	dbm_json_free(&j);
	return rc;
}

void
dbm_wheels_free(struct dbm_wheels *ws)
{
	size_t i;

	for (i = 0; i < ws->n; i++) {
		free(ws->w[i].uri);
		free(ws->w[i].posix);
		free(ws->w[i].file);
		free(ws->w[i].dist);
	}
	free(ws->w);
	ws->w = NULL;
	ws->n = 0;
}

void
dbm_subst_result_free(struct dbm_subst_result *res)
{
	size_t i;

	for (i = 0; i < res->nedits; i++) {
		free(res->edits[i].old);
		free(res->edits[i].new);
	}
	free(res->edits);
	dbm_buf_free(&res->out);
	memset(res, 0, sizeof(*res));
}

static int
uri_key(const char *k)
{
	return k && (strcmp(k, "whl") == 0 || strcmp(k, "jar") == 0 ||
	    strcmp(k, "egg") == 0);
}

/* --- YAML: libyaml counts characters (CRLF as two, no BOM); map them to
 * bytes. */

struct frame {
	int mapping, want_key;
	char *key;	/* the key this collection is the value of */
	char *cur;	/* mapping: the key whose value comes next */
};

/* The byte offset of character ch (UTF-8, after a BOM), walking from the
 * last answer: the events ask in (nearly) increasing order. */
struct cursor {
	const char *data;
	size_t len, bom, ch, byte;
};

static size_t
char_byte(struct cursor *c, size_t ch)
{
	if (ch < c->ch) {
		c->ch = 0;
		c->byte = c->bom;
	}
	while (c->ch < ch && c->byte < c->len) {
		c->byte++;
		while (c->byte < c->len &&
		    ((unsigned char)c->data[c->byte] & 0xc0) == 0x80)
			c->byte++;
		c->ch++;
	}
	return c->byte;
}

/* The walk over a YAML file's events: the open collections, how deep in
 * flow style, and the cursor from character marks to bytes. */
struct ywalk {
	const char *name;
	struct cursor cur;
	size_t nchar;
	struct frame *st;
	int depth, flow, keys;
	struct sites *ss;
};

/* A mapping or sequence opens: it inherits the key it is the value of. */
static int
y_open(struct ywalk *w, const yaml_event_t *ev, struct dbm_err *e)
{
	struct frame f = {ev->type == YAML_MAPPING_START_EVENT, 1, NULL, NULL};
	struct frame *t;

	if (w->depth >= DBM_NEST_MAX)
		return dbm_err_input(e, w->name, (long)ev->start_mark.line + 1,
		    (long)ev->start_mark.column + 1, "nesting deeper than %d",
		    DBM_NEST_MAX);
	if (w->depth > 0) {
		t = &w->st[w->depth - 1];
		f.key = dbm_xstrdup(t->mapping ? (t->cur ? t->cur : "") :
		    (t->key ? t->key : ""));
		if (t->mapping)
			t->want_key = 1;
	}
	if ((ev->type == YAML_MAPPING_START_EVENT &&
	    ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE) ||
	    (ev->type == YAML_SEQUENCE_START_EVENT &&
	    ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE) ||
	    w->flow)
		w->flow++;
	w->st = dbm_xrealloc(w->st, (size_t)(w->depth + 1) * sizeof(*w->st));
	w->st[w->depth++] = f;
	return 0;
}

static void
y_close(struct ywalk *w)
{
	w->depth--;
	free(w->st[w->depth].key);
	free(w->st[w->depth].cur);
	if (w->flow)
		w->flow--;
}

/* A scalar (or alias): a site when it is a value (or keys are wanted),
 * and the mapping's current key when it is one. */
static void
y_scalar(struct ywalk *w, const yaml_event_t *ev)
{
	struct frame *t = w->depth ? &w->st[w->depth - 1] : NULL;
	const char *key = t ? (t->mapping ? t->cur : t->key) : NULL;
	int is_key = t && t->mapping && t->want_key;
	yaml_scalar_style_t y;
	struct site s;

	if (ev->type == YAML_SCALAR_EVENT && (!is_key || w->keys) &&
	    ev->start_mark.index <= w->nchar && ev->end_mark.index <= w->nchar) {
		y = ev->data.scalar.style;
		s.start = char_byte(&w->cur, ev->start_mark.index);
		s.end = char_byte(&w->cur, ev->end_mark.index);
		s.style = y == YAML_SINGLE_QUOTED_SCALAR_STYLE ? ST_SINGLE :
		    y == YAML_DOUBLE_QUOTED_SCALAR_STYLE ? ST_DOUBLE :
		    y == YAML_PLAIN_SCALAR_STYLE ? ST_PLAIN : ST_BLOCK;
		s.uri = uri_key(key);
		s.flow = w->flow > 0;
		s.line = (long)ev->start_mark.line + 1;
		s.col = (long)ev->start_mark.column + 1;
		add_site(w->ss, s);
	}
	if (t && t->mapping) {
		if (is_key) {
			free(t->cur);
			t->cur = ev->type == YAML_SCALAR_EVENT ?
			    dbm_xstrdup((const char *)ev->data.scalar.value) :
			    NULL;
		}
		t->want_key = !is_key;
	}
}

static int
yaml_sites(const char *name, const char *data, size_t len, struct sites *ss,
    int keys, struct dbm_err *e)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct ywalk w = {name, {0}, 0, NULL, 0, 0, keys, ss};
	size_t i, bom = 0;
	int done = 0, rc = -1;

	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		bom = 3;
	if (len >= 2 && ((unsigned char)data[0] == 0xff ||
	    (unsigned char)data[0] == 0xfe))
		return dbm_err_input(e, name, 1, 1, "UTF-16 is not supported; "
		    "save the file as UTF-8");
	/* libyaml's marks count characters: their byte offsets come from a
	 * cursor walked forward with the events (no table: memory stays
	 * proportional to the file) */
	for (i = bom; i < len; i++)
		if (((unsigned char)data[i] & 0xc0) != 0x80)
			w.nchar++;
	w.cur.data = data;
	w.cur.len = len;
	w.cur.bom = w.cur.byte = bom;
	w.cur.ch = 0;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			dbm_err_input(e, name, (long)p.problem_mark.line + 1,
			    (long)p.problem_mark.column + 1, "%s%s%s",
			    p.problem ? p.problem : "invalid YAML",
			    p.context ? " " : "", p.context ? p.context : "");
			goto out;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			done = 1;
		} else if (ev.type == YAML_MAPPING_START_EVENT ||
		    ev.type == YAML_SEQUENCE_START_EVENT) {
			if (y_open(&w, &ev, e) < 0) {
				yaml_event_delete(&ev);
				goto out;
			}
		} else if (ev.type == YAML_MAPPING_END_EVENT ||
		    ev.type == YAML_SEQUENCE_END_EVENT) {
			y_close(&w);
		} else if (ev.type == YAML_ALIAS_EVENT ||
		    ev.type == YAML_SCALAR_EVENT) {
			y_scalar(&w, &ev);
		}
		yaml_event_delete(&ev);
	}
	rc = 0;
out:
	while (w.depth > 0)
		y_close(&w);
	free(w.st);
	yaml_parser_delete(&p);
	return rc;
}

/* --- JSON: jsmn gives byte offsets; strings are sites. */

static void json_site(const struct dbm_json *j, int t, const char *key,
    const char *data, struct sites *ss);

static void
json_walk(const struct dbm_json *j, int t, const char *key, const char *data,
    struct sites *ss, int keys)
{
	int i, n, k;

	switch (dbm_json_type(j, t)) {
	case DBM_JSON_OBJECT:
		n = dbm_json_count(j, t);
		k = t + 1;
		for (i = 0; i < n; i++) {
			char *name = dbm_json_strdup(j, k);

			if (keys)
				json_site(j, k, NULL, data, ss);
			json_walk(j, k + 1, name, data, ss, keys);
			free(name);
			k = dbm_json_skip(j, k + 1);
		}
		break;
	case DBM_JSON_ARRAY:
		n = dbm_json_count(j, t);
		for (i = 0, k = t + 1; i < n; i++, k = dbm_json_skip(j, k))
			json_walk(j, k, key, data, ss, keys);
		break;
	case DBM_JSON_STRING:
		json_site(j, t, key, data, ss);
		break;
	default:
		break;
	}
}

static void
json_site(const struct dbm_json *j, int t, const char *key, const char *data,
    struct sites *ss)
{
	struct site s, *kept;

	s.start = (size_t)dbm_json_start(j, t);
	s.end = (size_t)dbm_json_end(j, t);
	s.style = ST_JSON;
	s.uri = uri_key(key);
	s.flow = 0;
	s.line = s.col = 0;
	if ((kept = add_site(ss, s)) != NULL)	/* only those kept: linear */
		dbm_linecol_from(&ss->pos, data, s.start, &kept->line,
		    &kept->col);
}

static int
json_sites(const char *name, const char *data, size_t len, struct sites *ss,
    int keys, struct dbm_err *e)
{
	struct dbm_json j;
	size_t bom = len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;

	if (dbm_json_parse(&j, data + bom, len - bom, name, e) < 0)
		return -1;
	ss->data = data + bom;	/* the walk's offsets are past the BOM */
	json_walk(&j, 0, NULL, data + bom, ss, keys);
	ss->data = data;
	for (size_t i = 0; i < ss->n; i++) {
		ss->s[i].start += bom;
		ss->s[i].end += bom;
	}
	dbm_json_free(&j);
	return 0;
}

/* --- requirements.txt: each line up to its comment is a site. */

static int
reqs_sites(const char *data, size_t len, struct sites *ss)
{
	size_t i = 0, bom = len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ?
	    3 : 0;
	long line = 1;

	for (i = bom; i < len; line++) {
		size_t s = i, end;
		struct site st;

		while (i < len && data[i] != '\n')
			i++;
		end = i;
		for (size_t k = s; k < end; k++) {
			if (data[k] == '#' && (k == s || data[k - 1] == ' ' ||
			    data[k - 1] == '\t')) {
				end = k;
				break;
			}
		}
		while (end > s && (data[end - 1] == '\r'))
			end--;
		st.start = s;
		st.end = end;
		st.style = ST_LINE;
		st.uri = 0;
		st.flow = 0;
		st.line = line;
		st.col = 1;
		add_site(ss, st);
		i++;
	}
	return 0;
}

enum dbm_subst_type
dbm_subst_guess(const char *name, const char *data, size_t len)
{
	const char *dot = strrchr(name, '.');
	const char *base = strrchr(name, '/');
	size_t i;

	base = base ? base + 1 : name;
	if (dot && (strcasecmp(dot, ".yaml") == 0 ||
	    strcasecmp(dot, ".yml") == 0))
		return DBM_SUBST_YAML;
	if (dot && strcasecmp(dot, ".json") == 0)
		return DBM_SUBST_JSON;
	if ((dot && (strcasecmp(dot, ".txt") == 0 ||
	    strcasecmp(dot, ".in") == 0)) || strncmp(base, "requirements",
	    12) == 0)
		return DBM_SUBST_REQS;
	for (i = 0; i < len; i++) {
		if (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' ||
		    data[i] == '\n')
			continue;
		return data[i] == '{' || data[i] == '[' ? DBM_SUBST_JSON :
		    DBM_SUBST_YAML;
	}
	return DBM_SUBST_YAML;
}

/* The scalars of a file; with keys, mapping keys too. */
static int
get_sites(const char *name, const char *data, size_t len,
    enum dbm_subst_type type, struct sites *ss, int keys, struct dbm_err *e)
{
	switch (type) {
	case DBM_SUBST_JSON:
		return json_sites(name, data, len, ss, keys, e);
	case DBM_SUBST_REQS:
		return reqs_sites(data, len, ss);
	default:
		return yaml_sites(name, data, len, ss, keys, e);
	}
}

static int
word_char(char c, enum style st)
{
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
		return 0;
	if ((st == ST_DOUBLE || st == ST_JSON) && c == '"')
		return 0;
	if (st == ST_SINGLE && c == '\'')
		return 0;
	return 1;
}

/* The replacement text of path for a scalar of site's style. */
static int
escape_for(const struct site *s, const char *path, struct dbm_buf *out,
    const char *name, struct dbm_err *e)
{
	const char *p;

	switch (s->style) {
	case ST_DOUBLE:
	case ST_JSON:
		for (p = path; *p; p++) {
			if (*p == '"' || *p == '\\')
				dbm_buf_addc(out, '\\');
			dbm_buf_addc(out, *p);
		}
		return 0;
	case ST_SINGLE:
		for (p = path; *p; p++) {
			if (*p == '\'')
				dbm_buf_addc(out, '\'');
			dbm_buf_addc(out, *p);
		}
		return 0;
	case ST_PLAIN:
		if (strstr(path, ": ") || strstr(path, " #") ||
		    (s->flow && strpbrk(path, ",[]{}")))
			return dbm_err_input(e, name, s->line, s->col, "the path "
			    "%s cannot be written in this unquoted scalar; quote "
			    "the placeholder", path);
		/* FALLTHROUGH */
	default:
		if (strchr(path, '\n'))
			return dbm_err_input(e, name, s->line, s->col,
			    "newline in a wheel path");
		dbm_buf_adds(out, path);
		return 0;
	}
}

static const struct dbm_wheel *
pick(const struct dbm_wheels *ws, const char *want, size_t wn,
    const char *name, long line, long col, const char *token,
    struct dbm_err *e)
{
	const struct dbm_wheel *hit = NULL;
	char *norm;
	size_t i;
	struct dbm_buf have = DBM_BUF_INIT;

	if (ws->n == 0) {
		dbm_err_input(e, name, line, col, "a placeholder, but no wheel "
		    "was given (-w, --manifest or paths on stdin)");
		return NULL;
	}
	for (i = 0; i < ws->n; i++)
		dbm_buf_printf(&have, "%s%s", i ? ", " : "", ws->w[i].file);
	if (want == NULL) {
		if (ws->n == 1) {
			dbm_buf_free(&have);
			return &ws->w[0];
		}
		dbm_err_input(e, name, line, col, "%zu wheels (%s) and a "
		    "placeholder that names none: write %s:<distribution>",
		    ws->n, have.data, token);
		dbm_buf_free(&have);
		return NULL;
	}
	norm = dbm_pep503(want, wn);
	for (i = 0; i < ws->n; i++) {
		if (strcmp(ws->w[i].dist, norm) != 0)
			continue;
		if (hit) {
			dbm_err_input(e, name, line, col, "more than one wheel "
			    "of %s (%s and %s)", norm, hit->file,
			    ws->w[i].file);
			free(norm);
			dbm_buf_free(&have);
			return NULL;
		}
		hit = &ws->w[i];
	}
	if (hit == NULL)
		dbm_err_input(e, name, line, col, "no wheel of %s among %s",
		    norm, have.data);
	free(norm);
	dbm_buf_free(&have);
	return hit;
}

/* A splice: input bytes [in, in_end) became out_len bytes. */
struct splice {
	size_t in, in_end, out_len;
};

/* The input offset of output offset o (which is outside every splice). */
static size_t
in_offset(const struct splice *sp, size_t n, size_t o)
{
	long long shift = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		size_t out_start = (size_t)((long long)sp[i].in + shift);

		if (o < out_start)
			break;
		shift += (long long)sp[i].out_len -
		    (long long)(sp[i].in_end - sp[i].in);
	}
	return (size_t)((long long)o - shift);
}

static int
token_in_sites(const char *name, const char *data, const struct sites *ss,
    const char *token, const char *input, const struct splice *sp, size_t nsp,
    struct dbm_err *e)
{
	size_t i, tl = strlen(token);

	for (i = 0; i < ss->n; i++) {
		const struct site *s = &ss->s[i];
		const char *hit = NULL;
		size_t k;

		for (k = s->start; k + tl <= s->end && !hit; k++)
			if (memcmp(data + k, token, tl) == 0)
				hit = data + k;
		if (hit) {
			long line, col;

			/* where it is in the file the user has */
			dbm_linecol(input, in_offset(sp, nsp, (size_t)(hit - data)),
			    &line, &col);
			return dbm_err_input(e, name, line, col, "the result "
			    "still holds the placeholder %s", token);
		}
	}
	return 0;
}

int
dbm_subst(const char *name, const char *data, size_t len,
    enum dbm_subst_type type, const char *token, const struct dbm_wheels *ws,
    struct dbm_subst_result *res, struct dbm_err *e)
{
	struct sites ss = {.data = data, .token = token,
	    .pos = DBM_LINEPOS_INIT},
	    check = {.token = token, .pos = DBM_LINEPOS_INIT};
	struct dbm_linepos at = DBM_LINEPOS_INIT;
	size_t i, k, copied = 0, tl = strlen(token);
	struct dbm_buf rep = DBM_BUF_INIT;
	struct splice *sp = NULL;
	size_t nsp = 0;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (type == DBM_SUBST_AUTO)
		type = dbm_subst_guess(name, data, len);
	if (get_sites(name, data, len, type, &ss, 0, e) < 0)
		goto out;
	for (i = 0; i < ss.n; i++) {
		const struct site *s = &ss.s[i];

		for (k = s->start; k + tl <= s->end; k++) {
			size_t ws_ = k, we = k + tl, nm;
			const struct dbm_wheel *w;
			struct dbm_subst_edit ed;
			long line, col;

			if (memcmp(data + k, token, tl) != 0)
				continue;
			while (ws_ > s->start && word_char(data[ws_ - 1],
			    s->style))
				ws_--;
			while (we < s->end && word_char(data[we], s->style))
				we++;
			dbm_linecol_from(&at, data, ws_, &line, &col);
			/* TOKEN:dist */
			nm = 0;
			if (k + tl < we && data[k + tl] == ':')
				nm = we - (k + tl + 1);
			w = pick(ws, nm ? data + k + tl + 1 : NULL, nm, name,
			    line, col, token, e);
			if (w == NULL)
				goto out;
			if (ws_ < copied) {	/* two tokens in one word */
				k = we - 1;
				continue;
			}
			dbm_buf_add(&res->out, data + copied, ws_ - copied);
			dbm_buf_reset(&rep);
			if (escape_for(s, s->uri ? w->uri : w->posix, &rep,
			    name, e) < 0)
				goto out;
			dbm_buf_add(&res->out, rep.data, rep.len);
			sp = dbm_xrealloc(sp, (nsp + 1) * sizeof(*sp));
			sp[nsp].in = ws_;
			sp[nsp].in_end = we;
			sp[nsp++].out_len = rep.len;
			copied = we;
			ed.line = line;
			ed.col = col;
			ed.old = dbm_xstrndup(data + ws_, we - ws_);
			ed.new = dbm_xstrdup(s->uri ? w->uri : w->posix);
			res->edits = dbm_xrealloc(res->edits, (res->nedits + 1) *
			    sizeof(*res->edits));
			res->edits[res->nedits++] = ed;
			k = we - 1;
		}
	}
	dbm_buf_add(&res->out, data + copied, len - copied);
	check.data = dbm_buf_str(&res->out);
	/* the result must parse, with no placeholder left in any scalar */
	if (get_sites(name, dbm_buf_str(&res->out), res->out.len, type, &check,
	    1, e) < 0) {
		snprintf(e->msg + strlen(e->msg), sizeof(e->msg) -
		    strlen(e->msg), " (in the result: refusing to write it)");
		goto out;
	}
	if (token_in_sites(name, dbm_buf_str(&res->out), &check, token, data, sp,
	    nsp, e) < 0)
		goto out;
	rc = 0;
out:
	free(ss.s);
	free(check.s);
	free(sp);
	dbm_buf_free(&rep);
	if (rc < 0)
		dbm_subst_result_free(res);
	return rc;
}

/* libyaml document helpers: see yamldoc.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "yamldoc.h"

/* Refuse nesting deeper than DBM_NEST_MAX: one pass over the events,
 * before the loader builds (and our readers walk) the tree. */
static int
depth_ok(const char *path, FILE *f, struct dbm_err *e)
{
	yaml_parser_t ps;
	yaml_event_t ev;
	int depth = 0, rc = 0, done = 0;

	yaml_parser_initialize(&ps);
	yaml_parser_set_input_file(&ps, f);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&ps, &ev))
			break;		/* the loader says what is wrong */
		if (ev.type == YAML_MAPPING_START_EVENT ||
		    ev.type == YAML_SEQUENCE_START_EVENT) {
			if (++depth > DBM_NEST_MAX)
				rc = dbm_err_input(e, path,
				    (long)ev.start_mark.line + 1,
				    (long)ev.start_mark.column + 1, "nesting "
				    "deeper than %d", DBM_NEST_MAX);
		} else if (ev.type == YAML_MAPPING_END_EVENT ||
		    ev.type == YAML_SEQUENCE_END_EVENT) {
			depth--;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&ps);
	rewind(f);
	return rc;
}

int
dbm_yaml_load(const char *path, yaml_document_t *doc, struct dbm_err *e)
{
	yaml_parser_t ps;
	FILE *f;
	int rc = 0;

	if ((f = fopen(path, "rb")) == NULL)
		return dbm_err_sys(e, "%s", path);
	if (depth_ok(path, f, e) < 0) {
		fclose(f);
		return -1;
	}
	yaml_parser_initialize(&ps);
	yaml_parser_set_input_file(&ps, f);
	if (!yaml_parser_load(&ps, doc))
		rc = dbm_err_input(e, path, (long)ps.problem_mark.line + 1,
		    (long)ps.problem_mark.column + 1, "%s", ps.problem ?
		    ps.problem : "not YAML");
	else if (yaml_document_get_root_node(doc) == NULL) {
		yaml_document_delete(doc);
		rc = dbm_err_input(e, path, 1, 1, "empty file");
	}
	yaml_parser_delete(&ps);
	fclose(f);
	return rc;
}

yaml_node_t *
dbm_yaml_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pr;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = map->data.mapping.pairs.start;
	    pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(d, pr->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(d, pr->value);
	}
	return NULL;
}

const char *
dbm_yaml_str(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

int
dbm_yaml_bad(struct dbm_err *e, const char *file, const yaml_node_t *n,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return dbm_err_input(e, file, n ? (long)n->start_mark.line + 1 : 1,
	    n ? (long)n->start_mark.column + 1 : 1, "%s", msg);
}

/* PyYAML's implicit types (yaml/resolver.py, YAML 1.1), matched whole. */
static int
is_bool(const char *s, int *val)
{
	static const char *const t[] = {"yes", "Yes", "YES", "true", "True",
	    "TRUE", "on", "On", "ON", NULL};
	static const char *const f[] = {"no", "No", "NO", "false", "False",
	    "FALSE", "off", "Off", "OFF", NULL};
	int i;

	for (i = 0; t[i]; i++)
		if (strcmp(s, t[i]) == 0)
			return *val = 1;
	for (i = 0; f[i]; i++)
		if (strcmp(s, f[i]) == 0)
			return (*val = 0) == 0;
	return 0;
}

static int
is_null(const char *s)
{
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* s without its underscores (PyYAML drops them from numbers). */
static char *
no_underscores(const char *s)
{
	char *r = dbm_xmalloc(strlen(s) + 1), *p = r;

	for (; *s; s++)
		if (*s != '_')
			*p++ = *s;
	*p = '\0';
	return r;
}

/* An int as PyYAML reads it: 0b, 0x, a leading 0 for octal, decimal;
 * written in decimal as Python's str() does. NULL when s is no int (or
 * does not fit 64 bits: then its text stands). */
static char *
int_str(const char *s)
{
	const char *p = s, *digits;
	char *clean, *end, out[32];
	unsigned long long v;
	int neg = 0, base = 10;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p[0] == '0' && p[1] == 'b') {
		base = 2;
		digits = "01_";
		p += 2;
	} else if (p[0] == '0' && p[1] == 'x') {
		base = 16;
		digits = "0123456789abcdefABCDEF_";
		p += 2;
	} else if (p[0] == '0' && p[1] != '\0') {
		base = 8;
		digits = "01234567_";
		p++;
	} else {
		digits = "0123456789_";
		if (*p == '_' || (p[0] == '0' && p[1] != '\0'))
			return NULL;
	}
	if (*p == '\0' || strspn(p, digits) != strlen(p))
		return NULL;
	clean = no_underscores(p);
	errno = 0;
	v = *clean ? strtoull(clean, &end, base) : 0;
	if (errno == ERANGE || (*clean && *end)) {
		free(clean);
		return NULL;
	}
	free(clean);
	snprintf(out, sizeof(out), "%s%llu", neg && v ? "-" : "", v);
	return dbm_xstrdup(out);
}

/* A float as Python's repr() writes it: the shortest digits that read
 * back the same, positional when the exponent is in -4..15. */
static char *
float_repr(double x)
{
	char e[40], digits[20], out[64], *p;
	int prec, exp, nd, i, o = 0;

	if (isnan(x))
		return dbm_xstrdup("nan");
	if (isinf(x))
		return dbm_xstrdup(x < 0 ? "-inf" : "inf");
	for (prec = 0; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, x);
		if (strtod(e, NULL) == x)
			break;
	}
	p = e;
	if (*p == '-')
		out[o++] = *p++;
	for (nd = 0; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	if (exp < -4 || exp >= 16) {
		out[o++] = digits[0];
		if (nd > 1)
			o += snprintf(out + o, sizeof(out) - (size_t)o, ".%s",
			    digits + 1);
		snprintf(out + o, sizeof(out) - (size_t)o, "e%c%02d",
		    exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		o += snprintf(out + o, sizeof(out) - (size_t)o, "0.");
		for (i = -1; i > exp; i--)
			out[o++] = '0';
		snprintf(out + o, sizeof(out) - (size_t)o, "%s", digits);
	} else {
		for (i = 0; i <= exp; i++)
			out[o++] = i < nd ? digits[i] : '0';
		out[o++] = '.';
		if (nd <= exp + 1)
			out[o++] = '0';
		for (; i < nd; i++)
			out[o++] = digits[i];
		out[o] = '\0';
	}
	return dbm_xstrdup(out);
}

/* A float as PyYAML reads it ([-+]?digits.digits[eE][-+]digits, or
 * .inf, .nan), or NULL. */
static char *
float_str(const char *s)
{
	const char *p = s;
	char *clean, *r;
	int sign = 0;

	if (*p == '-' || *p == '+')
		sign = *p++;
	if (strcmp(p, ".inf") == 0 || strcmp(p, ".Inf") == 0 ||
	    strcmp(p, ".INF") == 0)
		return dbm_xstrdup(sign == '-' ? "-inf" : "inf");
	if (!sign && (strcmp(p, ".nan") == 0 || strcmp(p, ".NaN") == 0 ||
	    strcmp(p, ".NAN") == 0))
		return dbm_xstrdup("nan");
	if (*p == '.' && !sign)
		p++;		/* .5 (unsigned): digits after the point only */
	else if (*p >= '0' && *p <= '9')
		p += strspn(p, "0123456789_");
	else
		return NULL;
	if (p == s || (p[-1] != '.' && *p++ != '.'))
		return NULL;
	p += strspn(p, "0123456789_");
	if ((*p == 'e' || *p == 'E') && (p[1] == '-' || p[1] == '+') &&
	    p[2] >= '0' && p[2] <= '9')
		p += 2 + strspn(p + 2, "0123456789");
	if (*p != '\0' || strcmp(s, ".") == 0 || strspn(s, "+-._") == strlen(s))
		return NULL;
	clean = no_underscores(s);
	r = float_repr(strtod(clean, NULL));
	free(clean);
	return r;
}

char *
dbm_yaml_pystr(const yaml_node_t *n)
{
	const char *s;
	char *r;
	int b;

	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	s = (const char *)n->data.scalar.value;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return dbm_xstrdup(s);
	if (is_null(s))
		return NULL;
	if (is_bool(s, &b))
		return dbm_xstrdup(b ? "True" : "False");
	if ((r = int_str(s)) != NULL || (r = float_str(s)) != NULL)
		return r;
	return dbm_xstrdup(s);
}

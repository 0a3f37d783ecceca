/* libyaml document helpers: see yamldoc.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

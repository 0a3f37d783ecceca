/* libyaml document helpers: see yamldoc.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "yamldoc.h"

int
dbm_yaml_load(const char *path, yaml_document_t *doc, struct dbm_err *e)
{
	yaml_parser_t ps;
	FILE *f;
	int rc = 0;

	if ((f = fopen(path, "rb")) == NULL)
		return dbm_err_sys(e, "%s", path);
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

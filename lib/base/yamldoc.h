/*
 * Small helpers over libyaml's document API, shared by the readers of
 * MLproject files and environment files.
 */
#ifndef DBM_YAMLDOC_H
#define DBM_YAMLDOC_H

#include <yaml.h>

#include "err.h"

/* Parse path's first document; errors name file:line:col. */
int dbm_yaml_load(const char *path, yaml_document_t *doc, struct dbm_err *e);
/* The value of key in mapping map, or NULL (map may be NULL). */
yaml_node_t *dbm_yaml_get(yaml_document_t *d, yaml_node_t *map,
    const char *key);
/* A scalar's text, or NULL for any other node. */
const char *dbm_yaml_str(const yaml_node_t *n);
/* What str() of the value PyYAML loads from scalar n reads (MLflow's
 * parameter defaults pass through it): True and False for the YAML 1.1
 * booleans, ints in decimal, floats as Python's repr(), quoted scalars as
 * written. NULL for null or a node that is no scalar. malloc'd. */
char *dbm_yaml_pystr(const yaml_node_t *n);
/* An input error at node n of file: file:line:col: message. Returns -1. */
int dbm_yaml_bad(struct dbm_err *e, const char *file, const yaml_node_t *n,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif

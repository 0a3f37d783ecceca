/*
 * What workspace.c and workspace_dbc.c (DBC archives) share:
 * workspace_meta.c, below both.
 */
#ifndef EMU_WORKSPACE_INT_H
#define EMU_WORKSPACE_INT_H

#include "emu.h"

#define NOTEBOOK_MAX	(10 * 1024 * 1024)	/* import and export: 10 MB */

/* Where canon's notebook mark is kept (malloc'd). */
char *ws_meta_path(struct emu *e, const char *canon);
/* The notebook language of canon (PYTHON, SQL, SCALA, R; malloc'd), or
 * NULL for a plain file; set it (NULL: a plain file). */
char *ws_notebook_language(struct emu *e, const char *canon);
void ws_set_notebook(struct emu *e, const char *canon, const char *lang);
/* What a zip export holds of the object at disk (canon): its bytes in
 * data and the extension its name gets in *ext; 0, 1 to leave it out, -1
 * on an error. */
typedef int (*ws_zip_entry)(struct req *r, const char *disk,
    const char *canon, struct dbm_buf *data, const char **ext);
/* The zip archive of the object or folder at disk (canon), named after it,
 * each object as fn makes it, into out: 0, or -1 with the answer in *res
 * (a 10 MB cap). */
int ws_zip_export(struct req *r, const char *disk, const char *canon,
    ws_zip_entry fn, struct dbm_buf *out, enum MHD_Result *res);

/* workspace_dbc.c: a DBC archive of the notebook or folder at disk
 * (canon) into out: 0, or -1 with the answer in *res. Import one into
 * canon: the answer. */
int ws_dbc_export(struct req *r, const char *disk, const char *canon,
    struct dbm_buf *out, enum MHD_Result *res);
enum MHD_Result ws_dbc_import(struct req *r, const char *canon,
    const struct dbm_buf *c, int overwrite);

#endif

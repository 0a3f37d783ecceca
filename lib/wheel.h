/*
 * Wheel content labels: a wheel's version with a PEP 440 local label
 * derived from what it installs, 1.0 becoming 1.0+g<12 hex>, so a changed
 * build is a new version (which pip installs over the old one on a
 * cluster that has it) and an unchanged build the same version and bytes.
 * See wheel-label(1).
 */
#ifndef DBM_WHEEL_H
#define DBM_WHEEL_H

#include "err.h"

/* The label of the wheel at path: "g" and 12 hex of SHA-256 over the
 * names and SHA-256 of its files outside .dist-info, in name order; 13
 * bytes and a NUL into label. 0, or -1 with *e. */
int dbm_wheel_label(const char *path, char label[14], struct dbm_err *e);

/* Write the wheel at in, labelled, into folder dir (NULL: in's): its
 * METADATA Version, its .dist-info folder, RECORD and file name carry the
 * new version (an earlier g label replaced); its other bytes, entry order
 * and times are in's. *out gets the new path (malloc'd); when in carries
 * its label already, *out is in and nothing is written. 0, or -1 with *e
 * (nothing left behind). */
int dbm_wheel_relabel(const char *in, const char *dir, char **out,
    struct dbm_err *e);

#endif

/* Shared helpers of the unit suites: a fake environment and temp dirs. */
#ifndef UNIT_H
#define UNIT_H

#include <check.h>

Suite *suite_json(void);
Suite *suite_http(void);
Suite *suite_auth(void);
Suite *suite_branch(void);
Suite *suite_upload(void);
Suite *suite_multipart(void);
Suite *suite_emu(void);
Suite *suite_yaml(void);

/* A fake environment for functions that take a getenv function. */
void fakeenv_clear(void);
void fakeenv_set(const char *name, const char *value);
const char *fakeenv_get(const char *name);

/* A fresh temporary directory (removed at exit of the test process). */
const char *tmpdir_make(void);
/* Write a file; returns its path in a static buffer. */
const char *write_file(const char *dir, const char *name, const char *text);
/* Run a shell command in dir; fails the test when it fails. */
void sh(const char *dir, const char *fmt, ...);

#endif

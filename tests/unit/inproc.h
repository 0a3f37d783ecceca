/* A workspace-emu in the test's own process (inproc.c). */
#ifndef INPROC_H
#define INPROC_H

struct emu;

/* Start, once per process, an emulator on a loopback port: its HTTP
 * server, routes, credential check and stores, with a fresh data
 * directory, accepting the bearer token `token`, and its request log in
 * DATADIR/../requests.jsonl. Aborts when it cannot. Stopped at exit. */
struct emu *inproc_emu(const char *token);

/* Lines in its request log so far. */
int inproc_requests(void);
/* Lines of its request log, from line `from` (0-based) on, that hold
 * text. */
int inproc_requests_with(int from, const char *text);

#endif

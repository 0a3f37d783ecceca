/*
 * workspace-emu: a local Databricks workspace in one process. Shared types
 * of its modules: the server state, the per-request context and the
 * helpers handlers use to answer.
 */
#ifndef EMU_H
#define EMU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "b64.h"
#include "buf.h"
#include "json.h"

/* The one workspace this emulator is (workspace ids are numeric strings). */
#define EMU_WORKSPACE_ID "1000000000000001"
/* and the account it belongs to (account ids are UUIDs) */
#define EMU_ACCOUNT_ID "00000000-0000-4000-8000-00000000e3e1"

struct clusters;
struct faults;
struct entra;
struct federation;
struct handles;
struct jobs;

struct emu_client {
	char *id, *secret;
};

struct route;

struct emu {
	char *datadir;		/* absolute */
	char url[128];		/* http://127.0.0.1:PORT */
	char **tokens;
	int ntokens;
	struct emu_client *clients;
	int nclients;
	long token_ttl;		/* seconds, for issued OAuth tokens */
	unsigned char key[32];	/* signs issued OAuth tokens; persisted */
	char *mlflow_url;	/* upstream MLflow tracking server, or NULL */
	const char *user_name;	/* the workspace user tokens act as */
	struct faults *faults;
	FILE *log;
	pthread_mutex_t log_mu;
	struct handles *handles;
	struct jobs *jobs;
	struct federation *federation;	/* workload identity federation */
	struct entra *entra;		/* Entra ID service principals */
	char **refresh;		/* refresh tokens of the CLI's login */
	int nrefresh;
	struct clusters *clusters;	/* all-purpose clusters */
	/* limits, as the real service has them (lowerable for tests) */
	long long put_max;	/* dbfs/put multipart: 2 GB */
	long long inline_max;	/* dbfs/put contents, add-block data: 1 MB */
	long long read_max;	/* dbfs/read length: 1 MB */
	long long files_put_max;	/* Files API single PUT: 5 GiB */
	long long json_max;	/* any JSON request body */
	long handle_idle;	/* seconds before a DBFS handle expires */
	unsigned max_conn;	/* connections (threads) at once */
	long header_secs;	/* a new connection's headers due by then */
	struct deadlines *deadlines;	/* their watchdog (deadline.c) */
	const char *hold_dir;	/* where held requests show (faults_hold) */
	/* what kind of workspace (PROTOCOL.md section 15): a new account's
	 * by default (no DBFS root, runtimes from 13.3 LTS) */
	int legacy_dbfs;	/* the DBFS root and old runtimes allowed */
	int serverless_only;	/* no classic compute (Free Edition) */
	atomic_int stopping;	/* set once the server is stopping */
	int verbose;
	/* what the services give the server (routes.c, emu_wire) */
	const struct route *routes;	/* tried in order */
	size_t nroutes;
	/* 1 if tok is a credential the services issued, *principal then
	 * malloc'd (personal access tokens are checked before) */
	int (*issued)(struct emu *e, const char *tok, const char *mgmt,
	    char **principal);
};

enum body_mode {
	BODY_NONE,	/* the body is ignored */
	BODY_JSON,	/* kept in memory (JSON or form), up to json_max */
	BODY_FILE,	/* streamed to a temporary file */
	BODY_FORM,	/* multipart/form-data through the route's form, else
			 * as BODY_JSON */
	BODY_PROXY,	/* kept for the upstream MLflow server */
};

struct req;
struct multipart;

/* A multipart/form-data body parser that a route brings along. */
struct emu_form {
	int (*begin)(struct req *r);	/* 0, or -1: malformed */
	int (*feed)(struct req *r, const char *data, size_t n);
	void (*free)(struct req *r);
};

typedef enum MHD_Result (*emu_handler)(struct req *r);

#define ROUTE_PREFIX	1	/* path is a prefix */
#define ROUTE_PUBLIC	2	/* no credentials needed */
#define ROUTE_BROWSER	16	/* pages and the UI: a token, or Basic
				 * token:<token>, which a 401 asks for */
#define ROUTE_CUT_REPLY	4	/* the drop fault cuts GET answers half way
				 * instead of dropping the request */
#define ROUTE_JSON	8	/* the body must be JSON: parsed (or the 400
				 * answered) before the handler runs */

struct route {
	const char *method;	/* NULL: any; GET matches HEAD too */
	const char *path;
	int flags;
	enum body_mode mode;
	emu_handler fn;
	const struct emu_form *form;	/* BODY_FORM */
	/* Before the body is read or room is made for it: a check of what
	 * the headers and URL carry (a signature); it answers to refuse. */
	emu_handler admit;
};

/* The route of e->routes for a canonical request path (server.c); *rest
 * gets the path after a prefix route's prefix, from its slash. */
const struct route *emu_route_find(const struct emu *e, const char *method,
    const char *path, const char **rest);

/* Where an API path lives under the data directory (dbfs/, workspace/).
 * ROOT_FILES: the Files API's, where /Volumes/ is DBFS's and /Models/
 * (Unity Catalog's model files, PROTOCOL.md section 19) a storage of its
 * own, which the DBFS API does not reach. */
enum store_root { ROOT_DBFS, ROOT_WORKSPACE, ROOT_FILES };

struct req {
	struct emu *emu;
	struct MHD_Connection *conn;
	const char *method;
	char *path;		/* decoded request path */
	const struct route *route;
	const char *rest;	/* path after the route's prefix */
	enum body_mode mode;
	struct dbm_buf body;
	int fd;			/* BODY_FILE / multipart file part, or -1 */
	int store_errno;	/* why storing the body failed, or 0 */
	char *tmp;		/* its path, removed unless handed over */
	int too_big;
	struct multipart *mp;
	long long bytes_in, bytes_out;
	long long drop_after;	/* fault: drop the connection after this */
	int lose;		/* fault: handle it, then lose the answer */
	unsigned int status;
	double t0;
	const char *fault;	/* name of an injected fault, for the log */
	int answered;
	int logged;		/* its request-log line is written */
	struct dbm_json json;	/* parsed JSON body (BODY_JSON) */
	char *principal;	/* who the credential stands for, or NULL */
	int have_json;
};

/* Answers. Each queues the response and returns what MHD wants back. */
enum MHD_Result emu_reply(struct req *r, unsigned int status,
    const char *ctype, const char *body, size_t len);
enum MHD_Result emu_reply_json(struct req *r, unsigned int status,
    const char *json);
enum MHD_Result emu_reply_redirect(struct req *r, unsigned int status,
    const char *location);
enum MHD_Result emu_reply_error(struct req *r, unsigned int status,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with an ErrorInfo detail naming the reason (the Files API's
 * FILES_API_DIRECTORY_IS_NOT_EMPTY, ...). */
/* Whether err (else the request's store_errno) is a full disk, and the
 * answer to one: 500 IO_ERROR naming it (PROTOCOL.md section 6). */
int emu_nospace(const struct req *r, int err);
enum MHD_Result emu_reply_nospace(struct req *r);
enum MHD_Result emu_reply_error_reason(struct req *r, unsigned int status,
    const char *code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A file's bytes [off, off+len); takes fd. */
enum MHD_Result emu_reply_fd(struct req *r, unsigned int status, int fd,
    off_t off, off_t len, const char *ctype, struct MHD_Response **out);
enum MHD_Result emu_queue(struct req *r, unsigned int status,
    struct MHD_Response *resp);

/* A request parameter: query argument, else a field of a multipart form,
 * else string/number/bool member of the JSON body (GET requests from
 * some clients carry a JSON body).
 * Returns malloc'd text or NULL. */
char *emu_param(struct req *r, const char *name);
/* A whole-number parameter (a handle, a run id) in *v: 0, or -1 when it
 * is missing or not a number, the 400 INVALID_PARAMETER_VALUE answer with
 * message why in *res. */
int emu_param_id(struct req *r, const char *name, const char *why,
    long long *v, enum MHD_Result *res);
/* Boolean parameter: 1, 0, or def when absent. */
int emu_param_bool(struct req *r, const char *name, int def);
/* The request's Content-Length when it gives one up to cap; else 0. */
long long emu_body_size(struct req *r, long long cap);
/* The most of r's body kept in memory (reply.c): PUBLIC_BODY_MAX on a
 * route without credentials, json_max for JSON, no bound for MLflow's. */
#define PUBLIC_BODY_MAX ((long long)64 << 10)
long long emu_body_max(const struct req *r);
/* Map path p (store_map); answers 400 INVALID_PARAMETER_VALUE and
 * returns NULL when it is not acceptable. */
char *emu_map(struct req *r, enum store_root root, const char *p,
    char **canon, enum MHD_Result *res);
/* Whether the caller may see workspace path canon (no /Workspace): a
 * folder /Users/<name> is its owner's and the admin's (the workspace's
 * user), as the service's default ACLs have it (PROTOCOL.md section 3). */
int emu_home_visible(const struct req *r, const char *canon);
/* The same for the parameter name, which is required. */
char *emu_path_param(struct req *r, enum store_root root, const char *name,
    char **canon, enum MHD_Result *res);
/* Parse the JSON body into r->json; answers 400 and returns -1 if bad. */
int emu_need_json(struct req *r, enum MHD_Result *res);

/* The multipart/form-data form of upload endpoints (form.c): small
 * fields kept, the file part streamed to r->tmp (at most put_max). */
extern const struct emu_form emu_upload_form;
/* 1 when the body was a whole, well-formed form within the limits. */
int emu_form_ok(struct req *r);
/* A field's text, or NULL when the form has none. */
const char *emu_form_field(struct req *r, const char *name);
/* The file part's bytes (so far), and whether there was one. */
long long emu_form_size(struct req *r);
int emu_form_has_file(struct req *r);
/* Close r->tmp with the file part (empty without one): 0, or -1. */
int emu_form_file(struct req *r);



/* Storage: map an API path to a file under the data directory. */
/* Validate and map apipath; returns malloc'd disk path or NULL with *why
 * (a static message) when the path is not acceptable. *canon (when canon
 * is not NULL) gets the canonical API path for messages and listings:
 * single slashes, no dbfs: and, for the workspace, no /Workspace. */
char *store_map(struct emu *e, enum store_root root, const char *apipath,
    char **canon, const char **why);
/* mkdir -p of dir; -1 with errno (ENOTDIR when a file is in the way). */
int store_mkdirs(const char *dir);
/* mkdir -p of path's parent directory. */
int store_mkparents(const char *path);
/* A new temporary file in the data directory, open for writing: its
 * descriptor; fills *path. Given a size over 1 MiB (what is about to be
 * written; whoever writes less truncates), its blocks come up front. */
int store_tmpfd(struct emu *e, char **path, long long size);
/* The same, closed: 0 or -1. */
int store_tmpfile(struct emu *e, char **path);
/* A new temporary file holding len bytes of data; fills *path. */
int store_write_tmp(struct emu *e, const void *data, size_t len, char **path);
/* Move tmp to dst (parents made): overwrite, or fail with EEXIST. */
int store_commit(const char *tmp, const char *dst, int overwrite);
/* A record written whole: data to a temporary file renamed over path
 * (its folders made). 0, or -1 with errno. */
int store_write_file(struct emu *e, const char *path, const void *data,
    size_t len);
/* rm -rf. */
int store_remove_tree(const char *path);
/* Sorted names in dir (NULL-terminated, caller frees with store_names_free). */
char **store_list(const char *dir, int *n);
/* The same, and *dfd an open descriptor of dir (-1 on failure) for
 * fstatat on the names: no path walk a name. */
char **store_list_at(const char *dir, int *n, int *dfd);
void store_names_free(char **names);

/* 1 if the Authorization header value hdr carries a credential this
 * workspace accepts, *principal then getting who it stands for (malloc'd);
 * *sent tells whether a token was sent (auth.c: a personal access token,
 * else e->issued): a bearer token, or Basic "token:<token>", which is how
 * a browser sends one to the UI's routes. */
int emu_auth_bearer(struct emu *e, const char *hdr, const char *mgmt,
    int *sent, char **principal);
/* The same for the token itself. */
int emu_auth_token(struct emu *e, const char *tok, const char *mgmt,
    char **principal);

/* Append r's line to the request log, once (reqlog.c). */
void emu_log_request(struct req *r);

/* Faults: parse --faults; decide one for a request. */
struct faults *faults_parse(const char *spec, unsigned long seed,
    const char **why);
void faults_free(struct faults *f);
enum fault_kind { FAULT_NONE, FAULT_429, FAULT_503, FAULT_DROP, FAULT_DELAY,
	FAULT_HOLD, FAULT_LOSE };
enum fault_kind faults_pick(struct faults *f, const char *method,
    const char *path, long *param);
/* 1 if a rule of that kind is in f. */
int faults_have(const struct faults *f, enum fault_kind kind);
/* Hold the request until the test releases it (e->hold_dir). */
void faults_hold(struct emu *e, const char *method, const char *path);

#endif

/*
 * workspace-emu jobs: what the files of the jobs module share (jobs.c has
 * the map). Called with jobs->mu held where a comment says so.
 */
#ifndef EMU_JOBS_INT_H
#define EMU_JOBS_INT_H

#include "emu.h"

#define LOG_MAX (5 * 1024 * 1024)

/* A task's life cycle state (the Jobs API's life_cycle_state); the
 * names are jobs_life_name's. */
enum life { LIFE_QUEUED, LIFE_PENDING, LIFE_RUNNING, LIFE_TERMINATING,
	LIFE_TERMINATED, LIFE_SKIPPED, LIFE_INTERNAL_ERROR };

struct task {
	long long run_id;
	char *key;
	const char *kind;	/* shell_command_task, spark_python_task, ... */
	char *task_json;	/* the task field's value */
	char *cluster_json;	/* new_cluster, or NULL */
	char *existing;		/* existing_cluster_id, or NULL */
	char *libraries;	/* JSON array */
	char *env_key;		/* serverless: environment_key, or NULL */
	char *env_spec;		/* and its environment's spec (JSON) */
	char *setup_error;	/* a failure known at submit, for the start */
	long timeout;
	enum life life;
	const char *result, *code, *type;
	char *message;
	long long start, setup_end, exec_end, end;
	pid_t pid;
	int exit_code;
	char *dir;
	char *mlflow_run, *mlflow_exp;
	char *python;		/* its interpreter (jobs_task_python), or NULL */
	char *python_note;	/* why that is not its runtime's Python */
	struct run *run;
	char **deps;		/* depends_on task keys */
	int ndeps;
	int keep;		/* a repair leaves it as it ended */
};

struct run {
	long long run_id, job_id, submitted;
	char *name, *token;
	int legacy;
	int job_run;		/* run_type JOB_RUN (run-now), else SUBMIT_RUN */
	struct task *t;
	int nt;
	long timeout;
	int cancel;
	int live;		/* its runner thread still holds it */
	long long *repairs;	/* runs/repair ids, oldest first */
	int nrepairs;
	struct emu *e;
	int *order;		/* task indexes, dependencies first */
	struct dbm_buf rec;	/* its newest record, not yet written */
	int unsaved;		/* jobs_flush_run calls owed (rec may be empty) */
	struct run *next;
};

/* A job made with jobs/create: its settings as given (JSON text). */
struct jobdef {
	long long id, created;
	char *settings;
	struct jobdef *next;
};

struct commands;

struct jobs {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_mutex_t wmu;	/* run records are written one at a time */
	struct run *runs;
	struct jobdef *defs;
	struct commands *commands;	/* execution contexts (jobs_command.c) */
	long long next_id, next_job;
	int running, max;
	char *python, *cluster;
	pthread_mutex_t pymu;	/* the interpreters below, as asked */
	struct jobs_py {
		char *key;	/* a runtime (13.3) or a Python (3.10) */
		char *path;
		int minor;	/* its Python 3 minor, -1 none, -2 not asked */
	} *py;
	int npy;
	int base_minor;		/* python's, as py[].minor */
#define JOBS_PY_MINORS 26
	char *onpath[JOBS_PY_MINORS];	/* python3.N found on PATH: NULL not
					 * asked, "" none */
	char *pythons;		/* jobs_pythons, once asked */
};

/*
 * The folder's files call downward only, in this order (t0005 checks
 * that no calls form a circle):
 * jobs_run (the model), jobs_store (saving and loading runs), jobs_state
 * (state changes), jobs_proc (processes and paths), jobs_serverless,
 * jobs_env (environments), jobs_argv (a task's command), jobs_exec (a
 * task's run), jobs_sched (the scheduler), jobs_submit, jobs_json (a run
 * as the API writes it), jobs_runnow, jobs_merge, then the endpoints
 * (jobs_api, jobs_list, jobs_defs, jobs_repair, jobs_page, jobs_command)
 * and jobs.c (start and stop).
 */

/* jobs_run.c: the run model */
extern const char *const jobs_task_kinds[];
/* Whether a task in state life has ended. */
int jobs_terminal(enum life life);
/* The API's name of a state, and the state of a name (-1: none). */
const char *jobs_life_name(enum life life);
int jobs_life_parse(const char *name);
/* The run with id id, or holding the task with id id (*task then set);
 * jobs->mu held. */
struct run *jobs_find_run(struct jobs *js, long long id, struct task **task);
void jobs_free_run(struct run *r);

/* jobs_state.c: set a task's state, or end it with its result (takes
 * jobs->mu; saved) */
void jobs_set_state(struct emu *e, struct task *t, enum life life);
void jobs_finish(struct emu *e, struct task *t, enum life life,
    const char *result, const char *code, const char *type, const char *msg);

/* jobs_python.c: the interpreter of a task, its runtime's Python or the
 * closest one there is (t->python; t->python_note then says so) */
const char *jobs_task_python(struct emu *e, struct task *t);
/* Every Python 3 the emulator has, one a minor version (the one given
 * for it, the base, python3.N on PATH), as "3.N=PATH:..." for the
 * cluster helper (a python_env project's pin); asked once. */
const char *jobs_pythons(struct jobs *js);
/* The index of the nearest of n minor versions have[] to want (-1 in
 * have: none; a tie goes to the older), or -1. */
int jobs_python_closest(int want, const int *have, int n);

/* jobs_proc.c: processes and paths */
/* s with workspace paths turned into files under the data directory. */
char *jobs_map_paths(struct emu *e, const char *taskdir, const char *s);
char **jobs_env_add(char **env, int *n, const char *k, const char *v);
void jobs_strv_free(char **v);
/* A line of workspace-emu's own at the end of a task's log. */
void jobs_log_note(const char *log, const char *note);
/* Start argv in dir, its own process group, output to log: the pid. */
pid_t jobs_spawn(char **argv, char **env, const char *dir, const char *log);
/* The environment tasks and the helper run with (venv: the task's). */
char **jobs_base_env(struct emu *e, struct task *t, const char *venv, int *n);
/* Run the cluster helper (dbmlops_cluster.py args...); its exit status. */
int jobs_helper(struct emu *e, struct task *t, const char *const *args);
/* The last line of a file (malloc'd), for messages. */
char *jobs_last_line(const char *path);
/* Kill every process task run_id left, in any process group or session. */
void jobs_sweep(struct emu *e, long long run_id);

/* jobs_exec.c: a task's run, from its cluster to its end */
void jobs_exec_task(struct emu *e, struct run *r, struct task *t);

/* jobs_sched.c: the thread that runs a run's tasks */
void *jobs_runner(void *arg);

/* Tasks a page of Jobs 2.2's runs/get and jobs/get (and the most
 * expand_tasks lists). */
#define TASKS_PAGE 100

/* jobs_json.c: a page's has_more, next_page_token (when more) and
 * prev_page_token (prev >= 0) */
void jobs_page_tokens(struct dbm_jw *w, int more, long long next,
    long long prev);
/* Key token k of j onto w. */
void jobs_raw_key(struct dbm_jw *w, const struct dbm_json *j, int k);
/* A run as runs/get answers it, with count of its tasks from from (count
 * -1: all, 0: none, and a next_page_token when some are left); the lock
 * held */
void jobs_run_json(struct emu *e, struct run *r, struct dbm_jw *w, int from,
    int count);

/* jobs_submit.c: runs/submit, and the runs of run-now */
struct jobs_start {
	long long job_id;	/* the job run-now starts, or 0: a one-time run */
	int check_only;		/* jobs/create and reset: check, start nothing */
	long long run_id;	/* out: the run started */
};
int jobs_start(struct emu *e, const struct dbm_json *j, int v2,
    struct jobs_start *s, char **why);
enum MHD_Result jobs_submit(struct req *q, int v2);

/* jobs_defs.c: jobs/create, get, list, reset, update, delete, run-now */
void jobs_load_defs(struct emu *e);
void jobs_free_defs(struct jobs *js);
/* The job the request's job_id names, jobs->mu then held; or NULL, the
 * 400 answered in *res. */
struct jobdef *jobs_request_job(struct req *q, enum MHD_Result *res);

/* jobs_merge.c: jobs/update's settings (malloc'd JSON) from the job's s
 * and the request rq */
char *jobs_merged(const struct dbm_json *s, const struct dbm_json *rq);

/* jobs_runnow.c: what a job's settings make of a run */
/* Member iteration over object t: the key token of member i is k, its
 * value k + 1. */
#define EACH_MEMBER(j, t, i, k) \
	for ((i) = 0, (k) = (t) + 1; (i) < dbm_json_count((j), (t)); \
	    (i)++, (k) = dbm_json_skip((j), (k) + 1))
/* NULL when settings (JSON text) make a run runs/submit takes, else the
 * 400 message. */
char *jobs_settings_error(struct emu *e, const char *settings);
/* Start job job_id's run from its settings s and the run-now request rq:
 * NULL with *run_id, or the 400 message. */
char *jobs_run_now(struct emu *e, long long job_id, const struct dbm_json *s,
    const struct dbm_json *rq, long long *run_id);

/* jobs_argv.c: the command of a task, paths mapped; NULL with *err when
 * it is bad (a shell task's env_vars are added to *envp). */
char **jobs_task_argv(struct emu *e, struct task *t, const char *venv,
    char ***envp, int *nenv, char **err);

/* jobs_command.c: execution contexts; end them (at shutdown). */
void jobs_commands_stop(struct emu *e);

/* jobs_env.c: cluster environments */
int jobs_cluster_env(struct emu *e, struct task *t, char **site, char **err);
char **jobs_env_object(struct emu *e, struct task *t,
    const struct dbm_json *j, int obj, char **env, int *n, char **err);
int jobs_cluster_env_vars(struct emu *e, struct task *t, char ***envp,
    int *nenv, char **err);
/* The same for a task's start: its venv made (0), its spark_env_vars
 * added (0); -1 with the task ended, as the service ends it. */
int jobs_task_venv(struct emu *e, struct task *t, const char *venv);
int jobs_task_env_vars(struct emu *e, struct task *t, char ***env,
    int *nenv);

/* jobs_serverless.c: serverless tasks (environments) */
/* The request's environments[] as the service checks them. */
int jobs_environments_check(const struct dbm_json *j, char **why);
/* A task with an environment_key: its environment's dependencies become
 * its libraries (requirement lines). 0 for other tasks. */
int jobs_serverless_task(const struct dbm_json *j, int obj, struct task *t,
    char **why);
char *jobs_serverless_file_error(struct emu *e, const struct task *t);


/* jobs_repair.c: runs/repair (the route's handler is in api.h) */

/* jobs_store.c: persistence. jobs_save_run makes the run's record with
 * jobs->mu held; jobs_flush_run writes it once the lock is released, so
 * no request waits on the disk. Every save owes one flush; runs/delete
 * waits for the flushes owed, and the newest record is the one that
 * stays on disk. */
void jobs_save_run(struct emu *e, struct run *r);
void jobs_flush_run(struct emu *e, struct run *r);
void jobs_load_runs(struct emu *e);

#endif

/*
 * workspace-emu jobs, the floor of the folder: the run model. A run's
 * tasks, their kinds, the states that end a task, finding a run or task
 * by id, and freeing one. Nothing here locks, saves or runs anything.
 */
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

const char *const jobs_task_kinds[] = {
	"shell_command_task", "spark_python_task", "python_wheel_task", NULL,
};

static const char *const LIFE_NAMES[] = {"QUEUED", "PENDING", "RUNNING",
	"TERMINATING", "TERMINATED", "SKIPPED", "INTERNAL_ERROR"};

int
jobs_terminal(enum life life)
{
	return life == LIFE_TERMINATED || life == LIFE_SKIPPED ||
	    life == LIFE_INTERNAL_ERROR;
}

const char *
jobs_life_name(enum life life)
{
	return (unsigned)life < sizeof(LIFE_NAMES) / sizeof(*LIFE_NAMES) ?
	    LIFE_NAMES[life] : "INTERNAL_ERROR";
}

int
jobs_life_parse(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(LIFE_NAMES) / sizeof(*LIFE_NAMES); i++)
		if (strcmp(LIFE_NAMES[i], name) == 0)
			return (int)i;
	return -1;
}

struct run *
jobs_find_run(struct jobs *js, long long id, struct task **task)
{
	struct run *r;
	int i;

	for (r = js->runs; r; r = r->next) {
		if (r->run_id == id) {
			if (task)
				*task = NULL;
			return r;
		}
		for (i = 0; i < r->nt; i++) {
			if (r->t[i].run_id == id) {
				if (task)
					*task = &r->t[i];
				return r;
			}
		}
	}
	return NULL;
}

void
jobs_free_run(struct run *r)
{
	int i;

	for (i = 0; i < r->nt; i++) {
		struct task *t = &r->t[i];

		free(t->key);
		free(t->task_json);
		free(t->cluster_json);
		free(t->existing);
		free(t->libraries);
		free(t->env_key);
		free(t->env_spec);
		free(t->setup_error);
		free(t->python);
		free(t->python_note);
		free(t->message);
		free(t->dir);
		free(t->mlflow_run);
		free(t->mlflow_exp);
		while (t->ndeps > 0)
			free(t->deps[--t->ndeps]);
		free(t->deps);
	}
	free(r->t);
	free(r->order);
	free(r->repairs);
	dbm_buf_free(&r->rec);
	free(r->name);
	free(r->token);
	free(r);
}

/* workspace-emu: the Jobs API and the task runner (jobs.c). */
#ifndef EMU_JOBS_H
#define EMU_JOBS_H

#include "emu.h"

/* python: the base interpreter of run environments (has MLflow);
 * cluster: the directory of dbmlops_cluster.py and bin/mlflow. */
int emu_jobs_init(struct emu *e, const char *python, const char *cluster,
    int max_runs);
/* --python-for KEY=PATH: the interpreter of runs on runtime KEY (13.3),
 * or of those whose runtime runs Python KEY (3.10): 0, or -1 with *why. */
int emu_jobs_python_for(struct emu *e, const char *spec, const char **why);
/* Cancel what runs and wait for it (at shutdown). */
void emu_jobs_stop(struct emu *e);

#endif

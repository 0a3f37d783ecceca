/*
 * workspace-emu clusters: what clusters.c (the clusters and their states)
 * and libraries.c (the libraries installed on them) share.
 */
#ifndef EMU_CLUSTERS_INT_H
#define EMU_CLUSTERS_INT_H

#include "emu.h"

struct cluster_event {
	long long ts;
	const char *type;	/* CREATING, STARTING, RUNNING, ... */
};

struct cluster_lib {
	char *json;		/* the compute.Library, compact */
	const char *status;	/* PENDING, INSTALLED, FAILED,
				 * UNINSTALL_ON_RESTART */
	char *message;		/* why it FAILED, or NULL */
	int from_run;		/* a run's: gone when the cluster restarts */
};

struct cluster {
	char *id, *name;
	char *spec;		/* what create or edit sent (JSON) */
	const char *state;	/* PENDING RUNNING RESTARTING TERMINATING
				 * TERMINATED */
	double ready;		/* when PENDING, RESTARTING, TERMINATING end */
	long long start_time, terminated_time, changed;
	int created;		/* by clusters/create: kept on disk */
	struct cluster_event *ev;
	int nev;
	struct cluster_lib *lib;
	int nlib;
};

struct clusters {
	pthread_mutex_t mu;
	struct cluster *c;
	int n;
	int loaded;		/* the created ones read from disk */
};

/* clusters.c */
struct clusters *clusters_lock(struct emu *e);	/* mu then held */
struct cluster *clusters_find(struct emu *e, struct clusters *cs,
    const char *id);
/* The request's cluster_id's cluster, mu held; NULL: answered. */
struct cluster *clusters_request(struct req *r, struct clusters **csp,
    enum MHD_Result *res);
void clusters_save(struct emu *e, const struct cluster *c);
void clusters_free_one(struct cluster *c);
/* The members of object t of j onto w but those named in skip. */
void clusters_members(struct dbm_jw *w, const struct dbm_json *j, int t,
    const char *const *skip);

/* cluster_libs.c */
void clusters_lib_add(struct cluster *c, const char *json, const char *status);
/* Install l on its running cluster: INSTALLED, or FAILED with why. */
void clusters_lib_install(struct emu *e, struct cluster_lib *l);
/* The cluster has started: its pending libraries install (or fail), those
 * marked for uninstalling go (the caller saves the cluster). */
void clusters_libs_started(struct emu *e, struct cluster *c);

#endif

/*
 * Injected faults (--faults): a comma-separated list of rules
 *
 *     KIND[=PARAM]:RATE[@GLOB]
 *
 * KIND is 429 or 503 (PARAM: Retry-After seconds; 429 defaults to 1, 503 to
 * none), drop (the connection is closed half way through the request body,
 * or before the answer, or half way through a file download) or delay
 * (PARAM: milliseconds, default 500). RATE is the probability in [0, 1].
 * GLOB, matched with fnmatch(3) against the request path, limits the rule
 * (for example /api/2.0/fs/files followed by a star). The first rule that fires wins. Draws come from one
 * seeded generator, so a run with the same seed and request order repeats.
 */
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"

struct rule {
	enum fault_kind kind;
	long param;
	double rate;
	char *glob;
};

struct faults {
	struct rule *rules;
	int n;
	unsigned long long state;
	pthread_mutex_t mu;
};

void
faults_free(struct faults *f)
{
	int i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++)
		free(f->rules[i].glob);
	free(f->rules);
	free(f);
}

struct faults *
faults_parse(const char *spec, unsigned long seed, const char **why)
{
	struct faults *f = dbm_xcalloc(1, sizeof(*f));
	char *copy = dbm_xstrdup(spec), *save = NULL, *tok;

	pthread_mutex_init(&f->mu, NULL);
	f->state = seed * 2654435761ULL + 0x9e3779b97f4a7c15ULL;
	for (tok = strtok_r(copy, ",", &save); tok;
	    tok = strtok_r(NULL, ",", &save)) {
		struct rule r = {FAULT_NONE, -1, 0, NULL};
		char *colon = strchr(tok, ':'), *at, *eq, *end;

		if (colon == NULL) {
			*why = "a rule needs KIND:RATE";
			goto bad;
		}
		*colon = '\0';
		if ((at = strchr(colon + 1, '@')) != NULL) {
			*at = '\0';
			r.glob = dbm_xstrdup(at + 1);
		}
		if ((eq = strchr(tok, '=')) != NULL) {
			*eq = '\0';
			r.param = strtol(eq + 1, &end, 10);
			if (*end || r.param < 0) {
				*why = "the parameter after '=' must be a "
				    "whole number";
				free(r.glob);
				goto bad;
			}
		}
		if (strcmp(tok, "429") == 0) {
			r.kind = FAULT_429;
			if (!eq)
				r.param = 1;
		} else if (strcmp(tok, "503") == 0) {
			r.kind = FAULT_503;
		} else if (strcmp(tok, "drop") == 0) {
			r.kind = FAULT_DROP;
		} else if (strcmp(tok, "delay") == 0) {
			r.kind = FAULT_DELAY;
			if (!eq)
				r.param = 500;
		} else {
			*why = "unknown fault kind (429, 503, drop, delay)";
			free(r.glob);
			goto bad;
		}
		r.rate = strtod(colon + 1, &end);
		if (*end || r.rate < 0 || r.rate > 1) {
			*why = "the rate must be a number from 0 to 1";
			free(r.glob);
			goto bad;
		}
		f->rules = dbm_xrealloc(f->rules, (size_t)(f->n + 1) *
		    sizeof(*f->rules));
		f->rules[f->n++] = r;
	}
	free(copy);
	return f;
bad:
	free(copy);
	faults_free(f);
	return NULL;
}

/* xorshift64*: a uniform draw in [0, 1). */
static double
draw(struct faults *f)
{
	unsigned long long x;

	pthread_mutex_lock(&f->mu);
	x = f->state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	f->state = x;
	pthread_mutex_unlock(&f->mu);
	return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

enum fault_kind
faults_pick(struct faults *f, const char *method, const char *path,
    long *param)
{
	int i;

	if (f == NULL)
		return FAULT_NONE;
	for (i = 0; i < f->n; i++) {
		struct rule *r = &f->rules[i];

		if (r->glob && fnmatch(r->glob, path, 0) != 0)
			continue;
		if (draw(f) < r->rate) {
			*param = r->param;
			return r->kind;
		}
	}
	return FAULT_NONE;
}

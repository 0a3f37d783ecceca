/*
 * Injected faults (--faults): a comma-separated list of rules
 *
 *     KIND[=PARAM]:RATE[@GLOB]
 *
 * KIND is 429 or 503 (PARAM: Retry-After seconds; 429 defaults to 1, 503 to
 * none), drop (the connection is closed half way through the request body,
 * or before the answer, or half way through a file download), lose (the
 * request is handled, then the connection is closed instead of answering:
 * the client cannot tell whether it took effect; PARAM: how many requests
 * the rule loses, default all) or delay
 * (PARAM: milliseconds, default 500) or hold (the request waits, before
 * its body is read, until a test releases it: see faults_hold; PARAM: how
 * many requests the rule holds, default all). RATE is the probability in
 * [0, 1].
 * GLOB, matched with fnmatch(3) against the request path, limits the rule
 * (for example /api/2.0/fs/files followed by a star). The first rule that fires wins. Draws come from one
 * seeded generator, so a run with the same seed and request order repeats.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"

struct rule {
	enum fault_kind kind;
	long param;
	long left;	/* hold: requests still to hold, or -1: all */
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
		struct rule r = {FAULT_NONE, -1, -1, 0, NULL};
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
		} else if (strcmp(tok, "lose") == 0) {
			r.kind = FAULT_LOSE;
			r.left = eq ? r.param : -1;
		} else if (strcmp(tok, "delay") == 0) {
			r.kind = FAULT_DELAY;
			if (!eq)
				r.param = 500;
		} else if (strcmp(tok, "hold") == 0) {
			r.kind = FAULT_HOLD;
			r.left = eq ? r.param : -1;
		} else {
			*why = "unknown fault kind (429, 503, drop, lose, "
			    "delay, hold)";
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

int
faults_have(const struct faults *f, enum fault_kind kind)
{
	int i;

	for (i = 0; f && i < f->n; i++)
		if (f->rules[i].kind == kind)
			return 1;
	return 0;
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
			if (r->kind == FAULT_HOLD || r->kind == FAULT_LOSE) {
				int spent;

				pthread_mutex_lock(&f->mu);
				spent = r->left == 0;
				if (r->left > 0)
					r->left--;
				pthread_mutex_unlock(&f->mu);
				if (spent)
					continue;
			}
			*param = r->param;
			return r->kind;
		}
	}
	return FAULT_NONE;
}

/*
 * A held request: the file HOLD_DIR/N (N counts held requests from 1)
 * appears, holding "METHOD PATH\n", once the request has arrived and
 * before its body is read; the request goes on when the file is removed,
 * when the emulator stops, or after ten minutes. A test waits for the
 * file (the request is under way), acts, then removes it: events, not
 * sleeps.
 */
void
faults_hold(struct emu *e, const char *method, const char *path)
{
	static atomic_ulong count;
	char name[PATH_MAX], tmp[PATH_MAX + 8];
	unsigned long n = atomic_fetch_add(&count, 1) + 1;
	struct timespec tick = {0, 10 * 1000000L};
	FILE *f;
	int i, fd;

	snprintf(name, sizeof(name), "%s/%lu", e->hold_dir, n);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	/* written whole, then renamed: a test never reads half a line */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		fprintf(stderr, "workspace-emu: %s: %s\n", tmp,
		    strerror(errno));
		return;
	}
	fprintf(f, "%s %s\n", method, path);
	if (fclose(f) != 0 || rename(tmp, name) < 0) {
		unlink(tmp);
		return;
	}
	for (i = 0; i < 60000 && !atomic_load(&e->stopping); i++) {
		if (access(name, F_OK) < 0 && errno == ENOENT)
			return;
		while (nanosleep(&tick, NULL) < 0 && errno == EINTR)
			;
	}
	unlink(name);
}

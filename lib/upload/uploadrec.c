/*
 * The record of content-addressed uploads: see uploadrec.h.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "hashcache.h"
#include "uploadrec.h"

#define KEEP 20000		/* lines kept when the file is rewritten */

struct dbm_uploadrec {
	char *file, *host;
	char **have;		/* "<size> <remote>" of this host, sorted */
	size_t n;
	struct dbm_buf add;	/* lines to append */
	size_t lines;		/* in the file, all hosts */
	pthread_mutex_t mu;
};

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct dbm_uploadrec *
dbm_uploadrec_open(const char *host)
{
	struct dbm_uploadrec *r;
	char *file = dbm_cache_file("uploads"), *line = NULL;
	size_t cap = 0, hl = strlen(host);
	ssize_t len;
	FILE *f;

	if (file == NULL)
		return NULL;
	r = dbm_xcalloc(1, sizeof(*r));
	r->file = file;
	r->host = dbm_xstrdup(host);
	pthread_mutex_init(&r->mu, NULL);
	if ((f = fopen(file, "r")) == NULL)
		return r;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		r->lines++;
		/* <host> <size> <remote> */
		if ((size_t)len > hl + 1 && strncmp(line, host, hl) == 0 &&
		    line[hl] == ' ') {
			r->have = dbm_xrealloc(r->have, (r->n + 1) *
			    sizeof(*r->have));
			r->have[r->n++] = dbm_xstrdup(line + hl + 1);
		}
	}
	free(line);
	fclose(f);
	if (r->n > 0)		/* qsort and bsearch want an array */
		qsort(r->have, r->n, sizeof(*r->have), cmp);
	return r;
}

int
dbm_uploadrec_has(struct dbm_uploadrec *r, const char *remote, long long size)
{
	struct dbm_buf k = DBM_BUF_INIT;
	const char *key;
	int hit;

	if (r == NULL || r->n == 0)
		return 0;
	dbm_buf_printf(&k, "%lld %s", size, remote);
	key = k.data;
	hit = bsearch(&key, r->have, r->n, sizeof(*r->have), cmp) != NULL;
	dbm_buf_free(&k);
	return hit;
}

void
dbm_uploadrec_add(struct dbm_uploadrec *r, const char *remote, long long size)
{
	if (r == NULL || dbm_uploadrec_has(r, remote, size) ||
	    strchr(remote, '\n'))
		return;
	pthread_mutex_lock(&r->mu);
	dbm_buf_printf(&r->add, "%s %lld %s\n", r->host, size, remote);
	pthread_mutex_unlock(&r->mu);
}

/* Keep the newest KEEP lines of the file (under the lock). */
static void
trim_file(struct dbm_uploadrec *r)
{
	struct dbm_buf in = DBM_BUF_INIT, tmp = DBM_BUF_INIT;
	size_t nl = 0, i;
	FILE *f;

	if (dbm_buf_read_file(&in, r->file, 64 << 20) < 0)
		goto out;
	for (i = in.len; i > 0; i--)
		if (in.data[i - 1] == '\n' && i != in.len && ++nl == KEEP)
			break;
	dbm_buf_printf(&tmp, "%s.%ld.tmp", r->file, (long)getpid());
	if ((f = fopen(tmp.data, "w")) == NULL)
		goto out;
	if (fwrite(in.data + i, 1, in.len - i, f) != in.len - i) {
		fclose(f);
		unlink(tmp.data);
		goto out;
	}
	if (fclose(f) != 0 || rename(tmp.data, r->file) != 0)
		unlink(tmp.data);
out:
	dbm_buf_free(&in);
	dbm_buf_free(&tmp);
}

void
dbm_uploadrec_close(struct dbm_uploadrec *r)
{
	struct dbm_buf lock = DBM_BUF_INIT;
	size_t i;
	int lfd, fd;

	if (r == NULL)
		return;
	if (r->add.len) {
		char *p;

		for (p = r->file + 1; (p = strchr(p, '/')) != NULL; p++) {
			*p = '\0';	/* the folders, as mkdir -p */
			mkdir(r->file, 0700);
			*p = '/';
		}
		dbm_buf_printf(&lock, "%s.lock", r->file);
		lfd = open(lock.data, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (lfd >= 0 && flock(lfd, LOCK_EX) == 0) {
			fd = open(r->file, O_WRONLY | O_CREAT | O_APPEND |
			    O_CLOEXEC, 0600);
			if (fd >= 0) {
				if (write(fd, r->add.data, r->add.len) < 0)
					(void)0;	/* a cache: best effort */
				close(fd);
			}
			if (r->lines > 2 * KEEP)
				trim_file(r);
		}
		if (lfd >= 0)
			close(lfd);
	}
	for (i = 0; i < r->n; i++)
		free(r->have[i]);
	free(r->have);
	free(r->file);
	free(r->host);
	dbm_buf_free(&r->add);
	dbm_buf_free(&lock);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/*
 * A driver for the fuzz targets where clang's libFuzzer is not at hand
 * (make fuzz with gcc, the CI tier): it runs the target on every file of
 * the corpus directories, then on mutations of them for a time budget
 * (bit flips, inserted, deleted and repeated bytes, ranges copied from
 * another input, bursts of nesting, long lines), from a seeded generator.
 * Built with AddressSanitizer and UndefinedBehaviorSanitizer, so a crash,
 * a leak or undefined behaviour fails the run; the input that did it is
 * written to crash-<n> first. Not coverage-guided: libFuzzer goes deeper.
 *
 *     fuzz-<target> [-max_total_time=SECONDS] [-seed=N] DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* AddressSanitizer calls it before it ends the process on an error. */
void __sanitizer_set_death_callback(void (*callback)(void));

#define MAX_INPUT (256 * 1024)

struct input {
	uint8_t *data;
	size_t size;
};

static struct input *corpus;
static size_t ncorpus;
static unsigned long long rng = 88172645463325252ULL;
static uint8_t *current;
static size_t current_size;

static unsigned long long
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
add(const uint8_t *p, size_t n)
{
	corpus = realloc(corpus, (ncorpus + 1) * sizeof(*corpus));
	if (corpus == NULL)
		abort();
	corpus[ncorpus].data = malloc(n ? n : 1);
	if (corpus[ncorpus].data == NULL)
		abort();
	memcpy(corpus[ncorpus].data, p, n);
	corpus[ncorpus++].size = n;
}

static void
load(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		perror(dir);
		exit(2);
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		uint8_t *buf = malloc(MAX_INPUT);
		FILE *f;
		size_t n;

		if (de->d_name[0] == '.' || buf == NULL) {
			free(buf);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((f = fopen(path, "rb")) != NULL) {
			n = fread(buf, 1, MAX_INPUT, f);
			fclose(f);
			add(buf, n);
		}
		free(buf);
	}
	closedir(d);
}

/* Write the input being run, for the report of a crash. */
static void
save(const char *why)
{
	char name[64];
	FILE *f;

	snprintf(name, sizeof(name), "crash-%llu", (unsigned long long)time(NULL));
	if ((f = fopen(name, "wb")) != NULL) {
		fwrite(current, 1, current_size, f);
		fclose(f);
		fprintf(stderr, "fuzz: %s: input written to %s\n", why, name);
	}
}

static void
on_abort(void)
{
	if (current)
		save("failed");
}

static void
run(const uint8_t *p, size_t n)
{
	/* a copy of exactly n bytes, so reads past the end are caught */
	current = malloc(n ? n : 1);
	if (current == NULL)
		abort();
	memcpy(current, p, n);
	current_size = n;
	LLVMFuzzerTestOneInput(current, n);
	free(current);
	current = NULL;
}

static size_t
mutate(uint8_t *buf, size_t n, size_t cap)
{
	int k, rounds = 1 + (int)(next() % 4);
	const char *burst[] = {"[", "{\"a\":", "- ", "  ", "\\", "\"", "%2e%2e/",
		"\n", "\xc3\xa9", "\xff", "{{", "}}", "../", "//", "\0"};

	for (k = 0; k < rounds; k++) {
		size_t at = n ? next() % (n + 1) : 0, len, i;
		const struct input *o;

		switch (next() % 7) {
		case 0:		/* flip a bit */
			if (n)
				buf[next() % n] ^= (uint8_t)(1u << (next() % 8));
			break;
		case 1:		/* a random byte in */
			if (n < cap) {
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = (uint8_t)next();
				n++;
			}
			break;
		case 2:		/* a range out */
			if (n) {
				at %= n;
				len = 1 + next() % (n - at);
				memmove(buf + at, buf + at + len, n - at - len);
				n -= len;
			}
			break;
		case 3: {	/* a token, repeated: deep nesting, long lines */
			const char *t = burst[next() % (sizeof(burst) /
			    sizeof(*burst))];
			size_t tl = strlen(t) ? strlen(t) : 1, times = 1 +
			    next() % (next() % 8 == 0 ? 20000 : 16);

			for (i = 0; i < times && n + tl <= cap; i++) {
				memmove(buf + at + tl, buf + at, n - at);
				memcpy(buf + at, t, tl);
				n += tl;
			}
			break;
		}
		case 4:		/* a range of another input */
			o = &corpus[next() % ncorpus];
			if (o->size) {
				size_t from = next() % o->size;

				len = 1 + next() % (o->size - from);
				if (n + len <= cap) {
					memmove(buf + at + len, buf + at, n - at);
					memcpy(buf + at, o->data + from, len);
					n += len;
				}
			}
			break;
		case 5:		/* a range repeated in place */
			if (n) {
				size_t from = next() % n;

				len = 1 + next() % (n - from);
				if (len > 256)
					len = 256;
				if (n + len <= cap) {
					memmove(buf + at + len, buf + at, n - at);
					memmove(buf + at, buf + (from < at ? from :
					    from + len), len);
					n += len;
				}
			}
			break;
		default:	/* cut short */
			n = at;
			break;
		}
	}
	return n;
}

int
main(int argc, char *argv[])
{
	long budget = 10;
	unsigned long long seed = (unsigned long long)time(NULL), runs = 0;
	time_t end;
	uint8_t *buf;
	int i;

	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "-max_total_time=", 16) == 0)
			budget = atol(argv[i] + 16);
		else if (strncmp(argv[i], "-seed=", 6) == 0)
			seed = strtoull(argv[i] + 6, NULL, 10);
		else if (argv[i][0] != '-')
			load(argv[i]);
	}
	if (ncorpus == 0)
		add((const uint8_t *)"", 0);
	rng ^= seed * 0x9E3779B97F4A7C15ULL;
	if (rng == 0)
		rng = 1;
	__sanitizer_set_death_callback(on_abort);
	for (i = 0; i < (int)ncorpus; i++)
		run(corpus[i].data, corpus[i].size);
	buf = malloc(MAX_INPUT);
	if (buf == NULL)
		abort();
	end = time(NULL) + budget;
	while (time(NULL) < end) {
		const struct input *c = &corpus[next() % ncorpus];
		size_t n = c->size < MAX_INPUT ? c->size : MAX_INPUT;

		memcpy(buf, c->data, n);
		n = mutate(buf, n, MAX_INPUT);
		run(buf, n);
		runs++;
	}
	fprintf(stderr, "fuzz: %s: %llu inputs in %lds (seed %llu), no "
	    "failure\n", argv[0], runs, budget, seed);
	free(buf);
	for (i = 0; i < (int)ncorpus; i++)
		free(corpus[i].data);
	free(corpus);
	return 0;
}

/* libFuzzer target: the MLproject reader (libyaml, nesting limit, entry
 * points, parameters) and the command templating must refuse or accept any
 * file without crashing or leaking. The input is written as an MLproject
 * file in a private directory, as mlflow-submit reads one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlproject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbm_mlproject p;
	struct dbm_err e;
	struct dbm_buf cmd = DBM_BUF_INIT;
	struct dbm_kv given[1] = {{"alpha", "0.5"}}, *out = NULL;
	char path[128];
	FILE *f;
	int nout = 0, i;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-mlproject.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	snprintf(path, sizeof(path), "%s/MLproject", dir);
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	if (dbm_mlproject_load(dir, &p, &e) < 0) {
		dbm_mlproject_free(&p);
		return 0;
	}
	for (i = 0; i < p.ne; i++) {
		dbm_buf_reset(&cmd);
		if (dbm_mlproject_resolve(&p, p.e[i].name, given, 1, &out, &nout,
		    &cmd, &e) == 0)
			dbm_kv_free(out, nout);
		out = NULL;
		nout = 0;
	}
	if (dbm_mlproject_resolve(&p, "train.py", given, 1, &out, &nout, &cmd,
	    &e) == 0)
		dbm_kv_free(out, nout);
	dbm_buf_free(&cmd);
	dbm_mlproject_free(&p);
	return 0;
}

/* libFuzzer target: the JSON reader must reject or accept any input without
 * crashing, and what it accepts must survive lookups and unescaping. */
#include <stdint.h>
#include <stdlib.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbm_json j;
	struct dbm_err e;
	int t;

	if (dbm_json_parse(&j, (const char *)data, size, "fuzz", &e) < 0)
		return 0;
	for (t = 0; t < j.ntok; t++) {
		char *s = dbm_json_strdup(&j, t);
		long long v;

		free(s);
		dbm_json_int(&j, t, &v);
		dbm_json_skip(&j, t);
	}
	free(dbm_json_get_str(&j, "a.0.b"));
	dbm_json_free(&j);
	return 0;
}

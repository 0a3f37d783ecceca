/* libFuzzer target: wheelpath-subst's engine on any YAML, JSON or
 * requirements text: no crash, and a result it accepts holds no placeholder
 * in a scalar (it checks that itself). The first byte picks the type. */
#include <stdint.h>
#include <string.h>

#include "subst.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dbm_wheels ws;
	struct dbm_subst_result res;
	struct dbm_err e;
	enum dbm_subst_type type;

	if (ws.n == 0) {
		dbm_wheels_add(&ws, "dbfs:/w/abc/pkg_a-1.0-py3-none-any.whl", &e);
		dbm_wheels_add(&ws, "/Volumes/c/s/v/pkg-b-2.0-py3-none-any.whl",
		    &e);
	}
	if (size < 1)
		return 0;
	type = data[0] % 3 == 0 ? DBM_SUBST_YAML : data[0] % 3 == 1 ?
	    DBM_SUBST_JSON : DBM_SUBST_REQS;
	if (dbm_subst("fuzz", (const char *)data + 1, size - 1, type, "WHEELPATH",
	    &ws, &res, &e) == 0)
		dbm_subst_result_free(&res);
	return 0;
}

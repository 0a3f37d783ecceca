/* libFuzzer target: workspace-emu's handling of what a request brings
 * before any handler runs, and of the JSON bodies the strictest handler
 * checks: the path canonicaliser and the route table (a canonical path
 * must be a fixed point, and never climb above the root), the mapping of
 * API paths into the data directory (never outside it), and the
 * runs/submit environments[] check. The input is "path\nbody". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"
#include "routes.h"
#include "server.h"
#include "jobs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct emu e;
	const char *nl = memchr(data, '\n', size), *rest, *why;
	size_t plen = nl ? (size_t)(nl - (const char *)data) : size;
	char *path = dbm_xstrndup((const char *)data, plen), *again, *disk,
	    *canon = NULL;
	struct dbm_json j;
	struct dbm_err je;
	char *msg = NULL;

	e.datadir = "/nonexistent/fuzz-data";
	emu_wire(&e);
	emu_canon_path(path);
	again = dbm_xstrdup(path);
	emu_canon_path(again);
	if (strcmp(again, path) != 0)
		abort();	/* canonical means stable */
	if (path[0] == '/' && (strstr(path, "/../") || strstr(path, "//") ||
	    strstr(path, "/./")))
		abort();
	emu_route_find(&e, "GET", path, &rest);
	emu_route_find(&e, "POST", path, &rest);
	disk = store_map(&e, plen % 2 ? ROOT_DBFS : ROOT_WORKSPACE, path,
	    &canon, &why);
	if (disk && strncmp(disk, e.datadir, strlen(e.datadir)) != 0)
		abort();	/* out of the data directory */
	free(disk);
	free(canon);
	free(again);
	free(path);
	if (nl && dbm_json_parse(&j, nl + 1, size - plen - 1, "body",
	    &je) == 0) {
		if (jobs_environments_check(&j, &msg) < 0)
			free(msg);
		dbm_json_free(&j);
	}
	return 0;
}

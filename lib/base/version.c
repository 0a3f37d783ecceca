/* The --version line: see version.h. */
#include <stdio.h>

#include "dbm_version.h"	/* generated: DBM_VERSION, DBM_COMMIT */
#include "version.h"

const char *
dbm_version(void)
{
	return DBM_VERSION;
}

void
dbm_print_version(const char *prog)
{
	if (DBM_COMMIT[0])
		printf("%s %s (commit %s)\n", prog, DBM_VERSION, DBM_COMMIT);
	else
		printf("%s %s\n", prog, DBM_VERSION);
}

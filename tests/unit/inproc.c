/*
 * A workspace-emu in the test's own process: the unit suites and the fuzz
 * targets drive the client library or raw requests against the real
 * server side (libmicrohttpd, routes, auth, DBFS, Files, workspace
 * stores) without starting a process, and under the sanitizers both
 * sides are checked at once. Jobs and MLflow are not set up: tests of
 * those need the Python tiers.
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "emu.h"
#include "api.h"
#include "inproc.h"
#include "routes.h"
#include "server.h"

static struct emu e;
static struct MHD_Daemon *daemon_;
static char dir[64], logpath[128];

/* At exit, the server stops (its connections ended), so what they held is
 * freed before the leak check, and its files go. */
static void
stop(void)
{
	char cmd[96];

	MHD_stop_daemon(daemon_);
	if (e.log)
		fclose(e.log);
	free(e.tokens[0]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

struct emu *
inproc_emu(const char *token)
{
	static char data[96];
	static char *tokens[1];
	static const char *const sub[] = {"dbfs", "workspace", "wsmeta", "tmp",
		"jobs", "workspace/Shared"};
	struct sockaddr_in a;
	char path[160];
	size_t i;
	const char *why;

	if (daemon_)
		return &e;
	snprintf(dir, sizeof(dir), "%s/dbm-inproc.XXXXXX",
	    getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(logpath, sizeof(logpath), "%s/requests.jsonl", dir);
	tokens[0] = strdup(token);
	e.datadir = data;
	e.tokens = tokens;
	e.ntokens = 1;
	/* the service's limits, as workspace-emu's main sets them */
	e.put_max = 2LL << 30;
	e.inline_max = 1 << 20;
	e.read_max = 1 << 20;
	e.files_put_max = 5LL << 30;
	e.json_max = 16 << 20;
	e.handle_idle = 600;
	e.token_ttl = 3600;
	e.user_name = "unit@example.com";
	e.max_conn = 64;
	e.legacy_dbfs = 1;	/* the suites write trees to DBFS */
	pthread_mutex_init(&e.log_mu, NULL);
	if (store_mkdirs(data) < 0)
		abort();
	for (i = 0; i < sizeof(sub) / sizeof(*sub); i++) {
		snprintf(path, sizeof(path), "%s/%s", data, sub[i]);
		if (store_mkdirs(path) < 0)
			abort();
	}
	if ((e.log = fopen(logpath, "a")) == NULL || emu_oauth_init(&e) < 0)
		abort();
	emu_wire(&e);
	emu_dbfs_init(&e);
	if (emu_uc_seed(&e, NULL, &why) < 0 ||
	    emu_uc_seed(&e, "main.default.unit", &why) < 0)
		abort();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((daemon_ = emu_start(&e, (const struct sockaddr *)&a)) == NULL)
		abort();
	atexit(stop);
	snprintf(e.url, sizeof(e.url), "http://127.0.0.1:%u",
	    (unsigned)MHD_get_daemon_info(daemon_,
	    MHD_DAEMON_INFO_BIND_PORT)->port);
	return &e;
}

int
inproc_requests_with(int from, const char *text)
{
	FILE *f = fopen(logpath, "r");
	char line[8192];
	int i = 0, n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += i++ >= from && (text == NULL || strstr(line, text) != NULL);
	fclose(f);
	return n;
}

int
inproc_requests(void)
{
	return inproc_requests_with(0, NULL);
}

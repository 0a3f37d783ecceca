/* libFuzzer target: workspace-emu's handling of a request body, whole: a
 * real emulator in this process (its HTTP server, routes, credential
 * check, body limits, and the multipart callbacks over libmicrohttpd's post
 * processor) on a loopback port. Each input is a body sent over a socket;
 * its first byte picks the request: a dbfs/put (multipart with a plain or
 * a quoted boundary, or JSON), a token-less part of a multipart upload
 * (/mpu-part/, checked by its signature only), the MLflow proxy's public
 * browser routes (/ajax-api/, /graphql: no MLflow behind this one, so the
 * body is read and refused), a Unity Catalog model version, and a model
 * version's file. The server must keep serving: a crash in its threads
 * ends the run under ASan. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "emu.h"
#include "inproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned port;

/* The requests: method and path, content type, whether it carries the
 * token. */
static const struct kind {
	const char *line, *type;
	int token;
} kinds[] = {
	{"POST /api/2.0/dbfs/put", "multipart/form-data; boundary=XyZ", 1},
	{"POST /api/2.0/dbfs/put", "multipart/form-data; boundary=\"a b\"", 1},
	{"POST /api/2.0/dbfs/put", "application/json", 1},
	{"PUT /mpu-part/0123456789abcdef/1?sig=00", "application/octet-stream", 0},
	{"POST /ajax-api/2.0/mlflow/runs/search", "application/json", 0},
	{"POST /graphql", "application/json", 0},
	{"POST /api/2.0/mlflow/unity-catalog/model-versions/create",
	    "application/json", 1},
	{"PUT /api/2.0/fs/files/Models/main/default/m/1/MLmodel",
	    "application/octet-stream", 1},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct kind *k;
	struct sockaddr_in a;
	struct timeval tv = {5, 0};
	char head[512], buf[4096];
	int fd, n;
	size_t off = 0;

	if (port == 0)
		port = (unsigned)strtoul(strrchr(inproc_emu("fuzz-token")->url,
		    ':') + 1, NULL, 10);
	if (size < 1)
		return 0;
	k = &kinds[data[0] % (sizeof(kinds) / sizeof(*kinds))];
	n = snprintf(head, sizeof(head), "%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "%sContent-Type: %s\r\nContent-Length: %zu\r\nConnection: "
	    "close\r\n\r\n", k->line, k->token ? "Authorization: Bearer "
	    "fuzz-token\r\n" : "", k->type, size - 1);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		abort();
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		abort();	/* the server is gone */
	if (write(fd, head, (size_t)n) == n) {
		while (off < size - 1) {
			ssize_t w = write(fd, data + 1 + off, size - 1 - off);

			if (w <= 0)
				break;		/* the server may answer early */
			off += (size_t)w;
		}
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return 0;
}

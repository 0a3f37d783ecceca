/* libFuzzer target: workspace-emu's handling of a dbfs/put upload, whole:
 * a real emulator in this process (its HTTP server, routes, credential
 * check, and the multipart callbacks over libmicrohttpd's post processor)
 * on a loopback port. Each input is the body of a POST /api/2.0/dbfs/put,
 * sent over a socket; its first byte picks the content type (multipart
 * with a plain or a quoted boundary, or JSON). The server must keep
 * serving: a crash in its threads ends the run under ASan. */
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		"multipart/form-data; boundary=XyZ",
		"multipart/form-data; boundary=\"a b\"",
		"application/json",
	};
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
	n = snprintf(head, sizeof(head), "POST /api/2.0/dbfs/put HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAuthorization: Bearer fuzz-token\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n", types[data[0] % 3], size - 1);
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

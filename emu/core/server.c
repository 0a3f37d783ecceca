/*
 * workspace-emu's HTTP side: the libmicrohttpd glue. Each request's path is
 * made canonical, routed (routes.c), authenticated (auth.c) and given an
 * injected fault once, before any handler runs; its body is kept in
 * memory, streamed to a temporary file or fed to the route's form parser.
 * Nothing here knows any API.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "emu.h"
#include "server.h"

/*
 * Canonical form of a decoded request path, in place: repeated slashes
 * become one, "." and ".." segments are resolved as RFC 3986 section 5.2.4
 * removes dot segments (".." at the root stays at the root). A trailing
 * slash, or a trailing dot segment, leaves a trailing slash. Routing and
 * the credential check see this path, so "/x/../api/..." and "//api/..."
 * are the API they name and need a token like it.
 */
void
emu_canon_path(char *path)
{
	char *w = path, *p = path;
	int trail = 0;

	if (*p != '/')
		return;		/* not origin-form: no route matches it */
	while (*p) {
		const char *seg;
		size_t n;

		while (*p == '/')
			p++;
		if (*p == '\0') {
			trail = 1;
			break;
		}
		seg = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - seg);
		trail = 0;
		if (n == 1 && seg[0] == '.') {
			trail = 1;
			continue;
		}
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (w > path && *--w != '/')
				;
			trail = 1;
			continue;
		}
		*w++ = '/';
		memmove(w, seg, n);
		w += n;
	}
	if (w == path || trail)
		*w++ = '/';
	*w = '\0';
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const struct route *
emu_route_find(const struct emu *e, const char *method, const char *path,
    const char **rest)
{
	size_t i, n;

	for (i = 0; i < e->nroutes; i++) {
		const struct route *rt = &e->routes[i];
		int prefix = (rt->flags & ROUTE_PREFIX) != 0;

		if (rt->method && strcmp(rt->method, method) != 0 &&
		    !(strcmp(rt->method, "GET") == 0 &&
		    strcmp(method, "HEAD") == 0))
			continue;
		n = strlen(rt->path);
		if (prefix ? strncmp(path, rt->path, n) == 0 :
		    strcmp(path, rt->path) == 0) {
			*rest = path + (prefix ? n - 1 : n);
			return rt;
		}
	}
	return NULL;
}

/* A 401 a browser answers with a login prompt: the user name is the word
 * token, the password a token. */
static enum MHD_Result
ask_login(struct req *r)
{
	static const char body[] = "Log in with the user name token and a "
	    "workspace token as the password.\n";
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
	    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Content-Type", "text/plain");
	MHD_add_response_header(resp, "WWW-Authenticate",
	    "Basic realm=\"workspace-emu\", charset=\"UTF-8\"");
	r->bytes_out = (long long)sizeof(body) - 1;
	return emu_queue(r, 401, resp);
}

/* The request's credentials, when its route needs them: 0, or -1 with
 * the 401 or 403 queued in *res. */
static int
authenticate(struct req *r, enum MHD_Result *res)
{
	const char *hdr;
	int sent;

	if (r->route == NULL || (r->route->flags & ROUTE_PUBLIC))
		return 0;
	hdr = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Authorization");
	if (emu_auth_bearer(r->emu, hdr, MHD_lookup_connection_value(r->conn,
	    MHD_HEADER_KIND, "X-Databricks-Azure-SP-Management-Token"), &sent,
	    &r->principal))
		return 0;
	if (!sent && (r->route->flags & ROUTE_BROWSER))
		*res = ask_login(r);
	else if (!sent)
		*res = emu_reply_error(r, 401, "UNAUTHENTICATED", "Credential "
		    "was not sent or was of an unsupported type for this API.");
	else
		*res = emu_reply_error(r, 403, "PERMISSION_DENIED",
		    "Invalid access token.");
	return -1;
}

/* An injected fault: 1 with the answer queued in *res (429, 503), else
 * 0 with the request marked (drop, lose) or delayed or held. */
static int
inject(struct req *r, enum MHD_Result *res)
{
	struct MHD_Response *resp;
	const char *body, *cl;
	enum fault_kind fk;
	long param = 0;
	char ra[32];

	fk = faults_pick(r->emu->faults, r->method, r->path, &param);
	switch (fk) {
	case FAULT_429:
	case FAULT_503:
		body = fk == FAULT_429 ?
		    "{\"error_code\":\"REQUEST_LIMIT_EXCEEDED\",\"message\":"
		    "\"Too many requests (injected fault).\"}" :
		    "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\",\"message\":"
		    "\"The service is temporarily unavailable (injected "
		    "fault).\"}";
		r->fault = fk == FAULT_429 ? "429" : "503";
		resp = MHD_create_response_from_buffer(strlen(body),
		    (void *)body, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Content-Type",
		    "application/json");
		if (param >= 0) {
			snprintf(ra, sizeof(ra), "%ld", param);
			MHD_add_response_header(resp, "Retry-After", ra);
		}
		r->bytes_out = (long long)strlen(body);
		*res = emu_queue(r, fk == FAULT_429 ? 429 : 503, resp);
		return 1;
	case FAULT_DROP:
		cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
		    "Content-Length");
		r->drop_after = cl ? strtoll(cl, NULL, 10) : 0;
		break;
	case FAULT_LOSE:
		r->fault = "lose";
		r->lose = 1;
		break;
	case FAULT_DELAY:
		r->fault = "delay";
		sleep_ms(param);
		break;
	case FAULT_HOLD:
		r->fault = "hold";
		faults_hold(r->emu, r->method, r->path);
		break;
	default:
		break;
	}
	return 0;
}

/* First call for a request: route, authenticate, pick a fault. */
static enum MHD_Result
begin(struct req *r, int *done)
{
	struct emu *e = r->emu;
	const char *rest = NULL;
	enum MHD_Result res;

	*done = 1;
	emu_canon_path(r->path);
	r->route = emu_route_find(e, r->method, r->path, &rest);
	r->rest = rest;
	if (authenticate(r, &res) < 0 || inject(r, &res))
		return res;
	*done = 0;
	if (r->route == NULL) {
		*done = 1;
		return emu_reply_error(r, 404, "ENDPOINT_NOT_FOUND",
		    "No API found for '%s %s'", r->method, r->path);
	}
	if (r->route->admit) {
		res = r->route->admit(r);
		if (r->answered) {
			*done = 1;
			return res;
		}
	}
	r->mode = r->route->mode;
	if (r->mode == BODY_FORM) {
		const char *ct = MHD_lookup_connection_value(r->conn,
		    MHD_HEADER_KIND, "Content-Type");

		r->mode = ct && strncasecmp(ct, "multipart/form-data", 19) == 0
		    && r->route->form ? BODY_FORM : BODY_JSON;
		if (r->mode == BODY_FORM && r->route->form->begin(r) < 0) {
			*done = 1;
			return emu_nospace(r, 0) ? emu_reply_nospace(r) :
			    emu_reply_error(r, 400, "MALFORMED_REQUEST",
			    "Invalid multipart/form-data body");
		}
	}
	if (r->mode == BODY_FILE && (r->fd = store_tmpfd(e, &r->tmp,
	    emu_body_size(r, e->files_put_max))) < 0) {
		*done = 1;
		return emu_nospace(r, errno) ? emu_reply_nospace(r) :
		    emu_reply_error(r, 500, "INTERNAL_ERROR",
		    "Cannot create a temporary file: %s", strerror(errno));
	}
	return MHD_YES;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The connection's header deadline (deadline.c), or NULL. */
static struct deadline *
conn_deadline(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct emu *e = cls;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = ci != NULL ?
		    emu_deadline_open(e->deadlines, ci->connect_fd) : NULL;
	} else {
		emu_deadline_close(e->deadlines, *socket_context);
		*socket_context = NULL;
	}
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data,
    size_t *size, void **state)
{
	struct emu *e = cls;
	struct req *r = *state;
	int done;
	enum MHD_Result res;

	if (r == NULL) {
		r = dbm_xcalloc(1, sizeof(*r));
		r->emu = e;
		r->conn = conn;
		r->method = method;
		r->path = dbm_xstrdup(url);
		r->fd = -1;
		r->drop_after = -1;
		r->t0 = dbm_now();
		*state = r;
		emu_deadline_busy(e->deadlines, conn_deadline(conn), 1);
		res = begin(r, &done);
		if (done || res != MHD_YES)
			return res;
		return MHD_YES;
	}
	if (r->answered) {	/* answered early: discard the body */
		r->bytes_in += (long long)*size;
		*size = 0;
		return MHD_YES;
	}
	if (*size > 0) {
		size_t n = *size;

		r->bytes_in += (long long)n;
		*size = 0;
		if (r->drop_after >= 0 && r->bytes_in > r->drop_after / 2 + 1) {
			r->fault = "drop";
			emu_log_request(r);
			return MHD_NO;	/* connection closed mid-body */
		}
		switch (r->mode) {
		case BODY_JSON:
		case BODY_PROXY:
			/* a route without credentials keeps little; MLflow's
			 * artifact uploads (authenticated) are not bounded */
			if ((long long)(r->body.len + n) > emu_body_max(r))
				r->too_big = 1;
			else if (!r->too_big)
				dbm_buf_add(&r->body, data, n);
			break;
		case BODY_FILE:
			if (r->fd >= 0 && write_all(r->fd, data, n) < 0) {
				r->store_errno = errno;
				close(r->fd);
				r->fd = -1;
				r->too_big = -errno;
			}
			break;
		case BODY_FORM:
			if (r->route->form->feed(r, data, n) < 0)
				r->too_big = 1;
			break;
		default:
			break;
		}
		return MHD_YES;
	}
	/* dropped after the request arrived, before any answer (file
	 * downloads are cut half way instead, in emu_reply_fd) */
	if (r->drop_after >= 0 && !((r->route->flags & ROUTE_CUT_REPLY) &&
	    (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0))) {
		r->fault = "drop";
		emu_log_request(r);
		return MHD_NO;
	}
	/* no fsync: the emulator's files need to be atomic (rename), not
	 * durable across a power cut, and fsync would dominate benchmarks */
	if (r->mode == BODY_FILE) {
		if (r->fd < 0 || close(r->fd) < 0) {
			if (r->fd >= 0)
				r->store_errno = errno;
			r->fd = -1;
			return emu_nospace(r, 0) ? emu_reply_nospace(r) :
			    emu_reply_error(r, 500, "INTERNAL_ERROR",
			    "Cannot store the request body");
		}
		r->fd = -1;
	}
	/* a file part the disk could not hold, for every form route */
	if (r->mode == BODY_FORM && emu_nospace(r, 0))
		return emu_reply_nospace(r);
	if (r->mode == BODY_PROXY && r->too_big)
		return emu_reply_error(r, 413, "REQUEST_LIMIT_EXCEEDED",
		    "Request body is larger than %lld bytes", emu_body_max(r));
	if ((r->route->flags & ROUTE_JSON) && emu_need_json(r, &res) < 0)
		return res;
	return r->route->fn(r);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **state,
    enum MHD_RequestTerminationCode code)
{
	struct emu *e = cls;
	struct req *r = *state;

	emu_deadline_busy(e->deadlines, conn_deadline(conn), 0);
	if (r == NULL)
		return;
	emu_log_request(r);		/* if nothing answered it (status 0) */
	if (r->fd >= 0)
		close(r->fd);
	if (r->tmp) {
		unlink(r->tmp);
		free(r->tmp);
	}
	if (r->route && r->route->form)
		r->route->form->free(r);
	if (r->have_json)
		dbm_json_free(&r->json);
	dbm_buf_free(&r->body);
	free(r->principal);
	free(r->path);
	free(r);
	*state = NULL;
}

/* Decode %XX; %00 becomes \x01 so that path checks refuse it rather than
 * the string being cut short. */
static size_t
unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s, *p = s;

	while (*p) {
		if (p[0] == '%' && p[1] && p[2]) {
			char hex[3] = {p[1], p[2], 0}, *end;
			long v = strtol(hex, &end, 16);

			if (*end == '\0') {
				*w++ = v == 0 ? '\x01' : (char)v;
				p += 3;
				continue;
			}
		}
		*w++ = *p++;
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Each connection's memory: libmicrohttpd reads a body into half of it,
 * and zeroes all of it between requests on a kept-alive connection. At
 * 1 MiB a large upload arrives in 512 KiB reads: 50 x 2 MiB + 200 MiB to
 * DBFS took 0.17 s instead of 0.21 s, while 1000 small puts cost 3 to
 * 12% more than at 256 KiB (the zeroing); uploads are this server's bulk. */
#define CONN_MEMORY ((size_t)1 << 20)


/* Connections one client address may hold: a quarter of the cap. */
static unsigned int
per_client(const struct emu *e)
{
	return e->max_conn / 4 > 8 ? e->max_conn / 4 : 8;
}

/* The idle timeout: a connection quiet for a minute is closed (clients
 * open another), so idle sockets hold a slot for little time; and the
 * next request's headers are due within it of the last answer. */
#define IDLE_SECS 60

struct MHD_Daemon *
emu_start(struct emu *e, const struct sockaddr *addr)
{
	struct MHD_Daemon *d;

	e->deadlines = emu_deadlines_start((double)e->header_secs, IDLE_SECS);
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	    (e->verbose ? MHD_USE_ERROR_LOG : 0), 0, NULL, NULL, on_request, e,
	    MHD_OPTION_SOCK_ADDR, addr,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, e,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, e,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_SECS,
	    /* and one client holds at most a quarter of the slots */
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_client(e),
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)256,
	    /* one thread a connection: capped, so a flood of idle sockets
	     * cannot exhaust the process; more are closed at once */
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)e->max_conn,
	    MHD_OPTION_END);
	if (d == NULL) {
		emu_deadlines_stop(e->deadlines);
		e->deadlines = NULL;
	}
	return d;
}

void
emu_stop(struct emu *e, struct MHD_Daemon *d)
{
	MHD_stop_daemon(d);
	emu_deadlines_stop(e->deadlines);
	e->deadlines = NULL;
}

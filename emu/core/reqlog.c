/*
 * workspace-emu's request log: one JSON line per request, written once,
 * before the answer leaves (a client holding its answer finds the line).
 */
#include <stdio.h>
#include <time.h>

#include "emu.h"

/* Append the request as one JSON line to the log, once. */
void
emu_log_request(struct req *r)
{
	struct emu *e = r->emu;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct timespec ts;
	struct tm tm;
	char when[40];
	const char *ua;

	if (e->log == NULL || r->logged)
		return;
	r->logged = 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	ua = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "User-Agent");
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "time");
	dbm_buf_printf(&b, "\"%s.%03ldZ\"", when, ts.tv_nsec / 1000000);
	w.after_key = 0;
	dbm_jw_key(&w, "method");
	dbm_jw_str(&w, r->method);
	dbm_jw_key(&w, "path");
	dbm_jw_str(&w, r->path);
	dbm_jw_key(&w, "status");
	dbm_jw_int(&w, r->status);
	dbm_jw_key(&w, "bytes_in");
	dbm_jw_int(&w, r->bytes_in);
	dbm_jw_key(&w, "bytes_out");
	dbm_jw_int(&w, r->answered ? r->bytes_out : 0);
	dbm_jw_key(&w, "ms");
	dbm_jw_int(&w, (long long)((dbm_now() - r->t0) * 1000));
	dbm_jw_key(&w, "fault");
	dbm_jw_str(&w, r->fault);
	dbm_jw_key(&w, "user_agent");
	dbm_jw_str(&w, ua);
	dbm_jw_obj_end(&w);
	dbm_buf_addc(&b, '\n');
	pthread_mutex_lock(&e->log_mu);
	fwrite(b.data, 1, b.len, e->log);
	fflush(e->log);
	pthread_mutex_unlock(&e->log_mu);
	dbm_buf_free(&b);
}

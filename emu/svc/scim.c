/*
 * SCIM's Me endpoint (PROTOCOL.md section 11): who the request's credential
 * stands for. The official clients and mlflow-submit ask it for the
 * workspace user name that runs are recorded under (mlflow.user).
 */
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"
#include "sha.h"

enum MHD_Result
emu_scim_me(struct req *r)
{
	const char *name = r->principal ? r->principal : r->emu->user_name;
	struct dbm_buf b = DBM_BUF_INIT, id = DBM_BUF_INIT;
	struct dbm_jw w;
	unsigned long long n = 0;
	char hex[65];
	enum MHD_Result res;
	int i;

	/* a stable numeric id per name, as the service's ids are */
	dbm_sha256_hex(name, strlen(name), hex);
	for (i = 0; i < 13; i++)
		n = n * 16 + (unsigned long long)(strchr("0123456789abcdef",
		    hex[i]) - "0123456789abcdef");
	dbm_buf_printf(&id, "%llu", n);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "id");
	dbm_jw_str(&w, id.data);
	dbm_jw_key(&w, "userName");
	dbm_jw_str(&w, name);
	dbm_jw_key(&w, "displayName");
	dbm_jw_str(&w, name);
	dbm_jw_key(&w, "active");
	dbm_jw_bool(&w, 1);
	if (strchr(name, '@')) {
		dbm_jw_key(&w, "emails");
		dbm_jw_arr(&w);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "type");
		dbm_jw_str(&w, "work");
		dbm_jw_key(&w, "value");
		dbm_jw_str(&w, name);
		dbm_jw_key(&w, "primary");
		dbm_jw_bool(&w, 1);
		dbm_jw_obj_end(&w);
		dbm_jw_arr_end(&w);
	}
	dbm_jw_key(&w, "schemas");
	dbm_jw_arr(&w);
	dbm_jw_str(&w, "urn:ietf:params:scim:schemas:core:2.0:User");
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	res = emu_reply(r, 200, "application/scim+json", b.data, b.len);
	dbm_buf_free(&b);
	dbm_buf_free(&id);
	return res;
}

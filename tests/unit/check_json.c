/* lib/json: parsing, lookups, unescaping, writing. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "unit.h"

static struct dbm_json j;

static void
parse_ok(const char *s)
{
	struct dbm_err e;

	ck_assert_msg(dbm_json_parse(&j, s, strlen(s), "t.json", &e) == 0,
	    "parse failed: %s", e.msg);
}

START_TEST(test_lookup)
{
	long long v;
	int b;
	char *s;

	parse_ok("{\"run_id\": 42, \"state\": {\"life_cycle_state\": "
	    "\"TERMINATED\", \"ok\": true}, \"tasks\": [{\"run_id\": 7}, "
	    "{\"run_id\": \"9007199254740993\"}], \"n\": null}");
	ck_assert_int_eq(dbm_json_get_int(&j, "run_id", &v), 0);
	ck_assert_int_eq(v, 42);
	s = dbm_json_get_str(&j, "state.life_cycle_state");
	ck_assert_str_eq(s, "TERMINATED");
	free(s);
	ck_assert_int_eq(dbm_json_bool(&j, dbm_json_path(&j, 0, "state.ok"),
	    &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(dbm_json_get_int(&j, "tasks.1.run_id", &v), 0);
	ck_assert(v == 9007199254740993LL);
	ck_assert_int_eq(dbm_json_get_int(&j, "tasks.0.run_id", &v), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(dbm_json_path(&j, 0, "tasks.2"), -1);
	ck_assert_int_eq(dbm_json_path(&j, 0, "missing.x"), -1);
	ck_assert_int_eq(dbm_json_type(&j, dbm_json_path(&j, 0, "n")),
	    DBM_JSON_NULL);
	ck_assert_int_eq(dbm_json_count(&j, dbm_json_path(&j, 0, "tasks")), 2);
	dbm_json_free(&j);
}
END_TEST

START_TEST(test_unescape)
{
	char *s;

	/* \u00e9 is e-acute, \ud83d\ude00 a surrogate pair (U+1F600) */
	parse_ok("{\"k\": \"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\"}");
	s = dbm_json_get_str(&j, "k");
	ck_assert_str_eq(s, "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80");
	free(s);
	dbm_json_free(&j);
	/* an escaped key is still found */
	parse_ok("{\"\\u0061b\": 1}");
	ck_assert_int_ne(dbm_json_member(&j, 0, "ab"), -1);
	dbm_json_free(&j);
}
END_TEST

START_TEST(test_invalid)
{
	static const char *const bad[] = {
		"", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "tru", "nul",
		"{\"a\": 01}", "{\"a\": 1.}", "{\"a\": -}", "[1] x",
		"\"\\ud800\"", "\"\\udc00\"", "\"\\u00\"", "\"\\q\"",
		"\"\\u0000\"", "{} {}", "[,1]", "[1,,2]", "{\"a\":1,}",
		"{,\"a\":1}", "{\"a\" \"b\"}", "[1 2]",
	};
	struct dbm_err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ck_assert_msg(dbm_json_parse(&j, bad[i], strlen(bad[i]),
		    "t.json", &e) < 0, "accepted: %s", bad[i]);
		ck_assert_int_eq(e.kind, DBM_E_INPUT);
		ck_assert_str_eq(e.where, "t.json");
	}
}
END_TEST

START_TEST(test_error_position)
{
	struct dbm_err e;
	const char *s = "{\n  \"a\": 1,\n  \"b\": tru\n}";

	ck_assert_int_lt(dbm_json_parse(&j, s, strlen(s), "c.json", &e), 0);
	ck_assert_int_eq(e.line, 3);
	ck_assert_int_eq(e.col, 8);
}
END_TEST

START_TEST(test_empty_string)
{
	char *s;

	parse_ok("{\"logs\": \"\"}");
	s = dbm_json_get_str(&j, "logs");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	free(s);
	dbm_json_free(&j);
}
END_TEST

START_TEST(test_big)
{
	struct dbm_buf b = DBM_BUF_INIT;
	long long v;
	int i;

	/* more tokens than the first allocation: the array must grow */
	dbm_buf_addc(&b, '[');
	for (i = 0; i < 5000; i++)
		dbm_buf_printf(&b, "%s{\"i\":%d}", i ? "," : "", i);
	dbm_buf_addc(&b, ']');
	parse_ok(dbm_buf_str(&b));
	ck_assert_int_eq(dbm_json_get_int(&j, "4999.i", &v), 0);
	ck_assert_int_eq(v, 4999);
	dbm_json_free(&j);
	dbm_buf_free(&b);
}
END_TEST

/* Nesting: DBM_NEST_MAX levels parse; one more is refused where it
 * starts, in time linear in the input (a million levels, at once). */
START_TEST(test_nesting)
{
	size_t n = 1000000, i;
	char *deep = malloc(2 * n + 16);
	struct dbm_err e;

	for (i = 0; i < DBM_NEST_MAX; i++) {
		deep[i] = '[';
		deep[DBM_NEST_MAX + i] = ']';
	}
	ck_assert_int_eq(dbm_json_parse(&j, deep, 2 * DBM_NEST_MAX, "d.json",
	    &e), 0);
	dbm_json_free(&j);
	memset(deep, ' ', 2);
	memcpy(deep + 2, "{\"a\":", 5);
	for (i = 0; i < n; i++)
		deep[7 + i] = i % 2 ? '{' : '[';
	ck_assert_int_eq(dbm_json_parse(&j, deep, 7 + n, "d.json", &e), -1);
	ck_assert_str_eq(e.msg, "nesting deeper than 512");
	ck_assert_int_eq(e.line, 1);
	ck_assert_int_eq(e.col, 3 + 5 + DBM_NEST_MAX - 1);
	/* brackets inside strings do not count */
	memcpy(deep, "[\"", 2);
	memset(deep + 2, '[', n);
	memcpy(deep + 2 + n, "\"]", 2);
	ck_assert_int_eq(dbm_json_parse(&j, deep, n + 4, "d.json", &e), 0);
	dbm_json_free(&j);
	free(deep);
}
END_TEST

START_TEST(test_writer)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	char *s;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "s");
	dbm_jw_str(&w, "q\"b\\\n\t\x01\xc3\xa9");
	dbm_jw_key(&w, "a");
	dbm_jw_arr(&w);
	dbm_jw_int(&w, -5);
	dbm_jw_bool(&w, 0);
	dbm_jw_null(&w);
	dbm_jw_obj(&w);
	dbm_jw_obj_end(&w);
	dbm_jw_arr_end(&w);
	dbm_jw_key(&w, "bad");
	dbm_jw_strn(&w, "x\xffy", 3);
	dbm_jw_obj_end(&w);
	ck_assert_str_eq(dbm_buf_str(&b), "{\"s\":\"q\\\"b\\\\\\n\\t\\u0001"
	    "\xc3\xa9\",\"a\":[-5,false,null,{}],\"bad\":\"x\\ufffdy\"}");
	/* and it reads back */
	parse_ok(dbm_buf_str(&b));
	s = dbm_json_get_str(&j, "s");
	ck_assert_str_eq(s, "q\"b\\\n\t\x01\xc3\xa9");
	free(s);
	dbm_json_free(&j);
	dbm_buf_free(&b);
}
END_TEST

Suite *
suite_json(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_nesting);
	tcase_add_test(tc, test_unescape);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_error_position);
	tcase_add_test(tc, test_empty_string);
	tcase_add_test(tc, test_big);
	tcase_add_test(tc, test_writer);
	suite_add_tcase(s, tc);
	return s;
}

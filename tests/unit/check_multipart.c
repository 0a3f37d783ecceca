/* workspace-emu's streaming multipart/form-data parser (emu/core/multipart.c):
 * the parts of bodies as curl, requests and Go write them, the same
 * whatever pieces the body arrives in, and malformed bodies refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"
#include "buf.h"
#include "unit.h"

/* What the callback saw: "name[f]=data;" for each run of a part's data,
 * runs of one part merged. */
struct seen {
	struct dbm_buf out;
	char last[80];
};

static int
cb(void *arg, const char *name, int is_file, const char *d, size_t n)
{
	struct seen *s = arg;
	char key[80];

	snprintf(key, sizeof(key), "%s%s", name, is_file ? "[f]" : "");
	if (strcmp(key, s->last) != 0) {
		if (s->last[0] != 1)
			dbm_buf_addc(&s->out, ';');
		dbm_buf_printf(&s->out, "%s=", key);
		snprintf(s->last, sizeof(s->last), "%s", key);
	}
	dbm_buf_add(&s->out, d, n);
	return 0;
}

/* Parse body in pieces cut at a and b; the parts seen, or "ERR", or
 * "OPEN" when the closing delimiter never came. */
static char *
parse3(const char *ct, const char *body, size_t len, size_t a, size_t b)
{
	struct emu_mp m;
	struct seen s;
	size_t cut[4] = {0, a, b, len};
	int i, rc = 0;

	memset(&s, 0, sizeof(s));
	s.last[0] = 1;	/* no part yet */
	s.out = (struct dbm_buf)DBM_BUF_INIT;
	if (emu_mp_init(&m, ct, cb, &s) < 0)
		return strdup("BADTYPE");
	for (i = 0; i < 3 && rc == 0; i++)
		rc = emu_mp_feed(&m, body + cut[i], cut[i + 1] - cut[i]);
	if (rc < 0) {
		dbm_buf_reset(&s.out);
		dbm_buf_adds(&s.out, "ERR");
	} else if (!emu_mp_done(&m)) {
		dbm_buf_adds(&s.out, "|OPEN");
	}
	emu_mp_free(&m);
	return dbm_buf_detach(&s.out);
}

/* Every way of cutting body in three pieces gives want. */
static void
every_split(const char *ct, const char *body, size_t len, const char *want)
{
	size_t a, b;

	for (a = 0; a <= len; a++) {
		for (b = a; b <= len; b++) {
			char *got = parse3(ct, body, len, a, b);

			ck_assert_msg(strcmp(got, want) == 0, "cut at %zu, %zu: "
			    "got '%s', want '%s'", a, b, got, want);
			free(got);
		}
	}
}

#define CT "multipart/form-data; boundary=XyZ"

START_TEST(test_mp_curl_shape)
{
	/* curl -F path=/a -F overwrite=true -F contents=@f */
	const char body[] =
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"path\"\r\n\r\n"
	    "/a\r\n"
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"overwrite\"\r\n\r\n"
	    "true\r\n"
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"contents\"; "
	    "filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	    "a\r\nb\r\r\n--XyQ\r\n--X\r\n\r\n-XyZ\n--XyZ-\r\r\n"
	    "--XyZ--\r\n";

	every_split(CT, body, sizeof(body) - 1, "path=/a;overwrite=true;"
	    "contents[f]=a\r\nb\r\r\n--XyQ\r\n--X\r\n\r\n-XyZ\n--XyZ-\r");
}
END_TEST

START_TEST(test_mp_shapes)
{
	/* a preamble, no part headers, blanks after a delimiter, an empty
	 * part, an epilogue; a quoted boundary with a space (Go's writer
	 * quotes when it must) */
	const char a[] =
	    "preamble\r\n--XyZ  \t\r\n\r\nno headers\r\n"
	    "--XyZ\r\ncontent-disposition: form-data; name=empty\r\n\r\n"
	    "\r\n--XyZ--epilogue --XyZ";
	const char b[] =
	    "--a b\r\nContent-Disposition: form-data; name=\"x\\\"y\"\r\n\r\n"
	    "v\r\n--a b--";
	char *got;

	every_split(CT, a, sizeof(a) - 1, "=no headers");
	every_split("Multipart/Form-Data; charset=x; boundary=\"a b\"", b,
	    sizeof(b) - 1, "x\"y=v");
	/* two Content-Disposition lines (found by fuzzing: the first name
	 * leaked): the last counts */
	got = parse3(CT, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
	    "Content-Disposition: form-data; name=b\r\n\r\nv\r\n--XyZ--", 99,
	    20, 60);
	ck_assert_str_eq(got, "b=v");
	free(got);
	/* an empty part emits nothing; a body cut short is not done */
	got = parse3(CT, "--XyZ\r\n\r\nab", 11, 3, 9);
	ck_assert_str_eq(got, "=ab|OPEN");
	free(got);
}
END_TEST

START_TEST(test_mp_refused)
{
	const char *types[] = {
		NULL, "application/json", "multipart/form-data",
		"multipart/form-data; boundary=",
		"multipart/form-data; boundary=\"open",
		"multipart/form-data; boundary=1234567890123456789012345678901"
		    "2345678901234567890123456789012345678901",
	};
	const char *bodies[] = {
		"--XyZ\r\nbad\r\n\r\nx\r\n--XyZx\r\n",	/* junk after a delimiter */
		"--XyZ\r\n\r\nx\r\n--XyZ",		/* fine so far: OPEN */
	};
	struct emu_mp m;
	struct dbm_buf big = DBM_BUF_INIT;
	size_t i;
	char *got;

	for (i = 0; i < sizeof(types) / sizeof(*types); i++)
		ck_assert_int_lt(emu_mp_init(&m, types[i], cb, NULL), 0);
	got = parse3(CT, bodies[0], strlen(bodies[0]), 5, 9);
	ck_assert_str_eq(got, "ERR");
	free(got);
	got = parse3(CT, bodies[1], strlen(bodies[1]), 1, 2);
	ck_assert_str_eq(got, "=x|OPEN");
	free(got);
	/* a header block without end is refused, not kept */
	dbm_buf_adds(&big, "--XyZ\r\n");
	for (i = 0; i < 1000; i++)
		dbm_buf_adds(&big, "X-Filler: 0123456789\r\n");
	got = parse3(CT, big.data, big.len, 7, big.len);
	ck_assert_str_eq(got, "ERR");
	free(got);
	dbm_buf_free(&big);
}
END_TEST

/* Long bodies of random bytes rich in CR, LF and '-', cut at random:
 * the file part comes out byte for byte. */
START_TEST(test_mp_random)
{
	unsigned seed = 7;
	int round;

	for (round = 0; round < 200; round++) {
		struct dbm_buf body = DBM_BUF_INIT, want = DBM_BUF_INIT;
		const char alpha[] = "\r\n-XyZ";
		size_t n = (size_t)(rand_r(&seed) % 5000), i, a, b;
		char *got;

		dbm_buf_adds(&body, "--XyZ\r\nContent-Disposition: form-data; "
		    "name=\"contents\"; filename=\"b\"\r\n\r\n");
		dbm_buf_adds(&want, "contents[f]=");
		for (i = 0; i < n; i++) {
			char c = alpha[rand_r(&seed) % 6];

			/* never the delimiter itself */
			if (c == 'Z' && memcmp(body.data + body.len - 6,
			    "\r\n--Xy", 6) == 0)
				continue;
			dbm_buf_addc(&body, c);
			dbm_buf_addc(&want, c);
		}
		dbm_buf_adds(&body, "\r\n--XyZ--\r\n");
		if (n == 0 || want.len == 12)
			dbm_buf_reset(&want);
		a = (size_t)rand_r(&seed) % body.len;
		b = body.len - (size_t)rand_r(&seed) % 40;
		got = parse3(CT, body.data, body.len, a, b < a ? a : b);
		ck_assert_msg(strcmp(got, dbm_buf_str(&want)) == 0,
		    "round %d: %zu bytes differ", round, n);
		free(got);
		dbm_buf_free(&body);
		dbm_buf_free(&want);
	}
}
END_TEST

Suite *
suite_multipart(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc = tcase_create("multipart");

	tcase_add_test(tc, test_mp_curl_shape);
	tcase_add_test(tc, test_mp_shapes);
	tcase_add_test(tc, test_mp_refused);
	tcase_add_test(tc, test_mp_random);
	suite_add_tcase(s, tc);
	return s;
}

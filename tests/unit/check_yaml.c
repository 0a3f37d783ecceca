/* dbm_yaml_pystr against what PyYAML's safe_load and str() give (the
 * table was read off PyYAML 6). */
#include <stdlib.h>
#include <string.h>

#include "yamldoc.h"
#include "unit.h"

static char *
pystr(const char *text)
{
	yaml_parser_t p;
	yaml_document_t d;
	yaml_node_t *root;
	char *r;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text,
	    strlen(text));
	ck_assert_int_eq(yaml_parser_load(&p, &d), 1);
	root = yaml_document_get_root_node(&d);
	ck_assert_ptr_nonnull(root);
	r = dbm_yaml_pystr(dbm_yaml_get(&d, root, "a"));
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
	return r;
}

START_TEST(test_pystr)
{
	static const char *const t[][2] = {
		{"true", "True"}, {"True", "True"}, {"yes", "True"},
		{"off", "False"}, {"NO", "False"}, {"'true'", "true"},
		{"5", "5"}, {"+5", "5"}, {"-0", "0"}, {"007", "7"},
		{"0o7", "0o7"}, {"0x1F", "31"}, {"0b101", "5"},
		{"1_000", "1000"}, {"0.10", "0.1"}, {"1.0", "1.0"},
		{"1.", "1.0"}, {"100.0", "100.0"}, {"1e-3", "1e-3"},
		{"1.0e-3", "0.001"}, {"1.5E+20", "1.5e+20"},
		{"0.0001", "0.0001"}, {"0.00001", "1e-05"},
		{"123456789012345678.0", "1.2345678901234568e+17"},
		{"1e16", "1e16"}, {".5", "0.5"}, {"-.5", "-.5"},
		{".inf", "inf"}, {"-.Inf", "-inf"}, {".nan", "nan"},
		{"abc", "abc"}, {"5a", "5a"}, {"3.14.15", "3.14.15"},
		{"+", "+"}, {"._", "._"}, {"0.1_5", "0.15"},
		{"12345678901234567890123", "12345678901234567890123"},
		{"1.7976931348623157e+308", "1.7976931348623157e+308"},
		{"2.5e-10", "2.5e-10"}, {"\"0.10\"", "0.10"},
		{"1234567.0", "1234567.0"}, {"-2.50", "-2.5"},
	};
	static const char *const null[] = {"null", "~", "Null", "", "NULL"};
	char doc[128], *r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(doc, sizeof(doc), "a: %s\n", t[i][0]);
		r = pystr(doc);
		ck_assert_msg(r && strcmp(r, t[i][1]) == 0, "%s: got %s, want %s",
		    t[i][0], r ? r : "NULL", t[i][1]);
		free(r);
	}
	for (i = 0; i < sizeof(null) / sizeof(null[0]); i++) {
		snprintf(doc, sizeof(doc), "a: %s\n", null[i]);
		ck_assert_ptr_null(pystr(doc));
	}
	ck_assert_ptr_null(pystr("a: [1, 2]\n"));
}
END_TEST

Suite *
suite_yaml(void)
{
	Suite *s = suite_create("yaml");
	TCase *tc = tcase_create("pystr");

	tcase_add_test(tc, test_pystr);
	suite_add_tcase(s, tc);
	return s;
}

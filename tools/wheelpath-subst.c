/*
 * wheelpath-subst: put uploaded wheel paths into an MLflow project's
 * dependency file (conda YAML, python_env YAML, requirements.txt) and
 * cluster definition (JSON) in place of a placeholder, changing no other
 * byte. See wheelpath-subst(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "opts.h"
#include "mlproject.h"
#include "pyenv.h"
#include "subst.h"
#include "version.h"

enum { OPT_MANIFEST = 256, OPT_PROJECT, OPT_TYPE, OPT_VERSION };

#define MAX_INPUT (64L * 1024 * 1024)

/* The options, in the order --help lists them. */
static const struct dbm_opt opts[] = {
	{"in-place", no_argument, 'i', "-i, --in-place",
	    "edit the files (atomically)"},
	{"manifest", required_argument, OPT_MANIFEST, "    --manifest file",
	    "a dbfs-put --json manifest ('-' for stdin)"},
	{"dry-run", no_argument, 'n', "-n, --dry-run",
	    "print the replacements, write nothing"},
	{"output", required_argument, 'o', "-o, --output file",
	    "write the result to file ('-' for stdout)"},
	{"placeholder", required_argument, 'P', "-P, --placeholder token",
	    "the placeholder (WHEELPATH)"},
	{"project", required_argument, OPT_PROJECT, "    --project dir",
	    "also the env file of the MLflow project in dir"},
	{"type", required_argument, OPT_TYPE, "    --type type",
	    "yaml, json or requirements (else from the name)"},
	{"wheel", required_argument, 'w', "-w, --wheel path",
	    "a wheel path (repeatable)"},
	{"help", no_argument, 'h', "-h, --help",
	    "print this help"},
	{"version", no_argument, OPT_VERSION, "    --version",
	    "print the version"},
	{NULL, 0, 0, NULL, NULL},
};

static void
usage(void)
{
	fputs("usage: wheelpath-subst [-in] [-o out] [-P token] [-w "
	    "wheel]... [--manifest file]\n"
	    "                       [--type yaml|json|requirements] "
	    "[--project dir] file ...\n"
	    "\n"
	    "Replace placeholders (default WHEELPATH; WHEELPATH:<dist> "
	    "names a wheel) in\n"
	    "conda/python_env YAML, cluster JSON and requirements files "
	    "with wheel paths:\n"
	    "POSIX (/dbfs/...) in pip lines, URIs (dbfs:/...) under \"whl\" "
	    "keys. Wheels come\n"
	    "from -w, --manifest (dbfs-put --json) or stdin (one path a "
	    "line, or a manifest).\n"
	    "\n", stdout);
	dbm_opts_help(stdout, opts, 26);
	exit(dbm_close_stdout() < 0 ? 1 : 0);
}

static int
read_all(const char *path, FILE *f, struct dbm_buf *b, struct dbm_err *e)
{
	if (dbm_buf_read(b, f, MAX_INPUT) == 0)
		return 0;
	if (errno == EFBIG)
		return dbm_errf(e, DBM_E_INPUT, "%s: larger than %ld bytes",
		    path, MAX_INPUT);
	return dbm_err_sys(e, "%s", path);
}

static int
read_file(const char *path, struct dbm_buf *b, struct dbm_err *e)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	int rc;

	if (f == NULL)
		return dbm_err_sys(e, "%s", path);
	rc = read_all(path, f, b, e);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* Write data to path through a temporary file in the same directory, so
 * the file is either the old one or the new one, never half written. */
static int
write_atomic(const char *path, const char *data, size_t len, struct dbm_err *e)
{
	struct dbm_buf tmp = DBM_BUF_INIT;
	const char *slash = strrchr(path, '/');
	struct stat st;
	mode_t mode, um;
	int fd, rc = -1;
	size_t off = 0;

	if (slash)
		dbm_buf_printf(&tmp, "%.*s/.%s" DBM_TMP_MARK "XXXXXX",
		    (int)(slash - path), path, slash + 1);
	else
		dbm_buf_printf(&tmp, ".%s" DBM_TMP_MARK "XXXXXX", path);
	if ((fd = mkstemp(tmp.data)) < 0) {
		dbm_err_sys(e, "%s", tmp.data);
		dbm_buf_free(&tmp);
		return -1;
	}
	if (stat(path, &st) == 0) {
		mode = st.st_mode & 07777;
	} else {
		um = umask(0);
		umask(um);
		mode = 0666 & ~um;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (off != len || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		dbm_err_sys(e, "%s", tmp.data);
		close(fd);
	} else if (close(fd) < 0 || rename(tmp.data, path) < 0) {
		dbm_err_sys(e, "%s", path);
	} else {
		rc = 0;
	}
	if (rc < 0)
		unlink(tmp.data);
	dbm_buf_free(&tmp);
	return rc;
}

/* Wheel paths on stdin: a dbfs-put manifest, or one path a line. */
static int
wheels_stdin(struct dbm_wheels *ws, struct dbm_err *e)
{
	struct dbm_buf b = DBM_BUF_INIT;
	char *line, *save = NULL;
	const char *nul;
	size_t i;
	int rc = 0;

	if (isatty(0))
		return dbm_errf(e, DBM_E_USAGE, "no wheels: give -w, --manifest, "
		    "or pipe dbfs-put's output in");
	if (read_all("<stdin>", stdin, &b, e) < 0)
		return -1;
	if ((nul = memchr(b.data, '\0', b.len)) != NULL) {
		long ln = 1, col = 1;

		for (i = 0; b.data + i < nul; i++, col++)
			if (b.data[i] == '\n') {
				ln++;
				col = 0;
			}
		dbm_buf_free(&b);
		return dbm_err_input(e, "<stdin>", ln, col, "a NUL byte: not "
		    "a wheel path (one path a line, or a manifest)");
	}
	for (i = 0; i < b.len && (b.data[i] == ' ' || b.data[i] == '\n' ||
	    b.data[i] == '\t' || b.data[i] == '\r'); i++)
		;
	if (i < b.len && b.data[i] == '{') {
		rc = dbm_wheels_manifest(ws, b.data, b.len, "<stdin>", e);
	} else {
		for (line = strtok_r(b.data, "\r\n", &save); line && rc == 0;
		    line = strtok_r(NULL, "\r\n", &save)) {
			while (*line == ' ' || *line == '\t')
				line++;
			if (*line && dbm_wheels_add(ws, line, e) < 0)
				rc = -1;
		}
	}
	dbm_buf_free(&b);
	return rc;
}

/* What the command line asks for. */
struct opts {
	struct dbm_wheels ws;		/* -w wheels, or from the manifest */
	enum dbm_subst_type type;
	const char *out, *token, *manifest;
	const char *project;		/* --project: add its env file */
	int inplace, dry, given;	/* given: wheels named by -w/--manifest */
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
		struct dbm_err e;
	int c, i, nfiles;

	while ((c = dbm_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case 'h':
			usage();
			break;
		case 'i':
			o->inplace = 1;
			break;
		case OPT_MANIFEST:
			o->manifest = optarg;
			o->given = 1;
			break;
		case 'n':
			o->dry = 1;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'P':
			o->token = optarg;
			if (*optarg == '\0' || strpbrk(optarg, " \t\n:"))
				dbm_usage_error("-P: the placeholder must be one "
				    "word without ':'");
			break;
		case OPT_PROJECT:
			o->project = optarg;
			break;
		case OPT_TYPE:
			if (strcmp(optarg, "yaml") == 0)
				o->type = DBM_SUBST_YAML;
			else if (strcmp(optarg, "json") == 0)
				o->type = DBM_SUBST_JSON;
			else if (strcmp(optarg, "requirements") == 0)
				o->type = DBM_SUBST_REQS;
			else
				dbm_usage_error("--type: '%s' is not yaml, json "
				    "or requirements", optarg);
			break;
		case OPT_VERSION:
			dbm_print_version("wheelpath-subst");
			exit(dbm_close_stdout() < 0);
		case 'w':
			o->given = 1;
			if (dbm_wheels_add(&o->ws, optarg, &e) < 0) {
				dbm_err_print(&e);
				exit(2);
			} else if (strlen(optarg) < 4 || strcmp(optarg +
			    strlen(optarg) - 4, ".whl") != 0) {
				dbm_usage_error("-w: '%s' is not a .whl file",
				    optarg);
			}
			break;
		default:
			fprintf(stderr, "%s: try 'wheelpath-subst --help'\n",
			    dbm_prog());
			exit(2);
		}
	}
	nfiles = argc - optind + (o->project != NULL);
	if (nfiles < 1)
		dbm_usage_error("no file to edit");
	if (o->inplace && o->out)
		dbm_usage_error("-i and -o exclude each other");
	if (o->out && nfiles > 1)
		dbm_usage_error("-o takes one input file");
	if (!o->inplace && !o->dry && !o->out && nfiles > 1)
		dbm_usage_error("more than one file: use -i (or -n)");
	for (i = optind; i < argc; i++)
		if (strcmp(argv[i], "-") == 0 && (o->inplace || (o->manifest &&
		    strcmp(o->manifest, "-") == 0) || !o->given))
			dbm_usage_error("'-' (stdin) cannot be edited here");
}

/* The exit status for e: 2 for a usage error or a file that is not what
 * it should be (bad JSON or YAML: mlflow-submit's status for the same
 * file), 1 for what failed reading or writing. */
static int
status(const struct dbm_err *e)
{
	return e->kind == DBM_E_USAGE || e->kind == DBM_E_INPUT ? 2 : 1;
}

/* The wheels: from the manifest, else from stdin unless -w named them.
 * Returns an exit code, 0 when they are there. */
static int
load_wheels(struct opts *o)
{
	struct dbm_err e;

	if (o->manifest) {
		struct dbm_buf b = DBM_BUF_INIT;
		int rc = 0;

		if (read_file(o->manifest, &b, &e) < 0 ||
		    dbm_wheels_manifest(&o->ws, b.data, b.len, o->manifest,
		    &e) < 0) {
			dbm_err_print(&e);
			rc = status(&e);
		}
		dbm_buf_free(&b);
		return rc;
	}
	if (!o->given && wheels_stdin(&o->ws, &e) < 0) {
		dbm_err_print(&e);
		return status(&e);
	}
	return 0;
}

/* Every file is checked before anything is written: a file that would
 * not parse, or a placeholder left, writes nothing at all. */
static int
substitute(char *const *files, int nfiles, const struct opts *o)
{
	struct dbm_subst_result *res;
	struct dbm_err e;
	size_t k, edits = 0;
	int i, rc = 0;

	res = dbm_xcalloc((size_t)nfiles, sizeof(*res));
	for (i = 0; i < nfiles; i++) {
		struct dbm_buf in = DBM_BUF_INIT;

		if (read_file(files[i], &in, &e) < 0 ||
		    dbm_subst(files[i], in.data, in.len, o->type, o->token,
		    &o->ws, &res[i], &e) < 0) {
			dbm_err_print(&e);
			dbm_buf_free(&in);
			rc = status(&e);
			goto done;
		}
		dbm_buf_free(&in);
		edits += res[i].nedits;
	}
	if (edits == 0) {	/* one line for all the files */
		dbm_warnx("no placeholder %s in %s%s", o->token, files[0],
		    nfiles > 1 ? " or the other files" : "");
		rc = 1;
		goto done;
	}
	for (i = 0; i < nfiles; i++)	/* a file left out, among others */
		if (res[i].nedits == 0)
			dbm_warnx("%s: no placeholder %s", files[i], o->token);
	for (i = 0; i < nfiles; i++) {
		if (o->dry) {
			for (k = 0; k < res[i].nedits; k++)
				printf("%s:%ld:%ld: %s -> %s\n", files[i],
				    res[i].edits[k].line, res[i].edits[k].col,
				    res[i].edits[k].old, res[i].edits[k].new);
		} else if (o->inplace || (o->out && strcmp(o->out, "-") != 0)) {
			if (write_atomic(o->inplace ? files[i] : o->out,
			    dbm_buf_str(&res[i].out), res[i].out.len, &e) < 0) {
				dbm_err_print(&e);
				rc = 1;
			}
		} else {
			fwrite(dbm_buf_str(&res[i].out), 1, res[i].out.len,
			    stdout);
		}
	}
done:
	for (i = 0; i < nfiles; i++)
		dbm_subst_result_free(&res[i]);
	free(res);
	return rc;
}

/* The files to edit: the operands, then --project's env file. */
static char **
file_list(int argc, char *argv[], const struct opts *o, int *n)
{
	char **files = dbm_xcalloc((size_t)(argc - optind + 2), sizeof(*files));
	struct dbm_mlproject p;
	struct dbm_err e;
	int i, conda;

	*n = 0;
	for (i = optind; i < argc; i++)
		files[(*n)++] = dbm_xstrdup(argv[i]);
	if (o->project == NULL)
		return files;
	if (dbm_mlproject_load(o->project, &p, &e) < 0) {
		dbm_err_print(&e);
		exit(status(&e));
	}
	if ((files[*n] = dbm_pyenv_file(&p, &conda)) != NULL)
		(*n)++;
	else if (*n == 0)
		dbm_usage_error("--project %s: no environment file (conda_env or "
		    "python_env in its MLproject, python_env.yaml or conda.yaml)",
		    o->project);
	dbm_mlproject_free(&p);
	return files;
}

int
main(int argc, char *argv[])
{
	struct opts o = {{NULL, 0}, DBM_SUBST_AUTO, NULL, "WHEELPATH", NULL,
	    NULL, 0, 0, 0};
	char **files;
	int i, n, rc;

	dbm_setprog(argv[0]);
	parse_args(argc, argv, &o);
	files = file_list(argc, argv, &o, &n);
	if ((rc = load_wheels(&o)) == 0 &&
	    (rc = substitute(files, n, &o)) == 0 && dbm_close_stdout() < 0)
		rc = 1;
	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
	dbm_wheels_free(&o.ws);
	return rc;
}

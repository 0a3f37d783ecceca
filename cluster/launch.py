"""dbmlops launcher: runs an MLflow project on a Databricks cluster as a
spark_python_task, in the driver's Python, attached to an MLflow run.

  launch.py TARBALL EXPERIMENT_ID RUN_ID entry NAME [KEY=VALUE ...]
  launch.py TARBALL EXPERIMENT_ID RUN_ID file PATH [ARG ...]

The project tarball (mlflow-submit's, at its /dbfs path) is unpacked once
per content. "entry" resolves entry point NAME with MLflow's own project
code (parameter types, defaults, path parameters, undeclared parameters,
-e script.py), exactly as `mlflow run` does; "file" runs a
databricks_spark_job python_file. A `python FILE ARGS` command runs FILE in
this process as `python FILE` would (__file__, __name__ == "__main__",
sys.argv, sys.path[0]; the working directory is the project),
so tracebacks name the project's own file and lines; any other command runs
in bash. The project's dependencies were installed as task libraries.
"""
import builtins
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
import types


def unpack(tarball):
    """The project directory, unpacked once per tarball (its name is the
    digest of its content)."""
    home = os.environ.get("DB_HOME", "/databricks")
    sha = os.path.basename(tarball).split(".")[0]
    dest = os.path.join(home, "mlflow", "projects", sha)
    try:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
    except OSError:
        # serverless compute: /databricks is not ours to write
        dest = os.path.join(tempfile.gettempdir(), "mlflow-projects", sha)
    if not os.path.isdir(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=sha + ".", dir=os.path.dirname(dest))
        with tarfile.open(tarball) as t:
            if hasattr(tarfile, "data_filter"):
                t.extractall(tmp, filter="data")
            else:
                t.extractall(tmp)
        try:
            os.rename(os.path.join(tmp, "mlflow-project"), dest)
        except OSError:
            if not os.path.isdir(dest):  # not another run's doing
                raise
    return dest


def command(project, entry, params):
    """The entry point's command, as MLflow computes it."""
    try:
        from mlflow.projects import _project_spec
    except ImportError as e:
        sys.exit("dbmlops launcher: MLflow is not installed on this cluster "
                 "(%s): give the cluster an mlflow library" % e)
    spec = _project_spec.load_project(project)
    ep = spec.get_entry_point(entry)
    return ep.compute_command(params, tempfile.mkdtemp(prefix="mlflow-storage."))


def run_file(project, path, args):
    """`python path args` in this process: __main__ is the file's module
    (__file__ absolute, as Python 3.9+ sets it), sys.argv[0] the path as
    written, sys.path[0] the file's directory."""
    full = os.path.abspath(os.path.join(project, path))
    with open(full, "rb") as f:
        code = compile(f.read(), full, "exec")
    sys.argv = [path] + list(args)
    sys.path[0] = os.path.dirname(full)
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=full, __builtins__=builtins,
                         __cached__=None, __loader__=None, __spec__=None)
    sys.modules["__main__"] = main
    exec(code, main.__dict__)


def simple_words(cmd, project):
    """The words of cmd as sh reads them (continuations joined, quotes,
    escapes, $VAR and globs), when it is one simple command; None when it
    has operators, redirections or substitutions, which only a shell can
    run. bash splits it, so the words are the ones `bash -c` would run."""
    lex = shlex.shlex(cmd.replace("\\\n", " "), posix=True,
                      punctuation_chars=True)
    try:
        toks = list(lex)
    except ValueError:  # an unclosed quote: bash says so
        return None
    if toks and "=" in toks[0].split("/")[0]:
        return None  # VAR=value python ...: the variable is the shell's
    if "`" in cmd or "$(" in cmd or any(
            t and set(t) <= set("();<>|&") for t in toks):
        return None
    out = subprocess.run(["bash", "-c", 'printf "%s\\0" ' + cmd], cwd=project,
                         stdout=subprocess.PIPE)
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1]


def main():
    tarball, exp, run, kind, target = sys.argv[1:6]
    rest = sys.argv[6:]
    os.environ.update({"MLFLOW_TRACKING_URI": os.environ.get(
        "MLFLOW_TRACKING_URI", "databricks"), "MLFLOW_EXPERIMENT_ID": exp,
        "MLFLOW_RUN_ID": run})
    project = unpack(tarball)
    os.chdir(project)
    if kind == "file":
        return run_file(project, target, rest)
    params = dict(p.split("=", 1) for p in rest)
    cmd = command(project, target, params)
    words = simple_words(cmd, project)
    if words and len(words) >= 2 and words[0] in ("python", "python3") and (
            not words[1].startswith("-")):
        return run_file(project, words[1], words[2:])
    print("dbmlops launcher: running " + cmd, flush=True)
    rc = subprocess.call(["bash", "-c", cmd], cwd=project)
    sys.exit(rc)


if __name__ == "__main__":
    main()

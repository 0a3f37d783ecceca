"""mk/dbmlops.mk in repositories laid out as teams lay them out: the MLflow
project at the repository's root, several wheels in libs/* (one built
with setuptools, one with hatchling, each from its own build-system.requires
in an isolated build), the CI system's repository name as {project}, a CI
job cancelled while the run is on the cluster, and the tools' own exit
status kept for the CI step behind make's 2."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys

import requests

from dbmlops_testenv import BIN, GATE_PY, TOP, wait_for
from test_readme import block as readme_blocks

MK = os.path.join(TOP, "mk", "dbmlops.mk")


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c",
                           "user.email=t@t", *args], capture_output=True, text=True,
                          check=True).stdout


def make_argv(repo, *args):
    return ["make", "-C", str(repo), *args, "DBMLOPS_MK=" + MK,
            "DBMLOPS_BIN=" + BIN, "DBMLOPS_PYTHON=" + sys.executable]


def make(repo, env, *args, timeout=600):
    return subprocess.run(make_argv(repo, *args), env=env, capture_output=True,
                          text=True, timeout=timeout)


def commit(repo, branch="feature/root"):
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", branch, str(repo)], check=True)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "x")


def root_repo(root):
    """MLproject, its env file and cluster.json at the repository's root,
    the package in libs/core: the most common layout."""
    shutil.copytree(os.path.join(TOP, "templates", "project"), root)
    shutil.copytree(os.path.join(TOP, "templates", "wheel"), root / "libs" / "core")
    (root / "Makefile").write_text("DBMLOPS_WHEEL_SRC = libs/core\n"
                                   "train: dbmlops-run\n"
                                   "include $(DBMLOPS_MK)\n")
    return root


def test_mlproject_at_the_root(stack, tmp_path):
    repo = root_repo(tmp_path / "churn model")
    (repo / "data").mkdir()
    (repo / "data" / "rows.csv").write_text("a,b\n1,2\n")
    commit(repo)
    r = make(repo, stack.env(DBMLOPS_POLL_MAX="1"), "train")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "TERMINATED SUCCESS" in r.stderr
    copy = repo / ".dbmlops" / "project"
    # the whole project, but neither the state folder nor .git
    assert (copy / "data" / "rows.csv").exists() and (copy / "MLproject").exists()
    assert not (copy / ".dbmlops").exists() and not (copy / ".git").exists()
    assert "WHEELPATH" not in (copy / "conda.yaml").read_text()
    assert git(repo, "status", "--porcelain") == ""
    assert (repo / ".dbmlops" / "exit-status").read_text() == "0\n"


HATCH_PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.18"]
build-backend = "hatchling.build"

[project]
name = "Churn_Features"
version = "0.3.0"
requires-python = ">=3.9"

[tool.hatch.build.targets.wheel]
packages = ["src/churn_features"]
"""

BOTH = """\
import churn_features
import dbmlops_example
import mlflow

with mlflow.start_run():
    mlflow.set_tag("features", churn_features.WHAT)
    mlflow.set_tag("example", dbmlops_example.__version__)
print("both wheels:", churn_features.WHAT, dbmlops_example.__version__)
"""


def test_two_wheels_setuptools_and_hatchling(stack, tmp_path):
    """libs/* with a setuptools and a hatchling package (and a README that
    is not a package folder): both built from their own build-system.requires
    in isolated builds, uploaded in one dbfs-put, each picked by its
    distribution name in the env file, and importable on the cluster."""
    repo = root_repo(tmp_path / "mono")
    shutil.move(str(repo / "libs" / "core"), str(repo / "libs" / "example"))
    feats = repo / "libs" / "features"
    (feats / "src" / "churn_features").mkdir(parents=True)
    (feats / "pyproject.toml").write_text(HATCH_PYPROJECT)
    (feats / "src" / "churn_features" / "__init__.py").write_text("WHAT = 'tenure'\n")
    (repo / "libs" / "README.md").write_text("one folder a wheel\n")
    env_text = (repo / "conda.yaml").read_text().replace(
        "/dbfs/wheels/builds/WHEELPATH",
        "/dbfs/wheels/builds/WHEELPATH:dbmlops-example\n"
        "      - /dbfs/wheels/builds/WHEELPATH:churn-features")
    (repo / "conda.yaml").write_text(env_text)
    cl = (repo / "cluster.json").read_text().replace(
        "/dbfs/wheels/builds/WHEELPATH", "/dbfs/wheels/builds/WHEELPATH:Churn.Features")
    (repo / "cluster.json").write_text(cl)
    (repo / "both.py").write_text(BOTH)
    mlp = (repo / "MLproject").read_text().replace(
        "entry_points:\n", "entry_points:\n  both:\n    command: \"python both.py\"\n")
    (repo / "MLproject").write_text(mlp)
    # the README's Makefile for this layout, as written
    (text,) = readme_blocks("makefile-root")
    (repo / "Makefile").write_text(text)
    commit(repo)
    env = stack.env(DBMLOPS_POLL_MAX="1", DBMLOPS_BUILD_ISOLATION="on",
                    PIP_CACHE_DIR=os.path.join(str(tmp_path), "pip-cache"))
    # the venv has no hatchling: only an isolated build can build it
    assert subprocess.run([sys.executable, "-c", "import hatchling"],
                          capture_output=True).returncode != 0
    r = make(repo, env, "train", "DBMLOPS_ENTRY=both")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "both wheels: tenure 0.1.0" in r.stdout + r.stderr
    up = json.loads((repo / ".dbmlops" / "upload.json").read_text())
    names = sorted(os.path.basename(f["remote"]) for f in up["files"])
    # each labelled with its content (DBMLOPS_WHEEL_LABEL)
    assert [re.sub(r"\+g[0-9a-f]{12}-", "+g<label>-", n) for n in names] == [
        "churn_features-0.3.0+g<label>-py3-none-any.whl",
        "dbmlops_example-0.1.0+g<label>-py3-none-any.whl"], up
    sub = (repo / ".dbmlops" / "project" / "conda.yaml").read_text()
    assert "WHEELPATH" not in sub and "churn_features-0.3.0" in sub
    # one dbfs-put for both
    assert r.stdout.count("dbfs-put") == 1, r.stdout
    # off: pip builds with what DBMLOPS_PYTHON has, which lacks hatchling
    (feats / "src" / "churn_features" / "__init__.py").write_text("WHAT = 'age'\n")
    r = make(repo, dict(env, DBMLOPS_BUILD_ISOLATION="off"), "dbmlops-wheel")
    assert r.returncode != 0 and "hatchling" in r.stdout + r.stderr
    # a glob or folder that names nothing
    r = make(repo, env, "dbmlops-wheel", "DBMLOPS_WHEEL_SRC=libs/example pkgs/*")
    assert r.returncode == 2 and "DBMLOPS_WHEEL_SRC 'pkgs/*': no such folder" in r.stderr


def test_project_from_the_ci_repository_name(tmp_path):
    """Azure Pipelines checks every repository out into a folder called s:
    {project} comes from BUILD_REPOSITORY_NAME (GitHub's GITHUB_REPOSITORY,
    GitLab's CI_PROJECT_NAME) before the folder's name."""
    repo = root_repo(tmp_path / "s")
    commit(repo)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "BUILD_", "CI_", "SYSTEM_", "DBMLOPS_"))}
    for var, value, want in (("BUILD_REPOSITORY_NAME", "pricing", "pricing"),
                             ("GITHUB_REPOSITORY", "acme/churn", "churn"),
                             ("CI_PROJECT_NAME", "ltv", "ltv"),
                             (None, None, "s")):
        env = dict(base, **({var: value} if var else {}))
        r = make(repo, env, "dbmlops-branch")
        assert r.returncode == 0, r.stderr
        assert "DBMLOPS_EXPERIMENT_NAME='/Shared/%s/feature-root--" % want in r.stdout, r.stdout


def gated_repo(root, gate):
    repo = root_repo(root)
    (repo / "gate.py").write_text(GATE_PY)
    mlp = (repo / "MLproject").read_text().replace(
        "entry_points:\n",
        "entry_points:\n  wait:\n    command: \"python gate.py '%s'\"\n" % gate)
    (repo / "MLproject").write_text(mlp)
    commit(repo)
    return repo


def test_sigterm_to_make_cancels_the_run(stack, tmp_path):
    """A CI job cancelled: its runner signals make, which signals the
    recipe's shell; the run on Databricks must end CANCELED, not run on."""
    gate = tmp_path / "gate"
    repo = gated_repo(tmp_path / "cancel", gate)
    env = stack.env(DBMLOPS_POLL_MAX="1")
    p = subprocess.Popen(make_argv(repo, "train", "DBMLOPS_ENTRY=wait"), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs = os.path.join(stack.data, "jobs", "runs")
    try:
        def sleeping():
            assert p.poll() is None, p.communicate()
            logs = [os.path.join(runs, d, "log.txt") for d in os.listdir(runs)] \
                if os.path.isdir(runs) else []
            return any("sleeping" in open(f).read() for f in logs
                       if os.path.exists(f))
        wait_for(sleeping, 300, "the job's first line")
        p.send_signal(signal.SIGTERM)       # to make alone
        out, err = p.communicate(timeout=60)
    finally:
        gate.touch()
    assert p.returncode != 0
    assert "cancelling run" in err, err[-3000:]
    assert (repo / ".dbmlops" / "exit-status").read_text() == "130\n"
    # no mlflow-submit left behind, and the run is over, CANCELED
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(repo / ".dbmlops" / "project") not in ps
    run_id = re.search(r"run (\d+): ", err).group(1)
    got = requests.get(stack.url + "/api/2.1/jobs/runs/get",
                       headers={"Authorization": "Bearer " + stack.TOKEN},
                       params={"run_id": run_id}).json()["state"]
    assert got["life_cycle_state"] == "TERMINATED", got
    assert got["result_state"] == "CANCELED", got


def test_exit_status_kept_behind_make(stack, tmp_path):
    """make exits 2 for every failure; the tool's own status is kept: 77
    for a refused token (dbfs-put), 1 for a failed run (mlflow-submit)."""
    repo = root_repo(tmp_path / "status")
    commit(repo)
    r = make(repo, stack.env(DATABRICKS_TOKEN="dapi-wrong"), "train")
    assert r.returncode == 2, r.stderr
    assert (repo / ".dbmlops" / "exit-status").read_text() == "77\n", r.stderr
    assert "dapi-wrong" not in r.stdout + r.stderr
    r = make(repo, stack.env(DBMLOPS_POLL_MAX="1"), "train", "DBMLOPS_ENTRY=fail")
    assert r.returncode == 2, r.stderr
    assert "TERMINATED FAILED" in r.stderr
    assert (repo / ".dbmlops" / "exit-status").read_text() == "1\n"
    # and a later success says 0
    r = make(repo, stack.env(DBMLOPS_POLL_MAX="1"), "train")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (repo / ".dbmlops" / "exit-status").read_text() == "0\n"

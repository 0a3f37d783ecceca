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

import pytest
import requests
import yaml

from dbmlops_testenv import BIN, GATE_PY, TOP, Emu, wait_for
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


TRAIN_PY = """\
import argparse
import os

import mlflow

import churn_features

here = os.path.dirname(os.path.abspath(__file__))
p = argparse.ArgumentParser()
p.add_argument("--coef", type=float)
a = p.parse_args()
with open(os.path.join(here, "..", "data", "rows.csv")) as f:
    rows = len(f.readlines()) - 1
with mlflow.start_run():
    mlflow.log_param("coef", a.coef)
    mlflow.log_param("rows", rows)
    mlflow.set_tag("features", churn_features.WHAT)
print("trained on", rows, "rows")
"""

SCORE_PY = """\
import sys

import mlflow
from mlflow.tracking import MlflowClient

experiment, model_run = sys.argv[1:3]
c = MlflowClient()
train = c.get_run(model_run)
got = c.get_experiment(train.info.experiment_id).name
assert got == experiment, (got, experiment)
assert train.info.status == "FINISHED", train.info.status
with mlflow.start_run():
    mlflow.set_tag("scored_run", model_run)
    mlflow.set_tag("scored_experiment", experiment)
    mlflow.set_tag("coef", train.data.params["coef"])
print("scored with", model_run)
"""


def two_project_repo(root):
    """The 2022 template's layout: libs/* (a setuptools and a hatchling
    package), projects/training (env file not called conda.yaml, a data
    file found through __file__) and projects/scoring (MLProject spelled
    so), with the README's Makefile."""
    root.mkdir()
    shutil.copytree(os.path.join(TOP, "templates", "wheel"), root / "libs" / "example")
    feats = root / "libs" / "features"
    (feats / "src" / "churn_features").mkdir(parents=True)
    (feats / "pyproject.toml").write_text(HATCH_PYPROJECT)
    (feats / "src" / "churn_features" / "__init__.py").write_text("WHAT = 'tenure'\n")
    env = (open(os.path.join(TOP, "templates", "project", "conda.yaml")).read()
           .replace("/dbfs/wheels/builds/WHEELPATH", "/dbfs/wheels/builds/WHEELPATH:churn-features"))
    cluster = open(os.path.join(TOP, "templates", "project", "cluster.json")).read() \
        .replace("/dbfs/wheels/builds/WHEELPATH", "/dbfs/wheels/builds/WHEELPATH:dbmlops_example")
    tr = root / "projects" / "training"
    (tr / "env").mkdir(parents=True)
    (tr / "src").mkdir()
    (tr / "data").mkdir()
    (tr / "data" / "rows.csv").write_text("a,b\n1,2\n3,4\n")
    (tr / "env" / "training env.yaml").write_text(env)
    (tr / "cluster.json").write_text(cluster)
    (tr / "src" / "train.py").write_text(TRAIN_PY)
    (tr / "MLproject").write_text(
        "name: churn-training\nconda_env: env/training env.yaml\nentry_points:\n"
        "  main:\n    parameters:\n      coef: {type: float, default: 0.5}\n"
        "    command: \"python src/train.py --coef {coef}\"\n")
    sc = root / "projects" / "scoring"
    sc.mkdir()
    (sc / "conda.yaml").write_text(env)
    (sc / "cluster.json").write_text(cluster)
    (sc / "score.py").write_text(SCORE_PY)
    (sc / "MLProject").write_text(
        "name: churn-scoring\nconda_env: conda.yaml\nentry_points:\n"
        "  main:\n    parameters:\n      experiment: string\n      model_run: string\n"
        "    command: \"python score.py {experiment} {model_run}\"\n")
    (text,) = readme_blocks("makefile-monorepo")
    (root / "Makefile").write_text(text)
    return root


def mlflow_runs(stack, name):
    h = {"Authorization": "Bearer " + Emu.TOKEN}
    exp = requests.get(stack.url + "/api/2.0/mlflow/experiments/get-by-name",
                       params={"experiment_name": name}, headers=h, timeout=30)
    if exp.status_code != 200:
        return []
    eid = exp.json()["experiment"]["experiment_id"]
    return requests.post(stack.url + "/api/2.0/mlflow/runs/search", json={
        "experiment_ids": [eid], "max_results": 100}, headers=h,
        timeout=30).json().get("runs", [])


def tags(run):
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def test_two_projects_train_then_score(stack, tmp_path):
    """Two wheels, two projects: score gets {experiment:train} and
    {run:train} and checks them through MLflow on the cluster; score in a
    job of its own (a fresh clone) finds train's run too."""
    repo = two_project_repo(tmp_path / "churn")
    commit(repo, "feature/two")
    # as on GitHub Actions, where {project} is the repository's name
    env = stack.env(DBMLOPS_POLL_MAX="1", DBMLOPS_BUILD_ISOLATION="on",
                    GITHUB_REPOSITORY="acme/churn",
                    PIP_CACHE_DIR=os.path.join(str(tmp_path), "pip-cache"))
    # score before any train: no run to score with, said, nothing submitted
    r = make(repo, env, "score")
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-2000:]
    names = dict(re.findall(r"^DBMLOPS_EXPERIMENT_NAME_(\w+)='([^']*)'",
                            (repo / ".dbmlops" / "branch.env").read_text(), re.M))
    assert re.fullmatch(r"/Shared/churn/feature-two-[0-9a-f-]*-?train", names["train"]), names
    assert names["score"] == names["train"][:-len("train")] + "score"
    assert "experiment %s has no finished run" % names["train"] in r.stderr
    assert (repo / ".dbmlops" / "exit-status").read_text() == "1\n"
    assert mlflow_runs(stack, names["score"]) == []
    r = make(repo, env, "train", "train_PARAMS=coef=0.25")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "trained on 2 rows" in r.stdout + r.stderr
    (train_run,) = mlflow_runs(stack, names["train"])
    assert train_run["info"]["status"] == "FINISHED"
    assert {p["key"]: p["value"] for p in train_run["data"]["params"]}["coef"] == "0.25"
    assert tags(train_run)["features"] == "tenure"
    # score in another job: a fresh clone, its own state
    clone = tmp_path / "score job"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    r = make(clone, env, "score")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "scored with " + train_run["info"]["run_id"] in r.stdout + r.stderr
    (score_run,) = mlflow_runs(stack, names["score"])
    t = tags(score_run)
    assert t["scored_run"] == train_run["info"]["run_id"]
    assert t["scored_experiment"] == names["train"]
    assert t["coef"] == "0.25"
    # the two wheels went up once, in one dbfs-put, for both projects
    assert r.stdout.count("dbfs-put") == 1
    for p in ("train", "score"):
        sub = (clone / ".dbmlops" / p / "project").rglob("*.y*ml")
        assert all("WHEELPATH" not in f.read_text() for f in sub)


def test_project_declarations_checked(tmp_path):
    """A bad name, a second declaration, a reference to an undeclared
    project: make stops with the knob named, before running anything."""
    repo = tmp_path / "r"
    repo.mkdir()
    for body, msg in [
            ("$(eval $(call dbmlops_project,my-train,.))", "a project's name is a shell name"),
            ("$(eval $(call dbmlops_project,train,.))\n$(eval $(call dbmlops_project,train,.))",
             "declared twice"),
            ("$(eval $(call dbmlops_project,score,.))\nscore_PARAMS = m={run:train}\n",
             "{run:NAME} and {experiment:NAME} name a project declared")]:
        (repo / "Makefile").write_text("include $(DBMLOPS_MK)\n" + body + "\n")
        r = make(repo, dict(os.environ), "-n", "dbmlops-submit-" +
                 ("score" if "score" in body else "train"))
        assert r.returncode == 2 and msg in r.stderr, (body, r.stderr)


def ws_exists(stack, path):
    """Whether remote path (dbfs:/..., /Volumes/..., /Workspace/...) is there."""
    h = {"Authorization": "Bearer " + Emu.TOKEN}
    if path.startswith("dbfs:"):
        r = requests.get(stack.url + "/api/2.0/dbfs/get-status", headers=h,
                         params={"path": path[len("dbfs:"):]}, timeout=30)
    elif path.startswith("/Volumes/"):
        r = requests.head(stack.url + "/api/2.0/fs/directories" + path, headers=h,
                          timeout=30)
    else:
        r = requests.get(stack.url + "/api/2.0/workspace/get-status", headers=h,
                         params={"path": path[len("/Workspace"):]}, timeout=30)
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


def wheel_folder(repo):
    up = json.loads((repo / ".dbmlops" / "upload.json").read_text())
    return os.path.dirname(up["files"][0]["remote"])


@pytest.mark.parametrize("where", ["dbfs", "volume", "workspace"])
def test_clean_keeps_the_wheel_of_an_active_run(stack, tmp_path, where):
    """make dbmlops-clean on a branch with an active run: make -n says
    what would go and removes nothing; the old wheel folder goes, the
    active run's wheel and the experiment stay, and say why; a folder
    younger than the minimum age stays; DBMLOPS_KEEP keeps the newest and
    the experiment; from another checkout, DBMLOPS_BRANCH=<name> removes
    the rest once the run has ended (experiment into MLflow's trash)."""
    gate = tmp_path / "gate"
    repo = gated_repo(tmp_path / "gone", gate)
    git(repo, "checkout", "-q", "-b", "feature/gone")
    env = stack.env(DBMLOPS_POLL_MAX="1", DBMLOPS_PROJECT="gone-" + where, **{
        "dbfs": {"DBMLOPS_WORKSPACE": "legacy"},
        "volume": {"DBMLOPS_WHEEL_DIR": "/Volumes/main/ml/wheels/{branch}"},
        "workspace": {"DBMLOPS_WORKSPACE": "new"}}[where])
    r = make(repo, env, "train")
    assert r.returncode == 0, r.stderr[-3000:]
    old = wheel_folder(repo)
    assert old.startswith({"dbfs": "dbfs:/", "volume": "/Volumes/",
                           "workspace": "/Workspace/"}[where]), old
    exp = re.search(r"^DBMLOPS_EXPERIMENT_NAME='([^']*)'",
                    (repo / ".dbmlops" / "branch.env").read_text(), re.M).group(1)
    init = repo / "libs" / "core" / "src" / "dbmlops_example" / "__init__.py"
    if not init.exists():
        init = next((repo / "libs" / "core").rglob("__init__.py"))
    init.write_text(init.read_text() + "\nCHANGED = True\n")
    commit(repo, "feature/gone")
    runs = os.path.join(stack.data, "jobs", "runs")
    before = set(os.listdir(runs))
    p = subprocess.Popen(make_argv(repo, "train", "DBMLOPS_ENTRY=wait"), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def sleeping():
            assert p.poll() is None, p.communicate()
            logs = [os.path.join(runs, d, "log.txt") for d in os.listdir(runs)
                    if d not in before]
            return any("sleeping" in open(f).read() for f in logs if os.path.exists(f))
        wait_for(sleeping, 300, "the gated run")
        new = wheel_folder(repo)
        assert new != old and ws_exists(stack, old) and ws_exists(stack, new)
        # the default minimum age keeps what was just written
        r = make(repo, env, "dbmlops-clean")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "kept %s: written" % old in r.stdout and ws_exists(stack, old)
        # make -n: branch-clean -n, nothing removed
        r = make(repo, env, "-n", "dbmlops-clean", "DBMLOPS_CLEAN_MIN_AGE=0")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "would remove " + old in r.stdout, r.stdout
        assert re.search(r"kept %s: run \d+ uses it" % re.escape(new), r.stdout), r.stdout
        assert re.search(r"kept experiment %s: run \d+ is active" % re.escape(exp), r.stdout)
        assert ws_exists(stack, old)
        r = make(repo, env, "dbmlops-clean", "DBMLOPS_CLEAN_MIN_AGE=0")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "removed " + old in r.stdout
        assert not ws_exists(stack, old) and ws_exists(stack, new)
        gate.touch()
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    finally:
        gate.touch()
        if p.poll() is None:
            p.kill()
    # a live branch keeps its newest folder and its experiments
    r = make(repo, env, "dbmlops-clean", "DBMLOPS_KEEP=1", "DBMLOPS_CLEAN_MIN_AGE=0")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "kept %s: one of the 1 newest" % new in r.stdout and "experiment" not in r.stdout
    # the branch is merged: its cleanup job runs on another checkout
    main = tmp_path / "main checkout"
    subprocess.run(["git", "clone", "-q", "-b", "feature/root", str(repo), str(main)],
                   check=True)
    r = make(main, env, "dbmlops-clean",
             "DBMLOPS_BRANCH=feature/gone", "DBMLOPS_CLEAN_MIN_AGE=0")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "removed " + new in r.stdout and "removed %s\n" % os.path.dirname(new) in r.stdout
    assert not ws_exists(stack, os.path.dirname(new))
    assert "removed experiment " + exp in r.stdout
    # the project code mlflow-submit uploaded for it
    assert re.search(r"^removed (/Workspace/Users/[^/]+/\.mlflow-submit|"
                     r"dbfs:/mlflow-experiments)/\d+$", r.stdout, re.M), r.stdout
    got = requests.get(stack.url + "/api/2.0/mlflow/experiments/get-by-name",
                       headers={"Authorization": "Bearer " + Emu.TOKEN},
                       params={"experiment_name": exp}, timeout=30).json()
    assert got["experiment"]["lifecycle_stage"] == "deleted", got
    assert (main / ".dbmlops" / "exit-status").read_text() == "0\n"
    # the branch comes back (a reopened pull request): its experiment
    # comes out of the trash
    r = make(repo, env, "train")
    assert r.returncode == 0, r.stderr[-3000:]
    got = requests.get(stack.url + "/api/2.0/mlflow/experiments/get-by-name",
                       headers={"Authorization": "Bearer " + Emu.TOKEN},
                       params={"experiment_name": exp}, timeout=30).json()
    assert got["experiment"]["lifecycle_stage"] == "active", got


def test_readme_branch_clean_block(stack, tmp_path):
    """The README's branch-clean line: a dry run that names what would go
    and removes nothing."""
    (text,) = readme_blocks("branch-clean")
    whl = tmp_path / "x-1.0-py3-none-any.whl"
    whl.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    folder = "/Workspace/Shared/wheels/feature-x--1f2e3d4c5b"
    env = stack.env(PATH=BIN + os.pathsep + os.environ["PATH"])
    subprocess.run([os.path.join(BIN, "dbfs-put"), "-q", str(whl), folder + "/0a1b/"],
                   env=env, check=True)
    r = subprocess.run(["sh", "-e", "-c", text], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "would remove %s/0a1b" % folder in r.stdout, r.stdout
    assert "no experiment /Shared/churn/feature-x--1f2e3d4c5b" in r.stdout
    assert ws_exists(stack, folder + "/0a1b")


class GitLabLoader(yaml.SafeLoader):
    """GitLab's YAML: !reference [job, key] read as its list."""


GitLabLoader.add_constructor("!reference", lambda loader, node: loader.construct_sequence(node))


def clean_steps(kind, text, values):
    """(script, env, needs a checkout) of the README's clean job of kind,
    its macros expanded as the CI system does."""
    def expand(v):
        v = re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: values[m.group(1)], str(v))
        return re.sub(r"\$\(([A-Za-z_.]+)\)", lambda m: values[m.group(1)], v)
    if kind == "github":
        doc = yaml.safe_load(text)
        assert doc[True] == "delete"        # yaml: on -> True
        job = doc["jobs"]["clean"]
        assert job["if"] == "github.event.ref_type == 'branch'" and job["timeout-minutes"] > 0
        assert doc["permissions"] == {"contents": "read"}
        (step,) = job["steps"]
        return step["run"], {k: expand(v) for k, v in step["env"].items()}, True
    if kind == "azure":
        doc = yaml.safe_load(text)
        assert doc["trigger"] == "none" and doc["pr"] == "none"
        assert doc["parameters"] == [{"name": "branch", "type": "string"}]
        job = doc["jobs"][0]
        assert int(job["timeoutInMinutes"]) > 0
        (step,) = job["steps"]
        return step["script"], {k: expand(v) for k, v in step["env"].items()}, True
    doc = yaml.load(text, Loader=GitLabLoader)
    job = doc["clean"]
    assert job["variables"]["GIT_STRATEGY"] == "none"
    assert job["environment"]["action"] == "stop"
    assert job["before_script"] == ["train", "before_script"]
    # the template's train job installs the toolkit; here it is installed
    return "set -e\n" + "\n".join(job["script"]), {
        "CI_COMMIT_REF_NAME": values["branch"], "CI_PROJECT_NAME": "svc",
        "GITLAB_CI": "true"}, False


@pytest.mark.parametrize("kind", ["github", "gitlab", "azure"])
def test_readme_ci_clean_jobs(stack, tmp_path, kind):
    """The README's clean job of each CI system: run as the system would
    run it once the branch is gone (GitHub and Azure on a checkout of the
    default branch, DBMLOPS_BRANCH from the event or the parameter; GitLab's
    stop job without a checkout), it removes what the branch uploaded."""
    (text,) = readme_blocks("ci-clean-" + kind)
    # the branch's pipeline left its wheels
    repo = root_repo(tmp_path / "svc")
    commit(repo, "main")
    git(repo, "checkout", "-q", "-b", "feature/ci-gone")
    env = stack.env(DBMLOPS_POLL_MAX="1", DBMLOPS_PROJECT="svc", DBMLOPS_WORKSPACE="new")
    r = make(repo, env, "dbmlops-upload")
    assert r.returncode == 0, r.stderr[-3000:]
    folder = wheel_folder(repo)
    assert folder.startswith("/Workspace/Shared/wheels/feature-ci-gone--")
    assert ws_exists(stack, folder)
    values = {"github.event.ref": "feature/ci-gone", "parameters.branch": "feature/ci-gone",
              "branch": "feature/ci-gone",
              "secrets.DATABRICKS_HOST": stack.url, "secrets.DATABRICKS_TOKEN": Emu.TOKEN,
              "DATABRICKS_HOST": stack.url, "DATABRICKS_TOKEN": Emu.TOKEN}
    script, step_env, checkout = clean_steps(kind, text, values)
    # the toolkit where the install step puts it
    home = tmp_path / "opt-dbmlops"
    (home / "share" / "dbmlops" / "mk").mkdir(parents=True)
    os.symlink(BIN, home / "bin")
    os.symlink(MK, home / "share" / "dbmlops" / "mk" / "dbmlops.mk")
    work = tmp_path / "job"
    if checkout:
        subprocess.run(["git", "clone", "-q", "-b", "main", str(repo), str(work)], check=True)
    else:
        work.mkdir()
    e = dict(env, DBMLOPS_HOME=str(home), DBMLOPS_CLEAN_MIN_AGE="0", **step_env)
    # {project}: the CI system's name of the repository
    del e["DBMLOPS_PROJECT"], e["DBMLOPS_WORKSPACE"]
    e.update({"github": {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/svc"},
              "azure": {"TF_BUILD": "True", "BUILD_REPOSITORY_NAME": "svc"},
              "gitlab": {}}[kind])
    r = subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=e, cwd=work,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    if kind == "gitlab":
        # with --min-age's default: the folder was written just now
        assert "kept %s: written" % folder in r.stdout, r.stdout
        e["DBMLOPS_CLEAN_FLAGS"] = ""
        r = subprocess.run(["bash", "-eo", "pipefail", "-c",
                            script.replace("branch-clean\"", "branch-clean\" --min-age 0")],
                           env=e, cwd=work, capture_output=True, text=True, timeout=300)
    assert "removed " + folder in r.stdout, r.stdout
    assert not ws_exists(stack, folder)

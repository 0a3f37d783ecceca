"""mk/dbmlops.mk as a team uses it: the README's Makefile block copied as
written (trailing comments and all), an env file not called conda.yaml,
directories with spaces, the state folder ignoring itself in git, and
reproducible wheels: two fresh clones of one commit upload nothing the
second time (the emulator's request log says so)."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from dbmlops_testenv import BIN, TOP, Emu

MK = os.path.join(TOP, "mk", "dbmlops.mk")


def readme_block(title):
    """The indented code block right after the README heading `title`."""
    text = open(os.path.join(TOP, "README.md")).read()
    sec = text.split("\n## " + title + "\n", 1)[1]
    lines, started = [], False
    for line in sec.splitlines():
        if line.startswith("    ") or (started and line == ""):
            started = True
            lines.append(line[4:])
        elif started:
            break
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c",
                           "user.email=t@t", *args], capture_output=True, text=True,
                          check=True).stdout


def team_repo(root, project="project", wheel="wheel", env_name="environment.yml"):
    """A repository laid out as a team's: the example wheel and project, the
    project's env file renamed, committed on a branch."""
    root.mkdir(parents=True)
    shutil.copytree(os.path.join(TOP, "templates", "wheel"), root / wheel)
    shutil.copytree(os.path.join(TOP, "templates", "project"), root / project)
    p = root / project
    (p / "conda.yaml").rename(p / env_name)
    mlp = (p / "MLproject").read_text().replace("conda_env: conda.yaml",
                                                'conda_env: "%s"  # the env' % env_name)
    (p / "MLproject").write_text(mlp)
    subprocess.run(["git", "init", "-q", "-b", "feature/readme", str(root)], check=True)
    return root


def make(repo, env, *args, timeout=600):
    return subprocess.run(["make", "-C", str(repo), *args, "DBMLOPS_MK=" + MK,
                           "DBMLOPS_BIN=" + BIN + "/", "DBMLOPS_PYTHON=" + sys.executable],
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_readme_makefile_block_as_written(stack, tmp_path):
    block = readme_block("In a Makefile")
    assert "include $(DBMLOPS_MK)" in block and "#" in block   # comments too
    repo = team_repo(tmp_path / "team repo")
    (repo / "Makefile").write_text(block)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "adopt dbmlops")
    env = stack.env(DBMLOPS_POLL_MAX="1")
    r = make(repo, env, "train")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "TERMINATED SUCCESS" in r.stderr
    state = repo / ".dbmlops"
    assert "WHEELPATH" not in (state / "project" / "environment.yml").read_text()
    assert "WHEELPATH" in (repo / "project" / "environment.yml").read_text()
    # the state folder ignores itself; the tree is clean
    assert git(repo, "status", "--porcelain") == ""
    assert (state / ".gitignore").read_text() == "*\n"


def test_spaces_in_paths_and_knobs(stack, tmp_path):
    repo = team_repo(tmp_path / "r", project="ml project", wheel="my wheel",
                     env_name="env.yaml")
    (repo / "Makefile").write_text(
        "DBMLOPS_WHEEL_SRC = my wheel   # spaces\n"
        "DBMLOPS_MLPROJECT = ml project\n"
        "DBMLOPS_EXPERIMENT = /Shared/{project}/spaces\n"
        "train: dbmlops-run\n"
        "include $(DBMLOPS_MK)\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "x")
    env = stack.env(DBMLOPS_POLL_MAX="1")
    r = make(repo, env, "train")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "TERMINATED SUCCESS" in r.stderr
    # nothing changed: nothing runs again
    r = make(repo, env, "dbmlops-subst")
    assert r.returncode == 0 and "pip wheel" not in r.stdout, r.stdout + r.stderr
    # a changed file with a space in its path is seen
    f = repo / "ml project" / "train.py"
    f.write_text(f.read_text() + "\n# changed\n")
    r = make(repo, env, "dbmlops-subst", "-n")
    assert "wheelpath-subst" in r.stdout, r.stdout + r.stderr
    # a state folder with a space is refused with its name
    r = make(repo, env, "dbmlops-branch", "DBMLOPS_STATE=my state")
    assert r.returncode != 0 and "DBMLOPS_STATE 'my state'" in r.stderr


def test_two_clones_upload_nothing_twice(stack, tmp_path):
    origin = team_repo(tmp_path / "origin")
    (origin / "Makefile").write_text("DBMLOPS_WHEEL_SRC = wheel\n"
                                     "DBMLOPS_MLPROJECT = project\n"
                                     "include $(DBMLOPS_MK)\n")
    git(origin, "add", ".")
    git(origin, "commit", "-qm", "x")
    env = stack.env()
    wheels = []
    for i, name in enumerate(["clone one", "clone2"]):
        clone = tmp_path / name
        subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
        before = [x for x in stack.requests() if x["method"] in ("POST", "PUT")]
        r = make(clone, env, "dbmlops-upload")
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        sent = [x for x in stack.requests() if x["method"] in ("POST", "PUT")][len(before):]
        whl = [f for f in os.listdir(clone / ".dbmlops" / "dist") if f.endswith(".whl")][0]
        assert re.fullmatch(r"dbmlops_example-0\.1\.0\+g[0-9a-f]{12}-py3-none-any\.whl", whl)
        data = (clone / ".dbmlops" / "dist" / whl).read_bytes()
        wheels.append(hashlib.sha256(data).hexdigest())
        up = json.loads((clone / ".dbmlops" / "upload.json").read_text())["files"][0]
        if i == 0:
            assert sum(x["bytes_in"] for x in sent) >= len(data)
        else:
            assert up["skipped"] is True
            assert sum(x["bytes_in"] for x in sent) < 1000, sent   # no wheel bytes
    assert wheels[0] == wheels[1]
    assert re.fullmatch(r"[0-9a-f]{64}", wheels[0])


def test_subst_files_knob_still_wins(stack, tmp_path):
    repo = team_repo(tmp_path / "k")
    (repo / "Makefile").write_text(
        "DBMLOPS_WHEEL_SRC = wheel\nDBMLOPS_MLPROJECT = project\n"
        "DBMLOPS_SUBST_FILES = cluster.json\ninclude $(DBMLOPS_MK)\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "x")
    r = make(repo, stack.env(), "dbmlops-subst")
    assert r.returncode == 0, r.stderr
    sub = repo / ".dbmlops" / "project"
    assert "WHEELPATH" not in (sub / "cluster.json").read_text()
    assert "WHEELPATH" in (sub / "environment.yml").read_text()


def test_a_changed_wheel_runs_on_the_same_cluster(mlflow_server, tmp_path):
    """On an all-purpose cluster, which keeps what it installed: a change to
    the wheel's code (its version 0.1.0 unchanged) is a new labelled
    version that the next run installs and runs; no change uploads and
    installs nothing new, and the run has the same environment."""
    e = Emu(mlflow_url=mlflow_server.url, extra=["--cluster", "0101-mk:RUNNING"]).start()
    try:
        repo = team_repo(tmp_path / "repo")
        (repo / "Makefile").write_text("DBMLOPS_WHEEL_SRC = wheel\n"
                                       "DBMLOPS_MLPROJECT = project\n"
                                       "DBMLOPS_COMPUTE = cluster:0101-mk\n"
                                       "include $(DBMLOPS_MK)\n"
                                       "train: dbmlops-run\n")
        git(repo, "add", ".")
        git(repo, "commit", "-qm", "x")
        env = e.env(DBMLOPS_POLL_MAX="1")
        init = repo / "wheel" / "src" / "dbmlops_example" / "__init__.py"

        def train():
            r = make(repo, env, "train")
            assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
            return r.stdout + r.stderr

        assert "trained with dbmlops_example 0.1.0 " in train()
        init.write_text(init.read_text().replace('__version__ = "0.1.0"',
                                                 '__version__ = "0.1.0-changed"'))
        assert "trained with dbmlops_example 0.1.0-changed" in train()
        libs = requests_libs(e)
        assert len([w for w in libs if "dbmlops_example-0.1.0+g" in w]) == 2, libs
        # unchanged: no wheel bytes sent, no new library on the cluster
        before = [x for x in e.requests() if x["method"] in ("POST", "PUT")]
        (repo / ".dbmlops" / "wheel.stamp").unlink()     # rebuilt all the same
        assert "trained with dbmlops_example 0.1.0-changed" in train()
        sent = [x for x in e.requests() if x["method"] in ("POST", "PUT")][len(before):]
        assert not [x for x in sent if ".whl" in x["path"]], sent
        assert requests_libs(e) == libs
    finally:
        if os.environ.get("KEEP_EMU"):
            print("EMU DIR", e.dir)
            e.stop()
        else:
            e.cleanup()


def requests_libs(e):
    import urllib.request
    req = urllib.request.Request(e.url + "/api/2.0/libraries/cluster-status?cluster_id=0101-mk",
                                 headers={"Authorization": "Bearer " + Emu.TOKEN})
    with urllib.request.urlopen(req, timeout=30) as r:
        return [s["library"].get("whl", "") for s in json.load(r)["library_statuses"]]

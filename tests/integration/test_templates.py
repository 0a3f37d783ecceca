"""The CI pipeline templates, run as their CI system would run them: every
shell step of each template, in order, on a fresh clone of a team's
repository (templates/: the Makefile, the wheel, the project), with the
CI's own variables set (a pull request build), the toolkit's release
tarball fetched, checked against its SHA-256 and installed by the
template's own commands, and the secrets mapped from the CI's secret store to
workspace-emu's. The first template builds dbmlops; the others find it
in their cache, as a second run would."""

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from dbmlops_testenv import TOP, Emu, toolkit_release

CI = os.path.join(TOP, "templates", "ci")
VERSION = open(os.path.join(TOP, "VERSION")).read().strip()   # what they pin


def test_static_rules():
    """Secrets only as environment mappings; versions pinned; timeouts,
    concurrency and least privilege declared."""
    gh = yaml.safe_load(open(os.path.join(CI, "github-actions.yml")))
    az = yaml.safe_load(open(os.path.join(CI, "azure-pipelines.yml")))
    gl = yaml.safe_load(open(os.path.join(CI, "gitlab-ci.yml")))
    assert gh["permissions"] == {"contents": "read"}
    assert gh["concurrency"]["cancel-in-progress"] is True
    assert set(gh[True]) == {"push", "pull_request"}        # yaml: on -> True
    assert gh[True]["push"]["branches"] == ["main"]
    assert gh["jobs"]["train"]["timeout-minutes"] > 0
    # quoted, as the Azure Pipelines schema has them (strings)
    assert az["pr"]["autoCancel"] == "true" and az["trigger"]["batch"] == "true"
    assert int(az["jobs"][0]["timeoutInMinutes"]) > 0
    assert gl["train"]["interruptible"] is True and gl["train"]["timeout"]
    assert any("CI_OPEN_MERGE_REQUESTS" in r.get("if", "") for r in gl["workflow"]["rules"])
    for t in (gh["env"], az["variables"], gl["variables"]):
        assert t["DBMLOPS_VERSION"] == VERSION
        assert t["DBMLOPS_URL"].endswith("/dbmlops-%s.tar.gz" % VERSION)
        assert re.fullmatch(r"[0-9a-f]{64}", t["DBMLOPS_SHA256"])
    # GitHub: the secrets on the train step alone
    job = gh["jobs"]["train"]
    assert not any(k.startswith("DATABRICKS_") for k in job["env"])
    assert [s["name"] for s in job["steps"] if "DATABRICKS_TOKEN" in s.get("env", {})] == \
        ["Train on Databricks"]
    for name in os.listdir(CI):
        for line in open(os.path.join(CI, name)):
            if "DATABRICKS_TOKEN" in line and not line.lstrip().startswith("#"):
                assert line.strip().startswith("DATABRICKS_TOKEN:"), line


@pytest.fixture(scope="module")
def toolkit(tmp_path_factory):
    """dbmlops as its release page would serve it: (tarball URL, SHA-256)."""
    return toolkit_release(tmp_path_factory.mktemp("toolkit"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return {"dir": tmp_path_factory.mktemp("ci-cache"), "filled": False}


def team_repo(path, ci_file, ci_text):
    shutil.copytree(os.path.join(TOP, "templates"), path,
                    ignore=shutil.ignore_patterns(".dbmlops", "ci", "__pycache__"))
    dest = path / ci_file
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(ci_text)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "train with dbmlops"], check=True)
    return path


def fresh_clone(origin, dest):
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True)
    return dest


def shell(script, env, cwd):
    """One step's script, as the CI runs it: bash, stop at the first error."""
    r = subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=env, cwd=cwd,
                       capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        print(r.stdout[-5000:], r.stderr[-5000:])
    assert r.returncode == 0, script
    return r


def base_env(stack, tmp_path):
    """The machine's environment as a CI runner has it, plus a sudo that
    runs its command (runners have one; this machine runs as root)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABRICKS_", "MLFLOW_", "DBMLOPS_", "GITHUB_", "CI_",
                                "BUILD_", "SYSTEM_"))}
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (fake / "sudo").chmod(0o755)
    # make train builds the wheel with python3: the one that runs the tests
    (fake / "python3").write_text('#!/bin/sh\nexec "%s" "$@"\n' % sys.executable)
    (fake / "python3").chmod(0o755)
    env["PATH"] = "%s:%s" % (fake, env["PATH"])
    env["HOME"] = str(tmp_path / "home")
    env["DBMLOPS_POLL_MAX"] = "1"
    return env


def restore(cache, home):
    if cache["filled"]:
        shutil.copytree(cache["dir"] / "home", home, symlinks=True)


def save(cache, home):
    if not cache["filled"]:
        shutil.copytree(home, cache["dir"] / "home", symlinks=True)
        cache["filled"] = True


def expand(text, values):
    """${{ a.b }} and $(A.B) macros, as the CI system expands them."""
    text = re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: values.get(m.group(1), ""), text)
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_.]*)\)", lambda m: values.get(m.group(1),
                  m.group(0)), text)


def run_github(doc, work, env, secrets, stack):
    job = doc["jobs"]["train"]
    # the container's /opt: a folder of this test's here
    home = str(work.parent / "opt-dbmlops")
    values = {"secrets.DATABRICKS_HOST": secrets["DATABRICKS_HOST"],
              "secrets.DATABRICKS_TOKEN": secrets["DATABRICKS_TOKEN"],
              "runner.os": "Linux", "env.DBMLOPS_VERSION": doc["env"]["DBMLOPS_VERSION"],
              "github.head_ref": "feature/ci", "github.ref": "refs/pull/7/merge"}
    env.update({k: expand(str(v), values) for k, v in doc["env"].items()})
    env.update({k: expand(str(v), values) for k, v in job["env"].items()})
    env["DBMLOPS_HOME"] = values["env.DBMLOPS_HOME"] = home
    env.update(GITHUB_ACTIONS="true", GITHUB_HEAD_REF="feature/ci", GITHUB_REF_NAME="7/merge",
               GITHUB_EVENT_NAME="pull_request", GITHUB_WORKSPACE=str(work),
               GITHUB_SHA=subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"],
                                         capture_output=True, text=True).stdout.strip())
    steps = []
    for s in job["steps"]:
        if "run" in s:
            steps.append((expand(s["run"], values),
                          {k: expand(str(v), values) for k, v in s.get("env", {}).items()}))
        elif s["uses"].startswith("actions/cache"):
            assert expand(s["with"]["path"], values) == home
    return home, steps


def run_azure(doc, work, env, secrets, stack):
    variables = dict(doc["variables"])
    values = {"Pipeline.Workspace": str(work.parent / "pipeline"), "Agent.OS": "Linux"}
    for k, v in variables.items():
        values[k] = expand(str(v), values)
    values.update(secrets)
    for k, v in variables.items():      # variables reach scripts as env
        env[k.upper().replace(".", "_")] = values[k]
    env.update(TF_BUILD="True", BUILD_SOURCEBRANCH="refs/pull/7/merge",
               SYSTEM_PULLREQUEST_SOURCEBRANCH="refs/heads/feature/ci",
               BUILD_REPOSITORY_LOCALPATH=str(work))
    job = doc["jobs"][0]
    steps = []
    for s in job["steps"]:
        if "script" in s:
            steps.append((expand(s["script"], values),
                          {k: expand(str(v), values) for k, v in s.get("env", {}).items()}))
        elif s.get("task", "").startswith("Cache@"):
            assert expand(s["inputs"]["path"], values) == values["DBMLOPS_HOME"]
    return values["DBMLOPS_HOME"], steps


def run_gitlab(doc, work, env, secrets, stack):
    job = doc["train"]
    env.update(GITLAB_CI="true", CI="true", CI_PROJECT_DIR=str(work),
               CI_PIPELINE_SOURCE="merge_request_event",
               CI_MERGE_REQUEST_SOURCE_BRANCH_NAME="feature/ci",
               CI_COMMIT_REF_NAME="feature/ci")
    for k, v in doc["variables"].items():
        env[k] = re.sub(r"\$(\w+)", lambda m: env.get(m.group(1), m.group(0)), str(v))
    env.update(secrets)
    assert job["cache"]["paths"] == [".dbmlops-toolkit/"]
    return env["DBMLOPS_HOME"], job["before_script"] + job["script"]


RUNNERS = {"azure-pipelines.yml": (".azure-pipelines.yml", run_azure),
           "github-actions.yml": (".github/workflows/train.yml", run_github),
           "gitlab-ci.yml": (".gitlab-ci.yml", run_gitlab)}


@pytest.mark.once
@pytest.mark.parametrize("name", sorted(RUNNERS))
def test_template_runs_green(stack, toolkit, cache, tmp_path, name):
    path, runner = RUNNERS[name]
    text = open(os.path.join(CI, name)).read()
    doc = yaml.safe_load(text)
    origin = team_repo(tmp_path / "origin", path, text)
    work = fresh_clone(origin, tmp_path / "build" / "s")
    env = base_env(stack, tmp_path)
    secrets = {"DATABRICKS_HOST": stack.url, "DATABRICKS_TOKEN": Emu.TOKEN}
    home, steps = runner(doc, work, env, secrets, stack)
    # the release page serving the tarball, and its SHA256SUMS line
    env["DBMLOPS_URL"], env["DBMLOPS_SHA256"] = toolkit
    restore(cache, home)
    n0 = len(stack.requests())
    for step in steps:
        script, step_env = step if isinstance(step, tuple) else (step, {})
        if "apt-get install" in script and "git make" in script:
            continue       # the image's package index: git and make are here
        e = dict(env)
        e.update(step_env)
        r = shell(script, e, work)
    assert "TERMINATED SUCCESS" in r.stderr, r.stderr[-2000:]
    assert os.path.exists(os.path.join(home, "share", "dbmlops", "mk", "dbmlops.mk"))
    save(cache, home)
    # the pull request trained under its source branch
    import json
    up = json.loads((work / ".dbmlops" / "upload.json").read_text())["files"][0]
    assert "/wheels/feature-ci--" in up["remote"], up
    assert len(stack.requests()) > n0
    # a refused token: the train step exits with the tool's status (77),
    # which make alone would have turned into 2
    script, step_env = steps[-1] if isinstance(steps[-1], tuple) else (steps[-1], {})
    assert "make train" in script
    bad = dict(env)
    bad.update(step_env)
    bad["DATABRICKS_TOKEN"] = "dapi-refused"
    r = subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=bad, cwd=work,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 77, r.stderr[-2000:]
    assert (work / ".dbmlops" / "exit-status").read_text() == "77\n"
    # the token went nowhere but the environment
    for f in (work / ".dbmlops").rglob("*"):
        if f.is_file():
            assert Emu.TOKEN.encode() not in f.read_bytes(), f


def test_a_wrong_checksum_installs_nothing(toolkit, tmp_path):
    """The install step of each template stops at sha256sum when the
    tarball is not the release's (the templates' placeholder zeros
    included), before anything is unpacked or built."""
    url, good = toolkit
    for name in sorted(RUNNERS):
        text = open(os.path.join(CI, name)).read()
        install = re.search(r"(if \[ ! -x .*?\n\s*fi)", text, re.S).group(1)
        home = tmp_path / name / "home"
        for sha in ("0" * 64, good[::-1]):
            env = dict(os.environ, DBMLOPS_HOME=str(home), DBMLOPS_URL=url,
                       DBMLOPS_SHA256=sha, DBMLOPS_VERSION=VERSION)
            r = subprocess.run(["bash", "-eo", "pipefail", "-c", install], env=env,
                               capture_output=True, text=True, timeout=120)
            assert r.returncode != 0, name
            assert "FAILED" in r.stderr or "WARNING" in r.stderr, r.stderr
            assert not (home / "src").exists() and not (home / "bin").exists()


def actionlint():
    """actionlint from PATH, else built once from the Go module proxy into
    the tests' cache (go install; the pinned version), else None."""
    found = shutil.which("actionlint")
    if found:
        return found
    gobin = os.path.join(os.path.expanduser("~"), ".cache", "dbmlops", "go-bin")
    exe = os.path.join(gobin, "actionlint")
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go")
                                else None)
    if not os.path.exists(exe) and go:
        subprocess.run([go, "install", "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"],
                       env=dict(os.environ, GOBIN=gobin), capture_output=True, timeout=600)
    return exe if os.path.exists(exe) else None


def test_linters(tmp_path):
    """check-jsonschema with each vendor's schema on the three templates and
    the README's clean pipelines (GitHub, Azure), and actionlint on the
    GitHub workflows; every action pinned by its commit."""
    from test_readme import block
    files = {"vendor.github-workflows": [os.path.join(CI, "github-actions.yml")],
             "vendor.azure-pipelines": [os.path.join(CI, "azure-pipelines.yml")],
             "vendor.gitlab-ci": [os.path.join(CI, "gitlab-ci.yml")]}
    for kind, schema in (("github", "vendor.github-workflows"),
                         ("azure", "vendor.azure-pipelines")):
        (text,) = block("ci-clean-" + kind)
        p = tmp_path / ("clean-%s.yml" % kind)
        p.write_text(text)
        files[schema].append(str(p))
    cj = os.path.join(os.path.dirname(sys.executable), "check-jsonschema")
    for schema, paths in files.items():
        r = subprocess.run([cj, "--regex-variant", "python", "--builtin-schema", schema, *paths],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (schema, r.stdout[-3000:] + r.stderr[-3000:])
    for line in open(os.path.join(CI, "github-actions.yml")):
        m = re.match(r"\s*-?\s*uses:\s*(\S+)(.*)", line)
        if m:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", m.group(1)), line
            assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", m.group(2)), line
    al = actionlint()
    if al is None:
        pytest.skip("no actionlint, and no go to build it")
    r = subprocess.run([al, "-shellcheck=", "-pyflakes=", os.path.join(CI, "github-actions.yml"),
                        *files["vendor.github-workflows"][1:]],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr

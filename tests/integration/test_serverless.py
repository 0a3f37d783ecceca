"""mlflow-submit on serverless compute (--serverless, or a backend config
holding an environment spec), and workspace-emu's side of it: runs/submit
with environments[], checked as the service checks them, run in an
environment cached by content."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import requests

from dbmlops_testenv import BIN, TOP, Emu, build_example_wheel

SUBMIT = os.path.join(BIN, "mlflow-submit")
AUTH = {"Authorization": "Bearer " + Emu.TOKEN}


@pytest.fixture(scope="module")
def ws(mlflow_server):
    e = Emu(mlflow_url=mlflow_server.url).start()
    yield e
    e.cleanup()


@pytest.fixture(scope="module")
def wheel(ws, tmp_path_factory):
    d = tmp_path_factory.mktemp("whl")
    whl = build_example_wheel(str(d))
    up = subprocess.run([os.path.join(BIN, "dbfs-put"), "-q", "-c", whl,
                         "/Workspace/Shared/team wheels/"], env=ws.env(),
                        capture_output=True, text=True, check=True).stdout
    return up


@pytest.fixture
def project(wheel, tmp_path):
    """The example project as a team writes it for serverless: the wheel
    only in the conda env (no cluster.json), the env file not called
    conda.yaml, a path with a space."""
    proj = tmp_path / "my project"
    shutil.copytree(os.path.join(TOP, "templates", "project"), proj)
    (proj / "cluster.json").unlink()
    (proj / "conda.yaml").rename(proj / "environment.yml")
    ml = (proj / "MLproject").read_text().replace("conda_env: conda.yaml",
                                                  "conda_env: environment.yml")
    (proj / "MLproject").write_text(ml)
    subprocess.run([os.path.join(BIN, "wheelpath-subst"), "-i",
                    str(proj / "environment.yml")], input=wheel, text=True, check=True)
    return proj


def submit(ws, project, *args):
    return subprocess.run([SUBMIT, "--json", "--experiment-name", "/Shared/serverless",
                           *args, str(project)], env=ws.env(DBMLOPS_POLL_MAX="1"),
                          capture_output=True, text=True, timeout=600)


def api(ws, method, path, **kw):
    return requests.request(method, ws.url + path, headers=AUTH, timeout=60, **kw)


def envs(ws):
    d = os.path.join(ws.data, "jobs", "envs")
    return sorted(x for x in os.listdir(d) if not x.endswith(".lock"))


def test_example_runs_serverless(ws, project):
    r = submit(ws, project, "--serverless", "-P", "alpha=0.2")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["mode"] == "python" and out["result_state"] == "SUCCESS"
    assert "trained with dbmlops_example" in out["logs"]
    spec = out["job_spec"]
    task = spec["tasks"][0]
    assert task["environment_key"] == "mlflow_project"
    assert "new_cluster" not in task and "libraries" not in task
    env = spec["environments"][0]
    assert env["environment_key"] == "mlflow_project"
    assert env["spec"]["environment_version"] == "4"
    deps = env["spec"]["dependencies"]
    assert any(d.startswith("/Workspace/Shared/team wheels/") and d.endswith(".whl")
               for d in deps), deps
    assert "mlflow" in deps
    # the project's code went to the user's workspace folder, not DBFS
    assert task["spark_python_task"]["python_file"].startswith(
        "/Workspace/Users/emu-user@example.com/.mlflow-submit/")
    assert task["spark_python_task"]["parameters"][0].startswith("/Workspace/Users/")
    assert not [x for x in ws.requests() if x["path"].startswith("/api/2.0/dbfs/")]
    # the MLflow run has the parameters and metrics
    run = api(ws, "GET", "/api/2.0/mlflow/runs/get",
              params={"run_id": out["mlflow_run_id"]}).json()["run"]
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["alpha"] == "0.2"
    assert {m["key"] for m in run["data"]["metrics"]} >= {"rmse", "r2"}
    assert run["info"]["status"] == "FINISHED"
    # runs/get names the task's environment, as the service does (its Run
    # has no environments field)
    got = api(ws, "GET", "/api/2.1/jobs/runs/get", params={"run_id": out["run_id"]}).json()
    assert got["tasks"][0]["environment_key"] == "mlflow_project"
    assert "environments" not in got and "libraries" not in got["tasks"][0]


def test_second_run_reuses_the_environment(ws, project):
    """Same dependencies, same environment: nothing is installed again
    (the environment cache does not grow), as a warm serverless start."""
    r = submit(ws, project, "--serverless")
    assert r.returncode == 0, r.stderr
    before = envs(ws)
    r = submit(ws, project, "--serverless", "-P", "alpha=0.9")
    assert r.returncode == 0, r.stderr
    assert envs(ws) == before


def test_environment_spec_as_backend_config(ws, project, tmp_path):
    """-c with an environment spec (flat, or wrapped in environments[]) is
    serverless without --serverless; its fields and dependencies are kept."""
    flat = tmp_path / "env.json"
    flat.write_text(json.dumps({"environment_version": "3",
                                "dependencies": ["six>=1.10"]}))
    r = submit(ws, project, "-c", str(flat))
    assert r.returncode == 0, r.stderr
    spec = json.loads(r.stdout)["job_spec"]["environments"][0]["spec"]
    assert spec["environment_version"] == "3"
    assert spec["dependencies"][0] == "six>=1.10"
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"environments": [
        {"environment_key": "train", "spec": {"client": "2", "dependencies": []}}]}))
    r = submit(ws, project, "-n", "-c", str(wrapped))
    assert r.returncode == 0, r.stderr
    js = json.loads(r.stdout)["job_spec"]
    assert js["tasks"][0]["environment_key"] == "train"
    assert js["environments"][0]["spec"]["client"] == "2"
    assert "environment_version" not in js["environments"][0]["spec"]


def test_code_dir_on_a_volume(ws, project):
    r = submit(ws, project, "--serverless", "--code-dir", "/Volumes/main/ml/code/projects")
    assert r.returncode == 0, r.stderr
    task = json.loads(r.stdout)["job_spec"]["tasks"][0]
    assert task["spark_python_task"]["python_file"].startswith(
        "/Volumes/main/ml/code/projects/dbmlops-launch-")


def test_dbfs_root_refused_before_anything_is_sent(ws, project, tmp_path):
    env = project / "environment.yml"
    env.write_text(env.read_text().replace("/Workspace/Shared/team wheels/",
                                           "/dbfs/wheels/"))
    n = len(ws.requests())
    r = submit(ws, project, "--serverless")
    assert r.returncode == 2
    assert "serverless compute cannot read the DBFS root" in r.stderr
    assert "/Volumes/<catalog>/<schema>/<volume>/" in r.stderr
    assert str(env) in r.stderr
    env.write_text(env.read_text().replace("/dbfs/wheels/", "/Workspace/Shared/team wheels/"))
    r = submit(ws, project, "--serverless", "--code-dir", "dbfs:/code")
    assert r.returncode == 2 and "--code-dir dbfs:/code" in r.stderr
    assert len(ws.requests()) == n


def test_conflicting_compute_options(ws, project, tmp_path):
    cl = tmp_path / "cluster.json"
    cl.write_text(json.dumps({"spark_version": "15.4.x-scala2.12",
                              "node_type_id": "i3.xlarge", "num_workers": 1}))
    r = submit(ws, project, "--serverless", "-c", str(cl))
    assert r.returncode == 2 and "describes a cluster" in r.stderr
    r = submit(ws, project, "--serverless", "--cluster-id", "x")
    assert r.returncode == 2 and "exclude each other" in r.stderr
    r = submit(ws, project, "--serverless", "--mode", "shell")
    assert r.returncode == 2 and "no shell command" in r.stderr
    r = submit(ws, project, "--serverless", "--environment-version", "four")
    assert r.returncode == 2 and "not a version number" in r.stderr


# workspace-emu: what the service refuses at submit, and what fails at start

def body(env=None, **task):
    t = {"task_key": "t", "environment_key": "default",
         "spark_python_task": {"python_file": "/Workspace/Shared/x.py"}}
    t.update(task)
    return {"run_name": "serverless", "tasks": [t],
            "environments": env if env is not None else
            [{"environment_key": "default", "spec": {"environment_version": "2"}}]}


@pytest.mark.parametrize("req,message", [
    (body(libraries=[{"pypi": {"package": "six"}}]),
     "Libraries field is not supported for serverless task, please specify "
     "libraries in environment."),
    (body(environment_key="other"), "Environment key other is not defined"),
    (body(env=[{"environment_key": "default", "spec": {"dependencies": ["six"]}}]),
     "Either environment_version or base_environment must be provided"),
    (body(env=[{"environment_key": "default", "spec": {"environment_version": "77"}}]),
     "Invalid environment version '77'"),
    (body(env=[{"environment_key": "default", "spec": {"client": "2"}},
               {"environment_key": "default", "spec": {"client": "3"}}]),
     "Duplicate environment_key: default"),
    (body(env=[{"environment_key": "default",
                "spec": {"environment_version": "2", "dependencies": [7]}}]),
     "dependencies must be an array of strings"),
    (body(shell_command_task={"command": ["true"]}, spark_python_task=None),
     "shell_command_task cannot run on serverless compute"),
])
def test_submit_refusals(ws, req, message):
    t = req["tasks"][0]
    if t.get("spark_python_task") is None:
        t.pop("spark_python_task", None)
    n = len([x for x in ws.requests() if x["path"].endswith("runs/submit")])
    r = api(ws, "POST", "/api/2.1/jobs/runs/submit", json=req)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in r.json()["message"]
    assert len([x for x in ws.requests() if x["path"].endswith("runs/submit")]) == n + 1


def wait_run(ws, run_id):
    for _ in range(600):
        got = api(ws, "GET", "/api/2.1/jobs/runs/get", params={"run_id": run_id}).json()
        if got["state"]["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"):
            return got
        time.sleep(0.2)
    raise AssertionError("run did not end")


def test_dbfs_root_fails_at_start(ws):
    api(ws, "POST", "/api/2.0/workspace/mkdirs", json={"path": "/Shared/sl"})
    r = api(ws, "POST", "/api/2.0/workspace-files/import-file/Shared/sl/ok.py",
            data=b"print('ok')\n")
    assert r.status_code == 200, r.text
    r = api(ws, "POST", "/api/2.1/jobs/runs/submit", json=body(
        env=[{"environment_key": "default", "spec": {
            "environment_version": "2", "dependencies": ["/dbfs/wheels/x-1-py3-none-any.whl"]}}],
        spark_python_task={"python_file": "/Workspace/Shared/sl/ok.py"}))
    got = wait_run(ws, r.json()["run_id"])
    assert got["state"]["life_cycle_state"] == "INTERNAL_ERROR"
    assert got["status"]["termination_details"]["code"] == "LIBRARY_INSTALLATION_ERROR"
    assert "DBFS root is not accessible from serverless" in got["state"]["state_message"]
    r = api(ws, "POST", "/api/2.1/jobs/runs/submit", json=body(
        spark_python_task={"python_file": "dbfs:/ok.py"}))
    got = wait_run(ws, r.json()["run_id"])
    assert got["state"]["result_state"] == "FAILED"
    assert "python_file dbfs:/ok.py" in got["state"]["state_message"]


def test_official_sdk_submits_a_serverless_run(ws):
    """databricks-sdk's own models: JobEnvironment + compute.Environment."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service import compute, jobs

    w = WorkspaceClient(host=ws.url, token=Emu.TOKEN)
    api(ws, "POST", "/api/2.0/workspace/mkdirs", json={"path": "/Shared/sdk"})
    api(ws, "POST", "/api/2.0/workspace-files/import-file/Shared/sdk/main.py",
        data=b"import six, sys\nprint('six', six.__version__, sys.argv[1:])\n")
    run = w.jobs.submit(
        run_name="sdk serverless",
        tasks=[jobs.SubmitTask(task_key="main", environment_key="env",
                               spark_python_task=jobs.SparkPythonTask(
                                   python_file="/Workspace/Shared/sdk/main.py",
                                   parameters=["a", "b c"]))],
        environments=[jobs.JobEnvironment(environment_key="env", spec=compute.Environment(
            environment_version="2", dependencies=["six"]))]).result()
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    out = w.jobs.get_run_output(run.tasks[0].run_id)
    assert "six 1." in out.logs and "['a', 'b c']" in out.logs
    assert run.tasks[0].environment_key == "env"


@pytest.fixture(scope="module")
def free(mlflow_server):
    """A workspace with serverless compute only, as Databricks Free Edition."""
    e = Emu(mlflow_url=mlflow_server.url, workspace="serverless").start()
    yield e
    e.cleanup()


@pytest.mark.parametrize("where", ["cluster.json removed", "serverless-only workspace"])
def test_make_include_compute_knob(ws, free, tmp_path, where):
    """DBMLOPS_COMPUTE=serverless: wheels to workspace files, a serverless
    run; with the template's cluster.json removed on a workspace that has
    classic compute too, and with the template unchanged on one that has
    only serverless compute (which refuses the cluster.json's cluster)."""
    repo = tmp_path / "repo"
    shutil.copytree(os.path.join(TOP, "templates"), repo / "templates",
                    ignore=shutil.ignore_patterns(".dbmlops", "ci"))
    shutil.copytree(os.path.join(TOP, "mk"), repo / "mk")
    if where == "cluster.json removed":
        (repo / "templates" / "project" / "cluster.json").unlink()
    else:
        ws = free
        classic = subprocess.run(
            ["make", "-C", str(repo / "templates"), "train", "DBMLOPS_BIN=" + BIN + "/",
             "DBMLOPS_PYTHON=" + sys.executable],
            env=ws.env(DBMLOPS_POLL_MAX="1", DBMLOPS_BRANCH="main"),
            capture_output=True, text=True, timeout=900)
        assert classic.returncode != 0
        assert "Only serverless compute is available in this workspace" in classic.stderr, \
            classic.stderr[-3000:]
    r = subprocess.run(["make", "-C", str(repo / "templates"), "train",
                        "DBMLOPS_BIN=" + BIN + "/", "DBMLOPS_PYTHON=" + sys.executable,
                        "DBMLOPS_COMPUTE=serverless", "DBMLOPS_SUBMIT_FLAGS=--json"],
                       env=ws.env(DBMLOPS_POLL_MAX="1", DBMLOPS_BRANCH="main"),
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = json.loads(r.stdout[r.stdout.index("{\"exit_code\""):].splitlines()[0])
    assert out["result_state"] == "SUCCESS"
    deps = out["job_spec"]["environments"][0]["spec"]["dependencies"]
    assert any(d.startswith("/Workspace/Shared/wheels/main/") for d in deps), deps
    bad = subprocess.run(["make", "-C", str(repo / "templates"), "-n", "train",
                          "DBMLOPS_COMPUTE=serveless"], capture_output=True, text=True)
    assert bad.returncode != 0
    assert "give new-cluster, serverless or cluster:<cluster-id>" in bad.stderr

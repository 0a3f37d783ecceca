"""mlflow-submit against workspace-emu and a real MLflow server: outcomes
and their exit codes, cancellation on SIGTERM, the tags MLflow's client
sets, checks made before anything is sent; and mk/dbmlops.mk chaining all
the tools incrementally."""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest
import requests

from dbmlops_testenv import BIN, GATE_PY, TOP, Emu, build_example_wheel, wait_for

SUBMIT = os.path.join(BIN, "mlflow-submit")


@pytest.fixture(scope="module")
def project(stack, tmp_path_factory):
    d = tmp_path_factory.mktemp("p")
    whl = build_example_wheel(str(d / "dist"))
    up = subprocess.run([os.path.join(BIN, "dbfs-put"), "-q", "-c", whl,
                         "dbfs:/wheels/submit/"], env=stack.env(),
                        capture_output=True, text=True, check=True).stdout
    proj = d / "project"
    shutil.copytree(os.path.join(TOP, "templates", "project"), proj)
    # "sleep" runs until its gate file exists: cancelled and timed-out
    # runs are still running when the test acts
    (proj / "gate.py").write_text(GATE_PY)
    (proj / "MLproject").write_text((proj / "MLproject").read_text() + """
  sleep:
    command: "python gate.py %s"
""" % (d / "gate-never-opened"))
    subprocess.run([os.path.join(BIN, "wheelpath-subst"), "-i", str(proj / "conda.yaml"),
                    str(proj / "cluster.json")], input=up, text=True, check=True)
    return proj


def submit(stack, project, *args, env=None, timeout=600):
    e = stack.env(DBMLOPS_POLL_MAX="1", **(env or {}))
    return subprocess.run([SUBMIT, "-b", "databricks", "-c", str(project / "cluster.json"), *args,
                           str(project)], env=e, capture_output=True, text=True,
                          timeout=timeout)


def backdate(root, seconds=60):
    """Set the times of everything under root back by seconds."""
    t = time.time() - seconds
    for d, _, names in os.walk(root):
        for n in names + ["."]:
            os.utime(os.path.join(d, n), (t, t), follow_symlinks=False)


def mlflow_get(stack, path, **params):
    r = requests.get(stack.url + "/api/2.0/mlflow/" + path, params=params,
                     headers={"Authorization": "Bearer " + Emu.TOKEN}, timeout=30)
    r.raise_for_status()
    return r.json()


@pytest.mark.parametrize("mode", ["shell", "python"])
def test_success(stack, project, mode):
    r = submit(stack, project, "--mode", mode, "--json", "--experiment-name",
               "/Shared/submit/ok", "-P", "alpha=0.25")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["result_state"] == "SUCCESS" and out["mode"] == mode
    assert "trained with dbmlops_example 0.1.0" in out["logs"]
    run = mlflow_get(stack, "runs/get", run_id=out["mlflow_run_id"])["run"]
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert params["alpha"] == "0.25" and params["l1_ratio"] == "0.5"
    assert "rmse" in metrics
    assert run["info"]["status"] == "FINISHED"
    assert tags["mlflow.databricks.runURL"] == out["run_page_url"]
    assert tags["mlflow.databricks.shellJobRunID"] == str(out["run_id"])
    assert tags["mlflow.source.type"] == "PROJECT"
    exp = mlflow_get(stack, "experiments/get-by-name",
                     experiment_name="/Shared/submit/ok")
    assert exp["experiment"]["experiment_id"] == out["experiment_id"]


def test_tarball_uploaded_once(stack, project):
    before = [x for x in stack.requests() if x["path"].startswith("/dbfs/")]
    r = submit(stack, project, "--no-wait", "--experiment-name", "/Shared/submit/ok")
    assert r.returncode == 0, r.stderr
    after = [x for x in stack.requests() if x["path"].startswith("/dbfs/")]
    assert len(after) == len(before)        # same content: not sent again


def test_failure_exit_code(stack, project):
    r = submit(stack, project, "-e", "fail", "--experiment-name", "/Shared/submit/fail")
    assert r.returncode == 1, r.stderr
    assert "TERMINATED FAILED" in r.stderr
    assert "the fail entry point fails" in r.stdout


def test_sigterm_cancels_remote_run(stack, project):
    e = stack.env(DBMLOPS_POLL_MAX="1")
    p = subprocess.Popen([SUBMIT, "-c", str(project / "cluster.json"), "--json",
                          "-e", "sleep", "--experiment-name", "/Shared/submit/cancel",
                          str(project)], env=e, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    runs = os.path.join(stack.data, "jobs", "runs")

    def sleeping():     # the job printed "sleeping": it runs
        assert p.poll() is None, p.communicate()
        logs = [os.path.join(runs, d, "log.txt") for d in os.listdir(runs)] \
            if os.path.isdir(runs) else []
        return any("sleeping" in open(f).read() for f in logs if os.path.exists(f))
    wait_for(sleeping, 120, "the job's first line")
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    res = json.loads(out)
    assert res["result_state"] == "CANCELED"
    run = mlflow_get(stack, "runs/get", run_id=res["mlflow_run_id"])["run"]
    assert run["info"]["status"] == "KILLED"


def test_wait_timeout(stack, project):
    r = submit(stack, project, "-e", "sleep", "--timeout", "3", "--json",
               "--experiment-name", "/Shared/submit/timeout")
    assert r.returncode == 3, r.stderr
    assert json.loads(r.stdout)["result_state"] == "CANCELED"


def test_library_error_is_infrastructure(stack, project, tmp_path):
    bad = tmp_path / "bad.json"
    cfg = json.loads((project / "cluster.json").read_text())
    cfg["libraries"] = [{"whl": "dbfs:/no/such-1.0-py3-none-any.whl"}]
    bad.write_text(json.dumps(cfg))
    r = submit(stack, project, "-c", str(bad), "--experiment-name", "/Shared/submit/lib")
    assert r.returncode == 5, r.stderr
    assert "Library installation failed" in r.stderr
    # -q keeps the progress quiet, not the reason
    r = submit(stack, project, "-q", "-c", str(bad), "--experiment-name", "/Shared/submit/lib")
    assert r.returncode == 5, r.stderr
    assert "Library installation failed" in r.stderr and "PENDING" not in r.stderr, r.stderr


def test_pip_reason_reaches_the_user(stack, project, tmp_path):
    """A library pip cannot install: pip's own reason (its ERROR line), not
    only its exit status, reaches mlflow-submit's output, as the service's
    library status carries it."""
    bad = tmp_path / "pip.json"
    cfg = json.loads((project / "cluster.json").read_text())
    cfg["libraries"] = [{"pypi": {"package": "dbmlops-example["}}]   # no index asked
    bad.write_text(json.dumps(cfg))
    r = submit(stack, project, "-c", str(bad), "--experiment-name", "/Shared/submit/pip")
    assert r.returncode == 5, r.stderr
    assert "pip exited with status 1: ERROR: Invalid requirement: 'dbmlops-example['" \
        in r.stderr, r.stderr


def test_checks_before_sending(stack, project, tmp_path):
    n = len(stack.requests())
    r = submit(stack, project, "-P", "alpha=abc", "--experiment-name", "/Shared/x")
    assert r.returncode == 2 and "is not a float" in r.stderr
    assert "MLproject:" in r.stderr
    broken = tmp_path / "broken"
    shutil.copytree(project, broken)
    (broken / "MLproject").write_text("name: x\nentry_points:\n  main:\n"
                                      "    parameters:\n      a: float\n"
                                      "    command: echo {a}\n")
    r = subprocess.run([SUBMIT, "-c", str(project / "cluster.json"),
                        "--experiment-name", "/Shared/x", str(broken)],
                       env=stack.env(), capture_output=True, text=True)
    assert r.returncode == 2 and "missing required parameter: a" in r.stderr
    r = submit(stack, project, "-e", "nope", "--experiment-name", "/Shared/x")
    assert r.returncode == 2 and "no entry point 'nope'" in r.stderr
    (tmp_path / "c.json").write_text("{ not json")
    r = submit(stack, project, "-c", str(tmp_path / "c.json"), "--experiment-name", "/Shared/x")
    assert r.returncode == 2 and "c.json:1:3:" in r.stderr
    assert len(stack.requests()) == n       # nothing was sent


def test_bad_token(stack, project):
    r = submit(stack, project, "--experiment-name", "/Shared/x",
               env={"DATABRICKS_TOKEN": "not-the-token"})
    assert r.returncode == 77
    assert "403 PERMISSION_DENIED" in r.stderr and "not-the-token" not in r.stderr


def test_make_include_chain(stack, tmp_path):
    """templates/Makefile through mk/dbmlops.mk: the full chain, then again
    with nothing changed (no rebuild, no upload), then with a changed wheel."""
    work = tmp_path / "repo"
    shutil.copytree(os.path.join(TOP, "templates"), work / "templates")
    shutil.copytree(os.path.join(TOP, "mk"), work / "mk")
    env = stack.env(DBMLOPS_POLL_MAX="1", DBMLOPS_BRANCH="feature/mk")
    import sys
    args = ["make", "-C", str(work / "templates"), "train", f"DBMLOPS_BIN={BIN}/",
            f"DBMLOPS_PYTHON={sys.executable}"]
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "TERMINATED SUCCESS" in r.stderr
    state = work / "templates" / ".dbmlops"
    up1 = json.loads((state / "upload.json").read_text())["files"]
    assert "/wheels/feature-mk--" in up1[0]["remote"]
    assert "WHEELPATH" not in (state / "project" / "conda.yaml").read_text()
    assert "WHEELPATH" in (work / "templates" / "project" / "conda.yaml").read_text()
    assert not os.path.exists(work / "templates" / "wheel" / "build")  # tree clean
    # nothing changed: no wheel build, no upload, nothing sent
    n = len(stack.requests())
    subst = args[:3] + ["dbmlops-subst"] + args[4:]
    r = subprocess.run(subst, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "pip wheel" not in r.stdout and "dbfs-put" not in r.stdout, r.stdout
    assert len(stack.requests()) == n
    # make -n shows what would run and runs nothing
    r = subprocess.run(args + ["-n"], env=env, capture_output=True, text=True)
    assert "mlflow-submit" in r.stdout and len(stack.requests()) == n
    # a changed wheel source: rebuilt, uploaded to a new path (what make
    # made is set a minute back, so the change is newer whatever the
    # clock's resolution: no waiting for the next second)
    backdate(state)
    init = work / "templates" / "wheel" / "src" / "dbmlops_example" / "__init__.py"
    init.write_text(init.read_text() + "\n# changed\n")
    r = subprocess.run(subst, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    up2 = json.loads((state / "upload.json").read_text())["files"]
    assert up2[0]["remote"] != up1[0]["remote"]
    assert up2[0]["fuse"] in (state / "project" / "cluster.json").read_text()


def test_python_mode_runs_in_process(stack, project, tmp_path):
    """On runtime 13+ a `python file` entry point, or a databricks_spark_job
    section, runs in the driver process through a generated job file."""
    r = submit(stack, project, "--mode", "python", "--json",
               "--experiment-name", "/Shared/submit/inproc")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "trained with dbmlops_example" in out["logs"]
    assert "mlflow.projects" not in out["logs"]        # no child mlflow run
    # python mode keeps its code in the user's workspace files
    code_dir = os.path.join(stack.data, "workspace", "Users",
                            "emu-user@example.com", ".mlflow-submit",
                            out["experiment_id"], "projects-code")
    assert sum(f.startswith("dbmlops-launch-") for f in os.listdir(code_dir)) == 1
    spark = tmp_path / "spark"
    shutil.copytree(project, spark)
    (spark / "MLproject").write_text("""name: spark
databricks_spark_job:
  python_file: train.py
  parameters: ["--alpha", "0.5", "--l1-ratio", "0.5"]
  python_libraries: []
""")
    r = submit(stack, spark, "-c", str(spark / "cluster.json"), "--mode", "python",
               "--json", "--experiment-name", "/Shared/submit/inproc")
    assert r.returncode == 0, r.stderr
    assert "trained with dbmlops_example" in json.loads(r.stdout)["logs"]


def test_wrapped_config_with_empty_libraries(stack, project, tmp_path):
    cfg = json.loads((project / "cluster.json").read_text())
    libs = cfg.pop("libraries")
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text('{"new_cluster": %s, "libraries": [ \n ]}' % json.dumps(cfg))
    r = submit(stack, project, "-c", str(wrapped), "--no-wait", "--experiment-name",
               "/Shared/submit/empty-libs")
    assert r.returncode == 0, r.stderr
    assert libs     # the flat form had the wheel; this one lists none


def test_cancelled_elsewhere_exit_code(stack, project):
    """A run cancelled by someone else (the UI, another job) exits 4."""
    e = stack.env(DBMLOPS_POLL_MAX="1")
    p = subprocess.Popen([SUBMIT, "-c", str(project / "cluster.json"), "--json",
                          "-e", "sleep", "--run-name", "cancelled-elsewhere",
                          "--experiment-name", "/Shared/submit/cancel4", str(project)],
                         env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = os.path.join(stack.data, "jobs", "state")
    found = []

    def running():
        assert p.poll() is None, p.communicate()
        for f in os.listdir(state) if os.path.isdir(state) else []:
            rec = json.load(open(os.path.join(state, f)))
            if rec["name"] == "cancelled-elsewhere" and \
                    rec["tasks"][0]["life"] == "RUNNING":
                found.append(rec["run_id"])
        return found
    wait_for(running, 120, "the run RUNNING")
    run_id = found[0]
    r = requests.post(stack.url + "/api/2.0/jobs/runs/cancel", json={"run_id": run_id},
                      headers={"Authorization": "Bearer " + Emu.TOKEN}, timeout=30)
    assert r.status_code == 200
    out, err = p.communicate(timeout=120)
    assert p.returncode == 4, err
    assert json.loads(out)["result_state"] == "CANCELED"


def test_format_directives_in_an_mlproject_are_text(tmp_path):
    """An MLproject whose values hold printf directives (found by the
    MLproject fuzz target: a parameter type of '%s%s%n' crashed the
    reader) is read as text: MLflow takes any type string, so the project
    is accepted and a value with directives reaches the job as written."""
    proj = tmp_path / "p"
    proj.mkdir()
    shutil.copy(os.path.join(TOP, "tests", "fuzz", "corpus", "mlproject", "format-in-type"),
                proj / "MLproject")
    args = [os.path.join(BIN, "mlflow-submit"), "-n", "--json", "-c",
            '{"spark_version": "15.4.x", "node_type_id": "x", "num_workers": 1}',
            "--experiment-name", "/Shared/fmt", str(proj)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "missing required parameter: a" in r.stderr
    r = subprocess.run(args[:-1] + ["-P", "a=%s%n%2e", str(proj)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    task = json.loads(r.stdout)["job_spec"]["tasks"][0]
    assert task["spark_python_task"]["parameters"][-1] == "a=%s%n%2e"


def test_lost_create_answers(mlflow_server, tmp_path):
    """experiments/create and runs/create carried out, their answers lost
    (the emulator's `lose` fault): the experiment is found by name, the run
    by its attempt tag; one experiment, one MLflow run, and it ends
    FINISHED rather than staying RUNNING."""
    e = Emu(mlflow_url=mlflow_server.url,
            faults="lose=1:1@/api/2.0/mlflow/experiments/create,"
                   "lose=1:1@/api/2.0/mlflow/runs/create").start()
    proj = tmp_path / "lost"
    proj.mkdir()
    (proj / "MLproject").write_text("name: lost\nentry_points:\n  main:\n"
                                    "    command: python train.py\n")
    (proj / "train.py").write_text("print('trained')\n")
    (proj / "cluster.json").write_text(json.dumps({
        "spark_version": "15.4.x-scala2.12", "node_type_id": "x", "num_workers": 1}))
    try:
        name = "/Shared/submit/lost-%d" % os.getpid()
        r = submit(e, proj, "--json", "--experiment-name", name)
        assert r.returncode == 0, r.stderr
        lost = [q for q in e.requests() if q.get("fault") == "lose"]
        assert sorted(q["path"] for q in lost) == [
            "/api/2.0/mlflow/experiments/create", "/api/2.0/mlflow/runs/create"], lost
        assert [q["path"] for q in e.requests() if "mlflow/runs/" in q["path"]][:2] == [  # noqa

            "/api/2.0/mlflow/runs/create", "/api/2.0/mlflow/runs/search"]
        out = json.loads(r.stdout)
        h = {"Authorization": "Bearer " + Emu.TOKEN}
        exp = requests.get(e.url + "/api/2.0/mlflow/experiments/get-by-name",
                           params={"experiment_name": name}, headers=h, timeout=30).json()
        assert exp["experiment"]["experiment_id"] == out["experiment_id"]
        runs = requests.post(e.url + "/api/2.0/mlflow/runs/search", headers=h, timeout=30,
                             json={"experiment_ids": [out["experiment_id"]]}).json()["runs"]
        assert [x["info"]["run_id"] for x in runs] == [out["mlflow_run_id"]]
        assert runs[0]["info"]["status"] == "FINISHED"
    finally:
        e.cleanup()

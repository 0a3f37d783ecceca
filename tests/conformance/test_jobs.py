"""Jobs that really run on workspace-emu, driven by the official clients:
MLflow's own Databricks backend (mlflow.run) and databricks-sdk."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import compute, jobs

from dbmlops_testenv import (BIN, GATE_PY, TOP, Emu, build_example_wheel, processes_of,
                             python_of, wait_for)


@pytest.fixture(scope="module")
def wheel(emu, tmp_path_factory):
    """The example wheel, uploaded with dbfs-put; its dbfs: URI."""
    d = tmp_path_factory.mktemp("wheel")
    whl = build_example_wheel(str(d))
    r = subprocess.run([os.path.join(BIN, "dbfs-put"), "-q", "-c", whl,
                        "dbfs:/wheels/conformance/"], env=emu.env(),
                       capture_output=True, text=True, check=True)
    return r.stdout.strip()


@pytest.fixture(scope="module")
def project(wheel, tmp_path_factory):
    """The example MLflow project with the wheel's path substituted."""
    d = tmp_path_factory.mktemp("project") / "project"
    shutil.copytree(os.path.join(TOP, "templates", "project"), d)
    subprocess.run([os.path.join(BIN, "wheelpath-subst"), "-i", "-w", wheel,
                    str(d / "conda.yaml"), str(d / "cluster.json")], check=True)
    return d


def mlflow_run(emu, project, entry_point="main", config="cluster.json",
               experiment="/Shared/conformance/jobs"):
    script = textwrap.dedent(f"""
        import json, sys
        import mlflow
        from mlflow.projects.databricks import DatabricksSubmittedRun
        DatabricksSubmittedRun.POLL_STATUS_INTERVAL = 1
        mlflow.set_tracking_uri("databricks")
        # as on a real workspace, the experiment's folder must exist
        from databricks.sdk import WorkspaceClient
        WorkspaceClient().workspace.mkdirs({experiment.rsplit("/", 1)[0]!r})
        try:
            sub = mlflow.projects.run({str(project)!r}, entry_point={entry_point!r},
                                      backend="databricks",
                                      backend_config={str(project / config)!r},
                                      experiment_name={experiment!r},
                                      parameters={{"alpha": "0.3"}} if {entry_point!r} == "main" else {{}},
                                      synchronous=True)
            status = sub.get_status()
            rid = sub.run_id
        except mlflow.exceptions.ExecutionException as e:
            status, rid = "FAILED", None
        run = mlflow.tracking.MlflowClient().search_runs(
            [mlflow.get_experiment_by_name({experiment!r}).experiment_id],
            order_by=["attributes.start_time DESC"], max_results=1)[0]
        print("RESULT " + json.dumps({{"status": status, "run_id": run.info.run_id,
              "mlflow_status": run.info.status, "metrics": run.data.metrics,
              "params": run.data.params, "tags": run.data.tags}}))
    """)
    r = subprocess.run([sys.executable, "-c", script], env=emu.env(),
                       capture_output=True, text=True, timeout=600)
    line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
    assert line, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads(line[0][7:])


def test_mlflow_run_on_databricks_backend(emu, project):
    res = mlflow_run(emu, project)
    assert res["status"] == "FINISHED", res
    assert res["mlflow_status"] == "FINISHED"
    assert res["params"]["alpha"] == "0.3"
    assert res["params"]["wheel_version"] == "0.1.0"     # imported the wheel
    assert 0 < res["metrics"]["rmse"] < 5 and res["metrics"]["r2"] > 0.5
    # the job logged an artifact into the emulated DBFS; it reads back
    art = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import mlflow
        mlflow.set_tracking_uri("databricks")
        print(mlflow.artifacts.load_text("runs:/{res['run_id']}/metrics.json"))
    """)], env=emu.env(), capture_output=True, text=True, timeout=120)
    assert json.loads(art.stdout)["rmse"] == res["metrics"]["rmse"], art.stderr
    url = res["tags"]["mlflow.databricks.runURL"]
    assert url.startswith(emu.url + "/jobs/runs/")
    import urllib.request
    # the page needs a token, as the workspace's pages need a login
    with urllib.request.urlopen(urllib.request.Request(
            url, headers={"Authorization": "Bearer " + emu.TOKEN}), timeout=30) as r:
        page = r.read().decode()
    assert "TERMINATED SUCCESS" in page and "trained with dbmlops_example" in page


@pytest.mark.once
def test_mlflow_run_failing_entry_point(emu, project):
    res = mlflow_run(emu, project, entry_point="fail")
    assert res["status"] == "FAILED"
    assert res["mlflow_status"] == "FAILED"


@pytest.mark.once
def test_mlflow_run_wrapped_config(emu, project, wheel):
    flat = json.loads((project / "cluster.json").read_text())
    libs = flat.pop("libraries")
    (project / "wrapped.json").write_text(json.dumps(
        {"new_cluster": flat, "libraries": libs}))
    res = mlflow_run(emu, project, config="wrapped.json")
    assert res["status"] == "FINISHED", res


@pytest.fixture
def w(clean_env):
    return WorkspaceClient(host=clean_env.url, token=Emu.TOKEN, auth_type="pat")


def upload(w, path, text):
    import io
    w.dbfs.upload(path, io.BytesIO(text.encode()), overwrite=True)


def test_sdk_spark_python_task(w, wheel):
    upload(w, "/conformance/jobs/task.py",
           "import sys, dbmlops_example\nprint('args', sys.argv[1:])\n"
           "print('rmse', dbmlops_example.fit()[1]['rmse'])\n")
    run = w.jobs.submit(run_name="sdk spark_python_task", tasks=[jobs.SubmitTask(
        task_key="py", new_cluster=compute.ClusterSpec(spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1),
        libraries=[compute.Library(whl=wheel)],
        spark_python_task=jobs.SparkPythonTask(python_file="dbfs:/conformance/jobs/task.py",
                                               parameters=["--in", "/dbfs/data"]))]).result()
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    out = w.jobs.get_run_output(run.tasks[0].run_id)
    assert "rmse" in out.logs and "data/dbfs/data" in out.logs
    with pytest.raises(Exception) as exc:      # the parent of a tasks[] run
        w.jobs.get_run_output(run.run_id)
    assert "multiple tasks" in str(exc.value)


def test_sdk_python_wheel_task(w, wheel):
    run = w.jobs.submit(run_name="sdk wheel task", tasks=[jobs.SubmitTask(
        task_key="whl", existing_cluster_id="0101-000000-emu",
        libraries=[compute.Library(whl=wheel)],
        python_wheel_task=jobs.PythonWheelTask(package_name="dbmlops_example",
                                               entry_point="dbmlops-example-train",
                                               parameters=["--alpha", "0.1"]))]).result()
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
    out = w.jobs.get_run_output(run.tasks[0].run_id)
    assert "metrics" in out.logs


def test_sdk_failure_output(w):
    upload(w, "/conformance/jobs/boom.py", "def f():\n    raise ValueError('boom here')\nf()\n")
    run = w.jobs.submit(run_name="fails", tasks=[jobs.SubmitTask(
        task_key="t", new_cluster=compute.ClusterSpec(spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1),
        spark_python_task=jobs.SparkPythonTask(python_file="dbfs:/conformance/jobs/boom.py"))]).result()
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert run.status.termination_details.code == jobs.TerminationCodeCode.RUN_EXECUTION_ERROR
    out = w.jobs.get_run_output(run.tasks[0].run_id)
    assert out.error == "ValueError: boom here"
    assert "Traceback" in out.error_trace


def sleeper(w, name, **kw):
    """A run that goes on until it is cancelled or timed out: its script
    waits for a gate file that nobody creates."""
    upload(w, "/conformance/jobs/sleep.py", GATE_PY)
    return w.jobs.submit(run_name=name, tasks=[jobs.SubmitTask(
        task_key="s", new_cluster=compute.ClusterSpec(spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1),
        spark_python_task=jobs.SparkPythonTask(python_file="dbfs:/conformance/jobs/sleep.py",
                                               parameters=["/nonexistent/gate"]))],
        **kw)


def wait_state(w, run_id, state, timeout=60):
    wait_for(lambda: w.jobs.get_run(run_id).state.life_cycle_state == state, timeout,
             "run %d %s" % (run_id, state.value))


def test_sdk_cancel_running(w, emu):
    waiter = sleeper(w, "to cancel")
    run_id = waiter.run_id
    wait_state(w, run_id, jobs.RunLifeCycleState.RUNNING)
    task_run = w.jobs.get_run(run_id).tasks[0].run_id
    wait_for(lambda: processes_of(task_run, emu) or processes_of(run_id, emu), 60,
             "the task's process")
    t0 = time.time()
    run = w.jobs.cancel_run(run_id).result()
    assert run.state.result_state == jobs.RunResultState.CANCELED
    assert run.state.user_cancelled_or_timedout
    assert time.time() - t0 < 30
    # the process group is gone
    assert processes_of(task_run, emu) == [] and processes_of(run_id, emu) == []


def test_timeout_seconds(w):
    run = sleeper(w, "times out", timeout_seconds=2).result()
    assert run.state.result_state == jobs.RunResultState.TIMEDOUT
    assert run.state.user_cancelled_or_timedout


def test_idempotency_token(w, emu):
    upload(w, "/conformance/jobs/ok.py", "print('once')\n")
    spec = dict(run_name="idem", idempotency_token="conformance-idem-1", tasks=[jobs.SubmitTask(
        task_key="t", new_cluster=compute.ClusterSpec(spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1),
        spark_python_task=jobs.SparkPythonTask(python_file="dbfs:/conformance/jobs/ok.py"))])
    a = w.jobs.submit(**spec).run_id
    b = w.jobs.submit(**spec).run_id
    assert a == b
    w.jobs.wait_get_run_job_terminated_or_skipped(a)
    submits = [x for x in emu.requests() if x["path"].endswith("/jobs/runs/submit")]
    assert len(submits) >= 2
    runs_dir = os.path.join(emu.data, "jobs", "runs")
    task_id = w.jobs.get_run(a).tasks[0].run_id
    assert os.path.isdir(os.path.join(runs_dir, str(task_id)))
    assert not os.path.isdir(os.path.join(runs_dir, str(task_id + 2)))


def test_library_that_fails_to_install(w):
    # INTERNAL_ERROR is a failure state for the SDK's waiter
    with pytest.raises(Exception) as exc:
        w.jobs.submit(run_name="bad lib", tasks=[jobs.SubmitTask(
            task_key="t", new_cluster=compute.ClusterSpec(spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1),
            libraries=[compute.Library(whl="dbfs:/no/such-1.0-py3-none-any.whl")],
            spark_python_task=jobs.SparkPythonTask(
                python_file="dbfs:/conformance/jobs/ok.py"))]).result()
    assert "Library installation failed" in str(exc.value)


def test_library_error_state(w):
    rid = w.jobs.submit(run_name="bad lib 3", tasks=[jobs.SubmitTask(
        task_key="t", new_cluster=compute.ClusterSpec(spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1),
        libraries=[compute.Library(whl="dbfs:/no/such-1.0-py3-none-any.whl")],
        spark_python_task=jobs.SparkPythonTask(python_file="dbfs:/x.py"))]).run_id
    wait_state(w, rid, jobs.RunLifeCycleState.INTERNAL_ERROR)
    run = w.jobs.get_run(rid)
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert run.status.termination_details.code == \
        jobs.TerminationCodeCode.LIBRARY_INSTALLATION_ERROR


def test_legacy_shape_and_unsupported(emu):
    import requests
    h = {"Authorization": "Bearer " + Emu.TOKEN}
    r = requests.post(emu.url + "/api/2.1/jobs/runs/submit", headers=h,
                      json={"run_name": "x", "new_cluster": {},
                            "spark_python_task": {"python_file": "dbfs:/x.py"}})
    assert r.status_code == 400 and "tasks is required" in r.json()["message"]
    r = requests.post(emu.url + "/api/2.2/jobs/runs/submit", headers=h,
                      json={"tasks": [{"task_key": "n", "notebook_task": {"notebook_path": "/x"}}]})
    assert r.status_code == 400 and "notebook_task" in r.json()["message"]
    r = requests.post(emu.url + "/api/2.0/jobs/runs/submit", headers=h,
                      json={"run_name": "legacy", "new_cluster": {
                          "spark_version": "12.2.x", "node_type_id": "i3.xlarge", "num_workers": 0},
                            "shell_command_task": {"command": ["bash", "-c",
                                                               "echo legacy $FOO; ls -d /dbfs/"],
                                                   "env_vars": {"FOO": "bar"}}})
    assert r.status_code == 200
    rid = r.json()["run_id"]
    got = []

    def ended():
        got[:] = [requests.get(emu.url + "/api/2.0/jobs/runs/get", headers=h,
                               params={"run_id": rid}).json()]
        return "result_state" in got[0]["state"]
    wait_for(ended, 60, "the legacy run's end")
    g = got[0]
    assert g["state"]["result_state"] == "SUCCESS", g
    assert g["task"]["shell_command_task"]["env_vars"] == {"FOO": "bar"}
    o = requests.get(emu.url + "/api/2.0/jobs/runs/get-output", headers=h,
                     params={"run_id": rid}).json()
    assert "legacy bar" in o["logs"]


def test_environment_cache(w, emu, wheel):
    """Jobs with the same libraries share one cluster environment, built
    once and left unchanged; other libraries get another."""
    envs = os.path.join(emu.data, "jobs", "envs")
    before = {d for d in (os.listdir(envs) if os.path.isdir(envs) else [])
              if not d.endswith(".lock")}
    upload(w, "/conformance/jobs/env.py", "import dbmlops_example\nprint('ok')\n")
    for _ in range(2):
        w.jobs.submit(run_name="env cache", tasks=[jobs.SubmitTask(
            task_key="t", new_cluster=compute.ClusterSpec(spark_version="15.4.x", node_type_id="i3.xlarge", num_workers=1),
            libraries=[compute.Library(whl=wheel)],
            spark_python_task=jobs.SparkPythonTask(
                python_file="dbfs:/conformance/jobs/env.py"))]).result()
    after = {d for d in os.listdir(envs) if not d.endswith(".lock")}
    new = after - before
    assert len(new) <= 1
    env = os.path.join(envs, (after & before or new).pop())
    stamp = os.stat(os.path.join(env, ".complete")).st_mtime
    w.jobs.submit(run_name="env cache again", tasks=[jobs.SubmitTask(
        task_key="t", new_cluster=compute.ClusterSpec(spark_version="15.4.x", node_type_id="i3.xlarge", num_workers=1),
        libraries=[compute.Library(whl=wheel)],
        spark_python_task=jobs.SparkPythonTask(
            python_file="dbfs:/conformance/jobs/env.py"))]).result()
    assert os.stat(os.path.join(env, ".complete")).st_mtime == stamp


def test_queued_beyond_max_runs(tmp_path):
    e = Emu(extra=["--max-runs", "1"]).start()
    try:
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        first = sleeper(w, "first")
        second = sleeper(w, "second")
        wait_state(w, first.run_id, jobs.RunLifeCycleState.RUNNING)
        assert w.jobs.get_run(second.run_id).state.life_cycle_state == \
            jobs.RunLifeCycleState.QUEUED
        w.jobs.cancel_run(first.run_id).result()
        w.jobs.cancel_run(second.run_id).result()
    finally:
        e.cleanup()


def test_runs_outlive_a_restart(tmp_path):
    e = Emu().start()
    try:
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        upload(w, "/r/ok.py", "print('before the restart')\n")
        spec = dict(run_name="kept", idempotency_token="restart-1", tasks=[jobs.SubmitTask(
            task_key="t", new_cluster=compute.ClusterSpec(spark_version="15.4.x", node_type_id="i3.xlarge", num_workers=1),
            spark_python_task=jobs.SparkPythonTask(python_file="dbfs:/r/ok.py"))])
        run = w.jobs.submit(**spec).result()
        assert e.stop() == 0
        e.start()
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        again = w.jobs.get_run(run.run_id)
        assert again.state.result_state == jobs.RunResultState.SUCCESS
        assert again.run_page_url.startswith(e.url)
        out = w.jobs.get_run_output(again.tasks[0].run_id)
        assert "before the restart" in out.logs
        assert w.jobs.submit(**spec).run_id == run.run_id     # idempotent still
        # a run that was active when the emulator stopped has ended
        active = sleeper(w, "interrupted").run_id
        wait_state(w, active, jobs.RunLifeCycleState.RUNNING)
        assert e.stop() == 0
        e.start()
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        ended = w.jobs.get_run(active).state      # a clean stop cancels it
        assert ended.life_cycle_state == jobs.RunLifeCycleState.TERMINATED, ended
        assert ended.result_state == jobs.RunResultState.CANCELED, ended
        assert processes_of(active, e) == []
        new = w.jobs.submit(**{**spec, "idempotency_token": "restart-2"}).run_id
        assert new > run.run_id
    finally:
        e.cleanup()


def test_depends_on(w):
    upload(w, "/conformance/jobs/ok.py", "print('ok')\n")
    upload(w, "/conformance/jobs/boom.py", "raise SystemExit('boom')\n")

    def task(key, file, deps=()):
        return jobs.SubmitTask(
            task_key=key, new_cluster=compute.ClusterSpec(spark_version="15.4.x", node_type_id="i3.xlarge", num_workers=1),
            depends_on=[jobs.TaskDependency(task_key=d) for d in deps],
            spark_python_task=jobs.SparkPythonTask(
                python_file=f"dbfs:/conformance/jobs/{file}"))
    run = w.jobs.submit(run_name="dag", tasks=[
        task("second", "ok.py", ["first"]), task("first", "ok.py"),
        task("after_fail", "ok.py", ["fails"]), task("fails", "boom.py"),
        task("independent", "ok.py")]).result()
    t = {x.task_key: x for x in run.tasks}
    assert t["first"].state.result_state == jobs.RunResultState.SUCCESS
    assert t["second"].state.result_state == jobs.RunResultState.SUCCESS
    assert t["second"].start_time >= t["first"].end_time
    assert t["fails"].state.result_state == jobs.RunResultState.FAILED
    assert t["after_fail"].state.life_cycle_state == jobs.RunLifeCycleState.SKIPPED
    assert t["after_fail"].state.result_state == jobs.RunResultState.UPSTREAM_FAILED
    assert t["independent"].state.result_state == jobs.RunResultState.SUCCESS
    assert run.state.result_state == jobs.RunResultState.FAILED
    with pytest.raises(Exception) as exc:
        w.jobs.submit(run_name="cycle", tasks=[task("a", "ok.py", ["b"]),
                                               task("b", "ok.py", ["a"])])
    assert "cycle" in str(exc.value)


def test_independent_tasks_overlap(w):
    """Tasks that do not depend on each other run at the same time: each
    waits until it sees the other's mark, so they can only both succeed if
    they overlap; a dependent task starts after both ended."""
    upload(w, "/conformance/jobs/meet.py", textwrap.dedent("""\
        import os, sys, time
        me, other = sys.argv[1], sys.argv[2]
        d = os.path.join(os.environ["DBMLOPS_EMU_DATA"], "dbfs", "meet")
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, me), "w").close()
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(d, other)):
            if time.time() > deadline:
                sys.exit("the other task never ran beside me")
            time.sleep(0.1)
        print(me, "met", other)
        """))
    upload(w, "/conformance/jobs/ok.py", "print('ok')\n")

    def task(key, file, params=(), deps=()):
        return jobs.SubmitTask(
            task_key=key, new_cluster=compute.ClusterSpec(
                spark_version="15.4.x", node_type_id="i3.xlarge", num_workers=1),
            depends_on=[jobs.TaskDependency(task_key=d) for d in deps],
            spark_python_task=jobs.SparkPythonTask(
                python_file=f"dbfs:/conformance/jobs/{file}", parameters=list(params)))
    run = w.jobs.submit(run_name="overlap", tasks=[
        task("a", "meet.py", ["a", "b"]), task("b", "meet.py", ["b", "a"]),
        task("after", "ok.py", deps=["a", "b"])]).result()
    t = {x.task_key: x for x in run.tasks}
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert t["a"].start_time < t["b"].end_time and t["b"].start_time < t["a"].end_time
    assert t["after"].start_time >= max(t["a"].end_time, t["b"].end_time)


def test_compute_is_checked_as_the_service_checks_it(emu):
    """What a workspace refuses at runs/submit, with its messages
    (PROTOCOL.md section 4); a run that would never start never exists."""
    import requests
    h = {"Authorization": "Bearer " + Emu.TOKEN}
    task = {"spark_python_task": {"python_file": "dbfs:/x.py"}}
    cases = [
        ({}, "Either new_cluster or existing_cluster_id must be specified."),
        ({"new_cluster": {"spark_verison": "15.4.x", "node_type_id": "i3.xlarge",
                          "num_workers": 1}}, "Missing required field: spark_version"),
        ({"new_cluster": {"spark_version": "15.4.x", "num_workers": 1}},
         "Missing required field: node_type_id"),
        ({"new_cluster": {"spark_version": "15.4.x", "node_type_id": "i3.xlarge"}},
         "Missing required field: size"),
        ({"new_cluster": {"spark_version": "15.4.x", "node_type_id": "i3.xlarge",
                          "num_workers": 1}, "existing_cluster_id": "0101-x"},
         "Only one of new_cluster, existing_cluster_id"),
    ]
    for compute_, msg in cases:
        for api, body in (("2.0", dict(task, run_name="c", **compute_)),
                          ("2.1", {"run_name": "c", "tasks": [
                              dict(task, task_key="t", **compute_)]})):
            r = requests.post(emu.url + "/api/%s/jobs/runs/submit" % api, headers=h,
                              json=body, timeout=30)
            assert r.status_code == 400, (api, compute_)
            assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
            assert r.json()["message"].startswith(msg), r.json()


@pytest.mark.parametrize("change,msg", [
    ({"task_key": "has space"}, "Invalid task_key 'has space'"),
    ({"task_key": "k" * 101}, "Invalid task_key"),
    ({"task_key": ""}, "Invalid task_key"),
    ({"timeout_seconds": -1}, "timeout_seconds must be a non-negative"),
    ({"timeout_seconds": 2 ** 31}, "timeout_seconds must be a non-negative"),
    ({"libraries": [{"pip": {"package": "six"}}]}, "Library 0 must specify exactly one"),
    ({"libraries": [{"whl": "dbfs:/a.whl", "pypi": {"package": "six"}}]},
     "Library 0 must specify exactly one"),
    ({"libraries": [{"pypi": {"pkg": "six"}}]},
     "Missing required field: libraries[0].pypi.package"),
    ({"libraries": {"pypi": {"package": "six"}}}, "libraries must be an array"),
])
def test_task_fields_checked_as_the_service_checks_them(emu, change, msg):
    """task_key (1 to 100 of ^[\\w\\-\\_]+$), timeout_seconds (int32, not
    negative), libraries (one kind each, with what it needs): refused at
    runs/submit (PROTOCOL.md section 4), no run created."""
    import requests
    h = {"Authorization": "Bearer " + Emu.TOKEN}
    task = {"task_key": "t", "spark_python_task": {"python_file": "dbfs:/x.py"},
            "new_cluster": {"spark_version": "15.4.x", "node_type_id": "i3.xlarge",
                            "num_workers": 1}}
    task.update(change)
    state = os.path.join(emu.data, "jobs", "state")
    before = sorted(os.listdir(state)) if os.path.isdir(state) else []
    r = requests.post(emu.url + "/api/2.1/jobs/runs/submit", headers=h, timeout=30,
                      json={"run_name": "fields", "tasks": [task]})
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert r.json()["message"].startswith(msg), r.json()
    after = sorted(os.listdir(state)) if os.path.isdir(state) else []
    assert after == before          # no run exists


def test_runs_get_their_runtimes_python(tmp_path):
    """Each run on its runtime's Python (13.3 and serverless environment 1:
    3.10, 15.4: 3.11), given by --python-for; a runtime whose Python there
    is not (16.4: 3.12, with nothing but the base and the given 3.10 to
    hand) runs on the closest, and its log says so."""
    py310 = python_of(10)
    if py310 is None:
        pytest.skip("no Python 3.10 on this machine")
    base = subprocess.run([sys.executable, "-c", "import sys; print(sys.version_info[1])"],
                          capture_output=True, text=True).stdout.strip()
    if base != "11":
        pytest.skip("the suite's Python is not 3.11")
    e = Emu(extra=["--python-for", "3.10=" + py310])
    path = os.environ["PATH"]
    os.environ["PATH"] = "/nonexistent"            # no python3.N to find
    try:
        e.start()
    finally:
        os.environ["PATH"] = path
    try:
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        import io
        w.files.upload("/Volumes/main/default/vol/ver.py",
                       io.BytesIO(b"import sys\nprint('python %d.%d' % sys.version_info[:2])\n"),
                       overwrite=True)
        task = jobs.SparkPythonTask(python_file="/Volumes/main/default/vol/ver.py")

        def on(runtime):
            return jobs.SubmitTask(task_key="t" + runtime.replace(".", ""),
                                   new_cluster=compute.ClusterSpec(
                                       spark_version=runtime + ".x-scala2.12",
                                       node_type_id="i3.xlarge", num_workers=0),
                                   spark_python_task=task)
        run = w.jobs.submit(run_name="pythons", tasks=[
            on("13.3"), on("15.4"), on("16.4"),
            jobs.SubmitTask(task_key="sl", environment_key="one", spark_python_task=task)],
            environments=[jobs.JobEnvironment(environment_key="one",
                                              spec=compute.Environment(client="1"))]).result()
        assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
        logs = {t.task_key: w.jobs.get_run_output(t.run_id).logs for t in run.tasks}
        assert "python 3.10" in logs["t133"] and "workspace-emu:" not in logs["t133"]
        assert "python 3.10" in logs["sl"] and "workspace-emu:" not in logs["sl"]
        assert "python 3.11" in logs["t154"] and "workspace-emu:" not in logs["t154"]
        assert "python 3.11" in logs["t164"]
        assert ("workspace-emu: Databricks Runtime 16.4 runs Python 3.12, which "
                "workspace-emu does not have (give --python-for 3.12=PATH): running "
                "on Python 3.11, the closest (" + sys.executable + ")") in logs["t164"]
    finally:
        e.cleanup()


def test_python_for_is_checked(tmp_path):
    for bad, why in (("13.3", "expected RUNTIME=PATH or 3.N=PATH"),
                     ("x=/bin/sh", "expected RUNTIME=PATH or 3.N=PATH"),
                     ("3.10=" + str(tmp_path / "none"), "no executable at that path")):
        r = subprocess.run([os.path.join(BIN, "workspace-emu"), "-d", str(tmp_path / "d"),
                            "--python-for", bad], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, DATABRICKS_TOKEN=Emu.TOKEN))
        assert r.returncode == 2 and f"--python-for '{bad}': {why}" in r.stderr, r.stderr

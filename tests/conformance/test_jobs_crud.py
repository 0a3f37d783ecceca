"""Jobs that last (jobs/create, get, list, reset, update, delete, run-now)
and the runs list (runs/list, runs/delete), driven through databricks-sdk
the way CI pipelines and clean-up scripts call them. Runs of a job go
through the same runner as one-time runs: they really run."""

import io
import os

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import (InvalidParameterValue, InvalidState, NotFound,
                                   ResourceDoesNotExist)
from databricks.sdk.service import compute, jobs

from dbmlops_testenv import GATE_PY, Emu, wait_for

CLUSTER = compute.ClusterSpec(spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge",
                              num_workers=1)
ARGS_PY = "import sys\nprint('args', sys.argv[1:])\n"


@pytest.fixture
def w(clean_env):
    return WorkspaceClient(host=clean_env.url, token=Emu.TOKEN, auth_type="pat")


def upload(w, path, text):
    w.dbfs.upload(path, io.BytesIO(text.encode()), overwrite=True)


def args_job(w, name, **kw):
    """A job of one task on a job cluster that prints its arguments."""
    upload(w, "/crud/args.py", ARGS_PY)
    return w.jobs.create(
        name=name,
        job_clusters=[jobs.JobCluster(job_cluster_key="main", new_cluster=CLUSTER)],
        tasks=[jobs.Task(task_key="args", job_cluster_key="main",
                         spark_python_task=jobs.SparkPythonTask(
                             python_file="dbfs:/crud/args.py",
                             parameters=kw.pop("parameters", ["--from", "job"])))],
        **kw).job_id


def test_create_get_list_delete(w):
    me = w.current_user.me().user_name
    a = args_job(w, "crud Alpha", tags={"team": "ml"}, max_concurrent_runs=2)
    b = args_job(w, "crud beta")
    job = w.jobs.get(a)
    assert job.job_id == a and job.creator_user_name == me
    assert job.settings.name == "crud Alpha" and job.settings.tags == {"team": "ml"}
    assert job.settings.tasks[0].job_cluster_key == "main"
    assert job.settings.job_clusters[0].new_cluster.spark_version == "15.4.x-scala2.12"
    assert job.created_time > 0
    # the name filter ignores case; without expand_tasks no tasks are listed
    found = list(w.jobs.list(name="CRUD ALPHA"))
    assert [j.job_id for j in found] == [a] and not found[0].settings.tasks
    assert list(w.jobs.list(name="crud alpha", expand_tasks=True))[0].settings.tasks
    # pages of one: the SDK follows next_page_token through all of them
    ids = [j.job_id for j in w.jobs.list(limit=1)]
    assert ids.index(b) < ids.index(a)          # newest first
    with pytest.raises(InvalidParameterValue):
        list(w.jobs.list(limit=101))
    w.jobs.delete(a)
    with pytest.raises(ResourceDoesNotExist) as exc:     # the SDK's override of the 400
        w.jobs.get(a)
    assert str(exc.value) == "Job %d does not exist." % a
    with pytest.raises(InvalidParameterValue):
        w.jobs.delete(a)
    assert a not in [j.job_id for j in w.jobs.list()]


def test_run_now_runs_the_job(w):
    jid = args_job(w, "crud run-now")
    run = w.jobs.run_now(jid).result()
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
    assert run.job_id == jid and run.run_type == jobs.RunType.JOB_RUN
    assert run.run_name == "crud run-now"
    assert run.creator_user_name == w.current_user.me().user_name
    # the job cluster stood in for its key
    assert run.tasks[0].new_cluster.spark_version == "15.4.x-scala2.12"
    out = w.jobs.get_run_output(run.tasks[0].run_id)
    assert "args ['--from', 'job']" in out.logs
    # python_params replace the task's parameters for this run only
    again = w.jobs.run_now(jid, python_params=["--from", "run-now"]).result()
    assert "args ['--from', 'run-now']" in w.jobs.get_run_output(again.tasks[0].run_id).logs
    assert w.jobs.get(jid).settings.tasks[0].spark_python_task.parameters == ["--from", "job"]
    runs = list(w.jobs.list_runs(job_id=jid))
    assert [r.run_id for r in runs] == [again.run_id, run.run_id]
    with pytest.raises(InvalidParameterValue, match="Job %d does not exist." % (jid + 10**9)):
        w.jobs.run_now(jid + 10**9)
    # a run's export: the views of its notebook tasks, which it has none of
    assert not w.jobs.export_run(run.tasks[0].run_id, views_to_export=jobs.ViewsToExport.ALL).views
    with pytest.raises(InvalidParameterValue, match="Run %d does not exist." % (run.run_id + 10**9)):
        w.jobs.export_run(run.run_id + 10**9)
    with pytest.raises(InvalidParameterValue, match="views_to_export"):
        w.api_client.do("GET", "/api/2.2/jobs/runs/export",
                        query={"run_id": run.run_id, "views_to_export": "EVERYTHING"})


def test_job_parameters(w):
    upload(w, "/crud/args.py", ARGS_PY)
    jid = w.jobs.create(
        name="crud parameters",
        parameters=[jobs.JobParameterDefinition(name="who", default="nobody")],
        tasks=[jobs.Task(task_key="t", new_cluster=CLUSTER,
                         spark_python_task=jobs.SparkPythonTask(
                             python_file="dbfs:/crud/args.py",
                             parameters=["--who", "{{job.parameters.who}}"]))]).job_id
    run = w.jobs.run_now(jid).result()
    assert "args ['--who', 'nobody']" in w.jobs.get_run_output(run.tasks[0].run_id).logs
    run = w.jobs.run_now(jid, job_parameters={"who": 'a "quoted" name'}).result()
    assert "args ['--who', 'a \"quoted\" name']" in \
        w.jobs.get_run_output(run.tasks[0].run_id).logs


def test_update_merges_and_reset_replaces(w):
    jid = args_job(w, "crud update", timeout_seconds=600)
    w.jobs.update(jid, new_settings=jobs.JobSettings(
        name="crud updated",
        tasks=[jobs.Task(task_key="second", depends_on=[jobs.TaskDependency("args")],
                         job_cluster_key="main",
                         spark_python_task=jobs.SparkPythonTask(
                             python_file="dbfs:/crud/args.py", parameters=["2"]))]),
        fields_to_remove=["timeout_seconds"])
    s = w.jobs.get(jid).settings
    assert s.name == "crud updated" and s.timeout_seconds in (None, 0)
    assert [t.task_key for t in s.tasks] == ["args", "second"]      # merged by task_key
    run = w.jobs.run_now(jid).result()
    assert {t.task_key: t.state.result_state for t in run.tasks} == {
        "args": jobs.RunResultState.SUCCESS, "second": jobs.RunResultState.SUCCESS}
    w.jobs.update(jid, fields_to_remove=["tasks/second"])
    assert [t.task_key for t in w.jobs.get(jid).settings.tasks] == ["args"]
    w.jobs.reset(jid, new_settings=jobs.JobSettings(name="crud reset"))
    s = w.jobs.get(jid).settings
    assert s.name == "crud reset" and not s.tasks and not s.job_clusters
    with pytest.raises(InvalidParameterValue, match="no tasks"):
        w.jobs.run_now(jid)


@pytest.mark.parametrize("task, msg", [
    (dict(task_key="t", job_cluster_key="nope"), "job cluster key 'nope' is not defined"),
    (dict(task_key="t"), "Either new_cluster or existing_cluster_id must be specified."),
    (dict(task_key="bad key!", new_cluster=CLUSTER.as_dict()), "Invalid task_key"),
])
def test_settings_are_checked(w, task, msg):
    body = {"name": "crud bad", "tasks": [{**task, "spark_python_task": {
        "python_file": "dbfs:/crud/args.py"}}]}
    with pytest.raises(InvalidParameterValue) as exc:
        w.api_client.do("POST", "/api/2.2/jobs/create", body=body)
    assert msg.lower() in str(exc.value).lower()
    # a job may hold a task kind the emulator does not run; run-now says so
    jid = w.jobs.create(name="crud notebook", tasks=[jobs.Task(
        task_key="nb", new_cluster=CLUSTER,
        notebook_task=jobs.NotebookTask(notebook_path="/Shared/nb"))]).job_id
    with pytest.raises(InvalidParameterValue, match="notebook_task is not supported"):
        w.jobs.run_now(jid)


def test_list_runs_filters_pages_and_delete(w, emu):
    upload(w, "/crud/ok.py", "print('ok')\n")
    upload(w, "/crud/sleep.py", GATE_PY)

    def submit(name, script, *params):
        return w.jobs.submit(run_name=name, tasks=[jobs.SubmitTask(
            task_key="t", new_cluster=CLUSTER, spark_python_task=jobs.SparkPythonTask(
                python_file="dbfs:/crud/" + script, parameters=list(params)))])

    done = [submit("crud list %d" % i, "ok.py").result().run_id for i in range(3)]
    gate = os.path.join(emu.data, "crud-gate")
    active = submit("crud active", "sleep.py", gate).run_id
    wait_for(lambda: w.jobs.get_run(active).state.life_cycle_state ==
             jobs.RunLifeCycleState.RUNNING, 60, "the run to start")
    listed = [r.run_id for r in w.jobs.list_runs(run_type=jobs.RunType.SUBMIT_RUN)]
    assert listed.index(active) < listed.index(done[2]) < listed.index(done[0])
    assert [r.run_id for r in w.jobs.list_runs(active_only=True)] == [active]
    completed = [r.run_id for r in w.jobs.list_runs(completed_only=True, limit=1)]
    assert set(done) <= set(completed) and active not in completed
    assert all(not r.tasks for r in w.jobs.list_runs(limit=5))
    assert all(r.tasks for r in w.jobs.list_runs(limit=5, expand_tasks=True))
    with pytest.raises(InvalidParameterValue):
        list(w.jobs.list_runs(active_only=True, completed_only=True))
    with pytest.raises(InvalidParameterValue):
        list(w.jobs.list_runs(limit=26))
    # an active run cannot be deleted; an ended one goes, with its files
    with pytest.raises(InvalidState):
        w.jobs.delete_run(active)
    open(gate, "w").close()
    w.jobs.wait_get_run_job_terminated_or_skipped(active)
    task = w.jobs.get_run(done[0]).tasks[0].run_id
    assert os.path.isdir(os.path.join(emu.data, "jobs", "runs", str(task)))
    w.jobs.delete_run(done[0])
    with pytest.raises((InvalidParameterValue, NotFound)):
        w.jobs.get_run(done[0])
    assert not os.path.exists(os.path.join(emu.data, "jobs", "runs", str(task)))
    assert done[0] not in [r.run_id for r in w.jobs.list_runs()]
    w.jobs.delete_run(active)       # ended now


def test_jobs_outlive_a_restart():
    e = Emu().start()
    try:
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        jid = args_job(w, "kept job")
        assert e.stop() == 0
        e.start()
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        assert w.jobs.get(jid).settings.name == "kept job"
        run = w.jobs.run_now(jid).result()
        assert run.state.result_state == jobs.RunResultState.SUCCESS
        assert args_job(w, "after the restart") > jid     # ids go on
    finally:
        e.cleanup()


def test_jobs_2_2_pages_tasks_past_100(w, emu):
    """Jobs 2.2 answers 100 tasks a page with next_page_token (the SDK's
    get and get_run follow it); 2.1 answers them all. The run: a chain of
    120 tasks whose first waits, cancelled once seen, so one process runs."""
    upload(w, "/crud/sleep.py", GATE_PY)
    tasks = [jobs.Task(task_key="t0", job_cluster_key="main",
                       spark_python_task=jobs.SparkPythonTask(
                           python_file="dbfs:/crud/sleep.py",
                           parameters=[os.path.join(emu.data, "never")]))]
    tasks += [jobs.Task(task_key="t%d" % i, job_cluster_key="main",
                        depends_on=[jobs.TaskDependency("t%d" % (i - 1))],
                        spark_python_task=jobs.SparkPythonTask(python_file="dbfs:/crud/ok.py"))
              for i in range(1, 120)]
    jid = w.jobs.create(name="crud many", tasks=tasks, job_clusters=[
        jobs.JobCluster(job_cluster_key="main", new_cluster=CLUSTER)]).job_id
    raw = w.api_client.do("GET", "/api/2.2/jobs/get", query={"job_id": jid})
    assert len(raw["settings"]["tasks"]) == 100 and raw["next_page_token"] == "100"
    page2 = w.api_client.do("GET", "/api/2.2/jobs/get",
                            query={"job_id": jid, "page_token": "100"})
    assert len(page2["settings"]["tasks"]) == 20 and "next_page_token" not in page2
    assert "job_clusters" not in page2["settings"]
    assert len(w.api_client.do("GET", "/api/2.1/jobs/get",
                               query={"job_id": jid})["settings"]["tasks"]) == 120
    assert [t.task_key for t in w.jobs.get(jid).settings.tasks] == ["t%d" % i for i in range(120)]
    run_id = w.jobs.run_now(jid).run_id
    try:
        raw = w.api_client.do("GET", "/api/2.2/jobs/runs/get", query={"run_id": run_id})
        assert len(raw["tasks"]) == 100 and raw["next_page_token"] == "100"
        assert len(w.jobs.get_run(run_id).tasks) == 120
        assert len(w.api_client.do("GET", "/api/2.1/jobs/runs/get",
                                   query={"run_id": run_id})["tasks"]) == 120
    finally:
        run = w.jobs.cancel_run(run_id).result()
    assert run.state.result_state == jobs.RunResultState.CANCELED


def test_repair_reruns_what_failed(w, emu):
    """runs/repair: the failed task and the one skipped behind it run
    again, in the same run; the one that succeeded keeps its task run."""
    flag = os.path.join(emu.data, "repair-flag")
    upload(w, "/crud/ok.py", "print('ok')\n")
    upload(w, "/crud/flaky.py", "import os, sys\nif not os.path.exists(sys.argv[1]):\n"
                                "    raise SystemExit('not yet')\nprint('fixed')\n")

    def task(key, script, deps=(), params=()):
        return jobs.Task(task_key=key, job_cluster_key="main",
                         depends_on=[jobs.TaskDependency(d) for d in deps],
                         spark_python_task=jobs.SparkPythonTask(
                             python_file="dbfs:/crud/" + script, parameters=list(params)))

    jid = w.jobs.create(name="crud repair", job_clusters=[
        jobs.JobCluster(job_cluster_key="main", new_cluster=CLUSTER)], tasks=[
        task("a", "ok.py"), task("b", "flaky.py", ["a"], [flag]), task("c", "ok.py", ["b"])]).job_id
    run_id = w.jobs.run_now(jid).run_id
    run = w.jobs.wait_get_run_job_terminated_or_skipped(run_id)
    states = {t.task_key: t.state.result_state for t in run.tasks}
    assert states == {"a": jobs.RunResultState.SUCCESS, "b": jobs.RunResultState.FAILED,
                      "c": jobs.RunResultState.UPSTREAM_FAILED}, states
    a_run = [t.run_id for t in run.tasks if t.task_key == "a"][0]
    with pytest.raises(InvalidParameterValue, match="is not a task"):
        w.jobs.repair_run(run_id, rerun_tasks=["nope"])
    open(flag, "w").close()
    repair = w.jobs.repair_run(run_id, rerun_all_failed_tasks=True)
    run = repair.result()
    assert run.run_id == run_id and run.state.result_state == jobs.RunResultState.SUCCESS
    assert [t.run_id for t in run.tasks if t.task_key == "a"] == [a_run]
    assert "fixed" in w.jobs.get_run_output(
        [t.run_id for t in run.tasks if t.task_key == "b"][0]).logs
    hist = w.jobs.get_run(run_id).repair_history
    assert [h.type for h in hist] == [jobs.RepairHistoryItemType.ORIGINAL,
                                      jobs.RepairHistoryItemType.REPAIR]
    assert hist[1].id == repair.response.repair_id
    # a second repair names the latest one, and needs something to rerun
    with pytest.raises(InvalidParameterValue, match="latest_repair_id"):
        w.jobs.repair_run(run_id, rerun_tasks=["c"])
    w.jobs.repair_run(run_id, rerun_tasks=["c"],
                      latest_repair_id=repair.response.repair_id).result()
    with pytest.raises(InvalidParameterValue, match="every task succeeded"):
        w.jobs.repair_run(run_id, rerun_all_failed_tasks=True,
                          latest_repair_id=w.jobs.get_run(run_id).repair_history[-1].id)


def test_records_keep_order_under_concurrent_runs():
    """Run records are written outside the jobs lock, one writer at a
    time: the newest record is the one on disk, and a run deleted the
    moment it ends stays deleted (no late write brings its record back),
    across a restart."""
    from concurrent.futures import ThreadPoolExecutor
    e = Emu().start()
    try:
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        upload(w, "/crud/ok.py", "print('ok')\n")

        def one(i):
            run = w.jobs.submit(run_name="rec %d" % i, tasks=[jobs.SubmitTask(
                task_key="t", new_cluster=CLUSTER, spark_python_task=jobs.SparkPythonTask(
                    python_file="dbfs:/crud/ok.py"))]).result()
            if i % 2:
                w.jobs.delete_run(run.run_id)
            return run.run_id, run.state.result_state

        with ThreadPoolExecutor(6) as pool:
            runs = list(pool.map(one, range(12)))
        assert all(s == jobs.RunResultState.SUCCESS for _, s in runs)
        state = os.path.join(e.data, "jobs", "state")
        on_disk = sorted(int(n[:-5]) for n in os.listdir(state) if n.endswith(".json"))
        assert on_disk == sorted(r for i, (r, _) in enumerate(runs) if i % 2 == 0)
        assert e.stop() == 0
        e.start()
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        for i, (rid, _) in enumerate(runs):
            if i % 2:
                with pytest.raises((InvalidParameterValue, NotFound)):
                    w.jobs.get_run(rid)
            else:
                got = w.jobs.get_run(rid).state
                assert got.life_cycle_state == jobs.RunLifeCycleState.TERMINATED, got
                assert got.result_state == jobs.RunResultState.SUCCESS, got
    finally:
        e.cleanup()

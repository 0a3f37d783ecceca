"""All-purpose clusters and their libraries through databricks-sdk
(w.clusters.*, w.libraries.*): the SDK's own helpers pick a runtime and a
node type from what the workspace lists; clusters made with create go
through their states and events, and runs on them see the libraries and
environment installed there."""

import io
import os

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, InvalidState, ResourceDoesNotExist
from databricks.sdk.service import compute, jobs

from dbmlops_testenv import Emu, build_example_wheel, tiny_wheel


@pytest.fixture
def w(clean_env):
    return WorkspaceClient(host=clean_env.url, token=Emu.TOKEN, auth_type="pat")


def test_the_sdk_helpers_pick_from_the_lists(w):
    assert w.clusters.select_spark_version(latest=True, long_term_support=True) == \
        "16.4.x-scala2.12"
    assert w.clusters.select_spark_version(latest=True, long_term_support=True, ml=True) == \
        "16.4.x-cpu-ml-scala2.12"
    assert w.clusters.select_spark_version(latest=True, scala="2.13", beta=True) == \
        "18.0.x-scala2.13"
    assert w.clusters.select_node_type() == "m5d.large"
    assert w.clusters.select_node_type(min_memory_gb=30, local_disk=True) == "i3.xlarge"
    assert w.clusters.select_node_type(min_gpus=1) == "g4dn.xlarge"


def test_a_new_workspace_lists_no_old_runtime():
    e = Emu(workspace="new").start()
    try:
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        keys = [v.key for v in w.clusters.spark_versions().versions]
        assert "13.3.x-scala2.12" in keys and "12.2.x-scala2.12" not in keys
        with pytest.raises(InvalidParameterValue, match="runtimes before 13.3 LTS"):
            w.clusters.create(cluster_name="old", spark_version="12.2.x-scala2.12",
                              node_type_id="m5d.large", num_workers=1)
    finally:
        e.cleanup()


def test_cluster_life(w):
    with pytest.raises(InvalidParameterValue, match="Missing required field: size"):
        w.clusters.create(cluster_name="no size", spark_version="15.4.x-scala2.12",
                          node_type_id="m5d.large")
    c = w.clusters.create(cluster_name="sdk life", spark_version="15.4.x-scala2.12",
                          node_type_id="m5d.large", num_workers=2,
                          autotermination_minutes=30, custom_tags={"team": "ml"}).result()
    assert c.state == compute.State.RUNNING and c.cluster_source == compute.ClusterSource.API
    assert c.num_workers == 2 and c.custom_tags == {"team": "ml"}
    assert c.creator_user_name == w.current_user.me().user_name
    assert c.cluster_id in [x.cluster_id for x in w.clusters.list()]
    with pytest.raises(InvalidState, match=r"Cluster .* is in unexpected state Running\.$"):
        w.clusters.start(c.cluster_id)          # it runs already
    c = w.clusters.edit(c.cluster_id, cluster_name="sdk life", spark_version="16.4.x-scala2.12",
                        node_type_id="m5d.large", num_workers=1).result()
    assert c.state == compute.State.RUNNING and c.spark_version == "16.4.x-scala2.12"
    c = w.clusters.delete(c.cluster_id).result()
    assert c.state == compute.State.TERMINATED and c.terminated_time
    c = w.clusters.start(c.cluster_id).result()
    assert c.state == compute.State.RUNNING
    types = [ev.type for ev in w.clusters.events(c.cluster_id, order=compute.GetEventsOrder.ASC,
                                                  limit=2)]     # pages of two
    assert types[:3] == [compute.EventType.CREATING, compute.EventType.STARTING,
                         compute.EventType.RUNNING]
    assert compute.EventType.EDITED in types and compute.EventType.TERMINATING in types
    w.clusters.permanent_delete(c.cluster_id)
    with pytest.raises(ResourceDoesNotExist, match="does not exist"):   # the SDK's override
        w.clusters.get(c.cluster_id)


def test_list_filters_sorts_and_pages(w):
    """clusters/list as the SDK sends it: filter_by (states, sources,
    pinned), sort_by the name, page_size with next and previous page
    tokens, which the SDK follows to the end."""
    import requests
    made = {}
    for name in ("list-b", "list-a", "list-c"):
        made[name] = w.clusters.create(cluster_name=name, spark_version="15.4.x-scala2.12",
                                       node_type_id="m5d.large", num_workers=1,
                                       policy_id="ci-policy" if name == "list-a" else None
                                       ).result()
    w.clusters.delete(made["list-c"].cluster_id).result()
    ours = set(c.cluster_id for c in made.values())

    def names(**kw):
        return [c.cluster_name for c in w.clusters.list(**kw) if c.cluster_id in ours]
    running = compute.ListClustersFilterBy(cluster_states=[compute.State.RUNNING,
                                                           compute.State.PENDING])
    assert sorted(names(filter_by=running)) == ["list-a", "list-b"]
    assert names(filter_by=compute.ListClustersFilterBy(
        cluster_states=[compute.State.TERMINATED])) == ["list-c"]
    assert names(filter_by=compute.ListClustersFilterBy(
        cluster_sources=[compute.ClusterSource.JOB])) == []
    assert names(filter_by=compute.ListClustersFilterBy(is_pinned=True)) == []
    assert names(filter_by=compute.ListClustersFilterBy(policy_id="ci-policy")) == ["list-a"]
    by_name = compute.ListClustersSortBy(field=compute.ListClustersSortByField.CLUSTER_NAME,
                                         direction=compute.ListClustersSortByDirection.DESC)
    assert names(sort_by=by_name) == ["list-c", "list-b", "list-a"]
    assert names(sort_by=by_name, page_size=1) == ["list-c", "list-b", "list-a"]
    h = {"Authorization": "Bearer " + Emu.TOKEN}
    url = w.config.host + "/api/2.1/clusters/list"
    first = requests.get(url, params={"page_size": 1}, headers=h, timeout=30).json()
    assert len(first["clusters"]) == 1 and "prev_page_token" not in first
    second = requests.get(url, params={"page_size": 1, "page_token": first["next_page_token"]},
                          headers=h, timeout=30).json()
    assert second["clusters"][0]["cluster_id"] != first["clusters"][0]["cluster_id"]
    assert second["prev_page_token"] == "0"
    r = requests.get(url, params={"page_token": "x"}, headers=h, timeout=30)
    assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    for c in made.values():
        w.clusters.permanent_delete(c.cluster_id)


def test_libraries_and_runs_on_a_created_cluster(w, tmp_path):
    whl = build_example_wheel(str(tmp_path))
    path = "dbfs:/cluster-libs/" + os.path.basename(whl)
    with open(whl, "rb") as f:
        w.dbfs.upload(path[5:], f, overwrite=True)
    w.dbfs.upload("/cluster-libs/task.py", io.BytesIO(
        b"import os, dbmlops_example\nprint('team', os.environ.get('TEAM'))\n"), overwrite=True)
    c = w.clusters.create(cluster_name="sdk libs", spark_version="15.4.x-scala2.12",
                          node_type_id="m5d.large", num_workers=1,
                          spark_env_vars={"TEAM": "ml-platform"}).result()
    w.libraries.install(c.cluster_id, [compute.Library(whl=path),
                                       compute.Library(whl="dbfs:/cluster-libs/missing.whl")])
    st = {s.library.whl: s for s in w.libraries.cluster_status(c.cluster_id)}
    assert st[path].status == compute.LibraryInstallStatus.INSTALLED
    bad = st["dbfs:/cluster-libs/missing.whl"]
    assert bad.status == compute.LibraryInstallStatus.FAILED
    assert "Library installation failed" in bad.messages[0]
    assert c.cluster_id in [s.cluster_id for s in w.libraries.all_cluster_statuses()]
    # a run on the cluster has its libraries and its environment
    run = w.jobs.submit(run_name="on a created cluster", tasks=[jobs.SubmitTask(
        task_key="t", existing_cluster_id=c.cluster_id,
        spark_python_task=jobs.SparkPythonTask(
            python_file="dbfs:/cluster-libs/task.py"))]).result()
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
    assert "team ml-platform" in w.jobs.get_run_output(run.tasks[0].run_id).logs
    # uninstalled: gone once the cluster restarts
    w.libraries.uninstall(c.cluster_id, [compute.Library(whl=path)])
    st = {s.library.whl: s.status for s in w.libraries.cluster_status(c.cluster_id)}
    assert st[path] == compute.LibraryInstallStatus.UNINSTALL_ON_RESTART
    w.clusters.restart(c.cluster_id).result()
    assert path not in [s.library.whl for s in w.libraries.cluster_status(c.cluster_id)]
    with pytest.raises(InvalidParameterValue, match="exactly one of"):
        w.api_client.do("POST", "/api/2.0/libraries/install",
                        body={"cluster_id": c.cluster_id, "libraries": [{}]})


def test_created_clusters_outlive_a_restart():
    e = Emu().start()
    try:
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        cid = w.clusters.create(cluster_name="kept", spark_version="15.4.x-scala2.12",
                                node_type_id="m5d.large", num_workers=1).cluster_id
        w.libraries.install(cid, [compute.Library(pypi=compute.PythonPyPiLibrary("six"))])
        assert e.stop() == 0
        e.start()
        w = WorkspaceClient(host=e.url, token=Emu.TOKEN, auth_type="pat")
        c = w.clusters.get(cid)
        assert c.cluster_name == "kept" and c.state == compute.State.TERMINATED
        assert [s.status for s in w.libraries.cluster_status(cid)] == \
            [compute.LibraryInstallStatus.PENDING]
        assert w.clusters.start(cid).result().state == compute.State.RUNNING
    finally:
        e.cleanup()


def test_a_rebuilt_wheel_of_the_same_version_is_stale(w, tmp_path):
    """As on Databricks: a library installed on an all-purpose cluster stays
    until the cluster restarts, and pip keeps an installed name and version,
    so a rebuilt 1.0 from another path changes nothing until a restart."""
    paths = {}
    for mark in ("first", "second"):
        local = tmp_path / mark / "stalepkg-1.0-py3-none-any.whl"
        local.parent.mkdir()
        tiny_wheel(str(local), mark)
        paths[mark] = "dbfs:/stale/%s/stalepkg-1.0-py3-none-any.whl" % mark
        with open(local, "rb") as f:
            w.dbfs.upload(paths[mark][5:], f, overwrite=True)
    w.dbfs.upload("/stale/task.py", io.BytesIO(b"import stalepkg\nprint('mark', stalepkg.MARK)\n"),
                  overwrite=True)
    c = w.clusters.create(cluster_name="stale", spark_version="15.4.x-scala2.12",
                          node_type_id="m5d.large", num_workers=1).result()

    def run(mark):
        r = w.jobs.submit(run_name="stale " + mark, tasks=[jobs.SubmitTask(
            task_key="t", existing_cluster_id=c.cluster_id,
            libraries=[compute.Library(whl=paths[mark])],
            spark_python_task=jobs.SparkPythonTask(python_file="dbfs:/stale/task.py"))]).result()
        assert r.state.result_state == jobs.RunResultState.SUCCESS, r.state
        return w.jobs.get_run_output(r.tasks[0].run_id).logs

    assert "mark first" in run("first")
    assert "mark first" in run("second")        # the rebuilt wheel is not picked up
    listed = [s.library.whl for s in w.libraries.cluster_status(c.cluster_id)]
    assert paths["first"] in listed and paths["second"] in listed
    w.clusters.restart(c.cluster_id).result()
    assert w.libraries.cluster_status(c.cluster_id) == [] or \
        not list(w.libraries.cluster_status(c.cluster_id))
    assert "mark second" in run("second")

"""The workspace of a new account, as workspace-emu is by default: Unity
Catalog catalogs, schemas and volumes through databricks-sdk, the Files API
refusing paths of volumes that do not exist, the DBFS root and runtimes
before 13.3 LTS refused; and --serverless-only, a workspace without classic
compute (PROTOCOL.md section 15)."""

import base64
import io
import json
import time
import urllib.error
import urllib.request

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import (BadRequest, NotFound, PermissionDenied,
                                   ResourceAlreadyExists)
from databricks.sdk.service.catalog import VolumeType
from databricks.sdk.service.workspace import ImportFormat

from dbmlops_testenv import Emu


# an all-purpose cluster made before the workspace turned legacy features off
OLD_CLUSTER = "0202-000000-old"


@pytest.fixture(scope="module")
def ws(mlflow_server):
    e = Emu(mlflow_url=mlflow_server.url, workspace="new", volumes=(),
            extra=["--volume", "main.ml.wheels",
                   "--cluster", OLD_CLUSTER + ":TERMINATED:old-ml:12.2.x-scala2.12"]).start()
    yield e
    e.cleanup()


@pytest.fixture(scope="module")
def free(mlflow_server):
    e = Emu(mlflow_url=mlflow_server.url, workspace="serverless",
            volumes=()).start()
    yield e
    e.cleanup()


def client(emu):
    return WorkspaceClient(host=emu.url, token=Emu.TOKEN, auth_type="pat")


def call(emu, method, path, body=None):
    """(status, answer) of a REST call."""
    req = urllib.request.Request(
        emu.url + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + Emu.TOKEN,
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_starts_with_main_default_and_the_volume_asked_for(ws):
    w = client(ws)
    assert [c.name for c in w.catalogs.list()] == ["main"]
    assert {s.name for s in w.schemas.list("main")} == {
        "default", "information_schema", "ml"}
    v = w.volumes.read("main.ml.wheels")
    assert (v.full_name, v.volume_type) == ("main.ml.wheels", VolumeType.MANAGED)
    assert v.owner == "emu-user@example.com"


def test_a_missing_volume_is_404_and_a_created_one_takes_files(ws):
    w = client(ws)
    with pytest.raises(NotFound, match="Volume 'main.default.models' does "
                       "not exist"):
        w.files.upload("/Volumes/main/default/models/a.bin",
                       io.BytesIO(b"x"))
    with pytest.raises(NotFound, match="Catalog 'nope' does not exist"):
        w.files.create_directory("/Volumes/nope/default/models/d")
    with pytest.raises(NotFound, match="Schema 'main.nope' does not exist"):
        w.volumes.create("main", "nope", "models", VolumeType.MANAGED)
    v = w.volumes.create("main", "default", "Models", VolumeType.MANAGED)
    assert v.full_name == "main.default.models"	# names are lower case
    w.files.upload("/Volumes/main/default/models/a.bin", io.BytesIO(b"abc"))
    assert w.files.download(
        "/Volumes/main/default/models/a.bin").contents.read() == b"abc"
    with pytest.raises(ResourceAlreadyExists, match="already exists"):
        w.volumes.create("main", "default", "models", VolumeType.MANAGED)
    assert "models" in [x.name for x in w.volumes.list("main", "default")]
    # a volume's files go with it
    w.volumes.delete("main.default.models")
    with pytest.raises(NotFound):
        w.volumes.read("main.default.models")
    w.volumes.create("main", "default", "models", VolumeType.MANAGED)
    with pytest.raises(NotFound):
        w.files.get_metadata("/Volumes/main/default/models/a.bin")


def test_catalogs_and_schemas_refuse_to_go_with_contents(ws):
    w = client(ws)
    w.catalogs.create("team")
    w.schemas.create("ml", "team")
    w.volumes.create("team", "ml", "wheels", VolumeType.MANAGED)
    with pytest.raises(BadRequest, match="not empty") as err:
        w.schemas.delete("team.ml")
    assert err.value.error_code == "SCHEMA_NOT_EMPTY"
    with pytest.raises(BadRequest) as err:
        w.catalogs.delete("team")
    assert err.value.error_code == "CATALOG_NOT_EMPTY"
    w.catalogs.delete("team", force=True)
    with pytest.raises(NotFound) as err:
        w.schemas.get("team.ml")
    assert err.value.error_code == "CATALOG_DOES_NOT_EXIST"
    status, doc = call(ws, "POST", "/api/2.1/unity-catalog/volumes",
                       {"catalog_name": "main", "schema_name": "default",
                        "name": "a.b", "volume_type": "MANAGED"})
    assert status == 400 and doc["error_code"] == "INVALID_PARAMETER_VALUE"


def test_the_dbfs_root_is_refused_and_mlflow_storage_is_not(ws):
    w = client(ws)
    msg = "Public DBFS root is disabled. Access is denied on path: /wheels/a"
    with pytest.raises(PermissionDenied, match=msg):
        w.dbfs.put("/wheels/a", contents=base64.b64encode(b"x").decode(),
                   overwrite=True)
    with pytest.raises(PermissionDenied):
        list(w.dbfs.list("/"))
    # the workspace's own MLflow storage, and volumes through DBFS paths
    w.dbfs.put("/databricks/mlflow-tracking/1/x", contents="eA==",
               overwrite=True)
    w.dbfs.put("/Volumes/main/ml/wheels/y", contents="eA==", overwrite=True)
    assert w.files.download("/Volumes/main/ml/wheels/y").contents.read() == b"x"


def put_file(w, path, data):
    """A workspace file (the JSON form of workspace/import)."""
    w.workspace.import_(path, content=base64.b64encode(data).decode(),
                        format=ImportFormat.AUTO, overwrite=True)


def submit(emu, task):
    task = dict({"task_key": "t"}, **task)
    return call(emu, "POST", "/api/2.1/jobs/runs/submit",
                {"run_name": "t", "tasks": [task]})


def wait_run(emu, run_id):
    for _ in range(600):
        status, doc = call(emu, "GET", f"/api/2.1/jobs/runs/get?run_id={run_id}")
        if doc["state"]["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR",
                                                "SKIPPED"):
            return doc
        time.sleep(0.1)
    raise AssertionError("the run did not end")


CLUSTER = {"node_type_id": "emu-node", "num_workers": 0}


@pytest.mark.parametrize("version", ["12.2.x-cpu-ml-scala2.12",
                                     "10.4.x-scala2.12", "13.2.x-scala2.12"])
def test_runtimes_before_13_3_are_refused(ws, version):
    status, doc = submit(ws, {
        "new_cluster": dict(CLUSTER, spark_version=version),
        "spark_python_task": {"python_file": "/Workspace/x.py"}})
    assert status == 400 and doc["error_code"] == "INVALID_PARAMETER_VALUE"
    assert doc["message"].startswith(
        f"Databricks Runtime {version} is not supported in this workspace: "
        "runtimes before 13.3 LTS are disabled")


def test_a_current_runtime_runs_and_the_dbfs_root_fails_it(ws):
    w = client(ws)
    put_file(w, "/Shared/ok.py", b"print('ok')\n")
    put_file(w, "/Shared/read_dbfs.py", b"open('/dbfs/wheels/a.txt').read()\n")
    nc = dict(CLUSTER, spark_version="15.4.x-scala2.12")
    status, doc = submit(ws, {"new_cluster": nc, "spark_python_task": {
        "python_file": "/Workspace/Shared/ok.py"}})
    assert status == 200, doc
    run = wait_run(ws, doc["run_id"])
    assert run["state"]["result_state"] == "SUCCESS", run["state"]
    # a library on the DBFS root fails at start, as on the service
    status, doc = submit(ws, {"new_cluster": nc, "spark_python_task": {
        "python_file": "/Workspace/Shared/ok.py"},
        "libraries": [{"whl": "dbfs:/wheels/a-1.0-py3-none-any.whl"}]})
    assert status == 200, doc
    run = wait_run(ws, doc["run_id"])
    assert run["state"]["life_cycle_state"] == "INTERNAL_ERROR"
    assert "Public DBFS root is disabled. Access is denied on path: " \
        "/wheels/a-1.0-py3-none-any.whl" in run["state"]["state_message"]
    # a file on it, and /dbfs inside the job
    status, doc = submit(ws, {"new_cluster": nc, "spark_python_task": {
        "python_file": "dbfs:/scripts/x.py"}})
    run = wait_run(ws, doc["run_id"])
    assert run["state"]["result_state"] == "FAILED"
    assert "Public DBFS root is disabled" in run["state"]["state_message"]
    status, doc = submit(ws, {"new_cluster": nc, "spark_python_task": {
        "python_file": "/Workspace/Shared/read_dbfs.py"}})
    run = wait_run(ws, doc["run_id"])
    assert run["state"]["result_state"] == "FAILED", run["state"]


def test_old_runtime_clusters_neither_create_nor_start(ws):
    """An all-purpose cluster on a runtime before 13.3 is refused at create
    and at every start: by clusters/start, and by a run on it."""
    w = client(ws)
    old = "12.2.x-scala2.12"
    why = (f"Databricks Runtime {old} is not supported in this workspace: "
           "runtimes before 13.3 LTS are disabled")
    with pytest.raises(BadRequest, match=why):
        w.clusters.create(spark_version=old, node_type_id="emu-node",
                          num_workers=0, cluster_name="x")
    status, doc = call(ws, "POST", "/api/2.1/clusters/start",
                       {"cluster_id": OLD_CLUSTER})
    assert (status, doc["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), doc
    assert doc["message"].startswith(why)
    c = w.clusters.get(OLD_CLUSTER)
    assert (c.state.value, c.spark_version) == ("TERMINATED", old)
    status, doc = submit(ws, {"existing_cluster_id": OLD_CLUSTER,
                              "spark_python_task": {"python_file": "/Workspace/x.py"}})
    assert status == 200, doc
    run = wait_run(ws, doc["run_id"])
    assert run["state"]["life_cycle_state"] == "INTERNAL_ERROR", run["state"]
    assert run["state"]["state_message"].startswith(why)
    assert w.clusters.get(OLD_CLUSTER).state.value == "TERMINATED"
    # edited to a current runtime, it starts
    w.clusters.edit(OLD_CLUSTER, spark_version="15.4.x-scala2.12",
                    node_type_id="emu-node", num_workers=0, cluster_name="old-ml")
    status, doc = call(ws, "POST", "/api/2.1/clusters/start",
                       {"cluster_id": OLD_CLUSTER})
    assert status == 200, doc


def test_an_older_workspace_starts_old_runtimes():
    e = Emu(workspace="legacy", volumes=(),
            extra=["--cluster", "0202-000000-old:TERMINATED:old-ml:10.4.x-scala2.12"]).start()
    try:
        status, doc = call(e, "POST", "/api/2.1/clusters/start",
                           {"cluster_id": "0202-000000-old"})
        assert status == 200, doc
        assert client(e).clusters.get("0202-000000-old").state.value == "PENDING"
    finally:
        e.cleanup()


def test_there_is_no_hive_metastore(ws):
    """New accounts' workspaces provision no Hive metastore: no catalog
    hive_metastore, and nothing made in it."""
    w = client(ws)
    with pytest.raises(NotFound, match="Catalog 'hive_metastore' does not exist."):
        w.catalogs.get("hive_metastore")
    with pytest.raises(NotFound, match="Catalog 'hive_metastore' does not exist."):
        w.schemas.create(name="x", catalog_name="hive_metastore")


def test_serverless_only_refuses_classic_compute(free):
    for compute in ({"new_cluster": dict(CLUSTER,
                                         spark_version="15.4.x-scala2.12")},
                    {"existing_cluster_id": "0101-x"}):
        status, doc = submit(free, dict(compute, spark_python_task={
            "python_file": "/Workspace/x.py"}))
        assert status == 400 and doc["error_code"] == "INVALID_PARAMETER_VALUE"
        assert doc["message"].startswith(
            "Only serverless compute is available in this workspace")
    put_file(client(free), "/Shared/ok.py", b"print('ok')\n")
    status, doc = call(free, "POST", "/api/2.1/jobs/runs/submit", {
        "run_name": "t", "environments": [{"environment_key": "e", "spec": {
            "environment_version": "2"}}],
        "tasks": [{"task_key": "t", "environment_key": "e",
                   "spark_python_task": {
                       "python_file": "/Workspace/Shared/ok.py"}}]})
    assert status == 200, doc
    assert wait_run(free, doc["run_id"])["state"]["result_state"] == "SUCCESS"


def test_the_seeds_cluster_json_is_refused_before_any_request(ws, tmp_path):
    """mlflow-submit, told nothing of the workspace, refuses what a new
    workspace refuses, at the file's line, with the way out; nothing is
    sent."""
    import os
    import shutil
    import subprocess
    from dbmlops_testenv import BIN, TOP
    proj = tmp_path / "my project"
    shutil.copytree(os.path.join(TOP, "templates", "project"), proj)
    before = len(ws.requests())
    r = subprocess.run([os.path.join(BIN, "mlflow-submit"), "-b", "databricks",
                        "-c", str(proj / "cluster-legacy.json"),
                        "--experiment-name", "/Shared/new-ws", str(proj)],
                       env=ws.env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert (f"mlflow-submit: {proj}/cluster-legacy.json:2:20: spark_version "
            "10.3.x-cpu-ml-scala2.12: runtimes before 13.3 LTS are refused"
            in r.stderr), r.stderr
    assert "DBMLOPS_WORKSPACE=legacy" in r.stderr
    # a DBFS-root library in a current cluster spec
    env_file = proj / "conda.yaml"
    env_file.write_text(env_file.read_text().replace(
        "/dbfs/wheels/builds/WHEELPATH",
        "/Workspace/Shared/wheels/x-1.0-py3-none-any.whl"))
    spec = proj / "cluster.json"
    spec.write_text(spec.read_text().replace(
        "/dbfs/wheels/builds/WHEELPATH", "/dbfs/wheels/x-1.0-py3-none-any.whl"))
    r = subprocess.run([os.path.join(BIN, "mlflow-submit"), "-b", "databricks",
                        "-c", str(spec), "--experiment-name", "/Shared/new-ws",
                        str(proj)],
                       env=ws.env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "library /dbfs/wheels/x-1.0-py3-none-any.whl: the DBFS root is " \
        "disabled" in r.stderr
    assert len(ws.requests()) == before
    # told it is an older workspace, it goes on, and the service's refusal
    # (of the DBFS root, where shell mode's code goes) comes with the advice
    r = subprocess.run([os.path.join(BIN, "mlflow-submit"), "-b", "databricks",
                        "--workspace", "legacy",
                        "-c", str(proj / "cluster-legacy.json"),
                        "--experiment-name", "/Shared/new-ws", str(proj)],
                       env=ws.env(), capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "403 PERMISSION_DENIED: Public DBFS root is disabled. Access is " \
        "denied on path: /mlflow-experiments/" in r.stderr, r.stderr
    assert "this workspace has no DBFS root" in r.stderr
    assert not any("runs/submit" in q["path"] for q in ws.requests()[before:])


def test_dbfs_put_refuses_the_dbfs_root_before_sending(ws, tmp_path):
    """dbfs-put on a new workspace: a dbfs:/ destination (outside the
    workspace's MLflow storage) is refused with exit 2 and the way out,
    before any request; told it is a legacy workspace, it sends, and the
    service's 403 comes back."""
    import os
    import subprocess
    from dbmlops_testenv import BIN
    whl = tmp_path / "x-1.0-py3-none-any.whl"
    whl.write_bytes(b"x")
    before = len(ws.requests())
    put = os.path.join(BIN, "dbfs-put")
    r = subprocess.run([put, str(whl), "dbfs:/wheels/x/"], env=ws.env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "dbfs:/wheels/x: the workspaces new accounts get have no DBFS root" in r.stderr
    assert "/Volumes/<catalog>/<schema>/<volume>/" in r.stderr
    assert len(ws.requests()) == before
    r = subprocess.run([put, "-q", "--workspace", "legacy", str(whl), "dbfs:/wheels/x/"],
                       env=ws.env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 77, r.stderr        # the service's PERMISSION_DENIED
    assert "Public DBFS root is disabled" in r.stderr
    # a volume through its dbfs: path is the Files API: it goes
    r = subprocess.run([put, "-q", str(whl), "dbfs:/Volumes/main/ml/wheels/x/"],
                       env=ws.env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([put, "--workspace", "old", str(whl), "dbfs:/x"], env=ws.env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "expected new or legacy" in r.stderr

"""Models in Unity Catalog (PROTOCOL.md section 19): MLflow's own client,
its registry URI databricks-uc (MLflow 3's default with a Databricks
tracking URI), registering a model with a three-part name, aliasing and
loading it back through workspace-emu; the registry's refusals in the
service's shape; and the same from jobs, one registering, one loading.
Then the workspace registry (registry URI databricks) of a workspace with
a DBFS root, whose model files MLflow fetches through presigned URLs."""

import json
import os
import time

import pytest
import requests

from dbmlops_testenv import Emu

AUTH = {"Authorization": "Bearer " + Emu.TOKEN}
UCM = "/api/2.0/mlflow/unity-catalog/"

# the model, as a team writes one: a pyfunc with a signature (Unity
# Catalog takes no model without one)
MODEL_CODE = """\
import mlflow
import pandas as pd
from mlflow.models import infer_signature


class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2


def log_and_register(name):
    x = pd.DataFrame({"a": [1.0, 2.0]})
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model", python_model=Doubler(),
            signature=infer_signature(x, x * 2), registered_model_name=name)
    return info
"""


@pytest.fixture(scope="module")
def ws(mlflow_server):
    e = Emu(mlflow_url=mlflow_server.url, workspace="new", volumes=("main.ml.wheels",))
    e.start()
    yield e
    e.cleanup()


@pytest.fixture
def uc_env(ws, monkeypatch, tmp_path):
    return client_env(ws, monkeypatch, tmp_path)


def client_env(ws, monkeypatch, tmp_path):
    for k in list(os.environ):
        if k.startswith(("DATABRICKS_", "MLFLOW_")):
            monkeypatch.delenv(k)
    for k, v in ws.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks")
    (tmp_path / "model_code.py").write_text(MODEL_CODE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return ws


def api(ws, method, path, **kw):
    return requests.request(method, ws.url + path, headers=AUTH, timeout=60, **kw)


def test_register_alias_and_load_with_mlflow(uc_env):
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient

    import model_code
    mlflow.set_experiment("/Shared/uc-models")
    assert mlflow.get_registry_uri() == "databricks-uc"
    info = model_code.log_and_register("main.default.doubler")
    assert str(info.registered_model_version) == "1"
    client = MlflowClient()
    mv = client.get_model_version("main.default.doubler", "1")
    assert mv.status == "READY" and mv.run_id == info.run_id
    # the files went to the version's folder through the Files API
    files = api(uc_env, "GET", "/api/2.0/fs/directories/Models/main/default/doubler/1")
    assert files.status_code == 200, files.text
    assert "MLmodel" in {f["name"] for f in files.json()["contents"]}
    client.set_registered_model_alias("main.default.doubler", "champion", "1")
    assert client.get_model_version_by_alias("main.default.doubler", "champion").version == "1"
    x = pd.DataFrame({"a": [3.0]})
    for uri in ("models:/main.default.doubler@champion", "models:/main.default.doubler/1"):
        assert mlflow.pyfunc.load_model(uri).predict(x)["a"].tolist() == [6.0]
    # a second version, then the search MLflow sends
    model_code.log_and_register("main.default.doubler")
    vs = client.search_model_versions("name='main.default.doubler'")
    assert sorted(v.version for v in vs) == ["1", "2"]
    assert [m.name for m in client.search_registered_models()] == ["main.default.doubler"]
    rm = client.get_registered_model("main.default.doubler")
    assert rm.aliases == {"champion": "1"}
    client.delete_registered_model_alias("main.default.doubler", "champion")
    client.delete_model_version("main.default.doubler", "2")
    assert [v.version for v in client.search_model_versions(
        "name='main.default.doubler'")] == ["1"]


def test_refusals_in_the_service_shape(uc_env):
    r = api(uc_env, "GET", UCM + "registered-models/get", params={"name": "main.default.none"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = api(uc_env, "POST", UCM + "registered-models/create", json={"name": "default.m"})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "three-level name" in r.json()["message"]
    r = api(uc_env, "POST", UCM + "registered-models/create", json={"name": "main.nope.m"})
    assert (r.status_code, r.json()["error_code"]) == (404, "SCHEMA_DOES_NOT_EXIST")
    r = api(uc_env, "POST", UCM + "registered-models/create", json={"name": "hive_metastore.x.m"})
    assert (r.status_code, r.json()["error_code"]) == (404, "CATALOG_DOES_NOT_EXIST")
    r = api(uc_env, "POST", UCM + "registered-models/create", json={"name": "Main.ML.Fresh"})
    assert r.status_code == 200 and r.json()["registered_model"]["name"] == "main.ml.fresh"
    r = api(uc_env, "POST", UCM + "registered-models/create", json={"name": "main.ml.fresh"})
    assert (r.status_code, r.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    r = api(uc_env, "POST", UCM + "model-versions/create",
            json={"name": "main.ml.fresh", "source": "models:/m-1"})
    mv = r.json()["model_version"]
    assert (mv["version"], mv["status"]) == ("1", "PENDING_REGISTRATION")
    path = "/api/2.0/fs/files/Models/main/ml/fresh/1/MLmodel"
    assert api(uc_env, "PUT", path, data=b"x").status_code == 204
    assert api(uc_env, "PUT", "/api/2.0/fs/files/Models/main/ml/fresh/2/MLmodel",
               data=b"x").status_code == 404
    r = api(uc_env, "POST", UCM + "model-versions/finalize",
            json={"name": "main.ml.fresh", "version": "1"})
    assert r.json()["model_version"]["status"] == "READY"
    # a READY version's files no longer change, and still read
    r = api(uc_env, "PUT", path, data=b"y", params={"overwrite": "true"})
    assert (r.status_code, r.json()["error_code"]) == (403, "PERMISSION_DENIED")
    assert api(uc_env, "GET", path).content == b"x"
    r = api(uc_env, "POST", UCM + "registered-models/alias",
            json={"name": "main.ml.fresh", "alias": "prod", "version": "7"})
    assert r.status_code == 404
    r = api(uc_env, "GET", UCM + "registered-models/alias",
            params={"name": "main.ml.fresh", "alias": "prod"})
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    r = api(uc_env, "GET", UCM + "model-versions/search", params={"filter": "run_id='x'"})
    assert r.status_code == 400
    # deleting the model takes its versions and files
    assert api(uc_env, "DELETE", UCM + "registered-models/delete",
               json={"name": "main.ml.fresh"}).status_code == 200
    assert api(uc_env, "GET", path).status_code == 404
    r = api(uc_env, "POST", UCM + "model-versions/generate-temporary-credentials",
            json={"name": "main.ml.fresh", "version": "1"})
    assert (r.status_code, r.json()["error_code"]) == (404, "ENDPOINT_NOT_FOUND")


REGISTER = MODEL_CODE + """
mlflow.set_experiment("/Shared/uc-jobs")
info = log_and_register("main.ml.jobmodel")
print("registered version", info.registered_model_version)
"""
LOAD = """\
import mlflow
import pandas as pd
m = mlflow.pyfunc.load_model("models:/main.ml.jobmodel/1")
print("prediction", m.predict(pd.DataFrame({"a": [21.0]}))["a"].tolist())
"""


def run_job(ws, path, code):
    import base64
    api(ws, "POST", "/api/2.0/workspace/mkdirs", json={"path": os.path.dirname(path)})
    r = api(ws, "POST", "/api/2.0/workspace/import", json={
        "path": path, "format": "AUTO", "overwrite": True,
        "content": base64.b64encode(code.encode()).decode()})
    assert r.status_code == 200, r.text
    r = api(ws, "POST", "/api/2.1/jobs/runs/submit", json={
        "run_name": "uc", "environments": [{"environment_key": "e", "spec": {
            "environment_version": "2", "dependencies": ["pandas"]}}],
        "tasks": [{"task_key": "t", "environment_key": "e", "spark_python_task": {
            "python_file": "/Workspace" + path}}]})
    assert r.status_code == 200, r.text
    run_id = r.json()["run_id"]
    for _ in range(1800):
        run = api(ws, "GET", "/api/2.1/jobs/runs/get", params={"run_id": run_id}).json()
        if run["state"]["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR"):
            break
        time.sleep(0.2)
    out = api(ws, "GET", "/api/2.1/jobs/runs/get-output",
              params={"run_id": run["tasks"][0]["run_id"]}).json()
    assert run["state"].get("result_state") == "SUCCESS", json.dumps(out)[-3000:]
    return out.get("logs", "")


def test_jobs_register_and_load(ws):
    """One serverless job registers main.ml.jobmodel as MLflow does by
    default from a job (databricks-uc), another loads version 1."""
    assert "registered version 1" in run_job(ws, "/Shared/uc/register.py", REGISTER)
    assert "prediction [42.0]" in run_job(ws, "/Shared/uc/load.py", LOAD)


@pytest.fixture(scope="module")
def legacy(mlflow_server):
    e = Emu(mlflow_url=mlflow_server.url, workspace="legacy")
    e.start()
    yield e
    e.cleanup()


def test_workspace_registry(legacy, monkeypatch, tmp_path):
    """Registry URI databricks: a model registered by name loads back by
    version and by stage (the client refuses aliases there), its files listed by model-versions/list-artifacts
    and fetched from the presigned URLs get-signed-download-uri gives,
    without a token; those URLs cannot be altered, and a version that
    does not exist is the tracking server's own 404. Unity Catalog's model
    files are not DBFS files there."""
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient

    client_env(legacy, monkeypatch, tmp_path)
    import model_code
    mlflow.set_registry_uri("databricks")
    mlflow.set_experiment("/Shared/ws-models")
    info = model_code.log_and_register("doubler")
    assert str(info.registered_model_version) == "1"
    client = MlflowClient()
    client.transition_model_version_stage("doubler", "1", "Production")
    x = pd.DataFrame({"a": [5.0]})
    for uri in ("models:/doubler/1", "models:/doubler/Production"):
        assert mlflow.pyfunc.load_model(uri).predict(x)["a"].tolist() == [10.0]
    mv = {"name": "doubler", "version": "1"}
    files = api(legacy, "GET", "/api/2.0/mlflow/model-versions/list-artifacts", params=mv)
    assert files.status_code == 200, files.text
    names = {f["path"]: f for f in files.json()["files"]}
    assert not names["MLmodel"]["is_dir"] and names["MLmodel"]["file_size"] > 0
    r = api(legacy, "GET", "/api/2.0/mlflow/model-versions/get-signed-download-uri",
            params=dict(mv, path="MLmodel"))
    assert r.status_code == 200, r.text
    signed = r.json()["signed_uri"]
    got = requests.get(signed, timeout=30)
    assert got.status_code == 200 and b"python_function" in got.content
    assert requests.get(signed.replace("MLmodel", "conda.yaml"), timeout=30).status_code == 403
    assert requests.get(signed.replace("exp=", "exp=9"), timeout=30).status_code == 403
    r = api(legacy, "GET", "/api/2.0/mlflow/model-versions/get-signed-download-uri",
            params=dict(mv, path="../../MLmodel"))
    assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    r = api(legacy, "GET", "/api/2.0/mlflow/model-versions/get-signed-download-uri",
            params=dict(mv, path="nothing.pkl"))
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    # versions whose source is a run's artifacts (as clients before MLflow 3
    # logged models) or the logged model
    client.log_text(info.run_id, "flavors: {}\n", "old-model/MLmodel")
    for source in (f"runs:/{info.run_id}/old-model", f"models:/{info.model_id}"):
        body = {"name": "doubler", "source": source, "run_id": info.run_id}
        if source.startswith("models:/"):
            body["model_id"] = info.model_id
        r = api(legacy, "POST", "/api/2.0/mlflow/model-versions/create", json=body)
        assert r.status_code == 200, r.text
        v = {"name": "doubler", "version": r.json()["model_version"]["version"]}
        got = api(legacy, "GET", "/api/2.0/mlflow/model-versions/list-artifacts", params=v)
        assert got.status_code == 200, (source, got.text)
        assert "MLmodel" in {f["path"] for f in got.json()["files"]}, (source, got.text)
    r = api(legacy, "GET", "/api/2.0/mlflow/model-versions/list-artifacts",
            params={"name": "doubler", "version": "7"})
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    r = requests.get(legacy.url + "/api/2.0/mlflow/model-versions/list-artifacts",
                     params=mv, timeout=30)
    assert r.status_code == 401
    # a Unity Catalog model version's file: the Files API's, not DBFS's
    assert api(legacy, "POST", UCM + "registered-models/create",
               json={"name": "main.default.m"}).status_code == 200
    assert api(legacy, "POST", UCM + "model-versions/create",
               json={"name": "main.default.m", "source": "models:/m-1"}).status_code == 200
    path = "/Models/main/default/m/1/MLmodel"
    assert api(legacy, "PUT", "/api/2.0/fs/files" + path, data=b"uc").status_code == 204
    r = api(legacy, "GET", "/api/2.0/dbfs/get-status", params={"path": path})
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")

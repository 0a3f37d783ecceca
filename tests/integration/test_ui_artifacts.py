"""A run's artifacts in the MLflow UI and API through workspace-emu: the
example project logs metrics.json from its job to dbfs:/ (as on
Databricks); the tracking server cannot read DBFS itself, so the emulator
answers the artifact list and download endpoints from its storage. A real
headless browser (Chromium) renders the run's Artifacts tab: the file is
listed and its content previewed, and a screenshot is kept."""

import base64
import json
import os
import shutil
import subprocess
import sys

import pytest
import requests

from dbmlops_testenv import BIN, TOP, Emu, build_example_wheel

AUTH = {"Authorization": "Bearer " + Emu.TOKEN}


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("no Chromium: make check installs it (scripts/deps-sys.sh "
                         "--check); install the chromium package")


@pytest.fixture(scope="module")
def run(mlflow_server, tmp_path_factory):
    """The example project run as a job: (emulator, experiment id, MLflow
    run id, the metrics it logged)."""
    d = tmp_path_factory.mktemp("ui")
    e = Emu(mlflow_url=mlflow_server.url).start()
    whl = build_example_wheel(str(d / "dist"))
    up = subprocess.run([os.path.join(BIN, "dbfs-put"), "-q", "-c", whl, "dbfs:/wheels/ui/"],
                        env=e.env(), capture_output=True, text=True, check=True).stdout
    proj = d / "project"
    shutil.copytree(os.path.join(TOP, "templates", "project"), proj)
    subprocess.run([os.path.join(BIN, "wheelpath-subst"), "-i", str(proj / "conda.yaml"),
                    str(proj / "cluster.json")], input=up, text=True, check=True)
    r = subprocess.run([os.path.join(BIN, "mlflow-submit"), "--json", "--experiment-name",
                        "/Shared/ui", "-c", str(proj / "cluster.json"), str(proj)],
                       env=e.env(DBMLOPS_POLL_MAX="1"), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    got = requests.get(e.url + "/api/2.0/mlflow/runs/get", headers=AUTH, timeout=30,
                       params={"run_id": out["mlflow_run_id"]}).json()["run"]
    metrics = {x["key"]: x["value"] for x in got["data"]["metrics"]}
    yield e, out["experiment_id"], out["mlflow_run_id"], metrics
    e.cleanup()


def test_artifact_endpoints(run):
    e, _, rid, metrics = run
    basic = {"Authorization": "Basic " + base64.b64encode(
        ("token:" + Emu.TOKEN).encode()).decode()}
    for path, headers in (("/api/2.0/mlflow/artifacts/list", AUTH),
                          ("/ajax-api/2.0/mlflow/artifacts/list", basic)):
        r = requests.get(e.url + path, params={"run_id": rid}, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["root_uri"].startswith("dbfs:/mlflow-artifacts/")
        assert {"path": "metrics.json", "is_dir": False,
                "file_size": len(json.dumps(metrics, indent=2))} in doc["files"]
    # the UI's routes ask a browser for a login, and take a token as one
    r = requests.get(e.url + "/get-artifact", params={"path": "metrics.json",
                                                     "run_uuid": rid}, timeout=30)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith('Basic realm="workspace-emu"')
    r = requests.get(e.url + "/get-artifact", params={"path": "metrics.json",
                                                     "run_uuid": rid}, timeout=30,
                     auth=("token", Emu.TOKEN))
    assert r.status_code == 200
    assert json.loads(r.text) == metrics
    assert r.headers["Content-Disposition"] == 'attachment; filename="metrics.json"'
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # the API needs a token as the rest of the workspace does
    r = requests.get(e.url + "/api/2.0/mlflow/artifacts/list", params={"run_id": rid},
                     timeout=30)
    assert r.status_code == 401
    # MLflow's own path rules
    for bad in ("../../../emu.key", "/etc/passwd", "a/../../b"):
        r = requests.get(e.url + "/get-artifact", params={"path": bad, "run_uuid": rid},
                         timeout=30, auth=("token", Emu.TOKEN))
        assert r.status_code == 400 and r.json()["message"] == "Invalid path", bad
    r = requests.get(e.url + "/get-artifact", params={"path": "nope.txt", "run_uuid": rid},
                     timeout=30, auth=("token", Emu.TOKEN))
    assert r.status_code == 404
    # the official client, reading the same artifacts through the DBFS API
    code = ("import mlflow, json, sys; c = mlflow.MlflowClient(); "
            "print(json.dumps([f.path for f in c.list_artifacts(sys.argv[1])]))")
    p = subprocess.run([sys.executable, "-c", code, rid],
                       env=e.env(MLFLOW_TRACKING_URI="databricks"),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == ["metrics.json"]


def test_artifacts_tab_in_a_browser(run, tmp_path):
    e, eid, rid, metrics = run
    # the browser logs in as a user does (user name token, a token as the
    # password), on the run link MLflow prints, which leads to the UI
    login = e.url.replace("://", "://token:%s@" % Emu.TOKEN, 1)
    url = "%s/ml/experiments/%s/runs/%s/artifacts/metrics.json" % (login, eid, rid)
    args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--virtual-time-budget=30000",
            "--window-size=1400,900", "--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(args + ["--dump-dom", url], capture_output=True, text=True,
                         timeout=180).stdout
    assert "metrics.json" in dom, dom[-2000:]
    assert repr(metrics["rmse"]) in dom         # the preview: the file's content
    assert "Failed to get credentials" not in dom
    shots = os.path.join(TOP, "build", "test-artifacts")
    os.makedirs(shots, exist_ok=True)
    shot = os.path.join(shots, "mlflow-artifacts-tab.png")
    subprocess.run(args + ["--screenshot=" + shot, url], capture_output=True,
                   timeout=180, check=True)
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(shot) > 20000

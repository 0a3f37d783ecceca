"""mlflow-submit on an all-purpose cluster (--cluster-id): the example
project runs there in both modes; a terminated cluster is an error and no
run without --start-cluster, and is started and waited for with it."""

import json
import os
import shutil
import subprocess

import pytest
import requests

from dbmlops_testenv import BIN, TOP, Emu, build_example_wheel

SUBMIT = os.path.join(BIN, "mlflow-submit")


@pytest.fixture(scope="module")
def ws(mlflow_server):
    e = Emu(mlflow_url=mlflow_server.url, extra=["--cluster", "0101-warm:RUNNING:team warm",
                                     "--cluster", "0101-cold:TERMINATED",
                                     "--cluster", "0101-pip:RUNNING"]).start()
    yield e
    e.cleanup()


@pytest.fixture(scope="module")
def project(ws, tmp_path_factory):
    d = tmp_path_factory.mktemp("c")
    whl = build_example_wheel(str(d / "dist"))
    up = subprocess.run([os.path.join(BIN, "dbfs-put"), "-q", "-c", whl,
                         "dbfs:/wheels/clusters/"], env=ws.env(), capture_output=True,
                        text=True, check=True).stdout
    proj = d / "project"
    shutil.copytree(os.path.join(TOP, "templates", "project"), proj)
    subprocess.run([os.path.join(BIN, "wheelpath-subst"), "-i", str(proj / "conda.yaml"),
                    str(proj / "cluster.json")], input=up, text=True, check=True)
    # the libraries of the config, without its cluster
    libs = json.loads((proj / "cluster.json").read_text())["libraries"]
    (proj / "libs.json").write_text(json.dumps({"libraries": libs}))
    return proj


def submit(ws, project, *args):
    return subprocess.run([SUBMIT, "--json", "--experiment-name", "/Shared/clusters",
                           *args, str(project)], env=ws.env(DBMLOPS_POLL_MAX="1"),
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("mode", ["shell", "python"])
def test_runs_on_a_running_cluster(ws, project, mode):
    r = submit(ws, project, "--cluster-id", "0101-warm", "-c", str(project / "libs.json"),
               "--mode", mode)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "trained with dbmlops_example" in out["logs"]
    task = out["job_spec"]["tasks"][0] if mode == "python" else out["job_spec"]
    assert task["existing_cluster_id"] == "0101-warm" and "new_cluster" not in task
    # shell mode pins mlflow to the tested version, as MLflow's backend does
    pin = "mlflow" if mode == "python" else "mlflow==" + mlflow_version()
    assert {"pypi": {"package": pin}} in task["libraries"]


def test_auto_mode_from_the_clusters_runtime(ws, project):
    r = submit(ws, project, "--cluster-id", "0101-warm", "-c", str(project / "libs.json"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["mode"] == "python"     # 15.4: runtime 13+


def test_terminated_cluster_needs_start_cluster(ws, project):
    n = len([x for x in ws.requests() if x["path"].endswith("runs/submit")])
    r = submit(ws, project, "--cluster-id", "0101-cold", "-c", str(project / "libs.json"))
    assert r.returncode == 2
    assert "cluster 0101-cold is TERMINATED: start it, or give --start-cluster" in r.stderr
    assert len([x for x in ws.requests() if x["path"].endswith("runs/submit")]) == n
    r = submit(ws, project, "--cluster-id", "0101-cold", "--start-cluster",
               "-c", str(project / "libs.json"))
    assert r.returncode == 0, r.stderr
    assert "waiting for it to run" in r.stderr
    state = requests.get(ws.url + "/api/2.0/clusters/get", params={"cluster_id": "0101-cold"},
                         headers={"Authorization": "Bearer " + Emu.TOKEN}, timeout=30).json()
    assert state["state"] == "RUNNING"


def test_unknown_cluster_and_excluded_configs(ws, project):
    r = submit(ws, project, "--cluster-id", "0101-none", "-c", str(project / "libs.json"))
    assert r.returncode == 2 and "Cluster 0101-none does not exist" in r.stderr
    r = submit(ws, project, "--cluster-id", "0101-warm", "-c", str(project / "cluster.json"))
    assert r.returncode == 2 and "exclude each other" in r.stderr
    s = requests.post(ws.url + "/api/2.0/clusters/start", json={"cluster_id": "0101-warm"},
                      headers={"Authorization": "Bearer " + Emu.TOKEN}, timeout=30)
    assert s.status_code == 400 and s.json()["error_code"] == "INVALID_STATE"
    lst = requests.get(ws.url + "/api/2.0/clusters/list",
                       headers={"Authorization": "Bearer " + Emu.TOKEN}, timeout=30).json()
    assert {c["cluster_id"] for c in lst["clusters"]} == {"0101-warm", "0101-cold", "0101-pip"}


def test_pip_reason_in_the_clusters_library_status(ws, project, tmp_path):
    """A run's library that pip cannot install on an all-purpose cluster:
    pip's reason is in the run's state message and, as the service shows
    it, in libraries/cluster-status for that library (FAILED), not for the
    others the run brought."""
    libs = json.loads((project / "libs.json").read_text())["libraries"]
    bad = {"pypi": {"package": "Dbmlops_Example["}}      # no index asked
    (tmp_path / "bad.json").write_text(json.dumps({"libraries": libs + [bad]}))
    r = submit(ws, project, "--cluster-id", "0101-pip", "-c", str(tmp_path / "bad.json"))
    assert r.returncode == 5, r.stderr
    assert "Invalid requirement: 'Dbmlops_Example['" in r.stderr, r.stderr
    st = requests.get(ws.url + "/api/2.0/libraries/cluster-status",
                      params={"cluster_id": "0101-pip"},
                      headers={"Authorization": "Bearer " + Emu.TOKEN}, timeout=30).json()
    by = {json.dumps(s["library"], sort_keys=True): s for s in st["library_statuses"]}
    failed = by[json.dumps(bad, sort_keys=True)]
    assert failed["status"] == "FAILED"
    assert "Invalid requirement: 'Dbmlops_Example['" in failed["messages"][0]
    assert failed["messages"][0].startswith("Library installation failed for library "
                                            "due to user error")
    others = [s for k, s in by.items() if k != json.dumps(bad, sort_keys=True)]
    assert others and all(s["status"] == "INSTALLED" for s in others), others


def test_make_include_knob(ws, tmp_path):
    """DBMLOPS_CLUSTER_ID picks the target with one knob."""
    import sys
    repo = tmp_path / "repo"
    shutil.copytree(os.path.join(TOP, "templates"), repo / "templates",
                    ignore=shutil.ignore_patterns(".dbmlops", "ci"))
    shutil.copytree(os.path.join(TOP, "mk"), repo / "mk")
    r = subprocess.run(["make", "-C", str(repo / "templates"), "train",
                        "DBMLOPS_BIN=" + BIN + "/", "DBMLOPS_PYTHON=" + sys.executable,
                        "DBMLOPS_CLUSTER_ID=0101-warm", "DBMLOPS_SUBMIT_FLAGS=--json"],
                       env=ws.env(DBMLOPS_POLL_MAX="1", DBMLOPS_BRANCH="main"),
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = json.loads(r.stdout[r.stdout.index("{\"exit_code\""):].splitlines()[0])
    assert out["result_state"] == "SUCCESS"
    spec = out["job_spec"]
    task = spec["tasks"][0] if "tasks" in spec else spec
    assert task["existing_cluster_id"] == "0101-warm"


def mlflow_version():
    import mlflow
    return mlflow.__version__

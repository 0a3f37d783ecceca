"""MLflow's tracking client (tracking URI "databricks") through
workspace-emu's proxy to a real MLflow server."""

import base64
import subprocess
import sys
import textwrap
import urllib.error


def test_experiment_run_params_metrics(emu):
    script = textwrap.dedent("""
        import mlflow
        from mlflow.tracking import MlflowClient
        mlflow.set_tracking_uri("databricks")
        # as on a real workspace, the experiment's folder must exist
        from databricks.sdk import WorkspaceClient
        WorkspaceClient().workspace.mkdirs("/Shared/conformance")
        exp = mlflow.set_experiment("/Shared/conformance/tracking")
        with mlflow.start_run() as run:
            mlflow.log_param("alpha", "0.5")
            for step in range(3):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.set_tag("k", "v")
        c = MlflowClient()
        got = c.get_run(run.info.run_id)
        assert got.data.params == {"alpha": "0.5"}, got.data.params
        assert got.data.tags["k"] == "v"
        hist = [m.value for m in c.get_metric_history(run.info.run_id, "loss")]
        assert hist == [1.0, 0.5, 1.0 / 3], hist
        assert got.info.status == "FINISHED"
        e = c.get_experiment_by_name("/Shared/conformance/tracking")
        assert e.experiment_id == exp.experiment_id
        print("OK", run.info.run_id)
    """)
    r = subprocess.run([sys.executable, "-c", script], env=emu.env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    ok = [l for l in r.stdout.splitlines() if l.startswith("OK ")]
    assert ok, r.stdout
    run_id = ok[0].split()[1]
    # the run link MLflow prints leads to the run in the proxied UI
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(urllib.request.Request(
            f"{emu.url}/ml/experiments/1/runs/{run_id}",
            headers={"Authorization": "Bearer " + emu.TOKEN}), timeout=30)
        assert False, "no redirect"
    except urllib.error.HTTPError as e:
        assert e.code == 302
        assert e.headers["Location"] == f"{emu.url}/#/experiments/1/runs/{run_id}"
    paths = {q["path"] for q in emu.requests()}
    assert "/api/2.0/mlflow/runs/log-metric" in paths or \
        "/api/2.0/mlflow/runs/log-batch" in paths


def test_ui_is_served(emu):
    import urllib.error
    import urllib.request
    # a browser is asked to log in (user name token, a token as password)
    try:
        urllib.request.urlopen(emu.url + "/", timeout=30)
        assert False, "the UI answered without credentials"
    except urllib.error.HTTPError as e:
        assert e.code == 401 and e.headers["WWW-Authenticate"].startswith("Basic ")
    req = urllib.request.Request(emu.url + "/", headers={"Authorization": "Basic " + (
        base64.b64encode(("token:" + emu.TOKEN).encode()).decode())})
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
    assert r.status == 200 and b"<html" in body.lower()


def test_tracking_needs_a_token(emu):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(emu.url + "/api/2.0/mlflow/experiments/search",
                                 data=b'{"max_results": 1}', method="POST")
    try:
        urllib.request.urlopen(req, timeout=30)
        assert False, "answered without credentials"
    except urllib.error.HTTPError as e:
        assert e.code == 401


def test_ui_backend_calls_reach_mlflow(emu):
    """The UI calls more than /ajax-api (its /graphql endpoint, assets):
    every non-API path goes to the MLflow server."""
    import json as _json
    import urllib.request
    req = urllib.request.Request(
        emu.url + "/graphql", method="POST",
        data=_json.dumps({"query": "{ __typename }"}).encode(),
        headers={"Content-Type": "application/json",
                 "Authorization": "Bearer " + emu.TOKEN})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read().decode()
    except urllib.error.HTTPError as e:
        body = e.read().decode()
    assert "ENDPOINT_NOT_FOUND" not in body and "No API found" not in body

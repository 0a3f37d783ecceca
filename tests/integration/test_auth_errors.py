"""Authentication failures as the official clients report them, with one
exit status (77) in every tool, and transport retries that say so and stop
within their budget."""

import os
import select
import socket
import subprocess
import time

from dbmlops_testenv import BIN, Emu

PUT = os.path.join(BIN, "dbfs-put")
SUBMIT = os.path.join(BIN, "mlflow-submit")


def test_refused_token_names_its_source_never_the_secret(emu_plain, tmp_path):
    f = tmp_path / "w.whl"
    f.write_bytes(b"x")
    env = emu_plain.env(DATABRICKS_TOKEN="dapi-wrong-secret-123")
    r = subprocess.run([PUT, str(f), "dbfs:/auth/"], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 77, r.stderr
    assert "403 PERMISSION_DENIED: Invalid access token." in r.stderr
    assert "auth pat. Config: host=%s, token=***" % emu_plain.url in r.stderr
    assert "Env: DATABRICKS_HOST, DATABRICKS_TOKEN" in r.stderr
    assert "dapi-wrong-secret-123" not in r.stderr + r.stdout


def test_profile_settings_are_named(emu_plain, tmp_path):
    cfg = tmp_path / "cfg"
    cfg.write_text("[ci]\nhost = %s\ntoken = dapi-also-wrong\n" % emu_plain.url)
    env = {k: v for k, v in emu_plain.env().items()
           if k not in ("DATABRICKS_HOST", "DATABRICKS_TOKEN")}
    env.update(DATABRICKS_CONFIG_FILE=str(cfg), DATABRICKS_CONFIG_PROFILE="ci")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "MLproject").write_text("name: p\nentry_points:\n  main:\n"
                                              "    command: 'true'\n")
    r = subprocess.run([SUBMIT, "-c", '{"spark_version": "15.4.x", "node_type_id": "x", '
                        '"num_workers": 1}', "--experiment-name", "/Shared/auth",
                        str(tmp_path / "p")], env=env, capture_output=True, text=True)
    assert r.returncode == 77, r.stderr
    assert "profile=ci, config_file=%s" % cfg in r.stderr
    assert "Env: DATABRICKS_CONFIG_FILE" not in r.stderr      # not a setting
    assert "dapi-also-wrong" not in r.stderr


def test_no_credentials_and_two_methods(emu_plain, tmp_path):
    base = {k: v for k, v in emu_plain.env().items() if k != "DATABRICKS_TOKEN"}
    f = tmp_path / "w.whl"
    f.write_bytes(b"x")
    r = subprocess.run([PUT, str(f), "dbfs:/auth/"], env=base, capture_output=True,
                       text=True)
    assert r.returncode == 77 and "cannot configure default credentials" in r.stderr
    both = dict(base, DATABRICKS_TOKEN="dapi-x", DATABRICKS_CLIENT_ID="c",
                DATABRICKS_CLIENT_SECRET="s3cret-value")
    r = subprocess.run([PUT, str(f), "dbfs:/auth/"], env=both, capture_output=True,
                       text=True)
    assert r.returncode == 77
    assert "more than one authorization method configured: oauth and pat" in r.stderr
    assert "client_secret=***" in r.stderr and "s3cret-value" not in r.stderr


def put_env(tmp_path, port, budget):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env.update(DATABRICKS_HOST="http://127.0.0.1:%d" % port, DATABRICKS_TOKEN="dapi-x",
               DBMLOPS_RETRY_TIMEOUT=str(budget), DBMLOPS_RETRY_BACKOFF="0.5",
               HOME=str(tmp_path), DATABRICKS_CONFIG_FILE=str(tmp_path / "none"),
               DBMLOPS_WORKSPACE="legacy")     # a DBFS destination is sent
    return env


def test_retries_say_so(tmp_path):
    """Nothing listens: each retry is a line on stderr naming what failed,
    the wait and the budget left."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    f = tmp_path / "w.whl"
    f.write_bytes(b"x")
    r = subprocess.run([PUT, "-q", str(f), "dbfs:/auth/"], env=put_env(tmp_path, port, 3),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    retries = [ln for ln in r.stderr.splitlines() if ": retry " in ln]
    assert len(retries) >= 2, r.stderr
    assert "of the 3s retry budget left" in retries[0]
    assert "dapi-x" not in r.stderr


def test_a_host_that_refuses_every_connection_fails_soon(tmp_path):
    """Nothing listens, with the default 300 s budget: a wrong URL or a
    server not started is said after some 20 s, not five minutes, with
    what to check."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    f = tmp_path / "w.whl"
    f.write_bytes(b"x")
    env = put_env(tmp_path, 0, 300)
    env["DATABRICKS_HOST"] = "http://127.0.0.1:%d" % port
    del env["DBMLOPS_RETRY_TIMEOUT"], env["DBMLOPS_RETRY_BACKOFF"]
    t = time.monotonic()
    r = subprocess.run([PUT, "-q", str(f), "dbfs:/auth/"], env=env,
                       capture_output=True, text=True, timeout=120)
    took = time.monotonic() - t
    assert r.returncode == 1, r.stderr
    assert 10 < took < 35, (took, r.stderr)
    assert "the host has not answered once: is it the workspace's URL" in r.stderr


def test_a_silent_network_ends_within_the_budget(tmp_path):
    """A server whose accept queue is full drops new connections: each
    connect hangs. The run still ends within its 5 s budget; it used to
    wait out a 30 s connect timeout per attempt."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(8):          # fill the accept queue (nothing accepts)
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    # the queue holds the first of them: wait until that one is connected
    _, writable, _ = select.select([], fillers[:1], [], 10)
    assert writable, "the accept queue never took a connection"
    f = tmp_path / "w.whl"
    f.write_bytes(b"x")
    t = time.monotonic()
    r = subprocess.run([PUT, "-q", str(f), "dbfs:/auth/"], env=put_env(tmp_path, port, 5),
                       capture_output=True, text=True, timeout=120)
    took = time.monotonic() - t
    for c in fillers:
        c.close()
    srv.close()
    assert r.returncode == 1, r.stderr
    assert took < 5 + 3, (took, r.stderr)

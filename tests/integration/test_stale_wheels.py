"""mlflow-submit on an all-purpose cluster that holds another build of a
wheel the run brings (the same name and version from another path): the
cluster would run the installed build, so mlflow-submit says so and stops
(exit 2, nothing submitted), restarts the cluster first with
--restart-cluster, or runs with a warning with --allow-stale."""

import json
import os
import subprocess
import textwrap

import pytest

from dbmlops_testenv import BIN, Emu, tiny_wheel

SUBMIT = os.path.join(BIN, "mlflow-submit")
CLUSTER = "0101-stale"


@pytest.fixture(scope="module")
def ws(mlflow_server):
    e = Emu(mlflow_url=mlflow_server.url, extra=["--cluster", CLUSTER + ":RUNNING"]).start()
    yield e
    e.cleanup()


@pytest.fixture(scope="module")
def builds(ws, tmp_path_factory):
    """Two builds of stalepkg 1.0, uploaded with dbfs-put; and a project
    for each that names its build only in the conda env."""
    d = tmp_path_factory.mktemp("stale")
    out = {}
    for mark in ("first", "second"):
        local = d / mark / "stalepkg-1.0-py3-none-any.whl"
        local.parent.mkdir()
        tiny_wheel(str(local), mark)
        up = subprocess.run([os.path.join(BIN, "dbfs-put"), "-q", "-c", str(local),
                             "dbfs:/stale-builds/"], env=ws.env(), capture_output=True,
                            text=True, check=True).stdout.strip()
        proj = d / ("project " + mark)
        proj.mkdir()
        (proj / "MLproject").write_text(textwrap.dedent("""\
            name: stale
            conda_env: environment.yml
            entry_points:
              main:
                command: python show.py
            """))
        (proj / "environment.yml").write_text(textwrap.dedent(f"""\
            name: stale
            dependencies:
              - python=3.11
              - pip
              - pip:
                - {up}
            """))
        (proj / "show.py").write_text("import stalepkg\nprint('mark', stalepkg.MARK)\n")
        out[mark] = (up, proj)
    return out


def submit(ws, project, *args):
    return subprocess.run([SUBMIT, "--json", "--experiment-name", "/Shared/stale",
                           "--cluster-id", CLUSTER, *args, str(project)],
                          env=ws.env(DBMLOPS_POLL_MAX="1"), capture_output=True, text=True,
                          timeout=600)


def submits(ws):
    return len([x for x in ws.requests() if x["path"].endswith("runs/submit")])


def test_stale_build_is_caught(ws, builds):
    first, second = builds["first"], builds["second"]
    r = submit(ws, first[1])
    assert r.returncode == 0, r.stderr
    assert "mark first" in json.loads(r.stdout)["logs"]
    # the second build: the cluster would run the first
    n = submits(ws)
    r = submit(ws, second[1])
    assert r.returncode == 2, r.stderr
    def uri(p):
        return "dbfs:" + p[5:] if p.startswith("/dbfs/") else p
    assert ("stalepkg 1.0 is installed from %s: the run would use it, not %s"
            % (uri(first[0]), uri(second[0]))) in r.stderr, r.stderr
    assert "--restart-cluster" in r.stderr and submits(ws) == n      # nothing sent
    # --allow-stale: it runs, and it is the stale build that runs
    r = submit(ws, second[1], "--allow-stale")
    assert r.returncode == 0, r.stderr
    assert "(--allow-stale)" in r.stderr and "mark first" in json.loads(r.stdout)["logs"]
    # --restart-cluster: restarted, then the new build runs
    r = submit(ws, second[1], "--restart-cluster")
    assert r.returncode == 0, r.stderr
    assert "restarting it" in r.stderr
    assert "mark second" in json.loads(r.stdout)["logs"]
    # and the same build again needs nothing
    r = submit(ws, second[1])
    assert r.returncode == 0, r.stderr


def test_options_go_with_cluster_id():
    for args, msg in ((["--restart-cluster"], "--restart-cluster goes with --cluster-id"),
                      (["--cluster-id", "x", "--restart-cluster", "--allow-stale"],
                       "exclude each other")):
        r = subprocess.run([SUBMIT, "-c", "c.json", *args, "."], capture_output=True,
                           text=True)
        assert r.returncode == 2 and msg in r.stderr, r.stderr

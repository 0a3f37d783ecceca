"""The Command Execution API 1.2 through databricks-sdk
(w.command_execution): Python run in an execution context on an
all-purpose cluster, in the cluster's environment, its state kept from one
command to the next as in a notebook; errors and cancels in the service's
shapes."""

import io
import time

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, InvalidState
from databricks.sdk.service import compute

from dbmlops_testenv import Emu, tiny_wheel

CLUSTER = "0101-000000-emu"      # the conftest's running cluster


@pytest.fixture
def w(clean_env):
    return WorkspaceClient(host=clean_env.url, token=Emu.TOKEN, auth_type="pat")


def run(w, ctx, command):
    return w.command_execution.execute(cluster_id=CLUSTER, context_id=ctx,
                                       language=compute.Language.PYTHON,
                                       command=command).result()


def test_a_context_keeps_its_state(w, tmp_path):
    whl = tmp_path / "stalepkg-1.0-py3-none-any.whl"
    tiny_wheel(str(whl), "from the cluster")
    with open(whl, "rb") as f:
        w.dbfs.upload("/cmd/" + whl.name, f, overwrite=True)
    w.libraries.install(CLUSTER, [compute.Library(whl="dbfs:/cmd/" + whl.name)])
    ctx = w.command_execution.create(cluster_id=CLUSTER,
                                     language=compute.Language.PYTHON).result()
    assert ctx.status == compute.ContextStatus.RUNNING
    r = run(w, ctx.id, "x = 20\nprint('set')")
    assert r.status == compute.CommandStatus.FINISHED
    assert r.results.result_type == compute.ResultType.TEXT and r.results.data == "set"
    r = run(w, ctx.id, "x * 2 + 2")          # the last expression is shown
    assert r.results.data == "42"
    r = run(w, ctx.id, "import stalepkg\nstalepkg.MARK")      # the cluster's library
    assert r.results.data == "'from the cluster'"
    r = run(w, ctx.id, "1 / 0")
    assert r.status == compute.CommandStatus.FINISHED
    assert r.results.result_type == compute.ResultType.ERROR
    assert r.results.summary == "ZeroDivisionError: division by zero"
    assert "Traceback" in r.results.cause
    assert run(w, ctx.id, "x").results.data == "20"       # an error keeps the state
    # a long command, cancelled
    cmd = w.command_execution.execute(cluster_id=CLUSTER, context_id=ctx.id,
                                      language=compute.Language.PYTHON,
                                      command="import time\ntime.sleep(300)")
    deadline = time.time() + 30
    while w.command_execution.command_status(cluster_id=CLUSTER, context_id=ctx.id,
                                             command_id=cmd.command_id).status != \
            compute.CommandStatus.RUNNING and time.time() < deadline:
        time.sleep(0.1)
    t0 = time.time()
    done = w.command_execution.cancel(cluster_id=CLUSTER, context_id=ctx.id,
                                      command_id=cmd.command_id).result()
    assert done.status == compute.CommandStatus.CANCELLED and time.time() - t0 < 20
    assert run(w, ctx.id, "x + 1").results.data == "21"   # the context lives on
    w.command_execution.destroy(cluster_id=CLUSTER, context_id=ctx.id)
    with pytest.raises(InvalidParameterValue, match="does not exist"):
        w.command_execution.context_status(cluster_id=CLUSTER, context_id=ctx.id)


def test_refusals(w):
    with pytest.raises(InvalidParameterValue, match="does not exist"):
        w.command_execution.create(cluster_id="no-such", language=compute.Language.PYTHON)
    with pytest.raises(InvalidParameterValue, match="python"):
        w.command_execution.create(cluster_id=CLUSTER, language=compute.Language.SCALA)
    c = w.clusters.create(cluster_name="cmd off", spark_version="15.4.x-scala2.12",
                          node_type_id="m5d.large", num_workers=1).result()
    w.clusters.delete(c.cluster_id).result()
    with pytest.raises(InvalidState):
        w.command_execution.create(cluster_id=c.cluster_id, language=compute.Language.PYTHON)

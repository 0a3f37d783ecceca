"""Secret scopes and secrets (databricks-sdk w.secrets), and the
{{secrets/<scope>/<key>}} references a job's cluster resolves in its
spark_env_vars: what CI pipelines use to hand a training run its
credentials without writing them into the job."""

import base64
import hashlib
import io
import os

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import (BadRequest, InvalidParameterValue, ResourceAlreadyExists,
                                   ResourceDoesNotExist)
from databricks.sdk.service import compute, jobs

from dbmlops_testenv import Emu

VALUE = "s3cr3t-value-\u00e9-" + "x" * 40
ENV_PY = """\
import hashlib, os
v = os.environ.get("TRAINING_TOKEN", "")
print("sha256", hashlib.sha256(v.encode()).hexdigest(), "plain", os.environ.get("PLAIN"))
"""


@pytest.fixture
def w(clean_env):
    return WorkspaceClient(host=clean_env.url, token=Emu.TOKEN, auth_type="pat")


def test_scopes_and_secrets(w):
    w.secrets.create_scope("ci-scope.one")
    assert "ci-scope.one" in [s.name for s in w.secrets.list_scopes()]
    with pytest.raises(ResourceAlreadyExists, match="Scope ci-scope.one already exists!"):
        w.secrets.create_scope("ci-scope.one")
    w.secrets.put_secret("ci-scope.one", "token", string_value=VALUE)
    raw = bytes(range(256))
    w.secrets.put_secret("ci-scope.one", "blob",
                         bytes_value=base64.b64encode(raw).decode())
    assert sorted(s.key for s in w.secrets.list_secrets("ci-scope.one")) == ["blob", "token"]
    got = w.secrets.get_secret("ci-scope.one", "token")
    assert got.key == "token" and base64.b64decode(got.value).decode() == VALUE
    assert base64.b64decode(w.secrets.get_secret("ci-scope.one", "blob").value) == raw
    w.secrets.put_secret("ci-scope.one", "token", string_value="second")    # overwrite
    assert base64.b64decode(w.secrets.get_secret("ci-scope.one", "token").value) == b"second"
    w.secrets.delete_secret("ci-scope.one", "blob")
    with pytest.raises(ResourceDoesNotExist):
        w.secrets.get_secret("ci-scope.one", "blob")
    with pytest.raises(ResourceDoesNotExist):
        w.secrets.delete_secret("ci-scope.one", "blob")
    # scope names are case-insensitive (the secret scopes page), kept as given
    w.secrets.create_scope("CI-Case")
    with pytest.raises(ResourceAlreadyExists):
        w.secrets.create_scope("ci-case")
    w.secrets.put_secret("ci-CASE", "k", string_value="v")
    assert [s.key for s in w.secrets.list_secrets("CI-Case")] == ["k"]
    assert [s.name for s in w.secrets.list_scopes() if s.name.lower() == "ci-case"] == ["CI-Case"]
    w.secrets.delete_scope("ci-case")
    w.secrets.delete_scope("ci-scope.one")
    with pytest.raises(ResourceDoesNotExist, match="Scope ci-scope.one does not exist!"):
        list(w.secrets.list_secrets("ci-scope.one"))
    with pytest.raises(ResourceDoesNotExist):
        w.secrets.put_secret("ci-scope.one", "k", string_value="v")


@pytest.mark.parametrize("scope, key, kw", [
    ("bad scope", None, {}),
    ("s" * 129, None, {}),
    ("ok-scope", "../escape", {"string_value": "v"}),
    ("ok-scope", "k", {}),                                   # no value
    ("ok-scope", "k", {"string_value": "v", "bytes_value": "dg=="}),
    ("ok-scope", "k", {"string_value": "v" * (128 * 1024 + 1)}),
])
def test_refusals(w, scope, key, kw):
    if key is None:
        with pytest.raises(InvalidParameterValue):
            w.secrets.create_scope(scope)
        return
    try:
        w.secrets.create_scope(scope)
    except ResourceAlreadyExists:
        pass
    with pytest.raises(InvalidParameterValue):
        w.secrets.put_secret(scope, key, **kw)
    assert not [s for s in w.secrets.list_secrets(scope) if s.key == key]


def run_env_job(w, env):
    w.dbfs.upload("/secrets-test/env.py", io.BytesIO(ENV_PY.encode()), overwrite=True)
    return w.jobs.submit(run_name="secret env", tasks=[jobs.SubmitTask(
        task_key="t", new_cluster=compute.ClusterSpec(
            spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1,
            spark_env_vars=env),
        spark_python_task=jobs.SparkPythonTask(python_file="dbfs:/secrets-test/env.py"))])


def test_job_reads_a_secret_through_spark_env_vars(w, emu):
    w.secrets.create_scope("training")
    w.secrets.put_secret("training", "api-token", string_value=VALUE)
    run = run_env_job(w, {"TRAINING_TOKEN": "{{secrets/training/api-token}}",
                          "PLAIN": "visible"}).result()
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
    logs = w.jobs.get_run_output(run.tasks[0].run_id).logs
    assert "sha256 " + hashlib.sha256(VALUE.encode()).hexdigest() in logs
    assert "plain visible" in logs
    # the run keeps the reference, not the value
    assert w.jobs.get_run(run.run_id).tasks[0].new_cluster.spark_env_vars[
        "TRAINING_TOKEN"] == "{{secrets/training/api-token}}"
    # a reference that does not resolve: the cluster does not start
    with pytest.raises(Exception) as exc:
        run_env_job(w, {"TRAINING_TOKEN": "{{secrets/training/missing}}"}).result()
    assert "SECRET_RESOLUTION_ERROR" in str(exc.value)
    assert "scope: training and key: missing" in str(exc.value)
    # the value is nowhere but in its secret: not in the request log, the
    # emulator's output or any record of the runs
    needle = VALUE.encode()
    for top, _, files in os.walk(emu.dir):
        if os.path.join("data", "secrets") in top:
            continue
        for f in files:
            with open(os.path.join(top, f), "rb") as fh:
                assert needle not in fh.read(), os.path.join(top, f)
    secret_files = [os.path.join(t, f) for t, _, fs in os.walk(os.path.join(emu.data, "secrets"))
                    for f in fs]
    assert secret_files and all(os.stat(p).st_mode & 0o077 == 0 for p in secret_files)


def test_acls_and_what_they_allow(w, clean_env):
    """Secret ACLs through the SDK (put_acl, get_acl, list_acls,
    delete_acl): the creator has MANAGE; a service principal has what the
    ACL gives it (READ lists, WRITE puts, MANAGE changes the ACL), and is
    refused the rest in the service's words; a value is read through the
    API by the admin only (get_secret: "can only be called from the
    DBUtils interface")."""
    from databricks.sdk.errors import PermissionDenied
    from databricks.sdk.service.workspace import AclPermission
    me = w.current_user.me().user_name
    sp = WorkspaceClient(host=clean_env.url, client_id=Emu.CLIENT_ID,
                         client_secret=Emu.CLIENT_SECRET, auth_type="oauth-m2m")
    who = sp.current_user.me().user_name
    w.secrets.create_scope("acl-scope")
    w.secrets.put_secret("acl-scope", "token", string_value=VALUE)
    assert [(a.principal, a.permission) for a in w.secrets.list_acls("acl-scope")] == \
        [(me, AclPermission.MANAGE)]
    denied = f"{who} does not have READ permission on scope acl-scope to perform this action."
    with pytest.raises(PermissionDenied, match=denied):
        list(sp.secrets.list_secrets("acl-scope"))
    w.secrets.put_acl("acl-scope", who, AclPermission.READ)
    assert [s.key for s in sp.secrets.list_secrets("acl-scope")] == ["token"]
    # a value is read on a cluster (dbutils), not through the API by a non-admin
    with pytest.raises(BadRequest, match="within a command on a cluster"):
        sp.secrets.get_secret("acl-scope", "token")
    with pytest.raises(PermissionDenied, match="does not have WRITE permission"):
        sp.secrets.put_secret("acl-scope", "other", string_value="x")
    with pytest.raises(PermissionDenied, match="does not have MANAGE permission"):
        sp.secrets.put_acl("acl-scope", who, AclPermission.MANAGE)
    w.secrets.put_acl("acl-scope", who, AclPermission.WRITE)       # overwrites
    assert w.secrets.get_acl("acl-scope", who).permission == AclPermission.WRITE
    sp.secrets.put_secret("acl-scope", "other", string_value="x")
    sp.secrets.delete_secret("acl-scope", "other")
    with pytest.raises(PermissionDenied):
        sp.secrets.delete_scope("acl-scope")
    w.secrets.delete_acl("acl-scope", who)
    with pytest.raises(ResourceDoesNotExist):
        w.secrets.get_acl("acl-scope", who)
    with pytest.raises(ResourceDoesNotExist):
        w.secrets.delete_acl("acl-scope", who)
    with pytest.raises(PermissionDenied):
        sp.secrets.get_secret("acl-scope", "token")
    with pytest.raises(InvalidParameterValue, match="Invalid permission"):
        w.api_client.do("POST", "/api/2.0/secrets/acls/put", body={
            "scope": "acl-scope", "principal": who, "permission": "OWNER"})
    # a scope the service principal makes is its own; users opens one to all
    sp.secrets.create_scope("sp-scope")
    assert [a.principal for a in sp.secrets.list_acls("sp-scope")] == [who]
    w.secrets.create_scope("open-scope", initial_manage_principal="users")
    sp.secrets.put_secret("open-scope", "k", string_value="v")
    assert [(a.principal, a.permission) for a in sp.secrets.list_acls("open-scope")] == \
        [("users", AclPermission.MANAGE)]
    with pytest.raises(InvalidParameterValue, match="initial_manage_principal"):
        w.secrets.create_scope("bad-scope", initial_manage_principal=who)
    for s in ("acl-scope", "sp-scope", "open-scope"):
        w.secrets.delete_scope(s)

"""What databricks-sdk sends beyond DBFS and the Files API, answered as a
workspace answers it: workspace upload/download (multipart import, raw
export), notebooks and their SOURCE header, AUTO imports, folder exports,
the workspace's ids, the Files API's error details, MLflow 1.x
experiments/list and a DBFS read of a folder."""

import base64
import io
import zipfile

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, InvalidParameterValue, ResourceAlreadyExists
from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

from dbmlops_testenv import Emu

NOTEBOOK = (b"# Databricks notebook source\nimport os\nprint(os.getcwd())\n\n"
            b"# COMMAND ----------\n\nprint(2)\n")


@pytest.fixture
def w(clean_env):
    return WorkspaceClient(host=clean_env.url, token=Emu.TOKEN, auth_type="pat")


def test_upload_and_download(w):
    w.workspace.mkdirs("/Shared/sdk ws")
    data = bytes(range(256)) * 50
    w.workspace.upload("/Shared/sdk ws/blob.bin", io.BytesIO(data), format=ImportFormat.AUTO)
    assert w.workspace.get_status("/Shared/sdk ws/blob.bin").object_type == ObjectType.FILE
    assert w.workspace.download("/Shared/sdk ws/blob.bin").read() == data
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.upload("/Shared/sdk ws/blob.bin", b"again", format=ImportFormat.AUTO)
    w.workspace.upload("/Shared/sdk ws/blob.bin", b"again", format=ImportFormat.AUTO,
                       overwrite=True)
    assert w.workspace.download("/Shared/sdk ws/blob.bin").read() == b"again"
    # the JSON form of import reads back the same
    w.workspace.import_("/Shared/sdk ws/json.txt", content=base64.b64encode(b"json").decode(),
                        format=ImportFormat.AUTO)
    assert w.workspace.download("/Shared/sdk ws/json.txt").read() == b"json"


def test_notebooks_keep_their_header(w):
    w.workspace.mkdirs("/Shared/nb")
    # AUTO with the header: a notebook, the extension removed
    w.workspace.upload("/Shared/nb/train.py", io.BytesIO(NOTEBOOK), format=ImportFormat.AUTO)
    st = w.workspace.get_status("/Shared/nb/train")
    assert st.object_type == ObjectType.NOTEBOOK and st.language == Language.PYTHON
    assert [o.path for o in w.workspace.list("/Shared/nb")] == ["/Shared/nb/train"]
    assert w.workspace.download("/Shared/nb/train").read() == NOTEBOOK
    exp = w.workspace.export("/Shared/nb/train", format=ExportFormat.SOURCE)
    assert base64.b64decode(exp.content) == NOTEBOOK and exp.file_type == "py"
    # SOURCE with a language and no header: export adds the header
    w.workspace.upload("/Shared/nb/cells", b"SELECT 1", language=Language.SQL)
    assert w.workspace.download("/Shared/nb/cells").read() == \
        b"-- Databricks notebook source\nSELECT 1"
    # AUTO without the header: a file at the path given
    w.workspace.upload("/Shared/nb/helper.py", b"x = 1\n", format=ImportFormat.AUTO)
    assert w.workspace.get_status("/Shared/nb/helper.py").object_type == ObjectType.FILE
    # SOURCE needs a language (the SDK adds its hint to the 400)
    with pytest.raises(DatabricksError, match="language is required") as exc:
        w.workspace.upload("/Shared/nb/nolang", b"x", format=ImportFormat.SOURCE)
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"


def test_folder_export(w):
    w.workspace.mkdirs("/Shared/tree/sub")
    w.workspace.upload("/Shared/tree/nb.py", io.BytesIO(NOTEBOOK), format=ImportFormat.AUTO)
    w.workspace.upload("/Shared/tree/sub/data.csv", b"a,b\n1,2\n", format=ImportFormat.AUTO)
    exp = w.workspace.export("/Shared/tree", format=ExportFormat.SOURCE)
    z = zipfile.ZipFile(io.BytesIO(base64.b64decode(exp.content)))
    assert sorted(z.namelist()) == ["tree/nb.py", "tree/sub/data.csv"]
    assert z.read("tree/nb.py") == NOTEBOOK and z.read("tree/sub/data.csv") == b"a,b\n1,2\n"
    for fmt in (ExportFormat.HTML, ExportFormat.JUPYTER):
        with pytest.raises(InvalidParameterValue,
                           match="only supported for the DBC, SOURCE, and AUTO format"):
            w.workspace.export("/Shared/tree", format=fmt)


def test_workspace_ids(w, emu):
    import json
    import urllib.request
    with urllib.request.urlopen(emu.url + "/.well-known/databricks-config", timeout=10) as r:
        meta = json.load(r)
    assert meta["workspace_id"] == str(w.get_workspace_id())
    assert len(meta["account_id"]) == 36


def test_files_api_error_details(w):
    w.files.create_directory("/Volumes/main/default/vol/full")
    w.files.upload("/Volumes/main/default/vol/full/f", io.BytesIO(b"x"))
    with pytest.raises(InvalidParameterValue) as exc:
        w.files.delete_directory("/Volumes/main/default/vol/full")
    assert [d.reason for d in exc.value.get_error_info()] == ["FILES_API_DIRECTORY_IS_NOT_EMPTY"]


def test_mlflow_experiments_list(w):
    w.workspace.mkdirs("/Shared/exps")
    ids = {w.experiments.create_experiment("/Shared/exps/e%d" % i).experiment_id
           for i in range(3)}
    listed = {e.experiment_id for e in w.experiments.list_experiments(max_results=1)}
    assert ids <= listed          # the SDK followed the pages


def test_dbfs_read_of_a_folder(w):
    w.dbfs.mkdirs("/Volumes/main/default/vol/folder")
    with pytest.raises(InvalidParameterValue, match="is a directory"):
        w.dbfs.read("/Volumes/main/default/vol/folder")


def test_users_folders_are_their_owners(w, clean_env):
    """A user's folder is its owner's and the admins' (the workspace's
    default ACLs): a service principal neither reads, lists nor deletes
    another user's files, and keeps its own."""
    from databricks.sdk.errors import PermissionDenied
    me = w.current_user.me().user_name
    w.workspace.mkdirs(f"/Users/{me}/private")
    secret = f"/Users/{me}/private/private.py"
    w.workspace.upload(secret, b"token = 'x'\n", format=ImportFormat.AUTO, overwrite=True)
    sp = WorkspaceClient(host=clean_env.url, client_id=Emu.CLIENT_ID,
                         client_secret=Emu.CLIENT_SECRET, auth_type="oauth-m2m")
    sp_name = sp.current_user.me().user_name
    assert sp_name != me
    for call in (lambda: sp.workspace.get_status(secret), lambda: sp.workspace.download(secret).read(),
                 lambda: sp.workspace.delete(secret),
                 lambda: list(sp.workspace.list(f"/Users/{me}")),
                 lambda: sp.workspace.upload(f"/Users/{me}/planted.py", b"x",
                                             format=ImportFormat.AUTO)):
        with pytest.raises(PermissionDenied, match="a user's folder is its owner's"):
            call()
    assert w.workspace.download(secret).read() == b"token = 'x'\n"
    # its own folder: written, listed alone under /Users, and the admin sees it
    sp.workspace.mkdirs(f"/Users/{sp_name}")
    sp.workspace.upload(f"/Users/{sp_name}/job.py", b"print(1)\n", format=ImportFormat.AUTO,
                        overwrite=True)
    assert [o.path for o in sp.workspace.list("/Users")] == [f"/Users/{sp_name}"]
    assert {o.path for o in w.workspace.list("/Users")} >= {f"/Users/{me}", f"/Users/{sp_name}"}
    assert w.workspace.download(f"/Users/{sp_name}/job.py").read() == b"print(1)\n"


def test_dbc_archives_of_notebooks_and_folders(w):
    """DBC export and import (ExportFormat.DBC, ImportFormat.DBC): a zip of
    the folder's notebooks as NotebookV1 JSON (their cells as commands, a
    %md cell as typed, no workspace files), which imports back elsewhere as
    the same notebooks, SOURCE for SOURCE; a lone notebook likewise."""
    import json
    py = (b"# Databricks notebook source\nimport os\nprint(1)\n\n# COMMAND ----------\n\n"
          b"# MAGIC %md\n# MAGIC # Title\n# MAGIC text\n\n# COMMAND ----------\n\nprint(2)\n")
    sql = b"-- Databricks notebook source\nSELECT 1\n\n-- COMMAND ----------\n\nSELECT 2\n"
    src = "/Shared/dbc-src"
    w.workspace.mkdirs(src + "/sub")
    w.workspace.upload(src + "/train.py", py, format=ImportFormat.AUTO, overwrite=True)
    w.workspace.upload(src + "/q.sql", sql, format=ImportFormat.AUTO, overwrite=True)
    w.workspace.upload(src + "/sub/more.py", py, format=ImportFormat.AUTO, overwrite=True)
    w.workspace.upload(src + "/data.txt", b"not a notebook\n", format=ImportFormat.AUTO,
                       overwrite=True)
    out = w.workspace.export(src, format=ExportFormat.DBC)
    assert out.file_type == "dbc"
    dbc = base64.b64decode(out.content)
    z = zipfile.ZipFile(io.BytesIO(dbc))
    assert sorted(z.namelist()) == ["dbc-src/q.sql", "dbc-src/sub/more.python",
                                    "dbc-src/train.python"]
    nb = json.loads(z.read("dbc-src/train.python"))
    assert (nb["version"], nb["name"], nb["language"]) == ("NotebookV1", "train", "python")
    assert [c["command"] for c in nb["commands"]] == ["import os\nprint(1)",
                                                      "%md\n# Title\ntext", "print(2)"]
    assert [c["position"] for c in nb["commands"]] == [1.0, 2.0, 3.0]
    assert {c["version"] for c in nb["commands"]} == {"CommandV1"}
    # back in, elsewhere: the same notebooks
    w.workspace.import_("/Shared/dbc-copy", content=out.content, format=ImportFormat.DBC)
    got = {o.path: o.object_type for o in w.workspace.list("/Shared/dbc-copy", recursive=True)}
    assert got["/Shared/dbc-copy/train"] == ObjectType.NOTEBOOK
    assert got["/Shared/dbc-copy/sub/more"] == ObjectType.NOTEBOOK
    assert "/Shared/dbc-copy/data.txt" not in got
    assert w.workspace.download("/Shared/dbc-copy/train", format=ExportFormat.SOURCE).read() == py
    assert w.workspace.download("/Shared/dbc-copy/q", format=ExportFormat.SOURCE).read() == sql
    assert w.workspace.get_status("/Shared/dbc-copy/q").language == Language.SQL
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.import_("/Shared/dbc-copy", content=out.content, format=ImportFormat.DBC)
    w.workspace.import_("/Shared/dbc-copy", content=out.content, format=ImportFormat.DBC,
                        overwrite=True)
    # one notebook: an archive of one, imported as that notebook
    one = w.workspace.export(src + "/train", format=ExportFormat.DBC)
    assert zipfile.ZipFile(io.BytesIO(base64.b64decode(one.content))).namelist() == \
        ["train.python"]
    w.workspace.import_("/Shared/dbc-one", content=one.content, format=ImportFormat.DBC)
    assert w.workspace.download("/Shared/dbc-one", format=ExportFormat.SOURCE).read() == py
    with pytest.raises(InvalidParameterValue, match="not a DBC archive"):
        w.workspace.import_("/Shared/dbc-bad", content=base64.b64encode(b"plain").decode(),
                            format=ImportFormat.DBC)
    with pytest.raises(InvalidParameterValue, match="a DBC archive holds notebooks"):
        w.workspace.export(src + "/data.txt", format=ExportFormat.DBC)

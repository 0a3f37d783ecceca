"""databricks-sdk (Python) against workspace-emu: DBFS, Files, Workspace,
with a personal access token and with OAuth M2M."""

import base64
import hashlib
import io
import os

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.errors import AlreadyExists, NotFound, ResourceAlreadyExists
from databricks.sdk.service.workspace import ImportFormat, Language, ObjectType

from dbmlops_testenv import Emu


def pat_client(emu):
    return WorkspaceClient(host=emu.url, token=Emu.TOKEN, auth_type="pat")


def m2m_client(emu):
    return WorkspaceClient(host=emu.url, client_id=Emu.CLIENT_ID,
                           client_secret=Emu.CLIENT_SECRET,
                           auth_type="oauth-m2m")


@pytest.fixture(params=["pat", "oauth-m2m"])
def w(request, clean_env):
    return pat_client(clean_env) if request.param == "pat" else m2m_client(clean_env)


def test_dbfs_calls(w, emu, request):
    base = f"/conformance/{request.node.callspec.id}"
    w.dbfs.delete(base, recursive=True)
    w.dbfs.mkdirs(base + "/sub")
    data = os.urandom(3 * 1024 * 1024 + 17)
    with w.dbfs.open(base + "/sub/a.bin", write=True, overwrite=True) as f:
        f.write(data)
    st = w.dbfs.get_status(base + "/sub/a.bin")
    assert st.file_size == len(data) and not st.is_dir
    with w.dbfs.download(base + "/sub/a.bin") as f:
        assert f.read() == data
    names = sorted(x.path for x in w.dbfs.list(base + "/sub"))
    assert names == [base + "/sub/a.bin"]
    w.dbfs.move(base + "/sub/a.bin", base + "/b.bin")
    with pytest.raises(NotFound):
        w.dbfs.get_status(base + "/sub/a.bin")
    assert w.dbfs.get_status(base + "/b.bin").file_size == len(data)
    w.dbfs.upload(base + "/c.txt", io.BytesIO(b"hello"), overwrite=True)
    with w.dbfs.download(base + "/c.txt") as f:
        assert f.read() == b"hello"
    with pytest.raises(ResourceAlreadyExists):
        w.dbfs.put(base + "/c.txt", contents=base64.b64encode(b"x").decode())
    w.dbfs.delete(base, recursive=True)
    with pytest.raises(NotFound):
        w.dbfs.get_status(base)


def test_files_calls(w, emu, request):
    d = f"/Volumes/main/default/vol/{request.node.callspec.id}"
    w.files.create_directory(d + "/nested")
    data = os.urandom(2 * 1024 * 1024 + 5)
    w.files.upload(d + "/nested/pkg-1.0-py3-none-any.whl", io.BytesIO(data),
                   overwrite=True)
    meta = w.files.get_metadata(d + "/nested/pkg-1.0-py3-none-any.whl")
    assert meta.content_length == len(data)
    got = w.files.download(d + "/nested/pkg-1.0-py3-none-any.whl").contents.read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    entries = list(w.files.list_directory_contents(d + "/nested"))
    assert [e.name for e in entries] == ["pkg-1.0-py3-none-any.whl"]
    assert entries[0].file_size == len(data) and not entries[0].is_directory
    w.files.get_directory_metadata(d + "/nested")
    w.files.delete(d + "/nested/pkg-1.0-py3-none-any.whl")
    with pytest.raises(NotFound):
        w.files.get_metadata(d + "/nested/pkg-1.0-py3-none-any.whl")
    w.files.delete_directory(d + "/nested")
    with pytest.raises(NotFound):
        w.files.get_directory_metadata(d + "/nested")


def test_files_multipart_upload_by_the_sdk(clean_env):
    """databricks-sdk's own multipart upload client (FilesExt: presigned
    part URLs, parts in parallel) against workspace-emu: initiate, one
    create-upload-part-urls a part, the parts PUT to the URLs without the
    workspace's credentials, complete; the file byte for byte, read back
    by the SDK. An existing file without overwrite is refused at initiate
    (409 ALREADY_EXISTS, the SDK's AlreadyExists) and left as it was. The
    SDK goes multipart from 50 MiB; its threshold is lowered so the test
    sends 23 MiB in 5 MiB parts."""
    cfg = Config(host=clean_env.url, token=Emu.TOKEN, auth_type="pat")
    cfg.files_ext_multipart_upload_min_stream_size = 1024 * 1024
    w = WorkspaceClient(config=cfg)
    path = "/Volumes/main/default/vol/sdk-mpu/big.bin"
    data = os.urandom(23 * 1024 * 1024 + 5)
    n = len(clean_env.requests())
    w.files.upload(path, io.BytesIO(data), overwrite=True, part_size=5 * 1024 * 1024)
    reqs = clean_env.requests()[n:]
    calls = [(r["method"], r["path"]) for r in reqs if r["path"].startswith("/api/")]
    parts = [r for r in reqs if r["path"].startswith("/mpu-part/")]
    fs = "/api/2.0/fs/files" + path
    assert calls[0] == ("POST", fs) and calls[-1] == ("POST", fs)
    assert calls.count(("POST", "/api/2.0/fs/create-upload-part-urls")) == 5
    assert sorted(r["bytes_in"] for r in parts) == [3 * 1024 * 1024 + 5] + [5 * 1024 * 1024] * 4
    assert all(r["status"] in (200, 204) for r in reqs), reqs
    with open(clean_env.path("dbfs", path.lstrip("/")), "rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
    got = w.files.download(path).contents.read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    n = len(clean_env.requests())
    with pytest.raises(AlreadyExists):
        w.files.upload(path, io.BytesIO(os.urandom(6 * 1024 * 1024)), overwrite=False,
                       part_size=5 * 1024 * 1024)
    refused = [(r["method"], r["path"], r["status"]) for r in clean_env.requests()[n:]]
    assert refused == [("POST", fs, 409)], refused
    with open(clean_env.path("dbfs", path.lstrip("/")), "rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()


def test_files_pagination(clean_env):
    w = pat_client(clean_env)
    d = "/Volumes/main/default/vol/paged"
    for i in range(7):
        w.files.upload(f"{d}/f{i}", io.BytesIO(b"x"), overwrite=True)
    names = [e.name for e in w.files.list_directory_contents(d, page_size=3)]
    assert names == [f"f{i}" for i in range(7)]
    pages = [r for r in clean_env.requests()
             if r["path"] == "/api/2.0/fs/directories" + d]
    assert len(pages) >= 3


def test_workspace_calls(w, request):
    # each caller in its own folder: a user's folder is its owner's
    base = f"/Users/{w.current_user.me().user_name}/{request.node.callspec.id}"
    w.workspace.mkdirs(base + "/proj")
    w.workspace.import_(base + "/proj/nb", format=ImportFormat.SOURCE,
                        language=Language.PYTHON,
                        content=base64.b64encode(b"print(1)\n").decode(),
                        overwrite=True)
    w.workspace.import_(base + "/proj/data.txt", format=ImportFormat.AUTO,
                        content=base64.b64encode(b"plain\n").decode(),
                        overwrite=True)
    st = w.workspace.get_status(base + "/proj/nb")
    assert st.object_type == ObjectType.NOTEBOOK and st.language == Language.PYTHON
    assert w.workspace.get_status(base + "/proj/data.txt").object_type == ObjectType.FILE
    assert w.workspace.get_status(base).object_type == ObjectType.DIRECTORY
    kinds = {o.path: o.object_type for o in w.workspace.list(base + "/proj")}
    assert kinds == {base + "/proj/nb": ObjectType.NOTEBOOK,
                     base + "/proj/data.txt": ObjectType.FILE}
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.import_(base + "/proj/nb", format=ImportFormat.SOURCE,
                            language=Language.PYTHON,
                            content=base64.b64encode(b"x").decode())
    with pytest.raises(NotFound):
        w.workspace.get_status(base + "/nope")


def test_oauth_token_is_used(clean_env):
    w = m2m_client(clean_env)
    w.dbfs.mkdirs("/oauth-check")
    paths = [r["path"] for r in clean_env.requests()]
    assert "/oidc/v1/token" in paths


def test_bad_oauth_secret(clean_env):
    w = WorkspaceClient(host=clean_env.url, client_id=Emu.CLIENT_ID,
                        client_secret="wrong", auth_type="oauth-m2m")
    with pytest.raises(Exception) as exc:
        w.dbfs.mkdirs("/never")
    assert "wrong" not in str(exc.value)

"""Byte-exact round trips (sha256) at the sizes around every limit, on every
storage API, through the official SDK where it has the call."""

import base64
import hashlib
import io
import os

import pytest
import requests
from databricks.sdk import WorkspaceClient

from dbmlops_testenv import Emu

MiB = 1024 * 1024
SIZES = [0, 1, MiB - 1, MiB, MiB + 1, 100 * MiB]
SMALL = [s for s in SIZES if s <= MiB + 1]


def blob(n):
    # deterministic, incompressible enough, cheap to make
    seed = hashlib.sha256(str(n).encode()).digest()
    reps = n // len(seed) + 1
    return (seed * reps)[:n] if n < 4 * MiB else os.urandom(n)


def sha(b):
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def w(clean_env):
    return WorkspaceClient(host=clean_env.url, token=Emu.TOKEN, auth_type="pat")


def auth():
    return {"Authorization": "Bearer " + Emu.TOKEN}


@pytest.mark.parametrize("n", SIZES)
def test_dbfs_stream(w, n):
    data = blob(n)
    p = f"/roundtrip/stream-{n}"
    w.dbfs.upload(p, io.BytesIO(data), overwrite=True)
    with w.dbfs.download(p) as f:
        assert sha(f.read()) == sha(data)


@pytest.mark.parametrize("n", SIZES)
def test_dbfs_multipart_put(emu, n, tmp_path):
    data = blob(n)
    src = tmp_path / "f"
    src.write_bytes(data)
    with open(src, "rb") as f:
        r = requests.post(emu.url + "/api/2.0/dbfs/put", headers=auth(),
                          data={"path": f"/roundtrip/mp-{n}", "overwrite": "true"},
                          files={"contents": f}, timeout=300)
    assert r.status_code == 200, r.text
    with open(emu.path("dbfs", f"roundtrip/mp-{n}"), "rb") as f:
        assert sha(f.read()) == sha(data)


@pytest.mark.parametrize("n", SMALL)
def test_dbfs_inline_put_and_read(emu, n):
    data = blob(n)
    r = requests.post(emu.url + "/api/2.0/dbfs/put", headers=auth(),
                      json={"path": f"/roundtrip/inline-{n}", "overwrite": True,
                            "contents": base64.b64encode(data).decode()})
    if n > MiB:
        assert r.status_code == 400
        assert r.json()["error_code"] == "MAX_BLOCK_SIZE_EXCEEDED"
        return
    assert r.status_code == 200, r.text
    got, off = b"", 0
    while True:
        r = requests.get(emu.url + "/api/2.0/dbfs/read", headers=auth(),
                         params={"path": f"/roundtrip/inline-{n}",
                                 "offset": off, "length": MiB})
        assert r.status_code == 200, r.text
        j = r.json()
        if j["bytes_read"] == 0:
            break
        got += base64.b64decode(j["data"])
        off += j["bytes_read"]
    assert sha(got) == sha(data)


@pytest.mark.parametrize("n", SIZES)
def test_mlflow_raw_dbfs_post(emu, n):
    data = blob(n)
    p = f"/roundtrip/raw-{n}.tar.gz"
    requests.post(emu.url + "/api/2.0/dbfs/delete", headers=auth(),
                  json={"path": p})
    r = requests.post(emu.url + "/dbfs" + p, headers=auth(), data=data)
    assert r.status_code == 200, r.text
    with open(emu.path("dbfs", p), "rb") as f:
        assert sha(f.read()) == sha(data)
    r = requests.post(emu.url + "/dbfs" + p, headers=auth(), data=b"other")
    assert r.status_code == 409 and "File already exists" in r.text


@pytest.mark.parametrize("n", SIZES)
def test_files_api(w, n):
    data = blob(n)
    p = f"/Volumes/main/default/vol/roundtrip/f-{n}"
    w.files.upload(p, io.BytesIO(data), overwrite=True)
    got = w.files.download(p).contents.read()
    assert sha(got) == sha(data)
    assert w.files.get_metadata(p).content_length == n


@pytest.mark.parametrize("n", SMALL)
def test_workspace_import_export(w, n):
    data = blob(n)
    w.workspace.mkdirs("/Shared/roundtrip")
    p = f"/Shared/roundtrip/w-{n}"
    from databricks.sdk.service.workspace import ExportFormat, ImportFormat
    w.workspace.import_(p, format=ImportFormat.AUTO, overwrite=True,
                        content=base64.b64encode(data).decode())
    got = base64.b64decode(w.workspace.export(p, format=ExportFormat.SOURCE).content)
    assert sha(got) == sha(data)


@pytest.mark.parametrize("n", SIZES)
def test_workspace_import_file(emu, n):
    data = blob(n)
    requests.post(emu.url + "/api/2.0/workspace/mkdirs", headers=auth(),
                  json={"path": "/Shared/roundtrip"})
    r = requests.post(emu.url + f"/api/2.0/workspace-files/import-file/"
                      f"Workspace/Shared/roundtrip/raw-{n}",
                      params={"overwrite": "true"}, headers=auth(), data=data)
    assert r.status_code == 200, r.text
    with open(emu.path("workspace", f"Shared/roundtrip/raw-{n}"), "rb") as f:
        assert sha(f.read()) == sha(data)

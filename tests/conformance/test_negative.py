"""Cases the real service answers with specific codes, and the emulator's
own guarantees (path confinement, restarts, handle expiry, faults)."""

import base64
import os
import time

import pytest
import requests

from dbmlops_testenv import Emu, wait_for

MiB = 1024 * 1024


def auth():
    return {"Authorization": "Bearer " + Emu.TOKEN}


def call(emu, method, api, headers=None, **kw):
    h = auth()
    h.update(headers or {})
    r = requests.request(method, emu.url + api, headers=h, timeout=60, **kw)
    try:
        body = r.json()
    except ValueError:
        body = {}
    return r.status_code, body.get("error_code"), body


def test_over_limit_block(emu):
    s, _, b = call(emu, "POST", "/api/2.0/dbfs/create",
                   json={"path": "/neg/blk", "overwrite": True})
    assert s == 200
    big = base64.b64encode(b"x" * (MiB + 1)).decode()
    assert call(emu, "POST", "/api/2.0/dbfs/add-block",
                json={"handle": b["handle"], "data": big})[:2] == \
        (400, "MAX_BLOCK_SIZE_EXCEEDED")
    ok = base64.b64encode(b"x" * MiB).decode()
    assert call(emu, "POST", "/api/2.0/dbfs/add-block",
                json={"handle": b["handle"], "data": ok})[0] == 200
    assert call(emu, "POST", "/api/2.0/dbfs/close",
                json={"handle": b["handle"]})[0] == 200
    assert os.path.getsize(emu.path("dbfs", "neg/blk")) == MiB


def test_bad_handle(emu):
    assert call(emu, "POST", "/api/2.0/dbfs/add-block",
                json={"handle": 12345, "data": ""})[:2] == \
        (404, "RESOURCE_DOES_NOT_EXIST")
    assert call(emu, "POST", "/api/2.0/dbfs/close",
                json={"handle": 12345})[:2] == (404, "RESOURCE_DOES_NOT_EXIST")


def test_existing_without_overwrite(emu):
    call(emu, "POST", "/api/2.0/dbfs/put", json={"path": "/neg/e", "contents": "eA=="})
    assert call(emu, "POST", "/api/2.0/dbfs/put",
                json={"path": "/neg/e", "contents": "eA=="})[:2] == \
        (400, "RESOURCE_ALREADY_EXISTS")
    assert call(emu, "POST", "/api/2.0/dbfs/create",
                json={"path": "/neg/e"})[:2] == (400, "RESOURCE_ALREADY_EXISTS")
    p = "/api/2.0/fs/files/Volumes/c/s/v/neg/e"
    assert call(emu, "PUT", p, data=b"1")[0] == 204
    assert call(emu, "PUT", p, params={"overwrite": "false"}, data=b"2")[:2] == \
        (409, "ALREADY_EXISTS")
    with open(emu.path("dbfs", "Volumes/c/s/v/neg/e"), "rb") as f:
        assert f.read() == b"1"


def test_missing_parents(emu):
    assert call(emu, "POST", "/api/2.0/workspace/import",
                json={"path": "/No/Such/Dir/x", "format": "AUTO",
                      "content": "eA=="})[:2] == (404, "RESOURCE_DOES_NOT_EXIST")
    s, code, _ = call(emu, "POST",
                      "/api/2.0/workspace-files/import-file/No/Such/x",
                      data=b"x")
    assert s == 404
    # DBFS and Files create parents themselves
    assert call(emu, "POST", "/api/2.0/dbfs/put",
                json={"path": "/neg/deep/er/x", "contents": ""})[0] == 200
    assert call(emu, "PUT", "/api/2.0/fs/files/Volumes/c/s/v/a/b/c",
                data=b"x")[0] == 204


def test_bad_json(emu):
    for body in [b"{", b"[1,]", b'{"path": }', b"null"]:
        s, code, _ = call(emu, "POST", "/api/2.0/dbfs/mkdirs", data=body,
                          headers={"Content-Type": "application/json"})
        assert (s, code) == (400, "MALFORMED_REQUEST"), body


def test_read_limits(emu):
    call(emu, "POST", "/api/2.0/dbfs/put", json={"path": "/neg/r", "contents": "eA==",
                                                 "overwrite": True})
    assert call(emu, "GET", "/api/2.0/dbfs/read",
                params={"path": "/neg/r", "length": MiB + 1})[:2] == \
        (400, "MAX_READ_SIZE_EXCEEDED")
    assert call(emu, "GET", "/api/2.0/dbfs/read",
                params={"path": "/neg/missing"})[:2] == (404, "RESOURCE_DOES_NOT_EXIST")


def test_dbfs_quirks(emu):
    call(emu, "POST", "/api/2.0/dbfs/put", json={"path": "/q/f", "contents": "",
                                                 "overwrite": True})
    assert call(emu, "POST", "/api/2.0/dbfs/mkdirs",
                json={"path": "/q/f/sub"})[:2] == (400, "RESOURCE_ALREADY_EXISTS")
    s, _, b = call(emu, "GET", "/api/2.0/dbfs/list", params={"path": "/q/f"})
    assert s == 200 and [x["path"] for x in b["files"]] == ["/q/f"]
    call(emu, "POST", "/api/2.0/dbfs/mkdirs", json={"path": "/q/empty"})
    s, _, b = call(emu, "GET", "/api/2.0/dbfs/list", params={"path": "/q/empty"})
    assert s == 200 and "files" not in b
    assert call(emu, "POST", "/api/2.0/dbfs/delete",
                json={"path": "/q", "recursive": False})[0] == 400
    assert call(emu, "POST", "/api/2.0/dbfs/move",
                json={"source_path": "/q/nope", "destination_path": "/q/x"})[:2] == \
        (404, "RESOURCE_DOES_NOT_EXIST")
    assert call(emu, "POST", "/api/2.0/dbfs/move",
                json={"source_path": "/q/f", "destination_path": "/q/empty"})[:2] == \
        (400, "RESOURCE_ALREADY_EXISTS")
    # MLflow sends get-status as a GET with a JSON body
    s, _, b = call(emu, "GET", "/api/2.0/dbfs/get-status", json={"path": "/q/f"})
    assert s == 200 and b["path"] == "/q/f"


def test_paths_cannot_escape(emu):
    for p in ["/../../etc/passwd", "/a/../../b", "/a/./b", "/a\x00b"]:
        s, code, _ = call(emu, "GET", "/api/2.0/dbfs/get-status", params={"path": p})
        assert (s, code) == (400, "INVALID_PARAMETER_VALUE"), p
    for raw in ["/api/2.0/fs/files/Volumes/c/s/v/%2e%2e/%2e%2e/%2e%2e/x",
                "/api/2.0/fs/files/Volumes/c/s/v/a%00b",
                "/api/2.0/fs/files/etc/passwd"]:
        r = requests.get(emu.url + raw, headers=auth())
        assert r.status_code == 400, raw
    assert not os.path.exists(os.path.join(emu.dir, "x"))


def test_auth_errors(emu):
    r = requests.get(emu.url + "/api/2.0/dbfs/list", params={"path": "/"})
    assert r.status_code == 401 and r.json()["error_code"] == "UNAUTHENTICATED"
    r = requests.get(emu.url + "/api/2.0/dbfs/list", params={"path": "/"},
                     headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
    r = requests.get(emu.url + "/api/2.0/nothing/here", headers=auth())
    assert r.status_code == 404 and r.json()["error_code"] == "ENDPOINT_NOT_FOUND"


@pytest.mark.parametrize("method,path", [
    ("POST", "/api/2.0/dbfs/no-such-op"), ("GET", "/api/2.0/dbfs/mkdirs"),
    ("POST", "/api/2.0/dbfs/get-status"), ("GET", "/api/2.0/dbfs/list/x"),
    ("POST", "/api/2.0/workspace/no-such-op"), ("GET", "/api/2.0/workspace/delete"),
    ("GET", "/api/2.1/jobs/runs/submit"), ("POST", "/api/2.2/jobs/runs/get"),
    ("GET", "/api/2.3/jobs/runs/get"), ("POST", "/api/2.0/jobs/runs/nothing")])
def test_unknown_endpoints_and_wrong_methods(emu, method, path):
    """Each endpoint is one method and path (routes.c): another method, or
    an op no service has, is the service's 404 for an unknown API."""
    r = requests.request(method, emu.url + path, headers=auth(), json={"path": "/"})
    assert r.status_code == 404, r.text
    assert r.json() == {"error_code": "ENDPOINT_NOT_FOUND",
                        "message": "No API found for '%s %s'" % (method, path)}


@pytest.mark.parametrize("path", ["/api/2.0/dbfs/mkdirs", "/api/2.0/dbfs/delete",
                                  "/api/2.0/dbfs/create", "/api/2.0/workspace/mkdirs",
                                  "/api/2.0/workspace/delete"])
def test_post_endpoints_want_a_json_object(emu, path):
    for body, why in ((b"", "Request body is missing"), (b"[1]", "not an object"),
                      (b"{nope", "Invalid JSON")):
        r = requests.post(emu.url + path, headers=auth(), data=body)
        assert r.status_code == 400 and r.json()["error_code"] == "MALFORMED_REQUEST", r.text
        assert why in r.json()["message"]


def test_restart_keeps_state_and_tokens():
    e = Emu().start()
    try:
        tok = requests.post(e.url + "/oidc/v1/token",
                            auth=(Emu.CLIENT_ID, Emu.CLIENT_SECRET),
                            data={"grant_type": "client_credentials",
                                  "scope": "all-apis"}).json()["access_token"]
        h = {"Authorization": "Bearer " + tok}
        assert requests.post(e.url + "/api/2.0/dbfs/put", headers=h,
                             json={"path": "/keep", "contents": "a2VlcA=="}).ok
        assert e.stop() == 0        # SIGTERM ends it cleanly
        e.start()
        r = requests.get(e.url + "/api/2.0/dbfs/read", headers=h,
                         params={"path": "/keep"})
        assert r.status_code == 200 and base64.b64decode(r.json()["data"]) == b"keep"
    finally:
        e.cleanup()


def test_handle_expiry():
    # a handle idle for longer than 0 s has expired by its next call: no
    # waiting for time to pass
    e = Emu(extra=["--handle-idle", "0"]).start()
    try:
        h = requests.post(e.url + "/api/2.0/dbfs/create", headers=auth(),
                          json={"path": "/x"}).json()["handle"]
        r = requests.post(e.url + "/api/2.0/dbfs/add-block", headers=auth(),
                          json={"handle": h, "data": ""})
        assert r.status_code == 404
        assert not os.listdir(os.path.join(e.data, "tmp"))
        # an abandoned handle's file goes without any further call
        requests.post(e.url + "/api/2.0/dbfs/create", headers=auth(),
                      json={"path": "/y"})
        requests.post(e.url + "/api/2.0/dbfs/add-block", headers=auth(),
                      json={"handle": h, "data": "eHl6"})
        wait_for(lambda: not os.listdir(os.path.join(e.data, "tmp")), 15,
                 "the abandoned handle's file removed")
    finally:
        e.cleanup()


def test_faults_are_seeded_and_logged():
    def run(seed):
        e = Emu(faults="429=2:0.5@/api/2.0/dbfs/*,drop:0.2@/api/2.0/fs/*",
                seed=seed).start()
        try:
            codes = []
            for _ in range(20):
                r = requests.get(e.url + "/api/2.0/dbfs/get-status",
                                 headers=auth(), params={"path": "/"})
                codes.append(r.status_code)
                if r.status_code == 429:
                    assert r.headers["Retry-After"] == "2"
                    assert r.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
            drops = 0
            for _ in range(20):
                try:
                    r = requests.put(e.url + "/api/2.0/fs/files/Volumes/c/s/v/f",
                                     headers=auth(), data=os.urandom(256 * 1024))
                except requests.ConnectionError:
                    drops += 1
            log = e.requests()
            assert sum(1 for x in log if x["fault"] == "429") == codes.count(429)
            assert sum(1 for x in log if x["fault"] == "drop") == drops
            return codes, drops
        finally:
            e.cleanup()
    a, b = run(7), run(7)
    assert a == b
    assert 0 < a[0].count(429) < 20 and a[1] > 0
    # a dropped PUT never leaves a partial file behind


def raw_get(emu, target, token=None):
    """GET with the request target sent byte for byte (no client-side
    normalisation of dot segments or slashes)."""
    import http.client
    from urllib.parse import urlsplit
    u = urlsplit(emu.url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        c.putrequest("GET", target, skip_accept_encoding=True)
        if token:
            c.putheader("Authorization", "Bearer " + token)
        c.endheaders()
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


PATH_TRICKS = [
    "/x/../api/2.0/{api}", "/x/%2e%2e/api/2.0/{api}", "/x/%2E%2E/api/2.0/{api}",
    "//api/2.0/{api}", "/./api/2.0/{api}", "/api//2.0/{api}",
    "/api/2.0/./{api}", "/a/b/../../api/2.0/{api}", "/..%2fapi/2.0/{api}",
    "/%2fapi/2.0/{api}", "/../../api/2.0/{api}",
]
TOKEN_APIS = [
    "mlflow/experiments/search?max_results=1",
    "preview/mlflow/experiments/search?max_results=1",
    "dbfs/list?path=/", "fs/directories/Volumes/c/s/v/",
    "workspace/list?path=/", "jobs/runs/get?run_id=1",
]


def test_path_tricks_need_a_token(emu):
    # every spelling of an API path is that API: without a token it is 401
    # like the plain path, with one it answers as the plain path does
    for api in TOKEN_APIS:
        plain = raw_get(emu, "/api/2.0/" + api)[0]
        assert plain == 401, api
        want = raw_get(emu, "/api/2.0/" + api, Emu.TOKEN)[0]
        for t in PATH_TRICKS:
            target = t.format(api=api)
            assert raw_get(emu, target)[0] == 401, target
            assert raw_get(emu, target, Emu.TOKEN)[0] == want, target


def test_deep_json_body_is_refused_and_the_server_lives(emu):
    """200 KB of nesting used to crash the emulator (and orphan its jobs):
    now a 400 naming the limit, and the next request is served."""
    body = "[" * 100000 + "]" * 100000
    for api in ("/api/2.1/jobs/runs/submit", "/api/2.0/dbfs/mkdirs",
                "/api/2.0/workspace/mkdirs"):
        r = requests.post(emu.url + api, data=body, timeout=60,
                          headers=dict(auth(), **{"Content-Type": "application/json"}))
        assert r.status_code == 400, api
        assert r.json()["error_code"] == "MALFORMED_REQUEST"
        assert "nesting deeper than 512" in r.json()["message"]
    s, _, b = call(emu, "GET", "/api/2.0/dbfs/get-status", params={"path": "/"})
    assert s == 200 and b["is_dir"] is True


def test_experiment_names_as_a_workspace_checks_them(emu):
    """A bare name and a missing parent folder are refused as Databricks
    refuses them (PROTOCOL.md section 10); /Shared and the user's folder
    exist from the start."""
    create = "/api/2.0/mlflow/experiments/create"
    s, code, b = call(emu, "POST", create, json={"name": "myexp"})
    assert (s, code) == (400, "INVALID_PARAMETER_VALUE")
    assert b["message"].startswith("Got an invalid experiment name 'myexp'. An experiment "
                                   "name must be an absolute path within the Databricks "
                                   "workspace")
    s, code, b = call(emu, "POST", create, json={"name": "/Shared/nofolder/exp"})
    assert (s, code) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert b["message"] == "Parent directory /Shared/nofolder does not exist."
    s, code, _ = call(emu, "POST", "/api/2.0/preview/mlflow/experiments/create",
                      json={"name": "relative/x"})
    assert (s, code) == (400, "INVALID_PARAMETER_VALUE")
    s, _, b = call(emu, "GET", "/api/2.0/workspace/get-status",
                   params={"path": "/Users/emu-user@example.com"})
    assert s == 200 and b["object_type"] == "DIRECTORY"


def test_experiments_are_workspace_objects(emu):
    """workspace/list shows a folder's experiments, get-status answers for
    one, as MLFLOW_EXPERIMENT objects with the experiment's id."""
    assert call(emu, "POST", "/api/2.0/workspace/mkdirs",
                json={"path": "/Shared/objs"})[0] == 200
    s, _, b = call(emu, "POST", "/api/2.0/mlflow/experiments/create",
                   json={"name": "/Shared/objs/exp one"})
    assert s == 200
    eid = b["experiment_id"]
    call(emu, "POST", "/api/2.0/workspace/mkdirs", json={"path": "/Shared/objs/sub"})
    s, _, b = call(emu, "GET", "/api/2.0/workspace/list", params={"path": "/Shared/objs"})
    assert s == 200
    objs = {o["path"]: o for o in b["objects"]}
    assert objs["/Shared/objs/exp one"]["object_type"] == "MLFLOW_EXPERIMENT"
    assert str(objs["/Shared/objs/exp one"]["object_id"]) == eid
    assert objs["/Shared/objs/sub"]["object_type"] == "DIRECTORY"
    s, _, b = call(emu, "GET", "/api/2.0/workspace/get-status",
                   params={"path": "/Shared/objs/exp one"})
    assert s == 200 and b["object_type"] == "MLFLOW_EXPERIMENT"
    s, code, _ = call(emu, "GET", "/api/2.0/workspace/get-status",
                      params={"path": "/Shared/objs/none"})
    assert (s, code) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_odd_upload_bodies_found_by_fuzzing(emu):
    """Bodies the dbfs/put fuzz target found mishandled: a multipart part
    without a name (the emulator crashed; now the part is ignored), JSON
    that is not an object (it leaked; refused); the emulator keeps
    serving."""
    body = (b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nno name\r\n"
            b"--XyZ\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n/fz/x\r\n"
            b"--XyZ--\r\n")
    r = requests.post(emu.url + "/api/2.0/dbfs/put", data=body, timeout=30, headers=dict(
        auth(), **{"Content-Type": "multipart/form-data; boundary=XyZ"}))
    assert r.status_code in (200, 400), r.text
    for js in ("[]", "4", '"s"'):
        s, code, _ = call(emu, "POST", "/api/2.0/dbfs/put", data=js,
                          headers={"Content-Type": "application/json"})
        assert (s, code) == (400, "MALFORMED_REQUEST"), js
    assert call(emu, "GET", "/api/2.0/dbfs/get-status", params={"path": "/"})[0] == 200


def test_multipart_put_without_its_end_stores_nothing(emu):
    """A multipart dbfs/put whose closing delimiter never comes is not a
    complete upload: refused as malformed, no file at the path, nothing
    left in the emulator's temporary folder; the same body completed is
    stored, data byte for byte (CR LF and dashes inside it included)."""
    data = b"a\r\n--Xy\r\n-\r\n\n--XyZ-not-it\r" * 1000
    head = (b"--XyZ\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n/mp/cut\r\n"
            b"--XyZ\r\nContent-Disposition: form-data; name=\"contents\"; filename=\"c\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n") + data
    hdrs = dict(auth(), **{"Content-Type": "multipart/form-data; boundary=XyZ"})
    for body in (head, head + b"\r\n--XyZ"):
        r = requests.post(emu.url + "/api/2.0/dbfs/put", data=body, headers=hdrs, timeout=30)
        assert r.status_code == 400, r.text
        assert r.json() == {"error_code": "MALFORMED_REQUEST",
                            "message": "Invalid multipart/form-data body"}
        assert not os.path.exists(emu.path("dbfs", "mp/cut"))
    # the temporary goes when the server ends the request, just after
    # it answers
    wait_for(lambda: os.listdir(os.path.join(emu.data, "tmp")) == [], 10,
             "the temporary removed")
    r = requests.post(emu.url + "/api/2.0/dbfs/put", data=head + b"\r\n--XyZ--\r\n",
                      headers=hdrs, timeout=30)
    assert r.status_code == 200, r.text
    with open(emu.path("dbfs", "mp/cut"), "rb") as f:
        assert f.read() == data

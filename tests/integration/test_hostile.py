"""Hostile clients against workspace-emu, each bounded in time on loopback:
big bodies before authentication, a signed-URL upload with a bad signature,
DNS rebinding and cross-origin requests through the MLflow proxy, run pages
without a token, idle sockets that try to take every connection, and
headers trickled a byte at a time."""

import base64
import os
import shutil
import socket
import time

import pytest
import requests

from dbmlops_testenv import Emu

AUTH = {"Authorization": "Bearer " + Emu.TOKEN}


@pytest.fixture(scope="module")
def emu(mlflow_server):
    e = Emu(mlflow_url=mlflow_server.url, extra=["--max-connections", "32"]).start()
    yield e
    e.cleanup()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def send_big(url, path, mb, headers=""):
    """POST mb MiB to path on a raw socket; the status line (or '' when the
    server closed the connection)."""
    host, port = url.split("://")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall(("POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n%s\r\n" % (path, host, port, mb << 20, headers)).encode())
    chunk = b"x" * (1 << 20)
    try:
        for _ in range(mb):
            s.sendall(chunk)
    except OSError:
        pass            # closed on us: fine
    try:
        return s.recv(200).decode(errors="replace").split("\r\n")[0]
    except OSError:
        return ""
    finally:
        s.close()


@pytest.mark.parametrize("path", ["/oidc/v1/token", "/api/2.0/mlflow/runs/log-batch",
                                  "/ajax-api/2.0/mlflow/runs/log-batch", "/graphql"])
def test_big_bodies_before_authentication(emu, path):
    """128 MiB sent with no token, to a public route and to proxied ones:
    the emulator keeps none of it (resident memory grows by under 16 MiB)."""
    before = rss_kb(emu.proc.pid)
    status = send_big(emu.url, path, 128)
    assert status == "" or status.split()[1] in ("400", "401", "413"), status
    assert rss_kb(emu.proc.pid) - before < 16 << 10
    # and it still serves
    assert requests.get(emu.url + "/api/2.0/dbfs/list", params={"path": "/"},
                        headers=AUTH, timeout=30).status_code in (200, 404)


def test_signed_upload_refused_before_its_body(emu):
    """PUT /mpu-part/ with a bad signature and an announced 8 GiB: refused
    at once, nothing reserved or written to the data directory."""
    host, port = emu.url.split("://")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    t0 = time.time()
    s.sendall(("PUT /mpu-part/abc/1?sig=%s HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: %d\r\n\r\n" % ("0" * 64, 8 << 30)).encode())
    head = s.recv(200).decode()
    s.close()
    assert head.startswith("HTTP/1.1 403"), head
    assert time.time() - t0 < 5
    tmp = os.path.join(emu.data, "tmp")
    used = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp)) \
        if os.path.isdir(tmp) else 0
    assert used == 0


def test_proxy_keeps_mlflows_host_and_origin_checks(emu):
    """Through the emulator, as against MLflow itself: a foreign Host is a
    DNS-rebinding attempt (403), a foreign Origin on a state-changing call
    is refused (403); the browser's own origin passes."""
    url = emu.url + "/ajax-api/2.0/mlflow/experiments/search"
    body = {"max_results": 1}
    ok = requests.post(url, json=body, headers=AUTH, timeout=30)
    assert ok.status_code == 200, ok.text
    evil = requests.post(url, json=body, headers=dict(AUTH, Host="evil.example"), timeout=30)
    assert evil.status_code == 403 and "DNS rebinding" in evil.text
    cross = requests.post(url, json=body, timeout=30,
                          headers=dict(AUTH, Origin="http://evil.example"))
    assert cross.status_code == 403 and "Cross-origin" in cross.text
    same = requests.post(url, json=body, timeout=30, headers=dict(AUTH, Origin=emu.url))
    assert same.status_code == 200


def test_run_pages_need_a_token(emu):
    r = requests.get(emu.url + "/jobs/runs/1", timeout=30)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="workspace-emu", charset="UTF-8"'
    assert "token" not in r.text.lower().replace("token as the password", "").replace(
        "user name token", "")
    bad = requests.get(emu.url + "/jobs/runs/1", auth=("token", "wrong"), timeout=30)
    assert bad.status_code == 403
    good = requests.get(emu.url + "/jobs/runs/1", auth=("token", Emu.TOKEN), timeout=30)
    assert good.status_code == 404       # no such run, but let in
    basic = base64.b64encode(b"admin:" + Emu.TOKEN.encode()).decode()
    other = requests.get(emu.url + "/jobs/runs/1", timeout=30,
                         headers={"Authorization": "Basic " + basic})
    assert other.status_code == 401      # only the user name token


def test_idle_sockets_cannot_lock_others_out(emu):
    """With 32 connections, one address holds at most 8: 40 idle sockets
    from 127.0.0.1 leave room for a client at 127.0.0.2."""
    host, port = emu.url.split("://")[1].split(":")
    idle = []
    try:
        for _ in range(40):
            s = socket.socket()
            s.settimeout(5)
            s.connect((host, int(port)))
            s.sendall(b"GET /api/2.0/dbfs/list HTTP/1.1\r\n")   # never finished
            idle.append(s)
        time.sleep(0.5)
        other = socket.socket()
        other.bind(("127.0.0.2", 0))
        other.settimeout(10)
        other.connect((host, int(port)))
        other.sendall(("GET /api/2.0/dbfs/list?path=/ HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: Bearer %s\r\nConnection: close\r\n\r\n"
                       % Emu.TOKEN).encode())
        head = other.recv(100).decode()
        other.close()
        assert head.startswith("HTTP/1.1 "), head
        # the address that holds 8 is refused more: closed at once
        closed = 0
        for s in idle[8:]:
            try:
                closed += s.recv(1) == b""
            except OSError:
                closed += 1
        assert closed >= 30
    finally:
        for s in idle:
            s.close()


def closed_within(s, secs):
    """Seconds until the server closed s (reads nothing), or None."""
    t0 = time.monotonic()
    s.settimeout(0.2)
    while time.monotonic() - t0 < secs:
        try:
            if s.recv(1) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            pass
        except OSError:
            return time.monotonic() - t0
    return None


def test_trickled_headers_are_cut_at_their_deadline(mlflow_server):
    """A client that sends its headers a byte at a time is never idle, so
    the idle minute would let it hold its connection for ever; with
    --header-timeout 2 it is closed within about 2 s of connecting. A
    request whose headers came in time keeps its connection however slowly
    its body comes, and the kept-alive connection serves the next one."""
    e = Emu(mlflow_url=mlflow_server.url, extra=["--header-timeout", "2"]).start()
    try:
        host, port = e.url.split("://")[1].split(":")
        s = socket.create_connection((host, int(port)), timeout=5)
        t0 = time.monotonic()
        cut = None
        for ch in "GET /api/2.0/dbfs/list?path=/ HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a" * 40:
            try:
                s.sendall(ch.encode())
            except OSError:
                cut = time.monotonic() - t0
                break
            left = closed_within(s, 0.25)
            if left is not None:
                cut = time.monotonic() - t0
                break
        s.close()
        assert cut is not None, "trickled headers kept their connection for 10 s"
        assert 1.5 <= cut <= 5, cut

        # headers in at once, then a body a byte every 0.5 s for 4 s: served
        s = socket.create_connection((host, int(port)), timeout=10)
        body = b'{"path": "/slow-body.txt", "contents": "", "overwrite": true}'
        s.sendall(("POST /api/2.0/dbfs/put HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (Emu.TOKEN, len(body))).encode())
        for i in range(8):
            s.sendall(body[i:i + 1])
            time.sleep(0.5)
        s.sendall(body[8:])
        head = s.recv(200).decode()
        assert head.startswith("HTTP/1.1 200"), head
        # the same connection, kept alive: a second request at once is served
        s.sendall(("GET /api/2.0/dbfs/get-status?path=/slow-body.txt HTTP/1.1\r\n"
                   "Host: x\r\nAuthorization: Bearer %s\r\n\r\n" % Emu.TOKEN).encode())
        head = s.recv(400).decode()
        assert head.startswith("HTTP/1.1 200"), head
        s.close()
    finally:
        e.stop()


@pytest.mark.parametrize("end", ["cancel", "exit"])
def test_a_job_that_calls_setsid_does_not_survive(emu, end):
    """A task's child that leaves the task's process group and session
    (setsid) ends with the task: when the run is cancelled, and when the
    task exits leaving it behind."""
    from dbmlops_testenv import processes_of, wait_for
    script = ("setsid sleep 300 < /dev/null > /dev/null 2>&1 & "
              "echo started; " + ("sleep 300" if end == "cancel" else "sleep 1"))
    body = {"run_name": "escape", "new_cluster": {
        "spark_version": "12.2.x", "node_type_id": "i3.xlarge", "num_workers": 1},
        "shell_command_task": {"command": ["bash", "-c", script]}}
    rid = requests.post(emu.url + "/api/2.0/jobs/runs/submit", json=body,
                        headers=AUTH, timeout=30).json()["run_id"]

    def state():
        return requests.get(emu.url + "/api/2.0/jobs/runs/get", params={"run_id": rid},
                            headers=AUTH, timeout=30).json()["state"]
    wait_for(lambda: len(processes_of(rid, emu)) >= 2 or
             state()["life_cycle_state"] == "TERMINATED", 120, "the task and its child")
    if end == "cancel":
        def sessions():
            out = set()
            for p in processes_of(rid, emu):
                try:
                    out.add(os.getsid(p))
                except ProcessLookupError:
                    pass
            return out
        # the child is there before its setsid(2) has run: wait for it
        wait_for(lambda: len(sessions()) >= 2, 60, "the child to leave the task's session")
        requests.post(emu.url + "/api/2.0/jobs/runs/cancel", json={"run_id": rid},
                      headers=AUTH, timeout=30).raise_for_status()
    wait_for(lambda: state()["life_cycle_state"] == "TERMINATED", 60, "the run ended")
    wait_for(lambda: processes_of(rid, emu) == [], 30, "no process of the run left")


def test_a_full_disk_is_named(tmp_path):
    """A data directory that has filled up: an upload by each API is 500
    IO_ERROR naming the full disk (not a malformed body, not an empty
    reason), nothing is left at its path, and once there is room again the
    same upload is stored."""
    import subprocess
    from dbmlops_testenv import wait_for
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    e = Emu()
    os.makedirs(e.data)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", e.data],
                      capture_output=True).returncode != 0:
        shutil.rmtree(e.dir, ignore_errors=True)
        pytest.skip("cannot mount a tmpfs here")
    try:
        e.start()
        h = {"Authorization": "Bearer " + Emu.TOKEN}
        job = e.url + "/api/2.0/fs/files/Volumes/main/default/vol/job.py"
        requests.put(job, data=b"print('ran')\n", headers=h, timeout=30).raise_for_status()
        filler = os.path.join(e.data, "filler")
        st = os.statvfs(e.data)
        with open(filler, "wb") as f:           # all but 32 KiB
            f.write(b"\0" * (st.f_bavail * st.f_frsize - (32 << 10)))
        body = os.urandom(256 << 10)
        home = "/Users/emu-user@example.com"

        def uploads():
            return [
                requests.put(e.url + "/api/2.0/fs/files/Volumes/main/default/vol/full.bin",
                             data=body, headers=h, timeout=30),
                requests.post(e.url + "/api/2.0/dbfs/put", headers=h, timeout=30,
                              data={"path": "/full.bin", "overwrite": "true"},
                              files={"file": ("full.bin", body)}),
                requests.post(e.url + "/api/2.0/workspace/import", headers=h, timeout=30,
                              data={"path": home + "/full.py", "format": "AUTO",
                                    "overwrite": "true"},
                              files={"content": ("full.py", b"#" * len(body))}),
                requests.post(e.url + "/api/2.0/dbfs/put", headers=h, timeout=30,
                              json={"path": "/full-inline.bin", "overwrite": True,
                                    "contents": base64.b64encode(body[:700000]).decode()}),
            ]
        for r in uploads():
            assert r.status_code == 500, (r.request.url, r.status_code, r.text)
            assert r.json()["error_code"] == "IO_ERROR", r.text
            assert r.json()["message"].startswith("No space left on device"), r.text
        for p in ("dbfs/Volumes/main/default/vol/full.bin", "dbfs/full.bin",
                  "dbfs/full-inline.bin"):
            assert not os.path.exists(os.path.join(e.data, p)), p
        st = requests.get(e.url + "/api/2.0/workspace/get-status", headers=h, timeout=30,
                          params={"path": home + "/full.py"})
        assert st.status_code == 404, st.text
        # a job whose environment the full disk cannot hold says so
        rid = requests.post(e.url + "/api/2.0/jobs/runs/submit", headers=h, timeout=30, json={
            "run_name": "full", "tasks": [{"task_key": "t", "new_cluster": {
                "spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge",
                "num_workers": 1}, "spark_python_task": {
                    "python_file": "/Volumes/main/default/vol/job.py"}}]})
        assert rid.status_code == 200, rid.text
        rid = rid.json()["run_id"]

        def run():
            return requests.get(e.url + "/api/2.0/jobs/runs/get", headers=h, timeout=30,
                                params={"run_id": rid}).json()
        wait_for(lambda: run()["state"]["life_cycle_state"] in ("TERMINATED",
                 "INTERNAL_ERROR", "SKIPPED"), 120, "the run to end")
        state = run()["state"]
        assert state["result_state"] == "FAILED", state
        assert "No space left on device" in state["state_message"], state
        os.unlink(filler)
        for r in uploads():
            assert r.status_code == 200 or r.status_code == 204, (r.request.url, r.text)
    finally:
        e.stop()
        subprocess.run(["umount", "-l", e.data])
        shutil.rmtree(e.dir, ignore_errors=True)

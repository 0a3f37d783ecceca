"""workspace-emu under an unlucky operator: killed with SIGKILL while a job
runs, started twice on one data directory, flooded with idle
connections."""

import os
import signal
import socket
import subprocess

import requests

from dbmlops_testenv import Emu, processes_of, wait_for


def auth():
    return {"Authorization": "Bearer " + Emu.TOKEN}


def test_jobs_do_not_outlive_a_killed_emulator():
    e = Emu().start()
    try:
        body = {"run_name": "orphan", "new_cluster": {
            "spark_version": "12.2.x", "node_type_id": "i3.xlarge", "num_workers": 1},
            "shell_command_task": {"command": [
                "bash", "-c", "sleep 300 & sleep 300 & echo started; wait"]}}
        rid = requests.post(e.url + "/api/2.0/jobs/runs/submit", json=body,
                            headers=auth(), timeout=30).json()["run_id"]

        def running():
            g = requests.get(e.url + "/api/2.0/jobs/runs/get", params={"run_id": rid},
                             headers=auth(), timeout=30).json()
            return g["state"]["life_cycle_state"] == "RUNNING" and \
                len(processes_of(rid, e)) >= 3
        wait_for(running, 120, "the run RUNNING with its two children")
        e.proc.send_signal(signal.SIGKILL)
        e.proc.wait()
        # the task's own process died with the emulator; its children are
        # swept when the emulator starts again on the data directory
        assert processes_of(rid, e)
        e.start()
        wait_for(lambda: processes_of(rid, e) == [], 30, "the children swept")
        g = requests.get(e.url + "/api/2.0/jobs/runs/get", params={"run_id": rid},
                         headers=auth(), timeout=30).json()
        assert g["state"]["life_cycle_state"] == "INTERNAL_ERROR"
    finally:
        e.cleanup()


def test_one_emulator_a_data_directory():
    e = Emu().start()
    try:
        r = subprocess.run([e.proc.args[0], "-d", e.data, "-l", "127.0.0.1:0"],
                           env=dict(os.environ, DATABRICKS_TOKEN="x"),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1
        assert "is in use by another workspace-emu" in r.stderr
    finally:
        e.cleanup()


def threads(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([ln for ln in f if ln.startswith("Threads:")][0].split()[1])


def test_idle_connections_are_capped():
    e = Emu(extra=["--max-connections", "40"]).start()
    socks = []
    try:
        host, port = e.url.split("//")[1].split(":")
        for i in range(200):
            # from 20 addresses: one address alone may hold only a
            # quarter of the cap (test_hostile checks that)
            s = socket.socket()
            s.bind(("127.0.0.%d" % (1 + i % 20), 0))
            s.connect((host, int(port)))
            s.setblocking(False)
            socks.append(s)
        closed = set()

        def over_the_cap_closed():
            for i, s in enumerate(socks):
                try:
                    if i not in closed and s.recv(1) == b"":
                        closed.add(i)
                except BlockingIOError:
                    pass
                except ConnectionError:
                    closed.add(i)
            return len(closed) >= 200 - 40
        # the server took 40 (a thread each) and closed the other 160
        wait_for(over_the_cap_closed, 30, "the connections over the cap closed")
        assert len(closed) == 200 - 40
        assert 40 <= threads(e.proc.pid) < 40 + 20
        for s in socks:
            s.close()
        socks = []
        # their threads end with them; then the server answers again
        wait_for(lambda: threads(e.proc.pid) < 20, 30, "the idle threads gone")
        r = requests.get(e.url + "/api/2.0/dbfs/get-status", params={"path": "/"},
                         headers=auth(), timeout=30)
        assert r.status_code == 200
    finally:
        for s in socks:
            s.close()
        e.cleanup()


def test_symbolic_links_in_the_data_directory_lead_nowhere(tmp_path):
    """Job code can plant a symbolic link in the emulated storage: the APIs
    refuse to go through it, for reading and for writing."""
    e = Emu().start()
    try:
        secret = tmp_path / "outside.txt"
        secret.write_text("not for the workspace")
        d = os.path.join(e.data, "dbfs", "planted")
        os.makedirs(d)
        os.symlink(str(secret), os.path.join(d, "file"))
        os.symlink(str(tmp_path), os.path.join(d, "dir"))
        for path in ("/planted/file", "/planted/dir/outside.txt"):
            r = requests.get(e.url + "/api/2.0/dbfs/read", params={"path": path},
                             headers=auth(), timeout=30)
            assert r.status_code == 400 and "symbolic link" in r.json()["message"]
        r = requests.post(e.url + "/api/2.0/dbfs/put", headers=auth(), timeout=30,
                          json={"path": "/planted/dir/new.txt", "contents": "eA==",
                                "overwrite": True})
        assert r.status_code == 400
        assert not (tmp_path / "new.txt").exists()
        r = requests.get(e.url + "/dbfs/planted/file", headers=auth(), timeout=30)
        assert r.status_code == 400 and b"not for the workspace" not in r.content
    finally:
        e.cleanup()

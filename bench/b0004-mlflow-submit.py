"""mlflow-submit against the mlflow CLI on the same emulator: the time from
the command to a submitted run (both submit the same project and return;
`mlflow run -b databricks` does not wait, so mlflow-submit runs with
--no-wait), and the startup time of each command (--help).
Goal (ARCHITECTURE.md): beat the peer tool.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "pylib"))
from dbmlops_testenv import BIN, TOP, VENV_BIN, Emu, MlflowServer, build_example_wheel  # noqa

SUBMIT = os.path.join(BIN, "mlflow-submit")
MLFLOW = os.path.join(VENV_BIN, "mlflow")


def best(cmd, env, n=3):
    t = None
    for _ in range(n):
        s = time.monotonic()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        d = time.monotonic() - s
        if r.returncode != 0:
            raise RuntimeError(" ".join(cmd[:2]) + ": " + r.stderr[-1500:])
        t = d if t is None else min(t, d)
    return t


def main():
    tmp = tempfile.mkdtemp(prefix="dbm-bench4-")
    m = MlflowServer().start()
    e = Emu(mlflow_url=m.url, extra=["--max-runs", "1"]).start()
    try:
        env = e.env()
        whl = build_example_wheel(os.path.join(tmp, "dist"))
        up = subprocess.run([os.path.join(BIN, "dbfs-put"), "-q", "-c", whl,
                             "dbfs:/wheels/bench/"], env=env, capture_output=True,
                            text=True, check=True).stdout
        proj = os.path.join(tmp, "project")
        shutil.copytree(os.path.join(TOP, "templates", "project"), proj)
        subprocess.run([os.path.join(BIN, "wheelpath-subst"), "-i",
                        os.path.join(proj, "conda.yaml"), os.path.join(proj, "cluster.json")],
                       input=up, text=True, check=True)
        cfg = os.path.join(proj, "cluster.json")
        ours = best([SUBMIT, "-q", "--no-wait", "--mode", "shell", "-c", cfg,
                     "--experiment-name", "/Shared/bench", proj], env)
        theirs = best([MLFLOW, "run", "-b", "databricks", "--backend-config", cfg,
                       "--experiment-name", "/Shared/bench", proj],
                      dict(env, MLFLOW_TRACKING_URI="databricks"))
        h_ours = best([SUBMIT, "--help"], env, 5)
        h_theirs = best([MLFLOW, "run", "--help"], env, 5)
        print(f"submit, to a run id: mlflow-submit {ours:.3f} s, mlflow run {theirs:.3f} s:"
              f" {theirs / ours:.1f}x faster: {'met' if ours < theirs else 'MISSED'}")
        print(f"startup (--help):   mlflow-submit {h_ours * 1000:.1f} ms, "
              f"mlflow {h_theirs * 1000:.0f} ms")
        # cancel what the benchmark queued
        import requests
        h = {"Authorization": "Bearer " + Emu.TOKEN}
        for d in os.listdir(os.path.join(e.data, "jobs", "runs")):
            requests.post(e.url + "/api/2.0/jobs/runs/cancel", headers=h,
                          json={"run_id": int(d)})
    finally:
        e.cleanup()
        m.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

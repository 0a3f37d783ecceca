"""A run on a warm all-purpose cluster against a run on a new job cluster,
on the same emulator, alternating: the setup time of each task (start to
RUNNING, runs/get setup_duration). A new cluster installs its libraries
from scratch (each round gets a wheel of its own, as every new cluster
does); a run on the same running cluster reuses the environment its
libraries built there before. Medians over the pairs, the spread of the
ratio, the goal (issue: a tenth of a new cluster's time at most).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "pylib"))
from dbmlops_testenv import BIN, Emu, MlflowServer  # noqa

SUBMIT = os.path.join(BIN, "mlflow-submit")
ROUNDS = int(os.environ.get("DBMLOPS_BENCH_ROUNDS", "5"))


def wheel(tmp, version):
    src = os.path.join(tmp, "src-" + version)
    os.makedirs(os.path.join(src, "benchlib"))
    with open(os.path.join(src, "benchlib", "__init__.py"), "w") as f:
        f.write("VERSION = %r\n" % version)
    with open(os.path.join(src, "pyproject.toml"), "w") as f:
        f.write(textwrap.dedent("""\
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "benchlib"
            version = "%s"
            """ % version))
    out = os.path.join(tmp, "dist-" + version)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", out, src], check=True)
    return os.path.join(out, os.listdir(out)[0])


def setup_seconds(e, out):
    got = requests.get(e.url + "/api/2.1/jobs/runs/get", params={"run_id": out["run_id"]},
                       headers={"Authorization": "Bearer " + Emu.TOKEN}, timeout=30).json()
    return got["tasks"][0]["setup_duration"] / 1000


def main():
    tmp = tempfile.mkdtemp(prefix="dbm-bench6-")
    m = MlflowServer().start()
    e = Emu(mlflow_url=m.url, extra=["--cluster", "0101-warm:RUNNING"]).start()
    try:
        env = e.env(DBMLOPS_POLL_MAX="1")
        proj = os.path.join(tmp, "project")
        os.makedirs(proj)
        with open(os.path.join(proj, "MLproject"), "w") as f:
            f.write("name: bench\nentry_points:\n  main:\n"
                    "    command: \"python -c 'import benchlib; print(benchlib.VERSION)'\"\n")

        def run(*args):
            r = subprocess.run([SUBMIT, "-q", "--json", "--mode", "python",
                                "--experiment-name", "/Shared/bench-reuse", *args, proj],
                               env=env, capture_output=True, text=True, timeout=900)
            if r.returncode != 0:
                raise RuntimeError(r.stderr[-2000:])
            return json.loads(r.stdout)

        def libs(version):
            up = subprocess.run([os.path.join(BIN, "dbfs-put"), "-q", "-c",
                                 wheel(tmp, version), "dbfs:/wheels/bench/"], env=env,
                                capture_output=True, text=True, check=True).stdout.strip()
            return [{"whl": up}]

        warm_libs = libs("0.0.1")
        run("--cluster-id", "0101-warm", "-c", json.dumps({"libraries": warm_libs}))
        new, warm = [], []
        for i in range(ROUNDS):
            cfg = {"new_cluster": {"spark_version": "15.4.x-scala2.12",
                                   "node_type_id": "i3.xlarge", "num_workers": 1},
                   "libraries": libs("1.0.%d" % i)}
            new.append(setup_seconds(e, run("-c", json.dumps(cfg))))
            warm.append(setup_seconds(e, run("--cluster-id", "0101-warm", "-c",
                                             json.dumps({"libraries": warm_libs}))))
        ratios = sorted(w / n for w, n in zip(warm, new))
        med = statistics.median(ratios)
        load = os.getloadavg()[0]
        print(f"setup to RUNNING, {ROUNDS} alternating pairs (load {load:.2f}):")
        print(f"  new job cluster     median {statistics.median(new):.3f} s "
              f"(min {min(new):.3f}, max {max(new):.3f})")
        print(f"  warm cluster, again median {statistics.median(warm):.3f} s "
              f"(min {min(warm):.3f}, max {max(warm):.3f})")
        print(f"  ratio warm/new median {med:.3f} (spread {ratios[0]:.3f}..{ratios[-1]:.3f}):"
              f" {'met' if med <= 0.1 else 'MISSED'} (goal <= 0.1)")
    finally:
        e.cleanup()
        m.stop()


if __name__ == "__main__":
    t = time.monotonic()
    main()
    print(f"({time.monotonic() - t:.0f} s)")

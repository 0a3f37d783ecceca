"""branch-name against `git rev-parse --abbrev-ref HEAD` in the same
repository (200 branches, packed refs), in pairs run alternately in this
one process: batches of 50 runs of each side, the order swapped every
batch, the same number of batches each; per batch the mean time of a run,
then the median of each side, the median of the per-batch ratio with its
spread, and CPU time beside wall time. Goal (issue: foundation): at most
2x git's wall time; branch-name reads .git itself and spawns nothing.
DBMLOPS_BENCH_ROUNDS sets the batches (10).
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "pylib"))
from dbmlops_testenv import BIN  # noqa: E402

ROUNDS = int(os.environ.get("DBMLOPS_BENCH_ROUNDS", "10"))
BATCH = 50


def batch(cmd, cwd):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    for _ in range(BATCH):
        subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
    wall = (time.monotonic() - t) / BATCH
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) / BATCH
    return wall * 1000, cpu * 1000


def main():
    tmp = tempfile.mkdtemp(prefix="dbm-bench1-")
    repo = os.path.join(tmp, "repo")
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run(git + ["-c", "init.defaultBranch=main", "init", "-q", repo], check=True)
    subprocess.run(git + ["-C", repo, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    subprocess.run(["git", "-C", repo, "checkout", "-q", "-b", "feature/bench"], check=True)
    for i in range(200):
        subprocess.run(["git", "-C", repo, "branch", "b%d" % i], check=True)
    subprocess.run(["git", "-C", repo, "pack-refs", "--all"], check=True)
    ours_cmd = [os.path.join(BIN, "branch-name")]
    git_cmd = ["git", "rev-parse", "--abbrev-ref", "HEAD"]
    for cmd in (ours_cmd, git_cmd):        # warm the page cache
        batch(cmd, repo)
    ours, theirs = [], []
    for i in range(ROUNDS):
        sides = [(ours_cmd, ours), (git_cmd, theirs)]
        if i % 2:
            sides.reverse()
        for cmd, out in sides:
            out.append(batch(cmd, repo))
    ratios = sorted(o[0] / g[0] for o, g in zip(ours, theirs))
    med = statistics.median(ratios)
    print(f"load {os.getloadavg()[0]:.2f}, {ROUNDS} alternating batches of {BATCH} runs:")
    print(f"  git rev-parse --abbrev-ref HEAD: {statistics.median(x[0] for x in theirs):.3f}"
          f" ms wall, {statistics.median(x[1] for x in theirs):.3f} ms cpu")
    print(f"  branch-name:                     {statistics.median(x[0] for x in ours):.3f}"
          f" ms wall, {statistics.median(x[1] for x in ours):.3f} ms cpu")
    print(f"  ratio branch-name/git median {med:.2f}x (spread {ratios[0]:.2f}.."
          f"{ratios[-1]:.2f}; goal <= 2x): {'met' if med <= 2 else 'MISSED'}")


if __name__ == "__main__":
    main()

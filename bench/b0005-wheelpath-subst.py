"""wheelpath-subst on large env and cluster files: cost must follow the size
of the file (linear), not its square. Each size runs alternately with the
peer a team would script by hand (Python: read, str.replace, parse the
result to check it), 5 runs each, median and spread reported. Goals:
  - 10x the placeholders costs at most 15x the time (linear, with slack)
  - faster than the Python peer at every size
  - peak RSS at most 8x the input size plus 32 MiB (the process floor)
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "pylib"))
from dbmlops_testenv import BIN, VENV_BIN  # noqa: E402

TOOL = os.path.join(BIN, "wheelpath-subst")
W = "dbfs:/wheels/builds/x/pkg0-1.0-py3-none-any.whl"
PEER = r"""
import json, sys, yaml
src, dst, kind = sys.argv[1:4]
s = open(src, encoding="utf-8").read()
s = s.replace("/dbfs/wheels/builds/WHEELPATH", "/dbfs/wheels/builds/x") \
     .replace("dbfs:/wheels/builds/WHEELPATH", "dbfs:/wheels/builds/x")
(yaml.safe_load if kind == "yaml" else json.loads)(s)
open(dst, "w", encoding="utf-8").write(s)
"""


def write(path, kind, n):
    with open(path, "w", encoding="utf-8") as f:
        if kind == "yaml":
            f.write("name: big\ndependencies:\n  - pip:\n")
            for i in range(n):
                f.write(f"    - /dbfs/wheels/builds/WHEELPATH/pkg{i % 7}"
                        f"-1.0-py3-none-any.whl  # é {i}\n")
        else:
            f.write('{"libraries": [\n')
            f.write(",\n".join(
                '  {"whl": "dbfs:/wheels/builds/WHEELPATH/pkg0-1.0-py3-none-any.whl"}'
                if i % 2 else f'  {{"pypi": {{"package": "p{i}"}}}}'
                for i in range(2 * n)))
            f.write("\n]}\n")


def run(cmd):
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.monotonic() - t
    if status != 0:
        raise RuntimeError(f"{cmd[0]} failed: {p.stderr.read()[-2000:]}")
    p.stderr.close()
    return dt, ru.ru_maxrss  # KiB on Linux


def main():
    tmp = tempfile.mkdtemp(prefix="dbm-bench-")
    py = os.path.join(VENV_BIN, "python")
    ok = True
    for kind in ("yaml", "json"):
        med = {}
        for n in (20000, 200000):
            src = os.path.join(tmp, f"env.{kind}")
            out = os.path.join(tmp, f"out.{kind}")
            write(src, kind, n)
            size = os.path.getsize(src)
            ours, peer, rss = [], [], 0
            for _ in range(5):  # alternating
                dt, kb = run([TOOL, "-w", W, "-o", out, src])
                ours.append(dt)
                rss = max(rss, kb)
                peer.append(run([py, "-c", PEER, src, out, kind])[0])
            m, pm = statistics.median(ours), statistics.median(peer)
            med[n] = m
            print(f"{kind} {n} placeholders, {size / 1e6:.1f} MB: "
                  f"wheelpath-subst {m * 1000:.0f} ms "
                  f"(spread {(max(ours) - min(ours)) * 1000:.0f}), "
                  f"python peer {pm * 1000:.0f} ms "
                  f"(spread {(max(peer) - min(peer)) * 1000:.0f}), "
                  f"peak RSS {rss / 1024:.0f} MiB "
                  f"({rss * 1024 / size:.1f}x input)")
            faster = m < pm
            small = rss * 1024 <= 8 * size + 32 * 1024 * 1024
            print(f"  faster than peer: {'met' if faster else 'MISSED'}; "
                  f"RSS <= 8x input + 32 MiB: {'met' if small else 'MISSED'}")
            ok = ok and faster and small
        r = med[200000] / med[20000]
        lin = r <= 15
        print(f"{kind}: 10x placeholders -> {r:.1f}x time (goal <= 15x): "
              f"{'met' if lin else 'MISSED'}")
        ok = ok and lin
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

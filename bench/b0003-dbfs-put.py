"""dbfs-put side by side with the peer tools on the same emulator and the
same files (50 x 2 MiB + 1 x 200 MiB). Goals (issue: dbfs-put):
  - at least 5x faster than the legacy `dbfs cp -r --overwrite`
  - at least 1.5x faster than the Go `databricks fs cp -r --overwrite`
    (when a `databricks` binary of the Go CLI is on PATH)
  - within 1.3x of the floor: the same bytes as parallel curl PUTs
  - peak RSS at most 16 MiB while uploading a 1 GiB file
  - an unchanged content-addressed re-upload under 5% of the first upload
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "pylib"))
from dbmlops_testenv import BIN, VENV_BIN, Emu, legacy_cli_emu  # noqa: E402

MiB = 1024 * 1024
PUT = os.path.join(BIN, "dbfs-put")


def timed(cmd, env, runs=3, prep=None):
    best = None
    for _ in range(runs):
        if prep:
            prep()
        t = time.monotonic()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        dt = time.monotonic() - t
        if r.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {r.stderr[-2000:]}")
        best = dt if best is None else min(best, dt)
    return best


def verdict(ok):
    return "met" if ok else "MISSED"


def main():
    tmp = tempfile.mkdtemp(prefix="dbm-bench-")
    src = os.path.join(tmp, "dist")
    os.makedirs(src)
    for i in range(50):
        with open(os.path.join(src, f"w{i:02d}-1.0-py3-none-any.whl"), "wb") as f:
            f.write(os.urandom(2 * MiB))
    with open(os.path.join(src, "big.bin"), "wb") as f:
        f.write(os.urandom(200 * MiB))
    e = legacy_cli_emu() or Emu().start()
    env = e.env(DBMLOPS_RETRY_BACKOFF="0.2")
    print(f"emulator {e.url}; 50 x 2 MiB + 1 x 200 MiB")
    try:
        def clean(p):
            return lambda: shutil.rmtree(e.path("dbfs", p), ignore_errors=True)

        res = {}
        res["dbfs-put dbfs:/"] = timed([PUT, "-q", "-f", "-r", src, "dbfs:/b/put/"],
                                       env, prep=clean("b/put"))
        res["dbfs-put /Volumes"] = timed([PUT, "-q", "-f", "-r", src,
                                          "/Volumes/b/e/n/put/"], env,
                                         prep=clean("Volumes/b/e/n/put"))
        files = sorted(os.listdir(src))
        curl_script = os.path.join(tmp, "curl.sh")
        with open(curl_script, "w") as f:
            f.write("cd '%s' && printf '%%s\\n' %s | xargs -P 8 -I{} curl -sf "
                    "-o /dev/null -H \"Authorization: Bearer $DATABRICKS_TOKEN\" "
                    "-T {} \"$DATABRICKS_HOST/api/2.0/fs/files/Volumes/b/e/n/curl/{}\"\n"
                    % (src, " ".join(files)))
        res["curl floor (8 parallel PUTs)"] = timed(["sh", curl_script], env,
                                                    prep=clean("Volumes/b/e/n/curl"))
        if e.listen.endswith(":80"):
            res["legacy dbfs cp -r --overwrite"] = timed(
                [os.path.join(VENV_BIN, "dbfs"), "cp", "-r", "--overwrite", src,
                 "dbfs:/b/legacy"], env, runs=1, prep=clean("b/legacy"))
        go = shutil.which("databricks")
        if go:
            res["Go databricks fs cp -r --overwrite"] = timed(
                [go, "fs", "cp", "-r", "--overwrite", src, "dbfs:/b/go"], env,
                runs=2, prep=clean("b/go"))
        for k, v in res.items():
            print(f"{k:40s} {v:7.3f} s")
        put = res["dbfs-put dbfs:/"]
        vol = res["dbfs-put /Volumes"]
        floor = res["curl floor (8 parallel PUTs)"]
        print(f"vs curl floor: {vol / floor:.2f}x (goal <= 1.3x): {verdict(vol / floor <= 1.3)}")
        if "legacy dbfs cp -r --overwrite" in res:
            s = res["legacy dbfs cp -r --overwrite"] / put
            print(f"vs legacy dbfs cp: {s:.1f}x faster (goal >= 5x): {verdict(s >= 5)}")
        else:
            print("vs legacy dbfs cp: not run (needs port 80 on loopback: root)")
        if go:
            s = res["Go databricks fs cp -r --overwrite"] / put
            print(f"vs Go CLI: {s:.1f}x faster (goal >= 1.5x): {verdict(s >= 1.5)}")
        else:
            print("vs Go CLI: not run (no `databricks` Go CLI on PATH)")

        # an unchanged content-addressed re-upload
        first = timed([PUT, "-q", "-c", "-r", src, "dbfs:/b/ca"], env, runs=1,
                      prep=clean("b/ca"))
        again = timed([PUT, "-q", "-c", "-r", src, "dbfs:/b/ca"], env, runs=3)
        print(f"content-addressed: first {first:.3f} s, unchanged again {again:.3f} s"
              f" = {100 * again / first:.1f}% (goal < 5%): {verdict(again < 0.05 * first)}")

        # memory while uploading 1 GiB
        big = os.path.join(tmp, "1g.bin")
        with open(big, "wb") as f:
            for _ in range(1024):
                f.write(os.urandom(MiB))
        for dest in ["dbfs:/b/1g.bin", "/Volumes/b/e/n/1g.bin"]:
            r = subprocess.run(["/usr/bin/time", "-f", "%M", PUT, "-q", "-f", big, dest],
                               env=env, capture_output=True, text=True)
            kib = int(r.stderr.strip().splitlines()[-1])
            print(f"peak RSS, 1 GiB to {dest.split(':')[0] if ':' in dest else '/Volumes'}: "
                  f"{kib / 1024:.1f} MiB (goal <= 16): {verdict(kib <= 16 * 1024)}")
    finally:
        e.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

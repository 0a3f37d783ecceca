"""Servers for the Python test tiers: workspace-emu and a real MLflow
tracking server, each on a free loopback port, started and stopped by the
tests themselves."""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("DBMLOPS_BIN", os.path.join(TOP, "build", "bin"))
VENV_BIN = os.path.dirname(sys.executable)
# make's arguments for the build under test (B=..., SANITIZE=...), from
# the Makefile's test-py, for tests that run make in the checkout
MAKE_ARGS = os.environ.get("DBMLOPS_TEST_MAKE_ARGS", "").split()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what}: not seen within {timeout}s")


class MlflowServer:
    """`mlflow server` with a SQLite backend in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dbm-mlflow-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self, env=None):
        log = open(os.path.join(self.dir, "server.log"), "wb")
        # MLflow 3 starts job-execution consumers (8 Python processes of
        # about 270 MB) with every server; the tests use none of them
        env = dict(env or os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        self.proc = subprocess.Popen(
            [os.path.join(VENV_BIN, "mlflow"), "server",
             "--backend-store-uri", f"sqlite:///{self.dir}/mlflow.db",
             "--default-artifact-root", "dbfs:/mlflow-artifacts",
             "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("mlflow server exited: " + self.log())
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for(up, 120, "mlflow server")
        return self

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Emu:
    """A workspace-emu process with its own data directory and token."""

    TOKEN = "dapi-emu-test-token"
    CLIENT_ID = "emu-client"
    CLIENT_SECRET = "emu-client-secret"

    # The workspace kind (workspace-emu's default is a new account's: no
    # DBFS root, runtimes from 13.3 LTS). Most tests drive the DBFS API and
    # shell mode on 12.2, which only an older workspace has; tests of the
    # new workspace pass workspace="new" (or "serverless").
    KIND_FLAGS = {"legacy": ["--legacy-dbfs"], "new": [],
                  "serverless": ["--serverless-only"]}
    # the Unity Catalog volumes the tests write to, as an admin would have
    # made them
    VOLUMES = ("c.s.v", "b.e.n", "main.default.vol", "main.ml.wheels",
               "main.ml.code", "main.ml.w", "cat.sch.vol")

    def __init__(self, mlflow_url=None, faults=None, seed=1, extra=(),
                 listen="127.0.0.1:0", workspace="legacy", volumes=VOLUMES):
        self.dir = tempfile.mkdtemp(prefix="dbm-emu-")
        self.data = os.path.join(self.dir, "data")
        self.holds = os.path.join(self.dir, "holds")
        self.logpath = os.path.join(self.dir, "requests.jsonl")
        self.mlflow_url = mlflow_url
        self.faults = faults
        self.seed = seed
        self.extra = (list(self.KIND_FLAGS[workspace]) +
                      [a for v in volumes for a in ("--volume", v)] +
                      list(extra))
        self.workspace = workspace
        self.listen = listen
        self.proc = None
        self.url = None

    def start(self):
        os.makedirs(self.holds, exist_ok=True)
        with open(os.path.join(self.dir, "tokens"), "w") as f:
            f.write(self.TOKEN + "\n")
        with open(os.path.join(self.dir, "clients"), "w") as f:
            f.write(f"{self.CLIENT_ID}:{self.CLIENT_SECRET}\n")
        urlfile = os.path.join(self.dir, "url")
        if os.path.exists(urlfile):
            os.unlink(urlfile)
        cmd = [os.path.join(BIN, "workspace-emu"), "-d", self.data,
               "-l", self.listen, "--token-file",
               os.path.join(self.dir, "tokens"), "--client-file",
               os.path.join(self.dir, "clients"), "--url-file", urlfile,
               "--log", self.logpath, "--hold-dir", self.holds] + self.extra
        if self.mlflow_url:
            cmd += ["--mlflow-url", self.mlflow_url]
        cmd += ["--python", sys.executable]
        if self.faults:
            cmd += ["--faults", self.faults, "--seed", str(self.seed)]
        env = {k: v for k, v in os.environ.items() if k != "DATABRICKS_TOKEN"}
        self.stderr = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, env=env)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("workspace-emu exited: " +
                                   open(os.path.join(self.dir, "stderr")).read())
            return os.path.exists(urlfile)
        wait_for(up, 20, "workspace-emu")
        with open(urlfile) as f:
            self.url = f.read().strip()
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def requests(self):
        """The request log: one dict per request."""
        try:
            with open(self.logpath) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def wait_request(self, pred, timeout=60, start=0, what="a request"):
        """The first request-log line from index start on for which
        pred(line) holds, waiting for it to be written (the emulator writes
        a request's line once it is answered or ended)."""
        found = []

        def seen():
            found[:] = [r for r in self.requests()[start:] if pred(r)]
            return found
        wait_for(seen, timeout, what)
        return found[0]

    def wait_held(self, n=1, timeout=60):
        """Wait until n requests are held by a `hold` fault (each is under
        way: it arrived, and its body is not read yet); their numbers."""
        def held():
            return len(self.held()) >= n
        wait_for(held, timeout, "%d held request(s)" % n)
        return self.held()

    def held(self):
        return sorted(int(f) for f in os.listdir(self.holds) if f.isdigit())

    def release(self, *numbers):
        """Let held requests go on (all of them when none is named)."""
        for n in numbers or self.held():
            try:
                os.unlink(os.path.join(self.holds, str(n)))
            except FileNotFoundError:
                pass

    def env(self, **extra):
        """An environment for clients pointed at this emulator."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DATABRICKS_", "MLFLOW_", "ARM_"))
               and k != "DBMLOPS_WORKSPACE"}
        # the tools are told what kind of workspace this is, as a team
        # on an older workspace tells them
        if self.workspace == "legacy":
            env["DBMLOPS_WORKSPACE"] = "legacy"
        # wheels are built with the venv's setuptools: an isolated build
        # (the include's default) would fetch it from the index for every
        # test; the tests of isolation turn it back on
        env["DBMLOPS_BUILD_ISOLATION"] = "off"
        env.update(DATABRICKS_HOST=self.url, DATABRICKS_TOKEN=self.TOKEN,
                   HOME=self.dir, DATABRICKS_CONFIG_FILE=os.path.join(
                       self.dir, "no-databrickscfg"))
        env.update(extra)
        return env

    def path(self, root, p):
        """The file in the data directory behind an API path."""
        return os.path.join(self.data, root, p.lstrip("/"))


# A job's script that runs until the test lets it end: it prints
# "sleeping", then waits until the gate file it is given exists (at most
# ten minutes). Tests that cancel a run or time it out never open the gate:
# the job is still running when they act, whatever the machine's speed.
GATE_PY = """\
import os, sys, time
print("sleeping", flush=True)
end = time.monotonic() + 600
while not os.path.exists(sys.argv[1]) and time.monotonic() < end:
    time.sleep(0.05)
print("released", flush=True)
"""


def processes_of(run_id, emu=None):
    """pids whose environment names the task run (of emu, when given: test
    processes of other workers run emulators of their own)."""
    want = {("DATABRICKS_RUN_ID=%d" % run_id).encode()}
    if emu is not None:
        want.add(("DBMLOPS_EMU_DATA=%s" % emu.data).encode())
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % p, "rb") as f:
                if want <= set(f.read().split(b"\0")):
                    found.append(int(p))
        except OSError:
            pass
    return found


def submit_long_run(emu, env, tmp_path, experiment, calls, need):
    """mlflow-submit of a project on a new job cluster whose job runs until
    the credential was renewed while mlflow-submit waits: calls() counts
    the token requests of interest, and the job's gate opens once `need`
    more have been made than at the start (the first, then refreshes).
    Returns the finished process and the MLflow run's mlflow.user tag
    (None when the run did not succeed)."""
    proj = tmp_path / "long-run"
    proj.mkdir()
    gate = tmp_path / "gate"
    (proj / "gate.py").write_text(GATE_PY)
    (proj / "MLproject").write_text(
        "name: p\nentry_points:\n  main:\n    command: \"python gate.py '%s'\"\n" % gate)
    cfg = json.dumps({"spark_version": "12.2.x", "node_type_id": "i3.xlarge",
                      "num_workers": 1})
    n = calls()
    p = subprocess.Popen([os.path.join(BIN, "mlflow-submit"), "-c", cfg, "--json", "--mode",
                          "shell", "--experiment-name", experiment, str(proj)],
                         env=dict(env, DBMLOPS_POLL_MAX="1", **(
                             {"DBMLOPS_WORKSPACE": "legacy"}
                             if emu.workspace == "legacy" else {})),
                         stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        def renewed():
            if p.poll() is not None:
                return True     # ended early: the caller sees why
            return calls() - n >= need
        wait_for(renewed, 120, "%d token request(s)" % need)
    finally:
        gate.touch()
    out, err = p.communicate(timeout=600)
    r = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    if r.returncode != 0:
        return r, None
    req = urllib.request.Request(
        emu.url + "/api/2.0/mlflow/runs/get?run_id=" + json.loads(r.stdout)["mlflow_run_id"],
        headers={"Authorization": "Bearer " + Emu.TOKEN})
    with urllib.request.urlopen(req, timeout=30) as f:
        tags = json.load(f)["run"]["data"]["tags"]
    return r, {t["key"]: t["value"] for t in tags}.get("mlflow.user")


def legacy_cli_emu(**kw):
    """A workspace-emu the legacy databricks-cli (0.18) can reach: that
    client keeps only the host name of DATABRICKS_HOST and drops its port,
    so the emulator must listen on port 80, on a loopback address of its
    own. Needs root (or CAP_NET_BIND_SERVICE); returns None without it."""
    import random
    for _ in range(5):
        addr = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255),
                                 random.randint(2, 254))
        e = Emu(listen=addr + ":80", **kw)
        try:
            return e.start()
        except RuntimeError:
            e.cleanup()
    return None


def build_example_wheel(dest):
    """Build the example wheel of templates/wheel into dest; its path."""
    src = os.path.join(TOP, "templates", "wheel")
    work = tempfile.mkdtemp(prefix="dbm-wheel-")
    shutil.copytree(src, os.path.join(work, "wheel"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", dest,
                    os.path.join(work, "wheel")], check=True)
    shutil.rmtree(work, ignore_errors=True)
    return os.path.join(dest, [f for f in os.listdir(dest) if f.endswith(".whl")][0])


def toolkit_repo(dest, tag):
    """This work tree's files (tracked, and untracked but not ignored) as a
    git repository with a release tag: the dbmlops a team would fetch.
    Returns its file:// URL."""
    files = subprocess.run(["git", "-C", TOP, "ls-files", "-co", "--exclude-standard"],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    for f in filter(None, files):
        src = os.path.join(TOP, f)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, f)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, f))
    git = ["git", "-C", str(dest), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "release"], check=True)
    subprocess.run(git + ["tag", tag], check=True)
    return "file://" + str(dest)


def toolkit_release(dest):
    """The release tarball of this work tree as `make dist` makes it (from a
    repository of its files, so uncommitted changes are in), with its
    SHA-256: (file:// URL, hex digest), what a release page serves."""
    repo = toolkit_repo(os.path.join(str(dest), "repo"), "release")[len("file://"):]
    out = os.path.join(str(dest), "dist")
    tarball = subprocess.run(["sh", os.path.join(repo, "scripts", "dist.sh"), out],
                             capture_output=True, text=True, check=True).stdout.strip()
    import hashlib
    with open(tarball, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return "file://" + tarball, digest


def tiny_wheel(path, mark):
    """A wheel stalepkg 1.0 whose module says mark (RECORD with hashes)."""
    import base64
    import hashlib
    import zipfile
    files = {
        "stalepkg/__init__.py": ("MARK = %r\n" % mark).encode(),
        "stalepkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: stalepkg\nVersion: 1.0\n",
        "stalepkg-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                        b"Tag: py3-none-any\n",
    }
    record = ""
    for name, data in files.items():
        h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\n" % (name, h, len(data))
    record += "stalepkg-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr("stalepkg-1.0.dist-info/RECORD", record)


def python_of(minor):
    """An interpreter of Python 3.<minor> on this machine that runs as one
    (a pyenv shim of a version not selected does not), or None."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for p in sorted(glob.glob(f"{root}/versions/3.{minor}.*/bin/python3.{minor}")) + \
            [shutil.which(f"python3.{minor}")]:
        if p and subprocess.run([p, "-c", f"import sys; sys.exit(sys.version_info[:2] != (3, {minor}))"],
                                capture_output=True).returncode == 0:
            return p
    return None

"""dbfs-put against workspace-emu, asserting on the emulator's request log
as well as on the files that arrived."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from dbmlops_testenv import BIN, Emu

MiB = 1024 * 1024
PUT = os.path.join(BIN, "dbfs-put")


def run(emu, *args, env=None, timeout=300, cwd=None):
    e = emu.env(DBMLOPS_RETRY_BACKOFF="0.05", **(env or {}))
    return subprocess.run([PUT, "-q", *args], env=e, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(MiB), b""):
            h.update(b)
    return h.hexdigest()


def make_tree(root, sizes=(0, 1, MiB - 1, MiB, MiB + 1)):
    os.makedirs(os.path.join(root, "nested", "deeper"), exist_ok=True)
    files = {}
    for i, n in enumerate(sizes):
        rel = ["plain-%d.bin" % n, "nested/with space %d.whl" % n,
               "nested/deeper/ünï #%d %%.bin" % n][i % 3]
        with open(os.path.join(root, rel), "wb") as f:
            f.write(os.urandom(n))
        files[rel] = sha(os.path.join(root, rel))
    return files


def remote_file(emu, uri):
    if uri.startswith("dbfs:"):
        return emu.path("dbfs", uri[5:])
    if uri.startswith("/Volumes/"):
        return emu.path("dbfs", uri)
    assert uri.startswith("/Workspace/")
    return emu.path("workspace", uri[len("/Workspace"):])


DESTS = ["dbfs:/wheels/b1", "/Volumes/main/default/vol/b1", "/Workspace/Shared/b1"]


@pytest.mark.parametrize("dest", DESTS)
def test_tree_to_every_destination(emu_plain, tmp_path, dest):
    src = tmp_path / "dist"
    files = make_tree(str(src))
    r = run(emu_plain, "-r", str(src), dest + "/")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert sorted(lines) == sorted(dest + "/" + rel for rel in files)
    for rel, digest in files.items():
        assert sha(remote_file(emu_plain, dest + "/" + rel)) == digest


def test_single_file_semantics(emu_plain, tmp_path):
    f = tmp_path / "pkg-1.0-py3-none-any.whl"
    f.write_bytes(b"wheel")
    r = run(emu_plain, str(f), "dbfs:/x/renamed.whl")
    assert r.stdout == "dbfs:/x/renamed.whl\n", r.stderr
    r = run(emu_plain, str(f), "dbfs:/x/dir/")
    assert r.stdout == "dbfs:/x/dir/pkg-1.0-py3-none-any.whl\n"
    r = run(emu_plain, "--print", "fuse", str(f), "dbfs:/x/dir2/")
    assert r.stdout == "/dbfs/x/dir2/pkg-1.0-py3-none-any.whl\n"
    r = run(emu_plain, str(f), "dbfs:/Volumes/c/s/v/f.whl")
    assert r.stdout == "/Volumes/c/s/v/f.whl\n"
    assert open(emu_plain.path("dbfs", "Volumes/c/s/v/f.whl"), "rb").read() == b"wheel"


def test_multipart_put_is_one_request(emu_plain, tmp_path):
    f = tmp_path / "a.whl"
    f.write_bytes(os.urandom(3 * MiB))
    assert run(emu_plain, str(f), "dbfs:/one/a.whl").returncode == 0
    log = [x for x in emu_plain.requests() if x["path"].startswith("/api/2.0/dbfs/")]
    assert [x["path"] for x in log] == ["/api/2.0/dbfs/put"]
    assert log[0]["bytes_in"] > 3 * MiB
    assert log[0]["bytes_in"] < 3 * MiB + 4096      # raw bytes, no base64
    # nothing but the file is in the folder
    assert os.listdir(emu_plain.path("dbfs", "one")) == ["a.whl"]


@pytest.mark.parametrize("dest", DESTS)
def test_request_counts(emu_plain, tmp_path, dest):
    """One request per file, new or overwritten (-f) or refused (no -f);
    -c on an unchanged file one request (the destination's listing) and no
    bytes. Workspace folders are made once per folder (not counted)."""
    def per_file(since):
        return [(x["method"], x["path"]) for x in emu_plain.requests()[since:]
                if x["path"] != "/api/2.0/workspace/mkdirs"]
    f = tmp_path / "w.whl"
    f.write_bytes(b"one" * 1000)
    for flags, code in (((), 0), (("-f",), 0), ((), 1)):
        n = len(emu_plain.requests())
        r = run(emu_plain, *flags, str(f), dest + "/counts/w.whl")
        assert r.returncode == code, r.stderr
        assert len(per_file(n)) == 1, per_file(n)
    r = run(emu_plain, "-c", str(f), dest + "/ca/")
    assert r.returncode == 0, r.stderr
    n = len(emu_plain.requests())
    r = run(emu_plain, "-c", str(f), dest + "/ca/")
    assert r.returncode == 0, r.stderr
    assert len(per_file(n)) == 1, per_file(n)
    assert sum(x["bytes_in"] for x in emu_plain.requests()[n:]) < 1024


def test_volume_is_one_put_per_file(emu_plain, tmp_path):
    src = tmp_path / "d"
    files = make_tree(str(src), sizes=(10, 20, 30, 40))
    assert run(emu_plain, "-r", str(src), "/Volumes/c/s/v/one/").returncode == 0
    log = emu_plain.requests()
    assert len(log) == len(files)
    assert all(x["method"] == "PUT" for x in log)


def test_large_file_streams_above_put_limit(emu_plain, tmp_path):
    f = tmp_path / "big.bin"
    f.write_bytes(os.urandom(5 * MiB + 3))
    r = run(emu_plain, str(f), "dbfs:/big/big.bin",
            env={"DBMLOPS_DBFS_PUT_MAX": str(2 * MiB)})
    assert r.returncode == 0, r.stderr
    assert sha(emu_plain.path("dbfs", "big/big.bin")) == sha(f)
    paths = [x["path"] for x in emu_plain.requests()]
    assert paths.count("/api/2.0/dbfs/add-block") == 6
    assert "/api/2.0/dbfs/put" not in paths


def test_falls_back_when_server_refuses_put(tmp_path):
    e = Emu(extra=["--put-max", str(MiB)]).start()
    try:
        f = tmp_path / "big.bin"
        f.write_bytes(os.urandom(2 * MiB + 1))
        r = run(e, str(f), "dbfs:/fb/big.bin")
        assert r.returncode == 0, r.stderr
        assert sha(e.path("dbfs", "fb/big.bin")) == sha(f)
        paths = [x["path"] for x in e.requests()]
        assert "/api/2.0/dbfs/put" in paths and "/api/2.0/dbfs/close" in paths
    finally:
        e.cleanup()


@pytest.mark.parametrize("dest", DESTS)
def test_overwrite_rules(emu_plain, tmp_path, dest):
    f = tmp_path / "w.whl"
    f.write_bytes(b"one")
    assert run(emu_plain, str(f), dest + "/w.whl").returncode == 0
    f.write_bytes(b"two")
    r = run(emu_plain, str(f), dest + "/w.whl")
    assert r.returncode == 1
    assert "already exists (use -f to overwrite)" in r.stderr
    assert r.stdout == ""
    assert open(remote_file(emu_plain, dest + "/w.whl"), "rb").read() == b"one"
    r = run(emu_plain, "-f", str(f), dest + "/w.whl")
    assert r.returncode == 0, r.stderr
    assert open(remote_file(emu_plain, dest + "/w.whl"), "rb").read() == b"two"


@pytest.mark.parametrize("dest", DESTS)
def test_content_addressed_skip_sends_no_bytes(emu_plain, tmp_path, dest):
    src = tmp_path / "dist"
    make_tree(str(src), sizes=(1000, MiB + 1, 5))
    r1 = run(emu_plain, "-c", "--json", "-r", str(src), dest)
    assert r1.returncode == 0, r1.stderr
    m1 = json.loads(r1.stdout)["files"]
    for f in m1:
        assert f["remote"].startswith(dest + "/" + f["sha256"][:16] + "/")
        assert not f["skipped"]
        assert sha(remote_file(emu_plain, f["remote"])) == f["sha256"]
    n = len(emu_plain.requests())
    r2 = run(emu_plain, "-c", "--json", "-r", str(src), dest)
    m2 = json.loads(r2.stdout)["files"]
    assert [f["remote"] for f in m2] == [f["remote"] for f in m1]
    assert all(f["skipped"] for f in m2)
    second = emu_plain.requests()[n:]
    assert sum(x["bytes_in"] for x in second) < 4096, second
    # new content, new path
    with open(src / "plain-1000.bin", "ab") as fh:
        fh.write(b"!")
    r3 = run(emu_plain, "-c", "-r", str(src), dest)
    assert len(set(r3.stdout.splitlines()) - {f["remote"] for f in m1}) == 1


@pytest.mark.parametrize("dest", DESTS)
@pytest.mark.parametrize("seed", [int(s) for s in os.environ.get("DBMLOPS_FAULT_SEEDS", "3 11 12345").split()])
def test_faults_still_byte_exact(tmp_path, dest, seed):
    e = Emu(faults="429=0:0.2,503=0:0.2,drop:0.2", seed=seed).start()
    try:
        src = tmp_path / "dist"
        files = make_tree(str(src), sizes=(0, 1, MiB - 1, MiB, MiB + 1, 70000, 3 * MiB,
                                           10, 20, 30, 40, 50, 60))
        r = run(e, "-r", "-j", "4", str(src), dest + "/")
        assert r.returncode == 0, r.stderr
        for rel, digest in files.items():
            assert sha(remote_file(e, dest + "/" + rel)) == digest
        faults = [x["fault"] for x in e.requests() if x["fault"]]
        assert faults
        if seed in (3, 11, 12345):      # these seeds hit every kind
            assert {"429", "503", "drop"} <= set(faults), faults
    finally:
        e.cleanup()


def test_kill_mid_upload_then_rerun(tmp_path):
    """SIGKILL while the one put of an overwrite is under way (the server
    holds it, its body unread, until the test lets it go): the path keeps
    the old file, whole, and nothing else appears beside it; a rerun
    completes."""
    e = Emu(faults="hold=2:1@/api/2.0/dbfs/put").start()   # the first two puts
    try:
        f = tmp_path / "big.bin"
        f.write_bytes(b"old" * 1000)
        p = subprocess.Popen([PUT, "-q", str(f), "dbfs:/k/big.bin"], env=e.env())
        e.release(*e.wait_held(1))
        assert p.wait(60) == 0
        old = sha(e.path("dbfs", "k/big.bin"))
        f.write_bytes(os.urandom(40 * MiB))
        start = len(e.requests())
        p = subprocess.Popen([PUT, "-q", "-f", str(f), "dbfs:/k/big.bin"],
                             env=e.env(), stdout=subprocess.PIPE)
        (held,) = e.wait_held(1)    # the put arrived; its body is on the way
        assert p.poll() is None
        p.send_signal(signal.SIGKILL)
        p.wait()
        e.release(held)
        # the server reads the cut body, then ends the request unanswered
        end = e.wait_request(lambda r: r["path"] == "/api/2.0/dbfs/put", start=start)
        assert end["fault"] == "hold" and end["status"] in (0, 400), end
        assert sha(e.path("dbfs", "k/big.bin")) == old   # untouched
        assert os.listdir(e.path("dbfs", "k")) == ["big.bin"]
        r = run(e, "-f", str(f), "dbfs:/k/big.bin")
        assert r.returncode == 0, r.stderr
        assert sha(e.path("dbfs", "k/big.bin")) == sha(f)
    finally:
        e.cleanup()


@pytest.mark.parametrize("op,nth,states", [
    ("create", 1, {"old"}), ("add-block", 1, {"old"}), ("add-block", 3, {"old"}),
    ("close", 1, {"old"}), ("move", 1, {"old"}), ("delete", 1, {"old", "absent"}),
    ("move", 2, {"absent", "new"})])
def test_kill_at_each_request_of_a_streamed_overwrite(tmp_path, op, nth, states):
    """A file above the put limit is streamed to a temporary sibling
    (create, add-block x3, close), then moved over the old one (move,
    refused; delete; move). SIGKILL while the server holds the nth request
    of each kind: the path holds the old file or the new one, whole, or,
    only between the delete and the move (dbfs-put(1) says so), nothing;
    never part of a file. Beside it at most the hidden temporary; a rerun
    puts the new file, and once that temporary is an hour old, the next
    streamed upload of the file removes it."""
    e = Emu(faults="hold=%d:1@/api/2.0/dbfs/%s" % (nth, op)).start()
    try:
        env = {"DBMLOPS_DBFS_PUT_MAX": str(512 * 1024),
               "DBMLOPS_DBFS_BLOCK": str(256 * 1024)}
        path = "/api/2.0/dbfs/" + op
        f = tmp_path / "big.bin"
        old = os.urandom(100 * 1024)
        f.write_bytes(old)
        assert run(e, str(f), "dbfs:/k/big.bin", env=env).returncode == 0
        new = os.urandom(700 * 1024)
        f.write_bytes(new)
        start = len(e.requests())
        p = subprocess.Popen([PUT, "-q", "-f", str(f), "dbfs:/k/big.bin"],
                             env=e.env(**env), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        # let the first nth - 1 requests of that kind go; hold the nth
        for i in range(nth):
            (held,) = e.wait_held(1)
            assert p.poll() is None
            if i < nth - 1:
                e.release(held)
                e.wait_request(lambda r: r["path"] == path, start=start)
                start = len(e.requests())
        assert sum(r["path"] == path for r in e.requests()) >= nth - 1
        p.send_signal(signal.SIGKILL)
        p.wait()
        e.release(held)
        e.wait_request(lambda r: r["path"] == path, start=start)  # it ended
        final = e.path("dbfs", "k/big.bin")
        state = "absent"
        if os.path.exists(final):
            with open(final, "rb") as g:
                got = g.read()
            assert got in (old, new), "a partial file at the path"
            state = "old" if got == old else "new"
        assert state in states, state
        for name in os.listdir(e.path("dbfs", "k")):
            assert name == "big.bin" or (name.startswith(".big.bin.dbmlops-")
                                         and name.endswith(".tmp")), name
        left = sorted(os.listdir(e.path("dbfs", "k")))
        r = run(e, "-f", str(f), "dbfs:/k/big.bin", env=env)
        assert r.returncode == 0, r.stderr
        assert sha(final) == hashlib.sha256(new).hexdigest()
        # a temporary left behind stays while it could be another run's;
        # an hour old, the next streamed upload of the file removes it
        assert sorted(os.listdir(e.path("dbfs", "k"))) == left + (
            [] if "big.bin" in left else ["big.bin"])
        for name in left:
            if name != "big.bin":
                t = time.time() - 3700
                os.utime(e.path("dbfs", "k/" + name), (t, t))
        assert run(e, "-f", str(f), "dbfs:/k/big.bin", env=env).returncode == 0
        assert os.listdir(e.path("dbfs", "k")) == ["big.bin"]
    finally:
        e.cleanup()


def test_dry_run_sends_nothing(emu_plain, tmp_path):
    src = tmp_path / "d"
    make_tree(str(src), sizes=(1, 2))
    r = run(emu_plain, "-n", "-r", str(src), "dbfs:/dry/")
    assert r.returncode == 0
    assert len(r.stdout.splitlines()) == 2
    assert "would upload" in r.stderr
    assert emu_plain.requests() == []


def test_bad_input(emu_plain, tmp_path):
    f = tmp_path / "f.whl"
    f.write_bytes(b"x")
    r = run(emu_plain, str(tmp_path / "missing.whl"), "dbfs:/x/")
    assert r.returncode == 1
    assert r.stderr.startswith("dbfs-put: ") and "missing.whl: No such file" in r.stderr
    r = run(emu_plain, str(f), "s3://bucket/x")
    assert r.returncode == 2 and "not a Databricks path" in r.stderr
    r = run(emu_plain, str(f), "relative/path")
    assert r.returncode == 2
    r = run(emu_plain, str(tmp_path), "dbfs:/x/")
    assert r.returncode == 1 and "is a directory (use -r)" in r.stderr
    env = {k: v for k, v in emu_plain.env().items() if k != "DATABRICKS_TOKEN"}
    r = subprocess.run([PUT, str(f), "dbfs:/x/"], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 77 and "cannot configure default credentials" in r.stderr
    r = run(emu_plain, str(f), "dbfs:/x/", env={"DATABRICKS_TOKEN": "wrong-secret"})
    assert r.returncode == 77 and "403" in r.stderr and "wrong-secret" not in r.stderr
    assert emu_plain.requests()[-1]["status"] == 403
    if os.geteuid() != 0:
        os.chmod(f, 0)
        r = run(emu_plain, str(f), "dbfs:/x/")
        assert r.returncode == 1 and "Permission denied" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="runs dbfs-put as another user: root and setpriv")
def test_unreadable_file_refused_before_any_request(emu_plain):
    """As a user who is not root: a tree holding a file its owner cannot
    read, and one of another user's that only others may read, and one
    nobody may read: the plan names the unreadable ones before any
    request; without them the tree goes up."""
    import pwd
    nobody = pwd.getpwnam("nobody")
    top = tempfile.mkdtemp(prefix="dbm-unreadable-")
    try:
        os.chmod(top, 0o755)
        src = os.path.join(top, "tree")
        os.mkdir(src)
        for name, owner, mode in (("a-mine-ok", nobody.pw_uid, 0o400),
                                  ("b-mine-no", nobody.pw_uid, 0o044),
                                  ("c-root-others", 0, 0o004),
                                  ("d-root-no", 0, 0o640)):
            p = os.path.join(src, name)
            with open(p, "w") as f:
                f.write(name)
            os.chown(p, owner, -1)
            os.chmod(p, mode)
        env = emu_plain.env(HOME=top, DBMLOPS_RETRY_BACKOFF="0.05")
        as_nobody = ["setpriv", "--reuid", str(nobody.pw_uid), "--regid",
                     str(nobody.pw_gid), "--clear-groups", PUT, "-q", "-r"]
        n = len(emu_plain.requests())
        for refused in ("b-mine-no", "d-root-no", None):
            r = subprocess.run(as_nobody + [src, "dbfs:/unreadable/"], env=env,
                               capture_output=True, text=True)
            if refused is None:
                break
            assert r.returncode == 1
            assert refused + ": Permission denied" in r.stderr, r.stderr
            assert len(emu_plain.requests()) == n
            os.unlink(os.path.join(src, refused))
        assert r.returncode == 0, r.stderr
        assert sorted(os.listdir(emu_plain.path("dbfs", "unreadable"))) == [
            "a-mine-ok", "c-root-others"]
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_oauth_m2m(emu_plain, tmp_path):
    f = tmp_path / "f.whl"
    f.write_bytes(b"m2m")
    env = {k: v for k, v in emu_plain.env().items() if k != "DATABRICKS_TOKEN"}
    env.update(DATABRICKS_CLIENT_ID=Emu.CLIENT_ID,
               DATABRICKS_CLIENT_SECRET=Emu.CLIENT_SECRET)
    r = subprocess.run([PUT, "-v", str(f), "/Volumes/c/s/v/m2m.whl"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert Emu.CLIENT_SECRET not in r.stderr and "[redacted]" in r.stderr
    assert [x["path"] for x in emu_plain.requests()].count("/oidc/v1/token") == 1


def test_profile_from_databrickscfg(emu_plain, tmp_path):
    f = tmp_path / "f.whl"
    f.write_bytes(b"cfg")
    cfg = tmp_path / "cfg"
    cfg.write_text(f"[emu]\nhost = {emu_plain.url}\ntoken = {Emu.TOKEN}\n")
    env = {k: v for k, v in emu_plain.env().items()
           if k not in ("DATABRICKS_TOKEN", "DATABRICKS_HOST")}
    env["DATABRICKS_CONFIG_FILE"] = str(cfg)
    r = subprocess.run([PUT, "-p", "emu", str(f), "dbfs:/cfg.whl"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("dest", DESTS)
def test_concurrent_writers_of_one_path(emu_plain, tmp_path, dest):
    """Eight pipelines uploading to one path at once (-f): all exit 0, and
    the path holds one complete file, one of theirs."""
    contents = []
    procs = []
    for i in range(8):
        f = tmp_path / ("w%d" % i) / "pkg-1.0-py3-none-any.whl"
        f.parent.mkdir()
        data = (b"%d" % i) * (4096 + i)
        f.write_bytes(data)
        contents.append(data)
        procs.append(subprocess.Popen([PUT, "-q", "-f", str(f), dest + "/race/"],
                                      env=emu_plain.env(), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    got = open(remote_file(emu_plain, dest + "/race/pkg-1.0-py3-none-any.whl"),
               "rb").read()
    assert got in contents


def test_largest_file_goes_first(emu_plain, tmp_path):
    """With one worker the requests show the order: the big file that
    sorts last by name is sent first; the printed paths keep name order."""
    src = tmp_path / "dist"
    src.mkdir()
    for i in range(3):
        (src / ("a%d.whl" % i)).write_bytes(b"x" * 10)
    (src / "z-big.whl").write_bytes(b"y" * (3 * MiB))
    n = len(emu_plain.requests())
    r = run(emu_plain, "-j", "1", "-r", str(src), "/Volumes/main/default/vol/order/")
    assert r.returncode == 0, r.stderr
    puts = [x["path"] for x in emu_plain.requests()[n:] if x["method"] == "PUT"]
    assert puts[0].endswith("/z-big.whl"), puts
    assert [ln.rsplit("/", 1)[1] for ln in r.stdout.split()] == \
        ["a0.whl", "a1.whl", "a2.whl", "z-big.whl"]


@pytest.mark.parametrize("dest,glob", [
    ("dbfs:/chg", "/api/2.0/dbfs/put"),
    ("/Volumes/main/default/vol/chg", "/api/2.0/fs/files/*"),
    ("/Workspace/Shared/chg", "/api/2.0/workspace-files/*")])
def test_file_changed_while_sent(tmp_path, dest, glob):
    """A file written to while it is sent (the server holds the upload
    1.5 s) fails with a clear message, and with -c its upload, which would
    not match its content-addressed name, is removed."""
    e = Emu(faults="hold=1:1@" + glob).start()
    try:
        f = tmp_path / "pkg-1.0-py3-none-any.whl"
        f.write_bytes(os.urandom(4 * MiB))
        p = subprocess.Popen([PUT, "-q", "-c", str(f), dest + "/"], env=e.env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        held = e.wait_held(1)       # the upload is under way
        with open(f, "ab") as fh:
            fh.write(b"written later")
        e.release(*held)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 1, err
        assert "changed while it was being sent: the upload was removed" in err
        assert out == ""
        root = remote_file(e, dest)
        left = [n for _, _, names in os.walk(root) for n in names] if os.path.isdir(root) \
            else []
        assert left == []
        # once written, a run sends it
        r = run(e, "-c", str(f), dest + "/")
        assert r.returncode == 0, r.stderr
        assert sha(remote_file(e, r.stdout.strip())) == sha(f)
    finally:
        e.cleanup()


@pytest.mark.parametrize("dest", DESTS)
def test_unchanged_tree_is_one_listing(emu_plain, tmp_path, dest):
    """-c on an unchanged tree of 60 files: one request, the listing of
    the destination (the record of uploads says what this machine sent);
    without the record, one status request a file; a hash folder removed
    remotely is noticed and its file sent again."""
    src = tmp_path / "many"
    src.mkdir()
    for i in range(60):
        (src / ("f%02d.txt" % i)).write_bytes(os.urandom(100 + i))
        # old enough for the digest cache (fresher files are re-hashed)
        os.utime(src / ("f%02d.txt" % i), (1.7e9, 1.7e9 + i / 7))
    assert run(emu_plain, "-c", "-r", str(src), dest + "/many").returncode == 0
    n = len(emu_plain.requests())
    r = run(emu_plain, "-c", "-r", str(src), dest + "/many")
    assert r.returncode == 0, r.stderr
    assert len(emu_plain.requests()) - n == 1
    first = r.stdout
    assert len(first.splitlines()) == 60
    # the same tree named from elsewhere (relative, through a link to its
    # parent) is the same files: still the listing alone, same output
    os.symlink(tmp_path, tmp_path / "via")
    for cwd, name in ((tmp_path, "many"), (tmp_path / "via", "many"),
                      ("/", str(tmp_path / "via" / "many"))):
        n = len(emu_plain.requests())
        r = run(emu_plain, "-c", "-r", name, dest + "/many", cwd=cwd)
        assert r.returncode == 0, r.stderr
        assert len(emu_plain.requests()) - n == 1, (cwd, name)
        assert r.stdout == first
    # one file rewritten, same size, its mtime put back: the digest cache
    # does not trust it (the inode change time moved), it is hashed and
    # sent under its new hash; the 59 others stay untouched
    victim = src / "f07.txt"
    st = victim.stat()
    victim.write_bytes(os.urandom(st.st_size))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    n = len(emu_plain.requests())
    r = run(emu_plain, "-c", "-r", str(src), dest + "/many")
    assert r.returncode == 0, r.stderr
    changed = [a for a, b in zip(r.stdout.splitlines(), first.splitlines())
               if a != b]
    assert len(changed) == 1 and changed[0].endswith("/f07.txt")
    assert sha(remote_file(emu_plain, changed[0])) == sha(victim)
    assert len(emu_plain.requests()) - n >= 2
    first = r.stdout
    n = len(emu_plain.requests())
    r = run(emu_plain, "-c", "-r", str(src), dest + "/many",
            env={"DBMLOPS_HASH_CACHE": "off"})
    assert r.returncode == 0, r.stderr
    assert len(emu_plain.requests()) - n == 61
    gone = r.stdout.splitlines()[0]
    shutil.rmtree(os.path.dirname(remote_file(emu_plain, gone)))
    r = run(emu_plain, "-c", "-r", str(src), dest + "/many")
    assert r.returncode == 0, r.stderr
    assert os.path.exists(remote_file(emu_plain, gone))


LISTINGS = {"dbfs:": "/api/2.0/dbfs/list", "/Volumes": "/api/2.0/fs/directories/*",
            "/Workspace": "/api/2.0/workspace/list"}


@pytest.mark.parametrize("dest", DESTS)
def test_unchanged_tree_when_the_listing_fails(tmp_path, dest):
    """The listing of the destination answers 503 until the retry budget
    (1 s here) runs out: -c still works, asking after each file instead
    (one status request a file), sends nothing again and prints the same
    paths."""
    glob = [v for k, v in LISTINGS.items() if dest.startswith(k)][0]
    e = Emu(faults="503=0:1@" + glob).start()
    try:
        src = tmp_path / "dist"
        src.mkdir()
        for i in range(12):
            (src / ("w%d-1.0-py3-none-any.whl" % i)).write_bytes(os.urandom(50 + i))
        env = {"DBMLOPS_RETRY_TIMEOUT": "1"}
        r = run(e, "-c", "-r", str(src), dest, env=env)
        assert r.returncode == 0, r.stderr
        first = r.stdout
        assert len(first.splitlines()) == 12
        n = len(e.requests())
        r = run(e, "-c", "-r", str(src), dest, env=env)
        assert r.returncode == 0, r.stderr
        assert r.stdout == first
        again = e.requests()[n:]
        listed = [x for x in again if x["fault"]]
        assert listed and all(x["fault"] == "503" for x in listed)
        # the fault's Retry-After: 0 does not make a tight loop of it
        assert len(listed) <= 10, len(listed)
        asked = [x for x in again if not x["fault"]]
        assert len(asked) == 12, asked
        assert all(x["method"] in ("GET", "HEAD") for x in asked), asked
        for line in first.splitlines():
            assert os.path.exists(remote_file(e, line))
    finally:
        e.cleanup()


def test_digest_cache_of_a_long_lived_runner_stays_bounded(emu_plain, tmp_path):
    """A runner that built in a new folder each job has left 17000 lines
    of dead paths in the digest cache: the next -c run rewrites it with the
    live entries only (20 files), and the run after is one request."""
    cache = tmp_path / "cache"
    cache.mkdir()
    with open(cache / "sha256", "w") as f:
        for i in range(17000):
            f.write("%064x 9 1700000000.000000001 1700000000.000000001 %d 2049 "
                    "/builds/job%d/dist/w%d-1.0-py3-none-any.whl\n" % (i, 100 + i, i // 5, i % 5))
    src = tmp_path / "dist"
    src.mkdir()
    for i in range(20):
        (src / ("w%d-1.0-py3-none-any.whl" % i)).write_bytes(os.urandom(300 + i))
        os.utime(src / ("w%d-1.0-py3-none-any.whl" % i), (1.7e9, 1.7e9))
    env = {"DBMLOPS_CACHE": str(cache)}
    r = run(emu_plain, "-c", "-r", str(src), "dbfs:/runner/", env=env)
    assert r.returncode == 0, r.stderr
    lines = (cache / "sha256").read_text().splitlines()
    assert len(lines) == 20 and all(" %s/" % src in x for x in lines)
    n = len(emu_plain.requests())
    r2 = run(emu_plain, "-c", "-r", str(src), "dbfs:/runner/", env=env)
    assert r2.returncode == 0 and r2.stdout == r.stdout, r2.stderr
    assert len(emu_plain.requests()) - n == 1


def test_volume_multipart_above_the_single_put_limit(tmp_path):
    """Above the Files API's single-PUT limit (lowered to 1 MiB here) a
    volume upload goes multipart: initiate, the part URLs, the parts in
    parallel from the open file, complete; the bytes are exact and the
    final path gets them all at once."""
    e = Emu(extra=["--files-put-max", str(MiB)]).start()
    try:
        f = tmp_path / "model.bin"
        f.write_bytes(os.urandom(3 * MiB + 5))
        small = tmp_path / "small.bin"
        small.write_bytes(b"s" * 1000)
        env = {"DBMLOPS_FILES_PART_SIZE": str(256 * 1024),
               "DBMLOPS_FILES_PUT_MAX": str(MiB)}
        r = run(e, str(f), str(small), "/Volumes/c/s/v/mp/", env=env)
        assert r.returncode == 0, r.stderr
        assert sha(remote_file(e, "/Volumes/c/s/v/mp/model.bin")) == sha(f)
        assert open(remote_file(e, "/Volumes/c/s/v/mp/small.bin"), "rb").read() == b"s" * 1000
        log = [(x["method"], x["path"].split("?")[0]) for x in e.requests()]
        path = "/api/2.0/fs/files/Volumes/c/s/v/mp/model.bin"
        assert log.count(("POST", path)) == 2                  # initiate, complete
        assert log.count(("POST", "/api/2.0/fs/create-upload-part-urls")) == 1
        assert len([x for x in log if x[1].startswith("/mpu-part/")]) == 13
        assert ("PUT", path) not in log
        # a single PUT of it is refused as the service refuses it
        import requests
        r2 = requests.put(e.url + "/api/2.0/fs/files/Volumes/c/s/v/mp/x.bin",
                          data=f.read_bytes(), timeout=60,
                          headers={"Authorization": "Bearer " + Emu.TOKEN})
        assert r2.status_code == 413
        # without -f the existing file is refused at initiate, nothing sent
        n = len(e.requests())
        r = run(e, str(f), "/Volumes/c/s/v/mp/model.bin", env=env)
        assert r.returncode == 1 and "already exists" in r.stderr
        assert len(e.requests()) - n == 1
    finally:
        e.cleanup()


def test_volume_multipart_failure_aborts(tmp_path):
    """A part that cannot be sent fails the file and aborts the session:
    nothing at the path, the parts dropped."""
    e = Emu(extra=["--files-put-max", str(MiB)],
            faults="503=0:1@/mpu-part/*").start()
    try:
        f = tmp_path / "model.bin"
        f.write_bytes(os.urandom(2 * MiB))
        r = run(e, str(f), "/Volumes/c/s/v/ab/model.bin",
                env={"DBMLOPS_FILES_PART_SIZE": str(512 * 1024),
                     "DBMLOPS_FILES_PUT_MAX": str(MiB), "DBMLOPS_RETRY_TIMEOUT": "1"})
        assert r.returncode == 1
        assert not os.path.exists(remote_file(e, "/Volumes/c/s/v/ab/model.bin"))
        posts = [x["path"] for x in e.requests() if x["method"] == "POST"]
        assert posts.count("/api/2.0/fs/files/Volumes/c/s/v/ab/model.bin") == 2, posts
        tmpdir = os.path.join(e.data, "tmp")
        assert not [n for n in os.listdir(tmpdir) if n.startswith("mpu-")]
    finally:
        e.cleanup()


def test_volume_falls_back_to_multipart_when_the_server_says_so(tmp_path):
    """A server whose single-PUT limit is lower than the client's answers
    413: the file goes multipart."""
    e = Emu(extra=["--files-put-max", str(MiB)]).start()
    try:
        f = tmp_path / "model.bin"
        f.write_bytes(os.urandom(2 * MiB))
        r = run(e, str(f), "/Volumes/c/s/v/fb/model.bin")
        assert r.returncode == 0, r.stderr
        assert sha(remote_file(e, "/Volumes/c/s/v/fb/model.bin")) == sha(f)
        assert any(x["path"].startswith("/mpu-part/") for x in e.requests())
    finally:
        e.cleanup()


def streamed_upload(faults, tmp_path, size, dest, seed=1):
    """Upload size random bytes to dest in 64 KiB blocks (above the put
    limit) under faults; byte for byte there, the request log returned."""
    e = Emu(faults=faults, seed=seed).start()
    try:
        f = tmp_path / "big.bin"
        f.write_bytes(os.urandom(size))
        r = run(e, str(f), "dbfs:/" + dest,
                env={"DBMLOPS_DBFS_PUT_MAX": str(64 * 1024),
                     "DBMLOPS_DBFS_BLOCK": str(64 * 1024)})
        assert r.returncode == 0, r.stderr
        assert sha(e.path("dbfs", dest)) == sha(f)
        return e.requests()
    finally:
        e.cleanup()


def test_streamed_upload_retries_the_block_on_its_handle(tmp_path):
    """A file of 80 blocks above the put limit with 7% of add-blocks
    dropped: each failed block is tried again on the open handle, so the
    upload finishes byte for byte from one create (it restarted from create
    at every drop, and almost never finished)."""
    log = streamed_upload("drop:0.07@/api/2.0/dbfs/add-block", tmp_path, 80 * 64 * 1024,
                          "streamed/big.bin", seed=7)
    assert [x["fault"] for x in log if x["path"] == "/api/2.0/dbfs/add-block"].count("drop") > 0
    assert sum(x["path"] == "/api/2.0/dbfs/create" for x in log) == 1


def test_a_block_that_went_in_twice_is_caught(tmp_path):
    """An add-block the service took but whose answer was lost: tried again,
    the block is in the file twice; the closed file's size shows it, and
    the file is sent again from create, byte for byte."""
    log = streamed_upload("lose=1:1@/api/2.0/dbfs/add-block", tmp_path, 5 * 64 * 1024 + 17,
                          "twice/big.bin")
    assert [x["fault"] for x in log].count("lose") == 1
    assert sum(x["path"] == "/api/2.0/dbfs/create" for x in log) == 2

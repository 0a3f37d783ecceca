"""Every snippet README.md shows is run. Each code block carries a marker
(`<!-- README test: KIND -->`) saying how: transcripts (`$ command` and
the output it prints) run in a repository laid out as the README assumes,
against workspace-emu, and their output must match the text (with `...`,
digits and hex digests free); other blocks run as written; a block
without a marker fails the test."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from dbmlops_testenv import BIN, MAKE_ARGS, TOP, Emu, toolkit_release

README = os.path.join(TOP, "README.md")


def blocks():
    """(kind, text) of each code block, in order: a block starts at a line
    indented 4 or more spaces after a blank line (list items indent their
    text 3), and its kind comes from the marker just before it, or None."""
    lines = open(README).read().split("\n")
    out, i = [], 1
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip(" "))
        if not (line.strip() and indent >= 4 and lines[i - 1] == ""):
            i += 1
            continue
        m = re.match(r"\s*<!-- README test: (.*?) -->$", lines[i - 2]) if i >= 2 else None
        body = []
        while i < len(lines) and (lines[i].startswith(" " * indent) or
                                  (lines[i] == "" and i + 1 < len(lines) and
                                   lines[i + 1].startswith(" " * indent))):
            body.append(lines[i][indent:])
            i += 1
        out.append((m.group(1) if m else None, "\n".join(body) + "\n"))
    return out


def test_every_block_has_a_marker():
    found = blocks()
    assert found, "no code block found"
    unmarked = [text for kind, text in found if kind is None]
    assert not unmarked, "README code blocks without a test marker: %r" % unmarked
    kinds = [k for k, _ in found]
    for k in ("commands", "demo-compute", "install", "transcript", "makefile", "adopt", "emu",
              "makefile-root", "ci-exit-status", "wheel-label", "macos",
              "makefile-monorepo", "ci-clean-github", "ci-clean-gitlab",
              "ci-clean-azure", "branch-clean",
              "ci-github-oidc", "ci-azure-secret", "ci-azure-entra",
              "ci-azure-devops-oidc", "ci-azure-cli", "ci-github-oidc-azure"):
        assert k in kinds, k


def block(kind):
    return [text for k, text in blocks() if k == kind]


MLPROJECT = """\
name: myproj
conda_env: conda.yaml
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
    command: "python train.py --alpha {alpha}"
"""
TRAIN = """\
import argparse

import mlflow
import mypkg

p = argparse.ArgumentParser()
p.add_argument("--alpha", type=float)
a = p.parse_args()
with mlflow.start_run():
    mlflow.log_metric("score", mypkg.score(a.alpha))
print("score", mypkg.score(a.alpha))
"""


@pytest.fixture(scope="module")
def myproj(tmp_path_factory):
    """The repository the README's transcripts run in: `myproj`, on branch
    main, with a wheel mypkg 1.0 in dist/ and a project whose conda.yaml and
    cluster.json hold the placeholder."""
    root = tmp_path_factory.mktemp("readme") / "myproj"
    pkg = root.parent / "mypkg-src"
    (pkg / "mypkg").mkdir(parents=True)
    (pkg / "mypkg" / "__init__.py").write_text("def score(a):\n    return 1 - a\n")
    (pkg / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "mypkg"
        version = "1.0"
        """))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(root / "dist"), str(pkg)], check=True)
    (root / "MLproject").write_text(MLPROJECT)
    (root / "train.py").write_text(TRAIN)
    (root / "conda.yaml").write_text("dependencies:\n  - pip:\n"
                                     "      - /dbfs/wheels/builds/WHEELPATH\n")
    (root / "cluster.json").write_text('{"spark_version": "15.4.x-scala2.12", '
                                       '"node_type_id": "i3.xlarge", "num_workers": 1, '
                                       '"libraries": [{"whl": "dbfs:/wheels/builds/WHEELPATH"}]}\n')
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    return root


def commands(text):
    """[(command, [expected output lines])] of a transcript."""
    out, cmd = [], None
    for line in text.splitlines():
        if line.startswith("$ "):
            cmd = [line[2:], []]
            out.append(cmd)
        elif cmd and (cmd[0].rstrip().endswith(("|", "\\")) and not cmd[1]):
            cmd[0] += "\n" + line
        elif cmd and line.strip():
            cmd[1].append(line)
    return out


def pattern(doc_line):
    """A documented output line as a regex: '...' is anything, digests and
    numbers are any, https may be http (the emulator's)."""
    t = re.sub(r"[0-9a-f]{8,}", "\x01", doc_line)
    t = re.sub(r"\d+", "\x02", t)
    p = re.escape(t).replace(r"\.\.\.", ".*")
    p = p.replace("https://", "https?://")
    return re.compile(p.replace("\x01", "[0-9a-f]+").replace("\x02", r"\d+"))


@pytest.fixture(scope="module")
def new_ws(mlflow_server):
    """A workspace of a new account (no DBFS root), as the transcripts
    assume."""
    e = Emu(mlflow_url=mlflow_server.url, workspace="new").start()
    yield e
    e.cleanup()


def test_transcripts(new_ws, myproj):
    env = new_ws.env(DBMLOPS_POLL_MAX="1", PATH=BIN + ":" + os.environ["PATH"])
    env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "CI_", "BUILD_",
                                                            "SYSTEM_", "DBMLOPS_BRANCH"))}
    ran = 0
    for text in block("transcript"):
        for cmd, expected in commands(text):
            r = subprocess.run(["bash", "-c", cmd], cwd=myproj, env=env,
                               capture_output=True, text=True, timeout=600)
            assert r.returncode == 0, (cmd, r.stdout, r.stderr)
            got = (r.stdout + r.stderr).splitlines()
            for line in expected:
                assert any(pattern(line).fullmatch(g) for g in got), (cmd, line, got)
            ran += 1
    assert ran >= 10
    # the transcripts did what they say: the project ran with the wheel
    assert "WHEELPATH" not in (myproj / "conda.yaml").read_text()


def test_makefile_block_is_the_one_tested():
    from test_make_include import readme_block
    (text,) = block("makefile")
    assert readme_block("In a Makefile") == text


def make_demo(mlflow_server, *args):
    """make demo with the tools under test (B, SANITIZE of this pass) and
    the session's MLflow server."""
    env = dict(os.environ, DBMLOPS_DEMO_MLFLOW_URL=mlflow_server.url)
    return subprocess.run(["make", "-C", TOP, "demo"] + MAKE_ARGS + list(args),
                          capture_output=True, text=True, timeout=900, env=env)


def demo_state():
    """The demo's state folder, in the build folder of this pass."""
    b = [a[2:] for a in MAKE_ARGS if a.startswith("B=")]
    return os.path.join(TOP, b[0] if b and b[0] else "build", "demo", "state")


def test_exit_status_block_is_the_templates():
    """The README's exit-status step is each CI template's train step
    (tests/integration/test_templates.py runs those, a refused token
    included); the makefile-root block runs in test_make_repos.py."""
    (text,) = block("ci-exit-status")
    ci = os.path.join(TOP, "templates", "ci")
    for name in sorted(os.listdir(ci)):
        flat = [line.strip() for line in open(os.path.join(ci, name))]
        want = [line.strip() for line in text.strip().splitlines()]
        at = flat.index(want[0])
        assert flat[at:at + len(want)] == want, name


def test_commands_block_demo(mlflow_server):
    (text,) = block("commands")
    lines = [ln.split("#")[0].strip() for ln in text.splitlines()]
    assert lines == ["make check", "make demo"]
    # make check is what runs this test; make demo runs here
    r = make_demo(mlflow_server)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "TERMINATED SUCCESS" in r.stdout + r.stderr
    # on the new workspace: workspace files, a current runtime
    assert "new workspace at" in r.stdout
    state = demo_state()
    assert '"/Workspace/Shared/wheels/' in open(
        os.path.join(state, "upload.json")).read()
    spec = json.load(open(os.path.join(state, "project", "cluster.json")))
    assert spec["spark_version"].startswith("15.4.")
    assert spec["libraries"][0]["pypi"]["package"].startswith(
        "/Workspace/Shared/wheels/")


def demo_compute_lines():
    (text,) = block("demo-compute")
    return [ln.split("#")[0].strip() for ln in text.splitlines() if ln.strip()]


def test_demo_compute_block_has_two_lines():
    assert len(demo_compute_lines()) == 2


@pytest.mark.once
@pytest.mark.parametrize("n", [0, 1])
def test_demo_compute_block(mlflow_server, n):
    """Each line of the demo knob block runs as written and ends in
    success on the compute it names."""
    words = demo_compute_lines()[n].split()
    assert words[:2] == ["make", "demo"]
    r = make_demo(mlflow_server, *words[2:])
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "TERMINATED SUCCESS" in out
    compute = words[2].split("=", 1)[1]
    assert "compute " + compute in out
    if compute == "serverless":
        assert "--serverless" in out
    else:
        assert "--cluster-id 'demo-cluster' --start-cluster" in out
        assert "waiting for it to run" in out


def test_demo_workspace_block(mlflow_server):
    """The older workspace runs the seed's flow: 10.3, dbfs:/wheels, shell
    mode (the default demo, on the new workspace, is the commands block)."""
    (text,) = block("demo-workspace")
    words = text.split("#")[0].split()
    assert words[:3] == ["make", "demo", "DBMLOPS_WORKSPACE=legacy"]
    r = make_demo(mlflow_server, *words[2:])
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "legacy workspace at" in out and "TERMINATED SUCCESS" in out
    assert "cluster-legacy.json" in out
    state = demo_state()
    assert '"dbfs:/wheels/' in open(os.path.join(state, "upload.json")).read()
    spec = json.load(open(os.path.join(state, "project", "cluster-legacy.json")))
    assert spec["spark_version"].startswith("10.3.")
    assert spec["libraries"][0]["pypi"]["package"].startswith("/dbfs/wheels/")


@pytest.mark.once
def test_wheel_label_block(tmp_path):
    """The block, in a copy of the example wheel's sources, twice: one
    labelled wheel, the same bytes both times; a change of code, another
    label."""
    (text,) = block("wheel-label")
    src = tmp_path / "pkg"
    shutil.copytree(os.path.join(TOP, "templates", "wheel"), src)
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"],
               SOURCE_DATE_EPOCH="315532800")
    env.pop("PIP_REQUIRE_VIRTUALENV", None)

    def build():
        shutil.rmtree(src / "dist", ignore_errors=True)
        r = subprocess.run(["sh", "-e", "-c", text.replace("pip ", sys.executable +
                                                          " -m pip ", 1)],
                           cwd=src, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        (whl,) = os.listdir(src / "dist")
        assert re.fullmatch(r"dbmlops_example-0\.1\.0\+g[0-9a-f]{12}-py3-none-any\.whl", whl)
        with open(src / "dist" / whl, "rb") as f:
            return whl, f.read()

    a, b = build(), build()
    assert a == b
    init = src / "src" / "dbmlops_example" / "__init__.py"
    init.write_text(init.read_text() + "\nCHANGED = True\n")
    assert build()[0] != a[0]


def test_install_block(tmp_path):
    (text,) = block("install")
    env = dict(os.environ, DESTDIR=str(tmp_path / "root"))
    r = subprocess.run(["bash", "-e", "-c", text], cwd=TOP, env=env, capture_output=True,
                       text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert os.access(tmp_path / "root" / "usr/local/bin/mlflow-submit", os.X_OK)
    assert (tmp_path / "root" / "usr/local/share/dbmlops/mk/dbmlops.mk").exists()


@pytest.mark.once
def test_adopt_block(tmp_path):
    (text,) = block("adopt")
    # the release page: this tree's release tarball and its SHA256SUMS
    url, sha = toolkit_release(tmp_path / "release")
    page = os.path.dirname(url)
    with open(os.path.join(page[len("file://"):], "SHA256SUMS"), "w") as f:
        f.write("%s  %s\n" % (sha, os.path.basename(url)))
    published = re.search(r"(https://\S+)/dbmlops-[0-9.]+\.tar\.gz", text).group(1)
    assert os.path.basename(url) in text, text     # the README names this release
    script = text.replace(published, page)
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    (tmp_path / "work").mkdir()
    r = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path / "work", env=env,
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    home = tmp_path / "home" / ".local"
    assert os.access(home / "bin" / "branch-name", os.X_OK)
    assert (home / "share" / "dbmlops" / "mk" / "dbmlops.mk").exists()


def test_emu_block(tmp_path):
    (text,) = block("emu")
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 5000)) == 0:
            pytest.skip("port 5000, which the README uses, is taken")
    (tmp_path / "build").mkdir()
    os.symlink(os.path.join(TOP, ".venv"), tmp_path / ".venv")
    os.symlink(BIN, tmp_path / "build" / "bin")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env.update(DATABRICKS_TOKEN="dapi-readme-token", HOME=str(tmp_path),
               DATABRICKS_CONFIG_FILE=str(tmp_path / "none"))
    # output to files: the servers the block starts keep its pipes open
    with open(tmp_path / "out", "w") as o, open(tmp_path / "err", "w") as e:
        p = subprocess.Popen(["bash", "-e", "-c", text], cwd=tmp_path, env=env,
                             stdout=o, stderr=e, start_new_session=True)
        try:
            rc = p.wait(timeout=300)
        finally:
            os.killpg(p.pid, signal.SIGTERM)
    out = (tmp_path / "out").read_text()
    assert rc == 0, out + (tmp_path / "err").read_text()
    assert out.strip().endswith("]"), out


def test_azure_secret_recipe(stack, tmp_path):
    """The README's Azure Pipelines step: its script, with its env mapping
    filled from the CI's secret store (an OAuth secret of a service
    principal here), trains the example project."""
    import yaml
    (text,) = block("ci-azure-secret")
    (step,) = yaml.safe_load(text)
    repo = tmp_path / "repo"
    shutil.copytree(os.path.join(TOP, "templates"), repo / "templates",
                    ignore=shutil.ignore_patterns(".dbmlops", "ci"))
    shutil.copytree(os.path.join(TOP, "mk"), repo / "mk")
    secrets = {"DATABRICKS_HOST": stack.url, "DATABRICKS_CLIENT_ID": Emu.CLIENT_ID,
               "DATABRICKS_CLIENT_SECRET": Emu.CLIENT_SECRET}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABRICKS_", "MLFLOW_", "DBMLOPS_"))}
    env.update(HOME=str(tmp_path), DATABRICKS_CONFIG_FILE=str(tmp_path / "none"),
               DBMLOPS_BIN=BIN + "/", DBMLOPS_PYTHON=sys.executable, DBMLOPS_POLL_MAX="1",
               DBMLOPS_BRANCH="main")
    for k, v in step["env"].items():
        env[k] = secrets[re.fullmatch(r"\$\((\w+)\)", v).group(1)]
    r = subprocess.run(["bash", "-e", "-c", step["script"]], cwd=repo / "templates",
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "TERMINATED SUCCESS" in r.stderr
    assert Emu.CLIENT_SECRET not in r.stdout + r.stderr



# configure.sh's libraries (pkg-config modules, and jsmn's header) and the
# Homebrew formula that gives each
BREW_FORMULA = {"libcurl": "curl", "yaml-0.1": "libyaml", "libarchive": "libarchive",
                "libcrypto": "openssl@3", "inih": "inih", "libmicrohttpd": "libmicrohttpd",
                "check": "check", "jsmn": "jsmn", "pkg-config": "pkgconf"}


def test_macos_block(tmp_path):
    """The Homebrew line names a formula for every library configure.sh
    looks for, and the block's search paths reach the build's configure
    step: run here with a brew that answers as Homebrew does (its prefix, a
    keg-only formula's own), a compiler and a pkg-config that log what they
    are given."""
    (text,) = block("macos")
    lines = text.splitlines()
    conf = open(os.path.join(TOP, "scripts", "configure.sh")).read()
    mods = {m for m in re.findall(r"(\S+?):(?:\S+-dev|check)\b", conf)}
    assert mods | {"jsmn", "pkg-config"} == set(BREW_FORMULA), mods
    assert lines[0].startswith("brew install ")
    assert sorted(lines[0].split()[2:]) == sorted(BREW_FORMULA.values())
    bindir, log = tmp_path / "bin", tmp_path / "log"
    bindir.mkdir()
    for name, real, what in (("brew", None, None), ("cc", "cc", '"$*"'),
                             ("pkg-config", "pkg-config", '"PKG_CONFIG_PATH=$PKG_CONFIG_PATH"')):
        body = ('[ "$1" = --prefix ] || exit 1\n'
                '[ -n "$2" ] && echo /opt/homebrew/opt/$2 || echo /opt/homebrew\n'
                if real is None else
                'echo %s >> %s\nexec /usr/bin/%s "$@"\n' % (what, log, real))
        (bindir / name).write_text("#!/bin/sh\n" + body)
        os.chmod(bindir / name, 0o755)
    b = tmp_path / "b"
    script = "\n".join(lines[1:]).replace(
        "make ", "make -s -C %s B=%s CC=%s PKG_CONFIG=%s %s/config.mk "
        % (TOP, b, bindir / "cc", bindir / "pkg-config", b))
    r = subprocess.run(["sh", "-ec", script], capture_output=True, text=True,
                       env=dict(os.environ, PATH=str(bindir) + ":" + os.environ["PATH"]))
    assert r.returncode == 0, r.stderr
    seen = log.read_text()
    assert "-I/opt/homebrew/include -x c -fsyntax-only -" in seen, seen
    assert ("PKG_CONFIG_PATH=/opt/homebrew/opt/curl/lib/pkgconfig:/opt/homebrew/opt/"
            "libarchive/lib/pkgconfig:/opt/homebrew/opt/openssl@3/lib/pkgconfig") in seen
    assert "LIB_LIBS = " in (b / "config.mk").read_text()

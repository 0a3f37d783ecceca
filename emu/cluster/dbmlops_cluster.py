"""The cluster side of workspace-emu: builds a run's Python environment and
launches tasks. workspace-emu runs it with the base interpreter it was given
(--python): one that has MLflow installed.

  mkenv DIR [LAYER ...]    a venv without pip whose site-packages also sees
                           each LAYER (site-packages dirs) and the base
                           interpreter's packages, through a .pth file
  libraries ENV FILE       install the job's libraries (a JSON list in
                           FILE) into ENV; exit 3 on a library error
  pip ENV ARGS...          pip install ARGS into ENV
  wheel-task PKG EP ARGS   run entry point EP of package PKG (python_wheel_task)
  repl                     an execution context (Command Execution API 1.2):
                           reads commands ("<bytes>\\n<source>") on stdin,
                           runs each in one namespace, and answers each with
                           "<bytes>\\n<JSON results>" on the descriptor
                           DBMLOPS_REPL_FD; SIGINT cancels the running one

Paths under /dbfs, dbfs:, /Volumes, /Workspace map into the emulator's data
directory (DBMLOPS_EMU_DATA).
"""

import importlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import sysconfig
import venv

DATA = os.environ.get("DBMLOPS_EMU_DATA", "")


def map_path(p):
    """A workspace path as the file that holds it in the data directory."""
    if p.startswith("dbfs:/"):
        p = "/dbfs/" + p[6:].lstrip("/")
    if p.startswith("/dbfs/"):
        return os.path.join(DATA, "dbfs", p[6:])
    if p.startswith("/Volumes/"):
        return os.path.join(DATA, "dbfs", p[1:])
    if p.startswith("/Workspace/"):
        return os.path.join(DATA, "workspace", p[11:])
    return p


def map_words(s):
    """Map every path word of a requirement line."""
    return " ".join(map_path(w) for w in s.split(" "))


def site_packages(env):
    return sysconfig.get_paths(vars={"base": env, "platbase": env})["purelib"]


def mkenv(env, layers):
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=False).create(env)
    base = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    sp = site_packages(env)
    with open(os.path.join(sp, "_dbmlops_layers.pth"), "w") as f:
        for d in layers:
            f.write(d + "\n")
        f.write(BASE_MARK + "\n")
        for d in sorted(base):
            f.write(d + "\n")
    print(sp)


# the comment line before the base interpreter's dirs in a layers .pth
BASE_MARK = "# base"


def base_dirs():
    """The base interpreter's site-packages, as this run's environment
    layers them (not the cluster's libraries above them)."""
    pth = os.path.join(site_packages(sys.prefix), "_dbmlops_layers.pth")
    try:
        with open(pth) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    return lines[lines.index(BASE_MARK) + 1:] if BASE_MARK in lines else []


def pip(env, args):
    """pip install args into env: its exit status."""
    return pip_why(env, args)[0]


def pip_why(env, args, cwd=None):
    """pip install args into env (from cwd): its exit status, and pip's own
    reason (its ERROR lines, as the service's library status carries them)
    when it failed. Everything pip says still goes to the setup log."""
    cmd = [sys.executable, "-m", "pip", "--python", os.path.join(env, "bin", "python"),
           "install", "--quiet", "--disable-pip-version-check", "--no-input",
           "--progress-bar", "off"] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd)
    out = p.stdout.decode("utf-8", "replace")
    sys.stderr.write(out)
    errors = [line.strip() for line in out.splitlines() if line.startswith("ERROR:")]
    return p.returncode, " ".join(errors[-3:])


# python_env projects in shell mode: the environment MLflow's virtualenv
# manager builds on the runtime (mlflow/utils/virtualenv.py,
# _create_virtualenv; PROTOCOL.md section 8): a new venv of the pinned
# Python that sees none of the runtime's packages, build_dependencies and
# then dependencies pip-installed from (a copy of) the project directory.
# Kept by content under jobs/pyenvs/, as MLflow keeps it by name on one
# cluster. A requirement the base interpreter satisfies is linked from it,
# with what it requires, rather than downloaded again.

def python_env_read(path):
    """(python, build_dependencies, dependencies) as MLflow's
    _PythonEnv.from_yaml reads the file: TypeError, in its words, for what
    it refuses."""
    import yaml
    with open(path) as f:
        d = yaml.safe_load(f)
    if not isinstance(d, dict):
        raise TypeError("_PythonEnv() argument after ** must be a mapping, "
                        f"not {type(d).__name__}")
    for k in d:
        if k not in ("python", "build_dependencies", "dependencies"):
            raise TypeError(f"_PythonEnv.__init__() got an unexpected keyword argument '{k}'")
    py, build, deps = d.get("python"), d.get("build_dependencies"), d.get("dependencies")
    if py is not None and not isinstance(py, str):
        raise TypeError(f"`python` must be a string but got {type(py)}")
    for name, v in (("build_dependencies", build), ("dependencies", deps)):
        if v is not None and not isinstance(v, list):
            raise TypeError(f"`{name}` must be a list but got {type(v)}")
    return py, [str(x) for x in build or []], [str(x) for x in deps or []]


def python_for(version):
    """An interpreter of the pinned version (major.minor): this one, else
    the one workspace-emu has of that version (DBMLOPS_EMU_PYTHONS,
    "3.N=PATH:...", each asked its version there); None when it has none."""
    want = ".".join(version.split(".")[:2])
    if want == "%d.%d" % sys.version_info[:2]:
        return sys.executable
    for entry in os.environ.get("DBMLOPS_EMU_PYTHONS", "").split(":"):
        key, _, path = entry.partition("=")
        if key == want and path:
            return path
    return None


def _requirement(line):
    try:
        from packaging.requirements import Requirement
    except ImportError:
        from pip._vendor.packaging.requirements import Requirement
    try:
        return Requirement(line)
    except Exception:
        return None


def _wheel_requires(path):
    """Requires-Dist of a wheel file."""
    import email.parser
    import zipfile
    try:
        with zipfile.ZipFile(path) as z:
            meta = next(n for n in z.namelist()
                        if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
            msg = email.parser.Parser().parsestr(z.read(meta).decode("utf-8", "replace"))
    except (OSError, StopIteration, zipfile.BadZipFile):
        return []
    return msg.get_all("Requires-Dist") or []


def _canon(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_lines(lines, where, depth=0):
    """The requirement lines, -r files (relative to where) read in."""
    out = []
    for line in lines:
        w = line.split(" #")[0].strip()
        m = re.match(r"^(?:-r|--requirement)(?:\s+|=)(.+)$", w)
        if m and depth < 8:
            f = os.path.join(where, m.group(1).strip())
            try:
                with open(f) as fh:
                    sub = fh.read().splitlines()
            except OSError:
                continue                # pip says what is wrong with it
            out += _requirement_lines(sub, os.path.dirname(f), depth + 1)
        elif w.endswith(".whl"):
            out.append(os.path.join(where, w))
        elif w and not w.startswith("-"):
            out.append(w)
    return out


def base_closure(lines, dists, where):
    """The base distributions that the requirement lines (and local wheels
    and -r files among them, relative to where) are satisfied by, with all
    they require in turn."""
    todo, seen = [], {}
    for w in _requirement_lines(lines, where):
        if w.endswith(".whl") and os.path.isfile(w):
            todo += [r for r in map(_requirement, _wheel_requires(w)) if r]
        elif (r := _requirement(w)) is not None and not r.url:
            todo.append(r)
    while todo:
        r = todo.pop()
        d = dists.get(_canon(r.name))
        if d is None or not r.specifier.contains(d.version, prereleases=True):
            continue                    # pip installs it
        extras = set(r.extras)
        if _canon(r.name) in seen and extras <= seen[_canon(r.name)]:
            continue
        seen[_canon(r.name)] = seen.get(_canon(r.name), set()) | extras
        for q in map(_requirement, d.requires or []):
            if q and (q.marker is None or any(q.marker.evaluate({"extra": x})
                                              for x in [""] + sorted(extras))):
                todo.append(q)
    return [dists[n] for n in seen]


def link_base(env, closure, dists):
    """Make the closure's files visible in env, each through the shortest
    path that only distributions of the closure have files under (a
    namespace package some of whose parts are not in it stays split), and
    its console scripts in env/bin."""
    owners = {}
    for d in dists.values():
        for f in d.files or []:
            parts = f.parts
            for k in range(1, len(parts) + 1):
                if parts[0] != "..":
                    owners.setdefault(parts[:k], set()).add(id(d))
    dst = os.path.join(env, "dbmlops-base")
    made, ours = set(), {id(d) for d in closure}
    for d in closure:
        root = str(d.locate_file(""))
        for f in d.files or []:
            parts = f.parts
            if parts[0] == ".." or parts[0] == "__pycache__":
                continue
            k = next((k for k in range(1, len(parts) + 1)
                      if owners.get(parts[:k], ours) <= ours), len(parts))
            if parts[:k] in made:
                continue
            made.add(parts[:k])
            target = os.path.join(dst, *parts[:k])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not os.path.lexists(target):
                os.symlink(os.path.join(root, *parts[:k]), target)
        for ep in d.entry_points:
            if ep.group == "console_scripts":
                mod, _, attr = ep.value.split("[")[0].partition(":")
                script = os.path.join(env, "bin", ep.name)
                with open(script, "w") as f:
                    f.write(f"#!{env}/bin/python\nimport sys\nfrom {mod.strip()} import "
                            f"{attr.strip().split('.')[0]}\nsys.exit({attr.strip()}())\n")
                os.chmod(script, 0o755)
    with open(os.path.join(site_packages(env), "_dbmlops_base.pth"), "w") as f:
        f.write(dst + "\n")


def python_env_build(env, interp, project, build, deps):
    """Build the environment in env: 0, or pip's status."""
    import importlib.metadata as md
    import tempfile
    if interp == sys.executable:
        venv.EnvBuilder(with_pip=False, symlinks=True).create(env)
        dirs = base_dirs()
        dists = {}
        for d in md.distributions(path=dirs):
            dists.setdefault(_canon(d.metadata["Name"] or ""), d)
        link_base(env, base_closure(build + deps, dists, project), dists)
    elif subprocess.run([interp, "-m", "venv", "--without-pip", env]).returncode != 0:
        return 1
    for reqs in (build, deps):
        if not reqs:
            continue
        # as MLflow: a requirements file in a directory of links to the
        # project's files, so that relative paths in it resolve there
        with tempfile.TemporaryDirectory() as tmp:
            for item in os.listdir(project):
                os.symlink(os.path.join(project, item), os.path.join(tmp, item))
            req = os.path.join(tmp, "requirements.dbmlops.txt")
            with open(req, "w") as f:
                f.write("\n".join(reqs) + "\n")
            rc, why = pip_why(env, ["-r", req], cwd=tmp)
            if rc != 0:
                print("workspace-emu: the project's environment did not install: pip "
                      "exited with status %d%s" % (rc, ": " + why if why else ""),
                      file=sys.stderr, flush=True)
                return rc
    return 0


def python_env(project, interp, build, deps):
    """The environment for a python_env project (made once for its
    content): its directory, or None when it could not be made."""
    import fcntl
    import hashlib
    import shutil
    h = hashlib.sha256(json.dumps([os.path.realpath(interp), build, deps]).encode())
    for w in " ".join(build + deps).split():
        if os.path.isfile(w):
            st = os.stat(w)
            h.update(f"\0{w}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    env = os.path.join(DATA, "jobs", "pyenvs", h.hexdigest()[:20])
    os.makedirs(os.path.dirname(env), exist_ok=True)
    with open(env + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(env, ".complete")):
            return env
        shutil.rmtree(env, ignore_errors=True)
        try:
            rc = python_env_build(env, interp, project, build, deps)
        except OSError as e:
            print(f"workspace-emu: cannot create the project's environment: {e.strerror}",
                  file=sys.stderr, flush=True)
            rc = 1
        if rc != 0:
            shutil.rmtree(env, ignore_errors=True)      # as MLflow's remove_on_error
            return None
        open(os.path.join(env, ".complete"), "w").close()
    return env


def libraries(env, spec_file):
    with open(spec_file) as f:
        libs = json.load(f)
    reqs, lines = [], []
    for lib in libs:
        if "whl" in lib or "egg" in lib:
            p = map_path(lib.get("whl") or lib.get("egg"))
            if not os.path.exists(p):
                print(f"Library installation failed: {lib.get('whl') or lib.get('egg')}"
                      " does not exist", file=sys.stderr)
                return 3
            reqs.append(p)
        elif "pypi" in lib:
            pkg = map_words(lib["pypi"]["package"])
            if lib["pypi"].get("repo"):
                reqs += ["--extra-index-url", lib["pypi"]["repo"]]
            reqs.append(pkg)
        elif "requirement_line" in lib:
            # a serverless environment's dependency: a requirements file line
            lines.append(map_words(lib["requirement_line"]))
        elif "requirements" in lib:
            p = map_path(lib["requirements"])
            if not os.path.exists(p):
                print(f"Library installation failed: {lib['requirements']} does not "
                      "exist", file=sys.stderr)
                return 3
            reqs += ["-r", p]
        else:
            kind = next(iter(lib), "?")
            print(f"Library installation failed: {kind} libraries need a JVM "
                  "cluster, which workspace-emu does not emulate", file=sys.stderr)
            return 3
    if lines:
        spec = os.path.join(os.path.dirname(os.path.abspath(spec_file)),
                            "environment-requirements.txt")
        with open(spec, "w") as f:
            f.write("\n".join(lines) + "\n")
        reqs += ["-r", spec]
    if not reqs:
        return 0
    rc, why = pip_why(env, reqs)
    if rc != 0:
        print("Library installation failed: pip exited with status %d%s" % (
            rc, ": " + why if why else ""), file=sys.stderr, flush=True)
        return 3
    return 0


def wheel_task(package, entry_point, args):
    """As a cluster does: the package's entry point of that name, else the
    function package.entry_point."""
    sys.argv = [package] + args
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        norm = re.sub(r"[-_.]+", "-", package).lower()
        dist = next((d for d in importlib.metadata.distributions()
                     if re.sub(r"[-_.]+", "-", d.metadata["Name"] or "").lower() == norm),
                    None)
    for ep in (dist.entry_points if dist else []):
        if ep.name == entry_point:
            return ep.load()()
    mod = importlib.import_module(package.replace("-", "_"))
    return getattr(mod, entry_point)()


def repl():
    """As a notebook cell runs: the last expression's value is shown;
    output and errors come back as the command's results."""
    import ast
    import contextlib
    import io
    import traceback
    out = os.fdopen(int(os.environ["DBMLOPS_REPL_FD"]), "wb")
    ns = {"__name__": "__main__", "__builtins__": __builtins__}
    inp = sys.stdin.buffer
    while True:
        head = inp.readline()
        if not head:
            return
        src = inp.read(int(head)).decode("utf-8", "replace")
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                tree = ast.parse(src, "<command>")
                last = None
                if tree.body and isinstance(tree.body[-1], ast.Expr):
                    last = ast.Expression(tree.body.pop().value)
                exec(compile(tree, "<command>", "exec"), ns)
                if last is not None:
                    v = eval(compile(last, "<command>", "eval"), ns)
                    if v is not None:
                        print(repr(v))
            res = {"resultType": "text", "data": buf.getvalue().rstrip("\n")}
        except KeyboardInterrupt:
            res = {"cancelled": True}
        except BaseException as e:      # SystemExit too: the context lives on
            res = {"resultType": "error", "summary": "%s: %s" % (type(e).__name__, e),
                   "cause": buf.getvalue() + traceback.format_exc()}
        data = json.dumps(res).encode()
        out.write(b"%d\n" % len(data) + data)
        out.flush()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "mkenv":
        mkenv(args[0], args[1:])
    elif cmd == "libraries":
        sys.exit(libraries(args[0], args[1]))
    elif cmd == "pip":
        sys.exit(pip(args[0], args[1:]))
    elif cmd == "repl":
        repl()
    elif cmd == "wheel-task":
        r = wheel_task(args[0], args[1], args[2:])
        sys.exit(r if isinstance(r, int) else 0)
    else:
        sys.exit(f"dbmlops_cluster: unknown command {cmd}")


if __name__ == "__main__":
    main()

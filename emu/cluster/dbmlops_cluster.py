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
        for d in list(layers) + sorted(base):
            f.write(d + "\n")
    print(sp)


def pip(env, args):
    """pip install args into env: its exit status."""
    return pip_why(env, args)[0]


def pip_why(env, args):
    """pip install args into env: its exit status, and pip's own reason
    (its ERROR lines, as the service's library status carries them) when
    it failed. Everything pip says still goes to the setup log."""
    cmd = [sys.executable, "-m", "pip", "--python", os.path.join(env, "bin", "python"),
           "install", "--quiet", "--disable-pip-version-check", "--no-input",
           "--progress-bar", "off"] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode("utf-8", "replace")
    sys.stderr.write(out)
    errors = [line.strip() for line in out.splitlines() if line.startswith("ERROR:")]
    return p.returncode, " ".join(errors[-3:])


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

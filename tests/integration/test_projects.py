"""mlflow-submit on MLflow projects written the way public MLflow examples
and real teams' repositories are written, not the way the tool's own example
is: a data file found through __file__, a `path` parameter given a dbfs:/
value, python_env files, conda envs with conda-only packages, a wheel named
only in the env file, an MLProject spelled differently, an env file not
called conda.yaml, a directory with spaces, a project in a subdirectory of a
git repository run at a branch. Each runs in shell mode and in python mode on
workspace-emu to TERMINATED SUCCESS; the MLflow run must hold the params,
metrics, user and source tags that `mlflow run -b databricks` records, and
for projects MLflow itself can run the same way, MLflow's own run is
compared with ours."""

import json
import os
import shutil
import subprocess
import textwrap

import pytest
import requests

from dbmlops_testenv import BIN, Emu, build_example_wheel, python_of, wait_for

SUBMIT = os.path.join(BIN, "mlflow-submit")
USER = "emu-user@example.com"          # workspace-emu's default --user-name

# A training script as MLflow's own examples write one: data beside the
# script, found through __file__, argparse, a __main__ guard.
TRAIN = '''\
import argparse
import csv
import os
import sys

import mlflow


def load(path):
    with open(path) as f:
        return [(float(r["x"]), float(r["y"])) for r in csv.DictReader(f)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--alpha", type=float, default=0.1)
    p.add_argument("--data", default=None)
    a = p.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    data = a.data or os.path.join(here, "data", "points.csv")
    rows = load(data)
    mse = sum((y - a.alpha * x) ** 2 for x, y in rows) / len(rows)
    with mlflow.start_run():
        mlflow.log_metric("mse", mse)
        mlflow.log_metric("rows", len(rows))
        {extra}
    print("trained on", len(rows), "rows from", os.path.basename(data),
          "argv0", sys.argv[0], flush=True)


if __name__ == "__main__":
    main()
'''

POINTS = "x,y\n1,2\n2,4\n3,6.5\n"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))


def cluster(path, libraries=None, spark="12.2.x-cpu-ml-scala2.12"):
    spec = {"new_cluster": {"spark_version": spark, "node_type_id": "i3.xlarge",
                            "num_workers": 1}}
    if libraries is not None:
        spec["libraries"] = libraries
    write(path, json.dumps(spec))


@pytest.fixture(scope="module")
def wheel(stack, tmp_path_factory):
    """The example wheel, uploaded; its FUSE path."""
    d = tmp_path_factory.mktemp("wheel")
    whl = build_example_wheel(str(d))
    out = subprocess.run([os.path.join(BIN, "dbfs-put"), "-q", "-c", "--print", "fuse",
                          whl, "dbfs:/wheels/projects/"], env=stack.env(),
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


@pytest.fixture(scope="module")
def projects(stack, wheel, tmp_path_factory):
    root = tmp_path_factory.mktemp("projects")
    P = {}

    # 1. data beside the script, python_env.yaml, MLProject spelled so
    d = root / "datafile"
    write(d / "MLProject", """\
        name: datafile
        python_env: python_env.yaml
        entry_points:
          main:
            parameters:
              alpha: {type: float, default: 0.1}
            command: "python train.py --alpha {alpha}"
        """)
    write(d / "python_env.yaml", """\
        python: "3.11"
        build_dependencies:
          - pip
        dependencies:
          - mlflow
        """)
    write(d / "train.py", TRAIN.format(extra="pass"))
    write(d / "data" / "points.csv", POINTS)
    P["datafile"] = d

    # 2. a path parameter given a dbfs:/ value; env file named env.yaml
    d = root / "pathparam"
    write(d / "MLproject", """\
        name: pathparam
        conda_env: env.yaml
        entry_points:
          main:
            parameters:
              data: path
              alpha: {type: float, default: 0.2}
            command: "python train.py --data {data} --alpha {alpha}"
        """)
    write(d / "env.yaml", """\
        name: pathparam
        dependencies:
          - python=3.11
          - pip
          - pip:
              - mlflow
        """)
    write(d / "train.py", TRAIN.format(extra="pass"))
    P["pathparam"] = d

    # 3. conda-only packages next to a pip section; the wheel only there
    d = root / "condaonly"
    write(d / "MLproject", """\
        name: condaonly
        conda_env: conda.yaml
        entry_points:
          main:
            command: "python train.py"
        """)
    write(d / "conda.yaml", f"""\
        name: condaonly
        channels: [conda-forge]
        dependencies:
          - python=3.8
          - gcc
          - r-base=4.2
          - pip
          - pip:
              - {wheel}
        """)
    write(d / "train.py", TRAIN.format(
        extra="import dbmlops_example; mlflow.log_param('lib', dbmlops_example.__name__)"))
    write(d / "data" / "points.csv", POINTS)
    P["condaonly"] = d

    # 4. a directory with spaces; no MLproject, conda.yaml by default name,
    # a bare script run with -e
    d = root / "my project dir"
    write(d / "conda.yaml", f"""\
        dependencies:
          - pip:
              - {wheel}
        """)
    write(d / "fit model.py", TRAIN.format(
        extra="import dbmlops_example; mlflow.log_param('lib', 'yes')"))
    write(d / "data" / "points.csv", POINTS)
    P["spaces"] = d

    # 5. a project in a subdirectory of a git repository, at a branch
    repo = root / "repo"
    sub = repo / "projects" / "train"
    write(sub / "MLproject", """\
        name: gitproject
        python_env: python_env.yaml
        entry_points:
          main:
            parameters:
              alpha: {type: float, default: 0.3}
            command: "python train.py --alpha {alpha}"
        """)
    write(sub / "python_env.yaml", "dependencies: [mlflow]\n")
    write(sub / "train.py", TRAIN.format(extra="mlflow.set_tag('branch', 'feature')"))
    write(sub / "data" / "points.csv", POINTS)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    write(repo / "README", "main branch\n")
    subprocess.run(git + ["add", "README"], check=True)
    subprocess.run(git + ["commit", "-qm", "main"], check=True)
    subprocess.run(git + ["checkout", "-qb", "feature/train"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "project"], check=True)
    sha = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True,
                         text=True, check=True).stdout.strip()
    subprocess.run(git + ["checkout", "-q", "main"], check=True)
    P["git"] = (repo, sha)

    # 6. as MLflow's own examples write them: int and boolean parameters,
    # a `command: |` with continuations, a quoted newline, $VAR from the
    # cluster's spark_env_vars, {param} inside quotes
    d = root / "typed"
    write(d / "MLproject", """\
        name: typed
        python_env: python_env.yaml
        entry_points:
          main:
            parameters:
              epochs: {type: int, default: 5}
              shuffle: {type: boolean, default: true}
              lr: {type: float, default: 0.010}
              msg: {type: string, default: "a b"}
            command: |
              python train.py \\
                --epochs {epochs} \\
                --shuffle {shuffle} \\
                --lr {lr} \\
                --note "line one
              line two" \\
                --greeting "$GREETING" \\
                --msg "{msg}"
        """)
    write(d / "python_env.yaml", "dependencies: [mlflow]\n")
    write(d / "train.py", """\
        import json
        import sys

        import mlflow

        if __name__ == "__main__":
            with mlflow.start_run():
                mlflow.set_tag("argv", json.dumps(sys.argv[1:]))
        """)
    P["typed"] = d
    for name, spark in (("typed.json", "12.2.x-cpu-ml-scala2.12"),
                        ("typed13.json", "15.4.x-cpu-ml-scala2.12")):
        write(root / name, json.dumps({"new_cluster": {
            "spark_version": spark, "node_type_id": "i3.xlarge", "num_workers": 1,
            "spark_env_vars": {"GREETING": "hi there"}}}))

    cluster(root / "cluster.json")
    cluster(root / "cluster13.json", spark="15.4.x-cpu-ml-scala2.12")
    P["root"] = root
    return P


def submit(stack, *args, mode="shell", expect=0):
    env = stack.env(DBMLOPS_POLL_MAX="1")
    r = subprocess.run([SUBMIT, "-b", "databricks", "--mode", mode, "--json", *args],
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == expect, r.stderr + r.stdout[-3000:]
    return json.loads(r.stdout), r.stderr


def mlflow_run(stack, run_id):
    r = requests.get(stack.url + "/api/2.0/mlflow/runs/get", params={"run_id": run_id},
                     headers={"Authorization": "Bearer " + Emu.TOKEN}, timeout=30)
    r.raise_for_status()
    run = r.json()["run"]
    data = run["data"]
    return (run, {p["key"]: p["value"] for p in data.get("params", [])},
            {m["key"]: m["value"] for m in data.get("metrics", [])},
            {t["key"]: t["value"] for t in data.get("tags", [])})


MODES = ["shell", "python"]


@pytest.mark.parametrize("mode", MODES)
def test_data_beside_the_script(stack, projects, mode):
    root = projects["root"]
    out, err = submit(stack, "-c", str(root / "cluster.json"), "--experiment-name",
                      "/Shared/projects/datafile", "-P", "alpha=2", str(projects["datafile"]),
                      mode=mode)
    assert out["result_state"] == "SUCCESS"
    assert "trained on 3 rows from points.csv argv0 train.py" in out["logs"]
    run, params, metrics, tags = mlflow_run(stack, out["mlflow_run_id"])
    assert params == {"alpha": "2"}
    assert metrics["rows"] == 3 and abs(metrics["mse"] - 0.25 / 3) < 1e-9
    assert tags["mlflow.user"] == USER and run["info"]["user_id"] == USER
    assert tags["mlflow.source.name"].endswith("datafile")
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.project.entryPoint"] == "main"
    assert run["info"]["status"] == "FINISHED"


@pytest.mark.parametrize("mode", MODES)
def test_path_parameter_on_dbfs(stack, projects, tmp_path, mode):
    csv = tmp_path / "points.csv"
    csv.write_text(POINTS + "4,8\n")
    subprocess.run([os.path.join(BIN, "dbfs-put"), "-q", "-f", str(csv),
                    "dbfs:/data/points.csv"], env=stack.env(), check=True)
    out, _ = submit(stack, "-c", str(projects["root"] / "cluster.json"),
                    "--experiment-name", "/Shared/projects/pathparam",
                    "-P", "data=dbfs:/data/points.csv", str(projects["pathparam"]),
                    mode=mode)
    assert "trained on 4 rows" in out["logs"]
    _, params, metrics, _ = mlflow_run(stack, out["mlflow_run_id"])
    assert params == {"data": "dbfs:/data/points.csv", "alpha": "0.2"}
    assert metrics["rows"] == 4


@pytest.mark.parametrize("mode", MODES)
def test_conda_only_packages_and_wheel_only_in_env(stack, projects, mode):
    """No libraries in the cluster config: the wheel reaches the cluster
    only through the conda env. gcc and r-base have no PyPI package."""
    out, err = submit(stack, "-c", str(projects["root"] / "cluster.json"),
                      "--experiment-name", "/Shared/projects/condaonly",
                      str(projects["condaonly"]), mode=mode)
    _, params, metrics, _ = mlflow_run(stack, out["mlflow_run_id"])
    assert params == {"lib": "dbmlops_example"} and metrics["rows"] == 3
    if mode == "python":
        # named before anything is sent, and the wheel is a task library
        assert "conda packages are not installed in python mode: gcc, r-base=4.2" in err
        libs = out["job_spec"]["tasks"][0]["libraries"]
        assert {"whl": "dbfs:/" + projects_wheel_uri(projects)} in libs
    else:
        # the cluster's mlflow run skips what PyPI lacks, each named
        assert "conda package gcc is not on PyPI: skipped" in out["logs"]
        assert "pins python 3.8" in out["logs"]
        # and the run page lists those warnings above the log
        import re
        import requests
        page = requests.get(out["run_page_url"], auth=("token", Emu.TOKEN),
                            timeout=30).text
        warned = re.search(r"<h2>Warnings</h2><ul class=warnings>(.*?)</ul>", page)
        assert warned, page[:2000]
        assert "conda package gcc is not on PyPI: skipped" in warned.group(1)
        assert "pins python 3.8" in warned.group(1)


def projects_wheel_uri(projects):
    text = (projects["condaonly"] / "conda.yaml").read_text()
    fuse = [w for w in text.split() if w.endswith(".whl")][0]
    return fuse[len("/dbfs/"):]


@pytest.mark.parametrize("mode", MODES)
def test_bare_script_in_a_directory_with_spaces(stack, projects, mode):
    out, err = submit(stack, "-c", str(projects["root"] / "cluster.json"),
                      "--experiment-name", "/Shared/projects/spaces", "-e", "fit model.py",
                      "-P", "alpha=1", str(projects["spaces"]), mode=mode)
    assert "trained on 3 rows" in out["logs"]
    _, params, _, tags = mlflow_run(stack, out["mlflow_run_id"])
    assert params == {"alpha": "1", "lib": "yes"}
    assert tags["mlflow.project.entryPoint"] == "fit model.py"


@pytest.mark.parametrize("mode", MODES)
def test_git_subdirectory_at_a_branch(stack, projects, mode):
    repo, sha = projects["git"]
    uri = "file://%s#projects/train" % repo
    out, err = submit(stack, "-c", str(projects["root"] / "cluster.json"),
                      "--experiment-name", "/Shared/projects/git", "-v", "feature/train",
                      uri, mode=mode)
    assert "trained on 3 rows" in out["logs"]
    _, params, _, tags = mlflow_run(stack, out["mlflow_run_id"])
    assert params == {"alpha": "0.3"} and tags["branch"] == "feature"
    assert tags["mlflow.source.name"] == uri
    assert tags["mlflow.source.git.commit"] == sha
    assert tags["mlflow.source.git.branch"] == "feature/train"
    # the user's work tree was not touched: still on main
    head = (repo / ".git" / "HEAD").read_text()
    assert head.strip() == "ref: refs/heads/main"


@pytest.mark.parametrize("mode", MODES)
def test_typed_parameters_and_a_multiline_command(stack, projects, mode):
    """int and boolean parameters run (MLflow takes any type), their
    defaults logged as MLflow logs them; the command's words are the ones
    bash reads, in python mode as in shell mode."""
    cfg = projects["root"] / ("typed.json" if mode == "shell" else "typed13.json")
    out, err = submit(stack, "-c", str(cfg), "--experiment-name",
                      "/Shared/projects/typed", str(projects["typed"]), mode=mode)
    _, params, _, tags = mlflow_run(stack, out["mlflow_run_id"])
    assert params == {"epochs": "5", "shuffle": "True", "lr": "0.01", "msg": "a b"}
    assert json.loads(tags["argv"]) == [
        "--epochs", "5", "--shuffle", "True", "--lr", "0.01",
        "--note", "line one\nline two", "--greeting", "hi there",
        "--msg", "'a b'"], out["logs"]
    # given values pass as written
    out, _ = submit(stack, "-c", str(cfg), "--experiment-name", "/Shared/projects/typed",
                    "-P", "epochs=7", "-P", "shuffle=false", str(projects["typed"]),
                    mode=mode)
    _, params, _, tags = mlflow_run(stack, out["mlflow_run_id"])
    assert params["epochs"] == "7" and params["shuffle"] == "false"
    assert json.loads(tags["argv"])[:4] == ["--epochs", "7", "--shuffle", "false"]


def test_python_env_is_a_virtualenv_of_its_own(stack, projects, tmp_path):
    """Shell mode, as the runtime's MLflow runs a python_env project: in a
    virtualenv of its own that has what the file declares and none of the
    cluster's packages (mlflow/utils/virtualenv.py). A script importing a
    package the cluster has but the file does not declare fails as on the
    service; declared through `-r requirements.txt`, which resolves in the
    project directory, it runs; `--env-manager local` runs it in the
    cluster's environment; a key MLflow's _PythonEnv does not take is
    MLflow's TypeError."""
    d = tmp_path / "tabular"
    write(d / "MLproject", """\
        name: tabular
        python_env: python_env.yaml
        entry_points:
          main:
            command: "python report.py"
        """)
    write(d / "python_env.yaml", """\
        python: "3.11"
        build_dependencies:
          - pip
        dependencies:
          - mlflow
        """)
    write(d / "report.py", """\
        import mlflow
        import tabulate  # the cluster has it; python_env.yaml does not say so

        with mlflow.start_run():
            mlflow.log_param("tabulate", tabulate.__name__)
        print(tabulate.tabulate([[1, 2]]), flush=True)
        """)
    cfg = projects["root"] / "cluster.json"
    exp = ["--experiment-name", "/Shared/projects/tabular"]
    out, _ = submit(stack, "-c", str(cfg), *exp, str(d), expect=1)
    assert out["result_state"] == "FAILED"
    assert "ModuleNotFoundError: No module named 'tabulate'" in out["logs"], out["logs"]
    # the cluster's own environment, as MLflow's local manager
    out, _ = submit(stack, "-c", str(cfg), *exp, "--env-manager", "local", str(d))
    assert "1  2" in out["logs"]
    # declared, in a requirements file beside it, as MLflow's models write it
    write(d / "requirements.txt", "mlflow\ntabulate\n")
    write(d / "python_env.yaml", "dependencies: [-r requirements.txt]\n")
    out, _ = submit(stack, "-c", str(cfg), *exp, str(d))
    assert out["result_state"] == "SUCCESS" and "1  2" in out["logs"]
    assert mlflow_run(stack, out["mlflow_run_id"])[1] == {"tabulate": "tabulate"}
    # conda's keys are not python_env's
    write(d / "python_env.yaml", "channels: [conda-forge]\ndependencies: [mlflow]\n")
    out, _ = submit(stack, "-c", str(cfg), *exp, str(d), expect=1)
    assert ("python_env.yaml: TypeError: _PythonEnv.__init__() got an unexpected "
            "keyword argument 'channels'") in out["logs"], out["logs"]


def test_python_env_pins_its_python(mlflow_server, projects, tmp_path):
    """A python_env project that pins Python 3.10 (a `match` statement, a
    dependency of its own) runs on 3.10 in shell mode when the emulator has
    one (--python-for), as the runtime installs the pin with pyenv, on a
    runtime whose own Python is another (15.4: 3.11); a pin
    nothing here has runs on the cluster's Python, and the log says so."""
    py310 = python_of(10)
    if py310 is None:
        pytest.skip("no Python 3.10 on this machine")
    d = tmp_path / "py310"
    write(d / "MLproject", """\
        name: py310
        python_env: python_env.yaml
        entry_points:
          main:
            command: "python report.py"
        """)
    write(d / "python_env.yaml", 'python: "3.10"\ndependencies:\n  - tabulate\n')
    write(d / "report.py", """\
        import sys

        import tabulate

        match sys.version_info[:2]:
            case (3, 10):
                print("on python 3.10 with", tabulate.__name__, flush=True)
            case other:
                sys.exit("needs Python 3.10, not %d.%d" % other)
        """)
    e = Emu(mlflow_url=mlflow_server.url, extra=["--python-for", "3.10=" + py310]).start()
    try:
        exp = ["--experiment-name", "/Shared/projects/py310"]
        # 15.4: the cluster's Python is 3.11, the pin's 3.10
        cfg = str(projects["root"] / "cluster13.json")
        out, _ = submit(e, "-c", cfg, *exp, str(d))
        assert "on python 3.10 with tabulate" in out["logs"], out["logs"]
        write(d / "python_env.yaml", 'python: "3.4"\ndependencies:\n  - tabulate\n')
        out, _ = submit(e, "-c", cfg, *exp, str(d), expect=1)
        assert ("python_env.yaml pins python 3.4, which the runtime installs with pyenv; "
                "this emulator has no python3.4") in out["logs"], out["logs"]
        assert "needs Python 3.10, not 3.11" in out["logs"]
    finally:
        e.cleanup()


def test_bare_repository(stack, projects, tmp_path):
    """A file:// URI to a bare repository (a server-side clone) runs at -v
    as `git clone` of it would, and at its HEAD without -v."""
    repo, sha = projects["git"]
    bare = tmp_path / "team repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    uri = "file://%s#projects/train" % bare
    out, _ = submit(stack, "-c", str(projects["root"] / "cluster13.json"),
                    "--experiment-name", "/Shared/projects/bare", "-v", sha, uri,
                    mode="python")
    assert "trained on 3 rows" in out["logs"]
    _, params, _, tags = mlflow_run(stack, out["mlflow_run_id"])
    assert tags["mlflow.source.git.commit"] == sha and params == {"alpha": "0.3"}
    # HEAD is main, which has no projects/train: said as such, nothing sent
    r = subprocess.run([SUBMIT, "-b", "databricks", "-n", "--experiment-name",
                        "/Shared/projects/bare", "-c",
                        str(projects["root"] / "cluster13.json"), uri],
                       env=stack.env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no subdirectory 'projects/train'" in r.stderr, r.stderr
    subprocess.run(["git", "-C", str(bare), "symbolic-ref", "HEAD",
                    "refs/heads/feature/train"], check=True)
    r = subprocess.run([SUBMIT, "-b", "databricks", "-n", "--experiment-name",
                        "/Shared/projects/bare", "-c",
                        str(projects["root"] / "cluster13.json"), uri],
                       env=stack.env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_python_mode_by_runtime_version(stack, projects):
    """auto picks python mode from runtime 13; tracebacks name the
    project's own file."""
    d = projects["root"] / "broken"
    write(d / "MLproject", "name: b\nentry_points:\n  main:\n    command: python boom.py\n")
    write(d / "boom.py", "import os\n\n\ndef f():\n    raise RuntimeError('boom in ' +"
          " os.path.basename(__file__))\n\n\nif __name__ == '__main__':\n    f()\n")
    out, _ = submit(stack, "-c", str(projects["root"] / "cluster13.json"),
                    "--experiment-name", "/Shared/projects/broken", str(d),
                    mode="auto", expect=1)
    assert out["mode"] == "python"
    assert 'boom.py", line 5, in f' in out["logs"]
    assert "RuntimeError: boom in boom.py" in out["logs"]


def test_mistakes_named_before_sending(stack, projects, tmp_path):
    n = len(stack.requests())
    cfg = str(projects["root"] / "cluster.json")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = stack.env()

    def run(*args):
        return subprocess.run([SUBMIT, *args], env=env, capture_output=True, text=True)
    r = run("-c", cfg, "--experiment-name", "/Shared/x", str(empty))
    assert r.returncode == 2 and "has no MLproject file" in r.stderr
    assert "-e script.py" in r.stderr
    r = run("-c", cfg, "--experiment-name", "myexp", str(projects["datafile"]))
    assert r.returncode == 2 and "/Users/<you>/myexp" in r.stderr
    r = run("-c", cfg, str(projects["datafile"]))
    assert r.returncode == 2 and "no experiment" in r.stderr
    r = run("-c", "nosuch.json", "--experiment-name", "/Shared/x", str(projects["datafile"]))
    assert r.returncode == 2 and "not JSON text" in r.stderr
    r = run("-c", cfg, "-n", "--experiment-name", "/Shared/x", "-P", "alhpa=1",
            str(projects["datafile"]))
    assert r.returncode == 0 and "declares no parameter 'alhpa'" in r.stderr
    r = run("-c", '{"spark_verison": "15.4.x-scala2.12", "node_type_id": "x", '
            '"num_workers": 1}', "-n", "--experiment-name", "/Shared/x",
            str(projects["datafile"]))
    assert r.returncode == 2 and "the cluster has no spark_version" in r.stderr
    r = run("-c", '{"new_cluster": {"spark_version": "15.4.x-scala2.12", '
            '"node_type_id": "i3.xlarge", "num_workers": 2}}', "-n",
            "--json", "--experiment-name", "/Shared/x", str(projects["datafile"]))
    assert r.returncode == 0, r.stderr
    spec = json.loads(r.stdout)["job_spec"]
    assert spec["tasks"][0]["new_cluster"]["spark_version"] == "15.4.x-scala2.12"
    assert len(stack.requests()) == n        # nothing was sent


def test_mlflow_tracking_uri_profile(stack, projects, tmp_path):
    """MLFLOW_TRACKING_URI=databricks://<profile> picks the profile."""
    cfg = tmp_path / "databrickscfg"
    cfg.write_text("[ws]\nhost = %s\ntoken = %s\n" % (stack.url, Emu.TOKEN))
    env = stack.env(DATABRICKS_CONFIG_FILE=str(cfg), MLFLOW_TRACKING_URI="databricks://ws",
                    MLFLOW_EXPERIMENT_NAME="/Shared/projects/envvars", DBMLOPS_POLL_MAX="1")
    del env["DATABRICKS_HOST"], env["DATABRICKS_TOKEN"]
    r = subprocess.run([SUBMIT, "-c", str(projects["root"] / "cluster.json"), "--json",
                        str(projects["datafile"])], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    exp = requests.get(stack.url + "/api/2.0/mlflow/experiments/get", params={
        "experiment_id": out["experiment_id"]}, headers={
        "Authorization": "Bearer " + Emu.TOKEN}, timeout=30).json()
    assert exp["experiment"]["name"] == "/Shared/projects/envvars"


def job_records(stack):
    state = os.path.join(stack.data, "jobs", "state")
    recs = {}
    for f in os.listdir(state) if os.path.isdir(state) else []:
        with open(os.path.join(state, f)) as fh:
            rec = json.load(fh)
        recs[rec["run_id"]] = rec
    return recs


def normalise(rec, project_dirs):
    """A run record with what differs from run to run taken out: ids, the
    tarball digest; the shell script compared by its words (MLflow writes
    it over several lines with comments, mlflow-submit on one)."""
    import re
    t = rec["tasks"][0]
    spec = {"name": rec["name"], "kind": t["kind"],
            "task": json.loads(t["task"]), "cluster": json.loads(t["cluster"]),
            "libraries": json.loads(t["libraries"])}
    cmd = spec["task"].get("command")
    if cmd:
        script = "\n".join(ln for ln in cmd[2].splitlines()
                           if not ln.strip().startswith("#"))
        cmd[2] = " ".join(script.split())
    text = json.dumps(spec, sort_keys=True)
    for d in project_dirs:
        text = text.replace(str(d), "<project>")
    text = re.sub(r"[0-9a-f]{64}", "<sha>", text)
    text = re.sub(r"[0-9a-f]{32}", "<run>", text)
    return json.loads(text)


MLFLOW_LINES = [
    # (the words after `mlflow run`, as teams write them)
    ["-b", "databricks", "--backend-config", "{cfg}", "--experiment-name",
     "/Shared/projects/cmp", "-P", "alpha=0.7", "{proj}"],
    ["--backend", "databricks", "-c", "{cfg}", "-e", "main", "--experiment-name",
     "/Shared/projects/cmp", "--param-list", "alpha=0.4", "{proj}"],
    ["-b", "databricks", "-c", "{cfg}", "--experiment-name", "/Shared/projects/cmp",
     "--env-manager", "local", "{proj}"],
]


def run_ids(stack, experiment_name):
    h = {"Authorization": "Bearer " + Emu.TOKEN}
    exp = requests.get(stack.url + "/api/2.0/mlflow/experiments/get-by-name",
                       params={"experiment_name": experiment_name}, headers=h, timeout=30)
    if exp.status_code != 200:
        return set()
    eid = exp.json()["experiment"]["experiment_id"]
    runs = requests.post(stack.url + "/api/2.0/mlflow/runs/search", json={
        "experiment_ids": [eid], "max_results": 500}, headers=h, timeout=30).json()
    return {r["info"]["run_id"] for r in runs.get("runs", [])}


@pytest.mark.once
@pytest.mark.parametrize("words", MLFLOW_LINES)
def test_same_job_spec_as_mlflow(stack, projects, words):
    """A `mlflow run -b databricks ...` line with `mlflow run` replaced by
    mlflow-submit sends the job spec MLflow's own backend sends (read back
    from the emulator's run records), and records the same params, metrics
    and tags. MLflow pins the cluster's mlflow to its own version; so does
    --mlflow here."""
    import sys
    import mlflow
    cfg = projects["root"] / "wrapped.json"
    cfg.write_text(json.dumps({"new_cluster": {
        "spark_version": "12.2.x-cpu-ml-scala2.12", "node_type_id": "i3.xlarge",
        "num_workers": 1}, "libraries": [{"pypi": {"package": "mlflow"}}]}))
    args = [w.format(cfg=cfg, proj=projects["datafile"]) for w in words]
    exp = "/Shared/projects/cmp"
    requests.post(stack.url + "/api/2.0/workspace/mkdirs", json={"path": "/Shared/projects"},
                  headers={"Authorization": "Bearer " + Emu.TOKEN}, timeout=30)
    jobs0, runs0 = set(job_records(stack)), run_ids(stack, exp)
    mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
    theirs = subprocess.Popen([mlflow_bin, "run", *args],
                              env=stack.env(MLFLOW_TRACKING_URI="databricks"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # no --mlflow: shell mode pins the cluster's mlflow as MLflow does
    ours = subprocess.run([SUBMIT, "--json", *args], env=stack.env(DBMLOPS_POLL_MAX="1"),
                          capture_output=True, text=True, timeout=600)
    _, their_err = theirs.communicate(timeout=600)
    assert theirs.returncode == 0, their_err[-3000:]
    assert ours.returncode == 0, ours.stderr
    our_run = json.loads(ours.stdout)["mlflow_run_id"]
    (their_run,) = run_ids(stack, exp) - runs0 - {our_run}
    recs = job_records(stack)

    def job_of(run_id):
        (job,) = [k for k in set(recs) - jobs0 if run_id in recs[k]["tasks"][0]["task"]]
        return job
    assert normalise(recs[job_of(their_run)], [projects["datafile"]]) == \
        normalise(recs[job_of(our_run)], [projects["datafile"]])

    def their_job_ended():
        r = requests.get(stack.url + "/api/2.0/jobs/runs/get",
                         params={"run_id": job_of(their_run)}, timeout=30,
                         headers={"Authorization": "Bearer " + Emu.TOKEN}).json()
        return r["state"].get("result_state")
    wait_for(their_job_ended, 120, "MLflow's job to end")
    assert their_job_ended() == "SUCCESS"
    _, p1, m1, t1 = mlflow_run(stack, their_run)
    _, p2, m2, t2 = mlflow_run(stack, our_run)
    assert p1 == p2 and m1 == m2
    for k in ("mlflow.source.name", "mlflow.source.type", "mlflow.project.entryPoint",
              "mlflow.project.backend", "mlflow.source.git.commit",
              "mlflow.databricks.webappURL"):
        assert t1.get(k) == t2.get(k), k

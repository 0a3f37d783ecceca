"""wheelpath-subst: golden files, byte-for-byte preservation outside the
replaced words, path forms by place, refusals that leave files untouched."""

import json
import os
import shutil
import subprocess

import pytest

from dbmlops_testenv import BIN

TOOL = os.path.join(BIN, "wheelpath-subst")
GOLD = os.path.join(os.path.dirname(__file__), "..", "golden", "subst")
W = "dbfs:/wheels/feature-x--0a1b2c3d4e/3f1c0e9a7b2d4c55/trainer-1.2.0-py3-none-any.whl"
W_POSIX = "/dbfs" + W[5:]
U = "/Volumes/main/ml/wheels/9e8d/feature_utils-0.3-py3-none-any.whl"


def run(*args, stdin=None):
    return subprocess.run([TOOL, *args], input=stdin, capture_output=True,
                          timeout=60)


def gold(name):
    with open(os.path.join(GOLD, name), "rb") as f:
        return f.read()


def expect(src, pairs):
    """src with each (old word, new word) replaced: the only bytes allowed
    to change."""
    for old, new in pairs:
        assert old in src, old
        src = src.replace(old, new)
    return src


@pytest.mark.parametrize("name", ["conda.yaml", "cluster.json"])
def test_seed_files_golden(name):
    r = run("-w", W, os.path.join(GOLD, name))
    assert r.returncode == 0, r.stderr
    assert r.stdout == gold(name + ".expected")


def test_seed_files_from_dbfs_put_output(tmp_path):
    for name in ["conda.yaml", "cluster.json"]:
        shutil.copy(os.path.join(GOLD, name), tmp_path / name)
    r = run("-i", str(tmp_path / "conda.yaml"), str(tmp_path / "cluster.json"),
            stdin=(W + "\n").encode())
    assert r.returncode == 0, r.stderr
    assert r.stdout == b""
    for name in ["conda.yaml", "cluster.json"]:
        assert (tmp_path / name).read_bytes() == gold(name + ".expected")


@pytest.mark.parametrize("name,pairs", [
    ("commented.yaml", [(b"/dbfs/wheels/builds/WHEELPATH   #", W_POSIX.encode() + b"   #")]),
    ("flow.yaml", [(b"/dbfs/wheels/builds/WHEELPATH", W_POSIX.encode())]),
    ("quoted.yaml", [(b"'/dbfs/wheels/builds/WHEELPATH'", b"'" + W_POSIX.encode() + b"'"),
                     (b'"/dbfs/wheels/builds/WHEELPATH"', b'"' + W_POSIX.encode() + b'"'),
                     (b"trainer @ /dbfs/wheels/builds/WHEELPATH", b"trainer @ " + W_POSIX.encode()),
                     (b"pip install /dbfs/wheels/builds/WHEELPATH", b"pip install " + W_POSIX.encode())]),
    ("anchors.yaml", [(b"&wheel /dbfs/wheels/builds/WHEELPATH", b"&wheel " + W_POSIX.encode())]),
    ("crlf.yaml", [(b"/dbfs/wheels/builds/WHEELPATH", W_POSIX.encode())]),
    ("bom.yaml", [(b"/dbfs/wheels/builds/WHEELPATH", W_POSIX.encode())]),
    ("multi.yaml", [(b"/dbfs/wheels/builds/WHEELPATH", W_POSIX.encode())]),
    ("requirements.txt", [(b"\n/dbfs/wheels/builds/WHEELPATH\n", b"\n" + W_POSIX.encode() + b"\n")]),
    ("python_env.yaml", [(b"/dbfs/wheels/builds/WHEELPATH", W_POSIX.encode())]),
    ("unicode.json", [(b'"whl": "WHEELPATH"', b'"whl": "' + W.encode() + b'"'),
                      (b'"--wheel", "WHEELPATH"', b'"--wheel", "' + W_POSIX.encode() + b'"')]),
])
def test_only_the_words_change(name, pairs):
    src = gold(name)
    r = run("-w", W, os.path.join(GOLD, name))
    assert r.returncode == 0, r.stderr
    assert r.stdout == expect(src, pairs)


def test_named_placeholders_and_forms():
    r = run("-w", W, "-w", U, os.path.join(GOLD, "wrapped.json"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["libraries"][0] == {"whl": W}                 # URI for whl
    assert out["libraries"][1] == {"pypi": {"package": U}}   # POSIX for pip
    assert out["new_cluster"]["spark_env_vars"]["NOTE"] == 'café "quoted" \\ path'
    src = gold("wrapped.json")
    assert r.stdout == expect(src, [(b"dbfs:/wheels/builds/WHEELPATH:trainer", W.encode()),
                                    (b'"WHEELPATH:feature-utils"', b'"' + U.encode() + b'"')])


def test_manifest_input(tmp_path):
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"files": [
        {"local": "dist/x.txt", "remote": "dbfs:/w/x.txt"},
        {"local": "dist/t.whl", "remote": W, "fuse": W_POSIX}]}))
    r = run("--manifest", str(m), os.path.join(GOLD, "conda.yaml"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == gold("conda.yaml.expected")
    r = run(os.path.join(GOLD, "conda.yaml"), stdin=m.read_bytes())
    assert r.stdout == gold("conda.yaml.expected")


def test_dry_run(tmp_path):
    r = run("-n", "-w", W, os.path.join(GOLD, "conda.yaml"),
            os.path.join(GOLD, "cluster.json"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0].endswith("conda.yaml:9:9: /dbfs/wheels/builds/WHEELPATH -> " + W_POSIX)
    assert lines[1].endswith("cluster.json:6:27: /dbfs/wheels/builds/WHEELPATH -> " + W_POSIX)


def refused(tmp_path, files, args, stdin=None):
    """Run with -i; assert failure and that every file is untouched."""
    before = {}
    paths = []
    for name, content in files.items():
        p = tmp_path / name
        p.write_bytes(content)
        before[p] = content
        paths.append(str(p))
    r = run("-i", *args, *paths, stdin=stdin)
    assert r.returncode != 0
    for p, content in before.items():
        assert p.read_bytes() == content
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]
    return r.stderr.decode()


def test_refuse_ambiguous(tmp_path):
    err = refused(tmp_path, {"conda.yaml": gold("conda.yaml")}, ["-w", W, "-w", U])
    assert "conda.yaml:9:9: 2 wheels" in err and "WHEELPATH:<distribution>" in err


def test_refuse_missing_named_wheel(tmp_path):
    err = refused(tmp_path, {"c.json": b'{"whl": "WHEELPATH:nope"}\n'}, ["-w", W])
    assert err == "wheelpath-subst: %s:1:10: no wheel of nope among " \
        "trainer-1.2.0-py3-none-any.whl\n" % (tmp_path / "c.json")


def test_refuse_unparsable_input(tmp_path):
    err = refused(tmp_path, {"bad.yaml": b"a: [1, 2\nb: WHEELPATH\n"}, ["-w", W])
    assert "bad.yaml:" in err
    err = refused(tmp_path, {"bad.json": b'{"a": WHEELPATH}'}, ["-w", W])
    assert "bad.json:1:7: invalid" in err


def test_refuse_result_that_would_not_parse(tmp_path):
    odd = "dbfs:/w/a, b/trainer-1.0-py3-none-any.whl"
    err = refused(tmp_path, {"f.yaml": b"deps: [x, /dbfs/WHEELPATH]\n"}, ["-w", odd])
    assert "cannot be written in this unquoted scalar" in err


def test_refuse_leftover_placeholder(tmp_path):
    # a placeholder in a key is not a place for a path: refused, not ignored
    err = refused(tmp_path, {"f.yaml": b"deps:\n  - WHEELPATH\nWHEELPATH: 1\n"}, ["-w", W])
    assert "f.yaml:3:1: the result still holds the placeholder WHEELPATH" in err
    err = refused(tmp_path, {"f.json": b'{"a": ["WHEELPATH"], "WHEELPATH": 1}'}, ["-w", W])
    assert "f.json:1:23: the result still holds" in err


def test_refuse_no_placeholder_and_no_wheels(tmp_path):
    err = refused(tmp_path, {"f.yaml": b"a: b\n"}, ["-w", W])
    assert "no placeholder WHEELPATH" in err
    # no file has one: one line says so, not one a file and then that line
    err = refused(tmp_path, {"a.yaml": b"a: b\n", "b.json": b"{}", "c.txt": b"x\n"},
                  ["-w", W])
    assert err.splitlines() == [
        "wheelpath-subst: no placeholder WHEELPATH in %s or the other files"
        % (tmp_path / "a.yaml")], err
    # one file of several without one: that file is named, once
    a, b = tmp_path / "a.yaml", tmp_path / "b.json"
    a.write_bytes(b"deps: [/dbfs/wheels/builds/WHEELPATH]\n")
    r = run("-i", "-w", W, str(a), str(b))
    assert r.returncode == 0, r.stderr
    assert r.stderr.decode().splitlines() == [
        "wheelpath-subst: %s: no placeholder WHEELPATH" % b]
    err = refused(tmp_path, {"f.yaml": b"a: WHEELPATH\n"}, [], stdin=b"dist/readme.txt\n")
    assert "no wheel was given" in err


def test_in_place_keeps_mode(tmp_path):
    p = tmp_path / "conda.yaml"
    p.write_bytes(gold("conda.yaml"))
    os.chmod(p, 0o640)
    r = run("-i", "-w", W, str(p))
    assert r.returncode == 0, r.stderr
    assert os.stat(p).st_mode & 0o777 == 0o640
    assert p.read_bytes() == gold("conda.yaml.expected")


def test_output_file_and_custom_token(tmp_path):
    src = tmp_path / "r.txt"
    src.write_bytes(b"@@WHEEL@@\n")
    r = run("-P", "@@WHEEL@@", "-w", U, "-o", str(tmp_path / "out.txt"), str(src))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.txt").read_bytes() == U.encode() + b"\n"
    assert src.read_bytes() == b"@@WHEEL@@\n"


def test_usage_errors():
    assert run().returncode == 2
    assert run("-i", "-o", "x", "f").returncode == 2
    r = run("-w", "s3://bucket/a-1.0-py3-none-any.whl", "f")
    assert r.returncode == 2 and b"not a Databricks path" in r.stderr
    assert run("--help").returncode == 0


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_many_placeholders_json(tmp_path, bom):
    """Thousands of library entries, placeholders among plain strings, with
    and without a byte-order mark: every placeholder replaced, every other
    byte kept (the cost of this size is tracked by bench/b0005)."""
    ph = "dbfs:/wheels/builds/WHEELPATH/trainer-1.2.0-py3-none-any.whl"
    items = [f'{{"whl": "{ph}"}}' if i % 3 == 0 else
             f'{{"pypi": {{"package": "p{i}==1.{i}"}}}}' for i in range(30000)]
    src = bom + ('{"new_cluster": {"spark_version": "15.4.x-scala2.12"},\n'
                 ' "libraries": [\n  ' + ",\n  ".join(items) + "\n]}\n").encode()
    f = tmp_path / "cluster.json"
    f.write_bytes(src)
    r = run("-w", W, "-o", "-", str(f))
    assert r.returncode == 0, r.stderr
    assert r.stdout == src.replace(ph.encode(), W.encode())
    assert r.stdout.count(W.encode()) == 10000


def test_many_placeholders_yaml_line_numbers(tmp_path):
    """A long env file: all replaced, and the -n report gives each edit's
    true line, also past multibyte comments."""
    lines = ["name: big", "dependencies:", "  - pip:"]
    for i in range(20000):
        lines.append(f"    - /dbfs/wheels/builds/WHEELPATH/trainer-1.2.0-"
                     f"py3-none-any.whl  # é {i}")
    src = ("\n".join(lines) + "\n").encode()
    f = tmp_path / "env.yml"
    f.write_bytes(src)
    r = run("-n", "-w", W, str(f))
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == src  # -n writes nothing
    report = r.stdout.decode() + r.stderr.decode()
    assert f"{f}:4:" in report and f"{f}:20003:" in report, report[-500:]

"""The legacy databricks-cli (the seed flow's `dbfs cp -r --overwrite`)
against workspace-emu."""

import os
import subprocess
import sys

import pytest

from dbmlops_testenv import legacy_cli_emu

DBFS = os.path.join(os.path.dirname(sys.executable), "dbfs")


def dbfs(emu, *args):
    return subprocess.run([DBFS, *args], env=emu.env(), capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def emu():
    e = legacy_cli_emu()
    if e is None:
        pytest.skip("databricks-cli 0.18 drops the port of DATABRICKS_HOST: "
                    "needs port 80 on loopback (root)")
    yield e
    e.cleanup()


@pytest.fixture
def tree(tmp_path):
    d = tmp_path / "dist"
    (d / "sub").mkdir(parents=True)
    (d / "a-1.0-py3-none-any.whl").write_bytes(os.urandom(4096))
    (d / "sub" / "b.txt").write_bytes(b"b\n")
    (d / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 123))
    return d


def test_cp_recursive_overwrite(emu, tree):
    for _ in range(2):      # the second run overwrites
        r = dbfs(emu, "cp", "-r", "--overwrite", str(tree), "dbfs:/legacy/x")
        assert r.returncode == 0, r.stderr + r.stdout
    for rel in ["a-1.0-py3-none-any.whl", "sub/b.txt", "big.bin"]:
        with open(emu.path("dbfs", "legacy/x/" + rel), "rb") as f:
            assert f.read() == (tree / rel).read_bytes()
    r = dbfs(emu, "ls", "dbfs:/legacy/x")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == ["a-1.0-py3-none-any.whl", "big.bin", "sub"]
    r = dbfs(emu, "rm", "-r", "dbfs:/legacy/x")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(emu.path("dbfs", "legacy/x"))


def test_cp_large_file_and_back(emu, tree, tmp_path):
    r = dbfs(emu, "cp", "--overwrite", str(tree / "big.bin"), "dbfs:/legacy/big.bin")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "back.bin"
    r = dbfs(emu, "cp", "dbfs:/legacy/big.bin", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (tree / "big.bin").read_bytes()
    # without --overwrite an existing file is refused
    r = dbfs(emu, "cp", str(tree / "big.bin"), "dbfs:/legacy/big.bin")
    assert r.returncode != 0
    assert "already exists" in (r.stderr + r.stdout).lower()

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pylib"))

from dbmlops_testenv import Emu, MlflowServer  # noqa: E402


@pytest.fixture(scope="session")
def mlflow_server():
    s = MlflowServer().start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def emu(mlflow_server):
    # with one all-purpose cluster, for runs on an existing cluster
    e = Emu(mlflow_url=mlflow_server.url,
            extra=["--cluster", "0101-000000-emu:RUNNING:conformance"]).start()
    yield e
    e.cleanup()


@pytest.fixture(scope="module")
def stack():
    """An emulator of one test module's own, with a real MLflow server
    behind it (module state: experiments, runs, the request log)."""
    m = MlflowServer().start()
    e = Emu(mlflow_url=m.url).start()
    yield e
    e.cleanup()
    m.stop()


@pytest.fixture
def clean_env(emu, monkeypatch):
    """Point this process's clients at the emulator."""
    for k in list(os.environ):
        if k.startswith(("DATABRICKS_", "MLFLOW_", "ARM_")):
            monkeypatch.delenv(k)
    for k, v in emu.env().items():
        monkeypatch.setenv(k, v)
    return emu


@pytest.fixture
def emu_plain():
    """A fresh emulator without MLflow, for one test."""
    e = Emu().start()
    yield e
    e.cleanup()

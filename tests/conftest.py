import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pylib"))

from dbmlops_testenv import Emu, MlflowServer  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "once: runs in the plain pass only (make test-py); the "
        "sanitized pass (make test-py-san) leaves it out, as the C code it "
        "drives is driven by other tests too")


@pytest.fixture(scope="session")
def mlflow_server():
    """The one MLflow tracking server of this test process (of each
    pytest-xdist worker): every emulator of the session forwards to it, so
    each test module keeps to experiments of its own."""
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
def stack(mlflow_server):
    """An emulator of one test module's own (its data, jobs and request
    log), forwarding to the session's MLflow server."""
    e = Emu(mlflow_url=mlflow_server.url).start()
    yield e
    e.cleanup()


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

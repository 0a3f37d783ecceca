"""The CI pipeline templates parse, run the make include's train target,
and hand credentials over through the environment only."""

import os

import pytest
import yaml

from dbmlops_testenv import TOP

CI = os.path.join(TOP, "templates", "ci")


@pytest.mark.parametrize("name", sorted(os.listdir(CI)))
def test_pipeline(name):
    text = open(os.path.join(CI, name)).read()
    yaml.safe_load(text)
    assert "make train" in text
    for line in text.splitlines():
        if "DATABRICKS_TOKEN" in line and not line.lstrip().startswith("#"):
            # only as an env mapping: never interpolated into a command
            assert line.strip().startswith("DATABRICKS_TOKEN:"), line

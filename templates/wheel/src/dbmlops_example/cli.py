"""`dbmlops-example-train`: the wheel's entry point (python_wheel_task)."""

import argparse

from . import fit


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--l1-ratio", type=float, default=0.5)
    a = p.parse_args(argv)
    _, metrics = fit(a.alpha, a.l1_ratio)
    print("metrics", metrics)
    return 0

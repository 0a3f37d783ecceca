"""Train the example model with the code of the uploaded wheel and log the
run to MLflow (on Databricks, or on workspace-emu)."""

import argparse
import json

import mlflow

import dbmlops_example


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--l1-ratio", type=float, default=0.5)
    a = p.parse_args()
    with mlflow.start_run():
        mlflow.log_param("alpha", a.alpha)
        mlflow.log_param("l1_ratio", a.l1_ratio)
        mlflow.log_param("wheel_version", dbmlops_example.__version__)
        _, metrics = dbmlops_example.fit(a.alpha, a.l1_ratio)
        mlflow.log_metrics(metrics)
        mlflow.log_text(json.dumps(metrics, indent=2), "metrics.json")
        print("trained with dbmlops_example", dbmlops_example.__version__,
              metrics)


if __name__ == "__main__":
    main()

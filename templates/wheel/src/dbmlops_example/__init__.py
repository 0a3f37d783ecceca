"""The example wheel of the dbmlops demo: a small, deterministic data set
and a model, so the MLflow project has code of its own to import."""

import numpy as np
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_squared_error, r2_score

__version__ = "0.1.0"


def make_data(n=400, seed=7):
    """A linear problem with noise: X (n x 5), y."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    w = np.array([1.5, -2.0, 0.0, 0.7, 3.0])
    y = X @ w + rng.normal(scale=0.5, size=n)
    return X, y


def fit(alpha=0.5, l1_ratio=0.5, seed=7):
    """Train ElasticNet on make_data(); return the model and its metrics."""
    X, y = make_data(seed=seed)
    split = int(len(y) * 0.8)
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=seed)
    model.fit(X[:split], y[:split])
    pred = model.predict(X[split:])
    rmse = float(np.sqrt(mean_squared_error(y[split:], pred)))
    return model, {"rmse": rmse, "r2": float(r2_score(y[split:], pred))}

"""Evaluation plots: reliability, lift and ROC of the model against the baselines."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve


def _scorers(predictions: pd.DataFrame) -> list[str]:
    return [c for c in predictions.columns if c not in ("customer_id", "churned")]


def reliability(predictions: pd.DataFrame, out: Path, bins: int = 10) -> Path:
    """Predicted vs observed churn rate per probability bin: on the diagonal means 0.3 is 30 %."""
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    y = predictions["churned"].to_numpy(dtype=float)
    for name in _scorers(predictions):
        p = predictions[name].to_numpy(dtype=float)
        which = np.minimum((p * bins).astype(int), bins - 1)
        xs = [p[which == b].mean() for b in range(bins) if (which == b).any()]
        ys = [y[which == b].mean() for b in range(bins) if (which == b).any()]
        ax.plot(xs, ys, marker="o", label=name)
    ax.set(xlabel="predicted churn probability", ylabel="observed churn rate", title="Reliability")
    ax.legend()
    return _save(fig, out)


def lift(predictions: pd.DataFrame, out: Path) -> Path:
    """Churn rate per risk decile relative to the base rate (decile 1 = riskiest)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    y = predictions["churned"].to_numpy(dtype=float)
    names = _scorers(predictions)
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        order = np.argsort(-predictions[name].to_numpy(dtype=float), kind="stable")
        deciles = np.array_split(y[order], 10)
        ax.bar(
            np.arange(1, 11) + k * width - 0.4,
            [d.mean() / y.mean() for d in deciles],
            width,
            label=name,
        )
    ax.axhline(1.0, color="grey", linestyle="--")
    ax.set(
        xlabel="risk decile (1 = riskiest)", ylabel="lift over base rate", title="Lift by decile"
    )
    ax.legend()
    return _save(fig, out)


def roc(predictions: pd.DataFrame, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 6))
    y = predictions["churned"].to_numpy(dtype=int)
    for name in _scorers(predictions):
        fpr, tpr, _ = roc_curve(y, predictions[name].to_numpy(dtype=float))
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend()
    return _save(fig, out)


def _save(fig: plt.Figure, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out

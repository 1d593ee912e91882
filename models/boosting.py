"""Thin helpers over LightGBM's native API (its Booster is ~15x faster per call than the
scikit-learn wrapper, which matters for single-row HTTP scoring)."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd


def matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    """Feature matrix in the model's column order; missing values stay NaN."""
    return frame[features].to_numpy(dtype=np.float64, na_value=np.nan)


def train_booster(
    params: dict[str, object],
    x: np.ndarray,
    y: np.ndarray,
    features: list[str],
    rounds: int,
    valid: tuple[np.ndarray, np.ndarray] | None = None,
) -> lgb.Booster:
    """Train with early stopping on `valid` when given (a time-later fold, never random rows)."""
    train_set = lgb.Dataset(x, y, feature_name=features, free_raw_data=True)
    base = {"verbosity": -1, "num_threads": 2, "deterministic": True, "force_col_wise": True}
    kwargs: dict[str, object] = {}
    if valid is not None:
        kwargs["valid_sets"] = [lgb.Dataset(valid[0], valid[1], reference=train_set)]
        kwargs["callbacks"] = [lgb.early_stopping(30, verbose=False)]
    return lgb.train({**base, **params}, train_set, num_boost_round=rounds, **kwargs)  # type: ignore[arg-type]

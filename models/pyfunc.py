"""The MLflow pyfunc face of a Scorer: a feature frame in, the scores table out.

Imported only where MLflow is (logging a version, loading one). A registered version carries
this module and the rest of `models/` and `features/` as its code (MLflow `code_paths`) and
pins its requirements, so it loads in any Python process, Spark workers included, where
retain itself is not installed.
"""

from __future__ import annotations

import pickle
from typing import Any

import mlflow.pyfunc
import pandas as pd

# What a version needs to load and score: its own code travels with it (code_paths).
REQUIREMENTS = ("mlflow", "lightgbm", "scikit-learn", "scipy", "pandas", "numpy", "pyarrow")


class RetainModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
    """Features at one as-of (column `as_of`) in, the scores table out (no reasons: they are
    for the few customers a list or a request explains). Parameters (declared in the
    version's signature): `model_version`, and today's `high_risk_threshold` and
    `medium_risk_threshold` (risk tiers are live settings; without them, those at training)."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["scorer"], "rb") as fh:
            self.scorer = pickle.load(fh)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        as_of = pd.Timestamp(model_input["as_of"].iloc[0]) if len(model_input) else pd.Timestamp(0)
        given = params or {}
        version = str(given.get("model_version", ""))
        thresholds = (
            (float(given["high_risk_threshold"]), float(given["medium_risk_threshold"]))
            if "high_risk_threshold" in given and "medium_risk_threshold" in given
            else None  # those in force at training
        )
        scores = self.scorer.score(
            model_input, as_of, as_of, version, with_reasons=False, risk_thresholds=thresholds
        )
        return scores.drop(columns=["scored_at"])


class UpliftPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
    """Feature rows at list time in, each row's predicted uplift in P(order) and its 90 %
    interval out (`models.uplift.UpliftModel.predict`)."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["uplift"], "rb") as fh:
            self.model = pickle.load(fh)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        return self.model.predict(model_input)

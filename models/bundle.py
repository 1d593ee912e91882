"""The MLflow adapter: tracking store, runs, the registered model and its champion alias.

One registered model version wraps one pickled `Scorer` (both LightGBM models, the
calibration, the ordered feature list, reason texts and the settings hash), so one
version number names one consistent scorer for batch, HTTP and Spark.
All MLflow calls live here; MLflow is imported lazily so `retain --help` stays fast.
"""

from __future__ import annotations

import pickle
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from models.scorer import Scorer

CHAMPION = "champion"


def _mlflow() -> Any:
    import logging
    import warnings

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")
    return mlflow


def artifact_root(tracking_uri: str) -> str | None:
    """Artifacts beside a local sqlite store (mlflow/artifacts), never in ./mlruns."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db = Path(tracking_uri.removeprefix("sqlite:///"))
    return (db.parent.resolve() / "artifacts").as_uri()


def configure(tracking_uri: str, experiment: str) -> str:
    """Point MLflow at the store (creating a local one if needed); return the experiment id."""
    mlflow = _mlflow()
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    exp_id = (
        found.experiment_id
        if found
        else mlflow.create_experiment(experiment, artifact_location=artifact_root(tracking_uri))
    )
    mlflow.set_experiment(experiment_id=exp_id)
    return str(exp_id)


def _pyfunc_class() -> type:
    mlflow = _mlflow()

    class RetainModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
        """pyfunc face of a Scorer: features in, scores table out (Spark UDF, serving)."""

        def load_context(self, context: Any) -> None:
            with open(context.artifacts["scorer"], "rb") as fh:
                self.scorer = pickle.load(fh)

        def predict(
            self, context: Any, model_input: pd.DataFrame, params: dict | None = None
        ) -> pd.DataFrame:
            as_of = (
                pd.Timestamp(model_input["as_of"].iloc[0]) if len(model_input) else pd.Timestamp(0)
            )
            version_label = (params or {}).get("model_version", "")
            scores = self.scorer.score(model_input, as_of, as_of, version_label, with_reasons=False)
            return scores.drop(columns=["scored_at"])

    return RetainModel


@dataclass
class LoggedModel:
    run_id: str
    version: str


def log_run(
    scorer: Scorer,
    model_name: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    artifacts: dict[str, Path],
    example: pd.DataFrame,
) -> LoggedModel:
    """One MLflow run: params, flat metrics, files, and the registered pyfunc model."""
    mlflow = _mlflow()
    from mlflow.models import infer_signature

    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        for path in artifacts.values():
            mlflow.log_artifact(str(path))
        scorer_path = Path(tmp) / "scorer.pkl"
        scorer_path.write_bytes(pickle.dumps(scorer))
        model_input = example.head(5).copy()
        output = scorer.score(
            model_input,
            pd.Timestamp(model_input["as_of"].iloc[0]),
            pd.Timestamp(0),
            "",
            with_reasons=False,
        )
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=_pyfunc_class()(),
            artifacts={"scorer": str(scorer_path)},
            signature=infer_signature(model_input, output.drop(columns=["scored_at"])),
            registered_model_name=model_name,
            pip_requirements=[
                f"{p}=={version(p)}" for p in ("lightgbm", "scikit-learn", "pandas", "numpy")
            ],
        )
        return LoggedModel(run_id=run.info.run_id, version=str(info.registered_model_version))


def log_evaluation(
    name: str, params: dict[str, Any], metrics: dict[str, float], files: list[Path]
) -> str:
    """An evaluation run (no model): parameters, flat metrics and the report files."""
    mlflow = _mlflow()
    with mlflow.start_run(run_name=name) as run:
        mlflow.set_tag("kind", "evaluation")
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        for path in files:
            mlflow.log_artifact(str(path))
        return str(run.info.run_id)


def champion_version(model_name: str) -> str | None:
    """The version holding the champion alias, or None before the first promotion."""
    mlflow = _mlflow()
    try:
        return str(mlflow.MlflowClient().get_model_version_by_alias(model_name, CHAMPION).version)
    except mlflow.exceptions.MlflowException:
        return None


HISTORY_TAG = "champion_history"


def champion_history(model_name: str) -> list[str]:
    """Versions that held the champion alias, oldest first."""
    tags = _mlflow().MlflowClient().get_registered_model(model_name).tags
    return [v for v in tags.get(HISTORY_TAG, "").split(",") if v]


def promote(model_name: str, model_version: str) -> None:
    """Move the champion alias to `model_version` and remember it for rollback."""
    client = _mlflow().MlflowClient()
    client.get_model_version(model_name, model_version)  # fails clearly on an unknown version
    client.set_registered_model_alias(model_name, CHAMPION, model_version)
    history = [*champion_history(model_name), model_version]
    client.set_registered_model_tag(model_name, HISTORY_TAG, ",".join(history[-50:]))


def rollback(model_name: str) -> str:
    """Give the champion alias back to the previous champion; returns that version."""
    history = champion_history(model_name)
    if len(history) < 2:
        raise LookupError(f"'{model_name}' has no earlier champion to roll back to")
    previous = history[-2]
    client = _mlflow().MlflowClient()
    client.set_registered_model_alias(model_name, CHAMPION, previous)
    client.set_registered_model_tag(model_name, HISTORY_TAG, ",".join(history[:-1]))
    return previous


def tag_version(model_name: str, model_version: str, tags: dict[str, str]) -> None:
    client = _mlflow().MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(model_name, model_version, key, value[:5000])


def load_scorer(model_name: str, model_version: str | None = None) -> tuple[Scorer, str]:
    """The Scorer of a version (default: the champion) and its version number."""
    mlflow = _mlflow()
    chosen = model_version or champion_version(model_name)
    if chosen is None:
        raise LookupError(
            f"no '{CHAMPION}' version of model '{model_name}': run `retain train` first"
        )
    model = mlflow.pyfunc.load_model(f"models:/{model_name}/{chosen}")
    return model.unwrap_python_model().scorer, chosen


def list_versions(model_name: str) -> pd.DataFrame:
    """Registered versions with their run metrics, newest first."""
    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    champion = champion_version(model_name)
    rows = []
    for mv in client.search_model_versions(f"name = '{model_name}'"):
        metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}
        rows.append(
            {
                "version": int(mv.version),
                "champion": str(mv.version) == champion,
                "created_at": pd.Timestamp(mv.creation_timestamp, unit="ms"),
                "churn_roc_auc": metrics.get("model.churn_roc_auc"),
                "churn_pr_auc": metrics.get("model.churn_pr_auc"),
                "churn_brier": metrics.get("model.churn_brier"),
                "decision": mv.tags.get("promotion", ""),
                "run_id": mv.run_id,
            }
        )
    return (
        pd.DataFrame(rows).sort_values("version", ascending=False) if rows else pd.DataFrame(rows)
    )

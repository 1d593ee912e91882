"""The registry: the MLflow adapter for runs, registered versions and the champion alias.

One registered model version wraps one pickled `Scorer` (both LightGBM models, the
calibration, the ordered feature list, reason texts and the settings hash), so one
version number names one consistent scorer for batch, HTTP and Spark.
All MLflow calls live here; MLflow is imported lazily so `retain --help` stays fast.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from models.scorer import Scorer
from models.uplift import UpliftModel

CHAMPION = "champion"
# Charts each version's training run carries: its validation against the baselines.
VALIDATION_CHARTS = {"reliability": "validation_reliability.png", "lift": "validation_lift.png"}
# The scorers of a training run by the prefix of their logged metrics, as people read them.
SCORER_LABELS = {
    "model": "retain",
    "bgnbd": "BG/NBD",
    "rfm": "RFM",
    "recency_baseline": "recency rule",
    "bgnbd_gamma_gamma": "BG/NBD x Gamma-Gamma",
    "spend_rate": "12-month spend rate",
    "bgnbd_orders_x_order_value": "BG/NBD orders x order value",
}
CODE_ROOT = Path(__file__).resolve().parents[1]  # models/ and features/ travel with a version
# Where this code was imported from: a source checkout ("models") or the wheel ("retain").
TOP_PACKAGE = __name__.split(".")[0]


def _mlflow() -> Any:
    import logging
    import os
    import warnings

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
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


PROBE_TIMEOUT_SECONDS = 5.0


def check_reachable(tracking_uri: str) -> None:
    """A tracking server that does not answer is Unreachable at once (one request, no retries):
    MLflow's own client would retry with backoff for minutes before failing."""
    if not tracking_uri.startswith(("http://", "https://")):
        return
    import httpx

    try:
        httpx.get(f"{tracking_uri.rstrip('/')}/health", timeout=PROBE_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise Unreachable(
            f"the MLflow tracking server {tracking_uri} cannot be reached ({exc}); start it, "
            "or unset MLFLOW_TRACKING_URI to use the local store"
        ) from None


def configure(tracking_uri: str, experiment: str) -> str:
    """Point MLflow at the store (creating a local one if needed); return the experiment id."""
    check_reachable(tracking_uri)
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


def code_paths(folder: Path) -> list[str]:
    """The code a version carries, under the module names its pickles record: `models/` and
    `features/` from a source checkout; from the wheel, a `retain/` holding only those two, so
    loading a version never puts a generic name such as `models` on a process's path."""
    if TOP_PACKAGE != "retain":
        return [str(CODE_ROOT / "models"), str(CODE_ROOT / "features")]
    package = folder / "retain"
    for name in ("models", "features"):
        ignored = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(CODE_ROOT / name, package / name, ignore=ignored)
    (package / "__init__.py").write_text(
        '"""retain\'s models and features, as a version carries them."""\n'
    )
    return [str(package)]


@dataclass
class LoggedModel:
    run_id: str
    version: str


class RegistryError(Exception):
    """A registry request that cannot be met (the message says which and why)."""


class Unreachable(RegistryError):
    """The tracking server does not answer."""


class UnknownVersion(RegistryError):
    """The version asked for is not registered."""


class NoChampion(RegistryError):
    """No version holds the champion alias yet."""


class NoEarlierChampion(RegistryError):
    """Rollback asked for, but no earlier champion is remembered."""


HISTORY_TAG = "champion_history"


class Registry:
    """One registered model in one tracking store; the store is configured once, here."""

    def __init__(self, tracking_uri: str, experiment: str, model_name: str) -> None:
        self.model_name = model_name
        self.experiment_id = configure(tracking_uri, experiment)
        self.client = _mlflow().MlflowClient()

    def champion_version(self) -> str | None:
        """The version holding the champion alias, or None before the first promotion."""
        try:
            return str(self.client.get_model_version_by_alias(self.model_name, CHAMPION).version)
        except _mlflow().exceptions.MlflowException:
            return None

    def champion_history(self) -> list[str]:
        """Versions that held the champion alias, oldest first."""
        try:
            tags = self.client.get_registered_model(self.model_name).tags
        except _mlflow().exceptions.MlflowException:
            return []
        return [v for v in tags.get(HISTORY_TAG, "").split(",") if v]

    def require_version(self, model_version: str) -> Any:
        """The registered version, or UnknownVersion naming what is registered."""
        try:
            return self.client.get_model_version(self.model_name, model_version)
        except _mlflow().exceptions.MlflowException:
            known = sorted(int(mv.version) for mv in self._versions())
            listed = ", ".join(map(str, known)) or "none yet"
            raise UnknownVersion(
                f"model '{self.model_name}' has no version '{model_version}' (registered: {listed})"
            ) from None

    def promote(self, model_version: str) -> None:
        """Move the champion alias to `model_version` and remember it for rollback."""
        self.require_version(model_version)
        self.client.set_registered_model_alias(self.model_name, CHAMPION, model_version)
        history = [*self.champion_history(), model_version]
        self.client.set_registered_model_tag(self.model_name, HISTORY_TAG, ",".join(history[-50:]))

    def rollback(self) -> str:
        """Give the champion alias back to the previous champion; returns that version."""
        history = self.champion_history()
        if len(history) < 2:
            raise NoEarlierChampion(f"'{self.model_name}' has no earlier champion to roll back to")
        previous = history[-2]
        self.client.set_registered_model_alias(self.model_name, CHAMPION, previous)
        self.client.set_registered_model_tag(self.model_name, HISTORY_TAG, ",".join(history[:-1]))
        return previous

    def version_tags(self, model_version: str) -> dict[str, str]:
        return dict(self.require_version(model_version).tags)

    def run_metrics(self, model_version: str) -> dict[str, float]:
        """The metrics logged with a version's training run ('model.churn_brier', 'bgnbd....')."""
        run_id = self.require_version(model_version).run_id
        return dict(self.client.get_run(run_id).data.metrics) if run_id else {}

    def chart(self, model_version: str, name: str) -> bytes | None:
        """A chart logged with a version's training run (VALIDATION_CHARTS), None if absent."""
        return self.artifact(model_version, VALIDATION_CHARTS[name])

    def artifact(self, model_version: str, path: str) -> bytes | None:
        """A file logged with a version's training run ('uplift_report.json'), None if absent."""
        run_id = self.require_version(model_version).run_id
        if not run_id:
            return None
        with tempfile.TemporaryDirectory() as folder:
            try:
                found = self.client.download_artifacts(run_id, path, folder)
            except (_mlflow().exceptions.MlflowException, OSError):
                return None
            return Path(found).read_bytes()

    def tag_version(self, model_version: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.model_name, model_version, key, value[:5000])

    def load_scorer(self, model_version: str | None = None) -> tuple[Scorer, str]:
        """The Scorer of a version (default: the champion) and its version number."""
        chosen = model_version or self.champion_version()
        if chosen is None:
            raise NoChampion(
                f"no '{CHAMPION}' version of model '{self.model_name}': run `retain train` first"
            )
        self.require_version(chosen)
        model = _mlflow().pyfunc.load_model(f"models:/{self.model_name}/{chosen}")
        return model.unwrap_python_model().scorer, chosen

    def load_uplift(self, model_version: str | None = None) -> tuple[UpliftModel, str]:
        """The uplift model of a version (default: the champion) and its version number."""
        chosen = model_version or self.champion_version()
        if chosen is None:
            raise NoChampion(f"no '{CHAMPION}' version of model '{self.model_name}'")
        self.require_version(chosen)
        model = _mlflow().pyfunc.load_model(f"models:/{self.model_name}/{chosen}")
        return model.unwrap_python_model().model, chosen

    def newest_version(self) -> str | None:
        """The highest registered version number, None before the first."""
        found = [int(mv.version) for mv in self._versions()]
        return str(max(found)) if found else None

    def _versions(self) -> list[Any]:
        return list(self.client.search_model_versions(f"name = '{self.model_name}'"))

    def list_versions(self) -> pd.DataFrame:
        """Registered versions with their run metrics, newest first."""
        champion = self.champion_version()
        rows = []
        for mv in self._versions():
            metrics = self.client.get_run(mv.run_id).data.metrics if mv.run_id else {}
            rows.append(
                {
                    "version": int(mv.version),
                    "champion": str(mv.version) == champion,
                    "created_at": pd.Timestamp(mv.creation_timestamp, unit="ms").floor("s"),
                    "data_end": mv.tags.get("data_end", ""),
                    "training_window": mv.tags.get("training_window", ""),
                    "churn_roc_auc": metrics.get("model.churn_roc_auc"),
                    "churn_pr_auc": metrics.get("model.churn_pr_auc"),
                    "churn_brier": metrics.get("model.churn_brier"),
                    "promoted": mv.tags.get("promoted", ""),
                    "decision": mv.tags.get("promotion", ""),
                }
            )
        frame = pd.DataFrame(rows)
        return frame.sort_values("version", ascending=False) if rows else frame

    def log_run(
        self,
        scorer: Scorer,
        params: dict[str, Any],
        metrics: dict[str, float],
        artifacts: dict[str, Path],
        example: pd.DataFrame,
    ) -> LoggedModel:
        """One MLflow run: params, flat metrics, files, and the registered pyfunc model."""
        mlflow = _mlflow()
        from mlflow.models import infer_signature

        from models.pyfunc import REQUIREMENTS, RetainModel

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
                python_model=RetainModel(),
                artifacts={"scorer": str(scorer_path)},
                code_paths=code_paths(Path(tmp)),
                signature=infer_signature(
                    model_input,
                    output.drop(columns=["scored_at"]),
                    params={
                        "model_version": "",
                        "high_risk_threshold": scorer.high_risk_threshold,
                        "medium_risk_threshold": scorer.medium_risk_threshold,
                    },
                ),
                registered_model_name=self.model_name,
                pip_requirements=[f"{p}=={version(p)}" for p in REQUIREMENTS],
            )
            return LoggedModel(run_id=run.info.run_id, version=str(info.registered_model_version))

    def log_uplift(
        self,
        model: UpliftModel,
        params: dict[str, Any],
        metrics: dict[str, float],
        files: list[Path],
        example: pd.DataFrame,
    ) -> LoggedModel:
        """One MLflow run of an uplift model: params, flat metrics, report files, and the
        registered pyfunc (feature rows in, uplift and its interval out)."""
        mlflow = _mlflow()
        from mlflow.models import infer_signature

        from models.pyfunc import REQUIREMENTS, UpliftPyfunc

        with mlflow.start_run(run_name="uplift") as run, tempfile.TemporaryDirectory() as tmp:
            mlflow.set_tag("kind", "uplift")
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            for path in files:
                mlflow.log_artifact(str(path))
            path = Path(tmp) / "uplift.pkl"
            path.write_bytes(pickle.dumps(model))
            model_input = example[list(model.features)].head(5)
            info = mlflow.pyfunc.log_model(
                name="uplift",
                python_model=UpliftPyfunc(),
                artifacts={"uplift": str(path)},
                code_paths=code_paths(Path(tmp)),
                signature=infer_signature(model_input, model.predict(model_input)),
                registered_model_name=self.model_name,
                pip_requirements=[f"{p}=={version(p)}" for p in REQUIREMENTS],
            )
            return LoggedModel(run_id=run.info.run_id, version=str(info.registered_model_version))

    def log_evaluation(
        self, name: str, params: dict[str, Any], metrics: dict[str, float], files: list[Path]
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

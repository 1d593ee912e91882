"""The one settings object: built once at the entry point, passed down.

Sources, highest priority first: explicit arguments, `RETAIN_*` environment
variables, `retain.toml` in the working directory, the defaults below.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_TRACKING_URI = "sqlite:///mlflow/mlflow.db"


class Settings(BaseSettings):
    """Everything a run can be told; see README "Settings"."""

    model_config = SettingsConfigDict(env_prefix="RETAIN_", toml_file="retain.toml", extra="ignore")

    home: Path = Field(Path(".retain"), description="Warehouse, latest scores, reference sample.")
    horizon_days: int = Field(90, gt=0, description="Churn = no order within this many days.")
    activity_window_days: int = Field(
        365, gt=0, description="Scored population: last order within this window."
    )
    training_cutoffs: int = Field(12, ge=2, description="Monthly cutoffs in a training frame.")
    high_risk_threshold: float = Field(0.6, gt=0, lt=1)
    medium_risk_threshold: float = Field(0.3, gt=0, lt=1)
    control_share: float = Field(0.10, ge=0, lt=1)
    drift_share_threshold: float = Field(
        0.5, gt=0, le=1, description="Drift alarm when this share of features drifted."
    )
    experiment_name: str = "retain"
    model_name: str = "retain"
    random_state: int = 42
    mlflow_tracking_uri: str = Field(
        default_factory=lambda: os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def latest_scores_path(self) -> Path:
        return self.home / "scores" / "latest.parquet"

    @property
    def latest_features_path(self) -> Path:
        return self.home / "scores" / "latest_features.parquet"

    @property
    def reference_path(self) -> Path:
        return self.home / "reference.parquet"

    def model_hash(self) -> str:
        """Short hash of the settings that change what a model means."""
        keys = ("horizon_days", "activity_window_days", "training_cutoffs", "random_state")
        blob = json.dumps({k: getattr(self, k) for k in keys}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

"""The one settings object: built once at the entry point, passed down.

Sources, highest priority first: explicit arguments, `RETAIN_*` environment variables,
`retain.toml` in the working directory, the defaults below."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from features.schema import CONTRACTS, DEFAULT_HORIZON_DAYS, DEFAULT_STATUS_SYNONYMS, ORDER_STATUSES
from pipelines import settings_explain as checks
from pipelines.errors import InputError
from pipelines.settings_explain import ENV_PREFIX, explain, unknown_variables

DEFAULT_TRACKING_URI = "sqlite:///mlflow/mlflow.db"

# RETAIN_* variables that are not settings, read where they are used.
OTHER_ENV_VARIABLES = {
    "RETAIN_INSECURE_LOCAL": "set by `retain serve --insecure-local` for the service it starts",
    "RETAIN_SCREENSHOTS": "tests: the folder the page tests save screenshots to",
}


class InputSettings(BaseModel):
    """How to read a customer's data: names, formats, time zone (section [input] of retain.toml)."""

    model_config = ConfigDict(extra="forbid")

    tables: dict[str, str] = Field(
        default_factory=dict,
        description="Canonical table -> name in the source (file stem or database table).",
    )
    columns: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Per canonical table: source column name -> canonical column name.",
    )
    delimiter: str | None = Field(None, description="CSV delimiter; detected when not set.")
    encoding: str = Field(
        "utf-8", description="CSV encoding (utf-8, utf-16, latin-1, cp1252, ...)."
    )
    decimal: Literal[".", ","] = Field(".", description="Decimal separator of CSV numbers.")
    timestamp_formats: list[str] = Field(
        default_factory=list,
        description="strftime formats tried in order before ISO 8601, e.g. '%d.%m.%Y %H:%M'.",
    )
    timezone: str = Field("UTC", description="Time zone of timestamps written without an offset.")
    status_map: dict[str, str] = Field(
        default_factory=dict,
        description="Source status value -> completed / returned / cancelled (adds to the defaults).",
    )
    schema_name: str = Field("public", description="PostgreSQL schema of the source tables.")
    credit_note_pattern: str | None = Field(
        None,
        description="Regular expression of order ids that are credit notes (returns), e.g. '^C'.",
    )
    category_map: str | None = Field(
        None, description="CSV or Parquet file of product_id -> category for order lines."
    )
    max_set_aside_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="A table with more than this share of its rows set aside is unusable.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {zone!r}; expected an IANA name such as Europe/Berlin"
            ) from None
        return zone

    @field_validator("credit_note_pattern")
    @classmethod
    def _a_pattern(cls, pattern: str | None) -> str | None:

        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression ({exc})") from None
        return pattern

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(
                f"unknown encoding {encoding!r}; expected e.g. utf-8, cp1252, latin-1"
            ) from None
        return encoding

    @field_validator("status_map")
    @classmethod
    def _canonical_statuses(cls, mapping: dict[str, str]) -> dict[str, str]:
        wrong = sorted(v for v in mapping.values() if v not in ORDER_STATUSES)
        if wrong:
            raise ValueError(
                f"maps to {', '.join(map(repr, wrong))}; expected one of {', '.join(ORDER_STATUSES)}"
            )
        return mapping

    @field_validator("tables", "columns")
    @classmethod
    def _known_tables(cls, mapping: dict[str, object]) -> dict[str, object]:
        unknown = sorted(set(mapping) - set(CONTRACTS))
        if unknown:
            raise ValueError(
                f"unknown table {', '.join(map(repr, unknown))}; expected one of {', '.join(CONTRACTS)}"
            )
        return mapping

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, mapping: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for table, renames in mapping.items():
            unknown = sorted(set(renames.values()) - set(CONTRACTS[table].columns))
            if unknown:
                raise ValueError(
                    f"{table}: unknown column {', '.join(map(repr, unknown))}; expected one of "
                    f"{', '.join(CONTRACTS[table].columns)}"
                )
        return mapping

    def table_name(self, table: str) -> str:
        return self.tables.get(table, table)

    def statuses(self) -> dict[str, str]:
        return {**DEFAULT_STATUS_SYNONYMS, **{k.lower(): v for k, v in self.status_map.items()}}


class MonitorSettings(BaseModel):
    """The retrain signal of `retain monitor` (section [monitor] of retain.toml): a breach must
    hold on `consecutive` matured runs of at least `min_customers` customers (one: watch)."""

    model_config = ConfigDict(extra="forbid")

    brier_margin: float = Field(
        0.02, gt=0, lt=1, description="Realized Brier over the version's training Brier by this."
    )
    calibration_margin: float = Field(
        0.04,
        gt=0,
        lt=1,
        description="|mean predicted - observed churn| over this (or 3 standard errors, if larger).",
    )
    psi_limit: float = Field(0.2, gt=0, description="Churn-probability PSI vs training over this.")
    consecutive: int = Field(2, ge=1, le=12, description="Breached runs in a row that say retrain.")
    min_customers: int = Field(500, ge=1, description="Matured customers a run needs to count.")
    sample_rows: int = Field(
        50_000,
        ge=1_000,
        description="Customers sampled per run for data and prediction drift (bounded memory).",
    )


class Settings(BaseSettings):
    """Everything a run can be told; see README "Settings"."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", toml_file="retain.toml", extra="forbid"
    )

    input: InputSettings = Field(default_factory=InputSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)

    home: Path = Field(Path(".retain"), description="Warehouse, latest scores, reference sample.")
    horizon_days: int = Field(
        DEFAULT_HORIZON_DAYS, gt=0, description="Churn = no order within this many days."
    )
    activity_window_days: int = Field(
        365, gt=0, description="Scored population: last order within this window."
    )
    duckdb_memory_limit: str = Field(
        "50%",
        pattern=r"^\s*\d+(\.\d+)?\s*(%|[KMGT]i?B)\s*$",
        description="Most memory the warehouse's DuckDB may hold (it spills beyond): a share "
        "of RAM ('50%') or a size ('8GB'). The rest is left to the models' pandas frames; "
        "DuckDB's own default (80%) left too little when scoring millions of customers.",
    )
    score_part_orders: int = Field(
        20_000_000,
        ge=10_000,
        description="`retain score` computes the features of a hash share of the customers "
        "per pass, about this many orders each: with `duckdb_memory_limit` it sets the peak "
        "memory of scoring, whatever the size of the base (more passes read the orders again).",
    )
    frame_part_rows: int = Field(
        60_000_000,
        ge=10_000,
        description="Training frames and `retain features` aggregate about this many orders x "
        "cutoffs per pass of a hash share of the customers (47.6M took 6.7 GB at the peak, "
        "docs/BENCHMARKS.md); a larger base takes more passes, each reading the orders again.",
    )
    spark_master: str = Field(
        "local[*]",
        min_length=1,
        description="`--engine spark` outside `spark-submit` (which sets the cluster's): the "
        "Spark master, e.g. local[2].",
    )
    spark_shuffle_partitions: int = Field(
        200, ge=1, description="`spark.sql.shuffle.partitions` of retain's Spark session."
    )
    training_cutoffs: int = Field(12, ge=2, description="Cutoffs in a training frame.")
    training_max_customers: int = Field(
        500_000,
        ge=1_000,
        description="Training and evaluation frames of a larger base use a fixed sample of this "
        "many customers (by a hash of their id, the same at every cutoff); scoring covers all.",
    )
    uplift_max_rows_per_campaign: int = Field(
        1_000_000,
        ge=10_000,
        description="`retain campaigns train` reads a collected campaign whole up to this many "
        "rows, a larger one as a stratified sample of this many (both groups in their shares, "
        "by a stable hash of the customer id): its memory is set by this, not by the campaign.",
    )
    partial_cutoffs: bool = Field(
        False,
        description="Train on a history shorter than the rule, with the cutoffs observed in "
        "part setting the churn level (README, 'How much history a model needs').",
    )
    cutoff_step_days: int = Field(
        0,
        ge=0,
        description="Days between training cutoffs; 0 = month starts. A short history "
        "(one cohort, a young business) gains from weekly cutoffs.",
    )
    churn_max_trees: int = Field(
        500, ge=1, description="Most boosting rounds (early stopping picks)."
    )
    promotion_margin: float = Field(
        0.005,
        ge=0,
        lt=1,
        description="PR-AUC a newer model may lose against the champion and still replace it.",
    )
    promotion_brier_margin: float = Field(
        0.002,
        ge=0,
        lt=1,
        description="Brier score a newer model may lose against the champion and still replace it.",
    )
    reasons_top: int = Field(
        100_000,
        ge=0,
        description="`retain score` explains this many customers (most value at risk), about "
        "720 a second: lists and pages up to this size then need no explaining of their own.",
    )
    min_category_purchases: int = Field(
        2, ge=1, description="Purchases of a category before a customer gets its curve."
    )
    max_categories_per_customer: int = Field(
        5, ge=1, le=50, description="Category curves per customer (the most bought first)."
    )
    high_risk_threshold: float = Field(0.6, gt=0, lt=1)
    medium_risk_threshold: float = Field(0.3, gt=0, lt=1)
    control_share: float = Field(0.10, ge=0, lt=1)
    value_tiers: dict[str, float] = Field(
        default_factory=lambda: {"platinum": 0.01, "gold": 0.05, "silver": 0.20, "bronze": 1.0},
        description="Customer pyramid by last-12-month spend net of refunds: name -> cumulative share of "
        "customers, best first; the last must be 1.0.",
    )
    value_tier_basis: Literal["trailing", "predicted"] = Field(
        "trailing",
        description="What the value tiers rank: `trailing` 12-month spend net of refunds, or "
        "`predicted` 365-day value from the spend forecast (orders without amounts).",
    )
    drift_share_threshold: float = Field(
        0.5, gt=0, le=1, description="Drift alarm when this share of features drifted."
    )
    serve_workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Worker processes of `retain serve` (each opens the lookup file).",
    )
    key_rate_limit_per_second: int = Field(
        0,
        ge=0,
        description="Requests each API key may make in any one second (429 with Retry-After "
        "beyond it); 0 = no limit. Counted per worker process.",
    )
    key_rate_limits: dict[str, NonNegativeInt] = Field(
        default_factory=dict,
        description="Key name -> its own requests per second, over key_rate_limit_per_second "
        "(0 = no limit for that key).",
    )
    key_rotation_grace_hours: float = Field(
        24, ge=0, description="`retain keys add NAME --rotate`: the old key stays valid this long."
    )
    cors_allowed_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (e.g. https://crm.example.com); "
        "none by default: no CORS headers, other origins are refused by the browser.",
    )
    currency: str = Field("USD", description="ISO 4217 code of the amounts (pages, lists).")
    locale: str = Field("en_US", description="How pages write numbers and money (CLDR: de_DE).")
    next_order_min_probability: float = Field(
        0.5, ge=0, le=1, description="The customer page gives the (conditional) next-order date "
        "only when an order within the horizon is at least this likely.",
    )  # fmt: skip
    audience_default_budget: int = Field(
        1000, ge=1, description="Contacts of the audience builder's first screen (high risk)."
    )
    experiment_name: str = "retain"
    model_name: str = "retain"
    random_state: int = 42
    mlflow_tracking_uri: str = Field(
        default_factory=lambda: os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
    )

    _a_pyramid = field_validator("value_tiers")(checks.a_pyramid)
    _known_to_cldr = field_validator("currency", "locale")(checks.known_to_cldr)
    _exact_origins = field_validator("cors_allowed_origins")(checks.exact_origins)

    @model_validator(mode="after")
    def _ordered_risk_thresholds(self) -> Settings:
        if self.medium_risk_threshold >= self.high_risk_threshold:
            raise ValueError(
                f"medium_risk_threshold ({self.medium_risk_threshold}) must be below "
                f"high_risk_threshold ({self.high_risk_threshold})"
            )
        return self

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
    def risk_thresholds(self) -> tuple[float, float]:
        """(high, medium): live settings, applied when scores are made."""
        return (self.high_risk_threshold, self.medium_risk_threshold)

    def model_hash(self) -> str:
        """Short hash of the settings that change what a model means."""
        keys = ("horizon_days", "activity_window_days", "training_cutoffs", "random_state",
                "churn_max_trees")  # fmt: skip
        blob = json.dumps({k: getattr(self, k) for k in keys}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


# The settings ("") and their sections, for the messages that name a key.
SECTIONS: dict[str, type[BaseModel]] = {
    "": Settings,
    "input": InputSettings,
    "monitor": MonitorSettings,
}


class SettingsError(InputError):
    """Settings that cannot be used (exit code 2): each setting named with where it came from."""


def load_settings(**overrides: object) -> Settings:
    """The one settings object, from command options (`overrides`, None = not given), the
    environment and retain.toml; an invalid value stops with one line naming the setting,
    its source and what is allowed."""
    given = {k: v for k, v in overrides.items() if v is not None}
    fields, others = Settings.model_fields, OTHER_ENV_VARIABLES
    if unknown := unknown_variables(os.environ, ENV_PREFIX, fields, others):
        raise SettingsError("settings", "; ".join(unknown))
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError("settings", explain(exc, set(given), SECTIONS)) from None

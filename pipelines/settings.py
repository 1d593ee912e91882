"""The one settings object: built once at the entry point, passed down.

Sources, highest priority first: explicit arguments, `RETAIN_*` environment
variables, `retain.toml` in the working directory, the defaults below.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from features.schema import CONTRACTS, DEFAULT_STATUS_SYNONYMS, ORDER_STATUSES
from pipelines.errors import InputError

if TYPE_CHECKING:
    from pydantic import ValidationInfo

    from models.registry import Registry

DEFAULT_TRACKING_URI = "sqlite:///mlflow/mlflow.db"


class InputSettings(BaseModel):
    """How to read a customer's data: names, formats, time zone (section [input] of retain.toml)."""

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
        import re

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
        env_prefix="RETAIN_", env_nested_delimiter="__", toml_file="retain.toml", extra="ignore"
    )

    input: InputSettings = Field(default_factory=InputSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)

    home: Path = Field(Path(".retain"), description="Warehouse, latest scores, reference sample.")
    horizon_days: int = Field(90, gt=0, description="Churn = no order within this many days.")
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
    high_risk_threshold: float = Field(0.6, gt=0, lt=1)
    medium_risk_threshold: float = Field(0.3, gt=0, lt=1)
    control_share: float = Field(0.10, ge=0, lt=1)
    value_tiers: dict[str, float] = Field(
        default_factory=lambda: {"platinum": 0.01, "gold": 0.05, "silver": 0.20, "bronze": 1.0},
        description="Customer pyramid by last-12-month spend: name -> cumulative share of "
        "customers, best first; the last must be 1.0.",
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

    @field_validator("value_tiers")
    @classmethod
    def _a_pyramid(cls, tiers: dict[str, float]) -> dict[str, float]:
        """Cumulative shares, best tier first: increasing, in (0, 1], the last exactly 1.0."""
        shares = list(tiers.values())
        if not shares or shares[-1] != 1.0:
            raise ValueError("the last tier's cumulative share must be 1.0 (everyone else)")
        if any(not 0 < s <= 1 for s in shares) or any(
            a >= b for a, b in itertools.pairwise(shares)
        ):
            raise ValueError(
                "cumulative shares must increase from best tier to last, each in (0, 1]"
            )
        return tiers

    @field_validator("currency", "locale")
    @classmethod
    def _known_to_cldr(cls, value: str, info: ValidationInfo) -> str:
        """A currency (ISO 4217) or locale that Babel's CLDR data knows."""
        from babel import Locale, UnknownLocaleError
        from babel.numbers import is_currency

        try:
            known = is_currency(value) if info.field_name == "currency" else Locale.parse(value)
        except (UnknownLocaleError, ValueError):
            known = None
        if not known:
            example = "EUR" if info.field_name == "currency" else "en_US or de_DE"
            raise ValueError(f"unknown {info.field_name} {value!r}; expected e.g. {example}")
        return value

    @field_validator("cors_allowed_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        """Exact origins only: a wildcard would hand the API to any web page."""
        for origin in origins:
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme://host[:port], no path, no wildcard"
                )
        return origins

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

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def latest_scores_path(self) -> Path:
        return self.home / "scores" / "latest.parquet"

    @property
    def latest_monitor_path(self) -> Path:
        """The newest `retain monitor` report (what the model page shows)."""
        return self.home / "monitor" / "latest.json"

    @property
    def evidently_workspace_path(self) -> Path:
        """Evidently's workspace (project "retain"): one snapshot per scoring run."""
        return self.home / "evidently"

    @property
    def latest_features_path(self) -> Path:
        return self.home / "scores" / "latest_features.parquet"

    @property
    def lookup_pointer_path(self) -> Path:
        """Names the published lookup file the scoring API reads (swapped atomically)."""
        return self.home / "scores" / "lookup.current"

    @property
    def keys_path(self) -> Path:
        """Salted hashes of the API keys (`retain keys`), never the keys themselves."""
        return self.home / "api_keys.json"

    @property
    def reference_path(self) -> Path:
        return self.home / "reference.parquet"

    def registry(self) -> Registry:
        """The registered model of these settings in their MLflow tracking store."""
        from models.registry import Registry

        return Registry(self.mlflow_tracking_uri, self.experiment_name, self.model_name)

    def model_hash(self) -> str:
        """Short hash of the settings that change what a model means."""
        keys = (
            "horizon_days",
            "activity_window_days",
            "training_cutoffs",
            "random_state",
            "churn_max_trees",
        )
        blob = json.dumps({k: getattr(self, k) for k in keys}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


class SettingsError(InputError):
    """Settings that cannot be used (exit code 2): each setting named with where it came from."""


def load_settings(**overrides: object) -> Settings:
    """The one settings object, from command options (`overrides`, None = not given), the
    environment and retain.toml; an invalid value stops with one line naming the setting,
    its source and what is allowed."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError("settings", _explain(exc, set(given))) from None


def _explain(exc: ValidationError, options: set[str]) -> str:
    parts = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        named = [".".join(str(x) for x in error["loc"])] if error["loc"] else []
        named += [f for f in Settings.model_fields if f in message and f not in named]
        where = ", ".join(f"{n} from {_source(n, options)}" for n in named)
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _source(name: str, options: set[str]) -> str:
    """Where a setting's value came from: an option, the environment, retain.toml or the default."""
    top = name.split(".")[0]
    if top in options:
        return "a command option"
    env = "RETAIN_" + name.replace(".", "__").upper()
    if any(k.upper() == env or k.upper().startswith(env + "__") for k in os.environ):
        return f"the environment ({env})"
    toml = Path("retain.toml")
    if toml.exists():
        import tomllib

        section: object = tomllib.loads(toml.read_text())
        for part in name.split("."):
            section = section.get(part) if isinstance(section, dict) else None
        if section is not None:
            return "retain.toml"
    return "the defaults"

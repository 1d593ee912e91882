"""Batch scoring: features at the as-of time, the champion's scores, published atomically."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from features.cutoffs import season_warning
from features.frame import build_frame
from features.schema import COMPLETED_STATUS
from models.scorer import SCORE_COLUMNS, Scorer
from pipelines import postgres
from pipelines.errors import InputError, ProblemFound
from pipelines.files import write_table
from pipelines.scoring.publish import publish_lookup
from pipelines.settings import Settings
from pipelines.warehouse import hand_back_memory, scalar

CHUNK_ROWS = 50_000


@dataclass
class ScoreResult:
    scores: pd.DataFrame
    features: pd.DataFrame
    lapsed: int
    model_version: str = ""
    warnings: list[str] = field(default_factory=list)


def score_population(
    con: duckdb.DuckDBPyConnection,
    scorer: Scorer,
    model_version: str,
    as_of: pd.Timestamp,
    scored_at: pd.Timestamp,
    settings: Settings,
    progress: object = None,
) -> ScoreResult:
    """Scores for every customer in the population at `as_of`, in chunks.

    Customers whose last order is older than the activity window are lapsed: counted
    and reported, not scored as churn (DESIGN.md section 2). Reasons (SHAP, ~1,300 rows/s)
    are computed for the `settings.reasons_top` customers with the most value at risk; lists
    fill in the others they pick (see Scorer.fill_reasons).
    """
    known = scalar(
        con,
        f"SELECT count(DISTINCT customer_id) FROM orders WHERE ordered_at < ? AND status = '{COMPLETED_STATUS}'",
        [as_of],
    )
    frame = build_frame(con, [as_of], settings.activity_window_days)
    hand_back_memory(con, settings.duckdb_memory_limit)
    features = scorer.prepare(frame)
    parts = []
    for start in range(0, len(features), CHUNK_ROWS):
        chunk = features.iloc[start : start + CHUNK_ROWS]
        parts.append(
            scorer.score(
                chunk,
                as_of,
                scored_at,
                model_version,
                with_reasons=False,
                risk_thresholds=settings.risk_thresholds,
            )
        )
        if progress is not None:
            progress(len(chunk))  # type: ignore[operator]
    scores = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(SCORE_COLUMNS))
    )
    top = scores.nlargest(settings.reasons_top, "value_at_risk").index
    scores = scorer.fill_reasons(scores, features, top)
    return ScoreResult(scores=scores, features=features, lapsed=int(known) - len(features))


def store_scores(con: duckdb.DuckDBPyConnection, result: ScoreResult, settings: Settings) -> None:
    """Keep scores per as-of in the warehouse (one transaction) and the latest as Parquet."""
    scores = result.scores
    con.register("_scores", scores)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE TABLE IF NOT EXISTS scores AS SELECT * FROM _scores WHERE false")
        if len(scores):
            con.execute("DELETE FROM scores WHERE as_of = ?", [scores["as_of"].iloc[0]])
        con.execute("INSERT INTO scores SELECT * FROM _scores")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_scores")
    write_table(scores, settings.latest_scores_path)
    features = result.features.copy()
    features["as_of"] = scores["as_of"].iloc[0] if len(scores) else pd.NaT
    write_table(features, settings.latest_features_path)
    publish_lookup(scores, features, settings.lookup_pointer_path)


def run_scoring(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: pd.Timestamp,
    scored_at: pd.Timestamp,
    progress: Callable[[int], object] | None = None,
) -> ScoreResult:
    """Score the population with the champion and keep the scores (warehouse and Parquet)."""
    from models.registry import RegistryError

    try:
        scorer, version = settings.registry().load_scorer()
    except RegistryError as exc:
        raise ProblemFound(str(exc)) from None
    result = score_population(con, scorer, version, as_of, scored_at, settings, progress)
    result.model_version = version
    warning = season_warning(list(scorer.training_cutoffs), scorer.horizon_days, as_of)
    result.warnings = [warning] if warning and scorer.training_cutoffs else []
    store_scores(con, result, settings)
    return result


def publish(result: ScoreResult, out: Path | None, to: str | None) -> int | None:
    """Also write the scores to a file and to PostgreSQL (one transaction); rows written there."""
    if to is not None and not postgres.is_postgres(to):
        raise InputError(to, "--to expects a postgresql:// URL")
    if out is not None:
        write_table(result.scores, out)
    return postgres.write_scores(to, result.scores) if to is not None else None

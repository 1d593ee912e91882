"""Batch scoring, streamed: the features of a part of the population -> the champion's
scores -> appended to this run's files, then published atomically.

Memory is set by the part size (`score_part_orders`, DuckDB's `duckdb_memory_limit`) and
SCORE_BATCH_ROWS, never by the size of the base: nothing holds the whole population.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.cutoffs import season_warning
from features.frame import write_feature_parts
from features.schema import CATEGORICAL_FEATURES, COMPLETED_STATUS
from features.sql import sql_text
from models.explain import directions_cell
from models.scorer import SCORE_COLUMNS, Scorer
from pipelines import postgres
from pipelines.errors import InputError, ProblemFound
from pipelines.files import read_rows_of, write_relation
from pipelines.home import Home, open_registry
from pipelines.scoring.categories import next_categories_sql
from pipelines.scoring.publish import publish_lookup
from pipelines.settings import Settings
from pipelines.warehouse import hand_back_memory, scalar

SCORE_BATCH_ROWS = 50_000  # rows scored at once: ~0.2 GB of pandas whatever the base


@dataclass
class ScoreResult:
    """What a scoring run published: its scores file and the figures the CLI prints."""

    scores_path: Path
    scored: int
    lapsed: int
    risk_tiers: dict[str, int]
    model_version: str = ""
    warnings: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The run's scores in pandas (small bases, tests, the replay)."""
        return pd.read_parquet(self.scores_path)


def read_batches(paths: list[Path], rows: int = SCORE_BATCH_ROWS) -> Iterator[pd.DataFrame]:
    """Parquet files as pandas frames of at most `rows` rows, one after the other (no
    read-ahead: memory stays one batch); categorical features typed as `build_frame` types
    them."""
    categorical = list(CATEGORICAL_FEATURES)
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            if batch.num_rows:
                yield pa.Table.from_batches([batch]).to_pandas(
                    split_blocks=True, self_destruct=True, categories=categorical
                )


class _RunFiles:
    """The run's scores and (prepared) features, appended batch by batch. Columns keep the
    types of `known` (the feature parts' schema), so a batch where a column is all missing
    writes the same types as the others; categories are written as plain strings."""

    def __init__(self, folder: Path, known: pa.Schema) -> None:
        self.scores_path, self.features_path = (
            folder / "scores.parquet",
            folder / "features.parquet",
        )
        self._known = {f.name: f.type for f in known}
        self._writers: dict[Path, pq.ParquetWriter] = {}

    def append(self, scores: pd.DataFrame, features: pd.DataFrame) -> None:
        self._write(self.scores_path, scores)
        self._write(self.features_path, features)

    def _write(self, path: Path, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = self._writers.get(path)
        if writer is None:
            schema = pa.schema(
                pa.field(f.name, self._known.get(f.name, _plain(f.type))) for f in table.schema
            )
            writer = self._writers[path] = pq.ParquetWriter(path, schema)
        writer.write_table(table.cast(writer.schema))

    def close(self, empty_features: Callable[[], pd.DataFrame]) -> None:
        """Finish the files; a population nobody is in still gets both, with their columns."""
        for writer in self._writers.values():
            writer.close()
        if not self._writers:
            pd.DataFrame(columns=list(SCORE_COLUMNS)).to_parquet(self.scores_path, index=False)
            empty_features().to_parquet(self.features_path, index=False)


def _plain(kind: pa.DataType) -> pa.DataType:
    return pa.string() if pa.types.is_dictionary(kind) else kind


def score_population(
    con: duckdb.DuckDBPyConnection,
    scorer: Scorer,
    model_version: str,
    as_of: pd.Timestamp,
    scored_at: pd.Timestamp,
    settings: Settings,
    folder: Path,
    progress: Callable[[int], object] | None = None,
    categories: Path | None = None,
) -> ScoreResult:
    """Score every customer in the population at `as_of` into `folder`, part by part.

    Customers whose last order is older than the activity window are lapsed: counted and
    reported, not scored as churn (docs/ARCHITECTURE.md, time rules). Reasons (SHAP, ~1,300 rows/s) are
    computed for the `settings.reasons_top` customers with the most value at risk, found
    with a bounded running top across parts; lists fill in the others they pick. Each
    customer's next categories come from the category scores `categories` (made at `as_of`).
    """
    known = scalar(
        con,
        f"SELECT count(DISTINCT customer_id) FROM orders WHERE ordered_at < ? AND status = '{COMPLETED_STATUS}'",
        [as_of],
    )
    parts = write_feature_parts(
        con, [as_of], settings.activity_window_days, folder / "parts", settings.score_part_orders
    )
    hand_back_memory(con, settings.duckdb_memory_limit)
    types = pq.read_schema(parts[0]) if parts else pa.schema([])
    files, top, tiers, scored = (
        _RunFiles(folder, types),
        pd.DataFrame(),
        pd.Series(dtype="int64"),
        0,
    )
    for batch in read_batches(parts, SCORE_BATCH_ROWS):  # the value at call time
        features = scorer.prepare(batch)
        scores = scorer.score(
            features,
            as_of,
            scored_at,
            model_version,
            with_reasons=False,
            risk_thresholds=settings.risk_thresholds,
        )
        files.append(scores, features.assign(as_of=as_of))
        top = _most_at_risk([top, scores], settings.reasons_top)
        tiers = tiers.add(scores["risk_tier"].value_counts(), fill_value=0)
        scored += len(scores)
        if progress is not None:
            progress(len(scores))
    files.close(lambda: _empty_features(scorer, parts, as_of))
    shutil.rmtree(folder / "parts")
    _finish(con, scorer, files, top["customer_id"], as_of, categories)
    return ScoreResult(
        scores_path=files.scores_path,
        scored=scored,
        lapsed=int(known) - scored,
        risk_tiers={str(k): int(v) for k, v in tiers.items()},
    )


def _most_at_risk(frames: list[pd.DataFrame], n: int) -> pd.DataFrame:
    """The `n` customers with the most value at risk so far (ties by id: the same whatever
    the order of the parts)."""
    both = pd.concat(
        [f[["customer_id", "value_at_risk"]] for f in frames if len(f)], ignore_index=True
    )
    if both.empty:
        return pd.DataFrame(columns=["customer_id", "value_at_risk"])
    both = both.sort_values(["value_at_risk", "customer_id"], ascending=[False, True])
    return both.head(n)


def _empty_features(scorer: Scorer, parts: list[Path], as_of: pd.Timestamp) -> pd.DataFrame:
    empty = pq.read_table(parts[0]).to_pandas() if parts else pd.DataFrame()
    return scorer.prepare(empty).assign(as_of=as_of) if len(empty.columns) else empty


def _finish(
    con: duckdb.DuckDBPyConnection,
    scorer: Scorer,
    files: _RunFiles,
    ids: pd.Series,
    as_of: pd.Timestamp,
    categories: Path | None,
) -> None:
    """Reasons for `ids` and every customer's next categories (from the category scores
    `categories` made at `as_of`, when there are any), written into the run's scores file in
    one streamed rewrite; the reasons' features are read from the run's file by DuckDB
    (within its memory limit)."""
    replaced, joined = [], []
    if categories is not None and categories.exists():
        # A narrow table first, in the warehouse (it spills; a TEMP one is held in memory):
        # grouped in the statement that joins the wide scores, or into a TEMP table, the
        # 14M pairs of a 10M base ran out of memory at 2 GB (docs/BENCHMARKS.md).
        grouped = next_categories_sql(categories, as_of)
        con.execute(f"CREATE OR REPLACE TABLE _next_categories AS {grouped}")
        replaced.append("coalesce(c.next_categories, s.next_categories) AS next_categories")
        joined.append("LEFT JOIN _next_categories c USING (customer_id)")
    if not ids.empty:
        found = read_rows_of(files.features_path, ids.astype(str).tolist(), con=con)
        texts = scorer.reasons(found)
        reasons = pd.DataFrame(
            {
                "customer_id": found["customer_id"].to_numpy(),
                "reasons": texts,
                "reason_directions": [directions_cell(t) for t in texts],
            }
        )
        con.register("_run_reasons", reasons)
        replaced += ["coalesce(r.reasons, s.reasons) AS reasons",
                     "coalesce(r.reason_directions, s.reason_directions) AS reason_directions"]  # fmt: skip
        joined.append("LEFT JOIN _run_reasons r USING (customer_id)")
    if not replaced:
        return
    finished = files.scores_path.with_name("scores-finished.parquet")
    try:
        con.execute(
            f"""COPY (SELECT s.* REPLACE ({", ".join(replaced)})
                FROM read_parquet({sql_text(str(files.scores_path))}) s {" ".join(joined)})
            TO {sql_text(str(finished))} (FORMAT parquet)"""
        )
    finally:
        if not ids.empty:
            con.unregister("_run_reasons")
        con.execute("DROP TABLE IF EXISTS _next_categories")
    os.replace(finished, files.scores_path)


def store_scores(
    con: duckdb.DuckDBPyConnection, result: ScoreResult, features: Path, settings: Settings
) -> None:
    """Keep the scores per as-of in the warehouse (one transaction), then swap in the run's
    files as the latest (renames: readers see the previous run or this one, never half)."""
    source = f"read_parquet({sql_text(str(result.scores_path))})"
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS scores AS SELECT * FROM {source} WHERE false")
        con.execute(f"DELETE FROM scores WHERE as_of IN (SELECT DISTINCT as_of FROM {source})")
        con.execute(f"INSERT INTO scores SELECT * FROM {source}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    home = Home.of(settings)
    home.scores.parent.mkdir(parents=True, exist_ok=True)
    os.replace(features, home.features)
    os.replace(result.scores_path, home.scores)
    result.scores_path = home.scores
    hand_back_memory(con, settings.duckdb_memory_limit)
    publish_lookup(con, home.scores, home.features, home.lookup_pointer)


def run_scoring(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: pd.Timestamp,
    scored_at: pd.Timestamp,
    progress: Callable[[int], object] | None = None,
    categories: Path | None = None,
) -> ScoreResult:
    """Score the population with the champion and keep the scores (warehouse and Parquet);
    `categories`: the category scores kept at `as_of` (their top three per customer)."""
    from models.registry import RegistryError

    try:
        scorer, version = open_registry(settings).load_scorer()
    except RegistryError as exc:
        raise ProblemFound(str(exc)) from None
    folder = Home.of(settings).scores.parent / f".run-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        result = score_population(
            con, scorer, version, as_of, scored_at, settings, folder, progress, categories
        )
        result.model_version = version
        warning = season_warning(list(scorer.training_cutoffs), scorer.horizon_days, as_of)
        result.warnings = [warning] if warning and scorer.training_cutoffs else []
        store_scores(con, result, folder / "features.parquet", settings)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def require_champion(settings: Settings) -> None:
    """Stop before any data is read when there is no champion to score with."""
    if open_registry(settings).champion_version() is None:
        raise ProblemFound(
            f"no 'champion' version of model '{settings.model_name}': run `retain train` first"
        )


def publish(result: ScoreResult, out: Path | None, to: str | None) -> int | None:
    """Also write the scores to a file and to PostgreSQL (one transaction); rows written there."""
    if to is not None and not postgres.is_postgres(to):
        raise InputError(to, "--to expects a postgresql:// URL")
    if out is not None:
        export(result.scores_path, out)
    if to is None:
        return None
    return postgres.write_score_batches(to, read_batches([result.scores_path]))


def export(scores: Path, out: Path) -> None:
    """The scores file in the format `out` names, by DuckDB (Parquet and CSV streamed; an
    Excel sheet too long for Excel refused before anything is read)."""
    con = duckdb.connect()
    try:
        write_relation(con.sql(f"FROM read_parquet({sql_text(str(scores))})"), out)
    finally:
        con.close()

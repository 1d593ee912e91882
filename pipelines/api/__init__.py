"""retain for notebooks and applications: load, features, train, evaluate, score, lists.

Installed from the wheel, this module is `retain` (`import retain; retain.train(...)`); in a
source checkout `import retain` gives the same functions. Each function runs the code path of
the command of the same name (`retain train`, `retain score`, ...): the same settings, the same
warehouse under `RETAIN_HOME`, the same MLflow registry, the same files. Time is always an
argument (`as_of`, `scored_at`); nothing here reads the clock.

    import retain

    settings = retain.settings(home="work/.retain")
    retain.generate("data", customers=2_000, seed=0)
    outcome = retain.train("data", settings=settings)
    scores = retain.score(settings=settings).frame()
    top = retain.risk_list(settings=settings, top=500)

Errors are those of the command line: `InputError` (unusable input or usage, a clear one-line
message naming the field) and `ProblemFound` (no champion yet, ...), both from `pipelines.errors`
(`retain.InputError`, `retain.ProblemFound`).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipelines.errors import InputError, ProblemFound
from pipelines.settings import Settings, load_settings

if TYPE_CHECKING:
    import duckdb

    from models.scorer import Scorer
    from pipelines.ingest.load import Loaded
    from pipelines.scoring.batch import ScoreResult
    from pipelines.training.run import TrainingOutcome

__all__ = [
    "Champion",
    "Evaluation",
    "InputError",
    "ProblemFound",
    "Settings",
    "due_list",
    "evaluate",
    "features",
    "generate",
    "load",
    "load_champion",
    "risk_list",
    "score",
    "settings",
    "train",
]

Date = str | pd.Timestamp


def settings(**overrides: Any) -> Settings:
    """The settings the command line would use: `retain.toml` in the working directory and
    `RETAIN_*` variables, with `overrides` (field names of `Settings`, None = not given) on
    top. An invalid value raises `InputError` naming the setting and where it came from."""
    return load_settings(**overrides)


def generate(
    out: str | Path,
    customers: int = 2_000,
    days: int = 730,
    seed: int = 0,
    start: Date = "2024-01-01",
) -> dict[str, int]:
    """Write a synthetic world in the data contract to the folder `out` (orders, complaints,
    customers as Parquet, the ground truth beside them), as `retain generate` does: the same
    seed gives the same tables. Returns the rows written per table."""
    from pipelines.synthetic.campaign import generate_dataset

    start_day = str(_timestamp(start).date())
    return generate_dataset(Path(out), customers, days, seed, start_day, csv=False).counts


def load(data: str | Path, settings: Settings | None = None) -> Loaded:
    """Read and validate a source (folder of CSV/Parquet tables, DuckDB file or
    `postgresql://` URL) into the warehouse, as `--data` does for every command.

    Returns the `Loaded` report: per table `rows read = used + set aside` (`reports`), the
    number of rows set aside and the CSV file listing them with reasons (`rejects_path`).
    Raises `InputError` when a table cannot be used at all."""
    from pipelines.home import Home
    from pipelines.ingest.load import check_usable
    from pipelines.ingest.load import load as load_source

    chosen = _settings(settings)
    con = Home.of(chosen).open_warehouse(chosen.duckdb_memory_limit)
    try:
        loaded = load_source(con, str(data), chosen)
        check_usable(loaded, chosen)
    finally:
        con.close()
    return loaded


def features(
    as_of: Date | None = None,
    data: str | Path | None = None,
    settings: Settings | None = None,
    cutoffs: int = 1,
    with_labels: bool = False,
) -> pd.DataFrame:
    """Point-in-time features of every customer in the population at `as_of` (default: the
    day after the last order), or at `cutoffs` cutoffs ending there; with `with_labels`, the
    outcomes after each cutoff (missing where the horizon runs past the data): the training
    frame. One row per (customer, cutoff); the columns are explained in docs/FEATURES.md."""
    from pipelines.training.frames import write_feature_file

    chosen = _settings(settings)
    with _warehouse(chosen, data) as con, tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "features.parquet"
        write_feature_file(con, chosen, _as_of(con, as_of), cutoffs, with_labels, out)
        return pd.read_parquet(out)


def train(
    data: str | Path | None = None,
    settings: Settings | None = None,
    as_of: Date | None = None,
    metrics_out: Path | None = None,
) -> TrainingOutcome:
    """Train on events before `as_of` (default: all), validate against the baselines, log
    the run to MLflow and register a version; it becomes champion unless the gate keeps the
    champion (`retain train`).

    Returns the `TrainingOutcome`: `version`, `decision` (`promoted`, `reason`) and `result`
    (`metrics` per scorer, the fitted `scorer`, `notes`, the training window)."""
    from pipelines.training.run import run_training

    chosen = _settings(settings)
    with _warehouse(chosen, data) as con:
        cutoff = None if as_of is None else _timestamp(as_of)
        return run_training(con, chosen, metrics_out, _quiet, cutoff)


@dataclass(frozen=True)
class Evaluation:
    """A rolling-origin backtest at one cutoff: metrics per scorer, the verdict, the report."""

    metrics: pd.DataFrame  # one row per metric, one column per scorer (model, bgnbd, ...)
    verdict: str  # the plain verdict on the model at the cutoff
    report: dict[str, Any]  # the JSON report (earlier cutoffs, warnings, mean over cutoffs)
    files: list[Path]  # the report and its plots, as written


def evaluate(
    as_of: Date,
    out: Path,
    data: str | Path | None = None,
    settings: Settings | None = None,
    earlier: int = 2,
) -> Evaluation:
    """Backtest the model against BG/NBD, the recency rule and RFM at `as_of` and `earlier`
    monthly cutoffs before it (`retain evaluate`): every scorer trains only on cutoffs whose
    labels end by the cutoff it is scored at. Writes the report to `out` (plots beside it)
    and logs it to MLflow. `as_of` plus the horizon must lie within the data."""
    from pipelines.training.evaluate import run_evaluation

    chosen = _settings(settings)
    with _warehouse(chosen, data) as con:
        report, files = run_evaluation(con, chosen, _timestamp(as_of), earlier, Path(out))
    return Evaluation(pd.DataFrame(report["metrics"]), report["verdict"], report, files)


def score(
    as_of: Date | None = None,
    data: str | Path | None = None,
    settings: Settings | None = None,
    scored_at: Date | None = None,
    out: Path | None = None,
) -> ScoreResult:
    """Score the population at `as_of` (default: the day after the last order) with the
    champion, keep the scores in the warehouse and publish them for the lists and the
    service, as `retain score` does; `out` also writes them (.parquet, .csv, ...).

    `scored_at` is the time recorded with the scores (default: `as_of`; the command line
    passes the current time). Returns the `ScoreResult`: `.frame()` is the scores table
    (columns in README "Output: the scores table"), with `scored`, `lapsed`, `risk_tiers`,
    `model_version` and `warnings`. Raises `ProblemFound` when there is no champion yet."""
    from pipelines.cli.categories import score_with_categories
    from pipelines.scoring.batch import publish, require_champion

    chosen = _settings(settings)
    with _warehouse(chosen, data, lambda: require_champion(chosen)) as con:
        cutoff = _as_of(con, as_of)
        made_at = cutoff if scored_at is None else _timestamp(scored_at)
        result, _ = score_with_categories(con, chosen, cutoff, made_at)
    publish(result, out, None)
    return result


def risk_list(
    settings: Settings | None = None,
    top: int | None = None,
    budget: int | None = None,
    min_probability: float = 0.0,
    tiers: Sequence[str] = (),
    value_tiers: Sequence[str] = (),
    segments: Sequence[str] = (),
    regions: Sequence[str] = (),
    sort: str = "value_at_risk",
    list_id: str | None = None,
    out: Path | None = None,
) -> pd.DataFrame:
    """Customers at risk from the latest scores, most value at risk first, with a stable
    held-back control group (`retain risk-list`; its options by the same names). `out`
    also writes the list (.csv, .xlsx with an "about" sheet, .parquet).

    Returns one row per listed customer: rank, group (target or control), contact, the
    scores and the reasons. The control share is the settings' `control_share`."""
    from pipelines.marketing.lists import Selection

    selection = Selection(
        top, budget, min_probability, list(tiers), list(value_tiers), list(segments), sort,
        regions=list(regions),
    )  # fmt: skip
    return _list(settings, selection, list_id, "risk list", out)


def due_list(
    within_days: float,
    settings: Settings | None = None,
    min_order_probability: float = 0.5,
    top: int | None = None,
    sort: str = "due_value",
    list_id: str | None = None,
    out: Path | None = None,
) -> pd.DataFrame:
    """Customers likely to order within `within_days` days (probability at least
    `min_order_probability`, and more likely to order than to leave), most valuable first,
    with a control group (`retain due-list`). Returns one row per listed customer."""
    from pipelines.marketing.lists import Selection

    selection = Selection(
        top=top, sort=sort, within_days=within_days, min_order_probability=min_order_probability
    )
    return _list(settings, selection, list_id, "due list", out)


@dataclass(frozen=True)
class Champion:
    """A registered version's scorer: `scorer.prepare(features)` then `scorer.score(...)`."""

    scorer: Scorer
    version: str


def load_champion(settings: Settings | None = None, version: str | None = None) -> Champion:
    """The scorer of the champion (or of `version`) from the MLflow registry of the settings,
    as `retain score` and the service load it. Raises `ProblemFound` when there is none."""
    from models.registry import RegistryError
    from pipelines.home import open_registry

    try:
        scorer, chosen = open_registry(_settings(settings)).load_scorer(version)
    except RegistryError as exc:
        raise ProblemFound(str(exc)) from None
    return Champion(scorer, chosen)


def _settings(given: Settings | None) -> Settings:
    return given if given is not None else load_settings()


def _timestamp(value: Date) -> pd.Timestamp:
    from features.cutoffs import to_timestamp

    return to_timestamp(value)


def _as_of(con: duckdb.DuckDBPyConnection, as_of: Date | None) -> pd.Timestamp:
    from pipelines.warehouse import data_end

    return data_end(con) if as_of is None else _timestamp(as_of)


def _quiet(_: str) -> contextlib.AbstractContextManager[None]:
    """What the command line shows as a spinner: nothing, in a notebook."""
    return contextlib.nullcontext()


@contextlib.contextmanager
def _warehouse(
    chosen: Settings, data: str | Path | None, before_load: Any = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse the commands open (`pipelines.cli.common.warehouse`): loaded from
    `data` when given (its load report printed, as on the command line)."""
    from pipelines.cli.common import warehouse

    with warehouse(chosen, None if data is None else str(data), before_load) as con:
        yield con


def _list(
    settings: Settings | None, selection: Any, list_id: str | None, kind: str, out: Path | None
) -> pd.DataFrame:
    from pipelines.marketing.assemble import make_list, write_list

    made = make_list(_settings(settings), selection, list_id, kind)
    if out is not None:
        write_list(made, Path(out))
    return made.listed

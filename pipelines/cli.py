"""The `retain` command line. Heavy libraries are imported inside the commands that need them."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table

from pipelines.errors import InputError, ProblemFound
from pipelines.settings import Settings

app = typer.Typer(
    help="retain: churn risk and next-purchase timing for CRM teams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(
    help="Registered model versions and the champion alias.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
import_app = typer.Typer(
    help="Convert public datasets into the data contract.", no_args_is_help=True
)
app.add_typer(import_app, name="import")
console = Console()

DataOpt = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="Folder of orders/complaints/customers (.parquet/.csv) or a DuckDB file. "
        "Default: the data last loaded into the warehouse.",
    ),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Cutoff date (default: the day after the last order).")
]
HorizonOpt = Annotated[
    int | None, typer.Option("--horizon-days", help="Churn horizon in days (default 90).")
]


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _registry() -> tuple[Settings, Any]:
    """Settings and the MLflow adapter, pointed at the tracking store."""
    from models import bundle

    settings = _settings()
    bundle.configure(settings.mlflow_tracking_uri, settings.experiment_name)
    return settings, bundle


def _done(message: str) -> None:
    console.print(f"[bold green]done[/] {message}")


def _load(con: Any, data: str, settings: Settings) -> list[Any]:
    """Load and validate `data` into `con`; show the accounting; keep the rejects as CSV."""
    from pipelines.io import load_source, write_table

    with console.status(f"reading and validating {data}"):
        reports = load_source(con, data, settings.input)
    for report in reports:
        console.print(f"  {report.line()}")
        for reason, n in report.set_aside_by_reason.items():
            console.print(f"    {n:,} x {reason}")
    rejects = con.execute("SELECT * FROM rejects").df()
    if len(rejects):
        path = write_table(rejects, settings.home / "rejects.csv")
        console.print(f"  [yellow]{len(rejects):,} rows set aside, with reasons:[/] {path}")
    return reports


def _require_orders(reports: list[Any]) -> None:
    orders = next(r for r in reports if r.table == "orders")
    if orders.used == 0:
        raise InputError(
            orders.source, f"no usable orders: {orders.read:,} rows read, all set aside"
        )


@contextlib.contextmanager
def _warehouse(settings: Settings, data: str | None) -> Iterator[Any]:
    """The DuckDB warehouse, (re)loaded from `data` when given."""
    from pipelines.db import connect, scalar

    con = connect(settings.warehouse_path)
    con.execute("SET memory_limit = ?", [settings.duckdb_memory_limit.strip()])
    try:
        if data is not None:
            _require_orders(_load(con, data, settings))
        elif not scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'orders'"):
            raise InputError(str(settings.warehouse_path), "no data loaded yet; pass --data SRC")
        yield con
    finally:
        con.close()


def _as_of(con: Any, as_of: str | None) -> Any:
    from features.cutoffs import to_timestamp
    from pipelines.io import data_end

    return to_timestamp(as_of) if as_of else data_end(con)


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the tables to.")],
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 20_000,
    days: Annotated[int, typer.Option(help="Days of history.")] = 730,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same tables.")] = 0,
    start: Annotated[str, typer.Option(help="First day of the history.")] = "2024-01-01",
    csv: Annotated[bool, typer.Option("--csv", help="Also write CSV files.")] = False,
    campaign_list: Annotated[
        Path | None,
        typer.Option(
            "--campaign-list", help="A list made by risk-list: its target group is contacted."
        ),
    ] = None,
    campaign_effect: Annotated[
        float,
        typer.Option(
            "--campaign-effect",
            help="Share by which contact lowers dropout (and raises order rate).",
        ),
    ] = 0.3,
    campaign_date: Annotated[
        str | None,
        typer.Option("--campaign-date", help="Contact date (default: the list's as_of)."),
    ] = None,
    readout_days: Annotated[
        int, typer.Option("--readout-days", help="Window of the true effect.")
    ] = 90,
) -> None:
    """Write synthetic orders, complaints and customers (Parquet), with the ground truth.
    With --campaign-list, the list's target customers are contacted on the campaign date and
    campaign_truth.json records the exact effect (same seed, world without the campaign)."""
    import json

    import pandas as pd

    from pipelines.generate import GeneratorParams, generation_meta, simulate, write_dataset

    params, start_at = GeneratorParams(), pd.Timestamp(start)
    campaign = None
    if campaign_list is not None:
        campaign, date = _campaign(
            campaign_list, campaign_effect, campaign_date, customers, start_at
        )
    with console.status(f"simulating {customers:,} customers over {days} days"):
        tables = simulate(customers, days, seed, start_at, params, campaign=campaign)
    meta = generation_meta(customers, days, seed, start_at, params)
    write_dataset(tables, out, meta, csv)
    if campaign is not None:
        from pipelines.campaign import true_effect

        without = simulate(customers, days, seed, start_at, params)["orders"]
        targets = tables["customers"]["customer_id"][campaign.targets]
        until = date + pd.Timedelta(days=readout_days)
        truth = {
            "campaign_date": date.date().isoformat(),
            "effect_parameter": campaign_effect,
            "readout_until": until.date().isoformat(),
            **true_effect(tables["orders"], without, targets, date, until),
        }
        (out / "campaign_truth.json").write_text(json.dumps(truth, indent=2))
        console.print(
            f"  campaign on {truth['target_customers']:,} target customers: true effect on "
            f"ordering share {truth['true_effect_share_ordered']:+.1%} by {until.date()}"
        )
    counts = ", ".join(f"{len(v):,} {k}" for k, v in tables.items() if k != "truth")
    _done(f"wrote {counts} (+ truth.parquet, generation.json) to {out}")


def _campaign(
    path: Path, effect: float, date: str | None, customers: int, start: Any
) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    from pipelines.generate import Campaign, customer_ids
    from pipelines.io import read_list

    listed = read_list(path, ("customer_id", "group"))
    when = pd.Timestamp(date) if date else pd.Timestamp(listed["as_of"].iloc[0])
    contacted = listed.loc[listed["group"] == "target", "customer_id"]
    targets = np.isin(customer_ids(customers), contacted.to_numpy(dtype=str))
    return Campaign(targets, (when - start) / pd.Timedelta(days=1), effect), when


@app.command()
def validate(
    data: Annotated[str, typer.Option("--data", help="Folder, DuckDB file or postgresql:// URL.")],
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write the report as JSON (and HTML beside it)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="'Now' for the future-date check (default: today)."),
    ] = None,
) -> None:
    """Check a source against the data contract and profile it. Unusable rows are set aside
    with reasons; exit 2 when a table cannot be used at all."""
    from dataclasses import asdict

    import pandas as pd

    from pipelines.db import connect
    from pipelines.profile import profile_tables, to_html

    settings = _settings()
    con = connect()
    reports = _load(con, data, settings)
    now = pd.Timestamp(as_of) if as_of else pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
    profile = profile_tables(con, now)
    orders = profile["orders"]
    console.print(
        f"  {orders['customers']:,} customers, {orders['orders_per_customer']} orders each, "
        f"{orders['repeat_customer_share']:.0%} repeat buyers, "
        f"{orders['first_ordered_at']} to {orders['last_ordered_at']}"
        if orders["customers"]
        else "  no completed orders"
    )
    for warning in profile["warnings"]:
        console.print(f"  [yellow]suspicious:[/] {warning}")
    if report is not None:
        body = {"tables": {r.table: asdict(r) for r in reports}, "profile": profile}
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(body, indent=2, default=str))
        report.with_suffix(".html").write_text(to_html(body))
    _require_orders(reports)
    _done(
        f"validated {data}"
        + (f"; report in {report} and {report.with_suffix('.html')}" if report else "")
    )


@import_app.command("cdnow")
def import_cdnow(
    path: Annotated[Path, typer.Argument(help="CDNOW_master.txt (Fader & Hardie format).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write orders.parquet to.")],
    merge_same_day: Annotated[
        bool,
        typer.Option(
            "--merge-same-day",
            help="Sum a customer's lines of one day into one order (the BTYD convention).",
        ),
    ] = False,
) -> None:
    """CDNOW master file -> orders.parquet, one order per line (identical lines share an id,
    so `retain validate` collapses them as exact duplicates)."""
    from pipelines.importers import read_cdnow
    from pipelines.io import write_table

    imported = read_cdnow(path, merge_same_day)
    write_table(imported.orders, out / "orders.parquet")
    if len(imported.skipped):
        write_table(imported.skipped, out / "skipped_lines.csv")
    console.print(
        f"  lines read {imported.lines_read:,} = orders {len(imported.orders):,} "
        f"+ merged same-day {imported.merged_same_day:,} + skipped {len(imported.skipped):,}"
    )
    _done(f"wrote {out / 'orders.parquet'} (no complaints table: CDNOW has none)")


@app.command()
def features(
    out: Annotated[Path, typer.Option("--out", help="Output file (.parquet, .csv, .json, .xlsx).")],
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    cutoffs: Annotated[
        int,
        typer.Option(
            min=1, help="Cutoffs, the last at --as-of: more than one makes a training frame."
        ),
    ] = 1,
    step_days: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Days between cutoffs; 0 = month starts at or before --as-of (default: settings).",
        ),
    ] = None,
    with_labels: Annotated[
        bool,
        typer.Option(
            "--labels",
            help="Add the outcomes after each cutoff (empty where the horizon runs past the data).",
        ),
    ] = False,
    horizon_days: HorizonOpt = None,
) -> None:
    """Point-in-time features for every customer in the population at one or more cutoffs,
    computed in one relational pass; with --labels, the training frame the models learn from."""
    from rich.progress import Progress

    from features.cutoffs import spaced_cutoffs
    from features.frame import feature_relation
    from pipelines.io import data_end, write_relation

    settings = _settings(horizon_days=horizon_days)
    step = settings.cutoff_step_days if step_days is None else step_days
    with _warehouse(settings, data) as con, Progress(console=console, transient=True) as bar:
        cutoff = _as_of(con, as_of)
        chosen = [cutoff] if cutoffs == 1 else spaced_cutoffs(cutoff, cutoffs, step)
        task = bar.add_task("computing features (customer passes)", total=None)
        rel = feature_relation(
            con,
            chosen,
            settings.activity_window_days,
            settings.horizon_days if with_labels else None,
            data_end(con) if with_labels else None,
            on_pass=lambda done, total: bar.update(task, completed=done, total=total),
        )
        bar.update(task, description=f"writing {out.name}")
        write_relation(rel, out)
        rows = rel.shape[0]
    what = "features and labels" if with_labels else "features"
    if len(chosen) == 1:
        _done(f"wrote {what} of {rows:,} customers at {chosen[0].date()} to {out}")
    else:
        span = f"{len(chosen)} cutoffs from {chosen[0].date()} to {chosen[-1].date()}"
        _done(f"wrote {what} of {rows:,} (customer, cutoff) rows at {span} to {out}")


@app.command()
def train(
    data: DataOpt = None,
    horizon_days: HorizonOpt = None,
    max_trees: Annotated[
        int | None, typer.Option("--max-trees", help="Most boosting rounds (default 500).")
    ] = None,
    metrics_out: Annotated[
        Path | None, typer.Option("--metrics-out", help="Also write metrics JSON here.")
    ] = None,
) -> None:
    """Train, validate against the baselines, log to MLflow and register a version; it becomes
    champion only if it beats the current one on the same backtest."""
    settings = _settings(horizon_days=horizon_days, churn_max_trees=max_trees)
    with _warehouse(settings, data) as con:
        result, version, promoted, why = run_training(con, settings, metrics_out)
    _print_metrics(result.metrics)
    console.print(f"  champion decision: {'promote' if promoted else 'keep the champion'} ({why})")
    verdict = (
        "now champion"
        if promoted
        else f"registered; champion unchanged, promote with `retain models promote {version}`"
    )
    _done(
        f"model '{settings.model_name}' version {version} ({verdict}); MLflow: {settings.mlflow_tracking_uri}"
    )


def run_training(
    con: Any, settings: Settings, metrics_out: Path | None
) -> tuple[Any, str, bool, str]:
    from features.schema import LABEL_COLUMNS
    from models import bundle
    from pipelines.io import write_table
    from pipelines.train import (
        champion_metrics,
        flat_metrics,
        promotion_decision,
        train,
        write_metrics,
    )

    with console.status("building training frames, fitting the model and the baselines"):
        result = train(con, settings)
    bundle.configure(settings.mlflow_tracking_uri, settings.experiment_name)
    champion = bundle.champion_version(settings.model_name)
    champ: dict[str, Any] | None = None
    if champion is not None:
        with console.status(f"refitting champion version {champion} on the same backtest"):
            try:
                champ = champion_metrics(
                    result, bundle.load_scorer(settings.model_name, champion)[0], settings
                )
            except Exception as exc:  # an old champion this code cannot load cannot score either
                console.print(
                    f"  [yellow]champion version {champion} cannot be re-evaluated:[/] {exc}"
                )
    promoted, why = promotion_decision(result.metrics["model"], champ, settings.promotion_margin)
    if champion is not None and champ is None:
        promoted, why = True, f"champion version {champion} is unusable with this code"
    decision = {
        "promoted": promoted,
        "reason": why,
        "champion_before": champion,
        "champion_metrics": champ,
    }
    metrics_path = write_metrics(
        result, metrics_out or settings.home / "metrics.json", {"promotion": decision}
    )
    reference_path = write_table(result.reference, settings.reference_path)
    with console.status("logging to MLflow and registering the model"):
        params = {
            "horizon_days": settings.horizon_days,
            "activity_window_days": settings.activity_window_days,
            "training_cutoffs": settings.training_cutoffs,
            "churn_max_trees": settings.churn_max_trees,
            "evaluation_cutoff": result.evaluation_cutoff.date().isoformat(),
            "churn_trees": result.scorer.churn.n_trees_,
            "churn_num_leaves": result.scorer.churn.complexity_[0],
            "churn_min_child_samples": result.scorer.churn.complexity_[1],
            "settings_hash": settings.model_hash(),
            **result.counts,
        }
        example = result.reference.drop(columns=list(LABEL_COLUMNS))
        example = example.rename(columns={"cutoff_at": "as_of"})
        logged = bundle.log_run(
            result.scorer,
            settings.model_name,
            params,
            flat_metrics(result.metrics),
            {"metrics": metrics_path, "reference": reference_path},
            example,
        )
        bundle.tag_version(settings.model_name, logged.version, {"promotion": why})
        if promoted:
            bundle.promote(settings.model_name, logged.version)
    return result, logged.version, promoted, why


def _print_metrics(metrics: dict[str, dict[str, Any]]) -> None:
    table = Table(title="validation at the evaluation cutoff (labels unseen in training)")
    table.add_column("metric")
    for who in metrics:
        table.add_column(who, justify="right")
    for name in next(iter(metrics.values())):
        cells = (values.get(name) for values in metrics.values())
        table.add_row(name, *("-" if v is None else f"{v:.4f}" for v in cells))
    console.print(table)


@app.command()
def evaluate(
    as_of: Annotated[
        str, typer.Option("--as-of", help="Evaluation cutoff (labels must be known).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Report JSON; plots are written beside it.")],
    data: DataOpt = None,
    horizon_days: HorizonOpt = None,
    earlier: Annotated[int, typer.Option(help="Earlier monthly cutoffs evaluated too.")] = 2,
) -> None:
    """Rolling-origin backtest: the model vs BG/NBD, the recency rule and RFM, at a cutoff and
    earlier ones; every scorer trains only on cutoffs whose labels end by the one it is scored at."""
    from features.cutoffs import to_timestamp
    from models import bundle
    from pipelines.evaluate import evaluate as run_evaluation
    from pipelines.evaluate import write_report
    from pipelines.train import flat_metrics

    settings = _settings(horizon_days=horizon_days)
    with (
        _warehouse(settings, data) as con,
        console.status("backtesting the model and the baselines"),
    ):
        report, predictions = run_evaluation(con, settings, to_timestamp(as_of), earlier)
    files = write_report(report, predictions, out)
    _print_metrics(report["metrics"])
    bundle.configure(settings.mlflow_tracking_uri, settings.experiment_name)
    params = {
        "as_of": report["as_of"],
        "horizon_days": settings.horizon_days,
        "earlier_cutoffs": earlier,
    }
    bundle.log_evaluation(
        f"evaluate {report['as_of']}", params, flat_metrics(report["metrics"]), files
    )
    _done(f"wrote {', '.join(str(f) for f in files)}; logged to MLflow")


@models_app.command("list")
def models_list() -> None:
    """Registered versions, their validation metrics and which one is champion."""
    settings, bundle = _registry()
    versions = bundle.list_versions(settings.model_name)
    if versions.empty:
        raise InputError(settings.model_name, "no registered versions; run `retain train`")
    console.print(versions.to_string(index=False))


@models_app.command("promote")
def models_promote(
    version: Annotated[str, typer.Argument(help="Version to make champion.")],
) -> None:
    """Move the champion alias to VERSION."""
    settings, bundle = _registry()
    bundle.promote(settings.model_name, version)
    _done(f"'{settings.model_name}' version {version} is champion")


@models_app.command("rollback")
def models_rollback() -> None:
    """Give the champion alias back to the previous champion."""
    settings, bundle = _registry()
    previous = bundle.rollback(settings.model_name)
    _done(f"'{settings.model_name}' version {previous} is champion again")


@app.command()
def score(
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the scores here.")] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Also write to PostgreSQL table retain_scores (postgresql://...)."
        ),
    ] = None,
) -> None:
    """Score the population with the champion; keep the scores in the warehouse and as Parquet."""
    import pandas as pd
    from rich.progress import Progress

    from models import bundle
    from pipelines.io import write_table
    from pipelines.score import score_population, store_scores

    settings = _settings()
    bundle.configure(settings.mlflow_tracking_uri, settings.experiment_name)
    with console.status("loading the champion model"):
        scorer, version = bundle.load_scorer(settings.model_name)
    with _warehouse(settings, data) as con, Progress(console=console, transient=True) as bar:
        cutoff = _as_of(con, as_of)
        task = bar.add_task("scoring", total=None)
        result = score_population(
            con,
            scorer,
            version,
            cutoff,
            pd.Timestamp.now(tz="UTC").tz_localize(None),
            settings,
            progress=lambda n: bar.advance(task, n),
        )
        store_scores(con, result, settings)
    if out is not None:
        write_table(result.scores, out)
    if to is not None:
        from pipelines import postgres

        if not postgres.is_postgres(to):
            raise InputError(to, "--to expects a postgresql:// URL")
        written = postgres.write_scores(to, result.scores)
        console.print(f"  wrote {written:,} rows to table retain_scores in one transaction")
    tiers = result.scores["risk_tier"].value_counts().to_dict()
    console.print(
        f"  scored {len(result.scores):,} customers at {cutoff.date()} with version {version}; "
        f"{result.lapsed:,} lapsed (no order in {settings.activity_window_days} days) not scored"
    )
    console.print("  risk tiers: " + ", ".join(f"{k} {v:,}" for k, v in tiers.items()))
    _done(
        f"wrote {settings.latest_scores_path} and table 'scores' in {settings.warehouse_path}"
        + (f" and {out}" if out else "")
    )


ListOut = Annotated[Path, typer.Option("--out", help="Output file; its extension is the format.")]
ListFormat = Annotated[
    str | None, typer.Option("--format", help="csv, xlsx or parquet (default: from --out).")
]
ListId = Annotated[
    str | None, typer.Option("--list-id", help="Default: the date and a short hash.")
]
ControlShare = Annotated[
    float | None, typer.Option("--control-share", help="Held back (default 0.10).")
]
Sort = Annotated[str, typer.Option("--sort", help="value_at_risk or churn_probability.")]


@app.command("risk-list")
def risk_list_cmd(
    out: ListOut,
    top: Annotated[int | None, typer.Option("--top", help="Keep the first N rows.")] = None,
    budget: Annotated[
        int | None, typer.Option("--budget", help="Contacts to fill (target group).")
    ] = None,
    min_probability: Annotated[float, typer.Option("--min-probability")] = 0.0,
    tier: Annotated[
        list[str] | None, typer.Option("--tier", help="Risk tier(s): high, medium, low.")
    ] = None,
    value_tier: Annotated[
        list[str] | None, typer.Option("--value-tier", help="platinum, gold, ...")
    ] = None,
    segment: Annotated[
        list[str] | None, typer.Option("--segment", help="Declared segment(s).")
    ] = None,
    sort: Sort = "value_at_risk",
    control_share: ControlShare = None,
    list_id: ListId = None,
    fmt: ListFormat = None,
) -> None:
    """Customers at risk, most value at risk first, with a stable held-back control group."""
    from pipelines.risk_list import Selection

    selection = Selection(
        top, budget, min_probability, tier or [], value_tier or [], segment or [], sort
    )
    _write_list(out, fmt, selection, control_share, list_id, "risk list")


def _with_reasons(listed: Any, settings: Settings) -> Any:
    """Reasons for listed customers `retain score` did not explain, from the same model version."""
    import pandas as pd

    from models import bundle
    from pipelines.score import fill_reasons

    missing = listed.index[listed["reasons"].fillna("") == ""]
    if len(missing) == 0 or not settings.latest_features_path.exists():
        return listed
    bundle.configure(settings.mlflow_tracking_uri, settings.experiment_name)
    with console.status(f"explaining {len(missing):,} listed customers"):
        scorer, _ = bundle.load_scorer(settings.model_name, str(listed["model_version"].iloc[0]))
        features = pd.read_parquet(settings.latest_features_path)
        return fill_reasons(listed, features, scorer, missing)


@app.command("due-list")
def due_list_cmd(
    out: ListOut,
    within_days: Annotated[
        float, typer.Option("--within-days", help="Expected next order within N days.")
    ],
    top: Annotated[int | None, typer.Option("--top", help="Keep the first N rows.")] = None,
    sort: Sort = "value_at_risk",
    control_share: ControlShare = None,
    list_id: ListId = None,
    fmt: ListFormat = None,
) -> None:
    """Customers whose next order is due within N days: offers timed to their own cycle."""
    from pipelines.risk_list import Selection

    _write_list(
        out,
        fmt,
        Selection(top=top, sort=sort, within_days=within_days),
        control_share,
        list_id,
        "due list",
    )


def _write_list(
    out: Path,
    fmt: str | None,
    selection: Any,
    control_share: float | None,
    list_id: str | None,
    kind: str,
) -> None:
    import pandas as pd

    from pipelines.io import write_table, write_xlsx
    from pipelines.risk_list import build_list, default_list_id, description_sheet

    settings = _settings(control_share=control_share)
    if not settings.latest_scores_path.exists():
        raise InputError(
            str(settings.latest_scores_path), "no scores yet; run `retain score` first"
        )
    scores = pd.read_parquet(settings.latest_scores_path)
    segments = None
    if settings.latest_features_path.exists():
        segments = pd.read_parquet(
            settings.latest_features_path, columns=["customer_id", "segment"]
        )
    if segments is not None and selection.segments:  # a filter: every score needs its segment
        scores = scores.merge(segments, on="customer_id", how="left")
    as_of = pd.Timestamp(scores["as_of"].iloc[0]) if len(scores) else pd.Timestamp(0)
    version = str(scores["model_version"].iloc[0]) if len(scores) else ""
    chosen_id = list_id or default_list_id(as_of, selection.describe(), version)
    listed = build_list(scores, chosen_id, selection, settings.control_share)
    if segments is not None and not selection.segments:  # shown only: the listed rows suffice
        listed = listed.merge(segments, on="customer_id", how="left")
    listed = _with_reasons(listed, settings)
    target = out.with_suffix(f".{fmt}") if fmt else out
    if target.suffix == ".xlsx":
        facts = {
            "list_id": chosen_id,
            "kind": kind,
            "as_of": str(as_of.date()),
            "model_version": version,
            "selection": selection.describe() or "all scored customers",
            "control_share": str(settings.control_share),
            "settings_hash": settings.model_hash(),
        }
        write_xlsx({"list": listed, "about": description_sheet(listed, facts)}, target)
    else:
        write_table(listed, target)
    control = int((listed["group"] == "control").sum())
    value = listed.loc[listed["group"] == "target", "value_at_risk"].sum()
    _done(
        f"{kind} {chosen_id}: {len(listed):,} customers ({control:,} control, do not contact); "
        f"value at risk in the target group {value:,.0f} -> {target}"
    )


@app.command("campaign-report")
def campaign_report(
    list_file: Annotated[Path, typer.Option("--list", help="The list the campaign used.")],
    since: Annotated[str, typer.Option("--since", help="Campaign date: orders from here count.")],
    data: DataOpt = None,
    until: Annotated[
        str | None, typer.Option("--until", help="End of the readout (default: since + horizon).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Report JSON; the chart is written beside it.")
    ] = Path("campaign_report.json"),
) -> None:
    """Target vs control after a campaign: share who ordered, revenue per customer, overall and
    per risk decile, with 95 % intervals; says so when there are too few customers."""
    import pandas as pd

    from features.cutoffs import to_timestamp
    from pipelines.campaign import chart, readout
    from pipelines.io import read_list

    settings = _settings()
    listed = read_list(list_file, ("customer_id", "group", "churn_probability"))
    start = to_timestamp(since)
    end = to_timestamp(until) if until else start + pd.Timedelta(days=settings.horizon_days)
    with _warehouse(settings, data) as con:
        orders = con.execute(
            "SELECT customer_id, ordered_at, amount, status FROM orders WHERE ordered_at >= ? AND ordered_at < ?",
            [start, end],
        ).df()
    report = readout(listed, orders, start, end)
    report["list"] = str(list_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    png = chart(report, out.with_suffix(".png"))
    overall = report["overall"]
    console.print(
        f"  target {overall['customers']['target']:,}, control {overall['customers']['control']:,}: "
        f"{overall['conclusion']}"
    )
    _done(f"wrote {out} and {png}")


@app.command()
def drift(
    out: Annotated[Path, typer.Option("--out", help="Evidently HTML report.")] = Path(
        "drift_report.html"
    ),
    summary: Annotated[
        Path | None, typer.Option("--summary", help="JSON summary (default: beside --out).")
    ] = None,
) -> None:
    """Evidently drift report: training reference sample vs the latest scored features.
    Exit code 1 when the drifted share reaches the threshold."""
    from pipelines.monitor import run_drift

    settings = _settings()
    summary_path = summary or out.with_name("drift_summary.json")
    with console.status("computing drift"):
        result = run_drift(settings, out, summary_path)
    drifted = [c for c, v in result["columns"].items() if v["drifted"]]
    console.print(
        f"  drifted features: {len(drifted)} of {len(result['columns'])} "
        f"({result['drifted_share']:.0%}): {', '.join(drifted) or 'none'}"
    )
    _done(f"wrote {out} and {summary_path}")
    if result["alarm"]:
        raise ProblemFound(
            f"drift alarm: {result['drifted_share']:.0%} of features drifted "
            f"(threshold {settings.drift_share_threshold:.0%})"
        )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 3000,
) -> None:
    """Start the BentoML scoring service (POST /score, GET /healthz)."""
    import os
    import subprocess

    from serving.launch import serve_command

    env = {**os.environ, "RETAIN_HOME": str(_settings().home.resolve())}
    cmd = serve_command(host, port)
    console.print(f"serving on http://{host}:{port} (Ctrl-C to stop)")
    raise typer.Exit(subprocess.call(cmd, env=env))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo outputs.")] = Path(
        "runs/demo"
    ),
    customers: Annotated[int, typer.Option(help="Synthetic customers.")] = 20_000,
) -> None:
    """generate -> train -> score -> risk-list -> drift on synthetic data, end to end."""
    data = out / "data"
    steps = [
        ("generate synthetic data", lambda: generate(out=data, customers=customers, seed=0)),
        ("train", lambda: train(data=str(data), metrics_out=out / "metrics.json")),
        ("score", lambda: score(out=out / "scores.parquet")),
        ("risk list", lambda: risk_list_cmd(out=out / "risk_list.csv", top=1000, list_id="demo")),
        (
            "due list",
            lambda: due_list_cmd(
                out=out / "due_list.csv", within_days=14, top=1000, list_id="demo-due"
            ),
        ),
        ("drift", lambda: drift(out=out / "drift_report.html")),
    ]
    for i, (title, step) in enumerate(steps, 1):
        console.rule(f"[bold]{i}/{len(steps)} {title}")
        try:
            step()
        except ProblemFound as found:  # a drift alarm is a finding to show, not a failed demo
            console.print(f"[bold yellow]finding[/] {found}")
    settings = _settings()
    console.rule("[bold]where things are")
    console.print(f"  risk list       {out / 'risk_list.csv'} (due list: {out / 'due_list.csv'})")
    console.print(f"  scores          {out / 'scores.parquet'} (and {settings.warehouse_path})")
    console.print(f"  metrics         {out / 'metrics.json'}")
    console.print(f"  drift report    {out / 'drift_report.html'}")
    console.print(
        f"  MLflow UI       make mlflow-ui  ->  http://127.0.0.1:5000 ({settings.mlflow_tracking_uri})"
    )
    console.print("  scoring API     make serve     ->  POST http://127.0.0.1:3000/score")
    _done(f"demo finished; outputs in {out}")


def main() -> None:
    """Console-script entry: exit 2 for unusable input or usage, 1 for a problem found."""
    try:
        app(standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except InputError as exc:
        console.print(f"[bold red]error[/] {exc}")
        sys.exit(2)
    except (ProblemFound, LookupError) as exc:
        console.print(f"[bold yellow]problem[/] {exc}")
        sys.exit(1)

"""Model commands: train, evaluate, and the registry (`retain models ...`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pipelines.cli.common import (
    DataOpt,
    HorizonOpt,
    console,
    date_of,
    done,
    print_metrics,
    settings_with,
    warehouse,
    writable,
)

app = typer.Typer()
models_app = typer.Typer(
    help="Registered model versions and the champion alias.", no_args_is_help=True
)
app.add_typer(models_app, name="models", rich_help_panel="model")
PANEL = "model"
VALIDATION = (
    "validation at the evaluation cutoff: each scorer fitted on cutoffs whose horizon ends by "
    "it (the registered version is then refitted on every labelled cutoff, these included)"
)

TrainAsOf = Annotated[
    str | None,
    typer.Option("--as-of", parser=date_of("--as-of"), help="Use only events before this date."),
]
MetricsOut = Annotated[
    Path | None,
    typer.Option(
        "--metrics-out", parser=writable("--metrics-out"), help="Also write metrics JSON here."
    ),
]


PartialCutoffs = Annotated[
    bool,
    typer.Option(
        "--partial-cutoffs",
        help="On a history shorter than the rule, learn from the cutoffs whose horizon "
        "ended and set the churn level from newer ones observed in part (README).",
    ),
]


@app.command(rich_help_panel=PANEL)
def train(
    data: DataOpt = None,
    as_of: TrainAsOf = None,
    horizon_days: HorizonOpt = None,
    max_trees: Annotated[
        int | None, typer.Option("--max-trees", help="Most boosting rounds (default 500).")
    ] = None,
    metrics_out: MetricsOut = None,
    partial_cutoffs: PartialCutoffs = False,
) -> None:
    """Train, validate against the baselines, log to MLflow and register a version. It becomes
    champion unless it is worse than the champion as registered on outcomes neither was
    fitted on: the orders after the champion's data end (margins in the settings)."""
    from features.cutoffs import to_timestamp
    from pipelines.training.run import run_training

    partial = partial_cutoffs or None
    settings = settings_with(
        horizon_days=horizon_days, churn_max_trees=max_trees, partial_cutoffs=partial
    )
    cutoff = to_timestamp(as_of) if as_of else None
    with warehouse(settings, data) as con:
        outcome = run_training(con, settings, metrics_out, console.status, cutoff)
    print_metrics(outcome.result.metrics, VALIDATION)
    for note in outcome.result.notes:
        console.print(f"  [cyan]note:[/] {note}", soft_wrap=True)
    decision = outcome.decision
    verdict = "promote" if decision.promoted else "keep the champion"
    console.print(f"  champion decision: {verdict} ({decision.reason})", soft_wrap=True)
    state = (
        "now champion"
        if decision.promoted
        else f"registered; champion unchanged, promote with `retain models promote {outcome.version}`"
    )
    done(
        f"model '{settings.model_name}' version {outcome.version} ({state}); "
        f"MLflow: {settings.mlflow_tracking_uri}"
    )


@app.command(rich_help_panel=PANEL)
def evaluate(
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of", parser=date_of("--as-of"), help="Evaluation cutoff (labels must be known)."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", parser=writable("--out"), help="Report JSON; plots are written beside it."
        ),
    ],
    data: DataOpt = None,
    horizon_days: HorizonOpt = None,
    earlier: Annotated[int, typer.Option(help="Earlier monthly cutoffs evaluated too.")] = 2,
) -> None:
    """Rolling-origin backtest: the model vs BG/NBD, the recency rule and RFM, at a cutoff and
    earlier ones; every scorer trains only on cutoffs whose labels end by the one it is scored at."""
    from features.cutoffs import to_timestamp
    from pipelines.training.evaluate import run_evaluation

    settings = settings_with(horizon_days=horizon_days)
    with (
        warehouse(settings, data) as con,
        console.status("backtesting the model and the baselines"),
    ):
        report, files = run_evaluation(con, settings, to_timestamp(as_of), earlier, out)
    print_metrics(report["metrics"], f"backtest at {report['as_of']}")
    _print_categories(report["categories"])
    console.print(f"  verdict: {report['verdict']}", soft_wrap=True)
    for warning in report["warnings"]:
        console.print(f"  [yellow]warning:[/] {warning}", soft_wrap=True)
    done(f"wrote {', '.join(str(f) for f in files)}; logged to MLflow")


def _print_categories(categories: dict[str, Any]) -> None:
    """One line per scorer of the category curves, or why they are off."""
    if categories["status"] != "on":
        console.print(f"  category curves: {categories['status']}", soft_wrap=True)
        return
    console.print(
        f"  category curves, buys within {categories['within_days']} days, "
        f"{categories['pairs_evaluated']:,} (customer, category) pairs:"
    )
    for name, m in categories["metrics"].items():
        figures = "  ".join(f"{k} {v:.4f}" for k, v in m.items())
        console.print(f"    {name:<20} {figures}")


@models_app.command("list")
def models_list() -> None:
    """Registered versions, their validation metrics and which one is champion."""
    import pandas as pd

    from pipelines.training.versions import list_versions

    versions = list_versions(settings_with())
    table = Table(title="registered versions, newest first (* = champion)")
    for column in ("version", "data end", "trained on cutoffs", "ROC-AUC", "PR-AUC", "Brier"):
        table.add_column(column, justify="right" if column[0].isupper() else "left")
    rows = versions.to_dict("records")
    for row in rows:
        figures = [row["churn_roc_auc"], row["churn_pr_auc"], row["churn_brier"]]
        shown = ("-" if pd.isna(v) else f"{v:.4f}" for v in figures)
        version = f"{row['version']}{'*' if row['champion'] else ''}"
        table.add_row(version, str(row["data_end"]), str(row["training_window"]), *shown)
    console.print(table)
    for row in rows:
        console.print(f"  version {row['version']}: {row['decision'] or '-'}", soft_wrap=True)


@models_app.command("promote")
def models_promote(
    version: Annotated[str, typer.Argument(help="Version to make champion.")],
) -> None:
    """Move the champion alias to VERSION."""
    from pipelines.training.versions import promote

    settings = settings_with()
    promote(settings, version)
    done(f"'{settings.model_name}' version {version} is champion")


@models_app.command("rollback")
def models_rollback() -> None:
    """Give the champion alias back to the previous champion."""
    from pipelines.training.versions import rollback

    settings = settings_with()
    previous = rollback(settings)
    done(f"'{settings.model_name}' version {previous} is champion again")

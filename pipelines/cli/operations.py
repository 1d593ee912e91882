"""Operations: score, drift, serve, and the demo that runs everything."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipelines.cli import data as data_cmds
from pipelines.cli import lists as list_cmds
from pipelines.cli import model as model_cmds
from pipelines.cli.categories import score_with_categories
from pipelines.cli.common import (
    AsOfOpt,
    DataOpt,
    Engine,
    EngineOpt,
    as_of_or_end,
    console,
    date_of,
    done,
    on_spark,
    settings_with,
    warehouse,
    writable,
)
from pipelines.errors import InputError, ProblemFound
from pipelines.home import Home

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.scoring.batch import ScoreResult
    from pipelines.settings import Settings

app = typer.Typer()
PANEL = "operations"


@app.command(rich_help_panel=PANEL)
def score(
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", parser=writable("--out"), help="Also write the scores here."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Also write to PostgreSQL table retain_scores (postgresql://...)."
        ),
    ] = None,
    engine: EngineOpt = Engine.duckdb,
) -> None:
    """Score the population with the champion; keep the scores in the warehouse and as Parquet
    (on Spark: scores to --out, a Parquet folder or a Spark table)."""
    import pandas as pd
    from rich.progress import Progress

    from pipelines.scoring.batch import publish, require_champion

    settings = settings_with()
    scored_at = pd.Timestamp.now(tz="UTC").tz_localize(None)
    if engine is Engine.spark:
        return on_spark(settings, "score", data, str(out or ""), as_of=as_of, scored_at=scored_at)
    check = functools.partial(require_champion, settings)  # before any data is read
    with warehouse(settings, data, check) as con, Progress(console=console, transient=True) as bar:
        cutoff = as_of_or_end(con, as_of)
        task = bar.add_task("scoring", total=None)
        advance = functools.partial(bar.advance, task)
        result, said = score_with_categories(con, settings, cutoff, scored_at, advance)
    written = publish(result, out, to)
    if written is not None:
        console.print(f"  wrote {written:,} rows to table retain_scores in one transaction")
    _show_scoring(result, cutoff, settings, said)
    extra = f" and {out}" if out else ""
    done(
        f"wrote {Home.of(settings).scores} and table 'scores' in {Home.of(settings).warehouse}{extra}"
    )


def _show_scoring(
    result: ScoreResult, cutoff: pd.Timestamp, settings: Settings, categories: str
) -> None:
    """What the category curves' step did, what was scored, the risk tiers and the run's
    warnings."""
    console.print(f"  {categories}")
    window = settings.activity_window_days
    console.print(
        f"  scored {result.scored:,} customers at {cutoff.date()} with version "
        f"{result.model_version}; {result.lapsed:,} lapsed (no order in {window} days) not scored"
    )
    tiers = dict(sorted(result.risk_tiers.items(), key=lambda kv: -kv[1]))
    high, medium = settings.risk_thresholds
    console.print(
        f"  risk tiers (high >= {high}, medium >= {medium}; live settings): "
        + ", ".join(f"{k} {v:,}" for k, v in tiers.items())
    )
    for warning in result.warnings:
        console.print(f"  [yellow]warning:[/] {warning}", soft_wrap=True)


FromOpt = Annotated[
    str, typer.Option("--from", parser=date_of("--from"), help="First month to score (as-of).")
]
ReplayOut = Annotated[
    Path, typer.Option("--out", parser=writable("--out"), help="Markdown table; JSON beside it.")
]


@app.command(rich_help_panel=PANEL)
def replay(
    first: FromOpt,
    data: DataOpt = None,
    months: Annotated[int, typer.Option(min=1, help="Months to walk.")] = 12,
    train_every: Annotated[int, typer.Option(min=1, help="Retrain every N months.")] = 3,
    check_gate: Annotated[
        bool, typer.Option(help="Then a challenger on shuffled outcomes, a new one and a rollback.")
    ] = True,
    out: ReplayOut = Path("replay.md"),
) -> None:
    """Replay operation on history: train --as-of every N months, score --as-of every month
    (scores kept per month in the warehouse), then check the champion gate and rollback."""
    import pandas as pd

    from features.cutoffs import to_timestamp
    from pipelines.monitoring.monitor import watch
    from pipelines.scoring.batch import run_scoring
    from pipelines.training.replay import Walk, check, replay_months

    settings, start = settings_with(), to_timestamp(first)
    with warehouse(settings, data) as con:

        def score(as_of: pd.Timestamp) -> pd.DataFrame:  # replayed time: made at its as-of
            return run_scoring(con, settings, as_of, as_of).frame()

        walked = replay_months(con, settings, start, months, train_every, score, console.status)
        watched: list[str] = []
        known: dict[str, Any] = {}
        for month in walked:  # the nightly monitor of each month, into the Evidently workspace
            report, known = watch(con, settings, pd.Timestamp(month.as_of), known)
            watched.append(report["decision"])
        end = start + pd.DateOffset(months=months)
        gate = check(con, settings, end, score, console.status) if check_gate else None
    walk = Walk(walked, gate, watched)
    written = walk.write(out)
    console.print(walk.table, soft_wrap=True)
    done(f"replayed {months} months; wrote {', '.join(map(str, written))}")


@app.command(rich_help_panel=PANEL)
def monitor(
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    out: Annotated[
        Path, typer.Option("--out", parser=writable("--out"), help="monitor.json")
    ] = Path("monitor.json"),
) -> None:
    """How past scores did: realized metrics of every scoring run whose horizon has passed,
    expected ones before, prediction drift; exit 1 when the signal says retrain."""
    from pipelines.monitoring.monitor import log_decision, watch, write_monitor

    settings = settings_with()
    with warehouse(settings, data) as con, console.status("judging past scoring runs"):
        report, _ = watch(con, settings, as_of_or_end(con, as_of))
    console.print(monitor_table(report), soft_wrap=True)
    log_decision(settings, report)
    done(
        f"wrote {write_monitor(report, out)}: {report['decision']} (logged to MLflow; "
        f"{report['recorded_in_workspace']} run(s) added to the Evidently workspace "
        f"{Home.of(settings).evidently}, see `retain monitor-ui`)"
    )
    if report["decision"] == "retrain":
        raise ProblemFound("retrain: " + "; ".join(report["reasons"]))


def monitor_table(report: dict) -> str:
    """One line per scoring run: expected and, once matured, realized churn rate and Brier."""
    lines = [
        "  as_of       version  customers  expected rate / Brier / AUC   realized rate / Brier / AUC"
    ]
    for run in report["runs"]:
        e, r = run["expected"], run["realized"] or {}
        seen = (
            f"{r.get('churn_rate', float('nan')):.3f} / {r.get('brier', float('nan')):.4f} / "
            f"{r.get('roc_auc', float('nan')):.4f}"
            if run["matured"]
            else "not matured"
        )
        lines.append(
            f"  {run['as_of']}  {run['model_version']:>7}  {run['customers']:>9,}  "
            f"{e['churn_rate']:.3f} / {e['brier']:.4f} / {e['roc_auc']:.4f}   {seen}"
        )
    return "\n".join(lines)


@app.command(rich_help_panel=PANEL)
def drift(
    out: Annotated[
        Path, typer.Option("--out", parser=writable("--out"), help="Evidently HTML report.")
    ] = Path("drift_report.html"),
    summary: Annotated[
        Path | None,
        typer.Option(
            "--summary", parser=writable("--summary"), help="JSON summary (default: beside --out)."
        ),
    ] = None,
) -> None:
    """Evidently drift report: training reference sample vs the latest scored features.
    Exit code 1 when the drifted share reaches the threshold."""
    from pipelines.monitoring.drift import run_drift

    settings = settings_with()
    summary_path = summary or out.with_name("drift_summary.json")
    with console.status("computing drift"):
        result = run_drift(settings, out, summary_path)
    drifted = [c for c, v in result["columns"].items() if v["drifted"]]
    console.print(
        f"  drifted features: {len(drifted)} of {len(result['columns'])} "
        f"({result['drifted_share']:.0%}): {', '.join(drifted) or 'none'}"
    )
    done(f"wrote {out} and {summary_path}")
    if result["alarm"]:
        raise ProblemFound(
            f"drift alarm: {result['drifted_share']:.0%} of features drifted "
            f"(threshold {settings.drift_share_threshold:.0%})"
        )


@app.command("monitor-ui", rich_help_panel=PANEL)
def monitor_ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8000,
) -> None:
    """Evidently's UI on the monitoring workspace (project "retain": realized and expected
    ROC-AUC and Brier, calibration, prediction and data drift per scoring run), 127.0.0.1 only."""
    import os
    import subprocess
    import sys

    from pipelines.monitoring.evidently_adapter import open_project

    settings = settings_with()
    workspace = Home.of(settings).evidently.resolve()
    open_project(workspace)  # the project and its panels exist before the first monitor run
    command = [sys.executable, "-m", "evidently.cli", "ui", "--workspace", str(workspace)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    console.print(f"Evidently UI on http://127.0.0.1:{port} (Ctrl-C to stop)")
    env = {**os.environ, "DO_NOT_TRACK": "1"}  # no telemetry leaves the machine
    raise typer.Exit(subprocess.call(command, env=env))


@app.command(rich_help_panel=PANEL)
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 3000,
    insecure_local: Annotated[
        bool, typer.Option("--insecure-local", help="No API keys; binds 127.0.0.1 only.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: serve_workers).")
    ] = None,
) -> None:
    """Start the BentoML scoring service (POST /v1/score, /v1/score/history; /livez, /readyz).

    This process becomes the server (exec): stopping or killing it stops every worker."""
    import os

    from serving.auth import KeyRing
    from serving.launch import port_in_use, serve_command, serve_env

    settings = settings_with(serve_workers=workers)
    if insecure_local:
        host = "127.0.0.1"
    elif not KeyRing(Home.of(settings).keys).names():
        raise InputError(
            str(Home.of(settings).keys),
            "no API key configured: run `retain keys add NAME`, or serve with --insecure-local",
        )
    if port_in_use(host, port):
        raise InputError(
            "--port", f"{host}:{port} is already in use; stop that server or pick another port"
        )
    home = str(Home.of(settings).resolved().root)
    env = serve_env(dict(os.environ), home, port, insecure_local, settings.serve_workers)
    console.print(f"serving on http://{host}:{port} (Ctrl-C to stop)")
    command = serve_command(host, port)
    os.execve(command[0], command, env)


@app.command(rich_help_panel=PANEL)
def demo(
    out: Annotated[
        Path,
        typer.Option(
            "--out", parser=writable("--out", folder=True), help="Folder for the demo outputs."
        ),
    ] = Path("runs/demo"),
    customers: Annotated[int, typer.Option(help="Synthetic customers.")] = 20_000,
) -> None:
    """generate (order lines with categories) -> train -> score -> risk-list -> due-list (and
    one for pet food) -> drift on synthetic data, end to end; then two campaigns on random
    control groups -> uplift model -> a saved-value list."""
    steps = _demo_steps(out, customers) + _campaign_steps(out, customers)
    for i, (title, step) in enumerate(steps, 1):
        console.rule(f"[bold]{i}/{len(steps)} {title}")
        try:
            step()
        except ProblemFound as found:  # a drift alarm is a finding to show, not a failed demo
            console.print(f"[bold yellow]finding[/] {found}")
    _where_things_are(out)


def _demo_steps(out: Path, customers: int) -> list[tuple[str, Any]]:
    """The demo's steps, in order: (title, what to run)."""
    data = out / "data"
    return [
        (
            "generate synthetic data",
            lambda: data_cmds.generate(out=data, customers=customers, seed=0, lines=True),
        ),
        ("train", lambda: model_cmds.train(data=str(data), metrics_out=out / "metrics.json")),
        ("score", lambda: score(out=out / "scores.parquet")),
        (
            "risk list",
            lambda: list_cmds.risk_list(out=out / "risk_list.csv", top=1000, list_id="demo"),
        ),
        (
            "due list",
            lambda: list_cmds.due_list(
                out=out / "due_list.csv", within_days=14, top=1000, list_id="demo-due"
            ),
        ),
        (
            "pet food due list",
            lambda: list_cmds.due_list(
                out=out / "due_list_pet_food.csv",
                within_days=30,
                min_order_probability=0.3,
                top=1000,
                list_id="demo-pet-food",
                category="pet food",
            ),
        ),
        ("drift", lambda: drift(out=out / "drift_report.html")),
        ("monitor", lambda: monitor(data=None, as_of=None, out=out / "monitor.json")),
    ]


def _campaign_steps(out: Path, customers: int) -> list[tuple[str, Callable[[], None]]]:
    """Two campaigns on the demo's world, the uplift model, a list ranked by saved value."""
    from pipelines.cli.demo_campaigns import campaign_steps, demo_world

    return campaign_steps(out, demo_world(customers))


def _where_things_are(out: Path) -> None:
    from pipelines.cli import demo_campaigns

    settings = settings_with()
    console.rule("[bold]where things are")
    console.print(f"  risk list       {out / 'risk_list.csv'} (due list: {out / 'due_list.csv'})")
    console.print(
        f"  category list   {out / 'due_list_pet_food.csv'} (customers due to buy pet food)"
    )
    console.print(f"  scores          {out / 'scores.parquet'} (and {Home.of(settings).warehouse})")
    console.print(f"  metrics         {out / 'metrics.json'}")
    console.print(f"  saved-value list {demo_campaigns.qini_line(out)}", soft_wrap=True)
    console.print(f"  drift report    {out / 'drift_report.html'}")
    console.print(
        f"  MLflow UI       make mlflow-ui  ->  http://127.0.0.1:5000 ({settings.mlflow_tracking_uri})"
    )
    console.print(
        f"  monitoring      {out / 'monitor.json'}; make monitor-ui  ->  http://127.0.0.1:8000"
    )
    console.print("  scoring API     make serve     ->  POST http://127.0.0.1:3000/score")
    console.print("  marketing pages make serve     ->  http://127.0.0.1:3000/ui/")
    done(f"demo finished; outputs in {out}")

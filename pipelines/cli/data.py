"""Data commands: generate, validate, import, features."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.common import (
    AsOfOpt,
    DataOpt,
    Engine,
    EngineOpt,
    HorizonOpt,
    as_of_or_end,
    console,
    date_of,
    done,
    on_spark,
    settings_with,
    show_load,
    warehouse,
    writable,
)

app = typer.Typer()
import_app = typer.Typer(
    help="Convert public datasets into the data contract.", no_args_is_help=True
)
app.add_typer(import_app, name="import", rich_help_panel="data")
PANEL = "data"

ListOpt = Annotated[
    Path | None,
    typer.Option(
        "--campaign-list", help="A list made by risk-list: its target group is contacted."
    ),
]
EffectOpt = Annotated[
    float,
    typer.Option(
        "--campaign-effect", help="Share by which contact lowers dropout (and raises order rate)."
    ),
]
DateOpt = Annotated[
    str | None,
    typer.Option(
        "--campaign-date",
        parser=date_of("--campaign-date"),
        help="Contact date (default: the list's as_of).",
    ),
]
ReadoutOpt = Annotated[int, typer.Option("--readout-days", help="Window of the true effect.")]
MixOpt = Annotated[
    bool,
    typer.Option(
        "--campaign-mix",
        help="Effects differ by customer (persuadables, sure things, lost causes, sleeping "
        "dogs); campaign_truth.parquet holds each customer's true effect.",
    ),
]
ShiftOpt = Annotated[
    str | None,
    typer.Option(
        "--shift-date",
        parser=date_of("--shift-date"),
        help="A change in the world from this date: more complaints and dropout (a service failure).",
    ),
]
ShiftComplaintsOpt = Annotated[
    float, typer.Option("--shift-complaints", help="Complaint rate multiplier after --shift-date.")
]
ShiftDropoutOpt = Annotated[
    float, typer.Option("--shift-dropout", help="Dropout multiplier after --shift-date.")
]
PeakOpt = Annotated[
    float,
    typer.Option("--holiday-peak", help="Order-rate multiplier from 15 November to year end."),
]
LinesOpt = Annotated[
    bool,
    typer.Option(
        "--lines",
        help="Write order_lines with product categories bought on per-customer cycles "
        "(category_truth.parquet holds the cycles) instead of orders.",
    ),
]

TablesOut = Annotated[
    Path,
    typer.Option(
        "--out", parser=writable("--out", folder=True), help="Folder to write the tables to."
    ),
]
StartOpt = Annotated[str, typer.Option(parser=date_of("--start"), help="First day of the history.")]


@app.command(rich_help_panel=PANEL)
def generate(
    out: TablesOut,
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 20_000,
    days: Annotated[int, typer.Option(help="Days of history.")] = 730,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same tables.")] = 0,
    start: StartOpt = "2024-01-01",
    csv: Annotated[bool, typer.Option("--csv", help="Also write CSV files.")] = False,
    campaign_list: ListOpt = None,
    campaign_effect: EffectOpt = 0.3,
    campaign_date: DateOpt = None,
    readout_days: ReadoutOpt = 90,
    campaign_mix: MixOpt = False,
    shift_date: ShiftOpt = None,
    shift_complaints: ShiftComplaintsOpt = 3.0,
    shift_dropout: ShiftDropoutOpt = 2.0,
    holiday_peak: PeakOpt = 1.0,
    lines: LinesOpt = False,
) -> None:
    """Write synthetic orders, complaints and customers (Parquet), with the ground truth.
    With --campaign-list, the list's target customers are contacted on the campaign date and
    campaign_truth.json records the exact effect (same seed, world without the campaign)."""
    from pipelines.synthetic.campaign import CampaignPlan, EffectMix, WorldChange, generate_dataset

    plan = change = None
    if campaign_list is not None:
        mix = EffectMix() if campaign_mix else None
        plan = CampaignPlan(campaign_list, campaign_effect, campaign_date, readout_days, mix)
    if shift_date is not None:
        change = WorldChange(shift_date, shift_complaints, shift_dropout)
    with console.status(f"simulating {customers:,} customers over {days} days"):
        made = generate_dataset(
            out, customers, days, seed, start, csv, plan, change, holiday_peak, lines
        )
    if (t := made.truth) is not None:
        console.print(f"  campaign on {t['target_customers']:,} target customers: true effect "
                      f"on ordering share {t['true_effect_share_ordered']:+.1%} by {t['readout_until']}")  # fmt: skip
    counts = ", ".join(f"{n:,} {k}" for k, n in made.counts.items())
    done(f"wrote {counts} (+ truth, generation.json) to {out}")


@app.command(rich_help_panel=PANEL)
def validate(
    data: Annotated[str, typer.Option("--data", help="Folder, DuckDB file or postgresql:// URL.")],
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            parser=writable("--report"),
            help="Write the report as JSON (and HTML beside it).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            parser=date_of("--as-of"),
            help="'Now' for the future-date check (default: today).",
        ),
    ] = None,
) -> None:
    """Check a source against the data contract and profile it. Unusable rows are set aside
    with reasons; exit 2 when a table cannot be used at all."""
    import pandas as pd

    from pipelines.ingest.load import check_usable, load, quality_report
    from pipelines.warehouse import connect

    settings = settings_with()
    con = connect()
    with console.status(f"reading and validating {data}"):
        loaded = load(con, data, settings)
    show_load(loaded)
    today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
    given = pd.Timestamp(as_of) if as_of else None
    profile = quality_report(con, loaded.reports, given, today, report)
    _show_profile(profile)
    check_usable(loaded, settings)
    written = f"; report in {report} and {report.with_suffix('.html')}" if report else ""
    done(f"validated {data}{written}")


def _show_profile(profile: dict) -> None:
    orders = profile["orders"]
    console.print(
        f"  {orders['customers']:,} customers, {orders['orders_per_customer']} completed orders "
        f"each (returns and cancellations apart), "
        f"{orders['repeat_customer_share']:.0%} repeat buyers, "
        f"{orders['first_ordered_at']} to {orders['last_ordered_at']}"
        if orders["customers"]
        else "  no completed orders"
    )
    for warning in profile["warnings"]:
        console.print(f"  [yellow]suspicious:[/] {warning}")
    for note in profile["notes"]:
        console.print(f"  [cyan]note:[/] {note}")


@import_app.command("cdnow")
def import_cdnow(
    path: Annotated[Path, typer.Argument(help="CDNOW_master.txt (Fader & Hardie format).")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            parser=writable("--out", folder=True),
            help="Folder to write orders.parquet to.",
        ),
    ],
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
    from pipelines.ingest.importers import import_cdnow as run_import

    imported = run_import(path, out, merge_same_day)
    console.print(
        f"  lines read {imported.lines_read:,} = orders {len(imported.orders):,} "
        f"+ merged same-day {imported.merged_same_day:,} + skipped {len(imported.skipped):,}"
    )
    done(f"wrote {out / 'orders.parquet'} (no complaints table: CDNOW has none)")


CutoffsOpt = Annotated[
    int,
    typer.Option(min=1, help="Cutoffs, the last at --as-of: more than one makes a training frame."),
]
StepOpt = Annotated[
    int | None,
    typer.Option(
        min=0,
        help="Days between cutoffs; 0 = month starts at or before --as-of (default: settings).",
    ),
]
LabelsOpt = Annotated[
    bool,
    typer.Option(
        "--labels",
        help="Add the outcomes after each cutoff (empty where the horizon runs past the data).",
    ),
]


@app.command(rich_help_panel=PANEL)
def features(
    out: Annotated[
        Path,
        typer.Option(
            "--out", parser=writable("--out"), help="Output file (.parquet, .csv, .json, .xlsx)."
        ),
    ],
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    cutoffs: CutoffsOpt = 1,
    step_days: StepOpt = None,
    with_labels: LabelsOpt = False,
    horizon_days: HorizonOpt = None,
    engine: EngineOpt = Engine.duckdb,
) -> None:
    """Point-in-time features for every customer in the population at one or more cutoffs,
    computed in one relational pass; with --labels, the training frame the models learn from."""
    from rich.progress import Progress

    from pipelines.training.frames import write_feature_file

    settings = settings_with(horizon_days=horizon_days, cutoff_step_days=step_days)
    if engine is Engine.spark:
        options = {"as_of": as_of, "cutoffs": cutoffs, "with_labels": with_labels}
        return on_spark(settings, "features", data, str(out), **options)
    with warehouse(settings, data) as con, Progress(console=console, transient=True) as bar:
        task = bar.add_task("computing features (customer passes)", total=None)
        written = write_feature_file(
            con,
            settings,
            as_of_or_end(con, as_of),
            cutoffs,
            with_labels,
            out,
            on_pass=lambda k, total: bar.update(task, completed=k, total=total),
        )
    what = "features and labels" if with_labels else "features"
    done(f"wrote {what} of {written.rows:,} {written.unit} at {written.span} to {out}")

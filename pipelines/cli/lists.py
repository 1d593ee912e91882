"""List commands for marketing: risk-list, due-list, campaign-report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.cli.common import (
    DataOpt,
    console,
    date_of,
    done,
    settings_with,
    warehouse,
    writable,
)

if TYPE_CHECKING:
    from pipelines.marketing.lists import Selection

app = typer.Typer()
PANEL = "lists"

ListOut = Annotated[
    Path,
    typer.Option(
        "--out", parser=writable("--out"), help="Output file; its extension is the format."
    ),
]
ListFormat = Annotated[
    str | None, typer.Option("--format", help="csv, xlsx or parquet (default: from --out).")
]
ListId = Annotated[
    str | None, typer.Option("--list-id", help="Default: the date and a short hash.")
]
ControlShare = Annotated[
    float | None, typer.Option("--control-share", help="Held back (default 0.10).")
]
Sort = Annotated[str, typer.Option("--sort", help="value_at_risk, churn_probability or due_value.")]
Top = Annotated[int | None, typer.Option("--top", help="Keep the first N rows.")]
Budget = Annotated[int | None, typer.Option("--budget", help="Contacts to fill (target group).")]
Tiers = Annotated[list[str] | None, typer.Option("--tier", help="Risk tier(s): high, medium, low.")]
ValueTiers = Annotated[list[str] | None, typer.Option("--value-tier", help="platinum, gold, ...")]
Segments = Annotated[list[str] | None, typer.Option("--segment", help="Declared segment(s).")]
Regions = Annotated[list[str] | None, typer.Option("--region", help="Declared region(s).")]


@app.command("risk-list", rich_help_panel=PANEL)
def risk_list(
    out: ListOut,
    top: Top = None,
    budget: Budget = None,
    min_probability: Annotated[float, typer.Option("--min-probability")] = 0.0,
    max_probability: Annotated[
        float,
        typer.Option(
            "--max-probability", help="Churn risk at most this (with the minimum: a range)."
        ),
    ] = 1.0,
    tier: Tiers = None,
    value_tier: ValueTiers = None,
    segment: Segments = None,
    region: Regions = None,
    sort: Sort = "value_at_risk",
    control_share: ControlShare = None,
    list_id: ListId = None,
    fmt: ListFormat = None,
) -> None:
    """Customers at risk, most value at risk first, with a stable held-back control group."""
    from pipelines.marketing.lists import Selection

    selection = Selection(
        top, budget, min_probability, tier or [], value_tier or [], segment or [], sort,
        regions=region or [], max_probability=max_probability,
    )  # fmt: skip
    _write_list(out, fmt, selection, control_share, list_id, "risk list")


@app.command("due-list", rich_help_panel=PANEL)
def due_list(
    out: ListOut,
    within_days: Annotated[
        float, typer.Option("--within-days", help="P(next order within N days) from the curve.")
    ],
    min_order_probability: Annotated[
        float, typer.Option("--min-order-probability", help="At least this P(order within N).")
    ] = 0.5,
    top: Top = None,
    sort: Sort = "due_value",
    control_share: ControlShare = None,
    list_id: ListId = None,
    fmt: ListFormat = None,
) -> None:
    """Customers likely to order within N days (P >= --min-order-probability, and more likely
    to buy than to leave): offers timed to their own cycle, most valuable first."""
    from pipelines.marketing.lists import Selection

    selection = Selection(
        top=top, sort=sort, within_days=within_days, min_order_probability=min_order_probability
    )
    _write_list(out, fmt, selection, control_share, list_id, "due list")


def _write_list(
    out: Path,
    fmt: str | None,
    selection: Selection,
    control_share: float | None,
    list_id: str | None,
    kind: str,
) -> None:
    from pipelines.marketing.assemble import make_list, write_list

    settings = settings_with(control_share=control_share)
    with console.status(f"building the {kind}"):
        made = make_list(settings, selection, list_id, kind)
        target = write_list(made, out.with_suffix(f".{fmt}") if fmt else out)
    done(
        f"{kind} {made.list_id}: {len(made.listed):,} customers ({made.control:,} control, do not "
        f"contact); {made.headline} -> {target}"
    )
    if made.listed.empty and selection.within_days is not None:
        console.print(
            f"  no customer is at least {selection.min_order_probability:.0%} likely to order "
            f"within {selection.within_days:g} days (and more likely to order than to leave): "
            "the probabilities are calibrated, so none is listed; a longer --within-days or a "
            "lower --min-order-probability widens the list"
        )


Since = Annotated[
    str,
    typer.Option(
        "--since", parser=date_of("--since"), help="Campaign date: orders from here count."
    ),
]
Until = Annotated[
    str | None,
    typer.Option(
        "--until", parser=date_of("--until"), help="End of the readout (default: since + horizon)."
    ),
]
ReportOut = Annotated[
    Path,
    typer.Option(
        "--out", parser=writable("--out"), help="Report JSON; the chart is written beside it."
    ),
]


@app.command("campaign-report", rich_help_panel=PANEL)
def campaign_report(
    list_file: Annotated[Path, typer.Option("--list", help="The list the campaign used.")],
    since: Since,
    data: DataOpt = None,
    until: Until = None,
    out: ReportOut = Path("campaign_report.json"),
) -> None:
    """Target vs control after a campaign: share who ordered, revenue per customer, overall and
    per risk decile, with 95 % intervals; says so when there are too few customers."""
    from pipelines.errors import InputError
    from pipelines.files import read_list
    from pipelines.marketing.campaign import campaign_report as run_report
    from pipelines.marketing.campaign import readout_period

    settings = settings_with()
    listed = read_list(list_file, ("customer_id", "group", "churn_probability"))
    try:
        start, end = readout_period(since, until, settings.horizon_days)
    except ValueError as problem:
        raise InputError("--since/--until", str(problem)) from None
    with warehouse(settings, data) as con:
        report, png = run_report(con, listed, start, end, out, str(list_file))
    overall = report["overall"]
    customers = overall["customers"]
    console.print(
        f"  target {customers['target']:,}, control {customers['control']:,}: {overall['conclusion']}"
    )
    done(f"wrote {out} and {png}")

"""List commands for marketing: risk-list, due-list, campaign-report."""

from __future__ import annotations

from enum import StrEnum
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
    from models.uplift import UpliftModel
    from pipelines.marketing.assemble import MadeList
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


class Ranking(StrEnum):
    value_at_risk = "value-at-risk"
    saved_value = "saved-value"


RankBy = Annotated[
    Ranking,
    typer.Option(
        "--rank-by",
        help="value-at-risk (the --sort key) or saved-value: predicted uplift x value, from "
        "the kept uplift model (`retain campaigns train`); falls back to value at risk.",
    ),
]
ExcludeHurt = Annotated[
    bool,
    typer.Option(
        "--exclude-hurt",
        help="With saved-value: leave out customers a contact is predicted to hurt "
        "(uplift's 90 % interval below 0).",
    ),
]
CampaignType = Annotated[
    str, typer.Option("--campaign-type", help="Offer label kept with the campaign's outcomes.")
]


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
    rank_by: RankBy = Ranking.value_at_risk,
    campaign_type: CampaignType = "default",
    exclude_hurt: ExcludeHurt = False,
) -> None:
    """Customers at risk, most value at risk first (or most value a contact saves), with a
    stable held-back control group; a snapshot is kept for `retain campaigns collect`."""
    from pipelines.marketing.lists import Selection

    selection = Selection(
        top, budget, min_probability, tier or [], value_tier or [], segment or [], sort,
        regions=region or [], max_probability=max_probability, exclude_hurt=exclude_hurt,
    )  # fmt: skip
    uplift = _uplift_or_fallback() if rank_by == Ranking.saved_value else None
    made = _write_list(out, fmt, selection, control_share, list_id, "risk list", uplift)
    from pipelines.marketing.outcomes import keep_snapshot

    keep_snapshot(settings_with(), made.listed, campaign_type)


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
    category: Annotated[
        str | None,
        typer.Option("--category", help="A product category: P(buys it within N days)."),
    ] = None,
) -> None:
    """Customers likely to order within N days (P >= --min-order-probability, and more likely
    to buy than to leave): offers timed to their own cycle, most valuable first. With
    --category: likely to buy that category within N days, ranked by P x usual spend on it."""
    from pipelines.marketing.lists import Selection

    if category is not None:
        return _write_category_list(
            out, fmt, category, within_days, min_order_probability, top, control_share, list_id
        )

    selection = Selection(
        top=top, sort=sort, within_days=within_days, min_order_probability=min_order_probability
    )
    _write_list(out, fmt, selection, control_share, list_id, "due list")


def _write_category_list(
    out: Path,
    fmt: str | None,
    category: str,
    within_days: float,
    min_probability: float,
    top: int | None,
    control_share: float | None,
    list_id: str | None,
) -> None:
    from pipelines.marketing.assemble import write_list
    from pipelines.marketing.category_lists import make_category_list

    settings = settings_with(control_share=control_share)
    with console.status(f"building the {category} due list"):
        made = make_category_list(settings, category, within_days, min_probability, list_id, top)
        target = write_list(made, out.with_suffix(f".{fmt}") if fmt else out)
    done(
        f"{category} due list {made.list_id}: {len(made.listed):,} customers ({made.control:,} "
        f"control, do not contact) at least {min_probability:.0%} likely to buy {category} "
        f"within {within_days:g} days; {made.headline} -> {target}"
    )


def _write_list(
    out: Path,
    fmt: str | None,
    selection: Selection,
    control_share: float | None,
    list_id: str | None,
    kind: str,
    uplift: UpliftModel | None = None,
) -> MadeList:
    from pipelines.marketing.assemble import make_list, write_list

    settings = settings_with(control_share=control_share)
    with console.status(f"building the {kind}"):
        made = make_list(settings, selection, list_id, kind, uplift=uplift)
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
    return made


def _uplift_or_fallback() -> UpliftModel | None:
    """The registered uplift champion, or None after ONE line saying why the list falls back."""
    from pipelines.marketing.saved_value import fallback_line, load

    model, reason = load(settings_with())
    if reason is not None:
        console.print(fallback_line(reason), soft_wrap=True)
    return model


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

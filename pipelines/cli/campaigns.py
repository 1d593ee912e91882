"""`retain campaigns`: collect campaign outcomes into the warehouse, train the uplift model."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli.common import DataOpt, console, date_of, done, settings_with, warehouse
from pipelines.errors import InputError
from pipelines.home import Home

app = typer.Typer()
campaigns_app = typer.Typer(
    help="Learn from campaigns: collect outcomes, train the uplift model.", no_args_is_help=True
)
app.add_typer(campaigns_app, name="campaigns", rich_help_panel="lists")


@campaigns_app.command("collect")
def collect(
    list_id: Annotated[str, typer.Option("--list-id", help="A list made by risk-list.")],
    since: Annotated[
        str, typer.Option("--since", parser=date_of("--since"), help="Campaign date.")
    ],
    until: Annotated[
        str | None,
        typer.Option("--until", parser=date_of("--until"), help="Default: since + horizon."),
    ] = None,
    data: DataOpt = None,
) -> None:
    """Join the outcomes of a saved list's campaign (a completed order in [since, until),
    spend net of refunds) into the warehouse table campaign_outcomes, once the window passed."""
    from pipelines.marketing.campaign import readout_period
    from pipelines.marketing.outcomes import collect as run_collect
    from pipelines.marketing.outcomes import snapshot_path

    settings = settings_with()
    snap = snapshot_path(Home.of(settings), list_id)
    try:
        start, end = readout_period(since, until, settings.horizon_days)
        with warehouse(settings, data) as con:
            tally = run_collect(con, snap, start, end)
    except ValueError as problem:
        raise InputError("--since/--until", str(problem)) from None
    if tally.too_small:
        console.print(f"  control group too small to learn from: {tally.too_small}")
    done(
        f"collected {tally.rows:,} customers of {list_id} ({tally.shares()}) into campaign_outcomes"
    )


@campaigns_app.command("train")
def train(
    campaign_type: Annotated[
        str | None, typer.Option("--type", help="Only campaigns of this type.")
    ] = None,
    data: DataOpt = None,
) -> None:
    """Train the uplift model on all but the newest collected campaign, judge it on the newest
    (Qini with a bootstrap interval, AUUC, calibration by quintile), register it in MLflow as
    a version of <model_name>-uplift, and make it the champion unless its Qini interval does
    not lie above 0 (refused: one line says why)."""
    from pipelines.marketing import saved_value

    settings = settings_with()
    most = settings.uplift_max_rows_per_campaign
    with warehouse(settings, data) as con:
        campaigns = saved_value.read_campaigns(con, campaign_type, most)
    try:
        judged = saved_value.judge(campaigns)
    except ValueError as problem:
        raise InputError("campaign_outcomes", str(problem)) from None
    version = saved_value.register(settings, judged)
    for list_id, why in judged.left_out.items():
        console.print(f"  left out {list_id}: {why}")
    for list_id, (used, collected) in judged.sampled.items():
        console.print(
            f"  {'judged on' if list_id == judged.held_out else 'learned from'} {used:,} of "
            f"{collected:,} rows of {list_id} (a stratified sample: uplift_max_rows_per_campaign)"
        )
    q, within = judged.qini, int(judged.calibration["within"].sum())
    console.print(
        f"  held out {judged.held_out}: Qini {q.value:+.4f} (95 % {q.low:+.4f} to {q.high:+.4f}), "
        f"AUUC {judged.auuc:+.4f}, calibrated in {within} of {len(judged.calibration)} quintiles"
    )
    verdict = f"refused: {judged.refused}" if judged.refused else "champion"
    done(f"uplift model version {version}: {verdict}")

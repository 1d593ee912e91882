"""The `retain` command line: thin Typer sub-apps per group (data, model, lists, operations).

A command parses options, builds the settings once, calls one function of its stage and
prints the result. Heavy libraries are imported inside the commands that need them.
"""

from __future__ import annotations

import sys

import click
import typer

from pipelines.cli import data, keys, lists, model, operations
from pipelines.cli.common import console
from pipelines.errors import InputError, ProblemFound
from pipelines.settings import load_settings

app = typer.Typer(
    help="retain: churn risk and next-purchase timing for CRM teams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for group in (data, model, lists, operations, keys):
    app.add_typer(group.app)


@app.callback()
def _check_settings() -> None:
    """Settings are validated at start-up, before any command does work."""
    if "--help" not in sys.argv:
        load_settings()


def main() -> None:
    """Console-script entry: exit 2 for unusable input or usage, 1 for a problem found."""
    try:
        app(standalone_mode=False)
    except click.exceptions.Exit as finished:
        sys.exit(finished.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except InputError as exc:
        console.print(f"[bold red]error[/] {exc}", soft_wrap=True)
        sys.exit(2)
    except ProblemFound as exc:
        console.print(f"[bold yellow]problem[/] {exc}", soft_wrap=True)
        sys.exit(1)

"""The `retain` command line: thin Typer sub-apps per group (data, model, lists, operations).

A command parses options, builds the settings once, calls one function of its stage and
prints the result. Heavy libraries are imported inside the commands that need them.
"""

from __future__ import annotations

import datetime as dt
import sys

import click
import typer
from rich.markup import escape

from pipelines.cli import campaigns, data, keys, lists, model, operations
from pipelines.cli.common import console
from pipelines.cli.crash import crash_line, log_crash
from pipelines.errors import InputError, ProblemFound
from pipelines.settings import load_settings

app = typer.Typer(
    help="retain: churn risk and next-purchase timing for CRM teams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for group in (data, model, lists, campaigns, operations, keys):
    app.add_typer(group.app)


@app.callback()
def _check_settings() -> None:
    """Settings are validated at start-up, before any command does work."""
    if "--help" not in sys.argv:
        load_settings()


def main() -> None:
    """Console-script entry: exit 0 on success, 1 for a problem found (or an unforeseen error,
    its traceback logged), 2 for unusable input or usage; one line each, never a traceback."""
    try:
        code = app(prog_name="retain", standalone_mode=False)  # an Exit's code (--help: 0)
    except (click.exceptions.Exit, typer.Exit) as finished:
        code = finished.exit_code
    except (click.exceptions.Abort, typer.Abort, KeyboardInterrupt):
        code = 130
    except (click.ClickException, typer.TyperException) as exc:
        _show_usage_error(exc)
        code = 2
    except InputError as exc:
        _say("[bold red]error[/]", str(exc))
        code = 2
    except ProblemFound as exc:
        _say("[bold yellow]problem[/]", str(exc))
        code = 1
    except Exception as exc:
        log = log_crash(exc, dt.datetime.now(dt.UTC))
        _say("[bold red]error[/]", crash_line(exc, log))
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


def _say(label: str, text: str) -> None:
    """The styled label, then `text` as it is (brackets in a message are not markup)."""
    console.print(f"{label} {escape(text)}", soft_wrap=True, highlight=False)


def _show_usage_error(exc: Exception) -> None:
    """Click's usage line, the hint to --help and the error (typer bundles its own click)."""
    show = getattr(exc, "show", None)
    if callable(show):
        show()
    else:
        _say("[bold red]error[/]", str(exc))

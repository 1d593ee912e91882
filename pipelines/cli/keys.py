"""`retain keys`: API keys of the scoring service (stored as salted hashes under the home)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.cli.common import console, done, settings_with
from pipelines.errors import InputError
from pipelines.home import Home

if TYPE_CHECKING:
    from serving.auth import KeyRing

app = typer.Typer()
keys_app = typer.Typer(help="API keys of the scoring service and the pages.", no_args_is_help=True)
app.add_typer(keys_app, name="keys", rich_help_panel="operations")
Name = Annotated[str, typer.Argument(help="Who the key is for (shown in the access log).")]


def _ring() -> KeyRing:
    from serving.auth import KeyRing

    return KeyRing(Home.of(settings_with()).keys)


@keys_app.command("add")
def keys_add(
    name: Name,
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate",
            help="Keep NAME's current key valid for key_rotation_grace_hours beside the new one.",
        ),
    ] = False,
) -> None:
    """Create a key for NAME (replacing an earlier one at once, or with --rotate after a grace
    period); it is printed once, on the last line."""
    import pandas as pd

    if not name.strip() or len(name) > 64:
        raise InputError("NAME", "a name of 1 to 64 characters is expected")
    ring = _ring()
    grace = None
    if rotate:
        if name not in ring.names():
            raise InputError("NAME", f"no key named '{name}' to rotate: add it without --rotate")
        grace = pd.Timedelta(hours=settings_with().key_rotation_grace_hours)
    key = ring.add(name, pd.Timestamp.now(tz="UTC"), keep_old_for=grace)
    console.print(f"key for '{name}' (store it now: only its hash is kept):")
    print(key)


@keys_app.command("list")
def keys_list() -> None:
    """Key names, when they were created and until when a rotated-out key works (never the keys)."""
    rows = _ring().listing()
    for name, created, valid_until in rows:
        until = f"  (rotated out: valid until {valid_until})" if valid_until else ""
        console.print(f"  {name}  created {created}{until}")
    done(f"{len(rows)} key(s)")


@keys_app.command("revoke")
def keys_revoke(name: Name) -> None:
    """Revoke NAME's key at once (the service re-reads the keys on the next request)."""
    if not _ring().revoke(name):
        raise InputError("NAME", f"no key named '{name}'")
    done(f"revoked the key of '{name}'")

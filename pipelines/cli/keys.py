"""`retain keys`: API keys of the scoring service (stored as salted hashes under the home)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.cli.common import console, done, settings_with
from pipelines.errors import InputError

if TYPE_CHECKING:
    from serving.auth import KeyRing

app = typer.Typer()
keys_app = typer.Typer(help="API keys of the scoring service and the pages.", no_args_is_help=True)
app.add_typer(keys_app, name="keys", rich_help_panel="operations")
Name = Annotated[str, typer.Argument(help="Who the key is for (shown in the access log).")]


def _ring() -> KeyRing:
    from serving.auth import KeyRing

    return KeyRing(settings_with().keys_path)


@keys_app.command("add")
def keys_add(name: Name) -> None:
    """Create a key for NAME (replacing an earlier one); it is printed once, on the last line."""
    import pandas as pd

    if not name.strip() or len(name) > 64:
        raise InputError("NAME", "a name of 1 to 64 characters is expected")
    key = _ring().add(name, pd.Timestamp.now(tz="UTC"))
    console.print(f"key for '{name}' (store it now: only its hash is kept):")
    print(key)


@keys_app.command("list")
def keys_list() -> None:
    """Key names and when they were created (never the keys)."""
    names = _ring().names()
    for name, created in names.items():
        console.print(f"  {name}  created {created}")
    done(f"{len(names)} key(s)")


@keys_app.command("revoke")
def keys_revoke(name: Name) -> None:
    """Revoke NAME's key at once (the service re-reads the keys on the next request)."""
    if not _ring().revoke(name):
        raise InputError("NAME", f"no key named '{name}'")
    done(f"revoked the key of '{name}'")

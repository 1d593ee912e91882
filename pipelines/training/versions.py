"""`retain models`: list, promote and roll back registered versions, with errors a user reads."""

from __future__ import annotations

import pandas as pd

from models.registry import NoEarlierChampion, UnknownVersion
from pipelines.errors import InputError, ProblemFound
from pipelines.home import open_registry
from pipelines.settings import Settings


def list_versions(settings: Settings) -> pd.DataFrame:
    """Registered versions, newest first; none registered is a problem to report (exit 1)."""
    versions = open_registry(settings).list_versions()
    if versions.empty:
        raise ProblemFound(
            f"model '{settings.model_name}' has no registered versions yet; run `retain train`"
        )
    return versions


def promote(settings: Settings, version: str) -> None:
    """Move the champion alias; an unknown version is a usage error (exit 2)."""
    try:
        open_registry(settings).promote(version)
    except UnknownVersion as exc:
        raise InputError("version", str(exc)) from None


def rollback(settings: Settings) -> str:
    """Back to the previous champion; none to go back to is a problem found (exit 1)."""
    try:
        return open_registry(settings).rollback()
    except NoEarlierChampion as exc:
        raise ProblemFound(str(exc)) from None

"""Live audiences: a list saved from the builder keeps its filters beside its file, so an email
or CRM tool can poll `GET /v1/audiences/{list_id}.csv` (with an API key) and always get the
list as the newest scores make it: the same selection, the same list id and so the same
control-group rule (a hash of list id and customer id), written exactly as `retain risk-list`
(or `due-list`) writes it. Each fetch records when the audience was last refreshed; the
campaigns page shows it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
from starlette.datastructures import QueryParams

from pipelines.home import Home
from pipelines.settings import Settings
from serving.ui import audience
from serving.ui.filters import selection_from


def definition_path(settings: Settings, list_id: str) -> Path:
    return Home.of(settings).saved_list(list_id, ".json")


def keep(settings: Settings, list_id: str, query: str, due: bool, saved_at: pd.Timestamp) -> None:
    """The filters of a saved list (the builder's query string), for later refreshes."""
    definition = {"list_id": list_id, "kind": "due" if due else "risk", "query": query,
                  "saved_at": saved_at.isoformat(timespec="seconds")}  # fmt: skip
    _write(definition_path(settings, list_id), definition)


def definitions(settings: Settings) -> dict[str, dict[str, Any]]:
    """Saved audiences by list id: kind, query, saved_at and last_refreshed (when fetched)."""
    folder = Home.of(settings).lists
    found = sorted(folder.glob("*.json")) if folder.exists() else []
    return {p.stem: json.loads(p.read_text()) for p in found}


def refreshed(settings: Settings, list_id: str, now: pd.Timestamp) -> bytes | None:
    """Today's CSV of a saved audience (None: no such audience); ValueError when its filters
    no longer fit the newest scores (a segment that is gone)."""
    path = definition_path(settings, list_id)
    if not path.exists():
        return None
    definition = json.loads(path.read_text())
    due = definition["kind"] == "due"
    chosen, selection, _, _ = selection_from(QueryParams(definition["query"]), settings, due)
    body = audience.download(chosen, selection, list_id, ".csv")
    definition["last_refreshed"] = now.isoformat(timespec="seconds")
    _write(path, definition)
    return body


def _write(path: Path, definition: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # workers never clash
    temporary.write_text(json.dumps(definition, indent=1))
    temporary.replace(path)

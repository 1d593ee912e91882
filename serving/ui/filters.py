"""The builder's query string as the command line's options: the same `Selection`, the same
list id, so a page's download and `retain risk-list` / `due-list` make the same file."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams

from pipelines.marketing.lists import Selection, selection_problem
from pipelines.settings import Settings

RISK_FIELDS = ("min_probability", "max_probability", "budget", "top", "list_id", "control_share")
RANK_BY = ("value_at_risk", "saved_value")  # the command line's --rank-by value-at-risk|saved-value
CHECKED = ("", "1", "on", "true")  # a checkbox's values: "" unchecked, the others checked
DUE_FIELDS = (
    "within_days", "min_order_probability", "top", "list_id", "control_share", "category",
)  # fmt: skip


def form_values(q: QueryParams, due: bool) -> dict[str, Any]:
    """The filters as given (text), to show them back in the form."""
    values: dict[str, Any] = {k: q.get(k, "") for k in (DUE_FIELDS if due else RISK_FIELDS)}
    values["sort"] = q.get("sort", "due_value" if due else "value_at_risk")
    if due:
        values["within_days"] = values["within_days"] or "14"
        values["min_order_probability"] = values["min_order_probability"] or "0.5"
    else:
        for many in ("risk_tier", "value_tier", "segment", "region"):
            values[many] = q.getlist(many)
        values["rank_by"] = q.get("rank_by", "value_at_risk")
        values["exclude_hurt"] = q.get("exclude_hurt", "")
    return values


def selection_from(
    q: QueryParams, settings: Settings, due: bool
) -> tuple[Settings, Selection, str | None, dict[str, Any]]:
    """(settings with the control share asked for, the selection, the list id, the form);
    ValueError naming the field when a value cannot be used (the command line's bounds)."""
    f = form_values(q, due)
    share = _number(f["control_share"], "control_share", float)
    if share is not None and not 0 <= share < 1:
        raise ValueError("control_share: expected a share from 0 up to (not including) 1")
    chosen = settings if share is None else settings.model_copy(update={"control_share": share})
    top = _number(f["top"], "top", int)
    if due:
        selection = Selection(
            top=top, sort=f["sort"],
            within_days=_number(f["within_days"], "within_days", float),
            min_order_probability=_number(f["min_order_probability"], "min_order_probability", float),
            category=f["category"] or None,
        )  # fmt: skip
    else:
        _check_ranking(f)
        selection = Selection(
            top=top, budget=_number(f["budget"], "budget", int),
            min_probability=_number(f["min_probability"], "min_probability", float) or 0.0,
            max_probability=_or_one(_number(f["max_probability"], "max_probability", float)),
            risk_tiers=f["risk_tier"], value_tiers=f["value_tier"], sort=f["sort"],
            segments=f["segment"], regions=f["region"], exclude_hurt=f["exclude_hurt"] != "",
        )  # fmt: skip
    list_id = f["list_id"] or None
    problem = selection_problem(selection, list_id, settings.horizon_days)
    if problem is not None:
        raise ValueError(problem)
    return chosen, selection, list_id, f


def _check_ranking(form: dict[str, Any]) -> None:
    """rank_by one of RANK_BY, exclude_hurt a checkbox's value; ValueError naming the field."""
    if form["rank_by"] not in RANK_BY:
        shown = repr(form["rank_by"][:40])
        raise ValueError(f"rank_by: expected value_at_risk or saved_value, got {shown}")
    if form["exclude_hurt"] not in CHECKED:
        raise ValueError(
            f"exclude_hurt: expected a checkbox (1 or empty), got {form['exclude_hurt'][:40]!r}"
        )


def _number(text: str, name: str, kind: type) -> Any:
    """The field as a finite number of at least 0 (None when empty); its bounds are the
    selection's (`selection_problem`)."""
    if text == "":
        return None
    shown = repr(text[:40]) + ("..." if len(text) > 40 else "")
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        whole = " whole" if kind is int else ""
        raise ValueError(f"{name}: expected a{whole} number, got {shown}") from None
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise ValueError(f"{name}: expected a finite number of at least 0, got {shown}")
    return value


def _or_one(value: float | None) -> float:
    """The range's top: 1 (everyone) when not given."""
    return 1.0 if value is None else value

"""Settings errors in one line each: every bad value named with where it came from, and names
that are not settings: a misspelt key in retain.toml or RETAIN_* variable stops the run
(exit 2) naming the closest known name, instead of silently loading a default. Also the value
checks of the settings that need more than a bound (pyramids, currencies, origins)."""

from __future__ import annotations

import difflib
import itertools
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ValidationError, ValidationInfo

ENV_PREFIX = "RETAIN_"


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name nearest to `name` (difflib's ratio of at least 0.6), or None."""
    found = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_name(name: str, where: str, known: Iterable[str]) -> str:
    """'`horizon_day` in retain.toml: did you mean `horizon_days`?' (or: is not a setting)."""
    near = closest(name, known)
    if near is None:
        return f"`{name}` in {where} is not a setting (README, Settings, lists them)"
    return f"`{name}` in {where}: did you mean `{near}`?"


def unknown_variables(
    environ: Mapping[str, str], prefix: str, fields: Iterable[str], others: Iterable[str]
) -> list[str]:
    """One message per `prefix`* environment variable that names no setting (nor a section:
    `RETAIN_INPUT__X` is checked with the section's keys) and is not one of `others`."""
    known = {f.upper() for f in fields} | {o.upper().removeprefix(prefix) for o in others}
    messages = []
    for key in sorted(environ):
        name = key.upper()
        if name.startswith(prefix) and name.removeprefix(prefix).split("__")[0] not in known:
            near = closest(name.removeprefix(prefix), known)
            hint = f"did you mean `{prefix}{near}`?" if near else "it is not a setting"
            messages.append(f"`{key}` in the environment: {hint}")
    return messages


def source_of(name: str, options: set[str]) -> str:
    """Where a setting's value came from: an option, the environment, retain.toml or the default."""
    top = name.split(".")[0]
    if top in options:
        return "a command option"
    env = ENV_PREFIX + name.replace(".", "__").upper()
    if any(k.upper() == env or k.upper().startswith(env + "__") for k in os.environ):
        return f"the environment ({env})"
    toml = Path("retain.toml")
    if toml.exists():
        import tomllib

        section: object = tomllib.loads(toml.read_text())
        for part in name.split("."):
            section = section.get(part) if isinstance(section, dict) else None
        if section is not None:
            return "retain.toml"
    return "the defaults"


def explain(exc: ValidationError, options: set[str], models: dict[str, type[BaseModel]]) -> str:
    """Every error of `exc` on one line; `models` are the settings ("") and their sections."""
    parts = []
    for error in exc.errors():
        if error["type"] == "extra_forbidden":
            parts.append(_unknown(error["loc"], options, models))
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        named = [".".join(str(x) for x in error["loc"])] if error["loc"] else []
        named += [f for f in models[""].model_fields if f in message and f not in named]
        where = ", ".join(f"{n} from {source_of(n, options)}" for n in named)
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _unknown(
    loc: tuple[int | str, ...], options: set[str], models: dict[str, type[BaseModel]]
) -> str:
    """A key that names no setting: where it came from and the closest known key."""
    *section, key = map(str, loc)
    model = models.get(section[0], models[""]) if section else models[""]
    prefix = "".join(f"{part}." for part in section)
    known = [f"{prefix}{f}" for f in model.model_fields]
    return unknown_name(f"{prefix}{key}", source_of(f"{prefix}{key}", options), known)


def a_pyramid(tiers: dict[str, float]) -> dict[str, float]:
    """Cumulative shares, best tier first: increasing, in (0, 1], the last exactly 1.0."""
    shares = list(tiers.values())
    if not shares or shares[-1] != 1.0:
        raise ValueError("the last tier's cumulative share must be 1.0 (everyone else)")
    if any(not 0 < s <= 1 for s in shares) or any(a >= b for a, b in itertools.pairwise(shares)):
        raise ValueError("cumulative shares must increase from best tier to last, each in (0, 1]")
    return tiers


def known_to_cldr(value: str, info: ValidationInfo) -> str:
    """A currency (ISO 4217) or locale that Babel's CLDR data knows."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import is_currency

    try:
        known = is_currency(value) if info.field_name == "currency" else Locale.parse(value)
    except (UnknownLocaleError, ValueError):
        known = None
    if not known:
        example = "EUR" if info.field_name == "currency" else "en_US or de_DE"
        raise ValueError(f"unknown {info.field_name} {value!r}; expected e.g. {example}")
    return value


def exact_origins(origins: list[str]) -> list[str]:
    """Exact origins only: a wildcard would hand the API to any web page."""
    for origin in origins:
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
            raise ValueError(
                f"{origin!r} is not an origin: scheme://host[:port], no path, no wildcard"
            )
    return origins

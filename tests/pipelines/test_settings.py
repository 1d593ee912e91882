"""The one settings object: an option beats the environment, which beats retain.toml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli.common import settings_with


@pytest.fixture
def toml_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RETAIN_HORIZON_DAYS", raising=False)
    (tmp_path / "retain.toml").write_text("horizon_days = 60\ncontrol_share = 0.2\n")
    return tmp_path


def test_retain_toml_beats_the_default(toml_here: Path) -> None:
    settings = settings_with()
    assert (settings.horizon_days, settings.control_share) == (60, 0.2)


def test_the_environment_beats_retain_toml(toml_here: Path, monkeypatch) -> None:
    monkeypatch.setenv("RETAIN_HORIZON_DAYS", "45")
    settings = settings_with()
    assert (settings.horizon_days, settings.control_share) == (45, 0.2)


def test_an_option_beats_the_environment(toml_here: Path, monkeypatch) -> None:
    monkeypatch.setenv("RETAIN_HORIZON_DAYS", "45")
    assert settings_with(horizon_days=30).horizon_days == 30
    assert settings_with(horizon_days=None).horizon_days == 45  # an option not given


def test_nested_input_settings_from_the_environment(toml_here: Path, monkeypatch) -> None:
    monkeypatch.setenv("RETAIN_INPUT__DELIMITER", ";")
    assert settings_with().input.delimiter == ";"


def _error(**overrides) -> str:
    from pipelines.settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as failed:
        load_settings(**overrides)
    return str(failed.value)


def test_unordered_risk_thresholds_name_both_settings_and_their_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "retain.toml").write_text(
        "medium_risk_threshold = 0.7\nhigh_risk_threshold = 0.6\n"
    )
    message = _error()
    assert "medium_risk_threshold from retain.toml" in message
    assert "high_risk_threshold from retain.toml" in message
    assert "\n" not in message


def test_a_bad_value_names_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETAIN_CONTROL_SHARE", "1.5")
    assert "control_share from the environment (RETAIN_CONTROL_SHARE)" in _error()


def test_a_bad_option_is_named_as_an_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "horizon_days from a command option" in _error(horizon_days=0)


@pytest.mark.parametrize(
    ("tiers", "words"),
    [
        ({"gold": 0.05, "rest": 0.9}, "must be 1.0"),
        ({"gold": 0.2, "silver": 0.1, "rest": 1.0}, "must increase"),
        ({"gold": 0.0, "rest": 1.0}, "must increase"),
    ],
)
def test_value_tiers_must_be_a_pyramid(tmp_path, monkeypatch, tiers, words) -> None:
    monkeypatch.chdir(tmp_path)
    assert words in _error(value_tiers=tiers)


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[input]\ntimezone = "Mars/Olympus"\n', "unknown time zone"),
        ('[input]\nencoding = "klingon-8"\n', "unknown encoding"),
        ('[input]\nstatus_map = { bezahlt = "paid" }\n', "expected one of completed"),
        ('[input]\ntables = { ordres = "x" }\n', "unknown table 'ordres'"),
        ('[input.columns.orders]\nKunde = "kunde_id"\n', "unknown column 'kunde_id'"),
    ],
)
def test_input_settings_are_checked(tmp_path, monkeypatch, toml: str, words: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "retain.toml").write_text(toml)
    message = _error()
    assert words in message and "from retain.toml" in message


@pytest.mark.parametrize("origin", ["*", "https://crm.example.com/", "crm.example.com"])
def test_cors_origins_are_exact(tmp_path, monkeypatch, origin: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETAIN_CORS_ALLOWED_ORIGINS", json.dumps([origin]))
    message = _error()
    assert "cors_allowed_origins from the environment" in message and "no wildcard" in message


def test_cors_is_closed_by_default(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert settings_with().cors_allowed_origins == []


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("horizon_day = 30\n", "`horizon_day` in retain.toml: did you mean `horizon_days`?"),
        (
            '[input]\ntimezon = "UTC"\n',
            "`input.timezon` in retain.toml: did you mean `input.timezone`?",
        ),
        ("[monitr]\nconsecutive = 3\n", "`monitr` in retain.toml: did you mean `monitor`?"),
        ("[monitor]\nconsecutiv = 3\n", "did you mean `monitor.consecutive`?"),
        ("zzz = 1\n", "`zzz` in retain.toml is not a setting"),
    ],
)
def test_a_misspelt_key_in_retain_toml_names_the_closest(tmp_path, monkeypatch, toml, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "retain.toml").write_text(toml)
    message = _error()
    assert words in message and "\n" not in message


@pytest.mark.parametrize(
    ("variable", "words"),
    [
        (
            "RETAIN_HORIZON_DAY",
            "`RETAIN_HORIZON_DAY` in the environment: did you mean `RETAIN_HORIZON_DAYS`?",
        ),
        ("retain_contrl_share", "did you mean `RETAIN_CONTROL_SHARE`?"),
        ("RETAIN_INPUT__TIMEZON", "did you mean `input.timezone`?"),
        ("RETAIN_QWERTYUIOP", "`RETAIN_QWERTYUIOP` in the environment: it is not a setting"),
    ],
)
def test_a_misspelt_environment_variable_names_the_closest(tmp_path, monkeypatch, variable, words):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, "30")
    assert words in _error()


def test_retain_variables_that_are_not_settings_are_allowed(tmp_path, monkeypatch) -> None:
    """RETAIN_HOME is a setting (home); the others are read where they are used."""
    from pipelines.settings import OTHER_ENV_VARIABLES

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETAIN_HOME", str(tmp_path / "home"))
    for name in OTHER_ENV_VARIABLES:
        monkeypatch.setenv(name, "1")
    assert settings_with().home == tmp_path / "home"


def test_every_retain_variable_the_code_reads_is_known() -> None:
    """A RETAIN_* name in the source is a setting, a section or one of OTHER_ENV_VARIABLES,
    so the typo check never refuses a variable the project itself reads."""
    import re

    from pipelines.settings import OTHER_ENV_VARIABLES, Settings
    from pipelines.settings_explain import unknown_variables

    root = Path(__file__).resolve().parents[2]
    folders = ("features", "models", "pipelines", "serving", "tests", "benchmarks")
    sources = [p for d in folders for p in (root / d).rglob("*.py") if p != Path(__file__)]
    used = {m for p in sources for m in re.findall(r"\bRETAIN_[A-Z][A-Z0-9_]*", p.read_text())}
    assert "RETAIN_HOME" in used
    assert (
        unknown_variables(
            dict.fromkeys(used, ""), "RETAIN_", Settings.model_fields, OTHER_ENV_VARIABLES
        )
        == []
    )

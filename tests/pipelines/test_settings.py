"""The one settings object: an option beats the environment, which beats retain.toml."""

from __future__ import annotations

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
